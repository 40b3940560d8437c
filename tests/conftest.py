"""Test fixtures: every service and route test runs on SQLite and again on PostgreSQL.

PostgreSQL is the local server (127.0.0.1:5432 as postgres) or DATABASE_URL_TEST. When it cannot be
used (no server, a login refused) the PostgreSQL runs are skipped with the reason and how to fix it,
unless PORTAL_REQUIRE_POSTGRES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.postgres_login import why_unusable

ROOT = Path(__file__).resolve().parent.parent
PORTAL = str(Path(sys.executable).parent / "portal")
TEST_SECRET = "test-secret-key-that-is-long-enough-for-the-portal"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


def run_portal(*args: str, env: dict[str, str], input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": TEST_SECRET, **env}
    result = subprocess.run([PORTAL, *args], env=full_env, cwd=ROOT, capture_output=True, text=True, input=input, timeout=300)
    if check and result.returncode != 0:
        raise RuntimeError(f"portal {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return result


def _require(flag: str, reason: str) -> None:
    if os.environ.get(flag) == "1":
        pytest.fail(f"{reason} ({flag}=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite"
    run_portal("migrate", env={"DATABASE_URL": f"sqlite:///{path}", "PORTAL_VAR_DIR": str(folder)})
    _empty_tables(path)
    return path


def _empty_tables(path: Path) -> None:
    """`portal migrate` also writes the default dunning policy (dunning.seeds). Every test starts
    from empty tables, as on PostgreSQL (truncated), and writes what it needs itself."""
    import sqlite3

    from portal.piccolo_app import APP_CONFIG

    conn = sqlite3.connect(path)
    try:
        with conn:
            for table in APP_CONFIG.table_classes:
                conn.execute(f'DELETE FROM "{table._meta.tablename}"')
    finally:
        conn.close()


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str | None:
    """A freshly migrated PostgreSQL database for this test session, or None."""
    admin_url = os.environ.get("DATABASE_URL_TEST", PG_DEFAULT)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(admin_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server, or one that refuses us: the PostgreSQL runs skip (or fail under CI)
        pytest.portal_pg_error = why_unusable(admin_url, exc)
        yield None
        return
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    run_portal("migrate", env={"DATABASE_URL": url, "PORTAL_VAR_DIR": str(tmp_path_factory.mktemp("pg"))})
    yield url
    with contextlib.suppress(Exception):
        asyncio.run(_pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _all_tables() -> str:
    from portal.piccolo_app import APP_CONFIG

    return ", ".join(f'"{table._meta.tablename}"' for table in APP_CONFIG.table_classes)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path, sqlite_template) -> str:
    """An empty, migrated database: a copy of the SQLite template, or the PostgreSQL test database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    if url is None:
        _require("PORTAL_REQUIRE_POSTGRES", getattr(pytest, "portal_pg_error", "PostgreSQL cannot be used"))
    asyncio.run(_pg_admin(url, f"TRUNCATE {_all_tables()} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def pg_url(request) -> str:
    """The PostgreSQL test database truncated, for tests of what only PostgreSQL has (a pool,
    row locks between concurrent transactions). Required like every PostgreSQL run, never skipped
    under CI."""
    url = request.getfixturevalue("postgres_url")
    if url is None:
        _require("PORTAL_REQUIRE_POSTGRES", getattr(pytest, "portal_pg_error", "PostgreSQL cannot be used"))
    asyncio.run(_pg_admin(url, f"TRUNCATE {_all_tables()} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def settings(database_url, tmp_path):
    from portal.settings import load_settings

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "LOGIN_MAX_FAILURES": "5",
        # the test client runs the app's lifespan on another event loop: no pool shared across loops
        "DB_POOL_SIZE": "0",
    })


@pytest.fixture
def db(settings):
    """The tables bound to this test's database (for service tests that need no app)."""
    from portal import db as portal_db

    return portal_db.bind(portal_db.engine_for(settings.database_url))


@pytest.fixture
async def app(settings):
    from portal.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        test_client.follow_redirects = False  # tests assert where a response sends the user
        yield test_client
