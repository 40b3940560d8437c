"""What a person sees while and after acting: a button disabled and "Loading…" while its htmx request
runs; Back showing the search box's query with its results; the worklist's select-all box and its
"nothing ticked" message; a session that ended returning to the page after logging in again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser

ADMIN = "ana.admin@demo.example"
CONTROLLER = "cristina.credit@demo.example"


def test_a_button_is_disabled_and_loading_is_said_while_its_request_runs(page: Page, screenshot):
    page.goto("/login")
    log_in(page, ADMIN)
    page.goto("/staff/orders")
    held = []
    page.route("**/staff/orders/*/move", lambda route: held.append(route))  # the answer waits until released
    card = page.locator("article.order-card:has(form.oc-move)").first
    card_id = card.get_attribute("id")
    button = card.locator("form.oc-move button")
    button.click()  # "Move" with "Move to…" still showing
    expect(button).to_be_disabled()
    expect(page.locator("html")).to_have_class(re.compile(r"\bportal-busy\b"))
    expect(page.locator("#portal-status")).to_have_text(t(page, "Loading…"))
    screenshot(page, "60-feedback-busy")
    assert len(held) == 1
    held[0].continue_()
    card = page.locator(f"#{card_id}")
    expect(card.get_by_role("alert")).to_have_text(t(page, "Choose the stage to move the order to."))
    expect(card.locator("form.oc-move button")).to_be_enabled()
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bportal-busy\b"))
    expect(page.locator("#portal-status")).to_have_text("")


def test_back_shows_the_query_of_the_results_and_a_lost_session_returns_to_the_page(page: Page, screenshot):
    page.goto("/login")
    log_in(page, ADMIN)
    page.goto("/staff/clients")
    box = page.locator("input[name=q]")
    rows = page.locator("#client-list tbody tr")
    everyone = rows.count()
    box.fill("Carp")
    page.wait_for_url(re.compile(r"[?&]q=Carp(&|$)"))
    expect(rows).to_have_count(1)
    box.fill("Iasi")
    page.wait_for_url(re.compile(r"[?&]q=Iasi(&|$)"))
    expect(rows.first).to_contain_text("Book Corner")

    page.go_back()  # reloaded from the server: the box and the list agree
    expect(page).to_have_url(re.compile(r"[?&]q=Carp(&|$)"))
    expect(page.locator("input[name=q]")).to_have_value("Carp")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Carpatia")
    page.go_back()
    expect(page.locator("input[name=q]")).to_have_value("")
    expect(rows).to_have_count(everyone)
    page.go_forward()
    expect(page.locator("input[name=q]")).to_have_value("Carp")
    screenshot(page, "61-feedback-back-keeps-the-query")

    # the session ends while the page is open; the next htmx request sends the browser to log in, then back here
    page.context.clear_cookies(name="portal_session")
    page.locator("input[name=q]").fill("Carpat")
    page.wait_for_url(re.compile(r"/login\?next="))
    log_in(page, ADMIN)
    expect(page).to_have_url(re.compile(r"/staff/clients\?q=Carp(&|$)"))  # the page it was on (the typed "Carpat" was never sent)
    expect(page.locator("input[name=q]")).to_have_value("Carp")


def test_select_all_on_the_worklist_and_apply_with_nothing_ticked(page: Page, screenshot):
    page.goto("/login")
    log_in(page, CONTROLLER)
    page.goto("/staff/dunning")
    every = page.locator("#bulk-form [data-select-all]")
    boxes = page.locator("#bulk-form input[name=invoice_ids]")
    expect(every).to_be_visible()
    assert boxes.count() > 1, "the demo leaves several overdue invoices"

    page.get_by_role("button", name=t(page, "Apply")).click()  # nothing ticked: said at the bar, nothing sent
    alert = page.locator("#bulk-actions [role=alert]")
    expect(alert).to_have_text(t(page, "Tick at least one invoice."))
    expect(page).to_have_url(re.compile(r"/staff/dunning$"))

    every.focus()
    page.keyboard.press("Space")  # a real checkbox: the keyboard ticks it
    expect(page.locator("#bulk-form input[name=invoice_ids]:checked")).to_have_count(boxes.count())
    expect(alert).to_have_text("")  # ticking clears the message
    boxes.nth(1).uncheck()
    assert every.evaluate("e => [e.checked, e.indeterminate]") == [False, True]
    screenshot(page, "62-feedback-worklist-some-ticked")
    page.keyboard.press("Tab")  # focus leaves, comes back, Space ticks all again
    every.focus()
    page.keyboard.press("Space")
    expect(page.locator("#bulk-form input[name=invoice_ids]:checked")).to_have_count(boxes.count())
    assert every.evaluate("e => [e.checked, e.indeterminate]") == [True, False]
    page.keyboard.press("Space")
    expect(page.locator("#bulk-form input[name=invoice_ids]:checked")).to_have_count(0)

    page.locator("form.filters select[name=paused]").select_option("no")  # every filter redraws the list (htmx)...
    page.wait_for_url(re.compile(r"[?&]paused=no(&|$)"))
    expect(every).to_be_visible()  # ...and the new list has its select-all box
    expect(every).not_to_be_checked()

    boxes.first.check()  # ticked, but no reason: the server refuses, and the page opens at the bar's message
    page.get_by_role("button", name=t(page, "Apply")).click()
    expect(alert).to_have_text(t(page, "Say why: the reason is kept with the invoice's history."))
    expect(page).to_have_url(re.compile(r"#bulk-error$"))
    expect(alert).to_be_in_viewport()  # also once the groups, loaded after the page, have grown it above the bar
    expect(alert).to_be_focused()  # read out, and the keyboard goes on from the bar
    page.bad_responses.clear()  # the refusal is a 400 on purpose
