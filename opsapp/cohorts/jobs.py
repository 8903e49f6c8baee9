"""The scheduled jobs of cohorts.

- `cohorts_obligation_reminders` (daily): each open obligation of a company in a cohort that
  is running (or completed less than a year ago) is reminded once per calendar month until
  staff record it as done; a row per (obligation, month) makes a rerun send nothing.
- `cohorts_milestone_reminders` (daily): milestones past their due date and not achieved are
  flagged and their company (and mentor) reminded once a week.
- `cohorts_start` (daily): planned cohorts whose start date has come start running.
"""

from __future__ import annotations

from datetime import datetime

from opsapp.cohorts import cohorts, followup, progress
from opsapp.jobs import job


@job("cohorts_start", "cron", period_format="%Y-%m-%d", hour=5, minute=41)
def cohorts_start(now: datetime) -> str:
    started = cohorts.start_due(now)
    return f"{started} cohorts started"


@job("cohorts_obligation_reminders", "cron", period_format="%Y-%m-%d", hour=8, minute=3)
def cohorts_obligation_reminders(now: datetime) -> str:
    sent = followup.remind_obligations(now)
    return f"{sent} obligation reminders"


@job("cohorts_milestone_reminders", "cron", period_format="%Y-%m-%d", hour=8, minute=13)
def cohorts_milestone_reminders(now: datetime) -> str:
    sent = progress.remind_overdue_milestones(now)
    return f"{sent} milestone reminders"
