"""Pages of cohorts: the list, forming a cohort from a decided Accelerator call, its page and
changes, starting and completing it, refreshing its members from the call, the coaching themes,
and a company's page and needs assessment in the cohort.

- `cohorts.index` (signed in: staff all; a mentor the cohorts of their companies; a company's
  people their cohorts), `cohorts.detail` (the same people; others 404);
- `cohorts.new` (`?call=<id>`), `cohorts.edit`, `cohorts.advance`, `cohorts.refresh`,
  `cohorts.themes` (staff);
- `cohorts.member` (staff, the company's people, its mentor), `cohorts.needs` (staff and the
  company's people; others 404).

Each view declares who may open it, calls one service of `cohorts.py` (which checks the
object-level rights) and commits once. Home panels: "Cohorts" (staff: what waits in planned and
running cohorts).
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.accounts.forms import EmptyForm
from opsapp.cohorts import bp, cohorts
from opsapp.cohorts.cohort_forms import CohortForm, ThemeForm, needs_form
from opsapp.cohorts.models import CohortStatus, CompletionStatus
from opsapp.cohorts.pages import CohortError, actor, number, refuse, refuse_action, render
from opsapp.core import home, navigation
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db

navigation.register(_l("Cohorts"), "cohorts.index", [Role.STAFF, Role.ADMIN, Role.MENTOR, Role.APPLICANT], order=48)


def _locale() -> str:
    return str(get_locale() or "en")


def _helpers() -> dict:
    return {"NEED_LABELS": cohorts.NEED_LABELS, "CohortStatus": CohortStatus, "CompletionStatus": CompletionStatus,
            "number": number}


# --- home panel ------------------------------------------------------------------------------------------


@home.panel(Role.STAFF, Role.ADMIN, order=44)
def _cohorts_panel(user):
    rows = cohorts.cohorts_waiting()
    if not rows:
        return None
    return home.Panel(_l("Cohorts"), "cohorts/cohort/_panel_staff.html", {"rows": rows})


# --- the list ----------------------------------------------------------------------------------------------


@bp.route("/cohorts")
@signed_in
def index():
    rows = cohorts.cohort_list(actor())
    return render("cohort/index.html", rows=rows, calls=cohorts.formable_calls() if cohorts.is_staff(actor()) else [],
                  **_helpers())


# --- formation and changes ------------------------------------------------------------------------------------


def _data(form: CohortForm) -> cohorts.CohortData:
    return cohorts.CohortData(
        name=form.name.data or "", starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        incubation=bool(form.incubation.data), theme_ids=list(form.theme_ids.data or []),
        min_hours=form.min_hours.data, min_sessions=form.min_sessions.data, min_milestones=form.min_milestones.data)


def _themes_ready() -> None:
    """The default themes exist before the first cohort form is shown."""
    if cohorts.ensure_default_themes(actor()):
        db.session.commit()


@bp.route("/cohorts/new", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def new():
    call_id = request.args.get("call", "")
    if not call_id.isdigit():
        return render("cohort/choose_call.html", calls=cohorts.formable_calls())
    try:
        call = cohorts.formable_call(actor(), int(call_id))
    except CohortError as error:
        refuse_action(error)
        return redirect(url_for("cohorts.new"))
    _themes_ready()
    themes = cohorts.themes(active_only=True)
    if request.method == "POST":
        form = CohortForm(themes=themes, locale=_locale())
    else:
        name = _("%(programme)s %(year)s cohort", programme=call.edition.programme.name(_locale()),
                 year=call.edition.year)
        form = CohortForm(formdata=None, themes=themes, locale=_locale(), data={
            "name": name, "theme_ids": [t.id for t in themes], "min_hours": 20, "min_sessions": 0,
            "min_milestones": 1})
    if form.validate_on_submit():
        try:
            cohort = cohorts.form_cohort(actor(), call.id, _data(form))
        except CohortError as error:
            refuse(form, error)
        else:
            count = cohorts.member_count(cohort.id)
            db.session.commit()
            flash(ngettext("The cohort %(name)s is formed with %(num)d company; its people were told.",
                           "The cohort %(name)s is formed with %(num)d companies; their people were told.",
                           count, name=cohort.name), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render("cohort/form.html", form=form, call=call, cohort=None,
                  accepted=cohorts.accepted_applications(call.id))


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def edit(cohort_id: int):
    cohort = cohorts.staff_cohort(actor(), cohort_id)
    if cohort.status == CohortStatus.COMPLETED:
        flash(_("The cohort is completed: it can no longer be changed."), "danger")
        return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    _themes_ready()
    have = {t.id for t in cohort.themes}
    themes = [t for t in cohorts.themes() if t.active or t.id in have]
    if request.method == "POST":
        form = CohortForm(themes=themes, locale=_locale())
    else:
        form = CohortForm(formdata=None, themes=themes, locale=_locale(), data={
            "name": cohort.name, "starts_on": cohort.starts_on, "ends_on": cohort.ends_on,
            "incubation": cohort.incubation_months > 0, "theme_ids": sorted(have), "min_hours": cohort.min_hours,
            "min_sessions": cohort.min_sessions, "min_milestones": cohort.min_milestones})
    if form.validate_on_submit():
        try:
            cohorts.update_cohort(actor(), cohort.id, _data(form))
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The cohort is saved."), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort_id))
    cohort = cohorts.staff_cohort(actor(), cohort_id)
    return render("cohort/form.html", form=form, call=cohort.call, cohort=cohort, accepted=None)


@bp.route("/cohorts/<int:cohort_id>/status", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def advance(cohort_id: int):
    cohort = cohorts.staff_cohort(actor(), cohort_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    wanted = request.form.get("to", "")
    if wanted not in (CohortStatus.RUNNING.value, CohortStatus.COMPLETED.value):
        flash(_("Choose a step for the cohort."), "danger")
        return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    try:
        cohorts.advance(actor(), cohort.id, wanted)
    except CohortError as error:
        refuse_action(error)
    else:
        db.session.commit()
        if wanted == CohortStatus.RUNNING.value:
            flash(_("The cohort is running; its companies were told."), "success")
        else:
            flash(_("The cohort is completed."), "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


@bp.route("/cohorts/<int:cohort_id>/members/refresh", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def refresh(cohort_id: int):
    cohorts.staff_cohort(actor(), cohort_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(url_for("cohorts.detail", cohort_id=cohort_id))
    try:
        added = cohorts.refresh_members(actor(), cohort_id)
    except CohortError as error:
        refuse_action(error)
    else:
        db.session.commit()
        if added:
            flash(ngettext("%(num)d company joined the cohort; its people were told.",
                           "%(num)d companies joined the cohort; their people were told.", len(added)), "success")
        else:
            flash(_("No company of the call is missing: the members are up to date."), "info")
    return redirect(url_for("cohorts.detail", cohort_id=cohort_id))


# --- the cohort page ------------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>")
@signed_in
def detail(cohort_id: int):
    page = cohorts.cohort_page(actor(), cohort_id)
    return render("cohort/detail.html", page=page, cohort=page.cohort, empty_form=EmptyForm(), **_helpers())


# --- themes -----------------------------------------------------------------------------------------------------------


@bp.route("/cohorts/themes", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def themes():
    _themes_ready()
    editing = None
    wanted = request.args.get("theme", "")
    if wanted.isdigit():
        editing = next((t for t in cohorts.themes() if t.id == int(wanted)), None)
    if request.method == "POST":
        form = ThemeForm()
    elif editing is not None:
        form = ThemeForm(formdata=None, data={"theme_id": str(editing.id), "code": editing.code,
                                              "name_en": editing.name_en, "name_it": editing.name_it,
                                              "active": editing.active})
    else:
        form = ThemeForm(formdata=None, data={"active": True})
    if form.validate_on_submit():
        theme_id = form.theme_id.data if (form.theme_id.data or "").isdigit() else None
        try:
            theme = cohorts.save_theme(actor(), int(theme_id) if theme_id else None, code=form.code.data,
                                       name_en=form.name_en.data, name_it=form.name_it.data,
                                       active=bool(form.active.data))
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The theme %(name)s is saved.", name=theme.name(_locale())), "success")
            return redirect(url_for("cohorts.themes"))
    return render("cohort/themes.html", themes=cohorts.themes(), form=form, editing=editing)


# --- a company in the cohort ------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/members/<int:member_id>")
@signed_in
def member(cohort_id: int, member_id: int):
    page = cohorts.member_page(actor(), cohort_id, member_id)
    return render("cohort/member.html", page=page, cohort=page.cohort, member=page.member, **_helpers())


@bp.route("/cohorts/<int:cohort_id>/members/<int:member_id>/needs", methods=["GET", "POST"])
@signed_in
def needs(cohort_id: int, member_id: int):
    member = cohorts.member_for_needs(actor(), cohort_id, member_id)
    cohort = member.cohort
    if cohort.status == CohortStatus.COMPLETED:
        flash(_("The cohort is completed: the needs can no longer be changed."), "danger")
        return redirect(url_for("cohorts.member", cohort_id=cohort_id, member_id=member_id))
    current = {n.theme_id: n for n in member.needs}
    if request.method == "POST":
        form = needs_form(cohort.themes, _locale())
    else:
        data = {"goals": member.goals or ""}
        for theme in cohort.themes:
            need = current.get(theme.id)
            data[f"level_{theme.id}"] = str(need.level) if need else "0"
            data[f"note_{theme.id}"] = (need.note or "") if need else ""
        form = needs_form(cohort.themes, _locale(), formdata=None, data=data)
    if form.validate_on_submit():
        levels = {theme_id: cohorts.NeedInput(level, note) for theme_id, (level, note) in form.levels().items()}
        try:
            cohorts.save_needs(actor(), cohort_id, member_id, levels, form.goals.data)
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The needs of %(company)s are saved.", company=member.name), "success")
            return redirect(url_for("cohorts.member", cohort_id=cohort_id, member_id=member_id))
    member = cohorts.member_for_needs(actor(), cohort_id, member_id)
    return render("cohort/needs.html", form=form, member=member, cohort=member.cohort)
