"""Meeting scheduler: objective against the proved LP bound and the greedy baselines, and time, on three event sizes.

The instances are generated from fixed seeds, as Meet the Buyer events look: uneven availability
(some come all day, some only in the morning, the afternoon or one of the two days, some at
scattered times), per-participant limits (most buyers and many SMEs cap their meetings),
priorities 1..5 skewed towards the low end, and requests drawn with popular buyers asked far
more often than others. Three families (QUALITY.md, "Performance goals"):

- standard: 300 SMEs, 60 buyers, 18 slots, 45 tables, 2,000 requests: the optimum, proved
  (objective equal to the LP bound or to HiGHS's proved optimum), within 5 s;
- large: 1,200 SMEs, 300 buyers, 36 slots over two days, 200 tables, 10,000 requests: at least
  99.9% of the optimum within 30 s;
- tight: 120 SMEs, 60 buyers, 12 slots, 40 tables, 1,500 requests, where tables, buyers'
  availability and SMEs' limits all bind: at least 99.5% within 10 s, never below the best greedy.

For each: `solve` with the family's time limit (median of 3 runs; 1 run for the large one),
the LP-relaxation upper bound and the best proved bound (the MIP's dual bound, never above the
LP bound), and first-come-first-served and priority-first greedy side by side. The ratios are
to the best proved bound, so "99.9%" means at least that much of the true optimum.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsapp.events.scheduling import (
    Problem,
    first_come_first_served,
    parse_problem,
    priority_greedy,
    solve,
)


@dataclass(frozen=True)
class Family:
    name: str
    smes: int
    buyers: int
    days: int
    slots_per_day: int
    tables: int
    requests: int
    seed: int
    time_limit: float
    goal_ratio: float  # of the proved bound; 1.0 means the proved optimum
    runs: int
    sme_limits: tuple[int, int] | None  # (low, high) of max_meetings for SMEs with a limit
    sme_limited: float  # share of SMEs with a limit
    buyer_limits: tuple[int, int]
    buyer_limited: float
    buyer_presence: float  # share of the slots an unevenly available buyer attends, on average


FAMILIES = [
    Family("standard", 300, 60, 1, 18, 45, 2_000, seed=2027, time_limit=5.0, goal_ratio=1.0, runs=3,
           sme_limits=(3, 8), sme_limited=0.6, buyer_limits=(8, 16), buyer_limited=0.7, buyer_presence=0.75),
    Family("large", 1_200, 300, 2, 18, 200, 10_000, seed=2028, time_limit=30.0, goal_ratio=0.999, runs=1,
           sme_limits=(4, 12), sme_limited=0.6, buyer_limits=(10, 24), buyer_limited=0.7, buyer_presence=0.75),
    Family("tight", 120, 60, 1, 12, 40, 1_500, seed=2029, time_limit=10.0, goal_ratio=0.995, runs=3,
           sme_limits=(2, 5), sme_limited=0.9, buyer_limits=(6, 10), buyer_limited=0.6, buyer_presence=0.65),
]


def _availability(rng: random.Random, slot_ids: list[list[str]], presence: float) -> list[str] | None:
    """Uneven: all the time, one half-day or one day, or scattered slots."""
    roll = rng.random()
    every = [s for day in slot_ids for s in day]
    if roll < 0.40:
        return None
    if roll < 0.70:  # a morning or an afternoon, of one or every day
        half = rng.choice([0, 1])
        days = slot_ids if rng.random() < 0.5 or len(slot_ids) == 1 else [rng.choice(slot_ids)]
        return [s for day in days for s in (day[: len(day) // 2] if half == 0 else day[len(day) // 2:])]
    if roll < 0.80 and len(slot_ids) > 1:  # one day only
        return list(rng.choice(slot_ids))
    k = max(1, min(len(every), round(len(every) * rng.uniform(presence - 0.25, presence + 0.15))))
    return sorted(rng.sample(every, k), key=every.index)


def generate(family: Family) -> Problem:
    rng = random.Random(family.seed)
    start = datetime.fromisoformat("2027-03-10T09:00:00+01:00")
    slot_ids: list[list[str]] = []
    slots = []
    for d in range(family.days):
        day = []
        for i in range(family.slots_per_day):
            # Half the slots in the morning from 9:00, half in the afternoon from 14:00, 20 minutes each.
            half, k = divmod(i, family.slots_per_day // 2)
            begins = start + timedelta(days=d, hours=5 * half, minutes=20 * k)
            sid = f"d{d + 1}-{begins:%H%M}"
            day.append(sid)
            slots.append({"id": sid, "start": begins.isoformat(), "end": (begins + timedelta(minutes=20)).isoformat(),
                          "tables": family.tables})
        slot_ids.append(day)
    participants = []
    for i in range(family.smes):
        p = {"id": f"sme-{i + 1}", "side": "sme"}
        available = _availability(rng, slot_ids, 0.6)
        if available is not None:
            p["available"] = available
        if family.sme_limits and rng.random() < family.sme_limited:
            p["max_meetings"] = rng.randint(*family.sme_limits)
        participants.append(p)
    for i in range(family.buyers):
        p = {"id": f"buyer-{i + 1}", "side": "buyer"}
        available = _availability(rng, slot_ids, family.buyer_presence)
        if available is not None:
            p["available"] = available
        if rng.random() < family.buyer_limited:
            p["max_meetings"] = rng.randint(*family.buyer_limits)
        participants.append(p)
    # Popular buyers are asked far more often; some SMEs ask far more than others.
    buyer_weight = [1 / (rank + 1) ** 0.7 for rank in range(family.buyers)]
    rng.shuffle(buyer_weight)
    sme_weight = [rng.uniform(0.3, 2.0) for _ in range(family.smes)]
    pairs: set[tuple[int, int]] = set()
    requests = []
    limit = family.smes * family.buyers
    while len(requests) < min(family.requests, limit):
        s = rng.choices(range(family.smes), sme_weight)[0]
        b = rng.choices(range(family.buyers), buyer_weight)[0]
        if (s, b) in pairs:
            continue
        pairs.add((s, b))
        requests.append({"id": f"r-{len(requests) + 1}", "sme": f"sme-{s + 1}", "buyer": f"buyer-{b + 1}",
                         "priority": rng.choices([1, 2, 3, 4, 5], [30, 25, 20, 15, 10])[0]})
    return parse_problem({"slots": slots, "participants": participants, "requests": requests})


def _ratio(value: int, bound: int | float | None) -> str:
    if not bound:
        return "n/a"
    return f"{100 * value / bound:.2f}%"


def run() -> bool:
    ok = True
    columns = ("family", "objective", "LP bound", "proved", "ratio", "proved in", "total", "goal",
               "FCFS", "ratio", "priority", "ratio", "gaps")
    widths = (8, 9, 9, 7, 8, 9, 7, 16, 6, 7, 8, 7, 5)
    print(" ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(columns, widths, strict=True))))
    notes = []
    for family in FAMILIES:
        problem = generate(family)
        timings, proofs, schedules = [], [], []
        for _ in range(family.runs):
            started = time.perf_counter()
            schedules.append(solve(problem, family.time_limit))
            timings.append(time.perf_counter() - started)
            proofs.append(schedules[-1].details.get("proved_at_seconds", float("inf")))
        seconds, proved_in = statistics.median(timings), statistics.median(proofs)
        schedule = min(schedules, key=lambda s: (s.objective, -(s.upper_bound or 0)))  # claim the worst run
        fcfs = first_come_first_served(problem)
        greedy = priority_greedy(problem)
        bound = schedule.upper_bound
        best_greedy = max(fcfs.objective, greedy.objective, schedule.details.get("greedy_objective", 0))
        if family.goal_ratio >= 1.0:
            met = all(s.optimal for s in schedules) and proved_in <= family.time_limit
            goal = f"optimum, {family.time_limit:.0f} s"
        else:
            met = bound is not None and schedule.objective >= family.goal_ratio * bound
            goal = f">={100 * family.goal_ratio:.1f}%, {family.time_limit:.0f} s"
        met = met and max(timings) <= family.time_limit and schedule.objective >= best_greedy
        ok &= met
        cells = (family.name, schedule.objective,
                 "n/a" if schedule.lp_bound is None else f"{schedule.lp_bound:.1f}",
                 "n/a" if bound is None else bound, _ratio(schedule.objective, bound),
                 "n/a" if proved_in == float("inf") else f"{proved_in:.2f} s", f"{seconds:.2f} s", goal,
                 fcfs.objective, _ratio(fcfs.objective, bound), greedy.objective, _ratio(greedy.objective, bound),
                 schedule.gaps)
        print(" ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
              + ("" if met else "  <- GOAL MISSED"))
        notes.append(f"  {family.name}: {family.smes:,} SMEs, {family.buyers} buyers, {family.days * family.slots_per_day} "
                     f"slots, {family.tables} tables, {len(problem.requests):,} requests -> {len(schedule.meetings):,} "
                     f"meetings; {schedule.method}; runs {', '.join(f'{t:.2f}' for t in timings)} s; "
                     f"objectives {sorted({s.objective for s in schedules})}; our own greedy "
                     f"{schedule.details.get('greedy_objective')}; LP solved at {schedule.details.get('lp_seconds')} s")
    print("\n".join(notes))
    print("  ratios are to the proved bound (the LP bound, or the MIP's when tighter); 'proved in' is when the "
          "objective met it; the rest of 'total' goes to closing gaps")
    return ok
