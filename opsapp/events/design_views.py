"""Event design pages: the list of events (staff: all; participants: theirs), creating and
editing an event, the staff's cockpit or the participant's event page, moving the phase,
and the generated slot grid. Also the navigation entry and the home panels of events.

Each view declares who may open it, reads its form, calls one service of `design.py` (or
reads a page of `cockpit.py`), which checks the object-level rights, and commits once.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import home, navigation
from opsapp.core.permissions import roles_required
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.events import cockpit, design, permissions
from opsapp.events.blueprint import bp
from opsapp.events.design_forms import EventFilterForm, EventForm, PhaseForm
from opsapp.events.models import EventPhase
from opsapp.events.pages import EventError, actor, refuse, refuse_action, render, viewable_event
from opsapp.extensions import db

EVENT_ROLES = (*PROGRAMME_STAFF, Role.APPLICANT, Role.BUYER)

navigation.register(_l("Events"), "events.index", list(EVENT_ROLES), order=50)


# --- home panels ------------------------------------------------------------------------


@home.panel(Role.STAFF, order=40)
def _events_staff_panel(user):
    rows = cockpit.running_events()
    if not rows:
        return None
    return home.Panel(_l("Meet the Buyer events"), "events/design/_panel_staff.html",
                      {"rows": rows, "badge": design.phase_badge})


@home.panel(Role.APPLICANT, Role.BUYER, order=25)
def _events_participant_panel(user):
    rows = cockpit.my_events(user)
    if not rows:
        return None
    return home.Panel(_l("Your Meet the Buyer events"), "events/design/_panel_participant.html",
                      {"rows": rows, "badge": design.phase_badge})


# --- pages --------------------------------------------------------------------------------


def _event_form(**kwargs) -> EventForm:
    return EventForm(editions=design.meet_the_buyer_editions(), calls=design.decided_calls(), **kwargs)


@bp.route("/")
@roles_required(*EVENT_ROLES)
def index():
    filter_form = EventFilterForm(formdata=request.args)
    filters = filter_form.filters()
    rows = cockpit.event_list(actor(), filters)
    return render("design/list.html", rows=rows, filter_form=filter_form, filters=filters,
                  badge=design.phase_badge)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PROGRAMME_STAFF)
def new():
    form = _event_form()
    if form.validate_on_submit():
        try:
            event = design.create_event(actor(), form.event_data())
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The event is created with its slot grid. Next, invite the participants."), "success")
            return redirect(url_for("events.detail", event_id=event.id))
    return render("design/form.html", form=form, event=None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@roles_required(*PROGRAMME_STAFF)
def edit(event_id: int):
    event = design.staff_event(actor(), event_id)
    if request.method == "POST":
        form = _event_form()
    else:
        form = _event_form(formdata=None, data=design.form_values(event))
    if form.validate_on_submit():
        try:
            design.update_event(actor(), event, form.event_data())
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The event is saved."), "success")
            return redirect(url_for("events.detail", event_id=event_id))
    return render("design/form.html", form=form, event=event, meetings=design.meeting_count(event))


@bp.route("/<int:event_id>")
@roles_required(*EVENT_ROLES)
def detail(event_id: int):
    event, participant = viewable_event(event_id)
    if permissions.is_staff(actor()):
        return render("design/cockpit.html", event=event, page=cockpit.cockpit(actor(), event),
                      badge=design.phase_badge)
    return render("design/participant.html", event=event, page=cockpit.participant_page(actor(), event, participant),
                  badge=design.phase_badge, kind_label=cockpit.kind_label, status_label=cockpit.status_label)


@bp.route("/<int:event_id>/phase", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def advance(event_id: int):
    event = design.staff_event(actor(), event_id)
    form = PhaseForm()
    target = url_for("events.detail", event_id=event_id)
    if not form.validate_on_submit():
        flash(_("The form had expired. Send it again."), "danger")
        return redirect(target)
    try:
        wanted = EventPhase(form.phase.data)
    except ValueError:
        flash(_("Choose one of the phases offered."), "danger")
        return redirect(target)
    try:
        design.advance_phase(actor(), event, wanted)
    except EventError as error:
        refuse_action(error)
    else:
        db.session.commit()
        flash(_("The event is now in the phase “%(phase)s”.", phase=wanted.label), "success")
    return redirect(target)


@bp.route("/<int:event_id>/slots")
@roles_required(*EVENT_ROLES)
def grid(event_id: int):
    event, _participant = viewable_event(event_id)
    return render("design/grid.html", event=event, view=design.grid_view(event), badge=design.phase_badge)
