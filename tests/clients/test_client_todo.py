"""The client's home says what it has to do, most urgent first, each item one click from where
it is done; never another company's. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import re

from portal.clients import todo
from portal.clock import firm_today
from portal.negotiation.tables import ScheduleStatus
from portal.orders.specs.rules import NextStep
from portal.orders.tables import Stage
from tests.billing.test_client_invoices import due_on, issue
from tests.factories import login, make_client, make_client_user
from tests.orders.test_client_orders import setup_sent
from tests.orders.test_specs import make_order

TODAY = dt.date(2026, 12, 3)


def _invoice(id_: int, due: dt.date, *, total: int = 10_000, paid: int = 0, code: str = "") -> dict:
    return {"id": id_, "code": code or f"INV-{id_}", "currency": "RON", "due_date": due, "total_minor": total, "paid_minor": paid}


def _order(id_: int, stage: Stage, step: NextStep, invoice: dict | None = None) -> dict:
    return {"id": id_, "number": f"ORD-{id_}", "stage": stage, "next_step": step, "invoice": invoice}


def test_the_list_puts_what_is_late_before_what_is_coming_and_leaves_out_what_is_far():
    overdue = _invoice(1, TODAY - dt.timedelta(days=12))
    soon = _invoice(2, TODAY + dt.timedelta(days=3))
    far = _invoice(3, TODAY + dt.timedelta(days=30))
    spec = _order(10, Stage.SPEC_SENT, NextStep("Review and approve the spec", "/client/orders/10#spec", True))
    idle = _order(11, Stage.LAYOUT, NextStep("Nothing for now: we will send you the spec to approve"))
    answer = {"id": 5, "status": ScheduleStatus.WITH_CLIENT, "currency": "RON", "next": None}
    running = {"id": 6, "status": ScheduleStatus.ACCEPTED, "currency": "RON",
               "next": {"due_date": TODAY, "due_now_minor": 2_500}}
    items = todo.client_todo(orders=[idle, spec], open_invoices=[overdue, soon, far], schedules=[running, answer], today=TODAY)
    assert [(i.kind, i.subject, i.link) for i in items] == [
        (todo.Kind.SPEC, "ORD-10", "/client/orders/10#spec"),
        (todo.Kind.OVERDUE, "INV-1", "/client/invoices/1"),
        (todo.Kind.INSTALLMENT_DUE, "6", "/client/schedules/6"),
        (todo.Kind.SCHEDULE_ANSWER, "5", "/client/schedules/5"),
        (todo.Kind.DUE_SOON, "INV-2", "/client/invoices/2"),
    ]
    assert items[1].days == 12 and items[1].amount_minor == 10_000 and items[4].days == 3
    assert [i.urgent for i in items] == [True, True, True, True, False]  # due soon is not late yet


def test_an_orders_prepayment_is_listed_once_with_what_is_left_to_pay():
    invoice = _invoice(7, TODAY + dt.timedelta(days=5), total=50_000, paid=20_000, code="INV-2026-00007")
    waiting = _order(12, Stage.AWAITING_PREPAYMENT, NextStep("Pay invoice %(invoice)s in full", "/client/invoices/7", True), invoice)
    items = todo.client_todo(orders=[waiting], open_invoices=[invoice], schedules=[], today=TODAY)
    assert [(i.kind, i.subject, i.amount_minor, i.invoice_code) for i in items] == [
        (todo.Kind.PREPAYMENT, "ORD-12", 30_000, "INV-2026-00007")]


def test_a_paid_installment_or_a_paid_invoice_asks_nothing():
    paid = _invoice(8, TODAY - dt.timedelta(days=2), total=10_000, paid=10_000)
    settled = {"id": 9, "status": ScheduleStatus.ACCEPTED, "currency": "RON", "next": {"due_date": TODAY, "due_now_minor": 0}}
    later = {"id": 10, "status": ScheduleStatus.ACCEPTED, "currency": "RON",
             "next": {"due_date": TODAY + dt.timedelta(days=todo.SOON_DAYS + 1), "due_now_minor": 100}}
    assert todo.client_todo(orders=[], open_invoices=[paid], schedules=[settled, later], today=TODAY) == []


def _todo_section(page: str) -> str:
    return html.unescape(page.split('id="to-do"', 1)[1].split("</section>", 1)[0])


async def test_the_home_lists_the_spec_the_overdue_and_the_due_invoice_each_with_its_link(client, settings):
    s = await setup_sent(settings)
    today = firm_today()
    late = await issue(s["client_id"], 120_000)
    await due_on(late, today - dt.timedelta(days=9))
    soon = await issue(s["client_id"], 30_000)
    await due_on(soon, today + dt.timedelta(days=2))
    other = await make_client("Someone Else SRL")
    await due_on(await issue(other, 99_000), today - dt.timedelta(days=40))
    await make_order(other, stage="spec_sent")

    await login(client, s["buyer"])
    section = _todo_section((await client.get("/client")).text)
    order = s["order"]
    assert f'href="/client/orders/{order["id"]}#spec">Review and approve the spec' in section
    assert f'href="/client/invoices/{late["id"]}"' in section and "overdue by 9 days" in section
    assert f'href="/client/invoices/{soon["id"]}"' in section and "due in 2 days" in section
    assert section.index(order["number"]) < section.index(late["code"]) < section.index(soon["code"])
    assert "Someone Else" not in section and "990.00" not in section and "99 000" not in section
    assert re.search(r'class="badge badge-danger">3<', section)


async def test_a_client_with_nothing_to_do_is_told_so(client):
    company = await make_client("Quiet Client SRL")
    await login(client, await make_client_user(company))
    assert "Nothing needs you at the moment." in _todo_section((await client.get("/client")).text)
