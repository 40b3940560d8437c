"""Cancelling an invoice: a credit note mirrors it (series CN), the invoice is kept and marked cancelled."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, strategies as st

from portal import db as portal_db, settlement
from portal.audit.service import timeline
from portal.auth.roles import Role
from portal.billing import rules, service as billing
from portal.billing.rules import Line
from portal.billing.tables import Invoice, InvoiceLine, PaymentAllocation
from tests.billing.staff_helpers import SYSTEM, issue, pay, today
from tests.factories import login, make_client, make_staff, post

LINES = [Line("Gift boxes, 4+0", 250, 481, 1900), Line("Die cutting form", 1, 35005, 900), Line("Delivery", 1, 3333, 0)]


async def test_cancel_issues_a_credit_note_that_mirrors_the_invoice(db):
    company = await make_client()
    invoice = await issue(company, lines=LINES)
    credit_note = await settlement.cancel_invoice(invoice["id"], "Client ordered twice", SYSTEM)

    assert credit_note["kind"] == "credit_note" and credit_note["credits_invoice"] == invoice["id"]
    assert credit_note["code"] == f"CN-{today().year}-00001" and credit_note["series"] == "CN"
    assert credit_note["client"] == company and credit_note["currency"] == invoice["currency"]
    for key in ("net_minor", "vat_minor", "total_minor"):
        assert credit_note[key] == -invoice[key]
    original = await billing.lines_of(invoice["id"])
    mirrored = await billing.lines_of(credit_note["id"])
    assert [(line["description"], line["quantity"], -line["unit_price_minor"], line["vat_rate_bp"],
             -line["net_minor"], -line["vat_minor"], -line["total_minor"]) for line in original] == \
           [(line["description"], line["quantity"], line["unit_price_minor"], line["vat_rate_bp"],
             line["net_minor"], line["vat_minor"], line["total_minor"]) for line in mirrored]

    cancelled = await billing.get_invoice(invoice["id"])  # still there: never a delete
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert await InvoiceLine.count().where(InvoiceLine.invoice == invoice["id"]) == 3
    assert [e["action"] for e in await timeline("invoice", invoice["id"])] == ["invoice_cancelled", "invoice_issued"]
    cn_events = await timeline("invoice", credit_note["id"])
    assert [e["action"] for e in cn_events] == ["credit_note_issued"]
    assert cn_events[0]["after"]["credits"] == invoice["code"] and cn_events[0]["after"]["reason"] == "Client ordered twice"


@given(st.lists(st.tuples(st.integers(1, 100_000), st.integers(1, 10_000_000), st.sampled_from([0, 500, 900, 1900, 2000, 2700])),
                min_size=1, max_size=8))
def test_credit_note_lines_always_sum_to_minus_the_invoice(raw):
    lines = [Line("x", q, p, v) for q, p, v in raw]
    totals = rules.totals(lines)
    stored = [{"position": i, "description": line.description, "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
               "vat_rate_bp": line.vat_rate_bp, "net_minor": line.net_minor, "vat_minor": line.vat_minor, "total_minor": line.total_minor}
              for i, line in enumerate(lines, 1)]
    mirrored = rules.credit_note_lines(stored)
    assert sum(line["total_minor"] for line in mirrored) == -totals.total_minor
    assert sum(line["vat_minor"] for line in mirrored) == -totals.vat_minor
    assert all(m["net_minor"] == m["quantity"] * m["unit_price_minor"] for m in mirrored)


async def test_cancel_from_the_invoice_page_links_invoice_and_credit_note(client):
    company = await make_client()
    invoice = await issue(company)
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    response = await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": "Wrong client"})
    assert response.status_code == 303 and response.headers["location"] == f"/staff/invoices/{invoice['id']}"
    credit_note = await Invoice.select().where(Invoice.credits_invoice == invoice["id"]).first()
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert f"credit note {credit_note['code']} issued" in page  # the flash
    assert f'href="/staff/invoices/{credit_note["id"]}"' in page and "Cancelled" in page
    assert "Invoice cancelled" in page  # the history
    cn_page = (await client.get(f"/staff/invoices/{credit_note['id']}")).text
    assert f'href="/staff/invoices/{invoice["id"]}"' in cn_page and "Wrong client" in cn_page
    assert "Record a payment" not in cn_page and "Record a payment" not in page


async def test_cancelling_a_paid_invoice_is_refused_with_the_reason(client):
    company = await make_client()
    invoice = await issue(company)
    await pay(invoice, 5000)
    await login(client, await make_staff(Role.SALES_MANAGER))
    response = await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": "Client changed its mind"})
    assert response.status_code == 400
    assert "This invoice has payments. Reverse them first, then cancel the invoice." in response.text
    assert 'value="Client changed its mind"' in response.text  # what was typed is kept
    assert (await billing.get_invoice(invoice["id"]))["status"] == "issued"
    assert await Invoice.count().where(Invoice.kind == "credit_note") == 0


async def test_cancelling_needs_a_reason_and_happens_once(client):
    company = await make_client()
    invoice = await issue(company)
    await login(client, await make_staff(Role.ADMIN))
    missing = await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": ""})
    assert missing.status_code == 400 and "Say why the invoice is cancelled." in missing.text
    assert (await billing.get_invoice(invoice["id"]))["status"] == "issued"
    assert (await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": "Duplicate"})).status_code == 303
    again = await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": "Duplicate"})
    assert again.status_code == 400 and "already cancelled" in again.text
    assert await Invoice.count().where(Invoice.kind == "credit_note") == 1
    credit_note = await Invoice.select().where(Invoice.kind == "credit_note").first()
    with pytest.raises(billing.BillingError, match="A credit note cannot be cancelled"):
        await settlement.cancel_invoice(credit_note["id"], "No", SYSTEM)
    assert (await post(client, "/staff/invoices/999999/cancel", {"reason": "x"})).status_code == 404


async def test_a_cancelled_invoice_cannot_be_paid_and_owes_nothing(client):
    company = await make_client()
    invoice = await issue(company)
    await settlement.cancel_invoice(invoice["id"], "Duplicate", SYSTEM)
    with pytest.raises(billing.BillingError, match="cancelled invoice cannot be paid"):
        await pay(invoice, 100)
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    listed = (await client.get("/staff/invoices?status=all")).text
    totals = listed[listed.index('id="invoice-totals"'):]
    assert ">2<" in totals and "RON0.00" in totals  # the invoice and its credit note net to zero, nothing owed


async def test_after_its_payment_is_reversed_the_invoice_can_be_cancelled(db):
    company = await make_client()
    invoice = await issue(company)
    recorded = await pay(invoice)
    with pytest.raises(billing.BillingError):
        await settlement.cancel_invoice(invoice["id"], "Wrong client", SYSTEM)
    await settlement.reverse_payment(recorded.payment_id, "Booked on the wrong client", SYSTEM)
    credit_note = await settlement.cancel_invoice(invoice["id"], "Wrong client", SYSTEM)
    assert credit_note["total_minor"] == -invoice["total_minor"]
    assert (await billing.get_invoice(invoice["id"]))["status"] == "cancelled"


async def test_a_cancel_racing_a_payment_lets_exactly_one_win(db):
    """Both take the invoice's row (PostgreSQL: FOR UPDATE; SQLite: the write lock): never a paid, cancelled invoice."""
    company = await make_client()
    for _ in range(5):
        invoice = await issue(company)
        async with portal_db.pool(db, 4):
            outcomes = await asyncio.gather(
                settlement.cancel_invoice(invoice["id"], "Race", SYSTEM), pay(invoice), return_exceptions=True,
            )
        failures = [o for o in outcomes if isinstance(o, Exception)]
        assert len(failures) == 1 and isinstance(failures[0], billing.BillingError), outcomes
        row = await billing.get_invoice(invoice["id"])
        allocations = await PaymentAllocation.count().where(PaymentAllocation.invoice == invoice["id"])
        credit_notes = await Invoice.count().where(Invoice.credits_invoice == invoice["id"])
        assert (row["status"], allocations, credit_notes) in (("cancelled", 0, 1), ("paid", 1, 0))
