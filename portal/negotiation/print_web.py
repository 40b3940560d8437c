"""The printable repayment schedule as a PDF, for staff and for the client whose schedule it is.

It shows the firm, the client, the invoices covered, the ACCEPTED version's installments and the
signature (name, time, IP, how and which version); a schedule not accepted yet shows the version
on the table marked "not signed". Never the negotiator's preparation. Rendered in the client's
language whoever asks, by WeasyPrint as the invoices are (portal.billing.documents). A client gets
404 for another client's schedule and for a negotiator's unoffered draft, as for a missing one.
"""

from __future__ import annotations


from litestar import Controller, Request, Response, get

from portal.billing import documents_web
from portal.clients.tables import Client
from portal.messages import N_
from portal.negotiation import service
from portal.web import i18n
from portal.web.guards import client_only, staff_only
from portal.web.responses import current_user, found_or_404

TEMPLATE = "negotiation/print_schedule.html"
VIA_LABELS = {"link": N_("Share link"), "portal": N_("Portal")}


async def schedule_document(schedule_id: int, client_id: int | None = None) -> dict | None:
    """Everything the printed schedule shows; None when missing (or, with `client_id`, not that
    client's, or a draft it was never offered)."""
    schedule = await service.get(schedule_id, client_id=client_id)
    if schedule is None or (client_id is not None and schedule["status"] == "draft"):
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
    return await documents_web.pdf_answer(request, render_document(request, document), pdf_filename(document))


class StaffSchedulePrint(Controller):
    path = "/staff/schedules/{schedule_id:int}"
    guards = [staff_only]

    @get("/print")
    async def print_pdf(self, request: Request, schedule_id: int) -> Response:
        return await pdf_response(request, found_or_404(await schedule_document(schedule_id)))


class ClientSchedulePrint(Controller):
    path = "/client/schedules/{schedule_id:int}"
    guards = [client_only]

    @get("/print")
    async def print_pdf(self, request: Request, schedule_id: int) -> Response:
        document = await schedule_document(schedule_id, client_id=current_user(request).client_id)
        return await pdf_response(request, found_or_404(document))
