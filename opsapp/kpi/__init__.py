"""Monitoring of results (PRODUCT.md section 5): the indicators of both programmes and the
ERDF common indicators, followed for three years after each company left a programme, on
dashboards, in Word monitoring reports and through a read-only JSON API.

Where things live:

- `models.py`: follow-ups with their baselines, follow-up surveys, targets, reports, API
  tokens; `catalogue.py`: the indicators and their measures (code, not rows).
- pure rules: `indicators.py` (every figure from pandas frames), `validation.py` (survey
  answers: non-negative, plausible jumps confirmed); `results.py` holds what they return.
- reading the other domains: `sources.py` turns cohorts, events, contracts, vouchers and
  surveys into the frames `indicators.py` reads.
- services (never commit): `followups.py` (follow-ups, baselines, the survey waves,
  invitations and reminders, answers), `monitoring.py` (the figures for a scope, targets),
  `reports.py` (the Word monitoring report), `api.py` (tokens).
- pages: `*_views.py` with their forms in `*_forms.py`; jobs in `jobs.py`; the command
  `flask --app opsapp kpi report` in `cli.py`.
"""

from flask import Blueprint

bp = Blueprint("kpi", __name__, template_folder="templates")

from opsapp.kpi import (  # noqa: E402,F401
    api_views,
    dashboard_views,
    report_views,
    survey_views,
    target_views,
)
