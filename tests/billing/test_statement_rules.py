"""The client's account as pure functions: where an invoice stands, what is owed per currency,
and the statement's running balance (closing = opening + debits - credits, per currency)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from portal.billing.statements import rules
from portal.billing.statements.rules import CREDIT, INVOICE, PAYMENT, REVERSAL, Entry, Standing

TODAY = dt.date(2026, 3, 10)


def inv(due: dt.date = TODAY, *, kind: str = "invoice", status: str = "issued", total: int = 10_000, paid: int = 0,
        currency: str = "RON", issued: dt.date = dt.date(2026, 2, 1), id: int = 1, code: str = "INV-2026-00001") -> dict:
    return {"id": id, "code": code, "kind": kind, "status": status, "currency": currency, "issue_date": issued,
            "due_date": due, "total_minor": total, "paid_minor": paid}


# --- where an invoice stands ------------------------------------------------------------------

def test_standing_at_the_day_boundaries():
    assert rules.standing(inv(TODAY + dt.timedelta(days=5)), TODAY) == Standing("due", 5)
    assert rules.standing(inv(TODAY + dt.timedelta(days=1)), TODAY) == Standing("due", 1)
    assert rules.standing(inv(TODAY), TODAY) == Standing("due_today")  # due today is not overdue yet
    assert rules.standing(inv(TODAY - dt.timedelta(days=1)), TODAY) == Standing("overdue", 1)
    assert rules.standing(inv(TODAY - dt.timedelta(days=12)), TODAY) == Standing("overdue", 12)


def test_paid_cancelled_and_credit_notes_are_never_overdue():
    past = TODAY - dt.timedelta(days=40)
    assert rules.standing(inv(past, status="paid", paid=10_000), TODAY) == Standing("paid")
    assert rules.standing(inv(past, status="cancelled"), TODAY) == Standing("cancelled")
    assert rules.standing(inv(past, kind="credit_note", total=-10_000), TODAY) == Standing("credit_note")
    assert rules.standing(inv(past, paid=10_000), TODAY) == Standing("paid")  # nothing left to pay
    assert Standing("overdue", 3).tone == "danger" and Standing("due_today").tone == "warn" and Standing("paid").tone == "ok"


def test_what_is_still_to_pay():
    assert rules.to_pay(inv(total=10_000, paid=2_500)) == 7_500
    assert rules.to_pay(inv(status="cancelled", total=10_000, paid=2_500)) == 0
    assert rules.to_pay(inv(kind="credit_note", total=-10_000)) == 0
    assert rules.to_pay(inv(status="paid", total=10_000, paid=10_000)) == 0


# --- what is owed -----------------------------------------------------------------------------

def test_balances_are_per_currency_and_split_out_the_overdue_part():
    rows = [
        inv(TODAY - dt.timedelta(days=3), total=10_000, paid=4_000),  # RON overdue 6 000
        inv(TODAY, total=5_000),  # RON due today: open, not overdue
        inv(TODAY - dt.timedelta(days=1), currency="EUR", total=2_000),  # EUR overdue
        inv(TODAY - dt.timedelta(days=9), status="paid", total=7_000, paid=7_000),  # paid: nothing
        inv(TODAY - dt.timedelta(days=9), status="cancelled", total=7_000),  # cancelled: nothing
        inv(TODAY - dt.timedelta(days=9), kind="credit_note", total=-7_000),  # credit note: nothing
    ]
    assert rules.balances(rows, TODAY) == [
        rules.Balance("EUR", open_minor=2_000, overdue_minor=2_000, open_count=1, overdue_count=1),
        rules.Balance("RON", open_minor=11_000, overdue_minor=6_000, open_count=2, overdue_count=1),
    ]
    assert rules.balances([], TODAY) == []


# --- ledger entries ---------------------------------------------------------------------------

def test_a_cancelled_invoice_counts_only_with_the_credit_note_that_cancels_it():
    day = dt.date(2026, 2, 1)
    rows = [
        inv(id=1, code="A", issued=day, status="cancelled", total=5_000),  # cancelled by credit note 3
        inv(id=2, code="B", issued=day, status="cancelled", total=9_000),  # voided without one: never took effect
        inv(id=3, code="CN", issued=day, kind="credit_note", total=-5_000),
        inv(id=4, code="CN-void", issued=day, kind="credit_note", status="cancelled", total=-1_000),
    ]
    entries = rules.invoice_entries(rows, credited_ids={1})
    assert [(e.kind, e.reference, e.debit_minor, e.credit_minor) for e in entries] == [
        (INVOICE, "A", 5_000, 0), (CREDIT, "CN", 0, 5_000),
    ]


def test_a_reversal_is_a_negative_credit():
    day = dt.date(2026, 2, 1)
    entries = rules.payment_entries([
        {"id": 1, "currency": "RON", "amount_minor": 4_000, "method": "bank_transfer", "received_on": day, "reference": "OP 1", "reverses": None},
        {"id": 2, "currency": "RON", "amount_minor": -4_000, "method": "bank_transfer", "received_on": day,
         "reference": "Entered twice by mistake", "reverses": 1},  # staff's reason: not for the client
    ])
    assert [(e.kind, e.credit_minor, e.reference) for e in entries] == [(PAYMENT, 4_000, "OP 1"), (REVERSAL, -4_000, "")]


# --- the statement ----------------------------------------------------------------------------

D = dt.date


def test_statement_by_hand_with_a_partial_payment_a_credit_note_and_a_reversal():
    entries = [
        Entry(D(2026, 1, 10), "RON", INVOICE, 1, "INV-1", debit_minor=119_000),
        Entry(D(2026, 1, 25), "RON", PAYMENT, 1, "OP 1", "bank_transfer", credit_minor=50_000),  # partial, before the period
        Entry(D(2026, 2, 3), "RON", INVOICE, 2, "INV-2", debit_minor=23_800),
        Entry(D(2026, 2, 10), "RON", PAYMENT, 2, "OP 2", "bank_transfer", credit_minor=40_000),
        Entry(D(2026, 2, 12), "RON", CREDIT, 3, "CN-1", credit_minor=23_800),
        Entry(D(2026, 2, 15), "RON", REVERSAL, 4, "", "bank_transfer", credit_minor=-40_000),
        Entry(D(2026, 2, 7), "EUR", INVOICE, 5, "INV-3", debit_minor=10_000),
        Entry(D(2026, 3, 5), "RON", INVOICE, 6, "INV-4", debit_minor=99_999),  # after the period: ignored
    ]
    eur, ron = rules.statement(entries, D(2026, 2, 1), D(2026, 2, 28))
    assert ron.currency == "RON" and ron.opening_minor == 69_000  # 119 000 - 50 000
    assert [(line.entry.reference, line.balance_minor) for line in ron.lines] == [
        ("INV-2", 92_800), ("OP 2", 52_800), ("CN-1", 29_000), ("", 69_000),
    ]
    assert (ron.debits_minor, ron.credits_minor, ron.closing_minor) == (23_800, 23_800, 69_000)
    assert (eur.currency, eur.opening_minor, eur.closing_minor, len(eur.lines)) == ("EUR", 0, 10_000, 1)


def test_same_day_order_is_invoices_then_credit_notes_then_payments():
    day = D(2026, 2, 2)
    entries = [
        Entry(day, "RON", PAYMENT, 1, "pay", credit_minor=100),
        Entry(day, "RON", CREDIT, 9, "cn", credit_minor=100),
        Entry(day, "RON", INVOICE, 5, "inv", debit_minor=300),
    ]
    (ron,) = rules.statement(entries, day, day)
    assert [line.entry.reference for line in ron.lines] == ["inv", "cn", "pay"]
    assert [line.balance_minor for line in ron.lines] == [300, 200, 100]


def test_a_quiet_currency_is_left_out_but_a_carried_balance_is_shown():
    entries = [
        Entry(D(2026, 1, 1), "EUR", INVOICE, 1, "a", debit_minor=500),
        Entry(D(2026, 1, 2), "EUR", PAYMENT, 1, "b", credit_minor=500),  # settled before the period
        Entry(D(2026, 1, 3), "USD", INVOICE, 2, "c", debit_minor=700),  # still owed
    ]
    (usd,) = rules.statement(entries, D(2026, 2, 1), D(2026, 2, 28))
    assert (usd.currency, usd.opening_minor, usd.lines, usd.closing_minor) == ("USD", 700, (), 700)


CURRENCIES = ("RON", "EUR", "HUF")
entry_strategy = st.builds(
    lambda day, currency, kind, object_id, amount: Entry(
        D(2026, 1, 1) + dt.timedelta(days=day), currency, kind, object_id,
        debit_minor=amount if kind == INVOICE else 0,
        credit_minor=0 if kind == INVOICE else (-amount if kind == REVERSAL else amount),
    ),
    st.integers(0, 120), st.sampled_from(CURRENCIES), st.sampled_from((INVOICE, CREDIT, PAYMENT, REVERSAL)),
    st.integers(1, 10_000), st.integers(0, 10**9),
)


@given(st.lists(entry_strategy, max_size=60), st.integers(0, 120), st.integers(0, 60))
def test_closing_is_opening_plus_debits_minus_credits_per_currency(entries, start, length):
    date_from = D(2026, 1, 1) + dt.timedelta(days=start)
    date_to = date_from + dt.timedelta(days=length)
    result = rules.statement(entries, date_from, date_to)
    assert [s.currency for s in result] == sorted({s.currency for s in result})
    for s in result:
        assert s.closing_minor == s.opening_minor + s.debits_minor - s.credits_minor
        mine = [e for e in entries if e.currency == s.currency]
        # the opening balance is everything before the period; the closing everything up to its end
        assert s.opening_minor == sum(e.debit_minor - e.credit_minor for e in mine if e.day < date_from)
        assert s.closing_minor == sum(e.debit_minor - e.credit_minor for e in mine if e.day <= date_to)
        assert all(date_from <= line.entry.day <= date_to and line.entry.currency == s.currency for line in s.lines)
        days = [line.entry.day for line in s.lines]
        assert days == sorted(days)
        balance = s.opening_minor
        for line in s.lines:
            balance += line.entry.debit_minor - line.entry.credit_minor
            assert line.balance_minor == balance
    shown = {s.currency for s in result}
    for currency in set(CURRENCIES) - shown:  # a currency left out had nothing to show
        assert not any(e.currency == currency and date_from <= e.day <= date_to for e in entries)
        assert sum(e.debit_minor - e.credit_minor for e in entries if e.currency == currency and e.day < date_from) == 0


# --- the period form --------------------------------------------------------------------------

def test_the_period_defaults_to_the_last_90_days():
    checked = rules.check_period({}, TODAY)
    assert checked.ok and checked.values == {"from": TODAY - dt.timedelta(days=89), "to": TODAY}
    assert (checked.values["to"] - checked.values["from"]).days + 1 == 90


def test_bad_period_dates_are_errors_beside_their_field():
    assert rules.check_period({"from": "2026-02-30", "to": "2026-03-01"}, TODAY).errors.keys() == {"from"}
    assert rules.check_period({"from": "yesterday", "to": ""}, TODAY).errors == {
        "from": "Enter a date such as {}.".format(TODAY.strftime("%d/%m/%Y")), "to": "Enter a date."}
    assert rules.check_period({"from": "20260101", "to": "2026-03-01"}, TODAY).errors.keys() == {"from"}
    backwards = rules.check_period({"from": "2026-03-02", "to": "2026-03-01"}, TODAY)
    assert backwards.errors == {"to": "The end of the period must be on or after its start."}
    assert rules.check_period({"from": "2026-03-01", "to": "2026-03-01"}, TODAY).ok  # one day is a period
