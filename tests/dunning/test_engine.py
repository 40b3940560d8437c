"""The engine end to end on one invoice: every step at its day and time, none early, none twice."""

from __future__ import annotations

import datetime as dt

from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.dunning.engine.tables import DunningState
from portal.dunning.escalation import service as escalation
from portal.dunning.letters.tables import Letter
from portal.mail.tables import EmailMessage
from portal.tasks.tables import Task
from tests.billing.staff_helpers import issue, pay
from tests.dunning.engine_helpers import PRESSURE, TZ, actions_of, local, make_ladder, tick
from tests.factories import make_client, make_contact, make_staff


async def _setup(**client_fields):
    manager = await make_staff(Role.SALES_MANAGER)
    await make_staff(Role.CREDIT_CONTROLLER)
    await make_staff(Role.NEGOTIATOR, is_legal=True)
    client_id = await make_client(sales_manager=str(manager["id"]), **client_fields)
    await make_contact(client_id)
    ladder = await make_ladder("Pressure", PRESSURE)
    invoice = await issue(client_id, due_in=10)
    return manager, client_id, ladder, invoice


async def test_each_step_at_its_day_and_time_none_early_none_twice(db, settings):
    manager, _client_id, _ladder, invoice = await _setup()
    due = invoice["due_date"]
    expected = [  # (local day offset, time, channel) of each step, in order
        (-3, "10:00", "email"), (0, "12:00", "call"), (1, "09:00", "email"), (1, "11:00", "call"),
        (2, "10:00", "letter"), (7, "10:00", "court_warning"), (15, "10:00", "legal_handover"),
    ]
    for n, (offset, hhmm, channel) in enumerate(expected):
        at = local(due + dt.timedelta(days=offset), hhmm)
        await tick(settings, at - dt.timedelta(minutes=1))
        assert len(await actions_of(invoice["id"])) == n, f"step {n + 1} ({channel}) taken early"
        await tick(settings, at)
        await tick(settings, at)  # a second tick at the same moment takes nothing again
        taken = await actions_of(invoice["id"])
        assert [a["channel"] for a in taken] == [c for _, _, c in expected[: n + 1]]
        assert all(a["status"] == "done" for a in taken), taken
    assert await EmailMessage.count().where(EmailMessage.invoice_id == invoice["id"]) == 2
    calls = await Task.select(Task.kind, Task.assignee, Task.due_at).where((Task.invoice == invoice["id"]) & (Task.kind == "call"))
    assert [c["assignee"] for c in calls] == [manager["id"], manager["id"]]
    assert sorted(c["due_at"] for c in calls)[0] == local(due, "12:00")
    letters = await Letter.select(Letter.kind, Letter.deadline).where(Letter.invoice == invoice["id"]).order_by(Letter.id)
    assert [letter["kind"] for letter in letters] == ["letter", "court_warning", "legal_handover"]
    state = await DunningState.select().where(DunningState.invoice == invoice["id"]).first()
    assert state["next_at"] is None and state["severity"] == 6


async def test_payment_in_full_stops_everything_and_partial_goes_on(db, settings):
    _, _client_id, _ladder, invoice = await _setup()
    due = invoice["due_date"]
    await tick(settings, local(due - dt.timedelta(days=3), "10:00"))
    await tick(settings, local(due, "12:00"))
    assert len(await actions_of(invoice["id"])) == 2
    await pay(invoice, invoice["total_minor"] // 2)
    await tick(settings, local(due + dt.timedelta(days=1), "09:00"))
    assert len(await actions_of(invoice["id"])) == 3  # the ladder goes on with the remainder
    await pay({**invoice}, invoice["total_minor"] - invoice["total_minor"] // 2)
    await tick(settings, local(due + dt.timedelta(days=30), "12:00"))
    assert len(await actions_of(invoice["id"])) == 3
    open_tasks = await Task.count().where((Task.invoice == invoice["id"]) & Task.done_at.is_null())
    assert open_tasks == 0


async def test_promise_pauses_until_the_date_then_resumes_at_the_next_step(db, settings):
    manager, _client_id, _ladder, invoice = await _setup()
    due = invoice["due_date"]
    await tick(settings, local(due - dt.timedelta(days=3), "10:00"))
    await tick(settings, local(due, "12:00"))  # reminder + due-date call
    promised = due + dt.timedelta(days=5)
    await escalation.record_promise(invoice["id"], promised, Actor(manager["id"], "M"), grace_days=1, tz=TZ, max_days=30,
                                    now=local(due, "12:30"))
    await tick(settings, local(due + dt.timedelta(days=6), "23:59"))
    assert len(await actions_of(invoice["id"])) == 2  # paused through the promised day and the grace day
    report = await tick(settings, local(due + dt.timedelta(days=7), "00:00"))
    taken = await actions_of(invoice["id"])
    assert report.pauses_ended == 1
    # resumes with the next step (the penalty email), then the pay-today call keeps its 2 hours' spacing... same day
    assert [a["channel"] for a in taken][2] == "email"
    assert taken[2]["taken_at"] == local(due + dt.timedelta(days=7), "00:00")


async def test_demand_letter_skipped_when_the_client_asked_for_a_deferral(db, settings):
    manager, _client_id, _ladder, invoice = await _setup()
    due = invoice["due_date"]
    for offset, hhmm in ((-3, "10:00"), (0, "12:00"), (1, "09:00"), (1, "11:00")):
        await tick(settings, local(due + dt.timedelta(days=offset), hhmm))
    assert len(await actions_of(invoice["id"])) == 4
    await escalation.record_promise(invoice["id"], due + dt.timedelta(days=2), Actor(manager["id"], "M"), grace_days=0, tz=TZ,
                                    max_days=30, now=local(due + dt.timedelta(days=1), "11:30"))
    await tick(settings, local(due + dt.timedelta(days=3), "10:00"))
    taken = await actions_of(invoice["id"])
    assert [(a["channel"], a["status"]) for a in taken][-1] == ("letter", "skipped")


async def test_privileged_client_forgiveness_shifts_steps_and_legal_needs_an_admin(db, settings):
    admin = await make_staff(Role.ADMIN)
    _manager, _client_id, _ladder, invoice = await _setup(privileged="1", forgiveness_days="10")
    due = invoice["due_date"]
    await tick(settings, local(due, "12:00"))
    assert [a["channel"] for a in await actions_of(invoice["id"])] == ["email"]  # the call moved 10 days on
    await tick(settings, local(due + dt.timedelta(days=10), "12:00"))
    assert len(await actions_of(invoice["id"])) == 2
    for day in range(11, 40):  # a tick a day at noon: the ladder catches up a day at a time
        await tick(settings, local(due + dt.timedelta(days=day), "12:00"))
    taken = await actions_of(invoice["id"])
    assert len(taken) == len(PRESSURE)
    assert taken[-1]["channel"] == "legal_handover" and taken[-1]["status"] == "awaiting_approval"
    approval = await Task.select().where((Task.invoice == invoice["id"]) & (Task.kind == "approval")).first()
    assert approval["assignee"] == admin["id"]


async def test_portal_notice_and_sanction_steps(db, settings):
    from portal.clients.tables import Client, ClientNotice

    manager = await make_staff(Role.SALES_MANAGER)
    client_id = await make_client(sales_manager=str(manager["id"]), discount="5")
    await make_ladder("Notices", [
        {"name": "Overdue notice", "offset_days": 1, "time_of_day": "09:00", "channel": "portal_notice"},
        {"name": "Credit hold", "offset_days": 2, "time_of_day": "09:00", "channel": "sanction", "sanction": "credit_hold"},
    ])
    invoice = await issue(client_id, due_in=10)
    due = invoice["due_date"]
    await tick(settings, local(due + dt.timedelta(days=1), "09:00"))
    notices = await ClientNotice.select(ClientNotice.message, ClientNotice.link).where(
        (ClientNotice.client == client_id) & (ClientNotice.kind != "invoice_issued"))
    assert [n["link"] for n in notices] == [f"/client/invoices/{invoice['id']}"]
    assert invoice["code"] in notices[0]["message"]
    await tick(settings, local(due + dt.timedelta(days=2), "09:00"))
    held = await Client.select(Client.on_credit_hold).where(Client.id == client_id).first()
    assert held["on_credit_hold"] is True
    assert [a["status"] for a in await actions_of(invoice["id"])] == ["done", "done"]
    await pay(invoice)  # the overdue debt is cleared: the hold is lifted
    held = await Client.select(Client.on_credit_hold).where(Client.id == client_id).first()
    assert held["on_credit_hold"] is False
