"""The schedule pages as their users see them: a client proposes (filling equal installments in,
fixing what the page says is wrong), a negotiator answers with versions side by side and a
preparation only staff see; nobody reaches another company's schedule."""

from __future__ import annotations

import datetime as dt

from portal.auth.roles import Role
from portal.dunning.escalation import service as escalation
from portal.negotiation.schedules import service
from portal.negotiation.tables import Schedule
from portal.web import i18n
from tests.factories import login, make_staff, post
from tests.negotiation.schedule_helpers import ctx_of, debtor, local_today, split


def _rows(rows) -> dict:
    return {"date": [r.due_date.isoformat() for r in rows], "amount": [f"{r.amount_minor / 100:.2f}" for r in rows]}


async def test_a_client_fills_in_equal_installments_fixes_a_mistake_and_sends_the_proposal(client, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    await login(client, d["user"])
    page = await client.get("/client/schedules/new")
    assert page.status_code == 200 and invoice["code"] in page.text

    first = local_today(settings) + dt.timedelta(days=10)
    filled = await post(client, "/client/schedules/new", {"invoice_ids": str(invoice["id"]), "count": "3",
                                                          "first": first.isoformat(), "action": "fill", "note": "Bankrupt customer"})
    assert filled.status_code == 200
    assert f"{first:%d/%m/%Y}" in filled.text and "Bankrupt customer" in filled.text  # nothing typed is lost
    assert await Schedule.count() == 0

    today = local_today(settings)
    wrong = split(invoice["total_minor"] - 1000, [10, 40, 70], today)
    refused = await post(client, "/client/schedules/new", {"invoice_ids": str(invoice["id"]), "action": "propose",
                                                           "note": "Bankrupt customer", **_rows(wrong)})
    assert refused.status_code == 400
    assert "add up to" in refused.text and i18n.format_money(invoice["total_minor"], "RON") in refused.text
    assert f"{wrong[1].due_date:%d/%m/%Y}" in refused.text and await Schedule.count() == 0

    right = split(invoice["total_minor"], [10, 40, 70], today)
    sent = await post(client, "/client/schedules/new", {"invoice_ids": str(invoice["id"]), "action": "propose",
                                                        "note": "Bankrupt customer", **_rows(right)})
    assert sent.status_code == 303
    schedule = await Schedule.select().first()
    assert sent.headers["location"] == f"/client/schedules/{schedule['id']}"
    detail = await client.get(sent.headers["location"])
    assert "We are looking at your proposal" in detail.text and "Version 1" in detail.text
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "proposal"


async def test_a_negotiator_counters_and_the_client_accepts_in_the_portal(client, settings):
    d = await debtor()
    invoice, today = d["invoices"][0], local_today(settings)
    schedule_id = await service.propose(d["client_id"], [invoice["id"]], split(invoice["total_minor"], [10, 40, 70], today),
                                        "Please", d["client_actor"], ctx_of(settings))
    await login(client, d["negotiator"])
    listing = await client.get("/staff/schedules")
    assert f"/staff/schedules/{schedule_id}" in listing.text
    await post(client, f"/staff/schedules/{schedule_id}/prep", {"ideal_terms": "Two months, no more", "acceptable_terms": "Four months",
                                                               "prep_notes": "Ask about their bank"})
    countered = await post(client, f"/staff/schedules/{schedule_id}/counter",
                           {"note": "Four installments", **_rows(split(invoice["total_minor"], [10, 30, 50, 70], today))})
    assert countered.status_code == 303
    page = (await client.get(f"/staff/schedules/{schedule_id}")).text
    assert 'data-version="1"' in page and 'data-version="2"' in page  # side by side
    assert "Two months, no more" in page

    client.cookies.clear()
    await login(client, d["user"])
    mine = (await client.get(f"/client/schedules/{schedule_id}")).text
    assert "Accept and sign version 2" in mine
    assert "Two months, no more" not in mine and "Ask about their bank" not in mine  # staff only
    unsigned = await post(client, f"/client/schedules/{schedule_id}/accept", {"version": "2", "name": " "})
    assert unsigned.status_code == 400 and "Type your full name" in unsigned.text
    accepted = await post(client, f"/client/schedules/{schedule_id}/accept", {"version": "2", "name": "Ana Pop"})
    assert accepted.status_code == 303
    page = (await client.get(f"/client/schedules/{schedule_id}")).text
    assert "Your installments" in page and "Signed by Ana Pop" in page
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "on_plan"


async def test_no_client_reads_or_acts_on_another_clients_schedule(client, settings):
    d = await debtor()
    other = await debtor(ladder=False)
    invoice, today = d["invoices"][0], local_today(settings)
    schedule_id = await service.propose(d["client_id"], [invoice["id"]], split(invoice["total_minor"], [10, 40], today), "",
                                        d["client_actor"], ctx_of(settings))
    await service.counter(schedule_id, "staff", split(invoice["total_minor"], [10, 30, 50], today), "", d["staff_actor"],
                          ctx_of(settings))
    await login(client, other["user"])
    assert (await client.get(f"/client/schedules/{schedule_id}")).status_code == 404
    assert schedule_id not in [s["id"] for s in await service.list_for_client(other["client_id"])]
    for action, data in (("accept", {"version": "2", "name": "Eve"}), ("reject", {"reason": "no"}),
                         ("counter", _rows(split(invoice["total_minor"], [10], today))), ("pay", {})):
        response = await post(client, f"/client/schedules/{schedule_id}/{action}", data)
        assert response.status_code == 404, action
    assert (await service.get(schedule_id))["status"] == "with_client"
    # nor may a client propose a schedule for another company's invoice
    response = await post(client, "/client/schedules/new", {"invoice_ids": str(invoice["id"]), "action": "propose",
                                                            **_rows(split(invoice["total_minor"], [10], today))})
    assert response.status_code == 400 and await Schedule.count() == 1


async def test_a_negotiators_draft_stays_invisible_to_the_client_until_offered(client, settings):
    d = await debtor()
    invoice, today = d["invoices"][0], local_today(settings)
    await login(client, d["negotiator"])
    form = await client.get(f"/staff/schedules/new?client_id={d['client_id']}")
    assert invoice["code"] in form.text
    made = await post(client, "/staff/schedules/new", {"client_id": str(d["client_id"]), "invoice_ids": str(invoice["id"]),
                                                       "note": "Our offer", **_rows(split(invoice["total_minor"], [15, 45], today))})
    assert made.status_code == 303
    schedule_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"  # a draft pauses nothing

    client.cookies.clear()
    await login(client, d["user"])
    assert (await client.get(f"/client/schedules/{schedule_id}")).status_code == 404
    client.cookies.clear()
    await login(client, d["negotiator"])
    assert (await post(client, f"/staff/schedules/{schedule_id}/offer")).status_code == 303
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "proposal"
    client.cookies.clear()
    await login(client, d["user"])
    assert "Accept and sign version 1" in (await client.get(f"/client/schedules/{schedule_id}")).text


async def test_only_negotiators_credit_controllers_and_admins_work_on_schedules(client, settings):
    designer = await make_staff(Role.DESIGNER)
    await login(client, designer)
    assert (await client.get("/staff/schedules")).status_code == 403


def _said(answer) -> str:
    return " ".join(answer.text.split())


async def test_the_running_total_follows_what_is_typed_against_the_ticked_debt(client, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    debt = invoice["total_minor"]
    await login(client, d["user"])
    page = (await client.get("/client/schedules/new")).text
    assert 'hx-post="/client/schedules/new/total"' in page and "load, input from:closest form" in page

    ticked = {"invoice_ids": str(invoice["id"])}
    money = lambda minor: i18n.format_money(minor, "RON")  # noqa: E731
    nothing = await post(client, "/client/schedules/new/total", {**ticked, "amount": ["", ""]})
    assert nothing.status_code == 200 and f"must add up to {money(debt)}" in _said(nothing)
    part = await post(client, "/client/schedules/new/total", {**ticked, "amount": ["100.00", "50,50", "ten"]})
    assert f"{money(15_050)} of {money(debt)}; {money(debt - 15_050)} still to place" in _said(part)
    assert "1 amount is not a number." in _said(part)
    over = await post(client, "/client/schedules/new/total", {**ticked, "amount": [f"{debt / 100 + 1:.2f}"]})
    assert f"{money(100)} too much" in _said(over)
    exact = await post(client, "/client/schedules/new/total", {**ticked, "amount": [f"{debt / 100:.2f}"]})
    assert "exactly the debt" in _said(exact) and "running-total-ok" in exact.text
    untick = await post(client, "/client/schedules/new/total", {"amount": ["100.00"]})
    assert f"of {money(0)}" in _said(untick)  # nothing ticked: no debt to place


async def test_the_running_total_of_a_counter_offer_is_the_schedules_own_and_no_one_elses(client, settings):
    d = await debtor()
    other = await debtor(ladder=False)
    invoice, today = d["invoices"][0], local_today(settings)
    schedule_id = await service.propose(d["client_id"], [invoice["id"]], split(invoice["total_minor"], [10, 40], today), "",
                                        d["client_actor"], ctx_of(settings))
    await login(client, d["negotiator"])
    answer = await post(client, f"/staff/schedules/{schedule_id}/total", {"amount": ["10.00"]})
    assert f"of {i18n.format_money(invoice['total_minor'], 'RON')}" in _said(answer)
    assert 'hx-post="/staff/schedules/' in (await client.get(f"/staff/schedules/{schedule_id}")).text

    client.cookies.clear()
    await login(client, other["user"])
    assert (await post(client, f"/client/schedules/{schedule_id}/total", {"amount": ["10.00"]})).status_code == 404
    client.cookies.clear()
    await login(client, await make_staff(Role.DESIGNER))
    assert (await post(client, f"/staff/schedules/{schedule_id}/total", {"amount": ["10.00"]})).status_code == 403
