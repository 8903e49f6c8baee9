"""Registration, e-mail confirmation, sign-in, throttling, sign-out and password reset,
through the real forms."""

from __future__ import annotations

import re

from sqlalchemy import select

from opsapp.accounts.models import User
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import PASSWORD, login, make_user

NEW_PASSWORD = "a much longer passphrase 2027"


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _link(message, path_prefix):
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://localhost(" + re.escape(path_prefix) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


def _actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- registration and confirmation ----------------------------------------------------


def register(client, email="founder@example.eu", password=NEW_PASSWORD, **extra):
    data = {"full_name": "Giulia Ferrero", "email": email, "password": password, "confirm": password,
            "account_type": "applicant", "locale": "en", "accept_privacy": "y", **extra}
    return _post(client, "/register", data)


def test_registration_sends_a_confirmation_and_the_link_enables_sign_in(app, client, outbox):
    r = register(client)
    assert r.status_code == 200
    assert "Check your e-mail" in r.get_data(as_text=True)
    messages = outbox()
    assert len(messages) == 1 and messages[0]["To"] == "founder@example.eu"

    # Before confirming, sign-in is refused with a clear message.
    r = login(client, "founder@example.eu", NEW_PASSWORD)
    assert r.status_code == 200
    assert "Confirm your e-mail address first" in r.get_data(as_text=True)

    r = client.get(_link(messages[0], "/confirm/"))
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert login(client, "founder@example.eu", NEW_PASSWORD).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "founder@example.eu"))
        assert user.has_role(Role.APPLICANT) and not user.has_role(Role.STAFF)
    assert "account.email_confirmed" in _actions(app)


def test_a_confirmation_link_works_once(app, client, outbox):
    register(client)
    link = _link(outbox()[0], "/confirm/")
    client.get(link)
    r = client.get(link, follow_redirects=True)
    assert "invalid, already used or expired" in r.get_data(as_text=True)


def test_a_weak_password_is_refused_and_what_was_typed_is_kept(app, client, outbox):
    r = register(client, password="short")
    html = r.get_data(as_text=True)
    assert "Use at least 12 characters" in html
    assert 'value="founder@example.eu"' in html and 'value="Giulia Ferrero"' in html
    assert outbox() == []
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "founder@example.eu")) is None


def test_registration_cannot_grant_a_staff_role(app, client):
    r = register(client, account_type="staff")
    assert "Not a valid choice" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "founder@example.eu")) is None


def test_registering_an_existing_e_mail_reveals_nothing_and_warns_the_owner(app, client, outbox):
    with app.app_context():
        make_user("taken@example.eu")
        db.session.commit()
    r = register(client, email="taken@example.eu")
    assert "Check your e-mail" in r.get_data(as_text=True)
    assert outbox()[0]["Subject"] == "Someone tried to register with your e-mail"
    with app.app_context():
        assert db.session.query(User).filter_by(email="taken@example.eu").count() == 1


# --- sign-in ----------------------------------------------------------------------


def test_wrong_password_is_refused_and_audited(app, client):
    with app.app_context():
        make_user("ana@example.eu")
        db.session.commit()
    r = login(client, "ana@example.eu", "not the password at all")
    assert r.status_code == 200
    assert "The e-mail or password is not correct." in r.get_data(as_text=True)
    assert client.get("/notifications").status_code == 302
    assert "login.failed" in _actions(app)


def test_unknown_e_mail_gets_the_same_answer(client):
    r = login(client, "nobody@example.eu", "whatever whatever")
    assert "The e-mail or password is not correct." in r.get_data(as_text=True)


def test_email_is_case_insensitive(app, client):
    with app.app_context():
        make_user("mixed@example.eu")
        db.session.commit()
    assert login(client, "  Mixed@Example.EU ").status_code == 302


def test_next_is_followed_only_within_the_site(app, client):
    with app.app_context():
        make_user("next@example.eu")
        db.session.commit()
    page = client.get("/login?next=/account").get_data(as_text=True)
    r = client.post("/login", data={"email": "next@example.eu", "password": PASSWORD,
                                    "next": "/account", "csrf_token": csrf_from(page)})
    assert r.headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/notifications").get_data(as_text=True))})
    for evil in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"email": "next@example.eu", "password": PASSWORD,
                                        "next": evil, "csrf_token": csrf_from(page)})
        assert r.headers["Location"] == "/", evil
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/notifications").get_data(as_text=True))})


def test_a_disabled_account_cannot_sign_in(app, client):
    from opsapp.core.timeutil import utcnow

    with app.app_context():
        make_user("gone@example.eu", disabled_at=utcnow())
        db.session.commit()
    r = login(client, "gone@example.eu")
    assert "This account is disabled" in r.get_data(as_text=True)


def test_twenty_five_wrong_passwords_are_throttled(app, client):
    with app.app_context():
        make_user("target@example.eu")
        db.session.commit()
    codes = [login(client, "target@example.eu", f"wrong password {i}").status_code for i in range(25)]
    assert codes[0] == 200
    assert 429 in codes
    first_429 = codes.index(429)
    assert first_429 <= 15
    # Once throttled, even the right password is refused for now.
    assert login(client, "target@example.eu").status_code == 429


def test_throttle_ignores_a_forged_forwarded_for_header(app, client):
    with app.app_context():
        make_user("forged@example.eu")
        db.session.commit()
    codes = []
    for i in range(25):
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"email": f"someone{i}@example.eu", "password": "wrong wrong wrong",
                                        "csrf_token": csrf_from(page)},
                        headers={"X-Forwarded-For": f"203.0.113.{i}"})
        codes.append(r.status_code)
    # Different accounts, forged addresses: the per-address limit still applies.
    assert 429 in codes


def test_successful_sign_ins_do_not_count_towards_the_limit(app, client):
    with app.app_context():
        make_user("often@example.eu")
        db.session.commit()
    for _ in range(15):
        assert login(client, "often@example.eu").status_code == 302
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/notifications").get_data(as_text=True))})


# --- sign-out and sessions ----------------------------------------------------------------


def test_sign_in_issues_a_new_session_and_sign_out_ends_it(app, client):
    with app.app_context():
        make_user("sess@example.eu")
        db.session.commit()
    client.get("/login")
    before = client.get_cookie("opsapp_session")
    login(client, "sess@example.eu")
    after = client.get_cookie("opsapp_session")
    assert before is None or before.value != after.value

    stolen = after.value
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/notifications").status_code == 302

    # Replaying the old cookie after sign-out does not bring the session back.
    other = app.test_client()
    other.set_cookie("opsapp_session", stolen)
    assert other.get("/notifications").status_code == 302


def test_logout_without_csrf_is_rejected(app, client):
    with app.app_context():
        make_user("csrf@example.eu")
        db.session.commit()
    login(client, "csrf@example.eu")
    assert client.post("/logout").status_code == 400
    assert client.get("/notifications").status_code == 200


def test_logout_by_get_is_not_allowed(client):
    assert client.get("/logout").status_code == 405


# --- password reset and change ------------------------------------------------------------


def test_password_reset_link_works_once_and_ends_other_sessions(app, client, outbox):
    with app.app_context():
        make_user("reset@example.eu")
        db.session.commit()
    elsewhere = app.test_client()
    login(elsewhere, "reset@example.eu")
    assert elsewhere.get("/notifications").status_code == 200

    r = _post(client, "/password/reset", {"email": "reset@example.eu"})
    assert "If an account exists" in r.get_data(as_text=True)
    link = _link(outbox()[-1], "/password/reset/")
    r = _post(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302

    assert elsewhere.get("/notifications").status_code == 302  # the other sign-in ended
    assert login(client, "reset@example.eu", PASSWORD).status_code == 200  # old password refused
    assert login(client, "reset@example.eu", NEW_PASSWORD).status_code == 302

    other = app.test_client()
    r = _post(other, link, {"password": "yet another passphrase", "confirm": "yet another passphrase"})
    assert "invalid, already used or expired" in r.get_data(as_text=True)


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, outbox):
    r = _post(client, "/password/reset", {"email": "ghost@example.eu"})
    assert "If an account exists" in r.get_data(as_text=True)
    assert outbox() == []


def test_an_expired_reset_link_is_refused(app, client, outbox):
    from datetime import timedelta

    from opsapp.accounts.models import AccountToken

    with app.app_context():
        make_user("late@example.eu")
        db.session.commit()
    _post(client, "/password/reset", {"email": "late@example.eu"})
    link = _link(outbox()[-1], "/password/reset/")
    with app.app_context():
        row = db.session.scalar(select(AccountToken))
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    r = _post(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "invalid, already used or expired" in r.get_data(as_text=True)


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, client):
    with app.app_context():
        make_user("change@example.eu")
        db.session.commit()
    login(client, "change@example.eu")
    elsewhere = app.test_client()
    login(elsewhere, "change@example.eu")
    old_cookie = client.get_cookie("opsapp_session").value

    r = _post(client, "/account/password", {"current": PASSWORD, "password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    assert client.get("/notifications").status_code == 200
    assert client.get_cookie("opsapp_session").value != old_cookie
    assert elsewhere.get("/notifications").status_code == 302
    replay = app.test_client()
    replay.set_cookie("opsapp_session", old_cookie)
    assert replay.get("/notifications").status_code == 302
    assert "password.changed" in _actions(app)


def test_changing_the_password_needs_the_current_one(app, client):
    with app.app_context():
        make_user("change2@example.eu")
        db.session.commit()
    login(client, "change2@example.eu")
    r = _post(client, "/account/password", {"current": "not my password!", "password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD})
    assert "Your current password is not correct." in r.get_data(as_text=True)
    assert login(app.test_client(), "change2@example.eu", PASSWORD).status_code == 302
