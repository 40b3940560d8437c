"""What users see in a real browser: staff editing a client with htmx, a client on their
own page, the login redirect with `next`, and logging out.

Texts are compared through the app's own catalogs in the language the page is rendered in
(`<html lang>`), since staff see the portal in their own language.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.demo import CLIENTS, DEMO_PASSWORD
from portal.web.i18n import translations

pytestmark = pytest.mark.browser

ADMIN = "ana.admin@demo.example"
SALES_MANAGER = "mihai.sales@demo.example"  # may edit clients
CLIENT_USER = "ion@carpatia.demo.example"
CLIENT_COMPANY = "Carpatia Retail SRL"
EDITED_COMPANY = "Transilvania Pharma SRL"  # not the client user's company: the journeys stay independent


def t(page: Page, message: str, **variables: object) -> str:
    """`message` as the app shows it on this page (its <html lang>)."""
    language = page.locator("html").get_attribute("lang") or "en"
    text = translations(language).gettext(message)
    return text % variables if variables else text


def log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.get_by_label(t(page, "Email address")).fill(email)
    page.get_by_label(t(page, "Password")).fill(password)
    page.get_by_role("button", name=t(page, "Log in")).click()
    page.wait_for_load_state()


def test_staff_edits_a_client_with_inline_validation(page: Page, screenshot):
    page.goto("/login")
    expect(page.get_by_role("heading", name=t(page, "Log in"))).to_be_visible()
    screenshot(page, "01-login")
    log_in(page, SALES_MANAGER)
    expect(page).to_have_url(re.compile(r"/staff$"))
    screenshot(page, "02-staff-dashboard")

    # Clients: the whole list, then filtered live by htmx (no page load).
    page.get_by_role("navigation").get_by_role("link", name=t(page, "Clients")).click()
    expect(page).to_have_url(re.compile(r"/staff/clients/?$"))
    rows = page.locator("#client-list tbody tr")
    expect(rows).to_have_count(len(CLIENTS))
    screenshot(page, "03-clients-list")
    page.evaluate("window.__sameDocument = true")
    search = page.get_by_placeholder(t(page, "Search by name, tax ID or email"))
    search.press_sequentially("pharma", delay=40)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(EDITED_COMPANY)
    expect(page.locator("#client-list")).not_to_contain_text(CLIENT_COMPANY)
    expect(page).to_have_url(re.compile(r"[?&]q=pharma"))  # hx-push-url: the filter survives a reload
    assert page.evaluate("window.__sameDocument === true"), "the search reloaded the page instead of swapping the list"
    search.fill("no such company xyz")
    expect(page.locator("#client-list")).to_contain_text(t(page, "No client matches these filters."))
    expect(rows).to_have_count(0)
    search.fill("pharma")
    expect(rows).to_have_count(1)

    # The client's page, then its edit form.
    page.get_by_role("link", name=EDITED_COMPANY).click()
    expect(page).to_have_url(re.compile(r"/staff/clients/\d+$"))
    detail_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(EDITED_COMPANY)
    screenshot(page, "04-client-detail")
    page.get_by_role("link", name=t(page, "Edit"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/staff/clients/\d+/edit$"))
    edit_url = page.url

    # A bad email: the error appears beside the field as soon as it loses focus; nothing is submitted.
    email_field = page.locator("#field-email")
    email_error = email_field.locator("p.error")
    expect(email_error).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/staff/clients/validate")) as validation:
        page.locator("#email").fill("not-an-email")
        page.locator("#email").press("Tab")
    assert validation.value.status == 200
    expect(email_error).to_have_text(t(page, "This is not an email address."))
    expect(email_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_have_value("not-an-email")  # the swap keeps what the user typed
    expect(page).to_have_url(edit_url)
    expect(page.get_by_text(t(page, "Please correct the highlighted fields; nothing was saved yet."))).to_have_count(0)

    # Payment terms out of range: also inline.
    terms_field = page.locator("#field-payment_terms_days")
    page.locator("#payment_terms_days").fill("400")
    page.locator("#payment_terms_days").press("Tab")
    expect(terms_field.locator("p.error")).to_have_text(t(page, "Enter a number of days from 0 to %(max)s.", max=365))
    screenshot(page, "05-client-edit-inline-error")

    # Fix both, change the phone, save.
    page.locator("#payment_terms_days").fill("60")
    page.locator("#payment_terms_days").press("Tab")
    expect(terms_field.locator("p.error")).to_have_count(0)
    page.locator("#email").fill("accounts@transpharma.demo.example")
    page.locator("#email").press("Tab")
    expect(email_error).to_have_count(0)
    expect(email_field).not_to_have_class(re.compile(r"\bhas-error\b"))
    new_phone = "+40 268 999 111"
    page.locator("#phone").fill(new_phone)
    page.locator("#phone").press("Tab")
    expect(page.locator("#field-phone p.error")).to_have_count(0)
    page.get_by_role("button", name=t(page, "Save changes")).click()

    expect(page).to_have_url(detail_url)
    expect(page.locator(".flash").filter(has_text=t(page, "Changes to %(name)s saved.", name=EDITED_COMPANY))).to_be_visible()
    header = page.locator(".page-head")
    expect(header).to_contain_text(new_phone)
    expect(header).to_contain_text("accounts@transpharma.demo.example")
    timeline = page.locator("#timeline")
    expect(timeline.get_by_role("heading", name=t(page, "History"))).to_be_visible()
    latest = timeline.locator("ol.timeline > li").first
    expect(latest).to_contain_text("Mihai Ionescu")  # who changed it
    expect(latest).to_contain_text(new_phone)
    expect(latest.locator("del")).to_contain_text(["+40 268 410 300"])  # the old phone, struck through
    screenshot(page, "06-client-detail-after-save")
    assert not page.bad_responses, page.bad_responses
    assert not [e for e in page.console_errors if e.startswith("uncaught")], page.console_errors


def test_client_user_sees_only_their_own_company(page: Page, screenshot):
    page.goto("/login")
    log_in(page, CLIENT_USER)
    expect(page).to_have_url(re.compile(r"/client/?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT_COMPANY)
    terms = page.locator("section.card").filter(has=page.get_by_role("heading", name=t(page, "Your terms")))
    expect(terms).to_contain_text(t(page, "Payment terms"))
    expect(terms).to_contain_text("30")  # Carpatia's demo terms: 30 days, in RON
    expect(terms).to_contain_text("RON")
    expect(page.locator("body")).to_contain_text("Ion Georgescu")
    screenshot(page, "07-client-home")
    html = page.content()
    for name, *_ in CLIENTS:
        if name != CLIENT_COMPANY:
            assert name not in html, f"{name} is visible to a user of {CLIENT_COMPANY}"

    response = page.goto("/staff")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name=t(page, "This page is not open to you."))).to_be_visible()
    screenshot(page, "08-client-forbidden-staff")


def test_login_returns_to_the_page_asked_for(page: Page):
    page.goto("/staff/clients")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)staff(%2F|/)clients$"))
    expect(page.locator("input[name=next]")).to_have_value("/staff/clients")
    log_in(page, ADMIN)
    expect(page).to_have_url(re.compile(r"/staff/clients/?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t(page, "Clients"))


def test_logout(page: Page, screenshot):
    page.goto("/login")
    log_in(page, ADMIN)
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto("/staff/users")  # the admin's page, to come back to after logging out
    expect(page).to_have_url(re.compile(r"/staff/users/?$"))
    page.get_by_role("button", name=t(page, "Log out")).click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text(t(page, "You have been logged out."))).to_be_visible()
    screenshot(page, "09-logged-out")
    page.reload()
    expect(page.get_by_text(t(page, "You have been logged out."))).to_have_count(0)  # shown once

    page.goto("/staff")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)staff$"))
    expect(page.get_by_role("heading", name=t(page, "Log in"))).to_be_visible()


def test_back_button_after_logout_shows_no_staff_data(page: Page):
    page.goto("/login")
    log_in(page, ADMIN)
    page.goto("/staff/clients")
    expect(page.locator("#client-list")).to_contain_text(CLIENT_COMPANY)
    page.get_by_role("button", name=t(page, "Log out")).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.go_back()
    page.wait_for_load_state()
    expect(page.get_by_text(CLIENT_COMPANY)).to_have_count(0, timeout=2_000)
