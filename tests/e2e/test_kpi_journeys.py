"""Monitoring of results in a real browser, and an axe-core scan of every monitoring page per role.

(a) A company answers its follow-up survey: at sign-in a notice says a survey waits; the home
panel leads to it; a negative figure is refused next to its field; sales far above the baseline
ask for a confirmation that shows the previous and the new figure; once confirmed the survey
reads answered, and the notice is gone at the next sign-in.
(b) Staff follow the companies: the follow-up list filtered to the comparison group, one
follow-up whose baseline is corrected with a reason (refused first without one), its survey
entered on the company's behalf; the targets of an edition, a negative target refused with the
message next to its field, then saved.
(c) The journey of issue 7: the authority signs in, sees the headline on its home page, opens
the dashboard, filters it through the real form (edition and S3 domain), reads the figures
against their targets with their coverage and the charts with their tables, never a company
name, and downloads the Word report from the dashboard's box once its page says it is ready:
python-docx opens it and finds every indicator code of the programme.
(d) Every monitoring page of staff, the authority and a company on one seeded world
(`_seed_monitoring`: participants and a comparison group with answered and open surveys,
targets, a written report), scanned in English (each with a text of the seeded content it must
show) and in Italian, plus the forms in their error and confirmation states.

Each page reached is scanned with axe-core (no serious or critical violation); the scans are in
the run's summary with the other browser tests'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import docx
import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import CohortStatus, CompletionStatus
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.kpi import catalogue, report_runs
from opsapp.kpi.models import FollowUp, IndicatorTarget, Survey
from tests.e2e.conftest import axe_scan, open_page, path_of, sign_in, sign_out, switch_language
from tests.e2e.test_call_journeys import Scans, _click, _flash
from tests.e2e.test_cohort_journeys import _panel, _scan_pages, _structure, _tick
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_edition
from tests.factories_cohorts import make_cohort, make_member
from tests.factories_kpi import make_comparison, make_follow_up, make_survey, make_target

pytestmark = pytest.mark.e2e

OWN = "Officina Rossi S.r.l."
ICT = ("Icaro Software S.r.l.", "Ipsilon Cloud S.r.l.", "Iota Dati S.p.A.", "Iris Web S.r.l.")
AERO = ("Aero Uno S.r.l.", "Aero Due S.r.l.")
COMPARISON = ("Zeta Confronto S.r.l.", "Zinco Confronto S.r.l.", "Zolfo Confronto S.r.l.")
LATER = ("Lambda Nuova S.r.l.", "Lima Robot S.r.l.", "Luna Tech S.r.l.")
COMPANIES = (OWN, *ICT, *AERO, *COMPARISON, *LATER)
BASELINE = {"turnover": "400000", "export_turnover": "80000", "employees_fte": "5", "high_skill_fte": "2",
            "investment_raised": "20000"}
# The answers of the 12-month and 24-month surveys: a steady growth, nothing a reader would call a jump.
WAVE_12 = {"sales": "480000", "export_sales": "100000", "employees_fte": "6", "high_skill_fte": "2.5",
           "funding_raised": "50000", "funding_source": "private", "new_markets": 1, "corporate_partnerships": 1,
           "contracts_signed": 0, "contracts_value": "0"}
WAVE_24 = {**WAVE_12, "sales": "560000", "export_sales": "130000", "employees_fte": "7", "high_skill_fte": "3",
           "funding_raised": "0", "funding_source": "none", "new_markets": 2}
COMPARISON_12 = {**WAVE_12, "sales": "420000", "export_sales": "85000", "funding_raised": "0", "funding_source": "none"}


def _company(name: str, domain, size: str, owner=None):
    organisation = make_organisation(kind="startup", owner=owner, legal_name=name, size_class=size)
    organisation.s3_domains = [domain]
    return organisation


def _figure(page, label: str):
    """A survey field by its label (a required field's accessible name ends with "(required)")."""
    return page.get_by_label(re.compile("^" + re.escape(label)))


def _survey_fields(page, year: int, **typed) -> None:
    """Fill the survey form by its labels (the year is in the labels of the yearly figures)."""
    labels = {
        "sales": f"Sales in {year} (EUR)",
        "export_sales": f"Export sales in {year} (EUR)",
        "employees_fte": f"Employees in {year} (full-time equivalent)",
        "high_skill_fte": "High-skill employees (full-time equivalent)",
        "funding_raised": f"Funding raised in {year} (EUR)",
        "new_markets": "New markets entered outside the country",
        "corporate_partnerships": "Partnerships with corporates",
        "contracts_signed": "Contracts signed with buyers met at Meet the Buyer events",
        "contracts_value": "Value of those contracts (EUR)",
    }
    for key, value in typed.items():
        if key == "funding_source":
            _tick(page, value)
        else:
            _figure(page, labels[key]).fill(value)


ANSWER = {"sales": "1500000", "export_sales": "150000", "employees_fte": "6", "high_skill_fte": "2",
          "funding_raised": "0", "funding_source": "None", "new_markets": "1", "corporate_partnerships": "0",
          "contracts_signed": "0", "contracts_value": "0"}


# --- (a) a company answers its survey -------------------------------------------------------------------------


def test_a_company_answers_its_survey_confirming_a_jump_and_the_notice_goes(page, db_session):
    make_s3_domains()
    owner = make_user("giulia.rossi@example.eu", roles=[Role.APPLICANT], full_name="Giulia Rossi")
    officina = make_organisation(kind="startup", owner=owner, legal_name=OWN)
    follow_up = make_follow_up(officina, make_edition(2025), **BASELINE)
    survey = make_survey(follow_up, 12)
    survey_id, year, due_on = survey.id, survey.fiscal_year, survey.due_on
    db_session.commit()

    scan = Scans(page, "applicant")
    sign_in(page, "giulia.rossi@example.eu")
    notice = _flash(page)
    assert "You have a follow-up survey to answer" in notice
    assert f"{OWN}, figures of {year}, due since {format_date(due_on, 'long', locale='en')}" in notice
    panel = _panel(page, "Surveys to answer")
    assert OWN in panel.inner_text()
    scan("/ (home, a survey to answer)")
    _click(page, panel.get_by_role("link", name=f"Figures of {year}"))
    assert path_of(page) == f"/kpi/surveys/{survey_id}"
    assert page.get_by_role("heading", name=f"Follow-up survey: figures of {year}").is_visible()
    scan()

    # A negative figure: refused next to its field, what was typed kept, nothing saved.
    _survey_fields(page, year, **{**ANSWER, "export_sales": "-5"})
    _click(page, page.get_by_role("button", name="Send the answers"))
    export = _figure(page, f"Export sales in {year} (EUR)")
    assert export.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{export.get_attribute('id')}-error").inner_text().strip()
    assert _figure(page, f"Sales in {year} (EUR)").input_value() == "1500000"
    assert page.locator("#error-summary").is_visible()
    scan("survey (a negative figure)")

    # Sales almost four times the baseline: the page asks to confirm, with both figures.
    export.fill("150000")
    _click(page, page.get_by_role("button", name="Send the answers"))
    jumps = page.locator("#jumps")
    assert jumps.get_by_role("heading", name="Check these figures: they changed a lot").is_visible()
    row = jumps.locator("tbody tr", has_text=f"Sales in {year}")
    assert "EUR 400,000.00" in row.inner_text() and "EUR 1,500,000.00" in row.inner_text()
    assert "Nothing is saved yet." in jumps.inner_text()
    assert _figure(page, f"Sales in {year} (EUR)").input_value() == "1500000"
    scan("survey (a jump to confirm)")
    assert db_session.get(Survey, survey_id).status == "open"
    db_session.rollback()
    _tick(page, "These figures are correct")
    _click(page, page.get_by_role("button", name="Send the answers"))
    assert path_of(page) == f"/kpi/surveys/{survey_id}"
    assert f"Thank you: the figures for {year} are saved." in _flash(page)
    answers = page.locator("section[aria-labelledby=answers-title]")
    assert answers.get_by_role("heading", name="Your answers").is_visible()
    assert "EUR 1,500,000.00" in answers.inner_text()
    assert "Confirmed despite a big change: sales." in answers.inner_text()
    assert page.get_by_role("button", name="Send the answers").count() == 0  # answered: read only
    scan("survey (answered)")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Surveys"))
    assert path_of(page) == "/kpi/surveys"
    assert "Answered" in page.locator("tbody tr", has_text=f"Figures of {year}").inner_text()
    scan()
    scan.assert_clean()
    sign_out(page)

    # The next sign-in: no notice, no panel.
    sign_in(page, "giulia.rossi@example.eu")
    assert "follow-up survey" not in page.locator("main").inner_text()
    assert _panel(page, "Surveys to answer").count() == 0
    saved = db_session.get(Survey, survey_id)
    assert (saved.status, saved.sales, saved.confirmed_jumps, saved.entered_by_staff) == (
        "answered", Decimal("1500000.00"), ["sales"], False)
    db_session.rollback()


# --- (b) staff follow the companies and set the targets -----------------------------------------------------


def test_staff_correct_a_baseline_enter_a_survey_and_set_a_target(page, db_session):
    domains = make_s3_domains()
    make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    edition = make_edition(2025)
    ids = {}
    for name in ICT[:3]:
        follow_up = make_follow_up(_company(name, domains[0], "small"), edition, **BASELINE)
        make_survey(follow_up, 12, **WAVE_12)
    for name in COMPARISON[:2]:
        follow_up = make_comparison(_company(name, domains[0], "small"), edition, **BASELINE)
        ids[name] = (follow_up.id, make_survey(follow_up, 12).id)
    year = db_session.get(Survey, ids[COMPARISON[0]][1]).fiscal_year
    db_session.commit()
    follow_up_id, survey_id = ids[COMPARISON[0]]

    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Monitoring"))
    _click(page, page.get_by_role("link", name="Follow-up of the companies and their surveys"))
    assert path_of(page) == "/kpi/follow-ups"
    assert "5 follow-ups" in page.locator("main").inner_text()
    scan()
    page.get_by_label("Group").select_option(label="Comparison group")
    _click(page, page.get_by_role("button", name="Filter"))
    assert "group=comparison" in path_of(page)
    listed = page.locator("section[aria-labelledby=list-title] tbody").inner_text()
    assert COMPARISON[0] in listed and COMPARISON[1] in listed and ICT[0] not in listed
    assert "2 follow-ups match the filters" in page.locator("main").inner_text()
    scan("follow-ups (comparison group)")
    _click(page, page.get_by_role("link", name=COMPARISON[0]))
    assert path_of(page) == f"/kpi/follow-ups/{follow_up_id}"
    assert "Source: From the application." in page.locator("section[aria-labelledby=baseline-title]").inner_text()
    scan()

    # The baseline corrected: without a reason refused next to the field; with one, saved and shown.
    page.locator("summary", has_text="Correct the baseline").click()
    page.get_by_label("Turnover (EUR)", exact=True).fill("450000")
    _click(page, page.get_by_role("button", name="Save the corrected baseline"))
    reason = _figure(page, "Reason for the correction")
    assert reason.get_attribute("aria-invalid") == "true"
    assert "Give the reason for the correction" in page.locator("#reason-error").inner_text()
    assert page.get_by_label("Turnover (EUR)", exact=True).input_value() == "450000"
    scan("follow-up (a correction without a reason)")
    reason.fill("Figures from the filed annual accounts, not the draft.")
    _click(page, page.get_by_role("button", name="Save the corrected baseline"))
    assert "The baseline is corrected; the reason is kept in the audit log." in _flash(page)
    baseline = page.locator("section[aria-labelledby=baseline-title]").inner_text()
    assert "Corrected by staff" in baseline and "Figures from the filed annual accounts" in baseline
    assert "EUR 450,000.00" in baseline
    scan("follow-up (baseline corrected)")

    # The open survey entered on the company's behalf.
    _click(page, page.get_by_role("link", name=re.compile(r"^Enter the answers on the company's behalf")))
    assert path_of(page) == f"/kpi/surveys/{survey_id}"
    assert f"You are entering the answers on behalf of {COMPARISON[0]}" in page.locator("main").inner_text()
    scan("survey (on the company's behalf)")
    _survey_fields(page, year, **{**ANSWER, "sales": "470000", "export_sales": "90000"})
    _click(page, page.get_by_role("button", name="Save the answers on the company's behalf"))
    assert path_of(page) == f"/kpi/follow-ups/{follow_up_id}"
    assert f"The answers of {COMPARISON[0]} for {year} are saved; the company can read them." in _flash(page)
    row = page.locator("section[aria-labelledby=surveys-title] tbody tr", has_text="12 months")
    assert "Answered" in row.inner_text() and "entered by staff" in row.inner_text()
    scan("follow-up (survey entered)")

    # The targets of the edition, reached from the dashboard: a negative one refused next to its field.
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Monitoring"))
    assert path_of(page) == "/kpi/"
    _click(page, page.get_by_role("link", name="Set the targets of an edition"))
    assert path_of(page).startswith("/kpi/targets")
    assert page.get_by_role("heading", name="Targets of the 2025 edition").is_visible()
    scan("targets")
    admitted = page.locator("#target_ACC_1__admitted")
    admitted.fill("-4")
    _click(page, page.get_by_role("button", name="Save the targets"))
    assert admitted.get_attribute("aria-invalid") == "true"
    assert page.locator("#target_ACC_1__admitted-error").inner_text().strip() == "A target cannot be negative."
    assert admitted.input_value() == "-4"
    assert page.locator("#error-summary").get_by_role("link", name=re.compile("ACC-1.admitted")).is_visible()
    scan("targets (a negative target)")
    assert db_session.scalar(select(IndicatorTarget)) is None
    db_session.rollback()
    admitted.fill("12")
    _click(page, page.get_by_role("button", name="Save the targets"))
    assert "1 target of the 2025 edition saved." in _flash(page)
    assert page.locator("#target_ACC_1__admitted").input_value() == "12"
    scan("targets (saved)")
    scan.assert_clean()

    follow_up = db_session.get(FollowUp, follow_up_id)
    assert (follow_up.baseline_source, follow_up.baseline_turnover) == ("staff", Decimal("450000.00"))
    survey = db_session.get(Survey, survey_id)
    assert (survey.status, survey.entered_by_staff, survey.sales) == ("answered", True, Decimal("470000.00"))
    target = db_session.scalar(select(IndicatorTarget))
    assert (target.measure, target.target) == ("ACC-1.admitted", Decimal("12.00"))
    db_session.rollback()


# --- the seeded world of the monitoring ----------------------------------------------------------------------


@dataclass
class Seeded:
    emails: dict[str, str]
    ids: dict[str, int]


def _seed_monitoring(app) -> Seeded:
    """The Business Accelerator 2025 cohort (Officina Rossi, four more ICT companies, two in aerospace)
    ended 25 months ago: every participant answered its 12-month survey, the 24-month one is answered by
    four (open for Officina Rossi and the aerospace two); three eligible applicants not selected are the
    comparison group (one 24-month survey open). The 2026 cohort runs with three companies. Targets are
    set for 2025 and the authority asked for the Word report of 2025 (written)."""
    domains = {d.code: d for d in make_s3_domains()}
    staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    authority = make_user("authority@example.eu", roles=[Role.AUTHORITY], full_name="Anna Autorita")
    owner = make_user("applicant@example.eu", roles=[Role.APPLICANT], full_name="Giulia Rossi")
    today = utcnow().date()
    ended = today - timedelta(days=760)
    e2025, e2026 = make_edition(2025, ProgrammeKind.ACCELERATOR), make_edition(2026, ProgrammeKind.ACCELERATOR)
    cohort = make_cohort(CohortStatus.COMPLETED, edition_id=e2025.id, name="Business Accelerator 2025 cohort",
                         starts_on=ended - timedelta(days=150), ends_on=ended)
    ids = {}
    for n, name in enumerate((OWN, *ICT, *AERO)):
        domain = domains["aerospace"] if name in AERO else domains["ict"]
        organisation = _company(name, domain, "micro" if n % 2 else "small", owner=owner if name == OWN else None)
        make_member(cohort, user=owner if name == OWN else None, organisation=organisation,
                    completion=CompletionStatus.COMPLETED.value)
        follow_up = make_follow_up(organisation, e2025, ended_on=ended, **BASELINE)
        first = make_survey(follow_up, 12, **WAVE_12)
        second = make_survey(follow_up, 24, **({} if name in (OWN, *AERO) else WAVE_24))
        if name == OWN:
            ids.update(follow_up=follow_up.id, answered=first.id, open=second.id)
    for n, name in enumerate(COMPARISON):
        follow_up = make_comparison(_company(name, domains["ict"], "small"), e2025, ended_on=ended, **BASELINE)
        make_survey(follow_up, 12, **COMPARISON_12)
        make_survey(follow_up, 24, **({} if n == 0 else {**COMPARISON_12, "sales": "440000"}))
        if n == 0:
            ids["comparison"] = follow_up.id
    later = make_cohort(CohortStatus.RUNNING, edition_id=e2026.id, name="Business Accelerator 2026 cohort")
    for name in LATER:
        make_member(later, organisation=_company(name, domains["ict"], "small"))
    make_target("ACC-1.admitted", e2025, 8, set_by=staff)
    make_target("ACC-2.sales", e2025, 20, set_by=staff)
    make_target("RCO01.total", e2025, 10, set_by=staff)
    with app.test_request_context():  # the report's notification links to its page
        report = report_runs.request(authority, catalogue.ACCELERATOR, 2025, "en")
        report_runs.produce(report.id)
    ids["report"] = report.id
    return Seeded({"staff": staff.email, "authority": authority.email, "applicant": owner.email}, ids)


def _docx_text(path) -> str:
    document = docx.Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _no_company(page) -> list[str]:
    """The company names the page holds anywhere (text, chart data, attributes)."""
    html = page.content()
    return [name for name in COMPANIES if name in html]


# --- (c) the authority: dashboard, filters, Word report ---------------------------------------------------------


def test_the_authority_filters_the_dashboard_and_downloads_the_word_report(app, page, db_session, tmp_path):
    _seed_monitoring(app)
    db_session.commit()

    scan = Scans(page, "authority")
    sign_in(page, "authority@example.eu")
    panel = _panel(page, "Monitoring of results")
    headline = panel.inner_text()
    assert "Business Accelerator" in headline and "ACC-1" in headline
    assert "Latest report" in headline and "Download the report" in headline
    assert _no_company(page) == []
    scan("/ (home, the headline)")
    _click(page, panel.get_by_role("link", name="Open the dashboard"))
    assert path_of(page) == "/kpi/"
    assert "You see aggregates only" in page.locator("main").inner_text()
    assert _no_company(page) == []
    scan("/kpi/ (every edition)")

    # The filters of the real form: the 2025 edition, the ICT companies.
    page.get_by_label("Edition", exact=True).select_option("2025")
    page.get_by_label("S3 domain", exact=True).select_option(label="ICT")
    _click(page, page.get_by_role("button", name="Show", exact=True))
    assert re.search(r"[?&]edition=2025\b", path_of(page)) and re.search(r"[?&]s3=ict\b", path_of(page))
    assert page.get_by_text("Showing: Business Accelerator · edition 2025 · S3 domain: ICT · every size class"
                            ).is_visible()
    assert page.get_by_label("Edition", exact=True).input_value() == "2025"

    # Every measure of the programme against its target, with the companies it rests on.
    for measure in catalogue.measures_of(catalogue.ACCELERATOR):
        card = page.locator(f"#kpi-{measure.key.replace('.', '-').lower()}").inner_text()
        assert str(measure.name) in card and ("Target: " in card or "No target set" in card), card
    admitted = page.locator("#kpi-acc-1-admitted").inner_text()
    assert "Target: 8" in admitted and re.search(r"from 5 compan", admitted), admitted
    sales = page.locator("#kpi-acc-2-sales").inner_text()
    assert "Target: 20" in sales and re.search(r"from \d+ of 5 compan", sales) and "response rate" in sales, sales
    erdf = page.locator("#kpi-table-erdf").inner_text()
    assert all(code in erdf for code in ("RCO01", "RCO02", "RCR01", "RCR19"))

    # A chart with its text alternative and the table of its figures beneath.
    series = page.locator("#kpi-chart-series")
    canvas = series.locator("canvas[role=img]")
    expect(canvas).to_be_visible()
    assert "Growth over the three follow-up years" in canvas.get_attribute("aria-label")
    assert series.locator("table caption").count() == 1
    assert series.locator("#kpi-table-series tbody tr").count() > 0
    # Drawn by Chart.js from the JSON block beside the canvas (a script loaded from the page, no inline code).
    assert canvas.evaluate("c => Boolean(window.Chart && window.Chart.getChart(c))")
    assert page.locator("canvas[data-kpi-chart]").evaluate_all(
        "cs => cs.every(c => Boolean(window.Chart.getChart(c)))")
    assert _no_company(page) == []
    scan("/kpi/ (2025, ICT)")

    # The Word report of the filtered edition, from the dashboard's box: written, then downloaded.
    box = page.locator("section[aria-labelledby=kpi-report-title]")
    assert box.get_by_label("Language of the report").input_value() == "en"
    with page.expect_navigation(timeout=120_000):
        box.get_by_role("button", name="Download the Word report").click()
    assert re.fullmatch(r"/kpi/reports/\d+", path_of(page))
    report_path = path_of(page)
    expect(page.locator("#report-state .badge-status")).to_have_text("Ready", timeout=120_000)
    facts = page.locator("main dl").inner_text()
    assert "2025" in facts and "English" in facts
    scan("report (ready)")
    with page.expect_download() as download:
        page.locator("#report-state").get_by_role("link", name="Download the Word report").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".docx" and path_of(page) == report_path
    text = _docx_text(saved)
    codes = {m.indicator for m in catalogue.measures_of(catalogue.ACCELERATOR)}
    codes |= {m.indicator for m in catalogue.measures_of(catalogue.ACCELERATOR, erdf=True)}
    assert sorted(c for c in codes if c not in text) == []
    assert "2025" in text and "Business Accelerator" in text
    assert [name for name in COMPANIES if name in text] == []
    scan.assert_clean()


# --- (d) every monitoring page, per role, in English and Italian -------------------------------------------------

# Each role's pages (ids by name, see `_seed_monitoring`), each with a text of the seeded content it must show in
# English, so that the page is scanned full rather than as an empty state.
KPI_PAGES = {
    "staff": {
        "/": "Follow-up surveys",
        "/kpi/": "Admitted",
        "/kpi/indicators": "How each indicator is computed",
        "/kpi/?edition=2025&s3=ict": "edition 2025 · S3 domain: ICT",
        "/kpi/?edition=2025&size=small": "size: Small",
        "/kpi/?programme=meet_the_buyer": "MTB-1",
        "/kpi/follow-ups": OWN,
        "/kpi/follow-ups?group=comparison&state=open": COMPARISON[0],
        "/kpi/follow-ups/{follow_up}": "Enter the answers on the company's behalf",
        "/kpi/follow-ups/{comparison}": "Comparison group",
        "/kpi/surveys/{answered}": "Correct the answers",
        "/kpi/surveys/{open}": "You are entering the answers on behalf of " + OWN,
        "/kpi/targets": "Targets of the 2026 edition",  # the latest edition
        "/kpi/targets?programme=accelerator&edition=2025": "Targets of the 2025 edition",
        "/kpi/reports": "Business Accelerator",
        "/kpi/reports/{report}": "Ready",
    },
    "authority": {
        "/": "Monitoring of results",
        "/kpi/": "Sales growth",
        "/kpi/indicators": "compound annual growth",
        "/kpi/?edition=2025&s3=ict": "edition 2025 · S3 domain: ICT",
        "/kpi/?edition=2025&s3=aerospace": "not shown",
        "/kpi/?edition=2025&size=micro": "size: Micro",
        "/kpi/?programme=meet_the_buyer": "MTB-1",
        "/kpi/?edition=1999": "There is no edition",
        "/kpi/reports": "Business Accelerator",
        "/kpi/reports/{report}": "Ready",
        "/kpi/api-tokens": "Create a token",
    },
    "applicant": {
        "/": "Surveys to answer",
        "/kpi/surveys": OWN,
        "/kpi/surveys/{open}": "Send the answers",
        "/kpi/surveys/{answered}": "Your answers",
    },
}


def _forms_in_their_states(page, role: str, ids: dict, problems: list[str]) -> None:
    """The forms of each role sent wrong, or to a confirmation: the messages next to the fields, scanned."""
    def check(label: str) -> None:
        nonlocal problems
        problems += axe_scan(page, role, "en", label) + _structure(page, f"en {role} {label}")

    if role == "staff":
        open_page(page, "/kpi/targets")
        page.locator("#target_ACC_1__admitted").fill("-1")
        page.locator("#target_ACC_2__sales").fill("twelve")
        _click(page, page.get_by_role("button", name="Save the targets"))
        assert page.locator("#error-summary").is_visible()
        check("/kpi/targets (two targets refused)")
        open_page(page, f"/kpi/follow-ups/{ids['follow_up']}")
        page.locator("summary", has_text="Correct the baseline").click()
        page.get_by_label("Employees (full-time equivalent)", exact=True).fill("-3")
        _click(page, page.get_by_role("button", name="Save the corrected baseline"))
        assert page.locator("#error-summary").is_visible()
        check("/kpi/follow-ups/<id> (baseline refused)")
    elif role == "applicant":
        open_page(page, f"/kpi/surveys/{ids['open']}")
        _click(page, page.get_by_role("button", name="Send the answers"))
        assert page.locator("#error-summary").is_visible()
        check("/kpi/surveys/<id> (sent empty)")
        year = int(re.search(r"figures of (\d{4})", page.locator("h1").inner_text()).group(1))
        _survey_fields(page, year, **{**ANSWER, "sales": "9000000"})
        _click(page, page.get_by_role("button", name="Send the answers"))
        assert page.locator("#jumps").is_visible()
        check("/kpi/surveys/<id> (a jump to confirm)")
    elif role == "authority":
        open_page(page, "/kpi/api-tokens")
        _click(page, page.get_by_role("button", name="Create the token"))
        assert page.locator("#error-summary").is_visible()
        check("/kpi/api-tokens (no name)")
        page.get_by_label(re.compile(r"^Name\b")).fill("Regional data warehouse")
        _click(page, page.get_by_role("button", name="Create the token"))
        assert page.locator("#api-token").is_visible()
        check("/kpi/api-tokens (token created)")


@pytest.mark.parametrize("role", list(KPI_PAGES))
def test_every_monitoring_page_has_no_serious_or_critical_accessibility_violation(app, page, db_session, role):
    seeded = _seed_monitoring(app)
    # Nothing is read after the commit: on SQLite a read would open a transaction that blocks the server.
    db_session.commit()
    ids = seeded.ids
    pages = {path.format(**ids): text for path, text in KPI_PAGES[role].items()}
    sign_in(page, seeded.emails[role])
    assert path_of(page) == "/", f"{role} could not sign in"

    problems: list[str] = []
    _scan_pages(page, role, "en", pages, problems)
    if role == "authority":
        for path in pages:
            open_page(page, path)
            shown = _no_company(page)
            if shown:
                problems.append(f"authority {path}: shows {shown}")
    _forms_in_their_states(page, role, ids, problems)
    open_page(page, "/")
    switch_language(page, "it")
    _scan_pages(page, role, "it", {path: None for path in pages}, problems)

    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
