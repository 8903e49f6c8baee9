"""Word monitoring reports: asked for on the dashboard (or the reports page), written in the
background, stored as a file and announced to whoever asked; written directly by the command
line; and produced monthly for the regional authority (`report_jobs.py`).

`request(actor, programme, edition, locale)` records a report as running (staff, admin and
authority only; audited); `produce(report_id)` computes the monitoring for the authority
(aggregates only, small groups suppressed, so the report can be forwarded as it is), writes
the document (`reports.py`), stores it (`core.files`, purpose "kpi_report") and notifies the
requester. A failure ends as a failed report with a message in the requester's language,
never as an error page. The page starts `produce` in a background thread with its own
application context (`run_in_background`), or inline in tests (`run_inline`).

Functions check rights, audit and notify, and never commit (except `execute`, which runs
outside any request).
"""

from __future__ import annotations

import io
import logging
import threading
import time as clock
from datetime import date, timedelta

from flask import current_app
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import User
from opsapp.calls.models import Edition, Programme
from opsapp.core import audit, files, word
from opsapp.core.models import StoredFile
from opsapp.core.notifications import notify
from opsapp.core.pages import Refusal, path_for
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.kpi import monitoring, reports
from opsapp.kpi.catalogue import PROGRAMMES
from opsapp.kpi.models import (
    BaselineSource,
    FollowUp,
    FollowUpGroup,
    MonitoringReport,
    ReportStatus,
)
from opsapp.kpi.results import Monitoring, Scope

log = logging.getLogger(__name__)

PURPOSE = "kpi_report"
ROLES = (Role.STAFF, Role.ADMIN, Role.AUTHORITY)
LANGUAGES = {"en": "English", "it": "Italiano"}
STALE_AFTER = timedelta(minutes=30)  # a report still "running" after this was interrupted
UNEXPECTED = _l("The report could not be written because of an unexpected error. Ask for it again; if it fails "
                "again, tell the programme staff.")
INTERRUPTED = _l("Interrupted: the report was not finished (the server may have restarted). Ask for it again.")


class ReportError(Refusal):
    """A report cannot be asked for: not allowed, or an unknown programme, edition or language."""


def may_report(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.has_role(*ROLES))


def programme_value(text: str | None) -> str:
    """The catalogue value of a programme written as on the command line ("meet-the-buyer") or as stored."""
    value = (text or "").strip().lower().replace("-", "_")
    if value not in PROGRAMMES:
        raise ReportError(_l("Unknown programme \"%(programme)s\": choose accelerator or meet-the-buyer.",
                             programme=text or ""), field="programme")
    return value


def check_scope(programme: str | None, edition: int | str | None) -> tuple[str, int | None]:
    """The programme and edition year of a report, checked: the edition must be one of the programme's."""
    programme = programme_value(programme)
    if edition in (None, ""):
        return programme, None
    try:
        year = int(edition)
    except (TypeError, ValueError):
        raise ReportError(_l("The edition must be a year."), field="edition") from None
    known = monitoring.editions(programme)
    if year not in known:
        raise ReportError(_l("%(programme)s has no edition %(year)s (editions: %(known)s).",
                             programme=reports.programme_name(programme), year=year,
                             known=", ".join(map(str, known)) or "–"), field="edition")
    return programme, year


def language(locale: str | None) -> str:
    value = (locale or "en").strip().lower()[:2]
    if value not in LANGUAGES:
        raise ReportError(_l("The report is written in English (en) or Italian (it)."), field="language")
    return value


# --- writing ------------------------------------------------------------------------------------------------


def missing_baselines(programme: str, edition: int | None) -> int:
    """Participants followed in the scope whose baseline is still missing."""
    query = (select(func.count(FollowUp.id)).join(Edition, Edition.id == FollowUp.edition_id)
             .join(Programme, Programme.id == Edition.programme_id)
             .where(Programme.kind == programme, FollowUp.group == FollowUpGroup.PARTICIPANT.value,
                    FollowUp.baseline_source == BaselineSource.MISSING.value))
    if edition is not None:
        query = query.where(Edition.year == edition)
    return db.session.scalar(query) or 0


def compute(programme: str, edition: int | None, locale: str, today: date | None = None) -> Monitoring:
    """The monitoring of the report: for the authority, group names in the report's language."""
    with force_locale(locale):
        return monitoring.compute(Scope(programme, edition), for_authority=True, today=today)


def write(programme: str, edition: int | None, locale: str = "en", today: date | None = None,
          computed: Monitoring | None = None, *, release: bool = False) -> bytes:
    """The report's .docx bytes (the command line and the services below).

    `release=True` ends the read transaction once the figures are read, before the charts are
    drawn: SQLite holds its write lock for a transaction's length (transactions begin
    IMMEDIATE), and nobody else should wait while the document is written. Only for callers
    with nothing flushed and not committed (a rollback would lose it)."""
    today = today or monitoring.today_in_rome()
    computed = computed or compute(programme, edition, locale, today)
    missing = missing_baselines(programme, edition)
    if release:
        db.session.rollback()
    return reports.write_report(computed, locale=locale, today=today, missing_baselines=missing)


def _store(report: MonitoringReport, content: bytes, today: date) -> StoredFile:
    name = reports.file_name(report.programme, report.edition_year, today)
    upload = FileStorage(stream=io.BytesIO(content), filename=name, content_type=word.DOCX_MIMETYPE)
    return files.store(upload, purpose=PURPOSE, uploaded_by=report.requested_by_id, allowed=("docx",),
                       max_bytes=max(len(content), 1), description=name)


def _may_download(user, stored: StoredFile) -> bool:
    return user.has_role(Role.AUTHORITY)


files.register_access_rule(PURPOSE, _may_download)


# --- asking for a report -------------------------------------------------------------------------------------


def _fail_stale() -> None:
    """Reports left running by a stopped server: failed, so that nobody waits for them."""
    limit = utcnow() - STALE_AFTER
    for stale in db.session.scalars(select(MonitoringReport).where(
            MonitoringReport.status == ReportStatus.RUNNING.value, MonitoringReport.requested_at < limit)):
        with force_locale(_locale_of(stale)):
            stale.error = str(INTERRUPTED)
        stale.status, stale.finished_at = ReportStatus.FAILED.value, utcnow()
    db.session.flush()


def request(actor, programme: str | None, edition: int | str | None, locale: str | None) -> MonitoringReport:
    """A new report, recorded as running (the caller commits, then calls `produce` or the background)."""
    if not may_report(actor):
        raise ReportError(_l("Only programme staff and the regional authority can ask for monitoring reports."))
    programme, year = check_scope(programme, edition)
    locale = language(locale)
    _fail_stale()
    report = MonitoringReport(programme=programme, edition_year=year, locale=locale,
                              status=ReportStatus.RUNNING.value, requested_by_id=actor.id)
    db.session.add(report)
    db.session.flush()
    audit.record("kpi.report_requested", report, actor=actor, programme=programme, edition=year, locale=locale)
    return report


def _locale_of(report: MonitoringReport) -> str:
    requester = db.session.get(User, report.requested_by_id) if report.requested_by_id else None
    return (requester.locale if requester is not None else None) or report.locale or "en"


def produce(report_id: int, today: date | None = None) -> MonitoringReport:
    """Write a running report in the current transaction, store it and tell its requester; a
    failure is kept on the report."""
    report = db.session.get(MonitoringReport, report_id)
    if report is None or report.status != ReportStatus.RUNNING.value:
        return report
    today = today or monitoring.today_in_rome()
    started = clock.perf_counter()
    try:
        content, error = write(report.programme, report.edition_year, report.locale, today), None
    except Exception as failure:  # noqa: BLE001 - a failed report is recorded, never a 500
        content, error = None, failure
    return finish(report, content, error, today, started)


def finish(report: MonitoringReport, content: bytes | None, error: Exception | None, today: date,
           started: float | None = None) -> MonitoringReport:
    """Store a written report and mark it done, or mark it failed with a message in its requester's
    language (also when the file cannot be stored); audit; tell the requester."""
    stored = None
    if content is not None:
        try:
            with db.session.begin_nested():
                stored = _store(report, content, today)
        except Exception as failure:  # noqa: BLE001
            error = failure
    if stored is None:
        log.error("monitoring report %s failed", report.id, exc_info=error)
        with force_locale(_locale_of(report)):
            message = str(error.message) if isinstance(error, Refusal) else str(UNEXPECTED)
        report.status, report.finished_at, report.error = ReportStatus.FAILED.value, utcnow(), message[:1000]
        db.session.flush()
        audit.record("kpi.report_failed", report, actor=report.requested_by_id, error=message)
    else:
        report.status, report.finished_at, report.file_id, report.error = (
            ReportStatus.DONE.value, utcnow(), stored.id, None)
        db.session.flush()
        audit.record("kpi.report_written", report, actor=report.requested_by_id, file_id=stored.id,
                     size=stored.size, seconds=None if started is None else round(clock.perf_counter() - started, 2))
    _tell_requester(report)
    return report


def _tell_requester(report: MonitoringReport) -> None:
    requester = db.session.get(User, report.requested_by_id) if report.requested_by_id else None
    if requester is None:
        return
    done = report.status == ReportStatus.DONE.value
    programme = programme_label(report.programme)
    if done:
        subject = _l("Monitoring report ready: %(programme)s", programme=programme)
        link = path_for("kpi.report_download", report_id=report.id)
    else:
        subject = _l("The monitoring report of %(programme)s could not be written", programme=programme)
        link = path_for("kpi.report_status", report_id=report.id)
    notify(requester, subject, "kpi_report_ready", link=link, report=report, done=done, monthly=False,
           programme_name=programme_label(report.programme), edition=report.edition_year)


def monthly_subject(programme: str) -> LazyString:
    return LazyString(lambda: str(_l("Monthly monitoring report: %(programme)s",
                                     programme=reports.programme_name(programme))))


def programme_label(programme: str) -> LazyString:
    """The programme's name in the language of whoever reads it (an e-mail is written in the recipient's)."""
    return LazyString(lambda: reports.programme_name(programme))


# --- in the background ---------------------------------------------------------------------------------------


def run_inline() -> bool:
    """Write the report within the page's request (tests, or KPI_REPORT_INLINE set)."""
    return bool(current_app.config.get("KPI_REPORT_INLINE") or current_app.testing)


def execute(report_id: int) -> None:
    """Write a running report outside any request, then commit. The figures are read, the read
    ended, the document written without holding a transaction, then stored in a short one;
    whatever happens, the report does not stay running."""
    try:
        report = db.session.get(MonitoringReport, report_id)
        if report is None or report.status != ReportStatus.RUNNING.value:
            db.session.rollback()
            return
        programme, edition, locale = report.programme, report.edition_year, report.locale
        today, started = monitoring.today_in_rome(), clock.perf_counter()
        try:
            content, error = write(programme, edition, locale, today, release=True), None
        except Exception as failure:  # noqa: BLE001
            content, error = None, failure
        db.session.rollback()
        report = db.session.get(MonitoringReport, report_id)
        if report.status != ReportStatus.RUNNING.value:  # failed as stale meanwhile
            db.session.rollback()
            return
        finish(report, content, error, today, started)
        db.session.commit()
    except Exception:  # noqa: BLE001
        log.exception("monitoring report %s failed", report_id)
        db.session.rollback()
        report = db.session.get(MonitoringReport, report_id)
        if report is not None and report.status == ReportStatus.RUNNING.value:
            with force_locale(_locale_of(report)):
                report.error = str(UNEXPECTED)
            report.status, report.finished_at = ReportStatus.FAILED.value, utcnow()
            db.session.commit()


def run_in_background(report_id: int) -> threading.Thread:
    """Start `execute` in a daemon thread with its own application context and session."""
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            try:
                execute(report_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"kpi-report-{report_id}", daemon=True)
    thread.start()
    return thread


# --- reading ---------------------------------------------------------------------------------------------------


def recent_for(user, programme: str, limit: int = 5) -> list[MonitoringReport]:
    """The reports of a programme this user asked for and the monthly ones, newest first."""
    if not may_report(user):
        return []
    return list(db.session.scalars(
        select(MonitoringReport)
        .where(MonitoringReport.programme == programme,
               or_(MonitoringReport.requested_by_id == user.id, MonitoringReport.requested_by_id.is_(None)))
        .order_by(MonitoringReport.requested_at.desc(), MonitoringReport.id.desc())
        .limit(limit)))


def listing():
    """Every report, newest first (a query, for `core.pagination.paginate`)."""
    return select(MonitoringReport).order_by(MonitoringReport.requested_at.desc(), MonitoringReport.id.desc())


def readable(user, report_id: int) -> MonitoringReport | None:
    """The report, for a user allowed to read reports (None when it does not exist)."""
    if not may_report(user):
        raise ReportError(_l("Only programme staff and the regional authority can read monitoring reports."))
    return db.session.get(MonitoringReport, report_id)


def download(user, report: MonitoringReport) -> tuple[StoredFile, str]:
    """The report's file and the name to download it under; refused unless it is ready."""
    if not may_report(user):
        raise ReportError(_l("Only programme staff and the regional authority can read monitoring reports."))
    if report.status != ReportStatus.DONE.value or report.file is None:
        raise ReportError(_l("This report is not ready."))
    day = (report.finished_at or report.requested_at).date()
    return report.file, reports.file_name(report.programme, report.edition_year, day)
