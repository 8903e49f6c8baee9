"""The completion criteria (`cohorts.completion`): each figure against its target, exactly at the
thresholds, just under them, and targets of zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opsapp.cohorts import completion
from opsapp.cohorts.completion import HOURS, MILESTONES, SESSIONS, Criteria, assess

CRITERIA = Criteria(min_hours=Decimal("20"), min_sessions=6, min_milestones=2)


def test_exactly_at_every_threshold_meets_the_criteria():
    result = assess(Decimal("20"), 6, 2, CRITERIA)
    assert result.met
    assert result.unmet == []
    assert [(c.key, c.figure, c.target, c.met) for c in result.checks] == [
        (HOURS, Decimal("20.00"), Decimal("20"), True), (SESSIONS, 6, 6, True), (MILESTONES, 2, 2, True)]


@pytest.mark.parametrize(("hours", "sessions", "milestones", "missing"), [
    (Decimal("19.99"), 6, 2, HOURS),
    (Decimal("20"), 5, 2, SESSIONS),
    (Decimal("20"), 6, 1, MILESTONES),
])
def test_just_under_one_threshold_fails_that_criterion_only(hours, sessions, milestones, missing):
    result = assess(hours, sessions, milestones, CRITERIA)
    assert not result.met
    assert [c.key for c in result.unmet] == [missing]
    assert result[missing].missing > 0
    assert all(c.met for c in result.checks if c.key != missing)


def test_above_the_thresholds_meets_and_nothing_is_missing():
    result = assess(Decimal("31.5"), 9, 4, CRITERIA)
    assert result.met
    assert all(c.missing == 0 for c in result.checks)


def test_nothing_attended_fails_every_criterion_with_what_is_missing():
    result = assess(None, None, None, CRITERIA)
    assert not result.met
    assert [c.key for c in result.unmet] == [HOURS, SESSIONS, MILESTONES]
    assert result[HOURS].missing == Decimal("20")
    assert result[SESSIONS].missing == 6
    assert result[MILESTONES].missing == 2


def test_a_target_of_zero_asks_for_nothing():
    result = assess(0, 0, 0, Criteria(Decimal(0), 0, 0))
    assert result.met
    assert not any(c.required for c in result.checks)


def test_hours_given_as_float_or_int_are_compared_as_decimals():
    assert assess(20, 6, 2, CRITERIA).met
    assert assess(19.999, 6, 2, CRITERIA)[HOURS].figure == Decimal("20.00")  # rounded to the cent
    assert not assess(19.99, 6, 2, CRITERIA).met


def test_criteria_are_read_from_a_cohort():
    class Cohort:
        min_hours, min_sessions, min_milestones = Decimal("12.5"), 3, 1

    assert completion.Criteria.of(Cohort()) == Criteria(Decimal("12.5"), 3, 1)
