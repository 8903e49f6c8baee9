"""The lifecycles of calls, applications and assignments, in one place.

Each lifecycle is a table of allowed transitions registered with `core.lifecycle`, whose
`transition()` is the only function that changes a status (refused when the table does not
allow it, audited, the old status returned). No view sets a status field.
"""

from __future__ import annotations

from opsapp.calls.models import ApplicationStatus, AssignmentStatus, CallStatus
from opsapp.core import lifecycle

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

lifecycle.register(CallStatus, CALL_TRANSITIONS)
lifecycle.register(ApplicationStatus, APPLICATION_TRANSITIONS)
lifecycle.register(AssignmentStatus, ASSIGNMENT_TRANSITIONS)

TransitionRefused = lifecycle.TransitionRefused
allowed = lifecycle.allowed
transition = lifecycle.transition
