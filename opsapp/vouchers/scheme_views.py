"""Pages of voucher schemes (staff and admin only):

- `vouchers.schemes`: every scheme with its edition, budget, committed, available and counts;
- `vouchers.scheme_new`, `vouchers.scheme_edit`: the scheme's form;
- `vouchers.scheme_detail`: the budget view (figures, each a link to the vouchers behind it,
  the scheme's facts, the timeline, "Grant a voucher");
- `vouchers.budget_list`: the vouchers behind one figure, with CSV/XLSX export;
- `vouchers.cost_categories`: the editable list of cost categories;
- `vouchers.register`: the de minimis register with filters and CSV/XLSX export.

Views are thin: decorator, form, one service call of `schemes.py`, one commit. The navigation
entry and the staff's home panel are here too.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts import organisations
from opsapp.accounts.forms import EmptyForm
from opsapp.core import exports, home, navigation
from opsapp.core.permissions import roles_required
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers import bp, budget, schemes
from opsapp.vouchers.pages import VoucherError, actor, refuse, refuse_action, render
from opsapp.vouchers.scheme_forms import (
    CategoryEditForm,
    CategoryForm,
    RegisterFilterForm,
    SchemeForm,
)

STAFF_ROLES = (Role.STAFF, Role.ADMIN)

navigation.register(_l("Vouchers"), "vouchers.schemes", list(STAFF_ROLES), order=58)

STATUS_BADGES = {"granted": "bg-primary", "claimed": "bg-warning text-dark", "approved": "bg-info text-dark",
                 "paid": "bg-success", "lapsed": "bg-secondary", "cancelled": "bg-secondary"}


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "bg-secondary")


def _page(template: str, **context):
    return render(template, status_badge=status_badge, figure_label=schemes.figure_label,
                  figure_hints=schemes.FIGURE_HINTS, **context)


# --- home panel ------------------------------------------------------------------------------------


@home.panel(Role.STAFF, order=45)
def _schemes_staff_panel(user):
    rows = [row for row in schemes.scheme_list(user)]
    if not rows:
        return None
    return home.Panel(_l("Voucher budgets"), "vouchers/schemes/_panel_staff.html", {"rows": rows[:6]})


# --- schemes -----------------------------------------------------------------------------------------


@bp.route("/vouchers/schemes", endpoint="schemes")  # the module `schemes` is the service
@roles_required(*STAFF_ROLES)
def schemes_page():
    return _page("schemes/list.html", rows=schemes.scheme_list(actor()))


def _scheme_form(scheme=None, **kwargs) -> SchemeForm:
    if schemes.ensure_default_categories():
        db.session.commit()
    categories = schemes.active_categories()
    if scheme is not None:
        known = {c.id for c in categories}
        categories += [c for c in scheme.cost_categories if c.id not in known]
    return SchemeForm(editions=schemes.editions(), categories=categories, **kwargs)


@bp.route("/vouchers/schemes/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def scheme_new():
    form = _scheme_form()
    if form.validate_on_submit():
        try:
            scheme = schemes.create_scheme(actor(), form.scheme_data())
        except VoucherError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The scheme is created. You can now grant vouchers under it."), "success")
            return redirect(url_for("vouchers.scheme_detail", scheme_id=scheme.id))
    return _page("schemes/form.html", form=form, scheme=None)


@bp.route("/vouchers/schemes/<int:scheme_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def scheme_edit(scheme_id: int):
    scheme = schemes.staff_scheme(actor(), scheme_id)
    if request.method == "POST":
        form = _scheme_form(scheme)
    else:
        form = _scheme_form(scheme, formdata=None, data=schemes.form_values(scheme))
    if form.validate_on_submit():
        try:
            changes = schemes.update_scheme(actor(), scheme, form.scheme_data())
        except VoucherError as error:
            refuse(form, error)
            scheme = schemes.staff_scheme(actor(), scheme_id)
        else:
            db.session.commit()
            flash(_("The scheme is saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for("vouchers.scheme_detail", scheme_id=scheme_id))
    return _page("schemes/form.html", form=form, scheme=scheme, summary=schemes.summary(scheme))


@bp.route("/vouchers/schemes/<int:scheme_id>")
@roles_required(*STAFF_ROLES)
def scheme_detail(scheme_id: int):
    scheme = schemes.staff_scheme(actor(), scheme_id)
    return _page("schemes/detail.html", scheme=scheme, summary=schemes.summary(scheme),
                 figures=budget.FIGURES, timeline=schemes.timeline(scheme))


@bp.route("/vouchers/schemes/<int:scheme_id>/budget/<figure>")
@roles_required(*STAFF_ROLES)
def budget_list(scheme_id: int, figure: str):
    scheme = schemes.staff_scheme(actor(), scheme_id)
    export = request.args.get("export", "")
    if export in ("csv", "xlsx"):
        header, rows = schemes.figure_export(actor(), scheme, figure)
        filename = f"voucher-scheme-{scheme.id}-{figure}.{export}"
        if export == "csv":
            return exports.download(exports.csv_text(header, rows), filename)
        return exports.download(exports.xlsx_bytes([(schemes.figure_label(figure), header, rows)]), filename)
    page = schemes.figure_vouchers(actor(), scheme, figure)
    return _page("schemes/budget_list.html", scheme=scheme, figure=figure, page=page,
                 summary=schemes.summary(scheme), counted=schemes.counted)


# --- cost categories -------------------------------------------------------------------------------


@bp.route("/vouchers/cost-categories", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def cost_categories():
    """The list; `?edit=<id>` opens one category's form above it. POST `action`: add, save, delete."""
    if schemes.ensure_default_categories():
        db.session.commit()
    back = url_for("vouchers.cost_categories")
    add_form = CategoryForm(prefix="new")
    edit_form, editing = None, None
    wanted = request.form.get("category", "") if request.method == "POST" else request.args.get("edit", "")
    if wanted:
        editing = schemes.category_or_404(int(wanted) if wanted.isdigit() else None)
        if request.method == "POST":
            edit_form = CategoryEditForm(prefix="edit")
        else:
            edit_form = CategoryEditForm(prefix="edit", formdata=None, obj=editing)
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "add" and add_form.validate_on_submit():
            try:
                category = schemes.add_category(actor(), add_form.code.data, add_form.name_en.data,
                                                add_form.name_it.data)
            except VoucherError as error:
                refuse(add_form, error)
            else:
                db.session.commit()
                flash(_("The category %(name)s is added.", name=category.name_en), "success")
                return redirect(back)
        elif action == "save" and editing is not None and edit_form.validate_on_submit():
            try:
                changes = schemes.update_category(actor(), editing, edit_form.name_en.data, edit_form.name_it.data,
                                                  edit_form.active.data)
            except VoucherError as error:
                refuse(edit_form, error)
            else:
                db.session.commit()
                flash(_("The category is saved.") if changes else _("Nothing changed."), "success")
                return redirect(back)
        elif action == "delete" and editing is not None:
            if not EmptyForm().validate_on_submit():
                flash(_("The form had expired. Send it again."), "danger")
                return redirect(back)
            try:
                schemes.delete_category(actor(), editing)
            except VoucherError as error:
                refuse_action(error)
            else:
                db.session.commit()
                flash(_("The category is deleted."), "success")
            return redirect(back)
        elif action not in ("add", "save"):
            flash(_("Choose one of the buttons of the page."), "danger")
            return redirect(back)
    return _page("schemes/categories.html", rows=schemes.category_list(), add_form=add_form, edit_form=edit_form,
                 editing=editing, in_use=schemes.categories_in_use(), empty_form=EmptyForm())


# --- the register -----------------------------------------------------------------------------------


@bp.route("/vouchers/register")
@roles_required(*STAFF_ROLES)
def register():
    form = RegisterFilterForm(formdata=request.args, scheme_choices=schemes.scheme_choices(),
                              years=schemes.register_years())
    filters = form.filters()
    export = request.args.get("export", "")
    if export in ("csv", "xlsx"):
        header, rows = schemes.register_export(actor(), filters)
        filename = f"de-minimis-register.{export}"
        if export == "csv":
            return exports.download(exports.csv_text(header, rows), filename)
        return exports.download(exports.xlsx_bytes([(_("De minimis register"), header, rows)]), filename)
    listing = schemes.register_page(actor(), filters)
    return _page("schemes/register.html", form=form, filters=filters, listing=listing,
                 filtered=bool(filters.as_args()), export_args=filters.as_args(), aid_amount=schemes.aid_amount,
                 size_class_label=organisations.size_class_label, kept_years=schemes.REGISTER_KEPT_YEARS)
