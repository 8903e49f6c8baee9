"""Which mentor for which company of a cohort: the fit between a company's needs and a mentor's
expertise, the conflict-of-interest rule, the proposal of pairs, and the check of pairs chosen by
staff. Pure functions over the dataclasses below (no database, no request).

- **Fit** of a mentor for a company: the sum, over the themes the mentor covers, of the company's
  need for it (0 none to 3 high), plus `S3_BONUS` when they share an S3 domain and
  `LANGUAGE_BONUS` for a shared language; zero when they share no language at all (a mentor
  the company cannot talk to is no fit, however expert).
- **Conflict of interest** (`conflict()`): the mentor works for the company or for an
  organisation linked to it by ownership (the caller passes the organisations of the single
  undertaking), or declared a conflict with one of them. A conflicted pair is never proposed
  and never accepted from staff.
- **Proposal** (`propose()`): one mentor at most per company, each mentor within the capacity
  they have left, maximising the total fit; among the answers of equal fit, the one that spreads
  the companies most evenly over the mentors (counting those they mentor already). It is an
  exact assignment, solved with the Hungarian algorithm (Kuhn-Munkres with potentials, O(n^2 m))
  over integer costs: each mentor is expanded into one column per place left (the k-th place
  costing a little more than the (k-1)-th, which is what spreads the load), and each company gets
  a "no mentor" column of its own, so leaving a company without a mentor is always possible and
  never better than a pair with a positive fit. Why not a MIP solver: the problem is a bipartite
  assignment with at most a few hundred rows and columns, which this compact algorithm solves
  exactly in milliseconds, with no solver start-up and no floating-point tolerance; `highspy`
  would give the same optimum. The scales of the costs make the fit always dominate the spread.
  The answer depends on the ids only, never on the order of the input (both sides are sorted by
  id before solving). Each company left without a mentor gets the reason.
- **Staff's choice** (`check_choices()`): the pairs staff pick are refused when the mentor is
  unknown or inactive, conflicted, or would go beyond their capacity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

NEED_LEVELS = (0, 1, 2, 3)  # none, low, medium, high
S3_BONUS = 1
LANGUAGE_BONUS = 1

# Why a mentor may not mentor a company.
EMPLOYED = "employed"  # works for the company or for an organisation linked to it
DECLARED = "declared"  # declared a conflict of interest with the company or a linked organisation
CONFLICTS = (EMPLOYED, DECLARED)

# Why a company got no mentor in the proposal.
NO_ROOM = "no_room"  # no mentor has a place left
ALL_CONFLICTED = "all_conflicted"  # every mentor with a place left has a conflict of interest
NO_COMMON_LANGUAGE = "no_common_language"  # none of the others shares a language with the company
TAKEN = "taken"  # suitable mentors exist, but their places went to companies they fit better
UNMATCHED_REASONS = (NO_ROOM, ALL_CONFLICTED, NO_COMMON_LANGUAGE, TAKEN)

# Why a pair chosen by staff is refused.
UNKNOWN_MENTOR = "unknown_mentor"
CONFLICT = "conflict"
OVER_CAPACITY = "over_capacity"


@dataclass(frozen=True)
class Company:
    """A member of the cohort as matching sees it."""

    id: int
    needs: Mapping[int, int] = field(default_factory=dict)  # theme id -> level 0..3
    s3_domains: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    organisation_ids: frozenset[int] = frozenset()  # its organisation and those linked to it


@dataclass(frozen=True)
class Mentor:
    id: int
    themes: frozenset[int] = frozenset()
    s3_domains: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    capacity_left: int = 0  # companies they may still take
    organisation_ids: frozenset[int] = frozenset()  # their employer (and organisations they belong to)
    declared: frozenset[int] = frozenset()  # organisations they declared a conflict of interest with
    load: int = 0  # companies they mentor already (to spread the new ones)


@dataclass(frozen=True)
class Fit:
    total: int
    themes: tuple[tuple[int, int], ...] = ()  # (theme id, need level) the mentor covers, level > 0
    s3_domains: tuple[str, ...] = ()  # shared S3 domains
    languages: tuple[str, ...] = ()  # shared languages

    @property
    def s3_bonus(self) -> int:
        return S3_BONUS if self.s3_domains and self.languages else 0

    @property
    def language_bonus(self) -> int:
        return LANGUAGE_BONUS if self.languages else 0


def fit(company: Company, mentor: Mentor) -> Fit:
    languages = tuple(sorted(company.languages & mentor.languages))
    themes = tuple(sorted((theme, level) for theme, level in company.needs.items()
                          if level > 0 and theme in mentor.themes))
    domains = tuple(sorted(company.s3_domains & mentor.s3_domains))
    if not languages:
        return Fit(0, themes, domains, ())
    total = sum(level for _theme, level in themes) + (S3_BONUS if domains else 0) + LANGUAGE_BONUS
    return Fit(total, themes, domains, languages)


def conflict(company: Company, mentor: Mentor) -> str | None:
    """Why this mentor may not mentor this company (EMPLOYED or DECLARED), or None."""
    if company.organisation_ids & mentor.organisation_ids:
        return EMPLOYED
    if company.organisation_ids & mentor.declared:
        return DECLARED
    return None


@dataclass(frozen=True)
class Pair:
    company_id: int
    mentor_id: int
    fit: Fit


@dataclass
class Proposal:
    pairs: list[Pair]
    unmatched: dict[int, str]  # company id -> one of UNMATCHED_REASONS

    @property
    def total(self) -> int:
        return sum(p.fit.total for p in self.pairs)

    def mentor_of(self, company_id: int) -> int | None:
        return next((p.mentor_id for p in self.pairs if p.company_id == company_id), None)

    def loads(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for p in self.pairs:
            counts[p.mentor_id] += 1
        return dict(counts)


def _hungarian(cost: list[list[int]]) -> list[int]:
    """The column of each row in an assignment of least total cost (rows <= columns, integers)."""
    n, m = len(cost), len(cost[0])
    inf = float("inf")
    u, v = [0] * (n + 1), [0] * (m + 1)
    owner, way = [0] * (m + 1), [0] * (m + 1)  # owner[j]: the row (1-based) in column j
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = owner[j0], inf, 0
            row = cost[i0 - 1]
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = row[j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    column = [-1] * n
    for j in range(1, m + 1):
        if owner[j]:
            column[owner[j] - 1] = j - 1
    return column


def _unmatched_reason(company: Company, mentors: Iterable[Mentor]) -> str:
    with_room = [m for m in mentors if m.capacity_left > 0]
    if not with_room:
        return NO_ROOM
    free = [m for m in with_room if conflict(company, m) is None]
    if not free:
        return ALL_CONFLICTED
    if not any(fit(company, m).total > 0 for m in free):
        return NO_COMMON_LANGUAGE
    return TAKEN


def propose(companies: Iterable[Company], mentors: Iterable[Mentor]) -> Proposal:
    """Mentor-company pairs of the greatest total fit within the mentors' capacity (see above)."""
    rows = sorted(companies, key=lambda c: c.id)
    pool = sorted((m for m in mentors), key=lambda m: m.id)
    if not rows:
        return Proposal([], {})
    fits: dict[tuple[int, int], Fit] = {}
    for c in rows:
        for m in pool:
            if m.capacity_left > 0 and conflict(c, m) is None:
                f = fit(c, m)
                if f.total > 0:
                    fits[(c.id, m.id)] = f
    # One column per place a mentor can usefully give: never more than the companies they fit.
    columns: list[tuple[Mentor, int]] = []
    for m in pool:
        useful = sum(1 for c in rows if (c.id, m.id) in fits)
        columns += [(m, k) for k in range(min(m.capacity_left, useful))]
    n = len(rows)
    # The k-th new company of a mentor costs (load + k) spread units; all of them together weigh
    # less than one point of fit, so the spread only decides between answers of equal fit.
    most_spread = sum(m.load + k for m, k in columns) + 1
    cost = []
    for c in rows:
        line = []
        for m, k in columns:
            f = fits.get((c.id, m.id))
            # A pair that may not be made costs more than the company's "no mentor" column.
            line.append(-(f.total * most_spread) + m.load + k if f is not None else 1)
        line += [0] * n  # the "no mentor" columns
        cost.append(line)
    chosen = _hungarian(cost)
    pairs, unmatched = [], {}
    for c, j in zip(rows, chosen, strict=True):
        if j < len(columns) and (c.id, columns[j][0].id) in fits:
            m = columns[j][0]
            pairs.append(Pair(c.id, m.id, fits[(c.id, m.id)]))
        else:
            unmatched[c.id] = _unmatched_reason(c, pool)
    return Proposal(pairs, unmatched)


@dataclass(frozen=True)
class Option:
    """A mentor staff may choose for a company, with the fit."""

    mentor_id: int
    fit: Fit
    capacity_left: int


def options(company: Company, mentors: Iterable[Mentor]) -> list[Option]:
    """The mentors without a conflict and with a place left, best fit first (then by id)."""
    found = [Option(m.id, fit(company, m), m.capacity_left) for m in mentors
             if m.capacity_left > 0 and conflict(company, m) is None]
    return sorted(found, key=lambda o: (-o.fit.total, o.mentor_id))


def check_choices(choices: Mapping[int, int | None], companies: Iterable[Company],
                  mentors: Iterable[Mentor]) -> dict[int, tuple[str, int]]:
    """The refused choices: company id -> (reason, mentor id). A None choice means no mentor.

    When a mentor is chosen for more companies than they have places left, the companies
    beyond the places (by id) are refused.
    """
    by_company = {c.id: c for c in companies}
    by_mentor = {m.id: m for m in mentors}
    refused: dict[int, tuple[str, int]] = {}
    taken: dict[int, int] = defaultdict(int)
    for company_id in sorted(choices):
        mentor_id = choices[company_id]
        if mentor_id is None:
            continue
        mentor, company = by_mentor.get(mentor_id), by_company.get(company_id)
        if mentor is None or company is None:
            refused[company_id] = (UNKNOWN_MENTOR, mentor_id)
        elif conflict(company, mentor) is not None:
            refused[company_id] = (CONFLICT, mentor_id)
        elif taken[mentor_id] >= mentor.capacity_left:
            refused[company_id] = (OVER_CAPACITY, mentor_id)
        else:
            taken[mentor_id] += 1
    return refused
