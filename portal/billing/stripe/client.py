"""The client's Pay button and the page Stripe sends them back to.

Scoped by the logged-in user's company: another company's invoice answers 404. The return page
says "payment received" only once the webhook has recorded the payment; until then "processing"."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from portal.billing.stripe import checkout as stripe_checkout
from portal.billing.stripe.checkout import CheckoutRefused, CheckoutUnavailable
from portal.billing.stripe.tables import AttemptStatus
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import client_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

# what the return page says, by the attempt's status
PAY_STATES = {AttemptStatus.OPEN: "processing", AttemptStatus.PROCESSING: "processing", AttemptStatus.COMPLETE: "received",
              AttemptStatus.FAILED: "failed", AttemptStatus.EXPIRED: "expired"}


def invoice_path(invoice_id: int) -> str:
    return f"/client/invoices/{invoice_id}"


class ClientPaymentsController(Controller):
    path = "/client/invoices/{invoice_id:int}"
    guards = [client_only]

    @post("/pay")
    async def pay(self, request: Request, invoice_id: int) -> Response:
        form = await form_data(request)
        settings = request.app.state.settings
        try:
            checkout = await stripe_checkout.start_checkout(
                invoice_id, current_user(request).client_id, form.get("amount_choice") or "balance", settings, actor(request)
            )
        except LookupError:
            raise NotFoundException() from None
        except CheckoutRefused as exc:
            flash(request, _(exc.message), "warning")
            return see_other(invoice_path(invoice_id))
        except CheckoutUnavailable:
            flash(request, _("We could not open the payment page just now. Please try again in a few minutes, or pay by bank transfer."), "error")
            return see_other(invoice_path(invoice_id))
        if is_htmx(request):  # htmx must not follow a redirect to another site with XHR
            return Response(content="", status_code=200, headers={"HX-Redirect": checkout.url})
        return Redirect(path=checkout.url, status_code=303)

    @get("/paid")
    async def paid(self, request: Request, invoice_id: int, session_id: str = "") -> Template:
        client_id = current_user(request).client_id
        invoice = found_or_404(await stripe_checkout.client_invoice(invoice_id, client_id))
        attempt = await stripe_checkout.attempt_for_session(invoice_id, client_id, session_id[:255])
        if attempt is not None:
            state = PAY_STATES.get(attempt["status"], "processing")
        elif session_id:
            state = "processing"  # the session is not linked yet: only the webhook can say it is paid
        else:
            state = "unknown"
        context = {"invoice": invoice, "attempt": attempt, "state": state, "session_id": session_id[:255]}
        if is_htmx(request):
            return page("billing/_pay_status.html", **context)
        return page("billing/pay_status.html", **context)
