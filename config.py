"""Configuration classes, read from the environment (see CONTRACTS.md).

`OPSAPP_ENV` picks the class: development (the default), testing or production.
Development keeps everything on this machine: SQLite in the instance folder, mail
written to `instance/outbox/`, a secret key generated once into the instance folder.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("OPSAPP_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_secret_key() -> str:
    """A random key written once to the instance folder, so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    ENV_NAME = "base"
    INSTANCE_PATH = str(INSTANCE_DIR)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'opsapp.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Sessions: a server-side record per sign-in (see accounts/sessions.py).
    SESSION_COOKIE_NAME = "opsapp_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("OPSAPP_SESSION_IDLE_MINUTES", 30)))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("OPSAPP_SESSION_MAX_HOURS", 12)))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = 3600 * 8

    # Sign-in throttling. Production must name a store shared by every worker
    # (for example redis://host:6379 or memcached://host:11211).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("OPSAPP_LOGIN_LIMIT_ACCOUNT", "10 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("OPSAPP_LOGIN_LIMIT_ADDRESS", "20 per 15 minutes")
    # How many reverse proxies set X-Forwarded-For; 0 trusts none, so a forged header changes nothing.
    PROXY_COUNT = int(os.environ.get("OPSAPP_PROXY_COUNT", 0))

    # Roles that must sign in with a second factor.
    TOTP_REQUIRED_ROLES: tuple[str, ...] = ()
    TOTP_ISSUER = "opsapp"

    # Password hashing (argon2id). Tests lower the cost.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536

    # Mail: SMTP when MAIL_SERVER is set, otherwise files in instance/outbox/.
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 587))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "opsapp <no-reply@opsapp.eu>")
    MAIL_OUTBOX = str(INSTANCE_DIR / "outbox")

    # Uploaded files live outside the web root.
    UPLOAD_FOLDER = os.environ.get("OPSAPP_UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("OPSAPP_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 256 * 1024  # the form around the file

    # Links in e-mails.
    PUBLIC_BASE_URL = os.environ.get("OPSAPP_PUBLIC_URL", "http://127.0.0.1:5000")
    TOKEN_LIFETIMES = {
        "confirm_email": timedelta(days=3),
        "reset_password": timedelta(hours=2),
        "invitation": timedelta(days=7),
    }

    LANGUAGES = ("en", "it")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/Rome"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "opsapp" / "translations")

    # The region the programmes serve (NUTS 2).
    HOME_REGION_NUTS2 = os.environ.get("OPSAPP_REGION", "ITC1")

    # Retention of records kept for audit after an erasure request.
    RETENTION_YEARS_DECISIONS = 5
    RETENTION_YEARS_DE_MINIMIS = 10

    SCHEDULER_TIMEZONE = "UTC"


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY")  # else generated once, see instance_secret_key()


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "OPSAPP_TEST_DATABASE_URL", os.environ.get("DATABASE_URL", "sqlite:///:memory:")
    )
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    RATELIMIT_STORAGE_URI = "memory://"
    PUBLIC_BASE_URL = "http://localhost"
    SERVER_NAME = None


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    TOTP_REQUIRED_ROLES = ("staff", "admin", "authority")
    HSTS = True


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class(name: str | None = None) -> type[Config]:
    name = (name or os.environ.get("OPSAPP_ENV") or "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"OPSAPP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
