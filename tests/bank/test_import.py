"""Statements imported into an account: matched lines booked through the one payment path, the
rest queued, nothing twice, nothing half-imported; the queue's decisions. Both databases."""

from __future__ import annotations

import json

import pytest

from portal.bank import service as bank
from portal.bank.formats import StatementError
from portal.bank.tables import BankImport, BankLine, LineStatus, PayerAccount
from portal.billing import service as billing
from portal.billing.tables import Payment
from portal.dunning.escalation.service import states_of
from portal.tick import run_dunning
from tests.bank.statements import FIRM_IBAN, Entry, camt053
from tests.billing.staff_helpers import SYSTEM, issue
from tests.factories import make_client

PAYER = "RO09BCYP0000001234567890"


async def account(currency: str = "RON", threshold: int = 90) -> int:
    return await bank.save_account({"name": "BCR RON", "iban": FIRM_IBAN, "currency": currency, "auto_book_threshold": threshold,
                                    "csv_mapping": ""}, SYSTEM)


async def lines() -> list[dict]:
    return await BankLine.select().order_by(BankLine.id)


async def test_a_transfer_naming_its_invoice_is_booked_at_once_and_the_ladder_stops(db):
    invoice = await issue(await make_client("Carpatia Retail SRL"))  # 119.00 RON
    account_id = await account()
    number = invoice["code"].split("-")[-1].lstrip("0")
    result = await bank.import_file(account_id, camt053([Entry("119.00", f"Plata fact. inv {invoice['code'][4:8]} {number}", reference="R1")]),
                                    "extras.xml", SYSTEM)
    assert (result.lines, result.booked, result.queued, result.duplicates) == (1, 1, 0, 0)
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (11900, "paid")
    assert (await states_of([invoice["id"]]))[invoice["id"]] == "settled"
    [line] = await lines()
    assert line["status"] == LineStatus.BOOKED and line["confidence"] == 98 and line["payment"]
    payment = await Payment.select().where(Payment.id == line["payment"]).first()
    assert (payment["method"], payment["amount_minor"], payment["external_id"]) == ("bank_transfer", 11900, f"bank:{line['id']}")


async def test_the_same_file_twice_and_an_overlapping_statement_add_no_second_transaction(db):
    invoice = await issue(await make_client())
    account_id = await account()
    day1 = [Entry("119.00", invoice["code"], reference="R1"), Entry("50.00", "avans", payer_iban="", reference="")]
    await bank.import_file(account_id, camt053(day1), "d1.xml", SYSTEM)
    again = await bank.import_file(account_id, camt053(day1), "d1.xml", SYSTEM)
    assert (again.lines, again.duplicates, again.booked, again.queued) == (2, 2, 0, 0)
    overlap = await bank.import_file(account_id, camt053([*day1, Entry("10.00", "new one", reference="R3")]), "d1-2.xml", SYSTEM)
    assert (overlap.lines, overlap.duplicates) == (3, 2)
    assert await BankLine.count() == 3 and await Payment.count() == 1
    assert (await billing.get_invoice(invoice["id"]))["paid_minor"] == 11900


async def test_two_identical_transfers_on_one_day_without_a_bank_reference_stay_two(db):
    account_id = await account()
    twins = [Entry("25.00", "chirie", payer_iban=""), Entry("25.00", "chirie", payer_iban="")]
    first = await bank.import_file(account_id, camt053(twins), "a.xml", SYSTEM)
    second = await bank.import_file(account_id, camt053(twins), "a.xml", SYSTEM)
    assert (first.lines - first.duplicates, second.duplicates) == (2, 2) and await BankLine.count() == 2


@pytest.mark.parametrize(("data", "message"), [
    (camt053([Entry("1.00", "x")], iban="RO66BACX0000001234567890"), "The statement is for account"),
    (camt053([Entry("1.00", "x")], currency="EUR"), "is in EUR"),
    (b"<Document><not-a-statement/></Document>", ""),
    (b"   ", "The file is empty."),
])
async def test_a_file_for_another_account_or_currency_or_malformed_is_refused_and_nothing_is_kept(db, data, message):
    account_id = await account()
    with pytest.raises((bank.BankError, StatementError)) as refused:
        await bank.import_file(account_id, data, "bad.xml", SYSTEM)
    assert message in str(refused.value) % getattr(refused.value, "params", {}) if message else str(refused.value)
    assert await BankImport.count() == 0 and await BankLine.count() == 0


async def test_a_file_over_50_mb_is_refused_before_it_is_read(db):
    account_id = await account()
    with pytest.raises(bank.BankError, match="larger than"):
        await bank.import_file(account_id, b"x" * (bank.MAX_FILE_BYTES + 1), "big.xml", SYSTEM)


async def test_an_overpayment_books_the_invoice_and_keeps_the_rest_as_the_clients_credit(db):
    invoice = await issue(await make_client())
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("150.00", invoice["code"], reference="R1")]), "o.xml", SYSTEM)
    # the amount differs from the balance and the payer is not known yet: a person decides
    [line] = await lines()
    assert line["status"] == LineStatus.QUEUED and line["confidence"] == 80
    received = await bank.confirm(line["id"], SYSTEM)
    assert (received.allocated_minor, received.credit_minor) == (11900, 3100)
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"
    credit = await Payment.select().where(Payment.id == received.credit_payment_id).first()
    assert credit["amount_minor"] == 3100
    assert await PayerAccount.select(PayerAccount.iban).where(PayerAccount.client == invoice["client"]) == [{"iban": PAYER}]


async def test_a_payer_learned_from_a_confirmation_is_matched_by_amount_next_time(db):
    client_id = await make_client()
    first, second = await issue(client_id, due_in=-5), await issue(client_id, unit_minor=20000)  # 119.00 and 238.00
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("119.00", "plata", reference="R1")]), "1.xml", SYSTEM)
    [line] = await lines()
    assert line["status"] == LineStatus.QUEUED  # unknown payer, no number: only a suggestion
    await bank.split(line["id"], {first["id"]: 11900}, client_id, SYSTEM)
    result = await bank.import_file(account_id, camt053([Entry("238.00", "a doua plata", reference="R2")]), "2.xml", SYSTEM)
    assert result.booked == 1
    assert (await billing.get_invoice(second["id"]))["status"] == "paid"
    booked = (await lines())[-1]
    assert "known for" in json.loads(booked["reason"])["message"] and booked["confidence"] == 92


async def test_an_unknown_payer_stays_in_the_queue_and_can_be_kept_as_a_clients_credit_or_marked_not_ours(db):
    client_id = await make_client()
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("77.00", "?", payer_iban="RO57BTRL0000001234567891", reference="R1"),
                                                Entry("12.00", "dobanda", payer="Banca", payer_iban="", reference="R2")]), "q.xml", SYSTEM)
    unknown, interest = await lines()
    assert unknown["status"] == interest["status"] == LineStatus.QUEUED and unknown["client"] is None
    assert await bank.credit(unknown["id"], client_id, SYSTEM) == 7700
    await bank.not_ours(interest["id"], "interest", SYSTEM)
    unknown, interest = await lines()
    assert (unknown["status"], interest["status"]) == (LineStatus.CREDITED, LineStatus.NOT_OURS)
    assert await bank.queue_count() == 0
    with pytest.raises(bank.BankError, match="already decided"):
        await bank.confirm(unknown["id"], SYSTEM)


async def test_a_split_across_invoices_books_each_part_and_refuses_more_than_was_received(db):
    client_id = await make_client()
    a, b = await issue(client_id), await issue(client_id, unit_minor=20000)
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("200.00", "plati", reference="R1")]), "s.xml", SYSTEM)
    [line] = await lines()
    refused = await bank.split(line["id"], {a["id"]: 11900, b["id"]: 23800}, client_id, SYSTEM)
    assert refused.errors == {"split": "The parts add up to more than the money received."}
    assert await Payment.count() == 0
    split = await bank.split(line["id"], {a["id"]: 11900, b["id"]: 8000}, client_id, SYSTEM)
    assert split.ok and split.credit_minor == 100
    assert [(await billing.get_invoice(i))["paid_minor"] for i in (a["id"], b["id"])] == [11900, 8000]
    assert (await lines())[0]["status"] == LineStatus.BOOKED


async def test_a_transaction_reversed_by_the_bank_reverses_its_payment(db):
    invoice = await issue(await make_client())
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("119.00", invoice["code"], reference="R1", end_to_end="E2E-1")]), "1.xml", SYSTEM)
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"
    result = await bank.import_file(account_id, camt053([Entry("119.00", "RETUR " + invoice["code"], reference="R1-REV", debit=True,
                                                               reversal=True, end_to_end="E2E-1")]), "2.xml", SYSTEM)
    assert result.reversed == 1
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (0, "issued")
    assert [line["status"] for line in await lines()] == [LineStatus.REVERSED, LineStatus.REVERSED]
    assert (await states_of([invoice["id"]]))[invoice["id"]] != "settled"


async def test_money_going_out_is_kept_but_never_matched(db):
    account_id = await account()
    result = await bank.import_file(account_id, camt053([Entry("500.00", "furnizor", debit=True, reference="R1")]), "out.xml", SYSTEM)
    assert (result.outgoing, result.queued, result.booked) == (1, 0, 0)
    assert (await lines())[0]["status"] == LineStatus.OUTGOING


async def test_an_invoice_paid_meanwhile_sends_its_matched_line_to_the_queue_with_the_reason(db):
    invoice = await issue(await make_client())
    account_id = await account()
    await bank.import_file(account_id, camt053([Entry("119.00", invoice["code"], reference="R1")]), "1.xml", SYSTEM)
    # the same money arriving again under another reference: the invoice is paid, so the text names nothing open
    await bank.import_file(account_id, camt053([Entry("119.00", invoice["code"], reference="R2")]), "2.xml", SYSTEM)
    second = (await lines())[-1]
    assert second["status"] == LineStatus.QUEUED and await Payment.count() == 1


async def test_without_a_chosen_account_the_statement_goes_to_the_account_its_iban_names(db):
    await bank.save_account({"name": "BCR EUR", "iban": "RO66BACX0000001234567890", "currency": "EUR", "auto_book_threshold": 90,
                             "csv_mapping": ""}, SYSTEM)
    ron = await account()
    result = await bank.import_file(None, camt053([Entry("10.00", "x", reference="R1")]), "auto.xml", SYSTEM)
    assert (await BankImport.select(BankImport.account).where(BankImport.id == result.import_id).first())["account"] == ron
    with pytest.raises(bank.BankError) as refused:
        await bank.import_file(None, camt053([Entry("10.00", "x", reference="R9")], iban="DE89370400440532013000"), "other.xml", SYSTEM)
    assert refused.value.params == {"iban": "DE89370400440532013000"}
    with pytest.raises(bank.BankError, match="choose the account"):
        await bank.import_file(None, b"Data;Suma\n01.12.2026;1,00\n", "x.csv", SYSTEM)


async def test_a_matched_line_an_import_left_unbooked_is_booked_by_the_next_tick(db, settings):
    invoice = await issue(await make_client())
    account_id = await account()
    found, statements, file_format = await bank.read_statement(account_id, camt053([Entry("119.00", invoice["code"], reference="R1")]))
    await bank.keep_and_match(found, statements, file_format, "cut-short.xml", SYSTEM)  # the process stopped before booking
    assert (await lines())[0]["status"] == LineStatus.MATCHED
    report = await run_dunning(settings, send_email=False)
    assert report.bank_lines_booked == 1 and (await lines())[0]["status"] == LineStatus.BOOKED
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"


async def test_a_large_file_books_what_a_page_can_wait_for_and_leaves_the_rest_to_the_tick(db, settings):
    client_id = await make_client()
    invoices = [await issue(client_id) for _ in range(3)]
    account_id = await account()
    data = camt053([Entry("119.00", i["code"], reference=f"R{n}") for n, i in enumerate(invoices)])
    result = await bank.import_file(account_id, data, "big.xml", SYSTEM, book_at_most=1)
    assert (result.booked, result.booking_later, result.queued) == (1, 2, 0)
    assert (await run_dunning(settings, send_email=False)).bank_lines_booked == 2
    assert [(await billing.get_invoice(i["id"]))["status"] for i in invoices] == ["paid"] * 3


async def test_two_transfers_of_one_statement_for_the_same_invoice_book_one_and_queue_the_other(db):
    invoice = await issue(await make_client())
    account_id = await account()
    result = await bank.import_file(account_id, camt053([Entry("119.00", invoice["code"], reference="R1"),
                                                         Entry("119.00", invoice["code"], reference="R2")]), "twice.xml", SYSTEM)
    assert (result.booked, result.queued) == (1, 1)
    queued = (await lines())[1]
    assert json.loads(queued["reason"])["message"].startswith("Another transaction of this statement")
    assert await Payment.count() == 1
