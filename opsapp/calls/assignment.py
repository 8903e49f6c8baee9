"""Who evaluates what: the conflict-of-interest rule and the proposed assignment of evaluators.

Pure functions over plain data (no database, no request), so that the rule and the
optimiser can be tested on their own and reused by the cohorts' mentor matching.

- `conflict_reason()` says why an evaluator must never evaluate an application: they
  belong to the applicant organisation (`member`), or to an organisation linked to it
  by ownership, one holding the other as recorded in either side's related enterprises
  (`linked`), or they declared a conflict on that application before (`declared`).
- `propose()` gives each application the required number of distinct evaluators,
  counting those already assigned, never a conflicted one nor one already on it, and
  within each evaluator's capacity. Among the assignments that cover the most, it
  takes the most balanced (the highest load as low as possible, then as few evaluators
  at that load, and so on down), and among those the one whose evaluators best match
  the applications' S3 domains (and language). It is solved exactly as a minimum-cost
  flow whose evaluator costs grow so steeply with the load that balance always wins
  over expertise; applications that cannot be covered are reported with the reason.
  The answer depends on the ids only, never on the order of the input.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# --- conflict of interest ----------------------------------------------------------------

MEMBER = "member"  # a member of the applicant organisation
LINKED = "linked"  # a member of an organisation linked to the applicant by ownership
DECLARED = "declared"  # declared a conflict on this application before
CONFLICT_REASONS = (MEMBER, LINKED, DECLARED)

_SEPARATORS = re.compile(r"[\s.\-/]")


def vat_keys(vat: str | None) -> frozenset[str]:
    """The forms under which a VAT number can be recorded: compact, and without its country prefix.

    An organisation's own number is stored with its prefix ("IT00743110157"), a related
    enterprise's as typed ("00743110157"): both must meet.
    """
    text = _SEPARATORS.sub("", vat or "").upper()
    if not text:
        return frozenset()
    keys = {text}
    if len(text) > 4 and text[:2].isalpha() and any(c.isdigit() for c in text[2:]):
        keys.add(text[2:])
    return frozenset(keys)


def _keys(vats: Iterable[str | None]) -> frozenset[str]:
    return frozenset(k for v in vats for k in vat_keys(v))


@dataclass(frozen=True)
class ApplicantTies:
    """What the conflict rule needs of the applicant organisation."""

    organisation_id: int
    vat_number: str | None = None
    linked_vats: frozenset[str] = frozenset()  # VAT numbers of its related enterprises


@dataclass(frozen=True)
class EvaluatorTies:
    """What the conflict rule needs of an evaluator: the organisations they belong to."""

    organisation_ids: frozenset[int] = frozenset()
    vat_numbers: frozenset[str] = frozenset()  # of those organisations
    linked_vats: frozenset[str] = frozenset()  # of those organisations' related enterprises
    declared: frozenset[int] = frozenset()  # application ids they declared a conflict on


def conflict_reason(application_id: int, applicant: ApplicantTies, evaluator: EvaluatorTies) -> str | None:
    """Why this evaluator may not evaluate this application (a code of CONFLICT_REASONS), or None."""
    if applicant.organisation_id in evaluator.organisation_ids:
        return MEMBER
    applicant_vat = vat_keys(applicant.vat_number)
    if (_keys(applicant.linked_vats) & _keys(evaluator.vat_numbers)
            or applicant_vat & _keys(evaluator.linked_vats)):
        return LINKED
    if application_id in evaluator.declared:
        return DECLARED
    return None


# --- the proposal ---------------------------------------------------------------------

# Costs of a pair beside the load: an evaluator without the application's S3 domain costs
# more than one who does not list its language (the language is only a hint today).
EXPERTISE_MISMATCH = 2
LANGUAGE_MISMATCH = 1
_WORST_PAIR = EXPERTISE_MISMATCH + LANGUAGE_MISMATCH

# Why an application stays short of evaluators.
TOO_FEW_EVALUATORS = "too_few_evaluators"  # not enough evaluators could take it at all
NO_CAPACITY = "no_capacity"  # enough could, but their capacity went to other applications

# Why a pair chosen by hand is refused.
UNKNOWN_EVALUATOR = "unknown_evaluator"  # not in the pool, or not active
NOT_TO_COVER = "not_to_cover"  # the application is not one to assign
CONFLICT = "conflict"  # see the pair's conflict reason
ALREADY_ASSIGNED = "already_assigned"  # the evaluator is, or was, on this application
APPLICATION_FULL = "application_full"  # it has the required number already
NO_ROOM = "no_room"  # the evaluator reached their maximum


@dataclass(frozen=True)
class ApplicationToCover:
    id: int
    s3_codes: frozenset[str] = frozenset()
    language: str | None = None


@dataclass(frozen=True)
class EvaluatorAvailable:
    id: int
    s3_codes: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    capacity: int | None = None  # the most assignments they take in the call; None: no limit
    load: int = 0  # active assignments they have in the call already


@dataclass(frozen=True)
class ExistingAssignment:
    application_id: int
    evaluator_id: int
    active: bool  # assigned, accepted or submitted; a conflict or a removal is not


@dataclass(frozen=True)
class ProposedPair:
    application_id: int
    evaluator_id: int
    matches_expertise: bool
    matches_language: bool
    pinned: bool = False  # chosen by staff, not by the optimiser


@dataclass(frozen=True)
class Shortfall:
    application_id: int
    missing: int  # evaluators still needed after the proposal
    reason: str  # TOO_FEW_EVALUATORS or NO_CAPACITY
    candidates: int  # evaluators who could take it (no conflict, not on it, room left)
    conflicted: int  # evaluators excluded by a conflict of interest


@dataclass(frozen=True)
class RefusedPair:
    application_id: int
    evaluator_id: int
    reason: str
    conflict: str | None = None  # the conflict reason when reason == CONFLICT


@dataclass(frozen=True)
class AssignmentProposal:
    pairs: tuple[ProposedPair, ...]
    shortfalls: tuple[Shortfall, ...]
    refused: tuple[RefusedPair, ...]
    loads: Mapping[int, int]  # evaluator id -> load once the proposal is confirmed
    needed: Mapping[int, int] = field(default_factory=dict)  # application id -> evaluators it lacked

    @property
    def complete(self) -> bool:
        return not self.shortfalls

    def for_application(self, application_id: int) -> list[ProposedPair]:
        return [p for p in self.pairs if p.application_id == application_id]

    @property
    def spread(self) -> int:
        """Highest minus lowest load among the evaluators given something by the proposal."""
        touched = {p.evaluator_id for p in self.pairs}
        values = [self.loads[e] for e in touched]
        return (max(values) - min(values)) if values else 0


def _matches(app: ApplicationToCover, ev: EvaluatorAvailable) -> tuple[bool, bool]:
    expertise = not app.s3_codes or bool(app.s3_codes & ev.s3_codes)
    language = app.language is None or app.language in ev.languages
    return expertise, language


def _pair_cost(app: ApplicationToCover, ev: EvaluatorAvailable) -> int:
    expertise, language = _matches(app, ev)
    return (0 if expertise else EXPERTISE_MISMATCH) + (0 if language else LANGUAGE_MISMATCH)


def propose(
    applications: Iterable[ApplicationToCover],
    evaluators: Iterable[EvaluatorAvailable],
    required: int,
    *,
    conflicts: Mapping[tuple[int, int], str] | None = None,
    existing: Iterable[ExistingAssignment] = (),
    pinned: Iterable[tuple[int, int]] = (),
    excluded: Iterable[tuple[int, int]] = (),
) -> AssignmentProposal:
    """Propose evaluators for the applications (see the module's description).

    `conflicts` maps (application id, evaluator id) to a conflict reason; `existing` lists
    every assignment already recorded (a pair with any assignment is never proposed
    again); `pinned` are pairs staff chose by hand, kept when valid and otherwise listed
    in `refused`; `excluded` are pairs staff took out of an earlier proposal.
    """
    apps = {a.id: a for a in sorted(applications, key=lambda a: a.id)}
    evs = {e.id: e for e in sorted(evaluators, key=lambda e: e.id)}
    conflicts = dict(conflicts or {})
    existing = list(existing)
    taken = {(x.application_id, x.evaluator_id) for x in existing}
    active = Counter(x.application_id for x in existing if x.active)
    pins = set(pinned)
    excluded_pairs = set(excluded) - pins

    load = {e.id: e.load for e in evs.values()}
    room: dict[int, int | None] = {
        e.id: None if e.capacity is None else max(0, e.capacity - e.load) for e in evs.values()}
    need = {a: max(0, required - active[a]) for a in apps}

    kept: list[ProposedPair] = []
    refused: list[RefusedPair] = []
    for a, e in sorted(pins):
        reason = None
        if a not in apps:
            reason = NOT_TO_COVER
        elif e not in evs:
            reason = UNKNOWN_EVALUATOR
        elif (a, e) in conflicts:
            reason = CONFLICT
        elif (a, e) in taken:
            reason = ALREADY_ASSIGNED
        elif need[a] <= 0:
            reason = APPLICATION_FULL
        elif room[e] is not None and room[e] <= 0:
            reason = NO_ROOM
        if reason:
            refused.append(RefusedPair(a, e, reason, conflicts.get((a, e)) if reason == CONFLICT else None))
            continue
        expertise, language = _matches(apps[a], evs[e])
        kept.append(ProposedPair(a, e, expertise, language, pinned=True))
        taken.add((a, e))
        need[a] -= 1
        load[e] += 1
        if room[e] is not None:
            room[e] -= 1

    def allowed(a: int, e: int) -> bool:
        return (a, e) not in conflicts and (a, e) not in taken and (a, e) not in excluded_pairs

    candidates = {a: [e for e in evs if allowed(a, e) and room[e] != 0] for a in apps if need[a] > 0}
    chosen = _solve(apps, evs, need, candidates, load, room)
    for a, e in chosen:
        expertise, language = _matches(apps[a], evs[e])
        kept.append(ProposedPair(a, e, expertise, language))
        load[e] += 1

    got = Counter(p.application_id for p in kept if not p.pinned)
    shortfalls = []
    for a, wanted in sorted(need.items()):
        missing = wanted - got[a]
        if missing > 0:
            available = len(candidates.get(a, ()))
            conflicted = sum(1 for e in evs if (a, e) in conflicts)
            shortfalls.append(Shortfall(a, missing, TOO_FEW_EVALUATORS if available < wanted else NO_CAPACITY,
                                        available, conflicted))
    return AssignmentProposal(
        pairs=tuple(sorted(kept, key=lambda p: (p.application_id, p.evaluator_id))),
        shortfalls=tuple(shortfalls),
        refused=tuple(refused),
        loads=dict(load),
        needed={a: max(0, required - active[a]) for a in apps},
    )


# --- the optimiser: minimum-cost flow ---------------------------------------------------
#
# source -> application (capacity: evaluators it needs, cost 0)
# application -> evaluator (capacity 1, cost: expertise and language mismatch)
# evaluator -> sink: one unit edge per extra assignment, the k-th costing BIG * M ** (load + k).
#
# With M larger than the number of units placed, the cost of a load profile reads as a
# number in base M whose digits, from the top, count the evaluators at each load level:
# a lower maximum always costs less, then fewer evaluators at it, and so on, which is the
# lexicographic balance we want. BIG exceeds any total of mismatch costs, so expertise only
# chooses among equally balanced answers. The flow is found by successive shortest paths
# (Dijkstra on reduced costs), pushing every shortest path of a round along the admissible
# edges before searching again; Python integers keep the large costs exact.


class _Graph:
    __slots__ = ("to", "cap", "cost", "adj")

    def __init__(self, nodes: int):
        self.to: list[int] = []
        self.cap: list[int] = []
        self.cost: list[int] = []
        self.adj: list[list[int]] = [[] for _ in range(nodes)]

    def add(self, u: int, v: int, cap: int, cost: int) -> int:
        """An edge u -> v and its residual twin; returns the forward edge's index (its twin is index ^ 1)."""
        index = len(self.to)
        self.to += [v, u]
        self.cap += [cap, 0]
        self.cost += [cost, -cost]
        self.adj[u].append(index)
        self.adj[v].append(index + 1)
        return index


def _solve(apps, evs, need, candidates, load, room) -> list[tuple[int, int]]:
    app_ids = [a for a in apps if need[a] > 0 and candidates.get(a)]
    if not app_ids:
        return []
    ev_ids = sorted({e for a in app_ids for e in candidates[a]})
    units = sum(need[a] for a in app_ids)
    base = units + 1
    big = _WORST_PAIR * units + 1

    source, sink = 0, 1 + len(app_ids) + len(ev_ids)
    app_node = {a: 1 + i for i, a in enumerate(app_ids)}
    ev_node = {e: 1 + len(app_ids) + i for i, e in enumerate(ev_ids)}
    graph = _Graph(sink + 1)
    for a in app_ids:
        graph.add(source, app_node[a], need[a], 0)
    pair_edges = []
    per_evaluator = Counter()
    for a in app_ids:
        for e in candidates[a]:
            pair_edges.append((graph.add(app_node[a], ev_node[e], 1, _pair_cost(apps[a], evs[e])), a, e))
            per_evaluator[e] += 1
    for e in ev_ids:
        # An evaluator never takes more than the applications open to them, nor more than their room.
        units_e = per_evaluator[e] if room[e] is None else min(room[e], per_evaluator[e])
        for k in range(1, units_e + 1):
            graph.add(ev_node[e], sink, 1, big * base ** (load[e] + k))

    _min_cost_flow(graph, source, sink, units)
    return sorted((a, e) for index, a, e in pair_edges if graph.cap[index] == 0)


def _min_cost_flow(graph: _Graph, source: int, sink: int, wanted: int) -> int:
    n = len(graph.adj)
    potential = [0] * n  # every initial cost is non-negative
    flow = 0
    while flow < wanted:
        dist: list[int | None] = [None] * n
        dist[source] = 0
        heap = [(0, source)]
        while heap:
            d, u = heapq.heappop(heap)
            if d != dist[u]:
                continue
            for index in graph.adj[u]:
                if graph.cap[index] <= 0:
                    continue
                v = graph.to[index]
                nd = d + graph.cost[index] + potential[u] - potential[v]
                if dist[v] is None or nd < dist[v]:
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
        if dist[sink] is None:
            break
        for v in range(n):
            if dist[v] is not None:
                potential[v] += dist[v]
        flow += _push_admissible(graph, source, sink, potential, wanted - flow)
    return flow


def _push_admissible(graph: _Graph, source: int, sink: int, potential: list[int], limit: int) -> int:
    """Augment along shortest paths only (edges of zero reduced cost), Dinic style, up to `limit` units."""
    pushed = 0
    n = len(graph.adj)
    while pushed < limit:
        # Levels over admissible edges keep the search acyclic (zero-cost cycles may exist).
        level = [-1] * n
        level[source] = 0
        queue = [source]
        for u in queue:
            for index in graph.adj[u]:
                v = graph.to[index]
                if (level[v] < 0 and graph.cap[index] > 0
                        and graph.cost[index] + potential[u] - potential[v] == 0):
                    level[v] = level[u] + 1
                    queue.append(v)
        if level[sink] < 0:
            break
        current = [0] * n
        round_pushed = 0
        while pushed < limit:
            path = _admissible_path(graph, source, sink, potential, level, current)
            if path is None:
                break
            for index in path:
                graph.cap[index] -= 1
                graph.cap[index ^ 1] += 1
            pushed += 1
            round_pushed += 1
        if round_pushed == 0:
            break
    return pushed


def _admissible_path(graph: _Graph, source: int, sink: int, potential, level, current) -> list[int] | None:
    """One path of unit capacity from source to sink along the level graph (iterative DFS, current arcs)."""
    path: list[int] = []
    stack = [source]
    while stack:
        u = stack[-1]
        if u == sink:
            return path
        edges = graph.adj[u]
        advanced = False
        while current[u] < len(edges):
            index = edges[current[u]]
            v = graph.to[index]
            if (graph.cap[index] > 0 and level[v] == level[u] + 1
                    and graph.cost[index] + potential[u] - potential[v] == 0):
                path.append(index)
                stack.append(v)
                advanced = True
                break
            current[u] += 1
        if not advanced:
            stack.pop()
            level[u] = -1  # a dead end for the rest of this round
            if path:
                path.pop()
                current[stack[-1]] += 1
    return None


def group_by_evaluator(pairs: Iterable[ProposedPair]) -> dict[int, list[int]]:
    """Evaluator id -> the application ids proposed to them, sorted."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for p in pairs:
        grouped[p.evaluator_id].append(p.application_id)
    return {e: sorted(apps) for e, apps in sorted(grouped.items())}
