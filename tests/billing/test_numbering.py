"""Invoice numbers per series and year: gapless and unique, also when many are issued at once."""

import asyncio
import datetime as dt

import pytest

from portal import db as portal_db
from portal.audit.service import Actor
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.billing.tables import Invoice
from tests.factories import make_client

ISSUE_DATE = dt.date(2026, 3, 2)


async def issue(client_id: int, *, series: str = "INV", issue_date: dt.date = ISSUE_DATE) -> dict:
    return await billing.issue_invoice(
        client_id=client_id, currency="RON", lines=[Line("Folding boxes", 10, 1250, 1900)], issue_date=issue_date,
        terms_days=30, order_id=None, actor=Actor.system(), series=series,
    )


async def test_forty_invoices_issued_at_the_same_moment_are_numbered_1_to_40(db):
    """Each task issues in its own transaction (on PostgreSQL each on its own pooled connection;
    SQLite's IMMEDIATE transactions queue for the write lock): no gap, no duplicate."""
    company = await make_client()
    async with portal_db.pool(db, 10):
        issued = await asyncio.gather(*(issue(company) for _ in range(40)))
    numbers = sorted(invoice["number"] for invoice in issued)
    assert numbers == list(range(1, 41))
    codes = {row["code"] for row in await Invoice.select(Invoice.code)}
    assert codes == {f"INV-2026-{n:05d}" for n in range(1, 41)}


async def test_a_failed_issue_leaves_no_gap(db):
    company = await make_client()
    await issue(company)
    with pytest.raises(RuntimeError):
        async with portal_db.transaction():
            await issue(company)  # numbered 2 inside the outer transaction ...
            raise RuntimeError("the rest of the use case failed")  # ... which rolls back
    assert (await issue(company))["number"] == 2


async def test_each_series_and_year_counts_on_its_own(db):
    company = await make_client()
    assert (await issue(company))["code"] == "INV-2026-00001"
    assert (await issue(company, issue_date=dt.date(2027, 1, 4)))["code"] == "INV-2027-00001"
    assert (await issue(company, series="CN"))["code"] == "CN-2026-00001"
    assert (await issue(company))["code"] == "INV-2026-00002"
