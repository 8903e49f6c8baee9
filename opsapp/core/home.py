"""The home page is made of panels, one list per role: each domain registers the panels
that answer "what do I have to do now?" for the roles it serves."""

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
