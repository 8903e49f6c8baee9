"""Pages of the follow-up surveys.

- `kpi.surveys` GET /kpi/surveys (companies): the surveys of the user's organisations, those to
  answer first with their due date;
- `kpi.survey` GET/POST /kpi/surveys/<survey_id>: the answer form (big changes confirmed before
  anything is saved), read only once answered; staff open the same page to enter or correct
  the answers on the company's behalf;
- `kpi.follow_ups` GET /kpi/follow-ups (staff): the follow-ups with filters in the URL, the
  response rates per wave and group, pages, CSV/XLSX export (`?export=csv|xlsx`);
- `kpi.follow_up` GET /kpi/follow-ups/<follow_up_id> (staff): the company, its baseline and the
  correction form, its surveys and the timeline;
- `kpi.follow_up_baseline` POST /kpi/follow-ups/<follow_up_id>/baseline (staff).

Each view declares who may open it, calls the service (which checks the object-level rights:
someone else's survey answers 404) and commits once. The module also registers the home panels
("Surveys to answer" for companies, "Follow-up surveys" for staff), the menu entries and the
notice shown at every sign-in while a survey waits for an answer.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import exports, home, navigation
from opsapp.core.pages import actor, link_to, refuse
from opsapp.core.permissions import roles_required
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.kpi import bp, followups, validation
from opsapp.kpi.followups import AnswerProblems, FollowUpError
from opsapp.kpi.models import (
    WAVES,
    BaselineSource,
    FollowUp,
    FollowUpGroup,
    FollowUpSource,
    FundingSource,
    Survey,
    SurveyStatus,
)
from opsapp.kpi.survey_forms import STATE_LABELS, BaselineForm, FollowUpFilterForm, SurveyForm

COMPANY_ROLES = (Role.APPLICANT, Role.BUYER)
STAFF_ROLES = (Role.STAFF, Role.ADMIN)

navigation.register(_l("Surveys"), "kpi.surveys", [Role.APPLICANT], order=39)


def _locale() -> str:
    return str(get_locale() or "en")


def number(value) -> str:
    """FTE with at most two decimals, in the user's language (12, 12.5; 12,5 in Italian)."""
    return "" if value is None else format_decimal(value, format="#,##0.##")


def figure(key: str, value) -> str:
    """A survey or baseline figure as the user reads it."""
    if value is None:
        return ""
    if key in validation.FTE_FIELDS or key in validation.BASELINE_FTE:
        return number(value)
    if key in validation.COUNT_FIELDS or key == "baseline_year":
        return str(value)
    if key == "funding_source":
        return FundingSource(value).label
    from opsapp.core.money import format_money

    return format_money(value, _locale())


def render(template: str, **context):
    return render_template("kpi/" + template, link_to=link_to, number=number, figure=figure,
                           edition_label=lambda edition: followups.edition_label(edition, _locale()),
                           SurveyStatus=SurveyStatus, FollowUpGroup=FollowUpGroup, FollowUpSource=FollowUpSource,
                           BaselineSource=BaselineSource, **context)


@bp.app_template_filter("kpi_field_name")
def _field_name(key: str) -> str:
    return validation.field_name(key)


# --- home panels, menu, sign-in notice -------------------------------------------------------------


@home.panel(*COMPANY_ROLES, order=37)
def _surveys_panel(user):
    rows = followups.open_surveys_of(user)
    if not rows:
        return None
    return home.Panel(_l("Surveys to answer"), "kpi/_survey_panel.html", {"rows": rows})


@home.panel(*STAFF_ROLES, order=70)
def _follow_up_panel(user):
    data = followups.overview()
    if data is None:
        return None
    return home.Panel(_l("Follow-up surveys"), "kpi/_survey_panel_staff.html", {"overview": data})


@home.sign_in_notice
def _survey_notice(user):
    rows = followups.open_surveys_of(user)
    if not rows:
        return None
    items = "; ".join(_("%(company)s, figures of %(year)s, due since %(date)s", company=s.follow_up.organisation.legal_name,
                        year=s.fiscal_year, date=format_date(s.due_on, "long")) for s in rows)
    return ngettext("You have a follow-up survey to answer: %(surveys)s. It is on your home page.",
                    "You have %(num)d follow-up surveys to answer: %(surveys)s. They are on your home page.",
                    len(rows), surveys=items)


# --- the company's pages ---------------------------------------------------------------------------------


def _show_problems(form, problems: AnswerProblems) -> None:
    """Nothing is saved; each message goes next to its field (or above the form)."""
    db.session.rollback()
    for key, message in problems.errors.items():
        if key in form:
            form[key].errors = [*form[key].errors, message]
        else:
            form.form_errors.append(message)


@bp.route("/kpi/surveys")
@roles_required(*COMPANY_ROLES)
def surveys():
    rows = followups.surveys_of(actor())
    return render("surveys.html", rows=rows, open_count=sum(1 for s in rows if s.status == SurveyStatus.OPEN.value))


def _answer_values(survey: Survey) -> dict:
    """The recorded answers as the form shows them (plain text, as one would type them)."""
    values = {}
    for key in (*validation.FIGURES, "funding_source", "comment"):
        value = getattr(survey, key)
        values[key] = "" if value is None else str(value)
    return values


def _answer_rows(form: SurveyForm, survey: Survey) -> list[tuple[str, str]]:
    rows = []
    for key in (*validation.FIGURES[:5], "funding_source", *validation.FIGURES[5:]):
        rows.append((str(form[key].label.text), figure(key, getattr(survey, key))))
    if survey.comment:
        rows.append((str(form.comment.label.text), survey.comment))
    return rows


@bp.route("/kpi/surveys/<int:survey_id>", methods=["GET", "POST"])
@roles_required(*COMPANY_ROLES, *STAFF_ROLES)
def survey(survey_id: int):
    access = followups.survey_for(actor(), survey_id)
    item = access.survey
    if request.method == "GET" and item.status == SurveyStatus.ANSWERED.value:
        form = SurveyForm(formdata=None, fiscal_year=item.fiscal_year, **_answer_values(item))
    else:
        form = SurveyForm(fiscal_year=item.fiscal_year)
    jumps = []
    if request.method == "POST":
        if not access.may_answer:
            flash(_("This survey is answered already. If a figure is wrong, write to the programme staff: they can "
                    "correct it."), "warning")
            return redirect(url_for("kpi.survey", survey_id=survey_id))
        if form.validate_on_submit():
            try:
                outcome = followups.answer(actor(), item, form.figures(), confirm_jumps=bool(form.confirm_jumps.data),
                                           on_behalf=access.on_behalf)
            except AnswerProblems as problems:
                _show_problems(form, problems)
            except FollowUpError as error:
                refuse(form, error)
            else:
                if outcome.saved:
                    db.session.commit()
                    if access.on_behalf:
                        flash(_("The answers of %(company)s for %(year)s are saved; the company can read them.",
                                company=item.follow_up.organisation.legal_name, year=item.fiscal_year), "success")
                        return redirect(url_for("kpi.follow_up", follow_up_id=item.follow_up_id))
                    flash(_("Thank you: the figures for %(year)s are saved.", year=item.fiscal_year), "success")
                    return redirect(url_for("kpi.survey", survey_id=survey_id))
                jumps = outcome.jumps
                db.session.rollback()  # nothing was saved; keep it that way
        item = followups.survey_for(actor(), survey_id).survey
    page = render("survey.html", access=access, survey=item, follow_up=item.follow_up, form=form, jumps=jumps,
                  previous=followups.previous_figures(item), next_wave=followups.next_wave(item),
                  answers=_answer_rows(form, item) if item.status == SurveyStatus.ANSWERED.value else [])
    return page, 422 if request.method == "POST" and form.errors else 200


# --- staff pages -------------------------------------------------------------------------------------------


def _state_of(follow_up: FollowUp) -> str:
    if not follow_up.surveys:
        return "none"
    if any(s.status == SurveyStatus.OPEN.value for s in follow_up.surveys):
        return "open"
    return "answered"


def _survey_status(survey: Survey | None) -> str:
    if survey is None:
        return ""
    return SurveyStatus(survey.status).label


def _export(rows: list[FollowUp], fmt: str):
    header = [_("Company"), _("VAT or registration number"), _("Programme"), _("Edition"), _("Group"),
              _("Followed as"), _("Programme ended on"), _("Baseline source"), _("Baseline year"),
              _("Turnover (EUR)"), _("Export turnover (EUR)"), _("Employees (FTE)"), _("High-skill employees (FTE)"),
              _("Investment raised (EUR)")]
    for wave in WAVES:
        header += [_("%(months)s months: status", months=wave), _("%(months)s months: due on", months=wave),
                   _("%(months)s months: answered on", months=wave), _("%(months)s months: reminders", months=wave)]
    table = []
    for f in rows:
        by_wave = {s.wave: s for s in f.surveys}
        row = [f.organisation.legal_name, f.organisation.vat_number, f.edition.programme.name(_locale()),
               f.edition.year, FollowUpGroup(f.group).label, FollowUpSource(f.source).label, f.ended_on,
               BaselineSource(f.baseline_source).label, f.baseline_year, f.baseline_turnover,
               f.baseline_export_turnover, f.baseline_employees_fte, f.baseline_high_skill_fte,
               f.baseline_investment_raised]
        for wave in WAVES:
            s = by_wave.get(wave)
            row += [_survey_status(s), s.due_on if s else None,
                    s.answered_at.date() if s and s.answered_at else None, s.reminders_sent if s else None]
        table.append(row)
    filename = f"follow-ups.{fmt}"
    if fmt == "csv":
        return exports.download(exports.csv_text(header, table), filename)
    answers_header = [_("Company"), _("Edition"), _("Group"), _("Survey (months)"), _("Financial year"), _("Status"),
                      _("Answered on"), _("Entered by staff"), _("Sales (EUR)"), _("Export sales (EUR)"),
                      _("Employees (FTE)"), _("High-skill employees (FTE)"), _("Funding raised (EUR)"),
                      _("Source of the funding"), _("New markets"), _("Partnerships with corporates"),
                      _("Contracts signed"), _("Value of the contracts (EUR)"), _("Big changes confirmed")]
    answers = []
    for f in rows:
        for s in f.surveys:
            answers.append([f.organisation.legal_name, f.edition.year, FollowUpGroup(f.group).label, s.wave,
                            s.fiscal_year, _survey_status(s), s.answered_at.date() if s.answered_at else None,
                            s.entered_by_staff, s.sales, s.export_sales, s.employees_fte, s.high_skill_fte,
                            s.funding_raised, FundingSource(s.funding_source).label if s.funding_source else "",
                            s.new_markets, s.corporate_partnerships, s.contracts_signed, s.contracts_value,
                            ", ".join(validation.field_name(k) for k in (s.confirmed_jumps or []))])
    return exports.download(exports.xlsx_bytes([(_("Follow-ups"), header, table),
                                                (_("Survey answers"), answers_header, answers)]), filename)


@bp.route("/kpi/follow-ups")
@roles_required(*STAFF_ROLES)
def follow_ups():
    filter_form = FollowUpFilterForm(formdata=request.args, years=followups.edition_years())
    filters = filter_form.filters()
    fmt = request.args.get("export", "")
    if fmt in ("csv", "xlsx"):
        rows = followups.follow_ups_for_export(actor(), filters, fmt)
        db.session.commit()  # the export's audit entry
        return _export(rows, fmt)
    data = followups.follow_up_list(actor(), filters)
    return render("follow_ups.html", data=data, filter_form=filter_form, filtered=bool(filters.as_args()),
                  export_args=filters.as_args(), state_of=_state_of, STATE_LABELS=STATE_LABELS, WAVES=WAVES)


def _baseline_form_values(follow_up: FollowUp) -> dict:
    return {key: "" if value is None else str(value) for key, value in followups.baseline_figures(follow_up).items()}


def _follow_up_page(follow_up_id: int, form: BaselineForm, open_form: bool = False):
    data = followups.follow_up_page(actor(), follow_up_id)
    return render("follow_up.html", data=data, follow_up=data.follow_up, form=form, open_form=open_form,
                  baseline=followups.baseline_figures(data.follow_up), WAVES=WAVES,
                  due_dates={w: followups.due_date(data.follow_up.ended_on, w) for w in WAVES},
                  max_reminders=followups.MAX_REMINDERS)


@bp.route("/kpi/follow-ups/<int:follow_up_id>")
@roles_required(*STAFF_ROLES)
def follow_up(follow_up_id: int):
    item = followups.follow_up_for_staff(actor(), follow_up_id)
    form = BaselineForm(formdata=None, **_baseline_form_values(item))
    return _follow_up_page(follow_up_id, form)


@bp.route("/kpi/follow-ups/<int:follow_up_id>/baseline", methods=["POST"])
@roles_required(*STAFF_ROLES)
def follow_up_baseline(follow_up_id: int):
    item = followups.follow_up_for_staff(actor(), follow_up_id)
    form = BaselineForm()
    if form.validate_on_submit():
        try:
            followups.correct_baseline(actor(), item, form.figures(), form.reason.data)
        except AnswerProblems as problems:
            _show_problems(form, problems)
        except FollowUpError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The baseline is corrected; the reason is kept in the audit log."), "success")
            return redirect(url_for("kpi.follow_up", follow_up_id=follow_up_id))
    return _follow_up_page(follow_up_id, form, open_form=True), 422 if form.errors or form.form_errors else 200
