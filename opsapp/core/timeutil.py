"""Time: stored in UTC, shown in the event's or the user's time zone (Europe/Rome by default)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Europe/Rome")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or DEFAULT_TZ)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def format_in_zone(value: datetime, tz: str | ZoneInfo | None = None, locale: str = "en",
                   pattern: str = "EEE d MMMM y, HH:mm") -> str:
    """A moment as the wall-clock time of a zone, as the UX asks: "Tue 10 March 2027, 09:20 CET"."""
    from babel.dates import format_datetime

    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or DEFAULT_TZ)
    local = to_local(value, zone)
    # Babel names the zone "+0100" in most locales; the zone database knows "CET" and "CEST".
    return f"{format_datetime(local, pattern, tzinfo=zone, locale=locale)} {local.tzname()}"


def local_to_utc(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    """A wall-clock time typed in a form (naive) in the given zone, as UTC."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or DEFAULT_TZ)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
