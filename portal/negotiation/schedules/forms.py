"""Reading a schedule's installments from a form (rows of date + amount, repeated fields) and
explaining rule errors in the reader's language with the figures filled in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal.negotiation.schedules import rules
from portal.web import i18n, local_input

MAX_ROWS = rules.MAX_INSTALLMENTS
EXAMPLE_DAY = dt.date(2026, 12, 31)


@dataclass
class RowsForm:
    raw: list[dict[str, str]] = field(default_factory=list)  # what was typed, to show again
    rows: list[rules.Row] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningTotal:
    """What the typed installments add up to against the debt, while the user types."""

    typed_minor: int
    debt_minor: int
    unreadable: int  # amounts typed that are not amounts (the submit explains each)

    @property
    def left_minor(self) -> int:
        return self.debt_minor - self.typed_minor


def running_total(form, currency: str, debt_minor: int) -> RunningTotal:
    typed = unreadable = 0
    for raw in [v.strip() for v in form.getall("amount", []) if isinstance(v, str)][:MAX_ROWS + 1]:
        if not raw:
            continue
        try:
            amount = local_input.parse_amount(raw, currency)
        except (ValueError, KeyError):
            amount = 0
        if amount <= 0:
            unreadable += 1
        else:
            typed += amount
    return RunningTotal(typed, debt_minor, unreadable)


def read_rows(form, currency: str) -> RowsForm:
    """Rows from repeated `date` / `amount` fields; blank rows are dropped."""
    dates = [v.strip() for v in form.getall("date", []) if isinstance(v, str)][:MAX_ROWS + 1]
    amounts = [v.strip() for v in form.getall("amount", []) if isinstance(v, str)][:MAX_ROWS + 1]
    out = RowsForm()
    for raw_date, raw_amount in zip(dates, amounts, strict=False):
        if not raw_date and not raw_amount:
            continue
        index = len(out.raw)
        out.raw.append({"date": raw_date, "amount": raw_amount})
        day = amount = None
        day = local_input.parse_date(raw_date)
        if day is None:
            out.errors[f"row-{index}-date"] = i18n.gettext("Type a date such as %(example)s.", example=local_input.date_input_value(EXAMPLE_DAY))
        try:
            amount = local_input.parse_amount(raw_amount, currency)
            if amount <= 0:
                raise ValueError
        except (ValueError, KeyError):
            amount = None
            out.errors[f"row-{index}-amount"] = i18n.gettext(
                "Enter an amount such as %(example)s.", example=local_input.amount_input_value(125000, currency))
        if day is not None and amount is not None:
            out.rows.append(rules.Row(day, amount))
    if len(out.raw) > MAX_ROWS:
        out.errors["rows"] = i18n.gettext("At most 36 installments.")
    return out


def explain(errors: dict[str, str], *, debt_minor: int, currency: str, rows: list[rules.Row], policy: rules.Policy,
            segment: str) -> dict[str, str]:
    """Rule messages (untranslated, with %(name)s holes) → what the reader sees."""
    figures = {
        "days": policy.horizon_for(segment),
        "minimum": i18n.format_money(min(policy.min_installment_minor, debt_minor), currency),
        "total": i18n.format_money(sum(r.amount_minor for r in rows), currency),
        "debt": i18n.format_money(debt_minor, currency),
    }
    return {key: i18n.gettext(message, **figures) for key, message in errors.items()}


def rows_for_display(rows: list[rules.Row], currency: str) -> list[dict[str, str]]:
    """Installments as a form shows them (a filled-in proposal, a version to counter)."""
    return [{"date": local_input.date_input_value(r.due_date), "amount": local_input.amount_input_value(r.amount_minor, currency)} for r in rows]
