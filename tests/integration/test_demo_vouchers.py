"""The demo's vouchers (stage 4), loaded by `flask demo`: the Meet the Buyer 2026 scheme and its
budget, vouchers in every state whose claims follow the claim rules, receipts stored as uploads,
applicant1's vouchers, the company close to the de minimis ceiling, the same rows on every load."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from opsapp import demo
from opsapp.accounts.models import Organisation, User
from opsapp.core.models import AuditEntry, StoredFile
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events.models import Event, Participant
from opsapp.extensions import db
from opsapp.vouchers import budget, claims, deminimis
from opsapp.vouchers.models import (
    DEMINIMIS_LEGAL_BASIS,
    DeclaredAid,
    ExpenseLine,
    LineDecision,
    Voucher,
    VoucherScheme,
)
from tests.factories import login

DOMAIN = "demo.opsapp.eu"
SCHEME = "Meet the Buyer 2026 travel vouchers"
TZ = "Europe/Rome"
CODES = {"travel", "accommodation", "registration_fee", "stand", "pitch_coaching"}


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


def today() -> date:
    return to_local(utcnow(), TZ).date()


def scheme() -> VoucherScheme:
    return db.session.scalar(select(VoucherScheme).where(VoucherScheme.name == SCHEME))


def vouchers() -> list[Voucher]:
    return list(db.session.scalars(select(Voucher).order_by(Voucher.id)))


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def company_of(email: str) -> Organisation:
    return next(m.organisation for m in user(email).memberships if m.role == "owner")


def local_day(moment) -> date:
    return to_local(moment, TZ).date()


def test_the_summary_describes_the_vouchers(demo_db):
    assert f"Vouchers: scheme {SCHEME}" in demo_db
    assert "6 granted, 4 claimed, 3 approved, 7 paid, 3 lapsed, 2 cancelled" in demo_db
    assert "is close to the ceiling with EUR 298,000.00" in demo_db


def test_the_scheme_and_its_budget(demo_db):
    s = scheme()
    assert s.edition.year == 2026 and s.edition.programme.kind == "meet_the_buyer"
    assert (s.budget, s.max_per_sme) == (Decimal("60000.00"), Decimal("2500.00"))
    assert (s.valid_from, s.valid_until) == (date(2026, 1, 1), date(2027, 3, 31)) or (
        s.valid_from <= date(2026, 1, 1) and s.valid_until >= date(2027, 3, 31))  # widened far from 2026
    assert s.outside_region_only is True
    assert (s.deminimis_ceiling, s.deminimis_years, s.legal_basis) == (Decimal("300000.00"), 3, DEMINIMIS_LEGAL_BASIS)
    assert {c.code for c in s.cost_categories} == CODES
    assert all(c.name_en and c.name_it and c.name_en != c.name_it and c.active for c in s.cost_categories)
    assert s.created_by_id == user(f"staff@{DOMAIN}").id and s.created_at.date() < s.valid_from

    rows = vouchers()
    figures = budget.summarise(s.budget, [(v.status, v.amount, v.approved_amount, v.paid_amount) for v in rows])
    assert Decimal(0) < figures.committed <= s.budget and figures.available > 0
    assert figures.granted == sum(v.amount for v in rows)
    by_status: dict[str, Decimal] = defaultdict(Decimal)
    for v in rows:
        by_status[v.status] += v.amount
    assert figures.outstanding == by_status["granted"] and figures.claimed == by_status["claimed"]
    assert figures.lapsed == by_status["lapsed"] and figures.cancelled == by_status["cancelled"]
    assert figures.approved == sum(v.approved_amount for v in rows if v.status == "approved")
    assert figures.paid == sum(v.paid_amount for v in rows if v.status == "paid")
    assert figures.committed == (by_status["granted"] + by_status["claimed"] + figures.approved + figures.paid)
    assert sum(by_status.values()) == figures.granted
    # No SME holds more than the maximum in live vouchers of the scheme.
    held: Counter = Counter()
    for v in rows:
        held[v.organisation_id] += budget.held(v.status, v.amount, v.approved_amount, v.paid_amount)
    assert max(held.values()) <= s.max_per_sme
    assert all(v.amount <= s.max_per_sme for v in rows)


def test_vouchers_in_every_state_follow_the_rules(demo_db):
    s = scheme()
    now, day = utcnow(), today()
    rows = vouchers()
    assert Counter(v.status for v in rows) == {"granted": 6, "claimed": 4, "approved": 3, "paid": 7, "lapsed": 3,
                                               "cancelled": 2}
    staff = user(f"staff@{DOMAIN}")
    mtb_smes = {p.organisation_id for p in db.session.scalars(select(Participant).where(Participant.side == "sme"))}
    for v in rows:
        org = v.organisation
        assert org.kind in ("startup", "sme") and org.nuts2_region == "ITC1" and org.id in mtb_smes, org.legal_name
        assert v.scheme_id == s.id and v.granted_by_id == staff.id and v.purpose
        assert s.valid_from <= v.granted_on <= v.valid_until <= s.valid_until
        assert s.created_at < v.granted_at < now and local_day(v.granted_at) == v.granted_on
        # A voucher's event must be of the scheme's edition and outside the region; none is linked, the
        # purpose names the trip (the 2026 edition's only event, Turin, is inside the region).
        if v.event_id is not None:
            assert v.event.edition_id == s.edition_id and v.event.outside_region
        if v.status == "granted":
            assert v.valid_until >= day and v.claimed_at is None and v.closed_at is None
            assert all(line.decision is None for line in v.lines)
        if v.status in ("claimed", "approved", "paid"):
            assert v.lines and v.claimed_at < now and v.claimed_by_id == org.memberships[0].user_id
            assert local_day(v.claimed_at) <= v.valid_until
        if v.status == "claimed":
            assert v.reviewed_at is None and all(line.decision is None for line in v.lines)
        if v.status in ("approved", "paid"):
            assert v.claimed_at < v.reviewed_at < now and v.reviewed_by_id == staff.id
            assert v.approved_amount == sum(line.approved_amount for line in v.lines) <= v.amount
            assert v.approved_amount > 0
        if v.status == "approved":
            assert v.paid_on is None and v.paid_amount is None
        if v.status == "paid":
            assert v.paid_amount == v.approved_amount and v.payment_reference
            assert claims.payment_problems(approved_amount=v.approved_amount, reviewed_on=local_day(v.reviewed_at),
                                           paid_on=v.paid_on, reference=v.payment_reference, amount=v.paid_amount,
                                           today=day) == []
        else:
            assert v.paid_on is None and v.payment_reference is None
        if v.status == "lapsed":
            assert v.valid_until < day and not v.lines and v.claimed_at is None
            assert v.valid_until < local_day(v.closed_at) < day
        if v.status == "cancelled":
            assert v.close_reason and v.claimed_at is None and v.granted_at < v.closed_at < now
        if v.status not in ("lapsed", "cancelled"):
            assert v.closed_at is None and v.close_reason is None
    # Some vouchers pay for the Milan event, outside the region, in a few weeks.
    milan = db.session.scalar(select(Event).where(Event.name == "Meet the Buyer 2027 – Milan"))
    assert milan.outside_region and sum(1 for v in rows if milan.name in v.purpose) >= 5


def test_claims_follow_the_claim_rules(demo_db, app):
    rows = vouchers()
    decisions: Counter = Counter()
    for v in rows:
        if not v.lines:
            continue
        categories = frozenset(c.id for c in v.scheme.cost_categories)
        terms = claims.Terms(amount=v.amount, granted_on=v.granted_on, valid_until=v.valid_until, categories=categories)
        plain = [claims.Line(line.category_id, line.spent_on, line.description, line.amount, line.receipt_id is not None)
                 for line in v.lines]
        # As the claim service checks on the day it was submitted (or today for a claim still open).
        on = local_day(v.claimed_at) if v.claimed_at else today()
        assert claims.submission_problems(plain, terms, on) == [], v.id
        assert claims.total(plain) <= v.amount
        for line in v.lines:
            stored = line.receipt
            assert stored.purpose == "voucher_receipt" and stored.organisation_id == v.organisation_id
            assert stored.content_type == "application/pdf" and stored.original_name.endswith(".pdf")
            content = (Path(app.config["UPLOAD_FOLDER"]) / stored.stored_name).read_bytes()
            assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF")
            assert hashlib.sha256(content).hexdigest() == stored.sha256 and len(content) == stored.size
            assert v.organisation.legal_name.encode("cp1252") in content
            assert line.spent_on <= local_day(stored.created_at)
            if v.claimed_at:
                assert stored.created_at < v.claimed_at
            if line.decision is not None:
                decisions[line.decision] += 1
                decision = claims.Decision(line.decision, line.approved_amount, line.decision_reason or "")
                assert claims.decision_problems(decision, line.amount) == []
                assert claims.decided(decision, line.amount).approved_amount == line.approved_amount
                assert bool(line.decision_reason) == (line.decision != LineDecision.APPROVED)
    assert set(decisions) == {"approved", "partly", "rejected"}
    assert decisions["approved"] > decisions["partly"] + decisions["rejected"]
    # Every receipt belongs to a line, and the lines cover the five categories.
    receipts = list(db.session.scalars(select(StoredFile).where(StoredFile.purpose == "voucher_receipt")))
    lines = list(db.session.scalars(select(ExpenseLine)))
    assert len(receipts) == len(lines) >= 30
    assert {line.category.code for line in lines} == CODES
    # A granted voucher has a claim started.
    assert any(v.status == "granted" and v.lines for v in rows)


def test_applicant1_has_a_voucher_to_claim_and_a_paid_one(demo_db):
    company = company_of(f"applicant1@{DOMAIN}")
    mine = [v for v in vouchers() if v.organisation_id == company.id]
    assert sorted(v.status for v in mine) == ["granted", "paid"]
    granted = next(v for v in mine if v.status == "granted")
    assert not granted.lines and claims.claim_open(granted.status, granted.valid_until, today())
    assert "Milan" in granted.purpose
    paid = next(v for v in mine if v.status == "paid")
    assert paid.paid_amount > 0 and paid.lines
    assert sum(budget.held(v.status, v.amount, v.approved_amount, v.paid_amount) for v in mine) <= Decimal("2500")


def rows_for(organisation_ids) -> tuple[list, list]:
    grants = [deminimis.Grant(v.id, v.organisation_id, v.granted_on, v.status, v.amount, v.approved_amount,
                              v.paid_amount) for v in vouchers() if v.organisation_id in organisation_ids]
    declared = [deminimis.DeclaredAid(a.id, a.organisation_id, a.granted_on, a.amount, a.grantor)
                for a in db.session.scalars(select(DeclaredAid).where(DeclaredAid.organisation_id.in_(organisation_ids)))]
    return grants, declared


def test_one_company_is_close_to_the_de_minimis_ceiling(demo_db):
    s = scheme()
    day = today()
    aid = list(db.session.scalars(select(DeclaredAid).order_by(DeclaredAid.id)))
    holders = {a.organisation_id for a in aid}
    assert len(holders) >= 5
    positions = {}
    for organisation_id in holders:
        grants, declared = rows_for({organisation_id})
        positions[organisation_id] = deminimis.position(grants, declared, day, s.deminimis_ceiling, s.deminimis_years)
    near = [o for o, p in positions.items() if p.headroom < s.deminimis_ceiling * s.warning_percent / 100]
    assert len(near) == 1
    position = positions[near[0]]
    company = db.session.get(Organisation, near[0])
    assert position.total == Decimal("298000.00") and position.headroom == Decimal("2000.00")
    # Its aid outside the three years is not counted; it holds no voucher of the scheme yet.
    mine = [a for a in aid if a.organisation_id == company.id]
    assert any(a.granted_on < position.window_start for a in mine) and len(mine) > len(position.items)
    assert not [v for v in vouchers() if v.organisation_id == company.id]
    assert not company.ownership_links  # its single undertaking is itself
    # A grant of the scheme's maximum is refused; up to the headroom it is allowed, with a warning.
    assert not deminimis.check(position, s.max_per_sme, s.warning_percent).allowed
    exactly = deminimis.check(position, Decimal("2000.00"), s.warning_percent)
    assert exactly.allowed and exactly.warning
    small = deminimis.check(position, Decimal("100.00"), s.warning_percent)
    assert small.allowed and small.warning
    # It is an SME of both events, so staff can try a grant for it.
    events = {p.event.name for p in db.session.scalars(select(Participant).where(
        Participant.organisation_id == company.id, Participant.side == "sme"))}
    assert len(events) == 2
    # Everyone else is far from the ceiling.
    assert all(p.headroom > Decimal("200000") for o, p in positions.items() if o != company.id)


def test_declared_aid_is_plausible(demo_db):
    day = today()
    for a in db.session.scalars(select(DeclaredAid)):
        assert a.grantor and a.description and a.amount > 0 and a.granted_on < day
        assert local_day(a.declared_at) > a.granted_on and a.declared_at < utcnow()
        assert a.declared_by_id == next(m.user_id for m in a.organisation.memberships if m.role == "owner")
        if a.application_id is not None:  # declared when applying, for aid received before
            assert a.application.organisation_id == a.organisation_id
            assert a.declared_at == a.application.submitted_at and a.granted_on < local_day(a.application.submitted_at)
    assert any(a.application_id for a in db.session.scalars(select(DeclaredAid)))
    assert {"Regione Piemonte", "Finpiemonte S.p.A.", "Camera di commercio di Torino"} <= {
        a.grantor for a in db.session.scalars(select(DeclaredAid))}


def test_the_vouchers_stage_writes_no_audit_entries(demo_db):
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.object_type.in_(
        ["vouchers", "voucher_schemes", "declared_aid", "voucher_expense_lines"]))).first()


def test_pages_show_the_demo_vouchers(app, loaded):
    if "vouchers.scheme_detail" not in app.view_functions or "vouchers.mine" not in app.view_functions:
        pytest.skip("the voucher pages are not there yet")
    with app.app_context():
        scheme_id = scheme().id
    staff = app.test_client()
    login(staff, f"staff@{DOMAIN}", demo.PASSWORD)
    page = staff.get(f"/vouchers/schemes/{scheme_id}")
    assert page.status_code == 200 and SCHEME in page.get_data(as_text=True)
    applicant = app.test_client()
    login(applicant, f"applicant1@{DOMAIN}", demo.PASSWORD)
    assert applicant.get("/vouchers").status_code == 200


def fingerprint() -> str:
    """Every vouchers row, without row ids and stored file names."""
    rows: list = []
    s = scheme()
    rows.append((s.name, s.description, s.legal_basis, s.budget, s.max_per_sme, s.valid_from, s.valid_until,
                 s.outside_region_only, s.deminimis_ceiling, s.deminimis_years, s.warning_percent, s.created_at,
                 s.edition.year, [(c.code, c.name_en, c.name_it, c.active) for c in s.cost_categories]))
    for v in vouchers():
        rows.append((v.organisation.vat_number, v.event and v.event.name, v.purpose, v.amount, v.granted_on,
                     v.valid_until, v.status, v.granted_at, v.claimed_at, v.approved_amount, v.reviewed_at,
                     v.paid_amount, v.paid_on, v.payment_reference, v.closed_at, v.close_reason,
                     [(line.category.code, line.spent_on, line.description, line.amount, line.decision,
                       line.approved_amount, line.decision_reason, line.receipt.original_name, line.receipt.sha256,
                       line.receipt.created_at) for line in v.lines]))
    rows.append(sorted(repr((a.organisation.vat_number, a.grantor, a.granted_on, a.amount, a.description,
                             a.declared_at, a.application_id is not None))
                       for a in db.session.scalars(select(DeclaredAid))))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_two_loads_write_the_same_vouchers(app, loaded):
    prints = []
    for again in (False, True):  # the module's load, then one more
        if again:
            with app.app_context():
                demo.load(reset=True)
                db.session.remove()
        with app.app_context():
            prints.append(fingerprint())
            db.session.remove()
    assert prints[0] == prints[1]
