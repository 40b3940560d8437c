"""The client's home in the browser: what it has to do, one click from where it is done; and a
proposal's running total that follows the amounts as they are typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey_data import overdue_invoice
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser


def test_the_home_says_what_to_do_and_the_schedule_form_adds_up_while_typing(page: Page, portal_server, screenshot):
    invoice = overdue_invoice(portal_server, nth_client=4)
    page.goto("/login")
    log_in(page, invoice["email"])
    page.goto("/client")
    todo = page.locator("#to-do")
    item = todo.locator("li", has_text=invoice["code"])
    expect(item).to_be_visible()
    expect(item).to_have_attribute("data-todo", "overdue")
    screenshot(page, "80-client-home-to-do")
    item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/client/invoices/{invoice['id']}$"))

    page.goto("/client/schedules/new")
    for box in page.locator("input[name=invoice_ids]").all():
        if box.get_attribute("value") != str(invoice["id"]):
            box.uncheck()
    total = page.locator("#running-total")
    amounts = page.locator("input[name=amount]")
    half = invoice["total"] // 2
    amounts.nth(0).fill(f"{half / 100:.2f}")
    expect(total.locator(".running-total-off")).to_contain_text(
        t(page, "Installments: %(typed)s of %(debt)s; %(left)s still to place.", typed="", debt="", left="").split(":")[0])
    amounts.nth(1).fill(f"{(invoice['total'] - half) / 100:.2f}")
    expect(total.locator(".running-total-ok")).to_be_visible()
    screenshot(page, "81-client-schedule-running-total")
