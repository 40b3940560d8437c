import datetime as dt

from portal.auth import passwords
from portal.auth.roles import Role
from portal.auth.tables import Session, User
from tests.factories import PASSWORD, csrf_token, login, make_client, make_client_user, make_staff, post


async def test_staff_login_lands_on_dashboard_and_logout_ends_the_session(client):
    admin = await make_staff(Role.ADMIN, name="Ana Admin")
    await login(client, admin)
    page = await client.get("/staff")
    assert page.status_code == 200
    assert "Ana" in page.text and "Dashboard" in page.text
    token = client.cookies["portal_session"]
    assert await Session.count() == 1

    response = await post(client, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert await Session.count() == 0
    # the old cookie is useless even if replayed
    client.cookies.set("portal_session", token)
    assert (await client.get("/staff")).status_code == 303


async def test_client_login_lands_on_client_home(client):
    company = await make_client("Carpatia Print SRL")
    buyer = await make_client_user(company)
    token = await csrf_token(client)
    response = await client.post("/login", data={"email": buyer["email"].upper(), "password": PASSWORD, "_csrf_token": token})
    assert response.headers["location"] == "/client"
    home = await client.get("/client")
    assert "Carpatia Print SRL" in home.text


async def test_wrong_password_says_so_and_keeps_the_email(client):
    admin = await make_staff()
    token = await csrf_token(client)
    response = await client.post("/login", data={"email": admin["email"], "password": "wrong", "_csrf_token": token})
    assert response.status_code == 400
    assert "not right" in response.text
    assert f'value="{admin["email"]}"' in response.text
    assert "portal_session" not in client.cookies


async def test_repeated_failures_lock_the_account_with_a_clear_message(client, settings):
    admin = await make_staff()
    token = await csrf_token(client)
    for _ in range(settings.login_max_failures):
        await client.post("/login", data={"email": admin["email"], "password": "nope", "_csrf_token": token})
    response = await client.post("/login", data={"email": admin["email"], "password": PASSWORD, "_csrf_token": token})
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in 15 minutes." in response.text


async def test_session_id_is_rotated_at_login(client):
    admin = await make_staff()
    await login(client, admin)
    first = client.cookies["portal_session"]
    await login(client, admin)
    second = client.cookies["portal_session"]
    assert first != second
    assert await Session.count() == 1  # the earlier session was ended, not left behind


async def test_idle_session_expires(client, settings):
    admin = await make_staff()
    await login(client, admin)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.session_idle_minutes + 1)
    await Session.update({Session.last_seen_at: long_ago}).where(Session.id > 0)
    response = await client.get("/staff")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert await Session.count() == 0


async def test_login_rehashes_a_password_hashed_with_weaker_parameters(client):
    from argon2 import PasswordHasher

    admin = await make_staff()
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await User.update({User.password_hash: weak}).where(User.id == admin["id"])
    await login(client, admin)
    stored = await User.select(User.password_hash).where(User.id == admin["id"]).first()
    assert stored["password_hash"] != weak
    assert "m=19456,t=2,p=1" in stored["password_hash"] and stored["password_hash"].startswith("$argon2id$")
    assert not passwords.needs_rehash(stored["password_hash"])


async def test_next_parameter_only_redirects_locally(client):
    admin = await make_staff()
    token = await csrf_token(client)
    response = await client.post("/login", data={"email": admin["email"], "password": PASSWORD, "next": "//evil.example/x", "_csrf_token": token})
    assert response.headers["location"] == "/staff"
    await post(client, "/logout")
    token = await csrf_token(client)
    response = await client.post("/login", data={"email": admin["email"], "password": PASSWORD, "next": "/staff/clients", "_csrf_token": token})
    assert response.headers["location"] == "/staff/clients"


async def test_healthz_reports_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
