"""Staff pages for orders: the pipeline board, intake with its invoice, the order page, moves."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from portal import settlement
from portal.billing import rules as billing_rules, service as billing
from portal.clients import service as clients
from portal.clock import firm_today, utcnow
from portal.orders import intake, rules, service
from portal.orders.rules import Stage
from portal.orders.specs import service as specs
from portal.tasks import service as tasks_service
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

INTAKE = allowed("register_requests")
MONEY_ROLES = allowed("take_money")
COLUMN_LIMIT = 50  # cards drawn per column; counts and amounts still cover every order


def _filters(manager: str, client: str, segment: str, overdue: bool) -> dict:
    return {
        "manager_id": int(manager) if manager.isdigit() else None,
        "client_id": int(client) if client.isdigit() else None,
        "segment": segment if segment in ("A", "B", "C") else "",
        "overdue_only": overdue,
    }


async def _board_context(request: Request, filters: dict) -> dict:
    columns = await service.board(now=utcnow(), **filters)
    return {
        "columns": columns,
        "filters": filters,
        "managers": await clients.sales_managers(),
        "client_options": await service.client_options(),
        "can_override": current_user(request).can.override_gate,
        "manual_moves": {stage.value: targets for stage, targets in rules.MANUAL_MOVES.items()},
        "column_limit": COLUMN_LIMIT,
    }


def _refusal_message(exc: service.OrderError) -> str:
    params = dict(exc.params)
    if "missing" in params:
        params["missing"] = ", ".join(_(m) for m in params["missing"])
    for key in ("current", "target"):
        if key in params:
            params[key] = _(rules.STAGE_LABELS[Stage(params[key])])
    return _(exc.message, **params)


class OrdersController(Controller):
    path = "/staff/orders"
    guards = [staff_only]

    @get("/")
    async def board(self, request: Request, manager: str = "", client: str = "", segment: str = "", overdue: bool = False) -> Template:
        context = await _board_context(request, _filters(manager, client, segment, overdue))
        if is_htmx(request) and request.headers.get("hx-target") == "board":
            return page("orders/_board.html", **context)
        return page("orders/board.html", **context)

    @post("/{order_id:int}/move", status_code=200)
    async def move(self, request: Request, order_id: int) -> Response:
        """From the board (htmx: answers the two columns that changed) or the order page."""
        source = found_or_404(await service.get_order(order_id))["stage"]
        form = await form_data(request)
        user = current_user(request)
        board_filters = _filters(form.get("manager", ""), form.get("client", ""), form.get("segment", ""), form.get("overdue") == "true")
        try:
            target = await service.move_order(order_id, form.get("target", ""), actor(request), is_admin=user.can.override_gate,
                                              reason=form.get("reason", ""))
        except service.OrderError as exc:
            message = _refusal_message(exc)
            context = await _board_context(request, board_filters) if is_htmx(request) else {}
            card = next((c for cards in context.get("columns", {}).values() for c in cards if c.order["id"] == order_id), None)
            if card is not None:
                response = page("orders/_card.html", card=card, error=message, **context)
                response.headers.update({"HX-Retarget": f"#card-{order_id}", "HX-Reswap": "outerHTML"})
                return response
            flash(request, message, "error")  # from the order page (or a card no longer on the board)
            if is_htmx(request):
                return Response(content="", status_code=200, headers={"HX-Redirect": f"/staff/orders/{order_id}"})
            return see_other(f"/staff/orders/{order_id}")
        if is_htmx(request):
            context = await _board_context(request, board_filters)
            return page("orders/_moved.html", changed=[Stage(source), target], **context)
        flash(request, _("Order moved to %(stage)s.", stage=_(rules.STAGE_LABELS[target])))
        return see_other(f"/staff/orders/{order_id}")

    @get("/new", guards=[INTAKE])
    async def new(self) -> Template:
        return page("orders/new.html", values={"vat_rate": "19", "quantity": "", "mine": "on"}, errors={},
                    client_options=await service.client_options(), vat_rates=intake.VAT_RATES_BP)

    @post("/new", guards=[INTAKE])
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        order_id, checked = await service.create_order(form, actor(request), firm_today())
        if order_id is None:
            return page("orders/new.html", status_code=400, values=form, errors=checked.errors,
                        client_options=await service.client_options(), vat_rates=intake.VAT_RATES_BP)
        order = await service.get_order(order_id)
        invoice = await service.invoice_of(order_id)
        flash(request, _("Order %(order)s registered and invoice %(invoice)s issued.", order=order["number"], invoice=invoice["code"]))
        return see_other(f"/staff/orders/{order_id}")

    @get("/{order_id:int}")
    async def detail(self, request: Request, order_id: int) -> Template:
        return page("orders/detail.html", **await order_page_context(request, order_id))

    @post("/{order_id:int}/payments", guards=[MONEY_ROLES])
    async def record_payment(self, request: Request, order_id: int) -> Response:
        """A minimal manual payment against the order's invoice (the invoices issue deepens it)."""
        order = found_or_404(await service.get_order(order_id))
        invoice = found_or_404(await service.invoice_of(order_id))
        form = await form_data(request)
        balance = invoice["total_minor"] - invoice["paid_minor"]
        checked = billing_rules.check_manual_payment(form, invoice["currency"], balance, firm_today())
        if checked.ok:
            try:
                await settlement.record_payment(
                    client_id=order["client"], currency=invoice["currency"], allocations=[(invoice["id"], checked.values["amount_minor"])],
                    method=checked.values["method"], received_on=checked.values["received_on"], reference=checked.values["reference"],
                    actor=actor(request),
                )
            except billing.BillingError as exc:
                checked.errors["amount"] = _(str(exc))
        if not checked.ok:
            context = await order_page_context(request, order_id, payment_values=form, payment_errors=checked.errors)
            return page("orders/detail.html", status_code=400, **context)
        stage = (await service.get_order(order_id))["stage"]
        message = _("Payment recorded.")
        if stage == Stage.IN_PRODUCTION.value and order["stage"] != stage:
            message = _("Payment recorded; the order entered production.")
        flash(request, message)
        return see_other(f"/staff/orders/{order_id}")


async def order_page_context(request: Request, order_id: int, **extra) -> dict:
    order = found_or_404(await service.get_order(order_id))
    invoice = await service.invoice_of(order_id)
    facts = (await service.gate_facts([order]))[order_id]
    user = current_user(request)
    today = firm_today()
    return {
        "order": order,
        "invoice": invoice,
        "facts": facts,
        "missing": rules.gate_missing(facts),
        "stage": Stage(order["stage"]),
        "moves": rules.MANUAL_MOVES[Stage(order["stage"])],
        "can_override": user.can.override_gate,
        "can_design": user.can.draw_layouts,
        "can_spec": user.can.write_specs,
        "can_take_money": user.can.take_money,
        "timeline": await service.timeline(order_id),
        "callbacks": await tasks_service.open_for_order(order_id),
        "payment_values": {"received_on": today.isoformat(), "method": "bank_transfer"},
        "payment_errors": {},
        "today": today,
        **await specs.spec_context(order_id),
        **extra,
    }
