"""The demo loader on a fresh, migrated SQLite database: consistent data, and idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

from portal import db, demo, demo_art
from portal.audit.tables import AuditEvent
from portal.auth import passwords
from portal.auth.roles import STAFF_ROLES, Kind
from portal.auth.tables import User
from portal.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentAllocation
from portal.clients.tables import Client, Contact
from portal.orders.tables import LayoutVariant, Order, TechnicalSpec
from portal.piccolo_app import APP_CONFIG

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 't.sqlite'}"
    env = {**os.environ, "DATABASE_URL": url, "PICCOLO_CONF": "piccolo_conf"}
    piccolo = Path(sys.executable).parent / "piccolo"
    done = await asyncio.to_thread(subprocess.run, [str(piccolo), "migrations", "forwards", "portal"], cwd=ROOT, env=env,
                                   capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    yield db.bind(db.engine_for(url))


async def _counts() -> dict[str, int]:
    return {t._meta.tablename: await t.count() for t in APP_CONFIG.table_classes}


async def test_demo_is_consistent_and_idempotent(database, tmp_path: Path) -> None:
    assert await demo.database_is_empty()
    uploads = tmp_path / "uploads"

    logins = await demo.load_demo(uploads)
    assert not await demo.database_is_empty()
    first = await _counts()

    clients = await Client.select()
    assert len(clients) == 12
    assert [c["name"] for c in clients if c["privileged"]] == ["Carpatia Retail SRL"]
    assert all(c["segment"] == "A" and c["forgiveness_days"] == 10 for c in clients if c["privileged"])
    assert Counter(c["segment"] for c in clients) == {"A": 3, "B": 5, "C": 4}
    assert {c["currency"] for c in clients} == {"RON", "EUR", "UAH", "BGN", "HUF", "USD"}
    assert all(c["sales_manager"] is not None and c["created_at"].tzinfo is not None for c in clients)

    users = await User.select()
    staff_roles = {u["role"] for u in users if u["kind"] == Kind.STAFF.value}
    assert staff_roles == {r.value for r in STAFF_ROLES}
    assert any(u["is_legal"] for u in users if u["role"] == "negotiator")
    per_client = Counter(u["client"] for u in users if u["kind"] == Kind.CLIENT.value)
    assert per_client == {c["id"]: 1 for c in clients}
    assert sorted(email for email, _, _ in logins) == sorted(u["email"] for u in users)

    for client in clients:
        contacts = await Contact.select().where(Contact.client == client["id"])
        assert 1 <= len(contacts) <= 3 and sum(c["is_primary"] for c in contacts) == 1

    orders = await Order.select()
    assert len(orders) >= 20
    credit_notes = await Invoice.select().where(Invoice.kind == "credit_note")
    cancelled = await Invoice.select().where(Invoice.status == "cancelled")
    assert sorted(c["credits_invoice"] for c in credit_notes) == sorted(i["id"] for i in cancelled) != []  # cancelled with a credit note
    invoices = await Invoice.select().where(Invoice.kind == "invoice")
    per_order = Counter(i["order"] for i in invoices if i["order"] is not None)
    assert per_order == {o["id"]: 1 for o in orders}
    assert any(i["order"] is None for i in invoices)

    lines = await InvoiceLine.select()
    allocations = await PaymentAllocation.select()
    payments = {p["id"]: p["received_on"] for p in await Payment.select(Payment.id, Payment.received_on)}
    for invoice in invoices:
        own = [line for line in lines if line["invoice"] == invoice["id"]]
        assert 1 <= len(own) <= 3
        for field in ("net_minor", "vat_minor", "total_minor"):
            assert invoice[field] == sum(line[field] for line in own), (invoice["code"], field)
        assert invoice["total_minor"] == invoice["net_minor"] + invoice["vat_minor"]
        assert invoice["paid_minor"] == sum(a["amount_minor"] for a in allocations if a["invoice"] == invoice["id"])
        assert invoice["code"] == f"INV-{invoice['year']}-{invoice['number']:05d}"
        assert (invoice["status"] == "paid") == (invoice["paid_minor"] == invoice["total_minor"] > 0)
        received = [payments[a["payment"]] for a in allocations if a["invoice"] == invoice["id"]]
        settled = {"paid": max(received, default=None), "issued": None,
                   "cancelled": next((c["issue_date"] for c in credit_notes if c["credits_invoice"] == invoice["id"]), None)}
        assert invoice["settled_on"] == settled[invoice["status"]], invoice["code"]
    assert all(c["settled_on"] == c["issue_date"] for c in credit_notes)
    # most lines carry the firm's unit cost (55-75 % of the price) for the margin report; some are unknown
    costs = [(line["unit_cost_minor"], line["unit_price_minor"]) for line in lines if line["unit_price_minor"] > 0]
    known = [(cost, price) for cost, price in costs if cost is not None]
    assert len(costs) > len(known) > len(costs) // 2
    assert all(0.55 * price - 1 <= cost <= 0.75 * price + 1 for cost, price in known)

    today = dt.date.today()
    open_invoices = [i for i in invoices if i["status"] == "issued"]
    assert any(i["due_date"] < today and i["paid_minor"] == 0 for i in open_invoices)  # overdue
    assert any(0 < i["paid_minor"] < i["total_minor"] for i in open_invoices)  # partly paid
    assert any(i["due_date"] >= today for i in open_invoices)  # not yet due
    for counter in await InvoiceCounter.select().where(InvoiceCounter.series == "INV"):
        assert counter["last_number"] == max(i["number"] for i in invoices if i["year"] == counter["year"])

    specced = {o["id"] for o in orders if o["stage"] not in ("request", "layout", "cancelled")}
    specs = await TechnicalSpec.select().output(load_json=True)
    assert {s["order"] for s in specs} == specced

    # every spec shows two real layout files of its own order, uploaded by the designer before the spec
    variants = {v["id"]: v for v in await LayoutVariant.select()}
    designer = await User.select(User.id).where(User.email == "andrei.design@demo.example").first()
    created = {o["id"]: o["created_at"] for o in orders}
    for spec in specs:
        ids = spec["variant_ids"] if isinstance(spec["variant_ids"], list) else json.loads(spec["variant_ids"])
        assert len(ids) == 2 and all(variants[i]["order"] == spec["order"] for i in ids), spec["id"]
        for i in ids:
            variant = variants[i]
            assert variant["uploaded_by"] == designer["id"] and variant["content_type"] == "image/png"
            assert created[spec["order"]] < variant["uploaded_at"] < spec["created_at"] < spec["sent_at"]
            data = (uploads / variant["stored_name"]).read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) == variant["size_bytes"]
        assert [variants[i]["original_name"] for i in ids] == ["variant-1.png", "variant-2.png"]
        assert spec["approved_variant"] == (ids[1] if spec["status"] == "approved" else None)
    assert len(variants) == 2 * len(specs)
    assert sorted(p.name for p in uploads.iterdir()) == sorted(v["stored_name"] for v in variants.values())
    assert await AuditEvent.count().where(AuditEvent.action == "variant_uploaded") == len(variants)
    assert await AuditEvent.count().where(AuditEvent.action == "client_created") == 12
    assert sum(p["amount_minor"] for p in await Payment.select()) == sum(a["amount_minor"] for a in allocations)

    admin = await User.select(User.password_hash).where(User.email == "ana.admin@demo.example").first()
    assert await passwords.verify_password(admin["password_hash"], demo.DEMO_PASSWORD)

    files = sorted(uploads.iterdir())
    assert await demo.load_demo(uploads) == logins
    assert await _counts() == first
    assert sorted(uploads.iterdir()) == files


async def test_demo_without_an_upload_folder_has_no_variants(database) -> None:
    await demo.load_demo()
    assert await TechnicalSpec.count() > 0
    assert await LayoutVariant.count() == 0
    assert all(s["variant_ids"] in ("[]", []) and s["approved_variant"] is None for s in await TechnicalSpec.select())


def test_layout_mockups_are_valid_deterministic_pngs() -> None:
    started = time.perf_counter()
    images = [demo_art.layout_png(5, palette, card=card) for palette in demo_art.PALETTES for card in (True, False)]
    assert (time.perf_counter() - started) / len(images) < 0.2  # a few ms each in practice
    assert len(set(images)) == len(images)
    assert demo_art.layout_png(5, "gold") == images[2]
    for png in images:
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height, png[24], png[25]) == (demo_art.WIDTH, demo_art.HEIGHT, 8, 2)
        idat = png.index(b"IDAT")
        size = int.from_bytes(png[idat - 4:idat], "big")
        raw = zlib.decompress(png[idat + 4:idat + 4 + size])
        assert len(raw) == height * (1 + 3 * width)
        assert png.endswith(b"IEND\xaeB`\x82")
