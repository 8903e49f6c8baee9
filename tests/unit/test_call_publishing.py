"""The pure parts of call design: what stops a call from being published, the default overall
threshold, and moving dates into the next edition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opsapp.calls.publishing import (
    CallDraft,
    CriterionDraft,
    Problem,
    QuestionDraft,
    default_overall_threshold,
    describe,
    max_total,
    one_year_later,
    publish_problems,
)

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
HE = (CriterionDraft("Excellence", Decimal(1), Decimal(5), Decimal(3)),
      CriterionDraft("Impact", Decimal("1.5"), Decimal(5), Decimal(3)),
      CriterionDraft("Quality", Decimal(1), Decimal(5), Decimal(3)))


def ready(**changes) -> CallDraft:
    draft = CallDraft(
        title="Business Accelerator 2027", has_edition=True, opens_at=NOW - timedelta(days=1),
        closes_at=NOW + timedelta(days=30), places=10, eligible_kinds=("startup", "sme"),
        questions=(QuestionDraft("Describe the product", "long_text"),
                   QuestionDraft("Stage", "single_choice", ("Prototype", "On the market")),
                   QuestionDraft("Business plan", "file", file_kinds=("pdf",))),
        criteria=HE)
    return replace(draft, **changes)


def codes(draft: CallDraft) -> list[str]:
    return [p.code for p in publish_problems(draft, NOW)]


def test_a_complete_call_has_no_problem():
    assert publish_problems(ready(), NOW) == []


@pytest.mark.parametrize("changes, expected", [
    ({"title": "  "}, ["no_title"]),
    ({"has_edition": False}, ["no_edition"]),
    ({"opens_at": None}, ["no_opening"]),
    ({"closes_at": None}, ["no_closing"]),
    ({"closes_at": NOW - timedelta(days=2)}, ["closing_before_opening", "closing_in_past"]),
    ({"closes_at": NOW}, ["closing_in_past"]),  # the deadline must still be ahead
    ({"opens_at": NOW + timedelta(days=40)}, ["closing_before_opening"]),
    ({"evaluation_deadline": NOW + timedelta(days=29)}, ["evaluation_before_closing"]),
    ({"places": 0}, ["no_places"]),
    ({"places": -3}, ["no_places"]),
    ({"places": None}, ["no_places"]),
    ({"eligible_kinds": ()}, ["no_eligible_kinds"]),
    ({"questions": ()}, ["no_questions"]),
    ({"questions": (QuestionDraft("Stage", "single_choice", ()),)}, ["choices_missing"]),
    ({"questions": (QuestionDraft("Markets", "multiple_choice", ("EU", " EU ", "")),)}, ["choices_missing"]),
    ({"questions": (QuestionDraft("Plan", "file"),)}, ["file_kinds_missing"]),
    ({"criteria": ()}, ["no_criteria"]),
    ({"criteria": (CriterionDraft("Team", Decimal(0), Decimal(5), Decimal(3)),)}, ["weight_not_positive"]),
    ({"criteria": (CriterionDraft("Team", Decimal(1), Decimal(0), None),)}, ["max_not_positive"]),
    ({"criteria": (CriterionDraft("Team", Decimal(1), Decimal(5), Decimal("5.5")),)}, ["threshold_above_max"]),
    ({"overall_threshold": Decimal("15.5")}, ["overall_above_total"]),
])
def test_each_problem_is_found(changes, expected):
    assert codes(ready(**changes)) == expected


def test_every_problem_is_listed_at_once_in_the_order_of_the_pages():
    draft = ready(closes_at=NOW - timedelta(hours=1), places=0, eligible_kinds=(), questions=(), criteria=())
    assert codes(draft) == ["closing_in_past", "no_places", "no_eligible_kinds", "no_questions", "no_criteria"]


def test_thresholds_at_their_limits_are_allowed():
    draft = ready(criteria=(CriterionDraft("Team", Decimal(1), Decimal(5), Decimal(5)),), overall_threshold=Decimal(5))
    assert codes(draft) == []


def test_problems_read_as_sentences_with_their_parameters():
    [problem] = publish_problems(ready(criteria=(CriterionDraft("Impact", Decimal("1.5"), Decimal("5.0"),
                                                                Decimal("6.0")),)), NOW)
    assert describe(problem) == "The threshold of the criterion “Impact” (6) is above its maximum (5)."
    assert describe(Problem("no_criteria")) == "Add at least one evaluation criterion."
    assert describe(Problem("something_new")) == "something_new"


def test_the_default_overall_threshold_is_two_thirds_of_the_maximum():
    assert max_total(HE) == Decimal(15)
    assert default_overall_threshold(HE) == Decimal(10)
    assert default_overall_threshold(()) == Decimal(0)


def test_dates_move_one_year_on_at_the_same_wall_clock_time():
    # 09:00 in Rome in winter (08:00 UTC) stays 09:00 in Rome.
    assert one_year_later(datetime(2027, 2, 1, 8, 0, tzinfo=UTC), "Europe/Rome") == datetime(2028, 2, 1, 8, 0, tzinfo=UTC)
    # Summer time: 12:00 in Rome is 10:00 UTC both years.
    assert one_year_later(datetime(2027, 7, 15, 10, 0, tzinfo=UTC), "Europe/Rome") \
        == datetime(2028, 7, 15, 10, 0, tzinfo=UTC)
    # 29 February has no next year: the 28th.
    assert one_year_later(datetime(2028, 2, 29, 11, 0, tzinfo=UTC), "Europe/Rome") \
        == datetime(2029, 2, 28, 11, 0, tzinfo=UTC)
    assert one_year_later(None, "Europe/Rome") is None


def test_a_change_of_daylight_saving_does_not_shift_the_hour():
    # Summer time starts on 28 March 2027 but on 26 March 2028: 27 March at 09:00 in Rome is
    # winter time (08:00 UTC) in 2027 and summer time (07:00 UTC) in 2028.
    moved = one_year_later(datetime(2027, 3, 27, 8, 0, tzinfo=UTC), "Europe/Rome")
    assert moved == datetime(2028, 3, 27, 7, 0, tzinfo=UTC)
