"""Pages of call design and the public call pages: programmes and editions, the staff list
and cockpit of a call, its settings, questions, criteria and preview, publishing, copying
and the steps of its lifecycle; the public list of calls and each call's public page.

Each view declares who may open it, reads its form, calls one service of `design.py`
(which checks the object-level rights and that the call is still an unpublished draft)
and commits once. A refused form is shown again with what was typed and the reasons
next to the fields; a change asked of a frozen call changes nothing and says why. The
module also registers the navigation entries, the home panels and the template filters
that show times in the call's own time zone.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from opsapp.accounts.forms import EmptyForm
from opsapp.calls import bp, design, publishing
from opsapp.calls.application_forms import answer_form
from opsapp.calls.design import CallDesignError, CallFrozen, PublishRefused
from opsapp.calls.design_forms import (
    CallFilterForm,
    CallForm,
    CriterionForm,
    EditionForm,
    ItemActionForm,
    PhaseForm,
    QuestionForm,
    kind_label,
    organisation_kind_label,
)
from opsapp.core import home, navigation
from opsapp.core.permissions import public, roles_required
from opsapp.core.roles import Role
from opsapp.core.timeutil import format_in_zone, utcnow
from opsapp.extensions import db

navigation.register(_l("Calls"), "calls.public_calls", [Role.APPLICANT, Role.BUYER], order=30)
navigation.register(_l("Calls"), "calls.staff_calls", [Role.STAFF, Role.ADMIN], order=40)
navigation.register(_l("Editions"), "calls.editions", [Role.STAFF, Role.ADMIN], order=45)

DESIGN = "calls/design/"
PUBLIC = "calls/public/"
STAFF = (Role.STAFF, Role.ADMIN)


def _actor():
    return current_user._get_current_object()


def _locale() -> str:
    return str(get_locale() or "en")


# --- template filters ----------------------------------------------------------------


@bp.app_template_filter("countdown")
def _countdown(deadline, now=None) -> str:
    return countdown_words(deadline, now)


def countdown_words(deadline, now=None) -> str:
    """"closes in 5 days", "closes in 3 hours": computed on the server, never trusted from the client."""
    if deadline is None:
        return ""
    left = deadline - (now or utcnow())
    if left.total_seconds() <= 0:
        return _("closed")
    if left.days >= 1:
        return ngettext("closes in %(num)d day", "closes in %(num)d days", left.days)
    hours = int(left.total_seconds() // 3600)
    if hours >= 1:
        return ngettext("closes in %(num)d hour", "closes in %(num)d hours", hours)
    return _("closes in less than an hour")


@bp.app_template_filter("question_kind")
def _question_kind(kind: str) -> str:
    return kind_label(kind)


@bp.app_template_filter("organisation_kind")
def _organisation_kind(kind: str) -> str:
    return organisation_kind_label(kind)


@bp.app_template_filter("points")
def _points(value) -> str:
    """A score, weight or threshold as people write it: 3, 1.5, 10."""
    return "" if value is None else publishing.plain_number(value)


# --- home panels ---------------------------------------------------------------------


@home.panel(Role.APPLICANT, order=20)
def _open_calls_panel(user):
    return home.Panel(_l("Open calls"), PUBLIC + "_panel_open.html", {"calls": design.open_calls(5)})


@home.panel(Role.STAFF, order=40)
def _running_calls_panel(user):
    now = utcnow()
    calls = design.running_calls(10)
    return home.Panel(_l("Running calls"), DESIGN + "_panel_running.html",
                      {"entries": [(c, design.phase_of(c, now)) for c in calls]})


# --- helpers -------------------------------------------------------------------------


def _refuse(form, error: CallDesignError) -> None:
    """Undo what the service flushed and put its message next to the field it concerns."""
    db.session.rollback()
    message = str(error.message)
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
    else:
        form.form_errors.append(message)


def _frozen(call_id: int, error: CallDesignError | None = None):
    """A design page asked of a call whose rules are frozen: nothing changes, the cockpit says why."""
    db.session.rollback()
    message = error.message if error else _l("This call is published: its rules are frozen and nothing was changed. "
                                             "To change them, copy the call into a new draft.")
    flash(str(message), "warning")
    return redirect(url_for("calls.call_detail", call_id=call_id))


# --- programmes and editions ---------------------------------------------------------


@bp.route("/staff/editions", methods=["GET", "POST"])
@roles_required(*STAFF)
def editions():
    overview = design.editions_overview(_actor())
    programmes = [entry.programme for entry in overview]
    editing = None
    edition_id = request.form.get("edition_id") if request.method == "POST" else request.args.get("edition")
    if edition_id and str(edition_id).isdigit():
        editing = design.get_edition(int(edition_id))
    initial = None
    if request.method == "GET":
        if editing is not None:
            initial = {"edition_id": editing.id, "programme_id": editing.programme_id, "year": editing.year,
                       "implementing_organisation_id": str(editing.implementing_organisation_id or ""),
                       "budget": editing.budget}
        elif request.args.get("programme", "").isdigit():
            initial = {"programme_id": int(request.args["programme"])}
    form = EditionForm(data=initial, programmes=programmes, organisations=design.implementing_organisations())
    if form.validate_on_submit():
        try:
            edition = design.save_edition(_actor(), form.edition_data(), editing.id if editing else None)
        except CallDesignError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The edition %(year)s of the %(programme)s is saved.", year=edition.year,
                    programme=edition.programme.name(_locale())), "success")
            return redirect(url_for("calls.editions"))
        overview = design.editions_overview(_actor())
    db.session.commit()  # the programmes, made on first visit
    return render_template(DESIGN + "editions.html", overview=overview, form=form, editing=editing)


# --- staff list and cockpit ----------------------------------------------------------


@bp.route("/staff/calls")
@roles_required(*STAFF)
def staff_calls():
    form = CallFilterForm(formdata=request.args, years=design.edition_years())
    page, submitted = design.staff_call_list(_actor(), form.filters())
    filtered = any(request.args.get(k) for k in ("programme", "year", "status"))
    now = utcnow()
    return render_template(DESIGN + "list.html", form=form, page=page, submitted=submitted, filtered=filtered,
                           phases={c.id: design.phase_of(c, now) for c in page.items},
                           has_editions=bool(design.edition_years()))


def _render_cockpit(call_id: int, problems=None):
    data = design.cockpit(_actor(), call_id, utcnow())
    return render_template(DESIGN + "detail.html", page=data, call=data.call, problems=problems,
                           home_region=current_app.config["HOME_REGION_NUTS2"])


@bp.route("/staff/calls/<int:call_id>")
@roles_required(*STAFF)
def call_detail(call_id: int):
    return _render_cockpit(call_id)


# --- the call's settings -------------------------------------------------------------


def _call_form(call=None, edition_id=None) -> CallForm:
    initial = CallForm.initial(call, edition_id) if request.method == "GET" else None
    return CallForm(data=initial, editions=design.edition_choices(), s3_domains=design.s3_domain_choices(call))


@bp.route("/staff/calls/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def call_new():
    edition_id = request.args.get("edition", type=int)
    form = _call_form(edition_id=edition_id)
    if form.validate_on_submit():
        try:
            call = design.create_call(_actor(), form.call_data())
        except CallDesignError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The call is saved as a draft, with the baseline figures in its form. Add the questions "
                    "and the criteria next."), "success")
            return redirect(url_for("calls.call_questions", call_id=call.id))
    return render_template(DESIGN + "form.html", form=form, call=None)


@bp.route("/staff/calls/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def call_edit(call_id: int):
    call = design.for_design(_actor(), call_id)
    if not design.is_editable(call):
        return _frozen(call.id)
    form = _call_form(call)
    if form.validate_on_submit():
        try:
            design.update_call(_actor(), call, form.call_data())
        except CallFrozen as error:
            return _frozen(call_id, error)
        except CallDesignError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The call is saved."), "success")
            return redirect(url_for("calls.call_detail", call_id=call.id))
    return render_template(DESIGN + "form.html", form=form, call=call)


# --- questions -----------------------------------------------------------------------


def _item_action(call, dispatch: dict, back: str):
    """The small buttons (delete, up, down, add a block) of the questions and criteria pages."""
    form = ItemActionForm()
    if form.validate_on_submit() and form.action.data in dispatch:
        try:
            message = dispatch[form.action.data](form.item())
        except CallFrozen as error:
            return _frozen(call.id, error)
        except CallDesignError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        else:
            db.session.commit()
            if message:
                flash(message, "success")
    else:
        flash(_("That button did not work: reload the page and try again."), "danger")
    return redirect(url_for(back, call_id=call.id))


@bp.route("/staff/calls/<int:call_id>/questions", methods=["GET", "POST"])
@roles_required(*STAFF)
def call_questions(call_id: int):
    actor = _actor()
    call = design.for_design(actor, call_id)
    if not design.is_editable(call):
        return _frozen(call.id)
    if request.method == "POST" and request.form.get("action", "save") != "save":
        def moved(item, step):
            if not design.move_question(actor, call, item, step):
                return _("The question is already at the edge of its page; change its page number to move it further.")
            return None

        return _item_action(call, {
            "delete": lambda item: design.delete_question(actor, call, item) or _("The question is removed."),
            "up": lambda item: moved(item, -1),
            "down": lambda item: moved(item, 1),
            "baseline": lambda item: ngettext("%(num)d baseline figure added.", "%(num)d baseline figures added.",
                                              design.add_baseline_block(actor, call)),
        }, "calls.call_questions")

    editing = None
    if request.method == "GET" and request.args.get("edit", "").isdigit():
        editing = next((q for q in call.questions if q.id == int(request.args["edit"])), None)
    form = QuestionForm(data=QuestionForm.initial(editing) if editing else None)
    if request.method == "POST":
        question_id = form.question_id.data
        editing = next((q for q in call.questions if str(q.id) == str(question_id)), None) if question_id else None
    if form.validate_on_submit():
        try:
            if editing is not None:
                design.update_question(actor, call, editing.id, form.question_data())
            else:
                design.add_question(actor, call, form.question_data())
        except CallFrozen as error:
            return _frozen(call_id, error)
        except CallDesignError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The question is saved.") if editing else _("The question is added."), "success")
            return redirect(url_for("calls.call_questions", call_id=call.id))
    return render_template(DESIGN + "questions.html", call=call, form=form, editing=editing,
                           pages=_pages(call.questions), missing_baseline=design.missing_baseline_keys(call))


def _pages(questions) -> list[tuple[int, list]]:
    pages: dict[int, list] = {}
    for q in sorted(questions, key=lambda q: (q.page, q.position, q.id)):
        pages.setdefault(q.page, []).append(q)
    return sorted(pages.items())


# --- criteria ------------------------------------------------------------------------


@bp.route("/staff/calls/<int:call_id>/criteria", methods=["GET", "POST"])
@roles_required(*STAFF)
def call_criteria(call_id: int):
    actor = _actor()
    call = design.for_design(actor, call_id)
    if not design.is_editable(call):
        return _frozen(call.id)
    if request.method == "POST" and request.form.get("action", "save") != "save":
        def moved(item, step):
            if not design.move_criterion(actor, call, item, step):
                return _("The criterion is already at the edge of the list.")
            return None

        return _item_action(call, {
            "delete": lambda item: design.delete_criterion(actor, call, item) or _("The criterion is removed."),
            "up": lambda item: moved(item, -1),
            "down": lambda item: moved(item, 1),
            "defaults": lambda item: ngettext("%(num)d criterion added.", "%(num)d criteria added.",
                                              design.add_horizon_europe_criteria(actor, call)),
        }, "calls.call_criteria")

    editing = None
    if request.method == "GET" and request.args.get("edit", "").isdigit():
        editing = next((c for c in call.criteria if c.id == int(request.args["edit"])), None)
    form = CriterionForm(data=CriterionForm.initial(editing) if editing else None)
    if request.method == "POST":
        criterion_id = form.criterion_id.data
        editing = next((c for c in call.criteria if str(c.id) == str(criterion_id)), None) if criterion_id else None
    if form.validate_on_submit():
        try:
            if editing is not None:
                design.update_criterion(actor, call, editing.id, form.criterion_data())
            else:
                design.add_criterion(actor, call, form.criterion_data())
        except CallFrozen as error:
            return _frozen(call_id, error)
        except CallDesignError as error:
            _refuse(form, error)
        else:
            db.session.commit()
            flash(_("The criterion is saved.") if editing else _("The criterion is added."), "success")
            return redirect(url_for("calls.call_criteria", call_id=call.id))
    return render_template(DESIGN + "criteria.html", call=call, form=form, editing=editing,
                           max_total=publishing.max_total(call.criteria),
                           default_threshold=publishing.default_overall_threshold(call.criteria))


# --- preview, publish, copy, lifecycle -----------------------------------------------


@bp.route("/staff/calls/<int:call_id>/preview")
@roles_required(*STAFF)
def call_preview(call_id: int):
    call = design.for_design(_actor(), call_id)
    pages = _pages(call.questions)
    numbers = [n for n, _questions in pages]
    wanted = request.args.get("page", type=int)
    current = wanted if wanted in numbers else (numbers[0] if numbers else None)
    questions = dict(pages).get(current, [])
    # The applicant's own form builder, so the preview cannot drift from what applicants get.
    form = answer_form(questions, current_app.config["MAX_UPLOAD_BYTES"], stored={})
    step = numbers.index(current) + 1 if current is not None else 0
    return render_template(DESIGN + "preview.html", call=call, form=form, numbers=numbers, current=current,
                           step=step, previous=numbers[step - 2] if step > 1 else None,
                           next=numbers[step] if 0 < step < len(numbers) else None)


@bp.route("/staff/calls/<int:call_id>/publish", methods=["POST"])
@roles_required(*STAFF)
def call_publish(call_id: int):
    call = design.for_design(_actor(), call_id)
    if not EmptyForm().validate_on_submit():
        flash(_("That button did not work: reload the page and try again."), "danger")
        return redirect(url_for("calls.call_detail", call_id=call.id))
    now = utcnow()
    try:
        opened = design.publish_call(_actor(), call, now)
    except PublishRefused as refused:
        db.session.rollback()
        return _render_cockpit(call_id, problems=refused.sentences)
    except CallFrozen as error:
        return _frozen(call_id, error)
    db.session.commit()
    if opened:
        flash(_("The call is published and open: applicants can apply until %(deadline)s.",
                deadline=format_in_zone(call.closes_at, call.timezone, _locale())), "success")
    else:
        flash(_("The call is published; its rules are frozen. It opens by itself on %(opens)s.",
                opens=format_in_zone(call.opens_at, call.timezone, _locale())), "success")
    return redirect(url_for("calls.call_detail", call_id=call.id))


@bp.route("/staff/calls/<int:call_id>/copy", methods=["POST"])
@roles_required(*STAFF)
def call_copy(call_id: int):
    source = design.for_design(_actor(), call_id)
    if not EmptyForm().validate_on_submit():
        flash(_("That button did not work: reload the page and try again."), "danger")
        return redirect(url_for("calls.call_detail", call_id=source.id))
    try:
        call = design.copy_call(_actor(), source)
    except CallDesignError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(url_for("calls.call_detail", call_id=call_id))
    db.session.commit()
    flash(_("This is a new draft for the edition %(year)s, copied with its rules, form and criteria. "
            "Check the dates and the texts, then publish it.", year=call.edition.year), "success")
    return redirect(url_for("calls.call_edit", call_id=call.id))


@bp.route("/staff/calls/<int:call_id>/status", methods=["POST"])
@roles_required(*STAFF)
def call_transition(call_id: int):
    call = design.for_design(_actor(), call_id)
    form = PhaseForm()
    if not form.validate_on_submit():
        flash(_("That button did not work: reload the page and try again."), "danger")
        return redirect(url_for("calls.call_detail", call_id=call.id))
    try:
        message = design.change_phase(_actor(), call, form.action.data, utcnow())
    except CallDesignError as error:
        db.session.rollback()
        flash(str(error.message), "warning")
        return redirect(url_for("calls.call_detail", call_id=call_id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("calls.call_detail", call_id=call.id))


# --- public pages --------------------------------------------------------------------


@bp.route("/calls")
@public
def public_calls():
    listing = design.public_call_list(utcnow())
    return render_template(PUBLIC + "list.html", listing=listing)


@bp.route("/calls/<int:call_id>")
@public
def public_call(call_id: int):
    page = design.public_call(current_user, call_id, utcnow(), current_app.config["HOME_REGION_NUTS2"], _locale())
    return render_template(PUBLIC + "detail.html", page=page, call=page.call)
