"""Dunning: ladders as data, the action log (the outbox of every side effect), pauses, the
per-invoice state kept for speed, the delay-reason catalogue, call outcomes, sanctions, the
letters register and what clients are told in the portal."""

from piccolo.columns import JSON, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.tasks.tables import Task


class Ladder(Table, tablename="dunning_ladders"):
    """A named escalation ladder. `version` goes up with every edit of it or its steps; each
    action records the version it was taken under."""

    name = Varchar(length=120, unique=True)
    description = Text(default="")
    version = Integer(default=1)
    purpose = Varchar(length=12, default="debt")  # debt: segments and clients follow it; prepayment: see dunning.ladder_rules
    created_at = Timestamptz()
    updated_at = Timestamptz()


class LadderStep(Table, tablename="dunning_steps"):
    """One rung: when (days from the due date, time of day in the firm's zone), how (channel),
    who does it, and what it says (templates per language: {"en": {"subject", "body"}})."""

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
    segment = Varchar(length=1, unique=True)
    ladder = ForeignKey(references=Ladder, index=True, on_delete=OnDelete.restrict)


class ClientLadder(Table, tablename="dunning_client_ladders"):
    """A client's own ladder, overriding its segment's."""

    client = ForeignKey(references=Client, unique=True, on_delete=OnDelete.restrict)
    ladder = ForeignKey(references=Ladder, index=True, on_delete=OnDelete.restrict)


# pending: recorded, its effect not yet carried out; done: carried out; skipped: passed over with
# a reason (by the ladder's rule or by staff); awaiting_approval: needs an admin (privileged
# clients' legal steps); refused: the admin said no; failed: gave up after retries;
# cancelled: the invoice was paid before the effect was carried out.
ACTION_STATUSES = ("pending", "done", "skipped", "awaiting_approval", "refused", "failed", "cancelled")


class DunningAction(Table, tablename="dunning_actions"):
    """One step taken for one invoice: unique (invoice, step), written before any side effect."""

    invoice = ForeignKey(references=Invoice, on_delete=OnDelete.restrict)  # indexed by the unique (invoice, step)
    step = ForeignKey(references=LadderStep, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, on_delete=OnDelete.restrict)
    ladder_version = Integer(default=1)
    position = Integer(default=0)
    channel = Varchar(length=20)
    scheduled_at = Timestamptz()
    taken_at = Timestamptz()
    status = Varchar(length=20, default="pending")  # the pending ones have a partial index (the queue)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(default="")
    outcome = Text(default="")
    reason = Text(default="")
    task = ForeignKey(references=Task, null=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    done_at = Timestamptz(null=True, default=None)


class DunningState(Table, tablename="dunning_states"):
    """Where an open invoice stands, stored for speed: one row per open invoice, made when it is
    issued (dunning.escalation.track) and removed when it is settled. Filled in only by the
    planner from the facts; `next_at` is when the engine must look again (NULL: nothing to do
    until a fact changes)."""

    invoice = ForeignKey(references=Invoice, unique=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    due_date = Date(null=True, default=None)
    ladder = ForeignKey(references=Ladder, null=True, on_delete=OnDelete.set_null)
    last_step = ForeignKey(references=LadderStep, null=True, on_delete=OnDelete.set_null)
    last_position = Integer(default=0)
    severity = Integer(default=0)  # indexed with position and due date for the worklist
    next_step = ForeignKey(references=LadderStep, null=True, on_delete=OnDelete.set_null)
    next_at = Timestamptz(null=True, default=None)  # indexed with invoice: the tick's candidates
    paused_kind = Varchar(length=20, default="")
    paused_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


PAUSE_KINDS = ("promise", "dispute", "proposal", "plan", "manual", "callback")


class Pause(Table, tablename="dunning_pauses"):
    """The ladder waits for this invoice from `starts_at` until `until` (NULL: until ended)."""

    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)
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


class DelayReason(Table, tablename="delay_reasons"):
    """The catalogue of why clients pay late; counted so typical reasons can be learned."""

    name = Varchar(length=120, unique=True)
    position = Integer(default=0)
    is_active = Boolean(default=True)
    created_at = Timestamptz()


class CallOutcome(Table, tablename="call_outcomes"):
    """What came of a call task: reached or not, a promised date, the reason for the delay."""

    task = ForeignKey(references=Task, unique=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, null=True, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)
    user = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    reached = Boolean(default=False)
    promised_date = Date(null=True, default=None)
    delay_reason = ForeignKey(references=DelayReason, null=True, index=True, on_delete=OnDelete.restrict)
    note = Text(default="")
    recorded_at = Timestamptz(index=True)


SANCTION_KINDS = ("remove_discount", "lower_priority", "credit_hold")


class Sanction(Table, tablename="client_sanctions"):
    """A consequence of debt on a client, with the value it replaced, lifted when the overdue
    debt is cleared."""

    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)
    previous_value = Integer(default=0)
    action = ForeignKey(references=DunningAction, null=True, on_delete=OnDelete.set_null)
    applied_at = Timestamptz()
    lifted_at = Timestamptz(null=True, default=None, index=True)
    lift_reason = Varchar(length=60, default="")


class Letter(Table, tablename="dunning_letters"):
    """The print-and-send register: letters, formal claims, court warnings and legal case files."""

    action = ForeignKey(references=DunningAction, unique=True, on_delete=OnDelete.restrict)
    invoice = ForeignKey(references=Invoice, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)  # letter, formal_claim, court_warning, legal_handover
    language = Varchar(length=5, default="en")
    subject = Varchar(length=300, default="")
    body = Text(default="")
    deadline = Date(null=True, default=None)
    status = Varchar(length=12, default="to_send", index=True)  # to_send, sent
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    sent_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class ClientNotice(Table, tablename="client_notices"):
    """What a client company is told in the portal: dunning notices, changes of its discount,
    priority, credit limit or hold."""

    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=30)
    message = Text()
    link = Varchar(length=200, default="")
    created_at = Timestamptz(index=True)
    read_at = Timestamptz(null=True, default=None)


class CalendarFeed(Table, tablename="calendar_feeds"):
    """A user's private iCalendar feed: the URL carries a token derived from `nonce`; a new
    nonce revokes the old URL."""

    user = ForeignKey(references=User, unique=True, on_delete=OnDelete.cascade)
    nonce = Varchar(length=64)
    created_at = Timestamptz()
