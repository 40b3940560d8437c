"""What a person is told while and after they act: a session that ended during an htmx action sends
them to log in and back to the page they were on; the worklist's bulk bar says when nothing is
ticked, at the bar; a search box shows its query again when the browser comes back to the address
htmx pushed."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import quote

from portal.auth.roles import Role
from portal.auth.tables import Session
from portal.dunning.escalation.tables import Pause
from tests.billing.staff_helpers import issue
from tests.dunning.test_worklist import _overdue_world
from tests.factories import csrf_token, login, make_client, make_staff, post

BASE = "http://testserver.local"
HISTORY_RESTORE = {"hx-request": "true", "hx-history-restore-request": "true"}  # htmx refetching a page for Back


async def _expire_sessions(settings) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.session_idle_minutes + 1)
    await Session.update({Session.last_seen_at: long_ago}).where(Session.id > 0)


async def _log_in_again(client, user: dict, login_url: str):
    """The login page htmx sent the browser to, filled in and sent as the browser does."""
    form = (await client.get(login_url)).text
    next_value = html.unescape(re.search(r'<input type="hidden" name="next" value="([^"]*)">', form).group(1))
    token = await csrf_token(client)
    return await client.post("/login", data={"email": user["email"], "password": user["password"], "next": next_value, "_csrf_token": token})


async def test_an_htmx_action_after_the_session_ended_returns_to_the_page_after_login(db, settings, client):
    _manager, controller, _client_id, invoice = await _overdue_world(settings)
    await login(client, controller)
    await _expire_sessions(settings)
    shown = "/staff/dunning?q=Debtor+SRL&paused=no"
    response = await post(client, "/staff/dunning/bulk", {"action": "pause", "reason": "Bank", "invoice_ids": str(invoice["id"])},
                          headers={"hx-request": "true", "hx-current-url": f"{BASE}{shown}"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == f"/login?next={quote(shown)}"  # the page, not the POST's address
    assert await Pause.count() == 0
    login_page = (await client.get(response.headers["hx-redirect"])).text
    assert "Your session has ended. Log in again to go on where you were." in login_page  # why the login page, said there
    landed = await _log_in_again(client, controller, response.headers["hx-redirect"])
    assert landed.status_code == 303 and landed.headers["location"] == shown
    page = await client.get(landed.headers["location"])
    assert page.status_code == 200 and 'name="q" value="Debtor SRL"' in page.text


async def test_an_htmx_fragment_request_after_the_session_ended_returns_to_its_page(db, settings, client):
    admin = await make_staff()
    await login(client, admin)
    await _expire_sessions(settings)
    response = await client.get("/staff/dunning/groups?q=x", headers={"hx-request": "true", "hx-current-url": f"{BASE}/staff/dunning?q=x"})
    assert response.status_code == 401 and response.headers["hx-redirect"] == f"/login?next={quote('/staff/dunning?q=x')}"
    landed = await _log_in_again(client, admin, response.headers["hx-redirect"])
    assert landed.headers["location"] == "/staff/dunning?q=x"


async def test_a_plain_form_post_after_the_session_ended_returns_to_the_form_page_not_a_405(db, settings, client):
    admin = await make_staff()
    await login(client, admin)
    await _expire_sessions(settings)
    response = await post(client, "/staff/dunning/bulk", {"action": "pause"}, headers={"referer": f"{BASE}/staff/dunning?q=a"})
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={quote('/staff/dunning?q=a')}"
    elsewhere = await post(client, "/staff/dunning/bulk", {"action": "pause"}, headers={"referer": "https://evil.example/staff/x"})
    assert elsewhere.headers["location"] == "/login"  # another site's address is not a page to return to
    hostile = await client.get("/staff/dunning/groups", headers={"hx-request": "true", "hx-current-url": "https://evil.example//evil.example"})
    assert hostile.headers["hx-redirect"] == "/login"


async def test_bulk_action_with_nothing_ticked_says_so_at_the_bar(db, settings, client):
    _manager, controller, _client_id, invoice = await _overdue_world(settings)
    await login(client, controller)
    page = (await client.get("/staff/dunning")).text
    form = re.search(r'<form method="post"[^>]*id="bulk-form"[^>]*>', page, re.S).group(0)
    assert 'data-require-checked="invoice_ids"' in form and 'data-require-message="Tick at least one invoice."' in form  # said before sending
    assert 'data-select-all="invoice_ids"' in page  # the header's select-all box
    for values in ({"action": "pause", "reason": ""}, {"action": "skip", "reason": "Client called"}, {"action": "reassign", "user_id": ""}):
        refused = await post(client, "/staff/dunning/bulk", values)
        assert refused.status_code == 400, values
        bar = re.search(r'<fieldset class="card bulk-actions" id="bulk-actions">.*?</fieldset>', refused.text, re.S).group(0)
        assert re.search(r'<p class="error" role="alert" id="bulk-error"[^>]*>Tick at least one invoice\.</p>', bar), values  # first, and at the bar
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0
    assert 'action="/staff/dunning/bulk#bulk-error"' in refused.text  # sent again, a refusal opens at the bar too


async def test_the_address_htmx_pushed_shows_the_query_in_the_box_and_its_results(db, client):
    await make_client("Carpatia Retail SRL")
    await make_client("Iasi Books SRL")
    await login(client, await make_staff(Role.ADMIN))
    typed = await client.get("/staff/clients?q=Carp", headers={"hx-request": "true", "hx-target": "client-list"})
    assert "Carpatia Retail SRL" in typed.text and "Iasi Books SRL" not in typed.text and 'name="q"' not in typed.text  # the list only
    for headers in ({}, HISTORY_RESTORE):  # reloaded (htmx: refreshOnHistoryMiss) or refetched by htmx
        page = (await client.get("/staff/clients?q=Carp", headers=headers)).text
        assert 'name="q" value="Carp"' in page, headers
        assert "Carpatia Retail SRL" in page and "Iasi Books SRL" not in page
        assert """<meta name="htmx-config" content='{"historyCacheSize": 0, "refreshOnHistoryMiss": true}'>""" in page


async def test_the_invoice_and_worklist_searches_show_their_query_after_reload(db, settings, client):
    _manager, controller, _client_id, overdue = await _overdue_world(settings)
    other = await issue(await make_client("Another Firm SRL"), due_in=-5)
    await login(client, controller)
    invoices = (await client.get("/staff/invoices", params={"q": overdue["code"]}, headers=HISTORY_RESTORE)).text
    assert f'name="q" value="{overdue["code"]}"' in invoices and other["code"] not in invoices
    worklist = (await client.get("/staff/dunning", params={"q": "Debtor"}, headers=HISTORY_RESTORE)).text
    assert 'name="q" value="Debtor"' in worklist and overdue["code"] in worklist and other["code"] not in worklist
