"""Negotiation: repayment schedules with every version kept, their installments, the links a
negotiator shares them through, and disputes of invoices.

A schedule covers some of one client's overdue invoices. Each offer (the client's proposal, a
negotiator's counter or draft) is a new ScheduleVersion with its own installments; the schedule
points at the version on the table. Once accepted, the accepted version's installments steer the
ladder (portal.negotiation.schedules.plans); what has been paid on them is derived from the invoices' paid
amounts since acceptance, never booked twice.
"""

from enum import StrEnum

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.column_types import BigInt
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.tasks.tables import Task


class ScheduleStatus(StrEnum):
    """A repayment schedule's life (Schedule's docstring says each state)."""

    DRAFT = "draft"
    WITH_STAFF = "with_staff"
    WITH_CLIENT = "with_client"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    BROKEN = "broken"
    COMPLETED = "completed"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeResolution(StrEnum):
    """How staff resolved a dispute (a dispute still open has none: "")."""

    CREDIT_NOTE = "credit_note"
    CORRECTION = "correction"
    REJECTED = "rejected"


class Schedule(Table, tablename="repayment_schedules"):
    """status: draft (a negotiator's, not yet offered), with_staff (the client proposed or
    countered: staff to answer), with_client (staff countered or offered: the client to answer),
    accepted (the plan runs), rejected, broken (an installment was missed), completed (paid)."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    status = Varchar(length=12, index=True)
    current_version = Integer(default=1)
    currency = Varchar(length=3, default="EUR")
    debt_minor = BigInt(default=0)  # what the covered invoices owed when the schedule was opened
    negotiator = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    # The negotiator's preparation: only staff ever see these.
    ideal_terms = Text(default="")
    acceptable_terms = Text(default="")
    prep_notes = Text(default="")
    reject_reason = Text(default="")
    # The signature of the accepted version.
    accepted_version = Integer(null=True, default=None)
    accepted_at = Timestamptz(null=True, default=None)
    accepted_name = Varchar(length=200, default="")
    accepted_ip = Varchar(length=64, default="")
    accepted_via = Varchar(length=12, default="")  # portal, link
    ended_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ScheduleInvoice(Table, tablename="repayment_schedule_invoices"):
    """An invoice the schedule covers, with its balance and paid amount when it was covered."""

    id: Serial
    schedule = ForeignKey(references=Schedule, index=True, on_delete=OnDelete.cascade)
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    balance_minor = BigInt(default=0)
    paid_before_minor = BigInt(default=0)  # the invoice's paid amount when the plan started


class ScheduleVersion(Table, tablename="repayment_schedule_versions"):
    """One offer: who made it (client or staff), why, and its installments."""

    id: Serial
    schedule = ForeignKey(references=Schedule, index=True, on_delete=OnDelete.cascade)
    number = Integer()
    side = Varchar(length=8)  # client, staff
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    note = Text(default="")
    total_minor = BigInt(default=0)
    created_at = Timestamptz()


class Installment(Table, tablename="repayment_installments"):
    id: Serial
    version = ForeignKey(references=ScheduleVersion, index=True, on_delete=OnDelete.cascade)
    schedule = ForeignKey(references=Schedule, index=True, on_delete=OnDelete.cascade)
    number = Integer()
    due_date = Date()
    amount_minor = BigInt()
    reminded_at = Timestamptz(null=True, default=None)  # the pre-due reminder was queued
    paid_at = Timestamptz(null=True, default=None)  # covered in full by payments since acceptance
    missed_at = Timestamptz(null=True, default=None)


class ShareLink(Table, tablename="repayment_share_links"):
    """/s/<token>: only the token's SHA-256 is stored; the link is bound to one version."""

    id: Serial
    schedule = ForeignKey(references=Schedule, index=True, on_delete=OnDelete.cascade)
    version = Integer()
    token_hash = Varchar(length=64, unique=True)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    used_at = Timestamptz(null=True, default=None)
    signer_name = Varchar(length=200, default="")
    signer_ip = Varchar(length=64, default="")


class LinkAttempt(Table, tablename="repayment_link_attempts"):
    """Failed link openings per IP over a window: guessing tokens is rate-limited."""

    id: Serial
    ip = Varchar(length=64, index=True)
    at = Timestamptz(index=True)


class Dispute(Table, tablename="invoice_disputes"):
    """A client contests an invoice. reason: wrong_amount, not_received, quality, other.
    status: open, resolved. resolution: credit_note, correction, rejected."""

    id: Serial
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    reason = Varchar(length=20)
    comment = Text(default="")
    status = Varchar(length=10, index=True, default=DisputeStatus.OPEN.value)
    resolution = Varchar(length=12, default="")
    answer = Text(default="")
    amount_minor = BigInt(default=0)  # the credit note's or correction's amount
    opened_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    opened_at = Timestamptz()
    resolved_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    resolved_at = Timestamptz(null=True, default=None)
    task = ForeignKey(references=Task, null=True, on_delete=OnDelete.set_null)
    counts_against = Boolean(default=False)  # rejected: it held the ladder without cause
