from __future__ import annotations

from decimal import Decimal

from babel import numbers
from litestar import Controller, Request, get
from litestar.response import Template

from portal.clock import local_date, utcnow
from portal.orders import service as orders
from portal.reports import rules as metrics, service
from portal.tasks import service as tasks
from portal.web.guards import staff_only
from portal.web.i18n import current_locale, format_money, gettext as _
from portal.web.responses import current_user, page


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
