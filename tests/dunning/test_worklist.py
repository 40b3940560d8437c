"""The worklist, bulk actions, the invoice's escalation panel and admins' approvals, over HTTP."""

from __future__ import annotations

import datetime as dt
import re

from portal.auth.roles import Role
from portal.auth.tables import User
from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction
from portal.dunning.escalation.tables import Pause
from portal.tasks.tables import Task
from tests.billing.staff_helpers import issue
from tests.dunning.engine_helpers import PRESSURE, local, make_ladder, tick
from tests.factories import login, make_client, make_client_user, make_contact, make_staff, post


async def _overdue_world(settings, *, privileged: bool = False):
    manager = await make_staff(Role.SALES_MANAGER, name="Mara Manager")
    controller = await make_staff(Role.CREDIT_CONTROLLER)
    await make_staff(Role.NEGOTIATOR, is_legal=True)
    fields = {"privileged": "1", "forgiveness_days": "0"} if privileged else {}
    client_id = await make_client("Debtor SRL", sales_manager=str(manager["id"]), **fields)
    await make_contact(client_id)
    await make_ladder("Pressure", PRESSURE)
    invoice = await issue(client_id, due_in=-2)
    due = invoice["due_date"]
    for offset, hhmm in ((-3, "10:00"), (0, "12:00"), (1, "09:00"), (1, "11:00")):
        await tick(settings, local(due + dt.timedelta(days=offset), hhmm))
    return manager, controller, client_id, invoice


async def test_worklist_groups_by_step_and_shows_next_action(db, settings, client):
    _manager, controller, client_id, invoice = await _overdue_world(settings)
    await login(client, controller)
    page = (await client.get("/staff/dunning")).text
    assert invoice["code"] in page and "Debtor SRL" in page and "Mara Manager" in page
    groups = (await client.get("/staff/dunning/groups")).text  # loaded by htmx after the page
    assert re.search(r'data-group="\d+"><td><a[^>]*>Pay-today call</a>', groups)  # the step it reached
    row = re.search(rf'<tr data-invoice="{invoice["code"]}">.*?</tr>', page, re.S).group(0)
    assert "Demand letter" in row  # the next action
    filtered = (await client.get("/staff/dunning", params={"q": "nobody-like-this"})).text
    assert invoice["code"] not in filtered
    client_page = (await client.get(f"/staff/clients/{client_id}")).text
    worst = re.search(r'<p class="worst-escalation">.*?</p>', client_page, re.S).group(0)
    assert "Pay-today call" in worst and invoice["code"] in worst  # the client shows its worst state


async def test_filters_offer_active_managers_and_staff_by_name_and_every_step_in_ladder_order(db, settings, client):
    _manager, controller, _client_id, _invoice = await _overdue_world(settings)
    await make_staff(Role.SALES_MANAGER, name="Ana Manager")
    gone = await make_staff(Role.SALES_MANAGER, name="Gone Manager")
    await User.update({User.is_active: False}).where(User.id == gone["id"])
    await login(client, controller)
    page = (await client.get("/staff/dunning")).text

    def options(name: str) -> list[str]:
        select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        return [text.strip() for text in re.findall(r"<option[^>]*>([^<]*)</option>", select)]

    assert options("manager")[1:] == ["Ana Manager", "Mara Manager"]  # after "All managers"
    choose, *reassign = options("user_id")
    assert choose == "Choose a person"  # nobody is picked for the controller by default
    assert "Gone Manager" not in reassign and reassign == sorted(reassign) and "Mara Manager" in reassign
    steps = [s for s in options("step") if s.startswith("Pressure: ")]
    assert steps == [f"Pressure: {step['name']}" for step in PRESSURE]


async def test_bulk_pause_skip_and_reassign(db, settings, client):
    _manager, controller, _client_id, invoice = await _overdue_world(settings)
    await login(client, controller)
    refused = await post(client, "/staff/dunning/bulk", {"action": "pause", "reason": "", "invoice_ids": str(invoice["id"])})
    assert refused.status_code == 400 and "Say why" in refused.text
    assert await Pause.count().where(Pause.invoice == invoice["id"]) == 0
    done = await post(client, "/staff/dunning/bulk", {"action": "skip", "reason": "Client visited us",
                                                      "invoice_ids": str(invoice["id"])})
    assert done.status_code == 303
    skipped = await DunningAction.select(DunningAction.status, DunningAction.reason, DunningAction.created_by).where(
        (DunningAction.invoice == invoice["id"]) & (DunningAction.channel == "letter")).first()
    assert skipped == {"status": "skipped", "reason": "Client visited us", "created_by": controller["id"]}
    other = await make_staff(Role.CREDIT_CONTROLLER)
    nobody = await post(client, "/staff/dunning/bulk", {"action": "reassign", "user_id": "", "invoice_ids": str(invoice["id"])})
    assert nobody.status_code == 400 and "Choose an active staff member." in nobody.text
    await post(client, "/staff/dunning/bulk", {"action": "reassign", "user_id": str(other["id"]), "invoice_ids": str(invoice["id"])})
    open_tasks = await Task.select(Task.assignee).where((Task.invoice == invoice["id"]) & Task.done_at.is_null())
    assert open_tasks and all(t["assignee"] == other["id"] for t in open_tasks)
    await post(client, "/staff/dunning/bulk", {"action": "pause", "reason": "Waiting for the bank", "invoice_ids": str(invoice["id"])})
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert "Waiting for the bank" in page and "Paused" in page


async def test_a_refused_bulk_action_shows_the_same_filtered_page_with_the_same_invoices_ticked(db, settings, client):
    manager, controller, _client_id, invoice = await _overdue_world(settings)
    other_client = await make_client("Another Firm SRL", sales_manager=str(manager["id"]))
    other = await issue(other_client, due_in=-2)
    await tick(settings, local(other["due_date"] + dt.timedelta(days=1), "11:00"))
    await login(client, controller)
    page = (await client.get("/staff/dunning", params={"q": "Debtor SRL"})).text
    action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', page).group(1)
    # the page's filter travels with the form; a refusal opens at the bar (its message is there)
    assert action == "/staff/dunning/bulk?q=Debtor+SRL#bulk-error"
    action = action.removesuffix("#bulk-error")
    refused = await post(client, action.replace("&amp;", "&"), {"action": "pause", "reason": "", "invoice_ids": str(invoice["id"])})
    assert refused.status_code == 400 and "Say why" in refused.text
    assert 'name="q" value="Debtor SRL"' in refused.text and other["code"] not in refused.text  # still filtered
    ticked = re.findall(r'<input type="checkbox" name="invoice_ids" value="(\d+)"[^>]* checked>', refused.text)
    assert ticked == [str(invoice["id"])]  # nothing to tick again
    # sent again from the refused page, with a reason: back to the filtered worklist (not to the POST's address)
    again_action = re.search(r'<form method="post" action="([^"]+)" id="bulk-form"', refused.text).group(1)
    assert again_action == f"{action}#bulk-error"
    again_action = action
    again = await post(client, again_action, {"action": "pause", "reason": "Waiting for the bank", "invoice_ids": str(invoice["id"])})
    assert again.status_code == 303 and again.headers["location"] == "/staff/dunning?q=Debtor+SRL"
    assert (await client.get(again.headers["location"])).status_code == 200


async def test_only_controllers_act_and_clients_are_refused(db, settings, client):
    manager, _controller, client_id, invoice = await _overdue_world(settings)
    await login(client, manager)
    assert (await client.get("/staff/dunning")).status_code == 200  # a manager reads the worklist
    response = await post(client, "/staff/dunning/bulk", {"action": "pause", "reason": "x", "invoice_ids": str(invoice["id"])})
    assert response.status_code == 403
    buyer = await make_client_user(client_id)
    client.cookies.clear()
    await login(client, buyer)
    assert (await client.get("/staff/dunning")).status_code == 403
    assert (await client.get(f"/staff/dunning/invoices/{invoice['id']}/escalation")).status_code == 403


async def test_admin_approves_a_privileged_clients_hand_over(db, settings, client):
    admin = await make_staff(Role.ADMIN)
    _manager, controller, _client_id, invoice = await _overdue_world(settings, privileged=True)
    due = invoice["due_date"]
    for day in range(2, 30):
        await tick(settings, local(due + dt.timedelta(days=day), "12:00"))
    action = await DunningAction.select().where((DunningAction.invoice == invoice["id"]) & (DunningAction.channel == "legal_handover")).first()
    assert action["status"] == "awaiting_approval"
    await login(client, controller)
    assert (await post(client, f"/staff/dunning/actions/{action['id']}/approve")).status_code == 403
    client.cookies.clear()
    await login(client, admin)
    approval = await Task.select(Task.id).where((Task.dunning_action == action["id"]) & (Task.kind == "approval")).first()
    calendar = (await client.get("/staff/calendar")).text
    assert f'/staff/invoices/{invoice["id"]}#escalation' in calendar  # the calendar sends the admin to decide
    closed = await post(client, f"/staff/calendar/tasks/{approval['id']}/done", {"outcome": "fine"}, headers={"HX-Request": "true"})
    assert "the ladder waits for that decision" in closed.text  # closing the task is no decision
    assert (await Task.select(Task.done_at).where(Task.id == approval["id"]).first())["done_at"] is None
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert "Approve hand-over" in page
    assert (await post(client, f"/staff/dunning/actions/{action['id']}/approve")).status_code == 303
    await tick(settings, utcnow() if utcnow() > local(due + dt.timedelta(days=30), "12:00") else local(due + dt.timedelta(days=30), "12:00"))
    after = await DunningAction.select(DunningAction.status).where(DunningAction.id == action["id"]).first()
    assert after["status"] == "done"
    lawyer_task = await Task.select(Task.kind).where(Task.dunning_action == action["id"]).first()
    assert lawyer_task["kind"] == "legal"


async def test_pages_walk_every_overdue_invoice_once_in_order_with_and_without_a_client_filter(db, settings):
    from portal.billing.tables import Invoice
    from portal.dunning.engine.rules import local_date
    from portal.dunning.worklist import listing as worklist

    manager = await make_staff(Role.SALES_MANAGER, name="Mara Manager")
    mine = await make_client("Debtor SRL", sales_manager=str(manager["id"]))
    other = await make_client("Other SRL")
    invoices = [await issue(mine if n % 3 else other, due_in=-1 - n % 9) for n in range(worklist.PAGE_SIZE + 8)]
    # a state left behind by a settled invoice (settling removes it; should one linger, it is not shown)
    lingering = invoices[0]["id"]
    await Invoice.update({Invoice.status: "paid", Invoice.settled_on: invoices[0]["issue_date"]}).where(Invoice.id == lingering)
    today = local_date(utcnow(), settings.firm_timezone)

    async def walk(filters: worklist.Filters) -> list[dict]:
        seen, cursor = [], None
        while True:
            page = await worklist.rows(today, filters, cursor)
            seen += page.rows
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    everything = await walk(worklist.Filters())
    expected = sorted((i["due_date"], i["id"]) for i in invoices if i["id"] != lingering)
    assert [(r["due_date"], r["id"]) for r in everything] == expected  # no step taken yet: by due date, then id
    first = await worklist.rows(today, worklist.Filters())
    assert len(first.rows) <= worklist.PAGE_SIZE and first.next_cursor
    managed = await walk(worklist.Filters(manager_id=manager["id"]))
    assert [r["id"] for r in managed] == [r["id"] for r in everything if r["client_id"] == mine]
