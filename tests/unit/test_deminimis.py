"""The de minimis ceiling as pure arithmetic: the rolling window and its edges, what a voucher
counts for, the single undertaking (linked enterprises both ways, one level), declared aid,
exactly at the ceiling, one cent over, and the warning; with property tests for order
independence and exactness."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.vouchers import budget, deminimis
from opsapp.vouchers.deminimis import Company, DeclaredAid, Grant, Link

D = Decimal
CEILING = D("300000.00")
ON = date(2026, 11, 23)


def grant(amount, on=ON, status="granted", org=1, n=[0], **kw):  # noqa: B006 - a counter for ids
    n[0] += 1
    return Grant(n[0], org, on, status, D(amount), **kw)


def declared(amount, on=ON, org=1, n=[0]):  # noqa: B006
    n[0] += 1
    return DeclaredAid(n[0], org, on, D(amount), "Regione Piemonte")


# --- the rolling window ----------------------------------------------------------------------------


def test_the_window_is_the_three_years_ending_on_the_grant_date_both_ends_included():
    assert deminimis.window(ON, 3) == (date(2023, 11, 24), date(2026, 11, 23))


def test_aid_exactly_three_years_before_is_out_and_the_day_after_is_in():
    exactly = grant("1000.00", on=date(2023, 11, 23))
    day_after = grant("200.00", on=date(2023, 11, 24))
    p = deminimis.position([exactly, day_after], [], ON, CEILING, 3)
    assert p.total == D("200.00")
    assert [i.id for i in p.items] == [day_after.id]


def test_aid_on_the_grant_date_is_in_and_the_day_after_is_out():
    same_day = grant("300.00", on=ON)
    later = grant("5000.00", on=ON + timedelta(days=1))
    p = deminimis.position([same_day, later], [], ON, CEILING, 3)
    assert p.total == D("300.00") and p.window_end == ON


def test_the_29th_of_february_steps_back_to_the_28th():
    assert deminimis.years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert deminimis.window(date(2028, 2, 29), 3)[0] == date(2025, 3, 1)


def test_the_period_is_a_setting():
    old = grant("1000.00", on=date(2022, 6, 1))
    assert deminimis.position([old], [], ON, CEILING, 3).total == 0
    assert deminimis.position([old], [], ON, CEILING, 5).total == D("1000.00")
    with pytest.raises(ValueError):
        deminimis.window(ON, 0)


# --- what a voucher counts for -----------------------------------------------------------------------


@pytest.mark.parametrize("status, expected", [
    ("granted", "5000.00"), ("claimed", "5000.00"), ("approved", "4200.00"), ("paid", "4100.00"),
    ("lapsed", "0.00"), ("cancelled", "0.00"),
])
def test_a_voucher_counts_paid_then_approved_then_granted_and_nothing_when_closed(status, expected):
    g = grant("5000.00", status=status, approved_amount=D("4200.00"), paid_amount=D("4100.00"))
    assert deminimis.position([g], [], ON, CEILING, 3).total == D(expected)


@pytest.mark.parametrize("status", ["granted", "claimed", "approved", "paid", "lapsed", "cancelled"])
@pytest.mark.parametrize("approved, paid", [(None, None), ("4200.00", None), ("4200.00", "4100.00")])
def test_what_a_voucher_counts_for_agrees_with_the_register_and_the_budget(status, approved, paid):
    approved = None if approved is None else D(approved)
    paid = None if paid is None else D(paid)
    assert deminimis.counted(status, D("5000.00"), approved, paid) == budget.held(status, D("5000.00"), approved, paid)


def test_declared_aid_counts_with_the_vouchers():
    p = deminimis.position([grant("5000.00")], [declared("250000.00", on=date(2025, 3, 1))], ON, CEILING, 3)
    assert p.total == D("255000.00") and p.headroom == D("45000.00")
    assert {i.kind for i in p.items} == {"voucher", "declared"}


# --- the verdict -----------------------------------------------------------------------------------------


def test_exactly_at_the_ceiling_is_allowed_and_one_cent_over_is_refused():
    p = deminimis.position([], [declared("294000.00")], ON, CEILING, 3)
    at = deminimis.check(p, D("6000.00"), 10)
    assert at.allowed and at.total_after == CEILING and at.headroom_after == 0
    over = deminimis.check(p, D("6000.01"), 10)
    assert not over.allowed and over.over_by == D("0.01")


def test_the_refusal_carries_its_figures():
    p = deminimis.position([], [declared("295000.00")], ON, CEILING, 3)
    v = deminimis.check(p, D("6000.00"), 10)
    assert not v.allowed and not v.warning
    assert (v.total_before, v.amount, v.total_after, v.ceiling) == (
        D("295000.00"), D("6000.00"), D("301000.00"), CEILING)
    assert (v.window_start, v.window_end, v.years) == (date(2023, 11, 24), ON, 3)
    assert v.figures()["total_after"] == "301000.00"


def test_a_warning_when_the_headroom_left_is_under_the_warning_share():
    p = deminimis.position([], [declared("260000.00")], ON, CEILING, 3)
    # 10% of the ceiling is 30,000: leaving 30,000.00 is fine, 29,999.99 warns.
    assert not deminimis.check(p, D("10000.00"), 10).warning
    v = deminimis.check(p, D("10000.01"), 10)
    assert v.allowed and v.warning
    assert not deminimis.check(p, D("10000.01"), 0).warning


def test_already_over_the_ceiling_leaves_no_headroom():
    p = deminimis.position([], [declared("310000.00")], ON, CEILING, 3)
    assert p.over and p.headroom == 0
    assert not deminimis.check(p, D("0.01"), 10).allowed


def test_a_grant_dated_in_the_past_respects_the_later_periods_that_contain_it():
    # Aid after the grant date also shares a three-year period with the grant.
    later = declared("296000.00", on=ON + timedelta(days=100))
    on_day = deminimis.position([], [later], ON, CEILING, 3)
    assert on_day.total == 0
    binding = deminimis.binding_position([], [later], ON, CEILING, 3)
    assert binding.total == D("296000.00") and binding.window_end == later.granted_on
    assert not deminimis.check(binding, D("5000.00"), 10).allowed
    # Aid more than three years later shares no period with it.
    far = declared("296000.00", on=date(2029, 11, 23))
    assert deminimis.binding_position([], [far], ON, CEILING, 3).total == 0


# --- the single undertaking ------------------------------------------------------------------------------------


A = Company(1, "IT01234567890", "Alpha S.r.l.")
B = Company(2, "IT09876543210", "Beta S.p.A.")
C = Company(3, "FR40303265045", "Gamma SAS")
E = Company(4, "DE136695976", "Delta GmbH")


def test_a_link_over_50_percent_declared_by_the_organisation_links_the_enterprise():
    u = deminimis.single_undertaking(A, [A, B, C], [Link(1, "IT09876543210", D("60"), "holds")])
    assert u.organisation_ids == {1, 2}
    assert u.linked[0].name == "Beta S.p.A." and u.linked[0].direction == "holds"


def test_exactly_50_percent_does_not_link():
    u = deminimis.single_undertaking(A, [A, B], [Link(1, "IT09876543210", D("50.00"), "holds")])
    assert u.organisation_ids == {1} and u.linked == ()


def test_a_link_declared_by_the_other_side_counts_too_and_turns_round():
    # Beta declares that Alpha holds 75% of it.
    u = deminimis.single_undertaking(A, [A, B], [Link(2, "01234567890", D("75"), "holds")])
    assert u.organisation_ids == {1, 2}
    assert u.linked[0].direction == "held"


def test_vat_numbers_match_with_or_without_the_country_prefix_and_separators():
    assert deminimis.same_vat("IT 01234567890", "01234567890")
    assert deminimis.same_vat("it-0123.4567.890", "IT01234567890")
    assert not deminimis.same_vat("IT01234567890", "IT01234567891")
    assert not deminimis.same_vat(None, "IT01234567890")


def test_an_enterprise_not_registered_here_is_listed_without_aid():
    u = deminimis.single_undertaking(A, [A, B], [Link(1, "ES12345678Z", D("100"), "held", "Epsilon S.L.")])
    assert u.organisation_ids == {1}
    assert [x.name for x in u.unregistered] == ["Epsilon S.L."]


def test_one_level_only_and_minority_links_ignored():
    links = [Link(1, B.vat_number, D("80"), "held"),  # A holds 80% of B
             Link(2, C.vat_number, D("90"), "held"),  # B holds 90% of C: not followed from A
             Link(1, E.vat_number, D("30"), "held")]  # a partner, not linked
    assert deminimis.single_undertaking(A, [A, B, C, E], links).organisation_ids == {1, 2}


def test_the_aid_of_linked_enterprises_counts():
    u = deminimis.single_undertaking(A, [A, B], [Link(1, B.vat_number, D("51"), "holds")])
    items = [grant("4000.00", org=1), grant("9000.00", org=2)]
    aid = [declared("280000.00", org=2, on=date(2025, 1, 1)), declared("99999.00", org=3)]
    p = deminimis.position([g for g in items if g.organisation_id in u.organisation_ids],
                           [a for a in aid if a.organisation_id in u.organisation_ids], ON, CEILING, 3)
    assert p.total == D("293000.00")
    assert not deminimis.check(p, D("7000.01"), 10).allowed


# --- properties ----------------------------------------------------------------------------------------


amounts = st.decimals(min_value=D("0.01"), max_value=D("200000.00"), places=2, allow_nan=False, allow_infinity=False)
days = st.integers(min_value=-1500, max_value=30)
statuses = st.sampled_from(["granted", "claimed", "approved", "paid", "lapsed", "cancelled"])


@st.composite
def aid_lists(draw):
    grants = [Grant(i, 1, ON + timedelta(days=draw(days)), draw(statuses), draw(amounts))
              for i in range(draw(st.integers(0, 12)))]
    aid = [DeclaredAid(100 + i, 1, ON + timedelta(days=draw(days)), draw(amounts))
           for i in range(draw(st.integers(0, 6)))]
    return grants, aid


@settings(max_examples=150, deadline=None)
@given(aid_lists(), st.randoms(use_true_random=False))
def test_the_position_does_not_depend_on_the_order(lists, rnd: random.Random):
    grants, aid = lists
    first = deminimis.position(grants, aid, ON, CEILING, 3)
    rnd.shuffle(grants)
    rnd.shuffle(aid)
    again = deminimis.position(grants, aid, ON, CEILING, 3)
    assert (again.total, again.headroom, again.items) == (first.total, first.headroom, first.items)


@settings(max_examples=150, deadline=None)
@given(aid_lists(), amounts)
def test_the_position_is_exact_and_the_verdict_is_consistent(lists, amount):
    grants, aid = lists
    p = deminimis.position(grants, aid, ON, CEILING, 3)
    start = ON - timedelta(days=365 * 3)  # 2023-11-24 is 1095 days before 2026-11-23
    expected = sum((deminimis.counted(g.status, g.amount) for g in grants if start <= g.granted_on <= ON), D("0"))
    expected += sum((a.amount for a in aid if start <= a.granted_on <= ON), D("0"))
    assert p.total == expected and p.total.as_tuple().exponent == -2
    assert p.headroom == max(CEILING - p.total, D("0"))
    v = deminimis.check(p, amount, 10)
    assert v.allowed == (p.total + amount <= CEILING)
    assert v.total_after == p.total + amount
    if v.warning:
        assert v.allowed and v.headroom_after < CEILING / 10


@settings(max_examples=100, deadline=None)
@given(aid_lists())
def test_the_binding_position_is_never_below_the_position_on_the_day(lists):
    grants, aid = lists
    assert (deminimis.binding_position(grants, aid, ON, CEILING, 3).total
            >= deminimis.position(grants, aid, ON, CEILING, 3).total)
