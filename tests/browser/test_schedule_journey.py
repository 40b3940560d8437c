"""Negotiation in the browser: a client proposes 3 installments, the negotiator counters with 4,
the client accepts and pays the first online; the second is missed, and a tick past it resumes
the ladder one step further with a task for the negotiator."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.billing.stripe_standin import Payment
from tests.browser.conftest import PORTAL, ROOT
from tests.browser.journey_data import database as _db, overdue_invoice, portal_env as _env
from tests.browser.test_journeys import log_in, t
from tests.browser.test_pay_journey import deliver_webhook
from tests.words import said

pytestmark = pytest.mark.browser

NEGOTIATOR = "radu.negotiator@demo.example"
TZ = ZoneInfo("Europe/Bucharest")


def _fill_rows(page: Page, form, rows: list[tuple[dt.date, int]]) -> None:
    dates, amounts = form.locator("input[name=date]"), form.locator("input[name=amount]")
    for k in range(dates.count()):
        dates.nth(k).fill(rows[k][0].isoformat() if k < len(rows) else "")
        amounts.nth(k).fill(f"{rows[k][1] / 100:.2f}" if k < len(rows) else "")


def test_propose_counter_accept_pay_then_miss_an_installment(page: Page, browser, portal_server, stripe_standin, screenshot):
    invoice = overdue_invoice(portal_server, nth_client=0)
    email, invoice_id, debt = invoice["email"], invoice["id"], invoice["total"]
    today = dt.datetime.now(TZ).date()

    # the client proposes three monthly installments for this invoice
    page.goto("/login")
    log_in(page, email)
    page.goto("/client/schedules/new")
    for box in page.locator("input[name=invoice_ids]").all():
        if box.get_attribute("value") != str(invoice_id):
            box.uncheck()
    page.locator("#count").fill("3")
    page.locator("#first").fill((today + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name=t(page, "Fill in the installments")).click()
    expect(page.locator("input[name=date]").nth(2)).not_to_have_value("")
    page.locator("#note").fill("A large customer of ours pays us late this quarter.")
    screenshot(page, "30-client-proposes-schedule")
    page.get_by_role("button", name=t(page, "Send the proposal")).click()
    expect(page).to_have_url(re.compile(r"/client/schedules/\d+$"))
    schedule_path = page.url.split(portal_server.base_url, 1)[1]
    schedule_id = int(schedule_path.rsplit("/", 1)[1])

    # the negotiator counters with four
    staff = browser.new_context(base_url=portal_server.base_url, locale="en-GB", viewport={"width": 1280, "height": 900})
    desk = staff.new_page()
    desk.goto("/login")
    log_in(desk, NEGOTIATOR)
    desk.goto("/staff/schedules")
    desk.locator(f'a[href="/staff/schedules/{schedule_id}"]').click()
    desk.locator("#ideal_terms").fill("Two installments")
    desk.locator("#acceptable_terms").fill("Four, the last within three months")
    desk.locator("#prep-form button").click()
    base, extra = divmod(debt, 4)
    # close together, so the tick that finds the second missed moves the shared demo database only a few days on
    four = [(today + dt.timedelta(days=1 + k), base + (extra if k == 0 else 0)) for k in range(4)]
    counter = desk.locator("#counter-form")
    _fill_rows(desk, counter, four)
    counter.locator("textarea[name=note]").fill("Four smaller ones, sooner.")
    counter.get_by_role("button").click()
    expect(desk.locator('[data-version="2"]')).to_be_visible()
    screenshot(desk, "31-negotiator-versions-side-by-side")

    # the client reads the counter-offer, accepts it and pays the first installment online
    page.goto(schedule_path)
    expect(page.locator('[data-version="2"]')).to_contain_text(t(page, "On the table"))
    expect(page.locator("main")).not_to_contain_text("Two installments")  # the negotiator's preparation stays inside
    page.locator("#name").fill("Ana Popescu")
    page.get_by_role("button", name=t(page, "Accept and sign version %(n)s", n=2)).click()
    expect(page.locator("#plan")).to_be_visible()
    page.locator("#pay-installment").click()
    expect(page).to_have_url(re.compile(re.escape(stripe_standin.url) + r"/checkout/pay/cs_test_"))
    session = list(stripe_standin.sessions.values())[-1]
    assert session["amount_total"] == four[0][1]
    meta = session["metadata"]
    payment = Payment(invoice_id=int(meta["invoice_id"]), client_id=int(meta["client_id"]), attempt=int(meta["attempt"]),
                      session_id=session["id"], amount=session["amount_total"], currency=session["currency"].upper())
    assert deliver_webhook(portal_server.base_url, payment.completed("paid")) == 200
    page.goto(schedule_path)
    expect(page.locator("#plan tbody tr").first).to_contain_text(t(page, "Paid"))
    screenshot(page, "32-client-plan-first-installment-paid")

    # nobody pays the second: a tick after its date and the grace days breaks the plan
    with _db(portal_server) as conn:
        before = conn.execute("SELECT COUNT(*) FROM dunning_actions WHERE invoice = ?", (invoice_id,)).fetchone()[0]
    as_of = dt.datetime.combine(four[1][0] + dt.timedelta(days=4), dt.time(12, 0)).isoformat()  # after its date + 3 grace days
    result = subprocess.run([PORTAL, "dunning", "run", "--as-of", as_of], env=_env(portal_server), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with _db(portal_server) as conn:
        after = conn.execute("SELECT COUNT(*) FROM dunning_actions WHERE invoice = ?", (invoice_id,)).fetchone()[0]
        task = conn.execute("SELECT t.title, u.language, c.name FROM tasks t JOIN users u ON u.id = t.assignee "
                            "JOIN clients c ON c.id = t.client WHERE t.schedule = ? AND t.done_at IS NULL", (schedule_id,)).fetchone()
    assert after > before, "the ladder resumes one step further"
    assert task, "the negotiator gets a task"
    title, language, client_name = task  # worded in the negotiator's own language
    assert title == said(language, "%(client)s missed installment %(number)s of schedule %(id)s", client=client_name, number=2,
                         id=schedule_id)
    page.reload()
    expect(page.locator(".schedule-status")).to_contain_text(t(page, "Broken: an installment was missed"))
    desk.goto(f"/staff/schedules/{schedule_id}")
    expect(desk.locator(".schedule-status")).to_contain_text(t(desk, "Broken: an installment was missed"))
    screenshot(desk, "33-negotiator-plan-broken")
    staff.close()
