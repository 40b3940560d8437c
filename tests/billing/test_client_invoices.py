"""The client's invoices: only their own, filtered open/paid/all, the balance per currency, each
invoice with how to pay it, and the statement of account. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

from litestar.testing import AsyncTestClient

from portal import settlement
from portal.audit.service import Actor
from portal.billing import rules, service
from portal.billing.statements import service as statements
from portal.billing.tables import Invoice, Payment, PaymentAllocation
from portal.clock import firm_today, utcnow
from tests.factories import login, make_client, make_client_user

D = dt.date
SYSTEM = Actor.system()


async def issue(client_id: int, net_minor: int, *, currency: str = "RON", issued: dt.date | None = None,
                terms: int = 30, vat_bp: int = 0) -> dict:
    """A real invoice through billing.service (one line)."""
    return await service.issue_invoice(
        client_id=client_id, currency=currency, lines=[rules.Line("Folding boxes", 1, net_minor, vat_bp)],
        issue_date=issued or firm_today(), terms_days=terms, order_id=None, actor=SYSTEM,
    )


async def due_on(invoice: dict, due: dt.date) -> None:
    await Invoice.update({Invoice.due_date: due}).where(Invoice.id == invoice["id"])


async def pay(client_id: int, invoice: dict, amount: int, day: dt.date, reference: str = "OP 1") -> int:
    recorded = await settlement.record_payment(
        client_id=client_id, currency=invoice["currency"], allocations=[(invoice["id"], amount)], method="bank_transfer",
        received_on=day, reference=reference, actor=SYSTEM,
    )
    return recorded.payment_id


async def reverse(payment_id: int, day: dt.date) -> None:
    """A counter-entry for a wrong payment on a chosen day (service.reverse_payment dates it today)."""
    original = await Payment.select().where(Payment.id == payment_id).first()
    allocation = await PaymentAllocation.select().where(PaymentAllocation.payment == payment_id).first()
    reversal = Payment(client=original["client"], currency=original["currency"], amount_minor=-original["amount_minor"],
                       method=original["method"], received_on=day, reference=f"Reversal of {original['reference']}",
                       reverses=payment_id, created_at=utcnow())
    await reversal.save()
    await PaymentAllocation(payment=reversal.id, invoice=allocation["invoice"], amount_minor=-allocation["amount_minor"]).save()
    invoice = await Invoice.select(Invoice.paid_minor).where(Invoice.id == allocation["invoice"]).first()
    await Invoice.update({Invoice.paid_minor: invoice["paid_minor"] - allocation["amount_minor"], Invoice.status: "issued",
                          Invoice.settled_on: None}).where(Invoice.id == allocation["invoice"])


async def credit_note(invoice: dict, day: dt.date) -> int:
    """Cancel `invoice` with a credit note for its whole total (stored negative)."""
    note = Invoice(series="CN", year=day.year, number=invoice["id"], code=f"CN-{day.year}-{invoice['id']:05d}", client=invoice["client"],
                   kind="credit_note", credits_invoice=invoice["id"], currency=invoice["currency"], issue_date=day, due_date=day,
                   status="issued", net_minor=-invoice["net_minor"], vat_minor=-invoice["vat_minor"],
                   total_minor=-invoice["total_minor"], created_at=utcnow(), settled_on=day)
    await note.save()
    await Invoice.update({Invoice.status: "cancelled", Invoice.cancelled_at: utcnow(), Invoice.settled_on: day}).where(
        Invoice.id == invoice["id"])
    return note.id


def text_of(response) -> str:
    """The page's words, without tags."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text))).strip()


async def logged_in_buyer(client, name: str = "Alfa Cartons SRL") -> int:
    company = await make_client(name)
    await login(client, await make_client_user(company))
    return company


# --- only their own -----------------------------------------------------------------------------

async def test_a_client_sees_only_their_own_invoices(client):
    mine = await logged_in_buyer(client)
    other = await make_client("Beta Secret Packaging SRL")
    own = await issue(mine, 10_000)
    theirs = await issue(other, 77_700)
    page = await client.get("/client/invoices?status=all")
    assert page.status_code == 200
    assert own["code"] in page.text and theirs["code"] not in page.text and "777.00" not in page.text
    assert (await client.get(f"/client/invoices/{own['id']}")).status_code == 200
    for url in (f"/client/invoices/{theirs['id']}", "/client/invoices/999999", "/client/invoices/0"):
        response = await client.get(url)
        assert response.status_code == 404 and "We could not find that page." in response.text, url
    statement = await client.get(f"/client/invoices/statement?from=2000-01-01&to={firm_today().isoformat()}")
    assert own["code"] in statement.text and theirs["code"] not in statement.text
    assert (await statements.invoice_detail(mine, theirs["id"])) is None


async def test_staff_and_visitors_do_not_get_the_client_pages(client):
    response = await client.get("/client/invoices")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_the_nav_has_an_invoices_link_after_orders(client):
    await logged_in_buyer(client)
    home = await client.get("/client")
    nav = home.text[home.text.index('<nav class="topnav"'):home.text.index("</nav>")]
    assert nav.index('href="/client/orders"') < nav.index('href="/client/invoices"') and nav.count("/client/invoices") == 1
    page = await client.get("/client/invoices")
    assert 'href="/client/invoices" class="active"' in page.text


# --- the list, its filters and the balance ------------------------------------------------------

async def test_filters_open_paid_and_all(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    open_one = await issue(mine, 10_000)
    part_paid = await issue(mine, 20_000)
    await pay(mine, part_paid, 5_000, today)
    paid = await issue(mine, 30_000)
    await pay(mine, paid, 30_000, today)
    cancelled = await issue(mine, 40_000)
    note = await credit_note(cancelled, today)
    note_code = (await Invoice.select(Invoice.code).where(Invoice.id == note).first())["code"]

    default = text_of(await client.get("/client/invoices"))  # the default is what is still to pay
    opened = text_of(await client.get("/client/invoices?status=open"))
    assert default == opened
    assert open_one["code"] in opened and part_paid["code"] in opened
    assert paid["code"] not in opened and cancelled["code"] not in opened and note_code not in opened
    assert "150.00" in opened  # still to pay on the part-paid invoice

    paid_page = text_of(await client.get("/client/invoices?status=paid"))
    assert paid["code"] in paid_page and open_one["code"] not in paid_page and part_paid["code"] not in paid_page

    everything = text_of(await client.get("/client/invoices?status=all"))
    for code in (open_one["code"], part_paid["code"], paid["code"], cancelled["code"], note_code):
        assert code in everything
    assert "Cancelled" in everything and "Credit note" in everything

    odd = await client.get("/client/invoices?status=<script>")  # an unknown filter is the default one
    assert odd.status_code == 200 and text_of(odd) == opened


async def test_empty_states(client):
    await logged_in_buyer(client)
    assert "You have no invoices to pay." in text_of(await client.get("/client/invoices"))
    assert "You have nothing to pay at the moment." in text_of(await client.get("/client/invoices"))
    assert "You have no paid invoices yet." in text_of(await client.get("/client/invoices?status=paid"))
    assert "You have no invoices from us yet." in text_of(await client.get("/client/invoices?status=all"))


async def test_status_words_at_the_day_boundaries(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    for days in (5, 1, 0, -1, -12):
        await due_on(await issue(mine, 10_000 + days), today + dt.timedelta(days=days))
    text = text_of(await client.get("/client/invoices"))
    for words in ("Due in 5 days", "Due tomorrow", "Due today", "Overdue by 1 day", "Overdue by 12 days"):
        assert words in text, words
    assert "Overdue by 1 days" not in text
    # the soonest due first
    assert text.index("Overdue by 12 days") < text.index("Overdue by 1 day") < text.index("Due today") < text.index("Due tomorrow")


async def test_the_balance_is_per_currency_and_never_added_across_currencies(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    ron_overdue = await issue(mine, 100_000)
    await due_on(ron_overdue, today - dt.timedelta(days=3))
    await pay(mine, ron_overdue, 40_000, today)  # 600.00 RON still to pay, overdue
    await issue(mine, 25_000)  # 250.00 RON, due in 30 days
    await issue(mine, 50_000, currency="EUR")  # €500.00, not overdue
    assert await statements.balances(mine, today=today) == [
        statements.rules.Balance("EUR", 50_000, 0, 1, 0),
        statements.rules.Balance("RON", 85_000, 60_000, 2, 1),
    ]
    for url in ("/client/invoices", "/client"):
        text = text_of(await client.get(url))
        assert "RON850.00" in text and "€500.00" in text, url
        assert "RON600.00 overdue on 1 invoice" in text, url
        assert "1,350.00" not in text and "1 350" not in text, url  # never a sum across currencies
        assert "Nothing overdue" in text, url  # the EUR part
    home = text_of(await client.get("/client"))
    assert "What you owe" in home and 'href="/client/invoices"' in (await client.get("/client")).text


async def test_the_balance_summed_by_the_database_is_what_the_rule_says(db):
    """statements.balances and the invoice page sum in SQL what statement_rules.balances says over
    the client's invoices: paid, part-paid, cancelled and credited invoices, due today, overdue,
    three currencies, and another client's invoices that must not count."""
    mine, theirs = await make_client("Alfa Cartons SRL"), await make_client("Beta Boxes SRL")
    today = firm_today()
    for n, (currency, days, paid) in enumerate([("RON", -3, 40_000), ("RON", 0, 0), ("RON", 12, 0), ("EUR", -1, 0), ("EUR", -40, 0),
                                               ("RON", -9, 100_000), ("USD", 5, 99_999), ("RON", -2, 0)]):
        invoice = await issue(mine, 100_000 + n, currency=currency)
        await due_on(invoice, today + dt.timedelta(days=days))
        if paid:
            await pay(mine, invoice, paid, today)
    await credit_note(await issue(mine, 70_000), today)
    await due_on(await issue(theirs, 55_000), today - dt.timedelta(days=4))
    rows = await Invoice.select(Invoice.kind, Invoice.status, Invoice.currency, Invoice.due_date, Invoice.total_minor,
                                Invoice.paid_minor).where(Invoice.client == mine)
    expected = statements.rules.balances(rows, today)
    assert [b.currency for b in expected] == ["EUR", "RON", "USD"] and expected[1].overdue_count == 3
    assert await statements.balances(mine, today=today) == expected
    for status in statements.FILTERS:
        assert (await statements.invoices_page(mine, status, today=today))[1] == expected
    assert await statements.balances(await make_client("Gamma SRL"), today=today) == []


async def test_keyset_pages_walk_every_invoice_once(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    codes = []
    for n in range(statements.PAGE_SIZE + 5):
        invoice = await issue(mine, 1_000 + n)
        await due_on(invoice, today + dt.timedelta(days=n % 7))  # many share a due date: the id breaks the tie
        codes.append(invoice["code"])
    first = await statements.client_invoices(mine, "open", today=today)
    assert len(first.rows) == statements.PAGE_SIZE and first.is_first and first.next_cursor
    second = await statements.client_invoices(mine, "open", first.next_cursor, today=today)
    assert len(second.rows) == 5 and not second.is_first and second.next_cursor is None
    seen = [r["code"] for r in first.rows + second.rows]
    assert sorted(seen) == sorted(codes)
    keys = [(r["due_date"], r["id"]) for r in first.rows + second.rows]
    assert keys == sorted(keys)
    everything = await statements.client_invoices(mine, "all", today=today)
    rest = await statements.client_invoices(mine, "all", everything.next_cursor, today=today)
    keys = [(r["due_date"], r["id"]) for r in everything.rows + rest.rows]
    assert keys == sorted(keys, reverse=True) and len(keys) == len(codes)
    # the page reads the list and the balance in one query: the same rows, the same balance
    balance = await statements.balances(mine, today=today)
    for status, cursor, expected in (("open", None, first), ("open", first.next_cursor, second), ("all", everything.next_cursor, rest)):
        assert await statements.invoices_page(mine, status, cursor, today=today) == (expected, balance)
    page = await client.get(f"/client/invoices?status=open&cursor={first.next_cursor}")
    assert page.status_code == 200 and "First page" in page.text
    assert (await client.get("/client/invoices?cursor=not-a-cursor")).status_code == 200  # a bad cursor: the first page


# --- one invoice and how to pay it ------------------------------------------------------------

async def test_invoice_detail_shows_figures_lines_and_payments(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    invoice = await issue(mine, 100_000, vat_bp=1900)  # 1,190.00 RON
    await pay(mine, invoice, 40_000, today - dt.timedelta(days=1), reference="OP 7101")
    wrong = await pay(mine, invoice, 10_000, today, reference="OP 7102")
    await settlement.reverse_payment(wrong, "Booked on the wrong client", SYSTEM)
    text = text_of(await client.get(f"/client/invoices/{invoice['id']}"))
    assert invoice["code"] in text and "Folding boxes" in text and "19%" in text
    assert "RON1,190.00" in text and "RON190.00" in text  # the total and the VAT
    assert "OP 7101" in text and "RON400.00" in text and "OP 7102" in text and "-RON100.00" in text
    assert "(reversed)" in text and "wrong client" not in text  # staff's reason for the reversal stays internal
    assert "RON790.00" in text  # still to pay


async def test_bank_details_are_shown_when_stripe_is_not_configured(settings):
    from portal.app import create_app

    app = create_app(dataclasses.replace(settings, bank_details="Firm SRL\nIBAN RO49 AAAA 1B31 0075 9384 0000\nBCR Bucharest",
                                         stripe_secret_key=""))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        mine = await logged_in_buyer(client)
        invoice = await issue(mine, 50_000)
        paid = await issue(mine, 10_000)
        await pay(mine, paid, 10_000, firm_today())
        page = await client.get(f"/client/invoices/{invoice['id']}")
        text = text_of(page)
        assert "How to pay" in text and "Please pay RON500.00 by bank transfer to:" in text
        assert "IBAN RO49 AAAA 1B31 0075 9384 0000" in text
        assert f'<strong class="reference">{invoice["code"]}</strong>' in page.text  # the invoice code as the payment reference
        assert "Pay online" not in text and "checkout" not in page.text.lower()
        assert "How to pay" not in text_of(await client.get(f"/client/invoices/{paid['id']}"))  # nothing to pay


async def test_without_bank_details_the_client_is_sent_to_their_account_manager(client, settings):
    assert settings.bank_details == "" and settings.stripe_secret_key == ""
    mine = await logged_in_buyer(client)
    invoice = await issue(mine, 50_000)
    text = text_of(await client.get(f"/client/invoices/{invoice['id']}"))
    assert "Your account manager will give you our bank details." in text and invoice["code"] in text


async def test_with_stripe_configured_the_bank_transfer_block_gives_way_to_the_pay_block(settings):
    from portal.app import create_app

    app = create_app(dataclasses.replace(settings, bank_details="IBAN RO49 AAAA", stripe_secret_key="sk_test_123"))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        mine = await logged_in_buyer(client)
        invoice = await issue(mine, 50_000)
        page = await client.get(f"/client/invoices/{invoice['id']}")
        assert page.status_code == 200 and invoice["code"] in page.text
        assert "How to pay" not in page.text and "IBAN RO49" not in page.text


# --- the statement of account -------------------------------------------------------------------

async def test_statement_by_hand_with_opening_running_and_closing_balance(client):
    """RON: 1,190.00 issued 10 Jan, 500.00 paid 25 Jan -> opening 690.00 on 1 Feb; in February:
    invoice 238.00 (928.00), payment 400.00 (528.00), credit note cancelling the 238.00 (290.00),
    reversal of the 400.00 (690.00). EUR apart: invoice 100.00."""
    mine = await logged_in_buyer(client)
    first = await issue(mine, 100_000, vat_bp=1900, issued=D(2026, 1, 10))
    await pay(mine, first, 50_000, D(2026, 1, 25), reference="OP 1")
    second = await issue(mine, 20_000, vat_bp=1900, issued=D(2026, 2, 3))
    wrong = await pay(mine, first, 40_000, D(2026, 2, 10), reference="OP 2")
    await credit_note(second, D(2026, 2, 12))
    await reverse(wrong, D(2026, 2, 15))
    await issue(mine, 10_000, currency="EUR", issued=D(2026, 2, 7))
    voided = await issue(mine, 55_500, issued=D(2026, 2, 8))  # cancelled with no credit note: never took effect
    await Invoice.update({Invoice.status: "cancelled", Invoice.settled_on: voided["issue_date"]}).where(Invoice.id == voided["id"])
    await issue(mine, 99_900, issued=D(2026, 3, 5))  # after the period

    eur, ron = await statements.statement(mine, D(2026, 2, 1), D(2026, 2, 28))
    assert ron.opening_minor == 69_000
    assert [(line.entry.kind, line.entry.debit_minor, line.entry.credit_minor, line.balance_minor) for line in ron.lines] == [
        ("invoice", 23_800, 0, 92_800), ("payment", 0, 40_000, 52_800), ("credit_note", 0, 23_800, 29_000),
        ("reversal", 0, -40_000, 69_000),
    ]
    assert (ron.debits_minor, ron.credits_minor, ron.closing_minor) == (23_800, 23_800, 69_000)
    assert (eur.opening_minor, eur.closing_minor) == (0, 10_000)

    page = await client.get("/client/invoices/statement?from=2026-02-01&to=2026-02-28")
    assert page.status_code == 200
    text = text_of(page)
    assert "Opening balance RON690.00" in text and "Closing balance RON690.00" in text
    for amount in ("RON928.00", "RON528.00", "RON290.00", "-RON400.00", "€100.00"):
        assert amount in text, amount
    assert second["code"] in text and "Payment reversed" in text and "Payment received" in text
    assert voided["code"] not in text and "999.00" not in text
    assert "@media print" not in page.text and 'class="print-only statement-letterhead"' in page.text
    assert text.index(f"Invoice {second['code']}") < text.index("OP 2") < text.index("Credit note CN-") < text.index("Payment reversed")


async def test_statement_defaults_to_the_last_90_days(client):
    mine = await logged_in_buyer(client)
    today = firm_today()
    recent = await issue(mine, 10_000, issued=today - dt.timedelta(days=89))
    old = await issue(mine, 20_000, issued=today - dt.timedelta(days=90))
    page = await client.get("/client/invoices/statement")
    assert page.status_code == 200
    assert f'value="{(today - dt.timedelta(days=89)):%d/%m/%Y}"' in page.text and f'value="{today:%d/%m/%Y}"' in page.text
    text = text_of(page)
    assert recent["code"] in text and old["code"] not in text
    assert "Opening balance RON200.00" in text and "Closing balance RON300.00" in text


async def test_bad_statement_dates_give_a_message_beside_the_field(client):
    await logged_in_buyer(client)
    page = await client.get("/client/invoices/statement?from=2026-02-30&to=")
    assert page.status_code == 400
    assert re.search(r'id="from-error">Enter a date such as \d\d/\d\d/20\d\d\.<', page.text)
    assert re.search(r'id="to-error">Enter a date\.<', page.text)
    assert 'value="2026-02-30"' in page.text  # what was typed stays in the field
    assert "Opening balance" not in page.text
    backwards = await client.get("/client/invoices/statement?from=2026-03-01&to=2026-02-01")
    assert backwards.status_code == 400
    assert re.search(r'id="to-error">The end of the period must be on or after its start\.<', backwards.text)
    assert 'id="from-error"' not in backwards.text


async def test_an_empty_period_says_so(client):
    await logged_in_buyer(client)
    text = text_of(await client.get("/client/invoices/statement?from=2026-01-01&to=2026-01-31"))
    assert "Nothing happened on your account in this period." in text
