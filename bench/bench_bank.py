"""Speed of a bank statement import on the data set of bench/dunning_data.py (not part of `make test`).

    .venv/bin/python bench/dunning_data.py --db portal_bench --invoices 1000000
    .venv/bin/python bench/bench_bank.py --db portal_bench --lines 10000

Works on a copy (CREATE DATABASE ... TEMPLATE). Writes one CAMT.053 file of --lines transactions
against the open invoices there: 50 % name their invoice and pay its balance (booked at once),
10 % name it and pay part (queued), 15 % come from a payer IBAN known for the client and pay one
invoice's balance without naming it (booked at once), 15 % name nothing from an unknown payer
(queued; the database is asked for invoices of that balance), 10 % go out (kept, not matched).
Prints, as JSON: the file's size, the import and matching (one transaction: parse, check, keep,
match) and the booking of the matched lines (one settlement each) in seconds, lines per second,
statements per payment, and the process's RSS before, at its peak and after.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.bench_dunning import clone, rss_mib  # noqa: E402
from tests.bank.statements import FIRM_IBAN, Entry, camt053  # noqa: E402


async def pick(url: str, lines: int, seed: int) -> tuple[list[Entry], list[tuple[int, str]]]:
    """The file's entries and the payer IBANs to be known beforehand (client id, iban)."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    rows = await conn.fetch(
        "SELECT id, code, client, total_minor - paid_minor AS balance FROM invoices WHERE status = 'issued' AND kind = 'invoice' "
        "AND currency = 'RON' ORDER BY random() LIMIT $1", lines)
    await conn.close()
    if len(rows) < lines:
        sys.exit(f"only {len(rows)} open RON invoices: generate a larger data set")
    entries, known, day = [], [], dt.date.today()
    for n, row in enumerate(rows):
        amount = f"{row['balance'] // 100}.{row['balance'] % 100:02d}"
        kind = n % 20
        if kind < 10:
            entries.append(Entry(amount, f"Plata factura {row['code']}", payer=f"Client {row['client']}", payer_iban="",
                                 reference=f"B{n}", booked=day))
        elif kind < 12:
            part = max(1, row["balance"] // 2)
            entries.append(Entry(f"{part // 100}.{part % 100:02d}", f"Avans {row['code']}", payer_iban="", reference=f"B{n}", booked=day))
        elif kind < 15:
            iban = f"RO{n:02d}BANK{row['client']:016d}"[:24]
            known.append((row["client"], iban))
            entries.append(Entry(amount, "contravaloare marfa", payer_iban=iban, reference=f"B{n}", booked=day))
        elif kind < 18:
            entries.append(Entry(f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}", "transfer", payer_iban="", reference=f"B{n}", booked=day))
        else:
            entries.append(Entry("250.00", "furnizor", debit=True, payer_iban="", reference=f"B{n}", booked=day))
    return entries, known


async def run(url: str, entries: list[Entry], known: list[tuple[int, str]]) -> dict:
    os.environ.update({"DATABASE_URL": url, "PORTAL_ENV": "test", "SECRET_KEY": "bench-secret-key-long-enough-for-the-portal",
                       "PORTAL_VAR_DIR": str(ROOT / "var" / "bench")})
    from portal import db  # after DATABASE_URL is set
    from portal.audit.service import Actor
    from portal.bank import service as bank
    from portal.bank.tables import BankLine, LineStatus

    engine = db.bind(db.engine_for(url))
    async with db.pool(engine, 4):
        account_id = await bank.save_account({"name": "Bench RON", "iban": FIRM_IBAN, "currency": "RON", "auto_book_threshold": 90,
                                              "csv_mapping": ""}, Actor.system())
        for client_id, iban in known:
            await bank.learn_payer(client_id, iban, None)
        data = camt053(entries, iban=FIRM_IBAN)
        rss_before = rss_mib()
        started = time.perf_counter()
        with db.counting_queries() as counted:
            # the import without the booking: what import_file does inside its one transaction
            account, statements, file_format = await bank.read_statement(account_id, data)
            async with db.transaction():
                kept, to_book, _reversals = await bank.keep_and_match(account, statements, file_format, "bench.xml", Actor.system())
        imported = time.perf_counter() - started
        import_queries = counted.queries
        rss_import = rss_mib()
        started = time.perf_counter()
        with db.counting_queries() as counted:
            booked = await bank.book_matched(to_book, Actor.system())
        booking = time.perf_counter() - started
        statuses = {s: await BankLine.count().where(BankLine.status == s) for s in LineStatus}
    return {
        "file_mib": round(len(data) / 2**20, 1), "lines": kept.lines, "import_and_match_s": round(imported, 2),
        "import_lines_per_s": round(kept.lines / imported), "import_queries": import_queries,
        "matched": len(to_book), "booked": booked, "booking_s": round(booking, 1),
        "payments_per_s": round(booked / booking, 1) if booking else None,
        "queries_per_payment": round(counted.queries / max(booked, 1), 1),
        "statuses": {str(k): v for k, v in statuses.items() if v},
        "rss_mib": {"before": round(rss_before), "after_import": round(rss_import), "after_booking": round(rss_mib()),
                    "peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="portal_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    url = asyncio.run(clone(args.server, args.db, f"{args.db}_bank"))
    entries, known = asyncio.run(pick(url, args.lines, args.seed))
    print(json.dumps({"database": args.db, **asyncio.run(run(url, entries, known))}, indent=1))


if __name__ == "__main__":
    main()
