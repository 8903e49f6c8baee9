"""Error pages: friendly, translated, never a stack trace; health says when the database is down."""

from __future__ import annotations

import pytest

from opsapp import create_app
from opsapp.core.permissions import public
from opsapp.extensions import db


@pytest.fixture
def fragile_app(app, tmp_path):
    """An app with two extra routes: one that fails half-way through a write, one that takes uploads."""
    fragile = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         INSTANCE_PATH=str(tmp_path), MAX_CONTENT_LENGTH=1024, WTF_CSRF_ENABLED=False)

    @public
    def explode():
        from opsapp.core import audit

        audit.record("test.half_done")
        raise RuntimeError("secret internal detail")

    @public
    def upload():
        from flask import request

        return str(len(request.form))

    fragile.add_url_rule("/explode", "explode", explode)
    fragile.add_url_rule("/upload", "upload", upload, methods=["POST"])
    yield fragile
    with fragile.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_unexpected_error_shows_a_friendly_page_and_saves_nothing(fragile_app):
    from sqlalchemy import select

    from opsapp.core.models import AuditEntry

    r = fragile_app.test_client().get("/explode")
    html = r.get_data(as_text=True)
    assert r.status_code == 500
    assert "Something went wrong" in html and "nothing was saved" in html
    assert "secret internal detail" not in html and "Traceback" not in html
    with fragile_app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "test.half_done")) is None


def test_a_request_over_the_size_limit_gets_413(fragile_app):
    r = fragile_app.test_client().post("/upload", data={"f": "x" * 5000})
    assert r.status_code == 413
    assert "File too large" in r.get_data(as_text=True)


def test_not_found_page(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Page not found" in r.get_data(as_text=True)


def test_error_pages_speak_italian(client):
    r = client.get("/no/such/page", headers={"Accept-Language": "it"})
    html = r.get_data(as_text=True)
    assert 'lang="it"' in html
    assert "Pagina non trovata" in html


def test_json_clients_get_json_errors(client):
    r = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.get_json()["error"] == "Page not found"


def test_health_reports_a_database_that_does_not_answer(tmp_path):
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
                        INSTANCE_PATH=str(tmp_path))
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] != "ok"
