"""The Word monitoring report from a real database, through its four ways out: the page
(asked for on the dashboard's box, written, then downloaded), the command line, the monthly
job, and LibreOffice.

- the document re-opened with python-docx holds every indicator code of the programme and
  every ERDF code, each with the value the monitoring computed for the authority, the
  headings, numbered captions, the TOC and PAGE fields and the charts as pictures;
- it converts to a PDF with LibreOffice whose text holds the indicator codes;
- staff and the authority ask for it, follow its page and download it; an applicant is
  refused everywhere; a bad request is answered next to the field;
- `flask kpi report` writes the file and refuses an unknown programme or edition with a
  message and a non-zero exit;
- the monthly job writes one report per programme with data and notifies every authority
  user; a second run in the same month does nothing;
- in Italian, the report keeps its structure with the translated headings.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from docx import Document
from docx.oxml.ns import qn
from flask_babel import force_locale
from sqlalchemy import func, select

from opsapp import jobs
from opsapp.accounts.models import User
from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import CohortStatus
from opsapp.core.models import AuditEntry, JobRun, Notification, StoredFile
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import EventPhase, Side
from opsapp.extensions import db
from opsapp.kpi import report_runs, reports
from opsapp.kpi.catalogue import measures_of
from opsapp.kpi.models import MonitoringReport, ReportStatus
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_edition
from tests.factories_cohorts import make_cohort, make_member
from tests.factories_events import make_event, make_participant
from tests.factories_kpi import make_comparison, make_follow_up, make_survey, make_target
from tests.integration.test_documents_pdf import _check_pdf, _convert, lo_profile, soffice  # noqa: F401

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PEOPLE = {"staff": Role.STAFF, "authority": Role.AUTHORITY, "authority2": Role.AUTHORITY, "admin": Role.ADMIN,
          "applicant": Role.APPLICANT}


@dataclass
class World:
    editions: tuple[int, ...]


def _company(n: int, domains, size: str):
    return make_organisation(kind="startup", legal_name=f"Followed Company {n} S.r.l.", size_class=size,
                             s3_domains=[domains[n % 2]], founding_date=utcnow().date() - timedelta(days=900))


@pytest.fixture
def world(app) -> World:
    """The Accelerator's 2025 edition followed six companies for two years (one survey unanswered) against
    four comparison companies; its 2026 edition four companies for one year. Meet the Buyer 2026 held an
    event with four SMEs and a buyer from outside the region."""
    with app.app_context():
        for name, role in PEOPLE.items():
            make_user(f"{name}@example.eu", roles=(role,), full_name=f"{name.title()} Person", locale="en")
        domains = make_s3_domains()
        today = utcnow().date()
        n = 0
        for year, ago, companies, waves in ((2025, 800, 6, (12, 24)), (2026, 420, 4, (12,))):
            edition = make_edition(year, ProgrammeKind.ACCELERATOR)
            make_target("ACC-1.admitted", edition, 8)
            make_target("ACC-2.sales", edition, 5)
            cohort = make_cohort(CohortStatus.COMPLETED, edition_id=edition.id, name=f"Accelerator {year}",
                                 starts_on=today - timedelta(days=ago + 150), ends_on=today - timedelta(days=ago))
            for i in range(companies):
                n += 1
                organisation = _company(n, domains, ("micro", "small")[i % 2])
                make_member(cohort, organisation=organisation, completion="completed")
                follow_up = make_follow_up(organisation, edition, ended_on=cohort.ends_on,
                                           turnover=1_000_000 + 100_000 * i, export_turnover=200_000,
                                           employees_fte=10, high_skill_fte=3, investment_raised=50_000)
                for wave in waves:
                    if year == 2025 and wave == 24 and i == 0:
                        make_survey(follow_up, wave)  # due, not answered: the 24-month figures are partial
                        continue
                    grow = Decimal("1.1") ** (wave // 12)
                    make_survey(follow_up, wave, sales=int((1_000_000 + 100_000 * i) * grow),
                                export_sales=int(250_000 * grow), employees_fte=12 + wave // 12,
                                high_skill_fte=4 + wave // 12, funding_raised=100_000, funding_source="private",
                                new_markets=1, corporate_partnerships=1, contracts_signed=0)
            if year == 2025:
                for _k in range(4):
                    n += 1
                    follow_up = make_comparison(_company(n, domains, "micro"), edition, ended_on=cohort.ends_on,
                                                turnover=900_000, export_turnover=100_000, employees_fte=9,
                                                high_skill_fte=2)
                    for wave in waves:
                        make_survey(follow_up, wave, sales=950_000, export_sales=105_000, employees_fte=9,
                                    high_skill_fte=2)
        mtb = make_edition(2026, ProgrammeKind.MEET_THE_BUYER)
        event = make_event(phase=EventPhase.CLOSED, first_day=today - timedelta(days=60), edition_id=mtb.id)
        for _k in range(4):
            make_participant(event, Side.SME)
        make_participant(event, Side.BUYER, outside_region=True)
        db.session.commit()
    return World(editions=(2025, 2026))


def client_of(app, name: str):
    client = app.test_client()
    login(client, f"{name}@example.eu")
    return client


def _text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def _rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def _expected(app, programme: str, edition=None) -> dict[str, tuple[str, str]]:
    """Measure key -> (indicator code, value text) as the monitoring computes it for the authority."""
    with app.test_request_context(), force_locale("en"):
        computed = report_runs.compute(programme, edition, "en")
        return {m.key: (m.indicator, reports.value_text(computed.value(m.key)))
                for m in measures_of(programme) + measures_of(programme, erdf=True)}


# --- the document ----------------------------------------------------------------------------------------------------


def test_the_report_holds_every_indicator_with_its_computed_value_and_word_structure(app, world):
    with app.test_request_context():
        content = report_runs.write("accelerator", None, "en")
    document = Document(io.BytesIO(content))
    expected = _expected(app, "accelerator")
    # Figures from the real records: 10 companies admitted in two editions; growth resting on answers.
    assert expected["ACC-1.admitted"] == ("ACC-1", "10")
    assert expected["ACC-2.sales"][1].endswith("%")
    kpi, erdf = document.tables[0], next(t for t in document.tables if _rows(t)[0][:2] == ["Code", "Indicator"])
    kpi_rows = _rows(kpi)[1:]
    erdf_rows = _rows(erdf)[1:]
    for key, (code, value) in expected.items():
        rows = erdf_rows if code.startswith("RC") else kpi_rows
        assert any(row[0] == code and row[2] == value for row in rows), f"{key}: {code} with {value!r} not found"
    text = _text(document)
    assert "partial" in text  # one 24-month survey of 2025 unanswered

    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for heading in ("Summary", "Indicators against targets", "Charts", "Comparison of editions",
                    "ERDF common indicators", "Comparison group", "Completeness of the data", "Methodology"):
        assert heading in headings
    editions = next(t for t in document.tables if _rows(t)[0][2:] == ["2025", "2026"])
    assert ["ACC-1", "Admitted", "6", "4"] in _rows(editions)
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert captions[0].startswith("Table 1: Indicators of Business Accelerator")
    assert any(c.startswith("Figure 1: ") for c in captions)
    body = document.element.body.xml
    assert 'TOC \\o "1-3"' in body and "SEQ Figure" in body and "SEQ Table" in body
    assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", document.sections[0].footer._element.xml)
    assert document.settings.element.find(qn("w:updateFields")) is not None
    assert len(document.inline_shapes) >= 4  # growth, editions, S3 domains, sizes (+ comparison group)


def test_the_report_converts_to_a_pdf_with_libreoffice(app, world, tmp_path, soffice, lo_profile,  # noqa: F811
                                                       record_property):
    with app.test_request_context():
        content = report_runs.write("accelerator", None, "en")
    document = tmp_path / "monitoring-report.docx"
    document.write_bytes(content)
    pdf, took = _convert(soffice, lo_profile, document)
    codes = [m.indicator for m in measures_of("accelerator") + measures_of("accelerator", erdf=True)]
    facts = _check_pdf(pdf, ["Monitoring report", "Business Accelerator", "Indicators against targets",
                             *dict.fromkeys(codes)])
    record_property("conversion_seconds", round(took, 1))
    print(f"\nmonitoring report: converted in {took:.1f} s, {facts}")


def test_an_italian_report_has_italian_headings_and_the_same_structure(app, world):
    with app.test_request_context():
        english = Document(io.BytesIO(report_runs.write("accelerator", 2025, "en")))
        italian = Document(io.BytesIO(report_runs.write("accelerator", 2025, "it")))

    def headings(document):
        return [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]

    assert len(headings(italian)) == len(headings(english))
    assert "Riepilogo" in headings(italian) and "Summary" not in headings(italian)
    assert len(italian.tables) == len(english.tables)
    assert len(italian.inline_shapes) == len(english.inline_shapes)
    assert _rows(italian.tables[0])[0][0] == "Codice"
    assert italian.core_properties.language == "it"


# --- the page ----------------------------------------------------------------------------------------------------------


def _ask(client, programme="accelerator", edition="", language="en", follow=False):
    page = client.get("/kpi/reports").get_data(as_text=True)
    return client.post("/kpi/reports/request", data={"csrf_token": csrf_from(page), "programme": programme,
                                                     "edition": edition, "language": language},
                       follow_redirects=follow)


@pytest.mark.parametrize("who", ["staff", "authority"])
def test_staff_and_authority_ask_for_the_report_then_download_it(app, world, outbox, who):
    client = client_of(app, who)
    response = _ask(client, edition="2025")
    assert response.status_code == 302
    status_page = response.headers["Location"]
    report_id = int(status_page.rstrip("/").rsplit("/", 1)[-1])
    page = client.get(status_page).get_data(as_text=True)
    assert "Ready" in page and f"/kpi/reports/{report_id}/download" in page

    download = client.get(f"/kpi/reports/{report_id}/download")
    assert download.status_code == 200
    assert download.mimetype == DOCX
    disposition = download.headers["Content-Disposition"]
    assert "attachment" in disposition and "monitoring-report-accelerator-2025-" in disposition
    document = Document(io.BytesIO(download.data))
    assert "ACC-1" in _text(document)

    with app.app_context():
        report = db.session.get(MonitoringReport, report_id)
        assert report.status == ReportStatus.DONE.value and report.edition_year == 2025
        assert report.file.purpose == report_runs.PURPOSE and report.file.size == len(download.data)
        actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(report_id))))
        assert {"kpi.report_requested", "kpi.report_written"} <= actions
        notice = db.session.scalar(select(Notification).where(Notification.user_id == report.requested_by_id))
        assert notice.link == f"/kpi/reports/{report_id}/download"
        assert "Monitoring report ready" in notice.subject
        # The dashboard's box lists it for whoever asked.
        user = report.requested_by
        assert [r.id for r in report_runs.recent_for(user, "accelerator")] == [report_id]
        assert report_runs.recent_for(user, "meet_the_buyer") == []
    assert any("Monitoring report ready" in m["subject"] for m in outbox())

    # Another reader allowed to read reports downloads it too; the list page names it.
    other = client_of(app, "authority2" if who == "staff" else "staff")
    assert other.get(f"/kpi/reports/{report_id}/download").status_code == 200
    listing = other.get("/kpi/reports").get_data(as_text=True)
    assert f"/kpi/reports/{report_id}/download" in listing


def test_an_applicant_cannot_ask_for_see_or_download_a_report(app, world):
    staff = client_of(app, "staff")
    report_id = int(_ask(staff).headers["Location"].rsplit("/", 1)[-1])
    applicant = client_of(app, "applicant")
    for path in ("/kpi/reports", f"/kpi/reports/{report_id}", f"/kpi/reports/{report_id}/download",
                 f"/kpi/reports/{report_id}/state"):
        assert applicant.get(path).status_code == 403, path
    page = applicant.get("/").get_data(as_text=True)
    response = applicant.post("/kpi/reports/request", data={"csrf_token": csrf_from(page),
                                                            "programme": "accelerator", "language": "en"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(MonitoringReport.id))) == 1
        applicant_user = db.session.scalar(select(User).where(
            User.email == "applicant@example.eu"))
        with pytest.raises(report_runs.ReportError):
            report_runs.request(applicant_user, "accelerator", None, "en")


def test_a_bad_request_is_answered_next_to_the_field_and_nothing_is_saved(app, world):
    client = client_of(app, "staff")
    response = _ask(client, programme="meet_the_buyer", edition="2025")  # Meet the Buyer has 2026 only
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Meet the Buyer has no edition 2025 (editions: 2026)." in page
    assert 'id="edition-error"' in page
    response = _ask(client, programme="nowhere")
    assert response.status_code == 400 and 'id="programme-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(MonitoringReport.id))) == 0


def test_a_failed_report_keeps_a_clear_message_and_the_page_says_it(app, world, tmp_path, outbox):
    client = client_of(app, "staff")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("the file store cannot be created here")
    folder, app.config["UPLOAD_FOLDER"] = app.config["UPLOAD_FOLDER"], str(blocked)  # a full or broken disk
    try:
        response = _ask(client, edition="2026")
    finally:
        app.config["UPLOAD_FOLDER"] = folder
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Failed" in page and "could not be written because of an unexpected error" in page
    with app.app_context():
        report = db.session.scalar(select(MonitoringReport))
        assert report.status == ReportStatus.FAILED.value and report.file_id is None
        assert db.session.scalar(select(func.count(StoredFile.id))) == 0
        notice = db.session.scalar(select(Notification).where(Notification.user_id == report.requested_by_id))
        assert "could not be written" in notice.subject and notice.link == f"/kpi/reports/{report.id}"
    download = client.get(f"/kpi/reports/{report.id}/download")
    assert download.status_code == 302 and download.headers["Location"].endswith(f"/kpi/reports/{report.id}")


def test_the_state_page_polls_while_the_report_is_being_written(app, world):
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@example.eu"))
        report = report_runs.request(staff, "accelerator", None, "en")
        db.session.commit()
        report_id = report.id
    page = client_of(app, "staff").get(f"/kpi/reports/{report_id}").get_data(as_text=True)
    assert "Being written" in page
    assert f'hx-get="/kpi/reports/{report_id}/state"' in page and 'hx-trigger="every 3s"' in page
    assert "vendor/htmx/htmx.min.js" in page
    # Written in the background (its own application context), then shown as ready.
    with app.app_context():
        report_runs.run_in_background(report_id).join(timeout=60)
    state = client_of(app, "staff").get(f"/kpi/reports/{report_id}/state").get_data(as_text=True)
    assert "Ready" in state and "hx-trigger" not in state


# --- the command line ----------------------------------------------------------------------------------------------------


def test_the_command_writes_the_report(app, world, tmp_path):
    output = tmp_path / "reports" / "mtb.docx"
    result = app.test_cli_runner().invoke(args=["kpi", "report", "--programme", "meet-the-buyer", "--edition", "2026",
                                                "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert str(output) in result.output and re.search(r"in \d+\.\d s", result.output)
    text = _text(Document(str(output)))
    for measure in measures_of("meet_the_buyer") + measures_of("meet_the_buyer", erdf=True):
        assert measure.indicator in text
    assert "Meet the Buyer · edition 2026" in text

    italian = tmp_path / "acc-it.docx"
    result = app.test_cli_runner().invoke(args=["kpi", "report", "--programme", "accelerator", "--language", "it",
                                                "--output", str(italian)])
    assert result.exit_code == 0, result.output
    assert "Riepilogo" in _text(Document(str(italian)))


@pytest.mark.parametrize("args, message", [
    (["--programme", "incubator"], 'Unknown programme "incubator": choose accelerator or meet-the-buyer.'),
    (["--programme", "accelerator", "--edition", "2019"],
     "Business Accelerator has no edition 2019 (editions: 2025, 2026)."),
    (["--programme", "accelerator", "--language", "fr"], "The report is written in English (en) or Italian (it)."),
])
def test_the_command_refuses_an_unknown_programme_edition_or_language(app, world, tmp_path, args, message):
    output = tmp_path / "report.docx"
    result = app.test_cli_runner().invoke(args=["kpi", "report", *args, "--output", str(output)])
    assert result.exit_code != 0
    assert message in result.output
    assert not output.exists()


# --- the monthly job ------------------------------------------------------------------------------------------------------


def test_the_monthly_job_writes_one_report_per_programme_and_tells_the_authority_once(app, world, outbox):
    now = datetime(2027, 6, 1, 5, 10, tzinfo=UTC)
    with app.app_context():
        first = jobs.run_job("kpi_monthly_report", now)
        second = jobs.run_job("kpi_monthly_report", now + timedelta(hours=3))
        assert "accelerator" in first and "meet_the_buyer" in first
        assert second.endswith("already done")
        made = list(db.session.scalars(select(MonitoringReport).order_by(MonitoringReport.id)))
        assert sorted(r.programme for r in made) == ["accelerator", "meet_the_buyer"]
        assert all(r.status == ReportStatus.DONE.value and r.edition_year is None and r.requested_by_id is None
                   for r in made)
        assert db.session.scalar(select(func.count(StoredFile.id)).where(StoredFile.purpose == "kpi_report")) == 2
        for email in ("authority@example.eu", "authority2@example.eu"):
            user = db.session.scalar(select(User).where(User.email == email))
            links = sorted(n.link for n in db.session.scalars(select(Notification).where(
                Notification.user_id == user.id)))
            assert links == sorted(f"/kpi/reports/{r.id}/download" for r in made)
        staff = db.session.scalar(select(User).where(User.email == "staff@example.eu"))
        assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == staff.id)) == 0
        assert db.session.scalar(select(func.count(JobRun.id)).where(JobRun.job == "kpi_monthly_report")) == 1
        # The dashboard's box lists the monthly report of its programme to every reader of reports.
        assert [r.programme for r in report_runs.recent_for(staff, "meet_the_buyer")] == ["meet_the_buyer"]
    mails = [m for m in outbox() if "Monthly monitoring report" in m["subject"]]
    assert len(mails) == 4  # two programmes, two authority users
    # The authority downloads the monthly report from the link of its notice.
    client = client_of(app, "authority")
    assert client.get(f"/kpi/reports/{made[0].id}/download").status_code == 200
    next_month = now.replace(month=7)
    with app.app_context():
        assert "reports written" in jobs.run_job("kpi_monthly_report", next_month)
        assert db.session.scalar(select(func.count(MonitoringReport.id))) == 4


# --- the dashboard's box -------------------------------------------------------------------------------------------------


def test_the_authority_asks_for_the_report_from_the_dashboard_box_in_its_language(app, world):
    client = client_of(app, "authority")
    with app.app_context():
        db.session.scalar(select(User).where(User.email == "authority@example.eu")).locale = "it"
        db.session.commit()
    page = client.get("/kpi/?programme=accelerator&edition=2025").get_data(as_text=True)
    box = page[page.index('id="kpi-report-title"'):]
    box = box[:box.index("</section>")]
    assert 'action="/kpi/reports/request"' in box
    assert 'name="programme" value="accelerator"' in box and 'name="edition" value="2025"' in box
    assert re.search(r'<option value="it" lang="it" selected>Italiano</option>', box)
    response = client.post("/kpi/reports/request", data={"csrf_token": csrf_from(box), "programme": "accelerator",
                                                          "edition": "2025", "language": "it"})
    assert response.status_code == 302
    page = client.get("/kpi/?programme=accelerator&edition=2025").get_data(as_text=True)
    with app.app_context():
        report = db.session.scalar(select(MonitoringReport))
        assert report.locale == "it" and report.edition_year == 2025
    assert f"/kpi/reports/{report.id}/download" in page
    document = Document(io.BytesIO(client.get(f"/kpi/reports/{report.id}/download").data))
    assert "Riepilogo" in [p.text for p in document.paragraphs]
