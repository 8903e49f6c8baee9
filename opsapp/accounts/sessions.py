"""Server-side sign-ins.

The cookie holds a random token; the server keeps its SHA-256 in `user_sessions`.
A sign-in ends when it is revoked (sign-out, password change, account disabled),
after `SESSION_IDLE_TIMEOUT` without a request, or `SESSION_ABSOLUTE_TIMEOUT` after
it began, whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import or_, select, update

from opsapp.accounts.models import User, UserSession
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

# last_seen_at is written at most this often, so reading pages does not write every time.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, *, second_factor: bool = False) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            second_factor_at=now if second_factor else None,
            ip_address=request.remote_addr if request else None,
            user_agent=(request.user_agent.string or "")[:255] if request else None,
        )
    )
    db.session.flush()
    user._session_token = token
    return token


def is_live(row: UserSession, now: datetime | None = None) -> bool:
    now = now or utcnow()
    cfg = current_app.config
    return (
        row.revoked_at is None
        and now - row.last_seen_at <= cfg["SESSION_IDLE_TIMEOUT"]
        and now - row.created_at <= cfg["SESSION_ABSOLUTE_TIMEOUT"]
    )


def load(token: str | None) -> User | None:
    """The user of a live sign-in, or None. Called by Flask-Login on every request."""
    if not token:
        return None
    row = db.session.execute(
        select(UserSession).where(UserSession.token_hash == _hash(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    now = utcnow()
    if not is_live(row, now) or not row.user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user = row.user
    user._session_token = token
    user._session_row = row
    return user


def current_row(user: User) -> UserSession | None:
    return getattr(user, "_session_row", None)


def revoke(token: str | None) -> None:
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_all(user: User, keep_token: str | None = None) -> None:
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != _hash(keep_token))
    db.session.execute(stmt.values(revoked_at=utcnow()))


def purge_stale(now: datetime | None = None) -> int:
    """Delete sign-ins that can no longer be used; returns how many."""
    now = now or utcnow()
    cfg = current_app.config
    result = db.session.execute(
        UserSession.__table__.delete().where(
            or_(
                UserSession.revoked_at.is_not(None),
                UserSession.last_seen_at < now - cfg["SESSION_IDLE_TIMEOUT"],
                UserSession.created_at < now - cfg["SESSION_ABSOLUTE_TIMEOUT"],
            )
        )
    )
    return result.rowcount or 0
