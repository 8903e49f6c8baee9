"""A company's progress in its cohort: milestones (agreed, reported, confirmed), the hours and
sessions it attended, its notes, introductions and obligations, on one page; and the weekly
reminder of overdue milestones.

- **Milestones** are agreed per company (title, optional theme, due date, the evidence expected)
  by staff or the company's mentor (confirmed mentorship, not ended). The company reports one
  achieved with its evidence; the mentor or staff confirm it or send it back to planned with a
  note; a planned one may be marked missed (and reopened). Every change goes through
  `states.transition` (audited) and the other side is told.
- **Overdue**: past its due date (the cohort's local day) and still planned or reported.
  `remind_overdue_milestones(now)` reminds the company's people and its mentor once a week per
  overdue milestone of a running cohort (`last_reminded_on`), so a second run the same day
  sends nothing.
- **Who sees the page**: staff, the company's people, its mentor; anyone else 404.

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import abort
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Membership, User
from opsapp.cohorts import sessions, states
from opsapp.cohorts.models import (
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    MentorProfile,
    Mentorship,
    Milestone,
    MilestoneStatus,
    SessionNote,
)
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit
from opsapp.core.models import AuditEntry
from opsapp.core.notifications import notify
from opsapp.core.timeutil import DEFAULT_TZ, to_local, utcnow
from opsapp.extensions import db

TITLE_MAX = 200
EVIDENCE_MAX = 5000
NOTE_MAX = 2000
OPEN = (MilestoneStatus.PLANNED.value, MilestoneStatus.REPORTED.value)
REMIND_EVERY = timedelta(days=7)


def _locale() -> str:
    return str(get_locale() or "en")


def local_today(cohort: Cohort | None, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), (cohort.timezone if cohort is not None else None) or DEFAULT_TZ).date()


def is_overdue(milestone: Milestone, today: date) -> bool:
    return milestone.status in OPEN and milestone.due_on < today


# --- who sees a company's progress ---------------------------------------------------------------------


@dataclass
class MemberViewer:
    member: CohortMember
    staff: bool
    own: bool          # one of the company's people
    mentor: MentorProfile | None  # the user's profile when they are this company's confirmed mentor

    @property
    def mentors_it(self) -> bool:
        return self.mentor is not None

    @property
    def agrees(self) -> bool:
        """Staff or the company's mentor: agree, confirm, send back milestones."""
        return self.staff or self.mentors_it


def _member(cohort_id: int, member_id: int) -> CohortMember:
    member = db.session.scalar(
        select(CohortMember).where(CohortMember.id == member_id, CohortMember.cohort_id == cohort_id)
        .options(joinedload(CohortMember.organisation), joinedload(CohortMember.cohort)))
    if member is None:
        abort(404)
    return member


def mentor_of(user, member_id: int) -> MentorProfile | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        select(MentorProfile).join(Mentorship, Mentorship.mentor_id == MentorProfile.id)
        .where(MentorProfile.user_id == user.id, Mentorship.member_id == member_id,
               Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None)))


def member_viewer(user, cohort_id: int, member_id: int) -> MemberViewer:
    member = _member(cohort_id, member_id)
    staff = sessions.is_staff(user)
    own = user.is_authenticated and bool(db.session.scalar(select(func.count(Membership.id)).where(
        Membership.user_id == user.id, Membership.organisation_id == member.organisation_id)))
    viewer = MemberViewer(member, staff, own, mentor_of(user, member.id))
    if not (viewer.staff or viewer.own or viewer.mentors_it):
        abort(404)
    return viewer


def mentors_of_member(member_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(MentorProfile, MentorProfile.user_id == User.id)
        .join(Mentorship, Mentorship.mentor_id == MentorProfile.id)
        .where(Mentorship.member_id == member_id, Mentorship.confirmed_at.is_not(None),
               Mentorship.ended_at.is_(None)).order_by(User.id)))


# --- the page -----------------------------------------------------------------------------------------


@dataclass
class MilestoneRow:
    milestone: Milestone
    overdue: bool
    history: list[tuple[AuditEntry, str | None]] = field(default_factory=list)

    @property
    def status(self) -> MilestoneStatus:
        return MilestoneStatus(self.milestone.status)

    @property
    def last_note(self) -> str | None:
        for entry, _name in self.history:
            note = (entry.detail or {}).get("note")
            if note:
                return note
        return None


@dataclass
class Progress:
    viewer: MemberViewer
    cohort: Cohort
    member: CohortMember
    today: date
    milestones: list[MilestoneRow]
    hours: sessions.MemberHours
    upcoming: list[CoachingSession]
    notes: list[SessionNote]
    mentors: list[User]
    themes: list[CoachingTheme]

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.milestones if row.overdue)


def milestones_of(member_id: int) -> list[Milestone]:
    return list(db.session.scalars(select(Milestone).where(Milestone.member_id == member_id)
                                   .options(joinedload(Milestone.theme))
                                   .order_by(Milestone.due_on, Milestone.id)))


def _histories(milestone_ids: list[int]) -> dict[int, list[tuple[AuditEntry, str | None]]]:
    if not milestone_ids:
        return {}
    rows = db.session.execute(
        select(AuditEntry, User.full_name).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.object_type == Milestone.__tablename__,
               AuditEntry.object_id.in_([str(i) for i in milestone_ids]))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))
    found: dict[int, list] = {}
    for entry, name in rows:
        found.setdefault(int(entry.object_id), []).append((entry, name))
    return found


def notes_for(viewer: MemberViewer) -> list[SessionNote]:
    """The company's notes the viewer may read: staff and the company all; its mentor those of
    the sessions they led."""
    query = (select(SessionNote).join(CoachingSession, CoachingSession.id == SessionNote.session_id)
             .where(SessionNote.member_id == viewer.member.id)
             .options(joinedload(SessionNote.session))
             .order_by(CoachingSession.starts_at.desc(), SessionNote.id))
    if not (viewer.staff or viewer.own):
        own_profile = viewer.mentor
        query = query.where(CoachingSession.mentor_id == own_profile.id)
    return list(db.session.scalars(query).unique())


def progress(user, cohort_id: int, member_id: int, now: datetime | None = None) -> Progress:
    now = now or utcnow()
    viewer = member_viewer(user, cohort_id, member_id)
    member, cohort = viewer.member, viewer.member.cohort
    today = local_today(cohort, now)
    milestones = milestones_of(member.id)
    histories = _histories([m.id for m in milestones])
    rows = [MilestoneRow(m, is_overdue(m, today), histories.get(m.id, [])) for m in milestones]
    upcoming = [s for s in sessions.sessions_of_member(member.id)
                if s.cancelled_at is None and sessions.ends_at(s) > now][:5]
    return Progress(viewer, cohort, member, today, rows, sessions.member_hours(member, _locale()), upcoming,
                    notes_for(viewer), mentors_of_member(member.id), sessions.cohort_themes_of(cohort.id))


# --- agreeing and updating milestones ---------------------------------------------------------------------


@dataclass
class MilestoneData:
    title: str = ""
    theme_id: int | None = None
    due_on: date | None = None
    evidence: str | None = None


def create_milestone(actor, cohort_id: int, member_id: int, data: MilestoneData) -> Milestone:
    viewer = member_viewer(actor, cohort_id, member_id)
    if not viewer.agrees:
        abort(404)
    cohort = viewer.member.cohort
    if cohort.status == CohortStatus.COMPLETED.value:
        raise CohortError(_("This cohort is completed: no new milestones."))
    title = (data.title or "").strip()
    if not title:
        raise CohortError(_("Give the milestone a title."), field="title")
    if len(title) > TITLE_MAX:
        raise CohortError(_("Write the title in at most %(n)d characters.", n=TITLE_MAX), field="title")
    if data.theme_id and data.theme_id not in {t.id for t in sessions.cohort_themes_of(cohort.id)}:
        raise CohortError(_("Choose one of the cohort's themes."), field="theme_id")
    if data.due_on is None:
        raise CohortError(_("Enter the due date."), field="due_on")
    if data.due_on < cohort.starts_on:
        raise CohortError(_("Choose a due date after the cohort starts."), field="due_on")
    evidence = (data.evidence or "").strip() or None
    if evidence and len(evidence) > EVIDENCE_MAX:
        raise CohortError(_("Write at most %(n)d characters.", n=EVIDENCE_MAX), field="evidence")
    milestone = Milestone(member_id=viewer.member.id, title=title, theme_id=data.theme_id or None,
                          due_on=data.due_on, evidence=evidence, status=MilestoneStatus.PLANNED.value)
    db.session.add(milestone)
    db.session.flush()
    audit.record("milestones.created", milestone, actor=actor, member_id=viewer.member.id, title=title,
                 due_on=data.due_on.isoformat(), theme_id=milestone.theme_id)
    _tell(milestone, viewer.member, actor, _l("New milestone: %(title)s", title=title),
          _l("A milestone was agreed for %(company)s: “%(title)s”, due on %(due)s. Report it achieved, with "
             "the evidence, on the page below.", company=viewer.member.organisation.legal_name, title=title,
             due=data.due_on.isoformat()), company=True, mentor=True)
    return milestone


ACTIONS = ("report", "confirm", "send_back", "missed", "reopen")


def update_milestone(actor, milestone_id: int, action: str, evidence: str | None = None,
                     note: str | None = None, now: datetime | None = None) -> Milestone:
    """The company reports; staff or the mentor confirm, send back, mark missed, reopen."""
    now = now or utcnow()
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None:
        abort(404)
    member = db.session.get(CohortMember, milestone.member_id)
    viewer = member_viewer(actor, member.cohort_id, member.id)
    if member.cohort.status == CohortStatus.COMPLETED.value:
        raise CohortError(_("This cohort is completed: its milestones can no longer change."))
    current = MilestoneStatus(milestone.status)
    evidence = (evidence or "").strip() or None
    note = (note or "").strip() or None
    if evidence and len(evidence) > EVIDENCE_MAX:
        raise CohortError(_("Write the evidence in at most %(n)d characters.", n=EVIDENCE_MAX), field="evidence")
    if note and len(note) > NOTE_MAX:
        raise CohortError(_("Write the note in at most %(n)d characters.", n=NOTE_MAX), field="note")
    company = member.organisation.legal_name
    if action == "report":
        if not viewer.own:
            raise CohortError(_("Only the company reports its milestones achieved."))
        wanted = MilestoneStatus.REPORTED
        if not evidence:
            raise CohortError(_("Give the evidence that the milestone is achieved."), field="evidence")
    elif action in ("confirm", "send_back", "missed", "reopen"):
        if not viewer.agrees:
            raise CohortError(_("Only the company's mentor or the programme staff do this."))
        wanted = {"confirm": MilestoneStatus.CONFIRMED, "send_back": MilestoneStatus.PLANNED,
                  "missed": MilestoneStatus.MISSED, "reopen": MilestoneStatus.PLANNED}[action]
        if action == "send_back" and current is not MilestoneStatus.REPORTED:
            raise CohortError(_("Only a milestone reported achieved can be sent back."))
        if action == "reopen" and current is not MilestoneStatus.MISSED:
            raise CohortError(_("Only a missed milestone can be reopened."))
        if action == "send_back" and not note:
            raise CohortError(_("Say what is missing: the company reads it."), field="note")
    else:
        raise CohortError(_("Choose what to do with the milestone."))
    if not states.allowed(current, wanted):
        raise CohortError(_("This milestone is %(status)s: it cannot become %(wanted)s.",
                            status=current.label.lower(), wanted=wanted.label.lower()))
    detail = {"note": note, "step": action}
    if action == "report":
        detail["evidence"] = evidence
    states.transition(milestone, wanted, actor=actor, **detail)
    if action == "report":
        milestone.evidence, milestone.reported_at = evidence, now
    elif action == "confirm":
        if evidence:
            milestone.evidence = evidence
        milestone.confirmed_at, milestone.confirmed_by_id = now, getattr(actor, "id", None)
    db.session.flush()
    title = milestone.title
    if action == "report":
        _tell(milestone, member, actor, _l("Milestone reported achieved: %(title)s", title=title),
              _l("%(company)s reports the milestone “%(title)s” achieved. Confirm it or send it back on the page "
                 "below.", company=company, title=title), mentor=True)
    elif action == "confirm":
        _tell(milestone, member, actor, _l("Milestone confirmed: %(title)s", title=title),
              _l("The milestone “%(title)s” of %(company)s is confirmed.", title=title, company=company),
              company=True, mentor=True)
    elif action == "send_back":
        _tell(milestone, member, actor, _l("Milestone sent back: %(title)s", title=title),
              _l("The milestone “%(title)s” is back to planned. What is missing: %(note)s", title=title,
                 note=note), company=True, mentor=True)
    elif action == "missed":
        _tell(milestone, member, actor, _l("Milestone missed: %(title)s", title=title),
              _l("The milestone “%(title)s” of %(company)s is marked missed.%(note)s", title=title, company=company,
                 note=(" " + note) if note else ""), company=True, mentor=True)
    else:
        _tell(milestone, member, actor, _l("Milestone reopened: %(title)s", title=title),
              _l("The milestone “%(title)s” of %(company)s is planned again.", title=title, company=company),
              company=True, mentor=True)
    return milestone


def _tell(milestone: Milestone, member: CohortMember, actor, subject, message, *, company: bool = False,
          mentor: bool = False) -> int:
    link = path_for("cohorts.milestones", cohort_id=member.cohort_id, member_id=member.id)
    people: dict[int, User] = {}
    if company:
        people.update({u.id: u for u in sessions.people_of(member.organisation_id)})
    if mentor:
        people.update({u.id: u for u in mentors_of_member(member.id)})
    people.pop(getattr(actor, "id", None), None)
    told = 0
    for person in people.values():
        if notify(person, subject, "generic", link=link, message=message) is not None:
            told += 1
    return told


# --- the progress board reads this -----------------------------------------------------------------------


def milestones_achieved(cohort_id: int) -> dict[int, int]:
    """Confirmed milestones per member."""
    rows = db.session.execute(
        select(Milestone.member_id, func.count(Milestone.id))
        .join(CohortMember, CohortMember.id == Milestone.member_id)
        .where(CohortMember.cohort_id == cohort_id, Milestone.status == MilestoneStatus.CONFIRMED.value)
        .group_by(Milestone.member_id))
    return {member_id: int(count) for member_id, count in rows}


# --- the weekly reminder ----------------------------------------------------------------------------------


def remind_overdue_milestones(now: datetime) -> int:
    """Remind the company's people and its mentor of each overdue milestone of a running cohort,
    at most once a week per milestone; returns the number of milestones reminded."""
    rows = db.session.execute(
        select(Milestone, CohortMember, Cohort)
        .join(CohortMember, CohortMember.id == Milestone.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(Cohort.status == CohortStatus.RUNNING.value, Milestone.status.in_(OPEN),
               Milestone.due_on <= local_today(None, now) + timedelta(days=1))
        .options(joinedload(CohortMember.organisation))
        .order_by(Milestone.due_on, Milestone.id)).unique().all()
    reminded = 0
    for milestone, member, cohort in rows:
        today = local_today(cohort, now)
        if milestone.due_on >= today:
            continue
        if milestone.last_reminded_on is not None and milestone.last_reminded_on > today - REMIND_EVERY:
            continue
        milestone.last_reminded_on = today
        db.session.flush()
        days = (today - milestone.due_on).days
        if milestone.status == MilestoneStatus.REPORTED.value:
            message = _l("The milestone “%(title)s” of %(company)s was due on %(due)s and is reported achieved: "
                         "its mentor or the programme staff still have to confirm it.", title=milestone.title,
                         company=member.organisation.legal_name, due=milestone.due_on.isoformat())
        else:
            message = _l("The milestone “%(title)s” of %(company)s was due on %(due)s (%(days)d days ago) and is "
                         "not reported achieved yet. Report it with its evidence, or agree a new date with your "
                         "mentor.", title=milestone.title, company=member.organisation.legal_name,
                         due=milestone.due_on.isoformat(), days=days)
        _tell(milestone, member, None, _l("Overdue milestone: %(title)s", title=milestone.title), message,
              company=True, mentor=True)
        audit.record("milestones.reminded", milestone, member_id=member.id, due_on=milestone.due_on.isoformat(),
                     reminded_on=today.isoformat())
        reminded += 1
    return reminded


# --- home panels ------------------------------------------------------------------------------------------


@dataclass
class DueMilestone:
    milestone: Milestone
    member: CohortMember
    overdue: bool


def milestones_due(user, now: datetime | None = None, within_days: int = 30, limit: int = 8) -> list[DueMilestone]:
    """The planned milestones of the user's companies (running cohorts) due within a month or overdue."""
    today = local_today(None, now)
    rows = db.session.execute(
        select(Milestone, CohortMember)
        .join(CohortMember, CohortMember.id == Milestone.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(Membership, Membership.organisation_id == CohortMember.organisation_id)
        .where(Membership.user_id == user.id, Cohort.status == CohortStatus.RUNNING.value,
               Milestone.status == MilestoneStatus.PLANNED.value,
               Milestone.due_on <= today + timedelta(days=within_days))
        .options(joinedload(CohortMember.organisation), joinedload(CohortMember.cohort))
        .order_by(Milestone.due_on, Milestone.id).limit(limit)).unique().all()
    return [DueMilestone(m, member, m.due_on < today) for m, member in rows]


def overdue_milestones(now: datetime | None = None, limit: int = 10) -> tuple[list[DueMilestone], int]:
    """Overdue milestones of running cohorts, oldest first (at most `limit`), and how many in all."""
    today = local_today(None, now)
    where = (Cohort.status == CohortStatus.RUNNING.value, Milestone.status.in_(OPEN), Milestone.due_on < today)
    total = db.session.scalar(
        select(func.count(Milestone.id)).join(CohortMember, CohortMember.id == Milestone.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id).where(*where)) or 0
    if not total:
        return [], 0
    rows = db.session.execute(
        select(Milestone, CohortMember)
        .join(CohortMember, CohortMember.id == Milestone.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id).where(*where)
        .options(joinedload(CohortMember.organisation), joinedload(CohortMember.cohort))
        .order_by(Milestone.due_on, Milestone.id).limit(limit)).unique().all()
    return [DueMilestone(m, member, True) for m, member in rows], int(total)
