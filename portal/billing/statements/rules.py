"""Pure rules of the client's account: where an invoice stands in plain words, what is owed per
currency, and the statement of account with its running balance. No I/O, no clock: `today` is
an argument. Amounts are integer minor units and are never added across currencies.

The ledger the statement shows, per currency (balance = debits - credits; positive: the client owes):
- debit: every invoice (kind "invoice") on its issue date, for its total. A cancelled invoice stays
  on the ledger when a credit note refers to it (the two offset each other, as on paper); a
  cancelled invoice that no credit note refers to never took effect and is left out.
- credit: every credit note on its issue date, for the size of its total (whatever sign it is
  stored with); a cancelled credit note is left out.
- credit: every payment on the day it was received; a reversal (negative amount) is a negative credit.
On one day: invoices first, then credit notes, then payments, each in the order they were recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from portal.billing.tables import InvoiceKind, InvoiceStatus
from portal.messages import N_, NP_
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import date_input_value, parse_date

# --- where an invoice stands ------------------------------------------------------------------

PAID, CANCELLED, CREDIT_NOTE, DUE, DUE_TODAY, OVERDUE = "paid", "cancelled", "credit_note", "due", "due_today", "overdue"
TONES = {PAID: "ok", CANCELLED: "neutral", CREDIT_NOTE: "neutral", DUE: "info", DUE_TODAY: "warn", OVERDUE: "danger"}
STANDING_WORDS = {PAID: N_("Paid"), CANCELLED: N_("Cancelled"), CREDIT_NOTE: N_("Credit note"), DUE_TODAY: N_("Due today"),
                  "due_tomorrow": N_("Due tomorrow")}
DUE_IN = NP_("Due in %(num)s day", "Due in %(num)s days")
OVERDUE_BY = NP_("Overdue by %(num)s day", "Overdue by %(num)s days")


@dataclass(frozen=True)
class Standing:
    """Where an invoice stands: `kind` (PAID, DUE, OVERDUE ...) and, for DUE and OVERDUE, how many
    days until or since its due date. The page words it ("Due in 5 days", "Overdue by 12 days")."""

    kind: str
    days: int = 0

    @property
    def tone(self) -> str:
        return TONES[self.kind]


def standing_message(s: Standing) -> tuple[str, str, int]:
    """The words for a standing as (singular, plural, n) message ids; plural is "" when the words
    do not depend on a number."""
    if s.kind == DUE:
        return (STANDING_WORDS["due_tomorrow"], "", 0) if s.days == 1 else (*DUE_IN, s.days)
    if s.kind == OVERDUE:
        return (*OVERDUE_BY, s.days)
    return (STANDING_WORDS[s.kind], "", 0)


def to_pay(invoice: dict) -> int:
    """What is still to pay on an invoice: nothing on a credit note or a cancelled invoice."""
    if invoice["kind"] != InvoiceKind.INVOICE or invoice["status"] == InvoiceStatus.CANCELLED:
        return 0
    return max(invoice["total_minor"] - invoice["paid_minor"], 0)


def standing(invoice: dict, today: dt.date) -> Standing:
    """Due on its due date, overdue from the day after."""
    if invoice["kind"] == InvoiceKind.CREDIT_NOTE:
        return Standing(CREDIT_NOTE)
    if invoice["status"] == InvoiceStatus.CANCELLED:
        return Standing(CANCELLED)
    if invoice["status"] == InvoiceStatus.PAID or to_pay(invoice) == 0:
        return Standing(PAID)
    days = (invoice["due_date"] - today).days
    if days > 0:
        return Standing(DUE, days)
    if days == 0:
        return Standing(DUE_TODAY)
    return Standing(OVERDUE, -days)


# --- what is owed -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Balance:
    """What is still to pay in one currency on the open invoices, and how much of it is overdue."""

    currency: str
    open_minor: int
    overdue_minor: int
    open_count: int
    overdue_count: int


def balances(invoices: Iterable[dict], today: dt.date) -> list[Balance]:
    """One Balance per currency with something still to pay, by currency code. The pages read it
    summed by the database (statements.balances), which is tested equal to this."""
    sums: dict[str, list[int]] = {}
    for invoice in invoices:
        amount = to_pay(invoice)
        if amount <= 0:
            continue
        row = sums.setdefault(invoice["currency"], [0, 0, 0, 0])
        row[0] += amount
        row[2] += 1
        if invoice["due_date"] < today:
            row[1] += amount
            row[3] += 1
    return [Balance(currency, *row) for currency, row in sorted(sums.items())]


# --- the statement of account -----------------------------------------------------------------

INVOICE, CREDIT, PAYMENT, REVERSAL = "invoice", "credit_note", "payment", "reversal"
_SAME_DAY_ORDER = {INVOICE: 0, CREDIT: 1, PAYMENT: 2, REVERSAL: 2}


@dataclass(frozen=True)
class Entry:
    """One movement on the client's account. `object_id` is the invoice's or the payment's id."""

    day: dt.date
    currency: str
    kind: str  # INVOICE, CREDIT, PAYMENT, REVERSAL
    object_id: int
    reference: str = ""  # the invoice's code, or the payment's reference
    method: str = ""  # payments: bank_transfer, cash, card
    debit_minor: int = 0
    credit_minor: int = 0

    @property
    def sort_key(self) -> tuple:
        return (self.day, _SAME_DAY_ORDER[self.kind], self.object_id)


@dataclass(frozen=True)
class Line:
    entry: Entry
    balance_minor: int  # the running balance after this entry


@dataclass(frozen=True)
class CurrencyStatement:
    currency: str
    opening_minor: int
    lines: tuple[Line, ...]
    debits_minor: int
    credits_minor: int
    closing_minor: int


def invoice_entries(invoices: Iterable[dict], credited_ids: set[int]) -> list[Entry]:
    """Invoices and credit notes as ledger entries (see the module's docstring for what counts).
    `credited_ids`: the ids of the invoices a (not cancelled) credit note refers to."""
    entries = []
    for row in invoices:
        if row["kind"] == InvoiceKind.CREDIT_NOTE:
            if row["status"] == InvoiceStatus.CANCELLED:
                continue
            entries.append(Entry(row["issue_date"], row["currency"], CREDIT, row["id"], row["code"], credit_minor=abs(row["total_minor"])))
        elif row["status"] != InvoiceStatus.CANCELLED or row["id"] in credited_ids:
            entries.append(Entry(row["issue_date"], row["currency"], INVOICE, row["id"], row["code"], debit_minor=row["total_minor"]))
    return entries


def is_reversal(payment: dict) -> bool:
    return payment["amount_minor"] < 0 or bool(payment.get("reverses"))


def payment_entries(payments: Iterable[dict]) -> list[Entry]:
    """Payments as credits; a reversal (a negative amount) as a negative credit. A reversal's
    reference is the reason staff wrote for it, for staff: the client is not shown it."""
    return [
        Entry(row["received_on"], row["currency"], REVERSAL if is_reversal(row) else PAYMENT, row["id"],
              "" if is_reversal(row) else row.get("reference") or "", row.get("method") or "", credit_minor=row["amount_minor"])
        for row in payments
    ]


def running(opening_minor: int, entries: Iterable[Entry]) -> list[Line]:
    """The entries with the balance after each one, starting from `opening_minor` (entries in order)."""
    balance = opening_minor
    lines = []
    for entry in entries:
        balance += entry.debit_minor - entry.credit_minor
        lines.append(Line(entry, balance))
    return lines


def statement(entries: Iterable[Entry], date_from: dt.date, date_to: dt.date) -> list[CurrencyStatement]:
    """Per currency: the balance before `date_from`, every entry from `date_from` to `date_to` (both
    included) in date order with the running balance, the period's debits and credits, and the
    closing balance. Entries after `date_to` are ignored; a currency with neither an opening
    balance nor a movement in the period is left out."""
    by_currency: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.day <= date_to:
            by_currency.setdefault(entry.currency, []).append(entry)
    out = []
    for currency, items in sorted(by_currency.items()):
        opening = sum(e.debit_minor - e.credit_minor for e in items if e.day < date_from)
        in_period = sorted((e for e in items if e.day >= date_from), key=lambda e: e.sort_key)
        if not in_period and opening == 0:
            continue
        lines = running(opening, in_period)
        out.append(CurrencyStatement(
            currency=currency,
            opening_minor=opening,
            lines=tuple(lines),
            debits_minor=sum(e.debit_minor for e in in_period),
            credits_minor=sum(e.credit_minor for e in in_period),
            closing_minor=lines[-1].balance_minor if lines else opening,
        ))
    return out


# --- the period form --------------------------------------------------------------------------

DEFAULT_DAYS = 90


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 90 days, today included."""
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def check_period(query: dict[str, str], today: dt.date) -> Checked:
    """The statement's `from` and `to` dates. A date left out of the query takes its default (the
    last 90 days); one sent empty or malformed is an error beside its field, in the reader's language."""
    checked = Checked()
    defaults = dict(zip(("from", "to"), default_period(today), strict=True))
    for name in ("from", "to"):
        raw = query.get(name)
        if raw is None:
            checked.values[name] = defaults[name]
            continue
        raw = raw.strip()
        checked.values[name] = parse_date(raw)
        if checked.values[name] is None:
            checked.errors[name] = _("Enter a date such as %(example)s.", example=date_input_value(today)) if raw else _("Enter a date.")
    if not checked.errors and checked.values["from"] > checked.values["to"]:
        checked.errors["to"] = _("The end of the period must be on or after its start.")
    return checked
