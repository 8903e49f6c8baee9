"""The evaluation through the browser's eyes: the pool of evaluators and their invitation, the
proposed assignment (propose, adjust, confirm, notify), conflicts of interest and their
replacement, scoring (drafts, bad scores, submission, the others' scores), removal,
reminders and progress. Real database, real e-mails in the outbox, CSRF on."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import AccountToken, Membership, S3Domain, User
from opsapp.calls.models import (
    Assignment,
    AssignmentStatus,
    CallStatus,
    Eligibility,
    EvaluatorProfile,
    Score,
)
from opsapp.core.models import AuditEntry
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

# --- helpers ---------------------------------------------------------------------------


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    """POST like a browser: the CSRF token comes from the page the form is on."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_errors(response) -> list[str]:
    return [e.strip() for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', page_text(response))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def actions(object_type=None) -> list[str]:
    query = select(AuditEntry.action).order_by(AuditEntry.id)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    return list(db.session.scalars(query))


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def proposed_pairs(html: str) -> list[tuple[int, int]]:
    return [(int(a), int(e)) for a, e in re.findall(r'name="pair" value="(\d+)-(\d+)"', html)]


def assignment_of(application_id: int, evaluator_id: int) -> Assignment | None:
    return db.session.scalar(select(Assignment).where(Assignment.application_id == application_id,
                                                      Assignment.evaluator_id == evaluator_id))


@pytest.fixture
def world(app):
    """A closed call (2 evaluators per application), four eligible applications, one ineligible,
    three evaluators (Eva is a member of the first applicant), staff."""
    with app.app_context():
        domains = {d.code: d for d in make_s3_domains()}
        staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        call = make_call(CallStatus.CLOSED, opens_in=timedelta(days=-30), closes_in=timedelta(days=-1),
                         evaluators_per_application=2, evaluation_deadline=utcnow() + timedelta(days=14),
                         created_by_id=staff.id, title="Accelerator 2027")
        people = {}
        for name, codes in (("Eva", ["ict"]), ("Franco", ["ict", "energy"]), ("Giulia", ["energy"])):
            user = make_user(f"{name.lower()}@example.eu", roles=[Role.EVALUATOR], full_name=f"{name} Valutatrice")
            make_evaluator_profile(user, [domains[c] for c in codes])
            people[name] = user.id
        applications = []
        for n in range(4):
            owner = make_user(f"owner{n}@example.eu", roles=[Role.APPLICANT], full_name=f"Owner {n}")
            org = make_organisation(owner=owner, legal_name=f"Impresa {n} S.r.l.")
            org.s3_domains = [domains["ict" if n % 2 == 0 else "energy"]]
            if n == 0:
                db.session.add(Membership(user_id=people["Eva"], organisation_id=org.id, role="member"))
            applications.append(make_application(call, org, by=owner, eligibility=str(Eligibility.ELIGIBLE)).id)
        outcast = make_organisation(legal_name="Fuori Gara S.r.l.")
        ineligible = make_application(call, outcast, eligibility=str(Eligibility.INELIGIBLE)).id
        db.session.commit()
        return {"call": call.id, "staff": staff.id, "apps": applications, "ineligible": ineligible, **people}


@pytest.fixture
def staff_client(app, world):
    client = app.test_client()
    login(client, "staff@example.eu")
    return client


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


# --- the pool and invitations ----------------------------------------------------------


def test_staff_see_the_pool_with_expertise_and_organisations(app, world, staff_client):
    r = staff_client.get("/staff/evaluators")
    html = page_text(r)
    assert r.status_code == 200
    assert "3 evaluators" in html
    for name in ("Eva Valutatrice", "Franco Valutatrice", "Giulia Valutatrice"):
        assert name in html
    assert "Impresa 0 S.r.l." in html  # Eva's organisation, from her membership
    filtered = page_text(staff_client.get("/staff/evaluators?q=franco"))
    assert "1 evaluator" in filtered and "Giulia" not in filtered


def test_staff_invite_a_new_evaluator_who_gets_the_invitation_email(app, world, staff_client, outbox):
    with app.app_context():
        ict = db.session.scalar(select(S3Domain.id).where(S3Domain.code == "ict"))
    r = post(staff_client, "/staff/evaluators", {"full_name": "Ida Esperta", "email": " Ida@Example.EU ",
                                                 "s3_domain_ids": [str(ict)], "locale": "it"},
             follow_redirects=True)
    assert r.status_code == 200 and "Ida Esperta is invited" in page_text(r), field_errors(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ida@example.eu"))
        assert user.roles == {Role.EVALUATOR} and user.password_hash is None and user.locale == "it"
        profile = db.session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == user.id))
        assert [d.code for d in profile.s3_domains] == ["ict"] and profile.active
        assert count(AccountToken, AccountToken.user_id == user.id, AccountToken.purpose == "invitation") == 1
        assert {"user.created", "user.invited", "evaluator.added"} <= set(actions())
    [mail] = mails_to(outbox, "ida@example.eu")
    assert "/password/reset/" in body(mail) and "Gentile Ida Esperta" in body(mail)  # in her language


def test_inviting_someone_already_in_the_pool_is_refused_clearly(app, world, staff_client, outbox):
    r = post(staff_client, "/staff/evaluators", {"full_name": "Eva Again", "email": "EVA@example.eu"})
    assert r.status_code == 200
    assert any("already in the pool of evaluators" in e for e in field_errors(r))
    assert 'value="Eva Again"' in page_text(r)  # what was typed is kept
    with app.app_context():
        assert count(User, User.email == "eva@example.eu") == 1
    assert outbox() == []


def test_inviting_an_existing_person_adds_the_evaluator_role(app, world, staff_client, outbox):
    r = post(staff_client, "/staff/evaluators", {"full_name": "Owner Zero", "email": "owner0@example.eu"},
             follow_redirects=True)
    assert "they are now an evaluator" in page_text(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "owner0@example.eu"))
        assert user.roles == {Role.APPLICANT, Role.EVALUATOR}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.roles_changed"))
        assert entry.detail["after"] == ["applicant", "evaluator"] and entry.actor_id == world["staff"]
    assert len(mails_to(outbox, "owner0@example.eu")) == 1


def test_an_invitation_without_name_or_with_a_bad_address_saves_nothing(app, world, staff_client, outbox):
    r = post(staff_client, "/staff/evaluators", {"full_name": "", "email": "not-an-address"})
    assert r.status_code == 200
    errors = field_errors(r)
    assert any("name" in e for e in errors) and any("e-mail address" in e for e in errors)
    with app.app_context():
        assert count(User) == 8  # staff, three evaluators, four applicants
    assert outbox() == []


def test_evaluators_and_applicants_cannot_open_the_pool(app, world):
    assert client_of(app, "eva@example.eu").get("/staff/evaluators").status_code == 403
    assert client_of(app, "owner1@example.eu").get("/staff/evaluators").status_code == 403


def test_staff_edit_a_profile_and_bad_input_saves_nothing(app, world, staff_client):
    url = f"/staff/evaluators/{world['Franco']}"
    r = post(staff_client, url, {"expertise": "Power electronics", "languages": ["it"], "max_assignments": "0",
                                 "active": "y"})
    assert r.status_code == 200 and any("1 to 500" in e for e in field_errors(r))
    with app.app_context():
        assert db.session.scalar(select(EvaluatorProfile).where(
            EvaluatorProfile.user_id == world["Franco"])).expertise is None
    r = post(staff_client, url, {"expertise": "Power electronics", "languages": ["it"], "max_assignments": "5"},
             follow_redirects=True)
    assert "is saved" in page_text(r)
    with app.app_context():
        profile = db.session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == world["Franco"]))
        assert (profile.expertise, profile.languages, profile.max_assignments, profile.active) == (
            "Power electronics", ["it"], 5, False)
        assert profile.s3_domains == []
        assert "evaluator.profile_saved" in actions()
    assert staff_client.get("/staff/evaluators/999999").status_code == 404


# --- the proposal: propose, adjust, confirm ----------------------------------------------


def test_propose_adjust_confirm_and_notify(app, world, staff_client, outbox):
    url = f"/staff/calls/{world['call']}/assignments"
    first_app = world["apps"][0]
    r = staff_client.get(url)
    html = page_text(r)
    assert r.status_code == 200
    pairs = proposed_pairs(html)
    assert len(pairs) == 8  # four eligible applications, two evaluators each
    assert all(a != world["ineligible"] for a, _ in pairs)
    assert (first_app, world["Eva"]) not in pairs  # Eva belongs to the first applicant
    assert sorted(a for a, _ in pairs) == sorted(world["apps"] * 2)
    loads = sorted(sum(1 for _, e in pairs if e == world[n]) for n in ("Eva", "Franco", "Giulia"))
    assert max(loads) - min(loads) <= 1

    # Staff take one proposed evaluator off an application: another one replaces them.
    removed = next(p for p in pairs if p[0] == world["apps"][1])
    html = page_text(staff_client.get(url, query_string={"exclude": f"{removed[0]}-{removed[1]}"}))
    adjusted = proposed_pairs(html)
    assert removed not in adjusted and len(adjusted) == 8

    # Adding Eva to the first application is refused, with the reason.
    html = page_text(staff_client.get(url, query_string={"exclude": f"{removed[0]}-{removed[1]}",
                                                         "pin": f"{first_app}-{world['Eva']}"}))
    assert "Eva Valutatrice cannot evaluate Impresa 0 S.r.l." in html
    assert "member of the applicant organisation" in html
    assert (first_app, world["Eva"]) not in proposed_pairs(html)

    # Confirm what is shown.
    data = {"pair": [f"{a}-{e}" for a, e in adjusted]}
    r = post(staff_client, url, data, page=url + f"?exclude={removed[0]}-{removed[1]}", follow_redirects=True)
    assert "8 assignments are confirmed" in page_text(r)
    with app.app_context():
        rows = list(db.session.scalars(select(Assignment)))
        assert sorted((a.application_id, a.evaluator_id) for a in rows) == sorted(adjusted)
        assert {a.status for a in rows} == {"assigned"} and {a.assigned_by_id for a in rows} == {world["staff"]}
        assert actions("assignments").count("assignment.created") == 8
        assert "call.assignments_confirmed" in actions("calls")
    for name in ("Eva", "Franco", "Giulia"):
        mails = mails_to(outbox, f"{name.lower()}@example.eu")
        assert len(mails) == 1, name  # one e-mail each, whatever the number of applications
        mine = sum(1 for _, e in adjusted if e == world[name])
        assert f"{mine} applications of the call “Accelerator 2027”" in body(mails[0])
        assert "Please submit your evaluations by" in body(mails[0])
    # Everything is covered now.
    assert "Every eligible application has its 2 evaluators" in page_text(staff_client.get(url))


def test_confirm_is_refused_before_the_call_closes_and_for_a_conflicted_pair(app, world, staff_client):
    url = f"/staff/calls/{world['call']}/assignments"
    r = post(staff_client, url, {"pair": [f"{world['apps'][0]}-{world['Eva']}", f"{world['apps'][0]}-{world['Franco']}"]},
             follow_redirects=True)
    assert "member of the applicant organisation" in page_text(r)
    with app.app_context():
        assert count(Assignment) == 0
        from opsapp.calls.models import Call

        db.session.get(Call, world["call"]).status = "open"
        db.session.commit()
    r = post(staff_client, url, {"pair": [f"{world['apps'][1]}-{world['Franco']}"]}, follow_redirects=True)
    assert "once the call is closed" in page_text(r)
    assert "Evaluators are assigned once the call is closed" in page_text(staff_client.get(url))
    with app.app_context():
        assert count(Assignment) == 0


def test_confirm_refuses_more_evaluators_than_required(app, world, staff_client):
    url = f"/staff/calls/{world['call']}/assignments"
    a = world["apps"][1]
    r = post(staff_client, url, {"pair": [f"{a}-{world['Eva']}", f"{a}-{world['Franco']}", f"{a}-{world['Giulia']}"]},
             follow_redirects=True)
    assert "already has the evaluators it needs" in page_text(r)
    with app.app_context():
        assert count(Assignment) == 0


def test_an_impossible_application_is_explained(app, world, staff_client):
    with app.app_context():
        from opsapp.accounts.models import Organisation

        # Franco joins the first applicant too: only Giulia is left for it.
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.legal_name == "Impresa 0 S.r.l."))
        db.session.add(Membership(user_id=world["Franco"], organisation_id=org_id, role="member"))
        db.session.commit()
    html = page_text(staff_client.get(f"/staff/calls/{world['call']}/assignments"))
    assert "1 application cannot get all its evaluators" in html
    assert "only 1 evaluators can take it (2 have a conflict of interest)" in html


# --- declarations and conflicts ---------------------------------------------------------


def assign_all(app, world, staff_client):
    url = f"/staff/calls/{world['call']}/assignments"
    pairs = proposed_pairs(page_text(staff_client.get(url)))
    post(staff_client, url, {"pair": [f"{a}-{e}" for a, e in pairs]})
    return pairs


def test_a_declared_conflict_removes_the_application_and_a_replacement_is_proposed(app, world, staff_client, outbox):
    pairs = assign_all(app, world, staff_client)
    # Not the first application: Eva belongs to it, so it would have nobody left.
    application_id, evaluator_id = next(p for p in pairs if p[1] == world["Giulia"] and p[0] != world["apps"][0])
    with app.app_context():
        assignment = assignment_of(application_id, evaluator_id)
    giulia = client_of(app, "giulia@example.eu")
    declaration = f"/evaluations/{assignment.id}/declaration"
    html = page_text(giulia.get(declaration))
    assert "no family, financial or professional link" in html
    r = post(giulia, declaration, {"declaration": "conflict", "reason": ""})
    assert any("what the conflict of interest is" in e for e in field_errors(r))
    r = post(giulia, declaration, {"declaration": "conflict", "reason": "I advised this company last year."},
             follow_redirects=True)
    assert "taken off your list" in page_text(r)
    with app.app_context():
        changed = db.session.get(Assignment, assignment.id)
        assert changed.status == "conflict" and changed.conflict_reason == "I advised this company last year."
        assert changed.declared_at is not None
    staff_mail = mails_to(outbox, "staff@example.eu")
    assert len(staff_mail) == 1 and "I advised this company last year." in body(staff_mail[0])
    # She can no longer open it.
    assert giulia.get(f"/evaluations/{assignment.id}").status_code == 403
    assert giulia.get(declaration).status_code == 403

    url = f"/staff/calls/{world['call']}/assignments"
    html = page_text(staff_client.get(url))
    assert "Conflicts of interest to replace" in html and "Propose a replacement" in html
    html = page_text(staff_client.get(url, query_string={"application": application_id}))
    replacement = proposed_pairs(html)
    assert len(replacement) == 1 and replacement[0][0] == application_id
    assert replacement[0][1] not in (world["Giulia"],)
    post(staff_client, url, {"pair": [f"{a}-{e}" for a, e in replacement]})
    with app.app_context():
        assert assignment_of(*replacement[0]).status == "assigned"
    assert "Conflicts of interest to replace" not in page_text(staff_client.get(url))


def test_declaring_no_conflict_opens_the_application(app, world, staff_client):
    pairs = assign_all(app, world, staff_client)
    application_id, _ = next(p for p in pairs if p[1] == world["Franco"])
    with app.app_context():
        assignment = assignment_of(application_id, world["Franco"])
    franco = client_of(app, "franco@example.eu")
    r = franco.get(f"/evaluations/{assignment.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/declaration")
    r = post(franco, f"/evaluations/{assignment.id}/declaration", {"declaration": "none"}, follow_redirects=True)
    assert "You can now read the application and score it" in page_text(r)
    assert "Sensors for smart textiles." in page_text(r)  # the answer
    with app.app_context():
        assert db.session.get(Assignment, assignment.id).status == "accepted"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignments.status_changed"))
        assert entry.detail["new"] == "accepted" and entry.detail["declaration"] == "no_conflict"
    # A second "no conflict" declaration (a crafted POST) changes nothing.
    post(franco, f"/evaluations/{assignment.id}/declaration", {"declaration": "none"},
         page=f"/evaluations/{assignment.id}")
    with app.app_context():
        assert db.session.get(Assignment, assignment.id).status == "accepted"
        assert actions("assignments").count("assignments.status_changed") == 1


# --- scoring ---------------------------------------------------------------------------


@pytest.fixture
def scoring(app, world):
    """Franco declared no conflict on the second application; Giulia submitted hers on it."""
    with app.app_context():
        from opsapp.calls.models import Application

        application = db.session.get(Application, world["apps"][1])
        mine = make_assignment(application, db.session.get(User, world["Franco"]), status=AssignmentStatus.ACCEPTED)
        other = make_assignment(application, db.session.get(User, world["Giulia"]), scores=[2, 4.5, 3],
                                comment="Unmistakable comment of the other evaluator.")
        criteria = [c.id for c in application.call.criteria]
        db.session.commit()
        return {"assignment": mine.id, "other": other.id, "criteria": criteria}


def score_form(criteria, scores, comments) -> dict:
    data = {}
    for cid, value, comment in zip(criteria, scores, comments, strict=True):
        data[f"score_{cid}"] = value
        data[f"comment_{cid}"] = comment
    return data


def stored_scores(assignment_id) -> dict:
    return {s.criterion_id: (s.value, s.comment) for s in db.session.scalars(
        select(Score).where(Score.assignment_id == assignment_id))}


def test_bad_scores_are_refused_with_messages_and_nothing_saved_for_them(app, world, scoring):
    franco = client_of(app, "franco@example.eu")
    url = f"/evaluations/{scoring['assignment']}"
    c1, c2, c3 = scoring["criteria"]
    for bad, message in (("5.5", "from 0 to 5 in half points"), ("3.3", "from 0 to 5 in half points"),
                         ("-1", "from 0 to 5 in half points"), ("excellent", "Enter a number")):
        r = post(franco, url, {**score_form(scoring["criteria"], [bad, "4", ""], ["Fine", "", ""]),
                               "action": "draft"})
        assert r.status_code == 200
        assert any(message in e for e in field_errors(r)), bad
        assert f'value="{bad}"' in page_text(r)  # what was typed is kept
        with app.app_context():
            stored = stored_scores(scoring["assignment"])
            assert stored[c1][0] is None and stored[c1][1] == "Fine"  # the comment is valid, the score is not
            assert stored[c2][0] == Decimal("4")
            assert c3 not in stored or stored[c3] == (None, None)


def test_a_draft_keeps_its_values_and_a_submission_needs_every_score_and_comment(app, world, scoring):
    franco = client_of(app, "franco@example.eu")
    url = f"/evaluations/{scoring['assignment']}"
    c1, c2, c3 = scoring["criteria"]
    r = post(franco, url, {**score_form(scoring["criteria"], ["3,5", "4", ""], ["Good team", "", ""]),
                           "action": "draft"}, follow_redirects=True)
    html = page_text(r)
    assert "The draft is saved" in html
    assert 'value="3.5"' in html and 'value="4"' in html and "Good team" in html
    # Submitting with a missing comment and a missing score changes nothing.
    r = post(franco, url, {**score_form(scoring["criteria"], ["3.5", "4", ""], ["Good team", "", "Solid plan"]),
                           "action": "submit"})
    errors = field_errors(r)
    assert any("Write a comment" in e for e in errors) and any("Give a score" in e for e in errors)
    assert "is not submitted" in page_text(r)
    with app.app_context():
        assert db.session.get(Assignment, scoring["assignment"]).status == "accepted"
        assert stored_scores(scoring["assignment"])[c1] == (Decimal("3.5"), "Good team")
        assert c3 not in stored_scores(scoring["assignment"])
    # Before submitting, the other evaluator's scores are nowhere.
    assert "Unmistakable comment" not in page_text(franco.get(url))

    full = score_form(scoring["criteria"], ["3.5", "4", "2.5"], ["Good team", "Real market", "Thin plan"])
    r = post(franco, url, {**full, "action": "submit"}, follow_redirects=True)
    html = page_text(r)
    assert "Your evaluation is submitted" in html
    with app.app_context():
        assignment = db.session.get(Assignment, scoring["assignment"])
        assert assignment.status == "submitted" and assignment.submitted_at is not None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignments.status_changed",
                                                           AuditEntry.object_id == str(assignment.id)))
        assert entry.detail["new"] == "submitted" and entry.detail["scores"][str(c3)] == ["2.5", "Thin plan"]
    # Now the other evaluator's scores are shown, anonymised.
    assert "Unmistakable comment of the other evaluator." in html and "Evaluator 1" in html
    assert "Giulia" not in html

    # A second submission, or a crafted draft, changes nothing.
    token = csrf_from(page_text(franco.get("/evaluations")))
    for action in ("submit", "draft"):
        r = franco.post(url, data={**score_form(scoring["criteria"], ["0", "0", "0"], ["x", "y", "z"]),
                                   "action": action, "csrf_token": token}, follow_redirects=True)
        assert "can no longer change" in page_text(r)
    with app.app_context():
        assert stored_scores(scoring["assignment"])[c1] == (Decimal("3.5"), "Good team")


def test_staff_read_every_evaluation_and_cannot_write_one(app, world, scoring, staff_client):
    url = f"/evaluations/{scoring['other']}"
    html = page_text(staff_client.get(url))
    assert "Unmistakable comment of the other evaluator." in html and "Giulia Valutatrice" in html
    assert 'name="action"' not in html
    token = csrf_from(html)
    r = staff_client.post(url, data={"csrf_token": token, "action": "submit"})
    assert r.status_code == 403


# --- removal, reminders, progress -------------------------------------------------------


def test_remove_an_assignment_but_never_a_submitted_one(app, world, scoring, staff_client, outbox):
    url = f"/staff/calls/{world['call']}/assignments"
    r = post(staff_client, f"{url}/{scoring['other']}/remove", {}, page=url, follow_redirects=True)
    assert "cannot be removed" in page_text(r)
    r = post(staff_client, f"{url}/{scoring['assignment']}/remove", {}, page=url, follow_redirects=True)
    assert "is taken off this application" in page_text(r)
    with app.app_context():
        assert db.session.get(Assignment, scoring["assignment"]).status == "removed"
        assert db.session.get(Assignment, scoring["other"]).status == "submitted"
    assert len(mails_to(outbox, "franco@example.eu")) == 1
    assert client_of(app, "franco@example.eu").get(f"/evaluations/{scoring['assignment']}").status_code == 403


def test_reminders_reach_only_evaluators_with_pending_work(app, world, scoring, staff_client, outbox):
    url = f"/staff/calls/{world['call']}/assignments"
    r = post(staff_client, f"{url}/remind", {}, page=url, follow_redirects=True)
    assert "A reminder was sent to 1 evaluator." in page_text(r)
    assert [m["To"] for m in outbox()] == ["franco@example.eu"]
    assert "1 application to score" in body(outbox()[0])
    with app.app_context():
        assert db.session.get(Assignment, scoring["assignment"]).last_reminded_at is not None
        assert db.session.get(Assignment, scoring["other"]).last_reminded_at is None
        assert "call.evaluation_reminders_sent" in actions("calls")


def test_progress_per_evaluator_and_per_application(app, world, scoring, staff_client):
    with app.app_context():
        from opsapp.calls.models import Application

        # A third evaluator on the second application, with scores far from Giulia's: divergent.
        application = db.session.get(Application, world["apps"][1])
        make_assignment(application, db.session.get(User, world["Eva"]), scores=[5, 4.5, 3])
        db.session.commit()
    html = page_text(staff_client.get(f"/staff/calls/{world['call']}/assignments"))
    assert "0 of 1 done" in html  # Franco
    assert html.count("1 of 1 done") == 2  # Giulia, Eva
    assert "2 of 2" in html  # two evaluations submitted on the second application
    assert "Divergent scores" in html and 'bg-warning text-dark">Yes' in html


def test_my_evaluations_are_grouped_with_progress_and_the_home_panel(app, world, scoring):
    with app.app_context():
        from opsapp.calls.models import Application

        franco = db.session.get(User, world["Franco"])
        make_assignment(db.session.get(Application, world["apps"][2]), franco)
        make_assignment(db.session.get(Application, world["apps"][3]), franco, scores=[3, 3, 3])
        db.session.commit()
    client = client_of(app, "franco@example.eu")
    html = page_text(client.get("/evaluations"))
    assert "1 of 3 done" in html
    for heading in ("To declare", "To score", "Done"):
        assert heading in html
    assert "Impresa 2 S.r.l." in html  # not blind: the applicant's name before declaring
    home = page_text(client.get("/"))
    assert "1 application to declare" in home and "1 to score" in home and "1 of 3 done" in home
    assert "My evaluations" in home  # the navigation entry


# --- queries do not grow with the rows ---------------------------------------------------


class QueryCounter:
    def __init__(self, app):
        self.app, self.count = app, 0

    def __enter__(self):
        from sqlalchemy import event

        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *args, **kwargs):
        self.count += 1

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)


def _add_applications(app, world, n):
    with app.app_context():
        from opsapp.calls.models import Call

        call = db.session.get(Call, world["call"])
        evaluators = [db.session.get(User, world[name]) for name in ("Franco", "Giulia")]
        for _ in range(n):
            org = make_organisation(owner=make_user(roles=[Role.APPLICANT]))
            application = make_application(call, org, eligibility=str(Eligibility.ELIGIBLE))
            make_assignment(application, evaluators[0], scores=[3, 3, 3])
            make_assignment(application, evaluators[1], status=AssignmentStatus.ACCEPTED)
        db.session.commit()


def test_the_pages_queries_do_not_grow_with_the_rows(app, world, staff_client):
    franco = client_of(app, "franco@example.eu")
    pages = [(staff_client, f"/staff/calls/{world['call']}/assignments"), (staff_client, "/staff/evaluators"),
             (franco, "/evaluations"), (franco, "/")]
    _add_applications(app, world, 2)
    before = {}
    for client, url in pages:
        with QueryCounter(app) as counter:
            assert client.get(url).status_code == 200
        before[url] = counter.count
    _add_applications(app, world, 10)
    for client, url in pages:
        with QueryCounter(app) as counter:
            assert client.get(url).status_code == 200
        assert counter.count == before[url], url


def test_a_conflict_can_still_be_declared_while_scoring(app, world, scoring, outbox):
    franco = client_of(app, "franco@example.eu")
    url = f"/evaluations/{scoring['assignment']}"
    declaration = f"{url}/declaration"
    assert "You recognise a conflict of interest?" in page_text(franco.get(url))
    r = post(franco, declaration, {"declaration": "conflict", "reason": "  "}, page=url, follow_redirects=True)
    assert "what the conflict of interest is" in page_text(r)
    r = post(franco, declaration, {"declaration": "none"}, page=url, follow_redirects=True)
    assert "already declared no conflict" in page_text(r)
    with app.app_context():
        assert db.session.get(Assignment, scoring["assignment"]).status == "accepted"
    r = post(franco, declaration, {"declaration": "conflict", "reason": "I recognised my cousin's company."},
             page=url, follow_redirects=True)
    assert "taken off your list" in page_text(r)
    with app.app_context():
        assignment = db.session.get(Assignment, scoring["assignment"])
        assert assignment.status == "conflict" and assignment.conflict_reason == "I recognised my cousin's company."
    assert franco.get(url).status_code == 403
    assert len(mails_to(outbox, "staff@example.eu")) == 1
