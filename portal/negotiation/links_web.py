"""Share links on the web: staff make and revoke them (negotiators, credit controllers, admins);
the link's holder reads one schedule version at /s/<token> and accepts it there.

The /s/ pages are public (no guard, no session made) but keep CSRF on the accept form: the CSRF
cookie works for anonymous visitors as on the login page. They are never cached, never indexed,
and send no Referer (the token is in the address). A refused link gets a page saying what to do,
with none of the schedule's data: 404 for a token that is not ours, 410 for one that was ours,
429 once an address has tried too many tokens that are not.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.auth.roles import Role
from portal.negotiation import links, service
from portal.negotiation.web import context_of
from portal.negotiation.links_rules import share_url
from portal.settings import Settings
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web import i18n
from portal.web.i18n import gettext as _
from portal.web.responses import actor, client_ip, current_user, is_htmx, page, see_other

SHARERS = allowed("negotiate")
PUBLIC_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _errors(exc: service.ScheduleError) -> dict[str, str]:
    return {field: _(message) for field, message in exc.errors.items()}


# --- staff ------------------------------------------------------------------------------------

async def links_context(request: Request, schedule_id: int, **extra) -> dict:
    """What negotiation/_links.html needs (404 for a missing schedule)."""
    schedule = await service.get(schedule_id)
    if schedule is None:
        raise NotFoundException()
    return {
        "schedule": schedule, "links": await links.links_of(schedule_id),
        "link_days": _settings(request).share_link_days,
        "can_share": current_user(request).can.negotiate,
        **extra,
    }


class ScheduleLinksController(Controller):
    path = "/staff/schedules/{schedule_id:int}/links"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request, schedule_id: int) -> Template:
        return page("negotiation/_links.html", **await links_context(request, schedule_id))

    @post("/", guards=[SHARERS], status_code=200)
    async def create(self, request: Request, schedule_id: int) -> Response:
        settings = _settings(request)
        try:
            made = await links.create(schedule_id, actor(request), context_of(request), secret=settings.secret_key,
                                      days=settings.share_link_days)
        except LookupError:
            raise NotFoundException() from None
        except service.ScheduleError as exc:
            return await self._refused(request, schedule_id, "; ".join(_errors(exc).values()))
        url = share_url(settings.base_url, made.token)
        context = await links_context(request, schedule_id, new_link_url=url)
        if is_htmx(request):
            response = page("negotiation/_links.html", **context)
            if made.offered:  # the rest of the schedule page may listen: hx-trigger="schedule-offered from:body"
                response.headers["HX-Trigger"] = "schedule-offered"
            return response
        return page("negotiation/share_created.html", **context)

    @post("/{link_id:int}/revoke", guards=[SHARERS], status_code=200)
    async def revoke(self, request: Request, schedule_id: int, link_id: int) -> Response:
        try:
            done = await links.revoke(schedule_id, link_id, actor(request))
        except LookupError:
            raise NotFoundException() from None
        if not done:
            return await self._refused(request, schedule_id, _("This link was already revoked or used."))
        if is_htmx(request):
            return page("negotiation/_links.html", **await links_context(request, schedule_id))
        flash(request, _("Link revoked: it no longer works."))
        return see_other(f"/staff/schedules/{schedule_id}")

    async def _refused(self, request: Request, schedule_id: int, message: str) -> Response:
        if is_htmx(request):
            return page("negotiation/_links.html", status_code=400, **await links_context(request, schedule_id, link_error=message))
        flash(request, message, "error")
        return see_other(f"/staff/schedules/{schedule_id}")


# --- the link's holder -------------------------------------------------------------------------

def _refused_page(refusal) -> Template:
    return Template(template_name="negotiation/share_refused.html", context={"refusal": refusal},
                    status_code=refusal.status_code, headers=PUBLIC_HEADERS)


def _speak_the_clients_language(request: Request, opened: links.Opened) -> None:
    """The link goes to someone at the client: its page speaks the client's language, unless the
    visitor chose another with the language switch."""
    if not request.scope.get("language_chosen") and opened.schedule.get("client_language"):
        i18n.set_language(opened.schedule["client_language"])


def _schedule_page(token: str, opened: links.Opened, values: dict, errors: dict, status_code: int = 200) -> Template:
    return Template(template_name="negotiation/share.html", status_code=status_code, headers=PUBLIC_HEADERS, context={
        "token": token, "schedule": opened.schedule, "version": opened.version, "invoices": opened.invoices,
        "link": opened.link, "values": values, "errors": errors,
    })


class ShareLinkPages(Controller):
    """Public: the token is the only key, and it opens this one page and its accept form."""

    path = "/s"
    include_in_schema = False

    @get("/{token:str}")
    async def show(self, request: Request, token: str) -> Template:
        settings = _settings(request)
        try:
            opened = await links.open_link(token, client_ip(request), secret=settings.secret_key,
                                           max_failures=settings.link_max_failures)
        except links.LinkRefused as refused:
            return _refused_page(refused.refusal)
        _speak_the_clients_language(request, opened)
        return _schedule_page(token, opened, {}, {})

    @post("/{token:str}/accept", status_code=200)
    async def accept(self, request: Request, token: str) -> Template:
        settings = _settings(request)
        form = await form_data(request)
        ip = client_ip(request)
        try:
            accepted = await links.accept(token, form.get("name", ""), ip, context_of(request), secret=settings.secret_key,
                                          max_failures=settings.link_max_failures)
        except links.LinkRefused as refused:
            return _refused_page(refused.refusal)
        except service.ScheduleError as exc:
            try:
                opened = await links.open_link(token, ip, secret=settings.secret_key, max_failures=settings.link_max_failures)
            except links.LinkRefused as refused:
                return _refused_page(refused.refusal)
            _speak_the_clients_language(request, opened)
            return _schedule_page(token, opened, {"name": form.get("name", "")}, _errors(exc), status_code=400)
        if not request.scope.get("language_chosen"):
            from portal.negotiation.tables import Schedule

            row = await Schedule.select(Schedule.client.language.as_alias("language")).where(Schedule.id == accepted.schedule_id).first()
            if row and row["language"]:
                i18n.set_language(row["language"])
        return Template(template_name="negotiation/share_accepted.html", context={"accepted": accepted}, headers=PUBLIC_HEADERS)
