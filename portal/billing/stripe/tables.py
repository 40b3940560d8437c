"""Stripe's side of payments: the webhook events seen, and each Checkout attempt of an invoice.

Money itself lives in billing.tables.Payment (written by billing.service.record_payment);
these rows only say which Stripe objects belong to which invoice and how far they got."""

from enum import StrEnum

from piccolo.columns import BigInt, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.billing.tables import Invoice
from portal.clients.tables import Client


class StripeEvent(Table, tablename="stripe_events"):
    """One row per Stripe event id, inserted in the same transaction as the event's effect:
    the unique constraint makes a second delivery a no-op."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    event_id = Varchar(length=255, unique=True)
    type = Varchar(length=100)
    received_at = Timestamptz()
    processed_at = Timestamptz(null=True, default=None)


# open: a session exists (or is being created) and may still be paid
# processing: the client finished checkout with a delayed method (bank debit); money not in yet
# complete: the payment is recorded; expired / failed: this attempt will not be paid
class AttemptStatus(StrEnum):
    """A checkout attempt's life (the comment above says each state)."""

    OPEN = "open"
    PROCESSING = "processing"
    EXPIRED = "expired"
    FAILED = "failed"
    COMPLETE = "complete"


ATTEMPT_STATUSES = tuple(AttemptStatus)


class CheckoutAttempt(Table, tablename="checkout_attempts"):
    """One Stripe Checkout Session for an invoice. `attempt` counts per invoice and, with the
    invoice id, makes the idempotency key: a double click reuses the open attempt's session."""

    id: Serial
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    attempt = Integer()
    amount_minor = BigInt()
    currency = Varchar(length=3)
    session_id = Varchar(length=255, null=True, default=None, unique=True)
    payment_intent_id = Varchar(length=255, null=True, default=None, index=True)
    url = Text(default="")
    status = Varchar(length=12, default=AttemptStatus.OPEN.value, index=True)
    refunded_minor = BigInt(default=0)  # the charge's amount_refunded, as high as any event reported it
    idempotency_key = Varchar(length=100, unique=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
