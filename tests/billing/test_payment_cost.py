"""What one card payment costs the database, held to a ceiling: the Stripe webhook for an overdue
invoice whose payment lifts the client's credit hold and lets a paid order enter production.
Everything a payment touches happens (the ladder stops, the sanction lifts, the gate opens, the
client is told); the statements and row locks it takes are counted and may not grow."""

from __future__ import annotations

import datetime as dt

from portal import db as portal_db
from portal.audit.service import Actor
from portal.billing.stripe import checkout as stripe_checkout
from portal.billing.tables import Invoice, Payment
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.dunning.sanctions import service as sanctions
from portal.orders.tables import Order, TechnicalSpec
from tests.billing.stripe_standin import (
    Payment as StripePayment,
    deliver,
    make_invoice,
)
from tests.factories import make_client, make_contact

# Measured on the settlement path (see the closing note of issue 14); a change that adds a query or a lock fails here.
MAX_QUERIES = {"sqlite": 51, "postgres": 51}  # before the settlement: 60 statements and 4 row locks (the invoice twice)
MAX_ROW_LOCKS = 3  # the checkout attempt, the invoice (once), the client whose hold is lifted


async def test_one_card_payment_settles_everything_within_its_query_budget(http, stripe_settings, database_url):
    client_id = await make_client("Card Payer SRL", segment="B")
    await make_contact(client_id)
    now = utcnow()
    order = Order(number="ORD-COST-1", client=client_id, product="Cards", quantity=1, stage="awaiting_prepayment",
                  stage_changed_at=now, created_at=now)
    await order.save()
    await TechnicalSpec(order=order.id, version=1, status="approved", created_at=now, sent_at=now, decided_at=now).save()
    prepaid = await make_invoice(client_id, 50_000, order_id=order.id)
    await Invoice.update({Invoice.paid_minor: 50_000, Invoice.status: "paid", Invoice.settled_on: now.date()}).where(Invoice.id == prepaid["id"])
    debt = await make_invoice(client_id, 119_000)
    await Invoice.update({Invoice.due_date: now.date() - dt.timedelta(days=9)}).where(Invoice.id == debt["id"])
    await sanctions.apply_sanction(client_id, "credit_hold", Actor.system())
    assert (await Client.select(Client.on_credit_hold).where(Client.id == client_id).first())["on_credit_hold"]

    started = await stripe_checkout.start_checkout(debt["id"], client_id, "balance", stripe_settings, Actor.system())
    payment = StripePayment(debt["id"], client_id, started.attempt, started.session_id, started.amount_minor)
    with portal_db.counting_queries() as cost:
        response = await deliver(http, payment.completed("paid"))
    assert response.status_code == 200, response.text

    settled = await Invoice.select(Invoice.status, Invoice.settled_on).where(Invoice.id == debt["id"]).first()
    assert settled["status"] == "paid"
    # settled on its payment's day, read by a subquery of the invoice's UPDATE: no statement added to the budget
    assert settled["settled_on"] == (await Payment.select(Payment.received_on).where(Payment.amount_minor > 0).first())["received_on"]
    assert not (await Client.select(Client.on_credit_hold).where(Client.id == client_id).first())["on_credit_hold"]
    assert (await Order.select(Order.stage).where(Order.id == order.id).first())["stage"] == "in_production"
    engine = "postgres" if database_url.startswith("postgres") else "sqlite"
    print(f"one card payment on {engine}: {cost.queries} statements, {cost.row_locks} row locks")
    assert cost.queries <= MAX_QUERIES[engine], f"{cost.queries} statements (ceiling {MAX_QUERIES[engine]})"
    assert cost.row_locks <= MAX_ROW_LOCKS, f"{cost.row_locks} row locks (ceiling {MAX_ROW_LOCKS})"
