"""The printed invoice and credit note: the HTML print page and the PDF WeasyPrint makes of it, for
staff and for the client who owns the invoice (another client's or a missing one: 404), in the
client's language whoever opens it."""

from __future__ import annotations

import datetime as dt
import html
import shutil
import subprocess

import pytest

from portal import settlement
from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.billing import rules, service
from portal.billing.tables import Invoice
from tests.conftest import TEST_SECRET
from tests.factories import login, make_client, make_client_user, make_staff
from tests.words import said

FIRM = "Carton Ploiești SA"
BANK = "IBAN RO49 AAAA 1B31 0075 9384 0000 · Banca Transilvania"
ISSUED = dt.date(2026, 3, 9)
# 1 000 x 0,85 + 170,30 net at 21 % VAT: net 1.020,30, VAT 214,26, total 1.234,56
LINES = [
    rules.Line("Cutii pliante carton 350 g, imprimare 4+0, laminare mată", 1000, 85, 2100),
    rules.Line("Ștanță și clișeu de tipar (o singură dată)", 1, 17030, 2100),
]


@pytest.fixture
def settings(database_url, tmp_path):
    """The suite's settings with a firm name and bank details (what the printed invoice shows)."""
    from portal.settings import load_settings

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0",
        "FIRM_NAME": FIRM, "FIRM_BANK_DETAILS": BANK,
        "FIRM_ADDRESS": "Str. Depoului 12 | 100411 Ploiești", "FIRM_TAX_ID": "RO 998877", "FIRM_REGISTRATION": "J29/123/2001",
    })


def plain(text: str) -> str:
    """Unescaped, with Babel's no-break and narrow no-break spaces as plain spaces."""
    return html.unescape(text).replace("\xa0", " ").replace("\u202f", " ")


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (`make test` does it when run as root)")
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, timeout=60, check=True)
    return plain(done.stdout.decode())


def assert_pdf(response, filename: str) -> bytes:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 1024
    return response.content


async def romanian_invoice() -> tuple[int, dict]:
    client_id = await make_client("Ștefan Print SRL", language="ro", currency="RON", tax_id="RO 12345678",
                                  address="Str. Țesătorilor 5\n400001 Cluj-Napoca")
    invoice = await service.issue_invoice(client_id=client_id, currency="RON", lines=LINES, issue_date=ISSUED, terms_days=30,
                                          order_id=None, actor=Actor.system())
    return client_id, invoice


async def test_staff_get_a_real_pdf_with_the_code_the_client_and_the_total(client):
    _client_id, invoice = await romanian_invoice()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    pdf = assert_pdf(await client.get(f"/staff/invoices/{invoice['id']}/pdf"), f"{invoice['code']}.pdf")
    text = pdf_text(pdf)
    assert invoice["code"] == "INV-2026-00001"
    assert invoice["code"] in text
    assert "Ștefan Print SRL" in text and "Țesătorilor" in text and "RO 12345678" in text
    assert "1.234,56 RON" in text  # the total, in Romanian
    assert "1.020,30 RON" in text and "214,26 RON" in text  # net and VAT
    assert FIRM in text and "RO49 AAAA 1B31" in text


async def test_the_owning_client_gets_the_pdf_and_the_print_page(client):
    client_id, invoice = await romanian_invoice()
    await login(client, await make_client_user(client_id))
    pdf = assert_pdf(await client.get(f"/client/invoices/{invoice['id']}/pdf"), f"{invoice['code']}.pdf")
    assert "1.234,56 RON" in pdf_text(pdf)
    page = await client.get(f"/client/invoices/{invoice['id']}/print")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = plain(page.text)
    assert "Ștefan Print SRL" in text and invoice["code"] in text and "1.234,56 RON" in text
    assert 'onclick="window.print()"' in page.text and f'href="/client/invoices/{invoice["id"]}/pdf"' in page.text
    assert "'unsafe-hashes'" in page.headers["content-security-policy"]  # the Print button runs, nothing else does


async def test_another_clients_invoice_and_a_missing_one_are_404(client):
    _owner, invoice = await romanian_invoice()
    other = await make_client("Alt Client SRL")
    await login(client, await make_client_user(other))
    for kind in ("pdf", "print"):
        for invoice_id in (invoice["id"], 999_999):
            response = await client.get(f"/client/invoices/{invoice_id}/{kind}")
            assert response.status_code == 404, (kind, invoice_id)
            assert "Ștefan" not in response.text and b"%PDF" not in response.content


async def test_staff_get_404_for_a_missing_invoice(client):
    await login(client, await make_staff(Role.DESIGNER))
    for kind in ("pdf", "print"):
        assert (await client.get(f"/staff/invoices/999999/{kind}")).status_code == 404


async def test_the_print_page_shows_everything_an_invoice_needs(client):
    _client_id, invoice = await romanian_invoice()
    await login(client, await make_staff(Role.SALES_MANAGER))
    page = await client.get(f"/staff/invoices/{invoice['id']}/print")
    assert page.status_code == 200
    text = plain(page.text)
    for expected in (
        FIRM, BANK, "Str. Depoului 12", "100411 Ploiești", "RO 998877", "J29/123/2001",  # the seller
        "Ștefan Print SRL", "RO 12345678", "400001 Cluj-Napoca", f"{said('ro', 'Invoice')} {invoice['code']}",
        "09.03.2026", "08.04.2026",  # issue and due dates, in Romanian
        "Cutii pliante carton 350 g", "Ștanță și clișeu", "21%",
        "0,85 RON", "850,00 RON", "178,50 RON", "1.028,50 RON", "170,30 RON", "35,76 RON", "206,06 RON",  # the lines
        "1.020,30 RON", "214,26 RON", "1.234,56 RON", "0,00 RON",  # net, VAT, total, paid
        said("ro", "Payment reference"),  # the client's language, whoever prints it
    ):
        assert expected in text, expected
    assert "@page" in page.text and "size: A4" in page.text
    assert "<nav class=\"toolbar\"" in page.text and "sidebar" not in page.text  # its own document, no portal navigation


async def test_amounts_and_dates_follow_the_clients_language_not_the_viewers(client):
    """A staff member reading in English sees a Ukrainian client's invoice as the client does."""
    client_id = await make_client("ТОВ «Ґалицька Їжа»", language="uk", currency="UAH", address="вул. Січових Стрільців 12, Київ")
    invoice = await service.issue_invoice(
        client_id=client_id, currency="UAH", lines=[rules.Line("Коробки з гофрокартону, друк", 1, 102030, 2100)],
        issue_date=ISSUED, terms_days=14, order_id=None, actor=Actor.system())
    await login(client, await make_staff(Role.SALES_MANAGER))
    text = plain((await client.get(f"/staff/invoices/{invoice['id']}/print")).text)
    assert "1 234,56 ₴" in text and "1,234.56" not in text
    assert "09.03.2026" in text
    pdf = pdf_text(assert_pdf(await client.get(f"/staff/invoices/{invoice['id']}/pdf"), f"{invoice['code']}.pdf"))
    assert "ТОВ «Ґалицька Їжа»" in pdf and "Січових Стрільців" in pdf and "1 234,56 ₴" in pdf


async def test_a_credit_note_names_the_invoice_it_cancels(client):
    client_id, invoice = await romanian_invoice()
    staff = await make_staff(Role.CREDIT_CONTROLLER)
    credit = await settlement.cancel_invoice(invoice["id"], "Comandă anulată de client", Actor.system())
    assert credit["kind"] == "credit_note" and credit["credits_invoice"] == invoice["id"]
    await login(client, staff)
    page = await client.get(f"/staff/invoices/{credit['id']}/print")
    assert page.status_code == 200
    text = plain(page.text)
    assert f"{said('ro', 'Credit note')} {credit['code']}" in text and credit["code"].startswith("CN-")
    assert plain(said("ro", "This credit note cancels invoice %(code)s.", code=invoice["code"])) in text
    assert "-1.234,56 RON" in text and "-1.020,30 RON" in text and "-850,00 RON" in text  # negative lines and totals
    assert "Comandă anulată de client" in text
    assert said("ro", "Balance due") not in text and said("ro", "Payment reference") not in text  # nothing to pay on a credit note
    pdf = pdf_text(assert_pdf(await client.get(f"/staff/invoices/{credit['id']}/pdf"), f"{credit['code']}.pdf"))
    assert credit["code"] in pdf and invoice["code"] in pdf and "-1.234,56 RON" in pdf

    # the cancelled invoice says so, and which credit note cancelled it
    cancelled = plain((await client.get(f"/staff/invoices/{invoice['id']}/print")).text)
    assert said("ro", "Cancelled") in cancelled and credit["code"] in cancelled and said("ro", "Payment reference") not in cancelled

    # the client sees its own credit note too
    await login(client, await make_client_user(client_id))
    assert_pdf(await client.get(f"/client/invoices/{credit['id']}/pdf"), f"{credit['code']}.pdf")


async def test_a_paid_invoice_shows_what_was_paid_and_nothing_due(client):
    client_id, invoice = await romanian_invoice()
    await settlement.record_payment(client_id=client_id, currency="RON", allocations=[(invoice["id"], 23456)], method="bank_transfer",
                                 received_on=ISSUED, reference="OP 17", actor=Actor.system())
    await login(client, await make_staff(Role.ADMIN))
    text = plain((await client.get(f"/staff/invoices/{invoice['id']}/print")).text)
    assert "234,56 RON" in text and "1.000,00 RON" in text  # paid, and the balance still due
    await settlement.record_payment(client_id=client_id, currency="RON", allocations=[(invoice["id"], 100000)], method="cash",
                                 received_on=ISSUED, reference="", actor=Actor.system())
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice["id"]).first())["status"] == "paid"
    text = plain((await client.get(f"/staff/invoices/{invoice['id']}/print")).text)
    assert said("ro", "Paid") in text and said("ro", "Payment reference") not in text
