"""The lifecycles of events (phases), meeting requests, meetings and contracts, in one place.

Moves go through `core.lifecycle.transition` (refused when not allowed here, audited).
Phases move forward one at a time, by the `events_phases` job when a phase's time comes
or by staff; staff may step back from scheduling to booking (to reopen requests) and
from agendas published to scheduling (to rework the grid before the day).

What each phase opens (booking, answering requests, changing the grid, the published
agendas, check-in, contracts) is said here once, as phase sets and predicates that the
services and the templates use.
"""

from __future__ import annotations

from datetime import datetime

from opsapp.core import lifecycle
from opsapp.core.timeutil import utcnow
from opsapp.events.models import ContractStatus, EventPhase, MeetingStatus, RequestStatus

P = EventPhase
PHASE_TRANSITIONS: dict[EventPhase, set[EventPhase]] = {
    P.PREPARATION: {P.BOOKING},
    P.BOOKING: {P.SCHEDULING},
    P.SCHEDULING: {P.AGENDAS_PUBLISHED, P.BOOKING},
    P.AGENDAS_PUBLISHED: {P.EVENT_DAY, P.SCHEDULING},
    P.EVENT_DAY: {P.FOLLOW_UP},
    P.FOLLOW_UP: {P.CLOSED},
    P.CLOSED: set(),
}

PHASE_ORDER = list(EventPhase)

R = RequestStatus
REQUEST_TRANSITIONS: dict[RequestStatus, set[RequestStatus]] = {
    R.PENDING: {R.ACCEPTED, R.DECLINED, R.WITHDRAWN, R.EXPIRED},
    R.ACCEPTED: {R.WITHDRAWN},
    R.DECLINED: set(),
    R.WITHDRAWN: set(),
    R.EXPIRED: set(),
}

M = MeetingStatus
MEETING_TRANSITIONS: dict[MeetingStatus, set[MeetingStatus]] = {
    M.SCHEDULED: {M.HELD, M.NO_SHOW, M.CANCELLED},
    M.HELD: {M.NO_SHOW},       # one side says afterwards that it did not happen
    M.NO_SHOW: set(),
    M.CANCELLED: set(),
}

C = ContractStatus
CONTRACT_TRANSITIONS: dict[ContractStatus, set[ContractStatus]] = {
    C.RECORDED: {C.CONFIRMED, C.REJECTED},
    C.CONFIRMED: set(),
    C.REJECTED: set(),
}

lifecycle.register(EventPhase, PHASE_TRANSITIONS, field="phase")
lifecycle.register(RequestStatus, REQUEST_TRANSITIONS)
lifecycle.register(MeetingStatus, MEETING_TRANSITIONS)
lifecycle.register(ContractStatus, CONTRACT_TRANSITIONS)

TransitionRefused = lifecycle.TransitionRefused
allowed = lifecycle.allowed
transition = lifecycle.transition


def reached(event, phase: EventPhase) -> bool:
    """Whether the event is at `phase` or later."""
    return PHASE_ORDER.index(EventPhase(event.phase)) >= PHASE_ORDER.index(phase)


# --- what each phase opens, in one place (services and templates ask these) -----------------------

# Staff plan the SMEs' training.
TRAINING_PHASES = frozenset({P.PREPARATION, P.BOOKING})
# Participants send and accept meeting requests (see `booking_open`): booking only.
BOOKING_PHASES = frozenset({P.BOOKING})
# A pending request may still be declined (staff may close the requests before the deadline) and
# the sending side may withdraw a live one: until the agendas are published.
ANSWER_PHASES = frozenset({P.BOOKING, P.SCHEDULING})
# Staff change the grid of meetings (move, swap, cancel, lock, place).
CHANGEABLE_PHASES = frozenset({P.SCHEDULING, P.AGENDAS_PUBLISHED, P.EVENT_DAY})
# The agendas are public and the meetings still to come: participants cancel their own meetings,
# both sides are told of every change to the grid, staff check participants in.
PUBLISHED_PHASES = frozenset({P.AGENDAS_PUBLISHED, P.EVENT_DAY})
# Meetings whose slot has ended are held.
HELD_PHASES = frozenset({P.EVENT_DAY, P.FOLLOW_UP})
# Supply contracts are recorded.
CONTRACT_PHASES = frozenset({P.FOLLOW_UP, P.CLOSED})


def in_phases(event, phases) -> bool:
    return EventPhase(event.phase) in phases


def training_open(event) -> bool:
    """Staff may plan training sessions (preparation and booking)."""
    return in_phases(event, TRAINING_PHASES)


def booking_open(event, now: datetime | None = None) -> bool:
    """Participants may send and accept meeting requests: in booking, before the request deadline."""
    now = now or utcnow()
    return in_phases(event, BOOKING_PHASES) and (event.request_deadline is None or event.request_deadline > now)


def agendas_published(event) -> bool:
    """Participants see their agendas: the event reached "agendas published" (and was not taken
    back to scheduling or booking)."""
    return reached(event, P.AGENDAS_PUBLISHED)


def agendas_current(event) -> bool:
    """The agendas are published and the event day not over (see `PUBLISHED_PHASES`)."""
    return in_phases(event, PUBLISHED_PHASES)


def contracts_open(event) -> bool:
    return in_phases(event, CONTRACT_PHASES)
