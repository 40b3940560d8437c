"""The action log (the outbox of every side effect of the ladder) and the per-invoice state
kept for speed."""

from enum import StrEnum

from piccolo.columns import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.dunning.ladders.tables import Ladder, LadderStep
from portal.tasks.tables import Task


# pending: recorded, its effect not yet carried out; done: carried out; skipped: passed over with
# a reason (by the ladder's rule or by staff); awaiting_approval: needs an admin (privileged
# clients' legal steps); refused: the admin said no; failed: gave up after retries;
# cancelled: the invoice was paid before the effect was carried out.
class ActionStatus(StrEnum):
    """A ladder action's life (the comment above says each state)."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    AWAITING_APPROVAL = "awaiting_approval"
    REFUSED = "refused"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTION_STATUSES = tuple(ActionStatus)


class DunningAction(Table, tablename="dunning_actions"):
    """One step taken for one invoice: unique (invoice, step), written before any side effect."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    invoice = ForeignKey(references=Invoice, on_delete=OnDelete.restrict)  # indexed by the unique (invoice, step)
    step = ForeignKey(references=LadderStep, index=True, on_delete=OnDelete.restrict)
    client = ForeignKey(references=Client, on_delete=OnDelete.restrict)
    ladder_version = Integer(default=1)
    position = Integer(default=0)
    channel = Varchar(length=20)
    scheduled_at = Timestamptz()
    taken_at = Timestamptz()
    status = Varchar(length=20, default=ActionStatus.PENDING.value)  # the pending ones have a partial index (the queue)
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

    id: Serial
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
