"""`invoices.settled_on`: the day an invoice stopped being a receivable, kept exact by every way money
moves (the receivables reports read "open as of D" from it). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from portal import settlement
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.billing.tables import Invoice
from tests.billing.staff_helpers import SYSTEM, issue, today
from tests.factories import make_client


async def settled_on(invoice_id: int) -> dt.date | None:
    return (await Invoice.select(Invoice.settled_on).where(Invoice.id == invoice_id).first())["settled_on"]


async def pay(invoice: dict, amount: int, day: dt.date) -> int:
    recorded = await settlement.record_payment(
        client_id=invoice["client"], currency=invoice["currency"], allocations=[(invoice["id"], amount)],
        method="bank_transfer", received_on=day, reference="OP", actor=SYSTEM,
    )
    return recorded.payment_id


async def open_as_of(day: dt.date) -> list[int]:
    """The receivables reports' definition of an open invoice on a day."""
    rows = await Invoice.select(Invoice.id).where(
        (Invoice.kind == "invoice") & (Invoice.issue_date <= day) & (Invoice.settled_on.is_null() | (Invoice.settled_on > day))
    ).order_by(Invoice.id)
    return [row["id"] for row in rows]


async def test_paid_in_two_parts_the_second_backdated_settles_on_the_later_day_and_a_reversal_reopens_it(db):
    invoice = await issue(await make_client(), due_in=-10, lines=[Line("Folding boxes", 1, 10_000, 0)])
    first_day, backdated = today() - dt.timedelta(days=2), today() - dt.timedelta(days=5)
    first = await pay(invoice, 6_000, first_day)
    assert await settled_on(invoice["id"]) is None  # partly paid: still a receivable
    second = await pay(invoice, 4_000, backdated)  # completes it, dated before the first part
    assert (await billing.get_invoice(invoice["id"]))["status"] == "paid"
    assert await settled_on(invoice["id"]) == first_day
    assert await open_as_of(first_day - dt.timedelta(days=1)) == [invoice["id"]]
    assert await open_as_of(first_day) == []

    await settlement.reverse_payment(second, "Booked on the wrong client", SYSTEM)
    assert (await billing.get_invoice(invoice["id"]))["status"] == "issued"
    assert await settled_on(invoice["id"]) is None
    assert await open_as_of(today()) == [invoice["id"]]

    # paid again: the latest day of all its payments, the reversal's (today) included
    await pay(invoice, 4_000, backdated)
    assert await settled_on(invoice["id"]) == today()
    assert first  # the first part stays


async def test_a_reversal_of_a_part_payment_keeps_an_open_invoice_open(db):
    invoice = await issue(await make_client(), lines=[Line("Folding boxes", 1, 10_000, 0)])
    part = await pay(invoice, 3_000, today())
    await settlement.reverse_payment(part, "Wrong amount", SYSTEM)
    assert await settled_on(invoice["id"]) is None


async def test_cancellation_settles_the_invoice_today_and_the_credit_note_on_its_issue_date(db):
    invoice = await issue(await make_client(), due_in=-40)  # issued ten days ago
    assert await settled_on(invoice["id"]) is None
    credit_note = await settlement.cancel_invoice(invoice["id"], "Client ordered twice", SYSTEM)
    assert await settled_on(invoice["id"]) == today()
    assert credit_note["settled_on"] == credit_note["issue_date"] == today()
    assert await settled_on(credit_note["id"]) == today()
    assert invoice["issue_date"] < today()
    assert await open_as_of(today() - dt.timedelta(days=1)) == [invoice["id"]]
    assert await open_as_of(today()) == []


async def test_an_issued_invoice_is_open_from_its_issue_date(db):
    invoice = await issue(await make_client())
    assert invoice["settled_on"] is None
    assert await open_as_of(today()) == [invoice["id"]]
    assert await open_as_of(today() - dt.timedelta(days=1)) == []
