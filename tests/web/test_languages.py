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
    assert i18n.format_date(dt.date(2026, 12, 1)) == "2026. 12. 01."
    i18n.set_language("en")


# --- choosing a language -----------------------------------------------------------------------

async def test_staff_choose_their_own_language_in_their_settings(client):
    from tests.factories import post

    me = await make_staff(Role.CREDIT_CONTROLLER)
    await login(client, me)
    page = await client.get("/staff/account")
    assert page.status_code == 200 and 'name="language"' in page.text and 'href="/staff/account"' in page.text
    saved = await post(client, "/staff/account", {"language": "bg"})
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/account"
    assert '<html lang="bg">' in (await client.get("/staff")).text
    refused = await post(client, "/staff/account", {"language": "xx"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.text
    assert (await User.select(User.language).where(User.id == me["id"]).first())["language"] == "bg"
    assert await post(client, "/staff/account", {"language": ""}) is not None  # "" is only a client user's choice
    assert (await User.select(User.language).where(User.id == me["id"]).first())["language"] == "bg"


async def test_a_client_user_follows_the_company_or_chooses_their_own(client):
    from tests.factories import post

    company = await make_client("Tisza Csomagolás Kft.", language="hu")
    buyer = await make_client_user(company)
    assert (await User.select(User.language).where(User.id == buyer["id"]).first())["language"] == ""
    await login(client, buyer)
    assert '<html lang="hu">' in (await client.get("/client")).text  # the company's language
    settings_page = (await client.get("/client/account")).text
    assert 'value="" selected' in settings_page.replace("\n", " ") or 'value=""  selected' in settings_page
    assert (await post(client, "/client/account", {"language": "uk"})).status_code == 303
    assert '<html lang="uk">' in (await client.get("/client")).text  # their own choice
    assert (await post(client, "/client/account", {"language": ""})).status_code == 303
    assert '<html lang="hu">' in (await client.get("/client")).text  # back to the company's


async def test_a_visitor_switches_the_language_on_the_login_page_and_it_is_remembered(client):
    first = await client.get("/login", headers={"accept-language": "en"})
    assert '<html lang="en">' in first.text
    for code in ("ro", "uk", "bg", "hu"):
        assert f'href="?lang={code}"' in first.text  # the switch, each language in its own name
    switched = await client.get("/login?lang=ro", headers={"accept-language": "en"})
    assert '<html lang="ro">' in switched.text and client.cookies.get("portal_language") == "ro"
    again = await client.get("/login", headers={"accept-language": "en"})
    assert '<html lang="ro">' in again.text  # remembered
    assert '<html lang="ro">' in (await client.get("/no-such-page")).text  # the error pages too
