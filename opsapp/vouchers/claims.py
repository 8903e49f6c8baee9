"""The rules of a claim, its review and its payment, as functions over plain data (no database,
no request, no Flask).

- A **line** is valid when its category is among the scheme's eligible categories, its date
  lies within the voucher's validity (from its grant date to its `valid_until`) and not in the
  future, its amount is positive with at most two decimals, and it has a description.
- A line may be **added** when it is valid and the claim's total stays within the voucher.
- A claim may be **submitted** while it is open (the voucher granted and not past its
  `valid_until`) when it has at least one line, every line is valid and has its receipt, and
  the total does not exceed the voucher's amount.
- The **review** decides each line: approved fully, approved partly (an amount greater than 0
  and less than the line's, with a reason) or rejected (with a reason). The approved amount of
  the voucher is the sum of what was approved, never above the voucher's amount. A voucher
  whose lines were all rejected is approved at EUR 0: it stays approved at 0 and is never paid
  (nothing is owed; its whole amount went back to the budget at the review).
- The **payment** of an approved voucher with an approved amount above 0: a date not in the
  future and not before the review, a reference, and the approved amount exactly (partial
  payments are not part of the scheme).

Every check returns the problems found as `Problem(field, code, params)`, in the order of the
form's fields; the service words them in the user's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
AMOUNT_MAX = Decimal("9999999.99")
DESCRIPTION_MAX = 300
REASON_MAX = 1000
REFERENCE_MAX = 100


@dataclass(frozen=True)
class Problem:
    """What is wrong (`code`, with `params` for the message) and the field it concerns."""

    field: str
    code: str
    params: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Terms:
    """What a voucher allows: its amount, its validity and the scheme's eligible categories."""

    amount: Decimal
    granted_on: date
    valid_until: date
    categories: frozenset[int]


@dataclass(frozen=True)
class Line:
    category_id: int | None
    spent_on: date | None
    description: str
    amount: Decimal | None
    has_receipt: bool = True


# --- amounts as people type them --------------------------------------------------------------------

_SPACES = re.compile(r"(?i)\s|eur|€")
_PLAIN = re.compile(r"[+-]?\d+(\.\d+)?")


class AmountUnreadable(ValueError):
    """The text is not an amount; `code` says why ("amount_unreadable", "amount_ambiguous")."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def parse_amount(text: str | None) -> Decimal | None:
    """An amount in EUR as typed: "250", "250.50", "250,50", "1,250.50", "1.250,50", "EUR 90".

    None when nothing was typed. The value keeps the decimals typed (so that `line_problems`
    can refuse a third one rather than round it). A single separator followed by exactly three
    digits ("1.250", "1,250") could be a thousands separator or decimals: refused as ambiguous.
    """
    raw = _SPACES.sub("", str(text or ""))
    if not raw:
        return None
    if "," in raw and "." in raw:
        decimal_mark = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        head, _sep, tail = raw.rpartition(decimal_mark)
        if not all(len(group) == 3 for group in head.lstrip("+-").split(thousands)[1:]):
            raise AmountUnreadable("amount_unreadable")
        raw = head.replace(thousands, "") + "." + tail
    elif "," in raw or raw.count(".") == 1:
        mark = "," if "," in raw else "."
        if raw.count(mark) > 1:
            raise AmountUnreadable("amount_unreadable")
        head, _sep, tail = raw.partition(mark)
        if len(tail) == 3 and head.lstrip("+-") not in ("", "0"):
            raise AmountUnreadable("amount_ambiguous")
        raw = head + "." + tail
    if not _PLAIN.fullmatch(raw):
        raise AmountUnreadable("amount_unreadable")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise AmountUnreadable("amount_unreadable") from None
    return value


def amount_problems(amount: Decimal | None, field_name: str = "amount") -> list[Problem]:
    """An amount must be given, positive, with at most two decimals, and plausible."""
    if amount is None:
        return [Problem(field_name, "amount_missing")]
    if amount <= 0:
        return [Problem(field_name, "amount_not_positive")]
    if amount != amount.quantize(CENT):
        return [Problem(field_name, "amount_decimals")]
    if amount > AMOUNT_MAX:
        return [Problem(field_name, "amount_too_large")]
    return []


def money(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT)


def total(lines: Iterable[Line]) -> Decimal:
    return money(sum((line.amount or ZERO for line in lines), ZERO))


# --- lines and claims ----------------------------------------------------------------------------------


def claim_open(status: str, valid_until: date, today: date) -> bool:
    """Lines may be added, deleted and submitted while the voucher is granted and not expired."""
    return status == "granted" and today <= valid_until


def line_problems(line: Line, terms: Terms, today: date) -> list[Problem]:
    problems: list[Problem] = []
    if line.category_id is None:
        problems.append(Problem("category_id", "category_missing"))
    elif line.category_id not in terms.categories:
        problems.append(Problem("category_id", "category_not_eligible"))
    if line.spent_on is None:
        problems.append(Problem("spent_on", "date_missing"))
    elif line.spent_on > today:
        problems.append(Problem("spent_on", "date_future"))
    elif line.spent_on < terms.granted_on or line.spent_on > terms.valid_until:
        problems.append(Problem("spent_on", "date_outside", {"start": terms.granted_on, "end": terms.valid_until}))
    description = (line.description or "").strip()
    if not description:
        problems.append(Problem("description", "description_missing"))
    elif len(description) > DESCRIPTION_MAX:
        problems.append(Problem("description", "description_too_long", {"max": DESCRIPTION_MAX}))
    problems.extend(amount_problems(line.amount))
    return problems


def adding_problems(line: Line, existing: Sequence[Line], terms: Terms, today: date) -> list[Problem]:
    """A new line: valid itself, with its receipt, and the claim's total within the voucher."""
    problems = line_problems(line, terms, today)
    if not line.has_receipt:
        problems.append(Problem("receipt", "receipt_missing"))
    if not any(p.field == "amount" for p in problems):
        claimed = total(existing)
        if claimed + line.amount > terms.amount:
            problems.append(Problem("amount", "total_over_voucher", {
                "total": money(claimed + line.amount), "voucher": money(terms.amount),
                "left": money(max(ZERO, terms.amount - claimed))}))
    return problems


def submission_problems(lines: Sequence[Line], terms: Terms, today: date, status: str = "granted") -> list[Problem]:
    """Everything that stops a claim from being submitted (field "" for the claim as a whole;
    "line:<n>" for the n-th line, counted from 1)."""
    if not claim_open(status, terms.valid_until, today):
        code = "claim_expired" if status == "granted" else "claim_closed"
        return [Problem("", code, {"end": terms.valid_until})]
    if not lines:
        return [Problem("", "no_lines")]
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        for problem in line_problems(line, terms, today):
            problems.append(Problem(f"line:{number}", problem.code, {**problem.params, "line": number}))
        if not line.has_receipt:
            problems.append(Problem(f"line:{number}", "receipt_missing", {"line": number}))
    claimed = total(lines)
    if claimed > terms.amount:
        problems.append(Problem("", "total_over_voucher", {
            "total": claimed, "voucher": money(terms.amount), "left": ZERO}))
    return problems


# --- the review ----------------------------------------------------------------------------------------

APPROVED, PARTLY, REJECTED = "approved", "partly", "rejected"
DECISIONS = (APPROVED, PARTLY, REJECTED)


@dataclass(frozen=True)
class Decision:
    """The staff's decision on one line, as typed."""

    decision: str | None
    amount: Decimal | None = None  # for "partly"
    reason: str = ""


@dataclass(frozen=True)
class Decided:
    decision: str
    approved_amount: Decimal
    reason: str | None


def decision_problems(decision: Decision, line_amount: Decimal) -> list[Problem]:
    if decision.decision not in DECISIONS:
        return [Problem("decision", "decision_missing")]
    problems: list[Problem] = []
    reason = (decision.reason or "").strip()
    if decision.decision == PARTLY:
        if decision.amount is None:
            problems.append(Problem("amount", "partly_amount_missing", {"line_amount": money(line_amount)}))
        elif decision.amount != decision.amount.quantize(CENT):
            problems.append(Problem("amount", "amount_decimals"))
        elif not ZERO < decision.amount < line_amount:
            problems.append(Problem("amount", "partly_amount_range", {"line_amount": money(line_amount)}))
    if decision.decision in (PARTLY, REJECTED) and not reason:
        problems.append(Problem("reason", "reason_missing"))
    if len(reason) > REASON_MAX:
        problems.append(Problem("reason", "reason_too_long", {"max": REASON_MAX}))
    return problems


def decided(decision: Decision, line_amount: Decimal) -> Decided:
    """The line's outcome from a decision without problems."""
    reason = (decision.reason or "").strip() or None
    if decision.decision == APPROVED:
        return Decided(APPROVED, money(line_amount), reason)
    if decision.decision == PARTLY:
        return Decided(PARTLY, money(decision.amount), reason)
    return Decided(REJECTED, ZERO, reason)


def approved_total(outcomes: Iterable[Decided], voucher_amount: Decimal) -> Decimal:
    """What the voucher pays: the sum approved, never above the voucher's amount."""
    return min(money(sum((o.approved_amount for o in outcomes), ZERO)), money(voucher_amount))


# --- the payment ---------------------------------------------------------------------------------------


def payable(status: str, approved_amount: Decimal | None) -> bool:
    return status == "approved" and approved_amount is not None and approved_amount > 0


def payment_problems(*, approved_amount: Decimal, reviewed_on: date | None, paid_on: date | None,
                     reference: str, amount: Decimal | None, today: date) -> list[Problem]:
    problems: list[Problem] = []
    if paid_on is None:
        problems.append(Problem("paid_on", "paid_on_missing"))
    elif paid_on > today:
        problems.append(Problem("paid_on", "paid_on_future"))
    elif reviewed_on is not None and paid_on < reviewed_on:
        problems.append(Problem("paid_on", "paid_before_review", {"reviewed_on": reviewed_on}))
    reference = (reference or "").strip()
    if not reference:
        problems.append(Problem("reference", "reference_missing"))
    elif len(reference) > REFERENCE_MAX:
        problems.append(Problem("reference", "reference_too_long", {"max": REFERENCE_MAX}))
    if amount is None:
        problems.append(Problem("amount", "amount_missing"))
    elif amount != money(approved_amount):
        problems.append(Problem("amount", "payment_not_approved_amount", {"approved": money(approved_amount)}))
    return problems
