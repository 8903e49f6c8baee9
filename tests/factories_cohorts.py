"""Builders for Accelerator cohorts, through the real models (no mocks).

`make_cohort(status=CohortStatus.RUNNING)` gives a cohort of the 2027 Accelerator edition with
the three usual coaching themes, running from a month ago for five months;
`make_member(cohort, user=...)` adds a company (with `user` as a member);
`make_mentor(user=None, themes=..., capacity=3)` a mentor with a profile;
`make_session(cohort, members, mentor=None)` a session.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import (
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    MentorProfile,
    SessionKind,
)
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.factories import make_organisation, make_user
from tests.factories_calls import make_edition

THEMES = (
    ("entrepreneurial_finance", "Entrepreneurial finance", "Finanza imprenditoriale"),
    ("international_marketing", "International marketing", "Marketing internazionale"),
    ("human_resources", "Human resources and talent scouting", "Risorse umane e ricerca di talenti"),
)


def make_themes() -> list[CoachingTheme]:
    existing = {t.code: t for t in db.session.scalars(select(CoachingTheme))}
    for code, en, it in THEMES:
        if code not in existing:
            existing[code] = CoachingTheme(code=code, name_en=en, name_it=it)
            db.session.add(existing[code])
    db.session.flush()
    return [existing[code] for code, _, _ in THEMES]


def make_cohort(status: CohortStatus = CohortStatus.RUNNING, **fields) -> Cohort:
    today = utcnow().date()
    cohort = Cohort(
        edition_id=fields.pop("edition_id", None) or make_edition(2027, ProgrammeKind.ACCELERATOR).id,
        name=fields.pop("name", "Business Accelerator 2027 cohort"),
        starts_on=fields.pop("starts_on", today - timedelta(days=30)),
        ends_on=fields.pop("ends_on", today + timedelta(days=120)),
        status=status.value,
        min_hours=fields.pop("min_hours", Decimal("6")),
        min_sessions=fields.pop("min_sessions", 2),
        min_milestones=fields.pop("min_milestones", 1),
        **fields,
    )
    cohort.themes = make_themes()
    db.session.add(cohort)
    db.session.flush()
    return cohort


def make_member(cohort: Cohort, user=None, organisation=None, **fields) -> CohortMember:
    if user is None:
        user = make_user(roles=(Role.APPLICANT,))
    if organisation is None:
        organisation = make_organisation(kind="startup", members=[user])
    member = CohortMember(cohort_id=cohort.id, organisation_id=organisation.id, **fields)
    db.session.add(member)
    db.session.flush()
    return member


def make_mentor(user=None, themes=None, capacity: int = 3, **fields) -> MentorProfile:
    if user is None:
        user = make_user(roles=(Role.MENTOR,))
    mentor = MentorProfile(user_id=user.id, capacity=capacity, languages=fields.pop("languages", ["en", "it"]),
                           bio=fields.pop("bio", "Former CFO of a scale-up; angel investor."), **fields)
    mentor.themes = list(themes) if themes is not None else make_themes()[:1]
    db.session.add(mentor)
    db.session.flush()
    return mentor


def make_session(cohort: Cohort, members=(), mentor: MentorProfile | None = None,
                 kind: SessionKind = SessionKind.GROUP, **fields) -> CoachingSession:
    session = CoachingSession(
        cohort_id=cohort.id, kind=kind.value,
        theme_id=fields.pop("theme_id", None) or make_themes()[0].id,
        title=fields.pop("title", "Pitching to investors"),
        starts_at=fields.pop("starts_at", utcnow() - timedelta(days=7)),
        duration_minutes=fields.pop("duration_minutes", 120),
        place=fields.pop("place", "Torino Wireless, Via Nizza 262"),
        mentor_id=mentor.id if mentor else None,
        **fields,
    )
    session.invitees = list(members)
    db.session.add(session)
    db.session.flush()
    return session
