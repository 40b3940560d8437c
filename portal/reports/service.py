"""The staff dashboard's figures, each a count that links to its list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from piccolo.query.functions.aggregate import Count, Sum

from portal.auth.roles import Kind
from portal.auth.tables import User
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clients.service import client_counts
from portal.orders.tables import BEFORE_PRODUCTION, Order, Stage
from portal.reports import rules as metrics
from portal.reports.receivables import rules as receivables
from portal.reports.scope import Scope, where_all
from portal.reports.tables import ClientMonth

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


# --- the sales factors month by month, and where orders wait -------------------------------------

@dataclass
class MonthFactors:
    month: dt.date
    invoices: int = 0
    client_count: int = 0  # distinct clients invoiced
    sales: dict[str, int] = field(default_factory=dict)  # per currency, minor units
    with_order: int = 0  # invoices issued for an order
    converted: int = 0  # ... whose order reached production

    @property
    def clients(self) -> int:
        return self.client_count

    @property
    def conversion(self) -> float | None:
        return self.converted / self.with_order if self.with_order else None

    @property
    def repeat(self) -> float | None:
        return self.invoices / self.client_count if self.client_count else None


async def monthly_factors(scope: Scope, first: dt.date, last: dt.date) -> list[MonthFactors]:
    """Per month: invoices issued, clients invoiced, sales per currency (from the receivables
    summary), and the conversion of the month's invoiced orders (from the orders as they stand)."""
    window = (ClientMonth.month >= first) & (ClientMonth.month <= last) & (ClientMonth.invoices > 0)
    months = {m: MonthFactors(m) for m in receivables.months_between(first, last)}
    for r in await where_all(ClientMonth.select(ClientMonth.month, ClientMonth.currency, Sum(ClientMonth.invoices, alias="invoices"),
                                                Sum(ClientMonth.sales_minor, alias="sales")).where(window).group_by(
            ClientMonth.month, ClientMonth.currency), scope.clients(ClientMonth.client)):
        m = months[r["month"]]
        m.invoices += int(r["invoices"] or 0)  # PostgreSQL sums as numeric
        m.sales[r["currency"]] = int(r["sales"] or 0)
    for r in await where_all(ClientMonth.select(ClientMonth.month, Count(distinct=[ClientMonth.client], alias="n")).where(window).group_by(
            ClientMonth.month), scope.clients(ClientMonth.client)):
        months[r["month"]].client_count = r["n"]
    end = receivables.month_end(last)
    for r in await where_all(Invoice.select(Invoice.issue_date, Invoice.order.stage.as_alias("stage")).where(
        (Invoice.kind == InvoiceKind.INVOICE) & Invoice.order.is_not_null() & (Invoice.issue_date >= first) & (Invoice.issue_date <= end)
    ), scope.clients(Invoice.client)):
        m = months[receivables.month_start(r["issue_date"])]
        m.with_order += 1
        m.converted += r["stage"] in metrics.PRODUCTION_STAGES
    return list(months.values())


async def waiting_orders(scope: Scope, period: metrics.Period) -> dict[str, int]:
    """Of the orders invoiced in the period that have not reached production: how many wait for
    the spec's approval, how many for the prepayment, and how many were cancelled."""
    counts = {"spec": 0, "prepayment": 0, "cancelled": 0, "produced": 0}
    for r in await where_all(Invoice.select(Invoice.order, Invoice.order.stage.as_alias("stage")).where(
        (Invoice.kind == InvoiceKind.INVOICE) & Invoice.order.is_not_null()
        & (Invoice.issue_date >= period.start) & (Invoice.issue_date <= period.end)
    ).distinct(), scope.clients(Invoice.client)):
        counts[metrics.waiting_for(r["stage"])] += 1
    return counts
