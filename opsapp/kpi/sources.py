"""Reading the other domains for the monitoring: cohorts, events, buyers, meetings, contracts,
vouchers, investor introductions, follow-ups and their surveys become the pandas frames
`indicators.py` computes from.

One programme is read at once with a few column-level SELECTs (no rows loaded as objects),
so that every edition, S3 domain and size class of its dashboard is computed from one load.
Money is read as the integer cents the database keeps and turned into floats of euros here;
the organisations' figures (enterprise key, size class, S3 domains, founding date) are read
once and joined in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Float, select, type_coerce

from opsapp.accounts.models import Organisation, S3Domain, organisation_s3_domains
from opsapp.calls.models import Edition, Programme
from opsapp.cohorts.models import (
    Cohort,
    CohortMember,
    CompletionStatus,
    IntroductionOutcome,
    InvestorIntroduction,
)
from opsapp.events.models import (
    ContractStatus,
    Event,
    Meeting,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    Side,
    SupplyContract,
)
from opsapp.extensions import db
from opsapp.kpi import indicators
from opsapp.kpi.models import FollowUp, IndicatorTarget, Survey, SurveyStatus
from opsapp.vouchers.models import Voucher, VoucherScheme, VoucherStatus

# An SME took part in an event once its profile was completed; invited-only and withdrawn ones did not.
TOOK_PART = (ParticipantStatus.REGISTERED.value,)
# A meeting counts as held unless it was cancelled or one side reported that it did not happen.
MET = (MeetingStatus.SCHEDULED.value, MeetingStatus.HELD.value)
# A voucher cancelled by staff or lapsed unclaimed supported nobody.
VOUCHER_VOID = (VoucherStatus.CANCELLED.value, VoucherStatus.LAPSED.value)


def _euros(column):
    """A Money column as its stored integer cents (read without building a Decimal per row)."""
    return type_coerce(column, BigInteger)


def _float(column):
    return type_coerce(column, Float)


def _records(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def _euro_columns(df: pd.DataFrame, *columns: str) -> None:
    """Integer cents to float euros (NaN when missing), in place."""
    for column in columns:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype(float) / 100


def _organisations() -> pd.DataFrame:
    """The enterprise key, size class, S3 domains and founding date of every organisation."""
    rows = db.session.execute(select(Organisation.id, Organisation.vat_number, Organisation.country,
                                     Organisation.size_class, Organisation.founding_date)).all()
    domains: dict[int, list[str]] = defaultdict(list)
    for organisation_id, code in db.session.execute(
            select(organisation_s3_domains.c.organisation_id, S3Domain.code)
            .join(S3Domain, S3Domain.id == organisation_s3_domains.c.s3_domain_id)):
        domains[organisation_id].append(code)
    return pd.DataFrame({
        "organisation_id": np.array([r[0] for r in rows], dtype=np.int64),
        "company_key": [indicators.company_key(vat, country) or f"ORG{oid}" for oid, vat, country, _, _ in rows],
        "size_class": [size or indicators.UNKNOWN_SIZE for _, _, _, size, _ in rows],
        "s3_domains": [sorted(domains.get(r[0], ())) for r in rows],
        "founded_on": [r[4] for r in rows],
    })


def _event_days(days) -> tuple[date | None, date | None]:
    parsed = sorted(date.fromisoformat(str(d)[:10]) for d in (days or ()))
    return (parsed[0], parsed[-1]) if parsed else (None, None)


def load(programme: str, today: date) -> indicators.Frames:
    """The frames of one programme (`catalogue.ACCELERATOR` or `MEET_THE_BUYER`) as of `today`."""
    editions = db.session.execute(select(Edition.id, Edition.year, Programme.kind)
                                  .join(Programme, Programme.id == Edition.programme_id)).all()
    year_of = {eid: year for eid, year, _ in editions}
    programme_of = {eid: kind for eid, _, kind in editions}
    own = [eid for eid, _, kind in editions if kind == programme]
    organisations = _organisations()

    def with_organisation(df: pd.DataFrame, founded: bool = False) -> pd.DataFrame:
        wanted = organisations if founded else organisations.drop(columns=["founded_on"])
        return df.astype({"organisation_id": np.int64}).merge(wanted, on="organisation_id", how="left")

    def edition_years(edition_ids) -> list:
        return [year_of.get(e) for e in edition_ids]

    # Events of every edition (contracts of any programme count for Accelerator participants).
    event_info = {}
    events = []
    for event_id, edition_id, days in db.session.execute(select(Event.id, Event.edition_id, Event.days)):
        first, last = _event_days(days)
        held = last is not None and last < today
        event_info[event_id] = (edition_id, first, held)
        if programme_of.get(edition_id) == programme:
            events.append({"event_id": event_id, "programme": programme, "edition": year_of[edition_id],
                           "held": held})
    own_events = [e["event_id"] for e in events]
    held_events = [e["event_id"] for e in events if e["held"]]

    # Cohort members: every member was admitted, including those who withdrew later.
    members = _records(db.session.execute(
        select(CohortMember.organisation_id, CohortMember.completion, Cohort.starts_on, Cohort.edition_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id).where(Cohort.edition_id.in_(own))),
        ["organisation_id", "completion", "started_on", "edition_id"])
    members["kind"] = "cohort"
    members["completed"] = (members["completion"] == CompletionStatus.COMPLETED.value).to_numpy(dtype=bool)
    # SMEs that took part in an event already held.
    smes = _records(db.session.execute(
        select(Participant.event_id, Participant.organisation_id)
        .where(Participant.event_id.in_(held_events), Participant.side == Side.SME.value,
               Participant.status.in_(TOOK_PART))), ["event_id", "organisation_id"])
    smes["edition_id"] = [event_info[e][0] for e in smes["event_id"]]
    smes["started_on"] = [event_info[e][1] for e in smes["event_id"]]
    smes["kind"], smes["completed"] = "event", False
    vouchers = _records(db.session.execute(
        select(Voucher.organisation_id, Voucher.granted_on, VoucherScheme.edition_id)
        .join(VoucherScheme, VoucherScheme.id == Voucher.scheme_id)
        .where(VoucherScheme.edition_id.in_(own), Voucher.status.not_in(VOUCHER_VOID))),
        ["organisation_id", "started_on", "edition_id"])
    vouchers["kind"], vouchers["completed"] = "voucher", False
    columns = ["organisation_id", "edition_id", "kind", "completed", "started_on"]
    supports = pd.concat([members[columns], smes[columns], vouchers[columns]], ignore_index=True)
    supports["edition"] = edition_years(supports["edition_id"])
    supports["programme"], supports["admitted"] = programme, True
    supports = with_organisation(supports.drop(columns=["edition_id"]), founded=True)

    # Buyers invited, and whether they held a meeting at an event already held.
    met = set(db.session.scalars(select(Meeting.buyer_id).distinct()
                                 .where(Meeting.event_id.in_(held_events), Meeting.status.in_(MET))))
    buyers = _records(db.session.execute(
        select(Participant.id, Participant.event_id, Participant.organisation_id, Participant.outside_region)
        .where(Participant.event_id.in_(own_events), Participant.side == Side.BUYER.value)),
        ["participant_id", "event_id", "organisation_id", "outside_region"])
    buyers["met"] = [p in met for p in buyers["participant_id"]]
    buyers["edition"] = edition_years(event_info[e][0] for e in buyers["event_id"])
    buyers["programme"] = programme
    buyers = with_organisation(buyers)

    contracts = _records(db.session.execute(
        select(SupplyContract.event_id, Participant.organisation_id, _euros(SupplyContract.value))
        .join(Participant, Participant.id == SupplyContract.sme_id)
        .where(SupplyContract.status == ContractStatus.CONFIRMED.value)), ["event_id", "organisation_id", "value"])
    _euro_columns(contracts, "value")
    contract_editions = [event_info.get(e, (None,))[0] for e in contracts["event_id"]]
    contracts["programme"] = [programme_of.get(e) for e in contract_editions]
    contracts["edition"] = edition_years(contract_editions)
    contracts = with_organisation(contracts)

    investments = _records(db.session.execute(
        select(CohortMember.organisation_id, Cohort.edition_id, _euros(InvestorIntroduction.amount),
               InvestorIntroduction.investment_type)
        .join(CohortMember, CohortMember.id == InvestorIntroduction.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(Cohort.edition_id.in_(own), InvestorIntroduction.outcome == IntroductionOutcome.INVESTMENT.value)),
        ["organisation_id", "edition_id", "amount", "investment_type"])
    _euro_columns(investments, "amount")
    investments["edition"] = edition_years(investments["edition_id"])
    investments["programme"] = programme
    investments = with_organisation(investments)

    follow_ups = _records(db.session.execute(
        select(FollowUp.id, FollowUp.organisation_id, FollowUp.edition_id, FollowUp.group,
               _euros(FollowUp.baseline_turnover), _euros(FollowUp.baseline_export_turnover),
               _float(FollowUp.baseline_employees_fte), _float(FollowUp.baseline_high_skill_fte),
               _euros(FollowUp.baseline_investment_raised))
        .where(FollowUp.edition_id.in_(own))),
        ["follow_up_id", "organisation_id", "edition_id", "group", "baseline_turnover", "baseline_export_turnover",
         "baseline_employees_fte", "baseline_high_skill_fte", "baseline_investment_raised"])
    _euro_columns(follow_ups, "baseline_turnover", "baseline_export_turnover", "baseline_investment_raised")
    follow_ups["edition"] = edition_years(follow_ups["edition_id"])
    follow_ups["programme"] = programme
    follow_ups = with_organisation(follow_ups)

    surveys = _records(db.session.execute(
        select(Survey.follow_up_id, Survey.wave, Survey.status, _euros(Survey.sales), _euros(Survey.export_sales),
               _float(Survey.employees_fte), _float(Survey.high_skill_fte), _euros(Survey.funding_raised),
               Survey.funding_source, Survey.new_markets, Survey.corporate_partnerships, Survey.contracts_signed,
               _euros(Survey.contracts_value))
        .join(FollowUp, FollowUp.id == Survey.follow_up_id)
        .where(FollowUp.edition_id.in_(own), Survey.due_on <= today)),
        ["follow_up_id", "wave", "status", "sales", "export_sales", "employees_fte", "high_skill_fte",
         "funding_raised", "funding_source", "new_markets", "corporate_partnerships", "contracts_signed",
         "contracts_value"])
    surveys["answered"] = (surveys["status"] == SurveyStatus.ANSWERED.value).to_numpy(dtype=bool)
    _euro_columns(surveys, "sales", "export_sales", "funding_raised", "contracts_value")

    return indicators.frames(supports=supports, follow_ups=follow_ups, surveys=surveys, events=events,
                             buyers=buyers, contracts=contracts, investments=investments,
                             editions=[year_of[eid] for eid in own])


def s3_names(locale: str = "en") -> dict[str, str]:
    """Every S3 domain's name in a language, by code (inactive ones too: past companies keep them)."""
    rows = db.session.execute(select(S3Domain.code, S3Domain.name_en, S3Domain.name_it)).all()
    italian = str(locale).startswith("it")
    return {code: (it if italian else en) for code, en, it in rows}


def targets_by_edition(programme: str) -> dict[int, dict[str, float]]:
    """The targets of every edition of a programme: edition year -> measure -> target."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    for year, measure, target in db.session.execute(
            select(Edition.year, IndicatorTarget.measure, IndicatorTarget.target)
            .join(Edition, Edition.id == IndicatorTarget.edition_id)
            .join(Programme, Programme.id == Edition.programme_id)
            .where(Programme.kind == programme)):
        out[year][measure] = float(target)
    return dict(out)
