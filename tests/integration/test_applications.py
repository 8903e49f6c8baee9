"""Applications through the browser's eyes: starting, filling the steps with drafts, uploads,
the summary with the eligibility check, submission with its receipt, the deadline enforced
on the server, frozen applications, withdrawal and new versions, who may see what, bad
input on every kind of question, the staff list with its exports, and the home panels.
Real database, real files, CSRF on, no mocks."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from opsapp.accounts.models import Organisation, User
from opsapp.calls.models import (
    Answer,
    Application,
    AssignmentStatus,
    Call,
    Obligation,
    Question,
    QuestionKind,
)
from opsapp.core import privacy
from opsapp.core.models import AuditEntry, Notification, StoredFile
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_application, make_assignment, make_call

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
RULES = {"sme": {}, "seat_in_region": {}, "business_readiness": {"min_clients": 1}, "deminimis": {}}


# --- helpers ---------------------------------------------------------------------------


def token(client) -> str:
    return csrf_from(client.get("/").get_data(as_text=True))


def post(client, path, data=None, **kwargs):
    """POST like a browser: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def upload_post(client, path, data):
    return post(client, path, data, content_type="multipart/form-data")


def field_errors(response) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True))]


def flashes(response) -> str:
    return " ".join(re.findall(r'<div class="alert alert-[a-z]+">([^<]*)</div>', response.get_data(as_text=True)))


def text(response) -> str:
    return response.get_data(as_text=True)


def the(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def actions(application_id) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "applications", AuditEntry.object_id == str(application_id))
        .order_by(AuditEntry.id)))


def add_file_question(call, page=2, required=True, kinds=("pdf",), mb=1, label="Business plan") -> Question:
    question = Question(call_id=call.id, page=page, position=9, kind=QuestionKind.FILE.value, label=label,
                        required=required, file_kinds=list(kinds), max_file_mb=mb)
    db.session.add(question)
    db.session.flush()
    return question


def questions_of(call_id) -> dict[str, Question]:
    """The call's questions by a short name: text (page 1), turnover, employees, file (page 2)."""
    rows = db.session.scalars(select(Question).where(Question.call_id == call_id).order_by(Question.page,
                                                                                          Question.position))
    names = {}
    for q in rows:
        key = {"long_text": "text", "money": "turnover", "number": "employees", "file": "file"}.get(q.kind, q.kind)
        names[key] = q
    return names


@pytest.fixture
def world(app):
    """Applicant A with a colleague and an organisation in the region; applicant B with another;
    staff; an evaluator; an open Accelerator call with a required PDF on step 2."""
    with app.app_context():
        domains = make_s3_domains()
        a = make_user("a@example.eu", full_name="Anna Alfa")
        colleague = make_user("a2@example.eu", full_name="Aldo Alfa")
        b = make_user("b@example.eu", full_name="Bruno Beta")
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        evaluator = make_user("eva@example.eu", roles=[Role.EVALUATOR], full_name="Eva Luatrice")
        make_user("lonely@example.eu")
        org_a = make_organisation(kind="startup", owner=a, members=[colleague], legal_name="Alfa Robotica S.r.l.",
                                  founding_date=utcnow().date().replace(year=2023))
        org_a.s3_domains = [domains[0]]
        org_b = make_organisation(kind="sme", owner=b, legal_name="Beta Tessile S.r.l.")
        call = make_call(eligibility_rules=dict(RULES), title="Accelerator 2027")
        add_file_question(call)
        db.session.commit()
        return {"call": call.id, "org_a": org_a.id, "org_b": org_b.id, "a": a.id, "b": b.id,
                "evaluator": evaluator.id, "colleague": colleague.id}


def start(client, call_id) -> int:
    r = post(client, f"/calls/{call_id}/apply")
    assert r.status_code == 302, text(r)
    match = re.search(r"/applications/(\d+)", r.location)
    assert match, r.location
    return int(match.group(1))


def fill_everything(client, app, call_id, application_id, **declarations):
    """Answer every step of the default call (with the PDF) and the declarations."""
    with app.app_context():
        q = questions_of(call_id)
        ids = {k: v.id for k, v in q.items()}
    r = post(client, f"/applications/{application_id}/step/1",
             {f"q{ids['text']}": "Sensors for smart textiles.", "action": "continue"})
    assert r.status_code == 302, field_errors(r)
    r = upload_post(client, f"/applications/{application_id}/step/2", {
        f"q{ids['turnover']}": "850000", f"q{ids['employees']}": "12",
        f"q{ids['file']}": (io.BytesIO(PDF), "plan.pdf"), "action": "continue"})
    assert r.status_code == 302, field_errors(r)
    data = {"product_on_market": "yes", "paying_clients": "4", "deminimis_declared": "15000",
            "comparison_consent": "y", "action": "continue"}
    data.update(declarations)
    r = post(client, f"/applications/{application_id}/step/3", data)
    assert r.status_code == 302, field_errors(r)
    return ids


# --- the applicant's journey -----------------------------------------------------------------


def test_full_journey_from_start_to_receipt(app, client, world, outbox):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    page = client.get(f"/applications/{application_id}/step/1")
    assert page.status_code == 200
    assert "Step 1 of 4" in text(page)  # two parts of questions, the declarations, the summary
    with app.app_context():
        ids = {k: v.id for k, v in questions_of(world["call"]).items()}

    # Step 1 saved as a draft, then step 2 with the attachment.
    r = post(client, f"/applications/{application_id}/step/1",
             {f"q{ids['text']}": "Sensors for\r\nsmart textiles.", "action": "draft"})
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}/step/1")
    assert "Draft saved" in text(client.get(r.location))
    r = upload_post(client, f"/applications/{application_id}/step/2", {
        f"q{ids['turnover']}": "850000,50", f"q{ids['employees']}": "12.5",
        f"q{ids['file']}": (io.BytesIO(PDF), "business plan.pdf"), "action": "continue"})
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}/step/3")
    with app.app_context():
        application = db.session.get(Application, application_id)
        values = {a.question_id: a.value for a in application.answers}
        assert values[ids["text"]] == "Sensors for\nsmart textiles."
        assert values[ids["turnover"]] == "850000.50" and values[ids["employees"]] == "12.5"
        attachment = the(Answer, application_id=application_id, question_id=ids["file"]).file
        assert attachment.purpose == "application_attachment" and attachment.organisation_id == world["org_a"]
        assert application.current_page == 3
        file_id = attachment.id

    # The declarations page asks for what the call's rules need.
    declarations = text(client.get(f"/applications/{application_id}/step/3"))
    assert "paying clients" in declarations and "De minimis" in declarations
    assert "move our registered" not in declarations  # the seat is already in the region
    r = post(client, f"/applications/{application_id}/step/3", {
        "product_on_market": "yes", "paying_clients": "4", "deminimis_declared": "15000",
        "comparison_consent": "y", "action": "continue"})
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}/summary")

    summary = text(client.get(r.location))
    assert "Step 4 of 4" in summary
    assert "Sensors for" in summary and "business plan.pdf" in summary and "EUR 850,000.50" in summary
    assert "Eligibility check" in summary and "Not met" not in summary
    assert "Submit the application" in summary
    assert client.get(f"/applications/{application_id}/files/{file_id}").data.startswith(b"%PDF")

    r = post(client, f"/applications/{application_id}/submit")
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}")
    detail = text(client.get(r.location))
    receipt = f"ACC-2027-{application_id:06d}"
    assert receipt in detail and "Submitted" in detail
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "submitted" and application.receipt_number == receipt
        assert application.submitted_at is not None and application.eligibility == "pending"
        assert not application.eligibility_flagged
        assert [r["code"] for r in application.eligibility_results] == ["sme", "seat_in_region",
                                                                        "business_readiness", "deminimis"]
        assert actions(application_id)[-1] == "applications.status_changed"
        # The colleague gets an in-app notice, not an e-mail.
        assert count(Notification, Notification.user_id == world["colleague"]) == 1
    mails = outbox()
    assert [m["To"] for m in mails] == ["a@example.eu"]
    assert receipt in mails[0]["Subject"] and receipt in mails[0].get_body(("plain",)).get_content()


def test_a_user_without_organisation_is_sent_to_register_one(app, client, world):
    login(client, "lonely@example.eu")
    r = post(client, f"/calls/{world['call']}/apply")
    assert r.status_code == 302 and r.location.endswith("/organisations/new")
    with app.app_context():
        assert count(Application) == 0


def test_a_member_of_several_organisations_chooses(app, client, world):
    with app.app_context():
        make_organisation(kind="university", owner=db.session.get(User, world["a"]), legal_name="Universita Alfa")
        db.session.commit()
    login(client, "a@example.eu")
    r = post(client, f"/calls/{world['call']}/apply")
    assert r.status_code == 200 and "Choose the one you apply for" in text(r)
    assert "not open to this kind of organisation" in text(r)  # the university
    r = post(client, f"/calls/{world['call']}/apply", {"organisation_id": str(world["org_a"])})
    assert r.status_code == 302
    with app.app_context():
        assert [a.organisation_id for a in db.session.scalars(select(Application))] == [world["org_a"]]


def test_an_organisation_of_a_kind_the_call_does_not_name_cannot_start(app, client, world):
    with app.app_context():
        call = db.session.get(Call, world["call"])
        call.eligible_kinds = ["sme"]
        db.session.commit()
    login(client, "a@example.eu")  # a start-up
    r = post(client, f"/calls/{world['call']}/apply", follow_redirects=True)
    assert "This call is for SME" in text(r) and "registered as Start-up" in text(r)
    with app.app_context():
        assert count(Application) == 0


def test_starting_twice_opens_the_same_draft(app, client, world):
    login(client, "a@example.eu")
    first = start(client, world["call"])
    assert start(client, world["call"]) == first
    with app.app_context():
        assert count(Application) == 1
        assert actions(first) == ["applications.created"]


def test_two_members_starting_at_once_leave_one_draft(app, world):
    clients = []
    for email in ("a@example.eu", "a2@example.eu"):
        c = app.test_client()
        login(c, email)
        clients.append((c, token(c)))
    barrier = threading.Barrier(2)
    answers, errors = [], []

    def go(c, csrf):
        try:
            barrier.wait()
            answers.append(c.post(f"/calls/{world['call']}/apply", data={"csrf_token": csrf}))
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=go, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert [r.status_code for r in answers] == [302, 302]
    assert len({r.location for r in answers}) == 1
    with app.app_context():
        assert count(Application) == 1
        assert count(Application, Application.status == "draft", Application.live_key == world["org_a"]) == 1


def test_the_database_refuses_a_second_live_application(app, world):
    with app.app_context():
        call = db.session.get(Call, world["call"])
        make_application(call, db.session.get(Organisation, world["org_a"]), submitted=False)
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.add(Application(call_id=call.id, organisation_id=world["org_a"], status="draft",
                                       live_key=world["org_a"]))
            db.session.flush()
        db.session.rollback()


# --- the deadline, frozen applications -------------------------------------------------------


def _draft_ready(app, world, **fields) -> int:
    with app.app_context():
        call = db.session.get(Call, world["call"])
        org = db.session.get(Organisation, world["org_a"])
        application = make_application(call, org, submitted=False, **fields)
        stored = StoredFile(purpose="application_attachment", organisation_id=org.id, original_name="plan.pdf",
                            stored_name=f"test-{application.id}", content_type="application/pdf", size=10,
                            sha256="0" * 64)
        db.session.add(stored)
        db.session.flush()
        file_question = questions_of(call.id)["file"]
        answer = the(Answer, application_id=application.id, question_id=file_question.id)
        answer.value, answer.file_id = None, stored.id
        db.session.commit()
        return application.id


def test_a_submission_one_second_after_the_deadline_is_refused_and_nothing_changes(app, client, world, outbox):
    application_id = _draft_ready(app, world)
    with app.app_context():
        call = db.session.get(Call, world["call"])
        call.closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        before = actions(application_id)
    login(client, "a@example.eu")
    r = post(client, f"/applications/{application_id}/submit", follow_redirects=True)
    assert r.status_code == 200
    assert "The call closed on" in text(r) and "can no longer be changed or submitted" in text(r)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "draft" and application.receipt_number is None
        assert application.submitted_at is None and application.eligibility_results == []
        assert actions(application_id) == before
        assert count(Obligation) == 0
    assert outbox() == []


def test_the_deadline_is_checked_by_the_service_to_the_second(app, world):
    from opsapp.calls import applying
    from opsapp.calls.applying import ApplicationError

    application_id = _draft_ready(app, world)
    with app.test_request_context():
        call = db.session.get(Call, world["call"])
        actor = db.session.get(User, world["a"])
        closes = call.closes_at
        for moment in (closes, closes + timedelta(seconds=1)):
            with pytest.raises(ApplicationError):
                applying.submit_application(actor, application_id, now=moment)
        application = applying.submit_application(actor, application_id, now=closes - timedelta(seconds=1))
        assert application.status == "submitted"
        db.session.rollback()


def test_a_crafted_post_on_a_submitted_application_changes_nothing(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    ids = fill_everything(client, app, world["call"], application_id)
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    with app.app_context():
        before = {a.question_id: (a.value, a.file_id) for a in db.session.get(Application, application_id).answers}
        audit_before = actions(application_id)
    r = post(client, f"/applications/{application_id}/step/1", {f"q{ids['text']}": "Changed after submitting",
                                                                "action": "continue"})
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}")
    assert "submitted, so it can no longer be changed" in text(client.get(r.location))
    r = upload_post(client, f"/applications/{application_id}/step/2", {
        f"q{ids['file']}": (io.BytesIO(PDF), "other.pdf"), "action": "draft"})
    assert r.status_code == 302
    r = post(client, f"/applications/{application_id}/step/3", {"paying_clients": "99", "action": "draft"})
    assert r.status_code == 302
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    # GET of a step of a frozen application goes to its page too.
    assert client.get(f"/applications/{application_id}/step/1").status_code == 302
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert {a.question_id: (a.value, a.file_id) for a in application.answers} == before
        assert application.paying_clients == 4
        assert actions(application_id) == audit_before
        assert count(StoredFile) == 1


# --- who may see and change what -------------------------------------------------------------


def test_applicant_b_cannot_see_or_change_a_application_or_its_files(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    fill_everything(client, app, world["call"], application_id)
    with app.app_context():
        file_id = db.session.scalar(select(Answer.file_id).where(Answer.application_id == application_id,
                                                                 Answer.file_id.is_not(None)))
    other = app.test_client()
    login(other, "b@example.eu")
    for path in (f"/applications/{application_id}", f"/applications/{application_id}/step/1",
                 f"/applications/{application_id}/summary", f"/applications/{application_id}/files/{file_id}"):
        r = other.get(path)
        assert r.status_code in (403, 404), path
        assert "Alfa Robotica" not in text(r) and b"%PDF" not in r.data
    for path in (f"/applications/{application_id}/submit", f"/applications/{application_id}/withdraw",
                 f"/applications/{application_id}/resubmit", f"/applications/{application_id}/step/1"):
        assert post(other, path, {"action": "draft"}).status_code in (403, 404), path
    assert post(other, f"/staff/applications/{application_id}/eligibility",
                {"decision": "ineligible", "reason": "x"}).status_code == 403
    # B's own application list does not show A's.
    assert "Alfa Robotica" not in text(other.get("/applications"))
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "draft"
        assert application.answers and count(Application) == 1


def test_evaluators_download_an_attachment_only_once_declared_and_never_open_the_page(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    fill_everything(client, app, world["call"], application_id)
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    with app.app_context():
        file_id = db.session.scalar(select(Answer.file_id).where(Answer.application_id == application_id,
                                                                 Answer.file_id.is_not(None)))
    evaluator = app.test_client()
    login(evaluator, "eva@example.eu")
    url = f"/applications/{application_id}/files/{file_id}"
    assert evaluator.get(url).status_code == 403  # not assigned
    with app.app_context():
        application = db.session.get(Application, application_id)
        user = db.session.get(User, world["evaluator"])
        assignment = make_assignment(application, user)  # assigned, not yet declared
        db.session.commit()
        assignment_id = assignment.id
    r = evaluator.get(url)
    assert r.status_code == 403 and b"%PDF" not in r.data
    with app.app_context():
        from opsapp.calls.models import Assignment

        db.session.get(Assignment, assignment_id).status = AssignmentStatus.ACCEPTED.value
        db.session.commit()
    r = evaluator.get(url)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert r.headers["Content-Disposition"].startswith("attachment")
    # Evaluators read applications through their own page, not this one.
    assert evaluator.get(f"/applications/{application_id}").status_code == 403
    with app.app_context():
        from opsapp.calls.models import Assignment

        db.session.get(Assignment, assignment_id).status = AssignmentStatus.CONFLICT.value
        db.session.commit()
    assert evaluator.get(url).status_code == 403


def test_a_file_of_another_application_is_not_served_under_this_one(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    fill_everything(client, app, world["call"], application_id)
    other = app.test_client()
    login(other, "b@example.eu")
    b_id = start(other, world["call"])
    fill_everything(other, app, world["call"], b_id)
    with app.app_context():
        b_file = db.session.scalar(select(Answer.file_id).where(Answer.application_id == b_id,
                                                                Answer.file_id.is_not(None)))
    # A's application id with B's file: not A's, so not found.
    assert client.get(f"/applications/{application_id}/files/{b_file}").status_code == 404


# --- withdrawal and new versions ---------------------------------------------------------------


def test_new_version_keeps_the_old_one_and_one_live_application(app, client, world, outbox):
    login(client, "a@example.eu")
    first = start(client, world["call"])
    ids = fill_everything(client, app, world["call"], first)
    assert post(client, f"/applications/{first}/submit").status_code == 302
    r = post(client, f"/applications/{first}/resubmit")
    assert r.status_code == 302
    second = int(re.search(r"/applications/(\d+)/step/1", r.location).group(1))
    assert second != first
    with app.app_context():
        old, new = db.session.get(Application, first), db.session.get(Application, second)
        assert (old.status, old.live_key, old.receipt_number) == ("superseded", None, f"ACC-2027-{first:06d}")
        assert (new.status, new.version, new.previous_id, new.live_key) == ("draft", 2, first, world["org_a"])
        assert {a.question_id: (a.value, a.file_id) for a in new.answers} == {
            a.question_id: (a.value, a.file_id) for a in old.answers}
        assert new.paying_clients == 4 and new.comparison_consent
        assert "applications.new_version" in actions(second)
    # Replace the attachment in the new version: the old version keeps its file.
    r = upload_post(client, f"/applications/{second}/step/2", {
        f"q{ids['turnover']}": "900000", f"q{ids['employees']}": "13",
        f"q{ids['file']}": (io.BytesIO(PDF + b"v2"), "plan-v2.pdf"), "action": "draft"})
    assert r.status_code == 302
    with app.app_context():
        old_file = the(Answer, application_id=first, question_id=ids["file"]).file
        new_file = the(Answer, application_id=second, question_id=ids["file"]).file
        assert old_file.original_name == "plan.pdf" and new_file.original_name == "plan-v2.pdf"
    assert client.get(f"/applications/{first}/files/{old_file.id}").status_code == 200
    detail = text(client.get(f"/applications/{second}"))
    assert "Version 1" in detail and "Version 2" in detail
    assert post(client, f"/applications/{second}/submit").status_code == 302
    with app.app_context():
        assert db.session.get(Application, second).receipt_number == f"ACC-2027-{second:06d}"
        assert count(Application, Application.live_key.is_not(None)) == 1
    # The superseded version cannot be brought back.
    r = post(client, f"/applications/{first}/resubmit", follow_redirects=True)
    assert "Only a submitted application" in text(r)


def test_withdrawal_until_the_deadline_then_a_fresh_start(app, client, world, outbox):
    login(client, "a@example.eu")
    first = start(client, world["call"])
    fill_everything(client, app, world["call"], first)
    assert post(client, f"/applications/{first}/submit").status_code == 302
    page = text(client.get(f"/applications/{first}"))
    assert "Withdraw the application" in page and "data-confirm" in page
    r = post(client, f"/applications/{first}/withdraw", follow_redirects=True)
    assert "The application is withdrawn" in text(r)
    with app.app_context():
        application = db.session.get(Application, first)
        assert (application.status, application.live_key) == ("withdrawn", None)
        assert application.withdrawn_at is not None and application.receipt_number
    assert "withdrawn" in outbox()[-1]["Subject"]
    # Withdrawn is final; the organisation may start again before the deadline.
    r = post(client, f"/applications/{first}/withdraw", follow_redirects=True)
    assert "was withdrawn and can no longer be changed" in text(r)
    second = start(client, world["call"])
    assert second != first
    with app.app_context():
        assert count(Application) == 2 and count(Application, Application.live_key.is_not(None)) == 1
        fresh = db.session.get(Application, second)
        assert (fresh.version, fresh.previous_id, fresh.status) == (2, None, "draft")


def test_no_withdrawal_after_the_deadline(app, client, world):
    application_id = _draft_ready(app, world)
    with app.app_context():
        db.session.get(Call, world["call"]).closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    login(client, "a@example.eu")
    page = text(client.get(f"/applications/{application_id}"))
    assert "Withdraw the application" not in page
    r = post(client, f"/applications/{application_id}/withdraw", follow_redirects=True)
    assert "can be withdrawn only until the deadline" in text(r)
    with app.app_context():
        assert db.session.get(Application, application_id).status == "draft"


# --- bad input on every kind of question -------------------------------------------------------


CHOICES = ["Red", "Green", "Blue"]
MANY = [f"Option {n}" for n in range(1, 9)]


@pytest.fixture
def every_kind(app, world):
    """A call with one question of each kind on step 1, and its draft started by A."""
    with app.app_context():
        call = make_call(questions=False, eligibility_rules={}, title="Every kind")
        specs = [
            ("text", QuestionKind.TEXT, {"max_length": 10}),
            ("long", QuestionKind.LONG_TEXT, {"max_length": 20}),
            ("number", QuestionKind.NUMBER, {"min_value": Decimal("0"), "max_value": Decimal("100")}),
            ("money", QuestionKind.MONEY, {"min_value": Decimal("0")}),
            ("date", QuestionKind.DATE, {}),
            ("radio", QuestionKind.SINGLE_CHOICE, {"choices": CHOICES}),
            ("select", QuestionKind.SINGLE_CHOICE, {"choices": MANY}),
            ("multi", QuestionKind.MULTIPLE_CHOICE, {"choices": CHOICES}),
            ("yesno", QuestionKind.YES_NO, {}),
            ("file", QuestionKind.FILE, {"file_kinds": ["pdf"], "max_file_mb": 1}),
        ]
        ids = {}
        for position, (name, kind, extra) in enumerate(specs):
            q = Question(call_id=call.id, page=1, position=position, kind=kind.value, label=f"Question {name}",
                         required=True, **extra)
            db.session.add(q)
            db.session.flush()
            ids[name] = q.id
        db.session.commit()
        call_id = call.id
    client = app.test_client()
    login(client, "a@example.eu")
    application_id = start(client, call_id)
    return {"client": client, "application": application_id, "ids": ids}


BIG_PDF = PDF + b"%" + b"x" * (1024 * 1024 + 10) + b"\n"
BAD_INPUT = [
    ("text", "x" * 11, "Write at most 10 characters (you wrote 11)."),
    ("long", "y" * 21, "Write at most 20 characters (you wrote 21)."),
    ("number", "twelve", "Write a number"),
    ("number", "-1", "Enter at least 0."),
    ("number", "101", "Enter at most 100."),
    ("money", "12.345", "Use at most two decimals"),
    ("money", "-5", "Enter at least EUR 0.00."),
    ("money", "lots", "Write the amount in euro"),
    ("date", "2027-02-31", "Write the date as year-month-day"),
    ("radio", "Purple", "Choose one of the options"),
    ("select", "Option 99", "Choose one of the options"),
    ("multi", ["Red", "Purple"], "Choose only options from the list."),
    ("yesno", "maybe", "Choose yes or no."),
    ("file", (PDF, "plan.exe"), "This type of file is not accepted. Accepted: PDF."),
    ("file", (b"MZ\x90\x00 not a pdf", "plan.pdf"), "The file's content does not match its name"),
    ("file", (BIG_PDF, "big.pdf"), "The file is larger than 1.0 MB."),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_INPUT, ids=[f"{n}-{i}" for i, (n, _v, _m) in
                                                                          enumerate(BAD_INPUT)])
def test_bad_input_on_each_kind_gives_its_message_keeps_input_and_saves_nothing(app, every_kind, name, value,
                                                                                message):
    client, application_id, ids = every_kind["client"], every_kind["application"], every_kind["ids"]
    good = "yesno" if name != "yesno" else "text"
    data = {f"q{ids[good]}": "yes" if good == "yesno" else "Fine", "action": "continue"}
    if name == "file":
        content, filename = value
        data[f"q{ids['file']}"] = (io.BytesIO(content), filename)
    else:
        data[f"q{ids[name]}"] = value
    r = upload_post(client, f"/applications/{application_id}/step/1", data)
    assert r.status_code == 200
    page = text(r)
    assert any(message in e for e in field_errors(r)), field_errors(r)
    assert "There is 1 problem to fix" in page
    assert "The valid answers are saved" in page
    if name in ("text", "long", "number", "money", "date"):
        assert value in page  # what was typed is shown again
    elif name == "multi":
        assert re.search(r'<input[^>]*checked[^>]*value="Red"|<input[^>]*value="Red"[^>]*checked', page)
    with app.app_context():
        assert the(Answer, application_id=application_id, question_id=ids[name]) is None
        saved = the(Answer, application_id=application_id, question_id=ids[good])
        assert saved is not None and saved.value in (True, "Fine")
        assert count(StoredFile) == 0
        assert db.session.get(Application, application_id).current_page == 1  # did not move on


def test_good_input_on_each_kind_is_stored_as_the_house_stores_it(app, every_kind):
    client, application_id, ids = every_kind["client"], every_kind["application"], every_kind["ids"]
    r = upload_post(client, f"/applications/{application_id}/step/1", {
        f"q{ids['text']}": "  Short  ", f"q{ids['long']}": "Two\r\nlines", f"q{ids['number']}": "12,5",
        f"q{ids['money']}": "1500", f"q{ids['date']}": "2026-03-31", f"q{ids['radio']}": "Green",
        f"q{ids['select']}": "Option 7", f"q{ids['multi']}": ["Blue", "Red"], f"q{ids['yesno']}": "no",
        f"q{ids['file']}": (io.BytesIO(PDF), "plan.pdf"), "action": "draft"})
    assert r.status_code == 302, field_errors(r)
    with app.app_context():
        values = {a.question_id: a.value for a in db.session.get(Application, application_id).answers}
    assert values[ids["text"]] == "Short" and values[ids["long"]] == "Two\nlines"
    assert values[ids["number"]] == "12.5" and values[ids["money"]] == "1500.00"
    assert values[ids["date"]] == "2026-03-31" and values[ids["radio"]] == "Green"
    assert values[ids["select"]] == "Option 7" and values[ids["multi"]] == ["Red", "Blue"]
    assert values[ids["yesno"]] is False and values[ids["file"]] is None
    page = text(client.get(f"/applications/{application_id}/step/1"))
    assert 'value="Short"' in page and "plan.pdf" in page
    # Clearing an answer on a draft removes it.
    r = upload_post(client, f"/applications/{application_id}/step/1", {f"q{ids['text']}": "", "action": "draft"})
    assert r.status_code == 302
    with app.app_context():
        assert the(Answer, application_id=application_id, question_id=ids["text"]) is None


def test_bad_declarations_are_refused_field_by_field(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    r = post(client, f"/applications/{application_id}/step/3", {
        "product_on_market": "perhaps", "paying_clients": "three", "deminimis_declared": "-10",
        "comparison_consent": "y", "action": "continue"})
    assert r.status_code == 200
    errors = field_errors(r)
    assert "Choose yes or no." in errors and "Write a whole number, for example 3." in errors
    assert any("cannot be negative" in e for e in errors)
    assert 'value="three"' in text(r)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.product_on_market is None and application.paying_clients is None
        assert application.deminimis_declared is None
        assert application.comparison_consent is True  # the valid one is saved


def test_submission_with_missing_answers_goes_back_to_the_summary(app, client, world, outbox):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    summary = text(client.get(f"/applications/{application_id}/summary"))
    assert "required answers are missing" in summary and "Submit the application" not in summary
    assert f"/applications/{application_id}/step/2#q" in summary
    r = post(client, f"/applications/{application_id}/submit")
    assert r.status_code == 302 and r.location.endswith(f"/applications/{application_id}/summary")
    with app.app_context():
        assert db.session.get(Application, application_id).status == "draft"
    assert outbox() == []


def test_a_step_that_does_not_exist_is_not_found(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    assert client.get(f"/applications/{application_id}/step/4").status_code == 404
    assert client.get(f"/applications/{application_id}/step/0").status_code == 404


# --- eligibility at submission, obligations ------------------------------------------------------


def test_a_failing_rule_is_shown_before_submitting_and_flags_the_submission(app, client, world):
    with app.app_context():
        db.session.get(Organisation, world["org_a"]).nuts2_region = "ITC4"
        db.session.commit()
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    fill_everything(client, app, world["call"], application_id)  # no relocation commitment
    summary = text(client.get(f"/applications/{application_id}/summary"))
    sentence = "The seat (ITC4) is outside the region (ITC1) and there is no commitment to move it."
    assert sentence in summary and "Not met" in summary
    assert "does not stop you from submitting" in summary
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "submitted" and application.eligibility_flagged
        failed = [r for r in application.eligibility_results if not r["passed"]]
        assert [r["code"] for r in failed] == ["seat_in_region"]
        assert count(Obligation) == 0
    detail = text(client.get(f"/applications/{application_id}"))
    assert sentence in detail and "Flagged" in detail


def test_a_relocation_commitment_becomes_an_obligation(app, client, world):
    with app.app_context():
        db.session.get(Organisation, world["org_a"]).nuts2_region = "ITC4"
        db.session.commit()
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    assert "move our registered" in text(client.get(f"/applications/{application_id}/step/3"))
    fill_everything(client, app, world["call"], application_id, relocation_commitment="y")
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.relocation_commitment and not application.eligibility_flagged
        obligation = the(Obligation, application_id=application_id)
        assert (obligation.kind, obligation.status, obligation.organisation_id) == (
            "relocate_seat", "open", world["org_a"])
    # Withdrawing the application releases the commitment.
    assert post(client, f"/applications/{application_id}/withdraw").status_code == 302
    with app.app_context():
        assert the(Obligation, application_id=application_id).status == "waived"


# --- lists, exports, panels, privacy -------------------------------------------------------------


def _submitted_applications(app, world, n: int, flagged: int = 0, evil_name: bool = False) -> int:
    with app.app_context():
        call = db.session.get(Call, world["call"])
        for i in range(n):
            name = f"Company {i:03d} S.r.l."
            if evil_name and i == 0:
                name = '=HYPERLINK("http://evil.example","click")'
            org = make_organisation(legal_name=name)
            make_application(call, org, eligibility_flagged=i < flagged,
                             eligibility_results=[{"code": "sme", "passed": i >= flagged, "reason": "not_sme",
                                                   "params": {"size_class": "large"}}])
        db.session.commit()
        return call.id


def test_my_applications_and_the_home_panel(app, client, world):
    login(client, "a@example.eu")
    application_id = start(client, world["call"])
    page = text(client.get("/applications"))
    assert "Accelerator 2027" in page and "Draft" in page and "closes in" in page
    home = text(client.get("/"))
    assert "Your applications" in home and "Continue the application" in home
    assert f"/applications/{application_id}/step/1" in home
    assert "My applications" in home  # the navigation entry


def test_staff_list_counts_filters_and_pages(app, world):
    call_id = _submitted_applications(app, world, 30, flagged=3)
    staff = app.test_client()
    login(staff, "staff@example.eu")
    page = text(staff.get(f"/staff/calls/{call_id}/applications"))
    assert "30 applications, 3 flagged as ineligible" in page
    assert "Page 1 of 2" in page
    page = text(staff.get(f"/staff/calls/{call_id}/applications?flagged=yes"))
    assert "3 applications, 3 flagged as ineligible" in page
    page = text(staff.get(f"/staff/calls/{call_id}/applications?q=company+007"))
    assert "1 application" in page and "Company 007 S.r.l." in page
    assert "export=csv&amp;q=company+007" in page or "q=company+007&amp;export=csv" in page
    home = text(staff.get("/"))
    assert "Eligibility to confirm" in home and "30 applications to confirm" in home


def test_staff_list_queries_do_not_grow_with_rows(app, world):
    staff = app.test_client()
    login(staff, "staff@example.eu")

    def queries_for(call_id) -> int:
        seen = []

        def listener(*args, **kwargs):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert staff.get(f"/staff/calls/{call_id}/applications").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    call_id = _submitted_applications(app, world, 3)
    few = queries_for(call_id)
    _submitted_applications(app, world, 20)
    assert queries_for(call_id) == few


def test_exports_open_and_hold_the_rows_with_formulas_defused(app, world):
    call_id = _submitted_applications(app, world, 4, flagged=1, evil_name=True)
    staff = app.test_client()
    login(staff, "staff@example.eu")
    r = staff.get(f"/staff/calls/{call_id}/applications?export=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["application_id", "receipt_number", "version", "status"]
    assert len(rows) == 5
    names = [row[4] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in names
    flagged = [row for row in rows[1:] if row[11] == "yes"]
    assert len(flagged) == 1 and flagged[0][12] == "sme" and "large enterprise" in flagged[0][13]

    r = staff.get(f"/staff/calls/{call_id}/applications?export=xlsx&flagged=no")
    assert r.status_code == 200
    workbook = load_workbook(io.BytesIO(r.data))
    sheet = workbook.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "application_id" and len(values) == 4
    assert all(row[11] == "no" for row in values[1:])
    for row in sheet.iter_rows(min_row=2):
        assert row[4].data_type == "s" and not str(row[4].value).startswith("=")
    with app.app_context():
        exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "applications.exported")
                                      .order_by(AuditEntry.id)).all()
        assert [(e.detail["format"], e.detail["rows"]) for e in exported] == [("csv", 4), ("xlsx", 3)]
    assert staff.get(f"/staff/calls/{call_id}/applications?export=pdf").status_code == 404
    applicant = app.test_client()
    login(applicant, "a@example.eu")
    assert applicant.get(f"/staff/calls/{call_id}/applications?export=csv").status_code == 403


def test_erasure_keeps_applications_and_says_why(app, client, world):
    login(client, "a@example.eu")
    start(client, world["call"])
    with app.app_context():
        user = db.session.get(User, world["a"])
        summary = privacy.erasure_summary(user)
        kept = [item for item in summary.kept if "applications" in item.tables]
        assert len(kept) == 1 and kept[0].count == 1 and kept[0].until is not None
        assert "five years" in str(kept[0].reason)
        assert str(privacy.table_label("applications")) == "Applications to calls"


def test_a_closed_call_cannot_be_started_and_says_when_it_closed(app, client, world):
    with app.app_context():
        db.session.get(Call, world["call"]).closes_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    login(client, "a@example.eu")
    r = post(client, f"/calls/{world['call']}/apply", follow_redirects=True)
    assert "The call closed on" in text(r)
    with app.app_context():
        assert count(Application) == 0


def test_the_page_shows_the_outcome_and_the_place_once_decided(app, client, world):
    application_id = _draft_ready(app, world)
    with app.app_context():
        application = db.session.get(Application, application_id)
        application.status, application.submitted_at = "submitted", utcnow()
        application.receipt_number = "ACC-2027-999999"
        application.outcome, application.place_status = "selected", "offered"
        db.session.commit()
    login(client, "a@example.eu")
    page = text(client.get(f"/applications/{application_id}"))
    assert "Selected" in page and "Place offered" in page and "ACC-2027-999999" in page
    assert "Selected" in text(client.get("/applications"))


def test_after_the_retention_period_the_person_is_removed_from_old_applications(app, world):
    from datetime import UTC, datetime

    from tests.factories_calls import make_edition

    with app.app_context():
        old_edition = make_edition(2015, ends_on=datetime(2015, 12, 31, tzinfo=UTC))
        old_call = make_call(edition=old_edition, title="Accelerator 2015")
        user = db.session.get(User, world["a"])
        old = make_application(old_call, db.session.get(Organisation, world["org_a"]), by=user)
        recent = make_application(db.session.get(Call, world["call"]), db.session.get(Organisation, world["org_a"]),
                                  by=user)
        user.erased_at = utcnow()
        db.session.commit()
        assert privacy.anonymise_expired() >= 1
        db.session.commit()
        assert db.session.get(Application, old.id).created_by_id is None
        assert db.session.get(Application, recent.id).created_by_id == world["a"]


def test_a_meet_the_buyer_call_asks_no_readiness_and_numbers_its_receipts(app, client, world):
    from opsapp.calls.models import ProgrammeKind
    from tests.factories_calls import make_edition

    with app.app_context():
        edition = make_edition(2027, kind=ProgrammeKind.MEET_THE_BUYER)
        call = make_call(edition=edition, eligibility_rules={"sme": {}}, title="Meet the Buyer 2027")
        ids = {k: v.id for k, v in questions_of(call.id).items()}
        db.session.commit()
        call_id = call.id
    login(client, "a@example.eu")
    application_id = start(client, call_id)
    declarations = text(client.get(f"/applications/{application_id}/step/3"))
    assert "paying clients" not in declarations and "De minimis" in declarations
    post(client, f"/applications/{application_id}/step/1", {f"q{ids['text']}": "Smart yarns.", "action": "draft"})
    post(client, f"/applications/{application_id}/step/2", {f"q{ids['turnover']}": "100000",
                                                             f"q{ids['employees']}": "3", "action": "draft"})
    # A crafted post of the fields the step does not ask changes nothing.
    post(client, f"/applications/{application_id}/step/3", {"paying_clients": "7", "product_on_market": "yes",
                                                             "action": "continue"})
    assert post(client, f"/applications/{application_id}/submit").status_code == 302
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == "submitted"
        assert application.receipt_number == f"MTB-2027-{application_id:06d}"
        assert application.paying_clients is None and application.product_on_market is None
