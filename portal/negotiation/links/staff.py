"""Share links, the staff side: negotiators, credit controllers and admins make and revoke them
(/staff/schedules/{id}/links)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.negotiation.links import service as links
from portal.negotiation.links.rules import share_url
from portal.negotiation.schedules import service
from portal.negotiation.schedules.pages import context_of, errors_of
from portal.web.flash import flash
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, is_htmx, page, see_other

SHARERS = allowed("negotiate")


async def links_context(request: Request, schedule_id: int, **extra) -> dict:
    """What negotiation/_links.html needs (404 for a missing schedule)."""
    schedule = await service.get(schedule_id)
    if schedule is None:
        raise NotFoundException()
    return {
        "schedule": schedule, "links": await links.links_of(schedule_id),
        "link_days": request.app.state.settings.share_link_days,
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
        settings = request.app.state.settings
        try:
            made = await links.create(schedule_id, actor(request), context_of(request), secret=settings.secret_key,
                                      days=settings.share_link_days)
        except LookupError:
            raise NotFoundException() from None
        except service.ScheduleError as exc:
            return await self._refused(request, schedule_id, "; ".join(errors_of(exc).values()))
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
