"""Who may do what, once: each permission names the staff roles that hold it (admins hold every
one). Route guards (web.guards.allowed), controllers and templates (`user.can.<name>`) all read
this table, so a page never offers what its route would refuse."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from portal.auth.roles import Role

S, C, D, SC, N = Role.SALES_MANAGER, Role.CREDIT_CONTROLLER, Role.DESIGNER, Role.SPEC_COORDINATOR, Role.NEGOTIATOR


@dataclass(frozen=True)
class Can:
    register_requests: bool = False  # intake of a new order with its invoice
    take_money: bool = False  # record, split and reverse payments; cancel invoices
    reconcile_bank: bool = False  # bank accounts, statement imports, the reconciliation queue
    edit_clients: bool = False  # clients, their contacts and logins
    draw_layouts: bool = False  # upload layout variants
    write_specs: bool = False  # draft and send technical specifications
    control_dunning: bool = False  # worklist bulk actions, ladders, delay reasons, lifting pauses, email retries
    send_letters: bool = False  # mark letters sent, case files
    negotiate: bool = False  # draft, counter, accept repayment schedules; share links; resolve disputes
    see_layout_work: bool = False  # the designers' worklist on the dashboard
    see_others_calendars: bool = False
    override_gate: bool = False  # an order into production without its facts, with a reason
    decide_hand_overs: bool = False  # a privileged client's court or legal hand-over
    see_sales: bool = False  # the sales factors on the dashboard
    see_reports: bool = False  # /staff/reports: aging, DSO, ABC, outcomes, sales (a sales manager: their own clients)
    see_all_reports: bool = False  # ... of every client, not only one's own
    apply_segments: bool = False  # set clients' segments from the ABC analysis (it chooses their ladder)
    administer_users: bool = False


# permission -> the roles that hold it besides admins
GRANTS: dict[str, tuple[Role, ...]] = {
    "register_requests": (S,),
    "take_money": (S, C),
    "reconcile_bank": (C,),
    "edit_clients": (S, C),
    "draw_layouts": (D,),
    "write_specs": (SC,),
    "control_dunning": (C,),
    "send_letters": (C, N),
    "negotiate": (N, C),
    "see_layout_work": (D, SC),
    "see_others_calendars": (C,),
    "override_gate": (),
    "decide_hand_overs": (),
    "see_sales": (),
    "see_reports": (S, C),
    "see_all_reports": (C,),
    "apply_segments": (),
    "administer_users": (),
}
assert set(GRANTS) == {f.name for f in fields(Can)}, "every permission is granted somewhere"

NOBODY = Can()


@lru_cache(maxsize=32)
def can(role: Role, *, staff: bool) -> Can:
    """What a user of this role may do (a client user: nothing of the staff's)."""
    if not staff:
        return NOBODY
    if role is Role.ADMIN:
        return Can(**{name: True for name in GRANTS})
    return Can(**{name: role in roles for name, roles in GRANTS.items()})
