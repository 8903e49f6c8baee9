"""Who may open what: every route of `app.url_map` for every kind of user.

The walk is generic, so it grows with the application: a new route is checked the
moment it is registered. URL parameters are filled by name from the objects of
applicant A (`organisation_id` is A's organisation, `file_id` a document of it, and
so on; `BY_ROUTE` says where a name means another object, e.g. `file_id` next to an
`application_id` is an attachment of A's application); call parameters (`call_id`,
`page`, `fmt`) from the shared call objects; unknown ones with 1 or "x". Some
parameters are tried with other values too (`VARIANTS`: A's decided application with
its letter, the decided call, both export formats). The world: A and B each apply to a
call in evaluation (with an attachment) and to a decided call; one evaluator is
assigned to A's application, another declared a conflict on it, a third is assigned to
nothing; A and B are also followed after an Accelerator edition with a survey open each
(`follow_up_id`, `survey_id`), staff asked for a Word monitoring report (`report_id`) and the
authority created an API token (`token_id`). The rules checked:

- every endpoint declares its access (`view._access`); a route without a decision fails here;
- GET: anonymous on a non-public route goes to /login; a signed-in user without an
  allowed role gets 403; an allowed user does not get 403 (except where a route
  holds someone else's object) and nobody ever gets a 500;
- object level: applicant B, a buyer, an evaluator not assigned and an evaluator who
  declared a conflict never get a 200 on A's objects (application, letter, files,
  assignment), also with one id swapped for their own (B's application with A's
  attachment); no page they can open shows A's data; their POSTs, with a valid CSRF
  token, change nothing of A's; `OBJECT_RULES` lists the exact answers expected on the
  routes known today;
- POST without a CSRF token: 400 (anonymous on a closed route: 400 or /login);
  with a token and an empty form: never a 500;
- monitoring of results: each page opens for its roles only (`KPI_PAGES`); nobody but A's
  people and staff opens or answers A's survey; the authority, on every page, export,
  report and API answer it reaches, never sees a company.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import Membership, Organisation, OwnershipLink, User, UserSession
from opsapp.calls import decisions
from opsapp.calls.applying import ATTACHMENT_PURPOSE
from opsapp.calls.models import Answer, AssignmentStatus, CallStatus, Question, QuestionKind
from opsapp.core import files
from opsapp.core.models import Notification, StoredFile
from opsapp.core.permissions import PUBLIC, access_of, public
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import (
    make_application,
    make_assignment,
    make_call,
    make_edition,
    make_evaluator_profile,
)

ROLES = ["anonymous", "admin", "staff", "authority", "evaluator", "evaluator_assigned", "evaluator_conflicted",
         "mentor", "applicant_a", "applicant_b", "buyer"]
ROLE_OF = {name: Role(name.split("_")[0]) for name in ROLES if name != "anonymous"}
# Must never reach A's objects: "evaluator" is assigned to nothing, "evaluator_conflicted" declared a
# conflict of interest on A's application ("evaluator_assigned" is assigned to it and may read it).
OUTSIDERS = ("applicant_b", "buyer", "evaluator", "evaluator_conflicted")

# URL parameters naming objects that belong to applicant A (or, swapped, to applicant B).
OBJECT_PARAMS = ("organisation_id", "user_id", "notification_id", "file_id", "document_id",
                 "membership_id", "link_id", "session_id", "application_id", "assignment_id",
                 "participant_id", "request_id", "meeting_id", "contract_id",
                 "voucher_id", "line_id", "aid_id", "member_id", "seal_id", "milestone_id",
                 "follow_up_id", "survey_id")
# Where a parameter names another object: (a piece of the rule, the parameter, the key of the object).
BY_ROUTE = (
    ("<int:application_id>", "file_id", "application_file_id"),  # an attachment of the application
    ("/staff/evaluators/", "user_id", "evaluator_user_id"),  # the evaluator assigned to A's application
    ("/sessions/<int:session_id>", "session_id", "coaching_session_id"),  # a coaching session of A's
)
# Other values each parameter is also tried with, one parameter at a time (A's own, or shared ones).
VARIANTS = {"application_id": "decided_application_id", "call_id": "decided_call_id", "fmt": "other_fmt"}

OK = frozenset({200})
DENIED = frozenset({403, 404})
REDIRECT = frozenset({302})
_EVERYONE_ELSE = {role: DENIED for role in ROLES if role not in ("anonymous", "admin", "staff", "applicant_a")}
_STAFF_AND_OWNER = {**_EVERYONE_ELSE, "applicant_a": OK, "staff": OK, "admin": OK}
_STAFF_OWNER_AND_EVALUATOR = {**_STAFF_AND_OWNER, "evaluator_assigned": OK}
_ASSIGNED_EVALUATOR_AND_STAFF = {"evaluator_assigned": OK, "staff": OK, "admin": OK,
                                 "evaluator": DENIED, "evaluator_conflicted": DENIED}
# Exact answers on A's objects, for the routes known today (GET). Roles not named here follow
# the generic rules; new routes follow them until someone adds a line.
OBJECT_RULES: dict[str, dict[str, frozenset[int]]] = {
    "accounts.organisation_detail": _STAFF_AND_OWNER,
    "accounts.organisation_edit": _STAFF_AND_OWNER,
    "accounts.organisation_size": _STAFF_AND_OWNER,
    "accounts.organisation_members": _STAFF_AND_OWNER,
    "accounts.organisation_documents": _STAFF_AND_OWNER,
    "accounts.organisation_document_download": _STAFF_AND_OWNER,
    "accounts.admin_user_detail": {"admin": OK},
    # A's application is submitted: its steps and summary send A to its page; evaluators read it
    # through their assignment only.
    "calls.application_detail": _STAFF_AND_OWNER,
    "calls.application_page": {**_EVERYONE_ELSE, "applicant_a": REDIRECT},
    "calls.application_summary": {**_EVERYONE_ELSE, "applicant_a": REDIRECT},
    "calls.application_file": _STAFF_OWNER_AND_EVALUATOR,
    # Before the decision there is no letter, for anyone (the decided application: its own test).
    "calls.decision_letter": {**_EVERYONE_ELSE, "applicant_a": frozenset({404}), "staff": frozenset({404}),
                              "admin": frozenset({404})},
    "calls.assignment_score": _ASSIGNED_EVALUATOR_AND_STAFF,
    # Declared already: the declaration page sends the assigned evaluator on to the scoring.
    "calls.assignment_declare": {**_ASSIGNED_EVALUATOR_AND_STAFF, "evaluator_assigned": REDIRECT},
    "calls.evaluator_profile": {"staff": OK, "admin": OK},
    # Monitoring: A's survey for A's people and staff (who enter answers on A's behalf); the follow-up
    # page (company, baseline, surveys) for staff only: the authority sees aggregates, never a company.
    "kpi.survey": _STAFF_AND_OWNER,
    "kpi.follow_up": {"staff": OK, "admin": OK},
}
# POSTs that end the actor's own sign-in or account go last, so the others run signed in.
LAST = ("logout", "erase")

_PARAM = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?:[^)]*)\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


@dataclass
class Person:
    """An applicant with an organisation, a member, a document, a related enterprise, a notification."""

    user_id: int
    email: str
    objects: dict[str, int]
    secrets: list[str]  # text only this person's own pages may show
    known_to_conflicted: list[str] = field(default_factory=list)  # secrets a conflicted evaluator saw


@dataclass
class World:
    emails: dict[str, str]
    a: Person
    b: Person
    shared: dict[str, object] = field(default_factory=dict)  # non-personal parameters
    conflicted_assignment_id: int | None = None


def _pdf(text: str) -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%" + text.encode() + b"\n%%EOF\n")


def _applicant(tag: str) -> Person:
    from opsapp.accounts.organisations import DOCUMENT_PURPOSE

    email = f"{tag.lower()}.owner@example.eu"
    user = make_user(email, roles=[Role.APPLICANT], full_name=f"{tag} Owner")
    org = make_organisation(owner=user, legal_name=f"{tag} Robotica S.r.l.")
    colleague = make_user(f"{tag.lower()}.colleague@example.eu", roles=[Role.APPLICANT],
                          full_name=f"{tag} Colleague")
    db.session.add(Membership(user_id=colleague.id, organisation_id=org.id, role="member"))
    upload = FileStorage(io.BytesIO(_pdf(tag)), filename=f"{tag.lower()}-business-plan.pdf",
                         content_type="application/pdf")
    document = files.store(upload, purpose=DOCUMENT_PURPOSE, uploaded_by=user, organisation_id=org.id)
    link = OwnershipLink(organisation_id=org.id, enterprise_name=f"{tag} Holding S.p.A.",
                         share_percent=30, direction="holds")
    notice = Notification(user_id=user.id, subject=f"{tag}: your application was received", link="/")
    db.session.add_all([link, notice])
    db.session.flush()
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == colleague.id, Membership.organisation_id == org.id))
    return Person(
        user_id=user.id,
        email=email,
        objects={"organisation_id": org.id, "user_id": user.id, "notification_id": notice.id,
                 "file_id": document.id, "document_id": document.id, "membership_id": membership.id,
                 "link_id": link.id},
        secrets=[org.legal_name, email, user.full_name, org.vat_number, document.original_name,
                 notice.subject, link.enterprise_name, colleague.email],
        # Declaring the conflict, in a call that is not blind, that evaluator read who applied.
        known_to_conflicted=[org.legal_name],
    )


def _call_cycle(app, users: dict[str, User], a: Person, b: Person) -> dict:
    """A and B apply to a call in evaluation (with an attachment) and to a decided call.

    On A's application an evaluator is assigned and has declared no conflict, another has
    declared a conflict; B's application has its own evaluator. The decided call selected
    A (its letter) and not B. Returns the shared parameters.
    """
    call = make_call(CallStatus.IN_EVALUATION, opens_in=timedelta(days=-40), closes_in=timedelta(days=-5),
                     evaluators_per_application=1, title="Accelerator 2027")
    db.session.add(Question(call_id=call.id, page=3, position=0, kind=str(QuestionKind.FILE),
                            label="Business plan", required=True, file_kinds=["pdf"]))
    db.session.flush()
    db.session.expire(call, ["questions"])
    decided = make_call(CallStatus.IN_EVALUATION, edition=make_edition(2026), opens_in=timedelta(days=-400),
                        closes_in=timedelta(days=-370), evaluators_per_application=1, places=1,
                        title="Accelerator 2026")
    decider = make_user("decided.expert@example.eu", roles=[Role.EVALUATOR], full_name="Decided Expert")
    other = make_user("beta.expert@example.eu", roles=[Role.EVALUATOR], full_name="Beta Expert")
    for evaluator in (users["evaluator_assigned"], users["evaluator_conflicted"], users["evaluator"], decider, other):
        make_evaluator_profile(evaluator)
    applications = {}
    for person, tag, scores in ((a, "Alfa", [5, 5, 5]), (b, "Beta", [2, 2, 2])):
        organisation = db.session.get(Organisation, person.objects["organisation_id"])
        owner = db.session.get(User, person.user_id)
        application = make_application(call, organisation, by=owner, eligibility="eligible")
        upload = FileStorage(io.BytesIO(_pdf(f"{tag} application")), filename=f"{tag.lower()}-application-plan.pdf",
                             content_type="application/pdf")
        attachment = files.store(upload, purpose=ATTACHMENT_PURPOSE, uploaded_by=owner,
                                 organisation_id=organisation.id)
        answer = db.session.scalar(select(Answer).join(Question).where(
            Answer.application_id == application.id, Question.kind == str(QuestionKind.FILE)))
        answer.value, answer.file_id = None, attachment.id
        letter_of = make_application(decided, organisation, by=owner, eligibility="eligible")
        make_assignment(letter_of, decider, scores=scores)
        applications[tag] = application
        person.objects.update(application_id=application.id, application_file_id=attachment.id,
                              decided_application_id=letter_of.id)
        person.secrets += [application.receipt_number, attachment.original_name, letter_of.receipt_number]
    assigned = make_assignment(applications["Alfa"], users["evaluator_assigned"], status=AssignmentStatus.ACCEPTED)
    conflicted = make_assignment(applications["Alfa"], users["evaluator_conflicted"],
                                 status=AssignmentStatus.CONFLICT)
    conflicted.declared_at, conflicted.conflict_reason = assigned.declared_at, "I advised Alfa last year."
    a.objects["assignment_id"] = assigned.id
    b.objects["assignment_id"] = make_assignment(applications["Beta"], other, status=AssignmentStatus.ACCEPTED).id
    db.session.flush()
    with app.test_request_context():  # the decision e-mails link to the application pages
        staff = users["staff"]
        decisions.decide(staff, decided.id, decisions.ranking_page(staff, decided.id).digest)
    return {"call_id": call.id, "decided_call_id": decided.id, "page": 1, "fmt": "csv", "other_fmt": "xlsx",
            "evaluator_user_id": users["evaluator_assigned"].id, "conflicted_assignment_id": conflicted.id}


def _event(users: dict[str, User], a: Person, b: Person) -> dict:
    """A and B take part as SMEs in an event now in follow-up; each met the same buyer (not the
    "buyer" role, which takes part in nothing) and recorded a contract. Returns the shared parameters."""
    from opsapp.events.models import EventPhase, MeetingStatus, Side, SupplyContract
    from tests.factories_events import make_event, make_meeting, make_participant, make_request

    event = make_event(phase=EventPhase.FOLLOW_UP, first_day=(utcnow() - timedelta(days=10)).date(),
                       name="Meet the Buyer 2027", agendas_published_at=utcnow() - timedelta(days=20),
                       booking_opens_at=utcnow() - timedelta(days=60),
                       registration_deadline=utcnow() - timedelta(days=50),
                       request_deadline=utcnow() - timedelta(days=30))
    counterpart = make_user("buyer.two@example.eu", roles=[Role.BUYER], full_name="Buyer Two")
    other_side = make_participant(event, Side.BUYER, user=counterpart,
                                  organisation=make_organisation(kind="corporate_buyer", owner=counterpart,
                                                                 legal_name="Acquirente Due S.p.A."))
    for slot_index, (person, tag) in enumerate(((a, "Alfa"), (b, "Beta"))):
        owner = db.session.get(User, person.user_id)
        organisation = db.session.get(Organisation, person.objects["organisation_id"])
        participant = make_participant(event, Side.SME, user=owner, organisation=organisation,
                                       headline=f"{tag} sensors for packaging lines")
        request = make_request(participant, other_side, message=f"{tag} would like to show its sensors")
        meeting = make_meeting(request, event.slots[slot_index], table=1, status=MeetingStatus.HELD)
        contract = SupplyContract(event_id=event.id, sme_id=participant.id, buyer_id=other_side.id,
                                  meeting_id=meeting.id, signed_on=utcnow().date(), value=25000,
                                  description=f"{tag} supply of line sensors")
        db.session.add(contract)
        db.session.flush()
        person.objects.update(participant_id=participant.id, request_id=request.id, meeting_id=meeting.id,
                              contract_id=contract.id)
        person.secrets += [request.message, contract.description]
    return {"event_id": event.id}


def _vouchers_and_cohorts(users: dict[str, User], a: Person, b: Person) -> dict:
    """A and B each hold a voucher with a claim line and its receipt, and declared aid; both are in
    a running cohort with a mentor (the "mentor" role mentors neither), a coaching session, a
    milestone and a seal. Returns the shared parameters."""
    from opsapp.cohorts.models import Milestone, Seal, SessionNote
    from opsapp.vouchers.claiming import RECEIPT_PURPOSE
    from opsapp.vouchers.models import ExpenseLine
    from tests.factories_cohorts import make_cohort, make_member, make_session
    from tests.factories_vouchers import make_declared_aid, make_scheme, make_voucher

    scheme = make_scheme()
    cohort = make_cohort()
    for person, tag in ((a, "Alfa"), (b, "Beta")):
        owner = db.session.get(User, person.user_id)
        organisation = db.session.get(Organisation, person.objects["organisation_id"])
        voucher = make_voucher(scheme, organisation, purpose=f"{tag} trip to the buyers of Lyon")
        upload = FileStorage(io.BytesIO(_pdf(f"{tag} train ticket")), filename=f"{tag.lower()}-ticket.pdf",
                             content_type="application/pdf")
        receipt = files.store(upload, purpose=RECEIPT_PURPOSE, uploaded_by=owner, organisation_id=organisation.id)
        line = ExpenseLine(voucher_id=voucher.id, category_id=scheme.cost_categories[0].id,
                           spent_on=voucher.granted_on, description=f"{tag} train to Lyon", amount=120,
                           receipt_id=receipt.id)
        aid = make_declared_aid(organisation, "12000.00", grantor=f"{tag} Fondazione Grantor")
        member = make_member(cohort, user=owner, organisation=organisation, goals=f"{tag} goals: enter Germany")
        session = make_session(cohort, [member], title=f"{tag} pitch rehearsal")
        milestone = Milestone(member_id=member.id, title=f"{tag} first German client", due_on=utcnow().date())
        seal = Seal(member_id=member.id, code=f"SOE-{tag[:4].upper()}-7K3M-Q9TX", issued_on=utcnow().date())
        db.session.add_all([line, milestone, seal])
        db.session.flush()
        db.session.add(SessionNote(session_id=session.id, member_id=member.id, body=f"{tag} note: sharpen the ask"))
        db.session.flush()
        person.objects.update(voucher_id=voucher.id, line_id=line.id, aid_id=aid.id, member_id=member.id,
                              coaching_session_id=session.id, milestone_id=milestone.id, seal_id=seal.id)
        person.secrets += [voucher.purpose, line.description, aid.grantor, member.goals, milestone.title,
                           seal.code, f"{tag} note: sharpen the ask"]
    return {"scheme_id": scheme.id, "cohort_id": cohort.id}


def _monitoring(app, users: dict[str, User], a: Person, b: Person) -> dict:
    """A and B are followed after the Accelerator 2026 edition (staff corrected A's baseline with a
    reason); each has its 12-month survey open. Staff set a target and asked for the Word report of
    the edition (written); the authority created an API token. Returns the shared parameters."""
    from opsapp.kpi import api, report_runs
    from tests.factories_kpi import make_follow_up, make_survey, make_target

    edition = make_edition(2026)
    staff = users["staff"]
    for person, tag, turnover in ((a, "Alfa", "731000"), (b, "Beta", "412000")):
        organisation = db.session.get(Organisation, person.objects["organisation_id"])
        follow_up = make_follow_up(organisation, edition, turnover=turnover, export_turnover="90000",
                                   employees_fte="6", high_skill_fte="2", investment_raised="0")
        follow_up.baseline_source = "staff"
        follow_up.baseline_corrected_by_id, follow_up.baseline_corrected_at = staff.id, utcnow()
        follow_up.baseline_correction_reason = f"{tag}: figures from the filed annual accounts"
        survey = make_survey(follow_up, 12)
        person.objects.update(follow_up_id=follow_up.id, survey_id=survey.id)
        person.secrets.append(follow_up.baseline_correction_reason)
    make_target("ACC-1.admitted", edition, 12, set_by=staff)
    with app.test_request_context():  # the report's notification links to its page
        report = report_runs.request(staff, "accelerator", 2026, "en")
        report_runs.produce(report.id)
    token, secret = api.create(users["authority"], "Regional data warehouse")
    return {"report_id": report.id, "token_id": token.id, "key": "indicators", "api_secret": secret}


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        users = {}
        for name, role in ROLE_OF.items():
            if name not in ("applicant_a", "applicant_b"):
                users[name] = make_user(f"{name}@example.eu", roles=[role], full_name=f"{name.title()} Person")
        emails = {name: user.email for name, user in users.items()}
        a, b = _applicant("Alfa"), _applicant("Beta")
        make_organisation(kind="corporate_buyer", owner=users["buyer"], legal_name="Compratore S.p.A.")
        emails["applicant_a"], emails["applicant_b"] = a.email, b.email
        domain = make_s3_domains()[0]
        shared = _call_cycle(app, users, a, b)
        shared.update(_event(users, a, b))
        shared.update(_vouchers_and_cohorts(users, a, b))
        shared.update(_monitoring(app, users, a, b))
        conflicted = shared.pop("conflicted_assignment_id")
        db.session.commit()
        return World(emails=emails, a=a, b=b, shared={"domain_id": domain.id, **shared},
                     conflicted_assignment_id=conflicted)


@pytest.fixture
def clients(app, world) -> dict:
    """One test client per role, signed in through the real form (anonymous stays signed out)."""
    result = {"anonymous": app.test_client()}
    for name, email in world.emails.items():
        client = app.test_client()
        r = login(client, email)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/", f"{name} cannot sign in"
        result[name] = client
    with app.app_context():
        for person in (world.a, world.b):
            person.objects["session_id"] = db.session.scalar(
                select(UserSession.id).where(UserSession.user_id == person.user_id)
                .order_by(UserSession.id.desc()))
    return result


# --- the walk ----------------------------------------------------------------------


def _rules(app: Flask):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _params(rule) -> dict[str, str | None]:
    return {m.group("name"): m.group("converter") for m in _PARAM.finditer(rule.rule)}


def _object_params(rule) -> list[str]:
    return [name for name in _params(rule) if name in OBJECT_PARAMS]


def _key(rule, name: str) -> str:
    """The object a parameter names on this route (see BY_ROUTE)."""
    return next((key for piece, param, key in BY_ROUTE if param == name and piece in rule.rule), name)


def _values(rule, world: World, owner: Person, swap: tuple[str, Person] | None = None,
            variant: str | None = None) -> dict:
    values = {}
    for name, converter in _params(rule).items():
        key = VARIANTS[name] if name == variant else _key(rule, name)
        if swap and name == swap[0]:
            values[name] = swap[1].objects[key]
        elif key in owner.objects:
            values[name] = owner.objects[key]
        elif key in world.shared:
            values[name] = world.shared[key]
        elif name == "token":
            values[name] = secrets.token_urlsafe(24)
        elif converter in ("int", "float"):
            values[name] = 1
        else:
            values[name] = "x"
    return values


@dataclass(frozen=True)
class Url:
    url: str
    holds_objects: bool  # names objects of A (or of B, swapped in)
    kind: str  # "primary" (A's objects), "swapped" (one id is B's), "variant" (another object of the same kind)


def _urls(rule, world: World) -> list[Url]:
    """A's objects; then each object id in turn swapped for B's; then each variant of a parameter."""
    holds = bool(_object_params(rule))
    urls = [Url(rule.build(_values(rule, world, world.a))[1], holds, "primary")]
    if len(_object_params(rule)) > 1:
        for name in _object_params(rule):
            urls.append(Url(rule.build(_values(rule, world, world.a, swap=(name, world.b)))[1], True, "swapped"))
    for name in _params(rule):
        if name in VARIANTS:
            urls.append(Url(rule.build(_values(rule, world, world.a, variant=name))[1], holds, "variant"))
    return urls


def _secrets_from(role: str, person: Person) -> list[str]:
    """What of this person's the role must never be shown."""
    known = person.known_to_conflicted if role == "evaluator_conflicted" else []
    return [s for s in person.secrets if s and s not in known]


def _allowed(view, role: str) -> bool:
    access = access_of(view)
    if access is None:  # undeclared: closed to everyone (and reported by the first test)
        return False
    if access.kind == PUBLIC:
        return True
    if role == "anonymous":
        return False
    return access.kind != "roles" or ROLE_OF[role] in access.roles


def _body(response) -> str:
    """The text of a page, a CSV or JSON answer (a binary file is judged by its status alone)."""
    textual = response.mimetype.startswith(("text/", "application/json"))
    return response.get_data(as_text=True) if textual else ""


def _redirects_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login"


# --- the tests -----------------------------------------------------------------------


def undeclared_endpoints(app: Flask) -> list[str]:
    return sorted({r.endpoint for r in _rules(app) if access_of(app.view_functions[r.endpoint]) is None})


def test_every_endpoint_declares_who_may_open_it(app):
    assert undeclared_endpoints(app) == [], "routes without @public / @signed_in / @roles_required"


def test_a_route_added_without_a_declaration_is_caught_and_closed(app):
    from opsapp import create_app

    other = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       INSTANCE_PATH=app.instance_path)

    @other.route("/forgotten")
    def forgotten():
        return "open to anyone?"

    @other.route("/declared")
    @public
    def declared():
        return "open to anyone"

    found = undeclared_endpoints(other)
    assert "forgotten" in found and "declared" not in found
    client = other.test_client()
    assert client.get("/forgotten").status_code == 403
    assert client.get("/declared").status_code == 200
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_get_answers_follow_the_declared_access(app, world, clients, role):
    client = clients[role]
    problems = []
    checked = 0
    for rule in _rules(app):
        if "GET" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        access = access_of(view)
        expected_exact = OBJECT_RULES.get(rule.endpoint, {}).get(role)
        for target in _urls(rule, world):
            url, holds_objects = target.url, target.holds_objects
            r = client.get(url)
            checked += 1
            status = r.status_code
            where = f"{role} GET {url} ({rule.endpoint}) -> {status}"
            if status >= 500:
                problems.append(f"{where}: server error")
                continue
            if access is None:
                if status != 403:
                    problems.append(f"{where}: undeclared route, expected 403")
                continue
            if role == "anonymous" and access.kind != PUBLIC:
                if not _redirects_to_login(r):
                    problems.append(f"{where}: expected a redirect to /login")
                continue
            if not _allowed(view, role):
                if status != 403:
                    problems.append(f"{where}: role not allowed, expected 403")
                continue
            if role in OUTSIDERS and holds_objects:
                if status == 200 or not (status in DENIED or 300 <= status < 400):
                    problems.append(f"{where}: {role} must not open A's object")
            elif expected_exact is not None and target.kind == "primary":
                if status not in expected_exact:
                    problems.append(f"{where}: expected {sorted(expected_exact)}")
            elif not holds_objects and status == 403:
                problems.append(f"{where}: allowed role refused")
            if role in OUTSIDERS:
                body = _body(r)
                leaked = [s for s in _secrets_from(role, world.a) if s in body]
                if leaked:
                    problems.append(f"{where}: shows A's data {leaked}")
    assert checked > 0
    assert not problems, f"{len(problems)} of {checked} answers wrong:\n" + "\n".join(problems)


def test_documents_of_a_are_downloads_only_for_a_and_staff(app, world, clients):
    url = f"/organisations/{world.a.objects['organisation_id']}/documents/{world.a.objects['file_id']}"
    for role in ("applicant_a", "staff", "admin"):
        r = clients[role].get(url)
        assert r.status_code == 200, role
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.data.startswith(b"%PDF") and b"Alfa" in r.data
    for role in ("applicant_b", "buyer", "evaluator", "mentor", "authority"):
        r = clients[role].get(url)
        assert r.status_code in DENIED, role
        assert b"%PDF" not in r.data


def _is_docx(response) -> bool:
    return response.data[:2] == b"PK" and response.mimetype.endswith("wordprocessingml.document")


def test_a_letter_is_a_download_only_for_its_applicant_and_staff(app, world, clients):
    decided = f"/applications/{world.a.objects['decided_application_id']}/letter.docx"
    for role in ("applicant_a", "staff", "admin"):
        r = clients[role].get(decided)
        assert r.status_code == 200 and _is_docx(r), role
        assert r.headers["Content-Disposition"].startswith("attachment")
    for role in ("applicant_b", "buyer", "evaluator", "evaluator_assigned", "evaluator_conflicted", "mentor",
                 "authority"):
        r = clients[role].get(decided)
        assert r.status_code in DENIED and not _is_docx(r), role
    # B's own letter exists; A's application in evaluation has none yet, even for A.
    assert _is_docx(clients["applicant_b"].get(f"/applications/{world.b.objects['decided_application_id']}"
                                               "/letter.docx"))
    assert clients["applicant_a"].get(f"/applications/{world.a.objects['application_id']}/letter.docx"
                                      ).status_code == 404


def test_an_attachment_is_a_download_only_for_its_applicant_staff_and_its_evaluator(app, world, clients):
    a_app, a_file = world.a.objects["application_id"], world.a.objects["application_file_id"]
    b_app, b_file = world.b.objects["application_id"], world.b.objects["application_file_id"]
    url = f"/applications/{a_app}/files/{a_file}"
    for role in ("applicant_a", "staff", "admin", "evaluator_assigned"):
        r = clients[role].get(url)
        assert r.status_code == 200, role
        assert r.data.startswith(b"%PDF") and b"Alfa application" in r.data
    for role in ("applicant_b", "buyer", "evaluator", "evaluator_conflicted", "mentor", "authority"):
        r = clients[role].get(url)
        assert r.status_code in DENIED, role
        assert b"%PDF" not in r.data
    # Through one's own application, someone else's file is not found; and the other way round.
    assert clients["applicant_b"].get(f"/applications/{b_app}/files/{a_file}").status_code == 404
    assert clients["applicant_a"].get(f"/applications/{a_app}/files/{b_file}").status_code == 404
    assert clients["evaluator_assigned"].get(f"/applications/{b_app}/files/{b_file}").status_code in DENIED


def test_evaluators_reach_only_their_own_assignment_and_never_after_a_conflict(app, world, clients):
    assigned, conflicted = world.a.objects["assignment_id"], world.conflicted_assignment_id
    r = clients["evaluator_assigned"].get(f"/evaluations/{assigned}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Alfa Robotica S.r.l." in page and "alfa-application-plan.pdf" in page
    for role, url in (
        ("evaluator", f"/evaluations/{assigned}"),
        ("evaluator", f"/evaluations/{assigned}/declaration"),
        ("evaluator_conflicted", f"/evaluations/{conflicted}"),
        ("evaluator_conflicted", f"/evaluations/{conflicted}/declaration"),
        ("evaluator_conflicted", f"/evaluations/{assigned}"),
        ("evaluator_assigned", f"/evaluations/{conflicted}"),  # someone else's assignment
        ("evaluator_assigned", f"/evaluations/{world.b.objects['assignment_id']}"),
    ):
        r = clients[role].get(url)
        assert r.status_code in DENIED, (role, url, r.status_code)
        assert "alfa-application-plan.pdf" not in r.get_data(as_text=True)
    # The conflicted evaluator's own list keeps the declaration, not a way into the application.
    mine = clients["evaluator_conflicted"].get("/evaluations").get_data(as_text=True)
    assert f"/evaluations/{conflicted}" not in mine and "/files/" not in mine


@pytest.mark.parametrize("role", ROLES)
def test_post_without_csrf_token_is_refused(app, world, clients, role):
    client = clients[role]
    problems = []
    checked = 0
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        for url in (target.url for target in _urls(rule, world)):
            r = client.post(url, data={})
            checked += 1
            where = f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}"
            if role == "anonymous" and getattr(access_of(view), "kind", None) != PUBLIC:
                if not (r.status_code == 400 or _redirects_to_login(r)):
                    problems.append(f"{where}: expected 400 or a redirect to /login")
            elif _allowed(view, role):
                if r.status_code != 400:
                    problems.append(f"{where}: expected 400 (no CSRF token)")
            elif r.status_code not in (400, 403):
                problems.append(f"{where}: expected 400 or 403")
    assert checked > 0
    assert not problems, f"{len(problems)} of {checked} answers wrong:\n" + "\n".join(problems)


def _rows_of(person: Person) -> dict[str, list]:
    """Every row that belongs to this person or their organisation (the audit log aside): also their
    applications' answers, assignments, scores and consensus, whatever table holds them."""
    org_id, user_id = person.objects["organisation_id"], person.user_id
    participants = db.metadata.tables["event_participants"]
    participant_ids = select(participants.c.id).where(participants.c.organisation_id == org_id)
    applications = db.metadata.tables["applications"]
    application_ids = select(applications.c.id).where(applications.c.organisation_id == org_id)
    assignments = db.metadata.tables["assignments"]
    assignment_ids = select(assignments.c.id).where(assignments.c.application_id.in_(application_ids))
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name == "audit_entries":
            continue
        conditions = []
        if "organisation_id" in table.c:
            conditions.append(table.c.organisation_id == org_id)
        if "user_id" in table.c:
            conditions.append(table.c.user_id == user_id)
        if "application_id" in table.c:
            conditions.append(table.c.application_id.in_(application_ids))
        if "assignment_id" in table.c:
            conditions.append(table.c.assignment_id.in_(assignment_ids))
        for column in ("sme_id", "participant_id"):
            if column in table.c:
                conditions.append(table.c[column].in_(participant_ids))
        if "voucher_id" in table.c:
            vouchers = db.metadata.tables["vouchers"]
            conditions.append(table.c.voucher_id.in_(select(vouchers.c.id).where(vouchers.c.organisation_id == org_id)))
        if "follow_up_id" in table.c:
            follow_ups = db.metadata.tables["kpi_follow_ups"]
            conditions.append(table.c.follow_up_id.in_(
                select(follow_ups.c.id).where(follow_ups.c.organisation_id == org_id)))
        if "member_id" in table.c:
            members = db.metadata.tables["cohort_members"]
            conditions.append(table.c.member_id.in_(select(members.c.id).where(members.c.organisation_id == org_id)))
        if table.name == "organisations":
            conditions.append(table.c.id == org_id)
        if table.name == "users":
            conditions.append(table.c.id == user_id)
        for condition in conditions:
            found = db.session.execute(select(table).where(condition).order_by(*table.primary_key.columns))
            rows.setdefault(table.name, []).extend(tuple(row) for row in found)
    return rows


@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsiders_posting_to_a_objects_change_nothing_of_a(app, world, clients, role):
    """With a valid CSRF token: every POST on A's objects (and with one id swapped for B's)."""
    client = clients[role]
    token = csrf_from(client.get("/").get_data(as_text=True))
    with app.app_context():
        before = _rows_of(world.a)
    problems = []
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods or not _object_params(rule):
            continue
        for url in (target.url for target in _urls(rule, world)):
            r = client.post(url, data={"csrf_token": token})
            if r.status_code >= 500:
                problems.append(f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}")
            elif r.status_code == 200 and any(s in _body(r) for s in _secrets_from(role, world.a)):
                problems.append(f"{role} POST {url} ({rule.endpoint}) shows A's data")
    with app.app_context():
        after = _rows_of(world.a)
        for key in ("file_id", "application_file_id"):
            document = db.session.get(StoredFile, world.a.objects[key])
            assert document is not None and files.path_of(document).exists()
    changed = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
    assert not changed, f"{role}'s POSTs changed A's rows in {changed}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_posts_with_a_token_and_an_empty_form_never_fail(app, world, clients, role):
    client = clients[role]
    token = csrf_from(client.get("/").get_data(as_text=True))
    problems = []
    for rule in sorted(_rules(app), key=lambda r: any(word in r.endpoint for word in LAST)):
        if "POST" not in rule.methods or not _allowed(app.view_functions[rule.endpoint], role):
            continue
        for url in (target.url for target in _urls(rule, world)):
            r = client.post(url, data={"csrf_token": token})
            if r.status_code >= 500:
                problems.append(f"{role} POST {url} ({rule.endpoint}) -> {r.status_code}")
    assert not problems, "\n".join(problems)


def test_b_is_never_shown_a_notification_of_a(app, world, clients):
    """Opening someone else's notification neither marks it read nor follows its link."""
    client = clients["applicant_b"]
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    r = client.post(f"/notifications/{world.a.objects['notification_id']}/open", data={"csrf_token": token})
    assert r.status_code in (302, 403, 404)
    with app.app_context():
        assert db.session.get(Notification, world.a.objects["notification_id"]).read_at is None
    assert "Alfa" not in client.get("/notifications").get_data(as_text=True)


# --- monitoring of results: staff pages, surveys, what the authority sees -----------------------------------------

_DASHBOARD_READERS = {"staff", "admin", "authority"}
# Who opens each monitoring page (200); every other signed-in role gets 403. The authority reads the
# aggregates (dashboard, exports, reports) and manages the API tokens; the follow-ups and the targets
# name or shape company data and are for programme staff only.
KPI_PAGES = {
    "/kpi/": _DASHBOARD_READERS,
    "/kpi/export/indicators.csv": _DASHBOARD_READERS,
    "/kpi/export/all.xlsx": _DASHBOARD_READERS,
    "/kpi/reports": _DASHBOARD_READERS,
    "/kpi/reports/{report_id}": _DASHBOARD_READERS,
    "/kpi/reports/{report_id}/state": _DASHBOARD_READERS,
    "/kpi/reports/{report_id}/download": _DASHBOARD_READERS,
    "/kpi/follow-ups": {"staff", "admin"},
    "/kpi/follow-ups?export=csv": {"staff", "admin"},
    "/kpi/follow-ups/{follow_up_id}": {"staff", "admin"},
    "/kpi/targets": {"staff", "admin"},
    "/kpi/api-tokens": {"admin", "authority"},
    "/kpi/surveys": {"applicant_a", "applicant_b", "buyer"},
}


def _kpi_path(template: str, world: World) -> str:
    return template.format(follow_up_id=world.a.objects["follow_up_id"], **world.shared)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_monitoring_pages_open_only_for_their_roles(app, world, clients, role):
    problems = []
    for template, readers in KPI_PAGES.items():
        url = _kpi_path(template, world)
        status = clients[role].get(url).status_code
        expected = 200 if role in readers else 403
        if status != expected:
            problems.append(f"{role} GET {url} -> {status}, expected {expected}")
    assert not problems, "\n".join(problems)


def test_the_word_report_and_the_exports_are_files_for_their_readers(app, world, clients):
    report = f"/kpi/reports/{world.shared['report_id']}/download"
    for role in _DASHBOARD_READERS:
        r = clients[role].get(report)
        assert r.status_code == 200 and _is_docx(r), role
        assert r.headers["Content-Disposition"].startswith("attachment")
    for role in ("applicant_a", "buyer", "evaluator", "mentor"):
        r = clients[role].get(report)
        assert r.status_code == 403 and not _is_docx(r), role
    assert clients["anonymous"].get(report).status_code == 302


def _survey_answer(token: str, **extra) -> dict:
    return {"csrf_token": token, "sales": "2500000", "export_sales": "900000", "employees_fte": "40",
            "high_skill_fte": "12", "funding_raised": "0", "funding_source": "none", "new_markets": "2",
            "corporate_partnerships": "1", "contracts_signed": "0", "contracts_value": "0",
            "comment": "Outsider figures", "confirm_jumps": "y", **extra}


def _survey_state(survey_id: int) -> tuple:
    from opsapp.kpi.models import Survey

    survey = db.session.get(Survey, survey_id)
    return survey.status, survey.sales, survey.comment, survey.answered_by_id, survey.answered_at


def test_outsiders_never_open_a_survey_or_a_follow_up_of_a(app, world, clients):
    a_survey, b_survey = world.a.objects["survey_id"], world.b.objects["survey_id"]
    a_follow_up = world.a.objects["follow_up_id"]
    for role in ("applicant_b", "buyer"):
        r = clients[role].get(f"/kpi/surveys/{a_survey}")
        assert r.status_code == 404, role
        assert "Alfa" not in r.get_data(as_text=True)
        assert clients[role].get(f"/kpi/follow-ups/{a_follow_up}").status_code == 403, role
        assert "Alfa" not in clients[role].get("/kpi/surveys").get_data(as_text=True), role
    for role in ("evaluator", "evaluator_assigned", "evaluator_conflicted", "mentor", "authority"):
        assert clients[role].get(f"/kpi/surveys/{a_survey}").status_code == 403, role
    # Swapped: each company opens its own survey, never the other's.
    assert clients["applicant_b"].get(f"/kpi/surveys/{b_survey}").status_code == 200
    assert clients["applicant_a"].get(f"/kpi/surveys/{a_survey}").status_code == 200
    r = clients["applicant_a"].get(f"/kpi/surveys/{b_survey}")
    assert r.status_code == 404 and "Beta" not in r.get_data(as_text=True)
    mine = clients["applicant_a"].get("/kpi/surveys").get_data(as_text=True)
    assert "Alfa Robotica S.r.l." in mine and "Beta Robotica" not in mine
    assert f"/kpi/surveys/{b_survey}" not in mine


def _decisions_recorded(entry) -> int:
    """Audit entries other than the refusals themselves (each refused route is recorded too)."""
    return db.session.scalar(select(db.func.count(entry.id)).where(entry.action != "access.denied"))


@pytest.mark.parametrize("role", ["applicant_b", "buyer", "authority", "evaluator", "mentor"])
def test_outsiders_answering_a_survey_of_a_or_correcting_its_baseline_change_nothing(app, world, clients, role):
    from opsapp.core.models import AuditEntry
    from opsapp.kpi.models import FollowUp

    client = clients[role]
    token = csrf_from(client.get("/").get_data(as_text=True))
    a_survey, a_follow_up = world.a.objects["survey_id"], world.a.objects["follow_up_id"]
    with app.app_context():
        before = _survey_state(a_survey)
        baseline = db.session.get(FollowUp, a_follow_up).baseline_turnover
        audits = _decisions_recorded(AuditEntry)
    r = client.post(f"/kpi/surveys/{a_survey}", data=_survey_answer(token))
    assert r.status_code in DENIED, (role, r.status_code)
    r = client.post(f"/kpi/follow-ups/{a_follow_up}/baseline",
                    data={"csrf_token": token, "turnover": "1", "reason": "Outsider correction"})
    assert r.status_code == 403, (role, r.status_code)
    with app.app_context():
        assert _survey_state(a_survey) == before and before[0] == "open"
        assert db.session.get(FollowUp, a_follow_up).baseline_turnover == baseline
        assert _decisions_recorded(AuditEntry) == audits
    if role == "applicant_b":
        # The same answer on B's own survey is saved: the refusal above was about whose survey it is.
        r = client.post(f"/kpi/surveys/{world.b.objects['survey_id']}", data=_survey_answer(token))
        assert r.status_code == 302, r.status_code
        with app.app_context():
            assert _survey_state(world.b.objects["survey_id"])[0] == "answered"
            assert _survey_state(a_survey) == before


def _company_names(world: World) -> list[str]:
    """What would identify A or B: names, VAT numbers, e-mails and everything personal of theirs."""
    return [s for s in (*world.a.secrets, *world.b.secrets, "Alfa", "Beta") if s]


def _text_of_file(response) -> str:
    """The text of a Word or Excel download, for looking for names in it."""
    data = io.BytesIO(response.data)
    if _is_docx(response):
        from docx import Document

        document = Document(data)
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    if response.mimetype.endswith("spreadsheetml.sheet"):
        from openpyxl import load_workbook

        book = load_workbook(data, read_only=True)
        return "\n".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for value in row if value is not None)
    return _body(response)


def test_the_authority_never_sees_a_company(app, world, clients):
    """Every monitoring page, export, report and API answer the authority can reach shows aggregates
    only: no name, number or e-mail of the companies followed."""
    client = clients["authority"]
    names = _company_names(world)
    reached = []
    problems = []
    for rule in _rules(app):
        if not (rule.endpoint.startswith("kpi.") and "GET" in rule.methods) or rule.rule.startswith("/api/"):
            continue
        if not _allowed(app.view_functions[rule.endpoint], "authority"):
            continue
        for target in _urls(rule, world):
            r = client.get(target.url)
            reached.append(f"{target.url} {r.status_code}")
            shown = [s for s in names if s in _text_of_file(r)]
            if r.status_code >= 500 or shown:
                problems.append(f"authority GET {target.url} -> {r.status_code}, shows {shown}")
    for url in ("/", "/kpi/?edition=2026", "/kpi/?edition=2026&size=micro", "/kpi/export/all.xlsx?edition=2026"):
        r = client.get(url)
        shown = [s for s in names if s in _text_of_file(r)]
        if r.status_code != 200 or shown:
            problems.append(f"authority GET {url} -> {r.status_code}, shows {shown}")
    for url in ("/api/v1/programmes", "/api/v1/indicators?programme=accelerator&edition=2026"):
        r = app.test_client().get(url, headers={"Authorization": f"Bearer {world.shared['api_secret']}"})
        shown = [s for s in names if s in _body(r)]
        if r.status_code != 200 or shown:
            problems.append(f"API {url} -> {r.status_code}, shows {shown}")
    assert any("/download 200" in line for line in reached), reached
    assert not problems, "\n".join(problems)
