"""The client promises a payment date for one of its open invoices (/client/invoices/{id}).

The promise goes through the same service staff use from calls (escalation.record_promise), with
the firm's grace days, limit and time zone: the ladder waits until the promised day plus grace.
A date in the past or beyond the policy's limit is refused beside the field; another company's
invoice answers 404.
"""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.exceptions import NotFoundException
from litestar.response import Response

from portal.clock import utcnow
from portal.dunning import escalation
from portal.dunning import rules as dunning_rules
from portal.negotiation import dispute_rules as rules
from portal.negotiation.disputes_client import answer, panel_for
from portal.web.forms import form_data
from portal.web.guards import client_only
from portal.web.i18n import format_date
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user


class ClientPromisesController(Controller):
    path = "/client/invoices/{invoice_id:int}/promise"
    guards = [client_only]

    @post("/", status_code=200)
    async def promise(self, request: Request, invoice_id: int) -> Response:
        panel = await panel_for(request, current_user(request).client_id, invoice_id)
        if panel is None:
            raise NotFoundException()
        form = await form_data(request)
        settings = request.app.state.settings
        tz, now = settings.firm_timezone, utcnow()
        checked = rules.check_promise(form, dunning_rules.local_date(now, tz), settings.max_promise_days)
        if checked.ok and not panel["can_promise"]:
            checked.errors["promised_date"] = _("A promise cannot be recorded for this invoice now.")
        if checked.ok:
            try:
                await escalation.record_promise(
                    invoice_id, checked.values["promised_date"], actor(request), grace_days=settings.promise_grace_days,
                    tz=tz, max_days=settings.max_promise_days, source_type="client_portal", now=now,
                )
            except escalation.EscalationError as exc:
                checked.errors["promised_date"] = _(str(exc))
        done = _("Thank you: your promise to pay by %(date)s is recorded.",
                 date=format_date(checked.values["promised_date"])) if checked.ok else ""
        return await answer(request, invoice_id, "promise", form, checked, done)
