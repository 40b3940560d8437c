"""Several runner processes against one PostgreSQL: four `portal dunning run` at once over the same
due actions, and a runner killed with SIGKILL mid-tick then run again. Zero duplicates (one task,
one email, one letter per action), zero misses (every step that is due is taken and carried out)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import time

import pytest

from portal.auth.roles import Role
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction
from portal.dunning.letters.tables import Letter
from portal.mail.tables import EmailMessage
from portal.tasks.tables import Task
from tests.conftest import PORTAL, ROOT, TEST_SECRET, _all_tables, _pg_admin, _require
from tests.dunning.engine_helpers import PRESSURE, local, make_ladder
from tests.factories import make_client, make_contact, make_staff

INVOICES = 300
# a tick at due + 2 days 10:00, after a tick a day: reminder, call, penalty email, pay-today call, letter
AS_OF_DAYS, AS_OF_TIME = 2, "10:00"


@pytest.fixture
def pg_env(tmp_path, request):
    url = request.getfixturevalue("postgres_url")
    if url is None:
        _require("PORTAL_REQUIRE_POSTGRES", getattr(pytest, "portal_pg_error", "PostgreSQL not reachable"))
    asyncio.run(_pg_admin(url, f"TRUNCATE {_all_tables()} RESTART IDENTITY CASCADE"))
    from portal import db

    db.bind(db.engine_for(url))
    return {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": url,
            "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0"}


async def _world() -> dt.date:
    manager = await make_staff(Role.SALES_MANAGER)
    await make_staff(Role.CREDIT_CONTROLLER)
    client_ids = []
    for _ in range(20):
        client_id = await make_client(sales_manager=str(manager["id"]))
        await make_contact(client_id)
        client_ids.append(client_id)
    await make_ladder("Pressure", PRESSURE)
    due = utcnow().date() - dt.timedelta(days=AS_OF_DAYS)
    now = utcnow()
    await Invoice.insert(*[
        Invoice(series="INV", year=due.year, number=n, code=f"RUN-{n:05d}", client=client_ids[n % 20], kind="invoice",
                currency="RON", issue_date=due - dt.timedelta(days=30), due_date=due, status="issued", net_minor=10000,
                vat_minor=1900, total_minor=11900, paid_minor=0, created_at=now)
        for n in range(1, INVOICES + 1)
    ])
    from portal.dunning.escalation import service as escalation

    await escalation.track([r["id"] for r in await Invoice.select(Invoice.id)])  # as issuing does
    return due


def _tick(env: dict, as_of: str) -> subprocess.Popen:
    return subprocess.Popen([PORTAL, "dunning", "run", "--as-of", as_of], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def _assert_exactly_once(steps: int) -> None:
    actions = await DunningAction.select(DunningAction.id, DunningAction.status, DunningAction.channel)
    assert len(actions) == INVOICES * steps, "a due step was missed"
    assert {a["status"] for a in actions} == {"done"}, "an action was left half done"
    by_channel = {}
    for a in actions:
        by_channel[a["channel"]] = by_channel.get(a["channel"], 0) + 1
    assert await Task.count().where(Task.kind.is_in(["call", "letter"])) == by_channel["call"] + by_channel["letter"]
    assert await EmailMessage.count() == by_channel["email"]
    assert await Letter.count() == by_channel["letter"]
    pairs = await DunningAction.raw("SELECT invoice, step, COUNT(*) AS n FROM dunning_actions GROUP BY invoice, step HAVING COUNT(*) > 1")
    assert pairs == []


def _moments(due: dt.date) -> list[str]:
    return [local(due + dt.timedelta(days=d), t).isoformat() for d, t in ((-3, "10:00"), (0, "12:00"), (1, "11:00"), (2, "10:00"))]


async def _count() -> int:
    return await DunningAction.count()


def _earlier_ticks_in_process(pg_env: dict, moments: list[str]) -> None:
    from portal.settings import load_settings
    from portal.tick import run_dunning

    settings = load_settings(pg_env)
    for as_of in moments:
        asyncio.run(run_dunning(settings, dt.datetime.fromisoformat(as_of), send_email=False))


def test_four_runners_at_once_take_every_action_exactly_once(pg_env):
    due = asyncio.run(_world())
    moments = _moments(due)
    _earlier_ticks_in_process(pg_env, moments[:1])
    for as_of in moments[1:]:  # each of these ticks has INVOICES due actions (two on the penalty day)
        runners = [_tick(pg_env, as_of) for _ in range(4)]
        outputs = [r.communicate(timeout=240) for r in runners]
        assert all(r.returncode == 0 for r in runners), outputs
    asyncio.run(_assert_exactly_once(steps=5))


def test_a_runner_killed_mid_tick_leaves_nothing_the_next_tick_cannot_finish(pg_env):
    due = asyncio.run(_world())
    moments = _moments(due)
    _earlier_ticks_in_process(pg_env, moments[:-1])
    before = asyncio.run(_count())
    victim = _tick(pg_env, moments[-1])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once it has started writing this tick's actions
        if asyncio.run(_count()) > before:
            break
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert _tick(pg_env, moments[-1]).wait(timeout=240) == 0
    asyncio.run(_assert_exactly_once(steps=5))
