"""The outbox for staff: every email the portal queued, what became of it, and sending a failed
one again. Without SMTP settings (development) this is where the messages are read."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.audit import service as audit
from portal.mail import rules, service
from portal.web.flash import flash
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

RETRIERS = allowed("control_dunning")


def _common(request: Request) -> dict:
    return {
        "smtp_configured": bool(request.app.state.settings.smtp_host),
        "can_retry": current_user(request).can.control_dunning,
        "status_labels": rules.STATUS_LABELS,
    }


class OutboxController(Controller):
    path = "/staff/outbox"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request, status: str = "", cursor: str = "") -> Template:
        current = rules.outbox_filter(status)
        return page(
            "mail/outbox.html", page=await service.list_outbox(current, cursor or None), counts=await service.outbox_counts(),
            filters=rules.OUTBOX_FILTERS, current=current, **_common(request),
        )

    @get("/{message_id:int}")
    async def detail(self, request: Request, message_id: int) -> Template:
        message = found_or_404(await service.get_message(message_id))
        return page("mail/message.html", message=message, timeline=await audit.timeline("email", message_id), **_common(request))

    @post("/{message_id:int}/retry", guards=[RETRIERS])
    async def retry(self, request: Request, message_id: int) -> Response:
        requeued = await service.retry_failed(message_id, actor(request))
        message = await service.get_message(message_id)
        if message is None:
            raise NotFoundException()
        problem = "" if requeued else _("Only a failed message can be sent again (this one: %(status)s).",
                                         status=_(rules.STATUS_LABELS.get(message["status"], message["status"])))
        if is_htmx(request):  # the row, updated in place
            return page("mail/_row.html", m=message, row_error=problem, just_changed=requeued, **_common(request))
        if requeued:
            flash(request, _("The message is queued again and goes out with the next send."))
        else:
            flash(request, problem, "error")
        return see_other(f"/staff/outbox/{message_id}")
