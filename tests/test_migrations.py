"""Hand-written migrations that change existing rows, run on a database holding such rows: migrated
up to the one before, filled by plain SQL, then migrated through it. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT, _pg_admin, _require

BEFORE_0017 = "2026-12-02T20:00:00:000016"
M0017 = "2026-12-03T09:00:00:000017"


def _forwards(url: str, migration_id: str) -> None:
    piccolo = os.path.join(os.path.dirname(sys.executable), "piccolo")
    env = {**os.environ, "DATABASE_URL": url, "PICCOLO_CONF": "piccolo_conf"}
    done = subprocess.run([piccolo, "migrations", "forwards", "portal", f"--migration_id={migration_id}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok!" in done.stdout, done.stdout + done.stderr


class _Sqlite:
    def __init__(self, path) -> None:
        self.path = path

    def run(self, statements: list[str]) -> None:
        conn = sqlite3.connect(self.path)
        try:
            with conn:
                for statement in statements:
                    conn.execute(statement)
        finally:
            conn.close()

    def rows(self, query: str) -> list[tuple]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(query).fetchall()
        finally:
            conn.close()


class _Postgres:
    def __init__(self, url: str) -> None:
        self.url = url

    async def _run(self, statements: list[str]) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            async with conn.transaction():
                for statement in statements:
                    await conn.execute(statement)
        finally:
            await conn.close()

    async def _rows(self, query: str) -> list[tuple]:
        import asyncpg

        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            return [tuple(r) for r in await conn.fetch(query)]
        finally:
            await conn.close()

    def run(self, statements: list[str]) -> None:
        asyncio.run(self._run(statements))

    def rows(self, query: str) -> list[tuple]:
        return asyncio.run(self._rows(query))


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request, tmp_path):
    """A fresh, empty database (not migrated yet): (url, a way to run SQL on it)."""
    if request.param == "sqlite":
        path = tmp_path / "fresh.sqlite"
        return f"sqlite:///{path}", _Sqlite(path)
    admin = request.getfixturevalue("postgres_url")
    if admin is None:
        _require("PORTAL_REQUIRE_POSTGRES", getattr(pytest, "portal_pg_error", "PostgreSQL not reachable"))
    name = f"portal_migration_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{name}"'))
    request.addfinalizer(lambda: asyncio.run(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    return url, _Postgres(url)


def _invoice(id_: int, status: str, issued: str, *, kind: str = "invoice", credits: int | None = None, total: int = 100,
             paid: int = 0, cancelled_at: str | None = None) -> str:
    cancelled = f"'{cancelled_at}'" if cancelled_at else "NULL"
    return ("INSERT INTO invoices (id, series, year, number, code, client, kind, credits_invoice, currency, issue_date, due_date, "
            "status, net_minor, vat_minor, total_minor, paid_minor, notes, created_at, cancelled_at) VALUES "
            f"({id_}, 'INV', 2026, {id_}, 'INV-2026-{id_:05d}', 1, '{kind}', {credits or 'NULL'}, 'RON', '{issued}', '{issued}', "
            f"'{status}', {total}, 0, {total}, {paid}, '', '2026-01-01 08:00:00+00:00', "
            f"{cancelled})")


def _payment(id_: int, amount: int, received: str, invoice: int, *, reverses: int | None = None) -> list[str]:
    return [
        "INSERT INTO payments (id, client, currency, amount_minor, method, received_on, reference, reverses, created_at) VALUES "
        f"({id_}, 1, 'RON', {amount}, 'bank_transfer', '{received}', '', {reverses or 'NULL'}, '2026-01-01 08:00:00+00:00')",
        f"INSERT INTO payment_allocations (id, payment, invoice, amount_minor) VALUES ({id_}, {id_}, {invoice}, {amount})",
    ]


def test_0017_fills_in_settled_on_and_adds_the_unit_cost(fresh):
    url, database = fresh
    _forwards(url, BEFORE_0017)
    database.run([
        "INSERT INTO clients (id, name, name_folded, currency, created_at, updated_at) "
        "VALUES (1, 'Old Data SRL', 'old data srl', 'RON', '2026-01-01 08:00:00+00:00', '2026-01-01 08:00:00+00:00')",
        # 1: paid in two parts, the second backdated before the first
        _invoice(1, "paid", "2026-01-02", paid=100), *_payment(1, 60, "2026-01-20", 1), *_payment(2, 40, "2026-01-10", 1),
        # 2: paid, a payment reversed later, paid again with a backdated payment: the reversal's day is the latest
        _invoice(2, "paid", "2026-01-02", paid=100), *_payment(3, 100, "2026-01-05", 2), *_payment(4, -100, "2026-01-08", 2, reverses=3),
        *_payment(5, 100, "2026-01-07", 2),
        # 3: partly paid, 4: not paid: open
        _invoice(3, "issued", "2026-01-03", paid=30), *_payment(6, 30, "2026-01-09", 3),
        _invoice(4, "issued", "2026-01-04"),
        # 5: cancelled by credit note 6 (issued on the 3rd; cancelled_at says the 4th)
        _invoice(5, "cancelled", "2026-02-01", cancelled_at="2026-02-04 23:30:00+00:00"),
        _invoice(6, "issued", "2026-02-03", kind="credit_note", credits=5, total=-100),
        # 7: cancelled with no credit note: the UTC day of cancelled_at
        _invoice(7, "cancelled", "2026-02-05", cancelled_at="2026-02-10 22:15:00.123456+00:00"),
        # 8: marked paid with no allocation (as some test data does): its issue date
        _invoice(8, "paid", "2026-02-06", paid=100),
        "INSERT INTO invoice_lines (id, invoice, position, description, quantity, unit_price_minor, vat_rate_bp, net_minor, "
        "vat_minor, total_minor) VALUES (1, 1, 1, 'Cards', 1, 100, 0, 100, 0, 100)",
    ])

    _forwards(url, M0017)

    settled = {row[0]: row[1] for row in database.rows("SELECT id, settled_on FROM invoices ORDER BY id")}
    as_text = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in settled.items()}
    assert as_text == {
        1: "2026-01-20", 2: "2026-01-08", 3: None, 4: None, 5: "2026-02-03", 6: "2026-02-03", 7: "2026-02-10", 8: "2026-02-06",
    }
    assert database.rows("SELECT unit_cost_minor FROM invoice_lines") == [(None,)]
    if isinstance(database, _Sqlite):
        indexes = [row[1] for row in database.rows("PRAGMA index_list('invoices')")]
    else:
        indexes = [row[0] for row in database.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'invoices'")]
    assert "invoices_settled_on" in indexes


M0020 = "2026-12-03T21:00:00:000020"


def test_0020_counts_a_users_unread_notifications_from_an_index_of_the_unread_only(fresh):
    url, database = fresh
    _forwards(url, M0020)
    count = """SELECT COUNT(*) FROM notifications n WHERE n."user" = 1 AND n.read_at IS NULL"""
    if isinstance(database, _Sqlite):
        plan = " ".join(str(row[-1]) for row in database.rows(f"EXPLAIN QUERY PLAN {count}"))
        assert "notifications_unread" in plan, plan  # the session's count reads the unread rows, not the history
    else:
        definition = database.rows("SELECT indexdef FROM pg_indexes WHERE indexname = 'notifications_unread'")
        assert definition and "WHERE (read_at IS NULL)" in definition[0][0], definition
