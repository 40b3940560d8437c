"""The delay-reason catalogue (credit controllers edit it, everyone reads it) and its statistics
per reason, per sales manager and per client."""

from __future__ import annotations

import datetime as dt
import re

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.dunning.reasons import service as reasons
from portal.dunning.reasons.tables import CallOutcome, DelayReason
from tests.dunning.calendar_helpers import catalogue, invoice_of, local, task, today
from tests.factories import login, make_client, make_client_user, make_staff, post
from tests.tasks.helpers import field_error, form_html

HTMX = {"hx-request": "true"}
ADD = "/staff/dunning/reasons"


def names_in_order(html: str) -> list[str]:
    return [n.strip() for n in re.findall(r'<td class="reason-name">(.*?)</td>', html, re.S)]


async def outcome(task_id: int, invoice: dict, reason_id: int | None, recorded_at: dt.datetime, user_id: int) -> None:
    await CallOutcome(task=task_id, invoice=invoice["id"], client=invoice["client"], user=user_id, reached=True,
                      delay_reason=reason_id, recorded_at=recorded_at).save()


async def test_a_credit_controller_keeps_the_catalogue(client):
    await catalogue("Waiting for their client", "Cash-flow gap")
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))

    added = await post(client, "/staff/dunning/reasons", {"name": "  Invoice   not received "}, headers=HTMX)
    assert added.status_code == 200
    assert names_in_order(added.text) == ["Waiting for their client", "Cash-flow gap", "Invoice not received"]
    twice = await post(client, "/staff/dunning/reasons", {"name": "cash-flow GAP"}, headers=HTMX)
    assert field_error(form_html(twice.text, ADD), "name") == "This reason is already in the list."
    assert await DelayReason.count() == 3
    empty = await post(client, "/staff/dunning/reasons", {"name": ""})
    assert empty.status_code == 400 and "Enter the reason" in field_error(form_html(empty.text, ADD), "name")

    gap = (await DelayReason.select(DelayReason.id).where(DelayReason.name == "Cash-flow gap").first())["id"]
    renamed = await post(client, f"/staff/dunning/reasons/{gap}/rename", {"name": "No money this month"}, headers=HTMX)
    assert "No money this month" in names_in_order(renamed.text)
    clash = await post(client, f"/staff/dunning/reasons/{gap}/rename", {"name": "Invoice not received"}, headers=HTMX)
    assert field_error(form_html(clash.text, f"{ADD}/{gap}/rename"), "name") == "This reason is already in the list."

    moved = await post(client, f"/staff/dunning/reasons/{gap}/move", {"direction": "up"}, headers=HTMX)
    assert names_in_order(moved.text) == ["No money this month", "Waiting for their client", "Invoice not received"]
    plain = await post(client, f"/staff/dunning/reasons/{gap}/move", {"direction": "down"})
    assert plain.status_code == 303 and plain.headers["location"] == "/staff/dunning/reasons"
    assert names_in_order((await client.get("/staff/dunning/reasons")).text)[:2] == ["Waiting for their client", "No money this month"]

    await post(client, f"/staff/dunning/reasons/{gap}/deactivate")
    assert [r["name"] for r in await reasons.active_reasons()] == ["Waiting for their client", "Invoice not received"]
    assert "Not offered" in (await client.get("/staff/dunning/reasons")).text
    await post(client, f"/staff/dunning/reasons/{gap}/reactivate")
    assert "No money this month" in [r["name"] for r in await reasons.active_reasons()]
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action).where(AuditEvent.object_type == "delay_reason")}
    assert actions == {"delay_reason_added", "delay_reason_renamed", "delay_reason_moved", "delay_reason_deactivated",
                       "delay_reason_reactivated"}
    assert (await post(client, "/staff/dunning/reasons/999999/rename", {"name": "x"})).status_code == 404


async def test_a_deactivated_reason_is_no_longer_offered_when_a_call_is_done(client):
    ids = await catalogue("Waiting for their client", "Retired reason")
    await reasons.set_active(ids["Retired reason"], False, Actor.system())
    me = await make_staff(Role.SALES_MANAGER)
    await task(me["id"], local(today(), "12:00"), invoice=await invoice_of(await make_client()))
    await login(client, me)
    page = await client.get("/staff/calendar")
    assert "Waiting for their client" in page.text and "Retired reason" not in page.text


async def test_everyone_reads_but_only_controllers_and_admins_change(client):
    ids = await catalogue("Waiting for their client")
    await login(client, await make_staff(Role.SALES_MANAGER))
    page = await client.get("/staff/dunning/reasons")
    assert page.status_code == 200 and "Waiting for their client" in page.text and "Add reason" not in page.text
    assert (await post(client, "/staff/dunning/reasons", {"name": "Mine"})).status_code == 403
    assert (await post(client, f"/staff/dunning/reasons/{ids['Waiting for their client']}/deactivate")).status_code == 403
    assert (await client.get("/staff/dunning/reasons/stats")).status_code == 200
    assert await DelayReason.count() == 1

    await login(client, await make_staff(Role.ADMIN))
    assert (await post(client, "/staff/dunning/reasons", {"name": "Admin's reason"})).status_code == 303

    await login(client, await make_client_user(await make_client()))
    assert (await client.get("/staff/dunning/reasons")).status_code == 403
    client.cookies.clear()
    anonymous = await client.get("/staff/dunning/reasons/stats")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


async def test_statistics_count_per_reason_manager_and_client(client):
    ids = await catalogue("Waiting for their client", "Cash-flow gap", "Disputed quantity")
    ana = await make_staff(Role.SALES_MANAGER, name="Ana Sales")
    bob = await make_staff(Role.SALES_MANAGER, name="Bob Sales")
    tipo = await invoice_of(await make_client("Tipo Print SRL", sales_manager=str(ana["id"])))
    nord = await invoice_of(await make_client("Carduri Nord SRL", sales_manager=str(bob["id"])))
    lone = await invoice_of(await make_client("Orphan Boxes SRL"))
    day = today() - dt.timedelta(days=3)
    made = 0

    async def given(invoice: dict, reason: str | None, when: dt.datetime) -> None:
        nonlocal made
        made += 1
        task_id = await task(ana["id"], local(day), invoice=invoice, title=f"Call {made}")
        await outcome(task_id, invoice, ids[reason] if reason else None, when, ana["id"])

    for _ in range(3):
        await given(tipo, "Cash-flow gap", local(day, "11:00"))
    await given(tipo, "Waiting for their client", local(day, "12:00"))
    await given(nord, "Waiting for their client", local(day, "13:00"))
    await given(lone, "Disputed quantity", local(day, "14:00"))
    await given(nord, None, local(day, "15:00"))  # not reached, no reason: not counted
    await given(nord, "Cash-flow gap", local(day - dt.timedelta(days=60), "10:00"))  # before the period

    stats = await reasons.reason_stats(day - dt.timedelta(days=7), today())
    assert stats["total"] == 6
    assert [(r["name"], r["count"]) for r in stats["by_reason"]] == [
        ("Cash-flow gap", 3), ("Waiting for their client", 2), ("Disputed quantity", 1)]
    managers = {m["name"]: m for m in stats["by_manager"]}
    assert {name: m["count"] for name, m in managers.items()} == {"Ana Sales": 4, "Bob Sales": 1, "": 1}
    assert [(r["name"], r["count"]) for r in managers["Ana Sales"]["reasons"]] == [("Cash-flow gap", 3), ("Waiting for their client", 1)]
    assert [(c["name"], c["count"]) for c in stats["by_client"]] == [
        ("Tipo Print SRL", 4), ("Carduri Nord SRL", 1), ("Orphan Boxes SRL", 1)]
    assert stats["by_client"][0]["main_reason"] == {"name": "Cash-flow gap", "count": 3}

    wider = await reasons.reason_stats(day - dt.timedelta(days=90), today())
    assert wider["total"] == 7
    listed = {r["name"]: r["uses"] for r in await reasons.list_reasons()}
    assert listed == {"Waiting for their client": 2, "Cash-flow gap": 4, "Disputed quantity": 1}

    await login(client, ana)
    page = await client.get(f"/staff/dunning/reasons/stats?from={(day - dt.timedelta(days=7)).isoformat()}&to={today().isoformat()}")
    assert page.status_code == 200
    assert "Cash-flow gap" in page.text and "Ana Sales" in page.text and "Tipo Print SRL" in page.text
    assert "6 call outcomes with a reason" in page.text
    wrong = await client.get("/staff/dunning/reasons/stats?from=2025-02-30&to=2025-01-01")
    assert wrong.status_code == 200 and field_error(wrong.text, "from") == "Enter a date such as {}.".format(today().strftime("%d/%m/%Y"))
    catalogue_page = await client.get("/staff/dunning/reasons")
    assert re.search(r'class="num reason-uses">\s*4\s*<', catalogue_page.text)
