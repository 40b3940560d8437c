"""The staff calendar: a person's day or week of tasks in the firm's local days, overdue ones
always on top; finishing a ladder task with its outcome (and a promise that pauses the ladder)."""

from __future__ import annotations

import datetime as dt
import re

from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.calendar import rules as calendar_rules, service as calendar
from portal.dunning.escalation.service import promise_until
from portal.dunning.escalation.tables import Pause
from portal.dunning.reasons.tables import CallOutcome
from portal.tasks.tables import Task
from tests.dunning.calendar_helpers import TZ, UTC, catalogue, invoice_of, local, task, today
from tests.factories import login, make_client, make_client_user, make_staff, post
from tests.tasks.helpers import field_error, section, shown_value

WED_14_MAY = dt.date(2025, 5, 14)  # a Wednesday
NOW = dt.datetime(2025, 5, 14, 9, 0, tzinfo=UTC)  # 12:00 in Bucharest
HTMX = {"hx-request": "true"}


def ids_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="cal-task-(\d+)"', html)]


# --- the rules ----------------------------------------------------------------------------------

def test_a_week_runs_monday_to_sunday_in_local_days():
    week = calendar_rules.range_for("week", WED_14_MAY, TZ)
    assert (week.first, week.last) == (dt.date(2025, 5, 12), dt.date(2025, 5, 18))
    assert week.starts_at == dt.datetime(2025, 5, 11, 21, 0, tzinfo=UTC)  # Monday 00:00 in Bucharest (UTC+3)
    assert week.ends_at == dt.datetime(2025, 5, 18, 21, 0, tzinfo=UTC)
    assert (week.previous, week.following) == (dt.date(2025, 5, 7), dt.date(2025, 5, 21))
    day = calendar_rules.range_for("day", WED_14_MAY, TZ)
    assert day.days == [WED_14_MAY] and (day.previous, day.following) == (dt.date(2025, 5, 13), dt.date(2025, 5, 15))
    assert calendar_rules.parse_view("month") == "day" and calendar_rules.parse_day("2025-02-30", WED_14_MAY) == WED_14_MAY


def test_the_outcome_form_rules():
    check = calendar_rules.check_call_outcome
    ok = check({"reached": "yes", "promised_date": "2025-05-20", "delay_reason": "3"}, {3}, WED_14_MAY, 30)
    assert ok.ok and ok.values["promised"] == dt.date(2025, 5, 20) and ok.values["reason_id"] == 3
    assert check({}, {3}, WED_14_MAY, 30).errors == {"reached": "Say whether you reached the client."}
    assert check({"reached": "no"}, {3}, WED_14_MAY, 30).ok  # not reached: no reason needed
    assert "delay_reason" in check({"reached": "yes"}, {3}, WED_14_MAY, 30).errors
    assert "delay_reason" in check({"reached": "no", "promised_date": "2025-05-20"}, {3}, WED_14_MAY, 30).errors
    assert "delay_reason" in check({"reached": "yes", "delay_reason": "4"}, {3}, WED_14_MAY, 30).errors  # inactive/unknown
    assert check({"reached": "no", "promised_date": "2025-13-01"}, {3}, WED_14_MAY, 30).errors["promised_date"]
    assert check({"reached": "no", "promised_date": "2025-05-13", "delay_reason": "3"}, {3}, WED_14_MAY, 30).errors == {
        "promised_date": "A promised date cannot be in the past."}
    assert check({"reached": "no", "promised_date": "2025-06-14", "delay_reason": "3"}, {3}, WED_14_MAY, 30).errors == {
        "promised_date": "A promised date can be at most 30 days ahead."}
    assert check({"reached": "no", "note": "x" * 1001}, {3}, WED_14_MAY, 30).errors.keys() == {"note"}


# --- the service --------------------------------------------------------------------------------

async def test_tasks_land_on_their_local_day_and_overdue_ones_stay_on_top(db):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    company = await make_client("Tipo Print SRL")
    late_evening = await task(me["id"], local(WED_14_MAY, "23:30"), client_id=company)  # 20:30 UTC, still the 14th here
    after_midnight = await task(me["id"], local(dt.date(2025, 5, 15), "00:30"), client_id=company)  # 21:30 UTC on the 14th
    morning_done = await task(me["id"], local(WED_14_MAY, "09:00"), client_id=company, done_at=local(WED_14_MAY, "09:10"),
                              outcome="Paid already")
    last_month = await task(me["id"], local(dt.date(2025, 4, 2), "10:00"), client_id=company)  # still open: overdue
    await task(colleague["id"], local(WED_14_MAY, "15:00"), client_id=company)

    day = await calendar.calendar(me["id"], calendar_rules.range_for("day", WED_14_MAY, TZ), NOW, TZ)
    assert [t["id"] for t in day["overdue"]] == [last_month]
    assert day["days"] == [(WED_14_MAY, day["days"][0][1])]
    assert [t["id"] for t in day["days"][0][1]] == [morning_done, late_evening]
    assert day["days"][0][1][1]["local_time"] == "23:30" and day["days"][0][1][0]["state"] == "done"

    week = await calendar.calendar(me["id"], calendar_rules.range_for("week", WED_14_MAY, TZ), NOW, TZ)
    per_day = {d: [t["id"] for t in rows] for d, rows in week["days"]}
    assert list(per_day) == [dt.date(2025, 5, 12) + dt.timedelta(days=n) for n in range(7)]
    assert per_day[WED_14_MAY] == [morning_done, late_evening] and per_day[dt.date(2025, 5, 15)] == [after_midnight]
    assert [t["id"] for t in week["overdue"]] == [last_month]

    next_month = await calendar.calendar(me["id"], calendar_rules.range_for("week", dt.date(2025, 6, 18), TZ), NOW, TZ)
    assert [t["id"] for t in next_month["overdue"]] == [last_month]  # whatever the range
    assert not any(rows for _, rows in next_month["days"])


# --- the pages ----------------------------------------------------------------------------------

async def test_the_day_page_shows_overdue_first_then_the_day(client):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client("Carduri Nord SRL")
    invoice = await invoice_of(company)
    tomorrow = today() + dt.timedelta(days=1)
    late = await task(me["id"], local(today() - dt.timedelta(days=3), "10:00"), invoice=invoice, title="Call: invoice overdue")
    evening = await task(me["id"], local(tomorrow, "23:30"), invoice=invoice, title="Evening call")
    await task(me["id"], local(tomorrow + dt.timedelta(days=1), "00:15"), invoice=invoice, title="After midnight")
    odd = await task(me["id"], local(tomorrow, "11:00"), kind="court_visit", client_id=company, title="Visit the court registry")
    await login(client, me)

    response = await client.get(f"/staff/calendar?view=day&date={tomorrow.isoformat()}")
    assert response.status_code == 200
    html = response.text
    assert html.index('id="calendar-overdue"') < html.index(f'id="calendar-day-{tomorrow.isoformat()}"')
    assert ids_in(section(html, "calendar-overdue")) == [late]
    assert ids_in(section(html, f"calendar-day-{tomorrow.isoformat()}")) == [odd, evening]
    assert "After midnight" not in html
    assert f'href="/staff/invoices/{invoice["id"]}"' in html and invoice["code"] in html
    assert "23:30" in html and "Visit the court registry" in html  # an unknown kind shows by its title
    assert f'href="/staff/calendar?view=day&amp;date={(tomorrow + dt.timedelta(days=1)).isoformat()}"' in html

    week = await client.get(f"/staff/calendar?view=week&date={tomorrow.isoformat()}")
    assert week.status_code == 200 and "After midnight" in week.text and week.text.count('class="card cal-day') == 7


async def test_another_persons_calendar_is_for_controllers_and_admins(client):
    owner = await make_staff(Role.SALES_MANAGER, name="Ana Owner")
    company = await make_client()
    await task(owner["id"], local(today(), "16:00"), client_id=company, title="Call for the owner")

    await login(client, await make_staff(Role.SALES_MANAGER))
    assert (await client.get(f"/staff/calendar?user={owner['id']}")).status_code == 403
    mine = await client.get("/staff/calendar")
    assert mine.status_code == 200 and "Call for the owner" not in mine.text and 'name="user"' not in mine.text

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    theirs = await client.get(f"/staff/calendar?user={owner['id']}&date={today().isoformat()}")
    assert theirs.status_code == 200 and "Call for the owner" in theirs.text and "Calendar of Ana Owner" in theirs.text
    assert 'name="user"' in theirs.text and "Subscribe in Outlook" not in theirs.text  # no feed link of someone else
    assert (await client.get("/staff/calendar?user=999999")).status_code == 404


async def test_anonymous_and_client_users_do_not_get_the_calendar(client):
    response = await client.get("/staff/calendar")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    await login(client, await make_client_user(await make_client()))
    assert (await client.get("/staff/calendar")).status_code == 403


async def test_a_call_with_a_promised_date_pauses_the_ladder_in_one_go(client, settings):
    me = await make_staff(Role.SALES_MANAGER)
    reasons = await catalogue("Waiting for their client", "Cash-flow gap")
    invoice = await invoice_of(await make_client("Tipo Print SRL"))
    task_id = await task(me["id"], local(today(), "12:00"), invoice=invoice)
    await login(client, me)
    promised = today() + dt.timedelta(days=5)

    page = await client.get("/staff/calendar")
    assert "Waiting for their client" in page.text and f'action="/staff/calendar/tasks/{task_id}/done"' in page.text
    response = await post(client, f"/staff/calendar/tasks/{task_id}/done", {
        "reached": "yes", "promised_date": promised.isoformat(), "delay_reason": str(reasons["Cash-flow gap"]),
        "note": "Pays after their own client pays them", "back": "/staff/calendar",
    }, headers=HTMX)
    assert response.status_code == 200
    assert ids_in(response.text) == [task_id] and "cal-done" in response.text
    assert "Reached the client." in response.text and "Cash-flow gap" in response.text

    outcome = await CallOutcome.select().where(CallOutcome.task == task_id).first()
    assert outcome["reached"] is True and outcome["promised_date"] == promised
    assert (outcome["delay_reason"], outcome["invoice"], outcome["user"]) == (reasons["Cash-flow gap"], invoice["id"], me["id"])
    stored = await Task.select(Task.done_at, Task.outcome).where(Task.id == task_id).first()
    assert stored["done_at"] is not None and "Pays after their own client pays them" in stored["outcome"]
    pause = await Pause.select().where(Pause.invoice == invoice["id"]).first()
    assert (pause["kind"], pause["promised_date"], pause["source_type"], pause["source_id"]) == (
        "promise", promised, "call_outcome", outcome["id"])
    assert pause["until"] == local(promised + dt.timedelta(days=settings.promise_grace_days + 1), "00:00")
    assert pause["until"] == promise_until(promised, settings.promise_grace_days, TZ)
    event = await AuditEvent.select().where(AuditEvent.action == "call_outcome_recorded").first().output(load_json=True)
    assert (event["object_type"], event["object_id"], event["actor"]) == ("invoice", invoice["id"], me["id"])
    assert event["after"]["promised_date"] == promised.isoformat() and event["after"]["reason"] == "Cash-flow gap"


async def test_a_past_promised_date_is_refused_beside_the_field_and_nothing_is_written(client):
    me = await make_staff(Role.SALES_MANAGER)
    reasons = await catalogue("Waiting for their client")
    invoice = await invoice_of(await make_client())
    task_id = await task(me["id"], local(today(), "12:00"), invoice=invoice)
    await login(client, me)
    typed = {"reached": "yes", "promised_date": (today() - dt.timedelta(days=1)).isoformat(),
             "delay_reason": str(reasons["Waiting for their client"]), "note": "Says it was paid yesterday"}

    response = await post(client, f"/staff/calendar/tasks/{task_id}/done", typed, headers=HTMX)
    assert response.status_code == 200
    assert field_error(response.text, "promised_date") == "A promised date cannot be in the past."
    assert shown_value(response.text, "promised_date") == f"{today() - dt.timedelta(days=1):%d/%m/%Y}"
    assert shown_value(response.text, "note") == "Says it was paid yesterday"  # nothing typed is lost
    assert await CallOutcome.count() == 0 and await Pause.count() == 0
    assert (await Task.select(Task.done_at).where(Task.id == task_id).first())["done_at"] is None
    assert await AuditEvent.count().where(AuditEvent.action == "call_outcome_recorded") == 0

    plain = await post(client, f"/staff/calendar/tasks/{task_id}/done", {**typed, "reached": "", "promised_date": ""})
    assert plain.status_code == 400 and field_error(plain.text, "reached") == "Say whether you reached the client."


async def test_not_reached_needs_no_reason_and_a_plain_post_goes_back_with_a_flash(client):
    me = await make_staff(Role.SALES_MANAGER)
    invoice = await invoice_of(await make_client())
    task_id = await task(me["id"], local(today(), "12:00"), invoice=invoice)
    await login(client, me)
    back = f"/staff/calendar?view=week&date={today().isoformat()}"
    response = await post(client, f"/staff/calendar/tasks/{task_id}/done", {"reached": "no", "back": back})
    assert response.status_code == 303 and response.headers["location"] == back
    assert "Outcome recorded." in (await client.get(back)).text
    assert (await CallOutcome.select().where(CallOutcome.task == task_id).first())["reached"] is False
    assert await Pause.count() == 0


async def test_someone_elses_task_is_a_404_but_an_admin_may_finish_it(client):
    owner = await make_staff(Role.SALES_MANAGER)
    await catalogue("Waiting for their client")
    invoice = await invoice_of(await make_client())
    task_id = await task(owner["id"], local(today(), "12:00"), invoice=invoice)

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    assert (await post(client, f"/staff/calendar/tasks/{task_id}/done", {"reached": "no"})).status_code == 404
    page = await client.get(f"/staff/calendar?user={owner['id']}")
    assert f"/staff/calendar/tasks/{task_id}/done" not in page.text  # seen, not finished, by the controller
    assert await CallOutcome.count() == 0

    await login(client, await make_staff(Role.ADMIN))
    assert (await post(client, f"/staff/calendar/tasks/{task_id}/done", {"reached": "no"})).status_code == 303
    assert await CallOutcome.count() == 1
    again = await post(client, f"/staff/calendar/tasks/{task_id}/done", {"reached": "no"}, headers=HTMX)
    assert "This task is already done." in again.text and await CallOutcome.count() == 1


async def test_callbacks_and_unknown_kinds_are_done_with_a_written_outcome(client):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    callback = await task(me["id"], local(today(), "12:00"), kind="callback", client_id=company, title="Call back Tipo")
    approval = await task(me["id"], local(today(), "13:00"), kind="approval", invoice=await invoice_of(company),
                          title="Approve the hand-over")
    await login(client, me)

    empty = await post(client, f"/staff/calendar/tasks/{callback}/done", {"outcome": ""}, headers=HTMX)
    assert field_error(empty.text, "outcome") == "Write what came of the call."
    done = await post(client, f"/staff/calendar/tasks/{callback}/done", {"outcome": "Orders next week"}, headers=HTMX)
    assert "cal-done" in done.text and "Orders next week" in done.text
    assert await AuditEvent.count().where(AuditEvent.action == "callback_done") == 1

    approved = await post(client, f"/staff/calendar/tasks/{approval}/done", {"outcome": "Approved"}, headers=HTMX)
    assert "cal-done" in approved.text and await CallOutcome.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "task_done") == 1
