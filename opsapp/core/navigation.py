"""The main navigation: each blueprint registers its entries, the layout shows those the user may open."""

from __future__ import annotations

from dataclasses import dataclass

from opsapp.core.roles import Role


@dataclass(frozen=True)
class NavEntry:
    label: object  # a lazy string
    endpoint: str
    roles: frozenset[Role]
    order: int = 100


_ENTRIES: dict[str, NavEntry] = {}


def register(label, endpoint: str, roles, order: int = 100) -> None:
    _ENTRIES[endpoint] = NavEntry(label, endpoint, frozenset(Role(r) for r in roles), order)


def entries_for(user) -> list[NavEntry]:
    if not user.is_authenticated:
        return []
    return sorted(
        (e for e in _ENTRIES.values() if user.has_role(*e.roles)),
        key=lambda e: (e.order, str(e.label)),
    )
