"""Milestones through the HTTP client: agreed per company by staff or its mentor; the company
reports one achieved with its evidence; the mentor or staff confirm it or send it back with a
note (all through the audited lifecycle, the other side told); overdue ones flagged; the weekly
reminder (once a week per milestone: a second run the same day sends nothing); the figures for
the progress board; the home panels. Anyone else gets 404.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsapp.cohorts import progress
from opsapp.cohorts.models import Cohort, CohortStatus, Milestone, MilestoneStatus
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from tests.factories import login
from tests.integration.test_cohort_sessions import World, as_user, build_world, post


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def page_url(world: World, company: str = "Alfa") -> str:
    return f"/cohorts/{world.cohort_id}/members/{world.members[company]}/milestones"


def today():
    return to_local(utcnow(), "Europe/Rome").date()


def add_milestone(app, world: World, company: str = "Alfa", due_in_days: int = 20,
                  status: MilestoneStatus = MilestoneStatus.PLANNED, title: str = "First export order") -> int:
    with app.app_context():
        milestone = Milestone(member_id=world.members[company], title=title, status=status.value,
                              due_on=today() + timedelta(days=due_in_days))
        db.session.add(milestone)
        db.session.commit()
        return milestone.id


def update(client, world: World, milestone_id: int, action: str, company: str = "Alfa", **fields):
    prefix = f"milestone-{milestone_id}"
    data = {f"{prefix}-action": action, **{f"{prefix}-{k}": v for k, v in fields.items()}}
    token_page = client.get(page_url(world, company)).get_data(as_text=True)
    from tests.conftest import csrf_from

    return client.post(f"/milestones/{milestone_id}", data={f"{prefix}-csrf_token": csrf_from(token_page),
                                                             "csrf_token": csrf_from(token_page), **data})


def status_of(app, milestone_id: int) -> str:
    with app.app_context():
        return db.session.get(Milestone, milestone_id).status


def test_the_full_flow_agree_report_send_back_confirm(app, client, world, outbox):
    login(client, "maria@example.eu")
    due = today() + timedelta(days=30)
    response = post(client, page_url(world), {"title": "First export order", "theme_id": str(world.themes["marketing"]),
                                              "due_on": due.isoformat(), "evidence": "The signed order."})
    assert response.status_code == 302
    with app.app_context():
        milestone = db.session.scalar(select(Milestone))
        assert (milestone.title, milestone.due_on, milestone.status) == ("First export order", due, "planned")
        milestone_id = milestone.id
    assert {m["To"] for m in outbox()} == {"alfa@example.eu"}

    # The company reports it: evidence required.
    alfa = as_user(app, "alfa@example.eu")
    page = alfa.get(page_url(world)).get_data(as_text=True)
    assert "First export order" in page and "Report it achieved" in page and "Confirm it achieved" not in page
    update(alfa, world, milestone_id, "report", evidence="")
    assert status_of(app, milestone_id) == "planned"
    assert "Give the evidence" in alfa.get(page_url(world)).get_data(as_text=True)
    assert update(alfa, world, milestone_id, "report", evidence="Order 2027/14 from Lyon").status_code == 302
    assert status_of(app, milestone_id) == "reported"
    # The company cannot confirm its own milestone.
    update(alfa, world, milestone_id, "confirm")
    assert status_of(app, milestone_id) == "reported"

    # The mentor sends it back with a note (required), then it is reported again and confirmed.
    update(client, world, milestone_id, "send_back", note="")
    assert status_of(app, milestone_id) == "reported"
    update(client, world, milestone_id, "send_back", note="Attach the signed order, please.")
    assert status_of(app, milestone_id) == "planned"
    assert "Attach the signed order" in alfa.get(page_url(world)).get_data(as_text=True)
    update(alfa, world, milestone_id, "report", evidence="Signed order attached: https://files.example.eu/o14")
    as_staff = as_user(app, "staff@example.eu")
    assert update(as_staff, world, milestone_id, "confirm").status_code == 302
    with app.app_context():
        milestone = db.session.get(Milestone, milestone_id)
        assert milestone.status == "confirmed" and milestone.confirmed_at is not None
        assert "o14" in milestone.evidence
        changes = [e.detail["new"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "milestones.status_changed").order_by(AuditEntry.id))]
        assert changes == ["reported", "planned", "reported", "confirmed"]
        assert progress.milestones_achieved(world.cohort_id) == {world.members["Alfa"]: 1}
    subjects = [(m["To"], m["Subject"]) for m in outbox()]
    assert ("maria@example.eu", "Milestone reported achieved: First export order") in subjects
    assert ("alfa@example.eu", "Milestone sent back: First export order") in subjects
    assert ("alfa@example.eu", "Milestone confirmed: First export order") in subjects
    # Confirmed is final: nothing more to do on it.
    update(as_staff, world, milestone_id, "send_back", note="x")
    assert status_of(app, milestone_id) == "confirmed"


def test_bad_milestones_are_refused_and_nothing_is_saved(app, client, world):
    login(client, "staff@example.eu")
    response = post(client, page_url(world), {"title": "", "due_on": "31/05/2027", "evidence": "kept text"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Give the milestone a title." in html and "Enter the day like 2027-03-10." in html
    assert "kept text" in html
    response = post(client, page_url(world), {"title": "Too early", "due_on": "2001-01-01"})
    assert response.status_code == 200 and "after the cohort starts" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Milestone.id))) == 0


def test_who_may_agree_and_see_milestones(app, client, world):
    milestone_id = add_milestone(app, world)
    # The company sees its page but agrees nothing.
    login(client, "alfa@example.eu")
    page = client.get(page_url(world)).get_data(as_text=True)
    assert "Agree a milestone" not in page
    post(client, page_url(world), {"title": "Self-made", "due_on": today().isoformat()})
    # Another company, another mentor, an outsider: 404, also for updates.
    for email in ("beta@example.eu", "otto@example.eu", "zeta@example.eu"):
        other = as_user(app, email)
        assert other.get(page_url(world)).status_code == 404
        token_page = other.get("/").get_data(as_text=True)
        from tests.conftest import csrf_from

        response = other.post(f"/milestones/{milestone_id}", data={
            "csrf_token": csrf_from(token_page), f"milestone-{milestone_id}-csrf_token": csrf_from(token_page),
            f"milestone-{milestone_id}-action": "confirm"})
        assert response.status_code == 404
    assert client.get(f"/cohorts/{world.cohort_id}/members/999/milestones").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(Milestone.id))) == 1
    assert status_of(app, milestone_id) == "planned"


def test_overdue_milestones_are_flagged(app, client, world):
    add_milestone(app, world, due_in_days=-3, title="Late hire")
    add_milestone(app, world, due_in_days=10, title="Future goal")
    login(client, "alfa@example.eu")
    html = client.get(page_url(world)).get_data(as_text=True)
    assert "1 milestone is overdue." in html and "Overdue" in html
    staff = as_user(app, "staff@example.eu")
    home = staff.get("/").get_data(as_text=True)
    assert "Overdue milestones" in home and "Late hire" in home and "Future goal" not in home
    home = client.get("/").get_data(as_text=True)
    assert "Milestones due" in home and "Late hire" in home and "Future goal" in home


def test_the_weekly_reminder_of_overdue_milestones(app, world, outbox):
    late = add_milestone(app, world, due_in_days=-2, title="Late hire")
    add_milestone(app, world, due_in_days=30, title="Not yet due")
    add_milestone(app, world, company="Beta", due_in_days=-9, status=MilestoneStatus.CONFIRMED, title="Done")
    now = utcnow()
    with app.app_context():
        assert progress.remind_overdue_milestones(now) == 1
        db.session.commit()
    mails = sorted((m["To"], m["Subject"]) for m in outbox())
    assert mails == [("alfa@example.eu", "Overdue milestone: Late hire"),
                     ("maria@example.eu", "Overdue milestone: Late hire")]
    # A second run the same day, or within the week, sends nothing.
    with app.app_context():
        assert progress.remind_overdue_milestones(now + timedelta(hours=3)) == 0
        assert progress.remind_overdue_milestones(now + timedelta(days=6)) == 0
        db.session.commit()
    assert len(outbox()) == 2
    # A week later: reminded again.
    with app.app_context():
        assert progress.remind_overdue_milestones(now + timedelta(days=7)) == 1
        db.session.commit()
        assert db.session.get(Milestone, late).last_reminded_on == to_local(now + timedelta(days=7),
                                                                            "Europe/Rome").date()
        assert db.session.scalar(select(func.count(Notification.id))) == 4
    assert len(outbox()) == 4
    # A completed cohort is not reminded.
    with app.app_context():
        db.session.get(Cohort, world.cohort_id).status = CohortStatus.COMPLETED.value
        db.session.commit()
        assert progress.remind_overdue_milestones(now + timedelta(days=30)) == 0


def test_the_job_runs_the_reminder_once_per_day(app, world, outbox):
    from opsapp import jobs

    add_milestone(app, world, due_in_days=-2, title="Late hire")
    with app.app_context():
        now = utcnow()
        first = jobs.run_job("cohorts_milestone_reminders", now)
        second = jobs.run_job("cohorts_milestone_reminders", now + timedelta(minutes=5))
    assert first.endswith("1 milestone reminders") and second.endswith("already done")
    assert len(outbox()) == 2
