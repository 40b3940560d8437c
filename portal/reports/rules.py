"""The four sales factors (DOMAIN.md section 1), as pure functions over plain invoice rows.

    Sales = number of invoices x conversion x repeat purchases x average invoice

For a period (inclusive dates) and the previous period of the same length:
1. invoices: invoices issued in the period (kind "invoice", not cancelled);
2. conversion: of those issued for an order, the share whose order reached production
   (in production, delivered or closed);
3. repeat purchases: invoices per distinct client invoiced;
4. average invoice: total / count, PER CURRENCY (different currencies are never added).

Each factor is compared with the previous period as a relative change in percent; there is no
change to show (None) when the previous value is zero or missing.

A row is a dict with: issue_date (date), client (id), currency, total_minor (int), order
(id or None), order_stage (str or None); optional kind and status are checked when present.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from portal.billing.tables import InvoiceKind, InvoiceStatus
from portal.orders.tables import Stage
from portal.web.i18n import gettext as _
from portal.web.local_input import date_input_value, parse_date

PRODUCTION_STAGES = (Stage.IN_PRODUCTION, Stage.DELIVERED, Stage.CLOSED)
WAITING_FOR_SPEC = (Stage.REQUEST, Stage.LAYOUT, Stage.SPEC_SENT)
WAITING_FOR_PREPAYMENT = (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT)
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: a longer period is a typo


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def default_period(today: dt.date, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` days, ending today."""
    return Period(today - dt.timedelta(days=days - 1), today)


def parse_period(raw_from: str, raw_to: str, today: dt.date) -> tuple[Period, dict[str, str]]:
    """The period a person typed (in their language's date format, or ISO); the default one, with messages keyed by
    field, when what they typed cannot be a period. A missing end means today; a missing
    start means 30 days before the end. Messages are translated (gettext) when made."""
    errors: dict[str, str] = {}
    start = end = None
    raw_from, raw_to = (raw_from or "").strip(), (raw_to or "").strip()
    end = parse_date(raw_to) if raw_to else today
    if end is None:
        errors["to"] = _("Enter a date such as %(example)s.", example=date_input_value(today))
    start = parse_date(raw_from) if raw_from else None
    if raw_from and start is None:
        errors["from"] = _("Enter a date such as %(example)s.", example=date_input_value(today))
    if errors or end is None:
        return default_period(today), errors
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        return default_period(today), {"from": _("The start must not be after the end.")}
    if (end - start).days + 1 > MAX_DAYS:
        return default_period(today), {"from": _("Choose a period of at most ten years.")}
    return Period(start, end), {}


@dataclass(frozen=True)
class SalesFigures:
    invoices: int = 0
    with_order: int = 0  # invoices issued for an order
    converted: int = 0  # ... whose order reached production
    clients: int = 0  # distinct clients invoiced
    totals: dict[str, int] = field(default_factory=dict)  # currency -> sum of totals (minor units)
    counts: dict[str, int] = field(default_factory=dict)  # currency -> number of invoices

    @property
    def conversion(self) -> float | None:
        """Share 0..1 of the invoices with an order whose order reached production; None without any."""
        return self.converted / self.with_order if self.with_order else None

    @property
    def repeat(self) -> float | None:
        """Invoices per client; None without invoices."""
        return self.invoices / self.clients if self.clients else None

    @property
    def averages(self) -> dict[str, int]:
        """Average invoice per currency, in minor units rounded half up."""
        return {c: average_minor(self.totals[c], self.counts[c]) for c in sorted(self.counts)}


def average_minor(total: int, count: int) -> int:
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def counts_as_invoice(row: dict) -> bool:
    return row.get("kind", InvoiceKind.INVOICE) == InvoiceKind.INVOICE and row.get("status", InvoiceStatus.ISSUED) != InvoiceStatus.CANCELLED


def sales_figures(rows: Iterable[dict], period: Period) -> SalesFigures:
    """The factors of one period, in one pass over the rows."""
    invoices = with_order = converted = 0
    clients: set[int] = set()
    totals: dict[str, int] = {}
    counts: dict[str, int] = {}
    for row in rows:
        if row["issue_date"] not in period or not counts_as_invoice(row):
            continue
        invoices += 1
        clients.add(row["client"])
        totals[row["currency"]] = totals.get(row["currency"], 0) + row["total_minor"]
        counts[row["currency"]] = counts.get(row["currency"], 0) + 1
        if row.get("order") is not None:
            with_order += 1
            if row.get("order_stage") in PRODUCTION_STAGES:
                converted += 1
    return SalesFigures(invoices, with_order, converted, len(clients), totals, counts)


def waiting_for(stage: str | None) -> str:
    """What an invoiced order waits for: "spec" (not approved yet), "prepayment", or it was
    "cancelled", or it was "produced" (reached production)."""
    if stage in PRODUCTION_STAGES:
        return "produced"
    if stage in WAITING_FOR_PREPAYMENT:
        return "prepayment"
    if stage in WAITING_FOR_SPEC:
        return "spec"
    return "cancelled"


def change_pct(current: float | int | None, previous: float | int | None) -> float | None:
    """Relative change in percent (+50.0 means half as much again); None when there is nothing
    to compare with (the previous value is zero or missing) or nothing now to compare."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous * 100


@dataclass(frozen=True)
class Comparison:
    period: Period
    previous_period: Period
    current: SalesFigures
    previous: SalesFigures

    @property
    def invoices_change(self) -> float | None:
        return change_pct(self.current.invoices, self.previous.invoices)

    @property
    def conversion_change(self) -> float | None:
        return change_pct(self.current.conversion, self.previous.conversion)

    @property
    def repeat_change(self) -> float | None:
        return change_pct(self.current.repeat, self.previous.repeat)

    @property
    def average_changes(self) -> dict[str, float | None]:
        """Per currency of the current period, against the same currency's previous average."""
        before = self.previous.averages
        return {c: change_pct(avg, before.get(c)) for c, avg in self.current.averages.items()}


def compare(rows: Iterable[dict], period: Period) -> Comparison:
    """The period against the one before it; `rows` must cover both (see query_range)."""
    rows = list(rows)
    previous = period.previous()
    return Comparison(period, previous, sales_figures(rows, period), sales_figures(rows, previous))


def query_range(period: Period) -> tuple[dt.date, dt.date]:
    """The issue dates one query must cover: the previous period's start to this period's end."""
    return period.previous().start, period.end
