"""Repayment schedules as pure rules: no I/O, no clock (`today` is an argument).

- `equal_monthly(debt, n, first)` fills in N installments that sum exactly to the debt;
- `check(...)` says what is wrong with proposed installments, per row and field, in words a
  client understands (sum, order, future dates, minimum, the segment's horizon);
- `progress(...)` says, from what has been paid since the plan started, which installments are
  paid, which one is due next and whether one was missed (its date plus grace passed unpaid);
- `pause_until(...)` bounds every pause a negotiation starts, so nothing holds the ladder forever.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from portal.dunning.escalation.tables import PauseKind
from portal.messages import N_

MAX_INSTALLMENTS = 36


@dataclass(frozen=True)
class Policy:
    min_installment_minor: int
    horizon_days: dict[str, int]  # per client segment
    grace_days: int
    review_days: int
    dispute_days: int
    promise_days: int
    promise_grace_days: int

    def horizon_for(self, segment: str) -> int:
        return self.horizon_days.get(segment, min(self.horizon_days.values(), default=90))

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(
            min_installment_minor=settings.plan_min_installment_minor, horizon_days=dict(settings.plan_horizon_days),
            grace_days=settings.plan_grace_days, review_days=settings.proposal_review_days,
            dispute_days=settings.dispute_max_days, promise_days=settings.max_promise_days,
            promise_grace_days=settings.promise_grace_days,
        )


@dataclass(frozen=True)
class Row:
    due_date: dt.date
    amount_minor: int


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # "row-2-date", "row-0-amount", "total", "rows"

    @property
    def ok(self) -> bool:
        return not self.errors


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def equal_monthly(debt_minor: int, count: int, first: dt.date) -> list[Row]:
    """`count` monthly installments from `first` summing exactly to the debt; the cents that do not
    divide evenly go to the first installment, so the later ones are all the same."""
    if count < 1 or debt_minor < 1:
        return []
    base, extra = divmod(debt_minor, count)
    return [Row(add_months(first, k), base + (extra if k == 0 else 0)) for k in range(count)]


def check(rows: list[Row], debt_minor: int, today: dt.date, policy: Policy, segment: str) -> Checked:
    """Every rule a schedule must keep; each message names the row it is about."""
    out = Checked(rows=list(rows))
    if not rows:
        out.errors["rows"] = N_("Add at least one installment.")
        return out
    if len(rows) > MAX_INSTALLMENTS:
        out.errors["rows"] = N_("At most 36 installments.")
        return out
    horizon = today + dt.timedelta(days=policy.horizon_for(segment))
    previous: dt.date | None = None
    for index, row in enumerate(rows):
        if row.due_date <= today:
            out.errors[f"row-{index}-date"] = N_("Choose a date after today.")
        elif previous is not None and row.due_date <= previous:
            out.errors[f"row-{index}-date"] = N_("Each date must come after the one before it.")
        elif row.due_date > horizon:
            out.errors[f"row-{index}-date"] = N_("The last installment can be at most %(days)s days from today.")
        previous = row.due_date
        if row.amount_minor < min(policy.min_installment_minor, debt_minor):
            out.errors[f"row-{index}-amount"] = N_("Each installment must be at least %(minimum)s.")
    total = sum(r.amount_minor for r in rows)
    if total != debt_minor:
        out.errors["total"] = N_("The installments add up to %(total)s, but the debt is %(debt)s.")
    return out


def within_horizon(rows: list[Row], today: dt.date, policy: Policy, segment: str) -> bool:
    return all(r.due_date <= today + dt.timedelta(days=policy.horizon_for(segment)) for r in rows)


@dataclass(frozen=True)
class Progress:
    paid: tuple[int, ...]  # per installment: how much of it is covered
    covered: int  # installments paid in full
    next_index: int | None  # the first not fully paid
    missed_index: int | None  # the first whose date + grace passed unpaid
    remaining_minor: int

    @property
    def completed(self) -> bool:
        return self.next_index is None


def progress(rows: list[Row], paid_since_minor: int, today: dt.date, grace_days: int) -> Progress:
    """Money paid since the plan started covers the installments in order (cumulatively): the
    plan needs no booking of its own, the invoices' paid amounts are the truth."""
    left = max(0, paid_since_minor)
    paid: list[int] = []
    for row in rows:
        part = min(left, row.amount_minor)
        paid.append(part)
        left -= part
    covered = 0
    while covered < len(rows) and paid[covered] >= rows[covered].amount_minor:
        covered += 1
    next_index = covered if covered < len(rows) else None
    missed = None
    if next_index is not None and rows[next_index].due_date + dt.timedelta(days=grace_days) < today:
        missed = next_index
    return Progress(tuple(paid), covered, next_index, missed, sum(r.amount_minor for r in rows) - sum(paid))


def missed_on(row: Row, grace_days: int) -> dt.date:
    """The first day on which an unpaid installment counts as missed."""
    return row.due_date + dt.timedelta(days=grace_days + 1)


def plan_pause_end(rows: list[Row], grace_days: int) -> dt.date:
    """An accepted plan holds the ladder at most until its last installment is missed."""
    return missed_on(rows[-1], grace_days)


def pause_until(kind: str, today: dt.date, policy: Policy, *, rows: list[Row] | None = None,
                promised: dt.date | None = None) -> dt.date:
    """The first day a negotiation pause no longer holds (midnight in the firm's zone)."""
    if kind == PauseKind.PROPOSAL:
        return today + dt.timedelta(days=policy.review_days)
    if kind == PauseKind.DISPUTE:
        return today + dt.timedelta(days=policy.dispute_days)
    if kind == PauseKind.PLAN:
        if not rows:
            raise ValueError("a plan needs its installments")
        return plan_pause_end(rows, policy.grace_days)
    if kind == PauseKind.PROMISE:
        if promised is None:
            raise ValueError("a promise needs its date")
        return min(promised, today + dt.timedelta(days=policy.promise_days)) + dt.timedelta(days=policy.promise_grace_days + 1)
    raise ValueError(kind)


def pause_limit_days(kind: str, policy: Policy, segment: str) -> int:
    """The longest any pause of `kind` can last, from the day it starts."""
    limits: dict[str, int] = {
        PauseKind.PROPOSAL: policy.review_days,
        PauseKind.DISPUTE: policy.dispute_days,
        PauseKind.PLAN: policy.horizon_for(segment) + policy.grace_days + 1,
        PauseKind.PROMISE: policy.promise_days + policy.promise_grace_days + 1,
    }
    return limits[kind]
