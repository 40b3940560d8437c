"""Shared by the calendar, iCalendar and delay-reason tests: ladder tasks made directly (the
engine that makes them is tested on its own), invoices through billing, local times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from portal.audit.service import Actor
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.clock import utcnow
from portal.dunning.reasons.tables import DelayReason
from portal.tasks.tables import Task

TZ = "Europe/Bucharest"
UTC = dt.UTC


def local(day: dt.date, time: str = "10:00") -> dt.datetime:
    """`day` at `time` in the firm's zone, as UTC."""
    return dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def today() -> dt.date:
    return utcnow().astimezone(ZoneInfo(TZ)).date()


async def invoice_of(client_id: int) -> dict:
    return await billing.issue_invoice(
        client_id=client_id, currency="RON", lines=[Line("Folding boxes", 1, 100000, 1900)],
        issue_date=today() - dt.timedelta(days=40), terms_days=30, order_id=None, actor=Actor.system(),
    )


async def task(assignee: int, due_at: dt.datetime, *, kind: str = "call", client_id: int | None = None,
               invoice: dict | None = None, title: str = "Call about the overdue invoice", done_at: dt.datetime | None = None,
               outcome: str = "") -> int:
    row = Task(kind=kind, assignee=assignee, client=client_id or (invoice["client"] if invoice else None),
               invoice=invoice["id"] if invoice else None, due_at=due_at, title=title, done_at=done_at, outcome=outcome,
               created_at=utcnow())
    await row.save()
    return row.id


async def catalogue(*names: str) -> dict[str, int]:
    """Exactly these delay reasons, in this order (whatever the migration seeded): name -> id."""
    await DelayReason.delete(force=True)
    out = {}
    for position, name in enumerate(names):
        row = DelayReason(name=name, position=position, is_active=True, created_at=utcnow())
        await row.save()
        out[name] = row.id
    return out
