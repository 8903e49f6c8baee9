"""Time: stored in UTC, shown in the event's or the user's time zone (Europe/Rome by default)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Europe/Rome")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or DEFAULT_TZ)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def local_to_utc(value: datetime, tz: str | ZoneInfo | None = None) -> datetime:
    """A wall-clock time typed in a form (naive) in the given zone, as UTC."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or DEFAULT_TZ)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
