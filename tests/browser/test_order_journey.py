"""Day 1 to production in a real browser: intake with its invoice, two layout variants, the
spec sent, the client approving variant 2, a payment recorded by hand, and the order
entering production by itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.demo_art import layout_png
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser

SALES = "mihai.sales@demo.example"
DESIGNER = "andrei.design@demo.example"
COORDINATOR = "elena.spec@demo.example"
CREDIT = "cristina.credit@demo.example"
CLIENT_USER = "ion@carpatia.demo.example"
COMPANY = "Carpatia Retail SRL"
PRODUCT = "Holographic gift cards, 0.76 mm, 4+4"


def as_user(page: Page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    log_in(page, email)


def amount_in(text: str) -> str:
    """'2.856,00 RON' -> '2.856,00' (the portal reads both separators)."""
    return re.sub(r"[^\d.,]", "", text)


def test_from_request_to_production(page: Page, screenshot):
    # Day 1: the sales manager registers the request; the invoice exists at once.
    as_user(page, SALES)
    page.goto("/staff/orders/new")
    page.get_by_label(t(page, "Client"), exact=True).select_option(label=COMPANY)
    page.get_by_label(t(page, "Product"), exact=True).fill(PRODUCT)
    page.get_by_label(t(page, "Quantity"), exact=True).fill("2000")
    page.get_by_label(t(page, "Unit price before discount"), exact=True).fill("1.20")
    page.get_by_role("button", name=t(page, "Register and issue the invoice")).click()
    expect(page).to_have_url(re.compile(r"/staff/orders/\d+$"))
    order_url = page.url
    order_number = page.locator("h1").inner_text().split()[0]
    invoice_card = page.locator("#invoice")
    expect(invoice_card).to_contain_text(re.compile(r"INV-\d{4}-\d{5}"))
    expect(page.locator(".flash-success")).to_contain_text(order_number)

    # Day 2: the designer uploads two layout variants.
    as_user(page, DESIGNER)
    page.goto(order_url)
    for number, palette in ((1, "blue"), (2, "gold")):
        page.get_by_text(t(page, "Upload a layout variant")).click()
        page.locator("#variant-label").fill(f"Variant {number}")
        page.locator("#variant-file").set_input_files(
            files=[{"name": f"layout-{number}.png", "mimeType": "image/png", "buffer": layout_png(number, palette)}])
        page.get_by_role("button", name=t(page, "Upload")).click()
        expect(page.locator("#variants, section").filter(has_text=f"Variant {number}").first).to_be_visible()

    # Day 3: the coordinator assembles the spec and sends it.
    as_user(page, COORDINATOR)
    page.goto(order_url)
    page.get_by_text(t(page, "Write the spec")).click()
    for number in (1, 2):
        page.get_by_label(f"Variant {number}").check()
    page.get_by_label(t(page, "Materials"), exact=True).fill("PVC 0.76 mm with holographic overlay")
    page.get_by_label(t(page, "Finishing"), exact=True).fill("Offset 4+4, rounded corners")
    page.get_by_role("button", name=t(page, "Save and send version %(version)s to the client", version=1)).click()
    expect(page.locator("h1")).to_contain_text(t(page, "Spec sent"))

    # The client opens the spec, sees both layouts, and approves variant 2 with their name.
    as_user(page, CLIENT_USER)
    page.goto("/client/orders")
    page.get_by_role("link", name=re.compile(order_number)).first.click()
    images = page.locator("figure img")
    expect(images).to_have_count(2)
    assert all(images.nth(i).evaluate("img => img.naturalWidth > 300") for i in range(2))  # large enough to judge
    page.get_by_role("radio", name="Variant 2").check()
    page.get_by_label(t(page, "Your full name, as your signature"), exact=True).fill("Ion Georgescu")
    screenshot(page, "10-client-spec-approval")
    page.get_by_role("button", name=t(page, "Approve version %(version)s", version=1)).click()
    expect(page.locator(".flash-success").first).to_contain_text(t(page, "Thank you: you approved version %(version)s of the spec.", version=1))
    expect(page.locator("main")).to_contain_text("Ion Georgescu")  # the signature is shown back
    screenshot(page, "11-client-spec-approved")

    # The order waits for payment on the board.
    as_user(page, CREDIT)
    page.goto("/staff/orders")
    expect(page.locator("#col-spec_approved")).to_contain_text(order_number)
    screenshot(page, "12-board-waiting-for-payment")

    # A payment recorded by hand: the order enters production by itself.
    page.goto(order_url)
    balance = page.locator("#invoice dd.balance").inner_text()
    page.get_by_text(t(page, "Record a payment")).first.click()
    page.locator("#pay-amount").fill(amount_in(balance))
    page.locator("#pay-reference").fill("OP 4411")
    page.get_by_role("button", name=t(page, "Record payment")).click()
    expect(page.locator(".flash-success").first).to_contain_text(t(page, "Payment recorded; the order entered production."))
    expect(page.locator("h1")).to_contain_text(t(page, "In production"))
    page.goto("/staff/orders")
    expect(page.locator("#col-in_production")).to_contain_text(order_number)
    screenshot(page, "13-board-in-production")
