"""Mentors: the pool, their invitation, their profile and declared conflicts of interest, and the
matching of mentors to the companies of a cohort (proposed by `matching.py`, adjusted and
confirmed by staff).

- **Pool** (staff): every mentor profile with themes, S3 domains, languages, and the load (the
  companies they mentor now, in cohorts not completed) against their capacity; filters by
  theme, S3 domain, language and room left.
- **Invitation** (staff): like the evaluators' (`calls.evaluation.invite_evaluator`): a new
  account holding only the mentor role gets a single-use link to choose a password; an existing
  account gets the role added and is told. Both get a mentor profile.
- **Profile**: the mentor's own (or staff): themes, S3 domains, languages, capacity (0-50),
  availability, employer organisation (by VAT number), declared conflicts of interest with
  organisations (added with a reason, removed). A new declaration drops the proposals (not
  confirmed) that pair the mentor with that company.
- **Matching** (staff): the companies of the cohort without a mentor (completion in progress),
  each with the saved proposal or, when there is none, the one `matching.propose` computes;
  staff choose another mentor among those without a conflict and with a place left, save the
  choices as proposals or confirm them (the mentor and the company's people are told). Saving
  or confirming again replaces only the proposals not confirmed; a confirmed mentorship is
  ended explicitly (`end_mentorship`).

Functions check rights, flush and never commit; refusals raise `CohortError`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask import abort, current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts import tokens
from opsapp.accounts.models import (
    Membership,
    Organisation,
    OwnershipLink,
    S3Domain,
    TokenPurpose,
    User,
)
from opsapp.accounts.services import find_by_email, normalise_email
from opsapp.calls.assignment import vat_keys
from opsapp.cohorts import matching
from opsapp.cohorts.cohorts import is_staff, people_of
from opsapp.cohorts.models import (
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    CompletionStatus,
    MentorConflict,
    MentorProfile,
    Mentorship,
)
from opsapp.cohorts.pages import CohortError, path_for
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

LANGUAGES = {
    "en": _l("English"),
    "it": _l("Italian"),
    "fr": _l("French"),
    "de": _l("German"),
    "es": _l("Spanish"),
}
MAX_CAPACITY = 50
TEXT_MAX = 2000
REASON_MAX = 1000

CONFLICT_LABELS = {
    matching.EMPLOYED: _l("works for the company or an organisation linked to it"),
    matching.DECLARED: _l("declared a conflict of interest with the company or an organisation linked to it"),
}
UNMATCHED_LABELS = {
    matching.NO_ROOM: _l("no mentor has a place left"),
    matching.ALL_CONFLICTED: _l("every mentor with a place left has a conflict of interest"),
    matching.NO_COMMON_LANGUAGE: _l("no mentor without a conflict speaks the company's language"),
    matching.TAKEN: _l("the mentors who fit went to companies they fit better"),
}


def _require_staff(actor) -> None:
    if not is_staff(actor):
        abort(403)


def _clean_languages(languages) -> list[str]:
    return [code for code in LANGUAGES if code in set(languages or ())]


# --- loads -------------------------------------------------------------------------------------------


def loads(mentor_ids=None) -> dict[int, int]:
    """The companies each mentor mentors now (confirmed, not ended, in cohorts not completed)."""
    query = (select(Mentorship.mentor_id, func.count(Mentorship.id))
             .join(CohortMember, CohortMember.id == Mentorship.member_id)
             .join(Cohort, Cohort.id == CohortMember.cohort_id)
             .where(Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None),
                    Cohort.status != CohortStatus.COMPLETED.value)
             .group_by(Mentorship.mentor_id))
    if mentor_ids is not None:
        query = query.where(Mentorship.mentor_id.in_(sorted(set(mentor_ids))))
    return dict(db.session.execute(query).all())


def in_pool(profile: MentorProfile) -> bool:
    user = profile.user
    return bool(profile.active and user.disabled_at is None and user.erased_at is None
                and user.has_role(Role.MENTOR))


# --- the pool ------------------------------------------------------------------------------------------


@dataclass
class PoolFilters:
    theme: str = ""
    s3_domain: str = ""
    language: str = ""
    room: str = ""  # "room": a place left; "full": none left

    def as_args(self) -> dict:
        return {k: v for k, v in vars(self).items() if v}


@dataclass
class PoolRow:
    profile: MentorProfile
    load: int

    @property
    def room(self) -> int:
        return max(self.profile.capacity - self.load, 0)


def _profiles_query():
    return select(MentorProfile).options(
        joinedload(MentorProfile.user).selectinload(User.role_rows), joinedload(MentorProfile.organisation),
        selectinload(MentorProfile.themes), selectinload(MentorProfile.s3_domains))


def pool(actor, filters: PoolFilters) -> list[PoolRow]:
    _require_staff(actor)
    query = _profiles_query()
    if filters.theme.isdigit():
        query = query.where(MentorProfile.themes.any(CoachingTheme.id == int(filters.theme)))
    if filters.s3_domain.isdigit():
        query = query.where(MentorProfile.s3_domains.any(S3Domain.id == int(filters.s3_domain)))
    profiles = sorted(db.session.scalars(query).unique(), key=lambda p: (p.user.full_name.lower(), p.id))
    if filters.language:
        profiles = [p for p in profiles if filters.language in (p.languages or [])]
    counts = loads([p.id for p in profiles]) if profiles else {}
    rows = [PoolRow(p, counts.get(p.id, 0)) for p in profiles]
    if filters.room == "room":
        rows = [r for r in rows if r.room > 0]
    elif filters.room == "full":
        rows = [r for r in rows if r.room == 0]
    return rows


# --- invitation ------------------------------------------------------------------------------------------


@dataclass
class ProfileData:
    theme_ids: list[int] = field(default_factory=list)
    s3_domain_ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["en", "it"])
    capacity: int | None = 3
    availability: str | None = None
    bio: str | None = None
    employer_vat: str | None = None
    active: bool = True


@dataclass
class Invitation:
    user: User
    profile: MentorProfile
    created: bool  # a new account; otherwise the role was added to an existing one


def _themes(ids) -> list[CoachingTheme]:
    wanted = sorted({int(i) for i in ids or ()})
    if not wanted:
        return []
    found = list(db.session.scalars(select(CoachingTheme).where(CoachingTheme.id.in_(wanted))))
    if len(found) != len(wanted):
        raise CohortError(_l("Choose themes from the list."), "theme_ids")
    return found


def _domains(ids) -> list[S3Domain]:
    wanted = sorted({int(i) for i in ids or ()})
    if not wanted:
        return []
    found = list(db.session.scalars(select(S3Domain).where(S3Domain.id.in_(wanted))))
    if len(found) != len(wanted):
        raise CohortError(_l("Choose S3 domains from the list."), "s3_domain_ids")
    return found


def organisation_by_vat(vat: str | None) -> Organisation | None:
    keys = vat_keys(vat)
    if not keys:
        return None
    candidates = set(keys) | {"IT" + k for k in keys if k.isdigit()}
    for organisation in db.session.scalars(select(Organisation).where(Organisation.vat_number.in_(sorted(candidates)))
                                           .order_by(Organisation.id)):
        if vat_keys(organisation.vat_number) & keys:
            return organisation
    return None


def _check_profile(data: ProfileData) -> tuple[list[CoachingTheme], list[S3Domain], list[str], Organisation | None]:
    found_themes, domains = _themes(data.theme_ids), _domains(data.s3_domain_ids)
    languages = _clean_languages(data.languages)
    if not languages:
        raise CohortError(_l("Choose at least one language the mentor works in."), "languages")
    if data.capacity is None or not 0 <= data.capacity <= MAX_CAPACITY:
        raise CohortError(_l("Enter a number of companies from 0 to %(num)d.", num=MAX_CAPACITY), "capacity")
    for name in ("availability", "bio"):
        value = getattr(data, name)
        if value and len(value) > TEXT_MAX:
            raise CohortError(_l("Keep it within %(num)d characters.", num=TEXT_MAX), name)
    employer = None
    if (data.employer_vat or "").strip():
        employer = organisation_by_vat(data.employer_vat)
        if employer is None:
            raise CohortError(_l("No organisation with this VAT number is registered. Check the number, or leave "
                                 "the field empty."), "employer_vat")
    return found_themes, domains, languages, employer


def invite_mentor(actor, *, full_name: str, email: str, locale: str | None, data: ProfileData) -> Invitation:
    """A mentor's account (or the role added to an existing one) and their profile; they are told."""
    _require_staff(actor)
    email = normalise_email(email)
    name = (full_name or "").strip()
    if not email or "@" not in email:
        raise CohortError(_l("Enter the mentor's e-mail address."), "email")
    if not name:
        raise CohortError(_l("Enter the mentor's name."), "full_name")
    found_themes, domains, languages, employer = _check_profile(data)
    existing = find_by_email(email)
    if existing is not None:
        if existing.erased_at is not None:
            raise CohortError(_l("This address belonged to an erased account; it cannot be invited."), "email")
        profile = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == existing.id))
        if existing.has_role(Role.MENTOR) and profile is not None:
            raise CohortError(_l("%(name)s (%(email)s) is already in the pool of mentors.",
                                 name=existing.display_name, email=existing.email), "email")
        user, created = existing, False
        if not existing.has_role(Role.MENTOR):
            before = sorted(r.role for r in existing.role_rows)
            existing.set_roles({*existing.roles, Role.MENTOR})
            db.session.flush()
            audit.record("user.roles_changed", existing, actor=actor, before=before,
                         after=sorted(r.role for r in existing.role_rows), why="invited as mentor")
    else:
        if locale not in current_app.config["LANGUAGES"]:
            locale = current_app.config["BABEL_DEFAULT_LOCALE"]
        user = User(email=email, full_name=name, password_hash=None, locale=locale)
        user.set_roles({Role.MENTOR})
        try:
            # A savepoint: if someone registered the same address a moment ago, the unique
            # constraint refuses this one and the rest of the transaction survives.
            with db.session.begin_nested():
                db.session.add(user)
        except IntegrityError:
            raise CohortError(_l("Another account already uses this e-mail address."), "email") from None
        created = True
        audit.record("user.created", user, actor=actor, roles=[str(Role.MENTOR)], locale=locale)
        profile = None
    if profile is None:
        profile = MentorProfile(user_id=user.id)
        db.session.add(profile)
    _fill(profile, data, found_themes, domains, languages, employer)
    db.session.flush()
    audit.record("mentor_profiles.added", profile, actor=actor, user_id=user.id,
                 themes=[t.code for t in found_themes], capacity=profile.capacity)
    if created:
        token = tokens.issue(user, TokenPurpose.INVITATION)
        lifetime = current_app.config["TOKEN_LIFETIMES"][str(TokenPurpose.INVITATION)]
        notify(user, _l("Your opsapp account is ready: choose your password"), "invitation",
               in_app=False, link=url_for("accounts.reset_password", token=token),
               valid_days=max(1, lifetime.days))
        audit.record("user.invited", user, actor=actor)
    else:
        notify(user, _l("You are now a mentor on opsapp"), "mentor_role_added",
               link=url_for("cohorts.mentor_profile"))
    return Invitation(user, profile, created)


def _fill(profile: MentorProfile, data: ProfileData, found_themes, domains, languages, employer) -> dict:
    changes = {}
    values = {"languages": languages, "capacity": data.capacity,
              "availability": (data.availability or "").strip() or None, "bio": (data.bio or "").strip() or None,
              "organisation_id": employer.id if employer else None, "active": bool(data.active)}
    for name, value in values.items():
        if getattr(profile, name) != value:
            changes[name] = [getattr(profile, name), value]
            setattr(profile, name, value)
    before_t, before_d = sorted(t.code for t in profile.themes), sorted(d.code for d in profile.s3_domains)
    profile.themes, profile.s3_domains = list(found_themes), list(domains)
    if before_t != sorted(t.code for t in found_themes):
        changes["themes"] = [before_t, sorted(t.code for t in found_themes)]
    if before_d != sorted(d.code for d in domains):
        changes["s3_domains"] = [before_d, sorted(d.code for d in domains)]
    return changes


# --- the profile -------------------------------------------------------------------------------------------


def profile_for_staff(actor, mentor_id: int) -> MentorProfile:
    _require_staff(actor)
    profile = db.session.scalar(_profiles_query().where(MentorProfile.id == mentor_id))
    if profile is None:
        abort(404)
    return profile


def own_profile(user) -> MentorProfile | None:
    return db.session.scalar(_profiles_query().where(MentorProfile.user_id == user.id))


def _editable(actor, mentor_id: int | None) -> MentorProfile | None:
    """The profile the actor may change: staff any, a mentor their own (None: not created yet)."""
    if mentor_id is None:
        if not actor.has_role(Role.MENTOR):
            abort(403)
        return own_profile(actor)
    profile = db.session.get(MentorProfile, mentor_id)
    if profile is None or not (is_staff(actor) or profile.user_id == actor.id):
        abort(404)
    return profile


def save_profile(actor, mentor_id: int | None, data: ProfileData) -> MentorProfile:
    """Save a mentor's profile: `mentor_id` None for the actor's own (created when missing)."""
    profile = _editable(actor, mentor_id)
    found_themes, domains, languages, employer = _check_profile(data)
    if profile is None:
        profile = MentorProfile(user_id=actor.id)
        db.session.add(profile)
    if not is_staff(actor):
        data.active = profile.active if profile.id is not None else True  # only staff take a mentor off the pool
    changes = _fill(profile, data, found_themes, domains, languages, employer)
    db.session.flush()
    if changes:
        audit.record("mentor_profiles.updated", profile, actor=actor, changes=changes)
        if profile.user_id != actor.id:
            notify(profile.user, _l("Your mentor profile was updated"), "mentor_profile_updated",
                   link=path_for("cohorts.mentor_profile"), changed_by=actor.display_name)
    return profile


@dataclass
class ConflictRow:
    conflict: MentorConflict
    organisation: Organisation


def conflicts_of(profile: MentorProfile) -> list[ConflictRow]:
    rows = db.session.execute(
        select(MentorConflict, Organisation).join(Organisation, Organisation.id == MentorConflict.organisation_id)
        .where(MentorConflict.mentor_id == profile.id).order_by(Organisation.legal_name)).all()
    return [ConflictRow(c, o) for c, o in rows]


def add_conflict(actor, mentor_id: int | None, vat: str | None, reason: str | None) -> ConflictRow:
    profile = _editable(actor, mentor_id)
    if profile is None:
        raise CohortError(_l("Save your profile first, then declare your conflicts of interest."))
    reason = (reason or "").strip()
    if not reason:
        raise CohortError(_l("Say briefly why there is a conflict of interest."), "reason")
    if len(reason) > REASON_MAX:
        raise CohortError(_l("Keep the reason within %(num)d characters.", num=REASON_MAX), "reason")
    organisation = organisation_by_vat(vat)
    if organisation is None:
        raise CohortError(_l("No organisation with this VAT number is registered. Check the number."), "vat")
    existing = db.session.get(MentorConflict, (profile.id, organisation.id))
    if existing is not None:
        raise CohortError(_l("A conflict with %(organisation)s is declared already.",
                             organisation=organisation.legal_name), "vat")
    conflict = MentorConflict(mentor_id=profile.id, organisation_id=organisation.id, reason=reason)
    db.session.add(conflict)
    db.session.flush()
    audit.record("mentor_profiles.conflict_declared", profile, actor=actor, organisation_id=organisation.id,
                 organisation=organisation.legal_name, reason=reason)
    # A proposal not confirmed yet that pairs the mentor with that company goes.
    for proposal in db.session.scalars(
            select(Mentorship).join(CohortMember, CohortMember.id == Mentorship.member_id)
            .where(Mentorship.mentor_id == profile.id, Mentorship.confirmed_at.is_(None),
                   CohortMember.organisation_id == organisation.id)):
        audit.record("mentorships.proposal_dropped", proposal, actor=actor, why="conflict declared")
        db.session.delete(proposal)
    db.session.flush()
    return ConflictRow(conflict, organisation)


def remove_conflict(actor, mentor_id: int | None, organisation_id: int) -> None:
    profile = _editable(actor, mentor_id)
    conflict = db.session.get(MentorConflict, (profile.id, organisation_id)) if profile else None
    if conflict is None:
        raise CohortError(_l("This conflict of interest is not declared (any more)."))
    db.session.delete(conflict)
    db.session.flush()
    audit.record("mentor_profiles.conflict_removed", profile, actor=actor, organisation_id=organisation_id)


# --- matching ------------------------------------------------------------------------------------------------


def linked_organisations(organisation_ids) -> dict[int, set[int]]:
    """Each organisation with those linked to it by ownership (either side recording the link by VAT)."""
    wanted = set(organisation_ids)
    result = {o: {o} for o in wanted}
    if not wanted:
        return result
    by_key: dict[str, set[int]] = defaultdict(set)
    vat_of = dict(db.session.execute(select(Organisation.id, Organisation.vat_number)).all())
    for org_id, vat in vat_of.items():
        for key in vat_keys(vat):
            by_key[key].add(org_id)
    for org_id, vat in db.session.execute(
            select(OwnershipLink.organisation_id, OwnershipLink.enterprise_vat)
            .where(OwnershipLink.enterprise_vat.is_not(None))).all():
        others = {o for key in vat_keys(vat) for o in by_key.get(key, ())} - {org_id}
        for other in others:
            if org_id in wanted:
                result[org_id].add(other)
            if other in wanted:
                result[other].add(org_id)
    return result


@dataclass
class Choice:
    """A company without a mentor on the matching page."""

    member: CohortMember
    company: matching.Company
    mentor: MentorProfile | None  # the saved proposal, or the one computed now
    fit: matching.Fit | None
    saved: bool  # a proposal saved earlier (otherwise computed for this page)
    reason: str | None  # why no mentor is proposed
    options: list[tuple[MentorProfile, matching.Option]]  # the mentors staff may choose, best first


@dataclass
class Confirmed:
    mentorship: Mentorship
    fit: matching.Fit
    conflict: str | None  # a conflict that appeared after the confirmation


@dataclass
class Workspace:
    cohort: Cohort
    confirmed: list[Confirmed]
    choices: list[Choice]
    mentors: dict[int, MentorProfile]  # the pool, by profile id
    room: dict[int, int]  # places left of each mentor, before the choices of this page
    themes: dict[int, CoachingTheme]
    s3_names: dict[str, str]  # S3 domain code -> name in the user's language

    @property
    def open(self) -> bool:
        return self.cohort.status != CohortStatus.COMPLETED


def _company(member: CohortMember, people: dict[int, list[User]], linked: dict[int, set[int]]) -> matching.Company:
    languages = {u.locale for u in people.get(member.organisation_id, []) if u.locale} or {"it"}
    return matching.Company(
        id=member.id, needs={n.theme_id: n.level for n in member.needs},
        s3_domains=frozenset(d.code for d in member.organisation.s3_domains),
        languages=frozenset(languages),
        organisation_ids=frozenset(linked.get(member.organisation_id, {member.organisation_id})))


def _mentor(profile: MentorProfile, room: int, load: int, memberships: dict[int, set[int]],
            declared: dict[int, set[int]]) -> matching.Mentor:
    organisations = set(memberships.get(profile.user_id, set()))
    if profile.organisation_id:
        organisations.add(profile.organisation_id)
    return matching.Mentor(
        id=profile.id, themes=frozenset(t.id for t in profile.themes),
        s3_domains=frozenset(d.code for d in profile.s3_domains), languages=frozenset(profile.languages or ()),
        capacity_left=max(room, 0), organisation_ids=frozenset(organisations),
        declared=frozenset(declared.get(profile.id, set())), load=load)


@dataclass
class _Loaded:
    cohort: Cohort
    members: list[CohortMember]
    mentorships: list[Mentorship]
    pool: dict[int, MentorProfile]
    active: set[int]  # the profiles in the pool now (the others only have pairs in this cohort)
    companies: dict[int, matching.Company]
    mentors: dict[int, matching.Mentor]  # capacity left before this cohort's proposals
    loads: dict[int, int]


def _load(cohort_id: int) -> _Loaded:
    cohort = db.session.scalar(select(Cohort).where(Cohort.id == cohort_id).options(selectinload(Cohort.themes)))
    if cohort is None:
        abort(404)
    members = list(db.session.scalars(
        select(CohortMember).where(CohortMember.cohort_id == cohort.id)
        .options(joinedload(CohortMember.organisation), selectinload(CohortMember.needs))))
    members.sort(key=lambda m: (m.organisation.legal_name.lower(), m.id))
    mentorships = list(db.session.scalars(
        select(Mentorship).where(Mentorship.member_id.in_([m.id for m in members]))
        .options(joinedload(Mentorship.mentor).joinedload(MentorProfile.user)).order_by(Mentorship.id))) \
        if members else []
    profiles = [p for p in db.session.scalars(_profiles_query()).unique() if in_pool(p)]
    # Mentors of this cohort's pairs stay known even when they left the pool since.
    pool = {p.id: p for p in profiles}
    for mentorship in mentorships:
        pool.setdefault(mentorship.mentor_id, mentorship.mentor)
    current = loads(list(pool))
    user_ids = [p.user_id for p in pool.values()]
    memberships: dict[int, set[int]] = defaultdict(set)
    for user_id, org_id in db.session.execute(select(Membership.user_id, Membership.organisation_id)
                                              .where(Membership.user_id.in_(user_ids))).all():
        memberships[user_id].add(org_id)
    declared: dict[int, set[int]] = defaultdict(set)
    for mentor_id, org_id in db.session.execute(select(MentorConflict.mentor_id, MentorConflict.organisation_id)
                                                .where(MentorConflict.mentor_id.in_(list(pool)))).all():
        declared[mentor_id].add(org_id)
    people = people_of(m.organisation_id for m in members)
    linked = linked_organisations(m.organisation_id for m in members)
    companies = {m.id: _company(m, people, linked) for m in members}
    active = {p.id for p in profiles}
    mentors = {pid: _mentor(p, (p.capacity - current.get(pid, 0)) if pid in active else 0,
                            current.get(pid, 0), memberships, declared) for pid, p in pool.items()}
    return _Loaded(cohort, members, mentorships, pool, active, companies, mentors, current)


def _with_room(mentors: dict[int, matching.Mentor], taken: dict[int, int]) -> list[matching.Mentor]:
    return [matching.Mentor(m.id, m.themes, m.s3_domains, m.languages, max(m.capacity_left - taken.get(m.id, 0), 0),
                            m.organisation_ids, m.declared, m.load + taken.get(m.id, 0)) for m in mentors.values()]


def _needing(loaded: _Loaded) -> list[CohortMember]:
    mentored = {m.member_id for m in loaded.mentorships if m.confirmed_at is not None and m.ended_at is None}
    return [m for m in loaded.members if m.completion == CompletionStatus.IN_PROGRESS.value and m.id not in mentored]


def workspace(actor, cohort_id: int, locale: str = "en") -> Workspace:
    _require_staff(actor)
    loaded = _load(cohort_id)
    confirmed = [Confirmed(ms, matching.fit(loaded.companies[ms.member_id], loaded.mentors[ms.mentor_id]),
                           matching.conflict(loaded.companies[ms.member_id], loaded.mentors[ms.mentor_id]))
                 for ms in loaded.mentorships if ms.confirmed_at is not None and ms.ended_at is None]
    needing = _needing(loaded) if loaded.cohort.status != CohortStatus.COMPLETED else []
    saved = {ms.member_id: ms for ms in loaded.mentorships if ms.confirmed_at is None and ms.member_id in
             {m.id for m in needing}}
    taken: dict[int, int] = defaultdict(int)
    for ms in saved.values():
        taken[ms.mentor_id] += 1
    remaining = _with_room(loaded.mentors, taken)
    proposal = matching.propose([loaded.companies[m.id] for m in needing if m.id not in saved], remaining)
    choices = []
    for member in needing:
        company = loaded.companies[member.id]
        if member.id in saved:
            mentor_id, is_saved, reason = saved[member.id].mentor_id, True, None
        else:
            mentor_id, is_saved = proposal.mentor_of(member.id), False
            reason = proposal.unmatched.get(member.id)
        mentor = loaded.pool.get(mentor_id) if mentor_id else None
        chosen_fit = matching.fit(company, loaded.mentors[mentor_id]) if mentor_id else None
        options = [(loaded.pool[o.mentor_id], o) for o in matching.options(company, loaded.mentors.values())]
        choices.append(Choice(member, company, mentor, chosen_fit, is_saved, reason, options))
    themes = {t.id: t for t in db.session.scalars(select(CoachingTheme))}
    s3_names = {d.code: d.name(locale) for d in db.session.scalars(select(S3Domain))}
    return Workspace(loaded.cohort, confirmed, choices, loaded.pool,
                     {pid: m.capacity_left for pid, m in loaded.mentors.items()}, themes, s3_names)


@dataclass
class Saved:
    confirmed: list[Mentorship]
    proposed: list[Mentorship]


REFUSALS = {
    matching.UNKNOWN_MENTOR: _l("this mentor is not in the pool"),
    matching.CONFLICT: _l("this mentor has a conflict of interest with the company"),
    matching.OVER_CAPACITY: _l("this mentor has no place left for one more company"),
}


def save_choices(actor, cohort_id: int, choices: dict[int, int | None], *, confirm: bool) -> Saved:
    """Save staff's choice of mentor for the companies without one, as proposals or confirmed.

    Only the proposals not confirmed are replaced; a confirmed mentorship stays until ended.
    """
    _require_staff(actor)
    loaded = _load(cohort_id)
    if loaded.cohort.status == CohortStatus.COMPLETED:
        raise CohortError(_l("The cohort is completed: mentors can no longer be matched."))
    needing = {m.id: m for m in _needing(loaded)}
    wanted = {member_id: mentor_id for member_id, mentor_id in choices.items() if member_id in needing}
    refused = matching.check_choices(wanted, [loaded.companies[i] for i in needing],
                                     [m for m in loaded.mentors.values() if m.id in loaded.active])
    if refused:
        member_id = min(refused)
        reason, mentor_id = refused[member_id]
        mentor = loaded.pool.get(mentor_id)
        raise CohortError(_l("%(company)s: %(reason)s (%(mentor)s).", company=needing[member_id].name,
                             reason=REFUSALS[reason], mentor=mentor.user.display_name if mentor else mentor_id),
                          f"mentor_{member_id}")
    rows = defaultdict(dict)
    for ms in loaded.mentorships:
        rows[ms.member_id][ms.mentor_id] = ms
    # Proposals not confirmed that are not chosen again go first (flushed before any insert).
    for member_id in needing:
        for mentor_id, ms in list(rows[member_id].items()):
            if ms.confirmed_at is None and wanted.get(member_id) != mentor_id:
                db.session.delete(ms)
                del rows[member_id][mentor_id]
    db.session.flush()
    now = utcnow()
    done = Saved([], [])
    for member_id in sorted(needing):
        mentor_id = wanted.get(member_id)
        if mentor_id is None:
            continue
        fit = matching.fit(loaded.companies[member_id], loaded.mentors[mentor_id])
        ms = rows[member_id].get(mentor_id)
        if ms is None:
            ms = Mentorship(member_id=member_id, mentor_id=mentor_id)
            db.session.add(ms)
        ms.fit = fit.total
        ms.ended_at = None  # a mentorship ended earlier and chosen again starts anew
        if confirm:
            ms.confirmed_at, ms.confirmed_by_id = now, actor.id
            done.confirmed.append(ms)
        else:
            ms.confirmed_at, ms.confirmed_by_id = None, None
            done.proposed.append(ms)
    db.session.flush()
    for ms in done.proposed:
        audit.record("mentorships.proposed", ms, actor=actor, member_id=ms.member_id, mentor_id=ms.mentor_id,
                     fit=ms.fit)
    for ms in done.confirmed:
        audit.record("mentorships.confirmed", ms, actor=actor, member_id=ms.member_id, mentor_id=ms.mentor_id,
                     fit=ms.fit)
    if done.confirmed:
        summary = "; ".join(f"{needing[ms.member_id].name}: {loaded.pool[ms.mentor_id].user.display_name}"
                            for ms in done.confirmed)
        audit.record("cohorts.mentors_confirmed", loaded.cohort, actor=actor, count=len(done.confirmed),
                     summary=summary)
        _tell_confirmed(loaded, needing, done.confirmed)
    return done


def _tell_confirmed(loaded: _Loaded, needing: dict[int, CohortMember], confirmed: list[Mentorship]) -> None:
    cohort = loaded.cohort
    by_mentor: dict[int, list[CohortMember]] = defaultdict(list)
    for ms in confirmed:
        by_mentor[ms.mentor_id].append(needing[ms.member_id])
    for mentor_id, members in by_mentor.items():
        profile = loaded.pool[mentor_id]
        notify(profile.user, _l("Your companies in %(cohort)s", cohort=cohort.name), "mentor_companies_assigned",
               link=path_for("cohorts.detail", cohort_id=cohort.id), cohort=cohort,
               companies=[m.name for m in members])
    people = people_of(needing[ms.member_id].organisation_id for ms in confirmed)
    for ms in confirmed:
        member, profile = needing[ms.member_id], loaded.pool[ms.mentor_id]
        link = path_for("cohorts.member", cohort_id=cohort.id, member_id=member.id)
        for user in people.get(member.organisation_id, []):
            notify(user, _l("Your mentor in %(cohort)s", cohort=cohort.name), "cohort_mentor_assigned", link=link,
                   cohort=cohort, organisation=member.organisation, mentor=profile)


def drop_proposals(actor, cohort_id: int) -> int:
    """Forget the proposals not confirmed, so that the page proposes afresh; returns how many."""
    _require_staff(actor)
    loaded = _load(cohort_id)
    dropped = 0
    for ms in loaded.mentorships:
        if ms.confirmed_at is None:
            audit.record("mentorships.proposal_dropped", ms, actor=actor, why="proposed again")
            db.session.delete(ms)
            dropped += 1
    db.session.flush()
    return dropped


def end_mentorship(actor, cohort_id: int, mentorship_id: int) -> Mentorship:
    _require_staff(actor)
    ms = db.session.scalar(
        select(Mentorship).join(CohortMember, CohortMember.id == Mentorship.member_id)
        .where(Mentorship.id == mentorship_id, CohortMember.cohort_id == cohort_id)
        .options(joinedload(Mentorship.member).joinedload(CohortMember.organisation),
                 joinedload(Mentorship.member).joinedload(CohortMember.cohort),
                 joinedload(Mentorship.mentor).joinedload(MentorProfile.user)))
    if ms is None:
        abort(404)
    if ms.confirmed_at is None or ms.ended_at is not None:
        raise CohortError(_l("This mentorship is not running: there is nothing to end."))
    ms.ended_at = utcnow()
    db.session.flush()
    cohort, member = ms.member.cohort, ms.member
    audit.record("mentorships.ended", ms, actor=actor, member_id=member.id, mentor_id=ms.mentor_id)
    audit.record("cohorts.mentorship_ended", cohort, actor=actor,
                 summary=f"{member.name}: {ms.mentor.user.display_name}")
    subject = _l("Mentorship ended in %(cohort)s", cohort=cohort.name)
    notify(ms.mentor.user, subject, "mentorship_ended", link=path_for("cohorts.detail", cohort_id=cohort.id),
           cohort=cohort, organisation=member.organisation, mentor=ms.mentor, for_mentor=True)
    for user in people_of([member.organisation_id]).get(member.organisation_id, []):
        notify(user, subject, "mentorship_ended", link=path_for("cohorts.member", cohort_id=cohort.id,
                                                                member_id=member.id),
               cohort=cohort, organisation=member.organisation, mentor=ms.mentor, for_mentor=False)
    return ms

