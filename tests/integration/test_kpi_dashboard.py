"""The monitoring dashboard (`kpi.dashboard`), its exports (`kpi.dashboard_export`) and the home
panels, through the HTTP client.

The world: the Business Accelerator with a 2025 cohort of six companies (four in ICT, two in
aerospace: Aero Uno and Aero Due) followed since their cohort ended 13 months ago, their
12-month survey due and answered by four of them (so survey figures are partial), three
eligible applicants not selected in the comparison group who answered too, and a 2026
cohort of three more companies. The 2025 edition has targets (ACC-1 admitted: 8).

- staff and the authority see every measure code of the programme with its target and
  coverage, the ERDF table, the charts (figure, canvas with a text alternative, JSON data,
  a table beneath with caption and row headers), the impact caveat and the report box;
- the edition filter in the address changes the figures; invalid filters are ignored with a
  message, never a 500;
- the authority never sees a company name, and the aerospace group of two companies reads
  "Fewer than 3 companies: not shown" where staff see its figure;
- CSV and XLSX exports hold the same rows as the page (authority: suppressed cells empty);
- roles without access are refused; the authority's home panel shows the headline and what
  changed since the last visit.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from opsapp.accounts.models import S3Domain, User
from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import Cohort, CohortStatus, CompletionStatus
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.kpi import catalogue, monitoring
from opsapp.kpi import dashboard_tables as tables
from opsapp.kpi.models import DashboardVisit, FollowUp, IndicatorTarget, MonitoringReport, Survey
from opsapp.kpi.results import Scope
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_edition
from tests.factories_cohorts import make_cohort, make_member

DASHBOARD = "/kpi/"
ICT = ("Icaro Software S.r.l.", "Ipsilon Cloud S.r.l.", "Iota Dati S.p.A.", "Iris Web S.r.l.")
AERO = ("Aero Uno S.r.l.", "Aero Due S.r.l.")
LATER = ("Lambda Nuova S.r.l.", "Lima Robot S.r.l.", "Luna Tech S.r.l.")
COMPARISON = ("Zeta Confronto S.r.l.", "Zinco Confronto S.r.l.", "Zolfo Confronto S.r.l.")
PEOPLE = {"staff": Role.STAFF, "admin": Role.ADMIN, "authority": Role.AUTHORITY, "applicant": Role.APPLICANT,
          "buyer": Role.BUYER, "evaluator": Role.EVALUATOR, "mentor": Role.MENTOR}


@dataclass
class World:
    edition_2025: int
    edition_2026: int
    cohort_2026: int


def _company(name: str, domain: S3Domain, size: str = "small"):
    organisation = make_organisation(legal_name=name, kind="startup")
    organisation.s3_domains = [domain]
    organisation.size_class = size
    return organisation


def _follow(organisation, edition_id: int, group: str, ended_on, *, answered: bool, sales: str | None):
    follow_up = FollowUp(organisation_id=organisation.id, edition_id=edition_id, group=group,
                         source="cohort" if group == "participant" else "comparison", ended_on=ended_on,
                         baseline_source="application", baseline_year=ended_on.year - 1,
                         baseline_turnover=Decimal("100000"), baseline_export_turnover=Decimal("20000"),
                         baseline_employees_fte=Decimal("5"), baseline_high_skill_fte=Decimal("2"),
                         baseline_investment_raised=Decimal("10000"))
    db.session.add(follow_up)
    db.session.flush()
    survey = Survey(follow_up_id=follow_up.id, wave=12, due_on=ended_on + timedelta(days=366),
                    fiscal_year=ended_on.year, status="answered" if answered else "open")
    if answered:
        survey.answered_at = utcnow()
        survey.sales, survey.export_sales = Decimal(sales), Decimal("30000")
        survey.employees_fte, survey.high_skill_fte = Decimal("7"), Decimal("3")
        survey.funding_raised, survey.funding_source = Decimal("50000"), "private"
        survey.new_markets, survey.corporate_partnerships = 1, 1
    db.session.add(survey)
    db.session.flush()


def build_world(app) -> World:
    with app.app_context():
        for name, role in PEOPLE.items():
            make_user(f"{name}@example.eu", roles=(role,), full_name=f"{name.title()} Person", locale="en")
        domains = {d.code: d for d in make_s3_domains()}
        today = utcnow().date()
        ended = today - timedelta(days=400)
        e2025 = make_edition(2025, ProgrammeKind.ACCELERATOR)
        e2026 = make_edition(2026, ProgrammeKind.ACCELERATOR)
        cohort = make_cohort(CohortStatus.COMPLETED, edition_id=e2025.id, name="Accelerator 2025 cohort",
                             starts_on=ended - timedelta(days=150), ends_on=ended)
        for i, name in enumerate(ICT + AERO):
            domain = domains["ict"] if name in ICT else domains["aerospace"]
            organisation = _company(name, domain, "micro" if i % 2 else "small")
            make_member(cohort, organisation=organisation, completion=CompletionStatus.COMPLETED.value)
            # Four of the six answered the 12-month survey (both aerospace companies among them).
            _follow(organisation, e2025.id, "participant", ended, answered=i >= 2, sales="130000")
        for name in COMPARISON:
            organisation = _company(name, domains["ict"])
            _follow(organisation, e2025.id, "comparison", ended, answered=True, sales="105000")
        later = make_cohort(CohortStatus.RUNNING, edition_id=e2026.id, name="Accelerator 2026 cohort")
        for name in LATER:
            make_member(later, organisation=_company(name, domains["ict"]))
        db.session.add(IndicatorTarget(measure="ACC-1.admitted", edition_id=e2025.id, target=Decimal("8")))
        db.session.add(IndicatorTarget(measure="ACC-2.sales", edition_id=e2025.id, target=Decimal("20")))
        db.session.commit()
        return World(e2025.id, e2026.id, later.id)


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def client_of(app, who: str):
    client = app.test_client()
    login(client, f"{who}@example.eu")
    return client


def text_of(html: str) -> str:
    """The page as a reader sees it: tags removed, entities decoded, spaces collapsed."""
    html = re.sub(r"<script[^>]*>.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def card_text(html: str, measure: str) -> str:
    dom_id = "kpi-" + measure.replace(".", "-").lower()
    match = re.search(rf'<article[^>]*id="{re.escape(dom_id)}".*?</article>', html, flags=re.S)
    assert match, f"no card for {measure}"
    return text_of(match.group(0))


def table_rows(html: str, key: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="kpi-table-{key}".*?</table>', html, flags=re.S)
    assert match, f"no table {key}"
    body = match.group(0).split("<tbody>")[1]
    return [[text_of(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


# --- what staff and the authority see -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "authority"])
def test_every_measure_of_the_programme_with_its_target_and_coverage(app, world, who):
    response = client_of(app, who).get(f"{DASHBOARD}?programme=accelerator&edition=2025")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for measure in catalogue.measures_of(catalogue.ACCELERATOR):
        text = card_text(html, measure.key)
        assert str(measure.name) in text
        assert "Target: " in text or "No target set" in text
        assert re.search(r"from \d+ (of \d+ )?compan", text), text
    admitted = card_text(html, "ACC-1.admitted")
    assert "6" in admitted and "Target: 8" in admitted and "75.0 % of the target" in admitted
    assert "from 6 companies" in admitted
    sales = card_text(html, "ACC-2.sales")
    assert "from 4 of 6 companies" in sales and "response rate 66.7 %" in sales
    assert "12 months after the programme" in sales and "Partial data" in sales
    # The ERDF table, the charts with their tables, the caveat and the report box.
    erdf = [row[0] for row in table_rows(html, "erdf")]
    for measure in catalogue.measures_of(catalogue.ACCELERATOR, erdf=True):
        assert any(row.startswith(measure.indicator) for row in erdf), measure.key
    for key in ("series", "editions", "s3", "size", "impact"):
        assert f'id="kpi-chart-{key}"' in html
        assert f'data-kpi-chart="kpi-chart-data-{key}"' in html and 'role="img"' in html
        assert table_rows(html, key), key
    assert re.search(r'<canvas role="img" aria-label="[^"]*Growth over the three follow-up years', html)
    assert "<caption" in html and 'scope="row"' in html and 'scope="col"' in html
    assert "not a controlled experiment" in html
    assert "Download the Word report" in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "kpi/dashboard.js" in html
    assert "<script>" not in html and " onclick=" not in html


def test_the_chart_data_holds_the_labels_and_figures_of_its_table(app, world):
    html = client_of(app, "staff").get(f"{DASHBOARD}?edition=2025").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="kpi-chart-data-editions">(.*?)</script>', html, re.S)
    data = json.loads(block.group(1))
    assert data["type"] == "bar" and data["labels"] == ["2025", "2026"]
    admitted = next(d for d in data["datasets"] if d["label"].startswith("ACC-1 Admitted"))
    assert admitted["data"][0] == 6 and admitted["texts"][0] == "6"
    rows = {row[0]: row for row in table_rows(html, "editions")}
    assert set(rows) == {"2025", "2026"}


def test_the_edition_filter_in_the_address_changes_the_figures(app, world):
    client = client_of(app, "staff")
    every = client.get(DASHBOARD).get_data(as_text=True)
    first = client.get(f"{DASHBOARD}?edition=2025").get_data(as_text=True)
    second = client.get(f"{DASHBOARD}?edition=2026").get_data(as_text=True)
    assert re.search(r"Admitted 9 ", card_text(every, "ACC-1.admitted"))
    assert re.search(r"Admitted 6 ", card_text(first, "ACC-1.admitted"))
    assert re.search(r"Admitted 3 ", card_text(second, "ACC-1.admitted"))
    assert "edition 2025" in text_of(first) and '<option value="2025" selected>' in first
    assert "No survey due yet" in card_text(second, "ACC-2.sales")


@pytest.mark.parametrize("query", ["edition=1999", "edition=abc", "edition=2025x", "s3=nowhere", "size=huge",
                                   "programme=bogus", "programme=meet_the_buyer&edition=2025",
                                   "edition=" + "9" * 40, "s3=%00", "size=&edition="])
def test_invalid_filters_are_ignored_with_a_message(app, world, query):
    response = client_of(app, "authority").get(f"{DASHBOARD}?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if query != "size=&edition=":
        assert 'class="alert alert-warning" role="status"' in html
        assert "There is no" in text_of(html)


def test_the_meet_the_buyer_dashboard_shows_its_own_measures(app, world):
    html = client_of(app, "staff").get(f"{DASHBOARD}?programme=meet_the_buyer").get_data(as_text=True)
    for measure in catalogue.measures_of(catalogue.MEET_THE_BUYER):
        assert str(measure.name) in card_text(html, measure.key)
    assert 'aria-current="page">Meet the Buyer<' in html
    # Events and buyers do not break down by the SMEs' S3 domain or size class; editions do.
    with app.test_request_context():
        result = monitoring.compute(Scope(catalogue.MEET_THE_BUYER), for_authority=False)
        for table in (tables.s3_table(result), tables.size_table(result)):
            assert "MTB-2 SMEs involved" in table.header
            assert not [c for c in table.header if c.startswith(("MTB-1", "MTB-3"))], table.key
        assert "MTB-1 Events organised" in tables.editions_table(result).header


def test_the_authority_never_sees_a_company_name_and_small_groups_are_not_shown(app, world):
    staff = client_of(app, "staff").get(f"{DASHBOARD}?edition=2025").get_data(as_text=True)
    authority = client_of(app, "authority").get(f"{DASHBOARD}?edition=2025").get_data(as_text=True)
    staff_rows = {row[0]: row for row in table_rows(staff, "s3")}
    authority_rows = {row[0]: row for row in table_rows(authority, "s3")}
    assert staff_rows["Aerospace"][2] == "2"  # ACC-1 admitted among the aerospace companies
    assert "Fewer than 3 companies: not shown" not in " ".join(staff_rows["Aerospace"])
    assert authority_rows["Aerospace"][2] == "Fewer than 3 companies: not shown"
    assert authority_rows["ICT"][2] == "4"
    for key in ("s3", "size", "editions"):
        block = re.search(rf'id="kpi-chart-data-{key}">(.*?)</script>', authority, re.S)
        if block:
            assert all(name not in block.group(1) for name in ICT + AERO + LATER + COMPARISON)
    for name in ICT + AERO + LATER + COMPARISON:
        assert name not in authority and " ".join(name.split()[:2]) not in text_of(authority)
    assert "Fewer than 3 companies: not shown" in authority


# --- exports --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "authority"])
@pytest.mark.parametrize("key", ["s3", "erdf", "editions", "response", "impact", "series", "indicators", "size"])
def test_exports_hold_the_rows_of_the_page(app, world, who, key):
    client = client_of(app, who)
    html = client.get(f"{DASHBOARD}?edition=2025").get_data(as_text=True)
    csv_response = client.get(f"/kpi/export/{key}.csv?programme=accelerator&edition=2025")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    xlsx_response = client.get(f"/kpi/export/{key}.xlsx?programme=accelerator&edition=2025")
    assert xlsx_response.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx_response.data)).active
    xrows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert xrows[0] == rows[0]
    assert [r[0] for r in xrows[1:]] == [r[0] for r in rows[1:]]
    if key == "indicators":
        assert [r[2] for r in rows[1:]] == [m.key for m in catalogue.measures_of(catalogue.ACCELERATOR)]
    else:
        assert [r[0] for r in rows[1:]] == [r[0] for r in table_rows(html, key)]
    if key == "s3":
        aerospace = next(r for r in rows if r[0] == "Aerospace")
        if who == "authority":
            assert aerospace[2] == "" and "Fewer than 3 companies: not shown" in aerospace[-1]
        else:
            assert aerospace[2] == "2"
    for name in ICT + AERO:
        assert name not in csv_response.get_data(as_text=True)


def test_every_table_in_one_workbook_and_unknown_tables_answer_404(app, world):
    client = client_of(app, "authority")
    workbook = load_workbook(io.BytesIO(client.get("/kpi/export/all.xlsx?edition=2025").data))
    assert len(workbook.sheetnames) == 8 and "ERDF common indicators" in workbook.sheetnames
    assert client.get("/kpi/export/all.csv").status_code == 404
    assert client.get("/kpi/export/companies.csv").status_code == 404
    assert client.get("/kpi/export/s3.pdf").status_code == 404
    assert client.get("/kpi/export/s3.csv?edition=abc").status_code == 200


# --- access ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["applicant", "buyer", "evaluator", "mentor"])
def test_roles_without_access_are_refused(app, world, who):
    client = client_of(app, who)
    assert client.get(DASHBOARD).status_code == 403
    assert client.get("/kpi/export/s3.csv").status_code == 403
    assert client.get("/kpi/export/all.xlsx").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert 'href="/kpi/"' not in home


def test_signed_out_visitors_are_sent_to_sign_in(app, world):
    response = app.test_client().get(DASHBOARD)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["staff", "admin", "authority"])
def test_the_navigation_leads_to_the_dashboard(app, world, who):
    home = client_of(app, who).get("/").get_data(as_text=True)
    assert re.search(r'href="/kpi/"[^>]*>\s*<span>Monitoring</span>', home)


# --- home panels ----------------------------------------------------------------------------------------------------


def test_the_authority_home_shows_the_headline_and_what_changed_since_the_last_visit(app, world):
    client = client_of(app, "authority")
    home = text_of(client.get("/").get_data(as_text=True))
    assert "Monitoring of results" in home
    assert "Business Accelerator · every edition" in home
    assert "ACC-1 Admitted: 9" in home  # 2025 and 2026
    assert "After your first visit to the dashboard" in home
    assert "You have not asked for a Word report yet" in home

    client.get(DASHBOARD)
    with app.app_context():
        visit = db.session.get(DashboardVisit, db.session.scalar(
            select(DashboardVisit.user_id)))
        assert visit.values["ACC-1.admitted"] == "9"
        assert all(key.startswith("ACC-") for key in visit.values), "Meet the Buyer has no edition with data"
        later = make_organisation(legal_name="Lupo Nuovo S.r.l.", kind="startup")
        make_member(db.session.get(Cohort, world.cohort_2026), organisation=later)
        db.session.commit()

    home = text_of(client.get("/").get_data(as_text=True))
    assert "ACC-1 Admitted: 10" in home
    assert re.search(r"ACC-1 Admitted ?: 9 → became 10", home)
    assert "Lupo" not in home

    client.get(DASHBOARD)
    with app.app_context():
        authority = db.session.scalar(select(User).where(User.email == "authority@example.eu"))
        db.session.add(MonitoringReport(programme="accelerator", edition_year=2025, locale="en",
                                        requested_by_id=authority.id))
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    home = text_of(page)
    assert "Nothing changed since your last visit" in home
    assert "Business Accelerator 2025, asked for on" in home and "Being written" in home
    assert re.search(r'href="/kpi/reports/\d+"', page)


def test_staff_have_a_smaller_monitoring_panel(app, world):
    home = client_of(app, "staff").get("/").get_data(as_text=True)
    assert "Open the monitoring dashboard" in home and 'href="/kpi/targets"' in home
    assert "What changed since your last visit" not in home
    with app.app_context():
        assert db.session.scalar(select(DashboardVisit)) is None
    client_of(app, "staff").get(DASHBOARD)
    with app.app_context():
        assert db.session.scalar(select(DashboardVisit)) is None, "only the authority's visits are kept"


def test_a_programme_without_data_says_so_without_failing(app):
    with app.app_context():
        make_user("authority@example.eu", roles=(Role.AUTHORITY,), locale="en")
        make_user("staff@example.eu", roles=(Role.STAFF,), locale="en")
        db.session.commit()
    for who in ("authority", "staff"):
        client = client_of(app, who)
        for programme in ("accelerator", "meet_the_buyer"):
            response = client.get(f"{DASHBOARD}?programme={programme}")
            assert response.status_code == 200
            html = response.get_data(as_text=True)
            assert "No figures to draw yet" in html and "No survey due yet" in html
        assert client.get("/kpi/export/all.xlsx").status_code == 200
        home = client.get("/")
        assert home.status_code == 200
    assert "No figures yet for this programme." in text_of(client_of(app, "authority").get("/").get_data(as_text=True))


# --- the catalogue ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "authority"])
def test_the_catalogue_says_how_every_indicator_is_computed(app, world, who):
    dashboard = client_of(app, who).get(DASHBOARD).get_data(as_text=True)
    assert 'href="/kpi/indicators"' in dashboard
    page = text_of(client_of(app, who).get("/kpi/indicators").get_data(as_text=True))
    for code, indicator in catalogue.INDICATORS.items():
        assert f"{code} {indicator.name}" in page
    assert "Reports to the ERDF common indicators: RCR19." in page  # ACC-2
    assert "compound annual growth of the summed figures, baseline to follow-up year, respondents only" in page
    assert "Baseline and follow-up surveys" in page and "Vouchers" in page


def test_the_catalogue_is_closed_to_companies(app, world):
    assert client_of(app, "applicant").get("/kpi/indicators").status_code == 403
