"""The private iCalendar feed: a calendar app subscribed to the URL sees the person's open tasks;
a wrong, tampered or revoked token (or an inactive person) gets a plain 404."""

from __future__ import annotations

import datetime as dt
import html
import re

from icalendar import Calendar

from portal.accounts.service import update_staff_user
from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.calendar import feed as ical
from portal.clock import utcnow
from tests.conftest import TEST_SECRET
from tests.dunning.calendar_helpers import invoice_of, local, task, today
from tests.factories import login, make_client, make_staff, post

FEED_URL = re.compile(r'id="calendar-feed-url"[^>]*value="([^"]+)"')


async def feed_path_on_page(client) -> str:
    page = await client.get("/staff/calendar")
    assert page.status_code == 200 and "Subscribe in Outlook or Google Calendar" in page.text
    url = html.unescape(FEED_URL.search(page.text).group(1))
    assert url.startswith("http") and "/calendar/" in url and url.endswith(".ics")
    return url[url.index("/calendar/"):]


def events_of(body: bytes) -> dict[str, dict]:
    cal = Calendar.from_ical(body)
    return {str(e["uid"]): {"summary": str(e["summary"]), "start": e.decoded("dtstart"), "end": e.decoded("dtend"),
                            "description": str(e["description"])} for e in cal.walk("VEVENT")}


def test_a_token_is_signed_and_any_change_breaks_it():
    token = ical.make_token(7, "n" * 32, TEST_SECRET)
    assert ical.read_token(token, TEST_SECRET) == (7, "n" * 32)
    user_id, nonce, signature = token.split(".")
    assert ical.read_token(f"8.{nonce}.{signature}", TEST_SECRET) is None  # someone else's id
    assert ical.read_token(f"{user_id}.{'m' * 32}.{signature}", TEST_SECRET) is None
    assert ical.read_token(f"{user_id}.{nonce}.{signature[:-1]}A", TEST_SECRET) is None
    assert ical.read_token(token, "another-secret-key-that-is-long-enough-too") is None
    assert ical.read_token("", TEST_SECRET) is None and ical.read_token("7..x", TEST_SECRET) is None


async def test_the_feed_holds_my_open_tasks_only(client):
    me, colleague = await make_staff(Role.SALES_MANAGER, name="Ana Sales"), await make_staff(Role.SALES_MANAGER)
    company = await make_client("Tipo Print SRL")
    invoice = await invoice_of(company)
    soon = await task(me["id"], local(today() + dt.timedelta(days=2), "23:30"), invoice=invoice, title="Call Tipo about INV")
    overdue = await task(me["id"], local(today() - dt.timedelta(days=5), "10:00"), invoice=invoice, title="Overdue call")
    await task(me["id"], local(today() - dt.timedelta(days=40), "10:00"), invoice=invoice, title="Too old")
    await task(me["id"], local(today() + dt.timedelta(days=200), "10:00"), invoice=invoice, title="Too far")
    await task(me["id"], local(today(), "15:00"), invoice=invoice, title="Done already", done_at=utcnow(), outcome="ok")
    await task(colleague["id"], local(today() + dt.timedelta(days=1), "10:00"), invoice=invoice, title="Colleague call")
    await login(client, me)
    path = await feed_path_on_page(client)
    assert path == await feed_path_on_page(client)  # the same link until a new one is made

    client.cookies.clear()  # calendar apps have no session
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response.headers["cache-control"] and "private" in response.headers["cache-control"]
    events = events_of(response.content)
    # a calendar shows the title alone: it names the client
    assert {e["summary"] for e in events.values()} == {"Tipo Print SRL: Call Tipo about INV", "Tipo Print SRL: Overdue call"}
    mine = events[next(uid for uid in events if uid.startswith(f"task-{soon}@"))]
    assert mine["start"] == local(today() + dt.timedelta(days=2), "23:30") and mine["start"].utcoffset() == dt.timedelta(0)
    assert mine["end"] - mine["start"] == dt.timedelta(minutes=30)
    assert "Tipo Print SRL" in mine["description"] and invoice["code"] in mine["description"]
    assert f"/staff/calendar?date={(today() + dt.timedelta(days=2)).isoformat()}" in mine["description"]
    assert any(uid.startswith(f"task-{overdue}@") for uid in events)
    assert events_of((await client.get(path)).content).keys() == events.keys()  # UIDs stay the same


async def test_wrong_tampered_and_revoked_links_are_404(client):
    me = await make_staff(Role.CREDIT_CONTROLLER)
    await task(me["id"], local(today() + dt.timedelta(days=1)), invoice=await invoice_of(await make_client()), title="Call")
    await login(client, me)
    old = await feed_path_on_page(client)
    token = old.removeprefix("/calendar/").removesuffix(".ics")
    user_id, nonce, signature = token.split(".")
    for bad in (f"/calendar/{user_id}.{nonce}.{signature[::-1]}.ics", f"/calendar/{int(user_id) + 1}.{nonce}.{signature}.ics",
                f"/calendar/{token}", "/calendar/nothing.ics", f"/calendar/{token}.ics.ics"):
        response = await client.get(bad)
        assert response.status_code == 404, bad
        assert "BEGIN:VCALENDAR" not in response.text

    renewed = await post(client, "/staff/calendar/feed", headers={"hx-request": "true"})
    assert renewed.status_code == 200 and "the old one no longer works" in renewed.text
    new = html.unescape(FEED_URL.search(renewed.text).group(1))
    new = new[new.index("/calendar/"):]
    assert new != old and new == await feed_path_on_page(client)
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200

    plain = await post(client, "/staff/calendar/feed")
    assert plain.status_code == 303 and plain.headers["location"] == "/staff/calendar"
    assert (await client.get(new)).status_code == 404

    latest = await feed_path_on_page(client)
    assert (await client.get(latest)).status_code == 200
    admin = await make_staff(Role.ADMIN)
    checked = await update_staff_user(me["id"], {"name": "Gone", "role": "credit_controller", "language": "en"},
                                      Actor(admin["id"], "Admin"))
    assert checked.ok, checked.errors
    assert (await client.get(latest)).status_code == 404  # an inactive person's feed is gone
