"""What the pages show of events: the staff's cockpit of an event (key figures, the moves of
phase allowed now, the timeline of decisions), the participant's event page with what it
has to do next, the list of events (staff: all, by phase; participants: theirs), and the
data of the home panels. Read in a fixed number of queries whatever the number of events
or participants; nothing here changes the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.calls.models import Edition
from opsapp.core.permissions import require
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import utcnow
from opsapp.events import permissions, schedule, states
from opsapp.events.design import Move, P, allowed_moves, event_days
from opsapp.events.models import (
    Event,
    EventPhase,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    Side,
    TrainingKind,
    TrainingSession,
)
from opsapp.events.pages import path_for
from opsapp.events.participants import may_edit_profile, profile_complete
from opsapp.extensions import db

# The fields of the design as the form names them (the timeline lists what changed with them).
FIELD_LABELS = {
    "name": _l("Name"), "description": _l("Description"), "edition_id": _l("Meet the Buyer edition"),
    "call_id": _l("Call whose selected SMEs take part"), "venue": _l("Venue"), "online": _l("Held online"),
    "online_url": _l("Link of the online event"), "outside_region": _l("Held outside the region"),
    "timezone": _l("Time zone"), "days": _l("Days"), "day_start": _l("Meetings start at"),
    "day_end": _l("Meetings end at"), "slot_minutes": _l("Slot length (minutes)"), "breaks": _l("Breaks"),
    "table_count": _l("Tables"), "table_names": _l("Table names"),
    "registration_deadline": _l("Registration deadline"), "booking_opens_at": _l("Booking opens"),
    "request_deadline": _l("Deadline for meeting requests"), "closes_at": _l("Closing"),
    "sme_request_quota": _l("Requests an SME may send"), "buyer_request_quota": _l("Requests a buyer may send"),
    "sme_max_meetings": _l("Most meetings of an SME"), "buyer_max_meetings": _l("Most meetings of a buyer"),
    "request_expiry_days": _l("Days before an unanswered request expires"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def kind_label(kind: str) -> str:
    return TrainingKind(kind).label


def status_label(status: str) -> str:
    return ParticipantStatus(status).label


# --- what the pages show -------------------------------------------------------------------


@dataclass
class Figures:
    smes: int = 0
    buyers: int = 0
    outside_buyers: int = 0
    invited: int = 0         # profiles not completed yet
    withdrawn: int = 0
    requests_pending: int = 0
    requests_accepted: int = 0
    meetings: int = 0        # live (not cancelled)
    training_sessions: int = 0


def figures_of(event_ids: list[int]) -> dict[int, Figures]:
    """The key figures of several events, in a fixed number of queries."""
    result = {event_id: Figures() for event_id in event_ids}
    if not event_ids:
        return result
    rows = db.session.execute(
        select(Participant.event_id, Participant.side, Participant.status, Participant.outside_region,
               func.count(Participant.id))
        .where(Participant.event_id.in_(event_ids))
        .group_by(Participant.event_id, Participant.side, Participant.status, Participant.outside_region))
    for event_id, side, status, outside, n in rows:
        f = result[event_id]
        if status == ParticipantStatus.WITHDRAWN.value:
            f.withdrawn += n
            continue
        if status == ParticipantStatus.INVITED.value:
            f.invited += n
        if side == Side.SME.value:
            f.smes += n
        else:
            f.buyers += n
            if outside:
                f.outside_buyers += n
    for event_id, status, n in db.session.execute(
            select(MeetingRequest.event_id, MeetingRequest.status, func.count(MeetingRequest.id))
            .where(MeetingRequest.event_id.in_(event_ids),
                   MeetingRequest.status.in_((RequestStatus.PENDING.value, RequestStatus.ACCEPTED.value)))
            .group_by(MeetingRequest.event_id, MeetingRequest.status)):
        if status == RequestStatus.PENDING.value:
            result[event_id].requests_pending = n
        else:
            result[event_id].requests_accepted = n
    for event_id, n in db.session.execute(
            select(Meeting.event_id, func.count(Meeting.id))
            .where(Meeting.event_id.in_(event_ids), Meeting.status != MeetingStatus.CANCELLED.value)
            .group_by(Meeting.event_id)):
        result[event_id].meetings = n
    for event_id, n in db.session.execute(
            select(TrainingSession.event_id, func.count(TrainingSession.id))
            .where(TrainingSession.event_id.in_(event_ids)).group_by(TrainingSession.event_id)):
        result[event_id].training_sessions = n
    return result


@dataclass
class EventFilters:
    phase: str = ""

    def as_args(self) -> dict:
        return {"phase": self.phase} if self.phase else {}


@dataclass
class EventRow:
    event: Event
    figures: Figures
    participant: Participant | None = None
    first_day: date | None = None

    @property
    def days(self) -> list[date]:
        return event_days(self.event)

    @property
    def status_label(self) -> str:
        return ParticipantStatus(self.participant.status).label if self.participant else ""


def event_list(actor, filters: EventFilters) -> list[EventRow]:
    """Staff: every event (filtered by phase); participants: the events they take part in."""
    if permissions.is_staff(actor):
        query = select(Event).options(joinedload(Event.edition).joinedload(Edition.programme))
        if filters.phase in {p.value for p in EventPhase}:
            query = query.where(Event.phase == filters.phase)
        events = list(db.session.scalars(query.order_by(Event.id.desc())))
        mine: dict[int, Participant] = {}
    else:
        mine = {}
        for p in permissions.participants_of(actor, options=(
                joinedload(Participant.event).joinedload(Event.edition).joinedload(Edition.programme),)):
            mine.setdefault(p.event_id, p)  # the first, as `permissions.participant_of` chooses
        events = [mine[event_id].event for event_id in sorted(mine, reverse=True)]
    figures = figures_of([e.id for e in events])
    return [EventRow(e, figures[e.id], mine.get(e.id), (event_days(e) or [None])[0]) for e in events]


TIMELINE_LABELS = {
    "events.created": _l("Event created"),
    "events.updated": _l("Design changed"),
    "events.slots_generated": _l("Slot grid generated"),
    "events.participants_from_call": _l("Selected SMEs of the call added"),
    "events.participant_invited": _l("Participant invited"),
    "events.participant_withdrawn": _l("Participant withdrawn"),
    "events.training_added": _l("Training session added"),
    "events.attendance_recorded": _l("Training attendance recorded"),
}


def timeline(event: Event, limit: int = 40) -> list[TimelineEntry]:
    rows = audit_rows(Event.__tablename__, event.id, actions=[*TIMELINE_LABELS, "events.phase_changed"],
                      limit=limit)
    entries = []
    for entry, name in rows:
        detail = entry.detail or {}
        if entry.action == "events.phase_changed":
            try:
                phase = EventPhase(detail.get("new"))
            except ValueError:
                continue
            who = name if entry.actor_id is not None else _("on time, by the scheduler")
            entries.append(TimelineEntry(entry.created_at, who, _("Phase: %(phase)s", phase=phase.label)))
            continue
        subject = None
        if entry.action == "events.updated":
            subject = ", ".join(sorted((field_label(name) for name in detail.get("changes", {})), key=str.casefold))
        elif entry.action == "events.slots_generated":
            subject = ngettext("%(num)d slot", "%(num)d slots", int(detail.get("slots") or 0))
        elif entry.action in ("events.participant_invited", "events.participant_withdrawn"):
            subject = detail.get("organisation")
        elif entry.action == "events.participants_from_call":
            subject = ngettext("%(num)d SME", "%(num)d SMEs", int(detail.get("added") or 0))
        elif entry.action in ("events.training_added", "events.attendance_recorded"):
            subject = detail.get("title")
        entries.append(TimelineEntry(entry.created_at, name, str(TIMELINE_LABELS[entry.action]), subject))
    return entries


@dataclass
class Cockpit:
    event: Event
    figures: Figures
    moves: list[Move]
    timeline: list[TimelineEntry]
    phases: list[EventPhase]
    running: bool
    days: list[date]


def cockpit(actor, event: Event) -> Cockpit:
    require(permissions.is_staff(actor))
    return Cockpit(event=event, figures=figures_of([event.id])[event.id], moves=allowed_moves(event),
                   timeline=timeline(event), phases=list(states.PHASE_ORDER), running=schedule.running_run(event) is not None,
                   days=event_days(event))


# --- what a participant has to do --------------------------------------------------------------


@dataclass
class Step:
    label: str
    url: str | None
    done: bool = False
    optional: bool = False  # worth doing, never the "next thing" (all slots count as available until told)


def steps_for(event: Event, participant: Participant, now: datetime | None = None) -> list[Step]:
    """What the participant has to do now, in order; the first not done is the next thing."""
    now = now or utcnow()
    phase = event.status
    steps = []
    complete = profile_complete(participant)
    if not complete and may_edit_profile(participant, now):
        steps.append(Step(_("Complete your profile"), path_for("events.profile", event_id=event.id)))
    elif phase in (P.PREPARATION, P.BOOKING):
        steps.append(Step(_("Your profile is complete"), path_for("events.profile", event_id=event.id), done=True))
    if phase in (P.PREPARATION, P.BOOKING):
        steps.append(Step(_("Check the slots you can attend (all count as available until you say otherwise)"),
                          path_for("events.availability", event_id=event.id), optional=True))
    if phase is P.PREPARATION and participant.side == Side.SME.value and event.training_sessions:
        steps.append(Step(_("Attend the pitch and negotiation training"),
                          path_for("events.training", event_id=event.id)))
    if phase is P.BOOKING:
        steps.append(Step(_("Find counterparts in the marketplace and send meeting requests"),
                          path_for("events.marketplace", event_id=event.id)))
        steps.append(Step(_("Answer the meeting requests you received"), path_for("events.requests", event_id=event.id)))
    if phase is P.SCHEDULING:
        steps.append(Step(_("Wait for your agenda: staff are scheduling the meetings"), None))
    if states.agendas_current(event):
        steps.append(Step(_("See your agenda"), path_for("events.agenda", event_id=event.id)))
    if phase is P.FOLLOW_UP:
        steps.append(Step(_("Rate your meetings and record the contracts signed"),
                          path_for("events.agenda", event_id=event.id)))
    return steps


def next_step(event: Event, participant: Participant, now: datetime | None = None) -> Step | None:
    return next((s for s in steps_for(event, participant, now) if not s.done and not s.optional), None)


@dataclass
class ParticipantPage:
    event: Event
    participant: Participant
    steps: list[Step]
    complete: bool
    sessions: list[TrainingSession]
    days: list[date]
    available_slots: int
    total_slots: int
    published: bool  # the agendas are out and the day not over (`states.PUBLISHED_PHASES`): the online link shows


def participant_page(actor, event: Event, participant: Participant) -> ParticipantPage:
    require(permissions.speaks_for(actor, participant))
    sessions = list(event.training_sessions) if participant.side == Side.SME.value else []
    total = len(event.slots)
    return ParticipantPage(event=event, participant=participant, steps=steps_for(event, participant),
                           complete=profile_complete(participant), sessions=sessions, days=event_days(event),
                           available_slots=total - len(participant.unavailable_slots), total_slots=total,
                           published=states.agendas_current(event))


# --- home panels -------------------------------------------------------------------------


@dataclass
class StaffPanelRow:
    event: Event
    figures: Figures
    first_day: date | None


def running_events() -> list[StaffPanelRow]:
    events = list(db.session.scalars(select(Event).where(Event.phase != P.CLOSED.value).order_by(Event.id)))
    figures = figures_of([e.id for e in events])
    return [StaffPanelRow(e, figures[e.id], (event_days(e) or [None])[0]) for e in events]


def my_events(user) -> list[tuple[Event, Participant, Step | None]]:
    mine: dict[int, Participant] = {}
    for participant in permissions.participants_of(user, options=(
            selectinload(Participant.event).selectinload(Event.training_sessions),
            selectinload(Participant.s3_domains), selectinload(Participant.unavailable_slots))):
        if participant.event.phase != P.CLOSED.value:
            mine.setdefault(participant.event_id, participant)
    return [(p.event, p, next_step(p.event, p)) for _, p in sorted(mine.items(), reverse=True)]

