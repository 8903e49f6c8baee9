"""The meeting scheduler: feasible, complete, optimal on what can be enumerated, and explained.

Every schedule is checked by `check_schedule`, written here from CONTRACTS.md and independent
of the solver: each request once, no participant twice in a slot, only slots both can attend,
no slot over its tables, no table twice in a slot, no participant over max_meetings, locked
meetings kept at their tables, the objective the sum of the scheduled priorities.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsapp.events.scheduling import (
    MeetingRequest,
    Participant,
    Problem,
    ProblemError,
    Slot,
    first_come_first_served,
    load_problem,
    parse_problem,
    priority_greedy,
    solve,
)

CONTRACT_EXAMPLE = {
    "slots": [{"id": "d1-0900", "start": "2027-03-10T09:00:00+01:00", "end": "2027-03-10T09:20:00+01:00",
               "tables": 20}],
    "participants": [{"id": "sme-1", "side": "sme", "available": ["d1-0900"], "max_meetings": 12},
                     {"id": "buyer-1", "side": "buyer"}],
    "requests": [{"id": "r-1", "sme": "sme-1", "buyer": "buyer-1", "priority": 3}],
    "locked": [{"request": "r-1", "slot": "d1-0900", "table": 4}],
}
START = datetime.fromisoformat("2027-03-10T09:00:00+01:00")


# --- an independent referee ------------------------------------------------------------------


def _people(data):
    every = [s["id"] for s in data["slots"]]
    return {p["id"]: (p["side"], set(p.get("available", every)), p.get("max_meetings")) for p in data["participants"]}


def check_schedule(data: dict, schedule: dict) -> None:
    """Assert that `schedule` (the contract's JSON, decoded) is a feasible answer to `data`."""
    assert set(schedule) >= {"meetings", "unscheduled", "objective"}
    requests = {r["id"]: r for r in data["requests"]}
    slots = {s["id"]: s for s in data["slots"]}
    people = _people(data)
    named = [m["request"] for m in schedule["meetings"]] + [u["request"] for u in schedule["unscheduled"]]
    assert sorted(named) == sorted(requests), "every request exactly once"
    for u in schedule["unscheduled"]:
        assert isinstance(u["reason"], str) and u["reason"].strip() and "\n" not in u["reason"]
    seen_tables, seen_people = set(), set()
    per_slot, per_person = Counter(), Counter()
    for m in schedule["meetings"]:
        r, slot = requests[m["request"]], slots[m["slot"]]
        assert type(m["table"]) is int and 1 <= m["table"] <= slot["tables"], "a table of the slot"
        assert (m["slot"], m["table"]) not in seen_tables, "no table twice in a slot"
        seen_tables.add((m["slot"], m["table"]))
        for who in (r["sme"], r["buyer"]):
            assert m["slot"] in people[who][1], f"{who} can attend {m['slot']}"
            assert (who, m["slot"]) not in seen_people, f"{who} twice in {m['slot']}"
            seen_people.add((who, m["slot"]))
            per_person[who] += 1
        per_slot[m["slot"]] += 1
    for slot_id, n in per_slot.items():
        assert n <= slots[slot_id]["tables"], "no slot over its tables"
    for who, n in per_person.items():
        limit = people[who][2]
        assert limit is None or n <= limit, f"{who} over max_meetings"
    placed = {(m["request"], m["slot"], m["table"]) for m in schedule["meetings"]}
    for lock in data.get("locked", []):
        assert (lock["request"], lock["slot"], lock["table"]) in placed, "locked meetings kept"
    assert schedule["objective"] == sum(requests[m["request"]].get("priority", 1) for m in schedule["meetings"])


def count_gaps(data: dict, slot_of: dict[str, str]) -> int:
    """Idle runs between two meetings of a participant on one day, over the slots they can attend."""
    starts = {s["id"]: datetime.fromisoformat(s["start"]) for s in data["slots"]}
    busy: dict[str, set[str]] = {p["id"]: set() for p in data["participants"]}
    requests = {r["id"]: r for r in data["requests"]}
    for request_id, slot in slot_of.items():
        busy[requests[request_id]["sme"]].add(slot)
        busy[requests[request_id]["buyer"]].add(slot)
    total = 0
    for who, (_, available, _) in _people(data).items():
        for day in {starts[s].date() for s in available}:
            pattern = [s in busy[who] for s in sorted((s for s in available if starts[s].date() == day),
                                                      key=lambda s: (starts[s], s))]
            text = "".join("x" if b else "." for b in pattern).strip(".")
            total += len([run for run in text.split("x") if run])
    return total


def brute_force(data: dict) -> tuple[int, int]:
    """The best objective over every schedule, and the fewest gaps among those that reach it."""
    people = _people(data)
    slots = {s["id"]: s["tables"] for s in data["slots"]}
    locked = {lock["request"]: lock["slot"] for lock in data.get("locked", [])}
    requests = data["requests"]
    busy: set[tuple[str, str]] = set()
    used, count = Counter(), Counter()
    assignment: dict[str, str] = {}
    for r in requests:
        if r["id"] in locked:
            s = locked[r["id"]]
            assignment[r["id"]] = s
            used[s] += 1
            for who in (r["sme"], r["buyer"]):
                busy.add((who, s))
                count[who] += 1
    free = [r for r in requests if r["id"] not in locked]
    best = [-1, 0]

    def visit(i: int, value: int) -> None:
        if i == len(free):
            gaps = count_gaps(data, assignment)
            if value > best[0] or (value == best[0] and gaps < best[1]):
                best[:] = [value, gaps]
            return
        r = free[i]
        a, b = r["sme"], r["buyer"]
        visit(i + 1, value)
        for s in sorted(people[a][1] & people[b][1]):
            if (used[s] < slots[s] and (a, s) not in busy and (b, s) not in busy
                    and all(people[w][2] is None or count[w] < people[w][2] for w in (a, b))):
                used[s] += 1
                busy.update({(a, s), (b, s)})
                count.update([a, b])
                assignment[r["id"]] = s
                visit(i + 1, value + r.get("priority", 1))
                del assignment[r["id"]]
                count.subtract([a, b])
                busy.difference_update({(a, s), (b, s)})
                used[s] -= 1

    visit(0, sum(r.get("priority", 1) for r in requests if r["id"] in locked))
    return best[0], best[1]


def run(data: dict, time_limit: float = 10.0) -> dict:
    schedule = json.loads(solve(parse_problem(data), time_limit).to_json())
    check_schedule(data, schedule)
    return schedule


# --- generated problems ------------------------------------------------------------------------


@st.composite
def problems(draw, max_slots=4, max_smes=4, max_buyers=3, max_requests=6):
    n_slots = draw(st.integers(1, max_slots))
    second_day = draw(st.integers(0, n_slots))  # slots from this index on are on the next day
    slots = []
    for i in range(n_slots):
        start = START + timedelta(days=1 if i >= second_day else 0, minutes=20 * i)
        slots.append({"id": f"s{i}", "start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat(),
                      "tables": draw(st.integers(0, 3))})
    ids = [s["id"] for s in slots]
    participants = []
    for side, n in (("sme", draw(st.integers(1, max_smes))), ("buyer", draw(st.integers(1, max_buyers)))):
        for i in range(n):
            p = {"id": f"{side}-{i}", "side": side}
            available = draw(st.one_of(st.none(), st.sets(st.sampled_from(ids))))
            if available is not None:
                p["available"] = sorted(available)
            limit = draw(st.one_of(st.none(), st.integers(0, 3)))
            if limit is not None:
                p["max_meetings"] = limit
            participants.append(p)
    smes = [p["id"] for p in participants if p["side"] == "sme"]
    buyers = [p["id"] for p in participants if p["side"] == "buyer"]
    requests = []
    for i in range(draw(st.integers(0, max_requests))):
        r = {"id": f"r{i}", "sme": draw(st.sampled_from(smes)), "buyer": draw(st.sampled_from(buyers))}
        priority = draw(st.one_of(st.none(), st.integers(1, 5)))
        if priority is not None:
            r["priority"] = priority
        requests.append(r)
    data = {"slots": slots, "participants": participants, "requests": requests}
    # Locked meetings that agree with everything: tried in a drawn order, kept when they fit.
    people = _people(data)
    tables = {s["id"]: s["tables"] for s in slots}
    locked, busy, taken, count = [], set(), set(), Counter()
    for r_index, slot, table in draw(st.lists(st.tuples(st.integers(0, max(len(requests) - 1, 0)),
                                                        st.sampled_from(ids), st.integers(1, 3)), max_size=3)):
        if not requests:
            break
        r = requests[r_index]
        a, b = r["sme"], r["buyer"]
        if (r["id"] in {lock["request"] for lock in locked} or table > tables[slot] or (slot, table) in taken
                or any((w, slot) in busy or slot not in people[w][1]
                       or (people[w][2] is not None and count[w] >= people[w][2]) for w in (a, b))):
            continue
        locked.append({"request": r["id"], "slot": slot, "table": table})
        busy.update({(a, slot), (b, slot)})
        taken.add((slot, table))
        count.update([a, b])
    if locked:
        data["locked"] = locked
    return data


SMALL = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SMALL
@given(problems())
def test_every_schedule_is_feasible_complete_and_optimal(data):
    schedule = run(data)
    best, fewest_gaps = brute_force(data)
    assert schedule["objective"] == best
    slot_of = {m["request"]: m["slot"] for m in schedule["meetings"]}
    assert count_gaps(data, slot_of) == fewest_gaps


@SMALL
@given(problems())
def test_the_proved_bound_is_a_bound_and_the_diagnostics_agree(data):
    schedule = solve(parse_problem(data), 10.0)
    best, _ = brute_force(data)
    assert schedule.upper_bound == best and schedule.optimal
    assert schedule.lp_bound is None or schedule.lp_bound >= best - 1e-6
    slot_of = {m.request: m.slot for m in schedule.meetings}
    assert schedule.gaps == count_gaps(data, slot_of)


@SMALL
@given(problems())
def test_never_worse_than_the_greedy_baselines_which_are_feasible_too(data):
    problem = parse_problem(data)
    schedule = solve(problem, 10.0)
    for baseline in (first_come_first_served(problem), priority_greedy(problem)):
        check_schedule(data, json.loads(baseline.to_json()))
        assert schedule.objective >= baseline.objective


@settings(max_examples=40, deadline=None)
@given(problems(max_slots=6, max_smes=6, max_buyers=4, max_requests=14))
def test_the_same_input_gives_the_same_schedule(data):
    problem = parse_problem(data)
    first = solve(problem, 10.0).to_json()
    check_schedule(data, json.loads(first))
    assert solve(problem, 10.0).to_json() == first
    assert solve(load_problem(json.dumps(data)), 10.0).to_json() == first


def generated_event(seed: int, smes: int, buyers: int, slots: int, tables: int, requests: int) -> dict:
    """A mid-sized event: uneven availability, limits, priorities 1..5, popular buyers."""
    rng = random.Random(seed)
    slot_list = []
    for i in range(slots):
        start = START + timedelta(minutes=20 * i + (60 if i >= slots // 2 else 0))
        slot_list.append({"id": f"s{i}", "start": start.isoformat(),
                          "end": (start + timedelta(minutes=20)).isoformat(), "tables": tables})
    ids = [s["id"] for s in slot_list]
    participants = []
    for side, n in (("sme", smes), ("buyer", buyers)):
        for i in range(n):
            p = {"id": f"{side}-{i}", "side": side}
            if rng.random() < 0.6:
                p["available"] = sorted(rng.sample(ids, rng.randint(slots // 3, slots)))
            if rng.random() < 0.7:
                p["max_meetings"] = rng.randint(2, 8)
            participants.append(p)
    weights = [1 / (k + 1) for k in range(buyers)]
    pairs = set()
    while len(pairs) < requests:
        pairs.add((rng.randrange(smes), rng.choices(range(buyers), weights)[0]))
    return {"slots": slot_list, "participants": participants,
            "requests": [{"id": f"r{k}", "sme": f"sme-{a}", "buyer": f"buyer-{b}", "priority": rng.randint(1, 5)}
                         for k, (a, b) in enumerate(sorted(pairs))]}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_mid_sized_event_is_solved_to_a_proved_optimum(seed):
    data = generated_event(seed, smes=60, buyers=15, slots=10, tables=8, requests=300)
    problem = parse_problem(data)
    schedule = solve(problem, 3.0)
    check_schedule(data, json.loads(schedule.to_json()))
    assert schedule.optimal and schedule.objective == schedule.upper_bound <= schedule.lp_bound + 1e-6
    assert schedule.objective >= max(first_come_first_served(problem).objective, priority_greedy(problem).objective)
    assert len(schedule.meetings) + len(schedule.unscheduled) == 300


def test_a_very_short_time_limit_still_gives_a_feasible_schedule():
    data = generated_event(4, smes=80, buyers=20, slots=12, tables=10, requests=500)
    schedule = solve(parse_problem(data), 0.05)
    check_schedule(data, json.loads(schedule.to_json()))
    assert schedule.objective >= priority_greedy(parse_problem(data)).objective


# --- the contract's example and plain cases ----------------------------------------------------


def test_the_contract_example_keeps_its_locked_meeting():
    assert run(CONTRACT_EXAMPLE) == {"meetings": [{"request": "r-1", "slot": "d1-0900", "table": 4}],
                                     "unscheduled": [], "objective": 3}


def test_diagnostics_stay_out_of_the_json_unless_asked():
    schedule = solve(parse_problem(CONTRACT_EXAMPLE))
    assert list(json.loads(schedule.to_json())) == ["meetings", "unscheduled", "objective"]
    stats = json.loads(schedule.to_json(stats=True))["stats"]
    assert stats["upper_bound"] == 3 and stats["optimal"] is True and stats["gaps"] == 0
    assert {"method", "seconds", "lp_bound"} <= set(stats)


def test_the_web_app_can_pass_dataclasses():
    slots = tuple(Slot(f"s{i}", START + timedelta(minutes=20 * i), START + timedelta(minutes=20 * (i + 1)), 1)
                  for i in range(2))
    problem = Problem(slots, (Participant("a", "sme"), Participant("b", "buyer", frozenset({"s1"}))),
                      (MeetingRequest("r", "a", "b", 2),))
    schedule = solve(problem, 5.0)
    assert [(m.request, m.slot, m.table) for m in schedule.meetings] == [("r", "s1", 1)]
    assert schedule.objective == 2


def _slots(n, tables=5, day=0):
    return [{"id": f"s{i}", "start": (START + timedelta(days=day, minutes=20 * i)).isoformat(),
             "end": (START + timedelta(days=day, minutes=20 * (i + 1))).isoformat(), "tables": tables}
            for i in range(n)]


def test_higher_priority_wins_a_contested_slot():
    data = {"slots": _slots(1), "participants": [{"id": "a", "side": "sme"}, {"id": "c", "side": "sme"},
                                                 {"id": "b", "side": "buyer"}],
            "requests": [{"id": "low", "sme": "a", "buyer": "b", "priority": 1},
                         {"id": "high", "sme": "c", "buyer": "b", "priority": 4}]}
    schedule = run(data)
    assert [m["request"] for m in schedule["meetings"]] == ["high"]
    assert schedule["unscheduled"] == [{"request": "low", "reason": "b has no free slot that a can attend"}]


def test_the_optimum_is_not_the_greedy_answer():
    # Priority first puts the 3 in s0 and blocks both 2s; the optimum moves it to s1 and keeps all.
    data = {"slots": _slots(2),
            "participants": [{"id": "a", "side": "sme"}, {"id": "c", "side": "sme", "available": ["s0"]},
                             {"id": "b", "side": "buyer"}, {"id": "d", "side": "buyer", "available": ["s0"]}],
            "requests": [{"id": "r1", "sme": "a", "buyer": "b", "priority": 3},
                         {"id": "r2", "sme": "c", "buyer": "b", "priority": 2},
                         {"id": "r3", "sme": "a", "buyer": "d", "priority": 2}]}
    assert priority_greedy(parse_problem(data)).objective == 3
    assert run(data)["objective"] == 7


@pytest.mark.parametrize(("data", "reason"), [
    ({"slots": _slots(2), "participants": [{"id": "sme-3", "side": "sme", "available": ["s0"]},
                                           {"id": "buyer-1", "side": "buyer", "available": ["s1"]}],
      "requests": [{"id": "r", "sme": "sme-3", "buyer": "buyer-1"}]},
     "no common available slot: sme-3 and buyer-1 cannot attend the same slot"),
    ({"slots": _slots(2), "participants": [{"id": "sme-3", "side": "sme", "max_meetings": 1},
                                           {"id": "b1", "side": "buyer"}, {"id": "b2", "side": "buyer"}],
      "requests": [{"id": "kept", "sme": "sme-3", "buyer": "b1", "priority": 2},
                   {"id": "r", "sme": "sme-3", "buyer": "b2"}]},
     "sme-3 has reached its maximum of 1 meeting"),
    ({"slots": _slots(1, tables=1), "participants": [{"id": "a", "side": "sme"}, {"id": "b", "side": "buyer"},
                                                     {"id": "c", "side": "sme"}, {"id": "d", "side": "buyer"}],
      "requests": [{"id": "kept", "sme": "a", "buyer": "b", "priority": 2},
                   {"id": "r", "sme": "c", "buyer": "d"}]},
     "every table is taken in the slots both can attend"),
    ({"slots": _slots(1), "participants": [{"id": "sme-3", "side": "sme"}, {"id": "buyer-1", "side": "buyer"},
                                           {"id": "b2", "side": "buyer"}],
      "requests": [{"id": "kept", "sme": "sme-3", "buyer": "b2", "priority": 2},
                   {"id": "r", "sme": "sme-3", "buyer": "buyer-1"}]},
     "sme-3 has no free slot that buyer-1 can attend"),
    ({"slots": _slots(3, tables=1),
      "participants": [{"id": "a", "side": "sme"}, {"id": "b", "side": "buyer"}, {"id": "x", "side": "sme"},
                       {"id": "y", "side": "buyer"}, {"id": "z", "side": "buyer"}],
      "requests": [{"id": "r", "sme": "a", "buyer": "b"},
                   {"id": "l1", "sme": "a", "buyer": "z"}, {"id": "l2", "sme": "x", "buyer": "b"},
                   {"id": "l3", "sme": "x", "buyer": "y"}],
      "locked": [{"request": "l1", "slot": "s0", "table": 1}, {"request": "l2", "slot": "s1", "table": 1},
                 {"request": "l3", "slot": "s2", "table": 1}]},
     "no slot both can attend is free for both: of the 3, a is busy in 1, b is busy in 1 "
     "and every table is taken in 1"),
])
def test_each_request_left_out_says_why(data, reason):
    assert {"request": "r", "reason": reason} in run(data)["unscheduled"]


def test_locked_meetings_stay_and_the_rest_is_planned_around_them():
    data = {"slots": _slots(3, tables=2),
            "participants": [{"id": f"sme-{i}", "side": "sme"} for i in range(4)]
            + [{"id": "buyer-0", "side": "buyer", "max_meetings": 3}, {"id": "buyer-1", "side": "buyer"}],
            "requests": [{"id": f"r{i}-{j}", "sme": f"sme-{i}", "buyer": f"buyer-{j}", "priority": 1 + i}
                         for i in range(4) for j in range(2)],
            "locked": [{"request": "r0-0", "slot": "s1", "table": 2}, {"request": "r1-1", "slot": "s1", "table": 1}]}
    schedule = run(data)
    assert {"request": "r0-0", "slot": "s1", "table": 2} in schedule["meetings"]
    assert {"request": "r1-1", "slot": "s1", "table": 1} in schedule["meetings"]
    assert brute_force(data)[0] == schedule["objective"]


def test_a_buyer_keeps_a_table_and_meetings_come_without_gaps():
    data = {"slots": _slots(4, tables=3),
            "participants": [{"id": f"sme-{i}", "side": "sme"} for i in range(3)]
            + [{"id": "buyer-0", "side": "buyer"}, {"id": "buyer-1", "side": "buyer"}],
            "requests": [{"id": f"r{i}", "sme": f"sme-{i}", "buyer": "buyer-1"} for i in range(3)]
            + [{"id": "x", "sme": "sme-0", "buyer": "buyer-0"}]}
    schedule = run(data)
    tables = {m["table"] for m in schedule["meetings"] if m["request"].startswith("r")}
    assert len(tables) == 1, "buyer-1 stays at one table"
    slots = sorted(int(m["slot"][1:]) for m in schedule["meetings"] if m["request"].startswith("r"))
    assert slots == list(range(slots[0], slots[0] + 3)), "buyer-1's three meetings follow each other"
    assert count_gaps(data, {m["request"]: m["slot"] for m in schedule["meetings"]}) == 0


def test_gaps_are_counted_per_day_and_over_the_slots_one_can_attend():
    # a meets b at 9:00 and d at 9:40 (a cannot attend 9:20), and c on the next day: no gap.
    data = {"slots": _slots(3) + [dict(s, id="t" + s["id"]) for s in _slots(2, day=1)],
            "participants": [{"id": "a", "side": "sme", "available": ["s0", "s2", "ts1"]},
                             {"id": "b", "side": "buyer", "available": ["s0"]},
                             {"id": "c", "side": "buyer", "available": ["ts1"]},
                             {"id": "d", "side": "buyer", "available": ["s2"]}],
            "requests": [{"id": "r1", "sme": "a", "buyer": "b"}, {"id": "r2", "sme": "a", "buyer": "c"},
                         {"id": "r3", "sme": "a", "buyer": "d"}]}
    schedule = solve(parse_problem(data))
    assert schedule.objective == 3 and schedule.gaps == 0
    # Were a available at 9:20 too, the same meetings would leave a one gap.
    data["participants"][0]["available"].append("s1")
    schedule = solve(parse_problem(data))
    assert schedule.objective == 3 and schedule.gaps == 1
    assert count_gaps(data, {m.request: m.slot for m in schedule.meetings}) == 1


def test_nothing_to_schedule_gives_an_empty_schedule():
    schedule = run({"slots": [], "participants": [], "requests": []})
    assert schedule == {"meetings": [], "unscheduled": [], "objective": 0}


# --- contradictory or unreadable problems -------------------------------------------------------


def _example(**changes):
    data = json.loads(json.dumps(CONTRACT_EXAMPLE))
    for path, value in changes.items():
        target = data
        *keys, last = path.split("__")
        for key in keys:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is ...:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


TWO = dict(CONTRACT_EXAMPLE, slots=CONTRACT_EXAMPLE["slots"] + [
    {"id": "d1-0920", "start": "2027-03-10T09:20:00+01:00", "end": "2027-03-10T09:40:00+01:00", "tables": 2}])


@pytest.mark.parametrize(("data", "words"), [
    (_example(requests__0__buyer="buyer-9"), "unknown participant buyer-9"),
    (_example(requests__0__sme="buyer-1"), "buyer-1 is not an SME"),
    (_example(requests__0__buyer="sme-1"), "sme-1 is not a buyer"),
    (_example(participants__0__available=["d9-0900"]), "unknown slot d9-0900"),
    (_example(locked__0__slot="d9-0900"), "unknown slot d9-0900"),
    (_example(locked__0__request="r-9"), "unknown request"),
    (_example(participants__1__available=[]), "buyer-1 cannot attend slot d1-0900"),
    (_example(locked__0__table=21), "table 21 is not between 1 and 20"),
    (_example(locked__0__table=0), "table 0 is not between 1 and 20"),
    (_example(participants__0__max_meetings=0), "over its maximum of 0"),
    (_example(requests__0__priority=0), "priority must be a positive integer"),
    (_example(requests__0__priority=-2), "priority must be a positive integer"),
    (_example(requests__0__priority="3"), "priority must be a whole number"),
    (_example(requests__0__priority=True), "priority must be a whole number"),
    (_example(slots__0__tables=-1), "tables must be a whole number"),
    (_example(slots__0__start="tomorrow"), "is not an ISO 8601 date and time"),
    (_example(slots__0__end="2027-03-10T08:00:00+01:00"), "does not end after it starts"),
    (_example(participants__1__side="corporate"), "side must be sme or buyer"),
    (_example(requests=CONTRACT_EXAMPLE["requests"] * 2), "request r-1 appears twice"),
    (_example(participants=CONTRACT_EXAMPLE["participants"] + [{"id": "sme-1", "side": "sme"}]),
     "participant sme-1 appears twice"),
    (_example(slots=CONTRACT_EXAMPLE["slots"] * 2), "slot d1-0900 appears twice"),
    (_example(locked=CONTRACT_EXAMPLE["locked"] * 2), "request r-1 is locked twice"),
    (dict(CONTRACT_EXAMPLE, requests=CONTRACT_EXAMPLE["requests"] + [{"id": "r-2", "sme": "sme-1", "buyer": "buyer-1"}],
          locked=CONTRACT_EXAMPLE["locked"] + [{"request": "r-2", "slot": "d1-0900", "table": 5}]),
     "sme-1 has two locked meetings in slot d1-0900"),
    (dict(TWO, participants=TWO["participants"] + [{"id": "sme-2", "side": "sme"}, {"id": "buyer-2", "side": "buyer"}],
          requests=TWO["requests"] + [{"id": "r-2", "sme": "sme-2", "buyer": "buyer-2"}],
          locked=TWO["locked"] + [{"request": "r-2", "slot": "d1-0900", "table": 4}]),
     "two locked meetings at table 4 in slot d1-0900"),
    (_example(requests=...), "the problem has no requests list"),
    (_example(slots="d1-0900"), "slots must be a list"),
    (_example(requests__0__id=...), "has no id"),
    ([1, 2], "must be a JSON object"),
])
def test_contradictions_are_refused_in_one_line(data, words):
    with pytest.raises(ProblemError) as error:
        parse_problem(data)
    message = str(error.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("text", ['{"slots": [', "not json", b"\xff\xfe", '{"a": 1e999999}x', "[" * 100_000])
def test_unreadable_json_is_a_problem_error(text):
    with pytest.raises(ProblemError) as error:
        load_problem(text)
    assert "\n" not in str(error.value)


def test_solve_checks_dataclasses_as_well():
    problem = Problem((), (Participant("a", "sme"),), (MeetingRequest("r", "a", "nobody"),))
    with pytest.raises(ProblemError, match="unknown participant nobody"):
        solve(problem)
