"""An axe-core scan of every page each kind of user reaches, in English and in Italian.

The list of pages is not written down here: for each role the test signs in as such a
user, reads the main navigation (`#main-navigation a`), adds the pages everyone has
(home, account, notifications, the legal pages) and the pages one link away from
those (inside `main`: detail pages, the privacy centre, sub-pages of the account). New pages are scanned as soon as they appear in the
navigation. No violation of impact "serious" or "critical" is allowed; one summary line
per page is printed at the end of the run (section "axe-core accessibility scan").
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from opsapp.core.models import Notification
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.e2e.conftest import AXE_REPORT, open_page, path_of, sign_in, switch_language
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.e2e

BLOCKING = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")
PUBLIC_PAGES = ["/", "/login", "/register", "/password/reset", "/confirm", "/accessibility", "/privacy"]
# The legal pages differ for a signed-in user only in the header, which every page below has.
SIGNED_IN_PAGES = ["/", "/account", "/account/password", "/account/two-step", "/notifications"]
# Links that are files or actions, not pages to scan.
NOT_PAGES = (".csv", ".xlsx", ".ics", ".docx", ".pdf", "/export", "/download", "/logout")
MAX_LINKED_PAGES = 20  # per role: pages reached by one link from those above

ROLES = ["anonymous", "admin", "staff", "authority", "evaluator", "mentor", "applicant", "buyer"]

_axe = Axe()


def _make_person(role: str) -> str:
    """A user of this role, with what such a user normally has (an organisation, a notification)."""
    email = f"{role}@example.eu"
    user = make_user(email, roles=[Role(role)], full_name=f"{role.title()} Example")
    if role == "applicant":
        make_organisation(owner=user, legal_name="Officina Rossi S.r.l.")
    elif role == "buyer":
        make_organisation(kind="corporate_buyer", owner=user, legal_name="Compratore S.p.A.")
    db.session.add(Notification(user_id=user.id, subject="Your application was received",
                                body="We will tell you when it is evaluated.", link="/"))
    return email


def _local(page, href: str | None) -> str | None:
    """The path of a link to a page of this site, or None for anything else."""
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(href)
    base = urlsplit(page.url)
    if parts.netloc and parts.netloc != base.netloc:
        return None
    path = parts.path or "/"
    if any(marker in path for marker in NOT_PAGES) or path.startswith("/static/"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _links(page, selector: str) -> list[str]:
    found = []
    for href in page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))"):
        path = _local(page, href)
        if path and path not in found:
            found.append(path)
    return found


def _pages_to_scan(page, signed_in: bool) -> list[str]:
    """The fixed pages, the navigation's pages, then pages one link away (same site, HTML, 200)."""
    pages = list(SIGNED_IN_PAGES if signed_in else PUBLIC_PAGES)
    if not signed_in:
        return pages
    open_page(page, "/")
    navigation = _links(page, "#main-navigation a")
    for path in navigation:
        if path not in pages:
            pages.append(path)
    # One page per template: /admin/users?sort=name is /admin/users again, /organisations/7 is /organisations/3.
    shapes = {_shape(p) for p in pages}
    linked = 0
    for path in list(pages):  # the fixed pages and the navigation's
        open_page(page, path)
        for target in _links(page, "main a[href]"):
            if _shape(target) in shapes or linked >= MAX_LINKED_PAGES:
                continue
            shapes.add(_shape(target))
            response = page.request.get(target, max_redirects=0)
            if response.status == 200 and response.headers.get("content-type", "").startswith("text/html"):
                pages.append(target)
                linked += 1
    return pages


def _shape(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/<id>", path.split("?")[0])


def _scan(page, role: str, lang: str, label: str, problems: list[str]) -> None:
    results = _axe.run(page)
    violations = results.response["violations"]
    counts = Counter(v["impact"] for v in violations)
    ids = ", ".join(f"{v['id']}({v['impact']})" for v in violations)
    AXE_REPORT.append(
        f"{lang} {role:<10} {label:<45} "
        + " ".join(f"{impact}={counts.get(impact, 0)}" for impact in IMPACTS)
        + (f"  [{ids}]" if ids else "")
    )
    for v in violations:
        if v["impact"] in BLOCKING:
            targets = "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            problems.append(f"{lang} {role} {label}: {v['id']} ({v['impact']}) {v['help']} at {targets}")


def _scan_all(page, role: str, lang: str, pages: list[str], problems: list[str]) -> None:
    for path in pages:
        response = open_page(page, path)
        status = response.status if response else 0
        landed = path_of(page)
        # A navigation entry may redirect (for example "my organisation" to its page), never to sign-in.
        sent_to_sign_in = landed.startswith("/login") and not path.startswith("/login")
        if status != 200 or sent_to_sign_in:
            problems.append(f"{lang} {role} {path}: answered {status}, ended at {landed}")
            continue
        assert page.locator("html").get_attribute("lang") == lang
        label = path if landed.split("?")[0] == path.split("?")[0] else f"{path} -> {landed}"
        _scan(page, role, lang, label, problems)
    if role == "anonymous":
        # A form showing its errors: the summary, the messages next to the fields.
        open_page(page, "/login")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert page.locator("#error-summary").is_visible()
        _scan(page, role, lang, "/login (form with errors)", problems)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_no_serious_or_critical_accessibility_violation(page, db_session, role):
    signed_in = role != "anonymous"
    if signed_in:
        email = _make_person(role)
        db_session.commit()
        sign_in(page, email)
        assert path_of(page) == "/", f"{role} could not sign in"
    pages = _pages_to_scan(page, signed_in)

    problems: list[str] = []
    open_page(page, "/")
    _scan_all(page, role, "en", pages, problems)
    open_page(page, "/")
    switch_language(page, "it")
    _scan_all(page, role, "it", pages, problems)

    assert not problems, f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)
