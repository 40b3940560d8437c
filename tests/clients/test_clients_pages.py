"""The staff's clients area over HTTP (and the service behind the list): create, validate, edit,
search and page, contacts, portal users."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.auth.tables import User
from portal.clients import service
from portal.clients.tables import Client, Contact
from tests.factories import PASSWORD, login, make_client, make_client_user, make_contact, make_staff, post


def form_html(page: str, action: str) -> str:
    """The <form> of a page that posts to `action`."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {action} in the page"
    return match.group(0)


def field_html(page: str, name: str) -> str:
    """The <div class="field"> that holds the control named `name` (field divs hold no nested div).
    Pass a whole form page, or one form of it (form_html) when several forms share field names."""
    for match in re.finditer(r'<div class="field[^"]*"[^>]*>.*?</div>', page, re.S):
        if re.search(rf'<(?:input|select|textarea)[^>]*\sname="{re.escape(name)}"', match.group(0)):
            return match.group(0)
    raise AssertionError(f"no field {name!r} in the page")


def field_error(page: str, name: str) -> str | None:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', field_html(page, name), re.S)
    return html.unescape(match.group(1).strip()) if match else None


def timeline_events(page: str) -> list[str]:
    """The timeline's entries (newest first), as HTML."""
    section = page[page.index('id="timeline"'):]
    section = section[:section.index("</section>")]
    return re.findall(r"<li>(.*?)</li>", section, re.S)


def shown_value(page: str, name: str) -> str:
    """What the form shows for a field: an input's value, the selected option, the textarea text, a checkbox."""
    div = field_html(page, name)
    if "<select" in div:
        match = re.search(r'<option value="([^"]*)"\s+selected', div)
        return html.unescape(match.group(1)) if match else ""
    if "<textarea" in div:
        return html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", div, re.S).group(1))
    if 'type="checkbox"' in div:
        return "on" if re.search(r"<input[^>]*\schecked", div) else ""
    match = re.search(r'<input[^>]*\svalue="([^"]*)"', div)
    return html.unescape(match.group(1)) if match else ""


def good_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Ștefan Print SRL", "tax_id": "RO123456", "email": "billing@stefan.test", "phone": "+40 21 123 4567",
        "address": "Str. Florilor 1, București", "currency": "EUR", "payment_terms_days": "45",
        "credit_limit": "12345.67", "discount": "7.5", "service_priority": "1", "segment": "A", "privileged": "on",
        "forgiveness_days": "10", "language": "ro", "sales_manager": "", **overrides,
    }


# --- create ---------------------------------------------------------------------------------

async def test_sales_manager_creates_a_client_and_sees_it(client):
    manager = await make_staff(Role.SALES_MANAGER, name="Mihai Manager")
    await login(client, manager)
    form = good_form(sales_manager=str(manager["id"]))
    response = await post(client, "/staff/clients/new", form)
    assert response.status_code == 303, response.text
    row = await Client.select().where(Client.name == "Ștefan Print SRL").first()
    assert row is not None
    assert response.headers["location"] == f"/staff/clients/{row['id']}"
    assert row["credit_limit_minor"] == 1234567 and row["discount_bp"] == 750 and row["privileged"]
    assert row["sales_manager"] == manager["id"] and row["forgiveness_days"] == 10

    detail = await client.get(response.headers["location"])
    assert detail.status_code == 200
    text = detail.text
    assert "Ștefan Print SRL" in text
    assert "€12,345.67" in text  # the credit limit as money
    assert "7.5%" in text  # the discount as a percentage
    assert "Mihai Manager" in text
    assert "created" in text  # the flash message
    events = timeline_events(text)
    assert len(events) == 1
    assert "created" in events[0].lower() and "Mihai Manager" in events[0] and "Ștefan Print SRL" in events[0]
    assert await AuditEvent.count().where((AuditEvent.action == "client_created") & (AuditEvent.object_id == row["id"])) == 1


async def test_new_client_form_opens_for_a_sales_manager(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    page = await client.get("/staff/clients/new")
    assert page.status_code == 200
    assert shown_value(page.text, "currency") == "EUR" and shown_value(page.text, "segment") == "B"


BAD_INPUT = [
    ("name", {"name": ""}, "Enter the company's name."),
    ("email", {"email": "not-an-email"}, "This is not an email address."),
    ("payment_terms_days", {"payment_terms_days": "abc"}, "Enter a number of days from 0 to 365."),
    ("credit_limit", {"credit_limit": "12,345.678"}, "Enter an amount such as 15,000.50."),
    ("discount", {"discount": "150"}, "Enter a percentage from 0 to 100, e.g. 5 or 7.5."),
    ("forgiveness_days", {"privileged": "", "forgiveness_days": "10"}, "Only privileged clients are forgiven days of delay."),
    ("sales_manager", {"sales_manager": "999999"}, "Choose one of the sales managers."),
    ("currency", {"currency": "XYZ"}, "Choose a currency."),
]


@pytest.mark.parametrize("field,overrides,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(client, field, overrides, message):
    manager = await make_staff(Role.SALES_MANAGER)
    await login(client, manager)
    before = await Client.count()
    form = good_form(**overrides)
    response = await post(client, "/staff/clients/new", form)
    assert response.status_code == 400
    assert field_error(response.text, field) == message
    others = [name for name in form if name != field and field_error(response.text, name)]
    assert not others, f"unexpected errors on {others}"
    for name, typed in form.items():
        if name == "currency" and typed not in ("EUR", "RON", "UAH", "BGN", "HUF", "USD"):
            continue  # a select cannot show a value it has no option for
        if name == "sales_manager" and typed == "999999":
            continue
        assert shown_value(response.text, name) == typed, f"{name}: typed {typed!r}, shown {shown_value(response.text, name)!r}"
    assert await Client.count() == before


async def test_inline_validation_returns_only_the_field(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    response = await post(client, "/staff/clients/validate", good_form(email="nope@"),
                          headers={"hx-request": "true", "hx-trigger-name": "email"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="field-email"' in response.text
    assert "This is not an email address." in response.text
    assert 'id="field-name"' not in response.text
    assert 'value="nope@"' in response.text

    fine = await post(client, "/staff/clients/validate", good_form(), headers={"hx-request": "true", "hx-trigger-name": "email"})
    assert fine.status_code == 200 and 'class="error"' not in fine.text and "<html" not in fine.text
    assert await Client.count() == 0  # validating saves nothing


# --- edit ---------------------------------------------------------------------------------------

async def test_editing_changes_the_client_and_audits_only_the_changed_field(client):
    await login(client, await make_staff(Role.CREDIT_CONTROLLER, name="Cristina Credit"))
    client_id = await make_client("Delta Boxes SRL", email="office@delta.test", payment_terms_days="30")
    edit = await client.get(f"/staff/clients/{client_id}/edit")
    assert edit.status_code == 200
    current = service.client_form_values(await service.get_client(client_id))
    for name, value in current.items():
        assert shown_value(edit.text, name) == value, name

    response = await post(client, f"/staff/clients/{client_id}/edit", {**current, "payment_terms_days": "60"})
    assert response.status_code == 303 and response.headers["location"] == f"/staff/clients/{client_id}"
    assert (await service.get_client(client_id))["payment_terms_days"] == 60

    events = await AuditEvent.select().where(AuditEvent.action == "client_updated").output(load_json=True)
    assert len(events) == 1
    assert events[0]["before"] == {"payment_terms_days": 30} and events[0]["after"] == {"payment_terms_days": 60}
    assert events[0]["actor_label"] == "Cristina Credit"

    detail = (await client.get(f"/staff/clients/{client_id}")).text
    events = timeline_events(detail)
    assert len(events) == 2 and "created" in events[1].lower()
    updated = events[0]  # newest first
    assert "Cristina Credit" in updated
    assert len(re.findall(r"<dt>", updated)) == 1, "the update lists fields that did not change"
    assert re.search(r"<dt>\s*Payment terms \(days\)\s*</dt>", updated)
    assert re.search(r"<del>\s*30\s*</del>\s*→\s*60", updated)


async def test_saving_an_unchanged_client_records_nothing(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Echo Labels SRL", privileged="on", forgiveness_days="5", email="a@echo.test")
    current = service.client_form_values(await service.get_client(client_id))
    response = await post(client, f"/staff/clients/{client_id}/edit", current)
    assert response.status_code == 303
    assert await AuditEvent.count().where(AuditEvent.action == "client_updated") == 0


async def test_bad_edit_is_refused_and_keeps_the_stored_client(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Foxtrot Foils SRL")
    current = service.client_form_values(await service.get_client(client_id))
    response = await post(client, f"/staff/clients/{client_id}/edit", {**current, "discount": "101", "name": "Renamed"})
    assert response.status_code == 400
    assert field_error(response.text, "discount")
    assert shown_value(response.text, "name") == "Renamed"
    assert (await service.get_client(client_id))["name"] == "Foxtrot Foils SRL"


# --- search and keyset pagination -----------------------------------------------------------------

def _names(n: int) -> list[str]:
    # groups of three identical names (the id breaks the tie), in mixed case (the order ignores case)
    return [f"{'client' if i % 2 else 'Client'} {i // 3:02d} SRL" for i in range(n)]


async def _create_many(names: list[str]) -> list[int]:
    ids = []
    for name in names:
        client_id, checked = await service.create_client(
            {"name": name, "currency": "RON", "payment_terms_days": "30", "credit_limit": "1000", "discount": "0",
             "service_priority": "2", "segment": "B", "forgiveness_days": "0", "language": "en"}, Actor.system())
        assert client_id, checked.errors
        ids.append(client_id)
    return ids


async def test_the_list_pages_through_every_client_once_in_name_order(client):
    names = _names(60)
    ids = await _create_many(names)
    expected = [i for _, i in sorted(zip((n.casefold() for n in names), ids, strict=True))]
    await login(client, await make_staff(Role.DESIGNER))

    seen: list[int] = []
    sizes: list[int] = []
    url = "/staff/clients"
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        table = page.text[page.text.index('id="client-list"'):]
        found = [int(x) for x in re.findall(r'<a href="/staff/clients/(\d+)" class="strong">', table)]
        sizes.append(len(found))
        seen.extend(found)
        nxt = re.search(r'<a class="btn" href="([^"]+)">Next page', table)
        url = html.unescape(nxt.group(1)) if nxt else None
        assert len(sizes) < 10, "the pager never ends"
    assert sizes == [25, 25, 10]
    assert seen == expected


async def _listed_pages(client, url: str) -> list[int]:
    seen: list[int] = []
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        table = page.text[page.text.index('id="client-list"'):]
        seen += [int(x) for x in re.findall(r'<a href="/staff/clients/(\d+)" class="strong">', table)]
        nxt = re.search(r'<a class="btn" href="([^"]+)">Next page', table)
        url = html.unescape(nxt.group(1)) if nxt else None
    return seen


async def test_the_list_sorts_by_credit_limit_downwards_across_pages_and_keeps_the_filter(client):
    ids = []
    for n in range(55):  # limits repeat: ties go by id
        client_id, checked = await service.create_client(
            {"name": f"Firm {n:02d} SRL", "currency": "RON", "payment_terms_days": str(15 + n % 4 * 15), "credit_limit": str(1000 * (n % 5)),
             "discount": "0", "service_priority": "2", "segment": "A" if n % 2 else "B", "forgiveness_days": "0", "language": "en"},
            Actor.system())
        assert client_id, checked.errors
        ids.append((1000 * (n % 5), n % 2, client_id))
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    by_limit = [i for _, _, i in sorted(ids, key=lambda t: (t[0], t[2]), reverse=True)]
    assert await _listed_pages(client, "/staff/clients?sort=-limit") == by_limit
    segment_a = [i for limit, odd, i in sorted(ids, key=lambda t: (t[0], t[2])) if odd]
    assert await _listed_pages(client, "/staff/clients?segment=A&sort=limit") == segment_a
    page = (await client.get("/staff/clients?sort=-limit")).text
    assert 'aria-sort="descending"><a class="sort-link" href="/staff/clients?q=&amp;segment=&amp;sort=limit">Credit limit' in page
    assert 'name="sort" value="-limit"' in page


async def test_the_next_page_link_keeps_the_search(client):
    names = _names(60)
    ids = await _create_many(names)
    await _create_many(["Other Company SRL"])
    # "client 1" matches "Client 10 SRL" .. "Client 19 SRL": 30 clients
    expected = [i for n, i in sorted(zip((n.casefold() for n in names), ids, strict=True)) if n.startswith("client 1")]
    assert len(expected) == 30
    await login(client, await make_staff(Role.SALES_MANAGER))
    first = await client.get("/staff/clients", params={"q": "CLIENT 1"})
    found = [int(x) for x in re.findall(r'<a href="/staff/clients/(\d+)" class="strong">', first.text)]
    nxt = re.search(r'<a class="btn" href="([^"]+)">Next page', first.text)
    assert nxt, "no Next page link"
    second = await client.get(html.unescape(nxt.group(1)))
    found += [int(x) for x in re.findall(r'<a href="/staff/clients/(\d+)" class="strong">', second.text)]
    assert found == expected
    assert "Next page" not in second.text and "First page" in second.text


async def test_the_service_pages_through_every_client_once(db):
    ids = await _create_many(_names(60))
    seen, cursor, pages = [], None, 0
    while True:
        result = await service.list_clients(cursor=cursor)
        assert len(result.rows) == (25 if pages < 2 else 10)
        assert result.is_first == (pages == 0)
        seen.extend(r["id"] for r in result.rows)
        pages += 1
        cursor = result.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == 60
    folded = [(r.casefold(), i) for r, i in zip([n for n in _names(60)], ids, strict=True)]
    assert seen == [i for _, i in sorted(folded)]


async def test_search_narrows_the_list_case_insensitively(client):
    await _create_many(["Ștefan Print SRL", "Stefan Ambalaje SRL", "Alpha Cartons SRL", "ÁRPÁD Nyomda Kft", "Беркут Пак ТОВ"])
    await login(client, await make_staff(Role.SALES_MANAGER))

    async def names_for(q: str) -> list[str]:
        result = await service.list_clients(search=q)
        return sorted(r["name"] for r in result.rows)

    assert await names_for("ștefan") == ["Ștefan Print SRL"]
    assert await names_for("ȘTEFAN") == ["Ștefan Print SRL"]
    assert await names_for("stefan") == ["Stefan Ambalaje SRL"]
    assert await names_for("ALPHA") == ["Alpha Cartons SRL"]
    assert await names_for("árpád") == ["ÁRPÁD Nyomda Kft"]
    assert await names_for("беркут") == ["Беркут Пак ТОВ"]
    assert await names_for("srl") == ["Alpha Cartons SRL", "Stefan Ambalaje SRL", "Ștefan Print SRL"]
    assert await names_for("nothing like this") == []
    assert await names_for("100%") == []  # LIKE wildcards are not wildcards

    page = await client.get("/staff/clients", params={"q": "ștefan"})
    assert page.status_code == 200
    assert "Ștefan Print SRL" in page.text and "Alpha Cartons" not in page.text and "Stefan Ambalaje" not in page.text

    partial = await client.get("/staff/clients", params={"q": "alpha"}, headers={"hx-request": "true", "hx-target": "client-list"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "Alpha Cartons SRL" in partial.text and "Ștefan Print" not in partial.text

    empty = await client.get("/staff/clients", params={"q": "zzz"})
    assert "No client matches these filters." in empty.text


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MALFORMED_CURSORS = {
    "garbage": "!!!not-a-cursor!!!",
    "not-json": _cursor("hello"),
    "json-object": _cursor(json.dumps({"a": 1})),
    "wrong-arity": _cursor(json.dumps(["client 00 srl"])),
    "non-ascii": "ăîșț",
    "unicode-digit-id": _cursor(json.dumps(["client 00 srl", "²"])),
    "huge-id": _cursor(json.dumps(["client 00 srl", "9" * 30])),
    "deep-nesting": _cursor("[" * 5000),
}


@pytest.mark.parametrize("name", list(MALFORMED_CURSORS))
async def test_a_malformed_cursor_gives_the_first_page(client, name):
    ids = await _create_many(_names(30))
    await login(client, await make_staff(Role.SALES_MANAGER))
    page = await client.get("/staff/clients", params={"cursor": MALFORMED_CURSORS[name]})
    assert page.status_code == 200, f"cursor {name}: {page.status_code}"
    found = [int(x) for x in re.findall(r'<a href="/staff/clients/(\d+)" class="strong">', page.text)]
    assert found[:3] == ids[:3] and len(found) == 25
    assert "First page" not in page.text


# --- contacts -----------------------------------------------------------------------------------

async def test_a_contact_needs_an_email_or_a_phone(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Golf Graphics SRL")
    response = await post(client, f"/staff/clients/{client_id}/contacts", {"name": "Ion Ionescu", "position": "Buyer", "email": "", "phone": ""})
    assert response.status_code == 400
    form = form_html(response.text, f"/staff/clients/{client_id}/contacts")
    assert field_error(form, "email") == "Give an email address or a phone number."
    assert shown_value(form, "name") == "Ion Ionescu" and shown_value(form, "position") == "Buyer"
    assert await Contact.count() == 0


async def test_a_new_primary_contact_replaces_the_previous_primary(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Hotel Hangers SRL")
    other = await make_client("India Inks SRL")
    first = await make_contact(client_id, "First Primary")
    others_primary = await make_contact(other, "Other Primary")
    response = await post(client, f"/staff/clients/{client_id}/contacts",
                          {"name": "New Primary", "email": "new@hotel.test", "phone": "", "is_primary": "on"})
    assert response.status_code == 303 and response.headers["location"] == f"/staff/clients/{client_id}#contacts"
    rows = {r["name"]: r for r in await Contact.select().where(Contact.client == client_id)}
    assert rows["New Primary"]["is_primary"] is True
    assert rows["First Primary"]["is_primary"] is False
    assert (await Contact.select(Contact.is_primary).where(Contact.id == others_primary).first())["is_primary"] is True
    assert first in {r["id"] for r in rows.values()}


async def test_removing_another_clients_contact_is_a_404_and_deletes_nothing(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    a = await make_client("Juliet Jars SRL")
    b = await make_client("Kilo Kraft SRL")
    contact_of_b = await make_contact(b, "Contact of B")
    before = await Contact.count()
    response = await post(client, f"/staff/clients/{a}/contacts/{contact_of_b}/delete")
    assert response.status_code == 404 and "We could not find that page." in response.text
    assert await Contact.count() == before
    assert await Contact.exists().where(Contact.id == contact_of_b)

    own = await make_contact(a, "Contact of A")
    removed = await post(client, f"/staff/clients/{a}/contacts/{own}/delete")
    assert removed.status_code == 303
    assert not await Contact.exists().where(Contact.id == own)


# --- portal users -----------------------------------------------------------------------------

async def test_portal_user_password_must_be_long_enough(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Lima Labels SRL")
    response = await post(client, f"/staff/clients/{client_id}/users", {"name": "Lia", "email": "lia@lima.test", "password": "short"})
    assert response.status_code == 400
    form = form_html(response.text, f"/staff/clients/{client_id}/users")
    assert field_error(form, "password") == "Use at least 10 characters."
    assert shown_value(form, "email") == "lia@lima.test" and shown_value(form, "name") == "Lia"
    assert shown_value(form, "password") == ""  # never sent back
    assert not await User.exists().where(User.email == "lia@lima.test")


async def test_portal_user_email_must_be_free(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("Mike Mailers SRL")
    taken = await make_client_user(client_id, email="taken@mike.test")
    response = await post(client, f"/staff/clients/{client_id}/users", {"name": "Other", "email": "TAKEN@mike.test", "password": PASSWORD})
    assert response.status_code == 400
    form = form_html(response.text, f"/staff/clients/{client_id}/users")
    assert field_error(form, "email") == "Somebody already logs in with this email address."
    assert await User.count().where(User.email == taken["email"]) == 1


async def test_giving_access_lets_the_user_log_in_to_their_company(client):
    await login(client, await make_staff(Role.SALES_MANAGER))
    client_id = await make_client("November Notebooks SRL")
    await make_client("Oscar Other SRL")
    response = await post(client, f"/staff/clients/{client_id}/users", {"name": "Nora Buyer", "email": "Nora@November.test", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == f"/staff/clients/{client_id}#portal-users"
    detail = await client.get(f"/staff/clients/{client_id}")
    assert "nora@november.test" in detail.text
    user = await User.select().where(User.email == "nora@november.test").first()
    assert user["kind"] == "client" and user["client"] == client_id and user["role"] == "client"

    await login(client, {"email": "nora@november.test", "password": PASSWORD})
    home = await client.get("/client")
    assert home.status_code == 200
    assert "November Notebooks SRL" in home.text and "Oscar Other" not in home.text
    assert (await client.get("/staff")).status_code == 403
