"""An axe-core scan of every page each kind of user reaches, in English and in Italian.

Before the scan a realistic call cycle is seeded (`_seed_call_cycle`): a draft call with a
form of every kind of question, an open call with the applicant's draft, a call in
evaluation with applications, assignments in every state and a divergent score, and a
decided call with its outcomes; for staff, SMEs and buyers also three Meet the Buyer
events (`_seed_events`): one in booking (requests in every state, training with attendance),
one with its agendas published (a scheduler run, meetings, a locked one, a request left
waiting) and one in follow-up (held meetings, ratings, a no-show, contracts). So the call
and event pages are scanned with content, not as empty states. Each role scans its own
pages of that cycle (`CYCLE_PAGES`), then the pages of its main navigation
(`#main-navigation a`), the pages everyone has (home, account, notifications, the legal
pages) and the pages one link away from those (inside `main`: detail pages, the privacy
centre, sub-pages of the account). New pages are scanned as
soon as they appear in the navigation. No violation of impact "serious" or "critical" is
allowed; one summary line per page is printed at the end of the run (section "axe-core
accessibility scan").
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from opsapp.calls.models import (
    Answer,
    AssignmentStatus,
    CallStatus,
    ProgrammeKind,
    Question,
    QuestionKind,
    Score,
)
from opsapp.core.models import Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import (
    EventPhase,
    Favourite,
    MeetingOutcome,
    MeetingStatus,
    RequestStatus,
    ScheduleRun,
    Side,
    SupplyContract,
    TrainingAttendance,
    TrainingSession,
)
from opsapp.extensions import db
from tests.e2e.conftest import (
    axe_scan,
    decide_call,
    evaluated_call,
    open_page,
    path_of,
    sign_in,
    switch_language,
)
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_application, make_call, make_edition, make_evaluator_profile
from tests.factories_events import make_event, make_meeting, make_participant, make_request

pytestmark = pytest.mark.e2e

PUBLIC_PAGES = ["/", "/login", "/register", "/password/reset", "/confirm", "/accessibility", "/privacy"]
# The legal pages differ for a signed-in user only in the header, which every page below has.
SIGNED_IN_PAGES = ["/", "/account", "/account/password", "/account/two-step", "/notifications"]
# Links that are files or actions, not pages to scan.
NOT_PAGES = (".csv", ".xlsx", ".ics", ".docx", ".pdf", "/export", "/download", "/logout")
MAX_LINKED_PAGES = 20  # per role: pages reached by one link from those above

ROLES = ["anonymous", "admin", "staff", "authority", "evaluator", "mentor", "applicant", "buyer"]

# The pages of the seeded call cycle each role scans (ids by name, see `_seed_call_cycle`), each with
# a text of the seeded content it must show in English: the page is scanned full, not as an empty state.
CYCLE_PAGES = {
    "anonymous": {
        "/calls": "Business Accelerator 2027",
        "/calls/{open}": "Quality and efficiency of the implementation",
        "/calls/{decided}": "The call is closed",
    },
    "buyer": {
        "/calls": "Business Accelerator 2027",
        "/calls/{open}": "Seat in the region",
        "/events/": "Meet the Buyer Torino 2026",
        "/events/{booking}": "Answer the meeting requests you received",
        "/events/{booking}/profile": "Profile of Compratore S.p.A.",
        "/events/{booking}/availability": "Slots you can attend",
        "/events/{booking}/marketplace": "Meccanica Langhe S.r.l.",
        "/events/{booking}/profiles/{other}": "Precision machining of stainless steel parts",
        "/events/{booking}/requests": "Tessuti Biella S.r.l.",
        "/events/{booking}/requests/new?to={new_to}": "Request a meeting with Tessuti Biella S.r.l.",
        "/events/{published}/agenda": "Officina Rossi S.r.l.",
        "/events/{published}/agenda/print": "Meccanica Langhe S.r.l.",
        "/events/meetings/{held}/outcome": "How did the meeting go?",
        "/events/{past}/contracts": "Five hundred sensors for the Asti plant",
        "/events/{past}/contracts/new": "Date of signature",
    },
    "applicant": {
        "/calls": "Business Accelerator 2027",
        "/calls/{open}": "Continue your application",
        "/applications": "Business Accelerator 2025",
        "/applications/{draft}/step/1": "Stage of the company",
        "/applications/{draft}/step/2": "employees_fte",
        "/applications/{draft}/step/3": "Business plan",
        "/applications/{draft}/step/4": "Number of paying clients",
        "/applications/{draft}/summary": "required answers are missing",
        "/applications/{submitted}": "Every rule met",
        "/applications/{selected}": "Accept the place",
        "/events/": "Meet the Buyer Torino 2026",
        "/events/{booking}": "Find counterparts in the marketplace",
        "/events/{booking}/profile": "Profile of Officina Rossi S.r.l.",
        "/events/{booking}/availability": "Slots you can attend",
        "/events/{booking}/marketplace": "Alimentari Piemonte S.p.A.",
        "/events/{booking}/profiles/{other}": "Sensors and analytics to cut unplanned stops",
        "/events/{booking}/requests": "Trasporti Alpini S.p.A.",
        "/events/{booking}/requests/new?to={new_to}": "Request a meeting with Ospedale Mauriziano",
        "/events/{published}/agenda": "Alimentari Piemonte S.p.A.",
        "/events/{published}/agenda/print": "Compratore S.p.A.",
        "/events/meetings/{held}/outcome": "How did the meeting go?",
        "/events/{past}/contracts": "A pilot of the sensors on two bottling lines",
        "/events/{past}/contracts/new": "Date of signature",
    },
    "evaluator": {
        "/evaluations": "Conflicts of interest you declared",
        "/evaluations/{to_declare}/declaration": "I have no conflict of interest with this applicant",
        "/evaluations/{to_score}": "Comment on Impact",
        "/evaluations/{done_divergent}": "The other evaluators' scores",
    },
    "staff": {
        "/staff/calls": "Business Accelerator 2028",
        "/staff/calls/{draft_call}": "Publish the call",
        "/staff/calls/{draft_call}/questions": "Markets you sell to",
        "/staff/calls/{draft_call}/criteria": "How the proposal does on impact",
        "/staff/calls/{draft_call}/preview": "Stage of the company",
        "/staff/calls/{draft_call}/preview?page=3": "Do you hold a patent?",
        "/staff/calls/{open}": "Business Accelerator 2027",
        "/staff/calls/{evaluation}": "Scores, moderation and ranking",
        "/staff/calls/{evaluation}/applications": "Hydra Biotech S.r.l.",
        "/staff/calls/{evaluation}/assignments": "Elettra Aerospazio S.r.l.",
        "/staff/calls/{evaluation}/ranking": "Moderate Bruno Tessile S.p.A.",
        "/staff/applications/{divergent}/consensus": "Record the consensus",
        "/applications/{pending}": "Confirm or override the eligibility",
        "/evaluations/{done_divergent}": "The other evaluators' scores",
        "/staff/calls/{decided}": "Business Accelerator 2025",
        "/staff/calls/{decided}/ranking": "Letter",
        "/staff/evaluators": "Expert Number1",
        "/staff/evaluators/{evaluator}": "Elena Esperta",
        "/staff/editions": "2028",
        "/events/": "Meet the Buyer Milano 2027",
        "/events/new": "Slot length",
        "/events/{booking}": "Key figures",
        "/events/{booking}/slots": "09:00",
        "/events/{booking}/participants": "Trasporti Alpini S.p.A.",
        "/events/{booking}/training": "Pitch in five minutes",
        "/events/{booking}/training/{session}": "Meccanica Langhe S.r.l.",
        "/events/{booking}/marketplace": "Ospedale Mauriziano",
        "/events/{booking}/requests": "Tessuti Biella S.r.l.",
        "/events/{booking}/requests/staff-new": "Accept on both sides' behalf",
        "/events/{published}/schedule": "Accepted requests without a meeting",
        "/events/meetings/{meeting}/move": "Alimentari Piemonte S.p.A.",
        "/events/{published}/agenda?participant={sme}": "Agenda of Officina Rossi S.r.l.",
        "/events/{published}/table-plan": "Meccanica Langhe S.r.l.",
        "/events/{published}/check-in": "Trasporti Alpini S.p.A.",
        "/events/{past}/contracts": "Five hundred sensors for the Asti plant",
        "/events/{past}/statistics": "Value of the confirmed contracts (EUR)",
    },
}

# Per organisation of the call in evaluation: what each evaluator did (the person signed in as
# evaluator first, then two other experts): scores for Excellence, Impact, Implementation,
# or the state of an assignment without scores.
IN_EVALUATION = {
    "Alfa Sensori S.r.l.": [[4.5, 4.5, 4], [4, 4.5, 4], [4.5, 4, 4]],
    "Bruno Tessile S.p.A.": [[2, 4, 3.5], [4.5, 4, 3.5], [4, 4.5, 3]],  # Excellence: 2 to 4.5, divergent
    "Cascina Verde Soc. Coop.": [[3, 2.5, 3], [3, 2, 3.5], [3.5, 2.5, 3]],  # Impact below its threshold
    "Elettra Aerospazio S.r.l.": [AssignmentStatus.ASSIGNED, [4, 4, 4], [4, 3.5, 4]],
    "Fonderia Nord S.p.A.": [AssignmentStatus.CONFLICT, [3.5, 3.5, 3], [3, 3.5, 3.5]],
    "Hydra Biotech S.r.l.": [None, AssignmentStatus.ACCEPTED, AssignmentStatus.ASSIGNED],
}
DECIDED = {
    "Alfa Sensori S.r.l.": [[4, 4, 4]] * 3,
    "Delta Meccatronica S.r.l.": [[3.5, 3.5, 3.5]] * 3,
    "Cascina Verde Soc. Coop.": [[3, 2.5, 3]] * 3,
}


def _make_person(role: str):
    """A user of this role, with what such a user normally has (an organisation, a notification)."""
    email = f"{role}@example.eu"
    user = make_user(email, roles=[Role(role)], full_name=f"{role.title()} Example")
    organisation = None
    if role == "applicant":
        organisation = make_organisation(owner=user, legal_name="Officina Rossi S.r.l.")
    elif role == "buyer":
        organisation = make_organisation(kind="corporate_buyer", owner=user, legal_name="Compratore S.p.A.")
    db.session.add(Notification(user_id=user.id, subject="Your application was received",
                                body="We will tell you when it is evaluated.", link="/"))
    return user, organisation


def _form_of_every_kind(call, first_page: int = 1) -> None:
    """Questions of every kind a call can ask: three beside the factory's text on page 1, three on page 3
    (the factory's baseline figures are on page 2)."""
    rows = [
        (QuestionKind.TEXT, "Name of the product or service", {"max_length": 120}),
        (QuestionKind.SINGLE_CHOICE, "Stage of the company", {"choices": ["Pre-seed", "Seed", "Series A"]}),
        (QuestionKind.MULTIPLE_CHOICE, "Markets you sell to", {"choices": ["Italy", "European Union", "Rest of the world"],
                                                               "required": False}),
        (QuestionKind.YES_NO, "Do you hold a patent?", {}),
        (QuestionKind.DATE, "Date of the first sale", {"required": False, "help_text": "As on the first invoice."}),
        (QuestionKind.FILE, "Business plan", {"file_kinds": ["pdf"], "max_file_mb": 5}),
    ]
    for position, (kind, label, extra) in enumerate(rows, start=10):
        db.session.add(Question(call_id=call.id, page=first_page + 2 * (position >= 13), position=position,
                                kind=str(kind), label=label, required=extra.pop("required", True), **extra))
    db.session.flush()
    db.session.expire(call, ["questions"])


def _organisation(name: str, owner_email: str, domains):
    owner = make_user(owner_email, roles=[Role.APPLICANT], full_name=f"{name.split()[0]} Founder")
    organisation = make_organisation(owner=owner, legal_name=name)
    organisation.s3_domains = domains[:2]
    return organisation


def _seed_call_cycle(app, role: str, person, own_organisation) -> dict[str, int]:
    """A draft, an open, an in-evaluation and a decided call, with the person in their role's place.

    Returns the ids the pages of `CYCLE_PAGES` are written with.
    """
    domains = make_s3_domains()
    staff = person if role == "staff" else make_user("cycle.staff@example.eu", roles=[Role.STAFF],
                                                     full_name="Stefania Staff")
    evaluator = person if role == "evaluator" else make_user("cycle.evaluator@example.eu", roles=[Role.EVALUATOR],
                                                             full_name="Elena Esperta")
    experts = [evaluator] + [make_user(f"cycle.expert{n}@example.eu", roles=[Role.EVALUATOR],
                                       full_name=f"Expert Number{n}") for n in (1, 2)]
    for expert in experts:
        make_evaluator_profile(expert, s3_domains=domains[:3], expertise="Venture capital and industrial design.")
    if own_organisation is None:
        own_organisation = _organisation("Officina Rossi S.r.l.", "cycle.applicant@example.eu", domains)
    else:
        own_organisation.s3_domains = domains[:2]
    organisations = {name: _organisation(name, f"cycle.{n}@example.eu", domains)
                     for n, name in enumerate(sorted(set(IN_EVALUATION) | set(DECIDED)))}
    owner = next(m.user for m in own_organisation.memberships)

    # Draft: a form of every kind, criteria with descriptions (the questions and criteria pages).
    draft = make_call(CallStatus.DRAFT, edition=make_edition(2028), title="Business Accelerator 2028",
                      eligibility_rules={"sme": {}, "seat_in_region": {}, "business_readiness": {"min_clients": 1}})
    draft.s3_domains = domains[:3]
    _form_of_every_kind(draft)
    for criterion in draft.criteria:
        criterion.description = f"How the proposal does on {criterion.name.lower()}."

    # Open: the applicant's draft, answered in part (the summary lists what is missing).
    open_call = make_call(CallStatus.OPEN, edition=make_edition(2027), title="Business Accelerator 2027",
                          eligibility_rules={"sme": {}, "seat_in_region": {}, "business_readiness": {}})
    open_call.s3_domains = domains[:3]
    draft_application = make_application(open_call, own_organisation, submitted=False, by=owner)
    _form_of_every_kind(open_call)
    stage = next(q for q in open_call.questions if q.kind == QuestionKind.SINGLE_CHOICE)
    db.session.add(Answer(application_id=draft_application.id, question_id=stage.id, value="Seed"))

    # In evaluation: the person as first evaluator, assignments in every state, one divergence.
    entries = {organisations[name]: items for name, items in IN_EVALUATION.items()}
    entries[own_organisation] = [AssignmentStatus.ACCEPTED, [4, 4, 3.5], [4, 4.5, 4]]
    evaluation, applications, assignments = evaluated_call(staff, experts, entries, places=2,
                                                           title="Business Accelerator 2026, second round",
                                                           edition=make_edition(2026))
    pending = applications[organisations["Hydra Biotech S.r.l."].id]
    pending.eligibility, pending.eligibility_flagged = "pending", True
    pending.eligibility_decided_by_id = pending.eligibility_decided_at = pending.eligibility_reason = None
    pending.eligibility_results = [
        {"code": "sme", "passed": True, "reason": "is_sme", "params": {"size_class": "micro"}},
        {"code": "seat_in_region", "passed": False, "reason": "seat_elsewhere",
         "params": {"region": "ITC1", "seat": "ITH3"}}]
    to_score = assignments[(own_organisation.id, evaluator.id)]
    first = evaluation.criteria[0]
    db.session.add(Score(assignment_id=to_score.id, criterion_id=first.id, value=Decimal("3.5"),
                         comment="A clear market study; the pricing is not explained."))
    heavy = make_organisation(owner=make_user("cycle.heavy@example.eu", roles=[Role.APPLICANT]),
                              legal_name="Gamma Heavy Industries S.p.A.", staff_headcount=Decimal("900"))
    make_application(evaluation, heavy, eligibility="ineligible", eligibility_flagged=True,
                     eligibility_reason="A large enterprise with its linked companies.",
                     eligibility_results=[{"code": "sme", "passed": False, "reason": "not_sme",
                                           "params": {"size_class": "large"}}])

    # Decided: the applicant's organisation first, so it has a place to accept or decline.
    decided_entries = {own_organisation: [[5, 4.5, 5]] * 3}
    decided_entries.update({organisations[name]: items for name, items in DECIDED.items()})
    decided, decided_applications, _ = evaluated_call(staff, experts, decided_entries, places=1,
                                                      title="Business Accelerator 2025",
                                                      edition=make_edition(2025),
                                                      opens_in=timedelta(days=-400), closes_in=timedelta(days=-370))
    db.session.flush()
    decide_call(app, staff, decided)
    db.session.flush()
    submitted_own = applications[own_organisation.id]
    assert decided_applications[own_organisation.id].outcome == "selected"
    assert utcnow() < open_call.closes_at
    return {
        "draft_call": draft.id, "open": open_call.id, "evaluation": evaluation.id, "decided": decided.id,
        "draft": draft_application.id, "submitted": submitted_own.id,
        "selected": decided_applications[own_organisation.id].id, "pending": pending.id,
        "divergent": applications[organisations["Bruno Tessile S.p.A."].id].id,
        "to_declare": assignments[(organisations["Elettra Aerospazio S.r.l."].id, evaluator.id)].id,
        "to_score": to_score.id,
        "done_divergent": assignments[(organisations["Bruno Tessile S.p.A."].id, evaluator.id)].id,
        "evaluator": evaluator.id,
    }


def _events_organisation(name: str, kind: str, email: str):
    role = Role.APPLICANT if kind == "sme" else Role.BUYER
    user = make_user(email, roles=[role], full_name=f"{name.split()[0]} Contact")
    return user, make_organisation(kind=kind, owner=user, legal_name=name)


EVENT_SMES = {  # name: offer
    "Meccanica Langhe S.r.l.": "Precision machining of stainless steel parts for food machinery.",
    "Tessuti Biella S.r.l.": "Technical fabrics with woven sensors for workwear.",
}
EVENT_BUYERS = {  # name: (needs, from outside the region)
    "Alimentari Piemonte S.p.A.": ("Sensors and analytics to cut unplanned stops on our bottling lines.", False),
    "Trasporti Alpini S.p.A.": ("Tracking of refrigerated trucks across the Alps.", True),
    "Ospedale Mauriziano": ("Smart textiles for patient monitoring in the wards.", False),
}


def _seed_events(role: str, person, own_organisation) -> dict[str, int]:
    """Three Meet the Buyer events with the person's organisation on its side (SMEs and buyers).

    Booking: requests sent, received, accepted, declined and expired, a favourite, training with
    attendance. Agendas published: a scheduler run, four meetings (one locked), an accepted
    request without a meeting. Follow-up: held meetings (one to rate, one rated by both sides),
    a no-show and contracts waiting and confirmed. Returns the ids the event pages of
    `CYCLE_PAGES` are written with.
    """
    domains = make_s3_domains()
    edition = make_edition(2027, kind=ProgrammeKind.MEET_THE_BUYER)  # offered by the new event form
    staff = person if role == "staff" else make_user("events.staff@example.eu", roles=[Role.STAFF],
                                                     full_name="Ettore Eventi")
    if role == "applicant":
        sme_user, sme_org = person, own_organisation
    else:
        sme_user, sme_org = _events_organisation("Officina Rossi S.r.l.", "sme", "events.sme@example.eu")
    if role == "buyer":
        buyer_user, buyer_org = person, own_organisation
    else:
        buyer_user, buyer_org = _events_organisation("Compratore S.p.A.", "corporate_buyer",
                                                     "events.buyer@example.eu")
    others = {name: _events_organisation(name, "sme", f"events.sme{n}@example.eu")
              for n, name in enumerate(EVENT_SMES)}
    others.update({name: _events_organisation(name, "corporate_buyer", f"events.buyer{n}@example.eu")
                   for n, name in enumerate(EVENT_BUYERS)})

    def cast(event):
        """The participants of an event, by organisation name (the person's own as "sme" and "buyer")."""
        people = {
            "sme": make_participant(event, Side.SME, user=sme_user, organisation=sme_org,
                                    headline="Sensors for food production lines",
                                    offer="Predictive maintenance sensors for bottling and packaging lines."),
            "buyer": make_participant(event, Side.BUYER, user=buyer_user, organisation=buyer_org,
                                      headline="A retail group buying from regional suppliers",
                                      needs="Packaging that keeps fresh food longer.", countries=["IT", "FR"]),
        }
        for name, offer in EVENT_SMES.items():
            user, organisation = others[name]
            people[name] = make_participant(event, Side.SME, user=user, organisation=organisation,
                                            headline=name, offer=offer)
        for name, (needs, outside) in EVENT_BUYERS.items():
            user, organisation = others[name]
            people[name] = make_participant(event, Side.BUYER, user=user, organisation=organisation,
                                            headline=name, needs=needs, outside_region=outside,
                                            countries=["IT", "CH"] if outside else ["IT"])
        for n, participant in enumerate(people.values()):
            participant.s3_domains = [domains[n % len(domains)], domains[(n + 1) % len(domains)]]
        return people

    # Booking: requests in every state, a favourite, training sessions with attendance.
    booking = make_event(phase=EventPhase.BOOKING, name="Meet the Buyer Torino 2027", tables=4, days=2,
                         edition_id=edition.id, breaks=[{"start": "10:20", "end": "10:40"}])
    b = cast(booking)
    make_request(b["sme"], b["buyer"], RequestStatus.ACCEPTED, priority=5, message="Let us talk about packaging.")
    make_request(b["sme"], b["Alimentari Piemonte S.p.A."], RequestStatus.PENDING, priority=4,
                 message="Our sensors cut unplanned stops on bottling lines by a third.")
    make_request(b["sme"], b["Trasporti Alpini S.p.A."], RequestStatus.PENDING, requested_by=Side.BUYER,
                 priority=3, message="Could your sensors ride in our trucks?")
    make_request(b["Meccanica Langhe S.r.l."], b["buyer"], RequestStatus.PENDING, priority=2,
                 message="We machine parts for food machinery.")
    make_request(b["Tessuti Biella S.r.l."], b["buyer"], RequestStatus.DECLINED, requested_by=Side.BUYER,
                 decline_reason="Our buyers are booked for the day.")
    make_request(b["Tessuti Biella S.r.l."], b["Alimentari Piemonte S.p.A."], RequestStatus.EXPIRED,
                 expires_at=utcnow() - timedelta(days=1))
    db.session.add(Favourite(participant_id=b["sme"].id, target_id=b["Alimentari Piemonte S.p.A."].id))
    db.session.add(Favourite(participant_id=b["buyer"].id, target_id=b["Meccanica Langhe S.r.l."].id))
    start = utcnow() - timedelta(days=3)
    pitch = TrainingSession(event_id=booking.id, kind="pitch", title="Pitch in five minutes", starts_at=start,
                            ends_at=start + timedelta(hours=2), place="Room 3, Via Nizza 12", trainer="Paola Pitch")
    later = utcnow() + timedelta(days=10)
    db.session.add_all([pitch, TrainingSession(event_id=booking.id, kind="negotiation", title="Negotiating with "
                                               "large buyers", starts_at=later, ends_at=later + timedelta(hours=2),
                                               place="Online", trainer="Nora Negotiation")])
    db.session.flush()
    for name, attended in (("sme", True), ("Meccanica Langhe S.r.l.", False)):
        db.session.add(TrainingAttendance(session_id=pitch.id, participant_id=b[name].id, attended=attended,
                                          recorded_by_id=staff.id))

    # Agendas published: a scheduler run, meetings (one locked), an accepted request left without one.
    published = make_event(phase=EventPhase.AGENDAS_PUBLISHED, name="Meet the Buyer Milano 2027", tables=3,
                           edition_id=edition.id, table_names=["Rosa", "Viola", "Lilla"])
    published.agendas_published_at = utcnow() - timedelta(days=1)
    p = cast(published)
    slots = published.slots
    placed = {}
    for n, (sme, buyer, slot, table) in enumerate([("sme", "buyer", 0, 1), ("sme", "Alimentari Piemonte S.p.A.", 1, 1),
                                                   ("Meccanica Langhe S.r.l.", "buyer", 1, 2),
                                                   ("Meccanica Langhe S.r.l.", "Alimentari Piemonte S.p.A.", 2, 1)]):
        request = make_request(p[sme], p[buyer], RequestStatus.ACCEPTED, priority=5 - n)
        placed[(sme, buyer)] = make_meeting(request, slots[slot], table=table, locked=n == 0)
    make_request(p["Tessuti Biella S.r.l."], p["buyer"], RequestStatus.ACCEPTED, priority=2,
                 unscheduled_reason="No common free slot in the agendas of both.")
    db.session.add(ScheduleRun(event_id=published.id, started_by_id=staff.id, status="done", requests=5,
                               scheduled=4, objective=14, upper_bound=14, optimal=True, seconds=0.4,
                               started_at=utcnow() - timedelta(days=2),
                               finished_at=utcnow() - timedelta(days=2) + timedelta(seconds=1)))

    # Follow-up: held meetings, ratings, a no-show, contracts waiting and confirmed.
    first_day = (utcnow() - timedelta(days=30)).date()
    past = make_event(phase=EventPhase.FOLLOW_UP, name="Meet the Buyer Torino 2026", first_day=first_day,
                      edition_id=edition.id,
                      registration_deadline=utcnow() - timedelta(days=60),
                      booking_opens_at=utcnow() - timedelta(days=55), request_deadline=utcnow() - timedelta(days=40))
    past.agendas_published_at = utcnow() - timedelta(days=35)
    h = cast(past)
    slots = past.slots
    to_rate = make_meeting(make_request(h["sme"], h["buyer"]), slots[0], table=1, status=MeetingStatus.HELD)
    rated = make_meeting(make_request(h["sme"], h["Alimentari Piemonte S.p.A."], priority=4), slots[1], table=1,
                         status=MeetingStatus.HELD)
    missed = make_meeting(make_request(h["Meccanica Langhe S.r.l."], h["buyer"]), slots[1], table=2,
                          status=MeetingStatus.NO_SHOW, no_show_reported_by_id=h["buyer"].id,
                          no_show_reported_at=slots[1].ends_at)
    make_meeting(make_request(h["Tessuti Biella S.r.l."], h["buyer"]), slots[2], table=1, status=MeetingStatus.HELD)
    for participant, rating, note in ((h["sme"], "negotiation_started", "They asked for a pilot on two lines."),
                                      (h["Alimentari Piemonte S.p.A."], "agreement_reached", None)):
        db.session.add(MeetingOutcome(meeting_id=rated.id, participant_id=participant.id, rating=rating, note=note,
                                      recorded_by_id=(participant.contact_id)))
    signed = first_day + timedelta(days=10)
    db.session.add_all([
        SupplyContract(event_id=past.id, sme_id=h["sme"].id, buyer_id=h["Alimentari Piemonte S.p.A."].id,
                       meeting_id=rated.id, signed_on=signed, value=Decimal("48500.00"),
                       description="A pilot of the sensors on two bottling lines.", status="confirmed",
                       recorded_by_id=sme_user.id, reviewed_by_id=staff.id, reviewed_at=utcnow(),
                       review_note="Checked against the purchase order."),
        SupplyContract(event_id=past.id, sme_id=h["sme"].id, buyer_id=h["buyer"].id, meeting_id=to_rate.id,
                       signed_on=signed + timedelta(days=3), value=Decimal("12000.00"),
                       description="Five hundred sensors for the Asti plant.", status="recorded",
                       recorded_by_id=buyer_user.id),
        SupplyContract(event_id=past.id, sme_id=h["Meccanica Langhe S.r.l."].id, buyer_id=h["buyer"].id,
                       meeting_id=None, signed_on=signed, value=Decimal("7300.00"), status="rejected",
                       recorded_by_id=staff.id, reviewed_by_id=staff.id, reviewed_at=utcnow(),
                       review_note="The purchase order names another supplier."),
    ])
    db.session.flush()
    assert missed.status == MeetingStatus.NO_SHOW.value

    other, new_to = (("Alimentari Piemonte S.p.A.", "Ospedale Mauriziano") if role == "applicant"
                     else ("Meccanica Langhe S.r.l.", "Tessuti Biella S.r.l."))
    return {
        "booking": booking.id, "published": published.id, "past": past.id, "session": pitch.id,
        "other": b[other].id, "new_to": b[new_to].id, "sme": p["sme"].id,
        "meeting": placed[("sme", "Alimentari Piemonte S.p.A.")].id,
        "held": to_rate.id,
    }


def _local(page, href: str | None) -> str | None:
    """The path of a link to a page of this site, or None for anything else."""
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(href)
    base = urlsplit(page.url)
    if parts.netloc and parts.netloc != base.netloc:
        return None
    path = parts.path or "/"
    if any(marker in path for marker in NOT_PAGES) or path.startswith("/static/"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _links(page, selector: str) -> list[str]:
    found = []
    for href in page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))"):
        path = _local(page, href)
        if path and path not in found:
            found.append(path)
    return found


def _pages_to_scan(page, signed_in: bool, cycle_pages: list[str]) -> list[str]:
    """The fixed pages, the call cycle's, the navigation's, then pages one link away (same site, HTML, 200)."""
    pages = list(SIGNED_IN_PAGES if signed_in else PUBLIC_PAGES)
    pages += [p for p in cycle_pages if p not in pages]
    if not signed_in:
        return pages
    open_page(page, "/")
    navigation = _links(page, "#main-navigation a")
    for path in navigation:
        if path not in pages:
            pages.append(path)
    # One page per template: /admin/users?sort=name is /admin/users again, /organisations/7 is /organisations/3.
    shapes = {_shape(p) for p in pages}
    linked = 0
    for path in list(pages):  # the fixed pages, the call cycle's and the navigation's
        open_page(page, path)
        for target in _links(page, "main a[href]"):
            if _shape(target) in shapes or linked >= MAX_LINKED_PAGES:
                continue
            shapes.add(_shape(target))
            response = page.request.get(target, max_redirects=0)
            if response.status == 200 and response.headers.get("content-type", "").startswith("text/html"):
                pages.append(target)
                linked += 1
    return pages


def _shape(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/<id>", path.split("?")[0])


def _scan_all(page, role: str, lang: str, pages: list[str], problems: list[str],
              content: dict[str, str] | None = None) -> None:
    for path in pages:
        response = open_page(page, path)
        status = response.status if response else 0
        landed = path_of(page)
        # A navigation entry may redirect (for example "my organisation" to its page), never to sign-in.
        sent_to_sign_in = landed.startswith("/login") and not path.startswith("/login")
        if status != 200 or sent_to_sign_in:
            problems.append(f"{lang} {role} {path}: answered {status}, ended at {landed}")
            continue
        assert page.locator("html").get_attribute("lang") == lang
        label = path if landed.split("?")[0] == path.split("?")[0] else f"{path} -> {landed}"
        expected = (content or {}).get(path)
        if expected and expected not in page.locator("main").inner_text():
            problems.append(f"{lang} {role} {path}: the seeded content ({expected!r}) is not shown")
        problems += axe_scan(page, role, lang, label)
    if role == "anonymous":
        # A form showing its errors: the summary, the messages next to the fields.
        open_page(page, "/login")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert page.locator("#error-summary").is_visible()
        problems += axe_scan(page, role, lang, "/login (form with errors)")


@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_no_serious_or_critical_accessibility_violation(app, page, db_session, role):
    signed_in = role != "anonymous"
    person, organisation = _make_person(role) if signed_in else (None, None)
    ids = _seed_call_cycle(app, role, person, organisation)
    if role in ("staff", "applicant", "buyer"):
        ids.update(_seed_events(role, person, organisation))
    email = person.email if signed_in else None
    # Nothing is read after the commit: on SQLite a read would open a transaction that blocks the server.
    db_session.commit()
    content = {path.format(**ids): text for path, text in CYCLE_PAGES.get(role, {}).items()}
    cycle_pages = list(content)
    if signed_in:
        sign_in(page, email)
        assert path_of(page) == "/", f"{role} could not sign in"
    pages = _pages_to_scan(page, signed_in, cycle_pages)
    missing = [p for p in cycle_pages if p not in pages]
    assert not missing, f"pages of the call cycle left out: {missing}"

    problems: list[str] = []
    open_page(page, "/")
    _scan_all(page, role, "en", pages, problems, content)
    open_page(page, "/")
    switch_language(page, "it")
    _scan_all(page, role, "it", pages, problems)

    assert not problems, f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)
