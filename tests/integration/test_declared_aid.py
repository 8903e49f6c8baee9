"""Aid declared from other grantors and the per-company aid history, through the browser's eyes.

A member declares aid (grantor, date, amount, description), on the organisation's page or in an
application of a Meet the Buyer call; bad input is refused next to the field with nothing saved;
the history shows the vouchers, the declared aid, the single undertaking and the position under
the ceiling; members delete a declaration only while no voucher was granted after it, staff
always; everything audited. Erasure keeps vouchers and declared aid (de minimis records, ten
years). Real database, CSRF on."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import Organisation, User
from opsapp.calls.models import ProgrammeKind
from opsapp.core import privacy
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.vouchers import grants
from opsapp.vouchers.models import DeclaredAid, Voucher
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_application, make_call, make_edition
from tests.factories_vouchers import make_declared_aid, make_scheme, make_voucher

D = Decimal


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_errors(response) -> dict[str, str]:
    found = re.findall(r'class="field-error" id="([^"]+)-error">([^<]*)<', response.get_data(as_text=True))
    return {name: html.unescape(message) for name, message in found}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def declare(client, organisation_id, query="", **data):
    url = f"/organisations/{organisation_id}/aid/declare{query}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    form = {"csrf_token": token, "grantor": "Regione Piemonte", "granted_on": "2025-03-14", "amount": "12,500.00",
            "description": "Innovation grant"}
    form.update(data)
    return client.post(url, data=form)


@pytest.fixture
def world(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        alfa = make_user("alfa@example.eu", roles=[Role.APPLICANT], full_name="Alfa Owner")
        beta = make_user("beta@example.eu", roles=[Role.APPLICANT], full_name="Beta Owner")
        org_a = make_organisation(owner=alfa, legal_name="Alfa Meccanica S.r.l.")
        org_b = make_organisation(owner=beta, legal_name="Beta Sensori S.p.A.")
        db.session.commit()
        return {"org_a": org_a.id, "org_b": org_b.id, "alfa": alfa.id}


def test_a_member_declares_aid_and_sees_it_in_the_history(app, world):
    alfa = client_of(app, "alfa@example.eu")
    r = declare(alfa, world["org_a"])
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/organisations/{world['org_a']}/aid")
    with app.app_context():
        [aid] = db.session.scalars(select(DeclaredAid))
        assert (aid.grantor, aid.amount, aid.granted_on, aid.description, aid.declared_by_id, aid.application_id) == (
            "Regione Piemonte", D("12500.00"), date(2025, 3, 14), "Innovation grant", world["alfa"], None)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.aid_declared",
                                                           AuditEntry.object_type == "declared_aid"))
        assert entry.detail["amount"] == "12500.00" and entry.actor_id == world["alfa"]
    page = text(alfa.get(f"/organisations/{world['org_a']}/aid"))
    assert "Regione Piemonte" in page and "EUR 12,500.00" in page
    counted = grants.today() - date(2025, 3, 14) < timedelta(days=365 * 3)
    assert ("EUR 287,500.00 left under the ceiling of EUR 300,000.00" in page) == counted
    assert "alone" in page  # no linked enterprise


def test_bad_input_is_refused_next_to_the_field_and_nothing_saved(app, world):
    alfa = client_of(app, "alfa@example.eu")
    tomorrow = (grants.today() + timedelta(days=1)).isoformat()
    r = declare(alfa, world["org_a"], grantor="  ", granted_on=tomorrow, amount="-100")
    assert r.status_code == 200
    errors = field_errors(r)
    assert errors["grantor"] == "Enter who granted the aid, for example Regione Piemonte."
    assert errors["granted_on"] == "The date cannot be in the future: declare aid already granted."
    assert errors["amount"] == "The amount must be more than zero."
    r = declare(alfa, world["org_a"], amount="twelve", granted_on="14/03/2025x", description="x" * 2001)
    errors = field_errors(r)
    assert errors["amount"].startswith("Write the amount in EUR")
    assert errors["granted_on"].startswith("Enter the date as day, month and year")
    assert errors["description"] == "Write at most 2000 characters."
    assert 'value="twelve"' in r.get_data(as_text=True)
    with app.app_context():
        assert count(DeclaredAid) == 0
    # The same aid twice is refused.
    assert declare(alfa, world["org_a"]).status_code == 302
    r = declare(alfa, world["org_a"])
    assert r.status_code == 200 and "This aid is already declared" in text(r)
    with app.app_context():
        assert count(DeclaredAid) == 1


def test_declared_in_an_application_of_a_meet_the_buyer_call(app, world):
    with app.app_context():
        call = make_call(edition=make_edition(2027, ProgrammeKind.MEET_THE_BUYER), title="Meet the Buyer 2027")
        mine = make_application(call, db.session.get(Organisation, world["org_a"]),
                                by=db.session.get(User, world["alfa"]))
        theirs = make_application(call, db.session.get(Organisation, world["org_b"]))
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    alfa = client_of(app, "alfa@example.eu")
    page = text(alfa.get(f"/applications/{mine_id}"))
    assert "Declare de minimis aid received" in page
    assert f"/organisations/{world['org_a']}/aid/declare?application={mine_id}" in page
    assert alfa.get(f"/organisations/{world['org_a']}/aid/declare?application={theirs_id}").status_code == 404
    assert alfa.get(f"/organisations/{world['org_a']}/aid/declare?application=abc").status_code == 404
    r = declare(alfa, world["org_a"], query=f"?application={mine_id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/applications/{mine_id}")
    with app.app_context():
        assert db.session.scalar(select(DeclaredAid.application_id)) == mine_id
    assert "in application" in text(alfa.get(f"/organisations/{world['org_a']}/aid"))


def test_the_organisation_page_links_to_the_declaration(app, world):
    page = text(client_of(app, "alfa@example.eu").get(f"/organisations/{world['org_a']}"))
    assert "Declare de minimis aid received" in page and f"/organisations/{world['org_a']}/aid/declare" in page


def _delete(client, organisation_id, aid_id):
    token = csrf_from(client.get(f"/organisations/{organisation_id}/aid").get_data(as_text=True))
    return client.post(f"/organisations/{organisation_id}/aid/{aid_id}/delete", data={"csrf_token": token},
                       follow_redirects=True)


def test_members_delete_a_declaration_only_until_a_voucher_is_granted_after_it(app, world):
    with app.app_context():
        org_a = db.session.get(Organisation, world["org_a"])
        first = make_declared_aid(org_a, "1000.00", grantor="Camera di Commercio")
        second = make_declared_aid(org_a, "2000.00", grantor="Ministero")
        db.session.commit()
        first_id, second_id = first.id, second.id
    alfa = client_of(app, "alfa@example.eu")
    r = _delete(alfa, world["org_a"], first_id)
    assert "The declaration of the aid from Camera di Commercio is deleted." in text(r)
    with app.app_context():
        assert db.session.get(DeclaredAid, first_id) is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.declared_aid_deleted",
                                                           AuditEntry.object_type == "declared_aid"))
        assert entry.detail["grantor"] == "Camera di Commercio" and entry.detail["amount"] == "1000.00"
        # A voucher granted after the declaration: the grant may rely on it.
        make_voucher(make_scheme(), db.session.get(Organisation, world["org_a"]),
                     granted_at=utcnow() + timedelta(seconds=1))
        db.session.commit()
    page = text(alfa.get(f"/organisations/{world['org_a']}/aid"))
    assert f"/aid/{second_id}/delete" not in page
    r = _delete(alfa, world["org_a"], second_id)
    assert "it can no longer be deleted" in text(r)
    with app.app_context():
        assert db.session.get(DeclaredAid, second_id) is not None
    # Another SME cannot; staff always can.
    beta = client_of(app, "beta@example.eu")
    token = csrf_from(beta.get(f"/organisations/{world['org_b']}/aid").get_data(as_text=True))
    assert beta.post(f"/organisations/{world['org_a']}/aid/{second_id}/delete",
                     data={"csrf_token": token}).status_code == 404
    assert beta.post(f"/organisations/{world['org_b']}/aid/{second_id}/delete",
                     data={"csrf_token": token}).status_code == 404
    staff = client_of(app, "staff@example.eu")
    assert "is deleted" in text(_delete(staff, world["org_a"], second_id))
    with app.app_context():
        assert count(DeclaredAid) == 0


def test_the_history_shows_the_vouchers_and_the_position_today(app, world):
    with app.app_context():
        org_a = db.session.get(Organisation, world["org_a"])
        scheme = make_scheme()
        make_voucher(scheme, org_a, amount="2000.00")
        make_voucher(scheme, org_a, amount="1000.00", status=grants.V.CANCELLED)
        make_declared_aid(org_a, "100000.00")
        db.session.commit()
    page = text(client_of(app, "staff@example.eu").get(f"/organisations/{world['org_a']}/aid"))
    assert "EUR 102,000.00 of aid in the three years to" in page
    assert "EUR 198,000.00 left under the ceiling of EUR 300,000.00" in page
    assert "Cancelled" in page and "EUR 0.00" in page  # a cancelled voucher counts nothing


# --- privacy ---------------------------------------------------------------------------------------------


def test_erasure_keeps_vouchers_and_declared_aid_for_ten_years(app, world):
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.eu"))
        org_a = db.session.get(Organisation, world["org_a"])
        alfa = db.session.get(User, world["alfa"])
        scheme = make_scheme()
        recent = make_voucher(scheme, org_a, granted_by_id=staff.id, claimed_by_id=alfa.id)
        old = make_voucher(scheme, org_a, granted_by_id=staff.id, claimed_by_id=alfa.id,
                           granted_on=date(2012, 5, 1), valid_until=date(2012, 9, 1),
                           status=grants.V.PAID, paid_amount=D("1500.00"))
        aid = make_declared_aid(org_a, "5000.00", declared_by_id=alfa.id)
        db.session.commit()
        summary = privacy.erasure_summary(alfa)
        kept = {t: item for item in summary.kept for t in item.tables}
        assert kept["vouchers"].count == 2 and kept["declared_aid"].count == 1
        assert "ten years" in str(kept["vouchers"].reason)
        assert kept["vouchers"].until == date(recent.granted_on.year + 10, 12, 31)
        assert str(privacy.table_label("declared_aid")) == "De minimis aid declared"
        # After the erasure the records stay; once the ten years are over the name goes.
        alfa.erased_at = utcnow()
        db.session.commit()
        assert privacy.anonymise_expired(datetime(2026, 1, 1, tzinfo=UTC)) >= 1
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Voucher, old.id).claimed_by_id is None
        assert db.session.get(Voucher, old.id).granted_by_id == staff.id  # not the erased person
        assert db.session.get(Voucher, recent.id).claimed_by_id == world["alfa"]
        assert db.session.get(DeclaredAid, aid.id).declared_by_id == world["alfa"]
