"""Use cases of call design: programmes and editions, a call's texts, dates and rules, its
application form and evaluation criteria, publishing, copying into the next edition, the
lifecycle steps staff take by hand and the ones the scheduler takes on time, and what the
staff cockpit, the staff list, the public pages and the home panels show.

One function per use case: load, check that the actor may do it, call the pure rule
(`publishing.publish_problems`, `states.transition`), change, audit, notify, flush; the
caller commits. A call is designed only while it is an unpublished draft: publishing
freezes its rules (a published call waits as "scheduled" until its opening time, when
the scheduler or the publication itself moves it to open). A refused change raises
`CallDesignError` with a message for the user and the form field it concerns.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask import abort, current_app, has_request_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from opsapp.accounts.models import (
    Membership,
    Organisation,
    OrganisationKind,
    S3Domain,
    User,
    UserRole,
)
from opsapp.calls import publishing, states
from opsapp.calls.eligibility import DEMINIMIS_CEILING, RULE_LABELS, RULES
from opsapp.calls.models import (
    Aggregation,
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    BaselineKey,
    Call,
    CallAudience,
    CallStatus,
    Consensus,
    Criterion,
    Edition,
    Eligibility,
    Programme,
    ProgrammeKind,
    Question,
    QuestionKind,
    Score,
)
from opsapp.calls.permissions import call_accepts_submissions, is_staff
from opsapp.core import audit, files
from opsapp.core.money import format_money
from opsapp.core.notifications import notify
from opsapp.core.pagination import Page, paginate
from opsapp.core.permissions import require
from opsapp.core.roles import Role
from opsapp.core.timeline import TimelineEntry, audit_rows
from opsapp.core.timeutil import local_to_utc, to_local
from opsapp.extensions import db

DEFAULT_TIMEZONE = "Europe/Rome"
# Who can deliver an edition: the implementing organisation of the programme.
IMPLEMENTING_KINDS = (OrganisationKind.INNOVATION_HUB, OrganisationKind.INCUBATOR, OrganisationKind.TECHNOLOGY_PARK)
PROGRAMME_NAMES = {
    ProgrammeKind.ACCELERATOR: ("Business Accelerator", "Acceleratore d'impresa"),
    ProgrammeKind.MEET_THE_BUYER: ("Meet the Buyer", "Meet the Buyer: PMI e grandi committenti"),
}
DEFAULT_ELIGIBLE_KINDS = (OrganisationKind.STARTUP.value, OrganisationKind.SME.value)
DEFAULT_RULES = {"organisation_kind": {}, "sme": {}, "seat_in_region": {}}
# The parameter each rule takes, with its default (rules not named take none).
RULE_PARAMETERS = {
    "startup_age": ("max_years", 5),
    "business_readiness": ("min_clients", 1),
    "deminimis": ("ceiling", DEMINIMIS_CEILING),
}
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
TEXT_KINDS = (QuestionKind.TEXT, QuestionKind.LONG_TEXT)
FIGURE_KINDS = (QuestionKind.NUMBER, QuestionKind.MONEY)

QUESTION_KIND_LABELS = {
    QuestionKind.TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text"),
    QuestionKind.NUMBER: _l("Number"),
    QuestionKind.MONEY: _l("Amount in EUR"),
    QuestionKind.DATE: _l("Date"),
    QuestionKind.SINGLE_CHOICE: _l("One choice from a list"),
    QuestionKind.MULTIPLE_CHOICE: _l("Several choices from a list"),
    QuestionKind.YES_NO: _l("Yes or no"),
    QuestionKind.FILE: _l("File upload"),
}
AUDIENCE_LABELS = {
    CallAudience.COMPANIES: _l("Start-ups and SMEs apply to take part in the programme"),
    CallAudience.PROVIDERS: _l("Hubs, incubators and parks apply to deliver the edition"),
}
AGGREGATION_LABELS = {Aggregation.MEAN: _l("Mean"), Aggregation.MEDIAN: _l("Median")}


class CallDesignError(Exception):
    """A refusal with a message for the user; `field` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class CallFrozen(CallDesignError):
    """A change asked of a call whose rules are frozen (published, or past its draft)."""


class PublishRefused(CallDesignError):
    """Publishing refused: `problems` lists what is missing or wrong."""

    def __init__(self, problems: list[publishing.Problem]):
        super().__init__(_l("The call cannot be published yet."))
        self.problems = problems

    @property
    def sentences(self) -> list[str]:
        return [publishing.describe(p) for p in self.problems]


def _require_staff(actor) -> None:
    require(is_staff(actor))


def path_for(endpoint: str, **values) -> str:
    """The path of a page, for links in notifications: in a request, or in a job (no request).

    `notify()` makes it absolute with PUBLIC_BASE_URL, so a job and a page give the same link.
    """
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


# --- programmes and editions ---------------------------------------------------------


def ensure_programmes() -> list[Programme]:
    """The two programmes exist as rows (made on first need); returned in a fixed order."""
    existing = {p.kind: p for p in db.session.scalars(select(Programme))}
    for kind in ProgrammeKind:
        if kind.value not in existing:
            name_en, name_it = PROGRAMME_NAMES[kind]
            programme = Programme(kind=kind.value, name_en=name_en, name_it=name_it)
            db.session.add(programme)
            existing[kind.value] = programme
    db.session.flush()
    return [existing[k.value] for k in ProgrammeKind]


def implementing_organisations() -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind.in_([k.value for k in IMPLEMENTING_KINDS]),
                                   Organisation.anonymised_at.is_(None))
        .order_by(Organisation.legal_name)))


@dataclass
class EditionData:
    programme_id: int
    year: int
    implementing_organisation_id: int | None = None
    budget: Decimal | None = None


@dataclass
class EditionRow:
    edition: Edition
    calls: int


@dataclass
class ProgrammeEditions:
    programme: Programme
    editions: list[EditionRow]


def editions_overview(actor) -> list[ProgrammeEditions]:
    """Each programme with its editions (newest first) and how many calls each has."""
    _require_staff(actor)
    programmes = ensure_programmes()
    rows = list(db.session.scalars(
        select(Edition).options(selectinload(Edition.implementing_organisation))
        .order_by(Edition.year.desc())))
    counts = dict(db.session.execute(select(Call.edition_id, func.count(Call.id)).group_by(Call.edition_id)).all())
    return [ProgrammeEditions(p, [EditionRow(e, counts.get(e.id, 0)) for e in rows if e.programme_id == p.id])
            for p in programmes]


def get_edition(edition_id: int) -> Edition:
    edition = db.session.get(Edition, edition_id)
    if edition is None:
        abort(404)
    return edition


def save_edition(actor, data: EditionData, edition_id: int | None = None) -> Edition:
    """Create an edition, or change one (`edition_id`): year, implementing organisation, budget."""
    _require_staff(actor)
    programme = db.session.get(Programme, data.programme_id)
    if programme is None:
        raise CallDesignError(_l("Choose a programme from the list."), "programme_id")
    if data.budget is not None and data.budget < 0:
        raise CallDesignError(_l("The budget cannot be negative."), "budget")
    organisation = None
    if data.implementing_organisation_id:
        organisation = db.session.get(Organisation, data.implementing_organisation_id)
        if organisation is None or organisation.kind not in [k.value for k in IMPLEMENTING_KINDS]:
            raise CallDesignError(_l("Choose an innovation hub, incubator or technology park from the list."),
                                  "implementing_organisation_id")
    taken = select(Edition.id).where(Edition.programme_id == programme.id, Edition.year == data.year)
    if edition_id is not None:
        taken = taken.where(Edition.id != edition_id)
    if db.session.scalar(taken) is not None:
        raise _edition_taken(programme, data.year)

    if edition_id is None:
        edition = Edition(programme_id=programme.id, year=data.year)
        db.session.add(edition)
        action = "editions.created"
    else:
        edition = get_edition(edition_id)
        action = "editions.updated"
    edition.programme_id = programme.id
    edition.year = data.year
    edition.implementing_organisation_id = organisation.id if organisation else None
    edition.budget = data.budget
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Two staff creating the same edition at once: the unique key decides.
        raise _edition_taken(programme, data.year) from None
    audit.record(action, edition, programme=programme.kind, year=data.year,
                 implementing_organisation=organisation.legal_name if organisation else None,
                 budget=data.budget)
    return edition


def _edition_taken(programme: Programme, year: int) -> CallDesignError:
    return CallDesignError(
        _l("The %(programme)s already has an edition %(year)s. Change that one instead.",
           programme=programme.name(str(get_locale() or "en")), year=year), "year")


def edition_choices() -> list[Edition]:
    return list(db.session.scalars(
        select(Edition).join(Programme).options(contains_eager(Edition.programme))
        .order_by(Edition.year.desc(), Programme.kind)))


def _edition_for_year(like: Edition, year: int) -> Edition:
    """The programme's edition of `year`, created like `like` when missing (budget left to decide)."""
    edition = db.session.scalar(select(Edition).where(Edition.programme_id == like.programme_id,
                                                      Edition.year == year))
    if edition is None:
        if year > 2100:
            raise CallDesignError(_l("There is no next edition to copy the call into."))
        edition = Edition(programme_id=like.programme_id, year=year,
                          implementing_organisation_id=like.implementing_organisation_id)
        db.session.add(edition)
        db.session.flush()
        audit.record("editions.created", edition, programme=like.programme.kind, year=year, copied=True)
    return edition


# --- the call's texts, dates and rules -----------------------------------------------


@dataclass
class CallData:
    """A call's settings as typed: times are wall-clock times in `timezone` (naive)."""

    title: str
    edition_id: int
    summary: str | None = None
    description: str | None = None
    audience: str = CallAudience.COMPANIES.value
    timezone: str = DEFAULT_TIMEZONE
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    places: int = 10
    s3_domain_ids: list[int] = field(default_factory=list)
    eligible_kinds: list[str] = field(default_factory=lambda: list(DEFAULT_ELIGIBLE_KINDS))
    eligibility_rules: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_RULES))
    evaluators_per_application: int = 3
    evaluation_deadline: datetime | None = None
    blind: bool = False
    aggregation: str = Aggregation.MEAN.value
    divergence: Decimal = Decimal("2")
    overall_threshold: Decimal | None = None


def get_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


def for_design(actor, call_id: int) -> Call:
    """A call staff may look at on the design pages (any phase)."""
    _require_staff(actor)
    return get_call(call_id)


def is_editable(call: Call) -> bool:
    """Rules are frozen from publication on; before that, a draft is staff's to change."""
    return call.status == CallStatus.DRAFT and call.published_at is None


def require_editable(call: Call) -> None:
    if not is_editable(call):
        raise CallFrozen(_l("This call is published: its rules are frozen and nothing was changed. "
                            "To change them, copy the call into a new draft."))


def _utc(value: datetime | None, tz: str) -> datetime | None:
    return local_to_utc(value, tz) if value is not None else None


def local_input(value: datetime | None, tz: str) -> datetime | None:
    """A stored UTC time as the naive wall-clock time the form shows in the call's zone."""
    return to_local(value, tz).replace(tzinfo=None) if value is not None else None


def _check_rules(rules: dict) -> dict:
    clean = {}
    for code, params in (rules or {}).items():
        if code not in RULES:
            raise CallDesignError(_l("Choose eligibility rules from the list."), "eligibility_rules")
        clean[code] = dict(params or {})
    return clean


def _apply_call_data(call: Call, data: CallData) -> dict:
    """Check `data` and copy it onto `call`; returns the changes (name: [old, new]) for the audit log."""
    if not (data.title or "").strip():
        raise CallDesignError(_l("Enter the title of the call."), "title")
    edition = db.session.get(Edition, data.edition_id)
    if edition is None:
        raise CallDesignError(_l("Choose an edition from the list."), "edition_id")
    try:
        opens_at, closes_at = _utc(data.opens_at, data.timezone), _utc(data.closes_at, data.timezone)
        evaluation_deadline = _utc(data.evaluation_deadline, data.timezone)
    except (KeyError, ValueError):
        raise CallDesignError(_l("Choose a time zone from the list."), "timezone") from None
    if opens_at and closes_at and closes_at <= opens_at:
        raise CallDesignError(_l("The deadline must come after the opening."), "closes_at")
    if evaluation_deadline and closes_at and evaluation_deadline <= closes_at:
        raise CallDesignError(_l("The evaluation deadline must come after the call's deadline."),
                              "evaluation_deadline")
    if data.places is None or data.places < 1:
        raise CallDesignError(_l("A call offers at least 1 place."), "places")
    if not 1 <= (data.evaluators_per_application or 0) <= 10:
        raise CallDesignError(_l("Between 1 and 10 evaluators per application."), "evaluators_per_application")
    if data.divergence is None or data.divergence <= 0:
        raise CallDesignError(_l("The divergence must be above 0."), "divergence")
    if data.overall_threshold is not None and data.overall_threshold < 0:
        raise CallDesignError(_l("The overall threshold cannot be negative."), "overall_threshold")
    if data.audience not in [a.value for a in CallAudience]:
        raise CallDesignError(_l("Choose who the call is for."), "audience")
    if data.aggregation not in [a.value for a in Aggregation]:
        raise CallDesignError(_l("Choose mean or median."), "aggregation")
    kinds = [k for k in OrganisationKind if k.value in set(data.eligible_kinds or ())]
    if len(kinds) != len(set(data.eligible_kinds or ())):
        raise CallDesignError(_l("Choose kinds of organisation from the list."), "eligible_kinds")
    rules = _check_rules(data.eligibility_rules)
    domains = _s3_domains(data.s3_domain_ids, keep=call.s3_domains if call.id else ())

    values = {
        "title": data.title.strip(), "summary": (data.summary or "").strip() or None,
        "description": (data.description or "").strip() or None, "edition_id": edition.id,
        "audience": data.audience, "timezone": data.timezone, "opens_at": opens_at, "closes_at": closes_at,
        "places": data.places, "eligible_kinds": [k.value for k in kinds], "eligibility_rules": rules,
        "evaluators_per_application": data.evaluators_per_application,
        "evaluation_deadline": evaluation_deadline, "blind": bool(data.blind), "aggregation": data.aggregation,
        "divergence": data.divergence, "overall_threshold": data.overall_threshold,
    }
    changes = {}
    for name, value in values.items():
        old = getattr(call, name)
        if old != value:
            changes[name] = [old, value]
            setattr(call, name, value)
    old_codes, new_codes = sorted(d.code for d in call.s3_domains), sorted(d.code for d in domains)
    if old_codes != new_codes:
        changes["s3_domains"] = [old_codes, new_codes]
        call.s3_domains = domains
    return changes


def _s3_domains(ids: Iterable[int], keep: Iterable[S3Domain] = ()) -> list[S3Domain]:
    """The chosen priority domains; a deactivated one stays only if the call already had it."""
    wanted = {int(i) for i in ids or ()}
    if not wanted:
        return []
    kept = {d.id for d in keep}
    domains = [d for d in db.session.scalars(select(S3Domain).where(S3Domain.id.in_(wanted)).order_by(S3Domain.name_en))
               if d.active or d.id in kept]
    if len(domains) != len(wanted):
        raise CallDesignError(_l("Choose S3 domains from the list."), "s3_domain_ids")
    return domains


def s3_domain_choices(call: Call | None = None) -> list[S3Domain]:
    have = {d.id for d in call.s3_domains} if call is not None and call.id else set()
    return [d for d in db.session.scalars(select(S3Domain).order_by(S3Domain.name_en)) if d.active or d.id in have]


def create_call(actor, data: CallData) -> Call:
    """A new draft call, with the baseline block already in its form (the KPI module needs it)."""
    _require_staff(actor)
    call = Call(status=CallStatus.DRAFT.value, created_by_id=actor.id, eligible_kinds=[], eligibility_rules={})
    _apply_call_data(call, data)
    db.session.add(call)
    db.session.flush()
    audit.record("calls.created", call, title=call.title, edition_id=call.edition_id)
    # Page 2, so that the call's own questions come first on page 1.
    add_baseline_block(actor, call, record=False, page=BASELINE_PAGE_OF_NEW_CALLS)
    return call


def update_call(actor, call: Call, data: CallData) -> dict:
    _require_staff(actor)
    require_editable(call)
    changes = _apply_call_data(call, data)
    db.session.flush()
    if changes:
        audit.record("calls.updated", call, changes=changes)
    return changes


# --- questions -----------------------------------------------------------------------


@dataclass
class QuestionData:
    kind: str
    label: str
    help_text: str | None = None
    required: bool = True
    page: int = 1
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    choices: list[str] = field(default_factory=list)
    file_kinds: list[str] = field(default_factory=list)
    max_file_mb: int | None = None


BASELINE_PAGE_OF_NEW_CALLS = 2
BASELINE_BLOCK = (
    (BaselineKey.YEAR, QuestionKind.NUMBER, _l("Baseline year: the last closed financial year"),
     _l("For example 2026. The figures below are of this year."), Decimal(2000), Decimal(2100)),
    (BaselineKey.TURNOVER, QuestionKind.MONEY, _l("Turnover in the baseline year (EUR)"),
     _l("Revenue without VAT, as in the financial statements."), Decimal(0), None),
    (BaselineKey.EXPORT_TURNOVER, QuestionKind.MONEY, _l("Export turnover in the baseline year (EUR)"),
     _l("Revenue from customers outside Italy."), Decimal(0), None),
    (BaselineKey.EMPLOYEES_FTE, QuestionKind.NUMBER, _l("Employees in the baseline year (full-time equivalent)"),
     _l("A half-time employee counts 0.5."), Decimal(0), None),
    (BaselineKey.HIGH_SKILL_FTE, QuestionKind.NUMBER,
     _l("High-skill employees in the baseline year (full-time equivalent)"),
     _l("Employees with a university degree or equivalent experience in a technical or managerial role."),
     Decimal(0), None),
    (BaselineKey.INVESTMENT_RAISED, QuestionKind.MONEY, _l("Investment raised in the baseline year (EUR)"),
     _l("Equity and quasi-equity from investors; 0 if none."), Decimal(0), None),
)


def _max_file_mb() -> int:
    return max(1, current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024))


def _clean_question(data: QuestionData, baseline_key: str | None = None, old_kind: str | None = None) -> dict:
    """Check a question and keep only the settings its kind uses."""
    if data.kind not in [k.value for k in QuestionKind]:
        raise CallDesignError(_l("Choose a kind of question from the list."), "kind")
    if baseline_key and old_kind and data.kind != old_kind:
        raise CallDesignError(_l("A baseline figure keeps its kind: the monitoring of results reads it."), "kind")
    label = (data.label or "").strip()
    if not label:
        raise CallDesignError(_l("Write the question."), "label")
    if data.page is None or data.page < 1:
        raise CallDesignError(_l("Pages are numbered from 1."), "page")
    kind = QuestionKind(data.kind)
    values = {"kind": kind.value, "label": label, "help_text": (data.help_text or "").strip() or None,
              "required": bool(data.required), "page": data.page, "max_length": None, "min_value": None,
              "max_value": None, "choices": [], "file_kinds": [], "max_file_mb": None}
    if kind in TEXT_KINDS:
        if data.max_length is not None and data.max_length < 1:
            raise CallDesignError(_l("The length limit must be at least 1 character."), "max_length")
        values["max_length"] = data.max_length
    if kind in FIGURE_KINDS:
        if data.min_value is not None and data.max_value is not None and data.min_value > data.max_value:
            raise CallDesignError(_l("The maximum must not be below the minimum."), "max_value")
        values["min_value"], values["max_value"] = data.min_value, data.max_value
    if kind in CHOICE_KINDS:
        choices = []
        for choice in data.choices or ():
            choice = choice.strip()
            if choice and choice not in choices:
                choices.append(choice)
        if len(choices) < publishing.MIN_CHOICES:
            raise CallDesignError(_l("Give at least two choices, one per line."), "choices")
        values["choices"] = choices
    if kind == QuestionKind.FILE:
        kinds = [k for k in files.KINDS if k in set(data.file_kinds or ())]
        if not kinds or len(kinds) != len(set(data.file_kinds)):
            raise CallDesignError(_l("Choose at least one kind of file from the list."), "file_kinds")
        limit = _max_file_mb()
        if data.max_file_mb is not None and not 1 <= data.max_file_mb <= limit:
            raise CallDesignError(_l("The size limit is between 1 and %(mb)d MB.", mb=limit), "max_file_mb")
        values["file_kinds"], values["max_file_mb"] = kinds, data.max_file_mb or limit
    return values


def _next_position(call: Call, page: int) -> int:
    return max((q.position for q in call.questions if q.page == page), default=-1) + 1


def _question(call: Call, question_id: int) -> Question:
    question = next((q for q in call.questions if q.id == question_id), None)
    if question is None:
        abort(404)
    return question


def add_question(actor, call: Call, data: QuestionData) -> Question:
    _require_staff(actor)
    require_editable(call)
    values = _clean_question(data)
    question = Question(call_id=call.id, position=_next_position(call, data.page), **values)
    call.questions.append(question)
    db.session.flush()
    audit.record("calls.question_added", call, question=question.label, kind=question.kind, page=question.page)
    return question


def update_question(actor, call: Call, question_id: int, data: QuestionData) -> Question:
    _require_staff(actor)
    require_editable(call)
    question = _question(call, question_id)
    values = _clean_question(data, question.baseline_key, question.kind)
    if values["page"] != question.page:
        question.position = _next_position(call, values["page"])
    for name, value in values.items():
        setattr(question, name, value)
    db.session.flush()
    audit.record("calls.question_changed", call, question=question.label)
    return question


def delete_question(actor, call: Call, question_id: int) -> None:
    _require_staff(actor)
    require_editable(call)
    question = _question(call, question_id)
    call.questions.remove(question)
    db.session.flush()
    audit.record("calls.question_removed", call, question=question.label)


def move_question(actor, call: Call, question_id: int, step: int) -> bool:
    """Swap a question with its neighbour on the same page (-1 up, +1 down); False at the edge."""
    _require_staff(actor)
    require_editable(call)
    question = _question(call, question_id)
    same_page = sorted((q for q in call.questions if q.page == question.page), key=lambda q: (q.position, q.id))
    index = same_page.index(question)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(same_page):
        return False
    # Renumber the page so that equal positions (copied or old data) cannot make a swap a no-op.
    same_page[index], same_page[other] = same_page[other], same_page[index]
    for position, q in enumerate(same_page):
        q.position = position
    db.session.flush()
    audit.record("calls.question_moved", call, question=question.label)
    return True


def missing_baseline_keys(call: Call) -> list[str]:
    have = {q.baseline_key for q in call.questions if q.baseline_key}
    return [key.value for key, *_ in BASELINE_BLOCK if key.value not in have]


def add_baseline_block(actor, call: Call, record: bool = True, page: int | None = None) -> int:
    """Add the baseline figures the form lacks, on a page of their own (after the others, or `page`);
    returns how many were added."""
    _require_staff(actor)
    require_editable(call)
    missing = set(missing_baseline_keys(call))
    if not missing:
        return 0
    have = [q for q in call.questions if q.baseline_key]
    if have:
        page = have[0].page
    elif page is None:
        page = max((q.page for q in call.questions), default=0) + 1
    position = _next_position(call, page)
    for key, kind, label, help_text, low, high in BASELINE_BLOCK:
        if key.value not in missing:
            continue
        call.questions.append(Question(call_id=call.id, page=page, position=position, kind=kind.value,
                                       label=str(label), help_text=str(help_text), required=True,
                                       min_value=low, max_value=high, baseline_key=key.value))
        position += 1
    db.session.flush()
    if record:
        audit.record("calls.baseline_added", call, keys=sorted(missing))
    return len(missing)


# --- criteria ------------------------------------------------------------------------


@dataclass
class CriterionData:
    name: str
    description: str | None = None
    weight: Decimal = Decimal("1")
    max_score: Decimal = Decimal("5")
    threshold: Decimal | None = Decimal("3")


HORIZON_EUROPE_CRITERIA = (
    (_l("Excellence"), _l("Clarity of the objectives, soundness of the approach, innovation beyond the state "
                          "of the art."), Decimal("1")),
    (_l("Impact"), _l("Credibility of the path to the expected results: growth, jobs, exports, investment; "
                      "their scale and significance."), Decimal("1.5")),
    (_l("Quality and efficiency of the implementation"),
     _l("Quality of the work plan, of the team and of the resources committed."), Decimal("1")),
)


def _clean_criterion(data: CriterionData) -> dict:
    name = (data.name or "").strip()
    if not name:
        raise CallDesignError(_l("Name the criterion."), "name")
    if data.weight is None or data.weight <= 0:
        raise CallDesignError(_l("The weight must be above 0."), "weight")
    if data.max_score is None or data.max_score <= 0:
        raise CallDesignError(_l("The maximum score must be above 0."), "max_score")
    if data.max_score % Decimal("0.5"):
        raise CallDesignError(_l("Scores go in half points: the maximum is a whole or half number."), "max_score")
    if data.threshold is not None and data.threshold > data.max_score:
        raise CallDesignError(_l("The threshold cannot be above the maximum score (%(max)s).",
                                 max=publishing.plain_number(data.max_score)), "threshold")
    return {"name": name, "description": (data.description or "").strip() or None, "weight": data.weight,
            "max_score": data.max_score, "threshold": _or_null(data.threshold)}


def _or_null(value):
    """None as an explicit NULL: the column's default (a threshold of 3) would otherwise fill it in."""
    return null() if value is None else value


def _criterion(call: Call, criterion_id: int) -> Criterion:
    criterion = next((c for c in call.criteria if c.id == criterion_id), None)
    if criterion is None:
        abort(404)
    return criterion


def add_criterion(actor, call: Call, data: CriterionData) -> Criterion:
    _require_staff(actor)
    require_editable(call)
    values = _clean_criterion(data)
    criterion = Criterion(call_id=call.id, position=max((c.position for c in call.criteria), default=-1) + 1,
                          **values)
    call.criteria.append(criterion)
    db.session.flush()
    audit.record("calls.criterion_added", call, criterion=criterion.name, weight=criterion.weight)
    return criterion


def update_criterion(actor, call: Call, criterion_id: int, data: CriterionData) -> Criterion:
    _require_staff(actor)
    require_editable(call)
    criterion = _criterion(call, criterion_id)
    for name, value in _clean_criterion(data).items():
        setattr(criterion, name, value)
    db.session.flush()
    audit.record("calls.criterion_changed", call, criterion=criterion.name)
    return criterion


def delete_criterion(actor, call: Call, criterion_id: int) -> None:
    _require_staff(actor)
    require_editable(call)
    criterion = _criterion(call, criterion_id)
    call.criteria.remove(criterion)
    db.session.flush()
    audit.record("calls.criterion_removed", call, criterion=criterion.name)


def move_criterion(actor, call: Call, criterion_id: int, step: int) -> bool:
    """Move a criterion up or down the priority order that breaks ties; False at the edge."""
    _require_staff(actor)
    require_editable(call)
    criterion = _criterion(call, criterion_id)
    ordered = sorted(call.criteria, key=lambda c: (c.position, c.id))
    index = ordered.index(criterion)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(ordered):
        return False
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, c in enumerate(ordered):
        c.position = position
    db.session.flush()
    audit.record("calls.criterion_moved", call, criterion=criterion.name)
    return True


def add_horizon_europe_criteria(actor, call: Call) -> int:
    """Excellence, Impact (weight 1.5), Quality and efficiency of the implementation: each to 5,
    threshold 3. Criteria of the same name already there are left as they are."""
    _require_staff(actor)
    require_editable(call)
    have = {c.name.strip().lower() for c in call.criteria}
    position = max((c.position for c in call.criteria), default=-1) + 1
    added = []
    for name, description, weight in HORIZON_EUROPE_CRITERIA:
        if str(name).lower() in have:
            continue
        call.criteria.append(Criterion(call_id=call.id, position=position, name=str(name),
                                       description=str(description), weight=weight,
                                       max_score=Decimal("5"), threshold=Decimal("3")))
        added.append(str(name))
        position += 1
    db.session.flush()
    if added:
        audit.record("calls.criteria_defaults_added", call, criteria=added)
    return len(added)


# --- publishing and the lifecycle ----------------------------------------------------


def draft_of(call: Call) -> publishing.CallDraft:
    return publishing.CallDraft(
        title=call.title, has_edition=call.edition_id is not None, opens_at=call.opens_at,
        closes_at=call.closes_at, places=call.places, eligible_kinds=tuple(call.eligible_kinds or ()),
        questions=tuple(publishing.QuestionDraft(q.label, q.kind, tuple(q.choices or ()), tuple(q.file_kinds or ()))
                        for q in call.questions),
        criteria=tuple(publishing.CriterionDraft(c.name, c.weight, c.max_score, c.threshold) for c in call.criteria),
        overall_threshold=call.overall_threshold, evaluation_deadline=call.evaluation_deadline)


def publish_problems(call: Call, now: datetime) -> list[publishing.Problem]:
    return publishing.publish_problems(draft_of(call), now)


def publish_call(actor, call: Call, now: datetime) -> bool:
    """Freeze the call's rules; it opens now if its opening time has come. Returns True if it opened."""
    _require_staff(actor)
    require_editable(call)
    problems = publish_problems(call, now)
    if problems:
        raise PublishRefused(problems)
    call.published_at = now
    db.session.flush()
    audit.record("calls.published", call, opens_at=call.opens_at, closes_at=call.closes_at)
    if call.opens_at <= now:
        open_call(call, now, actor=actor)
        return True
    return False


def unpublish_call(actor, call: Call) -> None:
    """Take back a publication before the call opens (nobody can have applied yet)."""
    _require_staff(actor)
    if call.status != CallStatus.DRAFT or call.published_at is None:
        raise CallFrozen(_l("Only a call that is published and not open yet can be taken back to draft."))
    call.published_at = None
    db.session.flush()
    audit.record("calls.unpublished", call)


def _staff_to_tell(exclude=None) -> list[User]:
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == Role.STAFF.value, User.disabled_at.is_(None), User.erased_at.is_(None))
             .order_by(User.id))
    users = list(db.session.scalars(query).unique())
    return [u for u in users if exclude is None or u.id != getattr(exclude, "id", exclude)]


def open_call(call: Call, now: datetime, actor=None) -> None:
    """draft (published) -> open, audited; staff are told."""
    states.transition(call, CallStatus.OPEN, actor=actor, at=now)
    db.session.flush()
    link = path_for("calls.call_detail", call_id=call.id)
    title, zone, deadline = call.title, call.timezone, call.closes_at
    for user in _staff_to_tell(exclude=actor):
        notify(user, lambda: _("Call open: %(title)s", title=title), "call_opened", link=link,
               call_title=title, deadline=deadline, zone=zone)


def close_call(call: Call, now: datetime, actor=None, early: bool = False) -> None:
    """open -> closed, audited; staff are told how many applications came in."""
    states.transition(call, CallStatus.CLOSED, actor=actor, at=now, early=early)
    db.session.flush()
    submitted = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == call.id, Application.status == ApplicationStatus.SUBMITTED)) or 0
    link = path_for("calls.call_detail", call_id=call.id)
    title = call.title
    for user in _staff_to_tell(exclude=actor):
        notify(user, lambda: _("Call closed: %(title)s", title=title), "call_closed", link=link,
               call_title=title, submitted=submitted, closed_at=now, zone=call.timezone, early=early)


def open_due_calls(now: datetime) -> int:
    """Open every published call whose opening time has passed (the scheduler's part)."""
    due = list(db.session.scalars(
        select(Call).where(Call.status == CallStatus.DRAFT, Call.published_at.is_not(None), Call.opens_at <= now)
        .order_by(Call.id).with_for_update()))
    for call in due:
        open_call(call, now)
    return len(due)


def close_due_calls(now: datetime) -> int:
    """Close every open call whose deadline has passed (the scheduler's part)."""
    due = list(db.session.scalars(
        select(Call).where(Call.status == CallStatus.OPEN, Call.closes_at <= now)
        .order_by(Call.id).with_for_update()))
    for call in due:
        close_call(call, now)
    return len(due)


# The steps staff take by hand on the cockpit, besides publishing and the decision.
PHASE_ACTIONS = {
    "close": (CallStatus.OPEN, _l("The call is closed: no more applications are accepted.")),
    "start_evaluation": (CallStatus.CLOSED, _l("The evaluation has started. Assign the evaluators next.")),
    "archive": (CallStatus.DECIDED, _l("The call is archived.")),
}


def change_phase(actor, call: Call, action: str, now: datetime) -> str:
    """Close now, start the evaluation, archive, or take a scheduled call back to draft; returns
    the sentence that tells what happened."""
    _require_staff(actor)
    if action == "unpublish":
        unpublish_call(actor, call)
        return str(_l("The publication is taken back: the call is a draft again and can be changed."))
    if action not in PHASE_ACTIONS:
        raise CallDesignError(_l("This step does not exist."))
    needed, done = PHASE_ACTIONS[action]
    if call.status != needed:
        raise CallFrozen(_l("This step is not possible in the call's current phase (%(phase)s); nothing was changed.",
                            phase=phase_of(call, now).label))
    if action == "close":
        close_call(call, now, actor=actor, early=now < call.closes_at)
    elif action == "start_evaluation":
        states.transition(call, CallStatus.IN_EVALUATION, actor=actor)
    else:
        states.transition(call, CallStatus.ARCHIVED, actor=actor)
    db.session.flush()
    return str(done)


def _next_title(title: str, year: int) -> str:
    return title.replace(str(year), str(year + 1)) if str(year) in title else title


def copy_call(actor, source: Call) -> Call:
    """A new draft for the next edition with the same texts, rules, form and criteria, dates one year on."""
    _require_staff(actor)
    edition = _edition_for_year(source.edition, source.edition.year + 1)
    tz = source.timezone
    call = Call(
        edition_id=edition.id, audience=source.audience, title=_next_title(source.title, source.edition.year),
        summary=source.summary, description=source.description, status=CallStatus.DRAFT.value,
        opens_at=publishing.one_year_later(source.opens_at, tz),
        closes_at=publishing.one_year_later(source.closes_at, tz), timezone=tz, places=source.places,
        eligible_kinds=list(source.eligible_kinds or ()),
        eligibility_rules=copy.deepcopy(source.eligibility_rules or {}),
        evaluators_per_application=source.evaluators_per_application,
        evaluation_deadline=publishing.one_year_later(source.evaluation_deadline, tz), blind=source.blind,
        aggregation=source.aggregation, divergence=source.divergence,
        overall_threshold=source.overall_threshold, created_by_id=actor.id, copied_from_id=source.id,
    )
    call.s3_domains = list(source.s3_domains)
    for q in source.questions:
        call.questions.append(Question(
            page=q.page, position=q.position, kind=q.kind, label=q.label, help_text=q.help_text,
            required=q.required, max_length=q.max_length, min_value=q.min_value, max_value=q.max_value,
            choices=list(q.choices or ()), file_kinds=list(q.file_kinds or ()), max_file_mb=q.max_file_mb,
            baseline_key=q.baseline_key))
    for c in source.criteria:
        call.criteria.append(Criterion(position=c.position, name=c.name, description=c.description,
                                       weight=c.weight, max_score=c.max_score, threshold=_or_null(c.threshold)))
    db.session.add(call)
    db.session.flush()
    audit.record("calls.created", call, title=call.title, edition_id=edition.id, copied_from=source.id)
    audit.record("calls.copied", source, into=call.id, year=edition.year)
    return call


# --- what the pages show -------------------------------------------------------------


PHASE_LABELS = {
    "draft": _l("Draft"),
    "scheduled": _l("Published, not open yet"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "in_evaluation": _l("In evaluation"),
    "decided": _l("Decided"),
    "archived": _l("Archived"),
}
PHASE_BADGES = {"draft": "bg-secondary", "scheduled": "bg-info text-dark", "open": "bg-success",
                "closed": "bg-warning text-dark", "in_evaluation": "bg-primary", "decided": "bg-dark",
                "archived": "bg-light text-dark"}


@dataclass(frozen=True)
class Phase:
    code: str
    label: str
    badge: str
    next_label: str | None = None
    next_at: datetime | None = None


def phase_of(call: Call, now: datetime) -> Phase:
    """Where the call stands, in words, and the next date that matters."""
    code = call.status
    if code == CallStatus.DRAFT and call.published_at is not None:
        code = "scheduled"
    next_label, next_at = {
        "draft": (None, None),
        "scheduled": (_("Opens"), call.opens_at),
        "open": (_("Closes"), call.closes_at),
        "closed": (_("Closed"), call.closes_at),
        "in_evaluation": (_("Evaluation due"), call.evaluation_deadline),
        "decided": (_("Decided"), call.decided_at),
        "archived": (None, None),
    }[code]
    return Phase(code, str(PHASE_LABELS[code]), PHASE_BADGES[code], next_label if next_at else None, next_at)


def allowed_actions(call: Call) -> set[str]:
    actions = {"copy", "preview"}
    if is_editable(call):
        actions |= {"edit", "questions", "criteria", "publish"}
    elif call.status == CallStatus.DRAFT:
        actions.add("unpublish")
    if call.status == CallStatus.OPEN:
        actions.add("close")
    if call.status == CallStatus.CLOSED:
        actions.add("start_evaluation")
    if call.status == CallStatus.DECIDED:
        actions.add("archive")
    return actions


@dataclass
class CallCounts:
    drafts: int = 0
    submitted: int = 0
    withdrawn: int = 0
    eligible: int = 0
    ineligible: int = 0
    pending: int = 0
    evaluations_done: int = 0
    evaluations_required: int = 0
    divergent: int = 0


def call_counts(call: Call) -> CallCounts:
    """The figures of the cockpit, in a fixed number of queries whatever the number of applications."""
    counts = CallCounts()
    rows = db.session.execute(
        select(Application.status, Application.eligibility, func.count(Application.id))
        .where(Application.call_id == call.id).group_by(Application.status, Application.eligibility)).all()
    for status, eligibility, n in rows:
        if status == ApplicationStatus.DRAFT:
            counts.drafts += n
        elif status == ApplicationStatus.WITHDRAWN:
            counts.withdrawn += n
        elif status == ApplicationStatus.SUBMITTED:
            counts.submitted += n
            if eligibility == Eligibility.ELIGIBLE:
                counts.eligible += n
            elif eligibility == Eligibility.INELIGIBLE:
                counts.ineligible += n
            else:
                counts.pending += n
    counts.evaluations_required = counts.submitted * call.evaluators_per_application
    counts.evaluations_done = db.session.scalar(
        select(func.count(Assignment.id)).join(Application, Application.id == Assignment.application_id)
        .where(Application.call_id == call.id, Application.status == ApplicationStatus.SUBMITTED,
               Assignment.status == AssignmentStatus.SUBMITTED)) or 0
    # Divergent: a criterion whose submitted scores spread by the call's divergence or more,
    # and on which staff have not recorded a consensus yet.
    spread = (select(Score.criterion_id, Assignment.application_id)
              .join(Assignment, Assignment.id == Score.assignment_id)
              .join(Application, Application.id == Assignment.application_id)
              .where(Application.call_id == call.id, Application.status == ApplicationStatus.SUBMITTED,
                     Assignment.status == AssignmentStatus.SUBMITTED, Score.value.is_not(None))
              .group_by(Assignment.application_id, Score.criterion_id)
              .having(func.max(Score.value) - func.min(Score.value) >= call.divergence)).subquery()
    counts.divergent = db.session.scalar(
        select(func.count(func.distinct(spread.c.application_id)))
        .select_from(spread)
        .outerjoin(Consensus, and_(Consensus.application_id == spread.c.application_id,
                                   Consensus.criterion_id == spread.c.criterion_id))
        .where(Consensus.id.is_(None))) or 0
    return counts


TIMELINE_LABELS = {
    "calls.created": _l("Call created"),
    "calls.updated": _l("Texts, dates or rules changed"),
    "calls.question_added": _l("Question added"),
    "calls.question_changed": _l("Question changed"),
    "calls.question_removed": _l("Question removed"),
    "calls.question_moved": _l("Question moved"),
    "calls.baseline_added": _l("Baseline figures added to the form"),
    "calls.criterion_added": _l("Criterion added"),
    "calls.criterion_changed": _l("Criterion changed"),
    "calls.criterion_removed": _l("Criterion removed"),
    "calls.criterion_moved": _l("Criteria reordered"),
    "calls.criteria_defaults_added": _l("Horizon Europe criteria added"),
    "calls.published": _l("Published: rules frozen"),
    "calls.unpublished": _l("Publication taken back"),
    "calls.copied": _l("Copied into a new draft"),
}
STATUS_TIMELINE_LABELS = {
    CallStatus.OPEN.value: _l("Opened"),
    CallStatus.CLOSED.value: _l("Closed"),
    CallStatus.IN_EVALUATION.value: _l("Evaluation started"),
    CallStatus.DECIDED.value: _l("Decided"),
    CallStatus.ARCHIVED.value: _l("Archived"),
}


def timeline(call: Call, limit: int = 40) -> list[TimelineEntry]:
    """What happened to the call, newest first, from the audit log (the scheduler shows as no one)."""
    actions = [*TIMELINE_LABELS, "calls.status_changed"]
    rows = audit_rows(Call.__tablename__, call.id, actions=actions, limit=limit)
    entries = []
    for entry, name in rows:
        detail = entry.detail or {}
        if entry.action == "calls.status_changed":
            label = STATUS_TIMELINE_LABELS.get(detail.get("new"))
            if label is None:
                continue
            subject = str(_l("before the deadline")) if detail.get("early") else None
            who = name if entry.actor_id is not None else _("on time, by the scheduler")
            entries.append(TimelineEntry(entry.created_at, who, str(label), subject))
            continue
        subject = detail.get("question") or detail.get("criterion")
        if entry.action == "calls.updated":
            subject = ", ".join(sorted(detail.get("changes", {})))
        entries.append(TimelineEntry(entry.created_at, name, str(TIMELINE_LABELS[entry.action]), subject))
    return entries


@dataclass
class Cockpit:
    call: Call
    phase: Phase
    counts: CallCounts
    actions: set[str]
    timeline: list[TimelineEntry]
    copied_from: Call | None
    copies: list[Call]
    max_total: Decimal
    overall_threshold: Decimal


def cockpit(actor, call_id: int, now: datetime) -> Cockpit:
    _require_staff(actor)
    call = db.session.scalar(
        select(Call).where(Call.id == call_id)
        .options(selectinload(Call.criteria), selectinload(Call.questions),
                 selectinload(Call.edition).selectinload(Edition.programme)))
    if call is None:
        abort(404)
    copies = list(db.session.scalars(select(Call).where(Call.copied_from_id == call.id).order_by(Call.id)))
    total = publishing.max_total(call.criteria)
    return Cockpit(
        call=call, phase=phase_of(call, now), counts=call_counts(call), actions=allowed_actions(call),
        timeline=timeline(call), copied_from=db.session.get(Call, call.copied_from_id) if call.copied_from_id else None,
        copies=copies, max_total=total,
        overall_threshold=call.overall_threshold if call.overall_threshold is not None
        else publishing.default_overall_threshold(call.criteria))


@dataclass
class StaffCallFilters:
    programme: str = ""
    year: int | None = None
    status: str = ""


def staff_call_list(actor, filters: StaffCallFilters, per_page: int = 25) -> tuple[Page, dict[int, int]]:
    """Every call matching the filters, newest first, with the number of submitted applications."""
    _require_staff(actor)
    query = (select(Call).join(Edition, Edition.id == Call.edition_id).join(Programme, Programme.id == Edition.programme_id)
             .options(contains_eager(Call.edition).contains_eager(Edition.programme)))
    if filters.programme:
        query = query.where(Programme.kind == filters.programme)
    if filters.year:
        query = query.where(Edition.year == filters.year)
    if filters.status == "scheduled":
        query = query.where(Call.status == CallStatus.DRAFT, Call.published_at.is_not(None))
    elif filters.status == CallStatus.DRAFT:
        query = query.where(Call.status == CallStatus.DRAFT, Call.published_at.is_(None))
    elif filters.status:
        query = query.where(Call.status == filters.status)
    page = paginate(query.order_by(Edition.year.desc(), Call.id.desc()), per_page=per_page)
    ids = [c.id for c in page.items]
    submitted = dict(db.session.execute(
        select(Application.call_id, func.count(Application.id))
        .where(Application.call_id.in_(ids), Application.status == ApplicationStatus.SUBMITTED)
        .group_by(Application.call_id)).all()) if ids else {}
    return page, submitted


def edition_years() -> list[int]:
    return list(db.session.scalars(select(Edition.year).distinct().order_by(Edition.year.desc())))


# --- public pages --------------------------------------------------------------------


def _public_query():
    return (select(Call).join(Edition, Edition.id == Call.edition_id).join(Programme, Programme.id == Edition.programme_id)
            .options(contains_eager(Call.edition).contains_eager(Edition.programme)))


@dataclass
class PublicList:
    open: Page
    upcoming: list[Call]
    recently_closed: list[Call]


def public_call_list(now: datetime, per_page: int = 20) -> PublicList:
    """Open calls (soonest deadline first), those published to open later, the last ones closed."""
    open_calls = paginate(_public_query().where(Call.status == CallStatus.OPEN)
                          .order_by(Call.closes_at, Call.id), per_page=per_page)
    upcoming = list(db.session.scalars(
        _public_query().where(Call.status == CallStatus.DRAFT, Call.published_at.is_not(None))
        .order_by(Call.opens_at, Call.id).limit(10)))
    closed = list(db.session.scalars(
        _public_query().where(Call.status.in_([CallStatus.CLOSED, CallStatus.IN_EVALUATION, CallStatus.DECIDED]),
                              Call.closes_at >= now - timedelta(days=365))
        .order_by(Call.closes_at.desc(), Call.id.desc()).limit(10)))
    return PublicList(open_calls, upcoming, closed)


def is_public(call: Call) -> bool:
    return call.published_at is not None or call.status != CallStatus.DRAFT


@dataclass
class RuleSentence:
    label: str
    text: str


_KIND_VALUES = frozenset(k.value for k in OrganisationKind)


def rule_sentences(call: Call, home_region: str, locale: str = "en") -> list[RuleSentence]:
    """The eligibility rules switched on, in plain words with their parameters, in the rules' order.
    The kinds of organisation are said apart (`open_to`), whether or not their rule is on."""
    rules = call.eligibility_rules or {}
    domains = ", ".join(d.name(locale) for d in call.s3_domains)
    sentences = {
        "sme": _("An SME under Recommendation 2003/361/EC: fewer than 250 staff and a turnover up to EUR 50 million "
                 "or a balance-sheet total up to EUR 43 million, counting partner and linked enterprises."),
        "seat_in_region": _("A registered or operational seat in the region (%(region)s), or a signed commitment "
                            "to move it there; the commitment is then followed up.", region=home_region),
        "s3_domain": _("Active in at least one of the call's priority domains: %(domains)s.", domains=domains)
        if domains else _("Open to every S3 domain."),
    }
    out = []
    for code in RULES:
        if code not in rules or code == "organisation_kind":
            continue
        params = rules[code] or {}
        if code == "startup_age":
            text = _("Founded at most %(years)s years before the deadline.",
                     years=params.get("max_years", RULE_PARAMETERS[code][1]))
        elif code == "business_readiness":
            text = _("A product or service on the market and at least %(num)s paying clients.",
                     num=params.get("min_clients", RULE_PARAMETERS[code][1]))
        elif code == "deminimis":
            ceiling = Decimal(str(params.get("ceiling", DEMINIMIS_CEILING)))
            text = _("De minimis aid received in the last three years below %(ceiling)s, as declared in the "
                     "application.", ceiling=format_money(ceiling, locale))
        else:
            text = sentences[code]
        out.append(RuleSentence(str(RULE_LABELS[code]), text))
    return out


def open_to(call: Call) -> str:
    kinds = ", ".join(OrganisationKind(k).label for k in call.eligible_kinds or () if k in _KIND_VALUES)
    return _("Open to: %(kinds)s.", kinds=kinds or _("any kind of organisation"))


@dataclass
class PublicCall:
    call: Call
    phase: Phase
    open_to: str
    accepts_applications: bool
    rules: list[RuleSentence]
    criteria: list[Criterion]
    max_total: Decimal
    overall_threshold: Decimal
    may_apply: bool  # a signed-in applicant while the call is open
    has_organisation: bool
    application: Application | None  # the user's organisation's live application, if any


def public_call(user, call_id: int, now: datetime, home_region: str, locale: str = "en") -> PublicCall:
    call = db.session.scalar(
        select(Call).where(Call.id == call_id)
        .options(selectinload(Call.criteria), selectinload(Call.edition).selectinload(Edition.programme)))
    if call is None or not is_public(call):
        abort(404)
    accepts = call_accepts_submissions(call, now)
    is_applicant = bool(user.is_authenticated and user.has_role(Role.APPLICANT))
    application = None
    has_organisation = False
    if is_applicant:
        org_ids = list(db.session.scalars(select(Membership.organisation_id).where(Membership.user_id == user.id)))
        has_organisation = bool(org_ids)
        if org_ids:
            application = db.session.scalar(
                select(Application).where(Application.call_id == call.id, Application.organisation_id.in_(org_ids),
                                          Application.live_key.is_not(None))
                .order_by(Application.id.desc()).limit(1))
    return PublicCall(
        call=call, phase=phase_of(call, now), open_to=open_to(call), accepts_applications=accepts,
        rules=rule_sentences(call, home_region, locale), criteria=list(call.criteria),
        max_total=publishing.max_total(call.criteria),
        overall_threshold=call.overall_threshold if call.overall_threshold is not None
        else publishing.default_overall_threshold(call.criteria),
        may_apply=is_applicant and accepts, has_organisation=has_organisation, application=application)


# --- home panels ---------------------------------------------------------------------


def open_calls(limit: int = 5) -> list[Call]:
    return list(db.session.scalars(
        _public_query().where(Call.status == CallStatus.OPEN).order_by(Call.closes_at, Call.id).limit(limit)))


def running_calls(limit: int = 10) -> list[Call]:
    """Every call not archived, the most advanced first, then by date."""
    order = {s.value: i for i, s in enumerate(
        [CallStatus.OPEN, CallStatus.CLOSED, CallStatus.IN_EVALUATION, CallStatus.DRAFT, CallStatus.DECIDED])}
    calls = list(db.session.scalars(
        _public_query().where(Call.status != CallStatus.ARCHIVED)
        .order_by(Edition.year.desc(), Call.id.desc()).limit(limit)))
    return sorted(calls, key=lambda c: (order.get(c.status, 9), c.id))
