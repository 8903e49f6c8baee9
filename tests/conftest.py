"""Fixtures: one application and database per test run; every test starts from empty tables.

The database is SQLite in a temporary folder, or the PostgreSQL database named by
OPSAPP_TEST_DATABASE_URL. No mocks: the real database, files and documents.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from opsapp import create_app
from opsapp.extensions import db, limiter


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("opsapp")
    url = os.environ.get("OPSAPP_TEST_DATABASE_URL") or f"sqlite:///{base / 'test.sqlite3'}"
    application = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_PATH=str(base / "instance"),
        MAIL_OUTBOX=str(base / "outbox"),
        UPLOAD_FOLDER=str(base / "uploads"),
    )
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


def empty_everything(app) -> None:
    """Every table emptied, the outbox and the stored files deleted."""
    with app.app_context():
        db.session.rollback()
        _empty_tables()
        db.session.remove()
    for folder in (app.config["MAIL_OUTBOX"], app.config["UPLOAD_FOLDER"]):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_state(app, request):
    yield
    limiter.reset()
    if getattr(request.module, "SHARED_DEMO", False):
        return  # the module's tests read one load of the demo, emptied when the module ends (below)
    empty_everything(app)


@pytest.fixture(scope="module", autouse=True)
def _shared_demo_cleanup(app, request):
    yield
    if getattr(request.module, "SHARED_DEMO", False):
        empty_everything(app)


@pytest.fixture(scope="module")
def loaded(app, request):
    """`flask demo --reset`, as a newcomer runs it, once for a `SHARED_DEMO` module; its output."""
    assert getattr(request.module, "SHARED_DEMO", False), "the demo is shared by SHARED_DEMO modules only"
    result = app.test_cli_runner().invoke(args=["demo", "--reset"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def demo_db(app, loaded):
    """The shared demo, with an application context to read it through the models."""
    with app.app_context():
        yield loaded
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def empty_database(app):
    """For a test of a `SHARED_DEMO` module that starts from nothing (keep it after the readers)."""
    empty_everything(app)


@pytest.fixture
def ctx(app):
    """An application context for tests that use the models directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    """The e-mails sent so far (read from the outbox folder the app writes)."""
    from opsapp.core.mail import outbox_messages

    return lambda: outbox_messages(app)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def csrf(client):
    """A valid CSRF token for this client's session."""

    def token(path: str = "/login") -> str:
        return csrf_from(client.get(path).get_data(as_text=True))

    return token


def pytest_collection_modifyitems(config, items):
    # Browser tests last: they start a server and a browser.
    items.sort(key=lambda item: "e2e" in Path(str(item.fspath)).parts)
