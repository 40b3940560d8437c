"""The client's side: their company's home page."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from portal.billing import statements
from portal.clients import service
from portal.web.guards import client_only
from portal.web.responses import current_user, found_or_404, page


class ClientHomeController(Controller):
    path = "/client"
    guards = [client_only]

    @get("/")
    async def home(self, request: Request) -> Template:
        client_id = current_user(request).client_id  # always the user's own company, never a URL parameter
        client = found_or_404(await service.get_client(client_id))
        return page("client/home.html", client=client, contacts=await service.contacts_of(client_id),
                    balances=await statements.balances(client_id))
