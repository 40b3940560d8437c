"""Speed of a dunning tick on the data set of bench/dunning_data.py (not part of `make test`).

    .venv/bin/python bench/dunning_data.py --db portal_bench --invoices 1000000
    .venv/bin/python bench/bench_dunning.py --db portal_bench

Works on a copy (CREATE DATABASE ... TEMPLATE) so the generated data set stays as it was:
1. a tick as of T0, when nothing is due (several runs; with a pool as `portal serve` ticks, and
   with a connection per query as `portal dunning run` does);
2. a tick as of T1, when every overdue invoice's next step falls due (~1 action per overdue
   invoice): seconds, actions per second, and the process's RSS sampled through the tick.
Sends no email (send_email=False).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.dunning_data import admin_url, read_meta  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def clone(server: str, source: str, target: str) -> str:
    admin, url = admin_url(server, target)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    await conn.close()
    return url


async def sampler(url: str, t1: dt.datetime, samples: list, stop: asyncio.Event) -> None:
    """Every half second: elapsed s, RSS MiB, actions planned at T1, actions still pending."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        while not stop.is_set():
            planned = await conn.fetchval("SELECT count(*) FROM dunning_actions WHERE taken_at = $1", t1)
            pending = await conn.fetchval("SELECT count(*) FROM dunning_actions WHERE status = 'pending'")
            samples.append((time.perf_counter() - started, rss_mib(), planned, pending))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        await conn.close()


async def run(url: str, meta: dict, runs: int, limit: float) -> dict:
    from portal import db
    from portal.settings import load_settings
    from portal.tick import run_dunning

    os.environ.update({"DATABASE_URL": url, "PORTAL_ENV": "test", "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal",
                       "DUNNING_TICK_SECONDS": "0"})
    settings = load_settings()
    engine = db.bind(db.engine_for(url))
    t0, t1 = dt.datetime.fromisoformat(meta["t0"]), dt.datetime.fromisoformat(meta["t1"])
    out: dict = {"invoices": meta["invoices"], "overdue": meta["overdue"], "expected_actions": meta["expected_actions_at_t1"]}

    # 1. nothing due, a connection per query (`portal dunning run`)
    idle_no_pool = []
    for _ in range(runs):
        report = await run_dunning(settings, t0, send_email=False)
        assert report.actions_planned == 0 and report.actions_done == 0, report.line()
        idle_no_pool.append(report.seconds)
    async with db.pool(engine, 10):  # DB_POOL_SIZE's default, as `portal serve` ticks
        idle = []
        for _ in range(runs):
            report = await run_dunning(settings, t0, send_email=False)
            assert report.actions_planned == 0 and report.actions_done == 0, report.line()
            idle.append(report.seconds)
        out["idle_tick_s"] = {"min": min(idle), "median": statistics.median(idle), "max": max(idle)}
        out["idle_tick_no_pool_s"] = {"min": min(idle_no_pool), "median": statistics.median(idle_no_pool)}
        print(f"tick with nothing due: median {out['idle_tick_s']['median']:.3f} s (pool), "
              f"{out['idle_tick_no_pool_s']['median']:.3f} s (a connection per query), {runs} runs", flush=True)

        # 2. the big tick
        samples: list = []
        stop = asyncio.Event()
        rss_before = rss_mib()
        watch = asyncio.create_task(sampler(url, t1, samples, stop))
        tick = asyncio.create_task(run_dunning(settings, t1, send_email=False))
        done_in_time, _ = await asyncio.wait({tick}, timeout=limit)
        stop.set()
        await watch
        if not done_in_time:  # stopped: the throughput so far, from the samples (the open batch rolls back)
            tick.cancel()
            await asyncio.gather(tick, return_exceptions=True)
            elapsed, rss, planned, pending = samples[-1]
            done = planned - pending
            out["busy_tick_stopped"] = {"after_s": round(elapsed, 1), "planned": planned, "done": done,
                                        "planned_per_s": round(planned / elapsed), "rss_mib": round(rss, 1),
                                        "rss_before_mib": round(rss_before, 1), "samples": samples[::10]}
            print(f"big tick stopped after {elapsed:.0f} s: {planned:,} actions planned, {done:,} done; RSS {rss_before:.0f} -> {rss:.0f} MiB",
                  flush=True)
            return out
        report = tick.result()
    print(report.line(), flush=True)
    out["busy_tick"] = {
        "seconds": round(report.seconds, 2), "planned": report.actions_planned, "done": report.actions_done,
        "invoices_looked_at": report.invoices_looked_at, "failed": report.actions_failed, "retrying": report.actions_retrying,
        "actions_per_s": round(report.actions_done / report.seconds), "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    plan_end = next((s[0] for s in samples if s[2] >= report.actions_planned and report.actions_planned), None)
    out["busy_tick"]["plan_s_approx"] = round(plan_end, 1) if plan_end else None
    # RSS as the tick went on: at ~10k actions planned, ~100k planned, half executed, the end
    marks = {}
    for elapsed, rss, planned, pending in samples:
        if planned >= 10_000 and "10k_planned" not in marks:
            marks["10k_planned"] = (round(elapsed, 1), round(rss, 1))
        if report.actions_planned and planned >= report.actions_planned and "all_planned" not in marks:
            marks["all_planned"] = (round(elapsed, 1), round(rss, 1))
        if report.actions_planned and planned >= report.actions_planned and pending <= report.actions_planned / 2 and "half_done" not in marks:
            marks["half_done"] = (round(elapsed, 1), round(rss, 1))
    if samples:
        marks["end"] = (round(samples[-1][0], 1), round(samples[-1][1], 1))
    out["busy_tick"]["rss_marks_mib"] = marks
    print(f"big tick: {report.actions_done:,} actions done in {report.seconds:.1f} s = {out['busy_tick']['actions_per_s']:,}/s; "
          f"RSS before {rss_before:.0f} MiB, (elapsed s, RSS MiB) at {marks}, peak {out['busy_tick']['peak_rss_mib']} MiB", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="portal_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=float, default=1800, help="stop the big tick after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the copy the ticks ran on")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    copy = f"{args.db}_tick"
    url = asyncio.run(clone(args.server, args.db, copy))
    meta = asyncio.run(read_meta(url))
    print(f"machine: {os.cpu_count()} cores; data set: {meta['invoices']:,} invoices, {meta['overdue']:,} overdue; copy {copy}", flush=True)
    result = asyncio.run(run(url, meta, args.runs, args.limit))
    print(json.dumps(result, indent=1))
    if not args.keep:
        admin, _ = admin_url(args.server, copy)

        async def drop() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())


if __name__ == "__main__":
    main()
