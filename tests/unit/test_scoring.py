"""Aggregation, divergence, thresholds, ranking and tie-breaks of evaluation scores."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.calls.scoring import (
    ApplicationScores,
    CallRules,
    CriterionRule,
    aggregate,
    evaluate,
    propose,
    spread,
    valid_score,
)

T0 = datetime(2027, 3, 1, 12, tzinfo=UTC)
# Horizon Europe's three criteria: Excellence, Impact (weight 1.5 for innovation actions), Implementation.
HE = CallRules(criteria=(CriterionRule(1, priority=0), CriterionRule(2, weight=D("1.5"), priority=1),
                         CriterionRule(3, priority=2)))


def app(app_id, per_criterion, minutes=0, consensus=None, evaluations=3):
    return ApplicationScores(app_id, T0 + timedelta(minutes=minutes),
                             {c: [D(str(v)) for v in vs] for c, vs in per_criterion.items()},
                             consensus or {}, evaluations)


def test_scores_are_half_points_up_to_the_maximum():
    assert valid_score(D("0")) and valid_score(D("3.5")) and valid_score(D("5"))
    assert not valid_score(D("3.3")) and not valid_score(D("5.5")) and not valid_score(D("-0.5"))
    assert valid_score(D("9.5"), max_score=D("10"))


def test_mean_and_median():
    values = [D("3"), D("3.5"), D("5")]
    assert aggregate(values, "mean") == D("11.5") / 3
    assert aggregate(values, "median") == D("3.5")
    assert aggregate([D("2"), D("4")], "median") == D("3")
    assert aggregate([], "mean") is None


def test_spread_of_two_points_flags_divergence():
    assert spread([D("2"), D("4"), D("3")]) == D("2")
    result = evaluate(app(1, {1: [2, 4, 3], 2: [4, 4, 4], 3: [4, 4.5, 4]}), HE)
    assert result.criteria[0].divergent and result.needs_moderation
    result = evaluate(app(1, {1: [2.5, 4, 3], 2: [4, 4, 4], 3: [4, 4.5, 4]}), HE)
    assert not result.needs_moderation


def test_consensus_replaces_the_aggregate_and_keeps_the_scores():
    result = evaluate(app(1, {1: [1, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4]}, consensus={1: D("3.5")}), HE)
    first = result.criteria[0]
    assert first.scores == (D(1), D(4), D(4))
    assert first.aggregate == D(3) and first.final == D("3.5")
    assert first.divergent and not result.needs_moderation


def test_thresholds_per_criterion_and_overall():
    # 10 of 15 overall by default; each criterion at least 3.
    ok = evaluate(app(1, {1: [3, 3, 3], 2: [4, 4, 4], 3: [3, 3, 3]}), HE)
    assert ok.passes and ok.total == D(10)
    low_criterion = evaluate(app(2, {1: [2.5, 2.5, 2.5], 2: [5, 5, 5], 3: [5, 5, 5]}), HE)
    assert not low_criterion.passes and low_criterion.failed == ("criterion:1",)
    low_total = evaluate(app(3, {1: [3, 3, 3], 2: [3, 3, 3], 3: [3.5, 3.5, 3.5]}), HE)
    assert not low_total.passes and low_total.failed == ("overall",)


def test_the_default_overall_threshold_is_two_thirds_to_the_half_point():
    assert HE.effective_overall_threshold == D(10)
    five = CallRules(criteria=tuple(CriterionRule(i) for i in range(5)))
    assert five.effective_overall_threshold == D("16.5")
    assert CallRules(criteria=HE.criteria, overall_threshold=D(12)).effective_overall_threshold == D(12)


def test_weights_count_for_the_ranking():
    result = evaluate(app(1, {1: [4, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4]}), HE)
    assert result.total == D(12)
    assert result.weighted_total == D(4) + D(6) + D(4)


def test_missing_evaluations_make_an_application_incomplete():
    result = evaluate(app(1, {1: [4, 4], 2: [4, 4], 3: [4, 4]}, evaluations=2), HE)
    assert not result.complete and not result.passes


def test_places_then_reserve_then_rejected():
    apps = [
        app(1, {1: [5, 5, 5], 2: [5, 5, 5], 3: [5, 5, 5]}),
        app(2, {1: [4, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4]}),
        app(3, {1: [3.5, 3.5, 3.5], 2: [4, 4, 4], 3: [3.5, 3.5, 3.5]}),
        app(4, {1: [1, 1, 1], 2: [5, 5, 5], 3: [5, 5, 5]}),
    ]
    proposal = propose(apps, HE, places=2)
    assert [(r.result.application_id, r.outcome, r.rank, r.reserve_position) for r in proposal.ranked] == [
        (1, "selected", 1, None), (2, "selected", 2, None), (3, "reserve", 3, 1), (4, "rejected", 0, None)]
    assert proposal.ready


def test_ties_are_broken_by_criteria_in_priority_order_then_submission_time():
    # Same weighted total (5 + 1.5*4 + 3 = 14 and 4 + 1.5*4 + 4 = 14); criterion 1 comes first.
    a = app(10, {1: [4, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4]}, minutes=0)
    b = app(11, {1: [5, 5, 5], 2: [4, 4, 4], 3: [3, 3, 3]}, minutes=5)
    assert [r.result.application_id for r in propose([a, b], HE, 1).ranked] == [11, 10]
    # Identical scores: the earlier submission wins.
    c = app(12, {1: [4, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4]}, minutes=-5)
    assert [r.result.application_id for r in propose([a, c], HE, 1).ranked] == [12, 10]


def test_a_proposal_is_not_ready_with_divergence_left_or_evaluations_missing():
    proposal = propose([app(1, {1: [1, 5, 3], 2: [4, 4, 4], 3: [4, 4, 4]}),
                        app(2, {1: [4], 2: [4], 3: [4]}, evaluations=1)], HE, 1)
    assert proposal.to_moderate == (1,) and proposal.incomplete == (2,)
    assert not proposal.ready


half_points = st.integers(min_value=0, max_value=10).map(lambda n: D(n) / 2)


@st.composite
def applications(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    apps = []
    for i in range(n):
        scores = {c: draw(st.lists(half_points, min_size=3, max_size=3)) for c in (1, 2, 3)}
        minutes = draw(st.integers(min_value=0, max_value=3))  # equal times happen
        apps.append(ApplicationScores(i + 1, T0 + timedelta(minutes=minutes), scores, {}, 3))
    return apps


@settings(max_examples=100, deadline=None)
@given(applications(), st.integers(min_value=1, max_value=10), st.randoms(use_true_random=False),
       st.sampled_from(["mean", "median"]))
def test_the_ranking_does_not_depend_on_the_input_order(apps, places, rnd, how):
    rules = CallRules(HE.criteria, aggregation=how)
    shuffled = list(apps)
    rnd.shuffle(shuffled)
    first = [(r.result.application_id, r.outcome, r.rank) for r in propose(apps, rules, places).ranked]
    second = [(r.result.application_id, r.outcome, r.rank) for r in propose(shuffled, rules, places).ranked]
    assert first == second


@settings(max_examples=100, deadline=None)
@given(applications(), st.integers(min_value=1, max_value=10))
def test_every_application_has_exactly_one_outcome_and_selected_ones_beat_the_reserve(apps, places):
    proposal = propose(apps, HE, places)
    assert sorted(r.result.application_id for r in proposal.ranked) == sorted(a.application_id for a in apps)
    selected = proposal.by_outcome("selected")
    reserve = proposal.by_outcome("reserve")
    assert len(selected) <= places
    assert not reserve or len(selected) == places
    if selected and reserve:
        assert min(r.result.weighted_total for r in selected) >= max(r.result.weighted_total for r in reserve)
    assert all(r.result.passes for r in selected + reserve)
    assert all(not r.result.passes for r in proposal.by_outcome("rejected"))


def test_ranking_five_thousand_applications_is_deterministic():
    rng = random.Random(7)
    apps = [app(i, {c: [rng.randint(4, 10) / 2 for _ in range(3)] for c in (1, 2, 3)}, minutes=rng.randint(0, 9))
            for i in range(5000)]
    a = propose(apps, HE, 40)
    rng.shuffle(apps)
    b = propose(apps, HE, 40)
    assert [r.result.application_id for r in a.ranked] == [r.result.application_id for r in b.ranked]
