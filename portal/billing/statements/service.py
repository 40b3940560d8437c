"""The client's account, read only: their invoices (keyset-paged), what they owe per currency,
one invoice with its lines and payments, and the statement of account for a period.

Every function takes the client's id and filters by it: another company's invoice id gives None
(the page answers 404), never that company's data. The decisions live in statement_rules."""

from __future__ import annotations

import datetime as dt

from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.statements import rules
from portal.billing.tables import Invoice, InvoiceLine, Payment, PaymentAllocation
from portal.clock import firm_today
from portal.web.pagination import Page, decode_cursor, encode_cursor

PAGE_SIZE = 50
FILTERS = ("open", "paid", "all")
DEFAULT_FILTER = "open"

_COLUMNS = (
    Invoice.id, Invoice.code, Invoice.kind, Invoice.status, Invoice.currency, Invoice.issue_date, Invoice.due_date,
    Invoice.total_minor, Invoice.paid_minor, Invoice.order, Invoice.credits_invoice,
)



# The client's list and balance are on every page a client opens: written once, not built by the
# ORM on each request (the same columns as _COLUMNS).
_LIST_SQL = """SELECT id, code, kind, status, currency, issue_date, due_date, total_minor, paid_minor, "order", credits_invoice
FROM invoices WHERE client = {}"""
_LIST_FILTERS = {"open": f" AND kind = '{InvoiceKind.INVOICE}' AND status = '{InvoiceStatus.ISSUED}'",
                 "paid": f" AND kind = '{InvoiceKind.INVOICE}' AND status = '{InvoiceStatus.PAID}'"}

# What is owed per currency, summed by the database (a client may hold thousands of open invoices):
# statement_rules.balances over the open invoices, in SQL (tested equal to it on both engines).
# Both placeholders of the sums take today; the client's id comes after them.
_OPEN_MINOR = "CAST(SUM(total_minor - paid_minor) AS BIGINT)"
_OVERDUE_MINOR = "CAST(SUM(CASE WHEN due_date < {} THEN total_minor - paid_minor ELSE 0 END) AS BIGINT)"
_OPEN_COUNT = "CAST(COUNT(*) AS BIGINT)"
_OVERDUE_COUNT = "CAST(SUM(CASE WHEN due_date < {} THEN 1 ELSE 0 END) AS BIGINT)"
_BALANCE_FROM = (f" FROM invoices WHERE client = {{}} AND kind = '{InvoiceKind.INVOICE}' AND status = '{InvoiceStatus.ISSUED}'"
                 " AND total_minor > paid_minor"
                 " GROUP BY currency")
_BALANCE_SQL = (f"SELECT currency, {_OPEN_MINOR} AS open_minor, {_OVERDUE_MINOR} AS overdue_minor, {_OPEN_COUNT} AS open_count, "
                f"{_OVERDUE_COUNT} AS overdue_count" + _BALANCE_FROM)


def _describe(row: dict, today: dt.date) -> dict:
    row["to_pay_minor"] = rules.to_pay(row)
    row["standing"] = rules.standing(row, today)
    return row


def _decode(cursor: str | None) -> tuple[dt.date, int] | None:
    key = decode_cursor(cursor, (str, int))
    if key is None:
        return None
    try:
        return dt.date.fromisoformat(key[0]), key[1]
    except ValueError:
        return None


def _list_query(client_id: int, status_filter: str, cursor: str | None) -> tuple[str, list, bool]:
    """The SQL of a page of the client's list (with its ORDER BY and LIMIT), its arguments, and
    whether it is the first page."""
    ascending = status_filter == "open"
    sql, args = _LIST_SQL + _LIST_FILTERS.get(status_filter, ""), [client_id]
    key = _decode(cursor)
    if key:
        due, last_id = key
        sql += " AND (due_date > {} OR (due_date = {} AND id > {}))" if ascending else " AND (due_date < {} OR (due_date = {} AND id < {}))"
        args += [due, due, last_id]
    sql += " ORDER BY due_date, id LIMIT {}" if ascending else " ORDER BY due_date DESC, id DESC LIMIT {}"
    return sql, [*args, PAGE_SIZE + 1], key is None


def _page(rows: list[dict], is_first: bool, today: dt.date) -> Page:
    more = len(rows) > PAGE_SIZE
    rows = [_describe(row, today) for row in rows[:PAGE_SIZE]]
    next_cursor = encode_cursor([rows[-1]["due_date"].isoformat(), rows[-1]["id"]]) if more else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=is_first)


async def client_invoices(client_id: int, status_filter: str = DEFAULT_FILTER, cursor: str | None = None, *,
                          today: dt.date | None = None) -> Page:
    """The client's invoices, PAGE_SIZE at a time, keyset-paged on (due_date, id).

    open: unpaid invoices, the soonest due first; paid: paid invoices, the latest due first;
    all: every invoice and credit note, the latest due first."""
    sql, args, is_first = _list_query(client_id, status_filter, cursor)
    return _page(await Invoice.raw(sql, *args), is_first, today or firm_today())


# The balance's rows (one per currency) in the list's columns, so both are read in one round trip:
# id = open_count, total_minor = open_minor, paid_minor = overdue_minor, "order" = overdue_count.
_BALANCE_AS_LIST = (f"SELECT 1, {_OPEN_COUNT}, NULL, NULL, NULL, currency, NULL, NULL, {_OPEN_MINOR}, {_OVERDUE_MINOR}, "
                    f"{_OVERDUE_COUNT}, NULL" + _BALANCE_FROM)


_BALANCE_KEYS = ("open_minor", "overdue_minor", "open_count", "overdue_count")
_BALANCE_IN_LIST = ("total_minor", "paid_minor", "id", "order")  # where _BALANCE_AS_LIST puts them


def _balances(rows: list[dict], keys: tuple[str, ...] = _BALANCE_KEYS) -> list[rules.Balance]:
    return sorted((rules.Balance(r["currency"], *(int(r[k]) for k in keys)) for r in rows), key=lambda b: b.currency)


async def invoices_page(client_id: int, status_filter: str = DEFAULT_FILTER, cursor: str | None = None, *,
                        today: dt.date | None = None) -> tuple[Page, list[rules.Balance]]:
    """What the invoice list page shows: client_invoices() and balances(), read in one query (the
    page clients open most; each round trip costs about as much as drawing ten rows)."""
    today = today or firm_today()
    sql, args, is_first = _list_query(client_id, status_filter, cursor)
    order = sql[sql.rindex(" ORDER BY ") + len(" ORDER BY "):sql.rindex(" LIMIT ")]
    found = await Invoice.raw(
        f"SELECT 0 AS part, * FROM ({sql}) AS page UNION ALL {_BALANCE_AS_LIST} ORDER BY part, {order}",
        *args, today, today, client_id,
    )
    listed = [row for row in found if row.pop("part") == 0]
    return _page(listed, is_first, today), _balances(found[len(listed):], _BALANCE_IN_LIST)


async def balances(client_id: int, *, today: dt.date | None = None) -> list[rules.Balance]:
    """What the client still has to pay per currency, and how much of it is overdue."""
    today = today or firm_today()
    return _balances(await Invoice.raw(_BALANCE_SQL, today, today, client_id))


async def invoice_detail(client_id: int, invoice_id: int, *, today: dt.date | None = None) -> dict | None:
    """One of the client's invoices (or credit notes) with its lines, the payments allocated to it,
    and the documents it is linked to; None when it is not this client's."""
    invoice = await Invoice.select(*_COLUMNS, Invoice.net_minor, Invoice.vat_minor, Invoice.notes).where(
        (Invoice.id == invoice_id) & (Invoice.client == client_id)
    ).first()
    if invoice is None:
        return None
    _describe(invoice, today or firm_today())
    lines = await InvoiceLine.select(
        InvoiceLine.position, InvoiceLine.description, InvoiceLine.quantity, InvoiceLine.unit_price_minor,
        InvoiceLine.vat_rate_bp, InvoiceLine.net_minor, InvoiceLine.vat_minor, InvoiceLine.total_minor,
    ).where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)
    payments = await PaymentAllocation.select(
        PaymentAllocation.id,
        PaymentAllocation.amount_minor,
        PaymentAllocation.payment.received_on.as_alias("received_on"),
        PaymentAllocation.payment.method.as_alias("method"),
        PaymentAllocation.payment.reference.as_alias("reference"),
        PaymentAllocation.payment.reverses.as_alias("reverses"),
    ).where(PaymentAllocation.invoice == invoice_id).order_by(PaymentAllocation.payment.received_on).order_by(PaymentAllocation.id)
    for payment in payments:
        payment["is_reversal"] = rules.is_reversal(payment)
        if payment["is_reversal"]:
            payment["reference"] = ""  # the reason staff wrote for the reversal is for staff
    credited = None
    if invoice["credits_invoice"]:
        credited = await Invoice.select(Invoice.id, Invoice.code).where(
            (Invoice.id == invoice["credits_invoice"]) & (Invoice.client == client_id)
        ).first()
    credit_notes = await Invoice.select(Invoice.id, Invoice.code, Invoice.issue_date).where(
        (Invoice.credits_invoice == invoice_id) & (Invoice.client == client_id) & (Invoice.kind == InvoiceKind.CREDIT_NOTE)
    ).order_by(Invoice.id)
    return {"invoice": invoice, "lines": lines, "payments": payments, "credited": credited, "credit_notes": credit_notes}


async def statement(client_id: int, date_from: dt.date, date_to: dt.date) -> list[rules.CurrencyStatement]:
    """The statement of account from `date_from` to `date_to`, one per currency (statement_rules)."""
    invoices = await Invoice.select(
        Invoice.id, Invoice.code, Invoice.kind, Invoice.status, Invoice.currency, Invoice.issue_date, Invoice.total_minor,
    ).where((Invoice.client == client_id) & (Invoice.issue_date <= date_to))
    credited = {
        row["credits_invoice"] for row in await Invoice.select(Invoice.credits_invoice).where(
            (Invoice.client == client_id) & (Invoice.kind == InvoiceKind.CREDIT_NOTE) & (Invoice.status != InvoiceStatus.CANCELLED)
            & Invoice.credits_invoice.is_not_null()
        )
    }
    payments = await Payment.select(
        Payment.id, Payment.currency, Payment.amount_minor, Payment.method, Payment.received_on, Payment.reference, Payment.reverses,
    ).where((Payment.client == client_id) & (Payment.received_on <= date_to))
    entries = rules.invoice_entries(invoices, credited) + rules.payment_entries(payments)
    return rules.statement(entries, date_from, date_to)
