"""The client is told along its order, the designers when layouts are needed, and a credit hold is
said where the client and the board read it."""

from __future__ import annotations

import datetime as dt
import html
import re

from portal import settlement
from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.auth.tables import User
from portal.billing import service as billing
from portal.clients.tables import Client, ClientNotice
from portal.mail.tables import EmailMessage
from portal.orders import service as orders
from portal.orders.tables import Order
from portal.tasks.tables import Notification
from tests.factories import login, make_client, make_client_user, make_contact, make_staff, post
from tests.orders.test_client_orders import setup_sent
from tests.orders.test_specs import make_order


async def _notices(client_id: int) -> list[dict]:
    return await ClientNotice.select(ClientNotice.kind, ClientNotice.message, ClientNotice.link).where(
        ClientNotice.client == client_id).order_by(ClientNotice.id)


async def _emails(client_id: int) -> list[dict]:
    return await EmailMessage.select(EmailMessage.key, EmailMessage.to_address, EmailMessage.subject, EmailMessage.body).where(
        EmailMessage.client == client_id).order_by(EmailMessage.id)


async def test_the_client_is_told_when_its_invoice_is_issued_and_the_designers_that_layouts_are_needed(db):
    designer = await make_staff(Role.DESIGNER, name="Andrei Design")
    company = await make_client("Tipo Print SRL")
    await make_contact(company)
    order_id, checked = await orders.create_order(
        {"client_id": str(company), "product": "Key cards", "quantity": "1000", "unit_price": "2", "vat_rate": "19"},
        Actor.system(), dt.date.today())
    assert order_id, checked.errors
    order = await Order.select(Order.number).where(Order.id == order_id).first()
    invoice = await orders.invoice_of(order_id)
    notice = (await _notices(company))[0]
    assert notice["kind"] == "invoice_issued" and notice["link"] == f"/client/invoices/{invoice['id']}"
    # 1000 × 2.00, 5 % off, 19 % VAT
    assert invoice["code"] in notice["message"] and order["number"] in notice["message"] and "RON2,261.00" in notice["message"]
    email = (await _emails(company))[0]
    assert email["key"] == f"invoice-issued-{invoice['id']}" and email["to_address"] == "maria@client.test"
    assert email["subject"] == f"Invoice {invoice['code']} issued"
    told = await Notification.select(Notification.message, Notification.link).where(Notification.user == designer["id"])
    assert told == [{"message": f"New request {order['number']}: layout variants are needed (Key cards).",
                     "link": f"/staff/orders/{order_id}"}]


async def test_the_client_is_told_a_spec_awaits_it_and_its_home_says_so(client, settings):
    s = await setup_sent(settings)
    await make_contact(s["client_id"])
    order = s["order"]
    spec_notice = [n for n in await _notices(s["client_id"]) if n["kind"] == "spec_sent"]
    assert spec_notice == [{"kind": "spec_sent", "link": f"/client/orders/{order['id']}#spec",
                            "message": f"Version 1 of the technical specification of your order {order['number']} awaits your approval."}]
    await login(client, s["buyer"])
    home = html.unescape((await client.get("/client")).text)
    todo = home.split('id="to-do"', 1)[1].split("</section>", 1)[0]
    assert order["number"] in todo and f'href="/client/orders/{order["id"]}#spec">Review and approve the spec' in todo


async def test_the_client_is_told_of_its_payment_and_of_production(db, settings):
    s = await setup_sent(settings)
    order = s["order"]
    from portal.orders.specs import service as specs

    await specs.approve_spec(order["id"], s["client_id"], 1, {"variant_id": str(s["a"]), "signature_name": "Ion Pop", "agree": "on"},
                             Actor(s["buyer"]["id"], "Ion Pop"))
    invoice = await billing.get_invoice((await orders.invoice_of(order["id"]))["id"])
    await settlement.record_payment(client_id=s["client_id"], currency="RON", allocations=[(invoice["id"], invoice["total_minor"])],
                                 method="bank_transfer", received_on=dt.date.today(), reference="OP 9", actor=Actor.system())
    kinds = [n["kind"] for n in await _notices(s["client_id"])]
    assert kinds[-2:] == ["payment_received", "production_started"]
    notices = {n["kind"]: n for n in await _notices(s["client_id"])}
    assert notices["payment_received"]["message"] == f"We received your payment of RON1,000.00 for {invoice['code']}. Thank you."
    assert notices["production_started"]["message"] == (
        f"Your order {order['number']} has entered production. We will tell you when it ships.")


async def test_designers_hear_when_the_client_asks_for_changes_and_see_their_worklist(client, settings):
    designer = await make_staff(Role.DESIGNER, name="Andrei Design")
    await User.update({User.language: "en"}).where(User.id == designer["id"])
    s = await setup_sent(settings, company="Dunărea Ambalaje SRL")
    from portal.orders.specs import service as specs

    await specs.request_changes(s["order"]["id"], s["client_id"], 1, {f"comment_{s['a']}": "Darker blue, please"},
                                Actor(s["buyer"]["id"], "Ion Pop"))
    told = await Notification.select(Notification.message).where(Notification.user == designer["id"])
    assert told[-1]["message"] == f"Dunărea Ambalaje SRL asked for changes on order {s['order']['number']}: new layout variants are needed."
    fresh = await make_order(await make_client("Fresh Request SRL"), stage="request")
    await login(client, designer)
    page = html.unescape((await client.get("/staff")).text)
    work = page.split('id="layout-work"', 1)[1].split("</section>", 1)[0]
    assert s["order"]["number"] in work and "Darker blue, please" in work
    assert fresh["number"] in work and "New request: no variants yet" in work


async def test_a_held_order_says_so_to_the_client_and_the_board_offers_no_refused_move(client, settings):
    company = await make_client("Held Co SRL")
    await Client.update({Client.on_credit_hold: True}).where(Client.id == company)
    order = await make_order(company, stage="awaiting_prepayment", paid=100_000)  # approved and paid, held by the sanction
    from portal.clock import utcnow
    from portal.orders.tables import TechnicalSpec

    await TechnicalSpec(order=order["id"], version=1, status="approved", created_at=utcnow(), sent_at=utcnow()).save()
    await login(client, await make_client_user(company))
    page = html.unescape((await client.get(f"/client/orders/{order['id']}")).text)
    assert "scheduling production" not in page
    assert "on credit hold: production waits until your overdue balance is paid" in page
    assert "Pay your overdue invoices: production starts when the credit hold is lifted" in page

    await login(client, await make_staff(Role.SALES_MANAGER))
    board = (await client.get("/staff/orders")).text
    card = board.split(f'id="card-{order["id"]}"', 1)[1].split("</article>", 1)[0]
    assert 'value="in_production"' not in card and "Override the gate" not in card
    await login(client, await make_staff(Role.ADMIN))
    card = (await client.get("/staff/orders")).text.split(f'id="card-{order["id"]}"', 1)[1].split("</article>", 1)[0]
    assert 'value="in_production"' not in card and f'href="/staff/orders/{order["id"]}#gate"' in card


async def test_the_timeline_shows_values_as_people_read_them(client, settings):
    manager = await make_staff(Role.SALES_MANAGER, name="Mihai Sales")
    admin = await make_staff(Role.ADMIN, name="Ana Admin")
    company = await make_client("Words SRL", language="en")
    await login(client, admin)
    edit = await post(client, f"/staff/clients/{company}/edit", {
        "name": "Words SRL", "currency": "RON", "payment_terms_days": "30", "credit_limit": "10000", "discount": "5",
        "service_priority": "2", "segment": "B", "forgiveness_days": "0", "language": "ro", "sales_manager": str(manager["id"])})
    assert edit.status_code in (303, 200), edit.text
    from tests.billing.staff_helpers import issue

    invoice = await issue(company)
    paid = await post(client, f"/staff/invoices/{invoice['id']}/payments",
                      {"amount": "50", "received_on": dt.date.today().isoformat(), "method": "bank_transfer", "reference": "OP 1"})
    assert paid.status_code == 303
    page = html.unescape((await client.get(f"/staff/clients/{company}")).text)
    timeline = page.split('id="timeline"', 1)[1]
    assert "bank_transfer" not in timeline and "Bank transfer" in timeline
    assert "Română" in timeline and ">ro<" not in timeline
    assert "Mihai Sales" in timeline
    assert not re.search(r"<del>Open</del>\s*→\s*Open", timeline)  # a status that stayed is no change
    invoice_page = html.unescape((await client.get(f"/staff/invoices/{invoice['id']}")).text)
    assert "Partly paid" in invoice_page.split("</h1>", 1)[0]
