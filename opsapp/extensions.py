"""The Flask extensions, created once here and bound to the app in create_app()."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Predictable constraint names, so migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_address() -> str:
    """The client's address; X-Forwarded-For is trusted only through ProxyFix (OPSAPP_PROXY_COUNT)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
def _include_name(name, type_, parent_names) -> bool:
    """Tables Alembic leaves alone: the job scheduler's own store."""
    return not (type_ == "table" and name == "apscheduler_jobs")


migrate = Migrate(compare_type=True, render_as_batch=True, include_name=_include_name)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_address, default_limits=[])
