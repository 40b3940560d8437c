"""Layout variants and the technical spec: a designer's uploads, the coordinator's versioned spec,
and the client's decision on it (approve with a typed signature, or ask for changes).

Every use case runs in one transaction and leaves its events on the order's timeline
(object_type "order", object_id the order, client_id its client).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
from pathlib import Path

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.dunning.escalation import service as escalation
from portal.messages import N_
from portal.orders import news, rules, service as orders
from portal.orders.rules import Stage
from portal.orders.specs import rules as spec_rules
from portal.orders.tables import LayoutVariant, Order, SpecStatus, TechnicalSpec
from portal.tasks import notifications
from portal.web.forms import Checked

log = logging.getLogger("portal.orders.specs.service")

SPEC_FIELDS = ("materials", "finishing", "quantities", "contract_note")
DECIDED = (SpecStatus.SENT, SpecStatus.APPROVED, SpecStatus.CHANGES_REQUESTED)  # versions the client has seen and that still count
CLOSED_FOR_LAYOUTS = (Stage.CLOSED, Stage.CANCELLED)
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|pdf)$")


class SpecError(Exception):
    """A request the service refuses: an English message id, its values, the form field it concerns,
    and for a client's outdated decision the version that is current now."""

    def __init__(self, message: str, params: dict | None = None, *, field: str = "spec", current_version: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.params = params or {}
        self.field = field
        self.current_version = current_version


# --- reading --------------------------------------------------------------------------------

_VARIANT_COLUMNS = (
    LayoutVariant.id, LayoutVariant.order, LayoutVariant.label, LayoutVariant.original_name, LayoutVariant.content_type,
    LayoutVariant.size_bytes, LayoutVariant.uploaded_at, LayoutVariant.uploaded_by.name,
)


async def order_variants(order_id: int) -> list[dict]:
    return await LayoutVariant.select(*_VARIANT_COLUMNS).where(LayoutVariant.order == order_id).order_by(LayoutVariant.id)


async def order_specs(order_id: int, *, include_drafts: bool = True) -> list[dict]:
    """Every version, newest first, with the names of the people involved."""
    query = TechnicalSpec.select(
        TechnicalSpec.all_columns(), TechnicalSpec.created_by.name, TechnicalSpec.sent_by.name,
        TechnicalSpec.decided_by.name, TechnicalSpec.approved_variant.label,
    ).where(TechnicalSpec.order == order_id).order_by(TechnicalSpec.version, ascending=False)
    if not include_drafts:
        query = query.where(TechnicalSpec.status != SpecStatus.DRAFT)
    specs = await query.output(load_json=True)
    for spec in specs:
        spec["variant_ids"] = _int_list(spec["variant_ids"])
        spec["change_requests"] = spec["change_requests"] if isinstance(spec["change_requests"], dict) else {}
    return specs


def _int_list(value) -> list[int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    ids = [spec_rules.parse_id(v) for v in value or []]
    return [i for i in ids if i is not None]


def _form_values(spec: dict | None) -> dict:
    if spec is None:
        return {"variant_ids": [], **{name: "" for name in SPEC_FIELDS}}
    return {"variant_ids": list(spec["variant_ids"]), **{name: spec[name] for name in SPEC_FIELDS}}


async def spec_context(order_id: int) -> dict:
    """What the staff order page needs for its variants and spec sections."""
    variants = await order_variants(order_id)
    specs = await order_specs(order_id)
    draft = next((s for s in specs if s["status"] == SpecStatus.DRAFT), None)
    return {
        "variants": variants,
        "variants_by_id": {v["id"]: v for v in variants},
        "specs": specs,
        "spec_draft": draft,
        "spec_current": next((s for s in specs if s["status"] in DECIDED), None),
        "spec_next_version": draft["version"] if draft else (specs[0]["version"] + 1 if specs else 1),
        "spec_values": _form_values(draft or (specs[0] if specs else None)),
        "spec_errors": {},
        "variant_values": {},
        "variant_errors": {},
    }


async def variant_file(order_id: int, variant_id: int, upload_dir: Path, *, client_id: int | None = None) -> tuple[dict, Path] | None:
    """A variant's row and file. For a client: only a variant of their own order that a spec sent
    to them shows (a designer's work in progress stays inside)."""
    query = LayoutVariant.select(*_VARIANT_COLUMNS, LayoutVariant.stored_name).where(
        (LayoutVariant.id == variant_id) & (LayoutVariant.order == order_id)
    )
    if client_id is not None:
        query = query.where(LayoutVariant.order.client == client_id)
    variant = await query.first()
    if variant is None:
        return None
    if client_id is not None:
        shown = await TechnicalSpec.select(TechnicalSpec.variant_ids).where(
            (TechnicalSpec.order == order_id) & (TechnicalSpec.status != SpecStatus.DRAFT)
        ).output(load_json=True)
        if not any(variant_id in _int_list(s["variant_ids"]) for s in shown):
            return None
    if not _STORED_NAME.match(variant["stored_name"]):
        log.error("layout variant %s has an unexpected stored name", variant_id)
        return None
    path = upload_dir / variant["stored_name"]
    if not path.is_file():
        log.error("layout variant %s: file %s is missing", variant_id, path.name)
        return None
    return variant, path


async def _locked_order(order_id: int, client_id: int | None = None) -> dict:
    """The order, locked for this transaction on PostgreSQL (SQLite holds the write lock already)."""
    query = Order.select(Order.id, Order.number, Order.client, Order.client.name, Order.stage).where(Order.id == order_id)
    if client_id is not None:
        query = query.where(Order.client == client_id)
    if db.is_postgres():
        query = query.lock_rows(of=(Order,))
    order = await query.first()
    if order is None:
        raise LookupError(order_id)
    return order


async def _move(order: dict, target: Stage, actor: Actor, reason: str) -> None:
    """The order changes stage because of a spec event (the audit says which)."""
    await Order.update({Order.stage: target.value, Order.stage_changed_at: utcnow()}).where(Order.id == order["id"])
    await audit.record(
        actor, "order_moved", "order", order["id"], client_id=order["client"],
        before={"stage": order["stage"]}, after={"stage": target.value, "reason": reason},
    )
    order["stage"] = target.value


# --- layout variants --------------------------------------------------------------------------

def _write_file(folder: Path, stored_name: str, data: bytes) -> Path:
    """Write to a temporary name, then rename into place: a reader never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / stored_name
    temporary = folder / f".{stored_name}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return final


async def upload_variant(order_id: int, *, label: str, original_name: str, data: bytes, size: int | None,
                         actor: Actor, upload_dir: Path) -> tuple[int | None, Checked]:
    """A designer's layout file, checked by its bytes. Refused: nothing stored (no row, no file)."""
    checked = spec_rules.check_variant_upload(label, original_name, data, size)
    if not checked.ok:
        return None, checked
    v = checked.values
    kind: spec_rules.FileKind = v["kind"]
    label = v["label"] or Path(v["original_name"]).stem[: spec_rules.MAX_LABEL] or "Layout"
    stored_name = secrets.token_hex(16) + kind.extension
    path = await asyncio.to_thread(_write_file, upload_dir, stored_name, data)
    try:
        async with db.transaction():
            order = await _locked_order(order_id)
            if Stage(order["stage"]) in CLOSED_FOR_LAYOUTS:
                raise SpecError(N_("This order is closed: it takes no more layouts."), field="file")
            variant = LayoutVariant(
                order=order_id, label=label, stored_name=stored_name, original_name=v["original_name"],
                content_type=kind.content_type, size_bytes=len(data), uploaded_by=actor.user_id, uploaded_at=utcnow(),
            )
            await variant.save()
            await audit.record(
                actor, "variant_uploaded", "order", order_id, client_id=order["client"],
                after={"variant": label, "file": v["original_name"], "type": kind.name, "size_bytes": len(data)},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return variant.id, checked


# --- the coordinator's spec -------------------------------------------------------------------

async def _draft_of(order_id: int) -> dict | None:
    specs = await TechnicalSpec.select().where((TechnicalSpec.order == order_id) & (TechnicalSpec.status == SpecStatus.DRAFT)).output(load_json=True)
    if not specs:
        return None
    spec = max(specs, key=lambda s: s["version"])
    spec["variant_ids"] = _int_list(spec["variant_ids"])
    return spec


async def _highest_version(order_id: int) -> int:
    row = await TechnicalSpec.select(TechnicalSpec.version).where(TechnicalSpec.order == order_id).order_by(
        TechnicalSpec.version, ascending=False
    ).first()
    return row["version"] if row else 0


def _editable(order: dict) -> None:
    if Stage(order["stage"]) not in rules.BEFORE_PRODUCTION:
        raise SpecError(N_("The spec cannot change once the order is in production, delivered, closed or cancelled."))


async def _save_draft(order: dict, form: dict[str, str], chosen: list[str], actor: Actor) -> tuple[dict, Checked]:
    """Inside the caller's transaction. Raises SpecError (field errors in .params['errors'])."""
    _editable(order)
    order_variant_ids = {r["id"] for r in await LayoutVariant.select(LayoutVariant.id).where(LayoutVariant.order == order["id"])}
    checked = spec_rules.check_spec_form(form, chosen, order_variant_ids)
    if not checked.ok:
        raise SpecError(N_("Please correct the highlighted fields; nothing was saved yet."), {"errors": checked.errors})
    v = checked.values
    values = {name: v[name] for name in SPEC_FIELDS}
    draft = await _draft_of(order["id"])
    if draft is None:
        version = await _highest_version(order["id"]) + 1
        spec = TechnicalSpec(
            order=order["id"], version=version, status=SpecStatus.DRAFT, variant_ids=json.dumps(v["variant_ids"]),
            created_by=actor.user_id, created_at=utcnow(), **values,
        )
        await spec.save()
        await audit.record(
            actor, "spec_draft_created", "order", order["id"], client_id=order["client"],
            after={"version": version, "variants": len(v["variant_ids"])},
        )
        draft = {"id": spec.id, "version": version, "variant_ids": v["variant_ids"], **values}
    else:
        before = {"variant_ids": draft["variant_ids"], **{name: draft[name] for name in SPEC_FIELDS}}
        after = {"variant_ids": v["variant_ids"], **values}
        old, new = audit.changes(before, after)
        await TechnicalSpec.update({
            TechnicalSpec.variant_ids: json.dumps(v["variant_ids"]), **{getattr(TechnicalSpec, k): val for k, val in values.items()},
        }).where(TechnicalSpec.id == draft["id"])
        if new:
            await audit.record(
                actor, "spec_draft_saved", "order", order["id"], client_id=order["client"],
                before=old, after={"version": draft["version"], **new},
            )
        draft.update(after)
    return draft, checked


async def save_draft(order_id: int, form: dict[str, str], chosen: list[str], actor: Actor) -> int:
    """Save the draft (a new version N+1 when none is open). Returns its version; raises SpecError."""
    async with db.transaction():
        order = await _locked_order(order_id)
        draft, _ = await _save_draft(order, form, chosen, actor)
    return draft["version"]


async def send_spec(order_id: int, actor: Actor, *, form: dict[str, str] | None = None, chosen: list[str] | None = None,
                    version: int | None = None) -> int:
    """Freeze the draft and send it to the client (saving the posted form first, in the same
    transaction). Earlier versions become superseded; the order moves to 'spec sent'."""
    async with db.transaction():
        order = await _locked_order(order_id)
        if form is not None:
            draft, _ = await _save_draft(order, form, chosen or [], actor)
        else:
            _editable(order)
            draft = await _draft_of(order_id)
            if draft is None:
                raise SpecError(N_("There is no draft to send: write the spec first."))
            if version is not None and draft["version"] != version:
                raise SpecError(N_("The draft is now version %(version)s; check it and send again."), {"version": draft["version"]})
        reason = spec_rules.check_sendable(draft)
        if reason:
            raise SpecError(reason, field="variant_ids")
        target = rules.after_spec_sent(Stage(order["stage"]))
        if target is None:
            raise SpecError(N_("The spec cannot change once the order is in production, delivered, closed or cancelled."))
        superseded = await TechnicalSpec.select(TechnicalSpec.version).where(
            (TechnicalSpec.order == order_id) & TechnicalSpec.status.is_in(list(DECIDED))
        )
        now = utcnow()
        if superseded:
            await TechnicalSpec.update({TechnicalSpec.status: SpecStatus.SUPERSEDED}).where(
                (TechnicalSpec.order == order_id) & TechnicalSpec.status.is_in(list(DECIDED))
            )
        await TechnicalSpec.update({
            TechnicalSpec.status: SpecStatus.SENT, TechnicalSpec.sent_by: actor.user_id, TechnicalSpec.sent_at: now,
        }).where(TechnicalSpec.id == draft["id"])
        after = {"version": draft["version"], "variants": len(draft["variant_ids"])}
        if superseded:
            after["superseded"] = ", ".join(f"v{s['version']}" for s in sorted(superseded, key=lambda s: s["version"]))
        await audit.record(actor, "spec_sent", "order", order_id, client_id=order["client"], after=after)
        if target.value != order["stage"]:
            await _move(order, target, actor, f"spec v{draft['version']} sent")
        await news.spec_awaits_approval(order, draft["version"])
    return draft["version"]


# --- the client's decision --------------------------------------------------------------------

async def _decidable(order: dict, version: int) -> dict:
    """The sent version the client decides on, or SpecError saying why not (nothing changes)."""
    specs = await TechnicalSpec.select().where(
        (TechnicalSpec.order == order["id"]) & (TechnicalSpec.status != SpecStatus.DRAFT)
    ).output(load_json=True)
    spec = next((s for s in specs if s["version"] == version), None)
    if spec is None:
        raise LookupError(version)  # drafts and unknown versions do not exist for the client
    spec["variant_ids"] = _int_list(spec["variant_ids"])
    current = next((s["version"] for s in specs if s["status"] == SpecStatus.SENT), None)
    if spec["status"] == SpecStatus.SENT and order["stage"] == Stage.SPEC_SENT.value:
        return spec
    if current is not None and current != version:
        raise SpecError(
            N_("Version %(version)s of the spec is out of date: we have since sent you version %(current)s."),
            {"version": version, "current": current}, current_version=current,
        )
    if spec["status"] == SpecStatus.APPROVED:
        raise SpecError(N_("You have already approved version %(version)s."), {"version": version})
    if spec["status"] == SpecStatus.CHANGES_REQUESTED:
        raise SpecError(N_("You asked for changes to version %(version)s; we will send you a new version."), {"version": version})
    raise SpecError(N_("We are revising this spec; we will send you a new version to approve."), {"version": version})


async def _notify_sender(spec: dict, order: dict, message: str) -> None:
    """A notification for the coordinator who sent the spec, in their language."""
    if spec.get("sent_by") is not None:
        await notifications.tell(spec["sent_by"], message, f"/staff/orders/{order['id']}", client=order["client.name"],
                                 version=spec["version"], order=order["number"])


async def approve_spec(order_id: int, client_id: int, version: int, form: dict[str, str], actor: Actor) -> Checked:
    """The client approves the current sent version with one variant and a typed signature.
    The order moves at once (approved, or straight into production when already paid).
    Raises LookupError (not their order / no such version) or SpecError (outdated or decided)."""
    async with db.transaction():
        order = await _locked_order(order_id, client_id)
        spec = await _decidable(order, version)
        checked = spec_rules.check_approval(form, spec["variant_ids"])
        if not checked.ok:
            return checked
        v = checked.values
        variant = await LayoutVariant.select(LayoutVariant.id, LayoutVariant.label).where(LayoutVariant.id == v["variant_id"]).first()
        now = utcnow()
        await TechnicalSpec.update({
            TechnicalSpec.status: SpecStatus.APPROVED, TechnicalSpec.decided_by: actor.user_id, TechnicalSpec.decided_at: now,
            TechnicalSpec.approved_variant: v["variant_id"], TechnicalSpec.signature_name: v["signature_name"],
            TechnicalSpec.decision_ip: actor.ip[:64],
        }).where(TechnicalSpec.id == spec["id"])
        await audit.record(
            actor, "spec_approved", "order", order_id, client_id=order["client"],
            after={"version": version, "variant": variant["label"], "signature": v["signature_name"]},
        )
        await orders.refresh_gate(order, actor)
        await _spec_approved_on_ladder(order_id, actor)
        await _notify_sender(spec, order, N_("%(client)s approved spec v%(version)s of %(order)s"))
        checked.values["stage"] = order["stage"]
    return checked


async def _spec_approved_on_ladder(order_id: int, actor: Actor) -> None:
    """The client's approval is one of the events the ladder hears (recorded on the order's open
    invoices, which are decided again at once)."""
    open_ids = tuple(r["id"] for r in await Invoice.select(Invoice.id).where(
        (Invoice.order == order_id) & (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.kind == InvoiceKind.INVOICE)))
    if open_ids:
        await escalation.feed(escalation.Event("spec_approved", open_ids, actor))


async def request_changes(order_id: int, client_id: int, version: int, form: dict[str, str], actor: Actor) -> Checked:
    """The client asks for changes, one comment per variant; the order goes back to layout."""
    async with db.transaction():
        order = await _locked_order(order_id, client_id)
        spec = await _decidable(order, version)
        checked = spec_rules.check_change_request(form, spec["variant_ids"])
        if not checked.ok:
            return checked
        comments = checked.values["change_requests"]
        now = utcnow()
        await TechnicalSpec.update({
            TechnicalSpec.status: SpecStatus.CHANGES_REQUESTED, TechnicalSpec.decided_by: actor.user_id, TechnicalSpec.decided_at: now,
            TechnicalSpec.change_requests: json.dumps(comments), TechnicalSpec.decision_ip: actor.ip[:64],
        }).where(TechnicalSpec.id == spec["id"])
        labels = {r["id"]: r["label"] for r in await LayoutVariant.select(LayoutVariant.id, LayoutVariant.label).where(
            LayoutVariant.id.is_in([int(k) for k in comments]))}
        await audit.record(
            actor, "spec_changes_requested", "order", order_id, client_id=order["client"],
            after={"version": version, **{f"variant {labels.get(int(k), k)}": text for k, text in comments.items()}},
        )
        target = rules.after_changes_requested(Stage(order["stage"]))
        if target is not None:
            await _move(order, target, actor, f"changes requested on spec v{version}")
        await _notify_sender(spec, order, N_("%(client)s asked for changes to spec v%(version)s of %(order)s"))
        await news.designers(order, N_("%(client)s asked for changes on order %(order)s: new layout variants are needed."),
                             client=order["client.name"])
    return checked


# --- the client's pages -----------------------------------------------------------------------

async def client_orders(client_id: int) -> list[dict]:
    """The client's orders, newest first, each with its stage and next step in plain words."""
    rows = await Order.select(
        Order.id, Order.number, Order.client, Order.product, Order.quantity, Order.stage, Order.stage_changed_at, Order.created_at,
    ).where(Order.client == client_id).order_by(Order.id, ascending=False)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    facts = await orders.gate_facts(rows)
    sent = {
        r["order"]: r["version"] for r in await TechnicalSpec.select(TechnicalSpec.order, TechnicalSpec.version).where(
            TechnicalSpec.order.is_in(ids) & (TechnicalSpec.status == SpecStatus.SENT))
    }
    invoices = await orders.order_invoices(orders.ids_scope(ids))
    for row in rows:
        _describe(row, facts[row["id"]], sent.get(row["id"]), invoices.get(row["id"]))
    return rows


def _describe(order: dict, facts, sent_version: int | None, invoice: dict | None) -> None:
    stage = Stage(order["stage"])
    order["invoice"] = invoice
    order["sent_version"] = sent_version
    order["stage_words"] = spec_rules.client_stage(stage, facts.paid_in_full, facts.on_credit_hold)
    order["next_step"] = spec_rules.client_next_step(
        order["id"], stage, sent_version=sent_version, paid_in_full=facts.paid_in_full,
        invoice_code=invoice["code"] if invoice else "", on_credit_hold=facts.on_credit_hold,
        invoice_id=invoice["id"] if invoice else None,
    )


async def client_order(order_id: int, client_id: int) -> dict | None:
    """One of the client's orders with the spec version they see now (None: not theirs)."""
    order = await orders.get_order(order_id, client_id)
    if order is None:
        return None
    specs = await order_specs(order_id, include_drafts=False)
    shown = next((s for s in specs if s["status"] in DECIDED), None)
    variants = {v["id"]: v for v in await order_variants(order_id)}
    invoice = await orders.invoice_of(order_id)
    facts = (await orders.gate_facts([order]))[order_id]
    _describe(order, facts, shown["version"] if shown and shown["status"] == SpecStatus.SENT else None, invoice)
    return {
        "order": order,
        "spec": shown,
        "spec_variants": [variants[i] for i in (shown["variant_ids"] if shown else []) if i in variants],
        "can_decide": bool(shown and shown["status"] == SpecStatus.SENT and order["stage"] == Stage.SPEC_SENT.value),
        "invoice": invoice,
    }
