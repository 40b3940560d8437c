"""Every client action reaches the ladder through escalation.feed: it shows at once on the staff
worklist (no tick needed), leaves an `escalation_changed` audit event whose before/after states
are the ones transitions.py documents, and an event the state does not allow is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.dunning.engine.tables import DunningState
from portal.dunning.escalation import rules as transitions, service as escalation
from portal.negotiation.schedules import service
from tests.billing.staff_helpers import pay
from tests.dunning.engine_helpers import tick
from tests.factories import login
from tests.negotiation.schedule_helpers import at, ctx_of, debtor, local_today, split
from tests.orders.test_client_orders import approve, setup_sent


async def _changes(invoice_id: int) -> list[dict]:
    return await AuditEvent.select().where(
        (AuditEvent.action == "escalation_changed") & (AuditEvent.object_id == invoice_id)
    ).order_by(AuditEvent.id).output(load_json=True)


def _documented(change: dict) -> bool:
    event, before, after = change["after"]["event"], change["before"]["state"], change["after"]["state"]
    return transitions.allowed(before, event) and transitions.target(before, event) == after


async def test_a_promise_shows_on_the_worklist_at_once_and_is_audited_as_documented(client, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    await tick(settings, at(settings, local_today(settings)))
    await escalation.record_promise(invoice["id"], local_today(settings) + dt.timedelta(days=4), d["client_actor"],
                                    grace_days=1, tz=settings.firm_timezone, max_days=30)
    state = await DunningState.select().where(DunningState.invoice == invoice["id"]).first()
    assert state["paused_kind"] == "promise" and state["paused_until"] is not None  # before any tick
    await login(client, d["manager"])
    page = (await client.get("/staff/dunning")).text
    assert invoice["code"] in page and "Promised to pay" in page
    [change] = await _changes(invoice["id"])
    assert (change["before"]["state"], change["after"]) == ("running", {"event": "promise", "state": "promised"})
    assert _documented(change) and change["actor"] == d["client_actor"].user_id


async def test_proposal_acceptance_payment_each_leave_a_documented_transition(db, settings):
    d = await debtor()
    invoice, today, ctx = d["invoices"][0], local_today(settings), ctx_of(settings)
    schedule_id = await service.propose(d["client_id"], [invoice["id"]], split(invoice["total_minor"], [10, 40], today), "",
                                        d["client_actor"], ctx)
    await service.accept(schedule_id, "staff", d["staff_actor"], ctx, version=1, name="Radu")
    await pay(invoice, 10000)
    await pay(invoice, invoice["total_minor"] - 10000)
    changes = await _changes(invoice["id"])
    assert [(c["before"]["state"], c["after"]["event"], c["after"]["state"]) for c in changes] == [
        ("running", "proposal", "proposal"), ("proposal", "plan_accepted", "on_plan"), ("on_plan", "payment_full", "settled")]
    assert all(_documented(c) for c in changes)
    # a part payment changes no state: billing's own payment_recorded event is its trace
    assert await AuditEvent.count().where((AuditEvent.action == "payment_recorded") & (AuditEvent.object_id == invoice["id"])) == 2


async def test_a_spec_approval_is_heard_by_the_ladder(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    response = await approve(client, s["order"]["id"], 1, variant_id=str(s["b"]), signature_name="Ana Popescu")
    assert response.status_code == 303
    changes = await AuditEvent.select().where(AuditEvent.action == "escalation_changed").output(load_json=True)
    assert [c["after"]["event"] for c in changes] == ["spec_approved"] and all(_documented(c) for c in changes)


async def test_an_event_the_state_does_not_allow_is_refused_and_changes_nothing(db, settings):
    d = await debtor()
    invoice = d["invoices"][0]
    await pay(invoice)
    with pytest.raises(escalation.EscalationError):
        await escalation.feed(escalation.Event("dispute_opened", (invoice["id"],), Actor.system(),
                                               until=at(settings, local_today(settings) + dt.timedelta(days=30))))
    with pytest.raises(escalation.EscalationError):
        await escalation.feed(escalation.Event("plan_broken", (invoice["id"],), Actor.system()))
    assert [c["after"]["event"] for c in await _changes(invoice["id"])] == ["payment_full"]


async def test_lifting_a_staff_pause_leaves_the_clients_promise_standing(db, settings):
    from portal.dunning.escalation.tables import Pause

    d = await debtor()
    invoice = d["invoices"][0]
    await escalation.feed(escalation.Event("staff_pause", (invoice["id"],), d["staff_actor"], reason="Director on holiday"))
    await escalation.record_promise(invoice["id"], local_today(settings) + dt.timedelta(days=4), d["client_actor"],
                                    grace_days=1, tz=settings.firm_timezone, max_days=30)
    manual = await Pause.select(Pause.id).where((Pause.invoice == invoice["id"]) & (Pause.kind == "manual")).first()
    assert await escalation.lift_pause(manual["id"], d["staff_actor"])
    open_kinds = [p["kind"] for p in await Pause.select(Pause.kind).where((Pause.invoice == invoice["id"]) & Pause.ended_at.is_null())]
    assert open_kinds == ["promise"]
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "promised"
