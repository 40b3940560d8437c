"""The default dunning policy, written once into an empty database: three ladders (the pressure
ladder of DOMAIN.md section 5, the negotiation rule set of section 4 and the gentle reminders of an
order waiting for its prepayment, section 1), which segment follows which, and the catalogue of
delay reasons. Each step's wording in the five languages is data (seed_wording.json); the names
are message ids, shown in the reader's language while staff have not renamed them. `ensure_defaults()` runs at the end of
`portal migrate` and in the demo loader; it never touches ladders or reasons that exist, so
credit controllers' edits survive every later migrate.
"""

from __future__ import annotations

import json
from pathlib import Path

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.dunning.ladders.tables import Ladder, LadderStep, SegmentLadder
from portal.dunning.reasons.tables import DelayReason
from portal.messages import N_

PRESSURE = N_("Pressure ladder")
NEGOTIATION = N_("Negotiation ladder")
PREPAYMENT = N_("Prepayment reminders")
SEGMENT_LADDERS = {"A": NEGOTIATION, "B": PRESSURE, "C": PRESSURE}

WORDING: dict[str, dict[str, dict[str, str]]] = json.loads((Path(__file__).parent / "seed_wording.json").read_text())


def wording_of(ladder: str, position: int) -> dict[str, dict[str, str]]:
    """A seeded step's wording in every language: {"en": {"subject", "body"}, "ro": ...}."""
    return WORDING[f"{ladder} #{position}"]


# (position, name, offset days, time, channel, assignee, extra fields); the wording of each step in the five
# languages is data: seed_wording.json, keyed "<ladder name> #<position>".
PRESSURE_STEPS = (
    (10, N_("Friendly reminder"), -3, "10:00", "email", "manager", {}),
    (20, N_("Due-date call"), 0, "12:00", "call", "manager", {}),
    (30, N_("Payment-or-penalty email"), 1, "09:00", "email", "manager", {}),
    (35, N_("Overdue notice in the portal"), 1, "09:00", "portal_notice", "manager", {}),
    (40, N_("Pay-today call"), 1, "11:00", "call", "manager", {}),
    (50, N_("Official demand letter"), 2, "10:00", "letter", "credit_controller", {"skip_if_deferral": True}),
    (60, N_("Discount suspended"), 3, "10:00", "sanction", "credit_controller", {"sanction": "remove_discount"}),
    (65, N_("Service priority lowered"), 4, "10:00", "sanction", "credit_controller", {"sanction": "lower_priority"}),
    (70, N_("Formal warning of court"), 7, "10:00", "court_warning", "credit_controller", {"deadline_days": 7}),
    (75, N_("Credit hold"), 7, "10:05", "sanction", "credit_controller", {"sanction": "credit_hold"}),
    (80, N_("Hand-over to lawyers"), 15, "10:00", "legal_handover", "lawyer", {}),
)

NEGOTIATION_STEPS = (
    (10, N_("Negotiation window"), 1, "09:00", "negotiation", "manager", {"deadline_days": 10}),
    (15, N_("Service priority lowered"), 11, "09:30", "sanction", "credit_controller", {"sanction": "lower_priority"}),
    (20, N_("Formal claim: one month"), 11, "10:00", "formal_claim", "lawyer", {"deadline_days": 30}),
    (30, N_("Court"), 41, "10:00", "legal_handover", "lawyer", {}),
)

# An order waiting for its prepayment: nobody nags blindly (DOMAIN.md section 1). Reminders and calls
# that ask when to call back; a callback holds the ladder until its day; never a sanction or court.
PREPAYMENT_STEPS = (
    (10, N_("Prepayment reminder"), -2, "10:00", "email", "manager", {}),
    (20, N_("Ask when to call back"), 1, "11:00", "call", "manager", {}),
    (30, N_("Order waiting notice"), 7, "10:00", "portal_notice", "manager", {}),
    (40, N_("Second call"), 14, "11:00", "call", "manager", {}),
)

LADDERS = (
    (PRESSURE, N_("Timely reminders with gradually rising pressure, from a reminder before the due date to the lawyers."),
     PRESSURE_STEPS),
    (NEGOTIATION, N_("Keep the client while collecting: ten days of negotiation by the manager, then a formal claim giving "
     "one month, then court."), NEGOTIATION_STEPS),
)
PREPAYMENT_LADDER = (PREPAYMENT, N_("Orders waiting for their prepayment: gentle reminders and calls that ask when to call "
                     "back. Nothing is produced until it is paid; no sanction, no letter, no court."), PREPAYMENT_STEPS)

DELAY_REASONS = (
    N_("Cash-flow gap"), N_("Waiting for their own client's payment"), N_("Invoice or documents not received"),
    N_("Disputes amount or quality"), N_("Internal approval pending"), N_("Forgot / oversight"), N_("Bank or technical problem"), N_("Other"),
)


async def _create_ladder(name: str, description: str, steps: tuple, actor: Actor, purpose: str = "debt",
                         wording_name: str | None = None) -> int:
    now = utcnow()
    ladder = Ladder(name=name, description=description, version=1, purpose=purpose, created_at=now, updated_at=now)
    await ladder.save()
    for position, step_name, offset, at, channel, assignee, extra in steps:
        templates = wording_of(wording_name or name, position)
        await LadderStep(
            ladder=ladder.id, position=position, name=step_name, offset_days=offset, time_of_day=at, channel=channel,
            assignee=assignee, templates=templates, deadline_days=extra.get("deadline_days", 0),
            sanction=extra.get("sanction", ""), skip_if_deferral=extra.get("skip_if_deferral", False),
            is_active=True, created_at=now, updated_at=now,
        ).save()
    await audit.record(actor, "ladder_created", "ladder", ladder.id, after={"name": name, "steps": len(steps), "purpose": purpose})
    return ladder.id


async def ensure_defaults() -> dict:
    """Write the default ladders (when there are no ladders at all), the prepayment ladder (when there
    is none: databases older than it get it once) and the delay-reason catalogue (when it is empty).
    Says what it created: {"ladders": n, "steps": n, "delay_reasons": n}."""
    created = {"ladders": 0, "steps": 0, "delay_reasons": 0}
    actor = Actor(None, "system")
    async with db.transaction():
        if await Ladder.count() == 0:
            ids = {}
            for name, description, steps in LADDERS:
                ids[name] = await _create_ladder(name, description, steps, actor)
                created["ladders"] += 1
                created["steps"] += len(steps)
            taken = {row["segment"] for row in await SegmentLadder.select(SegmentLadder.segment)}
            for segment, name in SEGMENT_LADDERS.items():
                if segment not in taken:
                    await SegmentLadder(segment=segment, ladder=ids[name]).save()
                    await audit.record(actor, "segment_ladder_set", "ladder", ids[name], after={"segment": segment})
        if not await Ladder.exists().where(Ladder.purpose == "prepayment"):
            seeded, description, steps = PREPAYMENT_LADDER
            name = seeded if not await Ladder.exists().where(Ladder.name == seeded) else f"{seeded} (orders)"
            await _create_ladder(name, description, steps, actor, purpose="prepayment", wording_name=seeded)
            created["ladders"] += 1
            created["steps"] += len(steps)
        if await DelayReason.count() == 0:
            now = utcnow()
            for position, name in enumerate(DELAY_REASONS, start=1):
                await DelayReason(name=name, position=position * 10, is_active=True, created_at=now).save()
            created["delay_reasons"] = len(DELAY_REASONS)
    return created
