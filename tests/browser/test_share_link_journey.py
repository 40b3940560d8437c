"""A negotiator shares a drafted repayment schedule through a link; a person without an account
opens it in a fresh browser (no cookies), reads it, types a name and accepts: the schedule is
signed through the link, and the link cannot be used again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, SECRET
from tests.browser.journey_data import overdue_invoice
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser

NEGOTIATOR = "radu.negotiator@demo.example"
SIGNER = "Ileana Dumitrescu"
NOTE = "As agreed on the phone: three monthly payments."

# Drafted through the negotiation service in the server's database, as the negotiator would.
DRAFT = """
import asyncio, datetime as dt, sys
from portal import db
from portal.audit.service import Actor
from portal.auth.tables import User
from portal.negotiation.schedules import rules, service
from portal.settings import load_settings

async def main(invoice_id, debt, email, note):
    settings = load_settings()
    db.bind(db.engine_for(settings.database_url))
    ctx = service.Context(rules.Policy.from_settings(settings), settings.firm_timezone)
    user = await User.select(User.id, User.name, User.client).where(User.email == email).first()
    invoice = await service.Invoice.select(service.Invoice.client).where(service.Invoice.id == invoice_id).first()
    first = ctx.today(dt.datetime.now(dt.timezone.utc)) + dt.timedelta(days=10)
    rows = rules.equal_monthly(debt, 3, first)
    print(await service.draft(invoice["client"], [invoice_id], rows, note, Actor(user["id"], user["name"]), ctx))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


def _db(portal_server) -> sqlite3.Connection:
    return sqlite3.connect(portal_server.log_path.parent / "portal.sqlite")


def _env(portal_server) -> dict:
    folder = portal_server.log_path.parent
    return {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite'}",
            "PORTAL_VAR_DIR": str(folder / "var")}


def _overdue_invoice(portal_server) -> tuple[int, str, str, int]:
    """An invoice issued for this journey alone (ten days overdue), so no other journey meets it."""
    invoice = overdue_invoice(portal_server, nth_client=1)
    return invoice["id"], invoice["code"], invoice["client_name"], invoice["total"]


def _schedule(portal_server, schedule_id: int) -> tuple:
    with _db(portal_server) as conn:
        return conn.execute("SELECT status, accepted_name, accepted_via, accepted_version, accepted_ip FROM repayment_schedules "
                            "WHERE id = ?", (schedule_id,)).fetchone()


def test_a_negotiator_shares_a_schedule_and_a_person_without_an_account_accepts_it(page: Page, browser, portal_server, screenshot):
    invoice_id, code, client_name, debt = _overdue_invoice(portal_server)
    drafted = subprocess.run([sys.executable, "-c", DRAFT, str(invoice_id), str(debt), NEGOTIATOR, NOTE], env=_env(portal_server),
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert drafted.returncode == 0, drafted.stderr
    schedule_id = int(drafted.stdout.strip().splitlines()[-1])

    # the negotiator opens the draft and makes a link (which offers the draft to the client)
    page.goto("/login")
    log_in(page, NEGOTIATOR)
    opened = page.goto(f"/staff/schedules/{schedule_id}")
    if opened is not None and opened.status == 200 and page.locator("#schedule-links").count():
        page.once("dialog", lambda dialog: dialog.accept())  # "Sharing the draft offers it to the client. Go on?"
        page.locator("#schedule-links").get_by_role("button", name=t(page, "Create link")).click()
    else:  # the schedule page is not there: the link endpoint answers a plain form post with the address
        page.goto(f"/staff/schedules/{schedule_id}/links")
        page.locator("#schedule-links form button").click()
    url_box = page.locator("#share-link-url")
    expect(url_box).to_be_visible()
    url = url_box.input_value()
    assert url.startswith(f"{portal_server.base_url}/s/"), url
    expect(page.locator('#schedule-links tr[data-state="active"]')).to_have_count(1)
    screenshot(page, "40-share-link-created")
    assert _schedule(portal_server, schedule_id)[0] == "with_client"

    # a fresh browser, no cookies: the person the link was sent to
    stranger = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    stranger.set_default_timeout(10_000)
    errors: list[str] = []
    tab = stranger.new_page()
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    try:
        tab.goto(url)
        # the page speaks the client's language (the link went to someone at the client), not the visitor's browser
        with _db(portal_server) as conn:
            language = conn.execute("SELECT language FROM clients WHERE name = ?", (client_name,)).fetchone()[0]
        expect(tab.locator("html")).to_have_attribute("lang", language)
        expect(tab.get_by_role("heading", name=t(tab, "Repayment schedule for %(client)s", client=client_name))).to_be_visible()
        expect(tab.locator(".share-invoices")).to_contain_text(code)
        expect(tab.locator(".share-installments tbody tr")).to_have_count(3)
        expect(tab.locator(".share-note")).to_have_text(NOTE)
        links = tab.locator("a")
        hrefs = [links.nth(k).get_attribute("href") for k in range(links.count())]
        # nothing to navigate to but the language switch (and the skip link to the page's own content)
        assert all(h.startswith("?lang=") or h == "#content" for h in hrefs), hrefs
        tab.get_by_label(t(tab, "Your full name")).fill(SIGNER)
        screenshot(tab, "41-share-link-opened")
        tab.get_by_role("button", name=t(tab, "Accept the schedule")).click()
        expect(tab.get_by_role("heading", name=t(tab, "Thank you: the repayment schedule is accepted."))).to_be_visible()
        expect(tab.locator(".share-accepted")).to_contain_text(SIGNER)
        screenshot(tab, "42-share-link-accepted")
        assert not [c for c in stranger.cookies() if c["name"] == "portal_session"]

        status, name, via, version, ip = _schedule(portal_server, schedule_id)
        assert (status, name, via, version, ip) == ("accepted", SIGNER, "link", 1, "127.0.0.1")

        assert not errors, errors

        # the same link again: a clear page (410 Gone), nothing of the schedule
        again = tab.goto(url)
        assert again.status == 410
        expect(tab.get_by_role("heading", name=t(tab, "This link was already used."))).to_be_visible()
        expect(tab.locator("body")).not_to_contain_text(client_name)
        expect(tab.locator("body")).not_to_contain_text(code)
        screenshot(tab, "43-share-link-used")
    finally:
        stranger.close()
    assert not page.console_errors, page.console_errors
