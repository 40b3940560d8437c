"""What the ladder writes says the truth in words people use: a forgiven client's due-date call
does not say "due today" days after it; no "day(s)"; every state, event and stored phrase has words."""

from __future__ import annotations

import datetime as dt
import html

from portal.auth.roles import Role
from portal.dunning.engine import executor
from portal.dunning.escalation import rules as transitions
from portal.dunning.ladders import seeds
from portal.dunning.ladders.tables import Ladder
from portal.tasks.tables import Task
from portal.web import i18n, words
from tests.billing.staff_helpers import issue
from tests.dunning.engine_helpers import local, tick
from tests.factories import login, make_client, make_contact, make_staff


def test_when_an_invoice_is_due_is_said_in_words():
    due = dt.date(2026, 3, 2)
    assert executor.due_status(due, due) == "due today"
    assert executor.due_status(due, due - dt.timedelta(days=1)) == "due in 1 day"
    assert executor.due_status(due, due + dt.timedelta(days=5)) == "5 days overdue"
    assert executor.due_status(due, due + dt.timedelta(days=1)) == "1 day overdue"


def test_no_seeded_wording_says_day_s():
    for key, languages in seeds.WORDING.items():
        for language, wording in languages.items():
            assert "(s)" not in wording["subject"] + wording["body"], (key, language)
            assert "(le)" not in wording["subject"] + wording["body"], (key, language)


async def test_a_forgiven_clients_due_date_call_says_how_late_it_is(db, settings):
    await seeds.ensure_defaults()
    manager = await make_staff(Role.SALES_MANAGER)
    client_id = await make_client("Privileged SRL", sales_manager=str(manager["id"]), segment="B", privileged="1", forgiveness_days="5")
    await make_contact(client_id)
    invoice = await issue(client_id, due_in=10)
    for day in range(-3, 6):
        await tick(settings, local(invoice["due_date"] + dt.timedelta(days=day), "12:00"))
    call = await Task.select(Task.title, Task.note).where((Task.invoice == invoice["id"]) & (Task.kind == "call")).first()
    assert "due today" not in call["title"] + call["note"]
    assert "5 days overdue" in call["title"], call


def test_every_state_event_and_stored_phrase_has_words():
    for event in transitions.EVENTS + tuple(transitions.EXPIRY_EVENTS.values()):
        assert event in words.EVENT_LABELS, event
    from portal.negotiation.disputes.rules import CLIENT_STATES, STATE_LABELS

    assert set(transitions.STATES) <= set(STATE_LABELS) and set(transitions.STATES) <= set(CLIENT_STATES)
    i18n.set_language("en")
    assert words.stored_text("email queued to maria@client.test") == "email queued to maria@client.test"
    assert words.stored_text("promised to pay by 2026-03-02") == "promised to pay by 2 Mar 2026"
    assert words.value_text("method", "bank_transfer") == "Bank transfer"
    assert words.value_text("language", "uk") == "Українська"
    assert words.value_text("due_date", "2026-03-02") == "2 Mar 2026"
    assert not words.changed({"status": "issued"}, "status", "issued") and words.changed({"status": "issued"}, "status", "paid")


async def test_the_ladder_page_explains_the_forgiveness_shift(client):
    await seeds.ensure_defaults()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    ladder = await Ladder.select(Ladder.id).where(Ladder.name == "Pressure ladder").first()
    page = html.unescape((await client.get(f"/staff/dunning/ladders/{ladder['id']}")).text)
    assert "with 5 forgiven days, a step on day +1 comes on day +6" in page
    prepayment = await Ladder.select(Ladder.id).where(Ladder.purpose == "prepayment").first()
    page = html.unescape((await client.get(f"/staff/dunning/ladders/{prepayment['id']}")).text)
    assert "every invoice whose order waits for its prepayment" in page and "forgiven days" not in page


async def test_a_task_is_worded_in_its_assignees_language_and_the_email_in_the_clients(db, settings):
    """An English-speaking client, a Romanian-speaking manager: the call task is Romanian with a
    Romanian date, the email to the client English with an English date."""
    from portal.auth.tables import User
    from portal.mail.tables import EmailMessage
    from tests.words import said

    await seeds.ensure_defaults()
    manager = await make_staff(Role.SALES_MANAGER)
    await User.update({User.language: "ro"}).where(User.id == manager["id"])
    client_id = await make_client("English Buyer Ltd", sales_manager=str(manager["id"]), segment="B", language="en")
    await make_contact(client_id)
    invoice = await issue(client_id, due_in=3)
    for day in range(-3, 1):
        await tick(settings, local(invoice["due_date"] + dt.timedelta(days=day), "12:00"))
    call = await Task.select(Task.title, Task.note).where((Task.invoice == invoice["id"]) & (Task.kind == "call")).first()
    i18n.set_language("ro")
    try:
        ro_date = i18n.format_date(invoice["due_date"])
    finally:
        i18n.set_language("en")
    assert call["title"] == f"Sunați clientul English Buyer Ltd: factura {invoice['code']}, {said('ro', 'due today')}", call
    assert ro_date in call["note"], call
    email = await EmailMessage.select(EmailMessage.subject).where(EmailMessage.client == client_id).order_by(EmailMessage.id, ascending=False).first()
    assert email["subject"] == f"Invoice {invoice['code']} falls due on {i18n.format_date(invoice['due_date'])}"
