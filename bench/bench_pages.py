"""Latency of the busiest staff pages on a generated data set (not part of `make test`).

    DATABASE_URL=sqlite:////tmp/bench.sqlite .venv/bin/python bench/bench_pages.py --clients 10000 --orders 3000

Prints, per page, the mean and p95 time of N requests served in-process (no network), and
the number of SQL queries is fixed per page by design (no query per row).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def generate(clients: int, orders: int) -> None:
    from portal import db
    from portal.accounts.service import create_user
    from portal.audit.service import Actor
    from portal.auth.roles import Kind, Role
    from portal.billing.rules import Line
    from portal.billing.service import issue_invoice
    from portal.clients.rules import fold
    from portal.clients.tables import Client
    from portal.clock import utcnow
    from portal.orders.rules import BOARD_COLUMNS, order_code
    from portal.orders.tables import Order

    await create_user(email="bench@firm.test", name="Bench Admin", password="bench-password-1", kind=Kind.STAFF,
                      role=Role.ADMIN, actor=Actor.system())
    now = utcnow()
    batch = []
    for i in range(clients):
        name = f"Client {i:05d} SRL"
        batch.append(Client(name=name, name_folded=fold(name), currency="RON", segment="ABC"[i % 3],
                            payment_terms_days=30, created_at=now, updated_at=now))
        if len(batch) == 1000:
            await Client.insert(*batch)
            batch = []
            print(f"\rclients {i + 1}/{clients}", end="", flush=True)
    if batch:
        await Client.insert(*batch)
    print()
    stages = [s.value for s in BOARD_COLUMNS[:6]]
    for i in range(orders):
        async with db.transaction():
            order = Order(number=order_code(now.year, i + 1), client=1 + i % clients, product="Cards", quantity=100,
                          stage=stages[i % len(stages)], stage_changed_at=now, created_at=now)
            await order.save()
            await issue_invoice(client_id=1 + i % clients, currency="RON", lines=[Line("Cards", 100, 250, 1900)],
                                issue_date=now.date(), terms_days=30 - (i % 60), order_id=order.id, actor=Actor.system())
        if i % 200 == 0:
            print(f"\rorders {i + 1}/{orders}", end="", flush=True)
    print()


async def measure(app, paths: list[str], requests: int) -> None:
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as client:
        await client.get("/login")
        token = client.cookies["portal_csrf"]
        r = await client.post(
            "/login", data={"email": "bench@firm.test", "password": "bench-password-1", "_csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        for path in paths:
            await client.get(path)  # warm up
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                response = await client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{path:<40} mean {statistics.mean(times):7.1f} ms   p95 {p95:7.1f} ms   ({requests} requests)")


def main() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var}/bench.sqlite")
    os.environ.update({"PORTAL_VAR_DIR": var, "PORTAL_ENV": "test", "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal"})
    subprocess.run([str(Path(sys.executable).parent / "portal"), "migrate"], check=True, capture_output=True)
    from portal.app import create_app
    from portal.settings import load_settings

    app = create_app(load_settings())
    asyncio.run(generate(args.clients, args.orders))
    print(f"machine: {os.cpu_count()} cores; database: {os.environ['DATABASE_URL'].split(':')[0]}")
    asyncio.run(measure(app, ["/staff", "/staff/clients", "/staff/clients?q=client%2009", "/staff/orders"], args.requests))


if __name__ == "__main__":
    main()
