"""The home page is made of panels, one list per role: each domain registers the panels
that answer "what do I have to do now?" for the roles it serves. A domain may also register
a notice shown at every sign-in while something waits for the user (`sign_in_notice`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opsapp.core.roles import Role


@dataclass
class Panel:
    title: object
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


# role -> functions(user) returning a Panel or None
_PROVIDERS: dict[Role, list[tuple[int, Callable]]] = {}


def panel(*roles: Role | str, order: int = 100) -> Callable:
    """Register a function(user) -> Panel | None for these roles."""

    def decorator(fn: Callable) -> Callable:
        for role in roles:
            _PROVIDERS.setdefault(Role(role), []).append((order, fn))
        return fn

    return decorator


def panels_for(user) -> list[Panel]:
    seen: set[Callable] = set()
    panels: list[Panel] = []
    for role in Role:
        if not user.has_role(role):
            continue
        for order, fn in sorted(_PROVIDERS.get(role, []), key=lambda p: p[0]):
            if fn in seen:
                continue
            seen.add(fn)
            result = fn(user)
            if result is not None:
                result.order = order
                panels.append(result)
    return sorted(panels, key=lambda p: p.order)


# --- notices on sign-in ---------------------------------------------------------------------------

# functions(user) returning a message to show once at each sign-in, or None
_NOTICES: list[Callable] = []


def sign_in_notice(fn: Callable) -> Callable:
    """Register a function(user) -> message | None, shown (flashed) at every sign-in while it
    returns a message: something the user must still do, like answering a survey."""
    if fn not in _NOTICES:
        _NOTICES.append(fn)
    return fn


def sign_in_notices(user) -> list[str]:
    """The messages for this user at sign-in. A notice that fails is logged and skipped: it must
    never stop someone from signing in."""
    from flask import current_app

    from opsapp.extensions import db

    messages = []
    for fn in _NOTICES:
        try:
            message = fn(user)
        except Exception:  # noqa: BLE001
            current_app.logger.exception("sign-in notice %s failed", getattr(fn, "__name__", fn))
            db.session.rollback()
            continue
        if message:
            messages.append(str(message))
    return messages
