"""Reading an applicant's answers, one kind of question at a time: what is stored, and the
message for what cannot be (pure functions; no database, no request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from opsapp.calls.application_forms import (
    DEFAULT_LONG_TEXT_MAX,
    DEFAULT_TEXT_MAX,
    AnswerProblem,
    choice_pairs,
    is_answered,
    parse_answer,
    parse_declaration,
)


@dataclass
class Q:
    """The attributes of `Question` that reading an answer uses."""

    kind: str
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    choices: list = field(default_factory=list)


def problem(question, raw) -> str:
    with pytest.raises(AnswerProblem) as caught:
        parse_answer(question, raw)
    return str(caught.value)


@pytest.mark.parametrize("kind", ["text", "long_text", "number", "money", "date", "single_choice",
                                  "multiple_choice", "yes_no"])
@pytest.mark.parametrize("blank", [None, "", "   ", [], [""]])
def test_a_blank_answer_is_no_answer(kind, blank):
    assert parse_answer(Q(kind, choices=["A", "B"]), blank) is None


def test_text_is_trimmed_and_its_length_counted_as_typed():
    q = Q("long_text", max_length=10)
    assert parse_answer(q, "  two\r\nlines ") == "two\nlines"  # CRLF counts as one character
    assert parse_answer(q, "x" * 10) == "x" * 10
    assert problem(q, "x" * 11) == "Write at most 10 characters (you wrote 11)."


def test_text_without_a_limit_has_a_generous_one():
    assert parse_answer(Q("text"), "x" * DEFAULT_TEXT_MAX)
    assert "at most 500" in problem(Q("text"), "x" * (DEFAULT_TEXT_MAX + 1))
    assert parse_answer(Q("long_text"), "x" * DEFAULT_LONG_TEXT_MAX)
    assert problem(Q("long_text"), "x" * (DEFAULT_LONG_TEXT_MAX + 1))


@pytest.mark.parametrize(("raw", "stored"), [("12", "12"), ("12.50", "12.5"), ("12,5", "12.5"), (" 1 000 ", "1000"),
                                             ("-3", "-3"), ("0.0001", "0.0001"), ("100", "100")])
def test_numbers_are_stored_exactly_as_strings(raw, stored):
    assert parse_answer(Q("number"), raw) == stored


@pytest.mark.parametrize("raw", ["twelve", "1.000,5", "1,000.5", "1e3", "12..5", "--3", "NaN", "Infinity", "0x10"])
def test_what_is_not_a_number_is_refused(raw):
    assert problem(Q("number"), raw).startswith("Write a number")


def test_number_limits_and_precision():
    q = Q("number", min_value=Decimal("0"), max_value=Decimal("100"))
    assert problem(q, "-0.5") == "Enter at least 0."
    assert problem(q, "100.01") == "Enter at most 100."
    assert parse_answer(q, "0") == "0" and parse_answer(q, "100") == "100"
    assert problem(Q("number"), "1.00001") == "Use at most 4 decimals."
    assert problem(Q("number"), "1" + "0" * 16) == "This number is too large."


@pytest.mark.parametrize(("raw", "stored"), [("1500", "1500.00"), ("1500.5", "1500.50"), ("1500,50", "1500.50"),
                                             ("EUR 1500", "1500.00"), ("1500 €", "1500.00"), ("0", "0.00")])
def test_money_is_exact_with_two_decimals(raw, stored):
    assert parse_answer(Q("money"), raw) == stored


def test_money_refuses_fractions_of_a_cent_and_words_and_limits():
    assert problem(Q("money"), "10.005") == "Use at most two decimals for an amount in euro."
    assert problem(Q("money"), "a lot").startswith("Write the amount in euro")
    assert problem(Q("money", min_value=Decimal("1000")), "999.99") == "Enter at least EUR 1000.00."
    assert problem(Q("money", max_value=Decimal("50000")), "50000.01") == "Enter at most EUR 50000.00."
    assert problem(Q("money"), "1" + "0" * 13) == "This amount is too large."


@pytest.mark.parametrize(("raw", "stored"), [("2026-03-31", "2026-03-31"), ("31/03/2026", "2026-03-31"),
                                             ("1/4/2026", "2026-04-01")])
def test_dates_are_stored_in_iso(raw, stored):
    assert parse_answer(Q("date"), raw) == stored


@pytest.mark.parametrize("raw", ["2026-02-30", "31/31/2026", "tomorrow", "2026-3-1", "1850-01-01"])
def test_impossible_dates_are_refused(raw):
    assert problem(Q("date"), raw)


def test_single_choice_is_one_of_the_options():
    q = Q("single_choice", choices=["Red", "Green"])
    assert parse_answer(q, "Green") == "Green"
    assert parse_answer(q, ["Red"]) == "Red"
    assert problem(q, "Purple") == "Choose one of the options in the list."
    assert problem(q, "red") == "Choose one of the options in the list."  # exact, as offered


def test_multiple_choice_keeps_the_call_order_once_each():
    q = Q("multiple_choice", choices=["Red", "Green", "Blue"])
    assert parse_answer(q, ["Blue", "Red", "Blue"]) == ["Red", "Blue"]
    assert parse_answer(q, "Green") == ["Green"]
    assert problem(q, ["Red", "Purple"]) == "Choose only options from the list."


def test_yes_no_is_a_boolean():
    assert parse_answer(Q("yes_no"), "yes") is True
    assert parse_answer(Q("yes_no"), "NO") is False
    assert parse_answer(Q("yes_no"), False) is False
    assert problem(Q("yes_no"), "maybe") == "Choose yes or no."


def test_a_file_question_is_not_read_as_text():
    assert problem(Q("file"), "plan.pdf") == "This question takes a file."


def test_choices_in_every_stored_shape():
    q = Q("single_choice", choices=["Plain", {"value": "v", "label": "With label"}, ["p", "Pair"]])
    assert choice_pairs(q) == [("Plain", "Plain"), ("v", "With label"), ("p", "Pair")]
    assert parse_answer(q, "v") == "v"


def test_answered_or_not():
    assert not is_answered(Q("text"), None) and not is_answered(Q("text"), "")
    assert not is_answered(Q("multiple_choice"), [])
    assert is_answered(Q("yes_no"), False)  # "no" is an answer
    assert is_answered(Q("number"), "0")
    assert is_answered(Q("file"), None, file_id=7) and not is_answered(Q("file"), "x")


def test_declarations():
    assert parse_declaration("paying_clients", "12") == 12
    assert parse_declaration("paying_clients", "") is None
    with pytest.raises(AnswerProblem, match="whole number"):
        parse_declaration("paying_clients", "3.5")
    with pytest.raises(AnswerProblem, match="whole number"):
        parse_declaration("paying_clients", "-1")
    assert parse_declaration("deminimis_declared", "25000,5") == Decimal("25000.50")
    assert parse_declaration("deminimis_declared", "0") == Decimal("0.00")
    with pytest.raises(AnswerProblem, match="cannot be negative"):
        parse_declaration("deminimis_declared", "-1")
    assert parse_declaration("product_on_market", "yes") is True
    assert parse_declaration("product_on_market", None) is None
    with pytest.raises(AnswerProblem):
        parse_declaration("product_on_market", "soon")
    assert parse_declaration("relocation_commitment", True) is True
    assert parse_declaration("comparison_consent", False) is False
