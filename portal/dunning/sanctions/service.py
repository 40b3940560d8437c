"""Consequences of overdue debt on a client: its discount removed, its service priority lowered,
a credit hold (no new order enters production). Each is a Sanction row remembering the value it
replaced; all of them are lifted by themselves once the client has no overdue debt left.

Both writing functions join the caller's transaction (the engine's step, or the payment that
clears the debt), leave audit events, tell the client (notice and email, in its language) and its
sales manager.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.tables import User
from portal.billing import conditions
from portal.billing.rules import is_overdue
from portal.billing.tables import Invoice
from portal.clients import service as clients
from portal.clients.notices import notify_client, speaking
from portal.clock import firm_today, utcnow
from portal.dunning.sanctions import rules
from portal.dunning.sanctions.tables import Sanction
from portal.tasks.notifications import notify
from portal.web import i18n


def _terms(client: dict) -> rules.Terms:
    return rules.Terms(client["discount_bp"], client["service_priority"], client["on_credit_hold"])


async def _tell_manager(client: dict, message: str, what: list[str]) -> None:
    """A notification for the client's sales manager, in the manager's language."""
    if client["sales_manager"] is None:
        return
    manager = await User.select(User.id, User.language).where(User.id == client["sales_manager"]).first()
    if manager is None:
        return
    with speaking(manager["language"]):
        text = i18n.gettext(message, client=client["name"], what=", ".join(i18n.gettext(w) for w in what))
    await notify(manager["id"], text, f"/staff/clients/{client['id']}")


async def apply_sanction(client_id: int, kind: str, actor: Actor, *, action_id: int | None = None,
                         now: dt.datetime | None = None) -> str:
    """Put one sanction on a client (once: an active one of that kind makes this a no-op) and say
    what happened in a few English words, for the dunning action's outcome."""
    if kind not in rules.SANCTION_KINDS:
        raise ValueError(f"unknown sanction {kind!r}")
    now = now or utcnow()
    async with db.transaction():
        client = await clients.lock_for_terms(client_id)
        if await Sanction.exists().where((Sanction.client == client_id) & (Sanction.kind == kind) & Sanction.lifted_at.is_null()):
            return rules.already_active_outcome(kind)
        plan = rules.plan_sanction(kind, _terms(client))
        sanction = Sanction(client=client_id, kind=kind, previous_value=plan.previous_value, action=action_id, applied_at=now)
        await sanction.save()
        await clients.set_terms(client_id, plan.updates, now)
        await audit.record(
            actor, "sanction_applied", "client", client_id, client_id=client_id,
            before={name: client[name] for name in plan.updates},
            after={"sanction": kind, **plan.updates, **({"outcome": plan.outcome} if not plan.changes_anything else {})},
        )
        if plan.changes_anything:
            with speaking(client["language"]):
                message = i18n.gettext(
                    rules.APPLIED_MESSAGES[kind], discount=i18n.format_percent_bp(client["discount_bp"]),
                    priority=i18n.gettext(rules.priority_text(client["service_priority"])),
                )
            await notify_client(client_id, "sanction_applied", message, link="/client/invoices",
                                email_key=f"sanction-{sanction.id}", now=now, language=client["language"])
        await _tell_manager(client, rules.MANAGER_APPLIED, [rules.STAFF_LABELS[kind]])
    return plan.outcome


async def has_overdue_debt(client_id: int, today: dt.date) -> bool:
    rows = await Invoice.select(
        Invoice.kind, Invoice.status, Invoice.due_date, Invoice.total_minor, Invoice.paid_minor,
    ).where(
        (Invoice.client == client_id) & conditions.overdue_debt(today)
    )
    return any(is_overdue(row, today) for row in rows)


@dataclass(frozen=True)
class Lifted:
    count: int = 0
    hold_lifted: bool = False  # the client's orders that waited only for the hold may enter production now


async def lift_if_clear(client_id: int, actor: Actor, now: dt.datetime | None = None, *, tz: str | None = None) -> Lifted:
    """Lift every active sanction of a client that has no overdue debt left: the replaced values
    come back (unless staff set newer ones) and the hold ends (portal.settlement then lets the
    production gates of its waiting orders look again). Nothing while overdue debt remains."""
    now = now or utcnow()
    async with db.transaction():
        if not await Sanction.exists().where((Sanction.client == client_id) & Sanction.lifted_at.is_null()):
            return Lifted()
        if await has_overdue_debt(client_id, firm_today(tz, now)):
            return Lifted()
        client = await clients.lock_for_terms(client_id)
        active = await Sanction.select().where((Sanction.client == client_id) & Sanction.lifted_at.is_null()).order_by(Sanction.id)
        if not active:
            return Lifted()
        updates = rules.restore_updates(active, _terms(client))
        await clients.set_terms(client_id, updates, now)
        await Sanction.update({Sanction.lifted_at: now, Sanction.lift_reason: rules.LIFT_REASON}).where(
            Sanction.id.is_in([s["id"] for s in active])
        )
        for sanction in active:
            restored = {name: value for name, value in updates.items() if _restores(sanction["kind"], name)}
            await audit.record(
                actor, "sanction_lifted", "client", client_id, client_id=client_id,
                before={name: client[name] for name in restored},
                after={"sanction": sanction["kind"], **restored, "reason": rules.LIFT_REASON},
            )
        await _tell_client_lifted(client, active, updates, now)
        await _tell_manager(client, rules.MANAGER_LIFTED, [rules.STAFF_LABELS[s["kind"]] for s in active])
    return Lifted(len(active), "on_credit_hold" in updates)


def _restores(kind: str, column: str) -> bool:
    return {"remove_discount": "discount_bp", "lower_priority": "service_priority", "credit_hold": "on_credit_hold"}[kind] == column


async def _tell_client_lifted(client: dict, active: list[dict], updates: dict, now: dt.datetime) -> None:
    """One notice and one email naming every term that came back (none when nothing changed)."""
    kinds = [s["kind"] for s in active if _restored_kind(s["kind"], updates)]
    if not kinds:
        return
    with speaking(client["language"]):
        changes = [
            i18n.gettext(
                rules.RESTORED_MESSAGES[kind], discount=i18n.format_percent_bp(updates.get("discount_bp", 0)),
                priority=i18n.gettext(rules.priority_text(updates.get("service_priority", 2))),
            )
            for kind in kinds
        ]
        message = i18n.gettext(rules.LIFTED_MESSAGE, changes=", ".join(changes))
    await notify_client(client["id"], "sanctions_lifted", message, link="/client",
                        email_key=f"sanctions-lifted-{active[0]['id']}", now=now, language=client["language"])


def _restored_kind(kind: str, updates: dict) -> bool:
    return any(_restores(kind, name) for name in updates)


# --- reading --------------------------------------------------------------------------------------

def _describe(row: dict) -> dict:
    row["title"] = rules.SANCTION_TITLES.get(row["kind"], row["kind"])
    row["effect"] = rules.SANCTION_EFFECTS.get(row["kind"], "")
    row["staff_label"] = rules.STAFF_LABELS.get(row["kind"], row["kind"])
    return row


_COLUMNS = (
    Sanction.id, Sanction.kind, Sanction.previous_value, Sanction.applied_at, Sanction.lifted_at, Sanction.lift_reason,
    Sanction.action, Sanction.action.invoice.as_alias("invoice_id"), Sanction.action.invoice.code.as_alias("invoice_code"),
)


async def active_sanctions(client_id: int) -> list[dict]:
    """The client's sanctions in force, oldest first, each with the overdue invoice that caused it
    (when a ladder step did) and its words for the client."""
    rows = await Sanction.select(*_COLUMNS).where((Sanction.client == client_id) & Sanction.lifted_at.is_null()).order_by(Sanction.id)
    return [_describe(row) for row in rows]


async def sanction_history(client_id: int, limit: int = 50) -> list[dict]:
    """Every sanction of the client, newest first (staff's view)."""
    rows = await Sanction.select(*_COLUMNS).where(Sanction.client == client_id).order_by(Sanction.id, ascending=False).limit(limit)
    return [_describe(row) for row in rows]

