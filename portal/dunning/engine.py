"""One dunning tick: plan what the ladders say is due, carry it out, send the queued email.

`run_dunning(settings, as_of)` is what `portal dunning run [--as-of]` and the scheduler inside
`portal serve` call. Any number of runners may tick at once, on any number of machines against
one PostgreSQL: the unique (invoice, step) key and the executor's row claims keep every action
exactly once, and a runner killed at any point leaves nothing the next tick cannot finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from dataclasses import asdict, dataclass
from typing import AsyncIterator

from portal import db
from portal.clock import utcnow
from portal.dunning import executor, planner
from portal.settings import Settings

log = logging.getLogger("portal.dunning")


@dataclass
class TickReport:
    as_of: str
    invoices_looked_at: int
    actions_planned: int
    pauses_ended: int
    actions_done: int
    actions_cancelled: int
    actions_retrying: int
    actions_failed: int
    emails: dict
    seconds: float
    plans: dict | None = None

    def line(self) -> str:
        return (f"dunning tick as of {self.as_of}: {self.invoices_looked_at} invoices looked at, "
                f"{self.actions_planned} actions planned, {self.actions_done} done, {self.actions_cancelled} cancelled, "
                f"{self.actions_retrying} to retry, {self.actions_failed} failed, {self.pauses_ended} pauses ended; "
                f"repayment plans {self.plans or {}}; email {self.emails}; {self.seconds:.2f} s")


async def run_dunning(settings: Settings, as_of: dt.datetime | None = None, *, send_email: bool = True) -> TickReport:
    started = time.perf_counter()
    as_of = (as_of or utcnow()).astimezone(dt.timezone.utc)
    tz = settings.firm_timezone
    from portal.negotiation import plans, rules as policy, service as negotiation  # plans steer before the ladder plans

    steered = await plans.run(as_of, negotiation.Context(policy.Policy.from_settings(settings), tz))
    planned, done = await _plan_and_carry_out(settings, as_of, tz)
    emails: dict = {}
    if send_email and settings.smtp_host:
        from portal.mail.sender import send_due

        emails = await send_due(settings, now=utcnow())
    return TickReport(
        as_of=as_of.isoformat(timespec="minutes"), invoices_looked_at=planned.invoices, actions_planned=planned.actions,
        pauses_ended=planned.pauses_ended, actions_done=done.done, actions_cancelled=done.cancelled,
        actions_retrying=done.retrying, actions_failed=done.failed, emails=emails, seconds=time.perf_counter() - started,
        plans=asdict(steered),
    )


PARTS = 2  # planners and executors working at once within one tick on PostgreSQL


async def _plan_and_carry_out(settings: Settings, as_of: dt.datetime, tz: str) -> tuple[planner.PlanReport, executor.ExecReport]:
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


@contextlib.asynccontextmanager
async def scheduler(settings: Settings) -> AsyncIterator[None]:
    """Ticks every settings.dunning_tick_seconds while the app runs (0: never)."""
    if settings.dunning_tick_seconds <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.dunning_tick_seconds)
            try:
                report = await run_dunning(settings)
                log.info(report.line())
            except Exception:  # a bad tick is logged; the next one tries again
                log.exception("dunning tick failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def report_dict(report: TickReport) -> dict:
    return asdict(report)
