"""Ladders as data: their steps, and which ladder a segment or a client follows."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.clients.tables import Client


class Ladder(Table, tablename="dunning_ladders"):
    """A named escalation ladder. `version` goes up with every edit of it or its steps; each
    action records the version it was taken under."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    name = Varchar(length=120, unique=True)
    description = Text(default="")
    version = Integer(default=1)
    purpose = Varchar(length=12, default="debt")  # debt: segments and clients follow it; prepayment: see dunning.ladder_rules
    created_at = Timestamptz()
    updated_at = Timestamptz()


class LadderStep(Table, tablename="dunning_steps"):
    """One rung: when (days from the due date, time of day in the firm's zone), how (channel),
    who does it, and what it says (templates per language: {"en": {"subject", "body"}})."""

    id: Serial
    ladder = ForeignKey(references=Ladder, index=True, on_delete=OnDelete.restrict)
    position = Integer()
    name = Varchar(length=120)
    offset_days = Integer(default=0)
    time_of_day = Varchar(length=5, default="09:00")
    channel = Varchar(length=20)
    assignee = Varchar(length=20, default="manager")  # manager, credit_controller, lawyer, admin
    templates = JSON(default="{}")
    deadline_days = Integer(default=0)  # claim/warning: days given to pay; negotiation: the window
    sanction = Varchar(length=20, default="")  # remove_discount, lower_priority, credit_hold
    skip_if_deferral = Boolean(default=False)  # "unless the client asked for a deferral"
    is_active = Boolean(default=True)  # a step with history is retired, never deleted
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SegmentLadder(Table, tablename="dunning_segment_ladders"):
    id: Serial
    segment = Varchar(length=1, unique=True)
    ladder = ForeignKey(references=Ladder, index=True, on_delete=OnDelete.restrict)


class ClientLadder(Table, tablename="dunning_client_ladders"):
    """A client's own ladder, overriding its segment's."""

    id: Serial
    client = ForeignKey(references=Client, unique=True, on_delete=OnDelete.restrict)
    ladder = ForeignKey(references=Ladder, index=True, on_delete=OnDelete.restrict)
