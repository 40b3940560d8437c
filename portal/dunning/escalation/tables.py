"""Pauses: the ladder waits for an invoice while a promise, dispute, proposal, plan or callback
holds it."""

from enum import StrEnum

from piccolo.columns import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client


class PauseKind(StrEnum):
    """What holds the ladder: a promise to pay, a dispute, a schedule under negotiation, an accepted
    plan, staff's own pause, or a callback agreed about an order waiting for its prepayment."""

    PROMISE = "promise"
    DISPUTE = "dispute"
    PROPOSAL = "proposal"
    PLAN = "plan"
    MANUAL = "manual"
    CALLBACK = "callback"


PAUSE_KINDS = tuple(PauseKind)


class Pause(Table, tablename="dunning_pauses"):
    """The ladder waits for this invoice from `starts_at` until `until` (NULL: until ended)."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)  # one of PauseKind
    reason = Text(default="")
    promised_date = Date(null=True, default=None)
    starts_at = Timestamptz()
    until = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None, index=True)
    end_reason = Varchar(length=20, default="")  # paid, broken, expired, lifted, resolved
    source_type = Varchar(length=30, default="")
    source_id = Integer(null=True, default=None)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
