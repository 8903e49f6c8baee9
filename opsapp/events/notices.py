"""Who hears about what in an event, in one place.

Everything about a participant (an invitation, a phase that opens, a request, a meeting, a
contract) goes to `permissions.people_of(participant)`: the active members of its
organisation, its contact person first. Staff hear about what they must act on
(`staff_users`). Nobody hears twice about one change, and the person who acted is not told
of their own action.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from opsapp.accounts.models import User, UserRole
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.events import permissions
from opsapp.events.models import Participant
from opsapp.extensions import db


def staff_users() -> list[User]:
    """The active programme staff, who confirm contracts and hear about no-shows."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == str(Role.STAFF), User.disabled_at.is_(None), User.erased_at.is_(None))
        .order_by(User.id)))


def tell(users: Iterable[User], subject, message, link: str | None, skip=None) -> int:
    """A plain notice ("generic" e-mail) to each user once, not to `skip` (who acted); returns how
    many were told."""
    seen = set()
    for user in users:
        if user.id in seen or (skip is not None and user.id == getattr(skip, "id", None)):
            continue
        seen.add(user.id)
        notify(user, subject, "generic", link=link, message=message)
    return len(seen)


def notify_participant(participant: Participant, subject, template: str, *, link: str | None = None,
                       people: list[User] | None = None, **context) -> int:
    """Tell the people of a participant (`permissions.people_of`) with an e-mail template that
    receives `event` and `participant`; returns how many were told. `people`, when given, are
    the participant's people already loaded (see `notify_participants`)."""
    told = 0
    for user in permissions.people_of(participant) if people is None else people:
        if notify(user, subject, template, link=link, event=participant.event, participant=participant,
                  **context) is not None:
            told += 1
    return told


def notify_participants(participants: list[Participant], subject, template: str, *, link: str | None = None,
                        **context) -> int:
    """`notify_participant` for many participants, their people loaded in one query."""
    people = permissions.people_of_many(participants)
    return sum(notify_participant(p, subject, template, link=link, people=people.get(p.id, []), **context)
               for p in participants)
