"""Moderation, ranking and the decision of a call, and the answers to the places it offers.

The rules live in `scoring.py`; this module turns the database into its plain data
(`load_scores`, the one loader every page, export and document uses: a handful of bulk
queries whatever the number of applications), and holds one function per use case:
the ranking page, recording a consensus score, confirming the decision (outcomes
written, the call moved to "decided", every applicant told), a selected applicant
accepting or declining the place (a decline promotes the first on the reserve list),
and the read models of the decision letter and the evaluation summary report. Each use
case checks who may act, changes, audits, notifies and flushes; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import abort, g, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from opsapp.accounts.models import Membership, Organisation, User, UserRole
from opsapp.calls import scoring
from opsapp.calls.models import (
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    Consensus,
    Criterion,
    Edition,
    Eligibility,
    Outcome,
    PlaceStatus,
    Score,
)
from opsapp.calls.permissions import is_member, is_staff
from opsapp.calls.states import transition
from opsapp.core import audit
from opsapp.core.models import AuditEntry
from opsapp.core.notifications import absolute_url, notify
from opsapp.core.pagination import Page
from opsapp.core.permissions import deny, require
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

# How long a selected applicant is given to answer; said in the letter and the e-mail.
PLACE_ANSWER_DAYS = 14
JUSTIFICATION_MAX = 4000
RANKING_PER_PAGE = 50
RANKING_STATUSES = (CallStatus.IN_EVALUATION, CallStatus.DECIDED, CallStatus.ARCHIVED)
DECIDED_STATUSES = (CallStatus.DECIDED, CallStatus.ARCHIVED)

OUTCOME_LABELS = {
    Outcome.SELECTED: _l("Selected"),
    Outcome.RESERVE: _l("Reserve list"),
    Outcome.REJECTED: _l("Not selected"),
}
PLACE_STATUS_LABELS = {
    PlaceStatus.OFFERED: _l("Place offered, waiting for the answer"),
    PlaceStatus.ACCEPTED: _l("Place accepted"),
    PlaceStatus.DECLINED: _l("Place declined"),
}


class DecisionError(Exception):
    """A refusal with a message for the user; `field` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def outcome_label(outcome: str | None) -> str:
    return str(OUTCOME_LABELS[Outcome(outcome)]) if outcome else ""


def place_status_label(status: str | None) -> str:
    return str(PLACE_STATUS_LABELS[PlaceStatus(status)]) if status else ""


# --- loading the scores -------------------------------------------------------------------


def call_rules(call: Call) -> scoring.CallRules:
    """The call's frozen rules as the pure module wants them; a criterion's position is its tie-break priority."""
    return scoring.CallRules(
        criteria=tuple(
            scoring.CriterionRule(
                id=c.id, weight=Decimal(c.weight), max_score=Decimal(c.max_score),
                threshold=None if c.threshold is None else Decimal(c.threshold), priority=c.position)
            for c in call.criteria),
        aggregation=call.aggregation,
        divergence=Decimal(call.divergence),
        overall_threshold=None if call.overall_threshold is None else Decimal(call.overall_threshold),
        evaluators_required=call.evaluators_per_application,
    )


def _rankable(call_id: int, only: Iterable[int] | None = None) -> list:
    """Submitted applications not found ineligible: the ones the evaluation ranks."""
    where = [Application.call_id == call_id, Application.status == ApplicationStatus.SUBMITTED,
             Application.eligibility != Eligibility.INELIGIBLE]
    if only is not None:
        where.append(Application.id.in_(list(only)))
    return where


def load_scores(call: Call, only: Iterable[int] | None = None
                ) -> tuple[scoring.CallRules, list[scoring.ApplicationScores]]:
    """The call's rules and, per rankable application, the submitted scores and the consensus rows.

    Draft evaluations do not count. Four queries whatever the number of applications
    (plus the criteria, once per call); `only` narrows it to some applications.
    """
    rules = call_rules(call)
    where = _rankable(call.id, only)
    submitted = Assignment.status == AssignmentStatus.SUBMITTED
    on_application = Application.id == Assignment.application_id
    apps = db.session.execute(
        select(Application.id, Application.submitted_at).where(*where).order_by(Application.id)).all()
    scores: dict[int, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for app_id, criterion_id, value in db.session.execute(
            select(Assignment.application_id, Score.criterion_id, Score.value)
            .join(Score, Score.assignment_id == Assignment.id).join(Application, on_application)
            .where(*where, submitted, Score.value.is_not(None)).order_by(Assignment.id)):
        scores[app_id][criterion_id].append(value if isinstance(value, Decimal) else Decimal(str(value)))
    evaluations = dict(db.session.execute(
        select(Assignment.application_id, func.count(Assignment.id)).join(Application, on_application)
        .where(*where, submitted).group_by(Assignment.application_id)).all())
    consensus: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for app_id, criterion_id, value in db.session.execute(
            select(Consensus.application_id, Consensus.criterion_id, Consensus.value)
            .join(Application, Application.id == Consensus.application_id).where(*where)):
        consensus[app_id][criterion_id] = Decimal(str(value))
    return rules, [
        scoring.ApplicationScores(
            application_id=app_id, submitted_at=submitted_at,
            scores={c: tuple(v) for c, v in scores[app_id].items()},
            consensus=dict(consensus[app_id]), evaluations=evaluations.get(app_id, 0))
        for app_id, submitted_at in apps
    ]


def proposal_for(call: Call) -> tuple[scoring.CallRules, list[scoring.ApplicationScores], scoring.Proposal]:
    rules, sheets = load_scores(call)
    return rules, sheets, scoring.propose(sheets, rules, call.places)


def proposal_digest(proposal: scoring.Proposal, ineligible_ids: Iterable[int]) -> str:
    """A fingerprint of what the decision will write: the confirmation is refused if it changed meanwhile."""
    parts = [f"{r.result.application_id}:{r.outcome}:{r.rank}:{r.reserve_position}:{r.result.weighted_total}"
             for r in proposal.ranked]
    parts.append("ineligible:" + ",".join(str(i) for i in sorted(ineligible_ids)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


# --- small loaders ------------------------------------------------------------------------


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


def _locked_call(call_id: int) -> Call:
    """The call row, locked on PostgreSQL until the commit: decisions and place answers of one call queue."""
    call = db.session.execute(
        select(Call).where(Call.id == call_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if call is None:
        abort(404)
    return call


def _application(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    return application


def _applications_with_organisations(where) -> list[Application]:
    return list(db.session.scalars(
        select(Application).options(joinedload(Application.organisation)).where(*where)
        .order_by(Application.id)))


def _ineligible(call_id: int) -> list[Application]:
    return _applications_with_organisations([
        Application.call_id == call_id, Application.status == ApplicationStatus.SUBMITTED,
        Application.eligibility == Eligibility.INELIGIBLE])


def _members_by_organisation(organisation_ids: Iterable[int]) -> dict[int, list[User]]:
    members: dict[int, list[User]] = defaultdict(list)
    ids = list(set(organisation_ids))
    if not ids:
        return members
    for membership in db.session.scalars(
            select(Membership).options(joinedload(Membership.user))
            .where(Membership.organisation_id.in_(ids)).order_by(Membership.id)):
        if membership.user.is_active:
            members[membership.organisation_id].append(membership.user)
    return members


def _staff_users() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == str(Role.STAFF), User.disabled_at.is_(None), User.erased_at.is_(None))
        .order_by(User.id)))


def _application_link(application_id: int) -> str:
    return url_for("calls.application_detail", application_id=application_id)


def _letter_link(application_id: int) -> str:
    return url_for("calls.decision_letter", application_id=application_id)


def answer_by(application: Application) -> datetime | None:
    """The date by which a selected applicant is asked to answer (from the decision or the promotion)."""
    if application.place_status != PlaceStatus.OFFERED or application.decided_at is None:
        return None
    return application.decided_at + timedelta(days=PLACE_ANSWER_DAYS)


# --- the ranking page ---------------------------------------------------------------------


@dataclass(frozen=True)
class RankedApplication:
    """What a ranking row shows of an application: read as plain columns, not as ORM objects,
    so that thousands of rows load fast."""

    id: int
    organisation_id: int
    organisation_name: str
    receipt_number: str | None
    eligibility: str
    outcome: str | None
    rank: int | None
    reserve_position: int | None
    place_status: str | None


def _ranked_applications(call_id: int) -> dict[int, RankedApplication]:
    return {row.id: row for row in (RankedApplication(*r) for r in db.session.execute(
        select(Application.id, Application.organisation_id, Organisation.legal_name, Application.receipt_number,
               Application.eligibility, Application.outcome, Application.rank, Application.reserve_position,
               Application.place_status)
        .join(Organisation, Organisation.id == Application.organisation_id).where(*_rankable(call_id))))}


@dataclass
class RankingRow:
    application: RankedApplication
    result: scoring.ApplicationResult
    proposed: scoring.Ranked
    evaluations: int
    decided: bool

    @property
    def outcome(self) -> str:
        return self.application.outcome if self.decided and self.application.outcome else self.proposed.outcome

    @property
    def rank(self) -> int | None:
        if self.decided:
            return self.application.rank
        return self.proposed.rank or None

    @property
    def reserve_position(self) -> int | None:
        return self.application.reserve_position if self.decided else self.proposed.reserve_position

    @property
    def provisional(self) -> bool:
        """Before the decision, an outcome is only a proposal while evaluations or moderation are missing."""
        return not self.decided and (not self.result.complete or self.result.needs_moderation)

    @property
    def divergent(self) -> bool:
        return any(c.divergent for c in self.result.criteria)


@dataclass
class RankingPage:
    call: Call
    criteria: list[Criterion]
    rules: scoring.CallRules
    proposal: scoring.Proposal
    rows: list[RankingRow]  # every rankable application, in ranking order
    shown: Page  # the rows this page shows, after the filter and the sorting
    ineligible: list[Application]
    pending_eligibility: int
    decided: bool
    digest: str
    show: str
    sort: str

    @property
    def by_id(self) -> dict[int, RankingRow]:
        return {r.application.id: r for r in self.rows}

    def counts(self) -> dict[str, int]:
        counter = Counter(r.outcome for r in self.rows)
        return {"selected": counter[Outcome.SELECTED], "reserve": counter[Outcome.RESERVE],
                "rejected": counter[Outcome.REJECTED], "ineligible": len(self.ineligible)}

    @property
    def ready(self) -> bool:
        return (not self.decided and self.call.status == CallStatus.IN_EVALUATION
                and self.proposal.ready and bool(self.rows))

    def criterion_name(self, code: str) -> str:
        """A failed threshold ("criterion:<id>" or "overall") in words."""
        if code == "overall":
            return str(_l("overall threshold"))
        criterion_id = int(code.split(":", 1)[1])
        return next((c.name for c in self.criteria if c.id == criterion_id), code)


RANKING_FILTERS = ("all", "moderation", "divergent", "incomplete")
RANKING_SORTS = ("rank", "total", "name")


def _ranking_rows(call: Call, decided: bool) -> tuple[scoring.CallRules, scoring.Proposal, list[RankingRow]]:
    rules, sheets, proposal = proposal_for(call)
    evaluations = {s.application_id: s.evaluations for s in sheets}
    applications = _ranked_applications(call.id)
    rows = [RankingRow(applications[r.result.application_id], r.result, r,
                       evaluations.get(r.result.application_id, 0), decided)
            for r in proposal.ranked if r.result.application_id in applications]
    if decided:
        # Once decided, the stored ranks are the truth (a decline moves a reserve up, not the scores).
        rows.sort(key=lambda r: (r.application.rank is None, r.application.rank or 0))
    return rules, proposal, rows


def ranking_rows(call: Call) -> tuple[list[RankingRow], list[Application]]:
    """The rows of the ranking (stored outcomes once decided) and the ineligible applications, for exports."""
    _rules, _proposal, rows = _ranking_rows(call, call.status in DECIDED_STATUSES)
    return rows, _ineligible(call.id)


def ranking_page(actor, call_id: int, show: str = "all", sort: str = "rank", page: int = 1) -> RankingPage:
    require(is_staff(actor))
    call = _call(call_id)
    if call.status not in RANKING_STATUSES:
        raise DecisionError(_l("The ranking is available once the evaluation has started."))
    decided = call.status in DECIDED_STATUSES
    rules, proposal, rows = _ranking_rows(call, decided)
    ineligible = _ineligible(call.id)
    show = show if show in RANKING_FILTERS else "all"
    sort = sort if sort in RANKING_SORTS else "rank"
    chosen = [r for r in rows if show == "all"
              or (show == "moderation" and r.result.needs_moderation)
              or (show == "divergent" and r.divergent)
              or (show == "incomplete" and not r.result.complete)]
    if sort == "name":
        chosen.sort(key=lambda r: r.application.organisation_name.lower())
    elif sort == "total":
        chosen.sort(key=lambda r: (r.result.weighted_total is None, -(r.result.weighted_total or 0)))
    pages = max(1, -(-len(chosen) // RANKING_PER_PAGE))
    page = min(max(1, page), pages)
    start = (page - 1) * RANKING_PER_PAGE
    shown = Page(chosen[start:start + RANKING_PER_PAGE], len(chosen), page, RANKING_PER_PAGE)
    pending = sum(1 for r in rows if r.application.eligibility == Eligibility.PENDING)
    return RankingPage(
        call=call, criteria=list(call.criteria), rules=rules, proposal=proposal, rows=rows, shown=shown,
        ineligible=ineligible, pending_eligibility=pending, decided=decided,
        digest=proposal_digest(proposal, [a.id for a in ineligible]), show=show, sort=sort)


# --- moderation ---------------------------------------------------------------------------


@dataclass
class EvaluatorScore:
    label: str  # "Evaluator 1"
    evaluator_name: str
    value: Decimal | None
    comment: str | None


@dataclass
class ModerationCriterion:
    criterion: Criterion
    result: scoring.CriterionResult | None
    scores: list[EvaluatorScore]
    consensus: Consensus | None
    may_moderate: bool


@dataclass
class ModerationPage:
    application: Application
    call: Call
    result: scoring.ApplicationResult | None
    criteria: list[ModerationCriterion]
    evaluations: int
    required: int
    editable: bool
    reason: str | None  # why nothing can be recorded now
    timeline: list[tuple[AuditEntry, str | None]]


def _submitted_scores(application_id: int) -> list[tuple[Assignment, Score]]:
    return list(db.session.execute(
        select(Assignment, Score).join(Score, Score.assignment_id == Assignment.id)
        .options(joinedload(Assignment.evaluator))
        .where(Assignment.application_id == application_id, Assignment.status == AssignmentStatus.SUBMITTED)
        .order_by(Assignment.id, Score.criterion_id)).all())


def evaluator_numbers(pairs: Iterable[tuple[Assignment, Score]]) -> dict[int, int]:
    """Assignment id -> 1, 2, 3 ... in the order of the assignments: the same number on every criterion."""
    numbers: dict[int, int] = {}
    for assignment, _score in pairs:
        numbers.setdefault(assignment.id, len(numbers) + 1)
    return numbers


def _moderation_blocker(call: Call, application: Application, sheet: scoring.ApplicationScores | None,
                        rules: scoring.CallRules) -> str | None:
    if call.status != CallStatus.IN_EVALUATION:
        return str(_l("The call is no longer in evaluation: consensus scores are frozen."))
    if application.status != ApplicationStatus.SUBMITTED or application.eligibility == Eligibility.INELIGIBLE:
        return str(_l("This application is not ranked (withdrawn, replaced or ineligible)."))
    done = sheet.evaluations if sheet else 0
    if done < rules.evaluators_required:
        return str(_l("Wait for every evaluation before moderating: %(done)d of %(required)d are in.",
                      done=done, required=rules.evaluators_required))
    return None


def _moderation_context(application: Application):
    call = application.call
    rules, sheets = load_scores(call, only=[application.id])
    sheet = sheets[0] if sheets else None
    result = scoring.evaluate(sheet, rules) if sheet else None
    return call, rules, sheet, result


def moderation_page(actor, application_id: int) -> ModerationPage:
    require(is_staff(actor))
    application = _application(application_id)
    call, rules, sheet, result = _moderation_context(application)
    blocker = _moderation_blocker(call, application, sheet, rules)
    pairs = _submitted_scores(application.id)
    numbers = evaluator_numbers(pairs)
    consensus = {c.criterion_id: c for c in db.session.scalars(
        select(Consensus).where(Consensus.application_id == application.id))}
    results = {r.criterion_id: r for r in result.criteria} if result else {}
    criteria = []
    for criterion in call.criteria:
        scores = [EvaluatorScore(str(_l("Evaluator %(n)d", n=numbers[a.id])), a.evaluator.display_name,
                                 s.value, s.comment)
                  for a, s in pairs if s.criterion_id == criterion.id]
        crit_result = results.get(criterion.id)
        may = blocker is None and crit_result is not None and (
            crit_result.divergent or criterion.id in consensus)
        criteria.append(ModerationCriterion(criterion, crit_result, scores, consensus.get(criterion.id), may))
    timeline = list(db.session.execute(
        select(AuditEntry, User.full_name).outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.object_type == Application.__tablename__,
               AuditEntry.object_id == str(application.id), AuditEntry.action == "consensus.recorded")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(30)).all())
    return ModerationPage(application, call, result, criteria, sheet.evaluations if sheet else 0,
                          rules.evaluators_required, blocker is None, blocker, timeline)


def parse_score(text: str | None) -> Decimal | None:
    """A score as typed: "3.5" or "3,5"; None when it is not a number."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def record_consensus(actor, application_id: int, criterion_id: int, value: Decimal | None,
                     justification: str | None) -> Consensus:
    """Staff's consensus score for a divergent criterion: kept beside the individual scores, audited."""
    require(is_staff(actor))
    application = _application(application_id)
    _locked_call(application.call_id)
    call, rules, sheet, result = _moderation_context(application)
    blocker = _moderation_blocker(call, application, sheet, rules)
    if blocker:
        raise DecisionError(blocker)
    criterion = next((c for c in call.criteria if c.id == criterion_id), None)
    if criterion is None:
        abort(404)
    existing = db.session.scalar(select(Consensus).where(
        Consensus.application_id == application.id, Consensus.criterion_id == criterion.id))
    crit_result = next(r for r in result.criteria if r.criterion_id == criterion.id)
    if not crit_result.divergent and existing is None:
        raise DecisionError(_l("The evaluators agree on this criterion: there is nothing to moderate."))
    max_score = Decimal(criterion.max_score)
    if value is None or not scoring.valid_score(value, max_score):
        raise DecisionError(_l("Give a score from 0 to %(max)s in half points, for example 3.5.",
                               max=scoring.round_score(max_score, "0.1")), field="value")
    text = (justification or "").strip()
    if not text:
        raise DecisionError(_l("Say why the panel agreed on this score: the applicant reads it in the letter."),
                            field="justification")
    if len(text) > JUSTIFICATION_MAX:
        raise DecisionError(_l("Keep the justification under %(num)d characters.", num=JUSTIFICATION_MAX),
                            field="justification")
    old = None if existing is None else {"value": str(existing.value), "justification": existing.justification}
    value = value.quantize(Decimal("0.1"))
    if existing is None:
        existing = Consensus(application_id=application.id, criterion_id=criterion.id)
        db.session.add(existing)
    existing.value = value
    existing.justification = text
    existing.decided_by_id = actor.id
    existing.decided_at = utcnow()
    db.session.flush()
    audit.record("consensus.recorded", application, actor=actor, criterion_id=criterion.id,
                 criterion=criterion.name, old=old, new={"value": str(value), "justification": text},
                 scores=[str(v) for v in crit_result.scores])
    return existing


# --- the decision -------------------------------------------------------------------------


@dataclass
class DecisionPreview:
    """What confirming the decision will do, for the confirmation step."""

    call: Call
    ranking: RankingPage
    people: int  # how many people will be told

    @property
    def selected(self) -> list[RankingRow]:
        return [r for r in self.ranking.rows if r.outcome == Outcome.SELECTED]

    @property
    def reserve(self) -> list[RankingRow]:
        return [r for r in self.ranking.rows if r.outcome == Outcome.RESERVE]

    @property
    def rejected(self) -> list[RankingRow]:
        return [r for r in self.ranking.rows if r.outcome == Outcome.REJECTED]


def _refuse_unless_decidable(call: Call, proposal: scoring.Proposal, has_rows: bool) -> None:
    if call.status in DECIDED_STATUSES:
        raise DecisionError(_l("This call is already decided: nothing was changed."))
    if call.status != CallStatus.IN_EVALUATION:
        raise DecisionError(_l("Only a call in evaluation can be decided."))
    if not has_rows:
        raise DecisionError(_l("There is no eligible application to rank: nothing to decide."))
    if not proposal.ready:
        raise DecisionError(_l(
            "The decision cannot be confirmed yet: %(incomplete)d applications still miss evaluations and "
            "%(moderate)d have divergent scores to moderate.",
            incomplete=len(proposal.incomplete), moderate=len(proposal.to_moderate)))


def decision_preview(actor, call_id: int) -> DecisionPreview:
    require(is_staff(actor))
    page = ranking_page(actor, call_id)
    _refuse_unless_decidable(page.call, page.proposal, bool(page.rows))
    orgs = [r.application.organisation_id for r in page.rows] + [a.organisation_id for a in page.ineligible]
    people = sum(len(v) for v in _members_by_organisation(orgs).values())
    return DecisionPreview(page.call, page, people)


@dataclass
class DecisionDone:
    call: Call
    selected: int
    reserve: int
    rejected: int
    ineligible: int
    notified: int


def decide(actor, call_id: int, digest: str | None) -> DecisionDone:
    """Confirm the proposed decision: outcomes written, the call decided, every applicant told, all audited."""
    require(is_staff(actor))
    call = _locked_call(call_id)
    rules, sheets, proposal = proposal_for(call)
    _refuse_unless_decidable(call, proposal, bool(proposal.ranked))
    ineligible = _ineligible(call.id)
    if digest != proposal_digest(proposal, [a.id for a in ineligible]):
        raise DecisionError(_l("The ranking changed since you reviewed it. Check it again, then confirm."))
    now = utcnow()
    ids = [r.result.application_id for r in proposal.ranked]
    applications = {a.id: a for a in db.session.scalars(
        select(Application).where(Application.id.in_(ids)).with_for_update()
        .execution_options(populate_existing=True))}
    counts: Counter = Counter()
    for ranked in proposal.ranked:
        application = applications[ranked.result.application_id]
        application.weighted_total = scoring.round_score(ranked.result.weighted_total)
        application.rank = ranked.rank or None
        application.outcome = ranked.outcome
        application.reserve_position = ranked.reserve_position
        application.decided_at = now
        application.place_status = PlaceStatus.OFFERED.value if ranked.outcome == Outcome.SELECTED else None
        counts[ranked.outcome] += 1
        audit.record("application.decided", application, actor=actor, outcome=ranked.outcome,
                     rank=application.rank, reserve_position=ranked.reserve_position,
                     weighted_total=application.weighted_total, total=ranked.result.total,
                     failed=list(ranked.result.failed))
    for application in ineligible:
        application.outcome = Outcome.REJECTED.value
        application.rank = application.reserve_position = application.weighted_total = None
        application.place_status = None
        application.decided_at = now
        audit.record("application.decided", application, actor=actor, outcome=Outcome.REJECTED.value,
                     ineligible=True)
    call.decided_at = now
    transition(call, CallStatus.DECIDED, actor=actor, selected=counts[Outcome.SELECTED],
               reserve=counts[Outcome.RESERVE], rejected=counts[Outcome.REJECTED], ineligible=len(ineligible))
    db.session.flush()
    notified = _notify_decision(call, list(applications.values()) + ineligible)
    return DecisionDone(call, counts[Outcome.SELECTED], counts[Outcome.RESERVE], counts[Outcome.REJECTED],
                        len(ineligible), notified)


def _decision_kind(application: Application) -> str:
    if application.eligibility == Eligibility.INELIGIBLE and application.rank is None \
            and application.outcome == Outcome.REJECTED:
        return "ineligible"
    return application.outcome


def _notify_decision(call: Call, applications: list[Application]) -> int:
    members = _members_by_organisation(a.organisation_id for a in applications)
    sent = 0
    for application in applications:
        kind = _decision_kind(application)
        for user in members.get(application.organisation_id, []):
            notify(user, _subject(kind, call.title), f"decision_{kind}",
                   link=_application_link(application.id), call=call, application=application, organisation=application.organisation,
                   letter_link=_absolute(_letter_link(application.id)), answer_by=answer_by(application))
            sent += 1
    return sent


def _subject(kind: str, title: str):
    """The e-mail subject, built when rendered so that it comes out in the recipient's language."""
    return {
        "selected": lambda: _("%(call)s: you are selected", call=title),
        "reserve": lambda: _("%(call)s: you are on the reserve list", call=title),
        "rejected": lambda: _("%(call)s: the outcome of your application", call=title),
        "ineligible": lambda: _("%(call)s: the outcome of your application", call=title),
        "promoted": lambda: _("%(call)s: a place is offered to you", call=title),
    }[kind]


def _absolute(path: str) -> str:
    return absolute_url(path)


# --- the place offered --------------------------------------------------------------------


@dataclass
class PlaceAnswer:
    application: Application
    accepted: bool
    promoted: Application | None


def place_question(actor, application_id: int, answer: str) -> Application:
    """The application whose place the actor is about to accept or decline (for the confirmation)."""
    application = _application(application_id)
    require(is_member(actor, application.organisation_id))
    _check_place_open(application, answer)
    return application


def _check_place_open(application: Application, answer: str) -> None:
    if answer not in ("accept", "decline"):
        abort(400)
    if application.call.status != CallStatus.DECIDED or application.outcome != Outcome.SELECTED:
        raise DecisionError(_l("No place is offered to this application."))
    if application.place_status != PlaceStatus.OFFERED:
        raise DecisionError(_l("The place was already %(answer)s: the answer cannot be changed.",
                               answer=_l("accepted") if application.place_status == PlaceStatus.ACCEPTED
                               else _l("declined")))


def answer_place(actor, application_id: int, answer: str) -> PlaceAnswer:
    """Accept or decline the place offered, once; a decline offers it to the first on the reserve list."""
    application = _application(application_id)
    require(is_member(actor, application.organisation_id))
    call = _locked_call(application.call_id)
    application = db.session.execute(
        select(Application).where(Application.id == application_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    _check_place_open(application, answer)
    now = utcnow()
    accepted = answer == "accept"
    application.place_status = (PlaceStatus.ACCEPTED if accepted else PlaceStatus.DECLINED).value
    application.place_answered_at = now
    audit.record("application.place_accepted" if accepted else "application.place_declined", application,
                 actor=actor, rank=application.rank)
    promoted = None if accepted else _promote_first_reserve(call, actor, now)
    for user in _staff_users():
        notify(user, _staff_subject(accepted, application.organisation.legal_name, call.title),
               "decision_place_answered", link=url_for("calls.call_ranking", call_id=call.id),
               call=call, application=application, organisation=application.organisation,
               accepted=accepted, promoted=promoted)
    db.session.flush()
    return PlaceAnswer(application, accepted, promoted)


def _staff_subject(accepted: bool, organisation: str, title: str):
    if accepted:
        return lambda: _("%(organisation)s accepted its place in %(call)s", organisation=organisation,
                         call=title)
    return lambda: _("%(organisation)s declined its place in %(call)s", organisation=organisation,
                     call=title)


def _promote_first_reserve(call: Call, actor, now: datetime) -> Application | None:
    """The first on the reserve list gets the place; the others move up one position."""
    reserve = list(db.session.scalars(
        select(Application)
        .where(Application.call_id == call.id, Application.outcome == Outcome.RESERVE,
               Application.status == ApplicationStatus.SUBMITTED)
        .order_by(Application.reserve_position, Application.rank, Application.id)
        .with_for_update().execution_options(populate_existing=True)))
    if not reserve:
        return None
    first, rest = reserve[0], reserve[1:]
    old_position = first.reserve_position
    first.outcome = Outcome.SELECTED.value
    first.place_status = PlaceStatus.OFFERED.value
    first.reserve_position = None
    # The promotion is a new decision for this application: its answer-by date starts now.
    first.decided_at = now
    audit.record("application.promoted", first, actor=actor, from_reserve_position=old_position, rank=first.rank)
    for position, application in enumerate(rest, start=1):
        if application.reserve_position != position:
            audit.record("application.reserve_moved", application, actor=actor,
                         old=application.reserve_position, new=position)
            application.reserve_position = position
    db.session.flush()
    members = _members_by_organisation([first.organisation_id])
    for user in members.get(first.organisation_id, []):
        notify(user, _subject("promoted", call.title), "decision_promoted", link=_application_link(first.id),
               call=call, application=first, organisation=first.organisation,
               letter_link=_absolute(_letter_link(first.id)), answer_by=answer_by(first))
    return first


# --- what the applicant sees on the application page --------------------------------------


@dataclass
class ApplicantDecision:
    application: Application
    outcome: str  # selected, reserve, rejected, ineligible
    may_answer: bool
    answer_by: datetime | None
    letter_url: str
    promoted: bool


def applicant_decision(user, application: Application) -> ApplicantDecision | None:
    """The decision as the application page shows it (None before the decision or to someone else)."""
    if application.decided_at is None or application.call.status not in DECIDED_STATUSES:
        return None
    if not (is_staff(user) or is_member(user, application.organisation_id)):
        return None
    return ApplicantDecision(
        application=application, outcome=_decision_kind(application),
        may_answer=(is_member(user, application.organisation_id)
                    and application.call.status == CallStatus.DECIDED
                    and application.outcome == Outcome.SELECTED
                    and application.place_status == PlaceStatus.OFFERED),
        answer_by=answer_by(application), letter_url=_letter_link(application.id),
        promoted=_promoted(application))


def _promoted(application: Application) -> bool:
    return (application.outcome == Outcome.SELECTED and application.rank is not None
            and application.rank > application.call.places)


# --- the decision letter ------------------------------------------------------------------


@dataclass
class LetterCriterion:
    name: str
    weight: Decimal
    max_score: Decimal
    threshold: Decimal | None
    final: Decimal | None
    passes: bool | None
    comments: list[tuple[int, str]]  # (evaluator number, comment)
    consensus: Decimal | None
    justification: str | None


@dataclass
class Letter:
    application: Application
    call: Call
    organisation: Organisation
    edition: Edition
    kind: str  # selected, reserve, rejected, ineligible
    promoted: bool
    answer_by: datetime | None
    criteria: list[LetterCriterion]
    total: Decimal | None
    weighted_total: Decimal | None
    max_total: Decimal
    overall_threshold: Decimal
    failed: list[str]  # names of the criteria below their threshold, "overall" for the overall one
    eligibility_failures: list[dict]
    locale: str
    application_url: str


def _letter_locale(actor, application: Application) -> str:
    if is_member(actor, application.organisation_id):
        return actor.locale or "en"
    # Staff download the letter as the applicant will read it.
    return (application.created_by.locale if application.created_by else None) or "en"


def letter(actor, application_id: int) -> Letter:
    application = _application(application_id)
    if not (is_staff(actor) or is_member(actor, application.organisation_id)):
        deny()
    call = application.call
    if application.decided_at is None or call.status not in DECIDED_STATUSES:
        abort(404)  # there is no letter before the decision
    kind = _decision_kind(application)
    rules, sheets = load_scores(call, only=[application.id])
    result = scoring.evaluate(sheets[0], rules) if sheets and kind != "ineligible" else None
    pairs = _submitted_scores(application.id) if result else []
    numbers = evaluator_numbers(pairs)
    consensus = {c.criterion_id: c for c in db.session.scalars(
        select(Consensus).where(Consensus.application_id == application.id))}
    results = {r.criterion_id: r for r in result.criteria} if result else {}
    criteria = []
    for criterion in call.criteria:
        r = results.get(criterion.id)
        comments = [(numbers[a.id], s.comment) for a, s in pairs
                    if s.criterion_id == criterion.id and (s.comment or "").strip()]
        c = consensus.get(criterion.id)
        criteria.append(LetterCriterion(
            criterion.name, Decimal(criterion.weight), Decimal(criterion.max_score),
            None if criterion.threshold is None else Decimal(criterion.threshold),
            r.final if r else None, r.passes if r else None, comments,
            c.value if c else None, c.justification if c else None))
    failed = []
    if result:
        for code in result.failed:
            failed.append("overall" if code == "overall" else next(
                (c.name for c in call.criteria if f"criterion:{c.id}" == code), code))
    eligibility_failures = [r for r in (application.eligibility_results or []) if not r.get("passed")]
    return Letter(
        application=application, call=call, organisation=application.organisation, edition=call.edition,
        kind=kind, promoted=_promoted(application), answer_by=answer_by(application), criteria=criteria,
        total=result.total if result else None,
        weighted_total=application.weighted_total if result else None,
        max_total=rules.max_total, overall_threshold=rules.effective_overall_threshold, failed=failed,
        eligibility_failures=eligibility_failures, locale=_letter_locale(actor, application),
        application_url=_absolute(_application_link(application.id)))


# --- the evaluation summary report --------------------------------------------------------


@dataclass
class CriterionStats:
    criterion: Criterion
    mean: Decimal | None
    lowest: Decimal | None
    highest: Decimal | None
    passed: int
    scored: int


@dataclass
class Summary:
    call: Call
    criteria: list[Criterion]
    rules: scoring.CallRules
    rows: list[RankingRow]
    ineligible: list[Application]
    provisional: bool
    received: int
    withdrawn: int
    eligible: int
    pending: int
    evaluators: int
    evaluations: int
    conflicts: int
    divergent_criteria: int
    moderated: int
    mean_total: Decimal | None
    mean_weighted: Decimal | None
    distribution: list[tuple[Decimal, Decimal, int]]  # (from, to, how many)
    per_criterion: list[CriterionStats]
    by_domain: list[tuple[str, int]]
    by_size: list[tuple[str | None, int]]
    failed_rules: list[tuple[str, int]] = field(default_factory=list)


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def summary(actor, call_id: int, locale: str = "en") -> Summary:
    call = _call(call_id)
    if is_staff(actor):
        if call.status not in RANKING_STATUSES:
            abort(404)
    elif actor.has_role(Role.AUTHORITY):
        if call.status not in DECIDED_STATUSES:
            abort(404)  # the authority reads the outcome, not the work in progress
    else:
        deny()
    decided = call.status in DECIDED_STATUSES
    rules, _proposal, rows = _ranking_rows(call, decided)
    ineligible = _ineligible(call.id)
    status_counts = dict(db.session.execute(
        select(Application.status, func.count(Application.id))
        .where(Application.call_id == call.id, Application.submitted_at.is_not(None))
        .group_by(Application.status)).all())
    evaluators, evaluations = db.session.execute(
        select(func.count(func.distinct(Assignment.evaluator_id)), func.count(Assignment.id))
        .join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.status == AssignmentStatus.SUBMITTED)).one()
    conflicts = db.session.scalar(
        select(func.count(Assignment.id)).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Assignment.status == AssignmentStatus.CONFLICT)) or 0
    moderated = db.session.scalar(
        select(func.count(Consensus.id)).join(Application, Application.id == Consensus.application_id)
        .where(*_rankable(call.id))) or 0
    complete = [r for r in rows if r.result.complete]
    totals = [r.result.total for r in complete if r.result.total is not None]
    width = rules.max_total / 5 if rules.max_total else Decimal(1)
    distribution = []
    for i in range(5):
        low, high = width * i, width * (i + 1)
        n = sum(1 for t in totals if low <= t < high or (i == 4 and t == high))
        distribution.append((low, high, n))
    per_criterion = []
    for criterion in call.criteria:
        finals = [c.final for r in complete for c in r.result.criteria
                  if c.criterion_id == criterion.id and c.final is not None]
        passed = sum(1 for r in complete for c in r.result.criteria if c.criterion_id == criterion.id and c.passes)
        per_criterion.append(CriterionStats(criterion, _mean(finals), min(finals, default=None),
                                            max(finals, default=None), passed, len(finals)))
    chosen = db.session.scalars(select(Organisation).options(selectinload(Organisation.s3_domains)).where(
        Organisation.id.in_([r.application.organisation_id for r in rows if r.outcome == Outcome.SELECTED
                             and r.application.place_status != PlaceStatus.DECLINED]))).all()
    domains = Counter()
    for organisation in chosen:
        domains.update([d.name(locale) for d in organisation.s3_domains] or [None])
    sizes = Counter(o.size_class for o in chosen)
    failed_rules = Counter(r["code"] for a in ineligible for r in (a.eligibility_results or [])
                           if not r.get("passed"))
    return Summary(
        call=call, criteria=list(call.criteria), rules=rules, rows=rows, ineligible=ineligible,
        provisional=not decided,
        received=status_counts.get(ApplicationStatus.SUBMITTED, 0) + status_counts.get(ApplicationStatus.WITHDRAWN, 0),
        withdrawn=status_counts.get(ApplicationStatus.WITHDRAWN, 0),
        eligible=sum(1 for r in rows if r.application.eligibility == Eligibility.ELIGIBLE),
        pending=sum(1 for r in rows if r.application.eligibility == Eligibility.PENDING),
        evaluators=evaluators or 0, evaluations=evaluations or 0, conflicts=conflicts,
        divergent_criteria=sum(1 for r in rows for c in r.result.criteria if c.divergent),
        moderated=moderated,
        mean_total=_mean(totals), mean_weighted=_mean([r.result.weighted_total for r in complete
                                                        if r.result.weighted_total is not None]),
        distribution=distribution, per_criterion=per_criterion,
        by_domain=sorted(domains.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")),
        by_size=sorted(sizes.items(), key=lambda kv: (kv[0] is None, _SIZE_ORDER.get(kv[0], 9))),
        failed_rules=sorted(failed_rules.items(), key=lambda kv: (-kv[1], kv[0])),
    )


_SIZE_ORDER = {"micro": 0, "small": 1, "medium": 2, "large": 3}


# --- home panels --------------------------------------------------------------------------


@dataclass
class CallProgress:
    call: Call
    proposal: scoring.Proposal
    applications: int

    @property
    def ready(self) -> bool:
        return self.proposal.ready and self.applications > 0


def calls_in_evaluation() -> list[CallProgress]:
    """Every call in evaluation with its proposal; computed once per request for the home panels."""
    if has_request_context() and "calls_in_evaluation" in g:
        return g.calls_in_evaluation
    progress = []
    for call in db.session.scalars(select(Call).where(Call.status == CallStatus.IN_EVALUATION)
                                   .order_by(Call.closes_at, Call.id)):
        _rules, sheets, proposal = proposal_for(call)
        progress.append(CallProgress(call, proposal, len(sheets)))
    if has_request_context():
        g.calls_in_evaluation = progress
    return progress

