"""Issuing invoices, and booking money: payments, credits, reversals and cancellations as facts
(the rows, the balances, the audit). What money moving means for the rest of the portal (the
ladder, the repayment plans, the sanctions, the production gate) is portal.settlement's, which
every payment, reversal, credit and cancellation goes through; it calls these to book."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count, Sum
from piccolo.querystring import QueryString

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing import news, rules
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentAllocation
from portal.clock import firm_today, utcnow
from portal.dunning.escalation import service as escalation
from portal.messages import N_
from portal.web.pagination import Page, decode_cursor, encode_cursor
from portal.web.sorting import keyset

DEFAULT_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
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
    stored_lines = [
        {"position": i, "description": line.description, "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "vat_rate_bp": line.vat_rate_bp, "net_minor": line.net_minor, "vat_minor": line.vat_minor, "total_minor": line.total_minor,
         "unit_cost_minor": line.unit_cost_minor}
        for i, line in enumerate(lines, start=1)
    ]
    async with db.transaction():
        invoice = await _store(
            series=series, kind=InvoiceKind.INVOICE, client_id=client_id, order_id=order_id, currency=currency, issue_date=issue_date,
            due_date=rules.due_date(issue_date, terms_days), totals=totals, lines=stored_lines, actor=actor,
        )
        await audit.record(
            actor, "invoice_issued", "invoice", invoice.id, client_id=client_id,
            after={"code": invoice.code, "total_minor": totals.total_minor, "currency": currency, "due_date": invoice.due_date.isoformat()},
        )
        issued = invoice.to_dict()
        await news.invoice_issued(issued)
    return issued


async def _store(
    *, series: str, kind: str, client_id: int, order_id: int | None, currency: str, issue_date: dt.date, due_date: dt.date,
    totals: rules.Totals, lines: list[dict], actor: Actor, credits_invoice: int | None = None, notes: str = "",
) -> Invoice:
    """Number an invoice or credit note in its series and year and store it with its lines (inside a transaction).
    A credit note is never a receivable: it is settled the day it is issued."""
    number = await next_number(series, issue_date.year)
    invoice = Invoice(
        series=series, year=issue_date.year, number=number, code=rules.invoice_code(series, issue_date.year, number),
        client=client_id, order=order_id, kind=kind, credits_invoice=credits_invoice, currency=currency,
        issue_date=issue_date, due_date=due_date, status=InvoiceStatus.ISSUED, net_minor=totals.net_minor, vat_minor=totals.vat_minor,
        total_minor=totals.total_minor, paid_minor=0, notes=notes, created_by=actor.user_id, created_at=utcnow(),
        settled_on=issue_date if kind == InvoiceKind.CREDIT_NOTE else None,
    )
    await invoice.save()
    await InvoiceLine.insert(*[InvoiceLine(invoice=invoice.id, **line) for line in lines])
    if kind == InvoiceKind.INVOICE:
        await escalation.track([invoice.id])  # the ladder follows it from the day it is issued
    return invoice


@dataclass(frozen=True)
class RecordedPayment:
    payment_id: int
    invoice_ids: list[int]
    invoices: dict[int, dict]  # each invoice after the payment: id, client, code, order, currency, totals, status


_LOCKED = (Invoice.id, Invoice.client, Invoice.currency, Invoice.net_minor, Invoice.vat_minor, Invoice.total_minor,
           Invoice.paid_minor, Invoice.status, Invoice.code, Invoice.kind, Invoice.order, Invoice.due_date)


async def lock_invoices(invoice_ids: list[int]) -> dict[int, dict]:
    """The invoices, locked for this transaction in id order on PostgreSQL (SQLite holds the write
    lock already): concurrent payments of one invoice queue here. Call inside a transaction."""
    query = Invoice.select(*_LOCKED).where(Invoice.id.is_in(sorted(set(invoice_ids)) or [0])).order_by(Invoice.id)
    return {row["id"]: row for row in await db.locked(query)}


async def book_payment(
    invoices: dict[int, dict], *, client_id: int, currency: str, allocations: list[tuple[int, int]], method: str,
    received_on: dt.date, reference: str, actor: Actor, external_id: str | None = None,
) -> RecordedPayment:
    """Money received from a client, split over its invoices [(invoice_id, amount_minor)]: the payment,
    its allocations, each invoice's paid amount and status, the audit. `invoices`: lock_invoices() of
    them, in the caller's transaction (portal.settlement.record_payment)."""
    if method not in PAYMENT_METHODS:
        raise BillingError(N_("Choose how the money came: bank transfer, cash or card."))
    if not allocations or any(amount <= 0 for _, amount in allocations):
        raise BillingError(N_("Each amount must be more than zero."))
    if len({invoice_id for invoice_id, _ in allocations}) != len(allocations):
        raise BillingError(N_("Name each invoice once in a payment."))
    for invoice_id, amount in allocations:
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice["client"] != client_id:
            raise BillingError(N_("That invoice does not belong to this client."))
        if invoice["currency"] != currency:
            raise BillingError(N_("The payment's currency differs from the invoice's."))
        if invoice["status"] == InvoiceStatus.CANCELLED:
            raise BillingError(N_("A cancelled invoice cannot be paid."))
        if amount > invoice["total_minor"] - invoice["paid_minor"]:
            raise BillingError(N_("The amount is more than the invoice's balance."))
    total = sum(amount for _, amount in allocations)
    payment = Payment(
        client=client_id, currency=currency, amount_minor=total, method=method, received_on=received_on,
        reference=reference[:120], external_id=external_id, recorded_by=actor.user_id, created_at=utcnow(),
    )
    await payment.save()
    after = {}
    for invoice_id, amount in allocations:
        invoice = invoices[invoice_id]
        paid = invoice["paid_minor"] + amount
        status = rules.status_after_payment(invoice["total_minor"], paid, invoice["status"])
        await PaymentAllocation.insert(PaymentAllocation(payment=payment.id, invoice=invoice_id, amount_minor=amount))
        values: dict = {Invoice.paid_minor: paid, Invoice.status: status}
        if status == InvoiceStatus.PAID:  # paid in full now: settled on the day of its latest payment, read in this same statement
            values[Invoice.settled_on] = _latest_received_on(invoice_id)
        await Invoice.update(values).where(Invoice.id == invoice_id)
        await audit.record(
            actor, "payment_recorded", "invoice", invoice_id, client_id=client_id,
            before={"paid_minor": invoice["paid_minor"], "status": invoice["status"]},
            after={"paid_minor": paid, "status": status, "method": method, "reference": reference},
        )
        after[invoice_id] = {**invoice, "paid_minor": paid, "status": status}
    return RecordedPayment(payment_id=payment.id, invoice_ids=[i for i, _ in allocations], invoices=after)


def _latest_received_on(invoice_id: int) -> QueryString:
    """The latest day money was received for an invoice, over all its allocations (this payment's
    included, reversals too): a backdated payment can complete an invoice whose earlier partial
    payment is dated later. A subquery of the invoice's UPDATE, so settling costs no statement."""
    return QueryString(
        "(SELECT MAX(p.received_on) FROM payment_allocations a JOIN payments p ON p.id = a.payment WHERE a.invoice = {})",
        invoice_id,
    )


async def book_cancellation(invoice: dict | None, reason: str, actor: Actor) -> dict:
    """Cancel an unpaid invoice by issuing a credit note that mirrors it (series CN). Never a delete.
    `invoice`: its lock_invoices() row, in the caller's transaction (portal.settlement.cancel_invoice):
    a payment being recorded for it waits, then sees it cancelled. Raises LookupError for a missing
    invoice, BillingError when refused."""
    reason = reason.strip()
    if not reason:
        raise BillingError(N_("Say why the invoice is cancelled."))
    async with db.transaction():
        if invoice is None:
            raise LookupError("invoice")
        invoice_id = invoice["id"]
        refusal = rules.cancel_refusal(invoice["kind"], invoice["status"], invoice["paid_minor"])
        if refusal:
            raise BillingError(refusal)
        today = firm_today()
        mirrored = rules.Totals(-invoice["net_minor"], -invoice["vat_minor"], -invoice["total_minor"])
        credit_note = await _store(
            series=CREDIT_NOTE_SERIES, kind=InvoiceKind.CREDIT_NOTE, client_id=invoice["client"], order_id=invoice["order"],
            currency=invoice["currency"], issue_date=today, due_date=today, totals=mirrored,
            lines=rules.credit_note_lines(await lines_of(invoice_id)), actor=actor, credits_invoice=invoice_id, notes=reason,
        )
        await Invoice.update({Invoice.status: InvoiceStatus.CANCELLED, Invoice.cancelled_at: utcnow(), Invoice.settled_on: today}).where(
            Invoice.id == invoice_id)
        await audit.record(
            actor, "invoice_cancelled", "invoice", invoice_id, client_id=invoice["client"],
            before={"status": invoice["status"]}, after={"status": InvoiceStatus.CANCELLED, "credit_note": credit_note.code, "reason": reason},
        )
        await audit.record(
            actor, "credit_note_issued", "invoice", credit_note.id, client_id=invoice["client"],
            after={"code": credit_note.code, "credits": invoice["code"], "total_minor": mirrored.total_minor, "reason": reason},
        )
        invoice["status"] = InvoiceStatus.CANCELLED  # the caller's row says what it is now
    return credit_note.to_dict()


@dataclass(frozen=True)
class Reversal:
    counter_id: int
    client_id: int
    invoice_ids: list[int]


async def book_reversal(payment_id: int, reason: str, actor: Actor, *, card_allowed: bool = False) -> Reversal:
    """Undo a wrong payment with a counter-entry: a negative payment that `reverses` it, with negative
    allocations, each invoice's paid amount and status restored. The original is never edited; a payment
    is reversed once. In the caller's transaction (portal.settlement.reverse_payment).
    Raises LookupError for a missing payment, BillingError when refused."""
    reason = reason.strip()
    if not reason:
        raise BillingError(N_("Say why the payment is reversed."))
    async with db.transaction():
        # Lock order as everywhere else: the invoices first, then the payment (a payment's allocations never change).
        allocations = await PaymentAllocation.select().where(PaymentAllocation.payment == payment_id).order_by(PaymentAllocation.invoice)
        invoices = await lock_invoices([a["invoice"] for a in allocations])
        # two reversals of one payment queue here; the second sees the first
        payment = await db.locked(Payment.select().where(Payment.id == payment_id)).first()
        if payment is None:
            raise LookupError(payment_id)
        already = await Payment.exists().where(Payment.reverses == payment_id)
        refusal = rules.reversal_refusal(payment["amount_minor"], payment["reverses"], already, payment["method"], card_allowed=card_allowed)
        if refusal:
            raise BillingError(refusal)
        counter = Payment(
            client=payment["client"], currency=payment["currency"], amount_minor=-payment["amount_minor"], method=payment["method"],
            received_on=firm_today(), reference=reason[:120], reverses=payment_id, recorded_by=actor.user_id, created_at=utcnow(),
        )
        await counter.save()
        for allocation in allocations:
            invoice = invoices[allocation["invoice"]]
            paid = invoice["paid_minor"] - allocation["amount_minor"]
            status = rules.status_after_payment(invoice["total_minor"], paid, invoice["status"])
            await PaymentAllocation.insert(PaymentAllocation(payment=counter.id, invoice=invoice["id"], amount_minor=-allocation["amount_minor"]))
            values: dict = {Invoice.paid_minor: paid, Invoice.status: status}
            if status == InvoiceStatus.ISSUED:  # a receivable again
                values[Invoice.settled_on] = None
            await Invoice.update(values).where(Invoice.id == invoice["id"])
            before, after = audit.changes({"paid_minor": invoice["paid_minor"], "status": invoice["status"]}, {"paid_minor": paid, "status": status})
            await audit.record(
                actor, "payment_reversed", "invoice", invoice["id"], client_id=payment["client"],
                before=before, after={**after, "reversed_minor": allocation["amount_minor"], "reason": reason},
            )
            invoice["paid_minor"] = paid
        if not allocations:  # money held as the client's credit: no invoice changes, the event names the payment
            await audit.record(
                actor, "payment_reversed", "payment", payment_id, client_id=payment["client"],
                after={"reversed_minor": payment["amount_minor"], "currency": payment["currency"], "reason": reason},
            )
    return Reversal(counter.id, payment["client"], [a["invoice"] for a in allocations])


# --- reading: the staff list and the invoice page ------------------------------------------------

PAGE_SIZE = 25


def _filtered(query, filters: rules.InvoiceFilters, today: dt.date):
    if filters.status == "open" or filters.bucket:
        query = query.where((Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED))
    elif filters.status == "paid":
        query = query.where((Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.PAID))
    elif filters.status == "cancelled":
        query = query.where((Invoice.status == InvoiceStatus.CANCELLED) | (Invoice.kind == InvoiceKind.CREDIT_NOTE))
    if filters.bucket:
        due_from, due_to = rules.due_range(filters.bucket, today)
        if due_from is not None:
            query = query.where(Invoice.due_date >= due_from)
        if due_to is not None:
            query = query.where(Invoice.due_date <= due_to)
    if filters.client_id:
        query = query.where(Invoice.client == filters.client_id)
    if filters.manager_id:
        query = query.where(Invoice.client.sales_manager == filters.manager_id)
    if filters.currency:
        query = query.where(Invoice.currency == filters.currency)
    if filters.q:
        query = query.where(Invoice.code.like(f"%{filters.q}%"))
    return query


def _with_balance(row: dict, today: dt.date) -> dict:
    row["balance_minor"] = rules.balance_of(row["kind"], row["status"], row["total_minor"], row["paid_minor"])
    is_open = row["kind"] == InvoiceKind.INVOICE and row["status"] == InvoiceStatus.ISSUED
    row["days_overdue"] = rules.days_overdue(row["due_date"], today) if is_open else 0
    return row


_SORT_COLUMNS = {"due": Invoice.due_date, "issued": Invoice.issue_date, "number": Invoice.code, "total": Invoice.total_minor}
_SORT_FIELDS = {"due": "due_date", "issued": "issue_date", "number": "code", "total": "total_minor"}


def _sort_value(key: str, raw: str):
    """A cursor's sort value back in its column's type (ValueError: not one)."""
    if key in ("due", "issued"):
        return dt.date.fromisoformat(raw)
    return int(raw) if key == "total" else raw


async def list_invoices(filters: rules.InvoiceFilters, today: dt.date, cursor: str | None = None) -> Page:
    """Invoices and credit notes in the chosen order (by due date unless told), PAGE_SIZE at a time,
    keyset-paged on (the sort column, id)."""
    sort = filters.sort
    query = _filtered(Invoice.select(
        Invoice.id, Invoice.code, Invoice.kind, Invoice.status, Invoice.client, Invoice.client.name, Invoice.issue_date,
        Invoice.due_date, Invoice.currency, Invoice.total_minor, Invoice.paid_minor,
    ), filters, today)
    key = decode_cursor(cursor, (str, int))
    try:
        after = (_sort_value(sort.key, key[0]), key[1]) if key else None
    except ValueError:
        after = None
    rows = await keyset(query, _SORT_COLUMNS[sort.key], Invoice.id, sort, after).limit(PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = [_with_balance(row, today) for row in rows[:PAGE_SIZE]]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor([_cursor_text(last[_SORT_FIELDS[sort.key]]), last["id"]]) if more and last else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=after is None)


def _cursor_text(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


async def invoice_totals(filters: rules.InvoiceFilters, today: dt.date) -> list[dict]:
    """Per currency, over the whole filtered set (every page): how many, their total, what is still owed."""
    totals = await _filtered(Invoice.select(
        Invoice.currency, Count(alias="count"), Sum(Invoice.total_minor, alias="total"),
    ), filters, today).group_by(Invoice.currency).order_by(Invoice.currency)
    owed = await _filtered(Invoice.select(
        Invoice.currency, Sum(Invoice.total_minor, alias="total"), Sum(Invoice.paid_minor, alias="paid"),
    ), filters, today).where((Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status != InvoiceStatus.CANCELLED)).group_by(Invoice.currency)
    balances = {r["currency"]: int(r["total"] or 0) - int(r["paid"] or 0) for r in owed}
    return [
        {"currency": r["currency"], "count": r["count"], "total_minor": int(r["total"] or 0), "balance_minor": balances.get(r["currency"], 0)}
        for r in totals
    ]


async def invoice_page(invoice_id: int, today: dt.date) -> dict | None:
    """An invoice (or credit note) with what its staff page shows, or None."""
    invoice = await Invoice.select(
        Invoice.all_columns(), Invoice.client.name, Invoice.client.sales_manager.name, Invoice.order.number,
        Invoice.credits_invoice.code, Invoice.created_by.name,
    ).where(Invoice.id == invoice_id).first()
    if invoice is None:
        return None
    credit_note = await Invoice.select(Invoice.id, Invoice.code).where(Invoice.credits_invoice == invoice_id).first()
    return {
        "invoice": _with_balance(invoice, today),
        "lines": await lines_of(invoice_id),
        "payments": await payments_of(invoice_id),
        "credit_note": credit_note,
    }


async def payments_of(invoice_id: int) -> list[dict]:
    """The payments allocated to an invoice, oldest first: each with its amount on this invoice, who
    recorded it, whether it was reversed (`reversed`) or is itself a reversal (`reverses`)."""
    rows = await PaymentAllocation.select(
        PaymentAllocation.amount_minor, PaymentAllocation.payment.as_alias("payment_id"),
        PaymentAllocation.payment.amount_minor.as_alias("payment_minor"), PaymentAllocation.payment.received_on.as_alias("received_on"),
        PaymentAllocation.payment.method.as_alias("method"), PaymentAllocation.payment.reference.as_alias("reference"),
        PaymentAllocation.payment.reverses.as_alias("reverses"), PaymentAllocation.payment.created_at.as_alias("created_at"),
        PaymentAllocation.payment.recorded_by.name.as_alias("recorded_by"), PaymentAllocation.payment.external_id.as_alias("external_id"),
    ).where(PaymentAllocation.invoice == invoice_id).order_by(PaymentAllocation.id)
    ids = [r["payment_id"] for r in rows]
    reversed_ids = {
        r["reverses"] for r in await Payment.select(Payment.reverses).where(Payment.reverses.is_in(ids or [0]))
    }
    for row in rows:
        row["reversed"] = row["payment_id"] in reversed_ids
        row["reversible"] = not row["reversed"] and row["reverses"] is None and row["method"] in rules.MANUAL_METHODS
    return rows


async def payment_on_invoice(payment_id: int, invoice_id: int) -> bool:
    return await PaymentAllocation.exists().where((PaymentAllocation.payment == payment_id) & (PaymentAllocation.invoice == invoice_id))


async def open_invoices_of(client_id: int) -> list[dict]:
    """A client's invoices with a balance, oldest due first (what a split payment can settle)."""
    return await Invoice.select(
        Invoice.id, Invoice.code, Invoice.currency, Invoice.issue_date, Invoice.due_date, Invoice.total_minor, Invoice.paid_minor,
    ).where(
        (Invoice.client == client_id) & (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED)
    ).order_by(Invoice.due_date, Invoice.id)


async def book_credit(client_id: int, invoice_id: int | None, *, actor: Actor, amount: int, currency: str, day: dt.date,
                      reference: str, external_id: str | None, method: str = "card") -> int:
    """Money beyond what an invoice asks for: an unallocated Payment, the client's credit
    (never silently dropped, never counted against the invoice). Joins the caller's transaction."""
    payment = Payment(client=client_id, currency=currency, amount_minor=amount, method=method, received_on=day,
                      reference=reference[:120], external_id=external_id, recorded_by=actor.user_id, created_at=utcnow())
    await payment.save()
    await audit.record(actor, "payment_credit_recorded", "invoice" if invoice_id else "client", invoice_id or client_id,
                       client_id=client_id,
                       after={"payment_id": payment.id, "amount_minor": amount, "currency": currency, "reference": reference})
    return payment.id


async def get_invoice(invoice_id: int) -> dict | None:
    return await Invoice.select().where(Invoice.id == invoice_id).first()


async def lines_of(invoice_id: int) -> list[dict]:
    return await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)


async def upcoming_payments(client_id: int, today: dt.date, limit: int = 10) -> list[dict]:
    """The client's open invoices not yet overdue, soonest due first, each with its balance (one query)."""
    rows = await Invoice.select(
        Invoice.id, Invoice.code, Invoice.kind, Invoice.status, Invoice.currency, Invoice.due_date,
        Invoice.total_minor, Invoice.paid_minor,
    ).where(
        (Invoice.client == client_id) & (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.due_date >= today)
    ).order_by(Invoice.due_date).order_by(Invoice.id).limit(limit)
    upcoming = [row for row in rows if rules.is_upcoming(row, today)]
    for row in upcoming:
        row["balance_minor"] = row["total_minor"] - row["paid_minor"]
        row["days_left"] = (row["due_date"] - today).days
    return upcoming
