"""Running the scheduler on an event, and the staff's changes to its grid of meetings.

The run. `build_problem(event)` reads the event into the pure scheduler's `Problem` (slots
with the event's tables, the participants who have not withdrawn with their availability
and limits, the accepted requests with their priorities, the locked meetings), and
`run(actor, event)` calls `scheduling.solve` (the same function as the command-line
program) and puts the result in place in one transaction: every unlocked scheduled meeting
of the event is replaced by the new ones (they were never published: runs happen in the
scheduling phase only), locked meetings stay where they are, each accepted request left
out gets its reason, and a `ScheduleRun` keeps the figures. Long runs never block a page:
the view calls `start_run` and then `execute_run` in a background thread with its own
application context and session (`run` does both inline, for tests and small events).
While the scheduler solves, no transaction is open, so SQLite's write lock stays free; the
result is applied only if the event's problem is still the one solved.

A request whose meeting was cancelled stays accepted, but no run and no freed slot gives
it a new meeting on its own: staff place it by hand if it should take place.

The grid. Staff move, swap, cancel, lock and place meetings in the scheduling phase and
after publication; a member of either side may cancel their own meeting once agendas are
published, before it starts. Every change that puts a meeting into a slot locks the rows
concerned first (the two participants and the slot on PostgreSQL, in id order; SQLite's
immediate transactions already let one writer in at a time), re-checks the grid with the
pure `conflicts.py`, and relies on the partial unique indexes of `Meeting` as the last
guard. After publication both sides are told of every change to their agenda, and a
cancellation offers the freed slot and table to the best waiting request.

Functions here check rights, change state, audit and notify, and never commit (except
`execute_run`, which runs outside any request).
"""

from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask import abort, current_app
from flask_babel import force_locale, format_date, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from opsapp.accounts.models import Membership, User
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page
from opsapp.core.permissions import require
from opsapp.core.timeutil import format_in_zone, to_local, utcnow
from opsapp.events import conflicts, permissions, scheduling, states
from opsapp.events.models import (
    Event,
    EventPhase,
    EventSlot,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    ScheduleRunStatus,
    Side,
    participant_unavailable_slots,
)
from opsapp.events.pages import EventError
from opsapp.extensions import db

log = logging.getLogger(__name__)

# Phases in which staff change the grid; agendas are public in the last two.
CHANGEABLE = (EventPhase.SCHEDULING, EventPhase.AGENDAS_PUBLISHED, EventPhase.EVENT_DAY)
PUBLISHED = (EventPhase.AGENDAS_PUBLISHED, EventPhase.EVENT_DAY)
# A run still "running" after this long was lost (the server restarted): it no longer blocks.
RUN_STALE_AFTER = timedelta(minutes=15)
DEFAULT_TIME_LIMIT = 10.0
REASON_MAX = 1000
WAITING_PER_PAGE = 50
FIRST_FREE = 0  # the table choice "the first free table"

LIVE = Meeting.status != MeetingStatus.CANCELLED.value


# --- small helpers ----------------------------------------------------------------------------


def _phase(event: Event) -> EventPhase:
    return EventPhase(event.phase)


def limit_of(event: Event, participant: Participant) -> int | None:
    """The most meetings the participant may have: its own limit, or the event's for its side."""
    if participant.max_meetings is not None:
        return participant.max_meetings
    return event.sme_max_meetings if participant.side == Side.SME.value else event.buyer_max_meetings


def _key_id(key: str) -> int:
    return int(key[1:])


def request_key(request_id: int) -> str:
    return f"r{request_id}"


def _require_staff(actor) -> None:
    require(permissions.is_staff(actor))


def _when(event: Event, slot: EventSlot) -> str:
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


def _path(endpoint: str, **values) -> str:
    from opsapp.calls.design import path_for

    return path_for(endpoint, **values)


def people_of(participant: Participant) -> list[User]:
    """The active members of the participant's organisation: they hear about its agenda."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == participant.organisation_id, User.disabled_at.is_(None),
               User.erased_at.is_(None))
        .order_by(User.id)))


def _agenda_link(event: Event) -> str:
    try:
        return _path("events.agenda", event_id=event.id)
    except Exception:  # noqa: BLE001 - the agenda page may not exist yet
        return _path("events.schedule_status", event_id=event.id)


def _slot_of(event: Event, slot_id) -> EventSlot:
    slot = db.session.get(EventSlot, slot_id) if slot_id else None
    if slot is None or slot.event_id != event.id:
        raise EventError(_("Choose a slot of this event."), field="slot")
    return slot


# --- the problem ------------------------------------------------------------------------------


def _slots(event: Event) -> list[EventSlot]:
    return list(db.session.scalars(select(EventSlot).where(EventSlot.event_id == event.id)
                                   .order_by(EventSlot.starts_at, EventSlot.id)))


def _participants(event: Event) -> list[Participant]:
    return list(db.session.scalars(select(Participant).where(Participant.event_id == event.id)
                                   .options(joinedload(Participant.organisation)).order_by(Participant.id)))


def _unavailable(participant_ids=None, event: Event | None = None) -> dict[int, set[int]]:
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


def _live_meetings(event: Event) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.event_id == event.id, LIVE)
                                   .options(joinedload(Meeting.request)).order_by(Meeting.id)))


def _cancelled_request_ids(event: Event) -> set[int]:
    """Requests with a meeting cancelled by someone (not replaced by a run) and no live one: no
    automatic new meeting for them."""
    live = select(Meeting.request_id).where(Meeting.event_id == event.id, LIVE)
    return set(db.session.scalars(select(Meeting.request_id).where(
        Meeting.event_id == event.id, Meeting.status == MeetingStatus.CANCELLED.value,
        Meeting.replaced_by_run_id.is_(None), Meeting.request_id.not_in(live))))


def _is_fixed(meeting: Meeting) -> bool:
    """A meeting the scheduler keeps where it is: locked, or already held or reported."""
    return meeting.locked or meeting.status != MeetingStatus.SCHEDULED.value


def build_problem(event: Event) -> scheduling.Problem:
    """The event as the scheduler's problem: slots (the event's tables each), the participants
    who have not withdrawn (available in every slot but those they cannot attend, with their
    own or their side's limit), the accepted requests between them (with their priorities,
    except those whose meeting was cancelled) and the locked meetings as `locked`.

    A locked meeting is kept even where it now breaks a rule (a side marked its slot
    unavailable afterwards): its participants count as available there and their limit is
    at least their locked meetings, so the solver works around it and the grid shows the
    conflict."""
    slots = _slots(event)
    every = frozenset(s.key for s in slots)
    slot_key = {s.id: s.key for s in slots}
    participants = _participants(event)
    by_id = {p.id: p for p in participants}
    active = {p.id for p in participants if p.status != ParticipantStatus.WITHDRAWN.value}
    unavailable = _unavailable(event=event)
    fixed = [m for m in _live_meetings(event) if _is_fixed(m)]
    fixed_slots: dict[int, set[str]] = defaultdict(set)
    for m in fixed:
        fixed_slots[m.sme_id].add(slot_key[m.slot_id])
        fixed_slots[m.buyer_id].add(slot_key[m.slot_id])
    cancelled = _cancelled_request_ids(event)
    accepted = db.session.scalars(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id, MeetingRequest.status == RequestStatus.ACCEPTED.value)
        .order_by(MeetingRequest.id))
    requests = {r.id: r for r in accepted
                if r.sme_id in active and r.buyer_id in active and r.id not in cancelled}
    for m in fixed:
        requests.setdefault(m.request_id, m.request)
    people = active | set(fixed_slots)
    specs = []
    for pid in sorted(people):
        p = by_id[pid]
        locked_here = fixed_slots.get(pid, set())
        available = (every - {slot_key[s] for s in unavailable.get(pid, ()) if s in slot_key}) | locked_here
        if pid in active:
            most = limit_of(event, p)
            most = None if most is None else max(most, len(locked_here))
        else:
            most = len(locked_here)  # withdrawn: keeps its locked meetings, gets no new one
        specs.append(scheduling.Participant(p.key, p.side, frozenset(available), most))
    return scheduling.Problem(
        slots=tuple(scheduling.Slot(s.key, s.starts_at, s.ends_at, event.table_count) for s in slots),
        participants=tuple(specs),
        requests=tuple(scheduling.MeetingRequest(request_key(r.id), by_id[r.sme_id].key, by_id[r.buyer_id].key,
                                                 r.priority) for _, r in sorted(requests.items())),
        locked=tuple(scheduling.Meeting(request_key(m.request_id), slot_key[m.slot_id], m.table_number)
                     for m in sorted(fixed, key=lambda m: m.id)),
    )


# --- runs ---------------------------------------------------------------------------------------


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


def _refuse_while_running(event: Event) -> None:
    if running_run(event) is not None:
        raise EventError(_("The scheduler is running on this event: wait for it to finish, then try again."))


def _lock_event(event: Event) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


def start_run(actor, event: Event) -> ScheduleRun:
    """A new run, recorded as running: scheduling phase only, one at a time per event."""
    _require_staff(actor)
    _lock_event(event)
    if _phase(event) is not EventPhase.SCHEDULING:
        raise EventError(_("The scheduler runs in the scheduling phase only; this event is in the phase "
                           "\"%(phase)s\".", phase=_phase(event).label))
    _refuse_while_running(event)
    for stale in db.session.scalars(select(ScheduleRun).where(
            ScheduleRun.event_id == event.id, ScheduleRun.status == ScheduleRunStatus.RUNNING.value)):
        stale.status, stale.finished_at = ScheduleRunStatus.FAILED.value, utcnow()
        stale.error = "interrupted: the run did not finish"
    bad = [m for m in _live_meetings(event) if _is_fixed(m) and not 1 <= m.table_number <= event.table_count]
    if bad:
        raise EventError(_("A locked meeting sits at table %(table)s, but the event has %(n)d tables: move it "
                           "or unlock it first.", table=bad[0].table_number, n=event.table_count))
    schedule_run = ScheduleRun(event_id=event.id, started_by_id=actor.id, status=ScheduleRunStatus.RUNNING.value)
    db.session.add(schedule_run)
    db.session.flush()
    audit.record("events.schedule_run_started", schedule_run, actor=actor, event_id=event.id)
    return schedule_run


def run(actor, event: Event, time_limit: float = DEFAULT_TIME_LIMIT) -> ScheduleRun:
    """Run the scheduler now and put its schedule in place (the caller commits).

    Refused (EventError) outside the scheduling phase or while another run is going on; a
    problem the solver refuses ends as a failed run with its message."""
    schedule_run = start_run(actor, event)
    problem = build_problem(event)
    try:
        schedule = scheduling.solve(problem, time_limit)
    except Exception as error:  # noqa: BLE001 - a failed run is recorded, not a 500
        log.exception("scheduler failed on event %s", event.id)
        _fail(schedule_run, event, actor, error)
        return schedule_run
    _apply(schedule_run, event, problem, schedule, actor)
    return schedule_run


def execute_run(run_id: int, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
    """Solve and apply a started run, outside any request (a background thread with its own
    application context). Commits: the read is ended before solving, so no lock is held
    while the solver works, and the schedule is applied only if the problem is unchanged."""
    try:
        schedule_run = db.session.get(ScheduleRun, run_id)
        event = db.session.get(Event, schedule_run.event_id)
        problem = build_problem(event)
        db.session.rollback()  # end the read: SQLite keeps its write lock for a transaction's length
        try:
            schedule = scheduling.solve(problem, time_limit)
        except Exception as error:  # noqa: BLE001
            log.exception("scheduler failed on event %s", schedule_run.event_id)
            schedule_run = db.session.get(ScheduleRun, run_id)
            _fail(schedule_run, schedule_run_event(schedule_run), _starter(schedule_run), error)
            db.session.commit()
            return
        schedule_run = db.session.get(ScheduleRun, run_id)
        event = db.session.get(Event, schedule_run.event_id)
        _lock_event(event)
        actor = _starter(schedule_run)
        if schedule_run.status != ScheduleRunStatus.RUNNING.value:
            db.session.rollback()
            return
        if _phase(event) is not EventPhase.SCHEDULING or build_problem(event) != problem:
            _fail(schedule_run, event, actor, None, message=_l(
                "The event changed while the scheduler was running (requests, availability or locked "
                "meetings): run it again."))
        else:
            _apply(schedule_run, event, problem, schedule, actor)
        db.session.commit()
    except Exception:  # noqa: BLE001 - whatever happens, the run must not stay "running"
        log.exception("schedule run %s failed", run_id)
        db.session.rollback()
        schedule_run = db.session.get(ScheduleRun, run_id)
        if schedule_run is not None and schedule_run.status == ScheduleRunStatus.RUNNING.value:
            schedule_run.status, schedule_run.finished_at = ScheduleRunStatus.FAILED.value, utcnow()
            schedule_run.error = "unexpected error"
            db.session.commit()


def schedule_run_event(schedule_run: ScheduleRun) -> Event:
    return db.session.get(Event, schedule_run.event_id)


def _starter(schedule_run: ScheduleRun) -> User | None:
    return db.session.get(User, schedule_run.started_by_id) if schedule_run.started_by_id else None


def _fail(schedule_run: ScheduleRun, event: Event, actor, error: Exception | None, message=None) -> None:
    text = str(message) if message is not None else (
        str(error) if isinstance(error, scheduling.ProblemError) else "unexpected error")
    schedule_run.status = ScheduleRunStatus.FAILED.value
    schedule_run.finished_at = utcnow()
    schedule_run.error = text[:1000]
    db.session.flush()
    audit.record("events.schedule_run_failed", schedule_run, actor=actor, event_id=event.id, error=text)
    _tell_starter(schedule_run, event, actor)


def _apply(schedule_run: ScheduleRun, event: Event, problem: scheduling.Problem, schedule: scheduling.Schedule,
           actor) -> None:
    """In the current transaction: unlocked scheduled meetings replaced by the schedule's,
    reasons written, the run's figures recorded and audited, the starter told."""
    fixed = {m.request for m in problem.locked}
    specs = {r.id: r for r in problem.requests}
    try:
        with db.session.begin_nested():
            replaced = (Meeting.event_id == event.id, Meeting.status == MeetingStatus.SCHEDULED.value,
                        Meeting.locked.is_(False))
            if event.agendas_published_at is None:
                db.session.execute(delete(Meeting).where(*replaced).execution_options(synchronize_session="fetch"))
            else:  # participants may have imported them: cancelled, so that their calendars drop them
                db.session.execute(update(Meeting).where(*replaced).values(
                    status=MeetingStatus.CANCELLED.value, cancelled_at=utcnow(), replaced_by_run_id=schedule_run.id,
                ).execution_options(synchronize_session="fetch"))
            for m in schedule.meetings:
                if m.request in fixed:
                    continue
                spec = specs[m.request]
                db.session.add(Meeting(event_id=event.id, request_id=_key_id(m.request), slot_id=_key_id(m.slot),
                                       table_number=m.table, sme_id=_key_id(spec.sme), buyer_id=_key_id(spec.buyer),
                                       status=MeetingStatus.SCHEDULED.value, locked=False))
            db.session.flush()
    except IntegrityError:
        _fail(schedule_run, event, actor, None, message=_l(
            "The grid changed while the schedule was being saved: run the scheduler again."))
        return
    placed = {_key_id(m.request) for m in schedule.meetings}
    with force_locale(getattr(actor, "locale", None) or str(get_locale() or "en")):
        _write_reasons(event, placed)
    schedule_run.status = ScheduleRunStatus.DONE.value
    schedule_run.finished_at = utcnow()
    schedule_run.requests = len(problem.requests)
    schedule_run.scheduled = len(schedule.meetings)
    schedule_run.objective = schedule.objective
    schedule_run.upper_bound = schedule.upper_bound
    schedule_run.optimal = bool(schedule.optimal)
    schedule_run.seconds = round(schedule.seconds, 3)
    schedule_run.error = None
    db.session.flush()
    audit.record("events.schedule_run", schedule_run, actor=actor, event_id=event.id,
                 requests=schedule_run.requests, scheduled=schedule_run.scheduled, locked=len(fixed),
                 objective=schedule.objective, upper_bound=schedule.upper_bound, optimal=schedule_run.optimal,
                 seconds=schedule_run.seconds, method=schedule.method)
    _tell_starter(schedule_run, event, actor)


def _write_reasons(event: Event, placed: set[int]) -> None:
    """Each accepted request's `unscheduled_reason`: None when it has a meeting, else why not."""
    state = GridState.load(event)
    with_meeting = {m.request_id for m in state.meetings}
    cancelled = _cancelled_request_ids(event)
    for request in db.session.scalars(select(MeetingRequest).where(
            MeetingRequest.event_id == event.id, MeetingRequest.status == RequestStatus.ACCEPTED.value)):
        if request.id in with_meeting or request.id in placed:
            request.unscheduled_reason = None
        else:
            request.unscheduled_reason = state.reason(request, cancelled=request.id in cancelled)[:1000]
    db.session.flush()


def _tell_starter(schedule_run: ScheduleRun, event: Event, actor) -> None:
    if actor is None:
        return
    if schedule_run.status == ScheduleRunStatus.DONE.value:
        subject = _l("Schedule ready for %(event)s", event=event.name)
    else:
        subject = _l("The scheduler could not finish on %(event)s", event=event.name)
    notify(actor, subject, "meeting_schedule_run", link=_path("events.schedule", event_id=event.id),
           event_name=event.name, schedule_run=schedule_run, done=schedule_run.status == ScheduleRunStatus.DONE.value,
           gap=run_gap(schedule_run))


def run_gap(schedule_run: ScheduleRun | None) -> float | None:
    """How far the run's objective may be from the best possible, in percent of the bound."""
    if schedule_run is None or schedule_run.objective is None or not schedule_run.upper_bound:
        return None
    return max(0.0, 100.0 * (schedule_run.upper_bound - schedule_run.objective) / schedule_run.upper_bound)


def run_summary(schedule_run: ScheduleRun | None) -> str | None:
    """"412 of 430 accepted requests scheduled; objective 1,183, proved optimal"."""
    if schedule_run is None or schedule_run.status != ScheduleRunStatus.DONE.value:
        return None
    text = ngettext("%(scheduled)s of %(total)s accepted request scheduled",
                    "%(scheduled)s of %(total)s accepted requests scheduled", schedule_run.requests,
                    scheduled=format_decimal(schedule_run.scheduled), total=format_decimal(schedule_run.requests))
    objective = format_decimal(schedule_run.objective or 0)
    if schedule_run.optimal:
        quality = _("objective %(objective)s, proved optimal", objective=objective)
    elif run_gap(schedule_run) is not None:
        quality = _("objective %(objective)s, within %(gap)s%% of the bound (%(bound)s)", objective=objective,
                    gap=format_decimal(round(run_gap(schedule_run), 1)), bound=format_decimal(schedule_run.upper_bound))
    else:
        quality = _("objective %(objective)s", objective=objective)
    return f"{text}; {quality}"


# --- the grid as it stands -----------------------------------------------------------------------


def _placed(m: Meeting) -> conflicts.Placed:
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
        slots = _slots(event)
        participants = {p.id: p for p in _participants(event)}
        every = frozenset(s.id for s in slots)
        unavailable = _unavailable(event=event)
        rules = conflicts.Rules(
            tables={s.id: event.table_count for s in slots},
            available={pid: every - unavailable.get(pid, set()) for pid in participants},
            max_meetings={pid: limit_of(event, p) for pid, p in participants.items()})
        return cls(event, slots, participants, _live_meetings(event), rules)

    @property
    def placed(self) -> list[conflicts.Placed]:
        return [_placed(m) for m in self.meetings]

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


def _conflict_message(c: conflicts.Conflict, event: Event, participants: dict[int, Participant],
                      slots: dict[int, EventSlot], refusal: bool) -> str:
    name = participants[c.participant].name if c.participant in participants else ""
    when = _when(event, slots[c.slot]) if c.slot in slots else ""
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


# --- the grid page --------------------------------------------------------------------------------


@dataclass
class Cell:
    table: int
    meeting: Meeting | None = None
    conflict: bool = False


@dataclass
class Row:
    slot: EventSlot
    label: str
    cells: list[Cell]


@dataclass
class Day:
    label: str
    zone: str
    rows: list[Row]


@dataclass
class ConflictLine:
    message: str
    meetings: list[Meeting]


@dataclass
class Waiting:
    """An accepted request without a live meeting, why, and where it could go."""

    request: MeetingRequest
    reason: str
    options: list[tuple[EventSlot, list[int]]] = field(default_factory=list)

    @property
    def tables(self) -> list[int]:
        return sorted({t for _, tables in self.options for t in tables})


@dataclass
class GridPage:
    event: Event
    days: list[Day]
    tables: list[tuple[int, str]]
    conflicts: list[ConflictLine]
    conflicted: set[int]
    off_grid: list[Meeting]  # meetings at a table the event no longer has
    waiting: Page
    last_run: ScheduleRun | None
    running: ScheduleRun | None
    can_change: bool
    can_run: bool
    meeting_count: int
    participants: dict[int, Participant]

    @property
    def summary(self) -> str | None:
        return run_summary(self.last_run)


def _waiting_requests(event: Event, state: GridState) -> list[MeetingRequest]:
    with_meeting = {m.request_id for m in state.meetings}
    active = {pid for pid, p in state.participants.items() if p.status != ParticipantStatus.WITHDRAWN.value}
    rows = db.session.scalars(select(MeetingRequest).where(
        MeetingRequest.event_id == event.id, MeetingRequest.status == RequestStatus.ACCEPTED.value)
        .order_by(MeetingRequest.priority.desc(), MeetingRequest.created_at, MeetingRequest.id))
    return [r for r in rows if r.id not in with_meeting and r.sme_id in active and r.buyer_id in active]


def grid_page(actor, event: Event, page: int = 1) -> GridPage:
    """Everything the staff's grid shows, in a handful of queries whatever the event's size."""
    _require_staff(actor)
    state = GridState.load(event)
    slots = {s.id: s for s in state.slots}
    found = conflicts.find(state.placed, state.rules)
    by_id = {m.id: m for m in state.meetings}
    conflicted = {mid for c in found for mid in c.meetings}
    lines = [ConflictLine(_conflict_message(c, event, state.participants, slots, refusal=False),
                          [by_id[mid] for mid in c.meetings]) for c in found]
    at = {(m.slot_id, m.table_number): m for m in state.meetings}
    days: list[Day] = []
    for slot in state.slots:
        local = to_local(slot.starts_at, event.timezone)
        label = format_date(local.date(), "full")
        if not days or days[-1].label != label:
            days.append(Day(label, local.tzname() or "", []))
        cells = []
        for n in range(1, event.table_count + 1):
            meeting = at.get((slot.id, n))
            cells.append(Cell(n, meeting, meeting is not None and meeting.id in conflicted))
        days[-1].rows.append(Row(slot, slot_label(event, slot), cells))
    off_grid = [m for m in state.meetings if not 1 <= m.table_number <= event.table_count]
    waiting = _waiting_requests(event, state)
    total = len(waiting)
    pages = max(1, -(-total // WAITING_PER_PAGE))
    page = min(max(1, page), pages)
    shown = waiting[(page - 1) * WAITING_PER_PAGE: page * WAITING_PER_PAGE]
    cancelled = _cancelled_request_ids(event) if shown else set()
    can_change = _phase(event) in CHANGEABLE
    now = utcnow()
    future = [s.id for s in state.slots if s.starts_at > now]
    items = []
    for request in shown:
        item = Waiting(request, state.reason(request, cancelled=request.id in cancelled))
        if can_change:
            options = conflicts.open_slots(request.sme_id, request.buyer_id, state.board, state.rules, future)
            item.options = [(slots[s], tables) for s, tables in options.items()]
        items.append(item)
    current = last_run(event)
    running = running_run(event)
    return GridPage(
        event=event, days=days, tables=[(n, event.table_name(n)) for n in range(1, event.table_count + 1)],
        conflicts=lines, conflicted=conflicted, off_grid=off_grid,
        waiting=Page(items, total, page, WAITING_PER_PAGE), last_run=current, running=running,
        can_change=can_change, can_run=_phase(event) is EventPhase.SCHEDULING and running is None,
        meeting_count=len(state.meetings), participants=state.participants)


@dataclass
class MeetingPage:
    meeting: Meeting
    event: Event
    slot_options: list[tuple[EventSlot, list[int]]]
    swap_options: list[Meeting]
    conflicts: list[str]
    can_change: bool
    running: bool

    @property
    def tables(self) -> list[int]:
        return sorted({t for _, tables in self.slot_options for t in tables})


def meeting_or_404(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def meeting_page(actor, meeting: Meeting) -> MeetingPage:
    """One meeting for staff: where it can move, whom it can swap with, its conflicts."""
    _require_staff(actor)
    event = meeting.event
    state = GridState.load(event)
    slots = {s.id: s for s in state.slots}
    placed = state.placed
    live = meeting.status == MeetingStatus.SCHEDULED.value
    can_change = _phase(event) in CHANGEABLE and live and meeting.slot.starts_at > utcnow()
    slot_options, swap_options = [], []
    if can_change:
        future = [s.id for s in state.slots if s.starts_at > utcnow()]
        options = conflicts.open_slots(meeting.sme_id, meeting.buyer_id, placed, state.rules, future,
                                       ignore={meeting.id}, adding=False)
        for s, tables in options.items():
            if s == meeting.slot_id:
                tables = [t for t in tables if t != meeting.table_number]
            if tables:
                slot_options.append((slots[s], tables))
        me = _placed(meeting)
        by_id = {m.id: m for m in state.meetings}
        candidates = [p for p in placed if by_id[p.id].status == MeetingStatus.SCHEDULED.value
                      and slots[p.slot].starts_at > utcnow()]
        swap_options = [by_id[i] for i in conflicts.swappable(me, candidates, state.rules)]
        swap_options.sort(key=lambda m: (slots[m.slot_id].starts_at, m.table_number))
    mine = [c for c in conflicts.find(placed, state.rules) if meeting.id in c.meetings]
    return MeetingPage(meeting, event, slot_options, swap_options,
                       [_conflict_message(c, event, state.participants, slots, refusal=False) for c in mine],
                       can_change, running_run(event) is not None)


# --- changing the grid ----------------------------------------------------------------------------


def _check_changeable(event: Event) -> None:
    if _phase(event) not in CHANGEABLE:
        raise EventError(_("The grid can be changed in the scheduling phase, once agendas are published and on "
                           "the event day; this event is in the phase \"%(phase)s\".", phase=_phase(event).label))
    _refuse_while_running(event)


def _check_movable(meeting: Meeting, now=None) -> None:
    now = now or utcnow()
    if meeting.status != MeetingStatus.SCHEDULED.value:
        raise EventError(_("This meeting is %(status)s: it can no longer change.",
                           status=meeting.status_enum.label.lower()))
    if meeting.slot.starts_at <= now:
        raise EventError(_("This meeting has already started: it can no longer move."))


def _lock_rows(participant_ids, slot_ids) -> None:
    """Row locks on the participants and slots a change concerns (PostgreSQL), always in the same
    order so that two changes never wait for each other. SQLite lets one writer in at a time."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.execute(select(Participant.id).where(Participant.id.in_(sorted(set(participant_ids))))
                       .order_by(Participant.id).with_for_update())
    db.session.execute(select(EventSlot.id).where(EventSlot.id.in_(sorted(set(slot_ids))))
                       .order_by(EventSlot.id).with_for_update())


def _neighbourhood(event: Event, participant_ids, slot_ids) -> tuple[list[conflicts.Placed], conflicts.Rules]:
    """The live meetings that can conflict with a change (the participants' and the slots'), read
    after the row locks, and the rules of those participants."""
    participant_ids, slot_ids = set(participant_ids), set(slot_ids)
    rows = db.session.execute(select(Meeting.id, Meeting.slot_id, Meeting.table_number, Meeting.sme_id,
                                     Meeting.buyer_id).where(
        Meeting.event_id == event.id, LIVE,
        (Meeting.sme_id.in_(participant_ids) | Meeting.buyer_id.in_(participant_ids)
         | Meeting.slot_id.in_(slot_ids))))
    placed = [conflicts.Placed(*row) for row in rows]
    every = frozenset(db.session.scalars(select(EventSlot.id).where(EventSlot.event_id == event.id)))
    unavailable = _unavailable(participant_ids)
    people = db.session.scalars(select(Participant).where(Participant.id.in_(participant_ids)))
    rules = conflicts.Rules(
        tables={s: event.table_count for s in every},
        available={pid: every - unavailable.get(pid, set()) for pid in participant_ids},
        max_meetings={p.id: limit_of(event, p) for p in people})
    return placed, rules


def _refuse_conflicts(event: Event, before, after, rules, field_name: str = "slot") -> None:
    new = conflicts.introduced(before, after, rules)
    if not new:
        return
    ids = {c.participant for c in new if c.participant is not None}
    participants = {p.id: p for p in db.session.scalars(
        select(Participant).where(Participant.id.in_(ids)).options(joinedload(Participant.organisation)))}
    slot_ids = {c.slot for c in new if c.slot is not None}
    slots = {s.id: s for s in db.session.scalars(select(EventSlot).where(EventSlot.id.in_(slot_ids)))}
    raise EventError(_conflict_message(new[0], event, participants, slots, refusal=True), field=field_name)


def _saved(change) -> None:
    """Apply a change in a savepoint: a unique index refusing it means someone was faster."""
    try:
        with db.session.begin_nested():
            change()
            db.session.flush()
    except IntegrityError:
        raise EventError(_("That slot was taken a moment ago; the grid has been refreshed.")) from None


def _pick_table(placed, slot_id: int, table: int | None, tables: int, ignore=()) -> int:
    if table and table != FIRST_FREE:
        return table
    free = conflicts.free_tables(placed, slot_id, tables, ignore)
    if not free:
        raise EventError(_("Every table is taken in that slot."), field="table")
    return free[0]


def _check_target(event: Event, slot: EventSlot, table: int | None) -> None:
    if slot.starts_at <= utcnow():
        raise EventError(_("That slot has already started: choose a later one."), field="slot")
    if table and table != FIRST_FREE and not 1 <= table <= event.table_count:
        raise EventError(ngettext("Choose a table between 1 and %(num)d.", "Choose a table between 1 and %(num)d.",
                                  event.table_count), field="table")


def move(actor, meeting: Meeting, slot: EventSlot | int, table: int | None) -> Meeting:
    """Put the meeting at another slot and table (table 0 or None: the first free one)."""
    _require_staff(actor)
    event = meeting.event
    _check_changeable(event)
    _check_movable(meeting)
    slot = slot if isinstance(slot, EventSlot) else _slot_of(event, slot)
    if slot.event_id != event.id:
        raise EventError(_("Choose a slot of this event."), field="slot")
    _check_target(event, slot, table)
    _lock_rows([meeting.sme_id, meeting.buyer_id], sorted({meeting.slot_id, slot.id}))
    before, rules = _neighbourhood(event, [meeting.sme_id, meeting.buyer_id], [meeting.slot_id, slot.id])
    table = _pick_table(before, slot.id, table, event.table_count, ignore={meeting.id})
    old_slot, old_table = meeting.slot, meeting.table_number
    if slot.id == old_slot.id and table == old_table:
        raise EventError(_("The meeting is already there."), field="slot")
    after = [p for p in before if p.id != meeting.id] + [
        conflicts.Placed(meeting.id, slot.id, table, meeting.sme_id, meeting.buyer_id)]
    _refuse_conflicts(event, before, after, rules)

    def change():
        meeting.slot_id, meeting.table_number = slot.id, table

    _saved(change)
    db.session.refresh(meeting)
    audit.record("events.meeting_moved", meeting, actor=actor, event_id=event.id, from_slot=old_slot.id,
                 from_table=old_table, to_slot=slot.id, to_table=table)
    if _phase(event) in PUBLISHED:
        _tell_sides(meeting, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_slot,
                    old_table=event.table_name(old_table))
    return meeting


def swap(actor, a: Meeting, b: Meeting) -> tuple[Meeting, Meeting]:
    """Exchange the slots and tables of two meetings of one event."""
    _require_staff(actor)
    event = a.event
    if b is None or b.event_id != a.event_id or b.id == a.id:
        raise EventError(_("Choose another meeting of this event to swap with."), field="other")
    _check_changeable(event)
    _check_movable(a)
    _check_movable(b)
    people = [a.sme_id, a.buyer_id, b.sme_id, b.buyer_id]
    _lock_rows(people, [a.slot_id, b.slot_id])
    before, rules = _neighbourhood(event, people, [a.slot_id, b.slot_id])
    # Read again after the locks: either meeting may have moved meanwhile.
    now = {p.id: p for p in before}
    if a.id not in now or b.id not in now:
        raise EventError(_("That slot was taken a moment ago; the grid has been refreshed."))
    pa, pb = now[a.id], now[b.id]
    after = [p for p in before if p.id not in (a.id, b.id)] + [
        conflicts.Placed(a.id, pb.slot, pb.table, a.sme_id, a.buyer_id),
        conflicts.Placed(b.id, pa.slot, pa.table, b.sme_id, b.buyer_id)]
    _refuse_conflicts(event, before, after, rules, field_name="other")
    old_a, old_b = (a.slot, a.table_number), (b.slot, b.table_number)

    def change():
        # The unique indexes see each row as it is written: step a aside first (a cancelled
        # meeting is outside them), inside this transaction only.
        a.status = MeetingStatus.CANCELLED.value
        db.session.flush()
        b.slot_id, b.table_number = pa.slot, pa.table
        db.session.flush()
        a.slot_id, a.table_number, a.status = pb.slot, pb.table, MeetingStatus.SCHEDULED.value

    _saved(change)
    db.session.refresh(a)
    db.session.refresh(b)
    audit.record("events.meetings_swapped", a, actor=actor, event_id=event.id, other=b.id,
                 a_slot=a.slot_id, a_table=a.table_number, b_slot=b.slot_id, b_table=b.table_number)
    if _phase(event) in PUBLISHED:
        _tell_sides(a, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_a[0],
                    old_table=event.table_name(old_a[1]))
        _tell_sides(b, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_b[0],
                    old_table=event.table_name(old_b[1]))
    return a, b


def set_lock(actor, meeting: Meeting, locked: bool) -> Meeting:
    """Lock a meeting (a re-run of the scheduler keeps it where it is) or unlock it."""
    _require_staff(actor)
    event = meeting.event
    _check_changeable(event)
    if meeting.status != MeetingStatus.SCHEDULED.value:
        raise EventError(_("This meeting is %(status)s: it can no longer change.",
                           status=meeting.status_enum.label.lower()))
    if bool(meeting.locked) == bool(locked):
        return meeting
    meeting.locked = bool(locked)
    db.session.flush()
    audit.record("events.meeting_locked" if locked else "events.meeting_unlocked", meeting, actor=actor,
                 event_id=event.id)
    return meeting


def _check_placeable_request(event: Event, request: MeetingRequest) -> None:
    if request.status != RequestStatus.ACCEPTED.value:
        raise EventError(_("Only an accepted request can get a meeting."))
    for side in (request.sme, request.buyer):
        if side.status == ParticipantStatus.WITHDRAWN.value:
            raise EventError(_("%(name)s has withdrawn from the event.", name=side.name))


def place(actor, request: MeetingRequest, slot: EventSlot | int, table: int | None) -> Meeting:
    """A meeting for an accepted request without one, at a slot and table (0: the first free one)."""
    _require_staff(actor)
    event = request.event
    _check_changeable(event)
    _check_placeable_request(event, request)
    slot = slot if isinstance(slot, EventSlot) else _slot_of(event, slot)
    if slot.event_id != event.id:
        raise EventError(_("Choose a slot of this event."), field="slot")
    _check_target(event, slot, table)
    return _add_meeting(actor, event, request, slot, table, action="events.meeting_placed")


def _add_meeting(actor, event: Event, request: MeetingRequest, slot: EventSlot, table: int | None,
                 action: str) -> Meeting:
    _lock_rows([request.sme_id, request.buyer_id], [slot.id])
    if db.session.scalar(select(Meeting.id).where(Meeting.request_id == request.id, LIVE)) is not None:
        raise EventError(_("This request already has a meeting."))
    before, rules = _neighbourhood(event, [request.sme_id, request.buyer_id], [slot.id])
    table = _pick_table(before, slot.id, table, event.table_count)
    new_key = ("new", request.id)
    after = [*before, conflicts.Placed(new_key, slot.id, table, request.sme_id, request.buyer_id)]
    _refuse_conflicts(event, before, after, rules)
    meeting = Meeting(event_id=event.id, request_id=request.id, slot_id=slot.id, table_number=table,
                      sme_id=request.sme_id, buyer_id=request.buyer_id, status=MeetingStatus.SCHEDULED.value)

    def change():
        db.session.add(meeting)

    _saved(change)
    request.unscheduled_reason = None
    db.session.flush()
    audit.record(action, meeting, actor=actor, event_id=event.id, request_id=request.id, slot=slot.id,
                 table=table)
    if _phase(event) in PUBLISHED:
        _tell_sides(meeting, _l("A meeting was added to your agenda"), "meeting_added",
                    offered=action == "events.meeting_offered")
    return meeting


def can_cancel(user, meeting: Meeting, now=None) -> bool:
    """Staff while the grid can change; a member of either side once agendas are published,
    before the meeting starts."""
    now = now or utcnow()
    if meeting.status != MeetingStatus.SCHEDULED.value:
        return False
    phase = _phase(meeting.event)
    if permissions.is_staff(user):
        return phase in CHANGEABLE
    return (phase in PUBLISHED and meeting.slot.starts_at > now
            and (permissions.speaks_for(user, meeting.sme) or permissions.speaks_for(user, meeting.buyer)))


def meeting_for_cancel(user, meeting_id: int) -> Meeting:
    """The meeting, if the user is staff or a member of one of its sides; 404 otherwise."""
    meeting = meeting_or_404(meeting_id)
    if permissions.is_staff(user):
        return meeting
    if not (permissions.speaks_for(user, meeting.sme) or permissions.speaks_for(user, meeting.buyer)):
        abort(404)
    if _phase(meeting.event) not in PUBLISHED and meeting.status == MeetingStatus.SCHEDULED.value:
        abort(404)  # participants see their meetings once agendas are published
    return meeting


def cancel(actor, meeting: Meeting, reason: str) -> Meeting | None:
    """Cancel a meeting with a reason. After publication both sides are told, and the freed
    slot and table go to the best waiting request (returned, when one gets it)."""
    reason = (reason or "").strip()
    if not reason:
        raise EventError(_("Say why the meeting is cancelled."), field="reason")
    if len(reason) > REASON_MAX:
        raise EventError(_("Keep the reason under %(num)d characters.", num=REASON_MAX), field="reason")
    event = meeting.event
    staff = permissions.is_staff(actor)
    if not staff and not (permissions.speaks_for(actor, meeting.sme) or permissions.speaks_for(actor, meeting.buyer)):
        abort(404)
    if meeting.status != MeetingStatus.SCHEDULED.value:
        raise EventError(_("This meeting is %(status)s: it can no longer be cancelled.",
                           status=meeting.status_enum.label.lower()))
    if staff:
        _check_changeable(event)
    else:
        if _phase(event) not in PUBLISHED:
            raise EventError(_("Meetings can be cancelled once agendas are published."))
        if meeting.slot.starts_at <= utcnow():
            raise EventError(_("This meeting has already started: it can no longer be cancelled."))
    _lock_rows([meeting.sme_id, meeting.buyer_id], [meeting.slot_id])
    db.session.refresh(meeting)
    if meeting.status != MeetingStatus.SCHEDULED.value:
        raise EventError(_("This meeting was cancelled a moment ago."))
    states.transition(meeting, MeetingStatus.CANCELLED, actor=actor, reason=reason, late=not staff)
    meeting.cancelled_at = utcnow()
    meeting.cancel_reason = reason
    meeting.locked = False
    db.session.flush()
    audit.record("events.meeting_cancelled", meeting, actor=actor, event_id=event.id, reason=reason,
                 by_participant=not staff)
    offered = None
    if _phase(event) in PUBLISHED:
        _tell_sides(meeting, _l("A meeting of yours was cancelled"), "meeting_cancelled", reason=reason)
        offered = offer_slot(actor, event, meeting.slot, meeting.table_number, exclude={meeting.request_id})
    return offered


def offer_slot(actor, event: Event, slot: EventSlot, table: int, exclude=()) -> Meeting | None:
    """Give a freed slot and table to the best waiting request: an accepted request without a
    live meeting (and never cancelled) whose both sides can attend the slot, are free in it and
    under their maximum; the highest priority, then the oldest."""
    if slot.starts_at <= utcnow():
        return None
    state = GridState.load(event)
    if any(m.slot_id == slot.id and m.table_number == table for m in state.meetings):
        return None
    cancelled = _cancelled_request_ids(event)
    for request in _waiting_requests(event, state):
        if request.id in cancelled or request.id in exclude:
            continue
        options = conflicts.open_slots(request.sme_id, request.buyer_id, state.board, state.rules, [slot.id])
        if table in options.get(slot.id, ()):
            try:
                return _add_meeting(actor, event, request, slot, table, action="events.meeting_offered")
            except EventError:
                return None
    return None


# --- telling people -------------------------------------------------------------------------------


def _tell_sides(meeting: Meeting, subject, template: str, **context) -> int:
    event = meeting.event
    told = 0
    link = _agenda_link(event)
    for side, other in ((meeting.sme, meeting.buyer), (meeting.buyer, meeting.sme)):
        for user in people_of(side):
            if notify(user, subject, template, link=link, event_name=event.name, zone=event.timezone,
                      participant=side.name, other=other.name, slot=meeting.slot,
                      table=event.table_name(meeting.table_number), **context) is not None:
                told += 1
    return told


# --- the home panel --------------------------------------------------------------------------------


def requests_to_schedule() -> list[tuple[Event, int]]:
    """Events in the scheduling phase with their accepted requests that have no meeting yet."""
    sme = aliased(Participant)
    buyer = aliased(Participant)
    live = select(Meeting.request_id).where(LIVE, Meeting.request_id == MeetingRequest.id).exists()
    counts = db.session.execute(
        select(Event, func.count(MeetingRequest.id))
        .join(MeetingRequest, and_(MeetingRequest.event_id == Event.id,
                                   MeetingRequest.status == RequestStatus.ACCEPTED.value))
        .join(sme, sme.id == MeetingRequest.sme_id).join(buyer, buyer.id == MeetingRequest.buyer_id)
        .where(Event.phase == EventPhase.SCHEDULING.value, ~live,
               sme.status != ParticipantStatus.WITHDRAWN.value, buyer.status != ParticipantStatus.WITHDRAWN.value)
        .group_by(Event.id).order_by(Event.id))
    return [(event, n) for event, n in counts if n]


# --- background runs ------------------------------------------------------------------------------


def run_inline() -> bool:
    return bool(current_app.config.get("EVENTS_SCHEDULE_INLINE") or current_app.testing)


def configured_time_limit() -> float:
    return float(current_app.config.get("EVENTS_SCHEDULE_TIME_LIMIT", DEFAULT_TIME_LIMIT))


def run_in_background(run_id: int, limit: float | None = None):
    """Start `execute_run` in a daemon thread with its own application context and session."""
    import threading

    app = current_app._get_current_object()
    limit = configured_time_limit() if limit is None else limit

    def work():
        started = clock.perf_counter()
        with app.app_context():
            try:
                execute_run(run_id, limit)
            finally:
                db.session.remove()
        log.info("schedule run %s finished in %.1f s", run_id, clock.perf_counter() - started)

    thread = threading.Thread(target=work, name=f"schedule-run-{run_id}", daemon=True)
    thread.start()
    return thread
