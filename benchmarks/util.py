"""Shared measuring tools: a throw-away app on its own database, SQL query counting, percentiles."""

from __future__ import annotations

import statistics
import tempfile
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from opsapp import create_app
from opsapp.extensions import db


def bench_app():
    """A development-like app on a fresh SQLite file (cheap password hashing, CSRF off for speed)."""
    folder = Path(tempfile.mkdtemp(prefix="opsapp-bench-"))
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.sqlite3'}",
        INSTANCE_PATH=str(folder),
        MAIL_OUTBOX=str(folder / "outbox"),
        UPLOAD_FOLDER=str(folder / "uploads"),
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        db.create_all()
    return app


@contextmanager
def count_queries(engine):
    counter = {"n": 0}

    def before(*args, **kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
