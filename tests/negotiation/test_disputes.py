"""Invoice disputes end to end: the client disputes from the invoice page (the ladder waits, a
credit controller gets a task), staff resolve from /staff/disputes with a credit note, a corrected
invoice or a rejection with an answer, and the client reads the answer. Pure rules first.
Service and route tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from hypothesis import given, strategies as st

from portal import settlement
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.billing.tables import Invoice
from portal.clients.tables import ClientNotice
from portal.clock import utcnow
from portal.dunning.engine import rules as dunning_rules
from portal.dunning.engine.tables import DunningState
from portal.dunning.escalation import service as escalation
from portal.dunning.escalation.tables import Pause
from portal.money import percent_of
from portal.negotiation.disputes import rules
from portal.negotiation.tables import Dispute
from portal.tasks.tables import Notification, Task
from tests.billing.staff_helpers import issue, pay
from tests.dunning.engine_helpers import PRESSURE, make_ladder, tick
from tests.factories import login, make_client, make_client_user, make_staff, post

HTMX = {"hx-request": "true"}


# --- pure rules -----------------------------------------------------------------------------

def test_a_dispute_needs_a_reason_from_the_catalogue_and_a_comment_for_other():
    assert rules.check_dispute({"reason": "quality", "comment": ""}).ok
    assert "reason" in rules.check_dispute({"reason": "cheaper elsewhere"}).errors
    assert "comment" in rules.check_dispute({"reason": "other", "comment": "  "}).errors
    assert rules.check_dispute({"reason": "other", "comment": "Boxes arrived wet"}).ok
    assert "comment" in rules.check_dispute({"reason": "quality", "comment": "x" * (rules.MAX_COMMENT + 1)}).errors
    assert set(rules.REASONS) == {"wrong_amount", "not_received", "quality", "other"}


def test_paid_cancelled_and_already_disputed_invoices_cannot_be_disputed():
    no = dict(open_dispute=False, answered_before=False)
    assert rules.dispute_refusal("invoice", "issued", **no) is None
    assert rules.dispute_refusal("invoice", "paid", **no)
    assert rules.dispute_refusal("invoice", "cancelled", **no)
    assert rules.dispute_refusal("credit_note", "issued", **no)
    assert rules.dispute_refusal("invoice", "issued", open_dispute=True, answered_before=False)
    assert rules.dispute_refusal("invoice", "issued", open_dispute=False, answered_before=True)


def test_a_promise_is_from_today_up_to_the_limit():
    today = dt.date(2026, 5, 10)
    assert rules.check_promise({"promised_date": "2026-05-10"}, today, 30).ok
    assert rules.check_promise({"promised_date": "2026-06-09"}, today, 30).ok
    assert "promised_date" in rules.check_promise({"promised_date": "2026-06-10"}, today, 30).errors
    assert "promised_date" in rules.check_promise({"promised_date": "2026-05-09"}, today, 30).errors
    assert "promised_date" in rules.check_promise({"promised_date": "10.13.2026"}, today, 30).errors
    assert rules.check_promise({"promised_date": "10.05.2026"}, today, 30).ok  # as the reader writes it


@given(now=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(dt.UTC)),
       days=st.integers(1, 365))
def test_a_dispute_never_holds_the_ladder_beyond_its_limit(now, days):
    assert rules.dispute_until(now, days) - now == dt.timedelta(days=days)


def _lines(groups: list[tuple[int, int]]) -> list[dict]:
    return [{"net_minor": net, "vat_rate_bp": rate} for net, rate in groups]


@given(total=st.integers(1, 10**9), rate=st.sampled_from([0, 500, 900, 1900, 2100, 2400]))
def test_a_correction_at_one_rate_adds_up_exactly_or_names_the_nearest_totals(total, rate):
    try:
        lines = rules.correction_lines(_lines([(1000, rate)]), total, "INV-1")
    except rules.CorrectionRefused as refused:
        assert refused.below < total < refused.above
        for near in (refused.below, refused.above):  # the totals offered do work
            assert sum(line.total_minor for line in rules.correction_lines(_lines([(1000, rate)]), near, "INV-1")) == near
        return
    assert sum(line.total_minor for line in lines) == total
    assert [line.vat_rate_bp for line in lines] == [rate]


@given(total=st.integers(100, 10**9), nets=st.lists(st.integers(1, 10**7), min_size=2, max_size=3))
def test_a_correction_over_several_rates_keeps_the_rates_and_adds_up_exactly(total, nets):
    groups = list(zip(nets, [1900, 900, 500], strict=False))
    try:
        lines = rules.correction_lines(_lines(groups), total, "INV-1")
    except rules.CorrectionRefused:
        return
    assert sum(line.total_minor for line in lines) == total
    assert sorted(line.vat_rate_bp for line in lines) == sorted(rate for _, rate in groups)
    assert all(line.net_minor > 0 for line in lines)


def test_a_corrected_amount_must_be_positive_and_new():
    assert rules.check_correction({"amount": "100.00"}, "RON", 11900).ok
    assert "amount" in rules.check_correction({"amount": "119"}, "RON", 11900).errors
    assert "amount" in rules.check_correction({"amount": "0"}, "RON", 11900).errors
    assert "amount" in rules.check_correction({"amount": "abc"}, "RON", 11900).errors
    assert "answer" in rules.check_answer({"answer": " "}, required=True).errors


# --- the world -----------------------------------------------------------------------------

async def _world(*, due_in: int = -5, unit_minor: int = 10000):
    manager = await make_staff(Role.SALES_MANAGER)
    controller = await make_staff(Role.CREDIT_CONTROLLER)
    client_id = await make_client("Disputing Boxes SRL", sales_manager=str(manager["id"]), payment_terms_days="45")
    invoice = await issue(client_id, due_in=due_in, unit_minor=unit_minor)
    return {"manager": manager, "controller": controller, "client_id": client_id, "invoice": invoice,
            "buyer": await make_client_user(client_id)}


async def _dispute(client, w, reason: str = "wrong_amount", comment: str = "We ordered 800, not 1000.", **kwargs):
    await login(client, w["buyer"])
    return await post(client, f"/client/invoices/{w['invoice']['id']}/dispute", {"reason": reason, "comment": comment}, **kwargs)


async def _state(invoice_id: int) -> str:
    return (await escalation.states_of([invoice_id]))[invoice_id]


async def _the_dispute(invoice_id: int) -> dict:
    return await Dispute.select().where(Dispute.invoice == invoice_id).order_by(Dispute.id, ascending=False).first()


# --- the client disputes ---------------------------------------------------------------------

async def test_a_dispute_pauses_the_ladder_gives_staff_a_task_and_shows_to_the_client(client, settings):
    w = await _world()
    await make_ladder("Pressure", PRESSURE)
    invoice_id = w["invoice"]["id"]
    await login(client, w["buyer"])
    page = await client.get(f"/client/invoices/{invoice_id}")
    assert "Dispute this invoice" in page.text and "Goods not received" in page.text

    response = await _dispute(client, w, headers=HTMX)
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "Disputed on" in text and "Wrong amount — we will answer." in text
    assert "Reminders wait while we look into your dispute." in text
    assert "Dispute this invoice" not in text and "Promise a payment date" not in text

    assert await _state(invoice_id) == "disputed"
    dispute = await _the_dispute(invoice_id)
    assert dispute["status"] == "open" and dispute["reason"] == "wrong_amount" and dispute["client"] == w["client_id"]
    pause = await Pause.select().where((Pause.invoice == invoice_id) & Pause.ended_at.is_null()).first()
    assert pause["kind"] == "dispute" and pause["source_id"] == dispute["id"]
    assert pause["until"] - dispute["opened_at"] == dt.timedelta(days=settings.dispute_max_days)

    task = await Task.select().where(Task.id == dispute["task"]).first()
    assert task["assignee"] == w["controller"]["id"] and task["invoice"] == invoice_id and task["done_at"] is None
    assert task["title"].startswith("Resolve dispute") and f"/staff/disputes/{dispute['id']}" in task["note"]
    told = await Notification.select(Notification.user, Notification.link).where(Notification.user.is_in([w["controller"]["id"], w["manager"]["id"]]))
    assert {(n["user"], n["link"]) for n in told} == {(w["controller"]["id"], f"/staff/disputes/{dispute['id']}"),
                                                       (w["manager"]["id"], f"/staff/invoices/{invoice_id}")}
    assert await AuditEvent.exists().where((AuditEvent.action == "dispute_opened") & (AuditEvent.object_id == invoice_id))

    await tick(settings, utcnow())  # the worklist reads the stored state: paused by the dispute
    stored = await DunningState.select().where(DunningState.invoice == invoice_id).first()
    assert stored["paused_kind"] == "dispute"
    await login(client, w["controller"])
    staff_invoice = await client.get(f"/staff/invoices/{invoice_id}")
    assert 'data-pause="dispute"' in staff_invoice.text
    assert "Invoice disputed by the client" in staff_invoice.text  # the audit label on the timeline
    my_tasks = await client.get("/staff/tasks")
    assert f"Resolve dispute: Disputing Boxes SRL, {w['invoice']['code']}" in my_tasks.text
    calendar = await client.get("/staff/calendar")
    assert calendar.status_code == 200 and "Resolve dispute" in calendar.text


async def test_a_second_dispute_is_refused_kindly(client, settings):
    w = await _world()
    await _dispute(client, w)
    again = await _dispute(client, w, reason="quality", comment="", headers=HTMX)
    assert again.status_code == 200
    assert "You have already disputed this invoice: we will answer soon." in again.text
    assert await Dispute.count().where(Dispute.invoice == w["invoice"]["id"]) == 1


async def test_other_needs_a_comment_and_nothing_is_lost(client, settings):
    w = await _world()
    response = await _dispute(client, w, reason="other", comment="", headers=HTMX)
    text = html.unescape(response.text)
    assert 'the comment is needed for "Other"' in text
    assert '<option value="other" selected>' in text  # the choice stays
    assert await Dispute.count() == 0
    assert await _state(w["invoice"]["id"]) == "running"
    plain = await _dispute(client, w, reason="", comment="Something")
    assert plain.status_code == 400 and "Choose what is wrong with the invoice." in plain.text and "Something" in plain.text


async def test_paid_and_cancelled_invoices_cannot_be_disputed(client, settings):
    from portal.audit.service import Actor

    w = await _world()
    await pay(w["invoice"])
    paid = await _dispute(client, w, headers=HTMX)
    assert "This invoice is paid" in paid.text
    cancelled = await issue(w["client_id"], due_in=-2)
    await settlement.cancel_invoice(cancelled["id"], "Issued twice", Actor.system())
    response = await post(client, f"/client/invoices/{cancelled['id']}/dispute", {"reason": "quality"}, headers=HTMX)
    assert "Dispute this invoice" not in response.text
    assert await Dispute.count() == 0


async def test_a_client_cannot_dispute_or_see_another_clients_invoice_or_dispute(client, settings):
    w = await _world()
    await _dispute(client, w, comment="Secret complaint of B")
    other = await make_client("Alfa Cartons SRL")
    await login(client, await make_client_user(other))
    assert (await post(client, f"/client/invoices/{w['invoice']['id']}/dispute", {"reason": "quality"})).status_code == 404
    assert (await client.get(f"/client/invoices/{w['invoice']['id']}")).status_code == 404
    own = await issue(other, due_in=-1)
    page = await client.get(f"/client/invoices/{own['id']}")
    assert page.status_code == 200 and "Secret complaint of B" not in page.text and "Disputed on" not in page.text
    assert await Dispute.count() == 1


# --- staff resolve -----------------------------------------------------------------------------

async def test_the_staff_list_shows_open_disputes_first_with_their_facts(client, settings):
    w = await _world()
    await _dispute(client, w, reason="quality", comment="Print is blurred")
    second = await issue(w["client_id"], due_in=-3)
    await post(client, f"/client/invoices/{second['id']}/dispute", {"reason": "not_received"})
    first = await _the_dispute(w["invoice"]["id"])
    await login(client, w["controller"])
    await post(client, f"/staff/disputes/{first['id']}/reject", {"answer": "The proofs were approved."})

    listing = await client.get("/staff/disputes?status=all")
    assert listing.status_code == 200
    text = listing.text
    assert text.index(second["code"]) < text.index(w["invoice"]["code"])  # open before resolved
    assert "Disputing Boxes SRL" in text and "Print is blurred" in text and "Quality problem" in text
    open_only = await client.get("/staff/disputes")
    assert second["code"] in open_only.text and w["invoice"]["code"] not in open_only.text
    resolved = await client.get("/staff/disputes?status=resolved")
    assert w["invoice"]["code"] in resolved.text and second["code"] not in resolved.text
    assert 'href="/staff/disputes"' in (await client.get("/staff")).text  # the nav link


async def test_a_credit_note_cancels_the_invoice_settles_it_and_tells_the_client(client, settings):
    w = await _world()
    await make_ladder("Pressure", PRESSURE)
    invoice_id = w["invoice"]["id"]
    await _dispute(client, w)
    dispute = await _the_dispute(invoice_id)
    await login(client, w["controller"])
    detail = await client.get(f"/staff/disputes/{dispute['id']}")
    assert detail.status_code == 200 and "We ordered 800, not 1000." in detail.text and "Paused by the dispute" in detail.text

    response = await post(client, f"/staff/disputes/{dispute['id']}/credit", {"answer": "Sorry, our mistake."})
    assert response.status_code == 303
    invoice = await Invoice.select().where(Invoice.id == invoice_id).first()
    assert invoice["status"] == "cancelled"
    note = await Invoice.select().where(Invoice.credits_invoice == invoice_id).first()
    assert note["kind"] == "credit_note" and note["total_minor"] == -w["invoice"]["total_minor"]
    assert await _state(invoice_id) == "settled"
    assert not await DunningState.exists().where(DunningState.invoice == invoice_id)
    resolved = await _the_dispute(invoice_id)
    assert resolved["status"] == "resolved" and resolved["resolution"] == "credit_note" and not resolved["counts_against"]
    assert (await Task.select(Task.done_at).where(Task.id == dispute["task"]).first())["done_at"] is not None
    assert not await Pause.exists().where((Pause.invoice == invoice_id) & Pause.ended_at.is_null())
    events = [e["after"] for e in await AuditEvent.select(AuditEvent.after).where(
        (AuditEvent.object_id == invoice_id) & (AuditEvent.action == "escalation_changed")).output(load_json=True)]
    assert {"event": "dispute_credited", "state": "settled"} in [{k: e.get(k) for k in ("event", "state")} for e in events]

    page = await client.get(f"/staff/disputes/{dispute['id']}")
    assert note["code"] in page.text and "Sorry, our mistake." in page.text
    again = await post(client, f"/staff/disputes/{dispute['id']}/credit", {})
    assert again.status_code == 400 and "already resolved" in again.text

    notice = await ClientNotice.select().where((ClientNotice.client == w["client_id"]) & (ClientNotice.kind != "invoice_issued")).first()
    assert w["invoice"]["code"] in notice["message"] and note["code"] in notice["message"]
    await login(client, w["buyer"])
    home = await client.get("/client")
    assert "Credit note" in home.text and "Sorry, our mistake." in home.text
    invoice_page = html.unescape((await client.get(f"/client/invoices/{invoice_id}")).text)
    assert "We agreed: a credit note cancels this invoice." in invoice_page and "Sorry, our mistake." in invoice_page


async def test_a_correction_issues_a_tracked_invoice_for_the_corrected_amount(client, settings):
    w = await _world()
    invoice_id = w["invoice"]["id"]
    await _dispute(client, w)
    dispute = await _the_dispute(invoice_id)
    await login(client, w["controller"])

    skipped = next(t for t in range(9500, 9600) if all(n + percent_of(n, 1900) != t for n in range(7900, 8100)))
    refused = await post(client, f"/staff/disputes/{dispute['id']}/correct", {"amount": f"{skipped / 100:.2f}"})
    assert refused.status_code == 400 and "the nearest are" in html.unescape(refused.text)
    assert (await _the_dispute(invoice_id))["status"] == "open"

    response = await post(client, f"/staff/disputes/{dispute['id']}/correct", {"amount": "95.20", "answer": "Corrected to 800 boxes."})
    assert response.status_code == 303, response.text
    old = await Invoice.select().where(Invoice.id == invoice_id).first()
    assert old["status"] == "cancelled"
    corrected = await Invoice.select().where((Invoice.client == w["client_id"]) & (Invoice.kind == "invoice") & (Invoice.id != invoice_id)).first()
    assert corrected["total_minor"] == 9520 and corrected["status"] == "issued" and corrected["currency"] == old["currency"]
    today = dunning_rules.local_date(utcnow(), settings.firm_timezone)
    assert corrected["issue_date"] == today and corrected["due_date"] == today + dt.timedelta(days=45)
    assert await DunningState.exists().where(DunningState.invoice == corrected["id"])  # the ladder follows it
    assert await _state(corrected["id"]) == "running" and await _state(invoice_id) == "settled"
    resolved = await _the_dispute(invoice_id)
    assert resolved["resolution"] == "correction" and resolved["amount_minor"] == 9520

    page = await client.get(f"/staff/disputes/{dispute['id']}")
    assert f'href="/staff/invoices/{corrected["id"]}" id="corrected-invoice"' in page.text
    notice = await ClientNotice.select().where((ClientNotice.client == w["client_id"]) & (ClientNotice.kind != "invoice_issued")).first()
    assert corrected["code"] in notice["message"] and notice["link"] == f"/client/invoices/{corrected['id']}"


async def test_a_rejection_needs_an_answer_then_the_ladder_goes_on_and_the_client_reads_it(client, settings):
    w = await _world()
    invoice_id = w["invoice"]["id"]
    await _dispute(client, w)
    dispute = await _the_dispute(invoice_id)
    negotiator = await make_staff(Role.NEGOTIATOR)
    await login(client, negotiator)
    empty = await post(client, f"/staff/disputes/{dispute['id']}/reject", {"answer": ""})
    assert empty.status_code == 400 and "Write the answer the client will read" in empty.text
    assert await _state(invoice_id) == "disputed"

    response = await post(client, f"/staff/disputes/{dispute['id']}/reject", {"answer": "Delivery note 42 shows 1000 boxes."})
    assert response.status_code == 303
    assert await _state(invoice_id) == "running"
    resolved = await _the_dispute(invoice_id)
    assert resolved["resolution"] == "rejected" and resolved["counts_against"] and resolved["answer"].startswith("Delivery note 42")
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice_id).first())["status"] == "issued"

    await login(client, w["buyer"])
    page = html.unescape((await client.get(f"/client/invoices/{invoice_id}")).text)
    assert "Not upheld: the invoice stands." in page and "Delivery note 42 shows 1000 boxes." in page
    assert "Dispute this invoice" not in page  # answered once: no second dispute through the portal
    assert "Promise a payment date" in page
    assert "Delivery note 42" in (await client.get("/client")).text

    await login(client, w["controller"])
    staff_client = await client.get(f"/staff/clients/{w['client_id']}")
    assert "1 rejected dispute" in staff_client.text


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.DESIGNER, Role.SPEC_COORDINATOR], ids=lambda r: r.value)
async def test_other_roles_are_refused(client, settings, role):
    w = await _world()
    await _dispute(client, w)
    dispute = await _the_dispute(w["invoice"]["id"])
    await login(client, await make_staff(role))
    assert (await client.get("/staff/disputes")).status_code == 403
    assert (await client.get(f"/staff/disputes/{dispute['id']}")).status_code == 403
    for action in ("credit", "correct", "reject"):
        response = await post(client, f"/staff/disputes/{dispute['id']}/{action}", {"answer": "No", "amount": "10"})
        assert response.status_code == 403
    assert (await _the_dispute(w["invoice"]["id"]))["status"] == "open"
    assert 'href="/staff/disputes"' not in (await client.get("/staff")).text


async def test_the_pause_ends_at_the_limit_and_the_dispute_can_still_be_resolved(client, settings):
    w = await _world()
    await make_ladder("Pressure", PRESSURE)
    invoice_id = w["invoice"]["id"]
    await _dispute(client, w)
    dispute = await _the_dispute(invoice_id)
    await tick(settings, utcnow() + dt.timedelta(days=settings.dispute_max_days - 1))
    assert await _state(invoice_id) == "disputed"
    await tick(settings, utcnow() + dt.timedelta(days=settings.dispute_max_days, hours=1))
    assert await _state(invoice_id) == "running"
    assert (await Pause.select(Pause.end_reason).where(Pause.invoice == invoice_id).first())["end_reason"] == "expired"
    assert (await _the_dispute(invoice_id))["status"] == "open"  # still on the staff's list, with its task

    await login(client, w["controller"])
    response = await post(client, f"/staff/disputes/{dispute['id']}/credit", {})
    assert response.status_code == 303, response.text
    assert await _state(invoice_id) == "settled"
