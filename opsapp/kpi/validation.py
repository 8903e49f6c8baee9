"""The rules for the figures of a follow-up survey and of a baseline, as pure functions.

A company types its figures as text ("1.250.000", "12,5", "EUR 90000"); `check_answers`
reads them, refuses what is missing, negative or inconsistent (export sales above sales,
high-skill employees above employees, a contract value without contracts, funding without
its source) with a message per field, and then compares the figures that describe the
company's size with the previous known ones (the last answered earlier wave, else the
baseline). A figure more than three times or less than a third of the previous one is a
"jump": likely a typo (a missing zero, euros typed as thousands), so it must be confirmed
before it is saved. Small bases do not trigger it: the change must also exceed EUR 50,000
or 5 FTE. Funding raised is not compared: it comes in rounds, so a big change is normal.

`check_baseline` reads the baseline figures staff correct, with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

MONEY_FIELDS = ("sales", "export_sales", "funding_raised", "contracts_value")
FTE_FIELDS = ("employees_fte", "high_skill_fte")
COUNT_FIELDS = ("new_markets", "corporate_partnerships", "contracts_signed")
# The figures of a survey, in the order the form asks them.
FIGURES = ("sales", "export_sales", "employees_fte", "high_skill_fte", "funding_raised",
           "new_markets", "corporate_partnerships", "contracts_signed", "contracts_value")
FUNDING_SOURCES = ("none", "public", "private", "both")
# The figures compared with the previous known ones; the baseline names them differently.
JUMP_FIELDS = ("sales", "export_sales", "employees_fte", "high_skill_fte")
BASELINE_OF = {"sales": "turnover", "export_sales": "export_turnover",
               "employees_fte": "employees_fte", "high_skill_fte": "high_skill_fte"}
JUMP_FACTOR = Decimal(3)
JUMP_MIN_MONEY = Decimal("50000")
JUMP_MIN_FTE = Decimal("5")

MONEY_MAX = Decimal("10000000000")  # EUR 10 billion: beyond it, a typo
FTE_MAX = Decimal("1000000")
COUNT_MAX = 100000
COMMENT_MAX = 2000
REASON_MAX = 2000
BASELINE_MONEY = ("turnover", "export_turnover", "investment_raised")
BASELINE_FTE = ("employees_fte", "high_skill_fte")
BASELINE_FIELDS = ("baseline_year", *BASELINE_MONEY[:2], *BASELINE_FTE, "investment_raised")

FIELD_NAMES = {
    "sales": _l("sales"),
    "export_sales": _l("export sales"),
    "employees_fte": _l("employees"),
    "high_skill_fte": _l("high-skill employees"),
    "funding_raised": _l("funding raised"),
    "funding_source": _l("source of the funding"),
    "new_markets": _l("new markets"),
    "corporate_partnerships": _l("partnerships with corporates"),
    "contracts_signed": _l("contracts signed"),
    "contracts_value": _l("value of the contracts"),
    "turnover": _l("turnover"),
    "export_turnover": _l("export turnover"),
    "investment_raised": _l("investment raised"),
    "baseline_year": _l("baseline year"),
}


def field_name(key: str) -> str:
    return str(FIELD_NAMES.get(key, key))


# --- numbers as people type them ----------------------------------------------------------------

_NOISE = re.compile(r"(?i)\s|eur|€|'")
_PLAIN = re.compile(r"[+-]?\d+(\.\d+)?")


class Unreadable(ValueError):
    """The text is not a number (`ambiguous`: "1.250" could be 1250 or 1.25)."""

    def __init__(self, ambiguous: bool = False):
        self.ambiguous = ambiguous
        super().__init__("ambiguous" if ambiguous else "unreadable")


def parse_number(value: object, thousands_likely: bool = True) -> Decimal | None:
    """A number as typed: "1250000", "1 250 000", "1.250.000,50", "1,250,000.50", "12,5", "EUR 90".

    None when nothing was typed. With `thousands_likely` (amounts in euros), a single separator
    followed by exactly three digits ("1.250") is refused as ambiguous; without it (FTE), a
    single separator is always the decimal mark.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise Unreadable()
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raw = _NOISE.sub("", str(value))
    if not raw:
        return None
    if "," in raw and "." in raw:
        mark = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if mark == "," else ","
        head, _sep, tail = raw.rpartition(mark)
        if not _grouped(head, thousands):
            raise Unreadable()
        raw = head.replace(thousands, "") + "." + tail
    elif "," in raw or "." in raw:
        mark = "," if "," in raw else "."
        if raw.count(mark) > 1:
            if not _grouped(raw, mark):
                raise Unreadable()
            raw = raw.replace(mark, "")
        else:
            head, _sep, tail = raw.partition(mark)
            if thousands_likely and len(tail) == 3 and head.lstrip("+-") not in ("", "0"):
                raise Unreadable(ambiguous=True)
            raw = head + "." + tail
    if not _PLAIN.fullmatch(raw):
        raise Unreadable()
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise Unreadable() from None


def _grouped(text: str, separator: str) -> bool:
    """"1.250.000" grouped by threes after the first group."""
    groups = text.lstrip("+-").split(separator)
    return bool(groups[0]) and len(groups[0]) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _money(key: str, raw: object, errors: dict, required: bool = True) -> Decimal | None:
    name = field_name(key)
    try:
        value = parse_number(raw)
    except Unreadable as problem:
        if problem.ambiguous:
            errors[key] = str(_l("Write the %(what)s without a thousands separator, like 1250000 or 1250000.50.",
                                 what=name))
        else:
            errors[key] = str(_l("Enter the %(what)s as a number of euros, like 1250000 or 1250000.50.", what=name))
        return None
    if value is None:
        if required:
            errors[key] = str(_l("Enter the %(what)s in euros; enter 0 if there were none.", what=name))
        return None
    if value < 0:
        errors[key] = str(_l("The %(what)s cannot be negative.", what=name))
        return None
    if _decimals(value) > 2:
        errors[key] = str(_l("Enter the %(what)s with at most two decimals (cents).", what=name))
        return None
    if value > MONEY_MAX:
        errors[key] = str(_l("Enter the %(what)s in euros, below 10 billion.", what=name))
        return None
    return value.quantize(Decimal("0.01"))


def _fte(key: str, raw: object, errors: dict, required: bool = True) -> Decimal | None:
    name = field_name(key)
    try:
        value = parse_number(raw, thousands_likely=False)
    except Unreadable:
        errors[key] = str(_l("Enter the %(what)s as a number of full-time equivalents, like 12 or 12.5.", what=name))
        return None
    if value is None:
        if required:
            errors[key] = str(_l("Enter the %(what)s in full-time equivalents; enter 0 if there were none.",
                                 what=name))
        return None
    if value < 0:
        errors[key] = str(_l("The %(what)s cannot be negative.", what=name))
        return None
    if _decimals(value) > 2:
        errors[key] = str(_l("Enter the %(what)s with at most two decimals, like 12.25.", what=name))
        return None
    if value > FTE_MAX:
        errors[key] = str(_l("Enter the %(what)s as a number of full-time equivalents, below one million.",
                             what=name))
        return None
    return value.quantize(Decimal("0.01"))


def _count(key: str, raw: object, errors: dict) -> int | None:
    name = field_name(key)
    try:
        value = parse_number(raw, thousands_likely=False)
    except Unreadable:
        value = Decimal("NaN")
    if value is None:
        errors[key] = str(_l("Enter the number of %(what)s; enter 0 if there were none.", what=name))
        return None
    if value.is_nan() or value != value.to_integral_value():
        errors[key] = str(_l("Enter the number of %(what)s as a whole number, like 0, 1 or 3.", what=name))
        return None
    if value < 0:
        errors[key] = str(_l("The number of %(what)s cannot be negative.", what=name))
        return None
    if value > COUNT_MAX:
        errors[key] = str(_l("Enter the number of %(what)s, below %(max)d.", what=name, max=COUNT_MAX))
        return None
    return int(value)


# --- the answers of a survey --------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """The figures of one financial year, read and checked."""

    sales: Decimal
    export_sales: Decimal
    employees_fte: Decimal
    high_skill_fte: Decimal
    funding_raised: Decimal
    funding_source: str
    new_markets: int
    corporate_partnerships: int
    contracts_signed: int
    contracts_value: Decimal
    comment: str | None = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in (*FIGURES, "funding_source", "comment")}


@dataclass(frozen=True)
class Jump:
    """A figure far from the previous known one: it must be confirmed."""

    field: str
    previous: Decimal
    new: Decimal

    @property
    def fte(self) -> bool:
        return self.field in FTE_FIELDS

    @property
    def name(self) -> str:
        return field_name(self.field)


@dataclass
class Checked:
    answers: Answers | None
    errors: dict[str, str] = field(default_factory=dict)
    jumps: list[Jump] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.answers is not None and not self.errors


def is_jump(previous: Decimal | None, new: Decimal, min_change: Decimal) -> bool:
    """More than three times or less than a third of the previous figure, and a change larger
    than `min_change` (so that 2 to 7 employees, or EUR 10,000 to 40,000, is not a jump)."""
    if previous is None:
        return False
    if abs(new - previous) <= min_change:
        return False
    return new > previous * JUMP_FACTOR or new * JUMP_FACTOR < previous


def jumps_of(answers: Mapping[str, Decimal], previous: Mapping[str, Decimal | None]) -> list[Jump]:
    found = []
    for key in JUMP_FIELDS:
        new, before = answers.get(key), previous.get(key)
        if new is None or before is None:
            continue
        threshold = JUMP_MIN_FTE if key in FTE_FIELDS else JUMP_MIN_MONEY
        if is_jump(Decimal(before), Decimal(new), threshold):
            found.append(Jump(key, Decimal(before), Decimal(new)))
    return found


def check_answers(raw: Mapping[str, object], previous: Mapping[str, Decimal | None] | None = None) -> Checked:
    """Read and check a survey's figures; `previous` holds the previous known figures by survey
    field (sales, export_sales, employees_fte, high_skill_fte), None where unknown."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for key in MONEY_FIELDS:
        values[key] = _money(key, raw.get(key), errors)
    for key in FTE_FIELDS:
        values[key] = _fte(key, raw.get(key), errors)
    for key in COUNT_FIELDS:
        values[key] = _count(key, raw.get(key), errors)

    source = str(raw.get("funding_source") or "").strip()
    funding = values["funding_raised"]
    if source and source not in FUNDING_SOURCES:
        errors["funding_source"] = str(_l("Choose where the funding came from."))
    elif funding is not None:
        if funding == 0:
            source = "none"
        elif source in ("", "none"):
            errors["funding_source"] = str(_l("Funding was raised: say whether it was public, private or both."))

    sales, export = values["sales"], values["export_sales"]
    if sales is not None and export is not None and export > sales:
        errors["export_sales"] = str(_l("Export sales are part of the sales: they cannot be more than the sales."))
    employees, high_skill = values["employees_fte"], values["high_skill_fte"]
    if employees is not None and high_skill is not None and high_skill > employees:
        errors["high_skill_fte"] = str(_l("High-skill employees are part of the employees: they cannot be more "
                                          "than the employees."))
    signed, value = values["contracts_signed"], values["contracts_value"]
    if signed == 0 and value is not None and value != 0:
        errors["contracts_value"] = str(_l("No contract was signed: the value of the contracts must be 0."))

    comment = str(raw.get("comment") or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        errors["comment"] = str(_l("Write the comment in at most %(n)d characters.", n=COMMENT_MAX))

    if errors:
        return Checked(None, errors)
    answers = Answers(funding_source=source, comment=comment, **values)  # type: ignore[arg-type]
    return Checked(answers, {}, jumps_of(values, previous or {}))  # type: ignore[arg-type]


# --- the baseline -------------------------------------------------------------------------------


@dataclass
class BaselineChecked:
    values: dict[str, object] = field(default_factory=dict)  # BaselineKey value -> int | Decimal | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_baseline(raw: Mapping[str, object]) -> BaselineChecked:
    """Read the baseline figures staff type (each may be left empty when unknown): the year,
    turnover, export turnover, employees and high-skill employees (FTE), investment raised."""
    checked = BaselineChecked()
    errors = checked.errors
    year_raw = raw.get("baseline_year")
    year = None
    if year_raw not in (None, ""):
        text = str(year_raw).strip()
        if not re.fullmatch(r"\d{4}", text) or not 2000 <= int(text) <= 2100:
            errors["baseline_year"] = str(_l("Enter the year as four digits, like 2026."))
        else:
            year = int(text)
    checked.values["baseline_year"] = year
    for key in BASELINE_MONEY:
        checked.values[key] = _money(key, raw.get(key), errors, required=False)
    for key in BASELINE_FTE:
        checked.values[key] = _fte(key, raw.get(key), errors, required=False)
    turnover, export = checked.values["turnover"], checked.values["export_turnover"]
    if turnover is not None and export is not None and export > turnover:
        errors["export_turnover"] = str(_l("Export turnover is part of the turnover: it cannot be more than the "
                                           "turnover."))
    employees, high_skill = checked.values["employees_fte"], checked.values["high_skill_fte"]
    if employees is not None and high_skill is not None and high_skill > employees:
        errors["high_skill_fte"] = str(_l("High-skill employees are part of the employees: they cannot be more "
                                          "than the employees."))
    return checked
