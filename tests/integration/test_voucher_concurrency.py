"""Grants under concurrent requests: twenty staff members grant at the same moment, each in their
own thread, application context and database session, through the service (`grants.grant`).

- Twenty SMEs, a budget with room for three vouchers: exactly three are granted, the others are
  refused with the budget's figures, and the budget is exact (committed = 3 x the amount).
- One SME close to the de minimis ceiling (declared aid), room for three vouchers under it:
  exactly three are granted, the others refused with the ceiling's figures.

The scheme's row (and the organisations' rows) are locked on PostgreSQL; SQLite's immediate
transactions let one writer in at a time. Runs on the suite's database (SQLite, or PostgreSQL
with OPSAPP_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import User
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers import grants, schemes
from opsapp.vouchers.models import Voucher, VoucherScheme
from opsapp.vouchers.pages import VoucherError
from tests.factories import make_organisation, make_user
from tests.factories_vouchers import make_declared_aid, make_scheme

ATTEMPTS = 20
D = Decimal


def _race(app, staff_id: int, scheme_id: int, organisation_ids: list[int], amount: str):
    """Each grant by its own thread at once; returns (granted voucher ids, refusals, errors)."""
    barrier = threading.Barrier(len(organisation_ids))
    granted: list[int] = []
    refusals: list[str] = []
    errors: list[BaseException] = []

    def worker(organisation_id: int):
        with app.app_context():
            try:
                barrier.wait(30)
                actor = db.session.get(User, staff_id)
                data = grants.GrantData(organisation_id=organisation_id, amount=D(amount),
                                        granted_on=grants.today(), purpose="Stand at the fair", confirmed=True)
                voucher = grants.grant(actor, scheme_id, data)
                db.session.commit()
                granted.append(voucher.id)
            except VoucherError as error:
                db.session.rollback()
                refusals.append(str(error.message))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(o,)) for o in organisation_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    return granted, refusals, errors


@pytest.fixture
def staff(app):
    with app.app_context():
        user = make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
        return user.id


def test_twenty_grants_against_a_budget_with_room_for_three_leave_exactly_three(app, staff):
    with app.app_context():
        scheme = make_scheme(budget="3500.00", max_per_sme="2500.00")
        smes = [make_organisation(legal_name=f"Concurrent SME {n} S.r.l.").id for n in range(ATTEMPTS)]
        scheme_id = scheme.id
        db.session.commit()
    granted, refusals, errors = _race(app, staff, scheme_id, smes, "1000.00")
    assert errors == []
    assert len(granted) == 3 and len(refusals) == ATTEMPTS - 3
    assert all("left of its budget" in m for m in refusals), set(refusals)
    with app.app_context():
        assert db.session.scalar(select(func.count(Voucher.id))) == 3
        figures = schemes.summary(db.session.get(VoucherScheme, scheme_id))
        assert (figures.committed, figures.available) == (D("3000.00"), D("500.00"))
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "vouchers.granted")) == 3
        # Each grant saw the budget the previous ones left: 3,500, 2,500, 1,500 available before.
        seen = sorted(e.detail["budget"]["available_before"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "vouchers.granted")))
        assert seen == ["1500.00", "2500.00", "3500.00"]


def test_twenty_grants_to_one_sme_near_the_ceiling_leave_exactly_three(app, staff):
    with app.app_context():
        scheme = make_scheme(budget="100000.00", max_per_sme="50000.00", warning_percent=0)
        sme = make_organisation(legal_name="Nearly Full S.r.l.")
        make_declared_aid(sme, "297000.00")
        scheme_id, sme_id = scheme.id, sme.id
        db.session.commit()
    granted, refusals, errors = _race(app, staff, scheme_id, [sme_id] * ATTEMPTS, "1000.00")
    assert errors == []
    assert len(granted) == 3 and len(refusals) == ATTEMPTS - 3
    assert all("over the ceiling of EUR 300,000.00" in m for m in refusals), set(refusals)
    with app.app_context():
        assert db.session.scalar(select(func.sum(Voucher.amount))) == D("3000.00")
        figures = schemes.summary(db.session.get(VoucherScheme, scheme_id))
        assert figures.committed == D("3000.00")
