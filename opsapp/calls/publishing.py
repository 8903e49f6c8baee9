"""What a call needs before it can be published, as a pure rule over plain data.

Publishing freezes a call's rules, so everything an applicant, an evaluator or the
ranking will rely on must be there and consistent first: an edition, dates in the
right order with the deadline still ahead, places, who may apply, a form with at
least one question (choice questions with their choices, file questions with the
kinds of file they accept), criteria with positive weights and thresholds within
their maxima, and an overall threshold the criteria can reach. `publish_problems()`
lists every problem at once as a code with its parameters; `describe()` turns one
into a sentence in the user's language. The module also holds the date arithmetic
used when a call is copied into the next edition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from opsapp.calls.scoring import CallRules, CriterionRule

CHOICE_KINDS = ("single_choice", "multiple_choice")
MIN_CHOICES = 2


@dataclass(frozen=True)
class QuestionDraft:
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    file_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class CriterionDraft:
    name: str
    weight: Decimal
    max_score: Decimal
    threshold: Decimal | None = None


@dataclass(frozen=True)
class CallDraft:
    title: str
    has_edition: bool
    opens_at: datetime | None
    closes_at: datetime | None
    places: int | None
    eligible_kinds: tuple[str, ...]
    questions: tuple[QuestionDraft, ...]
    criteria: tuple[CriterionDraft, ...]
    overall_threshold: Decimal | None = None
    evaluation_deadline: datetime | None = None


@dataclass(frozen=True)
class Problem:
    code: str
    params: Mapping = field(default_factory=dict)


MESSAGES = {
    "no_title": _l("The call has no title."),
    "no_edition": _l("Choose the edition the call belongs to."),
    "no_opening": _l("Set the opening date and time."),
    "no_closing": _l("Set the closing date and time (the deadline)."),
    "closing_before_opening": _l("The deadline must come after the opening."),
    "closing_in_past": _l("The deadline has already passed: set a deadline in the future."),
    "evaluation_before_closing": _l("The evaluation deadline must come after the call's deadline."),
    "no_places": _l("Set the number of places (at least 1)."),
    "no_eligible_kinds": _l("Choose at least one kind of organisation that may apply."),
    "no_questions": _l("Add at least one question to the application form."),
    "choices_missing": _l("The question “%(question)s” needs at least two choices."),
    "file_kinds_missing": _l("The question “%(question)s” must accept at least one kind of file."),
    "no_criteria": _l("Add at least one evaluation criterion."),
    "weight_not_positive": _l("The weight of the criterion “%(criterion)s” must be above 0."),
    "max_not_positive": _l("The maximum score of the criterion “%(criterion)s” must be above 0."),
    "threshold_above_max": _l("The threshold of the criterion “%(criterion)s” (%(threshold)s) is above its maximum (%(max)s)."),
    "overall_above_total": _l("The overall threshold (%(threshold)s) is above the highest possible total (%(total)s)."),
}


def publish_problems(call: CallDraft, now: datetime) -> list[Problem]:
    """Everything that stops `call` from being published at `now`, in the order of the design pages."""
    problems: list[Problem] = []
    if not (call.title or "").strip():
        problems.append(Problem("no_title"))
    if not call.has_edition:
        problems.append(Problem("no_edition"))
    if call.opens_at is None:
        problems.append(Problem("no_opening"))
    if call.closes_at is None:
        problems.append(Problem("no_closing"))
    if call.opens_at is not None and call.closes_at is not None and call.closes_at <= call.opens_at:
        problems.append(Problem("closing_before_opening"))
    if call.closes_at is not None and call.closes_at <= now:
        problems.append(Problem("closing_in_past"))
    if call.evaluation_deadline is not None and call.closes_at is not None \
            and call.evaluation_deadline <= call.closes_at:
        problems.append(Problem("evaluation_before_closing"))
    if call.places is None or call.places < 1:
        problems.append(Problem("no_places"))
    if not call.eligible_kinds:
        problems.append(Problem("no_eligible_kinds"))

    if not call.questions:
        problems.append(Problem("no_questions"))
    for question in call.questions:
        if question.kind in CHOICE_KINDS and len({c.strip() for c in question.choices if c.strip()}) < MIN_CHOICES:
            problems.append(Problem("choices_missing", {"question": question.label}))
        if question.kind == "file" and not question.file_kinds:
            problems.append(Problem("file_kinds_missing", {"question": question.label}))

    if not call.criteria:
        problems.append(Problem("no_criteria"))
    for criterion in call.criteria:
        if criterion.weight is None or criterion.weight <= 0:
            problems.append(Problem("weight_not_positive", {"criterion": criterion.name}))
        if criterion.max_score is None or criterion.max_score <= 0:
            problems.append(Problem("max_not_positive", {"criterion": criterion.name}))
        elif criterion.threshold is not None and criterion.threshold > criterion.max_score:
            problems.append(Problem("threshold_above_max", {"criterion": criterion.name,
                                                            "threshold": criterion.threshold,
                                                            "max": criterion.max_score}))
    total = max_total(call.criteria)
    if call.criteria and call.overall_threshold is not None and call.overall_threshold > total:
        problems.append(Problem("overall_above_total", {"threshold": call.overall_threshold, "total": total}))
    return problems


def max_total(criteria) -> Decimal:
    """The highest unweighted total the criteria allow (thresholds are checked on it, as in scoring)."""
    return sum((c.max_score for c in criteria if c.max_score is not None and c.max_score > 0), Decimal(0))


def default_overall_threshold(criteria) -> Decimal:
    """The overall threshold applied when the call leaves it empty: two thirds of the maximum
    (10 of 15 for three criteria scored to 5). Asked of `scoring`, so what staff and applicants
    read is what the ranking applies."""
    rules = CallRules(criteria=tuple(CriterionRule(id=i, max_score=c.max_score)
                                     for i, c in enumerate(criteria) if c.max_score is not None and c.max_score > 0))
    return rules.effective_overall_threshold


def describe(problem: Problem) -> str:
    template = MESSAGES.get(problem.code)
    if template is None:
        return problem.code
    if not problem.params:
        return str(template)
    return str(template) % {k: plain_number(v) for k, v in problem.params.items()}


def plain_number(value) -> str:
    if isinstance(value, Decimal):
        # 3.0 reads as "3", 1.50 as "1.5": the way people write scores and weights.
        return format(value.normalize(), "f")
    return str(value)


def one_year_later(value: datetime | None, tz: str) -> datetime | None:
    """The same wall-clock time one year later in the call's zone (29 February becomes the 28th).

    Moving the UTC instant by 365 days would shift the time by an hour across a change of
    daylight saving, or by a day in leap years; staff think in local dates and hours.
    """
    if value is None:
        return None
    zone = ZoneInfo(tz)
    local = value.astimezone(zone)
    try:
        moved = local.replace(year=local.year + 1, tzinfo=None)
    except ValueError:  # 29 February
        moved = local.replace(year=local.year + 1, day=28, tzinfo=None)
    return moved.replace(tzinfo=zone).astimezone(value.tzinfo or zone)
