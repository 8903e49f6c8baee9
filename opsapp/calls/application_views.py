"""Application pages: start an application, fill it in over several steps, read the summary
with the eligibility check, submit, withdraw, start a new version; the applicant's list and
the application's page; the staff list with its exports and the eligibility decision.

Each view declares who may open it, reads its form, calls one service of `applying.py`
(which checks the object-level rights and the deadline) and commits once. A step of the
form saves what is valid and shows the rest again, as typed, with its message. The module
also registers the navigation entry, the home panels and the template filters of
applications.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from werkzeug.routing import BuildError

from opsapp.accounts import organisations
from opsapp.accounts.forms import EmptyForm
from opsapp.accounts.sme import SizeClass
from opsapp.calls import applying, bp
from opsapp.calls.application_forms import (
    ELIGIBILITY_LABELS,
    ApplicationFilterForm,
    ChooseOrganisationForm,
    DeclarationsForm,
    EligibilityDecisionForm,
    answer_form,
    declarations_data,
)
from opsapp.calls.applying import ApplicationError
from opsapp.calls.models import (
    APPLICATION_STATUS_LABELS,
    ApplicationStatus,
    Outcome,
    PlaceStatus,
    QuestionKind,
)
from opsapp.core import files, home, navigation
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

navigation.register(_l("My applications"), "calls.my_applications", [Role.APPLICANT], order=35)

TEMPLATES = "calls/applications/"

OUTCOME_LABELS = {
    Outcome.SELECTED: _l("Selected"),
    Outcome.RESERVE: _l("On the reserve list"),
    Outcome.REJECTED: _l("Not selected"),
}
PLACE_LABELS = {
    PlaceStatus.OFFERED: _l("Place offered: waiting for your answer"),
    PlaceStatus.ACCEPTED: _l("Place accepted"),
    PlaceStatus.DECLINED: _l("Place declined"),
}
STATUS_BADGES = {
    ApplicationStatus.DRAFT: "bg-warning text-dark",
    ApplicationStatus.SUBMITTED: "bg-success",
    ApplicationStatus.WITHDRAWN: "bg-secondary",
    ApplicationStatus.SUPERSEDED: "bg-light text-dark",
}


def _actor():
    return current_user._get_current_object()


def _url_or(endpoint: str, fallback: str, **values) -> str:
    """A link to a page of another part of the call cycle, or a page of ours while it is not there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return url_for(fallback)


def _call_url(call_id: int) -> str:
    return _url_or("calls.public_call", "calls.my_applications", call_id=call_id)


# --- template filters --------------------------------------------------------------------


@bp.app_template_filter("application_status")
def _application_status(value: str) -> str:
    try:
        return str(APPLICATION_STATUS_LABELS[ApplicationStatus(value)])
    except ValueError:
        return value


@bp.app_template_filter("application_badge")
def _application_badge(value: str) -> str:
    try:
        return STATUS_BADGES[ApplicationStatus(value)]
    except ValueError:
        return "bg-secondary"








@bp.app_template_filter("eligibility_label")
def _eligibility_label(value: str) -> str:
    return str(applying.ELIGIBILITY_WORDS.get(value, value))








# --- home panels ------------------------------------------------------------------------


@home.panel(Role.APPLICANT, order=25)
def _your_applications_panel(user):
    drafts, submitted = applying.drafts_and_submitted(user)
    return home.Panel(_l("Your applications"), TEMPLATES + "_panel_mine.html",
                      {"drafts": drafts, "submitted": submitted})


@home.panel(Role.STAFF, Role.ADMIN, order=10)
def _eligibility_panel(user):
    rows = applying.eligibility_to_confirm()
    if not rows:
        return None
    return home.Panel(_l("Eligibility to confirm"), TEMPLATES + "_panel_eligibility.html", {"rows": rows})


# --- start -------------------------------------------------------------------------------


@bp.route("/calls/<int:call_id>/apply", methods=["POST"])
@roles_required(Role.APPLICANT)
def application_start(call_id: int):
    actor = _actor()
    organisation_id = None
    choose = ChooseOrganisationForm()
    if "organisation_id" in request.form:
        choose.organisation_id.choices = [(o.id, o.legal_name) for o in organisations.organisations_of(actor)]
        if not choose.validate():
            call = applying.get_call(call_id)
            return render_template(TEMPLATES + "choose.html", call=call, form=choose,
                                   organisations=organisations.organisations_of(actor),
                                   eligible=lambda org: applying.kind_allowed(call, org))
        organisation_id = choose.organisation_id.data
    try:
        start = applying.start_application(actor, call_id, organisation_id)
    except ApplicationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(_call_url(call_id))
    if start.no_organisation:
        flash(_("Register your organisation first: you apply to a call in its name."), "info")
        return redirect(url_for("accounts.organisation_new"))
    if start.choose_from:
        call = applying.get_call(call_id)
        choose = ChooseOrganisationForm(formdata=None)
        choose.organisation_id.choices = [(o.id, o.legal_name) for o in start.choose_from]
        return render_template(TEMPLATES + "choose.html", call=call, form=choose, organisations=start.choose_from,
                               eligible=lambda org: applying.kind_allowed(call, org))
    db.session.commit()
    application = start.application
    if start.created:
        flash(_("Your application is started. Each step is saved as a draft: you can stop and come back "
                "until the deadline."), "success")
    elif start.raced:
        flash(_("A colleague started this application at the same moment: here it is. You work on the same "
                "draft."), "info")
    else:
        flash(_("Your organisation already has an application to this call: here it is."), "info")
    if application.status == ApplicationStatus.DRAFT and applying.permissions.call_accepts_submissions(
            application.call, utcnow()):
        return redirect(url_for("calls.application_page", application_id=application.id,
                                page=application.current_page or 1))
    return redirect(url_for("calls.application_detail", application_id=application.id))


# --- the steps of the form ------------------------------------------------------------------


def _refused(error: ApplicationError, application_id: int):
    """A frozen or closed application: nothing changes; say why on its page."""
    db.session.rollback()
    flash(str(error.message), "danger")
    return redirect(url_for("calls.application_detail", application_id=application_id))


def _step_form(application, step, formdata=None):
    if step.declarations:
        rules = applying.declaration_rules(application)
        kwargs = {"readiness": rules.readiness, "relocation": rules.relocation,
                  "deminimis_required": rules.deminimis_required}
        if formdata is not None:
            return DeclarationsForm(formdata=formdata, **kwargs)
        return DeclarationsForm(formdata=None, data=declarations_data(application), **kwargs)
    return answer_form(step.questions, applying.upload_limit(), stored=applying.stored_answers(application),
                       formdata=formdata)


def _render_step(application, step, form, status: int = 200):
    steps = applying.steps_of(application.call)
    answers = {a.question_id: a for a in application.answers}
    return render_template(
        TEMPLATES + "page.html", application=application, call=application.call, step=step, steps=steps,
        form=form, answers=answers, file_kind=QuestionKind.FILE, multiple_kind=QuestionKind.MULTIPLE_CHOICE,
        deadline=applying.deadline_text(application.call)), status


@bp.route("/applications/<int:application_id>/step/<int:page>", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def application_page(application_id: int, page: int):
    actor = _actor()
    try:
        application = applying.for_editing(actor, application_id, for_update=request.method == "POST")
    except ApplicationError as error:
        return _refused(error, application_id)
    step = applying.step_of(application.call, page)
    if request.method == "GET":
        return _render_step(application, step, _step_form(application, step))

    form = _step_form(application, step, formdata=CombinedMultiDict([request.files, request.form]))
    form.validate()
    steps = applying.steps_of(application.call)
    going_on = request.form.get("action") == "continue"
    next_page = min(page + 1, len(steps)) if going_on else page
    raw, uploads, declarations = {}, {}, None
    if step.declarations:
        declarations = {name: form[name].data for name in form.present() if not form[name].errors}
    else:
        for name, question in form.questions.items():
            if form[name].errors:
                continue  # refused: the saved answer stays, the typed text is shown again
            if question.kind == QuestionKind.FILE:
                upload = form[name].data
                if isinstance(upload, FileStorage) and upload.filename:
                    uploads[question.id] = upload
            else:
                raw[question.id] = form[name].data
    try:
        saved = applying.save_step(actor, application.id, page, raw, uploads, declarations,
                                   next_page=None if form.errors else next_page)
    except ApplicationError as error:
        return _refused(error, application_id)
    for name, message in saved.errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    db.session.commit()
    problems = sum(len(f.errors) for f in form if f.errors and f.type != "CSRFTokenField")
    if problems:
        if saved.changed:
            flash(ngettext("The valid answers are saved. %(num)d answer needs fixing: it was not saved.",
                           "The valid answers are saved. %(num)d answers need fixing: they were not saved.",
                           problems), "warning")
        return _render_step(application, step, form)
    if going_on:
        if page >= len(steps):
            flash(_("Your answers are saved. Check the summary, then submit."), "success")
            return redirect(url_for("calls.application_summary", application_id=application.id))
        flash(_("Your answers are saved."), "success")
        return redirect(url_for("calls.application_page", application_id=application.id, page=next_page))
    flash(_("Draft saved. You can come back to it until the deadline: %(deadline)s.",
            deadline=applying.deadline_text(application.call)), "success")
    return redirect(url_for("calls.application_page", application_id=application.id, page=page))


# --- summary and submission ------------------------------------------------------------------


@bp.route("/applications/<int:application_id>/summary")
@roles_required(Role.APPLICANT)
def application_summary(application_id: int):
    summary = applying.summary_of(_actor(), application_id)
    application = summary.application
    if application.status != ApplicationStatus.DRAFT:
        return redirect(url_for("calls.application_detail", application_id=application.id))
    return render_template(TEMPLATES + "summary.html", summary=summary, application=application,
                           call=application.call, steps=applying.steps_of(application.call),
                           deadline=applying.deadline_text(application.call), empty_form=EmptyForm())


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@roles_required(Role.APPLICANT)
def application_submit(application_id: int):
    try:
        application = applying.submit_application(_actor(), application_id)
    except ApplicationError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        if error.missing:
            return redirect(url_for("calls.application_summary", application_id=application_id))
        return redirect(url_for("calls.application_detail", application_id=application_id))
    db.session.commit()
    flash(_("Your application is submitted. Receipt number: %(receipt)s. A confirmation is on its way by e-mail. "
            "The programme staff will check its eligibility after the deadline; you will be told the outcome.",
            receipt=application.receipt_number), "success")
    return redirect(url_for("calls.application_detail", application_id=application.id))


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(Role.APPLICANT)
def application_withdraw(application_id: int):
    try:
        application = applying.withdraw_application(_actor(), application_id)
    except ApplicationError as error:
        return _refused(error, application_id)
    db.session.commit()
    flash(_("The application is withdrawn. It will not be evaluated. Until the deadline, you can start a new "
            "application to this call."), "success")
    return redirect(url_for("calls.application_detail", application_id=application.id))


@bp.route("/applications/<int:application_id>/resubmit", methods=["POST"])
@roles_required(Role.APPLICANT)
def application_resubmit(application_id: int):
    try:
        application = applying.start_new_version(_actor(), application_id)
    except ApplicationError as error:
        return _refused(error, application_id)
    db.session.commit()
    flash(_("Version %(n)d is a draft with your previous answers. Change what you need and submit it before "
            "the deadline (%(deadline)s): until then your organisation has no submitted application.",
            n=application.version, deadline=applying.deadline_text(application.call)), "warning")
    return redirect(url_for("calls.application_page", application_id=application.id, page=1))


# --- the application's page, its files, the applicant's list --------------------------------


def _detail_page(detail, decision_form, status: int = 200):
    call_id = detail.application.call_id
    call_url = (_call_url(call_id) if detail.is_member
                else _url_or("calls.call_detail", "calls.my_applications", call_id=call_id))
    return render_template(
        TEMPLATES + "detail.html", detail=detail, application=detail.application, call=detail.application.call,
        decision_form=decision_form, empty_form=EmptyForm(), call_url=call_url,
        deadline=applying.deadline_text(detail.application.call),
        staff_list_url=_url_or("calls.call_applications", "core.home", call_id=detail.application.call_id)), status


@bp.route("/applications/<int:application_id>")
@signed_in
def application_detail(application_id: int):
    detail = applying.detail_of(_actor(), application_id)
    form = EligibilityDecisionForm(formdata=None, decision=None)
    return _detail_page(detail, form)


@bp.route("/applications/<int:application_id>/files/<int:file_id>")
@signed_in
def application_file(application_id: int, file_id: int):
    stored, name = applying.attachment_for_download(_actor(), application_id, file_id)
    db.session.commit()  # the download is on record
    return files.send(stored, download_name=name)


@bp.route("/applications")
@roles_required(Role.APPLICANT)
def my_applications():
    actor = _actor()
    page = applying.my_applications(actor)
    return render_template(TEMPLATES + "mine.html", page=page,
                           has_organisation=bool(organisations.organisations_of(actor)),
                           calls_url=_url_or("calls.public_calls", "core.home"))


# --- staff ----------------------------------------------------------------------------------------


def _filter_form() -> ApplicationFilterForm:
    locale = str(get_locale() or "en")
    sizes = [(c.value, organisations.SIZE_CLASS_LABELS[c]) for c in SizeClass]
    return ApplicationFilterForm(formdata=request.args, s3_domains=organisations.s3_domains(),
                                 size_classes=sizes, locale=locale)


@bp.route("/staff/calls/<int:call_id>/applications")
@roles_required(Role.STAFF, Role.ADMIN)
def call_applications(call_id: int):
    form = _filter_form()
    filters = applying.ApplicationFilters(**form.values())
    export = request.args.get("export", "")
    if export:
        call, content = applying.export_applications(_actor(), call_id, filters, export)
        db.session.commit()  # the export is on record before it leaves
        mimetype = "text/csv" if export == "csv" else (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        day = utcnow().date().isoformat()
        return Response(content, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="applications-call-{call.id}-{day}.{export}"',
            "Cache-Control": "private, no-store"})
    listing = applying.list_applications(_actor(), call_id, filters)
    args = {k: v for k, v in request.args.items() if k not in ("page", "export")}
    return render_template(TEMPLATES + "staff_list.html", form=form, listing=listing, call=listing.call,
                           page=listing.page, filters=filters, export_args=args, filtered=bool(filters.as_detail()),
                           eligibility_labels=ELIGIBILITY_LABELS,
                           call_detail_url=_url_or("calls.call_detail", "core.home", call_id=call_id))


@bp.route("/staff/applications/<int:application_id>/eligibility", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def application_eligibility(application_id: int):
    actor = _actor()
    form = EligibilityDecisionForm()
    if form.validate_on_submit():
        try:
            application = applying.decide_eligibility(actor, application_id, form.decision.data, form.reason.data)
        except ApplicationError as error:
            db.session.rollback()
            if error.field and error.field in form:
                form[error.field].errors = [*form[error.field].errors, str(error.message)]
            else:
                flash(str(error.message), "danger")
                return redirect(url_for("calls.application_detail", application_id=application_id))
        else:
            db.session.commit()
            flash(_("Eligibility recorded: %(decision)s.",
                    decision=applying.ELIGIBILITY_WORDS[application.eligibility]), "success")
            return redirect(url_for("calls.application_detail", application_id=application.id))
    return _detail_page(applying.detail_of(actor, application_id), form, 422)
