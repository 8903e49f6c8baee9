"""Call design through the browser's eyes: programmes and editions, a call's settings with
dates in its time zone, the questions and criteria pages, the preview, publishing (the
list of what is missing, opening on time), frozen rules, copying into the next edition,
and who may open the staff pages. Real database, CSRF on, no mocks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from opsapp.calls.models import (
    BaselineKey,
    Call,
    CallStatus,
    Criterion,
    Edition,
    Programme,
    Question,
    QuestionKind,
)
from opsapp.calls.scoring import CallRules, CriterionRule
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_call, make_edition

# --- helpers ---------------------------------------------------------------------------


def post(client, path, data, page=None, **kwargs):
    """POST like a browser: the CSRF token comes from the page the form is on."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', text(response))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def local(dt: datetime, fmt="%Y-%m-%dT%H:%M") -> str:
    return to_local(dt, "Europe/Rome").strftime(fmt)


def call_form(edition_id: int, **changes) -> dict:
    """The settings form as a member of staff fills it in (times in Europe/Rome)."""
    data = {
        "title": "Business Accelerator 2027", "summary": "Coaching and investors for start-ups.",
        "description": "The call selects start-ups with a product on the market.", "edition_id": str(edition_id),
        "audience": "companies", "timezone": "Europe/Rome", "opens_at": "2027-02-01T09:00",
        "closes_at": "2027-03-10T12:00", "places": "10", "eligible_kinds": ["startup", "sme"],
        "rule_organisation_kind": "y", "rule_sme": "y", "rule_seat_in_region": "y",
        "startup_age_max_years": "5", "business_readiness_min_clients": "1", "deminimis_ceiling": "300000",
        "evaluators_per_application": "3", "evaluation_deadline": "", "aggregation": "mean", "divergence": "2",
        "overall_threshold": "",
    }
    data.update(changes)
    return data


def question_form(**changes) -> dict:
    data = {"action": "save", "question_id": "", "kind": "text", "label": "Name of the product", "help_text": "",
            "required": "y", "page": "1", "max_length": "", "min_value": "", "max_value": "", "choices": "",
            "max_file_mb": ""}
    data.update(changes)
    return data


def criterion_form(**changes) -> dict:
    data = {"action": "save", "criterion_id": "", "name": "Team", "description": "The people behind it.",
            "weight": "1", "max_score": "5", "threshold": "3"}
    data.update(changes)
    return data


def publishable_call(status=CallStatus.DRAFT, **fields) -> Call:
    """A draft with everything publishing needs (criteria, questions, dates ahead)."""
    fields.setdefault("opens_in", timedelta(days=-1))
    fields.setdefault("closes_in", timedelta(days=30))
    call = make_call(status, **fields)
    call.published_at = None
    db.session.flush()
    return call


@pytest.fixture
def people(app):
    with app.app_context():
        make_s3_domains()
        staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Sara Staff")
        make_user("colleague@example.eu", roles=[Role.STAFF], full_name="Carlo Colleague")
        make_user("admin@example.eu", roles=[Role.ADMIN])
        applicant = make_user("applicant@example.eu", roles=[Role.APPLICANT])
        make_organisation(owner=applicant, legal_name="Alfa Robotica S.r.l.")
        make_user("buyer@example.eu", roles=[Role.BUYER])
        make_user("evaluator@example.eu", roles=[Role.EVALUATOR])
        hub = make_organisation(kind="innovation_hub", legal_name="Torino Innovation Hub")
        sme = make_organisation(kind="sme", legal_name="Not A Hub S.r.l.")
        edition = make_edition(2027)
        db.session.commit()
        return {"staff": staff.id, "hub": hub.id, "sme": sme.id, "edition": edition.id}


@pytest.fixture
def staff(client, people):
    login(client, "staff@example.eu")
    return client


# --- who may open the staff pages ------------------------------------------------------


@pytest.mark.parametrize("email", ["applicant@example.eu", "buyer@example.eu", "evaluator@example.eu"])
def test_people_who_are_not_staff_get_403_on_every_design_page(app, client, people, email):
    with app.app_context():
        call_id = make_call(CallStatus.DRAFT).id
        db.session.commit()
    login(client, email)
    for path in ("/staff/calls", "/staff/calls/new", "/staff/editions", f"/staff/calls/{call_id}",
                 f"/staff/calls/{call_id}/edit", f"/staff/calls/{call_id}/questions",
                 f"/staff/calls/{call_id}/criteria", f"/staff/calls/{call_id}/preview"):
        assert client.get(path).status_code == 403, path
    token = csrf_from(text(client.get("/")))
    for action in ("publish", "copy", "status"):
        r = client.post(f"/staff/calls/{call_id}/{action}", data={"csrf_token": token, "action": "close"})
        assert r.status_code == 403, action
    with app.app_context():
        assert count(Call) == 1 and db.session.get(Call, call_id).published_at is None


def test_anonymous_visitors_are_sent_to_sign_in(client, people):
    r = client.get("/staff/calls")
    assert r.status_code == 302 and "/login" in r.location


def test_the_navigation_shows_calls_and_editions_to_staff_and_calls_to_applicants(client, people):
    login(client, "staff@example.eu")
    page = text(client.get("/"))
    assert 'href="/staff/calls"' in page and 'href="/staff/editions"' in page
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(client, "applicant@example.eu")
    page = text(client.get("/"))
    assert 'href="/calls"' in page and 'href="/staff/calls"' not in page


# --- programmes and editions -----------------------------------------------------------


def test_editions_page_makes_the_two_programmes_and_adds_an_edition(app, staff, people):
    page = text(staff.get("/staff/editions"))
    assert "Business Accelerator" in page and "Meet the Buyer" in page
    with app.app_context():
        mtb = db.session.scalar(select(Programme).where(Programme.kind == "meet_the_buyer"))
        assert mtb is not None and mtb.name_it
        mtb_id = mtb.id
    r = post(staff, "/staff/editions", {"edition_id": "", "programme_id": str(mtb_id), "year": "2027",
                                        "implementing_organisation_id": str(people["hub"]), "budget": "180000,50"})
    assert r.status_code == 302
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.programme_id == mtb_id))
        assert (edition.year, edition.implementing_organisation_id, edition.budget) == (
            2027, people["hub"], Decimal("180000.50"))
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "editions")) \
            == "editions.created"
    page = text(staff.get("/staff/editions"))
    assert "Torino Innovation Hub" in page and "EUR 180,000.50" in page


def test_a_second_edition_of_the_same_year_gets_a_clear_error_and_nothing_is_saved(app, staff, people):
    with app.app_context():
        programme_id = db.session.get(Edition, people["edition"]).programme_id
    r = post(staff, "/staff/editions", {"edition_id": "", "programme_id": str(programme_id), "year": "2027",
                                        "budget": "90000"})
    assert r.status_code == 200
    assert any("already has an edition 2027" in e for e in errors(r))
    assert 'value="90000"' in text(r)  # what was typed is kept
    with app.app_context():
        assert count(Edition) == 1


def test_edition_bad_input_keeps_what_was_typed(app, staff, people):
    with app.app_context():
        programme_id = db.session.get(Edition, people["edition"]).programme_id
    r = post(staff, "/staff/editions", {"edition_id": "", "programme_id": str(programme_id), "year": "1999",
                                        "implementing_organisation_id": str(people["sme"]), "budget": "-5"})
    assert r.status_code == 200
    problems = " ".join(errors(r))
    assert "between 2000 and 2100" in problems
    assert "Not a valid choice" in problems  # an SME cannot deliver an edition
    assert "Write the amount" in problems
    assert 'value="1999"' in text(r) and 'value="-5"' in text(r)
    with app.app_context():
        assert count(Edition) == 1


def test_an_edition_can_be_changed(app, staff, people):
    with app.app_context():
        programme_id = db.session.get(Edition, people["edition"]).programme_id
    assert "Change the edition 2027" in text(staff.get(f"/staff/editions?edition={people['edition']}"))
    r = post(staff, "/staff/editions", {"edition_id": str(people["edition"]), "programme_id": str(programme_id),
                                        "year": "2027", "implementing_organisation_id": str(people["hub"]),
                                        "budget": "300000"})
    assert r.status_code == 302
    with app.app_context():
        edition = db.session.get(Edition, people["edition"])
        assert edition.budget == Decimal("300000.00") and edition.implementing_organisation_id == people["hub"]


# --- the call's settings ---------------------------------------------------------------


def test_a_new_call_is_a_draft_with_the_baseline_block_and_its_times_in_its_zone(app, staff, people):
    r = post(staff, "/staff/calls/new", call_form(people["edition"]))
    assert r.status_code == 302
    with app.app_context():
        call = db.session.scalar(select(Call))
        assert call.status == CallStatus.DRAFT and call.published_at is None
        # 12:00 in Rome on 10 March (winter time, UTC+1) is 11:00 UTC.
        assert call.closes_at == datetime(2027, 3, 10, 11, 0, tzinfo=UTC)
        assert call.opens_at == datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
        assert call.eligible_kinds == ["startup", "sme"]
        assert call.eligibility_rules == {"organisation_kind": {}, "sme": {}, "seat_in_region": {}}
        baseline = [q for q in call.questions if q.baseline_key]
        assert sorted(q.baseline_key for q in baseline) == sorted(k.value for k in BaselineKey)
        assert {q.kind for q in baseline} == {"number", "money"} and {q.page for q in baseline} == {2}
        call_id = call.id
    assert r.location.endswith(f"/staff/calls/{call_id}/questions")
    cockpit = text(staff.get(f"/staff/calls/{call_id}"))
    assert "Wed 10 March 2027, 12:00 CET" in cockpit
    # The edit form shows the wall-clock time typed, not the stored UTC.
    assert 'value="2027-03-10T12:00"' in text(staff.get(f"/staff/calls/{call_id}/edit"))


def test_summer_time_is_handled_by_the_zone(app, staff, people):
    post(staff, "/staff/calls/new", call_form(people["edition"], opens_at="2027-05-01T09:00",
                                              closes_at="2027-07-15T12:00"))
    with app.app_context():
        assert db.session.scalar(select(Call.closes_at)) == datetime(2027, 7, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("changes, field, message", [
    ({"closes_at": "2027-01-15T12:00"}, "closes_at", "The deadline must come after the opening."),
    ({"places": "-3"}, "places", "A call offers at least 1 place."),
    ({"title": ""}, "title", "Enter the title of the call."),
    ({"closes_at": "10/03/2027 noon"}, "closes_at", "Enter the date and time like"),
    ({"divergence": "0"}, "divergence", "The divergence must be above 0."),
    ({"evaluation_deadline": "2027-03-01T12:00"}, "evaluation_deadline", "must come after the call's deadline"),
    ({"rule_startup_age": "y", "startup_age_max_years": ""}, "startup_age_max_years", "Enter the maximum age"),
    ({"evaluators_per_application": "0"}, "evaluators_per_application", "Between 1 and 10"),
])
def test_bad_settings_keep_what_was_typed_and_save_nothing(app, staff, people, changes, field, message):
    r = post(staff, "/staff/calls/new", call_form(people["edition"], **changes))
    assert r.status_code == 200
    page = text(r)
    assert any(message in e for e in errors(r)), errors(r)
    assert f'href="#{field}"' in page  # the summary links to the field
    assert 'value="Business Accelerator 2027"' in page or changes.get("title") == ""
    for value in changes.values():
        if value and value != "y":
            assert f'value="{value}"' in page, value
    with app.app_context():
        assert count(Call) == 0 and count(Question) == 0


def test_editing_the_settings_saves_and_audits(app, staff, people):
    with app.app_context():
        domains = make_s3_domains()
        call_id = make_call(CallStatus.DRAFT, questions=False).id
        db.session.commit()
        ict = next(d.id for d in domains if d.code == "ict")
    r = post(staff, f"/staff/calls/{call_id}/edit", call_form(
        people["edition"], title="Accelerator 2027, second round", places="12", s3_domain_ids=[str(ict)],
        rule_startup_age="y", startup_age_max_years="7", rule_deminimis="y", deminimis_ceiling="200000",
        blind="y", aggregation="median", overall_threshold="11"))
    assert r.status_code == 302
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.title == "Accelerator 2027, second round" and call.places == 12
        assert [d.code for d in call.s3_domains] == ["ict"]
        assert call.eligibility_rules["startup_age"] == {"max_years": 7}
        assert call.eligibility_rules["deminimis"] == {"ceiling": "200000.00"}
        assert call.blind and call.aggregation == "median" and call.overall_threshold == Decimal("11")
        changes = db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "calls.updated"))
        assert {"title", "places", "s3_domains", "eligibility_rules"} <= set(changes["changes"])
    form = text(staff.get(f"/staff/calls/{call_id}/edit"))
    assert 'value="7"' in form and "checked" in form


def test_a_published_call_cannot_be_changed_by_a_crafted_post(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.OPEN)
        call_id, title, n_questions, n_criteria = call.id, call.title, len(call.questions), len(call.criteria)
        question_id, criterion_id = call.questions[0].id, call.criteria[0].id
        db.session.commit()
    token = csrf_from(text(staff.get("/staff/calls")))
    attempts = [
        (f"/staff/calls/{call_id}/edit", call_form(people["edition"], title="Hijacked")),
        (f"/staff/calls/{call_id}/questions", question_form(label="Sneaked in")),
        (f"/staff/calls/{call_id}/questions", {"action": "delete", "item_id": str(question_id)}),
        (f"/staff/calls/{call_id}/questions", {"action": "baseline"}),
        (f"/staff/calls/{call_id}/criteria", criterion_form(name="Sneaked in")),
        (f"/staff/calls/{call_id}/criteria", {"action": "delete", "item_id": str(criterion_id)}),
        (f"/staff/calls/{call_id}/criteria", {"action": "defaults"}),
        (f"/staff/calls/{call_id}/publish", {}),
    ]
    for path, data in attempts:
        r = staff.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
        assert r.status_code == 200, path
        assert "its rules are frozen and nothing was changed" in text(r), path
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.title == title and call.status == CallStatus.OPEN
        assert len(call.questions) == n_questions and len(call.criteria) == n_criteria
        assert count(AuditEntry) == 0 or not db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("calls.%")))
    # The design pages send a published call's staff to the cockpit.
    r = staff.get(f"/staff/calls/{call_id}/questions")
    assert r.status_code == 302 and r.location.endswith(f"/staff/calls/{call_id}")


# --- questions -------------------------------------------------------------------------


QUESTIONS_OF_EVERY_KIND = [
    {"kind": "text", "label": "Product name", "max_length": "80"},
    {"kind": "long_text", "label": "Describe the market", "max_length": "3000"},
    {"kind": "number", "label": "Paying clients", "min_value": "0", "max_value": "100000"},
    {"kind": "money", "label": "Funding asked", "min_value": "0"},
    {"kind": "date", "label": "Product launch date"},
    {"kind": "single_choice", "label": "Stage", "choices": "Prototype\nOn the market\nScaling"},
    {"kind": "multiple_choice", "label": "Markets", "choices": "Italy\nEU\nWorld"},
    {"kind": "yes_no", "label": "Do you export?"},
    {"kind": "file", "label": "Business plan", "file_kinds": ["pdf", "docx"], "max_file_mb": "5", "page": "2"},
]


def test_questions_of_every_kind_are_added(app, staff, people):
    with app.app_context():
        call_id = make_call(CallStatus.DRAFT, questions=False).id
        db.session.commit()
    for question in QUESTIONS_OF_EVERY_KIND:
        r = post(staff, f"/staff/calls/{call_id}/questions", question_form(**question))
        assert r.status_code == 302, (question, errors(r))
    with app.app_context():
        questions = {q.label: q for q in db.session.get(Call, call_id).questions}
        assert {q.kind for q in questions.values()} == {k.value for k in QuestionKind}
        assert questions["Product name"].max_length == 80
        assert questions["Paying clients"].max_value == Decimal("100000")
        assert questions["Stage"].choices == ["Prototype", "On the market", "Scaling"]
        assert questions["Business plan"].file_kinds == ["pdf", "docx"] and questions["Business plan"].max_file_mb == 5
        assert questions["Business plan"].page == 2
        # Settings a kind does not use are not kept.
        assert questions["Do you export?"].max_length is None and questions["Stage"].min_value is None
        assert [q.position for q in questions.values() if q.page == 1] == list(range(8))
    page = text(staff.get(f"/staff/calls/{call_id}/questions"))
    assert "Page 1" in page and "Page 2" in page and "Several choices from a list" in page


@pytest.mark.parametrize("changes, message", [
    ({"kind": "single_choice", "choices": ""}, "Give at least two choices, one per line."),
    ({"kind": "multiple_choice", "choices": "Only one\n\n"}, "Give at least two choices, one per line."),
    ({"kind": "number", "min_value": "10", "max_value": "5"}, "The maximum must not be below the minimum."),
    ({"kind": "file", "max_file_mb": "5"}, "Choose at least one kind of file."),
    ({"label": ""}, "Write the question."),
    ({"page": "0"}, "Pages are numbered from 1 to 50."),
    ({"kind": "file", "file_kinds": ["pdf"], "max_file_mb": "900"}, "The size limit is between 1 and 10 MB."),
])
def test_a_bad_question_keeps_what_was_typed_and_saves_nothing(app, staff, people, changes, message):
    with app.app_context():
        call_id = make_call(CallStatus.DRAFT, questions=False).id
        db.session.commit()
    data = question_form(label="Which markets do you sell to?")
    data.update(changes)
    r = post(staff, f"/staff/calls/{call_id}/questions", data)
    assert r.status_code == 200
    assert message in errors(r), errors(r)
    if data["label"]:
        assert 'value="Which markets do you sell to?"' in text(r)
    with app.app_context():
        assert count(Question) == 0
        assert not db.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "calls.question_added"))


def test_questions_are_changed_moved_and_removed(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.DRAFT, questions=False)
        call_id = call.id
        db.session.commit()
    for label in ("First", "Second", "Third"):
        post(staff, f"/staff/calls/{call_id}/questions", question_form(label=label))
    with app.app_context():
        ids = {q.label: q.id for q in db.session.get(Call, call_id).questions}

    def order():
        with app.app_context():
            return [q.label for q in db.session.get(Call, call_id).questions]

    page = f"/staff/calls/{call_id}/questions"
    post(staff, page, {"action": "down", "item_id": str(ids["First"])})
    assert order() == ["Second", "First", "Third"]
    post(staff, page, {"action": "up", "item_id": str(ids["Third"])})
    assert order() == ["Second", "Third", "First"]
    r = post(staff, page, {"action": "up", "item_id": str(ids["Second"])}, follow_redirects=True)
    assert "already at the edge of its page" in text(r)
    assert order() == ["Second", "Third", "First"]

    form = text(staff.get(f"{page}?edit={ids['Third']}"))
    assert "Change the question" in form and 'value="Third"' in form
    r = post(staff, page, question_form(question_id=str(ids["Third"]), label="Third, now long",
                                        kind="long_text", max_length="500"))
    assert r.status_code == 302
    post(staff, page, {"action": "delete", "item_id": str(ids["Second"])})
    with app.app_context():
        questions = db.session.get(Call, call_id).questions
        assert [(q.label, q.kind, q.max_length) for q in questions] == [
            ("Third, now long", "long_text", 500), ("First", "text", None)]
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "calls", AuditEntry.object_id == str(call_id))))
        assert {"calls.question_moved", "calls.question_changed", "calls.question_removed"} <= set(actions)


def test_a_question_of_another_call_cannot_be_reached(app, staff, people):
    with app.app_context():
        mine = make_call(CallStatus.DRAFT, questions=False).id
        other = make_call(CallStatus.DRAFT)
        other_id, other_question = other.id, other.questions[0].id
        db.session.commit()
    r = post(staff, f"/staff/calls/{mine}/questions", {"action": "delete", "item_id": str(other_question)})
    assert r.status_code == 404
    with app.app_context():
        assert len(db.session.get(Call, other_id).questions) == 3


def test_the_baseline_button_adds_only_the_missing_figures_on_their_own_page(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.DRAFT)  # long text on page 1, turnover and employees on page 2
        call_id = call.id
        db.session.commit()
    page = text(staff.get(f"/staff/calls/{call_id}/questions"))
    assert "4 of them are missing" in page
    r = post(staff, f"/staff/calls/{call_id}/questions", {"action": "baseline"}, follow_redirects=True)
    assert "4 baseline figures added." in text(r)
    post(staff, f"/staff/calls/{call_id}/questions", {"action": "baseline"})
    with app.app_context():
        baseline = [q for q in db.session.get(Call, call_id).questions if q.baseline_key]
        assert len(baseline) == 6 and {q.page for q in baseline} == {2}
    assert "Add the baseline figures" not in text(staff.get(f"/staff/calls/{call_id}/questions"))


def test_a_baseline_figure_keeps_its_kind(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.DRAFT)
        turnover = next(q for q in call.questions if q.baseline_key == "turnover")
        call_id, question_id = call.id, turnover.id
        db.session.commit()
    r = post(staff, f"/staff/calls/{call_id}/questions",
             question_form(question_id=str(question_id), kind="text", label="Turnover"))
    assert r.status_code == 200
    assert any("keeps its kind" in e for e in errors(r))
    with app.app_context():
        assert db.session.get(Question, question_id).kind == "money"


# --- criteria --------------------------------------------------------------------------


@pytest.mark.parametrize("changes, message", [
    ({"weight": "0"}, "The weight must be above 0."),
    ({"weight": "-1"}, "Write a number"),
    ({"threshold": "6"}, "The threshold cannot be above the maximum score."),
    ({"max_score": "0"}, "The maximum score must be above 0."),
    ({"max_score": "4.2"}, "Scores go in half points"),
    ({"name": ""}, "Name the criterion."),
])
def test_a_bad_criterion_keeps_what_was_typed_and_saves_nothing(app, staff, people, changes, message):
    with app.app_context():
        call_id = make_call(CallStatus.DRAFT, criteria=()).id
        db.session.commit()
    r = post(staff, f"/staff/calls/{call_id}/criteria", criterion_form(**changes))
    assert r.status_code == 200
    assert any(message in e for e in errors(r)), errors(r)
    for value in changes.values():
        if value:
            assert f'value="{value}"' in text(r)
    with app.app_context():
        assert count(Criterion) == 0


def test_horizon_europe_defaults_then_own_criteria_in_priority_order(app, staff, people):
    with app.app_context():
        call_id = make_call(CallStatus.DRAFT, criteria=()).id
        db.session.commit()
    page = f"/staff/calls/{call_id}/criteria"
    r = post(staff, page, {"action": "defaults"}, follow_redirects=True)
    assert "3 criteria added." in text(r)
    post(staff, page, {"action": "defaults"})  # nothing twice
    assert post(staff, page, criterion_form(name="Team", weight="0.5", max_score="10", threshold="")).status_code == 302
    with app.app_context():
        criteria = db.session.get(Call, call_id).criteria
        assert [(c.name, c.weight, c.max_score, c.threshold) for c in criteria] == [
            ("Excellence", Decimal("1"), Decimal("5"), Decimal("3")),
            ("Impact", Decimal("1.5"), Decimal("5"), Decimal("3")),
            ("Quality and efficiency of the implementation", Decimal("1"), Decimal("5"), Decimal("3")),
            ("Team", Decimal("0.5"), Decimal("10"), None)]
        team, impact = criteria[3].id, criteria[1].id
    post(staff, page, {"action": "up", "item_id": str(team)})
    post(staff, page, {"action": "delete", "item_id": str(impact)})
    with app.app_context():
        assert [c.name for c in db.session.get(Call, call_id).criteria] == [
            "Excellence", "Team", "Quality and efficiency of the implementation"]
    shown = text(staff.get(page))
    # Two thirds of 20, as the ranking computes it.
    expected = CallRules(criteria=tuple(CriterionRule(id=i, max_score=Decimal(m)) for i, m in enumerate((5, 10, 5))))
    threshold = format(expected.effective_overall_threshold.normalize(), "f")
    assert "Highest possible total: 20 points" in shown and f"Overall threshold: {threshold} points" in shown


# --- preview ---------------------------------------------------------------------------


def test_the_preview_shows_the_form_page_by_page_with_disabled_fields(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.DRAFT)
        db.session.add(Question(call_id=call.id, page=1, position=5, kind="single_choice", label="Stage",
                                choices=["Prototype", "On the market"], required=False))
        db.session.commit()
        call_id = call.id
    page = text(staff.get(f"/staff/calls/{call_id}/preview"))
    assert "Step 1 of 2" in page
    assert "Describe your product and its market" in page and "Prototype" in page
    assert "<fieldset disabled>" in page
    assert "turnover" not in page  # page 2 is on its own step
    page2 = text(staff.get(f"/staff/calls/{call_id}/preview?page=2"))
    assert "Step 2 of 2" in page2 and "turnover" in page2 and "Previous page" in page2


# --- publishing ------------------------------------------------------------------------


def test_publishing_lists_every_problem_and_changes_nothing(app, staff, people):
    with app.app_context():
        call = make_call(CallStatus.DRAFT, criteria=(), questions=False, opens_in=timedelta(days=-20),
                         closes_in=timedelta(days=-1), eligible_kinds=[])
        db.session.add(Question(call_id=call.id, page=1, position=0, kind="single_choice", label="Stage", choices=[]))
        call.published_at = None
        call_id = call.id
        db.session.commit()
    r = post(staff, f"/staff/calls/{call_id}/publish", {}, page=f"/staff/calls/{call_id}")
    assert r.status_code == 200
    page = text(r)
    assert "The call cannot be published yet: 4 things to fix" in page
    for sentence in ("The deadline has already passed", "Choose at least one kind of organisation",
                     "The question “Stage” needs at least two choices", "Add at least one evaluation criterion"):
        assert sentence in page, sentence
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.published_at is None and call.status == CallStatus.DRAFT
        assert not db.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "calls.published"))


def test_publishing_a_call_whose_opening_has_passed_opens_it_and_freezes_it(app, staff, people, outbox):
    with app.app_context():
        call_id = publishable_call().id
        db.session.commit()
    r = post(staff, f"/staff/calls/{call_id}/publish", {}, page=f"/staff/calls/{call_id}", follow_redirects=True)
    assert "The call is published and open" in text(r)
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.status == CallStatus.OPEN and call.published_at is not None
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "calls", AuditEntry.object_id == str(call_id)).order_by(AuditEntry.id)))
        assert actions == ["calls.published", "calls.status_changed"]
    # The other member of staff is told; the one who published is not.
    assert [m["To"] for m in outbox()] == ["colleague@example.eu"]
    cockpit = text(staff.get(f"/staff/calls/{call_id}"))
    assert "Close now" in cockpit and "Publish the call" not in cockpit
    assert "Published: rules frozen" in cockpit and "Opened" in cockpit


def test_publishing_before_the_opening_schedules_the_call(app, staff, people):
    with app.app_context():
        call_id = publishable_call(opens_in=timedelta(days=3)).id
        db.session.commit()
    r = post(staff, f"/staff/calls/{call_id}/publish", {}, page=f"/staff/calls/{call_id}", follow_redirects=True)
    assert "It opens by itself on" in text(r)
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.status == CallStatus.DRAFT and call.published_at is not None
    cockpit = text(staff.get(f"/staff/calls/{call_id}"))
    assert "Published, not open yet" in cockpit and "Take back the publication" in cockpit
    assert f'href="/staff/calls/{call_id}/edit"' not in cockpit
    # Taken back, it is a draft that can be changed again.
    r = post(staff, f"/staff/calls/{call_id}/status", {"action": "unpublish"}, page=f"/staff/calls/{call_id}",
             follow_redirects=True)
    assert "is a draft again" in text(r)
    with app.app_context():
        assert db.session.get(Call, call_id).published_at is None


# --- copying ---------------------------------------------------------------------------


def test_copying_makes_a_draft_of_the_next_edition_with_the_same_rules(app, staff, people):
    with app.app_context():
        domains = make_s3_domains()
        call = make_call(CallStatus.DECIDED, title="Accelerator 2027", blind=True, aggregation="median",
                         eligibility_rules={"sme": {}, "startup_age": {"max_years": 4}})
        call.opens_at = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)  # 09:00 in Rome
        call.closes_at = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)  # 12:00 in Rome
        call.s3_domains = domains[:2]
        db.session.commit()
        source_id = call.id
    r = post(staff, f"/staff/calls/{source_id}/copy", {}, page=f"/staff/calls/{source_id}")
    assert r.status_code == 302
    with app.app_context():
        source = db.session.get(Call, source_id)
        copy = db.session.scalar(select(Call).where(Call.copied_from_id == source_id))
        assert r.location.endswith(f"/staff/calls/{copy.id}/edit")
        assert copy.status == CallStatus.DRAFT and copy.published_at is None
        assert copy.edition.year == 2028 and copy.edition.programme_id == source.edition.programme_id
        assert copy.title == "Accelerator 2028"
        assert (copy.blind, copy.aggregation, copy.eligibility_rules, copy.places, copy.eligible_kinds) == (
            source.blind, source.aggregation, source.eligibility_rules, source.places, source.eligible_kinds)
        assert [d.code for d in copy.s3_domains] == [d.code for d in source.s3_domains]
        assert [(q.label, q.kind, q.page, q.baseline_key) for q in copy.questions] == [
            (q.label, q.kind, q.page, q.baseline_key) for q in source.questions]
        assert [(c.name, c.weight, c.threshold) for c in copy.criteria] == [
            (c.name, c.weight, c.threshold) for c in source.criteria]
        # Same wall-clock times one year on.
        assert local(copy.opens_at) == "2028-02-01T09:00" and local(copy.closes_at) == "2028-03-10T12:00"
        assert source.status == CallStatus.DECIDED and len(source.questions) == 3


# --- the staff list and the cockpit ----------------------------------------------------


def test_the_staff_list_filters_by_programme_edition_and_phase(app, staff, people):
    from opsapp.calls.models import ProgrammeKind

    with app.app_context():
        make_call(CallStatus.OPEN, title="Open accelerator")
        make_call(CallStatus.DRAFT, title="Draft accelerator")
        make_call(CallStatus.OPEN, title="Meet the Buyer SMEs",
                  edition=make_edition(2026, kind=ProgrammeKind.MEET_THE_BUYER))
        db.session.commit()
    page = text(staff.get("/staff/calls"))
    assert "3 calls" in page and all(t in page for t in ("Open accelerator", "Draft accelerator", "Meet the Buyer SMEs"))
    page = text(staff.get("/staff/calls?programme=meet_the_buyer"))
    assert "1 call" in page and "Meet the Buyer SMEs" in page and "Open accelerator" not in page
    page = text(staff.get("/staff/calls?status=draft&year=2027"))
    assert "Draft accelerator" in page and "Open accelerator" not in page
    page = text(staff.get("/staff/calls?status=archived"))
    assert "No call matches these filters" in page
    assert staff.get("/staff/calls?status=nonsense&year=abc").status_code == 200


def test_the_cockpit_shows_only_the_actions_of_the_phase(app, staff, people):
    with app.app_context():
        draft = make_call(CallStatus.DRAFT).id
        closed = make_call(CallStatus.CLOSED).id
        decided = make_call(CallStatus.DECIDED).id
        db.session.commit()
    page = text(staff.get(f"/staff/calls/{draft}"))
    assert "Publish the call" in page and "Close now" not in page and "Start the evaluation" not in page
    page = text(staff.get(f"/staff/calls/{closed}"))
    assert "Start the evaluation" in page and "Publish the call" not in page and "Archive the call" not in page
    assert f"/staff/calls/{closed}/applications" in page and f"/staff/calls/{closed}/ranking" in page
    page = text(staff.get(f"/staff/calls/{decided}"))
    assert "Archive the call" in page and f"/staff/calls/{decided}/summary.docx" in page
    assert f"/staff/calls/{decided}/export.xlsx" in page


def test_home_panel_of_staff_lists_running_calls_with_their_phase(app, staff, people):
    with app.app_context():
        make_call(CallStatus.OPEN, title="Running accelerator")
        make_call(CallStatus.ARCHIVED, title="Old accelerator")
        db.session.commit()
    page = text(staff.get("/"))
    assert "Running calls" in page and "Running accelerator" in page and "Old accelerator" not in page
    assert "Closes:" in page


def test_editions_without_any_call_say_what_to_do(app, client, people):
    with app.app_context():
        db.session.delete(db.session.get(Edition, people["edition"]))
        db.session.commit()
    login(client, "staff@example.eu")
    assert "add the edition first" in text(client.get("/staff/calls"))
    assert "Add the edition first" in text(client.get("/staff/calls/new"))


def test_utc_is_what_is_stored_whatever_the_staff_member_s_zone(app, client, people):
    with app.app_context():
        make_user("london@example.eu", roles=[Role.STAFF], timezone="Europe/London")
        db.session.commit()
    login(client, "london@example.eu")
    post(client, "/staff/calls/new", call_form(people["edition"]))
    with app.app_context():
        assert db.session.scalar(select(Call.closes_at)) == datetime(2027, 3, 10, 11, 0, tzinfo=UTC)
    # Shown in the call's zone, not the viewer's.
    assert "12:00 CET" in text(client.get("/staff/calls"))



# --- the whole design, through the pages -----------------------------------------------


def test_staff_design_and_publish_a_call_that_then_opens_on_time(app, staff, people):
    from opsapp import jobs
    from opsapp.core.timeutil import utcnow

    opens = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    closes = opens + timedelta(days=30)
    r = post(staff, "/staff/calls/new", call_form(people["edition"], opens_at=local(opens), closes_at=local(closes),
                                                  places="4"))
    assert r.status_code == 302
    with app.app_context():
        call_id = db.session.scalar(select(Call.id))
    questions = f"/staff/calls/{call_id}/questions"
    assert post(staff, questions, question_form(kind="long_text", label="Describe the product", page="1",
                                                max_length="2000")).status_code == 302
    assert post(staff, questions, question_form(kind="single_choice", label="Stage", page="1",
                                                choices="Prototype\nOn the market")).status_code == 302
    post(staff, f"/staff/calls/{call_id}/criteria", {"action": "defaults"})
    preview = text(staff.get(f"/staff/calls/{call_id}/preview"))
    assert "Describe the product" in preview and "Step 1 of 2" in preview

    r = post(staff, f"/staff/calls/{call_id}/publish", {}, page=f"/staff/calls/{call_id}", follow_redirects=True)
    assert "It opens by itself on" in text(r)
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.status == CallStatus.DRAFT and call.published_at is not None
        assert call.opens_at == opens
    assert staff.get(f"/calls/{call_id}").status_code == 200  # announced publicly

    with app.app_context():
        jobs.run_job("calls_open_and_close", opens - timedelta(minutes=5))
        assert db.session.get(Call, call_id).status == CallStatus.DRAFT
        jobs.run_job("calls_open_and_close", opens + timedelta(minutes=1))
        assert db.session.get(Call, call_id).status == CallStatus.OPEN
    page = text(staff.get(f"/staff/calls/{call_id}"))
    assert "Opened" in page and "on time, by the scheduler" in page
