"""Staff pages for the delay-reason catalogue and its statistics.

All staff read the catalogue and the statistics; credit controllers and admins change it. Every
change answers htmx with the catalogue card (dunning/_reasons.html), a plain post with a
redirect (or the page with the message, when something was wrong).
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.clock import local_date, utcnow
from portal.dunning.reasons import service as reasons
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, is_htmx, page, see_other

HOME = "/staff/dunning/reasons"
EDITORS = allowed("control_dunning")


async def _catalogue(request: Request, **extra) -> dict:
    return {
        "reasons": await reasons.list_reasons(),
        "can_edit": current_user(request).can.control_dunning,
        "add_values": {}, "add_errors": {}, "rename_id": None, "rename_values": {}, "rename_errors": {},
        **extra,
    }


async def _answer(request: Request, message: str, status_code: int = 200, **extra) -> Response:
    """The catalogue card for htmx; otherwise back to the page (or the page with its messages)."""
    failed = bool(extra.get("add_errors") or extra.get("rename_errors"))
    if is_htmx(request):
        return page("dunning/_reasons.html", **await _catalogue(request, **extra))
    if failed:
        return page("dunning/reasons.html", status_code=400, **await _catalogue(request, **extra))
    if message:
        flash(request, message)
    return see_other(HOME)


class DelayReasonsController(Controller):
    path = HOME
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        return page("dunning/reasons.html", **await _catalogue(request))

    @post("/", guards=[EDITORS])
    async def add(self, request: Request) -> Response:
        form = await form_data(request)
        reason_id, checked = await reasons.add_reason(form, actor(request))
        if reason_id is None:
            return await _answer(request, "", add_values=form, add_errors=checked.errors)
        return await _answer(request, _("Reason “%(name)s” added.", name=checked.values["name"]))

    @post("/{reason_id:int}/rename", guards=[EDITORS])
    async def rename(self, request: Request, reason_id: int) -> Response:
        form = await form_data(request)
        try:
            checked = await reasons.rename_reason(reason_id, form, actor(request))
        except reasons.ReasonNotFound:
            raise NotFoundException() from None
        if not checked.ok:
            return await _answer(request, "", rename_id=reason_id, rename_values=form, rename_errors=checked.errors)
        return await _answer(request, _("Reason renamed."))

    @post("/{reason_id:int}/deactivate", guards=[EDITORS])
    async def deactivate(self, request: Request, reason_id: int) -> Response:
        return await self._set_active(request, reason_id, False)

    @post("/{reason_id:int}/reactivate", guards=[EDITORS])
    async def reactivate(self, request: Request, reason_id: int) -> Response:
        return await self._set_active(request, reason_id, True)

    @post("/{reason_id:int}/move", guards=[EDITORS])
    async def move(self, request: Request, reason_id: int) -> Response:
        form = await form_data(request)
        try:
            await reasons.move_reason(reason_id, form.get("direction", ""), actor(request))
        except reasons.ReasonNotFound:
            raise NotFoundException() from None
        return await _answer(request, _("Order changed."))

    async def _set_active(self, request: Request, reason_id: int, active: bool) -> Response:
        try:
            await reasons.set_active(reason_id, active, actor(request))
        except reasons.ReasonNotFound:
            raise NotFoundException() from None
        return await _answer(request, _("Reason offered again.") if active else _("Reason no longer offered; its counts stay."))

    @get("/stats")
    async def stats(self, request: Request) -> Template:
        tz = request.app.state.settings.firm_timezone
        query = request.query_params
        date_from, date_to, errors = reasons.period(query.get("from"), query.get("to"), local_date(utcnow(), tz))
        stats = await reasons.reason_stats(date_from, date_to, tz=tz)
        values = {"from": query.get("from") or date_from.isoformat(), "to": query.get("to") or date_to.isoformat()}
        return page("dunning/reasons_stats.html", stats=stats, values=values, errors=errors)
