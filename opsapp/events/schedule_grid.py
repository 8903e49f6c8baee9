"""The staff's grid of meetings and its changes.

The page: the slots by tables per day, the conflicts, the last run's figures, the accepted
requests still without a meeting (why, and where they could go), and one meeting with where
it can move and whom it can swap with, all read in a handful of queries whatever the
event's size.

The changes: staff move, swap, cancel, lock and place meetings while the grid can change
(`states.CHANGEABLE_PHASES`: scheduling, agendas published, the event day); a member of
either side may cancel their own meeting once agendas are published (`states.PUBLISHED_PHASES`),
before it starts. Every change that puts a meeting into a slot locks the rows concerned
first (the two participants and the slot on PostgreSQL, in id order; SQLite's immediate
transactions already let one writer in at a time), re-checks the grid with the pure
`conflicts.py`, and relies on the partial unique indexes of `Meeting` as the last guard.
After publication both sides are told of every change to their agenda, and a cancellation
offers the freed slot and table to the best waiting request.

Functions check rights, change state, audit and notify, and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events import agendas, conflicts, permissions, states
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
)
from opsapp.events.pages import EventError, path_for
from opsapp.events.schedule import (
    LIVE,
    GridState,
    cancelled_request_ids,
    conflict_message,
    last_run,
    limit_of,
    meeting_or_404,
    placed_of,
    refuse_while_running,
    require_staff,
    running_run,
    slot_label,
    unavailable_slots,
)
from opsapp.events.schedule_runs import run_summary
from opsapp.extensions import db

REASON_MAX = 1000
WAITING_PER_PAGE = 50
FIRST_FREE = 0  # the table choice "the first free table"


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
    require_staff(actor)
    state = GridState.load(event)
    slots = {s.id: s for s in state.slots}
    found = conflicts.find(state.placed, state.rules)
    by_id = {m.id: m for m in state.meetings}
    conflicted = {mid for c in found for mid in c.meetings}
    lines = [ConflictLine(conflict_message(c, event, state.participants, slots, refusal=False),
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
    cancelled = cancelled_request_ids(event) if shown else set()
    can_change = states.in_phases(event, states.CHANGEABLE_PHASES)
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
        can_change=can_change, can_run=event.status is EventPhase.SCHEDULING and running is None,
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
    changeable_phase: bool  # `states.CHANGEABLE_PHASES`
    published: bool         # `states.PUBLISHED_PHASES`: both sides are told, a freed slot is offered

    @property
    def tables(self) -> list[int]:
        return sorted({t for _, tables in self.slot_options for t in tables})


def meeting_page(actor, meeting: Meeting) -> MeetingPage:
    """One meeting for staff: where it can move, whom it can swap with, its conflicts."""
    require_staff(actor)
    event = meeting.event
    state = GridState.load(event)
    slots = {s.id: s for s in state.slots}
    placed = state.placed
    live = meeting.status == MeetingStatus.SCHEDULED.value
    can_change = states.in_phases(event, states.CHANGEABLE_PHASES) and live and meeting.slot.starts_at > utcnow()
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
        me = placed_of(meeting)
        by_id = {m.id: m for m in state.meetings}
        candidates = [p for p in placed if by_id[p.id].status == MeetingStatus.SCHEDULED.value
                      and slots[p.slot].starts_at > utcnow()]
        swap_options = [by_id[i] for i in conflicts.swappable(me, candidates, state.rules)]
        swap_options.sort(key=lambda m: (slots[m.slot_id].starts_at, m.table_number))
    mine = [c for c in conflicts.find(placed, state.rules) if meeting.id in c.meetings]
    return MeetingPage(meeting, event, slot_options, swap_options,
                       [conflict_message(c, event, state.participants, slots, refusal=False) for c in mine],
                       can_change, running_run(event) is not None,
                       states.in_phases(event, states.CHANGEABLE_PHASES), states.agendas_current(event))


# --- changing the grid ----------------------------------------------------------------------------


def _slot_of(event: Event, slot_id) -> EventSlot:
    slot = db.session.get(EventSlot, slot_id) if slot_id else None
    if slot is None or slot.event_id != event.id:
        raise EventError(_("Choose a slot of this event."), field="slot")
    return slot


def _check_changeable(event: Event) -> None:
    if not states.in_phases(event, states.CHANGEABLE_PHASES):
        raise EventError(_("The grid can be changed in the scheduling phase, once agendas are published and on "
                           "the event day; this event is in the phase \"%(phase)s\".", phase=event.status.label))
    refuse_while_running(event)


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
    unavailable = unavailable_slots(participant_ids)
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
    raise EventError(conflict_message(new[0], event, participants, slots, refusal=True), field=field_name)


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
    require_staff(actor)
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
    if states.agendas_current(event):
        _tell_sides(meeting, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_slot,
                    old_table=event.table_name(old_table))
    return meeting


def swap(actor, a: Meeting, b: Meeting) -> tuple[Meeting, Meeting]:
    """Exchange the slots and tables of two meetings of one event."""
    require_staff(actor)
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
    if states.agendas_current(event):
        _tell_sides(a, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_a[0],
                    old_table=event.table_name(old_a[1]))
        _tell_sides(b, _l("A meeting of yours has moved"), "meeting_changed", old_slot=old_b[0],
                    old_table=event.table_name(old_b[1]))
    return a, b


def set_lock(actor, meeting: Meeting, locked: bool) -> Meeting:
    """Lock a meeting (a re-run of the scheduler keeps it where it is) or unlock it."""
    require_staff(actor)
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
    require_staff(actor)
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
    if states.agendas_current(event):
        _tell_sides(meeting, _l("A meeting was added to your agenda"), "meeting_added",
                    offered=action == "events.meeting_offered")
    return meeting


def can_cancel(user, meeting: Meeting, now=None) -> bool:
    """Staff while the grid can change; a member of either side once agendas are published,
    before the meeting starts."""
    now = now or utcnow()
    if meeting.status != MeetingStatus.SCHEDULED.value:
        return False
    event = meeting.event
    if permissions.is_staff(user):
        return states.in_phases(event, states.CHANGEABLE_PHASES)
    return (states.agendas_current(event) and meeting.slot.starts_at > now
            and (permissions.speaks_for(user, meeting.sme) or permissions.speaks_for(user, meeting.buyer)))


# --- cancelling and the freed slot ---------------------------------------------------------------------


def meeting_for_cancel(user, meeting_id: int) -> Meeting:
    """The meeting, if the user is staff or a member of one of its sides; 404 otherwise."""
    meeting = meeting_or_404(meeting_id)
    if permissions.is_staff(user):
        return meeting
    if not (permissions.speaks_for(user, meeting.sme) or permissions.speaks_for(user, meeting.buyer)):
        abort(404)
    if meeting.status == MeetingStatus.SCHEDULED.value:
        if not states.agendas_current(meeting.event):
            abort(404)  # participants see their meetings once agendas are published
    elif not agendas.seen_by_participants(meeting, meeting.event):
        abort(404)  # cancelled (or replaced by a run) before the agendas were first published: never shown
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
        if not states.agendas_current(event):
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
    if states.agendas_current(event):
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
    cancelled = cancelled_request_ids(event)
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


def _tell_sides(meeting: Meeting, subject, template: str, **context) -> int:
    event = meeting.event
    told = 0
    link = path_for("events.agenda", event_id=event.id)
    for side, other in ((meeting.sme, meeting.buyer), (meeting.buyer, meeting.sme)):
        for user in permissions.people_of(side):
            if notify(user, subject, template, link=link, event_name=event.name, zone=event.timezone,
                      participant=side.name, other=other.name, slot=meeting.slot,
                      table=event.table_name(meeting.table_number), **context) is not None:
                told += 1
    return told


# --- telling people -------------------------------------------------------------------------------


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


# --- the home panel --------------------------------------------------------------------------------



