"""Builders for the monitoring of results, through the real models (no mocks).

`make_follow_up(organisation, edition, turnover="1000000", ...)` gives a participant followed
after an edition with its baseline (from the application unless no figure is given);
`make_comparison(organisation, edition, ...)` a member of the comparison group;
`make_survey(follow_up, 12, sales="1200000", ...)` the survey of a wave, answered when any
figure is given (or `answered=True`), open otherwise; `make_target("ACC-1.admitted", edition, 40)`
a target staff set.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.kpi.models import (
    BaselineSource,
    FollowUp,
    FollowUpGroup,
    FollowUpSource,
    IndicatorTarget,
    Survey,
    SurveyStatus,
)

BASELINE_FIELDS = {"turnover": "baseline_turnover", "export_turnover": "baseline_export_turnover",
                   "employees_fte": "baseline_employees_fte", "high_skill_fte": "baseline_high_skill_fte",
                   "investment_raised": "baseline_investment_raised"}
SURVEY_FIGURES = ("sales", "export_sales", "employees_fte", "high_skill_fte", "funding_raised", "funding_source",
                  "new_markets", "corporate_partnerships", "contracts_signed", "contracts_value")
_INTEGERS = ("new_markets", "corporate_partnerships", "contracts_signed")


def _decimal(value):
    return None if value is None else Decimal(str(value))


def make_follow_up(organisation, edition, *, group: FollowUpGroup = FollowUpGroup.PARTICIPANT,
                   source: FollowUpSource | None = None, ended_on: date | None = None, **fields) -> FollowUp:
    """A company followed after an edition. Baseline figures by short name: `turnover`,
    `export_turnover`, `employees_fte`, `high_skill_fte`, `investment_raised`."""
    baseline = {column: _decimal(fields.pop(short)) for short, column in BASELINE_FIELDS.items() if short in fields}
    if source is None:
        source = FollowUpSource.COMPARISON if group is FollowUpGroup.COMPARISON else FollowUpSource.COHORT
    ended_on = ended_on or (utcnow().date() - timedelta(days=400))
    follow_up = FollowUp(
        organisation_id=organisation.id,
        edition_id=edition.id,
        group=group.value,
        source=source.value,
        ended_on=ended_on,
        started_on=fields.pop("started_on", ended_on - timedelta(days=150)),
        baseline_source=fields.pop("baseline_source", (BaselineSource.APPLICATION if baseline
                                                       else BaselineSource.MISSING).value),
        baseline_year=fields.pop("baseline_year", ended_on.year - 1),
        **baseline,
        **fields,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def make_comparison(organisation, edition, **fields) -> FollowUp:
    return make_follow_up(organisation, edition, group=FollowUpGroup.COMPARISON, **fields)


def make_survey(follow_up: FollowUp, wave: int = 12, *, answered: bool | None = None, **fields) -> Survey:
    """The survey of a wave, due `wave` months after the follow-up's end (in the past unless that
    date is to come); answered when `answered` or when any figure is given."""
    figures = {name: fields.pop(name) for name in SURVEY_FIGURES if name in fields}
    if answered is None:
        answered = bool(figures)
    for name, value in list(figures.items()):
        if name == "funding_source" or value is None:
            continue
        figures[name] = int(value) if name in _INTEGERS else _decimal(value)
    ended = follow_up.ended_on
    months = ended.month - 1 + wave
    due_on = fields.pop("due_on", date(ended.year + months // 12, months % 12 + 1, min(ended.day, 28)))
    survey = Survey(
        follow_up_id=follow_up.id,
        wave=wave,
        due_on=due_on,
        fiscal_year=fields.pop("fiscal_year", due_on.year - 1),
        status=(SurveyStatus.ANSWERED if answered else SurveyStatus.OPEN).value,
        invited_at=fields.pop("invited_at", utcnow()),
        answered_at=fields.pop("answered_at", utcnow() if answered else None),
        **figures,
        **fields,
    )
    db.session.add(survey)
    db.session.flush()
    return survey


def make_target(measure: str, edition, target, set_by=None) -> IndicatorTarget:
    row = IndicatorTarget(measure=measure, edition_id=edition.id, target=_decimal(target),
                          set_by_id=getattr(set_by, "id", None))
    db.session.add(row)
    db.session.flush()
    return row
