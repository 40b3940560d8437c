"""The one way facts reach the escalation ladder: `feed(Event(...))`.

Payments, spec approvals, promises, disputes, proposed, countered, accepted, rejected and broken
repayment schedules, staff pauses and their lifting all come here. `feed` reads each invoice's
state (transitions.state_of), refuses an event that state does not allow (EscalationError, shown
to the user), writes the fact, leaves an `escalation_changed` audit event with the state before
and after, and marks the invoice's stored state stale (`next_at = LOOK_AGAIN`) so the very next
tick decides again from the facts. It joins the caller's transaction or opens one. The ladder
itself is never changed here: rules.decide reads it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import bulk, db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clock import local_date, utcnow
from portal.dunning.engine import rules
from portal.dunning.engine.tables import ActionStatus, DunningAction, DunningState
from portal.dunning.escalation import rules as transitions
from portal.dunning.escalation.rules import EscalationState
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.mail import service as mail
from portal.messages import N_
from portal.tasks import service as tasks

PAUSE_LABELS = {
    PauseKind.PROMISE: N_("promise to pay"),
    PauseKind.DISPUTE: N_("dispute"),
    PauseKind.PROPOSAL: N_("proposed repayment schedule"),
    PauseKind.PLAN: N_("repayment plan"),
    PauseKind.MANUAL: N_("paused by staff"),
    PauseKind.CALLBACK: N_("callback agreed with the client"),
}


# A state due "at the very next tick, whatever moment it ticks at" (also a replay with --as-of).
LOOK_AGAIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class EscalationError(Exception):
    """A request refused; the message is shown to the user."""


async def mark_stale(invoice_ids: list[int]) -> None:
    """The facts of these invoices changed: the next tick looks at them again."""
    if invoice_ids:
        await DunningState.update({DunningState.next_at: LOOK_AGAIN}).where(DunningState.invoice.is_in(invoice_ids))


async def track(invoice_ids: list[int], now: dt.datetime | None = None) -> None:
    """Open invoices (a new one, or one open again after a reversal) get their state row, due
    for the next tick. Settled ones are left alone."""
    if not invoice_ids:
        return
    now = now or utcnow()
    rows = await Invoice.select(Invoice.id, Invoice.client, Invoice.due_date).where(
        Invoice.id.is_in(invoice_ids) & (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.kind == InvoiceKind.INVOICE)
    )
    await bulk.insert_many(
        DunningState,
        [DunningState.invoice, DunningState.client, DunningState.due_date, DunningState.last_position, DunningState.severity,
         DunningState.next_at, DunningState.paused_kind, DunningState.updated_at],
        [(r["id"], r["client"], r["due_date"], 0, 0, LOOK_AGAIN, "", now) for r in rows],
        on_conflict="ON CONFLICT (invoice) DO UPDATE SET next_at = EXCLUDED.next_at",
    )


async def untrack(invoice_ids: list[int]) -> None:
    """Settled invoices (paid in full, cancelled) keep no state: the ladder is done with them."""
    if invoice_ids:
        await DunningState.delete().where(DunningState.invoice.is_in(invoice_ids))


async def _invoice(invoice_id: int) -> dict:
    row = await Invoice.select(Invoice.id, Invoice.client, Invoice.code, Invoice.status).where(Invoice.id == invoice_id).first()
    if row is None:
        raise LookupError(invoice_id)
    return row


async def pause(
    invoice_id: int, kind: str, actor: Actor, *, reason: str = "", until: dt.datetime | None = None,
    promised_date: dt.date | None = None, source_type: str = "", source_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Hold the ladder for one invoice from now until `until` (None: until lifted)."""
    if kind not in PAUSE_LABELS:
        raise ValueError(kind)
    now = now or utcnow()
    async with db.transaction():
        invoice = await _invoice(invoice_id)
        row = Pause(
            invoice=invoice_id, client=invoice["client"], kind=kind, reason=reason.strip()[:1000],
            promised_date=promised_date, starts_at=now, until=until, source_type=source_type, source_id=source_id,
            created_by=actor.user_id, created_at=now,
        )
        await row.save()
        after = {"kind": kind, "reason": reason.strip()}
        if until is not None:
            after["until"] = until.isoformat(timespec="minutes")
        if promised_date is not None:
            after["promised_date"] = promised_date.isoformat()
        await audit.record(actor, "dunning_paused", "invoice", invoice_id, client_id=invoice["client"], after=after)
        await mark_stale([invoice_id])
    return row.id


def promise_until(promised_date: dt.date, grace_days: int, tz: str) -> dt.datetime:
    """A promise holds the whole promised day plus the grace days, in the firm's zone."""
    return rules.local_at(promised_date + dt.timedelta(days=grace_days + 1), dt.time(0, 0), tz)


async def record_promise(
    invoice_id: int, promised_date: dt.date, actor: Actor, *, grace_days: int, tz: str, max_days: int,
    source_type: str = "", source_id: int | None = None, now: dt.datetime | None = None,
) -> int:
    """The client (in the portal) or staff (from a call) say it will be paid by `promised_date`:
    checked against the policy, then fed as a "promise" event; returns the promise's pause id."""
    now = now or utcnow()
    today = local_date(now, tz)
    if promised_date < today:
        raise EscalationError("A promised date cannot be in the past.")
    if promised_date > today + dt.timedelta(days=max_days):
        raise EscalationError(f"A promised date can be at most {max_days} days ahead.")
    await feed(Event(
        "promise", (invoice_id,), actor, until=promise_until(promised_date, grace_days, tz), promised_date=promised_date,
        source_type=source_type, source_id=source_id, now=now,
    ))
    return await _open_pause_id(invoice_id, PauseKind.PROMISE)


async def _open_pause_id(invoice_id: int, kind: str) -> int:
    rows = await _open_of(invoice_id, (kind,))
    return rows[0]["id"] if rows else 0


async def _end(pause_id: int, end_reason: str, actor: Actor, now: dt.datetime) -> dict | None:
    row = await Pause.select().where((Pause.id == pause_id) & Pause.ended_at.is_null()).first()
    if row is None:
        return None
    ended_at = min(now, row["until"]) if row["until"] is not None else now
    await Pause.update({Pause.ended_at: ended_at, Pause.end_reason: end_reason}).where(Pause.id == pause_id)
    await audit.record(
        actor, "dunning_pause_ended", "invoice", row["invoice"], client_id=row["client"],
        before={"kind": row["kind"]}, after={"end_reason": end_reason},
    )
    await mark_stale([row["invoice"]])
    return row


async def lift_pause(pause_id: int, actor: Actor, *, now: dt.datetime | None = None) -> bool:
    """Staff end a pause (their own, or a promise) before its time: fed as "pause_lifted"."""
    row = await Pause.select(Pause.invoice, Pause.kind).where((Pause.id == pause_id) & Pause.ended_at.is_null()).first()
    if row is None or row["kind"] not in (PauseKind.MANUAL, PauseKind.PROMISE):
        return False
    await feed(Event("pause_lifted", (row["invoice"],), actor, source_type="pause", source_id=pause_id, now=now))
    return True


async def _let_go(settled: list[int], actor: Actor, now: dt.datetime, end_reason: str) -> None:
    """Invoices paid in full or cancelled: their pending actions and unsent emails are cancelled, their
    open ladder tasks closed, their pauses ended, their state dropped."""
    await DunningAction.update(
        {DunningAction.status: ActionStatus.CANCELLED, DunningAction.outcome: N_("paid before it was carried out"), DunningAction.done_at: now}
    ).where(DunningAction.invoice.is_in(settled) & (DunningAction.status == ActionStatus.PENDING))
    await mail.cancel_for_invoices(settled, N_("the invoice was paid"))
    await tasks.close_for_invoices(settled, N_("Paid: closed by the system."), now)
    for pause_row in await Pause.select(Pause.id).where(Pause.invoice.is_in(settled) & Pause.ended_at.is_null()):
        await _end(pause_row["id"], end_reason, actor, now)
    await untrack(settled)


async def states_before_money(invoice_ids: list[int]) -> dict[int, str]:
    """Each invoice's state before money moves (read before billing books it, in its transaction)."""
    return await states_of(invoice_ids)


async def money_moved(invoice_ids: list[int], before: dict[int, str], actor: Actor, *, event: str, now: dt.datetime,
                      source: tuple[str, int] | None = None, reason: str = "") -> dict[int, str]:
    """Money moved on these invoices (portal.settlement, after billing booked it): one paid in full or
    cancelled stops at once; one partly paid goes on with the ladder on the remainder. `event`:
    "payment", "invoice_cancelled", or the dispute event a credit note answers."""
    async with db.transaction():
        rows = {r["id"]: r for r in await _statuses(invoice_ids)}
        settled = [i for i, r in rows.items() if r["status"] != InvoiceStatus.ISSUED]
        if event in ("dispute_credited", "dispute_corrected"):
            for invoice_id in settled:
                await _end_open(invoice_id, (PauseKind.DISPUTE,), "resolved", actor, now)
        if settled:
            await _let_go(settled, actor, now, "paid" if event == "payment" else "cancelled")
        await mark_stale([i for i, r in rows.items() if r["status"] == InvoiceStatus.ISSUED])
        after = await states_of(invoice_ids)
        await _show_pauses([i for i in invoice_ids if i not in settled])
        for invoice_id, row in rows.items():
            kind = ("payment_full" if row["status"] != InvoiceStatus.ISSUED else "payment_partial") if event == "payment" else event
            if event == "invoice_cancelled" or (kind == "payment_partial" and before.get(invoice_id) == after.get(invoice_id)):
                continue  # billing's own event says it all
            if kind in EVENTS_OF_MONEY and before.get(invoice_id) == EscalationState.SETTLED:
                continue  # money after the ladder ended: nothing to change
            details = {"reason": reason} if reason else {}
            await audit.record(actor, "escalation_changed", "invoice", invoice_id, client_id=row["client"],
                               before={"state": before.get(invoice_id, "")},
                               after={"event": kind, "state": after.get(invoice_id, EscalationState.SETTLED), **details})
    return after


async def reopened(invoice_ids: list[int]) -> None:
    """A payment was reversed: the invoices open again get their state back and are decided again."""
    await track(invoice_ids)


EVENTS_OF_MONEY = ("payment_partial", "payment_full", "dispute_credited", "dispute_corrected")


@dataclass(frozen=True)
class Event:
    """Something that happened to some invoices (money moving is not one: portal.settlement calls
    money_moved). `kind` is one of transitions.EVENTS. `until` bounds the pause an event starts (the
    caller computes it from policy: negotiation.rules.pause_until)."""

    kind: str
    invoice_ids: tuple[int, ...]
    actor: Actor
    reason: str = ""
    until: dt.datetime | None = None
    promised_date: dt.date | None = None
    source_type: str = ""
    source_id: int | None = None
    now: dt.datetime | None = None


REFUSALS = {
    "promise": "A promise cannot be recorded for this invoice now.",
    "dispute_opened": "This invoice cannot be disputed now.",
    "proposal": "A repayment schedule cannot be proposed for this invoice now.",
    "plan_accepted": "This schedule cannot be accepted now.",
    "staff_pause": "This invoice cannot be paused now.",
}


async def states_of(invoice_ids: list[int]) -> dict[int, str]:
    """Each invoice's escalation state (transitions.STATES) from its status, open pauses and whether
    a legal step waits for an admin."""
    if not invoice_ids:
        return {}
    rows = await _statuses(invoice_ids)
    kinds: dict[int, set[str]] = {}
    for p in await Pause.select(Pause.invoice, Pause.kind).where(Pause.invoice.is_in(invoice_ids) & Pause.ended_at.is_null()):
        kinds.setdefault(p["invoice"], set()).add(p["kind"])
    blocked = {
        r["invoice"] for r in await DunningState.select(DunningState.invoice).where(
            DunningState.invoice.is_in(invoice_ids) & DunningState.paused_kind.is_in(list(rules.BLOCKING))
        )
    }
    return {
        r["id"]: transitions.state_of(
            kinds.get(r["id"], set()), settled=r["status"] != InvoiceStatus.ISSUED, blocked=r["id"] in blocked
        )
        for r in rows
    }


async def _statuses(invoice_ids: list[int]) -> list[dict]:
    return await Invoice.select(Invoice.id, Invoice.client, Invoice.status).where(Invoice.id.is_in(invoice_ids))


async def feed(event: Event) -> dict[int, str]:
    """Apply one event to its invoices; returns each invoice's state after it."""
    now = event.now or utcnow()
    ids = sorted(set(event.invoice_ids))
    async with db.transaction():
        if event.kind not in _HANDLERS:
            raise ValueError(event.kind)
        before = await states_of(ids)
        if set(before) != set(ids):
            raise LookupError(sorted(set(ids) - set(before)))
        rows = {r["id"]: r for r in await _statuses(ids)}
        for invoice_id in ids:
            if not transitions.allowed(before[invoice_id], event.kind):
                if event.kind == "spec_approved" and before[invoice_id] == EscalationState.SETTLED:
                    continue  # an approval after the ladder ended: nothing to change
                raise EscalationError(REFUSALS.get(event.kind, "This cannot be done in the invoice's current state."))
        await _HANDLERS[event.kind](event, ids, now)
        after = await states_of(ids)
        await _show_pauses(ids)
        for invoice_id in ids:
            await audit.record(
                event.actor, "escalation_changed", "invoice", invoice_id, client_id=rows[invoice_id]["client"],
                before={"state": before[invoice_id]},
                after={"event": event.kind, "state": after[invoice_id], **({"reason": event.reason} if event.reason else {})},
            )
        await mark_stale(ids)
    return after


async def _show_pauses(invoice_ids: list[int]) -> None:
    """The worklist and the client's page show the pause at once, not after the next tick."""
    if not invoice_ids:
        return
    open_pauses: dict[int, dict] = {}
    for p in await Pause.select(Pause.invoice, Pause.kind, Pause.until).where(
        Pause.invoice.is_in(invoice_ids) & Pause.ended_at.is_null()
    ):
        held = open_pauses.get(p["invoice"])
        if held is None or rules.PAUSE_RANK.index(p["kind"]) < rules.PAUSE_RANK.index(held["kind"]):
            open_pauses[p["invoice"]] = p
    for invoice_id in invoice_ids:
        pause_row = open_pauses.get(invoice_id)
        query = DunningState.update({
            DunningState.paused_kind: pause_row["kind"] if pause_row else "",
            DunningState.paused_until: pause_row["until"] if pause_row else None,
        }).where(DunningState.invoice == invoice_id)
        if pause_row is None:  # a legal step waiting for an admin still waits
            query = query.where(DunningState.paused_kind.not_in(list(rules.BLOCKING)))
        await query


async def _noted(event: Event, ids: list[int], now: dt.datetime) -> None:
    """The state does not change; the audit event and the fresh decision are what count."""


async def _promise(event: Event, ids: list[int], now: dt.datetime) -> None:
    if event.promised_date is None or event.until is None:
        raise ValueError("a promise needs its date and its end")
    for invoice_id in ids:
        await _end_open(invoice_id, (PauseKind.PROMISE,), "replaced", event.actor, now)
        await pause(invoice_id, PauseKind.PROMISE, event.actor, until=event.until, promised_date=event.promised_date,
                    reason=event.reason or f"promised to pay by {event.promised_date.isoformat()}",
                    source_type=event.source_type, source_id=event.source_id, now=now)


def _pausing(kind: str, replaces: tuple[str, ...] = (), ends: tuple[str, ...] = (), end_reason: str = ""):
    async def handler(event: Event, ids: list[int], now: dt.datetime) -> None:
        for invoice_id in ids:
            if ends:
                await _end_open(invoice_id, ends, end_reason, event.actor, now)
            if replaces and await _open_of(invoice_id, replaces):
                continue  # a counter-offer keeps the pause the first proposal started: it cannot stall for longer
            await pause(invoice_id, kind, event.actor, until=event.until, reason=event.reason,
                        source_type=event.source_type, source_id=event.source_id, now=now)
    return handler


def _ending(kinds: tuple[str, ...], end_reason: str, *, by_pause_id: bool = True):
    async def handler(event: Event, ids: list[int], now: dt.datetime) -> None:
        if by_pause_id and event.source_type == "pause" and event.source_id is not None:  # that one pause only (staff lift it)
            await _end(event.source_id, end_reason, event.actor, now)
            return
        for invoice_id in ids:
            await _end_open(invoice_id, kinds, end_reason, event.actor, now)
    return handler


async def _open_of(invoice_id: int, kinds: tuple[str, ...]) -> list[dict]:
    return await Pause.select(Pause.id).where(
        (Pause.invoice == invoice_id) & Pause.kind.is_in(list(kinds)) & Pause.ended_at.is_null()
    )


async def _end_open(invoice_id: int, kinds: tuple[str, ...], end_reason: str, actor: Actor, now: dt.datetime) -> None:
    for row in await _open_of(invoice_id, kinds):
        await _end(row["id"], end_reason, actor, now)


_HANDLERS = {
    "spec_approved": _noted,
    "installment_paid": _noted,
    "promise": _promise,
    "dispute_opened": _pausing(PauseKind.DISPUTE),
    "dispute_rejected": _ending((PauseKind.DISPUTE,), "resolved"),
    "proposal": _pausing(PauseKind.PROPOSAL, replaces=(PauseKind.PROPOSAL,)),
    "schedule_rejected": _ending((PauseKind.PROPOSAL,), "rejected"),
    "plan_accepted": _pausing(PauseKind.PLAN, ends=(PauseKind.PROPOSAL, PauseKind.PROMISE, PauseKind.MANUAL), end_reason="plan"),
    "plan_broken": _ending((PauseKind.PLAN,), "broken"),
    "staff_pause": _pausing(PauseKind.MANUAL),
    "pause_lifted": _ending((PauseKind.MANUAL, PauseKind.PROMISE), "lifted"),
    "callback_agreed": _pausing(PauseKind.CALLBACK, ends=(PauseKind.CALLBACK,), end_reason="replaced"),
    "callback_done": _ending((PauseKind.CALLBACK,), "done", by_pause_id=False),
}
