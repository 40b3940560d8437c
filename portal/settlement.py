"""Money moving, and what it means, in one place above the areas.

Every payment, credit, reversal and cancellation comes here (the Stripe webhook, the staff payment
forms, a dispute resolved with a credit note, bank matching): billing books the facts with the
invoices locked once, then, in the same transaction and in this order,
1. the ladder hears of it (dunning.escalation: a settled invoice stops, the rest is decided again),
2. the repayment plans count their installments (negotiation.plans),
3. a client without overdue debt left gets its terms back (dunning.sanctions),
4. the production gate of every order touched looks again, once (orders.service),
5. the client is told (billing.news).

An explicit use case rather than an event bus the areas subscribe to: the order of these steps
matters (a lifted credit hold must be known before the gate looks), and one reader sees all of
them here. The areas below never import this module, so no import cycle can come back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit.service import Actor
from portal.billing import news, service as billing
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.service import BillingError, RecordedPayment
from portal.clock import utcnow
from portal.dunning.escalation import service as escalation
from portal.dunning.sanctions import service as sanctions
from portal.negotiation.schedules import plans
from portal.orders import service as orders

CREDIT_SUFFIX = ":credit"  # the external id of the credit that comes with a payment: "<payment's id>:credit"

__all__ = ["BillingError", "Received", "RecordedPayment", "cancel_invoice", "receive", "record_credit", "record_payment", "reverse_payment"]


@dataclass(frozen=True)
class Received:
    """What a sum of money became: allocated to invoices (a payment) and the rest kept as credit."""

    allocated_minor: int
    credit_minor: int
    payment: RecordedPayment | None
    credit_payment_id: int | None


async def record_payment(*, client_id: int, currency: str, allocations: list[tuple[int, int]], method: str,
                         received_on: dt.date, reference: str, actor: Actor, external_id: str | None = None) -> RecordedPayment:
    """A payment split by the person who recorded it [(invoice id, amount)]. Raises BillingError."""
    async with db.transaction():
        invoices = await billing.lock_invoices([invoice_id for invoice_id, _ in allocations])
        before = await escalation.states_before_money(list(invoices))
        recorded = await billing.book_payment(invoices, client_id=client_id, currency=currency, allocations=allocations,
                                              method=method, received_on=received_on, reference=reference, actor=actor,
                                              external_id=external_id)
        await news.payment_received(client_id, recorded.payment_id, sum(a for _, a in allocations), currency,
                                    [invoices[i]["code"] for i in recorded.invoice_ids])
        await _money_moved(list(recorded.invoices.values()), before, actor, event="payment")
    return recorded


async def receive(*, client_id: int, currency: str, amount_minor: int, invoice_ids: list[int], method: str,
                  received_on: dt.date, reference: str, actor: Actor, external_id: str | None = None,
                  credit_reference_id: int | None = None) -> Received:
    """A sum received for these invoices (a card payment, a bank transfer): each gets up to its
    balance in the order given, the rest is the client's credit (never dropped, never counted
    against an invoice). An invoice cancelled, settled or in another currency takes nothing."""
    async with db.transaction():
        invoices = await billing.lock_invoices(invoice_ids)
        allocations, left = [], amount_minor
        for invoice_id in invoice_ids:
            invoice = invoices.get(invoice_id)
            if left <= 0 or invoice is None or invoice["client"] != client_id:
                continue
            payable = (invoice["kind"] == InvoiceKind.INVOICE and invoice["status"] == InvoiceStatus.ISSUED
                       and invoice["currency"] == currency)
            share = min(left, invoice["total_minor"] - invoice["paid_minor"]) if payable else 0
            if share > 0:
                allocations.append((invoice_id, share))
                left -= share
        recorded = None
        if allocations:
            before = await escalation.states_before_money([i for i, _ in allocations])
            recorded = await billing.book_payment(invoices, client_id=client_id, currency=currency, allocations=allocations,
                                                  method=method, received_on=received_on, reference=reference, actor=actor,
                                                  external_id=external_id)
            await news.payment_received(client_id, recorded.payment_id, amount_minor - left, currency,
                                        [invoices[i]["code"] for i in recorded.invoice_ids])
            await _money_moved(list(recorded.invoices.values()), before, actor, event="payment")
        credit_id = None
        if left > 0:
            credit_id = await billing.book_credit(
                client_id, credit_reference_id if credit_reference_id is not None else (invoice_ids[0] if invoice_ids else None),
                actor=actor, amount=left, currency=currency, day=received_on, reference=reference,
                external_id=(f"{external_id}{CREDIT_SUFFIX}" if allocations and external_id else external_id), method=method)
    return Received(amount_minor - left, left, recorded, credit_id)


async def record_credit(client_id: int, invoice_id: int | None, *, actor: Actor, amount: int, currency: str, day: dt.date,
                        reference: str, external_id: str | None, method: str = "card") -> int:
    """Money kept as the client's credit (no invoice changes, so nothing else to hear of it)."""
    return await billing.book_credit(client_id, invoice_id, actor=actor, amount=amount, currency=currency, day=day,
                                     reference=reference, external_id=external_id, method=method)


async def reverse_payment(payment_id: int, reason: str, actor: Actor, *, card_allowed: bool = False) -> int:
    """A wrong or refunded payment undone by a counter-entry: its invoices are open again and the
    ladder looks at them again (orders that entered production stay there). Returns the counter's id."""
    async with db.transaction():
        reversal = await billing.book_reversal(payment_id, reason, actor, card_allowed=card_allowed)
        await escalation.reopened(reversal.invoice_ids)
    return reversal.counter_id


async def cancel_invoice(invoice_id: int, reason: str, actor: Actor, *, dispute: tuple[str, int] | None = None) -> dict:
    """Cancel an unpaid invoice with a credit note: the ladder lets go of it (a dispute it answers,
    `dispute` = (event, dispute id), is resolved) and the client's terms come back when no overdue
    debt is left. Returns the credit note."""
    async with db.transaction():
        invoice = (await billing.lock_invoices([invoice_id])).get(invoice_id)
        before = await escalation.states_before_money([invoice_id])
        credit_note = await billing.book_cancellation(invoice, reason, actor)
        await _money_moved([invoice], before, actor, event=dispute[0] if dispute else "invoice_cancelled",
                           source=("dispute", dispute[1]) if dispute else None, reason=reason)
    return credit_note


async def _money_moved(invoices: list[dict], before: dict[int, str], actor: Actor, *, event: str,
                       source: tuple[str, int] | None = None, reason: str = "") -> None:
    """The consequences, in their order (see the module's docstring)."""
    ids = [invoice["id"] for invoice in invoices]
    now = utcnow()
    await escalation.money_moved(ids, before, actor, event=event, now=now, source=source, reason=reason)
    await plans.after_payment(ids, actor, now)
    held_orders: list[int] = []
    for client_id in sorted({invoice["client"] for invoice in invoices}):
        lifted = await sanctions.lift_if_clear(client_id, actor, now)
        if lifted.hold_lifted:
            held_orders += await orders.orders_waiting_for_money(client_id)
    await orders.refresh_gates(sorted({invoice["order"] for invoice in invoices if invoice.get("order")} | set(held_orders)), actor)
