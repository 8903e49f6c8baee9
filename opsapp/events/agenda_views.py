"""Agenda pages: a participant's agenda, its iCalendar file and printable page; for staff the
table plan (printable and Word), every agenda in Word, and the check-in of the event day.

Each view declares who may open it, calls one service of `agendas.py` or `day.py` (which
check the object-level rights: someone else's agenda answers 404) and, for the check-in
mark, commits once. The module also registers the "Your next meetings" home panel.
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from opsapp.core import home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.core.timeutil import utcnow
from opsapp.events import agendas, day, outcomes
from opsapp.events.blueprint import bp
from opsapp.events.followup_forms import CheckinFilterForm, CheckinMarkForm
from opsapp.events.models import ParticipantStatus, TrainingKind
from opsapp.events.pages import EventError, actor, download, language_name, refuse_action, render
from opsapp.extensions import db


def _participant_arg() -> int | None:
    return request.args.get("participant", type=int)


@bp.app_template_filter("agenda_language")
def _agenda_language(code: str | None) -> str:
    """An ISO 639-1 code as the language's name in the reader's language ("it" -> "Italian")."""
    return language_name(code).capitalize() if code else ""


@bp.app_template_filter("agenda_day")
def _agenda_day(value) -> str:
    """A day (a date or its ISO text) as "Wednesday 10 March 2027", in the reader's language."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except (TypeError, ValueError):
        return ""
    return agendas.day_label(day)


@bp.app_template_filter("agenda_participant_status")
def _agenda_participant_status(value: str) -> str:
    return ParticipantStatus(value).label


@bp.app_template_filter("agenda_training_kind")
def _agenda_training_kind(value: str) -> str:
    return TrainingKind(value).label


@home.panel(Role.APPLICANT, Role.BUYER, order=20)
def _next_meetings_panel(user):
    coming = agendas.next_meetings(user)
    if not coming:
        return None
    return home.Panel(_l("Your next meetings"), "events/agenda/_panel_next.html", {"coming": coming})


# --- a participant's agenda -----------------------------------------------------------------------


@bp.route("/<int:event_id>/agenda")
@signed_in
def agenda(event_id: int):
    data = agendas.agenda(actor(), event_id, _participant_arg())
    to_rate = []
    if data.participant is not None and data.visible and not data.as_staff:
        to_rate = outcomes.meetings_to_rate(current_user, event_id=event_id)
    return render("agenda/agenda.html", agenda=data, to_rate=to_rate, event=data.event, now=utcnow())


@bp.route("/<int:event_id>/agenda.ics")
@signed_in
def agenda_ics(event_id: int):
    filename, content = agendas.agenda_ics(actor(), event_id, _participant_arg())
    return download(filename, content)


@bp.route("/<int:event_id>/agenda/print")
@signed_in
def agenda_print(event_id: int):
    data = agendas.agenda(actor(), event_id, _participant_arg())
    if data.participant is None:
        return redirect(url_for("events.agenda", event_id=event_id))
    return render("agenda/print.html", agenda=data, event=data.event)


# --- staff documents ---------------------------------------------------------------------------------


@bp.route("/<int:event_id>/table-plan")
@roles_required(*PROGRAMME_STAFF)
def table_plan(event_id: int):
    event, days = agendas.table_plan(actor(), event_id)
    return render("agenda/table_plan.html", event=event, days=days)


@bp.route("/<int:event_id>/table-plan.docx")
@roles_required(*PROGRAMME_STAFF)
def table_plan_docx(event_id: int):
    filename, content = agendas.table_plan_docx(actor(), event_id)
    return download(filename, content)


@bp.route("/<int:event_id>/agendas.docx")
@roles_required(*PROGRAMME_STAFF)
def agendas_docx(event_id: int):
    filename, content = agendas.agendas_docx(actor(), event_id)
    return download(filename, content)


# --- check-in ----------------------------------------------------------------------------------------------


@bp.route("/<int:event_id>/check-in")
@roles_required(*PROGRAMME_STAFF)
def checkin(event_id: int):
    filter_form = CheckinFilterForm(formdata=request.args)
    filters = day.CheckinFilters(**filter_form.values())
    data = day.checkin_list(actor(), event_id, filters)
    return render("agenda/checkin.html", data=data, event=data.event, filter_form=filter_form,
                  mark_form=CheckinMarkForm(), filtered=bool(filters.as_args()))


@bp.route("/<int:event_id>/check-in/mark", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def checkin_mark(event_id: int):
    form = CheckinMarkForm()
    back = url_for("events.checkin", event_id=event_id, **_kept_filters())
    if not form.validate_on_submit() or not str(form.participant_id.data).isdigit():
        flash(_("Choose a participant to mark."), "danger")
        return redirect(back)
    arrived = form.arrived.data != "no"
    try:
        participant = day.mark_arrived(actor(), event_id, int(form.participant_id.data), arrived)
    except EventError as error:
        refuse_action(error)
        return redirect(back)
    db.session.commit()
    if arrived:
        flash(_("%(name)s is marked as arrived.", name=participant.name), "success")
    else:
        flash(_("%(name)s is no longer marked as arrived.", name=participant.name), "success")
    return redirect(back)


def _kept_filters() -> dict:
    """The list's filters, sent back with the mark so the list stays as it was."""
    return {k: v for k in ("q", "side", "arrived", "page") if (v := request.form.get("keep_" + k))}
