"""An order waiting for its prepayment is not a debt: its invoice follows the seeded prepayment
ladder (gentle reminders, calls that ask when to call back), a callback holds that ladder until its
day, and nothing ever sanctions the client or sends the case to court. Ticked day by day, as the
firm's staff saw it go wrong."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.clients.tables import Client
from portal.dunning.engine.tables import DunningAction
from portal.dunning.escalation import prepayment, service as escalation
from portal.dunning.escalation.tables import Pause
from portal.dunning.ladders import rules as ladder_rules, seeds, service as ladders
from portal.dunning.letters.tables import Letter
from portal.dunning.sanctions.tables import Sanction
from portal.mail.tables import EmailMessage
from portal.orders import service as orders
from portal.orders.tables import Order
from portal.tasks.tables import Task
from tests.billing.staff_helpers import issue, pay
from tests.dunning.engine_helpers import TZ, actions_of, local, tick
from tests.factories import make_client, make_contact, make_staff

DEBT_CHANNELS = {"letter", "formal_claim", "court_warning", "legal_handover", "sanction", "negotiation"}


async def _waiting_order(*, segment: str = "B", stage: str = "awaiting_prepayment", due_in: int = 0) -> dict:
    """An order whose spec is approved and whose invoice (its 100 % prepayment) is unpaid."""
    await seeds.ensure_defaults()
    manager = await make_staff(Role.SALES_MANAGER, name="Ana Sales")
    await make_staff(Role.CREDIT_CONTROLLER)
    await make_staff(Role.NEGOTIATOR, is_legal=True)
    client_id = await make_client("Tipo Print SRL", sales_manager=str(manager["id"]), segment=segment, discount="5")
    await make_contact(client_id)
    order_id, checked = await orders.create_order(
        {"client_id": str(client_id), "product": "Key cards", "quantity": "1000", "unit_price": "2", "vat_rate": "19"},
        Actor.system(), dt.date.today(),
    )
    assert order_id, checked.errors
    await Order.update({Order.stage: stage}).where(Order.id == order_id)
    invoice = await orders.invoice_of(order_id)
    due = dt.date.today() + dt.timedelta(days=due_in)
    from portal.billing.tables import Invoice
    from portal.dunning.engine.tables import DunningState

    await Invoice.update({Invoice.due_date: due}).where(Invoice.id == invoice["id"])
    await DunningState.update({DunningState.due_date: due}).where(DunningState.invoice == invoice["id"])
    return {"manager": manager, "client_id": client_id, "order_id": order_id, "invoice": {**invoice, "due_date": due}}


async def _terms(client_id: int) -> dict:
    return await Client.select(Client.discount_bp, Client.service_priority, Client.on_credit_hold).where(Client.id == client_id).first()


async def test_a_waiting_prepayment_follows_the_gentle_ladder_and_a_callback_holds_it(db, settings):
    world = await _waiting_order(due_in=0)
    invoice, due = world["invoice"], world["invoice"]["due_date"]
    before = await _terms(world["client_id"])
    prepayment_ladder = await ladders.prepayment_ladder_id()
    # day 1: the first call asks when to call back; "call me in two weeks" is recorded as a callback
    await tick(settings, local(due + dt.timedelta(days=1), "11:00"))
    assert [a["channel"] for a in await actions_of(invoice["id"])] == ["email", "call"]  # pre-due reminder skipped (issued on its due date)
    callback_at = local(due + dt.timedelta(days=15), "10:00")
    task_id, checked = await prepayment.schedule_callback(
        {"order_id": str(world["order_id"]), "date": (due + dt.timedelta(days=15)).isoformat(), "time": "10:00",
         "note": "Call me in two weeks"}, Actor(world["manager"]["id"], "Ana Sales"), tz=TZ, now=local(due + dt.timedelta(days=1), "11:30"))
    assert task_id, checked.errors
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "callback"

    for day in range(2, 31):  # a tick every morning and every afternoon for a month
        for hhmm in ("09:00", "12:00", "16:00"):
            await tick(settings, local(due + dt.timedelta(days=day), hhmm))
    taken = await actions_of(invoice["id"])
    assert not DEBT_CHANNELS & {a["channel"] for a in taken}, taken
    assert await _terms(world["client_id"]) == before  # no discount suspended, no lower priority, no credit hold
    assert await Sanction.count() == 0 and await Letter.count() == 0
    assert {a["step"] for a in taken} <= {s["id"] for s in (await ladders.get_ladder(prepayment_ladder))["steps"]}
    # the notice (day 7) fell inside the callback's hold: skipped, not sent after it; the second call (day 14) too
    by_name = {a["position"]: a for a in taken}
    assert by_name[30]["status"] == "skipped" and by_name[40]["status"] == "skipped"
    emails = await EmailMessage.select(EmailMessage.subject).where(EmailMessage.invoice_id == invoice["id"])
    assert all("penalty" not in e["subject"].lower() for e in emails)
    callback = await Task.select(Task.due_at).where(Task.id == task_id).first()
    assert callback["due_at"] == callback_at  # the callback itself is the follow-up, on its day


async def test_a_moved_callback_moves_the_hold_and_a_done_one_releases_it(db, settings):
    world = await _waiting_order(due_in=0)
    invoice, due = world["invoice"], world["invoice"]["due_date"]
    who = Actor(world["manager"]["id"], "Ana Sales")
    now = local(due, "09:00")
    task_id, _ = await prepayment.schedule_callback({"order_id": str(world["order_id"]), "date": (due + dt.timedelta(days=5)).isoformat(),
                                               "time": "10:00", "note": ""}, who, tz=TZ, now=now)
    await prepayment.move_callback(task_id, {"date": (due + dt.timedelta(days=9)).isoformat(), "time": "15:00"}, who, tz=TZ, now=now)
    open_pauses = await Pause.select(Pause.until).where((Pause.invoice == invoice["id"]) & Pause.ended_at.is_null())
    assert [p["until"] for p in open_pauses] == [local(due + dt.timedelta(days=9), "15:00")]
    await prepayment.complete_callback(task_id, "Will pay on Friday", who)
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "running"
    assert await Pause.count().where((Pause.invoice == invoice["id"]) & Pause.ended_at.is_null()) == 0


async def test_once_the_order_is_produced_an_unpaid_invoice_is_a_debt_again(db, settings):
    world = await _waiting_order(stage="in_production", due_in=-2)  # an admin let it through the gate unpaid
    invoice = world["invoice"]
    await tick(settings, local(invoice["due_date"] + dt.timedelta(days=3), "12:00"))
    ladder = (await DunningAction.select(DunningAction.step.ladder.purpose.as_alias("purpose")).where(
        DunningAction.invoice == invoice["id"]).first())
    assert ladder["purpose"] == "debt"


async def test_paying_the_prepayment_stops_its_reminders(db, settings):
    world = await _waiting_order(due_in=-1)
    invoice = world["invoice"]
    from portal.billing import service as billing

    await pay(await billing.get_invoice(invoice["id"]))
    await tick(settings, local(invoice["due_date"] + dt.timedelta(days=2), "12:00"))
    assert await actions_of(invoice["id"]) == []


async def test_a_prepayment_ladder_refuses_sanctions_letters_and_court(db):
    await seeds.ensure_defaults()
    ladder_id = await ladders.prepayment_ladder_id()
    for channel in sorted(DEBT_CHANNELS):
        step_id, checked = await ladders.add_step(ladder_id, {
            "name": "Pressure", "offset_days": "3", "time_of_day": "10:00", "channel": channel, "assignee": "credit_controller",
            "sanction": "credit_hold" if channel == "sanction" else "", "deadline_days": "7", "subject": "x", "body": "y"},
            Actor.system())
        assert step_id is None and "prepayment ladder only reminds" in checked.errors["channel"], channel
    again, checked = await ladders.create_ladder({"name": "Another", "purpose": "prepayment"}, Actor.system())
    assert again is None and "already a ladder" in checked.errors["purpose"]
    with pytest.raises(ladders.LadderNotFound):  # segments and clients follow debt ladders only
        await ladders.set_segment_ladder("B", ladder_id, Actor.system())
    assert ladder_id not in {choice["id"] for choice in await ladders.ladder_choices()}
    assert ladder_rules.PREPAYMENT_CHANNELS == ("email", "call", "portal_notice")


async def test_a_ladder_switched_mid_way_never_sends_its_pre_due_reminder_after_the_due_date(db, settings):
    from tests.dunning.engine_helpers import PRESSURE, make_ladder

    await make_staff(Role.SALES_MANAGER)
    client_id = await make_client(segment="C")
    await make_contact(client_id)
    invoice = await issue(client_id, due_in=-2)  # already overdue when its (new) ladder first sees it
    await make_ladder("Pressure", PRESSURE, segments=("C",))
    await tick(settings, local(invoice["due_date"] + dt.timedelta(days=2), "12:00"))
    first = (await actions_of(invoice["id"]))[0]
    assert first["channel"] == "email" and first["status"] == "skipped"
    assert await EmailMessage.count().where(EmailMessage.invoice_id == invoice["id"]) <= 1  # the penalty email only
