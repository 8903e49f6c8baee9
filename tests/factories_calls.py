"""Builders for calls, applications and evaluations, through the real models (no mocks).

`make_call()` gives a call with the three Horizon Europe criteria and a short form
(one text question, the baseline figures); `make_application(call, org, submitted=True)`
answers it; `make_assignment(app, evaluator, scores=[4, 4.5, 3])` adds an evaluation.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from opsapp.calls.models import (
    Answer,
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    BaselineKey,
    Call,
    CallStatus,
    Criterion,
    Edition,
    EvaluatorProfile,
    Programme,
    ProgrammeKind,
    Question,
    QuestionKind,
    Score,
)
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db

_seq = itertools.count(1)

HE_CRITERIA = (
    ("Excellence", Decimal("1")),
    ("Impact", Decimal("1.5")),
    ("Quality and efficiency of the implementation", Decimal("1")),
)


def make_programme(kind: ProgrammeKind = ProgrammeKind.ACCELERATOR) -> Programme:
    programme = db.session.query(Programme).filter_by(kind=str(kind)).one_or_none()
    if programme is None:
        names = {ProgrammeKind.ACCELERATOR: ("Business Accelerator", "Business Accelerator"),
                 ProgrammeKind.MEET_THE_BUYER: ("Meet the Buyer", "Meet the Buyer")}[kind]
        programme = Programme(kind=str(kind), name_en=names[0], name_it=names[1])
        db.session.add(programme)
        db.session.flush()
    return programme


def make_edition(year: int = 2027, kind: ProgrammeKind = ProgrammeKind.ACCELERATOR, **fields) -> Edition:
    programme = make_programme(kind)
    edition = db.session.query(Edition).filter_by(programme_id=programme.id, year=year).one_or_none()
    if edition is None:
        edition = Edition(programme_id=programme.id, year=year, budget=fields.pop("budget", Decimal("250000")),
                          **fields)
        db.session.add(edition)
        db.session.flush()
    return edition


def make_call(status: CallStatus = CallStatus.OPEN, *, edition: Edition | None = None, places: int = 3,
              opens_in: timedelta = timedelta(days=-10), closes_in: timedelta = timedelta(days=20),
              criteria=HE_CRITERIA, questions: bool = True, eligibility_rules: dict | None = None,
              **fields) -> Call:
    now = utcnow()
    call = Call(
        edition_id=(edition or make_edition()).id,
        title=fields.pop("title", f"Accelerator call {next(_seq)}"),
        summary=fields.pop("summary", "Coaching, mentoring and investors for high-growth start-ups."),
        description=fields.pop("description", "The call selects start-ups and SMEs with a product on the market."),
        status=str(status),
        opens_at=now + opens_in,
        closes_at=now + closes_in,
        places=places,
        eligible_kinds=fields.pop("eligible_kinds", ["startup", "sme"]),
        eligibility_rules=eligibility_rules if eligibility_rules is not None else {"sme": {}},
        published_at=None if status == CallStatus.DRAFT else now + opens_in,
        **fields,
    )
    db.session.add(call)
    db.session.flush()
    for position, (name, weight) in enumerate(criteria):
        db.session.add(Criterion(call_id=call.id, position=position, name=name, weight=weight,
                                 max_score=Decimal("5"), threshold=Decimal("3")))
    if questions:
        db.session.add(Question(call_id=call.id, page=1, position=0, kind=str(QuestionKind.LONG_TEXT),
                                label="Describe your product and its market", required=True, max_length=2000))
        for position, key in enumerate((BaselineKey.TURNOVER, BaselineKey.EMPLOYEES_FTE), start=1):
            kind = QuestionKind.MONEY if key == BaselineKey.TURNOVER else QuestionKind.NUMBER
            db.session.add(Question(call_id=call.id, page=2, position=position, kind=str(kind),
                                    label=str(key), required=True, baseline_key=str(key)))
    db.session.flush()
    db.session.refresh(call)
    return call


def make_application(call: Call, organisation, *, submitted: bool = True, by=None,
                     submitted_at=None, **fields) -> Application:
    status = ApplicationStatus.SUBMITTED if submitted else ApplicationStatus.DRAFT
    application = Application(
        call_id=call.id,
        organisation_id=organisation.id,
        created_by_id=getattr(by, "id", None),
        status=str(status),
        live_key=organisation.id,
        submitted_at=(submitted_at or utcnow()) if submitted else None,
        receipt_number=f"T-{call.id}-{organisation.id}-{next(_seq)}" if submitted else None,
        comparison_consent=fields.pop("comparison_consent", True),
        deminimis_declared=fields.pop("deminimis_declared", Decimal("0")),
        product_on_market=fields.pop("product_on_market", True),
        paying_clients=fields.pop("paying_clients", 5),
        **fields,
    )
    db.session.add(application)
    db.session.flush()
    for question in call.questions:
        value = {"money": "850000.00", "number": "12"}.get(question.kind, "Sensors for smart textiles.")
        db.session.add(Answer(application_id=application.id, question_id=question.id, value=value))
    db.session.flush()
    return application


def make_evaluator_profile(user, s3_domains=(), **fields) -> EvaluatorProfile:
    profile = EvaluatorProfile(user_id=user.id, languages=fields.pop("languages", ["en", "it"]), **fields)
    profile.s3_domains = list(s3_domains)
    db.session.add(profile)
    db.session.flush()
    return profile


def make_assignment(application: Application, evaluator, *, scores=None,
                    status: AssignmentStatus | None = None, comment: str = "Clear and convincing.") -> Assignment:
    """An assignment; with `scores` (one per criterion) it is declared and submitted."""
    if status is None:
        status = AssignmentStatus.SUBMITTED if scores is not None else AssignmentStatus.ASSIGNED
    now = utcnow()
    assignment = Assignment(
        application_id=application.id, evaluator_id=evaluator.id, status=str(status),
        declared_at=now if status in (AssignmentStatus.ACCEPTED, AssignmentStatus.SUBMITTED) else None,
        submitted_at=now if status == AssignmentStatus.SUBMITTED else None,
    )
    db.session.add(assignment)
    db.session.flush()
    if scores is not None:
        for criterion, value in zip(application.call.criteria, scores, strict=True):
            db.session.add(Score(assignment_id=assignment.id, criterion_id=criterion.id,
                                 value=Decimal(str(value)), comment=comment))
    db.session.flush()
    return assignment
