"""Schedule pages: the staff's grid of meetings (slots by tables, conflicts, the last run's
figures, the accepted requests still without a meeting), running the scheduler (in the
background, polled by the page), and the changes to one meeting (move, swap, cancel,
lock, place). A member of either side may cancel their own meeting after publication.

Each view declares who may open it, reads its form, calls one service (`schedule_runs.py`
for runs, `schedule_grid.py` for the grid and its changes, `schedule.py` for what both read)
and commits once; a refusal rolls back and says why.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import home
from opsapp.core.permissions import roles_required, signed_in
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.events import permissions, schedule, schedule_grid, schedule_runs
from opsapp.events.blueprint import bp
from opsapp.events.models import MeetingRequest, ScheduleRunStatus
from opsapp.events.pages import (
    EventError,
    actor,
    event_or_404,
    link_to,
    refuse,
    refuse_action,
    render,
)
from opsapp.events.schedule_forms import CancelForm, LockForm, PlaceForm, RunForm, SwapForm
from opsapp.extensions import db


@home.panel(Role.STAFF, order=35)
def _requests_to_schedule_panel(user):
    events = schedule_grid.requests_to_schedule()
    if not events:
        return None
    return home.Panel(_l("Requests to schedule"), "events/schedule/_panel_staff.html", {"events": events})


def _grid(event_id: int, anchor: str | None = None):
    return redirect(url_for("events.schedule", event_id=event_id) + (f"#{anchor}" if anchor else ""))


# --- the grid --------------------------------------------------------------------------------


@bp.route("/<int:event_id>/schedule", endpoint="schedule")
@roles_required(*PROGRAMME_STAFF)
def schedule_page(event_id: int):
    event = event_or_404(event_id)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    grid = schedule_grid.grid_page(actor(), event, page)
    return render("schedule/grid.html", event=event, grid=grid, run_form=RunForm(),
                  slot_label=schedule.slot_label, slot_choice_label=schedule.slot_choice_label)


@bp.route("/<int:event_id>/schedule/run", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def schedule_run(event_id: int):
    event = event_or_404(event_id)
    form = RunForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return _grid(event.id)
    try:
        if schedule_runs.run_inline():
            schedule_run = schedule_runs.run(actor(), event, schedule_runs.configured_time_limit())
        else:
            schedule_run = schedule_runs.start_run(actor(), event)
    except EventError as error:
        refuse_action(error)
        return _grid(event.id)
    db.session.commit()
    if schedule_run.status == ScheduleRunStatus.RUNNING.value:
        schedule_runs.run_in_background(schedule_run.id)
        flash(_("The scheduler is running. You can leave this page: you will be notified when the schedule "
                "is ready."), "info")
    elif schedule_run.status == ScheduleRunStatus.DONE.value:
        flash(_("The schedule is ready: %(summary)s.", summary=schedule_runs.run_summary(schedule_run)), "success")
    else:
        flash(_("The scheduler could not finish: %(error)s", error=schedule_run.error), "danger")
    return _grid(event.id)


@bp.route("/<int:event_id>/schedule/status")
@roles_required(*PROGRAMME_STAFF)
def schedule_status(event_id: int):
    event = event_or_404(event_id)
    running = schedule.running_run(event)
    last = running or schedule.last_run(event)
    return jsonify({
        "running": running is not None,
        "status": last.status if last else None,
        "label": last and ScheduleRunStatus(last.status).label,
        "summary": schedule_runs.run_summary(last),
        "url": url_for("events.schedule", event_id=event.id),
    })


# --- one meeting -------------------------------------------------------------------------------


def _meeting_page(meeting, move_form=None, swap_form=None, cancel_form=None, status=200):
    page = schedule_grid.meeting_page(actor(), meeting)
    move_form = move_form or PlaceForm(formdata=None, event=page.event, options=page.slot_options,
                                       slot_label=schedule.slot_choice_label)
    swap_form = swap_form or SwapForm(formdata=None)
    swap_form.other.choices = [(m.id, _swap_label(page.event, m)) for m in page.swap_options]
    return render("schedule/meeting.html", page=page, meeting=meeting, event=page.event, move_form=move_form,
                  swap_form=swap_form, cancel_form=cancel_form or CancelForm(formdata=None),
                  lock_form=LockForm(formdata=None), slot_label=schedule.slot_choice_label), status


def _swap_label(event, meeting) -> str:
    return _("%(time)s, table %(table)s: %(sme)s with %(buyer)s", time=schedule.slot_choice_label(event, meeting.slot),
             table=event.table_name(meeting.table_number), sme=meeting.sme.name, buyer=meeting.buyer.name)


@bp.route("/meetings/<int:meeting_id>/move", methods=["GET", "POST"])
@roles_required(*PROGRAMME_STAFF)
def meeting_move(meeting_id: int):
    meeting = schedule.meeting_or_404(meeting_id)
    if request.method == "GET":
        return _meeting_page(meeting)
    page = schedule_grid.meeting_page(actor(), meeting)
    form = PlaceForm(event=page.event, options=page.slot_options, slot_label=schedule.slot_choice_label)
    if form.validate_on_submit():
        try:
            schedule_grid.move(actor(), meeting, form.slot.data, form.table.data)
        except EventError as error:
            refuse(form, error)
            meeting = schedule.meeting_or_404(meeting_id)
        else:
            db.session.commit()
            flash(_("The meeting has moved to %(time)s, table %(table)s.",
                    time=schedule.slot_choice_label(meeting.event, meeting.slot),
                    table=meeting.event.table_name(meeting.table_number)), "success")
            return _grid(meeting.event_id, f"meeting-{meeting.id}")
    return _meeting_page(meeting, move_form=form)


@bp.route("/meetings/<int:meeting_id>/swap", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def meeting_swap(meeting_id: int):
    meeting = schedule.meeting_or_404(meeting_id)
    form = SwapForm()
    form.other.choices = []
    if form.validate_on_submit():
        other = db.session.get(type(meeting), form.other.data)
        try:
            schedule_grid.swap(actor(), meeting, other)
        except EventError as error:
            refuse(form, error)
            meeting = schedule.meeting_or_404(meeting_id)
        else:
            db.session.commit()
            flash(_("The two meetings have exchanged their slots and tables."), "success")
            return _grid(meeting.event_id, f"meeting-{meeting.id}")
    return _meeting_page(meeting, swap_form=form)


@bp.route("/meetings/<int:meeting_id>/lock", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def meeting_lock(meeting_id: int):
    meeting = schedule.meeting_or_404(meeting_id)
    form = LockForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(url_for("events.meeting_move", meeting_id=meeting.id))
    try:
        schedule_grid.set_lock(actor(), meeting, form.wanted)
    except EventError as error:
        refuse_action(error)
    else:
        db.session.commit()
        flash(_("The meeting is locked: the scheduler keeps it where it is.") if form.wanted
              else _("The meeting is unlocked: the scheduler may move it."), "success")
    if request.form.get("next") == "grid":
        return _grid(meeting.event_id, f"meeting-{meeting.id}")
    return redirect(url_for("events.meeting_move", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@signed_in
def meeting_cancel(meeting_id: int):
    meeting = schedule_grid.meeting_for_cancel(actor(), meeting_id)
    staff = permissions.is_staff(actor())
    form = CancelForm()
    if form.validate_on_submit():
        event_id = meeting.event_id
        try:
            offered = schedule_grid.cancel(actor(), meeting, form.reason.data)
        except EventError as error:
            refuse(form, error)
            meeting = schedule_grid.meeting_for_cancel(actor(), meeting_id)
        else:
            db.session.commit()
            flash(_("The meeting is cancelled; both sides are told."), "success")
            if offered is not None:
                flash(_("The freed slot went to the waiting request of %(sme)s with %(buyer)s.",
                        sme=offered.sme.name, buyer=offered.buyer.name), "info")
            if staff:
                return _grid(event_id)
            return redirect(link_to("events.agenda", event_id=event_id) or link_to("events.detail", event_id=event_id)
                            or url_for("core.home"))
    if staff and request.method == "POST":
        return _meeting_page(meeting, cancel_form=form)
    back = (url_for("events.meeting_move", meeting_id=meeting.id) if staff
            else link_to("events.agenda", event_id=meeting.event_id))
    return render("schedule/cancel.html", meeting=meeting, event=meeting.event, form=form, back=back,
                  can_cancel=schedule_grid.can_cancel(actor(), meeting), slot_label=schedule.slot_choice_label)


# --- an accepted request without a meeting -----------------------------------------------------------


@bp.route("/requests/<int:request_id>/place", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def request_place(request_id: int):
    meeting_request = db.session.get(MeetingRequest, request_id)
    if meeting_request is None:
        abort(404)
    form = PlaceForm()
    form.slot.choices = []
    if not form.validate_on_submit():
        flash(_("Choose a slot for the meeting."), "danger")
        return _grid(meeting_request.event_id, "waiting")
    try:
        meeting = schedule_grid.place(actor(), meeting_request, form.slot.data, form.table.data)
    except EventError as error:
        refuse_action(error)
        return _grid(meeting_request.event_id, "waiting")
    db.session.commit()
    flash(_("The meeting of %(sme)s with %(buyer)s is placed at %(time)s, table %(table)s.",
            sme=meeting.sme.name, buyer=meeting.buyer.name,
            time=schedule.slot_choice_label(meeting.event, meeting.slot),
            table=meeting.event.table_name(meeting.table_number)), "success")
    return _grid(meeting.event_id, f"meeting-{meeting.id}")
