"""Meeting requests of an event, their lifecycle: sending, answering, withdrawing, staff
adding them, expiry; the participant's and the staff's lists of requests and the home panel.
(The marketplace where participants find whom to ask is `marketplace.py`.)

A participant sends a request with a message and a priority (1 nice to have, 5 top
priority) to a registered participant of the other side while booking is open
(`states.booking_open`: the booking phase, before the request deadline); one live request
(pending or accepted) per SME and buyer; each side sends at most its quota of live requests
(staff are not held to quotas). The receiving side accepts while booking is open, or
declines (with an optional reason) in booking or scheduling (`states.ANSWER_PHASES`), while
the request is pending and not expired; the sending side withdraws it while pending or
accepted, in booking or scheduling, as long as no meeting holds it. Staff create requests on
either side's behalf, accepted at once when forced. Pending requests expire (`expire_due`,
the `events_request_expiry` job) at their expiry or at the request deadline.

Every status change goes through `states.transition` (audited); creations are audited
here; every change is notified to the people of the organisations concerned
(`permissions.people_of`). Functions check rights (a participant reaches only its own
requests: another's answer 404), flush and never commit; refusals raise `EventError` with
a message for the user.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Organisation
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.timeutil import utcnow
from opsapp.events import permissions, states
from opsapp.events.models import (
    LIVE_REQUEST,
    Event,
    EventPhase,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    Side,
)
from opsapp.events.pages import EventError, path_for
from opsapp.events.search import contains
from opsapp.extensions import db

MESSAGE_MAX = 500
REASON_MAX = 500

PRIORITIES = {
    1: _l("1 · Nice to have"),
    2: _l("2 · Useful"),
    3: _l("3 · Important"),
    4: _l("4 · Very important"),
    5: _l("5 · Top priority"),
}

STAFF = "staff"
REQUESTED_BY_LABELS = {Side.SME.value: _l("The SME"), Side.BUYER.value: _l("The buyer"), STAFF: _l("Staff")}


def priority_label(priority: int) -> str:
    return str(PRIORITIES.get(priority, priority))


def requested_by_label(value: str) -> str:
    return str(REQUESTED_BY_LABELS.get(value, value))


# --- who is who in a request -----------------------------------------------------------------


def side_of(request: MeetingRequest, participant: Participant) -> Side | None:
    if participant.id == request.sme_id:
        return Side.SME
    if participant.id == request.buyer_id:
        return Side.BUYER
    return None


def sender_side(request: MeetingRequest) -> Side | None:
    """The side that asked; None when staff created the request."""
    return None if request.requested_by == STAFF else Side(request.requested_by)


def receiving_sides(request: MeetingRequest) -> set[Side]:
    """Who answers: the other side; both sides when staff asked (unless already accepted for them)."""
    sender = sender_side(request)
    return {Side.SME, Side.BUYER} if sender is None else {sender.other}


def party(request: MeetingRequest, side: Side) -> Participant:
    return request.sme if side is Side.SME else request.buyer


def counterpart(request: MeetingRequest, participant: Participant) -> Participant:
    return request.buyer if participant.id == request.sme_id else request.sme


def user_sides(user, request: MeetingRequest) -> set[Side]:
    """The sides of the request the user speaks for (member of the organisation)."""
    return {side for side in Side if permissions.speaks_for(user, party(request, side))}


def can_answer(user, request: MeetingRequest, now: datetime | None = None) -> bool:
    """The user may answer the request (decline it, and accept it while `states.booking_open`):
    it is pending and not expired, the event in booking or scheduling, the user on a receiving side."""
    now = now or utcnow()
    return (request.status == RequestStatus.PENDING.value and not _expired(request, now)
            and _answer_phase(request.event) and bool(user_sides(user, request) & receiving_sides(request)))


def can_withdraw(user, request: MeetingRequest, live_meeting: bool | None = None) -> bool:
    """The sending side (or staff) may take the request back: live, before agendas are published
    and without a live meeting (`live_meeting`, when the caller knows it; else looked up)."""
    if request.status not in LIVE_REQUEST or not _answer_phase(request.event):
        return False
    if not permissions.is_staff(user):
        sender = sender_side(request)
        if sender is None or sender not in user_sides(user, request):
            return False
    return not (has_live_meeting(request) if live_meeting is None else live_meeting)


def _expired(request: MeetingRequest, now: datetime) -> bool:
    return request.expires_at is not None and request.expires_at <= now


def _answer_phase(event: Event) -> bool:
    """Requests are declined and withdrawn in booking and scheduling (`states.ANSWER_PHASES`)."""
    return states.in_phases(event, states.ANSWER_PHASES)


# --- people and notifications ------------------------------------------------------------------


def _tell(participant: Participant, subject, template: str, request: MeetingRequest, **context) -> int:
    told = 0
    link = path_for("events.requests", event_id=request.event_id)
    event = request.event
    for user in permissions.people_of(participant):
        if notify(user, subject, template, link=link, event_name=event.name, zone=event.timezone,
                  participant=participant.name, other=counterpart(request, participant).name,
                  # lazy: worded in each recipient's language
                  priority=PRIORITIES.get(request.priority, request.priority), message=request.message or "",
                  expires_at=request.expires_at, **context) is not None:
            told += 1
    return told


# --- quotas --------------------------------------------------------------------------------------


def quota_of(participant: Participant) -> int | None:
    """How many live requests the participant may have sent (None: no limit)."""
    event = participant.event
    return event.sme_request_quota if participant.side == Side.SME.value else event.buyer_request_quota


def live_sent(participant: Participant) -> int:
    column = MeetingRequest.sme_id if participant.side == Side.SME.value else MeetingRequest.buyer_id
    return db.session.scalar(
        select(func.count(MeetingRequest.id)).where(
            column == participant.id, MeetingRequest.requested_by == participant.side,
            MeetingRequest.status.in_(LIVE_REQUEST))) or 0


@dataclass
class Quota:
    limit: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def quota(participant: Participant) -> Quota:
    return Quota(quota_of(participant), live_sent(participant))


# --- sending, answering, withdrawing ---------------------------------------------------------------


def _expiry(event: Event, now: datetime) -> datetime:
    expires = now + timedelta(days=event.request_expiry_days or 1)
    if event.request_deadline is not None and event.request_deadline > now:
        expires = min(expires, event.request_deadline)
    return expires


def _check_text(message: str | None, limit: int, field_name: str) -> str | None:
    text = (message or "").strip()
    if len(text) > limit:
        raise EventError(_l("Write at most %(num)d characters (you wrote %(len)d).", num=limit, len=len(text)),
                         field=field_name)
    return text or None


def _check_priority(priority) -> int:
    try:
        value = int(priority)
    except (TypeError, ValueError):
        value = 0
    if value not in PRIORITIES:
        raise EventError(_l("Choose a priority from 1 (nice to have) to 5 (top priority)."), field="priority")
    return value


def _pair(event: Event, first: Participant, second: Participant) -> tuple[Participant, Participant]:
    """(SME, buyer) of two participants of the event on opposite sides, neither withdrawn."""
    for p in (first, second):
        if p is None or p.event_id != event.id:
            abort(404)
        if p.status == ParticipantStatus.WITHDRAWN.value:
            raise EventError(_l("%(name)s has withdrawn from the event.", name=p.name))
    if first.side == second.side:
        raise EventError(_l("A meeting is between an SME and a buyer: choose one of each."))
    return (first, second) if first.side == Side.SME.value else (second, first)


def live_request(sme: Participant, buyer: Participant) -> MeetingRequest | None:
    return db.session.scalar(select(MeetingRequest).where(
        MeetingRequest.sme_id == sme.id, MeetingRequest.buyer_id == buyer.id,
        MeetingRequest.status.in_(LIVE_REQUEST)))


def _refuse_duplicate(existing: MeetingRequest) -> None:
    if existing.status == RequestStatus.ACCEPTED.value:
        raise EventError(_l("%(sme)s and %(buyer)s already have an accepted meeting request.",
                            sme=existing.sme.name, buyer=existing.buyer.name))
    raise EventError(_l("%(sme)s and %(buyer)s already have a meeting request waiting for an answer.",
                        sme=existing.sme.name, buyer=existing.buyer.name))


def _insert(request: MeetingRequest) -> None:
    """Add the request; a concurrent live request for the same pair is refused by the unique index."""
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        raise EventError(_l("These two participants already have a live meeting request (sent a moment ago)."))\
            from None


def send(actor, event: Event, sender: Participant, receiver: Participant, message: str | None,
         priority) -> MeetingRequest:
    """A participant asks one of the other side for a meeting."""
    now = utcnow()
    if sender is None or sender.event_id != event.id or not permissions.speaks_for(actor, sender):
        abort(404)
    if receiver is None or receiver.event_id != event.id:
        abort(404)
    if event.phase != EventPhase.BOOKING.value:
        raise EventError(_l("Meeting requests can be sent only while the event is in booking; it is now in "
                            "the phase “%(phase)s”.", phase=EventPhase(event.phase).label))
    if event.request_deadline is not None and event.request_deadline <= now:
        raise EventError(_l("The deadline for meeting requests has passed."))
    sme, buyer = _pair(event, sender, receiver)
    if sender.status != ParticipantStatus.REGISTERED.value:
        raise EventError(_l("Complete your profile first: only registered participants send meeting requests."))
    if receiver.status != ParticipantStatus.REGISTERED.value:
        raise EventError(_l("%(name)s has not completed its profile yet: it cannot receive meeting requests.",
                            name=receiver.name))
    text = _check_text(message, MESSAGE_MAX, "message")
    value = _check_priority(priority)
    existing = live_request(sme, buyer)
    if existing is not None:
        _refuse_duplicate(existing)
    # Lock the sender's row (PostgreSQL) so that two requests sent at once cannot both fit the quota.
    db.session.execute(select(Participant.id).where(Participant.id == sender.id).with_for_update())
    limit = quota_of(sender)
    if limit is not None and live_sent(sender) >= limit:
        raise EventError(_l("You have used all your %(num)d meeting requests. A request that is declined, "
                            "withdrawn or expired gives one back.", num=limit))
    request = MeetingRequest(event_id=event.id, sme_id=sme.id, buyer_id=buyer.id, requested_by=sender.side,
                             requester_id=actor.id, message=text, priority=value,
                             status=RequestStatus.PENDING.value, created_at=now, expires_at=_expiry(event, now))
    _insert(request)
    db.session.refresh(request)
    audit.record("meeting_request.sent", request, actor=actor, event_id=event.id, sme_id=sme.id,
                 buyer_id=buyer.id, requested_by=sender.side, priority=value)
    _tell(receiver, _l("Meeting request from %(name)s", name=sender.name), "meeting_request_received", request,
          sender=sender.name)
    return request


def request_for(actor, request_id: int) -> MeetingRequest:
    """A request the actor may see (staff, or a member of either side); otherwise 404."""
    request = db.session.get(MeetingRequest, request_id)
    if request is None:
        abort(404)
    if not permissions.is_staff(actor) and not user_sides(actor, request):
        abort(404)
    return request


def _answerable(actor, request: MeetingRequest) -> Side:
    """The side the actor answers for; 403 for staff and the sending side, refusals once answered."""
    sides = user_sides(actor, request) & receiving_sides(request)
    if not sides:
        abort(403)
    if request.status != RequestStatus.PENDING.value:
        raise EventError(_l("This request has already been answered or closed: it is “%(status)s”.",
                            status=request.status_enum.label))
    if _expired(request, utcnow()):
        raise EventError(_l("This request expired on its expiry date and can no longer be answered."))
    return sorted(sides)[0]


def accept(actor, request: MeetingRequest) -> MeetingRequest:
    side = _answerable(actor, request)
    event = request.event
    if not states.booking_open(event):
        raise EventError(_l("Requests can be accepted only while the event is in booking; it is now in the "
                            "phase “%(phase)s”.", phase=EventPhase(event.phase).label))
    states.transition(request, RequestStatus.ACCEPTED, actor=actor, side=side.value)
    request.answered_at, request.answered_by_id = utcnow(), actor.id
    db.session.flush()
    answering = party(request, side)
    _tell(counterpart(request, answering), _l("%(name)s accepted your meeting request", name=answering.name),
          "meeting_request_answered", request, answer="accepted", answered_by=answering.name, reason="")
    return request


def decline(actor, request: MeetingRequest, reason: str | None) -> MeetingRequest:
    side = _answerable(actor, request)
    if not _answer_phase(request.event):
        raise EventError(_l("Requests can be declined only while the event is in booking or scheduling; it is "
                            "now in the phase “%(phase)s”.", phase=EventPhase(request.event.phase).label))
    text = _check_text(reason, REASON_MAX, "reason")
    states.transition(request, RequestStatus.DECLINED, actor=actor, side=side.value, reason=text)
    request.answered_at, request.answered_by_id, request.decline_reason = utcnow(), actor.id, text
    db.session.flush()
    answering = party(request, side)
    _tell(counterpart(request, answering), _l("%(name)s declined your meeting request", name=answering.name),
          "meeting_request_answered", request, answer="declined", answered_by=answering.name, reason=text or "")
    return request


def has_live_meeting(request: MeetingRequest) -> bool:
    return db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.request_id == request.id, Meeting.status != MeetingStatus.CANCELLED.value)) > 0


def withdraw(actor, request: MeetingRequest) -> MeetingRequest:
    """The sending side (or staff) takes a live request back, before agendas are published."""
    staff = permissions.is_staff(actor)
    sender = sender_side(request)
    mine = user_sides(actor, request)
    if not staff and (sender is None or sender not in mine):
        abort(403)
    if request.status not in LIVE_REQUEST:
        raise EventError(_l("This request is already closed: it is “%(status)s”.", status=request.status_enum.label))
    if not _answer_phase(request.event):
        raise EventError(_l("Requests can no longer be withdrawn: the event is in the phase “%(phase)s”. "
                            "Ask the event staff.", phase=EventPhase(request.event.phase).label))
    if has_live_meeting(request):
        raise EventError(_l("This request already has a meeting in the schedule: ask the event staff to "
                            "cancel the meeting."))
    by = "staff" if staff and (sender is None or sender not in mine) else sender.value
    states.transition(request, RequestStatus.WITHDRAWN, actor=actor, by=by)
    db.session.flush()
    if by == "staff":
        for side in Side:
            p = party(request, side)
            _tell(p, _l("Your meeting request with %(name)s was withdrawn by staff",
                        name=counterpart(request, p).name),
                  "meeting_request_withdrawn", request, withdrawn_by=None)
    else:
        withdrawing = party(request, sender)
        _tell(counterpart(request, withdrawing),
              _l("%(name)s withdrew its meeting request", name=withdrawing.name),
              "meeting_request_withdrawn", request, withdrawn_by=withdrawing.name)
    return request


def staff_create(actor, event: Event, sme: Participant, buyer: Participant, priority, message: str | None,
                 force: bool) -> MeetingRequest:
    """Staff add a request between an SME and a buyer; accepted on both sides' behalf when forced."""
    if not permissions.is_staff(actor):
        abort(403)
    now = utcnow()
    if states.reached(event, EventPhase.EVENT_DAY):
        raise EventError(_l("Requests can no longer be added: the event is in the phase “%(phase)s”.",
                            phase=EventPhase(event.phase).label))
    if sme is None or buyer is None:
        raise EventError(_l("Choose an SME and a buyer."), field="sme_id" if sme is None else "buyer_id")
    sme_, buyer_ = _pair(event, sme, buyer)
    if sme_.id != sme.id:
        raise EventError(_l("Choose an SME and a buyer."), field="sme_id")
    text = _check_text(message, MESSAGE_MAX, "message")
    value = _check_priority(priority)
    if not force and not states.booking_open(event, now):
        # `accept` holds to the booking phase: a pending request added outside it could only expire.
        if event.request_deadline is not None and event.request_deadline <= now:
            raise EventError(_l("The request deadline has passed: nobody could answer in time. Tick “accept on "
                                "both sides' behalf” to add it accepted."), field="force")
        raise EventError(_l("Requests are answered only while the event is in booking: tick “accept on both "
                            "sides' behalf” to add it accepted."), field="force")
    existing = live_request(sme, buyer)
    if existing is not None:
        _refuse_duplicate(existing)
    request = MeetingRequest(event_id=event.id, sme_id=sme.id, buyer_id=buyer.id, requested_by=STAFF,
                             requester_id=actor.id, message=text, priority=value,
                             status=RequestStatus.PENDING.value, created_at=now,
                             expires_at=None if force else _expiry(event, now))
    _insert(request)
    db.session.refresh(request)
    audit.record("meeting_request.created_by_staff", request, actor=actor, event_id=event.id, sme_id=sme.id,
                 buyer_id=buyer.id, priority=value, forced=bool(force))
    if force:
        states.transition(request, RequestStatus.ACCEPTED, actor=actor, forced=True)
        request.forced, request.answered_at, request.answered_by_id = True, now, actor.id
        db.session.flush()
    for p in (sme, buyer):
        _tell(p, _l("Staff added a meeting request with %(name)s", name=counterpart(request, p).name),
              "meeting_request_staff", request, forced=bool(force))
    return request


def expire_due(now: datetime) -> int:
    """Pending requests past their expiry, or of an event past its request deadline, expire; both
    sides are told. Returns how many expired (0 on a second run)."""
    due = list(db.session.scalars(
        select(MeetingRequest).join(Event, Event.id == MeetingRequest.event_id)
        .where(MeetingRequest.status == RequestStatus.PENDING.value,
               or_(and_(MeetingRequest.expires_at.is_not(None), MeetingRequest.expires_at <= now),
                   and_(Event.request_deadline.is_not(None), Event.request_deadline <= now)))
        .options(joinedload(MeetingRequest.event),
                 joinedload(MeetingRequest.sme).joinedload(Participant.organisation),
                 joinedload(MeetingRequest.buyer).joinedload(Participant.organisation))
        .order_by(MeetingRequest.id)))
    for request in due:
        deadline = request.event.request_deadline
        why = "deadline" if deadline is not None and deadline <= now and (
            request.expires_at is None or request.expires_at > now) else "expiry"
        states.transition(request, RequestStatus.EXPIRED, actor=None, reason=why)
        db.session.flush()
        for p in (request.sme, request.buyer):
            _tell(p, _l("Meeting request with %(name)s expired", name=counterpart(request, p).name),
                  "meeting_request_expired", request)
    return len(due)


# --- the requests pages ---------------------------------------------------------------------------------


def _with_parties(stmt):
    return stmt.options(joinedload(MeetingRequest.sme).joinedload(Participant.organisation),
                        joinedload(MeetingRequest.buyer).joinedload(Participant.organisation),
                        joinedload(MeetingRequest.event))


@dataclass
class MyRequests:
    received: list[MeetingRequest]   # pending, waiting for my answer
    sent: list[MeetingRequest]       # live requests I sent (pending or accepted)
    answered: list[MeetingRequest]   # everything else: accepted received, declined, withdrawn, expired
    quota: Quota
    meetings: set[int] = field(default_factory=set)  # request ids with a live meeting


def requests_of(actor, event: Event, me: Participant) -> MyRequests:
    if me is None or me.event_id != event.id or not permissions.speaks_for(actor, me):
        abort(404)
    rows = list(db.session.scalars(_with_parties(
        select(MeetingRequest).where(MeetingRequest.event_id == event.id,
                                     or_(MeetingRequest.sme_id == me.id, MeetingRequest.buyer_id == me.id)))
        .order_by(MeetingRequest.created_at.desc(), MeetingRequest.id.desc())))
    now = utcnow()
    received, sent, answered = [], [], []
    for r in rows:
        my_side = side_of(r, me)
        if r.status == RequestStatus.PENDING.value and my_side in receiving_sides(r) and not _expired(r, now):
            received.append(r)
        elif r.status in LIVE_REQUEST and sender_side(r) is my_side:
            sent.append(r)
        else:
            answered.append(r)
    received.sort(key=lambda r: (r.expires_at or now, r.id))
    meetings = _with_meeting([r.id for r in rows])
    return MyRequests(received, sent, answered, quota(me), meetings)


def _with_meeting(ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(db.session.scalars(select(Meeting.request_id).where(
        Meeting.request_id.in_(ids), Meeting.status != MeetingStatus.CANCELLED.value)))


@dataclass
class RequestFilters:
    status: str = ""
    requested_by: str = ""
    q: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("status", self.status), ("requested_by", self.requested_by), ("q", self.q)) if v}


@dataclass
class StaffRequests:
    page: Page
    counts: dict[str, int]
    total: int
    meetings: set[int]


def _staff_query(event: Event, filters: RequestFilters):
    stmt = select(MeetingRequest).where(MeetingRequest.event_id == event.id)
    if filters.status in {s.value for s in RequestStatus}:
        stmt = stmt.where(MeetingRequest.status == filters.status)
    if filters.requested_by in REQUESTED_BY_LABELS:
        stmt = stmt.where(MeetingRequest.requested_by == filters.requested_by)
    q = filters.q.strip()
    if q:
        names = select(Participant.id).join(Organisation, Organisation.id == Participant.organisation_id).where(
            Participant.event_id == event.id, contains(Organisation.legal_name, q))
        stmt = stmt.where(or_(MeetingRequest.sme_id.in_(names), MeetingRequest.buyer_id.in_(names)))
    return _with_parties(stmt).order_by(MeetingRequest.created_at.desc(), MeetingRequest.id.desc())


def staff_requests(actor, event: Event, filters: RequestFilters, per_page: int = 50) -> StaffRequests:
    if not permissions.is_staff(actor):
        abort(404)
    page = paginate(_staff_query(event, filters), per_page)
    counts = Counter({status: n for status, n in db.session.execute(
        select(MeetingRequest.status, func.count(MeetingRequest.id))
        .where(MeetingRequest.event_id == event.id).group_by(MeetingRequest.status))})
    return StaffRequests(page, {s.value: counts.get(s.value, 0) for s in RequestStatus}, sum(counts.values()),
                         _with_meeting([r.id for r in page.items]))


def export_rows(actor, event: Event, filters: RequestFilters) -> tuple[list[str], list[list]]:
    """The header and rows of the staff's export (times in the event's zone, without the zone)."""
    from opsapp.core.timeutil import to_local

    if not permissions.is_staff(actor):
        abort(404)
    header = [str(h) for h in (_l("Request"), _l("SME"), _l("Buyer"), _l("Asked by"), _l("Priority"),
                               _l("Status"), _l("Forced by staff"), _l("Sent"), _l("Expires"), _l("Answered"),
                               _l("Message"), _l("Reason for declining"))]

    def local(value):
        return to_local(value, event.timezone).replace(tzinfo=None) if value else None

    rows = [[r.id, r.sme.name, r.buyer.name, requested_by_label(r.requested_by), r.priority,
             r.status_enum.label, r.forced, local(r.created_at), local(r.expires_at), local(r.answered_at),
             r.message or "", r.decline_reason or ""]
            for r in db.session.scalars(_staff_query(event, filters))]
    return header, rows


def participants_for_staff(event: Event) -> tuple[list[Participant], list[Participant]]:
    """The SMEs and the buyers of the event not withdrawn, by name, for the staff's form."""
    rows = list(db.session.scalars(
        select(Participant).join(Organisation, Organisation.id == Participant.organisation_id)
        .where(Participant.event_id == event.id, Participant.status != ParticipantStatus.WITHDRAWN.value)
        .options(joinedload(Participant.organisation))
        .order_by(func.lower(Organisation.legal_name), Participant.id)))
    return ([p for p in rows if p.side == Side.SME.value], [p for p in rows if p.side == Side.BUYER.value])


# --- home ----------------------------------------------------------------------------------------------


def to_answer(user, now: datetime | None = None) -> list[MeetingRequest]:
    """Pending requests across the user's events that their organisations are to answer."""
    now = now or utcnow()
    mine = [p.id for p in permissions.participants_of(user)]
    if not mine:
        return []
    rows = db.session.scalars(_with_parties(
        select(MeetingRequest).where(
            MeetingRequest.status == RequestStatus.PENDING.value,
            or_(MeetingRequest.expires_at.is_(None), MeetingRequest.expires_at > now),
            or_(MeetingRequest.sme_id.in_(mine), MeetingRequest.buyer_id.in_(mine))))
        .order_by(MeetingRequest.expires_at, MeetingRequest.id))
    return [r for r in rows if can_answer(user, r, now)]
