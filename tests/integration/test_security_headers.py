"""Every response carries the browser protections; cookies are HttpOnly and SameSite, Secure in production."""

from __future__ import annotations

import pytest

from opsapp import create_app
from opsapp.core.permissions import public
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.factories import login, make_user


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_protected(response, what: str) -> None:
    h = response.headers
    csp = _csp(response)
    assert csp, f"{what}: no Content-Security-Policy"
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts, f"{what}: the CSP does not restrict scripts"
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, f"{what}: {scripts}"
    assert csp.get("object-src") == ["'none'"], what
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert h.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer",
                                        "strict-origin"), what
    assert h.get("X-Frame-Options") == "DENY", what


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def _attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    name = set_cookie.split("=", 1)[0].strip()
    attrs = {}
    for part in set_cookie.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attrs[key.lower()] = value
    return name, attrs


@pytest.fixture
def signed_in(app, client):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        make_user("applicant@example.eu", roles=[Role.APPLICANT])
        db.session.commit()
    r = login(client, "applicant@example.eu")
    assert r.status_code == 302
    return client


def test_every_kind_of_response_carries_the_headers(client, signed_in):
    anonymous = signed_in.application.test_client()
    responses = {
        "public page": anonymous.get("/login"),
        "welcome page": anonymous.get("/"),
        "redirect to sign in": anonymous.get("/account"),
        "signed-in page": signed_in.get("/account"),
        "not found": signed_in.get("/no-such-page"),
        "forbidden": signed_in.get("/admin/users"),
        "method not allowed": anonymous.get("/logout"),
        "form without CSRF token": anonymous.post("/login", data={"email": "a@b.eu", "password": "x"}),
        "static file": anonymous.get("/static/css/app.css"),
        "health": anonymous.get("/healthz"),
        "JSON error": anonymous.get("/no-such-page", headers={"Accept": "application/json"}),
    }
    expected = {"public page": 200, "welcome page": 200, "redirect to sign in": 302, "signed-in page": 200,
                "not found": 404, "forbidden": 403, "method not allowed": 405, "form without CSRF token": 400,
                "static file": 200, "health": 200, "JSON error": 404}
    for what, response in responses.items():
        assert response.status_code == expected[what], what
        assert_protected(response, what)
    assert responses["JSON error"].is_json
    assert responses["JSON error"].get_json()["error"]
    # A signed-in page is personal: no cache keeps it.
    assert "no-store" in responses["signed-in page"].headers.get("Cache-Control", "")


def test_an_unexpected_error_page_carries_the_headers_too(app):
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       INSTANCE_PATH=app.instance_path)

    @other.route("/boom")
    @public
    def boom():
        raise RuntimeError("internal detail 4711")

    other.logger.disabled = True  # the traceback is expected; keep the test output clean
    try:
        r = other.test_client().get("/boom")
    finally:
        other.logger.disabled = False
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    assert r.status_code == 500
    assert "4711" not in r.get_data(as_text=True)  # no internals shown
    assert_protected(r, "server error")


def test_cookies_are_httponly_and_samesite(app, client):
    cookies = _set_cookies(client.get("/login"))
    with app.app_context():
        make_user("someone@example.eu")
        db.session.commit()
    cookies += _set_cookies(login(client, "someone@example.eu"))
    cookies += _set_cookies(client.get("/account"))
    assert cookies, "no cookie was set at all"
    names = set()
    for set_cookie in cookies:
        name, attrs = _attributes(set_cookie)
        names.add(name)
        assert "httponly" in attrs, set_cookie
        assert attrs.get("samesite", "").lower() in ("lax", "strict"), set_cookie
    assert app.config["SESSION_COOKIE_NAME"] in names


@pytest.fixture
def production(app):
    prod = create_app("production", SECRET_KEY="x" * 40,
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      INSTANCE_PATH=app.instance_path, MAIL_OUTBOX=app.config["MAIL_OUTBOX"],
                      UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024)
    yield prod
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_adds_hsts_and_secure_cookies(production):
    client = production.test_client()
    r = client.get("/login")
    assert_protected(r, "production sign-in page")
    hsts = r.headers.get("Strict-Transport-Security", "")
    assert hsts.startswith("max-age="), hsts
    assert int(hsts.split("=", 1)[1].split(";")[0]) >= 15552000  # at least 180 days
    for path in ("/healthz", "/static/css/app.css", "/no-such-page"):
        assert "Strict-Transport-Security" in client.get(path).headers, path
    cookies = _set_cookies(r)
    assert cookies, "the sign-in page sets the session cookie (CSRF token)"
    for set_cookie in cookies:
        name, attrs = _attributes(set_cookie)
        assert "secure" in attrs and "httponly" in attrs, set_cookie
        assert attrs.get("samesite", "").lower() in ("lax", "strict"), set_cookie
    assert production.config["SESSION_COOKIE_NAME"] in {_attributes(c)[0] for c in cookies}
