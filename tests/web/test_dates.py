"""Dates and times, one way per language (web.i18n): a day as the language writes it, a moment to
the minute (no seconds), the firm's zone named for a reader who may be elsewhere, valid
`<time datetime>` attributes, and no sentence ending ".." after a date that ends with a stop."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal import clock, demo
from portal.auth.tables import User
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.mail.tables import EmailMessage
from portal.negotiation.tables import Dispute, Schedule
from portal.orders.tables import Order
from portal.tasks import service as tasks
from portal.tick import run_dunning
from portal.web import i18n

LOCALE = Path(__file__).resolve().parents[2] / "portal" / "locale"
MOMENT = dt.datetime(2026, 12, 3, 12, 30, 59, 123456, tzinfo=dt.UTC)  # 14:30 in Bucharest
DAY = dt.date(2026, 12, 3)

DAYS = {"en": "3 Dec 2026", "ro": "03.12.2026", "uk": "03.12.2026", "bg": "03.12.2026 г.", "hu": "2026. 12. 03."}
MOMENTS = {"en": "3 Dec 2026, 14:30", "ro": "03.12.2026, 14:30", "uk": "03.12.2026, 14:30", "bg": "03.12.2026 г., 14:30",
           "hu": "2026. 12. 03. 14:30"}
ZONES = {"en": "(Bucharest, UTC+2)", "ro": "(București, UTC+2)", "uk": "(Бухарест, UTC+2)", "bg": "(Букурещ, UTC+2)",
         "hu": "(Bukarest, UTC+2)"}
HTML_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?)?")
TIME_ATTRIBUTE = re.compile(r"<time\b[^>]*?\bdatetime=\"([^\"]*)\"")
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
DOUBLED_STOP = re.compile(r"(?<![.…])\.\.(?![.…])")


@pytest.fixture
def reader():
    """Set the reader's zone for a test, and forget it after."""
    yield clock.set_reader_timezone
    clock.set_reader_timezone(None)


@pytest.mark.parametrize("language", sorted(DAYS))
def test_each_language_writes_a_day_and_a_moment_its_one_way(language, reader):
    reader(clock.firm_timezone())
    with i18n.in_language(language):
        assert i18n.format_date(DAY) == DAYS[language]
        assert i18n.format_date(MOMENT) == DAYS[language]  # a moment's day is the firm's
        assert i18n.format_datetime(MOMENT) == MOMENTS[language]
        assert i18n.format_time(MOMENT) == "14:30"
        assert not SECONDS.search(i18n.format_datetime(MOMENT))
        assert DAYS[language] in i18n.format_weekday_date(DAY)


def test_a_moment_late_in_the_utc_day_is_the_firms_next_day():
    with i18n.in_language("ro"):
        assert i18n.format_date(dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC)) == "04.12.2026"


@pytest.mark.parametrize("language", sorted(DAYS))
def test_a_reader_who_may_be_elsewhere_is_told_the_firms_zone(language, reader):
    with i18n.in_language(language):
        reader(None)  # a client, a share link's visitor, an email's reader: their zone is not known
        assert i18n.format_datetime(MOMENT) == f"{MOMENTS[language]} {ZONES[language]}"
        assert i18n.format_time(MOMENT) == f"14:30 {ZONES[language]}"
        reader("Europe/Budapest")
        assert i18n.format_datetime(MOMENT).endswith(ZONES[language])
        reader(clock.firm_timezone())
        assert i18n.format_datetime(MOMENT) == MOMENTS[language]
    summer = dt.datetime(2026, 7, 1, 11, 0, tzinfo=dt.UTC)
    reader(None)
    with i18n.in_language("hu"):
        assert i18n.format_datetime(summer) == "2026. 07. 01. 14:00 (Bukarest, UTC+3)"


def test_time_datetime_attributes_are_valid_html():
    assert i18n.html_datetime(MOMENT) == "2026-12-03T12:30Z"
    assert i18n.html_datetime(MOMENT.astimezone(clock.zone("Europe/Bucharest"))) == "2026-12-03T12:30Z"
    assert i18n.html_datetime(DAY) == "2026-12-03"
    for value in (MOMENT, DAY, dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)):
        assert HTML_DATETIME.fullmatch(i18n.html_datetime(value))


@pytest.mark.parametrize("language", ["bg", "hu"])
def test_no_message_of_the_catalogs_ends_a_date_with_two_stops(language):
    """Every message whose placeholder is followed by a full stop, filled with a day of the
    language (which ends with one): one stop."""
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    checked = 0
    with i18n.in_language(language):
        day = i18n.format_date(DAY)
        assert day.endswith(".")
        for message in catalog:
            if not message.id or message.context:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            names = re.findall(r"%\((\w+)\)s\.", message.string if isinstance(message.string, str) else message.string[0])
            if not names:
                continue
            variables = {name: day for name in re.findall(r"%\((\w+)\)[sd]", msgid)} | {"num": 2}
            if isinstance(message.id, str):
                text = i18n.gettext(msgid, **variables)
                marked = i18n.template_gettext(msgid, **variables)
            else:
                variables.pop("num")
                text = i18n.ngettext(msgid, message.id[1], 2, **variables)
                marked = i18n.template_ngettext(msgid, message.id[1], 2, **variables)
            assert not DOUBLED_STOP.search(text) and not DOUBLED_STOP.search(str(marked)), (msgid, text)
            checked += 1
    assert checked > 50


def test_a_ladder_steps_wording_ends_a_date_with_one_stop():
    from portal.dunning.engine import rules

    with i18n.in_language("bg"):
        text = rules.render({"subject": "", "body": "Падеж {due_date}. Сума {amount}."},
                            {"due_date": i18n.format_date(DAY), "amount": "10 лв."})
    assert text["body"] == "Падеж 03.12.2026 г. Сума 10 лв."


# --- the pages, on the demo's data ----------------------------------------------------------------

STAFF_PAGES = ["/staff", "/staff/invoices", "/staff/calendar", "/staff/calendar?view=week", "/staff/tasks", "/staff/dunning",
               "/staff/bank", "/staff/outbox", "/staff/disputes", "/staff/schedules", "/staff/notifications", "/staff/users",
               "/staff/clients", "/staff/orders"]
CLIENT_PAGES = ["/client", "/client/invoices", "/client/orders", "/client/schedules"]


def _visible(page_html: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _check(path: str, page_html: str) -> None:
    text = _visible(page_html)
    assert not DOUBLED_STOP.search(text), (path, text[max(0, DOUBLED_STOP.search(text).start() - 80):][:160])
    assert not SECONDS.search(text), (path, SECONDS.findall(text))
    for value in TIME_ATTRIBUTE.findall(page_html):
        assert HTML_DATETIME.fullmatch(value), (path, value)


async def _login(client, email: str) -> None:
    from tests.factories import login

    await login(client, {"email": email, "password": demo.DEMO_PASSWORD})


@pytest.mark.parametrize("language", ["bg", "hu"])
async def test_the_pages_that_show_dates_in_bulgarian_and_hungarian(client, settings, tmp_path, language):
    await demo.load_demo(tmp_path / "uploads")
    await run_dunning(settings)  # the ladders' tasks, emails and letters of today
    await User.update({User.language: language}).where(User.email == "ana.admin@demo.example")
    await _login(client, "ana.admin@demo.example")
    admin = (await User.select(User.id).where(User.email == "ana.admin@demo.example").first())["id"]
    now = clock.utcnow()
    for due in (now - dt.timedelta(days=1, seconds=7, microseconds=123), now + dt.timedelta(hours=1, microseconds=5)):
        await tasks.create(tasks.CALLBACK, admin, title="Call back", due_at=due)  # on the calendar and the task list
    invoices = [row["id"] for row in await Invoice.select(Invoice.id).order_by(Invoice.id).limit(400)]
    details = [f"/staff/invoices/{i}" for i in invoices[::40]] + [
        f"/staff/{area}/{row['id']}" for area, table in (("orders", Order), ("clients", Client), ("schedules", Schedule),
                                                        ("disputes", Dispute), ("outbox", EmailMessage))
        for row in await table.select(table.id).order_by(table.id).limit(3)]
    shown_times = 0
    for path in STAFF_PAGES + details:
        page = await client.get(path)
        assert page.status_code == 200, path
        _check(path, page.text)
        assert ZONES[language] not in page.text, path  # staff work in the firm's zone
        if path.startswith(("/staff/calendar", "/staff/tasks")):
            assert TIME_ATTRIBUTE.search(page.text), path
        shown_times += len(re.findall(r"\b\d{2}:\d{2}\b", _visible(page.text)))
    assert shown_times > 20

    buyer = {"bg": "ivan@sofiatransit.demo.example", "hu": "zsofia@pannonia-bank.demo.example"}[language]
    await User.update({User.language: language}).where(User.email == buyer)
    client.cookies.clear()
    await _login(client, buyer)
    client_times = 0
    company = (await User.select(User.client).where(User.email == buyer).first())["client"]
    mine = [f"/client/invoices/{row['id']}" for row in await Invoice.select(Invoice.id).where(Invoice.client == company).limit(6)]
    mine += [f"/client/orders/{row['id']}" for row in await Order.select(Order.id).where(Order.client == company)]
    for path in CLIENT_PAGES + mine:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f'<html lang="{language}"' in page.text
        _check(path, page.text)
        for moment in re.findall(r"\b\d{2}:\d{2}\b.{0,30}", _visible(page.text)):
            assert ZONES[language] in moment, (path, moment)  # a client reads the firm's zone beside a time
            client_times += 1
    assert client_times > 0
