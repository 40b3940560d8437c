"""Every page a staff user (of several roles) and a client user reach in the demo data, walked at
phone size (360x740), at 1024x768 (width only) and at 1366x900, in English and in Romanian:

- no page is wider than the screen (document.documentElement.scrollWidth <= window.innerWidth):
  wide tables and the orders board scroll inside themselves, the menu folds away on a phone;
- axe-core (axe-playwright-python's bundled axe.min.js) finds no violation of impact serious or
  critical; a failure lists each rule with the elements it found;
- the first thing Tab reaches is "Skip to content", which leads to the page's <main>; every <nav>
  is named; no table header is empty.

The walk starts from the pages of the menu and follows the first link to a detail page of each
list (an order, an invoice, a client...), so it covers what the demo data holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import axe_playwright_python
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT
from tests.browser.journey_data import database, overdue_invoice, portal_env
from tests.browser.test_journeys import log_in, t
from tests.browser.test_share_link_journey import DRAFT, NEGOTIATOR

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}  # the sidebar is there and a wide table does not fit beside it either
DESKTOP = {"width": 1366, "height": 900}
BAD_IMPACTS = ("serious", "critical")

STAFF_PAGES = (
    "/staff", "/staff/orders", "/staff/orders/new", "/staff/invoices", "/staff/bank", "/staff/bank/accounts",
    "/staff/clients", "/staff/clients/new", "/staff/reports", "/staff/reports/collection", "/staff/reports/abc",
    "/staff/reports/outcomes", "/staff/reports/sales", "/staff/reports/aging/invoices", "/staff/tasks", "/staff/calendar",
    "/staff/notifications", "/staff/outbox", "/staff/dunning", "/staff/dunning/ladders", "/staff/dunning/letters",
    "/staff/dunning/reasons", "/staff/dunning/reasons/stats", "/staff/disputes", "/staff/schedules", "/staff/users",
    "/staff/users/new", "/staff/account",
)
CLIENT_PAGES = ("/client", "/client/orders", "/client/invoices", "/client/invoices/statement", "/client/schedules",
                "/client/schedules/new", "/client/account")
# a list page -> its detail pages: the walk opens the first one linked from the list
DETAILS = {
    "/staff/orders": r"/staff/orders/\d+", "/staff/invoices": r"/staff/invoices/\d+", "/staff/clients": r"/staff/clients/\d+",
    "/staff/bank/accounts": r"/staff/bank/accounts/\d+", "/staff/tasks": r"/staff/tasks/\d+", "/staff/outbox": r"/staff/outbox/\d+",
    "/staff/dunning/ladders": r"/staff/dunning/ladders/\d+", "/staff/disputes": r"/staff/disputes/\d+",
    "/staff/schedules": r"/staff/schedules/\d+", "/staff/users": r"/staff/users/\d+",
    "/client/orders": r"/client/orders/\d+", "/client/invoices": r"/client/invoices/\d+", "/client/schedules": r"/client/schedules/\d+",
}

# (who, their language in the demo) for the staff walks: admin sees every page; the others see theirs as their role does
STAFF = (("ana.admin@demo.example", "ro"), ("cristina.credit@demo.example", "ro"), ("mihai.sales@demo.example", "ro"),
         ("andrei.design@demo.example", "en"))
CLIENTS = (("ion@carpatia.demo.example", "ro"), ("zsofia@pannonia-bank.demo.example", "en"))

PAGE_CHECKS = """() => {
  const focusable = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), '
    + 'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
  const first = document.querySelector(focusable);
  const skip = document.querySelector('a.skip-link');
  const target = skip && document.getElementById(skip.getAttribute('href').slice(1));
  return {
    width: document.documentElement.scrollWidth, viewport: window.innerWidth,
    skip_first: first !== null && first === skip, skip_target: target ? target.tagName : null,
    unnamed_navs: [...document.querySelectorAll('nav')]
      .filter(n => !n.getAttribute('aria-label') && !n.getAttribute('aria-labelledby')).map(n => n.className),
    empty_headers: [...document.querySelectorAll('th')].filter(th => !th.textContent.trim()).length,
  };
}"""


def serious_violations(page: Page) -> list[str]:
    """axe-core over the page as it is now: 'rule (impact): target, target...' per serious or critical rule."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): " + ", ".join(" ".join(node["target"]) for node in v["nodes"][:6])
            + (f" (+{len(v['nodes']) - 6} more)" if len(v["nodes"]) > 6 else "")
            for v in results["violations"] if v["impact"] in BAD_IMPACTS]


def walk(page: Page, start: tuple[str, ...], *, refusals_too: bool = False) -> dict[str, list[str]]:
    """Every page from `start` and the first detail page of each list, each at phone size, 1024 px and
    1366 px: what is wrong with it (empty: nothing). A page that answers 403 or 404 is not this
    role's and is passed over, unless `refusals_too` (the refusal is the page to look at)."""
    problems: dict[str, list[str]] = {}
    queue, seen = list(start), set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page.set_viewport_size(PHONE)
        response = page.goto(path)
        if response is None or (response.status in (403, 404) and not refusals_too):  # not this role's page
            continue
        found = problems.setdefault(path, [])
        if response.status != 200 and not refusals_too:
            found.append(f"answered {response.status}")
            continue
        if path in DETAILS:
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
            queue.extend([h for h in hrefs if re.fullmatch(DETAILS[path], h or "")][:1])
        for name, viewport in (("phone", PHONE), ("tablet", TABLET), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            checks = page.evaluate(PAGE_CHECKS)
            if checks["width"] > checks["viewport"]:
                found.append(f"{name}: the page is {checks['width']} px wide on a {checks['viewport']} px screen")
            if viewport is not TABLET:
                found.extend(f"{name}: axe {v}" for v in serious_violations(page))
        if not checks["skip_first"] or checks["skip_target"] != "MAIN":
            found.append(f"the skip link is not the first focusable element or leads to {checks['skip_target']}, not <main>")
        if checks["unnamed_navs"]:
            found.append(f"<nav> without aria-label: {checks['unnamed_navs']}")
        if checks["empty_headers"]:
            found.append(f"{checks['empty_headers']} empty table header(s)")
    return {path: found for path, found in problems.items() if found}


def _report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}:\n  " + "\n  ".join(found) for path, found in problems.items())


@pytest.fixture
def english_admin(portal_server):
    """ana.admin reads the portal in English for the length of a test (the demo has her in Romanian)."""
    with database(portal_server) as conn:
        before = conn.execute("SELECT language FROM users WHERE email = 'ana.admin@demo.example'").fetchone()[0]
        conn.execute("UPDATE users SET language = 'en' WHERE email = 'ana.admin@demo.example'")
    yield "ana.admin@demo.example"
    with database(portal_server) as conn:
        conn.execute("UPDATE users SET language = ? WHERE email = 'ana.admin@demo.example'", (before,))


def _log_in(page: Page, email: str, language: str) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/login")
    log_in(page, email)
    assert "/login" not in page.url, f"{email} could not log in"
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize(("email", "language"), STAFF, ids=[e.split("@")[0] for e, _ in STAFF])
def test_staff_pages_fit_a_phone_and_pass_axe(page: Page, email, language):
    _log_in(page, email, language)
    problems = walk(page, STAFF_PAGES)
    assert not problems, f"{email} ({language}):\n{_report(problems)}"


def test_staff_pages_in_english_fit_a_phone_and_pass_axe(page: Page, english_admin):
    _log_in(page, english_admin, "en")
    problems = walk(page, STAFF_PAGES)
    assert not problems, f"{english_admin} (en):\n{_report(problems)}"


@pytest.mark.parametrize(("email", "language"), CLIENTS, ids=[e.split("@")[0] for e, _ in CLIENTS])
def test_client_pages_fit_a_phone_and_pass_axe(page: Page, email, language):
    _log_in(page, email, language)
    problems = walk(page, CLIENT_PAGES)
    assert not problems, f"{email} ({language}):\n{_report(problems)}"


@pytest.mark.parametrize("language", ["en", "ro"])
def test_pages_without_a_login_fit_a_phone_and_pass_axe(page: Page, language):
    page.goto(f"/login?lang={language}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    problems = walk(page, ("/login", "/s/not-a-real-link"), refusals_too=True)  # the refused share link's page
    assert not problems, f"({language}):\n{_report(problems)}"


def test_the_board_scrolls_inside_itself_not_the_page(page: Page):
    _log_in(page, "ana.admin@demo.example", "ro")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto("/staff/orders")
        widths = page.evaluate("""() => { const b = document.getElementById('board');
            return {page: document.documentElement.scrollWidth, screen: window.innerWidth, board: b.scrollWidth, shown: b.clientWidth}; }""")
        assert widths["page"] <= widths["screen"], f"at {viewport['width']} px the board widens the page: {widths}"
        assert widths["board"] > widths["shown"], f"at {viewport['width']} px the board's columns should scroll inside it: {widths}"


def test_on_a_phone_the_menu_folds_away_and_opens_from_the_keyboard(page: Page, screenshot):
    _log_in(page, "ana.admin@demo.example", "ro")
    page.set_viewport_size(PHONE)
    page.goto("/staff/invoices")
    nav = page.get_by_role("navigation", name=t(page, "Main"))
    toggle = page.locator(".nav-menu summary")
    expect(nav).to_be_hidden()
    expect(page.locator("main h1")).to_be_in_viewport()  # the page's own content is on the first screen
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=t(page, "Skip to content"))).to_be_focused()
    page.keyboard.press("Tab")  # the firm's name, home
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name=t(page, "Invoices"))).to_be_visible()
    screenshot(page, "80-phone-menu-open")
    page.keyboard.press("Enter")
    expect(nav).to_be_hidden()
    # the skip link leads past the menu to the page's content
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    # on a desktop the menu is always there and the toggle is not
    page.set_viewport_size(DESKTOP)
    expect(nav).to_be_visible()
    expect(toggle).to_be_hidden()


def test_a_share_link_page_fits_a_phone_and_passes_axe(page: Page, browser, portal_server):
    """A repayment schedule drafted for an invoice of this test's own, shared by its negotiator, opened
    without an account."""
    invoice = overdue_invoice(portal_server, nth_client=2)
    drafted = subprocess.run([sys.executable, "-c", DRAFT, str(invoice["id"]), str(invoice["total"]), NEGOTIATOR, "Three payments."],
                             env=portal_env(portal_server), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert drafted.returncode == 0, drafted.stderr
    schedule_id = int(drafted.stdout.strip().splitlines()[-1])
    _log_in(page, NEGOTIATOR, "ro")
    page.goto(f"/staff/schedules/{schedule_id}")
    page.once("dialog", lambda dialog: dialog.accept())  # "Sharing the draft offers it to the client. Go on?"
    page.locator("#schedule-links").get_by_role("button", name=t(page, "Create link")).click()
    url = page.locator("#share-link-url").input_value()
    stranger = browser.new_context(locale="en-GB", viewport=PHONE)
    try:
        tab = stranger.new_page()
        problems = walk(tab, (url,))
    finally:
        stranger.close()
    assert not problems, _report(problems)
