"""Who may do what in an event: small predicates over data already loaded.

A person acts in an event through a participant: a member of the participating
organisation (SME or buyer). Staff (and admins) run events and see everything. Services
check these before changing anything; templates use them to show only allowed actions.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Membership, User
from opsapp.core.roles import PROGRAMME_STAFF
from opsapp.events.models import Event, Participant, ParticipantStatus
from opsapp.extensions import db


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(*PROGRAMME_STAFF))


def organisation_ids(user) -> set[int]:
    return {m.organisation_id for m in user.memberships} if user.is_authenticated else set()


def participants_of(user, event_id: int | None = None, options=()) -> list[Participant]:
    """The participants the user acts through (those of the organisations they belong to, not
    withdrawn), in one event or in all, by id; `options` are loader options for what the
    caller reads of them (so that a list stays free of N+1 queries)."""
    if not user.is_authenticated:
        return []
    stmt = (select(Participant)
            .join(Membership, Membership.organisation_id == Participant.organisation_id)
            .where(Membership.user_id == user.id, Participant.status != ParticipantStatus.WITHDRAWN.value))
    if event_id is not None:
        stmt = stmt.where(Participant.event_id == event_id)
    return list(db.session.scalars(stmt.options(*options).order_by(Participant.id)).unique())


def participant_of(user, event: Event | int) -> Participant | None:
    """The user's participant in the event (through the organisations they belong to), if any."""
    found = participants_of(user, event if isinstance(event, int) else event.id)
    return found[0] if found else None


def speaks_for(user, participant: Participant) -> bool:
    """A member of the participant's organisation, while the participant takes part: the members of
    a withdrawn participant no longer act for it (no no-show, rating, contract, request...)."""
    return (participant.status != ParticipantStatus.WITHDRAWN.value
            and participant.organisation_id in organisation_ids(user))


def people_of(participant: Participant) -> list[User]:
    """Who speaks for the participant and hears about everything that concerns it (see
    `notices.py`): the active members of its organisation, its contact person first."""
    return people_of_many([participant])[participant.id]


def people_of_many(participants) -> dict[int, list[User]]:
    """`people_of` for each of several participants (by id), in one query."""
    participants = list(participants)
    by_organisation: dict[int, list[User]] = {p.organisation_id: [] for p in participants}
    if by_organisation:
        for organisation_id, user in db.session.execute(
                select(Membership.organisation_id, User).join(Membership, Membership.user_id == User.id)
                .where(Membership.organisation_id.in_(list(by_organisation)),
                       User.disabled_at.is_(None), User.erased_at.is_(None))
                .order_by(User.id)):
            by_organisation[organisation_id].append(user)
    return {p.id: sorted(by_organisation[p.organisation_id], key=lambda u: u.id != p.contact_id)
            for p in participants}


def events_of(user) -> list[Event]:
    """The events the user takes part in, newest first."""
    events = {p.event_id: p.event for p in participants_of(user, options=(joinedload(Participant.event),))}
    return [events[event_id] for event_id in sorted(events, reverse=True)]
