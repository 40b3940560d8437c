"""Manual payments (bank transfer, cash): on an invoice, split over several invoices of a client, and
reversed by a counter-entry. All of them through billing.record_payment / reverse_payment."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from portal import db as portal_db, settlement
from portal.audit.service import timeline
from portal.auth.roles import Role
from portal.billing import service as billing
from portal.billing.tables import Invoice, Payment, PaymentAllocation
from portal.clock import utcnow
from portal.orders import service as orders
from tests.billing.staff_helpers import SYSTEM, issue, pay, today
from tests.factories import login, make_client, make_staff, post
from tests.orders.test_pipeline import approve_spec, make_order


async def as_controller(client) -> None:
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))


def payment_form(amount: str, **fields: str) -> dict:
    return {"amount": amount, "received_on": today().isoformat(), "method": "bank_transfer", "reference": "OP 981", **fields}


# --- one invoice --------------------------------------------------------------------------------

async def test_a_bank_transfer_recorded_on_the_invoice_page_lowers_the_balance_then_settles_it(client):
    invoice = await issue(await make_client())  # 119.00 RON
    await as_controller(client)
    response = await post(client, f"/staff/invoices/{invoice['id']}/payments", payment_form("100"))
    assert response.status_code == 303 and response.headers["location"] == f"/staff/invoices/{invoice['id']}"
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (10000, "issued")
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert "Payment of RON100.00 recorded." in page and "RON19.00" in page and "OP 981" in page

    await post(client, f"/staff/invoices/{invoice['id']}/payments", payment_form("19,00", method="cash", reference="Receipt 12"))
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (11900, "paid")
    assert await Payment.count() == 2
    events = await timeline("invoice", invoice["id"])
    assert [e["action"] for e in events] == ["escalation_changed", "payment_recorded", "payment_recorded", "invoice_issued"]
    assert (events[0]["before"], events[0]["after"]) == ({"state": "running"}, {"event": "payment_full", "state": "settled"})


async def test_bad_payment_input_is_explained_beside_each_field_and_nothing_is_saved(client):
    invoice = await issue(await make_client())
    await as_controller(client)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = await post(client, f"/staff/invoices/{invoice['id']}/payments",
                          {"amount": "12x", "received_on": tomorrow, "method": "card", "reference": "Ref kept"})
    assert response.status_code == 400
    text = response.text
    assert 'id="pay-amount-error"' in text and "Enter an amount such as 1,250.50." in text
    assert 'id="pay-received_on-error"' in text and "A payment cannot be received in the future." in text
    assert "Choose how the money came: bank transfer or cash." in text
    assert 'value="12x"' in text and 'value="Ref kept"' in text and f'value="{dt.date.fromisoformat(tomorrow):%d/%m/%Y}"' in text
    too_much = await post(client, f"/staff/invoices/{invoice['id']}/payments", payment_form("119.01"))
    assert too_much.status_code == 400 and "The amount is more than the balance (RON119.00)." in too_much.text
    assert await Payment.count() == 0 and (await billing.get_invoice(invoice["id"]))["paid_minor"] == 0


# --- one payment, several invoices --------------------------------------------------------------

async def test_a_split_payment_settles_two_invoices_in_one_payment(client):
    company = await make_client("Carpatia Retail SRL")
    first = await issue(company, due_in=-10)  # 119.00
    second = await issue(company, unit_minor=20000)  # 238.00
    untouched = await issue(company)
    other_client = await issue(await make_client("Someone Else SRL"))
    await as_controller(client)

    form_page = await client.get(f"/staff/clients/{company}/payments/new")
    assert form_page.status_code == 200
    for invoice in (first, second, untouched):
        assert invoice["code"] in form_page.text
    assert other_client["code"] not in form_page.text

    response = await post(client, f"/staff/clients/{company}/payments", {
        f"amount-{first['id']}": "119", f"amount-{second['id']}": "100.50", f"amount-{untouched['id']}": "",
        "received_on": today().isoformat(), "method": "bank_transfer", "reference": "OP 5521",
    })
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/invoices?status=all&client={company}"
    payment = await Payment.select().first()
    assert await Payment.count() == 1 and payment["amount_minor"] == 11900 + 10050 and payment["reference"] == "OP 5521"
    allocations = await PaymentAllocation.select(PaymentAllocation.invoice, PaymentAllocation.amount_minor).order_by(PaymentAllocation.invoice)
    assert [(a["invoice"], a["amount_minor"]) for a in allocations] == [(first["id"], 11900), (second["id"], 10050)]
    rows = {r["id"]: r for r in await Invoice.select().where(Invoice.client == company)}
    assert (rows[first["id"]]["status"], rows[first["id"]]["paid_minor"]) == ("paid", 11900)
    assert (rows[second["id"]]["status"], rows[second["id"]]["paid_minor"]) == ("issued", 10050)
    assert (rows[untouched["id"]]["status"], rows[untouched["id"]]["paid_minor"]) == ("issued", 0)

    listed = (await client.get(response.headers["location"])).text
    assert "Payment of RON219.50 recorded over 2 invoices." in listed
    second_row = listed[listed.index(f'data-invoice="{second["code"]}"'):].split("</tr>")[0]
    assert "RON137.50" in second_row  # its balance: 238.00 - 100.50
    first_page = (await client.get(f"/staff/invoices/{first['id']}")).text
    assert "OP 5521" in first_page and "Paid in full" in first_page


async def test_a_wrong_split_payment_keeps_what_was_typed_and_saves_nothing(client):
    company = await make_client()
    first = await issue(company)
    second = await issue(company)
    euro = await issue(company, currency="EUR")
    await as_controller(client)
    url = f"/staff/clients/{company}/payments"
    base = {"received_on": today().isoformat(), "method": "cash", "reference": "Till 3"}

    nothing = await post(client, url, base)
    assert nothing.status_code == 400 and "Enter an amount for at least one invoice." in nothing.text

    over = await post(client, url, {**base, f"amount-{first['id']}": "50", f"amount-{second['id']}": "500"})
    assert over.status_code == 400
    assert f'id="amount-{second["id"]}-error"' in over.text and "The amount is more than the balance (RON119.00)." in over.text
    assert 'value="500"' in over.text and 'value="50"' in over.text and 'value="Till 3"' in over.text

    mixed = await post(client, url, {**base, f"amount-{first['id']}": "50", f"amount-{euro['id']}": "10"})
    assert mixed.status_code == 400 and "One payment is in one currency" in mixed.text

    # an invoice of another client is not on this client's form: naming it changes nothing
    stranger = await issue(await make_client())
    foreign = await post(client, url, {**base, f"amount-{stranger['id']}": "10"})
    assert foreign.status_code == 400
    assert await Payment.count() == 0 and await PaymentAllocation.count() == 0
    assert (await post(client, "/staff/clients/999999/payments", base)).status_code == 404
    assert (await client.get("/staff/clients/999999/payments/new")).status_code == 404


async def test_a_client_with_nothing_owed_has_nothing_to_split(client):
    company = await make_client("Quiet Payer SRL")
    await pay(await issue(company))
    await as_controller(client)
    page = await client.get(f"/staff/clients/{company}/payments/new")
    assert page.status_code == 200 and "Quiet Payer SRL has no open invoice." in page.text


# --- reversal -------------------------------------------------------------------------------------

async def test_reversing_a_payment_writes_a_counter_entry_and_restores_the_balance(client):
    company = await make_client()
    invoice = await issue(company)
    recorded = await pay(invoice, reference="OP 77")
    await as_controller(client)
    url = f"/staff/invoices/{invoice['id']}/payments/{recorded.payment_id}/reverse"

    no_reason = await post(client, url, {"reason": ""})
    assert no_reason.status_code == 400 and "Say why the payment is reversed." in no_reason.text
    assert await Payment.count() == 1

    response = await post(client, url, {"reason": "Booked on the wrong client"})
    assert response.status_code == 303
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (0, "issued")
    original = await Payment.select().where(Payment.id == recorded.payment_id).first()
    assert original["amount_minor"] == 11900 and original["reference"] == "OP 77"  # never edited
    counter = await Payment.select().where(Payment.reverses == recorded.payment_id).first()
    assert counter["amount_minor"] == -11900 and counter["reference"] == "Booked on the wrong client"
    assert [a["amount_minor"] for a in await PaymentAllocation.select().where(PaymentAllocation.payment == counter["id"])] == [-11900]
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    payments = page[page.index('id="payments"'):page.index('id="timeline"')]
    assert "<del>OP 77</del>" in payments and "Reversed" in payments and "Reversal" in payments
    assert "−RON119.00" in payments or "-RON119.00" in payments
    assert "Payment reversed" in page[page.index('id="timeline"'):]

    again = await post(client, url, {"reason": "Twice"})
    assert again.status_code == 400 and "already been reversed" in again.text
    with pytest.raises(billing.BillingError, match="cannot itself be reversed"):
        await settlement.reverse_payment(counter["id"], "No", SYSTEM)
    assert await Payment.count() == 2
    # the payment must be on this invoice
    other = await issue(company)
    assert (await post(client, f"/staff/invoices/{other['id']}/payments/{recorded.payment_id}/reverse", {"reason": "x"})).status_code == 404


async def test_reversing_a_split_payment_restores_every_invoice_it_settled(db):
    company = await make_client()
    first, second = await issue(company), await issue(company)
    recorded = await settlement.record_payment(
        client_id=company, currency="RON", allocations=[(first["id"], 11900), (second["id"], 5000)], method="bank_transfer",
        received_on=today(), reference="OP 1", actor=SYSTEM,
    )
    await settlement.reverse_payment(recorded.payment_id, "Wrong amount", SYSTEM)
    for invoice in (first, second):
        row = await billing.get_invoice(invoice["id"])
        assert (row["paid_minor"], row["status"]) == (0, "issued")
    again = await settlement.record_payment(client_id=company, currency="RON", allocations=[(first["id"], 11900)],
                                         method="cash", received_on=today(), reference="", actor=SYSTEM)
    assert again.payment_id  # the balance is payable again


async def test_reversal_restores_the_gate_but_an_order_in_production_stays_there(client):
    in_production = await make_order("spec_approved")
    await approve_spec(in_production["id"])
    invoice = await billing.get_invoice((await orders.invoice_of(in_production["id"]))["id"])
    recorded = await pay(invoice)
    assert (await orders.get_order(in_production["id"]))["stage"] == "in_production"

    waiting = await make_order("spec_sent")  # paid before the client approved the spec
    waiting_invoice = await billing.get_invoice((await orders.invoice_of(waiting["id"]))["id"])
    waiting_payment = await pay(waiting_invoice)
    await as_controller(client)
    board = (await client.get("/staff/orders")).text
    assert "Waits for the client's approval (already paid)" in board

    for inv, rec in ((invoice, recorded), (waiting_invoice, waiting_payment)):
        response = await post(client, f"/staff/invoices/{inv['id']}/payments/{rec.payment_id}/reverse", {"reason": "Bounced"})
        assert response.status_code == 303

    assert (await orders.get_order(in_production["id"]))["stage"] == "in_production"  # never moved back
    order_page = (await client.get(f"/staff/orders/{in_production['id']}")).text
    assert '<li class="wait">○ The invoice is paid 100%</li>' in order_page
    assert "Payment reversed" in order_page  # the order's history shows its invoice's events
    board = (await client.get("/staff/orders")).text
    card = board[board.index(f'id="card-{waiting["id"]}"'):].split("</article>")[0]
    assert "already paid" not in card and "Waits for the client's approval" in card
    assert (await orders.gate_facts([waiting]))[waiting["id"]].paid_in_full is False


async def test_a_card_payment_is_not_reversed_by_hand(client):
    invoice = await issue(await make_client())
    recorded = await pay(invoice, method="card", reference="pi_123")
    await as_controller(client)
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert f'/payments/{recorded.payment_id}/reverse"' not in page
    refused = await post(client, f"/staff/invoices/{invoice['id']}/payments/{recorded.payment_id}/reverse", {"reason": "Refund"})
    assert refused.status_code == 400 and "refunding it in Stripe" in refused.text
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"


async def test_two_reversals_of_one_payment_at_the_same_moment_count_once(db):
    company = await make_client()
    invoice = await issue(company)
    recorded = await pay(invoice)
    async with portal_db.pool(db, 4):
        outcomes = await asyncio.gather(
            *(settlement.reverse_payment(recorded.payment_id, f"Try {n}", SYSTEM) for n in range(4)), return_exceptions=True,
        )
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, billing.BillingError) for o in outcomes if not isinstance(o, int))
    assert await Payment.count().where(Payment.reverses == recorded.payment_id) == 1
    row = await billing.get_invoice(invoice["id"])
    assert (row["paid_minor"], row["status"]) == (0, "issued")


async def test_record_payment_refuses_an_invoice_named_twice(db):
    invoice = await issue(await make_client())
    with pytest.raises(billing.BillingError, match="once"):
        await settlement.record_payment(client_id=invoice["client"], currency="RON", allocations=[(invoice["id"], 11900), (invoice["id"], 11900)],
                                     method="cash", received_on=today(), reference="", actor=SYSTEM)
    assert (await billing.get_invoice(invoice["id"]))["paid_minor"] == 0


async def test_money_held_as_credit_is_reversed_with_an_event_on_the_payment(db):
    """A payment with no allocation (an overpayment credit) reverses without touching any invoice."""
    company = await make_client()
    credit = Payment(client=company, currency="RON", amount_minor=700, method="bank_transfer", received_on=today(), created_at=utcnow())
    await credit.save()
    counter_id = await settlement.reverse_payment(credit.id, "Returned to the client", SYSTEM)
    counter = await Payment.select().where(Payment.id == counter_id).first()
    assert (counter["amount_minor"], counter["reverses"]) == (-700, credit.id)
    assert [e["action"] for e in await timeline("payment", credit.id)] == ["payment_reversed"]
