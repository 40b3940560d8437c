"""The escalation state of one open invoice, the events that change it, and the transitions
between them: pure data, read by escalation.feed (which refuses an event its state does not
allow and audits every transition) and rendered into docs/escalation.md, which a test compares
with this file so the two cannot drift. `python -m portal.dunning.transitions > docs/escalation.md`
writes it again.
"""

from __future__ import annotations

from dataclasses import dataclass

# Precedence: when several hold at once the first one names the state (a disputed invoice on a
# plan is "disputed": nothing moves until the dispute is resolved).
STATES = {
    "disputed": "The client disputes the invoice: the ladder waits for staff to resolve it (at most DISPUTE_MAX_DAYS).",
    "on_plan": "An accepted repayment schedule runs: the installments, not the due date, steer the ladder.",
    "proposal": "A repayment schedule is under negotiation: the ladder waits (at most PROPOSAL_REVIEW_DAYS).",
    "promised": "The client promised a payment date: the ladder waits until that day plus grace.",
    "paused": "Staff paused the ladder with a reason (until a date or until lifted).",
    "callback": "A callback is agreed with the client about an order waiting for its prepayment: its reminders wait until then.",
    "awaiting_approval": "A privileged client's legal step waits for an admin's decision.",
    "running": "The ladder runs: each step on its day and time, one after another.",
    "settled": "Paid in full, credited or cancelled: nothing more happens.",
}
ACTIVE = ("running", "paused", "callback", "promised", "proposal", "on_plan", "awaiting_approval")
ANY_OPEN = ACTIVE + ("disputed",)


@dataclass(frozen=True)
class Transition:
    event: str
    sources: tuple[str, ...]
    target: str  # "same": the state does not change
    effect: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("payment_partial", ANY_OPEN, "same", "The balance falls; the ladder goes on with the remainder."),
    Transition("payment_full", ANY_OPEN, "settled",
               "Everything stops at once: pending actions and unsent emails cancelled, pauses ended, tasks closed."),
    Transition("spec_approved", ANY_OPEN, "same", "The client is engaged: recorded, and the state decided again."),
    Transition("promise", ("running", "paused", "callback", "promised", "awaiting_approval"), "promised",
               "The ladder waits until the promised day plus grace; a new promise replaces the old one."),
    Transition("promise_broken", ("promised",), "running",
               "The day passed unpaid: the next step comes at once, the manager is told, discipline counts it."),
    Transition("dispute_opened", ("running", "paused", "callback", "promised", "proposal", "on_plan", "awaiting_approval"), "disputed",
               "The ladder waits; the dispute appears in the staff's disputes list with a task."),
    Transition("dispute_rejected", ("disputed",), "running", "Staff answered: the ladder goes on from where it stood."),
    # ANY_OPEN: a dispute whose pause ran out (DISPUTE_MAX_DAYS) is still resolved by staff
    Transition("dispute_credited", ANY_OPEN, "settled", "A credit note cancels the invoice: the ladder stops."),
    Transition("dispute_corrected", ANY_OPEN, "settled",
               "The invoice is cancelled and a corrected one issued, which starts its own ladder."),
    Transition("proposal", ("running", "paused", "promised", "proposal", "awaiting_approval"), "proposal",
               "A schedule is proposed or countered: the ladder waits while it is negotiated."),
    Transition("schedule_rejected", ("proposal",), "running", "No agreement: the ladder goes on."),
    Transition("proposal_expired", ("proposal",), "running", "The review time ran out: the ladder goes on."),
    Transition("plan_accepted", ("running", "paused", "promised", "proposal", "awaiting_approval"), "on_plan",
               "Signed: the installments steer; each gets the ladder's pre-due reminder."),
    Transition("installment_paid", ("on_plan",), "on_plan", "The installment is marked paid."),
    Transition("plan_broken", ("on_plan",), "running",
               "An installment was missed: the next step of the ladder comes at once and the negotiator gets a task."),
    Transition("pause_expired", ("paused", "disputed"), "running",
               "The pause's time ran out (a dispute at DISPUTE_MAX_DAYS keeps its task for staff): the ladder goes on."),
    Transition("staff_pause", ("running", "paused", "callback", "awaiting_approval"), "paused", "A credit controller paused it with a reason."),
    Transition("pause_lifted", ("paused", "promised"), "running", "The pause ended early; the ladder goes on."),
    Transition("callback_agreed", ("running", "paused", "callback", "promised"), "callback",
               "Staff agreed a callback about a waiting order: its prepayment reminders wait until the callback's time "
               "(a moved callback moves the wait)."),
    Transition("callback_done", ("callback",), "running", "The callback was made before its time: the reminders go on."),
    Transition("callback_due", ("callback",), "running", "The callback's time came: the reminders go on after it."),
)
EVENTS = tuple(t.event for t in TRANSITIONS)
# Fed by the tick itself when a pause's time runs out (planner._end_expired), per pause kind; every
# other event comes through escalation.feed.
EXPIRY_EVENTS = {"promise": "promise_broken", "proposal": "proposal_expired", "plan": "plan_broken",
                 "manual": "pause_expired", "dispute": "pause_expired", "callback": "callback_due"}
_BY_EVENT = {t.event: t for t in TRANSITIONS}


def state_of(open_pause_kinds: set[str], *, settled: bool, blocked: bool) -> str:
    """The state of an invoice from its facts."""
    if settled:
        return "settled"
    for state, kind in (("disputed", "dispute"), ("on_plan", "plan"), ("proposal", "proposal"),
                        ("promised", "promise"), ("paused", "manual"), ("callback", "callback")):
        if kind in open_pause_kinds:
            return state
    return "awaiting_approval" if blocked else "running"


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
        "Generated from `portal/dunning/transitions.py` (`python -m portal.dunning.transitions > docs/escalation.md`);",
        "a test fails when the two differ. Every event reaches an invoice through one entry point,",
        "`portal.dunning.escalation.feed`, which refuses an event the invoice's state does not allow and",
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
            if to != source and to != "settled":
                lines.append(f"        {source} --> {to}: {t.event}")
            elif to == "settled":
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
