"""Agendas: a participant's meetings as a page, an iCalendar file and a printable page, and
for staff the table plan (printable and Word) and every participant's agenda in Word.

Who sees what: a participant sees only their own agenda, and only once the agendas are
published (the event reached "agendas published" and was not taken back); before that
the page says when to expect it. Staff open anyone's agenda with
`?participant=<id>` at any time. Someone else's participant id answers 404.

An agenda lists the live meetings (scheduled, held, no-show) in time order, each with
its table and the counterpart's profile, loaded in a handful of queries whatever the
number of meetings. The iCalendar file gives each meeting request one stable UID, so a
calendar that imports the file again after a move or a new scheduler run updates the
meeting instead of adding a second one; its SEQUENCE is the time of the last change in
seconds, so it only grows; a request whose meeting was cancelled (or replaced by a scheduler
run) after the agendas were first published is sent as CANCELLED so that calendars remove
it, while a meeting cancelled before then was never shown and is left out
(`seen_by_participants`). Nothing here changes the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import abort
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from opsapp.core import word
from opsapp.core.models import AuditEntry
from opsapp.core.permissions import require
from opsapp.core.timeutil import format_in_zone, to_local, utcnow
from opsapp.events import permissions, states
from opsapp.events.models import (
    Event,
    EventSlot,
    Meeting,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    Side,
    TrainingAttendance,
    TrainingSession,
)
from opsapp.events.pages import event_or_404
from opsapp.extensions import db

LIVE = (MeetingStatus.SCHEDULED.value, MeetingStatus.HELD.value, MeetingStatus.NO_SHOW.value)
SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SWAPPED = "events.meetings_swapped"  # audited by `schedule.py` on one meeting, naming the other


def _locale() -> str:
    return str(get_locale() or "en")


def when(value: datetime, event: Event, pattern: str = "EEE d MMMM y, HH:mm") -> str:
    """A moment in the event's zone: "Tue 10 March 2027, 09:20 CET"."""
    return format_in_zone(value, event.timezone, _locale(), pattern)


def day_label(day: date, pattern: str = "EEEE d MMMM y") -> str:
    return format_date(day, pattern, locale=_locale())


def first_day(event: Event) -> date | None:
    return min((date.fromisoformat(d) for d in event.days or []), default=None)


def published(event: Event) -> bool:
    """Whether participants may see their agendas (`states.agendas_published`). Staff may take
    the agendas back (to scheduling, even to booking): `agendas_published_at` then stays as the
    time of the first publication, so it does not say that they are visible."""
    return states.agendas_published(event)


def seen_by_participants(meeting: Meeting, event: Event) -> bool:
    """Whether the meeting may be in its participants' agendas and calendars: the agendas were
    published, and it was not cancelled (by someone, or replaced by a scheduler run) before their
    first publication (`agendas_published_at`). A meeting cancelled before then was never shown:
    no calendar needs to drop it and its sides never see it."""
    first = event.agendas_published_at
    if first is None:
        return False
    if meeting.status == MeetingStatus.CANCELLED.value:
        return meeting.cancelled_at is not None and meeting.cancelled_at >= first
    return True


def _participant_loads(relationship):
    return (joinedload(relationship).joinedload(Participant.organisation),
            joinedload(relationship).selectinload(Participant.s3_domains))


def _participant_or_404(event: Event, participant_id: int) -> Participant:
    participant = db.session.scalar(select(Participant).where(Participant.id == participant_id)
                                    .options(joinedload(Participant.organisation)))
    if participant is None or participant.event_id != event.id:
        abort(404)
    return participant


def subject(actor, event_id: int, participant_id: int | None = None) -> tuple[Event, Participant | None, bool]:
    """The event, whose agenda to show, and whether the reader is staff.

    A participant gets their own (passing their own id is fine, anyone else's is 404);
    staff get the participant named, or None (the page then offers the list)."""
    event = event_or_404(event_id)
    staff = permissions.is_staff(actor)
    own = permissions.participant_of(actor, event)
    if participant_id is not None:
        if own is not None and own.id == participant_id:
            return event, own, staff
        if not staff:
            abort(404)
        return event, _participant_or_404(event, participant_id), True
    if own is not None:
        return event, own, staff
    if staff:
        return event, None, True
    abort(404)


# --- one participant's agenda ---------------------------------------------------------------


@dataclass
class AgendaEntry:
    meeting: Meeting
    counterpart: Participant
    table: str

    @property
    def starts_at(self) -> datetime:
        return self.meeting.slot.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.meeting.slot.ends_at

    @property
    def status(self) -> MeetingStatus:
        return self.meeting.status_enum


@dataclass
class Agenda:
    event: Event
    participant: Participant | None
    as_staff: bool
    visible: bool  # may the reader see the meetings
    published: bool
    entries: list[AgendaEntry] = field(default_factory=list)
    training: list[tuple[TrainingSession, bool | None]] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)  # staff without a participant: whom to pick

    @property
    def first_day(self) -> date | None:
        return first_day(self.event)


def _entries(event: Event, participant: Participant) -> list[AgendaEntry]:
    meetings = db.session.scalars(
        select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id)
        .where(Meeting.event_id == event.id, Meeting.status.in_(LIVE),
               or_(Meeting.sme_id == participant.id, Meeting.buyer_id == participant.id))
        .options(joinedload(Meeting.slot), *_participant_loads(Meeting.sme), *_participant_loads(Meeting.buyer))
        .order_by(EventSlot.starts_at, Meeting.table_number)).unique().all()
    return [AgendaEntry(m, m.buyer if m.sme_id == participant.id else m.sme, event.table_name(m.table_number))
            for m in meetings]


def _training(event: Event, participant: Participant) -> list[tuple[TrainingSession, bool | None]]:
    if participant.side != Side.SME.value:
        return []
    sessions = db.session.scalars(select(TrainingSession).where(TrainingSession.event_id == event.id)
                                  .order_by(TrainingSession.starts_at)).all()
    attended = dict(db.session.execute(
        select(TrainingAttendance.session_id, TrainingAttendance.attended)
        .where(TrainingAttendance.participant_id == participant.id)).all())
    return [(s, attended.get(s.id)) for s in sessions]


def agenda(actor, event_id: int, participant_id: int | None = None) -> Agenda:
    event, participant, as_staff = subject(actor, event_id, participant_id)
    is_published = published(event)
    if participant is None:
        people = db.session.scalars(
            select(Participant).where(Participant.event_id == event.id)
            .options(joinedload(Participant.organisation))
            .order_by(Participant.side, Participant.id)).all()
        return Agenda(event, None, True, True, is_published,
                      participants=sorted(people, key=lambda p: (p.side, p.name.lower())))
    visible = is_published or as_staff
    result = Agenda(event, participant, as_staff, visible, is_published)
    if visible:
        result.entries = _entries(event, participant)
    result.training = _training(event, participant)
    return result


def visible_agenda(actor, event_id: int, participant_id: int | None = None) -> Agenda:
    """An agenda for a download: 404 when there is nothing the reader may see."""
    result = agenda(actor, event_id, participant_id)
    if result.participant is None or not result.visible:
        abort(404)
    return result


def location(event: Event, table: str) -> str:
    if event.online:
        return event.online_url or _("Online")
    if event.venue:
        return _("%(venue)s, table %(table)s", venue=event.venue, table=table)
    return _("Table %(table)s", table=table)


# --- iCalendar ----------------------------------------------------------------------------------


def uid(request_id: int) -> str:
    return f"meeting-request-{request_id}@opsapp"


def _last_changes(request_ids: set[int]) -> dict[int, datetime]:
    """For each request, when its meetings last changed (created, moved, cancelled, reported...)."""
    if not request_ids:
        return {}
    last: dict[int, datetime] = {}
    meeting_request: dict[str, int] = {}

    def later(request_id: int, moment: datetime | None) -> None:
        if moment is not None:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            if request_id not in last or moment > last[request_id]:
                last[request_id] = moment

    rows = db.session.execute(
        select(Meeting.id, Meeting.request_id, Meeting.created_at, Meeting.cancelled_at, Meeting.no_show_reported_at)
        .where(Meeting.request_id.in_(request_ids))).all()
    for meeting_id, request_id, *moments in rows:
        meeting_request[str(meeting_id)] = request_id
        for moment in moments:
            later(request_id, moment)
    if meeting_request:
        audited = db.session.execute(
            select(AuditEntry.object_id, func.max(AuditEntry.created_at))
            .where(AuditEntry.object_type == Meeting.__tablename__,
                   AuditEntry.object_id.in_(list(meeting_request)))
            .group_by(AuditEntry.object_id)).all()
        for object_id, moment in audited:
            later(meeting_request[object_id], moment)
        # A swap is audited on one of its two meetings, naming the other in its detail.
        swaps = db.session.execute(
            select(AuditEntry.detail, AuditEntry.created_at)
            .where(AuditEntry.action == SWAPPED, AuditEntry.object_type == Meeting.__tablename__,
                   AuditEntry.created_at >= min(row[2] for row in rows))).all()
        for detail, moment in swaps:
            other = str((detail or {}).get("other"))
            if other in meeting_request:
                later(meeting_request[other], moment)
    return last


def sequence(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, int((moment - SEQUENCE_EPOCH).total_seconds()))


def _cancelled(event: Event, participant: Participant, live_requests: set[int]) -> list[Meeting]:
    """The last cancelled meeting of each request of the participant that has no live meeting,
    among those its calendar may hold (`seen_by_participants`: cancelled, or replaced by a run,
    after the agendas were first published)."""
    if event.agendas_published_at is None:
        return []
    rows = db.session.scalars(
        select(Meeting).where(Meeting.event_id == event.id, Meeting.status == MeetingStatus.CANCELLED.value,
                              Meeting.cancelled_at >= event.agendas_published_at,
                              or_(Meeting.sme_id == participant.id, Meeting.buyer_id == participant.id))
        .options(joinedload(Meeting.slot), joinedload(Meeting.sme).joinedload(Participant.organisation),
                 joinedload(Meeting.buyer).joinedload(Participant.organisation))
        .order_by(Meeting.id)).unique().all()
    latest: dict[int, Meeting] = {}
    for meeting in rows:
        if meeting.request_id not in live_requests:
            latest[meeting.request_id] = meeting
    return list(latest.values())


def _vevent(event: Event, zone: ZoneInfo, meeting: Meeting, counterpart: Participant, *, status: str,
            changed: datetime | None, now: datetime) -> CalendarEvent:
    table = event.table_name(meeting.table_number)
    vevent = CalendarEvent()
    vevent.add("uid", uid(meeting.request_id))
    vevent.add("dtstamp", now)
    vevent.add("dtstart", to_local(meeting.slot.starts_at, zone))
    vevent.add("dtend", to_local(meeting.slot.ends_at, zone))
    vevent.add("summary", _("Meeting: %(counterpart)s", counterpart=counterpart.name))
    vevent.add("location", location(event, table))
    description = [counterpart.headline or counterpart.name, event.name]
    if status == "CONFIRMED":
        description.append(_("Table %(table)s", table=table))
    vevent.add("description", "\n".join(word.clean(line) for line in description if line))
    vevent.add("status", status)
    vevent.add("sequence", sequence(changed))
    if changed is not None:
        vevent.add("last-modified", changed.astimezone(UTC))
    vevent.add("transp", "OPAQUE")
    return vevent


def agenda_ics(actor, event_id: int, participant_id: int | None = None) -> tuple[str, bytes]:
    """The agenda as an iCalendar file (filename, bytes)."""
    data = visible_agenda(actor, event_id, participant_id)
    event, participant, now = data.event, data.participant, utcnow()
    zone = ZoneInfo(event.timezone)
    live_requests = {e.meeting.request_id for e in data.entries}
    cancelled = _cancelled(event, participant, live_requests)
    changes = _last_changes(live_requests | {m.request_id for m in cancelled})

    calendar = Calendar()
    calendar.add("prodid", "-//opsapp//Meet the Buyer agenda//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{event.name} · {participant.name}")
    calendar.add("x-wr-timezone", event.timezone)
    for entry in data.entries:
        calendar.add_component(_vevent(event, zone, entry.meeting, entry.counterpart, status="CONFIRMED",
                                       changed=changes.get(entry.meeting.request_id), now=now))
    for meeting in cancelled:
        counterpart = meeting.buyer if meeting.sme_id == participant.id else meeting.sme
        calendar.add_component(_vevent(event, zone, meeting, counterpart, status="CANCELLED",
                                       changed=changes.get(meeting.request_id), now=now))
    start = first_day(event) or now.date()
    calendar.add_missing_timezones(first_date=start - timedelta(days=366), last_date=start + timedelta(days=731))
    return f"agenda-{_safe_name(event.name)}.ics", calendar.to_ical()


def _safe_name(text: str) -> str:
    return word.safe_name(text).lower()


# --- the table plan -------------------------------------------------------------------------------


@dataclass
class PlanRow:
    meeting: Meeting
    time: str
    table: str


@dataclass
class PlanDay:
    day: date
    label: str
    rows: list[PlanRow]


def _event_meetings(event: Event) -> list[Meeting]:
    return db.session.scalars(
        select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id)
        .where(Meeting.event_id == event.id, Meeting.status.in_(LIVE))
        .options(joinedload(Meeting.slot), joinedload(Meeting.sme).joinedload(Participant.organisation),
                 joinedload(Meeting.buyer).joinedload(Participant.organisation))
        .order_by(EventSlot.starts_at, Meeting.table_number)).unique().all()


def _slot_labels(event: Event, meetings: list[Meeting]) -> dict[int, str]:
    """Each slot's local time, formatted once (a plan has thousands of rows but few slots)."""
    labels = {}
    for meeting in meetings:
        if meeting.slot_id not in labels:
            start, end = to_local(meeting.slot.starts_at, event.timezone), to_local(meeting.slot.ends_at, event.timezone)
            labels[meeting.slot_id] = f"{start:%H:%M}–{end:%H:%M}"
    return labels


def table_plan(actor, event_id: int) -> tuple[Event, list[PlanDay]]:
    """Every live meeting by day, slot and table (staff)."""
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    meetings = _event_meetings(event)
    labels = _slot_labels(event, meetings)
    days: dict[date, list[PlanRow]] = defaultdict(list)
    for meeting in meetings:
        day = to_local(meeting.slot.starts_at, event.timezone).date()
        days[day].append(PlanRow(meeting, labels[meeting.slot_id], event.table_name(meeting.table_number)))
    return event, [PlanDay(day, day_label(day), rows) for day, rows in sorted(days.items())]


def _header_lines(event: Event) -> list[str]:
    lines = [_("Regione Piemonte · innovation programmes"), event.name]
    place = event.online_url if event.online else event.venue
    if place:
        lines.append(place)
    return lines


def table_plan_docx(actor, event_id: int) -> tuple[str, bytes]:
    """The table plan in Word: one table per day (time, table, SME, buyer)."""
    event, days = table_plan(actor, event_id)
    document = word.new_document(_("Table plan"), _header_lines(event))
    document.add_heading(_("Table plan: %(event)s", event=event.name), level=0)
    if not days:
        document.add_paragraph(_("No meeting is scheduled yet."))
    for i, day in enumerate(days):
        if i:
            word.page_break(document)
        document.add_heading(day.label, level=1)
        document.add_paragraph(ngettext("%(num)d meeting, times in %(zone)s.", "%(num)d meetings, times in %(zone)s.",
                                        len(day.rows), zone=event.timezone))
        word.table(document, [_("Time"), _("Table"), _("SME"), _("Buyer")],
                   ([r.time, r.table, r.meeting.sme.name, r.meeting.buyer.name] for r in day.rows),
                   widths=[2.6, 2.0, 6.0, 6.0])
    return f"table-plan-{_safe_name(event.name)}.docx", word.save(document)


def agendas_docx(actor, event_id: int) -> tuple[str, bytes]:
    """Every participant's agenda in Word, one per page (staff)."""
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    meetings = _event_meetings(event)
    labels = _slot_labels(event, meetings)
    by_participant: dict[int, list[Meeting]] = defaultdict(list)
    for meeting in meetings:
        by_participant[meeting.sme_id].append(meeting)
        by_participant[meeting.buyer_id].append(meeting)
    people = db.session.scalars(
        select(Participant).where(Participant.event_id == event.id,
                                  Participant.status != ParticipantStatus.WITHDRAWN.value)
        .options(joinedload(Participant.organisation), joinedload(Participant.contact))).all()
    people = sorted(people, key=lambda p: (p.side != Side.SME.value, p.name.lower()))
    day_labels: dict[date, str] = {}

    document = word.new_document(_("Agendas"), _header_lines(event))
    if not people:
        document.add_heading(_("Agendas: %(event)s", event=event.name), level=0)
        document.add_paragraph(_("The event has no participant yet."))
    for i, participant in enumerate(people):
        if i:
            word.page_break(document)
        document.add_heading(word.clean(participant.name), level=1)
        facts = [participant.side_enum.label]
        if participant.contact is not None:
            facts.append(participant.contact.display_name)
        facts.append(event.name)
        document.add_paragraph(word.clean(" · ".join(str(f) for f in facts)))
        own = by_participant.get(participant.id, [])
        if not own:
            document.add_paragraph(_("No meeting is scheduled."))
            continue
        rows = []
        for meeting in own:
            day = to_local(meeting.slot.starts_at, event.timezone).date()
            if day not in day_labels:
                day_labels[day] = day_label(day, "EEE d MMM")
            counterpart = meeting.buyer if meeting.sme_id == participant.id else meeting.sme
            rows.append([f"{day_labels[day]}, {labels[meeting.slot_id]}", event.table_name(meeting.table_number),
                         counterpart.name, counterpart.headline or ""])
        word.table(document, [_("Time"), _("Table"), _("Meeting with"), _("Profile")], rows,
                   widths=[3.6, 1.6, 5.0, 6.4])
        document.add_paragraph(_("Times in %(zone)s.", zone=event.timezone))
    return f"agendas-{_safe_name(event.name)}.docx", word.save(document)


# --- the home panel -----------------------------------------------------------------------------------


@dataclass
class NextMeeting:
    meeting: Meeting
    participant: Participant
    counterpart: Participant
    table: str


def next_meetings(user, now: datetime | None = None, limit: int = 5) -> list[NextMeeting]:
    """The user's coming meetings in events whose agendas are published, soonest first."""
    now = now or utcnow()
    mine = permissions.participants_of(user, options=(joinedload(Participant.event),))
    ids = [p.id for p in mine if published(p.event)]
    if not ids:
        return []
    meetings = db.session.scalars(
        select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id)
        .where(Meeting.status == MeetingStatus.SCHEDULED.value, EventSlot.ends_at > now,
               or_(Meeting.sme_id.in_(ids), Meeting.buyer_id.in_(ids)))
        .options(joinedload(Meeting.slot), joinedload(Meeting.event),
                 joinedload(Meeting.sme).joinedload(Participant.organisation),
                 joinedload(Meeting.buyer).joinedload(Participant.organisation))
        .order_by(EventSlot.starts_at, Meeting.id).limit(limit)).unique().all()
    result = []
    for meeting in meetings:
        side = meeting.sme if meeting.sme_id in ids else meeting.buyer
        counterpart = meeting.buyer if side is meeting.sme else meeting.sme
        result.append(NextMeeting(meeting, side, counterpart, meeting.event.table_name(meeting.table_number)))
    return result
