"""The ABC analysis of a period, from the receivables summary and the promises and plans kept, and
applying its classes as the clients' segments (which choose their dunning ladders)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count, Sum

from portal import db
from portal.audit.service import Actor
from portal.clients import service as clients
from portal.clients.tables import Client
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.dunning.ladders import service as ladders
from portal.negotiation.tables import Schedule, ScheduleStatus
from portal.reports.abc import rules
from portal.reports.receivables.rules import period_moments
from portal.reports.scope import Scope, where_all
from portal.reports.tables import ClientMonth

BASES = ("sales", "margin")


@dataclass(frozen=True)
class ClientClass:
    client_id: int
    name: str
    segment: str
    ranked: rules.Ranked
    sales_minor: int
    margin_minor: int | None  # None: no cost known for any of its lines in the period
    discipline: rules.Discipline


@dataclass(frozen=True)
class Analysis:
    currency: str
    basis: str
    shares: tuple[int, int]
    clients: list[ClientClass]
    total_minor: int

    def count(self, cls: str) -> int:
        return sum(1 for c in self.clients if c.ranked.cls == cls)

    def value(self, cls: str) -> int:
        return sum(c.ranked.value for c in self.clients if c.ranked.cls == cls and c.ranked.value > 0)

    @property
    def changes(self) -> list[ClientClass]:
        """The clients whose computed class differs from their segment."""
        return [c for c in self.clients if c.ranked.cls != c.segment]


async def currencies(scope: Scope, first: dt.date, last: dt.date) -> list[str]:
    """The currencies invoiced in the period, the biggest count of client months first."""
    rows = await where_all(ClientMonth.select(ClientMonth.currency, Count(alias="n")).where(
        (ClientMonth.month >= first) & (ClientMonth.month <= last) & (ClientMonth.invoices > 0)).group_by(ClientMonth.currency),
        scope.clients(ClientMonth.client))
    return [r["currency"] for r in sorted(rows, key=lambda r: (-r["n"], r["currency"]))]


async def analysis(scope: Scope, currency: str, first: dt.date, last: dt.date, basis: str = "sales",
                   shares: tuple[int, int] = rules.DEFAULT_SHARES) -> Analysis:
    """The clients invoiced in `currency` in the months first..last, ranked and classed."""
    rows = await where_all(ClientMonth.select(
        ClientMonth.client,
        Sum(ClientMonth.sales_minor, alias="sales"), Sum(ClientMonth.costed_net_minor, alias="costed"), Sum(ClientMonth.cost_minor, alias="cost"),
        Sum(ClientMonth.settled, alias="paid"), Sum(ClientMonth.settled_on_time, alias="on_time"), Sum(ClientMonth.days_late, alias="late"),
    ).where((ClientMonth.month >= first) & (ClientMonth.month <= last) & (ClientMonth.currency == currency)).group_by(
        ClientMonth.client), scope.clients(ClientMonth.client))  # by client alone: a small hash, no sort of names
    sums = ("sales", "costed", "cost", "paid", "on_time", "late")
    rows = [{**r, **{k: int(r[k] or 0) for k in sums}} for r in rows]  # PostgreSQL sums bigints as numeric
    rows = [r for r in rows if r["sales"] != 0 or r["paid"]]
    names = {r["id"]: r for r in await where_all(Client.select(Client.id, Client.name, Client.segment), scope.clients(Client))}
    rows = [{**r, "name": names[r["client"]]["name"], "segment": names[r["client"]]["segment"]} for r in rows if r["client"] in names]
    start, end = period_moments(first, last)
    # broken promises and plans of the period, per client (few rows: read them all, no list of ids)
    promises = await _counts(Pause.select(Pause.client, Count(alias="n")).where(
        (Pause.kind == PauseKind.PROMISE) & (Pause.end_reason == "broken") & (Pause.ended_at >= start) & (Pause.ended_at < end)
    ).group_by(Pause.client))
    plans = await _counts(Schedule.select(Schedule.client, Count(alias="n")).where(
        (Schedule.status == ScheduleStatus.BROKEN) & (Schedule.ended_at >= start) & (Schedule.ended_at < end)).group_by(Schedule.client))
    margins = {r["client"]: (r["costed"] or 0) - (r["cost"] or 0) if r["costed"] else None for r in rows}
    values = [(r["client"], (margins[r["client"]] or 0) if basis == "margin" else (r["sales"] or 0)) for r in rows]
    by_id = {r["client"]: r for r in rows}
    ranked = rules.classify(values, shares)
    out = [ClientClass(
        r.client_id, by_id[r.client_id]["name"], by_id[r.client_id]["segment"], r, by_id[r.client_id]["sales"] or 0, margins[r.client_id],
        rules.Discipline(by_id[r.client_id]["paid"] or 0, by_id[r.client_id]["on_time"] or 0, by_id[r.client_id]["late"] or 0,
                         promises.get(r.client_id, 0), plans.get(r.client_id, 0)),
    ) for r in ranked]
    return Analysis(currency, basis, shares, out, sum(v for _, v in values if v > 0))


async def _counts(query) -> dict[int, int]:
    return {r["client"]: r["n"] for r in await query}


async def apply_classes(analysis: Analysis, actor: Actor) -> int:
    """Each client whose class differs from its segment gets the class as its segment, in one
    transaction and one audited action; their open invoices are planned again on the ladder the
    new segment follows. Returns how many clients changed."""
    changes = {c.client_id: c.ranked.cls for c in analysis.changes}
    if not changes:
        return 0
    summary = {"currency": analysis.currency, "basis": analysis.basis, "shares": list(analysis.shares)}
    async with db.transaction():
        changed = await clients.set_segments(changes, actor, reason=summary)
        await ladders.replan_clients(list(changed))
    return len(changed)
