"""Sanctions: applied by a ladder step, shown to the client and emailed, lifted by the payment that
clears the overdue debt, with the replaced terms restored and held orders let into production."""

from __future__ import annotations

import html
import re

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.clients import service as clients
from portal.clients.tables import Client, ClientNotice
from portal.clock import utcnow
from portal.dunning.sanctions import rules as sanction_rules, service as sanctions
from portal.dunning.sanctions.tables import Sanction
from portal.mail.tables import EmailMessage
from portal.orders import service as orders
from portal.orders.tables import Order
from portal.tasks.tables import Notification
from tests.billing.staff_helpers import issue, pay
from tests.factories import login, make_client, make_client_user, make_contact, make_staff
from tests.orders.test_pipeline import approve_spec

SYSTEM = Actor.system()


async def debtor(**fields: str) -> dict:
    """A client with a 5 % discount, normal priority, a sales manager, a primary contact and an
    invoice 5 days overdue (119.00 RON)."""
    manager = await make_staff(Role.SALES_MANAGER)
    company = await make_client(**({"discount": "5", "service_priority": "2", "sales_manager": str(manager["id"])} | fields))
    await make_contact(company)
    overdue = await issue(company, due_in=-5)
    return {"id": company, "manager": manager, "overdue": overdue}


async def terms_of(client_id: int) -> tuple[int, int, bool]:
    row = await Client.select(Client.discount_bp, Client.service_priority, Client.on_credit_hold).where(Client.id == client_id).first()
    return row["discount_bp"], row["service_priority"], row["on_credit_hold"]


async def held_order(client_id: int) -> dict:
    """An order whose spec is approved and whose invoice is paid in full: it waits only for the hold."""
    order_id, checked = await orders.create_order(
        {"client_id": str(client_id), "product": "Key cards", "quantity": "100", "unit_price": "2", "vat_rate": "0"},
        SYSTEM, utcnow().date(),
    )
    assert order_id, checked.errors
    await Order.update({Order.stage: "awaiting_prepayment"}).where(Order.id == order_id)
    await approve_spec(order_id)
    invoice = await orders.invoice_of(order_id)
    await pay({**invoice, "client": client_id})
    return await orders.get_order(order_id)


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def section_of(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</section>", start)]


async def test_each_sanction_changes_the_client_and_the_client_sees_it_and_gets_an_email(client):
    d = await debtor()
    outcomes = [await sanctions.apply_sanction(d["id"], kind, SYSTEM) for kind in sanction_rules.SANCTION_KINDS]

    assert outcomes == ["Discount 5.00 % removed", "Service priority lowered from Normal to Low", "Credit hold put on"]
    assert await terms_of(d["id"]) == (0, 3, True)
    stored = await Sanction.select(Sanction.kind, Sanction.previous_value).where(Sanction.client == d["id"]).order_by(Sanction.id)
    assert [(s["kind"], s["previous_value"]) for s in stored] == [("remove_discount", 500), ("lower_priority", 2), ("credit_hold", 0)]
    emails = await EmailMessage.select().where((EmailMessage.client == d["id"]) & EmailMessage.key.like("sanction%")).order_by(EmailMessage.id)
    assert [e["to_address"] for e in emails] == ["maria@client.test"] * 3
    assert "your discount of 5% is suspended" in emails[0]["body"] and "/client" in emails[0]["body"]
    assert "from Normal to Low" in emails[1]["body"] and "credit hold" in emails[2]["body"]
    assert await AuditEvent.count().where((AuditEvent.action == "sanction_applied") & (AuditEvent.object_id == d["id"])) == 3
    told = await Notification.select(Notification.message).where(Notification.user == d["manager"]["id"])
    assert len(told) == 3 and "discount removed" in told[0]["message"]

    await login(client, await make_client_user(d["id"]))
    page = (await client.get("/client")).text
    notices = text_of(section_of(page, "notices"))
    assert "your discount of 5% is suspended" in notices and "service priority is lowered from Normal to Low" in notices
    assert notices.count("Mark read") == 4  # the three sanctions and the invoice issued: unread, each with the button
    active = text_of(section_of(page, "sanctions"))
    assert "Your usual discount is suspended" in active and "Your service priority is lowered" in active
    assert "Your account is on credit hold" in active and "pay the overdue balance" in active
    terms = text_of(page[page.index('id="credit-hold"'):].split("</dd>")[0])
    assert "Yes: overdue debt" in terms


async def test_applying_a_sanction_twice_is_one_sanction(db):
    d = await debtor()
    first = await sanctions.apply_sanction(d["id"], "remove_discount", SYSTEM)
    second = await sanctions.apply_sanction(d["id"], "remove_discount", SYSTEM)
    assert first == "Discount 5.00 % removed" and second.startswith("Already in force")
    assert await Sanction.count().where(Sanction.client == d["id"]) == 1
    assert await EmailMessage.count().where((EmailMessage.client == d["id"]) & EmailMessage.key.like("sanction%")) == 1
    assert await ClientNotice.count().where((ClientNotice.client == d["id"]) & ClientNotice.kind.like("sanction%")) == 1


async def test_nothing_to_take_is_still_recorded_so_lifting_restores_correctly(db):
    d = await debtor(discount="0", service_priority="3")
    assert "no discount to remove" in await sanctions.apply_sanction(d["id"], "remove_discount", SYSTEM)
    assert "already low" in await sanctions.apply_sanction(d["id"], "lower_priority", SYSTEM)
    assert len(await sanctions.active_sanctions(d["id"])) == 2
    # nothing changed for the client
    assert await ClientNotice.count().where((ClientNotice.client == d["id"]) & ClientNotice.kind.like("sanction%")) == 0
    await pay(d["overdue"])
    assert await terms_of(d["id"]) == (0, 3, False)
    assert await sanctions.active_sanctions(d["id"]) == []


async def test_the_payment_clearing_the_overdue_debt_lifts_every_sanction_and_the_held_order_enters_production(client):
    d = await debtor()
    for kind in sanction_rules.SANCTION_KINDS:
        await sanctions.apply_sanction(d["id"], kind, SYSTEM)
    order = await held_order(d["id"])
    assert order["stage"] == "awaiting_prepayment"  # approved and paid, but on hold
    await login(client, await make_staff(Role.SALES_MANAGER))
    board = (await client.get("/staff/orders")).text
    card = board[board.index(f'id="card-{order["id"]}"'):].split("</article>")[0]
    assert "Credit hold: overdue debt" in card and "Waits for credit hold to be lifted" in card

    await pay(d["overdue"])  # a real payment through billing.record_payment

    assert await terms_of(d["id"]) == (500, 2, False)
    lifted = await Sanction.select(Sanction.lifted_at, Sanction.lift_reason).where(Sanction.client == d["id"])
    assert len(lifted) == 3 and all(s["lifted_at"] and s["lift_reason"] == "overdue debt cleared" for s in lifted)
    assert (await orders.get_order(order["id"]))["stage"] == "in_production"
    assert await AuditEvent.count().where((AuditEvent.action == "sanction_lifted") & (AuditEvent.object_id == d["id"])) == 3
    notice = await ClientNotice.select().where(ClientNotice.kind == "sanctions_lifted").first()
    assert "your discount of 5% is back" in notice["message"] and "service priority is Normal again" in notice["message"]
    assert "the credit hold is lifted" in notice["message"]
    email = await EmailMessage.select().where(EmailMessage.key.like("sanctions-lifted-%")).first()
    assert email["to_address"] == "maria@client.test" and notice["message"] in email["body"]

    detail = text_of((await client.get(f"/staff/clients/{d['id']}")).text)
    assert "Discount removed" in detail and "overdue debt cleared" in detail and "In force" not in detail


async def test_a_partial_payment_leaving_overdue_debt_lifts_nothing(db):
    d = await debtor()
    second_overdue = await issue(d["id"], due_in=-2)
    for kind in sanction_rules.SANCTION_KINDS:
        await sanctions.apply_sanction(d["id"], kind, SYSTEM)

    await pay(d["overdue"], 5000)  # part of one invoice
    assert await terms_of(d["id"]) == (0, 3, True)
    await pay(d["overdue"], d["overdue"]["total_minor"] - 5000)  # the rest of it: the other invoice is still overdue
    assert await terms_of(d["id"]) == (0, 3, True)
    assert len(await sanctions.active_sanctions(d["id"])) == 3

    await pay(second_overdue)
    assert await terms_of(d["id"]) == (500, 2, False)


async def test_a_discount_staff_changed_during_the_sanction_is_kept_when_it_is_lifted(db):
    d = await debtor()
    await sanctions.apply_sanction(d["id"], "remove_discount", SYSTEM)
    form = clients.client_form_values(await clients.get_client(d["id"])) | {"discount": "3"}
    assert (await clients.update_client(d["id"], form, SYSTEM)).ok
    await pay(d["overdue"])
    assert (await terms_of(d["id"]))[0] == 300
    assert await sanctions.active_sanctions(d["id"]) == []


async def test_lift_if_clear_does_nothing_while_debt_is_overdue_and_for_clients_without_sanctions(db):
    d = await debtor()
    await sanctions.apply_sanction(d["id"], "credit_hold", SYSTEM)
    assert (await sanctions.lift_if_clear(d["id"], SYSTEM)).count == 0
    other = await make_client()
    assert (await sanctions.lift_if_clear(other, SYSTEM)).count == 0
    with pytest.raises(ValueError):
        await sanctions.apply_sanction(d["id"], "cash_on_delivery", SYSTEM)


# --- the pure rules ------------------------------------------------------------------------------

def test_restore_keeps_a_newer_value_set_by_staff():
    active = [{"kind": "remove_discount", "previous_value": 500}, {"kind": "lower_priority", "previous_value": 1},
              {"kind": "credit_hold", "previous_value": 0}]
    assert sanction_rules.restore_updates(active, sanction_rules.Terms(0, 3, True)) == {
        "discount_bp": 500, "service_priority": 1, "on_credit_hold": False}
    assert sanction_rules.restore_updates(active, sanction_rules.Terms(250, 2, False)) == {}


def test_plans_say_what_they_take():
    plan = sanction_rules.plan_sanction("remove_discount", sanction_rules.Terms(550, 2, False))
    assert (plan.previous_value, plan.updates, plan.outcome) == (550, {"discount_bp": 0}, "Discount 5.50 % removed")
    plan = sanction_rules.plan_sanction("credit_hold", sanction_rules.Terms(0, 2, True))
    assert plan.updates == {} and not plan.changes_anything
