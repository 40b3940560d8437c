"""In-portal notifications: others write them inside their transactions; the reader sees the
newest first, unread highlighted, and marks them read."""

from __future__ import annotations

import datetime as dt

from portal import db as portal_db
from portal.auth.roles import Role
from portal.tasks import notifications
from portal.tasks.tables import Notification
from tests.factories import login, make_staff, post


async def test_notify_unread_and_mark_read(db):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    first = await notifications.notify(me["id"], "Spec ORD-2025-0007 approved", "/staff/orders/7")
    second = await notifications.notify(me["id"], "Payment received from Tipo Print SRL", "/staff/clients/3")
    await notifications.notify(colleague["id"], "Not for you")
    assert [n["id"] for n in await notifications.unread(me["id"])] == [second, first]  # newest first
    assert await notifications.unread_count(me["id"]) == 2

    assert not await notifications.mark_read(first, colleague["id"])  # someone else's: refused
    assert await notifications.mark_read(first, me["id"])
    assert [n["id"] for n in await notifications.unread(me["id"])] == [second]
    read_at = (await notifications.get(first, me["id"]))["read_at"]
    assert read_at is not None
    assert await notifications.mark_read(first, me["id"])  # again: still fine, first read time kept
    assert (await notifications.get(first, me["id"]))["read_at"] == read_at
    assert not await notifications.mark_read(999999, me["id"])


async def test_notify_keeps_to_the_limits_and_to_local_links(db):
    me = await make_staff(Role.SALES_MANAGER)
    long_id = await notifications.notify(me["id"], "word " * 200, "https://evil.test/phish")
    row = await notifications.get(long_id, me["id"])
    assert len(row["message"]) == 300 and row["message"].endswith("…") and row["link"] == ""
    for bad in ("//evil.test", "javascript:alert(1)", "/staff/x y"):
        assert (await notifications.get(await notifications.notify(me["id"], "x", bad), me["id"]))["link"] == ""


async def test_notify_joins_the_callers_transaction(db):
    me = await make_staff(Role.SALES_MANAGER)
    try:
        async with portal_db.transaction():
            await notifications.notify(me["id"], "Will be rolled back")
            raise RuntimeError("the caller's change failed")
    except RuntimeError:
        pass
    assert await Notification.count() == 0


async def test_the_notifications_page(client):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    await login(client, me)
    empty = await client.get("/staff/notifications")
    assert empty.status_code == 200 and "No notifications." in empty.text

    old = await notifications.notify(me["id"], "Spec ORD-2025-0007 approved", "/staff/orders/7")
    new = await notifications.notify(me["id"], "Payment received from Tipo Print SRL")
    theirs = await notifications.notify(colleague["id"], "Colleague's secret")
    await Notification.update({Notification.created_at: Notification.created_at - dt.timedelta(hours=1)}).where(Notification.id == old)
    page = (await client.get("/staff/notifications")).text
    assert page.index("Payment received") < page.index("Spec ORD-2025-0007")  # newest first
    assert "Colleague's secret" not in page
    assert page.count("notification-unread") == 2 and 'href="/staff/orders/7"' in page

    marked = await post(client, f"/staff/notifications/{old}/read", headers={"hx-request": "true"})
    assert marked.status_code == 200 and "<html" not in marked.text
    assert f'id="notification-{old}"' in marked.text and "notification-read" in marked.text and "Mark read" not in marked.text

    plain = await post(client, f"/staff/notifications/{new}/read")
    assert plain.status_code == 303 and plain.headers["location"] == "/staff/notifications"
    assert "notification-unread" not in (await client.get("/staff/notifications")).text

    assert (await post(client, f"/staff/notifications/{theirs}/read")).status_code == 404
    assert (await notifications.get(theirs, colleague["id"]))["read_at"] is None


def _count_in_nav(page: str) -> str:
    return page.split('id="unread-count"', 1)[1].split("</span>", 1)[0]


async def test_the_sidebar_counts_the_unread_and_mark_read_lowers_it_in_place(client):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    first = await notifications.notify(me["id"], "Spec ORD-2025-0007 approved", "/staff/orders/7")
    await notifications.notify(me["id"], "Payment received from Tipo Print SRL")
    await notifications.notify(colleague["id"], "Not for you")
    await login(client, me)
    assert _count_in_nav((await client.get("/staff")).text) == ' class="nav-count">2<span class="visually-hidden"> unread notifications'

    answer = await post(client, f"/staff/notifications/{first}/read", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'id="unread-count" class="nav-count" hx-swap-oob="true">1<' in answer.text
    assert f'id="notification-{first}"' in answer.text

    await notifications.mark_read(first + 1, me["id"])
    assert _count_in_nav((await client.get("/staff/tasks")).text) == ' class="nav-count">'  # none: nothing shown
