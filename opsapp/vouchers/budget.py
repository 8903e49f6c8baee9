"""The budget of a voucher scheme, as arithmetic over plain rows (no database here).

Each voucher is a row `(status, amount, approved_amount, paid_amount)`. What a voucher holds
on the budget depends on its status:

- granted, claimed: its amount (the SME may claim all of it);
- approved: its approved amount (the rest went back to the budget at the review);
- paid: its paid amount;
- lapsed, cancelled: nothing (the amount went back to the budget).

The figures of a scheme: `granted` (every voucher ever granted, at its amount), `outstanding`
(granted and not claimed yet), `claimed`, `approved`, `paid` (at the amounts they hold),
`lapsed` and `cancelled` (at the amounts granted), `committed` (what the budget holds now),
`released` (what went back) and `available` = budget - committed. Everything is `Decimal`
quantized to cents, never a float, so thousands of small amounts add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from opsapp.core.money import to_money
from opsapp.vouchers.models import VoucherStatus

ZERO = Decimal("0.00")
S = VoucherStatus

# The figures of the budget view, in the order they are shown.
FIGURES = ("granted", "outstanding", "claimed", "approved", "paid", "lapsed", "cancelled", "committed",
           "available")

# The vouchers behind each figure (by their current status); `available` has none.
FIGURE_STATUSES: dict[str, tuple[VoucherStatus, ...]] = {
    "granted": tuple(VoucherStatus),
    "outstanding": (S.GRANTED,),
    "claimed": (S.CLAIMED,),
    "approved": (S.APPROVED,),
    "paid": (S.PAID,),
    "lapsed": (S.LAPSED,),
    "cancelled": (S.CANCELLED,),
    "committed": (S.GRANTED, S.CLAIMED, S.APPROVED, S.PAID),
}


def _money(value) -> Decimal:
    return ZERO if value is None else to_money(value)


def held(status: str, amount, approved_amount=None, paid_amount=None) -> Decimal:
    """What one voucher holds on the budget now; also the aid it counts for in the register.

    An approved voucher without an approved amount, or a paid one without a paid amount,
    holds the most it could still cost (the amount approved, else the amount granted)."""
    status = VoucherStatus(status)
    if status in (S.GRANTED, S.CLAIMED):
        return _money(amount)
    if status is S.APPROVED:
        return _money(amount if approved_amount is None else approved_amount)
    if status is S.PAID:
        if paid_amount is not None:
            return _money(paid_amount)
        return _money(amount if approved_amount is None else approved_amount)
    return ZERO


@dataclass(frozen=True)
class BudgetSummary:
    budget: Decimal
    granted: Decimal = ZERO
    outstanding: Decimal = ZERO
    claimed: Decimal = ZERO
    approved: Decimal = ZERO
    paid: Decimal = ZERO
    lapsed: Decimal = ZERO
    cancelled: Decimal = ZERO
    committed: Decimal = ZERO
    counts: dict[str, int] = field(default_factory=dict)  # vouchers behind each figure

    @property
    def available(self) -> Decimal:
        return self.budget - self.committed

    @property
    def released(self) -> Decimal:
        """What went back to the budget: lapsed and cancelled vouchers, and what was granted
        but not approved or not paid."""
        return self.granted - self.committed

    @property
    def used_percent(self) -> int:
        """The share of the budget committed, in whole percent (0 when there is no budget)."""
        if self.budget <= 0:
            return 0
        return int((self.committed * 100 / self.budget).to_integral_value(rounding=ROUND_FLOOR))

    def figure(self, name: str) -> Decimal:
        if name not in FIGURES:
            raise KeyError(name)
        return getattr(self, name)

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


Row = Sequence  # (status, amount, approved_amount, paid_amount)


def summarise(budget, rows: Iterable[Row]) -> BudgetSummary:
    """The figures of a scheme with this budget and these vouchers."""
    totals = {name: ZERO for name in FIGURE_STATUSES}
    counts = {name: 0 for name in FIGURE_STATUSES}
    for status, amount, approved_amount, paid_amount in rows:
        status = VoucherStatus(status)
        amount = _money(amount)
        holds = held(status, amount, approved_amount, paid_amount)
        totals["granted"] += amount
        counts["granted"] += 1
        if status is S.GRANTED:
            totals["outstanding"] += amount
            counts["outstanding"] += 1
        elif status is S.CLAIMED:
            totals["claimed"] += amount
            counts["claimed"] += 1
        elif status is S.APPROVED:
            totals["approved"] += holds
            counts["approved"] += 1
        elif status is S.PAID:
            totals["paid"] += holds
            counts["paid"] += 1
        elif status is S.LAPSED:
            totals["lapsed"] += amount
            counts["lapsed"] += 1
        else:
            totals["cancelled"] += amount
            counts["cancelled"] += 1
        if status in FIGURE_STATUSES["committed"]:
            totals["committed"] += holds
            counts["committed"] += 1
    return BudgetSummary(budget=_money(budget), counts=counts, **{k: to_money(v) for k, v in totals.items()})


def can_commit(summary: BudgetSummary, amount) -> bool:
    """Whether a new voucher of this amount fits in what is left of the budget."""
    amount = _money(amount)
    return ZERO < amount <= summary.available


def with_grant(summary: BudgetSummary, amount) -> BudgetSummary:
    """The figures after one more voucher of this amount is granted (no check here)."""
    amount = _money(amount)
    counts = dict(summary.counts)
    for name in ("granted", "outstanding", "committed"):
        counts[name] = counts.get(name, 0) + 1
    return BudgetSummary(
        budget=summary.budget, granted=summary.granted + amount, outstanding=summary.outstanding + amount,
        claimed=summary.claimed, approved=summary.approved, paid=summary.paid, lapsed=summary.lapsed,
        cancelled=summary.cancelled, committed=summary.committed + amount, counts=counts)
