"""Demo data: a card & packaging manufacturer with its staff, twelve B2B clients, orders,
invoices and payments, all dated relative to today so the demo always looks current.

`load_demo()` is idempotent: everything (users included: create_user joins the open
transaction) is written in one transaction, and nothing is written when the demo's first
client is already there. Every demo login uses DEMO_PASSWORD.

Given an upload folder, every order with a spec also gets two layout variants (PNG mock-ups drawn
by portal.demo_art, uploaded by the designer through the real upload use case) that its spec
shows; an approved spec names the second one. Should the load fail, the files it wrote go too.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from portal import db
from portal.accounts.service import create_user
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Kind, Role
from portal.auth.tables import User
from portal.bank.tables import BankAccount
from portal.billing import conditions
from portal.billing.rules import invoice_code
from portal.billing.service import next_number
from portal.billing.tables import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentAllocation
from portal.clients.rules import fold
from portal.clients.tables import Client, Contact
from portal.clock import local_date, utcnow
from portal.demo_art import layout_png
from portal.dunning.engine import rules as dunning_rules
from portal.dunning.escalation import service as escalation
from portal.dunning.ladders.seeds import ensure_defaults as ensure_dunning_defaults
from portal.money import exponent, percent_of, round_half_away
from portal.negotiation.disputes import service as disputes
from portal.negotiation.schedules import rules as policy, service as schedules
from portal.orders.rules import order_code
from portal.orders.specs import service as specs
from portal.orders.tables import LayoutVariant, Order, SpecStatus, Stage, TechnicalSpec
from portal.settlement import cancel_invoice
from portal.tick import run_dunning

DEMO_PASSWORD = "demo-password-2026"
DOMAIN = "demo.example"

# --- staff: key, email, name, role, is_legal, language -----------------------------------
STAFF = (
    ("admin", "ana.admin", "Ana Popescu", Role.ADMIN, False, "ro"),
    ("mihai", "mihai.sales", "Mihai Ionescu", Role.SALES_MANAGER, False, "ro"),
    ("olena", "olena.sales", "Olena Kovalenko", Role.SALES_MANAGER, False, "uk"),
    ("elena", "elena.spec", "Elena Dumitrescu", Role.SPEC_COORDINATOR, False, "ro"),
    ("georgi", "georgi.spec", "Georgi Petrov", Role.SPEC_COORDINATOR, False, "bg"),
    ("andrei", "andrei.design", "Andrei Stan", Role.DESIGNER, False, "en"),
    ("cristina", "cristina.credit", "Cristina Marin", Role.CREDIT_CONTROLLER, False, "ro"),
    ("radu", "radu.negotiator", "Radu Vasile", Role.NEGOTIATOR, False, "ro"),
    ("laszlo", "laszlo.legal", "László Kovács", Role.NEGOTIATOR, True, "hu"),
)
ROLE_LABELS = {
    Role.ADMIN: "Admin", Role.SALES_MANAGER: "Sales manager", Role.SPEC_COORDINATOR: "Spec coordinator",
    Role.DESIGNER: "Designer", Role.CREDIT_CONTROLLER: "Credit controller", Role.NEGOTIATOR: "Negotiator",
    Role.CLIENT: "Client",
}

# --- clients: name, mail domain, tax id, address, currency, language, terms (days),
#     credit limit (major units), discount (bp), priority, segment, sales manager ----------
CLIENTS = (
    ("Carpatia Retail SRL", "carpatia", "RO18273645", "Str. Fabricii 12, 400620 Cluj-Napoca, Romania",
     "RON", "ro", 30, 500_000, 500, 1, "A", "mihai"),
    ("Pannonia Bank Zrt.", "pannonia-bank", "HU12345678", "Váci út 81, 1139 Budapest, Hungary",
     "EUR", "en", 45, 250_000, 300, 1, "A", "mihai"),
    ("Dnipro Fuel Network LLC", "dniprofuel", "UA40112233", "prosp. Yavornytskoho 60, 49000 Dnipro, Ukraine",
     "UAH", "uk", 14, 8_000_000, 250, 1, "A", "olena"),
    ("Sofia Transit Cards EOOD", "sofiatransit", "BG204567891", "bul. Vitosha 89, 1463 Sofia, Bulgaria",
     "BGN", "bg", 30, 150_000, 200, 2, "B", "olena"),
    ("Balaton Hotels Kft.", "balatonhotels", "HU23456789", "Petőfi Sándor u. 4, 8230 Balatonfüred, Hungary",
     "HUF", "hu", 30, 20_000_000, 150, 2, "B", "mihai"),
    ("Transilvania Pharma SRL", "transpharma", "RO30405060", "Bd. Eroilor 5, 500030 Brașov, Romania",
     "RON", "ro", 60, 200_000, 100, 2, "B", "mihai"),
    ("Lviv Coffee Roasters LLC", "lvivcoffee", "UA41223344", "vul. Rynok 10, 79008 Lviv, Ukraine",
     "UAH", "uk", 21, 1_500_000, 0, 2, "B", "olena"),
    ("Chornomorsk Shipping LLC", "chornomorsk", "UA42334455", "vul. Portova 1, 68001 Chornomorsk, Ukraine",
     "USD", "en", 45, 120_000, 100, 2, "B", "olena"),
    ("Varna Gaming Club AD", "varnagaming", "BG103456782", "bul. Primorski 41, 9000 Varna, Bulgaria",
     "BGN", "bg", 15, 60_000, 0, 3, "C", "olena"),
    ("Debrecen Fitness Kft.", "debrecenfit", "HU34567890", "Piac u. 20, 4025 Debrecen, Hungary",
     "HUF", "hu", 7, 3_000_000, 0, 3, "C", "mihai"),
    ("Iași Book Corner SRL", "iasibooks", "RO41526374", "Str. Lăpușneanu 7, 700057 Iași, Romania",
     "RON", "ro", 14, 25_000, 0, 3, "C", "mihai"),
    ("Odesa Print Partners LLC", "odesaprint", "UA43445566", "vul. Derybasivska 15, 65026 Odesa, Ukraine",
     "EUR", "uk", 7, 10_000, 0, 3, "C", "olena"),
)
PRIVILEGED = {0: 10}  # client index -> forgiveness days (segment A only)

# --- contacts per client (first one is primary and logs in as the client user):
#     name, position, email local part, phone --------------------------------------------
CONTACTS = (
    (("Ion Georgescu", "Procurement manager", "ion", "+40 264 431 210"),
     ("Ioana Mureșan", "Marketing director", "ioana", "+40 744 123 456")),
    (("Zsófia Nagy", "Card programme manager", "zsofia", "+36 1 555 0101"),
     ("Péter Tóth", "Procurement", "peter", "+36 30 555 0102"),
     ("Dr. Anna Kiss", "Legal counsel", "anna", "+36 1 555 0103")),
    (("Oksana Shevchenko", "Loyalty programme lead", "oksana", "+380 56 700 1020"),
     ("Dmytro Bondarenko", "Chief accountant", "dmytro", "+380 67 700 1021")),
    (("Ivan Dimitrov", "Head of ticketing", "ivan", "+359 2 960 1100"),),
    (("Gábor Szabó", "Operations manager", "gabor", "+36 87 555 200"),
     ("Eszter Varga", "Front office lead", "eszter", "+36 30 555 201")),
    (("Andreea Popa", "Category manager", "andreea", "+40 268 410 300"),
     ("Vlad Constantin", "Purchasing", "vlad", "+40 722 410 301")),
    (("Taras Melnyk", "Owner", "taras", "+380 32 255 4400"),),
    (("Serhii Tkachenko", "Crew manager", "serhii", "+380 48 680 1500"),
     ("Natalia Moroz", "Finance", "natalia", "+380 67 680 1501")),
    (("Nikolay Ivanov", "Club manager", "nikolay", "+359 52 600 700"),),
    (("Réka Molnár", "Owner", "reka", "+36 52 555 800"),),
    (("Cătălin Rusu", "Store manager", "catalin", "+40 232 210 900"),),
    (("Yulia Savchenko", "Production manager", "yulia", "+380 48 725 1000"),
     ("Andrii Lysenko", "Director", "andrii", "+380 50 725 1001")),
)

# --- orders: client, product, quantity, unit price (EUR cents, converted), stage,
#     days since created, hours since the stage changed, settlement of its invoice ----------
ORDERS = (
    (0, "PVC loyalty cards, 0.76 mm, 4+4", 50_000, 9, Stage.CLOSED, 75, 960, "paid"),
    (8, "Membership cards, gold foil, 4+4", 5_000, 15, Stage.CLOSED, 60, 840, "paid"),
    (4, "RFID hotel key cards, 0.76 mm, 4+4", 15_000, 38, Stage.CLOSED, 50, 720, "paid"),
    (2, "Fuel loyalty cards, HiCo magnetic stripe, 4+4", 100_000, 7, Stage.DELIVERED, 40, 120, "paid"),
    (5, "Blister-pack inserts, 350 g/m² board, 4+1", 80_000, 4, Stage.CANCELLED, 35, 504, ""),
    (11, "Business cards on PVC, 0.5 mm, 4+4", 2_000, 9, Stage.DELIVERED, 30, 288, "paid"),
    (3, "Transit smart cards, Mifare Classic 1K", 60_000, 55, Stage.DELIVERED, 25, 72, "paid"),
    (1, "Contactless debit cards, Mifare DESFire EV3", 25_000, 95, Stage.IN_PRODUCTION, 20, 72, "paid"),
    (6, "Coffee stamp cards, 0.5 mm, 4+4", 10_000, 10, Stage.DELIVERED, 18, 192, "paid"),
    (9, "Gym member cards, RFID 125 kHz", 3_000, 45, Stage.AWAITING_PREPAYMENT, 14, 144, ""),
    (7, "Crew ID cards with photo personalisation", 1_200, 120, Stage.SPEC_APPROVED, 12, 96, "part"),
    (6, "Kraft gift boxes with hot-foil logo", 2_000, 85, Stage.IN_PRODUCTION, 10, 48, "paid"),
    (1, "Card mailers with window envelopes", 25_000, 14, Stage.SPEC_APPROVED, 9, 50, ""),
    (0, "Gift card carriers, 300 g/m² board, 4+0", 20_000, 12, Stage.IN_PRODUCTION, 6, 30, "paid"),
    (5, "Pharmacy loyalty cards, matt lamination, 4+4", 40_000, 8, Stage.SPEC_SENT, 5, 48, ""),
    (2, "Key-tag cards, 3-up, 4+4", 40_000, 8, Stage.AWAITING_PREPAYMENT, 4, 60, ""),
    (10, "Bookmark cards, 0.38 mm PVC, 4+4", 8_000, 6, Stage.LAYOUT, 4, 10, ""),
    (3, "Card sleeves, transparent PP", 60_000, 3, Stage.LAYOUT, 3, 6, ""),
    (0, "Scratch-off promo cards, 4+4", 30_000, 11, Stage.SPEC_SENT, 2, 20, ""),
    (4, "Folding boxes for key-card kits, E-flute", 3_000, 65, Stage.REQUEST, 1, 3, ""),
    (11, "Printed shipping boxes, 3-ply, 1+0", 1_500, 70, Stage.REQUEST, 0, 1, ""),
)
# invoices without an order (recurring supplies): client, description, qty, EUR cents, days ago, settlement
RECURRING = (
    (5, "Quarterly supply: printed pharmacy paper bags", 50_000, 6, 70, ""),
    (0, "Monthly supply: blank white PVC cards, 0.76 mm", 100_000, 4, 35, ""),
    (2, "Storage of finished cards, pallet-months", 6, 4_000, 8, "paid"),
    # just overdue, for the demo's negotiation (demo.negotiate): a proposal, a running plan, a dispute
    (8, "Loyalty cards with magnetic stripe", 30_000, 9, 16, ""),
    (4, "Hotel key cards, RFID, printed", 12_000, 35, 32, ""),
    (7, "Crew ID cards with lanyards", 2_000, 180, 48, ""),
)
PREPRESS = ("Design and prepress", 1, 4_500)
DELIVERY = ("Delivery, palletised (DAP)", 1, 12_000)
SHIPPED = (Stage.IN_PRODUCTION, Stage.DELIVERED, Stage.CLOSED)
SPEC_STAGES = (Stage.SPEC_SENT, Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT, *SHIPPED)  # orders that have a sent spec
EUR_RATE_X100 = {"EUR": 100, "USD": 108, "RON": 497, "BGN": 196, "HUF": 39_500, "UAH": 4_500}
VAT_BP = {"RON": 1900, "UAH": 2000, "BGN": 2000, "HUF": 2700, "EUR": 0, "USD": 0}
METHODS = ("bank_transfer", "bank_transfer", "card", "cash")
# the two layout variants of every spec: label, file name, palette (see portal.demo_art)
VARIANTS = (("Variant 1 — blue band", "variant-1.png", "blue"), ("Variant 2 — gold foil look", "variant-2.png", "gold"))
PACKAGING_WORDS = ("box", "mailer", "carrier", "insert", "sleeve", "bag")


def _email(local: str, company_domain: str | None = None) -> str:
    return f"{local}@{company_domain}.{DOMAIN}" if company_domain else f"{local}@{DOMAIN}"


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role label, company or "") for every demo login; the password is DEMO_PASSWORD."""
    rows = [(_email(email), ROLE_LABELS[role] + (", lawyer" if legal else ""), "") for _, email, _, role, legal, _ in STAFF]
    for client, contacts in zip(CLIENTS, CONTACTS, strict=True):
        rows.append((_email(contacts[0][2], client[1]), ROLE_LABELS[Role.CLIENT], client[0]))
    return rows


async def present_logins() -> list[tuple[str, str, str]]:
    """The demo logins this database has (none when it holds no demo data)."""
    logins = demo_logins()
    found = {row["email"] for row in await User.select(User.email).where(User.email.is_in([e for e, *_ in logins]))}
    return [login for login in logins if login[0] in found]


async def database_is_empty() -> bool:
    return await User.count() == 0 and await Client.count() == 0


@dataclass
class _Layouts:
    """Where the variants go, and the files written so far (removed again if the load fails)."""

    folder: Path
    written: list[Path] = field(default_factory=list)


# the firm's accounts whose statements are imported at /staff/bank (valid IBANs of no real account)
BANK_ACCOUNTS = (("BCR current account RON", "RO49AAAA1B31007593840000", "RON"), ("BCR current account EUR", "RO66BACX0000001234567890", "EUR"))


async def load_demo(upload_dir: Path | None = None) -> list[tuple[str, str, str]]:
    layouts = _Layouts(Path(upload_dir)) if upload_dir is not None else None
    try:
        async with db.transaction():
            await ensure_dunning_defaults()  # the ladders and delay reasons (a database migrated before they existed)
            if not await Client.exists().where(Client.name_folded == fold(CLIENTS[0][0])):
                await _load(layouts)
    except BaseException:
        for path in layouts.written if layouts else ():
            path.unlink(missing_ok=True)
        raise
    return demo_logins()


async def _load(layouts: _Layouts | None) -> None:
    now, today = utcnow(), dt.date.today()
    staff = {key: await _user(email, name, role, legal, lang) for key, email, name, role, legal, lang in STAFF}
    clients = [await _client(i, row, staff, now) for i, row in enumerate(CLIENTS)]
    bills = await _orders(clients, staff, now, today, layouts) + [
        _Bill(today - dt.timedelta(days=days), now - dt.timedelta(days=days), clients[ci], [(text, qty, cents)], settle,
              len(ORDERS) + i, notes="Recurring supply agreement")
        for i, (ci, text, qty, cents, days, settle) in enumerate(RECURRING)
    ]
    for bill in sorted(bills, key=lambda b: b.issued):  # numbered in the order they were issued
        await _invoice(bill, staff["cristina"], today)

    await escalation.track([r["id"] for r in await Invoice.select(Invoice.id)])  # the ladder follows the open ones
    for name, iban, currency in BANK_ACCOUNTS:
        await BankAccount.insert(BankAccount(name=name, iban=iban, currency=currency, auto_book_threshold=90, csv_mapping="", created_at=now))


async def _user(local: str, name: str, role: Role, legal: bool, language: str, *,
                domain: str | None = None, client_id: int | None = None) -> int:
    return await create_user(
        email=_email(local, domain), name=name, password=DEMO_PASSWORD, kind=Kind.STAFF if client_id is None else Kind.CLIENT,
        role=role, client_id=client_id, is_legal=legal, language=language, actor=Actor.system(),
    )


async def _client(index: int, row: tuple, staff: dict[str, int], now: dt.datetime) -> dict:
    name, domain, tax_id, address, currency, language, terms, limit, discount, priority, segment, manager = row
    contacts = CONTACTS[index]
    client = Client(
        name=name, name_folded=fold(name), tax_id=tax_id, email=_email("office", domain), phone=contacts[0][3],
        address=address, currency=currency, payment_terms_days=terms, credit_limit_minor=limit * 10 ** exponent(currency),
        discount_bp=discount, service_priority=priority, segment=segment, privileged=index in PRIVILEGED,
        forgiveness_days=PRIVILEGED.get(index, 0), language=language, sales_manager=staff[manager],
        created_at=now - dt.timedelta(days=400 - 20 * index), updated_at=now,
    )
    await client.save()
    await audit.record(Actor.system(), "client_created", "client", client.id, client_id=client.id,
                       after={"name": name, "segment": segment, "currency": currency})
    for position, (person, title, local, phone) in enumerate(contacts):
        await Contact(client=client.id, name=person, position=title, email=_email(local, domain), phone=phone,
                      is_primary=position == 0, created_at=client.created_at).save()
    person, _, local, _ = contacts[0]
    user_id = await _user(local, person, Role.CLIENT, False, language, domain=domain, client_id=client.id)
    return {"id": client.id, "currency": currency, "terms": terms, "discount": discount,
            "manager": staff[manager], "user": user_id, "signer": person}


def _price(eur_cents: int, client: dict) -> int:
    """A unit price in the client's currency, less the client's discount."""
    unit = round_half_away(eur_cents * EUR_RATE_X100[client["currency"]], 100)
    return unit - percent_of(unit, client["discount"])


@dataclass
class _Bill:
    """An invoice to write: its dates, client, (description, quantity, EUR cents) lines and settlement."""

    issued: dt.date
    created: dt.datetime
    client: dict
    lines: list[tuple[str, int, int]]
    settle: str  # "paid", "part" (40 %) or "" (unpaid)
    index: int
    order_id: int | None = None
    cancelled_at: dt.datetime | None = None
    notes: str = ""


async def _orders(clients: list[dict], staff: dict[str, int], now: dt.datetime, today: dt.date,
                  layouts: _Layouts | None) -> list[_Bill]:
    bills = []
    for i, (ci, product, qty, cents, stage, days, hours, settle) in enumerate(ORDERS):
        client = clients[ci]
        created = now - dt.timedelta(days=days, hours=2)
        changed = max(created, now - dt.timedelta(hours=hours))
        uploads = layouts is not None and stage in SPEC_STAGES
        order = Order(  # with variants to upload: saved at the layout stage, where the designer works
            number=order_code(created.year, await next_number("ORD", created.year)), client=client["id"], sales_manager=client["manager"],
            product=product, quantity=qty, stage=Stage.LAYOUT if uploads else stage, stage_changed_at=changed, created_at=created,
            wanted_date=None if stage in (Stage.DELIVERED, Stage.CLOSED, Stage.CANCELLED) else today + dt.timedelta(days=21),
        )
        await order.save()
        if stage in SPEC_STAGES:
            variant_ids = await _variants(order, staff, _sent_at(order, stage, changed), layouts) if uploads else []
            if order.stage != stage:
                await Order.update({Order.stage: stage}).where(Order.id == order.id)
                order.stage = stage
            await _spec(order, client, staff, changed, variant_ids)
        lines = [(product, qty, cents)] + ([PREPRESS] if i % 3 == 0 else []) + ([DELIVERY] if stage in SHIPPED else [])
        bills.append(_Bill(today - dt.timedelta(days=days), created, client, lines, settle, i, order_id=order.id,
                           cancelled_at=changed if stage == Stage.CANCELLED else None))
    return bills


def _sent_at(order: Order, stage: str, changed: dt.datetime) -> dt.datetime:
    """When the spec went to the client: at the last stage change, or two days before its approval
    (but never within six hours of the order's creation)."""
    if stage == Stage.SPEC_SENT:
        return changed
    return max(changed - dt.timedelta(days=2), min(order.created_at + dt.timedelta(hours=6), changed))


async def _variants(order: Order, staff: dict[str, int], sent_at: dt.datetime, layouts: _Layouts) -> list[int]:
    """The designer's two mock-ups, uploaded like any layout file, then dated between the order's
    creation and the spec's (rows and timeline events alike)."""
    designer = Actor(staff["andrei"], next(name for key, _, name, *_ in STAFF if key == "andrei"))
    card = not any(word in order.product.lower() for word in PACKAGING_WORDS)
    ids = []
    for label, file_name, palette in VARIANTS:
        data = layout_png(order.id, palette, card=card)
        variant_id, checked = await specs.upload_variant(order.id, label=label, original_name=file_name, data=data,
                                                         size=len(data), actor=designer, upload_dir=layouts.folder)
        if variant_id is None:
            raise RuntimeError(f"demo layout refused: {checked.errors}")
        row = await LayoutVariant.select(LayoutVariant.stored_name).where(LayoutVariant.id == variant_id).first()
        layouts.written.append(layouts.folder / row["stored_name"])
        ids.append(variant_id)
    spec_created = sent_at - dt.timedelta(hours=3)
    events = await AuditEvent.select(AuditEvent.id).where(
        (AuditEvent.action == "variant_uploaded") & (AuditEvent.object_type == "order") & (AuditEvent.object_id == order.id)
    ).order_by(AuditEvent.id)
    for n, (variant_id, event) in enumerate(zip(ids, events, strict=False), start=1):
        at = order.created_at + (spec_created - order.created_at) * n / (len(ids) + 1)
        await LayoutVariant.update({LayoutVariant.uploaded_at: at}).where(LayoutVariant.id == variant_id)
        await AuditEvent.update({AuditEvent.at: at}).where(AuditEvent.id == event["id"])
    return ids


async def _spec(order: Order, client: dict, staff: dict[str, int], changed: dt.datetime, variant_ids: list[int]) -> None:
    approved = order.stage != Stage.SPEC_SENT
    sent_at = _sent_at(order, order.stage, changed)
    await TechnicalSpec(
        order=order.id, version=1, status=SpecStatus.APPROVED if approved else SpecStatus.SENT, variant_ids=json.dumps(variant_ids),
        approved_variant=variant_ids[1] if approved and variant_ids else None,
        materials="PVC 0.76 mm, white core, glossy overlay" if "card" in order.product.lower() else "Coated board, 350 g/m²",
        finishing="Offset 4+4, rounded corners R3", quantities=f"{order.quantity:,} pcs, packed in boxes of 500",
        contract_note="Colour tolerance ΔE ≤ 3; ±2 % quantity tolerance.", created_by=staff["elena"],
        created_at=sent_at - dt.timedelta(hours=3), sent_by=staff["elena"], sent_at=sent_at,
        decided_by=client["user"] if approved else None, decided_at=changed if approved else None,
        signature_name=client["signer"] if approved else "",
    ).save()


async def _invoice(bill: _Bill, controller: int, today: dt.date) -> None:
    client, issued = bill.client, bill.issued
    number, rate = await next_number("INV", issued.year), VAT_BP[client["currency"]]
    rows = []
    for position, (description, qty, cents) in enumerate(bill.lines, start=1):
        unit = _price(cents, client)
        rows.append((description, qty, unit, qty * unit, percent_of(qty * unit, rate), _cost(unit, bill, position, description)))
    net, vat = sum(r[3] for r in rows), sum(r[4] for r in rows)
    invoice = Invoice(
        series="INV", year=issued.year, number=number, code=invoice_code("INV", issued.year, number), client=client["id"],
        order=bill.order_id, currency=client["currency"], issue_date=issued,
        due_date=issued + dt.timedelta(days=client["terms"]), status=InvoiceStatus.ISSUED,
        net_minor=net, vat_minor=vat, total_minor=net + vat, notes=bill.notes, created_by=client["manager"],
        created_at=bill.created,
    )
    await invoice.save()
    for position, (description, qty, unit, line_net, line_vat, cost) in enumerate(rows, start=1):
        await InvoiceLine(invoice=invoice.id, position=position, description=description, quantity=qty,
                          unit_price_minor=unit, vat_rate_bp=rate, net_minor=line_net, vat_minor=line_vat,
                          total_minor=line_net + line_vat, unit_cost_minor=cost).save()
    if bill.settle:
        await _pay(invoice, bill, controller, today)
    if bill.cancelled_at:  # cancelled the way staff cancel: a credit note, never a delete
        await cancel_invoice(invoice.id, "The client withdrew the order.", Actor(client["manager"], "Sales manager"))


def _cost(unit: int, bill: _Bill, position: int, description: str) -> int | None:
    """What a demo line's unit cost the firm: 55-75 % of its price, so the margin report has figures;
    unknown for the prepress fee (as intake leaves it) and for every fifth invoice."""
    if description == PREPRESS[0] or bill.index % 5 == 4:
        return None
    return percent_of(unit, 100 * (55 + (7 * bill.index + 3 * position) % 21))


async def _pay(invoice: Invoice, bill: _Bill, controller: int, today: dt.date) -> None:
    full, terms = bill.settle == "paid", bill.client["terms"]
    amount = invoice.total_minor if full else percent_of(invoice.total_minor, 4000)
    received = min(invoice.issue_date + dt.timedelta(days=max(1, terms * 2 // 3) if full else terms // 2), today)
    method = METHODS[bill.index % len(METHODS)]
    reference = {"bank_transfer": f"OP {7100 + bill.index} / {invoice.code}", "card": f"Card payment {invoice.code}",
                 "cash": f"Cash receipt CR-{300 + bill.index}"}[method]
    payment = Payment(
        client=bill.client["id"], currency=invoice.currency, amount_minor=amount, method=method, received_on=received,
        reference=reference, recorded_by=controller,
        created_at=min(utcnow(), dt.datetime.combine(received, dt.time(9, 30), tzinfo=dt.UTC)),
    )
    await payment.save()
    await PaymentAllocation(payment=payment.id, invoice=invoice.id, amount_minor=amount).save()
    await Invoice.update({Invoice.paid_minor: amount, Invoice.status: InvoiceStatus.PAID if full else InvoiceStatus.ISSUED,
                          Invoice.settled_on: received if full else None}).where(Invoice.id == invoice.id)


async def replay_dunning(settings, days: int = 40) -> None:
    """Run the ladder over the demo's past, a tick every day at noon and one now, so the worklist,
    the calendar and the invoices show the history a running portal would have built."""
    today = local_date(utcnow(), settings.firm_timezone)
    for back in range(days, 0, -1):
        at = dunning_rules.local_at(today - dt.timedelta(days=back), dt.time(12, 0), settings.firm_timezone)
        await run_dunning(settings, at, send_email=False)
    await run_dunning(settings, utcnow(), send_email=False)


async def negotiate(settings) -> None:
    """What negotiation looks like in a running portal: a proposed schedule waiting for the
    negotiator, a plan running, and a disputed invoice, each on an overdue invoice of its own
    client, the most recently overdue first (the oldest stay on the plain ladder, calls and all)."""
    ctx = schedules.Context(policy.Policy.from_settings(settings), settings.firm_timezone)
    today = ctx.today(utcnow())
    picked: dict[int, dict] = {}
    for row in await Invoice.select(Invoice.id, Invoice.client, Invoice.total_minor, Invoice.paid_minor).where(
        conditions.overdue(today)
    ).order_by(Invoice.due_date, ascending=False).order_by(Invoice.id, ascending=False):
        if row["client"] not in picked and len(picked) < 3:
            picked[row["client"]] = row
    users = {u["client"]: u for u in await User.select(User.id, User.name, User.client).where(User.kind == Kind.CLIENT.value)}
    negotiator = await User.select(User.id, User.name).where(User.email == _email("radu.negotiator")).first()
    for n, (client_id, invoice) in enumerate(picked.items()):
        user = users.get(client_id)
        if user is None or negotiator is None:
            continue
        client_actor, staff_actor = Actor(user["id"], user["name"]), Actor(negotiator["id"], negotiator["name"])
        debt = invoice["total_minor"] - invoice["paid_minor"]
        try:
            if n < 2:
                rows = policy.equal_monthly(debt, 3, today + dt.timedelta(days=7))
                schedule_id = await schedules.propose(client_id, [invoice["id"]], rows,
                                                      "A large customer of ours pays late this quarter.", client_actor, ctx)
                if n == 1:
                    await schedules.accept(schedule_id, "staff", staff_actor, ctx, version=1, name=negotiator["name"])
            else:
                await disputes.open_dispute(client_id, invoice["id"], {"reason": "quality", "comment": "Part of the print run is smudged."},
                                            client_actor, max_days=settings.dispute_max_days)
        except schedules.ScheduleError:
            continue  # the policy refused this one (a small debt, say): the demo shows the others
