"""Who may open which route: deny by default.

Every view declares its access with one of the decorators below; the app refuses
(403) any endpoint that declares nothing, so a route added without a decision is
closed, not open. Object-level checks ("may this user see this application?") live
in each domain's services and raise `Forbidden` through `deny()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import abort, redirect, request, url_for
from flask_login import current_user

from opsapp.core.roles import Role

PUBLIC = "public"
SIGNED_IN = "signed-in"


@dataclass(frozen=True)
class Access:
    kind: str  # PUBLIC, SIGNED_IN or "roles"
    roles: frozenset[Role] = frozenset()

    def allows(self, user) -> bool:
        if self.kind == PUBLIC:
            return True
        if not user.is_authenticated:
            return False
        if self.kind == SIGNED_IN:
            return True
        return user.has_role(*self.roles)


def _declare(access: Access) -> Callable:
    def decorator(view: Callable) -> Callable:
        view._access = access  # read by check_access() before every request
        return view

    return decorator


def public(view: Callable) -> Callable:
    """Anyone, signed in or not."""
    return _declare(Access(PUBLIC))(view)


def signed_in(view: Callable) -> Callable:
    """Any signed-in user; what they see is still filtered by object-level checks."""
    return _declare(Access(SIGNED_IN))(view)


def roles_required(*roles: Role | str) -> Callable:
    """Signed-in users holding at least one of these roles."""
    wanted = frozenset(Role(r) for r in roles)
    if not wanted:
        raise ValueError("roles_required needs at least one role")
    return _declare(Access("roles", wanted))


def access_of(view: Callable | None) -> Access | None:
    return getattr(view, "_access", None)


def check_access(view: Callable | None, on_denied: Callable[[], None]) -> None:
    """Run before every request. Anonymous users go to the sign-in page; others get 403."""
    access = access_of(view)
    if access is None:
        on_denied()
        abort(403)
    if access.allows(current_user):
        return
    if not current_user.is_authenticated:
        abort(redirect(url_for("accounts.login", next=request.full_path.rstrip("?"))))
    on_denied()
    abort(403)


def deny() -> None:
    """An object-level refusal inside a service."""
    abort(403)


def require(condition: bool) -> None:
    if not condition:
        deny()


def has_any(user, roles: Iterable[Role | str]) -> bool:
    return bool(user.is_authenticated and user.has_role(*roles))
