"""A large dunning data set on PostgreSQL, written with COPY (not part of `make test`).

    .venv/bin/python bench/dunning_data.py --db portal_bench --clients 10000 --invoices 1000000

Drops and re-creates the database, migrates it (which writes the default ladders), then loads
staff (an admin, a credit controller, a lawyer, 20 sales managers), the clients (one contact
each, segments A/B/C round robin, so A follows the negotiation ladder and B/C the pressure
ladder) and the invoices: 85% paid, 5% open and not yet due, 10% overdue at various steps of
their ladder. Every overdue invoice carries the `done` actions of the steps it has passed and
the dunning_states row the engine itself would store (made by rules.decide), so:

- a tick as of T0 (the generation moment: today 09:30 in the firm's zone) has nothing due;
- a tick as of T1 (today 12:30) takes one action per overdue invoice on average (the mix of
  days overdue is chosen so; the exact number is printed and stored).

The money has a history, for the receivables reports: every paid invoice has one payment (bank
transfer, RON, its total, reference = its code, recorded_by NULL) and one allocation of it, received
from 15 days before to 34 days after its due date (((j * 37) % 50) - 15 days for the j-th invoice,
never after yesterday), and is settled on that day (invoices.settled_on). One overdue invoice in 5
has received 30 % of its total 5 days before today (one payment and allocation; paid_minor says so,
it stays issued, settled_on NULL): a partial payment leaves the ladder going on the remainder, so
neither tick above changes. The report summary (report_* tables) is left empty, its mark fresh:
the first refresh (the first tick) builds it.

Client 1 ("Bench Client 00001") always holds the same 200 invoices whatever --invoices is, so
its invoice list can be compared across sizes; its user logs in as bench-client@client.test.
T0, T1 and the expected numbers are stored in the table bench_meta (key, value).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from portal.billing.rules import invoice_code  # noqa: E402 - needs ROOT on sys.path first
from portal.clock import local_date  # noqa: E402
from portal.dunning.engine import rules  # noqa: E402

TZ = "Europe/Bucharest"
PASSWORD = "bench-password-2026"
STAFF_EMAIL = "bench-cc@firm.test"  # credit controller
CLIENT_EMAIL = "bench-client@client.test"
BENCH_CLIENT_INVOICES = 200
CHUNK = 50_000
PARTIAL_SHARE = 30  # percent of an overdue invoice's total received, on one overdue invoice in PARTIAL_EVERY
PARTIAL_EVERY = 5
PARTIAL_DAYS_AGO = 5
# days overdue, round robin per ladder; as of T1 these take 1,1,1,2,1,0 and 1,1 actions
PRESSURE_MIX = (1, 2, 3, 7, 15, 5)
NEGOTIATION_MIX = (11, 41)


class Progress:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.started = label, total, 0, time.perf_counter()

    def add(self, n: int) -> None:
        self.done += n
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed else 0
        sys.stderr.write(f"\r{self.label:<18} {100 * self.done / max(self.total, 1):5.1f}%  {self.done:>9,}/{self.total:,}  {rate:>9,.0f} rows/s")
        if self.done >= self.total:
            sys.stderr.write(f"  {elapsed:.1f} s\n")
        sys.stderr.flush()


def admin_url(url: str, db: str) -> tuple[str, str]:
    base = url.rsplit("/", 1)[0]
    return f"{base}/postgres", f"{base}/{db}"


def moments(today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return rules.local_at(today, dt.time(9, 30), TZ), rules.local_at(today, dt.time(12, 30), TZ)


def step_rows_to_steps(rows) -> list[rules.Step]:
    return [rules.Step(id=r["id"], position=r["position"], name=r["name"], offset_days=r["offset_days"],
                       time_of_day=rules.parse_time(r["time_of_day"]), channel=r["channel"], assignee=r["assignee"],
                       deadline_days=r["deadline_days"], sanction=r["sanction"], skip_if_deferral=r["skip_if_deferral"],
                       active=r["is_active"]) for r in rows]


def overdue_template(steps: list[rules.Step], days_overdue: int, today: dt.date, t0: dt.datetime, t1: dt.datetime) -> dict:
    """The history an on-time engine leaves for an invoice `days_overdue` days overdue at T0, the
    state it stores, and how many actions a tick at T1 takes for it (all through rules.decide)."""
    due = today - dt.timedelta(days=days_overdue)
    facts = rules.InvoiceFacts(invoice_id=0, client_id=0, due_date=due, balance_minor=1)
    taken = []
    for step in sorted(steps, key=lambda s: (s.position, s.id)):
        at = rules.nominal_at(step, facts, TZ)
        if at <= t0:
            taken.append((step, at))
    history = [rules.Taken(s.id, "done", at) for s, at in taken]
    now = rules.decide(facts, steps, history, [], t0, TZ)
    assert not now.due, f"{days_overdue} days overdue: the history leaves {len(now.due)} due at T0"
    assert now.next_at is None or now.next_at > t0
    later = rules.decide(facts, steps, history, [], t1, TZ)
    return {"due": due, "taken": taken, "decision": now, "actions_at_t1": len(later.due)}


async def create_database(url: str, db: str) -> str:
    admin, target = admin_url(url, db)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{db}"')
    await conn.close()
    env = {**os.environ, "DATABASE_URL": target, "PORTAL_ENV": "test", "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal"}
    await asyncio.to_thread(subprocess.run, [str(Path(sys.executable).parent / "portal"), "migrate"], check=True, capture_output=True, env=env)
    return target


async def generate(url: str, clients: int, invoices: int) -> dict:
    from portal.auth.passwords import hash_password

    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    today = local_date(dt.datetime.now(dt.UTC), TZ)
    t0, t1 = moments(today)
    ladders = {r["segment"]: r["ladder"] for r in await conn.fetch("SELECT segment, ladder FROM dunning_segment_ladders")}
    if not ladders:
        sys.exit("no ladders: migrate should have written the default policy")
    versions = {r["id"]: r["version"] for r in await conn.fetch("SELECT id, version FROM dunning_ladders")}
    steps = {lid: step_rows_to_steps(await conn.fetch("SELECT * FROM dunning_steps WHERE ladder = $1 ORDER BY position, id", lid))
             for lid in versions}
    mixes = {lid: (NEGOTIATION_MIX if ladders.get("A") == lid else PRESSURE_MIX) for lid in versions}
    templates = {(lid, r): overdue_template(steps[lid], r, today, t0, t1) for lid in versions for r in mixes[lid]}

    # staff and the bench client's user
    pw = await hash_password(PASSWORD)
    staff = [("bench-admin@firm.test", "Bench Admin", "admin", False), (STAFF_EMAIL, "Bench Controller", "credit_controller", False),
             ("bench-lawyer@firm.test", "Bench Lawyer", "negotiator", True)]
    staff += [(f"manager{i:02d}@firm.test", f"Manager {i:02d}", "sales_manager", False) for i in range(20)]
    users = [(i + 1, e, n, "staff", r, legal, "en", pw, True, t0, None) for i, (e, n, r, legal) in enumerate(staff)]
    managers = [u[0] for u in users if u[4] == "sales_manager"]
    user_cols = ["id", "email", "name", "kind", "role", "is_legal", "language", "password_hash", "is_active", "created_at", "client"]
    await conn.copy_records_to_table("users", records=users, columns=user_cols)

    bar = Progress("clients", clients)
    rows, contacts = [], []
    for c in range(1, clients + 1):
        name = f"Bench Client {c:05d} SRL"
        rows.append((c, name, name.lower(), f"RO{c:08d}", f"office{c}@client{c}.test", "RON", 30, 0, 500 if c % 4 == 0 else 0,
                     2, "ABC"[(c - 1) % 3], False, 0, "ro" if c % 5 == 0 else "en", managers[c % len(managers)], False, t0, t0))
        contacts.append((c, c, f"Contact {c}", "Accounts", f"accounts@client{c}.test", "", True, t0))
    await conn.copy_records_to_table("clients", records=rows, columns=[
        "id", "name", "name_folded", "tax_id", "email", "currency", "payment_terms_days", "credit_limit_minor", "discount_bp",
        "service_priority", "segment", "privileged", "forgiveness_days", "language", "sales_manager", "on_credit_hold",
        "created_at", "updated_at"])
    await conn.copy_records_to_table("client_contacts", records=contacts, columns=[
        "id", "client", "name", "position", "email", "phone", "is_primary", "created_at"])
    client_user = (len(users) + 1, CLIENT_EMAIL, "Bench Client User", "client", "client", False, "en", pw, True, t0, 1)
    await conn.copy_records_to_table("users", records=[client_user], columns=user_cols)
    bar.add(clients)

    inv_cols = ["id", "series", "year", "number", "code", "client", "kind", "currency", "issue_date", "due_date", "status",
                "net_minor", "vat_minor", "total_minor", "paid_minor", "created_at", "settled_on"]
    act_cols = ["invoice", "step", "client", "ladder_version", "position", "channel", "scheduled_at", "taken_at", "status",
                "attempts", "next_attempt_at", "outcome", "done_at"]
    st_cols = ["invoice", "client", "ladder", "last_step", "last_position", "severity", "next_step", "next_at", "updated_at",
               "due_date", "paused_kind"]
    segment_of = lambda c: "ABC"[(c - 1) % 3]  # noqa: E731
    pay_cols = ["id", "client", "currency", "amount_minor", "method", "received_on", "reference", "external_id", "reverses",
                "recorded_by", "created_at"]
    alloc_cols = ["id", "payment", "invoice", "amount_minor"]
    counts = {"paid": 0, "open_not_due": 0, "overdue": 0, "actions_history": 0, "expected_actions_at_t1": 0,
              "payments": 0, "partial_payments": 0}
    overdue_seq = {lid: 0 for lid in versions}
    yesterday = today - dt.timedelta(days=1)
    partial_day = today - dt.timedelta(days=PARTIAL_DAYS_AGO)
    bar = Progress("invoices", invoices)
    inv, acts, states, pays, allocs = [], [], [], [], []

    def pay(invoice_id: int, client: int, amount: int, received: dt.date, code: str) -> None:
        payment_id = counts["payments"] + 1  # one allocation per payment: the same id for both
        pays.append((payment_id, client, "RON", amount, "bank_transfer", received, code, None, None, None, t0))
        allocs.append((payment_id, payment_id, invoice_id, amount))
        counts["payments"] += 1

    for j in range(invoices):
        client = 1 if j < BENCH_CLIENT_INVOICES else 2 + (j % max(clients - 1, 1))
        kind = j % 20
        total = 10_000 + (j * 7919) % 990_000
        net = round(total / 1.19)
        invoice_id = j + 1
        if kind < 2:  # overdue
            lid = ladders[segment_of(client)]
            mix = mixes[lid]
            tpl = templates[(lid, mix[overdue_seq[lid] % len(mix)])]
            overdue_seq[lid] += 1
            due, status, paid = tpl["due"], "issued", 0
            if counts["overdue"] % PARTIAL_EVERY == 0:  # part paid: the ladder goes on with the rest
                paid = total * PARTIAL_SHARE // 100
            for step, at in tpl["taken"]:
                acts.append((invoice_id, step.id, client, versions[lid], step.position, step.channel, at, at, "done", 1, at,
                             "bench history", at))
            d = tpl["decision"]
            states.append((invoice_id, client, lid, d.last_step.id if d.last_step else None, d.last_step.position if d.last_step else 0,
                           d.severity, d.next_step.id if d.next_step else None, d.next_at, t0, due, ""))
            counts["overdue"] += 1
            counts["actions_history"] += len(tpl["taken"])
            counts["expected_actions_at_t1"] += tpl["actions_at_t1"]
        elif kind == 2:  # open, due after the ladders' lead (never a candidate of either tick)
            due, status, paid = today + dt.timedelta(days=4 + j % 57), "issued", 0
            lid = ladders[segment_of(client)]
            d = rules.decide(rules.InvoiceFacts(invoice_id, client, due, total), steps[lid], [], [], t0, TZ)
            states.append((invoice_id, client, lid, None, 0, 0, d.next_step.id if d.next_step else None, d.next_at, t0, due, ""))
            counts["open_not_due"] += 1
        else:
            due, status, paid = today - dt.timedelta(days=20 + j % 700), "paid", total
            counts["paid"] += 1
        issue = due - dt.timedelta(days=30)
        code = invoice_code("BN", issue.year, invoice_id)
        settled = None
        if status == "paid":  # paid in one transfer, from 15 days early to 34 days late, settled that day
            settled = min(due + dt.timedelta(days=((j * 37) % 50) - 15), yesterday)
            pay(invoice_id, client, total, settled, code)
        elif paid:
            pay(invoice_id, client, paid, partial_day, code)
            counts["partial_payments"] += 1
        inv.append((invoice_id, "BN", issue.year, invoice_id, code, client, "invoice", "RON", issue, due,
                    status, net, total - net, total, paid, t0, settled))
        if len(inv) >= CHUNK or j == invoices - 1:
            await conn.copy_records_to_table("invoices", records=inv, columns=inv_cols)
            if pays:
                await conn.copy_records_to_table("payments", records=pays, columns=pay_cols)
                await conn.copy_records_to_table("payment_allocations", records=allocs, columns=alloc_cols)
            if acts:
                await conn.copy_records_to_table("dunning_actions", records=acts, columns=act_cols)
            if states:
                await conn.copy_records_to_table("dunning_states", records=states, columns=st_cols)
            bar.add(len(inv))
            inv, acts, states, pays, allocs = [], [], [], [], []
    # the numbers issued so far, as issuing keeps them (bank matching reads the series from here)
    await conn.execute("INSERT INTO invoice_counters (series, year, last_number, key) SELECT series, year, max(number), "
                       "series || '-' || year FROM invoices GROUP BY series, year")
    for table in ("users", "clients", "client_contacts", "invoices", "dunning_actions", "dunning_states", "payments",
                  "payment_allocations"):
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))")
    sys.stderr.write("analyze...\n")
    await conn.execute("VACUUM ANALYZE")
    meta = {"t0": t0.isoformat(), "t1": t1.isoformat(), "clients": clients, "invoices": invoices, **counts,
            "seconds": round(time.perf_counter() - started, 1)}
    await conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
    await conn.executemany("INSERT INTO bench_meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           [(k, json.dumps(v)) for k, v in meta.items()])
    await conn.close()
    return meta


async def read_meta(url: str) -> dict:
    conn = await asyncpg.connect(url)
    try:
        return {r["key"]: json.loads(r["value"]) for r in await conn.fetch("SELECT key, value FROM bench_meta")}
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="portal_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    url = asyncio.run(create_database(args.server, args.db))
    sys.stderr.write(f"created and migrated {url} in {time.perf_counter() - started:.1f} s\n")
    meta = asyncio.run(generate(url, args.clients, args.invoices))
    print(json.dumps({"database": url, **meta, "total_seconds": round(time.perf_counter() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
