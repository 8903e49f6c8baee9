"""The Accelerator cohort (PRODUCT.md section 2): the selected start-ups and SMEs of a decided
call going through coaching and mentoring, closed with a verifiable Seal of Excellence.

Where things live:

- `models.py`: themes, cohorts and members with their needs, mentors, mentorships, sessions
  with attendance and notes, milestones, investor introductions, seals; `states.py`: the
  lifecycles (cohort, completion, milestone).
- pure rules: `matching.py` (mentors to companies), `completion.py` (the completion criteria).
- services (change state, audit, notify, never commit): `cohorts.py` (formation, themes,
  needs), `mentors.py` (the pool, conflicts, matching confirmed), `sessions.py` (sessions,
  attendance, notes, hours, calendars), `progress.py` (milestones, the progress board),
  `followup.py` (investor introductions, obligations), `seals.py` (completion, seals, the
  public verification, the loan-scheme list).
- pages: `*_views.py` with their forms in `*_forms.py`; jobs in `jobs.py`.
"""

from flask import Blueprint

bp = Blueprint("cohorts", __name__, template_folder="templates")

from opsapp.cohorts import (  # noqa: E402,F401
    cohort_views,
    mentor_views,
    progress_views,
    seal_views,
    session_views,
)
