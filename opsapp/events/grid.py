"""The slot grid of an event, generated from its design (pure).

Given the event's days, the local day start and end, the slot length and the local
breaks, `generate()` returns the meeting slots in UTC, in order: each day is cut into
consecutive slots of the given length from the day start; a slot that would overlap a
break starts again at the break's end; a slot that would run past the day end is not
made. Times are local to the event's time zone, so a day across a daylight-saving change
still starts at 09:00 on the wall clock; a slot starting in the hour skipped when the clocks
go forward, or made shorter or longer by the change, is not made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Break:
    start: time
    end: time


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    ends_at: datetime    # UTC


class GridError(ValueError):
    """A design from which no sensible grid can be made; the message says why."""


def parse_breaks(raw: list[dict] | None) -> list[Break]:
    """Breaks as stored on the event ([{"start": "10:30", "end": "10:50"}]), validated and sorted."""
    breaks = []
    for item in raw or []:
        try:
            start, end = time.fromisoformat(item["start"]), time.fromisoformat(item["end"])
        except (KeyError, TypeError, ValueError) as error:
            raise GridError(f"unreadable break {item!r}") from error
        if end <= start:
            raise GridError(f"break {item['start']}-{item['end']} ends before it starts")
        breaks.append(Break(start, end))
    return sorted(breaks, key=lambda b: b.start)


def generate(days: list[date], day_start: time, day_end: time, slot_minutes: int,
             breaks: list[Break], timezone: str) -> list[Slot]:
    if slot_minutes <= 0:
        raise GridError("the slot length must be positive")
    if day_end <= day_start:
        raise GridError("the day must end after it starts")
    zone = ZoneInfo(timezone)
    length = timedelta(minutes=slot_minutes)
    slots: list[Slot] = []
    for day in sorted(set(days)):
        cursor = datetime.combine(day, day_start)
        end_of_day = datetime.combine(day, day_end)
        day_breaks = [(datetime.combine(day, b.start), datetime.combine(day, b.end)) for b in breaks]
        while cursor + length <= end_of_day:
            overlapping = next(((bs, be) for bs, be in day_breaks if cursor < be and bs < cursor + length), None)
            if overlapping is not None:
                cursor = max(cursor, overlapping[1])
                continue
            start, end = _utc(cursor, zone), _utc(cursor + length, zone)
            if _exists(cursor, zone) and end - start == length:
                slots.append(Slot(start, end))
            cursor += length
    return slots


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped when the clocks go forward (02:30 on the last Sunday of March)."""
    there_and_back = local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)
    return there_and_back.replace(tzinfo=None) == local


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
