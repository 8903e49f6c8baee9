"""The lifecycles of calls, applications and assignments, in one place.

Each lifecycle is a table of allowed transitions; `transition()` is the only
function that changes a status: it refuses a move the table does not allow,
sets the status, records who did it in the audit log, and returns the old status
so the caller can notify. No view sets a status field.
"""

from __future__ import annotations

from opsapp.calls.models import ApplicationStatus, AssignmentStatus, CallStatus
from opsapp.core import audit

CALL_TRANSITIONS: dict[CallStatus, set[CallStatus]] = {
    CallStatus.DRAFT: {CallStatus.OPEN},
    CallStatus.OPEN: {CallStatus.CLOSED},
    CallStatus.CLOSED: {CallStatus.IN_EVALUATION},
    CallStatus.IN_EVALUATION: {CallStatus.DECIDED},
    CallStatus.DECIDED: {CallStatus.ARCHIVED},
    CallStatus.ARCHIVED: set(),
}

APPLICATION_TRANSITIONS: dict[ApplicationStatus, set[ApplicationStatus]] = {
    ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.SUBMITTED: {ApplicationStatus.WITHDRAWN, ApplicationStatus.SUPERSEDED},
    ApplicationStatus.WITHDRAWN: set(),
    ApplicationStatus.SUPERSEDED: set(),
}

ASSIGNMENT_TRANSITIONS: dict[AssignmentStatus, set[AssignmentStatus]] = {
    AssignmentStatus.ASSIGNED: {AssignmentStatus.ACCEPTED, AssignmentStatus.CONFLICT, AssignmentStatus.REMOVED},
    AssignmentStatus.ACCEPTED: {AssignmentStatus.SUBMITTED, AssignmentStatus.CONFLICT, AssignmentStatus.REMOVED},
    AssignmentStatus.SUBMITTED: set(),
    AssignmentStatus.CONFLICT: set(),
    AssignmentStatus.REMOVED: set(),
}

_TABLES = {
    CallStatus: CALL_TRANSITIONS,
    ApplicationStatus: APPLICATION_TRANSITIONS,
    AssignmentStatus: ASSIGNMENT_TRANSITIONS,
}


class TransitionRefused(Exception):
    """A status change the lifecycle does not allow."""

    def __init__(self, obj, current, wanted):
        self.current, self.wanted = current, wanted
        super().__init__(f"{type(obj).__name__} {getattr(obj, 'id', '?')}: {current} -> {wanted} not allowed")


def allowed(current, wanted) -> bool:
    return wanted in _TABLES[type(wanted)][type(wanted)(current)]


def transition(obj, wanted, *, actor=None, **detail):
    """Move `obj` (a Call, Application or Assignment) to `wanted`, audited; returns the old status."""
    kind = type(wanted)
    current = kind(obj.status)
    if wanted not in _TABLES[kind][current]:
        raise TransitionRefused(obj, current, wanted)
    obj.status = wanted.value
    audit.record(f"{obj.__tablename__}.status_changed", obj, actor=actor,
                 old=current.value, new=wanted.value, **detail)
    return current
