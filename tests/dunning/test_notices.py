"""What the client is told: staff changes of its terms (notice and email), marking notices read
(only its own), where its mail goes, and the payments coming up on its home page."""

from __future__ import annotations

import re

from portal.auth.roles import Role
from portal.clients import notices, service as clients
from portal.clients.tables import Client, ClientNotice
from portal.mail.tables import EmailMessage
from tests.billing.staff_helpers import issue, pay
from tests.dunning.test_sanctions import section_of, text_of
from tests.factories import login, make_client, make_client_user, make_contact, make_staff, post


async def edit_terms(client, client_id: int, **changes: str):
    form = clients.client_form_values(await clients.get_client(client_id)) | changes
    return await post(client, f"/staff/clients/{client_id}/edit", form)


async def test_a_staff_change_of_discount_is_shown_to_the_client_and_emailed(client):
    company = await make_client(discount="5")
    await make_contact(company)
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    assert (await edit_terms(client, company, discount="3")).status_code == 303

    notice = await ClientNotice.select().where(ClientNotice.client == company).first()
    assert (notice["kind"], notice["message"]) == ("terms_changed", "Your discount changed from 5% to 3%.")
    email = await EmailMessage.select().where(EmailMessage.client == company).first()
    assert email["to_address"] == "maria@client.test" and email["key"].startswith(f"terms-{company}-")
    assert "Your discount changed from 5% to 3%." in email["body"]

    assert (await edit_terms(client, company, phone="+40 722 000 111")).status_code == 303  # not a term: nobody is told
    assert await ClientNotice.count().where(ClientNotice.client == company) == 1

    await edit_terms(client, company, service_priority="1", credit_limit="25000")
    latest = await ClientNotice.select().where(ClientNotice.client == company).order_by(ClientNotice.id, ascending=False).first()
    assert "Your service priority changed from Normal to High." in latest["message"]
    assert re.search(r"Your credit limit changed from RON\W?10,000\.00 to RON\W?25,000\.00\.", latest["message"])
    assert await EmailMessage.count().where(EmailMessage.client == company) == 2

    await post(client, "/logout")
    await login(client, await make_client_user(company))
    panel = text_of(section_of((await client.get("/client")).text, "notices"))
    assert "Your discount changed from 5% to 3%." in panel and "Your service priority changed from Normal to High." in panel


async def test_a_client_marks_its_own_notice_read_but_never_another_clients(client):
    a, b = await make_client("Alfa Cartons SRL"), await make_client("Beta Packaging SRL")
    own = await notices.notify_client(a, "terms_changed", "Your discount changed from 5% to 3%.")
    theirs = await notices.notify_client(b, "terms_changed", "Your credit limit changed.")
    await login(client, await make_client_user(a))

    refused = await post(client, f"/client/notices/{theirs}/read", headers={"hx-request": "true"})
    assert refused.status_code == 404
    assert (await ClientNotice.select(ClientNotice.read_at).where(ClientNotice.id == theirs).first())["read_at"] is None
    assert "Your credit limit changed." not in (await client.get("/client")).text

    answer = await post(client, f"/client/notices/{own}/read", headers={"hx-request": "true"})
    assert answer.status_code == 200
    assert f'id="notice-{own}"' in answer.text and "Mark read" not in answer.text
    first_read = (await ClientNotice.select(ClientNotice.read_at).where(ClientNotice.id == own).first())["read_at"]
    assert first_read is not None
    again = await post(client, f"/client/notices/{own}/read")  # without htmx: back to the home page
    assert again.status_code == 303 and again.headers["location"] == "/client#notices"
    assert (await ClientNotice.select(ClientNotice.read_at).where(ClientNotice.id == own).first())["read_at"] == first_read


async def test_staff_cannot_use_the_client_notice_route(client):
    company = await make_client()
    notice = await notices.notify_client(company, "terms_changed", "x")
    await login(client, await make_staff(Role.ADMIN))
    assert (await post(client, f"/client/notices/{notice}/read")).status_code == 403


async def test_mail_goes_to_the_primary_contact_else_any_contact_else_the_company_else_nowhere(db):
    company = await make_client(email="office@company.test")
    await notices.notify_client(company, "terms_changed", "One.", email_key="k-1")
    assert (await EmailMessage.select().where(EmailMessage.key == "k-1").first())["to_address"] == "office@company.test"
    await make_contact(company)
    await notices.notify_client(company, "terms_changed", "Two.", email_key="k-2")
    assert (await EmailMessage.select().where(EmailMessage.key == "k-2").first())["to_address"] == "maria@client.test"
    await notices.notify_client(company, "terms_changed", "Two again.", email_key="k-2")  # same cause: one email
    assert await EmailMessage.count().where(EmailMessage.key == "k-2") == 1

    nobody = await make_client()
    await Client.update({Client.email: ""}).where(Client.id == nobody)
    notice_id = await notices.notify_client(nobody, "terms_changed", "Three.", email_key="k-3")
    assert notice_id and await EmailMessage.count().where(EmailMessage.key == "k-3") == 0


async def test_a_notice_link_stays_inside_the_portal(db):
    company = await make_client()
    notice_id = await notices.notify_client(company, "terms_changed", "x", link="https://evil.example/")
    assert (await notices.get_notice(company, notice_id))["link"] == ""


async def test_upcoming_payments_show_only_the_clients_own_open_invoices_not_yet_overdue(client):
    a, b = await make_client("Alfa Cartons SRL"), await make_client("Beta Packaging SRL")
    later = await issue(a, due_in=12)
    sooner = await issue(a, due_in=3)
    part_paid = await issue(a, due_in=6)
    await pay(part_paid, 1900)
    await issue(a, due_in=-4)  # overdue: not upcoming
    await pay(await issue(a, due_in=2))  # paid
    await issue(b, due_in=1)  # another client's
    await login(client, await make_client_user(a))

    panel = section_of((await client.get("/client")).text, "upcoming-payments")
    assert re.findall(r'data-invoice="([^"]+)"', panel) == [sooner["code"], part_paid["code"], later["code"]]
    assert f'href="/client/invoices/{sooner["id"]}"' in panel
    assert "100.00" in text_of(panel)  # the part-paid invoice's balance: 119.00 - 19.00


async def test_no_upcoming_payments_and_no_notices_say_so(client):
    company = await make_client()
    await login(client, await make_client_user(company))
    page = text_of((await client.get("/client")).text)
    assert "Nothing falls due soon." in page and "Nothing has changed in your terms lately." in page
