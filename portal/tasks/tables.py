from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.orders.tables import Order


class Task(Table, tablename="tasks"):
    """Something a person must do at a given time: a callback the client asked for ("call me in
    two weeks"), and later the dunning ladder's calls and approvals. Done with an outcome, or moved."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    kind = Varchar(length=20, default="callback", index=True)
    assignee = ForeignKey(references=User, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)
    order = ForeignKey(references=Order, null=True, index=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=True, index=True, on_delete=OnDelete.restrict)
    due_at = Timestamptz(index=True)
    title = Varchar(length=200)
    note = Text(default="")
    done_at = Timestamptz(null=True, default=None, index=True)
    outcome = Text(default="")
    moved_count = Integer(default=0)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    dunning_action = Integer(null=True, default=None, unique=True)  # the ladder step that made it
    schedule = Integer(null=True, default=None, index=True)  # the repayment schedule a negotiator's task is about


class Notification(Table, tablename="notifications"):
    """A message for one staff user in the portal (email comes with the dunning issue)."""

    id: Serial
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz(index=True)
    message = Varchar(length=300)
    link = Varchar(length=200, default="")
    read_at = Timestamptz(null=True, default=None)
