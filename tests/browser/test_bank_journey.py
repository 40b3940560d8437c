"""Money from the bank as a credit controller meets it: a CAMT.053 statement uploaded on the Bank
page, the transfer that names its invoice booked at once, the one that only matches by amount
waiting in the queue; Enter on its row confirms it, and the invoice reads paid with its ladder stopped."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.bank.statements import FIRM_IBAN, Entry, camt053
from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser
CONTROLLER = "cristina.credit@demo.example"


def _open_ron_invoices(portal_server) -> tuple[dict, dict]:
    """Two open RON invoices; the second's balance is no other open invoice's, so the amount alone points to it."""
    with sqlite3.connect(portal_server.log_path.parent / "portal.sqlite") as conn:
        rows = conn.execute(
            "SELECT id, code, total_minor - paid_minor AS balance FROM invoices i WHERE status = 'issued' AND kind = 'invoice' "
            "AND currency = 'RON' AND total_minor > paid_minor AND (SELECT COUNT(*) FROM invoices o WHERE o.status = 'issued' "
            "AND o.kind = 'invoice' AND o.currency = 'RON' AND o.total_minor - o.paid_minor = i.total_minor - i.paid_minor) = 1 "
            "ORDER BY id").fetchall()
    assert len(rows) >= 2, "the demo should have two open RON invoices with balances of their own"
    named, by_amount = ({"id": r[0], "code": r[1], "balance": r[2]} for r in rows[:2])
    return named, by_amount


def _amount(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def test_a_statement_books_the_named_transfer_and_the_queue_confirms_the_other(page: Page, portal_server, screenshot, tmp_path):
    named, by_amount = _open_ron_invoices(portal_server)
    statement = tmp_path / "extras-bcr.xml"
    statement.write_bytes(camt053([
        Entry(_amount(named["balance"]), f"Plata factura {named['code']}", payer="Ştefănescu Ţesături SRL",
              payer_iban="RO57BTRL0000001234567891", reference="BCR-J-1"),
        Entry(_amount(by_amount["balance"]), "contravaloare marfa", payer="Őrségi Kft.", payer_iban="HU42117730161111101800000000",
              reference="BCR-J-2"),
    ], iban=FIRM_IBAN))

    page.goto("/login")
    log_in(page, CONTROLLER)
    page.get_by_role("link", name=t(page, "Bank"), exact=True).first.click()
    expect(page.locator("h1")).to_have_text(t(page, "Bank"))
    page.get_by_label(t(page, "Statement file")).set_input_files(str(statement))
    page.get_by_role("button", name=t(page, "Import"), exact=True).click()
    expect(page.locator("#import-result")).to_be_visible()
    flash = t(page, "Statement imported: %(lines)s transactions, %(booked)s booked, %(queued)s to reconcile, %(duplicates)s already imported.",
              lines=2, booked=1, queued=1, duplicates=0)
    expect(page.get_by_text(flash)).to_be_visible()
    row = page.locator("tr.bank-line", has_text="contravaloare marfa")
    expect(row).to_contain_text(by_amount["code"])  # the suggestion: the one invoice with this balance
    expect(row).to_contain_text("Őrségi Kft.")
    screenshot(page, "70-bank-statement-imported")

    row.focus()
    page.keyboard.press("Enter")
    expect(page.locator("tr.bank-line.decided")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("0")
    screenshot(page, "71-bank-queue-confirmed")

    for invoice in (named, by_amount):
        page.goto(f"/staff/invoices/{invoice['id']}")
        expect(page.locator(".badge-ok").first).to_have_text(t(page, "Paid"))
        expect(page.locator("#escalation")).to_contain_text(t(page, "Nothing: the invoice is settled."))
    screenshot(page, "72-bank-invoice-paid")
