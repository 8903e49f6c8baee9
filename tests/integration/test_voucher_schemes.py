"""Voucher schemes through the browser's eyes: creating one (bad input shown next to its field,
typed values kept, nothing saved), editing it (lowering the budget below what vouchers hold
is refused with the figures), the budget view after vouchers in every state, the vouchers
behind each figure and their export, the cost categories page, and who may open what.
Real database, CSRF on."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from opsapp.calls.models import ProgrammeKind
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers.models import CostCategory, VoucherScheme, VoucherStatus
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_edition
from tests.factories_vouchers import make_cost_categories, make_scheme, make_voucher

D = Decimal


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_error(response, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', page_text(response))
    return match.group(1).strip() if match else ""


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def world(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        applicant = make_user("sme@example.eu", roles=[Role.APPLICANT])
        make_organisation(owner=applicant, legal_name="Robotica Alpina S.r.l.")
        edition = make_edition(2030, kind=ProgrammeKind.MEET_THE_BUYER)
        categories = make_cost_categories()
        db.session.commit()
        return {"edition": edition.id, "categories": [c.id for c in categories]}


@pytest.fixture
def staff(app, world):
    client = app.test_client()
    login(client, "staff@example.eu")
    return client


def scheme_form(world, **changes) -> dict:
    data = {
        "name": "Travel vouchers 2030", "edition_id": str(world["edition"]),
        "description": "Travel and stands at events outside the region.",
        "legal_basis": "Regulation (EU) 2023/2831 (de minimis aid)",
        "budget": "50000.00", "max_per_sme": "2500.00", "category_ids": [str(i) for i in world["categories"][:3]],
        "valid_from": "2030-01-01", "valid_until": "2030-12-31", "outside_region_only": "y",
        "deminimis_ceiling": "300000", "deminimis_years": "3", "warning_percent": "10",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- creating ----------------------------------------------------------------------------------------


def test_the_form_offers_the_defaults(staff):
    html = page_text(staff.get("/vouchers/schemes/new"))
    assert 'value="Regulation (EU) 2023/2831 (de minimis aid)"' in html
    assert 'value="300000.00"' in html
    assert 'id="deminimis_years"' in html and 'value="3"' in html
    for name in ("Travel", "Accommodation", "Registration fee", "Stand", "Pitch coaching"):
        assert name in html


def test_a_scheme_is_created_and_audited(staff, world, app):
    response = post(staff, "/vouchers/schemes/new", scheme_form(world), follow_redirects=True)
    html = page_text(response)
    assert response.status_code == 200
    assert "The scheme is created" in html
    with app.app_context():
        scheme = db.session.scalar(select(VoucherScheme))
        assert scheme.budget == D("50000.00") and scheme.max_per_sme == D("2500.00")
        assert [c.code for c in scheme.cost_categories] == ["accommodation", "registration_fee", "travel"]
        assert scheme.valid_from == date(2030, 1, 1) and scheme.outside_region_only is True
        assert scheme.deminimis_ceiling == D("300000.00") and scheme.deminimis_years == 3
        assert "vouchers.scheme_created" in actions()
    assert "EUR 50,000.00" in html


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "Enter the name of the scheme."),
    ({"budget": "12,5,0"}, "budget", "Write the amount in euro"),
    ({"budget": "0"}, "budget", "The total budget must be more than zero."),
    ({"budget": "-100"}, "budget", "Write the amount in euro"),
    ({"budget": "100.123"}, "budget", "Use at most two decimals."),
    ({"max_per_sme": "60000"}, "max_per_sme", "cannot be above the total budget"),
    ({"max_per_sme": "0"}, "max_per_sme", "The maximum per SME must be more than zero."),
    ({"category_ids": None}, "category_ids", "Choose at least one eligible cost category."),
    ({"valid_from": "01/01/2030"}, "valid_from", "Enter the date like 2027-01-01."),
    ({"valid_until": "2029-12-31"}, "valid_until", "The end of the validity must come after its start."),
    ({"valid_until": "2030-01-01"}, "valid_until", "The end of the validity must come after its start."),
    ({"deminimis_ceiling": "0"}, "deminimis_ceiling", "Enter the de minimis ceiling"),
    ({"deminimis_years": "11"}, "deminimis_years", "Enter a number of years from 1 to 10"),
    ({"deminimis_years": "three"}, "deminimis_years", "Enter a whole number."),
    ({"warning_percent": "120"}, "warning_percent", "Enter a percentage from 0 to 100."),
    ({"edition_id": "99999"}, "edition_id", "Choose the programme edition the scheme belongs to."),
    ({"edition_id": "abc"}, "edition_id", "Choose the programme edition the scheme belongs to."),
    ({"category_ids": ["99999"]}, "category_ids", "Choose among the active cost categories offered."),
    ({"category_ids": ["travel"]}, "category_ids", "Choose among the active cost categories offered."),
])
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(staff, world, app, changes, field, message):
    response = post(staff, "/vouchers/schemes/new", scheme_form(world, **changes))
    assert response.status_code == 200
    assert message in field_error(response, field), page_text(response)[:3000]
    html = page_text(response)
    assert "There is 1 problem to fix" in html
    assert 'value="Travel vouchers 2030"' in html or field == "name"
    if "budget" in changes:
        assert f'value="{changes["budget"]}"' in html  # what was typed is kept
    with app.app_context():
        assert count(VoucherScheme) == 0
        assert "vouchers.scheme_created" not in actions()


def test_an_inactive_category_cannot_be_chosen(staff, world, app):
    with app.app_context():
        category = db.session.get(CostCategory, world["categories"][4])
        category.active = False
        db.session.commit()
    html = page_text(staff.get("/vouchers/schemes/new"))
    assert "Pitch coaching" not in html
    response = post(staff, "/vouchers/schemes/new", scheme_form(world, category_ids=[str(world["categories"][4])]))
    assert "Choose among the active cost categories offered." in field_error(response, "category_ids")
    with app.app_context():
        assert count(VoucherScheme) == 0


def test_without_a_csrf_token_nothing_is_saved(staff, world, app):
    response = staff.post("/vouchers/schemes/new", data=scheme_form(world))
    assert response.status_code == 400
    with app.app_context():
        assert count(VoucherScheme) == 0


# --- editing ----------------------------------------------------------------------------------------


@pytest.fixture
def scheme_with_vouchers(app, world):
    """A scheme of EUR 10,000 with a voucher in every state."""
    with app.app_context():
        scheme = make_scheme("10000.00", "3000.00", edition_id=world["edition"])
        orgs = [make_organisation(legal_name=f"Azienda {n} S.p.A.") for n in range(6)]
        make_voucher(scheme, orgs[0], "1000.00", VoucherStatus.GRANTED)
        make_voucher(scheme, orgs[1], "800.00", VoucherStatus.CLAIMED)
        make_voucher(scheme, orgs[2], "700.00", VoucherStatus.APPROVED, approved_amount=D("650.50"))
        make_voucher(scheme, orgs[3], "600.00", VoucherStatus.PAID, approved_amount=D("600.00"),
                     paid_amount=D("590.25"), paid_on=date(2030, 5, 1), payment_reference="BON-1")
        make_voucher(scheme, orgs[4], "500.00", VoucherStatus.LAPSED)
        make_voucher(scheme, orgs[5], "400.00", VoucherStatus.CANCELLED)
        db.session.commit()
        return scheme.id


def edit_form(app, scheme_id, **changes) -> dict:
    with app.app_context():
        scheme = db.session.get(VoucherScheme, scheme_id)
        data = {
            "name": scheme.name, "edition_id": str(scheme.edition_id), "description": scheme.description or "",
            "legal_basis": scheme.legal_basis, "budget": str(scheme.budget), "max_per_sme": str(scheme.max_per_sme),
            "category_ids": [str(c.id) for c in scheme.cost_categories],
            "valid_from": scheme.valid_from.isoformat(), "valid_until": scheme.valid_until.isoformat(),
            "outside_region_only": "y" if scheme.outside_region_only else None,
            "deminimis_ceiling": str(scheme.deminimis_ceiling), "deminimis_years": str(scheme.deminimis_years),
            "warning_percent": str(scheme.warning_percent),
        }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_edit_form_is_filled_and_saves_changes(staff, app, scheme_with_vouchers):
    path = f"/vouchers/schemes/{scheme_with_vouchers}/edit"
    html = page_text(staff.get(path))
    assert 'value="10000.00"' in html and "Vouchers already hold EUR 3,040.75" in html
    response = post(staff, path, edit_form(app, scheme_with_vouchers, budget="12000", name="Renamed scheme",
                                           outside_region_only=None), follow_redirects=True)
    assert "The scheme is saved." in page_text(response)
    with app.app_context():
        scheme = db.session.get(VoucherScheme, scheme_with_vouchers)
        assert scheme.budget == D("12000.00") and scheme.name == "Renamed scheme"
        assert scheme.outside_region_only is False
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "vouchers.scheme_updated"))
        assert entry.detail["changes"]["budget"] == ["10000.00", "12000.00"]
        assert entry.detail["changes"]["outside_region_only"] == [True, False]
    detail = page_text(staff.get(f"/vouchers/schemes/{scheme_with_vouchers}"))
    assert "Scheme changed" in detail and "budget from EUR 10,000.00 to EUR 12,000.00" in detail


def test_lowering_the_budget_below_what_is_committed_is_refused_with_the_figures(staff, app, scheme_with_vouchers):
    path = f"/vouchers/schemes/{scheme_with_vouchers}/edit"
    response = post(staff, path, edit_form(app, scheme_with_vouchers, budget="3040.74", max_per_sme="1000"))
    assert response.status_code == 200
    error = field_error(response, "budget")
    assert "EUR 3,040.74" in error and "EUR 3,040.75" in error
    assert 'value="3040.74"' in page_text(response)
    with app.app_context():
        assert db.session.get(VoucherScheme, scheme_with_vouchers).budget == D("10000.00")
        assert "vouchers.scheme_updated" not in actions()
    response = post(staff, path, edit_form(app, scheme_with_vouchers, budget="3040.75", max_per_sme="1000"),
                    follow_redirects=True)
    assert "The scheme is saved." in page_text(response)
    with app.app_context():
        assert db.session.get(VoucherScheme, scheme_with_vouchers).budget == D("3040.75")


def test_a_scheme_that_does_not_exist_is_404(staff):
    assert staff.get("/vouchers/schemes/9999").status_code == 404
    assert staff.get("/vouchers/schemes/9999/edit").status_code == 404
    assert staff.get("/vouchers/schemes/9999/budget/granted").status_code == 404


# --- the budget view ------------------------------------------------------------------------------


def figure_cells(html: str) -> dict[str, str]:
    rows = re.findall(r'<th scope="row">(?:<a href="[^"]*">)?([^<]+)(?:</a>)?</th>\s*<td class="text-end">'
                      r'(?:<strong>)?([^<]+)', html)
    return {name.strip(): amount.strip() for name, amount in rows}


def test_the_budget_view_shows_every_figure(staff, app, scheme_with_vouchers):
    response = staff.get(f"/vouchers/schemes/{scheme_with_vouchers}")
    assert response.status_code == 200
    html = page_text(response)
    assert figure_cells(html) == {
        "Granted": "EUR 4,000.00", "Waiting for a claim": "EUR 1,000.00", "Claimed": "EUR 800.00",
        "Approved": "EUR 650.50", "Paid": "EUR 590.25", "Lapsed": "EUR 500.00", "Cancelled": "EUR 400.00",
        "Committed": "EUR 3,040.75", "Available": "EUR 6,959.25"}
    assert f'href="/vouchers/schemes/{scheme_with_vouchers}/budget/claimed"' in html
    assert f"/vouchers/schemes/{scheme_with_vouchers}/budget/available" not in html
    assert '<progress class="w-100 mb-3" max="100" value="30"' in html
    assert html.count("<h1") == 1


def test_the_list_shows_each_scheme_with_its_figures(staff, app, scheme_with_vouchers):
    html = page_text(staff.get("/vouchers/schemes"))
    assert "Meet the Buyer travel vouchers 2027" in html
    assert "EUR 10,000.00" in html and "EUR 3,040.75" in html and "EUR 6,959.25" in html
    assert "6 granted" in html and "1 claim to review" in html


def test_the_vouchers_behind_a_figure(staff, app, scheme_with_vouchers):
    base = f"/vouchers/schemes/{scheme_with_vouchers}/budget"
    committed = page_text(staff.get(f"{base}/committed"))
    assert "4 vouchers" in committed
    for name in ("Azienda 0", "Azienda 1", "Azienda 2", "Azienda 3"):
        assert name in committed
    assert "Azienda 4" not in committed and "Azienda 5" not in committed
    assert "EUR 3,040.75" in committed
    paid = page_text(staff.get(f"{base}/paid"))
    assert "Azienda 3" in paid and "EUR 590.25" in paid and "Azienda 0" not in paid
    lapsed = page_text(staff.get(f"{base}/lapsed"))
    assert "Azienda 4" in lapsed and "EUR 500.00" in lapsed
    granted = page_text(staff.get(f"{base}/granted"))
    assert "6 vouchers" in granted
    assert staff.get(f"{base}/available").status_code == 404
    assert staff.get(f"{base}/everything").status_code == 404


def test_the_list_behind_a_figure_exports(staff, app, scheme_with_vouchers):
    base = f"/vouchers/schemes/{scheme_with_vouchers}/budget/committed"
    response = staff.get(f"{base}?export=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffVoucher,Organisation")
    assert len(text.strip().splitlines()) == 5
    assert "Azienda 3 S.p.A." in text and "590.25" in text
    response = staff.get(f"{base}?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5
    counted = rows[0].index("Counted (EUR)")
    assert sorted(float(r[counted]) for r in rows[1:]) == [590.25, 650.5, 800.0, 1000.0]


def test_an_empty_scheme_shows_the_whole_budget_available(staff, app, world):
    with app.app_context():
        scheme = make_scheme("5000.00", "1000.00", edition_id=world["edition"])
        db.session.commit()
        scheme_id = scheme.id
    cells = figure_cells(page_text(staff.get(f"/vouchers/schemes/{scheme_id}")))
    assert cells["Available"] == "EUR 5,000.00" and cells["Committed"] == "EUR 0.00"
    assert "No voucher is counted" in page_text(staff.get(f"/vouchers/schemes/{scheme_id}/budget/paid"))


def test_the_budget_view_in_italian_shows_money_the_italian_way(app, scheme_with_vouchers):
    with app.app_context():
        make_user("personale@example.eu", roles=[Role.STAFF], locale="it")
        db.session.commit()
    client = app.test_client()
    login(client, "personale@example.eu")
    html = page_text(client.get(f"/vouchers/schemes/{scheme_with_vouchers}"))
    assert "3.040,75 EUR" in html and "6.959,25 EUR" in html
    assert "Viaggio" in html  # the categories' Italian names


# --- cost categories -------------------------------------------------------------------------------


def test_the_default_categories_are_created_when_there_are_none(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
    client = app.test_client()
    login(client, "staff@example.eu")
    html = page_text(client.get("/vouchers/cost-categories"))
    for code in ("travel", "accommodation", "registration_fee", "stand", "pitch_coaching"):
        assert f"<code>{code}</code>" in html
    with app.app_context():
        assert count(CostCategory) == 5


def test_categories_are_added_renamed_deactivated_and_deleted_only_when_unused(staff, app, world):
    path = "/vouchers/cost-categories"
    response = post(staff, path, {"action": "add", "new-code": "trade_fair", "new-name_en": "Trade fair",
                                  "new-name_it": "Fiera"}, follow_redirects=True)
    assert "The category Trade fair is added." in page_text(response)
    response = post(staff, path, {"action": "add", "new-code": "Trade Fair!", "new-name_en": "X",
                                  "new-name_it": "Y"})
    assert "lower-case letters" in field_error(response, "new-code")
    assert 'value="Trade Fair!"' in page_text(response)
    response = post(staff, path, {"action": "add", "new-code": "travel", "new-name_en": "Travel again",
                                  "new-name_it": "Viaggio"})
    assert "already a category with the code travel" in field_error(response, "new-code")
    with app.app_context():
        assert count(CostCategory) == 6
        fair = db.session.scalar(select(CostCategory).where(CostCategory.code == "trade_fair"))
        fair_id = fair.id
        make_scheme(edition_id=world["edition"])  # uses the five usual categories
        db.session.commit()
    travel_id = world["categories"][0]

    edit_page = f"{path}?edit={travel_id}"
    html = page_text(staff.get(edit_page))
    assert 'value="Travel"' in html and "Delete the category" not in html
    response = post(staff, path, {"category": str(travel_id), "action": "save", "edit-name_en": "Travel costs",
                                  "edit-name_it": "Spese di viaggio"}, page=edit_page, follow_redirects=True)
    assert "The category is saved." in page_text(response)
    with app.app_context():
        travel = db.session.get(CostCategory, travel_id)
        assert (travel.name_en, travel.name_it, travel.active) == ("Travel costs", "Spese di viaggio", False)
    response = post(staff, path, {"category": str(travel_id), "action": "save", "edit-name_en": "",
                                  "edit-name_it": "Viaggio", "edit-active": "y"}, page=edit_page)
    assert "Enter the English name." in field_error(response, "edit-name_en")
    response = post(staff, path, {"category": str(travel_id), "action": "delete"}, page=edit_page,
                    follow_redirects=True)
    assert "is used by a scheme or a claim" in page_text(response)
    response = post(staff, path, {"category": str(fair_id), "action": "delete"}, page=f"{path}?edit={fair_id}",
                    follow_redirects=True)
    assert "The category is deleted." in page_text(response)
    with app.app_context():
        assert db.session.get(CostCategory, travel_id) is not None
        assert db.session.get(CostCategory, fair_id) is None
        assert {"vouchers.category_added", "vouchers.category_updated", "vouchers.category_deleted"} <= set(actions())
    assert staff.get(f"{path}?edit=99999").status_code == 404
    assert staff.get(f"{path}?edit=abc").status_code == 404


# --- who may open what -----------------------------------------------------------------------------


def test_an_applicant_gets_403_on_every_staff_page(app, world, scheme_with_vouchers):
    client = app.test_client()
    login(client, "sme@example.eu")
    for path in ("/vouchers/schemes", "/vouchers/schemes/new", f"/vouchers/schemes/{scheme_with_vouchers}",
                 f"/vouchers/schemes/{scheme_with_vouchers}/edit",
                 f"/vouchers/schemes/{scheme_with_vouchers}/budget/granted",
                 f"/vouchers/schemes/{scheme_with_vouchers}/budget/granted?export=csv",
                 "/vouchers/cost-categories", "/vouchers/register", "/vouchers/register?export=xlsx"):
        assert client.get(path).status_code == 403, path
    token = csrf_from(page_text(client.get("/")))
    response = client.post("/vouchers/cost-categories", data={"csrf_token": token, "action": "add",
                                                              "new-code": "x_y", "new-name_en": "X",
                                                              "new-name_it": "Y"})
    assert response.status_code == 403
    with app.app_context():
        assert count(CostCategory, CostCategory.code == "x_y") == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/vouchers/schemes")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_see_the_navigation_entry_and_the_home_panel(staff, scheme_with_vouchers):
    html = page_text(staff.get("/"))
    assert 'href="/vouchers/schemes"' in html
    assert "Voucher budgets" in html and "EUR 6,959.25 available of EUR 10,000.00" in html
