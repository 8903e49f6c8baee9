"""Lifecycles as tables of allowed transitions, and the one function that moves along them.

A domain registers each of its lifecycles (an enum of states, the table of allowed
moves, the attribute holding the state) with `register`. `transition()` is the only
function that changes a state: it refuses a move the table does not allow, sets the
attribute, records who did it in the audit log, and returns the old state so the caller
can notify. No view sets a state field.
"""

from __future__ import annotations

import enum

from opsapp.core import audit

_TABLES: dict[type[enum.Enum], dict] = {}
_FIELDS: dict[type[enum.Enum], str] = {}


def register(kind: type[enum.Enum], table: dict, field: str = "status") -> None:
    missing = set(kind) - set(table)
    if missing:
        raise ValueError(f"{kind.__name__}: no transitions given for {sorted(m.value for m in missing)}")
    _TABLES[kind] = table
    _FIELDS[kind] = field


class TransitionRefused(Exception):
    """A state change the lifecycle does not allow."""

    def __init__(self, obj, current, wanted):
        self.current, self.wanted = current, wanted
        super().__init__(f"{type(obj).__name__} {getattr(obj, 'id', '?')}: {current} -> {wanted} not allowed")


def allowed(current, wanted) -> bool:
    kind = type(wanted)
    return wanted in _TABLES[kind][kind(current)]


def transition(obj, wanted, *, actor=None, **detail):
    """Move `obj` to the state `wanted`, audited; returns the old state."""
    kind = type(wanted)
    field = _FIELDS[kind]
    current = kind(getattr(obj, field))
    if wanted not in _TABLES[kind][current]:
        raise TransitionRefused(obj, current, wanted)
    setattr(obj, field, wanted.value)
    audit.record(f"{obj.__tablename__}.{field}_changed", obj, actor=actor,
                 old=current.value, new=wanted.value, **detail)
    return current
