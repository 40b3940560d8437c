"""One tick of the system: bank lines matched but not yet booked (an import cut short) booked, the
repayment plans steered (an installment missed, a plan kept), the ladders planned and carried out,
the queued email sent, the receivables summary brought up to date. Money first, so that no reminder
goes out about what the bank has paid.

`run_dunning(settings, as_of)` is what `portal dunning run [--as-of]` and the scheduler inside
`portal serve` call. It sits above the areas because it runs several of them in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from portal.audit.service import Actor
from portal.bank import service as bank
from portal.clock import utcnow
from portal.dunning.engine import service as engine
from portal.mail.sender import send_due
from portal.negotiation.schedules import plans, rules as policy, service as negotiation
from portal.reports.receivables import summary
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
    bank_lines_booked: int = 0
    report_months_rebuilt: int = 0
    report_millis: int = 0

    def line(self) -> str:
        return (f"dunning tick as of {self.as_of}: {self.invoices_looked_at} invoices looked at, "
                f"{self.actions_planned} actions planned, {self.actions_done} done, {self.actions_cancelled} cancelled, "
                f"{self.actions_retrying} to retry, {self.actions_failed} failed, {self.pauses_ended} pauses ended; "
                f"repayment plans {self.plans or {}}; bank lines booked {self.bank_lines_booked}; report months rebuilt {self.report_months_rebuilt} "
                f"({self.report_millis} ms); email {self.emails}; {self.seconds:.2f} s")


async def run_dunning(settings: Settings, as_of: dt.datetime | None = None, *, send_email: bool = True) -> TickReport:
    started = time.perf_counter()
    as_of = (as_of or utcnow()).astimezone(dt.UTC)
    tz = settings.firm_timezone
    booked = await bank.book_matched(await bank.matched_line_ids(), Actor.system())
    steered = await plans.run(as_of, negotiation.Context(policy.Policy.from_settings(settings), tz))
    planned, done = await engine.plan_and_carry_out(settings, as_of, tz)
    emails: dict = {}
    if send_email and settings.smtp_host:
        emails = await send_due(settings, now=utcnow())
    refreshed = await summary.refresh(tz, as_of)  # last: the figures include this tick's bookings, and no email waits on them
    return TickReport(
        as_of=as_of.isoformat(timespec="minutes"), invoices_looked_at=planned.invoices, actions_planned=planned.actions,
        pauses_ended=planned.pauses_ended, actions_done=done.done, actions_cancelled=done.cancelled,
        actions_retrying=done.retrying, actions_failed=done.failed, emails=emails, seconds=time.perf_counter() - started,
        plans=asdict(steered), bank_lines_booked=booked,
        report_months_rebuilt=refreshed.months, report_millis=refreshed.millis,
    )


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
