"""What the client's and the negotiator's schedule pages share: the policy context of a request,
the view of one schedule, and reading a counter-offer from the form."""

from __future__ import annotations

from litestar import Request

from portal.clock import utcnow
from portal.negotiation import forms, plans, rules, service
from portal.web.forms import form_data
from portal.web.responses import actor


def context_of(request: Request) -> service.Context:
    settings = request.app.state.settings
    return service.Context(rules.Policy.from_settings(settings), settings.firm_timezone)


async def schedule_view(schedule: dict, ctx: service.Context) -> dict:
    """What both sides' pages show of one schedule."""
    versions = await service.versions_of(schedule["id"])
    view = {"schedule": schedule, "versions": versions, "invoices": await service.invoices_of(schedule["id"]),
            "current": next((v for v in versions if v["number"] == schedule["current_version"]), None),
            "plan": None, "status_labels": service.STATUS_LABELS}
    if schedule["accepted_version"]:
        view["plan"] = await plans.plan_view(schedule, ctx.today(utcnow()), ctx.policy.grace_days)
    return view


async def counter_from_form(request: Request, schedule: dict, side: str, *, client_id: int | None = None
                            ) -> tuple[int | None, dict, dict]:
    """A counter-offer typed into the page: (its version number, {}, values) when sent, or (None,
    the errors beside their rows, what was typed) when refused."""
    ctx = context_of(request)
    values = await form_data(request)
    typed = forms.read_rows(await request.form(), schedule["currency"])
    values["rows"] = typed.raw
    if typed.errors:
        return None, typed.errors, values
    try:
        number = await service.counter(schedule["id"], side, typed.rows, values.get("note", ""), actor(request), ctx,
                                       client_id=client_id)
    except service.ScheduleError as refused:
        debt = sum(i["open_minor"] for i in await service.invoices_of(schedule["id"]))
        return None, forms.explain(refused.errors, debt_minor=debt, currency=schedule["currency"], rows=typed.rows,
                                   policy=ctx.policy, segment=schedule["segment"]), values
    return number, {}, values
