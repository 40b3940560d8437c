"""Building blocks for tests: real rows through the real services, and logging in over HTTP."""

from __future__ import annotations

import itertools

from portal.accounts.service import create_user
from portal.audit.service import Actor
from portal.auth.roles import Kind, Role
from portal.clients import service as clients
from portal.clients.tables import Contact
from portal.clock import utcnow

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


async def make_staff(role: Role = Role.ADMIN, *, email: str | None = None, name: str | None = None, is_legal: bool = False) -> dict:
    n = next(_seq)
    email = email or f"{role.value}{n}@firm.test"
    user_id = await create_user(
        email=email, name=name or f"{role.value.replace('_', ' ').title()} {n}", password=PASSWORD,
        kind=Kind.STAFF, role=role, is_legal=is_legal, actor=Actor.system(),
    )
    return {"id": user_id, "email": email, "password": PASSWORD}


async def make_client(name: str | None = None, **fields: str) -> int:
    form = {
        "name": name or f"Client {next(_seq)} SRL", "currency": "RON", "payment_terms_days": "30",
        "credit_limit": "10000", "discount": "5", "service_priority": "2", "segment": "B",
        "forgiveness_days": "0", "language": "en", **fields,
    }
    client_id, checked = await clients.create_client(form, Actor.system())
    assert client_id, checked.errors
    return client_id


async def make_client_user(client_id: int, *, email: str | None = None) -> dict:
    email = email or f"buyer{next(_seq)}@client.test"
    user_id = await create_user(
        email=email, name="Client Buyer", password=PASSWORD, kind=Kind.CLIENT, role=Role.CLIENT,
        client_id=client_id, actor=Actor.system(),
    )
    return {"id": user_id, "email": email, "password": PASSWORD, "client_id": client_id}


async def make_contact(client_id: int, name: str = "Maria Popescu") -> int:
    contact = Contact(client=client_id, name=name, email="maria@client.test", is_primary=True, created_at=utcnow())
    await contact.save()
    return contact.id


async def csrf_token(client) -> str:
    if "portal_csrf" not in client.cookies:
        await client.get("/login")
    return client.cookies["portal_csrf"]


async def login(client, user: dict) -> None:
    token = await csrf_token(client)
    response = await client.post("/login", data={"email": user["email"], "password": user["password"], "_csrf_token": token})
    assert response.status_code == 303, response.text
    assert "portal_session" in client.cookies


async def post(client, path: str, data: dict | None = None, **kwargs):
    """A form post with the CSRF token, as the browser sends it."""
    token = await csrf_token(client)
    return await client.post(path, data={**(data or {}), "_csrf_token": token}, **kwargs)
