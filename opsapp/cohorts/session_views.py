"""Pages of coaching sessions: the cohort's calendar and its iCalendar file, a session, creating,
changing and cancelling one, its attendance, and the mentor's note per company.

- `cohorts.sessions` GET /cohorts/<cohort_id>/sessions: staff, the cohort's mentors and companies
  (each their own sessions); `cohorts.calendar_ics` the same sessions as an iCalendar file;
- `cohorts.session_new`, `cohorts.session_edit`, `cohorts.session_cancel`: staff (any session), a
  mentor (one-to-one sessions with their companies; the sessions they lead);
- `cohorts.session` GET /sessions/<session_id>: staff, its mentor, its invited companies;
- `cohorts.attendance`: staff or the session's mentor, once it started;
- `cohorts.session_note`: staff, the session's mentor, and that company (read only).

Each view declares who may open it, calls one service of `sessions.py` (which checks the
object-level rights: someone else's session answers 404) and commits once. The module also
registers the home panels "Next sessions" and "Notes to write" (mentors) and "Coaching
sessions" (applicants).
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.cohorts import bp, sessions
from opsapp.cohorts.models import SessionKind
from opsapp.cohorts.pages import CohortError, actor, refuse, refuse_action, render
from opsapp.cohorts.session_forms import (
    AttendanceForm,
    CalendarFilterForm,
    CancelForm,
    NoteForm,
    SessionForm,
)
from opsapp.core import home
from opsapp.core.permissions import signed_in
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db

# --- home panels ---------------------------------------------------------------------------------------


@home.panel(Role.MENTOR, order=15)
def _next_sessions_panel(user):
    coming = sessions.next_sessions_led(user)
    if not coming:
        return None
    return home.Panel(_l("Next sessions"), "cohorts/sessions/_panel_next.html", {"coming": coming})


@home.panel(Role.MENTOR, order=16)
def _notes_panel(user):
    rows = sessions.notes_to_write(user)
    if not rows:
        return None
    return home.Panel(_l("Notes to write"), "cohorts/sessions/_panel_notes.html", {"rows": rows})


@home.panel(Role.APPLICANT, order=35)
def _company_sessions_panel(user):
    coming = sessions.next_sessions_of_company(user)
    if not coming:
        return None
    return home.Panel(_l("Coaching sessions"), "cohorts/sessions/_panel_next.html", {"coming": coming})


# --- the calendar --------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/sessions", endpoint="sessions")
@signed_in
def sessions_calendar(cohort_id: int):
    viewer = sessions.cohort_viewer(actor(), cohort_id)
    form = CalendarFilterForm(formdata=request.args, themes=sessions.cohort_themes_of(cohort_id))
    filters = form.filters()
    data = sessions.calendar(actor(), cohort_id, filters)
    return render("sessions/calendar.html", cal=data, cohort=data.cohort, viewer=viewer, form=form,
                  filtered=bool(filters.as_args()), now=utcnow(), sessions=sessions, SessionKind=SessionKind)


@bp.route("/cohorts/<int:cohort_id>/calendar.ics")
@signed_in
def calendar_ics(cohort_id: int):
    filename, content = sessions.calendar_ics(actor(), cohort_id)
    return Response(content, content_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


# --- creating and changing a session ------------------------------------------------------------------------


def _session_form(viewer: sessions.Viewer, session=None, **kwargs) -> SessionForm:
    cohort = viewer.cohort
    members = sessions.members_of(cohort.id, None if viewer.staff else set(viewer.mentored) | (
        {m.id for m in session.invitees} if session is not None else set()))
    mentors = sessions.pool_mentors() if viewer.staff else []
    if viewer.staff and session is not None and session.mentor is not None and session.mentor not in mentors:
        mentors.append(session.mentor)
    return SessionForm(staff=viewer.staff, themes=sessions.cohort_themes_of(cohort.id), mentors=mentors,
                       members=members, **kwargs)


@bp.route("/cohorts/<int:cohort_id>/sessions/new", methods=["GET", "POST"])
@signed_in
def session_new(cohort_id: int):
    viewer = sessions.cohort_viewer(actor(), cohort_id)
    if not sessions.can_create(viewer):
        if viewer.staff or viewer.mentored:
            flash(_("This cohort is completed: no new sessions."), "warning")
            return redirect(url_for("cohorts.sessions", cohort_id=cohort_id))
        abort(404)
    form = _session_form(viewer)
    if request.method == "GET" and request.args.get("member", type=int) in viewer.mentored | (
            set() if not viewer.staff else {m.id for m in sessions.members_of(cohort_id)}):
        form.member_ids.data = [request.args.get("member", type=int)]
    if form.validate_on_submit():
        try:
            session = sessions.create_session(actor(), cohort_id, form.data_for_service())
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The session “%(title)s” is planned; the companies invited were told.", title=session.title),
                  "success")
            return redirect(url_for("cohorts.session", session_id=session.id))
    return render("sessions/form.html", form=form, cohort=viewer.cohort, viewer=viewer, session=None)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@signed_in
def session_edit(session_id: int):
    session, viewer = sessions.session_for_running(actor(), session_id)
    if session.cancelled_at is not None:
        flash(_("This session is cancelled: it can no longer change."), "warning")
        return redirect(url_for("cohorts.session", session_id=session_id))
    if request.method == "GET":
        local = to_local(session.starts_at, session.cohort.timezone or "Europe/Rome")
        form = _session_form(viewer, session, formdata=None, obj=session, day=local.date(),
                             start_time=local.time().replace(second=0, microsecond=0),
                             member_ids=[m.id for m in session.invitees])
    else:
        form = _session_form(viewer, session)
    if form.validate_on_submit():
        try:
            sessions.update_session(actor(), session_id, form.data_for_service())
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The session is saved; the companies invited were told of any change of time or place."),
                  "success")
            return redirect(url_for("cohorts.session", session_id=session_id))
    session, viewer = sessions.session_for_running(actor(), session_id)
    return render("sessions/form.html", form=form, cohort=session.cohort, viewer=viewer, session=session)


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@signed_in
def session_cancel(session_id: int):
    sessions.session_for_running(actor(), session_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("The session was not cancelled: %(problem)s",
                problem=" ".join(str(e) for errors in form.errors.values() for e in errors)), "danger")
        return redirect(url_for("cohorts.session", session_id=session_id))
    try:
        sessions.cancel_session(actor(), session_id, form.reason.data)
    except CohortError as error:
        refuse_action(error)
    else:
        db.session.commit()
        flash(_("The session is cancelled; the companies invited were told."), "success")
    return redirect(url_for("cohorts.session", session_id=session_id))


# --- a session ------------------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>")
@signed_in
def session(session_id: int):
    session, viewer = sessions.session_for_viewing(actor(), session_id)
    now = utcnow()
    runs = viewer.runs(session)
    attendance = sessions.attendance_of(session)
    if not runs:
        attendance = {k: v for k, v in attendance.items() if k in viewer.own}
    notes = {note.member_id: note for note in sessions.visible_notes(viewer, session)}
    # A company sees the other companies of a group session, never their attendance or notes.
    return render("sessions/detail.html", session=session, cohort=session.cohort, viewer=viewer, runs=runs,
                  attendance=attendance, notes=notes, started=sessions.started(session, now),
                  ends_at=sessions.ends_at(session), coach=sessions.coach_label(session),
                  cancel_form=CancelForm(formdata=None), SessionKind=SessionKind,
                  may_read=lambda member_id: sessions.may_read_note(viewer, session, member_id))


# --- attendance -------------------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@signed_in
def attendance(session_id: int):
    session, viewer = sessions.session_for_running(actor(), session_id)
    marks = sessions.attendance_of(session)
    form = AttendanceForm(formdata=None if request.method == "GET" else request.form,
                          present=[k for k, v in marks.items() if v])
    form.present.choices = [(m.id, m.organisation.legal_name) for m in
                            sorted(session.invitees, key=lambda m: m.organisation.legal_name.casefold())]
    if form.validate_on_submit():
        try:
            present, invited = sessions.record_attendance(actor(), session_id, form.present.data)
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("Attendance saved: %(present)d of %(invited)d companies attended.", present=present,
                    invited=invited), "success")
            return redirect(url_for("cohorts.session", session_id=session_id))
        session, viewer = sessions.session_for_running(actor(), session_id)
    return render("sessions/attendance.html", session=session, cohort=session.cohort, form=form,
                  open=session.cancelled_at is None and sessions.started(session), recorded=bool(marks))


# --- notes -------------------------------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>/notes/<int:member_id>", methods=["GET", "POST"])
@signed_in
def session_note(session_id: int, member_id: int):
    session, member, viewer, note = sessions.note_subject(actor(), session_id, member_id)
    writer = sessions.may_write_note(viewer, session)
    if request.method == "POST" and not writer:
        abort(404)
    form = NoteForm(formdata=None if request.method == "GET" else request.form,
                    body=note.body if note is not None else None)
    if writer and form.validate_on_submit():
        try:
            sessions.write_note(actor(), session_id, member_id, form.body.data)
        except CohortError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("The note for %(company)s is saved; the company was told.",
                    company=member.organisation.legal_name), "success")
            return redirect(url_for("cohorts.session", session_id=session_id))
        session, member, viewer, note = sessions.note_subject(actor(), session_id, member_id)
    open_ = session.cancelled_at is None and sessions.started(session)
    return render("sessions/note.html", session=session, cohort=session.cohort, member=member, note=note,
                  form=form, writer=writer, open=open_, author=_author(note))


def _author(note) -> str | None:
    if note is None or note.author_id is None:
        return None
    from opsapp.accounts.models import User

    user = db.session.get(User, note.author_id)
    return user.display_name if user else None
