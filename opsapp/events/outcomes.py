"""After the event: each side's rating of its held meetings, the six-month follow-up, and the
supply contracts that came of the meetings.

- Ratings: each side rates a held meeting (no further contact, follow-up agreed,
  negotiation started, agreement reached) with an optional note, once per round: right
  after the meeting, and again six months later (open once the follow-up request was
  sent or 182 days have passed since the slot ended). Changing one's own rating within
  a round is allowed and audited. A side never sees the other side's rating; staff see
  all of them.
- `send_six_month_follow_ups(now)`: the daily job. For each side of a meeting held at
  least 182 days ago without an `OutcomeFollowUp` row, the row is inserted first (its
  primary key stops a second run or a concurrent one) and then the side is asked.
- Contracts: in follow-up (or once closed) a member of either side records a contract
  with a participant of the other side (one they met, or any), its date (not in the
  future, not before the event), its value in EUR and optionally the meeting it came
  from; staff record for anyone and confirm or reject it with a note. Both sides are
  told of each change.

Services check rights, change state through `states.transition`, audit, notify and
flush; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from opsapp.accounts.models import Organisation
from opsapp.core import audit, exports
from opsapp.core.money import MoneyError, to_money
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events import agendas, permissions, states, statistics
from opsapp.events.day import meeting_or_404, moment, side_of
from opsapp.events.models import (
    ContractStatus,
    Event,
    EventSlot,
    Meeting,
    MeetingOutcome,
    MeetingRequest,
    MeetingStatus,
    OutcomeFollowUp,
    OutcomeRating,
    OutcomeRound,
    Participant,
    ParticipantStatus,
    Side,
    SupplyContract,
)
from opsapp.events.notices import staff_users, tell
from opsapp.events.pages import EventError, event_or_404, path_for
from opsapp.events.search import contains
from opsapp.extensions import db

SIX_MONTHS = timedelta(days=182)
NOTE_MAX = 2000
DESCRIPTION_MAX = 2000
VALUE_MAX = Decimal("1000000000000")  # a trillion euro: a typing mistake, not a contract


# --- ratings ------------------------------------------------------------------------------------------


def asked_again(meeting_id: int, participant_id: int) -> bool:
    return db.session.get(OutcomeFollowUp, (meeting_id, participant_id)) is not None


def current_round(meeting: Meeting, asked: bool, now: datetime) -> OutcomeRound:
    """Six months later once asked again or 182 days after the slot ended; otherwise right after."""
    if asked or meeting.slot.ends_at + SIX_MONTHS <= now:
        return OutcomeRound.SIX_MONTHS
    return OutcomeRound.AFTER_MEETING


@dataclass
class OutcomePage:
    meeting: Meeting
    event: Event
    side: Participant | None      # the reader's side; None for staff
    counterpart: Participant | None
    round: OutcomeRound | None
    mine: MeetingOutcome | None   # the reader's rating of this round
    ratings: list[MeetingOutcome]  # what the reader may see: their own, or all for staff
    can_rate: bool
    why_not: object = None

    @property
    def contracts_open(self) -> bool:
        return states.contracts_open(self.event)


def outcome_page(actor, meeting_id: int, now: datetime | None = None) -> OutcomePage:
    now = now or utcnow()
    meeting = meeting_or_404(meeting_id)
    side = side_of(actor, meeting)
    if side is not None and not permissions.is_staff(actor) and not (
            agendas.published(meeting.event) and agendas.seen_by_participants(meeting, meeting.event)):
        abort(404)  # participants see their meetings once agendas are published (as `schedule_grid.meeting_for_cancel`)
    outcomes = db.session.scalars(select(MeetingOutcome).where(MeetingOutcome.meeting_id == meeting.id)
                                  .options(joinedload(MeetingOutcome.participant)
                                           .joinedload(Participant.organisation))
                                  .order_by(MeetingOutcome.recorded_at)).all()
    if side is None:
        return OutcomePage(meeting, meeting.event, None, None, None, None, list(outcomes), False)
    counterpart = meeting.buyer if side.id == meeting.sme_id else meeting.sme
    mine_all = [o for o in outcomes if o.participant_id == side.id]
    rnd = current_round(meeting, asked_again(meeting.id, side.id), now)
    mine = next((o for o in mine_all if o.round == rnd.value), None)
    why_not = None
    if meeting.status != MeetingStatus.HELD.value:
        why_not = _l("Only a meeting that took place can be rated; this one is: %(status)s.",
                     status=meeting.status_enum.label)
    return OutcomePage(meeting, meeting.event, side, counterpart, rnd, mine, mine_all, why_not is None, why_not)


def rate_meeting(actor, meeting_id: int, rating: str, note: str | None = None,
                 now: datetime | None = None) -> MeetingOutcome:
    """The actor's side rates the meeting for the current round (or changes its rating)."""
    now = now or utcnow()
    meeting = meeting_or_404(meeting_id)
    side = side_of(actor, meeting)
    if side is None:
        raise EventError(_l("Only the SME and the buyer rate their meetings; staff read the ratings."))
    try:
        value = OutcomeRating(rating)
    except ValueError:
        raise EventError(_l("Choose one of the outcomes."), field="rating") from None
    if meeting.status != MeetingStatus.HELD.value:
        raise EventError(_l("Only a meeting that took place can be rated; this one is: %(status)s.",
                            status=meeting.status_enum.label))
    note = (note or "").strip()[:NOTE_MAX] or None
    rnd = current_round(meeting, asked_again(meeting.id, side.id), now)
    outcome = db.session.scalar(select(MeetingOutcome).where(
        MeetingOutcome.meeting_id == meeting.id, MeetingOutcome.participant_id == side.id,
        MeetingOutcome.round == rnd.value))
    if outcome is None:
        outcome = MeetingOutcome(meeting_id=meeting.id, participant_id=side.id, round=rnd.value, rating=value.value,
                                 note=note, recorded_at=now, recorded_by_id=actor.id)
        try:
            with db.session.begin_nested():
                db.session.add(outcome)
                db.session.flush()
        except IntegrityError:
            raise EventError(_l("Your side rated this meeting a moment ago: reload the page to see it.")) from None
        audit.record("meeting_outcomes.recorded", outcome, actor=actor, meeting_id=meeting.id,
                     participant_id=side.id, round=rnd.value, rating=value.value, note=note)
    else:
        old = outcome.rating
        outcome.rating, outcome.note, outcome.recorded_at, outcome.recorded_by_id = value.value, note, now, actor.id
        audit.record("meeting_outcomes.changed", outcome, actor=actor, meeting_id=meeting.id,
                     participant_id=side.id, round=rnd.value, old=old, rating=value.value, note=note)
    db.session.flush()
    return outcome


@dataclass
class ToRate:
    meeting: Meeting
    side: Participant
    counterpart: Participant
    round: OutcomeRound


def meetings_to_rate(user, now: datetime | None = None, event_id: int | None = None) -> list[ToRate]:
    """The user's held meetings whose current round their side has not rated yet, oldest first."""
    now = now or utcnow()
    mine = {p.id: p for p in permissions.participants_of(user, event_id)}
    if not mine:
        return []
    ids = list(mine)
    meetings = db.session.scalars(
        select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id)
        .where(Meeting.status == MeetingStatus.HELD.value, or_(Meeting.sme_id.in_(ids), Meeting.buyer_id.in_(ids)))
        .options(joinedload(Meeting.slot), joinedload(Meeting.event),
                 joinedload(Meeting.sme).joinedload(Participant.organisation),
                 joinedload(Meeting.buyer).joinedload(Participant.organisation))
        .order_by(EventSlot.starts_at, Meeting.id)).unique().all()
    if not meetings:
        return []
    meeting_ids = [m.id for m in meetings]
    rated = set(db.session.execute(select(MeetingOutcome.meeting_id, MeetingOutcome.participant_id,
                                          MeetingOutcome.round)
                                   .where(MeetingOutcome.meeting_id.in_(meeting_ids),
                                          MeetingOutcome.participant_id.in_(ids))).all())
    asked = set(db.session.execute(select(OutcomeFollowUp.meeting_id, OutcomeFollowUp.participant_id)
                                   .where(OutcomeFollowUp.meeting_id.in_(meeting_ids),
                                          OutcomeFollowUp.participant_id.in_(ids))).all())
    result = []
    for meeting in meetings:
        for side in (meeting.sme, meeting.buyer):
            if side.id not in mine:
                continue
            rnd = current_round(meeting, (meeting.id, side.id) in asked, now)
            if (meeting.id, side.id, rnd.value) not in rated:
                result.append(ToRate(meeting, side, meeting.buyer if side is meeting.sme else meeting.sme, rnd))
    return result


# --- the six-month follow-up -------------------------------------------------------------------------


def send_six_month_follow_ups(now: datetime) -> int:
    """Ask each side of every meeting held at least 182 days ago to rate it again, once."""
    cutoff = now - SIX_MONTHS
    due: list[tuple[int, int]] = []
    for column in (Meeting.sme_id, Meeting.buyer_id):
        not_asked = ~exists().where(OutcomeFollowUp.meeting_id == Meeting.id,
                                    OutcomeFollowUp.participant_id == column)
        due += db.session.execute(
            select(Meeting.id, column).join(EventSlot, EventSlot.id == Meeting.slot_id)
            .where(Meeting.status == MeetingStatus.HELD.value, EventSlot.ends_at <= cutoff, not_asked)
            .order_by(Meeting.id)).all()
    sent = 0
    for meeting_id, participant_id in due:
        try:
            with db.session.begin_nested():
                db.session.add(OutcomeFollowUp(meeting_id=meeting_id, participant_id=participant_id, sent_at=now))
                db.session.flush()
        except IntegrityError:
            continue  # another run asked a moment ago
        meeting = meeting_or_404(meeting_id)
        side = meeting.sme if meeting.sme_id == participant_id else meeting.buyer
        counterpart = meeting.buyer if side is meeting.sme else meeting.sme
        message = _l("Six months ago you met %(counterpart)s at %(event)s (%(when)s). How did it go since? Rate "
                     "the meeting again: it takes a minute and helps the programme.",
                     counterpart=counterpart.name, event=meeting.event.name,
                     when=moment(meeting.slot.starts_at, meeting.event))
        tell(permissions.people_of(side), _l("Six months after your meeting: how did it go?"), message,
             path_for("events.meeting_outcome", meeting_id=meeting.id))
        audit.record("meeting_outcomes.follow_up_sent", meeting, actor=None, participant_id=participant_id)
        sent += 1
    return sent


# --- contracts -----------------------------------------------------------------------------------------


def _contract_subject(actor, event_id: int) -> tuple[Event, Participant | None, bool]:
    event = event_or_404(event_id)
    staff = permissions.is_staff(actor)
    own = permissions.participant_of(actor, event)
    if own is None and not staff:
        abort(404)
    return event, own, staff


def contracts_open(event: Event) -> bool:
    return states.contracts_open(event)


@dataclass
class ContractChoices:
    event: Event
    participant: Participant | None
    as_staff: bool
    counterparts: list[tuple[Participant, bool]] = field(default_factory=list)  # (participant, met)
    smes: list[Participant] = field(default_factory=list)
    buyers: list[Participant] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)


def contract_choices(actor, event_id: int) -> ContractChoices:
    event, own, staff = _contract_subject(actor, event_id)
    people = db.session.scalars(
        select(Participant).where(Participant.event_id == event.id,
                                  Participant.status != ParticipantStatus.WITHDRAWN.value)
        .options(joinedload(Participant.organisation))).all()
    people = sorted(people, key=lambda p: p.name.lower())
    live = (Meeting.event_id == event.id, Meeting.status != MeetingStatus.CANCELLED.value)
    loads = (joinedload(Meeting.slot), joinedload(Meeting.sme).joinedload(Participant.organisation),
             joinedload(Meeting.buyer).joinedload(Participant.organisation))
    choices = ContractChoices(event, own, staff)
    if own is not None:
        meetings = db.session.scalars(
            select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id)
            .where(*live, or_(Meeting.sme_id == own.id, Meeting.buyer_id == own.id)).options(*loads)
            .order_by(EventSlot.starts_at)).unique().all()
        met = {m.buyer_id if m.sme_id == own.id else m.sme_id for m in meetings
               if m.status == MeetingStatus.HELD.value}
        other = own.side_enum.other.value
        others = [p for p in people if p.side == other]
        choices.counterparts = sorted(((p, p.id in met) for p in others), key=lambda x: (not x[1], x[0].name.lower()))
        choices.meetings = list(meetings)
    if staff:
        choices.smes = [p for p in people if p.side == Side.SME.value]
        choices.buyers = [p for p in people if p.side == Side.BUYER.value]
        if own is None:
            choices.meetings = list(db.session.scalars(
                select(Meeting).join(EventSlot, EventSlot.id == Meeting.slot_id).where(*live).options(*loads)
                .order_by(EventSlot.starts_at, Meeting.table_number)).unique())
    return choices


@dataclass
class ContractData:
    signed_on: date | None
    value: str | None
    description: str | None = None
    counterpart_id: int | None = None  # a participant recording: the other side
    sme_id: int | None = None          # staff recording for anyone
    buyer_id: int | None = None
    meeting_id: int | None = None


def parse_value(text) -> Decimal:
    """An amount in EUR as people type it: "12500", "12,500.00", "12.500,00", "EUR 900"."""
    raw = re.sub(r"(?i)\s|eur|€", "", str(text or ""))
    if not raw:
        raise EventError(_l("Enter the value of the contract in EUR."), field="value")
    if "," in raw and "." in raw:
        decimal_mark = "," if raw.rfind(",") > raw.rfind(".") else "."
        raw = raw.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif "," in raw:
        head, _sep, tail = raw.rpartition(",")
        raw = head.replace(",", "") + ("." + tail if len(tail) <= 2 else tail)
    try:
        amount = to_money(raw)
    except MoneyError:
        raise EventError(_l("Enter the value as an amount in EUR, like 12500.00."), field="value") from None
    if amount < 0:
        raise EventError(_l("The value of a contract cannot be negative."), field="value")
    if amount >= VALUE_MAX:
        raise EventError(_l("This value is too large: check the amount."), field="value")
    return amount


def _pair(event: Event, own: Participant | None, staff: bool, data: ContractData) -> tuple[Participant, Participant]:
    def load(participant_id):
        participant = db.session.get(Participant, participant_id) if participant_id else None
        if participant is None or participant.event_id != event.id \
                or participant.status == ParticipantStatus.WITHDRAWN.value:
            return None
        return participant

    if own is not None and data.counterpart_id is not None:
        other = load(data.counterpart_id)
        if other is None or other.side == own.side:
            raise EventError(_l("Choose a participant of the other side of the event."), field="counterpart_id")
        return (own, other) if own.side == Side.SME.value else (other, own)
    if not staff:
        raise EventError(_l("Choose who signed the contract with you."), field="counterpart_id")
    sme, buyer = load(data.sme_id), load(data.buyer_id)
    if sme is None or sme.side != Side.SME.value:
        raise EventError(_l("Choose the SME that signed the contract."), field="sme_id")
    if buyer is None or buyer.side != Side.BUYER.value:
        raise EventError(_l("Choose the buyer that signed the contract."), field="buyer_id")
    return sme, buyer


def record_contract(actor, event_id: int, data: ContractData, now: datetime | None = None) -> SupplyContract:
    """A member of either side (or staff) records a supply contract signed after the event."""
    now = now or utcnow()
    event, own, staff = _contract_subject(actor, event_id)
    if not contracts_open(event):
        raise EventError(_l("Contracts are recorded in the follow-up phase, after the event."))
    sme, buyer = _pair(event, own, staff, data)
    if data.signed_on is None:
        raise EventError(_l("Enter the date the contract was signed."), field="signed_on")
    today = to_local(now, event.timezone).date()
    if data.signed_on > today:
        raise EventError(_l("The date of signature cannot be in the future."), field="signed_on")
    start = agendas.first_day(event)
    if start is not None and data.signed_on < start:
        raise EventError(_l("The contract must be signed on or after the event's first day (%(day)s).",
                            day=agendas.day_label(start)), field="signed_on")
    value = parse_value(data.value)
    meeting = None
    if data.meeting_id:
        meeting = db.session.get(Meeting, data.meeting_id)
        if meeting is None or meeting.event_id != event.id or meeting.sme_id != sme.id \
                or meeting.buyer_id != buyer.id or meeting.status == MeetingStatus.CANCELLED.value:
            raise EventError(_l("Choose a meeting between %(sme)s and %(buyer)s, or none.",
                                sme=sme.name, buyer=buyer.name), field="meeting_id")
    description = (data.description or "").strip()[:DESCRIPTION_MAX] or None
    contract = SupplyContract(event_id=event.id, sme_id=sme.id, buyer_id=buyer.id,
                              meeting_id=meeting.id if meeting else None, signed_on=data.signed_on, value=value,
                              description=description, status=ContractStatus.RECORDED.value, recorded_at=now,
                              recorded_by_id=actor.id)
    db.session.add(contract)
    db.session.flush()
    audit.record("supply_contracts.recorded", contract, actor=actor, event_id=event.id, sme_id=sme.id,
                 buyer_id=buyer.id, meeting_id=contract.meeting_id, signed_on=data.signed_on.isoformat(),
                 value=str(value), by="staff" if own is None else own.side)

    to_list = path_for("events.contracts", event_id=event.id)
    by = own.name if own is not None else _l("the programme staff")
    message = _l("%(by)s recorded a supply contract between %(sme)s and %(buyer)s, signed on %(day)s, worth "
                 "EUR %(value)s (%(event)s). The programme staff will confirm it.", by=by, sme=sme.name,
                 buyer=buyer.name, day=data.signed_on.isoformat(), value=value, event=event.name)
    for side in (sme, buyer):
        if own is None or side.id != own.id:
            tell(permissions.people_of(side), _l("A supply contract was recorded"), message, to_list, skip=actor)
    tell(staff_users(), _l("A supply contract to confirm"), message, to_list, skip=actor)
    return contract


def contract_or_404(contract_id: int) -> SupplyContract:
    contract = db.session.get(SupplyContract, contract_id)
    if contract is None:
        abort(404)
    return contract


def review_contract(actor, contract_id: int, decision: str, note: str | None = None) -> SupplyContract:
    """Staff confirm or reject a recorded contract; a rejection says why."""
    require(permissions.is_staff(actor))
    contract = contract_or_404(contract_id)
    note = (note or "").strip()[:NOTE_MAX] or None
    wanted = {"confirm": ContractStatus.CONFIRMED, "reject": ContractStatus.REJECTED}.get(decision)
    if wanted is None:
        raise EventError(_l("Choose to confirm or to reject the contract."), field="decision")
    if contract.status != ContractStatus.RECORDED.value:
        raise EventError(_l("This contract was already reviewed: it is %(status)s.",
                            status=ContractStatus(contract.status).label))
    if wanted is ContractStatus.REJECTED and not note:
        raise EventError(_l("Say why the contract is rejected: both sides will read it."), field="note")
    states.transition(contract, wanted, actor=actor, note=note)
    contract.reviewed_at, contract.reviewed_by_id, contract.review_note = utcnow(), actor.id, note
    db.session.flush()
    sme, buyer, event = contract.sme, contract.buyer, contract.event
    if wanted is ContractStatus.CONFIRMED:
        subject = _l("Supply contract confirmed")
        message = _l("The programme staff confirmed the supply contract between %(sme)s and %(buyer)s signed on "
                     "%(day)s (%(event)s).", sme=sme.name, buyer=buyer.name, day=contract.signed_on.isoformat(),
                     event=event.name)
    else:
        subject = _l("Supply contract rejected")
        message = _l("The programme staff rejected the supply contract between %(sme)s and %(buyer)s signed on "
                     "%(day)s (%(event)s).", sme=sme.name, buyer=buyer.name, day=contract.signed_on.isoformat(),
                     event=event.name)
    if note:
        message = _l("%(message)s Note: %(note)s", message=message, note=note)
    to_list = path_for("events.contracts", event_id=event.id)
    tell(permissions.people_of(sme) + permissions.people_of(buyer), subject, message, to_list, skip=actor)
    return contract


@dataclass
class ContractFilters:
    status: str = ""
    q: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("status", self.status), ("q", self.q)) if v}


@dataclass
class ContractsPage:
    event: Event
    participant: Participant | None
    as_staff: bool
    page: Page
    count: int
    value: Decimal
    confirmed: int
    confirmed_value: Decimal
    filters: ContractFilters
    can_record: bool


def _contracts_query(event: Event, own: Participant | None, staff: bool, filters: ContractFilters):
    sme_org, buyer_org = aliased(Organisation), aliased(Organisation)
    sme, buyer = aliased(Participant), aliased(Participant)
    stmt = (select(SupplyContract).join(sme, sme.id == SupplyContract.sme_id)
            .join(sme_org, sme_org.id == sme.organisation_id).join(buyer, buyer.id == SupplyContract.buyer_id)
            .join(buyer_org, buyer_org.id == buyer.organisation_id).where(SupplyContract.event_id == event.id))
    if not staff:
        stmt = stmt.where(or_(SupplyContract.sme_id == own.id, SupplyContract.buyer_id == own.id))
    if filters.status in {s.value for s in ContractStatus}:
        stmt = stmt.where(SupplyContract.status == filters.status)
    q = (filters.q or "").strip()
    if q:
        stmt = stmt.where(or_(contains(sme_org.legal_name, q), contains(buyer_org.legal_name, q),
                              contains(SupplyContract.description, q)))
    return stmt


def contracts_page(actor, event_id: int, filters: ContractFilters) -> ContractsPage:
    event, own, staff = _contract_subject(actor, event_id)
    if not staff:
        filters = ContractFilters(status=filters.status)
    stmt = _contracts_query(event, own, staff, filters)
    ids = stmt.with_only_columns(SupplyContract.id).order_by(None).subquery()
    confirmed = SupplyContract.status == ContractStatus.CONFIRMED.value
    count, total, n_confirmed, confirmed_total = db.session.execute(
        select(func.count(SupplyContract.id), func.coalesce(func.sum(SupplyContract.value), 0),
               func.count(SupplyContract.id).filter(confirmed),
               func.coalesce(func.sum(SupplyContract.value).filter(confirmed), 0))
        .where(SupplyContract.id.in_(select(ids.c.id)))).one()
    page = paginate(stmt.options(joinedload(SupplyContract.sme).joinedload(Participant.organisation),
                                 joinedload(SupplyContract.buyer).joinedload(Participant.organisation),
                                 joinedload(SupplyContract.meeting).joinedload(Meeting.slot))
                    .order_by(SupplyContract.signed_on.desc(), SupplyContract.id.desc()), per_page=50)
    return ContractsPage(event, own, staff, page, count or 0, Decimal(total or 0), n_confirmed or 0,
                         Decimal(confirmed_total or 0), filters, contracts_open(event) and (own is not None or staff))


def contracts_export(actor, event_id: int, filters: ContractFilters, fmt: str) -> tuple[str, str | bytes]:
    """The contracts (staff) as CSV or XLSX: (filename, content); audited."""
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    rows = db.session.scalars(
        _contracts_query(event, None, True, filters)
        .options(joinedload(SupplyContract.sme).joinedload(Participant.organisation),
                 joinedload(SupplyContract.buyer).joinedload(Participant.organisation),
                 joinedload(SupplyContract.meeting).joinedload(Meeting.slot))
        .order_by(SupplyContract.signed_on, SupplyContract.id)).unique().all()
    header = [str(h) for h in (_l("Contract"), _l("SME"), _l("Buyer"), _l("Signed on"), _l("Value (EUR)"),
                               _l("Status"), _l("Meeting"), _l("Description"), _l("Review note"))]
    data = [[c.id, c.sme.name, c.buyer.name, c.signed_on, c.value, str(ContractStatus(c.status).label),
             to_local(c.meeting.slot.starts_at, event.timezone).strftime("%Y-%m-%d %H:%M") if c.meeting else "",
             c.description or "", c.review_note or ""] for c in rows]
    audit.record("supply_contracts.exported", event, actor=actor, format=fmt, rows=len(data), **filters.as_args())
    if fmt == "xlsx":
        return f"contracts-{event.id}.xlsx", exports.xlsx_bytes([(str(_l("Contracts")), header, data)])
    return f"contracts-{event.id}.csv", exports.csv_text(header, data)


def contracts_to_confirm() -> list[tuple[Event, int]]:
    """For the staff home: each event with contracts waiting for confirmation, and how many."""
    rows = db.session.execute(
        select(SupplyContract.event_id, func.count(SupplyContract.id))
        .where(SupplyContract.status == ContractStatus.RECORDED.value)
        .group_by(SupplyContract.event_id).order_by(SupplyContract.event_id)).all()
    if not rows:
        return []
    events = {e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_([r[0] for r in rows])))}
    return [(events[event_id], n) for event_id, n in rows]


# --- statistics -------------------------------------------------------------------------------------------


def event_statistics(actor, event_id: int):
    """The event's figures (staff), from plain rows loaded in five queries."""
    require(permissions.is_staff(actor))
    event = event_or_404(event_id)
    participants = [statistics.ParticipantRow(i, side, bool(outside), status == ParticipantStatus.WITHDRAWN.value)
                    for i, side, outside, status in db.session.execute(
                        select(Participant.id, Participant.side, Participant.outside_region, Participant.status)
                        .where(Participant.event_id == event.id))]
    requests = [statistics.RequestRow(*row) for row in db.session.execute(
        select(MeetingRequest.id, MeetingRequest.requested_by, MeetingRequest.status)
        .where(MeetingRequest.event_id == event.id))]
    meetings = [statistics.MeetingRow(*row) for row in db.session.execute(
        select(Meeting.id, Meeting.sme_id, Meeting.buyer_id, Meeting.status).where(Meeting.event_id == event.id))]
    outcomes = [statistics.OutcomeRow(*row) for row in db.session.execute(
        select(MeetingOutcome.meeting_id, MeetingOutcome.participant_id, MeetingOutcome.round, MeetingOutcome.rating)
        .join(Meeting, Meeting.id == MeetingOutcome.meeting_id).where(Meeting.event_id == event.id))]
    contracts = [statistics.ContractRow(status, value) for status, value in db.session.execute(
        select(SupplyContract.status, SupplyContract.value).where(SupplyContract.event_id == event.id))]
    return event, statistics.compute(participants, requests, meetings, outcomes, contracts)


def statistics_export(actor, event_id: int, fmt: str) -> tuple[str, str | bytes]:
    """The event's figures (staff) as CSV or XLSX: (filename, content); audited."""
    event, figures = event_statistics(actor, event_id)
    audit.record("events.statistics_exported", event, actor=actor, format=fmt)
    if fmt == "xlsx":
        sheets = [(str(t.caption)[:31], [str(h) for h in t.header], [[str(r[0]), *r[1:]] for r in t.rows])
                  for t in figures.tables]
        return f"event-statistics-{event.id}.xlsx", exports.xlsx_bytes(sheets)
    header = [str(_l("Table")), str(_l("Figure")), str(_l("Column")), str(_l("Value"))]
    rows = [[str(table.caption), str(row[0]), str(column), value]
            for table in figures.tables for row in table.rows
            for column, value in zip(table.header[1:], row[1:], strict=True)]
    return f"event-statistics-{event.id}.csv", exports.csv_text(header, rows)

