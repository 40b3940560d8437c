"""/staff/outbox: the list with its filter tabs and the no-SMTP banner, one message's page, and
sending a failed message again (who may, and what it changes)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.clock import utcnow
from portal.mail.sender import send_due
from tests.factories import csrf_token, login, make_client, make_client_user, make_staff, post
from tests.mail.helpers import queue, row

BANNER = "SMTP is not configured: messages are kept here and not sent."
NEXT = re.compile(r'href="(/staff/outbox\?[^"]*cursor=[^"]+)"')


def row_html(page: str, message_id: int) -> str:
    start = page.index(f'id="email-{message_id}"')
    return page[start:page.index("</tr>", start)]


def listed_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="email-(\d+)"', page)]


def tab_count(page: str, key: str) -> int:
    match = re.search(rf'data-filter="{key}"[^>]*>[^<]*<span class="badge">(\d+)</span>', page)
    assert match, f"no {key} tab"
    return int(match.group(1))


async def fail_for_good(mail_settings, closed_port, message: dict) -> None:
    """Three attempts against a port where nothing listens (EMAIL_MAX_ATTEMPTS=3 in mail_settings)."""
    down = mail_settings(closed_port)
    when = utcnow()
    for _ in range(3):
        await send_due(down, now=when)
        when += dt.timedelta(hours=1)
    assert (await row(message["id"]))["status"] == "failed"


async def test_without_smtp_queued_messages_are_listed_with_the_banner(client, mail_settings):
    message = await queue(to="ion@carpatia.test", subject="Reminder: INV-2025-00003 falls due on Friday")
    await send_due(mail_settings(None))
    await login(client, await make_staff(Role.DESIGNER))  # every staff role may read the outbox

    page = await client.get("/staff/outbox")
    assert page.status_code == 200
    assert BANNER in page.text
    line = html.unescape(row_html(page.text, message["id"]))
    assert "ion@carpatia.test" in line and "Reminder: INV-2025-00003 falls due on Friday" in line
    assert 'data-status="queued"' in line
    assert tab_count(page.text, "queued") == 1 and tab_count(page.text, "sent") == 0
    assert 'href="/staff/outbox"' in page.text  # the sidebar link

    detail = await client.get(f"/staff/outbox/{message['id']}")
    assert detail.status_code == 200 and BANNER in detail.text


async def test_with_smtp_configured_there_is_no_banner(smtp_server, mail_settings):
    from litestar.testing import AsyncTestClient

    from portal.app import create_app

    configured = create_app(mail_settings(smtp_server.port))
    async with AsyncTestClient(app=configured, base_url="http://testserver.local") as other:
        other.follow_redirects = False
        await login(other, await make_staff(Role.CREDIT_CONTROLLER))
        page = await other.get("/staff/outbox")
    assert page.status_code == 200 and BANNER not in page.text


async def test_a_failed_message_shows_under_failed_with_its_error_and_attempts(client, mail_settings, closed_port):
    failed = await queue(subject="Unlucky reminder")
    await fail_for_good(mail_settings, closed_port, failed)
    queued = await queue(subject="Still waiting")
    error = (await row(failed["id"]))["last_error"]
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))

    page = await client.get("/staff/outbox?status=failed")
    assert page.status_code == 200
    assert listed_ids(page.text) == [failed["id"]]
    line = html.unescape(row_html(page.text, failed["id"]))
    assert "email-failed" in line and error in line and "Unlucky reminder" in line
    assert re.search(r'<td class="num">3</td>', line)
    assert "Send again" in line
    assert tab_count(page.text, "failed") == 1 and tab_count(page.text, "all") == 2
    assert queued["id"] in listed_ids((await client.get("/staff/outbox?status=queued")).text)

    detail = await client.get(f"/staff/outbox/{failed['id']}")
    text = html.unescape(detail.text)
    assert "Gave up after 3 attempts." in text and error in text
    assert '<pre class="email-body">Please pay invoice INV-2025-00001.</pre>' in detail.text
    assert "Email failed" in text  # the history


async def test_a_controller_sends_a_failed_message_again_and_it_goes_out(client, mail_settings, closed_port, smtp_server):
    message = await queue(subject="Second chance")
    await fail_for_good(mail_settings, closed_port, message)
    controller = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, controller)

    response = await post(client, f"/staff/outbox/{message['id']}/retry")
    assert response.status_code == 303 and response.headers["location"] == f"/staff/outbox/{message['id']}"
    again = await row(message["id"])
    assert (again["status"], again["attempts"]) == ("queued", 0)
    assert again["next_attempt_at"] <= utcnow()
    event = await AuditEvent.select().where((AuditEvent.action == "email_retried") & (AuditEvent.object_id == message["id"])).first()
    assert event and event["actor"] == controller["id"]

    assert (await send_due(mail_settings(smtp_server.port)))["sent"] == 1
    assert smtp_server.recorder.subjects() == ["Second chance"]  # nothing was lost


async def test_the_htmx_retry_answers_the_row(client, mail_settings, closed_port):
    message = await queue(subject="Retry in place")
    await fail_for_good(mail_settings, closed_port, message)
    await login(client, await make_staff(Role.ADMIN))
    token = await csrf_token(client)

    response = await client.post(f"/staff/outbox/{message['id']}/retry", headers={"hx-request": "true", "x-csrftoken": token})
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="email-{message["id"]}"') and "<html" not in response.text
    assert 'data-status="queued"' in response.text and "Queued again." in response.text

    twice = await client.post(f"/staff/outbox/{message['id']}/retry", headers={"hx-request": "true", "x-csrftoken": token})
    assert twice.status_code == 200
    assert "Only a failed message can be sent again" in html.unescape(twice.text)
    assert (await row(message["id"]))["status"] == "queued"


async def test_a_message_that_did_not_fail_is_not_requeued(client):
    message = await queue()
    await login(client, await make_staff(Role.ADMIN))
    response = await post(client, f"/staff/outbox/{message['id']}/retry")
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "Only a failed message can be sent again" in html.unescape(page.text)
    assert await AuditEvent.count().where(AuditEvent.action == "email_retried") == 0


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.DESIGNER, Role.NEGOTIATOR], ids=lambda r: r.value)
async def test_other_staff_read_the_outbox_but_may_not_retry(client, mail_settings, closed_port, role):
    message = await queue()
    await fail_for_good(mail_settings, closed_port, message)
    await login(client, await make_staff(role))
    page = await client.get("/staff/outbox?status=failed")
    assert page.status_code == 200 and "Send again" not in page.text
    assert (await post(client, f"/staff/outbox/{message['id']}/retry")).status_code == 403
    assert (await row(message["id"]))["status"] == "failed"


async def test_clients_and_anonymous_visitors_are_kept_out(client, mail_settings, closed_port):
    message = await queue()
    await fail_for_good(mail_settings, closed_port, message)
    retry = f"/staff/outbox/{message['id']}/retry"

    anonymous = await client.get("/staff/outbox")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    anonymous_retry = await post(client, retry)
    assert anonymous_retry.status_code == 303 and anonymous_retry.headers["location"].startswith("/login")

    await login(client, await make_client_user(await make_client()))
    for path in ("/staff/outbox", f"/staff/outbox/{message['id']}"):
        assert (await client.get(path)).status_code == 403
    assert (await post(client, retry)).status_code == 403
    assert (await row(message["id"]))["status"] == "failed"


async def test_a_missing_message_is_a_404(client):
    await login(client, await make_staff(Role.ADMIN))
    assert (await client.get("/staff/outbox/999999")).status_code == 404
    assert (await post(client, "/staff/outbox/999999/retry")).status_code == 404


async def test_the_list_is_newest_first_and_pages_without_gaps_or_repeats(client):
    ids = [(await queue())["id"] for _ in range(57)]
    await login(client, await make_staff(Role.ADMIN))
    first = await client.get("/staff/outbox")
    shown = listed_ids(first.text)
    assert len(shown) == 50
    link = NEXT.search(first.text).group(1).replace("&amp;", "&")
    second = await client.get(link)
    shown += listed_ids(second.text)
    assert NEXT.search(second.text) is None
    assert shown == sorted(ids, reverse=True)
    assert (await client.get("/staff/outbox?cursor=garbage")).status_code == 200  # a bad cursor is the first page


async def test_a_message_in_the_clients_language_is_marked_as_such_on_a_page_in_the_readers(client, mail_settings):
    hungarian = await make_client("Debrecen Fitness Kft.", language="hu")
    message = await queue(subject="Emlékeztető: INV-2026-00003", body="Kérjük, fizesse ki.", client_id=hungarian)
    internal = await queue(subject="Daily summary")
    staff = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, staff)
    listing = (await client.get("/staff/outbox")).text
    assert 'lang="hu">Emlékeztető: INV-2026-00003' in row_html(listing, message["id"])
    assert "lang=" not in row_html(listing, internal["id"])  # no client: the reader's own language
    detail = (await client.get(f"/staff/outbox/{message['id']}")).text
    assert '<pre class="email-body" lang="hu">Kérjük, fizesse ki.</pre>' in detail
