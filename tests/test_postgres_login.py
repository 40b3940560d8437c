"""The PostgreSQL tests on a stock Debian PostgreSQL (password logins on 127.0.0.1, peer on the
socket), as `.ci/run` installs it: a throwaway cluster made with pg_createcluster, its default
pg_hba.conf untouched. The skip reason says what failed, and `.ci/postgres-login` (what .ci/run
calls) gives a URL the tests can log in with and create their databases."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.postgres_login import why_unusable, without_password

ROOT = Path(__file__).resolve().parent.parent
LOGIN_SCRIPT = ROOT / ".ci" / "postgres-login"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stock_cluster():
    """(version, port) of a new cluster with Debian's default authentication; dropped afterwards."""
    if not shutil.which("pg_createcluster") or os.geteuid() != 0:
        reason = "a stock PostgreSQL cluster needs pg_createcluster (postgresql-common) and root"
        if os.environ.get("PORTAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (PORTAL_REQUIRE_POSTGRES=1 forbids skipping)")
        pytest.skip(reason)
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    for leftover in os.listdir(f"/etc/postgresql/{version}"):
        if leftover.startswith("portal_stock_"):
            subprocess.run(["pg_dropcluster", version, leftover, "--stop"], capture_output=True)
    name, port = f"portal_stock_{uuid.uuid4().hex[:8]}", _free_port()
    subprocess.run(["pg_createcluster", version, name, "-p", str(port), "--start"], check=True, capture_output=True, timeout=120)
    try:
        hba = Path(f"/etc/postgresql/{version}/{name}/pg_hba.conf").read_text()
        assert "scram-sha-256" in hba and "trust" not in hba.split("# TYPE", 1)[-1], "not a stock pg_hba.conf"
        yield version, port
    finally:
        subprocess.run(["pg_dropcluster", version, name, "--stop"], capture_output=True, timeout=120)


async def _create_and_drop(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        name = f"portal_probe_{uuid.uuid4().hex[:8]}"
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def test_the_skip_reason_says_the_login_was_refused_and_how_to_fix_it(stock_cluster):
    _, port = stock_cluster
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    with pytest.raises(Exception) as refused:
        asyncio.run(_create_and_drop(url))
    reason = why_unusable(url, refused.value)
    assert "refused the login of 'postgres'" in reason and "password authentication failed" in reason
    assert "DATABASE_URL_TEST=" in reason and ".ci/postgres-login" in reason


def test_no_server_is_told_apart_from_a_refused_login():
    url = f"postgres://postgres@127.0.0.1:{_free_port()}/postgres"
    with pytest.raises(OSError) as nobody:
        asyncio.run(_create_and_drop(url))
    assert why_unusable(url, nobody.value).startswith("no PostgreSQL server answers at 127.0.0.1:")
    assert without_password("postgres://ci:s3cret@h:5432/db") == "postgres://ci:***@h:5432/db"


def test_ci_postgres_login_gives_a_url_the_tests_can_use_on_a_stock_install(stock_cluster):
    _, port = stock_cluster
    env = {**os.environ, "PGPORT_TEST": str(port)}
    for _ in range(2):  # run again (a second CI run): the role is renewed, not refused as existing
        made = subprocess.run([str(LOGIN_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        url = made.stdout.strip()
        assert url.startswith("postgres://portal_ci:") and url.endswith(f"@127.0.0.1:{port}/postgres")
        asyncio.run(_create_and_drop(url))  # what tests/conftest.py does with DATABASE_URL_TEST


def test_ci_run_uses_the_login_script():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".ci/postgres-login" in ci and "DATABASE_URL_TEST" in ci
