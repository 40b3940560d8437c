"""Client companies and their contacts: list, read, create, edit. One transaction per use case."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from portal import bulk, db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.roles import Kind, Role
from portal.auth.tables import User
from portal.clients import rules
from portal.clients.notices import notify_terms_changed
from portal.clients.tables import Client, Contact
from portal.clock import utcnow
from portal.money import to_decimal
from portal.web.forms import Checked
from portal.web.pagination import Page, decode_cursor, encode_cursor
from portal.web.sorting import Sort, keyset

PAGE_SIZE = 25
_AUDITED = (
    "name", "tax_id", "email", "phone", "address", "currency", "payment_terms_days", "credit_limit_minor",
    "discount_bp", "service_priority", "segment", "privileged", "forgiveness_days", "language", "sales_manager",
)


async def sales_managers() -> list[dict]:
    return await User.select(User.id, User.name).where(
        (User.kind == Kind.STAFF.value) & (User.role == Role.SALES_MANAGER.value) & (User.is_active == True)  # noqa: E712
    ).order_by(User.name)


CLIENT_SORTS = ("name", "limit", "terms")
BY_NAME = Sort("name")
_SORT_COLUMNS = {"name": Client.name_folded, "limit": Client.credit_limit_minor, "terms": Client.payment_terms_days}


async def list_clients(*, search: str = "", segment: str = "", privileged: bool = False, cursor: str | None = None,
                       sort: Sort = BY_NAME) -> Page:
    """Clients by name (or credit limit, or payment terms), PAGE_SIZE at a time, keyset-paged on
    (the sort column, id)."""
    query = Client.select(
        Client.id, Client.name, Client.segment, Client.privileged, Client.currency, Client.payment_terms_days,
        Client.credit_limit_minor, Client.on_credit_hold, Client.sales_manager.name,
    )
    if search:
        needle = f"%{rules.fold(search).replace('%', '').replace('_', '')}%"
        # name_folded and email are stored lower-case, tax ids upper-case: LIKE behaves the same on both engines
        query = query.where(Client.name_folded.like(needle) | Client.tax_id.like(needle.upper()) | Client.email.like(needle))
    if segment in rules.SEGMENTS:
        query = query.where(Client.segment == segment)
    if privileged:
        query = query.where(Client.privileged == True)  # noqa: E712
    key = decode_cursor(cursor, (str, int))
    after = None
    if key and (sort.key == "name" or key[0].isdigit()):
        after = (key[0] if sort.key == "name" else int(key[0]), key[1])
    rows = await keyset(query, _SORT_COLUMNS[sort.key], Client.id, sort, after).limit(PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1] if rows else None
    value = {"name": lambda r: rules.fold(r["name"]), "limit": lambda r: str(r["credit_limit_minor"]),
             "terms": lambda r: str(r["payment_terms_days"])}[sort.key]
    next_cursor = encode_cursor([value(last), last["id"]]) if more and last else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=after is None)


async def get_client(client_id: int) -> dict | None:
    return await Client.select(Client.all_columns(), Client.sales_manager.name, Client.sales_manager.email).where(
        Client.id == client_id
    ).first()


async def contacts_of(client_id: int) -> list[dict]:
    return await Contact.select().where(Contact.client == client_id).order_by(Contact.is_primary, ascending=False).order_by(Contact.name)


def client_form_values(client: dict) -> dict[str, str]:
    """A stored client as the strings its edit form shows."""
    return {
        "name": client["name"], "tax_id": client["tax_id"], "email": client["email"], "phone": client["phone"],
        "address": client["address"], "currency": client["currency"],
        "payment_terms_days": str(client["payment_terms_days"]),
        "credit_limit": f"{to_decimal(client['credit_limit_minor'], client['currency']):f}",
        "discount": f"{client['discount_bp'] / 100:g}", "service_priority": str(client["service_priority"]),
        "segment": client["segment"], "privileged": "on" if client["privileged"] else "",
        "forgiveness_days": str(client["forgiveness_days"]), "language": client["language"],
        "sales_manager": str(client["sales_manager"] or ""),
    }


async def check_client_form(form: dict[str, str]) -> Checked:
    managers = {m["id"] for m in await sales_managers()}
    return rules.check_client(form, managers)


def _stored(values: dict[str, Any]) -> dict[Any, Any]:
    return {getattr(Client, k): values[k] for k in _AUDITED} | {Client.name_folded: rules.fold(values["name"])}


async def create_client(form: dict[str, str], actor: Actor) -> tuple[int | None, Checked]:
    checked = await check_client_form(form)
    if not checked.ok:
        return None, checked
    now = utcnow()
    async with db.transaction():
        row = Client(**{k: checked.values[k] for k in _AUDITED}, name_folded=rules.fold(checked.values["name"]), created_at=now, updated_at=now)
        await row.save()
        await audit.record(actor, "client_created", "client", row.id, client_id=row.id, after={k: checked.values[k] for k in _AUDITED})
    return row.id, checked


async def update_client(client_id: int, form: dict[str, str], actor: Actor) -> Checked:
    checked = await check_client_form(form)
    if not checked.ok:
        return checked
    async with db.transaction():
        current = await Client.select(*(getattr(Client, k) for k in _AUDITED)).where(Client.id == client_id).first()
        if current is None:
            raise LookupError(client_id)
        before, after = audit.changes(current, {k: checked.values[k] for k in _AUDITED})
        if after:
            await Client.update({**_stored(checked.values), Client.updated_at: utcnow()}).where(Client.id == client_id)
            await audit.record(actor, "client_updated", "client", client_id, client_id=client_id, before=before, after=after)
            await _tell_client_about_terms(client_id, current, checked.values)
    return checked


async def _tell_client_about_terms(client_id: int, before: dict, after: dict) -> None:
    """A change of discount, priority, credit limit or hold is shown to the client and emailed."""
    await notify_terms_changed(client_id, before, after, key_suffix=uuid.uuid4().hex[:16])


async def add_contact(client_id: int, form: dict[str, str], actor: Actor) -> Checked:
    checked = rules.check_contact(form)
    if not checked.ok:
        return checked
    async with db.transaction():
        if checked.values["is_primary"]:
            await Contact.update({Contact.is_primary: False}).where(Contact.client == client_id)
        contact = Contact(client=client_id, created_at=utcnow(), **checked.values)
        await contact.save()
        await audit.record(actor, "contact_added", "client", client_id, client_id=client_id, after=checked.values)
    return checked


async def remove_contact(client_id: int, contact_id: int, actor: Actor) -> bool:
    async with db.transaction():
        contact = await Contact.select().where((Contact.id == contact_id) & (Contact.client == client_id)).first()
        if contact is None:
            return False
        await Contact.delete().where(Contact.id == contact_id)
        await audit.record(
            actor, "contact_removed", "client", client_id, client_id=client_id,
            before={k: contact[k] for k in ("name", "position", "email", "phone")},
        )
    return True


async def client_counts() -> dict[str, int]:
    """How many clients in all, per segment, privileged and on credit hold (the dashboard's tiles)."""
    per_segment = await Client.select(Client.segment, Count(alias="n")).group_by(Client.segment)
    counts = {"A": 0, "B": 0, "C": 0} | {r["segment"]: r["n"] for r in per_segment}
    counts["total"] = sum(r["n"] for r in per_segment)
    counts["privileged"] = await Client.count().where(Client.privileged == True)  # noqa: E712
    counts["on_hold"] = await Client.count().where(Client.on_credit_hold == True)  # noqa: E712
    return counts


# --- a client's terms, set by the ladder's sanctions (the clients area owns its table) ---------------

TERMS = ("discount_bp", "service_priority", "on_credit_hold")


async def lock_for_terms(client_id: int) -> dict:
    """The client, locked for a change of its terms (a payment lifting and a step applying queue
    here; rows that merely reference it need not wait: FOR NO KEY UPDATE). Raises LookupError."""
    client = await db.locked(Client.select(
        Client.id, Client.name, Client.language, Client.sales_manager, Client.discount_bp,
        Client.service_priority, Client.on_credit_hold,
    ).where(Client.id == client_id), lock_strength="NO KEY UPDATE").first()
    if client is None:
        raise LookupError(client_id)
    return client


async def set_terms(client_id: int, updates: dict[str, Any], now) -> None:
    """Discount, service priority or credit hold changed by a sanction or its lifting (the sanction
    audits it); nothing else of the client is written here."""
    if updates:
        unknown = set(updates) - set(TERMS)
        if unknown:
            raise ValueError(f"not a term: {sorted(unknown)}")
        await Client.update({**{getattr(Client, k): v for k, v in updates.items()}, Client.updated_at: now}).where(Client.id == client_id)


async def set_terms_many(rows: list[tuple[int, int, int, bool]], now) -> None:
    """Many clients' (id, discount_bp, service_priority, on_credit_hold) in one statement (the tick)."""
    await bulk.update_many(Client, Client.id, (Client.discount_bp, Client.service_priority, Client.on_credit_hold, Client.updated_at),
                           [(*row, now) for row in rows])


async def set_segments(segments: dict[int, str], actor: Actor, *, reason: dict) -> list[int]:
    """Give clients new segments ({client_id: "A"|"B"|"C"}) in the caller's transaction: one audit
    event per client changed, saying why (`reason`: e.g. the ABC analysis it came from). Returns
    the ids of the clients whose segment changed."""
    current = {r["id"]: r["segment"] for r in await Client.select(Client.id, Client.segment).where(
        Client.id.is_in(sorted(segments) or [0]))}
    changed = [client_id for client_id, segment in sorted(segments.items())
               if segment in rules.SEGMENTS and client_id in current and current[client_id] != segment]
    now = utcnow()
    for segment in rules.SEGMENTS:
        ids = [c for c in changed if segments[c] == segment]
        if ids:
            await Client.update({Client.segment: segment, Client.updated_at: now}).where(Client.id.is_in(ids))
    for client_id in changed:
        await audit.record(actor, "client_segment_set", "client", client_id, client_id=client_id,
                           before={"segment": current[client_id]}, after={"segment": segments[client_id], **reason})
    return changed
