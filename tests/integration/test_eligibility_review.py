"""Staff confirm or override the eligibility of submitted applications, with a reason that is
kept and audited; nobody else can, and nothing changes on a draft, a withdrawn application
or a decided call. Real database, CSRF on."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from opsapp.accounts.models import User
from opsapp.calls.models import Application, Call, CallStatus
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_application, make_call

FAILED_SEAT = [{"code": "seat_in_region", "passed": False, "reason": "seat_elsewhere",
                "params": {"region": "ITC1", "seat": "ITC4"}},
               {"code": "sme", "passed": True, "reason": "is_sme", "params": {"size_class": "small"}}]
ALL_MET = [{"code": "sme", "passed": True, "reason": "is_sme", "params": {"size_class": "micro"}}]


def post(client, path, data=None, **kwargs):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def field_errors(response) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>([^<]*)<',
                                                 response.get_data(as_text=True))]


def decisions(application_id) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "applications.eligibility_decided", AuditEntry.object_id == str(application_id))
        .order_by(AuditEntry.id)))


@pytest.fixture
def world(app):
    with app.app_context():
        applicant = make_user("a@example.eu")
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        make_user("admin@example.eu", roles=[Role.ADMIN])
        make_user("eva@example.eu", roles=[Role.EVALUATOR])
        call = make_call(eligibility_rules={"sme": {}, "seat_in_region": {}})
        flagged_org = make_organisation(owner=applicant, legal_name="Fuori Regione S.r.l.", nuts2_region="ITC4")
        fine_org = make_organisation(legal_name="In Regione S.r.l.")
        draft_org = make_organisation(legal_name="Bozza S.r.l.")
        flagged = make_application(call, flagged_org, eligibility_flagged=True, eligibility_results=FAILED_SEAT)
        fine = make_application(call, fine_org, eligibility_results=ALL_MET)
        draft = make_application(call, draft_org, submitted=False)
        db.session.commit()
        return {"call": call.id, "flagged": flagged.id, "fine": fine.id, "draft": draft.id}


@pytest.fixture
def staff(app, world):
    client = app.test_client()
    login(client, "staff@example.eu")
    return client


def test_staff_see_the_failed_rule_and_the_decision_form(app, world, staff):
    page = staff.get(f"/applications/{world['flagged']}").get_data(as_text=True)
    assert "The seat (ITC4) is outside the region (ITC1)" in page
    assert "Confirm or override the eligibility" in page and "Flagged" in page


def test_confirming_eligible_despite_a_failed_rule_needs_a_reason_and_is_audited(app, world, staff):
    r = post(staff, f"/staff/applications/{world['flagged']}/eligibility", {"decision": "eligible", "reason": " "})
    assert r.status_code == 422
    assert "Write the reason: it is kept with the decision." in field_errors(r)
    with app.app_context():
        application = db.session.get(Application, world["flagged"])
        assert application.eligibility == "pending" and application.eligibility_decided_at is None
        assert decisions(world["flagged"]) == []
    reason = "Signed a lease in Torino on 2 March; seat moves before the programme starts."
    r = post(staff, f"/staff/applications/{world['flagged']}/eligibility",
             {"decision": "eligible", "reason": reason})
    assert r.status_code == 302 and r.location.endswith(f"/applications/{world['flagged']}")
    page = staff.get(r.location).get_data(as_text=True)
    assert "Eligibility recorded: Eligible." in page and reason in page
    with app.app_context():
        application = db.session.get(Application, world["flagged"])
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff@example.eu"))
        assert (application.eligibility, application.eligibility_reason) == ("eligible", reason)
        assert application.eligibility_decided_by_id == staff_id and application.eligibility_decided_at
        assert application.eligibility_flagged  # the automatic result stays on record
        [entry] = decisions(world["flagged"])
        assert entry.actor_id == staff_id
        assert entry.detail["decision"] == "eligible" and entry.detail["reason"] == reason
        assert entry.detail["before"] == "pending" and entry.detail["overrides_check"] is True
    # The applicant reads the decision and its reason on the page of the application.
    applicant = app.test_client()
    login(applicant, "a@example.eu")
    page = applicant.get(f"/applications/{world['flagged']}").get_data(as_text=True)
    assert reason in page and "Eligible" in page and "Stella Staff" not in page


def test_excluding_an_application_that_passed_every_rule_is_an_override(app, world, staff):
    r = post(staff, f"/staff/applications/{world['fine']}/eligibility",
             {"decision": "ineligible", "reason": "The VAT number belongs to a large group (linked enterprise)."})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Application, world["fine"]).eligibility == "ineligible"
        [entry] = decisions(world["fine"])
        assert entry.detail["overrides_check"] is True and entry.detail["flagged"] is False
    assert "large group" in staff.get(f"/applications/{world['fine']}").get_data(as_text=True)


def test_a_decision_can_be_changed_and_both_stay_in_the_log(app, world, staff):
    post(staff, f"/staff/applications/{world['fine']}/eligibility", {"decision": "eligible", "reason": "Checked."})
    post(staff, f"/staff/applications/{world['fine']}/eligibility",
         {"decision": "ineligible", "reason": "Register shows a parent company."})
    with app.app_context():
        assert [e.detail["decision"] for e in decisions(world["fine"])] == ["eligible", "ineligible"]
        assert [e.detail["before"] for e in decisions(world["fine"])] == ["pending", "eligible"]


def test_a_decision_without_choice_is_refused_with_its_message(app, world, staff):
    r = post(staff, f"/staff/applications/{world['fine']}/eligibility", {"decision": "maybe", "reason": "Hmm."})
    assert r.status_code == 422 and field_errors(r)
    with app.app_context():
        assert db.session.get(Application, world["fine"]).eligibility == "pending"


def test_a_draft_has_no_eligibility_decision(app, world, staff):
    r = post(staff, f"/staff/applications/{world['draft']}/eligibility",
             {"decision": "eligible", "reason": "Looks fine."}, follow_redirects=True)
    assert "Only a submitted application" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, world["draft"]).eligibility == "pending"
        assert decisions(world["draft"]) == []


def test_a_decided_call_keeps_its_eligibility(app, world, staff):
    with app.app_context():
        db.session.get(Call, world["call"]).status = CallStatus.DECIDED.value
        db.session.commit()
    r = post(staff, f"/staff/applications/{world['fine']}/eligibility",
             {"decision": "ineligible", "reason": "Too late."}, follow_redirects=True)
    assert "eligibility can no longer change" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, world["fine"]).eligibility == "pending"


@pytest.mark.parametrize("email", ["a@example.eu", "eva@example.eu"])
def test_only_staff_and_admin_decide(app, world, email):
    client = app.test_client()
    login(client, email)
    r = post(client, f"/staff/applications/{world['flagged']}/eligibility",
             {"decision": "eligible", "reason": "I say so."})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Application, world["flagged"]).eligibility == "pending"
    # The applicant reads the page of their application but gets no decision form.
    page = client.get(f"/applications/{world['flagged']}")
    if email == "a@example.eu":
        assert page.status_code == 200 and "Confirm or override" not in page.get_data(as_text=True)
    else:
        assert page.status_code == 403


def test_admin_may_decide_too(app, world):
    client = app.test_client()
    login(client, "admin@example.eu")
    r = post(client, f"/staff/applications/{world['fine']}/eligibility", {"decision": "eligible", "reason": "OK."})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Application, world["fine"]).eligibility == "eligible"


def test_the_pending_count_on_the_staff_home_follows_the_decisions(app, world, staff):
    home = staff.get("/").get_data(as_text=True)
    assert "Eligibility to confirm" in home and "2 applications to confirm" in home
    post(staff, f"/staff/applications/{world['fine']}/eligibility", {"decision": "eligible", "reason": "OK."})
    assert "1 application to confirm" in staff.get("/").get_data(as_text=True)
    page = staff.get(f"/staff/calls/{world['call']}/applications?eligibility=pending&status=submitted")
    body = page.get_data(as_text=True)
    assert "1 application, 1 flagged as ineligible" in body and "Fuori Regione" in body
    assert "In Regione S.r.l." not in body
