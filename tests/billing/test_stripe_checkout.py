"""Pay online: the real `stripe` SDK creates Checkout Sessions against a local stand-in of Stripe's
API (tests/billing/stripe_standin.py), which records what the SDK sent."""

from __future__ import annotations

import asyncio
import html

from portal import settlement
from portal.billing.stripe.tables import CheckoutAttempt
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.orders.tables import Order, TechnicalSpec
from tests.billing.stripe_standin import (
    BASE_URL,
    SECRET_KEY,
    Payment,
    deliver,
    make_invoice,
)
from tests.factories import login, make_client, make_client_user, post


async def buyer_with_invoice(http, total: int = 119_000, **kw) -> tuple[dict, dict]:
    client_id = await make_client()
    invoice = await make_invoice(client_id, total, **kw)
    buyer = await make_client_user(client_id)
    await login(http, buyer)
    return buyer, invoice


async def attempts_of(invoice_id: int) -> list[dict]:
    return await CheckoutAttempt.select().where(CheckoutAttempt.invoice == invoice_id).order_by(CheckoutAttempt.attempt)


async def test_pay_sends_the_client_to_a_checkout_session_for_the_balance(http, standin):
    _, invoice = await buyer_with_invoice(http, 119_000)
    response = await post(http, f"/client/invoices/{invoice['id']}/pay", {"amount_choice": "balance"})

    assert response.status_code == 303
    [sent] = standin.session_posts()
    session = standin.sessions[next(iter(standin.sessions))]
    assert response.headers["location"] == session["url"] and session["url"].startswith(standin.url + "/checkout/pay/")
    form = sent.form
    assert form["mode"] == "payment"
    line = form["line_items"]["0"]
    assert line["quantity"] == "1"
    assert line["price_data"] == {"currency": "ron", "unit_amount": "119000", "product_data": {"name": invoice["code"]}}
    assert form["client_reference_id"] == str(invoice["id"])
    metadata = {"invoice_id": str(invoice["id"]), "client_id": str(invoice["client"]), "attempt": "1"}
    assert form["metadata"] == metadata
    assert form["payment_intent_data"]["metadata"] == metadata
    assert form["success_url"] == f"{BASE_URL}/client/invoices/{invoice['id']}/paid?session_id={{CHECKOUT_SESSION_ID}}"
    assert form["cancel_url"] == f"{BASE_URL}/client/invoices/{invoice['id']}"
    assert sent.idempotency_key == f"portal-invoice-{invoice['id']}-attempt-1"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"

    [attempt] = await attempts_of(invoice["id"])
    assert (attempt["status"], attempt["session_id"], attempt["amount_minor"], attempt["currency"]) == ("open", session["id"], 119_000, "RON")
    # nothing is counted before Stripe confirms
    assert (await Invoice.select(Invoice.paid_minor).where(Invoice.id == invoice["id"]).first())["paid_minor"] == 0


async def test_a_double_click_reuses_the_session(http, standin):
    _, invoice = await buyer_with_invoice(http)
    first = await post(http, f"/client/invoices/{invoice['id']}/pay")
    second = await post(http, f"/client/invoices/{invoice['id']}/pay")
    assert first.headers["location"] == second.headers["location"]
    assert len(standin.session_posts()) == 1 and len(standin.sessions) == 1
    assert len(await attempts_of(invoice["id"])) == 1


async def test_two_clicks_at_the_same_moment_make_one_session(http, standin):
    _, invoice = await buyer_with_invoice(http)
    standin.delay = 0.3  # both requests reach "Stripe" before either has its answer
    token = http.cookies["portal_csrf"]
    responses = await asyncio.gather(*[
        http.post(f"/client/invoices/{invoice['id']}/pay", data={"_csrf_token": token}) for _ in range(2)
    ])
    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0].headers["location"] == responses[1].headers["location"]
    assert len(standin.sessions) == 1  # the same idempotency key: Stripe answered with the same session
    assert {r.idempotency_key for r in standin.session_posts()} == {f"portal-invoice-{invoice['id']}-attempt-1"}
    assert len(await attempts_of(invoice["id"])) == 1


async def test_a_new_balance_makes_a_new_attempt_with_its_own_key(http, standin):
    from portal.audit.service import Actor

    _, invoice = await buyer_with_invoice(http, 119_000)
    await post(http, f"/client/invoices/{invoice['id']}/pay")
    await settlement.record_payment(client_id=invoice["client"], currency="RON", allocations=[(invoice["id"], 19_000)],
                                 method="bank_transfer", received_on=utcnow().date(), reference="OP 7", actor=Actor.system())
    again = await post(http, f"/client/invoices/{invoice['id']}/pay")
    assert again.status_code == 303
    first, second = standin.session_posts()
    assert second.form["line_items"]["0"]["price_data"]["unit_amount"] == "100000"
    assert second.form["metadata"]["attempt"] == "2"
    assert second.idempotency_key == f"portal-invoice-{invoice['id']}-attempt-2" != first.idempotency_key
    assert [a["amount_minor"] for a in await attempts_of(invoice["id"])] == [119_000, 100_000]


async def test_a_paid_invoice_or_an_unknown_choice_does_not_call_stripe(http, standin):
    from portal.audit.service import Actor

    _, invoice = await buyer_with_invoice(http, 50_000)
    wrong = await post(http, f"/client/invoices/{invoice['id']}/pay", {"amount_choice": "installment"})
    assert wrong.status_code == 303 and wrong.headers["location"] == f"/client/invoices/{invoice['id']}"
    await settlement.record_payment(client_id=invoice["client"], currency="RON", allocations=[(invoice["id"], 50_000)],
                                 method="cash", received_on=utcnow().date(), reference="cash", actor=Actor.system())
    paid = await post(http, f"/client/invoices/{invoice['id']}/pay")
    assert paid.status_code == 303 and paid.headers["location"] == f"/client/invoices/{invoice['id']}"
    assert standin.session_posts() == []
    page = await http.get(f"/client/invoices/{invoice['id']}")
    assert "This invoice is already paid." in html.unescape(page.text)


async def test_another_clients_invoice_is_a_404_and_stripe_is_not_called(http, standin):
    other = await make_invoice(await make_client("Other Company SRL"))
    await buyer_with_invoice(http)
    response = await post(http, f"/client/invoices/{other['id']}/pay")
    assert response.status_code == 404 and "We could not find that page." in response.text
    assert (await http.get(f"/client/invoices/{other['id']}/paid?session_id=cs_test_x")).status_code == 404
    assert standin.session_posts() == []


async def test_stripe_refusing_leaves_the_client_on_the_invoice_and_the_next_click_starts_afresh(http, standin):
    _, invoice = await buyer_with_invoice(http)
    standin.fail_with = (400, {"error": {"type": "invalid_request_error", "message": "Amount must convert to at least 50 cents."}})
    refused = await post(http, f"/client/invoices/{invoice['id']}/pay")
    assert refused.status_code == 303 and refused.headers["location"] == f"/client/invoices/{invoice['id']}"
    assert [a["status"] for a in await attempts_of(invoice["id"])] == ["failed"]
    standin.fail_with = None
    retried = await post(http, f"/client/invoices/{invoice['id']}/pay")
    assert retried.status_code == 303 and retried.headers["location"].startswith(standin.url)
    assert standin.session_posts()[-1].idempotency_key == f"portal-invoice-{invoice['id']}-attempt-2"


async def test_stripe_unreachable_keeps_the_attempt_for_a_retry_with_the_same_key(http, standin, stripe_settings):
    import dataclasses

    from portal.audit.service import Actor
    from portal.billing.stripe import checkout as stripe_checkout

    client_id = await make_client()
    invoice = await make_invoice(client_id)
    dead = dataclasses.replace(stripe_settings, stripe_api_base="http://127.0.0.1:9")  # nothing listens on port 9
    try:
        await stripe_checkout.start_checkout(invoice["id"], client_id, "balance", dead, Actor.system())
        raise AssertionError("expected CheckoutUnavailable")
    except stripe_checkout.CheckoutUnavailable:
        pass
    [attempt] = await attempts_of(invoice["id"])
    assert attempt["status"] == "open" and attempt["session_id"] is None
    checkout = await stripe_checkout.start_checkout(invoice["id"], client_id, "balance", stripe_settings, Actor.system())
    assert checkout.attempt == 1 and standin.session_posts()[-1].idempotency_key == attempt["idempotency_key"]


# --- the pages ----------------------------------------------------------------------------------

async def test_the_invoice_page_shows_the_pay_button_with_the_amount(http):
    _, invoice = await buyer_with_invoice(http, 119_000)
    page = await http.get(f"/client/invoices/{invoice['id']}")
    assert page.status_code == 200
    assert f'action="/client/invoices/{invoice["id"]}/pay"' in page.text
    assert 'name="_csrf_token"' in page.text.split(f'action="/client/invoices/{invoice["id"]}/pay"')[1][:400]
    assert "Pay RON" in html.unescape(page.text) and "1,190.00" in html.unescape(page.text)


async def test_without_stripe_keys_there_is_no_pay_button_but_bank_transfer(client, settings):
    """The default test settings have no Stripe keys."""
    client_id = await make_client()
    invoice = await make_invoice(client_id)
    await login(client, await make_client_user(client_id))
    page = await client.get(f"/client/invoices/{invoice['id']}")
    assert page.status_code == 200
    assert '/pay"' not in page.text and "bank transfer" in page.text
    response = await post(client, f"/client/invoices/{invoice['id']}/pay")
    assert response.status_code == 303 and response.headers["location"] == f"/client/invoices/{invoice['id']}"


async def test_the_pay_partial_renders_alone(stripe_app):
    """billing/_pay_online.html on its own: the button only with Stripe and a balance; else bank details."""
    from types import SimpleNamespace

    env = stripe_app.template_engine.engine
    template = env.get_template("billing/_pay_online.html")
    request = SimpleNamespace(app=stripe_app)
    base = {"id": 7, "code": "INV-2026-00007", "currency": "EUR", "status": "issued", "kind": "invoice", "total_minor": 5000}
    shown = template.render(request=request, csrf_input="<input name=_csrf_token>", stripe_enabled=True, invoice={**base, "paid_minor": 1000})
    assert 'action="/client/invoices/7/pay"' in shown and "40.00" in shown
    assert template.render(request=request, csrf_input="", stripe_enabled=True, invoice={**base, "paid_minor": 5000}).strip() == ""
    bank = template.render(request=request, csrf_input="", stripe_enabled=False, invoice={**base, "paid_minor": 0})
    assert "/pay" not in bank and "bank transfer" in bank and "IBAN RO49" in bank


async def test_the_return_page_says_processing_until_the_webhook_then_received(http, standin):
    client_id = await make_client()
    order = Order(number=f"ORD-STRIPE-{client_id}", client=client_id, product="Folding boxes", quantity=100,
                  stage="spec_approved", stage_changed_at=utcnow(), created_at=utcnow())
    await order.save()
    await TechnicalSpec(order=order.id, version=1, status="approved", created_at=utcnow()).save()
    invoice = await make_invoice(client_id, 119_000, order_id=order.id)
    await login(http, await make_client_user(client_id))

    pay = await post(http, f"/client/invoices/{invoice['id']}/pay")
    session_id = pay.headers["location"].rsplit("/", 1)[1]
    paid_url = f"/client/invoices/{invoice['id']}/paid?session_id={session_id}"
    waiting = await http.get(paid_url)
    assert waiting.status_code == 200
    assert 'data-state="processing"' in waiting.text and "Payment received" not in waiting.text
    assert 'hx-trigger="every 3s"' in waiting.text
    fragment = await http.get(paid_url, headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<div id="pay-status"') and "<html" not in fragment.text

    stripe_payment = Payment(invoice["id"], client_id, 1, session_id, 119_000)
    assert (await deliver(http, stripe_payment.completed("paid"))).status_code == 200
    done = await http.get(paid_url)
    assert 'data-state="received"' in done.text and "Payment received." in done.text and "every 3s" not in done.text
    assert (await Order.select(Order.stage).where(Order.id == order.id).first())["stage"] == "in_production"
    row = await Invoice.select(Invoice.status, Invoice.paid_minor).where(Invoice.id == invoice["id"]).first()
    assert row == {"status": "paid", "paid_minor": 119_000}


async def test_the_return_page_without_a_session_is_honest(http):
    _, invoice = await buyer_with_invoice(http)
    page = await http.get(f"/client/invoices/{invoice['id']}/paid")
    assert page.status_code == 200 and 'data-state="unknown"' in page.text and "Payment received" not in page.text
    forged = await http.get(f"/client/invoices/{invoice['id']}/paid?session_id=cs_test_not_ours")
    assert 'data-state="processing"' in forged.text and "Payment received" not in forged.text
