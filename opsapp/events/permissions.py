"""Who may do what in an event: small predicates over data already loaded.

A person acts in an event through a participant: a member of the participating
organisation (SME or buyer). Staff (and admins) run events and see everything. Services
check these before changing anything; templates use them to show only allowed actions.
"""

from __future__ import annotations

from sqlalchemy import select

from opsapp.accounts.models import Membership
from opsapp.core.roles import Role
from opsapp.events.models import Event, Participant, ParticipantStatus
from opsapp.extensions import db


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def organisation_ids(user) -> set[int]:
    return {m.organisation_id for m in user.memberships} if user.is_authenticated else set()


def participant_of(user, event: Event | int) -> Participant | None:
    """The user's participant in the event (through the organisations they belong to), if any."""
    if not user.is_authenticated:
        return None
    event_id = event if isinstance(event, int) else event.id
    return db.session.scalar(
        select(Participant)
        .join(Membership, Membership.organisation_id == Participant.organisation_id)
        .where(Participant.event_id == event_id, Membership.user_id == user.id,
               Participant.status != ParticipantStatus.WITHDRAWN.value)
        .order_by(Participant.id).limit(1))


def speaks_for(user, participant: Participant) -> bool:
    """A member of the participant's organisation."""
    return participant.organisation_id in organisation_ids(user)


def can_view_event(user, event: Event) -> bool:
    return is_staff(user) or participant_of(user, event) is not None


def events_of(user) -> list[Event]:
    """The events the user takes part in, newest first."""
    if not user.is_authenticated:
        return []
    mine = (select(Participant.event_id)
            .join(Membership, Membership.organisation_id == Participant.organisation_id)
            .where(Membership.user_id == user.id, Participant.status != ParticipantStatus.WITHDRAWN.value))
    return list(db.session.scalars(select(Event).where(Event.id.in_(mine)).order_by(Event.id.desc())))
