"""The one way facts reach the escalation ladder: payments, promises, pauses and their end.

Every function joins the caller's transaction (or opens one), writes the fact, leaves an audit
event and marks the invoice's stored state stale (`next_at = now`), so the very next tick
decides again from the facts. The ladder itself is never changed here: rules.decide reads it.
"""

from __future__ import annotations

import datetime as dt

from portal import bulk, db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.dunning import rules
from portal.dunning.tables import DunningAction, DunningState, Pause
from portal.mail.tables import EmailMessage
from portal.tasks.tables import Task

PAUSE_LABELS = {
    "promise": "promise to pay",
    "dispute": "dispute",
    "proposal": "proposed repayment schedule",
    "plan": "repayment plan",
    "manual": "paused by staff",
}


# A state due "at the very next tick, whatever moment it ticks at" (also a replay with --as-of).
LOOK_AGAIN = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


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
        Invoice.id.is_in(invoice_ids) & (Invoice.status == "issued") & (Invoice.kind == "invoice")
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
    """The client promised to pay by `promised_date`: the ladder waits until then plus grace.
    A promise replaces an earlier open promise on the same invoice."""
    now = now or utcnow()
    today = rules.local_date(now, tz)
    if promised_date < today:
        raise EscalationError("A promised date cannot be in the past.")
    if promised_date > today + dt.timedelta(days=max_days):
        raise EscalationError(f"A promised date can be at most {max_days} days ahead.")
    async with db.transaction():
        open_promises = await Pause.select(Pause.id).where(
            (Pause.invoice == invoice_id) & (Pause.kind == "promise") & Pause.ended_at.is_null()
        )
        for old in open_promises:
            await _end(old["id"], "replaced", actor, now)
        return await pause(
            invoice_id, "promise", actor, until=promise_until(promised_date, grace_days, tz), promised_date=promised_date,
            reason=f"promised to pay by {promised_date.isoformat()}", source_type=source_type, source_id=source_id, now=now,
        )


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


async def lift_pause(pause_id: int, actor: Actor, *, reason: str = "lifted", now: dt.datetime | None = None) -> bool:
    """End a pause before its time (staff lift it, a dispute is resolved, a plan ends)."""
    async with db.transaction():
        return await _end(pause_id, reason, actor, now or utcnow()) is not None


async def on_payment(invoice_ids: list[int], actor: Actor, now: dt.datetime | None = None) -> None:
    """Called by billing.service in the payment's transaction. An invoice paid in full stops at
    once: its pending actions and unsent emails are cancelled, its open ladder tasks closed, its
    pauses ended. A partly paid one goes on with the ladder on the remainder. Sanctions are lifted
    once the client has no overdue debt left."""
    from portal.dunning.sanctions import lift_if_clear

    now = now or utcnow()
    rows = await Invoice.select(Invoice.id, Invoice.client, Invoice.status).where(Invoice.id.is_in(invoice_ids or [0]))
    settled = [r["id"] for r in rows if r["status"] != "issued"]
    if settled:
        await DunningAction.update(
            {DunningAction.status: "cancelled", DunningAction.outcome: "paid before it was carried out", DunningAction.done_at: now}
        ).where(DunningAction.invoice.is_in(settled) & (DunningAction.status == "pending"))
        await EmailMessage.update({EmailMessage.status: "cancelled", EmailMessage.last_error: "the invoice was paid"}).where(
            EmailMessage.invoice_id.is_in(settled) & EmailMessage.status.is_in(["queued"])
        )
        await Task.update({Task.done_at: now, Task.outcome: "Paid: closed by the system."}).where(
            Task.invoice.is_in(settled) & Task.done_at.is_null() & (Task.kind != "callback")
        )
        for pause_row in await Pause.select(Pause.id).where(Pause.invoice.is_in(settled) & Pause.ended_at.is_null()):
            await _end(pause_row["id"], "paid", actor, now)
        await untrack(settled)
    await mark_stale([r["id"] for r in rows if r["status"] == "issued"])
    for client_id in sorted({r["client"] for r in rows}):
        await lift_if_clear(client_id, actor, now)
