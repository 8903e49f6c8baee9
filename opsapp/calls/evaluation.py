"""Use cases of the evaluation: the pool of evaluators and their invitation, the assignment of
evaluators to applications (proposal, adjustment, confirmation, removal, reminders and
progress), the conflict-of-interest declaration, and the scoring of one application.

Each function loads what it needs, checks who may act (staff for the pool and the
assignments; only the assigned evaluator for a declaration or a score; staff read every
evaluation), calls the pure rules of `assignment.py` and `scoring.py`, changes statuses
through `states.transition`, records the audit log, queues the notifications and
flushes; the caller commits once. An evaluator sees nothing of an application before
declaring no conflict of interest, nothing after declaring one, nothing of applications
not assigned to them, and other evaluators' scores only once their own are submitted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import abort, current_app, url_for
from flask_babel import LazyString, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from opsapp.accounts import tokens
from opsapp.accounts.models import Membership, Organisation, TokenPurpose, User, UserRole
from opsapp.accounts.services import find_by_email, normalise_email
from opsapp.calls import applying, scoring
from opsapp.calls import assignment as rules
from opsapp.calls.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    Eligibility,
    EvaluatorProfile,
    QuestionKind,
    Score,
    evaluator_s3_domains,
)
from opsapp.calls.permissions import is_staff
from opsapp.calls.states import transition
from opsapp.core import audit
from opsapp.core.models import StoredFile
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import deny, require
from opsapp.core.roles import Role
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import to_local, utcnow
from opsapp.extensions import db


class EvaluationError(Exception):
    """A refusal with a message for the user, and the form field it concerns if any."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class DeclarationNeeded(Exception):
    """The evaluator has not declared yet whether they have a conflict of interest."""


# Calls whose evaluators may be assigned, and whose evaluators may declare and score.
ASSIGNABLE = (CallStatus.CLOSED, CallStatus.IN_EVALUATION)
PENDING = (AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED)

LANGUAGES = {
    "en": _l("English"),
    "it": _l("Italian"),
    "fr": _l("French"),
    "de": _l("German"),
    "es": _l("Spanish"),
}

CONFLICT_LABELS = {
    rules.MEMBER: _l("member of the applicant organisation"),
    rules.LINKED: _l("member of an organisation linked to the applicant by ownership"),
    rules.DECLARED: _l("declared a conflict of interest on this application"),
}

REFUSAL_LABELS = {
    rules.UNKNOWN_EVALUATOR: _l("not an active evaluator of the pool"),
    rules.NOT_TO_COVER: _l("the application is not one to assign (not submitted, or ineligible)"),
    rules.ALREADY_ASSIGNED: _l("already assigned to it, or removed from it earlier"),
    rules.APPLICATION_FULL: _l("the application already has the evaluators it needs; remove one first"),
    rules.NO_ROOM: _l("reached the maximum number of assignments of their profile"),
}

DECLARATION_TEXT = _l(
    "I declare that I have no conflict of interest with this applicant: in the last three years I have "
    "had no family, financial or professional link with the applicant organisation, its owners, its "
    "managers or its staff, and I have no interest in the outcome of this application. I will keep "
    "confidential everything I read in the application and in the evaluation, use it only for this "
    "evaluation, and tell the programme staff at once if a conflict appears later.")

COMMENT_MAX = 5000
REASON_MAX = 2000


def _require_staff(actor) -> None:
    require(is_staff(actor))


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


def conflict_label(code: str | None) -> str:
    return str(CONFLICT_LABELS.get(code, code or ""))


def deadline_text(call: Call) -> LazyString | None:
    """The evaluation deadline in the call's time zone, worded in the reader's language when rendered."""
    if call.evaluation_deadline is None:
        return None
    local = to_local(call.evaluation_deadline, call.timezone)
    return LazyString(lambda: format_datetime(local, "EEE d MMMM y, HH:mm zzz", rebase=False))


# --- the pool of evaluators -----------------------------------------------------------


POOL_STATUSES = ("active", "inactive")


@dataclass
class EvaluatorFilters:
    q: str = ""
    s3_domain: str = ""
    status: str = ""

    def as_args(self) -> dict:
        return {k: v for k, v in (("q", self.q), ("s3_domain", self.s3_domain), ("status", self.status)) if v}


@dataclass
class PoolEntry:
    user: User
    profile: EvaluatorProfile | None
    organisations: list[Organisation]
    pending: int  # assignments to declare or to score, in every call
    submitted: int

    @property
    def active(self) -> bool:
        return self.user.is_active and (self.profile is None or self.profile.active)


def _evaluator_ids():
    return select(UserRole.user_id).where(UserRole.role == str(Role.EVALUATOR))


def _pool_query(filters: EvaluatorFilters):
    stmt = (select(User).outerjoin(EvaluatorProfile, EvaluatorProfile.user_id == User.id)
            .where(User.id.in_(_evaluator_ids()), User.erased_at.is_(None)))
    q = (filters.q or "").strip().lower()
    if q:
        pattern = "%" + q.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        stmt = stmt.where(or_(func.lower(User.full_name).like(pattern, escape="!"),
                              func.lower(User.email).like(pattern, escape="!"),
                              func.lower(func.coalesce(EvaluatorProfile.expertise, "")).like(pattern, escape="!")))
    if filters.s3_domain.isdigit():
        stmt = stmt.where(EvaluatorProfile.id.in_(
            select(evaluator_s3_domains.c.evaluator_profile_id)
            .where(evaluator_s3_domains.c.s3_domain_id == int(filters.s3_domain))))
    if filters.status == "active":
        stmt = stmt.where(User.disabled_at.is_(None),
                          or_(EvaluatorProfile.id.is_(None), EvaluatorProfile.active.is_(True)))
    elif filters.status == "inactive":
        stmt = stmt.where(or_(User.disabled_at.is_not(None), EvaluatorProfile.active.is_(False)))
    return stmt.order_by(func.lower(User.full_name), User.id)


def _organisations_of(user_ids) -> dict[int, list[Organisation]]:
    found: dict[int, list[Organisation]] = defaultdict(list)
    if not user_ids:
        return found
    rows = db.session.scalars(
        select(Membership).where(Membership.user_id.in_(list(user_ids)))
        .options(selectinload(Membership.organisation).selectinload(Organisation.ownership_links))
        .order_by(Membership.id))
    for m in rows:
        found[m.user_id].append(m.organisation)
    return found


def _profiles_of(user_ids) -> dict[int, EvaluatorProfile]:
    if not user_ids:
        return {}
    return {p.user_id: p for p in db.session.scalars(
        select(EvaluatorProfile).where(EvaluatorProfile.user_id.in_(list(user_ids))))}


def evaluator_pool(actor, filters: EvaluatorFilters, per_page: int = 25) -> Page:
    """The evaluators matching the filters, a page of PoolEntry; the queries do not grow with the rows."""
    _require_staff(actor)
    page = paginate(_pool_query(filters), per_page)
    ids = [u.id for u in page.items]
    profiles = _profiles_of(ids)
    organisations = _organisations_of(ids)
    counts: dict[tuple[int, str], int] = {}
    if ids:
        counts = {(e, s): n for e, s, n in db.session.execute(
            select(Assignment.evaluator_id, Assignment.status, func.count(Assignment.id))
            .where(Assignment.evaluator_id.in_(ids)).group_by(Assignment.evaluator_id, Assignment.status))}
    page.items = [PoolEntry(
        user=u, profile=profiles.get(u.id), organisations=organisations.get(u.id, []),
        pending=sum(counts.get((u.id, str(s)), 0) for s in PENDING),
        submitted=counts.get((u.id, str(AssignmentStatus.SUBMITTED)), 0)) for u in page.items]
    return page


def _s3_domains(ids) -> list:
    from opsapp.accounts.models import S3Domain

    wanted = {int(i) for i in ids or ()}
    if not wanted:
        return []
    return list(db.session.scalars(select(S3Domain).where(S3Domain.id.in_(wanted)).order_by(S3Domain.id)))


def _clean_languages(languages) -> list[str]:
    return [code for code in LANGUAGES if code in set(languages or ())]


def _send_invitation(user: User) -> None:
    """The invitation administrators send (same e-mail, same single-use link), for an evaluator."""
    token = tokens.issue(user, TokenPurpose.INVITATION)
    lifetime = current_app.config["TOKEN_LIFETIMES"][str(TokenPurpose.INVITATION)]
    notify(user, _l("Your opsapp account is ready: choose your password"), "invitation",
           in_app=False, link=url_for("accounts.reset_password", token=token),
           valid_days=max(1, lifetime.days))


@dataclass
class Invitation:
    user: User
    created: bool  # a new account; otherwise the role was added to an existing one


def invite_evaluator(actor, *, full_name: str, email: str, s3_domain_ids=(), languages=("en", "it"),
                     locale: str | None = None) -> Invitation:
    """Create an evaluator's account and send the invitation; an existing person gets the role added.

    Staff may do this (creating other kinds of account stays with administrators): the
    new account holds only the evaluator role.
    """
    _require_staff(actor)
    email = normalise_email(email)
    name = (full_name or "").strip()
    if not email or "@" not in email:
        raise EvaluationError(_l("Enter the evaluator's e-mail address."), "email")
    if not name:
        raise EvaluationError(_l("Enter the evaluator's name."), "full_name")
    domains = _s3_domains(s3_domain_ids)
    existing = find_by_email(email)
    if existing is not None:
        if existing.erased_at is not None:
            raise EvaluationError(_l("This address belonged to an erased account; it cannot be invited."), "email")
        if existing.has_role(Role.EVALUATOR):
            raise EvaluationError(_l("%(name)s (%(email)s) is already in the pool of evaluators.",
                                     name=existing.display_name, email=existing.email), "email")
        before = sorted(r.role for r in existing.role_rows)
        existing.set_roles({*existing.roles, Role.EVALUATOR})
        db.session.flush()
        profile = _ensure_profile(existing, domains, languages)
        audit.record("user.roles_changed", existing, actor=actor, before=before,
                     after=sorted(r.role for r in existing.role_rows), why="invited as evaluator")
        audit.record("evaluator.added", profile, actor=actor, user_id=existing.id,
                     s3_domains=[d.code for d in domains])
        notify(existing, _l("You are now an evaluator on opsapp"), "evaluation_role_added",
               link=url_for("calls.my_assignments"))
        return Invitation(existing, created=False)

    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    user = User(email=email, full_name=name, password_hash=None, locale=locale)
    user.set_roles({Role.EVALUATOR})
    try:
        # A savepoint: if someone registered the same address a moment ago, the unique
        # constraint refuses this one and the rest of the transaction survives.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise EvaluationError(_l("Another account already uses this e-mail address."), "email") from None
    profile = _ensure_profile(user, domains, languages)
    audit.record("user.created", user, actor=actor, roles=[str(Role.EVALUATOR)], locale=locale)
    audit.record("evaluator.added", profile, actor=actor, user_id=user.id, s3_domains=[d.code for d in domains])
    _send_invitation(user)
    audit.record("user.invited", user, actor=actor)
    return Invitation(user, created=True)


def _ensure_profile(user: User, domains, languages) -> EvaluatorProfile:
    profile = db.session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == user.id))
    if profile is None:
        profile = EvaluatorProfile(user_id=user.id, languages=_clean_languages(languages) or ["en"], active=True)
        profile.s3_domains = list(domains)
        db.session.add(profile)
    else:
        have = {d.id for d in profile.s3_domains}
        profile.s3_domains = list(profile.s3_domains) + [d for d in domains if d.id not in have]
        profile.active = True
    db.session.flush()
    return profile


def evaluator_for_profile(actor, user_id: int) -> tuple[User, EvaluatorProfile | None, list[Organisation]]:
    _require_staff(actor)
    user = db.session.get(User, user_id)
    if user is None or user.erased_at is not None or not user.has_role(Role.EVALUATOR):
        abort(404)
    return user, _profiles_of([user.id]).get(user.id), _organisations_of([user.id]).get(user.id, [])


@dataclass
class ProfileData:
    expertise: str | None
    s3_domain_ids: list[int]
    languages: list[str]
    max_assignments: int | None
    active: bool


def save_profile(actor, user: User, data: ProfileData) -> EvaluatorProfile:
    _require_staff(actor)
    if not user.has_role(Role.EVALUATOR):
        abort(404)
    if data.max_assignments is not None and not (1 <= data.max_assignments <= 500):
        raise EvaluationError(_l("Enter a number from 1 to 500, or leave it empty for no limit."), "max_assignments")
    languages = _clean_languages(data.languages)
    if not languages:
        raise EvaluationError(_l("Choose at least one language the evaluator reads."), "languages")
    expertise = (data.expertise or "").strip() or None
    if expertise and len(expertise) > 2000:
        raise EvaluationError(_l("Write at most 2,000 characters."), "expertise")
    profile = db.session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == user.id))
    created = profile is None
    if created:
        profile = EvaluatorProfile(user_id=user.id)
        db.session.add(profile)
    before = {} if created else {
        "expertise": profile.expertise, "languages": list(profile.languages or []),
        "max_assignments": profile.max_assignments, "active": profile.active,
        "s3_domains": sorted(d.code for d in profile.s3_domains)}
    domains = _s3_domains(data.s3_domain_ids)
    profile.expertise = expertise
    profile.languages = languages
    profile.max_assignments = data.max_assignments
    profile.active = bool(data.active)
    profile.s3_domains = domains
    db.session.flush()
    after = {"expertise": profile.expertise, "languages": languages, "max_assignments": profile.max_assignments,
             "active": profile.active, "s3_domains": sorted(d.code for d in domains)}
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        audit.record("evaluator.profile_saved", profile, actor=actor, user_id=user.id, changes=changes)
    return profile


# --- what the proposal and the progress are computed from -----------------------------


@dataclass
class EvaluatorInfo:
    user: User
    profile: EvaluatorProfile | None
    organisations: list[Organisation]
    in_pool: bool  # holds the evaluator role, account and profile active

    @property
    def s3_codes(self) -> frozenset[str]:
        return frozenset(d.code for d in self.profile.s3_domains) if self.profile else frozenset()

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.profile.languages or ()) if self.profile else frozenset()

    @property
    def capacity(self) -> int | None:
        return self.profile.max_assignments if self.profile else None

    def ties(self, declared) -> rules.EvaluatorTies:
        return rules.EvaluatorTies(
            organisation_ids=frozenset(o.id for o in self.organisations),
            vat_numbers=frozenset(o.vat_number for o in self.organisations if o.vat_number),
            linked_vats=frozenset(li.enterprise_vat for o in self.organisations for li in o.ownership_links
                                  if li.enterprise_vat),
            declared=frozenset(declared))


@dataclass
class CallEvaluation:
    """Everything of a call's evaluation, loaded in a fixed number of queries."""

    call: Call
    applications: dict[int, Application]  # every non-draft application, by id
    eligible: list[Application]  # submitted and not ineligible, in submission order
    assignments: list[Assignment]
    evaluators: dict[int, EvaluatorInfo]  # the pool, and anyone holding an assignment in the call
    conflicts: dict[tuple[int, int], str]  # (application, evaluator) -> reason, for eligible applications

    @property
    def required(self) -> int:
        return self.call.evaluators_per_application

    def by_application(self) -> dict[int, list[Assignment]]:
        grouped: dict[int, list[Assignment]] = defaultdict(list)
        for a in self.assignments:
            grouped[a.application_id].append(a)
        return grouped

    def active_count(self) -> Counter:
        return Counter(a.application_id for a in self.assignments if a.status in ACTIVE_ASSIGNMENT_STATUSES)

    def loads(self) -> Counter:
        return Counter(a.evaluator_id for a in self.assignments if a.status in ACTIVE_ASSIGNMENT_STATUSES)

    def pool(self) -> list[EvaluatorInfo]:
        return [e for e in self.evaluators.values() if e.in_pool]

    def to_cover(self, application: Application) -> rules.ApplicationToCover:
        language = application.created_by.locale if application.created_by is not None else None
        return rules.ApplicationToCover(application.id, frozenset(d.code for d in application.organisation.s3_domains),
                                        language)

    def available(self) -> list[rules.EvaluatorAvailable]:
        loads = self.loads()
        return [rules.EvaluatorAvailable(e.user.id, e.s3_codes, e.languages, e.capacity, loads[e.user.id])
                for e in self.pool()]

    def existing(self) -> list[rules.ExistingAssignment]:
        return [rules.ExistingAssignment(a.application_id, a.evaluator_id, a.status in ACTIVE_ASSIGNMENT_STATUSES)
                for a in self.assignments]

    def propose(self, *, only: int | None = None, pinned=(), excluded=()) -> rules.AssignmentProposal:
        applications = [a for a in self.eligible if only is None or a.id == only]
        return rules.propose([self.to_cover(a) for a in applications], self.available(), self.required,
                             conflicts=self.conflicts, existing=self.existing(), pinned=pinned, excluded=excluded)


def load_call_evaluation(call: Call) -> CallEvaluation:
    applications = list(db.session.scalars(
        select(Application).where(Application.call_id == call.id, Application.status != str(ApplicationStatus.DRAFT))
        .options(selectinload(Application.organisation).selectinload(Organisation.ownership_links),
                 selectinload(Application.created_by))
        .order_by(Application.submitted_at, Application.id)))
    by_id = {a.id: a for a in applications}
    eligible = [a for a in applications
                if a.status == ApplicationStatus.SUBMITTED and a.eligibility != Eligibility.INELIGIBLE]
    assignments = list(db.session.scalars(
        select(Assignment).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id)
        .options(selectinload(Assignment.scores)).order_by(Assignment.id)))

    pool_users = list(db.session.scalars(
        select(User).where(User.id.in_(_evaluator_ids()), User.erased_at.is_(None), User.disabled_at.is_(None))))
    others = {a.evaluator_id for a in assignments} - {u.id for u in pool_users}
    users = pool_users + (list(db.session.scalars(select(User).where(User.id.in_(others)))) if others else [])
    ids = [u.id for u in users]
    profiles = _profiles_of(ids)
    organisations = _organisations_of(ids)
    pool_ids = {u.id for u in pool_users}
    evaluators = {}
    for u in sorted(users, key=lambda u: (u.full_name.lower(), u.id)):
        profile = profiles.get(u.id)
        evaluators[u.id] = EvaluatorInfo(u, profile, organisations.get(u.id, []),
                                         in_pool=u.id in pool_ids and (profile is None or profile.active))

    declared: dict[int, set[int]] = defaultdict(set)
    for a in assignments:
        if a.status == AssignmentStatus.CONFLICT:
            declared[a.evaluator_id].add(a.application_id)
    conflicts = {}
    ties = {e: info.ties(declared.get(e, ())) for e, info in evaluators.items()}
    for application in eligible:
        org = application.organisation
        applicant = rules.ApplicantTies(org.id, org.vat_number,
                                        frozenset(li.enterprise_vat for li in org.ownership_links if li.enterprise_vat))
        for e, evaluator_ties in ties.items():
            reason = rules.conflict_reason(application.id, applicant, evaluator_ties)
            if reason:
                conflicts[(application.id, e)] = reason
    return CallEvaluation(call, by_id, eligible, assignments, evaluators, conflicts)


def call_rules(call: Call) -> scoring.CallRules:
    return scoring.CallRules(
        criteria=tuple(scoring.CriterionRule(c.id, c.weight, c.max_score, c.threshold, c.position)
                       for c in call.criteria),
        aggregation=call.aggregation, divergence=call.divergence, overall_threshold=call.overall_threshold,
        evaluators_required=call.evaluators_per_application)


def _submitted_scores(application_id: int, submitted_at, assignments: list[Assignment]) -> scoring.ApplicationScores:
    per_criterion: dict[int, list[Decimal]] = defaultdict(list)
    done = [a for a in assignments if a.status == AssignmentStatus.SUBMITTED]
    for a in done:
        for s in a.scores:
            if s.value is not None:
                per_criterion[s.criterion_id].append(s.value)
    return scoring.ApplicationScores(application_id, submitted_at or utcnow(), per_criterion, {}, len(done))


# --- the assignment page --------------------------------------------------------------


@dataclass
class ProposedRow:
    application: Application
    assignments: list[Assignment]  # already recorded, active ones first
    needed: int  # evaluators it lacked before the proposal
    proposed: list[rules.ProposedPair]
    shortfall: rules.Shortfall | None
    options: list[tuple[EvaluatorInfo, str | None, int]]  # (evaluator, conflict label, load) that can be added


@dataclass
class EvaluatorProgress:
    evaluator: EvaluatorInfo
    assigned: int  # active: to declare, to score, or submitted
    declared: int  # declared no conflict (to score or submitted)
    conflicts: int
    submitted: int
    last_reminded_at: datetime | None

    @property
    def pending(self) -> int:
        return self.assigned - self.submitted


@dataclass
class ApplicationProgress:
    application: Application
    assignments: list[Assignment]
    required: int
    active: int
    submitted: int
    divergent: bool

    @property
    def complete(self) -> bool:
        return self.submitted >= self.required


@dataclass
class AssignmentWorkspace:
    call: Call
    can_assign: bool
    evaluation: CallEvaluation
    proposal: rules.AssignmentProposal | None
    rows: list[ProposedRow]
    refusals: list[str]
    evaluator_progress: list[EvaluatorProgress]
    application_progress: list[ApplicationProgress]
    conflicts_to_replace: list[Assignment]
    pinned: list[tuple[int, int]]
    excluded: list[tuple[int, int]]
    only: int | None

    @property
    def evaluators(self) -> dict[int, EvaluatorInfo]:
        return self.evaluation.evaluators

    @property
    def eligible_count(self) -> int:
        return len(self.evaluation.eligible)

    @property
    def covered_count(self) -> int:
        active = self.evaluation.active_count()
        return sum(1 for a in self.evaluation.eligible if active[a.id] >= self.evaluation.required)

    @property
    def pending_evaluators(self) -> int:
        return sum(1 for p in self.evaluator_progress if p.pending)

    def state_args(self, *, pin=None, exclude=None, unpin=None) -> dict:
        """The query string of this page with one pair pinned, excluded or unpinned."""
        pins = [p for p in self.pinned if p != unpin and p != exclude]
        excludes = [x for x in self.excluded if x != pin]
        if pin and pin not in pins:
            pins.append(pin)
        if exclude and exclude not in excludes and exclude not in self.pinned:
            excludes.append(exclude)
        args = {"pin": [f"{a}-{e}" for a, e in pins], "exclude": [f"{a}-{e}" for a, e in excludes]}
        if self.only:
            args["application"] = self.only
        return args


def applicant_label(application: Application) -> str:
    """How staff name an application: the organisation and the receipt."""
    if application.receipt_number:
        return f"{application.organisation.legal_name} ({application.receipt_number})"
    return application.organisation.legal_name


def _refusal_text(evaluation: CallEvaluation, refused: rules.RefusedPair) -> str:
    info = evaluation.evaluators.get(refused.evaluator_id)
    who = info.user.display_name if info else str(refused.evaluator_id)
    application = evaluation.applications.get(refused.application_id)
    what = applicant_label(application) if application else str(refused.application_id)
    if refused.reason == rules.CONFLICT:
        why = _l("conflict of interest: %(reason)s", reason=conflict_label(refused.conflict))
    else:
        why = REFUSAL_LABELS.get(refused.reason, refused.reason)
    return str(_l("%(evaluator)s cannot evaluate %(application)s: %(reason)s.", evaluator=who,
                  application=what, reason=why))


def assignment_workspace(actor, call_id: int, *, pinned=(), excluded=(), only: int | None = None) -> AssignmentWorkspace:
    _require_staff(actor)
    call = _call(call_id)
    evaluation = load_call_evaluation(call)
    can_assign = call.status in ASSIGNABLE
    pinned = sorted(set(pinned))
    excluded = sorted(set(excluded) - set(pinned))
    if only is not None and only not in {a.id for a in evaluation.eligible}:
        only = None
    proposal = None
    rows: list[ProposedRow] = []
    refusals: list[str] = []
    grouped = evaluation.by_application()
    if can_assign:
        proposal = evaluation.propose(only=only, pinned=pinned, excluded=excluded)
        refusals = [_refusal_text(evaluation, r) for r in proposal.refused]
        pinned = [(p.application_id, p.evaluator_id) for p in proposal.pairs if p.pinned]
        shortfalls = {s.application_id: s for s in proposal.shortfalls}
        loads = proposal.loads
        pool = evaluation.pool()
        for application in evaluation.eligible:
            needed = proposal.needed.get(application.id, 0)
            if needed <= 0 or (only is not None and application.id != only):
                continue
            mine = proposal.for_application(application.id)
            taken = {a.evaluator_id for a in grouped.get(application.id, [])} | {p.evaluator_id for p in mine}
            options = [(e, conflict_label(evaluation.conflicts.get((application.id, e.user.id)))
                        if (application.id, e.user.id) in evaluation.conflicts else None,
                        loads.get(e.user.id, 0)) for e in pool if e.user.id not in taken]
            current = sorted(grouped.get(application.id, []),
                             key=lambda a: (a.status not in ACTIVE_ASSIGNMENT_STATUSES, a.id))
            rows.append(ProposedRow(application, current, needed, mine, shortfalls.get(application.id), options))
    progress_e, progress_a, to_replace = _progress(evaluation)
    return AssignmentWorkspace(call, can_assign, evaluation, proposal, rows, refusals, progress_e, progress_a,
                               to_replace, pinned, excluded, only)


def _progress(evaluation: CallEvaluation):
    per_evaluator: dict[int, list[Assignment]] = defaultdict(list)
    for a in evaluation.assignments:
        per_evaluator[a.evaluator_id].append(a)
    evaluator_rows = []
    for e, info in evaluation.evaluators.items():
        mine = per_evaluator.get(e)
        if not mine:
            continue
        statuses = Counter(a.status for a in mine)
        reminded = [a.last_reminded_at for a in mine if a.last_reminded_at]
        evaluator_rows.append(EvaluatorProgress(
            info, assigned=sum(statuses[str(s)] for s in ACTIVE_ASSIGNMENT_STATUSES),
            declared=statuses[str(AssignmentStatus.ACCEPTED)] + statuses[str(AssignmentStatus.SUBMITTED)],
            conflicts=statuses[str(AssignmentStatus.CONFLICT)], submitted=statuses[str(AssignmentStatus.SUBMITTED)],
            last_reminded_at=max(reminded) if reminded else None))

    rules_ = call_rules(evaluation.call)
    grouped = evaluation.by_application()
    required = evaluation.required
    application_rows = []
    shown = [a for a in evaluation.applications.values() if a in evaluation.eligible or grouped.get(a.id)]
    for application in shown:
        mine = grouped.get(application.id, [])
        active = [a for a in mine if a.status in ACTIVE_ASSIGNMENT_STATUSES]
        submitted = [a for a in mine if a.status == AssignmentStatus.SUBMITTED]
        divergent = False
        if len(submitted) > 1 and rules_.criteria:
            result = scoring.evaluate(_submitted_scores(application.id, application.submitted_at, mine), rules_)
            divergent = any(c.divergent for c in result.criteria)
        application_rows.append(ApplicationProgress(application, mine, required, len(active), len(submitted),
                                                    divergent))

    active_count = evaluation.active_count()
    eligible_ids = {a.id for a in evaluation.eligible}
    to_replace = [a for a in evaluation.assignments if a.status == AssignmentStatus.CONFLICT
                  and a.application_id in eligible_ids and active_count[a.application_id] < required]
    to_replace.sort(key=lambda a: (a.declared_at or a.assigned_at, a.id))
    return evaluator_rows, application_rows, to_replace


def _refuse_unless_assignable(call: Call) -> None:
    if call.status not in ASSIGNABLE:
        raise EvaluationError(_l("Evaluators can be assigned once the call is closed, and until it is decided. "
                                 "This call is %(status)s.", status=CallStatus(call.status).label))


@dataclass
class Confirmation:
    created: list[Assignment]
    evaluators: int


def confirm_assignments(actor, call_id: int, pairs, now: datetime | None = None) -> Confirmation:
    """Record the pairs staff confirmed (each re-checked now), tell each evaluator once, audited."""
    _require_staff(actor)
    call = _call(call_id)
    _refuse_unless_assignable(call)
    pairs = sorted(set(pairs))
    if not pairs:
        raise EvaluationError(_l("There is nothing to confirm: no evaluator is proposed."))
    evaluation = load_call_evaluation(call)
    # Every pair is checked as if chosen by hand: a conflict, a pair assigned meanwhile, an
    # application already complete or an evaluator at their maximum refuses the whole set.
    check = evaluation.propose(pinned=pairs)
    if check.refused:
        raise EvaluationError(" ".join(
            [str(_l("The proposal no longer holds; review it and confirm again."))]
            + [_refusal_text(evaluation, r) for r in check.refused]))
    now = now or utcnow()
    created = []
    try:
        with db.session.begin_nested():
            for application_id, evaluator_id in pairs:
                assignment = Assignment(application_id=application_id, evaluator_id=evaluator_id,
                                        status=str(AssignmentStatus.ASSIGNED), assigned_at=now,
                                        assigned_by_id=actor.id)
                db.session.add(assignment)
                created.append(assignment)
            db.session.flush()
    except IntegrityError:
        raise EvaluationError(_l("Someone changed these assignments a moment ago; review the proposal and "
                                 "confirm again.")) from None
    for assignment in created:
        audit.record("assignment.created", assignment, actor=actor, application_id=assignment.application_id,
                     evaluator_id=assignment.evaluator_id, call_id=call.id)
    per_evaluator = Counter(a.evaluator_id for a in created)
    audit.record("call.assignments_confirmed", call, actor=actor, assignments=len(created),
                 evaluators=len(per_evaluator))
    for evaluator_id, count in sorted(per_evaluator.items()):
        evaluator = evaluation.evaluators[evaluator_id].user
        notify(evaluator, _l("Applications to evaluate: %(call)s", call=call.title), "evaluation_assigned",
               link=url_for("calls.my_assignments"), count=count, call_title=call.title,
               deadline=deadline_text(call))
    return Confirmation(created, len(per_evaluator))


def _assignment_of_call(call: Call, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.application.call_id != call.id:
        abort(404)
    return assignment


def remove_assignment(actor, call_id: int, assignment_id: int) -> Assignment:
    """Take an evaluator off an application; a submitted evaluation stays."""
    _require_staff(actor)
    call = _call(call_id)
    assignment = _assignment_of_call(call, assignment_id)
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise EvaluationError(_l("This evaluation is submitted: it stays part of the results and cannot be removed."))
    if assignment.status not in PENDING:
        raise EvaluationError(_l("This assignment is no longer active."))
    if call.status not in ASSIGNABLE:
        raise EvaluationError(_l("The evaluation of this call is over; its assignments no longer change."))
    transition(assignment, AssignmentStatus.REMOVED, actor=actor, application_id=assignment.application_id,
               evaluator_id=assignment.evaluator_id)
    notify(assignment.evaluator, _l("An evaluation was taken off your list"), "evaluation_removed",
           link=url_for("calls.my_assignments"), call_title=call.title)
    return assignment


def send_reminders(actor, call_id: int, now: datetime | None = None) -> int:
    """E-mail each evaluator who still has something to declare or to score; returns how many."""
    _require_staff(actor)
    call = _call(call_id)
    if call.status not in ASSIGNABLE:
        raise EvaluationError(_l("The evaluation of this call is over; there is nobody to remind."))
    now = now or utcnow()
    pending = list(db.session.scalars(
        select(Assignment).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.status.in_([str(s) for s in PENDING]))
        .options(selectinload(Assignment.evaluator)).order_by(Assignment.evaluator_id, Assignment.id)))
    per_evaluator: dict[int, list[Assignment]] = defaultdict(list)
    for a in pending:
        per_evaluator[a.evaluator_id].append(a)
    for mine in per_evaluator.values():
        statuses = Counter(a.status for a in mine)
        notify(mine[0].evaluator, _l("Reminder: evaluations waiting for you in %(call)s", call=call.title),
               "evaluation_reminder", link=url_for("calls.my_assignments"), call_title=call.title,
               to_declare=statuses[str(AssignmentStatus.ASSIGNED)], to_score=statuses[str(AssignmentStatus.ACCEPTED)],
               deadline=deadline_text(call))
        for a in mine:
            a.last_reminded_at = now
    audit.record("call.evaluation_reminders_sent", call, actor=actor, evaluators=sorted(per_evaluator),
                 assignments=len(pending))
    db.session.flush()
    return len(per_evaluator)


# --- the evaluator's side -------------------------------------------------------------


@dataclass
class CallWork:
    call: Call
    assigned: int
    submitted: int

    @property
    def deadline(self) -> datetime | None:
        return self.call.evaluation_deadline


@dataclass
class MyEvaluations:
    to_declare: list[Assignment]
    to_score: list[Assignment]
    done: list[Assignment]
    conflicts: list[Assignment]
    calls: list[CallWork]

    @property
    def total(self) -> int:
        return len(self.to_declare) + len(self.to_score) + len(self.done)

    def work_of(self, call_id: int) -> CallWork | None:
        return next((w for w in self.calls if w.call.id == call_id), None)


def my_evaluations(user) -> MyEvaluations:
    mine = list(db.session.scalars(
        select(Assignment).where(Assignment.evaluator_id == user.id,
                                 Assignment.status != str(AssignmentStatus.REMOVED))
        .options(selectinload(Assignment.application).selectinload(Application.call),
                 selectinload(Assignment.application).selectinload(Application.organisation),
                 selectinload(Assignment.scores))
        .order_by(Assignment.id)))
    far = datetime.max.replace(tzinfo=None)

    def order(a: Assignment):
        deadline = a.application.call.evaluation_deadline
        return (deadline.replace(tzinfo=None) if deadline else far, a.application.call_id, a.id)

    mine.sort(key=order)
    works: dict[int, CallWork] = {}
    for a in mine:
        if a.status in ACTIVE_ASSIGNMENT_STATUSES:
            work = works.setdefault(a.application.call_id, CallWork(a.application.call, 0, 0))
            work.assigned += 1
            work.submitted += a.status == AssignmentStatus.SUBMITTED
    return MyEvaluations(
        to_declare=[a for a in mine if a.status == AssignmentStatus.ASSIGNED],
        to_score=[a for a in mine if a.status == AssignmentStatus.ACCEPTED],
        done=[a for a in mine if a.status == AssignmentStatus.SUBMITTED],
        conflicts=[a for a in mine if a.status == AssignmentStatus.CONFLICT],
        calls=sorted(works.values(), key=lambda w: (w.deadline.replace(tzinfo=None) if w.deadline else far,
                                                    w.call.id)))


def shown_applicant(user, assignment: Assignment) -> str | None:
    """The applicant's name as this user may see it: None in a blind call (except for staff)."""
    call = assignment.application.call
    if call.blind and not (is_staff(user) and assignment.evaluator_id != user.id):
        return None
    return assignment.application.organisation.legal_name


def _own(user, assignment_id: int) -> Assignment:
    """The user's own assignment; anyone else's is 'not found', so ids reveal nothing."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.evaluator_id != user.id:
        abort(404)
    return assignment


@dataclass
class DeclarationPage:
    assignment: Assignment
    call: Call
    applicant: str | None  # None in a blind call
    open: bool  # the call still takes declarations


def declaration_page(user, assignment_id: int) -> DeclarationPage:
    assignment = _own(user, assignment_id)
    if assignment.status in (AssignmentStatus.CONFLICT, AssignmentStatus.REMOVED):
        deny()
    call = assignment.application.call
    return DeclarationPage(assignment, call, shown_applicant(user, assignment), call.status in ASSIGNABLE)


def _staff_to_tell(assignment: Assignment, call: Call) -> list[User]:
    """Who replaces a conflicted evaluator: whoever assigned them, else the call's author, else all staff."""
    for user_id in (assignment.assigned_by_id, call.created_by_id):
        if user_id:
            user = db.session.get(User, user_id)
            if user is not None and user.is_active and user.has_role(Role.STAFF, Role.ADMIN):
                return [user]
    return list(db.session.scalars(
        select(User).where(User.id.in_(select(UserRole.user_id).where(UserRole.role == str(Role.STAFF))),
                           User.disabled_at.is_(None), User.erased_at.is_(None)).order_by(User.id)))


def declare(user, assignment_id: int, *, conflict: bool, reason: str | None = None,
            now: datetime | None = None) -> Assignment:
    """The evaluator's declaration: no conflict of interest (may read and score), or a conflict (removed).

    A conflict can also be declared later, while scoring (in a blind call the evaluator may
    recognise the applicant only on reading): the assignment leaves their list the same way.
    """
    assignment = _own(user, assignment_id)
    call = assignment.application.call
    late_conflict = conflict and assignment.status == AssignmentStatus.ACCEPTED
    if assignment.status != AssignmentStatus.ASSIGNED and not late_conflict:
        raise EvaluationError(_l("You have already made your declaration for this application."))
    if call.status not in ASSIGNABLE:
        raise EvaluationError(_l("The evaluation of this call is over."))
    now = now or utcnow()
    if conflict:
        reason = (reason or "").strip()
        if not reason:
            raise EvaluationError(_l("Say briefly what the conflict of interest is, so that staff can judge it."),
                                  "reason")
        if len(reason) > REASON_MAX:
            raise EvaluationError(_l("Write at most %(n)d characters.", n=REASON_MAX), "reason")
        assignment.conflict_reason = reason
        assignment.declared_at = now
        transition(assignment, AssignmentStatus.CONFLICT, actor=user, declaration="conflict", reason=reason,
                   application_id=assignment.application_id, after_reading=late_conflict)
        for person in _staff_to_tell(assignment, call):
            notify(person, _l("A conflict of interest was declared in %(call)s", call=call.title),
                   "evaluation_conflict", link=url_for("calls.call_assignments", call_id=call.id,
                                                       application=assignment.application_id),
                   evaluator_name=user.display_name, call_title=call.title, reason=reason,
                   application_label=applicant_label(assignment.application))
    else:
        assignment.declared_at = now
        transition(assignment, AssignmentStatus.ACCEPTED, actor=user, declaration="no_conflict",
                   application_id=assignment.application_id)
    return assignment


# --- scoring ------------------------------------------------------------------------


@dataclass
class AnswerView:
    label: str
    text: str | None  # None for a file
    file: StoredFile | None = None
    page: int = 1


@dataclass
class OtherEvaluation:
    label: str  # "Evaluator 1" for evaluators, the name for staff
    scores: dict[int, Score]
    submitted_at: datetime | None


_TIMELINE_LABELS = {
    "assignment.created": _l("Assigned"),
    "assignment.draft_saved": _l("Draft saved"),
}
_TIMELINE_STATUS_LABELS = {
    AssignmentStatus.ACCEPTED: _l("Declared no conflict of interest"),
    AssignmentStatus.CONFLICT: _l("Declared a conflict of interest"),
    AssignmentStatus.SUBMITTED: _l("Evaluation submitted"),
    AssignmentStatus.REMOVED: _l("Taken off by the programme staff"),
}


@dataclass
class ScoringPage:
    assignment: Assignment
    application: Application
    call: Call
    criteria: list
    scores: dict[int, Score]
    editable: bool  # the evaluator may still change the scores
    as_staff: bool  # staff reading someone's evaluation
    applicant: str | None  # None when the identity is hidden
    people: list[str]  # the applicant's contacts, when not hidden
    answers: list[AnswerView]
    others: list[OtherEvaluation] | None  # None: not to be shown (yet)
    timeline: list[TimelineEntry]
    open: bool

    @property
    def identity_hidden(self) -> bool:
        return self.applicant is None


def _answers(application: Application) -> list[AnswerView]:
    by_question = {a.question_id: a for a in application.answers}
    shown = []
    for question in application.call.questions:
        answer = by_question.get(question.id)
        if question.kind == QuestionKind.FILE:
            shown.append(AnswerView(question.label, None, answer.file if answer else None, question.page))
        else:
            # The applicant's side words answers the same way (choices by label, money, dates).
            shown.append(AnswerView(question.label, applying.answer_text(question, answer) or None,
                                    None, question.page))
    return shown


def _timeline(assignment: Assignment) -> list[TimelineEntry]:
    rows = audit_rows(Assignment.__tablename__, assignment.id, limit=30)
    entries = []
    for entry, name in rows:
        if entry.action == "assignments.status_changed":
            label = _TIMELINE_STATUS_LABELS.get((entry.detail or {}).get("new"))
            if label is None:
                continue
            label = str(label)
        elif entry.action in _TIMELINE_LABELS:
            label = str(_TIMELINE_LABELS[entry.action])
        else:
            continue
        entries.append(TimelineEntry(entry.created_at, name, label))
    return entries


def _readable(user, assignment_id: int) -> tuple[Assignment, bool]:
    """The assignment and whether the user reads it as staff; evaluators only their own, once declared."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if assignment.evaluator_id == user.id:
        if assignment.status in (AssignmentStatus.CONFLICT, AssignmentStatus.REMOVED):
            deny()
        return assignment, False
    if is_staff(user):
        return assignment, True
    abort(404)


def scoring_page(user, assignment_id: int) -> ScoringPage:
    assignment, as_staff = _readable(user, assignment_id)
    if not as_staff and assignment.status == AssignmentStatus.ASSIGNED:
        raise DeclarationNeeded  # nothing of the application is shown before the declaration
    application = assignment.application
    call = application.call
    applicant = shown_applicant(user, assignment)
    people = []
    if applicant is not None:
        people = sorted({m.user.display_name for m in application.organisation.memberships})
    scores = {s.criterion_id: s for s in assignment.scores}
    others = None
    siblings = db.session.scalars(
        select(Assignment).where(Assignment.application_id == application.id, Assignment.id != assignment.id,
                                 Assignment.status == str(AssignmentStatus.SUBMITTED))
        .options(selectinload(Assignment.scores), selectinload(Assignment.evaluator))
        .order_by(Assignment.submitted_at, Assignment.id)).all()
    if as_staff:
        others = [OtherEvaluation(a.evaluator.display_name, {s.criterion_id: s for s in a.scores}, a.submitted_at)
                  for a in siblings]
    elif assignment.status == AssignmentStatus.SUBMITTED:
        others = [OtherEvaluation(str(_l("Evaluator %(n)d", n=n)), {s.criterion_id: s for s in a.scores},
                                  a.submitted_at) for n, a in enumerate(siblings, start=1)]
    editable = (not as_staff and assignment.status == AssignmentStatus.ACCEPTED and call.status in ASSIGNABLE)
    return ScoringPage(assignment, application, call, list(call.criteria), scores, editable, as_staff, applicant,
                       people, _answers(application), others, _timeline(assignment), call.status in ASSIGNABLE)


_NUMBER = re.compile(r"-?\d+([.,]\d+)?")


def parse_score(raw: str | None, max_score: Decimal) -> tuple[Decimal | None, str | None]:
    """A score typed by the evaluator: (value, None), (None, None) when blank, or (None, message)."""
    text = (raw or "").strip().replace(" ", "")
    if not text:
        return None, None
    if not _NUMBER.fullmatch(text):
        return None, str(_l("Enter a number, for example 3.5."))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None, str(_l("Enter a number, for example 3.5."))
    if not scoring.valid_score(value, max_score):
        return None, str(_l("Give a score from 0 to %(max)s in half points (for example 3.5).",
                            max=_plain_number(max_score)))
    return value, None


def _plain_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


@dataclass
class ScoreInput:
    criterion_id: int
    score: str | None
    comment: str | None


@dataclass
class ScoringResult:
    errors: dict[str, str] = field(default_factory=dict)  # "score_<id>" / "comment_<id>" -> message
    saved: int = 0  # criteria whose entries were stored
    submitted: bool = False


def save_scores(user, assignment_id: int, inputs: list[ScoreInput], *, submit: bool,
                now: datetime | None = None) -> ScoringResult:
    """Store a draft (what is valid) or submit the evaluation (everything valid, or nothing changes)."""
    assignment = _own(user, assignment_id)
    call = assignment.application.call
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise EvaluationError(_l("This evaluation is submitted and can no longer change."))
    if assignment.status != AssignmentStatus.ACCEPTED:
        deny()
    if call.status not in ASSIGNABLE:
        raise EvaluationError(_l("The evaluation of this call is over; the scores can no longer change."))
    given = {i.criterion_id: i for i in inputs}
    result = ScoringResult()
    values: dict[int, tuple[Decimal | None, bool, str | None, bool]] = {}
    for criterion in call.criteria:
        entry = given.get(criterion.id, ScoreInput(criterion.id, None, None))
        value, problem = parse_score(entry.score, criterion.max_score)
        if problem:
            result.errors[f"score_{criterion.id}"] = problem
        elif submit and value is None:
            result.errors[f"score_{criterion.id}"] = str(_l("Give a score to this criterion."))
        comment = (entry.comment or "").strip() or None
        comment_ok = True
        if comment and len(comment) > COMMENT_MAX:
            result.errors[f"comment_{criterion.id}"] = str(_l("Write at most %(n)d characters.", n=COMMENT_MAX))
            comment_ok = False
        elif submit and not comment:
            result.errors[f"comment_{criterion.id}"] = str(_l("Write a comment that explains the score."))
        values[criterion.id] = (value, problem is None, comment, comment_ok)
    if submit and result.errors:
        return result  # nothing changes: the evaluator fixes and submits again

    stored = {s.criterion_id: s for s in assignment.scores}
    for criterion in call.criteria:
        value, value_ok, comment, comment_ok = values[criterion.id]
        if not value_ok and not comment_ok:
            continue
        score = stored.get(criterion.id)
        if score is None and value is None and comment is None:
            continue  # nothing typed for this criterion yet
        if score is None:
            score = Score(criterion_id=criterion.id)
            assignment.scores.append(score)
        if value_ok:
            score.value = value
        if comment_ok:
            score.comment = comment
        result.saved += 1
    db.session.flush()
    if submit:
        assignment.submitted_at = now or utcnow()
        transition(assignment, AssignmentStatus.SUBMITTED, actor=user, application_id=assignment.application_id,
                   scores={str(s.criterion_id): [str(s.value), s.comment] for s in assignment.scores})
        result.submitted = True
    else:
        audit.record("assignment.draft_saved", assignment, actor=user, criteria=result.saved,
                     refused=sorted(result.errors))
    db.session.flush()
    return result


# --- home panels ----------------------------------------------------------------------


def calls_to_follow(actor) -> list[tuple[Call, int, int, int]]:
    """Calls being evaluated: (call, evaluations submitted, active assignments, conflicts to replace)."""
    _require_staff(actor)
    calls = list(db.session.scalars(select(Call).where(Call.status.in_([str(s) for s in ASSIGNABLE]))
                                    .order_by(Call.closes_at, Call.id)))
    if not calls:
        return []
    counts = Counter()
    for call_id, status, n in db.session.execute(
            select(Application.call_id, Assignment.status, func.count(Assignment.id))
            .join(Application, Application.id == Assignment.application_id)
            .where(Application.call_id.in_([c.id for c in calls]))
            .group_by(Application.call_id, Assignment.status)):
        counts[(call_id, status)] = n
    result = []
    for call in calls:
        active = sum(counts[(call.id, str(s))] for s in ACTIVE_ASSIGNMENT_STATUSES)
        result.append((call, counts[(call.id, str(AssignmentStatus.SUBMITTED))], active,
                       counts[(call.id, str(AssignmentStatus.CONFLICT))]))
    return result
