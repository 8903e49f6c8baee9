"""The application starts, serves its public pages and refuses what it must."""

from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.factories import login, make_user


def test_health_answers_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "ok"}


def test_login_page_has_the_contract_fields(client):
    html = client.get("/login").get_data(as_text=True)
    for name in ('name="email"', 'name="password"', 'name="csrf_token"'):
        assert name in html


def test_login_without_csrf_is_rejected(client):
    r = client.post("/login", data={"email": "x@example.eu", "password": "whatever"})
    assert r.status_code == 400


def test_sign_in_and_home(app, client):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
    r = login(client, "staff@example.eu")
    assert r.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Test User" in home.get_data(as_text=True)
