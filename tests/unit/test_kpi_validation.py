"""The rules for the figures of a follow-up survey and of a baseline: every figure required and
not negative, numbers read as people type them, export sales within sales, high-skill employees
within employees, no contract value without contracts, funding with its source; a big change
against the previous known figure (more than three times, or less than a third, and more than
EUR 50,000 or 5 FTE) is a jump to confirm. Also the survey dates (months added end-of-month safe).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from opsapp.kpi import validation
from opsapp.kpi.followups import add_months, due_date, fiscal_year_of
from opsapp.kpi.validation import Unreadable, check_answers, check_baseline, is_jump, parse_number

GOOD = {"sales": "1250000", "export_sales": "300000", "employees_fte": "12.5", "high_skill_fte": "4",
        "funding_raised": "0", "funding_source": "", "new_markets": "1", "corporate_partnerships": "2",
        "contracts_signed": "0", "contracts_value": "0", "comment": ""}


def answers(**changes):
    return {**GOOD, **changes}


def test_good_answers_are_read_exactly():
    checked = check_answers(answers(comment="  A good year.  "))
    assert checked.ok and checked.jumps == []
    a = checked.answers
    assert a.sales == Decimal("1250000.00") and a.export_sales == Decimal("300000.00")
    assert a.employees_fte == Decimal("12.50") and a.high_skill_fte == Decimal("4.00")
    assert (a.new_markets, a.corporate_partnerships, a.contracts_signed) == (1, 2, 0)
    assert a.funding_source == "none"  # no funding raised: the source is "none" whatever was chosen
    assert a.comment == "A good year."


@pytest.mark.parametrize("key", validation.FIGURES)
def test_every_figure_is_required(key):
    checked = check_answers(answers(**{key: ""}))
    assert not checked.ok and set(checked.errors) == {key}
    assert "enter 0" in checked.errors[key]


@pytest.mark.parametrize("key", validation.FIGURES)
def test_no_figure_may_be_negative(key):
    checked = check_answers(answers(**{key: "-1"}))
    assert set(checked.errors) == {key}
    assert "negative" in checked.errors[key]


@pytest.mark.parametrize("key", validation.FIGURES)
def test_text_is_not_a_figure(key):
    checked = check_answers(answers(**{key: "a lot"}))
    assert set(checked.errors) == {key}


@pytest.mark.parametrize("text, value", [
    ("1250000", Decimal("1250000")), ("1 250 000", Decimal("1250000")), ("1.250.000", Decimal("1250000")),
    ("1,250,000", Decimal("1250000")), ("1.250.000,50", Decimal("1250000.50")),
    ("1,250,000.50", Decimal("1250000.50")), ("EUR 90000", Decimal("90000")), ("90000 €", Decimal("90000")),
    ("12,5", Decimal("12.5")), ("0", Decimal("0")), ("", None), ("  ", None),
])
def test_amounts_as_people_type_them(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1.250", "1,250", "abc", "1e5", "1.2.3", "12,50,0"])
def test_unreadable_or_ambiguous_amounts(text):
    with pytest.raises(Unreadable):
        parse_number(text)


def test_an_ambiguous_amount_asks_for_no_separator():
    checked = check_answers(answers(sales="1.250"))
    assert "without a thousands separator" in checked.errors["sales"]


def test_fte_take_a_decimal_comma_and_at_most_two_decimals():
    assert check_answers(answers(employees_fte="12,75")).answers.employees_fte == Decimal("12.75")
    assert parse_number("1,250", thousands_likely=False) == Decimal("1.250")
    checked = check_answers(answers(employees_fte="12.125"))
    assert set(checked.errors) == {"employees_fte"}


def test_amounts_have_at_most_cents():
    checked = check_answers(answers(sales="1000.505"))
    assert set(checked.errors) == {"sales"}


def test_counts_are_whole_numbers():
    checked = check_answers(answers(new_markets="1.5"))
    assert set(checked.errors) == {"new_markets"} and "whole number" in checked.errors["new_markets"]


def test_export_sales_within_sales():
    assert check_answers(answers(sales="100000", export_sales="100000")).ok
    checked = check_answers(answers(sales="100000", export_sales="100000.01"))
    assert set(checked.errors) == {"export_sales"}


def test_high_skill_within_employees():
    assert check_answers(answers(employees_fte="4", high_skill_fte="4")).ok
    checked = check_answers(answers(employees_fte="4", high_skill_fte="4.5"))
    assert set(checked.errors) == {"high_skill_fte"}


def test_no_contract_value_without_contracts():
    checked = check_answers(answers(contracts_signed="0", contracts_value="25000"))
    assert set(checked.errors) == {"contracts_value"}
    assert check_answers(answers(contracts_signed="2", contracts_value="25000")).ok


def test_funding_needs_its_source():
    checked = check_answers(answers(funding_raised="200000", funding_source=""))
    assert set(checked.errors) == {"funding_source"}
    checked = check_answers(answers(funding_raised="200000", funding_source="none"))
    assert set(checked.errors) == {"funding_source"}
    assert check_answers(answers(funding_raised="200000", funding_source="private")).answers.funding_source == "private"
    assert set(check_answers(answers(funding_source="friends")).errors) == {"funding_source"}


def test_several_problems_are_reported_together():
    checked = check_answers(answers(sales="", employees_fte="-3", new_markets="many"))
    assert set(checked.errors) == {"sales", "employees_fte", "new_markets"}
    assert checked.answers is None


# --- jumps ------------------------------------------------------------------------------------


def test_jump_thresholds_money():
    base, step = Decimal("100000"), validation.JUMP_MIN_MONEY
    assert not is_jump(base, Decimal("300000"), step)  # exactly three times: not more than
    assert is_jump(base, Decimal("300000.01"), step)
    assert not is_jump(Decimal("300000"), Decimal("100000"), step)  # exactly a third
    assert is_jump(Decimal("300000"), Decimal("99999.99"), step)


def test_small_bases_are_not_jumps():
    step = validation.JUMP_MIN_MONEY
    assert not is_jump(Decimal("10000"), Decimal("60000"), step)  # six times, but only EUR 50,000 more
    assert is_jump(Decimal("10000"), Decimal("60000.01"), step)
    assert not is_jump(Decimal("60000"), Decimal("10000"), step)
    fte = validation.JUMP_MIN_FTE
    assert not is_jump(Decimal("1"), Decimal("6"), fte)  # 1 to 6 people: 5 FTE more is not enough
    assert is_jump(Decimal("2"), Decimal("7.5"), fte)
    assert is_jump(Decimal("30"), Decimal("9"), fte)
    assert not is_jump(None, Decimal("1000000000"), step)  # nothing to compare with


def test_jumps_are_found_against_the_previous_figures():
    previous = {"sales": Decimal("400000"), "export_sales": Decimal("100000"), "employees_fte": Decimal("3"),
                "high_skill_fte": None}
    checked = check_answers(answers(sales="1250000", export_sales="300000", employees_fte="12.5"), previous)
    assert checked.ok
    jumps = {j.field: j for j in checked.jumps}
    assert set(jumps) == {"sales", "employees_fte"}  # exports tripled exactly; high-skill unknown before
    assert jumps["sales"].previous == Decimal("400000") and jumps["sales"].new == Decimal("1250000.00")
    assert jumps["employees_fte"].fte and not jumps["sales"].fte


def test_a_fall_is_a_jump_too():
    previous = {"sales": Decimal("5000000")}
    checked = check_answers(answers(sales="500000", export_sales="0"), previous)
    assert [j.field for j in checked.jumps] == ["sales"]


def test_funding_is_never_a_jump():
    checked = check_answers(answers(funding_raised="3000000", funding_source="private"),
                            {"funding_raised": Decimal("0")})
    assert checked.jumps == []


def test_no_jump_check_when_a_figure_is_wrong():
    checked = check_answers(answers(sales="9000000", export_sales="9500000"), {"sales": Decimal("100000")})
    assert checked.jumps == [] and set(checked.errors) == {"export_sales"}


# --- baseline ---------------------------------------------------------------------------------


def test_baseline_figures_may_be_unknown_but_not_wrong():
    checked = check_baseline({"baseline_year": "2026", "turnover": "800000", "export_turnover": "",
                              "employees_fte": "8", "high_skill_fte": "3", "investment_raised": "0"})
    assert checked.ok
    assert checked.values == {"baseline_year": 2026, "turnover": Decimal("800000.00"), "export_turnover": None,
                              "employees_fte": Decimal("8.00"), "high_skill_fte": Decimal("3.00"),
                              "investment_raised": Decimal("0.00")}
    wrong = check_baseline({"baseline_year": "26", "turnover": "100", "export_turnover": "200",
                            "employees_fte": "2", "high_skill_fte": "3", "investment_raised": "-1"})
    assert set(wrong.errors) == {"baseline_year", "export_turnover", "high_skill_fte", "investment_raised"}


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("day, months, expected", [
    (date(2027, 6, 30), 12, date(2028, 6, 30)),
    (date(2027, 1, 31), 1, date(2027, 2, 28)),
    (date(2027, 8, 31), 24, date(2029, 8, 31)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2027, 11, 30), 3, date(2028, 2, 29)),
    (date(2027, 12, 15), 36, date(2030, 12, 15)),
    (date(2027, 3, 31), -1, date(2027, 2, 28)),
])
def test_months_are_added_end_of_month_safe(day, months, expected):
    assert add_months(day, months) == expected


def test_a_survey_asks_for_the_last_closed_year():
    due = due_date(date(2027, 6, 30), 12)
    assert due == date(2028, 6, 30) and fiscal_year_of(due) == 2027
    assert fiscal_year_of(due_date(date(2027, 12, 20), 36)) == 2029
