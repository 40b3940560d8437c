"""Escalation as a pure function of facts: no I/O, no clock (`as_of` is an argument), no ORM.

`decide(invoice, ladder, taken, pauses, as_of, tz)` says which ladder steps are due now for one
invoice, when the engine must look again, and which pauses have run out. The engine only loads
these facts and records what this returns, so a tick can be replayed to the minute.

The schedule of a step:
- nominal: the invoice's due date + the step's offset in days (+ the client's forgiveness days
  when the client is privileged and the step is on or after the due date), at the step's time
  of day in the firm's time zone;
- spaced: after a step taken late (after downtime or a pause), the ladder catches up one day at a
  time: the next step comes no earlier than the next day (the same day when the ladder puts the two
  on one day) at its own time, so pressure still rises step by step, never all at once;
- after a pause: a step that fell due while the ladder was paused is due when the pause ends;
  after a broken repayment plan the next step is due at once, whatever its own day.
Steps are taken in order, one after another, never two at once out of order and never skipped:
a step the ladder passes over (a demand letter when the client asked for a deferral) is recorded
as skipped with its reason. A privileged client's legal hand-over waits for an admin's approval.
A paid invoice (balance 0) gets nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal.billing.tables import InvoiceStatus
from portal.clock import local_at, local_date
from portal.dunning.engine.tables import ActionStatus
from portal.dunning.escalation.tables import PauseKind
from portal.messages import N_
from portal.web.i18n import single_stops

CHANNELS = (
    "email", "call", "negotiation", "letter", "formal_claim", "court_warning", "legal_handover",
    "portal_notice", "sanction",
)
CHANNEL_LABELS = {
    "email": N_("Email to the client's contact"),
    "call": N_("Call task for the responsible person"),
    "negotiation": N_("Negotiation window (task) for the manager"),
    "letter": N_("Letter (print and send)"),
    "formal_claim": N_("Formal claim with a deadline"),
    "court_warning": N_("Warning of court"),
    "legal_handover": N_("Hand-over to lawyers (case file)"),
    "portal_notice": N_("Notice in the client portal"),
    "sanction": N_("Sanction"),
}
# How heavy a step weighs: the client's "worst state" is the heaviest step taken on its open invoices.
SEVERITY = {
    "portal_notice": 1, "email": 1, "call": 2, "negotiation": 2, "letter": 3, "sanction": 3,
    "formal_claim": 4, "court_warning": 5, "legal_handover": 6,
}
ASSIGNEES = ("manager", "credit_controller", "lawyer", "admin")
ASSIGNEE_LABELS = {
    "manager": N_("The client's sales manager"),
    "credit_controller": N_("A credit controller"),
    "lawyer": N_("A lawyer"),
    "admin": N_("An admin"),
}
SANCTIONS = ("remove_discount", "lower_priority", "credit_hold")
SANCTION_LABELS = {
    "remove_discount": N_("Remove the client's discount"),
    "lower_priority": N_("Lower the client's service priority"),
    "credit_hold": N_("Put the client on credit hold"),
}
LOWEST_PRIORITY = 3
# When several pauses hold, the first kind here is the one shown (a disputed invoice on a plan is "disputed").
PAUSE_RANK = (PauseKind.DISPUTE, PauseKind.PLAN, PauseKind.PROPOSAL, PauseKind.PROMISE, PauseKind.MANUAL, PauseKind.CALLBACK)
# Statuses of a recorded action that let the ladder go on to the next step.
PASSED = (ActionStatus.PENDING, ActionStatus.DONE, ActionStatus.SKIPPED, ActionStatus.FAILED, ActionStatus.CANCELLED)
# ... and those that stop it until someone decides.
BLOCKING = (ActionStatus.AWAITING_APPROVAL, ActionStatus.REFUSED)


@dataclass(frozen=True)
class Step:
    id: int
    position: int
    name: str
    offset_days: int
    time_of_day: dt.time
    channel: str
    assignee: str = "manager"
    deadline_days: int = 0
    sanction: str = ""
    skip_if_deferral: bool = False
    active: bool = True  # a retired step keeps its history but is never taken again


@dataclass(frozen=True)
class InvoiceFacts:
    invoice_id: int
    client_id: int
    due_date: dt.date
    balance_minor: int
    status: str = InvoiceStatus.ISSUED
    privileged: bool = False
    forgiveness_days: int = 0


@dataclass(frozen=True)
class Taken:
    """An action already recorded for this invoice."""

    step_id: int
    status: str
    taken_at: dt.datetime


@dataclass(frozen=True)
class PauseFacts:
    id: int
    kind: str
    starts_at: dt.datetime
    until: dt.datetime | None
    ended_at: dt.datetime | None = None
    end_reason: str = ""

    @property
    def breaks_plan(self) -> bool:
        """A repayment plan that ended unpaid (broken, or run out before it was recorded): the
        ladder goes one step further at once instead of waiting for the step's own day."""
        return self.kind == PauseKind.PLAN and self.end_reason in ("", "broken")

    def active_at(self, as_of: dt.datetime) -> bool:
        if self.starts_at > as_of or (self.ended_at is not None and self.ended_at <= as_of):
            return False
        return self.until is None or self.until > as_of

    def ends_at(self) -> dt.datetime | None:
        """When it stopped holding the ladder (None while open-ended)."""
        ends = [t for t in (self.ended_at, self.until) if t is not None]
        return min(ends) if ends else None

    def covers(self, moment: dt.datetime) -> bool:
        """A callback that was agreed before `moment` and held the ladder past it."""
        ends = self.ends_at()
        return self.kind == PauseKind.CALLBACK and self.starts_at <= moment and (ends is None or moment < ends)


@dataclass(frozen=True)
class Due:
    step: Step
    scheduled_at: dt.datetime
    status: str = ActionStatus.PENDING  # pending, skipped or awaiting_approval
    reason: str = ""


@dataclass
class Decision:
    due: list[Due] = field(default_factory=list)
    next_step: Step | None = None
    next_at: dt.datetime | None = None
    paused_by: PauseFacts | None = None
    expired_pauses: list[PauseFacts] = field(default_factory=list)
    last_step: Step | None = None
    blocked: str = ""  # awaiting_approval / refused: the ladder waits for a person

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.last_step.channel, 0) if self.last_step else 0


def parse_time(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def shift_days(step: Step, invoice: InvoiceFacts) -> int:
    """A privileged client's forgiveness moves every step from the due date on (never the
    courtesy reminders before it)."""
    if invoice.privileged and step.offset_days >= 0:
        return max(0, invoice.forgiveness_days)
    return 0


def nominal_at(step: Step, invoice: InvoiceFacts, tz: str) -> dt.datetime:
    day = invoice.due_date + dt.timedelta(days=step.offset_days + shift_days(step, invoice))
    return local_at(day, step.time_of_day, tz)


def needs_approval(step: Step, invoice: InvoiceFacts) -> bool:
    """Court or legal hand-over of a privileged client: only top management decides."""
    return invoice.privileged and step.channel == "legal_handover"


def scheduled_at(
    step: Step, invoice: InvoiceFacts, previous: tuple[Step, dt.datetime] | None, resumed_at: dt.datetime | None, tz: str,
    *, at_once: bool = False,
) -> dt.datetime:
    at = resumed_at if at_once and resumed_at is not None else nominal_at(step, invoice, tz)
    if previous is not None:
        prev_step, prev_taken = previous
        gap = (step.offset_days + shift_days(step, invoice)) - (prev_step.offset_days + shift_days(prev_step, invoice))
        at = max(at, local_at(local_date(prev_taken, tz) + dt.timedelta(days=min(1, max(0, gap))), step.time_of_day, tz))
    if resumed_at is not None:
        at = max(at, resumed_at)
    return at


def decide(
    invoice: InvoiceFacts, steps: list[Step], taken: list[Taken], pauses: list[PauseFacts], as_of: dt.datetime, tz: str,
    *, deferral_requested: bool = False,
) -> Decision:
    decision = Decision()
    decision.expired_pauses = [
        p for p in pauses if p.ended_at is None and p.until is not None and p.until <= as_of and p.starts_at <= as_of
    ]
    ladder = sorted(steps, key=lambda s: (s.position, s.id))
    by_id = {s.id: s for s in ladder}
    # The last step taken, in ladder order (retired steps stay known through `steps`).
    done = [(by_id[t.step_id], t) for t in taken if t.step_id in by_id]
    done.sort(key=lambda pair: (pair[0].position, pair[0].id))
    previous: tuple[Step, dt.datetime] | None = None
    if done:
        last, last_taken = done[-1]
        decision.last_step = last
        previous = (last, last_taken.taken_at)
        if last_taken.status in BLOCKING:
            decision.blocked = last_taken.status
    if invoice.balance_minor <= 0 or invoice.status != InvoiceStatus.ISSUED or decision.blocked:
        return decision
    for pause in sorted(pauses, key=lambda p: PAUSE_RANK.index(p.kind) if p.kind in PAUSE_RANK else len(PAUSE_RANK)):
        if pause.active_at(as_of):
            decision.paused_by = pause
            decision.next_at = pause.until
            break
    taken_ids = {t.step_id for t in taken}
    floor = (previous[0].position, previous[0].id) if previous else (-(10**9), 0)
    remaining = [s for s in ladder if s.id not in taken_ids and (s.position, s.id) > floor and s.active and s.channel in CHANNELS]
    ended = [
        p for p in pauses
        if not p.active_at(as_of) and p.starts_at <= as_of and p.ends_at() is not None and p.ends_at() <= as_of  # type: ignore[operator]
    ]
    last_ended = max(ended, key=lambda p: p.ends_at(), default=None)  # type: ignore[arg-type, return-value]
    resumed_at = last_ended.ends_at() if last_ended else None
    if previous is not None and resumed_at is not None and resumed_at <= previous[1]:
        resumed_at = None  # that pause ended before the last step: it delays nothing now
    at_once = resumed_at is not None and last_ended is not None and last_ended.breaks_plan
    for step in remaining:
        at = scheduled_at(step, invoice, previous, resumed_at, tz, at_once=at_once)
        if decision.paused_by is not None or at > as_of:
            decision.next_step = step
            if decision.paused_by is None:
                decision.next_at = at
            return decision
        if step.skip_if_deferral and deferral_requested:
            due = Due(step, at, ActionStatus.SKIPPED, N_("The client asked for a deferral."))
        elif any(p.covers(nominal_at(step, invoice, tz)) for p in pauses):
            # the callback agreed with the client was the follow-up: nobody nags on top of it
            due = Due(step, at, ActionStatus.SKIPPED, N_("A callback agreed with the client took its place."))
        elif step.offset_days < 0 and local_date(max(at, as_of), tz) >= invoice.due_date:
            # a reminder before the due date that could only go out on it or after it (the ladder was
            # switched, the invoice issued late, a pause ran past the date): it would say the wrong thing
            due = Due(step, at, ActionStatus.SKIPPED, N_("A reminder before the due date is not sent once the due date has come."))
        elif needs_approval(step, invoice):
            due = Due(step, at, ActionStatus.AWAITING_APPROVAL, N_("A privileged client: an admin must approve this step."))
        else:
            due = Due(step, at)
        decision.due.append(due)
        decision.last_step = step
        if due.status == ActionStatus.AWAITING_APPROVAL:
            decision.blocked = due.status
            return decision
        if due.status != ActionStatus.SKIPPED:  # a step passed over did not happen: the next keeps its own day
            previous = (step, as_of)
        resumed_at, at_once = None, False
    return decision


def worst(severities: list[int]) -> int:
    return max(severities, default=0)


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """Fill {placeholders} of a step's template; an unknown one stays as typed, never an error."""
    out = {}
    for part in ("subject", "body"):
        try:
            out[part] = single_stops(template.get(part) or "", values).format_map(_Keep(values))
        except (ValueError, IndexError, AttributeError):
            out[part] = template.get(part) or ""
    return out


def template_for(templates: dict, language: str, fallback: str = "en") -> dict[str, str]:
    """The step's wording in the client's language, else English, else any there is."""
    for lang in (language, fallback):
        if templates.get(lang):
            return templates[lang]
    return next(iter(templates.values()), {"subject": "", "body": ""}) if templates else {"subject": "", "body": ""}


PLACEHOLDERS = ("client", "invoice", "amount", "due_date", "due_status", "days_overdue", "days_late", "deadline", "firm", "step")
