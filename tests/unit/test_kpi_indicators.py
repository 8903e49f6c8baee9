"""Every indicator on small cases computed by hand (pure: plain frames, no database): counts
from records, growth rates compounded per year, an enterprise counted once however it was
supported, partial data flagged, small groups hidden from the authority, targets combined
over editions, the comparison-group estimate and empty data."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.kpi import indicators
from opsapp.kpi.catalogue import ACCELERATOR, MEASURES, MEET_THE_BUYER, measures_of
from opsapp.kpi.indicators import combine_targets, company_key, frames
from opsapp.kpi.results import Scope

ACC, MTB = Scope(ACCELERATOR), Scope(MEET_THE_BUYER)


def run(data, scope=ACC, *, for_authority=False, **kwargs):
    return indicators.compute(data, scope, for_authority=for_authority, **kwargs)


def value(monitoring, key):
    return monitoring.value(key)


def series(monitoring, key):
    return [v.value for v in monitoring.series[key]]


def follow_up(fid, key, edition=2024, group="participant", programme=ACCELERATOR, **baseline):
    row = {"follow_up_id": fid, "organisation_id": fid, "company_key": key, "edition": edition, "group": group,
           "programme": programme}
    row.update({f"baseline_{name}": figure for name, figure in baseline.items()})
    return row


def survey(fid, wave, answered=True, **figures):
    return {"follow_up_id": fid, "wave": wave, "answered": answered, **figures}


# --- enterprises -------------------------------------------------------------------------------


def test_company_key_normalises_the_spellings_of_one_number():
    assert company_key("IT 012.345-678 90", "IT") == "01234567890"
    assert company_key("it01234567890", "IT") == "01234567890"
    assert company_key("01234567890", "IT") == "01234567890"
    # A foreign prefix followed by digits only is a country prefix too.
    assert company_key("DE123456789", "IT") == "123456789"
    # Letters after a foreign prefix belong to the number (Austrian "ATU..." seen from Italy).
    assert company_key("ATU12345678", "IT") == "ATU12345678"
    assert company_key("ATU12345678", "AT") == "U12345678"
    assert company_key(None) is None


def test_a_company_supported_twice_counts_once():
    # Company A joined the 2024 cohort as "IT01234567890" and the 2025 one as "01234567890";
    # B withdrew from the 2024 cohort (still admitted); C completed in 2025.
    a1, a2 = company_key("IT01234567890", "IT"), company_key("01234567890", "IT")
    data = frames(supports=[
        {"organisation_id": 1, "company_key": a1, "edition": 2024, "kind": "cohort", "completed": True},
        {"organisation_id": 2, "company_key": a2, "edition": 2025, "kind": "cohort"},
        {"organisation_id": 3, "company_key": "B", "edition": 2024, "kind": "cohort"},
        {"organisation_id": 4, "company_key": "C", "edition": 2025, "kind": "cohort", "completed": True},
    ])
    m = run(data)
    # Admitted: A, B, C = 3 (A once); completed: A, C = 2.
    assert (value(m, "ACC-1.admitted").value, value(m, "ACC-1.completed").value) == (3.0, 2.0)
    assert value(m, "ACC-1.admitted").companies == 3 and value(m, "ACC-1.admitted").expected is None
    assert value(m, "RCO01.total").value == 3.0
    # Per edition: 2024 has A and B (A completed), 2025 has A and C (C completed).
    editions = {b.key: {v.measure: v.value for v in b.values} for b in m.by_edition}
    assert editions["2024"]["ACC-1.admitted"] == 2.0 and editions["2024"]["ACC-1.completed"] == 1.0
    assert editions["2025"]["ACC-1.admitted"] == 2.0 and editions["2025"]["ACC-1.completed"] == 1.0
    assert m.editions == [2024, 2025]
    assert run(data, Scope(ACCELERATOR, 2025)).value("ACC-1.admitted").value == 2.0


def test_a_company_followed_after_two_editions_answers_once_per_wave():
    # K followed after 2024 and after 2025, both 12-month surveys answered: the 2025 one counts.
    data = frames(follow_ups=[follow_up(1, "K", 2024, turnover=100_000), follow_up(2, "K", 2025, turnover=200_000)],
                  surveys=[survey(1, 12, sales=150_000), survey(2, 12, sales=220_000)])
    sales = run(data).value("ACC-2.sales")
    # 220,000 / 200,000 = 1.1 -> +10.0% a year, from one company.
    assert (sales.value, sales.companies, sales.expected, sales.wave) == (10.0, 1, 1, 12)


# --- growth rates -------------------------------------------------------------------------------

GROWTH = dict(
    follow_ups=[follow_up(1, "K1", turnover=600_000, export_turnover=100_000, investment_raised=50_000),
                follow_up(2, "K2", turnover=400_000, export_turnover=100_000, investment_raised=50_000)],
    surveys=[survey(1, 12, sales=700_000), survey(2, 12, sales=400_000),
             survey(1, 24, sales=900_000, funding_raised=64_000), survey(2, 24, sales=540_000, funding_raised=80_000),
             survey(1, 36, sales=1_000_000, export_sales=150_000),
             survey(2, 36, sales=331_000, export_sales=120_000)],
)


def test_sales_growth_is_compounded_per_year():
    m = run(frames(**GROWTH))
    # Baseline 600,000 + 400,000 = 1,000,000.
    # 12 months: 1,100,000 / 1,000,000 = 1.1 -> 10.0%.
    # 24 months: 1,440,000 / 1,000,000 = 1.44 -> sqrt(1.44) = 1.2 -> 20.0% a year.
    # 36 months: 1,331,000 / 1,000,000 = 1.331 -> cube root = 1.1 -> 10.0% a year.
    assert series(m, "ACC-2.sales") == [10.0, 20.0, 10.0]
    headline = m.value("ACC-2.sales")
    assert (headline.value, headline.wave, headline.companies, headline.expected) == (10.0, 36, 2, 2)
    assert not headline.partial and headline.response_rate == 1.0


def test_export_and_investment_growth():
    m = run(frames(**GROWTH))
    # Exports at 36 months: (150,000 + 120,000) / (100,000 + 100,000) = 1.35; 1.35 ** (1/3) = 1.1052 -> 10.5%.
    assert series(m, "ACC-2.exports") == [None, None, 10.5]
    # Investment at 24 months: (64,000 + 80,000) / (50,000 + 50,000) = 1.44 -> sqrt = 1.2 -> 20.0%.
    assert series(m, "ACC-2.investment") == [None, 20.0, None]
    # No export figure at 12 months: nobody to rest on, though two were expected.
    assert (m.series["ACC-2.exports"][0].companies, m.series["ACC-2.exports"][0].expected) == (0, 2)


def test_meet_the_buyer_change_in_turnover_is_not_annualised():
    rows = {name: [dict(r, programme=MEET_THE_BUYER) if "programme" in r else r for r in rows]
            for name, rows in GROWTH.items()}
    m = run(frames(**rows), MTB)
    # Turnover: 1.1 -> +10.0%; 1.44 -> +44.0%; 1.331 -> +33.1% (the change since the baseline, not a yearly rate).
    assert series(m, "MTB-5.turnover") == [10.0, 44.0, 33.1]
    # Exports at 36 months: 270,000 / 200,000 = 1.35 -> +35.0%.
    assert m.value("MTB-5.exports").value == 35.0


def test_partial_data_is_flagged():
    rows = dict(GROWTH)
    # K3's 36-month survey is still unanswered; K4 answered but has no baseline turnover.
    rows["follow_ups"] = GROWTH["follow_ups"] + [follow_up(3, "K3", turnover=500_000), follow_up(4, "K4")]
    rows["surveys"] = GROWTH["surveys"] + [survey(3, 36, answered=False), survey(4, 36, sales=1_000_000)]
    m = run(frames(**rows))
    sales = m.value("ACC-2.sales")
    # The value still rests on K1 and K2 only: 10.0%; 4 surveys were due.
    assert (sales.value, sales.companies, sales.expected) == (10.0, 2, 4)
    assert sales.partial and sales.response_rate == 0.5
    # Counting answers needs no baseline: K1, K2 and K4 answered.
    assert m.value("ACC-3.companies").companies == 3
    response = {(r.wave, r.group): (r.due, r.answered) for r in m.response}
    assert response[(36, "participant")] == (4, 3)
    assert response[(12, "participant")] == (2, 2)
    assert response[(36, "comparison")] == (0, 0)


# --- accelerator measures from surveys -----------------------------------------------------------


def accelerator_world():
    """Three participants of 2024 with surveys at 12 and 24 months (K3's 24-month one unanswered),
    two investments and two contracts."""
    return frames(
        supports=[{"organisation_id": i, "company_key": k, "edition": 2024, "kind": "cohort"}
                  for i, k in enumerate(("K1", "K2", "K3", "K4"), start=1)],
        follow_ups=[follow_up(1, "K1", turnover=600_000, employees_fte=10, high_skill_fte=2),
                    follow_up(2, "K2", turnover=400_000, employees_fte=20, high_skill_fte=3),
                    follow_up(3, "K3", turnover=100_000, employees_fte=5, high_skill_fte=1)],
        surveys=[
            survey(1, 12, new_markets=1, funding_raised=100_000, funding_source="private", corporate_partnerships=1),
            survey(2, 12, new_markets=0, funding_raised=0, funding_source="none", corporate_partnerships=0),
            survey(3, 12, new_markets=2, funding_raised=0, funding_source="none", corporate_partnerships=0),
            survey(1, 24, sales=700_000, employees_fte=14, high_skill_fte=6, new_markets=0, funding_raised=0,
                   funding_source="none", corporate_partnerships=2),
            survey(2, 24, sales=390_000, employees_fte=18, high_skill_fte=2, new_markets=0, funding_raised=50_000,
                   funding_source="public", corporate_partnerships=0),
            survey(3, 24, answered=False),
        ],
        investments=[{"organisation_id": 2, "company_key": "K2", "edition": 2024, "amount": 200_000,
                      "investment_type": "equity"},
                     {"organisation_id": 4, "company_key": "K4", "edition": 2024, "amount": 30_000,
                      "investment_type": "grant"}],
        contracts=[{"organisation_id": 1, "company_key": "K1", "edition": 2025, "value": 10_000},
                   {"organisation_id": 5, "company_key": "K5", "edition": 2025, "value": 99_000}],
    )


def test_new_markets_funding_partnerships_and_high_skill_jobs():
    m = run(accelerator_world())
    # At 24 months K1, K2, K3 were due (3); K1 and K2 answered (2).
    for key in ("ACC-3.companies", "ACC-4.companies", "ACC-4.amount", "ACC-5.partnerships", "ACC-6.jobs"):
        v = m.value(key)
        assert (v.wave, v.companies, v.expected, v.partial) == (24, 2, 3, True), key
    # ACC-3: respondents at 24 with a new market in a survey up to 24: K1 (1 at 12 months) = 1; K3 is not a
    # respondent at 24.
    assert m.value("ACC-3.companies").value == 1.0
    # At 12 months all three answered; K1 (1) and K3 (2) had entered new markets.
    assert series(m, "ACC-3.companies")[0] == 2.0
    # ACC-4: funding in surveys K1 (100,000), K2 (50,000), investments K2, K4 -> {K1, K2, K4} = 3.
    assert m.value("ACC-4.companies").value == 3.0
    # Amount: 100,000 + 50,000 + 200,000 + 30,000 = 380,000.
    assert m.value("ACC-4.amount").value == 380_000.0
    # ACC-5: partnerships 1 + 0 + 2 + 0 = 3, plus K1's supply contract (K5 was not in a cohort) = 4.
    assert m.value("ACC-5.partnerships").value == 4.0
    # ACC-6: K1 6 - 2 = +4, K2 2 - 3 = -1: +3 FTE.
    assert m.value("ACC-6.jobs").value == 3.0


def test_erdf_results_from_surveys():
    m = run(accelerator_world())
    # RCR01: employees K1 14 - 10 = +4, K2 18 - 20 = -2 counted as 0: 4 FTE.
    assert m.value("RCR01.jobs").value == 4.0
    # RCR02: private funding reported (K1 100,000; K2's 50,000 was public) + investments other than
    # grants (K2 200,000; K4's 30,000 grant is public): 300,000.
    assert m.value("RCR02.private").value == 300_000.0
    # RCR19: K1 700,000 > 600,000 yes, K2 390,000 > 400,000 no: 1 of 2.
    rcr19 = m.value("RCR19.companies")
    assert (rcr19.value, rcr19.companies, rcr19.expected) == (1.0, 2, 3)


def test_erdf_outputs_from_records():
    data = frames(supports=[
        # K1 founded 2 years 364 days before its support: new. K2 exactly 3 years before: not new.
        {"organisation_id": 1, "company_key": "K1", "edition": 2025, "kind": "cohort", "size_class": "micro",
         "started_on": date(2025, 3, 1), "founded_on": date(2022, 3, 2)},
        {"organisation_id": 2, "company_key": "K2", "edition": 2025, "kind": "cohort", "size_class": "small",
         "started_on": date(2025, 3, 1), "founded_on": date(2022, 3, 1)},
        {"organisation_id": 2, "company_key": "K2", "edition": 2025, "kind": "voucher", "size_class": "small",
         "started_on": date(2025, 5, 1), "founded_on": date(2022, 3, 1)},
        {"organisation_id": 3, "company_key": "K3", "edition": 2025, "kind": "voucher", "size_class": "medium",
         "started_on": date(2025, 5, 1)},
        {"organisation_id": 4, "company_key": "K4", "edition": 2025, "kind": "cohort", "size_class": "large",
         "started_on": date(2025, 3, 1), "founded_on": date(2010, 1, 1)},
        {"organisation_id": 5, "company_key": "K5", "edition": 2025, "kind": "cohort", "size_class": None,
         "started_on": date(2025, 3, 1), "founded_on": date(2024, 6, 1)},
    ])
    m = run(data)
    got = {v.measure: v.value for v in m.erdf}
    # Supported: K1..K5 = 5 (K2 twice, once); one of each size, K5's size unknown.
    assert got["RCO01.total"] == 5.0
    assert [got[f"RCO01.{s}"] for s in ("micro", "small", "medium", "large")] == [1.0, 1.0, 1.0, 1.0]
    assert got["RCO02.companies"] == 2.0  # vouchers: K2, K3
    assert got["RCO04.companies"] == 4.0  # cohorts: K1, K2, K4, K5
    assert got["RCO05.companies"] == 2.0  # K1 and K5 (founded 9 months before)
    # No survey due: the result indicators have no value and rest on nobody.
    assert [(v.value, v.companies, v.expected, v.wave) for v in m.erdf if v.measure.startswith("RCR")] == \
        [(None, 0, 0, None)] * 3
    sizes = {b.key: b.companies for b in m.by_size}
    assert sizes == {"micro": 1, "small": 1, "medium": 1, "large": 1, "unknown": 1}


# --- Meet the Buyer -----------------------------------------------------------------------------


def meet_the_buyer_world(with_surveys=False):
    mtb = {"programme": MEET_THE_BUYER}
    sme = dict(mtb, kind="event")
    rows = dict(
        # E1 (2025) held, E2 (2025) still to come, E3 (2024) held.
        events=[dict(mtb, event_id=1, edition=2025, held=True), dict(mtb, event_id=2, edition=2025, held=False),
                dict(mtb, event_id=3, edition=2024, held=True)],
        # S1 took part in E1 and (under another VAT spelling, same key) in E3; S2 in E1; S3 in E3.
        supports=[dict(sme, organisation_id=1, company_key="S1", edition=2025),
                  dict(sme, organisation_id=11, company_key="S1", edition=2024),
                  dict(sme, organisation_id=2, company_key="S2", edition=2025),
                  dict(sme, organisation_id=3, company_key="S3", edition=2024)],
        # B1 outside the region met at E1 and E3; B2 outside, no meeting; B3 from the region met.
        buyers=[dict(mtb, event_id=1, edition=2025, company_key="B1", outside_region=True, met=True),
                dict(mtb, event_id=3, edition=2024, company_key="B1", outside_region=True, met=True),
                dict(mtb, event_id=1, edition=2025, company_key="B2", outside_region=True, met=False),
                dict(mtb, event_id=1, edition=2025, company_key="B3", outside_region=False, met=True)],
        contracts=[dict(mtb, edition=2025, company_key="S1", value=10_000),
                   dict(mtb, edition=2025, company_key="S1", value=5_000),
                   dict(mtb, edition=2024, company_key="S3", value=20_000)],
    )
    if with_surveys:
        rows["follow_ups"] = [follow_up(1, "S1", 2025, programme=MEET_THE_BUYER, turnover=1_000_000),
                              follow_up(2, "S2", 2025, programme=MEET_THE_BUYER, turnover=500_000)]
        rows["surveys"] = [survey(1, 12, contracts_signed=2, contracts_value=8_000, sales=1_100_000),
                           survey(2, 12, answered=False)]
    return frames(**rows)


def test_meet_the_buyer_counts_from_records():
    m = run(meet_the_buyer_world(), MTB)
    got = {v.measure: (v.value, v.companies, v.expected) for v in m.headline}
    assert got["MTB-1.events"] == (2.0, 2, None)  # E1 and E3 held
    assert got["MTB-2.smes"] == (3.0, 3, None)  # S1 (twice), S2, S3
    assert got["MTB-3.targeted"] == (2.0, 2, None)  # B1, B2 (B3 is from the region)
    assert got["MTB-3.involved"] == (1.0, 1, None)  # B1
    # Three confirmed contracts of two SMEs: 10,000 + 5,000 + 20,000 = 35,000; no survey yet.
    assert got["MTB-4.contracts"] == (3.0, 2, None)
    assert got["MTB-4.value"] == (35_000.0, 2, None)
    edition = run(meet_the_buyer_world(), Scope(MEET_THE_BUYER, 2025))
    assert edition.value("MTB-1.events").value == 1.0  # E2 has not taken place yet
    assert edition.value("MTB-2.smes").value == 2.0
    assert edition.value("MTB-4.value").value == 15_000.0
    assert [b.key for b in m.by_edition] == ["2024", "2025"]


def test_meet_the_buyer_contracts_add_those_reported_in_surveys():
    m = run(meet_the_buyer_world(with_surveys=True), MTB)
    contracts, value_ = m.value("MTB-4.contracts"), m.value("MTB-4.value")
    # 3 recorded + 2 reported by S1 = 5; 35,000 + 8,000 = 43,000; S1 answered, S2 not: 1 of 2.
    assert (contracts.value, contracts.companies, contracts.expected, contracts.wave) == (5.0, 1, 2, 12)
    assert value_.value == 43_000.0 and value_.partial
    # Turnover: 1,100,000 / 1,000,000 -> +10.0% (S2 did not answer).
    assert m.value("MTB-5.turnover").value == 10.0
    # The contracts rest on S1 and S3 (one respondent, two SMEs with contracts): hidden from the authority.
    hidden = run(meet_the_buyer_world(with_surveys=True), MTB, for_authority=True).value("MTB-4.contracts")
    assert (hidden.value, hidden.suppressed, hidden.companies, hidden.expected) == (None, True, 0, None)


# --- the authority's view -----------------------------------------------------------------------


def cohort(n, edition=2025, size="small"):
    return [{"organisation_id": i, "company_key": f"C{edition}-{i}", "edition": edition, "kind": "cohort",
             "size_class": size} for i in range(n)]


def test_groups_of_fewer_than_three_companies_are_hidden_from_the_authority():
    two, three = frames(supports=cohort(2)), frames(supports=cohort(3))
    hidden = run(two, for_authority=True).value("ACC-1.admitted")
    assert (hidden.value, hidden.suppressed, hidden.companies) == (None, True, 0)  # its count would tell
    shown = run(three, for_authority=True).value("ACC-1.admitted")
    assert (shown.value, shown.suppressed) == (3.0, False)
    staff = run(two).value("ACC-1.admitted")
    assert (staff.value, staff.suppressed) == (2.0, False)


def test_events_are_never_hidden():
    data = frames(events=[{"event_id": 1, "edition": 2025, "held": True}])
    events = run(data, MTB, for_authority=True).value("MTB-1.events")
    assert (events.value, events.suppressed) == (1.0, False)


def test_a_small_breakdown_group_is_hidden_whole():
    # Three small companies and two micro ones: the micro group is hidden from the authority.
    data = frames(supports=cohort(3) + [dict(r, company_key=f"M{i}", size_class="micro")
                                        for i, r in enumerate(cohort(2))])
    groups = {b.key: b for b in run(data, for_authority=True).by_size}
    assert groups["micro"].suppressed and groups["micro"].companies == 0
    assert all(v.value is None and v.suppressed for v in groups["micro"].values)
    assert not groups["small"].suppressed and groups["small"].values[0].value == 3.0
    assert not groups["large"].suppressed and groups["large"].companies == 0
    staff = {b.key: b for b in run(data).by_size}
    assert not staff["micro"].suppressed and staff["micro"].values[0].value == 2.0


def test_breakdown_by_s3_domain_counts_a_company_in_each_of_its_domains():
    data = frames(supports=[
        {"organisation_id": 1, "company_key": "A", "edition": 2025, "s3_domains": ["ict", "energy"]},
        {"organisation_id": 2, "company_key": "B", "edition": 2025, "s3_domains": ["ict"]},
        {"organisation_id": 3, "company_key": "C", "edition": 2025, "s3_domains": []},
    ])
    m = run(data, s3_names={"ict": "ICT", "energy": "Energia"})
    groups = {b.key: (b.label, b.companies, b.values[0].value) for b in m.by_s3}
    assert groups == {"energy": ("Energia", 1, 1.0), "ict": ("ICT", 2, 2.0)}
    assert [b.key for b in m.by_s3] == ["energy", "ict"]  # by name
    assert run(data, Scope(ACCELERATOR, s3_domain="ict")).value("ACC-1.admitted").value == 2.0


# --- targets ------------------------------------------------------------------------------------


def test_targets_combine_over_editions():
    per_edition = {2024: {"ACC-1.admitted": 10.0, "ACC-2.sales": 5.0},
                   2025: {"ACC-1.admitted": 15.0, "ACC-2.sales": 7.0, "ACC-4.amount": 1_000.0}}
    # Counts add up (10 + 15); a figure from surveys pools the editions whose wave is due, so it
    # has no target across editions.
    assert combine_targets(per_edition, None) == {"ACC-1.admitted": 25.0}
    assert combine_targets(per_edition, 2024) == {"ACC-1.admitted": 10.0, "ACC-2.sales": 5.0}
    assert combine_targets(per_edition, 2026) == {}
    m = run(frames(supports=cohort(5), editions=[2024, 2025]), targets=per_edition)
    admitted = m.value("ACC-1.admitted")
    # 5 admitted of a target of 25: 20%.
    assert (admitted.target, admitted.progress) == (25.0, 0.2)
    assert m.value("ACC-1.completed").target is None
    editions = {b.key: b.values[0].target for b in m.by_edition}
    assert editions == {"2024": 10.0, "2025": 15.0}


# --- the comparison group -----------------------------------------------------------------------


def impact_world(comparison_answers=3):
    """Three participants and three comparison companies, each with a 100,000 turnover and 10 FTE."""
    follow_ups, surveys = [], []
    for i in range(3):
        follow_ups.append(follow_up(i, f"P{i}", turnover=100_000, employees_fte=10))
        surveys.append(survey(i, 12, sales=120_000, employees_fte=13))
        follow_ups.append(follow_up(10 + i, f"C{i}", group="comparison", turnover=100_000, employees_fte=10))
        surveys.append(survey(10 + i, 12, answered=i < comparison_answers, sales=105_000, employees_fte=10))
    return frames(follow_ups=follow_ups, surveys=surveys)


def test_participants_growth_against_the_comparison_group():
    m = run(impact_world())
    impact = {(i.metric, i.wave): i for i in m.impact}
    sales = impact[("sales", 12)]
    # Participants 360,000 / 300,000 = +20.0%; comparison 315,000 / 300,000 = +5.0%: 15.0 points.
    assert (sales.participants_change, sales.comparison_change, sales.difference) == (20.0, 5.0, 15.0)
    assert (sales.participants, sales.participants_expected, sales.comparison, sales.comparison_expected) == \
        (3, 3, 3, 3)
    jobs = impact[("jobs", 12)]
    # Participants 39 / 30 FTE = +30.0%; comparison 30 / 30 = 0.0%: 30.0 points.
    assert (jobs.participants_change, jobs.comparison_change, jobs.difference) == (30.0, 0.0, 30.0)
    exports = impact[("exports", 12)]
    assert (exports.participants_change, exports.difference, exports.participants) == (None, None, 0)
    assert {i.wave for i in m.impact} == {12}  # nothing due at 24 and 36 months
    # The participants' own figure does not include the comparison group: +20.0% at 12 months.
    assert m.value("ACC-2.sales").value == 20.0 and m.value("ACC-2.sales").expected == 3


def test_impact_on_too_few_respondents_is_hidden_from_the_authority():
    data = impact_world(comparison_answers=2)
    hidden = {(i.metric, i.wave): i for i in run(data, for_authority=True).impact}[("sales", 12)]
    assert hidden.suppressed and (hidden.participants_change, hidden.comparison_change, hidden.difference) == \
        (None, None, None)
    assert (hidden.comparison, hidden.comparison_expected) == (2, 3)
    staff = {(i.metric, i.wave): i for i in run(data).impact}[("sales", 12)]
    # Staff see it: comparison 210,000 / 200,000 = +5.0%.
    assert not staff.suppressed and staff.difference == 15.0
    response = {(r.wave, r.group): (r.due, r.answered) for r in run(data).response}
    assert response[(12, "comparison")] == (3, 2)


# --- empty data ---------------------------------------------------------------------------------


def test_empty_data_gives_empty_figures():
    for scope in (ACC, MTB, Scope(ACCELERATOR, 2025, "ict", "micro")):
        for authority in (False, True):
            m = run(frames(), scope, for_authority=authority)
            programme = scope.programme
            assert [v.measure for v in m.headline] == [x.key for x in measures_of(programme)]
            assert [v.measure for v in m.erdf] == [x.key for x in measures_of(programme, erdf=True)]
            for v in m.headline + m.erdf:
                assert not v.suppressed
                if MEASURES[v.measure].survey_based:
                    assert (v.value, v.companies, v.expected, v.wave) == (None, 0, 0, None)
                else:
                    assert v.value == 0.0 and v.companies == 0
            assert all(len(values) == 3 and all(v.value is None for v in values) for values in m.series.values())
            assert m.by_edition == [] and m.by_s3 == [] and m.impact == [] and m.editions == []
            assert [b.key for b in m.by_size] == ["micro", "small", "medium", "large", "unknown"]
            assert [(r.due, r.answered) for r in m.response] == [(0, 0)] * 6


def test_editions_without_data_still_appear_in_the_comparison_of_editions():
    m = run(frames(supports=cohort(3, edition=2025), editions=[2025, 2026]))
    assert [(b.key, b.companies) for b in m.by_edition] == [("2025", 3), ("2026", 0)]
    assert m.editions == [2025]


# --- a property: the order of the rows does not matter ------------------------------------------

support_rows = st.lists(st.fixed_dictionaries({
    "company_key": st.sampled_from(["A", "B", "C", "D", "E"]),
    "edition": st.sampled_from([2024, 2025]),
    "kind": st.sampled_from(["cohort", "voucher"]),
    "completed": st.booleans(),
    "size_class": st.sampled_from(["micro", "small", None]),
}), max_size=12)
answers = st.lists(st.tuples(st.sampled_from([12, 24, 36]), st.booleans(),
                             st.integers(min_value=0, max_value=5) .map(lambda n: n * 100_000)), max_size=6)


@settings(max_examples=25, deadline=None)
@given(support_rows, answers, st.randoms(use_true_random=False))
def test_figures_do_not_depend_on_row_order(supports, waves, rnd: random.Random):
    for i, row in enumerate(supports):
        row["organisation_id"] = i
    follow_ups = [follow_up(1, "A", turnover=200_000, employees_fte=4), follow_up(2, "B", turnover=300_000)]
    surveys = []
    for n, (wave, answered, sales) in enumerate(waves):
        fid = 1 + n % 2
        if not any(s["follow_up_id"] == fid and s["wave"] == wave for s in surveys):
            surveys.append(survey(fid, wave, answered=answered, sales=sales, employees_fte=5))

    def figures(rows):
        m = run(frames(supports=rows[0], follow_ups=rows[1], surveys=rows[2]))
        return ([(v.measure, v.value, v.companies, v.expected) for v in m.headline + m.erdf],
                [(b.key, b.companies) for b in m.by_edition + m.by_size])

    shuffled = [list(supports), list(follow_ups), list(surveys)]
    for rows in shuffled:
        rnd.shuffle(rows)
    assert figures((supports, follow_ups, surveys)) == figures(shuffled)
