"""Ladders, invoices and ticks for the engine tests, through the real tables and services."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction
from portal.dunning.ladders.tables import Ladder, LadderStep, SegmentLadder
from portal.tick import run_dunning

TZ = "Europe/Bucharest"


def local(day: dt.date, hhmm: str) -> dt.datetime:
    """`day` at HH:MM in the firm's zone, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=ZoneInfo(TZ))


async def make_ladder(name: str, steps: list[dict], *, segments: tuple[str, ...] = ("A", "B", "C")) -> dict:
    """steps: dicts with name, offset_days, time_of_day, channel and optional extras."""
    now = utcnow()
    ladder = Ladder(name=name, description="", version=1, created_at=now, updated_at=now)
    await ladder.save()
    ids = []
    for i, step in enumerate(steps, start=1):
        row = LadderStep(ladder=ladder.id, position=step.get("position", i * 10), assignee=step.get("assignee", "manager"),
                         templates=step.get("templates", {"en": {"subject": step["name"] + " {invoice}", "body": "Pay {amount} for {invoice}."}}),
                         created_at=now, updated_at=now, **{k: v for k, v in step.items() if k not in ("position", "assignee", "templates")})
        await row.save()
        ids.append(row.id)
    for segment in segments:
        await SegmentLadder.insert(SegmentLadder(segment=segment, ladder=ladder.id))
    return {"id": ladder.id, "step_ids": ids}


PRESSURE = [
    {"name": "Friendly reminder", "offset_days": -3, "time_of_day": "10:00", "channel": "email"},
    {"name": "Due-date call", "offset_days": 0, "time_of_day": "12:00", "channel": "call"},
    {"name": "Penalty email", "offset_days": 1, "time_of_day": "09:00", "channel": "email"},
    {"name": "Pay-today call", "offset_days": 1, "time_of_day": "11:00", "channel": "call"},
    {"name": "Demand letter", "offset_days": 2, "time_of_day": "10:00", "channel": "letter", "skip_if_deferral": True,
     "assignee": "credit_controller"},
    {"name": "Formal warning", "offset_days": 7, "time_of_day": "10:00", "channel": "court_warning", "deadline_days": 7,
     "assignee": "credit_controller"},
    {"name": "Lawyers", "offset_days": 15, "time_of_day": "10:00", "channel": "legal_handover", "assignee": "lawyer"},
]


async def tick(settings, at: dt.datetime):
    return await run_dunning(settings, at, send_email=False)


async def actions_of(invoice_id: int) -> list[dict]:
    return await DunningAction.select(
        DunningAction.id, DunningAction.step, DunningAction.position, DunningAction.status, DunningAction.channel,
        DunningAction.taken_at, DunningAction.scheduled_at, DunningAction.outcome,
    ).where(DunningAction.invoice == invoice_id).order_by(DunningAction.position)
