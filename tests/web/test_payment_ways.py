"""A portal where clients cannot pay says so: in the log at start-up and to admins on every
staff page, and a client's invoice tells it whom to ask. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging

from litestar.testing import AsyncTestClient

from portal.app import NO_WAY_TO_PAY, create_app
from portal.auth.roles import Role
from tests.billing.test_client_invoices import issue
from tests.factories import login, make_client, make_client_user, make_staff

BANNER = 'id="no-way-to-pay"'


async def _staff_home(app, user: dict) -> str:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        http.follow_redirects = False
        await login(http, user)
        return (await http.get("/staff/invoices")).text


async def test_with_neither_stripe_nor_bank_details_the_log_and_the_admins_are_told(settings, db, caplog):
    with caplog.at_level(logging.WARNING, logger="portal"):
        app = create_app(settings)
    assert NO_WAY_TO_PAY in caplog.text
    assert BANNER in await _staff_home(app, await make_staff(Role.ADMIN))
    assert BANNER not in await _staff_home(app, await make_staff(Role.SALES_MANAGER))


async def test_bank_details_alone_are_a_way_to_pay(settings, db, caplog):
    with caplog.at_level(logging.WARNING, logger="portal"):
        app = create_app(dataclasses.replace(settings, bank_details="IBAN RO49 AAAA 1B31 0075 9384 0000"))
    assert NO_WAY_TO_PAY not in caplog.text
    assert BANNER not in await _staff_home(app, await make_staff(Role.ADMIN))


async def test_stripe_alone_is_a_way_to_pay(settings, db):
    app = create_app(dataclasses.replace(settings, stripe_secret_key="sk_test_123"))
    assert BANNER not in await _staff_home(app, await make_staff(Role.ADMIN))


async def test_a_client_invoice_without_a_way_to_pay_says_whom_to_ask(client):
    company = await make_client("Tipo Print SRL")
    invoice = await issue(company, 10_000)
    await login(client, await make_client_user(company))
    page = (await client.get(f"/client/invoices/{invoice['id']}")).text
    assert "Your account manager will give you our bank details." in page
