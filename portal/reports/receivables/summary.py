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

from portal import bulk, db
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice, InvoiceLine, Payment, PaymentAllocation
from portal.clients.tables import Client
from portal.clock import local_date, utcnow
from portal.dunning.engine.tables import ActionStatus, DunningAction
from portal.reports.receivables import rules
from portal.reports.tables import ClientMonth, StepMonth, SummaryMark

Key = tuple[dt.date, int, str]  # month, client, currency
CLIENT_MONTHS_PER_PASS = 25_000  # clients x months rebuilt in one pass: about 200 MiB at the bench's 100 invoices a client
FIGURES = ("sales_minor", "invoices", "collected_minor", "open_minor", "open_invoices", "not_due_minor", "d1_30_minor", "d31_60_minor",
           "d61_90_minor", "d91_180_minor", "over_180_minor", "overdue_days_minor", "settled", "settled_on_time", "days_late",
           "costed_net_minor", "cost_minor")
CLIENT_MONTH_COLUMNS = (ClientMonth.month, ClientMonth.client, ClientMonth.currency, ClientMonth.as_of,
                        *(getattr(ClientMonth, name) for name in FIGURES))
STEP_MONTH_COLUMNS = (StepMonth.month, StepMonth.client, StepMonth.currency, StepMonth.step, StepMonth.amount_minor, StepMonth.invoices)


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


async def refresh(tz: str, now: dt.datetime | None = None, *, clients_per_pass: int | None = None) -> Refreshed:
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
        # a long rebuild (the first) goes a few clients at a time; the current month's, all at once
        per_pass = clients_per_pass or max(1000, CLIENT_MONTHS_PER_PASS // len(months))
        await ClientMonth.delete().where(ClientMonth.month >= start)
        await StepMonth.delete().where(StepMonth.month >= start)
        written = 0
        for clients in await _client_ranges(per_pass):  # a range of clients at a time: memory stays bounded at any size
            client_rows, step_rows = await _build(start, today, tz, clients)
            await bulk.insert_many(ClientMonth, CLIENT_MONTH_COLUMNS, client_rows)
            await bulk.insert_many(StepMonth, STEP_MONTH_COLUMNS, step_rows)
            written += len(client_rows) + len(step_rows)
        millis = round((time.perf_counter() - started) * 1000)
        await SummaryMark.update({
            SummaryMark.last_invoice_id: max(mark["last_invoice_id"], new_invoices["last"] or 0),
            SummaryMark.last_payment_id: max(mark["last_payment_id"], new_payments["last"] or 0),
            SummaryMark.built_on: today, SummaryMark.built_from: start, SummaryMark.refreshed_at: now, SummaryMark.millis: millis,
        }).where(SummaryMark.id == mark["id"])
    return Refreshed(len(months), written, millis)


async def _first_and_last(query) -> dict[str, Any]:
    """An aggregate's one row (min and max of nothing are NULL)."""
    return await query.first() or {"first": None, "last": None}


def _day(value) -> dt.date | None:
    """An aggregate's date (SQLite answers min() of a date column with its text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


async def _client_ranges(size: int) -> list[tuple[int, int]]:
    """(first id, last id) of consecutive runs of `size` clients."""
    ids = [r["id"] for r in await Client.select(Client.id).order_by(Client.id)]
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _of(column, clients: tuple[int, int]):
    """The rows of the clients in the range (`column`: a client foreign key, or a view of one)."""
    return (column >= clients[0]) & (column <= clients[1])


async def _build(start: dt.date, today: dt.date, tz: str, clients: tuple[int, int]) -> tuple[list[list], list[list]]:
    """The summary rows of the clients in the range, as values in the order of the *_COLUMNS."""
    figures: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    await _add_aging(figures, start, today, clients)
    await _add_sales(figures, start, today, clients)
    await _add_collections(figures, start, today, clients)
    await _add_settled(figures, start, today, clients)
    await _add_costs(figures, start, today, clients)
    client_rows = [[month, client, currency, min(rules.month_end(month), today), *(values.get(name, 0) for name in FIGURES)]
                   for (month, client, currency), values in sorted(figures.items())]
    return client_rows, await _steps(start, today, tz, clients)


def _receivable_window(start: dt.date, today: dt.date, table=Invoice):
    """Invoices that were open at some day from `start` to `today`."""
    return ((table.kind == InvoiceKind.INVOICE) & (table.issue_date <= today)
            & (table.settled_on.is_null() | (table.settled_on >= start)))


async def _add_aging(figures: dict, start: dt.date, today: dt.date, clients: tuple[int, int]) -> None:
    invoices = await Invoice.select(
        Invoice.id, Invoice.client, Invoice.currency, Invoice.issue_date, Invoice.due_date, Invoice.total_minor, Invoice.settled_on,
    ).where(_receivable_window(start, today) & _of(Invoice.client, clients))
    paid: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for row in await PaymentAllocation.select(
        PaymentAllocation.invoice, PaymentAllocation.payment.received_on.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where(_receivable_window(start, today, PaymentAllocation.invoice) & (PaymentAllocation.payment.received_on <= today)
            & _of(PaymentAllocation.invoice.client, clients)):
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


async def _add_sales(figures: dict, start: dt.date, today: dt.date, clients: tuple[int, int]) -> None:
    for row in await Invoice.select(Invoice.client, Invoice.currency, Invoice.issue_date, Invoice.kind, Invoice.total_minor).where(
        (Invoice.issue_date >= start) & (Invoice.issue_date <= today) & _of(Invoice.client, clients)
    ):
        values = figures[(rules.month_start(row["issue_date"]), row["client"], row["currency"])]
        values["sales_minor"] += row["total_minor"]  # a credit note's total is negative
        if row["kind"] == InvoiceKind.INVOICE:
            values["invoices"] += 1


async def _add_collections(figures: dict, start: dt.date, today: dt.date, clients: tuple[int, int]) -> None:
    received = PaymentAllocation.payment.received_on
    for row in await PaymentAllocation.select(
        PaymentAllocation.invoice.client.as_alias("client"), PaymentAllocation.invoice.currency.as_alias("currency"),
        received.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where((received >= start) & (received <= today) & _of(PaymentAllocation.invoice.client, clients)):
        figures[(rules.month_start(row["received_on"]), row["client"], row["currency"])]["collected_minor"] += row["amount_minor"]


async def _add_settled(figures: dict, start: dt.date, today: dt.date, clients: tuple[int, int]) -> None:
    for row in await Invoice.select(Invoice.client, Invoice.currency, Invoice.due_date, Invoice.settled_on).where(
        (Invoice.status == InvoiceStatus.PAID) & (Invoice.kind == InvoiceKind.INVOICE)
        & (Invoice.settled_on >= start) & (Invoice.settled_on <= today) & _of(Invoice.client, clients)
    ):
        values = figures[(rules.month_start(row["settled_on"]), row["client"], row["currency"])]
        values["settled"] += 1
        late = (row["settled_on"] - row["due_date"]).days
        if late <= 0:
            values["settled_on_time"] += 1
        else:
            values["days_late"] += late


async def _add_costs(figures: dict, start: dt.date, today: dt.date, clients: tuple[int, int]) -> None:
    issued = InvoiceLine.invoice.issue_date
    for row in await InvoiceLine.select(
        InvoiceLine.invoice.client.as_alias("client"), InvoiceLine.invoice.currency.as_alias("currency"), issued.as_alias("issue_date"),
        InvoiceLine.net_minor, InvoiceLine.quantity, InvoiceLine.unit_cost_minor,
    ).where(InvoiceLine.unit_cost_minor.is_not_null() & (issued >= start) & (issued <= today) & _of(InvoiceLine.invoice.client, clients)):
        values = figures[(rules.month_start(row["issue_date"]), row["client"], row["currency"])]
        values["costed_net_minor"] += row["net_minor"]
        values["cost_minor"] += row["unit_cost_minor"] * row["quantity"]


async def _steps(start: dt.date, today: dt.date, tz: str, clients: tuple[int, int]) -> list[list]:
    """Money received from `start` on, by the ladder step its invoice had reached that day: the
    furthest step done before the end of the day it came (no step: the ladder had not begun)."""
    received = PaymentAllocation.payment.received_on
    allocations = await PaymentAllocation.select(
        PaymentAllocation.invoice, PaymentAllocation.invoice.client.as_alias("client"),
        PaymentAllocation.invoice.currency.as_alias("currency"), received.as_alias("received_on"), PaymentAllocation.amount_minor,
    ).where((received >= start) & (received <= today) & (PaymentAllocation.amount_minor > 0)
            & (PaymentAllocation.invoice.kind == InvoiceKind.INVOICE) & _of(PaymentAllocation.invoice.client, clients))
    done: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
    window = ((received >= start) & (received <= today) & (PaymentAllocation.amount_minor > 0)
              & _of(PaymentAllocation.invoice.client, clients))
    for row in await DunningAction.select(DunningAction.invoice, DunningAction.step, DunningAction.position, DunningAction.done_at).where(
        (DunningAction.status == ActionStatus.DONE) & DunningAction.done_at.is_not_null()
        & DunningAction.invoice.is_in(PaymentAllocation.select(PaymentAllocation.invoice).where(window))  # a subquery: no list of ids
    ):
        done[row["invoice"]].append((local_date(row["done_at"], tz), row["position"], row["step"]))
    sums: dict[tuple[dt.date, int, str, int | None], list[int]] = defaultdict(lambda: [0, 0])
    for a in allocations:
        reached = [(position, step) for day, position, step in done.get(a["invoice"], ()) if day <= a["received_on"]]
        step = max(reached)[1] if reached else None
        cell = sums[(rules.month_start(a["received_on"]), a["client"], a["currency"], step)]
        cell[0] += a["amount_minor"]
        cell[1] += 1
    return [[m, c, cur, s, v[0], v[1]] for (m, c, cur, s), v in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or 0))]
