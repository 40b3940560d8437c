"""The staff dashboard: the logged-in person's callbacks due today (and overdue), and the four
sales factors for a period against the one before."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

from portal.auth.roles import Role
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.orders.tables import Order
from tests.factories import login, make_client, make_staff
from tests.tasks.helpers import callback, row, section, today

_seq = itertools.count(1)


async def make_order(client_id: int, stage: str) -> int:
    now = utcnow()
    order = Order(number=f"ORD-T-{next(_seq)}", client=client_id, product="Cards", quantity=100, stage=stage,
                  stage_changed_at=now, created_at=now)
    await order.save()
    return order.id


async def make_invoice(client_id: int, issued: dt.date, total: int, currency: str = "RON", *, stage: str | None = None,
                       kind: str = "invoice", status: str = "issued") -> int:
    n = next(_seq)
    invoice = Invoice(
        series="TST", year=issued.year, number=n, code=f"TST-{issued.year}-{n:05d}", client=client_id,
        order=await make_order(client_id, stage) if stage else None, kind=kind, currency=currency, issue_date=issued,
        due_date=issued + dt.timedelta(days=30), status=status, net_minor=total, vat_minor=0, total_minor=total,
        created_at=utcnow(),
    )
    await invoice.save()
    return invoice.id


def tile(page: str, name: str) -> str:
    """The text of a metric tile, tags dropped, spaces squeezed."""
    start = page.index(f'id="metric-{name}"')
    part = page[start:page.index("</div>", start)]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part.split(">", 1)[1])).split())


async def test_the_four_sales_factors_against_the_previous_period(client):
    alfa, beta, gamma = await make_client("Alfa SRL"), await make_client("Beta SRL"), await make_client("Gamma SRL")
    march = lambda day: dt.date(2025, 3, day)  # noqa: E731
    # March 1-30: 4 invoices from 2 clients; 3 with orders, 2 of those reached production
    await make_invoice(alfa, march(2), 100_000, stage="in_production")
    await make_invoice(alfa, march(5), 50_000, stage="spec_sent")
    await make_invoice(beta, march(9), 20_000, "EUR", stage="delivered")
    await make_invoice(beta, march(30), 30_001, "EUR")
    # not sales, or outside the period
    await make_invoice(gamma, march(10), 99_999, stage="closed", status="cancelled")
    await make_invoice(gamma, march(11), 5_000, kind="credit_note")
    await make_invoice(gamma, march(31), 77_777)
    # the 30 days before (January 30 - February 28): 2 invoices, 2 clients, 1 of 2 orders in production
    await make_invoice(alfa, dt.date(2025, 2, 28), 60_000, stage="closed")
    await make_invoice(gamma, dt.date(2025, 1, 30), 40_000, stage="request")
    await make_invoice(gamma, dt.date(2025, 1, 29), 1_000_000)  # the day before: not counted anywhere

    await login(client, await make_staff(Role.SALES_MANAGER))
    page = await client.get("/staff?from=2025-03-01&to=2025-03-30")
    assert page.status_code == 200
    text = page.text
    assert "1 Mar 2025 – 30 Mar 2025, compared with 30 Jan 2025 – 28 Feb 2025" in html.unescape(text)
    assert tile(text, "invoices").startswith("4 Invoices issued +100.0 % before: 2")
    assert tile(text, "conversion").startswith("66.7 % Conversion: 2 of 3 invoiced orders reached production +33.3 % before: 50.0 %")
    assert tile(text, "repeat").startswith("2.0 Invoices per client (2 clients) +100.0 % before: 1.0")
    average = tile(text, "average")
    assert "€250.01 — before: —" in average  # EUR: 50 001 / 2, half a cent up; nothing to compare with
    assert "RON750.00 +50.0 % before: RON500.00" in average  # RON: never added to EUR
    assert 'value="01/03/2025"' in text and 'value="30/03/2025"' in text  # the period form keeps the dates


async def test_a_fall_and_an_empty_period(client):
    alfa = await make_client("Alfa SRL")
    await make_invoice(alfa, dt.date(2025, 2, 20), 100_000, stage="closed")
    await make_invoice(alfa, dt.date(2025, 2, 21), 100_000, stage="closed")
    await make_invoice(alfa, dt.date(2025, 3, 3), 50_000, stage="layout")
    await login(client, await make_staff(Role.SALES_MANAGER))
    text = (await client.get("/staff?from=2025-03-01&to=2025-03-30")).text
    assert tile(text, "invoices").startswith("1 Invoices issued −50.0 %")
    assert tile(text, "conversion").startswith("0.0 % Conversion: 0 of 1 invoiced orders reached production −100.0 %")
    assert "RON500.00 −50.0 %" in tile(text, "average")

    empty = (await client.get("/staff?from=2024-03-01&to=2024-03-30")).text
    assert tile(empty, "invoices").startswith("0 Invoices issued — before: 0")
    assert tile(empty, "conversion").startswith("— Conversion: 0 of 0")
    assert tile(empty, "repeat").startswith("— Invoices per client")
    assert tile(empty, "average") == "Average invoice, per currency —"


async def test_the_default_period_is_the_last_30_days_and_a_bad_date_says_so(client):
    alfa = await make_client("Alfa SRL")
    await make_invoice(alfa, today(), 12_300)
    await make_invoice(alfa, today() - dt.timedelta(days=29), 100)
    await make_invoice(alfa, today() - dt.timedelta(days=30), 100)  # the previous period
    await login(client, await make_staff(Role.SALES_MANAGER))
    text = (await client.get("/staff")).text
    assert tile(text, "invoices").startswith("2 Invoices issued +100.0 % before: 1")
    assert f'value="{(today() - dt.timedelta(days=29)):%d/%m/%Y}"' in text and f'value="{today():%d/%m/%Y}"' in text

    bad = await client.get("/staff?from=2025-13-45&to=2025-03-30")
    assert bad.status_code == 200
    assert f"Enter a date such as {today():%d/%m/%Y}. Showing the last 30 days instead." in html.unescape(bad.text)
    assert 'value="2025-13-45"' in bad.text  # what was typed stays in the field
    assert tile(bad.text, "invoices").startswith("2 Invoices issued")


async def test_your_tasks_show_my_overdue_and_todays_callbacks_with_actions(client):
    me, colleague = await make_staff(Role.SALES_MANAGER), await make_staff(Role.SALES_MANAGER)
    company = await make_client("Tipo Print SRL")
    late = await callback(me["id"], client_id=company, day=today() - dt.timedelta(days=2), note="Chase the prepayment")
    await callback(me["id"], client_id=company, day=today() + dt.timedelta(days=1), note="Ask about reorder")
    await callback(colleague["id"], client_id=company, day=today() - dt.timedelta(days=1), note="Colleague's call")
    await login(client, me)

    text = (await client.get("/staff")).text
    tasks = section(text, "your-tasks")
    assert tasks.index("Your tasks") < text.index("tile")  # above the tiles
    assert "Chase the prepayment" in tasks and "Overdue" in row(tasks, late)
    assert "Ask about reorder" not in tasks and "Colleague's call" not in tasks
    assert re.search(r'badge[^"]*">1<', tasks)  # overdue + today
    mine = row(tasks, late)
    assert f'hx-post="/staff/tasks/{late}/done"' in mine and f'hx-post="/staff/tasks/{late}/move"' in mine
    assert f'hx-target="#task-{late}"' in mine and 'name="back" value="/staff"' in mine


async def test_your_tasks_when_nothing_is_due(client):
    await login(client, await make_staff(Role.DESIGNER))
    text = (await client.get("/staff")).text
    assert "No callbacks due today." in section(text, "your-tasks")
