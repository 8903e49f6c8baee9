"""Pages of the progress board, completion and the Seal of Excellence.

- `cohorts.board` (staff; a mentor: the rows of their companies): one row per company,
  sortable (`?sort=hours`, `?sort=-hours`), exported as CSV or XLSX (`?export=csv|xlsx`);
- `cohorts.complete` (staff): a company's figures against the criteria, and the decision
  (completed, not completed, withdrawn) with its reason;
- `cohorts.seal_print`, `cohorts.seal_docx` (staff and the company's people): the certificate,
  printable and as a Word document; `cohorts.seal_revoke` (staff, POST);
- `cohorts.verify` (public, rate-limited): `/verify?code=...` and `/verify/<code>`;
- `cohorts.loan_list` (staff, authority): the loan-eligible companies, filters, CSV/XLSX.

Home panels: "Completions to decide" (staff), "Your Seal of Excellence" (applicants).
"""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts.organisations import size_class_label
from opsapp.cohorts import board as boards
from opsapp.cohorts import bp, completion, seals, states
from opsapp.cohorts.models import CompletionStatus
from opsapp.cohorts.pages import CohortError, actor, number, refuse, render
from opsapp.cohorts.seal_forms import CompletionForm, LoanFilterForm, RevokeForm, VerifyForm
from opsapp.core import exports, home, navigation, word
from opsapp.core.permissions import public, roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db, limiter

navigation.register(_l("Loan-eligible companies"), "cohorts.loan_list", [Role.AUTHORITY], order=70)

CHECK_LABELS = {
    completion.HOURS: _l("Hours attended: %(figure)s of %(target)s"),
    completion.SESSIONS: _l("Sessions attended: %(figure)s of %(target)s"),
    completion.MILESTONES: _l("Milestones achieved: %(figure)s of %(target)s"),
}


def _locale() -> str:
    return str(get_locale() or "en")


def check_text(check: completion.Check) -> str:
    figure = number(check.figure) if check.key == completion.HOURS else check.figure
    target = number(check.target) if check.key == completion.HOURS else check.target
    text = str(CHECK_LABELS[check.key]) % {"figure": figure, "target": target}
    return f"{text} ({_('met') if check.met else _('not met')})"


def reasons_text(assessment: completion.Assessment) -> str:
    """Why a company does not meet the criteria yet; empty when it does."""
    return "; ".join(check_text(check) for check in assessment.unmet)


def _helpers() -> dict:
    return {"number": number, "check_text": check_text, "reasons_text": reasons_text,
            "CompletionStatus": CompletionStatus, "size_class_label": size_class_label}


# --- home panels ---------------------------------------------------------------------------------------------


@home.panel(Role.STAFF, Role.ADMIN, order=45)
def _completions_panel(user):
    rows = seals.completions_to_decide()
    if not rows:
        return None
    return home.Panel(_l("Completions to decide"), "cohorts/seals/_panel_completions.html", {"rows": rows})


@home.panel(Role.APPLICANT, order=40)
def _seal_panel(user):
    found = seals.seals_of_user(user)
    if not found:
        return None
    return home.Panel(_l("Your Seal of Excellence"), "cohorts/seals/_panel_seal.html", {"seals": found})


# --- the progress board -----------------------------------------------------------------------------------------


def _board_export(data: boards.Board, fmt: str):
    locale = _locale()
    header = [_("Company"), _("Sessions attended"), _("Sessions invited"), _("Hours attended")]
    header += [_("Hours: %(theme)s", theme=theme.name(locale)) for theme in data.themes]
    if data.has_unthemed_hours:
        header.append(_("Hours: no theme"))
    header += [_("Milestones confirmed"), _("Milestones agreed"), _("Milestones overdue"), _("Mentor"),
               _("Open obligations"), _("Completion"), _("Meets the completion criteria now"), _("Not met"),
               _("Seal code")]
    rows = []
    for row in data.rows:
        line = [row.name, row.attended, row.invited, row.hours]
        line += [row.hours_by_theme.get(theme.id, 0) for theme in data.themes]
        if data.has_unthemed_hours:
            line.append(row.hours_by_theme.get(None, 0))
        line += [row.milestones_confirmed, row.milestones_agreed, row.milestones_overdue, ", ".join(row.mentors),
                 len(row.open_obligations), row.completion.label, _("yes") if row.meets else _("no"),
                 reasons_text(row.assessment), row.seal.code if row.seal else ""]
        rows.append(line)
    filename = f"progress-board-cohort-{data.cohort.id}.{fmt}"
    if fmt == "csv":
        return exports.download(exports.csv_text(header, rows), filename)
    return exports.download(exports.xlsx_bytes([(_("Progress board"), header, rows)]), filename)


@bp.route("/cohorts/<int:cohort_id>/board")
@roles_required(Role.STAFF, Role.ADMIN, Role.MENTOR)
def board(cohort_id: int):
    data = boards.board(actor(), cohort_id, request.args.get("sort"))
    fmt = request.args.get("export", "")
    if fmt in ("csv", "xlsx"):
        return _board_export(data, fmt)
    return render("board/board.html", board=data, cohort=data.cohort, staff=seals.is_staff(actor()),
                  can_decide=seals.can_decide(data.cohort), **_helpers())


# --- completion -------------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/members/<int:member_id>/completion", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def complete(cohort_id: int, member_id: int):
    cohort, member = seals.member_in_cohort(cohort_id, member_id)
    form = CompletionForm()
    if form.validate_on_submit():
        try:
            seal = seals.decide_completion(actor(), cohort_id, member_id, form.decision.data, form.reason.data)
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            if seal is not None:
                flash(_("%(company)s completed the programme. Its Seal of Excellence has the code %(code)s; the "
                        "company's people were told.", company=member.organisation.legal_name, code=seal.code),
                      "success")
            else:
                flash(_("The completion of %(company)s is recorded as %(status)s; the company's people were told.",
                        company=member.organisation.legal_name,
                        status=CompletionStatus(member.completion).label.lower()), "success")
            return redirect(url_for("cohorts.complete", cohort_id=cohort_id, member_id=member_id))
    cohort, member = seals.member_in_cohort(cohort_id, member_id)
    row = boards.member_row(cohort, member)
    current = CompletionStatus(member.completion)
    choices = [c for c in form.decision.choices if states.allowed(current, CompletionStatus(c[0]))]
    form.decision.choices = choices or form.decision.choices
    return render("seals/complete.html", cohort=cohort, member=member, row=row, form=form, seal=row.seal,
                  open_to_decide=seals.can_decide(cohort) and bool(choices), revoke_form=RevokeForm(formdata=None),
                  **_helpers())


# --- the seal -----------------------------------------------------------------------------------------------------


def _verify_url(code: str) -> str:
    return url_for("cohorts.verify", code=code, _external=True)


@bp.route("/seals/<int:seal_id>")
@signed_in
def seal_print(seal_id: int):
    seal = seals.viewable_seal(actor(), seal_id)
    cert = seals.certificate(seal, _verify_url(seal.code), _locale())
    return render("seals/print.html", cert=cert, seal=seal, staff=seals.is_staff(actor()),
                  revoke_form=RevokeForm(formdata=None))


@bp.route("/seals/<int:seal_id>.docx")
@signed_in
def seal_docx(seal_id: int):
    seal = seals.viewable_seal(actor(), seal_id)
    filename, content = seals.certificate_docx(seals.certificate(seal, _verify_url(seal.code), _locale()))
    return Response(content, mimetype=word.DOCX_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@bp.route("/seals/<int:seal_id>/revoke", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def seal_revoke(seal_id: int):
    seal = seals.viewable_seal(actor(), seal_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            seals.revoke(actor(), seal_id, form.reason.data)
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The seal %(code)s is revoked; its verification page now says so and the company's people "
                    "were told.", code=seal.code), "success")
            return redirect(url_for("cohorts.seal_print", seal_id=seal_id))
    seal = seals.viewable_seal(actor(), seal_id)
    cert = seals.certificate(seal, _verify_url(seal.code), _locale())
    return render("seals/print.html", cert=cert, seal=seal, staff=True, revoke_form=form)


# --- the public verification ---------------------------------------------------------------------------------------


def _verify_limit() -> str:
    return current_app.config.get("SEAL_VERIFY_LIMIT", "30 per minute")


@bp.route("/verify")
@bp.route("/verify/<code>")
@public
@limiter.limit(_verify_limit, scope="seal-verify")
def verify(code: str | None = None):
    form = VerifyForm(formdata=request.args if code is None else None, code=code)
    typed = code if code is not None else (form.code.data if form.validate() else None)
    result = seals.verify(typed, _locale()) if typed else None
    return render("seals/verify.html", form=form, result=result, typed=typed)


# --- the loan-scheme list -------------------------------------------------------------------------------------------


@bp.route("/cohorts/loan-eligible")
@roles_required(Role.STAFF, Role.ADMIN, Role.AUTHORITY)
def loan_list():
    years, cohorts = seals.loan_filter_choices()
    form = LoanFilterForm(formdata=request.args, years=years, cohorts=cohorts, size_label=size_class_label)
    filters = seals.LoanFilters(**form.values())
    rows = seals.loan_list(filters)
    fmt = request.args.get("export", "")
    if fmt in ("csv", "xlsx"):
        header = [_("Company"), _("VAT number"), _("Size class"), _("Programme"), _("Edition"), _("Cohort"),
                  _("Date of completion"), _("Seal code")]
        lines = [[r.organisation.legal_name, r.organisation.vat_number, size_class_label(r.organisation.size_class),
                  r.member.cohort.edition.programme.name(_locale()), r.member.cohort.edition.year,
                  r.member.cohort.name, r.completed_on, r.seal.code if r.seal else ""] for r in rows]
        filename = f"loan-eligible-companies.{fmt}"
        if fmt == "csv":
            return exports.download(exports.csv_text(header, lines), filename)
        return exports.download(exports.xlsx_bytes([(_("Loan-eligible companies"), header, lines)]), filename)
    return render("seals/loan_list.html", form=form, rows=rows, filters=filters, filtered=bool(filters.as_args()),
                  export_args=filters.as_args(), staff=seals.is_staff(actor()), **_helpers())
