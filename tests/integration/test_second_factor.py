"""Two-step sign-in with an authenticator app (TOTP), recovery codes, and the roles that must use it."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from opsapp import create_app
from opsapp.accounts.models import RecoveryCode, User
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import PASSWORD, login, make_user


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _secret_from(html: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)


def _forget_last_step(app, email: str) -> None:
    """As if the next 30-second step had come: the enrolment code's step is no longer the last one."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.totp_last_step -= 1
        db.session.commit()


def enrol(client) -> tuple[str, list[str]]:
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "data:image/svg+xml" in page  # the QR code
    secret = _secret_from(page)
    r = client.post("/account/two-step", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    html = r.get_data(as_text=True)
    assert "Your recovery codes" in html
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", html)
    return secret, codes


def test_enrolment_then_sign_in_asks_for_the_code(app, client):
    with app.app_context():
        make_user("two@example.eu")
        db.session.commit()
    login(client, "two@example.eu")
    secret, codes = enrol(client)
    assert len(codes) == 10
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "two@example.eu"))
        assert user.totp_enabled and user.totp_secret == secret
        assert db.session.query(RecoveryCode).filter_by(user_id=user.id).count() == 10
    _forget_last_step(app, "two@example.eu")

    fresh = app.test_client()
    r = login(fresh, "two@example.eu")
    assert r.headers["Location"].endswith("/login/verify")
    assert fresh.get("/notifications").status_code == 302  # not signed in yet

    wrong = _post(fresh, "/login/verify", {"code": "000000"})
    assert "That code is not correct" in wrong.get_data(as_text=True)
    r = _post(fresh, "/login/verify", {"code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    assert fresh.get("/notifications").status_code == 200


def test_a_code_cannot_be_replayed(app, client):
    with app.app_context():
        make_user("replay@example.eu")
        db.session.commit()
    login(client, "replay@example.eu")
    secret, _ = enrol(client)
    used = pyotp.TOTP(secret).now()  # the enrolment used the current step's code
    fresh = app.test_client()
    login(fresh, "replay@example.eu")
    r = _post(fresh, "/login/verify", {"code": used})
    assert "That code is not correct" in r.get_data(as_text=True)


def test_a_recovery_code_works_once(app, client):
    with app.app_context():
        make_user("recover@example.eu")
        db.session.commit()
    login(client, "recover@example.eu")
    _, codes = enrol(client)

    first = app.test_client()
    login(first, "recover@example.eu")
    assert _post(first, "/login/verify", {"code": codes[0]}).status_code == 302
    assert first.get("/notifications").status_code == 200

    second = app.test_client()
    login(second, "recover@example.eu")
    r = _post(second, "/login/verify", {"code": codes[0]})
    assert "That code is not correct" in r.get_data(as_text=True)


def test_the_second_step_is_needed_after_the_password(app, client):
    r = client.get("/login/verify")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_a_wrong_enrolment_code_enables_nothing(app, client):
    with app.app_context():
        make_user("wrongenrol@example.eu")
        db.session.commit()
    login(client, "wrongenrol@example.eu")
    r = _post(client, "/account/two-step", {"code": "123456"})
    assert "That code is not correct" in r.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "wrongenrol@example.eu"))
        assert not user.totp_enabled


def test_turning_it_off_needs_the_password(app, client):
    with app.app_context():
        make_user("off@example.eu")
        db.session.commit()
    login(client, "off@example.eu")
    enrol(client)
    r = _post(client, "/account/two-step/disable", {"password": "wrong password!!"})
    assert "Your password is not correct." in r.get_data(as_text=True)
    assert _post(client, "/account/two-step/disable", {"password": PASSWORD}).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "off@example.eu"))
        assert not user.totp_enabled
        assert db.session.query(RecoveryCode).filter_by(user_id=user.id).count() == 0


@pytest.fixture
def production_app(app):
    """The production configuration on the test database: second factor required for staff."""
    prod = create_app("production", SECRET_KEY="p" * 48,
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      INSTANCE_PATH=app.instance_path, MAIL_OUTBOX=app.config["MAIL_OUTBOX"],
                      UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
                      ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024,
                      # plain http for the test client: https would add the Referer check and Secure cookies
                      PREFERRED_URL_SCHEME="http", SESSION_COOKIE_SECURE=False)
    yield prod
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN, Role.AUTHORITY])
def test_production_requires_the_second_factor_for_staff_admin_and_authority(production_app, role):
    with production_app.app_context():
        make_user(f"{role}@example.eu", roles=[role])
        db.session.commit()
    client = production_app.test_client()
    login(client, f"{role}@example.eu")
    r = client.get("/notifications")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/two-step")
    enrol(client)
    assert client.get("/notifications").status_code == 200
    # and it cannot be turned off
    r = _post(client, "/account/two-step/disable", {"password": PASSWORD})
    assert "requires two-step sign-in" in r.get_data(as_text=True)


def test_production_does_not_force_applicants(production_app):
    with production_app.app_context():
        make_user("app@example.eu", roles=[Role.APPLICANT])
        db.session.commit()
    client = production_app.test_client()
    login(client, "app@example.eu")
    assert client.get("/notifications").status_code == 200
