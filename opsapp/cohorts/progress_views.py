"""Pages of a company's progress and of the cohort's follow-up.

- `cohorts.milestones` GET/POST /cohorts/<cohort_id>/members/<member_id>/milestones: the company's
  progress page (milestones, hours per theme, next sessions, notes, introductions, obligations)
  for staff, the company's people and its mentor; staff and the mentor agree milestones (POST);
- `cohorts.milestone_update` POST /milestones/<milestone_id>: the company reports, staff or the
  mentor confirm, send back, mark missed, reopen;
- `cohorts.introductions` GET/POST /cohorts/<cohort_id>/introductions (staff): the list with
  filters, totals, CSV/XLSX export (`?export=csv|xlsx`), a new introduction (POST); the cohort's
  obligations;
- `cohorts.introduction_edit` GET/POST /introductions/<introduction_id> (staff);
- `cohorts.obligation_done` POST /obligations/<obligation_id>/done (staff): fulfilled or waived.

Each view declares who may open it, calls one service (which checks the object-level rights:
someone else's company answers 404) and commits once. The module also registers the home panels
"Milestones due" (applicants) and "Overdue milestones" (staff).
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.calls.models import Obligation
from opsapp.cohorts import bp, followup, progress, sessions
from opsapp.cohorts.models import (
    CohortMember,
    IntroductionOutcome,
    InvestmentType,
    Milestone,
    MilestoneStatus,
)
from opsapp.cohorts.pages import CohortError, actor, refuse, refuse_action, render
from opsapp.cohorts.progress_forms import (
    IntroductionFilterForm,
    IntroductionForm,
    MilestoneForm,
    MilestoneUpdateForm,
    ObligationForm,
)
from opsapp.core import exports, home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.redirects import safe_next
from opsapp.core.roles import Role
from opsapp.extensions import db


def _locale() -> str:
    return str(get_locale() or "en")


def _helpers() -> dict:
    return {"MilestoneStatus": MilestoneStatus, "IntroductionOutcome": IntroductionOutcome,
            "InvestmentType": InvestmentType, "obligation_label": followup.obligation_label,
            "obligation_status_label": followup.obligation_status_label}


# --- home panels ---------------------------------------------------------------------------------------


@home.panel(Role.APPLICANT, order=36)
def _milestones_due_panel(user):
    rows = progress.milestones_due(user)
    if not rows:
        return None
    return home.Panel(_l("Milestones due"), "cohorts/progress/_panel_due.html", {"rows": rows})


@home.panel(Role.STAFF, Role.ADMIN, order=44)
def _overdue_panel(user):
    rows, total = progress.overdue_milestones()
    if not rows:
        return None
    return home.Panel(_l("Overdue milestones"), "cohorts/progress/_panel_overdue.html",
                      {"rows": rows, "total": total})


# --- a company's progress --------------------------------------------------------------------------------


def _obligation_forms(obligations) -> dict:
    return {o.id: ObligationForm(formdata=None, prefix=f"obligation-{o.id}") for o in obligations
            if o.status == "open"}


@bp.route("/cohorts/<int:cohort_id>/members/<int:member_id>/milestones", methods=["GET", "POST"])
@signed_in
def milestones(cohort_id: int, member_id: int):
    viewer = progress.member_viewer(actor(), cohort_id, member_id)
    form = MilestoneForm(themes=sessions.cohort_themes_of(cohort_id))
    if request.method == "POST":
        if not viewer.agrees:
            flash(_("Only the company's mentor or the programme staff agree milestones."), "danger")
            return redirect(url_for("cohorts.milestones", cohort_id=cohort_id, member_id=member_id))
        if form.validate_on_submit():
            try:
                milestone = progress.create_milestone(actor(), cohort_id, member_id, form.data_for_service())
            except CohortError as error:
                refuse(form, error)
            else:
                db.session.commit()
                flash(_("The milestone “%(title)s” is agreed; the company was told.", title=milestone.title),
                      "success")
                return redirect(url_for("cohorts.milestones", cohort_id=cohort_id, member_id=member_id))
    data = progress.progress(actor(), cohort_id, member_id)
    member = data.member
    obligations = followup.obligations_of([member.organisation_id]).get(member.organisation_id, [])
    update_forms = {row.milestone.id: MilestoneUpdateForm(formdata=None, prefix=f"milestone-{row.milestone.id}",
                                                          evidence=row.milestone.evidence)
                    for row in data.milestones}
    return render("progress/member.html", data=data, cohort=data.cohort, member=member, viewer=data.viewer,
                  form=form, update_forms=update_forms, introductions=followup.introductions_of_member(member.id),
                  invested=followup.investment_totals(data.cohort.id).get(member.id),
                  obligations=obligations, obligation_forms=_obligation_forms(obligations) if data.viewer.staff else {},
                  back=request.full_path.rstrip("?"), open_form=request.method == "POST", **_helpers())


@bp.route("/milestones/<int:milestone_id>", methods=["POST"])
@signed_in
def milestone_update(milestone_id: int):
    milestone = db.session.get(Milestone, milestone_id)
    member = db.session.get(CohortMember, milestone.member_id) if milestone is not None else None
    if member is None:
        abort(404)
    progress.member_viewer(actor(), member.cohort_id, member.id)  # 404 for anyone else
    back = url_for("cohorts.milestones", cohort_id=member.cohort_id, member_id=member.id)
    form = MilestoneUpdateForm(prefix=f"milestone-{milestone_id}")
    if not form.validate_on_submit():
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        flash(_("Nothing changed: %(problem)s", problem=problems or _("choose what to do.")), "danger")
        return redirect(back)
    try:
        milestone = progress.update_milestone(actor(), milestone_id, form.action.data, form.evidence.data,
                                              form.note.data)
    except CohortError as error:
        refuse_action(error)
    else:
        db.session.commit()
        flash(_("The milestone “%(title)s” is now %(status)s; the others concerned were told.",
                title=milestone.title, status=MilestoneStatus(milestone.status).label.lower()), "success")
    return redirect(back + f"#milestone-{milestone_id}")


# --- investor introductions ----------------------------------------------------------------------------------


def _export(data: followup.IntroductionList, fmt: str):
    header = [_("Company"), _("Investor"), _("Country of the investor"), _("Date"), _("Outcome"),
              _("Amount invested (EUR)"), _("Type of investment"), _("Note")]
    rows = [[i.member.organisation.legal_name, i.investor.legal_name, i.investor.country, i.introduced_on,
             IntroductionOutcome(i.outcome).label, i.amount,
             InvestmentType(i.investment_type).label if i.investment_type else "", i.note or ""] for i in data.rows]
    filename = f"investor-introductions-cohort-{data.cohort.id}.{fmt}"
    if fmt == "csv":
        return exports.download(exports.csv_text(header, rows), filename)
    totals_header = [_("Company"), _("Amount invested (EUR)")]
    totals = [[m.organisation.legal_name, amount] for m, amount in data.invested_members]
    totals.append([_("Total of the cohort"), data.total])
    return exports.download(exports.xlsx_bytes([(_("Investor introductions"), header, rows),
                                                (_("Invested per company"), totals_header, totals)]), filename)


def _introductions_page(cohort_id: int, form: IntroductionForm, open_form: bool = False):
    filter_form = IntroductionFilterForm(formdata=request.args, members=sessions.members_of(cohort_id))
    filters = filter_form.filters()
    data = followup.introductions(actor(), cohort_id, filters)
    obligations = followup.cohort_obligations(cohort_id)
    return render("progress/introductions.html", data=data, cohort=data.cohort, form=form, filter_form=filter_form,
                  filtered=bool(filters.as_args()), export_args=filters.as_args(), open_form=open_form,
                  obligations=obligations, obligation_forms=_obligation_forms([r.obligation for r in obligations]),
                  back=request.full_path.rstrip("?"), **_helpers())


@bp.route("/cohorts/<int:cohort_id>/introductions", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def introductions(cohort_id: int):
    sessions.cohort_or_404(cohort_id)
    fmt = request.args.get("export", "")
    if request.method == "GET" and fmt in ("csv", "xlsx"):
        filter_form = IntroductionFilterForm(formdata=request.args, members=sessions.members_of(cohort_id))
        return _export(followup.introductions(actor(), cohort_id, filter_form.filters()), fmt)
    form = IntroductionForm(members=sessions.members_of(cohort_id), investors=followup.investors())
    if request.method == "GET" and request.args.get("member", type=int):
        form.member_id.data = request.args.get("member", type=int)
    if form.validate_on_submit():
        try:
            followup.record_introduction(actor(), cohort_id, form.data_for_service())
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The introduction is recorded; the company was told."), "success")
            return redirect(url_for("cohorts.introductions", cohort_id=cohort_id))
    return _introductions_page(cohort_id, form, open_form=request.method == "POST")


@bp.route("/introductions/<int:introduction_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def introduction_edit(introduction_id: int):
    intro = followup.introduction_for_staff(actor(), introduction_id)
    cohort_id = intro.member.cohort_id
    kwargs = {}
    if request.method == "GET":
        kwargs = {"formdata": None, "member_id": intro.member_id, "investor_id": intro.investor_id,
                  "introduced_on": intro.introduced_on, "outcome": intro.outcome,
                  "amount": str(intro.amount) if intro.amount is not None else "",
                  "investment_type": intro.investment_type or "", "note": intro.note}
    form = IntroductionForm(members=sessions.members_of(cohort_id), investors=followup.investors(), **kwargs)
    if form.validate_on_submit():
        try:
            followup.update_introduction(actor(), introduction_id, form.data_for_service())
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The introduction is saved."), "success")
            return redirect(url_for("cohorts.introductions", cohort_id=cohort_id))
    intro = followup.introduction_for_staff(actor(), introduction_id)
    return render("progress/introduction_edit.html", intro=intro, cohort=intro.member.cohort, form=form,
                  **_helpers())


# --- obligations --------------------------------------------------------------------------------------------


@bp.route("/obligations/<int:obligation_id>/done", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def obligation_done(obligation_id: int):
    if db.session.get(Obligation, obligation_id) is None:
        abort(404)
    form = ObligationForm(prefix=f"obligation-{obligation_id}")
    back = safe_next(form.next.data) or "/"
    if not form.validate_on_submit():
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        flash(_("Nothing changed: %(problem)s", problem=problems or _("choose fulfilled or waived.")), "danger")
        return redirect(back)
    try:
        obligation = followup.close_obligation(actor(), obligation_id, form.outcome.data, form.on.data,
                                               form.note.data)
    except CohortError as error:
        refuse_action(error)
    else:
        db.session.commit()
        flash(_("The obligation is recorded as %(status)s; the company was told.",
                status=followup.obligation_status_label(obligation.status).lower()), "success")
    return redirect(back)
