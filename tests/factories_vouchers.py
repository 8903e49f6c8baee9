"""Builders for vouchers, through the real models (no mocks).

`make_scheme(budget="10000.00", max_per_sme="2500.00")` gives a scheme of the Meet the Buyer
2027 edition with the five usual cost categories, valid over this year;
`make_voucher(scheme, organisation, amount="1500.00")` a granted voucher;
`make_declared_aid(organisation, "250000.00", granted_on=...)` aid declared from elsewhere.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.vouchers.models import CostCategory, DeclaredAid, Voucher, VoucherScheme, VoucherStatus
from tests.factories_calls import make_edition

CATEGORIES = (
    ("travel", "Travel", "Viaggio"),
    ("accommodation", "Accommodation", "Alloggio"),
    ("registration_fee", "Registration fee", "Quota di iscrizione"),
    ("stand", "Stand", "Stand espositivo"),
    ("pitch_coaching", "Pitch coaching", "Coaching per il pitch"),
)


def make_cost_categories() -> list[CostCategory]:
    existing = {c.code: c for c in db.session.scalars(select(CostCategory))}
    for code, en, it in CATEGORIES:
        if code not in existing:
            existing[code] = CostCategory(code=code, name_en=en, name_it=it)
            db.session.add(existing[code])
    db.session.flush()
    return [existing[code] for code, _, _ in CATEGORIES]


def make_scheme(budget="10000.00", max_per_sme="2500.00", **fields) -> VoucherScheme:
    today = utcnow().date()
    scheme = VoucherScheme(
        edition_id=fields.pop("edition_id", None) or make_edition(2027, ProgrammeKind.MEET_THE_BUYER).id,
        name=fields.pop("name", "Meet the Buyer travel vouchers 2027"),
        description=fields.pop("description", "Travel and stands at events outside the region."),
        budget=Decimal(budget),
        max_per_sme=Decimal(max_per_sme),
        valid_from=fields.pop("valid_from", date(today.year, 1, 1)),
        valid_until=fields.pop("valid_until", date(today.year + 1, 12, 31)),
        outside_region_only=fields.pop("outside_region_only", True),
        **fields,
    )
    scheme.cost_categories = make_cost_categories()
    db.session.add(scheme)
    db.session.flush()
    return scheme


def make_voucher(scheme: VoucherScheme, organisation, amount="1500.00",
                 status: VoucherStatus = VoucherStatus.GRANTED, **fields) -> Voucher:
    today = utcnow().date()
    voucher = Voucher(
        scheme_id=scheme.id,
        organisation_id=organisation.id,
        amount=Decimal(amount),
        granted_on=fields.pop("granted_on", today),
        valid_until=fields.pop("valid_until", today + timedelta(days=90)),
        status=status.value,
        purpose=fields.pop("purpose", "Travel to a Meet the Buyer event"),
        **fields,
    )
    db.session.add(voucher)
    db.session.flush()
    return voucher


def make_declared_aid(organisation, amount, granted_on: date | None = None, grantor: str = "Regione Lombardia",
                      **fields) -> DeclaredAid:
    aid = DeclaredAid(organisation_id=organisation.id, grantor=grantor, amount=Decimal(amount),
                      granted_on=granted_on or utcnow().date() - timedelta(days=200), **fields)
    db.session.add(aid)
    db.session.flush()
    return aid
