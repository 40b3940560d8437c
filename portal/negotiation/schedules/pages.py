"""What the client's and the negotiator's schedule pages share: the policy context of a request,
the view of one schedule, reading a counter-offer from the form, and the printed schedule.

The printed repayment schedule is a PDF, for staff and for the client whose schedule it is.

It shows the firm, the client, the invoices covered, the ACCEPTED version's installments and the
signature (name, time, IP, how and which version); a schedule not accepted yet shows the version
on the table marked "not signed". Never the negotiator's preparation. Rendered in the client's
language whoever asks, by WeasyPrint as the invoices are (portal.billing.documents.service). A client gets
404 for another client's schedule and for a negotiator's unoffered draft, as for a missing one.
"""

from __future__ import annotations

from litestar import Request, Response

from portal.billing.documents import pages as printed
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.messages import N_
from portal.negotiation.schedules import forms, plans, rules, service
from portal.negotiation.tables import ScheduleStatus
from portal.web import i18n
from portal.web.forms import form_data
from portal.web.i18n import gettext as _
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


TEMPLATE = "negotiation/print_schedule.html"
VIA_LABELS = {"link": N_("Share link"), "portal": N_("Portal")}


async def schedule_document(schedule_id: int, client_id: int | None = None) -> dict | None:
    """Everything the printed schedule shows; None when missing (or, with `client_id`, not that
    client's, or a draft it was never offered)."""
    schedule = await service.get(schedule_id, client_id=client_id)
    if schedule is None or (client_id is not None and schedule["status"] == ScheduleStatus.DRAFT):
        return None
    client = await Client.select(Client.id, Client.name, Client.tax_id, Client.address, Client.language).where(
        Client.id == schedule["client"]).first()
    signed = schedule["accepted_version"] is not None and schedule["accepted_at"] is not None
    number = schedule["accepted_version"] if signed else schedule["current_version"]
    version = next((v for v in await service.versions_of(schedule_id) if v["number"] == number), None)
    if version is None:
        return None
    return {
        "schedule": {key: schedule[key] for key in (
            "id", "status", "currency", "debt_minor", "accepted_version", "accepted_at", "accepted_name", "accepted_ip",
            "accepted_via", "created_at")},
        "status_label": service.STATUS_LABELS.get(schedule["status"], schedule["status"]),
        "via_label": VIA_LABELS.get(schedule["accepted_via"], schedule["accepted_via"]),
        "client": client,
        "invoices": await service.invoices_of(schedule_id),
        "version": version,
        "signed": signed,
    }


def pdf_filename(document: dict) -> str:
    return f"repayment-schedule-{document['schedule']['id']}-v{document['version']['number']}.pdf"


def render_document(request: Request, document: dict) -> str:
    previous = i18n.current_language()
    i18n.set_language(document["client"]["language"] or request.app.state.settings.default_language)
    try:
        return request.app.template_engine.get_template(TEMPLATE).render(**document)
    finally:
        i18n.set_language(previous)


async def pdf_response(request: Request, document: dict) -> Response:
    return await printed.pdf_answer(request, render_document(request, document), pdf_filename(document))


def errors_of(exc: service.ScheduleError) -> dict[str, str]:
    """A refused schedule's messages, in the reader's language, by field."""
    return {field: _(message) for field, message in exc.errors.items()}
