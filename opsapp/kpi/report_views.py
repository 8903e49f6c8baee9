"""Pages of the Word monitoring report (staff, admin and the regional authority):

- `kpi.report_request` (POST, from the dashboard's report box or the reports page): records
  the report and writes it in the background, then shows its state;
- `kpi.reports`: every report, newest first, with the form to ask for one;
- `kpi.report_status`: one report's state, refreshed by htmx while it is being written
  (`kpi.report_state` returns the part that changes), and its download link once ready;
- `kpi.report_download`: the .docx file.

Each view declares who may open it, calls `report_runs.py` and commits once; a refusal
rolls back and says why next to the field.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from opsapp.calls.models import Edition, Programme
from opsapp.core import files
from opsapp.core.pages import actor, refuse
from opsapp.core.pagination import paginate
from opsapp.core.permissions import roles_required
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.kpi import bp, report_runs, reports
from opsapp.kpi.catalogue import PROGRAMMES
from opsapp.kpi.models import ReportStatus
from opsapp.kpi.report_runs import ReportError

ROLES = (Role.STAFF, Role.ADMIN, Role.AUTHORITY)


class ReportForm(FlaskForm):
    programme = SelectField(_l("Programme"))
    edition = SelectField(_l("Edition"))
    language = SelectField(_l("Language of the report"), choices=list(report_runs.LANGUAGES.items()))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme.choices = [(p, reports.programme_name(p)) for p in PROGRAMMES]
        years = db.session.scalars(select(Edition.year).join(Programme, Programme.id == Edition.programme_id)
                                   .where(Programme.kind.in_(PROGRAMMES)).distinct().order_by(Edition.year))
        self.edition.choices = [("", _("All editions"))] + [(str(y), str(y)) for y in years]


def _reports_page(form: ReportForm, status: int = 200):
    page = paginate(report_runs.listing(), per_page=20)
    return render_template("kpi/reports.html", form=form, page=page, ReportStatus=ReportStatus,
                           programme_name=reports.programme_name, languages=report_runs.LANGUAGES), status


@bp.route("/kpi/reports", endpoint="reports")
@roles_required(*ROLES)
def reports_list():
    form = ReportForm(formdata=None, language=actor().locale if actor().locale in report_runs.LANGUAGES else "en")
    return _reports_page(form)


@bp.route("/kpi/reports/request", methods=["POST"], endpoint="report_request")
@roles_required(*ROLES)
def report_request():
    form = ReportForm()
    if not form.validate_on_submit():
        return _reports_page(form, 400)
    try:
        report = report_runs.request(actor(), form.programme.data, form.edition.data or None, form.language.data)
    except ReportError as error:
        refuse(form, error)
        return _reports_page(form, 400)
    db.session.commit()
    if report_runs.run_inline():
        report_runs.produce(report.id)
        db.session.commit()
    else:
        report_runs.run_in_background(report.id)
        flash(_("The report is being written. You can leave this page: you will be notified when it is ready."),
              "info")
    return redirect(url_for("kpi.report_status", report_id=report.id))


def _report_or_404(report_id: int):
    try:
        report = report_runs.readable(actor(), report_id)
    except ReportError:
        abort(403)
    if report is None:
        abort(404)
    return report


def _context(report) -> dict:
    return {"report": report, "programme_name": reports.programme_name(report.programme),
            "language": report_runs.LANGUAGES.get(report.locale, report.locale)}


@bp.route("/kpi/reports/<int:report_id>", endpoint="report_status")
@roles_required(*ROLES)
def report_status(report_id: int):
    report = _report_or_404(report_id)
    return render_template("kpi/report.html", **_context(report))


@bp.route("/kpi/reports/<int:report_id>/state", endpoint="report_state")
@roles_required(*ROLES)
def report_state(report_id: int):
    """The changing part of the report's page, for its htmx refresh while running."""
    report = _report_or_404(report_id)
    return render_template("kpi/report_state.html", **_context(report))


@bp.route("/kpi/reports/<int:report_id>/download", endpoint="report_download")
@roles_required(*ROLES)
def report_download(report_id: int):
    report = _report_or_404(report_id)
    try:
        stored, name = report_runs.download(actor(), report)
    except ReportError as error:
        flash(str(error.message), "danger")
        return redirect(url_for("kpi.report_status", report_id=report.id))
    if not files.can_download(actor(), stored):
        abort(403)
    return files.send(stored, download_name=name)
