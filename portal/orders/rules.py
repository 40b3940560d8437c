"""The order pipeline as pure decisions: which moves are legal, and the production gate.

An order enters production only when the client approved the CURRENT spec version and the
order's invoice is paid 100 % (DOMAIN.md section 1). The system moves it there itself when
the second of the two arrives; staff cannot move it there by hand, except an admin with a
recorded reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.messages import N_
from portal.orders.tables import BEFORE_PRODUCTION, Stage

STAGE_LABELS = {
    Stage.REQUEST: N_("Request"),
    Stage.LAYOUT: N_("Layout in progress"),
    Stage.SPEC_SENT: N_("Spec sent"),
    Stage.SPEC_APPROVED: N_("Spec approved"),
    Stage.AWAITING_PREPAYMENT: N_("Awaiting prepayment"),
    Stage.IN_PRODUCTION: N_("In production"),
    Stage.DELIVERED: N_("Delivered"),
    Stage.CLOSED: N_("Closed"),
    Stage.CANCELLED: N_("Cancelled"),
}

BOARD_COLUMNS = (
    Stage.REQUEST, Stage.LAYOUT, Stage.SPEC_SENT, Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT,
    Stage.IN_PRODUCTION, Stage.DELIVERED, Stage.CLOSED, Stage.CANCELLED,
)
WAITING_FOR_MONEY = (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT)
OPEN_STAGES = (*BEFORE_PRODUCTION, Stage.IN_PRODUCTION)

# Moves staff may make by hand (drag on the board). Everything else happens through an
# action: sending a spec, the client's decision, a payment, or an admin's gate override.
MANUAL_MOVES: dict[Stage, tuple[Stage, ...]] = {
    Stage.REQUEST: (Stage.LAYOUT, Stage.CANCELLED),
    Stage.LAYOUT: (Stage.REQUEST, Stage.CANCELLED),
    Stage.SPEC_SENT: (Stage.LAYOUT, Stage.CANCELLED),
    Stage.SPEC_APPROVED: (Stage.AWAITING_PREPAYMENT, Stage.CANCELLED),
    Stage.AWAITING_PREPAYMENT: (Stage.SPEC_APPROVED, Stage.CANCELLED),
    Stage.IN_PRODUCTION: (Stage.DELIVERED,),
    Stage.DELIVERED: (Stage.CLOSED,),
    Stage.CLOSED: (),
    Stage.CANCELLED: (),
}


@dataclass(frozen=True)
class GateFacts:
    """What the production gate looks at."""

    spec_approved: bool  # the client approved the current spec version
    paid_in_full: bool  # the order's invoice balance is zero
    on_credit_hold: bool = False  # sanctions (dunning) keep new orders out of production


@dataclass(frozen=True)
class Refused:
    reason: str  # an English message id; the caller translates it


@dataclass(frozen=True)
class Allowed:
    target: Stage


def gate_open(facts: GateFacts) -> bool:
    return facts.spec_approved and facts.paid_in_full and not facts.on_credit_hold


def gate_missing(facts: GateFacts) -> list[str]:
    """What the gate still waits for, as message ids (empty when open)."""
    missing = []
    if not facts.spec_approved:
        missing.append(N_("spec approval"))
    if not facts.paid_in_full:
        missing.append(N_("100%% prepayment"))
    if facts.on_credit_hold:
        missing.append(N_("credit hold lifted"))
    return missing


def decide_manual_move(current: Stage, target: Stage, facts: GateFacts, *, is_admin: bool, reason: str = "") -> Allowed | Refused:
    """A move a person asks for on the board or the order page."""
    if target == current:
        return Refused(N_("The order is already there."))
    if target is Stage.IN_PRODUCTION:
        if current not in BEFORE_PRODUCTION:
            return Refused(N_("Only an order waiting for production can enter it."))
        if gate_open(facts):
            return Allowed(target)
        if not is_admin:
            return Refused(N_("Production waits for: %(missing)s. Only an admin can override the gate, with a reason."))
        if not reason.strip():
            return Refused(N_("An override of the production gate needs a reason."))
        return Allowed(target)
    if target is Stage.SPEC_SENT:
        return Refused(N_("Send the technical spec from the order page; that moves the order."))
    if target is Stage.SPEC_APPROVED and current is not Stage.AWAITING_PREPAYMENT:
        return Refused(N_("Only the client's approval of the spec moves an order to approved."))
    if target not in MANUAL_MOVES[current]:
        return Refused(N_("An order cannot move from %(current)s to %(target)s."))
    return Allowed(target)


def after_spec_sent(current: Stage) -> Stage | None:
    """Sending spec version N moves the order to 'spec sent' (a new version re-opens approval)."""
    if current in (Stage.REQUEST, Stage.LAYOUT, Stage.SPEC_SENT, Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT):
        return Stage.SPEC_SENT
    return None


def after_changes_requested(current: Stage) -> Stage | None:
    return Stage.LAYOUT if current is Stage.SPEC_SENT else None


def after_facts_changed(current: Stage, facts: GateFacts) -> Stage | None:
    """Where the order goes by itself when an approval or a payment arrives (None: it stays)."""
    if current in BEFORE_PRODUCTION and gate_open(facts):
        return Stage.IN_PRODUCTION
    if current is Stage.SPEC_SENT and facts.spec_approved:
        return Stage.SPEC_APPROVED
    return None


def waits_for(stage: Stage, facts: GateFacts, has_spec_draft: bool = False) -> str:
    """What the order is waiting for, in a few words (a message id)."""
    if stage is Stage.REQUEST:
        return N_("layout variants from the designer")
    if stage is Stage.LAYOUT:
        return N_("the spec to be sent") if has_spec_draft else N_("layout variants and the spec")
    if stage is Stage.SPEC_SENT:
        return N_("the client's approval (already paid)") if facts.paid_in_full else N_("the client's approval")
    if stage in WAITING_FOR_MONEY:
        return N_("credit hold to be lifted") if facts.on_credit_hold and facts.paid_in_full else N_("100%% prepayment")
    if stage is Stage.IN_PRODUCTION:
        return N_("production to finish")
    if stage is Stage.DELIVERED:
        return N_("closing")
    return ""


def order_code(year: int, number: int) -> str:
    return f"ORD-{year}-{number:04d}"


def age_in_stage(changed_at: dt.datetime, now: dt.datetime) -> dt.timedelta:
    return max(now - changed_at, dt.timedelta(0))


def board_sort_key(client_has_overdue_debt: bool, stage_changed_at: dt.datetime, order_id: int) -> tuple:
    """Debt-free clients first (DOMAIN.md section 2), then the longest-waiting order."""
    return (client_has_overdue_debt, stage_changed_at, order_id)
