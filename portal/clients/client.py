"""The client's side: their company's home page, with what changed in their terms."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.billing import service as billing
from portal.billing.statements import service as statements
from portal.clients import notices, service, todo
from portal.clock import firm_today
from portal.dunning.sanctions import service as sanctions
from portal.negotiation.schedules import plans
from portal.negotiation.schedules.service import STATUS_LABELS
from portal.orders.specs import service as specs
from portal.web.guards import client_only
from portal.web.responses import current_user, found_or_404, is_htmx, own_client_id, page, see_other


class ClientHomeController(Controller):
    path = "/client"
    guards = [client_only]

    @get("/")
    async def home(self, request: Request) -> Template:
        client_id = own_client_id(request)  # always the user's own company, never a URL parameter
        client = found_or_404(await service.get_client(client_id))
        settings = request.app.state.settings
        today = firm_today()
        schedules = await plans.client_summary(client_id, today, settings.plan_grace_days)
        to_do = todo.client_todo(orders=await specs.client_orders(client_id), open_invoices=await billing.open_invoices_of(client_id),
                                 schedules=schedules, today=today)
        return page("client/home.html", client=client, contacts=await service.contacts_of(client_id),
                    balances=await statements.balances(client_id),
                    notices=await notices.recent_notices(client_id),
                    sanctions=await sanctions.active_sanctions(client_id),
                    upcoming=await billing.upcoming_payments(client_id, today),
                    schedules=schedules, todo=to_do, status_labels=STATUS_LABELS)

    @post("/notices/{notice_id:int}/read")
    async def read_notice(self, request: Request, notice_id: int) -> Response:
        client_id = current_user(request).client_id
        if not await notices.mark_read(client_id, notice_id):
            raise NotFoundException()  # another company's notice is as good as missing
        if is_htmx(request):
            return page("dunning/_client_notice.html", notice=await notices.get_notice(client_id, notice_id))
        return see_other("/client#notices")
