"""What follows a cohort's companies besides coaching: investor introductions and obligations.

- **Investor introductions** (staff): an introduction of a company to an investor organisation
  (an existing organisation of kind investor, or a new one by name and country), its date and
  outcome (waiting, meeting held, term sheet, investment with its amount in EUR and type, no
  follow-up) and a note. Listed per cohort with filters, the total invested per company and per
  cohort, exported as CSV or XLSX; `investment_total(cohort_id)` feeds the KPI on additional
  funding. A company reads its own introductions (read only); the company is told of each one.
- **Obligations**: a company admitted on the commitment to move its seat to the region has an open
  `Obligation` (kind relocate_seat). Staff record it fulfilled (date, note) or waived (reason);
  audited, the company told. `remind_obligations(now)` reminds each open obligation of a company
  in a running cohort (or one that ended less than 12 months ago) once per calendar month
  (Europe/Rome): an `ObligationReminder(obligation_id, month)` row is inserted first, so its
  primary key makes a second run in the same month send nothing.

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from opsapp.accounts import organisations
from opsapp.accounts.models import Organisation, OrganisationKind
from opsapp.calls.models import Obligation
from opsapp.cohorts import sessions
from opsapp.cohorts.models import (
    Cohort,
    CohortMember,
    CohortStatus,
    IntroductionOutcome,
    InvestmentType,
    InvestorIntroduction,
    ObligationReminder,
)
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit
from opsapp.core.money import MoneyError, to_money
from opsapp.core.notifications import notify
from opsapp.core.timeutil import DEFAULT_TZ, local_to_utc, to_local, utcnow
from opsapp.extensions import db

CENT = Decimal("0.01")
AMOUNT_MAX = Decimal("1000000000")
NOTE_MAX = 2000
NAME_MAX = 200
OBLIGATION_LABELS = {"relocate_seat": _l("Move the registered seat to the region")}
OBLIGATION_STATUS_LABELS = {"open": _l("Open"), "fulfilled": _l("Fulfilled"), "waived": _l("Waived")}


def obligation_label(kind: str) -> str:
    return str(OBLIGATION_LABELS.get(kind, kind))


def obligation_status_label(status: str) -> str:
    return str(OBLIGATION_STATUS_LABELS.get(status, status))


def _staff_or_404(user) -> None:
    if not sessions.is_staff(user):
        abort(404)


# --- investor introductions --------------------------------------------------------------------------


@dataclass
class IntroductionFilters:
    member_id: int | None = None
    outcome: str | None = None

    def as_args(self) -> dict:
        args = {}
        if self.member_id:
            args["company"] = self.member_id
        if self.outcome:
            args["result"] = self.outcome
        return args


@dataclass
class IntroductionData:
    member_id: int | None = None
    investor_id: int | None = None
    new_investor_name: str | None = None
    new_investor_country: str | None = None
    new_investor_vat: str | None = None
    introduced_on: date | None = None
    outcome: str = IntroductionOutcome.PENDING.value
    amount: str | None = None
    investment_type: str | None = None
    note: str | None = None


@dataclass
class IntroductionList:
    cohort: Cohort
    members: list[CohortMember]
    rows: list[InvestorIntroduction]
    totals: dict[int, Decimal]  # invested per member (every introduction, whatever the filters)
    total: Decimal

    @property
    def invested_members(self) -> list[tuple[CohortMember, Decimal]]:
        return [(m, self.totals[m.id]) for m in self.members if self.totals.get(m.id)]


def investors() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.INVESTOR.value)
                                   .order_by(Organisation.legal_name, Organisation.id)))


def _intro_query():
    return select(InvestorIntroduction).options(
        joinedload(InvestorIntroduction.investor),
        joinedload(InvestorIntroduction.member).joinedload(CohortMember.organisation))


def investment_totals(cohort_id: int) -> dict[int, Decimal]:
    """The amount invested per member of the cohort (introductions whose outcome is an investment)."""
    rows = db.session.execute(
        select(InvestorIntroduction.member_id, InvestorIntroduction.amount)
        .join(CohortMember, CohortMember.id == InvestorIntroduction.member_id)
        .where(CohortMember.cohort_id == cohort_id,
               InvestorIntroduction.outcome == IntroductionOutcome.INVESTMENT.value,
               InvestorIntroduction.amount.is_not(None)))
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for member_id, amount in rows:
        totals[member_id] += Decimal(amount)
    return {k: v.quantize(CENT) for k, v in totals.items()}


def investment_total(cohort_id: int) -> Decimal:
    """The total invested in the cohort's companies after introductions (EUR)."""
    return sum(investment_totals(cohort_id).values(), Decimal("0.00")).quantize(CENT)


def introductions(actor, cohort_id: int, filters: IntroductionFilters) -> IntroductionList:
    _staff_or_404(actor)
    cohort = sessions.cohort_or_404(cohort_id)
    query = (_intro_query().join(CohortMember, CohortMember.id == InvestorIntroduction.member_id)
             .where(CohortMember.cohort_id == cohort.id))
    if filters.member_id:
        query = query.where(InvestorIntroduction.member_id == filters.member_id)
    if filters.outcome:
        query = query.where(InvestorIntroduction.outcome == filters.outcome)
    rows = list(db.session.scalars(query.order_by(InvestorIntroduction.introduced_on.desc(),
                                                  InvestorIntroduction.id.desc())).unique())
    totals = investment_totals(cohort.id)
    return IntroductionList(cohort, sessions.members_of(cohort.id), rows, totals,
                            sum(totals.values(), Decimal("0.00")).quantize(CENT))


def introductions_of_member(member_id: int) -> list[InvestorIntroduction]:
    """A company's introductions, newest first (its page shows them read only)."""
    return list(db.session.scalars(_intro_query().where(InvestorIntroduction.member_id == member_id)
                                   .order_by(InvestorIntroduction.introduced_on.desc(),
                                             InvestorIntroduction.id.desc())).unique())


def introduction_for_staff(actor, introduction_id: int) -> InvestorIntroduction:
    _staff_or_404(actor)
    intro = db.session.scalar(_intro_query().where(InvestorIntroduction.id == introduction_id))
    if intro is None:
        abort(404)
    return intro


def _investor(actor, data: IntroductionData) -> tuple[Organisation, bool]:
    """The investor chosen, or the one named (found, or created); True when created."""
    if data.investor_id:
        investor = db.session.get(Organisation, data.investor_id)
        if investor is None or investor.kind != OrganisationKind.INVESTOR.value:
            raise CohortError(_("Choose an investor of the list, or enter a new one below."), field="investor_id")
        return investor, False
    name = (data.new_investor_name or "").strip()
    if not name:
        raise CohortError(_("Choose an investor of the list, or enter the name of a new one."), field="investor_id")
    if len(name) > NAME_MAX:
        raise CohortError(_("Write the name in at most %(n)d characters.", n=NAME_MAX), field="new_investor_name")
    country = (data.new_investor_country or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise CohortError(_("Choose the investor's country."), field="new_investor_country")
    raw_vat = (data.new_investor_vat or "").strip()
    if raw_vat:
        try:
            vat = organisations.registration_number(country, raw_vat)
        except organisations.OrganisationError as error:
            raise CohortError(error.message, field="new_investor_vat") from None
        existing = db.session.scalar(select(Organisation).where(Organisation.vat_number == vat))
        if existing is not None:
            if existing.kind != OrganisationKind.INVESTOR.value:
                raise CohortError(_("%(name)s is registered with this number, not as an investor.",
                                    name=existing.legal_name), field="new_investor_vat")
            return existing, False
    else:
        existing = db.session.scalar(select(Organisation).where(
            Organisation.kind == OrganisationKind.INVESTOR.value, Organisation.country == country,
            func.lower(Organisation.legal_name) == name.lower()))
        if existing is not None:
            return existing, False
        # Investors abroad often have no VAT number here: a unique internal reference stands in for it.
        vat = f"INVESTOR-{secrets.token_hex(6).upper()}"
    investor = Organisation(kind=OrganisationKind.INVESTOR.value, legal_name=name, vat_number=vat, country=country)
    try:
        with db.session.begin_nested():
            db.session.add(investor)
    except IntegrityError:
        raise CohortError(_("An organisation with this number was registered a moment ago. Choose it in the "
                            "list."), field="new_investor_vat") from None
    audit.record("organisation.created", investor, actor=actor, legal_name=name, kind=investor.kind,
                 vat_number=vat, why="investor introduction")
    return investor, True


def _checked_values(cohort: Cohort, data: IntroductionData, today: date) -> dict:
    """The values of an introduction after every rule, except the investor."""
    member_ids = {m.id for m in sessions.members_of(cohort.id)}
    if not data.member_id or data.member_id not in member_ids:
        raise CohortError(_("Choose a company of the cohort."), field="member_id")
    if data.introduced_on is None:
        raise CohortError(_("Enter the date of the introduction."), field="introduced_on")
    if data.introduced_on > today:
        raise CohortError(_("An introduction is recorded once it happened: choose today or a day before."),
                          field="introduced_on")
    try:
        outcome = IntroductionOutcome(data.outcome or "")
    except ValueError:
        raise CohortError(_("Choose the outcome."), field="outcome") from None
    raw_amount = (data.amount or "").strip()
    amount, kind = None, (data.investment_type or "").strip() or None
    if outcome is IntroductionOutcome.INVESTMENT:
        if not raw_amount:
            raise CohortError(_("Enter the amount invested, in euros."), field="amount")
        try:
            amount = to_money(raw_amount.replace("€", "").replace("EUR", "").replace(",", "."))
        except MoneyError:
            raise CohortError(_("Enter the amount as a number of euros, like 150000 or 150000.50."),
                              field="amount") from None
        if amount <= 0:
            raise CohortError(_("The amount invested must be more than zero."), field="amount")
        if amount > AMOUNT_MAX:
            raise CohortError(_("Enter an amount below one billion euros."), field="amount")
        if kind not in {t.value for t in InvestmentType}:
            raise CohortError(_("Choose the type of the investment."), field="investment_type")
    else:
        if raw_amount:
            raise CohortError(_("An amount is recorded only for an investment: choose the outcome Investment, or "
                                "leave the amount empty."), field="amount")
        kind = None
    note = (data.note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise CohortError(_("Write the note in at most %(n)d characters.", n=NOTE_MAX), field="note")
    return {"member_id": data.member_id, "introduced_on": data.introduced_on, "outcome": outcome.value,
            "amount": amount, "investment_type": kind, "note": note}


def record_introduction(actor, cohort_id: int, data: IntroductionData,
                        now: datetime | None = None) -> InvestorIntroduction:
    _staff_or_404(actor)
    now = now or utcnow()
    cohort = sessions.cohort_or_404(cohort_id)
    values = _checked_values(cohort, data, to_local(now, cohort.timezone or DEFAULT_TZ).date())
    investor, created = _investor(actor, data)
    intro = InvestorIntroduction(investor_id=investor.id, recorded_at=now, recorded_by_id=getattr(actor, "id", None),
                                 **values)
    db.session.add(intro)
    db.session.flush()
    audit.record("investor_introductions.recorded", intro, actor=actor, cohort_id=cohort.id,
                 investor_id=investor.id, investor_created=created, **_plain(values))
    _tell_introduction(intro, investor, new=True)
    return intro


def update_introduction(actor, introduction_id: int, data: IntroductionData,
                        now: datetime | None = None) -> InvestorIntroduction:
    now = now or utcnow()
    intro = introduction_for_staff(actor, introduction_id)
    cohort = intro.member.cohort
    values = _checked_values(cohort, data, to_local(now, cohort.timezone or DEFAULT_TZ).date())
    investor, created = _investor(actor, data)
    values["investor_id"] = investor.id
    changes = {k: [_plain_one(getattr(intro, k)), _plain_one(v)] for k, v in values.items() if getattr(intro, k) != v}
    if not changes:
        return intro
    outcome_changed = "outcome" in changes or "amount" in changes
    for key, value in values.items():
        setattr(intro, key, value)
    db.session.flush()
    audit.record("investor_introductions.changed", intro, actor=actor, changes=changes, investor_created=created)
    if outcome_changed:
        _tell_introduction(intro, investor, new=False)
    return intro


def _plain_one(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _plain(values: dict) -> dict:
    return {k: _plain_one(v) for k, v in values.items()}


def _tell_introduction(intro: InvestorIntroduction, investor: Organisation, new: bool) -> int:
    member = db.session.get(CohortMember, intro.member_id)
    outcome = IntroductionOutcome(intro.outcome)
    link = path_for("cohorts.milestones", cohort_id=member.cohort_id, member_id=member.id)
    if new:
        subject = _l("Introduction to %(investor)s recorded", investor=investor.legal_name)
    else:
        subject = _l("Introduction to %(investor)s: %(outcome)s", investor=investor.legal_name,
                     outcome=outcome.label)
    message = _l("The programme staff recorded the introduction of %(company)s to %(investor)s on %(date)s. "
                 "Outcome: %(outcome)s.", company=member.organisation.legal_name, investor=investor.legal_name,
                 date=intro.introduced_on.isoformat(), outcome=outcome.label)
    told = 0
    for person in sessions.people_of(member.organisation_id):
        if notify(person, subject, "generic", link=link, message=message) is not None:
            told += 1
    return told


# --- obligations ----------------------------------------------------------------------------------


def obligations_of(organisation_ids, open_only: bool = False) -> dict[int, list[Obligation]]:
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    query = select(Obligation).where(Obligation.organisation_id.in_(ids))
    if open_only:
        query = query.where(Obligation.status == "open")
    found: dict[int, list[Obligation]] = defaultdict(list)
    for obligation in db.session.scalars(query.order_by(Obligation.id)):
        found[obligation.organisation_id].append(obligation)
    return dict(found)


@dataclass
class ObligationRow:
    obligation: Obligation
    member: CohortMember


def cohort_obligations(cohort_id: int) -> list[ObligationRow]:
    """The obligations of the cohort's companies (open first, then closed), with their company."""
    members = sessions.members_of(cohort_id)
    by_org = {m.organisation_id: m for m in members}
    rows = []
    for org_id, items in obligations_of(by_org).items():
        rows.extend(ObligationRow(o, by_org[org_id]) for o in items)
    rows.sort(key=lambda r: (r.obligation.status != "open", r.member.organisation.legal_name.casefold(),
                             r.obligation.id))
    return rows


CLOSINGS = ("fulfilled", "waived")


def close_obligation(actor, obligation_id: int, outcome: str, on: date | None, note: str | None,
                     now: datetime | None = None) -> Obligation:
    """Staff record an open obligation fulfilled (on a date, with a note) or waived (with the reason)."""
    _staff_or_404(actor)
    now = now or utcnow()
    obligation = db.session.get(Obligation, obligation_id)
    if obligation is None:
        abort(404)
    if obligation.status != "open":
        raise CohortError(_("This obligation is already %(status)s.",
                            status=obligation_status_label(obligation.status).lower()))
    if outcome not in CLOSINGS:
        raise CohortError(_("Choose fulfilled or waived."), field="outcome")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise CohortError(_("Write the note in at most %(n)d characters.", n=NOTE_MAX), field="note")
    today = to_local(now, DEFAULT_TZ).date()
    if outcome == "fulfilled":
        if on is None:
            raise CohortError(_("Enter the day the obligation was fulfilled."), field="on")
        if on > today:
            raise CohortError(_("Choose today or a day before."), field="on")
        obligation.fulfilled_at = local_to_utc(datetime.combine(on, time(12, 0)), DEFAULT_TZ)
    else:
        if not note:
            raise CohortError(_("Give the reason for waiving the obligation: the company reads it."), field="note")
        on = None
    obligation.status = outcome
    if note:
        obligation.note = ((obligation.note or "") + "\n" + note).strip()
    db.session.flush()
    audit.record(f"obligations.{outcome}", obligation, actor=actor, organisation_id=obligation.organisation_id,
                 kind=obligation.kind, on=on.isoformat() if on else None, note=note)
    label = obligation_label(obligation.kind)
    if outcome == "fulfilled":
        subject = _l("Obligation fulfilled: %(what)s", what=label)
        message = _l("The programme staff recorded your company's obligation “%(what)s” as fulfilled on %(date)s. "
                     "No more reminders will be sent.", what=label, date=on.isoformat())
    else:
        subject = _l("Obligation waived: %(what)s", what=label)
        message = _l("The programme staff waived your company's obligation “%(what)s”. Reason: %(reason)s",
                     what=label, reason=note)
    link = _member_link(obligation.organisation_id)
    for person in sessions.people_of(obligation.organisation_id):
        notify(person, subject, "generic", link=link, message=message)
    return obligation


def _member_link(organisation_id: int) -> str | None:
    member = db.session.scalar(
        select(CohortMember).join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.organisation_id == organisation_id)
        .order_by(Cohort.starts_on.desc(), CohortMember.id.desc()).limit(1))
    if member is None:
        return None
    return path_for("cohorts.milestones", cohort_id=member.cohort_id, member_id=member.id)


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def remind_obligations(now: datetime) -> int:
    """One reminder per open obligation per calendar month (Europe/Rome) for the companies of a
    running cohort or of a cohort that ended less than 12 months ago; returns how many were sent."""
    local = to_local(now, DEFAULT_TZ)
    month, today = local.strftime("%Y-%m"), local.date()
    followed = (select(CohortMember.organisation_id).join(Cohort, Cohort.id == CohortMember.cohort_id)
                .where(or_(Cohort.status == CohortStatus.RUNNING.value,
                           (Cohort.status == CohortStatus.COMPLETED.value) & (Cohort.ends_on > _a_year_before(today)))))
    obligations = list(db.session.scalars(
        select(Obligation).where(Obligation.status == "open", Obligation.organisation_id.in_(followed))
        .options(joinedload(Obligation.organisation)).order_by(Obligation.id)))
    sent = 0
    for obligation in obligations:
        try:
            with db.session.begin_nested():
                db.session.add(ObligationReminder(obligation_id=obligation.id, month=month, sent_at=now))
        except IntegrityError:
            continue  # reminded this month already
        label = obligation_label(obligation.kind)
        message = _l("When applying, %(company)s committed to this: %(what)s. It is still open. Once it is done, "
                     "send the proof (for example the chamber of commerce record of the new seat) to the programme "
                     "staff, who will record it.", company=obligation.organisation.legal_name, what=label)
        link = _member_link(obligation.organisation_id)
        for person in sessions.people_of(obligation.organisation_id):
            notify(person, _l("Reminder: %(what)s", what=label), "generic", link=link, message=message)
        obligation.last_reminded_at = now
        audit.record("obligations.reminded", obligation, month=month, organisation_id=obligation.organisation_id)
        sent += 1
    db.session.flush()
    return sent
