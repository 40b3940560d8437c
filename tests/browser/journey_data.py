"""Data a journey makes for itself on the shared demo server, so journeys never compete for the
demo's own invoices (the server's database is one for the whole session)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.browser.conftest import ROOT, SECRET

ISSUE = """
import asyncio, datetime as dt, sys
from portal import db
from portal.audit.service import Actor
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.settings import load_settings

async def main(client_id, currency):
    settings = load_settings()
    db.bind(db.engine_for(settings.database_url))
    today = dt.date.today()
    invoice = await billing.issue_invoice(
        client_id=client_id, currency=currency, lines=[Line("Shelf displays, second batch", 4, 500000, 1900)],
        issue_date=today - dt.timedelta(days=40), terms_days=30, order_id=None, actor=Actor.system())
    print(invoice["id"], invoice["code"], invoice["total_minor"])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def database(portal_server) -> sqlite3.Connection:
    return sqlite3.connect(portal_server.log_path.parent / "portal.sqlite")


def portal_env(portal_server) -> dict:
    folder = portal_server.log_path.parent
    return {**os.environ, "PORTAL_ENV": "test", "SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite'}",
            "PORTAL_VAR_DIR": str(folder / "var")}


def overdue_invoice(portal_server, *, nth_client: int = 0) -> dict:
    """A new invoice, ten days overdue, for the nth demo client that has a portal user (never the
    pay journey's Pannonia Bank): issued through billing, so the ladder follows it as any other."""
    with database(portal_server) as conn:
        client_id, name, currency, email = conn.execute(
            """SELECT c.id, c.name, c.currency, MIN(u.email) FROM clients c JOIN users u ON u.client = c.id
               WHERE u.kind = 'client' AND u.is_active AND c.name NOT LIKE 'Pannonia%'
               GROUP BY c.id, c.name, c.currency ORDER BY c.id LIMIT 1 OFFSET ?""", (nth_client,)).fetchone()
    issued = subprocess.run([sys.executable, "-c", ISSUE, str(client_id), currency], env=portal_env(portal_server), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert issued.returncode == 0, issued.stderr
    invoice_id, code, total = issued.stdout.split()[-3:]
    return {"id": int(invoice_id), "code": code, "total": int(total), "client_id": client_id, "client_name": name,
            "email": email}
