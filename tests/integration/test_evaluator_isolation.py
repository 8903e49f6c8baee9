"""An evaluator sees only what is assigned to them, only after declaring no conflict of
interest, never after declaring one, never another evaluator's scores before submitting
their own, and never who applied to a blind call.

Every answer is checked twice: its status (403 or 404, or a redirect to the declaration)
and its content (the applicant's name, VAT number, people, answers and attachment never
appear in it). Real database, real files, CSRF on."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import User
from opsapp.calls.applying import ATTACHMENT_PURPOSE
from opsapp.calls.models import (
    Answer,
    Application,
    Assignment,
    AssignmentStatus,
    CallStatus,
    Eligibility,
    Question,
    QuestionKind,
    Score,
)
from opsapp.core import files
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import (
    make_application,
    make_assignment,
    make_call,
    make_evaluator_profile,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%Segreto\n%%EOF\n"
DENIED = (403, 404)
SECRET_ANSWER = "Our secret sauce: graphene sensors woven into wool."
OTHER_COMMENT = "Unmistakable comment of the evaluator who already submitted."


def text(response) -> str:
    return response.get_data(as_text=True) if response.mimetype.startswith(("text/", "application/json")) else ""


@pytest.fixture
def world(app):
    """A call in evaluation; the application of Segreto Robotica (with an answer and an attachment);
    evaluators: Anna (declared no conflict), Bruno (assigned, not declared), Carla (declared a
    conflict), Dario (assigned to another application only), Elena (submitted her scores)."""
    with app.app_context():
        domains = make_s3_domains()
        make_user("staff@example.eu", roles=[Role.STAFF])
        call = make_call(CallStatus.IN_EVALUATION, opens_in=timedelta(days=-30), closes_in=timedelta(days=-2),
                         evaluation_deadline=utcnow() + timedelta(days=10), evaluators_per_application=3)
        question = Question(call_id=call.id, page=3, position=0, kind=str(QuestionKind.FILE), label="Business plan",
                            required=False, file_kinds=["pdf"])
        db.session.add(question)
        db.session.flush()
        owner = make_user("mario.segreti@example.eu", roles=[Role.APPLICANT], full_name="Mario Segreti")
        org = make_organisation(owner=owner, legal_name="Segreto Robotica S.r.l.")
        org.s3_domains = [domains[0]]
        application = make_application(call, org, by=owner, eligibility=str(Eligibility.ELIGIBLE))
        stored = files.store(FileStorage(io.BytesIO(PDF), filename="segreto-robotica-plan.pdf",
                                         content_type="application/pdf"),
                             purpose=ATTACHMENT_PURPOSE, uploaded_by=owner, organisation_id=org.id)
        for answer in db.session.scalars(select(Answer).where(Answer.application_id == application.id)):
            if answer.question.kind == QuestionKind.LONG_TEXT:
                answer.value = SECRET_ANSWER
            elif answer.question_id == question.id:
                answer.value, answer.file_id = None, stored.id
        other_org = make_organisation(legal_name="Altra Impresa S.r.l.")
        other = make_application(call, other_org, eligibility=str(Eligibility.ELIGIBLE))

        people = {}
        for name in ("Anna", "Bruno", "Carla", "Dario", "Elena"):
            user = make_user(f"{name.lower()}@example.eu", roles=[Role.EVALUATOR], full_name=f"{name} Esperta")
            make_evaluator_profile(user, domains[:1])
            people[name] = user
        assignments = {
            "Anna": make_assignment(application, people["Anna"], status=AssignmentStatus.ACCEPTED),
            "Bruno": make_assignment(application, people["Bruno"]),
            "Carla": make_assignment(application, people["Carla"], status=AssignmentStatus.CONFLICT),
            "Dario": make_assignment(other, people["Dario"], status=AssignmentStatus.ACCEPTED),
            "Elena": make_assignment(application, people["Elena"], scores=[1, 5, 2], comment=OTHER_COMMENT),
        }
        assignments["Carla"].conflict_reason = "I was a consultant of this company."
        db.session.commit()
        return {
            "call": call.id, "application": application.id, "other": other.id, "file": stored.id,
            "assignments": {k: v.id for k, v in assignments.items()},
            "secrets": [org.legal_name, org.vat_number, "Mario Segreti", SECRET_ANSWER, "segreto-robotica-plan.pdf"],
        }


def client_of(app, name):
    client = app.test_client()
    login(client, f"{name.lower()}@example.eu")
    return client


def assert_no_secret(response, secrets, where):
    leaked = [s for s in secrets if s in text(response)]
    assert not leaked, f"{where} shows {leaked}"


def application_urls(world) -> list[str]:
    a, f = world["application"], world["file"]
    return [f"/applications/{a}", f"/applications/{a}/files/{f}", f"/applications/{a}/letter.docx"]


def staff_urls(world) -> list[str]:
    c, a = world["call"], world["application"]
    return [f"/staff/calls/{c}/export.csv", f"/staff/calls/{c}/export.xlsx", f"/staff/calls/{c}/ranking",
            f"/staff/applications/{a}/consensus", f"/staff/calls/{c}/assignments", f"/staff/calls/{c}/applications",
            f"/staff/calls/{c}", "/staff/evaluators", f"/evaluations/{world['assignments']['Elena']}"]


# --- an evaluator not assigned to the application ------------------------------------------


def test_an_evaluator_not_assigned_cannot_open_score_or_download(app, world):
    dario = client_of(app, "Dario")
    anna_assignment = world["assignments"]["Anna"]
    for url in (f"/evaluations/{anna_assignment}", f"/evaluations/{anna_assignment}/declaration",
                *application_urls(world)):
        r = dario.get(url)
        assert r.status_code in DENIED, url
        assert_no_secret(r, world["secrets"], url)
        assert b"%PDF" not in r.data
    for url in staff_urls(world):
        r = dario.get(url)
        assert r.status_code in DENIED, url
        assert_no_secret(r, world["secrets"], url)
    # A crafted score or declaration on someone else's assignment changes nothing.
    token = csrf_from(dario.get("/evaluations").get_data(as_text=True))
    with app.app_context():
        criteria = [s.criterion_id for s in db.session.scalars(
            select(Score).where(Score.assignment_id == world["assignments"]["Elena"]))]
    scores = {f"score_{c}": "0" for c in criteria} | {f"comment_{c}": "sabotage" for c in criteria}
    for url, data in ((f"/evaluations/{anna_assignment}", {**scores, "action": "submit"}),
                      (f"/evaluations/{world['assignments']['Elena']}", {**scores, "action": "draft"}),
                      (f"/evaluations/{anna_assignment}/declaration", {"declaration": "conflict", "reason": "x"})):
        r = dario.post(url, data={"csrf_token": token, **data})
        assert r.status_code in DENIED, url
    with app.app_context():
        assert db.session.get(Assignment, anna_assignment).status == "accepted"
        assert not db.session.scalars(select(Score).where(Score.comment == "sabotage")).all()
    # His own list shows only his own application.
    mine = dario.get("/evaluations")
    assert "Altra Impresa S.r.l." in text(mine)
    assert_no_secret(mine, world["secrets"], "/evaluations")


# --- before declaring ----------------------------------------------------------------


def test_before_declaring_an_evaluator_sees_nothing_of_the_application(app, world):
    bruno = client_of(app, "Bruno")
    mine = world["assignments"]["Bruno"]
    r = bruno.get(f"/evaluations/{mine}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/evaluations/{mine}/declaration")
    declaration = bruno.get(f"/evaluations/{mine}/declaration")
    assert declaration.status_code == 200
    body = text(declaration)
    assert "Segreto Robotica S.r.l." in body  # not blind: the name, to judge the conflict
    assert SECRET_ANSWER not in body and "segreto-robotica-plan.pdf" not in body and "Mario Segreti" not in body
    for url in application_urls(world):
        r = bruno.get(url)
        assert r.status_code in DENIED, url
        assert SECRET_ANSWER not in text(r) and b"%PDF" not in r.data
    # Scores cannot be posted before the declaration either.
    token = csrf_from(body)
    r = bruno.post(f"/evaluations/{mine}", data={"csrf_token": token, "action": "draft"})
    assert r.status_code in (302, 403)
    with app.app_context():
        assert db.session.scalars(select(Score).where(Score.assignment_id == mine)).all() == []


# --- after declaring a conflict ----------------------------------------------------------


def test_a_conflicted_evaluator_is_refused_everywhere_and_sees_nothing(app, world):
    carla = client_of(app, "Carla")
    mine = world["assignments"]["Carla"]
    for url in (f"/evaluations/{mine}", f"/evaluations/{mine}/declaration", *application_urls(world),
                *staff_urls(world)):
        r = carla.get(url)
        assert r.status_code in DENIED, url
        assert_no_secret(r, world["secrets"], url)
        assert b"%PDF" not in r.data
    for url in staff_urls(world)[:5]:
        assert carla.get(url).status_code == 403, url  # staff pages: she is not staff
    listing = carla.get("/evaluations")
    assert listing.status_code == 200
    assert SECRET_ANSWER not in text(listing) and "segreto-robotica-plan.pdf" not in text(listing)
    home = carla.get("/")
    assert SECRET_ANSWER not in text(home)
    token = csrf_from(text(listing))
    r = carla.post(f"/evaluations/{mine}/declaration", data={"csrf_token": token, "declaration": "none"})
    assert r.status_code in DENIED
    with app.app_context():
        assert db.session.get(Assignment, mine).status == "conflict"


# --- other evaluators' scores ----------------------------------------------------------------


def test_an_evaluator_never_sees_other_scores_before_submitting(app, world):
    anna = client_of(app, "Anna")
    url = f"/evaluations/{world['assignments']['Anna']}"
    page = text(anna.get(url))
    assert SECRET_ANSWER in page  # she declared no conflict: she reads the application
    assert OTHER_COMMENT not in page and "Elena" not in page
    # Not through her list nor her home page either.
    assert OTHER_COMMENT not in text(anna.get("/evaluations")) and OTHER_COMMENT not in text(anna.get("/"))
    # Nor by opening Elena's evaluation.
    r = anna.get(f"/evaluations/{world['assignments']['Elena']}")
    assert r.status_code in DENIED and OTHER_COMMENT not in text(r)

    with app.app_context():
        criteria = [c.id for c in db.session.get(Application, world["application"]).call.criteria]
    data = {f"score_{c}": "3" for c in criteria} | {f"comment_{c}": "Mine." for c in criteria}
    r = anna.post(url, data={"csrf_token": csrf_from(page), "action": "submit", **data}, follow_redirects=True)
    after = text(r)
    assert "Your evaluation is submitted" in after
    assert OTHER_COMMENT in after and "Evaluator 1" in after and "Elena" not in after


# --- blind calls -----------------------------------------------------------------------------


def test_a_blind_call_never_shows_the_applicant_to_evaluators(app, world):
    with app.app_context():
        application = db.session.get(Application, world["application"])
        application.call.blind = True
        db.session.commit()
    hidden = [s for s in world["secrets"] if s != SECRET_ANSWER]
    for name in ("Anna", "Bruno", "Elena"):
        client = client_of(app, name)
        mine = world["assignments"][name]
        for url in ("/", "/evaluations", f"/evaluations/{mine}", f"/evaluations/{mine}/declaration",
                    f"/applications/{world['application']}"):
            r = client.get(url, follow_redirects=True)
            assert_no_secret(r, hidden, f"{name} {url}")
    # Anna reads the answers and can download the attachment, under a neutral name on the page.
    anna = client_of(app, "Anna")
    page = text(anna.get(f"/evaluations/{world['assignments']['Anna']}"))
    assert SECRET_ANSWER in page and "Attachment (PDF)" in page
    r = anna.get(f"/applications/{world['application']}/files/{world['file']}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    # Staff still see who applied.
    staff = app.test_client()
    login(staff, "staff@example.eu")
    assert "Segreto Robotica S.r.l." in text(staff.get(f"/evaluations/{world['assignments']['Elena']}"))


def test_another_evaluators_assignment_id_is_not_found(app, world):
    anna = client_of(app, "Anna")
    with app.app_context():
        ids = list(db.session.scalars(select(Assignment.id).where(
            Assignment.evaluator_id != db.session.scalar(select(User.id).where(User.email == "anna@example.eu")))))
    for assignment_id in [*ids, 999999]:
        for url in (f"/evaluations/{assignment_id}", f"/evaluations/{assignment_id}/declaration"):
            r = anna.get(url)
            assert r.status_code in DENIED, url
            assert OTHER_COMMENT not in text(r)
