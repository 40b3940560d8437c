"""What people type is read in their language: amounts, dates, and the browser's languages by weight."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, strategies as st

from portal.auth.roles import Role
from portal.auth.tables import User
from portal.web import i18n
from portal.web.local_input import amount_input_value, date_input_value, parse_amount, parse_date
from tests.factories import login, make_client, make_staff, post


@pytest.mark.parametrize("language,typed,minor", [
    ("ro", "1.234,56", 123456), ("ro", "1234,56", 123456), ("ro", "1.234", 123400), ("ro", "12.50", 1250),
    ("ro", "1 234,5", 123450), ("en", "1,234.56", 123456), ("en", "1,234", 123400), ("en", "12,50", 1250),
    ("hu", "1 234,56", 123456), ("hu", "1\u00a0234,56", 123456), ("hu", "1234.56", 123456),
    ("uk", "12 345,00", 1234500), ("bg", "0,5", 50), ("en", "-5", -500),
])
def test_amounts_are_read_as_the_language_writes_them(language, typed, minor):
    assert parse_amount(typed, "RON", language) == minor


@pytest.mark.parametrize("language,typed", [
    ("ro", "1,234"), ("en", "1.234,56.7"), ("ro", "1.23,4"), ("en", "12x"), ("en", "1e5"), ("en", "NaN"),
    ("en", ""), ("hu", "1.2.3"), ("en", "--5"),
])
def test_what_is_no_amount_is_refused(language, typed):
    with pytest.raises(ValueError):
        parse_amount(typed, "EUR", language)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["en", "ro", "uk", "bg", "hu"]))
def test_an_amount_shown_in_a_field_reads_back_as_itself(minor, language):
    i18n.set_language(language)
    try:
        assert parse_amount(amount_input_value(minor, "EUR"), "EUR") == minor
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize("language,typed", [
    ("en", "02/12/2026"), ("ro", "02.12.2026"), ("ro", "2.12.2026"), ("uk", "02.12.2026"), ("bg", "2.12.2026 г."),
    ("hu", "2026. 12. 02."), ("hu", "2026.12.02"), ("en", "2026-12-02"), ("hu", "2026-12-02"),
])
def test_dates_are_read_as_the_language_writes_them(language, typed):
    assert parse_date(typed, language) == dt.date(2026, 12, 2)


@pytest.mark.parametrize("typed", ["31.02.2026", "20261202", "12.2026", "tomorrow", "", "2/12/26/1", "0002-12-26"])
def test_what_is_no_date_is_none(typed):
    assert parse_date(typed, "ro") is None


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)), st.sampled_from(["en", "ro", "uk", "bg", "hu"]))
def test_a_date_shown_in_a_field_reads_back_as_itself(day, language):
    i18n.set_language(language)
    try:
        assert parse_date(date_input_value(day)) == day
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize("header,language", [
    ("en;q=0.1, ro;q=0.9", "ro"), ("de-DE, fr;q=0.8, hu;q=0.5", "hu"), ("ro-RO,ro;q=0.9,en-US;q=0.8", "ro"),
    ("uk;q=0, bg", "bg"), ("BG-bg", "bg"), ("de, fr", "en"), ("*", "en"), ("en-GB;q=nonsense, hu;q=0.4", "hu"),
])
def test_the_browser_language_is_chosen_by_its_weights(header, language):
    assert i18n.language_from_header(header, "en") == language


async def test_a_romanian_user_types_amounts_and_dates_as_romanians_write_them(client):
    """The payment form of a staff member who works in Romanian: the day shown as 02.12.2026 and
    read back, the amount 1.234,56 read as one thousand two hundred and thirty-four lei."""
    from portal.billing.statements.service import firm_today
    from portal.billing.tables import Payment
    from tests.billing.staff_helpers import issue

    controller = await make_staff(Role.CREDIT_CONTROLLER)
    await User.update({User.language: "ro"}).where(User.id == controller["id"])
    company = await make_client("Dunărea Ambalaje SRL", language="ro", currency="RON")
    invoice = await issue(company, unit_minor=500_000)
    await login(client, controller)
    page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    today = firm_today()
    field = re.search(r'<input id="pay-received_on"[^>]*>', page).group(0)
    assert 'placeholder="zz.ll.aaaa"' in field and f'value="{today:%d.%m.%Y}"' in field and 'type="text"' in field

    response = await post(client, f"/staff/invoices/{invoice['id']}/payments", {
        "amount": "1.234,56", "received_on": f"{today:%d.%m.%Y}", "method": "bank_transfer", "reference": "OP 17"})
    assert response.status_code == 303, response.text
    paid = await Payment.select(Payment.amount_minor, Payment.received_on).first()
    assert paid == {"amount_minor": 123456, "received_on": today}
