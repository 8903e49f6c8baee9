"""Evaluation pages: the pool of evaluators and their invitation (staff), the assignment of
evaluators to a call's applications with its progress and reminders (staff), and the
evaluator's own pages: their list, the conflict-of-interest declaration, and the scoring
of one application.

Each view declares who may open it, reads its form, calls one service of `evaluation.py`
(which checks the object-level rights) and commits once. The module also registers the
navigation entries and the home panels of the evaluation.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.routing import BuildError

from opsapp.accounts import organisations
from opsapp.accounts.forms import EmptyForm
from opsapp.calls import bp, evaluation
from opsapp.calls.evaluation import EvaluationError
from opsapp.calls.evaluation_forms import (
    DeclarationForm,
    EvaluatorFilterForm,
    EvaluatorProfileForm,
    InviteEvaluatorForm,
    scoring_form,
)
from opsapp.calls.models import AssignmentStatus
from opsapp.core import home, navigation
from opsapp.core.permissions import deny, roles_required
from opsapp.core.roles import Role
from opsapp.extensions import db

navigation.register(_l("My evaluations"), "calls.my_assignments", [Role.EVALUATOR], order=30)
navigation.register(_l("Evaluators"), "calls.evaluators", [Role.STAFF, Role.ADMIN], order=55)

TEMPLATES = "calls/evaluation/"


def _actor():
    return current_user._get_current_object()


def link_to(endpoint: str, **values) -> str | None:
    """A link to another page of the call cycle, or None while that page does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _render(template: str, **context):
    return render_template(TEMPLATES + template, link_to=link_to, **context)


def _refuse(form, error: EvaluationError) -> None:
    """Undo what the service flushed and put its message next to the field it concerns."""
    db.session.rollback()
    message = str(error.message)
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
    else:
        form.form_errors.append(message)


def _refuse_action(error: EvaluationError) -> None:
    db.session.rollback()
    flash(str(error.message), "danger")


# --- home panels ----------------------------------------------------------------------


@home.panel(Role.EVALUATOR, order=10)
def _evaluations_panel(user):
    return home.Panel(_l("Your evaluations"), TEMPLATES + "_panel_evaluator.html",
                      {"mine": evaluation.my_evaluations(user)})


@home.panel(Role.STAFF, order=30)
def _calls_in_evaluation_panel(user):
    calls = evaluation.calls_to_follow(user)
    if not calls:
        return None
    return home.Panel(_l("Calls being evaluated"), TEMPLATES + "_panel_staff.html", {"calls": calls})


# --- the pool of evaluators (staff) ----------------------------------------------------


@bp.route("/staff/evaluators", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def evaluators():
    domains = organisations.s3_domains()
    filter_form = EvaluatorFilterForm(formdata=request.args, s3_domains=domains)
    form = InviteEvaluatorForm(s3_domains=[d for d in domains if d.active])
    if request.method == "GET":
        form.locale.data = str(current_user.locale or "en")
    if form.validate_on_submit():
        try:
            invitation = evaluation.invite_evaluator(
                _actor(), full_name=form.full_name.data, email=form.email.data,
                s3_domain_ids=form.s3_domain_ids.data, locale=form.locale.data)
        except EvaluationError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            if invitation.created:
                flash(_("%(name)s is invited: they received an e-mail to choose their password.",
                        name=invitation.user.display_name), "success")
            else:
                flash(_("%(name)s already had an account: they are now an evaluator and were told by e-mail.",
                        name=invitation.user.display_name), "success")
            return redirect(url_for("calls.evaluators"))
    filters = filter_form.filters()
    page = evaluation.evaluator_pool(_actor(), filters)
    return _render("evaluators.html", filter_form=filter_form, form=form, page=page, filters=filters,
                   filtered=bool(filters.as_args()))


@bp.route("/staff/evaluators/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def evaluator_profile(user_id: int):
    user, profile, member_of = evaluation.evaluator_for_profile(_actor(), user_id)
    domains = organisations.s3_domains()
    have = {d.id for d in profile.s3_domains} if profile else set()
    choices = [d for d in domains if d.active or d.id in have]
    if request.method == "POST":
        form = EvaluatorProfileForm(s3_domains=choices)
    else:
        form = EvaluatorProfileForm(formdata=None, s3_domains=choices, data={
            "expertise": profile.expertise if profile else "",
            "s3_domain_ids": sorted(have),
            "languages": list(profile.languages or []) if profile else ["en", "it"],
            "max_assignments": profile.max_assignments if profile else None,
            "active": profile.active if profile else True,
        })
    if form.validate_on_submit():
        data = evaluation.ProfileData(form.expertise.data, form.s3_domain_ids.data or [], form.languages.data or [],
                                      form.max_assignments.data, form.active.data)
        try:
            evaluation.save_profile(_actor(), user, data)
        except EvaluationError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The profile of %(name)s is saved.", name=user.display_name), "success")
            return redirect(url_for("calls.evaluators"))
    return _render("evaluator_profile.html", form=form, evaluator=user, profile=profile, member_of=member_of)


# --- assignments of a call (staff) ------------------------------------------------------


def _pairs(values) -> list[tuple[int, int]]:
    """Pairs written "application-evaluator" in the page; anything else is ignored."""
    pairs = []
    for value in values:
        first, _sep, second = str(value).partition("-")
        if first.isdigit() and second.isdigit() and len(value) < 25:
            pairs.append((int(first), int(second)))
    return pairs


def _state_from(source) -> dict:
    args = {"pin": source.getlist("pin"), "exclude": source.getlist("exclude")}
    only = source.get("application", "")
    if only.isdigit():
        args["application"] = only
    return {k: v for k, v in args.items() if v}


@bp.route("/staff/calls/<int:call_id>/assignments", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def call_assignments(call_id: int):
    if request.method == "POST":
        state = _state_from(request.form)
        if not EmptyForm().validate_on_submit():
            flash(_("The form had expired. Send it again."), "danger")
            return redirect(url_for("calls.call_assignments", call_id=call_id, **state))
        try:
            result = evaluation.confirm_assignments(_actor(), call_id, _pairs(request.form.getlist("pair")))
        except EvaluationError as error:
            _refuse_action(error)
            return redirect(url_for("calls.call_assignments", call_id=call_id, **state))
        db.session.commit()
        flash(ngettext("%(num)d assignment is confirmed; the evaluators were told by e-mail.",
                       "%(num)d assignments are confirmed; the evaluators were told by e-mail.",
                       len(result.created)), "success")
        return redirect(url_for("calls.call_assignments", call_id=call_id))

    only = request.args.get("application", "")
    workspace = evaluation.assignment_workspace(
        _actor(), call_id, pinned=_pairs(request.args.getlist("pin")),
        excluded=_pairs(request.args.getlist("exclude")), only=int(only) if only.isdigit() else None)
    return _render("assignments.html", w=workspace, call=workspace.call, empty_form=EmptyForm(),
                   AssignmentStatus=AssignmentStatus)


@bp.route("/staff/calls/<int:call_id>/assignments/<int:assignment_id>/remove", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def assignment_remove(call_id: int, assignment_id: int):
    if EmptyForm().validate_on_submit():
        try:
            assignment = evaluation.remove_assignment(_actor(), call_id, assignment_id)
        except EvaluationError as error:
            _refuse_action(error)
        else:
            db.session.commit()
            flash(_("%(name)s is taken off this application and was told by e-mail. The proposal now "
                    "includes a replacement.", name=assignment.evaluator.display_name), "success")
    else:
        flash(_("The form had expired. Send it again."), "danger")
    return redirect(url_for("calls.call_assignments", call_id=call_id))


@bp.route("/staff/calls/<int:call_id>/assignments/remind", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def assignment_reminders(call_id: int):
    if EmptyForm().validate_on_submit():
        try:
            count = evaluation.send_reminders(_actor(), call_id)
        except EvaluationError as error:
            _refuse_action(error)
        else:
            db.session.commit()
            if count:
                flash(ngettext("A reminder was sent to %(num)d evaluator.",
                               "A reminder was sent to %(num)d evaluators.", count), "success")
            else:
                flash(_("Nobody has an evaluation waiting: no reminder was sent."), "info")
    else:
        flash(_("The form had expired. Send it again."), "danger")
    return redirect(url_for("calls.call_assignments", call_id=call_id) + "#progress")


# --- the evaluator's pages ---------------------------------------------------------------


@bp.route("/evaluations")
@roles_required(Role.EVALUATOR)
def my_assignments():
    return _render("my_assignments.html", mine=evaluation.my_evaluations(_actor()))


@bp.route("/evaluations/<int:assignment_id>/declaration", methods=["GET", "POST"])
@roles_required(Role.EVALUATOR)
def assignment_declare(assignment_id: int):
    page = evaluation.declaration_page(_actor(), assignment_id)
    if page.assignment.status == AssignmentStatus.ACCEPTED and request.method == "POST":
        return _late_conflict(assignment_id)
    if page.assignment.status != AssignmentStatus.ASSIGNED:
        return redirect(url_for("calls.assignment_score", assignment_id=assignment_id))
    form = DeclarationForm()
    if form.validate_on_submit():
        conflict = form.declaration.data == "conflict"
        try:
            evaluation.declare(_actor(), assignment_id, conflict=conflict, reason=form.reason.data)
        except EvaluationError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            if conflict:
                flash(_("Your conflict of interest is recorded. The application is taken off your list and "
                        "staff will assign someone else."), "success")
                return redirect(url_for("calls.my_assignments"))
            flash(_("Thank you. You can now read the application and score it."), "success")
            return redirect(url_for("calls.assignment_score", assignment_id=assignment_id))
    return _render("declare.html", page=page, form=form, declaration_text=evaluation.DECLARATION_TEXT)


def _late_conflict(assignment_id: int):
    """A conflict declared from the scoring page, after reading: only a conflict can be declared then."""
    form = DeclarationForm()
    if form.validate_on_submit() and form.declaration.data == "conflict":
        try:
            evaluation.declare(_actor(), assignment_id, conflict=True, reason=form.reason.data)
        except EvaluationError as error:
            _refuse_action(error)
        else:
            db.session.commit()
            flash(_("Your conflict of interest is recorded. The application is taken off your list and "
                    "staff will assign someone else."), "success")
            return redirect(url_for("calls.my_assignments"))
    elif form.declaration.data != "conflict":
        flash(_("You have already declared no conflict of interest for this application."), "info")
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors)
              or _("The form had expired. Send it again."), "danger")
    return redirect(url_for("calls.assignment_score", assignment_id=assignment_id) + "#late-conflict")


@bp.route("/evaluations/<int:assignment_id>", methods=["GET", "POST"])
@roles_required(Role.EVALUATOR, Role.STAFF, Role.ADMIN)
def assignment_score(assignment_id: int):
    try:
        page = evaluation.scoring_page(_actor(), assignment_id)
    except evaluation.DeclarationNeeded:
        flash(_("First declare whether you have a conflict of interest with this applicant."), "info")
        return redirect(url_for("calls.assignment_declare", assignment_id=assignment_id))
    if request.method == "GET":
        form = scoring_form(page.criteria, page.scores)
        return _render("score.html", page=page, form=form)

    if page.as_staff:
        deny()  # staff read evaluations; only the evaluator writes one
    form = scoring_form(page.criteria, formdata=request.form)
    if not form.validate_on_submit():
        form.form_errors.append(_("The form had expired. Send it again."))
        return _render("score.html", page=page, form=form), 400
    submit = request.form.get("action") == "submit"
    inputs = [evaluation.ScoreInput(c.id, form[f"score_{c.id}"].data, form[f"comment_{c.id}"].data)
              for c in page.criteria]
    try:
        result = evaluation.save_scores(_actor(), assignment_id, inputs, submit=submit)
    except EvaluationError as error:
        _refuse_action(error)
        return redirect(url_for("calls.assignment_score", assignment_id=assignment_id))
    if result.errors:
        for name, message in result.errors.items():
            form[name].errors = [*form[name].errors, message]
        if submit:
            db.session.rollback()
            flash(_("The evaluation is not submitted: fix the scores and comments marked below."), "danger")
        else:
            db.session.commit()
            flash(_("The draft is saved, except the entries marked below: fix them and save again."), "warning")
        return _render("score.html", page=evaluation.scoring_page(_actor(), assignment_id), form=form)
    db.session.commit()
    if result.submitted:
        flash(_("Your evaluation is submitted. Thank you! You can now see the other evaluators' scores "
                "once they submit theirs."), "success")
    else:
        flash(_("The draft is saved. You can come back to it at any time before submitting."), "success")
    return redirect(url_for("calls.assignment_score", assignment_id=assignment_id))
