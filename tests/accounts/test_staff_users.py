"""Admins manage staff accounts: create each role, change roles (audited), deactivate, reset passwords."""

from __future__ import annotations

import html
import re

import pytest
from litestar.testing import AsyncTestClient

from portal.audit.tables import AuditEvent
from portal.auth.roles import STAFF_ROLES, Role
from portal.auth.tables import Session, User
from tests.factories import PASSWORD, login, make_staff, post


def error_of(page: str, name: str) -> str | None:
    """The message beside the field holding the control `name` (field divs hold no nested div)."""
    for match in re.finditer(r'<div class="field[^"]*"[^>]*>.*?</div>', page, re.S):
        if re.search(rf'<(?:input|select|textarea)[^>]*\sname="{name}"', match.group(0)):
            error = re.search(r'<p class="error"[^>]*>(.*?)</p>', match.group(0), re.S)
            return html.unescape(error.group(1).strip()) if error else None
    raise AssertionError(f"no field {name!r} in the page")


def edit_form(user: dict, **overrides: str) -> dict[str, str]:
    return {"name": user["name"], "role": user["role"], "language": user["language"],
            "is_legal": "on" if user["is_legal"] else "", "is_active": "on" if user["is_active"] else "", **overrides}


async def stored(user_id: int) -> dict:
    return await User.select().where(User.id == user_id).first()


@pytest.fixture
async def admin(client):
    admin = await make_staff(Role.ADMIN, name="Ana Admin")
    await login(client, admin)
    return admin


@pytest.mark.parametrize("role", STAFF_ROLES, ids=lambda r: r.value)
async def test_admin_creates_a_staff_user_of_each_role(client, admin, role):
    email = f"new.{role.value}@firm.test"
    response = await post(client, "/staff/users/new", {"name": f"New {role.value}", "email": email.upper(),
                                                        "password": PASSWORD, "role": role.value, "language": "ro"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/staff/users"
    user = await User.select().where(User.email == email).first()
    assert user is not None
    assert (user["kind"], user["role"], user["language"], user["is_active"], user["client"]) == ("staff", role.value, "ro", True, None)
    listing = await client.get("/staff/users")
    assert email in listing.text
    event = await AuditEvent.select().where((AuditEvent.action == "user_created") & (AuditEvent.object_id == user["id"])).first()
    assert event is not None and event["actor"] == admin["id"]

    # and the new user can log in to the staff side
    await login(client, {"email": email, "password": PASSWORD})
    assert (await client.get("/staff")).status_code == 200


async def test_a_staff_user_cannot_be_created_as_a_client_or_unknown_role(client, admin):
    for role in ("client", "wizard", ""):
        response = await post(client, "/staff/users/new",
                              {"name": "X", "email": f"x{role}@firm.test", "password": PASSWORD, "role": role, "language": "en"})
        assert response.status_code == 400, role
        assert error_of(response.text, "role") == "Choose a role."
    assert await User.count() == 1


async def test_changing_a_role_is_audited(client, admin):
    designer = await make_staff(Role.DESIGNER, name="Dan Designer")
    user = await stored(designer["id"])
    response = await post(client, f"/staff/users/{designer['id']}", edit_form(user, role=Role.SPEC_COORDINATOR.value))
    assert response.status_code == 303 and response.headers["location"] == "/staff/users"
    assert (await stored(designer["id"]))["role"] == "spec_coordinator"
    events = await AuditEvent.select().where(
        (AuditEvent.action == "user_updated") & (AuditEvent.object_id == designer["id"])
    ).output(load_json=True)
    assert len(events) == 1
    assert events[0]["before"] == {"role": "designer"} and events[0]["after"] == {"role": "spec_coordinator"}
    assert events[0]["actor"] == admin["id"] and events[0]["actor_label"] == "Ana Admin"


async def test_deactivating_a_user_ends_their_sessions(app, client, admin):
    victim = await make_staff(Role.SALES_MANAGER)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as other:
        other.follow_redirects = False
        await login(other, victim)
        assert (await other.get("/staff")).status_code == 200

        user = await stored(victim["id"])
        response = await post(client, f"/staff/users/{victim['id']}", edit_form(user, is_active=""))
        assert response.status_code == 303
        assert (await stored(victim["id"]))["is_active"] is False
        assert await Session.count().where(Session.user == victim["id"]) == 0

        after = await other.get("/staff/clients")
        assert after.status_code == 303 and after.headers["location"].startswith("/login")
        # and they cannot log back in
        token = other.cookies.get("portal_csrf")
        refused = await other.post("/login", data={"email": victim["email"], "password": PASSWORD, "_csrf_token": token})
        assert refused.status_code == 400
    assert (await client.get("/staff/users")).status_code == 200  # the admin's own session is untouched


async def test_an_admin_cannot_remove_their_own_admin_role(client, admin):
    me = await stored(admin["id"])
    response = await post(client, f"/staff/users/{admin['id']}", edit_form(me, role=Role.SALES_MANAGER.value))
    assert response.status_code == 400
    assert error_of(response.text, "role") == "You cannot remove your own admin rights or deactivate yourself."
    assert (await stored(admin["id"]))["role"] == "admin"

    response = await post(client, f"/staff/users/{admin['id']}", edit_form(me, is_active=""))
    assert response.status_code == 400
    assert (await stored(admin["id"]))["is_active"] is True
    assert await AuditEvent.count().where(AuditEvent.action == "user_updated") == 0
    assert (await client.get("/staff/users")).status_code == 200


async def test_password_reset_refuses_mismatched_passwords(client, admin):
    other = await make_staff(Role.DESIGNER)
    before = (await stored(other["id"]))["password_hash"]
    response = await post(client, f"/staff/users/{other['id']}/password",
                          {"password": "a brand new password", "password_confirm": "a different password"})
    assert response.status_code == 400
    assert "The two passwords differ." in response.text
    assert (await stored(other["id"]))["password_hash"] == before

    short = await post(client, f"/staff/users/{other['id']}/password", {"password": "short", "password_confirm": "short"})
    assert short.status_code == 400 and "Use at least 10 characters." in short.text

    ok = await post(client, f"/staff/users/{other['id']}/password",
                    {"password": "a brand new password", "password_confirm": "a brand new password"})
    assert ok.status_code == 303
    assert (await stored(other["id"]))["password_hash"] != before
    assert await AuditEvent.count().where((AuditEvent.action == "password_set") & (AuditEvent.object_id == other["id"])) == 1
    await login(client, {"email": other["email"], "password": "a brand new password"})


async def test_a_negotiator_can_be_a_lawyer_but_a_designer_cannot(client, admin):
    response = await post(client, "/staff/users/new", {"name": "Laszlo Lawyer", "email": "laszlo@firm.test", "password": PASSWORD,
                                                        "role": "negotiator", "is_legal": "on", "language": "hu"})
    assert response.status_code == 303
    assert (await User.select(User.is_legal).where(User.email == "laszlo@firm.test").first())["is_legal"] is True

    refused = await post(client, "/staff/users/new", {"name": "Dan Designer", "email": "dan@firm.test", "password": PASSWORD,
                                                       "role": "designer", "is_legal": "on", "language": "en"})
    assert refused.status_code == 400
    assert error_of(refused.text, "is_legal") == "Only negotiators can be lawyers."
    assert not await User.exists().where(User.email == "dan@firm.test")

    # the same rule when editing
    designer = await make_staff(Role.DESIGNER)
    user = await stored(designer["id"])
    edited = await post(client, f"/staff/users/{designer['id']}", edit_form(user, is_legal="on"))
    assert edited.status_code == 400
    assert error_of(edited.text, "is_legal") == "Only negotiators can be lawyers."
    assert (await stored(designer["id"]))["is_legal"] is False

    negotiator = await make_staff(Role.NEGOTIATOR)
    user = await stored(negotiator["id"])
    flagged = await post(client, f"/staff/users/{negotiator['id']}", edit_form(user, is_legal="on"))
    assert flagged.status_code == 303
    assert (await stored(negotiator["id"]))["is_legal"] is True


async def test_missing_staff_user_is_a_404(client, admin):
    page = await client.get("/staff/users/999999")
    assert page.status_code == 404 and "We could not find that page." in page.text


async def test_client_users_are_not_managed_here(client, admin):
    from tests.factories import make_client, make_client_user

    buyer = await make_client_user(await make_client("Quebec Quills SRL"))
    before = await stored(buyer["id"])
    assert (await client.get(f"/staff/users/{buyer['id']}")).status_code == 404
    edited = await post(client, f"/staff/users/{buyer['id']}", {"name": "Hijacked", "role": "admin", "language": "en", "is_active": "on"})
    assert edited.status_code == 404
    reset = await post(client, f"/staff/users/{buyer['id']}/password",
                       {"password": "a brand new password", "password_confirm": "a brand new password"})
    assert reset.status_code == 404
    assert await stored(buyer["id"]) == before
    assert buyer["email"] not in (await client.get("/staff/users")).text


async def test_a_role_change_applies_to_the_users_open_session(app, client, admin):
    manager = await make_staff(Role.SALES_MANAGER)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as other:
        other.follow_redirects = False
        await login(other, manager)
        assert (await other.get("/staff/clients/new")).status_code == 200
        user = await stored(manager["id"])
        response = await post(client, f"/staff/users/{manager['id']}", edit_form(user, role=Role.DESIGNER.value))
        assert response.status_code == 303
        assert (await other.get("/staff/clients/new")).status_code == 403
        assert (await other.get("/staff/clients")).status_code == 200
