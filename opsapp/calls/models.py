"""Programmes, editions, calls, applications and their evaluation.

A programme (Business Accelerator or Meet the Buyer) has editions by year; an
edition opens calls. A call carries its rules (eligibility, the application form's
questions, the evaluation criteria) which freeze when it is published. Organisations
apply; an application is a draft until submitted, then frozen; a new submission is
a new version and the old one is kept. Evaluators are assigned to applications,
declare conflicts of interest, and score each criterion; staff moderate divergent
scores with a consensus, rank, and decide.

The lifecycles (call, application, assignment) live in `states.py`; the rules in
`eligibility.py` and `scoring.py`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.models import Organisation, S3Domain, User
from opsapp.core.modelling import BilingualName, sql_in
from opsapp.core.models import StoredFile
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db

# --- programmes and editions ---------------------------------------------------------


class ProgrammeKind(enum.StrEnum):
    ACCELERATOR = "accelerator"
    MEET_THE_BUYER = "meet_the_buyer"

    @property
    def label(self) -> str:
        return str({ProgrammeKind.ACCELERATOR: _l("Business Accelerator"),
                    ProgrammeKind.MEET_THE_BUYER: _l("Meet the Buyer")}[self])

    @property
    def slug(self) -> str:
        return self.value.replace("_", "-")


class Programme(BilingualName, db.Model):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_it: Mapped[str] = mapped_column(String(120))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_it: Mapped[str | None] = mapped_column(Text)

    editions: Mapped[list[Edition]] = relationship(back_populates="programme", order_by="Edition.year")

    __table_args__ = (CheckConstraint(f"kind IN {sql_in(ProgrammeKind)}", name="known_kind"),)



class Edition(db.Model):
    """One year of a programme, delivered by an implementing organisation with a budget."""

    __tablename__ = "editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    implementing_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    budget: Mapped[Decimal | None] = mapped_column(Money)
    starts_on: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_on: Mapped[datetime | None] = mapped_column(UTCDateTime)

    programme: Mapped[Programme] = relationship(back_populates="editions")
    implementing_organisation: Mapped[Organisation | None] = relationship()
    calls: Mapped[list[Call]] = relationship(back_populates="edition", order_by="Call.opens_at")

    __table_args__ = (
        UniqueConstraint("programme_id", "year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="plausible_year"),
        CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
    )


# --- calls ---------------------------------------------------------------------------


class CallStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    IN_EVALUATION = "in_evaluation"
    DECIDED = "decided"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return str(CALL_STATUS_LABELS[self])


CALL_STATUS_LABELS = {
    CallStatus.DRAFT: _l("Draft"),
    CallStatus.OPEN: _l("Open"),
    CallStatus.CLOSED: _l("Closed"),
    CallStatus.IN_EVALUATION: _l("In evaluation"),
    CallStatus.DECIDED: _l("Decided"),
    CallStatus.ARCHIVED: _l("Archived"),
}


class CallAudience(enum.StrEnum):
    COMPANIES = "companies"  # start-ups and SMEs apply to take part
    PROVIDERS = "providers"  # hubs, incubators, parks apply to deliver the edition


class Aggregation(enum.StrEnum):
    MEAN = "mean"
    MEDIAN = "median"


call_s3_domains = Table(
    "call_s3_domains",
    db.metadata,
    Column("call_id", ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    Column("s3_domain_id", ForeignKey("s3_domains.id", ondelete="CASCADE"), primary_key=True),
)


class Call(db.Model):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id"), index=True)
    audience: Mapped[str] = mapped_column(String(12), default=CallAudience.COMPANIES)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.DRAFT, index=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Rome")
    places: Mapped[int] = mapped_column(Integer, default=10)
    # Organisation kinds that may apply (OrganisationKind values).
    eligible_kinds: Mapped[list] = mapped_column(JSON, default=list)
    # Eligibility rules switched on, by code, with their parameters (see eligibility.RULES).
    eligibility_rules: Mapped[dict] = mapped_column(JSON, default=dict)
    evaluators_per_application: Mapped[int] = mapped_column(Integer, default=3)
    evaluation_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    aggregation: Mapped[str] = mapped_column(String(8), default=Aggregation.MEAN)
    divergence: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("2"))
    overall_threshold: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))

    edition: Mapped[Edition] = relationship(back_populates="calls")
    s3_domains: Mapped[list[S3Domain]] = relationship(secondary=call_s3_domains, lazy="selectin")
    questions: Mapped[list[Question]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="(Question.page, Question.position)"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Criterion.position"
    )
    applications: Mapped[list[Application]] = relationship(back_populates="call")

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(CallStatus)}", name="known_status"),
        CheckConstraint(f"audience IN {sql_in(CallAudience)}", name="known_audience"),
        CheckConstraint(f"aggregation IN {sql_in(Aggregation)}", name="known_aggregation"),
        CheckConstraint("places >= 1", name="places_positive"),
        CheckConstraint("evaluators_per_application BETWEEN 1 AND 10", name="evaluators_in_range"),
        CheckConstraint("divergence > 0", name="divergence_positive"),
        CheckConstraint("opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at", name="opens_before_closing"),
        # Once published, a call has its dates.
        CheckConstraint("status = 'draft' OR (opens_at IS NOT NULL AND closes_at IS NOT NULL)", name="dates_when_published"),
    )

    @property
    def status_enum(self) -> CallStatus:
        return CallStatus(self.status)

    @property
    def programme_kind(self) -> ProgrammeKind:
        return ProgrammeKind(self.edition.programme.kind)


class QuestionKind(enum.StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    FILE = "file"


class BaselineKey(enum.StrEnum):
    """The last closed financial year's figures that the KPI module follows for three years."""

    YEAR = "baseline_year"
    TURNOVER = "turnover"
    EXPORT_TURNOVER = "export_turnover"
    EMPLOYEES_FTE = "employees_fte"
    HIGH_SKILL_FTE = "high_skill_fte"
    INVESTMENT_RAISED = "investment_raised"


class Question(db.Model):
    """One question of a call's application form; `page` groups questions into steps."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    page: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str | None] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    max_length: Mapped[int | None] = mapped_column(Integer)
    min_value: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    max_value: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    choices: Mapped[list] = mapped_column(JSON, default=list)
    file_kinds: Mapped[list] = mapped_column(JSON, default=list)  # core.files.KINDS keys
    max_file_mb: Mapped[int | None] = mapped_column(Integer)
    baseline_key: Mapped[str | None] = mapped_column(String(20))

    call: Mapped[Call] = relationship(back_populates="questions")

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(QuestionKind)}", name="known_kind"),
        CheckConstraint("page >= 1", name="page_positive"),
        CheckConstraint("max_length IS NULL OR max_length > 0", name="max_length_positive"),
        UniqueConstraint("call_id", "baseline_key"),
    )


class Criterion(db.Model):
    """An evaluation criterion; `position` is also the priority order that breaks ties."""

    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("1"))
    max_score: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("5"))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(5, 1), default=Decimal("3"))

    call: Mapped[Call] = relationship(back_populates="criteria")

    __table_args__ = (
        CheckConstraint("weight > 0", name="weight_positive"),
        CheckConstraint("max_score > 0", name="max_positive"),
        CheckConstraint("threshold IS NULL OR (threshold >= 0 AND threshold <= max_score)", name="threshold_in_range"),
    )


# --- applications --------------------------------------------------------------------


class ApplicationStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # an older version, replaced by a resubmission

    @property
    def label(self) -> str:
        return str(APPLICATION_STATUS_LABELS[self])


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.DRAFT: _l("Draft"),
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
    ApplicationStatus.SUPERSEDED: _l("Replaced by a newer version"),
}
LIVE_APPLICATION_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)


class Eligibility(enum.StrEnum):
    PENDING = "pending"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"


class Outcome(enum.StrEnum):
    SELECTED = "selected"
    RESERVE = "reserve"
    REJECTED = "rejected"


class PlaceStatus(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Application(db.Model):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default=ApplicationStatus.DRAFT, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    # The organisation's id while the application is live (draft or submitted), NULL otherwise:
    # the unique key below allows one live application per organisation and call.
    live_key: Mapped[int | None] = mapped_column(Integer)
    current_page: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Declarations asked of every applicant.
    comparison_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    relocation_commitment: Mapped[bool] = mapped_column(Boolean, default=False)
    deminimis_declared: Mapped[Decimal | None] = mapped_column(Money)
    product_on_market: Mapped[bool | None] = mapped_column(Boolean)
    paying_clients: Mapped[int | None] = mapped_column(Integer)
    # Eligibility: computed at submission, confirmed or overridden by staff.
    eligibility_results: Mapped[list] = mapped_column(JSON, default=list)
    eligibility_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    eligibility: Mapped[str] = mapped_column(String(12), default=Eligibility.PENDING)
    eligibility_reason: Mapped[str | None] = mapped_column(Text)
    eligibility_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    eligibility_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Ranking and decision.
    weighted_total: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    rank: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(10))
    reserve_position: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place_status: Mapped[str | None] = mapped_column(String(10))
    place_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="applications")
    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    previous: Mapped[Application | None] = relationship(remote_side=[id])
    answers: Mapped[list[Answer]] = relationship(back_populates="application", cascade="all, delete-orphan")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="application")

    __table_args__ = (
        UniqueConstraint("call_id", "live_key"),
        CheckConstraint(f"status IN {sql_in(ApplicationStatus)}", name="known_status"),
        CheckConstraint(f"eligibility IN {sql_in(Eligibility)}", name="known_eligibility"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {sql_in(Outcome)}", name="known_outcome"),
        CheckConstraint(f"place_status IS NULL OR place_status IN {sql_in(PlaceStatus)}", name="known_place_status"),
        CheckConstraint("(status IN ('draft', 'submitted')) = (live_key IS NOT NULL)", name="live_key_when_live"),
        CheckConstraint("status = 'draft' OR submitted_at IS NOT NULL OR status = 'withdrawn'", name="submitted_has_time"),
        CheckConstraint("deminimis_declared IS NULL OR deminimis_declared >= 0", name="deminimis_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("paying_clients IS NULL OR paying_clients >= 0", name="clients_not_negative"),
    )

    @property
    def status_enum(self) -> ApplicationStatus:
        return ApplicationStatus(self.status)

    def answer_for(self, question_id: int) -> Answer | None:
        return next((a for a in self.answers if a.question_id == question_id), None)


class Answer(db.Model):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    value: Mapped[object | None] = mapped_column(JSON)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))

    application: Mapped[Application] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    file: Mapped[StoredFile | None] = relationship()

    __table_args__ = (UniqueConstraint("application_id", "question_id"),)


class Obligation(db.Model):
    """Something a company committed to when applying, followed until it is done (moving its seat)."""

    __tablename__ = "obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="relocate_seat")
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('open', 'fulfilled', 'waived')", name="known_status"),
        UniqueConstraint("application_id", "kind"),
    )


# --- evaluation ----------------------------------------------------------------------


evaluator_s3_domains = Table(
    "evaluator_s3_domains",
    db.metadata,
    Column("evaluator_profile_id", ForeignKey("evaluator_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("s3_domain_id", ForeignKey("s3_domains.id", ondelete="CASCADE"), primary_key=True),
)


class EvaluatorProfile(db.Model):
    """An independent expert's profile: expertise by S3 domain, languages."""

    __tablename__ = "evaluator_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    expertise: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    max_assignments: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User] = relationship()
    s3_domains: Mapped[list[S3Domain]] = relationship(secondary=evaluator_s3_domains, lazy="selectin")


class AssignmentStatus(enum.StrEnum):
    ASSIGNED = "assigned"  # waiting for the conflict-of-interest declaration
    ACCEPTED = "accepted"  # declared no conflict: may read and score
    CONFLICT = "conflict"  # declared a conflict: removed, never proposed again
    SUBMITTED = "submitted"  # scores submitted, frozen
    REMOVED = "removed"  # taken off by staff

    @property
    def label(self) -> str:
        return str(ASSIGNMENT_STATUS_LABELS[self])


ASSIGNMENT_STATUS_LABELS = {
    AssignmentStatus.ASSIGNED: _l("To declare"),
    AssignmentStatus.ACCEPTED: _l("To score"),
    AssignmentStatus.CONFLICT: _l("Conflict declared"),
    AssignmentStatus.SUBMITTED: _l("Submitted"),
    AssignmentStatus.REMOVED: _l("Removed"),
}
ACTIVE_ASSIGNMENT_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED, AssignmentStatus.SUBMITTED)


class Assignment(db.Model):
    """An evaluator's evaluation of one application: declaration, draft scores, submission."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=AssignmentStatus.ASSIGNED, index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conflict_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship(back_populates="assignments")
    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id])
    scores: Mapped[list[Score]] = relationship(back_populates="assignment", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("application_id", "evaluator_id"),
        CheckConstraint(f"status IN {sql_in(AssignmentStatus)}", name="known_status"),
        CheckConstraint("status != 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_time"),
    )

    @property
    def status_enum(self) -> AssignmentStatus:
        return AssignmentStatus(self.status)


class Score(db.Model):
    """One criterion's score and comment in an evaluation (empty while a draft)."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"), index=True)
    value: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    comment: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[Assignment] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()

    __table_args__ = (
        UniqueConstraint("assignment_id", "criterion_id"),
        CheckConstraint("value IS NULL OR value >= 0", name="value_not_negative"),
    )


class Consensus(db.Model):
    """Staff's moderated score for a divergent criterion; replaces the aggregate, keeps the individual scores."""

    __tablename__ = "consensus_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    value: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    justification: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criterion: Mapped[Criterion] = relationship()

    __table_args__ = (
        UniqueConstraint("application_id", "criterion_id"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )


class CallReminder(db.Model):
    """A reminder sent for a call (deadline in 7 days, in 1 day): sent once, whatever reruns."""

    __tablename__ = "call_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("call_id", "kind"),)


Index("ix_applications_call_status", Application.call_id, Application.status)
