"""The monitoring dashboard of staff and the regional authority, its exports, and the home
panels that lead to it.

- `kpi.dashboard` `GET /kpi/?programme=&edition=&s3=&size=` (staff, admin, authority): the
  programme's indicators against their targets with their coverage, the ERDF common
  indicators, the charts (each with its table and a text alternative), the response per
  wave and the Word report box. Filters live in the address; a value that does not exist is
  ignored with a message. Staff see every figure; the authority sees aggregates only (the
  figures of fewer than three companies read "not shown"), and what it saw is remembered for
  "what changed since your last visit".
- `kpi.catalogue` `GET /kpi/indicators`: the indicator catalogue, how each figure is formed.
- `kpi.dashboard_export` `GET /kpi/export/<table>.<csv|xlsx>` with the same filters: one table
  (`dashboard_tables.TABLE_KEYS`), or `all.xlsx` for every table in one workbook; the same
  rows as the page, for the authority the same aggregates (hidden figures are empty cells
  with a note).

Home panels: "Monitoring" first on the authority's home (the headline of each programme's
latest edition against its targets, the latest report, what changed since the last visit),
and a smaller "Monitoring" panel for staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.core import exports, home, navigation
from opsapp.core.pages import actor, link_to
from opsapp.core.permissions import roles_required
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from opsapp.kpi import bp, monitoring, report_runs
from opsapp.kpi import dashboard_tables as tables
from opsapp.kpi.catalogue import ACCELERATOR, PROGRAMMES
from opsapp.kpi.models import DashboardVisit
from opsapp.kpi.results import Monitoring, Scope, Value

DASHBOARD_ROLES = (Role.STAFF, Role.ADMIN, Role.AUTHORITY)

navigation.register(_l("Monitoring"), "kpi.dashboard", list(DASHBOARD_ROLES), order=66)


def sees_companies(user) -> bool:
    """Programme staff see every figure; anyone else on these pages (the authority) sees
    aggregates only."""
    return bool(user.is_authenticated and user.has_role(*PROGRAMME_STAFF))


def programme_name(programme: str) -> str:
    return ProgrammeKind(programme).label


# --- the filters in the address -------------------------------------------------------------------------------------


@dataclass
class Filters:
    """The scope asked for in the address, the choices offered and what was ignored."""

    scope: Scope
    editions: list[int]
    s3_domains: list[tuple[str, str]]
    sizes: list[tuple[str, str]]
    notices: list[str] = field(default_factory=list)

    @property
    def args(self) -> dict:
        """The scope as query arguments (for links to exports and the other programme)."""
        out = {"programme": self.scope.programme}
        if self.scope.edition is not None:
            out["edition"] = self.scope.edition
        if self.scope.s3_domain:
            out["s3"] = self.scope.s3_domain
        if self.scope.size_class:
            out["size"] = self.scope.size_class
        return out

    @property
    def filtered(self) -> bool:
        return any(v is not None for v in (self.scope.edition, self.scope.s3_domain, self.scope.size_class))

    def describe(self) -> str:
        """"Business Accelerator · edition 2025 · all S3 domains · all sizes"."""
        s3 = dict(self.s3_domains).get(self.scope.s3_domain or "")
        size = dict(self.sizes).get(self.scope.size_class or "")
        parts = [programme_name(self.scope.programme),
                 _("edition %(year)d", year=self.scope.edition) if self.scope.edition else _("every edition"),
                 _("S3 domain: %(name)s", name=s3) if s3 else _("every S3 domain"),
                 _("size: %(name)s", name=size) if size else _("every size class")]
        return " · ".join(parts)


def read_programme(args, notices: list[str]) -> str:
    """The programme asked for in the address; an unknown one is ignored with a message."""
    programme = (args.get("programme") or "").strip() or ACCELERATOR
    if programme not in PROGRAMMES:
        notices.append(_("There is no programme \"%(value)s\": the Business Accelerator is shown.",
                         value=programme[:40]))
        programme = ACCELERATOR
    return programme


def read_filters(args) -> Filters:
    """The scope from the address; unknown values are ignored, each with a message."""
    notices = []
    programme = read_programme(args, notices)
    editions = monitoring.editions(programme)
    edition = None
    raw = (args.get("edition") or "").strip()
    if raw:
        if raw.isdigit() and int(raw) in editions:
            edition = int(raw)
        else:
            notices.append(_("There is no edition \"%(value)s\" of this programme: every edition is shown.",
                             value=raw[:40]))
    domains = monitoring.s3_domains()
    s3 = (args.get("s3") or "").strip() or None
    if s3 is not None and s3 not in dict(domains):
        notices.append(_("There is no S3 domain \"%(value)s\": every domain is shown.", value=s3[:40]))
        s3 = None
    sizes = monitoring.size_classes()
    size = (args.get("size") or "").strip() or None
    if size is not None and size not in dict(sizes):
        notices.append(_("There is no size class \"%(value)s\": every size class is shown.", value=size[:40]))
        size = None
    return Filters(Scope(programme, edition, s3, size), editions, domains, sizes, notices)


# --- what an authority user saw ----------------------------------------------------------------------------------------


@dataclass
class Headline:
    """The headline of a programme over every edition, as the authority follows it."""

    programme: str
    values: list[Value]


def programme_headline(programme: str, for_authority: bool, overall: Monitoring | None = None) -> Headline:
    """The headline values of a programme over every edition (one computation, or the page's own)."""
    if overall is None:
        overall = monitoring.compute(Scope(programme), for_authority=for_authority)
    return Headline(programme, list(overall.headline) if overall.editions else [])


def remember_visit(user, page: Monitoring) -> None:
    """Keep what the authority user saw: the headline of each programme over every edition."""
    seen: dict[str, str] = {}
    for programme in PROGRAMMES:
        whole = page if page.scope == Scope(programme) else None
        headline = programme_headline(programme, True, whole)
        seen.update({v.measure: tables.stored_text(v) for v in headline.values})
    visit = db.session.get(DashboardVisit, user.id)
    if visit is None:
        db.session.add(DashboardVisit(user_id=user.id, seen_at=utcnow(), values=seen))
    else:
        visit.seen_at, visit.values = utcnow(), seen
    db.session.flush()


# --- the dashboard -------------------------------------------------------------------------------------------------------


@bp.route("/kpi/", endpoint="dashboard")
@roles_required(*DASHBOARD_ROLES)
def dashboard():
    user = actor()
    filters = read_filters(request.args)
    for_authority = not sees_companies(user)
    result = monitoring.compute(filters.scope, for_authority=for_authority)
    page = tables.dashboard(result)
    reports = report_runs.recent_for(user, filters.scope.programme)
    if for_authority:
        remember_visit(user, result)
        db.session.commit()
    return render_template(
        "kpi/dashboard.html", dash=page, filters=filters, scope=filters.scope, reports=reports,
        for_authority=for_authority, programmes=monitoring.programmes(), chart_keys=tables.CHART_KEYS,
        suppressed_text=tables.suppressed_text(), caveat=str(tables.IMPACT_CAVEAT),
        staff=sees_companies(user), link_to=link_to)


@bp.route("/kpi/export/<key>.<any(csv, xlsx):fmt>", endpoint="dashboard_export")
@roles_required(*DASHBOARD_ROLES)
def dashboard_export(key: str, fmt: str):
    if key not in tables.TABLE_KEYS and not (key == "all" and fmt == "xlsx"):
        abort(404)
    filters = read_filters(request.args)
    result = monitoring.compute(filters.scope, for_authority=not sees_companies(actor()))
    chosen = tables.tables(result) if key == "all" else {key: tables.table(result, key)}
    scope = filters.scope
    filename = "monitoring-{}-{}-{}.{}".format(ProgrammeKind(scope.programme).slug, scope.edition or "all-editions",
                                                key, fmt)
    if fmt == "csv":
        only = chosen[key]
        return exports.download(exports.csv_text(only.header, only.export_rows()), filename)
    sheets = [(_sheet_title(t), t.header, t.export_rows()) for t in chosen.values()]
    return exports.download(exports.xlsx_bytes(sheets), filename)


def _sheet_title(table: tables.Table) -> str:
    # Worksheet names cannot hold some characters and are at most 31 long.
    return "".join(c for c in table.title if c not in "[]:*?/\\")[:31]


@bp.route("/kpi/indicators", endpoint="catalogue")
@roles_required(*DASHBOARD_ROLES)
def catalogue_page():
    """The indicator catalogue: every indicator and measure with its definition, unit, source,
    aggregation and the ERDF common indicators it reports to."""
    return render_template("kpi/dashboard_catalogue.html", programmes=monitoring.programmes(),
                           sections=tables.catalogue_sections())


# --- home panels ---------------------------------------------------------------------------------------------------------


@dataclass
class Change:
    measure: str
    label: str
    before: str
    now: str


def changes_since(visit: DashboardVisit | None, headlines: list[Headline]) -> list[Change]:
    """The headline values that differ from what the user saw at their last visit."""
    if visit is None:
        return []
    seen = visit.values or {}
    out = []
    for programme in headlines:
        for value in programme.values:
            now = tables.stored_text(value)
            before = seen.get(value.measure)
            if before is not None and before != now:
                out.append(Change(value.measure, tables.measure_label(value.measure),
                                  tables.stored_as_text(before, value.measure),
                                  tables.stored_as_text(now, value.measure)))
    return out


def _latest_report(user):
    found = [r for p in PROGRAMMES for r in report_runs.recent_for(user, p, limit=1)]
    return max(found, key=lambda r: (r.requested_at, r.id)) if found else None


def _report_label(report) -> str:
    edition = str(report.edition_year) if report.edition_year else _("every edition")
    return f"{programme_name(report.programme)} {edition}"


@home.panel(Role.AUTHORITY, order=1)
def _authority_panel(user):
    if sees_companies(user):
        return None  # staff who also hold the authority role have the staff panel
    headlines = [programme_headline(p, True) for p in PROGRAMMES]
    visit = db.session.scalar(select(DashboardVisit).where(DashboardVisit.user_id == user.id))
    report = _latest_report(user)
    context = {
        "programmes": [(programme_name(h.programme), [tables.card(v, all_editions=True) for v in h.values])
                       for h in headlines],
        "report": report,
        "report_label": _report_label(report) if report is not None else "",
        "visit": visit,
        "changes": changes_since(visit, headlines),
        "locale": str(get_locale() or "en"),
    }
    return home.Panel(_l("Monitoring of results"), "kpi/_kpi_panel_authority.html", context)


@home.panel(Role.STAFF, Role.ADMIN, order=80)
def _staff_panel(user):
    return home.Panel(_l("Monitoring"), "kpi/_kpi_panel_staff.html", {})
