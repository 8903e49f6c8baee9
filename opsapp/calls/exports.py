"""Exports of a call for staff: applications, eligibility, scores and ranking, as CSV or XLSX.

Each kind is one table (a header and typed rows) built with a few bulk queries; the
same table is written as CSV (UTF-8 with a byte-order mark, so spreadsheets read the
accents; cells that would run as formulas are neutralised) or as an XLSX sheet with
openpyxl (a header row, frozen panes, column widths, numbers and dates as numbers and
dates, text never taken for a formula). Every export is audited as `call.exported`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import abort
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Organisation, User
from opsapp.accounts.organisations import size_class_label
from opsapp.calls import decisions, eligibility, scoring
from opsapp.calls.models import (
    Answer,
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    Call,
    Criterion,
    Eligibility,
    QuestionKind,
    Score,
)
from opsapp.calls.permissions import is_staff
from opsapp.core import audit
from opsapp.core.permissions import require
from opsapp.core.timeutil import to_local
from opsapp.extensions import db

KINDS = ("applications", "eligibility", "scores", "ranking")
FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list]  # str, int, Decimal, datetime (local wall-clock) or None


# --- values --------------------------------------------------------------------------------


def _local(value: datetime | None, timezone: str) -> datetime | None:
    """Wall-clock time in the call's zone, without zone: spreadsheets have no time zones."""
    return None if value is None else to_local(value, timezone).replace(tzinfo=None, microsecond=0)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else (_("Yes") if value else _("No"))


def _score(value: Decimal | None) -> Decimal | None:
    return scoring.round_score(value) if value is not None else None


def _decimal(value) -> Decimal | str | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value)


def _answer_value(question, answer: Answer | None):
    if answer is None:
        return None
    if question.kind == QuestionKind.FILE:
        return answer.file.original_name if answer.file is not None else None
    value = answer.value
    if question.kind in (QuestionKind.NUMBER, QuestionKind.MONEY):
        return _decimal(value)
    if question.kind == QuestionKind.YES_NO:
        return _yes_no(value) if isinstance(value, bool) else value
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _eligibility_label(value: str) -> str:
    return {Eligibility.PENDING: _("To confirm"), Eligibility.ELIGIBLE: _("Eligible"),
            Eligibility.INELIGIBLE: _("Not eligible")}.get(value, value)


def _status_label(value: str) -> str:
    try:
        return ApplicationStatus(value).label
    except ValueError:
        return value


# --- the tables ----------------------------------------------------------------------------


def _applications(call: Call) -> Table:
    questions = list(call.questions)
    applications = db.session.scalars(
        select(Application).options(joinedload(Application.organisation),
                                    selectinload(Application.answers).joinedload(Answer.file))
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Application.call_id == call.id)
        .order_by(Organisation.legal_name, Application.version, Application.id)).unique().all()
    tz = call.timezone
    header = [_("Receipt number"), _("Version"), _("Status"), _("Organisation"), _("VAT number"), _("Kind"),
              _("Size class"), _("Country"), _("Region"), _("S3 domains"),
              _("Submitted (%(zone)s)", zone=tz), _("Eligibility"), _("Flagged at submission"), _("Outcome"),
              _("Rank"), _("Reserve position"), _("Place")] + [q.label for q in questions]
    rows = []
    for a in applications:
        org = a.organisation
        answers = {x.question_id: x for x in a.answers}
        rows.append([
            a.receipt_number, a.version, _status_label(a.status), org.legal_name, org.vat_number,
            org.kind_enum.label, size_class_label(org.size_class), org.country, org.nuts2_region,
            ", ".join(d.name_en for d in org.s3_domains), _local(a.submitted_at, tz),
            _eligibility_label(a.eligibility), _yes_no(a.eligibility_flagged),
            decisions.outcome_label(a.outcome), a.rank, a.reserve_position,
            decisions.place_status_label(a.place_status),
        ] + [_answer_value(q, answers.get(q.id)) for q in questions])
    return Table(_("Applications"), header, rows)


def _eligibility(call: Call) -> Table:
    applications = db.session.scalars(
        select(Application).options(joinedload(Application.organisation))
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Application.call_id == call.id, Application.submitted_at.is_not(None))
        .order_by(Organisation.legal_name, Application.version, Application.id)).all()
    deciders = {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(
        {a.eligibility_decided_by_id for a in applications if a.eligibility_decided_by_id})))}
    tz = call.timezone
    header = [_("Receipt number"), _("Organisation"), _("Status"), _("Rule"), _("Passed"), _("Reason"),
              _("Flagged at submission"), _("Staff decision"), _("Staff's reason"), _("Decided by"),
              _("Decided (%(zone)s)", zone=tz)]
    rows = []
    for a in applications:
        tail = [_yes_no(a.eligibility_flagged), _eligibility_label(a.eligibility), a.eligibility_reason,
                deciders.get(a.eligibility_decided_by_id), _local(a.eligibility_decided_at, tz)]
        results = a.eligibility_results or []
        for result in results or [None]:
            if result is None:
                rows.append([a.receipt_number, a.organisation.legal_name, _status_label(a.status),
                             None, None, None] + tail)
                continue
            rows.append([a.receipt_number, a.organisation.legal_name, _status_label(a.status),
                         str(eligibility.RULE_LABELS.get(result.get("code"), result.get("code"))),
                         _yes_no(bool(result.get("passed"))), eligibility.describe(result)] + tail)
    return Table(_("Eligibility"), header, rows)


def _scores(call: Call) -> Table:
    tz = call.timezone
    result = db.session.execute(
        select(Application.receipt_number, Organisation.legal_name, Assignment.id, User.full_name,
               Criterion.name, Score.value, Criterion.max_score, Score.comment, Assignment.submitted_at)
        .select_from(Score)
        .join(Assignment, Assignment.id == Score.assignment_id)
        .join(Application, Application.id == Assignment.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(User, User.id == Assignment.evaluator_id)
        .join(Criterion, Criterion.id == Score.criterion_id)
        .where(Application.call_id == call.id, Assignment.status == AssignmentStatus.SUBMITTED)
        .order_by(Organisation.legal_name, Application.id, Assignment.id, Criterion.position, Criterion.id)).all()
    header = [_("Receipt number"), _("Organisation"), _("Evaluation"), _("Evaluator"), _("Criterion"),
              _("Score"), _("Maximum"), _("Comment"), _("Submitted (%(zone)s)", zone=tz)]
    rows = [[receipt, org, assignment_id, evaluator, criterion, _decimal(value), _decimal(maximum), comment,
             _local(submitted, tz)]
            for receipt, org, assignment_id, evaluator, criterion, value, maximum, comment, submitted in result]
    return Table(_("Scores"), header, rows)


def _ranking(call: Call) -> Table:
    rows_data, ineligible = decisions.ranking_rows(call)
    criteria = list(call.criteria)
    header = [_("Rank"), _("Outcome"), _("Reserve position"), _("Place"), _("Receipt number"),
              _("Organisation")] + [c.name for c in criteria] + [
        _("Total"), _("Weighted total"), _("Thresholds not met"), _("Evaluations"), _("Needs moderation")]
    names = {f"criterion:{c.id}": c.name for c in criteria}
    rows = []
    for row in rows_data:
        result = row.result
        finals = {c.criterion_id: c.final for c in result.criteria}
        rows.append([row.rank, decisions.outcome_label(row.outcome), row.reserve_position,
                     decisions.place_status_label(row.application.place_status),
                     row.application.receipt_number, row.application.organisation_name]
                    + [_score(finals.get(c.id)) for c in criteria]
                    + [_score(result.total), _score(result.weighted_total),
                       ", ".join(_("overall") if f == "overall" else names.get(f, f) for f in result.failed),
                       row.evaluations, _yes_no(result.needs_moderation)])
    for application in ineligible:
        rows.append([None, _("Not eligible"), None, None, application.receipt_number,
                     application.organisation.legal_name] + [None] * len(criteria) + [None, None, None, None, None])
    return Table(_("Ranking"), header, rows)


BUILDERS: dict[str, Callable[[Call], Table]] = {
    "applications": _applications,
    "eligibility": _eligibility,
    "scores": _scores,
    "ranking": _ranking,
}


# --- writing -------------------------------------------------------------------------------


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection).
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def write_csv(table: Table) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_csv_text(h) for h in table.header])
    for row in table.rows:
        writer.writerow([_csv_text(v) for v in row])
    return out.getvalue().encode("utf-8")


def write_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:31] or "Sheet"
    sheet.append([str(h) for h in table.header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(h)) for h in table.header]
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XLSX cannot hold
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            length = 16 if isinstance(value, datetime) else len(str(value)) if value is not None else 0
            widths[c - 1] = max(widths[c - 1], min(length, 60))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(8, width + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(actor, call_id: int, kind: str, fmt: str) -> tuple[str, str, bytes]:
    """The table of one kind for one call as (filename, mimetype, bytes); audited."""
    require(is_staff(actor))
    call = db.session.get(Call, call_id)
    if call is None or kind not in KINDS or fmt not in FORMATS:
        abort(404)
    table = BUILDERS[kind](call)
    content = write_csv(table) if fmt == "csv" else write_xlsx(table)
    audit.record("call.exported", call, actor=actor, kind=kind, format=fmt, rows=len(table.rows))
    return f"call-{call.id}-{kind}.{fmt}", MIMETYPES[fmt], content
