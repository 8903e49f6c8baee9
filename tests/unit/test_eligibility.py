"""The eligibility rules of a call, one by one, with their reasons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from opsapp.calls.eligibility import Applicant, CallContext, check, describe, passed

CTX = CallContext(reference_date=date(2027, 3, 31), home_region="ITC1",
                  eligible_kinds=frozenset({"startup", "sme"}), s3_codes=frozenset({"ict", "energy"}))
GOOD = Applicant(kind="startup", size_class="micro", founding_date=date(2024, 5, 1), nuts2_region="ITC1",
                 s3_codes=frozenset({"ict"}), product_on_market=True, paying_clients=3,
                 deminimis_declared=D("20000"))
ALL_RULES = {"organisation_kind": {}, "sme": {}, "startup_age": {"max_years": 5}, "seat_in_region": {},
             "s3_domain": {}, "business_readiness": {"min_clients": 1}, "deminimis": {}}


def results_for(applicant, rules=None):
    return {r.code: r for r in check(applicant, CTX, rules or ALL_RULES)}


def replace(**changes):
    from dataclasses import replace as dc_replace

    return dc_replace(GOOD, **changes)


def test_a_good_applicant_passes_every_rule():
    results = check(GOOD, CTX, ALL_RULES)
    assert [r.code for r in results] == list(ALL_RULES)
    assert passed(results)


def test_only_switched_on_rules_are_checked():
    assert [r.code for r in check(GOOD, CTX, {"sme": {}})] == ["sme"]


def test_organisation_kind():
    assert not results_for(replace(kind="university"))["organisation_kind"].passed


def test_sme_rule_uses_the_size_class():
    assert not results_for(replace(size_class="large"))["sme"].passed
    unknown = results_for(replace(size_class=None, size_missing=("annual_turnover",)))["sme"]
    assert not unknown.passed and "annual_turnover" in describe(unknown)


def test_startup_age_is_measured_at_the_deadline():
    # Age in whole years at the deadline (31 March 2027): at most 5.
    almost_six = results_for(replace(founding_date=date(2021, 4, 1)))["startup_age"]
    assert almost_six.passed and almost_six.params["age"] == 5
    six = results_for(replace(founding_date=date(2021, 3, 31)))["startup_age"]
    assert not six.passed and six.params["age"] == 6
    assert not results_for(replace(founding_date=None))["startup_age"].passed


def test_seat_in_region_or_a_commitment_to_move_it():
    assert not results_for(replace(nuts2_region="ITC4"))["seat_in_region"].passed
    moving = results_for(replace(nuts2_region="FR10", relocation_commitment=True))["seat_in_region"]
    assert moving.passed and moving.reason == "relocation_committed"


def test_s3_domain():
    assert not results_for(replace(s3_codes=frozenset({"textile"})))["s3_domain"].passed
    open_call = CallContext(CTX.reference_date, "ITC1", CTX.eligible_kinds, frozenset())
    assert check(replace(s3_codes=frozenset()), open_call, {"s3_domain": {}})[0].passed


def test_business_readiness():
    assert not results_for(replace(product_on_market=False))["business_readiness"].passed
    assert not results_for(replace(paying_clients=0))["business_readiness"].passed
    assert not results_for(replace(paying_clients=2), {"business_readiness": {"min_clients": 3}})[
        "business_readiness"].passed


def test_deminimis_declaration():
    assert not results_for(replace(deminimis_declared=None))["deminimis"].passed
    assert not results_for(replace(deminimis_declared=D("300000")))["deminimis"].passed
    assert results_for(replace(deminimis_declared=D("299999.99")))["deminimis"].passed


def test_results_survive_being_stored_as_json_and_are_described():
    stored = [r.as_dict() for r in check(replace(nuts2_region="ITC4"), CTX, ALL_RULES)]
    assert not passed(stored)
    failing = [describe(r) for r in stored if not r["passed"]]
    assert failing == ["The seat (ITC4) is outside the region (ITC1) and there is no commitment to move it."]
