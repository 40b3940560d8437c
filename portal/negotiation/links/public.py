"""Share links, the public side: the link's holder reads one schedule version at /s/<token> and
accepts it there.

The /s/ pages are public (no guard, no session made) but keep CSRF on the accept form: the CSRF
cookie works for anonymous visitors as on the login page. They are never cached, never indexed,
and send no Referer (the token is in the address). A refused link gets a page saying what to do,
with none of the schedule's data: 404 for a token that is not ours, 410 for one that was ours,
429 once an address has tried too many tokens that are not.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Template

from portal.negotiation.links import service as links
from portal.negotiation.schedules import service
from portal.negotiation.schedules.pages import context_of, errors_of
from portal.negotiation.tables import Schedule
from portal.web import i18n
from portal.web.forms import form_data
from portal.web.responses import client_ip

PUBLIC_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


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
        settings = request.app.state.settings
        try:
            opened = await links.open_link(token, client_ip(request), secret=settings.secret_key,
                                           max_failures=settings.link_max_failures)
        except links.LinkRefused as refused:
            return _refused_page(refused.refusal)
        _speak_the_clients_language(request, opened)
        return _schedule_page(token, opened, {}, {})

    @post("/{token:str}/accept", status_code=200)
    async def accept(self, request: Request, token: str) -> Template:
        settings = request.app.state.settings
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
            return _schedule_page(token, opened, {"name": form.get("name", "")}, errors_of(exc), status_code=400)
        if not request.scope.get("language_chosen"):
            row = await Schedule.select(Schedule.client.language.as_alias("language")).where(Schedule.id == accepted.schedule_id).first()
            if row and row["language"]:
                i18n.set_language(row["language"])
        return Template(template_name="negotiation/share_accepted.html", context={"accepted": accepted}, headers=PUBLIC_HEADERS)
