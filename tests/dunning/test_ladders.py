"""Ladders as data: credit controllers edit ladders and steps in the UI; every change bumps the
ladder's version and makes the engine look again at the invoices on it; which ladder applies is
chosen per segment and can be overridden per client."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction, DunningState
from portal.dunning.ladders import service as ladders
from portal.dunning.ladders.tables import ClientLadder, Ladder, LadderStep
from tests.factories import login, make_client, make_client_user, make_staff, post
from tests.tasks.helpers import field_error, form_html, shown_value

BOSS = Actor(None, "Test")
HTMX = {"hx-request": "true"}
STEP = {"name": "Reminder", "offset_days": "-3", "time_of_day": "10:00", "channel": "email", "assignee": "manager",
        "sanction": "", "deadline_days": "0", "subject": "Invoice {invoice}", "body": "Please pay {amount} by {due_date}."}
_numbers = itertools.count(1)


async def new_ladder(name: str = "Test ladder", steps: int = 0) -> int:
    ladder_id, checked = await ladders.create_ladder({"name": name, "description": ""}, BOSS)
    assert ladder_id, checked.errors
    for i in range(steps):
        step_id, checked = await ladders.add_step(ladder_id, {**STEP, "name": f"Step {i + 1}"}, BOSS)
        assert step_id, checked.errors
    return ladder_id


async def version(ladder_id: int) -> int:
    return (await Ladder.select(Ladder.version).where(Ladder.id == ladder_id).first())["version"]


async def step_ids(ladder_id: int) -> list[int]:
    rows = await LadderStep.select(LadderStep.id).where((LadderStep.ladder == ladder_id) & (LadderStep.is_active == True)).order_by(  # noqa: E712
        LadderStep.position)
    return [r["id"] for r in rows]


async def invoice_for(client_id: int) -> int:
    today = dt.date.today()
    number = 70000 + next(_numbers)
    invoice = Invoice(series="INV", year=today.year, number=number, code=f"INV-{today.year}-{number:05d}", client=client_id,
                      currency="RON", issue_date=today, due_date=today + dt.timedelta(days=30), status="issued",
                      net_minor=10000, vat_minor=1900, total_minor=11900, created_at=utcnow())
    await invoice.save()
    return invoice.id


LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


async def state_for(client_id: int, ladder_id: int | None) -> int:
    """The engine's stored state of an invoice, made by hand: nothing to do until 2099."""
    invoice_id = await invoice_for(client_id)
    await DunningState(invoice=invoice_id, client=client_id, ladder=ladder_id, next_at=LATER, updated_at=utcnow()).save()
    return invoice_id


async def next_at(invoice_id: int) -> dt.datetime | None:
    return (await DunningState.select(DunningState.next_at).where(DunningState.invoice == invoice_id).first())["next_at"]


def is_stale(moment: dt.datetime | None) -> bool:
    return moment is not None and moment < utcnow() + dt.timedelta(seconds=1)


def selected(page: str, name: str) -> str:
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {name}"
    option = re.search(r'<option value="([^"]*)" selected', match.group(1))
    return html.unescape(option.group(1)) if option else ""


def client_card(page: str) -> str:
    """The client page's "Dunning ladder" card, as text a person reads (entities decoded)."""
    start = page.index('id="dunning-ladder"')
    return html.unescape(page[start:page.index("</section>", start)])


# --- versions and stale states --------------------------------------------------------------

async def test_every_change_to_a_ladder_bumps_its_version_and_marks_its_invoices_stale(db):
    ladder_id = await new_ladder("Edited", steps=2)
    other_id = await new_ladder("Untouched", steps=1)
    client_id = await make_client()
    on_ladder = await state_for(client_id, ladder_id)
    elsewhere = await state_for(client_id, other_id)
    first, second = await step_ids(ladder_id)
    start, other_start = await version(ladder_id), await version(other_id)

    checked = await ladders.edit_step(ladder_id, first, {**STEP, "position": "10", "name": "Gentle reminder"}, BOSS)
    assert checked.ok, checked.errors
    assert await version(ladder_id) == start + 1
    assert is_stale(await next_at(on_ladder))
    assert await next_at(elsewhere) == LATER  # another ladder's invoice is not disturbed

    changes = [
        lambda: ladders.update_ladder(ladder_id, {"name": "Edited", "description": "Softer"}, BOSS),
        lambda: ladders.add_step(ladder_id, {**STEP, "name": "Third"}, BOSS),
        lambda: ladders.move_step(ladder_id, second, "up", BOSS),
        lambda: ladders.save_template(ladder_id, second, "ro", {"subject": "Factura {invoice}", "body": "Plătiți {amount}."}, BOSS),
        lambda: ladders.retire_step(ladder_id, first, BOSS),
    ]
    for n, change in enumerate(changes, start=2):
        await DunningState.update({DunningState.next_at: LATER}).where(DunningState.invoice == on_ladder)
        await change()
        assert await version(ladder_id) == start + n
        assert is_stale(await next_at(on_ladder))
    assert await version(other_id) == other_start

    # saving what is already there changes nothing
    unchanged = await ladders.edit_step(ladder_id, second, {**STEP, "position": "10", "name": "Step 2"}, BOSS)
    assert unchanged.ok and await version(ladder_id) == start + len(changes) + 1


async def test_move_swaps_positions_and_stops_at_the_ends(db):
    ladder_id = await new_ladder("Order", steps=3)
    a, b, c = await step_ids(ladder_id)
    assert await ladders.move_step(ladder_id, c, "up", BOSS)
    assert await step_ids(ladder_id) == [a, c, b]
    assert not await ladders.move_step(ladder_id, a, "up", BOSS)
    assert not await ladders.move_step(ladder_id, b, "down", BOSS)
    assert await step_ids(ladder_id) == [a, c, b]


async def test_a_step_with_history_is_retired_one_without_is_deleted(db, client):
    ladder_id = await new_ladder("Retiring", steps=2)
    taken, fresh = await step_ids(ladder_id)
    client_id = await make_client()
    invoice_id = await invoice_for(client_id)
    now = utcnow()
    await DunningAction(invoice=invoice_id, step=taken, client=client_id, channel="email", scheduled_at=now, taken_at=now,
                        next_attempt_at=now, status="done").save()

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    page = (await client.get(f"/staff/dunning/ladders/{ladder_id}")).text
    assert ">Retire</button>" in page and ">Delete</button>" in page

    response = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps/{taken}/retire")
    assert response.status_code == 303
    row = await LadderStep.select(LadderStep.is_active).where(LadderStep.id == taken).first()
    assert row == {"is_active": False}  # kept, with its action, never taken again
    assert await DunningAction.count().where(DunningAction.step == taken) == 1

    assert (await post(client, f"/staff/dunning/ladders/{ladder_id}/steps/{fresh}/retire")).status_code == 303
    assert not await LadderStep.exists().where(LadderStep.id == fresh)

    page = (await client.get(f"/staff/dunning/ladders/{ladder_id}")).text
    assert "“Step 2” deleted: it had never been taken." in page
    retired = page[page.index('id="retired"'):page.index("</section>", page.index('id="retired"'))]
    steps = page[page.index('id="steps"'):page.index("</section>", page.index('id="steps"'))]
    assert "Step 1" in retired and "Step 1" not in steps and "Step 2" not in steps + retired


# --- which ladder applies -------------------------------------------------------------------

async def test_segment_and_client_override_choose_the_effective_ladder(db):
    first = await new_ladder("First")
    second = await new_ladder("Second")
    for segment in ("A", "B", "C"):
        await ladders.set_segment_ladder(segment, None, BOSS)
    in_a = await make_client(segment="A")
    in_b = await make_client(segment="B")
    a_state = await state_for(in_a, None)
    b_state = await state_for(in_b, None)
    assert await ladders.effective_ladder_id(in_a) is None

    assert await ladders.set_segment_ladder("A", first, BOSS)
    assert await ladders.effective_ladder_id(in_a) == first
    assert await ladders.effective_ladder_id(in_b) is None
    assert is_stale(await next_at(a_state)) and await next_at(b_state) == LATER  # only segment A's invoices

    await DunningState.update({DunningState.next_at: LATER}).where(DunningState.id > 0)
    assert await ladders.set_client_ladder(in_b, second, BOSS)
    assert await ladders.effective_ladder_id(in_b) == second
    assert is_stale(await next_at(b_state)) and await next_at(a_state) == LATER
    assert await ladders.ladder_ids_for_clients([in_a, in_b, 999999]) == {in_a: first, in_b: second, 999999: None}

    assert await ladders.set_segment_ladder("B", first, BOSS)
    assert await ladders.effective_ladder_id(in_b) == second  # the client's own choice wins over its segment's
    assert await ladders.set_client_ladder(in_b, None, BOSS)
    assert await ladders.effective_ladder_id(in_b) == first
    assert not await ladders.set_client_ladder(in_b, None, BOSS)  # nothing to clear: no change

    many = [in_a, in_b, *range(900000, 900600)]  # a long list reads every client at once
    result = await ladders.ladder_ids_for_clients(many)
    assert len(result) == len(many) and result[in_a] == first and result[in_b] == first and result[900001] is None


# --- the pages ------------------------------------------------------------------------------

async def test_a_credit_controller_creates_a_ladder_and_adds_a_step(client):
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    response = await post(client, "/staff/dunning/ladders", {"name": "Gentle ladder", "description": "For friends"})
    assert response.status_code == 303
    ladder_id = int(response.headers["location"].rsplit("/", 1)[1])
    response = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", STEP)
    assert response.status_code == 303
    page = (await client.get(f"/staff/dunning/ladders/{ladder_id}")).text
    assert "Reminder" in page and "day -3 at 10:00 (3 days before due)" in page
    assert "Email to the client&#39;s contact" in page and "The client&#39;s sales manager" in page
    assert "version 2" in page

    duplicate = await post(client, "/staff/dunning/ladders", {"name": "gentle LADDER"})
    assert duplicate.status_code == 400
    form = form_html(duplicate.text, "/staff/dunning/ladders")
    assert field_error(form, "name") == "There is already a ladder called “gentle LADDER”: choose another name."
    assert shown_value(form, "name") == "gentle LADDER"


async def test_step_mistakes_are_shown_next_to_their_fields_with_what_was_typed(client):
    ladder_id = await new_ladder("Checked")
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    typed = {**STEP, "name": "Odd step", "time_of_day": "25:70", "channel": "fax", "body": "Pay {amount} to {iban}"}
    response = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", typed)
    assert response.status_code == 400
    form = form_html(response.text, f"/staff/dunning/ladders/{ladder_id}/steps")
    assert field_error(form, "time_of_day") == "Enter a time of day from 00:00 to 23:59, e.g. 10:00."
    assert field_error(form, "channel") == "Choose one of the channels."
    assert field_error(form, "body").startswith("Unknown placeholder {iban}. You can use: {client}, {invoice}, {amount}")
    assert shown_value(form, "name") == "Odd step" and shown_value(form, "time_of_day") == "25:70"
    assert shown_value(form, "body") == "Pay {amount} to {iban}"
    assert selected(form, "channel") == "fax"

    sanction = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", {**STEP, "channel": "sanction", "sanction": ""})
    form = form_html(sanction.text, f"/staff/dunning/ladders/{ladder_id}/steps")
    assert field_error(form, "sanction") == "Choose which sanction this step applies."
    assert selected(form, "channel") == "sanction"

    claim = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", {**STEP, "channel": "formal_claim", "offset_days": "400"})
    form = form_html(claim.text, f"/staff/dunning/ladders/{ladder_id}/steps")
    assert field_error(form, "deadline_days") == "This channel gives the client (or the manager) a period: enter its days."
    assert "from -60" in field_error(form, "offset_days")
    assert await LadderStep.count().where(LadderStep.ladder == ladder_id) == 0
    assert await version(ladder_id) == 1


async def test_a_step_is_edited_inline_and_swaps_back_to_its_row(client):
    ladder_id = await new_ladder("Inline", steps=1)
    [step_id] = await step_ids(ladder_id)
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    url = f"/staff/dunning/ladders/{ladder_id}/steps/{step_id}"

    editor = await client.get(f"{url}/edit", headers=HTMX)
    assert editor.status_code == 200 and editor.text.lstrip().startswith(f'<tr id="step-{step_id}"')
    assert shown_value(editor.text, "time_of_day") == "10:00" and "<html" not in editor.text

    wrong = await post(client, url, {**STEP, "position": "10", "name": "Call", "channel": "call", "time_of_day": "noon"}, headers=HTMX)
    assert wrong.status_code == 200  # htmx swaps 2xx only: the form stays, with its message
    assert field_error(wrong.text, "time_of_day") == "Enter a time of day from 00:00 to 23:59, e.g. 10:00."
    assert shown_value(wrong.text, "name") == "Call" and selected(wrong.text, "channel") == "call"

    saved = await post(client, url, {**STEP, "position": "10", "name": "Call", "channel": "call", "time_of_day": "12:00"}, headers=HTMX)
    assert saved.status_code == 200 and "<form" not in saved.text.split("Edit")[0]
    assert "Call" in saved.text and "day -3 at 12:00" in saved.text
    assert "Call task for the responsible person" in saved.text

    cancel = await client.get(url, headers=HTMX)
    assert f'id="step-{step_id}"' in cancel.text and 'name="time_of_day"' not in cancel.text

    plain_wrong = await post(client, url, {**STEP, "position": "10", "time_of_day": "9"})  # no htmx: the page, form open
    assert plain_wrong.status_code == 400
    assert field_error(form_html(plain_wrong.text, url), "time_of_day") == "Enter a time of day from 00:00 to 23:59, e.g. 10:00."


async def test_wording_is_edited_per_language_with_a_live_preview(client):
    ladder_id = await new_ladder("Worded", steps=1)
    [step_id] = await step_ids(ladder_id)
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    url = f"/staff/dunning/ladders/{ladder_id}/steps/{step_id}/templates"

    page = await client.get(f"{url}?language=ro")
    assert page.status_code == 200 and "{days_overdue}" in page.text and "Please pay {amount}" in page.text  # English shown for reference

    preview = await post(client, f"/staff/dunning/ladders/{ladder_id}/steps/{step_id}/preview",
                         {"language": "ro", "subject": "Factura {invoice}", "body": "Plătiți {amount} până la {due_date}. {foo}"},
                         headers=HTMX)
    assert preview.status_code == 200
    assert "Factura INV-2026-00042" in preview.text and "Plătiți 12.500,00\xa0RON până la 02.03.2026. {foo}" in preview.text
    assert "Unknown placeholder {foo}" in preview.text

    refused = await post(client, url, {"language": "ro", "subject": "Factura {invoice}", "body": "Plătiți {suma}"})
    assert refused.status_code == 400
    assert field_error(refused.text, "body").startswith("Unknown placeholder {suma}. You can use:")
    assert shown_value(refused.text, "body") == "Plătiți {suma}"

    saved = await post(client, url, {"language": "ro", "subject": "Factura {invoice}", "body": "Plătiți {amount}."})
    assert saved.status_code == 303
    step = await LadderStep.select(LadderStep.templates).where(LadderStep.id == step_id).output(load_json=True).first()
    assert step["templates"]["ro"] == {"subject": "Factura {invoice}", "body": "Plătiți {amount}."}
    assert step["templates"]["en"]["subject"] == "Invoice {invoice}"


async def test_segments_and_a_clients_own_ladder_are_chosen_in_the_pages(client):
    ladder_id = await new_ladder("Chosen")
    company = await make_client("Override Co SRL", segment="C")
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))

    assert (await post(client, "/staff/dunning/ladders/segments", {"segment": "C", "ladder_id": str(ladder_id)})).status_code == 303
    index = (await client.get("/staff/dunning/ladders")).text
    assert selected(index[index.index('id="segment-C"'):], "ladder_id") == str(ladder_id)
    detail = (await client.get(f"/staff/clients/{company}")).text
    card = client_card(detail)
    assert "Chosen" in card and "(segment C's ladder)" in card

    other = await new_ladder("Own ladder")
    response = await post(client, f"/staff/dunning/ladders/clients/{company}", {"ladder_id": str(other)})
    assert response.status_code == 303 and response.headers["location"] == f"/staff/clients/{company}#dunning-ladder"
    assert await ladders.effective_ladder_id(company) == other
    card = client_card((await client.get(f"/staff/clients/{company}")).text)
    assert "Own ladder" in card and "chosen for this client" in card and selected(card, "ladder_id") == str(other)

    await post(client, f"/staff/dunning/ladders/clients/{company}", {"ladder_id": ""})
    assert await ladders.effective_ladder_id(company) == ladder_id
    assert not await ClientLadder.exists().where(ClientLadder.client == company)
    assert (await post(client, "/staff/dunning/ladders/clients/999999", {"ladder_id": ""})).status_code == 404


# --- who may do what ------------------------------------------------------------------------

async def test_a_sales_manager_reads_ladders_but_cannot_change_them(client):
    ladder_id = await new_ladder("Read only", steps=1)
    [step_id] = await step_ids(ladder_id)
    company = await make_client()
    await login(client, await make_staff(Role.SALES_MANAGER))
    base = f"/staff/dunning/ladders/{ladder_id}"
    for url in ("/staff/dunning/ladders", base, f"{base}/steps/{step_id}/templates?language=en"):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert "<form method=\"post\" action=\"/staff/dunning/ladders" not in page.text, url  # no forms to change anything
    assert "dunning/ladders/clients" not in (await client.get(f"/staff/clients/{company}")).text
    for url, data in [
        ("/staff/dunning/ladders", {"name": "Mine"}), ("/staff/dunning/ladders/segments", {"segment": "A", "ladder_id": ""}),
        (f"/staff/dunning/ladders/clients/{company}", {"ladder_id": str(ladder_id)}), (base, {"name": "Renamed"}),
        (f"{base}/steps", STEP), (f"{base}/steps/{step_id}", {**STEP, "position": "10"}),
        (f"{base}/steps/{step_id}/move", {"direction": "down"}), (f"{base}/steps/{step_id}/retire", {}),
        (f"{base}/steps/{step_id}/templates", {"language": "en", "subject": "x", "body": "y"}),
    ]:
        assert (await post(client, url, data)).status_code == 403, url
    assert (await client.get(f"{base}/steps/{step_id}/edit")).status_code == 403
    assert await version(ladder_id) == 2 and await ClientLadder.count() == 0


async def test_admins_change_ladders_clients_get_403_and_visitors_go_to_login(client):
    ladder_id = await new_ladder("Guarded")
    assert (await client.get("/staff/dunning/ladders")).headers["location"] == "/login?next=/staff/dunning/ladders"
    assert (await client.get(f"/staff/dunning/ladders/{ladder_id}")).status_code == 303

    await login(client, await make_client_user(await make_client()))
    assert (await client.get("/staff/dunning/ladders")).status_code == 403
    assert (await client.get(f"/staff/dunning/ladders/{ladder_id}")).status_code == 403
    assert (await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", STEP)).status_code == 403

    await login(client, await make_staff(Role.ADMIN))
    assert (await post(client, f"/staff/dunning/ladders/{ladder_id}/steps", STEP)).status_code == 303
    assert (await client.get("/staff/dunning/ladders/999999")).status_code == 404
