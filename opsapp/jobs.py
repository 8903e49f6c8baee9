"""The scheduled jobs and their schedule.

APScheduler 3 runs them in one process of its own (`flask --app opsapp scheduler`),
never inside the web workers. Each job is a function of `now` that is safe to run
again: `run_job()` first records (job, period) in `job_runs`, whose unique key lets
exactly one process run a given trigger; a second run of the same period does
nothing. Jobs change and flush; `run_job()` commits the claim, then the work.

`build_scheduler()` makes the scheduler (blocking for the process, background for
tests) with its job store in the application's database; `run_scheduler()` starts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsapp.core.models import JobRun
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[datetime], str]
    # APScheduler trigger: "interval" with minutes=..., or "cron" with its fields.
    trigger: str
    trigger_args: dict
    # How a trigger time is turned into the period key that makes reruns no-ops.
    period_format: str

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.trigger_args.items())
        return f"{self.trigger}({args})"

    def period(self, now: datetime) -> str:
        if self.trigger == "interval" and "minutes" in self.trigger_args:
            step = int(self.trigger_args["minutes"])
            minute = (now.hour * 60 + now.minute) // step * step
            return f"{now:%Y-%m-%d}T{minute // 60:02d}:{minute % 60:02d}"
        return now.strftime(self.period_format)


JOBS: dict[str, Job] = {}
JOB_STORE_TABLE = "apscheduler_jobs"


def job(name: str, trigger: str, period_format: str = "%Y-%m-%dT%H:%M", **trigger_args) -> Callable:
    """Register a job: `@job("purge_tokens", "cron", period_format="%Y-%m-%d", hour=3)`."""

    def decorator(func: Callable[[datetime], str]) -> Callable[[datetime], str]:
        JOBS[name] = Job(name, func, trigger, trigger_args, period_format)
        return func

    return decorator


def run_job(name: str, now: datetime | None = None) -> str:
    """Run a job for the period `now` falls in, once across every process; returns what it did.

    The claim is a row in `job_runs` committed before the work starts: its unique key
    (job, period) decides which process runs the period. On SQLite the second writer
    waits for the first (transactions begin IMMEDIATE) and then meets the key; on
    PostgreSQL the second INSERT waits for the first transaction and then fails on it.
    """
    definition = JOBS[name]
    now = now or utcnow()
    period = definition.period(now)
    run = JobRun(job=name, period=period, started_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        db.session.rollback()
        return f"{name} {period}: {_already(name, period)}"
    db.session.commit()  # claim the period before working, so a second process sees it
    try:
        result = definition.func(now) or "done"
        run.finished_at = utcnow()
        run.result = result[:2000]
        db.session.commit()
    except Exception:
        db.session.rollback()
        # Free the period, so the next trigger (or a rerun by hand) tries again.
        db.session.delete(db.session.merge(run))
        db.session.commit()
        raise
    return f"{name} {period}: {result}"


def _already(name: str, period: str) -> str:
    finished = db.session.scalar(
        select(JobRun.finished_at).where(JobRun.job == name, JobRun.period == period)
    )
    return "already done" if finished is not None else "already done (still running in another process)"


def _scheduled(name: str) -> None:
    """The entry point APScheduler calls (an importable reference, for the SQL job store)."""
    from opsapp import create_app

    app = create_app()
    with app.app_context():
        try:
            app.logger.info(run_job(name))
        except Exception:
            app.logger.exception("job %s failed", name)


def build_scheduler(blocking: bool = True):
    """An APScheduler 3 scheduler, not started, with every registered job added.

    Its job store is a table (`apscheduler_jobs`) in the application's database, reached
    through an engine of its own so that shutting the scheduler down does not close the
    application's connections. `blocking=False` gives a background scheduler, for tests.
    Call inside an application context.
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cfg = current_app.config
    store = SQLAlchemyJobStore(
        url=cfg["SQLALCHEMY_DATABASE_URI"], tablename=JOB_STORE_TABLE,
        engine_options=dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
    )
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        jobstores={"default": store},
        # A trigger missed while the scheduler was down runs once when it comes back
        # (within the hour); run_job() makes a repeated period a no-op anyway.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=cfg["SCHEDULER_TIMEZONE"],
    )
    for definition in JOBS.values():
        scheduler.add_job(
            "opsapp.jobs:_scheduled", definition.trigger, args=[definition.name],
            id=definition.name, name=definition.name, replace_existing=True, **definition.trigger_args,
        )
    return scheduler


def run_scheduler() -> None:
    """Run the scheduler in this process until it is stopped (the `scheduler` command)."""
    scheduler = build_scheduler(blocking=True)
    current_app.logger.info("scheduler started with %d jobs", len(JOBS))
    print(f"opsapp scheduler: {len(JOBS)} jobs: {', '.join(JOBS)}", flush=True)
    scheduler.start()


# --- the jobs ------------------------------------------------------------------------


@job("purge_expired_tokens", "cron", period_format="%Y-%m-%dT%H", minute=17)
def purge_expired_tokens(now: datetime) -> str:
    """Hourly: delete used or expired e-mail tokens and sign-ins that can no longer be used."""
    from opsapp.accounts import sessions, tokens

    purged_tokens = tokens.purge_expired(now)
    purged_sessions = sessions.purge_stale(now)
    return f"{purged_tokens} tokens, {purged_sessions} sessions purged"
from opsapp.calls import jobs as _calls_jobs  # noqa: E402,F401
from opsapp.cohorts import jobs as _cohorts_jobs  # noqa: E402,F401
from opsapp.events import jobs as _events_jobs  # noqa: E402,F401
from opsapp.kpi import jobs as _kpi_jobs  # noqa: E402,F401
from opsapp.kpi import report_jobs as _kpi_report_jobs  # noqa: E402,F401
from opsapp.vouchers import jobs as _vouchers_jobs  # noqa: E402,F401
