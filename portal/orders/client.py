"""The client's side of orders: where each order stands, the spec to approve, and the decision.

Every query is scoped by the logged-in user's company (current_user(request).client_id): an id in
the URL alone never opens another company's order; it answers 404 as if it did not exist."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from portal.orders.specs import service as specs
from portal.orders.specs.staff import serve_variant, upload_dir
from portal.orders.tables import Stage
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import client_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, found_or_404, page, see_other


async def _order_page(request: Request, order_id: int, status_code: int = 200, **extra) -> Template:
    view = found_or_404(await specs.client_order(order_id, current_user(request).client_id))
    context = {"approve_values": {}, "approve_errors": {}, "change_values": {}, "change_errors": {}, "refusal": None, **view, **extra}
    return page("client/order.html", status_code=status_code, **context)


def _refusal(order_id: int, exc: specs.SpecError) -> dict:
    """The message of a refused decision, with a link to the version that is current now."""
    refusal = {"message": _(exc.message, **exc.params), "link": "", "link_text": ""}
    if exc.current_version is not None:
        refusal["link"] = f"/client/orders/{order_id}#spec-v{exc.current_version}"
        refusal["link_text"] = _("Review version %(version)s", version=exc.current_version)
    return refusal


class ClientOrdersController(Controller):
    path = "/client/orders"
    guards = [client_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        return page("client/orders.html", orders=await specs.client_orders(current_user(request).client_id))

    @get("/{order_id:int}")
    async def detail(self, request: Request, order_id: int) -> Template:
        return await _order_page(request, order_id)

    @get("/{order_id:int}/variants/{variant_id:int}")
    async def variant(self, request: Request, order_id: int, variant_id: int, download: bool = False) -> Response:
        found = await specs.variant_file(order_id, variant_id, upload_dir(request), client_id=current_user(request).client_id)
        return await serve_variant(found, download)

    @post("/{order_id:int}/spec/{version:int}/approve")
    async def approve(self, request: Request, order_id: int, version: int) -> Response:
        form = await form_data(request)
        try:
            checked = await specs.approve_spec(order_id, current_user(request).client_id, version, form, actor(request))
        except LookupError:
            return found_or_404(None)
        except specs.SpecError as exc:
            return await _order_page(request, order_id, status_code=409, refusal=_refusal(order_id, exc))
        if not checked.ok:
            return await _order_page(request, order_id, status_code=400, approve_values=form,
                                     approve_errors={k: _(m) for k, m in checked.errors.items()})
        if checked.values.get("stage") == Stage.IN_PRODUCTION:
            flash(request, _("Thank you: you approved version %(version)s, and as your prepayment is in, "
                             "the order is now in production.", version=version))
        else:
            flash(request, _("Thank you: you approved version %(version)s of the spec.", version=version))
        return see_other(f"/client/orders/{order_id}")

    @post("/{order_id:int}/spec/{version:int}/changes")
    async def changes(self, request: Request, order_id: int, version: int) -> Response:
        form = await form_data(request)
        try:
            checked = await specs.request_changes(order_id, current_user(request).client_id, version, form, actor(request))
        except LookupError:
            return found_or_404(None)
        except specs.SpecError as exc:
            return await _order_page(request, order_id, status_code=409, refusal=_refusal(order_id, exc))
        if not checked.ok:
            return await _order_page(request, order_id, status_code=400, change_values=form,
                                     change_errors={k: _(m) for k, m in checked.errors.items()})
        flash(request, _("Thank you: we received your comments and will send you a new version of the spec."))
        return see_other(f"/client/orders/{order_id}")
