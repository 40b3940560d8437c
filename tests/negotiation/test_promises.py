"""A client promises a payment date from its invoice page: the ladder waits until that day plus
grace; a date in the past or beyond the policy's limit is refused beside the field; another
company's invoice is a 404; a broken promise shows in the client's payment discipline for staff.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html

from portal.auth.roles import Role
from portal.clock import utcnow
from portal.dunning.engine import rules as dunning_rules
from portal.dunning.escalation import service as escalation
from portal.dunning.escalation.tables import Pause
from tests.billing.staff_helpers import issue
from tests.dunning.engine_helpers import PRESSURE, make_ladder, tick
from tests.factories import login, make_client, make_client_user, make_staff, post

HTMX = {"hx-request": "true"}


def firm_today(settings) -> dt.date:
    return dunning_rules.local_date(utcnow(), settings.firm_timezone)


async def _world():
    manager = await make_staff(Role.SALES_MANAGER)
    await make_staff(Role.CREDIT_CONTROLLER)
    client_id = await make_client("Promising Cartons SRL", sales_manager=str(manager["id"]))
    invoice = await issue(client_id, due_in=-5)  # five days overdue
    return client_id, invoice


async def test_a_promise_from_the_invoice_page_pauses_the_reminders_until_then(client, settings):
    client_id, invoice = await _world()
    await login(client, await make_client_user(client_id))
    page = await client.get(f"/client/invoices/{invoice['id']}")
    assert page.status_code == 200
    assert "Promise a payment date" in page.text and "Reminders run as usual." in page.text

    promised = firm_today(settings) + dt.timedelta(days=7)
    response = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": promised.isoformat()}, headers=HTMX)
    assert response.status_code == 200
    assert 'id="promise-dispute"' in response.text  # the panel, swapped in place
    assert "Promised to pay by" in response.text and "reminders wait until then" in response.text
    assert "Promise a payment date" not in response.text  # no second promise over the first

    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "promised"
    pause = await Pause.select().where((Pause.invoice == invoice["id"]) & Pause.ended_at.is_null()).first()
    assert pause["kind"] == "promise" and pause["promised_date"] == promised
    grace = settings.promise_grace_days
    assert pause["until"] == escalation.promise_until(promised, grace, settings.firm_timezone)

    again = await client.get(f"/client/invoices/{invoice['id']}")
    assert "Promised to pay by" in again.text and "Reminders wait until your promised date." in again.text


async def test_a_plain_post_redirects_back_to_the_invoice_with_a_message(client, settings):
    client_id, invoice = await _world()
    await login(client, await make_client_user(client_id))
    promised = firm_today(settings) + dt.timedelta(days=3)
    response = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": promised.isoformat()})
    assert response.status_code == 303
    assert response.headers["location"] == f"/client/invoices/{invoice['id']}#promise-dispute"
    page = await client.get(response.headers["location"].split("#")[0])
    assert "your promise to pay by" in page.text and "Promised to pay by" in page.text


async def test_a_date_beyond_the_policy_limit_is_refused_beside_the_field_and_kept(client, settings):
    client_id, invoice = await _world()
    await login(client, await make_client_user(client_id))
    too_late = firm_today(settings) + dt.timedelta(days=settings.max_promise_days + 1)
    response = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": too_late.isoformat()}, headers=HTMX)
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert f"You can promise at most {settings.max_promise_days} days ahead" in text
    assert f'value="{too_late:%d/%m/%Y}"' in text  # what was typed stays (as the reader writes dates)
    assert 'aria-invalid="true"' in text
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0

    plain = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": too_late.isoformat()})
    assert plain.status_code == 400  # the whole invoice page again, with the message
    assert invoice["code"] in plain.text and "days ahead" in plain.text


async def test_a_date_in_the_past_or_no_date_is_refused(client, settings):
    client_id, invoice = await _world()
    await login(client, await make_client_user(client_id))
    yesterday = firm_today(settings) - dt.timedelta(days=1)
    response = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": yesterday.isoformat()}, headers=HTMX)
    assert "That date has passed" in html.unescape(response.text)
    blank = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": ""}, headers=HTMX)
    assert "Enter the date you will pay by" in html.unescape(blank.text)
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0


async def test_another_clients_invoice_is_a_404_and_gets_no_promise(client, settings):
    _, invoice = await _world()
    other = await make_client("Other Buyer SRL")
    await login(client, await make_client_user(other))
    promised = firm_today(settings) + dt.timedelta(days=3)
    response = await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": promised.isoformat()})
    assert response.status_code == 404
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0


async def test_a_paid_invoice_offers_no_promise(client, settings):
    from tests.billing.staff_helpers import pay

    client_id, invoice = await _world()
    await pay(invoice)
    await login(client, await make_client_user(client_id))
    page = await client.get(f"/client/invoices/{invoice['id']}")
    assert "Promise a payment date" not in page.text and "Dispute this invoice" not in page.text
    response = await post(client, f"/client/invoices/{invoice['id']}/promise",
                          {"promised_date": (firm_today(settings) + dt.timedelta(days=2)).isoformat()}, headers=HTMX)
    assert "A promise cannot be recorded for this invoice now." in response.text
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0


async def test_a_broken_promise_resumes_the_ladder_and_shows_in_payment_discipline(client, settings):
    client_id, invoice = await _world()
    await make_ladder("Pressure", PRESSURE)
    buyer = await make_client_user(client_id)
    await login(client, buyer)
    promised = firm_today(settings) + dt.timedelta(days=2)
    await post(client, f"/client/invoices/{invoice['id']}/promise", {"promised_date": promised.isoformat()})
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "promised"

    await tick(settings, utcnow() + dt.timedelta(days=2 + settings.promise_grace_days + 2))
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    broken = await Pause.select(Pause.end_reason).where(Pause.invoice == invoice["id"]).first()
    assert broken["end_reason"] == "broken"

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    staff_page = await client.get(f"/staff/clients/{client_id}")
    assert staff_page.status_code == 200
    assert "Payment discipline" in staff_page.text and "1 broken promise" in staff_page.text
