"""The one login page for staff and clients, and logout."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response

from portal.auth import service as auth
from portal.auth.roles import Kind
from portal.settings import Settings
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.i18n import current_language, gettext as _, ngettext
from portal.web.redirects import local_path
from portal.web.responses import client_ip, page, see_other
from portal.web.session import SESSION_COOKIE, language_cookie, session_cookie


def home_for(user) -> str:
    if user is None:
        return "/login"
    return "/staff" if user.kind is Kind.STAFF else "/client"


class AuthController(Controller):
    @get("/", include_in_schema=False)
    async def root(self, request: Request) -> Redirect:
        return see_other(home_for(request.scope["user"]))

    @get("/login")
    async def login_form(self, request: Request, next: str = "") -> Response:
        if request.scope["user"] is not None:
            return see_other(home_for(request.scope["user"]))
        return page("auth/login.html", next=next, email="", error=None)

    @post("/login")
    async def login(self, request: Request) -> Response:
        settings: Settings = request.app.state.settings
        form = await form_data(request)
        result = await auth.login(
            form.get("email", ""),
            form.get("password", ""),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            max_failures=settings.login_max_failures,
            window_minutes=settings.login_window_minutes,
            previous_token=request.cookies.get(SESSION_COOKIE),
        )
        if isinstance(result, auth.LoginRefused):
            if result.locked_minutes:
                error = ngettext(
                    "Too many failed attempts. Try again in %(num)s minute.",
                    "Too many failed attempts. Try again in %(num)s minutes.",
                    result.locked_minutes,
                )
                status = 429
            else:
                error = _("The email address or the password is not right.")
                status = 400
            return page("auth/login.html", status_code=status, next=form.get("next", ""), email=form.get("email", ""), error=error)
        default = "/staff" if result.kind is Kind.STAFF else "/client"
        target = local_path(form.get("next"), default, prefix=default)  # a client never lands on a staff page, nor staff on a client's
        response = see_other(target)
        response.cookies.append(session_cookie(settings, result.token))
        return response

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        settings: Settings = request.app.state.settings
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await auth.logout(token)
        flash(request, _("You have been logged out."), "info")
        response = see_other("/login")
        response.cookies.append(session_cookie(settings, None))
        if request.scope["user"] is not None:  # the login page goes on in the language the person reads
            response.cookies.append(language_cookie(settings, current_language()))
        return response
