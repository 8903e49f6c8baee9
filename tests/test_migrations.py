"""The committed migrations build the whole schema from an empty database, and agree with the models.

`flask db upgrade` runs on a fresh SQLite file (and, when OPSAPP_TEST_DATABASE_URL
names PostgreSQL, in a fresh schema of that database); then Alembic's autogenerate
comparison, configured as migrations/env.py configures it, must find nothing to do:
a model changed without its migration fails here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from opsapp import create_app
from opsapp.extensions import db


@contextlib.contextmanager
def _logging_kept():
    """migrations/env.py calls logging.fileConfig, which silences every logger it does not name."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    disabled = {name: lg.disabled for name, lg in logging.Logger.manager.loggerDict.items()
                if isinstance(lg, logging.Logger)}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lg in logging.Logger.manager.loggerDict.items():
            if isinstance(lg, logging.Logger):
                lg.disabled = disabled.get(name, False)


def _upgrade_then_compare(app) -> tuple[set[str], list, str | None, tuple[str, ...]]:
    """Run the migrations to head; return the tables made, the differences left, the version, the heads."""
    with app.app_context(), _logging_kept():
        flask_migrate.upgrade()
        migrate_ext = current_app.extensions["migrate"]
        script = ScriptDirectory.from_config(migrate_ext.migrate.get_config())
        with db.engine.connect() as connection:
            options = {k: v for k, v in migrate_ext.configure_args.items() if k != "process_revision_directives"}
            context = MigrationContext.configure(connection, opts={**options, "target_metadata": db.metadata})
            differences = compare_metadata(context, db.metadata)
            version = context.get_current_revision()
            tables = set(inspect(connection).get_table_names())
        db.session.remove()
        db.engine.dispose()
    return tables, differences, version, tuple(script.get_heads())


POSTGRES_URL = os.environ.get("OPSAPP_TEST_DATABASE_URL", "")
# SQLite always; PostgreSQL too when the suite runs against it (.ci/run's second leg).
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL.startswith("postgresql") else [])


@contextlib.contextmanager
def _empty_database(kind: str, tmp_path):
    """An app on an empty database: a new SQLite file, or a new schema in the PostgreSQL test database."""
    instance = str(tmp_path / "instance")
    if kind == "sqlite":
        yield create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.sqlite3'}",
                         INSTANCE_PATH=instance)
        return
    schema = f"migrations_{secrets.token_hex(4)}"
    admin = create_engine(make_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield create_app(
            "testing", SQLALCHEMY_DATABASE_URI=POSTGRES_URL, INSTANCE_PATH=instance,
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True,
                                       "connect_args": {"options": f"-csearch_path={schema}"}},
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("kind", DATABASES)
def test_upgrade_from_an_empty_database_builds_the_models_schema(kind, tmp_path):
    with _empty_database(kind, tmp_path) as app:
        tables, differences, version, heads = _upgrade_then_compare(app)
    missing = sorted(set(db.metadata.tables) - tables)
    assert not missing, f"tables of the models that the migrations do not create: {missing}"
    assert len(heads) == 1 and version == heads[0], f"migrations end at {version}, heads are {heads}"
    assert differences == [], (
        "the models and the migrations differ (run `flask --app opsapp db migrate`):\n"
        + "\n".join(map(str, differences))
    )
