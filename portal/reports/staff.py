from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal

from babel import numbers
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from portal.clients import service as clients
from portal.clients.tables import Client
from portal.clock import local_date, utcnow
from portal.money import CURRENCIES
from portal.negotiation.disputes import rules as dispute_rules
from portal.orders import service as orders
from portal.reports import export, pages, rules as metrics, service
from portal.reports.abc import rules as abc_rules, service as abc
from portal.reports.outcomes import service as outcomes
from portal.reports.receivables import rules as receivables_rules, service as receivables, summary
from portal.tasks import service as tasks
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import current_language, current_locale, format_money, format_number, gettext as _, ngettext
from portal.web.responses import actor, current_user, is_htmx, page, see_other


def _decimal(value: float) -> str:
    """One decimal, in the reader's locale: 2 -> '2.0', 66.666 -> '66.7'."""
    return numbers.format_decimal(Decimal(str(round(value, 1))), format="#,##0.0", locale=current_locale())


def _share(value: float | None) -> str:
    return "—" if value is None else _("%(value)s %%", value=_decimal(value * 100))


def _change(value: float | None) -> dict:
    """'+12.5 %' / '−3.0 %' and a tone; '—' when there is nothing to compare with."""
    if value is None:
        return {"text": "—", "tone": "none"}
    rounded = round(value, 1)
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "±")
    return {"text": sign + _("%(value)s %%", value=_decimal(abs(rounded))), "tone": "up" if rounded > 0 else ("down" if rounded < 0 else "flat")}


def sales_view(comparison: metrics.Comparison) -> dict:
    """The four factors as the tiles show them."""
    now, before = comparison.current, comparison.previous
    averages_before = before.averages
    changes = comparison.average_changes
    return {
        "invoices": now.invoices,
        "invoices_before": before.invoices,
        "invoices_change": _change(comparison.invoices_change),
        "conversion": _share(now.conversion),
        "converted": now.converted,
        "with_order": now.with_order,
        "conversion_before": _share(before.conversion),
        "conversion_change": _change(comparison.conversion_change),
        "repeat": "—" if now.repeat is None else _decimal(now.repeat),
        "clients": now.clients,
        "repeat_before": "—" if before.repeat is None else _decimal(before.repeat),
        "repeat_change": _change(comparison.repeat_change),
        "averages": [
            {
                "currency": currency, "text": format_money(average, currency), "count": now.counts[currency],
                "before": format_money(averages_before[currency], currency) if currency in averages_before else "—",
                "change": _change(changes[currency]),
            }
            for currency, average in now.averages.items()
        ],
    }


class DashboardController(Controller):
    path = "/staff"
    guards = [staff_only]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        user = current_user(request)
        now = utcnow()
        tz = request.app.state.settings.firm_timezone
        today = local_date(now, tz)
        raw_from, raw_to = request.query_params.get("from", ""), request.query_params.get("to", "")
        period, period_errors = metrics.parse_period(raw_from, raw_to, today)
        comparison = await service.sales_metrics(period)
        due = await tasks.my_tasks(user.id, now, tz, include_upcoming=False)
        return page(
            "staff/dashboard.html",
            figures=await service.dashboard(today),
            tasks=due,
            task_count=await tasks.open_task_count(user.id, now, tz),
            sales=sales_view(comparison),
            period=comparison.period,
            previous_period=comparison.previous_period,
            period_values={"from": raw_from if period_errors else period.start.isoformat(),
                           "to": raw_to if period_errors else period.end.isoformat()},
            period_errors=period_errors,
            layout_work=await orders.layout_work() if user.can.see_layout_work else None,
            now=now,
            back="/staff",
        )


# --- /staff/reports -------------------------------------------------------------------------------

READERS = allowed("see_reports")
TABS = ("aging", "collection", "abc", "outcomes", "sales")
EXPORTS = ("aging", "collection", "abc", "reasons", "steps", "sales")


def _today(request: Request) -> dt.date:
    return local_date(utcnow(), request.app.state.settings.firm_timezone)


async def _common(request: Request, tab: str, filters: pages.Filters) -> dict:
    user = current_user(request)
    return {
        "tab": tab, "filters": filters, "values": filters.values, "errors": filters.errors,
        "managers": await clients.sales_managers() if user.can.see_all_reports else [],
        "currencies": sorted(CURRENCIES), "mark": await receivables.mark(), "today": _today(request),
        "bucket_keys": receivables_rules.BUCKET_KEYS, "bucket_labels": pages.bucket_labels(), "group_labels": pages.group_labels(),
        "decimal1": pages.decimal1, "percent1": pages.percent1, "month_label": pages.month_label, "back": request.url.path,
    }


def _answer(request: Request, tab: str, context: dict) -> Template:
    """The whole page, or for htmx (a filter changed) only the report under the filters."""
    return page(f"reports/_{tab}.html" if is_htmx(request) else f"reports/{tab}.html", **context)


async def _aging_context(request: Request, filters: pages.Filters) -> dict:
    report = await receivables.aging(filters.day, _today(request), filters.scope, filters.group, request.query_params.get("cursor"))
    return {"report": report, "chart": pages.aging_chart(report)}


async def _collection_context(request: Request, filters: pages.Filters) -> dict:
    today = _today(request)
    per_currency = await receivables.months(filters.scope, filters.last, today, count=pages.MONTHS_SHOWN)
    per_group = {group: await receivables.months_per(group, filters.scope, filters.last, today, count=1)
                 for group in (("manager", "segment") if current_user(request).can.see_all_reports else ("segment",))}
    return {"per_currency": per_currency, "per_group": per_group, "formulas": pages.formulas_note(),
            "charts": {c: (pages.collection_chart(c, m), pages.cei_chart(c, m)) for c, m in per_currency.items()}}


def _abc_options(params, filters: pages.Filters) -> tuple[str, tuple[int, int]]:
    basis = params.get("basis") or "sales"
    basis = basis if basis in abc.BASES else "sales"
    filters.values["basis"] = basis
    raw_a, raw_b = (params.get("a") or "").strip(), (params.get("b") or "").strip()
    shares = abc_rules.DEFAULT_SHARES
    if raw_a or raw_b:
        try:
            a, b = int(raw_a or shares[0]), int(raw_b or shares[1])
        except ValueError:
            filters.errors["a"] = _("Enter whole percentages, such as 80 and 15.")
        else:
            refusal = abc_rules.check_shares(a, b)
            if refusal:
                filters.errors["a"] = _(refusal)
            else:
                shares = (a, b)
        filters.values.update(a=raw_a, b=raw_b)
    return basis, shares


async def _abc_context(request: Request, filters: pages.Filters) -> dict:
    basis, shares = _abc_options(request.query_params, filters)
    found = await abc.currencies(filters.scope, filters.first, filters.last)
    currency = filters.scope.currency or (found[0] if found else "")
    analysis = await abc.analysis(filters.scope, currency, filters.first, filters.last, basis, shares) if currency else None
    return {"analysis": analysis, "abc_currencies": found, "chart": pages.abc_chart(analysis) if analysis else None,
            "score_formula": _(abc_rules.SCORE_FORMULA), "basis_label": pages.basis_label(basis),
            "table_clients": pages.TABLE_CLIENTS}


async def _outcomes_context(request: Request, filters: pages.Filters) -> dict:
    found = await outcomes.outcomes(filters.scope, filters.first, filters.last)
    return {"outcomes": found, "source_label": pages.source_label, "dispute_reason": dispute_rules.reason_label}


async def _sales_context(request: Request, filters: pages.Filters) -> dict:
    months = await service.monthly_factors(filters.scope, filters.first, filters.last)
    labels = [pages.month_label(m.month) for m in months]
    currencies = sorted({c for m in months for c in m.sales})
    period = metrics.Period(filters.first, receivables_rules.month_end(filters.last))
    return {
        "months": months, "sales_currencies": currencies, "waiting": await service.waiting_orders(filters.scope, period),
        "charts": [
            pages.trend_chart("trend-invoices", _("Invoices issued"), labels, [float(m.invoices) for m in months], format_number),
            pages.trend_chart("trend-conversion", _("Conversion"), labels,
                              [m.conversion * 100 if m.conversion is not None else None for m in months], pages.percent1),
            pages.trend_chart("trend-repeat", _("Invoices per client"), labels, [m.repeat for m in months], pages.decimal1),
            *[pages.trend_chart(f"trend-average-{c}", _("Average invoice, %(currency)s", currency=c), labels,
                                [m.sales.get(c, 0) / m.invoices / 100 if m.invoices and c in m.sales else None for m in months],
                                pages.compact) for c in currencies],
        ],
    }


CONTEXTS = {"aging": _aging_context, "collection": _collection_context, "abc": _abc_context, "outcomes": _outcomes_context,
            "sales": _sales_context}


class ReportsController(Controller):
    """The receivables and sales reports: a sales manager sees their own clients' figures only."""

    path = "/staff/reports"
    guards = [READERS]

    async def _tab(self, request: Request, tab: str) -> Template:
        filters = pages.read_filters(current_user(request), request.query_params, _today(request))
        context = await _common(request, tab, filters)
        context.update(await CONTEXTS[tab](request, filters))
        return _answer(request, tab, context)

    @get("/")
    async def aging(self, request: Request) -> Template:
        return await self._tab(request, "aging")

    @get("/collection")
    async def collection(self, request: Request) -> Template:
        return await self._tab(request, "collection")

    @get("/abc")
    async def abc_analysis(self, request: Request) -> Template:
        return await self._tab(request, "abc")

    @get("/outcomes")
    async def outcomes(self, request: Request) -> Template:
        return await self._tab(request, "outcomes")

    @get("/sales")
    async def sales(self, request: Request) -> Template:
        return await self._tab(request, "sales")

    @get("/aging/invoices")
    async def aging_invoices(self, request: Request) -> Template:
        """The invoices behind one cell of the aging table (a bucket, a client, a manager, a segment)."""
        user = current_user(request)
        params = request.query_params
        filters = pages.read_filters(user, params, _today(request))
        bucket = params.get("bucket") or ""
        if bucket and bucket not in receivables_rules.BUCKET_KEYS:
            raise NotFoundException()
        scope = filters.scope
        raw_client = params.get("client") or ""
        if raw_client:
            if not raw_client.isdigit() or not 0 < int(raw_client) < 2**31:
                raise NotFoundException()
            scope = dataclasses.replace(scope, client=int(raw_client))
            filters.values["client"] = raw_client
        filters.values["bucket"] = bucket
        invoices = await receivables.aging_invoices(filters.day, scope, bucket, params.get("cursor"))
        context = await _common(request, "aging", filters)
        return page("reports/_aging_invoices.html" if is_htmx(request) else "reports/aging_invoices.html",
                    invoices=invoices, bucket=bucket, client_name=await _client_name(scope.client), **context)

    @get("/export/{table:str}")
    async def export_table(self, request: Request, table: str) -> Response:
        """A table of the reports as CSV or XLSX (?format=csv|xlsx), with the page's filters."""
        fmt = request.query_params.get("format") or "csv"
        if table not in EXPORTS or fmt not in export.FORMATS:
            raise NotFoundException()
        filters = pages.read_filters(current_user(request), request.query_params, _today(request))
        sheet = await _sheet(request, table, filters)
        content_type, write = export.FORMATS[fmt]
        name = export.filename(table, _today(request), fmt)
        body = await asyncio.to_thread(write, sheet, current_language())  # a big sheet takes seconds: the worker serves others meanwhile
        return Response(body, media_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @post("/abc/apply", guards=[allowed("apply_segments")], status_code=303)
    async def apply_abc(self, request: Request) -> Redirect:
        """Every client of the analysis shown gets its class as its segment (which chooses its ladder)."""
        form = await form_data(request)
        filters = pages.read_filters(current_user(request), form, _today(request))
        basis, shares = _abc_options(form, filters)
        back = f"/staff/reports/abc?{filters.query()}"
        currency = filters.scope.currency
        if filters.errors or not currency:
            flash(request, _("Choose the currency of the analysis before applying its classes."), "error")
            return see_other(back)
        analysis = await abc.analysis(filters.scope, currency, filters.first, filters.last, basis, shares)
        changed = await abc.apply_classes(analysis, actor(request))
        done = ngettext("%(count)s client now has its ABC class as its segment.", "%(count)s clients now have their ABC class as their segment.",
                        changed, count=format_number(changed)) if changed else _("Every client's segment already matched its class.")
        flash(request, done)
        return see_other(back)

    @post("/refresh", guards=[allowed("see_all_reports")], status_code=303)
    async def refresh(self, request: Request) -> Redirect:
        """Bring the summary up to date now instead of at the next tick."""
        form = await form_data(request)
        done = await summary.refresh(request.app.state.settings.firm_timezone)
        flash(request, _("The figures are up to date (%(ms)s ms).", ms=format_number(done.millis)))
        target = form.get("back") or "/staff/reports"
        return see_other(target if target.startswith("/staff/reports") else "/staff/reports")


async def _client_name(client_id: int | None) -> str:
    if client_id is None:
        return ""
    row = await Client.select(Client.name).where(Client.id == client_id).first()
    if row is None:
        raise NotFoundException()
    return row["name"]


async def _sheet(request: Request, table: str, filters: pages.Filters) -> export.Sheet:
    if table == "aging":
        report = await receivables.aging(filters.day, _today(request), filters.scope, filters.group, None, paged=False)
        return pages.aging_sheet(report, filters.group)
    if table == "collection":
        return pages.collection_sheet(await receivables.months(filters.scope, filters.last, _today(request), count=pages.MONTHS_SHOWN))
    if table == "abc":
        context = await _abc_context(request, filters)
        if context["analysis"] is None:
            return export.Sheet(_("ABC analysis"), [export.Column(_("Client"), "text")], [])
        return pages.abc_sheet(context["analysis"])
    if table in ("reasons", "steps"):
        found = await outcomes.outcomes(filters.scope, filters.first, filters.last)
        return pages.reasons_sheet(found.reasons, dispute_rules.reason_label) if table == "reasons" else pages.steps_sheet(found.steps)
    return pages.sales_sheet(await service.monthly_factors(filters.scope, filters.first, filters.last))
