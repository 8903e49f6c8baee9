"""Investor introductions through the HTTP client (staff): recorded with an existing investor or a
new one (name and country), the outcome and, for an investment, its amount (EUR, exact, positive)
and type; a bad amount is refused next to the field with what was typed kept and nothing saved;
the list with filters, the totals per company and per cohort, CSV and XLSX exports; a company
reads its own introductions (read only) and nobody else's.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from opsapp.accounts.models import Organisation
from opsapp.cohorts import followup
from opsapp.cohorts.models import InvestorIntroduction
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from tests.factories import login, make_organisation
from tests.integration.test_cohort_sessions import World, as_user, build_world, post


@pytest.fixture
def world(app) -> World:
    return build_world(app)


@pytest.fixture
def investor_id(app, world) -> int:
    with app.app_context():
        investor = make_organisation(kind="investor", legal_name="Piemonte Ventures SGR", country="IT")
        db.session.commit()
        return investor.id


def today():
    return to_local(utcnow(), "Europe/Rome").date()


def intro_form(world: World, **overrides) -> dict:
    data = {"member_id": str(world.members["Alfa"]), "investor_id": "", "new_investor_name": "",
            "new_investor_country": "", "new_investor_vat": "", "introduced_on": today().isoformat(),
            "outcome": "pending", "amount": "", "investment_type": "", "note": ""}
    data.update(overrides)
    return data


def url(world: World) -> str:
    return f"/cohorts/{world.cohort_id}/introductions"


def intro_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(InvestorIntroduction.id)))


def test_recording_introductions_and_the_totals(app, client, world, investor_id, outbox):
    login(client, "staff@example.eu")
    assert client.get(url(world)).status_code == 200
    response = post(client, url(world), intro_form(world, investor_id=str(investor_id), outcome="investment",
                                                   amount="150000.50", investment_type="equity",
                                                   note="Seed round led by PV."))
    assert response.status_code == 302
    # A new investor abroad, by name and country.
    response = post(client, url(world), intro_form(world, member_id=str(world.members["Beta"]),
                                                   new_investor_name="Alpine Angels", new_investor_country="CH",
                                                   outcome="investment", amount="50 000",
                                                   investment_type="convertible"))
    assert response.status_code == 302
    response = post(client, url(world), intro_form(world, investor_id=str(investor_id), outcome="meeting_held",
                                                   introduced_on=(today() - timedelta(days=10)).isoformat()))
    assert response.status_code == 302
    with app.app_context():
        alpine = db.session.scalar(select(Organisation).where(Organisation.legal_name == "Alpine Angels"))
        assert alpine.kind == "investor" and alpine.country == "CH"
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "investor_introductions.recorded")) == 3
        assert followup.investment_total(world.cohort_id) == Decimal("200000.50")
        assert followup.investment_totals(world.cohort_id) == {world.members["Alfa"]: Decimal("150000.50"),
                                                               world.members["Beta"]: Decimal("50000.00")}
    html = client.get(url(world)).get_data(as_text=True)
    assert "EUR 200,000.50" in html and "EUR 150,000.50" in html and "Alpine Angels" in html
    assert "3 introductions" in html
    # Filters in the URL.
    html = client.get(url(world) + f"?company={world.members['Beta']}").get_data(as_text=True)
    assert "1 introduction" in html and "Alpine Angels" in html
    html = client.get(url(world) + "?result=meeting_held").get_data(as_text=True)
    assert "1 introduction" in html
    assert client.get(url(world) + "?result=bogus&company=x").status_code == 200
    # The company told.
    assert {m["To"] for m in outbox()} == {"alfa@example.eu", "beta@example.eu"}

    # Exports.
    response = client.get(url(world) + "?export=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3
    assert {r["Amount invested (EUR)"] for r in rows} == {"150000.50", "50000.00", ""}
    response = client.get(url(world) + "?export=xlsx&result=investment")
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert sheet.max_row == 3  # header and two investments
    totals = {r[0]: r[1] for r in workbook.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert float(totals["Total of the cohort"]) == 200000.50


@pytest.mark.parametrize("amount, message", [
    ("abc", "Enter the amount as a number of euros"),
    ("-500", "more than zero"),
    ("0", "more than zero"),
    ("", "Enter the amount invested"),
    ("1e12", "below one billion"),
])
def test_a_bad_amount_is_refused_with_what_was_typed_kept(app, client, world, investor_id, amount, message):
    login(client, "staff@example.eu")
    response = post(client, url(world), intro_form(world, investor_id=str(investor_id), outcome="investment",
                                                   amount=amount, investment_type="equity",
                                                   note="Typed note kept"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html and 'id="amount-error"' in html
    assert "Typed note kept" in html
    if amount:
        assert f'value="{amount}"' in html
    assert intro_count(app) == 0


@pytest.mark.parametrize("overrides, field, message", [
    ({"outcome": "investment", "amount": "1000", "investment_type": ""}, "investment_type", "type of the investment"),
    ({"outcome": "pending", "amount": "1000"}, "amount", "only for an investment"),
    ({"investor_id": "", "new_investor_name": ""}, "investor_id", "enter the name of a new one"),
    ({"investor_id": "", "new_investor_name": "Nowhere Capital", "new_investor_country": ""},
     "new_investor_country", "country"),
    ({"introduced_on": "2099-01-01"}, "introduced_on", "once it happened"),
    ({"member_id": ""}, "member_id", "Choose a company of the cohort."),
])
def test_other_bad_introductions_are_refused(app, client, world, investor_id, overrides, field, message):
    login(client, "staff@example.eu")
    data = intro_form(world, investor_id=str(investor_id))
    data.update(overrides)
    response = post(client, url(world), data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html and f'id="{field}-error"' in html
    assert intro_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Organisation.id)).where(
            Organisation.legal_name == "Nowhere Capital")) == 0


def test_staff_change_an_introduction_and_companies_read_their_own(app, client, world, investor_id, outbox):
    login(client, "staff@example.eu")
    post(client, url(world), intro_form(world, investor_id=str(investor_id)))
    with app.app_context():
        intro_id = db.session.scalar(select(InvestorIntroduction.id))
    edit = f"/introductions/{intro_id}"
    page = client.get(edit).get_data(as_text=True)
    assert "Piemonte Ventures SGR" in page
    response = post(client, edit, intro_form(world, investor_id=str(investor_id), outcome="investment",
                                             amount="x", investment_type="loan"))
    assert response.status_code == 200 and "Enter the amount as a number" in response.get_data(as_text=True)
    response = post(client, edit, intro_form(world, investor_id=str(investor_id), outcome="investment",
                                             amount="75000", investment_type="loan"))
    assert response.status_code == 302
    with app.app_context():
        intro = db.session.get(InvestorIntroduction, intro_id)
        assert (intro.outcome, intro.amount, intro.investment_type) == ("investment", Decimal("75000.00"), "loan")
    assert any(m["Subject"] == "Introduction to Piemonte Ventures SGR: Investment" for m in outbox())

    alfa = as_user(app, "alfa@example.eu")
    page = alfa.get(f"/cohorts/{world.cohort_id}/members/{world.members['Alfa']}/milestones").get_data(as_text=True)
    assert "Piemonte Ventures SGR" in page and "EUR 75,000.00" in page
    assert f"/introductions/{intro_id}" not in page  # read only
    assert alfa.get(edit).status_code == 403
    assert alfa.get(url(world)).status_code == 403
    beta = as_user(app, "beta@example.eu")
    page = beta.get(f"/cohorts/{world.cohort_id}/members/{world.members['Beta']}/milestones").get_data(as_text=True)
    assert "Piemonte Ventures SGR" not in page
    maria = as_user(app, "maria@example.eu")
    assert maria.get(url(world)).status_code == 403
    assert client.get("/introductions/9999").status_code == 404
