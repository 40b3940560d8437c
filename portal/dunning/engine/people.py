"""Who does a ladder step: the client's sales manager, a credit controller, a lawyer or an admin.
A role nobody holds falls back to an admin, so no step is ever left without a person."""

from __future__ import annotations

from portal.auth.roles import Kind
from portal.auth.tables import User


async def staff_by_role() -> dict[str, list[int]]:
    """Active staff ids per duty, lowest id first; one query."""
    rows = await User.select(User.id, User.role, User.is_legal).where(
        (User.kind == Kind.STAFF.value) & (User.is_active == True)  # noqa: E712
    ).order_by(User.id)
    out: dict[str, list[int]] = {"admin": [], "credit_controller": [], "lawyer": [], "negotiator": []}
    for row in rows:
        if row["role"] in out:
            out[row["role"]].append(row["id"])
        if row["is_legal"]:
            out["lawyer"].append(row["id"])
    return out


async def first_of_role(role: str) -> int | None:
    people = await staff_by_role()
    return (people.get(role) or people["admin"] or [None])[0]


async def staff_languages() -> dict[int, str]:
    """The language each active staff member works in: the texts of their tasks are written in it."""
    rows = await User.select(User.id, User.language).where((User.kind == Kind.STAFF.value) & (User.is_active == True))  # noqa: E712
    return {row["id"]: row["language"] for row in rows}


def assignee_for(duty: str, sales_manager: int | None, people: dict[str, list[int]]) -> int | None:
    """The person for a step's duty; `people` from staff_by_role()."""
    if duty == "manager" and sales_manager:
        return sales_manager
    chain = {
        "manager": ("credit_controller", "admin"),
        "credit_controller": ("credit_controller", "admin"),
        "lawyer": ("lawyer", "negotiator", "admin"),
        "admin": ("admin",),
    }.get(duty, ("admin",))
    for role in chain:
        if people.get(role):
            return people[role][0]
    return None
