"""Repayment schedules through the services and the engine: proposals pause the ladder, counters
keep every version, an accepted plan steers the ladder, a missed installment breaks it."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.audit.tables import AuditEvent
from portal.dunning.escalation import service as escalation
from portal.mail.tables import EmailMessage
from portal.negotiation.schedules import service
from portal.negotiation.tables import Installment, Schedule, ScheduleVersion
from portal.tasks.tables import Task
from tests.billing.staff_helpers import pay
from tests.dunning.engine_helpers import actions_of, tick
from tests.negotiation.schedule_helpers import at, ctx_of, debtor, local_today, split


async def _propose(settings, d, days=(10, 40, 70)):
    today = local_today(settings)
    invoice = d["invoices"][0]
    rows = split(invoice["total_minor"], list(days), today)
    schedule_id = await service.propose(d["client_id"], [invoice["id"]], rows, "A customer of ours went bankrupt.",
                                        d["client_actor"], ctx_of(settings))
    return schedule_id, rows


async def test_a_proposal_pauses_the_ladder_and_gives_the_negotiator_a_task(db, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    schedule_id, rows = await _propose(settings, d)
    schedule = await service.get(schedule_id)
    assert (schedule["status"], schedule["current_version"], schedule["debt_minor"]) == ("with_staff", 1, invoice["total_minor"])
    versions = await service.versions_of(schedule_id)
    assert [(i["due_date"], i["amount_minor"]) for i in versions[0]["installments"]] == [(r.due_date, r.amount_minor) for r in rows]
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "proposal"
    task = await Task.select().where(Task.schedule == schedule_id).first()
    assert task["assignee"] == d["negotiator"]["id"] and task["done_at"] is None
    event = await AuditEvent.select().where(AuditEvent.action == "escalation_changed").output(load_json=True).first()
    assert event["before"] == {"state": "running"} and event["after"]["event"] == "proposal"

    # the ladder takes nothing while the proposal is reviewed ...
    before = len(await actions_of(invoice["id"]))
    await tick(settings, at(settings, local_today(settings) + dt.timedelta(days=3)))
    assert len(await actions_of(invoice["id"])) == before
    # ... and at most PROPOSAL_REVIEW_DAYS: then it goes on by itself
    await tick(settings, at(settings, local_today(settings) + dt.timedelta(days=settings.proposal_review_days + 1)))
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    assert len(await actions_of(invoice["id"])) > before


@pytest.mark.parametrize("problem, rows_of, key", [
    ("sum", lambda total, today: split(total - 100, [10, 20], today), "total"),
    ("past", lambda total, today: split(total, [0, 20], today), "row-0-date"),
    ("order", lambda total, today: split(total, [20, 10], today), "row-1-date"),
    ("minimum", lambda total, today: [*split(total - 100, [10], today), *split(100, [20], today)], "row-1-amount"),
    ("horizon", lambda total, today: split(total, [10, 400], today), "row-1-date"),
])
async def test_a_bad_proposal_is_refused_with_the_row_named_and_nothing_saved(db, settings, problem, rows_of, key):
    d = await debtor()
    invoice = d["invoices"][0]
    with pytest.raises(service.ScheduleError) as refused:
        await service.propose(d["client_id"], [invoice["id"]], rows_of(invoice["total_minor"], local_today(settings)), "",
                              d["client_actor"], ctx_of(settings))
    assert key in refused.value.errors, (problem, refused.value.errors)
    assert await Schedule.count() == 0 and await ScheduleVersion.count() == 0
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"


async def test_an_invoice_is_in_one_live_schedule_only_and_must_be_the_clients(db, settings):
    d = await debtor()
    other = await debtor(ladder=False)
    await _propose(settings, d)
    with pytest.raises(service.ScheduleError):
        await _propose(settings, d)
    with pytest.raises(LookupError):
        await service.propose(d["client_id"], [other["invoices"][0]["id"]], split(119000, [10], local_today(settings)), "",
                              d["client_actor"], ctx_of(settings))


async def test_counter_offers_keep_every_version_and_turns_alternate(db, settings):
    d = await debtor()
    invoice, ctx, today = d["invoices"][0], ctx_of(settings), local_today(settings)
    schedule_id, _ = await _propose(settings, d)
    with pytest.raises(service.ScheduleError):  # not the client's turn
        await service.counter(schedule_id, "client", split(invoice["total_minor"], [5, 15], today), "", d["client_actor"], ctx,
                              client_id=d["client_id"])
    four = split(invoice["total_minor"], [10, 30, 50, 70], today)
    assert await service.counter(schedule_id, "staff", four, "Four, please.", d["staff_actor"], ctx) == 2
    assert (await service.get(schedule_id))["status"] == "with_client"
    two = split(invoice["total_minor"], [20, 60], today)
    assert await service.counter(schedule_id, "client", two, "Two bigger ones.", d["client_actor"], ctx, client_id=d["client_id"]) == 3
    assert await service.counter(schedule_id, "staff", four, "Back to four.", d["staff_actor"], ctx) == 4
    versions = await service.versions_of(schedule_id)
    assert [(v["number"], v["side"], len(v["installments"])) for v in versions] == [
        (1, "client", 3), (2, "staff", 4), (3, "client", 2), (4, "staff", 4)]
    # the client accepts the version on the table only
    with pytest.raises(service.ScheduleError):
        await service.accept(schedule_id, "client", d["client_actor"], ctx, version=3, name="Ana Pop", client_id=d["client_id"])
    await service.accept(schedule_id, "client", d["client_actor"], ctx, version=4, name="Ana Pop", ip="10.0.0.7",
                         client_id=d["client_id"])
    schedule = await service.get(schedule_id)
    assert (schedule["status"], schedule["accepted_version"], schedule["accepted_name"], schedule["accepted_ip"]) == (
        "accepted", 4, "Ana Pop", "10.0.0.7")
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "on_plan"
    assert await Task.count().where((Task.schedule == schedule_id) & Task.done_at.is_null()) == 0


async def test_rejecting_closes_the_schedule_and_the_ladder_goes_on(db, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    schedule_id, _ = await _propose(settings, d)
    with pytest.raises(service.ScheduleError) as refused:
        await service.reject(schedule_id, "staff", "  ", d["staff_actor"])
    assert "reason" in refused.value.errors
    await service.reject(schedule_id, "staff", "Too long for this debt.", d["staff_actor"])
    assert (await service.get(schedule_id))["status"] == "rejected"
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    # the invoice is free for a new proposal
    await _propose(settings, d)


async def test_an_accepted_plan_steers_the_ladder_reminds_before_installments_and_breaks_when_one_is_missed(db, settings):
    d = await debtor()
    invoice, ctx, today = d["invoices"][0], ctx_of(settings), local_today(settings)
    for back in range(8, -1, -1):  # a tick a day since the courtesy reminder: the ladder has reached the demand letter
        await tick(settings, at(settings, today - dt.timedelta(days=back), "12:00"))
    taken_before = await actions_of(invoice["id"])
    assert [a["channel"] for a in taken_before] == ["email", "call", "email", "call", "letter"]

    schedule_id, _ = await _propose(settings, d)
    four = split(invoice["total_minor"], [10, 30, 50, 70], today)
    await service.counter(schedule_id, "staff", four, "", d["staff_actor"], ctx)
    await service.accept(schedule_id, "client", d["client_actor"], ctx, version=2, name="Ana Pop", client_id=d["client_id"])

    # the formal warning (due + 7) would come now; the plan holds it. The first installment's
    # reminder comes as the ladder's own pre-due reminder: 3 days before, at 10:00, once.
    await tick(settings, at(settings, today + dt.timedelta(days=7), "09:59"))
    assert await EmailMessage.count().where(EmailMessage.key.like("installment-reminder-%")) == 0
    await tick(settings, at(settings, today + dt.timedelta(days=7), "10:00"))
    await tick(settings, at(settings, today + dt.timedelta(days=7), "10:05"))
    reminders = await EmailMessage.select().where(EmailMessage.key.like("installment-reminder-%"))
    assert len(reminders) == 1 and "installment 1" in reminders[0]["body"]
    assert len(await actions_of(invoice["id"])) == len(taken_before)

    await pay(invoice, four[0].amount_minor)  # the first installment, on time
    paid = await Installment.select(Installment.number, Installment.version.number.as_alias("version")).where(
        (Installment.schedule == schedule_id) & Installment.paid_at.is_not_null())
    assert paid == [{"number": 1, "version": 2}]
    assert await AuditEvent.count().where(AuditEvent.action == "installment_paid") == 1

    # the second is not paid: past its date plus grace, the plan is broken and the ladder moves one
    # step further at once (the formal warning), and the negotiator gets a task
    missed_day = four[1].due_date + dt.timedelta(days=settings.plan_grace_days + 1)
    await tick(settings, at(settings, missed_day, "08:00"))
    schedule = await service.get(schedule_id)
    assert schedule["status"] == "broken"
    taken = await actions_of(invoice["id"])
    assert [a["channel"] for a in taken] == ["email", "call", "email", "call", "letter", "court_warning"]
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    task = await Task.select().where((Task.schedule == schedule_id) & Task.done_at.is_null()).first()
    assert task["assignee"] == d["negotiator"]["id"] and "missed installment 2" in task["title"]


async def test_paying_everything_completes_the_plan(db, settings):
    d = await debtor()
    invoice, ctx = d["invoices"][0], ctx_of(settings)
    schedule_id, _rows = await _propose(settings, d)
    await service.accept(schedule_id, "staff", d["staff_actor"], ctx, version=1, name="Negotiator")
    await pay(invoice)
    schedule = await service.get(schedule_id)
    assert schedule["status"] == "completed"
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "settled"
    assert await Installment.count().where((Installment.schedule == schedule_id) & Installment.paid_at.is_not_null()) == 3


async def test_a_payment_between_offer_and_acceptance_asks_for_a_new_offer(db, settings):
    d = await debtor()
    invoice, ctx = d["invoices"][0], ctx_of(settings)
    schedule_id, _ = await _propose(settings, d)
    await pay(invoice, 10000)
    with pytest.raises(service.ScheduleError):
        await service.accept(schedule_id, "staff", d["staff_actor"], ctx, version=1, name="Negotiator")
    assert (await service.get(schedule_id))["status"] == "with_staff"
