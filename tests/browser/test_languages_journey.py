"""A client user reads the portal in each of the firm's languages: chooses it in their settings,
then opens their home, an invoice, the spec awaiting approval and the schedule proposal, and finds
none of the English words of those pages. The user is left following the company again."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser
CLIENT_USER = "ion@carpatia.demo.example"  # Carpatia Retail: a spec awaits its approval, an invoice is overdue
# Words of these pages' English interface that no translated page may show.
ENGLISH = ("Log out", "Our company", "What you owe", "See your invoices", "Your terms", "Payment terms", "Credit limit",
           "Your account manager", "Still to pay", "Due date", "Approve", "Ask for changes", "Repayment schedule",
           "Send the proposal", "installments", "Invoices", "Orders", "Your settings", "What needs you")


def _ids(portal_server) -> tuple[int, int]:
    with sqlite3.connect(portal_server.log_path.parent / "portal.sqlite") as conn:
        order = conn.execute("SELECT o.id FROM orders o JOIN clients c ON c.id = o.client WHERE c.name = 'Carpatia Retail SRL' "
                             "AND o.stage = 'spec_sent' LIMIT 1").fetchone()
        invoice = conn.execute("SELECT i.id FROM invoices i JOIN clients c ON c.id = i.client WHERE c.name = 'Carpatia Retail SRL' "
                               "AND i.status = 'issued' AND i.kind = 'invoice' ORDER BY i.due_date LIMIT 1").fetchone()
    assert order and invoice, "the demo's Carpatia Retail should have a spec to approve and an open invoice"
    return order[0], invoice[0]


def _english_on(page: Page) -> list[str]:
    text = page.locator("body").inner_text()
    return [word for word in ENGLISH if word in text]


@pytest.mark.parametrize("language", ["ro", "uk", "bg", "hu"])
def test_a_client_reads_the_portal_in_its_language(page: Page, portal_server, screenshot, language):
    order_id, invoice_id = _ids(portal_server)
    page.goto("/login")
    log_in(page, CLIENT_USER)
    page.goto("/client/account")
    page.locator("select[name=language]").select_option(language)
    page.get_by_role("button", name=t(page, "Save")).click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    for path, name in (("/client", "home"), (f"/client/invoices/{invoice_id}", "invoice"),
                       (f"/client/orders/{order_id}", "spec"), ("/client/schedules/new", "schedule")):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert not _english_on(page), f"{language} {path}: English on the page: {_english_on(page)}"
        screenshot(page, f"70-{language}-{name}")
    page.goto("/client/account")
    page.locator("select[name=language]").select_option("")  # back to the company's language
    page.get_by_role("button", name=t(page, "Save")).click()
    expect(page.locator("html")).to_have_attribute("lang", "ro")
