"""The print-and-send register: letters the ladder wrote (through real ticks), their printed form
and PDF in the client's language, marking them sent (task closed, audited), the lawyers' case file,
and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.calendar import service as calendar
from portal.clock import utcnow
from portal.dunning.engine.tables import DunningAction
from portal.dunning.letters import service as letters
from portal.dunning.letters.tables import Letter
from portal.dunning.reasons.tables import DelayReason
from portal.tasks.tables import Task
from portal.web import i18n
from tests.billing.staff_helpers import issue, pay
from tests.billing.test_documents import pdf_text, plain
from tests.conftest import TEST_SECRET
from tests.dunning.engine_helpers import TZ, local, make_ladder, tick
from tests.factories import login, make_client, make_client_user, make_contact, make_staff, post

FIRM = "Carton Ploiești SA"
BANK = "IBAN RO49 AAAA 1B31 0075 9384 0000 · Banca Transilvania"
REASON = "Waiting for their own client to pay"
LADDER = [
    {"name": "Due-date call", "offset_days": 0, "time_of_day": "12:00", "channel": "call"},
    {"name": "Demand letter", "offset_days": 1, "time_of_day": "10:00", "channel": "letter", "assignee": "credit_controller",
     "templates": {"en": {"subject": "Demand for payment of {invoice}",
                          "body": "Dear {client},\n\ninvoice {invoice} for {amount} fell due on {due_date}.\n\nPlease pay it today."}}},
    {"name": "Formal claim", "offset_days": 3, "time_of_day": "10:00", "channel": "formal_claim", "deadline_days": 14,
     "assignee": "lawyer", "templates": {"en": {"subject": "Formal claim for {invoice}", "body": "We claim {amount} from {client}."}}},
    {"name": "Hand-over to the lawyers", "offset_days": 6, "time_of_day": "10:00", "channel": "legal_handover", "assignee": "lawyer"},
]
STEP_TIMES = {"call": (0, "12:00"), "letter": (1, "10:00"), "formal_claim": (3, "10:00"), "legal_handover": (6, "10:00")}


@pytest.fixture
def settings(database_url, tmp_path):
    """The suite's settings with a firm name and bank details (what the letterhead shows)."""
    from portal.settings import load_settings

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0", "FIRM_NAME": FIRM, "FIRM_BANK_DETAILS": BANK,
        "FIRM_ADDRESS": "Str. Depoului 12 | 100411 Ploiești", "FIRM_TAX_ID": "RO 998877", "FIRM_REGISTRATION": "J29/123/2001",
    })


def money(minor: int, currency: str, language: str = "en") -> str:
    i18n.set_language(language)
    try:
        return plain(i18n.format_money(minor, currency))
    finally:
        i18n.set_language("en")


def long_date(day: dt.date, language: str = "en") -> str:
    i18n.set_language(language)
    try:
        return plain(i18n.format_date(day))
    finally:
        i18n.set_language("en")


async def world(settings, *, through: str = "legal_handover", language: str = "en") -> dict:
    """A client on a ladder (call, letter, formal claim, hand-over) ticked through `through`; the
    due-date call is done with a reason for the delay."""
    manager = await make_staff(Role.SALES_MANAGER, name="Mara Manager")
    controller = await make_staff(Role.CREDIT_CONTROLLER, name="Cristi Controller")
    lawyer = await make_staff(Role.NEGOTIATOR, name="Lia Lawyer", is_legal=True)
    client_id = await make_client("Ștefan Print SRL", sales_manager=str(manager["id"]), language=language, tax_id="RO 12345678",
                                  address="Str. Țesătorilor 5\n400001 Cluj-Napoca")
    await make_contact(client_id)
    await make_ladder("Letters ladder", LADDER)
    invoice = await issue(client_id, due_in=10, unit_minor=100000)
    due = invoice["due_date"]
    reason = DelayReason(name=REASON, position=1, is_active=True, created_at=utcnow())
    await reason.save()
    for channel in ("call", "letter", "formal_claim", "legal_handover"):
        offset, hhmm = STEP_TIMES[channel]
        await tick(settings, local(due + dt.timedelta(days=offset), hhmm))
        if channel == "call":
            call = await Task.select(Task.id).where((Task.invoice == invoice["id"]) & (Task.kind == "call")).first()
            checked = await calendar.complete_with_outcome(
                call["id"], {"reached": "yes", "delay_reason": str(reason.id), "note": "Says the money comes next week."},
                Actor(manager["id"], "Mara Manager"), tz=TZ, grace_days=1, max_days=30, now=local(due, "12:30"),
            )
            assert checked.ok, checked.errors
        if channel == through:
            break
    rows = await Letter.select().where(Letter.invoice == invoice["id"]).order_by(Letter.id)
    return {"manager": manager, "controller": controller, "lawyer": lawyer, "client_id": client_id, "invoice": invoice,
            "letters": {row["kind"]: row for row in rows}, "due": due}


def letter_row(page: str, letter_id: int) -> str:
    start = page.index(f'id="letter-{letter_id}"')
    return page[start:page.index("</tr>", start)]


def listed_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="letter-(\d+)"', page)]


# --- the register -----------------------------------------------------------------------------

async def test_a_letter_step_puts_the_letter_in_the_register_to_send(client, settings):
    w = await world(settings, through="letter")
    letter = w["letters"]["letter"]
    assert letter["status"] == "to_send" and letter["subject"] == f"Demand for payment of {w['invoice']['code']}"
    await login(client, w["controller"])
    page = await client.get("/staff/dunning/letters")
    assert page.status_code == 200
    row = plain(letter_row(page.text, letter["id"]))
    assert "Ștefan Print SRL" in row and "Demand letter" in row and "To send" in row
    assert f'href="/staff/invoices/{w["invoice"]["id"]}"' in row and w["invoice"]["code"] in row
    assert f'href="/staff/dunning/letters/{letter["id"]}/pdf"' in row and f'href="/staff/dunning/letters/{letter["id"]}/print"' in row
    assert f'hx-post="/staff/dunning/letters/{letter["id"]}/sent"' in row
    assert 'href="/staff/dunning/letters"' in page.text  # the sidebar's link


async def test_mark_sent_records_who_and_when_closes_the_task_and_is_audited(client, settings):
    w = await world(settings, through="letter")
    letter = w["letters"]["letter"]
    task = await Task.select().where(Task.dunning_action == letter["action"]).first()
    assert task["done_at"] is None and task["assignee"] == w["controller"]["id"]
    await login(client, w["controller"])
    response = await post(client, f"/staff/dunning/letters/{letter['id']}/sent", headers={"hx-request": "true"})
    assert response.status_code == 200
    row = plain(response.text)
    assert row.lstrip().startswith(f'<tr id="letter-{letter["id"]}"') and "Sent" in row and "Cristi Controller" in row
    assert "Mark sent" not in row
    stored = await Letter.select().where(Letter.id == letter["id"]).first()
    assert stored["status"] == "sent" and stored["sent_by"] == w["controller"]["id"] and stored["sent_at"] is not None
    task = await Task.select().where(Task.id == task["id"]).first()
    assert task["done_at"] is not None and task["outcome"] == "Sent"
    event = await AuditEvent.select().where(
        (AuditEvent.action == "letter_sent") & (AuditEvent.object_type == "invoice") & (AuditEvent.object_id == w["invoice"]["id"])
    ).output(load_json=True).first()
    assert event["actor"] == w["controller"]["id"] and event["after"]["status"] == "sent" and event["after"]["task_closed"] is True
    # a second click changes nothing and says so
    again = await post(client, f"/staff/dunning/letters/{letter['id']}/sent", headers={"hx-request": "true"})
    assert again.status_code == 200 and "already marked sent" in plain(again.text)
    assert await AuditEvent.count().where(AuditEvent.action == "letter_sent") == 1
    # without htmx: back to the register, which shows it as sent
    page = await client.get("/staff/dunning/letters?status=sent")
    assert "Sent" in plain(letter_row(page.text, letter["id"]))
    assert listed_ids((await client.get("/staff/dunning/letters?status=to_send")).text) == []


async def test_a_plain_post_marks_sent_and_goes_back_to_the_register(client, settings):
    w = await world(settings, through="formal_claim")
    claim = w["letters"]["formal_claim"]
    await login(client, w["lawyer"])  # negotiators (the lawyers) send letters too
    response = await post(client, f"/staff/dunning/letters/{claim['id']}/sent")
    assert response.status_code == 303 and response.headers["location"] == "/staff/dunning/letters"
    page = await client.get("/staff/dunning/letters")
    assert "Marked sent: Formal claim for" in plain(page.text)
    assert (await Letter.select(Letter.status).where(Letter.id == claim["id"]).first())["status"] == "sent"


async def _bare_letters(count: int) -> tuple[int, list[int]]:
    """`count` letters on one invoice, written a minute apart (oldest first): (invoice id, letter ids)."""
    client_id = await make_client("Many Letters SRL")
    invoice = await issue(client_id, due_in=-30)
    ladder = await make_ladder("Many", [{"name": f"Letter {n}", "offset_days": n, "time_of_day": "10:00", "channel": "letter"}
                                        for n in range(count)])
    start = utcnow() - dt.timedelta(days=10)
    ids = []
    for n, step_id in enumerate(ladder["step_ids"]):
        at = start + dt.timedelta(minutes=n)
        action = DunningAction(invoice=invoice["id"], step=step_id, client=client_id, channel="letter", position=n, scheduled_at=at,
                               taken_at=at, status="done", next_attempt_at=at)
        await action.save()
        letter = Letter(action=action.id, invoice=invoice["id"], client=client_id, kind="formal_claim" if n % 2 else "letter",
                        subject=f"Letter number {n}", body="Pay.", status="to_send", created_at=at)
        await letter.save()
        ids.append(letter.id)
    return invoice["id"], ids


async def test_to_send_oldest_first_then_sent_filters_and_keyset_pages(client, settings):
    _invoice_id, ids = await _bare_letters(letters.PAGE_SIZE + 5)
    controller = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, controller)
    for letter_id in (ids[3], ids[0]):  # sent: ids[3] first, ids[0] last (shown first among the sent)
        assert (await post(client, f"/staff/dunning/letters/{letter_id}/sent")).status_code == 303
    first = await client.get("/staff/dunning/letters")
    shown = listed_ids(first.text)
    to_send = [i for i in ids if i not in (ids[0], ids[3])]
    assert shown == to_send[: letters.PAGE_SIZE]
    next_url = re.search(r'href="(/staff/dunning/letters\?[^"]*cursor=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = await client.get(next_url)
    assert listed_ids(second.text) == [*to_send[letters.PAGE_SIZE:], ids[0], ids[3]]
    assert "cursor=" not in second.text.split('class="pager"')[1]
    assert listed_ids((await client.get("/staff/dunning/letters?status=sent")).text) == [ids[0], ids[3]]
    claims = listed_ids((await client.get("/staff/dunning/letters?kind=formal_claim&status=to_send")).text)
    assert claims == [i for n, i in enumerate(ids) if n % 2 and i != ids[3]]
    partial = await client.get("/staff/dunning/letters?kind=formal_claim", headers={"hx-request": "true"})
    assert 'id="letters-list"' in partial.text and "<html" not in partial.text  # the filters' htmx answer: the list alone
    empty = await client.get("/staff/dunning/letters?kind=court_warning")
    assert listed_ids(empty.text) == [] and "No letter matches these filters." in empty.text
    assert listed_ids((await client.get("/staff/dunning/letters?cursor=garbage&kind=nonsense")).text)[:1] == [to_send[0]]


# --- who may do what ------------------------------------------------------------------------------

async def test_a_sales_manager_reads_the_register_but_may_not_mark_sent(client, settings):
    w = await world(settings, through="letter")
    letter = w["letters"]["letter"]
    await login(client, w["manager"])
    page = await client.get("/staff/dunning/letters")
    assert page.status_code == 200 and letter["id"] in listed_ids(page.text)
    assert "Mark sent" not in letter_row(page.text, letter["id"])
    assert (await client.get(f"/staff/dunning/letters/{letter['id']}/print")).status_code == 200
    refused = await post(client, f"/staff/dunning/letters/{letter['id']}/sent")
    assert refused.status_code == 403
    assert (await Letter.select(Letter.status).where(Letter.id == letter["id"]).first())["status"] == "to_send"


async def test_only_controllers_lawyers_and_admins_open_a_case_file(client, settings):
    w = await world(settings)
    handover = w["letters"]["legal_handover"]
    await login(client, w["manager"])
    assert (await client.get(f"/staff/dunning/letters/{handover['id']}/pdf")).status_code == 403
    assert (await client.get(f"/staff/dunning/letters/{handover['id']}/print")).status_code == 403
    assert (await client.get(f"/staff/invoices/{w['invoice']['id']}/case-file.pdf")).status_code == 403


async def test_client_users_are_refused_and_anonymous_visitors_sent_to_login(client, settings):
    w = await world(settings, through="letter")
    letter = w["letters"]["letter"]
    urls = ["/staff/dunning/letters", f"/staff/dunning/letters/{letter['id']}/pdf", f"/staff/dunning/letters/{letter['id']}/print",
            f"/staff/invoices/{w['invoice']['id']}/case-file.pdf"]
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), url
    await login(client, await make_client_user(w["client_id"]))  # even the letter's own client
    for url in urls:
        assert (await client.get(url)).status_code == 403, url
    assert (await post(client, f"/staff/dunning/letters/{letter['id']}/sent")).status_code == 403
    assert (await Letter.select(Letter.status).where(Letter.id == letter["id"]).first())["status"] == "to_send"


async def test_a_missing_letter_or_invoice_is_404(client, settings):
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    for url in ("/staff/dunning/letters/999999/pdf", "/staff/dunning/letters/999999/print", "/staff/invoices/999999/case-file.pdf"):
        assert (await client.get(url)).status_code == 404, url
    assert (await post(client, "/staff/dunning/letters/999999/sent")).status_code == 404


# --- the printed letter -------------------------------------------------------------------------

async def test_the_formal_claim_pdf_has_the_subject_client_amount_and_deadline(client, settings):
    w = await world(settings, through="formal_claim")
    claim, invoice = w["letters"]["formal_claim"], w["invoice"]
    assert claim["deadline"] == w["due"] + dt.timedelta(days=3 + 14)
    await login(client, w["controller"])
    response = await client.get(f"/staff/dunning/letters/{claim['id']}/pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{invoice["code"]}-formal-claim.pdf"'
    text = " ".join(pdf_text(response.content).split())
    amount = money(invoice["total_minor"], "RON")
    assert f"Formal claim for {invoice['code']}" in text
    assert "Ștefan Print SRL" in text and "Țesătorilor 5" in text and "RO 12345678" in text
    assert f"We claim {amount} from Ștefan Print SRL." in text  # the body the ladder wrote
    assert f"Pay {amount} by {long_date(claim['deadline'])}, or the case goes to court." in text
    assert FIRM in text and "RO49 AAAA 1B31" in text and "Lia Lawyer" in text  # letterhead; who signs it
    assert f"Balance due {amount}" in text and invoice["code"] in text


async def test_a_demand_letter_prints_in_the_clients_language_with_a_print_button(client, settings):
    w = await world(settings, through="letter", language="ro")
    letter, invoice = w["letters"]["letter"], w["invoice"]
    assert letter["language"] == "ro"
    await pay(invoice, 19000)
    await login(client, w["controller"])
    page = await client.get(f"/staff/dunning/letters/{letter['id']}/print")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'onclick="window.print()"' in page.text and f'href="/staff/dunning/letters/{letter["id"]}/pdf"' in page.text
    assert "'unsafe-hashes'" in page.headers["content-security-policy"]
    assert '<html lang="ro">' in page.text
    text = plain(page.text)
    assert money(100000, "RON", "ro") in text and money(19000, "RON", "ro") in text  # balance and paid, Romanian numbers
    assert "or the case goes to court" not in text  # a demand letter gives no court deadline
    assert "Str. Depoului 12" in text and "RO 998877" in text and "J29/123/2001" in text  # the seller, on every letter
    pdf = " ".join(pdf_text((await client.get(f"/staff/dunning/letters/{letter['id']}/pdf")).content).split())
    assert f"Demand for payment of {invoice['code']}" in pdf and money(100000, "RON", "ro") in pdf


# --- the case file ------------------------------------------------------------------------------

async def test_the_case_file_holds_the_invoice_the_statement_and_the_whole_history(client, settings):
    w = await world(settings)
    handover, invoice = w["letters"]["legal_handover"], w["invoice"]
    await pay(invoice, 19000)
    await login(client, w["lawyer"])
    response = await client.get(f"/staff/dunning/letters/{handover['id']}/pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-disposition"] == f'inline; filename="{invoice["code"]}-case-file.pdf"'
    raw = pdf_text(response.content)
    text = " ".join(raw.split())
    assert f"Case file {invoice['code']} · Ștefan Print SRL" in text
    assert "Checklist for the lawyer" in text
    assert "Folding boxes" in text  # the invoice's own line
    assert f"Closing balance {money(100000, 'RON')}" in text  # the statement: 1,190.00 invoiced, 190.00 paid
    for step in LADDER:
        assert step["name"] in text, step["name"]
    assert REASON in text and "Says the money comes next week." in text
    assert "Formal claim for" in text and "Not sent yet" in text  # the letters on the cover
    numbers = re.findall(r"(?<![\d/])(\d+)\s*/\s*(\d+)\s*$", raw, re.M)  # each page's footer: "n / N"
    total = len(numbers)
    assert total >= 4 and numbers == [(str(n), str(total)) for n in range(1, total + 1)]  # cover, invoice, statement, history
    assert text.index("Due-date call") < text.index("Demand letter") < text.index("Hand-over to the lawyers", text.index("History"))
    page = await client.get(f"/staff/dunning/letters/{handover['id']}/print")  # the same file as an A4 page to print
    assert page.status_code == 200 and 'onclick="window.print()"' in page.text
    assert all(f'id="{part}"' in page.text for part in ("cover", "invoice", "statement", "history"))
    # any invoice's case file, from the invoice
    other = await client.get(f"/staff/invoices/{invoice['id']}/case-file.pdf")
    assert other.status_code == 200 and invoice["code"] in pdf_text(other.content)


# --- in every language ---------------------------------------------------------------------------

# The letters of each language, and the letters only that language writes.
SPECIAL = {"ro": "ăâîșțĂÂÎȘȚ", "uk": "їєіґЇЄІҐ", "bg": "ъщюяЪЩЮЯ", "hu": "őűáéíóöúüŐŰ"}
DEMAND = {"ro": "Somație de plată", "uk": "Вимога про оплату", "bg": "Покана за плащане", "hu": "Fizetési felszólítás"}


@pytest.mark.parametrize("language", sorted(SPECIAL))
async def test_the_seeded_demand_letter_prints_in_the_clients_language_with_its_letters_intact(client, settings, language):
    from portal.dunning.ladders import seeds

    await seeds.ensure_defaults()
    manager = await make_staff(Role.SALES_MANAGER, name="Mara Manager")
    controller = await make_staff(Role.CREDIT_CONTROLLER, name="Cristi Controller")
    client_id = await make_client(f"Client {language}", sales_manager=str(manager["id"]), language=language, segment="B")
    await make_contact(client_id)
    invoice = await issue(client_id, due_in=10, unit_minor=100000)
    for day in range(-3, 4):
        for hhmm in ("10:00", "12:00"):
            await tick(settings, local(invoice["due_date"] + dt.timedelta(days=day), hhmm))
    letter = await Letter.select().where((Letter.invoice == invoice["id"]) & (Letter.kind == "letter")).first()
    assert letter and letter["language"] == language
    await login(client, controller)
    page = plain((await client.get(f"/staff/dunning/letters/{letter['id']}/print")).text)
    pdf = " ".join(pdf_text((await client.get(f"/staff/dunning/letters/{letter['id']}/pdf")).content).split())
    assert DEMAND[language].lower() in pdf.lower(), pdf[:400]
    assert letter["subject"] in page  # the print page shows the letter
    written = {c for c in letter["subject"] + letter["body"] if c in SPECIAL[language]}
    assert written, f"{language}: the letter is written with none of {SPECIAL[language]}"
    kept = {c for c in pdf.casefold() if c in SPECIAL[language].casefold()}  # headings may be set in capitals
    assert {c.casefold() for c in written} <= kept, f"{language}: letters lost in the PDF: {written} written, {kept} printed"
