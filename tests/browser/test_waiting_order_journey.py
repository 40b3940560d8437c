"""An order waits for its prepayment: the sales manager records "call me in two weeks" as a callback
on the order's page, the days pass (a tick a day, through `portal dunning run --as-of`), and nothing
nags blindly: no penalty email, no demand letter, no sanction, no court; the callback is the
follow-up, on its day, and the client is told what to do, not threatened.

These ticks move the demo's shared clock weeks ahead, so this file runs after the other journeys
(its name sorts last)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PORTAL, ROOT, SECRET
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Europe/Bucharest")
DEBT_CHANNELS = ("letter", "formal_claim", "court_warning", "legal_handover", "sanction", "negotiation")


def _db(portal_server) -> sqlite3.Connection:
    return sqlite3.connect(portal_server.log_path.parent / "portal.sqlite")


def _waiting_order(portal_server) -> dict:
    with _db(portal_server) as conn:
        row = conn.execute(
            "SELECT o.id, o.number, i.id, i.code, c.id, m.email, u.email "
            "FROM orders o JOIN invoices i ON i.\"order\" = o.id JOIN clients c ON c.id = o.client "
            "JOIN users m ON m.id = c.sales_manager JOIN users u ON u.client = c.id "
            "WHERE o.stage = 'awaiting_prepayment' AND i.status = 'issued' AND i.kind = 'invoice' AND u.is_active = 1 "
            "ORDER BY i.due_date DESC LIMIT 1").fetchone()
    assert row, "the demo should have an order waiting for its prepayment"
    keys = ("order_id", "number", "invoice_id", "code", "client_id", "manager", "buyer")
    return dict(zip(keys, row, strict=True))


def _tick(portal_server, at: dt.datetime) -> None:
    folder = portal_server.log_path.parent
    env = {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite'}",
           "PORTAL_VAR_DIR": str(folder / "var")}
    result = subprocess.run([PORTAL, "dunning", "run", "--as-of", at.isoformat()], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_callback_holds_a_waiting_order_and_nothing_nags_the_client(page: Page, portal_server, screenshot):
    w = _waiting_order(portal_server)
    today = dt.datetime.now(TZ).date()
    page.goto("/login")
    log_in(page, w["manager"])
    page.goto(f"/staff/orders/{w['order_id']}")
    callbacks = page.locator("#callbacks")
    callbacks.locator("summary").click()
    call_day = today + dt.timedelta(days=14)
    callbacks.get_by_label(t(page, "Call back on")).fill(call_day.isoformat())  # an ISO date is read in every language
    callbacks.get_by_label(t(page, "Note")).fill("Call me in two weeks: the budget is approved then")
    callbacks.get_by_role("button", name=t(page, "Schedule callback")).click()
    expect(page.locator("#callbacks")).to_contain_text("Call me in two weeks")
    screenshot(page, "60-waiting-order-callback")

    page.goto(f"/staff/invoices/{w['invoice_id']}")
    escalation = page.locator("#escalation")
    expect(escalation).to_contain_text(t(page, "Prepayment reminders"))  # the seeded ladder, named in the reader's language
    expect(escalation.locator(".next-step")).to_contain_text(t(page, "Paused"))
    screenshot(page, "61-waiting-order-held-by-the-callback")

    for day in range(1, 22):  # three weeks of days, a tick each noon
        _tick(portal_server, dt.datetime.combine(today + dt.timedelta(days=day), dt.time(12, 0), tzinfo=TZ))
    with _db(portal_server) as conn:
        channels = [c for (c,) in conn.execute("SELECT channel FROM dunning_actions WHERE invoice = ?", (w["invoice_id"],))]
        # a sanction of this client whose cause is this invoice (its other, real debts may well be sanctioned)
        sanctions = conn.execute("SELECT COUNT(*) FROM client_sanctions s JOIN dunning_actions a ON a.id = s.action "
                                 "WHERE a.invoice = ?", (w["invoice_id"],)).fetchone()[0]
        letters = conn.execute("SELECT COUNT(*) FROM dunning_letters WHERE invoice = ?", (w["invoice_id"],)).fetchone()[0]
        penalty = conn.execute("SELECT COUNT(*) FROM email_outbox e JOIN dunning_actions a ON e.key = 'dunning-action-' || a.id "
                               "WHERE a.invoice = ? AND a.channel = 'email' AND a.position > 10", (w["invoice_id"],)).fetchone()[0]
    assert not set(channels) & set(DEBT_CHANNELS), channels
    assert sanctions == 0 and letters == 0 and penalty == 0

    page.reload()
    expect(escalation).to_contain_text(t(page, "A callback agreed with the client took its place."))
    screenshot(page, "62-waiting-order-after-three-weeks")

    page.context.clear_cookies()
    page.goto("/login")
    log_in(page, w["buyer"])
    todo = page.locator("#to-do")
    expect(todo).to_contain_text(w["number"])
    screenshot(page, "63-client-home-waiting-order")
