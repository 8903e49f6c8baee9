"""The tokens with which the regional authority's own systems read the JSON API of the indicators.

A token is shown once, when it is created; only its SHA-256 hash is kept, with its first
characters so that people can recognise it in the list. Administrators and authority users
create and revoke tokens (both audited); a call to the API presents the token as
`Authorization: Bearer <token>` and is refused once the token is revoked. When a token was
last used is recorded at most once a minute, so that a system polling the API does not
write to the database on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from opsapp.core import audit
from opsapp.core.pages import Refusal
from opsapp.core.permissions import has_any, require
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.kpi.models import ApiToken

TOKEN_START = "opsk_"  # recognisable in configuration files and by secret scanners
PREFIX_LENGTH = 12  # the characters kept in clear: "opsk_" and seven random ones
NAME_MAX = 120
LAST_USED_EVERY = timedelta(minutes=1)
MANAGERS = (Role.ADMIN, Role.AUTHORITY)
_LONGEST = 200  # a header value longer than any token is not looked up


class ApiTokenError(Refusal):
    """A refusal about an API token, with a message fit for the user."""


def may_manage(user) -> bool:
    return has_any(user, MANAGERS)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def tokens(actor) -> list[ApiToken]:
    """Every token, the live ones first, newest first."""
    require(may_manage(actor))
    found = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    return sorted(found, key=lambda t: t.revoked_at is not None)


def token_of(actor, token_id: int) -> ApiToken:
    require(may_manage(actor))
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    return token


def create(actor, name: str | None) -> tuple[ApiToken, str]:
    """A new token named for the system that will use it; returns the token and its secret,
    which is never stored and cannot be shown again."""
    require(may_manage(actor))
    name = (name or "").strip()
    if not name:
        raise ApiTokenError(_l("Give the token a name, for example the system that will use it."), field="name")
    if len(name) > NAME_MAX:
        raise ApiTokenError(_l("The name can be at most %(n)d characters long.", n=NAME_MAX), field="name")
    secret = TOKEN_START + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(secret), prefix=secret[:PREFIX_LENGTH],
                     created_by_id=actor.id, created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    audit.record("kpi.api_token_created", token, actor=actor, name=name, prefix=token.prefix)
    return token, secret


def revoke(actor, token: ApiToken) -> ApiToken:
    """Refuse every later call with this token. A revoked token stays in the list, marked."""
    require(may_manage(actor))
    if token.revoked_at is not None:
        raise ApiTokenError(_l("The token %(name)s is already revoked.", name=token.name))
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("kpi.api_token_revoked", token, actor=actor, name=token.name, prefix=token.prefix)
    return token


def bearer(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = (header_value or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > _LONGEST:
        return None
    return value


def authenticate(header_value: str | None) -> ApiToken | None:
    """The live token an `Authorization` header presents, or None (missing, unknown, revoked).

    The lookup is by hash, so comparing the secret's characters never depends on how many of
    them match; the hashes are compared again in constant time.
    """
    secret = bearer(header_value)
    if secret is None:
        return None
    digest = _digest(secret)
    token = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
        db.session.flush()
    return token
