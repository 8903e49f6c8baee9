"""The lifecycles of events (phases), meeting requests, meetings and contracts, in one place.

Moves go through `core.lifecycle.transition` (refused when not allowed here, audited).
Phases move forward one at a time, by the `events_phases` job when a phase's time comes
or by staff; staff may step back from scheduling to booking (to reopen requests) and
from agendas published to scheduling (to rework the grid before the day).
"""

from __future__ import annotations

from opsapp.core import lifecycle
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


def next_phase(phase: EventPhase) -> EventPhase | None:
    """The phase that follows `phase` going forward, or None once closed."""
    index = PHASE_ORDER.index(phase)
    return PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None


def reached(event, phase: EventPhase) -> bool:
    """Whether the event is at `phase` or later."""
    return PHASE_ORDER.index(EventPhase(event.phase)) >= PHASE_ORDER.index(phase)
