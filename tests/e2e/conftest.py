"""Browser fixtures: the real application served on a loopback port, driven by Debian's Chromium.

The server runs in a background thread on the session's test database (the `app`
fixture of tests/conftest.py), so tests create their data with the factories and
the browser sees it. Without Chromium the browser tests are skipped with a one-line
reason, unless OPSAPP_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser
is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from opsapp.extensions import db
from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# Filled by the accessibility scan, printed at the end of the run.
AXE_REPORT: list[str] = []


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _browser_required() -> bool:
    return os.environ.get("OPSAPP_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


class _QuietHandler(WSGIRequestHandler):
    """No access log: the test output stays readable (errors still reach the app's logger)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The application served by Werkzeug on 127.0.0.1 and a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="opsapp-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        reason = "browser tests need Debian's chromium (apt-get install chromium); none found"
        if _browser_required():
            pytest.fail(f"OPSAPP_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server):
    """A fresh browser context (own cookies) whose relative URLs go to the live server."""
    ctx = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def db_session(app):
    """An application context for creating test data the live server will see (commit it)."""
    with app.app_context():
        yield db.session
        db.session.remove()


def open_page(page, path: str):
    """Go to a path on the live server and return the response (never raises on HTTP errors)."""
    return page.goto(path, wait_until="load")


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Fill and send the real sign-in form."""
    open_page(page, "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def sign_out(page) -> None:
    with page.expect_navigation():
        page.locator("header form[action$='/logout'] button[type=submit]").click()


def switch_language(page, code: str) -> None:
    """Press the header's language button (English / Italiano)."""
    with page.expect_navigation():
        page.locator(f"header form.lang-form:has(input[name=lang][value={code}]) button").click()
    assert page.locator("html").get_attribute("lang") == code


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def pytest_terminal_summary(terminalreporter):
    if AXE_REPORT:
        terminalreporter.section("axe-core accessibility scan")
        for line in AXE_REPORT:
            terminalreporter.write_line(line)
