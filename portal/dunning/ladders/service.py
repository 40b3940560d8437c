"""Ladders as data: credit controllers edit ladders and their steps, and choose which ladder a
segment (A/B/C) or a single client follows.

Every use case is one transaction with an audit event (object "ladder"). Every change to a
ladder or its steps bumps Ladder.version by one and marks the invoices on that ladder stale
(`DunningState.next_at = now`), so the next tick decides again under the new policy. A change
of which ladder applies marks the affected clients' invoices stale. A step with history
(DunningAction rows) is never deleted, only retired; one without is deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from piccolo.query.functions.aggregate import Count

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clients.rules import SEGMENTS
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction, DunningState
from portal.dunning.ladders import rules as ladder_rules
from portal.dunning.ladders.tables import ClientLadder, Ladder, LadderStep, SegmentLadder
from portal.settings import LANGUAGES
from portal.web.forms import Checked
from portal.web.i18n import gettext as _

STEP_GAP = 10  # a new step goes this far after the last one, leaving room to insert between
ALL_CLIENTS_ABOVE = 500  # more ids than this: read every client's ladder at once instead of an IN list


class LadderNotFound(LookupError):
    """No such ladder, or no such step on it (the route answers 404)."""


# --- reading --------------------------------------------------------------------------------

async def ladder_choices() -> list[dict]:
    """The ladders a segment or a client can follow (debt ladders)."""
    return await Ladder.select(Ladder.id, Ladder.name).where(Ladder.purpose == ladder_rules.DEBT).order_by(Ladder.name)


async def prepayment_ladder_id() -> int | None:
    row = await Ladder.select(Ladder.id).where(Ladder.purpose == ladder_rules.PREPAYMENT).order_by(Ladder.id).first()
    return row["id"] if row else None


async def _counts(column, where=None) -> dict[int, int]:
    query = column._meta.table.select(column, Count()).group_by(column)
    if where is not None:
        query = query.where(where)
    return {row[column._meta.name]: row["count"] for row in await query}


async def segment_ladders() -> dict[str, int | None]:
    rows = {r["segment"]: r["ladder"] for r in await SegmentLadder.select(SegmentLadder.segment, SegmentLadder.ladder)}
    return {segment: rows.get(segment) for segment in SEGMENTS}


async def list_ladders() -> list[dict]:
    """Every ladder with its version, active step count, the segments following it and how many
    clients it was chosen for one by one."""
    ladders = await Ladder.select(
        Ladder.id, Ladder.name, Ladder.description, Ladder.version, Ladder.purpose, Ladder.updated_at,
    ).order_by(Ladder.name)
    steps = await _counts(LadderStep.ladder, LadderStep.is_active == True)  # noqa: E712
    overrides = await _counts(ClientLadder.ladder)
    segments = await segment_ladders()
    for ladder in ladders:
        ladder["step_count"] = steps.get(ladder["id"], 0)
        ladder["override_count"] = overrides.get(ladder["id"], 0)
        ladder["segments"] = [s for s, ladder_id in segments.items() if ladder_id == ladder["id"]]
    return ladders


def _shape_step(step: dict, history: dict[int, int]) -> dict:
    step["templates"] = step["templates"] if isinstance(step["templates"], dict) else {}
    step["timing"] = ladder_rules.timing_label(step["offset_days"], step["time_of_day"])
    step["actions"] = history.get(step["id"], 0)
    step["languages"] = [lang for lang in LANGUAGES if (step["templates"].get(lang) or {}).get("body")]
    return step


async def get_ladder(ladder_id: int) -> dict | None:
    """The ladder with its active steps in order, its retired steps apart, its segments and its
    count of client overrides."""
    ladder = await Ladder.select().where(Ladder.id == ladder_id).first()
    if ladder is None:
        return None
    steps = await LadderStep.select().where(LadderStep.ladder == ladder_id).order_by(LadderStep.position).order_by(
        LadderStep.id
    ).output(load_json=True)
    history = await _counts(DunningAction.step, DunningAction.step.is_in([s["id"] for s in steps])) if steps else {}
    steps = [_shape_step(step, history) for step in steps]
    ladder["steps"] = [s for s in steps if s["is_active"]]
    ladder["retired"] = [s for s in steps if not s["is_active"]]
    ladder["segments"] = [s for s, lid in (await segment_ladders()).items() if lid == ladder_id]
    ladder["override_count"] = await ClientLadder.count().where(ClientLadder.ladder == ladder_id)
    return ladder


async def get_step(ladder_id: int, step_id: int) -> dict | None:
    step = await LadderStep.select(LadderStep.all_columns(), LadderStep.ladder.purpose.as_alias("ladder_purpose")).where(
        (LadderStep.id == step_id) & (LadderStep.ladder == ladder_id)
    ).output(load_json=True).first()
    if step is None:
        return None
    history = await _counts(DunningAction.step, DunningAction.step == step_id)
    return _shape_step(step, history)


# --- which ladder applies ---------------------------------------------------------------------

_EFFECTIVE = (
    f'SELECT c."id" AS client_id, COALESCE(cl."ladder", sl."ladder") AS ladder_id FROM "{Client._meta.tablename}" c '
    f'LEFT JOIN "{ClientLadder._meta.tablename}" cl ON cl."client" = c."id" '
    f'LEFT JOIN "{SegmentLadder._meta.tablename}" sl ON sl."segment" = c."segment"'
)


async def ladder_ids_for_clients(client_ids: Iterable[int]) -> dict[int, int | None]:
    """Each client's ladder: its own override, else its segment's, else None. One query."""
    ids = sorted({int(i) for i in client_ids})
    if not ids:
        return {}
    if len(ids) > ALL_CLIENTS_ABOVE:
        rows = await Client.raw(_EFFECTIVE)
    else:
        rows = await Client.raw(_EFFECTIVE + ' WHERE c."id" IN (' + ", ".join("{}" for _ in ids) + ")", *ids)
    found = {row["client_id"]: row["ladder_id"] for row in rows}
    return {client_id: found.get(client_id) for client_id in ids}


async def effective_ladder_id(client_id: int) -> int | None:
    return (await ladder_ids_for_clients([client_id]))[client_id]


async def client_ladder(client_id: int) -> dict:
    """What the client page shows: the override (if any), the segment's ladder, which applies."""
    client = await Client.select(Client.segment).where(Client.id == client_id).first()
    override = await ClientLadder.select(ClientLadder.ladder.id, ClientLadder.ladder.name).where(
        ClientLadder.client == client_id
    ).first()
    segment_row = None
    if client:
        segment_row = await SegmentLadder.select(SegmentLadder.ladder.id, SegmentLadder.ladder.name).where(
            SegmentLadder.segment == client["segment"]
        ).first()

    def named(row: dict | None) -> dict | None:
        return {"id": row["ladder.id"], "name": row["ladder.name"]} if row else None

    info = {"override": named(override), "segment": client["segment"] if client else "", "segment_ladder": named(segment_row)}
    info["effective"] = info["override"] or info["segment_ladder"]
    info["choices"] = await ladder_choices()
    return info


# --- changing -------------------------------------------------------------------------------

async def _touch(ladder_id: int, now: dt.datetime) -> None:
    """The ladder changed: one version up, and its invoices are looked at again."""
    await Ladder.update({Ladder.version: Ladder.version + 1, Ladder.updated_at: now}).where(Ladder.id == ladder_id)
    await DunningState.update({DunningState.next_at: now}).where(DunningState.ladder == ladder_id)


async def _ladder_row(ladder_id: int) -> dict:
    row = await Ladder.select(Ladder.id, Ladder.name, Ladder.description, Ladder.purpose).where(Ladder.id == ladder_id).first()
    if row is None:
        raise LadderNotFound(ladder_id)
    return row


async def _debt_ladder_row(ladder_id: int) -> dict:
    """A ladder segments and clients may follow: the prepayment ladder is chosen by the order's stage."""
    row = await _ladder_row(ladder_id)
    if row["purpose"] != ladder_rules.DEBT:
        raise LadderNotFound(ladder_id)
    return row


async def _step_row(ladder_id: int, step_id: int) -> dict:
    row = await LadderStep.select().where((LadderStep.id == step_id) & (LadderStep.ladder == ladder_id)).output(
        load_json=True
    ).first()
    if row is None:
        raise LadderNotFound(step_id)
    return row


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    wanted = name.casefold()
    return any(r["name"].casefold() == wanted and r["id"] != except_id for r in await Ladder.select(Ladder.id, Ladder.name))


def _name_taken_error(checked: Checked) -> None:
    checked.errors["name"] = _("There is already a ladder called “%(name)s”: choose another name.", name=checked.values["name"])


async def create_ladder(form: dict[str, str], actor: Actor) -> tuple[int | None, Checked]:
    checked = ladder_rules.check_ladder(form)
    if not checked.ok:
        return None, checked
    async with db.transaction():
        if await _name_taken(checked.values["name"]):
            _name_taken_error(checked)
            return None, checked
        if checked.values["purpose"] == ladder_rules.PREPAYMENT and await prepayment_ladder_id() is not None:
            checked.errors["purpose"] = _("There is already a ladder for orders waiting for their prepayment: change that one.")
            return None, checked
        now = utcnow()
        ladder = Ladder(name=checked.values["name"], description=checked.values["description"], version=1,
                        purpose=checked.values["purpose"], created_at=now, updated_at=now)
        await ladder.save()
        await audit.record(actor, "ladder_created", "ladder", ladder.id, after={"name": ladder.name, "purpose": ladder.purpose})
    return ladder.id, checked


async def update_ladder(ladder_id: int, form: dict[str, str], actor: Actor) -> Checked:
    """Rename or describe a ladder."""
    checked = ladder_rules.check_ladder(form)
    async with db.transaction():
        before = await _ladder_row(ladder_id)
        if not checked.ok:
            return checked
        if await _name_taken(checked.values["name"], except_id=ladder_id):
            _name_taken_error(checked)
            return checked
        checked.values["purpose"] = before["purpose"]  # chosen once, when the ladder is made
        old, new = audit.changes(before, checked.values)
        if new:
            now = utcnow()
            await Ladder.update({Ladder.name: checked.values["name"], Ladder.description: checked.values["description"]}).where(
                Ladder.id == ladder_id
            )
            await _touch(ladder_id, now)
            await audit.record(actor, "ladder_updated", "ladder", ladder_id, before=old, after=new)
    return checked


STORED_STEP_FIELDS = ("name", "position", "offset_days", "time_of_day", "channel", "assignee", "sanction", "deadline_days",
                      "skip_if_deferral")


async def _position_clash(ladder_id: int, position: int, except_id: int | None) -> str | None:
    """The name of another active step already at this position."""
    query = LadderStep.select(LadderStep.name).where(
        (LadderStep.ladder == ladder_id) & (LadderStep.position == position) & (LadderStep.is_active == True)  # noqa: E712
    )
    if except_id is not None:
        query = query.where(LadderStep.id != except_id)
    row = await query.first()
    return row["name"] if row else None


def _clash_error(checked: Checked, other: str) -> None:
    checked.errors["position"] = _("“%(name)s” is already at this position: choose another, or move the steps.", name=other)


async def add_step(ladder_id: int, form: dict[str, str], actor: Actor) -> tuple[int | None, Checked]:
    """A new step; an empty position puts it after the last one. The form may carry the
    step's English wording (subject, body); other languages are added in the template editor."""
    async with db.transaction():
        ladder = await _ladder_row(ladder_id)
        checked = ladder_rules.check_step(form, purpose=ladder["purpose"])
        wording = ladder_rules.check_template(form)
        checked.values.update(wording.values)
        checked.errors.update(wording.errors)
        if not checked.ok:
            return None, checked
        v = checked.values
        if v["position"] is None:
            last = await LadderStep.select(LadderStep.position).where(LadderStep.ladder == ladder_id).order_by(
                LadderStep.position, ascending=False
            ).first()
            v["position"] = (last["position"] if last else 0) + STEP_GAP
        elif other := await _position_clash(ladder_id, v["position"], None):
            _clash_error(checked, other)
            return None, checked
        now = utcnow()
        templates = {"en": {"subject": v["subject"], "body": v["body"]}} if v["body"] else {}
        step = LadderStep(ladder=ladder_id, templates=templates, is_active=True, created_at=now, updated_at=now,
                          **{k: v[k] for k in STORED_STEP_FIELDS})
        await step.save()
        await _touch(ladder_id, now)
        await audit.record(actor, "ladder_step_added", "ladder", ladder_id, after={k: v[k] for k in STORED_STEP_FIELDS})
    return step.id, checked


async def edit_step(ladder_id: int, step_id: int, form: dict[str, str], actor: Actor) -> Checked:
    async with db.transaction():
        ladder = await _ladder_row(ladder_id)
        checked = ladder_rules.check_step(form, position_required=True, purpose=ladder["purpose"])
        before = await _step_row(ladder_id, step_id)
        if not checked.ok:
            return checked
        v = checked.values
        if other := await _position_clash(ladder_id, v["position"], step_id):
            _clash_error(checked, other)
            return checked
        old, new = audit.changes({k: before[k] for k in STORED_STEP_FIELDS}, {k: v[k] for k in STORED_STEP_FIELDS})
        if new:
            now = utcnow()
            await LadderStep.update({**{getattr(LadderStep, k): v[k] for k in new}, LadderStep.updated_at: now}).where(
                LadderStep.id == step_id
            )
            await _touch(ladder_id, now)
            await audit.record(actor, "ladder_step_changed", "ladder", ladder_id, before={"step": before["name"], **old},
                               after={"step": v["name"], **new})
    return checked


async def retire_step(ladder_id: int, step_id: int, actor: Actor) -> str:
    """'retired' (the step has history: it stays known, inactive) or 'deleted' (it had none)."""
    async with db.transaction():
        step = await _step_row(ladder_id, step_id)
        if not step["is_active"]:
            return "retired"
        now = utcnow()
        if await DunningAction.exists().where(DunningAction.step == step_id):
            await LadderStep.update({LadderStep.is_active: False, LadderStep.updated_at: now}).where(LadderStep.id == step_id)
            outcome = "retired"
        else:
            await LadderStep.delete().where(LadderStep.id == step_id)
            outcome = "deleted"
        await _touch(ladder_id, now)
        await audit.record(actor, f"ladder_step_{outcome}", "ladder", ladder_id,
                           before={"step": step["name"], "position": step["position"]})
    return outcome


async def move_step(ladder_id: int, step_id: int, direction: str, actor: Actor) -> bool:
    """Swap an active step with the one above ("up") or below ("down"); False at either end."""
    async with db.transaction():
        step = await _step_row(ladder_id, step_id)
        steps = await LadderStep.select(LadderStep.id, LadderStep.name, LadderStep.position).where(
            (LadderStep.ladder == ladder_id) & (LadderStep.is_active == True)  # noqa: E712
        ).order_by(LadderStep.position).order_by(LadderStep.id)
        index = next((i for i, s in enumerate(steps) if s["id"] == step_id), None)
        other = None if index is None else index + (-1 if direction == "up" else 1)
        if index is None or direction not in ("up", "down") or not 0 <= other < len(steps):
            return False
        steps[index], steps[other] = steps[other], steps[index]
        a, b = steps[index], steps[other]
        if a["position"] != b["position"]:
            new_positions = {a["id"]: b["position"], b["id"]: a["position"]}
        else:  # equal positions: number the ladder afresh in its new order
            new_positions = {s["id"]: (i + 1) * STEP_GAP for i, s in enumerate(steps)}
        now = utcnow()
        for moved_id, position in new_positions.items():
            await LadderStep.update({LadderStep.position: position, LadderStep.updated_at: now}).where(LadderStep.id == moved_id)
        await _touch(ladder_id, now)
        await audit.record(actor, "ladder_step_moved", "ladder", ladder_id,
                           before={"step": step["name"], "position": step["position"]},
                           after={"step": step["name"], "position": new_positions[step_id]})
    return True


async def save_template(ladder_id: int, step_id: int, language: str, form: dict[str, str], actor: Actor) -> Checked:
    """One language's wording of a step; an empty subject and body remove that language."""
    checked = ladder_rules.check_template(form)
    if language not in LANGUAGES:
        checked.errors["language"] = _("Choose one of the portal's languages.")
    async with db.transaction():
        step = await _step_row(ladder_id, step_id)
        if not checked.ok:
            return checked
        templates: dict[str, Any] = dict(step["templates"]) if isinstance(step["templates"], dict) else {}
        before = templates.get(language) or {"subject": "", "body": ""}
        after = {"subject": checked.values["subject"], "body": checked.values["body"]}
        if before == after or (not after["body"] and language not in templates):
            return checked
        if after["body"]:
            templates[language] = after
        else:
            templates.pop(language, None)
        now = utcnow()
        await LadderStep.update({LadderStep.templates: templates, LadderStep.updated_at: now}).where(LadderStep.id == step_id)
        await _touch(ladder_id, now)
        await audit.record(actor, "ladder_template_saved", "ladder", ladder_id,
                           before={"step": step["name"], "language": language, "subject": before.get("subject", "")},
                           after={"step": step["name"], "language": language, "subject": after["subject"]})
    return checked


async def set_segment_ladder(segment: str, ladder_id: int | None, actor: Actor) -> bool:
    """Segment A, B or C follows this ladder (None: no ladder). False when nothing changed."""
    if segment not in SEGMENTS:
        raise ValueError(segment)
    async with db.transaction():
        new = await _debt_ladder_row(ladder_id) if ladder_id is not None else None
        current = await SegmentLadder.select(SegmentLadder.id, SegmentLadder.ladder, SegmentLadder.ladder.name).where(
            SegmentLadder.segment == segment
        ).first()
        if (current["ladder"] if current else None) == ladder_id:
            return False
        if new is None:
            await SegmentLadder.delete().where(SegmentLadder.segment == segment)
        elif current is None:
            await SegmentLadder(segment=segment, ladder=ladder_id).save()
        else:
            await SegmentLadder.update({SegmentLadder.ladder: ladder_id}).where(SegmentLadder.segment == segment)
        await DunningState.update({DunningState.next_at: utcnow()}).where(
            DunningState.client.is_in(Client.select(Client.id).where(Client.segment == segment))
        )
        await audit.record(actor, "segment_ladder_set", "ladder", ladder_id if new else current["ladder"],
                           before={"segment": segment, "ladder": current["ladder.name"] if current else ""},
                           after={"segment": segment, "ladder": new["name"] if new else ""})
    return True


async def set_client_ladder(client_id: int, ladder_id: int | None, actor: Actor) -> bool:
    """The client follows this ladder whatever its segment (None: its segment's again)."""
    async with db.transaction():
        if not await Client.exists().where(Client.id == client_id):
            raise LookupError(client_id)
        new = await _debt_ladder_row(ladder_id) if ladder_id is not None else None
        current = await ClientLadder.select(ClientLadder.ladder, ClientLadder.ladder.name).where(
            ClientLadder.client == client_id
        ).first()
        if (current["ladder"] if current else None) == ladder_id:
            return False
        if new is None:
            await ClientLadder.delete().where(ClientLadder.client == client_id)
        elif current is None:
            await ClientLadder(client=client_id, ladder=ladder_id).save()
        else:
            await ClientLadder.update({ClientLadder.ladder: ladder_id}).where(ClientLadder.client == client_id)
        await DunningState.update({DunningState.next_at: utcnow()}).where(DunningState.client == client_id)
        await audit.record(actor, "client_ladder_set", "ladder", ladder_id if new else current["ladder"], client_id=client_id,
                           before={"ladder": current["ladder.name"] if current else ""},
                           after={"ladder": new["name"] if new else ""})
    return True


async def replan_clients(client_ids: list[int]) -> None:
    """The clients' open invoices are looked at again by the next tick (their segment, and so
    their ladder, changed). In the caller's transaction."""
    if client_ids:
        await DunningState.update({DunningState.next_at: utcnow()}).where(DunningState.client.is_in(client_ids))
