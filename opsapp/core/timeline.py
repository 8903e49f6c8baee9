"""The "what happened" timeline of a detail page, read from the audit log.

Each domain decides which actions it shows and how it words them; the reading (one
query, actors' names joined, newest first) and the entry shape are shared here, and
`templates/macros/timeline.html` draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from opsapp.core.models import AuditEntry
from opsapp.extensions import db


@dataclass
class TimelineEntry:
    when: datetime
    actor: str | None
    label: str
    subject: str | None = None


def audit_rows(object_type: str, object_id, *, actions: Iterable[str] | None = None,
               exclude: Iterable[str] = (), limit: int = 40) -> list[tuple[AuditEntry, str | None]]:
    """The audit entries about one record with their actor's name, newest first, in one query."""
    from opsapp.accounts.models import User  # accounts depends on core, not the other way round

    query = (select(AuditEntry, User.full_name).outerjoin(User, User.id == AuditEntry.actor_id)
             .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id)))
    if actions is not None:
        query = query.where(AuditEntry.action.in_(list(actions)))
    excluded = list(exclude)
    if excluded:
        query = query.where(AuditEntry.action.not_in(excluded))
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    return [(entry, name) for entry, name in db.session.execute(query)]
