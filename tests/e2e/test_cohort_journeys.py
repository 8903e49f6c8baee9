"""The Accelerator cohort in a real browser, and an axe-core scan of every cohorts page per role.

(a) The journey of issue 6: staff form a cohort from a decided Accelerator call (a period too
short refused on the way), start it; the company states its needs; staff match mentors (the
page proposes, a declared conflict of interest is respected) and confirm; the mentor finds
the company on the home page, plans a one-to-one session, takes the attendance, writes the
note and agrees a milestone it then confirms; staff see on the progress board that the company
meets the criteria and confirm its completion: a Seal of Excellence is issued. The certificate
(.docx) opens in python-docx; anyone signed out verifies the code (company, programme, edition,
date and nothing else), an unknown code says so, and after staff revoke the seal its page says
revoked. Every page reached is scanned with axe-core (no serious or critical violation).

(b) The pages of a seeded running cohort (`_seed_cohort`: members in every state, mentors,
sessions with attendance and notes, milestones, an introduction, an obligation, a valid and a
revoked seal), per role (`COHORT_PAGES`: staff, mentor, applicant, anonymous), scanned in
English (each with a text of the seeded content it must show) and in Italian, like
`test_accessibility.py` does for the call cycle.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import docx
import pytest
from babel.dates import format_date
from sqlalchemy import select

from opsapp.calls.models import CallStatus, Obligation
from opsapp.cohorts.cohorts import add_months
from opsapp.cohorts.models import (
    Attendance,
    CohortMember,
    CohortStatus,
    CompletionStatus,
    InvestorIntroduction,
    MentorConflict,
    Mentorship,
    Milestone,
    MilestoneStatus,
    Need,
    Seal,
    SessionKind,
    SessionNote,
)
from opsapp.cohorts.seals import new_code
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from tests.e2e.conftest import axe_scan, open_page, path_of, sign_in, sign_out, switch_language
from tests.e2e.test_call_journeys import Scans, _click, _flash
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_application, make_call, make_edition
from tests.factories_cohorts import make_cohort, make_member, make_mentor, make_session, make_themes

pytestmark = pytest.mark.e2e

COHORT = "Business Accelerator 2027 cohort"
CODE = re.compile(r"SOE-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
UNKNOWN_CODE = "SOE-2222-3333-4444"


def _panel(page, title: str):
    """A panel of the home page, by its title."""
    return page.locator("main section.panel-card", has=page.get_by_role("heading", name=title))


def _tick(page, label: str) -> None:
    """Tick a checkbox or radio button by its label (Bootstrap Italia draws the box on the label)."""
    box = page.get_by_label(label, exact=True)
    page.locator(f"label[for='{box.get_attribute('id')}']").click()
    assert box.is_checked()


def _company(name: str, email: str, full_name: str):
    owner = make_user(email, roles=[Role.APPLICANT], full_name=full_name)
    return owner, make_organisation(kind="startup", owner=owner, legal_name=name)


def _decided_call(year: int, title: str, organisations, others: dict | None = None):
    """A decided Accelerator call whose applications of `organisations` are selected with their place
    accepted (ranked in that order); `others` maps more organisations to (outcome, place status)."""
    call = make_call(CallStatus.DECIDED, edition=make_edition(year), title=title, places=len(organisations),
                     opens_in=timedelta(days=-200), closes_in=timedelta(days=-150))
    applications = {}
    for rank, organisation in enumerate(organisations, start=1):
        owner = next((m.user for m in organisation.memberships), None)
        applications[organisation.id] = make_application(call, organisation, by=owner, outcome="selected",
                                                         place_status="accepted", rank=rank)
    for organisation, (outcome, place_status) in (others or {}).items():
        applications[organisation.id] = make_application(call, organisation, outcome=outcome,
                                                         place_status=place_status)
    return call, applications


# --- (a) the journey: formation to a seal that verifies -------------------------------------------------


def test_a_cohort_runs_from_formation_to_a_seal_that_verifies(page, db_session, tmp_path):
    make_s3_domains()
    finance, _marketing, _hr = make_themes()
    make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    _giulia, officina = _company("Officina Rossi S.r.l.", "giulia.rossi@example.eu", "Giulia Rossi")
    _tessa, tessuti = _company("Tessuti Biella S.r.l.", "tessa.biella@example.eu", "Tessa Biella")
    _rejected_owner, rejected = _company("Cascina Verde Soc. Coop.", "carla.verde@example.eu", "Carla Verde")
    _declined_owner, declined = _company("Delta Meccatronica S.r.l.", "dario.delta@example.eu", "Dario Delta")
    call, _ = _decided_call(2027, "Business Accelerator 2027", [officina, tessuti],
                            others={rejected: ("rejected", None), declined: ("selected", "declined")})
    marco = make_mentor(make_user("marco.mentore@example.eu", roles=[Role.MENTOR], full_name="Marco Mentore"),
                        themes=[finance], capacity=3, languages=["en", "it"])
    db_session.add(MentorConflict(mentor_id=marco.id, organisation_id=tessuti.id,
                                  reason="I hold shares in Tessuti Biella."))
    call_id, officina_id, officina_vat, marco_id = call.id, officina.id, officina.vat_number, marco.id
    db_session.commit()

    today = to_local(utcnow(), "Europe/Rome").date()
    starts_on = today - timedelta(days=30)
    ends_on = add_months(starts_on, 4)
    yesterday = today - timedelta(days=1)

    # Staff: the cohort formed from the decided call (a period too short refused first), then started.
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Cohorts"))
    assert path_of(page) == "/cohorts"
    assert "1 decided Accelerator call has no cohort yet." in page.locator("main").inner_text()
    scan()
    _click(page, page.locator("main").get_by_role("link", name="Form a cohort").first)
    assert path_of(page) == "/cohorts/new"
    scan()
    _click(page, page.get_by_role("link", name="Business Accelerator 2027"))
    assert path_of(page) == f"/cohorts/new?call={call_id}"
    joining = page.locator("section[aria-labelledby=members-title]").inner_text()
    assert "Officina Rossi S.r.l." in joining and "Tessuti Biella S.r.l." in joining
    assert "Cascina Verde" not in joining and "Delta Meccatronica" not in joining  # rejected, declined
    assert page.get_by_label("Name of the cohort").input_value() == COHORT
    scan()
    page.get_by_label("Start date").fill(starts_on.isoformat())
    page.get_by_label("End date").fill((starts_on + timedelta(days=40)).isoformat())
    page.get_by_label("Hours attended, at least").fill("2")
    page.get_by_label("Sessions attended, at least").fill("1")
    page.get_by_label("Milestones achieved, at least").fill("1")
    _click(page, page.get_by_role("button", name="Form the cohort"))
    end = page.get_by_label("End date")
    assert end.get_attribute("aria-invalid") == "true"
    assert "A cohort lasts 3 to 6 months" in page.locator("#error-summary").inner_text()
    assert page.get_by_label("Hours attended, at least").input_value() == "2"
    scan("new cohort (a period too short)")
    end.fill(ends_on.isoformat())
    _click(page, page.get_by_role("button", name="Form the cohort"))
    assert re.fullmatch(r"/cohorts/\d+", path_of(page))
    cohort_id = int(path_of(page).rsplit("/", 1)[1])
    assert f"The cohort {COHORT} is formed with 2 companies" in _flash(page)
    members = page.locator("section[aria-labelledby=members-title]")
    assert members.get_by_role("heading", name="2 companies").is_visible()
    assert "Officina Rossi S.r.l." in members.inner_text() and "Tessuti Biella S.r.l." in members.inner_text()
    assert "Planned" in page.locator("main").inner_text()
    scan()
    page.once("dialog", lambda dialog: dialog.accept())  # "Start the cohort now? Its companies are told."
    _click(page, page.get_by_role("button", name="Start the cohort now"))
    assert "The cohort is running; its companies were told." in _flash(page)
    scan("cohort (running)")
    scan.assert_clean()
    sign_out(page)

    member_id = db_session.scalar(select(CohortMember.id).where(CohortMember.cohort_id == cohort_id,
                                                                CohortMember.organisation_id == officina_id))
    db_session.rollback()  # end the read: on SQLite it would hold the database

    # The company states its needs and goals.
    scan = Scans(page, "applicant")
    sign_in(page, "giulia.rossi@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Cohorts"))
    scan()
    _click(page, page.get_by_role("link", name=COHORT))
    assert path_of(page) == f"/cohorts/{cohort_id}"
    scan("cohort (the company)")
    _click(page, page.locator("main").get_by_role("link", name="Officina Rossi S.r.l."))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}"
    assert page.get_by_text("Not stated yet").first.is_visible()
    scan()
    _click(page, page.get_by_role("link", name="State the needs and goals"))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}/needs"
    scan()
    page.get_by_label("Need for Entrepreneurial finance").select_option(label="High")
    page.get_by_label("Note on Entrepreneurial finance").fill("We prepare a seed round for next spring.")
    page.get_by_label("Need for International marketing").select_option(label="Medium")
    page.get_by_label("The company's goals for the programme").fill("Sell our sensors in Germany and raise a seed.")
    _click(page, page.get_by_role("button", name="Save the needs"))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}"
    assert "The needs of Officina Rossi S.r.l. are saved." in _flash(page)
    needs = page.locator("section[aria-labelledby=needs-title]").inner_text()
    assert "High" in needs and "We prepare a seed round" in needs and "Sell our sensors in Germany" in needs
    scan("member (needs stated)")
    scan.assert_clean()
    sign_out(page)

    # Staff match mentors: the page proposes Marco for Officina Rossi, never for Tessuti Biella (his conflict).
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    open_page(page, f"/cohorts/{cohort_id}")
    _click(page, page.get_by_role("link", name="Mentor matching"))
    assert path_of(page) == f"/cohorts/{cohort_id}/matching"
    proposals = page.locator("section[aria-labelledby=proposal-title]")
    officina_row = proposals.locator("tbody tr", has_text="Officina Rossi S.r.l.")
    assert "Marco Mentore" in officina_row.inner_text() and "Entrepreneurial finance: high" in officina_row.inner_text()
    assert page.get_by_label("Mentor for Officina Rossi S.r.l.").input_value() == str(marco_id)
    tessuti_row = proposals.locator("tbody tr", has_text="Tessuti Biella S.r.l.")
    assert "No mentor proposed" in tessuti_row.inner_text()
    assert page.get_by_label("Mentor for Tessuti Biella S.r.l.").input_value() == ""
    scan()
    _click(page, page.get_by_role("button", name="Confirm and tell them"))
    assert "1 mentorship is confirmed; the mentor and the company were told." in _flash(page)
    confirmed = page.locator("section[aria-labelledby=confirmed-title] tbody tr")
    assert confirmed.count() == 1
    assert "Officina Rossi S.r.l." in confirmed.inner_text() and "Marco Mentore" in confirmed.inner_text()
    scan("matching (confirmed)")
    scan.assert_clean()
    sign_out(page)

    # The mentor: the company on the home page, a one-to-one session, attendance, the note, a milestone.
    scan = Scans(page, "mentor")
    sign_in(page, "marco.mentore@example.eu")
    companies = _panel(page, "Your companies")
    assert "Officina Rossi S.r.l." in companies.inner_text()
    assert "Entrepreneurial finance (high)" in companies.inner_text()
    scan("/ (home, a company to mentor)")
    _click(page, companies.get_by_role("link", name="Officina Rossi S.r.l."))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}"
    scan("member (the mentor)")
    _click(page, page.get_by_role("link", name="Sessions and hours"))
    assert path_of(page) == f"/cohorts/{cohort_id}/sessions"
    scan()
    _click(page, page.get_by_role("link", name="Plan a one-to-one session"))
    assert path_of(page) == f"/cohorts/{cohort_id}/sessions/new"
    scan()
    page.get_by_label("Title").fill("Preparing the seed round")
    page.get_by_label("Coaching theme").select_option(label="Entrepreneurial finance")
    page.get_by_label("Day").fill(yesterday.isoformat())
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_label("Duration in minutes").fill("120")
    page.get_by_label("Place").fill("Torino Wireless, Via Nizza 262")
    _tick(page, "Officina Rossi S.r.l.")
    _click(page, page.get_by_role("button", name="Plan the session"))
    assert re.fullmatch(r"/sessions/\d+", path_of(page))
    session_id = int(path_of(page).rsplit("/", 1)[1])
    assert "The session “Preparing the seed round” is planned" in _flash(page)
    assert "One-to-one mentoring" in page.locator("main").inner_text()
    scan()
    _click(page, page.get_by_role("link", name="Take the attendance"))
    assert path_of(page) == f"/sessions/{session_id}/attendance"
    scan()
    _tick(page, "Officina Rossi S.r.l.")
    _click(page, page.get_by_role("button", name="Save the attendance"))
    assert "Attendance saved: 1 of 1 companies attended." in _flash(page)
    invited = page.locator("section[aria-labelledby=companies-title] tbody tr", has_text="Officina Rossi S.r.l.")
    assert "Attended" in invited.inner_text()
    scan("session (attendance taken)")
    _click(page, invited.get_by_role("link", name="Write a note for Officina Rossi S.r.l."))
    assert path_of(page) == f"/sessions/{session_id}/notes/{member_id}"
    scan()
    page.get_by_label("Note").fill("Cap table reviewed; next: a one-page teaser for business angels.")
    _click(page, page.get_by_role("button", name="Save the note"))
    assert "The note for Officina Rossi S.r.l. is saved; the company was told." in _flash(page)
    assert "Read the note" in invited.inner_text()
    scan("session (note written)")
    open_page(page, f"/cohorts/{cohort_id}/members/{member_id}")
    _click(page, page.locator("main nav").get_by_role("link", name="Milestones"))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}/milestones"
    hours = page.locator("section[aria-labelledby=hours-title]").inner_text()
    assert "2 hours in 1 session attended" in hours
    scan()
    page.locator("summary", has_text="Agree a milestone").click()
    page.get_by_label(re.compile(r"^Milestone\b")).fill("Teaser sent to ten business angels")
    page.get_by_label("Due date").fill((today + timedelta(days=20)).isoformat())
    _click(page, page.get_by_role("button", name="Agree the milestone and tell the company"))
    assert "The milestone “Teaser sent to ten business angels” is agreed; the company was told." in _flash(page)
    milestone = page.locator("article", has_text="Teaser sent to ten business angels")
    scan("milestones (one agreed)")
    milestone.locator("summary", has_text="Update this milestone").click()
    _click(page, milestone.get_by_role("button", name="Confirm it achieved"))
    assert "is now confirmed" in _flash(page)
    assert "Confirmed" in page.locator("article", has_text="Teaser sent to ten business angels").inner_text()
    scan("milestones (confirmed)")
    scan.assert_clean()
    sign_out(page)

    # Staff: the board shows Officina Rossi meets the criteria; its completion issues the seal.
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    open_page(page, f"/cohorts/{cohort_id}")
    _click(page, page.get_by_role("link", name="Progress board"))
    assert path_of(page) == f"/cohorts/{cohort_id}/board"
    assert "1 of 2 companies meet the criteria now." in page.locator("main").inner_text()
    officina_row = page.locator("tbody tr", has_text="Officina Rossi S.r.l.")
    tessuti_row = page.locator("tbody tr", has_text="Tessuti Biella S.r.l.")
    assert "Yes" in officina_row.locator("td").last.inner_text()
    assert "Marco Mentore" in officina_row.inner_text()
    assert "Not yet" in tessuti_row.locator("td").last.inner_text()
    assert "Hours attended: 0 of 2 (not met)" in tessuti_row.inner_text()
    scan()
    _click(page, officina_row.get_by_role("link", name=re.compile(r"^Completion\W+Officina Rossi")))
    assert path_of(page) == f"/cohorts/{cohort_id}/members/{member_id}/completion"
    assert page.get_by_text("The company meets the completion criteria now.").is_visible()
    scan()
    _tick(page, "Completed: the company gets the Seal of Excellence")
    _click(page, page.get_by_role("button", name="Record the decision"))
    flash = _flash(page)
    assert "Officina Rossi S.r.l. completed the programme." in flash
    code = CODE.search(flash).group(0)
    assert f"Seal of Excellence {code}" in page.locator("main").inner_text()
    scan("completion (decided)")
    _click(page, page.locator("main").get_by_role("link", name="The certificate"))
    assert re.fullmatch(r"/seals/\d+", path_of(page))
    seal_path = path_of(page)
    certificate = page.locator("article.seal-certificate").inner_text()
    assert "Officina Rossi S.r.l." in certificate and code in certificate and "2027" in certificate
    scan()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the certificate (Word)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".docx"
    document = docx.Document(str(saved))
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert "Officina Rossi S.r.l." in text and code in text and "Business Accelerator" in text and "2027" in text
    assert "/verify/" in text  # the verification address
    scan.assert_clean()
    sign_out(page)

    # Anyone, signed out: the code verifies (typed in any case and without dashes); an unknown one says so.
    scan = Scans(page, "anonymous")
    open_page(page, "/verify")
    scan()
    page.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    _click(page, page.get_by_role("button", name="Verify"))
    result = page.locator("main section[role=status]")
    assert result.get_by_role("heading", name="This Seal of Excellence is valid.").is_visible()
    shown = result.inner_text()
    completed_on = to_local(utcnow(), "Europe/Rome").date()
    for expected in ("Officina Rossi S.r.l.", "Business Accelerator", "2027", code,
                     format_date(completed_on, "long", locale="en")):
        assert expected in shown, expected
    for private in ("Marco Mentore", "Giulia Rossi", "giulia.rossi@example.eu", officina_vat, COHORT,
                    "Tessuti Biella"):
        assert private not in page.locator("main").inner_text(), private
    scan("verify (a valid code)")
    page.get_by_label("Verification code").fill(UNKNOWN_CODE)
    _click(page, page.get_by_role("button", name="Verify"))
    assert page.get_by_role("heading", name="This code is not known.").is_visible()
    assert "Officina Rossi" not in page.locator("main").inner_text()
    scan("verify (an unknown code)")
    scan.assert_clean()

    # Staff revoke the seal; its verification page then says so, and nothing else.
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    open_page(page, seal_path)
    _click(page, page.get_by_role("button", name="Revoke the seal"))  # no reason: refused next to the field
    reason = page.get_by_label("Reason for revoking the seal")
    assert reason.get_attribute("aria-invalid") == "true"
    scan("seal (revocation without a reason)")
    reason.fill("The company gave a false statement on its turnover.")
    _click(page, page.get_by_role("button", name="Revoke the seal"))
    assert f"The seal {code} is revoked" in _flash(page)
    assert page.get_by_role("alert").filter(has_text="no longer valid").is_visible()
    scan("seal (revoked)")
    scan.assert_clean()
    sign_out(page)

    scan = Scans(page, "anonymous")
    open_page(page, f"/verify/{code}")
    assert page.get_by_role("heading", name="This Seal of Excellence was revoked.").is_visible()
    main = page.locator("main").inner_text()
    assert code in main
    for private in ("Officina Rossi", "false statement", "turnover"):
        assert private not in main, private
    scan("verify (a revoked code)")
    scan.assert_clean()

    seal = db_session.scalar(select(Seal).where(Seal.code == code))
    member = db_session.get(CohortMember, member_id)
    assert seal.revoked_at is not None and member.completion == CompletionStatus.COMPLETED.value
    assert not member.loan_eligible  # a revoked seal ends the eligibility
    db_session.rollback()


# --- (b) every cohorts page, per role, in English and Italian ----------------------------------------------

# Each role's pages (ids by name, see `_seed_cohort`), each with a text of the seeded content it must show in
# English: the page is scanned full, not as an empty state.
COHORT_PAGES = {
    "staff": {
        "/": "Cohorts",
        "/cohorts": COHORT,
        "/cohorts/new": "Business Accelerator 2028",
        "/cohorts/new?call={free_call}": "Nord Robotica S.r.l.",
        "/cohorts/{cohort}": "Fonderia Nord S.p.A.",
        "/cohorts/{cohort}/edit": "Completion criteria",
        "/cohorts/themes": "Human resources and talent scouting",
        "/cohorts/{cohort}/members/{fonderia}/needs": "Need for Entrepreneurial finance",
        "/cohorts/{cohort}/members/{own}": "Sell our sensors in Germany",
        "/mentors": "Otto Mentore",
        "/mentors/new": "Send the invitation",
        "/mentors/{marco}/edit": "Fonderia Nord S.p.A.",
        "/cohorts/{cohort}/matching": "Otto Mentore",
        "/cohorts/{cohort}/sessions": "Negotiating with investors",
        "/cohorts/{cohort}/sessions/new": "Companies invited",
        "/sessions/{group}": "Tessuti Biella S.r.l.",
        "/sessions/{group}/attendance": "Companies that attended",
        "/sessions/{group}/notes/{own}": "Note for Officina Rossi S.r.l.",  # the note itself is in the form
        "/cohorts/{cohort}/members/{own}/milestones": "First export order",
        "/cohorts/{cohort}/introductions": "Venture Piemonte SGR",
        "/introductions/{intro}": "Venture Piemonte SGR",
        "/cohorts/{cohort}/board": "companies meet the criteria now",
        "/cohorts/{cohort}/members/{tessuti}/completion": "Decide the completion",
        "/seals/{seal}": "{code}",
        "/cohorts/loan-eligible": "Officina Rossi S.r.l.",
    },
    "mentor": {
        "/": "Your companies",
        "/cohorts": COHORT,
        "/mentor/profile": "Fonderia Nord S.p.A.",
        "/cohorts/{cohort}": "Tessuti Biella S.r.l.",
        "/cohorts/{cohort}/members/{own}": "Sell our sensors in Germany",
        "/cohorts/{cohort}/sessions": "Export plan review",
        "/cohorts/{cohort}/sessions/new": "Plan a one-to-one session",
        "/sessions/{group}": "Tessuti Biella S.r.l.",
        "/sessions/{group}/attendance": "Companies that attended",
        "/sessions/{one}/notes/{own}": "Save the note",
        "/cohorts/{cohort}/members/{own}/milestones": "Pitch deck for the seed round",
        "/cohorts/{cohort}/board": "Tessuti Biella S.r.l.",
    },
    "applicant": {
        "/": "Your Seal of Excellence",
        "/cohorts": COHORT,
        "/cohorts/{cohort}": "Officina Rossi S.r.l.",
        "/cohorts/{cohort}/members/{own}": "Marco Mentore",
        "/cohorts/{cohort}/members/{own}/needs": "Need for International marketing",
        "/cohorts/{cohort}/sessions": "Raising a seed round",
        "/sessions/{group}": "Raising a seed round",
        "/sessions/{group}/notes/{own}": "Prepare the cap table",
        "/cohorts/{cohort}/members/{own}/milestones": "Hire a sales lead",
        "/seals/{seal}": "{code}",
    },
    "anonymous": {
        "/verify": "Verify a Seal of Excellence",
        "/verify/{code}": "This Seal of Excellence is valid.",
        f"/verify/{UNKNOWN_CODE}": "This code is not known.",
        "/verify/{revoked_code}": "This Seal of Excellence was revoked.",
    },
}


def _seed_cohort(role: str) -> tuple[str | None, dict]:
    """A running cohort formed from a decided call, with the person of `role` in its place.

    Officina Rossi (the applicant's company, mentored by Marco) completed with a valid seal; Tessuti
    Biella (Marco) is in progress with an open obligation; Fonderia Nord has no mentor (Marco
    declared a conflict with it, Otto has room); Delta Meccatronica (Otto) completed and its seal was
    revoked. Sessions: a past group session with attendance and notes, a past one-to-one session
    without a note, an upcoming group session with an outside coach. Returns the person's e-mail
    and the ids the pages of `COHORT_PAGES` are written with.
    """
    domains = make_s3_domains()
    finance, marketing, hr = make_themes()
    now, today = utcnow(), utcnow().date()
    staff = make_user("staff@example.eu" if role == "staff" else "stefania.staff@example.eu",
                      roles=[Role.STAFF], full_name="Stefania Staff")
    _giulia, officina = _company("Officina Rossi S.r.l.", "applicant@example.eu" if role == "applicant"
                                 else "giulia.rossi@example.eu", "Giulia Rossi")
    _tessa, tessuti = _company("Tessuti Biella S.r.l.", "tessa.biella@example.eu", "Tessa Biella")
    _franco, fonderia = _company("Fonderia Nord S.p.A.", "franco.fonderia@example.eu", "Franco Fonderia")
    _dario, delta = _company("Delta Meccatronica S.r.l.", "dario.delta@example.eu", "Dario Delta")
    _nora, nord = _company("Nord Robotica S.r.l.", "nora.nord@example.eu", "Nora Nord")
    officina.s3_domains = domains[:1]
    call, applications = _decided_call(2027, "Business Accelerator 2027", [officina, tessuti, fonderia, delta])
    free_call, _ = _decided_call(2028, "Business Accelerator 2028", [nord])

    cohort = make_cohort(CohortStatus.RUNNING, edition_id=call.edition_id, call_id=call.id, name=COHORT,
                         min_hours=Decimal("4"), min_sessions=2, min_milestones=1)
    members = {org.legal_name.split()[0].lower(): make_member(cohort, user=next(m.user for m in org.memberships),
                                                              organisation=org,
                                                              application_id=applications[org.id].id)
               for org in (officina, tessuti, fonderia, delta)}
    own, tess, fond, dlt = members["officina"], members["tessuti"], members["fonderia"], members["delta"]
    own.goals = "Sell our sensors in Germany and raise a seed round."
    for member, levels in ((own, {finance: 3, marketing: 2}), (fond, {finance: 2, hr: 1})):
        member.needs_assessed_at = now - timedelta(days=25)
        for theme, level in levels.items():
            db.session.add(Need(member_id=member.id, theme_id=theme.id, level=level,
                                note="A seed round next spring." if theme is finance else None))

    marco_user = make_user("mentor@example.eu" if role == "mentor" else "marco.mentore@example.eu",
                           roles=[Role.MENTOR], full_name="Marco Mentore")
    marco = make_mentor(marco_user, themes=[finance, marketing], capacity=3,
                        availability="Tuesday and Thursday afternoons.")
    marco.s3_domains = domains[:2]
    otto = make_mentor(make_user("otto.mentore@example.eu", roles=[Role.MENTOR], full_name="Otto Mentore"),
                       themes=[finance, hr], capacity=2)
    db.session.add(MentorConflict(mentor_id=marco.id, organisation_id=fonderia.id,
                                  reason="A family tie with the founder."))
    for member, mentor in ((own, marco), (tess, marco), (dlt, otto)):
        db.session.add(Mentorship(member_id=member.id, mentor_id=mentor.id, fit=Decimal("4"), confirmed_at=now -
                                  timedelta(days=24), confirmed_by_id=staff.id))

    group = make_session(cohort, [own, tess, fond, dlt], mentor=marco, theme_id=finance.id, title="Raising a seed round",
                         starts_at=now - timedelta(days=8), duration_minutes=180)
    one = make_session(cohort, [own], mentor=marco, kind=SessionKind.ONE_TO_ONE, theme_id=marketing.id,
                       title="Export plan review", starts_at=now - timedelta(days=2), duration_minutes=90)
    make_session(cohort, [own, tess, fond, dlt], theme_id=finance.id, title="Negotiating with investors",
                 starts_at=now + timedelta(days=10), place=None, online_url="https://meet.example.eu/accelerator",
                 coach_name="Paola Pitch")
    for member, attended in ((own, True), (tess, True), (fond, False), (dlt, True)):
        db.session.add(Attendance(session_id=group.id, member_id=member.id, attended=attended,
                                  recorded_by_id=marco_user.id))
    db.session.add(Attendance(session_id=one.id, member_id=own.id, attended=True, recorded_by_id=marco_user.id))
    db.session.add_all([
        SessionNote(session_id=group.id, member_id=own.id, author_id=marco_user.id,
                    body="Prepare the cap table before talking to business angels."),
        SessionNote(session_id=group.id, member_id=tess.id, author_id=marco_user.id,
                    body="The pricing of the smart fabrics needs a second look."),
    ])
    db.session.add_all([
        Milestone(member_id=own.id, title="First export order", theme_id=marketing.id, due_on=today - timedelta(days=5),
                  evidence="Order 2027/14 from Sportwear GmbH.", status=MilestoneStatus.CONFIRMED.value,
                  reported_at=now - timedelta(days=6), confirmed_at=now - timedelta(days=5),
                  confirmed_by_id=marco_user.id),
        Milestone(member_id=own.id, title="Pitch deck for the seed round", theme_id=finance.id,
                  due_on=today + timedelta(days=15), evidence="The deck, twelve slides.",
                  status=MilestoneStatus.REPORTED.value, reported_at=now - timedelta(days=1)),
        Milestone(member_id=own.id, title="Hire a sales lead", theme_id=hr.id, due_on=today - timedelta(days=1),
                  status=MilestoneStatus.PLANNED.value),
        Milestone(member_id=tess.id, title="Price list for Germany", due_on=today + timedelta(days=30),
                  status=MilestoneStatus.PLANNED.value),
    ])
    investor = make_organisation(kind="investor", legal_name="Venture Piemonte SGR")
    intro = InvestorIntroduction(member_id=own.id, investor_id=investor.id, introduced_on=today - timedelta(days=12),
                                 outcome="investment", amount=Decimal("150000"), investment_type="equity",
                                 note="A seed ticket with a follow-on option.", recorded_by_id=staff.id)
    db.session.add(intro)
    db.session.add(Obligation(organisation_id=tessuti.id, application_id=applications[tessuti.id].id,
                              kind="relocate_seat", status="open", note="Seat in Piemonte within six months."))

    for member in (own, dlt):
        member.completion = CompletionStatus.COMPLETED.value
        member.completion_decided_at = now - timedelta(days=1)
        member.completion_decided_by_id = staff.id
    own.loan_eligible = True
    seal = Seal(member_id=own.id, code=new_code(), issued_on=today - timedelta(days=1), issued_by_id=staff.id)
    revoked = Seal(member_id=dlt.id, code=new_code(), issued_on=today - timedelta(days=3), issued_by_id=staff.id,
                   revoked_at=now - timedelta(days=1), revoked_by_id=staff.id,
                   revoke_reason="A false statement on the turnover.")
    db.session.add_all([seal, revoked])
    db.session.flush()

    email = {"staff": staff.email, "mentor": marco_user.email, "applicant": "applicant@example.eu"}.get(role)
    return email, {
        "cohort": cohort.id, "free_call": free_call.id, "own": own.id, "tessuti": tess.id, "fonderia": fond.id,
        "marco": marco.id, "group": group.id, "one": one.id, "intro": intro.id, "seal": seal.id,
        "code": seal.code, "revoked_code": revoked.code,
    }


# Ids used more than once (axe-core no longer reports them) and the number of h1 headings.
STRUCTURE = """() => {
  const seen = {}, twice = [];
  for (const el of document.querySelectorAll('[id]')) {
    if (seen[el.id] && !twice.includes(el.id)) twice.push(el.id);
    seen[el.id] = true;
  }
  return {twice, h1: document.querySelectorAll('h1').length};
}"""


def _structure(page, label: str) -> list[str]:
    """The rules of the house axe-core does not check: unique ids, one h1."""
    found = page.evaluate(STRUCTURE)
    problems = [f"{label}: the id {name!r} is used more than once" for name in found["twice"]]
    if found["h1"] != 1:
        problems.append(f"{label}: {found['h1']} h1 headings instead of one")
    return problems


def _scan_pages(page, role: str, lang: str, pages: dict[str, str | None], problems: list[str]) -> None:
    for path, expected in pages.items():
        response = open_page(page, path)
        status = response.status if response else 0
        landed = path_of(page)
        if status != 200 or (landed.startswith("/login") and not path.startswith("/login")):
            problems.append(f"{lang} {role} {path}: answered {status}, ended at {landed}")
            continue
        assert page.locator("html").get_attribute("lang") == lang
        if expected and expected not in page.locator("main").inner_text():
            problems.append(f"{lang} {role} {path}: the seeded content ({expected!r}) is not shown")
        label = path if landed.split("?")[0] == path.split("?")[0] else f"{path} -> {landed}"
        problems += axe_scan(page, role, lang, label) + _structure(page, f"{lang} {role} {label}")


def _forms_with_errors(page, role: str, ids: dict, problems: list[str]) -> None:
    """A few cohorts forms sent empty: the error summary and the messages next to the fields, scanned."""
    forms = {
        "staff": [(f"/cohorts/{ids['cohort']}/sessions/new", "Plan the session"),
                  (f"/cohorts/{ids['cohort']}/members/{ids['tessuti']}/completion", "Record the decision"),
                  ("/mentors/new", "Send the invitation")],
        "mentor": [(f"/sessions/{ids['one']}/notes/{ids['own']}", "Save the note")],
    }.get(role, [])
    for path, button in forms:
        open_page(page, path)
        _click(page, page.locator("main").get_by_role("button", name=button))
        assert page.locator("#error-summary").is_visible(), f"{path}: no error summary"
        label = f"{path} (form with errors)"
        problems += axe_scan(page, role, "en", label) + _structure(page, f"en {role} {label}")


@pytest.mark.parametrize("role", list(COHORT_PAGES))
def test_every_cohorts_page_has_no_serious_or_critical_accessibility_violation(page, db_session, role):
    email, ids = _seed_cohort(role)
    # Nothing is read after the commit: on SQLite a read would open a transaction that blocks the server.
    db_session.commit()
    pages = {path.format(**ids): (text.format(**ids) if text else None)
             for path, text in COHORT_PAGES[role].items()}
    if email:
        sign_in(page, email)
        assert path_of(page) == "/", f"{role} could not sign in"

    problems: list[str] = []
    _scan_pages(page, role, "en", pages, problems)
    _forms_with_errors(page, role, ids, problems)
    open_page(page, "/verify" if role == "anonymous" else "/")
    switch_language(page, "it")
    _scan_pages(page, role, "it", {path: None for path in pages}, problems)

    assert not problems, f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)
