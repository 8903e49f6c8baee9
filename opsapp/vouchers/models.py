"""Vouchers: schemes, the vouchers granted under them, claims with expense lines, and the aid
companies declared from other sources (for the de minimis ceiling).

A scheme belongs to a programme edition and carries its budget, the maximum per SME,
the eligible cost categories, the validity period, whether only events outside the region
qualify, and the de minimis ceiling and period. A voucher is granted to an organisation
(usually for an event), claimed with expense lines and receipts, reviewed line by line,
and paid; or it lapses unclaimed, or is cancelled. Money is exact (integer cents in the
database through `core.types.Money`), and check constraints keep amounts non-negative.

The lifecycle lives in `states.py`; the ceiling in `deminimis.py`; the budget arithmetic
in `budget.py`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.models import Organisation, User
from opsapp.calls.models import Application, Edition
from opsapp.core.modelling import BilingualName, sql_in
from opsapp.core.models import StoredFile
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.events.models import Event
from opsapp.extensions import db

DEMINIMIS_CEILING = Decimal("300000.00")  # Regulation (EU) 2023/2831, Article 3(2)
DEMINIMIS_YEARS = 3
DEMINIMIS_LEGAL_BASIS = "Regulation (EU) 2023/2831 (de minimis aid)"



class CostCategory(BilingualName, db.Model):
    """An eligible cost category (travel, accommodation, ...); the list is editable by staff."""

    __tablename__ = "cost_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_it: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)



scheme_cost_categories = Table(
    "scheme_cost_categories",
    db.metadata,
    Column("scheme_id", ForeignKey("voucher_schemes.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("cost_categories.id"), primary_key=True),
)


class VoucherScheme(db.Model):
    __tablename__ = "voucher_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(300), default=DEMINIMIS_LEGAL_BASIS)
    budget: Mapped[Decimal] = mapped_column(Money)
    max_per_sme: Mapped[Decimal] = mapped_column(Money)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    outside_region_only: Mapped[bool] = mapped_column(Boolean, default=True)
    deminimis_ceiling: Mapped[Decimal] = mapped_column(Money, default=DEMINIMIS_CEILING)
    deminimis_years: Mapped[int] = mapped_column(Integer, default=DEMINIMIS_YEARS)
    # A grant leaving less headroom under the ceiling than this share of it is warned about.
    warning_percent: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    edition: Mapped[Edition] = relationship()
    cost_categories: Mapped[list[CostCategory]] = relationship(secondary=scheme_cost_categories,
                                                               order_by=CostCategory.code)
    vouchers: Mapped[list[Voucher]] = relationship(back_populates="scheme")

    __table_args__ = (
        CheckConstraint("budget >= 0", name="budget_not_negative"),
        CheckConstraint("max_per_sme > 0", name="max_positive"),
        CheckConstraint("valid_until >= valid_from", name="valid_period"),
        CheckConstraint("deminimis_ceiling > 0", name="ceiling_positive"),
        CheckConstraint("deminimis_years BETWEEN 1 AND 10", name="plausible_period"),
        CheckConstraint("warning_percent BETWEEN 0 AND 100", name="warning_in_range"),
    )


class VoucherStatus(enum.StrEnum):
    GRANTED = "granted"      # committed on the budget, waiting for the SME's claim
    CLAIMED = "claimed"      # claim submitted (frozen), waiting for staff review
    APPROVED = "approved"    # reviewed: the approved amount is what will be paid
    PAID = "paid"
    LAPSED = "lapsed"        # not claimed by its expiry: the amount returned to the budget
    CANCELLED = "cancelled"  # cancelled by staff: the amount returned to the budget

    @property
    def label(self) -> str:
        return str(VOUCHER_STATUS_LABELS[self])


VOUCHER_STATUS_LABELS = {
    VoucherStatus.GRANTED: _l("Granted"),
    VoucherStatus.CLAIMED: _l("Claimed"),
    VoucherStatus.APPROVED: _l("Approved"),
    VoucherStatus.PAID: _l("Paid"),
    VoucherStatus.LAPSED: _l("Lapsed"),
    VoucherStatus.CANCELLED: _l("Cancelled"),
}


class Voucher(db.Model):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("voucher_schemes.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    purpose: Mapped[str | None] = mapped_column(Text)  # the event or the services it pays for
    amount: Mapped[Decimal] = mapped_column(Money)  # granted (committed on the budget)
    granted_on: Mapped[date] = mapped_column(Date)  # the date of the aid, for de minimis
    valid_until: Mapped[date] = mapped_column(Date)  # claim by this date, or it lapses
    status: Mapped[str] = mapped_column(String(20), default=VoucherStatus.GRANTED.value)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # lapsed or cancelled
    close_reason: Mapped[str | None] = mapped_column(Text)

    scheme: Mapped[VoucherScheme] = relationship(back_populates="vouchers")
    organisation: Mapped[Organisation] = relationship()
    event: Mapped[Event | None] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    lines: Mapped[list[ExpenseLine]] = relationship(back_populates="voucher", order_by="ExpenseLine.id",
                                                    cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(VoucherStatus)}", name="known_status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_amount IS NULL OR (approved_amount >= 0 AND approved_amount <= amount)",
                        name="approved_within_amount"),
        CheckConstraint("paid_amount IS NULL OR paid_amount >= 0", name="paid_not_negative"),
        CheckConstraint("valid_until >= granted_on", name="valid_after_grant"),
    )

    @property
    def status_enum(self) -> VoucherStatus:
        return VoucherStatus(self.status)


class LineDecision(enum.StrEnum):
    APPROVED = "approved"
    PARTLY = "partly"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str({LineDecision.APPROVED: _l("Approved"), LineDecision.PARTLY: _l("Partly approved"),
                    LineDecision.REJECTED: _l("Rejected")}[self])


class ExpenseLine(db.Model):
    """One expense of a claim, with its receipt; reviewed by staff."""

    __tablename__ = "voucher_expense_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("cost_categories.id"))
    spent_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    decision: Mapped[str | None] = mapped_column(String(20))
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    voucher: Mapped[Voucher] = relationship(back_populates="lines")
    category: Mapped[CostCategory] = relationship()
    receipt: Mapped[StoredFile | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_amount IS NULL OR (approved_amount >= 0 AND approved_amount <= amount)",
                        name="approved_within_amount"),
        CheckConstraint(f"decision IS NULL OR decision IN {sql_in(LineDecision)}", name="known_decision"),
    )


class DeclaredAid(db.Model):
    """De minimis aid a company received from other grantors, as it declared it."""

    __tablename__ = "declared_aid"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    grantor: Mapped[str] = mapped_column(String(200))
    granted_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(Text)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))  # declared when applying
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    application: Mapped[Application | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("organisation_id", "grantor", "granted_on", "amount", name="uq_declared_aid"),
    )
