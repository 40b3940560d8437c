"""What credit controllers do to the ladder by hand: pause, skip a step, reassign, approve or
refuse a privileged client's legal step. One transaction per use case, audited; every fact goes
through dunning.escalation or leaves the invoice's state stale so the next tick decides again."""

from __future__ import annotations

import datetime as dt

from piccolo.query.mixins import OnConflictAction

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.roles import Kind
from portal.auth.tables import User
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clock import local_date, utcnow
from portal.dunning.engine import rules
from portal.dunning.engine.tables import ActionStatus, DunningAction
from portal.dunning.escalation import rules as transitions, service as escalation
from portal.dunning.escalation.state import for_invoice
from portal.messages import N_
from portal.tasks import service as task_service
from portal.tasks.tables import Task

MAX_REASON = 500
MAX_BULK = 200


class DunningError(Exception):
    """Refused; the message is shown to the user."""


def _reason(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise DunningError(N_("Say why: the reason is kept with the invoice's history."))
    if len(text) > MAX_REASON:
        raise DunningError(N_("Keep the reason under 500 characters."))
    return text


def _ids(invoice_ids: list[int]) -> list[int]:
    ids = sorted({i for i in invoice_ids if 0 < i <= 2_147_483_647})
    if not ids:
        raise DunningError(N_("Tick at least one invoice."))
    if len(ids) > MAX_BULK:
        raise DunningError(N_("At most 200 invoices at once."))
    return ids


async def _open_invoices(ids: list[int]) -> list[dict]:
    return await Invoice.select(Invoice.id, Invoice.client, Invoice.code).where(
        Invoice.id.is_in(ids) & (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.kind == InvoiceKind.INVOICE)
    )


async def pause_many(invoice_ids: list[int], reason: str, until: dt.date | None, actor: Actor, *, tz: str,
                     now: dt.datetime | None = None) -> int:
    """Hold the ladder for these invoices (until the morning after `until`, or until lifted)."""
    ids, reason, now = _ids(invoice_ids), _reason(reason), now or utcnow()  # nothing ticked is said first
    if until is not None and until < local_date(now, tz):
        raise DunningError(N_("The pause must end today or later."))
    end = rules.local_at(until + dt.timedelta(days=1), dt.time(0, 0), tz) if until else None
    async with db.transaction():
        states = await escalation.states_of([i["id"] for i in await _open_invoices(ids)])
        # a disputed, promised or negotiated invoice keeps the pause it has
        chosen = tuple(i for i, state in states.items() if transitions.allowed(state, "staff_pause"))
        if chosen:
            await escalation.feed(escalation.Event("staff_pause", chosen, actor, reason=reason, until=end, now=now))
    return len(chosen)


async def skip_next_many(invoice_ids: list[int], reason: str, actor: Actor, *, tz: str, now: dt.datetime | None = None) -> int:
    """Pass over each invoice's next step, recorded as skipped with the reason (never silently)."""
    ids, reason, now = _ids(invoice_ids), _reason(reason), now or utcnow()  # nothing ticked is said first
    skipped = 0
    async with db.transaction():
        for invoice in await _open_invoices(ids):
            state = await for_invoice(invoice["id"], now, tz)
            step = state["due_now"][0].step if state and state["due_now"] else (state or {}).get("next_step")
            if step is None:
                continue
            rows = await DunningAction.insert(DunningAction(
                invoice=invoice["id"], step=step.id, client=invoice["client"], position=step.position, channel=step.channel,
                scheduled_at=now, taken_at=now, status=ActionStatus.SKIPPED, attempts=0, next_attempt_at=now, reason=reason,
                created_by=actor.user_id, done_at=now, outcome="skipped by staff",
            )).on_conflict(target=(DunningAction.invoice, DunningAction.step), action=OnConflictAction.do_nothing).returning(DunningAction.id)
            if rows:
                skipped += 1
                await audit.record(actor, "dunning_step_skipped", "invoice", invoice["id"], client_id=invoice["client"],
                                   after={"step": step.name, "reason": reason})
                await escalation.mark_stale([invoice["id"]])
    return skipped


async def reassign_many(invoice_ids: list[int], user_id: int, actor: Actor) -> int:
    """Hand the open ladder tasks of these invoices to another staff member."""
    ids = _ids(invoice_ids)
    async with db.transaction():
        person = await User.select(User.id, User.name).where(
            (User.id == user_id) & (User.kind == Kind.STAFF.value) & (User.is_active == True)  # noqa: E712
        ).first()
        if person is None:
            raise DunningError(N_("Choose an active staff member."))
        tasks = await Task.select(Task.id, Task.invoice, Task.client, Task.assignee).where(
            Task.invoice.is_in(ids) & Task.done_at.is_null() & Task.dunning_action.is_not_null()
        )
        moved = [t for t in tasks if t["assignee"] != user_id]
        await task_service.reassign([t["id"] for t in moved], user_id)
        for task in moved:
            await audit.record(actor, "dunning_task_reassigned", "invoice", task["invoice"], client_id=task["client"],
                               before={"assignee": task["assignee"]}, after={"assignee": person["name"]})
    return len(moved)


async def decide_approval(action_id: int, approve: bool, reason: str, actor: Actor, now: dt.datetime | None = None) -> dict:
    """An admin approves (the step is carried out by the next tick) or refuses (the ladder stops there)."""
    now = now or utcnow()
    reason = " ".join((reason or "").split())[:MAX_REASON]
    async with db.transaction():
        action = await DunningAction.select().where(DunningAction.id == action_id).first()
        if action is None:
            raise LookupError(action_id)
        if not approve and not reason:
            raise DunningError(N_("Say why the hand-over is refused."))
        if action["status"] != ActionStatus.AWAITING_APPROVAL:
            raise DunningError(N_("This step was already decided."))
        if approve:
            await DunningAction.update({DunningAction.status: ActionStatus.PENDING, DunningAction.next_attempt_at: now,
                                        DunningAction.reason: reason or "approved"}).where(DunningAction.id == action_id)
        else:
            await DunningAction.update({DunningAction.status: ActionStatus.REFUSED, DunningAction.reason: reason,
                                        DunningAction.done_at: now}).where(DunningAction.id == action_id)
        # the approval task lets go of the action, so the lawyer's own task can name it
        await task_service.close_for_action(action_id, N_("Approved") if approve else f"Refused: {reason}", now,
                                            kind="approval", let_go=True)
        await audit.record(actor, "dunning_step_approved" if approve else "dunning_step_refused", "invoice", action["invoice"],
                           client_id=action["client"], after={"reason": reason})
        await escalation.mark_stale([action["invoice"]])
    return action


async def lift(pause_id: int, actor: Actor) -> bool:
    return await escalation.lift_pause(pause_id, actor)
