"""Issuing invoices and recording payments. `record_payment` is the ONE way money is counted:
it updates invoice balances, then lets the orders' production gate look again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing import rules
from portal.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentAllocation
from portal.clock import utcnow
from portal.messages import N_

DEFAULT_SERIES = "INV"
PAYMENT_METHODS = ("bank_transfer", "cash", "card")


class BillingError(Exception):
    """A request the service refuses; the message is shown to the user."""


async def next_number(series: str, year: int) -> int:
    """The next gapless number of a series and year. Call inside the issuing transaction:
    the counter row stays locked until it commits, so concurrent issuers queue."""
    key = f"{series}-{year}"
    if not await InvoiceCounter.exists().where(InvoiceCounter.key == key):
        await InvoiceCounter.raw(
            "INSERT INTO invoice_counters (series, year, last_number, key) VALUES ({}, {}, 0, {}) ON CONFLICT (key) DO NOTHING",
            series, year, key,
        )
    rows = await InvoiceCounter.raw(
        "UPDATE invoice_counters SET last_number = last_number + 1 WHERE key = {} RETURNING last_number", key
    )
    return rows[0]["last_number"]


async def issue_invoice(
    *, client_id: int, currency: str, lines: list[rules.Line], issue_date: dt.date, terms_days: int,
    order_id: int | None, actor: Actor, series: str = DEFAULT_SERIES,
) -> dict:
    """Number and store an invoice with its lines. Joins the caller's transaction if one is open."""
    if not lines:
        raise BillingError(N_("An invoice needs at least one line."))
    totals = rules.totals(lines)
    async with db.transaction():
        number = await next_number(series, issue_date.year)
        invoice = Invoice(
            series=series, year=issue_date.year, number=number, code=rules.invoice_code(series, issue_date.year, number),
            client=client_id, order=order_id, currency=currency, issue_date=issue_date,
            due_date=rules.due_date(issue_date, terms_days), status="issued",
            net_minor=totals.net_minor, vat_minor=totals.vat_minor, total_minor=totals.total_minor, paid_minor=0,
            created_by=actor.user_id, created_at=utcnow(),
        )
        await invoice.save()
        await InvoiceLine.insert(*[
            InvoiceLine(
                invoice=invoice.id, position=i, description=line.description, quantity=line.quantity,
                unit_price_minor=line.unit_price_minor, vat_rate_bp=line.vat_rate_bp,
                net_minor=line.net_minor, vat_minor=line.vat_minor, total_minor=line.total_minor,
            )
            for i, line in enumerate(lines, start=1)
        ])
        await audit.record(
            actor, "invoice_issued", "invoice", invoice.id, client_id=client_id,
            after={"code": invoice.code, "total_minor": totals.total_minor, "currency": currency, "due_date": invoice.due_date.isoformat()},
        )
    return invoice.to_dict()


@dataclass(frozen=True)
class RecordedPayment:
    payment_id: int
    invoice_ids: list[int]


async def record_payment(
    *, client_id: int, currency: str, allocations: list[tuple[int, int]], method: str, received_on: dt.date,
    reference: str, actor: Actor, external_id: str | None = None,
) -> RecordedPayment:
    """Money received from a client, split over its invoices [(invoice_id, amount_minor)].

    One transaction: the payment, its allocations, each invoice's paid amount and status, the
    audit events, and the production gate of the orders those invoices belong to.
    """
    from portal.orders.service import refresh_gates_for_invoices  # the gate listens to payments

    if method not in PAYMENT_METHODS:
        raise BillingError(N_("Choose how the money came: bank transfer, cash or card."))
    if not allocations or any(amount <= 0 for _, amount in allocations):
        raise BillingError(N_("Each amount must be more than zero."))
    async with db.transaction():
        invoice_ids = [invoice_id for invoice_id, _ in allocations]
        query = Invoice.select(
            Invoice.id, Invoice.client, Invoice.currency, Invoice.total_minor, Invoice.paid_minor, Invoice.status, Invoice.code
        ).where(Invoice.id.is_in(invoice_ids))
        if db.is_postgres():  # concurrent payments of one invoice queue here (SQLite holds the write lock already)
            query = query.lock_rows()
        invoices = {row["id"]: row for row in await query}
        for invoice_id, amount in allocations:
            invoice = invoices.get(invoice_id)
            if invoice is None or invoice["client"] != client_id:
                raise BillingError(N_("That invoice does not belong to this client."))
            if invoice["currency"] != currency:
                raise BillingError(N_("The payment's currency differs from the invoice's."))
            if invoice["status"] == "cancelled":
                raise BillingError(N_("A cancelled invoice cannot be paid."))
            if amount > invoice["total_minor"] - invoice["paid_minor"]:
                raise BillingError(N_("The amount is more than the invoice's balance."))
        total = sum(amount for _, amount in allocations)
        payment = Payment(
            client=client_id, currency=currency, amount_minor=total, method=method, received_on=received_on,
            reference=reference[:120], external_id=external_id, recorded_by=actor.user_id, created_at=utcnow(),
        )
        await payment.save()
        for invoice_id, amount in allocations:
            invoice = invoices[invoice_id]
            paid = invoice["paid_minor"] + amount
            status = rules.status_after_payment(invoice["total_minor"], paid, invoice["status"])
            await PaymentAllocation.insert(PaymentAllocation(payment=payment.id, invoice=invoice_id, amount_minor=amount))
            await Invoice.update({Invoice.paid_minor: paid, Invoice.status: status}).where(Invoice.id == invoice_id)
            await audit.record(
                actor, "payment_recorded", "invoice", invoice_id, client_id=client_id,
                before={"paid_minor": invoice["paid_minor"], "status": invoice["status"]},
                after={"paid_minor": paid, "status": status, "method": method, "reference": reference},
            )
        await refresh_gates_for_invoices(invoice_ids, actor)
    return RecordedPayment(payment_id=payment.id, invoice_ids=invoice_ids)


async def get_invoice(invoice_id: int) -> dict | None:
    return await Invoice.select().where(Invoice.id == invoice_id).first()


async def lines_of(invoice_id: int) -> list[dict]:
    return await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)
