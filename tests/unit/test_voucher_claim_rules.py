"""The rules of a voucher's claim, review and payment (`vouchers/claims.py`), over plain data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from opsapp.vouchers import claims
from opsapp.vouchers.claims import Decision, Line, Terms

D = Decimal
TODAY = date(2027, 5, 10)
TERMS = Terms(amount=D("1500.00"), granted_on=date(2027, 3, 1), valid_until=date(2027, 6, 30),
              categories=frozenset({1, 2, 3}))


def line(category_id=1, spent_on=date(2027, 4, 2), description="Train Torino–Milano", amount="250.00",
         has_receipt=True) -> Line:
    return Line(category_id, spent_on, description, None if amount is None else D(amount), has_receipt)


def codes(problems) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in problems]


# --- amounts as typed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("250", D("250")), ("250.50", D("250.50")), ("250,50", D("250.50")), ("1,250.50", D("1250.50")),
    ("1.250,50", D("1250.50")), ("EUR 90", D("90")), ("€ 1 250,00", D("1250.00")), ("-50", D("-50")),
    ("0.125", D("0.125")), ("12.5", D("12.5")), ("1,234,567.89", D("1234567.89")),
])
def test_amounts_are_read_as_people_type_them(text, value):
    assert claims.parse_amount(text) == value


def test_nothing_typed_is_no_amount():
    assert claims.parse_amount("  ") is None
    assert claims.parse_amount(None) is None


@pytest.mark.parametrize(("text", "code"), [
    ("abc", "amount_unreadable"), ("12..5", "amount_unreadable"), ("1,2,3", "amount_unreadable"),
    ("1.250", "amount_ambiguous"), ("1,250", "amount_ambiguous"), ("12e3", "amount_unreadable"),
    ("NaN", "amount_unreadable"), ("1,25.00", "amount_unreadable"),
])
def test_unreadable_or_ambiguous_amounts_are_refused(text, code):
    with pytest.raises(claims.AmountUnreadable) as caught:
        claims.parse_amount(text)
    assert caught.value.code == code


@pytest.mark.parametrize(("amount", "code"), [
    (None, "amount_missing"), (D("0"), "amount_not_positive"), (D("-50.00"), "amount_not_positive"),
    (D("10.005"), "amount_decimals"), (D("10000000"), "amount_too_large"),
])
def test_amount_problems(amount, code):
    assert codes(claims.amount_problems(amount)) == [("amount", code)]


def test_an_amount_with_trailing_zeros_is_fine():
    assert claims.amount_problems(D("10.500")) == []


# --- a line ----------------------------------------------------------------------------------------------


def test_a_valid_line_has_no_problem():
    assert claims.line_problems(line(), TERMS, TODAY) == []


def test_the_category_must_be_eligible():
    assert codes(claims.line_problems(line(category_id=9), TERMS, TODAY)) == [("category_id", "category_not_eligible")]
    assert codes(claims.line_problems(line(category_id=None), TERMS, TODAY)) == [("category_id", "category_missing")]


@pytest.mark.parametrize(("spent_on", "expected"), [
    (date(2027, 3, 1), []),  # the grant date itself
    (date(2027, 2, 28), [("spent_on", "date_outside")]),  # the day before the grant
    (TODAY, []),
    (date(2027, 5, 11), [("spent_on", "date_future")]),  # tomorrow
    (None, [("spent_on", "date_missing")]),
])
def test_the_date_is_within_the_validity_and_not_in_the_future(spent_on, expected):
    assert codes(claims.line_problems(line(spent_on=spent_on), TERMS, TODAY)) == expected


def test_the_last_day_of_validity_counts_and_the_day_after_does_not():
    late = date(2027, 7, 2)
    assert claims.line_problems(line(spent_on=date(2027, 6, 30)), TERMS, late) == []
    problems = claims.line_problems(line(spent_on=date(2027, 7, 1)), TERMS, late)
    assert codes(problems) == [("spent_on", "date_outside")]
    assert problems[0].params == {"start": date(2027, 3, 1), "end": date(2027, 6, 30)}


def test_the_description_is_required_and_bounded():
    assert codes(claims.line_problems(line(description="   "), TERMS, TODAY)) == [("description", "description_missing")]
    assert codes(claims.line_problems(line(description="x" * 301), TERMS, TODAY)) == [
        ("description", "description_too_long")]


def test_every_problem_of_a_line_is_reported_in_the_order_of_the_form():
    bad = line(category_id=9, spent_on=date(2026, 1, 1), description="", amount="-5")
    assert [p.field for p in claims.line_problems(bad, TERMS, TODAY)] == [
        "category_id", "spent_on", "description", "amount"]


# --- adding a line: the total within the voucher --------------------------------------------------------


def test_a_line_that_fills_the_voucher_exactly_is_accepted():
    existing = [line(amount="1000.00"), line(amount="250.00")]
    assert claims.adding_problems(line(amount="250.00"), existing, TERMS, TODAY) == []


def test_a_line_taking_the_total_over_the_voucher_is_refused_with_what_is_left():
    existing = [line(amount="1000.00"), line(amount="250.00")]
    problems = claims.adding_problems(line(amount="250.01"), existing, TERMS, TODAY)
    assert codes(problems) == [("amount", "total_over_voucher")]
    assert problems[0].params == {"total": D("1500.01"), "voucher": D("1500.00"), "left": D("250.00")}


def test_a_line_needs_its_receipt():
    assert codes(claims.adding_problems(line(has_receipt=False), [], TERMS, TODAY)) == [("receipt", "receipt_missing")]


def test_a_negative_amount_is_not_also_reported_as_over_the_total():
    assert codes(claims.adding_problems(line(amount="-5"), [], TERMS, TODAY)) == [("amount", "amount_not_positive")]


def test_totals_add_cents_exactly():
    assert claims.total([line(amount="0.10")] * 30) == D("3.00")
    assert claims.total([]) == D("0.00")


# --- submission ---------------------------------------------------------------------------------------------


def test_a_complete_claim_can_be_submitted():
    assert claims.submission_problems([line(), line(category_id=2, amount="1250.00")], TERMS, TODAY) == []


def test_an_empty_claim_cannot_be_submitted():
    assert codes(claims.submission_problems([], TERMS, TODAY)) == [("", "no_lines")]


def test_every_line_needs_a_receipt_and_is_checked_again():
    problems = claims.submission_problems([line(), line(has_receipt=False), line(category_id=7)], TERMS, TODAY)
    assert codes(problems) == [("line:2", "receipt_missing"), ("line:3", "category_not_eligible")]
    assert problems[0].params["line"] == 2


def test_a_claim_over_the_voucher_cannot_be_submitted():
    problems = claims.submission_problems([line(amount="1000.00"), line(amount="600.00")], TERMS, TODAY)
    assert codes(problems) == [("", "total_over_voucher")]


def test_a_claim_is_submitted_only_while_granted_and_not_expired():
    assert codes(claims.submission_problems([line()], TERMS, date(2027, 7, 1))) == [("", "claim_expired")]
    assert claims.submission_problems([line()], TERMS, date(2027, 6, 30)) == []
    assert codes(claims.submission_problems([line()], TERMS, TODAY, status="claimed")) == [("", "claim_closed")]
    assert claims.claim_open("granted", date(2027, 6, 30), date(2027, 6, 30))
    assert not claims.claim_open("lapsed", date(2027, 6, 30), TODAY)


# --- review ---------------------------------------------------------------------------------------------------


def test_a_full_approval_needs_no_reason_and_approves_the_line():
    decision = Decision("approved")
    assert claims.decision_problems(decision, D("250.00")) == []
    assert claims.decided(decision, D("250.00")) == claims.Decided("approved", D("250.00"), None)


def test_a_partial_approval_needs_an_amount_strictly_inside_and_a_reason():
    assert codes(claims.decision_problems(Decision("partly", D("100.00"), ""), D("250.00"))) == [
        ("reason", "reason_missing")]
    assert codes(claims.decision_problems(Decision("partly", None, "Second class only"), D("250.00"))) == [
        ("amount", "partly_amount_missing")]
    for amount in ("0", "250.00", "300", "-1"):
        assert codes(claims.decision_problems(Decision("partly", D(amount), "r"), D("250.00"))) == [
            ("amount", "partly_amount_range")], amount
    assert codes(claims.decision_problems(Decision("partly", D("1.005"), "r"), D("250.00"))) == [
        ("amount", "amount_decimals")]
    ok = Decision("partly", D("180.50"), " Second class only ")
    assert claims.decision_problems(ok, D("250.00")) == []
    assert claims.decided(ok, D("250.00")) == claims.Decided("partly", D("180.50"), "Second class only")


def test_a_rejection_needs_a_reason_and_approves_nothing():
    assert codes(claims.decision_problems(Decision("rejected"), D("90.00"))) == [("reason", "reason_missing")]
    assert claims.decided(Decision("rejected", None, "No receipt"), D("90.00")).approved_amount == D("0.00")


def test_a_line_without_a_decision_is_a_problem():
    assert codes(claims.decision_problems(Decision(None), D("90.00"))) == [("decision", "decision_missing")]
    assert codes(claims.decision_problems(Decision("maybe"), D("90.00"))) == [("decision", "decision_missing")]


def test_the_approved_total_is_the_sum_never_above_the_voucher():
    outcomes = [claims.Decided("approved", D("1000.00"), None), claims.Decided("partly", D("180.50"), "r"),
                claims.Decided("rejected", D("0.00"), "r")]
    assert claims.approved_total(outcomes, D("1500.00")) == D("1180.50")
    assert claims.approved_total(outcomes, D("1100.00")) == D("1100.00")
    assert claims.approved_total([claims.Decided("rejected", D("0"), "r")], D("1500.00")) == D("0.00")


# --- payment -------------------------------------------------------------------------------------------------


def pay(**changes):
    values = {"approved_amount": D("1180.50"), "reviewed_on": date(2027, 5, 1), "paid_on": date(2027, 5, 5),
              "reference": "TRN 0001", "amount": D("1180.50"), "today": TODAY}
    values.update(changes)
    return codes(claims.payment_problems(**values))


def test_a_payment_of_the_approved_amount_is_fine():
    assert pay() == []
    assert pay(paid_on=date(2027, 5, 1)) == []  # the day of the review
    assert pay(paid_on=TODAY) == []


def test_payment_problems():
    assert pay(paid_on=None) == [("paid_on", "paid_on_missing")]
    assert pay(paid_on=date(2027, 5, 11)) == [("paid_on", "paid_on_future")]
    assert pay(paid_on=date(2027, 4, 30)) == [("paid_on", "paid_before_review")]
    assert pay(reference="  ") == [("reference", "reference_missing")]
    assert pay(reference="x" * 101) == [("reference", "reference_too_long")]
    assert pay(amount=D("1000.00")) == [("amount", "payment_not_approved_amount")]
    assert pay(amount=None) == [("amount", "amount_missing")]


def test_only_an_approved_voucher_with_something_approved_is_payable():
    assert claims.payable("approved", D("0.01"))
    assert not claims.payable("approved", D("0.00"))
    assert not claims.payable("approved", None)
    assert not claims.payable("claimed", D("100.00"))
