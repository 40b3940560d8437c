"""Why clients pay late and what works (DOMAIN.md section 2: delay reasons are data to learn
from): the reasons given in calls and disputes, promises to pay made, kept and broken, repayment
plans completed and broken, and the ladder step the money came after."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from piccolo.query.functions.aggregate import Count, Sum

from portal.dunning.escalation.tables import Pause, PauseKind
from portal.dunning.ladders.tables import LadderStep
from portal.dunning.reasons.tables import CallOutcome
from portal.negotiation.tables import Dispute, Schedule, ScheduleStatus
from portal.reports.receivables.rules import period_moments
from portal.reports.scope import Scope, where_all
from portal.reports.tables import StepMonth


@dataclass
class Outcomes:
    reasons: list[dict] = field(default_factory=list)  # {source, reason, manager, count}; a dispute's reason is its key
    promises: dict[str, int] = field(default_factory=dict)  # made, kept, broken, other, open
    plans: dict[str, int] = field(default_factory=dict)  # accepted, completed, broken
    steps: list[dict] = field(default_factory=list)  # {step, name, position, currency, amount_minor, invoices}


async def outcomes(scope: Scope, first: dt.date, last: dt.date) -> Outcomes:
    start, end = period_moments(first, last)
    out = Outcomes()
    # Client.sales_manager is a lazy reference, which the type checker cannot follow
    call_manager, dispute_manager = cast(Any, CallOutcome.client.sales_manager).name, cast(Any, Dispute.client.sales_manager).name
    calls = await where_all(CallOutcome.select(
        CallOutcome.delay_reason.name.as_alias("reason"), call_manager.as_alias("manager"), Count(alias="n"),
    ).where(CallOutcome.delay_reason.is_not_null() & (CallOutcome.recorded_at >= start) & (CallOutcome.recorded_at < end))
        .group_by(CallOutcome.delay_reason.name, call_manager), scope.clients(CallOutcome.client))
    out.reasons = [{"source": "call", "reason": r["reason"], "manager": r["manager"] or "", "count": r["n"]} for r in calls]
    disputes = await where_all(Dispute.select(
        Dispute.reason, dispute_manager.as_alias("manager"), Count(alias="n"),
    ).where((Dispute.opened_at >= start) & (Dispute.opened_at < end)).group_by(Dispute.reason, dispute_manager),
        scope.clients(Dispute.client))
    out.reasons += [{"source": "dispute", "reason": r["reason"], "manager": r["manager"] or "", "count": r["n"]}
                    for r in disputes]
    out.reasons.sort(key=lambda r: (-r["count"], r["reason"], r["manager"]))

    promise = Pause.kind == PauseKind.PROMISE
    made = await where_all(Pause.count().where(promise & (Pause.created_at >= start) & (Pause.created_at < end)), scope.clients(Pause.client))
    ended = await where_all(Pause.select(Pause.end_reason, Count(alias="n")).where(
        promise & (Pause.ended_at >= start) & (Pause.ended_at < end)).group_by(Pause.end_reason), scope.clients(Pause.client))
    by_reason = {r["end_reason"]: r["n"] for r in ended}
    out.promises = {"made": made, "kept": by_reason.get("paid", 0), "broken": by_reason.get("broken", 0),
                    "other": sum(n for reason, n in by_reason.items() if reason not in ("paid", "broken"))}

    accepted = await where_all(Schedule.count().where((Schedule.accepted_at >= start) & (Schedule.accepted_at < end)),
                               scope.clients(Schedule.client))
    closed = await where_all(Schedule.select(Schedule.status, Count(alias="n")).where(
        Schedule.status.is_in([ScheduleStatus.COMPLETED, ScheduleStatus.BROKEN]) & (Schedule.ended_at >= start) & (Schedule.ended_at < end),
    ).group_by(Schedule.status), scope.clients(Schedule.client))
    by_status = {r["status"]: r["n"] for r in closed}
    out.plans = {"accepted": accepted, "completed": by_status.get(ScheduleStatus.COMPLETED, 0), "broken": by_status.get(ScheduleStatus.BROKEN, 0)}

    out.steps = await steps(scope, first, last)
    return out


async def steps(scope: Scope, first: dt.date, last: dt.date) -> list[dict]:
    """Money received in the months, by the ladder step its invoice stood at (per currency)."""
    rows = await where_all(StepMonth.select(
        StepMonth.step, StepMonth.currency, Sum(StepMonth.amount_minor, alias="amount"), Sum(StepMonth.invoices, alias="invoices"),
    ).where((StepMonth.month >= first) & (StepMonth.month <= last)).group_by(StepMonth.step, StepMonth.currency),
        scope.clients(StepMonth.client), (StepMonth.currency == scope.currency) if scope.currency else None)
    rows = [{**r, "amount": int(r["amount"] or 0), "invoices": int(r["invoices"] or 0)} for r in rows]  # numeric on PostgreSQL
    names = {r["id"]: r for r in await LadderStep.select(LadderStep.id, LadderStep.name, LadderStep.position, LadderStep.ladder.name.as_alias(
        "ladder")).where(LadderStep.id.is_in(sorted({r["step"] for r in rows if r["step"]}) or [0]))}
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        totals[r["currency"]] += r["amount"] or 0
    out = []
    for r in rows:
        step = names.get(r["step"]) if r["step"] else None
        out.append({"step": r["step"], "name": step["name"] if step else "", "ladder": step["ladder"] if step else "",
                    "position": step["position"] if step else 0, "currency": r["currency"], "amount_minor": r["amount"] or 0,
                    "invoices": r["invoices"] or 0,
                    "share": (r["amount"] or 0) / totals[r["currency"]] * 100 if totals[r["currency"]] else 0.0})
    return sorted(out, key=lambda r: (r["currency"], r["ladder"], r["position"]))
