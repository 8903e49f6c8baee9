"""The demo's cohorts (stage `opsapp/demo/cohorts.py`): a completed 2025 cohort formed from the
decided 2025 call with seals (one revoked, one company not completed), a running 2026 cohort with
mentors, sessions past and upcoming, milestones in every status and open obligations; the seals
verify through the public page; two loads write the same rows."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from opsapp import demo
from opsapp.accounts.models import User
from opsapp.calls.models import Application, Call, Obligation, PlaceStatus
from opsapp.cohorts import board as boards
from opsapp.cohorts.models import (
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    InvestorIntroduction,
    MentorConflict,
    MentorProfile,
    Mentorship,
    Milestone,
    ObligationReminder,
    Seal,
    SessionNote,
)
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from tests.factories import login

DOMAIN = "demo.opsapp.eu"
PASSWORD = demo.PASSWORD


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


def cohort(name: str) -> Cohort:
    return db.session.scalar(select(Cohort).where(Cohort.name == name))


def members(c: Cohort) -> list[CohortMember]:
    return list(db.session.scalars(select(CohortMember).where(CohortMember.cohort_id == c.id)
                                   .order_by(CohortMember.id)))


def sessions(c: Cohort) -> list[CoachingSession]:
    return list(db.session.scalars(select(CoachingSession).where(CoachingSession.cohort_id == c.id)
                                   .order_by(CoachingSession.starts_at)))


def today():
    return to_local(utcnow(), "Europe/Rome").date()


def test_the_summary_describes_both_cohorts(demo_db):
    text = demo_db
    assert "Business Accelerator 2025 cohort completed (8 companies" in text
    assert "Business Accelerator 2026 cohort running" in text
    assert "Mentor profiles for mentor1-4" in text and "/verify/SOE-" in text


def test_themes_and_mentor_profiles(demo_db):
    assert sorted(t.code for t in db.session.scalars(select(CoachingTheme))) == [
        "entrepreneurial_finance", "human_resources", "international_marketing"]
    profiles = list(db.session.scalars(select(MentorProfile)))
    assert sorted(p.user.email for p in profiles) == [f"mentor{n}@{DOMAIN}" for n in range(1, 5)]
    for profile in profiles:
        assert profile.themes and profile.s3_domains and profile.languages and profile.capacity > 0
        assert profile.bio and profile.availability


def test_the_2025_cohort_is_completed_from_the_decided_call(demo_db):
    c = cohort("Business Accelerator 2025 cohort")
    assert c.status == "completed" and c.call.title.startswith("Business Accelerator 2025")
    assert c.call.status == "decided" and c.edition.year == 2025 and c.ends_on < today()
    accepted = {a.organisation_id for a in db.session.scalars(select(Application).where(
        Application.call_id == c.call_id, Application.place_status == PlaceStatus.ACCEPTED))}
    people = members(c)
    assert {m.organisation_id for m in people} == accepted and len(people) == 8
    assert all(m.application_id and m.needs and m.goals for m in people)
    # The reserve replacement is among them: an accepted place whose application was promoted.
    assert any(m.application.reserve_position is None and m.application.decided_at > c.call.decided_at
               for m in people)
    kinds = Counter(s.kind for s in sessions(c))
    assert kinds["group"] == 6 and kinds["one_to_one"] == 32
    assert all(s.starts_at.date() <= c.ends_on for s in sessions(c))
    notes = db.session.scalars(select(SessionNote).join(CoachingSession).where(CoachingSession.cohort_id == c.id))
    assert len(list(notes)) >= 25
    completions = Counter(m.completion for m in people)
    assert completions == {"completed": 7, "not_completed": 1}
    dropout = next(m for m in people if m.completion == "not_completed")
    assert dropout.completion_note and not dropout.loan_eligible
    # What the board computes agrees with the decisions: every completed company met the criteria.
    rows = {row.member.id: row for row in boards.build_rows(c, people, utcnow())}
    assert all(rows[m.id].meets for m in people if m.completion == "completed")
    assert not rows[dropout.id].meets
    seals = list(db.session.scalars(select(Seal).join(CohortMember).where(CohortMember.cohort_id == c.id)))
    assert len(seals) == 7 and len({s.code for s in seals}) == 7
    revoked = [s for s in seals if s.revoked_at]
    assert len(revoked) == 1 and revoked[0].revoke_reason and not revoked[0].member.loan_eligible
    assert sum(1 for m in people if m.loan_eligible) == 6
    investments = list(db.session.scalars(select(InvestorIntroduction).join(CohortMember).where(
        CohortMember.cohort_id == c.id, InvestorIntroduction.outcome == "investment")))
    assert len(investments) == 2 and all(i.amount and i.investment_type for i in investments)
    assert all(m.ended_at is not None for m in db.session.scalars(
        select(Mentorship).join(CohortMember).where(CohortMember.cohort_id == c.id)))


def test_the_2026_cohort_is_running_with_mentors_sessions_and_milestones(demo_db):
    c = cohort("Business Accelerator 2026 cohort")
    assert c.status == "running" and c.edition.year == 2026 and c.starts_on <= today() <= c.ends_on
    people = members(c)
    assert len(people) >= 5
    call_2026 = db.session.scalar(select(Call).where(Call.title.like("Business Accelerator 2026%")))
    if call_2026.status != "decided":  # formed without a call: no member has an application anywhere
        assert c.call_id is None
        applied = set(db.session.scalars(select(Application.organisation_id).join(Call).where(
            Call.title.like("Business Accelerator%"))))
        assert not {m.organisation_id for m in people} & applied
    mentorships = list(db.session.scalars(select(Mentorship).join(CohortMember).where(CohortMember.cohort_id == c.id)))
    assert {m.member_id for m in mentorships} == {m.id for m in people}
    assert all(m.confirmed_at and m.ended_at is None for m in mentorships)
    load = Counter(m.mentor_id for m in mentorships)
    for profile in db.session.scalars(select(MentorProfile)):
        assert load[profile.id] <= profile.capacity
    conflicts = {(x.mentor_id, x.organisation_id) for x in db.session.scalars(select(MentorConflict))}
    assert conflicts and not conflicts & {(m.mentor_id, m.member.organisation_id) for m in mentorships}

    now = utcnow()
    all_sessions = sessions(c)
    past = [s for s in all_sessions if s.starts_at <= now]
    upcoming = [s for s in all_sessions if s.starts_at > now]
    assert len(past) >= 10 and len(upcoming) >= 5
    assert all(not s.attendance for s in upcoming) and all(s.attendance for s in past)
    statuses = Counter(m.status for m in db.session.scalars(
        select(Milestone).join(CohortMember).where(CohortMember.cohort_id == c.id)))
    assert set(statuses) == {"planned", "reported", "confirmed", "missed"}
    overdue = list(db.session.scalars(select(Milestone).join(CohortMember).where(
        CohortMember.cohort_id == c.id, Milestone.status.in_(("planned", "reported")), Milestone.due_on < today())))
    assert overdue
    assert db.session.scalars(select(InvestorIntroduction).join(CohortMember).where(
        CohortMember.cohort_id == c.id)).first() is not None

    organisations = {m.organisation_id for m in people}
    open_obligations = [o for o in db.session.scalars(select(Obligation).where(Obligation.status == "open"))
                        if o.organisation_id in organisations]
    assert open_obligations
    last_month = f"{today().replace(day=1) - timedelta(days=1):%Y-%m}"
    for obligation in open_obligations:
        reminders = list(db.session.scalars(select(ObligationReminder).where(
            ObligationReminder.obligation_id == obligation.id)))
        assert [r.month for r in reminders] == [last_month]


def test_mentor1_has_companies_sessions_and_notes_to_write(demo_db):
    c = cohort("Business Accelerator 2026 cohort")
    mentor1 = db.session.scalar(select(MentorProfile).join(User).where(User.email == f"mentor1@{DOMAIN}"))
    mine = [m for m in db.session.scalars(select(Mentorship).join(CohortMember).where(
        CohortMember.cohort_id == c.id, Mentorship.mentor_id == mentor1.id))]
    assert len(mine) >= 2
    own = [s for s in sessions(c) if s.mentor_id == mentor1.id and s.kind == "one_to_one"]
    now = utcnow()
    assert any(s.starts_at > now for s in own)
    to_write = [s for s in own if s.starts_at <= now and any(a.attended for a in s.attendance) and not s.notes]
    assert to_write


def test_seals_verify_through_the_public_page_and_the_board_opens(app, loaded):
    with app.app_context():
        seals = list(db.session.scalars(select(Seal).join(CohortMember).where(
            CohortMember.cohort_id == cohort("Business Accelerator 2025 cohort").id)))
        valid = next(s for s in seals if s.revoked_at is None)
        revoked = next(s for s in seals if s.revoked_at is not None)
        valid_company = valid.member.organisation.legal_name
        revoked_company = revoked.member.organisation.legal_name
        running = cohort("Business Accelerator 2026 cohort").id
        db.session.remove()
    public = app.test_client()
    text = public.get(f"/verify/{valid.code.lower()}").get_data(as_text=True)
    assert "This Seal of Excellence is valid." in text and valid_company in text and "2025" in text
    text = public.get("/verify", query_string={"code": revoked.code}).get_data(as_text=True)
    assert "This Seal of Excellence was revoked." in text and revoked_company not in text

    mentor = app.test_client()
    login(mentor, f"mentor1@{DOMAIN}", PASSWORD)
    assert mentor.get(f"/cohorts/{running}/board").status_code == 200
    authority = app.test_client()
    login(authority, f"authority@{DOMAIN}", PASSWORD)
    html = authority.get("/cohorts/loan-eligible", query_string={"year": 2025}).get_data(as_text=True)
    assert "6 imprese" in html  # the demo's authority officer reads Italian
    assert valid_company in html and revoked_company not in html


def fingerprint() -> str:
    """Every cohorts row without row ids (they differ between loads on PostgreSQL)."""
    rows: list = []
    for c in db.session.scalars(select(Cohort).order_by(Cohort.name)):
        rows.append((c.name, c.edition.year, c.call and c.call.title, c.starts_on, c.ends_on, c.status,
                     c.incubation_months, c.min_hours, c.min_sessions, c.min_milestones,
                     sorted(t.code for t in c.themes)))
        for m in sorted(members(c), key=lambda m: m.organisation.vat_number):
            rows.append((m.organisation.vat_number, m.goals, m.completion, m.completion_note, m.loan_eligible,
                         m.completion_decided_at, sorted((n.theme.code, n.level) for n in m.needs)))
        rows.append(sorted(repr((s.kind, s.title, s.starts_at, s.duration_minutes, s.place, s.online_url,
                                 s.coach_name, s.mentor and s.mentor.user.email,
                                 sorted(i.organisation.vat_number for i in s.invitees),
                                 sorted((a.member.organisation.vat_number, a.attended) for a in s.attendance),
                                 sorted((n.member.organisation.vat_number, n.body) for n in s.notes)))
                           for s in sessions(c)))
    rows.append(sorted(repr((m.member.organisation.vat_number, m.title, m.due_on, m.status))
                       for m in db.session.scalars(select(Milestone))))
    rows.append(sorted(repr((s.member.organisation.vat_number, s.code, s.issued_on, s.revoked_at))
                       for s in db.session.scalars(select(Seal))))
    rows.append(sorted(repr((p.user.email, p.capacity, p.languages, sorted(t.code for t in p.themes)))
                       for p in db.session.scalars(select(MentorProfile))))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_two_loads_write_the_same_cohorts(app, loaded):
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
