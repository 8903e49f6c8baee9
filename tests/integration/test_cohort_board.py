"""The progress board of a cohort (`cohorts.board`): each company's attendance, hours (in all and
per theme), milestones, mentor, obligations and whether it meets the completion criteria now;
sorting, CSV and XLSX exports; a mentor sees only their companies; a fixed number of queries
whatever the number of companies.

The world (`build_world`, also used by the seal tests): a running cohort with criteria of 3 hours,
2 sessions and 1 milestone, and three companies:

- Alfa Robotica: two sessions attended (2 h finance, 1.5 h marketing), one milestone confirmed
  and one overdue: meets the criteria;
- Beta Tessile: one session (2 h), no milestone: does not;
- Gamma Sensori: invited, attended nothing, an open obligation to move its seat.

A cancelled session Alfa "attended" and a future session count for nothing. Mentor Maria
mentors Alfa and Beta; mentor Otto mentors Gamma.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event as sa_event

from opsapp.calls.models import Obligation
from opsapp.cohorts.models import (
    Attendance,
    CohortStatus,
    Mentorship,
    Milestone,
    MilestoneStatus,
    SessionKind,
)
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.factories import login, make_organisation, make_user
from tests.factories_cohorts import make_cohort, make_member, make_mentor, make_session, make_themes


@dataclass
class World:
    cohort_id: int
    members: dict[str, int]
    organisations: dict[str, int]
    vat: dict[str, str]
    mentors: dict[str, int]


def _company(name: str, email: str) -> tuple:
    owner = make_user(email, roles=[Role.APPLICANT], full_name=f"{name.split()[0]} Owner")
    organisation = make_organisation(owner=owner, legal_name=name, kind="startup")
    return owner, organisation


def build_world(app, status: CohortStatus = CohortStatus.RUNNING, **cohort_fields) -> World:
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        make_user("authority@example.eu", roles=[Role.AUTHORITY], full_name="Aldo Authority")
        finance, marketing, _hr = make_themes()
        cohort = make_cohort(status, min_hours=Decimal("3"), min_sessions=2, min_milestones=1,
                             name="Business Accelerator 2027 cohort", **cohort_fields)
        members, organisations, vat = {}, {}, {}
        for name, email in (("Alfa Robotica S.r.l.", "alfa.owner@example.eu"),
                            ("Beta Tessile S.p.A.", "beta.owner@example.eu"),
                            ("Gamma Sensori S.r.l.", "gamma.owner@example.eu")):
            owner, organisation = _company(name, email)
            member = make_member(cohort, user=owner, organisation=organisation)
            members[name.split()[0]] = member.id
            organisations[name.split()[0]] = organisation.id
            vat[name.split()[0]] = organisation.vat_number
        alfa, beta, gamma = members["Alfa"], members["Beta"], members["Gamma"]
        maria = make_mentor(make_user("maria.mentor@example.eu", roles=[Role.MENTOR], full_name="Maria Mentore"))
        otto = make_mentor(make_user("otto.mentor@example.eu", roles=[Role.MENTOR], full_name="Otto Mentore"))
        make_user("idle.mentor@example.eu", roles=[Role.MENTOR], full_name="Ida Idle")
        now = utcnow()
        for member_id, mentor in ((alfa, maria), (beta, maria), (gamma, otto)):
            db.session.add(Mentorship(member_id=member_id, mentor_id=mentor.id, confirmed_at=now - timedelta(days=20)))
        from opsapp.cohorts.models import CohortMember
        everyone = [db.session.get(CohortMember, m) for m in (alfa, beta, gamma)]
        group = make_session(cohort, everyone, mentor=maria, theme_id=finance.id, duration_minutes=120,
                             starts_at=now - timedelta(days=10), title="Raising a seed round")
        one = make_session(cohort, everyone[:1], mentor=maria, kind=SessionKind.ONE_TO_ONE, theme_id=marketing.id,
                           duration_minutes=90, starts_at=now - timedelta(days=5), title="Export plan review")
        cancelled = make_session(cohort, everyone, theme_id=finance.id, duration_minutes=60,
                                 starts_at=now - timedelta(days=3), cancelled_at=now - timedelta(days=4),
                                 title="Cancelled workshop")
        make_session(cohort, everyone, theme_id=marketing.id, starts_at=now + timedelta(days=7), title="Next month")
        db.session.add_all([
            Attendance(session_id=group.id, member_id=alfa, attended=True),
            Attendance(session_id=group.id, member_id=beta, attended=True),
            Attendance(session_id=group.id, member_id=gamma, attended=False),
            Attendance(session_id=one.id, member_id=alfa, attended=True),
            Attendance(session_id=cancelled.id, member_id=alfa, attended=True),
        ])
        today = now.date()
        db.session.add_all([
            Milestone(member_id=alfa, title="First export order", due_on=today - timedelta(days=2),
                      status=MilestoneStatus.CONFIRMED.value, confirmed_at=now),
            Milestone(member_id=alfa, title="Hire a sales lead", due_on=today - timedelta(days=1),
                      status=MilestoneStatus.PLANNED.value),
            Milestone(member_id=beta, title="Pitch deck", due_on=today + timedelta(days=20),
                      status=MilestoneStatus.REPORTED.value),
        ])
        db.session.add(Obligation(organisation_id=organisations["Gamma"], kind="relocate_seat", status="open",
                                  note="Seat in Piemonte within six months."))
        db.session.commit()
        return World(cohort.id, members, organisations, vat, {"maria": maria.id, "otto": otto.id})


def add_companies(app, cohort_id: int, n: int) -> None:
    """More companies, each with a session attended, a milestone and a mentor: the board's
    queries must not grow with them."""
    with app.app_context():
        from opsapp.cohorts.models import Cohort

        cohort = db.session.get(Cohort, cohort_id)
        finance = make_themes()[0]
        mentor = make_mentor()
        now = utcnow()
        for i in range(n):
            owner, organisation = _company(f"Extra {i:02d} S.r.l.", f"extra{i}@example.eu")
            member = make_member(cohort, user=owner, organisation=organisation)
            session = make_session(cohort, [member], mentor=mentor, theme_id=finance.id,
                                   starts_at=now - timedelta(days=2, hours=i))
            db.session.add(Attendance(session_id=session.id, member_id=member.id, attended=True))
            db.session.add(Milestone(member_id=member.id, title="A goal", due_on=now.date(),
                                     status=MilestoneStatus.CONFIRMED.value))
            db.session.add(Mentorship(member_id=member.id, mentor_id=mentor.id, confirmed_at=now))
            db.session.add(Obligation(organisation_id=organisation.id, kind="relocate_seat", status="open"))
        db.session.commit()


def board_csv(client, cohort_id: int, **args) -> list[dict]:
    response = client.get(f"/cohorts/{cohort_id}/board", query_string={"export": "csv", **args})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def test_staff_see_every_company_with_its_figures(client, world):
    login(client, "staff@example.eu")
    page = client.get(f"/cohorts/{world.cohort_id}/board")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("Alfa Robotica S.r.l.", "Beta Tessile S.p.A.", "Gamma Sensori S.r.l.", "Maria Mentore",
                 "Otto Mentore", "Entrepreneurial finance", "1 of 3 companies meet the criteria now"):
        assert name in html
    assert "Hours attended: 2 of 3 (not met)" in html  # Beta's reasons
    assert f"/cohorts/{world.cohort_id}/members/{world.members['Alfa']}/completion" in html

    rows = {row["Company"]: row for row in board_csv(client, world.cohort_id)}
    alfa, beta, gamma = rows["Alfa Robotica S.r.l."], rows["Beta Tessile S.p.A."], rows["Gamma Sensori S.r.l."]
    assert (alfa["Sessions attended"], alfa["Sessions invited"], alfa["Hours attended"]) == ("2", "2", "3.50")
    assert alfa["Hours: Entrepreneurial finance"] == "2.00"
    assert alfa["Hours: International marketing"] == "1.50"
    assert (alfa["Milestones confirmed"], alfa["Milestones agreed"], alfa["Milestones overdue"]) == ("1", "2", "1")
    assert alfa["Meets the completion criteria now"] == "yes" and alfa["Not met"] == ""
    assert alfa["Mentor"] == "Maria Mentore"
    assert (beta["Sessions attended"], beta["Sessions invited"], beta["Hours attended"]) == ("1", "1", "2.00")
    assert beta["Meets the completion criteria now"] == "no"
    assert "Hours attended: 2 of 3" in beta["Not met"] and "Milestones achieved: 0 of 1" in beta["Not met"]
    assert (gamma["Sessions attended"], gamma["Sessions invited"], gamma["Hours attended"]) == ("0", "1", "0.00")
    assert gamma["Open obligations"] == "1" and alfa["Open obligations"] == "0"
    assert gamma["Completion"] == "In progress"


def test_columns_sort_both_ways(client, world):
    login(client, "staff@example.eu")
    names = [r["Company"].split()[0] for r in board_csv(client, world.cohort_id, sort="-hours")]
    assert names == ["Alfa", "Beta", "Gamma"]
    names = [r["Company"].split()[0] for r in board_csv(client, world.cohort_id, sort="hours")]
    assert names == ["Gamma", "Beta", "Alfa"]
    names = [r["Company"].split()[0] for r in board_csv(client, world.cohort_id, sort="-obligations")]
    assert names[0] == "Gamma"
    # An unknown sort falls back to the names, never an error.
    names = [r["Company"].split()[0] for r in board_csv(client, world.cohort_id, sort="drop table")]
    assert names == ["Alfa", "Beta", "Gamma"]
    html = client.get(f"/cohorts/{world.cohort_id}/board?sort=-hours").get_data(as_text=True)
    assert 'aria-sort="descending"' in html


def test_the_xlsx_export_keeps_numbers(client, world):
    login(client, "staff@example.eu")
    response = client.get(f"/cohorts/{world.cohort_id}/board?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert float(rows["Alfa Robotica S.r.l."]["Hours attended"]) == 3.5
    assert rows["Beta Tessile S.p.A."]["Sessions attended"] == 1


def test_a_mentor_sees_only_the_rows_of_their_companies(client, world):
    login(client, "maria.mentor@example.eu")
    html = client.get(f"/cohorts/{world.cohort_id}/board").get_data(as_text=True)
    assert "Alfa Robotica S.r.l." in html and "Beta Tessile S.p.A." in html
    assert "Gamma Sensori S.r.l." not in html
    assert "/completion" not in html  # deciding is for staff
    assert [r["Company"] for r in board_csv(client, world.cohort_id)] == ["Alfa Robotica S.r.l.",
                                                                          "Beta Tessile S.p.A."]


def test_another_mentor_sees_their_own_and_a_mentor_of_none_gets_404(app, world):
    otto = app.test_client()
    login(otto, "otto.mentor@example.eu")
    assert [r["Company"] for r in board_csv(otto, world.cohort_id)] == ["Gamma Sensori S.r.l."]
    idle = app.test_client()
    login(idle, "idle.mentor@example.eu")
    assert idle.get(f"/cohorts/{world.cohort_id}/board").status_code == 404
    assert idle.get(f"/cohorts/{world.cohort_id}/board?export=csv").status_code == 404


def test_companies_and_authority_may_not_open_the_board(app, world):
    for email in ("alfa.owner@example.eu", "authority@example.eu"):
        client = app.test_client()
        login(client, email)
        assert client.get(f"/cohorts/{world.cohort_id}/board").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get(f"/cohorts/{world.cohort_id}/board")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_cohort_is_404(client, world):
    login(client, "staff@example.eu")
    assert client.get(f"/cohorts/{world.cohort_id + 999}/board").status_code == 404


def test_an_empty_cohort_says_so(app, client):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        cohort = make_cohort()
        db.session.commit()
        cohort_id = cohort.id
    login(client, "staff@example.eu")
    html = client.get(f"/cohorts/{cohort_id}/board").get_data(as_text=True)
    assert "This cohort has no companies yet." in html


def test_the_board_takes_a_fixed_number_of_queries(app, client, world):
    login(client, "staff@example.eu")

    def queries() -> int:
        seen = []

        def count(*args, **kwargs):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/cohorts/{world.cohort_id}/board").status_code == 200
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = queries()
    add_companies(app, world.cohort_id, 15)
    many = queries()
    assert many == few, f"{few} queries for 3 companies, {many} for 18"
    assert few <= 20
