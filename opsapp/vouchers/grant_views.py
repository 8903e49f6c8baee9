"""Pages of granting, seeing and cancelling vouchers, and the lists of vouchers.

- `vouchers.grant` (GET/POST, staff): the grant form of a scheme (`?organisation=<id>&event=<id>`
  preselect), with the company's de minimis position; refusals with their figures next to the
  amount; a confirmation when little headroom is left under the ceiling;
- `vouchers.voucher_detail` (GET, staff and the company's members; anyone else 404): status,
  amounts, conditions, the claim's lines, the timeline, the actions allowed now;
- `vouchers.cancel` (POST, staff): cancel with a reason, while granted or claimed;
- `vouchers.mine` (GET, signed in): a member's vouchers of its organisations; staff: every
  voucher with filters in the URL, pagination, CSV/XLSX export.

Views are thin: decorator, form, one service call of `grants.py` (which checks the rights and
the rules), one commit.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import exports, navigation
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers import bp, grants
from opsapp.vouchers.grant_forms import CancelForm, GrantForm, VoucherFilterForm
from opsapp.vouchers.models import LineDecision, VoucherStatus
from opsapp.vouchers.pages import VoucherError, actor, is_staff, refuse, refuse_action, render

navigation.register(_l("My vouchers"), "vouchers.mine", [Role.APPLICANT], order=38)


def show_problems(form, error: VoucherError) -> None:
    """Undo what the service flushed and put each problem next to its field (else at the top)."""
    problems = getattr(error, "problems", None)
    if not problems:
        refuse(form, error)
        return
    db.session.rollback()
    for field_name, message in problems:
        if field_name and field_name in form:
            form[field_name].errors = [*form[field_name].errors, message]
        else:
            form.form_errors.append(message)


def _arg_id(name: str) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else 0


# --- granting ----------------------------------------------------------------------------------------


@bp.route("/vouchers/schemes/<int:scheme_id>/grant", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def grant(scheme_id: int):
    scheme = grants.staff_scheme(actor(), scheme_id)
    participating, others = grants.candidate_organisations(scheme)
    events = grants.scheme_events(scheme)
    form = GrantForm(participating=participating, others=others, events=events, scheme=scheme)
    if request.method == "GET":
        form.organisation_id.data = _arg_id("organisation")
        form.event_id.data = _arg_id("event")
        form.granted_on.data = grants.today()
        form.valid_until.data = scheme.valid_until
    warning = None
    data = grants.GrantData(organisation_id=form.organisation_id.data or None, amount=form.amount.data,
                            granted_on=form.granted_on.data, valid_until=form.valid_until.data,
                            event_id=form.event_id.data or None, purpose=form.purpose.data or "",
                            confirmed=bool(form.confirm.data))
    if request.method == "POST" and not form.validate_on_submit():
        if not form.csrf_token.errors:
            # The other fields' problems too, so that everything to fix shows at once.
            for field_name, message in grants.field_problems(actor(), scheme_id, data):
                if field_name in form and not form[field_name].errors:
                    form[field_name].errors = [*form[field_name].errors, message]
    elif request.method == "POST":
        try:
            voucher = grants.grant(actor(), scheme_id, data)
        except grants.GrantNeedsConfirmation as error:
            db.session.rollback()
            warning = str(error.message)
        except VoucherError as error:
            show_problems(form, error)
        else:
            voucher_id, amount, name = voucher.id, voucher.amount, voucher.organisation.legal_name
            db.session.commit()
            flash(_("Voucher %(id)d of %(amount)s is granted to %(organisation)s; its members are told.",
                    id=voucher_id, amount=grants.money_text(amount), organisation=name), "success")
            return redirect(url_for("vouchers.voucher_detail", voucher_id=voucher_id))
    scheme = grants.staff_scheme(actor(), scheme_id)
    organisation = grants.grantable_organisation(form.organisation_id.data)
    position = held = None
    if organisation is not None:
        position, held = grants.preview(actor(), scheme, organisation)
    return render("grants/grant.html", scheme=scheme, form=form, warning=warning, organisation=organisation,
                  position=position, held=held, summary=grants.schemes.summary(scheme),
                  position_message=grants.position_message(position) if position else None,
                  period=grants.period_words(scheme.deminimis_years))


# --- a voucher ---------------------------------------------------------------------------------------


def _detail(voucher_id: int, cancel_form=None):
    voucher = grants.voucher_for_view(actor(), voucher_id)
    user = actor()
    may_cancel = grants.may_cancel(user, voucher)
    if may_cancel and cancel_form is None:
        cancel_form = CancelForm(formdata=None)
    lines_total = sum((line.amount for line in voucher.lines), grants.budget.ZERO)
    return render("grants/detail.html", voucher=voucher, timeline=grants.timeline(voucher),
                  may_cancel=may_cancel, cancel_form=cancel_form, lines_total=lines_total,
                  member=grants.is_member(user, voucher.organisation_id), Status=VoucherStatus,
                  LineDecision=LineDecision, today=grants.today())


@bp.route("/vouchers/<int:voucher_id>")
@signed_in
def voucher_detail(voucher_id: int):
    return _detail(voucher_id)


@bp.route("/vouchers/<int:voucher_id>/cancel", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def cancel(voucher_id: int):
    grants.voucher_for_view(actor(), voucher_id)  # 404 before anything else
    form = CancelForm()
    if form.validate_on_submit():
        try:
            voucher = grants.cancel(actor(), voucher_id, form.reason.data or "")
        except VoucherError as error:
            if not error.field:  # no longer cancellable: say so on the voucher's page
                refuse_action(error)
                return redirect(url_for("vouchers.voucher_detail", voucher_id=voucher_id))
            refuse(form, error)
        else:
            amount = voucher.amount
            db.session.commit()
            flash(_("Voucher %(id)d is cancelled: %(amount)s returned to the scheme's budget. The company is told.",
                    id=voucher_id, amount=grants.money_text(amount)), "success")
            return redirect(url_for("vouchers.voucher_detail", voucher_id=voucher_id))
    return _detail(voucher_id, cancel_form=form)


# --- lists ---------------------------------------------------------------------------------------------


@bp.route("/vouchers")
@signed_in
def mine():
    staff = is_staff(actor())
    form = VoucherFilterForm(formdata=request.args, schemes=grants.schemes_for_filter() if staff else ())
    filters = form.filters()
    export = request.args.get("export", "")
    if staff and export in ("csv", "xlsx"):
        header, rows = grants.voucher_export(actor(), filters)
        db.session.commit()  # the export's audit entry
        filename = f"vouchers.{export}"
        if export == "csv":
            return exports.download(exports.csv_text(header, rows), filename)
        return exports.download(exports.xlsx_bytes([(_("Vouchers"), header, rows)]), filename)
    listing = grants.voucher_list(actor(), filters)
    return render("grants/list.html", form=form, filters=filters, listing=listing, staff=staff,
                  filtered=bool(filters.as_args()), export_args=filters.as_args(), Status=VoucherStatus)
