"""Coaching sessions of a cohort: group coaching and one-to-one mentoring, their calendar (a page
and an iCalendar file), attendance, the mentor's notes, and the hours each company received.

Who is who: staff (STAFF, ADMIN) run every session; a mentor leads the sessions whose
`mentor_id` is their profile and creates one-to-one sessions with the companies of their
confirmed mentorships; a company's people see the sessions their company is invited to.
Anyone else gets 404, for the cohort's calendar as for a session.

- **Sessions**: staff create any session (group: a theme, a mentor of the pool or an outside
  coach, several or all companies; one-to-one: a mentor and one of their companies); the time
  is typed as the wall clock of the cohort's zone and stored in UTC. The invitees (and the
  mentor) are told, with the link to their calendar file. Staff or the session's mentor edit it
  or cancel it before it starts; the invitees are told.
- **Attendance** (staff or the session's mentor, once the session started): a mark per invitee.
- **Notes**: the mentor's note per company, private to staff, that company's people and the
  note's session mentor; never shown to other companies or other mentors.
- **Hours**: `hours_by_member(cohort_id)` and `sessions_attended(cohort_id)`, counting attended
  sessions that were not cancelled (the progress board and completion read these).
- **iCalendar**: one VEVENT per session with the stable UID `coaching-session-<id>@opsapp`; a
  cancelled session is sent as STATUS:CANCELLED so calendars remove it.

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import abort
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, User
from opsapp.cohorts.models import (
    Attendance,
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    MentorProfile,
    Mentorship,
    SessionKind,
    SessionNote,
    cohort_themes,
    session_invitees,
)
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit, word
from opsapp.core.models import AuditEntry
from opsapp.core.notifications import absolute_url, notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.extensions import db

HOUR = Decimal(60)
CENT = Decimal("0.01")
TITLE_MAX = 200
PLACE_MAX = 300
COACH_MAX = 200
NOTE_MAX = 5000
REASON_MAX = 1000
SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _locale() -> str:
    return str(get_locale() or "en")


def uid(session_id: int) -> str:
    return f"coaching-session-{session_id}@opsapp"


# --- who is who -------------------------------------------------------------------------------------


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def mentor_profile_of(user) -> MentorProfile | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))


def mentored_member_ids(user, cohort_id: int) -> set[int]:
    """The members of the cohort the user mentors (confirmed, not ended)."""
    if not user.is_authenticated:
        return set()
    return set(db.session.scalars(
        select(Mentorship.member_id)
        .join(MentorProfile, MentorProfile.id == Mentorship.mentor_id)
        .join(CohortMember, CohortMember.id == Mentorship.member_id)
        .where(MentorProfile.user_id == user.id, CohortMember.cohort_id == cohort_id,
               Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None))))


def own_member_ids(user, cohort_id: int) -> set[int]:
    """The members of the cohort whose organisation the user belongs to."""
    if not user.is_authenticated:
        return set()
    return set(db.session.scalars(
        select(CohortMember.id).join(Membership, Membership.organisation_id == CohortMember.organisation_id)
        .where(Membership.user_id == user.id, CohortMember.cohort_id == cohort_id)))


def people_of(organisation_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id).order_by(User.id)))


@dataclass
class Viewer:
    """What the user is to a cohort: staff, the mentor (profile and companies), a company."""

    user: object
    cohort: Cohort
    staff: bool
    mentor: MentorProfile | None
    mentored: set[int]
    own: set[int]

    @property
    def mentor_id(self) -> int | None:
        return self.mentor.id if self.mentor is not None else None

    def leads(self, session: CoachingSession) -> bool:
        return self.mentor is not None and session.mentor_id == self.mentor.id

    def runs(self, session: CoachingSession) -> bool:
        """Staff or the session's mentor: edit, cancel, attendance, notes."""
        return self.staff or self.leads(session)

    def invited(self, session: CoachingSession) -> set[int]:
        """The user's own companies invited to the session."""
        return self.own & {m.id for m in session.invitees}

    def sees(self, session: CoachingSession) -> bool:
        return self.staff or self.leads(session) or bool(self.invited(session))


def cohort_or_404(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def viewer_of(user, cohort: Cohort) -> Viewer:
    staff = is_staff(user)
    mentor = mentor_profile_of(user)
    return Viewer(user, cohort, staff, mentor, mentored_member_ids(user, cohort.id) if mentor else set(),
                  own_member_ids(user, cohort.id))


def _leads_any(mentor: MentorProfile | None, cohort_id: int) -> bool:
    if mentor is None:
        return False
    return bool(db.session.scalar(select(func.count(CoachingSession.id)).where(
        CoachingSession.cohort_id == cohort_id, CoachingSession.mentor_id == mentor.id)))


def cohort_viewer(user, cohort_id: int) -> Viewer:
    """The user as a reader of the cohort's sessions; 404 for someone with nothing there."""
    cohort = cohort_or_404(cohort_id)
    viewer = viewer_of(user, cohort)
    if not (viewer.staff or viewer.own or viewer.mentored or _leads_any(viewer.mentor, cohort.id)):
        abort(404)
    return viewer


def _session_loads():
    return (joinedload(CoachingSession.cohort), joinedload(CoachingSession.theme),
            joinedload(CoachingSession.mentor).joinedload(MentorProfile.user),
            selectinload(CoachingSession.invitees).joinedload(CohortMember.organisation))


def _session(session_id: int) -> CoachingSession:
    session = db.session.scalar(select(CoachingSession).where(CoachingSession.id == session_id)
                                .options(*_session_loads()))
    if session is None:
        abort(404)
    return session


def session_for_viewing(user, session_id: int) -> tuple[CoachingSession, Viewer]:
    session = _session(session_id)
    viewer = viewer_of(user, session.cohort)
    if not viewer.sees(session):
        abort(404)
    return session, viewer


def session_for_running(user, session_id: int) -> tuple[CoachingSession, Viewer]:
    """The session for staff or its mentor; anyone else 404 (a company sees it, but may not run it)."""
    session, viewer = session_for_viewing(user, session_id)
    if not viewer.runs(session):
        abort(404)
    return session, viewer


# --- reading: labels, times --------------------------------------------------------------------------


def ends_at(session: CoachingSession) -> datetime:
    return session.starts_at + timedelta(minutes=session.duration_minutes)


def started(session: CoachingSession, now: datetime | None = None) -> bool:
    return session.starts_at <= (now or utcnow())


def coach_label(session: CoachingSession) -> str:
    if session.mentor is not None:
        return session.mentor.user.display_name
    return session.coach_name or ""


def local_day(value: datetime, zone: str) -> date:
    return to_local(value, zone or "Europe/Rome").date()


def hours_text(minutes: int) -> Decimal:
    return (Decimal(minutes) / HOUR).quantize(CENT)


# --- the calendar ---------------------------------------------------------------------------------


@dataclass
class CalendarFilters:
    theme: int | None = None
    kind: str | None = None

    def as_args(self) -> dict:
        args = {}
        if self.theme:
            args["theme"] = self.theme
        if self.kind:
            args["kind"] = self.kind
        return args


@dataclass
class Week:
    monday: date
    sessions: list[CoachingSession]

    @property
    def label(self) -> str:
        return _("Week of %(day)s", day=format_date(self.monday, "EEEE d MMMM y", locale=_locale()))


@dataclass
class CohortCalendar:
    cohort: Cohort
    viewer: Viewer
    themes: list[CoachingTheme]
    upcoming: list[Week]
    past: list[Week]
    count: int
    filters: CalendarFilters
    notes_written: set[tuple[int, int]] = field(default_factory=set)

    @property
    def can_create(self) -> bool:
        return can_create(self.viewer)


def can_create(viewer: Viewer) -> bool:
    if viewer.cohort.status == CohortStatus.COMPLETED.value:
        return False
    return viewer.staff or bool(viewer.mentor is not None and viewer.mentored)


def cohort_themes_of(cohort_id: int) -> list[CoachingTheme]:
    return list(db.session.scalars(
        select(CoachingTheme).join(cohort_themes, cohort_themes.c.theme_id == CoachingTheme.id)
        .where(cohort_themes.c.cohort_id == cohort_id).order_by(CoachingTheme.code)))


def visible_sessions_query(viewer: Viewer):
    """The sessions of the cohort the viewer sees: all (staff), those they lead, those of their companies."""
    query = select(CoachingSession).where(CoachingSession.cohort_id == viewer.cohort.id)
    if viewer.staff:
        return query
    conditions = []
    if viewer.mentor is not None:
        conditions.append(CoachingSession.mentor_id == viewer.mentor.id)
    if viewer.own:
        conditions.append(exists().where(session_invitees.c.session_id == CoachingSession.id,
                                         session_invitees.c.member_id.in_(viewer.own)))
    if not conditions:
        return query.where(False)
    return query.where(or_(*conditions))


def _by_week(sessions: list[CoachingSession], zone: str) -> list[Week]:
    weeks: dict[date, list[CoachingSession]] = {}
    for session in sessions:
        day = local_day(session.starts_at, zone)
        monday = day - timedelta(days=day.weekday())
        weeks.setdefault(monday, []).append(session)
    return [Week(monday, items) for monday, items in weeks.items()]


def calendar(user, cohort_id: int, filters: CalendarFilters, now: datetime | None = None) -> CohortCalendar:
    now = now or utcnow()
    viewer = cohort_viewer(user, cohort_id)
    cohort = viewer.cohort
    query = visible_sessions_query(viewer).options(*_session_loads())
    if filters.theme:
        query = query.where(CoachingSession.theme_id == filters.theme)
    if filters.kind:
        query = query.where(CoachingSession.kind == filters.kind)
    sessions = list(db.session.scalars(query.order_by(CoachingSession.starts_at, CoachingSession.id)).unique())
    upcoming = [s for s in sessions if ends_at(s) > now]
    past = [s for s in reversed(sessions) if ends_at(s) <= now]
    zone = cohort.timezone or "Europe/Rome"
    return CohortCalendar(cohort, viewer, cohort_themes_of(cohort.id), _by_week(upcoming, zone),
                          _by_week(past, zone), len(sessions), filters)


# --- creating and changing sessions ----------------------------------------------------------------------


@dataclass
class SessionData:
    """A session as typed: the day and time are the wall clock of the cohort's zone."""

    kind: str = SessionKind.GROUP.value
    title: str = ""
    theme_id: int | None = None
    day: date | None = None
    start_time: time | None = None
    duration_minutes: int | None = None
    place: str | None = None
    online_url: str | None = None
    mentor_id: int | None = None
    coach_name: str | None = None
    member_ids: list[int] = field(default_factory=list)
    all_members: bool = False


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def pool_mentors() -> list[MentorProfile]:
    """The active mentors of the pool, by name."""
    return list(db.session.scalars(
        select(MentorProfile).join(User, User.id == MentorProfile.user_id)
        .where(MentorProfile.active.is_(True)).options(joinedload(MentorProfile.user))
        .order_by(User.full_name, MentorProfile.id)).unique())


def members_of(cohort_id: int, ids: set[int] | None = None) -> list[CohortMember]:
    from opsapp.accounts.models import Organisation

    query = (select(CohortMember).join(Organisation, Organisation.id == CohortMember.organisation_id)
             .where(CohortMember.cohort_id == cohort_id).options(joinedload(CohortMember.organisation))
             .order_by(Organisation.legal_name, CohortMember.id))
    if ids is not None:
        if not ids:
            return []
        query = query.where(CohortMember.id.in_(ids))
    return list(db.session.scalars(query).unique())


def _confirmed_pair(mentor_id: int, member_id: int) -> bool:
    return bool(db.session.scalar(select(func.count(Mentorship.id)).where(
        Mentorship.mentor_id == mentor_id, Mentorship.member_id == member_id,
        Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None))))


def _last_day(cohort: Cohort) -> date:
    return cohort.ends_on + timedelta(days=366 if cohort.incubation_months else 0)


def _checked(viewer: Viewer, data: SessionData, session: CoachingSession | None = None) -> dict:
    """The values of a session after every rule; raises CohortError on the first problem."""
    cohort = viewer.cohort
    if cohort.status == CohortStatus.COMPLETED.value:
        raise CohortError(_("This cohort is completed: its sessions can no longer change."))
    staff = viewer.staff
    try:
        kind = SessionKind(data.kind or "")
    except ValueError:
        raise CohortError(_("Choose group coaching or one-to-one mentoring."), field="kind") from None
    if not staff:
        # A mentor keeps the kind and the coach of a session they lead; creates one-to-one sessions only.
        kind = SessionKind(session.kind) if session is not None else SessionKind.ONE_TO_ONE
    title = _clean(data.title)
    if not title:
        raise CohortError(_("Give the session a title."), field="title")
    if len(title) > TITLE_MAX:
        raise CohortError(_("Write the title in at most %(n)d characters.", n=TITLE_MAX), field="title")
    theme_id = data.theme_id or None
    if theme_id is not None and theme_id not in {t.id for t in cohort_themes_of(cohort.id)}:
        raise CohortError(_("Choose one of the cohort's themes."), field="theme_id")
    if data.day is None:
        raise CohortError(_("Enter the day of the session."), field="day")
    if data.start_time is None:
        raise CohortError(_("Enter the time the session starts."), field="start_time")
    if data.day < cohort.starts_on or data.day > _last_day(cohort):
        raise CohortError(_("Choose a day between %(start)s and %(end)s, while the cohort runs.",
                            start=format_date(cohort.starts_on, "long", locale=_locale()),
                            end=format_date(_last_day(cohort), "long", locale=_locale())), field="day")
    starts_at = local_to_utc(datetime.combine(data.day, data.start_time), cohort.timezone or "Europe/Rome")
    duration = data.duration_minutes
    if duration is None or not 15 <= duration <= 600:
        raise CohortError(_("Give the duration in minutes, from 15 to 600."), field="duration_minutes")
    place, online_url = _clean(data.place), _clean(data.online_url)
    if place and len(place) > PLACE_MAX:
        raise CohortError(_("Write the place in at most %(n)d characters.", n=PLACE_MAX), field="place")
    if online_url and (len(online_url) > PLACE_MAX or not online_url.startswith(("https://", "http://"))):
        raise CohortError(_("Enter the link as a web address starting with https://."), field="online_url")
    if not place and not online_url:
        raise CohortError(_("Give the place, the online link, or both."), field="place")

    values = {"kind": kind.value, "title": title, "theme_id": theme_id, "starts_at": starts_at,
              "duration_minutes": duration, "place": place, "online_url": online_url}
    if staff:
        mentor_id, coach_name = data.mentor_id or None, _clean(data.coach_name)
        if coach_name and len(coach_name) > COACH_MAX:
            raise CohortError(_("Write the coach's name in at most %(n)d characters.", n=COACH_MAX),
                              field="coach_name")
        if mentor_id is not None:
            mentor = db.session.get(MentorProfile, mentor_id)
            if mentor is None or (not mentor.active and (session is None or session.mentor_id != mentor_id)):
                raise CohortError(_("Choose a mentor of the pool."), field="mentor_id")
        if kind is SessionKind.GROUP:
            if mentor_id and coach_name:
                raise CohortError(_("Choose a mentor of the pool or type the name of an outside coach, not both."),
                                  field="coach_name")
            if not mentor_id and not coach_name:
                raise CohortError(_("Choose the mentor who leads the session, or type the name of an outside "
                                    "coach."), field="mentor_id")
        else:
            if not mentor_id:
                raise CohortError(_("Choose the mentor of a one-to-one session."), field="mentor_id")
            coach_name = None
        values.update(mentor_id=mentor_id, coach_name=coach_name)
    elif session is None:
        values.update(mentor_id=viewer.mentor_id, coach_name=None)

    # The companies invited.
    if staff or session is None or kind is SessionKind.ONE_TO_ONE:
        allowed = {m.id for m in members_of(cohort.id)} if staff else set(viewer.mentored)
        if session is not None and not staff:
            # A mentor editing a one-to-one session keeps its company or picks another of their own.
            allowed |= {m.id for m in session.invitees} & viewer.mentored
        if staff and data.all_members and kind is SessionKind.GROUP:
            chosen = set(allowed)
        else:
            chosen = {int(m) for m in data.member_ids or []}
        if not chosen:
            raise CohortError(_("Choose the companies invited."), field="member_ids")
        if not chosen <= allowed:
            raise CohortError(_("Choose companies of this cohort.") if staff else
                              _("Choose companies of this cohort that you mentor."), field="member_ids")
        if kind is SessionKind.ONE_TO_ONE:
            if len(chosen) != 1:
                raise CohortError(_("A one-to-one session is with exactly one company."), field="member_ids")
            mentor_id = values.get("mentor_id", session.mentor_id if session is not None else None)
            if not _confirmed_pair(mentor_id, next(iter(chosen))):
                raise CohortError(_("This mentor is not the confirmed mentor of this company: choose one of the "
                                    "mentor's companies."), field="member_ids")
        values["member_ids"] = chosen
    if session is not None and "member_ids" in values:
        kept = _recorded_members(session)
        dropped = kept - values["member_ids"]
        if dropped:
            raise CohortError(_("Attendance or notes are already recorded for a company you removed: keep it "
                                "invited."), field="member_ids")
    return values


def _recorded_members(session: CoachingSession) -> set[int]:
    attended = set(db.session.scalars(select(Attendance.member_id).where(Attendance.session_id == session.id)))
    noted = set(db.session.scalars(select(SessionNote.member_id).where(SessionNote.session_id == session.id)))
    return attended | noted


def create_session(actor, cohort_id: int, data: SessionData) -> CoachingSession:
    viewer = cohort_viewer(actor, cohort_id)
    if not can_create(viewer):
        if viewer.cohort.status == CohortStatus.COMPLETED.value:
            raise CohortError(_("This cohort is completed: no new sessions."))
        abort(404)
    values = _checked(viewer, data)
    member_ids = values.pop("member_ids")
    session = CoachingSession(cohort_id=viewer.cohort.id, created_by_id=getattr(actor, "id", None), **values)
    session.invitees = members_of(viewer.cohort.id, member_ids)
    db.session.add(session)
    db.session.flush()
    audit.record("coaching_sessions.created", session, actor=actor, cohort_id=viewer.cohort.id, kind=session.kind,
                 title=session.title, starts_at=session.starts_at.isoformat(), mentor_id=session.mentor_id,
                 coach_name=session.coach_name, invitees=sorted(member_ids))
    session = _session(session.id)
    _tell_invited(session, session.invitees, actor)
    if session.mentor is not None and session.mentor.user_id != getattr(actor, "id", None):
        _tell_people([session.mentor.user], session, "session_invited", _l("You lead a session: %(title)s",
                                                                           title=session.title), lead=True)
    return session


def update_session(actor, session_id: int, data: SessionData, now: datetime | None = None) -> CoachingSession:
    now = now or utcnow()
    session, viewer = session_for_running(actor, session_id)
    if session.cancelled_at is not None:
        raise CohortError(_("This session is cancelled: it can no longer change."))
    values = _checked(viewer, data, session)
    member_ids = values.pop("member_ids", None)
    before = {key: getattr(session, key) for key in values}
    before_members = {m.id for m in session.invitees}
    changes = {key: [_plain(before[key]), _plain(value)] for key, value in values.items() if before[key] != value}
    for key, value in values.items():
        setattr(session, key, value)
    added, removed = set(), set()
    if member_ids is not None and member_ids != before_members:
        added, removed = member_ids - before_members, before_members - member_ids
        session.invitees = members_of(session.cohort_id, member_ids)
        changes["invitees"] = [sorted(before_members), sorted(member_ids)]
    if not changes:
        return session
    db.session.flush()
    audit.record("coaching_sessions.changed", session, actor=actor, changes=changes)
    old_mentor = before.get("mentor_id", session.mentor_id)
    session = _session(session.id)
    moved = any(key in changes for key in ("starts_at", "duration_minutes", "place", "online_url", "title"))
    staying = [m for m in session.invitees if m.id not in added]
    if moved and staying:
        _tell_invited(session, staying, actor, template="session_changed",
                      subject=_l("Session changed: %(title)s", title=session.title))
    if added:
        _tell_invited(session, [m for m in session.invitees if m.id in added], actor)
    for member in members_of(session.cohort_id, removed):
        _tell_people(people_of(member.organisation_id), session, "session_cancelled",
                     _l("You are no longer invited: %(title)s", title=session.title), uninvited=True)
    if session.mentor is not None and session.mentor.user_id != getattr(actor, "id", None) and (
            moved or old_mentor != session.mentor_id):
        _tell_people([session.mentor.user], session, "session_invited" if old_mentor != session.mentor_id
                     else "session_changed", _l("You lead a session: %(title)s", title=session.title), lead=True)
    return session


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def cancel_session(actor, session_id: int, reason: str | None, now: datetime | None = None) -> CoachingSession:
    now = now or utcnow()
    session, _viewer = session_for_running(actor, session_id)
    if session.cancelled_at is not None:
        raise CohortError(_("This session is already cancelled."))
    if started(session, now):
        raise CohortError(_("This session has already started: it cannot be cancelled. Record the attendance "
                            "instead."))
    reason = _clean(reason)
    if reason and len(reason) > REASON_MAX:
        raise CohortError(_("Write the reason in at most %(n)d characters.", n=REASON_MAX), field="reason")
    session.cancelled_at = now
    db.session.flush()
    audit.record("coaching_sessions.cancelled", session, actor=actor, reason=reason)
    _tell_invited(session, session.invitees, actor, template="session_cancelled",
                  subject=_l("Session cancelled: %(title)s", title=session.title), reason=reason)
    if session.mentor is not None and session.mentor.user_id != getattr(actor, "id", None):
        _tell_people([session.mentor.user], session, "session_cancelled",
                     _l("Session cancelled: %(title)s", title=session.title), reason=reason, lead=True)
    return session


def _tell_invited(session: CoachingSession, members, actor, template: str = "session_invited",
                  subject=None, **context) -> int:
    subject = subject or _l("Coaching session: %(title)s", title=session.title)
    told = 0
    for member in members:
        people = [p for p in people_of(member.organisation_id) if p.id != getattr(actor, "id", None)]
        told += _tell_people(people, session, template, subject, company=member.organisation.legal_name, **context)
    return told


def _tell_people(people, session: CoachingSession, template: str, subject, **context) -> int:
    link = path_for("cohorts.session", session_id=session.id)
    ics = path_for("cohorts.calendar_ics", cohort_id=session.cohort_id)
    told = 0
    for person in people:
        if notify(person, subject, template, link=link, session=session, cohort=session.cohort,
                  coach=coach_label(session), ics_link=absolute_url(ics) if ics else None,
                  ends_at=ends_at(session), **context) is not None:
            told += 1
    return told


# --- attendance -------------------------------------------------------------------------------------


def attendance_of(session: CoachingSession) -> dict[int, bool]:
    return {row.member_id: row.attended for row in db.session.scalars(
        select(Attendance).where(Attendance.session_id == session.id))}


def record_attendance(actor, session_id: int, present_ids, now: datetime | None = None) -> tuple[int, int]:
    """Mark each invitee present or absent; returns (present, invited)."""
    now = now or utcnow()
    session, _viewer = session_for_running(actor, session_id)
    if session.cancelled_at is not None:
        raise CohortError(_("This session is cancelled: there is no attendance to take."))
    if not started(session, now):
        raise CohortError(_("Attendance is taken once the session has started."))
    invited = {m.id for m in session.invitees}
    try:
        present = {int(x) for x in present_ids or []}
    except (TypeError, ValueError):
        raise CohortError(_("Tick the companies that attended."), field="present") from None
    if not present <= invited:
        raise CohortError(_("Tick only companies invited to the session."), field="present")
    existing = {row.member_id: row for row in db.session.scalars(
        select(Attendance).where(Attendance.session_id == session.id))}
    changed = {}
    for member_id in sorted(invited):
        attended = member_id in present
        row = existing.get(member_id)
        if row is None:
            db.session.add(Attendance(session_id=session.id, member_id=member_id, attended=attended,
                                      recorded_at=now, recorded_by_id=getattr(actor, "id", None)))
            changed[member_id] = attended
        elif row.attended != attended:
            row.attended, row.recorded_at, row.recorded_by_id = attended, now, getattr(actor, "id", None)
            changed[member_id] = attended
    db.session.flush()
    if changed:
        audit.record("coaching_sessions.attendance", session, actor=actor,
                     present=sorted(present), absent=sorted(invited - present),
                     changed={str(k): v for k, v in changed.items()})
    return len(present), len(invited)


# --- notes ----------------------------------------------------------------------------------------------


def may_read_note(viewer: Viewer, session: CoachingSession, member_id: int) -> bool:
    """Staff, the session's mentor, and that company's people; never another company or mentor."""
    return viewer.staff or viewer.leads(session) or member_id in viewer.own


def may_write_note(viewer: Viewer, session: CoachingSession) -> bool:
    return viewer.staff or viewer.leads(session)


def note_subject(user, session_id: int, member_id: int) -> tuple[CoachingSession, CohortMember, Viewer,
                                                                  SessionNote | None]:
    session = _session(session_id)
    viewer = viewer_of(user, session.cohort)
    member = next((m for m in session.invitees if m.id == member_id), None)
    if member is None or not may_read_note(viewer, session, member_id):
        abort(404)
    note = db.session.scalar(select(SessionNote).where(SessionNote.session_id == session.id,
                                                       SessionNote.member_id == member_id))
    return session, member, viewer, note


def visible_notes(viewer: Viewer, session: CoachingSession) -> list[SessionNote]:
    """The notes of a session the viewer may read."""
    notes = list(db.session.scalars(select(SessionNote).where(SessionNote.session_id == session.id)
                                    .order_by(SessionNote.member_id)))
    return [n for n in notes if may_read_note(viewer, session, n.member_id)]


def write_note(actor, session_id: int, member_id: int, body: str | None,
               now: datetime | None = None) -> SessionNote:
    now = now or utcnow()
    session, member, viewer, note = note_subject(actor, session_id, member_id)
    if not may_write_note(viewer, session):
        abort(404)
    if session.cancelled_at is not None:
        raise CohortError(_("This session is cancelled: there is nothing to note."))
    if not started(session, now):
        raise CohortError(_("Notes are written once the session has started."))
    body = (body or "").strip()
    if not body:
        raise CohortError(_("Write the note."), field="body")
    if len(body) > NOTE_MAX:
        raise CohortError(_("Write the note in at most %(n)d characters.", n=NOTE_MAX), field="body")
    new = note is None
    if new:
        note = SessionNote(session_id=session.id, member_id=member.id, body=body, written_at=now,
                           author_id=getattr(actor, "id", None))
        db.session.add(note)
    else:
        note.body, note.written_at, note.author_id = body, now, getattr(actor, "id", None)
    db.session.flush()
    # The text stays out of the audit log: it is private to the company.
    audit.record("coaching_session_notes.written" if new else "coaching_session_notes.changed", note,
                 actor=actor, session_id=session.id, member_id=member.id, length=len(body))
    link = path_for("cohorts.session_note", session_id=session.id, member_id=member.id)
    for person in people_of(member.organisation_id):
        notify(person, _l("A note on the session %(title)s", title=session.title), "generic", link=link,
               message=_l("%(author)s wrote a note for %(company)s on the session “%(title)s”. Only your "
                          "company and the programme staff can read it.",
                          author=getattr(actor, "display_name", ""), company=member.organisation.legal_name,
                          title=session.title))
    return note


# --- hours (the progress board and completion read these) ---------------------------------------------------


def hours_by_member(cohort_id: int) -> dict[int, dict[int | None, Decimal]]:
    """Hours attended per member and theme: sessions not cancelled, attendance marked as attended."""
    rows = db.session.execute(
        select(Attendance.member_id, CoachingSession.theme_id, func.sum(CoachingSession.duration_minutes))
        .join(CoachingSession, CoachingSession.id == Attendance.session_id)
        .where(CoachingSession.cohort_id == cohort_id, CoachingSession.cancelled_at.is_(None),
               Attendance.attended.is_(True))
        .group_by(Attendance.member_id, CoachingSession.theme_id))
    hours: dict[int, dict[int | None, Decimal]] = defaultdict(dict)
    for member_id, theme_id, minutes in rows:
        hours[member_id][theme_id] = hours_text(int(minutes or 0))
    return dict(hours)


def sessions_attended(cohort_id: int) -> dict[int, int]:
    """Sessions attended per member (not cancelled)."""
    rows = db.session.execute(
        select(Attendance.member_id, func.count(Attendance.session_id))
        .join(CoachingSession, CoachingSession.id == Attendance.session_id)
        .where(CoachingSession.cohort_id == cohort_id, CoachingSession.cancelled_at.is_(None),
               Attendance.attended.is_(True))
        .group_by(Attendance.member_id))
    return {member_id: int(count) for member_id, count in rows}


@dataclass
class MemberHours:
    by_theme: list[tuple[str, Decimal]]
    total: Decimal
    sessions: int


def member_hours(member: CohortMember, locale: str = "en") -> MemberHours:
    """One company's hours per theme (named), in all, and its sessions attended."""
    hours = hours_by_member(member.cohort_id).get(member.id, {})
    themes = {t.id: t for t in db.session.scalars(select(CoachingTheme).where(
        CoachingTheme.id.in_([k for k in hours if k is not None])))} if hours else {}
    named = sorted(((themes[k].name(locale) if k in themes else _("No theme"), v) for k, v in hours.items()),
                   key=lambda pair: pair[0].casefold())
    total = sum(hours.values(), Decimal(0)).quantize(CENT)
    return MemberHours(named, total, sessions_attended(member.cohort_id).get(member.id, 0))


def sessions_of_member(member_id: int) -> list[CoachingSession]:
    """The sessions a company is invited to, soonest first."""
    return list(db.session.scalars(
        select(CoachingSession).join(session_invitees, session_invitees.c.session_id == CoachingSession.id)
        .where(session_invitees.c.member_id == member_id)
        .options(joinedload(CoachingSession.theme), joinedload(CoachingSession.mentor).joinedload(MentorProfile.user))
        .order_by(CoachingSession.starts_at, CoachingSession.id)).unique())


# --- iCalendar --------------------------------------------------------------------------------------


def _last_changes(session_ids: list[int]) -> dict[int, datetime]:
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(AuditEntry.object_id, func.max(AuditEntry.created_at))
        .where(AuditEntry.object_type == CoachingSession.__tablename__,
               AuditEntry.object_id.in_([str(i) for i in session_ids]))
        .group_by(AuditEntry.object_id))
    changes = {}
    for object_id, moment in rows:
        if moment is not None:
            changes[int(object_id)] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return changes


def _sequence(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, int((moment - SEQUENCE_EPOCH).total_seconds()))


def _vevent(session: CoachingSession, zone: ZoneInfo, changed: datetime | None, now: datetime) -> CalendarEvent:
    vevent = CalendarEvent()
    vevent.add("uid", uid(session.id))
    vevent.add("dtstamp", now)
    vevent.add("dtstart", to_local(session.starts_at, zone))
    vevent.add("dtend", to_local(ends_at(session), zone))
    vevent.add("summary", session.title)
    location = ", ".join(x for x in (session.place, session.online_url) if x)
    if location:
        vevent.add("location", location)
    lines = [SessionKind(session.kind).label, session.cohort.name]
    if session.theme is not None:
        lines.append(session.theme.name(_locale()))
    if coach_label(session):
        lines.append(_("Coach: %(name)s", name=coach_label(session)))
    if session.online_url:
        lines.append(session.online_url)
    vevent.add("description", "\n".join(word.clean(str(line)) for line in lines if line))
    if session.online_url:
        vevent.add("url", session.online_url)
    vevent.add("status", "CANCELLED" if session.cancelled_at is not None else "CONFIRMED")
    vevent.add("sequence", _sequence(changed))
    if changed is not None:
        vevent.add("last-modified", changed.astimezone(UTC))
    vevent.add("transp", "OPAQUE")
    return vevent


def calendar_ics(user, cohort_id: int, now: datetime | None = None) -> tuple[str, bytes]:
    """The user's own sessions of the cohort (staff: all) as an iCalendar file (filename, bytes)."""
    now = now or utcnow()
    viewer = cohort_viewer(user, cohort_id)
    cohort = viewer.cohort
    zone_name = cohort.timezone or "Europe/Rome"
    zone = ZoneInfo(zone_name)
    sessions = list(db.session.scalars(
        visible_sessions_query(viewer).options(*_session_loads())
        .order_by(CoachingSession.starts_at, CoachingSession.id)).unique())
    changes = _last_changes([s.id for s in sessions])
    ical = Calendar()
    ical.add("prodid", "-//opsapp//Accelerator coaching sessions//EN")
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    ical.add("x-wr-calname", _("%(cohort)s · coaching sessions", cohort=cohort.name))
    ical.add("x-wr-timezone", zone_name)
    for session in sessions:
        ical.add_component(_vevent(session, zone, changes.get(session.id), now))
    start = cohort.starts_on
    ical.add_missing_timezones(first_date=start - timedelta(days=366), last_date=_last_day(cohort) + timedelta(days=366))
    return f"coaching-sessions-{word.safe_name(cohort.name).lower()}.ics", ical.to_ical()


# --- home panels ------------------------------------------------------------------------------------


def next_sessions_led(user, now: datetime | None = None, limit: int = 5) -> list[CoachingSession]:
    """The mentor's next sessions (those they lead, not over yet), soonest first."""
    now = now or utcnow()
    mentor = mentor_profile_of(user)
    if mentor is None:
        return []
    rows = db.session.scalars(
        select(CoachingSession).where(CoachingSession.mentor_id == mentor.id, CoachingSession.cancelled_at.is_(None),
                                      CoachingSession.starts_at >= now - timedelta(minutes=600))
        .options(joinedload(CoachingSession.cohort), selectinload(CoachingSession.invitees)
                 .joinedload(CohortMember.organisation))
        .order_by(CoachingSession.starts_at, CoachingSession.id).limit(limit + 20)).unique()
    return [s for s in rows if ends_at(s) > now][:limit]


@dataclass
class NoteToWrite:
    session: CoachingSession
    member: CohortMember


def notes_to_write(user, now: datetime | None = None, limit: int = 10) -> list[NoteToWrite]:
    """Past sessions the mentor led without a note for a company that attended."""
    now = now or utcnow()
    mentor = mentor_profile_of(user)
    if mentor is None:
        return []
    noted = exists().where(SessionNote.session_id == Attendance.session_id,
                           SessionNote.member_id == Attendance.member_id)
    rows = db.session.execute(
        select(CoachingSession, CohortMember)
        .join(Attendance, Attendance.session_id == CoachingSession.id)
        .join(CohortMember, CohortMember.id == Attendance.member_id)
        .where(CoachingSession.mentor_id == mentor.id, CoachingSession.cancelled_at.is_(None),
               CoachingSession.starts_at <= now, Attendance.attended.is_(True), ~noted)
        .options(joinedload(CoachingSession.cohort), joinedload(CohortMember.organisation))
        .order_by(CoachingSession.starts_at.desc(), CoachingSession.id, CohortMember.id).limit(limit)).unique()
    return [NoteToWrite(session, member) for session, member in rows]


def next_sessions_of_company(user, now: datetime | None = None, limit: int = 5) -> list[CoachingSession]:
    """The next sessions of the user's companies (not cancelled), soonest first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(CoachingSession)
        .join(session_invitees, session_invitees.c.session_id == CoachingSession.id)
        .join(CohortMember, CohortMember.id == session_invitees.c.member_id)
        .join(Membership, Membership.organisation_id == CohortMember.organisation_id)
        .where(Membership.user_id == user.id, CoachingSession.cancelled_at.is_(None),
               CoachingSession.starts_at >= now - timedelta(minutes=600))
        .options(joinedload(CoachingSession.cohort), joinedload(CoachingSession.mentor).joinedload(MentorProfile.user))
        .order_by(CoachingSession.starts_at, CoachingSession.id).limit(limit + 20)).unique()
    return [s for s in rows if ends_at(s) > now][:limit]
