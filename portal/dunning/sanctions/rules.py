"""Sanctions and terms changes as pure decisions: no I/O, no clock, no ORM.

A sanction replaces one of the client's terms (discount, service priority, credit hold) and
remembers the value it replaced. Lifting it puts that value back only when the term still holds
what the sanction set: a newer value chosen by staff meanwhile is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.clients.rules import priority_text
from portal.messages import N_

SANCTION_KINDS = ("remove_discount", "lower_priority", "credit_hold")
LOWEST_PRIORITY = 3  # 1 high, 2 normal, 3 low
LIFT_REASON = "overdue debt cleared"

# What the client reads about an active sanction: what it is, and how it ends.
SANCTION_TITLES = {
    "remove_discount": N_("Your usual discount is suspended"),
    "lower_priority": N_("Your service priority is lowered"),
    "credit_hold": N_("Your account is on credit hold"),
}
SANCTION_EFFECTS = {
    "remove_discount": N_("New orders are priced without your discount."),
    "lower_priority": N_("Clients without overdue debt are served first."),
    "credit_hold": N_("New orders do not enter production while the hold lasts."),
}
# What the client is told when a sanction starts (values: discount, priority).
APPLIED_MESSAGES = {
    "remove_discount": N_("Because of overdue debt, your discount of %(discount)s is suspended. "
                          "It comes back by itself when the overdue balance is paid."),
    "lower_priority": N_("Because of overdue debt, your service priority is lowered from %(priority)s to Low. "
                         "It comes back by itself when the overdue balance is paid."),
    "credit_hold": N_("Because of overdue debt, your account is on credit hold: "
                      "new orders do not enter production until the overdue balance is paid."),
}
# What the sales manager is told (values: client, what).
MANAGER_APPLIED = N_("Sanction for %(client)s (overdue debt): %(what)s.")
MANAGER_LIFTED = N_("Overdue debt of %(client)s cleared: sanctions lifted (%(what)s).")
STAFF_LABELS = {
    "remove_discount": N_("discount removed"),
    "lower_priority": N_("service priority lowered"),
    "credit_hold": N_("credit hold"),
}
# What the client is told when a term comes back (values: discount, priority).
RESTORED_MESSAGES = {
    "remove_discount": N_("your discount of %(discount)s is back"),
    "lower_priority": N_("your service priority is %(priority)s again"),
    "credit_hold": N_("the credit hold is lifted"),
}
LIFTED_MESSAGE = N_("Thank you: your overdue debt is paid, so %(changes)s.")


@dataclass(frozen=True)
class Terms:
    """The client's terms a sanction touches."""

    discount_bp: int
    service_priority: int
    on_credit_hold: bool


@dataclass(frozen=True)
class Plan:
    """What applying a sanction does: the value it remembers, the columns it changes (by name),
    whether the client notices anything, and the outcome in a few English words for the log."""

    kind: str
    previous_value: int
    updates: dict = field(default_factory=dict)
    changes_anything: bool = True
    outcome: str = ""


def percent_text(bp: int) -> str:
    """Basis points for the action log (English, not shown to clients): 550 -> '5.50 %'."""
    return f"{bp / 100:.2f} %"


def plan_sanction(kind: str, terms: Terms) -> Plan:
    """Apply `kind` to a client with these terms. Nothing to take away is still a sanction (so
    lifting it restores correctly), but it changes nothing the client would notice."""
    if kind == "remove_discount":
        if terms.discount_bp == 0:
            return Plan(kind, 0, {}, False, N_("Sanction recorded: no discount to remove"))
        return Plan(kind, terms.discount_bp, {"discount_bp": 0}, True, f"Discount {percent_text(terms.discount_bp)} removed")
    if kind == "lower_priority":
        if terms.service_priority >= LOWEST_PRIORITY:
            return Plan(kind, terms.service_priority, {}, False, N_("Sanction recorded: service priority already low"))
        return Plan(
            kind, terms.service_priority, {"service_priority": LOWEST_PRIORITY}, True,
            f"Service priority lowered from {priority_text(terms.service_priority)} to Low",
        )
    if kind == "credit_hold":
        if terms.on_credit_hold:
            return Plan(kind, 0, {}, False, N_("Sanction recorded: the client was already on credit hold"))
        return Plan(kind, 0, {"on_credit_hold": True}, True, N_("Credit hold put on"))
    raise ValueError(f"unknown sanction {kind!r}")


def already_active_outcome(kind: str) -> str:
    return f"Already in force: {STAFF_LABELS[kind]} (nothing changed)"


def restore_updates(sanctions: list[dict], terms: Terms) -> dict:
    """The columns to set when these active sanctions are lifted. A discount or priority comes
    back only while it still holds what the sanction set; the credit hold always ends."""
    updates: dict = {}
    for sanction in sanctions:
        kind, previous = sanction["kind"], sanction["previous_value"]
        if kind == "remove_discount" and terms.discount_bp == 0 and previous != 0:
            updates["discount_bp"] = previous
        elif kind == "lower_priority" and terms.service_priority == LOWEST_PRIORITY and previous != LOWEST_PRIORITY:
            updates["service_priority"] = previous
        elif kind == "credit_hold" and terms.on_credit_hold:
            updates["on_credit_hold"] = False
    return updates


