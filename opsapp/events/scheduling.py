"""The meeting scheduler of Meet the Buyer events: accepted requests placed in slots and at tables.

What it is for. After the request deadline, staff ask for the best schedule of the accepted
meeting requests of an event; the web application calls `solve(problem, time_limit)` with
plain dataclasses, and `python -m opsapp.events.scheduling PROBLEM.json [--time-limit S]`
does the same from a JSON file (the program and its JSON are fixed in CONTRACTS.md, "The
meeting scheduler as a program"). No database, no Flask: data in, schedule out.

The model. One binary variable x[r,s] for each request r and each slot s that both sides of
r can attend (and in which neither side already has a locked meeting, and the slot has a
table left). Constraints: each request at most once (sum over s of x[r,s] <= 1); each
participant at most one meeting per slot (sum over their requests of x[r,s] <= 1); each slot
at most its tables, less the locked meetings in it; each participant at most `max_meetings`,
less their locked meetings. Locked meetings are constants, kept exactly where they are.
Stage one maximises the sum of priorities of the scheduled requests. Stage two fixes that
sum at its optimum and minimises the participants' idle gaps: a gap is a run of slots a
participant can attend and has no meeting in, between two of their meetings on the same day
(the slots someone cannot attend, and the breaks between slots, are not gaps). Per
participant and day, with y_i the meetings in their i-th attendable slot, continuous
b_i >= y_i - y_(i-1) counts the blocks of consecutive meetings and w <= min(1, sum y_i) says
whether the day has any, so that gaps = sum b_i - w.

Why two stages. Priorities are what buyers and SMEs asked for; fewer gaps is a comfort. A
weighted objective would need a gap penalty small enough never to trade away one unit of
priority, and such tiny coefficients fight the solver's tolerances. Solving lexicographically
keeps both objectives integral and exact: stage two may not lose a single unit of stage
one's optimum, by a row "sum of priorities >= stage one's".

How it is solved. First a fast greedy (priority first, the most constrained request first,
then a repair step that moves a meeting or two aside to make room for a waiting request).
Then the LP relaxation, by the simplex method: its value is an upper bound, so the distance
to the optimum is proved, not guessed, and its vertex is often integral on these models,
which is then the optimum itself. Otherwise the vertex is rounded (its whole meetings kept,
then greedy), HiGHS (`highspy`) solves the MIP restricted to the relaxation's support, which
is small and usually reaches the bound at once, and then the full MIP, each warm-started from
the best schedule so far; a time-limited MIP can end with something worse, and the best of
all is kept. For gaps, a local search moves meetings to other slots along Kempe chains (the
meetings linked to it through shared participants in the two slots swap slots together) or
swaps them with a meeting of a full slot, with seeded shake-and-descend rounds; who meets whom
does not change, so neither does the objective. Stage two's MIP then runs on small models
only (its relaxation is weak: at real sizes it does not beat the local search in the time
there is). Each request left out gets its reason in plain words.

Time. `time_limit` bounds the whole call. The optimum is usually proved in a fraction of it;
what is left goes to gaps. The result is deterministic when every step ends before the limit
(small and mid-sized events); close to the limit, how far the MIP and the local search get
depends on the machine.

How tables are numbered. Tables are 1..tables in every slot. They are assigned after the
solve, slot by slot in time order: locked meetings keep their tables; a buyer keeps the table
of their previous meeting when it is free (buyers stay put, SMEs move), and the others take
the lowest free numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import highspy

SIDES = ("sme", "buyer")
# The gap stage's relaxation is weak and slow to solve: it pays on small models only (up to
# this many x[r,s]); bigger ones get the local search alone.
STAGE_TWO_COLUMNS = 3_000
# On models this big, HiGHS's MIP presolve (which finds nothing to remove here) and its
# feasibility jump heuristic are turned off: both take seconds without looking at the clock
# (measured: 10 s over a 3 s limit at 168,000 columns); the warm start and the LP do their work.
BIG_MODEL_COLUMNS = 50_000


class ProblemError(ValueError):
    """The problem cannot be read or contradicts itself. The message is always one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# --- data in and out -------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    id: str
    start: datetime
    end: datetime
    tables: int


@dataclass(frozen=True)
class Participant:
    id: str
    side: str  # "sme" or "buyer"
    available: frozenset[str] | None = None  # None: every slot
    max_meetings: int | None = None  # None: no limit


@dataclass(frozen=True)
class MeetingRequest:
    id: str
    sme: str
    buyer: str
    priority: int = 1


@dataclass(frozen=True)
class Meeting:
    request: str
    slot: str
    table: int


@dataclass(frozen=True)
class Problem:
    slots: tuple[Slot, ...]
    participants: tuple[Participant, ...]
    requests: tuple[MeetingRequest, ...]
    locked: tuple[Meeting, ...] = ()


@dataclass(frozen=True)
class Unscheduled:
    request: str
    reason: str


@dataclass
class Schedule:
    meetings: list[Meeting]
    unscheduled: list[Unscheduled]
    objective: int
    # Diagnostics, printed only with --stats.
    upper_bound: int | None = None  # proved: no feasible schedule scores more
    lp_bound: float | None = None  # the LP relaxation's value (locked meetings included)
    optimal: bool = False  # objective == upper_bound
    gaps: int = 0
    method: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, stats: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "meetings": [{"request": m.request, "slot": m.slot, "table": m.table} for m in self.meetings],
            "unscheduled": [{"request": u.request, "reason": u.reason} for u in self.unscheduled],
            "objective": self.objective,
        }
        if stats:
            data["stats"] = {
                "upper_bound": self.upper_bound,
                "lp_bound": None if self.lp_bound is None else round(self.lp_bound, 6),
                "optimal": self.optimal,
                "gaps": self.gaps,
                "method": self.method,
                "seconds": round(self.seconds, 3),
                **self.details,
            }
        return data

    def to_json(self, stats: bool = False) -> str:
        """The schedule as CONTRACTS.md shows it: one meeting or unscheduled request a line."""
        lines = ["{"]
        for key, value in self.to_dict(stats).items():
            if isinstance(value, list):
                items = [json.dumps(v, ensure_ascii=False) for v in value]
                text = "[\n" + ",\n".join(f"    {i}" for i in items) + "\n  ]" if items else "[]"
            else:
                text = json.dumps(value, ensure_ascii=False)
            lines.append(f'  "{key}": {text},')
        lines[-1] = lines[-1].rstrip(",")
        return "\n".join(lines) + "\n}"


# --- reading the JSON problem ----------------------------------------------------------------


def _where(kind: str, item: Any, position: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"{kind} {item['id']}"
    return f"{kind} number {position + 1}"


def _field(item: Any, key: str, where: str, kind: type, required: bool = True) -> Any:
    if not isinstance(item, dict):
        raise ProblemError(f"{where} must be a JSON object")
    if key not in item or item[key] is None:
        if required:
            raise ProblemError(f"{where} has no {key}")
        return None
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = {str: "a string", int: "a whole number", list: "a list"}[kind]
        raise ProblemError(f"{where}: {key} must be {wanted}")
    if isinstance(value, str) and not value.strip():
        raise ProblemError(f"{where}: {key} is empty")
    return value


def _when(item: dict, key: str, where: str) -> datetime:
    text = _field(item, key, where, str)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ProblemError(f"{where}: {key} {text!r} is not an ISO 8601 date and time") from None


def _list(data: dict, key: str, required: bool = True) -> list:
    value = data.get(key)
    if value is None:
        if required:
            raise ProblemError(f"the problem has no {key} list")
        return []
    if not isinstance(value, list):
        raise ProblemError(f"{key} must be a list")
    return value


def parse_problem(data: Any) -> Problem:
    """The Problem described by decoded JSON, checked as `solve` checks it; ProblemError if not."""
    if not isinstance(data, dict):
        raise ProblemError("the problem must be a JSON object with slots, participants and requests")
    slots = []
    for i, item in enumerate(_list(data, "slots")):
        where = _where("slot", item, i)
        slots.append(Slot(_field(item, "id", where, str), _when(item, "start", where),
                          _when(item, "end", where), _field(item, "tables", where, int)))
    participants = []
    for i, item in enumerate(_list(data, "participants")):
        where = _where("participant", item, i)
        available = _field(item, "available", where, list, required=False)
        if available is not None:
            for slot_id in available:
                if not isinstance(slot_id, str):
                    raise ProblemError(f"{where}: available must list slot ids")
            available = frozenset(available)
        participants.append(Participant(_field(item, "id", where, str), _field(item, "side", where, str),
                                        available, _field(item, "max_meetings", where, int, required=False)))
    requests = []
    for i, item in enumerate(_list(data, "requests")):
        where = _where("request", item, i)
        priority = _field(item, "priority", where, int, required=False)
        requests.append(MeetingRequest(_field(item, "id", where, str), _field(item, "sme", where, str),
                                       _field(item, "buyer", where, str), 1 if priority is None else priority))
    locked = []
    for i, item in enumerate(_list(data, "locked", required=False)):
        where = f"locked meeting number {i + 1}"
        locked.append(Meeting(_field(item, "request", where, str), _field(item, "slot", where, str),
                              _field(item, "table", where, int)))
    problem = Problem(tuple(slots), tuple(participants), tuple(requests), tuple(locked))
    _Index(problem)  # the semantic checks
    return problem


def load_problem(text: str | bytes) -> Problem:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProblemError(f"the problem is not valid JSON: {error}") from None
    return parse_problem(data)


# --- the problem as indices, checked ---------------------------------------------------------


class _Index:
    """The problem as integer indices (slots in time order), with every contradiction refused."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self._check_slots(problem.slots)
        self.slot_ids = [s.id for s in self.slots]
        slot_of = {s.id: i for i, s in enumerate(self.slots)}
        self.slot_of = slot_of
        days = sorted({s.start.date() for s in self.slots})
        self.day = [days.index(s.start.date()) for s in self.slots]
        S = len(self.slots)

        self.parts = list(problem.participants)
        self.part_of: dict[str, int] = {}
        self.avail: list[frozenset[int]] = []
        for p in self.parts:
            if p.id in self.part_of:
                raise ProblemError(f"participant {p.id} appears twice")
            if p.side not in SIDES:
                raise ProblemError(f"participant {p.id}: side must be sme or buyer, not {p.side!r}")
            if p.max_meetings is not None and p.max_meetings < 0:
                raise ProblemError(f"participant {p.id}: max_meetings must not be negative")
            if p.available is None:
                avail = frozenset(range(S))
            else:
                unknown = sorted(set(p.available) - slot_of.keys())
                if unknown:
                    raise ProblemError(f"participant {p.id} is available in unknown slot {unknown[0]}")
                avail = frozenset(slot_of[s] for s in p.available)
            self.part_of[p.id] = len(self.avail)
            self.avail.append(avail)
        P = len(self.parts)

        self.reqs = list(problem.requests)
        self.req_of: dict[str, int] = {}
        self.sme: list[int] = []
        self.buyer: list[int] = []
        self.prio: list[int] = []
        for r in self.reqs:
            if r.id in self.req_of:
                raise ProblemError(f"request {r.id} appears twice")
            if type(r.priority) is not int or r.priority < 1:
                raise ProblemError(f"request {r.id}: priority must be a positive integer, not {r.priority!r}")
            ends = []
            for side, who in (("sme", r.sme), ("buyer", r.buyer)):
                if who not in self.part_of:
                    raise ProblemError(f"request {r.id}: unknown participant {who}")
                if self.parts[self.part_of[who]].side != side:
                    article = "an SME" if side == "sme" else "a buyer"
                    raise ProblemError(f"request {r.id}: {who} is not {article}")
                ends.append(self.part_of[who])
            self.req_of[r.id] = len(self.prio)
            self.sme.append(ends[0])
            self.buyer.append(ends[1])
            self.prio.append(r.priority)
        R = len(self.reqs)

        # Locked meetings: constants of the model.
        self.locked: dict[int, tuple[int, int]] = {}  # request -> (slot, table)
        self.locked_at: list[dict[int, int]] = [{} for _ in range(P)]  # participant: slot -> request
        tables_taken: set[tuple[int, int]] = set()
        locked_count = [0] * P
        in_slot = [0] * S
        for m in problem.locked:
            where = f"locked meeting of {m.request}"
            if m.request not in self.req_of:
                raise ProblemError(f"{where}: unknown request")
            if m.slot not in slot_of:
                raise ProblemError(f"{where}: unknown slot {m.slot}")
            r, s = self.req_of[m.request], slot_of[m.slot]
            if r in self.locked:
                raise ProblemError(f"request {m.request} is locked twice")
            if type(m.table) is not int or not 1 <= m.table <= self.slots[s].tables:
                raise ProblemError(f"{where}: table {m.table} is not between 1 and "
                                   f"{self.slots[s].tables}, the tables of slot {m.slot}")
            if (s, m.table) in tables_taken:
                raise ProblemError(f"two locked meetings at table {m.table} in slot {m.slot}")
            for p in (self.sme[r], self.buyer[r]):
                name = self.parts[p].id
                if s not in self.avail[p]:
                    raise ProblemError(f"{where}: {name} cannot attend slot {m.slot}")
                if s in self.locked_at[p]:
                    other = self.reqs[self.locked_at[p][s]].id
                    raise ProblemError(f"{name} has two locked meetings in slot {m.slot} ({other} and {m.request})")
                self.locked_at[p][s] = r
                locked_count[p] += 1
            tables_taken.add((s, m.table))
            in_slot[s] += 1
            self.locked[r] = (s, m.table)

        # What is left for the solver: tables per slot, meetings per participant.
        self.cap = [self.slots[s].tables - in_slot[s] for s in range(S)]
        self.limit = []
        for p, part in enumerate(self.parts):
            if part.max_meetings is None:
                self.limit.append(S)
            elif locked_count[p] > part.max_meetings:
                raise ProblemError(f"{part.id} has {locked_count[p]} locked meetings, over its maximum "
                                   f"of {part.max_meetings}")
            else:
                self.limit.append(part.max_meetings - locked_count[p])
        self.common = [sorted(self.avail[self.sme[r]] & self.avail[self.buyer[r]]) for r in range(R)]
        self.free = [r for r in range(R) if r not in self.locked]
        self.cand: list[list[int]] = [[] for _ in range(R)]
        for r in self.free:
            a, b = self.sme[r], self.buyer[r]
            if self.limit[a] and self.limit[b]:
                self.cand[r] = [s for s in self.common[r]
                                if self.cap[s] > 0 and s not in self.locked_at[a] and s not in self.locked_at[b]]
        self.cand_set = [frozenset(c) for c in self.cand]
        # Per participant and day, the slots they can attend in time order: where gaps are counted.
        self.chains: list[list[list[int]]] = []
        for p in range(P):
            by_day: dict[int, list[int]] = {}
            for s in sorted(self.avail[p]):
                by_day.setdefault(self.day[s], []).append(s)
            self.chains.append([chain for _, chain in sorted(by_day.items())])
        self.locked_objective = sum(self.prio[r] for r in self.locked)

    def _check_slots(self, slots: Sequence[Slot]) -> None:
        seen = set()
        for s in slots:
            if s.id in seen:
                raise ProblemError(f"slot {s.id} appears twice")
            seen.add(s.id)
            if type(s.tables) is not int or s.tables < 0:
                raise ProblemError(f"slot {s.id}: tables must be a whole number, zero or more")
            if len({s.start.tzinfo is None, s.end.tzinfo is None} | {slots[0].start.tzinfo is None}) > 1:
                raise ProblemError(f"slot {s.id}: every time needs a UTC offset, or none does")
            if not s.start < s.end:
                raise ProblemError(f"slot {s.id} does not end after it starts")
        self.slots = sorted(slots, key=lambda s: s.start)  # stable: equal starts keep their order


# --- a schedule being built ------------------------------------------------------------------


class _State:
    """Which free request sits in which slot, with the counters that make feasibility checks O(1)."""

    def __init__(self, ix: _Index):
        self.ix = ix
        self.at = [dict(d) for d in ix.locked_at]  # participant: slot -> request (locked ones too)
        self.count = [0] * len(ix.parts)  # free meetings per participant (limit excludes locked)
        self.used = [0] * len(ix.slots)  # free meetings per slot (cap excludes locked)
        self.where: dict[int, int] = {}  # free request -> slot
        self.members: list[set[int]] = [set() for _ in ix.slots]

    def copy(self) -> _State:
        other = _State.__new__(_State)
        other.ix = self.ix
        other.at = [dict(d) for d in self.at]
        other.count = list(self.count)
        other.used = list(self.used)
        other.where = dict(self.where)
        other.members = [set(m) for m in self.members]
        return other

    def restore(self, other: _State) -> None:
        """Become a copy of `other` (a copy of this state taken earlier)."""
        twin = other.copy()
        self.at, self.count, self.used = twin.at, twin.count, twin.used
        self.where, self.members = twin.where, twin.members

    def fits(self, r: int, s: int) -> bool:
        ix = self.ix
        a, b = ix.sme[r], ix.buyer[r]
        return (self.used[s] < ix.cap[s] and s not in self.at[a] and s not in self.at[b]
                and self.count[a] < ix.limit[a] and self.count[b] < ix.limit[b])

    def place(self, r: int, s: int) -> None:
        ix = self.ix
        for p in (ix.sme[r], ix.buyer[r]):
            self.at[p][s] = r
            self.count[p] += 1
        self.used[s] += 1
        self.where[r] = s
        self.members[s].add(r)

    def remove(self, r: int) -> int:
        ix = self.ix
        s = self.where.pop(r)
        for p in (ix.sme[r], ix.buyer[r]):
            del self.at[p][s]
            self.count[p] -= 1
        self.used[s] -= 1
        self.members[s].discard(r)
        return s

    def objective(self) -> int:
        return self.ix.locked_objective + sum(self.ix.prio[r] for r in self.where)

    def gaps_of(self, p: int) -> int:
        busy = self.at[p]
        total = 0
        for chain in self.ix.chains[p]:
            started = idle = False
            for s in chain:
                if s in busy:
                    if idle:
                        total += 1
                    started, idle = True, False
                elif started:
                    idle = True
        return total

    def gaps(self) -> int:
        return sum(self.gaps_of(p) for p in range(len(self.ix.parts)))

    def key(self) -> tuple[int, int]:
        """Better schedules have a larger key: more priority, then fewer gaps."""
        return self.objective(), -self.gaps()


# --- greedy answers --------------------------------------------------------------------------


def _first_fit(ix: _Index, order: Iterable[int]) -> _State:
    state = _State(ix)
    for r in order:
        for s in ix.cand[r]:
            if state.fits(r, s):
                state.place(r, s)
                break
    return state


def _relocate(state: _State, q: int, avoid: int, journal: list) -> bool:
    for s in state.ix.cand[q]:
        if s != avoid and state.fits(q, s):
            state.place(q, s)
            journal.append(("place", q))
            return True
    return False


def _undo(state: _State, journal: list) -> None:
    for op, *args in reversed(journal):
        if op == "place":
            state.remove(args[0])
        else:
            state.place(args[0], args[1])


def _insert(state: _State, r: int) -> bool:
    """Place r, moving at most the two meetings of its sides and one more from the slot aside."""
    ix = state.ix
    a, b = ix.sme[r], ix.buyer[r]
    if state.count[a] >= ix.limit[a] or state.count[b] >= ix.limit[b]:
        return False
    for s in ix.cand[r]:
        if state.fits(r, s):
            state.place(r, s)
            return True
    for s in ix.cand[r]:
        blockers = sorted({state.at[p][s] for p in (a, b) if s in state.at[p]})  # one, if a and b meet twice
        if any(q in ix.locked for q in blockers):
            continue
        journal: list = []
        for q in blockers:
            journal.append(("remove", q, state.remove(q)))
        if state.used[s] >= ix.cap[s]:
            for q in sorted(state.members[s]):
                journal.append(("remove", q, state.remove(q)))
                if _relocate(state, q, s, journal):
                    break
                _undo(state, journal[-1:])
                journal.pop()
        if not state.fits(r, s):
            _undo(state, journal)
            continue
        state.place(r, s)
        journal.append(("place", r))
        if all(_relocate(state, q, s, journal) for q in blockers):
            return True
        _undo(state, journal)
    return False


def _greedy(ix: _Index, deadline: float) -> _State:
    """Priority first, the request with the fewest possible slots first; then repair passes."""
    state = _first_fit(ix, sorted(ix.free, key=lambda r: (-ix.prio[r], len(ix.cand[r]), r)))
    _repair(state, deadline)
    return state


def _repair(state: _State, deadline: float) -> None:
    """Passes of `_insert` over the waiting requests, most valuable first, while one succeeds."""
    ix = state.ix
    order = sorted(ix.free, key=lambda r: (-ix.prio[r], len(ix.cand[r]), r))
    for _ in range(5):
        waiting = [r for r in order if r not in state.where and ix.cand[r]]
        placed = False
        for r in waiting:
            if time.perf_counter() > deadline:
                return
            placed |= _insert(state, r)
        if not placed:
            return


KEMPE_LIMIT = 16  # the largest chain of meetings swapped in one move


def _chain(state: _State, r: int, home: int, target: int) -> set[int] | None:
    """The Kempe chain of r between two slots: the meetings in `home` and `target` linked to r
    through shared participants. Swapping the slots of the whole chain keeps every participant
    in at most one meeting per slot. None if it holds a locked meeting or is too long."""
    ix = state.ix
    chain, stack = {r}, [r]
    while stack:
        q = stack.pop()
        other = target if state.where[q] == home else home
        for p in (ix.sme[q], ix.buyer[q]):
            m = state.at[p].get(other)
            if m is not None and m not in chain:
                if m in ix.locked or len(chain) >= KEMPE_LIMIT:
                    return None
                chain.add(m)
                stack.append(m)
    return chain


def _swap(state: _State, moves: dict[int, int]) -> bool:
    """Move each meeting to its slot in `moves` at once, if the result is feasible."""
    ix = state.ix
    before = {q: state.remove(q) for q in sorted(moves)}
    for q in sorted(moves):
        s = moves[q]
        if s not in ix.cand_set[q] or not state.fits(q, s):
            for done in sorted(moves):
                if done in state.where:
                    state.remove(done)
            for q2, s2 in before.items():
                state.place(q2, s2)
            return False
        state.place(q, s)
    return True


def _improve(state: _State, r: int) -> set[int]:
    """Apply the move of r to another slot that closes the most gaps, with the meetings in its
    way swapped along their Kempe chain, or, when the slot is full, swapped with a meeting that
    can take r's place. Returns the participants whose day changed (none if no move closes a gap)."""
    ix = state.ix
    home = state.where[r]
    best: tuple[int, dict[int, int]] | None = None
    for target in ix.cand[r]:
        if target == home:
            continue
        chain = _chain(state, r, home, target)
        if chain is None:
            continue
        plans = [{q: target if state.where[q] == home else home for q in chain}]
        if len(chain) == 1 and state.used[target] >= ix.cap[target]:
            plans = [{r: target, q: home} for q in sorted(state.members[target])
                     if home in ix.cand_set[q] and home not in state.at[ix.sme[q]]
                     and home not in state.at[ix.buyer[q]]]
        for moves in plans:
            people = {p for q in moves for p in (ix.sme[q], ix.buyer[q])}
            gaps = sum(state.gaps_of(p) for p in people)
            back = {q: state.where[q] for q in moves}
            if not _swap(state, moves):
                continue
            delta = sum(state.gaps_of(p) for p in people) - gaps
            _swap(state, back)
            if delta < 0 and (best is None or delta < best[0]):
                best = (delta, moves)
    if best is None:
        return set()
    _swap(state, best[1])
    return {p for q in best[1] for p in (ix.sme[q], ix.buyer[q])}


def _descend(state: _State, deadline: float, people: Iterable[int] | None = None) -> None:
    """Moves that close gaps, while there are any: the participants in `people` (everyone by
    default) are looked at, and again whenever a move changes their day."""
    ix = state.ix
    queue = deque(sorted(range(len(ix.parts)) if people is None else set(people)))
    queued = set(queue)
    while queue:
        if time.perf_counter() > deadline:
            return
        p = queue.popleft()
        queued.discard(p)
        for r in sorted(q for q in state.at[p].values() if q not in ix.locked):
            if not state.gaps_of(p):
                break
            if r not in state.where:
                continue
            touched = _improve(state, r)
            for q in sorted(touched):
                if q not in queued:
                    queue.append(q)
                    queued.add(q)


def _shake(state: _State, rng: random.Random, moves: int) -> set[int]:
    """A few feasible chain swaps of meetings of participants with gaps, whatever they cost;
    returns the participants touched."""
    ix = state.ix
    gappy = [p for p in range(len(ix.parts)) if state.gaps_of(p)]
    touched: set[int] = set()
    for _ in range(moves):
        if not gappy:
            break
        p = rng.choice(gappy)
        mine = sorted(q for q in state.at[p].values() if q in state.where)
        if not mine:
            continue
        r = rng.choice(mine)
        home = state.where[r]
        target = rng.choice(ix.cand[r])
        if target == home:
            continue
        chain = _chain(state, r, home, target)
        if chain is not None and _swap(state, {q: target if state.where[q] == home else home for q in chain}):
            touched |= {p for q in chain for p in (ix.sme[q], ix.buyer[q])}
    return touched


def _tighten(state: _State, deadline: float, rounds: int = 100) -> None:
    """Close gaps by moving meetings between slots; who meets whom does not change, so neither
    does the objective. A descent, then rounds of shake-and-descend that keep the best found
    (seeded: the same input gives the same schedule when the rounds end before the deadline)."""
    _descend(state, deadline)
    best, best_gaps = state.copy(), state.gaps()
    rng = random.Random(2027)
    for _ in range(rounds):
        if not best_gaps or time.perf_counter() > deadline:
            break
        _descend(state, deadline, _shake(state, rng, moves=8))
        gaps = state.gaps()
        if gaps < best_gaps:
            best, best_gaps = state.copy(), gaps
        else:
            state.restore(best)
    state.restore(best)


def first_come_first_served(problem: Problem) -> Schedule:
    """The common platform rule: requests in the order given, each in its first feasible slot."""
    started = time.perf_counter()
    ix = _Index(problem)
    return _finish(ix, _first_fit(ix, ix.free), started, method="first come, first served")


def priority_greedy(problem: Problem) -> Schedule:
    """Highest priority first (ties in the order given), each in its first feasible slot."""
    started = time.perf_counter()
    ix = _Index(problem)
    order = sorted(ix.free, key=lambda r: (-ix.prio[r], r))
    return _finish(ix, _first_fit(ix, order), started, method="priority first")


# --- the exact model -------------------------------------------------------------------------

_banner_lock = threading.Lock()
_banner_shown = False


def _run(h: highspy.Highs, deadline: float) -> None:
    """Solve with the time that is left now that the model is passed (big models take a while)."""
    h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    h.run()


def _highs() -> highspy.Highs:
    """A silent HiGHS. Its first instance in a process prints a banner on the C-level standard
    output, before any option can be set, which would spoil the JSON the program prints: the
    output is sent to /dev/null for that moment."""
    global _banner_shown
    with _banner_lock:
        if not _banner_shown:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_shown = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    return h


@dataclass
class _Columns:
    """The x[r,s] columns of the model and the rows they sit in (CSC, all coefficients 1)."""

    request: list[int]
    slot: list[int]
    start: list[int]
    index: list[int]
    row_upper: list[float]


def _columns(ix: _Index, only: set[tuple[int, int]] | None = None) -> _Columns:
    """Every x[r,s], or those in `only` (a restricted model, for a quick first MIP)."""
    cols_r, cols_s = [], []
    for r in ix.free:
        for s in ix.cand[r]:
            if only is None or (r, s) in only:
                cols_r.append(r)
                cols_s.append(s)
    n_req: dict[int, int] = {}
    n_ps: dict[tuple[int, int], int] = {}
    n_s: dict[int, int] = {}
    reqs_of: dict[int, set[int]] = {}
    for r, s in zip(cols_r, cols_s, strict=True):
        n_req[r] = n_req.get(r, 0) + 1
        n_s[s] = n_s.get(s, 0) + 1
        for p in (ix.sme[r], ix.buyer[r]):
            n_ps[p, s] = n_ps.get((p, s), 0) + 1
            reqs_of.setdefault(p, set()).add(r)
    row_upper: list[float] = []

    def rows(counts: dict, bound) -> dict:
        out = {}
        for key, n in counts.items():
            ub = bound(key)
            if n > ub:  # a row that can never bind is left out
                out[key] = len(row_upper)
                row_upper.append(float(ub))
        return out

    row_req = rows(n_req, lambda r: 1)
    row_ps = rows(n_ps, lambda key: 1)
    row_s = rows(n_s, lambda s: ix.cap[s])
    row_p = rows({p: len(rs) for p, rs in reqs_of.items()}, lambda p: ix.limit[p])
    start, index = [0], []
    for r, s in zip(cols_r, cols_s, strict=True):
        a, b = ix.sme[r], ix.buyer[r]
        for row in (row_req.get(r), row_ps.get((a, s)), row_ps.get((b, s)), row_s.get(s),
                    row_p.get(a), row_p.get(b)):
            if row is not None:
                index.append(row)
        start.append(len(index))
    return _Columns(cols_r, cols_s, start, index, row_upper)


def _lp(num_col: int, num_row: int, cost: list[float], upper: list[float], row_lower: list[float],
        row_upper: list[float], start: list[int], index: list[int], value: list[float],
        maximise: bool, integer: list[bool] | None) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = num_row
    lp.col_cost_ = cost
    lp.col_lower_ = [0.0] * num_col
    lp.col_upper_ = upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = num_col
    lp.a_matrix_.num_row_ = num_row
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in integer]
    return lp


def _stage_one_lp(ix: _Index, cols: _Columns, integer: bool) -> highspy.HighsLp:
    n, m = len(cols.request), len(cols.row_upper)
    return _lp(n, m, [float(ix.prio[r]) for r in cols.request], [1.0] * n, [-highspy.kHighsInf] * m,
               cols.row_upper, cols.start, cols.index, [1.0] * len(cols.index), True,
               [True] * n if integer else None)


def _state_from(ix: _Index, cols: _Columns, values: Sequence[float]) -> _State | None:
    state = _State(ix)
    for j, v in enumerate(values):
        if v > 0.5:
            r, s = cols.request[j], cols.slot[j]
            if r in state.where or not state.fits(r, s):
                return None  # never trust a solution that is not feasible
            state.place(r, s)
    return state


def _solution(h: highspy.Highs, cols: _Columns, state: _State, extra: list[float] = ()) -> None:
    values = [0.0] * len(cols.request)
    position = {(r, s): j for j, (r, s) in enumerate(zip(cols.request, cols.slot, strict=True))}
    for r, s in state.where.items():
        values[position[r, s]] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = values + list(extra)
    solution.value_valid = True
    h.setSolution(solution)


def _relaxation(ix: _Index, cols: _Columns, deadline: float) -> tuple[float, list[float]] | None:
    """The LP relaxation by the simplex method: its value (an upper bound) and its vertex solution."""
    h = _highs()
    # A vertex: on these models it is often integral already. The serial dual simplex: the
    # parallel one was 3 to 4 times slower on the shared 2-core machine (26 s against 8 s).
    h.setOptionValue("solver", "simplex")
    h.passModel(_stage_one_lp(ix, cols, integer=False))
    _run(h, deadline)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return ix.locked_objective + h.getInfo().objective_function_value, list(h.getSolution().col_value)


def _rounded(ix: _Index, cols: _Columns, values: Sequence[float], deadline: float) -> _State:
    """The LP solution's whole meetings first, then its fractional ones by value, then the greedy."""
    state = _State(ix)
    for j in sorted((j for j, v in enumerate(values) if v > 1e-6),
                    key=lambda j: (-round(values[j], 6), -ix.prio[cols.request[j]], j)):
        r, s = cols.request[j], cols.slot[j]
        if r not in state.where and state.fits(r, s):
            state.place(r, s)
    _repair(state, deadline)
    return state


def _stage_one(ix: _Index, cols: _Columns, start: _State, deadline: float):
    """The MIP for the most priority, warm-started from `start`: (state or None, bound or None, proved)."""
    h = _highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1 - 1e-6)  # the objective is integral
    if len(cols.request) > BIG_MODEL_COLUMNS:
        h.setOptionValue("presolve", "off")
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    h.passModel(_stage_one_lp(ix, cols, integer=True))
    _solution(h, cols, start)
    _run(h, deadline)
    status = h.getModelStatus()
    info = h.getInfo()
    bound = None
    if info.mip_dual_bound < highspy.kHighsInf:
        bound = ix.locked_objective + math.floor(info.mip_dual_bound + 1e-6)
    state = None
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        state = _state_from(ix, cols, h.getSolution().col_value)
    return state, bound, status == highspy.HighsModelStatus.kOptimal


def _stage_two(ix: _Index, start: _State, deadline: float) -> _State | None:
    """The MIP for the fewest gaps among schedules worth as much as `start`."""
    cols = _columns(ix)
    n = len(cols.request)
    by_ps: dict[tuple[int, int], list[int]] = {}
    for j, (r, s) in enumerate(zip(cols.request, cols.slot, strict=True)):
        by_ps.setdefault((ix.sme[r], s), []).append(j)
        by_ps.setdefault((ix.buyer[r], s), []).append(j)
    # Rows beyond stage one's: the priority floor, then per chain its b and w rows.
    extra_rows: list[list[tuple[int, float]]] = [[(j, float(ix.prio[r])) for j, r in enumerate(cols.request)]]
    extra_lower = [float(start.objective() - ix.locked_objective)]
    extra_upper = [highspy.kHighsInf]
    gap_cost: list[float] = []
    warm: list[float] = []
    locked_at = ix.locked_at
    for p in range(len(ix.parts)):
        if ix.limit[p] + len(locked_at[p]) < 2:
            continue
        for chain in ix.chains[p]:
            if len(chain) < 3 or not any(by_ps.get((p, s)) for s in chain):
                continue
            previous: list[int] = []
            previous_locked = 0
            busy_before = False
            blocks = 0
            for s in chain:
                current = by_ps.get((p, s), [])
                here_locked = 1 if s in locked_at[p] else 0
                b = n + len(gap_cost)
                # b - y_s + y_prev >= locked_s - locked_prev
                row = [(b, 1.0)] + [(j, -1.0) for j in current] + [(j, 1.0) for j in previous]
                extra_rows.append(row)
                extra_lower.append(float(here_locked - previous_locked))
                extra_upper.append(highspy.kHighsInf)
                gap_cost.append(1.0)
                busy = s in start.at[p]
                warm.append(1.0 if busy and not busy_before else 0.0)
                blocks += busy and not busy_before
                busy_before = busy
                previous, previous_locked = current, here_locked
            # w - sum y <= locked in the chain; w <= 1 by its bound
            w = n + len(gap_cost)
            chain_locked = sum(1 for s in chain if s in locked_at[p])
            extra_rows.append([(w, 1.0)] + [(j, -1.0) for s in chain for j in by_ps.get((p, s), [])])
            extra_lower.append(-highspy.kHighsInf)
            extra_upper.append(float(chain_locked))
            gap_cost.append(-1.0)
            warm.append(1.0 if blocks else 0.0)
    if not gap_cost:
        return None
    # Stage one's rows, rebuilt row-wise together with the new ones, then the whole thing column-wise.
    m1 = len(cols.row_upper)
    entries: list[list[tuple[int, float]]] = [[] for _ in range(n + len(gap_cost))]
    for j in range(n):
        for k in range(cols.start[j], cols.start[j + 1]):
            entries[j].append((cols.index[k], 1.0))
    for i, row in enumerate(extra_rows):
        for j, v in row:
            entries[j].append((m1 + i, v))
    start_ptr, index, value = [0], [], []
    for column in entries:
        for i, v in column:
            index.append(i)
            value.append(v)
        start_ptr.append(len(index))
    total_cols = n + len(gap_cost)
    lp = _lp(total_cols, m1 + len(extra_rows), [0.0] * n + gap_cost, [1.0] * total_cols,
             [-highspy.kHighsInf] * m1 + extra_lower, cols.row_upper + extra_upper,
             start_ptr, index, value, False, [True] * n + [False] * len(gap_cost))
    h = _highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1 - 1e-6)
    h.passModel(lp)
    _solution(h, cols, start, warm)
    _run(h, deadline)
    if h.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
        return None
    return _state_from(ix, cols, h.getSolution().col_value[:n])


# --- solving -----------------------------------------------------------------------------------


def solve(problem: Problem, time_limit: float = 10.0) -> Schedule:
    """The best schedule found within `time_limit` seconds, proved optimal when the bound allows.

    Raises ProblemError when the problem contradicts itself.
    """
    started = time.perf_counter()
    ix = _Index(problem)
    # A slice of the time is kept back for tables, reasons and the JSON.
    deadline = started + max(time_limit, 0.0) - min(0.5, 0.05 * time_limit)
    best = _greedy(ix, started + 0.25 * (deadline - started))
    method = "greedy"
    details: dict[str, Any] = {"greedy_objective": best.objective()}
    upper_bound: int | None = None
    lp_bound: float | None = None
    cols = _columns(ix)
    if not cols.request or not cols.row_upper:
        # Nothing to place, or nothing competes: every request takes its first possible slot.
        best = _first_fit(ix, ix.free)
        method = "exact (nothing competes)"
        lp_bound = float(best.objective())
        upper_bound = best.objective()
    elif time.perf_counter() < deadline:
        relaxation = _relaxation(ix, cols, deadline)
        details["lp_seconds"] = round(time.perf_counter() - started, 3)
        if relaxation is not None:
            lp_bound, values = relaxation
            upper_bound = math.floor(lp_bound + 1e-6)
            rounded = _rounded(ix, cols, values, deadline)
            if rounded.key() > best.key():
                best = rounded
                integral = all(v < 1e-6 or v > 1 - 1e-6 for v in values)
                method = "LP relaxation (integral)" if integral else "LP relaxation, rounded"
            if best.objective() < upper_bound and time.perf_counter() < deadline:
                # The MIP over the relaxation's support (and the best schedule so far) is small and
                # often reaches the bound at once.
                support = {(cols.request[j], cols.slot[j]) for j, v in enumerate(values) if v > 1e-6}
                support |= set(best.where.items())
                now = time.perf_counter()
                state, _, _ = _stage_one(ix, _columns(ix, support), best, now + 0.3 * (deadline - now))
                details["support_mip_seconds"] = round(time.perf_counter() - started, 3)
                if state is not None and state.key() > best.key():
                    best, method = state, "HiGHS MIP on the LP support"
        if best.objective() < (upper_bound if upper_bound is not None else math.inf) \
                and time.perf_counter() < deadline:
            state, bound, proved = _stage_one(ix, cols, best, deadline)
            details["mip_seconds"] = round(time.perf_counter() - started, 3)
            if bound is not None:
                upper_bound = bound if upper_bound is None else min(upper_bound, bound)
            if state is not None and state.key() > best.key():
                best, method = state, "HiGHS MIP"
            if proved and state is not None:  # the MIP's optimum bounds every schedule, ours included
                upper_bound = max(state.objective(), best.objective())
    _maximal(best)
    optimal = upper_bound is not None and best.objective() >= upper_bound
    if optimal:
        upper_bound = best.objective()
        details["proved_at_seconds"] = round(time.perf_counter() - started, 3)
    # Fewer gaps at the same priority: local moves, then, on small models, the exact second stage.
    _tighten(best, deadline)
    if optimal and best.gaps() and len(cols.request) <= STAGE_TWO_COLUMNS \
            and time.perf_counter() < deadline - 0.05:
        details["gaps_before_stage_two"] = best.gaps()
        state = _stage_two(ix, best, deadline)
        details["gaps_seconds"] = round(time.perf_counter() - started, 3)
        if state is not None and state.key() > best.key():
            best = state
            method += ", gaps minimised"
            _tighten(best, deadline)
    return _finish(ix, best, started, method=method, upper_bound=upper_bound, lp_bound=lp_bound,
                   details=details)


def _maximal(state: _State) -> None:
    """Any request that still fits somewhere goes in (a time-limited answer may leave room)."""
    ix = state.ix
    for r in sorted(ix.free, key=lambda r: (-ix.prio[r], r)):
        if r not in state.where:
            for s in ix.cand[r]:
                if state.fits(r, s):
                    state.place(r, s)
                    break


def _finish(ix: _Index, state: _State, started: float, method: str, upper_bound: int | None = None,
            lp_bound: float | None = None, details: dict | None = None) -> Schedule:
    meetings = _tables(ix, state)
    unscheduled = [Unscheduled(ix.reqs[r].id, _reason(ix, state, r))
                   for r in ix.free if r not in state.where]
    objective = state.objective()
    return Schedule(
        meetings=meetings, unscheduled=unscheduled, objective=objective, upper_bound=upper_bound,
        lp_bound=lp_bound, optimal=upper_bound is not None and objective >= upper_bound,
        gaps=state.gaps(), method=method, seconds=time.perf_counter() - started, details=details or {})


def _tables(ix: _Index, state: _State) -> list[Meeting]:
    meetings = []
    home: dict[int, int] = {}  # buyer -> table of their previous meeting
    locked_in: dict[int, list[int]] = {}
    for r, (s, _) in ix.locked.items():
        locked_in.setdefault(s, []).append(r)
    for s, slot in enumerate(ix.slots):
        taken: dict[int, int] = {}
        for r in locked_in.get(s, []):
            table = ix.locked[r][1]
            taken[table] = r
            home[ix.buyer[r]] = table
        waiting = []
        for r in sorted(state.members[s], key=lambda r: (ix.buyer[r], r)):
            table = home.get(ix.buyer[r])
            if table is not None and table <= slot.tables and table not in taken:
                taken[table] = r
            else:
                waiting.append(r)
        free = (t for t in range(1, slot.tables + 1) if t not in taken)
        for r in waiting:
            table = next(free)
            taken[table] = r
            home[ix.buyer[r]] = table
        for table in sorted(taken):
            meetings.append(Meeting(ix.reqs[taken[table]].id, slot.id, table))
    return meetings


def _reason(ix: _Index, state: _State, r: int) -> str:
    a, b = ix.sme[r], ix.buyer[r]
    sme, buyer = ix.parts[a].id, ix.parts[b].id
    common = ix.common[r]
    if not common:
        return f"no common available slot: {sme} and {buyer} cannot attend the same slot"
    for p in (a, b):
        most = ix.parts[p].max_meetings
        if most is not None and state.count[p] >= ix.limit[p]:
            return f"{ix.parts[p].id} has reached its maximum of {most} meeting{'' if most == 1 else 's'}"
    busy_a = [s for s in common if s in state.at[a]]
    busy_b = [s for s in common if s in state.at[b]]
    full = [s for s in common if s not in state.at[a] and s not in state.at[b]
            and state.used[s] >= ix.cap[s]]
    if len(busy_b) == len(common):
        return f"{buyer} has no free slot that {sme} can attend"
    if len(busy_a) == len(common):
        return f"{sme} has no free slot that {buyer} can attend"
    if len(full) == len(common):
        return "every table is taken in the slots both can attend"
    parts = []
    if busy_a:
        parts.append(f"{sme} is busy in {len(busy_a)}")
    if busy_b:
        parts.append(f"{buyer} is busy in {len(busy_b)}")
    if full:
        parts.append(f"every table is taken in {len(full)}")
    n = len(common)
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"no slot both can attend is free for both: of the {n}, {listed}"


# --- the program -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2, like every other refusal
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m opsapp.events.scheduling",
                     description="Print the best meeting schedule for a Meet the Buyer problem as JSON.")
    parser.add_argument("problem", help="the problem as a JSON file (CONTRACTS.md)")
    parser.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                        help="bound on the run time (default 10)")
    parser.add_argument("--stats", action="store_true",
                        help="add the upper bound, gaps, method and time under \"stats\"")
    args = parser.parse_args(argv)
    if not args.time_limit > 0 or math.isinf(args.time_limit):
        parser.error("--time-limit must be a positive number of seconds")
    try:
        try:
            with open(args.problem, "rb") as handle:
                text = handle.read()
        except OSError as error:
            raise ProblemError(f"cannot read {args.problem}: {error.strerror or error}") from None
        problem = load_problem(text)
        schedule = solve(problem, args.time_limit)
    except ProblemError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(schedule.to_json(stats=args.stats) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
