"""Granting, seeing, cancelling and lapsing vouchers through the browser's eyes.

Staff grant a voucher (the budget committed at once, the SME's members told, the grant audited
with the de minimis and budget figures); a grant over the de minimis ceiling, beyond the budget
left, beyond the maximum per SME, or for an event inside the region under an outside-only
scheme is refused with the figures and nothing saved; little headroom asks for a confirmation.
Staff cancel with a reason (the amount returns); the daily job lapses unclaimed vouchers once;
another SME never sees a voucher or an aid history that is not its own (404); the lists and
their exports. Real database, CSRF on."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from opsapp.accounts.models import OwnershipLink, User
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import Side
from opsapp.extensions import db
from opsapp.vouchers import grants, schemes
from opsapp.vouchers.models import Voucher, VoucherScheme, VoucherStatus
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_participant
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


def notices_to(email) -> list[Notification]:
    user = db.session.scalar(select(User).where(User.email == email))
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def grant_url(scheme_id) -> str:
    return f"/vouchers/schemes/{scheme_id}/grant"


def post_grant(client, scheme_id, **data):
    token = csrf_from(client.get(grant_url(scheme_id)).get_data(as_text=True))
    form = {"csrf_token": token, "organisation_id": "", "event_id": "0", "purpose": "", "amount": "",
            "granted_on": grants.today().isoformat(), "valid_until": ""}
    form.update({k: str(v) for k, v in data.items()})
    return client.post(grant_url(scheme_id), data=form)


def summary_of(scheme_id):
    db.session.expire_all()
    return schemes.summary(db.session.get(VoucherScheme, scheme_id))


@pytest.fixture
def world(app):
    """Staff; SME Alfa (owner Alfa) taking part in an event outside the region of the scheme's
    edition; SME Beta (owner Beta); an event inside the region; a scheme of EUR 10,000.00 with
    at most EUR 10,000.00 per SME, for events outside the region only."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        alfa = make_user("alfa@example.eu", roles=[Role.APPLICANT], full_name="Alfa Owner")
        beta = make_user("beta@example.eu", roles=[Role.APPLICANT], full_name="Beta Owner")
        org_a = make_organisation(owner=alfa, legal_name="Alfa Meccanica S.r.l.")
        org_b = make_organisation(owner=beta, legal_name="Beta Sensori S.p.A.")
        make_organisation(kind="corporate_buyer", legal_name="Buyer Corp S.p.A.")
        scheme = make_scheme(budget="10000.00", max_per_sme="10000.00")
        outside = make_event(name="Meet the Buyer Munich", outside_region=True, edition_id=scheme.edition_id)
        inside = make_event(name="Meet the Buyer Torino", outside_region=False, edition_id=scheme.edition_id)
        make_participant(outside, Side.SME, user=alfa, organisation=org_a)
        db.session.commit()
        return {"scheme": scheme.id, "org_a": org_a.id, "org_b": org_b.id, "outside": outside.id,
                "inside": inside.id}


@pytest.fixture
def staff(app, world):
    return client_of(app, "staff@example.eu")


# --- the grant form -------------------------------------------------------------------------------------


def test_the_form_lists_the_edition_s_participants_first_and_preselects(app, world, staff):
    page = staff.get(f"{grant_url(world['scheme'])}?organisation={world['org_a']}&event={world['outside']}")
    assert page.status_code == 200
    body = text(page)
    assert body.index("Taking part in the edition's events") < body.index("Alfa Meccanica") < body.index(
        "Other start-ups and SMEs") < body.index("Beta Sensori")
    assert "Buyer Corp" not in body  # not a start-up or SME
    assert re.search(rf'<option selected value="{world["org_a"]}"|<option value="{world["org_a"]}" selected',
                     page.get_data(as_text=True))
    assert "Meet the Buyer Torino (in the region: does not qualify)" in body
    assert "De minimis position today:" in body and "EUR 300,000.00" in body


def test_a_grant_commits_the_budget_tells_the_sme_and_is_audited(app, world, staff, outbox):
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="2,500.00")
    assert r.status_code == 302
    with app.app_context():
        voucher = db.session.scalar(select(Voucher))
        assert r.headers["Location"].endswith(f"/vouchers/{voucher.id}")
        assert (voucher.status, voucher.amount, voucher.organisation_id, voucher.event_id) == (
            "granted", D("2500.00"), world["org_a"], world["outside"])
        assert voucher.valid_until == db.session.get(VoucherScheme, world["scheme"]).valid_until
        figures = summary_of(world["scheme"])
        assert (figures.committed, figures.available) == (D("2500.00"), D("7500.00"))
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "vouchers.granted"))
        assert entry.object_type == "vouchers" and entry.object_id == str(voucher.id)
        assert entry.detail["amount"] == "2500.00"
        assert entry.detail["deminimis"]["total_before"] == "0.00"
        assert entry.detail["deminimis"]["total_after"] == "2500.00"
        assert entry.detail["budget"] == {"budget": "10000.00", "committed_before": "0.00",
                                          "available_before": "10000.00", "available_after": "7500.00"}
        [notice] = notices_to("alfa@example.eu")
        assert notice.link == f"/vouchers/{voucher.id}"
        assert notices_to("beta@example.eu") == []
        voucher_id = voucher.id
    [mail] = [m for m in outbox() if m["To"] == "alfa@example.eu"]
    assert "EUR 2,500.00" in mail.get_body(preferencelist=("plain",)).get_content()
    # The SME sees its voucher with the conditions.
    alfa = client_of(app, "alfa@example.eu")
    page = text(alfa.get(f"/vouchers/{voucher_id}"))
    assert "Granted" in page and "EUR 2,500.00" in page and "Meet the Buyer Munich" in page
    assert "Eligible costs:" in page and "Travel" in page and "outside the region" in page
    assert "Claim the expenses" in page and "Voucher granted" in page  # the action and the timeline
    assert "Cancel the voucher" not in page


def test_over_the_de_minimis_ceiling_is_refused_with_the_figures_and_nothing_saved(app, world, staff):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        make_declared_aid(db.session.get(Organisation, world["org_a"]), "295000.00",
                          granted_on=grants.today() - timedelta(days=400))
        db.session.commit()
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="6000.00")
    assert r.status_code == 200
    message = field_errors(r)["amount"]
    assert "EUR 295,000.00 of aid in the three years to" in message
    assert "this grant of EUR 6,000.00 would bring it to EUR 301,000.00, over the ceiling of EUR 300,000.00" in message
    assert "At most EUR 5,000.00 can still be granted" in message
    assert 'value="6000.00"' in r.get_data(as_text=True)  # what was typed is kept
    with app.app_context():
        assert count(Voucher) == 0 and count(AuditEntry, AuditEntry.action == "vouchers.granted") == 0
        assert summary_of(world["scheme"]).committed == 0
    # Exactly at the ceiling is allowed (it leaves no headroom: confirmed).
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="5000.00", confirm="y")
    assert r.status_code == 302


def test_little_headroom_warns_and_needs_a_confirmation(app, world, staff):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        make_declared_aid(db.session.get(Organisation, world["org_a"]), "265000.00")
        db.session.commit()
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="6000.00")
    assert r.status_code == 200
    body = text(r)
    assert "Little headroom under the de minimis ceiling" in body
    assert "would bring it to EUR 271,000.00, leaving EUR 29,000.00 under the ceiling of EUR 300,000.00" in body
    assert 'name="confirm"' in body
    with app.app_context():
        assert count(Voucher) == 0
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="6000.00", confirm="y")
    assert r.status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.granted"))
        assert entry.detail["warning_confirmed"] is True and entry.detail["deminimis"]["warning"] is True


def test_beyond_the_budget_left_is_refused_with_the_figures(app, world, staff):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        scheme = db.session.get(VoucherScheme, world["scheme"])
        scheme.budget = D("3000.00")
        make_voucher(scheme, db.session.get(Organisation, world["org_b"]), amount="2000.00")
        db.session.commit()
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="1500.00")
    assert r.status_code == 200
    assert field_errors(r)["amount"] == ("The scheme has EUR 1,000.00 left of its budget of EUR 3,000.00 "
                                         "(EUR 2,000.00 committed): a voucher of EUR 1,500.00 does not fit.")
    with app.app_context():
        assert count(Voucher) == 1
    assert post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                      amount="1000.00").status_code == 302


def test_beyond_the_maximum_per_sme_counting_its_other_live_vouchers_is_refused(app, world, staff):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        scheme = db.session.get(VoucherScheme, world["scheme"])
        scheme.max_per_sme = D("2500.00")
        org_a = db.session.get(Organisation, world["org_a"])
        make_voucher(scheme, org_a, amount="2000.00")
        make_voucher(scheme, org_a, amount="2500.00", status=VoucherStatus.CANCELLED)  # does not count
        db.session.commit()
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="1000.00")
    assert r.status_code == 200
    assert field_errors(r)["amount"] == (
        "Alfa Meccanica S.r.l. already holds EUR 2,000.00 in vouchers of this scheme; with this one it would hold "
        "EUR 3,000.00, more than the maximum of EUR 2,500.00 per SME. At most EUR 500.00 can still be granted to it.")
    assert post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                      amount="500.00").status_code == 302


def test_an_event_inside_the_region_does_not_qualify_for_an_outside_only_scheme(app, world, staff):
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["inside"],
                   amount="1000.00")
    assert r.status_code == 200
    assert field_errors(r)["event_id"] == ("Meet the Buyer Torino is not outside the region: this scheme pays only "
                                           "for events outside the region.")
    with app.app_context():
        assert count(Voucher) == 0
        scheme = db.session.get(VoucherScheme, world["scheme"])
        scheme.outside_region_only = False
        db.session.commit()
    assert post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["inside"],
                      amount="1000.00").status_code == 302


def test_bad_input_is_refused_next_to_each_field(app, world, staff):
    with app.app_context():
        scheme = db.session.get(VoucherScheme, world["scheme"])
        end = scheme.valid_until
        other_event = make_event(name="Elsewhere", outside_region=True)  # another edition
        db.session.commit()
        other_event_id = other_event.id
    r = post_grant(staff, world["scheme"], organisation_id="", amount="-5", purpose="")
    errors = field_errors(r)
    assert r.status_code == 200
    assert errors["organisation_id"] == "Choose the start-up or SME receiving the voucher."
    assert errors["amount"] == "The amount must be more than zero."
    assert errors["purpose"] == "Choose the event, or describe the services the voucher pays for."
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=other_event_id, amount="abc",
                   granted_on=(end + timedelta(days=1)).isoformat(),
                   valid_until=(end + timedelta(days=2)).isoformat())
    errors = field_errors(r)
    assert errors["event_id"] == "Choose an event of the scheme's edition, or none for services."
    assert errors["amount"].startswith("Write the amount in EUR")
    assert errors["granted_on"].startswith("The grant date must be within the scheme's validity")
    assert errors["valid_until"].startswith("The voucher cannot be valid after the scheme")
    r = post_grant(staff, world["scheme"], organisation_id=99999, purpose="Coaching", amount="10.0011")
    errors = field_errors(r)
    assert "organisation_id" in errors and errors["amount"] == "Use at most two decimals (cents)."
    with app.app_context():
        assert count(Voucher) == 0
    # For services: a purpose and no event.
    r = post_grant(staff, world["scheme"], organisation_id=world["org_b"], purpose="Pitch coaching before the fair",
                   amount="800")
    assert r.status_code == 302
    with app.app_context():
        voucher = db.session.scalar(select(Voucher))
        assert voucher.event_id is None and voucher.purpose == "Pitch coaching before the fair"


def test_only_staff_grant(app, world):
    alfa = client_of(app, "alfa@example.eu")
    assert alfa.get(grant_url(world["scheme"])).status_code == 403
    assert app.test_client().get(grant_url(world["scheme"])).status_code in (302, 401)


def test_a_linked_enterprise_s_aid_counts_towards_the_ceiling(app, world, staff):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        holding = make_organisation(kind="large_company", legal_name="Alfa Holding S.p.A.")
        org_a = db.session.get(Organisation, world["org_a"])
        db.session.add(OwnershipLink(organisation_id=org_a.id, enterprise_name="Alfa Holding",
                                     enterprise_vat=holding.vat_number[2:], direction="holds",
                                     share_percent=D("60")))
        make_declared_aid(holding, "297000.00")
        db.session.commit()
    r = post_grant(staff, world["scheme"], organisation_id=world["org_a"], event_id=world["outside"],
                   amount="5000.00")
    assert r.status_code == 200 and "EUR 297,000.00 of aid" in field_errors(r)["amount"]
    page = text(staff.get(f"/organisations/{world['org_a']}/aid"))
    assert "Alfa Holding S.p.A." in page and "registered here" in page and "EUR 297,000.00" in page


# --- the voucher page, cancelling ------------------------------------------------------------------------------


def _voucher(app, world, org="org_a", **fields) -> int:
    with app.app_context():
        from opsapp.accounts.models import Organisation

        voucher = make_voucher(db.session.get(VoucherScheme, world["scheme"]),
                               db.session.get(Organisation, world[org]), **fields)
        db.session.commit()
        return voucher.id


def test_another_sme_cannot_see_the_voucher_nor_the_aid_history(app, world):
    voucher_id = _voucher(app, world)
    beta = client_of(app, "beta@example.eu")
    assert beta.get(f"/vouchers/{voucher_id}").status_code == 404
    assert beta.get(f"/organisations/{world['org_a']}/aid").status_code == 404
    assert beta.get(f"/organisations/{world['org_a']}/aid/declare").status_code == 404
    assert beta.get("/vouchers/999999").status_code == 404
    assert "Alfa Meccanica" not in text(beta.get("/vouchers"))
    alfa = client_of(app, "alfa@example.eu")
    assert alfa.get(f"/vouchers/{voucher_id}").status_code == 200
    assert alfa.get(f"/organisations/{world['org_a']}/aid").status_code == 200
    assert client_of(app, "staff@example.eu").get(f"/vouchers/{voucher_id}").status_code == 200


def test_staff_cancel_with_a_reason_and_the_amount_returns(app, world, staff):
    voucher_id = _voucher(app, world, amount="1500.00")
    page = staff.get(f"/vouchers/{voucher_id}")
    assert "Cancel the voucher" in text(page)
    token = csrf_from(page.get_data(as_text=True))
    r = staff.post(f"/vouchers/{voucher_id}/cancel", data={"csrf_token": token, "reason": "  "})
    assert r.status_code == 200
    assert field_errors(r)["reason"] == "Give the reason for cancelling: the company reads it."
    with app.app_context():
        assert db.session.get(Voucher, voucher_id).status == "granted"
        assert summary_of(world["scheme"]).committed == D("1500.00")
    r = staff.post(f"/vouchers/{voucher_id}/cancel", data={"csrf_token": token, "reason": "The event was cancelled."},
                   follow_redirects=True)
    assert "EUR 1,500.00 returned to the scheme's budget" in text(r)
    with app.app_context():
        voucher = db.session.get(Voucher, voucher_id)
        assert voucher.status == "cancelled" and voucher.closed_at is not None
        assert voucher.close_reason == "The event was cancelled."
        figures = summary_of(world["scheme"])
        assert (figures.committed, figures.available, figures.cancelled) == (0, D("10000.00"), D("1500.00"))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.status_changed"))
        assert entry.detail["new"] == "cancelled" and entry.detail["reason"] == "The event was cancelled."
        [notice] = notices_to("alfa@example.eu")
        assert "cancelled" in notice.subject and notice.link == f"/vouchers/{voucher_id}"
    alfa_page = text(client_of(app, "alfa@example.eu").get(f"/vouchers/{voucher_id}"))
    assert "Cancelled" in alfa_page and "The event was cancelled." in alfa_page
    # Cancelled once: the button is gone and a second cancel is refused without change.
    assert "Cancel the voucher" not in text(staff.get(f"/vouchers/{voucher_id}"))
    r = staff.post(f"/vouchers/{voucher_id}/cancel", data={"csrf_token": token, "reason": "Again"},
                   follow_redirects=True)
    assert "it can no longer be cancelled" in text(r)


def test_an_sme_cannot_cancel(app, world):
    voucher_id = _voucher(app, world)
    alfa = client_of(app, "alfa@example.eu")
    token = csrf_from(alfa.get(f"/vouchers/{voucher_id}").get_data(as_text=True))
    assert alfa.post(f"/vouchers/{voucher_id}/cancel", data={"csrf_token": token, "reason": "x"}).status_code == 403
    with app.app_context():
        assert db.session.get(Voucher, voucher_id).status == "granted"


# --- lapsing --------------------------------------------------------------------------------------------------


def test_the_lapse_job_run_twice_lapses_once_and_returns_the_amount(app, world):
    today = grants.today()
    due = _voucher(app, world, amount="1200.00", granted_on=today - timedelta(days=60),
                   valid_until=today - timedelta(days=1))
    still_valid = _voucher(app, world, amount="800.00", granted_on=today - timedelta(days=60), valid_until=today)
    claimed = _voucher(app, world, org="org_b", amount="700.00", status=VoucherStatus.CLAIMED,
                       granted_on=today - timedelta(days=60), valid_until=today - timedelta(days=1))
    with app.app_context():
        assert grants.lapse_due(utcnow()) == 1
        db.session.commit()
        assert grants.lapse_due(utcnow()) == 0
        db.session.commit()
        statuses = {v.id: v.status for v in db.session.scalars(select(Voucher))}
        assert statuses == {due: "lapsed", still_valid: "granted", claimed: "claimed"}
        assert db.session.get(Voucher, due).closed_at is not None
        figures = summary_of(world["scheme"])
        assert (figures.committed, figures.lapsed) == (D("1500.00"), D("1200.00"))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.status_changed"))
        assert entry.actor_id is None and entry.detail["new"] == "lapsed"
        [notice] = notices_to("alfa@example.eu")
        assert "lapsed" in notice.subject
        assert notices_to("beta@example.eu") == []


def test_the_lapse_job_through_the_command_line(app, world):
    today = grants.today()
    due = _voucher(app, world, granted_on=today - timedelta(days=30), valid_until=today - timedelta(days=2))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "vouchers_lapse"])
    assert result.exit_code == 0, result.output
    assert "1 vouchers lapsed" in result.output
    result = runner.invoke(args=["jobs", "run", "vouchers_lapse"])
    assert result.exit_code == 0 and "1 vouchers lapsed" not in result.output
    with app.app_context():
        assert db.session.get(Voucher, due).status == "lapsed"
        assert count(AuditEntry, AuditEntry.action == "vouchers.status_changed") == 1


# --- lists ---------------------------------------------------------------------------------------------------


def test_an_sme_member_lists_its_own_vouchers(app, world):
    mine = _voucher(app, world, amount="1100.00")
    _voucher(app, world, org="org_b", amount="900.00")
    page = text(client_of(app, "alfa@example.eu").get("/vouchers"))
    assert f"/vouchers/{mine}" in page and "EUR 1,100.00" in page
    assert "Beta Sensori" not in page and "EUR 900.00" not in page
    assert "Export CSV" not in page
    assert "My vouchers" in page


def test_staff_list_every_voucher_with_filters_in_the_url_and_export(app, world, staff):
    a = _voucher(app, world, amount="1100.00")
    b = _voucher(app, world, org="org_b", amount="900.00", status=VoucherStatus.CLAIMED)
    page = text(staff.get("/vouchers"))
    assert f"/vouchers/{a}" in page and f"/vouchers/{b}" in page and "2 vouchers" in page
    page = text(staff.get("/vouchers?status=claimed"))
    assert f"/vouchers/{b}" in page and f'href="/vouchers/{a}"' not in page and "1 voucher match" in page
    assert "export=csv" in page and "status=claimed" in page
    page = text(staff.get("/vouchers?q=alfa"))
    assert f"/vouchers/{a}" in page and f'href="/vouchers/{b}"' not in page
    assert staff.get("/vouchers?status=nonsense&scheme=abc&page=x").status_code == 200
    r = staff.get("/vouchers?export=csv&status=claimed")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Voucher", "Organisation"] and len(rows) == 2 and rows[1][1] == "Beta Sensori S.p.A."
    r = staff.get("/vouchers?export=xlsx")
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.max_row == 3 and {sheet.cell(row=i, column=8).value for i in (2, 3)} == {900, 1100}
    with app.app_context():
        assert count(AuditEntry, AuditEntry.action == "vouchers.exported") == 2


def test_the_voucher_page_shows_the_claim_s_lines_and_the_next_step(app, world, staff):
    from opsapp.vouchers.models import CostCategory, ExpenseLine

    voucher_id = _voucher(app, world, amount="1500.00", status=VoucherStatus.CLAIMED)
    with app.app_context():
        travel = db.session.scalar(select(CostCategory).where(CostCategory.code == "travel"))
        db.session.add(ExpenseLine(voucher_id=voucher_id, category_id=travel.id, spent_on=grants.today(),
                                   description="Flight Torino–München", amount=D("420.00")))
        db.session.commit()
    page = text(staff.get(f"/vouchers/{voucher_id}"))
    assert "Flight Torino–München" in page and "EUR 420.00" in page and "not reviewed" in page
    assert f'href="/vouchers/{voucher_id}/review"' in page and "Cancel the voucher" in page
    member_page = text(client_of(app, "alfa@example.eu").get(f"/vouchers/{voucher_id}"))
    assert "Flight Torino–München" in member_page and "/review" not in member_page
    assert f'href="/vouchers/{voucher_id}/claim"' in member_page  # the submitted claim, read-only
