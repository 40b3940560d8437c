"""A person's own settings (staff at /staff/account, client users at /client/account): the language
the portal speaks to them. Staff choose theirs; a client user follows their company's language or
chooses their own.

The page is one for both sides; staff.py and client.py route to it."""

from __future__ import annotations

from litestar import Request
from litestar.response import Response, Template

from portal.accounts import service
from portal.auth.tables import User
from portal.clients.tables import Client
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.i18n import LANGUAGE_NAMES, gettext as _
from portal.web.responses import actor, current_user, page, see_other


async def own_settings_form(request: Request, *, client_user: bool, values: dict | None = None, errors: dict | None = None,
                status: int = 200) -> Template:
    me = current_user(request)
    row = await User.select(User.language).where(User.id == me.id).first()
    company = ""
    if client_user:
        found = await Client.select(Client.language).where(Client.id == me.client_id).first()
        company = found["language"] if found else ""
    options = [(code, name) for code, name in LANGUAGE_NAMES.items()]
    if client_user:
        options.insert(0, ("", _("As my company: %(language)s", language=LANGUAGE_NAMES.get(company, company))))
    return page("accounts/own.html", status_code=status, layout="client/base.html" if client_user else "staff/base.html",
                action=request.url.path, options=options, values=values or {"language": row["language"] if row else ""},
                errors=errors or {})


async def save_own_settings(request: Request, *, client_user: bool) -> Response:
    form = await form_data(request)
    checked = await service.set_own_language(current_user(request).id, form, actor(request), client_user=client_user)
    if not checked.ok:
        return await own_settings_form(request, client_user=client_user, values=form, errors=checked.errors, status=400)
    flash(request, _("Your settings are saved."))
    return see_other(request.url.path)
