"""The conflict-of-interest rule and the proposed assignment of evaluators (pure functions).

The proposal is checked against its hard constraints on random inputs (never a conflicted
pair, never the same evaluator twice on one application, capacities respected, every
application covered when it can be), against an exhaustive search on small inputs (the
same coverage, the same balance, the same expertise match as the best possible), and for
determinism (the order of the input never matters).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsapp.calls.assignment import (
    ALREADY_ASSIGNED,
    APPLICATION_FULL,
    CONFLICT,
    DECLARED,
    LINKED,
    MEMBER,
    NO_CAPACITY,
    NO_ROOM,
    TOO_FEW_EVALUATORS,
    UNKNOWN_EVALUATOR,
    ApplicantTies,
    ApplicationToCover,
    EvaluatorAvailable,
    EvaluatorTies,
    ExistingAssignment,
    _pair_cost,
    conflict_reason,
    propose,
    vat_keys,
)

CODES = ("aerospace", "automotive", "ict", "energy", "agrifood")


# --- conflict of interest --------------------------------------------------------------


APPLICANT = ApplicantTies(organisation_id=10, vat_number="IT00743110157", linked_vats=frozenset({"IT01234567897"}))


def test_no_tie_no_conflict():
    assert conflict_reason(1, APPLICANT, EvaluatorTies()) is None
    other = EvaluatorTies(organisation_ids=frozenset({11}), vat_numbers=frozenset({"IT09999999990"}),
                          linked_vats=frozenset({"IT05555555555"}))
    assert conflict_reason(1, APPLICANT, other) is None


def test_a_member_of_the_applicant_is_conflicted():
    assert conflict_reason(1, APPLICANT, EvaluatorTies(organisation_ids=frozenset({10}))) == MEMBER


def test_a_member_of_an_enterprise_the_applicant_lists_as_related_is_conflicted():
    evaluator = EvaluatorTies(organisation_ids=frozenset({20}), vat_numbers=frozenset({"IT01234567897"}))
    assert conflict_reason(1, APPLICANT, evaluator) == LINKED


def test_a_member_of_an_enterprise_that_lists_the_applicant_as_related_is_conflicted():
    evaluator = EvaluatorTies(organisation_ids=frozenset({20}), vat_numbers=frozenset({"IT09999999990"}),
                              linked_vats=frozenset({"IT00743110157"}))
    assert conflict_reason(1, APPLICANT, evaluator) == LINKED


def test_vat_numbers_meet_with_or_without_country_prefix_and_separators():
    # A related enterprise's number is stored as typed: without "IT", perhaps with spaces.
    evaluator = EvaluatorTies(organisation_ids=frozenset({20}), linked_vats=frozenset({"00743 110.157"}))
    assert conflict_reason(1, APPLICANT, evaluator) == LINKED
    assert vat_keys("it 00743110157") == {"IT00743110157", "00743110157"}
    assert vat_keys(None) == frozenset() and vat_keys("  ") == frozenset()


def test_a_declared_conflict_stays_for_that_application_only():
    evaluator = EvaluatorTies(declared=frozenset({1}))
    assert conflict_reason(1, APPLICANT, evaluator) == DECLARED
    assert conflict_reason(2, APPLICANT, evaluator) is None


def test_membership_is_the_reason_given_first():
    evaluator = EvaluatorTies(organisation_ids=frozenset({10}), declared=frozenset({1}))
    assert conflict_reason(1, APPLICANT, evaluator) == MEMBER


# --- the proposal: examples ------------------------------------------------------------


def apps(n, codes=("ict",)):
    return [ApplicationToCover(i, frozenset(codes)) for i in range(1, n + 1)]


def evaluators(n, codes=("ict",), capacity=None, start=100):
    return [EvaluatorAvailable(start + j, frozenset(codes), frozenset({"en", "it"}), capacity) for j in range(n)]


def pairs_of(proposal):
    return [(p.application_id, p.evaluator_id) for p in proposal.pairs]


def test_each_application_gets_the_required_number_of_distinct_evaluators_balanced():
    proposal = propose(apps(10), evaluators(4), 3)
    per_app = Counter(a for a, _ in pairs_of(proposal))
    assert all(per_app[a] == 3 for a in range(1, 11))
    assert len(set(pairs_of(proposal))) == 30
    assert sorted(proposal.loads.values()) == [7, 7, 8, 8]
    assert proposal.complete and proposal.shortfalls == ()


def test_existing_assignments_count_and_are_never_proposed_again():
    existing = [ExistingAssignment(1, 100, True), ExistingAssignment(1, 101, False)]  # 101 declared a conflict
    ev = [EvaluatorAvailable(e.id, e.s3_codes, e.languages, None, 1 if e.id == 100 else 0) for e in evaluators(4)]
    proposal = propose(apps(1), ev, 3, existing=existing, conflicts={(1, 101): DECLARED})
    assert sorted(pairs_of(proposal)) == [(1, 102), (1, 103)]
    assert proposal.needed == {1: 2}


def test_expertise_is_preferred_when_balance_is_equal():
    applications = [ApplicationToCover(1, frozenset({"energy"})), ApplicationToCover(2, frozenset({"ict"}))]
    pool = [EvaluatorAvailable(100, frozenset({"ict"})), EvaluatorAvailable(101, frozenset({"energy"}))]
    proposal = propose(applications, pool, 1)
    assert sorted(pairs_of(proposal)) == [(1, 101), (2, 100)]
    assert all(p.matches_expertise for p in proposal.pairs)


def test_balance_wins_over_expertise():
    # Both applications are in ICT and only evaluator 100 knows ICT: one goes to 101 anyway.
    pool = [EvaluatorAvailable(100, frozenset({"ict"})), EvaluatorAvailable(101, frozenset({"energy"}))]
    proposal = propose(apps(2), pool, 1)
    assert sorted(proposal.loads.values()) == [1, 1]
    assert sum(p.matches_expertise for p in proposal.pairs) == 1


def test_language_is_preferred_too():
    applications = [ApplicationToCover(1, language="it")]
    pool = [EvaluatorAvailable(100, languages=frozenset({"en"})), EvaluatorAvailable(101, languages=frozenset({"it"}))]
    proposal = propose(applications, pool, 1)
    assert pairs_of(proposal) == [(1, 101)] and proposal.pairs[0].matches_language


def test_too_few_evaluators_without_conflict_is_said_for_that_application():
    conflicts = {(1, 100): MEMBER, (1, 101): LINKED}
    proposal = propose(apps(2), evaluators(3), 2, conflicts=conflicts)
    assert [(s.application_id, s.missing, s.reason, s.candidates, s.conflicted) for s in proposal.shortfalls] == [
        (1, 1, TOO_FEW_EVALUATORS, 1, 2)]
    assert (1, 102) in pairs_of(proposal)
    assert Counter(a for a, _ in pairs_of(proposal))[2] == 2


def test_capacity_shortfall_is_told_apart():
    proposal = propose(apps(3), evaluators(2, capacity=2), 2)
    assert sum(s.missing for s in proposal.shortfalls) == 2
    assert {s.reason for s in proposal.shortfalls} == {NO_CAPACITY}
    assert all(load <= 2 for load in proposal.loads.values())


def test_staff_choices_are_kept_and_checked():
    conflicts = {(1, 100): MEMBER}
    existing = [ExistingAssignment(2, 101, True)]
    proposal = propose(apps(2), evaluators(3), 1, conflicts=conflicts, existing=existing,
                       pinned=[(1, 100), (1, 102), (2, 102), (1, 999)])
    assert [(r.application_id, r.evaluator_id, r.reason, r.conflict) for r in proposal.refused] == [
        (1, 100, CONFLICT, MEMBER), (1, 999, UNKNOWN_EVALUATOR, None), (2, 102, APPLICATION_FULL, None)]
    assert pairs_of(proposal) == [(1, 102)] and proposal.pairs[0].pinned


def test_a_pinned_pair_already_assigned_or_over_capacity_is_refused():
    existing = [ExistingAssignment(1, 100, False)]
    pool = [EvaluatorAvailable(100), EvaluatorAvailable(101, capacity=1, load=1)]
    proposal = propose(apps(1), pool, 2, existing=existing, pinned=[(1, 100), (1, 101)])
    assert {(r.evaluator_id, r.reason) for r in proposal.refused} == {(100, ALREADY_ASSIGNED), (101, NO_ROOM)}


def test_excluded_pairs_are_replaced_by_others():
    first = propose(apps(1), evaluators(4), 2)
    removed = first.pairs[0]
    second = propose(apps(1), evaluators(4), 2, excluded=[(removed.application_id, removed.evaluator_id)])
    assert (removed.application_id, removed.evaluator_id) not in pairs_of(second)
    assert len(second.pairs) == 2


def test_loads_already_carried_are_balanced_out():
    pool = [EvaluatorAvailable(100, load=5), EvaluatorAvailable(101, load=0), EvaluatorAvailable(102, load=0)]
    proposal = propose(apps(4), pool, 1)
    assert sorted(e for _, e in pairs_of(proposal)) == [101, 101, 102, 102]


def test_nothing_to_do_gives_an_empty_proposal():
    proposal = propose([], evaluators(2), 3)
    assert proposal.pairs == () and proposal.complete
    full = propose(apps(1), evaluators(3), 1, existing=[ExistingAssignment(1, 100, True)])
    assert full.pairs == () and full.complete


def test_a_large_call_is_proposed_quickly():
    import time

    rng = random.Random(7)
    applications = [ApplicationToCover(i, frozenset(rng.sample(CODES, 1))) for i in range(200)]
    pool = [EvaluatorAvailable(1000 + j, frozenset(rng.sample(CODES, 2))) for j in range(40)]
    conflicts = {(a.id, e.id): MEMBER for a in applications for e in pool if rng.random() < 0.03}
    started = time.perf_counter()
    proposal = propose(applications, pool, 3, conflicts=conflicts)
    assert time.perf_counter() - started < 5
    assert proposal.complete and len(proposal.pairs) == 600
    assert max(proposal.loads.values()) - min(proposal.loads.values()) <= 1


# --- the proposal: properties ------------------------------------------------------------


@st.composite
def instances(draw, max_apps=8, max_evaluators=6):
    n_apps = draw(st.integers(0, max_apps))
    n_evs = draw(st.integers(1, max_evaluators))
    required = draw(st.integers(1, 3))
    codes = st.frozensets(st.sampled_from(CODES), max_size=2)
    applications = [ApplicationToCover(10 + i, draw(codes), draw(st.sampled_from([None, "en", "it"])))
                    for i in range(n_apps)]
    pool = []
    for j in range(n_evs):
        load = draw(st.integers(0, 3))
        capacity = draw(st.one_of(st.none(), st.integers(load, load + 6)))
        pool.append(EvaluatorAvailable(100 + j, draw(codes), draw(st.frozensets(st.sampled_from(["en", "it"]))),
                                       capacity, load))
    conflicts = {}
    existing = []
    for a in applications:
        for e in pool:
            roll = draw(st.integers(0, 9))
            if roll == 0:
                conflicts[(a.id, e.id)] = MEMBER
            elif roll == 1:
                existing.append(ExistingAssignment(a.id, e.id, True))
            elif roll == 2:
                existing.append(ExistingAssignment(a.id, e.id, False))
                conflicts[(a.id, e.id)] = DECLARED
    return applications, pool, required, conflicts, existing


def _room(pool):
    return {e.id: None if e.capacity is None else e.capacity - e.load for e in pool}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_hard_constraints_always_hold(instance):
    applications, pool, required, conflicts, existing = instance
    proposal = propose(applications, pool, required, conflicts=conflicts, existing=existing)
    pairs = pairs_of(proposal)
    taken = {(x.application_id, x.evaluator_id) for x in existing}
    assert len(pairs) == len(set(pairs)), "an evaluator twice on one application"
    assert not [p for p in pairs if p in conflicts], "a conflicted pair"
    assert not [p for p in pairs if p in taken], "a pair that already exists"
    new = Counter(e for _, e in pairs)
    for e, room in _room(pool).items():
        assert room is None or new[e] <= room, "capacity exceeded"
    active = Counter(x.application_id for x in existing if x.active)
    per_app = Counter(a for a, _ in pairs)
    short = {s.application_id: s.missing for s in proposal.shortfalls}
    for a in applications:
        wanted = max(0, required - active[a.id])
        assert per_app[a.id] + short.get(a.id, 0) == wanted, "covered exactly, or the shortfall said"
    for s in proposal.shortfalls:
        assert s.missing > 0 and s.reason in (TOO_FEW_EVALUATORS, NO_CAPACITY)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.integers(1, 3), st.randoms(use_true_random=False))
def test_without_conflicts_every_application_is_covered_and_loads_differ_by_one_at_most(n_apps, n_evs, required,
                                                                                          rng):
    required = min(required, n_evs)
    applications = [ApplicationToCover(i, frozenset(rng.sample(CODES, 1))) for i in range(n_apps)]
    pool = [EvaluatorAvailable(100 + j, frozenset(rng.sample(CODES, 2))) for j in range(n_evs)]
    proposal = propose(applications, pool, required)
    assert proposal.complete and len(proposal.pairs) == n_apps * required
    loads = [proposal.loads[e.id] for e in pool]
    assert max(loads) - min(loads) <= 1


@settings(max_examples=150, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order_of_the_input(instance, rng):
    applications, pool, required, conflicts, existing = instance
    first = propose(applications, pool, required, conflicts=conflicts, existing=existing)
    shuffled_apps, shuffled_pool, shuffled_existing = list(applications), list(pool), list(existing)
    for items in (shuffled_apps, shuffled_pool, shuffled_existing):
        rng.shuffle(items)
    shuffled_conflicts = dict(rng.sample(sorted(conflicts.items()), len(conflicts)))
    second = propose(shuffled_apps, shuffled_pool, required, conflicts=shuffled_conflicts, existing=shuffled_existing)
    assert first == second


def _best_by_search(applications, pool, required, conflicts, existing):
    """Every possible set of new pairs: the best (coverage, sorted loads, mismatches) key."""
    taken = {(x.application_id, x.evaluator_id) for x in existing}
    active = Counter(x.application_id for x in existing if x.active)
    room = _room(pool)
    options = []
    for a in applications:
        wanted = max(0, required - active[a.id])
        candidates = [e.id for e in pool if (a.id, e.id) not in conflicts and (a.id, e.id) not in taken]
        choices = []
        for k in range(min(wanted, len(candidates)), -1, -1):
            choices += [[(a.id, e) for e in combo] for combo in itertools.combinations(candidates, k)]
        options.append(choices)
    best = None
    for choice in itertools.product(*options):
        pairs = [p for c in choice for p in c]
        used = Counter(e for _, e in pairs)
        if any(room[e] is not None and used[e] > room[e] for e in used):
            continue
        key = _key(applications, pool, pairs)
        best = key if best is None or key < best else best
    return best


def _key(applications, pool, pairs):
    loads = {e.id: e.load for e in pool}
    for _, e in pairs:
        loads[e] += 1
    by_app = {a.id: a for a in applications}
    by_ev = {e.id: e for e in pool}
    return (-len(pairs), tuple(sorted(loads.values(), reverse=True)),
            sum(_pair_cost(by_app[a], by_ev[e]) for a, e in pairs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_apps=3, max_evaluators=4))
def test_the_proposal_is_as_good_as_the_best_found_by_exhaustive_search(instance):
    """Most pairs placed, then the most balanced loads (lexicographically), then the best expertise match."""
    applications, pool, required, conflicts, existing = instance
    proposal = propose(applications, pool, required, conflicts=conflicts, existing=existing)
    assert _key(applications, pool, pairs_of(proposal)) == _best_by_search(applications, pool, required,
                                                                          conflicts, existing)
