"""Coaching sessions through the HTTP client: planning (staff: group or one-to-one; a mentor:
one-to-one with their own companies), the invitees told with their calendar link, the cohort's
calendar by week with filters, the iCalendar file (one VEVENT per session, stable UIDs,
VTIMEZONE, cancelled ones CANCELLED), cancelling, attendance and the hours it gives, the mentor's
notes (private: a company reads only its own; a mentor only those of the sessions they led), and
the home panels.

The world (`build_world`, also used by the milestone, introduction and obligation tests): a
running cohort (Europe/Rome) with three companies, Alfa, Beta and Gamma (one owner each), mentor
Maria confirmed for Alfa and Beta, mentor Otto for Gamma, an applicant Zeta outside the cohort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from opsapp.cohorts import sessions
from opsapp.cohorts.models import (
    Attendance,
    CoachingSession,
    CohortMember,
    CohortStatus,
    Mentorship,
    SessionKind,
    SessionNote,
)
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_cohorts import make_cohort, make_member, make_mentor, make_session, make_themes

ZONE = "Europe/Rome"


@dataclass
class World:
    cohort_id: int
    members: dict[str, int]
    organisations: dict[str, int]
    mentors: dict[str, int]
    themes: dict[str, int]


def build_world(app, status: CohortStatus = CohortStatus.RUNNING) -> World:
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        finance, marketing, hr = make_themes()
        cohort = make_cohort(status, name="Business Accelerator 2027 cohort")
        members, organisations = {}, {}
        for name in ("Alfa", "Beta", "Gamma"):
            owner = make_user(f"{name.lower()}@example.eu", roles=[Role.APPLICANT], full_name=f"{name} Owner")
            organisation = make_organisation(owner=owner, legal_name=f"{name} S.r.l.", kind="startup")
            members[name] = make_member(cohort, user=owner, organisation=organisation).id
            organisations[name] = organisation.id
        zeta = make_user("zeta@example.eu", roles=[Role.APPLICANT], full_name="Zeta Owner")
        make_organisation(owner=zeta, legal_name="Zeta S.r.l.", kind="startup")
        maria = make_mentor(make_user("maria@example.eu", roles=[Role.MENTOR], full_name="Maria Mentore"))
        otto = make_mentor(make_user("otto@example.eu", roles=[Role.MENTOR], full_name="Otto Mentore"))
        now = utcnow()
        for name, mentor in (("Alfa", maria), ("Beta", maria), ("Gamma", otto)):
            db.session.add(Mentorship(member_id=members[name], mentor_id=mentor.id,
                                      confirmed_at=now - timedelta(days=20)))
        db.session.commit()
        return World(cohort.id, members, organisations, {"maria": maria.id, "otto": otto.id},
                     {"finance": finance.id, "marketing": marketing.id, "hr": hr.id})


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def as_user(app, email: str):
    """A new client signed in as `email` (the previous one is left as it is)."""
    client = app.test_client()
    login(client, email)
    return client


def post(client, url: str, data: dict, page: str | None = None):
    """POST a form with a CSRF token read from `page` (or `url`)."""
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def add_session(app, world: World, invited=("Alfa", "Beta", "Gamma"), mentor: str | None = "maria", **fields) -> int:
    with app.app_context():
        from opsapp.cohorts.models import Cohort

        cohort = db.session.get(Cohort, world.cohort_id)
        members = [db.session.get(CohortMember, world.members[n]) for n in invited]
        profile = db.session.get(sessions.MentorProfile, world.mentors[mentor]) if mentor else None
        fields.setdefault("theme_id", world.themes["finance"])
        session = make_session(cohort, members, mentor=profile, **fields)
        db.session.commit()
        return session.id


def mark(app, session_id: int, world: World, **attended: bool) -> None:
    with app.app_context():
        for name, value in attended.items():
            db.session.add(Attendance(session_id=session_id, member_id=world.members[name], attended=value))
        db.session.commit()


def next_week_day():
    return to_local(utcnow(), ZONE).date() + timedelta(days=7)


def session_form(world: World, **overrides) -> dict:
    data = {"kind": "group", "title": "Raising a seed round", "theme_id": str(world.themes["finance"]),
            "day": next_week_day().isoformat(), "start_time": "09:30", "duration_minutes": "120",
            "place": "Torino Wireless, Via Nizza 262", "online_url": "", "mentor_id": str(world.mentors["maria"]),
            "coach_name": "", "member_ids": [str(world.members["Alfa"]), str(world.members["Beta"])]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- planning -----------------------------------------------------------------------------------------


def test_staff_plan_a_group_session_and_the_invitees_are_told(app, client, world, outbox):
    login(client, "staff@example.eu")
    url = f"/cohorts/{world.cohort_id}/sessions/new"
    page = client.get(url)
    assert page.status_code == 200
    assert "Alfa S.r.l." in page.get_data(as_text=True)
    response = post(client, url, session_form(world))
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(CoachingSession))
        assert session.kind == SessionKind.GROUP.value and session.mentor_id == world.mentors["maria"]
        # 09:30 in Rome, stored in UTC.
        assert session.starts_at == local_to_utc(datetime.combine(next_week_day(), time(9, 30)), ZONE)
        assert to_local(session.starts_at, ZONE).strftime("%H:%M") == "09:30"
        assert sorted(m.id for m in session.invitees) == sorted([world.members["Alfa"], world.members["Beta"]])
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "coaching_sessions.created")) == 1
        told = {n.user_id for n in db.session.scalars(select(Notification))}
        session_id = session.id
    mails = {m["To"]: m.get_body(preferencelist=("plain",)).get_content() for m in outbox()}
    assert set(mails) == {"alfa@example.eu", "beta@example.eu", "maria@example.eu"}
    assert f"/cohorts/{world.cohort_id}/calendar.ics" in mails["alfa@example.eu"]
    assert "Raising a seed round" in mails["beta@example.eu"] and "09:30" in mails["beta@example.eu"]
    assert len(told) == 3
    detail = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Raising a seed round" in detail and "Maria Mentore" in detail


def test_inviting_every_company_and_an_outside_coach(app, client, world):
    login(client, "staff@example.eu")
    response = post(client, f"/cohorts/{world.cohort_id}/sessions/new",
                    session_form(world, mentor_id="", coach_name="Carla Coach", member_ids=[], all_members="y",
                                 online_url="https://meet.example.eu/seed", place=""))
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(CoachingSession))
        assert session.coach_name == "Carla Coach" and session.mentor_id is None
        assert len(session.invitees) == 3


@pytest.mark.parametrize("overrides, field, message", [
    ({"title": ""}, "title", "Give the session a title."),
    ({"coach_name": "Carla Coach"}, "coach_name", "not both"),
    ({"mentor_id": "", "coach_name": ""}, "mentor_id", "outside coach"),
    ({"member_ids": []}, "member_ids", "Choose the companies invited."),
    ({"place": "", "online_url": ""}, "place", "Give the place, the online link, or both."),
    ({"duration_minutes": "5"}, "duration_minutes", "from 15 to 600"),
    ({"day": "2020-01-01"}, "day", "while the cohort runs"),
    ({"day": "not a day"}, "day", "Enter the day like 2027-03-10."),
    ({"online_url": "javascript:alert(1)"}, "online_url", "https://"),
    ({"kind": "one_to_one", "member_ids": ["GAMMA"]}, "member_ids", ""),
])
def test_bad_session_input_is_refused_next_to_the_field(app, client, world, overrides, field, message):
    login(client, "staff@example.eu")
    if overrides.get("member_ids") == ["GAMMA"]:
        overrides["member_ids"] = [str(world.members["Gamma"])]  # Maria does not mentor Gamma
        message = "not the confirmed mentor"
    response = post(client, f"/cohorts/{world.cohort_id}/sessions/new", session_form(world, **overrides))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html or f'href="#{field}"' in html
    assert message in html
    assert "Torino Wireless" in html or overrides.get("place") == ""  # what was typed is kept
    assert count(app, CoachingSession) == 0


def test_a_mentor_plans_one_to_one_sessions_with_their_own_companies_only(app, client, world, outbox):
    login(client, "maria@example.eu")
    url = f"/cohorts/{world.cohort_id}/sessions/new"
    page = client.get(url).get_data(as_text=True)
    assert "Alfa S.r.l." in page and "Beta S.r.l." in page and "Gamma S.r.l." not in page
    # Gamma is Otto's: refused, nothing saved.
    response = post(client, url, session_form(world, member_ids=[str(world.members["Gamma"])]))
    assert response.status_code == 200 and "that you mentor" in response.get_data(as_text=True)
    # Two companies for a one-to-one: refused.
    response = post(client, url, session_form(world))
    assert response.status_code == 200 and "exactly one company" in response.get_data(as_text=True)
    assert count(app, CoachingSession) == 0
    # A group kind or another mentor sent by hand are ignored: a mentor plans one-to-one sessions they lead.
    response = post(client, url, session_form(world, member_ids=[str(world.members["Alfa"])], kind="group",
                                              mentor_id=str(world.mentors["otto"])))
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(CoachingSession))
        assert session.kind == SessionKind.ONE_TO_ONE.value and session.mentor_id == world.mentors["maria"]
        assert [m.id for m in session.invitees] == [world.members["Alfa"]]
    assert {m["To"] for m in outbox()} == {"alfa@example.eu"}


def test_others_cannot_plan_sessions(app, client, world):
    login(client, "otto@example.eu")
    # Otto mentors Gamma only: Alfa is not his.
    response = post(client, f"/cohorts/{world.cohort_id}/sessions/new",
                    session_form(world, member_ids=[str(world.members["Alfa"])]))
    assert response.status_code == 200 and "that you mentor" in response.get_data(as_text=True)
    client = as_user(app, "alfa@example.eu")
    assert client.get(f"/cohorts/{world.cohort_id}/sessions/new").status_code == 404
    client = as_user(app, "zeta@example.eu")
    assert client.get(f"/cohorts/{world.cohort_id}/sessions/new").status_code == 404
    assert client.get(f"/cohorts/{world.cohort_id}/sessions").status_code == 404


def test_staff_change_a_session_and_the_invitees_are_told(app, client, world, outbox):
    session_id = add_session(app, world, invited=("Alfa",), starts_at=utcnow() + timedelta(days=3))
    login(client, "staff@example.eu")
    url = f"/sessions/{session_id}/edit"
    assert client.get(url).status_code == 200
    response = post(client, url, session_form(world, start_time="14:00",
                                              member_ids=[str(world.members["Alfa"]), str(world.members["Beta"])]))
    assert response.status_code == 302
    with app.app_context():
        session = db.session.get(CoachingSession, session_id)
        assert to_local(session.starts_at, ZONE).strftime("%H:%M") == "14:00"
        assert len(session.invitees) == 2
    subjects = {(m["To"], m["Subject"]) for m in outbox()}
    assert ("alfa@example.eu", "Session changed: Raising a seed round") in subjects
    assert ("beta@example.eu", "Coaching session: Raising a seed round") in subjects


# --- the calendar ---------------------------------------------------------------------------------------


def test_the_calendar_shows_each_reader_their_own_sessions(app, client, world):
    now = utcnow()
    group = add_session(app, world, title="Seed round workshop", starts_at=now + timedelta(days=2))
    alfa_one = add_session(app, world, invited=("Alfa",), kind=SessionKind.ONE_TO_ONE, title="Alfa export plan",
                           starts_at=now - timedelta(days=3), theme_id=world.themes["marketing"])
    gamma_one = add_session(app, world, invited=("Gamma",), mentor="otto", kind=SessionKind.ONE_TO_ONE,
                            title="Gamma hiring plan", starts_at=now + timedelta(days=5))
    assert group and alfa_one and gamma_one

    login(client, "staff@example.eu")
    html = client.get(f"/cohorts/{world.cohort_id}/sessions").get_data(as_text=True)
    for title in ("Seed round workshop", "Alfa export plan", "Gamma hiring plan", "Upcoming", "Past", "Week of"):
        assert title in html
    assert html.index("Seed round workshop") < html.index("Gamma hiring plan") < html.index("Alfa export plan")
    filtered = client.get(f"/cohorts/{world.cohort_id}/sessions?kind=one_to_one").get_data(as_text=True)
    assert "Seed round workshop" not in filtered and "Gamma hiring plan" in filtered
    filtered = client.get(f"/cohorts/{world.cohort_id}/sessions?theme={world.themes['marketing']}").get_data(
        as_text=True)
    assert "Alfa export plan" in filtered and "Gamma hiring plan" not in filtered
    # A filter value that is not a choice is ignored, never an error page.
    assert client.get(f"/cohorts/{world.cohort_id}/sessions?theme=drop&kind=x").status_code == 200
    client = as_user(app, "beta@example.eu")
    html = client.get(f"/cohorts/{world.cohort_id}/sessions").get_data(as_text=True)
    assert "Seed round workshop" in html and "Alfa export plan" not in html and "Gamma hiring plan" not in html
    assert client.get(f"/sessions/{alfa_one}").status_code == 404
    client = as_user(app, "otto@example.eu")
    html = client.get(f"/cohorts/{world.cohort_id}/sessions").get_data(as_text=True)
    assert "Gamma hiring plan" in html and "Seed round workshop" not in html
    assert client.get(f"/sessions/{group}").status_code == 404


def ics_events(client, cohort_id: int) -> list:
    response = client.get(f"/cohorts/{cohort_id}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = Calendar.from_ical(response.data)
    assert calendar.walk("VTIMEZONE") and calendar.walk("VTIMEZONE")[0]["TZID"] == ZONE
    return calendar.walk("VEVENT")


def test_the_icalendar_file_has_one_event_per_session_with_stable_uids(app, client, world):
    now = utcnow()
    first = add_session(app, world, title="Seed round workshop", starts_at=now + timedelta(days=2),
                        duration_minutes=90)
    second = add_session(app, world, invited=("Beta",), kind=SessionKind.ONE_TO_ONE, title="Beta pricing",
                         starts_at=now + timedelta(days=4))
    add_session(app, world, invited=("Gamma",), mentor="otto", kind=SessionKind.ONE_TO_ONE, title="Gamma only",
                starts_at=now + timedelta(days=4))
    login(client, "alfa@example.eu")
    events = ics_events(client, world.cohort_id)
    assert [str(e["UID"]) for e in events] == [f"coaching-session-{first}@opsapp"]
    event = events[0]
    assert str(event["SUMMARY"]) == "Seed round workshop" and str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt.tzinfo is not None and event["DTSTART"].params["TZID"] == ZONE
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=90)
    assert "Torino Wireless" in str(event["LOCATION"])
    client = as_user(app, "maria@example.eu")
    uids = sorted(str(e["UID"]) for e in ics_events(client, world.cohort_id))
    assert uids == sorted([f"coaching-session-{first}@opsapp", f"coaching-session-{second}@opsapp"])
    # Cancelled: the same UID, now CANCELLED, so calendars remove it.
    post(client, f"/sessions/{first}/cancel", {"reason": "The speaker is ill."}, page=f"/sessions/{first}")
    events = {str(e["UID"]): e for e in ics_events(client, world.cohort_id)}
    assert str(events[f"coaching-session-{first}@opsapp"]["STATUS"]) == "CANCELLED"
    assert int(events[f"coaching-session-{first}@opsapp"]["SEQUENCE"]) > 0
    assert str(events[f"coaching-session-{second}@opsapp"]["STATUS"]) == "CONFIRMED"
    client = as_user(app, "zeta@example.eu")
    assert client.get(f"/cohorts/{world.cohort_id}/calendar.ics").status_code == 404


# --- cancelling ----------------------------------------------------------------------------------------


def test_cancelling_tells_the_invitees_and_a_started_session_cannot_be_cancelled(app, client, world, outbox):
    coming = add_session(app, world, invited=("Alfa", "Beta"), starts_at=utcnow() + timedelta(days=2))
    held = add_session(app, world, invited=("Alfa",), starts_at=utcnow() - timedelta(hours=1))
    login(client, "alfa@example.eu")
    assert client.post(f"/sessions/{coming}/cancel", data={
        "csrf_token": csrf_from(client.get(f"/sessions/{coming}").get_data(as_text=True))}).status_code == 404
    client = as_user(app, "maria@example.eu")
    response = post(client, f"/sessions/{coming}/cancel", {"reason": "Speaker ill"}, page=f"/sessions/{coming}")
    assert response.status_code == 302
    mails = {m["To"]: m for m in outbox()}
    assert set(mails) == {"alfa@example.eu", "beta@example.eu"}
    assert "Speaker ill" in mails["beta@example.eu"].get_body(preferencelist=("plain",)).get_content()
    response = post(client, f"/sessions/{held}/cancel", {"reason": ""}, page=f"/sessions/{held}")
    assert response.status_code == 302
    assert "already started" in client.get(f"/sessions/{held}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CoachingSession, coming).cancelled_at is not None
        assert db.session.get(CoachingSession, held).cancelled_at is None


# --- attendance and hours ------------------------------------------------------------------------------------


def test_attendance_after_the_start_gives_the_hours(app, client, world):
    coming = add_session(app, world, starts_at=utcnow() + timedelta(days=1))
    finance = add_session(app, world, starts_at=utcnow() - timedelta(days=2), duration_minutes=120)
    marketing = add_session(app, world, invited=("Alfa",), kind=SessionKind.ONE_TO_ONE,
                            theme_id=world.themes["marketing"], starts_at=utcnow() - timedelta(days=1),
                            duration_minutes=90)
    login(client, "maria@example.eu")
    page = client.get(f"/sessions/{coming}/attendance").get_data(as_text=True)
    assert "once the session has started" in page
    response = post(client, f"/sessions/{coming}/attendance", {"present": [str(world.members["Alfa"])]},
                    page=f"/sessions/{finance}/attendance")
    assert response.status_code == 200 and "once the session has started" in response.get_data(as_text=True)
    assert count(app, Attendance) == 0

    url = f"/sessions/{finance}/attendance"
    response = post(client, url, {"present": [str(world.members["Alfa"]), str(world.members["Beta"])]})
    assert response.status_code == 302
    assert post(client, f"/sessions/{marketing}/attendance", {"present": [str(world.members["Alfa"])]}).status_code \
        == 302
    # A company not invited cannot be ticked.
    response = post(client, f"/sessions/{marketing}/attendance", {"present": [str(world.members["Beta"])]})
    assert response.status_code == 200 and "Tick only companies invited" in response.get_data(as_text=True)
    # Changing the marks later: Beta was not there after all.
    assert post(client, url, {"present": [str(world.members["Alfa"])]}).status_code == 302

    with app.app_context():
        hours = sessions.hours_by_member(world.cohort_id)
        assert hours[world.members["Alfa"]] == {world.themes["finance"]: Decimal("2.00"),
                                                world.themes["marketing"]: Decimal("1.50")}
        assert world.members["Beta"] not in hours and world.members["Gamma"] not in hours
        assert sessions.sessions_attended(world.cohort_id) == {world.members["Alfa"]: 2}
        rows = {a.member_id: a.attended for a in db.session.scalars(
            select(Attendance).where(Attendance.session_id == finance))}
        assert rows == {world.members["Alfa"]: True, world.members["Beta"]: False, world.members["Gamma"]: False}

    # Otto leads neither session: 404; the company may read the session but not take attendance.
    client = as_user(app, "otto@example.eu")
    assert client.get(f"/sessions/{finance}/attendance").status_code == 404
    client = as_user(app, "alfa@example.eu")
    assert client.get(f"/sessions/{finance}").status_code == 200
    assert client.get(f"/sessions/{finance}/attendance").status_code == 404
    page = client.get(f"/cohorts/{world.cohort_id}/members/{world.members['Alfa']}/milestones").get_data(
        as_text=True)
    assert "3.5 hours in 2 sessions attended" in page


def test_hours_leave_out_cancelled_sessions(app, world):
    held = add_session(app, world, starts_at=utcnow() - timedelta(days=2), duration_minutes=60)
    cancelled = add_session(app, world, starts_at=utcnow() - timedelta(days=1), duration_minutes=60,
                            cancelled_at=utcnow() - timedelta(days=3))
    mark(app, held, world, Alfa=True)
    mark(app, cancelled, world, Alfa=True)
    with app.app_context():
        assert sessions.hours_by_member(world.cohort_id) == {world.members["Alfa"]: {world.themes["finance"]:
                                                                                    Decimal("1.00")}}


# --- notes: private --------------------------------------------------------------------------------------------


def test_notes_are_private_to_staff_the_company_and_the_sessions_mentor(app, client, world, outbox):
    held = add_session(app, world, starts_at=utcnow() - timedelta(days=1), title="Pitch clinic")
    mark(app, held, world, Alfa=True, Beta=True, Gamma=True)
    alfa, beta, gamma = world.members["Alfa"], world.members["Beta"], world.members["Gamma"]

    login(client, "maria@example.eu")
    response = post(client, f"/sessions/{held}/notes/{alfa}", {"body": "ALFA-SECRET: the deck needs numbers."})
    assert response.status_code == 302
    assert post(client, f"/sessions/{held}/notes/{beta}", {"body": "BETA-SECRET: pricing unclear."}).status_code \
        == 302
    response = post(client, f"/sessions/{held}/notes/{gamma}", {"body": ""})
    assert response.status_code == 200 and "Write the note." in response.get_data(as_text=True)
    assert "ALFA-SECRET" in client.get(f"/sessions/{held}/notes/{alfa}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(SessionNote.id))) == 2
        # The text stays out of the audit log.
        details = [str(e.detail) for e in db.session.scalars(select(AuditEntry))]
        assert not any("SECRET" in d for d in details)
    assert {m["To"] for m in outbox()} == {"alfa@example.eu", "beta@example.eu"}

    # The company reads its own note only.
    client = as_user(app, "alfa@example.eu")
    assert "ALFA-SECRET" in client.get(f"/sessions/{held}/notes/{alfa}").get_data(as_text=True)
    assert client.get(f"/sessions/{held}/notes/{beta}").status_code == 404
    page = client.get(f"/sessions/{held}").get_data(as_text=True)
    assert f"/sessions/{held}/notes/{alfa}" in page and f"/sessions/{held}/notes/{beta}" not in page
    assert "BETA-SECRET" not in page
    progress_page = client.get(f"/cohorts/{world.cohort_id}/members/{alfa}/milestones").get_data(as_text=True)
    assert f"/sessions/{held}/notes/{alfa}" in progress_page
    # Writing is for the mentor and staff: a company POST changes nothing.
    token = csrf_from(page)
    assert client.post(f"/sessions/{held}/notes/{alfa}", data={"csrf_token": token, "body": "x"}).status_code == 404
    client = as_user(app, "gamma@example.eu")
    assert client.get(f"/sessions/{held}/notes/{alfa}").status_code == 404
    assert client.get(f"/sessions/{held}/notes/{gamma}").status_code == 200

    # Otto mentors Gamma but did not lead the session: he reads no note of it, not even Gamma's.
    client = as_user(app, "otto@example.eu")
    for member_id in (alfa, beta, gamma):
        assert client.get(f"/sessions/{held}/notes/{member_id}").status_code == 404
    page = client.get(f"/cohorts/{world.cohort_id}/members/{gamma}/milestones").get_data(as_text=True)
    assert f"/sessions/{held}/notes/" not in page
    assert client.get(f"/cohorts/{world.cohort_id}/members/{alfa}/milestones").status_code == 404
    client = as_user(app, "staff@example.eu")
    assert "BETA-SECRET" in client.get(f"/sessions/{held}/notes/{beta}").get_data(as_text=True)
    assert client.get(f"/sessions/{held}/notes/{gamma}").status_code == 200


def test_notes_wait_for_the_session_to_start(app, client, world):
    coming = add_session(app, world, starts_at=utcnow() + timedelta(days=1))
    login(client, "maria@example.eu")
    response = post(client, f"/sessions/{coming}/notes/{world.members['Alfa']}", {"body": "Too early"})
    assert response.status_code == 200
    assert "once the session has started" in response.get_data(as_text=True)
    assert count(app, SessionNote) == 0


# --- home panels -----------------------------------------------------------------------------------------


def test_home_panels_of_mentors_and_companies(app, client, world):
    add_session(app, world, title="Coming workshop", starts_at=utcnow() + timedelta(days=2))
    held = add_session(app, world, title="Held clinic", starts_at=utcnow() - timedelta(days=2))
    mark(app, held, world, Alfa=True, Beta=False)
    login(client, "maria@example.eu")
    html = client.get("/").get_data(as_text=True)
    assert "Next sessions" in html and "Coming workshop" in html
    assert "Notes to write" in html and f"/sessions/{held}/notes/{world.members['Alfa']}" in html
    assert f"/sessions/{held}/notes/{world.members['Beta']}" not in html  # Beta was absent
    post(client, f"/sessions/{held}/notes/{world.members['Alfa']}", {"body": "Good progress."})
    assert "Notes to write" not in client.get("/").get_data(as_text=True)
    client = as_user(app, "beta@example.eu")
    html = client.get("/").get_data(as_text=True)
    assert "Coaching sessions" in html and "Coming workshop" in html and "Held clinic" not in html
    client = as_user(app, "zeta@example.eu")
    assert "Coaching sessions" not in client.get("/").get_data(as_text=True)


# --- the pages' markup ---------------------------------------------------------------------------------


def test_every_page_has_one_h1_and_unique_ids(app, client, world, outbox):
    import re

    from opsapp.calls.models import Obligation
    from opsapp.cohorts.models import InvestorIntroduction, Milestone

    held = add_session(app, world, starts_at=utcnow() - timedelta(days=1))
    mark(app, held, world, Alfa=True)
    with app.app_context():
        investor = make_organisation(kind="investor", legal_name="Piemonte Ventures SGR")
        db.session.add_all([
            Milestone(member_id=world.members["Alfa"], title="Goal", due_on=utcnow().date() + timedelta(days=3)),
            Milestone(member_id=world.members["Alfa"], title="Late", due_on=utcnow().date() - timedelta(days=3)),
            Obligation(organisation_id=world.organisations["Alfa"], kind="relocate_seat", status="open"),
            Obligation(organisation_id=world.organisations["Beta"], kind="relocate_seat", status="open"),
            InvestorIntroduction(member_id=world.members["Alfa"], investor_id=investor.id,
                                 introduced_on=utcnow().date(), outcome="pending"),
        ])
        db.session.commit()
        intro_id = db.session.scalar(select(InvestorIntroduction.id))
    pages = {
        "staff@example.eu": [f"/cohorts/{world.cohort_id}/sessions", f"/cohorts/{world.cohort_id}/sessions/new",
                             f"/sessions/{held}", f"/sessions/{held}/attendance", f"/sessions/{held}/edit",
                             f"/sessions/{held}/notes/{world.members['Alfa']}",
                             f"/cohorts/{world.cohort_id}/members/{world.members['Alfa']}/milestones",
                             f"/cohorts/{world.cohort_id}/introductions", f"/introductions/{intro_id}", "/"],
        "maria@example.eu": [f"/cohorts/{world.cohort_id}/sessions/new", f"/sessions/{held}", "/"],
        "alfa@example.eu": [f"/cohorts/{world.cohort_id}/members/{world.members['Alfa']}/milestones", "/",
                            f"/sessions/{held}"],
    }
    for email, urls in pages.items():
        reader = as_user(app, email)
        for url in urls:
            response = reader.get(url)
            assert response.status_code == 200, (email, url)
            html = response.get_data(as_text=True)
            ids = re.findall(r'\sid="([^"]+)"', html)
            duplicates = {i for i in ids if ids.count(i) > 1}
            assert not duplicates, (email, url, duplicates)
            assert html.count("<h1") == 1, (email, url)
            assert 'style="' not in html and "onclick" not in html
