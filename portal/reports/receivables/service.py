"""Reading the receivables: aging on a day (from the summary for today and month ends, recomputed
from invoices and payments for any other day), the invoices behind an aging cell, and the monthly
collection figures (DSO, CEI, ADD) of a scope."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from piccolo.query.functions.aggregate import Count, Sum

from portal.auth.tables import User
from portal.billing.rules import InvoiceKind
from portal.billing.tables import Invoice, PaymentAllocation
from portal.clients.tables import Client
from portal.reports.receivables import rules
from portal.reports.scope import Scope, where_all
from portal.reports.tables import ClientMonth, SummaryMark
from portal.web.pagination import Page, decode_cursor, encode_cursor

GROUPS = ("currency", "client", "manager", "segment")
PAGE_SIZE = 50


@dataclass
class AgingRow:
    key: object  # client id, manager id, segment letter, or the currency
    label: str
    currency: str
    aging: rules.Aging


@dataclass
class AgingReport:
    day: dt.date
    source: str  # "summary" (kept by the tick) or "recomputed"
    totals: dict[str, rules.Aging] = field(default_factory=dict)
    rows: list[AgingRow] = field(default_factory=list)
    next_cursor: str | None = None


async def mark() -> dict | None:
    return await SummaryMark.select().order_by(SummaryMark.id).first()


def summary_holds(built_on: dt.date | None, day: dt.date) -> bool:
    """The summary answers for the day of its last refresh (today's figures) and for the end of a
    month it has closed; any other day is recomputed."""
    if built_on is None or day > built_on:
        return False
    return day == built_on or day == rules.month_end(day)


async def aging(day: dt.date, today: dt.date, scope: Scope, group: str, cursor: str | None = None, *, paged: bool = True) -> AgingReport:
    """The receivables open at the end of `day`, per currency and per row of `group`; clients come
    a page at a time unless `paged` is False (an export)."""
    built = await mark()
    if summary_holds(built["built_on"] if built else None, day):
        return await _aging_from_summary(day, scope, group, cursor, PAGE_SIZE if paged else None)
    per_client = await _aging_recomputed(day, scope)
    report = AgingReport(day, "recomputed")
    for (_, currency), item in per_client.items():
        report.totals.setdefault(currency, rules.Aging()).merge(item)
    report.rows, report.next_cursor = await _grouped(per_client, group, cursor, PAGE_SIZE if paged else None)
    return report


_BUCKET_COLUMNS = tuple(getattr(ClientMonth, f"{key}_minor") for key in rules.BUCKET_KEYS)


def _aging_of(row: dict) -> rules.Aging:
    """A summary row's (or a sum of rows') aging; PostgreSQL sums bigints as numeric."""
    return rules.Aging(amounts={key: int(row[f"{key}_minor"] or 0) for key in rules.BUCKET_KEYS}, invoices=int(row["open_invoices"] or 0),
                       overdue_days_minor=int(row["overdue_days_minor"] or 0))


def _sums() -> list:
    return [*(Sum(c, alias=c._meta.name) for c in _BUCKET_COLUMNS), Sum(ClientMonth.open_invoices, alias="open_invoices"),
            Sum(ClientMonth.overdue_days_minor, alias="overdue_days_minor")]


async def _aging_from_summary(day: dt.date, scope: Scope, group: str, cursor: str | None, size: int | None) -> AgingReport:
    """Today's or a month end's aging from the summary, added up in the database: a few rows per
    currency, manager or segment; clients a page at a time in the order of their balance."""
    month = (ClientMonth.month == rules.month_start(day)) & (ClientMonth.open_minor > 0)
    conditions = (scope.clients(ClientMonth.client), (ClientMonth.currency == scope.currency) if scope.currency else None)
    report = AgingReport(day, "summary")
    for row in await where_all(ClientMonth.select(ClientMonth.currency, *_sums()).where(month).group_by(ClientMonth.currency), *conditions):
        report.totals[row["currency"]] = _aging_of(row)
    if group == "client":
        query = ClientMonth.select(ClientMonth.client, ClientMonth.client.name.as_alias("name"), ClientMonth.currency, ClientMonth.open_minor,
                                   ClientMonth.open_invoices, ClientMonth.overdue_days_minor, *_BUCKET_COLUMNS).where(month)
        key = decode_cursor(cursor, (str, str, int))  # the balance as text: it may pass a 32-bit id's range
        if key and key[1].isdigit():
            currency, total, client_id = key[0], int(key[1]), key[2]
            query = query.where((ClientMonth.currency > currency) | ((ClientMonth.currency == currency) & (
                (ClientMonth.open_minor < total) | ((ClientMonth.open_minor == total) & (ClientMonth.client > client_id)))))
        query = where_all(query, *conditions).order_by(ClientMonth.currency).order_by(ClientMonth.open_minor, ascending=False).order_by(
            ClientMonth.client)
        rows = await (query.limit(size + 1) if size else query)
        shown = rows[:size] if size else rows
        report.rows = [AgingRow(r["client"], r["name"], r["currency"], _aging_of(r)) for r in shown]
        if size and len(rows) > size:
            last = shown[-1]
            report.next_cursor = encode_cursor([last["currency"], str(last["open_minor"]), last["client"]])
        return report
    if group == "currency":
        report.rows = [AgingRow(c, c, c, item) for c, item in sorted(report.totals.items())]
        return report
    column = ClientMonth.client.sales_manager if group == "manager" else ClientMonth.client.segment
    rows = await where_all(ClientMonth.select(column.as_alias("key"), ClientMonth.currency, *_sums()).where(month).group_by(
        column, ClientMonth.currency), *conditions)
    names = await _manager_names({r["key"] for r in rows}) if group == "manager" else {}
    report.rows = sorted((AgingRow(r["key"], names.get(r["key"], "") if group == "manager" else str(r["key"] or ""), r["currency"], _aging_of(r))
                          for r in rows), key=lambda r: (r.currency, -r.aging.total, str(r.key)))
    return report


async def _manager_names(ids: set) -> dict[int, str]:
    wanted = sorted(i for i in ids if isinstance(i, int))
    return {r["id"]: r["name"] for r in await User.select(User.id, User.name).where(User.id.is_in(wanted or [0]))}


def _open_on(day: dt.date, table=Invoice):
    return ((table.kind == InvoiceKind.INVOICE) & (table.issue_date <= day)
            & (table.settled_on.is_null() | (table.settled_on > day)))


async def _aging_recomputed(day: dt.date, scope: Scope) -> dict[tuple[int, str], rules.Aging]:
    """The balances open on `day`, from the invoices and the payments received by then: two
    grouped queries (what was invoiced, what was paid of it), subtracted per due date."""
    currency = scope.currency
    invoiced = await where_all(
        Invoice.select(Invoice.client, Invoice.currency, Invoice.due_date, Sum(Invoice.total_minor, alias="total"), Count(alias="n"))
        .where(_open_on(day)).group_by(Invoice.client, Invoice.currency, Invoice.due_date),
        scope.clients(Invoice.client), (Invoice.currency == currency) if currency else None,
    )
    inv = PaymentAllocation.invoice
    paid = await where_all(
        PaymentAllocation.select(inv.client.as_alias("client"), inv.currency.as_alias("currency"), inv.due_date.as_alias("due_date"),
                                 Sum(PaymentAllocation.amount_minor, alias="paid"))
        .where(_open_on(day, inv) & (PaymentAllocation.payment.received_on <= day)).group_by(inv.client, inv.currency, inv.due_date),
        scope.clients(inv.client), (inv.currency == currency) if currency else None,
    )
    paid_by = {(r["client"], r["currency"], r["due_date"]): int(r["paid"] or 0) for r in paid}  # PostgreSQL sums bigints as numeric
    out: dict[tuple[int, str], rules.Aging] = {}
    for r in invoiced:
        balance = int(r["total"] or 0) - paid_by.get((r["client"], r["currency"], r["due_date"]), 0)
        if balance > 0:
            out.setdefault((r["client"], r["currency"]), rules.Aging()).add(balance, (day - r["due_date"]).days, r["n"])
    return out


async def _grouped(per_client: dict[tuple[int, str], rules.Aging], group: str, cursor: str | None,
                   size: int | None) -> tuple[list[AgingRow], str | None]:
    """The per-client balances as the rows of the chosen grouping; clients are keyset-paged by
    currency, then the largest balance first."""
    if group == "client":
        return await _client_rows(per_client, cursor, size)
    # every client at once: a list of thousands of ids costs more than the rows, and could pass PostgreSQL's limit
    clients = {r["id"]: r for r in await Client.select(Client.id, Client.segment, Client.sales_manager)} if group != "currency" else {}
    names = await _manager_names({c["sales_manager"] for c in clients.values()}) if group == "manager" else {}
    grouped: dict[tuple, AgingRow] = {}
    for (client_id, currency), item in per_client.items():
        client = clients.get(client_id, {"segment": "", "sales_manager": None})
        key: object = currency if group == "currency" else client["segment"] if group == "segment" else client["sales_manager"]
        label = names.get(key, "") if group == "manager" and isinstance(key, int) else str(key or "")
        grouped.setdefault((str(key), currency), AgingRow(key, label, currency, rules.Aging())).aging.merge(item)
    return sorted(grouped.values(), key=lambda r: (r.currency, -r.aging.total, str(r.key))), None


async def _client_rows(per_client: dict[tuple[int, str], rules.Aging], cursor: str | None,
                       size: int | None) -> tuple[list[AgingRow], str | None]:
    def order(kv) -> tuple:
        (client_id, currency), item = kv
        return currency, -item.total, client_id

    ordered = sorted(per_client.items(), key=order)
    key = decode_cursor(cursor, (str, str, int))  # the balance as text: it may pass a 32-bit id's range
    if key and key[1].lstrip("-").isdigit():
        after = (key[0], -int(key[1]), key[2])
        ordered = [kv for kv in ordered if order(kv) > after]
    shown = ordered[:size] if size else ordered
    query = Client.select(Client.id, Client.name)
    names = {r["id"]: r["name"] for r in await (query.where(Client.id.is_in([c for (c, _), _ in shown] or [0])) if size else query)}
    next_cursor = None
    if size and len(ordered) > size:
        (client_id, currency), item = shown[-1]
        next_cursor = encode_cursor([currency, str(item.total), client_id])
    return [AgingRow(c, names.get(c, ""), currency, item) for (c, currency), item in shown], next_cursor


# --- the invoices behind a cell -------------------------------------------------------------------

async def aging_invoices(day: dt.date, scope: Scope, bucket: str, cursor: str | None = None) -> Page:
    """The invoices open on `day` in `bucket` ("" for all), each with its balance on that day,
    oldest due first; keyset-paged on (due_date, id)."""
    first, last = rules.bucket_range(bucket) if bucket else (None, None)
    query = Invoice.select(Invoice.id, Invoice.code, Invoice.client, Invoice.client.name.as_alias("client_name"), Invoice.currency,
                           Invoice.issue_date, Invoice.due_date, Invoice.total_minor).where(_open_on(day))
    conditions = [scope.clients(Invoice.client), (Invoice.currency == scope.currency) if scope.currency else None]
    if bucket == "not_due":
        conditions.append(Invoice.due_date >= day)
    elif first is not None:
        conditions.append(Invoice.due_date <= day - dt.timedelta(days=first))
        if last is not None:
            conditions.append(Invoice.due_date >= day - dt.timedelta(days=last))
    key = decode_cursor(cursor, (str, int))
    if key:
        after = dt.date.fromisoformat(key[0]) if _iso(key[0]) else None
        if after:
            conditions.append((Invoice.due_date > after) | ((Invoice.due_date == after) & (Invoice.id > key[1])))
    rows = await where_all(query, *conditions).order_by(Invoice.due_date, Invoice.id).limit(PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    paid: dict[int, int] = defaultdict(int)
    for r in await PaymentAllocation.select(PaymentAllocation.invoice, PaymentAllocation.amount_minor).where(
            PaymentAllocation.invoice.is_in([r["id"] for r in shown] or [0]) & (PaymentAllocation.payment.received_on <= day)):
        paid[r["invoice"]] += r["amount_minor"]
    for r in shown:
        r["balance_minor"] = r["total_minor"] - paid[r["id"]]
        r["days_overdue"] = max(0, (day - r["due_date"]).days)
    next_cursor = encode_cursor([shown[-1]["due_date"].isoformat(), shown[-1]["id"]]) if len(rows) > PAGE_SIZE else None
    return Page(shown, next_cursor, key is None)


def _iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- the monthly figures --------------------------------------------------------------------------

async def months(scope: Scope, last_month: dt.date, today: dt.date, count: int = 12, lookback: int = 12) -> dict[str, list[rules.Collection]]:
    """Per currency, the collection figures of the `count` months up to `last_month`, from the summary."""
    grouped = await _months_by(None, scope, last_month, today, count, lookback)
    return {currency: figures for (_, currency), figures in grouped.items()}


async def months_per(group: str, scope: Scope, last_month: dt.date, today: dt.date, count: int = 12,
                     lookback: int = 12) -> list[dict]:
    """The last month's figures per sales manager or segment ("manager" / "segment"), each
    currency apart, in one query: [{key, label, currency, figures}]."""
    column = ClientMonth.client.sales_manager if group == "manager" else ClientMonth.client.segment
    grouped = await _months_by(column, scope, last_month, today, count, lookback)
    names: dict[int, str] = {}
    if group == "manager":
        names = {r["id"]: r["name"] for r in await User.select(User.id, User.name).where(
            User.id.is_in(sorted({k for k, _ in grouped if isinstance(k, int)}) or [0]))}
    out = [{"key": key, "label": names.get(key, "") if group == "manager" else str(key or ""), "currency": currency, "figures": figures[-1]}
           for (key, currency), figures in grouped.items() if figures]
    return sorted(out, key=lambda r: (r["currency"], r["label"] == "", r["label"]))


async def _months_by(column, scope: Scope, last_month: dt.date, today: dt.date, count: int, lookback: int) -> dict[tuple, list[rules.Collection]]:
    first = rules.add_months(last_month, -(count + lookback))
    keys = [column.as_alias("key")] if column is not None else []
    rows = await where_all(
        ClientMonth.select(ClientMonth.month, ClientMonth.currency, *keys, Sum(ClientMonth.sales_minor, alias="sales"),
                           Sum(ClientMonth.open_minor, alias="open"), Sum(ClientMonth.not_due_minor, alias="current"))
        .where((ClientMonth.month >= first) & (ClientMonth.month <= last_month))
        .group_by(ClientMonth.month, ClientMonth.currency, *([column] if column is not None else [])),
        scope.clients(ClientMonth.client), (ClientMonth.currency == scope.currency) if scope.currency else None,
    )
    per_group: dict[tuple, dict[dt.date, dict]] = defaultdict(dict)
    for r in rows:
        per_group[(r.get("key"), r["currency"])][r["month"]] = r
    out = {}
    for group_key, per_month in sorted(per_group.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        series, before = [], 0
        for month in rules.months_between(first, last_month):
            r = per_month.get(month, {})
            end_open = int(r.get("open") or 0)  # PostgreSQL sums bigints as numeric
            series.append(rules.Month(month, rules.days_in(month, today), int(r.get("sales") or 0), before, end_open,
                                      int(r.get("current") or 0)))
            before = end_open
        figures = rules.collection(series, lookback)[-count:]
        while figures and figures[0].dso is None and figures[0].sales == 0:  # before the first invoice: nothing to show
            figures.pop(0)
        out[group_key] = figures
    return out
