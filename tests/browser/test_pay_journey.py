"""A client pays an invoice online: Pay sends them to (the stand-in of) Stripe Checkout; the
signed webhook arrives; the invoice shows paid and the order, already approved, goes into
production by itself."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.billing.stripe_standin import Payment, sign
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser

CLIENT_USER = "zsofia@pannonia-bank.demo.example"  # Pannonia Bank: "Card mailers" has an approved spec and is unpaid
PRODUCT = "Card mailers with window envelopes"


def deliver_webhook(base_url: str, event: dict) -> int:
    body = json.dumps(event)
    request = urllib.request.Request(
        f"{base_url}/webhooks/stripe", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_client_pays_online_and_the_order_enters_production(page: Page, portal_server, stripe_standin, screenshot):
    page.goto("/login")
    log_in(page, CLIENT_USER)
    page.goto("/client/orders")
    page.locator("tr", has_text=PRODUCT).get_by_role("link").first.click()
    order_url = page.url
    page.get_by_role("link", name=t(page, "Open the invoice")).click()
    invoice_url = page.url
    screenshot(page, "14-client-invoice-pay")

    page.get_by_role("button", name=re.compile(t(page, "Pay online").split()[0])).last.click()
    expect(page).to_have_url(re.compile(re.escape(stripe_standin.url) + r"/checkout/pay/cs_test_"))
    session = list(stripe_standin.sessions.values())[-1]
    meta = session["metadata"]
    assert session["mode"] == "payment" and session["client_reference_id"] == meta["invoice_id"]

    # Until Stripe's webhook confirms it, the portal says "processing", never "received".
    page.goto(f"{invoice_url}/paid?session_id={session['id']}")
    expect(page.locator("main")).not_to_contain_text(t(page, "Payment received."))

    payment = Payment(invoice_id=int(meta["invoice_id"]), client_id=int(meta["client_id"]), attempt=int(meta["attempt"]),
                      session_id=session["id"], amount=session["amount_total"], currency=session["currency"].upper())
    assert deliver_webhook(portal_server.base_url, payment.completed("paid")) == 200
    expect(page.locator("main")).to_contain_text(t(page, "Payment received."), timeout=10_000)  # htmx polls
    screenshot(page, "15-client-payment-received")

    page.goto(order_url)
    expect(page.locator("h1")).to_contain_text(re.compile(t(page, "In production"), re.I))
