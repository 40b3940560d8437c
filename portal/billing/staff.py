"""Staff pages for invoices: the list, an invoice's page with its payments and history, manual
payments (one invoice, or split over several of a client), reversals and cancellation."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal import settlement
from portal.audit import service as audit
from portal.billing import rules, service
from portal.clients import service as clients
from portal.clock import firm_today, utcnow
from portal.dunning.escalation import state as escalation_state
from portal.money import CURRENCIES
from portal.orders.service import client_options
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import format_money, gettext as _, ngettext
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

MONEY = allowed("take_money")


async def _list_context(filters: rules.InvoiceFilters, cursor: str | None) -> dict:
    today = firm_today()
    return {
        "page": await service.list_invoices(filters, today, cursor),
        "totals": await service.invoice_totals(filters, today),
        "filters": filters,
        "status_filters": rules.STATUS_FILTERS,
        "buckets": {key: label for key, (label, _low, _high) in rules.OVERDUE_BUCKETS.items()},
        "currencies": list(CURRENCIES),
    }


async def _invoice_context(request: Request, invoice_id: int, **extra) -> dict:
    today = firm_today()
    data = found_or_404(await service.invoice_page(invoice_id, today))
    return {
        **data,
        "timeline": await audit.timeline("invoice", invoice_id),
        "escalation": await escalation_state.for_invoice(invoice_id, utcnow(), request.app.state.settings.firm_timezone),
        "today": today,
        "can_take_money": current_user(request).can.take_money,
        "payment_values": {"received_on": today.isoformat(), "method": "bank_transfer"},
        "payment_errors": {},
        "cancel_values": {},
        "cancel_errors": {},
        "reverse_values": {},
        "reverse_errors": {},
        "reverse_payment_id": None,
        **extra,
    }


class InvoicesController(Controller):
    path = "/staff/invoices"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request, status: str = "", client: str = "", manager: str = "", currency: str = "",
                    overdue: str = "", q: str = "", sort: str = "", cursor: str = "") -> Template:
        filters = rules.invoice_filters(status, client, manager, currency, overdue, q, sort)
        context = await _list_context(filters, cursor or None)
        if is_htmx(request) and request.headers.get("hx-target") == "invoice-list":
            return page("billing/_staff_invoice_list.html", **context)
        return page("billing/staff_invoices.html", managers=await clients.sales_managers(),
                    client_options=await client_options(), **context)

    @get("/{invoice_id:int}")
    async def detail(self, request: Request, invoice_id: int) -> Template:
        return page("billing/staff_invoice.html", **await _invoice_context(request, invoice_id))

    @post("/{invoice_id:int}/payments", guards=[MONEY])
    async def record_payment(self, request: Request, invoice_id: int) -> Response:
        """A bank transfer or cash received for this invoice."""
        invoice = found_or_404(await service.get_invoice(invoice_id))
        form = await form_data(request)
        checked = rules.check_manual_payment(form, invoice["currency"], invoice["total_minor"] - invoice["paid_minor"], firm_today())
        if checked.ok:
            v = checked.values
            try:
                await settlement.record_payment(
                    client_id=invoice["client"], currency=invoice["currency"], allocations=[(invoice_id, v["amount_minor"])],
                    method=v["method"], received_on=v["received_on"], reference=v["reference"], actor=actor(request),
                )
            except service.BillingError as exc:
                checked.errors["amount"] = _(str(exc))
        if not checked.ok:
            context = await _invoice_context(request, invoice_id, payment_values=form, payment_errors=checked.errors)
            return page("billing/staff_invoice.html", status_code=400, **context)
        flash(request, _("Payment of %(amount)s recorded.", amount=format_money(checked.values["amount_minor"], invoice["currency"])))
        return see_other(f"/staff/invoices/{invoice_id}")

    @post("/{invoice_id:int}/payments/{payment_id:int}/reverse", guards=[MONEY])
    async def reverse_payment(self, request: Request, invoice_id: int, payment_id: int) -> Response:
        """Undo a wrong entry with a counter-entry (the whole payment, on every invoice it settled)."""
        found_or_404(await service.get_invoice(invoice_id))
        if not await service.payment_on_invoice(payment_id, invoice_id):
            raise NotFoundException()
        form = await form_data(request)
        checked = rules.check_reason(form, _("Say why the payment is reversed."))
        if checked.ok:
            try:
                await settlement.reverse_payment(payment_id, checked.values["reason"], actor(request))
            except service.BillingError as exc:
                checked.errors["reason"] = _(str(exc))
        if not checked.ok:
            context = await _invoice_context(request, invoice_id, reverse_values=form, reverse_errors=checked.errors,
                                             reverse_payment_id=payment_id)
            return page("billing/staff_invoice.html", status_code=400, **context)
        flash(request, _("Payment reversed; the balance is restored."))
        return see_other(f"/staff/invoices/{invoice_id}")

    @post("/{invoice_id:int}/cancel", guards=[MONEY])
    async def cancel(self, request: Request, invoice_id: int) -> Response:
        """Cancel with a credit note (refused while payments stand)."""
        found_or_404(await service.get_invoice(invoice_id))
        form = await form_data(request)
        checked = rules.check_reason(form, _("Say why the invoice is cancelled."))
        credit_note = None
        if checked.ok:
            try:
                credit_note = await settlement.cancel_invoice(invoice_id, checked.values["reason"], actor(request))
            except service.BillingError as exc:
                checked.errors["reason"] = _(str(exc))
        if not checked.ok:
            context = await _invoice_context(request, invoice_id, cancel_values=form, cancel_errors=checked.errors)
            return page("billing/staff_invoice.html", status_code=400, **context)
        flash(request, _("Invoice cancelled; credit note %(code)s issued.", code=credit_note["code"]))
        return see_other(f"/staff/invoices/{invoice_id}")


async def _split_context(client_id: int, **extra) -> dict:
    company = found_or_404(await clients.get_client(client_id))
    today = firm_today()
    return {
        "company": company,
        "invoices": await service.open_invoices_of(client_id),
        "values": {"received_on": today.isoformat(), "method": "bank_transfer"},
        "errors": {},
        "amount_field": rules.amount_field,
        "today": today,
        **extra,
    }


class ClientPaymentsController(Controller):
    """One payment split over several open invoices of a client."""

    path = "/staff/clients/{client_id:int}/payments"
    guards = [staff_only, MONEY]

    @get("/new")
    async def new(self, client_id: int) -> Template:
        return page("billing/staff_split_payment.html", **await _split_context(client_id))

    @post("/")
    async def create(self, request: Request, client_id: int) -> Response:
        context = await _split_context(client_id)
        form = await form_data(request)
        checked = rules.check_split_payment(form, context["invoices"], firm_today())
        if checked.ok:
            v = checked.values
            try:
                await settlement.record_payment(
                    client_id=client_id, currency=v["currency"], allocations=v["allocations"], method=v["method"],
                    received_on=v["received_on"], reference=v["reference"], actor=actor(request),
                )
            except service.BillingError as exc:
                checked.errors["amounts"] = _(str(exc))
        if not checked.ok:
            return page("billing/staff_split_payment.html", status_code=400, **{**context, "values": form, "errors": checked.errors})
        total = sum(amount for _id, amount in checked.values["allocations"])
        flash(request, ngettext("Payment of %(amount)s recorded on %(num)s invoice.", "Payment of %(amount)s recorded over %(num)s invoices.",
                                len(checked.values["allocations"]), amount=format_money(total, checked.values["currency"])))
        return see_other(f"/staff/invoices?status=all&client={client_id}")
