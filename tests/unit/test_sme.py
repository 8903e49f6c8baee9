"""The EU SME size class (Recommendation 2003/361/EC): every ceiling, both sides of it,
partner and linked enterprises, public control and missing figures; then properties
that must hold for any figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsapp.accounts.sme import (
    CEILINGS,
    Figures,
    ReasonCode,
    RelatedEnterprise,
    Relationship,
    SizeClass,
    classify,
    relationship_for,
)

D = Decimal
MICRO, SMALL, MEDIUM, LARGE = SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE
M = D(1_000_000)
CENT = D("0.01")
TINY = Figures(D(0), D(0), D(0))


def size(staff, turnover, balance, related=(), public_control=False):
    return classify(Figures(D(staff), D(turnover), D(balance)), related, public_control).size_class


def related(share, staff=0, turnover=0, balance=0, name="Other S.p.A."):
    return RelatedEnterprise(name, D(share), Figures(D(staff), D(turnover), D(balance)))


# --- staff: "fewer than" ------------------------------------------------------------


@pytest.mark.parametrize(("staff", "expected"), [
    ("0", MICRO), ("9", MICRO), ("9.99", MICRO), ("10", SMALL),
    ("49", SMALL), ("49.99", SMALL), ("50", MEDIUM),
    ("249", MEDIUM), ("249.99", MEDIUM), ("250", LARGE), ("10000", LARGE),
])
def test_staff_headcount_must_be_fewer_than_the_ceiling(staff, expected):
    assert size(staff, 0, 0) is expected


# --- turnover and balance sheet: "not exceeding", and either one is enough ----------


@pytest.mark.parametrize(("ceiling", "staff"), [(CEILINGS[0], 9), (CEILINGS[1], 49), (CEILINGS[2], 249)])
def test_turnover_exactly_at_the_ceiling_keeps_the_class_and_one_cent_more_loses_it(ceiling, staff):
    over_balance = ceiling.balance_max + CENT  # so that only turnover can qualify
    assert size(staff, ceiling.turnover_max, over_balance) is ceiling.size_class
    assert size(staff, ceiling.turnover_max + CENT, over_balance).rank == ceiling.size_class.rank + 1


@pytest.mark.parametrize(("ceiling", "staff"), [(CEILINGS[0], 9), (CEILINGS[1], 49), (CEILINGS[2], 249)])
def test_balance_sheet_exactly_at_the_ceiling_keeps_the_class_and_one_cent_more_loses_it(ceiling, staff):
    over_turnover = ceiling.turnover_max + CENT  # so that only the balance sheet can qualify
    assert size(staff, over_turnover, ceiling.balance_max) is ceiling.size_class
    assert size(staff, over_turnover, ceiling.balance_max + CENT).rank == ceiling.size_class.rank + 1


@pytest.mark.parametrize(("turnover", "balance", "expected"), [
    (2 * M, 2 * M, MICRO),          # both within
    (2 * M, 9 * M, MICRO),          # turnover within, balance over: still micro
    (9 * M, 2 * M, MICRO),          # balance within, turnover over: still micro
    (2 * M + CENT, 2 * M + CENT, SMALL),  # both over: not micro
])
def test_turnover_or_balance_sheet_is_enough_for_micro(turnover, balance, expected):
    assert size(5, turnover, balance) is expected


@pytest.mark.parametrize(("turnover", "balance", "expected"), [
    (50 * M, 100 * M, MEDIUM),       # turnover within the medium ceiling
    (100 * M, 43 * M, MEDIUM),       # balance within the medium ceiling (43 m, not 50 m)
    (100 * M, 43 * M + CENT, LARGE),
    (50 * M + CENT, 50 * M, LARGE),  # the balance sheet's ceiling is 43 m: 50 m is over it
])
def test_medium_ceilings_differ_for_turnover_and_balance_sheet(turnover, balance, expected):
    assert size(100, turnover, balance) is expected


def test_staff_alone_can_make_a_company_large_whatever_its_money():
    assert size(250, 0, 0) is LARGE


def test_money_alone_can_make_a_company_large_whatever_its_staff():
    assert size(1, 50 * M + CENT, 43 * M + CENT) is LARGE


# --- partner and linked enterprises ---------------------------------------------------


@pytest.mark.parametrize(("share", "relationship"), [
    ("0.01", Relationship.AUTONOMOUS), ("24.99", Relationship.AUTONOMOUS), ("25", Relationship.PARTNER),
    ("25.00", Relationship.PARTNER), ("50", Relationship.PARTNER), ("50.01", Relationship.LINKED),
    ("100", Relationship.LINKED),
])
def test_relationship_by_share(share, relationship):
    assert relationship_for(D(share)) is relationship


def test_a_holding_under_25_percent_is_not_counted():
    result = classify(Figures(D(5), M, M), [related("24.99", staff=1000, turnover=900 * M, balance=900 * M)])
    assert result.size_class is MICRO
    assert result.figures == Figures(D(5), M, M)
    assert result.reasons[0].code is ReasonCode.RELATED_IGNORED


def test_a_partner_at_25_percent_counts_pro_rata():
    # 5 + 25% of 20 = 10 staff: no longer fewer than 10
    result = classify(Figures(D(5), M, M), [related("25", staff=20)])
    assert result.size_class is SMALL
    assert result.figures.staff_headcount == D(10)


def test_a_partner_at_50_percent_counts_half():
    result = classify(Figures(D(5), M, M), [related("50", staff=10, turnover=2 * M, balance=2 * M)])
    assert result.figures == Figures(D(10), 2 * M, 2 * M)
    assert result.size_class is SMALL  # 10 staff: not fewer than 10
    assert result.reasons[0].code is ReasonCode.RELATED_PRO_RATA


def test_a_linked_enterprise_over_50_percent_counts_in_full():
    result = classify(Figures(D(5), M, M), [related("50.01", staff=10, turnover=2 * M, balance=2 * M)])
    assert result.figures == Figures(D(15), 3 * M, 3 * M)
    assert result.size_class is SMALL
    assert result.reasons[0].code is ReasonCode.RELATED_IN_FULL


def test_the_step_at_50_percent_can_change_the_class():
    # Own 30 staff, the other 38: at 50% it adds 19 (49: small), at 50.01% all 38 (68: medium).
    own = Figures(D(30), M, M)
    other = dict(staff=38)
    assert classify(own, [related("50", **other)]).size_class is SMALL  # 30 + 19 = 49
    assert classify(own, [related("50.01", **other)]).size_class is MEDIUM  # 30 + 38 = 68


def test_the_step_at_25_percent_can_change_the_class():
    own = Figures(D(8), M, M)
    assert classify(own, [related("24.99", staff=8)]).size_class is MICRO  # not counted
    assert classify(own, [related("25", staff=8)]).size_class is SMALL  # 8 + 2 = 10


def test_partner_money_is_rounded_to_the_cent_and_adds_up():
    result = classify(Figures(D(1), D("0.00"), D("0.00")), [related("33.33", turnover=D("100.00"), balance=D("0.05"))])
    assert result.figures.annual_turnover == D("33.33")
    assert result.figures.balance_sheet_total == D("0.02")  # 0.016665 rounds half up to 0.02


def test_several_related_enterprises_add_up_and_the_totals_are_given():
    result = classify(Figures(D(10), 5 * M, 5 * M), [
        related("30", staff=100, turnover=10 * M, balance=10 * M, name="Partner"),
        related("80", staff=20, turnover=M, balance=M, name="Linked"),
        related("10", staff=5000, turnover=999 * M, balance=999 * M, name="Small stake"),
    ])
    assert result.figures == Figures(D(60), 9 * M, 9 * M)
    assert result.size_class is MEDIUM  # 60 staff
    codes = [r.code for r in result.reasons]
    assert codes[:4] == [ReasonCode.RELATED_PRO_RATA, ReasonCode.RELATED_IN_FULL, ReasonCode.RELATED_IGNORED,
                         ReasonCode.TOTALS]


# --- public control -------------------------------------------------------------------


def test_public_bodies_controlling_25_percent_make_it_not_an_sme():
    result = classify(Figures(D(3), M, M), public_control=True)
    assert result.size_class is LARGE
    assert not result.is_sme
    assert [r.code for r in result.reasons] == [ReasonCode.PUBLIC_CONTROL]


def test_public_control_decides_even_without_figures():
    result = classify(Figures(), public_control=True)
    assert result.size_class is LARGE
    assert result.figures is None


# --- missing figures ------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["staff_headcount", "annual_turnover", "balance_sheet_total"])
def test_a_missing_own_figure_gives_no_class_and_names_it(missing):
    values = {"staff_headcount": D(5), "annual_turnover": M, "balance_sheet_total": M, missing: None}
    result = classify(Figures(**values))
    assert result.size_class is None
    assert not result.classified
    assert result.missing == (missing,)
    assert result.reasons[0].code is ReasonCode.MISSING
    assert result.reasons[0].params == {"enterprise": None, "figures": (missing,)}


def test_nothing_known_names_all_three():
    assert classify(Figures()).missing == ("staff_headcount", "annual_turnover", "balance_sheet_total")


def test_a_missing_figure_of_a_partner_gives_no_class_and_names_the_partner():
    partner = RelatedEnterprise("Partner S.r.l.", D(30), Figures(D(5), None, M))
    result = classify(Figures(D(5), M, M), [partner])
    assert result.size_class is None
    assert result.reasons[0].params == {"enterprise": "Partner S.r.l.", "figures": ("annual_turnover",)}


def test_a_missing_figure_of_an_enterprise_under_25_percent_does_not_matter():
    small_stake = RelatedEnterprise("Minor", D(10), Figures())
    assert classify(Figures(D(5), M, M), [small_stake]).size_class is MICRO


# --- the reasons say why this class and not the one below ---------------------------


def test_reasons_of_a_small_enterprise():
    result = classify(Figures(D(12), 3 * M, 3 * M))
    first, second = result.reasons
    assert first.code is ReasonCode.STAFF_NOT_BELOW and first.params["size_class"] is MICRO
    assert second.code is ReasonCode.WITHIN and second.params["size_class"] is SMALL
    assert second.params["measure"] == "annual_turnover"


def test_reasons_of_a_large_enterprise_by_money():
    result = classify(Figures(D(100), 60 * M, 50 * M))
    assert [r.code for r in result.reasons] == [ReasonCode.FINANCE_OVER]
    assert result.reasons[0].params["size_class"] is MEDIUM


def test_reasons_say_which_measure_qualified():
    result = classify(Figures(D(5), 9 * M, D(1)))
    assert result.reasons[-1].params["measure"] == "balance_sheet_total"


# --- properties -----------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=200 * M, places=2, allow_nan=False, allow_infinity=False)
staff = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
share = st.decimals(min_value=D("0.01"), max_value=100, places=2, allow_nan=False, allow_infinity=False)
figures = st.builds(Figures, staff, money, money)
enterprises = st.builds(RelatedEnterprise, st.just("Other"), share, figures)


@given(figures, st.lists(enterprises, max_size=4), enterprises)
def test_adding_a_related_enterprise_never_lowers_the_class(own, others, newcomer):
    before = classify(own, others).size_class
    after = classify(own, [*others, newcomer]).size_class
    assert after.rank >= before.rank


@given(figures, st.lists(enterprises, max_size=4), st.sampled_from(["staff_headcount", "annual_turnover",
                                                                      "balance_sheet_total"]), money)
def test_a_larger_figure_never_lowers_the_class(own, others, name, extra):
    bigger = Figures(**{**vars(own), name: getattr(own, name) + extra})
    assert classify(bigger, others).size_class.rank >= classify(own, others).size_class.rank


@given(figures, st.lists(enterprises, max_size=5))
def test_the_order_of_related_enterprises_does_not_matter(own, others):
    forwards = classify(own, others)
    backwards = classify(own, list(reversed(others)))
    assert forwards.size_class is backwards.size_class
    assert forwards.figures == backwards.figures


@given(figures, st.lists(enterprises, max_size=5))
def test_counted_figures_are_never_below_the_own_ones(own, others):
    counted = classify(own, others).figures
    assert counted.staff_headcount >= own.staff_headcount
    assert counted.annual_turnover >= own.annual_turnover
    assert counted.balance_sheet_total >= own.balance_sheet_total


@given(figures, st.lists(enterprises, max_size=4))
def test_public_control_always_means_large(own, others):
    assert classify(own, others, public_control=True).size_class is LARGE


@given(figures)
def test_every_complete_set_of_figures_gets_a_class_with_a_reason(own):
    result = classify(own)
    assert result.size_class in set(SizeClass)
    assert result.reasons
    assert not result.missing


@given(figures, st.lists(st.builds(RelatedEnterprise, st.just("Minor"),
                                   st.decimals(min_value=D("0.01"), max_value=D("24.99"), places=2),
                                   figures), max_size=4))
def test_holdings_under_25_percent_never_change_anything(own, minors):
    assert classify(own, minors).figures == classify(own).figures
    assert classify(own, minors).size_class is classify(own).size_class


def test_tiny_company_is_micro():
    assert classify(TINY).size_class is MICRO
