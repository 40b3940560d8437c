"""Receivables as pure functions: an invoice's balance on a day, aging buckets, and the monthly
collection figures (DSO by count-back and simple, best possible DSO, average days delinquent, CEI).

An invoice is a receivable from its issue date until the day it is settled (paid in full or
cancelled: invoices.settled_on). Its balance on day D is its total less the allocations of the
payments received up to D (a reversal is a negative allocation dated the day it was made).
Amounts are integer minor units of one currency: nothing here adds two currencies.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# (key, first day overdue, last day overdue); "not_due" holds what is due today or later.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("not_due", -10**9, 0), ("d1_30", 1, 30), ("d31_60", 31, 60), ("d61_90", 61, 90), ("d91_180", 91, 180), ("over_180", 181, None),
)
BUCKET_KEYS = tuple(key for key, _, _ in BUCKETS)
OVERDUE_KEYS = BUCKET_KEYS[1:]


def bucket_of(days_overdue: int) -> str:
    """The bucket of an invoice `days_overdue` days past its due date (0 or less: not due yet)."""
    for key, first, last in BUCKETS:
        if first <= days_overdue and (last is None or days_overdue <= last):
            return key
    raise AssertionError(days_overdue)  # the buckets cover every integer


def bucket_range(key: str) -> tuple[int | None, int | None]:
    """The days overdue a bucket holds, for a query: (first, last), None where unbounded."""
    for k, first, last in BUCKETS:
        if k == key:
            return (None if first < 0 else first), last
    raise KeyError(key)


@dataclass(frozen=True)
class Receivable:
    """An invoice as the reports see it: `allocations` are (received_on, amount_minor)."""

    invoice_id: int
    client_id: int
    currency: str
    issue_date: dt.date
    due_date: dt.date
    total_minor: int
    settled_on: dt.date | None = None
    allocations: tuple[tuple[dt.date, int], ...] = ()

    def open_on(self, day: dt.date) -> bool:
        return self.issue_date <= day and (self.settled_on is None or self.settled_on > day)

    def balance_on(self, day: dt.date) -> int:
        """What was owed at the end of `day` (0 when not yet issued or already settled)."""
        if not self.open_on(day):
            return 0
        return self.total_minor - sum(amount for received, amount in self.allocations if received <= day)


@dataclass
class Aging:
    """Open balances of one currency on one day, per bucket, with the number of open invoices."""

    amounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS, 0))
    invoices: int = 0
    overdue_days_minor: int = 0  # sum of balance x days overdue

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def overdue(self) -> int:
        return sum(self.amounts[k] for k in OVERDUE_KEYS)

    @property
    def days_late(self) -> float | None:
        """Days overdue, weighted by balance, of what is overdue; None when nothing is."""
        return self.overdue_days_minor / self.overdue if self.overdue else None

    def add(self, balance: int, days_overdue: int, invoices: int = 1) -> None:
        self.amounts[bucket_of(days_overdue)] += balance
        self.invoices += invoices
        if days_overdue > 0:
            self.overdue_days_minor += balance * days_overdue

    def merge(self, other: Aging) -> None:
        for key in BUCKET_KEYS:
            self.amounts[key] += other.amounts[key]
        self.invoices += other.invoices
        self.overdue_days_minor += other.overdue_days_minor


def aging(receivables: Iterable[Receivable], day: dt.date) -> dict[str, Aging]:
    """Per currency, the balances open at the end of `day` by bucket. A receivable whose balance
    is zero or less (paid ahead of settling, which settling prevents) is left out."""
    out: dict[str, Aging] = {}
    for item in receivables:
        balance = item.balance_on(day)
        if balance > 0:
            out.setdefault(item.currency, Aging()).add(balance, (day - item.due_date).days)
    return out


# --- months -------------------------------------------------------------------------------------

def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s to `last`'s, inclusive."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def period_moments(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Months first..last as UTC moments: from the first one's first day to the day after the last
    one (for the timestamps of promises, plans, calls and disputes)."""
    return dt.datetime.combine(first, dt.time(), dt.UTC), dt.datetime.combine(add_months(last, 1), dt.time(), dt.UTC)


def days_in(month: dt.date, as_of: dt.date | None = None) -> int:
    """Days of the month counted for its figures: all of them, or up to `as_of` in the current one."""
    end = month_end(month)
    if as_of is not None and month <= as_of < end:
        end = as_of
    return (end - month).days + 1


@dataclass(frozen=True)
class Month:
    """One month of one currency: credit sales in it, open receivables at its start and end."""

    month: dt.date
    days: int
    sales: int
    begin_open: int
    end_open: int
    end_current: int  # the part of end_open not yet due

    @property
    def end_overdue(self) -> int:
        return self.end_open - self.end_current


def dso_simple(open_minor: int, sales_minor: int, days: int) -> float | None:
    """Receivables / credit sales of the period x days in it. None without sales."""
    if sales_minor <= 0:
        return None
    return open_minor / sales_minor * days


@dataclass(frozen=True)
class CountBack:
    days: float
    complete: bool  # False: the months given ran out before the receivables did (at least `days`)


def dso_count_back(open_minor: int, months: Sequence[tuple[int, int]]) -> CountBack:
    """Count-back DSO: take the receivables at the month's end, subtract each month's sales going
    back from the latest (months: [(sales, days)], latest first); each month fully covered adds its
    days, the month that covers the rest adds its share of days (0 days when nothing is open)."""
    if open_minor <= 0:
        return CountBack(0.0, True)
    left, total = open_minor, 0.0
    for sales, days in months:
        if sales <= 0:
            total += days
            continue
        if left <= sales:
            return CountBack(total + left / sales * days, True)
        left -= sales
        total += days
    return CountBack(total, False)


def cei(begin_open: int, sales: int, end_open: int, end_current: int) -> float | None:
    """Collection effectiveness index, in percent:
    (begin + sales - end open) / (begin + sales - end current) x 100.
    100 means everything collectable was collected. None when nothing was collectable. Kept in
    0..100: a month of reversals can collect less than nothing, which reads as 0."""
    collectable = begin_open + sales - end_current
    if collectable <= 0:
        return None
    value = (begin_open + sales - end_open) / collectable * 100
    return max(0.0, min(100.0, value))


@dataclass(frozen=True)
class Collection:
    """The figures of one month, as the page shows them."""

    month: dt.date
    sales: int
    end_open: int
    end_overdue: int
    dso: float | None  # count-back (at least this many when not dso_complete); None for a month with nothing
    dso_complete: bool
    dso_simple: float | None
    best_dso: float | None  # count-back over what is not yet due
    add: float | None  # average days delinquent = DSO - best possible DSO
    cei: float | None


def collection(months: Sequence[Month], lookback: int = 12) -> list[Collection]:
    """Per month (oldest first, as given), DSO by count-back over up to `lookback` months, the
    simple DSO over the month, the best possible DSO, ADD and CEI; a month with nothing invoiced,
    nothing owed at its start or end has no figures (None)."""
    out = []
    for i, m in enumerate(months):
        if m.begin_open == m.sales == m.end_open == 0:  # nothing invoiced or owed: no figure, not a perfect one
            out.append(Collection(m.month, 0, 0, 0, None, False, None, None, None, None))
            continue
        back = [(x.sales, x.days) for x in reversed(months[max(0, i - lookback + 1): i + 1])]
        dso = dso_count_back(m.end_open, back)
        best = dso_count_back(m.end_current, back)
        add = dso.days - best.days if dso.complete and best.complete else None
        out.append(Collection(
            month=m.month, sales=m.sales, end_open=m.end_open, end_overdue=m.end_overdue,
            dso=dso.days, dso_complete=dso.complete,
            dso_simple=dso_simple(m.end_open, m.sales, m.days), best_dso=best.days if best.complete else None,
            add=add, cei=cei(m.begin_open, m.sales, m.end_open, m.end_current),
        ))
    return out
