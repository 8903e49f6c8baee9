"""SQLite under concurrent writes: WAL mode, immediate transactions and a busy time-out,
so writers queue instead of failing with "database is locked"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from opsapp.core import audit
from opsapp.core.models import AuditEntry
from opsapp.extensions import db


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file, also when the suite runs on PostgreSQL."""
    from opsapp import create_app

    application = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite3'}",
                              INSTANCE_PATH=str(tmp_path))
    with application.app_context():
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_wal_mode_and_busy_timeout(sqlite_app):
    with sqlite_app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("which", ["suite database", "sqlite"])
def test_concurrent_read_modify_write_loses_nothing(which, request):
    """Twenty threads each count the rows and add one: with immediate transactions the
    count each sees is exact, so the numbers they write are 0..19 with no gap or repeat."""
    app = request.getfixturevalue("app" if which == "suite database" else "sqlite_app")
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                if db.engine.dialect.name == "postgresql":
                    db.session.execute(text("LOCK TABLE audit_entries IN EXCLUSIVE MODE"))
                seen = db.session.scalar(select(func.count(AuditEntry.id)))
                audit.record("test.concurrent", object_type="counter", object_id=seen)
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with app.app_context():
        seen = sorted(int(v) for v in db.session.scalars(select(AuditEntry.object_id)))
    assert seen == list(range(20))
