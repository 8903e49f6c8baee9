"""Running the scheduler on an event.

`build_problem(event)` reads the event into the pure scheduler's `Problem` (slots with the
event's tables, the participants who have not withdrawn with their availability and
limits, the accepted requests with their priorities, the locked meetings), and
`run(actor, event)` calls `scheduling.solve` (the same function as the command-line
program) and puts the result in place in one transaction: every unlocked scheduled meeting
of the event is replaced by the new ones, locked meetings stay where they are, each
accepted request left out gets its reason, and a `ScheduleRun` keeps the figures. Runs
happen in the scheduling phase only; once the agendas were published (and taken back to
rework them), a replaced meeting is kept as cancelled with `replaced_by_run_id`, so that the
participants' calendars drop it; before that it is deleted, never having been shown.

Long runs never block a page: the view calls `start_run` and then `execute_run` in a
background thread with its own application context and session (`run` does both inline,
for tests and small events). While the scheduler solves, no transaction is open, so
SQLite's write lock stays free; the result is applied only if the event's problem is still
the one solved. A failed run keeps why, in its starter's language.

A request whose meeting was cancelled stays accepted, but no run gives it a new meeting on
its own: staff place it by hand (`schedule_grid.place`) if it should take place.

Functions check rights, audit and notify, and never commit (except `execute_run`, which
runs outside any request).
"""

from __future__ import annotations

import logging
import threading
import time as clock
from collections import defaultdict

from flask import current_app
from flask_babel import force_locale, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from opsapp.accounts.models import User
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.timeutil import utcnow
from opsapp.events import scheduling
from opsapp.events.models import (
    Event,
    EventPhase,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    ScheduleRunStatus,
)
from opsapp.events.pages import EventError, path_for
from opsapp.events.schedule import (
    GridState,
    cancelled_request_ids,
    event_participants,
    event_slots,
    limit_of,
    live_meetings,
    refuse_while_running,
    require_staff,
    unavailable_slots,
)
from opsapp.extensions import db

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 10.0
# Why a run failed, kept on the run in its starter's language.
UNEXPECTED = _l("The scheduler stopped on an unexpected error: run it again.")
INTERRUPTED = _l("Interrupted: the run did not finish (the server may have restarted). Run it again.")


# --- the problem ------------------------------------------------------------------------------


def _key_id(key: str) -> int:
    return int(key[1:])


def request_key(request_id: int) -> str:
    return f"r{request_id}"


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
    slots = event_slots(event)
    every = frozenset(s.key for s in slots)
    slot_key = {s.id: s.key for s in slots}
    participants = event_participants(event)
    by_id = {p.id: p for p in participants}
    active = {p.id for p in participants if p.status != ParticipantStatus.WITHDRAWN.value}
    unavailable = unavailable_slots(event=event)
    fixed = [m for m in live_meetings(event) if _is_fixed(m)]
    fixed_slots: dict[int, set[str]] = defaultdict(set)
    for m in fixed:
        fixed_slots[m.sme_id].add(slot_key[m.slot_id])
        fixed_slots[m.buyer_id].add(slot_key[m.slot_id])
    cancelled = cancelled_request_ids(event)
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


def _lock_event(event: Event) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())


def start_run(actor, event: Event) -> ScheduleRun:
    """A new run, recorded as running: scheduling phase only, one at a time per event."""
    require_staff(actor)
    _lock_event(event)
    if event.status is not EventPhase.SCHEDULING:
        raise EventError(_("The scheduler runs in the scheduling phase only; this event is in the phase "
                           "\"%(phase)s\".", phase=event.status.label))
    refuse_while_running(event)
    for stale in db.session.scalars(select(ScheduleRun).where(
            ScheduleRun.event_id == event.id, ScheduleRun.status == ScheduleRunStatus.RUNNING.value)):
        stale.status, stale.finished_at = ScheduleRunStatus.FAILED.value, utcnow()
        stale.error = str(INTERRUPTED)
    bad = [m for m in live_meetings(event) if _is_fixed(m) and not 1 <= m.table_number <= event.table_count]
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
        if event.status is not EventPhase.SCHEDULING or build_problem(event) != problem:
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
            with force_locale(_locale_of(_starter(schedule_run))):
                schedule_run.error = str(UNEXPECTED)
            db.session.commit()


def schedule_run_event(schedule_run: ScheduleRun) -> Event:
    return db.session.get(Event, schedule_run.event_id)


def _starter(schedule_run: ScheduleRun) -> User | None:
    return db.session.get(User, schedule_run.started_by_id) if schedule_run.started_by_id else None


def _locale_of(actor) -> str:
    """The language of the run's messages: its starter's (they read them), else the page's."""
    return getattr(actor, "locale", None) or str(get_locale() or "en")


def _fail(schedule_run: ScheduleRun, event: Event, actor, error: Exception | None, message=None) -> None:
    with force_locale(_locale_of(actor)):
        text = str(message) if message is not None else (
            str(error) if isinstance(error, scheduling.ProblemError) else str(UNEXPECTED))
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
    with force_locale(_locale_of(actor)):
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
    cancelled = cancelled_request_ids(event)
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
    notify(actor, subject, "meeting_schedule_run", link=path_for("events.schedule", event_id=event.id),
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


# --- background runs ------------------------------------------------------------------------------


def run_inline() -> bool:
    return bool(current_app.config.get("EVENTS_SCHEDULE_INLINE") or current_app.testing)


def configured_time_limit() -> float:
    return float(current_app.config.get("EVENTS_SCHEDULE_TIME_LIMIT", DEFAULT_TIME_LIMIT))


def run_in_background(run_id: int, limit: float | None = None):
    """Start `execute_run` in a daemon thread with its own application context and session."""
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
