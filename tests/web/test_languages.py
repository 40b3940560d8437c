"""The locale follows the user: staff their own language, client users their company's."""

from portal.auth.roles import Role
from portal.auth.tables import User
from portal.web import i18n
from tests.factories import login, make_client, make_client_user, make_staff


async def test_client_user_sees_their_companys_language_and_number_format(client):
    company = await make_client("Dunărea Ambalaje SRL", language="ro", currency="RON", credit_limit="12345.5")
    await login(client, await make_client_user(company))
    page = await client.get("/client")
    assert '<html lang="ro">' in page.text
    assert "12.345,50\xa0RON" in page.text  # Romanian grouping and decimal comma


async def test_staff_user_sees_their_own_language(client):
    admin = await make_staff(Role.ADMIN)
    await User.update({User.language: "hu"}).where(User.id == admin["id"])
    await login(client, admin)
    page = await client.get("/staff")
    assert '<html lang="hu">' in page.text


async def test_anonymous_visitor_gets_the_browser_language_when_we_have_it(client):
    page = await client.get("/login", headers={"accept-language": "uk-UA,uk;q=0.9,en;q=0.5"})
    assert '<html lang="uk">' in page.text
    page = await client.get("/login", headers={"accept-language": "de-DE"})
    assert '<html lang="en">' in page.text


def test_money_and_dates_follow_the_locale():
    import datetime as dt

    i18n.set_language("en")
    assert i18n.format_money(123456, "EUR") == "€1,234.56"
    i18n.set_language("hu")
    assert i18n.format_money(123456, "HUF") == "1\xa0234,56\xa0Ft"
    assert i18n.format_date(dt.date(2026, 12, 1)) == "2026. dec. 1."
    i18n.set_language("en")
