"""Cohorts: the coaching themes, forming a cohort from a decided Accelerator call, its lifecycle,
the needs assessment of each company, and what the cohort pages and home panels read.

- **Themes**: an editable list (code, English and Italian names, active); the three of the
  brief are created by `ensure_default_themes()` when there is none.
- **Formation** (staff): from a decided call of the Accelerator programme, one cohort per call.
  Its members are the applications selected whose place is accepted (or was never offered),
  reserve-list replacements included (a promotion sets the outcome to selected, see
  `calls.decisions._promote_first_reserve`), one member per organisation. The cohort lasts 3
  to 6 months (12 more with incubation). `refresh_members()` adds later acceptances and is
  idempotent. New members' people are told.
- **Lifecycle** through `states.transition`: planned, running (by staff, or `start_due()` on
  the start date), completed (staff, once every member's completion is decided).
- **Needs**: per offered theme a level (none, low, medium, high) with a note, and the company's
  goals; stated by the company's people or staff.
- **Who sees what**: staff every cohort; a mentor the cohorts of their confirmed mentorships
  and those companies; a company's people their cohort and their own company. Anything else
  answers 404.

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import abort
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, User
from opsapp.calls.models import (
    Application,
    ApplicationStatus,
    Call,
    CallStatus,
    Edition,
    Outcome,
    PlaceStatus,
    Programme,
    ProgrammeKind,
)
from opsapp.cohorts import states
from opsapp.cohorts.models import (
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    CompletionStatus,
    MentorProfile,
    Mentorship,
    Need,
)
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import add_months, to_local, utcnow
from opsapp.extensions import db

DEFAULT_THEMES = (
    ("entrepreneurial_finance", "Entrepreneurial finance", "Finanza imprenditoriale"),
    ("international_marketing", "International marketing", "Marketing internazionale"),
    ("human_resources", "Human resources and talent scouting", "Risorse umane e ricerca di talenti"),
)
MIN_MONTHS, MAX_MONTHS = 3, 6
INCUBATION_MONTHS = 12
MAX_HOURS = Decimal("999")
MAX_SESSIONS = 500
MAX_MILESTONES = 100
NOTE_MAX = 1000
GOALS_MAX = 4000
NAME_MAX = 200

NEED_LABELS = {0: _l("None"), 1: _l("Low"), 2: _l("Medium"), 3: _l("High")}

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


# --- who is who ------------------------------------------------------------------------------------


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def organisation_ids_of(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return {m.organisation_id for m in user.memberships}


def mentor_profile_of(user) -> MentorProfile | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))


def _active_mentorships():
    return (select(Mentorship).where(Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None)))


def mentored_member_ids(user) -> set[int]:
    """The cohort members this user mentors now (confirmed mentorships not ended)."""
    if not user.is_authenticated or not user.has_role(Role.MENTOR):
        return set()
    return set(db.session.scalars(
        select(Mentorship.member_id).join(MentorProfile, MentorProfile.id == Mentorship.mentor_id)
        .where(MentorProfile.user_id == user.id, Mentorship.confirmed_at.is_not(None),
               Mentorship.ended_at.is_(None))))


def people_of(organisation_ids) -> dict[int, list[User]]:
    """The people (users) of each organisation, in one query."""
    wanted = sorted(set(organisation_ids))
    found: dict[int, list[User]] = defaultdict(list)
    if not wanted:
        return found
    for membership in db.session.scalars(
            select(Membership).where(Membership.organisation_id.in_(wanted))
            .options(joinedload(Membership.user)).order_by(Membership.id)):
        if membership.user.erased_at is None and membership.user.disabled_at is None:
            found[membership.organisation_id].append(membership.user)
    return found


# --- themes --------------------------------------------------------------------------------------------


def themes(active_only: bool = False) -> list[CoachingTheme]:
    query = select(CoachingTheme).order_by(CoachingTheme.name_en, CoachingTheme.id)
    if active_only:
        query = query.where(CoachingTheme.active.is_(True))
    return list(db.session.scalars(query))


def ensure_default_themes(actor=None) -> int:
    """The three themes of the brief, when there is no theme at all; returns how many were added."""
    if db.session.scalar(select(func.count(CoachingTheme.id))):
        return 0
    for code, name_en, name_it in DEFAULT_THEMES:
        theme = CoachingTheme(code=code, name_en=name_en, name_it=name_it, active=True)
        db.session.add(theme)
        db.session.flush()
        audit.record("coaching_themes.created", theme, actor=actor, code=code, default=True)
    return len(DEFAULT_THEMES)


def save_theme(actor, theme_id: int | None, *, code: str, name_en: str, name_it: str,
               active: bool) -> CoachingTheme:
    """Add a theme (theme_id None) or change one; the code is unique."""
    if not is_staff(actor):
        abort(403)
    code = (code or "").strip().lower()
    name_en, name_it = (name_en or "").strip(), (name_it or "").strip()
    if not _CODE.match(code):
        raise CohortError(_l("Use 2 to 40 lower-case letters, digits or underscores, starting with a letter "
                             "(for example investor_readiness)."), "code")
    if not name_en:
        raise CohortError(_l("Enter the English name."), "name_en")
    if not name_it:
        raise CohortError(_l("Enter the Italian name."), "name_it")
    if len(name_en) > 120 or len(name_it) > 120:
        raise CohortError(_l("Keep the names within 120 characters."), "name_en" if len(name_en) > 120 else "name_it")
    theme = None
    if theme_id is not None:
        theme = db.session.get(CoachingTheme, theme_id)
        if theme is None:
            abort(404)
    clash = db.session.scalar(select(CoachingTheme).where(CoachingTheme.code == code))
    if clash is not None and clash is not theme:
        raise CohortError(_l("Another theme already has this code."), "code")
    if theme is None:
        theme = CoachingTheme(code=code, name_en=name_en, name_it=name_it, active=bool(active))
        db.session.add(theme)
        db.session.flush()
        audit.record("coaching_themes.created", theme, actor=actor, code=code)
        return theme
    changes = {}
    for name, value in (("code", code), ("name_en", name_en), ("name_it", name_it), ("active", bool(active))):
        if getattr(theme, name) != value:
            changes[name] = [getattr(theme, name), value]
            setattr(theme, name, value)
    if changes:
        db.session.flush()
        audit.record("coaching_themes.updated", theme, actor=actor, changes=changes)
    return theme


# --- dates ---------------------------------------------------------------------------------------------


def _local_today(cohort: Cohort, now: datetime) -> date:
    return to_local(now, cohort.timezone or "Europe/Rome").date()


# --- formation -------------------------------------------------------------------------------------------


@dataclass
class CohortData:
    name: str
    starts_on: date | None
    ends_on: date | None
    incubation: bool = False
    theme_ids: list[int] = field(default_factory=list)
    min_hours: Decimal | None = Decimal("20")
    min_sessions: int | None = 0
    min_milestones: int | None = 1


def _require_staff(actor) -> None:
    if not is_staff(actor):
        abort(403)


def formable_calls() -> list[Call]:
    """Decided calls of the Accelerator that have no cohort yet, newest first."""
    taken = select(Cohort.call_id).where(Cohort.call_id.is_not(None))
    return list(db.session.scalars(
        select(Call).join(Edition, Edition.id == Call.edition_id).join(Programme, Programme.id == Edition.programme_id)
        .where(Call.status == CallStatus.DECIDED, Programme.kind == ProgrammeKind.ACCELERATOR,
               Call.id.not_in(taken))
        .options(joinedload(Call.edition)).order_by(Call.closes_at.desc(), Call.id.desc())))


def formable_call(actor, call_id: int) -> Call:
    """The decided Accelerator call a cohort is formed from (404 for any other call)."""
    _require_staff(actor)
    call = db.session.scalar(select(Call).where(Call.id == call_id)
                             .options(joinedload(Call.edition).joinedload(Edition.programme)))
    if call is None or call.edition.programme.kind != ProgrammeKind.ACCELERATOR:
        abort(404)
    if call.status != CallStatus.DECIDED:
        raise CohortError(_l("A cohort is formed from a decided call: this call is not decided yet."))
    existing = db.session.scalar(select(Cohort.id).where(Cohort.call_id == call.id))
    if existing is not None:
        raise CohortError(_l("This call has its cohort already."))
    return call


def accepted_applications(call_id: int) -> list[Application]:
    """The places taken in a decided call: selected (reserve replacements included), the place
    accepted or never offered; one application per organisation, best ranked first."""
    found = db.session.scalars(
        select(Application)
        .where(Application.call_id == call_id, Application.status == ApplicationStatus.SUBMITTED,
               Application.outcome == Outcome.SELECTED,
               or_(Application.place_status == PlaceStatus.ACCEPTED, Application.place_status.is_(None)))
        .options(joinedload(Application.organisation))
        .order_by(Application.rank.is_(None), Application.rank, Application.id))
    seen, chosen = set(), []
    for application in found:
        if application.organisation_id not in seen:
            seen.add(application.organisation_id)
            chosen.append(application)
    return chosen


def _check(data: CohortData, allowed_theme_ids: set[int]) -> None:
    name = (data.name or "").strip()
    if not name:
        raise CohortError(_l("Enter the name of the cohort."), "name")
    if len(name) > NAME_MAX:
        raise CohortError(_l("Keep the name within %(num)d characters.", num=NAME_MAX), "name")
    if data.starts_on is None:
        raise CohortError(_l("Enter the start date, like 2027-03-01."), "starts_on")
    if data.ends_on is None:
        raise CohortError(_l("Enter the end date, like 2027-08-31."), "ends_on")
    earliest, latest = add_months(data.starts_on, MIN_MONTHS), add_months(data.starts_on, MAX_MONTHS)
    if not earliest <= data.ends_on <= latest:
        raise CohortError(_l("A cohort lasts 3 to 6 months: starting on %(start)s, it ends between %(earliest)s "
                             "and %(latest)s.", start=format_date(data.starts_on), earliest=format_date(earliest),
                             latest=format_date(latest)), "ends_on")
    chosen = set(data.theme_ids or ())
    if not chosen:
        raise CohortError(_l("Choose at least one coaching theme."), "theme_ids")
    if not chosen <= allowed_theme_ids:
        raise CohortError(_l("Choose themes from the list."), "theme_ids")
    if data.min_hours is None or not Decimal("0") <= data.min_hours <= MAX_HOURS:
        raise CohortError(_l("Enter a number of hours from 0 to %(num)d.", num=int(MAX_HOURS)), "min_hours")
    if data.min_sessions is None or not 0 <= data.min_sessions <= MAX_SESSIONS:
        raise CohortError(_l("Enter a number of sessions from 0 to %(num)d.", num=MAX_SESSIONS), "min_sessions")
    if data.min_milestones is None or not 0 <= data.min_milestones <= MAX_MILESTONES:
        raise CohortError(_l("Enter a number of milestones from 0 to %(num)d.", num=MAX_MILESTONES),
                          "min_milestones")


def _themes_by_id(ids) -> list[CoachingTheme]:
    wanted = sorted(set(ids or ()))
    if not wanted:
        return []
    return list(db.session.scalars(select(CoachingTheme).where(CoachingTheme.id.in_(wanted))))


def _apply(cohort: Cohort, data: CohortData) -> dict:
    changes = {}
    values = {
        "name": data.name.strip(), "starts_on": data.starts_on, "ends_on": data.ends_on,
        "incubation_months": INCUBATION_MONTHS if data.incubation else 0,
        "min_hours": Decimal(data.min_hours).quantize(Decimal("0.01")), "min_sessions": data.min_sessions,
        "min_milestones": data.min_milestones,
    }
    for name, value in values.items():
        if getattr(cohort, name) != value:
            changes[name] = [getattr(cohort, name), value]
            setattr(cohort, name, value)
    before = sorted(t.code for t in cohort.themes)
    cohort.themes = _themes_by_id(data.theme_ids)
    after = sorted(t.code for t in cohort.themes)
    if before != after:
        changes["themes"] = [before, after]
    return changes


def form_cohort(actor, call_id: int, data: CohortData) -> Cohort:
    """A new cohort from a decided Accelerator call, with the companies that took their places."""
    call = formable_call(actor, call_id)
    _check(data, {t.id for t in themes(active_only=True)})
    cohort = Cohort(edition_id=call.edition_id, call_id=call.id, created_by_id=actor.id,
                    status=CohortStatus.PLANNED.value, name="", starts_on=data.starts_on, ends_on=data.ends_on)
    db.session.add(cohort)
    _apply(cohort, data)
    db.session.flush()
    audit.record("cohorts.formed", cohort, actor=actor, call_id=call.id, name=cohort.name,
                 starts_on=cohort.starts_on, ends_on=cohort.ends_on, themes=[t.code for t in cohort.themes])
    _add_members(actor, cohort)
    return cohort


def update_cohort(actor, cohort_id: int, data: CohortData) -> Cohort:
    _require_staff(actor)
    cohort = _cohort(cohort_id)
    if cohort.status == CohortStatus.COMPLETED:
        raise CohortError(_l("The cohort is completed: it can no longer be changed."))
    _check(data, {t.id for t in themes(active_only=True)} | {t.id for t in cohort.themes})
    changes = _apply(cohort, data)
    db.session.flush()
    if changes:
        audit.record("cohorts.updated", cohort, actor=actor, changes=changes)
    return cohort


def refresh_members(actor, cohort_id: int) -> list[CohortMember]:
    """Add the companies of the call that took their place since the cohort was formed."""
    _require_staff(actor)
    cohort = _cohort(cohort_id)
    if cohort.call_id is None:
        raise CohortError(_l("This cohort was not formed from a call: there is nothing to refresh."))
    if cohort.status == CohortStatus.COMPLETED:
        raise CohortError(_l("The cohort is completed: no company can join it any more."))
    added = _add_members(actor, cohort)
    audit.record("cohorts.members_refreshed", cohort, actor=actor, added=len(added))
    return added


def _add_members(actor, cohort: Cohort) -> list[CohortMember]:
    have = set(db.session.scalars(select(CohortMember.organisation_id).where(CohortMember.cohort_id == cohort.id)))
    added = []
    for application in accepted_applications(cohort.call_id):
        if application.organisation_id in have:
            continue
        member = CohortMember(cohort_id=cohort.id, organisation_id=application.organisation_id,
                              application_id=application.id)
        db.session.add(member)
        db.session.flush()
        have.add(application.organisation_id)
        added.append(member)
        audit.record("cohorts.member_added", cohort, actor=actor, member_id=member.id,
                     organisation=application.organisation.legal_name, application_id=application.id)
    people = people_of(m.organisation_id for m in added)
    for member in added:
        link = path_for("cohorts.needs", cohort_id=cohort.id, member_id=member.id)
        for user in people.get(member.organisation_id, []):
            notify(user, _subject_joined(cohort.name), "cohort_joined", link=link, cohort=cohort,
                   organisation=member.organisation)
    return added


def _subject_joined(name: str):
    return _l("You are in the cohort %(cohort)s", cohort=name)


# --- lifecycle -----------------------------------------------------------------------------------------


def _cohort(cohort_id: int) -> Cohort:
    cohort = db.session.scalar(
        select(Cohort).where(Cohort.id == cohort_id)
        .options(selectinload(Cohort.themes), joinedload(Cohort.call),
                 joinedload(Cohort.edition).joinedload(Edition.programme)))
    if cohort is None:
        abort(404)
    return cohort


def member_count(cohort_id: int) -> int:
    return db.session.scalar(select(func.count(CohortMember.id)).where(CohortMember.cohort_id == cohort_id)) or 0


def undecided_members(cohort_id: int) -> int:
    return db.session.scalar(select(func.count(CohortMember.id)).where(
        CohortMember.cohort_id == cohort_id, CohortMember.completion == CompletionStatus.IN_PROGRESS.value)) or 0


def advance(actor, cohort_id: int, wanted: str) -> Cohort:
    """Start a planned cohort, or complete a running one whose every completion is decided."""
    _require_staff(actor)
    cohort = _cohort(cohort_id)
    try:
        target = CohortStatus(wanted)
    except ValueError:
        abort(400)
    if not states.allowed(cohort.status, target):
        raise CohortError(_l("The cohort is %(status)s: this step is not possible now.",
                             status=cohort.status_enum.label.lower()))
    if target == CohortStatus.COMPLETED:
        left = undecided_members(cohort.id)
        if left:
            raise CohortError(_l("Decide the completion of every company first (%(num)d still in progress).",
                                 num=left))
    states.transition(cohort, target, actor=actor)
    if target == CohortStatus.RUNNING:
        _tell_started(cohort)
    db.session.flush()
    return cohort


def _tell_started(cohort: Cohort) -> int:
    members = list(db.session.scalars(select(CohortMember).where(
        CohortMember.cohort_id == cohort.id, CohortMember.completion == CompletionStatus.IN_PROGRESS.value)))
    people = people_of(m.organisation_id for m in members)
    sent = 0
    for member in members:
        link = path_for("cohorts.member", cohort_id=cohort.id, member_id=member.id)
        for user in people.get(member.organisation_id, []):
            notify(user, _l("%(cohort)s has started", cohort=cohort.name), "cohort_started", link=link,
                   cohort=cohort)
            sent += 1
    return sent


def start_due(now: datetime) -> int:
    """Start the planned cohorts whose start date has come (in their time zone); a rerun does nothing."""
    started = 0
    for cohort in db.session.scalars(select(Cohort).where(Cohort.status == CohortStatus.PLANNED.value)
                                     .order_by(Cohort.id)):
        if cohort.starts_on <= _local_today(cohort, now):
            states.transition(cohort, CohortStatus.RUNNING, actor=None, by="schedule")
            _tell_started(cohort)
            started += 1
    db.session.flush()
    return started


# --- reading: the list, the page, the timeline ------------------------------------------------------------


@dataclass
class CohortRow:
    cohort: Cohort
    members: int


def visible_cohort_ids(user) -> set[int] | None:
    """None for staff (every cohort); otherwise the cohorts of the user's mentorships and organisations."""
    if is_staff(user):
        return None
    ids: set[int] = set()
    mentored = mentored_member_ids(user)
    organisations = organisation_ids_of(user)
    if mentored or organisations:
        ids = set(db.session.scalars(select(CohortMember.cohort_id).where(or_(
            CohortMember.id.in_(sorted(mentored)), CohortMember.organisation_id.in_(sorted(organisations))))))
    return ids


def cohort_list(user) -> list[CohortRow]:
    visible = visible_cohort_ids(user)
    query = (select(Cohort).options(joinedload(Cohort.edition).joinedload(Edition.programme))
             .order_by(Cohort.starts_on.desc(), Cohort.id.desc()))
    if visible is not None:
        if not visible:
            return []
        query = query.where(Cohort.id.in_(sorted(visible)))
    cohorts = list(db.session.scalars(query))
    counts = dict(db.session.execute(
        select(CohortMember.cohort_id, func.count(CohortMember.id))
        .where(CohortMember.cohort_id.in_([c.id for c in cohorts]))
        .group_by(CohortMember.cohort_id)).all()) if cohorts else {}
    return [CohortRow(c, counts.get(c.id, 0)) for c in cohorts]


def visible_cohort(user, cohort_id: int) -> Cohort:
    cohort = _cohort(cohort_id)
    visible = visible_cohort_ids(user)
    if visible is not None and cohort.id not in visible:
        abort(404)
    return cohort


def staff_cohort(actor, cohort_id: int) -> Cohort:
    _require_staff(actor)
    return _cohort(cohort_id)


@dataclass
class MemberRow:
    member: CohortMember
    mentors: list[MentorProfile]


@dataclass
class CohortPage:
    cohort: Cohort
    rows: list[MemberRow]
    staff: bool
    total_members: int
    undecided: int
    timeline: list[TimelineEntry]
    new_acceptances: int  # companies of the call that took their place and are not members yet

    @property
    def can_start(self) -> bool:
        return self.staff and self.cohort.status == CohortStatus.PLANNED

    @property
    def can_complete(self) -> bool:
        return self.staff and self.cohort.status == CohortStatus.RUNNING and self.undecided == 0


def mentors_by_member(member_ids) -> dict[int, list[MentorProfile]]:
    """The confirmed mentors (not ended) of each member, in one query."""
    found: dict[int, list[MentorProfile]] = defaultdict(list)
    ids = sorted(set(member_ids))
    if not ids:
        return found
    for mentorship in db.session.scalars(
            _active_mentorships().where(Mentorship.member_id.in_(ids))
            .options(joinedload(Mentorship.mentor).joinedload(MentorProfile.user)).order_by(Mentorship.id)):
        found[mentorship.member_id].append(mentorship.mentor)
    return found


def _visible_members(user, cohort: Cohort) -> list[CohortMember]:
    query = (select(CohortMember).where(CohortMember.cohort_id == cohort.id)
             .options(joinedload(CohortMember.organisation), selectinload(CohortMember.needs)))
    if not is_staff(user):
        mentored = mentored_member_ids(user)
        organisations = organisation_ids_of(user)
        query = query.where(or_(CohortMember.id.in_(sorted(mentored)),
                                CohortMember.organisation_id.in_(sorted(organisations))))
    members = list(db.session.scalars(query))
    return sorted(members, key=lambda m: (m.organisation.legal_name.lower(), m.id))


TIMELINE_LABELS = {
    "cohorts.formed": _l("Cohort formed"),
    "cohorts.updated": _l("Cohort changed"),
    "cohorts.member_added": _l("Company joined"),
    "cohorts.members_refreshed": _l("Members refreshed from the call"),
    "cohorts.mentors_confirmed": _l("Mentors confirmed"),
    "cohorts.mentorship_ended": _l("Mentorship ended"),
}
CHANGE_LABELS = {
    "name": _l("name"), "starts_on": _l("start date"), "ends_on": _l("end date"),
    "incubation_months": _l("incubation"), "themes": _l("themes"), "min_hours": _l("hours required"),
    "min_sessions": _l("sessions required"), "min_milestones": _l("milestones required"),
}
STATUS_LABELS = {
    CohortStatus.RUNNING.value: _l("Cohort started"),
    CohortStatus.COMPLETED.value: _l("Cohort completed"),
}


def timeline(cohort: Cohort, limit: int = 40) -> list[TimelineEntry]:
    entries = []
    for entry, name in audit_rows(Cohort.__tablename__, cohort.id,
                                  actions=[*TIMELINE_LABELS, "cohorts.status_changed"], limit=limit):
        detail = entry.detail or {}
        if entry.action == "cohorts.status_changed":
            label = STATUS_LABELS.get(detail.get("new"))
            if label is None:
                continue
            who = name if entry.actor_id is not None else str(_l("on its start date, by the scheduler"))
            entries.append(TimelineEntry(entry.created_at, who, str(label)))
            continue
        subject = detail.get("organisation")
        if entry.action == "cohorts.updated":
            subject = ", ".join(str(CHANGE_LABELS.get(k, k)) for k in sorted(detail.get("changes", {})))
        elif entry.action == "cohorts.members_refreshed":
            subject = str(_l("%(num)s added", num=detail.get("added", 0)))
        elif entry.action in ("cohorts.mentors_confirmed", "cohorts.mentorship_ended"):
            subject = detail.get("summary")
        entries.append(TimelineEntry(entry.created_at, name, str(TIMELINE_LABELS[entry.action]), subject))
    return entries


def cohort_page(user, cohort_id: int) -> CohortPage:
    cohort = visible_cohort(user, cohort_id)
    members = _visible_members(user, cohort)
    mentors = mentors_by_member(m.id for m in members)
    staff = is_staff(user)
    new = 0
    if staff and cohort.call_id is not None and cohort.status != CohortStatus.COMPLETED:
        have = {m.organisation_id for m in members}
        new = sum(1 for a in accepted_applications(cohort.call_id) if a.organisation_id not in have)
    return CohortPage(
        cohort=cohort, rows=[MemberRow(m, mentors.get(m.id, [])) for m in members], staff=staff,
        total_members=len(members) if staff else 0, undecided=undecided_members(cohort.id) if staff else 0,
        timeline=timeline(cohort) if staff else [], new_acceptances=new)


# --- a company in the cohort: its page and its needs ------------------------------------------------------------


def _member(cohort_id: int, member_id: int) -> CohortMember:
    member = db.session.scalar(
        select(CohortMember).where(CohortMember.id == member_id, CohortMember.cohort_id == cohort_id)
        .options(joinedload(CohortMember.organisation), selectinload(CohortMember.needs),
                 joinedload(CohortMember.cohort).selectinload(Cohort.themes)))
    if member is None:
        abort(404)
    return member


def may_state_needs(user, member: CohortMember) -> bool:
    return is_staff(user) or member.organisation_id in organisation_ids_of(user)


def member_for_needs(user, cohort_id: int, member_id: int) -> CohortMember:
    """The member whose needs this user may state (staff, the company's people); others 404."""
    member = _member(cohort_id, member_id)
    if not may_state_needs(user, member):
        abort(404)
    return member


@dataclass
class MemberPage:
    member: CohortMember
    cohort: Cohort
    mentors: list[MentorProfile]
    needs: dict[int, Need]  # by theme id
    staff: bool
    may_edit_needs: bool
    is_mentor: bool


def member_page(user, cohort_id: int, member_id: int) -> MemberPage:
    """The company's page in the cohort: staff, its people, its confirmed mentor; others 404."""
    member = _member(cohort_id, member_id)
    own = member.organisation_id in organisation_ids_of(user)
    mentoring = member.id in mentored_member_ids(user)
    if not (is_staff(user) or own or mentoring):
        abort(404)
    return MemberPage(member=member, cohort=member.cohort, mentors=mentors_by_member([member.id])[member.id],
                      needs={n.theme_id: n for n in member.needs}, staff=is_staff(user),
                      may_edit_needs=may_state_needs(user, member) and member.cohort.status != CohortStatus.COMPLETED,
                      is_mentor=mentoring)


@dataclass
class NeedInput:
    level: int
    note: str | None = None


def save_needs(actor, cohort_id: int, member_id: int, needs: dict[int, NeedInput], goals: str | None) -> CohortMember:
    """The company's needs per offered theme and its goals (by its people or staff)."""
    member = member_for_needs(actor, cohort_id, member_id)
    cohort = member.cohort
    if cohort.status == CohortStatus.COMPLETED:
        raise CohortError(_l("The cohort is completed: the needs can no longer be changed."))
    offered = {t.id for t in cohort.themes}
    for theme_id, need in needs.items():
        if theme_id not in offered:
            raise CohortError(_l("Give the needs for the themes the cohort offers."))
        if need.level not in NEED_LABELS:
            raise CohortError(_l("Choose none, low, medium or high."), f"level_{theme_id}")
        if need.note and len(need.note) > NOTE_MAX:
            raise CohortError(_l("Keep the note within %(num)d characters.", num=NOTE_MAX), f"note_{theme_id}")
    goals = (goals or "").strip() or None
    if goals and len(goals) > GOALS_MAX:
        raise CohortError(_l("Keep the goals within %(num)d characters.", num=GOALS_MAX), "goals")
    current = {n.theme_id: n for n in member.needs}
    levels = {}
    for theme_id in sorted(offered):
        need = needs.get(theme_id, NeedInput(0))
        note = (need.note or "").strip() or None
        row = current.get(theme_id)
        if row is None:
            row = Need(member_id=member.id, theme_id=theme_id)
            member.needs.append(row)
        row.level, row.note = need.level, note
        levels[theme_id] = need.level
    member.goals = goals
    member.needs_assessed_at = utcnow()
    db.session.flush()
    audit.record("cohort_members.needs_assessed", member, actor=actor, cohort_id=cohort.id,
                 levels={str(k): v for k, v in levels.items()})
    if is_staff(actor) and member.organisation_id not in organisation_ids_of(actor):
        link = path_for("cohorts.member", cohort_id=cohort.id, member_id=member.id)
        for user in people_of([member.organisation_id]).get(member.organisation_id, []):
            notify(user, _l("Your needs in %(cohort)s were updated", cohort=cohort.name), "cohort_needs_updated",
                   link=link, cohort=cohort, organisation=member.organisation)
    return member


# --- home panels -------------------------------------------------------------------------------------------


@dataclass
class MentoredCompany:
    mentorship: Mentorship
    member: CohortMember
    cohort: Cohort
    needs: list[Need]  # the needs stated (level > 0), highest first


def mentor_companies(user) -> list[MentoredCompany]:
    """The companies this mentor mentors now, with the cohort and the needs (running and planned cohorts)."""
    rows = list(db.session.scalars(
        _active_mentorships().join(MentorProfile, MentorProfile.id == Mentorship.mentor_id)
        .join(CohortMember, CohortMember.id == Mentorship.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(MentorProfile.user_id == user.id, Cohort.status != CohortStatus.COMPLETED.value)
        .options(joinedload(Mentorship.member).joinedload(CohortMember.organisation),
                 joinedload(Mentorship.member).joinedload(CohortMember.cohort),
                 joinedload(Mentorship.member).selectinload(CohortMember.needs).joinedload(Need.theme))
        .order_by(Cohort.starts_on, Mentorship.id)))
    return [MentoredCompany(m, m.member, m.member.cohort,
                            sorted((n for n in m.member.needs if n.level > 0), key=lambda n: (-n.level, n.theme.code)))
            for m in rows]


@dataclass
class CohortWaiting:
    cohort: Cohort
    members: int
    needs_missing: int
    without_mentor: int


def cohorts_waiting() -> list[CohortWaiting]:
    """Planned and running cohorts with what waits: needs not assessed, companies without a mentor."""
    cohorts = list(db.session.scalars(
        select(Cohort).where(Cohort.status.in_([CohortStatus.PLANNED.value, CohortStatus.RUNNING.value]))
        .order_by(Cohort.starts_on, Cohort.id)))
    if not cohorts:
        return []
    ids = [c.id for c in cohorts]
    in_progress = (CohortMember.cohort_id.in_(ids), CohortMember.completion == CompletionStatus.IN_PROGRESS.value)
    members = dict(db.session.execute(select(CohortMember.cohort_id, func.count(CohortMember.id))
                                      .where(*in_progress).group_by(CohortMember.cohort_id)).all())
    missing = dict(db.session.execute(select(CohortMember.cohort_id, func.count(CohortMember.id))
                                      .where(*in_progress, CohortMember.needs_assessed_at.is_(None))
                                      .group_by(CohortMember.cohort_id)).all())
    mentored = select(Mentorship.member_id).where(Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None))
    without = dict(db.session.execute(select(CohortMember.cohort_id, func.count(CohortMember.id))
                                      .where(*in_progress, CohortMember.id.not_in(mentored))
                                      .group_by(CohortMember.cohort_id)).all())
    return [CohortWaiting(c, members.get(c.id, 0), missing.get(c.id, 0), without.get(c.id, 0)) for c in cohorts]
