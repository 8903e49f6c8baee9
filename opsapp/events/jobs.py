"""The scheduled jobs of events.

- `events_phases` (every 5 minutes): opens each phase whose time has come: booking at
  `booking_opens_at`, scheduling at the request deadline, the event day when the first
  slot starts (only once agendas are published), follow-up after the last slot ends,
  closed at `closes_at`. Each move goes through `states.transition` (audited, no actor).
- `events_request_expiry` (every 15 minutes): pending meeting requests past their expiry
  become expired, and both sides are told.
- `events_meetings_held` (every 15 minutes): on the event day and after, each scheduled
  meeting whose slot has ended is taken as held (either side can still say it did not
  happen, which makes it a no-show).
- `events_outcome_follow_up` (daily): six months after a held meeting, each side is asked
  to rate it again; a row in `meeting_outcome_follow_ups` makes the request go out once.

Each job selects only what is due and not yet done, so a rerun changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from opsapp.events import day, design, outcomes, requests
from opsapp.jobs import job


@job("events_phases", "interval", minutes=5)
def events_phases(now: datetime) -> str:
    moved = design.advance_due_phases(now)
    return f"{moved} phases opened"


@job("events_request_expiry", "interval", minutes=15)
def events_request_expiry(now: datetime) -> str:
    expired = requests.expire_due(now)
    return f"{expired} requests expired"


@job("events_meetings_held", "interval", minutes=15)
def events_meetings_held(now: datetime) -> str:
    held = day.mark_held(now)
    return f"{held} meetings held"


@job("events_outcome_follow_up", "cron", period_format="%Y-%m-%d", hour=6, minute=17)
def events_outcome_follow_up(now: datetime) -> str:
    asked = outcomes.send_six_month_follow_ups(now)
    return f"{asked} follow-up requests sent"
