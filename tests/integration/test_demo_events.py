"""The demo's Meet the Buyer events (stage 3), loaded by `flask demo`: a held event whose
meetings satisfy every rule of the scheduler, with no-shows, outcomes and contracts; an
upcoming event in booking with 60 SMEs, 20 buyers (8 from outside the region) and about
400 requests; applicant1 and buyer1 in both; the same rows on every load."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from opsapp import demo
from opsapp.accounts.models import User
from opsapp.calls.models import Application
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events import grid, permissions
from opsapp.events.models import (
    ContractStatus,
    Event,
    EventPhase,
    Favourite,
    Meeting,
    MeetingOutcome,
    MeetingRequest,
    MeetingStatus,
    OutcomeFollowUp,
    OutcomeRound,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    SupplyContract,
    TrainingKind,
)
from opsapp.extensions import db
from tests.factories import login

DOMAIN = "demo.opsapp.eu"
PAST = "Meet the Buyer 2026 – Turin"
UPCOMING = "Meet the Buyer 2027 – Milan"


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


def event(name: str) -> Event:
    return db.session.scalar(select(Event).where(Event.name == name))


def requests_of(e: Event) -> list[MeetingRequest]:
    return list(db.session.scalars(select(MeetingRequest).where(MeetingRequest.event_id == e.id)
                                   .order_by(MeetingRequest.id)))


def meetings_of(e: Event) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.event_id == e.id).order_by(Meeting.id)))


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_the_summary_describes_both_events(demo_db):
    assert f"Event {PAST} held on" in demo_db
    assert f"Event {UPCOMING} on" in demo_db and "60 SMEs, 20 buyers (8 from outside Piemonte)" in demo_db


def test_the_slot_grids_are_what_the_designs_generate(demo_db):
    for e in (event(PAST), event(UPCOMING)):
        expected = grid.generate([date.fromisoformat(d) for d in e.days], e.day_start, e.day_end, e.slot_minutes,
                                 grid.parse_breaks(e.breaks), e.timezone)
        assert [(s.starts_at, s.ends_at) for s in e.slots] == [(g.starts_at, g.ends_at) for g in expected]


def test_the_upcoming_event_is_in_booking_with_60_smes_and_20_buyers(demo_db):
    e = event(UPCOMING)
    now = utcnow()
    assert e.phase == EventPhase.BOOKING
    assert e.edition.year == 2027 and e.edition.programme.kind == "meet_the_buyer"
    first = date.fromisoformat(e.days[0])
    assert timedelta(days=35) <= first - to_local(now, e.timezone).date() <= timedelta(days=60)
    assert len(e.days) == 2 and e.slot_minutes == 20 and e.table_count == 20 and e.breaks
    assert (e.day_start.hour, e.day_end.hour) == (9, 13)
    assert e.registration_deadline < e.booking_opens_at < now < e.request_deadline < e.slots[0].starts_at
    smes = [p for p in e.participants if p.side == "sme"]
    buyers = [p for p in e.participants if p.side == "buyer"]
    assert len(smes) == 60 and len(buyers) == 20
    assert sum(1 for b in buyers if b.outside_region) == 8
    assert all(b.outside_region == (b.organisation.nuts2_region != "ITC1") for b in buyers)
    assert all(s.organisation.kind in ("startup", "sme") for s in smes)
    for p in e.participants:
        assert p.status == ParticipantStatus.REGISTERED and p.registered_at <= e.registration_deadline
        assert p.headline and p.s3_domains and p.countries and p.languages and p.contact_id
        assert (p.offer and not p.needs) if p.side == "sme" else (p.needs and not p.offer)
        assert p.contact.memberships[0].organisation_id == p.organisation_id
    assert any(p.unavailable_slots for p in e.participants)
    assert all(s.starts_at < now and s.attendance for s in e.training_sessions)
    assert {s.kind for s in e.training_sessions} == {TrainingKind.PITCH, TrainingKind.NEGOTIATION}
    assert db.session.scalars(select(Favourite).where(Favourite.participant_id.in_([p.id for p in smes]))).first()
    assert not meetings_of(e)


def test_the_upcoming_requests_are_about_400_and_follow_the_rules(demo_db):
    e = event(UPCOMING)
    now = utcnow()
    requests = requests_of(e)
    assert 350 <= len(requests) <= 450
    statuses = Counter(r.status for r in requests)
    assert statuses[RequestStatus.ACCEPTED] > len(requests) / 2
    assert statuses[RequestStatus.PENDING] >= 20 and statuses[RequestStatus.DECLINED] >= 10
    assert {r.requested_by for r in requests} == {"sme", "buyer", "staff"}
    assert {r.priority for r in requests} == {1, 2, 3, 4, 5}
    live = Counter((r.sme_id, r.buyer_id) for r in requests if r.status in ("pending", "accepted"))
    assert max(live.values()) == 1
    sent = Counter((r.requested_by, r.sme_id if r.requested_by == "sme" else r.buyer_id) for r in requests)
    assert all(n <= (e.sme_request_quota if side == "sme" else e.buyer_request_quota)
               for (side, _), n in sent.items() if side != "staff")
    for r in requests:
        assert r.sme.side == "sme" and r.buyer.side == "buyer" and r.sme.event_id == r.buyer.event_id == e.id
        assert e.booking_opens_at <= r.created_at < now
        assert r.expires_at == r.created_at + timedelta(days=e.request_expiry_days)
        if r.status == RequestStatus.PENDING:
            assert r.expires_at > now, "a pending request that should have expired"
            assert r.answered_at is None
        if r.status == RequestStatus.EXPIRED:
            assert r.expires_at < now and r.answered_at is None
        if r.status in (RequestStatus.ACCEPTED, RequestStatus.DECLINED):
            assert r.created_at < r.answered_at < min(r.expires_at, now)
            answerer = r.buyer if r.requested_by == "sme" else r.sme
            assert r.answered_by_id == (answerer.contact_id if r.requested_by != "staff" else r.requester_id)
        assert bool(r.decline_reason) == (r.status == RequestStatus.DECLINED)
        assert r.forced == (r.requested_by == "staff")

    # Priorities follow the fit: the SMEs and buyers that share S3 domains ask with higher priority.
    def shared(r):
        return len({d.code for d in r.sme.s3_domains} & {d.code for d in r.buyer.s3_domains})

    high = [shared(r) for r in requests if r.priority >= 4]
    low = [shared(r) for r in requests if r.priority <= 2]
    assert sum(high) / len(high) > sum(low) / len(low) + 0.3


def test_the_past_event_meetings_satisfy_every_scheduler_constraint(demo_db):
    e = event(PAST)
    meetings = [m for m in meetings_of(e) if m.status != MeetingStatus.CANCELLED]
    assert len(meetings) >= 100
    slots = {s.id for s in e.slots}
    limits = {"sme": e.sme_max_meetings, "buyer": e.buyer_max_meetings}
    seen_sme, seen_buyer, seen_table, seen_request = set(), set(), set(), set()
    count: Counter = Counter()
    for m in meetings:
        assert m.slot_id in slots and 1 <= m.table_number <= e.table_count
        assert (m.slot_id, m.sme_id) not in seen_sme, "an SME twice in a slot"
        assert (m.slot_id, m.buyer_id) not in seen_buyer, "a buyer twice in a slot"
        assert (m.slot_id, m.table_number) not in seen_table, "a table twice in a slot"
        assert m.request_id not in seen_request
        seen_sme.add((m.slot_id, m.sme_id))
        seen_buyer.add((m.slot_id, m.buyer_id))
        seen_table.add((m.slot_id, m.table_number))
        seen_request.add(m.request_id)
        assert m.request.status == RequestStatus.ACCEPTED and m.request.event_id == e.id
        assert (m.request.sme_id, m.request.buyer_id) == (m.sme_id, m.buyer_id)
        for p in (m.sme, m.buyer):
            assert m.slot not in p.unavailable_slots, f"{p.name} cannot attend that slot"
            count[p.id] += 1
    for m in meetings:
        for p in (m.sme, m.buyer):
            most = p.max_meetings if p.max_meetings is not None else limits[p.side]
            assert most is None or count[p.id] <= most
    # Every accepted request left out says why; the scheduler's run is recorded.
    for r in requests_of(e):
        if r.status == RequestStatus.ACCEPTED and r.id not in seen_request:
            assert r.unscheduled_reason and "sme0" not in r.unscheduled_reason
    run = db.session.scalar(select(ScheduleRun).where(ScheduleRun.event_id == e.id))
    assert run.status == "done" and run.scheduled == len(meetings) and run.optimal


def test_the_past_event_was_held_with_no_shows_outcomes_and_contracts(demo_db):
    e = event(PAST)
    now = utcnow()
    call = e.call
    assert e.phase == EventPhase.FOLLOW_UP and call.status == "decided" and call.edition is e.edition
    assert e.agendas_published_at < e.slots[0].starts_at and e.slots[-1].ends_at < now < e.closes_at
    smes = [p for p in e.participants if p.side == "sme"]
    selected = {a.organisation_id for a in db.session.scalars(
        select(Application).where(Application.call_id == call.id, Application.outcome == "selected"))}
    assert {p.organisation_id for p in smes} == selected and all(p.application_id for p in smes)
    assert sum(1 for p in e.participants if p.side == "buyer" and p.outside_region) >= 1
    assert {s.kind for s in e.training_sessions} == {TrainingKind.PITCH, TrainingKind.NEGOTIATION}
    assert all(s.ends_at < e.slots[0].starts_at and s.attendance for s in e.training_sessions)

    requests = requests_of(e)
    assert {r.status for r in requests} == {"accepted", "declined", "expired", "withdrawn"}
    assert all(r.created_at < e.request_deadline for r in requests)

    meetings = meetings_of(e)
    statuses = Counter(m.status for m in meetings)
    assert statuses[MeetingStatus.HELD] > 100 and 1 <= statuses[MeetingStatus.NO_SHOW] <= 30
    assert set(statuses) == {MeetingStatus.HELD, MeetingStatus.NO_SHOW}
    for m in meetings:
        if m.status == MeetingStatus.NO_SHOW:
            assert m.no_show_reported_by_id in (m.sme_id, m.buyer_id)
            assert m.slot.starts_at < m.no_show_reported_at < now
        else:
            assert m.no_show_reported_by_id is None
            assert m.sme.checked_in_at and m.buyer.checked_in_at
    assert sum(1 for p in e.participants if p.checked_in_at) >= len(e.participants) - 5

    outcomes = list(db.session.scalars(select(MeetingOutcome).join(Meeting).where(Meeting.event_id == e.id)))
    held = {m.id: m for m in meetings if m.status == MeetingStatus.HELD}
    assert {o.round for o in outcomes} == {OutcomeRound.AFTER_MEETING, OutcomeRound.SIX_MONTHS}
    assert len({o.rating for o in outcomes}) == 4
    follow_ups = {(f.meeting_id, f.participant_id): f for f in db.session.scalars(
        select(OutcomeFollowUp).where(OutcomeFollowUp.meeting_id.in_(list(held))))}
    for o in outcomes:
        m = held[o.meeting_id]  # only held meetings are rated
        assert o.participant_id in (m.sme_id, m.buyer_id) and o.recorded_by_id == o.participant.contact_id
        assert m.slot.ends_at < o.recorded_at < now
        if o.round == OutcomeRound.SIX_MONTHS:
            follow_up = follow_ups[(o.meeting_id, o.participant_id)]
            assert m.slot.starts_at + timedelta(days=180) < follow_up.sent_at < o.recorded_at
    both_sides = Counter(o.meeting_id for o in outcomes if o.round == OutcomeRound.AFTER_MEETING)
    assert any(n == 2 for n in both_sides.values())
    # Every held meeting more than six months old has had its follow-up sent to both sides.
    for m in held.values():
        if m.slot.ends_at + timedelta(days=183) < now:
            assert (m.id, m.sme_id) in follow_ups and (m.id, m.buyer_id) in follow_ups

    contracts = list(db.session.scalars(select(SupplyContract).where(SupplyContract.event_id == e.id)))
    assert len(contracts) >= 5
    assert Counter(c.status for c in contracts)[ContractStatus.RECORDED] == 1
    assert Counter(c.status for c in contracts)[ContractStatus.CONFIRMED] == len(contracts) - 1
    staff = user(f"staff@{DOMAIN}")
    for c in contracts:
        assert Decimal("8000") <= c.value <= Decimal("250000")
        assert c.meeting_id in held and (c.sme_id, c.buyer_id) == (held[c.meeting_id].sme_id,
                                                                  held[c.meeting_id].buyer_id)
        assert to_local(c.meeting.slot.starts_at, e.timezone).date() < c.signed_on < now.date()
        assert c.recorded_by_id in (c.sme.contact_id, c.buyer.contact_id) and c.recorded_at < now
        assert c.description
        if c.status == ContractStatus.CONFIRMED:
            assert c.reviewed_by_id == staff.id and c.recorded_at < c.reviewed_at < now
        else:
            assert c.reviewed_at is None and c.reviewed_by_id is None


def test_applicant1_and_buyer1_take_part_in_both_events(demo_db):
    applicant1, buyer1 = user(f"applicant1@{DOMAIN}"), user(f"buyer1@{DOMAIN}")
    past, upcoming = event(PAST), event(UPCOMING)
    for account in (applicant1, buyer1):
        assert {e.name for e in permissions.events_of(account)} >= {PAST, UPCOMING}
    sme_past, buyer_past = permissions.participant_of(applicant1, past), permissions.participant_of(buyer1, past)
    held_together = [m for m in meetings_of(past)
                     if m.sme_id == sme_past.id and m.buyer_id == buyer_past.id and m.status == MeetingStatus.HELD]
    assert held_together
    assert sum(1 for m in meetings_of(past) if sme_past.id == m.sme_id) >= 3
    waiting = db.session.scalar(select(SupplyContract).where(SupplyContract.meeting_id == held_together[0].id))
    assert waiting.status == ContractStatus.RECORDED

    sme_now, buyer_now = permissions.participant_of(applicant1, upcoming), permissions.participant_of(buyer1, upcoming)
    pending = [r for r in requests_of(upcoming) if r.status == RequestStatus.PENDING]
    to_answer_by_sme = [r for r in pending if r.sme_id == sme_now.id and r.requested_by == "buyer"]
    to_answer_by_buyer = [r for r in pending if r.buyer_id == buyer_now.id and r.requested_by == "sme"]
    assert len(to_answer_by_sme) >= 2 and len(to_answer_by_buyer) >= 3
    assert any(r.requested_by == "sme" for r in requests_of(upcoming) if r.sme_id == sme_now.id)


def test_applicant1_sees_both_events_when_the_pages_exist(app, loaded):
    if "events.index" not in app.view_functions:
        pytest.skip("the events list is not there yet")
    client = app.test_client()
    login(client, f"applicant1@{DOMAIN}", demo.PASSWORD)
    page = client.get("/events/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert PAST in text and UPCOMING in text


def fingerprint() -> str:
    """Every events row, without row ids (they differ between loads on PostgreSQL)."""
    rows: list = []
    for e in db.session.scalars(select(Event).order_by(Event.name)):
        rows.append((e.name, e.description, e.venue, e.outside_region, e.days, e.day_start, e.day_end, e.breaks,
                     e.table_count, e.phase, e.registration_deadline, e.booking_opens_at, e.request_deadline,
                     e.closes_at, e.agendas_published_at, e.sme_request_quota, e.buyer_request_quota,
                     e.buyer_max_meetings, e.call and e.call.title, e.edition.year))
        vat = {p.id: p.organisation.vat_number for p in e.participants}
        rows.append(sorted(repr((p.organisation.vat_number, p.side, p.status, p.headline, p.offer, p.needs,
                                 p.countries, p.languages, p.outside_region, p.max_meetings, p.invited_at,
                                 p.registered_at, p.checked_in_at, p.contact.email,
                                 sorted(d.code for d in p.s3_domains), sorted(s.starts_at for s in p.unavailable_slots)))
                           for p in e.participants))
        rows.append([(s.kind, s.title, s.starts_at, s.place, sorted((vat[a.participant_id], a.attended)
                                                                    for a in s.attendance))
                     for s in e.training_sessions])
        rows.append(sorted(repr((vat[f.participant_id], vat[f.target_id], f.created_at)) for f in db.session.scalars(
            select(Favourite).where(Favourite.participant_id.in_(list(vat))))))
        rows.append(sorted(repr((vat[r.sme_id], vat[r.buyer_id], r.requested_by, r.message, r.priority, r.status,
                                 r.created_at, r.expires_at, r.answered_at, r.decline_reason, r.unscheduled_reason))
                           for r in requests_of(e)))
        rows.append(sorted(repr((vat[m.sme_id], vat[m.buyer_id], m.slot.starts_at, m.table_number, m.status,
                                 m.no_show_reported_at, sorted((vat[o.participant_id], o.round, o.rating, o.note,
                                                                o.recorded_at) for o in m.outcomes)))
                           for m in meetings_of(e)))
        rows.append(sorted(repr((vat[c.sme_id], vat[c.buyer_id], c.signed_on, c.value, c.description, c.status,
                                 c.recorded_at, c.reviewed_at, c.review_note))
                           for c in db.session.scalars(select(SupplyContract).where(SupplyContract.event_id == e.id))))
    rows.append(sorted(repr(f.sent_at) for f in db.session.scalars(select(OutcomeFollowUp))))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_two_loads_write_the_same_events(app, loaded):
    """The events are dated from today: two loads on the same day write the same rows."""
    prints = []
    for again in (False, True):  # the module's load, then one more
        if again:
            with app.app_context():
                demo.load(reset=True)
                db.session.remove()
        with app.app_context():
            prints.append(fingerprint())
            db.session.remove()
    assert prints[0] == prints[1]
