"""The event day: check-in, meetings that took place, and meetings that did not.

- Check-in (staff): the participants with a search by name, a side filter and
  arrived / not yet, with the count ("34 of 80 arrived"); marking one arrived (or undoing
  it) is audited. Open once the agendas are published and on the event day.
- `mark_held(now)`: the job that turns every scheduled meeting whose slot has ended into
  a held one, for events on their day or in follow-up; a second run finds nothing to do.
- No-shows: once a meeting's slot has started, a member of either side (or staff) says
  it did not happen; the meeting becomes a no-show, the other side and staff are told.

Services check rights, change state through `states.transition`, audit, notify and
flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Organisation, User
from opsapp.core import audit
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.timeutil import format_in_zone, utcnow
from opsapp.events import permissions, states
from opsapp.events.models import (
    Event,
    EventPhase,
    EventSlot,
    Meeting,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    Side,
)
from opsapp.events.notices import staff_users, tell
from opsapp.events.pages import EventError, event_or_404, path_for
from opsapp.events.search import contains
from opsapp.extensions import db

NOTE_MAX = 2000


def moment(value: datetime, event: Event) -> LazyString:
    """A time in the event's zone, worded in the language of whoever reads it."""
    return LazyString(lambda: format_in_zone(value, event.timezone, str(get_locale() or "en")))


def side_of(actor, meeting: Meeting) -> Participant | None:
    """The side of the meeting the actor speaks for (None for staff); 404 for anyone else."""
    if permissions.speaks_for(actor, meeting.sme):
        return meeting.sme
    if permissions.speaks_for(actor, meeting.buyer):
        return meeting.buyer
    if permissions.is_staff(actor):
        return None
    abort(404)


def meeting_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id)
        .options(joinedload(Meeting.slot), joinedload(Meeting.event),
                 joinedload(Meeting.sme).joinedload(Participant.organisation),
                 joinedload(Meeting.buyer).joinedload(Participant.organisation)))
    if meeting is None:
        abort(404)
    return meeting


# --- check-in ---------------------------------------------------------------------------------------


@dataclass
class CheckinFilters:
    q: str = ""
    side: str = ""      # "", "sme", "buyer"
    arrived: str = ""   # "", "yes", "no"

    def as_args(self) -> dict:
        return {k: v for k, v in (("q", self.q), ("side", self.side), ("arrived", self.arrived)) if v}


@dataclass
class CheckinList:
    event: Event
    page: Page
    total: int
    arrived: int
    open: bool
    filters: CheckinFilters
    meetings: dict[int, int]  # participant id -> live meetings


def checkin_open(event: Event) -> bool:
    """Once the agendas are published and on the event day (`states.PUBLISHED_PHASES`)."""
    return states.agendas_current(event)


def checkin_list(actor, event_id: int, filters: CheckinFilters) -> CheckinList:
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    present = (Participant.event_id == event.id, Participant.status != ParticipantStatus.WITHDRAWN.value)
    total, arrived = db.session.execute(
        select(func.count(Participant.id), func.count(Participant.checked_in_at)).where(*present)).one()
    stmt = (select(Participant).join(Organisation, Organisation.id == Participant.organisation_id)
            .outerjoin(User, User.id == Participant.contact_id).where(*present)
            .options(joinedload(Participant.organisation), joinedload(Participant.contact)))
    q = (filters.q or "").strip()
    if q:
        stmt = stmt.where(or_(contains(Organisation.legal_name, q), contains(User.full_name, q)))
    if filters.side in (Side.SME.value, Side.BUYER.value):
        stmt = stmt.where(Participant.side == filters.side)
    if filters.arrived == "yes":
        stmt = stmt.where(Participant.checked_in_at.is_not(None))
    elif filters.arrived == "no":
        stmt = stmt.where(Participant.checked_in_at.is_(None))
    page = paginate(stmt.order_by(func.lower(Organisation.legal_name), Participant.id), per_page=100)
    ids = [p.id for p in page.items]
    meetings: dict[int, int] = {}
    if ids:
        live = (Meeting.event_id == event.id, Meeting.status != MeetingStatus.CANCELLED.value)
        for column in (Meeting.sme_id, Meeting.buyer_id):
            for pid, n in db.session.execute(select(column, func.count()).where(*live, column.in_(ids))
                                             .group_by(column)).all():
                meetings[pid] = meetings.get(pid, 0) + n
    return CheckinList(event, page, total or 0, arrived or 0, checkin_open(event), filters, meetings)


def mark_arrived(actor, event_id: int, participant_id: int, arrived: bool = True,
                 now: datetime | None = None) -> Participant:
    """Mark a participant arrived (or undo it); staff, once agendas are published or on the day."""
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.event_id != event.id:
        abort(404)
    if not checkin_open(event):
        raise EventError(_l("Check-in is open once the agendas are published and on the event day."))
    if participant.status == ParticipantStatus.WITHDRAWN.value:
        raise EventError(_l("%(name)s withdrew from the event.", name=participant.name))
    if arrived and participant.checked_in_at is None:
        participant.checked_in_at, participant.checked_in_by_id = now or utcnow(), actor.id
        audit.record("event_participants.checked_in", participant, actor=actor, event_id=event.id)
    elif not arrived and participant.checked_in_at is not None:
        audit.record("event_participants.check_in_undone", participant, actor=actor, event_id=event.id,
                     was=participant.checked_in_at.isoformat())
        participant.checked_in_at, participant.checked_in_by_id = None, None
    db.session.flush()
    return participant


# --- meetings held ---------------------------------------------------------------------------------


def mark_held(now: datetime) -> int:
    """Every scheduled meeting whose slot has ended, in events on their day or in follow-up, is held."""
    meetings = db.session.scalars(
        select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id).join(Event, Event.id == Meeting.event_id)
        .where(Meeting.status == MeetingStatus.SCHEDULED.value, Event.phase.in_([p.value for p in states.HELD_PHASES]),
               EventSlot.ends_at <= now)
        .order_by(Meeting.id)).all()
    for meeting in meetings:
        states.transition(meeting, MeetingStatus.HELD, actor=None, reason="slot ended")
    db.session.flush()
    return len(meetings)


# --- no-shows ----------------------------------------------------------------------------------------


def report_no_show(actor, meeting_id: int, note: str | None = None, now: datetime | None = None) -> Meeting:
    """Say that a meeting did not happen: after its slot started, by either side or staff."""
    now = now or utcnow()
    meeting = meeting_or_404(meeting_id)
    reporter = side_of(actor, meeting)
    event = meeting.event
    note = (note or "").strip()[:NOTE_MAX] or None
    if meeting.status not in (MeetingStatus.SCHEDULED.value, MeetingStatus.HELD.value):
        raise EventError(_l("This meeting is cancelled or already recorded as not having happened."))
    if event.status is EventPhase.CLOSED:
        raise EventError(_l("The event is closed: its meetings can no longer change."))
    if now < meeting.slot.starts_at:
        raise EventError(_l("You can say that a meeting did not happen only once its slot has started "
                            "(%(when)s).", when=moment(meeting.slot.starts_at, event)))
    states.transition(meeting, MeetingStatus.NO_SHOW, actor=actor, note=note,
                      reported_by=reporter.side if reporter is not None else "staff")
    meeting.no_show_reported_by_id = reporter.id if reporter is not None else None
    meeting.no_show_reported_at = now
    db.session.flush()

    when = moment(meeting.slot.starts_at, event)
    by = reporter.name if reporter is not None else _l("the programme staff")
    others = [p for p in (meeting.sme, meeting.buyer) if reporter is None or p.id != reporter.id]
    for other in others:
        counterpart = meeting.buyer if other.id == meeting.sme_id else meeting.sme
        message = _l("%(by)s said that your meeting with %(counterpart)s on %(when)s (%(event)s) did not "
                     "happen.", by=by, counterpart=counterpart.name, when=when, event=event.name)
        if note:
            message = _l("%(message)s Their note: %(note)s", message=message, note=note)
        tell(permissions.people_of(other), _l("A meeting did not happen"), message,
             path_for("events.agenda", event_id=event.id), skip=actor)
    staff_message = _l("%(by)s said that the meeting between %(sme)s and %(buyer)s on %(when)s (%(event)s) did "
                       "not happen.", by=by, sme=meeting.sme.name, buyer=meeting.buyer.name, when=when,
                       event=event.name)
    tell(staff_users(), _l("A meeting did not happen"), staff_message,
         path_for("events.agenda", event_id=event.id, participant=meeting.sme_id), skip=actor)
    return meeting
