"""Monitoring of results: the companies followed for three years, their baselines and their
follow-up surveys; the targets staff set per edition; the Word reports produced; the tokens
of the authority's systems reading the JSON API; and what an authority user last saw.

A `FollowUp` is one company followed after one programme edition, either as a participant
(a cohort member, an SME that took part in an event) or as a member of the comparison
group (an eligible applicant that was not selected and agreed to be contacted). It holds
the baseline (the last closed financial year before the programme, copied from the
application and correctable by staff with a reason) and the date the programme ended for
it; the surveys are due 12, 24 and 36 months after that date.

A `Survey` is one wave of a follow-up: it opens when due, is answered by the company (or
entered by staff on its behalf) and is reminded until answered. The figures of a survey are
those of the last closed financial year before it.

The indicator catalogue itself is code (`catalogue.py`); the targets are rows here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.models import Organisation, User
from opsapp.calls.models import Application, Edition
from opsapp.core.modelling import LabelledEnum, label_with, sql_in
from opsapp.core.models import StoredFile
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db

WAVES = (12, 24, 36)  # months after the end of the programme


class FollowUpGroup(LabelledEnum):
    PARTICIPANT = "participant"
    COMPARISON = "comparison"


class FollowUpSource(LabelledEnum):
    COHORT = "cohort"        # a member of an Accelerator cohort
    EVENT = "event"          # an SME that took part in a Meet the Buyer event
    COMPARISON = "comparison"  # an eligible applicant not selected, who agreed to be contacted


class BaselineSource(LabelledEnum):
    APPLICATION = "application"  # copied from the application's baseline figures
    STAFF = "staff"              # entered or corrected by staff, with a reason
    MISSING = "missing"          # nothing to copy yet


class FundingSource(LabelledEnum):
    NONE = "none"
    PUBLIC = "public"
    PRIVATE = "private"
    BOTH = "both"


class SurveyStatus(LabelledEnum):
    OPEN = "open"
    ANSWERED = "answered"


class ReportStatus(LabelledEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


label_with({
    FollowUpGroup: {
        FollowUpGroup.PARTICIPANT: _l("Participant"),
        FollowUpGroup.COMPARISON: _l("Comparison group"),
    },
    FollowUpSource: {
        FollowUpSource.COHORT: _l("Accelerator cohort"),
        FollowUpSource.EVENT: _l("Meet the Buyer event"),
        FollowUpSource.COMPARISON: _l("Eligible applicant not selected"),
    },
    BaselineSource: {
        BaselineSource.APPLICATION: _l("From the application"),
        BaselineSource.STAFF: _l("Corrected by staff"),
        BaselineSource.MISSING: _l("Missing"),
    },
    FundingSource: {
        FundingSource.NONE: _l("None"),
        FundingSource.PUBLIC: _l("Public"),
        FundingSource.PRIVATE: _l("Private"),
        FundingSource.BOTH: _l("Public and private"),
    },
    SurveyStatus: {
        SurveyStatus.OPEN: _l("To answer"),
        SurveyStatus.ANSWERED: _l("Answered"),
    },
    ReportStatus: {
        ReportStatus.RUNNING: _l("Being written"),
        ReportStatus.DONE: _l("Ready"),
        ReportStatus.FAILED: _l("Failed"),
    },
})


class FollowUp(db.Model):
    """One company followed for three years after one programme edition, with its baseline."""

    __tablename__ = "kpi_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id"), index=True)
    group: Mapped[str] = mapped_column(String(12), default=FollowUpGroup.PARTICIPANT.value)
    source: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[int | None] = mapped_column(Integer)  # cohort member, event participant or application id
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    started_on: Mapped[date | None] = mapped_column(Date)  # when the support began (cohort start, event day)
    ended_on: Mapped[date] = mapped_column(Date)  # the surveys are due WAVES months after this
    # The baseline: the last closed financial year before the programme.
    baseline_source: Mapped[str] = mapped_column(String(12), default=BaselineSource.MISSING.value)
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    baseline_turnover: Mapped[Decimal | None] = mapped_column(Money)
    baseline_export_turnover: Mapped[Decimal | None] = mapped_column(Money)
    baseline_employees_fte: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    baseline_high_skill_fte: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    baseline_investment_raised: Mapped[Decimal | None] = mapped_column(Money)
    baseline_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    baseline_corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    baseline_correction_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    edition: Mapped[Edition] = relationship()
    application: Mapped[Application | None] = relationship()
    surveys: Mapped[list[Survey]] = relationship(back_populates="follow_up", cascade="all, delete-orphan",
                                                 order_by="Survey.wave")

    __table_args__ = (
        UniqueConstraint("organisation_id", "edition_id", name="one_follow_up_per_edition"),
        CheckConstraint(f'"group" IN {sql_in(FollowUpGroup)}', name="known_group"),
        CheckConstraint(f"source IN {sql_in(FollowUpSource)}", name="known_source"),
        CheckConstraint(f"baseline_source IN {sql_in(BaselineSource)}", name="known_baseline_source"),
        CheckConstraint("baseline_turnover IS NULL OR baseline_turnover >= 0", name="turnover_not_negative"),
        CheckConstraint("baseline_export_turnover IS NULL OR baseline_export_turnover >= 0",
                        name="export_not_negative"),
        CheckConstraint("baseline_employees_fte IS NULL OR baseline_employees_fte >= 0",
                        name="employees_not_negative"),
        CheckConstraint("baseline_high_skill_fte IS NULL OR baseline_high_skill_fte >= 0",
                        name="high_skill_not_negative"),
        CheckConstraint("baseline_investment_raised IS NULL OR baseline_investment_raised >= 0",
                        name="investment_not_negative"),
    )

    @property
    def group_enum(self) -> FollowUpGroup:
        return FollowUpGroup(self.group)


class Survey(db.Model):
    """One wave (12, 24 or 36 months) of a follow-up: due, reminded, answered."""

    __tablename__ = "kpi_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("kpi_follow_ups.id", ondelete="CASCADE"), index=True)
    wave: Mapped[int] = mapped_column(Integer)  # months after the end of the programme
    due_on: Mapped[date] = mapped_column(Date, index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)  # the closed financial year the figures describe
    status: Mapped[str] = mapped_column(String(10), default=SurveyStatus.OPEN.value, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_by_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # The answers (figures of `fiscal_year`).
    sales: Mapped[Decimal | None] = mapped_column(Money)
    export_sales: Mapped[Decimal | None] = mapped_column(Money)
    employees_fte: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    high_skill_fte: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    funding_raised: Mapped[Decimal | None] = mapped_column(Money)
    funding_source: Mapped[str | None] = mapped_column(String(10))
    new_markets: Mapped[int | None] = mapped_column(Integer)  # markets entered outside the country
    corporate_partnerships: Mapped[int | None] = mapped_column(Integer)
    contracts_signed: Mapped[int | None] = mapped_column(Integer)  # with buyers met, not recorded in opsapp
    contracts_value: Mapped[Decimal | None] = mapped_column(Money)
    confirmed_jumps: Mapped[list] = mapped_column(JSON, default=list)  # figures confirmed despite a big change
    comment: Mapped[str | None] = mapped_column(Text)

    follow_up: Mapped[FollowUp] = relationship(back_populates="surveys")
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    __table_args__ = (
        UniqueConstraint("follow_up_id", "wave", name="one_survey_per_wave"),
        CheckConstraint("wave IN (12, 24, 36)", name="known_wave"),
        CheckConstraint(f"status IN {sql_in(SurveyStatus)}", name="known_status"),
        CheckConstraint(f"funding_source IS NULL OR funding_source IN {sql_in(FundingSource)}",
                        name="known_funding_source"),
        CheckConstraint("status = 'open' OR answered_at IS NOT NULL", name="answered_has_time"),
        CheckConstraint("reminders_sent >= 0", name="reminders_not_negative"),
        CheckConstraint("sales IS NULL OR sales >= 0", name="sales_not_negative"),
        CheckConstraint("export_sales IS NULL OR export_sales >= 0", name="export_sales_not_negative"),
        CheckConstraint("employees_fte IS NULL OR employees_fte >= 0", name="employees_not_negative"),
        CheckConstraint("high_skill_fte IS NULL OR high_skill_fte >= 0", name="high_skill_not_negative"),
        CheckConstraint("funding_raised IS NULL OR funding_raised >= 0", name="funding_not_negative"),
        CheckConstraint("new_markets IS NULL OR new_markets >= 0", name="markets_not_negative"),
        CheckConstraint("corporate_partnerships IS NULL OR corporate_partnerships >= 0",
                        name="partnerships_not_negative"),
        CheckConstraint("contracts_signed IS NULL OR contracts_signed >= 0", name="contracts_not_negative"),
        CheckConstraint("contracts_value IS NULL OR contracts_value >= 0", name="contracts_value_not_negative"),
    )

    @property
    def status_enum(self) -> SurveyStatus:
        return SurveyStatus(self.status)


class IndicatorTarget(db.Model):
    """The target staff set for one measure of the catalogue in one edition."""

    __tablename__ = "kpi_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(40))  # a `catalogue.MEASURES` key, e.g. "ACC-1.admitted"
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    target: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    edition: Mapped[Edition] = relationship()

    __table_args__ = (UniqueConstraint("measure", "edition_id", name="one_target_per_edition"),)


class MonitoringReport(db.Model):
    """A Word monitoring report asked for on the dashboard, by the command line or by the monthly job."""

    __tablename__ = "kpi_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(20))  # calls.models.ProgrammeKind value
    edition_year: Mapped[int | None] = mapped_column(Integer)  # None: every edition
    locale: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.RUNNING.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the monthly job
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    error: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped[User | None] = relationship()
    file: Mapped[StoredFile | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(ReportStatus)}", name="known_status"),
        CheckConstraint("status != 'done' OR file_id IS NOT NULL", name="done_has_file"),
    )

    @property
    def status_enum(self) -> ReportStatus:
        return ReportStatus(self.status)


class ApiToken(db.Model):
    """A token an authority system uses to read the indicator values; only its hash is kept."""

    __tablename__ = "kpi_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to recognise it in the list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()


class DashboardVisit(db.Model):
    """The headline values an authority user saw last time, for "what changed since last visit"."""

    __tablename__ = "kpi_dashboard_visits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # measure key -> value as text
