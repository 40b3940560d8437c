"""Invoices and payments for the staff billing tests, made through the real services."""

from __future__ import annotations

import datetime as dt
import re

from portal import settlement
from portal.audit.service import Actor
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.clock import firm_today

SYSTEM = Actor.system()
CODES = re.compile(r'data-invoice="([^"]+)"')
NEXT = re.compile(r'href="(/staff/invoices\?[^"]*cursor=[^"]+)"')


def today() -> dt.date:
    return firm_today()  # the firm's day, as the pages read it (after midnight in Bucharest it is not UTC's)


async def issue(client_id: int, *, due_in: int = 30, currency: str = "RON", unit_minor: int = 10000, quantity: int = 1,
                vat_bp: int = 1900, order_id: int | None = None, lines: list[Line] | None = None) -> dict:
    """An invoice issued today - or earlier, so that it falls due `due_in` days from today (negative: overdue)."""
    terms = 30
    issue_date = today() + dt.timedelta(days=due_in - terms)
    return await billing.issue_invoice(
        client_id=client_id, currency=currency, lines=lines or [Line("Folding boxes", quantity, unit_minor, vat_bp)],
        issue_date=issue_date, terms_days=terms, order_id=order_id, actor=SYSTEM,
    )


async def pay(invoice: dict, amount: int | None = None, *, method: str = "bank_transfer", reference: str = "OP 1"):
    return await settlement.record_payment(
        client_id=invoice["client"], currency=invoice["currency"],
        allocations=[(invoice["id"], invoice["total_minor"] if amount is None else amount)],
        method=method, received_on=today(), reference=reference, actor=SYSTEM,
    )


async def invoice_row(invoice_id: int) -> dict:
    return await billing.get_invoice(invoice_id)


def codes_in(html: str) -> list[str]:
    return CODES.findall(html)


def next_link(html: str) -> str | None:
    found = NEXT.search(html)
    return found.group(1).replace("&amp;", "&") if found else None
