"""Consequences of debt on a client (discount removed, lower priority, credit hold)."""

from piccolo.columns import ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.clients.tables import Client
from portal.dunning.engine.tables import DunningAction


class Sanction(Table, tablename="client_sanctions"):
    """A consequence of debt on a client, with the value it replaced, lifted when the overdue
    debt is cleared."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)
    previous_value = Integer(default=0)
    action = ForeignKey(references=DunningAction, null=True, on_delete=OnDelete.set_null)
    applied_at = Timestamptz()
    lifted_at = Timestamptz(null=True, default=None, index=True)
    lift_reason = Varchar(length=60, default="")
