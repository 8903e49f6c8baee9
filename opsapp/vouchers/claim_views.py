"""Pages of a voucher's claim, its review and its payment.

- `vouchers.claim` (GET/POST, the SME's members): the expense lines with their receipts, the
  running total against the voucher, and the form adding a line with its receipt;
- `vouchers.claim_line_delete` (POST, members): delete a line while the claim is open;
- `vouchers.claim_submit` (GET/POST, members): the summary, the declaration, the submission;
- `vouchers.receipt` (GET, members and staff): a line's receipt as a download;
- `vouchers.review` (GET/POST, staff): each line's decision, the approved total, the review;
- `vouchers.payment` (GET/POST, staff): the payment of an approved voucher.

Views are thin: decorator, form, one service call of `claiming.py` (which checks the
object-level rights: anyone else gets 404), one commit. The home panels "Vouchers to claim"
(applicants) and "Claims to review" (staff) are here too.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts.forms import EmptyForm
from opsapp.core import files, home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers import bp, claiming, claims
from opsapp.vouchers.claim_forms import DecisionForm, LineForm, PaymentForm, ReviewForm, SubmitForm
from opsapp.vouchers.models import VoucherStatus
from opsapp.vouchers.pages import VoucherError, actor, link_to, refuse, refuse_action, render

# --- home panels -----------------------------------------------------------------------------------


@home.panel(Role.APPLICANT, order=40)
def _vouchers_to_claim_panel(user):
    vouchers = claiming.to_claim(user)
    if not vouchers:
        return None
    return home.Panel(_l("Vouchers to claim"), "vouchers/claims/_panel_to_claim.html", {"vouchers": vouchers})


@home.panel(Role.STAFF, order=30)
def _claims_to_review_panel(user):
    vouchers = claiming.to_review()
    if not vouchers:
        return None
    return home.Panel(_l("Claims to review"), "vouchers/claims/_panel_to_review.html", {"vouchers": vouchers})


# --- helpers -------------------------------------------------------------------------------------------


def _voucher_link(voucher) -> str | None:
    return link_to("vouchers.voucher_detail", voucher_id=voucher.id)


def _show_problems(form, error: VoucherError) -> None:
    """Undo what the service flushed and put each problem next to its field (else at the top)."""
    problems = getattr(error, "problems", None)
    if not problems:
        refuse(form, error)
        return
    db.session.rollback()
    for field, message in problems:
        if field and field in form:
            form[field].errors = [*form[field].errors, message]
        else:
            form.form_errors.append(message)


def _page(template: str, voucher, **context):
    return render(template, voucher=voucher, voucher_link=_voucher_link(voucher), Status=VoucherStatus, **context)


def _claim_page(voucher, form, status: int = 200):
    claim = claiming.claim_of(voucher)
    return _page("claims/claim.html", voucher, claim=claim, form=form, empty_form=EmptyForm(),
                 problems=[claiming.message(p) for p in claiming.submission_problems(voucher)]
                 if claim.open and claim.lines else []), status


# --- the claim -------------------------------------------------------------------------------------------


@bp.route("/vouchers/<int:voucher_id>/claim", methods=["GET", "POST"])
@signed_in
def claim(voucher_id: int):
    voucher = claiming.voucher_for_claim(actor(), voucher_id, lock=request.method == "POST")
    form = LineForm(categories=claiming.eligible_categories(voucher), validity=(voucher.granted_on, voucher.valid_until))
    if request.method == "POST":
        if not claiming.claim_open(voucher):
            db.session.rollback()
            flash(_("This claim can no longer be changed."), "danger")
            return redirect(url_for("vouchers.claim", voucher_id=voucher_id))
        if form.validate_on_submit():
            try:
                line = claiming.add_line(actor(), voucher, category_id=form.category_id.data or None,
                                         spent_on=form.spent_on.data, description=form.description.data or "",
                                         amount=form.amount.data, receipt=form.receipt.data)
            except VoucherError as error:
                _show_problems(form, error)
            else:
                description = line.description
                db.session.commit()
                flash(_("The expense “%(description)s” is added to the claim.", description=description), "success")
                return redirect(url_for("vouchers.claim", voucher_id=voucher_id))
        if form.receipt.data is not None and not form.receipt.errors and form.errors:
            form.receipt.errors = [*form.receipt.errors, _("Choose the receipt again: files are not kept when "
                                                           "the form has a problem.")]
        voucher = claiming.voucher_for_claim(actor(), voucher_id)
    return _claim_page(voucher, form)


@bp.route("/vouchers/<int:voucher_id>/claim/lines/<int:line_id>/delete", methods=["POST"])
@signed_in
def claim_line_delete(voucher_id: int, line_id: int):
    voucher = claiming.voucher_for_claim(actor(), voucher_id, lock=True)
    back = url_for("vouchers.claim", voucher_id=voucher_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(back)
    try:
        claiming.delete_line(actor(), voucher, line_id)
    except VoucherError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    flash(_("The expense is deleted from the claim, with its receipt."), "success")
    return redirect(back)


@bp.route("/vouchers/<int:voucher_id>/claim/submit", methods=["GET", "POST"])
@signed_in
def claim_submit(voucher_id: int):
    voucher = claiming.voucher_for_claim(actor(), voucher_id, lock=request.method == "POST")
    form = SubmitForm()
    if request.method == "POST" and not claiming.claim_open(voucher):
        db.session.rollback()
        flash(_("This claim can no longer be changed or submitted."), "danger")
        return redirect(url_for("vouchers.claim", voucher_id=voucher_id))
    if form.validate_on_submit():
        try:
            total = claiming.submit_claim(actor(), voucher, declared=bool(form.declaration.data))
        except VoucherError as error:
            _show_problems(form, error)
            voucher = claiming.voucher_for_claim(actor(), voucher_id)
        else:
            db.session.commit()
            flash(_("Your claim of %(total)s is submitted. Staff will review each expense; you will be told of "
                    "the amount approved.", total=claiming.money_text(total)), "success")
            return redirect(url_for("vouchers.claim", voucher_id=voucher_id))
    claim = claiming.claim_of(voucher)
    problems = [claiming.message(p) for p in claiming.submission_problems(voucher)] if claim.open else []
    return _page("claims/submit.html", voucher, claim=claim, form=form, problems=problems)


@bp.route("/vouchers/<int:voucher_id>/lines/<int:line_id>/receipt")
@signed_in
def receipt(voucher_id: int, line_id: int):
    stored = claiming.receipt_for_download(actor(), voucher_id, line_id)
    db.session.commit()  # the download is audited
    return files.send(stored)


# --- the review --------------------------------------------------------------------------------------------


def _decision_forms(voucher, formdata=None) -> dict[int, DecisionForm]:
    forms = {}
    for number, line in enumerate(voucher.lines, start=1):
        form = DecisionForm(formdata=formdata, prefix=f"line-{line.id}")
        form.decision.label.text = _("Decision on line %(number)d", number=number)
        form.amount.label.text = _("Amount approved on line %(number)d (EUR)", number=number)
        form.reason.label.text = _("Reason for line %(number)d", number=number)
        forms[line.id] = form
    return forms


def _decisions(forms: dict[int, DecisionForm]) -> dict[int, claims.Decision]:
    return {line_id: claims.Decision(f.decision.data or None, f.amount.data, f.reason.data or "")
            for line_id, f in forms.items()}


def _attach(forms: dict[int, DecisionForm], problems) -> None:
    for line_id, field, message in problems:
        target = forms[line_id][field]
        if not target.errors:  # a text that could not be read already says so
            target.errors = [*target.errors, message]


@bp.route("/vouchers/<int:voucher_id>/review", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def review(voucher_id: int):
    voucher = claiming.voucher_for_staff(actor(), voucher_id, lock=request.method == "POST")
    form = ReviewForm()
    posted = request.method == "POST"
    forms = _decision_forms(voucher, request.form if posted else None)
    approved_total = None
    if posted:
        if voucher.status != VoucherStatus.CLAIMED.value:
            db.session.rollback()
            flash(_("This voucher is not waiting for a review."), "danger")
            return redirect(url_for("vouchers.review", voucher_id=voucher_id))
        if form.validate_on_submit():
            for f in forms.values():
                f.validate()
            for f in forms.values():
                if f.decision.data != claims.PARTLY:
                    f.amount.errors = []  # an amount only counts for a partial approval
            unreadable = any(f.errors for f in forms.values())
            decisions = _decisions(forms)
            checked = claiming.check_review(voucher, decisions)
            approved_total = checked.approved_amount
            if request.form.get("action") == "confirm" and not unreadable and not checked.problems:
                try:
                    approved = claiming.review_claim(actor(), voucher, decisions)
                except VoucherError as error:
                    refuse(form, error)
                    _attach(forms, getattr(error, "problems", []))
                else:
                    db.session.commit()
                    flash(_("The review is recorded: %(amount)s approved. The SME is told.",
                            amount=claiming.money_text(approved)), "success")
                    return redirect(url_for("vouchers.review", voucher_id=voucher_id))
            else:
                _attach(forms, checked.problems)
                if unreadable or checked.problems:
                    form.form_errors.append(_("Some decisions need attention: see the lines marked below."))
    return _page("claims/review.html", voucher, form=form, forms=forms, approved_total=approved_total,
                 claim=claiming.claim_of(voucher), reviewing=voucher.status == VoucherStatus.CLAIMED.value,
                 payable=claiming.payable(voucher))


# --- the payment --------------------------------------------------------------------------------------------


@bp.route("/vouchers/<int:voucher_id>/payment", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def payment(voucher_id: int):
    voucher = claiming.voucher_for_staff(actor(), voucher_id, lock=request.method == "POST")
    payable = claiming.payable(voucher)
    form = PaymentForm(data={"amount": voucher.approved_amount, "paid_on": claiming.today()}
                       if request.method == "GET" else None)
    if request.method == "POST":
        if not payable:
            db.session.rollback()
            flash(_("This voucher cannot be paid."), "danger")
            return redirect(url_for("vouchers.payment", voucher_id=voucher_id))
        if form.validate_on_submit():
            try:
                claiming.record_payment(actor(), voucher, paid_on=form.paid_on.data, reference=form.reference.data,
                                        amount=form.amount.data)
            except VoucherError as error:
                _show_problems(form, error)
                voucher = claiming.voucher_for_staff(actor(), voucher_id)
            else:
                db.session.commit()
                flash(_("The payment is recorded. The SME is told."), "success")
                return redirect(url_for("vouchers.payment", voucher_id=voucher_id))
    return _page("claims/payment.html", voucher, form=form, payable=payable, reviewed_on=claiming.reviewed_on(voucher))
