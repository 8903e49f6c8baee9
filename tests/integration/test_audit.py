"""The audit log: what gets an entry, that entries never change, and the staff page with its
filters, pagination and CSV download."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from opsapp.core.models import AuditEntry, AuditLogIsAppendOnly
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_user


def _entries(action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def _add(action: str, actor=None, when: datetime | None = None, **fields) -> AuditEntry:
    entry = AuditEntry(action=action, actor_id=getattr(actor, "id", actor), detail=fields.pop("detail", {}),
                       created_at=when or datetime.now(UTC), **fields)
    db.session.add(entry)
    db.session.flush()
    return entry


def _signed_in(app, client, role: Role, email: str | None = None):
    email = email or f"{role}@example.eu"
    with app.app_context():
        make_user(email, roles=[role], full_name=f"The {role}")
        db.session.commit()
    assert login(client, email).status_code == 302


@contextmanager
def _counting_queries(app):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ARG001
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- what is written ----------------------------------------------------------------------


def test_sign_in_good_and_bad_are_written(app, client):
    with app.app_context():
        user = make_user("ada@example.eu")
        db.session.commit()
        user_id = user.id
    assert login(client, "ada@example.eu", password="wrong password entirely").status_code == 200
    assert login(client, "nobody@example.eu", password="whatever it is").status_code == 200
    assert login(client, "ada@example.eu").status_code == 302
    with app.app_context():
        failed = _entries("login.failed")
        assert [(e.actor_id, e.detail["email"]) for e in failed] == [
            (user_id, "ada@example.eu"), (None, "nobody@example.eu")]
        assert all(e.ip_address for e in failed)
        [succeeded] = _entries("login.succeeded")
        assert succeeded.actor_id == user_id and succeeded.object_id == str(user_id)


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.BUYER, Role.EVALUATOR, Role.MENTOR, Role.AUTHORITY])
def test_other_roles_are_refused_and_the_refusal_is_written(app, client, role):
    _signed_in(app, client, role)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    with app.app_context():
        denied = _entries("access.denied")
        assert [e.object_id for e in denied] == ["core.audit_log", "core.audit_log_export"]
        assert denied[0].detail["path"] == "/audit"
        assert not _entries("audit.exported")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ("/audit", "/audit/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_orm_refuses_to_change_or_delete_an_entry(app, ctx):
    entry = _add("call.published", object_type="calls", object_id="1")
    db.session.commit()
    entry.action = "call.withdrawn"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).action == "call.published"


def test_no_route_changes_or_deletes_an_entry(app, client):
    audit_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("core.audit")]
    assert {r.endpoint for r in audit_rules} == {"core.audit_log", "core.audit_log_export"}
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}
    _signed_in(app, client, Role.ADMIN)
    token = csrf_from(client.get("/audit").get_data(as_text=True))
    assert client.post("/audit", data={"csrf_token": token}).status_code == 405


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def history(app):
    """A small log from long ago (the sign-ins of each test come after it): two people, a failed
    sign-in nobody owns, records of several kinds."""
    with app.app_context():
        alice = make_user("alice@example.eu", full_name="Alice Verdi")
        bob = make_user("bob@example.eu", full_name="Bob Neri")
        _add("call.published", alice, datetime(2001, 1, 5, 9, 0, tzinfo=UTC), object_type="calls", object_id="3")
        # 23:30 UTC on 10 January is already 11 January in Rome.
        _add("call.closed", alice, datetime(2001, 1, 10, 23, 30, tzinfo=UTC), object_type="calls", object_id="3")
        _add("score.saved", bob, datetime(2001, 2, 1, 10, 0, tzinfo=UTC), object_type="applications",
             object_id="5", detail={"total": "87.5"})
        _add("login.failed", None, datetime(2001, 2, 2, 8, 0, tzinfo=UTC), detail={"email": "=HYPERLINK(\"x\")"})
        db.session.commit()


def _actions(html: str) -> set[str]:
    known = {"call.published", "call.closed", "score.saved", "login.failed", "login.succeeded"}
    return {a for a in known if f"<code>{a}</code>" in html}


def test_staff_and_admin_see_the_log_newest_first_with_names(app, client, history):
    for role in (Role.STAFF, Role.ADMIN):
        c = app.test_client()
        _signed_in(app, c, role)
        response = c.get("/audit")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert _actions(html) == {"call.published", "call.closed", "score.saved", "login.failed", "login.succeeded"}
        assert html.index("score.saved") < html.index("call.closed") < html.index("call.published")
        assert "Alice Verdi" in html and "bob@example.eu" in html and "Nobody signed in" in html
        # The navigation offers the page.
        assert 'href="/audit"' in html and "Audit log" in html


def test_the_navigation_entry_is_only_for_staff_and_admin(app, client):
    _signed_in(app, client, Role.APPLICANT)
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("query, expected", [
    ("actor=ALICE", {"call.published", "call.closed"}),
    ("actor=neri", {"score.saved"}),
    ("action=call.", {"call.published", "call.closed"}),
    ("action=score", {"score.saved"}),
    ("object_type=calls&object_id=3", {"call.published", "call.closed"}),
    ("object_type=applications", {"score.saved"}),
    ("object_id=5", {"score.saved"}),
    ("date_from=2001-01-11&date_to=2001-02-01", {"call.closed", "score.saved"}),
    ("date_to=2001-01-10", {"call.published"}),
    ("action=nothing.like.this", set()),
    ("actor=%25", set()),  # a typed % is a character, not a wildcard
])
def test_the_filters(app, client, history, query, expected):
    _signed_in(app, client, Role.STAFF)
    response = client.get(f"/audit?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _actions(html) == expected
    if not expected:
        assert "No entry matches these filters" in html


def test_a_mistyped_date_is_shown_not_a_crash(app, client, history):
    _signed_in(app, client, Role.STAFF)
    response = client.get("/audit?date_from=31/31/2001&action=call.")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="error-summary"' in html
    assert _actions(html) == {"call.published", "call.closed"}


def test_count_and_pages_keep_the_filters(app, client):
    with app.app_context():
        start = datetime(2027, 3, 1, tzinfo=UTC)
        for i in range(60):
            _add("voucher.granted", None, start + timedelta(minutes=i), object_type="vouchers", object_id=str(i))
        db.session.commit()
    _signed_in(app, client, Role.STAFF)
    html = client.get("/audit?action=voucher").get_data(as_text=True)
    assert "60 entries" in html
    assert html.count("<code>voucher.granted</code>") == 50
    assert "Page 1 of 2" in html
    assert "action=voucher" in html.split("Page 1 of 2")[1].split("</nav>")[0]
    page2 = client.get("/audit?action=voucher&page=2").get_data(as_text=True)
    assert page2.count("<code>voucher.granted</code>") == 10
    # Newest first: the first voucher (number 0) is on the last page.
    assert 'object_id=0"' in page2 and 'object_id=59"' in html
    # The download link carries the same filters.
    assert "/audit/export.csv?action=voucher" in html


def test_the_page_costs_the_same_queries_for_3_or_30_actors(app, client):
    _signed_in(app, client, Role.STAFF)

    def add_people(n: int, offset: int):
        with app.app_context():
            for i in range(n):
                person = make_user(f"p{offset + i}@example.eu")
                _add("application.submitted", person, object_type="applications", object_id=str(offset + i))
            db.session.commit()

    add_people(3, 0)
    client.get("/audit")  # a first request warms up anything loaded once
    with _counting_queries(app) as few:
        assert client.get("/audit").status_code == 200
    add_people(27, 100)
    with _counting_queries(app) as many:
        html = client.get("/audit").get_data(as_text=True)
    assert html.count("<code>application.submitted</code>") == 30
    assert len(many) == len(few)


# --- the CSV download ------------------------------------------------------------------------


def test_the_csv_download_follows_the_filters_and_is_audited(app, client, history):
    _signed_in(app, client, Role.ADMIN)
    response = client.get("/audit/export.csv?actor=alice")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["call.closed", "call.published"]
    assert rows[0]["actor_name"] == "Alice Verdi" and rows[0]["actor_email"] == "alice@example.eu"
    assert rows[0]["time_utc"] == "2001-01-10T23:30:00+00:00"
    assert rows[0]["object_type"] == "calls" and rows[0]["object_id"] == "3"
    with app.app_context():
        [entry] = _entries("audit.exported")
        assert entry.detail == {"rows": 2, "filters": {"actor": "alice"}}
        admin_id = db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "login.succeeded"))
        assert entry.actor_id == admin_id


def test_the_csv_download_cannot_carry_a_spreadsheet_formula(app, client, history):
    with app.app_context():
        _add("file.uploaded", None, object_type="stored_files", object_id="=1+1", detail={"name": "@SUM(A1)"})
        db.session.commit()
    _signed_in(app, client, Role.STAFF)
    text = client.get("/audit/export.csv?action=file.").get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert row["object_id"] == "'=1+1"  # shown as text by a spreadsheet, never run
    assert json.loads(row["detail"]) == {"name": "@SUM(A1)"}  # JSON text starts with {, harmless
    assert row["actor_id"] == "" and row["actor_name"] == ""
