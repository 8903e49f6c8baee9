"""What is wrong with a grid of meetings (`opsapp.events.conflicts`), pure: every kind of
conflict with the meetings involved, the conflicts a change would add, the free places and
swaps offered, and why a request has no place."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from opsapp.events import conflicts as c
from opsapp.events.conflicts import Placed, Rules

SLOTS = ["s1", "s2", "s3"]
RULES = Rules(tables={s: 2 for s in SLOTS})


def test_a_clean_grid_has_no_conflict():
    meetings = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 2, "b", "y"), Placed(3, "s2", 1, "a", "y")]
    assert c.find(meetings, RULES) == []


def test_a_participant_twice_in_a_slot():
    meetings = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 2, "a", "y")]
    [conflict] = c.find(meetings, RULES)
    assert conflict.kind == c.DOUBLE_BOOKED
    assert (conflict.participant, conflict.slot, conflict.meetings, conflict.count) == ("a", "s1", (1, 2), 2)


def test_a_buyer_twice_in_a_slot():
    meetings = [Placed(1, "s2", 1, "a", "x"), Placed(2, "s2", 2, "b", "x")]
    [conflict] = c.find(meetings, RULES)
    assert (conflict.kind, conflict.participant) == (c.DOUBLE_BOOKED, "x")


def test_a_table_used_twice():
    meetings = [Placed(1, "s1", 2, "a", "x"), Placed(2, "s1", 2, "b", "y")]
    [conflict] = c.find(meetings, RULES)
    assert (conflict.kind, conflict.slot, conflict.table, conflict.meetings) == (c.TABLE_TAKEN, "s1", 2, (1, 2))


def test_a_table_beyond_the_count():
    meetings = [Placed(7, "s1", 3, "a", "x"), Placed(8, "s2", 0, "b", "y")]
    found = c.find(meetings, RULES)
    assert [(f.kind, f.meetings, f.table, f.maximum) for f in found] == [
        (c.NO_SUCH_TABLE, (7,), 3, 2), (c.NO_SUCH_TABLE, (8,), 0, 2)]


def test_an_unknown_slot_has_no_table():
    [conflict] = c.find([Placed(1, "elsewhere", 1, "a", "x")], RULES)
    assert conflict.kind == c.NO_SUCH_TABLE


def test_a_side_unavailable_in_the_slot():
    rules = Rules(tables=RULES.tables, available={"a": frozenset({"s2"}), "x": frozenset(SLOTS)})
    [conflict] = c.find([Placed(1, "s1", 1, "a", "x")], rules)
    assert (conflict.kind, conflict.participant, conflict.slot, conflict.meetings) == (c.UNAVAILABLE, "a", "s1", (1,))


def test_a_participant_over_its_maximum():
    rules = Rules(tables=RULES.tables, max_meetings={"x": 2, "a": None})
    meetings = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s2", 1, "b", "x"), Placed(3, "s3", 1, "c", "x")]
    [conflict] = c.find(meetings, rules)
    assert (conflict.kind, conflict.participant, conflict.count, conflict.maximum) == (c.OVER_MAXIMUM, "x", 3, 2)
    assert conflict.meetings == (1, 2, 3)


def test_several_conflicts_are_listed_with_their_meetings_in_a_stable_order():
    rules = Rules(tables=RULES.tables, available={"b": frozenset({"s1"})}, max_meetings={"a": 1})
    meetings = [Placed(1, "s2", 1, "a", "x"), Placed(2, "s2", 1, "b", "x"), Placed(3, "s1", 5, "a", "y")]
    kinds = [f.kind for f in c.find(meetings, rules)]
    assert kinds == [c.DOUBLE_BOOKED, c.TABLE_TAKEN, c.NO_SUCH_TABLE, c.UNAVAILABLE, c.OVER_MAXIMUM]
    assert c.find(list(reversed(meetings)), rules) == c.find(meetings, rules)


# --- changes -----------------------------------------------------------------------------------


def test_a_move_into_a_busy_slot_is_a_new_conflict():
    before = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s2", 1, "a", "y")]
    after = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 2, "a", "y")]
    [new] = c.introduced(before, after, RULES)
    assert (new.kind, new.participant, new.meetings) == (c.DOUBLE_BOOKED, "a", (1, 2))


def test_a_move_that_leaves_an_old_conflict_as_it_was_is_allowed():
    rules = Rules(tables=RULES.tables, available={"b": frozenset({"s3"})}, max_meetings={"x": 1})
    # x is over its maximum and b sits in a slot it cannot attend: not the move's fault.
    before = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 2, "b", "x2"), Placed(3, "s2", 1, "c", "x")]
    after = [Placed(1, "s3", 1, "a", "x"), Placed(2, "s1", 2, "b", "x2"), Placed(3, "s2", 1, "c", "x")]
    assert c.introduced(before, after, rules) == []


def test_moving_out_of_a_conflict_is_allowed_and_adding_to_one_is_not():
    before = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 2, "a", "y")]
    assert c.introduced(before, [Placed(1, "s1", 1, "a", "x"), Placed(2, "s2", 2, "a", "y")], RULES) == []
    rules = Rules(tables={"s1": 3})
    worse = [*before, Placed(3, "s1", 3, "a", "z")]
    [new] = c.introduced(before, worse, rules)
    assert new.meetings == (1, 2, 3)


def test_one_more_meeting_over_the_maximum_is_new():
    rules = Rules(tables=RULES.tables, max_meetings={"x": 1})
    before = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s2", 1, "b", "x")]
    after = [*before, Placed(("new", 9), "s3", 1, "c", "x")]
    [new] = c.introduced(before, after, rules)
    assert (new.kind, new.count) == (c.OVER_MAXIMUM, 3)


# --- where a meeting can go ----------------------------------------------------------------------


def test_free_tables():
    meetings = [Placed(1, "s1", 1, "a", "x"), Placed(2, "s1", 3, "b", "y")]
    assert c.free_tables(meetings, "s1", 4) == [2, 4]
    assert c.free_tables(meetings, "s1", 4, ignore={1}) == [1, 2, 4]
    assert c.free_tables(meetings, "s2", 2) == [1, 2]


def test_open_slots_respect_availability_busy_sides_tables_and_maximums():
    rules = Rules(tables={"s1": 1, "s2": 2, "s3": 2}, available={"a": frozenset({"s1", "s2", "s3"}),
                                                                  "x": frozenset({"s1", "s2"})})
    meetings = [Placed(1, "s1", 1, "b", "y"), Placed(2, "s2", 1, "a", "z")]
    # s1: the only table is taken; s2: a is busy; s3: x cannot attend.
    assert c.open_slots("a", "x", meetings, rules, SLOTS) == {}
    assert c.open_slots("c", "y", meetings, rules, SLOTS) == {"s2": [2], "s3": [1, 2]}
    limited = Rules(tables=rules.tables, max_meetings={"y": 1})
    assert c.open_slots("c", "y", meetings, limited, SLOTS) == {}
    # A meeting being moved does not count against itself, nor against the maximum.
    assert c.open_slots("b", "y", meetings, limited, SLOTS, ignore={1}, adding=False) == {
        "s1": [1], "s2": [2], "s3": [1, 2]}


def test_open_slots_accept_a_prepared_board():
    meetings = [Placed(1, "s1", 1, "a", "x")]
    board = c.Board(meetings)
    assert c.open_slots("b", "y", board, RULES, SLOTS) == c.open_slots("b", "y", meetings, RULES, SLOTS)


def test_swappable_meetings():
    rules = Rules(tables=RULES.tables, available={"c": frozenset({"s2"})})
    m1 = Placed(1, "s1", 1, "a", "x")
    others = [Placed(2, "s2", 1, "a", "y"),   # shares a: after the swap a is still once per slot
              Placed(3, "s2", 2, "c", "z"),   # c cannot attend s1
              Placed(4, "s3", 1, "b", "x"),   # shares x
              Placed(5, "s1", 2, "d", "w"),   # same slot: only the tables change
              Placed(6, "s3", 2, "e", "y")]   # x would meet twice in s3 (with 4)
    assert c.swappable(m1, [m1, *others], rules) == [2, 4, 5]
    crowded = [Placed(2, "s2", 1, "b", "y"), Placed(9, "s2", 2, "a", "q")]
    assert c.swappable(m1, [m1, *crowded], RULES) == [9]  # with 2, a would meet twice in s2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_every_offered_swap_and_place_is_conflict_free(seed):
    rng = random.Random(seed)
    slots = [f"s{i}" for i in range(4)]
    smes, buyers = [f"a{i}" for i in range(4)], [f"x{i}" for i in range(3)]
    rules = Rules(tables={s: 2 for s in slots},
                  available={p: frozenset(s for s in slots if rng.random() < 0.8) for p in smes + buyers},
                  max_meetings={p: rng.choice([None, 2, 3]) for p in smes + buyers})
    meetings: list[Placed] = []
    for n in range(12):
        sme, buyer = rng.choice(smes), rng.choice(buyers)
        options = c.open_slots(sme, buyer, meetings, rules, slots)
        if options:
            slot = rng.choice(sorted(options))
            meetings.append(Placed(n, slot, rng.choice(options[slot]), sme, buyer))
    assert c.find(meetings, rules) == []
    for m in meetings:
        for other_id in c.swappable(m, meetings, rules):
            other = next(o for o in meetings if o.id == other_id)
            after = [o for o in meetings if o.id not in (m.id, other.id)] + [
                Placed(m.id, other.slot, other.table, m.sme, m.buyer),
                Placed(other.id, m.slot, m.table, other.sme, other.buyer)]
            assert c.introduced(meetings, after, rules) == []
        for slot, tables in c.open_slots(m.sme, m.buyer, meetings, rules, slots, ignore={m.id}, adding=False).items():
            after = [o for o in meetings if o.id != m.id] + [Placed(m.id, slot, tables[0], m.sme, m.buyer)]
            assert c.introduced(meetings, after, rules) == []


# --- why a request has no place ----------------------------------------------------------------


def test_why_unplaced():
    rules = Rules(tables={"s1": 1, "s2": 1}, available={"a": frozenset({"s1"}), "x": frozenset({"s2"})})
    assert c.why_unplaced("a", "x", [], rules, ["s1", "s2"]).code == c.NO_COMMON_SLOT

    limited = Rules(tables={"s1": 1, "s2": 1}, max_meetings={"x": 1})
    why = c.why_unplaced("a", "x", [Placed(1, "s1", 1, "b", "x")], limited, ["s1", "s2"])
    assert (why.code, why.participant, why.maximum) == (c.AT_MAXIMUM, "x", 1)

    free = Rules(tables={"s1": 2, "s2": 2})
    busy = [Placed(1, "s1", 1, "b", "x"), Placed(2, "s2", 1, "c", "x")]
    why = c.why_unplaced("a", "x", busy, free, ["s1", "s2"])
    assert (why.code, why.participant) == (c.SIDE_BUSY, "x")

    full = [Placed(1, "s1", 1, "b", "y"), Placed(2, "s2", 1, "c", "z")]
    assert c.why_unplaced("a", "x", full, Rules(tables={"s1": 1, "s2": 1}), ["s1", "s2"]).code == c.TABLES_FULL

    mixed = [Placed(1, "s1", 1, "a", "y"), Placed(2, "s2", 1, "b", "z")]
    why = c.why_unplaced("a", "x", mixed, Rules(tables={"s1": 2, "s2": 1}), ["s1", "s2"])
    assert (why.code, why.common, why.sme_busy, why.buyer_busy, why.full) == (c.NO_FREE_SLOT, 2, 1, 0, 1)

    assert c.why_unplaced("a", "x", [], free, ["s1", "s2"]).code == c.ROOM
