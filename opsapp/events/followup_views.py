"""Follow-up pages: a meeting that did not happen, the outcome of a meeting, the supply
contracts (list, new, review by staff) and the event's statistics.

Each view declares who may open it, reads its form, calls one service of `day.py` or
`outcomes.py` (which check the object-level rights: someone else's meeting or contract
answers 404) and commits once. A refused form comes back with what was typed and the
reason next to the field. The module also registers the home panels "Meetings to rate"
(SMEs and buyers) and "Contracts to confirm" (staff).
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask import flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import home
from opsapp.core.money import format_money
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.core.timeutil import format_in_zone
from opsapp.events import day, outcomes
from opsapp.events.blueprint import bp
from opsapp.events.followup_forms import (
    ContractFilterForm,
    ContractForm,
    ContractReviewForm,
    NoShowForm,
    OutcomeForm,
)
from opsapp.events.models import ContractStatus, OutcomeRating, OutcomeRound
from opsapp.events.pages import EventError, actor, download, refuse, refuse_action, render
from opsapp.extensions import db


@bp.app_template_filter("meeting_outcome_round")
def _meeting_outcome_round(value: str) -> str:
    return OutcomeRound(value).label


@bp.app_template_filter("meeting_outcome_rating")
def _meeting_outcome_rating(value: str) -> str:
    return OutcomeRating(value).label


@bp.app_template_filter("supply_contract_status")
def _supply_contract_status(value: str) -> str:
    return ContractStatus(value).label


@bp.app_template_filter("statistic_value")
def _statistic_value(value) -> str:
    """A figure of the statistics page: money for amounts, a grouped integer for counts."""
    locale = str(get_locale() or "en")
    if isinstance(value, Decimal):
        return format_money(value, locale)
    if isinstance(value, int):
        return format_decimal(value, format="#,##0", locale=locale)
    return str(value)


@home.panel(Role.APPLICANT, Role.BUYER, order=21)
def _meetings_to_rate_panel(user):
    to_rate = outcomes.meetings_to_rate(user)
    if not to_rate:
        return None
    return home.Panel(_l("Meetings to rate"), "events/followup/_panel_rate.html", {"to_rate": to_rate})


@home.panel(*PROGRAMME_STAFF, order=35)
def _contracts_to_confirm_panel(user):
    waiting = outcomes.contracts_to_confirm()
    if not waiting:
        return None
    return home.Panel(_l("Contracts to confirm"), "events/followup/_panel_contracts.html", {"waiting": waiting})


def _agenda_of(meeting, side) -> str:
    if side is None:
        return url_for("events.agenda", event_id=meeting.event_id, participant=meeting.sme_id)
    return url_for("events.agenda", event_id=meeting.event_id)


# --- no-shows and outcomes ------------------------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/no-show", methods=["POST"])
@signed_in
def meeting_no_show(meeting_id: int):
    form = NoShowForm()
    meeting = day.meeting_or_404(meeting_id)
    side = day.side_of(actor(), meeting)  # 404 for anyone outside the meeting
    back = _agenda_of(meeting, side)
    if not form.validate_on_submit():
        flash(_("The note is too long: keep it under 2,000 characters."), "danger")
        return redirect(back)
    try:
        day.report_no_show(actor(), meeting_id, form.note.data)
    except EventError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    flash(_("The meeting is recorded as not having happened; the other side and the programme staff are told."),
          "success")
    return redirect(back)


@bp.route("/meetings/<int:meeting_id>/outcome", methods=["GET", "POST"])
@signed_in
def meeting_outcome(meeting_id: int):
    page = outcomes.outcome_page(actor(), meeting_id)
    if request.method == "POST":
        form = OutcomeForm()
    elif page.mine is not None:
        form = OutcomeForm(formdata=None, data={"rating": page.mine.rating, "note": page.mine.note or ""})
    else:
        form = OutcomeForm(formdata=None)
    if page.can_rate and form.validate_on_submit():
        try:
            outcomes.rate_meeting(actor(), meeting_id, form.rating.data, form.note.data)
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("Thank you: your rating of the meeting with %(name)s is saved.", name=page.counterpart.name),
                  "success")
            return redirect(url_for("events.meeting_outcome", meeting_id=meeting_id))
    elif request.method == "POST" and not page.can_rate:
        flash(str(page.why_not or _("This meeting cannot be rated.")), "danger")
    return render("followup/outcome.html", page=page, form=form, event=page.event,
                  no_show_form=NoShowForm(formdata=None))


# --- contracts ------------------------------------------------------------------------------------------------


@bp.route("/<int:event_id>/contracts")
@signed_in
def contracts(event_id: int):
    filter_form = ContractFilterForm(formdata=request.args)
    filters = outcomes.ContractFilters(**filter_form.values())
    fmt = request.args.get("export")
    if fmt in ("csv", "xlsx"):
        filename, content = outcomes.contracts_export(actor(), event_id, filters, fmt)
        db.session.commit()  # the export is on record before the file leaves
        return download(filename, content)
    data = outcomes.contracts_page(actor(), event_id, filters)
    review_form = ContractReviewForm(formdata=None)
    return render("followup/contracts.html", data=data, event=data.event, filter_form=filter_form,
                  review_form=review_form, filtered=bool(filters.as_args()))


def _meeting_labels(choices) -> list[tuple[int, str]]:
    event, own = choices.event, choices.participant
    labels = []
    for m in choices.meetings:
        if own is not None:
            who = (m.buyer if m.sme_id == own.id else m.sme).name
        else:
            who = f"{m.sme.name} – {m.buyer.name}"
        labels.append((m.id, f"{format_in_zone(m.slot.starts_at, event.timezone, _current_locale())}: {who}"))
    return labels


def _current_locale() -> str:
    return str(get_locale() or "en")


@bp.route("/<int:event_id>/contracts/new", methods=["GET", "POST"])
@signed_in
def contract_new(event_id: int):
    choices = outcomes.contract_choices(actor(), event_id)
    form = ContractForm(choices=choices, meeting_labels=_meeting_labels(choices))
    if request.method == "GET":
        wanted = request.args.get("meeting", type=int)
        if wanted and any(m.id == wanted for m in choices.meetings):
            form.meeting_id.data = wanted
            meeting = next(m for m in choices.meetings if m.id == wanted)
            if choices.participant is not None:
                form.counterpart_id.data = meeting.buyer_id if meeting.sme_id == choices.participant.id \
                    else meeting.sme_id
            else:
                form.sme_id.data, form.buyer_id.data = meeting.sme_id, meeting.buyer_id
    open_ = outcomes.contracts_open(choices.event)
    if open_ and form.validate_on_submit():
        data = outcomes.ContractData(
            signed_on=form.signed_on.data, value=form.value.data, description=form.description.data,
            counterpart_id=form.counterpart_id.data or None if choices.participant is not None else None,
            sme_id=form.sme_id.data or None, buyer_id=form.buyer_id.data or None,
            meeting_id=form.meeting_id.data or None)
        try:
            outcomes.record_contract(actor(), event_id, data)
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The contract is recorded; the programme staff will confirm it."), "success")
            return redirect(url_for("events.contracts", event_id=event_id))
    return render("followup/contract_new.html", form=form, choices=choices, event=choices.event, open=open_)


@bp.route("/contracts/<int:contract_id>/review", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def contract_review(contract_id: int):
    form = ContractReviewForm()
    contract = outcomes.contract_or_404(contract_id)
    back = url_for("events.contracts", event_id=contract.event_id)
    if not form.validate_on_submit():
        flash(_("Choose to confirm or to reject the contract."), "danger")
        return redirect(back)
    try:
        outcomes.review_contract(actor(), contract_id, form.decision.data, form.note.data)
    except EventError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    if form.decision.data == "confirm":
        flash(_("The contract is confirmed; both sides are told."), "success")
    else:
        flash(_("The contract is rejected; both sides are told why."), "success")
    return redirect(back)


# --- statistics --------------------------------------------------------------------------------------------------


@bp.route("/<int:event_id>/statistics")
@roles_required(*PROGRAMME_STAFF)
def statistics(event_id: int):
    fmt = request.args.get("export")
    if fmt in ("csv", "xlsx"):
        filename, content = outcomes.statistics_export(actor(), event_id, fmt)
        db.session.commit()
        return download(filename, content)
    event, figures = outcomes.event_statistics(actor(), event_id)
    return render("followup/statistics.html", event=event, figures=figures)

