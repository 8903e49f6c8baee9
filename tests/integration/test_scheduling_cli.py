"""`python -m opsapp.events.scheduling PROBLEM.json [--time-limit SECONDS]`, run as a program.

The contract (CONTRACTS.md, "The meeting scheduler as a program"): the schedule as JSON on
standard output, every request once, a feasible schedule; a problem that cannot be read or
contradicts itself exits with status 2 and one line on standard error.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

EXAMPLE = {
    "slots": [{"id": "d1-0900", "start": "2027-03-10T09:00:00+01:00", "end": "2027-03-10T09:20:00+01:00",
               "tables": 20}],
    "participants": [{"id": "sme-1", "side": "sme", "available": ["d1-0900"], "max_meetings": 12},
                     {"id": "buyer-1", "side": "buyer"}],
    "requests": [{"id": "r-1", "sme": "sme-1", "buyer": "buyer-1", "priority": 3}],
    "locked": [{"request": "r-1", "slot": "d1-0900", "table": 4}],
}
START = datetime.fromisoformat("2027-03-10T09:00:00+01:00")


def scheduler(tmp_path, problem, *args, raw: str | None = None):
    path = tmp_path / "problem.json"
    path.write_text(raw if raw is not None else json.dumps(problem), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "opsapp.events.scheduling", str(path), *args],
                          capture_output=True, text=True, timeout=120)


def assert_feasible(problem: dict, schedule: dict) -> None:
    assert list(schedule) == ["meetings", "unscheduled", "objective"]
    requests = {r["id"]: r for r in problem["requests"]}
    slots = {s["id"]: s for s in problem["slots"]}
    every = list(slots)
    available = {p["id"]: set(p.get("available", every)) for p in problem["participants"]}
    limits = {p["id"]: p.get("max_meetings") for p in problem["participants"]}
    for m in schedule["meetings"]:
        assert set(m) == {"request", "slot", "table"}
    for u in schedule["unscheduled"]:
        assert set(u) == {"request", "reason"} and u["reason"]
    named = [m["request"] for m in schedule["meetings"]] + [u["request"] for u in schedule["unscheduled"]]
    assert sorted(named) == sorted(requests)
    tables = Counter((m["slot"], m["table"]) for m in schedule["meetings"])
    assert max(tables.values(), default=1) == 1
    people = Counter()
    for m in schedule["meetings"]:
        r = requests[m["request"]]
        assert 1 <= m["table"] <= slots[m["slot"]]["tables"]
        for who in (r["sme"], r["buyer"]):
            assert m["slot"] in available[who]
            people[who, m["slot"]] += 1
            people[who] += 1
    for key, n in people.items():
        if isinstance(key, tuple):
            assert n == 1
        else:
            assert limits[key] is None or n <= limits[key]
    for lock in problem.get("locked", []):
        assert lock in schedule["meetings"]
    assert schedule["objective"] == sum(requests[m["request"]].get("priority", 1) for m in schedule["meetings"])


def event(seed: int, smes: int, buyers: int, slots: int, tables: int, requests: int) -> dict:
    rng = random.Random(seed)
    slot_list = [{"id": f"d1-{i:02d}", "start": (START + timedelta(minutes=20 * i)).isoformat(),
                  "end": (START + timedelta(minutes=20 * i + 20)).isoformat(), "tables": tables} for i in range(slots)]
    ids = [s["id"] for s in slot_list]
    participants = []
    for side, n in (("sme", smes), ("buyer", buyers)):
        for i in range(n):
            p = {"id": f"{side}-{i}", "side": side}
            if rng.random() < 0.5:
                p["available"] = sorted(rng.sample(ids, rng.randint(1, slots)))
            if rng.random() < 0.5:
                p["max_meetings"] = rng.randint(1, 6)
            participants.append(p)
    pairs = sorted({(rng.randrange(smes), rng.randrange(buyers)) for _ in range(requests)})
    return {"slots": slot_list, "participants": participants,
            "requests": [{"id": f"r-{k}", "sme": f"sme-{a}", "buyer": f"buyer-{b}", "priority": rng.randint(1, 5)}
                         for k, (a, b) in enumerate(pairs)]}


def test_the_contract_example(tmp_path):
    result = scheduler(tmp_path, EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"meetings": [{"request": "r-1", "slot": "d1-0900", "table": 4}],
                                         "unscheduled": [], "objective": 3}


def test_a_contested_event_is_feasible_and_explains_what_it_leaves_out(tmp_path):
    problem = event(7, smes=30, buyers=8, slots=6, tables=4, requests=120)
    problem["participants"] += [{"id": "sme-locked", "side": "sme"}, {"id": "buyer-locked", "side": "buyer"}]
    problem["requests"] += [{"id": "r-locked", "sme": "sme-locked", "buyer": "buyer-locked"},
                            {"id": "r-also", "sme": "sme-locked", "buyer": "buyer-0", "priority": 5}]
    problem["locked"] = [{"request": "r-locked", "slot": "d1-02", "table": 3}]
    result = scheduler(tmp_path, problem, "--time-limit", "5")
    assert result.returncode == 0, result.stderr
    schedule = json.loads(result.stdout)
    assert_feasible(problem, schedule)
    assert schedule["unscheduled"], "6 slots of 4 tables cannot hold 120 requests"
    assert len(schedule["meetings"]) <= 24


def test_the_schedule_is_the_same_run_after_run(tmp_path):
    problem = event(3, smes=12, buyers=5, slots=5, tables=3, requests=30)
    first = scheduler(tmp_path, problem, "--time-limit", "3")
    second = scheduler(tmp_path, problem, "--time-limit", "3")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert_feasible(problem, json.loads(first.stdout))


def test_time_limit_bounds_the_run(tmp_path):
    problem = event(11, smes=300, buyers=60, slots=18, tables=45, requests=2000)
    started = time.perf_counter()
    result = scheduler(tmp_path, problem, "--time-limit", "1")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert_feasible(problem, json.loads(result.stdout))
    assert elapsed < 1 + 6, "one second of solving, plus starting Python, reading and writing"


def test_stats_are_added_only_when_asked(tmp_path):
    result = scheduler(tmp_path, EXAMPLE, "--stats")
    stats = json.loads(result.stdout)["stats"]
    assert stats["upper_bound"] == 3 and stats["optimal"] is True


def _with(**changes):
    problem = json.loads(json.dumps(EXAMPLE))
    problem.update(changes)
    return problem


@pytest.mark.parametrize(("problem", "raw", "words"), [
    (_with(requests=[{"id": "r-1", "sme": "sme-9", "buyer": "buyer-1"}]), None, "unknown participant sme-9"),
    (_with(participants=[{"id": "sme-1", "side": "sme", "available": ["d1-0900"]},
                         {"id": "buyer-1", "side": "buyer", "available": []}]), None,
     "buyer-1 cannot attend slot d1-0900"),
    (_with(locked=[{"request": "r-1", "slot": "d1-0900", "table": 21}]), None, "table 21"),
    (_with(requests=[{"id": "r-1", "sme": "sme-1", "buyer": "buyer-1", "priority": 0}]), None, "priority"),
    (None, '{"slots": [', "not valid JSON"),
    (None, "", "not valid JSON"),
])
def test_a_contradictory_problem_exits_2_with_one_line(tmp_path, problem, raw, words):
    result = scheduler(tmp_path, problem, raw=raw)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and words in lines[0]


def test_a_missing_file_exits_2_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "opsapp.events.scheduling", str(tmp_path / "nowhere.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "cannot read" in result.stderr


@pytest.mark.parametrize("args", [["--time-limit", "0"], ["--time-limit", "soon"], []])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(EXAMPLE))
    argv = [str(path), *args] if args else []
    result = subprocess.run([sys.executable, "-m", "opsapp.events.scheduling", *argv],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
