"""Pure invoice decisions: line and invoice totals in integer minor units, cancellation by credit
note, payment reversal, the staff list's filters and overdue buckets, and the staff money forms.

Rounding rule: VAT is computed per line on the line's net amount and rounded half away
from zero to the minor unit (portal.money.percent_of); invoice totals are sums of lines.
A credit note negates the stored lines exactly, so it always mirrors its invoice to the minor unit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.billing.tables import InvoiceKind, InvoiceStatus
from portal.messages import N_
from portal.money import CURRENCIES, percent_of
from portal.web.forms import Checked
from portal.web.i18n import format_money, gettext as _
from portal.web.local_input import amount_input_value, date_input_value, parse_amount, parse_date
from portal.web.sorting import Sort, parse_sort


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price_minor: int
    vat_rate_bp: int
    unit_cost_minor: int | None = None  # what one unit costs the firm (minor units of the invoice's currency); None: unknown

    @property
    def net_minor(self) -> int:
        return self.quantity * self.unit_price_minor

    @property
    def vat_minor(self) -> int:
        return percent_of(self.net_minor, self.vat_rate_bp)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True)
class Totals:
    net_minor: int
    vat_minor: int
    total_minor: int


def totals(lines: list[Line]) -> Totals:
    return Totals(
        net_minor=sum(line.net_minor for line in lines),
        vat_minor=sum(line.vat_minor for line in lines),
        total_minor=sum(line.total_minor for line in lines),
    )


def due_date(issue_date: dt.date, payment_terms_days: int) -> dt.date:
    return issue_date + dt.timedelta(days=payment_terms_days)


def invoice_code(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:05d}"


def status_after_payment(total_minor: int, paid_minor: int, current: str) -> str:
    if current == InvoiceStatus.CANCELLED:
        return current
    return InvoiceStatus.PAID if paid_minor >= total_minor else InvoiceStatus.ISSUED


# --- cancelling: a credit note mirrors the invoice, never a delete ------------------------------

def cancel_refusal(kind: str, status: str, paid_minor: int) -> str | None:
    """Why an invoice cannot be cancelled (a message id), or None."""
    if kind == InvoiceKind.CREDIT_NOTE:
        return N_("A credit note cannot be cancelled.")
    if status == InvoiceStatus.CANCELLED:
        return N_("This invoice is already cancelled.")
    if paid_minor > 0:
        return N_("This invoice has payments. Reverse them first, then cancel the invoice.")
    return None


def credit_note_lines(lines: list[dict]) -> list[dict]:
    """The invoice's stored lines negated exactly (no recomputation, so the totals mirror to the minor unit);
    a known unit cost is negated too, so the credit note takes back the margin the invoice showed."""
    return [
        {
            "position": line["position"], "description": line["description"], "quantity": line["quantity"],
            "unit_price_minor": -line["unit_price_minor"], "vat_rate_bp": line["vat_rate_bp"],
            "net_minor": -line["net_minor"], "vat_minor": -line["vat_minor"], "total_minor": -line["total_minor"],
            "unit_cost_minor": None if line.get("unit_cost_minor") is None else -line["unit_cost_minor"],
        }
        for line in lines
    ]


def balance_of(kind: str, status: str, total_minor: int, paid_minor: int) -> int:
    """What is still owed on a document: nothing on a cancelled invoice or a credit note."""
    if kind != InvoiceKind.INVOICE or status == InvoiceStatus.CANCELLED:
        return 0
    return total_minor - paid_minor


# --- reversing a payment -----------------------------------------------------------------------

def reversal_refusal(amount_minor: int, reverses: int | None, already_reversed: bool, method: str, *, card_allowed: bool) -> str | None:
    if reverses is not None or amount_minor < 0:
        return N_("A reversal cannot itself be reversed.")
    if already_reversed:
        return N_("This payment has already been reversed.")
    if method == "card" and not card_allowed:
        return N_("A card payment is reversed by refunding it in Stripe.")
    return None


# --- the staff invoices list: filters and overdue buckets ----------------------------------------

STATUS_FILTERS = {
    "open": N_("Open"),
    "paid": N_("Paid"),
    "cancelled": N_("Cancelled and credit notes"),
    "all": N_("All"),
}
DEFAULT_STATUS = "open"

# bucket -> (label, fewest days overdue, most days overdue); None is unbounded
OVERDUE_BUCKETS: dict[str, tuple[str, int | None, int | None]] = {
    "not_due": (N_("Not due yet"), None, 0),
    "overdue": (N_("Overdue (any)"), 1, None),
    "1_30": (N_("1–30 days overdue"), 1, 30),
    "31_60": (N_("31–60 days overdue"), 31, 60),
    "61_90": (N_("61–90 days overdue"), 61, 90),
    "90_plus": (N_("Over 90 days overdue"), 91, None),
}


def is_overdue(invoice: dict, today: dt.date) -> bool:
    """An issued invoice with a balance whose due date has passed (due today is not overdue);
    billing.conditions.overdue says it as a query condition."""
    return (
        invoice["kind"] == InvoiceKind.INVOICE and invoice["status"] == InvoiceStatus.ISSUED
        and invoice["total_minor"] > invoice["paid_minor"] and invoice["due_date"] < today
    )


def days_overdue(due_date: dt.date, today: dt.date) -> int:
    return max((today - due_date).days, 0)


def due_range(bucket: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The due dates (from, to; inclusive, None unbounded) of the open invoices in an overdue bucket."""
    _, fewest, most = OVERDUE_BUCKETS[bucket]
    due_from = today - dt.timedelta(days=most) if most is not None else None
    due_to = today - dt.timedelta(days=fewest) if fewest is not None else None
    return due_from, due_to


# the staff list's sortable columns (the `sort` parameter; a leading "-" sorts downwards)
INVOICE_SORTS = ("due", "issued", "number", "total")
DEFAULT_SORT = "due"
BY_DUE_DATE = Sort(DEFAULT_SORT)


@dataclass(frozen=True)
class InvoiceFilters:
    status: str = DEFAULT_STATUS
    client_id: int | None = None
    manager_id: int | None = None
    currency: str = ""
    bucket: str = ""  # a key of OVERDUE_BUCKETS; implies open invoices
    q: str = ""  # part of an invoice code
    sort: Sort = BY_DUE_DATE  # by one of INVOICE_SORTS

    def sorted_by(self, column: str) -> dict[str, str]:
        """The query string of a click on `column`'s header (the other filters kept)."""
        return {**self.query(), "sort": self.sort.flipped(column)}

    @property
    def narrowed(self) -> bool:
        """Filters beyond the status."""
        return bool(self.client_id or self.manager_id or self.currency or self.bucket or self.q)

    def query(self) -> dict[str, str]:
        """The filters as the list's query string parameters (for pager links)."""
        return {
            "status": self.status, "client": str(self.client_id or ""), "manager": str(self.manager_id or ""),
            "currency": self.currency, "overdue": self.bucket, "q": self.q, "sort": self.sort.param,
        }


def invoice_filters(status: str = "", client: str = "", manager: str = "", currency: str = "", overdue: str = "", q: str = "",
                    sort: str = "") -> InvoiceFilters:
    """The list's query parameters, cleaned: anything unknown is simply not a filter."""
    def an_id(raw: str) -> int | None:
        return int(raw) if raw.isdigit() and 0 < int(raw) <= 2_147_483_647 else None

    return InvoiceFilters(
        status=status if status in STATUS_FILTERS else DEFAULT_STATUS,
        client_id=an_id(client.strip()),
        manager_id=an_id(manager.strip()),
        currency=currency if currency in CURRENCIES else "",
        bucket=overdue if overdue in OVERDUE_BUCKETS else "",
        q=q.strip().upper().replace("%", "").replace("_", "")[:30],
        sort=parse_sort(sort, INVOICE_SORTS, DEFAULT_SORT),
    )


# --- staff forms: a manual payment, a split payment, a reason ---------------------------------------

MANUAL_METHODS = ("bank_transfer", "cash")
MAX_REASON = 500


def _check_received(form: dict[str, str], out: Checked, today: dt.date) -> None:

    out.values["received_on"] = parse_date(form.get("received_on", ""))
    if out.values["received_on"] is None:
        out.errors["received_on"] = _("Enter the date the money arrived, such as %(example)s.", example=date_input_value(today))
        return
    if out.values["received_on"] > today:
        out.errors["received_on"] = _("A payment cannot be received in the future.")


def _check_method_reference(form: dict[str, str], out: Checked) -> None:

    out.values["method"] = form.get("method", "")
    if out.values["method"] not in MANUAL_METHODS:
        out.errors["method"] = _("Choose how the money came: bank transfer or cash.")
    out.values["reference"] = form.get("reference", "")
    if len(out.values["reference"]) > 120:
        out.errors["reference"] = _("Keep the reference under 120 characters.")


def _amount(raw: str, currency: str, balance_minor: int) -> tuple[int | None, str | None]:

    try:
        amount = parse_amount(raw, currency)
    except ValueError:
        return None, _("Enter an amount such as %(example)s.", example=amount_input_value(125050, currency))
    if amount <= 0:
        return None, _("The amount must be more than zero.")
    if amount > balance_minor:
        return None, _("The amount is more than the balance (%(balance)s).", balance=format_money(balance_minor, currency))
    return amount, None


def check_manual_payment(form: dict[str, str], currency: str, balance_minor: int, today: dt.date) -> Checked:
    """A bank transfer or cash received for one invoice: amount (at most its balance), date, method, reference."""

    out = Checked()
    out.values["amount_minor"], error = _amount(form.get("amount", ""), currency, balance_minor)
    if error:
        out.errors["amount"] = error
    _check_received(form, out, today)
    _check_method_reference(form, out)
    return out


def amount_field(invoice_id: int) -> str:
    return f"amount-{invoice_id}"


def check_split_payment(form: dict[str, str], open_invoices: list[dict], today: dt.date) -> Checked:
    """One payment over several open invoices of a client: an amount per invoice (blank: not this one),
    all in one currency. values: currency, allocations [(invoice_id, amount_minor)], received_on, method, reference."""

    out = Checked()
    allocations = []
    currencies = set()
    for invoice in open_invoices:
        name = amount_field(invoice["id"])
        if not form.get(name, ""):
            continue
        amount, error = _amount(form[name], invoice["currency"], invoice["total_minor"] - invoice["paid_minor"])
        if error:
            out.errors[name] = error
            continue
        allocations.append((invoice["id"], amount))
        currencies.add(invoice["currency"])
    if not allocations and not out.errors:
        out.errors["amounts"] = _("Enter an amount for at least one invoice.")
    if len(currencies) > 1:
        out.errors["amounts"] = _("One payment is in one currency: choose invoices in the same currency.")
    out.values["allocations"] = allocations
    out.values["currency"] = currencies.pop() if len(currencies) == 1 else ""
    _check_received(form, out, today)
    _check_method_reference(form, out)
    return out


def check_reason(form: dict[str, str], missing: str) -> Checked:
    """A required reason of at most MAX_REASON characters; `missing` says what to write."""

    out = Checked()
    out.values["reason"] = form.get("reason", "")
    if not out.values["reason"]:
        out.errors["reason"] = missing
    elif len(out.values["reason"]) > MAX_REASON:
        out.errors["reason"] = _("Keep the reason under %(n)s characters.", n=MAX_REASON)
    return out


def is_upcoming(invoice: dict, today: dt.date) -> bool:
    """An issued invoice with a balance that is not yet overdue."""
    return (
        invoice["kind"] == InvoiceKind.INVOICE and invoice["status"] == InvoiceStatus.ISSUED
        and invoice["total_minor"] > invoice["paid_minor"] and invoice["due_date"] >= today
    )
