"""A client user's own settings (/client/account)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from portal.accounts.pages import own_settings_form, save_own_settings
from portal.web.guards import client_only


class ClientAccountController(Controller):
    path = "/client/account"
    guards = [client_only]

    @get("/")
    async def show(self, request: Request) -> Template:
        return await own_settings_form(request, client_user=True)

    @post("/")
    async def save(self, request: Request) -> Response:
        return await save_own_settings(request, client_user=True)
