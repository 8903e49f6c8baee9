"""Voucher schemes, cost categories, the budget of a scheme and the de minimis register.

Services for staff (every function checks the role again, never commits):

- cost categories: `ensure_default_categories()` (the five usual ones when there are none),
  `category_list()`, `add_category`, `update_category` (rename, deactivate), `delete_category`
  (only one never used);
- schemes: `create_scheme(actor, data)`, `update_scheme(actor, scheme, data)` (refused when the
  budget would fall below what is committed), `scheme_list()`, `staff_scheme(actor, id)`;
- budget: `summary(scheme)` and `summaries(ids)` (figures of `budget.py` from the vouchers'
  rows), `figure_vouchers(scheme, figure)` (the vouchers behind a figure) and its export;
- the register: `register_page(filters)`, `register_export(filters)`: every voucher granted,
  with the aid it counts for (paid, approved or granted amount; nothing when lapsed or
  cancelled), beneficiary, VAT number, size class, grant date, scheme and legal basis;
- `timeline(scheme)`: what happened to the scheme, from the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import abort
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts import organisations
from opsapp.accounts.models import Organisation
from opsapp.calls.models import Edition, Programme, ProgrammeKind
from opsapp.core import audit
from opsapp.core.money import format_money as _format_money
from opsapp.core.pagination import Page, paginate
from opsapp.core.roles import Role
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.extensions import db
from opsapp.vouchers import budget
from opsapp.vouchers.models import (
    DEMINIMIS_CEILING,
    DEMINIMIS_LEGAL_BASIS,
    DEMINIMIS_YEARS,
    CostCategory,
    ExpenseLine,
    Voucher,
    VoucherScheme,
    VoucherStatus,
    scheme_cost_categories,
)
from opsapp.vouchers.pages import VoucherError

MONEY_MAX = Decimal("999999999.99")
REGISTER_KEPT_YEARS = 10

DEFAULT_CATEGORIES = (
    ("travel", "Travel", "Viaggio"),
    ("accommodation", "Accommodation", "Alloggio"),
    ("registration_fee", "Registration fee", "Quota di iscrizione"),
    ("stand", "Stand", "Stand espositivo"),
    ("pitch_coaching", "Pitch coaching", "Coaching per il pitch"),
)

FIGURE_LABELS = {
    "granted": _l("Granted"),
    "outstanding": _l("Waiting for a claim"),
    "claimed": _l("Claimed"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "lapsed": _l("Lapsed"),
    "cancelled": _l("Cancelled"),
    "committed": _l("Committed"),
    "available": _l("Available"),
}
FIGURE_HINTS = {
    "granted": _l("Every voucher granted under the scheme, at the amount granted, whatever happened next."),
    "outstanding": _l("Granted and not claimed yet, at the amount granted."),
    "claimed": _l("Claims waiting for review, at the amount granted."),
    "approved": _l("Reviewed and waiting for payment, at the amount approved."),
    "paid": _l("Paid, at the amount paid."),
    "lapsed": _l("Not claimed in time: the amount granted went back to the budget."),
    "cancelled": _l("Cancelled by staff: the amount granted went back to the budget."),
    "committed": _l("What the budget holds now: vouchers waiting for a claim or claimed at their amount, "
                    "approved at the amount approved, paid at the amount paid."),
    "available": _l("The budget less what is committed: what new vouchers may still use."),
}


def format_money(amount) -> str:
    """An amount in the user's language (English outside a request)."""
    return _format_money(amount, str(get_locale() or "en"))


def _require_staff(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_role(Role.STAFF, Role.ADMIN):
        abort(403)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- cost categories -----------------------------------------------------------------------------


def ensure_default_categories() -> bool:
    """Create the five usual categories when there is no category at all; True when it did."""
    if db.session.scalar(select(func.count(CostCategory.id))):
        return False
    for code, name_en, name_it in DEFAULT_CATEGORIES:
        db.session.add(CostCategory(code=code, name_en=name_en, name_it=name_it, active=True))
    db.session.flush()
    return True


def category_list() -> list[CostCategory]:
    return list(db.session.scalars(select(CostCategory).order_by(CostCategory.active.desc(), CostCategory.code)))


def active_categories() -> list[CostCategory]:
    return list(db.session.scalars(select(CostCategory).where(CostCategory.active.is_(True))
                                   .order_by(CostCategory.code)))


def categories_in_use() -> dict[int, int]:
    """{category id: schemes and expense lines using it}."""
    used: dict[int, int] = {}
    for category_id, n in db.session.execute(
            select(scheme_cost_categories.c.category_id, func.count())
            .group_by(scheme_cost_categories.c.category_id)):
        used[category_id] = used.get(category_id, 0) + n
    for category_id, n in db.session.execute(
            select(ExpenseLine.category_id, func.count(ExpenseLine.id)).group_by(ExpenseLine.category_id)):
        used[category_id] = used.get(category_id, 0) + n
    return used


_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _clean_names(name_en: str | None, name_it: str | None) -> tuple[str, str]:
    name_en, name_it = (name_en or "").strip(), (name_it or "").strip()
    if not name_en:
        raise VoucherError(_l("Enter the English name."), "name_en")
    if not name_it:
        raise VoucherError(_l("Enter the Italian name."), "name_it")
    if len(name_en) > 120 or len(name_it) > 120:
        raise VoucherError(_l("Write at most %(max)d characters.", max=120),
                           "name_en" if len(name_en) > 120 else "name_it")
    return name_en, name_it


def add_category(actor, code: str, name_en: str, name_it: str) -> CostCategory:
    _require_staff(actor)
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        raise VoucherError(_l("Write the code in lower-case letters, digits and underscores, starting with a "
                              "letter, for example trade_fair."), "code")
    if db.session.scalar(select(CostCategory.id).where(CostCategory.code == code)):
        raise VoucherError(_l("There is already a category with the code %(code)s.", code=code), "code")
    name_en, name_it = _clean_names(name_en, name_it)
    category = CostCategory(code=code, name_en=name_en, name_it=name_it, active=True)
    db.session.add(category)
    db.session.flush()
    audit.record("vouchers.category_added", category, actor=actor, code=code, name_en=name_en, name_it=name_it)
    return category


def category_or_404(category_id) -> CostCategory:
    category = db.session.get(CostCategory, category_id) if isinstance(category_id, int) else None
    if category is None:
        abort(404)
    return category


def update_category(actor, category: CostCategory, name_en: str, name_it: str, active: bool) -> dict:
    """Rename or (de)activate a category; returns {field: [old, new]}."""
    _require_staff(actor)
    name_en, name_it = _clean_names(name_en, name_it)
    changes = {}
    for name, value in (("name_en", name_en), ("name_it", name_it), ("active", bool(active))):
        old = getattr(category, name)
        if old != value:
            changes[name] = [old, value]
            setattr(category, name, value)
    db.session.flush()
    if changes:
        audit.record("vouchers.category_updated", category, actor=actor, code=category.code, changes=changes)
    return changes


def delete_category(actor, category: CostCategory) -> None:
    """Delete a category never used by a scheme or an expense line; one in use can only be deactivated."""
    _require_staff(actor)
    if categories_in_use().get(category.id):
        raise VoucherError(_l("The category %(name)s is used by a scheme or a claim: deactivate it instead, "
                              "so it is no longer offered.", name=category.name_en))
    audit.record("vouchers.category_deleted", category, actor=actor, code=category.code, name_en=category.name_en)
    db.session.delete(category)
    db.session.flush()


# --- schemes -------------------------------------------------------------------------------------


@dataclass
class SchemeData:
    edition_id: int | None
    name: str
    description: str | None
    legal_basis: str | None
    budget: Decimal | None
    max_per_sme: Decimal | None
    category_ids: list[int]
    valid_from: date | None
    valid_until: date | None
    outside_region_only: bool = True
    deminimis_ceiling: Decimal | None = DEMINIMIS_CEILING
    deminimis_years: int | None = DEMINIMIS_YEARS
    warning_percent: int | None = 10


def editions() -> list[Edition]:
    """Every edition, Meet the Buyer first, newest first."""
    rows = list(db.session.scalars(select(Edition).join(Programme).options(joinedload(Edition.programme))
                                   .order_by(Edition.year.desc(), Programme.id)))
    return sorted(rows, key=lambda e: (e.programme.kind != ProgrammeKind.MEET_THE_BUYER.value, -e.year, e.id))


def _clean(data: SchemeData, editable_category_ids: set[int]) -> tuple[dict, list[CostCategory]]:
    name = (data.name or "").strip()
    if not name:
        raise VoucherError(_l("Enter the name of the scheme."), "name")
    if len(name) > 200:
        raise VoucherError(_l("Write at most %(max)d characters.", max=200), "name")
    if data.edition_id is None or db.session.get(Edition, data.edition_id) is None:
        raise VoucherError(_l("Choose the programme edition the scheme belongs to."), "edition_id")
    legal_basis = (data.legal_basis or "").strip() or DEMINIMIS_LEGAL_BASIS
    if len(legal_basis) > 300:
        raise VoucherError(_l("Write at most %(max)d characters.", max=300), "legal_basis")
    if data.budget is None:
        raise VoucherError(_l("Enter the total budget in EUR."), "budget")
    if data.budget <= 0:
        raise VoucherError(_l("The total budget must be more than zero."), "budget")
    if data.budget > MONEY_MAX:
        raise VoucherError(_l("This amount is too large."), "budget")
    if data.max_per_sme is None:
        raise VoucherError(_l("Enter the maximum amount per SME in EUR."), "max_per_sme")
    if data.max_per_sme <= 0:
        raise VoucherError(_l("The maximum per SME must be more than zero."), "max_per_sme")
    if data.max_per_sme > data.budget:
        raise VoucherError(_l("The maximum per SME (%(max)s) cannot be above the total budget (%(budget)s).",
                              max=format_money(data.max_per_sme), budget=format_money(data.budget)), "max_per_sme")
    ids = sorted(set(data.category_ids or []))
    if not ids:
        raise VoucherError(_l("Choose at least one eligible cost category."), "category_ids")
    categories = list(db.session.scalars(select(CostCategory).where(CostCategory.id.in_(ids))))
    if len(categories) != len(ids) or any(not c.active and c.id not in editable_category_ids for c in categories):
        raise VoucherError(_l("Choose among the active cost categories offered."), "category_ids")
    if data.valid_from is None:
        raise VoucherError(_l("Enter the first day of validity, like 2027-01-01."), "valid_from")
    if data.valid_until is None:
        raise VoucherError(_l("Enter the last day of validity, like 2027-12-31."), "valid_until")
    if data.valid_until <= data.valid_from:
        raise VoucherError(_l("The end of the validity must come after its start."), "valid_until")
    if data.deminimis_ceiling is None or data.deminimis_ceiling <= 0:
        raise VoucherError(_l("Enter the de minimis ceiling in EUR, more than zero (usually 300000)."),
                           "deminimis_ceiling")
    if data.deminimis_ceiling > MONEY_MAX:
        raise VoucherError(_l("This amount is too large."), "deminimis_ceiling")
    if data.deminimis_years is None or not 1 <= data.deminimis_years <= 10:
        raise VoucherError(_l("Enter a number of years from 1 to 10 (usually 3)."), "deminimis_years")
    if data.warning_percent is None or not 0 <= data.warning_percent <= 100:
        raise VoucherError(_l("Enter a percentage from 0 to 100."), "warning_percent")
    description = (data.description or "").strip() or None
    return {
        "edition_id": data.edition_id, "name": name, "description": description, "legal_basis": legal_basis,
        "budget": data.budget, "max_per_sme": data.max_per_sme, "valid_from": data.valid_from,
        "valid_until": data.valid_until, "outside_region_only": bool(data.outside_region_only),
        "deminimis_ceiling": data.deminimis_ceiling, "deminimis_years": data.deminimis_years,
        "warning_percent": data.warning_percent,
    }, sorted(categories, key=lambda c: c.code)


def create_scheme(actor, data: SchemeData) -> VoucherScheme:
    _require_staff(actor)
    values, categories = _clean(data, set())
    scheme = VoucherScheme(created_by_id=actor.id, **values)
    scheme.cost_categories = categories
    db.session.add(scheme)
    db.session.flush()
    audit.record("vouchers.scheme_created", scheme, actor=actor,
                 **{k: _plain(v) for k, v in values.items() if k != "description"},
                 categories=[c.code for c in categories])
    return scheme


def update_scheme(actor, scheme: VoucherScheme, data: SchemeData) -> dict:
    """Save the scheme; returns {field: [old, new]}. Lowering the budget below what the vouchers
    already hold is refused with the figures."""
    _require_staff(actor)
    values, categories = _clean(data, {c.id for c in scheme.cost_categories})
    if values["budget"] != scheme.budget:
        current = summary(scheme)
        if values["budget"] < current.committed:
            raise VoucherError(_l(
                "The budget cannot be lowered to %(new)s: vouchers already hold %(committed)s of it. "
                "Enter at least %(committed)s, or cancel vouchers first.",
                new=format_money(values["budget"]), committed=format_money(current.committed)), "budget")
    changes = {}
    for name, value in values.items():
        old = getattr(scheme, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(scheme, name, value)
    old_codes = [c.code for c in scheme.cost_categories]
    new_codes = [c.code for c in categories]
    if old_codes != new_codes:
        changes["categories"] = [old_codes, new_codes]
        scheme.cost_categories = categories
    db.session.flush()
    if changes:
        audit.record("vouchers.scheme_updated", scheme, actor=actor, changes=changes)
    return changes


def form_values(scheme: VoucherScheme) -> dict:
    return {
        "edition_id": scheme.edition_id, "name": scheme.name, "description": scheme.description,
        "legal_basis": scheme.legal_basis, "budget": scheme.budget, "max_per_sme": scheme.max_per_sme,
        "category_ids": [c.id for c in scheme.cost_categories], "valid_from": scheme.valid_from,
        "valid_until": scheme.valid_until, "outside_region_only": scheme.outside_region_only,
        "deminimis_ceiling": scheme.deminimis_ceiling, "deminimis_years": scheme.deminimis_years,
        "warning_percent": scheme.warning_percent,
    }


def staff_scheme(actor, scheme_id: int) -> VoucherScheme:
    _require_staff(actor)
    scheme = db.session.scalar(select(VoucherScheme).where(VoucherScheme.id == scheme_id).options(
        joinedload(VoucherScheme.edition).joinedload(Edition.programme),
        selectinload(VoucherScheme.cost_categories)))
    if scheme is None:
        abort(404)
    return scheme


# --- budget --------------------------------------------------------------------------------------


def _rows_query(scheme_ids):
    return (select(Voucher.scheme_id, Voucher.status, Voucher.amount, Voucher.approved_amount, Voucher.paid_amount)
            .where(Voucher.scheme_id.in_(list(scheme_ids))))


def summary(scheme: VoucherScheme) -> budget.BudgetSummary:
    """The figures of one scheme, from its vouchers as they are in the database now."""
    rows = [row[1:] for row in db.session.execute(_rows_query([scheme.id]))]
    return budget.summarise(scheme.budget, rows)


def summaries(schemes: list[VoucherScheme]) -> dict[int, budget.BudgetSummary]:
    """The figures of several schemes in one query."""
    rows: dict[int, list] = {s.id: [] for s in schemes}
    if schemes:
        for row in db.session.execute(_rows_query(rows)):
            rows[row[0]].append(row[1:])
    return {s.id: budget.summarise(s.budget, rows[s.id]) for s in schemes}


@dataclass
class SchemeRow:
    scheme: VoucherScheme
    summary: budget.BudgetSummary

    @property
    def warn(self) -> bool:
        return self.summary.budget > 0 and self.summary.available * 100 < self.summary.budget * 10


def scheme_list(actor) -> list[SchemeRow]:
    _require_staff(actor)
    schemes = list(db.session.scalars(
        select(VoucherScheme).options(joinedload(VoucherScheme.edition).joinedload(Edition.programme))
        .order_by(VoucherScheme.valid_until.desc(), VoucherScheme.id.desc())))
    figures = summaries(schemes)
    return [SchemeRow(s, figures[s.id]) for s in schemes]


def figure_label(name: str) -> str:
    return str(FIGURE_LABELS[name])


def _figure_query(scheme: VoucherScheme, figure: str):
    statuses = [s.value for s in budget.FIGURE_STATUSES[figure]]
    return (select(Voucher).where(Voucher.scheme_id == scheme.id, Voucher.status.in_(statuses))
            .join(Organisation, Organisation.id == Voucher.organisation_id)
            .options(joinedload(Voucher.organisation), joinedload(Voucher.event))
            .order_by(Voucher.granted_on.desc(), Voucher.id.desc()))


def _check_figure(figure: str) -> None:
    if figure not in budget.FIGURE_STATUSES:
        abort(404)


def figure_vouchers(actor, scheme: VoucherScheme, figure: str, per_page: int = 50) -> Page:
    """The vouchers behind one figure of the budget (`available` has none: 404)."""
    _require_staff(actor)
    _check_figure(figure)
    return paginate(_figure_query(scheme, figure), per_page)


def counted(voucher: Voucher) -> Decimal:
    """The amount a voucher counts for in its figure: what it holds, or what it returned."""
    if voucher.status in (VoucherStatus.LAPSED.value, VoucherStatus.CANCELLED.value):
        return voucher.amount
    return budget.held(voucher.status, voucher.amount, voucher.approved_amount, voucher.paid_amount)


def figure_export(actor, scheme: VoucherScheme, figure: str) -> tuple[list[str], list[list]]:
    _require_staff(actor)
    _check_figure(figure)
    header = [str(h) for h in (_l("Voucher"), _l("Organisation"), _l("VAT or registration number"), _l("Event"),
                               _l("Purpose"), _l("Status"), _l("Amount granted (EUR)"),
                               _l("Amount approved (EUR)"), _l("Amount paid (EUR)"), _l("Counted (EUR)"),
                               _l("Granted on"), _l("Valid until"), _l("Paid on"))]
    rows = [[v.id, v.organisation.legal_name, v.organisation.vat_number, v.event.name if v.event else "",
             v.purpose or "", v.status_enum.label, v.amount, v.approved_amount, v.paid_amount, counted(v),
             v.granted_on, v.valid_until, v.paid_on]
            for v in db.session.scalars(_figure_query(scheme, figure))]
    return header, rows


# --- the de minimis register ---------------------------------------------------------------------


@dataclass
class RegisterFilters:
    scheme: str = ""
    year: str = ""
    q: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("scheme", self.scheme), ("year", self.year), ("q", self.q)) if v}


def register_years() -> list[int]:
    """The years with a grant, newest first."""
    first, last = db.session.execute(select(func.min(Voucher.granted_on), func.max(Voucher.granted_on))).one()
    if first is None:
        return []
    return list(range(last.year, first.year - 1, -1))


def scheme_choices() -> list[VoucherScheme]:
    return list(db.session.scalars(select(VoucherScheme).order_by(VoucherScheme.name, VoucherScheme.id)))


def _register_query(filters: RegisterFilters, *columns):
    """The register's vouchers (or these columns of them) matching the filters, newest grant first."""
    stmt = select(*columns) if columns else select(Voucher).options(joinedload(Voucher.organisation),
                                                                    joinedload(Voucher.scheme))
    stmt = stmt.select_from(Voucher).join(Organisation, Organisation.id == Voucher.organisation_id)
    if filters.scheme.isdigit():
        stmt = stmt.where(Voucher.scheme_id == int(filters.scheme))
    if filters.year.isdigit() and 2000 <= int(filters.year) <= 2100:
        year = int(filters.year)
        stmt = stmt.where(Voucher.granted_on >= date(year, 1, 1), Voucher.granted_on < date(year + 1, 1, 1))
    q = (filters.q or "").strip().lower()[:100]
    if q:
        pattern = "%" + q.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        stmt = stmt.where(or_(func.lower(Organisation.legal_name).like(pattern, escape="!"),
                              func.lower(Organisation.vat_number).like(pattern, escape="!")))
    return stmt.order_by(Voucher.granted_on.desc(), Voucher.id.desc())


def aid_amount(voucher: Voucher) -> Decimal:
    """The aid a voucher counts for: paid amount when paid, approved when approved, granted
    while waiting; nothing when lapsed or cancelled."""
    return budget.held(voucher.status, voucher.amount, voucher.approved_amount, voucher.paid_amount)


@dataclass
class RegisterPage:
    page: Page
    total_aid: Decimal
    total_count: int
    years: list[int] = field(default_factory=list)


def register_page(actor, filters: RegisterFilters, per_page: int = 50) -> RegisterPage:
    _require_staff(actor)
    stmt = _register_query(filters)
    page = paginate(stmt, per_page)
    rows = db.session.execute(_register_query(filters, Voucher.status, Voucher.amount, Voucher.approved_amount,
                                              Voucher.paid_amount))
    total = sum((budget.held(*row) for row in rows), budget.ZERO)
    return RegisterPage(page, total, page.total, register_years())


def register_export(actor, filters: RegisterFilters) -> tuple[list[str], list[list]]:
    _require_staff(actor)
    header = [str(h) for h in (_l("Voucher"), _l("Beneficiary"), _l("VAT or registration number"),
                               _l("Size class"), _l("Grant date"), _l("Amount granted (EUR)"),
                               _l("Aid counted (EUR)"), _l("Scheme"), _l("Legal basis"), _l("Status"),
                               _l("Paid on"))]
    rows = [[v.id, v.organisation.legal_name, v.organisation.vat_number,
             organisations.size_class_label(v.organisation.size_class), v.granted_on, v.amount, aid_amount(v),
             v.scheme.name, v.scheme.legal_basis, v.status_enum.label, v.paid_on]
            for v in db.session.scalars(_register_query(filters))]
    return header, rows


# --- timeline ------------------------------------------------------------------------------------

TIMELINE_LABELS = {
    "vouchers.scheme_created": _l("Scheme created"),
    "vouchers.scheme_updated": _l("Scheme changed"),
}
CHANGE_LABELS = {
    "edition_id": _l("edition"), "name": _l("name"), "description": _l("description"),
    "legal_basis": _l("legal basis"), "budget": _l("budget"), "max_per_sme": _l("maximum per SME"),
    "valid_from": _l("valid from"), "valid_until": _l("valid until"),
    "outside_region_only": _l("outside the region only"), "deminimis_ceiling": _l("de minimis ceiling"),
    "deminimis_years": _l("de minimis period"), "warning_percent": _l("warning threshold"),
    "categories": _l("cost categories"),
}


def timeline(scheme: VoucherScheme) -> list[TimelineEntry]:
    entries = []
    for entry, name in audit_rows(VoucherScheme.__tablename__, scheme.id, actions=list(TIMELINE_LABELS)):
        subject = None
        changes = (entry.detail or {}).get("changes") or {}
        if entry.action == "vouchers.scheme_updated" and changes:
            parts = []
            for key in sorted(changes):
                label = str(CHANGE_LABELS.get(key, key))
                if key in ("budget", "max_per_sme", "deminimis_ceiling"):
                    old, new = changes[key]
                    label += " " + _("from %(old)s to %(new)s", old=format_money(Decimal(old)),
                                     new=format_money(Decimal(new)))
                parts.append(label)
            subject = ", ".join(parts)
        entries.append(TimelineEntry(entry.created_at, name, str(TIMELINE_LABELS[entry.action]), subject))
    return entries
