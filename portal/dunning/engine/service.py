"""The ladders' part of a tick (portal/tick.py): plan what the ladders say is due and carry it out.

Any number of runners may tick at once, on any number of machines against
one PostgreSQL: the unique (invoice, step) key and the executor's row claims keep every action
exactly once, and a runner killed at any point leaves nothing the next tick cannot finish.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging

from portal import db
from portal.dunning.engine import executor, planner
from portal.settings import Settings

log = logging.getLogger("portal.dunning")


PARTS = 2  # planners and executors working at once within one tick on PostgreSQL


async def plan_and_carry_out(settings: Settings, as_of: dt.datetime, tz: str) -> tuple[planner.PlanReport, executor.ExecReport]:
    """On PostgreSQL, PARTS planners (each over its own invoices) and PARTS executors (claiming
    with SKIP LOCKED what the planners have committed) run at once on their own connections, so
    the database and Python both stay busy. SQLite has one writer at a time: one after the other."""
    carry_out = functools.partial(executor.execute, as_of, firm_name=settings.firm_name, tz=tz,
                                  max_attempts=settings.action_max_attempts)
    if not db.is_postgres():
        return await planner.plan(as_of, tz), await carry_out()
    ladders = await planner.load_ladders()
    planning = [asyncio.create_task(planner.plan(as_of, tz, ladders=ladders, part=(k, PARTS))) for k in range(PARTS)]

    async def executing() -> executor.ExecReport:
        done = executor.ExecReport()
        while not all(task.done() for task in planning):
            round_ = await carry_out()
            done.add(round_)
            if not round_.claimed:
                await asyncio.wait(planning, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        return done

    executors = [asyncio.create_task(executing()) for _ in range(PARTS)]
    try:
        await asyncio.gather(*planning, *executors)
    finally:
        for task in (*planning, *executors):
            if not task.done():
                task.cancel()
    planned, done = planner.PlanReport(), executor.ExecReport()
    for task in planning:
        planned.add(task.result())
    for task in executors:
        done.add(task.result())
    done.add(await carry_out())  # what the planners' last batches left
    return planned, done
