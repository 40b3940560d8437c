"""The optional unit cost typed at intake: stored on the invoice's product line (NULL when unknown),
refused with a message when it is not an amount, shown to staff, never to the client. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import subprocess

from portal import settlement
from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.billing import rules, service as billing
from portal.billing.tables import Invoice
from portal.clock import firm_today
from portal.orders.tables import Order
from tests.factories import login, make_client, make_client_user, make_staff, post

FORM = {"product": "PVC loyalty cards, 0.76 mm, 4+4", "quantity": "1000", "unit_price": "2.00", "setup_fee": "150",
        "vat_rate": "19", "wanted_date": ""}


async def register(client, company: int, **fields: str):
    return await post(client, "/staff/orders/new", {"client_id": str(company), **FORM, **fields})


async def lines_of_the_last_order() -> list[dict]:
    order = await Order.select(Order.id).order_by(Order.id, ascending=False).first()
    invoice = await Invoice.select(Invoice.id).where(Invoice.order == order["id"]).first()
    return await billing.lines_of(invoice["id"])


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, timeout=60,
                          check=True).stdout.decode()


async def test_a_unit_cost_is_stored_on_the_product_line_and_the_fee_line_has_none(client):
    company = await make_client(discount="10")
    await login(client, await make_staff(Role.SALES_MANAGER))
    response = await register(client, company, unit_cost="1.37")
    assert response.status_code == 303, response.text
    product, fee = await lines_of_the_last_order()
    assert (product["unit_price_minor"], product["unit_cost_minor"]) == (180, 137)  # the discount is the price's, not the cost's
    assert fee["description"] == "Design and prepress" and fee["unit_cost_minor"] is None


async def test_no_unit_cost_is_unknown(client):
    company = await make_client()
    await login(client, await make_staff(Role.SALES_MANAGER))
    for blank in ("", "   "):
        assert (await register(client, company, unit_cost=blank)).status_code == 303
        assert [line["unit_cost_minor"] for line in await lines_of_the_last_order()] == [None, None]
    assert (await register(client, company)).status_code == 303  # a form without the field
    assert [line["unit_cost_minor"] for line in await lines_of_the_last_order()] == [None, None]
    assert (await register(client, company, unit_cost="0")).status_code == 303  # free to make is a known cost
    assert [line["unit_cost_minor"] for line in await lines_of_the_last_order()] == [0, None]


async def test_an_invalid_unit_cost_is_refused_under_its_field_keeping_what_was_typed(client):
    company = await make_client()
    await login(client, await make_staff(Role.SALES_MANAGER))
    for typed, message in (("-1.00", "The unit cost cannot be negative."), ("abc", "Enter an amount such as")):
        response = await register(client, company, unit_cost=typed, product="Gift boxes", quantity="250")
        assert response.status_code == 400
        page = html.unescape(response.text)
        error = page.split('id="unit_cost-error"', 1)[1].split("</p>", 1)[0]
        assert message in error and 'aria-describedby="unit_cost-error"' in page
        assert f'value="{typed}"' in page and 'value="Gift boxes"' in page and 'value="250"' in page and 'value="2.00"' in page
    assert await Order.count() == 0 and await Invoice.count() == 0


async def test_staff_see_the_cost_column_only_when_a_line_has_a_cost_and_the_client_never_sees_it(client):
    company = await make_client("Alfa Cartons SRL", discount="0")
    with_cost = await billing.issue_invoice(
        client_id=company, currency="RON", lines=[rules.Line("Key cards", 1000, 200, 1900, unit_cost_minor=137),
                                                  rules.Line("Delivery", 1, 5000, 1900)],
        issue_date=firm_today(), terms_days=30, order_id=None, actor=Actor.system())
    without = await billing.issue_invoice(
        client_id=company, currency="RON", lines=[rules.Line("Key cards", 1000, 200, 1900)],
        issue_date=firm_today(), terms_days=30, order_id=None, actor=Actor.system())

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    page = (await client.get(f"/staff/invoices/{with_cost['id']}")).text
    assert 'id="cost-column"' in page and "1.37" in page and "unknown" in page  # the delivery's cost is not known
    assert 'id="cost-column"' not in (await client.get(f"/staff/invoices/{without['id']}")).text

    client.cookies.clear()
    await login(client, await make_client_user(company))
    for path in ("", "/print"):
        response = await client.get(f"/client/invoices/{with_cost['id']}{path}")
        assert response.status_code == 200
        assert "1.37" not in response.text and "cost" not in response.text.lower(), path
    pdf = await client.get(f"/client/invoices/{with_cost['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    words = pdf_text(pdf.content)
    assert "Key cards" in words and "1.37" not in words and "cost" not in words.lower()


async def test_a_credit_note_takes_the_cost_back(db):
    company = await make_client()
    invoice = await billing.issue_invoice(
        client_id=company, currency="RON", lines=[rules.Line("Key cards", 10, 200, 0, unit_cost_minor=120), rules.Line("Fee", 1, 500, 0)],
        issue_date=firm_today(), terms_days=30, order_id=None, actor=Actor.system())
    credit_note = await settlement.cancel_invoice(invoice["id"], "Ordered twice", Actor.system())
    assert [line["unit_cost_minor"] for line in await billing.lines_of(credit_note["id"])] == [-120, None]

