"""Consequences of overdue debt on a client: its discount removed, its service priority lowered,
a credit hold (no new order enters production). Each is a Sanction row remembering the value it
replaced; all of them are lifted by themselves once the client has no overdue debt left.

Both writing functions join the caller's transaction (the engine's step, or the payment that
clears the debt), leave audit events, tell the client (notice and email, in its language) and its
sales manager.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.dunning import prepayment
from portal.dunning import sanction_rules as rules
from portal.dunning.notices import notify_client, speaking
from portal.dunning.tables import Sanction
from portal.tasks.notifications import notify
from portal.web import i18n


def firm_today(now: dt.datetime, tz: str | None = None) -> dt.date:
    """The firm's local date at `now` (the zone is set per request and per dunning run from
    settings.firm_timezone; pass `tz` to name it)."""
    return now.astimezone(ZoneInfo(tz or i18n.current_timezone())).date()


async def _locked_client(client_id: int) -> dict:
    query = Client.select(
        Client.id, Client.name, Client.language, Client.sales_manager, Client.discount_bp,
        Client.service_priority, Client.on_credit_hold,
    ).where(Client.id == client_id)
    if db.is_postgres():  # a payment lifting and a step applying for one client queue here
        query = query.lock_rows("NO KEY UPDATE")  # rows that reference the client (FK checks) need not wait
    client = await query.first()
    if client is None:
        raise LookupError(client_id)
    return client


def _terms(client: dict) -> rules.Terms:
    return rules.Terms(client["discount_bp"], client["service_priority"], client["on_credit_hold"])


def _columns(updates: dict) -> dict:
    return {getattr(Client, name): value for name, value in updates.items()}


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
        client = await _locked_client(client_id)
        if await Sanction.exists().where((Sanction.client == client_id) & (Sanction.kind == kind) & Sanction.lifted_at.is_null()):
            return rules.already_active_outcome(kind)
        plan = rules.plan_sanction(kind, _terms(client))
        sanction = Sanction(client=client_id, kind=kind, previous_value=plan.previous_value, action=action_id, applied_at=now)
        await sanction.save()
        if plan.updates:
            await Client.update({**_columns(plan.updates), Client.updated_at: now}).where(Client.id == client_id)
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
                                email_key=f"sanction-{sanction.id}", now=now)
        await _tell_manager(client, rules.MANAGER_APPLIED, [rules.STAFF_LABELS[kind]])
    return plan.outcome


async def has_overdue_debt(client_id: int, today: dt.date) -> bool:
    rows = await Invoice.select(
        Invoice.kind, Invoice.status, Invoice.due_date, Invoice.total_minor, Invoice.paid_minor,
    ).where(
        (Invoice.client == client_id) & (Invoice.kind == "invoice") & (Invoice.status == "issued") & (Invoice.due_date < today)
        & prepayment.not_prepayment()
    )
    return any(rules.is_overdue(row, today) for row in rows)


async def lift_if_clear(client_id: int, actor: Actor, now: dt.datetime | None = None, *, tz: str | None = None) -> int:
    """Lift every active sanction of a client that has no overdue debt left: the replaced values
    come back (unless staff set newer ones), the hold ends and orders that waited only for it move
    on. Returns how many were lifted (0 while overdue debt remains)."""
    now = now or utcnow()
    async with db.transaction():
        if await has_overdue_debt(client_id, firm_today(now, tz)):
            return 0
        if not await Sanction.exists().where((Sanction.client == client_id) & Sanction.lifted_at.is_null()):
            return 0
        client = await _locked_client(client_id)
        active = await Sanction.select().where((Sanction.client == client_id) & Sanction.lifted_at.is_null()).order_by(Sanction.id)
        if not active:
            return 0
        updates = rules.restore_updates(active, _terms(client))
        if updates:
            await Client.update({**_columns(updates), Client.updated_at: now}).where(Client.id == client_id)
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
        if "on_credit_hold" in updates:
            await _refresh_production_gates(client_id, actor)
    return len(active)


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
                        email_key=f"sanctions-lifted-{active[0]['id']}", now=now)


def _restored_kind(kind: str, updates: dict) -> bool:
    return any(_restores(kind, name) for name in updates)


async def _refresh_production_gates(client_id: int, actor: Actor) -> None:
    """The hold is gone: each order of the client still before production looks at its gate again
    (the same refresh a payment triggers), so one that waited only for the hold enters production."""
    from portal.orders import rules as order_rules
    from portal.orders.service import refresh_gate
    from portal.orders.tables import Order

    waiting = [stage.value for stage in order_rules.BEFORE_PRODUCTION]
    for order in await Order.select(Order.id, Order.client, Order.stage).where(
        (Order.client == client_id) & Order.stage.is_in(waiting)
    ).order_by(Order.id):
        await refresh_gate(order, actor)


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

