"""Sanction steps carried out by the tick, a batch at a time (portal.dunning.sanctions.batch): a
sanction already in force is settled without touching the client, and two runners applying the
same sanction at once write it once."""

from __future__ import annotations

import asyncio
import datetime as dt

from portal import db as portal_db
from portal.auth.roles import Role
from portal.clients.tables import Client, ClientNotice
from portal.dunning.engine import planner
from portal.dunning.engine.tables import DunningAction
from portal.dunning.sanctions.batch import apply_sanctions
from portal.dunning.sanctions.tables import Sanction
from portal.mail.tables import EmailMessage
from tests.billing.staff_helpers import issue
from tests.dunning.engine_helpers import TZ, local, make_ladder, tick
from tests.factories import make_client, make_contact, make_staff

IN_FORCE = "Already in force: discount removed (nothing changed)"
STEP = {"name": "Discount off", "offset_days": 1, "time_of_day": "09:00", "channel": "sanction", "sanction": "remove_discount"}


async def _debtor() -> int:
    manager = await make_staff(Role.SALES_MANAGER)
    client_id = await make_client(sales_manager=str(manager["id"]), discount="5")
    await make_contact(client_id)
    return client_id


async def _outcomes(client_id: int) -> list[str]:
    rows = await DunningAction.select(DunningAction.outcome).where(DunningAction.client == client_id).order_by(DunningAction.id)
    return [r["outcome"] for r in rows]


async def _discount(client_id: int) -> int:
    return (await Client.select(Client.discount_bp).where(Client.id == client_id).first())["discount_bp"]


async def test_a_sanction_in_force_is_settled_in_the_batch_and_the_client_told_once(db, settings):
    await make_ladder("Sanctions", [STEP])
    first, second = await _debtor(), await _debtor()
    a, b = await issue(first, due_in=10), await issue(first, due_in=10)
    later = await issue(first, due_in=12)
    other = await issue(second, due_in=12)
    due = a["due_date"]

    await tick(settings, local(due + dt.timedelta(days=1), "09:00"))  # a and b: both steps in one batch
    assert sorted(await _outcomes(first)) == sorted(["Discount 5.00 % removed", IN_FORCE])
    assert await _discount(first) == 0

    # later's step finds the sanction in force from the last tick, beside a client it changes
    await tick(settings, local(due + dt.timedelta(days=3), "09:00"))
    assert (await _outcomes(first))[-1] == IN_FORCE and await _discount(first) == 0
    assert await _outcomes(second) == ["Discount 5.00 % removed"] and await _discount(second) == 0
    for client_id in (first, second):
        assert await Sanction.count().where(Sanction.client == client_id) == 1
        assert await ClientNotice.count().where((ClientNotice.client == client_id) & ClientNotice.kind.like("sanction%")) == 1
        assert await EmailMessage.count().where((EmailMessage.client == client_id) & EmailMessage.key.like("sanction%")) == 1
    assert {r["invoice"] for r in await DunningAction.select(DunningAction.invoice)} == {a["id"], b["id"], later["id"], other["id"]}


async def test_two_runners_applying_one_sanction_at_once_write_it_once(pg_url):
    """The second runner reads nothing in force (the first has not committed), waits for the
    client's row, and then reads again: already in force, nothing written twice."""
    portal_db.bind(portal_db.engine_for(pg_url))
    await make_ladder("Sanctions", [STEP])
    client_id = await _debtor()
    a, b = await issue(client_id, due_in=10), await issue(client_id, due_in=10)
    await planner.plan(local(a["due_date"] + dt.timedelta(days=1), "09:00"), TZ)
    actions = {r["invoice"]: r["id"] for r in await DunningAction.select(DunningAction.id, DunningAction.invoice)}
    now = local(a["due_date"] + dt.timedelta(days=1), "09:00")
    first_applied, commit_first = asyncio.Event(), asyncio.Event()

    async def runner(action_id: int, hold: bool) -> dict[int, str]:
        async with portal_db.transaction():
            outcomes = await apply_sanctions([(action_id, client_id, "remove_discount")], now, {})
            if hold:
                first_applied.set()
                await commit_first.wait()
            return outcomes

    first = asyncio.create_task(runner(actions[a["id"]], hold=True))
    await first_applied.wait()
    second = asyncio.create_task(runner(actions[b["id"]], hold=False))
    await asyncio.sleep(0.3)
    assert not second.done()  # waiting for the client's row, which the first runner holds
    commit_first.set()
    assert await first == {actions[a["id"]]: "Discount 5.00 % removed"}
    assert await second == {actions[b["id"]]: IN_FORCE}
    assert await Sanction.count().where(Sanction.client == client_id) == 1
    assert await ClientNotice.count().where((ClientNotice.client == client_id) & ClientNotice.kind.like("sanction%")) == 1
    assert await _discount(client_id) == 0
