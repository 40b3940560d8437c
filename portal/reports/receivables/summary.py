"""The receivables summary (portal.reports.tables), rebuilt by the tick from invoices and payments.

A refresh reads how far the last one got (the highest invoice and payment ids it saw, its day)
and rebuilds the months from the earliest one the new facts touch: a new invoice's issue date, a
new payment's (or reversal's) received date, and, when the day has changed, the month of the last
refresh (its aging was as of that day). Nothing new and the same day: one locked read and two
counts. The rows of the rebuilt months are replaced in the refresh's one transaction; the mark
row, locked first, keeps two processes from refreshing at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Max, Min

from portal import db
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice, InvoiceLine, Payment, PaymentAllocation
from portal.clock import local_date, utcnow
from portal.dunning.engine.tables import ActionStatus, DunningAction
from portal.reports.receivables import rules
from portal.reports.tables import ClientMonth, StepMonth, SummaryMark

Key = tuple[dt.date, int, str]  # month, client, currency


@dataclass(frozen=True)
class Refreshed:
    months: int  # months rebuilt (0: nothing had changed)
    rows: int
    millis: int


def dirty_from(mark: dict, first_new_issue: dt.date | None, first_new_receipt: dt.date | None, today: dt.date) -> dt.date | None:
    """The first month to rebuild, or None when nothing changed since the mark (pure)."""
    if mark["built_on"] is None:
        return rules.month_start(first_new_issue or today)
    candidates = [d for d in (first_new_issue, first_new_receipt) if d is not None]
    if mark["built_on"] != today:
        candidates.append(mark["built_on"])
    if not candidates:
        return None
    return rules.month_start(min(min(candidates), today))


async def refresh(tz: str, now: dt.datetime | None = None) -> Refreshed:
    started = time.perf_counter()
    now = now or utcnow()
    today = local_date(now, tz)
    async with db.transaction():
        mark = await db.locked(SummaryMark.select().order_by(SummaryMark.id).limit(1)).first()
        if mark is None:  # the migration writes the row; a database emptied by hand gets it back
            await SummaryMark.insert(SummaryMark())
            mark = await db.locked(SummaryMark.select().order_by(SummaryMark.id).limit(1)).first()
        new_invoices = await _first_and_last(Invoice.select(Min(Invoice.issue_date, alias="first"), Max(Invoice.id, alias="last")).where(
            Invoice.id > mark["last_invoice_id"]))
        new_payments = await _first_and_last(Payment.select(Min(Payment.received_on, alias="first"), Max(Payment.id, alias="last")).where(
            Payment.id > mark["last_payment_id"]))
        first = (await _first_and_last(Invoice.select(Min(Invoice.issue_date, alias="first"))))["first"] if mark["built_on"] is None else None
        start = dirty_from(mark, _day(first or new_invoices["first"]), _day(new_payments["first"]), today)
        if start is None:
            return Refreshed(0, 0, round((time.perf_counter() - started) * 1000))
        months = rules.months_between(start, today)
        client_rows, step_rows = await _build(start, today, tz)
        await ClientMonth.delete().where(ClientMonth.month >= start)
        await StepMonth.delete().where(StepMonth.month >= start)
        for chunk in _chunks(client_rows):
            await ClientMonth.insert(*chunk)
        for chunk in _chunks(step_rows):
            await StepMonth.insert(*chunk)
        millis = round((time.perf_counter() - started) * 1000)
        await SummaryMark.update({
            SummaryMark.last_invoice_id: max(mark["last_invoice_id"], new_invoices["last"] or 0),
            SummaryMark.last_payment_id: max(mark["last_payment_id"], new_payments["last"] or 0),
            SummaryMark.built_on: today, SummaryMark.built_from: start, SummaryMark.refreshed_at: now, SummaryMark.millis: millis,
        }).where(SummaryMark.id == mark["id"])
    return Refreshed(len(months), len(client_rows) + len(step_rows), millis)


async def _first_and_last(query) -> dict[str, Any]:
    """An aggregate's one row (min and max of nothing are NULL)."""
    return await query.first() or {"first": None, "last": None}


def _day(value) -> dt.date | None:
    """An aggregate's date (SQLite answers min() of a date column with its text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _chunks(rows: list, size: int = 2000):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


async def _build(start: dt.date, today: dt.date, tz: str) -> tuple[list[ClientMonth], list[StepMonth]]:
    figures: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    await _add_aging(figures, start, today)
    await _add_sales(figures, start, today)
    await _add_collections(figures, start, today)
    await _add_settled(figures, start, today)
    await _add_costs(figures, start, today)
    client_rows = []
    for (month, client, currency), values in sorted(figures.items()):
        row: dict[str, Any] = {"month": month, "client": client, "currency": currency, "as_of": min(rules.month_end(month), today), **values}
        client_rows.append(ClientMonth(**row))
    return client_rows, await _steps(start, today, tz)


def _receivable_window(start: dt.date, today: dt.date, table=Invoice):
    """Invoices that were open at some day from `start` to `today`."""
    return ((table.kind == InvoiceKind.INVOICE) & (table.issue_date <= today)
            & (table.settled_on.is_null() | (table.settled_on >= start)))


async def _add_aging(figures: dict, start: dt.date, today: dt.date) -> None:
    invoices = await Invoice.select(
        Invoice.id, Invoice.client, Invoice.currency, Invoice.issue_date, Invoice.due_date, Invoice.total_minor, Invoice.settled_on,
    ).where(_receivable_window(start, today))
    paid: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for row in await PaymentAllocation.select(
        PaymentAllocation.invoice, PaymentAllocation.payment.received_on.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where(_receivable_window(start, today, PaymentAllocation.invoice) & (PaymentAllocation.payment.received_on <= today)):
        paid[row["invoice"]].append((row["received_on"], row["amount_minor"]))
    for row in invoices:
        item = rules.Receivable(row["id"], row["client"], row["currency"], row["issue_date"], row["due_date"], row["total_minor"],
                                row["settled_on"], tuple(paid.get(row["id"], ())))
        last = today if item.settled_on is None else min(today, item.settled_on - dt.timedelta(days=1))
        for month in rules.months_between(max(start, item.issue_date), last):
            as_of = min(rules.month_end(month), today)
            balance = item.balance_on(as_of)
            if balance <= 0:
                continue
            days = (as_of - item.due_date).days
            values = figures[(month, item.client_id, item.currency)]
            values[rules.bucket_of(days) + "_minor"] += balance
            values["open_minor"] += balance
            values["open_invoices"] += 1
            if days > 0:
                values["overdue_days_minor"] += balance * days


async def _add_sales(figures: dict, start: dt.date, today: dt.date) -> None:
    for row in await Invoice.select(Invoice.client, Invoice.currency, Invoice.issue_date, Invoice.kind, Invoice.total_minor).where(
        (Invoice.issue_date >= start) & (Invoice.issue_date <= today)
    ):
        values = figures[(rules.month_start(row["issue_date"]), row["client"], row["currency"])]
        values["sales_minor"] += row["total_minor"]  # a credit note's total is negative
        if row["kind"] == InvoiceKind.INVOICE:
            values["invoices"] += 1


async def _add_collections(figures: dict, start: dt.date, today: dt.date) -> None:
    received = PaymentAllocation.payment.received_on
    for row in await PaymentAllocation.select(
        PaymentAllocation.invoice.client.as_alias("client"), PaymentAllocation.invoice.currency.as_alias("currency"),
        received.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where((received >= start) & (received <= today)):
        figures[(rules.month_start(row["received_on"]), row["client"], row["currency"])]["collected_minor"] += row["amount_minor"]


async def _add_settled(figures: dict, start: dt.date, today: dt.date) -> None:
    for row in await Invoice.select(Invoice.client, Invoice.currency, Invoice.due_date, Invoice.settled_on).where(
        (Invoice.status == InvoiceStatus.PAID) & (Invoice.kind == InvoiceKind.INVOICE)
        & (Invoice.settled_on >= start) & (Invoice.settled_on <= today)
    ):
        values = figures[(rules.month_start(row["settled_on"]), row["client"], row["currency"])]
        values["settled"] += 1
        late = (row["settled_on"] - row["due_date"]).days
        if late <= 0:
            values["settled_on_time"] += 1
        else:
            values["days_late"] += late


async def _add_costs(figures: dict, start: dt.date, today: dt.date) -> None:
    issued = InvoiceLine.invoice.issue_date
    for row in await InvoiceLine.select(
        InvoiceLine.invoice.client.as_alias("client"), InvoiceLine.invoice.currency.as_alias("currency"), issued.as_alias("issue_date"),
        InvoiceLine.net_minor, InvoiceLine.quantity, InvoiceLine.unit_cost_minor,
    ).where(InvoiceLine.unit_cost_minor.is_not_null() & (issued >= start) & (issued <= today)):
        values = figures[(rules.month_start(row["issue_date"]), row["client"], row["currency"])]
        values["costed_net_minor"] += row["net_minor"]
        values["cost_minor"] += row["unit_cost_minor"] * row["quantity"]


async def _steps(start: dt.date, today: dt.date, tz: str) -> list[StepMonth]:
    """Money received from `start` on, by the ladder step its invoice had reached that day: the
    furthest step done before the end of the day it came (no step: the ladder had not begun)."""
    received = PaymentAllocation.payment.received_on
    allocations = await PaymentAllocation.select(
        PaymentAllocation.invoice, PaymentAllocation.invoice.client.as_alias("client"),
        PaymentAllocation.invoice.currency.as_alias("currency"), received.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where((received >= start) & (received <= today) & (PaymentAllocation.amount_minor > 0)
            & (PaymentAllocation.invoice.kind == InvoiceKind.INVOICE))
    done: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
    for row in await DunningAction.select(DunningAction.invoice, DunningAction.step, DunningAction.position, DunningAction.done_at).where(
        (DunningAction.status == ActionStatus.DONE) & DunningAction.done_at.is_not_null()
        & DunningAction.invoice.is_in(sorted({a["invoice"] for a in allocations}) or [0])
    ):
        done[row["invoice"]].append((local_date(row["done_at"], tz), row["position"], row["step"]))
    sums: dict[tuple[dt.date, int, str, int | None], list[int]] = defaultdict(lambda: [0, 0])
    for a in allocations:
        reached = [(position, step) for day, position, step in done.get(a["invoice"], ()) if day <= a["received_on"]]
        step = max(reached)[1] if reached else None
        cell = sums[(rules.month_start(a["received_on"]), a["client"], a["currency"], step)]
        cell[0] += a["amount_minor"]
        cell[1] += 1
    return [StepMonth(month=m, client=c, currency=cur, step=s, amount_minor=v[0], invoices=v[1])
            for (m, c, cur, s), v in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or 0))]
