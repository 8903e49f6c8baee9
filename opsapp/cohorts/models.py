"""The Accelerator cohort: the selected companies of a decided call going through 3 to 6 months
of coaching and mentoring, with milestones, investor introductions and a Seal of Excellence.

A cohort belongs to an Accelerator edition and its decided call; its members are the accepted
places (reserve replacements included). Coaching themes are an editable list. Mentors have a
profile (themes, S3 domains, languages, capacity) and are paired with companies (`Mentorship`)
after `matching.py` proposes pairs. Sessions (group coaching or one-to-one mentoring) carry
attendance and notes; milestones are agreed per company; investor introductions record what
came of them; completion gives a Seal of Excellence with a public verification code.

The lifecycles (cohort, milestone, seal) live in `states.py`; matching in `matching.py`;
completion criteria in `completion.py`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.models import Organisation, S3Domain, User
from opsapp.calls.models import Application, Call, Edition
from opsapp.core.modelling import BilingualName, LabelledEnum, label_with, sql_in
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db


class CoachingTheme(BilingualName, db.Model):
    """A coaching theme offered (entrepreneurial finance, international marketing, ...); editable."""

    __tablename__ = "coaching_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_it: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)



# --- the cohort ---------------------------------------------------------------------------------


class CohortStatus(LabelledEnum):
    PLANNED = "planned"
    RUNNING = "running"
    COMPLETED = "completed"


cohort_themes = Table(
    "cohort_themes",
    db.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("coaching_themes.id"), primary_key=True),
)


class Cohort(db.Model):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    incubation_months: Mapped[int] = mapped_column(Integer, default=0)  # 0: none; 12: a year of incubation
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Rome")
    # Completion criteria: at least these hours and sessions attended, and these milestones achieved.
    min_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("20"))
    min_sessions: Mapped[int] = mapped_column(Integer, default=0)
    min_milestones: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default=CohortStatus.PLANNED.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    edition: Mapped[Edition] = relationship()
    call: Mapped[Call | None] = relationship()
    themes: Mapped[list[CoachingTheme]] = relationship(secondary=cohort_themes, order_by=CoachingTheme.code)
    members: Mapped[list[CohortMember]] = relationship(back_populates="cohort", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(CohortStatus)}", name="known_status"),
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        CheckConstraint("incubation_months IN (0, 12)", name="incubation_none_or_year"),
        CheckConstraint("min_hours >= 0 AND min_sessions >= 0 AND min_milestones >= 0", name="criteria_not_negative"),
    )

    @property
    def status_enum(self) -> CohortStatus:
        return CohortStatus(self.status)


class CompletionStatus(LabelledEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"      # confirmed by staff: a seal is issued
    NOT_COMPLETED = "not_completed"
    WITHDRAWN = "withdrawn"


class CohortMember(db.Model):
    """A company in the cohort, with its needs assessment and its completion."""

    __tablename__ = "cohort_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    goals: Mapped[str | None] = mapped_column(Text)
    needs_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion: Mapped[str] = mapped_column(String(20), default=CompletionStatus.IN_PROGRESS.value)
    completion_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completion_note: Mapped[str | None] = mapped_column(Text)
    loan_eligible: Mapped[bool] = mapped_column(Boolean, default=False)  # for the regional loan schemes
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    organisation: Mapped[Organisation] = relationship()
    application: Mapped[Application | None] = relationship()
    needs: Mapped[list[Need]] = relationship(back_populates="member", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("cohort_id", "organisation_id"),
        CheckConstraint(f"completion IN {sql_in(CompletionStatus)}", name="known_completion"),
    )

    @property
    def name(self) -> str:
        return self.organisation.legal_name


class Need(db.Model):
    """How much a company needs a coaching theme (0 none to 3 high), stated at the start."""

    __tablename__ = "cohort_needs"

    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("coaching_themes.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    member: Mapped[CohortMember] = relationship(back_populates="needs")
    theme: Mapped[CoachingTheme] = relationship()

    __table_args__ = (CheckConstraint("level BETWEEN 0 AND 3", name="level_range"),)


# --- mentors --------------------------------------------------------------------------------------


mentor_themes = Table(
    "mentor_themes",
    db.metadata,
    Column("mentor_id", ForeignKey("mentor_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("coaching_themes.id"), primary_key=True),
)

mentor_s3_domains = Table(
    "mentor_s3_domains",
    db.metadata,
    Column("mentor_id", ForeignKey("mentor_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("s3_domain_id", ForeignKey("s3_domains.id"), primary_key=True),
)


class MentorProfile(db.Model):
    __tablename__ = "mentor_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))  # their employer
    bio: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=3)  # companies at a time
    availability: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    themes: Mapped[list[CoachingTheme]] = relationship(secondary=mentor_themes, order_by=CoachingTheme.code)
    s3_domains: Mapped[list[S3Domain]] = relationship(secondary=mentor_s3_domains, order_by=S3Domain.code)

    __table_args__ = (CheckConstraint("capacity BETWEEN 0 AND 50", name="capacity_range"),)


class MentorConflict(db.Model):
    """A conflict of interest a mentor declared with an organisation."""

    __tablename__ = "mentor_conflicts"

    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mentorship(db.Model):
    """A mentor paired with a company of a cohort (proposed, then confirmed by staff)."""

    __tablename__ = "mentorships"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentor_profiles.id"), index=True)
    fit: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[CohortMember] = relationship()
    mentor: Mapped[MentorProfile] = relationship()

    __table_args__ = (UniqueConstraint("member_id", "mentor_id"),)


# --- sessions ---------------------------------------------------------------------------------------


class SessionKind(LabelledEnum):
    GROUP = "group"          # group coaching on a theme
    ONE_TO_ONE = "one_to_one"  # mentoring of one company


session_invitees = Table(
    "coaching_session_invitees",
    db.metadata,
    Column("session_id", ForeignKey("coaching_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("cohort_members.id", ondelete="CASCADE"), primary_key=True),
)


class CoachingSession(db.Model):
    __tablename__ = "coaching_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_themes.id"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    place: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(300))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor_profiles.id"))  # the mentor or coach
    coach_name: Mapped[str | None] = mapped_column(String(200))  # an outside coach without an account
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    cohort: Mapped[Cohort] = relationship()
    theme: Mapped[CoachingTheme | None] = relationship()
    mentor: Mapped[MentorProfile | None] = relationship()
    invitees: Mapped[list[CohortMember]] = relationship(secondary=session_invitees)
    attendance: Mapped[list[Attendance]] = relationship(back_populates="session", cascade="all, delete-orphan")
    notes: Mapped[list[SessionNote]] = relationship(back_populates="session", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(SessionKind)}", name="known_kind"),
        CheckConstraint("duration_minutes BETWEEN 15 AND 600", name="plausible_duration"),
    )


class Attendance(db.Model):
    __tablename__ = "coaching_attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), primary_key=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    session: Mapped[CoachingSession] = relationship(back_populates="attendance")
    member: Mapped[CohortMember] = relationship()


class SessionNote(db.Model):
    """The mentor's note on a session for one company: private to staff and that company."""

    __tablename__ = "coaching_session_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    session: Mapped[CoachingSession] = relationship(back_populates="notes")
    member: Mapped[CohortMember] = relationship()

    __table_args__ = (UniqueConstraint("session_id", "member_id"),)


# --- milestones, investors, seals ---------------------------------------------------------------------


class MilestoneStatus(LabelledEnum):
    PLANNED = "planned"
    REPORTED = "reported"    # the company says it is achieved, with evidence
    CONFIRMED = "confirmed"  # the mentor or staff confirmed it
    MISSED = "missed"


class Milestone(db.Model):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_themes.id"))
    due_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=MilestoneStatus.PLANNED.value)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_reminded_on: Mapped[date | None] = mapped_column(Date)

    member: Mapped[CohortMember] = relationship()
    theme: Mapped[CoachingTheme | None] = relationship()

    __table_args__ = (CheckConstraint(f"status IN {sql_in(MilestoneStatus)}", name="known_status"),)


class IntroductionOutcome(LabelledEnum):
    PENDING = "pending"
    MEETING_HELD = "meeting_held"
    TERM_SHEET = "term_sheet"
    INVESTMENT = "investment"
    NONE = "none"


class InvestmentType(LabelledEnum):
    EQUITY = "equity"
    CONVERTIBLE = "convertible"
    LOAN = "loan"
    GRANT = "grant"


class InvestorIntroduction(db.Model):
    __tablename__ = "investor_introductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id", ondelete="CASCADE"), index=True)
    investor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    introduced_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(20), default=IntroductionOutcome.PENDING.value)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    investment_type: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[CohortMember] = relationship()
    investor: Mapped[Organisation] = relationship()

    __table_args__ = (
        CheckConstraint(f"outcome IN {sql_in(IntroductionOutcome)}", name="known_outcome"),
        CheckConstraint(f"investment_type IS NULL OR investment_type IN {sql_in(InvestmentType)}", name="known_type"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("outcome <> 'investment' OR (amount IS NOT NULL AND investment_type IS NOT NULL)",
                        name="investment_has_amount"),
    )


class Seal(db.Model):
    """The Seal of Excellence of a company that completed: a public verification code."""

    __tablename__ = "seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("cohort_members.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    member: Mapped[CohortMember] = relationship()


class ObligationReminder(db.Model):
    """One reminder of an open obligation per calendar month (so a rerun sends nothing)."""

    __tablename__ = "obligation_reminders"

    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


label_with({
    CohortStatus: {CohortStatus.PLANNED: _l("Planned"), CohortStatus.RUNNING: _l("Running"),
                   CohortStatus.COMPLETED: _l("Completed")},
    CompletionStatus: {CompletionStatus.IN_PROGRESS: _l("In progress"), CompletionStatus.COMPLETED: _l("Completed"),
                       CompletionStatus.NOT_COMPLETED: _l("Not completed"),
                       CompletionStatus.WITHDRAWN: _l("Withdrawn")},
    SessionKind: {SessionKind.GROUP: _l("Group coaching"), SessionKind.ONE_TO_ONE: _l("One-to-one mentoring")},
    MilestoneStatus: {MilestoneStatus.PLANNED: _l("Planned"), MilestoneStatus.REPORTED: _l("Reported achieved"),
                      MilestoneStatus.CONFIRMED: _l("Confirmed"), MilestoneStatus.MISSED: _l("Missed")},
    IntroductionOutcome: {IntroductionOutcome.PENDING: _l("Waiting for news"),
                          IntroductionOutcome.MEETING_HELD: _l("Meeting held"),
                          IntroductionOutcome.TERM_SHEET: _l("Term sheet"),
                          IntroductionOutcome.INVESTMENT: _l("Investment"),
                          IntroductionOutcome.NONE: _l("No follow-up")},
    InvestmentType: {InvestmentType.EQUITY: _l("Equity"), InvestmentType.CONVERTIBLE: _l("Convertible note"),
                     InvestmentType.LOAN: _l("Loan"), InvestmentType.GRANT: _l("Grant")},
})
