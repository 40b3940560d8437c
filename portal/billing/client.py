"""The client's side of billing: their invoices with what is still to pay, each invoice with how to
pay it, and the statement of account for a period.

Every query is scoped by the logged-in user's company (current_user(request).client_id): an invoice
id of another company answers 404 as if it did not exist."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from portal.billing.statements import rules as statement_rules, service as statements
from portal.clock import firm_today
from portal.negotiation.disputes.client import panel_for
from portal.web.guards import client_only
from portal.web.responses import current_user, found_or_404, page


class ClientInvoicesController(Controller):
    path = "/client/invoices"
    guards = [client_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        client_id = current_user(request).client_id
        status = request.query_params.get("status", statements.DEFAULT_FILTER)
        status = status if status in statements.FILTERS else statements.DEFAULT_FILTER
        today = firm_today()
        listed, balances = await statements.invoices_page(client_id, status, request.query_params.get("cursor"), today=today)
        return page("billing/client_invoices.html", page=listed, balances=balances, status=status)

    @get("/{invoice_id:int}")
    async def detail(self, request: Request, invoice_id: int) -> Template:
        today = firm_today()
        view = found_or_404(await statements.invoice_detail(current_user(request).client_id, invoice_id, today=today))
        settings = request.app.state.settings
        return page("billing/client_invoice.html", **view, today=today,
                    pay_online=bool(settings.stripe_secret_key), bank_details=settings.bank_details,
                    negotiation=await panel_for(request, current_user(request).client_id, invoice_id))

    @get("/statement")
    async def statement(self, request: Request) -> Template:
        today = firm_today()
        checked = statement_rules.check_period(dict(request.query_params), today)
        values = {name: (value or request.query_params.get(name, "")) for name, value in checked.values.items()}
        context = {"values": values, "errors": checked.errors,
                   "today": today, "client_name": current_user(request).client_name}
        if not checked.ok:
            return page("billing/client_statement.html", status_code=400, statements=None, **context)
        found = await statements.statement(current_user(request).client_id, checked.values["from"], checked.values["to"])
        return page("billing/client_statement.html", statements=found,
                    date_from=checked.values["from"], date_to=checked.values["to"], **context)
