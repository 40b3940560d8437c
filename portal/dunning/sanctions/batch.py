"""Sanctions for a whole batch of ladder steps at once (the dunning tick): the same decisions as
sanctions.apply_sanction (sanction_rules.plan_sanction), written in a handful of set-based
statements instead of a dozen queries per client. Joins the executor's transaction."""

from __future__ import annotations

import datetime as dt

from portal import bulk, db
from portal.audit import service as audit
from portal.auth.tables import User
from portal.clients import notices as client_notices, service as client_terms
from portal.clients.notices import DEFAULT_SUBJECT, EMAIL_FOOTER, SUBJECTS, portal_address, speaking
from portal.clients.tables import Client
from portal.dunning.sanctions import rules
from portal.dunning.sanctions.tables import Sanction
from portal.mail import service as mail
from portal.mail.tables import EmailStatus
from portal.tasks import notifications
from portal.web import i18n

LINK = "/client/invoices"


async def apply_sanctions(requests: list[tuple[int, int, str]], now: dt.datetime, addresses: dict[int, str]) -> dict[int, str]:
    """requests: (action id, client id, kind). Returns each action's outcome. `addresses`: where
    each client's mail goes (clients without one get the notice only)."""
    if not requests:
        return {}
    # Most steps find their sanction already in force (a client has many overdue invoices): those
    # are settled without a lock. Only the clients about to change are locked, and what is in force
    # for them is read again under the lock: another runner may have applied it meanwhile.
    active = await _in_force(sorted({client_id for _, client_id, _ in requests}))
    changing = sorted({client_id for _, client_id, kind in requests if (client_id, kind) not in active})
    clients: dict[int, dict] = {}
    if changing:
        query = Client.select(
            Client.id, Client.name, Client.language, Client.sales_manager, Client.discount_bp, Client.service_priority,
            Client.on_credit_hold,
        ).where(Client.id.is_in(changing)).order_by(Client.id)
        if db.is_postgres():  # a payment lifting sanctions of one of these clients waits, and the other way round
            query = query.lock_rows("NO KEY UPDATE")  # inserts referencing these clients need not wait
        clients = {row["id"]: row for row in await query}
        locked = set(changing)
        active = {key for key in active if key[0] not in locked} | await _in_force(changing)
    manager_ids = sorted({c["sales_manager"] for c in clients.values() if c["sales_manager"]})
    languages: dict[int, str] = {}
    if manager_ids:
        languages = {u["id"]: u["language"] for u in await User.select(User.id, User.language).where(User.id.is_in(manager_ids))}

    outcomes: dict[int, str] = {}
    sanctions, events, notices, emails, notes, changed = [], [], [], [], [], set()
    for action_id, client_id, kind in requests:
        if (client_id, kind) in active:
            outcomes[action_id] = rules.already_active_outcome(kind)
            continue
        client = clients[client_id]
        active.add((client_id, kind))
        plan = rules.plan_sanction(kind, rules.Terms(client["discount_bp"], client["service_priority"], client["on_credit_hold"]))
        sanctions.append((client_id, kind, plan.previous_value, action_id, now))
        before = {name: client[name] for name in plan.updates}
        after = {"sanction": kind, **plan.updates, **({"outcome": plan.outcome} if not plan.changes_anything else {})}
        events.append(("sanction_applied", "client", client_id, client_id, before, after))
        if plan.changes_anything:
            with speaking(client["language"]):
                message = i18n.gettext(
                    rules.APPLIED_MESSAGES[kind], discount=i18n.format_percent_bp(client["discount_bp"]),
                    priority=i18n.gettext(rules.priority_text(client["service_priority"])),
                )
                subject = i18n.gettext(SUBJECTS.get("sanction_applied", DEFAULT_SUBJECT))
                footer = i18n.gettext(EMAIL_FOOTER, url=portal_address(LINK))
            notices.append((client_id, "sanction_applied", message, LINK, now))
            if addresses.get(client_id):
                emails.append((f"sanction-action-{action_id}", addresses[client_id], subject[:300], f"{message}\n\n{footer}\n",
                               client_id, None, EmailStatus.QUEUED, 0, now, now))
        client.update(plan.updates)
        changed.add(client_id)
        if client["sales_manager"]:
            with speaking(languages.get(client["sales_manager"], "en")):
                text = i18n.gettext(rules.MANAGER_APPLIED, client=client["name"], what=i18n.gettext(rules.STAFF_LABELS[kind]))
            notes.append((client["sales_manager"], now, text[:300], f"/staff/clients/{client_id}"))
        outcomes[action_id] = plan.outcome

    await bulk.insert_many(Sanction, (Sanction.client, Sanction.kind, Sanction.previous_value, Sanction.action, Sanction.applied_at),
                           sanctions)
    await client_terms.set_terms_many(
        [(cid, clients[cid]["discount_bp"], clients[cid]["service_priority"], clients[cid]["on_credit_hold"]) for cid in sorted(changed)], now)
    await audit.record_system_events(events, at=now)
    await client_notices.post_many(notices)
    await mail.queue_many(emails)
    await notifications.notify_many(notes)
    return outcomes


async def _in_force(client_ids: list[int]) -> set[tuple[int, str]]:
    """(client, kind) of the sanctions in force for these clients."""
    return {(r["client"], r["kind"]) for r in await Sanction.select(Sanction.client, Sanction.kind).where(
        Sanction.client.is_in(client_ids) & Sanction.lifted_at.is_null()
    )}
