"""What the report pages share: the filters a person chose (checked, with messages where they
typed), whose figures they may see, the charts, and each table as an export sheet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from babel import numbers

from portal.auth.service import CurrentUser
from portal.money import CURRENCIES, to_decimal
from portal.reports import charts, export
from portal.reports.abc import rules as abc_rules
from portal.reports.abc.service import Analysis
from portal.reports.receivables import rules
from portal.reports.receivables.service import GROUPS, AgingReport
from portal.reports.scope import Scope
from portal.reports.service import MonthFactors
from portal.web.i18n import current_locale, format_date, format_money, format_month, format_number, gettext as _
from portal.web.local_input import date_input_value, parse_date

MONTHS_SHOWN = 12
CHART_CLIENTS = 40  # bars of the ABC chart before the rest are drawn as one
TABLE_CLIENTS = 200  # rows of the ABC table (the export holds them all)


def bucket_labels() -> dict[str, str]:
    return {"not_due": _("Not due"), "d1_30": _("1–30 days"), "d31_60": _("31–60 days"), "d61_90": _("61–90 days"),
            "d91_180": _("91–180 days"), "over_180": _("Over 180 days")}


def group_labels() -> dict[str, str]:
    return {"currency": _("Currency"), "client": _("Client"), "manager": _("Sales manager"), "segment": _("Segment")}


def decimal1(value: float | None) -> str:
    """One decimal in the reader's locale; '—' for nothing."""
    if value is None:
        return "—"
    return numbers.format_decimal(Decimal(str(round(value, 1))), format="#,##0.0", locale=current_locale())


def percent1(value: float | None) -> str:
    return "—" if value is None else _("%(value)s %%", value=decimal1(value))


@dataclass
class Filters:
    """What the person asked for, checked: values to show back in the form, and messages by field."""

    scope: Scope
    values: dict[str, str]
    errors: dict[str, str]
    day: dt.date
    group: str
    first: dt.date  # first month of a period
    last: dt.date  # last month of a period

    def query(self, **changes: str) -> str:
        """The filters as a query string, with some changed (for drill-down and export links)."""
        merged = {k: v for k, v in {**self.values, **changes}.items() if v not in ("", None)}
        return urlencode(merged)


def scope_for(user: CurrentUser, params, values: dict[str, str], errors: dict[str, str]) -> Scope:
    """A sales manager without the right to see all sees only their own clients, whatever the link says."""
    manager: int | None = None
    if not user.can.see_all_reports:
        manager = user.id
    else:
        raw = (params.get("manager") or "").strip()
        if raw:
            if raw.isdigit() and 0 < int(raw) < 2**31:
                manager = int(raw)
                values["manager"] = raw
            else:
                errors["manager"] = _("Choose a sales manager from the list.")
    segment = (params.get("segment") or "").strip().upper()
    if segment and segment not in abc_rules.CLASSES:
        errors["segment"] = _("Choose segment A, B or C.")
        segment = ""
    currency = (params.get("currency") or "").strip().upper()
    if currency and currency not in CURRENCIES:
        errors["currency"] = _("Choose a currency from the list.")
        currency = ""
    values.update(segment=segment, currency=currency)
    return Scope(manager=manager, segment=segment, currency=currency)


def read_filters(user: CurrentUser, params, today: dt.date) -> Filters:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    scope = scope_for(user, params, values, errors)
    raw_day = (params.get("day") or "").strip()
    day = parse_date(raw_day) if raw_day else today
    if day is None:
        errors["day"] = _("Enter a date such as %(example)s.", example=date_input_value(today))
        day = today
    elif day > today:
        errors["day"] = _("Choose today or a day before: the future has no receivables yet.")
        day = today
    values["day"] = raw_day if "day" in errors else ("" if day == today else day.isoformat())
    group = (params.get("group") or "currency").strip()
    group = group if group in GROUPS else "currency"
    values["group"] = group
    first, last = _months(params, today, values, errors)
    return Filters(scope, values, errors, day, group, first, last)


def _months(params, today: dt.date, values: dict[str, str], errors: dict[str, str]) -> tuple[dt.date, dt.date]:
    """The period of months (YYYY-MM) typed; the last 12 months by default."""
    this_month = rules.month_start(today)

    def month_of(name: str, default: dt.date) -> dt.date:
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = dt.date.fromisoformat(raw + "-01") if len(raw) == 7 else rules.month_start(dt.date.fromisoformat(raw))
        except ValueError:
            errors[name] = _("Enter a month such as %(example)s.", example=this_month.strftime("%Y-%m"))
            return default
        values[name] = raw
        return value

    last = min(month_of("to", this_month), this_month)
    first = month_of("from", rules.add_months(last, -(MONTHS_SHOWN - 1)))
    if first > last:
        errors["from"] = _("The start must not be after the end.")
        first = rules.add_months(last, -(MONTHS_SHOWN - 1))
    if len(rules.months_between(first, last)) > 60:
        errors["from"] = _("Choose a period of at most five years.")
        first = rules.add_months(last, -59)
    return first, last


def month_label(month: dt.date) -> str:
    return format_month(month)


# --- charts ---------------------------------------------------------------------------------------

def aging_chart(report: AgingReport) -> object:
    """Per currency, the share of its open receivables in each bucket: currencies are compared by
    their mix of ages, never by adding or scaling amounts across them."""
    labels = bucket_labels()
    currencies = sorted(c for c in report.totals if report.totals[c].total > 0)

    def share(c: str, key: str) -> float:
        return report.totals[c].amounts[key] / report.totals[c].total * 100

    series = [charts.Series(labels[key], [share(c, key) for c in currencies]) for key in rules.BUCKET_KEYS]
    desc = "; ".join(_("%(currency)s: %(total)s open, %(overdue)s overdue", currency=c, total=format_money(report.totals[c].total, c),
                       overdue=format_money(report.totals[c].overdue, c)) for c in currencies)
    return charts.bar_chart("aging-chart", _("Share of the open receivables by age, per currency"), desc or _("Nothing open"), currencies,
                            series, value_format=percent1, stacked=True, horizontal=True, empty_text=_("Nothing was open on this day."))


def collection_chart(currency: str, months: list[rules.Collection]) -> dict:
    labels = [month_label(m.month) for m in months]
    series = [charts.Series(_("DSO (count-back)"), [m.dso if m.dso_complete else None for m in months]),
              charts.Series(_("Best possible DSO"), [m.best_dso for m in months]),
              charts.Series(_("Average days delinquent"), [m.add for m in months])]
    last = months[-1] if months else None
    desc = _("%(currency)s: DSO %(dso)s days in %(month)s", currency=currency, dso=decimal1(last.dso) if last else "—",
             month=labels[-1] if labels else "")
    title = _("Days sales outstanding, %(currency)s", currency=currency)
    return {"title": title, "svg": charts.line_chart(f"dso-{currency}", title, desc, labels, series, y_format=decimal1,
                                                     empty_text=_("No sales in these months."))}


def cei_chart(currency: str, months: list[rules.Collection]) -> dict:
    labels = [month_label(m.month) for m in months]
    title = _("Collection effectiveness index, %(currency)s", currency=currency)
    return {"title": title, "svg": charts.line_chart(f"cei-{currency}", title, _("CEI per month in percent"), labels,
                                                     [charts.Series(_("CEI"), [m.cei for m in months])], y_format=percent1, y_min=0,
                                                     empty_text=_("Nothing was collectable in these months."))}


def abc_chart(analysis: Analysis) -> object:
    ranked = [c for c in analysis.clients if c.ranked.value > 0]
    labels, values = [c.name for c in ranked[:CHART_CLIENTS]], [float(c.ranked.value) for c in ranked[:CHART_CLIENTS]]
    if len(ranked) > CHART_CLIENTS:  # the long tail as one bar, so the cumulative line still ends at 100 %
        labels.append(_("%(n)s other clients", n=format_number(len(ranked) - CHART_CLIENTS)))
        values.append(float(sum(c.ranked.value for c in ranked[CHART_CLIENTS:])))
    a, b = analysis.shares
    return charts.pareto_chart(
        "abc-chart", _("Clients ranked by %(basis)s", basis=basis_label(analysis.basis)),
        _("%(a)s clients in A, %(b)s in B, %(c)s in C", a=analysis.count("A"), b=analysis.count("B"), c=analysis.count("C")),
        labels, values,
        value_format=lambda v: format_money(round(v), analysis.currency), thresholds=(a, a + b), percent_format=percent1,
        cumulative_name=_("Cumulative share"), empty_text=_("No client was invoiced in this period."))


def basis_label(basis: str) -> str:
    return _("gross margin") if basis == "margin" else _("sales volume")


def compact(value: float) -> str:
    """An axis label: 12 500 as '12,5 K' in the reader's locale (the chart's title names the currency)."""
    return numbers.format_compact_decimal(value, locale=current_locale(), fraction_digits=1)


def trend_chart(chart_id: str, title: str, labels: list[str], values: list[float | None], y_format) -> dict:
    """A chart with its visible title (the SVG's own title is for screen readers)."""
    return {"title": title, "svg": charts.line_chart(chart_id, title, title, labels, [charts.Series(title, values)], y_format=y_format,
                                                     empty_text=_("No invoices in these months."))}


# --- exports --------------------------------------------------------------------------------------

def aging_sheet(report: AgingReport, group: str) -> export.Sheet:
    labels = bucket_labels()
    columns = [export.Column(group_labels()[group], "text"), export.Column(_("Currency"), "text")]
    columns += [export.Column(labels[k], "money", currency_column=1) for k in rules.BUCKET_KEYS]
    columns += [export.Column(_("Total"), "money", currency_column=1), export.Column(_("Invoices"), "int")]
    rows = [[row.label or (_("No sales manager") if group == "manager" else ""), row.currency,
             *[row.aging.amounts[k] for k in rules.BUCKET_KEYS], row.aging.total, row.aging.invoices] for row in report.rows]
    return export.Sheet(_("Aging %(day)s", day=report.day.isoformat()), columns, rows,
                        note=_("Open receivables at the end of %(day)s.", day=format_date(report.day)))


def collection_sheet(per_currency: dict[str, list[rules.Collection]]) -> export.Sheet:
    columns = [export.Column(_("Month"), "date"), export.Column(_("Currency"), "text"),
               export.Column(_("Sales"), "money", currency_column=1), export.Column(_("Open at month end"), "money", currency_column=1),
               export.Column(_("Overdue at month end"), "money", currency_column=1), export.Column(_("DSO (count-back)"), "decimal", decimals=1),
               export.Column(_("DSO (simple)"), "decimal", decimals=1), export.Column(_("Best possible DSO"), "decimal", decimals=1),
               export.Column(_("Average days delinquent"), "decimal", decimals=1), export.Column(_("CEI, %%"), "percent")]
    rows = [[m.month, currency, m.sales, m.end_open, m.end_overdue, _round(m.dso if m.dso_complete else None), _round(m.dso_simple),
             _round(m.best_dso), _round(m.add), _round(m.cei)] for currency, months in per_currency.items() for m in months]
    return export.Sheet(_("DSO and CEI"), columns, rows, note=formulas_note())


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def formulas_note() -> str:
    return _("DSO (count-back): the month-end receivables are matched against each month's sales going back; "
             "DSO (simple) = receivables ÷ the month's sales × its days; ADD = DSO − best possible DSO (counted back over what is not yet due); "
             "CEI = (opening receivables + sales − closing receivables) ÷ (opening receivables + sales − closing receivables not yet due) × 100.")


def abc_sheet(analysis: Analysis) -> export.Sheet:
    columns = [export.Column(_("Rank"), "int"), export.Column(_("Client"), "text"), export.Column(_("Currency"), "text"),
               export.Column(_("Sales"), "money", currency_column=2), export.Column(_("Gross margin"), "money", currency_column=2),
               export.Column(_("Share, %%"), "percent"), export.Column(_("Cumulative, %%"), "percent"), export.Column(_("Class"), "text"),
               export.Column(_("Segment"), "text"), export.Column(_("Paid on time, %%"), "percent"),
               export.Column(_("Average days late"), "decimal", decimals=1), export.Column(_("Broken promises"), "int"),
               export.Column(_("Broken plans"), "int"), export.Column(_("Discipline score"), "int")]
    rows = [[i, c.name, analysis.currency, c.sales_minor, c.margin_minor, round(c.ranked.share, 1), round(c.ranked.cumulative, 1), c.ranked.cls,
             c.segment, _round(c.discipline.on_time_share), _round(c.discipline.average_days_late), c.discipline.broken_promises,
             c.discipline.broken_plans, c.discipline.score] for i, c in enumerate(analysis.clients, 1)]
    return export.Sheet(_("ABC analysis"), columns, rows)


def reasons_sheet(reasons: list[dict], dispute_reason) -> export.Sheet:
    """`dispute_reason`: a dispute reason's key to its message id (the disputes area's words)."""
    columns = [export.Column(_("Reason"), "text"), export.Column(_("Source"), "text"), export.Column(_("Sales manager"), "text"),
               export.Column(_("Times given"), "int")]
    rows = [[_(dispute_reason(r["reason"])) if r["source"] == "dispute" else r["reason"], source_label(r["source"]),
             r["manager"] or _("No sales manager"), r["count"]] for r in reasons]
    return export.Sheet(_("Delay reasons"), columns, rows)


def steps_sheet(steps: list[dict]) -> export.Sheet:
    columns = [export.Column(_("Ladder"), "text"), export.Column(_("Step"), "text"), export.Column(_("Currency"), "text"),
               export.Column(_("Amount received"), "money", currency_column=2), export.Column(_("Invoices"), "int"),
               export.Column(_("Share, %%"), "percent")]
    return export.Sheet(_("Money after each step"), columns,
                        [[s["ladder"], s["name"] or _("Before any step"), s["currency"], s["amount_minor"], s["invoices"], round(s["share"], 1)]
                         for s in steps])


def source_label(source: str) -> str:
    return _("Call") if source == "call" else _("Dispute")


def sales_sheet(months: list[MonthFactors]) -> export.Sheet:
    currencies = sorted({c for m in months for c in m.sales})
    columns = [export.Column(_("Month"), "date"), export.Column(_("Invoices"), "int"), export.Column(_("Clients invoiced"), "int"),
               export.Column(_("Invoices per client"), "decimal", decimals=2), export.Column(_("Invoiced orders"), "int"),
               export.Column(_("Reached production"), "int"), export.Column(_("Conversion, %%"), "percent")]
    columns += [export.Column(_("Sales, %(currency)s", currency=c), "decimal", decimals=2) for c in currencies]
    rows = [[m.month, m.invoices, m.clients, None if m.repeat is None else round(m.repeat, 2), m.with_order, m.converted,
             None if m.conversion is None else round(m.conversion * 100, 1),
             *[to_decimal(m.sales[c], c) if c in m.sales else None for c in currencies]] for m in months]
    return export.Sheet(_("Sales factors"), columns, rows)
