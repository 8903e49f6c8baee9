"""Browser fixtures: the real application served on a loopback port, driven by Debian's Chromium.

The server runs in a background thread on the session's test database (the `app`
fixture of tests/conftest.py), so tests create their data with the factories and
the browser sees it. Without Chromium the browser tests are skipped with a one-line
reason, unless OPSAPP_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser
is a failure. `axe_scan` runs axe-core on the page shown and records one summary line
per scan, printed at the end of the run (section "axe-core accessibility scan").
`evaluated_call` and `decide_call` build the evaluation and the decision of a call for
the browser tests of the call cycle.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
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

# Filled by the accessibility scans (`axe_scan`), printed at the end of the run.
AXE_REPORT: list[str] = []
# Impacts that fail a test; the others are only counted in the summary.
AXE_BLOCKING = ("critical", "serious")
AXE_IMPACTS = ("critical", "serious", "moderate", "minor")
_axe = None


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


def axe_scan(page, who: str, lang: str, label: str) -> list[str]:
    """Run axe-core on the page shown; record its summary line; return its serious and critical problems."""
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    violations = _axe.run(page).response["violations"]
    counts = Counter(v["impact"] for v in violations)
    ids = ", ".join(f"{v['id']}({v['impact']})" for v in violations)
    AXE_REPORT.append(
        f"{lang} {who:<10} {label:<45} "
        + " ".join(f"{impact}={counts.get(impact, 0)}" for impact in AXE_IMPACTS)
        + (f"  [{ids}]" if ids else "")
    )
    problems = []
    for v in violations:
        if v["impact"] in AXE_BLOCKING:
            targets = "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            problems.append(f"{lang} {who} {label}: {v['id']} ({v['impact']}) {v['help']} at {targets}")
    return problems


def axe_totals() -> str:
    """Pages scanned and violations by impact over the whole run, for the summary's last line."""
    totals: Counter = Counter()
    for line in AXE_REPORT:
        for impact in AXE_IMPACTS:
            found = re.search(rf"\b{impact}=(\d+)", line)
            totals[impact] += int(found.group(1)) if found else 0
    return (f"{len(AXE_REPORT)} scans; violations: "
            + ", ".join(f"{impact} {totals[impact]}" for impact in AXE_IMPACTS))


def pytest_terminal_summary(terminalreporter):
    if AXE_REPORT:
        terminalreporter.section("axe-core accessibility scan")
        for line in AXE_REPORT:
            terminalreporter.write_line(line)
        terminalreporter.write_line(axe_totals())


# --- data of the call cycle ------------------------------------------------------------------


ELIGIBLE_RESULTS = [
    {"code": "sme", "passed": True, "reason": "is_sme", "params": {"size_class": "small"}},
    {"code": "seat_in_region", "passed": True, "reason": "seat_in_region", "params": {"region": "ITC1"}},
]


def evaluated_call(staff, evaluators, entries: dict, *, status=None, places: int = 2, **call_fields):
    """A call past its deadline with one submitted, eligible application per organisation of `entries`.

    `entries` maps an organisation to one item per evaluator (in the order of `evaluators`):
    a list of scores (Excellence, Impact, Implementation; the evaluation is submitted, with
    a comment per criterion), an `AssignmentStatus` (assigned, accepted, conflict: nothing
    scored), or None (that evaluator is not assigned). Returns (call, applications by
    organisation id, assignments by (organisation id, evaluator id)).
    """
    from opsapp.calls.models import AssignmentStatus, CallStatus
    from opsapp.core.timeutil import utcnow
    from tests.factories_calls import make_application, make_assignment, make_call

    call_fields.setdefault("opens_in", timedelta(days=-40))
    call_fields.setdefault("closes_in", timedelta(days=-5))
    call = make_call(status or CallStatus.IN_EVALUATION, places=places, evaluators_per_application=len(evaluators),
                     evaluation_deadline=utcnow() + timedelta(days=10), **call_fields)
    applications, assignments = {}, {}
    started = utcnow() - timedelta(days=6)
    for n, (organisation, per_evaluator) in enumerate(entries.items()):
        owner = next((m.user for m in organisation.memberships), None)
        application = make_application(
            call, organisation, by=owner, submitted_at=started + timedelta(minutes=n), eligibility="eligible",
            eligibility_results=ELIGIBLE_RESULTS, eligibility_decided_by_id=staff.id,
            eligibility_decided_at=started + timedelta(days=2),
            eligibility_reason="Checked against the business register.")
        applications[organisation.id] = application
        for k, (evaluator, item) in enumerate(zip(evaluators, per_evaluator, strict=True), start=1):
            if item is None:
                continue
            if isinstance(item, AssignmentStatus):
                assignment = make_assignment(application, evaluator, status=item)
                if item == AssignmentStatus.CONFLICT:
                    assignment.declared_at = utcnow()
                    assignment.conflict_reason = "I advised this company on its business plan last year."
            else:
                assignment = make_assignment(application, evaluator, scores=item)
                for score in assignment.scores:
                    # Comments never name their author: applicants and other evaluators read them.
                    score.comment = (f"{score.criterion.name}, expert {k}: the plan is "
                                     f"{'convincing' if score.value >= 3 else 'thin'} ({score.value}).")
            assignment.assigned_by_id = staff.id
            assignments[(organisation.id, evaluator.id)] = assignment
    db.session.flush()
    return call, applications, assignments


def decide_call(app, staff, call) -> None:
    """Confirm the proposed decision of a fully evaluated call through the decision service, as the
    "Confirm the decision" button does (outcomes, places offered, notifications); flushes only."""
    from opsapp.calls import decisions

    with app.test_request_context():
        # The digest of the proposal as the ranking page shows it: what the person confirmed.
        decisions.decide(staff, call.id, decisions.ranking_page(staff, call.id).digest)
