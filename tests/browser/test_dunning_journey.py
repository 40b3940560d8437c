"""A credit controller works the dunning ladder: the worklist, a call task taken over and done with
a promised date, the invoice paused until then; a tick past the date resumes the ladder."""

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

CONTROLLER = "cristina.credit@demo.example"
TZ = ZoneInfo("Europe/Bucharest")


def _db(portal_server) -> sqlite3.Connection:
    return sqlite3.connect(portal_server.log_path.parent / "portal.sqlite")


def _open_call(portal_server) -> tuple[int, int, str]:
    with _db(portal_server) as conn:
        row = conn.execute(
            "SELECT t.id, i.id, i.code FROM tasks t JOIN invoices i ON i.id = t.invoice "
            "WHERE t.kind = 'call' AND t.done_at IS NULL AND i.status = 'issued' "
            "AND NOT EXISTS (SELECT 1 FROM dunning_pauses p WHERE p.invoice = i.id AND p.ended_at IS NULL) ORDER BY t.id LIMIT 1"
        ).fetchone()
    assert row, "the demo should leave an open call task on an overdue invoice"
    return row


def _actions(portal_server, invoice_id: int) -> list[tuple]:
    with _db(portal_server) as conn:
        return conn.execute("SELECT position, status FROM dunning_actions WHERE invoice = ? ORDER BY position", (invoice_id,)).fetchall()


def test_controller_takes_a_call_records_a_promise_and_the_ladder_resumes_after_it(page: Page, portal_server, screenshot):
    task_id, invoice_id, code = _open_call(portal_server)
    page.goto("/login")
    log_in(page, CONTROLLER)
    page.goto("/staff/dunning")
    row = page.locator(f'tr[data-invoice="{code}"]')
    expect(row).to_be_visible()
    screenshot(page, "20-dunning-worklist")

    row.get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option("reassign")
    page.locator("select[name=user_id]").select_option(label="Cristina Marin")
    page.get_by_role("button", name=t(page, "Apply")).click()
    expect(page.locator(".flash").first).to_be_visible()

    page.goto("/staff/calendar")
    task = page.locator(f"#cal-task-{task_id}")
    expect(task).to_be_visible()
    promised = dt.datetime.now(TZ).date() + dt.timedelta(days=5)
    task.locator("summary").click()
    task.locator("input[name=reached][value=yes]").check()
    task.locator("input[name=promised_date]").fill(promised.isoformat())
    task.locator("select[name=delay_reason]").select_option(index=1)
    task.locator("textarea[name=note]").fill("Their own client pays on Friday")
    screenshot(page, "21-calendar-call-outcome")
    task.get_by_role("button", name=t(page, "Mark done")).click()
    expect(page.locator(f"#cal-task-{task_id}")).not_to_contain_text(t(page, "Mark done"))

    page.goto(f"/staff/invoices/{invoice_id}")
    escalation = page.locator("#escalation")
    expect(escalation.locator(".next-step")).to_contain_text(t(page, "Paused"))
    expect(escalation).to_contain_text("Their own client pays on Friday")
    screenshot(page, "22-invoice-paused-by-promise")
    before = _actions(portal_server, invoice_id)

    # A tick after the promised day (and the grace day) has passed, unpaid: the ladder goes on.
    as_of = dt.datetime.combine(promised + dt.timedelta(days=2), dt.time(12, 0)).isoformat()
    env = {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{portal_server.log_path.parent / 'portal.sqlite'}",
           "PORTAL_VAR_DIR": str(portal_server.log_path.parent / "var")}
    result = subprocess.run([PORTAL, "dunning", "run", "--as-of", as_of], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    after = _actions(portal_server, invoice_id)
    assert len(after) > len(before), (before, after)
    page.reload()
    expect(page.locator("#escalation .pauses")).to_contain_text(t(page, "Broken"))
    screenshot(page, "23-invoice-ladder-resumed")
