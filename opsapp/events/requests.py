"""The marketplace, favourites and meeting requests of an event.

- Marketplace: a registered participant of an event in booking or later browses the
  registered profiles of the other side (staff: both sides, with a side filter), with
  filters kept in the URL, the state of their request with each, their favourites, and
  the five best suggested matches (`matching.py`). A profile opens only within the same
  event and on the other side (staff: any participant not withdrawn); otherwise 404.
- Requests: a participant sends a request with a message and a priority (1 nice to have,
  5 top priority) to one of the other side while the event is in booking and before the
  request deadline; one live request (pending or accepted) per SME and buyer; each side
  sends at most its quota of live requests (staff are not held to quotas). The receiving
  side accepts or declines (with an optional reason) while the request is pending and
  not expired; the sending side withdraws it while pending or accepted, until agendas are
  published and as long as no meeting holds it. Staff create requests on either side's
  behalf, accepted at once when forced. Pending requests expire (`expire_due`, the
  `events_request_expiry` job) at their expiry or at the request deadline.

Every status change goes through `states.transition` (audited); creations are audited
here; every change is notified to the people of the organisations concerned. Functions
check rights (a participant reaches only its own requests: another's answer 404), flush
and never commit; refusals raise `EventError` with a message for the user.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, Organisation, User
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.timeutil import utcnow
from opsapp.events import matching, permissions, states
from opsapp.events.models import (
    LIVE_REQUEST,
    Event,
    EventPhase,
    Favourite,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    Side,
    participant_s3_domains,
)
from opsapp.events.pages import EventError
from opsapp.extensions import db

MESSAGE_MAX = 500
REASON_MAX = 500
SUGGESTIONS = 5

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
    mine = permissions.organisation_ids(user)
    return {side for side in Side if party(request, side).organisation_id in mine}


def can_answer(user, request: MeetingRequest, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (request.status == RequestStatus.PENDING.value and not _expired(request, now)
            and bool(user_sides(user, request) & receiving_sides(request)))


def can_withdraw(user, request: MeetingRequest) -> bool:
    if request.status not in LIVE_REQUEST or not _withdraw_phase(request.event):
        return False
    if permissions.is_staff(user):
        return True
    sender = sender_side(request)
    return sender is not None and sender in user_sides(user, request)


def _expired(request: MeetingRequest, now: datetime) -> bool:
    return request.expires_at is not None and request.expires_at <= now


def _withdraw_phase(event: Event) -> bool:
    return EventPhase(event.phase) in (EventPhase.BOOKING, EventPhase.SCHEDULING)


# --- people and notifications ------------------------------------------------------------------


def people_of(participant: Participant) -> list[User]:
    """The active members of the participant's organisation, who hear about its requests."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == participant.organisation_id, User.disabled_at.is_(None),
               User.erased_at.is_(None))
        .order_by(User.id)))


def _link(event_id: int) -> str:
    from opsapp.calls.design import path_for

    return path_for("events.requests", event_id=event_id)


def _tell(participant: Participant, subject, template: str, request: MeetingRequest, **context) -> int:
    told = 0
    link = _link(request.event_id)
    event = request.event
    for user in people_of(participant):
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


# --- the marketplace -------------------------------------------------------------------------------


@dataclass
class MarketFilters:
    side: str = ""
    s3_domain: str = ""
    country: str = ""
    q: str = ""
    outside: bool = False
    favourites: bool = False

    def as_args(self) -> dict:
        args = {"side": self.side, "s3_domain": self.s3_domain, "country": self.country, "q": self.q,
                "outside": "y" if self.outside else "", "favourites": "y" if self.favourites else ""}
        return {k: v for k, v in args.items() if v}


@dataclass
class Market:
    event: Event
    me: Participant | None
    page: Page
    suggestions: list  # of (Participant, matching.Fit)
    requests: dict[int, MeetingRequest]  # counterpart id -> my latest request with them
    favourites: set[int]
    sides: list[Side]
    quota: Quota | None = None
    open_for_requests: bool = False


def market_countries(event: Event, me: Participant | None) -> list[str]:
    """The countries of interest named by the profiles the actor may browse, for the filter."""
    sides = _visible_sides(me, MarketFilters())
    rows = db.session.scalars(_others_query(event, me, sides).with_only_columns(Participant.countries))
    return sorted({c for row in rows for c in (row or ()) if isinstance(c, str)})


def booking_open(event: Event, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (event.phase == EventPhase.BOOKING.value
            and (event.request_deadline is None or event.request_deadline > now))


def marketplace_ready(event: Event, me: Participant | None) -> str | None:
    """Why the marketplace is not open to this participant yet, or None when it is."""
    if me is None:
        return None  # staff
    if not states.reached(event, EventPhase.BOOKING):
        return "not_open"
    if me.status != ParticipantStatus.REGISTERED.value:
        return "not_registered"
    return None


def _like(text: str) -> str:
    return "%" + text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _visible_sides(me: Participant | None, filters: MarketFilters) -> list[Side]:
    if me is not None:
        return [me.side_enum.other]
    if filters.side in (Side.SME.value, Side.BUYER.value):
        return [Side(filters.side)]
    return [Side.SME, Side.BUYER]


def _others_query(event: Event, me: Participant | None, sides: list[Side]):
    stmt = select(Participant).where(Participant.event_id == event.id,
                                     Participant.side.in_([s.value for s in sides]),
                                     Participant.status != ParticipantStatus.WITHDRAWN.value)
    if me is not None:
        stmt = stmt.where(Participant.status == ParticipantStatus.REGISTERED.value, Participant.id != me.id)
    return stmt


def _filtered(stmt, me: Participant | None, filters: MarketFilters):
    if filters.s3_domain.isdigit():
        stmt = stmt.where(Participant.id.in_(
            select(participant_s3_domains.c.participant_id)
            .where(participant_s3_domains.c.s3_domain_id == int(filters.s3_domain))))
    if filters.country:
        # Countries are a JSON list of ISO codes: '["IT", "FR"]' holds '"IT"'.
        stmt = stmt.where(cast(Participant.countries, String).like(f'%"{filters.country}"%'))
    if filters.outside:
        stmt = stmt.where(Participant.outside_region.is_(True))
    if filters.favourites and me is not None:
        stmt = stmt.where(Participant.id.in_(select(Favourite.target_id).where(Favourite.participant_id == me.id)))
    q = filters.q.strip()
    if q:
        pattern = _like(q)
        stmt = stmt.where(or_(*(func.lower(func.coalesce(column, "")).like(pattern, escape="!") for column in
                                (Participant.headline, Participant.offer, Participant.needs,
                                 Organisation.legal_name))))
    return stmt


def profile_of(participant: Participant, locale: str = "en") -> matching.Profile:
    text = participant.offer if participant.side == Side.SME.value else participant.needs
    return matching.Profile(
        id=participant.id, name=participant.name,
        text=" ".join(t for t in (participant.headline, text) if t),
        domains=frozenset(d.name(locale) for d in participant.s3_domains),
        countries=frozenset(participant.countries or ()),
        languages=frozenset(participant.languages or ()))


def suggestions_for(me: Participant, candidates: list[Participant], locale: str = "en",
                    limit: int = SUGGESTIONS) -> list[tuple[Participant, matching.Fit]]:
    by_id = {p.id: p for p in candidates}
    found = matching.suggestions(profile_of(me, locale), [profile_of(p, locale) for p in candidates], limit)
    return [(by_id[s.profile.id], s.fit) for s in found]


def my_requests(me: Participant) -> dict[int, MeetingRequest]:
    """Counterpart id -> the participant's request with them: the live one, else the latest."""
    found: dict[int, MeetingRequest] = {}
    rows = db.session.scalars(
        select(MeetingRequest).where(or_(MeetingRequest.sme_id == me.id, MeetingRequest.buyer_id == me.id))
        .order_by(MeetingRequest.created_at, MeetingRequest.id))
    for request in rows:
        other = request.buyer_id if request.sme_id == me.id else request.sme_id
        current = found.get(other)
        if current is None or request.status in LIVE_REQUEST or current.status not in LIVE_REQUEST:
            found[other] = request
    return found


def favourite_ids(me: Participant) -> set[int]:
    return set(db.session.scalars(select(Favourite.target_id).where(Favourite.participant_id == me.id)))


def marketplace(actor, event: Event, me: Participant | None, filters: MarketFilters, locale: str = "en",
                per_page: int = 20) -> Market:
    """The profiles the actor may browse, filtered, a page of them, and the suggestions."""
    if me is None and not permissions.is_staff(actor):
        abort(404)
    sides = _visible_sides(me, filters)
    base = _others_query(event, me, sides)
    listing = (_filtered(base.join(Organisation, Organisation.id == Participant.organisation_id), me, filters)
               .options(selectinload(Participant.s3_domains), joinedload(Participant.organisation))
               .order_by(func.lower(Organisation.legal_name), Participant.id))
    page = paginate(listing, per_page)
    suggestions, requests, favourites, my_quota = [], {}, set(), None
    if me is not None:
        candidates = list(db.session.scalars(
            base.options(selectinload(Participant.s3_domains), joinedload(Participant.organisation))))
        suggestions = suggestions_for(me, candidates, locale)
        requests = my_requests(me)
        favourites = favourite_ids(me)
        my_quota = quota(me)
    return Market(event=event, me=me, page=page, suggestions=suggestions, requests=requests,
                  favourites=favourites, sides=sides, quota=my_quota,
                  open_for_requests=booking_open(event))


def visible_profile(actor, event: Event, me: Participant | None, participant_id: int) -> Participant:
    """A profile the actor may open: same event, not withdrawn, and (for a participant) its own
    or one of the other side once the marketplace is open. Otherwise 404."""
    target = db.session.get(Participant, participant_id)
    if target is None or target.event_id != event.id or target.status == ParticipantStatus.WITHDRAWN.value:
        abort(404)
    if me is None:
        if not permissions.is_staff(actor):
            abort(404)
        return target
    if target.id == me.id:
        return target  # one's own profile, as the other side sees it
    if target.side == me.side or marketplace_ready(event, me) == "not_open":
        abort(404)
    return target


def toggle_favourite(actor, event: Event, me: Participant | None, participant_id: int) -> bool:
    """Save or forget a profile among the participant's favourites; True when now saved."""
    if me is None or me.id == participant_id:
        abort(404)
    target = visible_profile(actor, event, me, participant_id)
    existing = db.session.get(Favourite, (me.id, target.id))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    db.session.add(Favourite(participant_id=me.id, target_id=target.id))
    db.session.flush()
    return True


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


def _visible_request(actor, request_id: int) -> MeetingRequest:
    request = db.session.get(MeetingRequest, request_id)
    if request is None:
        abort(404)
    if not permissions.is_staff(actor) and not user_sides(actor, request):
        abort(404)
    return request


def request_for(actor, request_id: int) -> MeetingRequest:
    """A request the actor may see (staff, or a member of either side); otherwise 404."""
    return _visible_request(actor, request_id)


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
    if event.phase != EventPhase.BOOKING.value:
        raise EventError(_l("Requests can be accepted only while the event is in booking; it is now in the "
                            "phase “%(phase)s”.", phase=EventPhase(event.phase).label))
    states.transition(request, RequestStatus.ACCEPTED, actor=actor, side=side.value)
    request.answered_at, request.answered_by_id = utcnow(), actor.id
    db.session.flush()
    answering = party(request, side)
    for other in _others_than(request, answering):
        _tell(other, _l("%(name)s accepted your meeting request", name=answering.name),
              "meeting_request_answered", request, answer="accepted", answered_by=answering.name, reason="")
    return request


def decline(actor, request: MeetingRequest, reason: str | None) -> MeetingRequest:
    side = _answerable(actor, request)
    text = _check_text(reason, REASON_MAX, "reason")
    states.transition(request, RequestStatus.DECLINED, actor=actor, side=side.value, reason=text)
    request.answered_at, request.answered_by_id, request.decline_reason = utcnow(), actor.id, text
    db.session.flush()
    answering = party(request, side)
    for other in _others_than(request, answering):
        _tell(other, _l("%(name)s declined your meeting request", name=answering.name),
              "meeting_request_answered", request, answer="declined", answered_by=answering.name,
              reason=text or "")
    return request


def _others_than(request: MeetingRequest, participant: Participant) -> list[Participant]:
    return [counterpart(request, participant)]


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
    if not _withdraw_phase(request.event):
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
    if not force and event.request_deadline is not None and event.request_deadline <= now:
        raise EventError(_l("The request deadline has passed: nobody could answer in time. Tick “accept on "
                            "both sides' behalf” to add it accepted."), field="force")
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
            Participant.event_id == event.id, func.lower(Organisation.legal_name).like(_like(q), escape="!"))
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
    orgs = permissions.organisation_ids(user)
    if not orgs:
        return []
    mine = select(Participant.id).where(Participant.organisation_id.in_(orgs),
                                        Participant.status != ParticipantStatus.WITHDRAWN.value)
    rows = db.session.scalars(_with_parties(
        select(MeetingRequest).where(
            MeetingRequest.status == RequestStatus.PENDING.value,
            or_(MeetingRequest.expires_at.is_(None), MeetingRequest.expires_at > now),
            or_(MeetingRequest.sme_id.in_(mine), MeetingRequest.buyer_id.in_(mine))))
        .order_by(MeetingRequest.expires_at, MeetingRequest.id))
    return [r for r in rows if user_sides(user, r) & receiving_sides(r)]
