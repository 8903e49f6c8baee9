"""Evaluation scores: aggregation, divergence, thresholds, ranking and the proposed decision.

Pure functions over plain data (Horizon Europe style by default):

- each criterion is scored from 0 to its maximum (5) in half points by each evaluator;
- per criterion the scores are aggregated by mean or median; when the spread (highest
  minus lowest) reaches the call's divergence (2 points by default) the criterion is
  flagged for moderation, and a consensus score recorded by staff replaces the
  aggregate (the individual scores are kept);
- an application passes when every criterion reaches its threshold (3 by default) and
  the unweighted total reaches the overall threshold (10 of 15 for three criteria by
  default: two thirds of the maximum); weights (Impact 1.5 for innovation actions)
  count for the ranking only, as in Horizon Europe;
- passing applications are ranked by weighted total; ties are broken by the criteria
  in the call's priority order (higher final score first), then by the earlier
  submission, then by the application number, so the order never depends on the
  order of the input;
- the first N (places) are proposed for selection, the other passing ones form the
  reserve list in rank order, the rest are rejected with their scores.

Values are `Decimal` and kept exact; rounding happens only for display.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

HALF = Decimal("0.5")
TWO_THIRDS = Decimal(2) / Decimal(3)


@dataclass(frozen=True)
class CriterionRule:
    id: int
    weight: Decimal = Decimal(1)
    max_score: Decimal = Decimal(5)
    threshold: Decimal | None = Decimal(3)
    priority: int = 0  # lower comes first when breaking ties


@dataclass(frozen=True)
class CallRules:
    criteria: tuple[CriterionRule, ...]
    aggregation: str = "mean"  # or "median"
    divergence: Decimal = Decimal(2)
    overall_threshold: Decimal | None = None  # None: two thirds of the maximum total
    evaluators_required: int = 3

    @cached_property
    def max_total(self) -> Decimal:
        return sum((c.max_score for c in self.criteria), Decimal(0))

    @cached_property
    def effective_overall_threshold(self) -> Decimal:
        if self.overall_threshold is not None:
            return self.overall_threshold
        # Two thirds of the maximum, to the nearest half point (10 of 15, 16.5 of 25).
        return (self.max_total * TWO_THIRDS * 2).to_integral_value(rounding=ROUND_HALF_UP) / 2

    @cached_property
    def _ordered(self) -> tuple[CriterionRule, ...]:
        return tuple(sorted(self.criteria, key=lambda c: (c.priority, c.id)))

    def ordered(self) -> tuple[CriterionRule, ...]:
        return self._ordered


@dataclass(frozen=True)
class ApplicationScores:
    """What the evaluators submitted for one application (draft scores are not included)."""

    application_id: int
    submitted_at: datetime
    # criterion id -> the submitted scores, one per evaluator
    scores: Mapping[int, Sequence[Decimal]]
    # criterion id -> consensus recorded by staff
    consensus: Mapping[int, Decimal] = field(default_factory=dict)
    evaluations: int = 0  # how many evaluators submitted


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    scores: tuple[Decimal, ...]
    aggregate: Decimal | None
    spread: Decimal
    divergent: bool
    consensus: Decimal | None
    final: Decimal | None
    passes: bool | None


@dataclass(frozen=True)
class ApplicationResult:
    application_id: int
    submitted_at: datetime
    criteria: tuple[CriterionResult, ...]
    total: Decimal | None  # unweighted, against the overall threshold
    weighted_total: Decimal | None  # for the ranking
    complete: bool  # every required evaluation submitted
    needs_moderation: bool  # a divergent criterion without consensus
    passes: bool  # every threshold met (only meaningful when complete)
    failed: tuple[str, ...]  # why it does not pass: "criterion:<id>" or "overall"

    def final(self, criterion_id: int) -> Decimal | None:
        return next((c.final for c in self.criteria if c.criterion_id == criterion_id), None)

    @property
    def finals(self) -> tuple[Decimal, ...]:
        """The final score of each criterion, in the call's priority order (as evaluated)."""
        return tuple(c.final if c.final is not None else Decimal(0) for c in self.criteria)


def valid_score(value: Decimal, max_score: Decimal = Decimal(5)) -> bool:
    """0 to the maximum, in half points."""
    return Decimal(0) <= value <= max_score and (value / HALF) == (value / HALF).to_integral_value()


def aggregate(values: Sequence[Decimal], how: str = "mean") -> Decimal | None:
    if not values:
        return None
    if how == "median":
        return Decimal(statistics.median(sorted(values)))
    if how != "mean":
        raise ValueError(f"unknown aggregation {how!r}")
    return sum(values, Decimal(0)) / Decimal(len(values))


def spread(values: Sequence[Decimal]) -> Decimal:
    return (max(values) - min(values)) if values else Decimal(0)


def evaluate(app: ApplicationScores, rules: CallRules) -> ApplicationResult:
    results = []
    failed = []
    for rule in rules.ordered():
        values = tuple(app.scores.get(rule.id, ()))
        agg = aggregate(values, rules.aggregation)
        gap = spread(values)
        divergent = len(values) > 1 and gap >= rules.divergence
        consensus = app.consensus.get(rule.id)
        final = consensus if consensus is not None else agg
        passes = None if final is None else (rule.threshold is None or final >= rule.threshold)
        if passes is False:
            failed.append(f"criterion:{rule.id}")
        results.append(CriterionResult(rule.id, values, agg, gap, divergent, consensus, final, passes))

    complete = app.evaluations >= rules.evaluators_required and all(r.final is not None for r in results)
    total = weighted = None
    if all(r.final is not None for r in results) and results:
        total = sum((r.final for r in results), Decimal(0))
        weighted = sum((r.final * rule.weight for r, rule in zip(results, rules.ordered(), strict=True)),
                       Decimal(0))
        if total < rules.effective_overall_threshold:
            failed.append("overall")
    needs_moderation = any(r.divergent and r.consensus is None for r in results)
    passes = complete and total is not None and not failed
    return ApplicationResult(app.application_id, app.submitted_at, tuple(results), total, weighted,
                             complete, needs_moderation, passes, tuple(failed))


def sort_key(result: ApplicationResult, rules: CallRules):
    """Best first: weighted total, then each criterion by priority, then earlier submission, then id."""
    # `criteria` are already in the call's priority order (evaluate() builds them so).
    tie_breaks = tuple(-f for f in result.finals)
    return (-(result.weighted_total or Decimal(0)), *tie_breaks, result.submitted_at, result.application_id)


@dataclass(frozen=True)
class Ranked:
    result: ApplicationResult
    rank: int  # 1-based among passing applications; 0 for those that do not pass
    outcome: str  # "selected", "reserve" or "rejected"
    reserve_position: int | None = None


@dataclass(frozen=True)
class Proposal:
    ranked: tuple[Ranked, ...]
    incomplete: tuple[int, ...]  # application ids still missing evaluations
    to_moderate: tuple[int, ...]  # application ids with a divergent criterion and no consensus

    @property
    def ready(self) -> bool:
        """A decision can be confirmed only when every evaluation is in and every divergence moderated."""
        return not self.incomplete and not self.to_moderate

    def by_outcome(self, outcome: str) -> list[Ranked]:
        return [r for r in self.ranked if r.outcome == outcome]


def propose(applications: Sequence[ApplicationScores], rules: CallRules, places: int) -> Proposal:
    """Rank every application and propose the decision: selected, reserve list, rejected."""
    results = [evaluate(a, rules) for a in applications]
    passing = sorted((r for r in results if r.passes), key=lambda r: sort_key(r, rules))
    failing = sorted((r for r in results if not r.passes), key=lambda r: sort_key(r, rules))
    ranked: list[Ranked] = []
    for i, result in enumerate(passing, start=1):
        if i <= places:
            ranked.append(Ranked(result, i, "selected"))
        else:
            ranked.append(Ranked(result, i, "reserve", reserve_position=i - places))
    ranked.extend(Ranked(result, 0, "rejected") for result in failing)
    return Proposal(
        tuple(ranked),
        incomplete=tuple(sorted(r.application_id for r in results if not r.complete)),
        to_moderate=tuple(sorted(r.application_id for r in results if r.needs_moderation)),
    )


def round_score(value: Decimal | None, places: str = "0.01") -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)
