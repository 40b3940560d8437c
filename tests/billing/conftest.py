"""Fixtures of the billing tests: the Stripe stand-in (tests/billing/stripe_standin.py), settings
that point the portal at it, and a client of the app built from them."""

from __future__ import annotations

import pytest

from tests.billing.stripe_standin import BASE_URL, SECRET_KEY, WEBHOOK_SECRET, StripeStandIn


@pytest.fixture
def standin():
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_settings(database_url, tmp_path, standin):
    from portal.settings import load_settings
    from tests.conftest import TEST_SECRET

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0", "BASE_URL": BASE_URL,
        "STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": standin.url,
        "FIRM_BANK_DETAILS": "IBAN RO49 AAAA 1B31 0075 9384 0000, Banca Test",
    })


@pytest.fixture
async def stripe_app(stripe_settings):
    from portal.app import create_app

    return create_app(stripe_settings)


@pytest.fixture
async def http(stripe_app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=stripe_app, base_url="http://testserver.local") as test_client:
        test_client.follow_redirects = False
        yield test_client
