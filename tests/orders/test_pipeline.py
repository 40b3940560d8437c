"""Intake with a same-day invoice, the board, moves, and the gate opened by a payment."""

import datetime as dt

from portal import settlement
from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.billing.tables import Invoice, InvoiceLine
from portal.clock import firm_today, utcnow
from portal.orders import service
from portal.orders.tables import Order, TechnicalSpec
from tests.factories import login, make_client, make_staff, post


async def register(client, client_id: int, **fields) -> dict:
    form = {"client_id": str(client_id), "product": "PVC loyalty cards, 0.76 mm, 4+4", "quantity": "5000",
            "unit_price": "0.50", "setup_fee": "150", "vat_rate": "19", "wanted_date": "", **fields}
    return await post(client, "/staff/orders/new", form)


async def test_intake_registers_the_order_and_issues_its_invoice_the_same_day(client):
    sales = await make_staff(Role.SALES_MANAGER)
    company = await make_client("Carpatia Retail SRL", currency="RON", payment_terms_days="14", discount="10")
    await login(client, sales)
    response = await register(client, company)
    assert response.status_code == 303
    order = await Order.select().first()
    assert response.headers["location"] == f"/staff/orders/{order['id']}"
    assert order["stage"] == "request" and order["number"].startswith(f"ORD-{utcnow().year}-")
    invoice = await Invoice.select().where(Invoice.order == order["id"]).first()
    today = firm_today()
    assert invoice["issue_date"] == today and invoice["due_date"] == today + dt.timedelta(days=14)
    assert invoice["code"] == f"INV-{today.year}-00001" and invoice["currency"] == "RON"
    # 5000 x (0.50 less 10 %) = 2250.00 + prepress 150.00 = 2400.00 net; 19 % VAT = 456.00
    assert (invoice["net_minor"], invoice["vat_minor"], invoice["total_minor"]) == (240000, 45600, 285600)
    assert await InvoiceLine.count().where(InvoiceLine.invoice == invoice["id"]) == 2
    board = await client.get("/staff/orders")
    assert order["number"] in board.text and "Carpatia Retail SRL" in board.text


async def test_intake_with_bad_input_keeps_what_was_typed_and_saves_nothing(client):
    sales = await make_staff(Role.SALES_MANAGER)
    company = await make_client()
    await login(client, sales)
    response = await register(client, company, quantity="lots", unit_price="abc", wanted_date="2001-01-01", product="Gift boxes")
    assert response.status_code == 400
    assert "Enter a whole quantity" in response.text and "Enter an amount" in response.text
    assert "cannot be in the past" in response.text
    assert 'value="Gift boxes"' in response.text and 'value="lots"' in response.text
    assert await Order.count() == 0 and await Invoice.count() == 0


async def test_only_sales_managers_register_requests(client):
    designer = await make_staff(Role.DESIGNER)
    company = await make_client()
    await login(client, designer)
    assert (await register(client, company)).status_code == 403
    assert await Order.count() == 0


async def make_order(stage: str = "request") -> dict:
    company = await make_client()
    order_id, checked = await service.create_order(
        {"client_id": str(company), "product": "Key cards", "quantity": "100", "unit_price": "2", "vat_rate": "0"},
        Actor.system(), firm_today(),
    )
    assert order_id, checked.errors
    await Order.update({Order.stage: stage}).where(Order.id == order_id)
    return await service.get_order(order_id)


async def approve_spec(order_id: int) -> None:
    now = utcnow()
    await TechnicalSpec(order=order_id, version=1, status="approved", created_at=now, sent_at=now, decided_at=now).save()


async def test_an_illegal_move_is_refused_with_the_reason(client):
    order = await make_order("spec_approved")
    await login(client, await make_staff(Role.SALES_MANAGER))
    response = await post(client, f"/staff/orders/{order['id']}/move", {"target": "in_production"}, headers={"hx-request": "true"})
    assert response.status_code == 200
    assert response.headers["hx-retarget"] == f"#card-{order['id']}"
    assert "Production waits for: spec approval, 100% prepayment" in response.text
    assert (await service.get_order(order["id"]))["stage"] == "spec_approved"


async def test_a_move_on_the_board_answers_the_two_changed_columns(client):
    order = await make_order("request")
    await login(client, await make_staff(Role.DESIGNER))
    response = await post(client, f"/staff/orders/{order['id']}/move", {"target": "layout"}, headers={"hx-request": "true"})
    assert response.status_code == 200
    assert response.text.count('hx-swap-oob="true"') == 2
    assert 'id="col-request"' in response.text and 'id="col-layout"' in response.text
    assert (await service.get_order(order["id"]))["stage"] == "layout"


async def test_admin_can_override_the_gate_with_a_recorded_reason(client):
    order = await make_order("awaiting_prepayment")
    await login(client, await make_staff(Role.ADMIN))
    refused = await post(client, f"/staff/orders/{order['id']}/move", {"target": "in_production"})
    assert (await service.get_order(order["id"]))["stage"] == "awaiting_prepayment"
    assert refused.status_code == 303
    await post(client, f"/staff/orders/{order['id']}/move", {"target": "in_production", "reason": "Key account; CFO agreed"})
    assert (await service.get_order(order["id"]))["stage"] == "in_production"
    events = await service.timeline(order["id"])
    assert events[0]["action"] == "production_gate_overridden" and events[0]["after"]["reason"] == "Key account; CFO agreed"


async def test_full_payment_after_approval_moves_the_order_into_production_by_itself(db):
    order = await make_order("spec_approved")
    await approve_spec(order["id"])
    invoice = await service.invoice_of(order["id"])
    half = invoice["total_minor"] // 2
    args = dict(client_id=order["client"], currency=invoice["currency"], method="bank_transfer",
                received_on=firm_today(), reference="OP 1", actor=Actor.system())
    await settlement.record_payment(allocations=[(invoice["id"], half)], **args)
    assert (await service.get_order(order["id"]))["stage"] == "spec_approved"  # half is not enough
    await settlement.record_payment(allocations=[(invoice["id"], invoice["total_minor"] - half)], **args)
    assert (await service.get_order(order["id"]))["stage"] == "in_production"


async def test_payment_before_approval_waits_for_the_approval(db):
    order = await make_order("spec_sent")
    invoice = await service.invoice_of(order["id"])
    await settlement.record_payment(client_id=order["client"], currency=invoice["currency"], allocations=[(invoice["id"], invoice["total_minor"])],
                                 method="cash", received_on=firm_today(), reference="", actor=Actor.system())
    assert (await service.get_order(order["id"]))["stage"] == "spec_sent"
    await approve_spec(order["id"])
    assert await service.refresh_gate(await service.get_order(order["id"]), Actor.system()) is not None
    assert (await service.get_order(order["id"]))["stage"] == "in_production"


async def test_board_puts_debt_free_clients_first(db):
    from tests.billing.staff_helpers import issue

    late = await make_order("layout")
    punctual = await make_order("layout")
    await issue(late["client"], due_in=-3)  # an overdue invoice of its own, not an order's prepayment
    columns = await service.board(now=utcnow())
    ids = [c.order["id"] for c in columns[service.Stage.LAYOUT]]
    assert ids == [punctual["id"], late["id"]]
    assert columns[service.Stage.LAYOUT][1].client_has_overdue_debt


async def test_an_orders_unpaid_prepayment_is_no_overdue_debt(db):
    waiting = await make_order("awaiting_prepayment")
    await Invoice.update({Invoice.due_date: firm_today() - dt.timedelta(days=3)}).where(Invoice.order == waiting["id"])
    columns = await service.board(now=utcnow())
    card = columns[service.Stage.AWAITING_PREPAYMENT][0]
    assert card.order["id"] == waiting["id"] and not card.client_has_overdue_debt
