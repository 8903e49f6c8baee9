"""The marketplace of an event: the registered profiles of the other side (staff: both sides,
with a side filter), with filters kept in the URL, the state of the participant's request
with each, its favourites, and the five best suggested matches (`matching.py`).

A registered participant browses it once the event reached booking. A profile opens only
within the same event, on the other side and registered, as the list shows them (staff:
any participant not withdrawn); otherwise 404. Saving a favourite is the only change made
here (it is private to the participant: not audited, nobody told). The requests themselves
are `requests.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Organisation
from opsapp.core.pagination import Page, paginate
from opsapp.events import matching, permissions, states
from opsapp.events.models import (
    LIVE_REQUEST,
    Event,
    EventPhase,
    Favourite,
    MeetingRequest,
    Participant,
    ParticipantStatus,
    Side,
    participant_s3_domains,
)
from opsapp.events.requests import Quota, quota
from opsapp.events.search import contains
from opsapp.extensions import db

SUGGESTIONS = 5


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


def marketplace_ready(event: Event, me: Participant | None) -> str | None:
    """Why the marketplace is not open to this participant yet, or None when it is."""
    if me is None:
        return None  # staff
    if not states.reached(event, EventPhase.BOOKING):
        return "not_open"
    if me.status != ParticipantStatus.REGISTERED.value:
        return "not_registered"
    return None


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
        stmt = stmt.where(or_(*(contains(column, q) for column in
                                (Participant.headline, Participant.offer, Participant.needs,
                                 Organisation.legal_name))))
    return stmt


def matching_profile(participant: Participant, locale: str = "en") -> matching.Profile:
    """The participant's profile as `matching.py` compares them."""
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
    found = matching.suggestions(matching_profile(me, locale),
                                [matching_profile(p, locale) for p in candidates], limit)
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
                  open_for_requests=states.booking_open(event))


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
    # As the marketplace lists them: registered profiles of the other side, once it is open to me.
    if (target.side == me.side or target.status != ParticipantStatus.REGISTERED.value
            or marketplace_ready(event, me) is not None):
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
