"""A use case that failed half-way on a pooled PostgreSQL connection never leaks into the next one
on that connection (the pool exists on PostgreSQL only)."""

from __future__ import annotations

import asyncpg
import pytest

from portal import db as portal_db
from portal.auth.roles import Role
from portal.auth.tables import User
from tests.factories import make_staff


async def test_a_failed_transaction_leaves_nothing_on_the_pooled_connection(pg_url):
    engine = portal_db.bind(portal_db.engine_for(pg_url))
    async with portal_db.pool(engine, 1):  # one connection: the next query gets the same one
        staff = await make_staff(Role.ADMIN, name="Before")
        with pytest.raises(RuntimeError):
            async with portal_db.transaction():
                await User.update({User.name: "Half-way"}).where(User.id == staff["id"])
                raise RuntimeError("the use case fails")
        assert (await User.select(User.name).where(User.id == staff["id"]).first())["name"] == "Before"
        async with portal_db.transaction():
            await User.update({User.name: "After"}).where(User.id == staff["id"])
    # committed for everyone: the pooled connection was not still inside the failed transaction
    other = await asyncpg.connect(pg_url)
    try:
        assert await other.fetchval("SELECT name FROM users WHERE id = $1", staff["id"]) == "After"
    finally:
        await other.close()
