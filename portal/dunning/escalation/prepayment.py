"""An invoice whose order waits for its prepayment is not a debt: nobody nags blindly, the order
simply is not produced until the money arrives (DOMAIN.md section 1). Such an invoice follows the
prepayment ladder (purpose "prepayment": gentle reminders and calls, never a sanction, a letter or
court) instead of its client's debt ladder, a callback agreed with the client holds that ladder
until the callback's time, and it never counts as overdue debt (no sanction keeps or starts for it).

Which ladder an invoice follows is one SQL expression, read by the tick's planner and by the
invoice page alike.
"""

from __future__ import annotations

import datetime as dt

from portal import db
from portal.audit.service import Actor
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.dunning.escalation import rules as transitions, service as escalation
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.messages import N_
from portal.orders.tables import PREPAYMENT_STAGES
from portal.tasks import service as tasks

STAGES = tuple(stage.value for stage in PREPAYMENT_STAGES)
_STAGE_LIST = ", ".join(f"'{stage}'" for stage in STAGES)  # our own constants, never user input

# The joins an invoice `i` needs for LADDER_OF_INVOICE (c: its client).
LADDER_JOINS = """
LEFT JOIN orders o ON o.id = i."order"
LEFT JOIN dunning_client_ladders cl ON cl.client = i.client
LEFT JOIN dunning_segment_ladders sl ON sl.segment = c.segment
"""
LADDER_OF_INVOICE = (
    f"CASE WHEN o.stage IN ({_STAGE_LIST}) "
    "THEN (SELECT p.id FROM dunning_ladders p WHERE p.purpose = 'prepayment' ORDER BY p.id LIMIT 1) "
    "ELSE COALESCE(cl.ladder, sl.ladder) END"
)
IS_PREPAYMENT = f"(o.stage IN ({_STAGE_LIST}))"


async def ladder_ids_for_invoices(invoice_ids: list[int]) -> dict[int, int | None]:
    """The ladder each invoice follows (None: no ladder applies); one query."""
    ids = sorted({int(i) for i in invoice_ids})
    if not ids:
        return {}
    rows = await Invoice.raw(
        f"SELECT i.id, {LADDER_OF_INVOICE} AS ladder FROM invoices i JOIN clients c ON c.id = i.client {LADDER_JOINS}"
        " WHERE i.id IN (" + ", ".join("{}" for _ in ids) + ")", *ids)
    found = {row["id"]: row["ladder"] for row in rows}
    return {invoice_id: found.get(invoice_id) for invoice_id in ids}


async def prepayment_invoice_ids(invoice_ids: list[int]) -> set[int]:
    """Those of these invoices that are the prepayment of an order still waiting."""
    if not invoice_ids:
        return set()
    rows = await Invoice.select(Invoice.id).where(Invoice.id.is_in(list(invoice_ids)) & Invoice.order.stage.is_in(list(STAGES)))
    return {row["id"] for row in rows}


async def open_prepayments(*, order_id: int | None = None, client_id: int | None = None) -> list[int]:
    """The open prepayment invoices of one order, or of every waiting order of a client."""
    query = Invoice.select(Invoice.id).where(
        (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED) & Invoice.order.stage.is_in(list(STAGES))
    )
    if order_id is not None:
        query = query.where(Invoice.order == order_id)
    elif client_id is not None:
        query = query.where(Invoice.client == client_id)
    else:
        return []
    return [row["id"] for row in await query]


# --- a callback holds the prepayment reminders ----------------------------------------------------

async def schedule_callback(form: dict[str, str], actor: Actor, *, tz: str, now: dt.datetime | None = None,
                            assignee_id: int | None = None):
    """"Call me in two weeks": the callback (tasks.service) and, about a waiting order, the hold of its
    prepayment reminders until then, in one transaction. Returns (task id or None, Checked)."""
    async with db.transaction():
        task_id, checked = await tasks.create_callback(form, actor, tz=tz, now=now, assignee_id=assignee_id)
        if task_id is not None:
            task = await tasks.get_task(task_id, tz=tz)
            await hold_for_callback(task_id, task["due_at"], actor, order_id=task["order"], client_id=task["client"])
    return task_id, checked


async def move_callback(task_id: int, form: dict[str, str], actor: Actor, *, tz: str, now: dt.datetime | None = None,
                        is_admin: bool = False):
    """Another day for the callback: the hold moves with it. Raises tasks.TaskNotFound."""
    async with db.transaction():
        checked = await tasks.move(task_id, form, actor, tz=tz, now=now, is_admin=is_admin)
        if checked.ok:
            task = await tasks.get_task(task_id, tz=tz)
            if task["kind"] == tasks.CALLBACK:
                await hold_for_callback(task_id, task["due_at"], actor, order_id=task["order"], client_id=task["client"])
    return checked


async def complete_callback(task_id: int, outcome: str, actor: Actor, *, is_admin: bool = False):
    """The callback was made: what it held goes on. Raises tasks.TaskNotFound."""
    async with db.transaction():
        checked = await tasks.complete(task_id, outcome, actor, is_admin=is_admin)
        if checked.ok:
            await release_callback(task_id, actor)
    return checked


async def hold_for_callback(task_id: int, due_at: dt.datetime, actor: Actor, *, order_id: int | None, client_id: int) -> list[int]:
    """A callback agreed about an order (or a client) holds the reminders of its waiting prepayments
    until the callback's time; a moved callback moves the hold. Joins the caller's transaction.
    Returns the invoices held (those whose state allows it: a disputed one stays disputed)."""
    ids = await open_prepayments(order_id=order_id, client_id=None if order_id else client_id)
    states = await escalation.states_of(ids)
    held = [i for i in ids if transitions.allowed(states.get(i, transitions.EscalationState.SETTLED), "callback_agreed")]
    if held:
        await escalation.feed(escalation.Event("callback_agreed", tuple(held), actor, until=due_at,
                                               reason=N_("callback agreed with the client"), source_type="task", source_id=task_id))
    return held


async def release_callback(task_id: int, actor: Actor) -> list[int]:
    """The callback was made: the reminders it held go on. Joins the caller's transaction."""
    rows = await Pause.select(Pause.invoice).where(
        (Pause.kind == PauseKind.CALLBACK) & (Pause.source_type == "task") & (Pause.source_id == task_id) & Pause.ended_at.is_null()
    )
    ids = sorted({row["invoice"] for row in rows})
    if ids:
        await escalation.feed(escalation.Event("callback_done", tuple(ids), actor, source_type="task", source_id=task_id))
    return ids
