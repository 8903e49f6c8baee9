"""The scheduled job of the follow-up surveys.

- `kpi_follow_up_surveys` (daily, 06:40): enrols the companies whose cohort or event ended (and
  the comparison group of their calls), opens the surveys that fell due (12, 24 and 36 months
  after the programme), invites the company's people to every survey not invited yet, and
  reminds the open surveys whose last e-mail is 14 or more days old (at most 6 times). Each
  step looks only for what is not done yet, so a second run the same day does nothing.
"""

from __future__ import annotations

from datetime import datetime

from opsapp.core.timeutil import DEFAULT_TZ, to_local
from opsapp.jobs import job
from opsapp.kpi import followups


@job("kpi_follow_up_surveys", "cron", period_format="%Y-%m-%d", hour=6, minute=40)
def kpi_follow_up_surveys(now: datetime) -> str:
    today = to_local(now, DEFAULT_TZ).date()
    enrolled = followups.enrol(today)
    opened = followups.create_due_surveys(today)
    invited = followups.invite_pending(now)
    reminded = followups.remind_due(now)
    return (f"{enrolled} follow-ups enrolled, {len(opened)} surveys opened, {invited} surveys invited, "
            f"{reminded} reminders")
