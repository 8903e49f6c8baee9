"""The monthly monitoring report: on the first of each month, the Word report of every
programme with data (all editions) is written for the regional authority, in each language
its users read, stored, and announced to every authority user with a link to the file.

`jobs.run_job` claims the month before the work starts, so a second run in the same month
does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from opsapp.accounts.models import User, UserRole
from opsapp.core.notifications import notify
from opsapp.core.pages import path_for
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local
from opsapp.extensions import db
from opsapp.jobs import job
from opsapp.kpi import monitoring, report_runs
from opsapp.kpi.catalogue import PROGRAMMES
from opsapp.kpi.models import MonitoringReport, ReportStatus


def authority_users() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.id.in_(select(UserRole.user_id).where(UserRole.role == str(Role.AUTHORITY))),
                           User.disabled_at.is_(None), User.erased_at.is_(None)).order_by(User.id)))


def _language(user: User) -> str:
    return user.locale if user.locale in report_runs.LANGUAGES else "en"


def _documents(programme: str, languages: list[str], today) -> list[tuple[str, bytes | None, Exception | None]]:
    """The programme's all-editions report in each language, or nothing when it has no data yet.
    Each read is ended before its document is drawn (nothing is flushed yet), so that the job
    never holds SQLite's write lock while drawing charts."""
    if not monitoring.editions(programme):
        return []
    written = []
    for locale in languages:
        try:
            computed = report_runs.compute(programme, None, locale, today)
            if not computed.editions:
                return []
            written.append((locale, report_runs.write(programme, None, locale, today, computed, release=True), None))
        except Exception as error:  # noqa: BLE001 - kept on a failed report, the other programme still written
            db.session.rollback()
            written.append((locale, None, error))
    return written


@job("kpi_monthly_report", "cron", period_format="%Y-%m", day=1, hour=7, minute=10)
def monthly_report(now: datetime) -> str:
    """Monthly: the all-editions report of each programme with data, for the authority users."""
    today = to_local(now).date()
    languages = sorted({_language(u) for u in authority_users()}) or ["en"]
    written = [(programme, *document) for programme in PROGRAMMES for document in _documents(programme, languages,
                                                                                              today)]
    readers = authority_users()
    done = []
    for programme, locale, content, error in written:
        report = MonitoringReport(programme=programme, edition_year=None, locale=locale,
                                  status=ReportStatus.RUNNING.value)
        db.session.add(report)
        db.session.flush()
        report_runs.finish(report, content, error, today)
        if report.status != ReportStatus.DONE.value:
            done.append(f"{programme} ({locale}) failed: {report.error}")
            continue
        link = path_for("kpi.report_download", report_id=report.id)
        for user in readers:
            if _language(user) == locale:
                notify(user, report_runs.monthly_subject(programme), "kpi_report_ready", link=link,
                       report=report, done=True, monthly=True,
                       programme_name=report_runs.programme_label(programme), edition=None)
        done.append(f"{programme} ({locale})")
    return ("reports written: " + ", ".join(done)) if done else "no programme with data"
