"""What billing's words mean as query conditions on invoices, once: an open invoice, an overdue one,
a debt (not the prepayment of an order still waiting: that order is simply not produced until it is
paid, DOMAIN.md section 1). billing.rules says the same of one invoice's facts."""

from __future__ import annotations

import datetime as dt

from piccolo.columns.combination import Combinable

from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.orders.tables import PREPAYMENT_STAGES

PREPAYMENT_STAGE_VALUES = [stage.value for stage in PREPAYMENT_STAGES]


def open_invoice() -> Combinable:
    """Issued and not settled (a credit note is never open)."""
    return (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED)


def overdue(today: dt.date) -> Combinable:
    """Open and past its due date (due today is not overdue): rules.is_overdue as a condition."""
    return open_invoice() & (Invoice.due_date < today)


def debt() -> Combinable:
    """Not the prepayment of an order still before production (or cancelled)."""
    return Invoice.order.is_null() | Invoice.order.stage.not_in(PREPAYMENT_STAGE_VALUES)


def overdue_debt(today: dt.date) -> Combinable:
    """What sanctions keep for and what makes a client a debtor."""
    return overdue(today) & debt()
