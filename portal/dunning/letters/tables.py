"""The register of dunning letters and formal warnings."""

from enum import StrEnum

from piccolo.columns import Date, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.dunning.engine.tables import DunningAction


class LetterStatus(StrEnum):
    """A letter waits to be sent until the person who signs it marks it sent."""

    TO_SEND = "to_send"
    SENT = "sent"


class Letter(Table, tablename="dunning_letters"):
    """The print-and-send register: letters, formal claims, court warnings and legal case files."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    action = ForeignKey(references=DunningAction, unique=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)  # letter, formal_claim, court_warning, legal_handover
    language = Varchar(length=5, default="en")
    subject = Varchar(length=300, default="")
    body = Text(default="")
    deadline = Date(null=True, default=None)
    status = Varchar(length=12, default=LetterStatus.TO_SEND.value, index=True)  # one of LetterStatus
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    sent_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
