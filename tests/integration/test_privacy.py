"""The privacy centre: a person's download covers every table holding their data and nothing
of anyone else's; erasure anonymises, signs out, keeps the audit log and deletes the rest."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, func, insert, or_, select
from werkzeug.datastructures import FileStorage

from opsapp.accounts import second_factor, tokens
from opsapp.accounts.models import (
    AccountToken,
    Membership,
    RecoveryCode,
    TokenPurpose,
    User,
    UserRole,
    UserSession,
)
from opsapp.core import audit, files, privacy
from opsapp.core.models import AuditEntry, Notification, StoredFile
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.types import Money
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import PASSWORD, login, make_organisation, make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
COOKIE = "opsapp_session"


def _person_with_data(email: str, name: str, org_name: str, subject: str) -> User:
    """A person with a row in every kind of table that can hold their data."""
    user = make_user(email, full_name=name)
    make_organisation(owner=user, legal_name=org_name)
    notify(user, subject, "generic", message=f"Message for {name}")
    files.store(FileStorage(io.BytesIO(PDF), filename=f"{name}.pdf"), purpose="cv", uploaded_by=user)
    audit.record("test.did_something", actor=user, object_type="calls", object_id=7)
    tokens.issue(user, TokenPurpose.CONFIRM_EMAIL)
    second_factor.new_recovery_codes(user)
    return user


def _counts_for(user_id: int) -> dict[str, int]:
    counts = {}
    for table, columns in privacy.personal_tables():
        n = db.session.scalar(
            select(func.count()).select_from(table).where(or_(*(c == user_id for c in columns)))
        )
        if n:
            counts[table.name] = n
    return counts


def _download(client) -> tuple:
    token = csrf_from(client.get("/account/privacy").get_data(as_text=True))
    response = client.post("/account/privacy/export", data={"csrf_token": token})
    return response, response.get_data(as_text=True)


@pytest.fixture
def two_people(app):
    # A request context: rendering a notification's e-mail uses the page layout's context.
    with app.test_request_context():
        me = _person_with_data("maria@example.eu", "Maria Rossi", "Rossi Robotics S.r.l.", "Your application moved")
        _person_with_data("otto@example.eu", "Otto Bianchi", "Bianchi Foods S.p.A.", "Only for Otto")
        db.session.commit()
        return me.id


def test_the_privacy_centre_shows_what_we_hold(app, client, two_people):
    login(client, "maria@example.eu")
    html = client.get("/account/privacy").get_data(as_text=True)
    assert "Maria Rossi" in html and "maria@example.eu" in html
    assert "Rossi Robotics S.r.l." in html
    assert "Notifications" in html and "Files you uploaded" in html
    assert "Bianchi" not in html and "otto@" not in html


def test_the_download_covers_every_table_that_refers_to_the_person(app, client, two_people):
    login(client, "maria@example.eu")
    with app.app_context():
        expected = _counts_for(two_people)
    # Every kind of row this test set out to create is there to be found.
    assert {"notifications", "audit_entries", "memberships", "stored_files", "user_sessions",
            "user_roles", "account_tokens", "recovery_codes"} <= set(expected)

    response, text = _download(client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="opsapp-data-') and disposition.endswith('.json"')
    document = json.loads(text)

    assert document["person"]["id"] == two_people
    assert document["person"]["email"] == "maria@example.eu"
    for table, n in expected.items():
        assert len(document["records"].get(table, [])) == n, table
    assert {row["subject"] for row in document["records"]["notifications"]} == {"Your application moved"}
    assert document["records"]["stored_files"][0]["original_name"] == "Maria Rossi.pdf"
    assert [o["legal_name"] for o in document["organisations"]] == ["Rossi Robotics S.r.l."]
    # Amounts as exact strings, times in ISO 8601.
    assert document["organisations"][0]["annual_turnover"] == "1500000.00"
    assert datetime.fromisoformat(document["person"]["created_at"]).tzinfo is not None


@pytest.fixture
def later_table(app):
    """A table another domain might add one day, with a column pointing to a person."""
    table = Table("test_later_domain_rows", db.metadata,
                  Column("id", Integer, primary_key=True),
                  Column("mentor_id", ForeignKey("users.id")),
                  Column("amount", Money),
                  Column("note", String(100)),
                  Column("api_key_hash", String(64)))
    with app.app_context():
        table.create(db.engine)
    yield table
    with app.app_context():
        db.session.remove()
        table.drop(db.engine)
    db.metadata.remove(table)


def test_a_table_added_later_is_in_the_download_without_changing_the_code(app, client, two_people, later_table):
    with app.app_context():
        other_id = db.session.scalar(select(User.id).where(User.email == "otto@example.eu"))
        db.session.execute(insert(later_table), [
            {"mentor_id": two_people, "amount": "1250.5", "note": "Session with Maria", "api_key_hash": "f" * 64},
            {"mentor_id": other_id, "amount": "10", "note": "Session with Otto", "api_key_hash": "e" * 64},
        ])
        db.session.commit()
    login(client, "maria@example.eu")
    assert "Test later domain rows" in client.get("/account/privacy").get_data(as_text=True)
    response, text = _download(client)
    rows = json.loads(text)["records"]["test_later_domain_rows"]
    assert rows == [{"id": 1, "mentor_id": two_people, "amount": "1250.50", "note": "Session with Maria"}]
    assert "Otto" not in text and "f" * 64 not in text


def test_the_download_holds_no_secret_and_nothing_of_anyone_else(app, client, two_people):
    login(client, "maria@example.eu")
    response, text = _download(client)
    assert response.status_code == 200
    with app.app_context():
        me = db.session.get(User, two_people)
        secrets = [me.password_hash]
        secrets += db.session.scalars(select(UserSession.token_hash).where(UserSession.user_id == me.id)).all()
        secrets += db.session.scalars(select(AccountToken.token_hash).where(AccountToken.user_id == me.id)).all()
        secrets += db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == me.id)).all()
    assert len(secrets) >= 12
    for secret in secrets:
        assert secret not in text
    for column in ("password_hash", "totp_secret", "token_hash", "code_hash"):
        assert f'"{column}"' not in text
    for other in ("otto@example.eu", "Otto Bianchi", "Only for Otto", "Bianchi Foods"):
        assert other not in text


def test_the_download_is_audited_and_needs_a_csrf_token(app, client, two_people):
    login(client, "maria@example.eu")
    assert client.post("/account/privacy/export").status_code == 400
    response, _ = _download(client)
    assert response.status_code == 200
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.exported")).all()
        assert [(e.actor_id, e.object_id) for e in entries] == [(two_people, str(two_people))]
        assert "notifications" in entries[0].detail["tables"]


def test_the_privacy_pages_need_a_signed_in_person(client):
    for path in ("/account/privacy", "/account/privacy/erase"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- erasure -----------------------------------------------------------------------------


def _erase(client, password: str = PASSWORD, token: str | None = None):
    page = client.get("/account/privacy/erase")
    assert page.status_code == 200
    data = {"password": password}
    if token is not False:
        data["csrf_token"] = token or csrf_from(page.get_data(as_text=True))
    return client.post("/account/privacy/erase", data=data)


def test_the_erase_page_says_what_goes_and_what_stays(app, client, two_people):
    login(client, "maria@example.eu")
    html = client.get("/account/privacy/erase").get_data(as_text=True)
    assert "What will be deleted" in html and "What must be kept, and why" in html
    assert "Notifications" in html and "Audit log entries of what you did" in html
    # The only owner of an organisation is warned.
    assert "only owner of “Rossi Robotics S.r.l.”" in html
    assert 'name="password"' in html and 'type="password"' in html


def test_erasure_anonymises_signs_out_keeps_the_audit_log_and_deletes_the_rest(app, client, outbox, two_people):
    login(client, "maria@example.eu")
    old_cookie = client.get_cookie(COOKIE).value
    with app.app_context():
        audit_before = db.session.scalar(select(func.count()).where(AuditEntry.actor_id == two_people))
        files_before = db.session.scalar(select(func.count()).where(StoredFile.uploaded_by_id == two_people))
        other_id = db.session.scalar(select(User.id).where(User.email == "otto@example.eu"))
        other_before = _counts_for(other_id)

    response = _erase(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with app.app_context():
        me = db.session.get(User, two_people)
        assert me.email == f"erased-{me.id}@erased.invalid"
        assert me.full_name == "Erased user"
        assert me.password_hash is None and me.totp_secret is None
        assert me.erased_at is not None and me.roles == set()
        for model in (Notification, UserSession, AccountToken, RecoveryCode, Membership, UserRole):
            assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == me.id)) == 0
        # The audit log keeps every entry (and one more: the erasure), pointing to the anonymised row.
        assert db.session.scalar(select(func.count()).where(AuditEntry.actor_id == me.id)) == audit_before + 1
        erased = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erased")).one()
        assert erased.actor_id == me.id and erased.object_id == str(me.id)
        assert "maria" not in json.dumps(erased.detail).lower()
        # Files belong to the records they were uploaded for: kept, with the anonymised account.
        assert db.session.scalar(select(func.count()).where(StoredFile.uploaded_by_id == me.id)) == files_before
        # Nothing of anyone else changed.
        assert _counts_for(other_id) == other_before

    # Signed out here, and the old cookie no longer opens anything.
    assert client.get("/account/privacy").status_code == 302
    stale = app.test_client()
    stale.set_cookie(COOKIE, old_cookie)
    response = stale.get("/account/privacy")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # Nor can the person sign in again, under the old address or the new one.
    assert login(client, "maria@example.eu").status_code == 200

    # One last e-mail went to the real address before it was removed.
    messages = [m for m in outbox() if m["To"] == "maria@example.eu"]
    assert [m["Subject"] for m in messages][-1:] == ["Your opsapp account is erased"]
    assert "Audit log entries of what you did" in messages[-1].get_body(("plain",)).get_content()


def test_a_wrong_password_changes_nothing(app, client, outbox, two_people):
    login(client, "maria@example.eu")
    sent = len(outbox())
    with app.app_context():
        before = _counts_for(two_people)
    response = _erase(client, password="not my password at all")
    assert response.status_code == 200
    assert "Your password is not correct." in response.get_data(as_text=True)
    with app.app_context():
        me = db.session.get(User, two_people)
        assert me.email == "maria@example.eu" and me.erased_at is None and me.password_hash
        assert _counts_for(two_people) == before
    assert client.get("/account/privacy").status_code == 200
    assert len(outbox()) == sent


def test_erasure_needs_a_csrf_token(app, client, two_people):
    login(client, "maria@example.eu")
    assert _erase(client, token=False).status_code == 400
    with app.app_context():
        assert db.session.get(User, two_people).erased_at is None


def test_the_last_active_admin_cannot_erase_themselves(app, client):
    with app.app_context():
        make_user("admin@example.eu", roles=[Role.ADMIN])
        make_user("former@example.eu", roles=[Role.ADMIN], disabled_at=datetime.now().astimezone())
        db.session.commit()
    login(client, "admin@example.eu")
    page = client.get("/account/privacy/erase").get_data(as_text=True)
    assert "only active administrator" in page
    assert 'name="password"' not in page  # no form to send
    response = _erase_without_page(client)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("only active administrator") == 1
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.email == "admin@example.eu")).one()
        assert admin.erased_at is None and admin.has_role(Role.ADMIN)

    # With a second active administrator, the first may go.
    with app.app_context():
        make_user("admin2@example.eu", roles=[Role.ADMIN])
        db.session.commit()
    assert _erase(client).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(User).where(User.full_name == "Erased user")).one().roles == set()


def _erase_without_page(client):
    """Send the erasure form even though the page shows none (the token comes from another page)."""
    token = csrf_from(client.get("/account/privacy").get_data(as_text=True))
    return client.post("/account/privacy/erase", data={"password": PASSWORD, "csrf_token": token})


# --- the registry other domains use --------------------------------------------------------


def test_domains_take_part_in_erasure_through_their_handlers(app, client):
    """A later domain keeps a decision record for its retention period and anonymises it after."""
    calls: list[privacy.Erasure] = []

    def decisions(erasure: privacy.Erasure):
        calls.append(erasure)
        if erasure.after_retention:
            return [privacy.ErasureItem("Decisions", 2, privacy.ANONYMISED, tables=("notifications",))]
        return [privacy.ErasureItem(
            "Decisions on your applications", 2, privacy.KEPT, reason="ERDF retention",
            until=privacy.retention_end(date(2027, 6, 30), 5), tables=("notifications",),
        )]

    privacy.register_erasure_handler(decisions)
    try:
        with app.test_request_context():
            user = make_user("dora@example.eu")
            notify(user, "A decision", "generic", message="Granted")
            db.session.commit()
        login(client, "dora@example.eu")
        html = client.get("/account/privacy/erase").get_data(as_text=True)
        assert "Decisions on your applications" in html and "ERDF retention" in html
        assert "December 31, 2032" in html
        assert calls[-1].dry_run
        assert _erase(client).status_code == 302
        assert not calls[-1].dry_run
        with app.app_context():
            # The handler took the table over: core left its rows alone.
            assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
            assert privacy.anonymise_expired() == 2
        assert calls[-1].after_retention
    finally:
        privacy.unregister_erasure_handler(decisions)


def test_retention_ends_with_the_year_of_the_last_payment():
    assert privacy.retention_end(date(2027, 1, 2), 5) == date(2032, 12, 31)
    assert privacy.retention_end(datetime(2027, 12, 31, 23, 0), 10) == date(2037, 12, 31)
