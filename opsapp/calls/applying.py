"""Applying to a call: the use cases of an application, from the first draft to the staff's
confirmation of its eligibility.

An applicant applies for their organisation; the form is the call's questions grouped in
steps by `Question.page`, then a fixed step of declarations. Each step is saved as a draft
(what is valid is kept, what is not is refused field by field). The summary lists every
answer, what is still missing and the eligibility rules run on the spot; submitting checks
the deadline on the server, whatever the page said, stores the rules' results, gives a
receipt number and freezes the application. Until the deadline it can be withdrawn, or
replaced by a new version (the old one is kept, superseded). One live application per
organisation and call: checked here and enforced by the unique key on `live_key`. Staff
confirm or override the eligibility with a reason. Every function checks who may act,
changes, audits and flushes; the caller commits.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask import abort, current_app, url_for
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from opsapp.accounts import organisations
from opsapp.accounts.models import Membership, Organisation, S3Domain, User
from opsapp.calls import eligibility, permissions
from opsapp.calls.application_forms import (
    AnswerProblem,
    allowed_kinds,
    choice_pairs,
    is_answered,
    max_bytes_for,
    parse_answer,
    parse_declaration,
)
from opsapp.calls.models import (
    Answer,
    Application,
    ApplicationStatus,
    Call,
    CallAudience,
    CallStatus,
    Edition,
    Eligibility,
    Obligation,
    ProgrammeKind,
    Question,
    QuestionKind,
)
from opsapp.calls.states import transition
from opsapp.core import audit, files, privacy
from opsapp.core.models import StoredFile
from opsapp.core.money import format_money
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import format_in_zone, to_local, utcnow
from opsapp.extensions import db

ATTACHMENT_PURPOSE = "application_attachment"
RECEIPT_PREFIX = {ProgrammeKind.ACCELERATOR: "ACC", ProgrammeKind.MEET_THE_BUYER: "MTB"}
RETENTION_YEARS = 5  # decision records: five years after the end of the edition
REASON_MAX = 2000
DECLARATIONS = ("product_on_market", "paying_clients", "relocation_commitment", "deminimis_declared",
                "comparison_consent")


class ApplicationError(Exception):
    """A refusal with a message for the user; `field` names the form field it belongs to,
    `missing` lists the answers still needed (at submission)."""

    def __init__(self, message, field: str | None = None, missing: list | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.missing = missing or []


def home_region() -> str:
    return current_app.config["HOME_REGION_NUTS2"]


def upload_limit() -> int:
    return int(current_app.config["MAX_UPLOAD_BYTES"])


# --- loading ---------------------------------------------------------------------------


def get_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or call.status == CallStatus.DRAFT:
        abort(404)  # a call in design is not there for applicants
    return call


def get_application(application_id: int, *, for_update: bool = False) -> Application:
    query = (select(Application).where(Application.id == application_id)
             .options(selectinload(Application.answers).joinedload(Answer.file),
                      joinedload(Application.call).joinedload(Call.edition).joinedload(Edition.programme),
                      joinedload(Application.organisation)))
    if for_update and db.engine.dialect.name == "postgresql":
        # Two members pressing "Submit" (or "Withdraw") at once: the second waits and then
        # finds the application already changed. SQLite serialises writers by itself.
        query = query.with_for_update(of=Application)
    application = db.session.scalars(query).unique().one_or_none()
    if application is None:
        abort(404)
    return application


def _member(actor, application: Application) -> None:
    require(permissions.is_member(actor, application.organisation_id))


def for_viewing(actor, application_id: int) -> Application:
    """Members of the organisation and staff; evaluators read applications through their own page."""
    application = get_application(application_id)
    require(permissions.is_staff(actor) or permissions.is_member(actor, application.organisation_id))
    return application


def _frozen_message(application: Application):
    status = application.status_enum
    if status == ApplicationStatus.SUBMITTED:
        return _l("This application is submitted, so it can no longer be changed. To change it before the "
                  "deadline, start a new version from its page.")
    if status == ApplicationStatus.WITHDRAWN:
        return _l("This application was withdrawn and can no longer be changed.")
    if status == ApplicationStatus.SUPERSEDED:
        return _l("This is an older version, replaced by a newer one; it can no longer be changed.")
    return _l("This application can no longer be changed.")


def _closed_message(call: Call):
    now = utcnow()
    if call.closes_at is not None and now >= call.closes_at:
        return _l("The call closed on %(deadline)s: applications can no longer be changed or submitted.",
                  deadline=deadline_text(call))
    if call.opens_at is not None and now < call.opens_at:
        return _l("The call opens on %(opens)s.", opens=local_time_text(call.opens_at, call.timezone))
    return _l("This call is not accepting applications.")


def for_editing(actor, application_id: int, now: datetime | None = None, *, for_update: bool = True) -> Application:
    """A draft of the actor's organisation while the call is open; anything else is refused."""
    application = get_application(application_id, for_update=for_update)
    _member(actor, application)
    if application.status != ApplicationStatus.DRAFT:
        raise ApplicationError(_frozen_message(application))
    if not permissions.call_accepts_submissions(application.call, now or utcnow()):
        raise ApplicationError(_closed_message(application.call))
    return application


def local_time_text(value: datetime, tz: str | None) -> str:
    """A moment in the call's time zone, in the user's language."""
    return format_in_zone(value, tz or "Europe/Rome", str(get_locale() or "en"))


def deadline_text(call: Call) -> str:
    return local_time_text(call.closes_at, call.timezone) if call.closes_at else ""


# --- the steps of the form -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    number: int  # position in the form, from 1
    title: str
    questions: tuple[Question, ...] = ()
    declarations: bool = False


def steps_of(call: Call) -> list[Step]:
    """The call's questions grouped by page, in order, then the declarations."""
    pages = sorted({q.page for q in call.questions})
    steps = [
        Step(n, str(_l("Part %(n)d", n=n)),
             tuple(sorted((q for q in call.questions if q.page == page), key=lambda q: (q.position, q.id))))
        for n, page in enumerate(pages, start=1)
    ]
    steps.append(Step(len(steps) + 1, str(_l("Declarations")), (), True))
    return steps


def step_of(call: Call, number: int) -> Step:
    steps = steps_of(call)
    if not 1 <= number <= len(steps):
        abort(404)
    return steps[number - 1]


@dataclass(frozen=True)
class DeclarationRules:
    readiness: bool  # product on the market and paying clients are asked
    relocation: bool  # the seat is outside the region: the commitment to move it is asked
    deminimis_required: bool


def declaration_rules(application: Application) -> DeclarationRules:
    call = application.call
    rules = call.eligibility_rules or {}
    readiness = "business_readiness" in rules or (
        call.programme_kind is ProgrammeKind.ACCELERATOR and call.audience == CallAudience.COMPANIES)
    relocation = not application.organisation.in_region(home_region())
    return DeclarationRules(readiness, relocation, "deminimis" in rules)


def stored_answers(application: Application) -> dict[int, object]:
    return {a.question_id: a.value for a in application.answers}


# --- starting --------------------------------------------------------------------------


@dataclass
class Start:
    application: Application | None = None
    created: bool = False
    raced: bool = False  # a colleague started it at the same moment
    choose_from: list[Organisation] = field(default_factory=list)  # several organisations: ask which
    no_organisation: bool = False


def live_application(call_id: int, organisation_id: int) -> Application | None:
    return db.session.scalar(select(Application).where(
        Application.call_id == call_id, Application.live_key == organisation_id))


def kind_allowed(call: Call, organisation: Organisation) -> bool:
    return not call.eligible_kinds or organisation.kind in call.eligible_kinds


def kinds_text(call: Call) -> str:
    from opsapp.accounts.models import ORGANISATION_KIND_LABELS, OrganisationKind

    labels = []
    for kind in call.eligible_kinds or ():
        try:
            labels.append(str(ORGANISATION_KIND_LABELS[OrganisationKind(kind)]))
        except ValueError:
            labels.append(kind)
    return ", ".join(labels)


def start_application(actor, call_id: int, organisation_id: int | None = None) -> Start:
    """Open the draft of the actor's organisation, creating it if there is none yet."""
    call = get_call(call_id)
    mine = organisations.organisations_of(actor)
    if not mine:
        return Start(no_organisation=True)
    if organisation_id is None:
        if len(mine) > 1:
            return Start(choose_from=mine)
        organisation = mine[0]
    else:
        organisation = next((o for o in mine if o.id == organisation_id), None)
        require(organisation is not None)
    existing = live_application(call.id, organisation.id)
    if existing is not None:
        return Start(existing)
    if not permissions.call_accepts_submissions(call, utcnow()):
        raise ApplicationError(_closed_message(call))
    if not kind_allowed(call, organisation):
        raise ApplicationError(_l(
            "This call is for %(kinds)s. %(name)s is registered as %(kind)s, so it cannot apply. If the kind "
            "is wrong, correct it in the organisation's profile.",
            kinds=kinds_text(call), name=organisation.legal_name, kind=organisation.kind_enum.label))
    # After a withdrawal the organisation may start again: the new one is the next version,
    # so the list of versions on the application's page reads in order.
    latest = db.session.scalar(select(func.max(Application.version)).where(
        Application.call_id == call.id, Application.organisation_id == organisation.id))
    application = Application(call_id=call.id, organisation_id=organisation.id, created_by_id=actor.id,
                              status=ApplicationStatus.DRAFT.value, version=(latest or 0) + 1,
                              live_key=organisation.id, current_page=1)
    try:
        # The unique key decides a race between two members starting at once (PostgreSQL;
        # SQLite runs the two requests one after the other): the loser opens the winner's draft.
        with db.session.begin_nested():
            db.session.add(application)
    except IntegrityError:
        existing = live_application(call.id, organisation.id)
        if existing is None:
            raise
        return Start(existing, raced=True)
    audit.record("applications.created", application, actor=actor, call_id=call.id,
                 organisation_id=organisation.id)
    return Start(application, created=True)


# --- saving a step ---------------------------------------------------------------------


@dataclass
class Saved:
    application: Application
    changed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message


def _discard_if_unused(file_id: int | None, keep_answer: Answer | None = None) -> None:
    """Delete an attachment nobody points to any more (an older version keeps its own)."""
    if file_id is None:
        return
    others = db.session.scalar(select(func.count(Answer.id)).where(
        Answer.file_id == file_id, Answer.id != (keep_answer.id if keep_answer is not None else -1)))
    if not others:
        stored = db.session.get(StoredFile, file_id)
        if stored is not None:
            files.delete(stored)


def save_step(actor, application_id: int, number: int, raw_answers: Mapping[int, object],
              uploads: Mapping[int, FileStorage] | None = None, declarations: Mapping[str, object] | None = None,
              *, next_page: int | None = None) -> Saved:
    """Save what is valid on one step. `raw_answers` holds what was sent for the questions the
    form found valid (a question left out keeps its saved answer); each is read again here."""
    application = for_editing(actor, application_id)
    step = step_of(application.call, number)
    saved = Saved(application)
    answers = {a.question_id: a for a in application.answers}
    for question in step.questions:
        name = f"q{question.id}"
        if question.kind == QuestionKind.FILE:
            upload = (uploads or {}).get(question.id)
            if upload is None or not upload.filename:
                continue
            try:
                stored = files.store(upload, purpose=ATTACHMENT_PURPOSE, uploaded_by=actor,
                                     organisation_id=application.organisation_id,
                                     allowed=allowed_kinds(question),
                                     max_bytes=max_bytes_for(question, upload_limit()),
                                     description=question.label[:255])
            except files.FileRejected as error:
                saved.errors[name] = str(error)
                continue
            answer = answers.get(question.id)
            if answer is None:
                answer = Answer(application_id=application.id, question_id=question.id)
                application.answers.append(answer)
                answers[question.id] = answer
                old = None
            else:
                old = answer.file_id
            answer.file_id = stored.id
            db.session.flush()
            _discard_if_unused(old, keep_answer=answer)
            audit.record("applications.file_uploaded", application, actor=actor, question_id=question.id,
                         file_id=stored.id, name=stored.original_name, size=stored.size)
            saved.changed.append(name)
            continue
        if question.id not in raw_answers:
            continue
        try:
            value = parse_answer(question, raw_answers[question.id])
        except AnswerProblem as problem:
            saved.errors[name] = str(problem)
            continue
        answer = answers.get(question.id)
        if value is None:
            if answer is not None and answer.value is not None:
                saved.changed.append(name)
                application.answers.remove(answer)  # delete-orphan: the row goes
                answers.pop(question.id)
            continue
        if answer is None:
            application.answers.append(Answer(application_id=application.id, question_id=question.id, value=value))
            saved.changed.append(name)
        elif answer.value != value:
            answer.value = value
            saved.changed.append(name)
    if step.declarations and declarations is not None:
        _save_declarations(application, declarations, saved)
    if next_page is not None:
        application.current_page = next_page
    application.updated_at = utcnow()
    db.session.flush()
    if saved.changed:
        audit.record("applications.page_saved", application, actor=actor, step=number, fields=saved.changed)
    return saved


def _save_declarations(application: Application, raw: Mapping[str, object], saved: Saved) -> None:
    rules = declaration_rules(application)
    asked = {"deminimis_declared", "comparison_consent"}
    if rules.readiness:
        asked |= {"product_on_market", "paying_clients"}
    if rules.relocation:
        asked.add("relocation_commitment")
    elif application.relocation_commitment:
        # The seat is in the region now: a commitment to move it there means nothing.
        application.relocation_commitment = False
        saved.changed.append("relocation_commitment")
    for name in DECLARATIONS:
        if name not in asked or name not in raw:
            continue
        try:
            value = parse_declaration(name, raw[name])
        except AnswerProblem as problem:
            saved.errors[name] = str(problem)
            continue
        if getattr(application, name) != value:
            setattr(application, name, value)
            saved.changed.append(name)


# --- what is answered, what is missing ---------------------------------------------------


@dataclass
class AnswerLine:
    label: str
    text: str  # the answer in words ("" when not answered)
    answered: bool
    required: bool
    question: Question | None = None
    answer: Answer | None = None
    field_name: str = ""


@dataclass
class StepSheet:
    step: Step
    lines: list[AnswerLine]


@dataclass
class Missing:
    step: int
    label: str
    field_name: str


def answer_text(question: Question, answer: Answer | None) -> str:
    """An answer in words, in the user's language."""
    if answer is None:
        return ""
    if question.kind == QuestionKind.FILE:
        return answer.file.original_name if answer.file is not None else ""
    value = answer.value
    if value is None or value == "" or value == []:
        return ""
    locale = str(get_locale() or "en")
    labels = dict(choice_pairs(question))
    if question.kind == QuestionKind.YES_NO:
        return str(_l("Yes")) if value else str(_l("No"))
    if question.kind == QuestionKind.MONEY:
        try:
            return format_money(value, locale)
        except (ValueError, ArithmeticError):
            return str(value)
    if question.kind == QuestionKind.NUMBER:
        try:
            return organisations.format_number(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if question.kind == QuestionKind.DATE:
        try:
            return format_date(date.fromisoformat(str(value)), "long")
        except ValueError:
            return str(value)
    if question.kind == QuestionKind.SINGLE_CHOICE:
        return labels.get(str(value), str(value))
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        return ", ".join(labels.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value]))
    return str(value)


def _declaration_lines(application: Application) -> list[AnswerLine]:
    rules = declaration_rules(application)
    locale = str(get_locale() or "en")
    yes, no = str(_l("Yes")), str(_l("No"))
    lines = []
    if rules.readiness:
        pom = application.product_on_market
        lines.append(AnswerLine(str(_l("Product or service on the market")),
                                "" if pom is None else (yes if pom else no), pom is not None, True,
                                field_name="product_on_market"))
        pc = application.paying_clients
        lines.append(AnswerLine(str(_l("Number of paying clients")), "" if pc is None else str(pc),
                                pc is not None, True, field_name="paying_clients"))
    if rules.relocation:
        lines.append(AnswerLine(str(_l("Commitment to move the seat to the region")),
                                yes if application.relocation_commitment else no, True, False,
                                field_name="relocation_commitment"))
    dm = application.deminimis_declared
    lines.append(AnswerLine(str(_l("De minimis aid received in the last three years")),
                            "" if dm is None else format_money(dm, locale), dm is not None,
                            rules.deminimis_required, field_name="deminimis_declared"))
    lines.append(AnswerLine(str(_l("May be contacted for follow-up surveys if not selected")),
                            yes if application.comparison_consent else no, True, False,
                            field_name="comparison_consent"))
    return lines


def answer_sheet(application: Application) -> list[StepSheet]:
    """Every step with its questions and answers (for the summary, the detail page and evaluators)."""
    answers = {a.question_id: a for a in application.answers}
    sheets = []
    for step in steps_of(application.call):
        if step.declarations:
            sheets.append(StepSheet(step, _declaration_lines(application)))
            continue
        lines = []
        for q in step.questions:
            a = answers.get(q.id)
            answered = a is not None and is_answered(q, a.value, a.file_id)
            lines.append(AnswerLine(q.label, answer_text(q, a) if answered else "", answered, bool(q.required),
                                    q, a, f"q{q.id}"))
        sheets.append(StepSheet(step, lines))
    return sheets


def missing_answers(sheets: list[StepSheet]) -> list[Missing]:
    return [Missing(sheet.step.number, line.label, line.field_name)
            for sheet in sheets for line in sheet.lines if line.required and not line.answered]


# --- eligibility -----------------------------------------------------------------------


def applicant_of(application: Application) -> eligibility.Applicant:
    org = application.organisation
    assessment = organisations.assess(org)
    return eligibility.Applicant(
        kind=org.kind,
        size_class=assessment.size_class.value if assessment.size_class else None,
        size_missing=tuple(str(organisations.FIGURE_LABELS.get(n, n)) for n in dict.fromkeys(assessment.missing)),
        founding_date=org.founding_date,
        nuts2_region=org.nuts2_region,
        s3_codes=frozenset(d.code for d in org.s3_domains),
        relocation_commitment=bool(application.relocation_commitment),
        product_on_market=application.product_on_market,
        paying_clients=application.paying_clients,
        deminimis_declared=application.deminimis_declared,
    )


def context_of(call: Call) -> eligibility.CallContext:
    reference = to_local(call.closes_at, call.timezone).date() if call.closes_at else utcnow().date()
    return eligibility.CallContext(
        reference_date=reference, home_region=home_region(),
        eligible_kinds=frozenset(call.eligible_kinds or ()), s3_codes=frozenset(d.code for d in call.s3_domains))


def check_eligibility(application: Application) -> list[eligibility.RuleResult]:
    return eligibility.check(applicant_of(application), context_of(application.call),
                             application.call.eligibility_rules or {})


@dataclass
class RuleLine:
    code: str
    label: str
    passed: bool
    sentence: str


PROFILE_RULES = frozenset({"organisation_kind", "sme", "startup_age", "seat_in_region", "s3_domain"})


_AMOUNT_PARAMS = ("declared", "ceiling", "room")


def _readable(result) -> dict:
    """A result as a dict whose parameters read well in the user's language (labels, amounts)."""
    data = result.as_dict() if isinstance(result, eligibility.RuleResult) else dict(result)
    params = dict(data.get("params") or {})
    if params.get("size_class"):
        try:
            params["size_class"] = organisations.size_class_label(params["size_class"]).lower()
        except ValueError:
            pass
    for name in _AMOUNT_PARAMS:
        if params.get(name) not in (None, ""):
            try:
                params[name] = format_decimal(Decimal(str(params[name])), format="#,##0.00",
                                              locale=str(get_locale() or "en"))
            except (InvalidOperation, ValueError):
                pass
    data["params"] = params
    return data


def rule_lines(results) -> list[RuleLine]:
    """Results (RuleResults, or the dicts stored on the application) in words."""
    lines = []
    for r in results:
        data = _readable(r)
        label = eligibility.RULE_LABELS.get(data["code"], data["code"])
        lines.append(RuleLine(data["code"], str(label), bool(data["passed"]), eligibility.describe(data)))
    return lines


# --- the summary -------------------------------------------------------------------------


@dataclass
class Summary:
    application: Application
    sheets: list[StepSheet]
    missing: list[Missing]
    rules: list[RuleLine]
    open_now: bool

    @property
    def failed(self) -> list[RuleLine]:
        return [r for r in self.rules if not r.passed]

    @property
    def profile_problem(self) -> bool:
        return any(r.code in PROFILE_RULES for r in self.failed)


def summary_of(actor, application_id: int) -> Summary:
    application = get_application(application_id)
    _member(actor, application)
    sheets = answer_sheet(application)
    return Summary(application, sheets, missing_answers(sheets), rule_lines(check_eligibility(application)),
                   permissions.call_accepts_submissions(application.call, utcnow()))


# --- submitting ----------------------------------------------------------------------------


def receipt_number(application: Application) -> str:
    call = application.call
    prefix = RECEIPT_PREFIX.get(call.programme_kind, "APP")
    return f"{prefix}-{call.edition.year}-{application.id:06d}"


def other_members(application: Application, actor) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == application.organisation_id, User.id != actor.id,
               User.erased_at.is_(None), User.disabled_at.is_(None))
        .order_by(User.id)))


def _link(application: Application) -> str:
    return url_for("calls.application_detail", application_id=application.id)


def submit_application(actor, application_id: int, now: datetime | None = None) -> Application:
    """Submit a draft: the deadline is checked here, on the server, whatever the page showed."""
    now = now or utcnow()
    application = get_application(application_id, for_update=True)
    _member(actor, application)
    if application.status != ApplicationStatus.DRAFT:
        raise ApplicationError(_frozen_message(application))
    call = application.call
    if not permissions.call_accepts_submissions(call, now):
        raise ApplicationError(_closed_message(call))
    sheets = answer_sheet(application)
    missing = missing_answers(sheets)
    if missing:
        raise ApplicationError(
            _l("The application is not submitted: some required answers are missing."), missing=missing)
    results = check_eligibility(application)
    flagged = not eligibility.passed(results)
    application.submitted_at = now
    application.receipt_number = receipt_number(application)
    application.eligibility_results = [r.as_dict() for r in results]
    application.eligibility_flagged = flagged
    application.eligibility = Eligibility.PENDING.value
    application.eligibility_reason = None
    application.eligibility_decided_by_id = None
    application.eligibility_decided_at = None
    transition(application, ApplicationStatus.SUBMITTED, actor=actor, receipt_number=application.receipt_number,
               version=application.version, eligibility_flagged=flagged,
               failed_rules=[r.code for r in results if not r.passed])
    if application.relocation_commitment:
        _relocation_obligation(application)
    db.session.flush()
    failed = [line.sentence for line in rule_lines(results) if not line.passed]
    notify(actor, _l("Application received: %(receipt)s", receipt=application.receipt_number),
           "application_submitted", link=_link(application), application=application, call=call,
           organisation=application.organisation, deadline=deadline_text(call), failed=failed)
    for member in other_members(application, actor):
        notify(member, _l("%(name)s submitted the application to %(call)s", name=actor.display_name,
                          call=call.title),
               "application_submitted_colleague", link=_link(application), email=False,
               application=application, call=call, submitter=actor.display_name)
    return application


def _relocation_obligation(application: Application) -> Obligation:
    existing = db.session.scalar(select(Obligation).where(
        Obligation.application_id == application.id, Obligation.kind == "relocate_seat"))
    if existing is not None:
        return existing
    obligation = Obligation(organisation_id=application.organisation_id, application_id=application.id,
                            kind="relocate_seat", status="open")
    db.session.add(obligation)
    db.session.flush()
    audit.record("obligations.created", obligation, kind="relocate_seat", application_id=application.id,
                 organisation_id=application.organisation_id)
    return obligation


def _waive_obligations(application: Application, why: str) -> None:
    """A withdrawn or replaced application no longer commits the organisation to anything."""
    obligations = db.session.scalars(select(Obligation).where(
        Obligation.application_id == application.id, Obligation.status == "open")).all()
    for obligation in obligations:
        obligation.status = "waived"
        obligation.note = ((obligation.note or "") + f"\n{why}").strip()
        audit.record("obligations.waived", obligation, why=why)


# --- withdrawing, new version -------------------------------------------------------------


def withdraw_application(actor, application_id: int, now: datetime | None = None) -> Application:
    now = now or utcnow()
    application = get_application(application_id, for_update=True)
    _member(actor, application)
    if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED):
        raise ApplicationError(_frozen_message(application))
    if not permissions.call_accepts_submissions(application.call, now):
        raise ApplicationError(_l("The deadline has passed: an application can be withdrawn only until the "
                                  "deadline. Write to the programme staff if you no longer want to take part."))
    application.live_key = None
    application.withdrawn_at = now
    transition(application, ApplicationStatus.WITHDRAWN, actor=actor, receipt_number=application.receipt_number)
    _waive_obligations(application, "application withdrawn")
    db.session.flush()
    call = application.call
    notify(actor, _l("Application withdrawn: %(call)s", call=call.title), "application_withdrawn",
           link=_link(application), application=application, call=call, deadline=deadline_text(call))
    for member in other_members(application, actor):
        notify(member, _l("%(name)s withdrew the application to %(call)s", name=actor.display_name, call=call.title),
               "application_withdrawn", link=_link(application), email=False, application=application,
               call=call, deadline=deadline_text(call))
    return application


def start_new_version(actor, application_id: int, now: datetime | None = None) -> Application:
    """Replace a submitted application by a draft copy of it; the old one is kept, superseded."""
    now = now or utcnow()
    old = get_application(application_id, for_update=True)
    _member(actor, old)
    if old.status != ApplicationStatus.SUBMITTED:
        raise ApplicationError(_l("Only a submitted application can be replaced by a new version."))
    if not permissions.call_accepts_submissions(old.call, now):
        raise ApplicationError(_closed_message(old.call))
    # The old row leaves the unique key before the new one takes it, so the key never sees two.
    old.live_key = None
    transition(old, ApplicationStatus.SUPERSEDED, actor=actor, new_version=old.version + 1)
    new = Application(
        call_id=old.call_id, organisation_id=old.organisation_id, created_by_id=actor.id,
        status=ApplicationStatus.DRAFT.value, version=old.version + 1, previous_id=old.id,
        live_key=old.organisation_id, current_page=1,
        **{name: getattr(old, name) for name in DECLARATIONS},
    )
    db.session.add(new)
    db.session.flush()
    for answer in old.answers:
        db.session.add(Answer(application_id=new.id, question_id=answer.question_id,
                              value=copy.deepcopy(answer.value), file_id=answer.file_id))
    _waive_obligations(old, "replaced by a new version")
    db.session.flush()
    audit.record("applications.new_version", new, actor=actor, previous_id=old.id, version=new.version)
    return new


# --- staff: eligibility ---------------------------------------------------------------------


def decide_eligibility(actor, application_id: int, decision: str, reason: str,
                       now: datetime | None = None) -> Application:
    require(permissions.is_staff(actor))
    application = get_application(application_id, for_update=True)
    if application.status != ApplicationStatus.SUBMITTED:
        raise ApplicationError(_l("Only a submitted application has its eligibility confirmed."))
    if application.call.status in (CallStatus.DECIDED, CallStatus.ARCHIVED):
        raise ApplicationError(_l("The call is decided: eligibility can no longer change."))
    if decision not in (Eligibility.ELIGIBLE, Eligibility.INELIGIBLE):
        raise ApplicationError(_l("Choose eligible or not eligible."), "decision")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_l("Write the reason: it is kept with the decision."), "reason")
    if len(reason) > REASON_MAX:
        raise ApplicationError(_l("Write at most %(max)d characters.", max=REASON_MAX), "reason")
    before = application.eligibility
    application.eligibility = str(decision)
    application.eligibility_reason = reason
    application.eligibility_decided_by_id = actor.id
    application.eligibility_decided_at = now or utcnow()
    db.session.flush()
    overridden = (decision == Eligibility.ELIGIBLE) == bool(application.eligibility_flagged)
    audit.record("applications.eligibility_decided", application, actor=actor, before=before,
                 decision=str(decision), reason=reason, flagged=bool(application.eligibility_flagged),
                 overrides_check=overridden)
    return application


# --- attachments -------------------------------------------------------------------------------


def _may_download_attachment(user, stored: StoredFile) -> bool:
    """Members of the organisation; evaluators who declared no conflict on an application using it."""
    if stored.organisation_id is not None and permissions.is_member(user, stored.organisation_id):
        return True
    holders = db.session.scalars(
        select(Application).join(Answer, Answer.application_id == Application.id)
        .where(Answer.file_id == stored.id).options(selectinload(Application.assignments))).unique().all()
    return any(permissions.may_read_as_evaluator(user, a) for a in holders)


files.register_access_rule(ATTACHMENT_PURPOSE, _may_download_attachment)


def attachment_for_download(actor, application_id: int, file_id: int) -> tuple[StoredFile, str]:
    """The attachment and the name to download it under: in a blind call evaluators get a neutral
    name, since an original file name often names the company."""
    application = get_application(application_id)
    require(permissions.is_staff(actor) or permissions.is_member(actor, application.organisation_id)
            or permissions.may_read_as_evaluator(actor, application))
    answer = next((a for a in application.answers if a.file_id == file_id), None)
    if answer is None or answer.file is None:
        abort(404)
    stored = answer.file
    require(files.can_download(actor, stored))
    audit.record("applications.file_downloaded", application, actor=actor, file_id=stored.id)
    name = stored.original_name
    if permissions.identity_hidden_from(actor, application.call):
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
        name = f"attachment-{application.id}-{answer.question_id}.{extension}"
    return stored, name


# --- the detail page ---------------------------------------------------------------------------


_TIMELINE = {
    "applications.created": _l("Application started"),
    "applications.page_saved": _l("Draft saved"),
    "applications.file_uploaded": _l("Attachment uploaded"),
    "applications.new_version": _l("New version started"),
    "applications.eligibility_decided": _l("Eligibility decided by the programme staff"),
}
_STATUS_EVENTS = {
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
    ApplicationStatus.SUPERSEDED: _l("Replaced by a new version"),
}


def timeline(application: Application, viewer, limit: int = 50) -> list[TimelineEntry]:
    """What happened, newest first. Applicants see their colleagues' names; anyone else is
    "programme staff" to them, and only the steps of the application itself are shown."""
    staff_view = permissions.is_staff(viewer)
    rows = audit_rows(Application.__tablename__, application.id, exclude=["applications.file_downloaded"],
                      limit=limit)
    members = set(db.session.scalars(select(Membership.user_id).where(
        Membership.organisation_id == application.organisation_id)))
    entries = []
    for entry, name in rows:
        detail = entry.detail or {}
        subject = None
        if entry.action == "applications.status_changed":
            try:
                label = _STATUS_EVENTS[ApplicationStatus(detail.get("new"))]
            except (KeyError, ValueError):
                continue
            subject = detail.get("receipt_number") if detail.get("new") == "submitted" else None
        elif entry.action in _TIMELINE:
            label = _TIMELINE[entry.action]
            if entry.action == "applications.page_saved":
                subject = str(_l("step %(n)s", n=detail.get("step")))
            elif entry.action == "applications.file_uploaded":
                subject = detail.get("name")
            elif entry.action == "applications.new_version":
                subject = str(_l("version %(n)s", n=detail.get("version")))
            elif entry.action == "applications.eligibility_decided":
                subject = str(ELIGIBILITY_WORDS.get(detail.get("decision"), ""))
        elif staff_view:
            label, subject = _l("Other change"), entry.action
        else:
            continue
        who = name if (staff_view or entry.actor_id in members) else str(_l("Programme staff"))
        entries.append(TimelineEntry(entry.created_at, who, str(label), subject))
    return entries


ELIGIBILITY_WORDS = {
    Eligibility.PENDING.value: _l("To confirm"),
    Eligibility.ELIGIBLE.value: _l("Eligible"),
    Eligibility.INELIGIBLE.value: _l("Not eligible"),
}


@dataclass
class Detail:
    application: Application
    sheets: list[StepSheet]
    rules: list[RuleLine]
    versions: list[Application]
    timeline: list[TimelineEntry]
    may_edit: bool
    may_withdraw: bool
    may_resubmit: bool
    may_decide_eligibility: bool
    is_member: bool
    decided_by: str | None


def detail_of(actor, application_id: int) -> Detail:
    application = for_viewing(actor, application_id)
    now = utcnow()
    member = permissions.is_member(actor, application.organisation_id)
    open_now = permissions.call_accepts_submissions(application.call, now)
    versions = list(db.session.scalars(
        select(Application).where(Application.call_id == application.call_id,
                                  Application.organisation_id == application.organisation_id)
        .order_by(Application.created_at, Application.id)))
    decided_by = None
    if application.eligibility_decided_by_id:
        decided_by = db.session.scalar(select(User.full_name).where(User.id == application.eligibility_decided_by_id))
    return Detail(
        application=application, sheets=answer_sheet(application),
        rules=rule_lines(application.eligibility_results or []), versions=versions,
        timeline=timeline(application, actor),
        may_edit=permissions.can_edit_application(actor, application, now),
        may_withdraw=permissions.can_withdraw_application(actor, application, now),
        may_resubmit=member and open_now and application.status == ApplicationStatus.SUBMITTED,
        may_decide_eligibility=(permissions.is_staff(actor) and application.status == ApplicationStatus.SUBMITTED
                                and application.call.status not in (CallStatus.DECIDED, CallStatus.ARCHIVED)),
        is_member=member, decided_by=decided_by,
    )


# --- lists ---------------------------------------------------------------------------------------


def my_applications(actor, per_page: int = 20) -> Page:
    """The applications of the actor's organisations (older versions are on each application's page)."""
    ids = [o.id for o in organisations.organisations_of(actor)]
    query = (select(Application)
             .where(Application.organisation_id.in_(ids or [-1]),
                    Application.status != ApplicationStatus.SUPERSEDED.value)
             .options(joinedload(Application.call).joinedload(Call.edition).joinedload(Edition.programme),
                      joinedload(Application.organisation))
             .order_by(Application.updated_at.desc(), Application.id.desc()))
    return paginate(query, per_page=per_page)


def drafts_and_submitted(actor, limit: int = 5) -> tuple[list[Application], list[Application]]:
    """For the home page: drafts of open calls (the deadline counting down), then submitted ones."""
    ids = [o.id for o in organisations.organisations_of(actor)]
    if not ids:
        return [], []
    now = utcnow()
    base = (select(Application).join(Call, Call.id == Application.call_id)
            .where(Application.organisation_id.in_(ids))
            .options(joinedload(Application.call), joinedload(Application.organisation)))
    drafts = list(db.session.scalars(
        base.where(Application.status == ApplicationStatus.DRAFT.value, Call.status == CallStatus.OPEN.value,
                   Call.closes_at > now)
        .order_by(Call.closes_at, Application.id).limit(limit)).unique())
    submitted = list(db.session.scalars(
        base.where(Application.status == ApplicationStatus.SUBMITTED.value)
        .order_by(Application.submitted_at.desc(), Application.id.desc()).limit(limit)).unique())
    return drafts, submitted


def eligibility_to_confirm() -> list[tuple[Call, int]]:
    """Per call, the submitted applications whose eligibility staff have not decided yet."""
    rows = db.session.execute(
        select(Call, func.count(Application.id))
        .join(Application, Application.call_id == Call.id)
        .where(Application.status == ApplicationStatus.SUBMITTED.value,
               Application.eligibility == Eligibility.PENDING.value,
               Call.status.notin_([CallStatus.DECIDED.value, CallStatus.ARCHIVED.value]))
        .group_by(Call.id).order_by(Call.closes_at, Call.id)).all()
    return [(call, n) for call, n in rows]


@dataclass
class ApplicationFilters:
    q: str = ""
    status: str = ""
    eligibility: str = ""
    flagged: str = ""
    s3_domain: str = ""
    size_class: str = ""

    def as_detail(self) -> dict:
        return {k: v for k, v in vars(self).items() if v}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(call_id: int, filters: ApplicationFilters) -> Select:
    query = (select(Application).join(Organisation, Organisation.id == Application.organisation_id)
             .where(Application.call_id == call_id))
    if filters.status in set(ApplicationStatus):
        query = query.where(Application.status == filters.status)
    else:
        query = query.where(Application.status != ApplicationStatus.SUPERSEDED.value)
    if filters.eligibility in set(Eligibility):
        query = query.where(Application.eligibility == filters.eligibility)
    if filters.flagged == "yes":
        query = query.where(Application.eligibility_flagged.is_(True))
    elif filters.flagged == "no":
        query = query.where(Application.eligibility_flagged.is_(False))
    if filters.s3_domain.isdigit():
        query = query.where(Organisation.s3_domains.any(S3Domain.id == int(filters.s3_domain)))
    if filters.size_class == "none":
        query = query.where(Organisation.size_class.is_(None))
    elif filters.size_class:
        query = query.where(Organisation.size_class == filters.size_class)
    if filters.q:
        pattern = f"%{_like(filters.q.strip().lower())}%"
        query = query.where(or_(func.lower(Organisation.legal_name).like(pattern, escape="\\"),
                                func.lower(func.coalesce(Application.receipt_number, "")).like(pattern, escape="\\")))
    return query


def _listed(query: Select) -> Select:
    return query.options(joinedload(Application.organisation)).order_by(
        Application.submitted_at.is_(None), Application.submitted_at, Application.id)


@dataclass
class StaffList:
    call: Call
    page: Page
    flagged: int


def list_applications(actor, call_id: int, filters: ApplicationFilters, per_page: int = 25) -> StaffList:
    require(permissions.is_staff(actor))
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    query = _filtered(call_id, filters)
    flagged_query = query.where(Application.eligibility_flagged.is_(True)).with_only_columns(
        func.count(Application.id))
    flagged = db.session.scalar(flagged_query) or 0
    return StaffList(call, paginate(_listed(query), per_page=per_page), flagged)


EXPORT_COLUMNS = ("application_id", "receipt_number", "version", "status", "organisation", "vat_number", "kind",
                  "size_class", "nuts2_region", "s3_domains", "submitted_at_utc", "eligibility_flagged",
                  "failed_rules", "failed_reasons", "eligibility", "eligibility_reason", "eligibility_decided_at_utc",
                  "outcome", "place_status")


def _export_row(application: Application) -> list:
    org = application.organisation
    results = application.eligibility_results or []
    failed = [r for r in results if not r.get("passed")]
    return [
        application.id, application.receipt_number or "", application.version, application.status,
        org.legal_name, org.vat_number, org.kind, org.size_class or "", org.nuts2_region or "",
        " ".join(sorted(d.code for d in org.s3_domains)),
        application.submitted_at.replace(tzinfo=None) if application.submitted_at else None,
        "yes" if application.eligibility_flagged else "no",
        " ".join(r["code"] for r in failed),
        " | ".join(eligibility.describe(r) for r in failed),
        application.eligibility, application.eligibility_reason or "",
        application.eligibility_decided_at.replace(tzinfo=None) if application.eligibility_decided_at else None,
        application.outcome or "", application.place_status or "",
    ]


def _spreadsheet_safe(value):
    """Text starting like a formula would run in a spreadsheet (CSV injection): quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_applications(actor, call_id: int, filters: ApplicationFilters, fmt: str) -> tuple[Call, bytes]:
    """The filtered list with eligibility, as CSV or XLSX; audited."""
    require(permissions.is_staff(actor))
    if fmt not in ("csv", "xlsx"):
        abort(404)
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    rows = [_export_row(a) for a in db.session.scalars(_listed(_filtered(call_id, filters))).unique()]
    audit.record("applications.exported", call, actor=actor, format=fmt, rows=len(rows),
                 filters=filters.as_detail())
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # so spreadsheet programs read the accents
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow([_spreadsheet_safe("" if v is None else (v.isoformat() if isinstance(v, datetime)
                                                                    else str(v))) for v in row])
        return call, out.getvalue().encode("utf-8")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Applications"
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append([_spreadsheet_safe(v) for v in row])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return call, buffer.getvalue()


# --- privacy ---------------------------------------------------------------------------------------


def _retention_end(edition: Edition) -> date:
    end = edition.ends_on or datetime(edition.year, 12, 31)
    return privacy.retention_end(end, RETENTION_YEARS)


def _erasure_handler(erasure: privacy.Erasure):
    """Applications are decision records of a public call: kept, with the person's link, until
    five years after the end of the edition; then the link to the person is removed."""
    user_id = erasure.user.id
    refers = or_(Application.created_by_id == user_id, Application.eligibility_decided_by_id == user_id)
    rows = db.session.execute(
        select(Application.id, Edition).join(Call, Call.id == Application.call_id)
        .join(Edition, Edition.id == Call.edition_id).where(refers)).all()
    if not rows:
        return []
    today = erasure.now.date()
    expired = [app_id for app_id, edition in rows if _retention_end(edition) < today]
    if erasure.after_retention:
        if expired and not erasure.dry_run:
            db.session.execute(update(Application).where(Application.id.in_(expired),
                                                         Application.created_by_id == user_id)
                               .values(created_by_id=None))
            db.session.execute(update(Application).where(Application.id.in_(expired),
                                                         Application.eligibility_decided_by_id == user_id)
                               .values(eligibility_decided_by_id=None))
            db.session.flush()
        return [privacy.ErasureItem(_l("Applications to calls"), len(expired), privacy.ANONYMISED,
                                    tables=("applications",))]
    until = max(_retention_end(edition) for _id, edition in rows)
    return [privacy.ErasureItem(
        _l("Applications to calls"), len(rows), privacy.KEPT,
        reason=_l("Applications are the records of a public selection: they are kept until five years after "
                  "the end of the programme edition, then your name is removed from them."),
        until=until, tables=("applications",))]


privacy.register_erasure_handler(_erasure_handler)
privacy.register_table_label("applications", _l("Applications to calls"))

