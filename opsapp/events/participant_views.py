"""Participant pages: the staff's list of an event's participants (filters, export) with its
actions, each its own endpoint (adding the call's selected SMEs, inviting an SME or a buyer,
withdrawing a participant), the profile and the availability of one participant (their
own; staff any, with `?participant=<id>`), and the training sessions with their attendance.

Each view declares who may open it, reads its form, calls one service of
`participants.py` (which checks the object-level rights) and commits once.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from opsapp.accounts.forms import EmptyForm
from opsapp.core.permissions import deny, roles_required
from opsapp.core.roles import PROGRAMME_STAFF, Role
from opsapp.events import cockpit, design, permissions, states
from opsapp.events import participants as service
from opsapp.events.blueprint import bp
from opsapp.events.models import ParticipantStatus, Side
from opsapp.events.pages import (
    EventError,
    actor,
    download,
    event_or_404,
    refuse,
    refuse_action,
    render,
    viewable_event,
)
from opsapp.events.participant_forms import (
    InviteForm,
    ParticipantFilterForm,
    ProfileForm,
    TrainingForm,
    WithdrawForm,
)
from opsapp.extensions import db

EVENT_ROLES = (*PROGRAMME_STAFF, Role.APPLICANT, Role.BUYER)


def _expired() -> None:
    flash(_("The form had expired. Send it again."), "danger")


# --- the staff's list ----------------------------------------------------------------------


def _list_filters():
    """The list's filters, from the query string (kept by the actions so the list comes back as it was)."""
    filter_form = ParticipantFilterForm(formdata=request.args)
    return filter_form, filter_form.filters()


def _list_page(event, invite_form: InviteForm, show_invite: bool = False):
    filter_form, filters = _list_filters()
    page = service.participant_list(actor(), event, filters)
    return render("participants/list.html", event=event, page=page, filter_form=filter_form, filters=filters,
                  filtered=bool(filters.as_args()), invite_form=invite_form, empty_form=EmptyForm(),
                  complete=service.profile_complete,
                  badge=design.phase_badge, ParticipantStatus=ParticipantStatus, show_invite=show_invite)


def _back(event_id: int):
    return redirect(url_for("events.participants", event_id=event_id, **_list_filters()[1].as_args()))


@bp.route("/<int:event_id>/participants")
@roles_required(*PROGRAMME_STAFF)
def participants(event_id: int):
    event = design.staff_event(actor(), event_id)
    fmt = request.args.get("export")
    if fmt in ("csv", "xlsx"):
        filename, content = service.export(actor(), event, _list_filters()[1], fmt)
        db.session.commit()  # the export is on record before the file leaves
        return download(filename, content)
    invite_form = InviteForm(prefix="invite", formdata=None)
    invite_form.locale.data = str(current_user.locale or "en")
    return _list_page(event, invite_form)


@bp.route("/<int:event_id>/participants/add-selected", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def participants_add_selected(event_id: int):
    event = design.staff_event(actor(), event_id)
    if not EmptyForm().validate_on_submit():
        _expired()
        return _back(event_id)
    try:
        added = service.add_selected_smes(actor(), event)
    except EventError as error:
        refuse_action(error)
        return _back(event_id)
    db.session.commit()
    if added:
        flash(ngettext("%(num)d selected SME is added and was told by e-mail.",
                       "%(num)d selected SMEs are added and were told by e-mail.", added), "success")
    else:
        flash(_("Every selected SME of the call is already in the event: nobody was added."), "info")
    return _back(event_id)


@bp.route("/<int:event_id>/participants/invite", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def participants_invite(event_id: int):
    event = design.staff_event(actor(), event_id)
    invite_form = InviteForm(prefix="invite")
    if invite_form.validate_on_submit():
        try:
            result = service.invite(actor(), event, invite_form.invitation_data())
        except EventError as error:
            refuse(invite_form, error)
        else:
            db.session.commit()
            if result.new_account:
                flash(_("%(name)s of %(organisation)s is invited: they received an e-mail to choose their "
                        "password.", name=result.user.display_name, organisation=result.participant.name), "success")
            else:
                flash(_("%(name)s already had an account: %(organisation)s is invited and they were told.",
                        name=result.user.display_name, organisation=result.participant.name), "success")
            return _back(event_id)
    return _list_page(event, invite_form, show_invite=True)


@bp.route("/<int:event_id>/participants/<int:participant_id>/withdraw", methods=["POST"])
@roles_required(*PROGRAMME_STAFF)
def participant_withdraw(event_id: int, participant_id: int):
    event = design.staff_event(actor(), event_id)
    service.participant_in(event, participant_id)  # another event's participant: 404
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors) or _("The form had expired. "
                                                                                        "Send it again."), "danger")
        return _back(event_id)
    try:
        withdrawn = service.withdraw(actor(), event, participant_id, form.reason.data)
    except EventError as error:
        refuse_action(error)
        return _back(event_id)
    db.session.commit()
    flash(_("%(name)s is withdrawn and was told by e-mail.", name=withdrawn.name), "success")
    return _back(event_id)


# --- profile and availability -------------------------------------------------------------------


def _chosen_participant(event):
    """The participant the page is about: their own; staff name one with ?participant=<id>."""
    raw = request.args.get("participant", "")
    if raw and not raw.isdigit():
        abort(404)
    if not raw and permissions.is_staff(actor()) and permissions.participant_of(actor(), event) is None:
        return None
    return service.profile_of(actor(), event, int(raw) if raw else None)


def _self_url(endpoint: str, event_id: int, participant) -> str:
    if permissions.is_staff(actor()) and not permissions.speaks_for(actor(), participant):
        return url_for(endpoint, event_id=event_id, participant=participant.id)
    return url_for(endpoint, event_id=event_id)


@bp.route("/<int:event_id>/profile", methods=["GET", "POST"])
@roles_required(*EVENT_ROLES)
def profile(event_id: int):
    event = event_or_404(event_id)
    participant = _chosen_participant(event)
    if participant is None:
        flash(_("Choose the participant whose profile you want to open."), "info")
        return redirect(url_for("events.participants", event_id=event_id))
    staff = permissions.is_staff(actor())
    domains = service.profile_choices(participant)
    if request.method == "POST":
        form = ProfileForm(s3_domains=domains)
    else:
        form = ProfileForm(formdata=None, s3_domains=domains, data={
            "headline": participant.headline or "", "offer": participant.offer or "",
            "needs": participant.needs or "", "s3_domain_ids": [d.id for d in participant.s3_domains],
            "countries": ", ".join(participant.countries or []), "languages": ", ".join(participant.languages or []),
            "max_meetings": participant.max_meetings})
    editable = service.may_change_profile(actor(), participant)
    if request.method == "POST" and form.validate_on_submit():
        try:
            registered = service.save_profile(actor(), participant, form.profile_data(participant.side_enum, staff))
        except EventError as error:
            refuse(form, error)
        else:
            db.session.commit()
            if registered:
                flash(_("The profile is complete: %(name)s is registered for the event.", name=participant.name),
                      "success")
            else:
                flash(_("The profile is saved."), "success")
            return redirect(_self_url("events.profile", event_id, participant))
    return render("participants/profile.html", event=event, participant=participant, form=form, staff=staff,
                  editable=editable, complete=service.profile_complete(participant), badge=design.phase_badge,
                  sme=participant.side_enum is Side.SME)


@bp.route("/<int:event_id>/availability", methods=["GET", "POST"])
@roles_required(*EVENT_ROLES)
def availability(event_id: int):
    event = event_or_404(event_id)
    participant = _chosen_participant(event)
    if participant is None:
        flash(_("Choose the participant whose availability you want to open."), "info")
        return redirect(url_for("events.participants", event_id=event_id))
    form = EmptyForm()
    errors: list[str] = []
    chosen = None
    if request.method == "POST":
        chosen = {int(v) for v in request.form.getlist("available") if v.isdigit()}
        if not form.validate_on_submit():
            errors.append(_("The form had expired. Send it again."))
        else:
            try:
                available = service.save_availability(actor(), participant, chosen)
            except EventError as error:
                db.session.rollback()
                errors.append(str(error.message))
            else:
                db.session.commit()
                flash(ngettext("The availability is saved: %(num)d slot can hold meetings.",
                               "The availability is saved: %(num)d slots can hold meetings.", available), "success")
                return redirect(_self_url("events.availability", event_id, participant))
    days = service.availability_days(participant)
    if chosen is None:
        chosen = {slot.id for day in days for slot, _start, _end, free in day.slots if free}
    return render("participants/availability.html", event=event, participant=participant, days=days,
                  chosen=chosen, form=form, errors=errors, editable=service.availability_open_to(actor(), participant),
                  staff=permissions.is_staff(actor()), badge=design.phase_badge)


# --- training ----------------------------------------------------------------------------------


@bp.route("/<int:event_id>/training", methods=["GET", "POST"])
@roles_required(*EVENT_ROLES)
def training(event_id: int):
    event, participant = viewable_event(event_id)
    staff = permissions.is_staff(actor())
    if not staff and participant.side_enum is not Side.SME:
        abort(404)  # training is for SMEs
    form = TrainingForm() if staff else None
    if request.method == "POST":
        if not staff:
            deny()
        if form.validate_on_submit():
            try:
                session = service.add_training(actor(), event, form.training_data())
            except EventError as error:
                refuse(form, error)
            else:
                db.session.commit()
                flash(_("The session “%(title)s” is added; the SMEs were told by e-mail.", title=session.title),
                      "success")
                return redirect(url_for("events.training", event_id=event_id))
    return render("participants/training.html", event=event, participant=participant, form=form, staff=staff,
                  sessions=service.training_for(event), attended=service.attendance_counts(event) if staff else {},
                  mine=service.my_attendance(participant) if participant is not None and not staff else {},
                  open=states.training_open(event), badge=design.phase_badge, kind_label=cockpit.kind_label)


@bp.route("/<int:event_id>/training/<int:session_id>", methods=["GET", "POST"])
@roles_required(*PROGRAMME_STAFF)
def attendance(event_id: int, session_id: int):
    event = design.staff_event(actor(), event_id)
    session = service.session_in(event, session_id)
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            _expired()
        else:
            try:
                present = service.record_attendance(actor(), event, session, request.form.getlist("present"))
            except EventError as error:
                refuse_action(error)
            else:
                db.session.commit()
                flash(ngettext("Attendance is recorded: %(num)d SME attended.",
                               "Attendance is recorded: %(num)d SMEs attended.", present), "success")
        return redirect(url_for("events.attendance", event_id=event_id, session_id=session_id))
    return render("participants/attendance.html", event=event, session=session, form=form,
                  smes=service.sme_participants(event), rows=service.attendance_of(session), badge=design.phase_badge)
