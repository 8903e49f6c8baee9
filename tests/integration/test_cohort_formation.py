"""Forming a cohort through the browser's eyes: from a decided Accelerator call (accepted places,
a place never offered, a declined place, a reserve promoted through the real decline, a place
still unanswered, a rejection), bad dates refused with what was typed kept and nothing saved,
refreshing the members (idempotent), the cohort page and who sees it, starting and completing,
the start job run twice, the coaching themes, and the needs assessment (another company: 404).
Real database, real e-mails in the outbox, CSRF on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from opsapp.calls.models import Application, CallStatus, Outcome, PlaceStatus
from opsapp.cohorts import cohorts as service
from opsapp.cohorts.cohorts import add_months
from opsapp.cohorts.models import (
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    CompletionStatus,
    Need,
)
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_application, make_call, make_edition
from tests.factories_cohorts import make_mentor

# --- helpers -------------------------------------------------------------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    """POST like a browser: the CSRF token comes from the page the form is on."""
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_errors(response) -> list[str]:
    return [e.strip() for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', text(response))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox() if m["To"] == email]


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


@dataclass
class World:
    call_id: int
    apps: dict[str, int]
    orgs: dict[str, int]


COMPANIES = ("Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta")


@pytest.fixture
def world(app) -> World:
    """A decided Accelerator call of 3 places:

    - Alfa selected, place accepted; Beta selected, place never offered (an older decision);
    - Gamma selected, place offered (it declines in the test, which promotes Delta);
    - Delta first on the reserve list; Epsilon selected, place offered and not answered yet;
    - Zeta rejected.
    """
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        call = make_call(CallStatus.DECIDED, edition=make_edition(2027), opens_in=timedelta(days=-90),
                         closes_in=timedelta(days=-60), places=4, title="Accelerator 2027")
        apps, orgs = {}, {}
        outcome = {"Alfa": (Outcome.SELECTED, PlaceStatus.ACCEPTED, None),
                   "Beta": (Outcome.SELECTED, None, None),
                   "Gamma": (Outcome.SELECTED, PlaceStatus.OFFERED, None),
                   "Delta": (Outcome.RESERVE, None, 1),
                   "Epsilon": (Outcome.SELECTED, PlaceStatus.OFFERED, None),
                   "Zeta": (Outcome.REJECTED, None, None)}
        for rank, name in enumerate(COMPANIES, start=1):
            owner = make_user(f"{name.lower()}@example.eu", roles=[Role.APPLICANT], full_name=f"{name} Owner")
            org = make_organisation(kind="startup", owner=owner, legal_name=f"{name} S.r.l.")
            result, place, reserve = outcome[name]
            application = make_application(call, org, by=owner, outcome=str(result), rank=rank,
                                           place_status=str(place) if place else None, reserve_position=reserve,
                                           decided_at=utcnow() - timedelta(days=5))
            apps[name], orgs[name] = application.id, org.id
        db.session.commit()
        return World(call.id, apps, orgs)


@pytest.fixture
def staff(app, world):
    return client_of(app, "staff@example.eu")


def _answer_place(app, name: str, answer: str, world: World) -> None:
    client = client_of(app, f"{name.lower()}@example.eu")
    token = csrf_from(text(client.get("/")))
    r = client.post(f"/applications/{world.apps[name]}/place",
                    data={"csrf_token": token, "answer": answer, "confirmed": "1"})
    assert r.status_code == 302


def _form(start: date, end: date, **extra) -> dict:
    with_ids = {"name": "Accelerator 2027 cohort", "starts_on": start.isoformat(), "ends_on": end.isoformat(),
                "min_hours": "12", "min_sessions": "4", "min_milestones": "2"}
    with_ids.update(extra)
    return with_ids


def _theme_ids() -> list[str]:
    return [str(i) for i in db.session.scalars(select(CoachingTheme.id).order_by(CoachingTheme.id))]


def _form_cohort(app, staff, world, start=None, end=None, **extra):
    path = f"/cohorts/new?call={world.call_id}"
    staff.get(path)  # the default themes are created with the first form
    start = start or date(2027, 3, 1)
    end = end or date(2027, 7, 31)
    with app.app_context():
        themes = _theme_ids()
    return post(staff, path, {**_form(start, end, **extra), "theme_ids": themes})


def _member_names(cohort_id: int) -> set[str]:
    return {m.organisation.legal_name.split()[0] for m in db.session.scalars(
        select(CohortMember).where(CohortMember.cohort_id == cohort_id))}


# --- formation --------------------------------------------------------------------------------------------


def test_staff_form_a_cohort_from_the_accepted_places_including_a_reserve_promotion(app, world, staff, outbox):
    _answer_place(app, "Gamma", "decline", world)  # the real decline promotes Delta from the reserve list
    _answer_place(app, "Delta", "accept", world)
    with app.app_context():
        delta = db.session.get(Application, world.apps["Delta"])
        assert delta.outcome == Outcome.SELECTED and delta.place_status == PlaceStatus.ACCEPTED

    chooser = text(staff.get("/cohorts/new"))
    assert "Accelerator 2027" in chooser and f"/cohorts/new?call={world.call_id}" in chooser
    preview = text(staff.get(f"/cohorts/new?call={world.call_id}"))
    assert "Alfa S.r.l." in preview and "Delta S.r.l." in preview and "Gamma S.r.l." not in preview

    r = _form_cohort(app, staff, world, incubation="y")
    assert r.status_code == 302, field_errors(r)
    with app.app_context():
        cohort = db.session.scalar(select(Cohort))
        assert cohort.status == CohortStatus.PLANNED and cohort.call_id == world.call_id
        assert (cohort.starts_on, cohort.ends_on, cohort.incubation_months) == (date(2027, 3, 1), date(2027, 7, 31), 12)
        assert {t.code for t in cohort.themes} == {code for code, _en, _it in service.DEFAULT_THEMES}
        assert (cohort.min_hours, cohort.min_sessions, cohort.min_milestones) == (12, 4, 2)
        assert _member_names(cohort.id) == {"Alfa", "Beta", "Delta"}
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "cohorts")))
        assert "cohorts.formed" in actions and actions.count("cohorts.member_added") == 3
        cohort_id = cohort.id
    for name in ("alfa", "beta", "delta"):
        [mail] = [m for m in mails_to(outbox, f"{name}@example.eu") if "cohort" in m["Subject"]]
        assert "Accelerator 2027 cohort" in mail["Subject"] and "/needs" in mail.get_body(("plain",)).get_content()
    assert not [m for m in mails_to(outbox, "epsilon@example.eu") if "cohort" in m["Subject"]]

    page = text(staff.get(f"/cohorts/{cohort_id}"))
    assert "Alfa S.r.l." in page and "Delta S.r.l." in page and "Planned" in page and "Cohort formed" in page
    assert f"/cohorts/{cohort_id}/matching" in page and "Start the cohort now" in page
    # One cohort per call: the call is no longer offered.
    assert f"call={world.call_id}" not in text(staff.get("/cohorts/new"))
    assert staff.get(f"/cohorts/new?call={world.call_id}", follow_redirects=True).status_code == 200


@pytest.mark.parametrize("end, message", [
    (date(2027, 5, 15), "A cohort lasts 3 to 6 months"),
    (date(2027, 9, 2), "A cohort lasts 3 to 6 months"),
    (date(2027, 2, 1), "A cohort lasts 3 to 6 months"),
])
def test_bad_dates_are_refused_with_what_was_typed_kept_and_nothing_saved(app, world, staff, end, message):
    r = _form_cohort(app, staff, world, end=end, name="Cohort with bad dates")
    assert r.status_code == 200
    assert any(message in e for e in field_errors(r)), field_errors(r)
    html = text(r)
    assert 'value="Cohort with bad dates"' in html and f'value="{end.isoformat()}"' in html
    with app.app_context():
        assert count(Cohort) == 0 and count(CohortMember) == 0


def test_a_date_typed_in_a_wrong_shape_gets_a_message_in_words(app, world, staff):
    r = _form_cohort(app, staff, world, ends_on="31/07/2027")
    assert r.status_code == 200 and "Enter a date like 2027-03-01." in field_errors(r)
    with app.app_context():
        assert count(Cohort) == 0


def test_add_months_keeps_the_day_or_takes_the_last_of_the_month():
    assert add_months(date(2027, 3, 1), 3) == date(2027, 6, 1)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_refreshing_the_members_adds_later_acceptances_once(app, world, staff, outbox):
    assert _form_cohort(app, staff, world).status_code == 302
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id))
    detail = f"/cohorts/{cohort_id}"
    r = post(staff, f"/cohorts/{cohort_id}/members/refresh", {}, page=detail, follow_redirects=True)
    assert "the members are up to date" in text(r)

    _answer_place(app, "Epsilon", "accept", world)
    assert "took its place and is not in the cohort yet" in text(staff.get(detail))
    r = post(staff, f"/cohorts/{cohort_id}/members/refresh", {}, page=detail, follow_redirects=True)
    assert "1 company joined the cohort" in text(r)
    r = post(staff, f"/cohorts/{cohort_id}/members/refresh", {}, page=detail, follow_redirects=True)
    assert "the members are up to date" in text(r)
    with app.app_context():
        assert _member_names(cohort_id) == {"Alfa", "Beta", "Epsilon"}
    assert len([m for m in mails_to(outbox, "epsilon@example.eu") if "You are in the cohort" in m["Subject"]]) == 1


def test_who_sees_the_cohort_and_its_companies(app, world, staff):
    assert _form_cohort(app, staff, world).status_code == 302
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id))
        make_user("mentor@example.eu", roles=[Role.MENTOR])
        outsider = make_user("outsider@example.eu", roles=[Role.APPLICANT])
        make_organisation(owner=outsider, legal_name="Outsider S.r.l.")
        db.session.commit()
    alfa = client_of(app, "alfa@example.eu")
    page = text(alfa.get(f"/cohorts/{cohort_id}"))
    assert "Alfa S.r.l." in page and "Beta S.r.l." not in page and "Start the cohort now" not in page
    assert "Accelerator 2027 cohort" in text(alfa.get("/cohorts"))
    for email in ("outsider@example.eu", "mentor@example.eu", "zeta@example.eu"):
        other = client_of(app, email)
        assert other.get(f"/cohorts/{cohort_id}").status_code == 404
        assert "Accelerator 2027 cohort" not in text(other.get("/cohorts"))
    assert alfa.get(f"/cohorts/{cohort_id}/edit").status_code == 403
    assert staff.get("/cohorts/999").status_code == 404


def test_start_and_complete_the_cohort(app, world, staff, outbox):
    assert _form_cohort(app, staff, world).status_code == 302
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id))
    detail = f"/cohorts/{cohort_id}"
    r = post(staff, f"/cohorts/{cohort_id}/status", {"to": "completed"}, page=detail, follow_redirects=True)
    assert "this step is not possible now" in text(r)
    r = post(staff, f"/cohorts/{cohort_id}/status", {"to": "running"}, page=detail, follow_redirects=True)
    assert "The cohort is running" in text(r)
    assert [m for m in mails_to(outbox, "alfa@example.eu") if "has started" in m["Subject"]]
    r = post(staff, f"/cohorts/{cohort_id}/status", {"to": "completed"}, page=detail, follow_redirects=True)
    assert "Decide the completion of every company first (2 still in progress)" in text(r)
    with app.app_context():
        for member in db.session.scalars(select(CohortMember)):
            member.completion = CompletionStatus.NOT_COMPLETED.value
        db.session.commit()
    r = post(staff, f"/cohorts/{cohort_id}/status", {"to": "completed"}, page=detail, follow_redirects=True)
    assert "The cohort is completed." in text(r)
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status == CohortStatus.COMPLETED
        statuses = [e.detail["new"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "cohorts.status_changed").order_by(AuditEntry.id))]
        assert statuses == ["running", "completed"]
    page = text(staff.get(detail))
    assert "Cohort started" in page and "Cohort completed" in page and "Change the cohort" not in page
    assert staff.get(f"/cohorts/{cohort_id}/edit").status_code == 302


def test_start_due_starts_a_planned_cohort_once(app, world, staff):
    assert _form_cohort(app, staff, world).status_code == 302
    with app.app_context():
        cohort = db.session.scalar(select(Cohort))
        cohort.starts_on = utcnow().date() - timedelta(days=1)
        cohort.ends_on = add_months(cohort.starts_on, 4)
        db.session.commit()
        cohort_id = cohort.id
        assert service.start_due(utcnow() - timedelta(days=3)) == 0
        assert service.start_due(utcnow()) == 1
        db.session.commit()
        assert service.start_due(utcnow()) == 0
        db.session.commit()
        assert db.session.get(Cohort, cohort_id).status == CohortStatus.RUNNING
        started = count(Notification, Notification.subject.like("%has started%"))
        assert started == 2  # Alfa's and Beta's owners, told once
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "cohorts.status_changed"))
        assert entry.actor_id is None and entry.detail["by"] == "schedule"


# --- themes --------------------------------------------------------------------------------------------------


def test_themes_defaults_add_and_refuse_a_duplicate_code(app, world, staff):
    page = text(staff.get("/cohorts/themes"))
    assert "Entrepreneurial finance" in page and "Human resources and talent scouting" in page
    r = post(staff, "/cohorts/themes", {"code": "investor_readiness", "name_en": "Investor readiness",
                                        "name_it": "Preparazione agli investitori", "active": "y"},
             follow_redirects=True)
    assert "The theme Investor readiness is saved." in text(r)
    r = post(staff, "/cohorts/themes", {"code": "investor_readiness", "name_en": "Again", "name_it": "Ancora"})
    assert r.status_code == 200 and "Another theme already has this code." in field_errors(r)
    r = post(staff, "/cohorts/themes", {"code": "Bad Code!", "name_en": "X", "name_it": "Y"})
    assert r.status_code == 200 and any("lower-case" in e for e in field_errors(r))
    with app.app_context():
        assert count(CoachingTheme) == 4
        theme_id = db.session.scalar(select(CoachingTheme.id).where(CoachingTheme.code == "investor_readiness"))
    r = post(staff, f"/cohorts/themes?theme={theme_id}", {"theme_id": str(theme_id), "code": "investor_readiness",
                                                         "name_en": "Investor readiness", "name_it": "Investitori"},
             follow_redirects=True)
    with app.app_context():
        theme = db.session.get(CoachingTheme, theme_id)
        assert theme.active is False and theme.name_it == "Investitori"
    assert client_of(app, "alfa@example.eu").get("/cohorts/themes").status_code == 403


# --- needs ------------------------------------------------------------------------------------------------------


def test_the_company_states_its_needs_and_another_company_gets_404(app, world, staff):
    assert _form_cohort(app, staff, world).status_code == 302
    with app.app_context():
        cohort = db.session.scalar(select(Cohort))
        alfa = db.session.scalar(select(CohortMember).where(CohortMember.organisation_id == world.orgs["Alfa"]))
        finance, marketing, hr = (next(t.id for t in cohort.themes if t.code == code)
                                  for code in ("entrepreneurial_finance", "international_marketing",
                                               "human_resources"))
        cohort_id, member_id = cohort.id, alfa.id
        make_mentor(make_user("mentor@example.eu", roles=[Role.MENTOR]))
        db.session.commit()
    path = f"/cohorts/{cohort_id}/members/{member_id}/needs"
    client = client_of(app, "alfa@example.eu")
    assert "Need for Entrepreneurial finance" in text(client.get(path))
    r = post(client, path, {f"level_{finance}": "3", f"note_{finance}": "Series A in 2028",
                            f"level_{marketing}": "7", f"level_{hr}": "1", "goals": "Close a seed round."})
    assert r.status_code == 200 and field_errors(r), "a level that is not one of the choices is refused"
    with app.app_context():
        assert count(Need) == 0
    r = post(client, path, {f"level_{finance}": "3", f"note_{finance}": "Series A in 2028",
                            f"level_{marketing}": "2", f"level_{hr}": "0", "goals": "Close a seed round."},
             follow_redirects=True)
    assert "The needs of Alfa S.r.l. are saved." in text(r)
    with app.app_context():
        member = db.session.get(CohortMember, member_id)
        assert member.needs_assessed_at is not None and member.goals == "Close a seed round."
        assert {n.theme_id: (n.level, n.note) for n in member.needs} == {
            finance: (3, "Series A in 2028"), marketing: (2, None), hr: (0, None)}
    page = text(client.get(f"/cohorts/{cohort_id}/members/{member_id}"))
    assert "Close a seed round." in page and "High" in page and "Series A in 2028" in page

    beta = client_of(app, "beta@example.eu")
    assert beta.get(path).status_code == 404
    assert beta.get(f"/cohorts/{cohort_id}/members/{member_id}").status_code == 404
    token = csrf_from(text(beta.get("/")))
    assert beta.post(path, data={"csrf_token": token, f"level_{finance}": "0"}).status_code == 404
    mentor = client_of(app, "mentor@example.eu")
    assert mentor.get(path).status_code == 404 and mentor.get(f"/cohorts/{cohort_id}/members/{member_id}").status_code == 404
    # Staff may state them too; the company is told.
    r = post(staff, path, {f"level_{finance}": "1", f"level_{marketing}": "1", f"level_{hr}": "1", "goals": ""},
             follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        assert count(Notification, Notification.subject.like("Your needs in%")) == 1


def test_staff_home_panel_shows_what_waits(app, world, staff):
    assert _form_cohort(app, staff, world).status_code == 302
    home = text(staff.get("/"))
    assert "Accelerator 2027 cohort" in home
    assert "2 companies have not stated their needs" in home and "2 companies without a mentor" in home
