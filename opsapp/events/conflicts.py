"""What is wrong with a grid of meetings, and where a meeting could still go. Pure: no database.

A grid is a set of placed meetings (`Placed`: id, slot, table, SME, buyer) and the rules it
must respect (`Rules`: tables per slot, the slots each participant can attend, the most
meetings each may have). `find` lists every conflict with the meetings involved:

- DOUBLE_BOOKED: a participant has two meetings or more in one slot;
- TABLE_TAKEN: a table holds two meetings or more in one slot;
- NO_SUCH_TABLE: a meeting sits at a table the slot does not have;
- UNAVAILABLE: a side cannot attend the slot of its meeting;
- OVER_MAXIMUM: a participant has more meetings than its maximum.

Every change to a grid is checked with `introduced(before, after, rules)`: the conflicts the
change would create (an old conflict the change leaves as it was is not the change's fault;
moving a meeting out of a conflict is allowed). `open_slots` and `free_tables` give the
places a meeting can go without creating one, `swappable` the meetings one can swap with,
and `why_unplaced` says why an accepted request has no place. Slot and participant ids are
whatever the caller uses (database ids in the web application).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

DOUBLE_BOOKED = "double_booked"
TABLE_TAKEN = "table_taken"
NO_SUCH_TABLE = "no_such_table"
UNAVAILABLE = "unavailable"
OVER_MAXIMUM = "over_maximum"
KINDS = (DOUBLE_BOOKED, TABLE_TAKEN, NO_SUCH_TABLE, UNAVAILABLE, OVER_MAXIMUM)

# Why an accepted request has no meeting (`why_unplaced`).
NO_COMMON_SLOT = "no_common_slot"      # the two sides cannot attend the same slot
AT_MAXIMUM = "at_maximum"              # a side has its maximum of meetings
SIDE_BUSY = "side_busy"                # a side is busy in every slot both can attend
TABLES_FULL = "tables_full"            # every table is taken in every slot both can attend
NO_FREE_SLOT = "no_free_slot"          # a mix of the three above
ROOM = "room"                          # it can be placed: a slot and a table are free


@dataclass(frozen=True)
class Placed:
    """A live meeting on the grid."""

    id: Hashable
    slot: Hashable
    table: int
    sme: Hashable
    buyer: Hashable

    @property
    def sides(self) -> tuple[Hashable, Hashable]:
        return (self.sme, self.buyer)


@dataclass(frozen=True)
class Rules:
    """What a grid must respect. A participant missing from `available` can attend every slot;
    missing from `max_meetings` (or None) has no limit; a slot missing from `tables` has none."""

    tables: Mapping[Hashable, int]
    available: Mapping[Hashable, frozenset] = field(default_factory=dict)
    max_meetings: Mapping[Hashable, int | None] = field(default_factory=dict)

    def can_attend(self, participant: Hashable, slot: Hashable) -> bool:
        slots = self.available.get(participant)
        return slots is None or slot in slots

    def maximum(self, participant: Hashable) -> int | None:
        return self.max_meetings.get(participant)


@dataclass(frozen=True)
class Conflict:
    kind: str
    meetings: tuple  # the meetings involved, sorted
    participant: Hashable | None = None
    slot: Hashable | None = None
    table: int | None = None
    count: int | None = None  # OVER_MAXIMUM: the meetings the participant has
    maximum: int | None = None

    @property
    def key(self) -> tuple:
        return (self.kind, self.participant, self.slot, self.table)


def _sorted(ids: Iterable) -> tuple:
    return tuple(sorted(ids, key=lambda v: (str(type(v)), v)))


def find(meetings: Iterable[Placed], rules: Rules) -> list[Conflict]:
    """Every conflict of the grid, in a stable order (kind, then where)."""
    meetings = list(meetings)
    by_side_slot: dict[tuple, list] = defaultdict(list)
    by_table: dict[tuple, list] = defaultdict(list)
    by_participant: dict[Hashable, list] = defaultdict(list)
    found: list[Conflict] = []
    for m in meetings:
        for p in m.sides:
            by_side_slot[(p, m.slot)].append(m.id)
            by_participant[p].append(m.id)
            if not rules.can_attend(p, m.slot):
                found.append(Conflict(UNAVAILABLE, (m.id,), participant=p, slot=m.slot))
        tables = rules.tables.get(m.slot, 0)
        if not 1 <= m.table <= tables:
            found.append(Conflict(NO_SUCH_TABLE, (m.id,), slot=m.slot, table=m.table, maximum=tables))
        else:
            by_table[(m.slot, m.table)].append(m.id)
    for (p, slot), ids in by_side_slot.items():
        if len(ids) > 1:
            found.append(Conflict(DOUBLE_BOOKED, _sorted(ids), participant=p, slot=slot, count=len(ids)))
    for (slot, table), ids in by_table.items():
        if len(ids) > 1:
            found.append(Conflict(TABLE_TAKEN, _sorted(ids), slot=slot, table=table, count=len(ids)))
    for p, ids in by_participant.items():
        most = rules.maximum(p)
        if most is not None and len(ids) > most:
            found.append(Conflict(OVER_MAXIMUM, _sorted(ids), participant=p, count=len(ids), maximum=most))
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(found, key=lambda c: (order[c.kind], str(c.slot), str(c.participant), c.table or 0, c.meetings))


def introduced(before: Iterable[Placed], after: Iterable[Placed], rules: Rules) -> list[Conflict]:
    """The conflicts of `after` that `before` did not have: new ones, and old ones that now
    involve more meetings (a third meeting in a double-booked slot, one more over a maximum)."""
    old = {c.key: c for c in find(before, rules)}
    new = []
    for c in find(after, rules):
        was = old.get(c.key)
        if was is None or not set(c.meetings) <= set(was.meetings) or (c.count or 0) > (was.count or 0):
            new.append(c)
    return new


def free_tables(meetings: Iterable[Placed], slot: Hashable, tables: int, ignore: Iterable = ()) -> list[int]:
    """The tables of `slot` that no meeting uses (meetings in `ignore` do not count)."""
    ignore = set(ignore)
    used = {m.table for m in meetings if m.slot == slot and m.id not in ignore}
    return [t for t in range(1, tables + 1) if t not in used]


class Board:
    """Meetings by participant and by slot (without the ignored ones), built once for many
    questions: `open_slots` and `why_unplaced` take one instead of a list of meetings."""

    def __init__(self, meetings: Iterable[Placed], ignore: Iterable = ()):
        ignore = set(ignore)
        self.busy: dict[Hashable, set] = defaultdict(set)  # participant -> slots
        self.count: dict[Hashable, int] = defaultdict(int)
        self.used: dict[Hashable, set[int]] = defaultdict(set)  # slot -> tables
        for m in meetings:
            if m.id in ignore:
                continue
            for p in m.sides:
                self.busy[p].add(m.slot)
                self.count[p] += 1
            self.used[m.slot].add(m.table)

    def free_tables(self, slot: Hashable, tables: int) -> list[int]:
        used = self.used.get(slot, ())
        return [t for t in range(1, tables + 1) if t not in used]


def _board(meetings: Iterable[Placed] | Board, ignore: Iterable = ()) -> Board:
    if isinstance(meetings, Board):
        if ignore:
            raise ValueError("a prepared Board cannot ignore meetings")
        return meetings
    return Board(meetings, ignore)


def open_slots(sme: Hashable, buyer: Hashable, meetings: Iterable[Placed] | Board, rules: Rules,
               slots: Iterable[Hashable], ignore: Iterable = (), adding: bool = True) -> dict[Hashable, list[int]]:
    """Where a meeting between `sme` and `buyer` can go without a conflict: slot -> free tables,
    in the order of `slots`. `ignore` lists meetings that do not count (the one being moved);
    `adding` says whether the meeting is new (it must then fit under both maximums)."""
    ix = _board(meetings, ignore)
    if adding:
        for p in (sme, buyer):
            most = rules.maximum(p)
            if most is not None and ix.count[p] + 1 > most:
                return {}
    found = {}
    for s in slots:
        if not (rules.can_attend(sme, s) and rules.can_attend(buyer, s)):
            continue
        if s in ix.busy[sme] or s in ix.busy[buyer]:
            continue
        tables = ix.free_tables(s, rules.tables.get(s, 0))
        if tables:
            found[s] = tables
    return found


def swappable(meeting: Placed, meetings: Iterable[Placed], rules: Rules) -> list[Hashable]:
    """The meetings (ids) that `meeting` can exchange its slot and table with, without a conflict
    on either of the two in its new place."""
    meetings = [m for m in meetings if m.id != meeting.id]
    at: dict[tuple, set] = defaultdict(set)  # (participant, slot) -> meeting ids
    for m in meetings + [meeting]:
        for p in m.sides:
            at[(p, m.slot)].add(m.id)

    def fits(m: Placed, slot: Hashable, leaving: Placed) -> bool:
        for p in m.sides:
            if not rules.can_attend(p, slot):
                return False
            others = at.get((p, slot), set()) - {leaving.id, m.id}
            if others:
                return False
        return True

    found = []
    for other in meetings:
        if other.slot == meeting.slot:
            if other.table != meeting.table:
                found.append(other.id)  # same slot: only the tables change
            continue
        if fits(meeting, other.slot, other) and fits(other, meeting.slot, meeting):
            found.append(other.id)
    return found


@dataclass(frozen=True)
class Unplaced:
    """Why an accepted request has no meeting, as data for the page to word."""

    code: str
    participant: Hashable | None = None  # AT_MAXIMUM, SIDE_BUSY: the side concerned
    maximum: int | None = None
    common: int = 0  # slots both can attend
    sme_busy: int = 0
    buyer_busy: int = 0
    full: int = 0


def why_unplaced(sme: Hashable, buyer: Hashable, meetings: Iterable[Placed] | Board, rules: Rules,
                 slots: Iterable[Hashable]) -> Unplaced:
    """Why a meeting between `sme` and `buyer` has no place on the grid as it stands (ROOM when
    it can be placed), in the scheduler's order of reasons."""
    ix = _board(meetings)
    common = [s for s in slots if rules.can_attend(sme, s) and rules.can_attend(buyer, s)]
    if not common:
        return Unplaced(NO_COMMON_SLOT)
    for p in (sme, buyer):
        most = rules.maximum(p)
        if most is not None and ix.count[p] >= most:
            return Unplaced(AT_MAXIMUM, participant=p, maximum=most, common=len(common))
    sme_busy = [s for s in common if s in ix.busy[sme]]
    buyer_busy = [s for s in common if s in ix.busy[buyer]]
    full = [s for s in common if s not in ix.busy[sme] and s not in ix.busy[buyer]
            and not ix.free_tables(s, rules.tables.get(s, 0))]
    figures = {"common": len(common), "sme_busy": len(sme_busy), "buyer_busy": len(buyer_busy), "full": len(full)}
    if len(buyer_busy) == len(common):
        return Unplaced(SIDE_BUSY, participant=buyer, **figures)
    if len(sme_busy) == len(common):
        return Unplaced(SIDE_BUSY, participant=sme, **figures)
    if len(full) == len(common):
        return Unplaced(TABLES_FULL, **figures)
    blocked = set(sme_busy) | set(buyer_busy) | set(full)
    if len(blocked) == len(common):
        return Unplaced(NO_FREE_SLOT, **figures)
    return Unplaced(ROOM, **figures)
