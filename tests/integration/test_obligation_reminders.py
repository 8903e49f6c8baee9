"""Obligations of cohort companies (moving the seat to the region): listed on the company's page and
the cohort's follow-up page; staff record one fulfilled (date, note) or waived (reason), audited,
the company told; the monthly reminder: run twice in a month, one reminder; the next month, a
second one; none once the obligation is done, none for a cohort that ended over a year ago.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from opsapp.calls.models import Obligation
from opsapp.cohorts import followup
from opsapp.cohorts.models import Cohort, CohortStatus, ObligationReminder
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login
from tests.integration.test_cohort_sessions import World, as_user, build_world


@pytest.fixture
def world(app) -> World:
    return build_world(app)


@pytest.fixture
def obligation_id(app, world) -> int:
    with app.app_context():
        obligation = Obligation(organisation_id=world.organisations["Gamma"], kind="relocate_seat", status="open")
        db.session.add(obligation)
        db.session.commit()
        return obligation.id


def reminders(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ObligationReminder))


def run(app, when: datetime) -> int:
    with app.app_context():
        sent = followup.remind_obligations(when)
        db.session.commit()
        return sent


def test_the_job_reminds_once_per_month(app, world, obligation_id, outbox):
    # 10 March 2027, 23:30 UTC is already 11 March in Rome; 31 March 22:30 UTC is 1 April in Rome.
    march = datetime(2027, 3, 10, 23, 30, tzinfo=UTC)
    assert run(app, march) == 1
    assert run(app, march) == 0  # the same run again
    assert run(app, datetime(2027, 3, 28, 8, 3, tzinfo=UTC)) == 0  # later in the same month
    assert [m["To"] for m in outbox()] == ["gamma@example.eu"]
    assert "Move the registered seat to the region" in outbox()[0]["Subject"]
    assert run(app, datetime(2027, 3, 31, 22, 30, tzinfo=UTC)) == 1  # April in Rome
    assert run(app, datetime(2027, 4, 15, 8, 3, tzinfo=UTC)) == 0
    assert len(outbox()) == 2
    with app.app_context():
        months = sorted(r.month for r in db.session.scalars(select(ObligationReminder)))
        assert months == ["2027-03", "2027-04"]
        obligation = db.session.get(Obligation, obligation_id)
        assert obligation.last_reminded_at == datetime(2027, 3, 31, 22, 30, tzinfo=UTC)
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "obligations.reminded")) == 2


def test_the_scheduled_job_runs_once_per_day(app, world, obligation_id, outbox):
    from opsapp import jobs

    with app.app_context():
        now = utcnow()
        first = jobs.run_job("cohorts_obligation_reminders", now)
        second = jobs.run_job("cohorts_obligation_reminders", now + timedelta(minutes=1))
    assert first.endswith("1 obligation reminders") and second.endswith("already done")
    assert len(outbox()) == 1


def test_no_reminder_once_done_or_for_an_old_cohort(app, world, obligation_id):
    with app.app_context():
        db.session.add(Obligation(organisation_id=world.organisations["Alfa"], kind="relocate_seat",
                                  status="fulfilled"))
        db.session.commit()
    now = utcnow()
    assert run(app, now) == 1  # Gamma's only
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        cohort.status = CohortStatus.COMPLETED.value
        db.session.commit()
    # Completed, ended less than a year ago: still reminded the next month.
    assert run(app, now + timedelta(days=32)) == 1
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        cohort.starts_on, cohort.ends_on = date(2020, 1, 1), date(2020, 6, 30)
        db.session.commit()
    assert run(app, now + timedelta(days=64)) == 0
    assert reminders(app) == 2


def close(client, obligation_id: int, back: str, **fields):
    token = csrf_from(client.get(back).get_data(as_text=True))
    prefix = f"obligation-{obligation_id}"
    data = {"csrf_token": token, f"{prefix}-csrf_token": token, f"{prefix}-next": back,
            **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(f"/obligations/{obligation_id}/done", data=data)


def test_staff_record_an_obligation_fulfilled(app, client, world, obligation_id, outbox):
    gamma_page = f"/cohorts/{world.cohort_id}/members/{world.members['Gamma']}/milestones"
    login(client, "staff@example.eu")
    html = client.get(gamma_page).get_data(as_text=True)
    assert "Move the registered seat to the region" in html and "Record it as done" in html
    cohort_page = f"/cohorts/{world.cohort_id}/introductions"
    assert "Gamma S.r.l." in client.get(cohort_page).get_data(as_text=True)

    # A day in the future is refused; nothing changes.
    future = (to_local(utcnow(), "Europe/Rome").date() + timedelta(days=5)).isoformat()
    response = close(client, obligation_id, gamma_page, outcome="fulfilled", on=future)
    assert response.status_code == 302 and response.headers["Location"].endswith(gamma_page)
    with app.app_context():
        assert db.session.get(Obligation, obligation_id).status == "open"
    day = (to_local(utcnow(), "Europe/Rome").date() - timedelta(days=2)).isoformat()
    response = close(client, obligation_id, cohort_page, outcome="fulfilled", on=day, note="Seat moved to Torino.")
    assert response.status_code == 302
    with app.app_context():
        obligation = db.session.get(Obligation, obligation_id)
        assert obligation.status == "fulfilled" and obligation.fulfilled_at is not None
        assert to_local(obligation.fulfilled_at, "Europe/Rome").date().isoformat() == day
        assert "Torino" in obligation.note
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "obligations.fulfilled")) == 1
    assert [(m["To"], m["Subject"]) for m in outbox()] == [
        ("gamma@example.eu", "Obligation fulfilled: Move the registered seat to the region")]
    # Done: no more reminders, and recording it again is refused.
    assert run(app, utcnow()) == 0
    close(client, obligation_id, gamma_page, outcome="waived", note="x")
    with app.app_context():
        assert db.session.get(Obligation, obligation_id).status == "fulfilled"


def test_waiving_needs_a_reason_and_only_staff_may(app, client, world, obligation_id, outbox):
    gamma_page = f"/cohorts/{world.cohort_id}/members/{world.members['Gamma']}/milestones"
    company = as_user(app, "gamma@example.eu")
    html = company.get(gamma_page).get_data(as_text=True)
    assert "Move the registered seat to the region" in html and "Record it as done" not in html
    assert close(company, obligation_id, gamma_page, outcome="waived", note="Please").status_code == 403
    otto = as_user(app, "otto@example.eu")
    assert close(otto, obligation_id, gamma_page, outcome="waived", note="Please").status_code == 403

    login(client, "staff@example.eu")
    close(client, obligation_id, gamma_page, outcome="waived", note="")
    with app.app_context():
        assert db.session.get(Obligation, obligation_id).status == "open"
    assert "Give the reason for waiving" in client.get(gamma_page).get_data(as_text=True)
    close(client, obligation_id, gamma_page, outcome="waived", note="The company was acquired by a regional group.")
    with app.app_context():
        assert db.session.get(Obligation, obligation_id).status == "waived"
        assert db.session.scalar(select(func.count(Notification.id))) == 1
    # An unknown obligation: 404; a redirect never leaves the site.
    assert close(client, 9999, gamma_page, outcome="waived", note="x").status_code == 404
    with app.app_context():
        other = Obligation(organisation_id=world.organisations["Beta"], kind="relocate_seat", status="open")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    token = csrf_from(client.get(gamma_page).get_data(as_text=True))
    response = client.post(f"/obligations/{other_id}/done", data={
        "csrf_token": token, f"obligation-{other_id}-outcome": "waived", f"obligation-{other_id}-note": "ok",
        f"obligation-{other_id}-next": "https://evil.example.com/"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]
