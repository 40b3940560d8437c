"""Settings from the environment (errors name the variable) and the `portal` command line."""

from __future__ import annotations

import os
import stat

import pytest

from portal.settings import SettingsError, load_settings
from tests.conftest import run_portal

GOOD_SECRET = "x" * 40


def env(tmp_path, **values: str) -> dict[str, str]:
    return {"PORTAL_VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": GOOD_SECRET, **values}


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("variable,values", [
    ("PORT", {"PORT": "eighty"}),
    ("PORT", {"PORT": "70000"}),
    ("PORT", {"PORT": "0"}),
    ("DATABASE_URL", {"DATABASE_URL": "mysql://user@localhost/portal"}),
    ("DATABASE_URL", {"DATABASE_URL": "sqlite:///"}),
    ("SECRET_KEY", {"SECRET_KEY": "too-short"}),
    ("SECRET_KEY", {"SECRET_KEY": "", "PORTAL_ENV": "production"}),
    ("PORTAL_ENV", {"PORTAL_ENV": "staging"}),
    ("SMTP_TLS", {"SMTP_TLS": "maybe"}),
    ("BASE_URL", {"BASE_URL": "example.com"}),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={x}" for k, x in v.items()))
def test_a_bad_setting_raises_an_error_naming_the_variable(tmp_path, variable, values):
    with pytest.raises(SettingsError) as raised:
        load_settings(env(tmp_path, **values))
    assert variable in str(raised.value)


def test_production_without_secret_key_writes_no_key_file(tmp_path):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"PORTAL_ENV": "production", "PORTAL_VAR_DIR": str(tmp_path / "var")})
    assert not (tmp_path / "var" / "secret_key").exists()


def test_development_without_secret_key_generates_one_and_reuses_it(tmp_path):
    var = tmp_path / "var"
    first = load_settings({"PORTAL_VAR_DIR": str(var)})
    key_file = var / "secret_key"
    assert key_file.exists()
    assert len(first.secret_key) >= 32 and key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = load_settings({"PORTAL_VAR_DIR": str(var)})
    assert second.secret_key == first.secret_key
    other = load_settings({"PORTAL_VAR_DIR": str(tmp_path / "elsewhere")})
    assert other.secret_key != first.secret_key


def test_good_settings_are_read(tmp_path):
    settings = load_settings(env(tmp_path, PORT="8080", DATABASE_URL="postgresql://u@db:5432/portal", PORTAL_ENV="production"))
    assert settings.port == 8080 and settings.uses_postgres and settings.production
    assert settings.database_url == "postgresql://u@db:5432/portal"
    default = load_settings(env(tmp_path))
    assert default.database_url == f"sqlite:///{tmp_path / 'var' / 'portal.sqlite'}"


def test_production_on_postgresql_runs_a_process_per_core_unless_told(tmp_path):
    pg = {"DATABASE_URL": "postgresql://u@db:5432/portal", "PORTAL_ENV": "production"}
    assert load_settings(env(tmp_path, **pg)).web_workers == os.cpu_count()
    assert load_settings(env(tmp_path, **pg, WEB_WORKERS="3")).web_workers == 3
    assert load_settings(env(tmp_path, DATABASE_URL="postgresql://u@db:5432/portal")).web_workers == 1  # development
    assert load_settings(env(tmp_path, PORTAL_ENV="production")).web_workers == 1  # SQLite: one writer at a time


# --- the command line ---------------------------------------------------------------------------

def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def test_migrate_with_a_bad_database_url_prints_one_line(tmp_path):
    result = run_portal("migrate", env={"DATABASE_URL": "mysql://root@localhost/portal", "PORTAL_VAR_DIR": str(tmp_path)}, check=False)
    assert result.returncode != 0
    assert "DATABASE_URL" in one_line(result.stderr)


def test_create_user_with_an_unknown_role_prints_one_line(tmp_path):
    result = run_portal("create-user", "--email", "x@y.z", "--role", "wizard",
                        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}", "PORTAL_VAR_DIR": str(tmp_path),
                             "PORTAL_NEW_PASSWORD": "a long enough password"}, check=False)
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "--role" in line and "admin" in line


def test_create_user_refuses_a_weak_password_in_one_line(tmp_path, database_url):
    result = run_portal("create-user", "--email", "weak@firm.test", "--role", "admin",
                        env={"DATABASE_URL": database_url, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_NEW_PASSWORD": "short"},
                        check=False)
    assert result.returncode != 0
    assert "password" in one_line(result.stderr)


async def test_create_user_then_demo_twice(tmp_path, database_url, db):
    from portal import demo
    from portal.auth import passwords
    from portal.auth.tables import User
    from portal.clients.tables import Client

    cli_env = {"DATABASE_URL": database_url, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_NEW_PASSWORD": "operator password 1"}
    created = run_portal("create-user", "--email", "Op@Firm.test", "--role", "credit_controller", "--name", "Olga Operator", env=cli_env)
    assert "created user" in created.stdout
    user = await User.select().where(User.email == "op@firm.test").first()
    assert user is not None and user["role"] == "credit_controller" and user["kind"] == "staff" and user["name"] == "Olga Operator"
    assert await passwords.verify_password(user["password_hash"], "operator password 1")

    again = run_portal("create-user", "--email", "op@firm.test", "--role", "admin", env=cli_env, check=False)
    assert again.returncode != 0 and "op@firm.test" in one_line(again.stderr)

    first = run_portal("demo", env=cli_env)
    assert "Demo logins" in first.stdout and "ana.admin@demo.example" in first.stdout and demo.DEMO_PASSWORD in first.stdout
    counts = (await User.count(), await Client.count())
    assert counts[1] == 12

    second = run_portal("demo", env=cli_env)
    assert second.stdout == first.stdout  # the same logins, printed again
    assert (await User.count(), await Client.count()) == counts

    skipped = run_portal("demo", "--if-empty", env=cli_env)  # what every `make run` after the first runs
    assert "already has data" in skipped.stdout
    assert "Demo logins" in skipped.stdout and "ana.admin@demo.example" in skipped.stdout and demo.DEMO_PASSWORD in skipped.stdout
    assert "op@firm.test" not in skipped.stdout  # only the demo's own logins


async def test_demo_if_empty_on_a_database_without_demo_data_prints_no_logins(tmp_path, database_url, db):
    cli_env = {"DATABASE_URL": database_url, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_NEW_PASSWORD": "operator password 1"}
    run_portal("create-user", "--email", "op@firm.test", "--role", "admin", env=cli_env)
    skipped = run_portal("demo", "--if-empty", env=cli_env)
    assert "already has data; demo not loaded" in skipped.stdout and "Demo logins" not in skipped.stdout


def _children(pid: int) -> list[int]:
    import os

    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _listening(port: int) -> int:
    """How many sockets listen on this port (IPv4)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[3] == "0A" and int(row[1].split(":")[1], 16) == port)


def _sockets(pid: int) -> int:
    import os

    return sum(1 for fd in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))


def test_serve_with_two_workers_answers_keep_alive_requests_without_the_delayed_ack_wait(tmp_path, sqlite_template):
    """WEB_WORKERS=2: two processes, each with a listening socket of its own on the port (made with
    IPPROTO_TCP, so the connections they accept get TCP_NODELAY: uvicorn's own socket made every
    keep-alive answer wait ~40 ms for the client's delayed ACK; and SO_REUSEPORT, so the kernel
    spreads connections over the workers)."""
    import http.client
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from portal.cli import listening_socket

    probe = listening_socket("127.0.0.1", 0)
    assert probe.proto == socket.IPPROTO_TCP
    port = probe.getsockname()[1]
    probe.close()
    database = tmp_path / "portal.sqlite"
    shutil.copy(sqlite_template, database)
    environment = {**os.environ, **env(tmp_path, DATABASE_URL=f"sqlite:///{database}", PORTAL_ENV="test", HOST="127.0.0.1",
                                       PORT=str(port), WEB_WORKERS="2", DUNNING_TICK_SECONDS="0")}
    server = subprocess.Popen([str(Path(sys.executable).parent / "portal"), "serve"], env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                assert connection.getresponse().read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "portal serve did not start"
                time.sleep(0.2)
        took = []
        for _ in range(10):  # the same connection: without TCP_NODELAY every answer took >= 40 ms
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert response.status == 200 and b"ok" in response.read()
            took.append(time.perf_counter() - started)
        assert min(took) < 0.030, took
        # sixteen connections opened at once are spread over both workers (each has its own socket)
        while _listening(port) < 2:  # the second worker may still be starting
            assert time.monotonic() < deadline, "the second worker did not start listening"
            time.sleep(0.1)
        workers = _children(server.pid)
        before = {pid: _sockets(pid) for pid in workers}
        burst = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(16)]
        for c in burst:
            c.request("GET", "/healthz")
        for c in burst:
            assert c.getresponse().read()
        gained = {pid: _sockets(pid) - before[pid] for pid in workers}
        serving = [n for n in gained.values() if n > 0]  # (multiprocessing's resource tracker is a child too)
        assert len(serving) == 2 and sum(serving) == 16, gained
        for c in burst:
            c.close()
        # a second `portal serve` on this port is refused in one line, instead of sharing the port
        second = subprocess.run([str(Path(sys.executable).parent / "portal"), "serve"], env=environment,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert one_line(second.stderr) == f"portal: 127.0.0.1:{port} is already in use (is another portal serve running?)"
        assert _listening(port) == 2  # the first server's two workers, nothing more
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "Started parent process" in output or "worker" in output.lower(), output[-2000:]
