"""The delay-reason catalogue (why clients pay late) and its statistics.

Reasons are data a credit controller edits: added, renamed, put in order, deactivated (a reason
with history is never deleted, so the counts stay true). Every change is audited. The statistics
count call outcomes with a reason per reason, per the client's sales manager and per client,
in a few GROUP BY queries.
"""

from __future__ import annotations

import datetime as dt

from piccolo.query.functions.aggregate import Count

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.dunning.reasons.tables import CallOutcome, DelayReason
from portal.tasks.rules import local_day_start
from portal.web import i18n
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import date_input_value, parse_date

MAX_NAME = 120
TOP_CLIENTS = 20
DEFAULT_PERIOD_DAYS = 90
MAX_PERIOD_DAYS = 3660


class ReasonNotFound(LookupError):
    """No such reason (the route answers 404)."""


def check_name(form: dict[str, str], taken: dict[str, int], own_id: int | None = None) -> Checked:
    """A reason's name: required, at most 120 characters, not another reason's (any case).
    `taken`: every reason's folded name -> id."""
    out = Checked()
    name = " ".join(form.get("name", "").split())
    out.values["name"] = name
    if not name:
        out.errors["name"] = _("Enter the reason, e.g. “Waiting for their client to pay”.")
    elif len(name) > MAX_NAME:
        out.errors["name"] = _("Keep the name under %(n)s characters.", n=MAX_NAME)
    elif taken.get(name.casefold(), own_id) != own_id:
        out.errors["name"] = _("This reason is already in the list.")
    return out


def period(raw_from: str | None, raw_to: str | None, today: dt.date) -> tuple[dt.date, dt.date, dict[str, str]]:
    """The statistics' period from the query (inclusive local days); the last 90 days by default.
    A date that is no date is reported and replaced by the default."""
    errors: dict[str, str] = {}
    default_from = today - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    date_from, date_to = default_from, today
    if raw_from:
        date_from = parse_date(raw_from.strip()) or default_from
        if parse_date(raw_from.strip()) is None:
            errors["from"] = _("Enter a date such as %(example)s.", example=date_input_value(today))
    if raw_to:
        date_to = parse_date(raw_to.strip()) or today
        if parse_date(raw_to.strip()) is None:
            errors["to"] = _("Enter a date such as %(example)s.", example=date_input_value(today))
    if date_from > date_to:
        errors["to"] = _("The end of the period comes before its start.")
        date_from, date_to = default_from, today
    elif (date_to - date_from).days > MAX_PERIOD_DAYS:
        errors["from"] = _("Pick a period of at most ten years.")
        date_from = date_to - dt.timedelta(days=MAX_PERIOD_DAYS)
    return date_from, date_to, errors


# --- reading --------------------------------------------------------------------------------

async def list_reasons() -> list[dict]:
    """Every reason in its order, with how many call outcomes name it (two queries)."""
    rows = await DelayReason.select(DelayReason.id, DelayReason.name, DelayReason.position, DelayReason.is_active).order_by(
        DelayReason.position
    ).order_by(DelayReason.id)
    counts = await CallOutcome.select(CallOutcome.delay_reason, Count(alias="n")).where(
        CallOutcome.delay_reason.is_not_null()
    ).group_by(CallOutcome.delay_reason)
    used = {r["delay_reason"]: r["n"] for r in counts}
    for row in rows:
        row["uses"] = used.get(row["id"], 0)
    return rows


async def active_reasons() -> list[dict]:
    """The reasons a person may pick, in the catalogue's order."""
    return await DelayReason.select(DelayReason.id, DelayReason.name).where(DelayReason.is_active == True).order_by(  # noqa: E712
        DelayReason.position
    ).order_by(DelayReason.id)


async def _taken() -> dict[str, int]:
    rows = await DelayReason.select(DelayReason.id, DelayReason.name)
    return {r["name"].casefold(): r["id"] for r in rows}


async def _reason(reason_id: int) -> dict:
    row = await DelayReason.select().where(DelayReason.id == reason_id).first()
    if row is None:
        raise ReasonNotFound(reason_id)
    return row


# --- changing -------------------------------------------------------------------------------

async def add_reason(form: dict[str, str], actor: Actor) -> tuple[int | None, Checked]:
    """A new reason at the end of the list."""
    async with db.transaction():
        checked = check_name(form, await _taken())
        if not checked.ok:
            return None, checked
        last = await DelayReason.select(DelayReason.position).order_by(DelayReason.position, ascending=False).first()
        row = DelayReason(name=checked.values["name"], position=(last["position"] + 1) if last else 0, is_active=True,
                          created_at=utcnow())
        await row.save()
        await audit.record(actor, "delay_reason_added", "delay_reason", row.id, after={"name": row.name})
    return row.id, checked


async def rename_reason(reason_id: int, form: dict[str, str], actor: Actor) -> Checked:
    """A new name; the outcomes that named the reason keep pointing at it."""
    async with db.transaction():
        old = await _reason(reason_id)
        checked = check_name(form, await _taken(), own_id=reason_id)
        if not checked.ok or checked.values["name"] == old["name"]:
            return checked
        await DelayReason.update({DelayReason.name: checked.values["name"]}).where(DelayReason.id == reason_id)
        await audit.record(actor, "delay_reason_renamed", "delay_reason", reason_id, before={"name": old["name"]},
                           after={"name": checked.values["name"]})
    return checked


async def set_active(reason_id: int, active: bool, actor: Actor) -> None:
    """Deactivate (no longer offered, still counted) or reactivate a reason."""
    async with db.transaction():
        old = await _reason(reason_id)
        if old["is_active"] == active:
            return
        await DelayReason.update({DelayReason.is_active: active}).where(DelayReason.id == reason_id)
        await audit.record(actor, "delay_reason_reactivated" if active else "delay_reason_deactivated", "delay_reason",
                           reason_id, before={"active": old["is_active"]}, after={"active": active})


async def move_reason(reason_id: int, direction: str, actor: Actor) -> None:
    """One place up or down the list (positions are renumbered 0..n-1 on the way)."""
    async with db.transaction():
        await _reason(reason_id)
        rows = await DelayReason.select(DelayReason.id, DelayReason.position).order_by(DelayReason.position).order_by(DelayReason.id)
        order = [r["id"] for r in rows]
        at = order.index(reason_id)
        to = at - 1 if direction == "up" else at + 1 if direction == "down" else at
        if not 0 <= to < len(order) or to == at:
            return
        order[at], order[to] = order[to], order[at]
        before = {r["id"]: r["position"] for r in rows}
        for position, row_id in enumerate(order):
            if before[row_id] != position:
                await DelayReason.update({DelayReason.position: position}).where(DelayReason.id == row_id)
        await audit.record(actor, "delay_reason_moved", "delay_reason", reason_id, before={"position": at + 1},
                           after={"position": to + 1})


# --- statistics -----------------------------------------------------------------------------

def _by_count(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (-r["count"], (r.get("name") or "").casefold(), r.get("id") or 0))


async def reason_stats(date_from: dt.date, date_to: dt.date, *, tz: str | None = None) -> dict:
    """Call outcomes with a delay reason recorded from `date_from` to `date_to` (local days,
    inclusive), counted per reason, per the client's sales manager (with each manager's reasons)
    and per client (the 20 with most, each with its most frequent reason). Four queries."""
    tz = tz or i18n.current_timezone()
    starts, ends = local_day_start(date_from, tz), local_day_start(date_to + dt.timedelta(days=1), tz)
    in_period = (
        CallOutcome.delay_reason.is_not_null() & (CallOutcome.recorded_at >= starts) & (CallOutcome.recorded_at < ends)
    )
    per_reason = await CallOutcome.select(
        CallOutcome.delay_reason.as_alias("id"), CallOutcome.delay_reason.name.as_alias("name"), Count(alias="count"),
    ).where(in_period).group_by(CallOutcome.delay_reason, CallOutcome.delay_reason.name)
    manager_reason = await CallOutcome.select(
        CallOutcome.client.sales_manager.as_alias("id"), CallOutcome.client.sales_manager.name.as_alias("name"),
        CallOutcome.delay_reason.as_alias("reason_id"), CallOutcome.delay_reason.name.as_alias("reason"), Count(alias="count"),
    ).where(in_period).group_by(
        CallOutcome.client.sales_manager, CallOutcome.client.sales_manager.name, CallOutcome.delay_reason,
        CallOutcome.delay_reason.name,
    )
    per_client = await CallOutcome.select(
        CallOutcome.client.as_alias("id"), CallOutcome.client.name.as_alias("name"), Count(alias="count"),
    ).where(in_period & CallOutcome.client.is_not_null()).group_by(CallOutcome.client, CallOutcome.client.name)
    top_clients = _by_count(per_client)[:TOP_CLIENTS]
    client_reason = await CallOutcome.select(
        CallOutcome.client.as_alias("client_id"), CallOutcome.delay_reason.name.as_alias("reason"), Count(alias="count"),
    ).where(in_period & CallOutcome.client.is_in([c["id"] for c in top_clients] or [0])).group_by(
        CallOutcome.client, CallOutcome.delay_reason.name
    )

    managers: dict[int | None, dict] = {}
    for row in manager_reason:
        entry = managers.setdefault(row["id"], {"id": row["id"], "name": row["name"] or "", "count": 0, "reasons": []})
        entry["count"] += row["count"]
        entry["reasons"].append({"id": row["reason_id"], "name": row["reason"], "count": row["count"]})
    for entry in managers.values():
        entry["reasons"] = _by_count(entry["reasons"])
    main_reason: dict[int, dict] = {}
    for row in _by_count([{**r, "name": r["reason"]} for r in client_reason]):
        main_reason.setdefault(row["client_id"], {"name": row["reason"], "count": row["count"]})
    for client in top_clients:
        client["main_reason"] = main_reason.get(client["id"])
    return {
        "date_from": date_from,
        "date_to": date_to,
        "total": sum(r["count"] for r in per_reason),
        "by_reason": _by_count(per_reason),
        "by_manager": _by_count(list(managers.values())),
        "by_client": top_clients,
    }
