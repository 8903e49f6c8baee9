"""The progress board of a cohort: one row per company with its attendance, hours (in all and
per theme), milestones, mentor, open obligations, completion, and whether it meets the
completion criteria now (`completion.assess`) with the reasons.

Staff see every company; a mentor sees the companies of their confirmed mentorships only
(none: 404). The board is read in a fixed number of queries whatever the number of
companies: the members, then one grouped query per figure (sessions invited, attendance and
hours, milestones, mentors, obligations, seals), then the cohort's themes.

The hours and sessions attended and the milestones achieved are those of the sessions and
progress services (`sessions.hours_by_member`, `sessions.sessions_attended`,
`progress.milestones_achieved`): attended sessions not cancelled, confirmed milestones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import abort
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Organisation
from opsapp.calls.models import Obligation
from opsapp.cohorts import completion, progress, sessions
from opsapp.cohorts.models import (
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    CompletionStatus,
    MentorProfile,
    Mentorship,
    Milestone,
    MilestoneStatus,
    Seal,
    session_invitees,
)
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db

CENT = Decimal("0.01")
OPEN_MILESTONE = (MilestoneStatus.PLANNED.value, MilestoneStatus.REPORTED.value)


@dataclass
class Row:
    member: CohortMember
    invited: int = 0
    attended: int = 0
    hours_by_theme: dict[int | None, Decimal] = field(default_factory=dict)
    milestones_confirmed: int = 0
    milestones_agreed: int = 0
    milestones_overdue: int = 0
    mentors: list[str] = field(default_factory=list)
    open_obligations: list[Obligation] = field(default_factory=list)
    seal: Seal | None = None
    assessment: completion.Assessment | None = None

    @property
    def name(self) -> str:
        return self.member.organisation.legal_name

    @property
    def hours(self) -> Decimal:
        return sum(self.hours_by_theme.values(), Decimal(0)).quantize(CENT)

    @property
    def completion(self) -> CompletionStatus:
        return CompletionStatus(self.member.completion)

    @property
    def meets(self) -> bool:
        return bool(self.assessment and self.assessment.met)

    @property
    def attendance_rate(self) -> Decimal | None:
        return None if not self.invited else Decimal(self.attended) / Decimal(self.invited)


@dataclass
class Board:
    cohort: Cohort
    themes: list[CoachingTheme]
    rows: list[Row]
    criteria: completion.Criteria
    sort: str = "name"

    @property
    def meeting(self) -> int:
        return sum(1 for row in self.rows if row.meets)

    @property
    def has_unthemed_hours(self) -> bool:
        return any(None in row.hours_by_theme for row in self.rows)


SORTS = {
    "name": lambda r: r.name.casefold(),
    "attendance": lambda r: (r.attended, r.invited),
    "hours": lambda r: r.hours,
    "milestones": lambda r: (r.milestones_confirmed, r.milestones_agreed),
    "overdue": lambda r: r.milestones_overdue,
    "mentor": lambda r: ", ".join(r.mentors).casefold(),
    "obligations": lambda r: len(r.open_obligations),
    "completion": lambda r: r.member.completion,
    "meets": lambda r: r.meets,
}


def normalise_sort(value: str | None) -> str:
    value = (value or "name").strip()
    key = value.lstrip("-")
    return value if key in SORTS else "name"


# --- the figures (one grouped query each) ----------------------------------------------------------


def _local_today(cohort: Cohort, now: datetime) -> date:
    return to_local(now, cohort.timezone or "Europe/Rome").date()


def _invited(cohort_id: int, now: datetime) -> dict[int, int]:
    """Sessions held so far (started, not cancelled) to which each member was invited."""
    rows = db.session.execute(
        select(session_invitees.c.member_id, func.count(session_invitees.c.session_id))
        .join(CoachingSession, CoachingSession.id == session_invitees.c.session_id)
        .where(CoachingSession.cohort_id == cohort_id, CoachingSession.cancelled_at.is_(None),
               CoachingSession.starts_at <= now)
        .group_by(session_invitees.c.member_id))
    return {member_id: int(count) for member_id, count in rows}


def _milestones(cohort_id: int, today: date) -> dict[int, tuple[int, int]]:
    """(agreed, overdue) per member: overdue are planned or reported past their due date."""
    overdue = case((Milestone.status.in_(OPEN_MILESTONE) & (Milestone.due_on < today), 1), else_=0)
    rows = db.session.execute(
        select(Milestone.member_id, func.count(Milestone.id), func.sum(overdue))
        .join(CohortMember, CohortMember.id == Milestone.member_id)
        .where(CohortMember.cohort_id == cohort_id)
        .group_by(Milestone.member_id))
    return {member_id: (int(agreed), int(late or 0)) for member_id, agreed, late in rows}


def _mentors(cohort_id: int) -> dict[int, list[str]]:
    """Each member's current mentors; for a member with none current (a cohort that ended), the
    mentors it had."""
    rows = db.session.scalars(
        select(Mentorship)
        .join(CohortMember, CohortMember.id == Mentorship.member_id)
        .where(CohortMember.cohort_id == cohort_id, Mentorship.confirmed_at.is_not(None))
        .options(joinedload(Mentorship.mentor).joinedload(MentorProfile.user))
        .order_by(Mentorship.id))
    current: dict[int, list[str]] = defaultdict(list)
    former: dict[int, list[str]] = defaultdict(list)
    for mentorship in rows:
        kept = former if mentorship.ended_at is not None else current
        kept[mentorship.member_id].append(mentorship.mentor.user.display_name)
    return {member_id: current.get(member_id) or former[member_id] for member_id in {*current, *former}}


def _obligations(organisation_ids: list[int]) -> dict[int, list[Obligation]]:
    if not organisation_ids:
        return {}
    found: dict[int, list[Obligation]] = defaultdict(list)
    for obligation in db.session.scalars(
            select(Obligation).where(Obligation.organisation_id.in_(organisation_ids), Obligation.status == "open")
            .order_by(Obligation.id)):
        found[obligation.organisation_id].append(obligation)
    return dict(found)


def _seals(member_ids: list[int]) -> dict[int, Seal]:
    if not member_ids:
        return {}
    return {seal.member_id: seal for seal in db.session.scalars(select(Seal).where(Seal.member_id.in_(member_ids)))}


# --- who sees which rows ----------------------------------------------------------------------------


def mentored_member_ids(user, cohort_id: int) -> set[int]:
    """The members of the cohort the user mentors (confirmed, not ended)."""
    return set(db.session.scalars(
        select(Mentorship.member_id)
        .join(MentorProfile, MentorProfile.id == Mentorship.mentor_id)
        .join(CohortMember, CohortMember.id == Mentorship.member_id)
        .where(MentorProfile.user_id == user.id, CohortMember.cohort_id == cohort_id,
               Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None))))


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def visible_members(user, cohort: Cohort) -> set[int] | None:
    """None: every member (staff); else the ids of the mentor's companies (empty: nothing to see)."""
    if is_staff(user):
        return None
    return mentored_member_ids(user, cohort.id)


# --- the board -----------------------------------------------------------------------------------------


def board(user, cohort_id: int, sort: str | None = None, now: datetime | None = None) -> Board:
    """The board of the cohort as the user may see it; 404 for an unknown cohort or a mentor of
    none of its companies."""
    now = now or utcnow()
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    allowed = visible_members(user, cohort)
    if allowed is not None and not allowed:
        abort(404)
    query = (select(CohortMember).join(Organisation, Organisation.id == CohortMember.organisation_id)
             .where(CohortMember.cohort_id == cohort.id)
             .options(joinedload(CohortMember.organisation))
             .order_by(Organisation.legal_name, CohortMember.id))
    if allowed is not None:
        query = query.where(CohortMember.id.in_(allowed))
    members = list(db.session.scalars(query).unique())
    themes = list(db.session.scalars(
        select(CoachingTheme).join(Cohort.themes).where(Cohort.id == cohort.id).order_by(CoachingTheme.code)))
    rows = build_rows(cohort, members, now)
    sort = normalise_sort(sort)
    key = sort.lstrip("-")
    rows.sort(key=lambda r: r.name.casefold())
    rows.sort(key=SORTS[key], reverse=sort.startswith("-"))
    return Board(cohort, themes, rows, completion.Criteria.of(cohort), sort)


def build_rows(cohort: Cohort, members: list[CohortMember], now: datetime) -> list[Row]:
    if not members:
        return []
    today = _local_today(cohort, now)
    hours = sessions.hours_by_member(cohort.id)
    attended = sessions.sessions_attended(cohort.id)
    achieved = progress.milestones_achieved(cohort.id)
    invited = _invited(cohort.id, now)
    milestones = _milestones(cohort.id, today)
    mentors = _mentors(cohort.id)
    obligations = _obligations(sorted({m.organisation_id for m in members}))
    seals = _seals([m.id for m in members])
    criteria = completion.Criteria.of(cohort)
    rows = []
    for member in members:
        agreed, overdue = milestones.get(member.id, (0, 0))
        row = Row(member=member, invited=invited.get(member.id, 0), attended=attended.get(member.id, 0),
                  hours_by_theme=dict(hours.get(member.id, {})), milestones_confirmed=achieved.get(member.id, 0),
                  milestones_agreed=agreed, milestones_overdue=overdue, mentors=mentors.get(member.id, []),
                  open_obligations=obligations.get(member.organisation_id, []), seal=seals.get(member.id))
        row.assessment = completion.assess(row.hours, row.attended, row.milestones_confirmed, criteria)
        rows.append(row)
    return rows


def member_row(cohort: Cohort, member: CohortMember, now: datetime | None = None) -> Row:
    """One company's row (the completion page)."""
    return build_rows(cohort, [member], now or utcnow())[0]

