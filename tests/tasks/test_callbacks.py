"""Callback reminders: "call me in two weeks" comes back on exactly that day; done with an
outcome, or moved; every change on the client's or order's history. Service and pages."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.clock import utcnow
from portal.orders.tables import Order
from portal.tasks import service
from portal.tasks.tables import Task
from tests.factories import login, make_client, make_staff, post
from tests.tasks.helpers import (
    TZ,
    UTC,
    callback,
    field_error,
    form_html,
    row,
    section,
    shown_value,
    timeline_events,
    today,
)

MARCH_14_NOON = dt.datetime(2025, 3, 14, 12, 0, tzinfo=UTC)  # 14:00 in Bucharest


async def make_order(client_id: int, number: str = "ORD-2025-0007") -> int:
    now = utcnow()
    order = Order(number=number, client=client_id, product="PVC cards", quantity=500, stage="spec_sent",
                  stage_changed_at=now, created_at=now)
    await order.save()
    return order.id


def actor(user: dict, label: str = "Ana Sales") -> Actor:
    return Actor(user_id=user["id"], label=label)


# --- the service ------------------------------------------------------------------------------

async def test_a_callback_for_tomorrow_ten_is_not_today_until_that_day(db):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client("Tipo Print SRL")
    form = {"client_id": str(company), "date": "2025-03-15", "time": "10:00", "note": "Asked to call after the board meeting"}
    task_id, checked = await service.create_callback(form, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert task_id, checked.errors
    stored = await Task.select().where(Task.id == task_id).first()
    assert stored["due_at"] == dt.datetime(2025, 3, 15, 8, 0, tzinfo=UTC)  # 10:00 Bucharest, stored in UTC
    assert stored["assignee"] == me["id"] and stored["client"] == company and stored["order"] is None

    on_the_14th = await service.my_tasks(me["id"], MARCH_14_NOON, TZ)
    assert [t["id"] for t in on_the_14th["upcoming"]] == [task_id]
    assert on_the_14th["today"] == [] and on_the_14th["overdue"] == []
    assert on_the_14th["upcoming"][0]["client_name"] == "Tipo Print SRL"
    assert await service.open_task_count(me["id"], MARCH_14_NOON, TZ) == 0

    # 23:30 UTC on the 14th is 01:30 on the 15th in Bucharest: the callback is today's
    after_midnight = await service.my_tasks(me["id"], dt.datetime(2025, 3, 14, 23, 30, tzinfo=UTC), TZ)
    assert [t["id"] for t in after_midnight["today"]] == [task_id] and after_midnight["upcoming"] == []
    assert await service.open_task_count(me["id"], dt.datetime(2025, 3, 14, 23, 30, tzinfo=UTC), TZ) == 1

    # 10:30 in Bucharest: not done yet, so overdue
    late = await service.my_tasks(me["id"], dt.datetime(2025, 3, 15, 8, 30, tzinfo=UTC), TZ)
    assert [t["id"] for t in late["overdue"]] == [task_id] and late["overdue"][0]["bucket"] == "overdue"
    assert await service.open_task_count(me["id"], dt.datetime(2025, 3, 15, 8, 30, tzinfo=UTC), TZ) == 1

    event = await AuditEvent.select().where(AuditEvent.action == "callback_scheduled").first().output(load_json=True)
    assert (event["object_type"], event["object_id"], event["client_id"]) == ("client", company, company)
    assert event["after"]["due_at"] == "2025-03-15 10:00+02:00"


async def test_lists_are_soonest_first_and_only_mine(db):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    later = await callback(me["id"], client_id=company, day=dt.date(2025, 3, 20), time="09:00")
    sooner = await callback(me["id"], client_id=company, day=dt.date(2025, 3, 18), time="16:00")
    await callback(colleague["id"], client_id=company, day=dt.date(2025, 3, 17))
    mine = await service.my_tasks(me["id"], MARCH_14_NOON, TZ)
    assert [t["id"] for t in mine["upcoming"]] == [sooner, later]
    assert len(await service.open_for_client(company)) == 3  # the client page shows everyone's


async def test_a_callback_on_an_order_names_the_order_and_its_client(db):
    me = await make_staff(Role.SPEC_COORDINATOR)
    company = await make_client("Carduri Nord SRL")
    order_id = await make_order(company)
    form = {"order_id": str(order_id), "date": "2025-03-17", "time": "11:30"}
    task_id, checked = await service.create_callback(form, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert task_id, checked.errors
    task = await service.get_task(task_id, tz=TZ)
    assert task["client"] == company and task["order"] == order_id
    assert task["order_number"] == "ORD-2025-0007" and task["client_name"] == "Carduri Nord SRL"
    assert [t["id"] for t in await service.open_for_order(order_id)] == [task_id]
    event = await AuditEvent.select().where(AuditEvent.action == "callback_scheduled").first().output(load_json=True)
    assert (event["object_type"], event["object_id"], event["client_id"]) == ("order", order_id, company)

    other = await make_client("Someone Else SRL")
    _, refused = await service.create_callback({**form, "client_id": str(other)}, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert refused.errors == {"subject": "This callback names no client or order we know."}
    _, missing = await service.create_callback({**form, "order_id": "999999"}, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert "subject" in missing.errors
    assert await Task.count() == 1


async def test_done_needs_an_outcome_then_leaves_the_list(db):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    task_id = await callback(me["id"], client_id=company, day=dt.date(2025, 3, 15))

    refused = await service.complete(task_id, "  ", actor(me))
    assert refused.errors == {"outcome": "Write what came of the call."}
    assert (await Task.select(Task.done_at).where(Task.id == task_id).first())["done_at"] is None

    assert (await service.complete(task_id, "Pays the prepayment on Friday", actor(me))).ok
    lists = await service.my_tasks(me["id"], MARCH_14_NOON, TZ)
    assert not any(lists.values())
    assert await service.open_for_client(company) == []
    event = await AuditEvent.select().where(AuditEvent.action == "callback_done").first().output(load_json=True)
    assert event["after"] == {"outcome": "Pays the prepayment on Friday"} and event["client_id"] == company

    again = await service.complete(task_id, "Twice", actor(me))
    assert again.errors == {"outcome": "This callback is already done."}
    assert await AuditEvent.count().where(AuditEvent.action == "callback_done") == 1


async def test_move_shifts_the_time_and_counts(db):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    task_id = await callback(me["id"], client_id=company, day=dt.date(2025, 3, 15))

    checked = await service.move(task_id, {"date": "2025-03-20", "time": "09:00"}, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert checked.ok, checked.errors
    await service.move(task_id, {"date": "2025-03-21", "time": "15:15"}, actor(me), tz=TZ, now=MARCH_14_NOON)
    task = await service.get_task(task_id, now=MARCH_14_NOON, tz=TZ)
    assert task["due_at"] == dt.datetime(2025, 3, 21, 13, 15, tzinfo=UTC) and task["moved_count"] == 2
    events = await AuditEvent.select().where(AuditEvent.action == "callback_moved").order_by(AuditEvent.id).output(load_json=True)
    assert [(e["before"]["due_at"], e["after"]["due_at"]) for e in events] == [
        ("2025-03-15 10:00+02:00", "2025-03-20 09:00+02:00"), ("2025-03-20 09:00+02:00", "2025-03-21 15:15+02:00"),
    ]
    assert events[0]["object_type"] == "client" and events[0]["client_id"] == company

    past = await service.move(task_id, {"date": "2025-03-13", "time": "09:00"}, actor(me), tz=TZ, now=MARCH_14_NOON)
    assert past.errors == {"date": "That day has passed; pick today or a later day."}
    assert (await service.get_task(task_id))["moved_count"] == 2


async def test_another_staff_user_cannot_complete_or_move_my_task(db):
    me, colleague, admin = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER), await make_staff(Role.ADMIN)
    task_id = await callback(me["id"], client_id=await make_client(), day=dt.date(2025, 3, 15))
    with pytest.raises(service.TaskNotFound):
        await service.complete(task_id, "Not mine", actor(colleague))
    with pytest.raises(service.TaskNotFound):
        await service.move(task_id, {"date": "2025-03-20", "time": "09:00"}, actor(colleague), tz=TZ, now=MARCH_14_NOON)
    with pytest.raises(service.TaskNotFound):
        await service.complete(999999, "Nothing there", actor(me))
    assert (await service.get_task(task_id))["moved_count"] == 0
    assert (await service.complete(task_id, "Covered for Ana", actor(admin), is_admin=True)).ok


async def test_a_callback_scheduled_for_someone_else_tells_them(db):
    from portal.tasks import notifications

    boss, me = await make_staff(Role.ADMIN), await make_staff(Role.SALES_MANAGER)
    company = await make_client("Hartie Sud SRL")
    form = {"client_id": str(company), "date": "2025-03-17", "time": "10:00"}
    task_id, _ = await service.create_callback(form, actor(boss, "Bogdan Boss"), tz=TZ, now=MARCH_14_NOON, assignee_id=me["id"])
    assert (await service.get_task(task_id))["assignee"] == me["id"]
    [note] = await notifications.unread(me["id"])
    assert note["message"] == "Bogdan Boss asked you to call Hartie Sud SRL back." and note["link"] == f"/staff/tasks#task-{task_id}"


# --- the pages --------------------------------------------------------------------------------

async def test_schedule_a_callback_from_the_client_page(client):
    me = await make_staff(Role.SALES_MANAGER, name="Ana Sales")
    company = await make_client("Tipo Print SRL")
    await login(client, me)
    page = (await client.get(f"/staff/clients/{company}")).text
    form = form_html(page, "/staff/tasks")
    assert f'name="client_id" value="{company}"' in form and 'placeholder="dd/mm/yyyy"' in form and 'type="time"' in form

    tomorrow = today() + dt.timedelta(days=1)
    back = f"/staff/clients/{company}#callbacks"
    response = await post(client, "/staff/tasks", {"client_id": str(company), "order_id": "", "date": tomorrow.isoformat(),
                                                   "time": "10:00", "note": "Call after the board meeting", "back": back})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == back

    page = (await client.get(f"/staff/clients/{company}")).text
    assert "Callback scheduled" in page  # the flash
    callbacks = section(page, "callbacks")
    assert "Call after the board meeting" in callbacks and "Ana Sales" in callbacks
    assert "Callback scheduled" in timeline_events(page)[0] and "Call after the board meeting" in timeline_events(page)[0]

    mine = (await client.get("/staff/tasks")).text
    assert "Call after the board meeting" in section(mine, "tasks-upcoming")
    assert "Call after the board meeting" not in section(mine, "tasks-today")


@pytest.mark.parametrize("date,time,field,message", [
    ("2025-02-30", "10:00", "date", "Enter a date such as {}.".format(today().strftime("%d/%m/%Y"))),
    ("", "10:00", "date", "Enter the day to call back."),
    ("TOMORROW", "7.30", "time", "Enter a time such as 09:30."),
    ("YESTERDAY", "10:00", "date", "That day has passed; pick today or a later day."),
], ids=["no-such-day", "no-date", "bad-time", "past-day"])
async def test_a_mistake_is_shown_beside_its_field_and_what_was_typed_stays(client, date, time, field, message):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    await login(client, me)
    typed = date
    tomorrow, yesterday = f"{today() + dt.timedelta(days=1):%d/%m/%Y}", f"{today() - dt.timedelta(days=1):%d/%m/%Y}"
    date = {"TOMORROW": (today() + dt.timedelta(days=1)).isoformat(), "YESTERDAY": (today() - dt.timedelta(days=1)).isoformat()}.get(date, date)
    data = {"client_id": str(company), "date": date, "time": time, "note": "Wants the blue layout",
            "back": f"/staff/clients/{company}"}

    page = await post(client, "/staff/tasks", data)
    assert page.status_code == 400
    assert field_error(page.text, field) == message
    shown = {"TOMORROW": tomorrow, "YESTERDAY": yesterday}.get(typed, date)  # a day is shown as the reader writes it
    assert shown_value(page.text, "date") == shown and shown_value(page.text, "time") == time
    assert shown_value(page.text, "note") == "Wants the blue layout"
    assert f'name="back" value="/staff/clients/{company}"' in page.text

    partial = await post(client, "/staff/tasks", data, headers={"hx-request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text  # htmx swaps the form in place
    assert field_error(partial.text, field) == message and shown_value(partial.text, "note") == "Wants the blue layout"
    assert await Task.count() == 0


async def test_back_only_goes_to_a_staff_page(client):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    await login(client, me)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    for back in ("https://evil.test/staff", "//evil.test/staff", "/client", "/staffing", ""):
        response = await post(client, "/staff/tasks", {"client_id": str(company), "date": tomorrow, "time": "10:00", "back": back})
        assert response.status_code == 303 and response.headers["location"] == "/staff/tasks", back
    htmx = await post(client, "/staff/tasks", {"client_id": str(company), "date": tomorrow, "time": "10:00", "back": "/staff"},
                      headers={"hx-request": "true", "hx-current-url": f"http://testserver.local/staff/clients/{company}"})
    assert htmx.status_code == 200 and htmx.headers["hx-redirect"] == "/staff"
    # back to the page the form is on (a #fragment would only scroll): the page is reloaded
    same_page = await post(client, "/staff/tasks", {"client_id": str(company), "date": tomorrow, "time": "11:00",
                                                    "back": f"/staff/clients/{company}#callbacks"},
                           headers={"hx-request": "true", "hx-current-url": f"http://testserver.local/staff/clients/{company}#callbacks"})
    assert same_page.status_code == 200 and same_page.headers["hx-refresh"] == "true" and "hx-redirect" not in same_page.headers


async def test_overdue_is_flagged_and_done_takes_it_off_the_list_onto_the_history(client):
    me = await make_staff(Role.SALES_MANAGER)
    company = await make_client("Tipo Print SRL")
    task_id = await callback(me["id"], client_id=company, day=today() - dt.timedelta(days=1), note="Promised to pay")
    await login(client, me)

    page = (await client.get("/staff/tasks")).text
    overdue = section(page, "tasks-overdue")
    assert "Promised to pay" in overdue and "Overdue" in row(overdue, task_id) and "badge-danger" in row(overdue, task_id)

    refused = await post(client, f"/staff/tasks/{task_id}/done", {"outcome": "", "back": "/staff/tasks"})
    assert refused.status_code == 400
    assert field_error(form_html(refused.text, f"/staff/tasks/{task_id}/done"), "outcome") == "Write what came of the call."

    response = await post(client, f"/staff/tasks/{task_id}/done", {"outcome": "Paid today, sent the receipt", "back": "/staff/tasks"})
    assert response.status_code == 303 and response.headers["location"] == "/staff/tasks"
    page = (await client.get("/staff/tasks")).text
    assert "Promised to pay" not in page and "No open callbacks." in page

    history = timeline_events((await client.get(f"/staff/clients/{company}")).text)
    assert "Callback done" in history[0] and "Paid today, sent the receipt" in history[0]


async def test_htmx_done_and_move_answer_with_the_row(client):
    me = await make_staff(Role.SALES_MANAGER, name="Ana Sales")
    company = await make_client()
    task_id = await callback(me["id"], client_id=company, day=today() + dt.timedelta(days=2))
    await login(client, me)
    htmx = {"hx-request": "true"}
    on_client_page = row((await client.get(f"/staff/clients/{company}")).text, task_id)
    assert "Ana Sales" in on_client_page and 'name="show_assignee" value="1"' in on_client_page
    next_week = today() + dt.timedelta(days=7)

    moved = await post(client, f"/staff/tasks/{task_id}/move", {"date": next_week.isoformat(), "time": "14:30"}, headers=htmx)
    assert moved.status_code == 200 and "<html" not in moved.text
    assert "Ana Sales" not in moved.text  # my list does not name me
    assert moved.text.lstrip().startswith("<li") and f'id="task-{task_id}"' in moved.text
    assert "moved 1 time" in moved.text
    assert shown_value(form_html(moved.text, f"/staff/tasks/{task_id}/move"), "date") == f"{next_week:%d/%m/%Y}"

    bad = await post(client, f"/staff/tasks/{task_id}/move", {"date": next_week.isoformat(), "time": "99:99"}, headers=htmx)
    assert bad.status_code == 200
    move_form = form_html(bad.text, f"/staff/tasks/{task_id}/move")
    assert field_error(move_form, "time") == "Enter a time such as 09:30." and shown_value(move_form, "time") == "99:99"

    done = await post(client, f"/staff/tasks/{task_id}/done", {"outcome": "Ordered 500 more", "show_assignee": "1"}, headers=htmx)
    assert done.status_code == 200 and "Done" in done.text and "Ordered 500 more" in done.text
    assert "Ana Sales" in done.text  # the client page's row keeps naming who holds it
    assert f"/staff/tasks/{task_id}/done" not in done.text  # no more actions on a done task
    assert (await Task.select(Task.moved_count).where(Task.id == task_id).first())["moved_count"] == 1


async def test_another_staff_user_cannot_complete_my_task(client):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    task_id = await callback(me["id"], client_id=await make_client(), day=today() + dt.timedelta(days=1))
    await login(client, colleague)
    assert (await post(client, f"/staff/tasks/{task_id}/done", {"outcome": "Not mine"})).status_code == 404
    later = (today() + dt.timedelta(days=3)).isoformat()
    assert (await post(client, f"/staff/tasks/{task_id}/move", {"date": later, "time": "10:00"})).status_code == 404
    assert "task-" not in (await client.get("/staff/tasks")).text  # not on their list either
    task = await Task.select().where(Task.id == task_id).first()
    assert task["done_at"] is None and task["moved_count"] == 0

    await login(client, await make_staff(Role.ADMIN))
    assert (await post(client, f"/staff/tasks/{task_id}/done", {"outcome": "Covered for a colleague"})).status_code == 303


async def test_my_tasks_page_when_there_is_nothing(client):
    await login(client, await make_staff(Role.DESIGNER))
    page = await client.get("/staff/tasks")
    assert page.status_code == 200 and "No open callbacks." in page.text
    assert 'href="/staff/tasks"' in page.text and 'href="/staff/notifications"' in page.text  # the sidebar
