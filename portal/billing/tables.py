from enum import StrEnum

from piccolo.columns import (
    BigInt,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.clients.tables import Client
from portal.orders.tables import Order


class InvoiceStatus(StrEnum):
    """An invoice's life: issued (open, partly paid or not), paid in full, cancelled by a credit note."""

    ISSUED = "issued"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceCounter(Table, tablename="invoice_counters"):
    """The last number issued per series and year; bumped in the issuing transaction."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    series = Varchar(length=10)
    year = Integer()
    last_number = Integer(default=0)
    key = Varchar(length=20, unique=True)  # "<series>-<year>"


class Invoice(Table, tablename="invoices"):
    """An invoice. Amounts are minor units of `currency`; `paid_minor` is written only by
    billing.service together with the payment allocations it sums.

    `settled_on` is the day it stopped being a receivable: paid in full (the latest `received_on`
    of the payments allocated to it), cancelled (the credit note's day), or its own issue date for
    a credit note; NULL while open. Open as of day D: issue_date <= D and (settled_on is NULL or
    settled_on > D)."""

    id: Serial
    series = Varchar(length=10)
    year = Integer()
    number = Integer()
    code = Varchar(length=30, unique=True)  # "<series>-<year>-<number:05d>"
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    order = ForeignKey(references=Order, null=True, index=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=12, default=InvoiceKind.INVOICE.value)
    credits_invoice = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    currency = Varchar(length=3)
    issue_date = Date()
    due_date = Date(index=True)
    status = Varchar(length=12, index=True, default=InvoiceStatus.ISSUED.value)
    net_minor = BigInt(default=0)
    vat_minor = BigInt(default=0)
    total_minor = BigInt(default=0)
    paid_minor = BigInt(default=0)
    notes = Text(default="")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    cancelled_at = Timestamptz(null=True, default=None)
    settled_on = Date(null=True, default=None, index=True)


class InvoiceLine(Table, tablename="invoice_lines"):
    id: Serial
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    position = Integer()
    description = Varchar(length=300)
    quantity = Integer(default=1)
    unit_price_minor = BigInt()
    vat_rate_bp = Integer(default=0)  # 1900 = 19 %
    net_minor = BigInt()
    vat_minor = BigInt()
    total_minor = BigInt()
    unit_cost_minor = BigInt(null=True, default=None)  # what one unit costs the firm, in the invoice's currency; None: unknown


class Payment(Table, tablename="payments"):
    """Money received from a client. A wrong entry is reversed by a counter-entry
    (negative amount, `reverses` set), never edited away."""

    id: Serial
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    currency = Varchar(length=3)
    amount_minor = BigInt()
    method = Varchar(length=20)  # bank_transfer, cash, card (Stripe)
    received_on = Date(index=True)  # the reports' refresh reads a month's money
    reference = Varchar(length=120, default="")
    external_id = Varchar(length=120, null=True, default=None, unique=True)
    reverses = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    recorded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class PaymentAllocation(Table, tablename="payment_allocations"):
    """The part of a payment that settles one invoice."""

    id: Serial
    payment = ForeignKey(references=Payment, index=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    amount_minor = BigInt()
