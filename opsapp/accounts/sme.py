"""The EU SME size class of an enterprise (Commission Recommendation 2003/361/EC), as a pure rule.

`classify()` takes the enterprise's own figures (staff headcount in annual work units,
annual turnover, balance-sheet total), the enterprises related to it by ownership
(upstream or downstream, with the share held) and whether public bodies control 25%
or more of it, and answers micro, small, medium or large with the figures it counted
and the reasons, as codes with parameters so the caller can say them in the user's
language. Partner enterprises (25% to 50% held) count pro rata, linked ones (over
50%) in full, those under 25% not at all. A missing figure gives no class and says
which. Plain data in and out: no Flask, no database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PARTNER_FROM = Decimal(25)  # Art. 3(2): 25% or more makes a partner enterprise
LINKED_ABOVE = Decimal(50)  # Art. 3(3): a majority of the voting rights makes a linked enterprise


class SizeClass(enum.StrEnum):
    """The EU size classes; `models` imports them from here, so the rule needs no database."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def rank(self) -> int:
        return list(SizeClass).index(self)

    @property
    def is_sme(self) -> bool:
        return self is not SizeClass.LARGE


@dataclass(frozen=True)
class Ceiling:
    """Art. 2: fewer than `staff_below` AWU, and turnover or balance-sheet total within its ceiling."""

    size_class: SizeClass
    staff_below: Decimal
    turnover_max: Decimal
    balance_max: Decimal


CEILINGS: tuple[Ceiling, ...] = (
    Ceiling(SizeClass.MICRO, Decimal(10), Decimal(2_000_000), Decimal(2_000_000)),
    Ceiling(SizeClass.SMALL, Decimal(50), Decimal(10_000_000), Decimal(10_000_000)),
    Ceiling(SizeClass.MEDIUM, Decimal(250), Decimal(50_000_000), Decimal(43_000_000)),
)

FIGURE_NAMES = ("staff_headcount", "annual_turnover", "balance_sheet_total")


@dataclass(frozen=True)
class Figures:
    """Staff headcount in annual work units, turnover and balance-sheet total in EUR; None when unknown."""

    staff_headcount: Decimal | None = None
    annual_turnover: Decimal | None = None
    balance_sheet_total: Decimal | None = None

    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in FIGURE_NAMES if getattr(self, name) is None)


class Relationship(enum.StrEnum):
    AUTONOMOUS = "autonomous"  # under 25%: not counted
    PARTNER = "partner"  # 25% to 50%: counted pro rata
    LINKED = "linked"  # over 50%: counted in full


def relationship_for(share_percent: Decimal) -> Relationship:
    if share_percent > LINKED_ABOVE:
        return Relationship.LINKED
    if share_percent >= PARTNER_FROM:
        return Relationship.PARTNER
    return Relationship.AUTONOMOUS


@dataclass(frozen=True)
class RelatedEnterprise:
    """An enterprise holding a share of ours, or held by ours; the direction does not change the count."""

    name: str
    share_percent: Decimal
    figures: Figures

    @property
    def relationship(self) -> Relationship:
        return relationship_for(self.share_percent)


class ReasonCode(enum.StrEnum):
    PUBLIC_CONTROL = "public_control"  # Art. 3(4): not an SME, whatever the figures
    MISSING = "missing"  # params: enterprise (None for our own), figures (names)
    RELATED_IGNORED = "related_ignored"  # params: name, share
    RELATED_PRO_RATA = "related_pro_rata"  # params: name, share, staff, turnover, balance (the part counted)
    RELATED_IN_FULL = "related_in_full"  # params: name, share, staff, turnover, balance
    TOTALS = "totals"  # params: staff, turnover, balance
    STAFF_NOT_BELOW = "staff_not_below"  # params: size_class, staff, limit
    FINANCE_OVER = "finance_over"  # params: size_class, turnover, turnover_max, balance, balance_max
    WITHIN = "within"  # params: size_class, staff, limit, measure, amount, ceiling


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SizeAssessment:
    """The class (None when it cannot be told), the figures counted, and why."""

    size_class: SizeClass | None
    figures: Figures | None
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...] = ()

    @property
    def classified(self) -> bool:
        return self.size_class is not None

    @property
    def is_sme(self) -> bool:
        return self.size_class is not None and self.size_class.is_sme


# --- the rule ---------------------------------------------------------------------


def classify(own: Figures, related: Sequence[RelatedEnterprise] = (), public_control: bool = False) -> SizeAssessment:
    """The size class of an enterprise from its own figures and those of its related enterprises."""
    gaps = _missing(own, related)
    if public_control:
        figures = None if gaps else aggregate(own, related)[0]
        return SizeAssessment(SizeClass.LARGE, figures, (Reason(ReasonCode.PUBLIC_CONTROL),))
    if gaps:
        reasons = tuple(Reason(ReasonCode.MISSING, {"enterprise": who, "figures": names}) for who, names in gaps)
        return SizeAssessment(None, None, reasons, missing=tuple(n for _, names in gaps for n in names))
    totals, related_reasons = aggregate(own, related)
    size_class, class_reasons = size_class_of(totals)
    if any(r.code is not ReasonCode.RELATED_IGNORED for r in related_reasons):
        related_reasons += (Reason(ReasonCode.TOTALS, _figure_params(totals)),)
    return SizeAssessment(size_class, totals, related_reasons + class_reasons)


def aggregate(own: Figures, related: Sequence[RelatedEnterprise]) -> tuple[Figures, tuple[Reason, ...]]:
    """Own figures plus partner enterprises pro rata and linked ones in full (Art. 6)."""
    staff, turnover, balance = own.staff_headcount, own.annual_turnover, own.balance_sheet_total
    reasons: list[Reason] = []
    for enterprise in related:
        part = counted_part(enterprise)
        params = {"name": enterprise.name, "share": enterprise.share_percent}
        if part is None:
            reasons.append(Reason(ReasonCode.RELATED_IGNORED, params))
            continue
        code = ReasonCode.RELATED_IN_FULL if enterprise.relationship is Relationship.LINKED else ReasonCode.RELATED_PRO_RATA
        reasons.append(Reason(code, params | _figure_params(part)))
        staff += part.staff_headcount
        turnover += part.annual_turnover
        balance += part.balance_sheet_total
    return Figures(staff, turnover, balance), tuple(reasons)


def counted_part(enterprise: RelatedEnterprise) -> Figures | None:
    """The share of a related enterprise's figures that counts, or None when it does not count.

    Each part is rounded to the cent (staff to the hundredth of an AWU) so that the parts
    shown to the user add up exactly to the totals compared with the ceilings.
    """
    relationship = enterprise.relationship
    if relationship is Relationship.AUTONOMOUS:
        return None
    factor = Decimal(1) if relationship is Relationship.LINKED else enterprise.share_percent / HUNDRED
    f = enterprise.figures
    return Figures(_cents(f.staff_headcount * factor), _cents(f.annual_turnover * factor),
                   _cents(f.balance_sheet_total * factor))


def size_class_of(totals: Figures) -> tuple[SizeClass, tuple[Reason, ...]]:
    """The smallest class whose ceilings the figures respect, with why not the one below."""
    reasons: list[Reason] = []
    for ceiling in CEILINGS:
        within = _within(totals, ceiling)
        if within is not None:
            reasons.append(within)
            return ceiling.size_class, tuple(reasons[-2:])
        reasons.append(_why_not(totals, ceiling))
    return SizeClass.LARGE, (reasons[-1],)


# --- helpers ----------------------------------------------------------------------


def _missing(own: Figures, related: Sequence[RelatedEnterprise]) -> list[tuple[str | None, tuple[str, ...]]]:
    gaps = [(None, own.missing())] if own.missing() else []
    for enterprise in related:
        # An enterprise under 25% does not count, so its figures are not needed.
        if enterprise.relationship is not Relationship.AUTONOMOUS and enterprise.figures.missing():
            gaps.append((enterprise.name, enterprise.figures.missing()))
    return gaps


def _within(totals: Figures, ceiling: Ceiling) -> Reason | None:
    if totals.staff_headcount >= ceiling.staff_below:
        return None
    # Art. 2: turnover OR balance-sheet total within its ceiling is enough.
    if totals.annual_turnover <= ceiling.turnover_max:
        measure, amount, limit = "annual_turnover", totals.annual_turnover, ceiling.turnover_max
    elif totals.balance_sheet_total <= ceiling.balance_max:
        measure, amount, limit = "balance_sheet_total", totals.balance_sheet_total, ceiling.balance_max
    else:
        return None
    return Reason(ReasonCode.WITHIN, {
        "size_class": ceiling.size_class, "staff": totals.staff_headcount, "limit": ceiling.staff_below,
        "measure": measure, "amount": amount, "ceiling": limit,
    })


def _why_not(totals: Figures, ceiling: Ceiling) -> Reason:
    if totals.staff_headcount >= ceiling.staff_below:
        return Reason(ReasonCode.STAFF_NOT_BELOW, {
            "size_class": ceiling.size_class, "staff": totals.staff_headcount, "limit": ceiling.staff_below,
        })
    return Reason(ReasonCode.FINANCE_OVER, {
        "size_class": ceiling.size_class,
        "turnover": totals.annual_turnover, "turnover_max": ceiling.turnover_max,
        "balance": totals.balance_sheet_total, "balance_max": ceiling.balance_max,
    })


def _figure_params(figures: Figures) -> dict[str, Decimal | None]:
    return {"staff": figures.staff_headcount, "turnover": figures.annual_turnover,
            "balance": figures.balance_sheet_total}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
