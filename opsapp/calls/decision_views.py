"""Pages of moderation, ranking and decisions: the ranking with its divergences and the
proposal, the consensus form, the decision (reviewed, then confirmed), a selected
applicant's answer to the place offered, the decision letter and the evaluation summary
report in Word, and the exports of a call.

Each view declares who may open it, reads its form, calls one service of `decisions.py`,
`reports.py` or `exports.py` (which check the object-level rights) and commits once. A
refused form comes back with what was typed and the reason next to the field; a refused
button says why at the top of the page. The module also registers the staff home panels
of moderation and decisions, and what application pages need to show a decision.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from opsapp.calls import bp, decisions, exports, reports, scoring
from opsapp.calls.decision_forms import ConsensusForm, DecideForm, PlaceForm, RankingFilterForm
from opsapp.calls.decisions import DecisionError
from opsapp.core import home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import Role
from opsapp.extensions import db

TEMPLATES = "calls/decisions/"


def _actor():
    return current_user._get_current_object()


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _download(filename: str, mimetype: str, content: bytes) -> Response:
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


def _decimal_symbol() -> str:
    locale = get_locale() or Locale.parse("en")
    cache = g.setdefault("decimal_symbols", {})
    if str(locale) not in cache:
        symbols = locale.number_symbols
        cache[str(locale)] = (symbols["latn"] if "latn" in symbols else symbols).get("decimal", ".")
    return cache[str(locale)]


@bp.app_template_filter("score_value")
def _score_value(value) -> str:
    """A score or total as people read it: at most two decimals, in their language.

    Written by hand rather than through Babel's pattern engine: a ranking page shows
    thousands of these."""
    if value is None:
        return "–"
    rounded = scoring.round_score(Decimal(value))
    if abs(rounded) >= 1000:
        return format_decimal(rounded, format="#,##0.##")
    text = format(rounded.normalize(), "f")
    return text.replace(".", _decimal_symbol())


@bp.app_template_filter("outcome_label")
def _outcome_label(value) -> str:
    return decisions.outcome_label(value)


@bp.app_template_filter("place_status_label")
def _place_status_label(value) -> str:
    return decisions.place_status_label(value)


@bp.app_template_global("application_decision")
def _application_decision(application):
    """For application pages: `{% include "calls/decisions/_decision.html" %}` shows the decision."""
    return decisions.applicant_decision(current_user, application)


# --- home panels ---------------------------------------------------------------------------


@home.panel(Role.STAFF, Role.ADMIN, order=25)
def _moderation_panel(user):
    entries = [p for p in decisions.calls_in_evaluation() if p.proposal.to_moderate]
    if not entries:
        return None
    return home.Panel(_l("Divergent scores to moderate"), TEMPLATES + "_panel_moderation.html",
                      {"entries": entries})


@home.panel(Role.STAFF, Role.ADMIN, order=26)
def _ready_panel(user):
    entries = [p for p in decisions.calls_in_evaluation() if p.ready]
    if not entries:
        return None
    return home.Panel(_l("Calls ready to decide"), TEMPLATES + "_panel_ready.html", {"entries": entries})


# --- ranking, moderation, decision ---------------------------------------------------------


@bp.route("/staff/calls/<int:call_id>/ranking")
@roles_required(Role.STAFF, Role.ADMIN)
def call_ranking(call_id: int):
    form = RankingFilterForm(request.args)
    try:
        page = decisions.ranking_page(_actor(), call_id, show=request.args.get("show", "all"),
                                      sort=request.args.get("sort", "rank"), page=_page_number())
    except DecisionError as error:
        flash(str(error.message), "info")
        return redirect(url_for("calls.call_detail", call_id=call_id))
    form.show.data, form.sort.data = page.show, page.sort
    return render_template(TEMPLATES + "ranking.html", page=page, call=page.call, form=form,
                           decide_form=DecideForm(formdata=None, digest=page.digest),
                           filtered=page.show != "all")


def _consensus_forms(page, bound: ConsensusForm | None = None, bound_id: int | None = None) -> dict:
    forms = {}
    for item in page.criteria:
        if not item.may_moderate:
            continue
        cid = item.criterion.id
        if bound is not None and cid == bound_id:
            forms[cid] = bound
            continue
        existing = item.consensus
        forms[cid] = ConsensusForm(
            formdata=None, prefix=f"c{cid}",
            value=str(existing.value) if existing else None,
            justification=existing.justification if existing else None)
    return forms


@bp.route("/staff/applications/<int:application_id>/consensus", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def application_moderate(application_id: int):
    actor = _actor()
    page = decisions.moderation_page(actor, application_id)
    if request.method == "POST":
        which = request.form.get("which", "")
        if not which.isdigit():
            flash(_("Choose the criterion to moderate."), "danger")
            return redirect(url_for("calls.application_moderate", application_id=application_id))
        criterion_id = int(which)
        form = ConsensusForm(prefix=f"c{criterion_id}")
        if form.validate_on_submit():
            try:
                consensus = decisions.record_consensus(actor, application_id, criterion_id,
                                                       decisions.parse_score(form.value.data),
                                                       form.justification.data)
            except DecisionError as error:
                db.session.rollback()
                if error.field and error.field in form:
                    form[error.field].errors = [*form[error.field].errors, str(error.message)]
                elif criterion_id in _consensus_forms(page):
                    form.form_errors.append(str(error.message))
                else:
                    flash(str(error.message), "danger")
                    return redirect(url_for("calls.application_moderate", application_id=application_id))
            else:
                db.session.commit()
                flash(_("The consensus score for %(criterion)s is recorded: %(score)s.",
                        criterion=consensus.criterion.name, score=_score_value(consensus.value)), "success")
                page = decisions.moderation_page(actor, application_id)
                if page.result is not None and page.result.needs_moderation:
                    return redirect(url_for("calls.application_moderate", application_id=application_id))
                return redirect(url_for("calls.call_ranking", call_id=page.call.id, show="moderation"))
        return render_template(TEMPLATES + "moderate.html", page=page,
                               forms=_consensus_forms(page, form, criterion_id)), 422
    return render_template(TEMPLATES + "moderate.html", page=page, forms=_consensus_forms(page))


@bp.route("/staff/calls/<int:call_id>/decide", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def call_decide(call_id: int):
    actor = _actor()
    form = DecideForm()
    back = url_for("calls.call_ranking", call_id=call_id)
    if not form.validate_on_submit():
        flash(_("Review the ranking, then confirm the decision from its page."), "danger")
        return redirect(back)
    if form.confirmed.data != "1":
        try:
            preview = decisions.decision_preview(actor, call_id)
        except DecisionError as error:
            flash(str(error.message), "danger")
            return redirect(back)
        return render_template(TEMPLATES + "decide_confirm.html", preview=preview, call=preview.call,
                               form=DecideForm(formdata=None, digest=preview.ranking.digest, confirmed="1"))
    try:
        done = decisions.decide(actor, call_id, form.digest.data)
    except DecisionError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(back)
    db.session.commit()
    flash(_("The decision is confirmed: %(selected)d selected, %(reserve)d on the reserve list, %(rejected)d "
            "not selected, %(ineligible)d not eligible. %(people)d people were told.",
            selected=done.selected, reserve=done.reserve, rejected=done.rejected, ineligible=done.ineligible,
            people=done.notified), "success")
    return redirect(back)


# --- the place offered ---------------------------------------------------------------------


@bp.route("/applications/<int:application_id>/place", methods=["POST"])
@signed_in
def application_place(application_id: int):
    actor = _actor()
    form = PlaceForm()
    back = url_for("calls.application_detail", application_id=application_id)
    if not form.validate_on_submit():
        flash(_("Choose to accept or to decline the place."), "danger")
        return redirect(back)
    answer = form.answer.data
    if form.confirmed.data != "1":
        try:
            application = decisions.place_question(actor, application_id, answer)
        except DecisionError as error:
            flash(str(error.message), "danger")
            return redirect(back)
        return render_template(TEMPLATES + "place_confirm.html", application=application, answer=answer,
                               answer_by=decisions.answer_by(application),
                               form=PlaceForm(formdata=None, answer=answer, confirmed="1"))
    try:
        result = decisions.answer_place(actor, application_id, answer)
    except DecisionError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return redirect(back)
    db.session.commit()
    if result.accepted:
        flash(_("You accepted the place. The programme staff will contact you about the start."), "success")
    else:
        flash(_("You declined the place. Thank you for telling us: it goes to the next applicant."), "success")
    return redirect(back)


# --- documents and exports -----------------------------------------------------------------


@bp.route("/applications/<int:application_id>/letter.docx")
@signed_in
def decision_letter(application_id: int):
    filename, content = reports.decision_letter(_actor(), application_id)
    return _download(filename, reports.DOCX_MIMETYPE, content)


@bp.route("/staff/calls/<int:call_id>/summary.docx")
@roles_required(Role.STAFF, Role.ADMIN, Role.AUTHORITY)
def call_summary_report(call_id: int):
    filename, content = reports.summary_report(_actor(), call_id)
    return _download(filename, reports.DOCX_MIMETYPE, content)


@bp.route("/staff/calls/<int:call_id>/export.<fmt>")
@roles_required(Role.STAFF, Role.ADMIN)
def call_export(call_id: int, fmt: str):
    filename, mimetype, content = exports.export(_actor(), call_id, request.args.get("kind", "applications"), fmt)
    db.session.commit()  # the export is on record before the file leaves
    return _download(filename, mimetype, content)
