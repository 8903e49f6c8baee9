"""Sign-ins end on the server: idle and absolute time-outs, disabled accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from opsapp.accounts.models import User, UserSession
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.factories import login, make_user


def _signed_in(app, client, email):
    with app.app_context():
        make_user(email)
        db.session.commit()
    login(client, email)
    assert client.get("/notifications").status_code == 200


def _shift_session(app, **deltas):
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        for field, delta in deltas.items():
            setattr(row, field, getattr(row, field) - delta)
        db.session.commit()


def test_idle_time_out(app, client):
    _signed_in(app, client, "idle@example.eu")
    _shift_session(app, last_seen_at=app.config["SESSION_IDLE_TIMEOUT"] + timedelta(seconds=1))
    r = client.get("/notifications")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_activity_keeps_the_session_alive(app, client):
    _signed_in(app, client, "busy@example.eu")
    # Seen 20 minutes ago (idle limit 30): still valid, and the visit refreshes it.
    _shift_session(app, last_seen_at=timedelta(minutes=20), created_at=timedelta(minutes=20))
    assert client.get("/notifications").status_code == 200
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_absolute_time_out_even_when_active(app, client):
    _signed_in(app, client, "long@example.eu")
    _shift_session(app, created_at=app.config["SESSION_ABSOLUTE_TIMEOUT"] + timedelta(seconds=1))
    assert client.get("/notifications").status_code == 302


def test_disabling_an_account_ends_its_sessions(app, client):
    _signed_in(app, client, "disable@example.eu")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "disable@example.eu"))
        user.disabled_at = utcnow()
        db.session.commit()
    assert client.get("/notifications").status_code == 302


def test_the_cookie_holds_no_user_id(app, client):
    _signed_in(app, client, "opaque@example.eu")
    value = client.get_cookie("opsapp_session").value
    data = app.session_interface.get_signing_serializer(app).loads(value)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "opaque@example.eu"))
    assert data.get("_user_id") != str(user_id)
    with app.app_context():
        stored = db.session.scalar(select(UserSession.token_hash))
    assert data.get("_user_id") != stored  # only the hash is stored, never the token
