"""The escalation state of one open invoice, the events that change it, and the transitions
between them: pure data, read by escalation.feed (which refuses an event its state does not
allow and audits every transition) and rendered into docs/escalation.md, which a test compares
with this file so the two cannot drift. `python -m portal.dunning.escalation.rules > docs/escalation.md`
writes it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portal.dunning.escalation.tables import PauseKind


class EscalationState(StrEnum):
    """Where an open invoice stands on its ladder (STATES says what each means)."""

    DISPUTED = "disputed"
    ON_PLAN = "on_plan"
    PROPOSAL = "proposal"
    PROMISED = "promised"
    PAUSED = "paused"
    CALLBACK = "callback"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    SETTLED = "settled"


# Precedence: when several hold at once the first one names the state (a disputed invoice on a
# plan is "disputed": nothing moves until the dispute is resolved).
STATES = {
    EscalationState.DISPUTED: "The client disputes the invoice: the ladder waits for staff to resolve it (at most DISPUTE_MAX_DAYS).",
    EscalationState.ON_PLAN: "An accepted repayment schedule runs: the installments, not the due date, steer the ladder.",
    EscalationState.PROPOSAL: "A repayment schedule is under negotiation: the ladder waits (at most PROPOSAL_REVIEW_DAYS).",
    EscalationState.PROMISED: "The client promised a payment date: the ladder waits until that day plus grace.",
    EscalationState.PAUSED: "Staff paused the ladder with a reason (until a date or until lifted).",
    EscalationState.CALLBACK: "A callback is agreed with the client about an order waiting for its prepayment: its reminders wait until then.",
    EscalationState.AWAITING_APPROVAL: "A privileged client's legal step waits for an admin's decision.",
    EscalationState.RUNNING: "The ladder runs: each step on its day and time, one after another.",
    EscalationState.SETTLED: "Paid in full, credited or cancelled: nothing more happens.",
}
ES = EscalationState
ACTIVE = (ES.RUNNING, ES.PAUSED, ES.CALLBACK, ES.PROMISED, ES.PROPOSAL, ES.ON_PLAN, ES.AWAITING_APPROVAL)
ANY_OPEN = (*ACTIVE, ES.DISPUTED)
assert set(STATES) == set(EscalationState), "every state is explained"


@dataclass(frozen=True)
class Transition:
    event: str
    sources: tuple[str, ...]
    target: str  # "same": the state does not change
    effect: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("payment_partial", ANY_OPEN, "same", "The balance falls; the ladder goes on with the remainder."),
    Transition("payment_full", ANY_OPEN, ES.SETTLED,
               "Everything stops at once: pending actions and unsent emails cancelled, pauses ended, tasks closed."),
    Transition("spec_approved", ANY_OPEN, "same", "The client is engaged: recorded, and the state decided again."),
    Transition("promise", (ES.RUNNING, ES.PAUSED, ES.CALLBACK, ES.PROMISED, ES.AWAITING_APPROVAL), ES.PROMISED,
               "The ladder waits until the promised day plus grace; a new promise replaces the old one."),
    Transition("promise_broken", (ES.PROMISED,), ES.RUNNING,
               "The day passed unpaid: the next step comes at once, the manager is told, discipline counts it."),
    Transition("dispute_opened", (ES.RUNNING, ES.PAUSED, ES.CALLBACK, ES.PROMISED, ES.PROPOSAL, ES.ON_PLAN, ES.AWAITING_APPROVAL), ES.DISPUTED,
               "The ladder waits; the dispute appears in the staff's disputes list with a task."),
    Transition("dispute_rejected", (ES.DISPUTED,), ES.RUNNING, "Staff answered: the ladder goes on from where it stood."),
    # ANY_OPEN: a dispute whose pause ran out (DISPUTE_MAX_DAYS) is still resolved by staff
    Transition("dispute_credited", ANY_OPEN, ES.SETTLED, "A credit note cancels the invoice: the ladder stops."),
    Transition("dispute_corrected", ANY_OPEN, ES.SETTLED,
               "The invoice is cancelled and a corrected one issued, which starts its own ladder."),
    Transition("proposal", (ES.RUNNING, ES.PAUSED, ES.PROMISED, ES.PROPOSAL, ES.AWAITING_APPROVAL), ES.PROPOSAL,
               "A schedule is proposed or countered: the ladder waits while it is negotiated."),
    Transition("schedule_rejected", (ES.PROPOSAL,), ES.RUNNING, "No agreement: the ladder goes on."),
    Transition("proposal_expired", (ES.PROPOSAL,), ES.RUNNING, "The review time ran out: the ladder goes on."),
    Transition("plan_accepted", (ES.RUNNING, ES.PAUSED, ES.PROMISED, ES.PROPOSAL, ES.AWAITING_APPROVAL), ES.ON_PLAN,
               "Signed: the installments steer; each gets the ladder's pre-due reminder."),
    Transition("installment_paid", (ES.ON_PLAN,), ES.ON_PLAN, "The installment is marked paid."),
    Transition("plan_broken", (ES.ON_PLAN,), ES.RUNNING,
               "An installment was missed: the next step of the ladder comes at once and the negotiator gets a task."),
    Transition("pause_expired", (ES.PAUSED, ES.DISPUTED), ES.RUNNING,
               "The pause's time ran out (a dispute at DISPUTE_MAX_DAYS keeps its task for staff): the ladder goes on."),
    Transition("staff_pause", (ES.RUNNING, ES.PAUSED, ES.CALLBACK, ES.AWAITING_APPROVAL), ES.PAUSED, "A credit controller paused it with a reason."),
    Transition("pause_lifted", (ES.PAUSED, ES.PROMISED), ES.RUNNING, "The pause ended early; the ladder goes on."),
    Transition("callback_agreed", (ES.RUNNING, ES.PAUSED, ES.CALLBACK, ES.PROMISED), ES.CALLBACK,
               "Staff agreed a callback about a waiting order: its prepayment reminders wait until the callback's time "
               "(a moved callback moves the wait)."),
    Transition("callback_done", (ES.CALLBACK,), ES.RUNNING, "The callback was made before its time: the reminders go on."),
    Transition("callback_due", (ES.CALLBACK,), ES.RUNNING, "The callback's time came: the reminders go on after it."),
)
EVENTS = tuple(t.event for t in TRANSITIONS)
# Fed by the tick itself when a pause's time runs out (planner._end_expired), per pause kind; every
# other event comes through escalation.feed.
EXPIRY_EVENTS: dict[str, str] = {PauseKind.PROMISE: "promise_broken", PauseKind.PROPOSAL: "proposal_expired", PauseKind.PLAN: "plan_broken",
                                 PauseKind.MANUAL: "pause_expired", PauseKind.DISPUTE: "pause_expired", PauseKind.CALLBACK: "callback_due"}
_BY_EVENT = {t.event: t for t in TRANSITIONS}


def state_of(open_pause_kinds: set[str], *, settled: bool, blocked: bool) -> str:
    """The state of an invoice from its facts."""
    if settled:
        return ES.SETTLED
    for state, kind in ((ES.DISPUTED, PauseKind.DISPUTE), (ES.ON_PLAN, PauseKind.PLAN), (ES.PROPOSAL, PauseKind.PROPOSAL),
                        (ES.PROMISED, PauseKind.PROMISE), (ES.PAUSED, PauseKind.MANUAL), (ES.CALLBACK, PauseKind.CALLBACK)):
        if kind in open_pause_kinds:
            return state
    return ES.AWAITING_APPROVAL if blocked else ES.RUNNING


def sources(event: str) -> tuple[str, ...]:
    """The states in which `event` may happen."""
    return _BY_EVENT[event].sources


def allowed(state: str, event: str) -> bool:
    return state in _BY_EVENT[event].sources


def target(state: str, event: str) -> str:
    """Where `event` takes an invoice in `state` (raises KeyError for an unknown event)."""
    transition = _BY_EVENT[event]
    return state if transition.target == "same" else transition.target


def markdown() -> str:
    lines = [
        "# Escalation states",
        "",
        "Generated from `portal/dunning/escalation/rules.py` (`python -m portal.dunning.escalation.rules > docs/escalation.md`);",
        "a test fails when the two differ. Every event reaches an invoice through one entry point,",
        "`portal.dunning.escalation.service.feed`, which refuses an event the invoice's state does not allow and",
        "leaves an `escalation_changed` audit event with the state before and after.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        "    [*] --> running: invoice issued",
        "    state open {",
    ]
    # An event that any open state allows is drawn once, from the composite "open" state; an event
    # that leaves the state as it is appears in the table only.
    outer = []
    for t in TRANSITIONS:
        if set(t.sources) == set(ANY_OPEN) and t.target != "same":
            outer.append(f"    open --> {t.target}: {t.event}")
            continue
        for source in t.sources:
            to = source if t.target == "same" else t.target
            if to != source and to != ES.SETTLED:
                lines.append(f"        {source} --> {to}: {t.event}")
            elif to == ES.SETTLED:
                outer.append(f"    {source} --> settled: {t.event}")
    lines += ["    }", *outer]
    lines += ["    settled --> [*]", "```", "", "## States", "", "| state | meaning |", "| --- | --- |"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in STATES.items()]
    lines += ["", "When several hold at once the first in this table names the state.", "",
              "## Events", "", "| event | from | to | what happens |", "| --- | --- | --- | --- |"]
    for t in TRANSITIONS:
        sources = ", ".join(f"`{s}`" for s in t.sources)
        to = "(unchanged)" if t.target == "same" else f"`{t.target}`"
        lines.append(f"| `{t.event}` | {sources} | {to} | {t.effect} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
