"""The negotiator's pages: schedules waiting for an answer, one schedule with its versions side
by side and the preparation checklist (staff only), answering a client (accept, counter,
reject), and drafting a schedule to offer in the portal or through a link."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.clients.tables import Client
from portal.clock import utcnow
from portal.negotiation.links import service as links
from portal.negotiation.schedules import forms, service
from portal.negotiation.schedules.pages import context_of, counter_from_form, pdf_response, schedule_document, schedule_view
from portal.negotiation.tables import Schedule, ScheduleStatus
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, found_or_404, page, see_other

NEGOTIATE = allowed("negotiate")
FILTERS = {
    "open": (ScheduleStatus.WITH_STAFF, ScheduleStatus.WITH_CLIENT, ScheduleStatus.DRAFT),
    "running": (ScheduleStatus.ACCEPTED,),
    "closed": (ScheduleStatus.REJECTED, ScheduleStatus.BROKEN, ScheduleStatus.COMPLETED),
}
PAGE = 100


def _path(schedule_id: int) -> str:
    return f"/staff/schedules/{schedule_id}"


async def _list(status: str, before: int | None) -> list[dict]:
    query = Schedule.select(
        Schedule.id, Schedule.status, Schedule.current_version, Schedule.currency, Schedule.debt_minor, Schedule.updated_at,
        Schedule.client, Schedule.client.name.as_alias("client_name"), Schedule.negotiator.name.as_alias("negotiator_name"),
    ).where(Schedule.status.is_in(list(FILTERS[status]))).order_by(Schedule.id, ascending=False).limit(PAGE + 1)
    if before:
        query = query.where(Schedule.id < before)
    return await query


class StaffSchedulesController(Controller):
    path = "/staff/schedules"
    guards = [NEGOTIATE]

    @get("/")
    async def index(self, request: Request) -> Template:
        status = request.query_params.get("status", "open")
        status = status if status in FILTERS else "open"
        raw = request.query_params.get("before", "")
        rows = await _list(status, int(raw) if raw.isdigit() and len(raw) < 10 else None)
        return page("negotiation/staff_schedules.html", schedules=rows[:PAGE], status=status,
                    next_before=rows[PAGE - 1]["id"] if len(rows) > PAGE else None, status_labels=service.STATUS_LABELS)

    @get("/new")
    async def new(self, request: Request, client_id: int = 0) -> Template:
        return await self._draft_form(request, client_id, {"note": ""}, [], {})

    async def _draft_form(self, request: Request, client_id: int, values: dict, rows: list[dict], errors: dict,
                          status_code: int = 200) -> Template:
        client = await Client.select(Client.id, Client.name, Client.segment).where(Client.id == client_id).first() if client_id else None
        debts = await service.open_debts(client_id, context_of(request).today(utcnow())) if client else []
        values.setdefault("invoice_ids", {d["id"] for d in debts})
        return page("negotiation/staff_draft.html", status_code=status_code, client=client, debts=debts, values=values,
                    rows=rows, errors=errors, currency=debts[0]["currency"] if debts else "EUR")

    @post("/new", status_code=200)
    async def create(self, request: Request) -> Response:
        form = await request.form()
        values = await form_data(request)
        client_id = int(values["client_id"]) if values.get("client_id", "").isdigit() and len(values["client_id"]) < 10 else 0
        ctx = context_of(request)
        debts = await service.open_debts(client_id, ctx.today(utcnow())) if client_id else []
        if not debts:
            raise NotFoundException()
        ids = {int(v) for v in form.getall("invoice_ids", []) if isinstance(v, str) and v.isdigit() and len(v) <= 10}
        values["invoice_ids"] = ids
        currency = debts[0]["currency"]
        typed = forms.read_rows(form, currency)
        if typed.errors:
            return await self._draft_form(request, client_id, values, typed.raw, typed.errors, 400)
        try:
            schedule_id = await service.draft(client_id, sorted(ids), typed.rows, values.get("note", ""), actor(request), ctx)
        except service.ScheduleError as refused:
            debt = sum(d["balance_minor"] for d in debts if d["id"] in ids)
            errors = forms.explain(refused.errors, debt_minor=debt, currency=currency, rows=typed.rows, policy=ctx.policy,
                                   segment=await service.segment_of(client_id))
            return await self._draft_form(request, client_id, values, typed.raw, errors, 400)
        except LookupError:
            raise NotFoundException() from None
        flash(request, _("Draft saved. Offer it to the client in the portal, or share it through a link."))
        return see_other(_path(schedule_id))

    @post("/new/total", status_code=200)
    async def new_total(self, request: Request) -> Template:
        """The running total of a draft being typed, against the ticked invoices' debt."""
        form = await request.form()
        raw = form.get("client_id", "")
        client_id = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else 0
        debt, currency = await service.chosen_debt(client_id, form.getall("invoice_ids", []), context_of(request).today(utcnow()))
        return page("negotiation/_running_total.html", running=forms.running_total(form, currency, debt), currency=currency,
                    partial=True)

    @post("/{schedule_id:int}/total", status_code=200)
    async def counter_total(self, request: Request, schedule_id: int) -> Template:
        schedule = found_or_404(await service.get(schedule_id))
        running = forms.running_total(await request.form(), schedule["currency"], await service.open_debt_of(schedule_id))
        return page("negotiation/_running_total.html", running=running, currency=schedule["currency"], partial=True)

    @get("/{schedule_id:int}")
    async def detail(self, request: Request, schedule_id: int) -> Template:
        schedule = found_or_404(await service.get(schedule_id))
        return await self._detail(request, schedule, {}, {})

    async def _detail(self, request: Request, schedule: dict, errors: dict, values: dict, status_code: int = 200) -> Template:
        view = await schedule_view(schedule, context_of(request))
        rows = values.get("rows") or forms.rows_for_display(
            service.current_rows(view["versions"], schedule["current_version"]), schedule["currency"])
        return page("negotiation/staff_schedule.html", status_code=status_code, errors=errors, values=values, rows=rows,
                    links=await links.links_of(schedule["id"]), link_days=request.app.state.settings.share_link_days, **view)

    async def _schedule(self, schedule_id: int) -> dict:
        return found_or_404(await service.get(schedule_id))

    @post("/{schedule_id:int}/prep")
    async def prep(self, request: Request, schedule_id: int) -> Response:
        await self._schedule(schedule_id)
        values = await form_data(request)
        await service.save_preparation(schedule_id, values.get("ideal_terms", ""), values.get("acceptable_terms", ""),
                                       values.get("prep_notes", ""), actor(request))
        flash(request, _("Preparation saved."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/offer")
    async def offer(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._schedule(schedule_id)
        try:
            await service.offer(schedule_id, actor(request), context_of(request))
        except service.ScheduleError as refused:
            return await self._detail(request, schedule, {k: _(v) for k, v in refused.errors.items()}, {}, 400)
        flash(request, _("Offered: the client sees it in the portal and was told."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/accept", status_code=200)
    async def accept(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._schedule(schedule_id)
        values = await form_data(request)
        version = int(values["version"]) if values.get("version", "").isdigit() else 0
        try:
            await service.accept(schedule_id, "staff", actor(request), context_of(request), version=version,
                                 name=values.get("name", ""), ip="", via="portal")
        except service.ScheduleError as refused:
            return await self._detail(request, schedule, {k: _(v) for k, v in refused.errors.items()}, values, 400)
        flash(request, _("Accepted: the installments now steer the ladder for these invoices."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/counter", status_code=200)
    async def counter(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._schedule(schedule_id)
        number, errors, values = await counter_from_form(request, schedule, "staff")
        if number is None:
            return await self._detail(request, schedule, errors, values, 400)
        flash(request, _("Draft changed: version %(n)s.", n=number) if schedule["status"] == ScheduleStatus.DRAFT
              else _("Version %(n)s sent to the client.", n=number))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/reject", status_code=200)
    async def reject(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._schedule(schedule_id)
        values = await form_data(request)
        try:
            await service.reject(schedule_id, "staff", values.get("reason", ""), actor(request))
        except service.ScheduleError as refused:
            return await self._detail(request, schedule, {k: _(v) for k, v in refused.errors.items()}, values, 400)
        flash(request, _("Rejected. The client was told why; the ladder goes on."))
        return see_other(_path(schedule_id))


class StaffSchedulePrint(Controller):
    path = "/staff/schedules/{schedule_id:int}"
    guards = [staff_only]

    @get("/print")
    async def print_pdf(self, request: Request, schedule_id: int) -> Response:
        return await pdf_response(request, found_or_404(await schedule_document(schedule_id)))
