"""Password rules (pure) and hashing (argon2id, parameters from the configuration)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128

# The most common passwords of at least MIN_LENGTH characters, and the product's own words.
COMMON = {
    "123456789012", "1234567890123", "password1234", "qwertyuiopas", "qwerty123456",
    "passwordpassword", "iloveyou1234", "administrator", "letmein12345", "welcome12345",
    "password12345", "123123123123", "111111111111", "000000000000", "abcdefghijkl",
    "opsapp-opsapp", "opsappopsapp", "changeme1234", "passw0rd1234", "qwertyqwerty",
}


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """What is wrong with a new password, as messages for the user; empty when it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(str(_l("Use at least %(n)d characters.", n=MIN_LENGTH)))
    if len(password) > MAX_LENGTH:
        problems.append(str(_l("Use at most %(n)d characters.", n=MAX_LENGTH)))
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 5:
        problems.append(str(_l("This password is too common or too simple.")))
    local = email.split("@")[0].lower()
    if (local and len(local) >= 4 and local in lowered) or (name and name.lower() in lowered and len(name) >= 4):
        problems.append(str(_l("Do not use your name or e-mail in the password.")))
    return problems


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check, so a missing account does not show.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
