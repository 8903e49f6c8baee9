"""Who may open what: every route of `app.url_map` for every kind of user.

The walk is generic, so it grows with the application: a new route is checked the
moment it is registered. URL parameters are filled by name from the objects of
applicant A (`organisation_id` is A's organisation, `file_id` a document of it, and
so on), unknown ones with 1 or "x". The rules checked:

- every endpoint declares its access (`view._access`); a route without a decision fails here;
- GET: anonymous on a non-public route goes to /login; a signed-in user without an
  allowed role gets 403; an allowed user does not get 403 (except where a route
  holds someone else's object) and nobody ever gets a 500;
- object level: applicant B and a buyer never get a 200 on A's objects, also with one
  id swapped for their own (B's organisation with A's document); no page they can
  open shows A's data; their POSTs, with a valid CSRF token, change nothing of A's;
  `OBJECT_RULES` lists the exact answers expected on the routes known today;
- POST without a CSRF token: 400 (anonymous on a closed route: 400 or /login);
  with a token and an empty form: never a 500.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import Membership, OwnershipLink, User, UserSession
from opsapp.core import files
from opsapp.core.models import Notification, StoredFile
from opsapp.core.permissions import PUBLIC, access_of, public
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user

ROLES = ["anonymous", "admin", "staff", "authority", "evaluator", "mentor", "applicant_a", "applicant_b", "buyer"]
ROLE_OF = {name: Role(name.split("_")[0]) for name in ROLES if name != "anonymous"}
OUTSIDERS = ("applicant_b", "buyer")  # must never reach A's objects

# URL parameters naming objects that belong to applicant A (or, swapped, to applicant B).
OBJECT_PARAMS = ("organisation_id", "user_id", "notification_id", "file_id", "document_id",
                 "membership_id", "link_id", "session_id")

OK = frozenset({200})
DENIED = frozenset({403, 404})
_STAFF_AND_OWNER = {"applicant_a": OK, "staff": OK, "admin": OK,
                    "applicant_b": DENIED, "buyer": DENIED, "evaluator": DENIED, "mentor": DENIED,
                    "authority": DENIED}
# Exact answers on A's objects, for the routes known today (GET). Roles not named here follow
# the generic rules; new routes follow them until someone adds a line.
OBJECT_RULES: dict[str, dict[str, frozenset[int]]] = {
    "accounts.organisation_detail": _STAFF_AND_OWNER,
    "accounts.organisation_edit": _STAFF_AND_OWNER,
    "accounts.organisation_size": _STAFF_AND_OWNER,
    "accounts.organisation_members": _STAFF_AND_OWNER,
    "accounts.organisation_documents": _STAFF_AND_OWNER,
    "accounts.organisation_document_download": _STAFF_AND_OWNER,
    "accounts.admin_user_detail": {"admin": OK},
}
# POSTs that end the actor's own sign-in or account go last, so the others run signed in.
LAST = ("logout", "erase")

_PARAM = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?:[^)]*)\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


@dataclass
class Person:
    """An applicant with an organisation, a member, a document, a related enterprise, a notification."""

    user_id: int
    email: str
    objects: dict[str, int]
    secrets: list[str]  # text only this person's own pages may show


@dataclass
class World:
    emails: dict[str, str]
    a: Person
    b: Person
    shared: dict[str, object] = field(default_factory=dict)  # non-personal parameters


def _pdf(text: str) -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%" + text.encode() + b"\n%%EOF\n")


def _applicant(tag: str) -> Person:
    from opsapp.accounts.organisations import DOCUMENT_PURPOSE

    email = f"{tag.lower()}.owner@example.eu"
    user = make_user(email, roles=[Role.APPLICANT], full_name=f"{tag} Owner")
    org = make_organisation(owner=user, legal_name=f"{tag} Robotica S.r.l.")
    colleague = make_user(f"{tag.lower()}.colleague@example.eu", roles=[Role.APPLICANT],
                          full_name=f"{tag} Colleague")
    db.session.add(Membership(user_id=colleague.id, organisation_id=org.id, role="member"))
    upload = FileStorage(io.BytesIO(_pdf(tag)), filename=f"{tag.lower()}-business-plan.pdf",
                         content_type="application/pdf")
    document = files.store(upload, purpose=DOCUMENT_PURPOSE, uploaded_by=user, organisation_id=org.id)
    link = OwnershipLink(organisation_id=org.id, enterprise_name=f"{tag} Holding S.p.A.",
                         share_percent=30, direction="holds")
    notice = Notification(user_id=user.id, subject=f"{tag}: your application was received", link="/")
    db.session.add_all([link, notice])
    db.session.flush()
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == colleague.id, Membership.organisation_id == org.id))
    return Person(
        user_id=user.id,
        email=email,
        objects={"organisation_id": org.id, "user_id": user.id, "notification_id": notice.id,
                 "file_id": document.id, "document_id": document.id, "membership_id": membership.id,
                 "link_id": link.id},
        secrets=[org.legal_name, email, user.full_name, org.vat_number, document.original_name,
                 notice.subject, link.enterprise_name, colleague.email],
    )


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        emails = {}
        for name, role in ROLE_OF.items():
            if name not in ("applicant_a", "applicant_b"):
                emails[name] = make_user(f"{name}@example.eu", roles=[role]).email
        a, b = _applicant("Alfa"), _applicant("Beta")
        make_organisation(kind="corporate_buyer", owner=db.session.scalar(
            select(User).where(User.email == emails["buyer"])), legal_name="Compratore S.p.A.")
        emails["applicant_a"], emails["applicant_b"] = a.email, b.email
        domain = make_s3_domains()[0]
        db.session.commit()
        return World(emails=emails, a=a, b=b, shared={"domain_id": domain.id})


@pytest.fixture
def clients(app, world) -> dict:
    """One test client per role, signed in through the real form (anonymous stays signed out)."""
    result = {"anonymous": app.test_client()}
    for name, email in world.emails.items():
        client = app.test_client()
        r = login(client, email)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/", f"{name} cannot sign in"
        result[name] = client
    with app.app_context():
        for person in (world.a, world.b):
            person.objects["session_id"] = db.session.scalar(
                select(UserSession.id).where(UserSession.user_id == person.user_id)
                .order_by(UserSession.id.desc()))
    return result


# --- the walk ----------------------------------------------------------------------


def _rules(app: Flask):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _params(rule) -> dict[str, str | None]:
    return {m.group("name"): m.group("converter") for m in _PARAM.finditer(rule.rule)}


def _object_params(rule) -> list[str]:
    return [name for name in _params(rule) if name in OBJECT_PARAMS]


def _values(rule, world: World, owner: Person, swap: tuple[str, Person] | None = None) -> dict:
    values = {}
    for name, converter in _params(rule).items():
        if swap and name == swap[0]:
            values[name] = swap[1].objects[name]
        elif name in owner.objects:
            values[name] = owner.objects[name]
        elif name in world.shared:
            values[name] = world.shared[name]
        elif name == "token":
            values[name] = secrets.token_urlsafe(24)
        elif converter in ("int", "float"):
            values[name] = 1
        else:
            values[name] = "x"
    return values


def _urls(rule, world: World) -> list[tuple[str, bool]]:
    """(url, holds A's objects) for A's objects, then with each object id in turn swapped for B's."""
    urls = [(rule.build(_values(rule, world, world.a))[1], bool(_object_params(rule)))]
    if len(_object_params(rule)) > 1:
        for name in _object_params(rule):
            urls.append((rule.build(_values(rule, world, world.a, swap=(name, world.b)))[1], True))
    return urls


def _allowed(view, role: str) -> bool:
    access = access_of(view)
    if access is None:  # undeclared: closed to everyone (and reported by the first test)
        return False
    if access.kind == PUBLIC:
        return True
    if role == "anonymous":
        return False
    return access.kind != "roles" or ROLE_OF[role] in access.roles


def _body(response) -> str:
    """The text of a page, a CSV or JSON answer (a binary file is judged by its status alone)."""
    textual = response.mimetype.startswith(("text/", "application/json"))
    return response.get_data(as_text=True) if textual else ""


def _redirects_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login"


# --- the tests -----------------------------------------------------------------------


def undeclared_endpoints(app: Flask) -> list[str]:
    return sorted({r.endpoint for r in _rules(app) if access_of(app.view_functions[r.endpoint]) is None})


def test_every_endpoint_declares_who_may_open_it(app):
    assert undeclared_endpoints(app) == [], "routes without @public / @signed_in / @roles_required"


def test_a_route_added_without_a_declaration_is_caught_and_closed(app):
    from opsapp import create_app

    other = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       INSTANCE_PATH=app.instance_path)

    @other.route("/forgotten")
    def forgotten():
        return "open to anyone?"

    @other.route("/declared")
    @public
    def declared():
        return "open to anyone"

    found = undeclared_endpoints(other)
    assert "forgotten" in found and "declared" not in found
    client = other.test_client()
    assert client.get("/forgotten").status_code == 403
    assert client.get("/declared").status_code == 200
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_get_answers_follow_the_declared_access(app, world, clients, role):
    client = clients[role]
    problems = []
    checked = 0
    for rule in _rules(app):
        if "GET" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        access = access_of(view)
        expected_exact = OBJECT_RULES.get(rule.endpoint, {}).get(role)
        for n, (url, holds_objects) in enumerate(_urls(rule, world)):
            r = client.get(url)
            checked += 1
            status = r.status_code
            where = f"{role} GET {url} ({rule.endpoint}) -> {status}"
            if status >= 500:
                problems.append(f"{where}: server error")
                continue
            if access is None:
                if status != 403:
                    problems.append(f"{where}: undeclared route, expected 403")
                continue
            if role == "anonymous" and access.kind != PUBLIC:
                if not _redirects_to_login(r):
                    problems.append(f"{where}: expected a redirect to /login")
                continue
            if not _allowed(view, role):
                if status != 403:
                    problems.append(f"{where}: role not allowed, expected 403")
                continue
            swapped = n > 0
            if role in OUTSIDERS and holds_objects:
                if status == 200 or not (status in DENIED or 300 <= status < 400):
                    problems.append(f"{where}: {role} must not open A's object")
            elif expected_exact is not None and not swapped:
                if status not in expected_exact:
                    problems.append(f"{where}: expected {sorted(expected_exact)}")
            elif not holds_objects and status == 403:
                problems.append(f"{where}: allowed role refused")
            if role in OUTSIDERS:
                body = _body(r)
                leaked = [s for s in world.a.secrets if s and s in body]
                if leaked:
                    problems.append(f"{where}: shows A's data {leaked}")
    assert checked > 0
    assert not problems, f"{len(problems)} of {checked} answers wrong:\n" + "\n".join(problems)


def test_documents_of_a_are_downloads_only_for_a_and_staff(app, world, clients):
    url = f"/organisations/{world.a.objects['organisation_id']}/documents/{world.a.objects['file_id']}"
    for role in ("applicant_a", "staff", "admin"):
        r = clients[role].get(url)
        assert r.status_code == 200, role
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.data.startswith(b"%PDF") and b"Alfa" in r.data
    for role in ("applicant_b", "buyer", "evaluator", "mentor", "authority"):
        r = clients[role].get(url)
        assert r.status_code in DENIED, role
        assert b"%PDF" not in r.data


@pytest.mark.parametrize("role", ROLES)
def test_post_without_csrf_token_is_refused(app, world, clients, role):
    client = clients[role]
    problems = []
    checked = 0
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        for url, _holds in _urls(rule, world):
            r = client.post(url, data={})
            checked += 1
            where = f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}"
            if role == "anonymous" and getattr(access_of(view), "kind", None) != PUBLIC:
                if not (r.status_code == 400 or _redirects_to_login(r)):
                    problems.append(f"{where}: expected 400 or a redirect to /login")
            elif _allowed(view, role):
                if r.status_code != 400:
                    problems.append(f"{where}: expected 400 (no CSRF token)")
            elif r.status_code not in (400, 403):
                problems.append(f"{where}: expected 400 or 403")
    assert checked > 0
    assert not problems, f"{len(problems)} of {checked} answers wrong:\n" + "\n".join(problems)


def _rows_of(person: Person) -> dict[str, list]:
    """Every row that belongs to this person or their organisation (the audit log aside)."""
    org_id, user_id = person.objects["organisation_id"], person.user_id
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name == "audit_entries":
            continue
        conditions = []
        if "organisation_id" in table.c:
            conditions.append(table.c.organisation_id == org_id)
        if "user_id" in table.c:
            conditions.append(table.c.user_id == user_id)
        if table.name == "organisations":
            conditions.append(table.c.id == org_id)
        if table.name == "users":
            conditions.append(table.c.id == user_id)
        for condition in conditions:
            found = db.session.execute(select(table).where(condition).order_by(*table.primary_key.columns))
            rows.setdefault(table.name, []).extend(tuple(row) for row in found)
    return rows


@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsiders_posting_to_a_objects_change_nothing_of_a(app, world, clients, role):
    """With a valid CSRF token: every POST on A's objects (and with one id swapped for B's)."""
    client = clients[role]
    token = csrf_from(client.get("/").get_data(as_text=True))
    with app.app_context():
        before = _rows_of(world.a)
    problems = []
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods or not _object_params(rule):
            continue
        for url, _holds in _urls(rule, world):
            r = client.post(url, data={"csrf_token": token})
            if r.status_code >= 500:
                problems.append(f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}")
            elif r.status_code == 200 and any(s in _body(r) for s in world.a.secrets):
                problems.append(f"{role} POST {url} ({rule.endpoint}) shows A's data")
    with app.app_context():
        after = _rows_of(world.a)
        document = db.session.get(StoredFile, world.a.objects["file_id"])
        assert document is not None and files.path_of(document).exists()
    changed = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
    assert not changed, f"{role}'s POSTs changed A's rows in {changed}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_posts_with_a_token_and_an_empty_form_never_fail(app, world, clients, role):
    client = clients[role]
    token = csrf_from(client.get("/").get_data(as_text=True))
    problems = []
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods or not _allowed(app.view_functions[rule.endpoint], role):
            continue
        for url, _holds in _urls(rule, world):
            r = client.post(url, data={"csrf_token": token})
            if r.status_code >= 500:
                problems.append(f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}")
    assert not problems, "\n".join(problems)


def test_b_is_never_shown_a_notification_of_a(app, world, clients):
    """Opening someone else's notification neither marks it read nor follows its link."""
    client = clients["applicant_b"]
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    r = client.post(f"/notifications/{world.a.objects['notification_id']}/open", data={"csrf_token": token})
    assert r.status_code in (302, 403, 404)
    with app.app_context():
        assert db.session.get(Notification, world.a.objects["notification_id"]).read_at is None
    assert "Alfa" not in client.get("/notifications").get_data(as_text=True)
