"""Browser journeys: the real server (`portal migrate`, `portal demo`, `portal serve`) in a
subprocess on a free port with a throwaway SQLite database, driven by Debian's Chromium
through Playwright's sync API.

No browser (or Chromium will not start): the tests are skipped with the reason, unless
PORTAL_REQUIRE_BROWSER=1, which turns the skip into a failure. Screenshots of the key pages
go to $PORTAL_SCREENSHOTS (default: test-artifacts/screenshots/ in the project).

Playwright's sync API keeps its own event loop marked as running in this thread while it is
started, so it is started per module and stopped before any pytest-asyncio test runs.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.billing.stripe_standin import (
    SECRET_KEY as STRIPE_SECRET_KEY,
    WEBHOOK_SECRET,
)

ROOT = Path(__file__).resolve().parents[2]
PORTAL = str(Path(sys.executable).parent / "portal")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
SECRET = "browser-test-secret-key-long-enough-for-the-portal"

STARTUP_TIMEOUT = 30.0
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is a browser test (this hook sees the whole session)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _unavailable(reason: str) -> None:
    if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PORTAL_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The running portal: its base URL and its log."""

    def __init__(self, base_url: str, log_path: Path, demo_output: str) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.demo_output = demo_output

    def log(self, last_lines: int = 200) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-last_lines:])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def stripe_standin():
    """The Stripe stand-in the browser's server talks to (Checkout sessions; webhooks are posted by the tests)."""
    from tests.billing.stripe_standin import StripeStandIn

    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory, stripe_standin) -> Server:
    folder = tmp_path_factory.mktemp("browser-portal")
    var_dir = folder / "var"
    var_dir.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "test", "SECRET_KEY": SECRET,
        "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite'}", "PORTAL_VAR_DIR": str(var_dir),
        "HOST": "127.0.0.1", "PORT": str(port), "BASE_URL": f"http://127.0.0.1:{port}",
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": stripe_standin.url,
    }
    demo_output = ""
    for command in (["migrate"], ["demo"]):
        result = subprocess.run([PORTAL, *command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"portal {' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False)
        demo_output = result.stdout
    log_path = folder / "server.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - the server's stdout; closed in the finally below
    process = subprocess.Popen([PORTAL, "serve"], env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", log_path, demo_output)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(f"{server.base_url}/healthz"):
            if process.poll() is not None:
                pytest.fail(f"portal serve exited with {process.returncode}:\n{server.log()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"portal serve did not answer /healthz within {STARTUP_TIMEOUT:.0f} s:\n{server.log()}", pytrace=False)
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_file.close()


@pytest.fixture(scope="session")
def base_url(portal_server) -> str:
    return portal_server.base_url


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed: {exc}")
    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(request, browser, portal_server):
    """A fresh browser context (no cookies from other tests), English for anonymous pages."""
    context = browser.new_context(base_url=portal_server.base_url, locale="en-GB", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    console_errors: list[str] = []
    bad_responses: list[str] = []
    tab.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    # the browser asks for /favicon.ico on its own; the app has none (reported, not a test failure)
    tab.on("response", lambda r: bad_responses.append(f"{r.status} {r.request.method} {r.url}")
           if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    tab.console_errors = console_errors
    tab.bad_responses = bad_responses
    yield tab
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        try:
            path = screenshot_dir() / f"FAILED-{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"
            tab.screenshot(path=str(path), full_page=True)
            print(f"failure screenshot: {path} (page {tab.url})")
        except Exception as exc:  # the page may be gone
            print(f"no failure screenshot: {exc}")
        if console_errors or bad_responses:
            print("browser console errors:\n" + "\n".join(console_errors + bad_responses))
        print(f"--- server log (last lines) ---\n{portal_server.log()}")
    context.close()


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot():
    """screenshot(page, "name"): a full-page PNG of what the user sees now."""

    def take(tab, name: str) -> Path:
        path = screenshot_dir() / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take
