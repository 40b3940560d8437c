"""The matching rules as pure functions: which invoice numbers a payment text names, what a bank
line most likely pays and how sure that is, and a person's split."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from portal.bank import rules
from portal.bank.formats.model import clean_iban, iban_is_valid
from portal.bank.rules import DueInstallment, Evidence, OpenInvoice

DAY = dt.date(2026, 11, 1)


def invoice(id_: int, balance: int, *, client: int = 1, currency: str = "RON", due_offset: int = 0) -> OpenInvoice:
    return OpenInvoice(id_, f"INV-2026-{id_:05d}", client, currency, balance, DAY + dt.timedelta(days=due_offset))


# --- invoice numbers in a payment text ------------------------------------------------------------------

def test_an_invoice_number_is_found_however_the_payer_typed_it():
    for text in ("Plata factura INV-2026-00012", "inv 2026 12", "INV/2026/00012 si altele", "contravaloare 2026-12",
                 "INV202600012", "Rechnung Nr. 2026.00012", "számla: INV 2026-0012"):
        assert (2026, 12) in rules.invoice_references(text), text


def test_a_text_without_an_invoice_number_names_none_and_dates_or_amounts_are_not_taken_for_one():
    assert rules.invoice_references("Avans comanda cutii") == set()
    assert rules.invoice_references("IBAN RO49AAAA1B31007593840000") == set()
    assert rules.invoice_references("") == set()
    assert rules.invoice_references("plata din 2026-11-30") == set()
    assert rules.invoice_references("plata din 30.11.2026 pentru INV-2026-00007") == {(2026, 7)}


def test_several_numbers_in_one_text_are_all_found_and_mapped_to_every_series():
    refs = rules.invoice_references("INV-2026-00012, INV-2026-00013")
    assert refs == {(2026, 12), (2026, 13)}
    assert rules.candidate_codes(refs, ["INV", "PRE"]) == ["INV-2026-00012", "INV-2026-00013", "PRE-2026-00012", "PRE-2026-00013"]


# --- what a line pays and how sure that is -------------------------------------------------------------

def test_the_named_invoice_with_its_exact_balance_is_the_surest_match():
    found = rules.match(11900, "RON", Evidence(named=(invoice(12, 11900),)))
    assert (found.client_id, found.allocations, found.credit_minor, found.confidence) == (1, ((12, 11900),), 0, 98)


def test_a_named_invoice_paid_in_part_by_an_unknown_payer_waits_for_a_person():
    found = rules.match(5000, "RON", Evidence(named=(invoice(12, 11900),)))
    assert found.allocations == ((12, 5000),) and found.confidence == 80 and "part payment" in found.reason


def test_a_named_invoice_paid_from_the_clients_known_account_is_booked_with_the_rest_as_credit():
    found = rules.match(15000, "RON", Evidence(named=(invoice(12, 11900),), payer_client=1, payer_client_name="Carpatia"))
    assert found.confidence == 95 and found.allocations == ((12, 11900),) and found.credit_minor == 3100


def test_an_invoice_of_another_client_than_the_payers_is_not_booked_without_a_person():
    found = rules.match(11900, "RON", Evidence(named=(invoice(12, 11900, client=2),), payer_client=1, payer_client_name="Carpatia"))
    assert found.confidence < 90 and "another client" in found.reason


def test_a_known_payer_paying_one_invoices_balance_books_that_invoice_not_the_oldest():
    open_ = (invoice(1, 5000, due_offset=0), invoice(2, 7000, due_offset=5))
    found = rules.match(7000, "RON", Evidence(payer_client=1, client_open=open_))
    assert found.allocations == ((2, 7000),) and found.confidence == 92


def test_a_known_payer_paying_its_oldest_invoices_together_books_them_all():
    open_ = (invoice(1, 5000), invoice(2, 7000, due_offset=5), invoice(3, 9000, due_offset=9))
    found = rules.match(12000, "RON", Evidence(payer_client=1, client_open=open_))
    assert found.allocations == ((1, 5000), (2, 7000)) and found.confidence == 90


def test_a_sum_of_invoices_that_are_not_the_oldest_is_found_but_confirmed_by_a_person():
    open_ = (invoice(1, 5000), invoice(2, 7000, due_offset=5), invoice(3, 9000, due_offset=9))
    found = rules.match(14000, "RON", Evidence(payer_client=1, client_open=open_))
    assert set(found.allocations) == {(1, 5000), (3, 9000)} and found.confidence == 85


def test_an_installment_of_the_accepted_schedule_is_recognised_by_its_amount():
    open_ = (invoice(1, 50000), invoice(2, 30000, due_offset=5))
    plan = DueInstallment(7, 1, "RON", 20000, "2026-12-15", (1, 2))
    found = rules.match(20000, "RON", Evidence(payer_client=1, payer_client_name="Carpatia", client_open=open_, installments=(plan,)))
    assert found.allocations == ((1, 20000),) and found.confidence == 93 and found.params["date"] == "2026-12-15"


def test_a_known_payer_with_nothing_matching_gets_the_oldest_suggested_below_the_threshold():
    found = rules.match(4000, "RON", Evidence(payer_client=1, client_open=(invoice(1, 5000), invoice(2, 7000, due_offset=3))))
    assert found.allocations == ((1, 4000),) and found.confidence == 60


def test_an_unknown_payer_and_no_number_is_no_match_at_all():
    found = rules.match(4000, "RON", Evidence())
    assert (found.client_id, found.allocations, found.confidence, found.reason) == (None, (), 0, rules.NO_MATCH_REASON)


def test_one_invoice_anywhere_with_the_amount_is_only_a_suggestion():
    found = rules.match(4000, "RON", Evidence(same_amount=(invoice(9, 4000, client=3),)))
    assert found.client_id == 3 and found.confidence == 55


def test_an_invoice_in_another_currency_is_never_matched():
    found = rules.match(11900, "RON", Evidence(named=(invoice(12, 11900, currency="EUR"),)))
    assert found.allocations == () and found.confidence == 0


# --- invariants --------------------------------------------------------------------------------------

balances = st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=0, max_size=8)


@st.composite
def evidence(draw):
    open_ = tuple(invoice(i + 1, b, due_offset=i, client=1) for i, b in enumerate(draw(balances)))
    named = tuple(draw(st.lists(st.sampled_from(open_), max_size=3, unique=True))) if open_ else ()
    known = draw(st.booleans())
    plan = ()
    if open_ and known and draw(st.booleans()):
        plan = (DueInstallment(1, 1, "RON", draw(st.integers(1, 10_000_000)), "2026-12-01", tuple(i.id for i in open_)),)
    return Evidence(named=named, payer_client=1 if known else None, client_open=open_ if known else (), installments=plan)


@given(amount=st.integers(min_value=1, max_value=50_000_000), found=evidence())
def test_a_match_never_books_more_than_the_money_received_nor_more_than_an_invoice_owes(amount, found):
    result = rules.match(amount, "RON", found)
    owed = {i.id: i.balance_minor for i in (*found.named, *found.client_open)}
    assert result.booked_minor <= amount
    assert result.booked_minor + result.credit_minor == amount
    assert all(0 < part <= owed[invoice_id] for invoice_id, part in result.allocations)
    assert len({invoice_id for invoice_id, _ in result.allocations}) == len(result.allocations)
    assert 0 <= result.confidence <= 100


@given(amount=st.integers(min_value=1, max_value=10_000_000),
       parts=st.dictionaries(st.integers(1, 6), st.integers(0, 5_000_000), max_size=6),
       owed=st.dictionaries(st.integers(1, 6), st.integers(1, 5_000_000), max_size=6))
def test_a_split_conserves_the_amount_or_is_refused(amount, parts, owed):
    split = rules.check_split(amount, parts, owed)
    if split.ok:
        assert sum(p for _, p in split.allocations) + split.credit_minor == amount
        assert split.credit_minor >= 0
        assert all(p <= owed[i] for i, p in split.allocations)
    else:
        assert split.allocations == () and split.errors


def test_a_split_names_the_field_that_is_wrong():
    split = rules.check_split(10000, {1: 6000, 2: 9000}, {1: 6000, 2: 8000})
    assert split.errors == {"part-2": "More than the invoice's balance."}
    split = rules.check_split(10000, {1: 6000, 2: 5000}, {1: 6000, 2: 8000})
    assert split.errors == {"split": "The parts add up to more than the money received."}


# --- identity ------------------------------------------------------------------------------------------

def test_ibans_are_checked_by_their_check_digits():
    assert iban_is_valid(clean_iban("RO49 AAAA 1B31 0075 9384 0000"))
    assert iban_is_valid("HU42117730161111101800000000")
    assert not iban_is_valid("RO49AAAA1B31007593840001")
    assert not iban_is_valid("not an iban")


def test_a_line_without_a_bank_reference_is_kept_once_by_what_it_says_and_twins_stay_two():
    key = dict(booked_on=DAY, amount_minor=100, currency="RON", text="x", payer_iban="RO1")
    assert rules.line_key(1, "", occurrence=1, **key) == rules.line_key(1, "", occurrence=1, **key)
    assert rules.line_key(1, "", occurrence=1, **key) != rules.line_key(1, "", occurrence=2, **key)
    assert rules.line_key(1, "REF-9", occurrence=1, **key) == "1:r:REF-9"
    assert rules.line_key(2, "REF-9", occurrence=1, **key) != rules.line_key(1, "REF-9", occurrence=1, **key)
