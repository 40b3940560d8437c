"""Orders: intake with a same-day invoice, the pipeline board, moves, and the production gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from piccolo.columns import ForeignKey
from piccolo.columns.combination import Combinable
from piccolo.query.functions.aggregate import Count

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.billing import conditions, service as billing
from portal.billing.rules import InvoiceKind, InvoiceStatus, Line
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.messages import N_
from portal.orders import intake, news, rules
from portal.orders.rules import GateFacts, Stage
from portal.orders.tables import LayoutVariant, Order, SpecStatus, TechnicalSpec
from portal.web.forms import Checked

SYSTEM = Actor(user_id=None, label="system")


class OrderError(Exception):
    """A request the service refuses: an English message id and the values it names."""

    def __init__(self, message: str, params: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.params = params or {}


# Which orders a query is about, as a condition on a foreign key to orders: a few ids, or
# (for the board) a join condition, which stays one cheap query for thousands of orders.
OrderScope = Callable[[ForeignKey], Combinable]


def ids_scope(order_ids: list[int]) -> OrderScope:
    return lambda fk: fk.is_in(order_ids or [0])


def board_scope(recent: dt.datetime) -> OrderScope:
    return lambda fk: fk.stage.is_in([s.value for s in rules.OPEN_STAGES]) | (fk.stage_changed_at >= recent)


async def order_invoices(scope: OrderScope) -> dict[int, dict]:
    """Each order's invoice (the live one: not cancelled, not a credit note)."""
    rows = await Invoice.select(
        Invoice.id, Invoice.order, Invoice.code, Invoice.currency, Invoice.total_minor, Invoice.paid_minor,
        Invoice.due_date, Invoice.status,
    ).where(scope(Invoice.order) & (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status != InvoiceStatus.CANCELLED))
    return {r["order"]: r for r in rows}


async def _approved_current(scope: OrderScope) -> set[int]:
    """Orders whose newest spec version is approved."""
    specs = await TechnicalSpec.select(TechnicalSpec.order, TechnicalSpec.version, TechnicalSpec.status).where(
        scope(TechnicalSpec.order) & (TechnicalSpec.status != SpecStatus.DRAFT)
    )
    newest: dict[int, tuple[int, str]] = {}
    for s in specs:
        if s["order"] not in newest or s["version"] > newest[s["order"]][0]:
            newest[s["order"]] = (s["version"], s["status"])
    return {order_id for order_id, (_, status) in newest.items() if status == SpecStatus.APPROVED}


async def gate_facts(orders: list[dict], scope: OrderScope | None = None, invoices: dict[int, dict] | None = None) -> dict[int, GateFacts]:
    """The production gate's facts for many orders in three queries (never one per order)."""
    scope = scope or ids_scope([o["id"] for o in orders])
    invoices = invoices if invoices is not None else await order_invoices(scope)
    approved = await _approved_current(scope)
    holds = {r["id"] for r in await Client.select(Client.id).where(Client.on_credit_hold == True)}  # noqa: E712
    facts = {}
    for o in orders:
        invoice = invoices.get(o["id"])
        paid = invoice is not None and invoice["paid_minor"] >= invoice["total_minor"]
        facts[o["id"]] = GateFacts(spec_approved=o["id"] in approved, paid_in_full=paid, on_credit_hold=o["client"] in holds)
    return facts


async def _set_stage(order: dict, target: Stage, actor: Actor, action: str, **extra) -> None:
    await Order.update({Order.stage: target.value, Order.stage_changed_at: utcnow()}).where(Order.id == order["id"])
    await audit.record(
        actor, action, "order", order["id"], client_id=order["client"],
        before={"stage": order["stage"]}, after={"stage": target.value, **extra},
    )
    order["stage"] = target.value
    if target is Stage.IN_PRODUCTION:
        number = order.get("number") or (await Order.select(Order.number).where(Order.id == order["id"]).first())["number"]
        await news.production_started({**order, "number": number})


async def refresh_gate(order: dict, actor: Actor) -> Stage | None:
    """Let the order move by itself if an approval or payment changed what it waits for."""
    facts = (await gate_facts([order]))[order["id"]]
    return await _follow_gate(order, facts, actor)


async def _follow_gate(order: dict, facts: GateFacts, actor: Actor) -> Stage | None:
    target = rules.after_facts_changed(Stage(order["stage"]), facts)
    if target is Stage.SPEC_APPROVED:
        await _set_stage(order, target, actor, "order_moved")
        target = rules.after_facts_changed(target, facts)
    if target is Stage.IN_PRODUCTION:
        await _set_stage(order, target, actor, "order_entered_production", gate="approved and paid")
    return target


async def refresh_gates(order_ids: list[int], actor: Actor) -> None:
    """Money moved (portal.settlement) for these orders: each looks at its gate again, once, the gate's
    facts read for all of them together."""
    if not order_ids:
        return
    orders = await Order.select(Order.id, Order.client, Order.stage, Order.number).where(Order.id.is_in(order_ids)).order_by(Order.id)
    facts = await gate_facts(orders)
    for order in orders:
        await _follow_gate(order, facts[order["id"]], actor)


async def orders_waiting_for_money(client_id: int) -> list[int]:
    """The client's orders still before production (a lifted credit hold may let them through)."""
    rows = await Order.select(Order.id).where(
        (Order.client == client_id) & Order.stage.is_in([s.value for s in rules.BEFORE_PRODUCTION]))
    return [row["id"] for row in rows]


async def create_order(form: dict[str, str], actor: Actor, today: dt.date) -> tuple[int | None, Checked]:
    """Intake: the request and its invoice, numbered and dated today, in one transaction."""
    checked = intake.check_intake(form, today)
    if not checked.ok:
        return None, checked
    v = checked.values
    async with db.transaction():
        client = await Client.select(Client.id, Client.currency, Client.payment_terms_days, Client.sales_manager, Client.discount_bp).where(
            Client.id == v["client_id"]
        ).first()
        if client is None:
            checked.errors["client_id"] = "Choose a client."
            return None, checked
        now = utcnow()
        order = Order(
            number=rules.order_code(today.year, await billing.next_number("ORD", today.year)),
            client=client["id"], sales_manager=actor.user_id if v["mine"] else client["sales_manager"],
            product=v["product"], quantity=v["quantity"], options=v["options"], wanted_date=v["wanted_date"],
            notes=v["notes"], stage=Stage.REQUEST.value, stage_changed_at=now, created_at=now,
        )
        await order.save()
        await audit.record(
            actor, "order_registered", "order", order.id, client_id=client["id"],
            after={"number": order.number, "product": v["product"], "quantity": v["quantity"]},
        )
        unit_price = v["unit_price_minor"] - intake.discount_of(v["unit_price_minor"], client["discount_bp"])
        lines = [Line(v["product"], v["quantity"], unit_price, v["vat_rate_bp"], unit_cost_minor=v["unit_cost_minor"])]
        if v["setup_fee_minor"]:
            lines.append(Line("Design and prepress", 1, v["setup_fee_minor"], v["vat_rate_bp"]))  # its cost unknown
        await billing.issue_invoice(
            client_id=client["id"], currency=client["currency"], lines=lines, issue_date=today,
            terms_days=client["payment_terms_days"], order_id=order.id, actor=actor,
        )
        await news.designers({"id": order.id, "number": order.number},
                             N_("New request %(order)s: layout variants are needed (%(product)s)."), product=v["product"])
    return order.id, checked


async def get_order(order_id: int, client_id: int | None = None) -> dict | None:
    """One order with its client's name; with client_id, only if it belongs to that client."""
    query = Order.select(Order.all_columns(), Order.client.name, Order.client.segment, Order.client.on_credit_hold, Order.sales_manager.name).where(
        Order.id == order_id
    )
    if client_id is not None:
        query = query.where(Order.client == client_id)
    return await query.first()


async def invoice_of(order_id: int) -> dict | None:
    return (await order_invoices(ids_scope([order_id]))).get(order_id)


async def move_order(order_id: int, target: str, actor: Actor, *, is_admin: bool, reason: str = "") -> Stage:
    """A person moves an order on the board. Raises OrderError with the reason when refused."""
    if not target:  # "Move" with "Move to…" still showing
        raise OrderError(N_("Choose the stage to move the order to."))
    try:
        wanted = Stage(target)
    except ValueError:
        raise OrderError("There is no such stage.") from None
    async with db.transaction():
        order = await Order.select(Order.id, Order.client, Order.stage).where(Order.id == order_id).first()
        if order is None:
            raise LookupError(order_id)
        facts = (await gate_facts([order]))[order_id]
        decision = rules.decide_manual_move(Stage(order["stage"]), wanted, facts, is_admin=is_admin, reason=reason)
        if isinstance(decision, rules.Refused):
            raise OrderError(decision.reason, {"missing": rules.gate_missing(facts), "current": order["stage"], "target": wanted.value})
        overriding = wanted is Stage.IN_PRODUCTION and not rules.gate_open(facts)
        if overriding:
            await _set_stage(order, wanted, actor, "production_gate_overridden", reason=reason.strip(), missing=", ".join(rules.gate_missing(facts)))
        else:
            await _set_stage(order, wanted, actor, "order_moved", **({"reason": reason.strip()} if reason.strip() else {}))
    return wanted


@dataclass
class BoardCard:
    order: dict
    invoice: dict | None
    facts: GateFacts
    client_has_overdue_debt: bool
    age: dt.timedelta
    waits_for: str


async def board(*, now: dt.datetime, manager_id: int | None = None, client_id: int | None = None, segment: str = "",
                overdue_only: bool = False, closed_since_days: int = 30) -> dict[Stage, list[BoardCard]]:
    """Every open order, plus the recently closed or cancelled, grouped by stage and sorted
    debt-free clients first. A fixed number of queries, whatever the number of orders."""
    today = now.date()
    recent = now - dt.timedelta(days=closed_since_days)
    query = Order.select(
        Order.id, Order.number, Order.client, Order.product, Order.quantity, Order.stage, Order.stage_changed_at,
        Order.wanted_date, Order.client.name, Order.client.segment, Order.sales_manager.name,
    ).where(Order.stage.is_in([s.value for s in rules.OPEN_STAGES]) | (Order.stage_changed_at >= recent))
    if manager_id:
        query = query.where(Order.sales_manager == manager_id)
    if client_id:
        query = query.where(Order.client == client_id)
    if segment:
        query = query.where(Order.client.segment == segment)
    orders = await query
    scope = board_scope(recent)
    invoices = await order_invoices(scope)
    facts = await gate_facts(orders, scope, invoices)
    debtors = await clients_with_overdue_debt(today)
    drafts = {r["order"] for r in await TechnicalSpec.select(TechnicalSpec.order).where(
        scope(TechnicalSpec.order) & (TechnicalSpec.status == SpecStatus.DRAFT))}
    columns: dict[Stage, list[BoardCard]] = {stage: [] for stage in rules.BOARD_COLUMNS}
    for o in orders:
        overdue = o["client"] in debtors
        if overdue_only and not overdue:
            continue
        stage = Stage(o["stage"])
        columns[stage].append(BoardCard(
            order=o, invoice=invoices.get(o["id"]), facts=facts[o["id"]], client_has_overdue_debt=overdue,
            age=rules.age_in_stage(o["stage_changed_at"], now),
            waits_for=rules.waits_for(stage, facts[o["id"]], has_spec_draft=o["id"] in drafts),
        ))
    for cards in columns.values():
        cards.sort(key=lambda c: rules.board_sort_key(c.client_has_overdue_debt, c.order["stage_changed_at"], c.order["id"]))
    return columns


async def layout_work(limit: int = 100) -> list[dict]:
    """The designers' worklist: orders waiting for layout variants (a new request, or the client asked
    for changes), the longest-waiting first, each with its variant count and the client's latest comments."""
    rows = await Order.select(
        Order.id, Order.number, Order.product, Order.quantity, Order.stage, Order.stage_changed_at, Order.client.name,
    ).where(Order.stage.is_in([Stage.REQUEST.value, Stage.LAYOUT.value])).order_by(Order.stage_changed_at).limit(limit)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    variants = {r["order"]: r["count"] for r in await LayoutVariant.select(LayoutVariant.order, Count()).where(
        LayoutVariant.order.is_in(ids)).group_by(LayoutVariant.order)}
    asked: dict[int, dict] = {}
    for spec in await TechnicalSpec.select(TechnicalSpec.order, TechnicalSpec.version, TechnicalSpec.change_requests).where(
        TechnicalSpec.order.is_in(ids) & (TechnicalSpec.status == SpecStatus.CHANGES_REQUESTED)
    ).order_by(TechnicalSpec.version).output(load_json=True):
        asked[spec["order"]] = spec
    for row in rows:
        row["variants"] = variants.get(row["id"], 0)
        changes = asked.get(row["id"])
        row["changes"] = list((changes["change_requests"] or {}).values()) if changes else []
    return rows


async def clients_with_overdue_debt(today: dt.date) -> set[int]:
    """Clients with an overdue invoice that is a debt (an order's unpaid prepayment is not one)."""
    rows = await Invoice.select(Invoice.client).where(conditions.overdue_debt(today)).distinct()
    return {r["client"] for r in rows}


async def timeline(order_id: int, limit: int = 100) -> list[dict]:
    """The order's history, its invoice's included (issued, payments), newest first."""
    invoice_ids = [r["id"] for r in await Invoice.select(Invoice.id).where(Invoice.order == order_id)]
    about_order = (AuditEvent.object_type == "order") & (AuditEvent.object_id == order_id)
    if invoice_ids:
        about_order = about_order | ((AuditEvent.object_type == "invoice") & AuditEvent.object_id.is_in(invoice_ids))
    return await AuditEvent.select().where(about_order).order_by(AuditEvent.id, ascending=False).limit(limit).output(load_json=True)


async def client_options() -> list[tuple[str, str]]:
    """(id, name) of every client, for the intake form and the board's filter."""
    rows = await Client.select(Client.id, Client.name).order_by(Client.name_folded)
    return [(str(r["id"]), r["name"]) for r in rows]
