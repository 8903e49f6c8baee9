"""The mentor matching (`cohorts/matching.py`): the fit, the conflict rule, the proposal (capacity
respected, no conflicted pair, better fit preferred, spread, deterministic, exact), the reasons a
company gets no mentor, and the check of staff's choices; hypothesis properties over random pools."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.cohorts import matching as m
from opsapp.cohorts.matching import Company, Mentor

FIN, MKT, HR = 1, 2, 3


def company(id, needs=None, s3=(), languages=("it",), orgs=None):
    return Company(id, needs or {}, frozenset(s3), frozenset(languages), frozenset(orgs or {100 + id}))


def mentor(id, themes=(FIN,), s3=(), languages=("it", "en"), room=1, orgs=(), declared=(), load=0):
    return Mentor(id, frozenset(themes), frozenset(s3), frozenset(languages), room, frozenset(orgs),
                  frozenset(declared), load)


# --- fit and conflicts -------------------------------------------------------------------------------


def test_fit_adds_the_needs_covered_a_shared_domain_and_a_shared_language():
    c = company(1, {FIN: 3, MKT: 2, HR: 1}, s3=("ict", "energy"), languages=("it",))
    f = m.fit(c, mentor(9, themes=(FIN, HR, 99), s3=("ict",), languages=("it", "en")))
    assert f.total == 3 + 1 + m.S3_BONUS + m.LANGUAGE_BONUS
    assert f.themes == ((FIN, 3), (HR, 1)) and f.s3_domains == ("ict",) and f.languages == ("it",)


def test_no_common_language_means_no_fit_at_all():
    c = company(1, {FIN: 3}, s3=("ict",), languages=("it",))
    assert m.fit(c, mentor(9, themes=(FIN,), s3=("ict",), languages=("de",))).total == 0


def test_a_need_of_none_adds_nothing():
    assert m.fit(company(1, {FIN: 0}), mentor(9, themes=(FIN,))).total == m.LANGUAGE_BONUS


def test_conflicts_employer_linked_organisation_and_declared():
    c = company(1, orgs={10, 11})  # 11: an organisation linked to the company by ownership
    assert m.conflict(c, mentor(9, orgs={10})) == m.EMPLOYED
    assert m.conflict(c, mentor(9, orgs={11})) == m.EMPLOYED
    assert m.conflict(c, mentor(9, declared={11})) == m.DECLARED
    assert m.conflict(c, mentor(9, orgs={12}, declared={13})) is None


# --- the proposal ---------------------------------------------------------------------------------------


def test_capacity_is_respected_and_the_rest_are_told_why():
    companies = [company(i, {FIN: 3}) for i in range(1, 5)]
    proposal = m.propose(companies, [mentor(9, room=2)])
    assert len(proposal.pairs) == 2 and proposal.loads() == {9: 2}
    assert set(proposal.unmatched.values()) == {m.TAKEN}


def test_a_conflicted_pair_is_never_proposed_even_when_it_fits_best():
    c = company(1, {FIN: 3, MKT: 3}, orgs={50})
    best = mentor(9, themes=(FIN, MKT), orgs={50})
    weaker = mentor(8, themes=(FIN,))
    proposal = m.propose([c], [best, weaker])
    assert [(p.company_id, p.mentor_id) for p in proposal.pairs] == [(1, 8)]
    declared = mentor(7, themes=(FIN, MKT), declared={50})
    assert m.propose([c], [declared]).unmatched == {1: m.ALL_CONFLICTED}


def test_the_better_fit_is_preferred():
    c = company(1, {FIN: 1, MKT: 3})
    proposal = m.propose([c], [mentor(8, themes=(FIN,)), mentor(9, themes=(MKT,))])
    assert proposal.mentor_of(1) == 9


def test_the_total_fit_wins_over_a_greedy_first_choice():
    # The best single pair is company 1 with mentor 9 (6), which leaves company 2 with mentor 8
    # (1): 7 in all. The optimum gives mentor 8 to company 1 and mentor 9 to company 2: 4 + 4 = 8.
    c1 = company(1, {FIN: 3, MKT: 2})
    c2 = company(2, {MKT: 3})
    m8 = mentor(8, themes=(FIN,))  # c1: 3 + 1 = 4; c2: 0 + 1 = 1
    m9 = mentor(9, themes=(FIN, MKT))  # c1: 5 + 1 = 6; c2: 3 + 1 = 4
    proposal = m.propose([c1, c2], [m8, m9])
    assert {p.company_id: p.mentor_id for p in proposal.pairs} == {1: 8, 2: 9}
    assert proposal.total == 8


def test_equal_fits_are_spread_over_the_mentors():
    companies = [company(i, {FIN: 2}) for i in range(1, 5)]
    proposal = m.propose(companies, [mentor(8, room=4), mentor(9, room=4)])
    assert proposal.loads() == {8: 2, 9: 2}
    busy = m.propose(companies[:1], [mentor(8, room=4, load=3), mentor(9, room=4, load=0)])
    assert busy.mentor_of(1) == 9  # the mentor with fewer companies already


def test_reasons_for_no_mentor():
    c = company(1, {FIN: 3}, languages=("it",), orgs={50})
    assert m.propose([c], [mentor(9, room=0)]).unmatched == {1: m.NO_ROOM}
    assert m.propose([c], []).unmatched == {1: m.NO_ROOM}
    assert m.propose([c], [mentor(9, orgs={50})]).unmatched == {1: m.ALL_CONFLICTED}
    assert m.propose([c], [mentor(9, languages=("de",))]).unmatched == {1: m.NO_COMMON_LANGUAGE}


def test_the_answer_does_not_depend_on_the_order_of_the_input():
    rng = random.Random(7)
    companies = [company(i, {t: rng.randint(0, 3) for t in (FIN, MKT, HR)}) for i in range(1, 9)]
    mentors = [mentor(j, themes=rng.sample((FIN, MKT, HR), 2), room=rng.randint(0, 3)) for j in range(20, 26)]
    first = m.propose(companies, mentors)
    for _ in range(5):
        rng.shuffle(companies)
        rng.shuffle(mentors)
        again = m.propose(companies, mentors)
        assert again.pairs == first.pairs and again.unmatched == first.unmatched


# --- staff's choices ---------------------------------------------------------------------------------------


def test_staff_choices_refused_for_conflict_capacity_and_unknown_mentors():
    companies = [company(1, orgs={50}), company(2), company(3)]
    mentors = [mentor(8, orgs={50}, room=2), mentor(9, room=1)]
    refused = m.check_choices({1: 8, 2: 9, 3: 9}, companies, mentors)
    assert refused == {1: (m.CONFLICT, 8), 3: (m.OVER_CAPACITY, 9)}
    assert m.check_choices({2: 77}, companies, mentors) == {2: (m.UNKNOWN_MENTOR, 77)}
    assert m.check_choices({1: None, 2: 8, 3: 9}, companies, mentors) == {}


def test_options_leave_out_conflicted_and_full_mentors_best_first():
    c = company(1, {FIN: 3, MKT: 1}, orgs={50})
    options = m.options(c, [mentor(7, themes=(MKT,)), mentor(8, themes=(FIN,)), mentor(9, orgs={50}),
                            mentor(10, room=0)])
    assert [o.mentor_id for o in options] == [8, 7]


# --- properties ---------------------------------------------------------------------------------------------


def _brute_force_best(companies, mentors) -> int:
    """The greatest total fit over every assignment (small instances only)."""
    best = 0
    choices = [None] + [x.id for x in mentors]
    by_id = {x.id: x for x in mentors}
    for combo in itertools.product(choices, repeat=len(companies)):
        used: dict[int, int] = {}
        total, ok = 0, True
        for c, mid in zip(companies, combo, strict=True):
            if mid is None:
                continue
            x = by_id[mid]
            used[mid] = used.get(mid, 0) + 1
            f = m.fit(c, x).total
            if used[mid] > x.capacity_left or m.conflict(c, x) or f == 0:
                ok = False
                break
            total += f
        if ok:
            best = max(best, total)
    return best


languages = st.sets(st.sampled_from(["it", "en", "de"]), min_size=1, max_size=2)


@st.composite
def pools(draw, max_companies=6, max_mentors=4):
    n = draw(st.integers(0, max_companies))
    companies = [Company(i, {t: draw(st.integers(0, 3)) for t in (FIN, MKT, HR)},
                         frozenset(draw(st.sets(st.sampled_from(["ict", "energy", "textile"]), max_size=2))),
                         frozenset(draw(languages)), frozenset({100 + i} | draw(st.sets(st.integers(200, 204),
                                                                                         max_size=1))))
                 for i in range(1, n + 1)]
    k = draw(st.integers(0, max_mentors))
    mentors = [Mentor(j, frozenset(draw(st.sets(st.sampled_from([FIN, MKT, HR]), max_size=3))),
                      frozenset(draw(st.sets(st.sampled_from(["ict", "energy", "textile"]), max_size=2))),
                      frozenset(draw(languages)), draw(st.integers(0, 3)),
                      frozenset(draw(st.sets(st.integers(200, 204), max_size=1))),
                      frozenset(draw(st.sets(st.integers(101, 101 + max_companies), max_size=2))),
                      draw(st.integers(0, 3)))
               for j in range(50, 50 + k)]
    return companies, mentors


@settings(max_examples=150, deadline=None)
@given(pools())
def test_never_over_capacity_never_conflicted_never_a_zero_fit(pool):
    companies, mentors = pool
    proposal = m.propose(companies, mentors)
    by_company = {c.id: c for c in companies}
    by_mentor = {x.id: x for x in mentors}
    for mentor_id, load in proposal.loads().items():
        assert load <= by_mentor[mentor_id].capacity_left
    seen = set()
    for pair in proposal.pairs:
        assert pair.company_id not in seen
        seen.add(pair.company_id)
        assert m.conflict(by_company[pair.company_id], by_mentor[pair.mentor_id]) is None
        assert pair.fit.total > 0
    assert seen | set(proposal.unmatched) == set(by_company) and not seen & set(proposal.unmatched)


@settings(max_examples=80, deadline=None)
@given(pools(max_companies=4, max_mentors=3))
def test_the_proposal_is_optimal(pool):
    companies, mentors = pool
    assert m.propose(companies, mentors).total == _brute_force_best(companies, mentors)


@settings(max_examples=60, deadline=None)
@given(pools(), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_order(pool, rng):
    companies, mentors = pool
    first = m.propose(companies, mentors)
    rng.shuffle(companies)
    rng.shuffle(mentors)
    again = m.propose(companies, mentors)
    assert again.pairs == first.pairs and again.unmatched == first.unmatched
