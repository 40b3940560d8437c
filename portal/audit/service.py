"""The audit log: every state change leaves one event, written in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal import bulk
from portal.audit.tables import AuditEvent
from portal.auth.tables import User
from portal.clock import utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (id and label) or the system; and from which address."""

    user_id: int | None
    label: str
    ip: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, label="system")


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def record(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int,
    *,
    client_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await AuditEvent.insert(
        AuditEvent(
            at=utcnow(),
            actor=actor.user_id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            client_id=client_id,
            before=_jsonable(before or {}),
            after=_jsonable(after or {}),
            ip=actor.ip[:64],
        )
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, str, bool, float, type(None), list, dict)) else str(v)) for k, v in values.items()}


PERSON_FIELDS = ("assignee", "sales_manager", "user_id", "created_by")  # fields that hold a user id


async def timeline(object_type: str, object_id: int, *, client_id: int | None = None, limit: int = 100) -> list[dict]:
    """Newest first. For a client, include every event that names the client."""
    query = AuditEvent.select().order_by(AuditEvent.id, ascending=False).limit(limit)
    if client_id is not None:
        query = query.where((AuditEvent.client_id == client_id) | ((AuditEvent.object_type == object_type) & (AuditEvent.object_id == object_id)))
    else:
        query = query.where((AuditEvent.object_type == object_type) & (AuditEvent.object_id == object_id))
    return await with_person_names(await query.output(load_json=True))


async def with_person_names(events: list[dict]) -> list[dict]:
    """Ids of people in the events' fields become their names (one query for all of them)."""
    ids = {value for e in events for part in (e.get("before"), e.get("after")) if isinstance(part, dict)
           for key, value in part.items() if key in PERSON_FIELDS and isinstance(value, int)}
    if not ids:
        return events
    names = {row["id"]: row["name"] for row in await User.select(User.id, User.name).where(User.id.is_in(sorted(ids)))}
    for e in events:
        for part in (e.get("before"), e.get("after")):
            if isinstance(part, dict):
                for key in PERSON_FIELDS:
                    if isinstance(part.get(key), int):
                        part[key] = names.get(part[key], part[key])
    return events



async def record_system_events(events: list[tuple[str, str, int, int | None, dict, dict]], at=None) -> None:
    """Many events by the system in one statement (the dunning tick):
    (action, object_type, object_id, client_id, before, after)."""
    at = at or utcnow()
    await bulk.insert_many(
        AuditEvent,
        (AuditEvent.at, AuditEvent.actor, AuditEvent.actor_label, AuditEvent.action, AuditEvent.object_type,
         AuditEvent.object_id, AuditEvent.client_id, AuditEvent.before, AuditEvent.after, AuditEvent.ip),
        [(at, None, "system", action, object_type, object_id, client_id, _jsonable(before), _jsonable(after), "")
         for action, object_type, object_id, client_id, before, after in events],
    )
