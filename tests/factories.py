"""Builders for test data, through the real models and services (no mocks)."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

from opsapp.accounts.models import Membership, Organisation, S3Domain, User
from opsapp.accounts.organisations import DEFAULT_S3_DOMAINS
from opsapp.accounts.passwords import hash_password
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)

S3_DOMAINS = DEFAULT_S3_DOMAINS


def make_user(email: str | None = None, roles=(Role.APPLICANT,), password: str = PASSWORD,
              confirmed: bool = True, **fields) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.eu",
        full_name=fields.pop("full_name", f"Test User {n}"),
        password_hash=hash_password(password),
        email_confirmed_at=utcnow() if confirmed else None,
        **fields,
    )
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    return user


def make_s3_domains() -> list[S3Domain]:
    domains = []
    for code, en, it in S3_DOMAINS:
        d = db.session.query(S3Domain).filter_by(code=code).one_or_none()
        if d is None:
            d = S3Domain(code=code, name_en=en, name_it=it)
            db.session.add(d)
        domains.append(d)
    db.session.flush()
    return domains


_VAT_SEQ = itertools.count(1000001)


def italian_vat(n: int | None = None) -> str:
    """A valid Italian VAT number (partita IVA): a 7-digit company number, the office code of
    Torino (001) and the check digit."""
    base = f"{(n or next(_VAT_SEQ)) % 10_000_000:07d}001"
    total = 0
    for i, ch in enumerate(base):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    check = (10 - total % 10) % 10
    return f"IT{base}{check}"


def make_organisation(kind: str = "sme", members=(), owner: User | None = None, **fields) -> Organisation:
    n = next(_seq)
    org = Organisation(
        kind=kind,
        legal_name=fields.pop("legal_name", f"Test Company {n} S.r.l."),
        vat_number=fields.pop("vat_number", italian_vat()),
        country=fields.pop("country", "IT"),
        nuts2_region=fields.pop("nuts2_region", "ITC1"),
        staff_headcount=fields.pop("staff_headcount", Decimal("12")),
        annual_turnover=fields.pop("annual_turnover", Decimal("1500000")),
        balance_sheet_total=fields.pop("balance_sheet_total", Decimal("900000")),
        **fields,
    )
    db.session.add(org)
    db.session.flush()
    if owner is not None:
        db.session.add(Membership(user_id=owner.id, organisation_id=org.id, role="owner"))
    for member in members:
        db.session.add(Membership(user_id=member.id, organisation_id=org.id, role="member"))
    db.session.flush()
    return org


def login(client, email: str, password: str = PASSWORD, follow: bool = False):
    """Sign in through the real form (CSRF token included)."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=follow)
