"""The TOTP second factor: enrolment, verification, recovery codes, and where it is required.

Any user may turn it on. Roles named in `TOTP_REQUIRED_ROLES` (staff, admin and
authority in production) must: until they enrol, every page but enrolment and
sign-out sends them to enrolment.
"""

from __future__ import annotations

import secrets

import pyotp
import segno
from flask import current_app, redirect, request, url_for
from flask_login import current_user

from opsapp.accounts.models import RecoveryCode, User
from opsapp.accounts.passwords import hash_password, verify_password
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

RECOVERY_CODES = 10
# Endpoints a user who must enrol can still reach.
ENROLMENT_ENDPOINTS = {
    "accounts.totp_setup", "accounts.logout", "core.healthz", "static",
    "core.accessibility", "core.privacy", "core.set_language",
}


def requires_second_factor(user: User) -> bool:
    return user.has_role(*current_app.config["TOTP_REQUIRED_ROLES"]) if current_app.config["TOTP_REQUIRED_ROLES"] else False


def enforce_second_factor():
    """Before each request: a user who must have a second factor and has none is sent to enrol."""
    if not current_user.is_authenticated or current_user.totp_enabled:
        return None
    if request.endpoint in ENROLMENT_ENDPOINTS or not requires_second_factor(current_user):
        return None
    return redirect(url_for("accounts.totp_setup"))


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def verify_code(user: User, code: str, secret: str | None = None) -> bool:
    """Check a 6-digit code, allowing one step of clock drift; a code is accepted only once."""
    secret = secret or user.totp_secret
    code = (code or "").replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow().timestamp()
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        step = int(at // totp.interval)
        if totp.verify(code, for_time=at, valid_window=0):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def drop_recovery_codes(user: User) -> None:
    db.session.query(RecoveryCode).filter_by(user_id=user.id).delete()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; the plain codes are shown once and only their hashes kept."""
    drop_recovery_codes(user)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_password(code)))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    code = (code or "").strip().lower()
    for row in db.session.query(RecoveryCode).filter_by(user_id=user.id, used_at=None):
        if verify_password(row.code_hash, code):
            row.used_at = utcnow()
            return True
    return False


def remaining_recovery_codes(user: User) -> int:
    return db.session.query(RecoveryCode).filter_by(user_id=user.id, used_at=None).count()
