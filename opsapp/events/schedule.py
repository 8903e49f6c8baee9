"""The grid of meetings of an event as it stands, shared by the scheduler runs
(`schedule_runs.py`) and the staff's changes to the grid (`schedule_grid.py`): the event's
slots, participants, availability and live meetings read in a few queries, the rules they
must respect (`GridState`), each side's limit of meetings, the run in progress, and the
words for what is wrong (a conflict) or missing (why an accepted request has no meeting).

Nothing here changes the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask import abort
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from opsapp.core.permissions import require
from opsapp.core.timeutil import format_in_zone, to_local, utcnow
from opsapp.events import conflicts, permissions
from opsapp.events.models import (
    Event,
    EventSlot,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ScheduleRun,
    ScheduleRunStatus,
    Side,
    participant_unavailable_slots,
)
from opsapp.events.pages import EventError
from opsapp.extensions import db

# A run still "running" after this long was lost (the server restarted): it no longer blocks.
RUN_STALE_AFTER = timedelta(minutes=15)

LIVE = Meeting.status != MeetingStatus.CANCELLED.value


# --- small helpers ----------------------------------------------------------------------------


def limit_of(event: Event, participant: Participant) -> int | None:
    """The most meetings the participant may have: its own limit, or the event's for its side."""
    if participant.max_meetings is not None:
        return participant.max_meetings
    return event.sme_max_meetings if participant.side == Side.SME.value else event.buyer_max_meetings


def require_staff(actor) -> None:
    require(permissions.is_staff(actor))


def slot_moment(event: Event, slot: EventSlot) -> str:
    """The start of a slot in the event's zone: "09:20 CET", with the day when the event has several."""
    pattern = "EEE d MMM, HH:mm" if len(event.days or []) > 1 else "HH:mm"
    return format_in_zone(slot.starts_at, event.timezone, str(get_locale() or "en"), pattern=pattern)


def slot_label(event: Event, slot: EventSlot) -> str:
    """"09:00–09:20" in the event's zone."""
    start, end = to_local(slot.starts_at, event.timezone), to_local(slot.ends_at, event.timezone)
    return f"{start:%H:%M}–{end:%H:%M}"


def slot_choice_label(event: Event, slot: EventSlot) -> str:
    local = to_local(slot.starts_at, event.timezone)
    day = format_date(local.date(), "EEE d MMM") if len(event.days or []) > 1 else ""
    return f"{day} {slot_label(event, slot)}".strip()


# --- reading the event ------------------------------------------------------------------------


def event_slots(event: Event) -> list[EventSlot]:
    return list(db.session.scalars(select(EventSlot).where(EventSlot.event_id == event.id)
                                   .order_by(EventSlot.starts_at, EventSlot.id)))


def event_participants(event: Event) -> list[Participant]:
    return list(db.session.scalars(select(Participant).where(Participant.event_id == event.id)
                                   .options(joinedload(Participant.organisation)).order_by(Participant.id)))


def unavailable_slots(participant_ids=None, event: Event | None = None) -> dict[int, set[int]]:
    table = participant_unavailable_slots
    stmt = select(table.c.participant_id, table.c.slot_id)
    if event is not None:
        stmt = stmt.join(Participant, Participant.id == table.c.participant_id).where(Participant.event_id == event.id)
    if participant_ids is not None:
        stmt = stmt.where(table.c.participant_id.in_(list(participant_ids)))
    found: dict[int, set[int]] = defaultdict(set)
    for participant_id, slot_id in db.session.execute(stmt):
        found[participant_id].add(slot_id)
    return found


def live_meetings(event: Event) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.event_id == event.id, LIVE)
                                   .options(joinedload(Meeting.request)).order_by(Meeting.id)))


def cancelled_request_ids(event: Event) -> set[int]:
    """Requests with a meeting cancelled by someone (not replaced by a run) and no live one: no
    automatic new meeting for them."""
    live = select(Meeting.request_id).where(Meeting.event_id == event.id, LIVE)
    return set(db.session.scalars(select(Meeting.request_id).where(
        Meeting.event_id == event.id, Meeting.status == MeetingStatus.CANCELLED.value,
        Meeting.replaced_by_run_id.is_(None), Meeting.request_id.not_in(live))))


# --- the run in progress ----------------------------------------------------------------------


def running_run(event: Event) -> ScheduleRun | None:
    """The run in progress on the event, if any (a run lost for long no longer counts)."""
    run_ = db.session.scalar(select(ScheduleRun).where(
        ScheduleRun.event_id == event.id, ScheduleRun.status == ScheduleRunStatus.RUNNING.value)
        .order_by(ScheduleRun.id.desc()).limit(1))
    if run_ is not None and run_.started_at < utcnow() - RUN_STALE_AFTER:
        return None
    return run_


def last_run(event: Event) -> ScheduleRun | None:
    return db.session.scalar(select(ScheduleRun).where(ScheduleRun.event_id == event.id)
                             .order_by(ScheduleRun.id.desc()).limit(1))


def refuse_while_running(event: Event) -> None:
    if running_run(event) is not None:
        raise EventError(_("The scheduler is running on this event: wait for it to finish, then try again."))


# --- the grid as it stands -----------------------------------------------------------------------


def placed_of(m: Meeting) -> conflicts.Placed:
    return conflicts.Placed(m.id, m.slot_id, m.table_number, m.sme_id, m.buyer_id)


@dataclass
class GridState:
    """The live meetings of an event with the rules they must respect, for checks and wording."""

    event: Event
    slots: list[EventSlot]
    participants: dict[int, Participant]
    meetings: list[Meeting]
    rules: conflicts.Rules
    _board: conflicts.Board | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(cls, event: Event) -> GridState:
        slots = event_slots(event)
        participants = {p.id: p for p in event_participants(event)}
        every = frozenset(s.id for s in slots)
        unavailable = unavailable_slots(event=event)
        rules = conflicts.Rules(
            tables={s.id: event.table_count for s in slots},
            available={pid: every - unavailable.get(pid, set()) for pid in participants},
            max_meetings={pid: limit_of(event, p) for pid, p in participants.items()})
        return cls(event, slots, participants, live_meetings(event), rules)

    @property
    def placed(self) -> list[conflicts.Placed]:
        return [placed_of(m) for m in self.meetings]

    @property
    def board(self) -> conflicts.Board:
        if self._board is None:
            self._board = conflicts.Board(self.placed)
        return self._board

    @property
    def slot_ids(self) -> list[int]:
        return [s.id for s in self.slots]

    def reason(self, request: MeetingRequest, cancelled: bool = False) -> str:
        """Why the accepted request has no meeting, in plain words."""
        if cancelled:
            return _("Its meeting was cancelled; place it by hand if it should take place.")
        why = conflicts.why_unplaced(request.sme_id, request.buyer_id, self.board, self.rules, self.slot_ids)
        return word_unplaced(why, self.participants, request)


def word_unplaced(why: conflicts.Unplaced, participants: dict[int, Participant], request: MeetingRequest) -> str:
    sme, buyer = participants[request.sme_id].name, participants[request.buyer_id].name
    who = participants[why.participant].name if why.participant in participants else ""
    if why.code == conflicts.NO_COMMON_SLOT:
        return _("%(sme)s and %(buyer)s cannot attend any slot in common.", sme=sme, buyer=buyer)
    if why.code == conflicts.AT_MAXIMUM:
        return ngettext("%(name)s has reached its maximum of %(num)d meeting.",
                        "%(name)s has reached its maximum of %(num)d meetings.", why.maximum, name=who)
    if why.code == conflicts.SIDE_BUSY:
        other = buyer if why.participant == request.sme_id else sme
        return _("%(name)s is busy in every slot %(other)s can attend.", name=who, other=other)
    if why.code == conflicts.TABLES_FULL:
        return _("Every table is taken in the slots both can attend.")
    if why.code == conflicts.NO_FREE_SLOT:
        return _("No slot both can attend is free for both: of %(num)d, %(sme)s is busy in %(a)d, %(buyer)s in "
                 "%(b)d, and every table is taken in %(c)d.", num=why.common, sme=sme, a=why.sme_busy, buyer=buyer,
                 b=why.buyer_busy, c=why.full)
    return _("There is room for it now: place it by hand.")


def conflict_message(c: conflicts.Conflict, event: Event, participants: dict[int, Participant],
                      slots: dict[int, EventSlot], refusal: bool) -> str:
    name = participants[c.participant].name if c.participant in participants else ""
    when = slot_moment(event, slots[c.slot]) if c.slot in slots else ""
    table = event.table_name(c.table) if c.table is not None else ""
    if c.kind == conflicts.DOUBLE_BOOKED:
        if refusal:
            return _("%(name)s already has a meeting at %(time)s.", name=name, time=when)
        return _("%(name)s has %(num)d meetings at %(time)s.", name=name, num=c.count, time=when)
    if c.kind == conflicts.TABLE_TAKEN:
        if refusal:
            return _("Table %(table)s already holds a meeting at %(time)s.", table=table, time=when)
        return _("Table %(table)s holds %(num)d meetings at %(time)s.", table=table, num=c.count, time=when)
    if c.kind == conflicts.NO_SUCH_TABLE:
        return ngettext("There is no table %(table)s at %(time)s: the event has %(num)d table.",
                        "There is no table %(table)s at %(time)s: the event has %(num)d tables.",
                        c.maximum or 0, table=c.table, time=when)
    if c.kind == conflicts.UNAVAILABLE:
        if refusal:
            return _("%(name)s cannot attend at %(time)s.", name=name, time=when)
        return _("%(name)s has a meeting at %(time)s but cannot attend then.", name=name, time=when)
    if refusal:
        return _("%(name)s would have %(count)d meetings, over its maximum of %(most)d.", name=name,
                 count=c.count, most=c.maximum)
    return _("%(name)s has %(count)d meetings, over its maximum of %(most)d.", name=name, count=c.count,
             most=c.maximum)


def meeting_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    return meeting
