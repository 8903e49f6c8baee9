"""Builders for Meet the Buyer events, through the real models (no mocks).

`make_event(days=1, phase=EventPhase.BOOKING)` gives an event with its slot grid
generated (09:00-12:00 Europe/Rome, 20-minute slots, 4 tables, so 9 slots a day);
`make_participant(event, Side.SME, user=...)` adds an organisation (with `user` as a
member) and its profile; `make_request(sme, buyer, status=RequestStatus.ACCEPTED)` a
meeting request; `make_meeting(request, slot, table)` a scheduled meeting.
"""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

from opsapp.core.timeutil import utcnow
from opsapp.events import grid
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
    Side,
)
from opsapp.extensions import db
from tests.factories import make_organisation, make_user

_seq = itertools.count(1)


def make_event(days: int = 1, phase: EventPhase = EventPhase.BOOKING, first_day: date | None = None,
               tables: int = 4, **fields) -> Event:
    n = next(_seq)
    start = first_day or (utcnow() + timedelta(days=30)).date()
    event = Event(
        name=fields.pop("name", f"Meet the Buyer test event {n}"),
        description=fields.pop("description", "One-to-one meetings between SMEs and buyers."),
        venue=fields.pop("venue", "Lingotto Fiere, Turin"),
        timezone=fields.pop("timezone", "Europe/Rome"),
        days=[(start + timedelta(days=i)).isoformat() for i in range(days)],
        day_start=fields.pop("day_start", time(9, 0)),
        day_end=fields.pop("day_end", time(12, 0)),
        slot_minutes=fields.pop("slot_minutes", 20),
        breaks=fields.pop("breaks", []),
        table_count=tables,
        phase=phase.value,
        registration_deadline=fields.pop("registration_deadline", utcnow() + timedelta(days=5)),
        booking_opens_at=fields.pop("booking_opens_at", utcnow() - timedelta(days=1)),
        request_deadline=fields.pop("request_deadline", utcnow() + timedelta(days=20)),
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    for slot in grid.generate([date.fromisoformat(d) for d in event.days], event.day_start, event.day_end,
                              event.slot_minutes, grid.parse_breaks(event.breaks), event.timezone):
        db.session.add(EventSlot(event_id=event.id, starts_at=slot.starts_at, ends_at=slot.ends_at))
    db.session.flush()
    db.session.refresh(event)
    return event


def make_participant(event: Event, side: Side = Side.SME, user=None, organisation=None, **fields) -> Participant:
    """A registered participant; `user` (made if absent) is a member of its organisation."""
    from opsapp.core.roles import Role

    if user is None:
        user = make_user(roles=(Role.APPLICANT,) if side is Side.SME else (Role.BUYER,))
    if organisation is None:
        organisation = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", members=[user])
    participant = Participant(
        event_id=event.id,
        organisation_id=organisation.id,
        side=side.value,
        status=fields.pop("status", ParticipantStatus.REGISTERED.value),
        contact_id=user.id,
        outside_region=fields.pop("outside_region", False),
        headline=fields.pop("headline", f"{organisation.legal_name}"),
        offer=fields.pop("offer", "Predictive maintenance sensors for food production lines"
                         if side is Side.SME else None),
        needs=fields.pop("needs", None if side is Side.SME else "Sensors and analytics for production lines"),
        countries=fields.pop("countries", ["IT"]),
        languages=fields.pop("languages", ["en", "it"]),
        registered_at=utcnow(),
        **fields,
    )
    db.session.add(participant)
    db.session.flush()
    return participant


def make_request(sme: Participant, buyer: Participant, status: RequestStatus = RequestStatus.ACCEPTED,
                 priority: int = 1, requested_by: Side = Side.SME, **fields) -> MeetingRequest:
    request = MeetingRequest(
        event_id=sme.event_id, sme_id=sme.id, buyer_id=buyer.id, requested_by=requested_by.value,
        priority=priority, status=status.value, message=fields.pop("message", "Shall we meet?"),
        expires_at=fields.pop("expires_at", utcnow() + timedelta(days=5)),
        answered_at=utcnow() if status is not RequestStatus.PENDING else None,
        **fields,
    )
    db.session.add(request)
    db.session.flush()
    return request


def make_meeting(request: MeetingRequest, slot: EventSlot, table: int = 1,
                 status: MeetingStatus = MeetingStatus.SCHEDULED, **fields) -> Meeting:
    meeting = Meeting(event_id=request.event_id, request_id=request.id, slot_id=slot.id, table_number=table,
                      sme_id=request.sme_id, buyer_id=request.buyer_id, status=status.value, **fields)
    db.session.add(meeting)
    db.session.flush()
    return meeting
