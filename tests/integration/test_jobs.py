"""Scheduled jobs against the real database: a period runs once however many processes
try, a failed run frees its period, the purge job removes exactly what can no longer be
used, the command line lists and runs jobs, and the scheduler keeps its jobs in the
application's database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from opsapp import jobs
from opsapp.accounts import tokens
from opsapp.accounts.models import AccountToken, TokenPurpose, UserSession
from opsapp.core.models import JobRun
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.factories import make_user

AT = datetime(2027, 3, 10, 9, 20, tzinfo=UTC)


@pytest.fixture
def temporary_job():
    """Register jobs for one test only (real jobs, run by the real runner)."""
    added: list[str] = []

    def add(name, func):
        jobs.job(name, "cron", period_format="%Y-%m-%dT%H", minute=0)(func)
        added.append(name)

    yield add
    for name in added:
        jobs.JOBS.pop(name, None)


def _runs(name=None) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id)
    if name:
        stmt = stmt.where(JobRun.job == name)
    return list(db.session.scalars(stmt))


def test_a_second_run_in_the_same_period_does_nothing(ctx):
    first = jobs.run_job("purge_expired_tokens", AT)
    second = jobs.run_job("purge_expired_tokens", AT + timedelta(minutes=30))
    assert first == "purge_expired_tokens 2027-03-10T09: 0 tokens, 0 sessions purged"
    assert second == "purge_expired_tokens 2027-03-10T09: already done"
    runs = _runs()
    assert len(runs) == 1
    assert runs[0].finished_at is not None and runs[0].result == "0 tokens, 0 sessions purged"
    # The next hour is another period.
    jobs.run_job("purge_expired_tokens", AT + timedelta(hours=1))
    assert [r.period for r in _runs()] == ["2027-03-10T09", "2027-03-10T10"]


def test_concurrent_runs_of_one_period_do_the_work_once(app, temporary_job):
    calls = []

    def slow_job(now):
        calls.append(now)
        time.sleep(0.3)  # long enough for the other runners to arrive while this one works
        return "worked"

    temporary_job("test_slow_job", slow_job)
    runners = 4
    barrier = threading.Barrier(runners)
    results: list[str] = []

    def runner():
        with app.app_context():  # each thread: its own application context and session
            barrier.wait()
            try:
                results.append(jobs.run_job("test_slow_job", AT))
            except Exception as error:  # a "database is locked" would be a failure to report
                results.append(f"error: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(calls) == 1, results
    assert sorted(r.endswith("worked") for r in results) == [False] * (runners - 1) + [True], results
    assert all("already done" in r for r in results if not r.endswith("worked")), results
    with app.app_context():
        runs = _runs("test_slow_job")
        assert len(runs) == 1 and runs[0].result == "worked"


def test_a_failed_run_frees_its_period(ctx, temporary_job):
    attempts = []

    def flaky_job(now):
        attempts.append(now)
        db.session.add(JobRun(job="side-effect-that-must-vanish", period="x"))
        db.session.flush()
        if len(attempts) == 1:
            raise RuntimeError("the mail server was down")
        return "sent"

    temporary_job("test_flaky_job", flaky_job)
    with pytest.raises(RuntimeError, match="mail server"):
        jobs.run_job("test_flaky_job", AT)
    assert _runs() == []  # neither the claim nor the half-done work survives
    assert jobs.run_job("test_flaky_job", AT) == "test_flaky_job 2027-03-10T09: sent"
    assert [r.job for r in _runs()] == ["test_flaky_job", "side-effect-that-must-vanish"]


def test_the_purge_removes_spent_tokens_and_dead_sign_ins_and_keeps_the_rest(app, ctx):
    user = make_user("person@example.eu")
    now = utcnow()
    cfg = app.config

    for purpose in (TokenPurpose.RESET_PASSWORD, TokenPurpose.CONFIRM_EMAIL) * 2:
        tokens.issue(user, purpose)
    rows = list(db.session.scalars(select(AccountToken).order_by(AccountToken.id)))
    live_token_ids = {rows[0].id, rows[1].id}
    rows[2].used_at = now - timedelta(minutes=1)  # used
    rows[3].expires_at = now - timedelta(seconds=1)  # expired

    def sign_in(name, **times):
        row = UserSession(user_id=user.id, token_hash=name.ljust(64, "0"),
                          created_at=times.get("created_at", now - timedelta(minutes=5)),
                          last_seen_at=times.get("last_seen_at", now - timedelta(minutes=1)),
                          revoked_at=times.get("revoked_at"))
        db.session.add(row)
        return row

    live = sign_in("live")
    almost_idle = sign_in("almost-idle", last_seen_at=now - cfg["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1))
    sign_in("revoked", revoked_at=now - timedelta(minutes=2))
    sign_in("idle", last_seen_at=now - cfg["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=1))
    sign_in("too-old", created_at=now - cfg["SESSION_ABSOLUTE_TIMEOUT"] - timedelta(minutes=1),
            last_seen_at=now - timedelta(minutes=1))
    db.session.commit()

    result = jobs.run_job("purge_expired_tokens", now)
    assert result.endswith("2 tokens, 3 sessions purged")
    assert set(db.session.scalars(select(AccountToken.id))) == live_token_ids
    assert set(db.session.scalars(select(UserSession.id))) == {live.id, almost_idle.id}


def test_the_command_line_lists_and_runs_jobs(app):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0
    assert "purge_expired_tokens" in listed.output and "cron(minute=17)" in listed.output

    first = runner.invoke(args=["jobs", "run", "purge_expired_tokens"])
    assert first.exit_code == 0, first.output
    assert "0 tokens, 0 sessions purged" in first.output
    again = runner.invoke(args=["jobs", "run", "purge_expired_tokens"])
    assert again.exit_code == 0 and "already done" in again.output

    unknown = runner.invoke(args=["jobs", "run", "no_such_job"])
    assert unknown.exit_code != 0 and "unknown job" in unknown.output
    with app.app_context():
        assert db.session.scalar(select(func.count(JobRun.id))) == 1


def test_the_scheduler_stores_every_job_in_the_database(app):
    with app.app_context():
        try:
            # Twice, as after a restart: the jobs are replaced, not duplicated.
            for _ in range(2):
                scheduler = jobs.build_scheduler(blocking=False)
                scheduler.start()
                scheduler.shutdown(wait=True)
            stored = dict(db.session.execute(text(f"SELECT id, next_run_time FROM {jobs.JOB_STORE_TABLE}")).all())
            assert set(stored) == set(jobs.JOBS)
            assert all(next_run for next_run in stored.values())  # each one is scheduled
        finally:
            db.session.rollback()
            db.session.execute(text(f"DROP TABLE IF EXISTS {jobs.JOB_STORE_TABLE}"))
            db.session.commit()


def test_the_blocking_scheduler_is_the_default(app):
    from apscheduler.schedulers.blocking import BlockingScheduler

    with app.app_context():
        scheduler = jobs.build_scheduler()
    assert isinstance(scheduler, BlockingScheduler)
    assert {j.id for j in scheduler.get_jobs()} == set(jobs.JOBS)  # added, waiting for start()
