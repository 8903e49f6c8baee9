"""The call cycle in a real browser, as its three kinds of user live it.

An applicant applies to an open call and submits (a wrong figure refused on the way); an
evaluator declares no conflict of interest, scores with comments, saves a draft, submits
and only then sees the other evaluators' scores; staff moderate a divergent score, review
and confirm the decision, and download a decision letter that opens in python-docx. Each
page the journeys reach is scanned with axe-core (no serious or critical violation); the
scans are in the run's summary with the accessibility test's.
"""

from __future__ import annotations

import re
from datetime import timedelta

import docx
import pytest
from sqlalchemy import select

from opsapp.calls.models import (
    Application,
    AssignmentStatus,
    BaselineKey,
    CallStatus,
    Question,
    QuestionKind,
)
from opsapp.core.roles import Role
from tests.e2e.conftest import axe_scan, evaluated_call, open_page, path_of, sign_in
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_call, make_evaluator_profile

pytestmark = pytest.mark.e2e


class Scans:
    """The axe-core scans of one journey: one per page reached; problems kept to fail at the end."""

    def __init__(self, page, who: str):
        self.page, self.who, self.problems = page, who, []

    def __call__(self, label: str | None = None) -> None:
        self.problems += axe_scan(self.page, self.who, "en", label or path_of(self.page))

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} accessibility problem(s):\n" + "\n".join(self.problems)


def _click(page, locator) -> None:
    """Press a button or link that loads a new page, and wait for it."""
    with page.expect_navigation():
        locator.click()


def _flash(page) -> str:
    return page.locator(".flash-messages").inner_text()


def _experts(n: int = 3, first=None) -> list:
    people = [first] if first is not None else []
    while len(people) < n:
        k = len(people) + 1
        people.append(make_user(f"expert{k}@example.eu", roles=[Role.EVALUATOR], full_name=f"Expert Number{k}"))
    for person in people:
        make_evaluator_profile(person)
    return people


# --- (a) an applicant applies --------------------------------------------------------------


def test_an_applicant_applies_and_submits(page, db_session):
    make_s3_domains()
    giulia = make_user("giulia.rossi@example.eu", roles=[Role.APPLICANT], full_name="Giulia Rossi")
    organisation = make_organisation(owner=giulia, legal_name="Officina Rossi S.r.l.")
    call = make_call(CallStatus.OPEN, questions=False, title="Business Accelerator 2027",
                     eligibility_rules={"sme": {}, "seat_in_region": {}, "business_readiness": {"min_clients": 1}})
    form = [
        (1, QuestionKind.TEXT, "Name of the product", None, {"max_length": 120}),
        (1, QuestionKind.LONG_TEXT, "Describe your product and its market", None, {"max_length": 2000}),
        (2, QuestionKind.MONEY, "Turnover in the last closed financial year (EUR)", BaselineKey.TURNOVER, {}),
        (2, QuestionKind.MONEY, "Export turnover (EUR)", BaselineKey.EXPORT_TURNOVER, {}),
        (2, QuestionKind.NUMBER, "Employees in full-time equivalents", BaselineKey.EMPLOYEES_FTE, {}),
    ]
    for position, (number, kind, label, key, extra) in enumerate(form):
        db_session.add(Question(call_id=call.id, page=number, position=position, kind=str(kind), label=label,
                                required=True, baseline_key=str(key) if key else None, **extra))
    call_id, organisation_id = call.id, organisation.id
    db_session.commit()
    scan = Scans(page, "applicant")

    sign_in(page, "giulia.rossi@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Calls"))
    scan()
    _click(page, page.get_by_role("link", name="Business Accelerator 2027"))
    assert path_of(page) == f"/calls/{call_id}"
    scan()
    _click(page, page.get_by_role("button", name="Apply"))
    assert re.fullmatch(r"/applications/\d+/step/1", path_of(page))
    assert "Your application is started" in _flash(page)
    assert page.get_by_text("Step 1 of 4").is_visible()
    scan()

    page.get_by_label("Name of the product").fill("SmartKnit")
    page.get_by_label("Describe your product and its market").fill(
        "Sensors woven into technical textiles, sold to sportswear brands in Italy and Germany.")
    _click(page, page.get_by_role("button", name="Save and continue"))
    assert page.get_by_text("Step 2 of 4").is_visible()
    scan()

    # A figure the server cannot read: refused next to its field, the rest saved, nothing lost.
    page.get_by_label("Turnover in the last closed financial year").fill("about a million")
    page.get_by_label("Export turnover").fill("320000")
    page.get_by_label("Employees in full-time equivalents").fill("12.5")
    _click(page, page.get_by_role("button", name="Save and continue"))
    turnover = page.get_by_label("Turnover in the last closed financial year")
    assert turnover.get_attribute("aria-invalid") == "true"
    assert turnover.input_value() == "about a million"
    assert page.locator("#error-summary").is_visible()
    scan("step 2 (a figure refused)")
    turnover.fill("850000")
    _click(page, page.get_by_role("button", name="Save and continue"))
    assert page.get_by_text("Step 3 of 4").is_visible()
    assert page.get_by_role("heading", name="Declarations").is_visible()
    scan()

    # Bootstrap Italia draws radios and checkboxes in their labels: people click the label.
    page.locator("fieldset", has_text="already on the market").locator("label", has_text="Yes").click()
    page.get_by_label("Number of paying clients").fill("4")
    page.locator("label", has_text="You may contact us for short follow-up surveys").click()
    assert page.get_by_label("You may contact us for short follow-up surveys").is_checked()
    _click(page, page.get_by_role("button", name="Save and see the summary"))
    assert path_of(page).endswith("/summary")
    scan()

    # The summary: every rule checked against the profile and the declarations, every answer.
    eligibility = page.locator("section[aria-labelledby=eligibility-title]")
    assert eligibility.locator(".badge.bg-success", has_text="Met").count() == 3
    assert "A product on the market and 4 paying clients." in eligibility.inner_text()
    assert "Every rule is met." in eligibility.inner_text()
    answers = page.locator("section[aria-labelledby=answers-title]").inner_text()
    assert "SmartKnit" in answers and "850,000" in answers and "12.5" in answers

    page.once("dialog", lambda dialog: dialog.accept())  # "Submit the application now? ..."
    _click(page, page.get_by_role("button", name="Submit the application"))
    assert re.fullmatch(r"/applications/\d+", path_of(page))
    receipt = re.search(r"Receipt number: (\S+)\.", _flash(page)).group(1)
    assert page.locator("dl dt:has-text('Receipt number') + dd").inner_text().strip() == receipt
    assert page.locator(".badge-status", has_text="Submitted").is_visible()
    scan()
    scan.assert_clean()

    application = db_session.scalar(select(Application).where(Application.call_id == call_id,
                                                              Application.organisation_id == organisation_id))
    assert (application.status, application.receipt_number) == ("submitted", receipt)
    assert not application.eligibility_flagged and application.paying_clients == 4
    db_session.rollback()  # end the read: on SQLite it would hold the database


# --- (b) an evaluator scores -------------------------------------------------------------------


def test_an_evaluator_declares_scores_and_then_sees_the_other_scores(page, db_session):
    make_s3_domains()
    staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    elena = make_user("elena@example.eu", roles=[Role.EVALUATOR], full_name="Elena Esperta")
    experts = _experts(3, first=elena)
    organisation = make_organisation(owner=make_user("owner@example.eu"), legal_name="Officina Rossi S.r.l.")
    call, _, assignments = evaluated_call(staff, experts, {
        organisation: [AssignmentStatus.ASSIGNED, [4, 4.5, 4], [3.5, 4, 4]]}, title="Business Accelerator 2027")
    assignment_id = assignments[(organisation.id, elena.id)].id
    db_session.commit()
    scan = Scans(page, "evaluator")

    sign_in(page, "elena@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="My evaluations"))
    assert page.get_by_text("0 of 1 done").is_visible()
    scan()
    _click(page, page.get_by_role("link", name="Declare"))
    assert path_of(page) == f"/evaluations/{assignment_id}/declaration"
    assert "Sensors for smart textiles." not in page.content()  # nothing of the application before declaring
    scan()
    page.locator("label", has_text="I have no conflict of interest with this applicant").click()
    _click(page, page.get_by_role("button", name="Send my declaration"))
    assert path_of(page) == f"/evaluations/{assignment_id}"
    assert "You can now read the application and score it." in _flash(page)
    assert page.get_by_text("Sensors for smart textiles.").is_visible()
    others = page.get_by_role("heading", name="The other evaluators' scores")
    assert others.count() == 0  # not before submitting her own
    scan()

    scores = {"Excellence": "4.5", "Impact": "7", "Quality and efficiency of the implementation": "3.5"}
    for criterion, value in scores.items():
        page.get_by_label(f"Score for {criterion}").fill(value)
        page.get_by_label(f"Comment on {criterion}").fill(f"{criterion}: the evidence is solid and recent.")
    _click(page, page.get_by_role("button", name="Save the draft"))
    impact = page.get_by_label("Score for Impact")
    assert impact.get_attribute("aria-invalid") == "true"  # 7 of 5: refused, the rest kept
    assert "from 0 to 5" in page.locator(f"#{impact.get_attribute('id')}-error").inner_text().lower()
    scan("scoring (a score refused)")
    impact.fill("4")
    _click(page, page.get_by_role("button", name="Save the draft"))
    assert "The draft is saved." in _flash(page)
    assert page.get_by_label("Score for Excellence").input_value() == "4.5"
    assert page.get_by_label("Score for Impact").input_value() == "4"
    assert others.count() == 0
    scan("scoring (draft saved)")

    page.once("dialog", lambda dialog: dialog.accept())  # "Submit your evaluation? ..."
    _click(page, page.get_by_role("button", name="Submit the evaluation"))
    assert "Your evaluation is submitted." in _flash(page)
    mine = page.locator("section[aria-labelledby=scores-title] table").inner_text()
    assert "4.5 / 5" in mine and "Impact: the evidence is solid and recent." in mine
    assert others.is_visible()
    shown = page.locator("section[aria-labelledby=others-title]").inner_text()
    assert "Evaluator 1" in shown and "Evaluator 2" in shown
    assert "Excellence, expert 3: the plan is convincing (3.5)." in shown
    assert "Expert Number" not in shown  # their scores and comments, not their names
    assert page.get_by_role("button", name="Submit the evaluation").count() == 0
    scan("scoring (submitted)")

    _click(page, page.get_by_role("link", name="Back to my evaluations"))
    assert page.get_by_text("1 of 1 done").is_visible()
    scan()
    scan.assert_clean()


# --- (c) staff moderate, rank and decide ----------------------------------------------------------


def test_staff_moderate_rank_decide_and_download_a_letter(page, db_session, tmp_path):
    make_s3_domains()
    staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    experts = _experts(3)
    scores = {
        "Alfa Robotica S.r.l.": [[5, 5, 5]] * 3,  # weighted 17.5
        "Bravo Tessile S.p.A.": [[4.5, 4.5, 4]] * 3,  # 15.25
        "Charlie Sensori S.r.l.": [[2, 4, 4], [4.5, 4, 4], [4, 4.5, 4]],  # Excellence 2 to 4.5: divergent
        "Delta Meccanica S.r.l.": [[3, 3, 3]] * 3,  # 9 of 15: below the overall threshold of 10
    }
    entries = {make_organisation(owner=make_user(f"owner{n}@example.eu"), legal_name=name): values
               for n, (name, values) in enumerate(scores.items())}
    call, applications, _ = evaluated_call(staff, experts, entries, places=2, title="Business Accelerator 2027",
                                           closes_in=timedelta(days=-3))
    call_id = call.id
    charlie_id = next(a.id for o, a in ((o, applications[o.id]) for o in entries) if o.legal_name.startswith("Charlie"))
    db_session.commit()
    scan = Scans(page, "staff")

    sign_in(page, "staff@example.eu")
    open_page(page, f"/staff/calls/{call_id}")
    scan()
    _click(page, page.get_by_role("link", name="Scores, moderation and ranking"))
    assert path_of(page) == f"/staff/calls/{call_id}/ranking"
    blockers = page.locator("section[aria-labelledby=blockers-title]")
    assert "1 application has divergent scores to moderate" in blockers.inner_text()
    assert page.get_by_role("button", name="Review the decision").count() == 0
    scan()

    _click(page, blockers.get_by_role("link", name="Moderate Charlie Sensori S.r.l."))
    assert "divergent: spread 2.5" in page.locator("main").inner_text()
    scan()
    # No justification: refused next to the field, the score typed kept, nothing recorded.
    page.get_by_label("Consensus score").fill("4")
    _click(page, page.get_by_role("button", name="Record the consensus"))
    justification = page.get_by_label("Justification")
    assert justification.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Consensus score").input_value() == "4"
    scan("moderation (justification missing)")
    justification.fill("The panel agreed that the market study is complete; the low score misread it.")
    _click(page, page.get_by_role("button", name="Record the consensus"))
    assert "The consensus score for Excellence is recorded: 4." in _flash(page)
    assert path_of(page).startswith(f"/staff/calls/{call_id}/ranking")
    scan()

    ready = page.locator("section[aria-labelledby=ready-title]")
    assert ready.is_visible()
    _click(page, ready.get_by_role("button", name="Review the decision"))
    review = page.locator("main").inner_text()
    assert "2 applications are selected and offered a place" in review
    assert "Alfa Robotica S.r.l." in review and "Charlie Sensori S.r.l." in review
    scan("decision (review)")
    _click(page, page.get_by_role("button", name="Confirm the decision and tell the applicants"))
    assert "The decision is confirmed: 2 selected, 1 on the reserve list, 1 not selected" in _flash(page)
    assert page.locator("p.lead", has_text="Decision:").is_visible()
    scan("ranking (decided)")

    row = page.locator("tbody tr", has_text="Charlie Sensori S.r.l.")
    assert "Reserve list (1)" in row.inner_text()
    with page.expect_download() as download:
        row.get_by_role("link", name="Letter").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".docx"
    document = docx.Document(str(saved))
    text = "\n".join([p.text for p in document.paragraphs]
                     + [cell.text for table in document.tables for row_ in table.rows for cell in row_.cells])
    assert "Charlie Sensori S.r.l." in text
    assert "reserve list" in text
    assert "The panel agreed that the market study is complete" in text
    assert "Expert Number" not in text  # the evaluators' comments, anonymised
    scan.assert_clean()

    assert db_session.scalar(select(Application.outcome).where(Application.id == charlie_id)) == "reserve"
    db_session.rollback()  # end the read: on SQLite it would hold the database
