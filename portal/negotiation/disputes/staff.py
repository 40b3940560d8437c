"""Staff resolve disputed invoices: /staff/disputes (open first, then resolved) and one dispute
with its three resolutions: a credit note, a corrected invoice, or a rejection with an answer.
For credit controllers and negotiators (admins always pass)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.clock import utcnow
from portal.messages import N_
from portal.negotiation.disputes import rules, service as disputes
from portal.negotiation.tables import DisputeResolution
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed
from portal.web.i18n import gettext as _
from portal.web.responses import actor, found_or_404, page, see_other

RESOLVERS = allowed("negotiate")
DONE: dict[str, str] = {
    DisputeResolution.CREDIT_NOTE: N_("Dispute resolved: credit note %(note)s cancels the invoice; the client is told."),
    DisputeResolution.CORRECTION: N_("Dispute resolved: the invoice is cancelled and %(new)s issued for the corrected amount; the client is told."),
    DisputeResolution.REJECTED: N_("Dispute rejected: the reminders go on and the client reads your answer."),
}


async def _detail(dispute_id: int, **extra) -> dict:
    data = found_or_404(await disputes.dispute_page(dispute_id, utcnow()))
    return {**data, "resolutions": rules.RESOLUTIONS, "state_labels": rules.STATE_LABELS, "form": "", "values": {}, "errors": {},
            **extra}


class DisputesController(Controller):
    path = "/staff/disputes"
    guards = [RESOLVERS]

    @get("/")
    async def index(self, request: Request, status: str = "", cursor: str = "") -> Template:
        current = status if status in rules.FILTERS else rules.DEFAULT_FILTER
        return page("negotiation/disputes.html", page=await disputes.list_disputes(current, cursor or None, utcnow()),
                    filters=rules.FILTERS, current=current, open_count=await disputes.open_count(),
                    resolutions_short=rules.RESOLUTIONS_SHORT)

    @get("/{dispute_id:int}")
    async def detail(self, dispute_id: int) -> Template:
        return page("negotiation/disputes_detail.html", **await _detail(dispute_id))

    @post("/{dispute_id:int}/credit")
    async def credit(self, request: Request, dispute_id: int) -> Response:
        return await self._resolve(request, dispute_id, DisputeResolution.CREDIT_NOTE)

    @post("/{dispute_id:int}/correct")
    async def correct(self, request: Request, dispute_id: int) -> Response:
        return await self._resolve(request, dispute_id, DisputeResolution.CORRECTION)

    @post("/{dispute_id:int}/reject")
    async def reject(self, request: Request, dispute_id: int) -> Response:
        return await self._resolve(request, dispute_id, DisputeResolution.REJECTED)

    async def _resolve(self, request: Request, dispute_id: int, resolution: str) -> Response:
        form = await form_data(request)
        try:
            checked = await disputes.resolve(dispute_id, resolution, form, actor(request),
                                             tz=request.app.state.settings.firm_timezone)
        except LookupError:
            raise NotFoundException() from None
        if not checked.ok:
            context = await _detail(dispute_id, form=resolution, values=form, errors=checked.errors)
            return page("negotiation/disputes_detail.html", status_code=400, **context)
        v = checked.values
        flash(request, _(DONE[resolution], note=v.get("credit_note", ""), new=v.get("corrected_code", "")))
        return see_other(f"/staff/disputes/{dispute_id}")
