"""The client disputes one of its invoices from the invoice page (/client/invoices/{id}).

The promise and dispute forms share one panel (templates/negotiation/_dispute_panel.html): an
htmx post gets the panel back in place, with the messages beside the fields and what was typed
kept; a plain post is redirected to the invoice page, or gets the whole page again (400) when
something is wrong. Another company's invoice answers 404 as if it did not exist.
"""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, post
from litestar.exceptions import NotFoundException
from litestar.response import Response

from portal.billing.statements import service as statements
from portal.clock import firm_today, local_date, utcnow
from portal.dunning.escalation import service as escalation
from portal.negotiation.disputes import rules, service as disputes
from portal.negotiation.tables import ScheduleInvoice, ScheduleStatus
from portal.web.flash import flash
from portal.web.forms import Checked, form_data
from portal.web.guards import client_only
from portal.web.i18n import format_date, gettext as _
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other


async def panel_for(request: Request, client_id: int, invoice_id: int, **extra) -> dict | None:
    """The panel's context for the client's invoice page (None for a credit note or another's invoice)."""
    panel = await disputes.invoice_panel(client_id, invoice_id)
    if panel is None:
        return None
    settings = request.app.state.settings
    today = local_date(utcnow(), settings.firm_timezone)
    last = today + dt.timedelta(days=settings.max_promise_days)
    panel.update(promise_last=last,
                 schedule=await schedule_of_invoice(client_id, invoice_id), **extra)
    return panel


async def schedule_of_invoice(client_id: int, invoice_id: int) -> dict | None:
    """The live repayment schedule (offered to the client) this invoice is in, if any."""
    return await ScheduleInvoice.select(
        ScheduleInvoice.schedule.id.as_alias("id"), ScheduleInvoice.schedule.status.as_alias("status"),
    ).where(
        (ScheduleInvoice.invoice == invoice_id) & (ScheduleInvoice.schedule.client == client_id)
        & ScheduleInvoice.schedule.status.is_in([ScheduleStatus.WITH_STAFF, ScheduleStatus.WITH_CLIENT, ScheduleStatus.ACCEPTED])
    ).first()


async def answer(request: Request, invoice_id: int, which: str, form: dict[str, str], checked: Checked, done: str) -> Response:
    """The panel again (htmx), or the invoice page (400 with the messages, or a redirect when done)."""
    client_id = current_user(request).client_id
    failed = not checked.ok
    panel = await panel_for(request, client_id, invoice_id, form=which, errors=checked.errors if failed else {},
                            values=form if failed else {}, done="" if failed else done)
    panel = found_or_404(panel)
    if is_htmx(request):
        return page("negotiation/_dispute_panel.html", negotiation=panel)
    if not failed:
        flash(request, done)
        return see_other(f"/client/invoices/{invoice_id}#promise-dispute")
    today = firm_today()
    view = found_or_404(await statements.invoice_detail(client_id, invoice_id, today=today))
    settings = request.app.state.settings
    return page("billing/client_invoice.html", status_code=400, **view, today=today, negotiation=panel,
                pay_online=bool(settings.stripe_secret_key), bank_details=settings.bank_details)


class ClientDisputesController(Controller):
    path = "/client/invoices/{invoice_id:int}/dispute"
    guards = [client_only]

    @post("/", status_code=200)
    async def open(self, request: Request, invoice_id: int) -> Response:
        form = await form_data(request)
        settings = request.app.state.settings
        try:
            checked = await disputes.open_dispute(current_user(request).client_id, invoice_id, form, actor(request),
                                                  max_days=settings.dispute_max_days)
        except LookupError:
            raise NotFoundException() from None
        done = _("Dispute sent on %(date)s: the reminders wait while we look into it. We will answer here.",
                 date=format_date(firm_today()))
        return await answer(request, invoice_id, "dispute", form, checked, done)


class ClientPromisesController(Controller):
    path = "/client/invoices/{invoice_id:int}/promise"
    guards = [client_only]

    @post("/", status_code=200)
    async def promise(self, request: Request, invoice_id: int) -> Response:
        panel = await panel_for(request, current_user(request).client_id, invoice_id)
        if panel is None:
            raise NotFoundException()
        form = await form_data(request)
        settings = request.app.state.settings
        tz, now = settings.firm_timezone, utcnow()
        checked = rules.check_promise(form, local_date(now, tz), settings.max_promise_days)
        if checked.ok and not panel["can_promise"]:
            checked.errors["promised_date"] = _("A promise cannot be recorded for this invoice now.")
        if checked.ok:
            try:
                await escalation.record_promise(
                    invoice_id, checked.values["promised_date"], actor(request), grace_days=settings.promise_grace_days,
                    tz=tz, max_days=settings.max_promise_days, source_type="client_portal", now=now,
                )
            except escalation.EscalationError as exc:
                checked.errors["promised_date"] = _(str(exc))
        done = _("Thank you: your promise to pay by %(date)s is recorded.",
                 date=format_date(checked.values["promised_date"])) if checked.ok else ""
        return await answer(request, invoice_id, "promise", form, checked, done)
