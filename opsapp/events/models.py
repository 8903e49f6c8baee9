"""Meet the Buyer events: the event and its slot grid, participants and their profiles,
training sessions, meeting requests, meetings, outcomes and contracts.

An event belongs to a Meet the Buyer edition and may name the decided call whose
selected SMEs take part. Its design (days, day start and end, slot length, breaks,
tables) generates the slot grid (`grid.py`, pure), stored as `EventSlot` rows so that
availability and meetings can refer to them. A participant is an organisation on one
side (SME or buyer) with a profile and the slots it cannot attend.

An SME or a buyer asks the other side for a meeting (`MeetingRequest`, with a priority);
the other side accepts or declines; unanswered requests expire. The scheduler places
accepted requests into (slot, table) as `Meeting` rows. Partial unique indexes keep a
participant out of two live meetings in one slot and a table to one live meeting per
slot, whatever the application does (cancelled meetings do not count).

The lifecycles (event phases, requests, meetings, contracts) live in `states.py`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.models import Organisation, S3Domain, User
from opsapp.calls.models import Application, Call, Edition
from opsapp.core.modelling import LabelledEnum, label_with, sql_in
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db

# --- the event ----------------------------------------------------------------------------


class EventPhase(LabelledEnum):
    PREPARATION = "preparation"        # registration, profiles, training sessions
    BOOKING = "booking"                # marketplace and meeting requests
    SCHEDULING = "scheduling"          # requests closed, staff run the scheduler and adjust
    AGENDAS_PUBLISHED = "agendas_published"
    EVENT_DAY = "event_day"            # check-in, no-shows
    FOLLOW_UP = "follow_up"            # outcomes, contracts
    CLOSED = "closed"


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)  # SMEs selected here
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    venue: Mapped[str | None] = mapped_column(String(300))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    online_url: Mapped[str | None] = mapped_column(String(300))
    outside_region: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Rome")
    # The grid: ISO dates, local day start/end, slot length, local breaks [{"start": "10:30", "end": "10:50"}].
    days: Mapped[list] = mapped_column(JSON, default=list)
    day_start: Mapped[time] = mapped_column(Time)
    day_end: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=20)
    breaks: Mapped[list] = mapped_column(JSON, default=list)
    table_count: Mapped[int] = mapped_column(Integer, default=10)
    table_names: Mapped[list] = mapped_column(JSON, default=list)  # optional names, table n is names[n-1]
    # Deadlines and phase times (UTC). Each phase opens at its time (jobs) or by staff.
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Quotas: requests an SME (a buyer) may send; the most meetings an SME (a buyer) may have.
    sme_request_quota: Mapped[int] = mapped_column(Integer, default=10)
    buyer_request_quota: Mapped[int | None] = mapped_column(Integer)
    sme_max_meetings: Mapped[int | None] = mapped_column(Integer)
    buyer_max_meetings: Mapped[int | None] = mapped_column(Integer, default=12)
    request_expiry_days: Mapped[int] = mapped_column(Integer, default=5)
    phase: Mapped[str] = mapped_column(String(20), default=EventPhase.PREPARATION.value)
    agendas_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    edition: Mapped[Edition | None] = relationship()
    call: Mapped[Call | None] = relationship()
    slots: Mapped[list[EventSlot]] = relationship(back_populates="event", order_by="EventSlot.starts_at",
                                                  cascade="all, delete-orphan")
    participants: Mapped[list[Participant]] = relationship(back_populates="event", cascade="all, delete-orphan")
    training_sessions: Mapped[list[TrainingSession]] = relationship(
        back_populates="event", order_by="TrainingSession.starts_at", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"phase IN {sql_in(EventPhase)}", name="known_phase"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="plausible_slot"),
        CheckConstraint("table_count BETWEEN 1 AND 1000", name="plausible_tables"),
        CheckConstraint("sme_request_quota >= 0", name="sme_quota_not_negative"),
        CheckConstraint("buyer_request_quota IS NULL OR buyer_request_quota >= 0", name="buyer_quota_not_negative"),
        CheckConstraint("sme_max_meetings IS NULL OR sme_max_meetings >= 0", name="sme_max_not_negative"),
        CheckConstraint("buyer_max_meetings IS NULL OR buyer_max_meetings >= 0", name="buyer_max_not_negative"),
        CheckConstraint("request_expiry_days >= 1", name="expiry_positive"),
    )

    @property
    def status(self) -> EventPhase:
        return EventPhase(self.phase)

    def table_name(self, number: int) -> str:
        names = self.table_names or []
        if 1 <= number <= len(names) and names[number - 1]:
            return names[number - 1]
        return str(number)


class EventSlot(db.Model):
    """One meeting slot of the grid; every slot holds up to the event's tables."""

    __tablename__ = "event_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="slots")

    __table_args__ = (
        UniqueConstraint("event_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="slot_ends_after_start"),
    )

    @property
    def key(self) -> str:
        """The slot's id in the scheduler's problem."""
        return f"s{self.id}"


# --- participants ---------------------------------------------------------------------------


class Side(LabelledEnum):
    SME = "sme"
    BUYER = "buyer"

    @property
    def other(self) -> Side:
        return Side.BUYER if self is Side.SME else Side.SME


class ParticipantStatus(LabelledEnum):
    INVITED = "invited"        # added by staff or from the call, profile not yet completed
    REGISTERED = "registered"  # profile completed before the registration deadline
    WITHDRAWN = "withdrawn"


participant_s3_domains = Table(
    "participant_s3_domains",
    db.metadata,
    Column("participant_id", ForeignKey("event_participants.id", ondelete="CASCADE"), primary_key=True),
    Column("s3_domain_id", ForeignKey("s3_domains.id"), primary_key=True),
)

participant_unavailable_slots = Table(
    "participant_unavailable_slots",
    db.metadata,
    Column("participant_id", ForeignKey("event_participants.id", ondelete="CASCADE"), primary_key=True),
    Column("slot_id", ForeignKey("event_slots.id", ondelete="CASCADE"), primary_key=True),
)


class Participant(db.Model):
    """An organisation taking part in an event on one side, with its marketplace profile."""

    __tablename__ = "event_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    side: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=ParticipantStatus.INVITED.value)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))  # selected through the call
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the person who attends
    outside_region: Mapped[bool] = mapped_column(Boolean, default=False)
    # Profile: the SME's offer, the buyer's needs (procurement opportunities or challenges).
    headline: Mapped[str | None] = mapped_column(String(200))
    offer: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    countries: Mapped[list] = mapped_column(JSON, default=list)  # ISO 3166 alpha-2 codes of interest
    languages: Mapped[list] = mapped_column(JSON, default=list)  # ISO 639-1 codes spoken
    max_meetings: Mapped[int | None] = mapped_column(Integer)  # overrides the event's limit for its side
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event: Mapped[Event] = relationship(back_populates="participants")
    organisation: Mapped[Organisation] = relationship()
    application: Mapped[Application | None] = relationship()
    contact: Mapped[User | None] = relationship(foreign_keys=[contact_id])
    s3_domains: Mapped[list[S3Domain]] = relationship(secondary=participant_s3_domains, order_by=S3Domain.code)
    unavailable_slots: Mapped[list[EventSlot]] = relationship(secondary=participant_unavailable_slots)

    __table_args__ = (
        UniqueConstraint("event_id", "organisation_id"),
        CheckConstraint(f"side IN {sql_in(Side)}", name="known_side"),
        CheckConstraint(f"status IN {sql_in(ParticipantStatus)}", name="known_status"),
        CheckConstraint("max_meetings IS NULL OR max_meetings >= 0", name="max_not_negative"),
    )

    @property
    def side_enum(self) -> Side:
        return Side(self.side)

    @property
    def name(self) -> str:
        return self.organisation.legal_name

    @property
    def key(self) -> str:
        """The participant's id in the scheduler's problem."""
        return f"p{self.id}"


class Favourite(db.Model):
    """A profile a participant saved in the marketplace."""

    __tablename__ = "event_favourites"

    participant_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"),
                                                primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"),
                                           primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Participant] = relationship(foreign_keys=[target_id])


# --- preparation: training sessions ----------------------------------------------------------


class TrainingKind(LabelledEnum):
    PITCH = "pitch"
    NEGOTIATION = "negotiation"


class TrainingSession(db.Model):
    __tablename__ = "event_training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))  # a room or an online link
    trainer: Mapped[str | None] = mapped_column(String(200))

    event: Mapped[Event] = relationship(back_populates="training_sessions")
    attendance: Mapped[list[TrainingAttendance]] = relationship(back_populates="session",
                                                                cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(TrainingKind)}", name="known_kind"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class TrainingAttendance(db.Model):
    __tablename__ = "event_training_attendance"

    session_id: Mapped[int] = mapped_column(ForeignKey("event_training_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"),
                                                primary_key=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    session: Mapped[TrainingSession] = relationship(back_populates="attendance")
    participant: Mapped[Participant] = relationship()


# --- meeting requests and meetings --------------------------------------------------------------


class RequestStatus(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


LIVE_REQUEST = (RequestStatus.PENDING.value, RequestStatus.ACCEPTED.value)


class MeetingRequest(db.Model):
    """One side asks the other for a meeting; one live request per SME and buyer."""

    __tablename__ = "meeting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    sme_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(10))  # the side that asked, or "staff"
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.PENDING.value)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)  # staff accepted it on both sides' behalf
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    unscheduled_reason: Mapped[str | None] = mapped_column(Text)  # why the last scheduler run left it out

    event: Mapped[Event] = relationship()
    sme: Mapped[Participant] = relationship(foreign_keys=[sme_id])
    buyer: Mapped[Participant] = relationship(foreign_keys=[buyer_id])
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(RequestStatus)}", name="known_status"),
        CheckConstraint("requested_by IN ('sme', 'buyer', 'staff')", name="known_requester"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        CheckConstraint("sme_id <> buyer_id", name="two_sides"),
        Index("uq_live_meeting_request", "sme_id", "buyer_id", unique=True,
              sqlite_where=text(f"status IN {sql_in(LIVE_REQUEST)}"),
              postgresql_where=text(f"status IN {sql_in(LIVE_REQUEST)}")),
    )

    @property
    def status_enum(self) -> RequestStatus:
        return RequestStatus(self.status)


class MeetingStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    NO_SHOW = "no_show"      # one side said it did not happen
    CANCELLED = "cancelled"


LIVE_MEETING = "status <> 'cancelled'"


class Meeting(db.Model):
    """An accepted request placed in a slot at a table.

    The SME and the buyer are copied from the request so that the database itself keeps a
    participant out of two live meetings in one slot and a table to one live meeting per slot.
    """

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_requests.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("event_slots.id"), index=True)
    table_number: Mapped[int] = mapped_column(Integer)
    sme_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.SCHEDULED.value)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Set when a run of the scheduler after the agendas were published replaced this meeting:
    # kept as cancelled so that calendars that imported it drop it.
    replaced_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("schedule_runs.id"))
    no_show_reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("event_participants.id"))
    no_show_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    request: Mapped[MeetingRequest] = relationship()
    slot: Mapped[EventSlot] = relationship()
    sme: Mapped[Participant] = relationship(foreign_keys=[sme_id])
    buyer: Mapped[Participant] = relationship(foreign_keys=[buyer_id])
    outcomes: Mapped[list[MeetingOutcome]] = relationship(back_populates="meeting", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(MeetingStatus)}", name="known_status"),
        CheckConstraint("table_number >= 1", name="table_positive"),
        Index("uq_meeting_table", "slot_id", "table_number", unique=True,
              sqlite_where=text(LIVE_MEETING), postgresql_where=text(LIVE_MEETING)),
        Index("uq_meeting_sme_slot", "slot_id", "sme_id", unique=True,
              sqlite_where=text(LIVE_MEETING), postgresql_where=text(LIVE_MEETING)),
        Index("uq_meeting_buyer_slot", "slot_id", "buyer_id", unique=True,
              sqlite_where=text(LIVE_MEETING), postgresql_where=text(LIVE_MEETING)),
        Index("uq_meeting_request", "request_id", unique=True,
              sqlite_where=text(LIVE_MEETING), postgresql_where=text(LIVE_MEETING)),
    )

    @property
    def status_enum(self) -> MeetingStatus:
        return MeetingStatus(self.status)


class ScheduleRunStatus(LabelledEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScheduleRun(db.Model):
    """One run of the scheduler on an event: what it found, for the staff's page and the audit."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=ScheduleRunStatus.RUNNING.value)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    scheduled: Mapped[int] = mapped_column(Integer, default=0)
    objective: Mapped[int | None] = mapped_column(Integer)
    upper_bound: Mapped[int | None] = mapped_column(Integer)
    optimal: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(db.Float)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint(f"status IN {sql_in(ScheduleRunStatus)}", name="known_status"),)


# --- outcomes and contracts ----------------------------------------------------------------------


class OutcomeRating(LabelledEnum):
    NO_FURTHER_CONTACT = "no_further_contact"
    FOLLOW_UP_AGREED = "follow_up_agreed"
    NEGOTIATION_STARTED = "negotiation_started"
    AGREEMENT_REACHED = "agreement_reached"


class OutcomeRound(LabelledEnum):
    AFTER_MEETING = "after_meeting"
    SIX_MONTHS = "six_months"


class MeetingOutcome(db.Model):
    """One side's rating of a held meeting, right after it and again six months later."""

    __tablename__ = "meeting_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"))
    round: Mapped[str] = mapped_column(String(20), default=OutcomeRound.AFTER_MEETING.value)
    rating: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="outcomes")
    participant: Mapped[Participant] = relationship()

    __table_args__ = (
        UniqueConstraint("meeting_id", "participant_id", "round"),
        CheckConstraint(f"rating IN {sql_in(OutcomeRating)}", name="known_rating"),
        CheckConstraint(f"round IN {sql_in(OutcomeRound)}", name="known_round"),
    )


class OutcomeFollowUp(db.Model):
    """The six-month request for a new rating, sent once per meeting and participant."""

    __tablename__ = "meeting_outcome_follow_ups"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id", ondelete="CASCADE"),
                                                primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContractStatus(LabelledEnum):
    RECORDED = "recorded"    # declared by the SME or the buyer
    CONFIRMED = "confirmed"  # checked by staff
    REJECTED = "rejected"


class SupplyContract(db.Model):
    """A supply contract signed after an event between a buyer and an SME."""

    __tablename__ = "supply_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    sme_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("event_participants.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    signed_on: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ContractStatus.RECORDED.value)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)

    event: Mapped[Event] = relationship()
    sme: Mapped[Participant] = relationship(foreign_keys=[sme_id])
    buyer: Mapped[Participant] = relationship(foreign_keys=[buyer_id])
    meeting: Mapped[Meeting | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(ContractStatus)}", name="known_status"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )


label_with({
    EventPhase: {
        EventPhase.PREPARATION: _l("Preparation"),
        EventPhase.BOOKING: _l("Booking"),
        EventPhase.SCHEDULING: _l("Scheduling"),
        EventPhase.AGENDAS_PUBLISHED: _l("Agendas published"),
        EventPhase.EVENT_DAY: _l("Event day"),
        EventPhase.FOLLOW_UP: _l("Follow-up"),
        EventPhase.CLOSED: _l("Closed"),
    },
    Side: {Side.SME: _l("SME"), Side.BUYER: _l("Buyer")},
    ParticipantStatus: {
        ParticipantStatus.INVITED: _l("Invited"),
        ParticipantStatus.REGISTERED: _l("Registered"),
        ParticipantStatus.WITHDRAWN: _l("Withdrawn"),
    },
    TrainingKind: {TrainingKind.PITCH: _l("Pitch training"), TrainingKind.NEGOTIATION: _l("Negotiation training")},
    RequestStatus: {
        RequestStatus.PENDING: _l("Waiting for an answer"),
        RequestStatus.ACCEPTED: _l("Accepted"),
        RequestStatus.DECLINED: _l("Declined"),
        RequestStatus.WITHDRAWN: _l("Withdrawn"),
        RequestStatus.EXPIRED: _l("Expired"),
    },
    MeetingStatus: {
        MeetingStatus.SCHEDULED: _l("Scheduled"),
        MeetingStatus.HELD: _l("Held"),
        MeetingStatus.NO_SHOW: _l("Did not happen"),
        MeetingStatus.CANCELLED: _l("Cancelled"),
    },
    ScheduleRunStatus: {
        ScheduleRunStatus.RUNNING: _l("Running"),
        ScheduleRunStatus.DONE: _l("Done"),
        ScheduleRunStatus.FAILED: _l("Failed"),
    },
    OutcomeRating: {
        OutcomeRating.NO_FURTHER_CONTACT: _l("No further contact"),
        OutcomeRating.FOLLOW_UP_AGREED: _l("Follow-up agreed"),
        OutcomeRating.NEGOTIATION_STARTED: _l("Negotiation started"),
        OutcomeRating.AGREEMENT_REACHED: _l("Agreement reached"),
    },
    OutcomeRound: {OutcomeRound.AFTER_MEETING: _l("After the meeting"), OutcomeRound.SIX_MONTHS: _l("Six months later")},
    ContractStatus: {
        ContractStatus.RECORDED: _l("Waiting for confirmation"),
        ContractStatus.CONFIRMED: _l("Confirmed"),
        ContractStatus.REJECTED: _l("Rejected"),
    },
})
