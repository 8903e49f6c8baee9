"""The monitoring end to end on real rows: a cohort with members and an investment, an event
with SMEs, buyers from outside the region, meetings and confirmed contracts, vouchers,
follow-ups with baselines and answered and unanswered surveys, and a comparison group;
`monitoring.compute` gives the figures staff and the authority see, and targets are set,
combined over editions, audited, and refused when they make no sense."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import CompletionStatus, InvestorIntroduction
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.events.models import (
    ContractStatus,
    MeetingStatus,
    ParticipantStatus,
    Side,
    SupplyContract,
)
from opsapp.extensions import db
from opsapp.kpi import monitoring
from opsapp.kpi.catalogue import ACCELERATOR, MEET_THE_BUYER
from opsapp.kpi.models import IndicatorTarget
from opsapp.kpi.monitoring import KpiError
from opsapp.kpi.results import Scope
from opsapp.vouchers.models import VoucherStatus
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_edition
from tests.factories_cohorts import make_cohort, make_member
from tests.factories_events import make_event, make_meeting, make_participant, make_request
from tests.factories_kpi import make_comparison, make_follow_up, make_survey, make_target
from tests.factories_vouchers import make_scheme, make_voucher

TODAY = date(2026, 1, 15)


@pytest.fixture
def world(ctx):
    """The programmes as of 15 January 2026."""
    domains = {d.code: d for d in make_s3_domains()}
    acc24 = make_edition(2024, ProgrammeKind.ACCELERATOR)
    acc25 = make_edition(2025, ProgrammeKind.ACCELERATOR)
    mtb25 = make_edition(2025, ProgrammeKind.MEET_THE_BUYER)

    def company(name, vat, size="small", founded=date(2015, 1, 1), s3=("ict",)):
        org = make_organisation(kind="startup", legal_name=name, vat_number=vat, size_class=size,
                                founding_date=founded)
        org.s3_domains = [domains[c] for c in s3]
        return org

    # Alfa was in the 2024 cohort and again in 2025 under another spelling of its VAT number.
    alfa = company("Alfa S.r.l.", "IT01234567897", size="micro", founded=date(2023, 1, 10))
    alfa_again = company("Alfa S.r.l. (2025)", "01234567897", size="micro", founded=date(2023, 1, 10))
    beta = company("Beta S.r.l.", "IT02222222221")
    gamma = company("Gamma S.r.l.", "IT03333333335", s3=("ict", "energy"))
    cohort24 = make_cohort(edition_id=acc24.id, starts_on=date(2024, 3, 1), ends_on=date(2024, 9, 30))
    cohort25 = make_cohort(edition_id=acc25.id, starts_on=date(2025, 3, 1), ends_on=date(2025, 9, 30),
                           name="Business Accelerator 2025 cohort")
    alfa_member = make_member(cohort24, organisation=alfa, completion=CompletionStatus.COMPLETED.value)
    beta_member = make_member(cohort24, organisation=beta, completion=CompletionStatus.WITHDRAWN.value)
    make_member(cohort24, organisation=gamma, completion=CompletionStatus.COMPLETED.value)
    make_member(cohort25, organisation=alfa_again)
    investor = make_organisation(kind="investor", legal_name="Piemonte Ventures SGR")
    db.session.add_all([
        InvestorIntroduction(member_id=alfa_member.id, investor_id=investor.id, introduced_on=date(2024, 6, 1),
                             outcome="investment", amount=Decimal("150000.00"), investment_type="equity"),
        InvestorIntroduction(member_id=beta_member.id, investor_id=investor.id, introduced_on=date(2024, 6, 1),
                             outcome="pending"),
    ])

    # Follow-ups of the 2024 cohort: 12-month surveys due on 30 September 2025.
    ended = date(2024, 9, 30)
    fa = make_follow_up(alfa, acc24, ended_on=ended, turnover="500000", employees_fte="10", high_skill_fte="2")
    fb = make_follow_up(beta, acc24, ended_on=ended, turnover="800000", employees_fte="8")
    fg = make_follow_up(gamma, acc24, ended_on=ended, turnover="300000", employees_fte="5")
    make_survey(fa, 12, sales="600000", employees_fte="12", high_skill_fte="3", funding_raised="0",
                funding_source="none", new_markets=1, corporate_partnerships=1)
    make_survey(fb, 12)  # not answered
    make_survey(fg, 12, sales="340000", employees_fte="5", funding_raised="20000", funding_source="public",
                new_markets=0, corporate_partnerships=0)
    for i in range(3):
        other = company(f"Confronto {i} S.r.l.", f"IT0444444444{i}")
        comparison = make_comparison(other, acc24, ended_on=ended, turnover="100000", employees_fte="4")
        make_survey(comparison, 12, sales="110000", employees_fte="4")

    # The Meet the Buyer event of November 2025, and one to come in March 2026.
    event = make_event(first_day=date(2025, 11, 10), edition_id=mtb25.id, name="Meet the Buyer 2025")
    later = make_event(first_day=date(2026, 3, 2), edition_id=mtb25.id, name="Meet the Buyer 2026")

    def sme(ev, name, vat, **fields):
        return make_participant(ev, Side.SME, organisation=company(name, vat), **fields)

    def buyer(name, vat, outside=True, country="DE"):
        org = make_organisation(kind="corporate_buyer", legal_name=name, vat_number=vat, country=country)
        return make_participant(event, Side.BUYER, organisation=org, outside_region=outside)

    s1 = sme(event, "Sensori Uno S.r.l.", "IT05555555551")
    s2 = sme(event, "Sensori Due S.r.l.", "IT06666666661")
    sme(event, "Invitata S.r.l.", "IT07777777771", status=ParticipantStatus.INVITED.value)
    sme(event, "Ritirata S.r.l.", "IT08888888881", status=ParticipantStatus.WITHDRAWN.value)
    sme(later, "Futura S.r.l.", "IT09999999991")
    alfa_at_event = make_participant(event, Side.SME, organisation=alfa)
    met = buyer("Grosse Einkauf GmbH", "DE111111111")
    buyer("Kein Treffen GmbH", "DE222222222")
    cancelled = buyer("Abgesagt GmbH", "DE333333333")
    local = buyer("Acquisti Locali S.p.A.", "IT01010101011", outside=False, country="IT")
    make_meeting(make_request(s1, met), event.slots[0], table=1, status=MeetingStatus.HELD)
    make_meeting(make_request(s2, cancelled), event.slots[1], table=1, status=MeetingStatus.CANCELLED)
    make_meeting(make_request(s2, local), event.slots[2], table=1, status=MeetingStatus.HELD)
    for who, value, status in ((s1, "30000", ContractStatus.CONFIRMED), (alfa_at_event, "12000",
                                                                          ContractStatus.CONFIRMED),
                               (s2, "99000", ContractStatus.RECORDED)):
        db.session.add(SupplyContract(event_id=event.id, sme_id=who.id, buyer_id=met.id, signed_on=date(2025, 12, 1),
                                      value=Decimal(value), status=status.value))
    scheme = make_scheme(edition_id=mtb25.id)
    make_voucher(scheme, s1.organisation, granted_on=date(2025, 10, 1), valid_until=date(2026, 3, 1))
    make_voucher(scheme, s2.organisation, granted_on=date(2025, 10, 1), valid_until=date(2026, 3, 1),
                 status=VoucherStatus.CANCELLED)
    db.session.flush()
    return {"acc24": acc24, "acc25": acc25, "mtb25": mtb25}


def figures(monitoring_, *keys):
    return {k: monitoring_.value(k).value for k in keys}


def test_accelerator_figures_for_staff(world):
    m = monitoring.compute(Scope(ACCELERATOR), for_authority=False, today=TODAY)
    # Alfa (twice, two spellings), Beta (withdrew) and Gamma were admitted; Alfa and Gamma completed.
    assert figures(m, "ACC-1.admitted", "ACC-1.completed") == {"ACC-1.admitted": 3.0, "ACC-1.completed": 2.0}
    sales = m.value("ACC-2.sales")
    # (600,000 + 340,000) / (500,000 + 300,000) = 1.175 -> 17.5% after 12 months; Beta did not answer.
    assert (sales.value, sales.companies, sales.expected, sales.wave, sales.partial) == (17.5, 2, 3, 12, True)
    # Funding: Gamma reported 20,000 and Alfa got a 150,000 investment (Beta's introduction is pending).
    assert figures(m, "ACC-4.companies", "ACC-4.amount") == {"ACC-4.companies": 2.0, "ACC-4.amount": 170_000.0}
    # One partnership reported by Alfa, plus Alfa's supply contract confirmed at the event.
    assert m.value("ACC-5.partnerships").value == 2.0
    assert m.value("ACC-6.jobs").value == 1.0  # Alfa: 3 - 2 high-skill FTE
    assert m.value("ACC-3.companies").value == 1.0  # Alfa entered a new market
    # ERDF: 3 companies (Alfa micro, founded less than 3 years before the 2024 cohort), 2 more jobs at Alfa,
    # private money: the investment only (Gamma's funding was public); turnover up at Alfa and Gamma.
    assert figures(m, "RCO01.total", "RCO01.micro", "RCO01.small", "RCO04.companies", "RCO05.companies",
                   "RCR01.jobs", "RCR02.private", "RCR19.companies") == {
        "RCO01.total": 3.0, "RCO01.micro": 1.0, "RCO01.small": 2.0, "RCO04.companies": 3.0,
        "RCO05.companies": 1.0, "RCR01.jobs": 2.0, "RCR02.private": 150_000.0, "RCR19.companies": 2.0}
    assert m.editions == [2024, 2025]
    # Groups count the participants (the comparison group is not one of them).
    assert [(b.key, b.companies) for b in m.by_edition] == [("2024", 3), ("2025", 1)]
    assert {b.key: b.companies for b in m.by_s3} == {"ict": 3, "energy": 1}
    response = {(r.wave, r.group): (r.due, r.answered) for r in m.response}
    assert response[(12, "participant")] == (3, 2) and response[(12, "comparison")] == (3, 3)
    sales_impact = next(i for i in m.impact if i.metric == "sales" and i.wave == 12)
    # Participants +17.5%, comparison 330,000 / 300,000 = +10.0%: 7.5 points.
    assert (sales_impact.participants_change, sales_impact.comparison_change, sales_impact.difference) == \
        (17.5, 10.0, 7.5)


def test_the_authority_sees_no_figure_resting_on_fewer_than_three_companies(world):
    m = monitoring.compute(Scope(ACCELERATOR), for_authority=True, today=TODAY)
    assert m.value("ACC-1.admitted").value == 3.0
    for key in ("ACC-2.sales", "ACC-4.companies", "ACC-6.jobs", "RCR19.companies", "RCO01.micro"):
        v = m.value(key)
        assert v.value is None and v.suppressed, key
    sales_impact = next(i for i in m.impact if i.metric == "sales")
    assert sales_impact.suppressed and sales_impact.difference is None
    # The 2025 edition (Alfa alone) and the energy domain (Gamma alone) are hidden whole.
    groups = {b.key: b for b in m.by_edition + m.by_s3}
    assert groups["2025"].suppressed and all(v.value is None for v in groups["2025"].values)
    assert groups["energy"].suppressed and not groups["ict"].suppressed
    for group in m.by_edition + m.by_s3 + m.by_size:
        for v in group.values:
            assert v.value is None or v.companies >= 3 or v.companies == 0, (group.key, v)


def test_meet_the_buyer_figures(world):
    m = monitoring.compute(Scope(MEET_THE_BUYER), for_authority=False, today=TODAY)
    # One event held (March 2026's is to come); SMEs that took part: Uno, Due, Alfa (not the invited-only
    # or withdrawn ones); outside buyers invited: 3, of which one met an SME (the other meeting was cancelled).
    assert figures(m, "MTB-1.events", "MTB-2.smes", "MTB-3.targeted", "MTB-3.involved") == {
        "MTB-1.events": 1.0, "MTB-2.smes": 3.0, "MTB-3.targeted": 3.0, "MTB-3.involved": 1.0}
    # Confirmed contracts: 30,000 + 12,000 (the recorded 99,000 is not confirmed yet).
    assert figures(m, "MTB-4.contracts", "MTB-4.value") == {"MTB-4.contracts": 2.0, "MTB-4.value": 42_000.0}
    # Vouchers: Uno's (Due's was cancelled).
    assert figures(m, "RCO02.companies", "RCO01.total") == {"RCO02.companies": 1.0, "RCO01.total": 3.0}
    assert m.value("MTB-5.turnover").value is None and m.value("MTB-5.turnover").wave is None
    # Before the event, nothing was held and nobody took part.
    before = monitoring.compute(Scope(MEET_THE_BUYER, 2025), for_authority=False, today=date(2025, 11, 1))
    assert figures(before, "MTB-1.events", "MTB-2.smes", "MTB-3.involved") == {
        "MTB-1.events": 0.0, "MTB-2.smes": 0.0, "MTB-3.involved": 0.0}


def test_surveys_not_yet_due_are_left_out(world):
    m = monitoring.compute(Scope(ACCELERATOR), for_authority=False, today=date(2025, 9, 1))
    sales = m.value("ACC-2.sales")
    assert (sales.value, sales.expected, sales.wave) == (None, 0, None)


def test_lookups(world):
    assert [p for p, _ in monitoring.programmes()] == [ACCELERATOR, MEET_THE_BUYER]
    assert monitoring.editions(ACCELERATOR) == [2024, 2025]
    assert monitoring.editions(MEET_THE_BUYER) == [2025]
    codes = [code for code, _ in monitoring.s3_domains()]
    assert "ict" in codes and "energy" in codes
    assert monitoring.programme_of_edition(world["mtb25"].id) == MEET_THE_BUYER


def test_targets_are_set_combined_and_audited(world):
    staff = make_user("staff@example.eu", roles=[Role.STAFF])
    monitoring.set_target(staff, "ACC-1.admitted", world["acc24"].id, Decimal("10"))
    monitoring.set_target(staff, "ACC-1.admitted", world["acc25"].id, Decimal("5"))
    monitoring.set_target(staff, "ACC-2.sales", world["acc24"].id, Decimal("6"))
    make_target("ACC-2.sales", world["acc25"], "9")
    assert monitoring.targets(ACCELERATOR, 2024) == {"ACC-1.admitted": Decimal("10.00"),
                                                     "ACC-2.sales": Decimal("6.00")}
    # Over both editions: 10 + 5 companies; a growth rate from surveys has no target across editions.
    m = monitoring.compute(Scope(ACCELERATOR), for_authority=False, today=TODAY)
    assert (m.value("ACC-1.admitted").target, m.value("ACC-1.admitted").progress) == (15.0, 0.2)
    assert m.value("ACC-2.sales").target is None
    assert monitoring.compute(Scope(ACCELERATOR, 2025), for_authority=False, today=TODAY).value("ACC-2.sales").target == 9
    # Changed, then removed.
    monitoring.set_target(staff, "ACC-1.admitted", world["acc24"].id, Decimal("12"))
    monitoring.set_target(staff, "ACC-1.admitted", world["acc25"].id, None)
    assert monitoring.compute(Scope(ACCELERATOR), for_authority=False, today=TODAY).value("ACC-1.admitted").target == 12
    rows = db.session.scalars(select(IndicatorTarget).where(IndicatorTarget.measure == "ACC-1.admitted")).all()
    assert [(r.edition_id, r.target, r.set_by_id) for r in rows] == [(world["acc24"].id, Decimal("12.00"), staff.id)]
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "kpi.target_set")
                                 .order_by(AuditEntry.id)).all()
    assert len(entries) == 5
    assert entries[-1].actor_id == staff.id and entries[-1].object_type == "editions"
    assert entries[-1].detail["measure"] == "ACC-1.admitted" and entries[-1].detail["target"] is None
    assert entries[-2].detail["target"] == "12.00" and entries[-2].detail["previous"] == "10.00"


@pytest.mark.parametrize(("measure", "value", "field"), [
    ("ACC-1.admitted", Decimal("-1"), "target"),
    ("ACC-9.nothing", Decimal("5"), "measure"),
    ("MTB-1.events", Decimal("5"), "measure"),  # a Meet the Buyer measure on an Accelerator edition
])
def test_bad_targets_are_refused(world, measure, value, field):
    staff = make_user("staff@example.eu", roles=[Role.STAFF])
    with pytest.raises(KpiError) as refused:
        monitoring.set_target(staff, measure, world["acc24"].id, value)
    assert refused.value.field == field
    assert db.session.scalars(select(IndicatorTarget)).all() == []
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "kpi.target_set")).all() == []


def test_only_staff_set_targets(world):
    authority = make_user("authority@example.eu", roles=[Role.AUTHORITY])
    with pytest.raises(KpiError):
        monitoring.set_target(authority, "ACC-1.admitted", world["acc24"].id, Decimal("10"))
    # An ERDF measure may be set on either programme's edition.
    staff = make_user("staff@example.eu", roles=[Role.STAFF])
    monitoring.set_target(staff, "RCO01.total", world["mtb25"].id, Decimal("40"))
    assert monitoring.targets(MEET_THE_BUYER, 2025) == {"RCO01.total": Decimal("40.00")}
