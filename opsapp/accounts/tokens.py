"""Single-use, expiring links sent by e-mail.

The link carries a random token signed with the app's secret and bound to its
purpose; the database keeps its hash, its expiry and when it was used, so a token
works once, for one purpose, until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select

from opsapp.accounts.models import AccountToken, TokenPurpose, User
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db


class TokenInvalid(Exception):
    pass


def _serializer(purpose: TokenPurpose) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"opsapp-{purpose}")


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(user: User, purpose: TokenPurpose) -> str:
    raw = secrets.token_urlsafe(24)
    now = utcnow()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=str(purpose),
            token_hash=_hash(raw),
            created_at=now,
            expires_at=now + current_app.config["TOKEN_LIFETIMES"][str(purpose)],
        )
    )
    db.session.flush()
    return _serializer(purpose).dumps(raw)


def _find(signed: str, purpose: TokenPurpose) -> AccountToken:
    try:
        raw = _serializer(purpose).loads(signed)
    except BadSignature:
        raise TokenInvalid from None
    row = db.session.execute(
        select(AccountToken).where(
            AccountToken.token_hash == _hash(str(raw)), AccountToken.purpose == str(purpose)
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise TokenInvalid
    return row


def peek(signed: str, purpose: TokenPurpose) -> User:
    """The user a valid token belongs to, without using it up."""
    return _find(signed, purpose).user


def consume(signed: str, purpose: TokenPurpose) -> User:
    """Use the token up and return its user; raises TokenInvalid if it is unknown, used or expired."""
    row = _find(signed, purpose)
    row.used_at = utcnow()
    # Any other open token of the same purpose is spent as well.
    for other in db.session.execute(
        select(AccountToken).where(
            AccountToken.user_id == row.user_id,
            AccountToken.purpose == str(purpose),
            AccountToken.used_at.is_(None),
        )
    ).scalars():
        other.used_at = row.used_at
    return row.user


def purge_expired(now: datetime | None = None) -> int:
    now = now or utcnow()
    result = db.session.execute(
        AccountToken.__table__.delete().where(
            or_(AccountToken.expires_at < now, AccountToken.used_at.is_not(None))
        )
    )
    return result.rowcount or 0
