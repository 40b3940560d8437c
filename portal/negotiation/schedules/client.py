"""The client's side of repayment schedules: propose one for overdue invoices, answer the firm's
counter-offers (accept by signing with a name, counter, reject), follow an accepted plan and pay
its installment due online. Every query is scoped to the user's company: another company's
schedule answers 404."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from portal.billing.rules import InvoiceStatus
from portal.billing.statements.service import firm_today
from portal.billing.stripe import checkout as stripe_checkout
from portal.clock import utcnow
from portal.negotiation.schedules import forms, plans, rules, service
from portal.negotiation.schedules.pages import context_of, counter_from_form, pdf_response, schedule_document, schedule_view
from portal.negotiation.tables import ScheduleStatus
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import client_only
from portal.web.i18n import gettext as _
from portal.web.local_input import date_input_value, parse_date
from portal.web.responses import actor, client_ip, current_user, found_or_404, is_htmx, own_client_id, page, see_other


def _path(schedule_id: int) -> str:
    return f"/client/schedules/{schedule_id}"


class ClientSchedulesController(Controller):
    path = "/client/schedules"
    guards = [client_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        client_id = current_user(request).client_id
        return page("negotiation/client_schedules.html", schedules=await service.list_for_client(client_id),
                    debts=await service.open_debts(client_id, firm_today()), status_labels=service.STATUS_LABELS)

    @get("/new")
    async def new(self, request: Request) -> Template:
        client_id = current_user(request).client_id
        debts = await service.open_debts(client_id, firm_today())
        return await self._form(request, debts, {"invoice_ids": {d["id"] for d in debts}, "note": "", "count": "3",
                                                 "first": ""}, [], {})

    async def _form(self, request: Request, debts: list[dict], values: dict, rows: list[dict], errors: dict,
                    status_code: int = 200) -> Template:
        chosen = [d for d in debts if d["id"] in values["invoice_ids"]]
        ctx = context_of(request)
        segment = await service.segment_of(current_user(request).client_id)
        return page("negotiation/client_propose.html", status_code=status_code, debts=debts, values=values, rows=rows,
                    errors=errors, chosen_total=sum(d["balance_minor"] for d in chosen),
                    currency=debts[0]["currency"] if debts else "EUR", ctx=ctx, horizon=ctx.policy.horizon_for(segment))

    @post("/new", status_code=200)
    async def create(self, request: Request) -> Response:
        client_id = current_user(request).client_id
        ctx = context_of(request)
        debts = await service.open_debts(client_id, firm_today())
        form = await request.form()
        values = await form_data(request)
        ids = {int(v) for v in form.getall("invoice_ids", []) if isinstance(v, str) and v.isdigit() and len(v) <= 10}
        values["invoice_ids"] = ids
        if not debts:
            return await self._form(request, debts, values, [], {"invoices": _("You have no overdue invoices to schedule.")}, 400)
        currency = debts[0]["currency"]
        chosen = [d for d in debts if d["id"] in ids]
        debt = sum(d["balance_minor"] for d in chosen)
        if values.get("action") == "fill":
            return await self._fill(request, debts, values, debt, currency)
        typed = forms.read_rows(form, currency)
        if not chosen:
            return await self._form(request, debts, values, typed.raw, {"invoices": _("Choose at least one overdue invoice.")}, 400)
        if typed.errors:
            return await self._form(request, debts, values, typed.raw, typed.errors, 400)
        segment = await service.segment_of(client_id)
        try:
            schedule_id = await service.propose(client_id, sorted(ids), typed.rows, values.get("note", ""), actor(request), ctx)
        except service.ScheduleError as refused:
            errors = forms.explain(refused.errors, debt_minor=debt, currency=currency, rows=typed.rows, policy=ctx.policy,
                                   segment=segment)
            return await self._form(request, debts, values, typed.raw, errors, 400)
        except LookupError:
            raise NotFoundException() from None
        flash(request, _("Your proposal was sent. Reminders about these invoices wait while we look at it."))
        return see_other(_path(schedule_id))

    @post("/new/total", status_code=200)
    async def new_total(self, request: Request) -> Template:
        """The running total of a proposal being typed, against the ticked invoices' debt."""
        form = await request.form()
        debt, currency = await service.chosen_debt(own_client_id(request), form.getall("invoice_ids", []), firm_today())
        return page("negotiation/_running_total.html", running=forms.running_total(form, currency, debt), currency=currency,
                    partial=True)

    @post("/{schedule_id:int}/total", status_code=200)
    async def counter_total(self, request: Request, schedule_id: int) -> Template:
        schedule = found_or_404(await service.get(schedule_id, client_id=current_user(request).client_id))
        running = forms.running_total(await request.form(), schedule["currency"], await service.open_debt_of(schedule_id))
        return page("negotiation/_running_total.html", running=running, currency=schedule["currency"], partial=True)

    async def _fill(self, request: Request, debts: list[dict], values: dict, debt: int, currency: str) -> Template:
        """"N equal monthly installments from <date>": fills the rows in, to adjust before sending."""
        errors = {}
        count = int(values["count"]) if values.get("count", "").isdigit() else 0
        if not 1 <= count <= rules.MAX_INSTALLMENTS:
            errors["count"] = _("Choose between 1 and 36 installments.")
        first = parse_date(values.get("first", ""))
        if first is None:
            errors["first"] = _("Enter a date such as %(example)s.", example=date_input_value(firm_today()))
        if debt <= 0:
            errors["invoices"] = _("Choose at least one overdue invoice.")
        if errors:
            return await self._form(request, debts, values, [], errors, 400)
        rows = forms.rows_for_display(rules.equal_monthly(debt, count, first), currency)
        return await self._form(request, debts, values, rows, {})

    @get("/{schedule_id:int}")
    async def detail(self, request: Request, schedule_id: int) -> Template:
        schedule = found_or_404(await service.get(schedule_id, client_id=current_user(request).client_id))
        if schedule["status"] == ScheduleStatus.DRAFT:
            raise NotFoundException()  # a negotiator's draft is not the client's to see yet
        return await self._detail(request, schedule, {}, {})

    async def _detail(self, request: Request, schedule: dict, errors: dict, values: dict, status_code: int = 200) -> Template:
        ctx = context_of(request)
        view = await schedule_view(schedule, ctx)
        rows = values.get("rows") or (forms.rows_for_display(service.current_rows(view["versions"], schedule["current_version"]),
                                                             schedule["currency"]))
        return page("negotiation/client_schedule.html", status_code=status_code, errors=errors, values=values, rows=rows,
                    pay_online=bool(request.app.state.settings.stripe_secret_key), **view)

    async def _mine(self, request: Request, schedule_id: int) -> dict:
        schedule = await service.get(schedule_id, client_id=current_user(request).client_id)
        if schedule is None or schedule["status"] == ScheduleStatus.DRAFT:
            raise NotFoundException()
        return schedule

    @post("/{schedule_id:int}/accept", status_code=200)
    async def accept(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._mine(request, schedule_id)
        values = await form_data(request)
        version = int(values["version"]) if values.get("version", "").isdigit() else 0
        try:
            await service.accept(schedule_id, "client", actor(request), context_of(request), version=version,
                                 name=values.get("name", ""), ip=client_ip(request), via="portal",
                                 client_id=current_user(request).client_id)
        except service.ScheduleError as refused:
            return await self._detail(request, schedule, {k: _(v) for k, v in refused.errors.items()}, values, 400)
        flash(request, _("Accepted. The schedule now replaces the invoices' due dates; we will remind you before each installment."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/counter", status_code=200)
    async def counter(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._mine(request, schedule_id)
        number, errors, values = await counter_from_form(request, schedule, "client", client_id=current_user(request).client_id)
        if number is None:
            return await self._detail(request, schedule, errors, values, 400)
        flash(request, _("Your counter-offer was sent."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/reject", status_code=200)
    async def reject(self, request: Request, schedule_id: int) -> Response:
        schedule = await self._mine(request, schedule_id)
        values = await form_data(request)
        try:
            await service.reject(schedule_id, "client", values.get("reason", ""), actor(request),
                                 client_id=current_user(request).client_id)
        except service.ScheduleError as refused:
            return await self._detail(request, schedule, {k: _(v) for k, v in refused.errors.items()}, values, 400)
        flash(request, _("You rejected the offer. The usual reminders resume; you can propose another schedule."))
        return see_other(_path(schedule_id))

    @post("/{schedule_id:int}/pay")
    async def pay(self, request: Request, schedule_id: int) -> Response:
        """Pay the installment due online: its open part, on the plan's oldest open invoice."""
        schedule = await self._mine(request, schedule_id)
        ctx = context_of(request)
        if schedule["status"] != ScheduleStatus.ACCEPTED:
            flash(request, _("Only an accepted schedule has installments to pay."), "warning")
            return see_other(_path(schedule_id))
        view = await plans.plan_view(schedule, ctx.today(utcnow()), ctx.policy.grace_days)
        due = next((i for i in view["installments"] if i["is_next"]), None)
        invoice = next((i for i in view["invoices"] if i["status"] == InvoiceStatus.ISSUED), None)
        if due is None or invoice is None:
            flash(request, _("Everything in this schedule is paid."), "warning")
            return see_other(_path(schedule_id))
        try:
            checkout = await stripe_checkout.start_checkout(
                invoice["invoice"], schedule["client"], "installment", request.app.state.settings, actor(request),
                installment_minor=due["due_now_minor"],
            )
        except stripe_checkout.CheckoutRefused as exc:
            flash(request, _(exc.message), "warning")
            return see_other(_path(schedule_id))
        except stripe_checkout.CheckoutUnavailable:
            flash(request, _("We could not open the payment page just now. Please try again in a few minutes, or pay by bank transfer."), "error")
            return see_other(_path(schedule_id))
        if is_htmx(request):
            return Response(content="", status_code=200, headers={"HX-Redirect": checkout.url})
        return Redirect(path=checkout.url, status_code=303)


class ClientSchedulePrint(Controller):
    path = "/client/schedules/{schedule_id:int}"
    guards = [client_only]

    @get("/print")
    async def print_pdf(self, request: Request, schedule_id: int) -> Response:
        document = await schedule_document(schedule_id, client_id=current_user(request).client_id)
        return await pdf_response(request, found_or_404(document))
