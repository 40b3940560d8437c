"""Speed of the receivables reports on the data set of bench/dunning_data.py (not part of `make test`;
the HTTP part needs `wrk`: apt-get install -y wrk).

    .venv/bin/python bench/dunning_data.py --db portal_bench
    .venv/bin/python bench/bench_reports.py --db portal_bench

Works on a copy (CREATE DATABASE ... TEMPLATE, dropped at the end unless --keep), so the data set
stays as it was generated:
1. the first full build of the summary: the report tables emptied and the mark reset (as after
   migrating), then `summary.refresh` (seconds, the process's RSS before / peak / after, the rows
   written, the months rebuilt);
2. a refresh with nothing new (what every tick pays): --idle-runs times, median and max;
3. a refresh after one payment received today (portal.settlement.record_payment, the whole balance of
   an overdue invoice): the current month is rebuilt, --payment-runs times with a new payment each;
4. the report pages over HTTP: `portal serve` on the copy as bench/bench_http.py starts it
   (PORTAL_ENV=production, DB_POOL_SIZE=10, no ticks, --workers uvicorn processes: 2 is what
   production picks on this 2-core machine), logged in as the credit controller (every client), and
   once as a sales manager (their own clients); wrk runs --connections connections for --seconds per
   page after a 2 s warm-up: p50 / p95 / p99 and requests/s. Every page must answer 200 (checked
   before and after its run; wrk's non-2xx/3xx count must be 0), the aging pages from the source
   they claim (the summary, or recomputed live).
If PostgreSQL refuses one of the refresh's statements (more than 32,767 arguments bound), the failure
is printed (where, after how long) and that refresh runs again with the bench's stand-ins for the two
statements concerned (`stand_ins` below: the same rows, smaller statements), so the other figures can
still be measured; the table says which figures needed them.
Prints the figures as tables, then as JSON; writes nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench import bench_http  # noqa: E402
from bench.bench_dunning import clone, rss_mib  # noqa: E402
from bench.dunning_data import STAFF_EMAIL, admin_url, read_meta  # noqa: E402

MANAGER_EMAIL = "manager00@firm.test"  # a sales manager: sees their own clients only
SUMMARY_TEXT = "From the month figures kept by the system."
RECOMPUTED_TEXT = "Recomputed from the invoices and the payments received"
P95_TARGET_MS = 300
PHASES = ("_add_aging", "_add_sales", "_add_collections", "_add_settled", "_add_costs", "_steps")  # summary._build's parts
PG_MAX_ARGS = 32767  # asyncpg: the most query arguments one statement may bind


# ---------------------------------------------------------------- the summary's refresh
@contextlib.contextmanager
def timed_phases(module, into: dict):
    """Time each part of summary._build (it calls them through the module's globals)."""
    saved = {name: getattr(module, name) for name in PHASES}

    def wrap(name, fn):
        async def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                into[name] = round(into.get(name, 0) + time.perf_counter() - started, 2)
        return timed

    for name, fn in saved.items():
        setattr(module, name, wrap(name, fn))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)


@contextlib.contextmanager
def stand_ins(summary):
    """Stand-ins for the two statements of summary.refresh that PostgreSQL refuses at this size (the
    portal binds more than 32,767 arguments in one statement): _steps reads the done actions with one
    argument per invoice paid in the window, and _chunks inserts 2,000 client months at once (21
    arguments each: 42,000). Here the actions are read for 10,000 invoices at a time and rows are
    inserted 1,000 at a time. The same rows come out; used only when the portal's own fails, and said so."""
    s = summary

    async def steps(start: dt.date, today: dt.date, tz: str, clients: tuple[int, int] | None = None):
        received = s.PaymentAllocation.payment.received_on
        where = ((received >= start) & (received <= today) & (s.PaymentAllocation.amount_minor > 0)
                 & (s.PaymentAllocation.invoice.kind == s.InvoiceKind.INVOICE))
        if clients is not None:  # a refresh that works a range of clients at a time
            where = where & (s.PaymentAllocation.invoice.client >= clients[0]) & (s.PaymentAllocation.invoice.client <= clients[1])
        allocations = await s.PaymentAllocation.select(
            s.PaymentAllocation.invoice, s.PaymentAllocation.invoice.client.as_alias("client"),
            s.PaymentAllocation.invoice.currency.as_alias("currency"), received.as_alias("received_on"), s.PaymentAllocation.amount_minor,
        ).where(where)
        done: dict = s.defaultdict(list)
        ids = sorted({a["invoice"] for a in allocations})
        for i in range(0, len(ids), 10_000):
            for row in await s.DunningAction.select(s.DunningAction.invoice, s.DunningAction.step, s.DunningAction.position,
                                                    s.DunningAction.done_at).where(
                (s.DunningAction.status == s.ActionStatus.DONE) & s.DunningAction.done_at.is_not_null()
                & s.DunningAction.invoice.is_in(ids[i:i + 10_000])
            ):
                done[row["invoice"]].append((s.local_date(row["done_at"], tz), row["position"], row["step"]))
        sums: dict = s.defaultdict(lambda: [0, 0])
        for a in allocations:
            reached = [(position, step) for day, position, step in done.get(a["invoice"], ()) if day <= a["received_on"]]
            step = max(reached)[1] if reached else None
            cell = sums[(s.rules.month_start(a["received_on"]), a["client"], a["currency"], step)]
            cell[0] += a["amount_minor"]
            cell[1] += 1
        return [s.StepMonth(month=m, client=c, currency=cur, step=st, amount_minor=v[0], invoices=v[1])
                for (m, c, cur, st), v in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or 0))]

    def chunks(rows: list, size: int = 1000):
        for i in range(0, len(rows), size):
            yield rows[i:i + size]

    saved = summary._steps, summary._chunks
    summary._steps, summary._chunks = steps, chunks
    try:
        yield
    finally:
        summary._steps, summary._chunks = saved


SOURCES: dict[str, list[str]] = {}  # the portal's modules as imported, for where_it_failed


def remember_source(module) -> None:
    SOURCES[module.__file__] = Path(module.__file__).read_text().splitlines()


def where_it_failed(error: BaseException) -> str:
    """The portal's own line the error came from: 'summary.py:68 in _build: <the line>', read from
    the source as it was imported (not as it may be on disk by now)."""
    tb, last = error.__traceback__, None
    while tb is not None:
        if "/portal/" in tb.tb_frame.f_code.co_filename:
            last = tb
        tb = tb.tb_next
    if last is None:
        return "?"
    path, line = last.tb_frame.f_code.co_filename, last.tb_lineno
    text = SOURCES.get(path, [])[line - 1].strip() if line <= len(SOURCES.get(path, [])) else ""
    return f"{Path(path).name}:{line} in {last.tb_frame.f_code.co_name}: {text}"


async def reset_summary(url: str) -> None:
    """The report tables as a fresh migration leaves them: empty, the mark at 0 / NULL."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM report_step_months; DELETE FROM report_client_months; "
                           "UPDATE report_summary_marks SET last_invoice_id = 0, last_payment_id = 0, built_on = NULL, "
                           "built_from = NULL, refreshed_at = NULL, millis = 0")
    finally:
        await conn.close()


class Refresher:
    """summary.refresh as the portal has it; when PostgreSQL refuses one of its statements (too many
    arguments), the failure is recorded and the refresh run again with the stand-ins, which stay on."""

    def __init__(self, summary, tz: str):
        self.summary, self.tz, self.failures, self.standing_in = summary, tz, [], False

    async def __call__(self, label: str, phases: dict | None = None):
        from portal.clock import utcnow

        phases = {} if phases is None else phases
        started = time.perf_counter()
        try:
            with contextlib.ExitStack() as stack:
                if self.standing_in:
                    stack.enter_context(stand_ins(self.summary))
                stack.enter_context(timed_phases(self.summary, phases))
                return await self.summary.refresh(self.tz, utcnow()), time.perf_counter() - started
        except asyncpg.exceptions.InterfaceError as error:
            if self.standing_in or str(PG_MAX_ARGS) not in str(error):
                raise
            failure = {"refresh": label, "after_s": round(time.perf_counter() - started, 2), "error": str(error),
                       "where": where_it_failed(error), "phases_s": dict(phases)}
            self.failures.append(failure)
            print(f"THE PORTAL'S REFRESH FAILED ({label}) after {failure['after_s']} s at {failure['where']}: {error}; "
                  f"parts done {failure['phases_s']}. Again with the bench's stand-ins.", flush=True)
            self.standing_in = True
            phases.clear()
            return await self(label, phases)


async def refreshes(url: str, idle_runs: int, payment_runs: int) -> dict:
    os.environ.update({"DATABASE_URL": url, "PORTAL_ENV": "test", "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal",
                       "DUNNING_TICK_SECONDS": "0", "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix="bench-reports-var-")})
    from portal import db  # after DATABASE_URL is set
    from portal.audit.service import Actor
    from portal.billing.rules import InvoiceKind, InvoiceStatus
    from portal.billing.tables import Invoice
    from portal.clock import local_date, utcnow
    from portal.reports.receivables import summary
    from portal.reports.tables import ClientMonth, StepMonth, SummaryMark
    from portal.settings import load_settings
    from portal.settlement import record_payment

    remember_source(summary)
    tz = load_settings().firm_timezone
    engine = db.bind(db.engine_for(url))
    out: dict = {}
    async with db.pool(engine, 10):  # DB_POOL_SIZE's default, as `portal serve` ticks
        # 1. the first full build
        refresh = Refresher(summary, tz)
        rss_before = rss_mib()
        phases: dict = {}
        first, seconds = await refresh("first build", phases)
        mark = await SummaryMark.select().first()
        out["first_build"] = {
            "seconds": round(seconds, 2), "millis_reported": first.millis, "months": first.months, "rows": first.rows,
            "phases_s": phases, "writing_s": round(seconds - sum(phases.values()), 2), "stand_ins": refresh.standing_in,
            "client_month_rows": await ClientMonth.count(), "step_month_rows": await StepMonth.count(),
            "built_from": str(mark["built_from"]), "built_on": str(mark["built_on"]),
            "rss_before_mib": round(rss_before), "rss_after_mib": round(rss_mib()),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        f = out["first_build"]
        print(f"first build{' (with the stand-ins)' if f['stand_ins'] else ''}: {f['seconds']:.1f} s, {f['months']} months from "
              f"{f['built_from']}, {f['client_month_rows']:,} client months + {f['step_month_rows']:,} step months; RSS "
              f"{f['rss_before_mib']} -> peak {f['peak_rss_mib']} MiB (after: {f['rss_after_mib']} MiB); parts {phases}, "
              f"the rest (deleting, inserting, the mark) {f['writing_s']} s", flush=True)

        # 2. nothing new: what every tick pays (the portal's own: it stops before building anything)
        idle = []
        for _ in range(idle_runs):
            started = time.perf_counter()
            done = await summary.refresh(tz, utcnow())
            idle.append((time.perf_counter() - started) * 1000)
            if done.months:
                raise SystemExit(f"a refresh with nothing new rebuilt {done.months} months")
        out["idle_refresh_ms"] = {"runs": idle_runs, "median": round(statistics.median(idle), 1), "max": round(max(idle), 1),
                                  "min": round(min(idle), 1)}
        i = out["idle_refresh_ms"]
        print(f"refresh with nothing new: median {i['median']} ms, max {i['max']} ms ({idle_runs} runs)", flush=True)

        # 3. one payment received today, then the refresh (the current month rebuilt); the portal's own first
        refresh.standing_in = False
        today = local_date(utcnow(), tz)
        targets = await Invoice.select(Invoice.id, Invoice.client, Invoice.currency, Invoice.code, Invoice.total_minor,
                                       Invoice.paid_minor).where(
            (Invoice.status == InvoiceStatus.ISSUED) & (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.due_date < today)
        ).order_by(Invoice.id).limit(payment_runs)
        if len(targets) < payment_runs:
            raise SystemExit(f"only {len(targets)} overdue invoices to pay")
        paying, rebuilding, rows, parts = [], [], [], []
        for inv in targets:
            started = time.perf_counter()
            await record_payment(client_id=inv["client"], currency=inv["currency"],
                                 allocations=[(inv["id"], inv["total_minor"] - inv["paid_minor"])], method="bank_transfer",
                                 received_on=today, reference=f"bench {inv['code']}", actor=Actor.system())
            paying.append((time.perf_counter() - started) * 1000)
            phases = {}
            done, seconds = await refresh("after a payment today", phases)
            rebuilding.append(seconds * 1000)
            parts.append(phases)
            if done.months != 1:
                raise SystemExit(f"a payment received today rebuilt {done.months} months, not the current one")
            rows.append(done.rows)
        out["payment_refresh_ms"] = {"runs": payment_runs, "median": round(statistics.median(rebuilding)), "max": round(max(rebuilding)),
                                     "min": round(min(rebuilding)), "rows_rewritten": rows[-1], "stand_ins": refresh.standing_in,
                                     "phases_s_last": parts[-1], "record_payment_median_ms": round(statistics.median(paying), 1)}
        p = out["payment_refresh_ms"]
        print(f"refresh after a payment today{' (with the stand-ins)' if p['stand_ins'] else ''}: median {p['median']} ms, "
              f"max {p['max']} ms ({payment_runs} runs; {p['rows_rewritten']:,} rows rewritten; parts {p['phases_s_last']}; "
              f"record_payment itself {p['record_payment_median_ms']} ms)", flush=True)
        out["portal_failures"] = refresh.failures
    return out


# ---------------------------------------------------------------- the pages over HTTP
def last_day_of_previous_month(today: dt.date) -> dt.date:
    return today.replace(day=1) - dt.timedelta(days=1)


def day_not_month_end(today: dt.date, days_ago: int = 40) -> dt.date:
    day = today - dt.timedelta(days=days_ago)
    while (day + dt.timedelta(days=1)).day == 1:  # a month end is answered from the summary: step back a day
        day -= dt.timedelta(days=1)
    return day


SUMMARY, LIVE = "summary", "live"
# what a page reads: the summary tables (report_client_months / report_step_months), or invoices and payments live
READS = {
    SUMMARY: "summary",
    LIVE: "live: invoices + allocations",
    "drill": "live: invoices (one page)",
    "collection": "summary",
    "abc": "summary (+ pauses, plans)",
    "outcomes": "summary steps (+ calls, disputes, pauses, plans)",
    "sales": "summary (+ invoiced orders)",
}


def targets(today: dt.date) -> list[tuple[str, str, str, str | None, str]]:
    """(name, path, who, the aging source the page must say or None, what it reads)."""
    month_end, past = last_day_of_previous_month(today).isoformat(), day_not_month_end(today).isoformat()
    cc = "cc"
    return [
        ("aging by currency, today", "/staff/reports", cc, "summary", READS[SUMMARY]),
        ("aging by client, today", "/staff/reports?group=client", cc, "summary", READS[SUMMARY]),
        ("aging by manager, today", "/staff/reports?group=manager", cc, "summary", READS[SUMMARY]),
        ("aging by segment, today", "/staff/reports?group=segment", cc, "summary", READS[SUMMARY]),
        (f"aging on {month_end} (month end)", f"/staff/reports?day={month_end}", cc, "summary", READS[SUMMARY]),
        (f"aging on {past} by manager", f"/staff/reports?day={past}&group=manager", cc, "recomputed", READS[LIVE]),
        ("drill-down d1_30, today", "/staff/reports/aging/invoices?bucket=d1_30", cc, None, READS["drill"]),
        ("collection (DSO, CEI)", "/staff/reports/collection", cc, None, READS["collection"]),
        ("ABC analysis", "/staff/reports/abc", cc, None, READS["abc"]),
        ("outcomes", "/staff/reports/outcomes", cc, None, READS["outcomes"]),
        ("sales factors", "/staff/reports/sales", cc, None, READS["sales"]),
        ("export aging by client, xlsx", "/staff/reports/export/aging?group=client&format=xlsx", cc, None, READS[SUMMARY]),
        ("export ABC, csv", "/staff/reports/export/abc?format=csv", cc, None, READS["abc"]),
        ("aging by client, sales manager", "/staff/reports?group=client", "manager", "summary", READS[SUMMARY]),
    ]


def check(url: str, cookie: str, source: str | None) -> int:
    """The page answers 200 with itself (not the login form), from the aging source it should; its size."""
    import httpx

    for attempt in range(5):
        try:
            r = httpx.get(url, headers={"Cookie": cookie}, follow_redirects=False, timeout=120)
            break
        except httpx.ConnectError as error:  # seen once right after a wrk run, not reproduced: said, and tried again
            print(f"  ({url}: {error}; again in 1 s)", flush=True)
            if attempt == 4:
                raise
            time.sleep(1)
    if r.status_code != 200:
        raise SystemExit(f"{url} answered {r.status_code}: {r.text[:300]}")
    if "/export/" in url:
        if "attachment" not in r.headers.get("content-disposition", "") or not r.content:
            raise SystemExit(f"{url} is not a download: {r.headers}")
    elif 'name="password"' in r.text:
        raise SystemExit(f"{url} answered the login form")
    if source == "summary" and SUMMARY_TEXT not in r.text:
        raise SystemExit(f"{url} was not answered from the summary")
    if source == "recomputed" and RECOMPUTED_TEXT not in r.text:
        raise SystemExit(f"{url} was not recomputed")
    return len(r.content)


def pages(url: str, today: dt.date, seconds: int, connections: int, logs: Path) -> list[dict]:
    script = logs / "report.lua"
    script.write_text(bench_http.WRK_SCRIPT)
    proc = bench_http.start("portal", url, logs / "portal.log")
    try:
        cookies = {"cc": bench_http.login(STAFF_EMAIL), "manager": bench_http.login(MANAGER_EMAIL)}
        base = f"http://127.0.0.1:{bench_http.PORTS['portal']}"
        results = []
        for name, path, who, source, reads in targets(today):
            size = check(base + path, cookies[who], source)
            r = bench_http.wrk(base + path, cookies[who], seconds, connections, script)
            check(base + path, cookies[who], source)  # still logged in, still answering
            if r["errors"] or r["bad_status"]:
                raise SystemExit(f"{path}: {r['errors']} socket errors, {r['bad_status']} answers not 2xx/3xx under load")
            row = {"page": name, "path": path, "as": who, "reads": reads, "bytes": size, **r}
            results.append(row)
            print(f"{name:<36} {r['rps']:8.1f} req/s  p50 {r['p50']:8.1f}  p95 {r['p95']:8.1f}  p99 {r['p99']:8.1f} ms  "
                  f"({r['requests']:,} requests, {size:,} bytes)", flush=True)
        return results
    finally:
        bench_http.stop(proc)


def table(summary: dict, results: list[dict], connections: int) -> str:
    f, i, p = summary["first_build"], summary["idle_refresh_ms"], summary["payment_refresh_ms"]
    stand = " (stand-ins)"
    lines = ["", "| summary refresh | figure |", "| --- | --- |"]
    for failure in summary["portal_failures"]:
        lines.append(f"| {failure['refresh']}, the portal's own code | **fails** after {failure['after_s']} s at "
                     f"`{failure['where']}`: {failure['error']} |")
    lines += [f"| first full build ({f['months']} months from {f['built_from']}){stand if f['stand_ins'] else ''} "
              f"| {f['seconds']:.1f} s; {f['client_month_rows']:,} client months + {f['step_month_rows']:,} step months; RSS "
              f"{f['rss_before_mib']} → peak {f['peak_rss_mib']} MiB |",
              "| of it | " + ", ".join(f"{k} {v} s" for k, v in f["phases_s"].items()) + f", delete + insert + mark {f['writing_s']} s |",
             f"| nothing new (every tick), {i['runs']} runs | median {i['median']} ms, max {i['max']} ms |",
             f"| one payment today (current month rebuilt){stand if p['stand_ins'] else ''}, {p['runs']} runs | median {p['median']} ms, "
             f"max {p['max']} ms; {p['rows_rewritten']:,} rows rewritten |",
             "", f"| page ({connections} connections) | reads | req/s | p50 ms | p95 ms | p99 ms | p95 ≤ {P95_TARGET_MS} ms |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        if not r["requests"]:  # wrk counts only the answers that came within the run: none is not a fast page
            ok = "**no** (no answer within the run)"
        elif r["requests"] < connections * 2:
            ok = ("yes" if r["p95"] <= P95_TARGET_MS else "**no**") + f" ({r['requests']} answers only)"
        else:
            ok = "yes" if r["p95"] <= P95_TARGET_MS else "**no**"
        lines.append(f"| {r['page']} (`{r['path']}`) | {r['reads']} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | "
                     f"{r['p99']:.0f} | {ok} |")
    return "\n".join(lines)


def code_state() -> str:
    """The commit measured, and whether the portal's code differs from it."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.rstrip("\n")

    changed = git("status", "--porcelain", "--", "portal", "templates", "migrations").splitlines()
    return f"commit {git('rev-parse', '--short', 'HEAD')}" + (f", with {len(changed)} files of portal/templates/migrations changed "
                                                               f"({', '.join(c[3:] for c in changed[:5])})" if changed else ", clean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="portal_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--idle-runs", type=int, default=20)
    parser.add_argument("--payment-runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=15, help="wrk's run per page, after a 2 s warm-up")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes (WEB_WORKERS; production's default here is 2)")
    parser.add_argument("--no-http", action="store_true", help="only the refreshes")
    parser.add_argument("--keep", action="store_true", help="keep the copy the benchmark ran on")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    copy = f"{args.db}_reports"
    url = asyncio.run(clone(args.server, args.db, copy))
    meta = asyncio.run(read_meta(url))
    print(f"code: {code_state()}", flush=True)
    print(f"machine: {bench_http.machine()}; data set: {meta['invoices']:,} invoices, {meta.get('payments', 0):,} payments; "
          f"copy {copy}", flush=True)
    try:
        asyncio.run(reset_summary(url))
        summary = asyncio.run(refreshes(url, args.idle_runs, args.payment_runs))
        results: list[dict] = []
        if not args.no_http:
            from zoneinfo import ZoneInfo

            bench_http.WORKERS = args.workers
            today = dt.datetime.now(ZoneInfo("Europe/Bucharest")).date()  # the firm's zone (dunning_data.TZ)
            logs = Path(tempfile.mkdtemp(prefix="bench-reports-"))
            print(f"pages: {args.connections} connections, {args.seconds} s each, {args.workers} uvicorn process(es), "
                  f"DB_POOL_SIZE=10; server log in {logs}", flush=True)
            results = pages(url, today, args.seconds, args.connections, logs)
        print(table(summary, results, args.connections))
        print(json.dumps({"summary": summary, "pages": results}, indent=1))
    finally:
        if not args.keep:
            admin, _ = admin_url(args.server, copy)

            async def drop() -> None:
                conn = await asyncpg.connect(admin)
                await conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
                await conn.close()

            asyncio.run(drop())


if __name__ == "__main__":
    main()
