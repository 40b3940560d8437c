"""The delay-reason catalogue and the outcome of each collection call."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.tasks.tables import Task


class DelayReason(Table, tablename="delay_reasons"):
    """The catalogue of why clients pay late; counted so typical reasons can be learned."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    name = Varchar(length=120, unique=True)
    position = Integer(default=0)
    is_active = Boolean(default=True)
    created_at = Timestamptz()


class CallOutcome(Table, tablename="call_outcomes"):
    """What came of a call task: reached or not, a promised date, the reason for the delay."""

    id: Serial
    task = ForeignKey(references=Task, unique=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=True, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)
    user = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    reached = Boolean(default=False)
    promised_date = Date(null=True, default=None)
    delay_reason = ForeignKey(references=DelayReason, null=True, index=True, on_delete=OnDelete.restrict)
    note = Text(default="")
    recorded_at = Timestamptz(index=True)
