"""Who may do what with calls and applications: small predicates, combined by services.

Each answers one question about one user and one object, from data already loaded.
Services call `require(...)` with them; templates use them to show only allowed actions.
"""

from __future__ import annotations

from opsapp.calls.models import (
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
)
from opsapp.core.roles import Role


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def is_member(user, organisation_id: int) -> bool:
    return bool(user.is_authenticated and any(m.organisation_id == organisation_id for m in user.memberships))


def assignment_of(user, application: Application) -> Assignment | None:
    return next((a for a in application.assignments if a.evaluator_id == user.id), None)


def may_read_as_evaluator(user, application: Application) -> bool:
    """Only after declaring no conflict, and never once a conflict is declared or the assignment removed."""
    assignment = assignment_of(user, application)
    return assignment is not None and assignment.status in (AssignmentStatus.ACCEPTED, AssignmentStatus.SUBMITTED)


def can_view_application(user, application: Application) -> bool:
    return is_staff(user) or is_member(user, application.organisation_id) or may_read_as_evaluator(user, application)


def call_accepts_submissions(call: Call, now) -> bool:
    return call.status == CallStatus.OPEN and call.opens_at <= now < call.closes_at


def can_edit_application(user, application: Application, now) -> bool:
    return (is_member(user, application.organisation_id)
            and application.status == ApplicationStatus.DRAFT
            and call_accepts_submissions(application.call, now))


def can_withdraw_application(user, application: Application, now) -> bool:
    return (is_member(user, application.organisation_id)
            and application.status in (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)
            and call_accepts_submissions(application.call, now))


def identity_hidden_from(user, call: Call) -> bool:
    """In a blind call, evaluators do not see who applied (staff always do)."""
    return call.blind and not is_staff(user)
