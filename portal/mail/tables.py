from enum import StrEnum

from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.clients.tables import Client


# queued: waits for the sender until `next_attempt_at` (without SMTP settings it stays queued,
# readable at /staff/outbox); sending: claimed by a sender until `next_attempt_at` (its lease;
# past it the message is claimable again); sent; failed: gave up after EMAIL_MAX_ATTEMPTS attempts
# (staff may queue it again); cancelled: set by dunning when the invoice was paid before sending.
class EmailStatus(StrEnum):
    """An outbox message's life (the comment above says each state)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


EMAIL_STATUSES = tuple(EmailStatus)


class EmailMessage(Table, tablename="email_outbox"):
    """One email to send. `key` makes it exactly-once per cause (e.g. "dunning-action-42")."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    key = Varchar(length=80, unique=True)
    to_address = Varchar(length=254)
    subject = Varchar(length=300)
    body = Text()
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)
    invoice_id = Integer(null=True, default=None, index=True)
    status = Varchar(length=12, default=EmailStatus.QUEUED.value, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    last_error = Text(default="")
    message_id = Varchar(length=200, default="")
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
