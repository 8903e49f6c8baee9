"""The audit log page for staff and admin: who did what, to which record, when and from where.

Filters live in the URL (a filtered view can be bookmarked or sent), the newest entry comes
first, and the same filters give a CSV download, which is itself audited. Entries are only
read here: there is no route that changes or deletes one, and the model refuses it anyway.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from flask import Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from opsapp.core import audit, bp, navigation
from opsapp.core.exports import safe_cell
from opsapp.core.models import AuditEntry
from opsapp.core.pagination import Page
from opsapp.core.permissions import roles_required
from opsapp.core.roles import Role
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.extensions import db

PER_PAGE = 50
CSV_BATCH = 1000

navigation.register(_l("Audit log"), "core.audit_log", (Role.STAFF, Role.ADMIN), order=95)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    actor = StringField(_l("Person (name or e-mail contains)"), validators=[Optional(), Length(max=254)])
    action = StringField(_l("Action starts with"), validators=[Optional(), Length(max=80)],
                         description=_l("For example login. or privacy.erased"))
    object_type = SelectField(_l("Kind of record"), validators=[Optional()], validate_choice=False)
    object_id = StringField(_l("Record number"), validators=[Optional(), Length(max=60)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    timezone: str = "Europe/Rome"  # the days of date_from and date_to are days in this zone

    def as_detail(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v and k != "timezone"}


def _user_model():
    # Imported late: accounts imports core while it loads, so core cannot import it at the top.
    from opsapp.accounts.models import User

    return User


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select, filters: AuditFilters) -> Select:
    User = _user_model()
    if filters.actor:
        pattern = f"%{_like_escape(filters.actor.strip().lower())}%"
        query = query.where(or_(func.lower(User.email).like(pattern, escape="\\"),
                                func.lower(User.full_name).like(pattern, escape="\\")))
    if filters.action:
        query = query.where(AuditEntry.action.like(f"{_like_escape(filters.action.strip())}%", escape="\\"))
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEntry.object_id == filters.object_id.strip())
    if filters.date_from:
        start = local_to_utc(datetime.combine(filters.date_from, time.min), filters.timezone)
        query = query.where(AuditEntry.created_at >= start)
    if filters.date_to:
        end = local_to_utc(datetime.combine(filters.date_to + timedelta(days=1), time.min), filters.timezone)
        query = query.where(AuditEntry.created_at < end)
    return query


def _entries(filters: AuditFilters) -> Select:
    """Entries with their actor's name and e-mail, in one query (no query per row)."""
    User = _user_model()
    query = (
        select(AuditEntry, User.full_name, User.email)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
    return _filtered(query, filters)


def _count(filters: AuditFilters) -> int:
    User = _user_model()
    query = select(func.count(AuditEntry.id)).select_from(AuditEntry).outerjoin(User, User.id == AuditEntry.actor_id)
    return db.session.scalar(_filtered(query, filters)) or 0


def search(filters: AuditFilters, page: int = 1, per_page: int = PER_PAGE) -> Page:
    total = _count(filters)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(_entries(filters).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, total, page, per_page)


def object_types() -> list[str]:
    return [t for t in db.session.execute(
        select(AuditEntry.object_type).where(AuditEntry.object_type.is_not(None))
        .distinct().order_by(AuditEntry.object_type)
    ).scalars()]


CSV_HEADER = ("time_utc", "actor_id", "actor_name", "actor_email", "action",
              "object_type", "object_id", "detail", "ip_address")


def export_csv(filters: AuditFilters):
    """Audit the export (with its filters and size), then give the CSV lines to stream."""
    total = _count(filters)
    audit.record("audit.exported", object_type="audit_entries", rows=total, filters=filters.as_detail())
    query = _entries(filters)

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
        writer.writerow(CSV_HEADER)
        result = db.session.execute(query.execution_options(yield_per=CSV_BATCH))
        for n, (entry, name, email) in enumerate(result, start=1):
            writer.writerow([safe_cell(v) for v in (
                entry.created_at.isoformat(), entry.actor_id, name, email, entry.action,
                entry.object_type, entry.object_id,
                json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True), entry.ip_address,
            )])
            if n % CSV_BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return lines()


# --- routes -----------------------------------------------------------------------------


def _parse_filters() -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.args)
    types = object_types()
    chosen = request.args.get("object_type", "")
    if chosen and chosen not in types:
        types.append(chosen)  # a link to a kind with no entries yet still shows what was asked
    form.object_type.choices = [("", str(_l("Any kind")))] + [(t, t) for t in types]
    form.validate()
    # A filter typed wrongly (an impossible date) is left out and its error shown.
    def value(f):
        return (f.data or None) if not f.errors else None
    filters = AuditFilters(
        actor=value(form.actor) or "", action=value(form.action) or "",
        object_type=value(form.object_type) or "", object_id=value(form.object_id) or "",
        date_from=value(form.date_from), date_to=value(form.date_to),
        timezone=current_user.timezone or "Europe/Rome",
    )
    return form, filters


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.route("/audit")
@roles_required(Role.STAFF, Role.ADMIN)
def audit_log():
    form, filters = _parse_filters()
    page = search(filters, _page_number())
    export_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("core/audit_log.html", form=form, page=page, filters=filters,
                           export_args=export_args)


@bp.route("/audit/export.csv")
@roles_required(Role.STAFF, Role.ADMIN)
def audit_log_export():
    _form, filters = _parse_filters()
    lines = export_csv(filters)
    db.session.commit()  # the export is on record before a single line leaves
    day = to_local(utcnow(), filters.timezone).date().isoformat()
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-log-{day}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
