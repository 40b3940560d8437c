"""The staff dashboard's figures, each a count that links to its list."""

from __future__ import annotations

import datetime as dt

from portal.auth.roles import Kind
from portal.auth.tables import User
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clients.service import client_counts
from portal.orders.tables import BEFORE_PRODUCTION, Order, Stage
from portal.reports import rules as metrics

OPEN_STAGES = (*BEFORE_PRODUCTION, Stage.IN_PRODUCTION)


async def dashboard(today: dt.date) -> dict:
    open_invoices = (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.kind == InvoiceKind.INVOICE)
    return {
        "clients": await client_counts(),
        "open_orders": await Order.count().where(Order.stage.is_in(list(OPEN_STAGES))),
        "open_invoices": await Invoice.count().where(open_invoices),
        "overdue_invoices": await Invoice.count().where(open_invoices & (Invoice.due_date < today)),
        "staff_users": await User.count().where((User.kind == Kind.STAFF.value) & (User.is_active == True)),  # noqa: E712
    }


async def sales_rows(start: dt.date, end: dt.date) -> list[dict]:
    """Invoices issued from `start` to `end` (inclusive) that count as sales (kind "invoice",
    not cancelled), each with its order's stage: one query, whatever the number of invoices."""
    return await Invoice.select(
        Invoice.issue_date, Invoice.client, Invoice.currency, Invoice.total_minor, Invoice.order,
        Invoice.order.stage.as_alias("order_stage"),
    ).where(
        (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status != InvoiceStatus.CANCELLED)
        & (Invoice.issue_date >= start) & (Invoice.issue_date <= end)
    )


async def sales_metrics(period: metrics.Period) -> metrics.Comparison:
    """The four sales factors of `period` against the period before it (one query)."""
    start, end = metrics.query_range(period)
    return metrics.compare(await sales_rows(start, end), period)
