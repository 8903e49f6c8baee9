"""Completion, the Seal of Excellence, its public verification and the loan-scheme list, through
the HTTP client (the world of `test_cohort_board.build_world`: Alfa meets the completion criteria,
Beta does not, Gamma attended nothing).

- staff confirm a completion; a company that does not meet the criteria needs a reason, and so
  do "not completed" and "withdrawn"; a planned cohort refuses; nothing half-saved;
- a completion issues a seal with an unguessable code, flags the company loan-eligible, is
  audited and told to the company's people with the links;
- the certificate (Word, printable) is for staff and the company only; revoking is audited and
  the public page then says revoked;
- the public page states company, programme, edition and date and nothing else, reads codes
  case-insensitively with or without spaces and dashes, and is rate-limited;
- the loan-scheme list (staff, authority) with filters and exports; the home panels.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from opsapp.cohorts import seals
from opsapp.cohorts.models import Cohort, CohortMember, CohortStatus, CompletionStatus, Seal
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db, limiter
from tests.conftest import csrf_from
from tests.factories import login
from tests.integration.test_cohort_board import World, build_world
from tests.integration.test_documents_pdf import _check_pdf, _convert, lo_profile, soffice  # noqa: F401

CODE = re.compile(r"^SOE-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def completion_url(world: World, company: str) -> str:
    return f"/cohorts/{world.cohort_id}/members/{world.members[company]}/completion"


def decide(client, world: World, company: str, decision: str, reason: str = ""):
    url = completion_url(world, company)
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "decision": decision, "reason": reason})


def member(app, world: World, company: str) -> CohortMember:
    with app.app_context():
        found = db.session.get(CohortMember, world.members[company])
        db.session.expunge(found)
        return found


def seal_of(app, world: World, company: str) -> Seal | None:
    with app.app_context():
        seal = db.session.scalar(select(Seal).where(Seal.member_id == world.members[company]))
        if seal is not None:
            db.session.expunge(seal)
        return seal


def staff_client(app):
    client = app.test_client()
    login(client, "staff@example.eu")
    return client


# --- completion ----------------------------------------------------------------------------------------------


def test_completing_a_company_that_meets_the_criteria_issues_a_seal(app, world, outbox):
    client = staff_client(app)
    page = client.get(completion_url(world, "Alfa")).get_data(as_text=True)
    assert "The company meets the completion criteria now." in page
    assert "Hours attended: 3.5 of 3 (met)" in page
    response = decide(client, world, "Alfa", "completed")
    assert response.status_code == 302
    seal = seal_of(app, world, "Alfa")
    assert seal is not None and CODE.match(seal.code), seal and seal.code
    assert seal.issued_on == utcnow().date() or abs((seal.issued_on - utcnow().date()).days) <= 1
    alfa = member(app, world, "Alfa")
    assert alfa.completion == "completed" and alfa.loan_eligible and alfa.completion_decided_at is not None
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"cohort_members.completion_changed", "seals.issued"} <= actions
        notices = list(db.session.scalars(select(Notification)))
        assert any(seal.code in n.body and f"/verify/{seal.code}" in n.body for n in notices)
        assert any(n.link == f"/seals/{seal.id}" for n in notices)
    assert any(m["To"] == "alfa.owner@example.eu" for m in outbox())
    page = client.get(completion_url(world, "Alfa")).get_data(as_text=True)
    assert seal.code in page and "Record the decision" not in page


def test_completing_without_meeting_the_criteria_needs_a_reason(app, world):
    client = staff_client(app)
    page = client.get(completion_url(world, "Beta")).get_data(as_text=True)
    assert "does not meet the completion criteria now" in page
    response = decide(client, world, "Beta", "completed")
    assert response.status_code == 200
    assert "give the reason for confirming its completion all the same" in response.get_data(as_text=True)
    assert member(app, world, "Beta").completion == "in_progress"
    assert seal_of(app, world, "Beta") is None

    reason = "Missed two sessions for a trade fair in Munich; the mentor confirms the work was done."
    response = decide(client, world, "Beta", "completed", reason)
    assert response.status_code == 302
    beta = member(app, world, "Beta")
    assert beta.completion == "completed" and beta.completion_note == reason and beta.loan_eligible
    assert seal_of(app, world, "Beta") is not None
    assert reason in client.get(completion_url(world, "Beta")).get_data(as_text=True)


def test_not_completed_and_withdrawn_need_a_reason_and_give_no_seal(app, world):
    client = staff_client(app)
    response = decide(client, world, "Gamma", "not_completed")
    assert response.status_code == 200 and "Give the reason" in response.get_data(as_text=True)
    assert member(app, world, "Gamma").completion == "in_progress"
    assert decide(client, world, "Gamma", "not_completed", "Attended no session.").status_code == 302
    gamma = member(app, world, "Gamma")
    assert gamma.completion == "not_completed" and not gamma.loan_eligible
    assert seal_of(app, world, "Gamma") is None
    # Staff may reconsider a "not completed", with a reason since the criteria are not met.
    assert decide(client, world, "Gamma", "completed", "Evidence of the sessions came late.").status_code == 302
    assert member(app, world, "Gamma").completion == "completed"
    assert seal_of(app, world, "Gamma") is not None

    assert decide(client, world, "Beta", "withdrawn", "The company was sold.").status_code == 302
    assert member(app, world, "Beta").completion == "withdrawn"


def test_a_decided_completion_cannot_be_decided_again(app, world):
    client = staff_client(app)
    assert decide(client, world, "Alfa", "completed").status_code == 302
    url = completion_url(world, "Alfa")
    page = client.get(url).get_data(as_text=True)
    assert "Record the decision" not in page
    token = csrf_from(client.get(f"/seals/{seal_of(app, world, 'Alfa').id}").get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "decision": "not_completed", "reason": "Changed mind"})
    assert response.status_code == 200
    assert member(app, world, "Alfa").completion == "completed"
    with app.app_context():
        assert db.session.scalar(select(Seal).where(Seal.member_id == world.members["Alfa"])) is not None


def test_a_planned_cohort_refuses_completions(app):
    world = build_world(app, status=CohortStatus.PLANNED)
    client = staff_client(app)
    response = decide(client, world, "Alfa", "completed")
    assert response.status_code == 200
    assert "once the cohort is running or has ended" in response.get_data(as_text=True)
    assert member(app, world, "Alfa").completion == "in_progress"
    assert seal_of(app, world, "Alfa") is None


def test_a_member_of_another_cohort_is_404_and_only_staff_decide(app, world):
    client = staff_client(app)
    assert client.get(f"/cohorts/{world.cohort_id + 1}/members/{world.members['Alfa']}/completion").status_code == 404
    for email in ("alfa.owner@example.eu", "maria.mentor@example.eu", "authority@example.eu"):
        other = app.test_client()
        login(other, email)
        assert other.get(completion_url(world, "Alfa")).status_code == 403
        assert other.post(completion_url(world, "Alfa"), data={"decision": "completed"}).status_code in (400, 403)
    assert member(app, world, "Alfa").completion == "in_progress"


# --- the seal --------------------------------------------------------------------------------------------------


def test_the_certificate_is_for_staff_and_the_company_only(app, world):
    client = staff_client(app)
    decide(client, world, "Alfa", "completed")
    seal = seal_of(app, world, "Alfa")
    for email, expected in (("staff@example.eu", 200), ("alfa.owner@example.eu", 200),
                            ("beta.owner@example.eu", 404), ("maria.mentor@example.eu", 404),
                            ("authority@example.eu", 404)):
        other = app.test_client()
        login(other, email)
        assert other.get(f"/seals/{seal.id}").status_code == expected, email
        assert other.get(f"/seals/{seal.id}.docx").status_code == expected, email
    assert app.test_client().get(f"/seals/{seal.id}").status_code == 302  # anonymous: sign in

    company = app.test_client()
    login(company, "alfa.owner@example.eu")
    html = company.get(f"/seals/{seal.id}").get_data(as_text=True)
    for text in ("Seal of Excellence", "Alfa Robotica S.r.l.", "Business Accelerator", "2027", seal.code,
                 f"http://localhost/verify/{seal.code}"):
        assert text in html
    assert "Revoke the seal" not in html
    response = company.get(f"/seals/{seal.id}.docx")
    assert response.mimetype.endswith("wordprocessingml.document")
    assert seal.code in response.headers["Content-Disposition"]
    document = Document(io.BytesIO(response.data))
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    for words in ("Seal of Excellence", "Alfa Robotica S.r.l.", "Business Accelerator", "2027",
                  "Business Accelerator 2027 cohort", seal.code, f"http://localhost/verify/{seal.code}"):
        assert words in text
    assert document.paragraphs and any(p.style.name == "Title" for p in document.paragraphs)
    assert client.get("/seals/999999").status_code == 404


def test_revoking_a_seal_needs_a_reason_is_audited_and_shows_publicly(app, world, outbox):
    client = staff_client(app)
    decide(client, world, "Alfa", "completed")
    seal = seal_of(app, world, "Alfa")
    token = csrf_from(client.get(f"/seals/{seal.id}").get_data(as_text=True))
    company = app.test_client()
    login(company, "alfa.owner@example.eu")
    company_token = csrf_from(company.get(f"/seals/{seal.id}").get_data(as_text=True))
    assert company.post(f"/seals/{seal.id}/revoke",
                        data={"csrf_token": company_token, "reason": "no"}).status_code == 403
    response = client.post(f"/seals/{seal.id}/revoke", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 200 and "Give the reason for revoking the seal" in response.get_data(as_text=True)
    assert seal_of(app, world, "Alfa").revoked_at is None

    reason = "The company gave false statements about its seat."
    response = client.post(f"/seals/{seal.id}/revoke", data={"csrf_token": token, "reason": reason})
    assert response.status_code == 302
    revoked = seal_of(app, world, "Alfa")
    assert revoked.revoked_at is not None and revoked.revoke_reason == reason
    assert not member(app, world, "Alfa").loan_eligible
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "seals.revoked"))
        assert entry is not None and entry.detail["reason"] == reason
    assert any("revoked" in (m["Subject"] or "") for m in outbox())
    html = client.get(f"/seals/{seal.id}").get_data(as_text=True)
    assert "This seal was revoked on" in html and "Revoke the seal" not in html
    again = client.post(f"/seals/{seal.id}/revoke", data={"csrf_token": token, "reason": "twice"})
    assert again.status_code == 200 and "already revoked" in again.get_data(as_text=True)

    public = app.test_client().get(f"/verify/{seal.code}")
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and "This Seal of Excellence was revoked." in text
    assert "Alfa Robotica" not in text and reason not in text


# --- the public verification ---------------------------------------------------------------------------------------


def _public_text(response) -> str:
    """The page's main content (the layout's navigation aside)."""
    html = response.get_data(as_text=True)
    main = re.search(r'<main[^>]*>(.*)</main>', html, re.S)
    return main.group(1) if main else html


def test_a_valid_seal_verifies_in_any_spelling_and_leaks_nothing(app, world):
    client = staff_client(app)
    decide(client, world, "Alfa", "completed")
    seal = seal_of(app, world, "Alfa")
    anonymous = app.test_client()
    raw = seal.code.replace("-", "")
    spellings = [seal.code, seal.code.lower(), raw[3:], " ".join(raw[3:][i:i + 4] for i in (0, 4, 8)),
                 f"soe {raw[3:7].lower()}-{raw[7:11]} {raw[11:]}"]
    for typed in spellings:
        for response in (anonymous.get("/verify", query_string={"code": typed}),
                         anonymous.get(f"/verify/{typed}")):
            assert response.status_code == 200, typed
            text = response.get_data(as_text=True)
            assert "This Seal of Excellence is valid." in text, typed
            for fact in ("Alfa Robotica S.r.l.", "Business Accelerator", "2027", seal.code):
                assert fact in text
    text = _public_text(anonymous.get(f"/verify/{seal.code}"))
    leaks = [world.vat["Alfa"], world.vat["Alfa"][2:], "alfa.owner@example.eu", "Alfa Owner", "Maria Mentore",
             "Stefania Staff", "First export order", "3.5", "Hours", "Beta Tessile", "loan"]
    for secret in leaks:
        assert secret not in text, f"the public page shows {secret!r}"


def test_unknown_and_malformed_codes_are_not_known(app, world):
    anonymous = app.test_client()
    for typed in ("SOE-2222-3333-4444", "hello", "<script>x</script>", "SOE-0000-0000-0000", "1" * 200):
        response = anonymous.get("/verify", query_string={"code": typed})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "This code is not known." in text or "Verification code" in text
        assert "is valid" not in text and "<script>x</script>" not in text
    response = anonymous.get("/verify/SOE-2222-3333-4444")
    assert "This code is not known." in response.get_data(as_text=True)
    plain = anonymous.get("/verify")
    assert plain.status_code == 200 and "not known" not in plain.get_data(as_text=True)


def test_the_verification_page_is_rate_limited(app, world):
    anonymous = app.test_client()
    limiter.reset()
    answers = [anonymous.get(f"/verify/SOE-2222-3333-{n:04d}").status_code for n in range(31)]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429
    limiter.reset()


def test_codes_are_unguessable_and_normalised():
    codes = {seals.new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(CODE.match(c) for c in codes)
    assert seals.normalise_code("soe 7k3m q9tx 2bhd") == "SOE-7K3M-Q9TX-2BHD"
    assert seals.normalise_code("7K3M–Q9TX–2BHD") == "SOE-7K3M-Q9TX-2BHD"  # en dashes
    assert seals.normalise_code("SOE-7K3M-Q9TX") is None
    assert seals.normalise_code("SOE-7K3M-Q9TX-2BH0") is None  # 0 is never in a code


# --- the loan-scheme list ---------------------------------------------------------------------------------------------


def test_the_loan_list_shows_completed_companies_with_filters_and_exports(app, world):
    client = staff_client(app)
    decide(client, world, "Alfa", "completed")
    decide(client, world, "Beta", "completed", "Trade fair; the work was done.")
    decide(client, world, "Gamma", "not_completed", "Attended no session.")
    beta_seal = seal_of(app, world, "Beta")
    token = csrf_from(client.get(f"/seals/{beta_seal.id}").get_data(as_text=True))
    client.post(f"/seals/{beta_seal.id}/revoke", data={"csrf_token": token, "reason": "False statements."})

    authority = app.test_client()
    login(authority, "authority@example.eu")
    for viewer in (client, authority):
        html = viewer.get("/cohorts/loan-eligible").get_data(as_text=True)
        assert "Alfa Robotica S.r.l." in html and world.vat["Alfa"] in html
        assert "Beta Tessile" not in html and "Gamma Sensori" not in html  # revoked; not completed
        assert "1 company" in html
    assert "Loan-eligible companies" in authority.get("/").get_data(as_text=True)  # in the navigation

    assert "Alfa Robotica" in client.get("/cohorts/loan-eligible?year=2027").get_data(as_text=True)
    assert "No company matches these filters" in client.get("/cohorts/loan-eligible?year=2027&q=zzz").get_data(
        as_text=True)
    assert "Alfa Robotica" in client.get("/cohorts/loan-eligible?q=alfa").get_data(as_text=True)
    assert client.get("/cohorts/loan-eligible?year=abc&cohort=x&size_class=huge").status_code == 200

    response = client.get("/cohorts/loan-eligible?export=csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["Company"] for r in rows] == ["Alfa Robotica S.r.l."]
    assert rows[0]["VAT number"] == world.vat["Alfa"] and rows[0]["Edition"] == "2027"
    assert rows[0]["Seal code"] == seal_of(app, world, "Alfa").code
    sheet = load_workbook(io.BytesIO(authority.get("/cohorts/loan-eligible?export=xlsx").data)).active
    assert sheet["A2"].value == "Alfa Robotica S.r.l."

    for email in ("alfa.owner@example.eu", "maria.mentor@example.eu"):
        other = app.test_client()
        login(other, email)
        assert other.get("/cohorts/loan-eligible").status_code == 403


# --- home panels ------------------------------------------------------------------------------------------------------


def test_home_panels_for_staff_and_for_the_company(app, world):
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        cohort.starts_on = utcnow().date() - timedelta(days=150)
        cohort.ends_on = utcnow().date() - timedelta(days=3)
        db.session.commit()
    client = staff_client(app)
    home = client.get("/").get_data(as_text=True)
    assert "Completions to decide" in home and "3 companies to decide" in home
    decide(client, world, "Alfa", "completed")
    assert "2 companies to decide" in client.get("/").get_data(as_text=True)

    company = app.test_client()
    login(company, "alfa.owner@example.eu")
    home = company.get("/").get_data(as_text=True)
    seal = seal_of(app, world, "Alfa")
    assert "Your Seal of Excellence" in home and f"/seals/{seal.id}.docx" in home and seal.code in home
    other = app.test_client()
    login(other, "beta.owner@example.eu")
    assert "Your Seal of Excellence" not in other.get("/").get_data(as_text=True)


def test_completion_status_labels_cover_every_state():
    assert {s.value for s in CompletionStatus} == {"in_progress", "completed", "not_completed", "withdrawn"}


# --- the certificate as a PDF (LibreOffice) -------------------------------------------------------------------------------


def test_the_certificate_converts_to_a_readable_pdf(app, world, tmp_path, soffice, lo_profile,  # noqa: F811
                                                    record_property):
    client = staff_client(app)
    decide(client, world, "Alfa", "completed")
    seal = seal_of(app, world, "Alfa")
    response = client.get(f"/seals/{seal.id}.docx")
    assert response.status_code == 200
    document = tmp_path / f"seal-{seal.id}.docx"
    document.write_bytes(response.data)
    pdf, took = _convert(soffice, lo_profile, document)
    facts = _check_pdf(pdf, ["Seal of Excellence", "Alfa Robotica S.r.l.", seal.code, "Business Accelerator"])
    record_property("conversion_seconds", round(took, 1))
    print(f"\nseal certificate: converted in {took:.1f} s, {facts}")
