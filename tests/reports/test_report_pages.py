"""/staff/reports as its users meet it: the five reports, the drill-down, the exports in the
reader's language, a sales manager limited to their own clients, the roles that may not look,
and an admin applying the ABC classes as segments. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest

from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.auth.tables import User
from portal.billing.rules import Line
from portal.billing.service import issue_invoice
from portal.clients.tables import Client
from portal.clock import firm_today, utcnow
from portal.dunning.engine.tables import DunningState
from portal.reports.receivables import summary
from tests.billing.staff_helpers import SYSTEM, pay
from tests.factories import login, make_client, make_client_user, make_staff, post

TZ = "Europe/Bucharest"


async def invoice(client_id: int, *, days_ago: int, total: int, currency: str = "RON") -> dict:
    """Issued `days_ago` days ago on 30 days' terms."""
    return await issue_invoice(client_id=client_id, currency=currency, lines=[Line("Folders", 1, total, 0)],
                               issue_date=firm_today() - dt.timedelta(days=days_ago), terms_days=30, order_id=None, actor=SYSTEM)


async def world() -> dict:
    mihai, olena = await make_staff(Role.SALES_MANAGER, name="Mihai Ionescu"), await make_staff(Role.SALES_MANAGER, name="Olena Koval")
    big = await make_client("Carpatia Retail SRL", sales_manager=str(mihai["id"]), segment="C")
    small = await make_client("Iasi Books SRL", sales_manager=str(olena["id"]), segment="A")
    overdue = await invoice(big, days_ago=75, total=900_000)  # 45 days overdue
    await invoice(big, days_ago=5, total=100_000)  # not due
    await pay(await invoice(small, days_ago=40, total=50_000), 50_000)
    await invoice(small, days_ago=35, total=20_000)  # 5 days overdue
    await summary.refresh(TZ)
    return {"mihai": mihai, "olena": olena, "big": big, "small": small, "overdue": overdue}


def text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def test_a_credit_controller_reads_every_report(client):
    w = await world()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    aging = await client.get("/staff/reports")
    assert aging.status_code == 200
    assert "<svg" in aging.text and 'role="img"' in aging.text
    row = re.search(r'<tr>\s*<th scope="row">RON</th>(.*?)</tr>', aging.text, re.S).group(1)
    cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # not due, 1-30 (5 days), 31-60 (45 days), ... then the total, the invoices, days late weighted by balance
    assert cells == ["RON1,000.00", "RON200.00", "RON9,000.00", "—", "—", "—", "RON10,200.00", "3", "44.1"]

    by_client = text((await client.get("/staff/reports?group=client")).text)
    assert by_client.index("Carpatia Retail SRL") < by_client.index("Iasi Books SRL")  # the biggest balance first
    for path in ("/staff/reports/collection", "/staff/reports/abc", "/staff/reports/outcomes", "/staff/reports/sales"):
        response = await client.get(path)
        assert response.status_code == 200, path
    collection = text((await client.get("/staff/reports/collection")).text)
    assert "count-back" in collection and "CEI" in collection and "× 100" in collection  # the formulas are on the page
    per_manager = collection[collection.index("per sales manager"):collection.index("per segment")]
    # this month: 10 000 open of Mihai's client, 200 of Olena's
    assert re.search(r"Mihai Ionescu RON RON[\d,.]+ RON10,000.00 [\d.]+ [\d.]+ ", per_manager)
    assert re.search(r"Olena Koval RON RON[\d,.]+ RON200.00 ", per_manager)
    assert re.search(r"per segment .*?A RON .*?C RON", collection)
    abc = text((await client.get("/staff/reports/abc")).text)
    table = abc[abc.index("Discipline"):]
    assert re.search(r"1 Carpatia Retail SRL RON10,000.00 — 93.5 % A Segment C", table)  # class A, segment C now
    assert re.search(r"2 Iasi Books SRL RON700.00 — 100.0 % B Segment A 0.0 % 10.0 0 0 0", table)  # paid today, 10 days late
    assert w


async def test_drilling_down_from_a_cell_to_its_invoices(client):
    w = await world()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    page = (await client.get("/staff/reports?group=client")).text
    link = re.search(r'href="(/staff/reports/aging/invoices\?[^"]*bucket=d31_60[^"]*)"', page).group(1).replace("&amp;", "&")
    assert f"client={w['big']}" in link
    cell = await client.get(link)
    assert cell.status_code == 200
    assert w["overdue"]["code"] in cell.text and "9,000.00" in cell.text and ">45<" in cell.text
    past = await client.get(f"/staff/reports/aging/invoices?day={(firm_today() - dt.timedelta(days=50)).isoformat()}&client={w['big']}")
    assert w["overdue"]["code"] in past.text  # 50 days ago it was open and not yet due
    assert (await client.get("/staff/reports/aging/invoices?bucket=nonsense")).status_code == 404


async def test_a_past_day_is_recomputed_and_a_bad_day_is_told_where_it_was_typed(client):
    await world()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    day = firm_today() - dt.timedelta(days=60)
    past = await client.get(f"/staff/reports?day={day.isoformat()}")
    assert "Recomputed from the invoices" in past.text and "9,000.00" in past.text and "1,000.00" not in past.text
    bad = await client.get("/staff/reports?day=31.02.2025")
    assert bad.status_code == 200 and 'id="f-day-error"' in bad.text and 'value="31.02.2025"' in bad.text
    future = await client.get(f"/staff/reports?day={(firm_today() + dt.timedelta(days=3)).isoformat()}")
    assert "the future has no receivables yet" in future.text
    shares = await client.get("/staff/reports/abc?a=90&b=20")
    assert 'id="f-a-error"' in shares.text and "at least 1 % for C" in shares.text


async def test_htmx_gets_only_the_report_under_the_filters(client):
    await world()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    partial = await client.get("/staff/reports?group=segment", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="report"') and "<nav" not in partial.text
    assert "Segment" in partial.text


async def test_exports_open_in_the_library_that_wrote_them_in_the_readers_format(client):
    await world()
    cc = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, cc)
    xlsx = await client.get("/staff/reports/export/aging?group=client&format=xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    assert 'filename="aging-' in xlsx.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Client" and rows[1][0] == "Carpatia Retail SRL"
    assert float(rows[1][8]) == 10_000.00  # the total as a number, in major units

    await User.update({User.language: "ro"}).where(User.id == cc["id"])
    ro = await client.get("/staff/reports/export/abc?format=csv")  # the reader's language, from their own settings
    assert ro.status_code == 200
    body = ro.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body), delimiter=";"))
    carpatia = next(r for r in table if r[1] == "Carpatia Retail SRL")
    assert carpatia[3] == "10000,00" and carpatia[7] == "A"  # Romanian decimals, no grouping


async def test_a_sales_manager_sees_only_their_own_clients(client):
    w = await world()
    await login(client, w["mihai"])
    page = text((await client.get(f"/staff/reports?group=client&manager={w['olena']['id']}")).text)
    assert "Carpatia Retail SRL" in page and "Iasi Books SRL" not in page
    assert "The figures of your own clients." in page
    export = (await client.get("/staff/reports/export/aging?group=client&format=csv")).content.decode("utf-8-sig")
    assert "Carpatia" in export and "Iasi" not in export
    cell = await client.get(f"/staff/reports/aging/invoices?client={w['small']}")
    assert "No invoice was open" in cell.text
    assert "Iasi Books SRL" not in text((await client.get("/staff/reports/abc")).text)
    assert (await post(client, "/staff/reports/refresh")).status_code == 403


@pytest.mark.parametrize("role", [Role.DESIGNER, Role.SPEC_COORDINATOR, Role.NEGOTIATOR])
async def test_roles_without_reports_are_refused_and_not_offered_the_link(client, role):
    await login(client, await make_staff(role))
    assert (await client.get("/staff/reports")).status_code == 403
    assert (await client.get("/staff/reports/export/aging?format=csv")).status_code == 403
    assert 'href="/staff/reports"' not in (await client.get("/staff")).text


async def test_a_client_user_is_refused(client):
    user = await make_client_user(await make_client())
    await login(client, user)
    response = await client.get("/staff/reports", follow_redirects=False)
    assert response.status_code in (302, 303, 403)


async def test_an_admin_applies_the_abc_classes_as_segments_in_one_audited_action(client):
    w = await world()
    # the big client's open invoices wait on a far-off look of the ladder
    await DunningState.update({DunningState.next_at: utcnow() + dt.timedelta(days=30)}).where(DunningState.client == w["big"])
    admin = await make_staff(Role.ADMIN)
    await login(client, admin)
    page = (await client.get("/staff/reports/abc")).text
    assert 'action="/staff/reports/abc/apply"' in page and "2 clients' segments differ" in page
    response = await post(client, "/staff/reports/abc/apply", {"currency": "RON"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/reports/abc?")
    segments = {r["id"]: r["segment"] for r in await Client.select(Client.id, Client.segment)}
    assert segments[w["big"]] == "A" and segments[w["small"]] == "B"
    events = await AuditEvent.select().where(AuditEvent.action == "client_segment_set").order_by(AuditEvent.object_id).output(load_json=True)
    assert [(e["object_id"], e["before"]["segment"], e["after"]["segment"]) for e in events] == [(w["big"], "C", "A"), (w["small"], "A", "B")]
    assert all(e["actor"] == admin["id"] and e["after"]["basis"] == "sales" for e in events)
    # the ladder looks at their invoices again at the next tick (the segment chooses the ladder)
    assert all(s["next_at"] <= utcnow() for s in await DunningState.select(DunningState.next_at).where(DunningState.client == w["big"]))
    followed = await client.get(response.headers["location"])
    assert "2 clients now have their ABC class as their segment." in followed.text
    again = await post(client, "/staff/reports/abc/apply", {"currency": "RON"}, follow_redirects=True)
    assert "already matched" in again.text


async def test_only_an_admin_may_apply_the_classes(client):
    await world()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    assert 'action="/staff/reports/abc/apply"' not in (await client.get("/staff/reports/abc")).text
    assert (await post(client, "/staff/reports/abc/apply", {"currency": "RON"})).status_code == 403
