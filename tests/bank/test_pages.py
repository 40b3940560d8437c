"""The bank pages as a credit controller works them: accounts with their CSV columns, a statement
uploaded, the queue decided with htmx; and who may open them. Both databases."""

from __future__ import annotations

import re

import pytest

from portal.auth.roles import Role
from portal.bank import service as bank
from portal.bank.tables import BankAccount, BankImport, BankLine, LineStatus
from portal.billing import service as billing
from tests.bank.statements import FIRM_IBAN, Entry, camt053
from tests.billing.staff_helpers import SYSTEM, issue
from tests.factories import csrf_token, login, make_client, make_staff, post

ACCOUNT_FORM = {"name": "BCR RON", "iban": "RO49 AAAA 1B31 0075 9384 0000", "currency": "RON", "auto_book_threshold": "90"}


async def as_controller(client) -> None:
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))


async def upload(client, account_id: int, data: bytes, name: str = "extras.xml"):
    token = await csrf_token(client)
    return await client.post("/staff/bank/import", data={"account": str(account_id), "_csrf_token": token},
                             files={"file": (name, data, "application/xml")})


async def test_a_controller_adds_an_account_and_a_bad_iban_is_explained_beside_the_field(client):
    await as_controller(client)
    response = await post(client, "/staff/bank/accounts", {**ACCOUNT_FORM, "iban": "RO49 AAAA 1B31 0075 9384 0001"})
    assert response.status_code == 400
    assert "This is not a valid IBAN" in response.text and 'value="BCR RON"' in response.text
    assert await BankAccount.count() == 0
    response = await post(client, "/staff/bank/accounts", ACCOUNT_FORM)
    assert response.status_code == 303
    assert (await BankAccount.select(BankAccount.iban).first())["iban"] == FIRM_IBAN
    page = (await client.get("/staff/bank/accounts")).text
    assert FIRM_IBAN in page and "Account BCR RON added." in page


async def test_an_uploaded_statement_books_what_it_can_and_queues_the_rest(client):
    invoice = await issue(await make_client("Carpatia Retail SRL"))
    account_id = await bank.save_account({**ACCOUNT_FORM, "iban": FIRM_IBAN, "auto_book_threshold": 90, "csv_mapping": ""}, SYSTEM)
    await as_controller(client)
    data = camt053([Entry("119.00", f"Plata {invoice['code']}", reference="R1"),
                    Entry("40.00", "avans fără factură", payer="Ştefănescu Ţesături", payer_iban="", reference="R2")])
    response = await upload(client, account_id, data)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/bank?imported=")
    page = (await client.get(response.headers["location"])).text
    assert "Statement imported: 2 transactions, 1 booked, 1 to reconcile, 0 already imported." in page
    assert "avans fără factură" in page and "Ştefănescu Ţesături" in page  # the queued one, with its diacritics
    assert re.search(r'id="queue-count">1<', page)
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"
    again = await upload(client, account_id, data)
    page = (await client.get(again.headers["location"])).text
    assert "2 already imported" in page and await BankLine.count() == 2


async def test_a_refused_upload_says_why_at_the_file_field_and_keeps_nothing(client):
    account_id = await bank.save_account({**ACCOUNT_FORM, "iban": FIRM_IBAN, "auto_book_threshold": 90, "csv_mapping": ""}, SYSTEM)
    await as_controller(client)
    response = await upload(client, account_id, camt053([Entry("1.00", "x")], iban="RO66BACX0000001234567890"))
    assert response.status_code == 400
    assert 'id="file-error"' in response.text and "The statement is for account RO66BACX0000001234567890" in response.text
    response = await upload(client, account_id, b"this is not a statement\n")
    assert response.status_code == 400 and "map its columns" in response.text
    token = await csrf_token(client)
    response = await client.post("/staff/bank/import", data={"account": str(account_id), "_csrf_token": token})
    assert response.status_code == 400 and "Choose a statement file" in response.text
    assert await BankImport.count() == 0 and "Traceback" not in response.text


async def test_a_csv_statement_is_read_by_the_columns_saved_for_its_account(client):
    client_id = await make_client("Ţesătoria Bârlad SRL")
    invoice = await issue(client_id)
    await as_controller(client)
    await post(client, "/staff/bank/accounts", {**ACCOUNT_FORM, "csv_enabled": "on", "delimiter": ";", "skip_rows": "0",
                                                "date_format": "%d.%m.%Y", "decimal_separator": ",", "encoding": "utf-8",
                                                "date_column": "Data", "amount_column": "Suma", "text_column": "Detalii",
                                                "payer_name_column": "Platitor", "payer_iban_column": "IBAN", "reference_column": "Ref"})
    account_id = (await BankAccount.select(BankAccount.id).first())["id"]
    csv = f"Data;Suma;Detalii;Platitor;IBAN;Ref\n01.12.2026;119,00;Factura {invoice['code']};Ţesătoria Bârlad;;B-1\n".encode()
    response = await upload(client, account_id, csv, "extras.csv")
    assert response.status_code == 303, response.text
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"


async def test_a_queued_line_is_confirmed_with_htmx_and_the_count_follows(client):
    client_id = await make_client("Carpatia Retail SRL")
    invoice = await issue(client_id)
    account_id = await bank.save_account({**ACCOUNT_FORM, "iban": FIRM_IBAN, "auto_book_threshold": 90, "csv_mapping": ""}, SYSTEM)
    await bank.import_file(account_id, camt053([Entry("100.00", invoice["code"], reference="R1")]), "p.xml", SYSTEM)  # a part payment
    [line] = await BankLine.select()
    await as_controller(client)
    page = (await client.get("/staff/bank")).text
    assert 'hx-trigger="keyup[key==\'Enter\'&amp;&amp;target.tagName==\'TR\']"' in page or "keyup[key==" in page
    assert "a part payment" in page and "80% sure" in page
    token = await csrf_token(client)
    response = await client.post(f"/staff/bank/lines/{line['id']}/confirm", headers={"hx-request": "true", "x-csrftoken": token})
    assert response.status_code == 200
    assert "Booked RON100.00 for Carpatia Retail SRL." in response.text
    assert 'id="queue-count" hx-swap-oob="true">0<' in response.text
    assert (await billing.get_invoice(invoice["id"]))["paid_minor"] == 10000
    again = await client.post(f"/staff/bank/lines/{line['id']}/confirm", headers={"hx-request": "true", "x-csrftoken": token})
    assert again.status_code == 400 and "already decided" in again.text


async def test_a_split_typed_in_romanian_number_format_books_each_part(client):
    client_id = await make_client("Carpatia Retail SRL")
    a, b = await issue(client_id), await issue(client_id)
    account_id = await bank.save_account({**ACCOUNT_FORM, "iban": FIRM_IBAN, "auto_book_threshold": 90, "csv_mapping": ""}, SYSTEM)
    await bank.import_file(account_id, camt053([Entry("1.200,00".replace(".", "").replace(",", "."), "plati", reference="R1")]), "s.xml", SYSTEM)
    [line] = await BankLine.select()
    controller = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, controller)
    await post(client, "/staff/account", {"language": "ro", "name": "Controller"})
    form = (await client.get(f"/staff/bank/lines/{line['id']}/split?client={client_id}")).text
    assert f'name="part-{a["id"]}"' in form and f'name="part-{b["id"]}"' in form
    bad = await post(client, f"/staff/bank/lines/{line['id']}/split", {"client": str(client_id), f"part-{a['id']}": "119,00",
                                                                       f"part-{b['id']}": "9x"})
    assert bad.status_code == 400 and await BankLine.count() == 1 and (await BankLine.select().first())["status"] == LineStatus.QUEUED
    done = await post(client, f"/staff/bank/lines/{line['id']}/split", {"client": str(client_id), f"part-{a['id']}": "119,00",
                                                                        f"part-{b['id']}": "50,00"})
    assert done.status_code == 303
    assert [(await billing.get_invoice(i))["paid_minor"] for i in (a["id"], b["id"])] == [11900, 5000]


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.DESIGNER, Role.SPEC_COORDINATOR, Role.NEGOTIATOR], ids=lambda r: r.value)
async def test_only_credit_controllers_and_admins_open_the_bank(client, role):
    await login(client, await make_staff(role))
    assert (await client.get("/staff/bank")).status_code == 403
    assert 'href="/staff/bank"' not in (await client.get("/staff")).text


async def test_the_bank_is_in_the_controllers_navigation(client):
    await as_controller(client)
    assert 'href="/staff/bank"' in (await client.get("/staff")).text


async def test_a_file_over_the_limit_is_refused_with_a_message_and_nothing_is_kept(client):
    account_id = await bank.save_account({**ACCOUNT_FORM, "iban": FIRM_IBAN, "auto_book_threshold": 90, "csv_mapping": ""}, SYSTEM)
    await as_controller(client)
    response = await upload(client, account_id, b"<Document>" + b" " * (bank.MAX_FILE_BYTES + 2 * 1024 * 1024), "huge.xml")
    # the form is read by the CSRF check before the route: the error page says it, with the bank's limit
    assert response.status_code == 413 and "Statement files up to 50 MB are accepted." in response.text
    assert "Traceback" not in response.text and await BankImport.count() == 0
