"""People, their roles and sign-ins, and the organisations they belong to.

Users sign in with their e-mail. A sign-in is a row in `user_sessions`: the browser
holds only its random token, so signing out, changing the password or disabling the
account ends it on the server. Organisations are companies, buyers, hubs, investors
and universities; their size class follows the EU SME definition (see `sme.py`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsapp.accounts.sme import SizeClass  # noqa: F401  (the rule owns the classes)
from opsapp.core.modelling import BilingualName
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.core.types import Money, UTCDateTime
from opsapp.extensions import db


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Rome")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erasure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()  # the last accepted code's time step, never reused

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login asks for this on every request: the session token, not the user id.
    _session_token = None

    def get_id(self) -> str | None:
        return self._session_token

    # UserMixin compares users by get_id(), the session token, which is None for everyone but the
    # signed-in user; rows compare by identity (the session keeps one object per row).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.disabled_at is None and self.erased_at is None

    @property
    def roles(self) -> set[Role]:
        return {Role(r.role) for r in self.role_rows}

    def has_role(self, *roles: Role | str) -> bool:
        mine = {r.role for r in self.role_rows}
        return any(str(Role(r)) in mine for r in roles)

    def set_roles(self, roles) -> None:
        wanted = {str(Role(r)) for r in roles}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        for role in sorted(wanted - have):
            self.role_rows.append(UserRole(role=role))

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(back_populates="role_rows")

    __table_args__ = (
        UniqueConstraint("user_id", "role"),
        CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in Role)), name="known_role"),
    )


class UserSession(db.Model):
    """One sign-in. The browser's cookie holds the token; only its hash is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class TokenPurpose(enum.StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"
    INVITATION = "invitation"  # an account made by an admin: choose the first password


class AccountToken(db.Model):
    """A single-use, expiring token sent by e-mail (confirmation, password reset)."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time code that replaces the authenticator app once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- organisations -----------------------------------------------------------------


class OrganisationKind(enum.StrEnum):
    STARTUP = "startup"
    SME = "sme"
    LARGE_COMPANY = "large_company"
    CORPORATE_BUYER = "corporate_buyer"
    PUBLIC_BUYER = "public_buyer"
    INNOVATION_HUB = "innovation_hub"
    INCUBATOR = "incubator"
    TECHNOLOGY_PARK = "technology_park"
    INVESTOR = "investor"
    UNIVERSITY = "university"

    @property
    def label(self) -> str:
        return str(ORGANISATION_KIND_LABELS[self])

    @property
    def is_company(self) -> bool:
        return self in (OrganisationKind.STARTUP, OrganisationKind.SME, OrganisationKind.LARGE_COMPANY)

    @property
    def is_buyer(self) -> bool:
        return self in (OrganisationKind.CORPORATE_BUYER, OrganisationKind.PUBLIC_BUYER)


ORGANISATION_KIND_LABELS = {
    OrganisationKind.STARTUP: _l("Start-up"),
    OrganisationKind.SME: _l("SME"),
    OrganisationKind.LARGE_COMPANY: _l("Large company"),
    OrganisationKind.CORPORATE_BUYER: _l("Corporate buyer"),
    OrganisationKind.PUBLIC_BUYER: _l("Public buyer"),
    OrganisationKind.INNOVATION_HUB: _l("Innovation hub"),
    OrganisationKind.INCUBATOR: _l("Incubator"),
    OrganisationKind.TECHNOLOGY_PARK: _l("Technology park"),
    OrganisationKind.INVESTOR: _l("Investor"),
    OrganisationKind.UNIVERSITY: _l("University"),
}


organisation_s3_domains = Table(
    "organisation_s3_domains",
    db.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("s3_domain_id", ForeignKey("s3_domains.id", ondelete="CASCADE"), primary_key=True),
)


class S3Domain(BilingualName, db.Model):
    """A smart-specialisation (S3) priority domain of the region; an editable list."""

    __tablename__ = "s3_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_it: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)



class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    legal_name: Mapped[str] = mapped_column(String(200))
    vat_number: Mapped[str] = mapped_column(String(32), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    nuts2_region: Mapped[str | None] = mapped_column(String(4))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(200))
    founding_date: Mapped[date | None] = mapped_column(Date)
    nace_code: Mapped[str | None] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    # Size data of the last closed financial year (Recommendation 2003/361/EC).
    staff_headcount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # annual work units
    annual_turnover: Mapped[Decimal | None] = mapped_column(Money)
    balance_sheet_total: Mapped[Decimal | None] = mapped_column(Money)
    public_control: Mapped[bool] = mapped_column(Boolean, default=False)  # 25%+ held by public bodies
    size_class: Mapped[str | None] = mapped_column(String(10))  # kept in step by services.save_size()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    s3_domains: Mapped[list[S3Domain]] = relationship(secondary=organisation_s3_domains, lazy="selectin")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )
    ownership_links: Mapped[list[OwnershipLink]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="OwnershipLink.id"
    )

    __table_args__ = (
        CheckConstraint(
            "kind IN ({})".format(", ".join(f"'{k}'" for k in OrganisationKind)), name="known_kind"
        ),
        CheckConstraint("staff_headcount IS NULL OR staff_headcount >= 0", name="headcount_not_negative"),
        CheckConstraint("annual_turnover IS NULL OR annual_turnover >= 0", name="turnover_not_negative"),
        CheckConstraint("balance_sheet_total IS NULL OR balance_sheet_total >= 0", name="balance_not_negative"),
    )

    @property
    def kind_enum(self) -> OrganisationKind:
        return OrganisationKind(self.kind)

    def in_region(self, home_nuts2: str) -> bool:
        return (self.nuts2_region or "").upper() == home_nuts2.upper()

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.legal_name}>"


class MembershipRole(enum.StrEnum):
    OWNER = "owner"  # manages the profile and the members
    MEMBER = "member"


class Membership(db.Model):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default=MembershipRole.MEMBER)
    position: Mapped[str | None] = mapped_column(String(120))  # job title inside the organisation

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id"),
        CheckConstraint("role IN ('owner', 'member')", name="known_role"),
    )


class OwnershipLink(db.Model):
    """Another enterprise holding a share of this one, or held by it (partner or linked)."""

    __tablename__ = "ownership_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    enterprise_vat: Mapped[str | None] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(10), default="holds")  # "holds" us, or "held" by us
    share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    staff_headcount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0)
    annual_turnover: Mapped[Decimal] = mapped_column(Money, default=0)
    balance_sheet_total: Mapped[Decimal] = mapped_column(Money, default=0)

    organisation: Mapped[Organisation] = relationship(back_populates="ownership_links")

    __table_args__ = (
        CheckConstraint("share_percent > 0 AND share_percent <= 100", name="share_in_range"),
        CheckConstraint("direction IN ('holds', 'held')", name="known_direction"),
        CheckConstraint("staff_headcount >= 0", name="headcount_not_negative"),
        CheckConstraint("annual_turnover >= 0", name="turnover_not_negative"),
        CheckConstraint("balance_sheet_total >= 0", name="balance_not_negative"),
    )
