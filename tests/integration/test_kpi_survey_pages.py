"""The pages of the follow-up surveys through the test client: a company reads and answers its
survey (labels, help, the confirmation of what happens next, read only afterwards), another
company gets a 404, a big change must be confirmed before anything is saved, bad input keeps
what was typed with a message next to the field, staff enter answers on the company's behalf
(audited), the notice at every sign-in while a survey is open, the staff list with its filters,
response rates and exports, the baseline correction with its reason, the home panels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from opsapp.accounts.models import User
from opsapp.core.models import AuditEntry, Notification
from opsapp.extensions import db
from opsapp.kpi import followups
from opsapp.kpi.models import FollowUp, Survey, SurveyStatus
from tests.conftest import csrf_from
from tests.factories import login
from tests.integration.test_kpi_followups import GOOD, World, build_world, today


@dataclass
class Surveys:
    world: World
    surveys: dict[str, int]  # company name -> survey id (12 months)
    follow_ups: dict[str, int]
    year: int  # the financial year of the surveys of the cohort


@pytest.fixture
def opened(app) -> Surveys:
    world = build_world(app)
    with app.app_context():
        followups.enrol(today())
        followups.create_due_surveys(today())
        db.session.commit()
        rows = db.session.execute(select(FollowUp.organisation_id, FollowUp.id, Survey.id, Survey.fiscal_year)
                                  .join(Survey, Survey.follow_up_id == FollowUp.id)).all()
    names = {org_id: name for name, org_id in world.organisations.items()}
    surveys = {names[o]: s for o, _f, s, _y in rows}
    follow_ups = {names[o]: f for o, f, _s, _y in rows}
    year = next(y for o, _f, _s, y in rows if names[o] == "Alfa")
    return Surveys(world, surveys, follow_ups, year)


def as_user(app, email: str):
    client = app.test_client()
    login(client, email)
    return client


def post_survey(client, survey_id: int, **fields):
    url = f"/kpi/surveys/{survey_id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def survey_row(app, survey_id: int) -> Survey:
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        db.session.expunge(survey)
        return survey


def test_a_company_answers_its_survey(app, opened):
    client = as_user(app, "alfa@example.eu")
    listing = client.get("/kpi/surveys").get_data(as_text=True)
    assert f"Figures of {opened.year}" in listing and "To answer" in listing and "1 survey to answer." in listing
    url = f"/kpi/surveys/{opened.surveys['Alfa']}"
    page = client.get(url).get_data(as_text=True)
    assert f"Sales in {opened.year} (EUR)" in page
    assert "someone full time all year counts 1" in page  # help under the field
    assert f"Enter the figures of the financial year {opened.year}" in page

    response = post_survey(client, opened.surveys["Alfa"], **GOOD)
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert f"Thank you: the figures for {opened.year} are saved." in page
    assert "What happens next" in page and f"The next survey, about {opened.year + 1}" in page
    assert "Your answers" in page and "EUR 600,000.00" in page and "Send the answers" not in page
    survey = survey_row(app, opened.surveys["Alfa"])
    assert survey.status == SurveyStatus.ANSWERED.value and survey.funding_source == "private"

    # Answered: a company cannot change it any more.
    token = csrf_from(client.get("/kpi/surveys").get_data(as_text=True))
    again = client.post(url, data={"csrf_token": token, **GOOD, "sales": "1"}, follow_redirects=True)
    assert "This survey is answered already" in again.get_data(as_text=True)
    assert survey_row(app, opened.surveys["Alfa"]).sales == survey.sales


def test_another_company_gets_not_found(app, opened):
    beta = as_user(app, "beta@example.eu")
    url = f"/kpi/surveys/{opened.surveys['Alfa']}"
    assert beta.get(url).status_code == 404
    token = csrf_from(beta.get("/kpi/surveys").get_data(as_text=True))
    assert beta.post(url, data={"csrf_token": token, **GOOD}).status_code == 404
    assert survey_row(app, opened.surveys["Alfa"]).status == SurveyStatus.OPEN.value
    assert "Alfa" not in beta.get("/kpi/surveys").get_data(as_text=True)
    assert beta.get("/kpi/follow-ups").status_code == 403
    assert beta.get(f"/kpi/follow-ups/{opened.follow_ups['Alfa']}").status_code == 403


def test_a_big_change_needs_confirmation(app, opened):
    client = as_user(app, "alfa@example.eu")
    big = {**GOOD, "sales": "4000000"}  # ten times the baseline turnover of EUR 400,000
    response = post_survey(client, opened.surveys["Alfa"], **big)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Check these figures: they changed a lot" in page and "These figures are correct" in page
    assert "EUR 400,000.00" in page and "EUR 4,000,000.00" in page
    assert 'value="4000000"' in page  # what was typed is kept
    assert survey_row(app, opened.surveys["Alfa"]).status == SurveyStatus.OPEN.value  # nothing saved

    response = post_survey(client, opened.surveys["Alfa"], **big, confirm_jumps="y")
    assert response.status_code == 302
    survey = survey_row(app, opened.surveys["Alfa"])
    assert survey.status == SurveyStatus.ANSWERED.value and survey.confirmed_jumps == ["sales"]


def test_bad_input_gets_a_message_and_keeps_what_was_typed(app, opened):
    client = as_user(app, "alfa@example.eu")
    response = post_survey(client, opened.surveys["Alfa"], **{**GOOD, "sales": "-5", "employees_fte": "twelve",
                                                               "contracts_value": "9000"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There are 3 problems to fix" in page
    assert "The sales cannot be negative." in page
    assert "Enter the employees as a number of full-time equivalents" in page
    assert "No contract was signed: the value of the contracts must be 0." in page
    assert 'value="-5"' in page and 'value="twelve"' in page and 'value="80000"' in page
    assert 'id="sales-error"' in page
    assert survey_row(app, opened.surveys["Alfa"]).status == SurveyStatus.OPEN.value


def test_staff_enter_the_answers_on_behalf(app, opened):
    staff = as_user(app, "staff@example.eu")
    detail = staff.get(f"/kpi/follow-ups/{opened.follow_ups['Alfa']}").get_data(as_text=True)
    assert "Enter the answers on the company's behalf" in detail
    assert "From the application" in detail and "EUR 400,000.00" in detail
    page = staff.get(f"/kpi/surveys/{opened.surveys['Alfa']}").get_data(as_text=True)
    assert "You are entering the answers on behalf of Alfa S.r.l." in page

    response = post_survey(staff, opened.surveys["Alfa"], **GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/kpi/follow-ups/{opened.follow_ups['Alfa']}")
    survey = survey_row(app, opened.surveys["Alfa"])
    assert survey.entered_by_staff and survey.status == SurveyStatus.ANSWERED.value
    # Staff may correct it afterwards.
    response = post_survey(staff, opened.surveys["Alfa"], **{**GOOD, "new_markets": "2"})
    assert response.status_code == 302 and survey_row(app, opened.surveys["Alfa"]).new_markets == 2
    with app.app_context():
        entries = db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "kpi.survey_answered_on_behalf"))
        assert entries == 2
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == owner.id, Notification.subject.like("Follow-up survey for%recorded"))) == 2
    detail = staff.get(f"/kpi/follow-ups/{opened.follow_ups['Alfa']}").get_data(as_text=True)
    assert "Answers entered by the programme staff" in detail and "entered by staff" in detail


def test_the_sign_in_notice_while_a_survey_is_open(app, opened):
    first = app.test_client()
    page = login(first, "alfa@example.eu", follow=True).get_data(as_text=True)
    assert "You have a follow-up survey to answer: Alfa S.r.l., figures of" in page
    assert "Surveys to answer" in page  # the home panel
    post_survey(first, opened.surveys["Alfa"], **GOOD)
    again = login(app.test_client(), "alfa@example.eu", follow=True).get_data(as_text=True)
    assert "follow-up survey to answer" not in again and "Surveys to answer" not in again
    # Staff and a company without a survey see no notice.
    assert "follow-up survey to answer" not in login(app.test_client(), "staff@example.eu",
                                                     follow=True).get_data(as_text=True)
    assert "follow-up survey to answer" not in login(app.test_client(), "zeta@example.eu",
                                                     follow=True).get_data(as_text=True)


def test_staff_list_filters_rates_and_exports(app, opened):
    alfa = as_user(app, "alfa@example.eu")
    post_survey(alfa, opened.surveys["Alfa"], **GOOD)
    staff = as_user(app, "staff@example.eu")
    page = staff.get("/kpi/follow-ups").get_data(as_text=True)
    assert "7 follow-ups" in page and "6 with a survey to answer" in page
    assert "Response to the follow-up surveys, per wave and group" in page and "25%" in page
    for name in ("Alfa", "Beta", "Gamma", "Delta", "Iota", "Kappa", "Nu"):
        assert f"{name} S.r.l." in page

    page = staff.get("/kpi/follow-ups?group=comparison").get_data(as_text=True)
    assert "3 follow-ups match the filters" in page
    assert "Gamma S.r.l." in page and "Nu S.r.l." in page and "Alfa S.r.l." not in page
    page = staff.get("/kpi/follow-ups?programme=meet_the_buyer&edition=2025").get_data(as_text=True)
    assert "3 follow-ups" in page and "Kappa S.r.l." in page and "Beta S.r.l." not in page
    page = staff.get("/kpi/follow-ups?state=answered").get_data(as_text=True)
    assert "1 follow-up matches the filters" in page and "Alfa S.r.l." in page and "Beta S.r.l." not in page
    page = staff.get("/kpi/follow-ups?group=nonsense&state=1").get_data(as_text=True)  # ignored
    assert "7 follow-ups" in page

    csv = staff.get("/kpi/follow-ups?export=csv&group=comparison")
    assert csv.status_code == 200 and csv.headers["Content-Disposition"].endswith('follow-ups.csv"')
    text = csv.get_data(as_text=True)
    assert text.splitlines()[0].startswith("\ufeffCompany,VAT or registration number,Programme")
    assert "Gamma S.r.l." in text and "Alfa S.r.l." not in text and len(text.splitlines()) == 4
    xlsx = staff.get("/kpi/follow-ups?export=xlsx")
    book = load_workbook(io.BytesIO(xlsx.get_data()))
    assert book.sheetnames == ["Follow-ups", "Survey answers"]
    answers = list(book["Survey answers"].iter_rows(values_only=True))
    alfa_row = next(r for r in answers if r[0] == "Alfa S.r.l.")
    assert alfa_row[5] == "Answered" and alfa_row[8] == 600000
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "kpi.follow_ups_exported")) == 2
    assert alfa.get("/kpi/follow-ups?export=csv").status_code == 403


def test_the_baseline_correction_needs_a_reason(app, opened):
    staff = as_user(app, "staff@example.eu")
    url = f"/kpi/follow-ups/{opened.follow_ups['Alfa']}"
    token = csrf_from(staff.get(url).get_data(as_text=True))
    figures = {"baseline_year": "2024", "turnover": "450000", "export_turnover": "50000", "employees_fte": "5.5",
               "high_skill_fte": "2", "investment_raised": "0"}
    response = staff.post(url + "/baseline", data={"csrf_token": token, **figures, "reason": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Give the reason for the correction" in page
    assert 'value="450000"' in page
    with app.app_context():
        assert db.session.get(FollowUp, opened.follow_ups["Alfa"]).baseline_source == "application"
    response = staff.post(url + "/baseline", data={"csrf_token": token, **figures,
                                                   "reason": "Filed annual accounts 2024"})
    assert response.status_code == 302
    page = staff.get(url).get_data(as_text=True)
    assert "The baseline is corrected" in page and "Corrected by staff" in page
    assert "Filed annual accounts 2024" in page and "Baseline corrected" in page and "EUR 450,000.00" in page


def test_home_panels(app, opened):
    page = as_user(app, "alfa@example.eu").get("/").get_data(as_text=True)
    assert "Surveys to answer" in page and f"Figures of {opened.year}" in page
    page = as_user(app, "staff@example.eu").get("/").get_data(as_text=True)
    assert "Follow-up surveys" in page and "7 follow-up surveys are waiting for an answer." in page
    assert "Latest wave (12 months after the programme): 0 of" in page
