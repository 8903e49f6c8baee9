"""The slot grid of an event (`events/grid.py`, pure): slots cut from the day start, breaks
skipped, no slot past the day end, several days, and wall-clock times kept across a
daylight-saving change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsapp.events import grid

ROME = ZoneInfo("Europe/Rome")


def local(slot: grid.Slot, zone=ROME) -> tuple[str, str]:
    return (slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            slot.ends_at.astimezone(zone).strftime("%H:%M"))


def test_a_morning_without_breaks_is_cut_into_consecutive_slots():
    slots = grid.generate([date(2027, 3, 10)], time(9, 0), time(10, 0), 20, [], "Europe/Rome")
    assert [local(s) for s in slots] == [("2027-03-10 09:00", "09:20"), ("2027-03-10 09:20", "09:40"),
                                         ("2027-03-10 09:40", "10:00")]
    assert all(s.starts_at.tzinfo is not None and s.starts_at.utcoffset() == timedelta(0) for s in slots)
    # Rome is UTC+1 in March before the change: 09:00 local is 08:00 UTC.
    assert slots[0].starts_at == datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


def test_a_slot_that_would_overlap_a_break_starts_again_after_it():
    breaks = grid.parse_breaks([{"start": "10:30", "end": "10:50"}])
    slots = grid.generate([date(2027, 3, 10)], time(10, 0), time(11, 30), 20, breaks, "Europe/Rome")
    assert [local(s)[0][-5:] for s in slots] == ["10:00", "10:50", "11:10"]
    for s in slots:
        start, end = local(s)
        assert not ("10:30" < end and start[-5:] < "10:50"), "no slot overlaps the break"


def test_no_slot_runs_past_the_day_end():
    slots = grid.generate([date(2027, 3, 10)], time(9, 0), time(10, 10), 20, [], "Europe/Rome")
    assert [local(s)[0][-5:] for s in slots] == ["09:00", "09:20", "09:40"]
    assert local(slots[-1])[1] == "10:00"


def test_several_days_give_the_same_wall_clock_slots_each_day_in_order():
    days = [date(2027, 3, 11), date(2027, 3, 10), date(2027, 3, 11)]  # unsorted, repeated
    slots = grid.generate(days, time(9, 0), time(10, 0), 30, [], "Europe/Rome")
    assert [local(s)[0] for s in slots] == ["2027-03-10 09:00", "2027-03-10 09:30",
                                            "2027-03-11 09:00", "2027-03-11 09:30"]
    assert slots == sorted(slots, key=lambda s: s.starts_at)


def test_a_day_across_the_daylight_saving_change_keeps_the_wall_clock():
    # Europe/Rome moves to summer time on Sunday 28 March 2027 at 02:00 (to 03:00).
    before = grid.generate([date(2027, 3, 27)], time(9, 0), time(10, 0), 30, [], "Europe/Rome")
    after = grid.generate([date(2027, 3, 28)], time(9, 0), time(10, 0), 30, [], "Europe/Rome")
    assert local(before[0])[0].endswith("09:00") and local(after[0])[0].endswith("09:00")
    assert before[0].starts_at.hour == 8 and after[0].starts_at.hour == 7  # UTC+1, then UTC+2


def test_a_day_crossing_the_change_itself_skips_the_missing_hour():
    # On the night of the change, 02:00-03:00 local does not exist: no slot touches it.
    slots = grid.generate([date(2027, 3, 28)], time(1, 0), time(5, 0), 60, [], "Europe/Rome")
    assert [s.starts_at.isoformat() for s in slots] == ["2027-03-28T00:00:00+00:00", "2027-03-28T01:00:00+00:00",
                                                        "2027-03-28T02:00:00+00:00"]
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)


def test_breaks_are_read_sorted_and_bad_ones_refused():
    breaks = grid.parse_breaks([{"start": "15:00", "end": "15:15"}, {"start": "10:30", "end": "10:50"}])
    assert [b.start for b in breaks] == [time(10, 30), time(15, 0)]
    with pytest.raises(grid.GridError):
        grid.parse_breaks([{"start": "11:00", "end": "10:00"}])
    with pytest.raises(grid.GridError):
        grid.parse_breaks([{"start": "soon"}])


def test_a_day_that_ends_before_it_starts_or_a_zero_slot_is_refused():
    with pytest.raises(grid.GridError):
        grid.generate([date(2027, 3, 10)], time(12, 0), time(9, 0), 20, [], "Europe/Rome")
    with pytest.raises(grid.GridError):
        grid.generate([date(2027, 3, 10)], time(9, 0), time(12, 0), 0, [], "Europe/Rome")


def test_slots_longer_than_the_day_give_no_slot():
    assert grid.generate([date(2027, 3, 10)], time(9, 0), time(9, 30), 45, [], "Europe/Rome") == []
