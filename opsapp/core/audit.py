"""The audit log: who did what, to which record, when and from where."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from opsapp.core.models import AuditEntry
from opsapp.extensions import db


def record(
    action: str,
    obj: Any = None,
    *,
    actor: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    **detail: Any,
) -> AuditEntry:
    """Add an entry to the log in the current transaction (flushed, never committed here)."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if obj is not None:
        object_type = object_type or getattr(obj, "__tablename__", type(obj).__name__)
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        action=action,
        actor_id=getattr(actor, "id", actor),
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail={k: _plain(v) for k, v in detail.items()},
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
