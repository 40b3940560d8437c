"""What a client has to do, for its home page: pure, from rows its areas already load.

Most urgent first: specs to approve, overdue invoices, the installments of accepted schedules
that are due, orders waiting for their prepayment, then invoices and installments falling due
within the coming days. Each item links to the page where the client does it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from portal.negotiation.tables import ScheduleStatus
from portal.orders.tables import Stage

SOON_DAYS = 7  # "due soon": within a week


class Kind(IntEnum):
    """The order the list is shown in (lower: more urgent)."""

    SPEC = 1
    OVERDUE = 2
    INSTALLMENT_DUE = 3
    SCHEDULE_ANSWER = 4
    PREPAYMENT = 5
    DUE_SOON = 6
    INSTALLMENT_SOON = 7


@dataclass(frozen=True)
class Todo:
    kind: Kind
    link: str
    subject: str  # the order number, invoice code or schedule number the item is about
    amount_minor: int = 0
    currency: str = ""
    day: dt.date | None = None  # the due date, where there is one
    days: int = 0  # days overdue, or days left
    invoice_code: str = ""  # a prepayment's invoice

    @property
    def urgent(self) -> bool:
        return self.kind in (Kind.SPEC, Kind.OVERDUE, Kind.INSTALLMENT_DUE, Kind.SCHEDULE_ANSWER, Kind.PREPAYMENT)  # a prepayment holds up production


def client_todo(*, orders: list[dict], open_invoices: list[dict], schedules: list[dict], today: dt.date) -> list[Todo]:
    """orders: specs.client_orders rows (with next_step and invoice); open_invoices:
    billing.open_invoices_of; schedules: plans.client_summary rows (with the next installment)."""
    items: list[Todo] = []
    prepaid_invoices: set[int] = set()  # an order's invoice is listed once, as the order's prepayment
    for order in orders:
        step, invoice = order["next_step"], order.get("invoice")
        if not step.action:
            continue
        if order["stage"] == Stage.SPEC_SENT:
            items.append(Todo(Kind.SPEC, step.link, order["number"]))
        elif invoice is not None and invoice["total_minor"] > invoice["paid_minor"]:
            prepaid_invoices.add(invoice["id"])
            items.append(Todo(Kind.PREPAYMENT, step.link, order["number"], amount_minor=invoice["total_minor"] - invoice["paid_minor"],
                              currency=invoice["currency"], day=invoice["due_date"], invoice_code=invoice["code"]))
        elif invoice is None:
            items.append(Todo(Kind.PREPAYMENT, f"/client/orders/{order['id']}", order["number"]))
        # paid, but production waits for the credit hold: the overdue invoices below are what to do
    for invoice in open_invoices:
        balance = invoice["total_minor"] - invoice["paid_minor"]
        days = (invoice["due_date"] - today).days
        if balance <= 0 or invoice["id"] in prepaid_invoices or days > SOON_DAYS:
            continue
        items.append(Todo(Kind.OVERDUE if days < 0 else Kind.DUE_SOON, f"/client/invoices/{invoice['id']}", invoice["code"],
                          amount_minor=balance, currency=invoice["currency"], day=invoice["due_date"], days=abs(days)))
    for schedule in schedules:
        link = f"/client/schedules/{schedule['id']}"
        if schedule["status"] == ScheduleStatus.WITH_CLIENT:
            items.append(Todo(Kind.SCHEDULE_ANSWER, link, str(schedule["id"])))
            continue
        installment = schedule.get("next")
        if not installment or installment["due_now_minor"] <= 0:
            continue
        days = (installment["due_date"] - today).days
        if days > SOON_DAYS:
            continue
        items.append(Todo(Kind.INSTALLMENT_DUE if days <= 0 else Kind.INSTALLMENT_SOON, link, str(schedule["id"]),
                          amount_minor=installment["due_now_minor"], currency=schedule["currency"],
                          day=installment["due_date"], days=abs(days)))
    return sorted(items, key=lambda item: (item.kind, item.day or today, item.subject))
