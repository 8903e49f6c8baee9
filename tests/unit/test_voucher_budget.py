"""The budget arithmetic of a voucher scheme: the figures per status, what each voucher holds,
the check before a grant; and properties: the budget never goes negative through
`can_commit`, the parts add up to the figures, and many small amounts add up exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.core.money import MoneyError
from opsapp.vouchers import budget
from opsapp.vouchers.budget import (
    FIGURE_STATUSES,
    FIGURES,
    ZERO,
    can_commit,
    held,
    summarise,
    with_grant,
)
from opsapp.vouchers.models import VoucherStatus as S

D = Decimal


def test_an_empty_scheme_has_its_whole_budget_available():
    summary = summarise("10000", [])
    assert summary.budget == D("10000.00")
    assert summary.available == D("10000.00")
    assert summary.committed == summary.granted == ZERO
    assert summary.used_percent == 0
    assert all(summary.count(name) == 0 for name in FIGURE_STATUSES)


def test_every_status_holds_what_the_rules_say():
    rows = [
        (S.GRANTED, D("1000.00"), None, None),
        (S.CLAIMED, D("800.00"), None, None),
        (S.APPROVED, D("700.00"), D("650.50"), None),
        (S.PAID, D("600.00"), D("600.00"), D("590.25")),
        (S.LAPSED, D("500.00"), None, None),
        (S.CANCELLED, D("400.00"), None, None),
    ]
    summary = summarise(D("10000.00"), rows)
    assert summary.granted == D("4000.00")
    assert summary.outstanding == D("1000.00")
    assert summary.claimed == D("800.00")
    assert summary.approved == D("650.50")
    assert summary.paid == D("590.25")
    assert summary.lapsed == D("500.00")
    assert summary.cancelled == D("400.00")
    assert summary.committed == D("3040.75")
    assert summary.available == D("6959.25")
    assert summary.released == D("959.25")  # 500 + 400 + 49.50 + 9.75
    assert summary.used_percent == 30
    assert summary.count("granted") == 6
    assert summary.count("committed") == 4
    assert [summary.count(s) for s in ("outstanding", "claimed", "approved", "paid", "lapsed", "cancelled")] == [
        1, 1, 1, 1, 1, 1]


def test_statuses_may_be_plain_strings():
    summary = summarise("100", [("granted", "10", None, None), ("paid", "10", "8", "8")])
    assert summary.committed == D("18.00")


def test_an_approval_without_amount_or_a_payment_without_amount_holds_the_most_it_may_cost():
    assert held(S.APPROVED, D("700.00")) == D("700.00")
    assert held(S.PAID, D("700.00"), D("650.00")) == D("650.00")
    assert held(S.PAID, D("700.00")) == D("700.00")
    assert held(S.LAPSED, D("700.00")) == ZERO
    assert held(S.CANCELLED, D("700.00"), D("1")) == ZERO


def test_figures_are_in_cents_and_floats_are_refused():
    summary = summarise("100", [(S.GRANTED, "0.1", None, None)])
    assert summary.granted == D("0.10") and summary.granted.as_tuple().exponent == -2
    with pytest.raises(MoneyError):
        summarise("100", [(S.GRANTED, 0.1, None, None)])
    with pytest.raises(MoneyError):
        can_commit(summary, 0.1)


def test_figure_names_are_all_readable():
    summary = summarise("100", [(S.GRANTED, "10", None, None)])
    assert {name: summary.figure(name) for name in FIGURES}["available"] == D("90.00")
    with pytest.raises(KeyError):
        summary.figure("budget_of_someone_else")


@pytest.mark.parametrize(("amount", "fits"), [
    ("0.01", True), ("2500.00", True), ("2500.01", False), ("0", False), ("-5", False)])
def test_can_commit_up_to_what_is_available_exactly(amount, fits):
    summary = summarise("10000", [(S.GRANTED, "7500.00", None, None)])
    assert can_commit(summary, D(amount)) is fits


def test_returned_amounts_are_available_again():
    summary = summarise("1000", [(S.CANCELLED, "600", None, None), (S.LAPSED, "400", None, None)])
    assert can_commit(summary, "1000.00")


def test_with_grant_adds_one_voucher():
    summary = with_grant(summarise("1000", []), "250")
    assert (summary.granted, summary.outstanding, summary.committed, summary.available) == (
        D("250.00"), D("250.00"), D("250.00"), D("750.00"))
    assert summary.count("granted") == 1


def test_a_thousand_vouchers_of_ten_cents_make_exactly_one_hundred_euro():
    summary = summarise("100.00", [(S.GRANTED, D("0.10"), None, None)] * 1000)
    assert summary.committed == D("100.00")
    assert summary.available == ZERO
    assert not can_commit(summary, "0.01")


def test_a_budget_filled_ten_cents_at_a_time_through_can_commit_ends_exact():
    summary = summarise("100.00", [])
    granted = 0
    while can_commit(summary, "0.10"):
        summary = with_grant(summary, "0.10")
        granted += 1
    assert granted == 1000
    assert summary.available == ZERO


# --- properties --------------------------------------------------------------------------------

cents = st.integers(min_value=1, max_value=500_000_00).map(lambda c: Decimal(c) / 100)


@st.composite
def voucher_rows(draw):
    status = draw(st.sampled_from(list(S)))
    amount = draw(cents)
    approved = paid = None
    if status in (S.APPROVED, S.PAID):
        approved = draw(st.integers(min_value=0, max_value=int(amount * 100)).map(lambda c: Decimal(c) / 100))
    if status is S.PAID:
        paid = draw(st.integers(min_value=0, max_value=int(approved * 100)).map(lambda c: Decimal(c) / 100))
    return (status, amount, approved, paid)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(voucher_rows(), max_size=60), budget_cents=st.integers(0, 10**10))
def test_the_parts_add_up_to_the_figures(rows, budget_cents):
    summary = summarise(Decimal(budget_cents) / 100, rows)
    assert summary.committed == summary.outstanding + summary.claimed + summary.approved + summary.paid
    assert summary.available + summary.committed == summary.budget
    assert summary.granted == sum((r[1] for r in rows), ZERO)
    assert summary.granted == (summary.outstanding + summary.claimed + summary.lapsed + summary.cancelled
                               + sum((r[1] for r in rows if r[0] in (S.APPROVED, S.PAID)), ZERO))
    assert summary.committed == sum((held(*r) for r in rows), ZERO)
    assert summary.released >= ZERO
    assert summary.count("granted") == len(rows)
    assert summary.count("committed") == sum(summary.count(n) for n in ("outstanding", "claimed", "approved", "paid"))
    for name in FIGURES:
        assert summary.figure(name).as_tuple().exponent == -2


@settings(max_examples=200, deadline=None)
@given(budget_cents=st.integers(0, 10**8), requests=st.lists(cents, max_size=80),
       outcomes=st.lists(st.sampled_from(list(S)), max_size=80))
def test_available_never_goes_negative_when_grants_go_through_can_commit(budget_cents, requests, outcomes):
    """Grants only when `can_commit` says so, then the vouchers move on (claims, partial approvals,
    payments, lapses, cancellations can only lower what a voucher holds): never below zero."""
    rows: list[list] = []
    for i, amount in enumerate(requests):
        summary = summarise(Decimal(budget_cents) / 100, rows)
        if can_commit(summary, amount):
            rows.append([S.GRANTED, amount, None, None])
        if rows and i < len(outcomes):
            row = rows[i % len(rows)]
            target = outcomes[i]
            if target is S.APPROVED and row[0] in (S.GRANTED, S.CLAIMED):
                row[0], row[2] = S.APPROVED, (row[1] / 2).quantize(Decimal("0.01"))
            elif target is S.PAID and row[0] is S.APPROVED:
                row[0], row[3] = S.PAID, row[2]
            elif target in (S.CLAIMED, S.LAPSED) and row[0] is S.GRANTED:
                row[0] = target
            elif target is S.CANCELLED and row[0] in (S.GRANTED, S.CLAIMED):
                row[0] = target
        summary = summarise(Decimal(budget_cents) / 100, rows)
        assert summary.available >= ZERO
        assert summary.committed <= summary.budget


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 2000), unit_cents=st.integers(1, 99))
def test_no_rounding_drift_over_many_small_amounts(n, unit_cents):
    unit = Decimal(unit_cents) / 100
    summary = summarise(unit * n, [(S.GRANTED, unit, None, None)] * n)
    assert summary.granted == summary.committed == unit * n
    assert summary.available == ZERO


def test_module_is_pure():
    """No database in the arithmetic: the module imports neither the session nor Flask."""
    source = open(budget.__file__, encoding="utf-8").read()
    assert "db.session" not in source and "from flask" not in source
