"""Requests per second and latency of the dunning worklist and the client's invoice list over
real HTTP, beside two references measured in the same run against the same database (not part
of `make test`; needs `wrk`: apt-get install -y wrk):

- bare: a one-route Litestar app returning a small HTML string (the framework's limit), and the
  portal's own /healthz (which runs `SELECT 1`);
- raw: the same rows read with asyncpg directly (the same SQL and columns as the real page) and
  rendered by a bare Jinja template (the stack's limit).

    .venv/bin/python bench/dunning_data.py --db portal_bench_10k --invoices 10000
    .venv/bin/python bench/bench_http.py --db portal_bench_10k --db portal_bench

Each server is one uvicorn process (as `portal serve` in production: access log on, DB_POOL_SIZE=10, no ticks);
wrk runs 32 connections for --seconds per target after a short warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from litestar import Litestar, get  # noqa: E402
from litestar.response import Response  # noqa: E402

PASSWORD = "bench-password-2026"
STAFF_EMAIL = "bench-cc@firm.test"
CLIENT_EMAIL = "bench-client@client.test"
CLIENT_ID = 1
PORTS = {"portal": 8811, "raw": 8812, "bare": 8813}
WORKERS = 1  # uvicorn processes per server (--workers): the same for the portal and the references

# the client list's first page, as portal.billing.statements.service.client_invoices reads it (status=all: 50 rows)
CLIENT_SQL = """SELECT id, code, kind, status, currency, issue_date, due_date, total_minor, paid_minor, "order", credits_invoice
FROM invoices WHERE client = $1 ORDER BY due_date DESC, id DESC LIMIT $2"""
CLIENT_ROWS = 50  # statements.PAGE_SIZE
# the worklist's first page, as portal.dunning.worklist.listing.rows reads it with no client filter (the
# page adds the step and manager names from its choice lists, a second query)
WORKLIST_SQL = """SELECT i.id, i.code, i.due_date, i.currency, i.total_minor - i.paid_minor AS balance, c.id AS client_id,
c.name AS client_name, c.sales_manager, s.severity, s.last_position AS position, s.last_step AS last_step_id,
s.next_step AS next_step_id, s.next_at, s.paused_kind, s.paused_until, i.status
FROM (SELECT s.invoice, s.severity, s.last_position, s.due_date, s.last_step, s.next_step, s.next_at, s.paused_kind,
      s.paused_until FROM dunning_states s WHERE s.due_date < $1
      ORDER BY s.severity DESC, s.last_position DESC, s.due_date, s.invoice LIMIT 51) s
JOIN invoices i ON i.id = s.invoice JOIN clients c ON c.id = i.client
ORDER BY s.severity DESC, s.last_position DESC, s.due_date, s.invoice"""
WORKLIST_ROWS = 50  # worklist.PAGE_SIZE

RAW_TEMPLATE = """<!doctype html><html><head><title>raw</title></head><body><table>
{% for r in rows %}<tr>{% for v in r.values() %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table></body></html>"""

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"rps\\": %f, \\"p50\\": %f, \\"p95\\": %f, \\"p99\\": %f, \\"errors\\": %d, \\"bad_status\\": %d, \\"requests\\": %d}\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests))
end
"""


# ---------------------------------------------------------------- the reference apps
def reference_app(kind: str, database_url: str):
    import datetime as dt
    from zoneinfo import ZoneInfo

    import asyncpg
    import jinja2

    @get("/")
    async def bare() -> Response:
        return Response("<!doctype html><html><body><p>Hello</p></body></html>", media_type="text/html")

    if kind == "bare":
        return Litestar(route_handlers=[bare], debug=False)

    template = jinja2.Environment(autoescape=True).from_string(RAW_TEMPLATE)
    state: dict = {}

    async def start() -> None:
        state["pool"] = await asyncpg.create_pool(database_url, min_size=1, max_size=10)

    async def stop() -> None:
        await state["pool"].close()

    @get("/client")
    async def client_page() -> Response:
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(CLIENT_SQL, CLIENT_ID, CLIENT_ROWS + 1)
        return Response(template.render(rows=[dict(r) for r in rows[:CLIENT_ROWS]]), media_type="text/html")

    @get("/worklist")
    async def worklist_page() -> Response:
        today = dt.datetime.now(ZoneInfo("Europe/Bucharest")).date()
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(WORKLIST_SQL, today)
        return Response(template.render(rows=[dict(r) for r in rows[:WORKLIST_ROWS]]), media_type="text/html")

    return Litestar(route_handlers=[bare, client_page, worklist_page], on_startup=[start], on_shutdown=[stop], debug=False)


def reference_factory():
    """For uvicorn's worker processes: the reference app the environment names."""
    return reference_app(os.environ["BENCH_KIND"], os.environ["BENCH_DB"])


def serve_reference(kind: str, database_url: str, port: int) -> None:
    import uvicorn

    workers = int(os.environ.get("WEB_WORKERS", "1"))
    if workers > 1:  # as `portal serve` does it (portal.cli.supervisor), so the comparison stays fair
        from portal.cli import supervisor

        os.environ.update(BENCH_KIND=kind, BENCH_DB=database_url)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        config = uvicorn.Config("bench_http:reference_factory", factory=True, workers=workers, host="127.0.0.1", port=port,
                                log_level="info")
        supervisor(config, "127.0.0.1", port).run()
        return
    uvicorn.run(reference_app(kind, database_url), host="127.0.0.1", port=port, log_level="info")


# ---------------------------------------------------------------- running servers and wrk
def start(kind: str, database_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PORTAL_ENV": "production", "HOST": "127.0.0.1", "PORT": str(PORTS[kind]),
           "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal", "DB_POOL_SIZE": "10", "DUNNING_TICK_SECONDS": "0",
           "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix="bench-var-"), "WEB_WORKERS": str(WORKERS)}
    python = str(Path(sys.executable))
    cmd = ([str(Path(python).parent / "portal"), "serve"] if kind == "portal"
           else [python, __file__, "--serve", kind, "--serve-db", database_url])
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT)
    wait_up(PORTS[kind], proc)
    return proc


def wait_up(port: int, proc: subprocess.Popen) -> None:
    import httpx

    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz" if port == PORTS["portal"] else f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server on {port} did not come up")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def login(email: str) -> str:
    """Log in through the real form; the Cookie header of the session. The portal runs as in
    production, so its cookies are Secure: over plain HTTP they are carried by hand."""
    import httpx

    base = f"http://127.0.0.1:{PORTS['portal']}"
    with httpx.Client(base_url=base) as client:
        csrf = client.get("/login").cookies["portal_csrf"]
        r = client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": csrf},
                        headers={"Cookie": f"portal_csrf={csrf}"})
        assert r.status_code == 303 and "/login" not in r.headers.get("location", ""), (email, r.status_code, r.text[:300])
        return f"portal_csrf={csrf}; portal_session={r.cookies['portal_session']}"


def check(url: str, cookie: str, expect_rows: int | None) -> int:
    """The target answers 200 with its rows (not a login page); returns the body size."""
    import httpx

    r = httpx.get(url, headers={"Cookie": cookie} if cookie else {}, follow_redirects=False, timeout=60)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    if expect_rows is not None:
        rows = len(re.findall(r"<tr[\s>]", r.text)) - (1 if "<thead" in r.text else 0)
        assert rows >= expect_rows, (url, rows)
    return len(r.content)


def wrk(url: str, cookie: str, seconds: int, connections: int, script: Path) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", "-d2s", "--timeout", "30s", "-s", str(script), url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    subprocess.run(cmd, capture_output=True, check=True)  # warm-up
    cmd[cmd.index("-d2s")] = f"-d{seconds}s"
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON"))
    return json.loads(line.removeprefix("WRKJSON "))


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a (no request finished)"


def machine() -> str:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    with open("/proc/meminfo") as f:
        mem = next((int(line.split()[1]) // 1024 // 1024 for line in f if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, load average {os.getloadavg()[0]:.1f} at start"


def run_db(db: str, server: str, seconds: int, connections: int, script: Path, logs: Path) -> dict:
    url = server.rsplit("/", 1)[0] + "/" + db
    procs = {kind: start(kind, url, logs / f"{db}-{kind}.log") for kind in ("portal", "raw")}
    try:
        staff, client = login(STAFF_EMAIL), login(CLIENT_EMAIL)
        p, r = f"http://127.0.0.1:{PORTS['portal']}", f"http://127.0.0.1:{PORTS['raw']}"
        targets = {
            "worklist": (f"{p}/staff/dunning", staff, WORKLIST_ROWS),
            "worklist_raw": (f"{r}/worklist", "", WORKLIST_ROWS),
            "client_invoices": (f"{p}/client/invoices?status=all", client, CLIENT_ROWS),
            "client_invoices_raw": (f"{r}/client", "", CLIENT_ROWS),
            "healthz": (f"{p}/healthz", "", None),
        }
        results = {}
        for name, (target, cookie, rows) in targets.items():
            size = check(target, cookie, rows)
            results[name] = {**wrk(target, cookie, seconds, connections, script), "bytes": size}
            print(f"{db:<20} {name:<22} {results[name]['rps']:8.1f} req/s  p50 {results[name]['p50']:7.1f} ms  "
                  f"p95 {results[name]['p95']:7.1f} ms  ({size:,} bytes)", flush=True)
        return results
    finally:
        for proc in procs.values():
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help="databases made by bench/dunning_data.py, smallest first")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes per server (WEB_WORKERS), the same for all")
    parser.add_argument("--serve", choices=("raw", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_reference(args.serve, args.serve_db, PORTS[args.serve])
        return
    global WORKERS
    WORKERS = args.workers
    dbs = args.db or ["portal_bench_10k", "portal_bench"]
    logs = Path(tempfile.mkdtemp(prefix="bench-http-"))
    script = logs / "report.lua"
    script.write_text(WRK_SCRIPT)
    print(f"machine: {machine()}; {args.connections} connections, {args.seconds} s per target, {WORKERS} uvicorn "
          f"process(es) per server; logs in {logs}", flush=True)
    bare = start("bare", "", logs / "bare.log")
    results: dict = {}
    try:
        results["bare"] = wrk(f"http://127.0.0.1:{PORTS['bare']}/", "", args.seconds, args.connections, script)
        print(f"{'(no database)':<20} {'bare litestar route':<22} {results['bare']['rps']:8.1f} req/s  "
              f"p50 {results['bare']['p50']:7.1f} ms  p95 {results['bare']['p95']:7.1f} ms", flush=True)
    finally:
        stop(bare)
    for db in dbs:
        results[db] = run_db(db, args.server, args.seconds, args.connections, script, logs)
    print("\nratios:")
    for db in dbs:
        r = results[db]
        print(f"  {db}: worklist/raw {ratio(r['worklist']['rps'], r['worklist_raw']['rps'])}, "
              f"client invoices/raw {ratio(r['client_invoices']['rps'], r['client_invoices_raw']['rps'])}, "
              f"worklist/bare {ratio(r['worklist']['rps'], results['bare']['rps'])}, "
              f"client invoices/bare {ratio(r['client_invoices']['rps'], results['bare']['rps'])}")
    if len(dbs) >= 2:
        small, big = results[dbs[0]], results[dbs[-1]]
        for page in ("worklist", "client_invoices", "worklist_raw", "client_invoices_raw"):
            print(f"  {page}: {dbs[-1]} / {dbs[0]} = {ratio(big[page]['rps'], small[page]['rps'])}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
