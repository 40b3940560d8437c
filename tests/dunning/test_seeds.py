"""The default dunning policy: written once into an empty database (by `portal migrate` and the
demo loader), never twice, never over what credit controllers changed."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid

import pytest

from portal.dunning.engine import rules
from portal.dunning.ladders import rules as ladder_rules, seeds
from portal.dunning.ladders.tables import Ladder, LadderStep, SegmentLadder
from portal.dunning.reasons.tables import DelayReason
from tests.conftest import _pg_admin, _require, run_portal

# position, name, offset days, time, channel, assignee, deadline days, sanction, skip if deferral
PRESSURE = [
    (10, "Friendly reminder", -3, "10:00", "email", "manager", 0, "", False),
    (20, "Due-date call", 0, "12:00", "call", "manager", 0, "", False),
    (30, "Payment-or-penalty email", 1, "09:00", "email", "manager", 0, "", False),
    (35, "Overdue notice in the portal", 1, "09:00", "portal_notice", "manager", 0, "", False),
    (40, "Pay-today call", 1, "11:00", "call", "manager", 0, "", False),
    (50, "Official demand letter", 2, "10:00", "letter", "credit_controller", 0, "", True),
    (60, "Discount suspended", 3, "10:00", "sanction", "credit_controller", 0, "remove_discount", False),
    (65, "Service priority lowered", 4, "10:00", "sanction", "credit_controller", 0, "lower_priority", False),
    (70, "Formal warning of court", 7, "10:00", "court_warning", "credit_controller", 7, "", False),
    (75, "Credit hold", 7, "10:05", "sanction", "credit_controller", 0, "credit_hold", False),
    (80, "Hand-over to lawyers", 15, "10:00", "legal_handover", "lawyer", 0, "", False),
]
NEGOTIATION = [
    (10, "Negotiation window", 1, "09:00", "negotiation", "manager", 10, "", False),
    (15, "Service priority lowered", 11, "09:30", "sanction", "credit_controller", 0, "lower_priority", False),
    (20, "Formal claim: one month", 11, "10:00", "formal_claim", "lawyer", 30, "", False),
    (30, "Court", 41, "10:00", "legal_handover", "lawyer", 0, "", False),
]
PREPAYMENT = [
    (10, "Prepayment reminder", -2, "10:00", "email", "manager", 0, "", False),
    (20, "Ask when to call back", 1, "11:00", "call", "manager", 0, "", False),
    (30, "Order waiting notice", 7, "10:00", "portal_notice", "manager", 0, "", False),
    (40, "Second call", 14, "11:00", "call", "manager", 0, "", False),
]
REASONS = ["Cash-flow gap", "Waiting for their own client's payment", "Invoice or documents not received",
           "Disputes amount or quality", "Internal approval pending", "Forgot / oversight", "Bank or technical problem", "Other"]
CLIENT_FACING = ("email", "letter", "formal_claim", "court_warning", "portal_notice")


async def steps_of(name: str) -> list[tuple]:
    ladder = await Ladder.select(Ladder.id).where(Ladder.name == name).first()
    assert ladder, f"no ladder {name!r}"
    rows = await LadderStep.select().where(LadderStep.ladder == ladder["id"]).order_by(LadderStep.position).output(load_json=True)
    return rows


def as_tuples(rows: list[dict]) -> list[tuple]:
    return [(r["position"], r["name"], r["offset_days"], r["time_of_day"], r["channel"], r["assignee"], r["deadline_days"],
             r["sanction"], r["skip_if_deferral"]) for r in rows]


async def segment_names() -> dict[str, str]:
    rows = await SegmentLadder.select(SegmentLadder.segment, SegmentLadder.ladder.name)
    return {r["segment"]: r["ladder.name"] for r in rows}


async def test_the_default_ladders_are_written_once_with_exactly_their_steps(db):
    first = await seeds.ensure_defaults()
    assert first == {"ladders": 3, "steps": 19, "delay_reasons": 8}
    assert as_tuples(await steps_of("Pressure ladder")) == PRESSURE
    assert as_tuples(await steps_of("Negotiation ladder")) == NEGOTIATION
    assert as_tuples(await steps_of("Prepayment reminders")) == PREPAYMENT
    purposes = {r["name"]: r["purpose"] for r in await Ladder.select(Ladder.name, Ladder.purpose)}
    assert purposes == {"Pressure ladder": "debt", "Negotiation ladder": "debt", "Prepayment reminders": "prepayment"}
    assert await segment_names() == {"A": "Negotiation ladder", "B": "Pressure ladder", "C": "Pressure ladder"}
    reasons = await DelayReason.select(DelayReason.name).order_by(DelayReason.position)
    assert [r["name"] for r in reasons] == REASONS
    assert {r["version"] for r in await Ladder.select(Ladder.version)} == {1}

    again = await seeds.ensure_defaults()
    assert again == {"ladders": 0, "steps": 0, "delay_reasons": 0}
    assert await Ladder.count() == 3 and await LadderStep.count() == 19 and await DelayReason.count() == 8
    assert await SegmentLadder.count() == 3


async def test_every_step_has_its_wording_in_all_five_languages(db):
    await seeds.ensure_defaults()
    for step in await steps_of("Pressure ladder") + await steps_of("Negotiation ladder") + await steps_of("Prepayment reminders"):
        templates = step["templates"]
        languages = {"en", "ro", "uk", "bg", "hu"}
        assert set(templates) == languages, step["name"]
        english = {part: sorted(set(re.findall(r"\{[a-z_]+\}", templates["en"][part]))) for part in ("subject", "body")}
        for language in languages:
            for part in ("subject", "body"):
                assert sorted(set(re.findall(r"\{[a-z_]+\}", templates[language][part]))) == english[part], (step["name"], language, part)
            wording = templates[language]
            assert wording["subject"] and wording["body"], (step["name"], language)
            checked = ladder_rules.check_template(wording)  # what the editor would accept
            assert checked.ok, (step["name"], language, checked.errors)
        filled = rules.render(templates["en"], ladder_rules.sample_values(step["name"], "Acme", step["deadline_days"]))
        assert "{" not in filled["subject"] + filled["body"], step["name"]
    warning = next(s for s in await steps_of("Pressure ladder") if s["channel"] == "court_warning")
    assert "{deadline}" in warning["templates"]["en"]["body"] and "{deadline}" in warning["templates"]["ro"]["body"]


async def test_existing_ladders_are_left_alone_and_only_a_missing_catalogue_is_written(db):
    await seeds.ensure_defaults()
    await Ladder.update({Ladder.name: "Our own ladder"}).where(Ladder.name == "Pressure ladder")
    await DelayReason.delete(force=True)
    created = await seeds.ensure_defaults()
    assert created == {"ladders": 0, "steps": 0, "delay_reasons": 8}
    assert sorted(r["name"] for r in await Ladder.select(Ladder.name)) == ["Negotiation ladder", "Our own ladder", "Prepayment reminders"]


async def test_a_database_from_before_the_prepayment_ladder_gets_it_once(db):
    await seeds.ensure_defaults()
    await LadderStep.delete().where(LadderStep.ladder.purpose == "prepayment")
    await Ladder.delete().where(Ladder.purpose == "prepayment")
    assert await seeds.ensure_defaults() == {"ladders": 1, "steps": 4, "delay_reasons": 0}
    assert await Ladder.count().where(Ladder.purpose == "prepayment") == 1
    assert await seeds.ensure_defaults() == {"ladders": 0, "steps": 0, "delay_reasons": 0}


# --- `portal migrate` on a fresh database -----------------------------------------------------

def _sqlite_counts(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                for t in ("dunning_ladders", "dunning_steps", "dunning_segment_ladders", "delay_reasons")}
    finally:
        conn.close()


async def _pg_counts(url: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        return {t: await conn.fetchval(f'SELECT COUNT(*) FROM "{t}"')
                for t in ("dunning_ladders", "dunning_steps", "dunning_segment_ladders", "delay_reasons")}
    finally:
        await conn.close()


SEEDED = {"dunning_ladders": 3, "dunning_steps": 19, "dunning_segment_ladders": 3, "delay_reasons": 8}


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_portal_migrate_seeds_a_fresh_database_once(tmp_path, request, engine):
    if engine == "sqlite":
        path = tmp_path / "fresh.sqlite"
        url = f"sqlite:///{path}"
        counts = lambda: _sqlite_counts(path)  # noqa: E731
    else:
        admin = request.getfixturevalue("postgres_url")
        if admin is None:
            _require("PORTAL_REQUIRE_POSTGRES", getattr(pytest, "portal_pg_error", "PostgreSQL not reachable"))
        name = f"portal_seed_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{name}"'))
        request.addfinalizer(lambda: asyncio.run(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
        url = f"{admin.rsplit('/', 1)[0]}/{name}"
        counts = lambda: asyncio.run(_pg_counts(url))  # noqa: E731
    env = {"DATABASE_URL": url, "PORTAL_VAR_DIR": str(tmp_path / "var")}

    first = run_portal("migrate", env=env)
    assert "database is up to date" in first.stdout
    assert "3 ladders, 19 steps, 8 delay reasons" in first.stdout
    assert counts() == SEEDED

    second = run_portal("migrate", env=env)
    assert "database is up to date" in second.stdout and "ladders" not in second.stdout
    assert counts() == SEEDED
