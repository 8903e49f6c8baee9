"""Ranking: scoring.propose over 5,000 applications, 3 evaluators, 5 criteria (goal under 1 s).

The applications are generated from a fixed seed: scores in half points around a quality
drawn per application, a few divergent criteria settled by a consensus, submission times
spread over a six-week call. The pure rule is timed over several runs (median, min, max)
against QUALITY.md's goal. The same call is then written to a throw-away SQLite database
and the path a page takes is timed too: read the submitted scores with a fixed set of
queries and rank them, with a reference loader written here and with the call cycle's own loader
(`opsapp.calls.decisions.proposal_for`, imported only when the benchmark runs, skipped if absent).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from benchmarks.util import bench_app, count_queries
from opsapp.accounts.models import Organisation, User
from opsapp.calls import scoring
from opsapp.calls.models import (
    Application,
    Assignment,
    Call,
    Consensus,
    Criterion,
    Edition,
    Programme,
    Score,
)
from opsapp.extensions import db

SEED = 2027
APPLICATIONS = 5_000
EVALUATORS = 3
CRITERIA = 5
PLACES = 500
RUNS = 7
GOAL_SECONDS = 1.0
OPENS = datetime(2026, 9, 1, 7, tzinfo=UTC)
WEIGHTS = [Decimal("1"), Decimal("1.5"), Decimal("1"), Decimal("1"), Decimal("0.5")]


def _half(value: float) -> Decimal:
    return Decimal(min(max(round(value * 2), 0), 10)) / 2


def generate(seed: int = SEED, n: int = APPLICATIONS):
    """The call's rules and its applications' submitted scores, as the pure rule takes them."""
    rng = random.Random(seed)
    rules = scoring.CallRules(
        criteria=tuple(scoring.CriterionRule(i, WEIGHTS[i - 1], Decimal(5), Decimal(3), priority=i)
                       for i in range(1, CRITERIA + 1)),
        aggregation="mean", divergence=Decimal(2), overall_threshold=None, evaluators_required=EVALUATORS)
    applications = []
    for app_id in range(1, n + 1):
        quality = rng.gauss(3.4, 0.8)
        scores = {}
        consensus = {}
        for rule in rules.criteria:
            base = quality + rng.choice([-0.5, 0, 0, 0.5])
            values = [_half(base + rng.choice([-0.5, 0, 0, 0.5])) for _ in range(EVALUATORS)]
            if rng.random() < 0.01:  # an outlier two points away, settled by staff
                values[0] = _half(float(values[1]) + (2 if values[1] <= 3 else -2))
                consensus[rule.id] = values[1]
            scores[rule.id] = values
        submitted = OPENS + timedelta(seconds=rng.randint(0, 42 * 24 * 3600))
        applications.append(scoring.ApplicationScores(app_id, submitted, scores, consensus, EVALUATORS))
    return rules, applications


def _time(fn, runs: int) -> tuple[list[float], object]:
    fn()  # warm-up: imports, caches
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return timings, result


def _report(label: str, timings: list[float], goal: float | None = None) -> None:
    line = (f"{label}: median {statistics.median(timings):.3f} s, min {min(timings):.3f} s, "
            f"max {max(timings):.3f} s over {len(timings)} runs")
    if goal is not None:
        line += f" (goal under {goal:.1f} s)"
    print(line)


def _order(proposal: scoring.Proposal) -> list[tuple[int, str, int]]:
    return [(r.result.application_id, r.outcome, r.rank) for r in proposal.ranked]


# --- the database path ---------------------------------------------------------------------


def _write_call(rules: scoring.CallRules, applications: list[scoring.ApplicationScores]) -> int:
    """The generated call as rows (explicit ids, bulk inserts); returns the call id."""
    session = db.session
    session.execute(insert(User), [
        {"id": e, "email": f"evaluator{e}@bench.example", "full_name": f"Evaluator {e}", "password_hash": "x"}
        for e in range(1, EVALUATORS + 1)])
    session.execute(insert(Organisation), [
        {"id": a.application_id, "kind": "sme", "legal_name": f"Bench {a.application_id} S.r.l.",
         "vat_number": f"IT{a.application_id:011d}", "country": "IT"} for a in applications])
    session.execute(insert(Programme), [{"id": 1, "kind": "accelerator", "name_en": "Business Accelerator",
                                         "name_it": "Business Accelerator"}])
    session.execute(insert(Edition), [{"id": 1, "programme_id": 1, "year": 2027}])
    session.execute(insert(Call), [{
        "id": 1, "edition_id": 1, "title": "Bench call", "status": "in_evaluation", "opens_at": OPENS,
        "closes_at": OPENS + timedelta(days=43), "places": PLACES, "evaluators_per_application": EVALUATORS}])
    session.execute(insert(Criterion), [
        {"id": c.id, "call_id": 1, "position": c.priority, "name": f"Criterion {c.id}", "weight": c.weight,
         "max_score": c.max_score, "threshold": c.threshold} for c in rules.criteria])
    session.execute(insert(Application), [
        {"id": a.application_id, "call_id": 1, "organisation_id": a.application_id, "status": "submitted",
         "live_key": a.application_id, "submitted_at": a.submitted_at, "receipt_number": f"B-{a.application_id}"}
        for a in applications])
    assignments, scores, consensus = [], [], []
    for a in applications:
        for e in range(EVALUATORS):
            assignment_id = (a.application_id - 1) * EVALUATORS + e + 1
            assignments.append({"id": assignment_id, "application_id": a.application_id, "evaluator_id": e + 1,
                                "status": "submitted", "submitted_at": a.submitted_at})
            scores += [{"assignment_id": assignment_id, "criterion_id": c, "value": values[e], "comment": "ok"}
                       for c, values in a.scores.items()]
        consensus += [{"application_id": a.application_id, "criterion_id": c, "value": v, "justification": "agreed"}
                      for c, v in a.consensus.items()]
    session.execute(insert(Assignment), assignments)
    session.execute(insert(Score), scores)
    if consensus:
        session.execute(insert(Consensus), consensus)
    session.commit()
    return 1


def _load_and_rank(call_id: int) -> scoring.Proposal:
    """A reference loader: three queries whatever the number of applications, then the pure rule."""
    session = db.session
    call = session.get(Call, call_id)
    criteria = session.scalars(select(Criterion).where(Criterion.call_id == call_id)).all()
    rules = scoring.CallRules(
        criteria=tuple(scoring.CriterionRule(c.id, c.weight, c.max_score, c.threshold, c.position) for c in criteria),
        aggregation=call.aggregation, divergence=call.divergence, overall_threshold=call.overall_threshold,
        evaluators_required=call.evaluators_per_application)
    submitted_at = dict(session.execute(
        select(Application.id, Application.submitted_at)
        .where(Application.call_id == call_id, Application.status == "submitted")).all())
    scores: dict[int, dict[int, list[Decimal]]] = {a: {} for a in submitted_at}
    evaluations: dict[int, set[int]] = {a: set() for a in submitted_at}
    rows = session.execute(
        select(Assignment.application_id, Assignment.id, Score.criterion_id, Score.value)
        .join(Score, Score.assignment_id == Assignment.id)
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call_id, Application.status == "submitted",
               Assignment.status == "submitted"))
    for application_id, assignment_id, criterion_id, value in rows:
        scores[application_id].setdefault(criterion_id, []).append(value)
        evaluations[application_id].add(assignment_id)
    consensus: dict[int, dict[int, Decimal]] = {}
    for application_id, criterion_id, value in session.execute(
            select(Consensus.application_id, Consensus.criterion_id, Consensus.value)
            .join(Application, Application.id == Consensus.application_id)
            .where(Application.call_id == call_id)):
        consensus.setdefault(application_id, {})[criterion_id] = value
    applications = [scoring.ApplicationScores(a, submitted_at[a], scores[a], consensus.get(a, {}), len(evaluations[a]))
                    for a in submitted_at]
    return scoring.propose(applications, rules, call.places)


def _service_loader():
    """The call cycle's loader when it exists; imported only here, so this file runs without it."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("opsapp.calls.decisions") is None:
        return None
    try:
        return getattr(importlib.import_module("opsapp.calls.decisions"), "proposal_for", None)
    except ImportError:
        return None


def _expire(fn):
    """Each run reads the database afresh, as a request would."""
    def wrapped():
        db.session.expire_all()
        return fn()
    return wrapped


def run() -> bool:
    rules, applications = generate()
    print(f"{APPLICATIONS:,} applications, {EVALUATORS} evaluators, {CRITERIA} criteria, {PLACES} places "
          f"(seed {SEED}; {sum(bool(a.consensus) for a in applications)} with a consensus)")
    timings, proposal = _time(lambda: scoring.propose(applications, rules, PLACES), RUNS)
    _report("scoring.propose", timings, GOAL_SECONDS)
    counts = {o: len(proposal.by_outcome(o)) for o in ("selected", "reserve", "rejected")}
    print(f"  proposal: {counts['selected']} selected, {counts['reserve']} on the reserve list, "
          f"{counts['rejected']} rejected; ready: {proposal.ready}")
    shuffled = list(applications)
    random.Random(SEED + 1).shuffle(shuffled)
    same = _order(scoring.propose(shuffled, rules, PLACES)) == _order(proposal)
    print(f"  same ranking from shuffled input: {'yes' if same else 'NO'}")

    app = bench_app()
    with app.app_context():
        started = time.perf_counter()
        call_id = _write_call(rules, applications)
        print(f"database path (SQLite, {APPLICATIONS * EVALUATORS * CRITERIA:,} scores written in "
              f"{time.perf_counter() - started:.1f} s):")
        db.session.expire_all()
        with count_queries(db.engine) as queries:
            loaded = _load_and_rank(call_id)
        db_timings, loaded = _time(_expire(lambda: _load_and_rank(call_id)), max(RUNS - 2, 3))
        _report("  reference loader (queries + scoring.propose)", db_timings)
        print(f"  {queries['n']} SQL statements per load (none per application); same proposal as in memory: "
              f"{'yes' if _order(loaded) == _order(proposal) else 'NO'}")
        service = _service_loader()
        if service is None:
            print("  the call cycle's own loader (opsapp.calls.decisions.proposal_for): not available, skipped")
        else:
            db.session.expire_all()
            with count_queries(db.engine) as queries:
                _, _, theirs = service(db.session.get(Call, call_id))
            service_timings, theirs = _time(_expire(lambda: service(db.session.get(Call, call_id))[2]),
                                            max(RUNS - 2, 3))
            _report("  decisions.proposal_for (the ranking page's loader)", service_timings)
            print(f"  {queries['n']} SQL statements per load; same proposal as in memory: "
                  f"{'yes' if _order(theirs) == _order(proposal) else 'NO'}")
        db.session.remove()
    return statistics.median(timings) < GOAL_SECONDS and same
