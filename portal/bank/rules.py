"""Pure decisions about money from the bank: which invoice numbers a payment text names, what a
bank line most likely pays and how sure that is (with the reason a person reads), how a sum is
spread over invoices, a split checked, an IBAN checked, and the key that keeps a line once.

Confidence is a number from 0 to 100; a bank account books at once what reaches its threshold
(90 unless changed) and queues the rest for a person. The ladder of evidence, surest first:
the text names the invoice and the amount is its balance; the text names it and the payer's
account is known for its client; the amount is an installment of the client's accepted repayment
schedule; the amount is the balance of one open invoice of the known payer, or of its oldest
ones together; then suggestions that a person confirms.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from itertools import combinations

from portal.messages import N_

SUBSET_SEARCH_LIMIT = 12  # a client's open invoices tried in every combination (2^12 sums) for an amount


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    code: str
    client_id: int
    currency: str
    balance_minor: int
    due_date: object  # a date; only its order matters here


@dataclass(frozen=True)
class DueInstallment:
    """The next unpaid installment of a client's accepted repayment schedule."""

    schedule_id: int
    client_id: int
    currency: str
    amount_minor: int
    due_date: object
    invoice_ids: tuple[int, ...]  # the schedule's invoices, oldest first


@dataclass(frozen=True)
class Evidence:
    """What the database knows about one bank line (gathered for a whole file at once)."""

    named: tuple[OpenInvoice, ...] = ()  # open invoices whose number the text names
    payer_client: int | None = None  # the client the payer's IBAN is known for
    payer_client_name: str = ""
    client_open: tuple[OpenInvoice, ...] = ()  # the payer client's open invoices in the line's currency, oldest due first
    installments: tuple[DueInstallment, ...] = ()  # the payer client's next installments
    same_amount: tuple[OpenInvoice, ...] = ()  # open invoices of any client whose balance is the amount (at most two)


@dataclass(frozen=True)
class Match:
    client_id: int | None
    allocations: tuple[tuple[int, int], ...]  # (invoice id, amount), in booking order
    credit_minor: int  # the rest, kept as the client's credit
    confidence: int
    reason: str  # a message id (N_), python-format with `params`
    params: dict = field(default_factory=dict)

    @property
    def booked_minor(self) -> int:
        return sum(amount for _, amount in self.allocations)


NO_MATCH_REASON = N_("Neither the payment text nor the payer's account points to a client.")


def invoice_references(text: str) -> set[tuple[int, int]]:
    """(year, number) pairs a payment text names: "INV-2026-00012", "inv 2026 12", "2026/00012",
    "INV202600012", "Rechnung 2026-12". A year is 2000-2099; a number has 1 to 6 digits; a date
    ("2026-11-30", "2026.11.30") is not taken for a number."""
    found: set[tuple[int, int]] = set()
    upper = text.upper()
    for year, number in re.findall(r"(?<!\d)(20\d\d)[\s\-/_.#]*0*(\d{1,6})(?!\d)(?![\-/.]\d)", upper):
        found.add((int(year), int(number)))
    # glued to the series: INV202600012 (the year and a zero-padded number of five digits)
    for year, number in re.findall(r"[A-Z](20\d\d)(\d{5})(?!\d)", upper):
        found.add((int(year), int(number)))
    return {(year, number) for year, number in found if number > 0}


def candidate_codes(references: set[tuple[int, int]], series: list[str]) -> list[str]:
    """The invoice codes ("<series>-<year>-<number:05d>") the references can mean."""
    return sorted({f"{s}-{year}-{number:05d}" for s in series for year, number in references})


def spread(amount_minor: int, invoices: list[OpenInvoice] | tuple[OpenInvoice, ...]) -> tuple[tuple[tuple[int, int], ...], int]:
    """The amount over the invoices in their order, each up to its balance; returns (allocations, rest)."""
    allocations, left = [], amount_minor
    for invoice in invoices:
        if left <= 0:
            break
        share = min(left, invoice.balance_minor)
        if share > 0:
            allocations.append((invoice.id, share))
            left -= share
    return tuple(allocations), left


def match(amount_minor: int, currency: str, evidence: Evidence) -> Match:
    """The most likely use of money received (amount_minor > 0) and how sure it is."""
    named = [i for i in evidence.named if i.currency == currency and i.balance_minor > 0]
    if evidence.payer_client is not None:
        own = [i for i in named if i.client_id == evidence.payer_client]
        if own:
            return _named(amount_minor, own, payer_known=True)
        if named:
            allocations, rest = spread(amount_minor, named)
            return Match(named[0].client_id, allocations, rest, 60,
                         N_("The text names %(codes)s of another client than the one this account is known for (%(client)s)."),
                         {"codes": _codes(named), "client": evidence.payer_client_name})
        return _known_payer(amount_minor, currency, evidence)
    if named:
        clients = {i.client_id for i in named}
        if len(clients) == 1:
            return _named(amount_minor, named, payer_known=False)
        return Match(None, (), amount_minor, 40, N_("The text names %(codes)s, which belong to different clients."),
                     {"codes": _codes(named)})
    same = [i for i in evidence.same_amount if i.currency == currency]
    if len(same) == 1:
        return Match(same[0].client_id, ((same[0].id, amount_minor),), 0, 55,
                     N_("Only %(code)s has this balance, but the payer is not known."), {"code": same[0].code})
    return Match(None, (), amount_minor, 0, NO_MATCH_REASON, {})


def _named(amount_minor: int, named: list[OpenInvoice], *, payer_known: bool) -> Match:
    balance = sum(i.balance_minor for i in named)
    allocations, rest = spread(amount_minor, named)
    client_id, codes = named[0].client_id, _codes(named)
    if amount_minor == balance:
        return Match(client_id, allocations, 0, 98, N_("The text names %(codes)s and the amount is its balance."), {"codes": codes})
    if payer_known:
        return Match(client_id, allocations, rest, 95,
                     N_("The text names %(codes)s and the payer's account is known for this client."), {"codes": codes})
    if amount_minor < balance:
        return Match(client_id, allocations, 0, 80,
                     N_("The text names %(codes)s; the amount is less than its balance (a part payment)."), {"codes": codes})
    return Match(client_id, allocations, rest, 80,
                 N_("The text names %(codes)s; the amount is more than its balance, the rest would be credit."), {"codes": codes})


def _known_payer(amount_minor: int, currency: str, evidence: Evidence) -> Match:
    client_id, name = evidence.payer_client, evidence.payer_client_name
    open_invoices = [i for i in evidence.client_open if i.currency == currency and i.balance_minor > 0]
    by_id = {i.id: i for i in open_invoices}
    for installment in evidence.installments:
        if installment.currency == currency and installment.amount_minor == amount_minor:
            covered = [by_id[i] for i in installment.invoice_ids if i in by_id]
            allocations, rest = spread(amount_minor, covered)
            return Match(client_id, allocations, rest, 93,
                         N_("The amount is the installment due %(date)s of %(client)s's repayment schedule."),
                         {"date": installment.due_date, "client": name})
    equal = [i for i in open_invoices if i.balance_minor == amount_minor]
    if equal:
        sure = 92 if len(equal) == 1 else 85
        reason = (N_("The payer's account is known for %(client)s and the amount is the balance of %(code)s.") if len(equal) == 1 else
                  N_("The payer's account is known for %(client)s; %(code)s is the oldest of several invoices with this balance."))
        return Match(client_id, ((equal[0].id, amount_minor),), 0, sure, reason, {"client": name, "code": equal[0].code})
    running = 0
    for count, invoice in enumerate(open_invoices, start=1):
        running += invoice.balance_minor
        if running == amount_minor and count > 1:
            allocations, _ = spread(amount_minor, open_invoices[:count])
            return Match(client_id, allocations, 0, 90,
                         N_("The payer's account is known for %(client)s and the amount is the balance of its %(count)s oldest invoices."),
                         {"client": name, "count": count})
    subset = _subset_with_sum(open_invoices[:SUBSET_SEARCH_LIMIT], amount_minor)
    if subset:
        return Match(client_id, tuple((i.id, i.balance_minor) for i in subset), 0, 85,
                     N_("The payer's account is known for %(client)s and the amount is the balance of %(codes)s together."),
                     {"client": name, "codes": _codes(subset)})
    allocations, rest = spread(amount_minor, open_invoices)
    if not allocations:
        return Match(client_id, (), amount_minor, 60,
                     N_("The payer's account is known for %(client)s, which has no open invoice: the money would be its credit."),
                     {"client": name})
    return Match(client_id, allocations, rest, 60,
                 N_("The payer's account is known for %(client)s, but no invoice has this balance: the oldest are suggested."),
                 {"client": name})


def _subset_with_sum(invoices: list[OpenInvoice], amount_minor: int) -> list[OpenInvoice] | None:
    for size in range(2, len(invoices) + 1):
        for chosen in combinations(invoices, size):
            if sum(i.balance_minor for i in chosen) == amount_minor:
                return list(chosen)
    return None


def _codes(invoices: list[OpenInvoice] | tuple[OpenInvoice, ...]) -> str:
    return ", ".join(i.code for i in invoices)


# --- a person's split -------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    allocations: tuple[tuple[int, int], ...]
    credit_minor: int
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_split(amount_minor: int, parts: dict[int, int], balances: dict[int, int]) -> Split:
    """Parts of a received amount put on invoices (invoice id -> amount, 0 = none); the rest is
    credit. Each part is at most its invoice's balance and together at most the amount."""
    errors: dict[str, str] = {}
    allocations = []
    for invoice_id, part in parts.items():
        if part < 0:
            errors[f"part-{invoice_id}"] = N_("An amount cannot be negative.")
        elif invoice_id not in balances:
            errors[f"part-{invoice_id}"] = N_("This invoice is no longer open.")
        elif part > balances[invoice_id]:
            errors[f"part-{invoice_id}"] = N_("More than the invoice's balance.")
        elif part > 0:
            allocations.append((invoice_id, part))
    total = sum(part for _, part in allocations)
    if total > amount_minor:
        errors["split"] = N_("The parts add up to more than the money received.")
    if errors:
        return Split((), 0, errors)
    return Split(tuple(allocations), amount_minor - total, {})


# --- identity -----------------------------------------------------------------------------------


def line_key(account_id: int, bank_reference: str, *, booked_on: object, amount_minor: int, currency: str,
             text: str, payer_iban: str, occurrence: int) -> str:
    """What keeps a bank line once: the bank's reference, or where the bank gives none a hash of
    what the line says (`occurrence` tells apart identical lines within one statement)."""
    if bank_reference:
        return f"{account_id}:r:{bank_reference}"[:100]
    digest = hashlib.sha256(f"{booked_on}|{amount_minor}|{currency}|{payer_iban}|{text}|{occurrence}".encode()).hexdigest()
    return f"{account_id}:h:{digest[:40]}"
