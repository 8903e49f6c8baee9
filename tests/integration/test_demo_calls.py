"""The demo's call cycle (stage 2): the four calls the issue promises, each in the phase it should
show; rankings that are exactly what the ranking rule decides from the stored scores; an open
call that really accepts submissions today; and the same data on every load."""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from opsapp import demo
from opsapp.accounts.models import Organisation, User
from opsapp.calls import eligibility, permissions, scoring
from opsapp.calls.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Application,
    ApplicationStatus,
    AssignmentStatus,
    BaselineKey,
    Call,
    CallStatus,
    Consensus,
    Edition,
    EvaluatorProfile,
    Obligation,
    Programme,
    QuestionKind,
)
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import to_local, utcnow
from opsapp.demo import accounts as accounts_stage
from opsapp.demo import calls as calls_stage
from opsapp.extensions import db

DOMAIN = "demo.opsapp.eu"


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


# The earlier editions the monitoring stage adds (tested in test_demo_kpi.py).
EARLIER = {"acc2022", "acc2023", "acc2024", "mtb2023", "mtb2024", "mtb2025"}


def calls() -> dict[str, Call]:
    """The calls of stage 2."""
    found = {}
    for call in db.session.scalars(select(Call)):
        kind = "mtb" if call.edition.programme.kind == "meet_the_buyer" else "acc"
        if f"{kind}{call.edition.year}" not in EARLIER:
            found[f"{kind}{call.edition.year}"] = call
    return found


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def rules_of(call: Call) -> scoring.CallRules:
    return scoring.CallRules(
        criteria=tuple(scoring.CriterionRule(c.id, c.weight, c.max_score, c.threshold, c.position)
                       for c in call.criteria),
        aggregation=call.aggregation, divergence=call.divergence, overall_threshold=call.overall_threshold,
        evaluators_required=call.evaluators_per_application)


def scores_of(application: Application) -> scoring.ApplicationScores:
    """What the evaluators submitted, read back from the database, with staff's consensus."""
    submitted = [a for a in application.assignments if a.status == AssignmentStatus.SUBMITTED]
    by_criterion: dict[int, list[Decimal]] = {}
    for assignment in submitted:
        for score in assignment.scores:
            by_criterion.setdefault(score.criterion_id, []).append(score.value)
    consensus = {c.criterion_id: c.value for c in db.session.scalars(
        select(Consensus).where(Consensus.application_id == application.id))}
    return scoring.ApplicationScores(application.id, application.submitted_at, by_criterion, consensus,
                                     evaluations=len(submitted))


def test_programmes_editions_and_evaluator_profiles(demo_db):
    programmes = {p.kind: p for p in db.session.scalars(select(Programme))}
    assert set(programmes) == {"accelerator", "meet_the_buyer"}
    assert programmes["accelerator"].name("en") == "Business Accelerator"
    assert programmes["accelerator"].name("it") != programmes["accelerator"].name("en")
    assert all(p.description_en and p.description_it for p in programmes.values())
    editions = list(db.session.scalars(select(Edition)))
    assert sorted((e.programme.kind, e.year) for e in editions) == sorted(
        [(kind, year) for kind in programmes for year in (2025, 2026, 2027)]
        + [("accelerator", year) for year in (2022, 2023, 2024)] + [("meet_the_buyer", year) for year in (2023, 2024)])
    for edition in editions:
        assert edition.implementing_organisation.kind == "innovation_hub"
        assert edition.budget > 0 and edition.budget == edition.budget.quantize(Decimal("0.01"))

    profiles = {p.user.email: p for p in db.session.scalars(select(EvaluatorProfile))}
    assert set(profiles) == {f"evaluator{n}@{DOMAIN}" for n in range(1, 7)}
    for profile in profiles.values():
        assert profile.s3_domains and profile.languages and profile.expertise and profile.active
    assert "de" in profiles[f"evaluator5@{DOMAIN}"].languages


def test_each_call_is_in_its_phase_with_its_applications(demo_db):
    found = calls()
    assert set(found) == {"acc2025", "acc2026", "acc2027", "mtb2026"}
    as_of = accounts_stage.AS_OF
    expected = {"acc2025": CallStatus.DECIDED, "acc2026": CallStatus.IN_EVALUATION, "acc2027": CallStatus.OPEN,
                "mtb2026": CallStatus.DECIDED}
    for key, call in found.items():
        assert call.status == expected[key], key
        assert call.opens_at < call.closes_at and call.published_at <= call.opens_at
        assert call.timezone == "Europe/Rome" and call.criteria and call.questions
        # The baseline block the KPI module follows is asked by every call.
        assert {q.baseline_key for q in call.questions} >= {str(k) for k in BaselineKey}
        # The state machine's trail: the last status change recorded is the call's status.
        changes = list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "calls", AuditEntry.object_id == str(call.id),
            AuditEntry.action == "calls.status_changed").order_by(AuditEntry.created_at)))
        assert changes[-1].detail["new"] == call.status, key
    for key in ("acc2025", "acc2026", "mtb2026"):  # fixed dates, around the demo's "today"
        assert to_local(found[key].closes_at).date() < as_of
    assert found["acc2025"].decided_at.year == 2025

    def statuses(call):
        return Counter(a.status for a in call.applications)

    assert statuses(found["acc2025"]) == {"submitted": 31}
    assert statuses(found["acc2026"]) == {"submitted": 40}
    assert statuses(found["acc2027"]) == {"draft": 6, "submitted": 3}
    assert statuses(found["mtb2026"]) == {"submitted": 60}
    assert found["mtb2026"].places == 60 and found["acc2025"].places == 8
    assert len({a.organisation_id for a in found["mtb2026"].applications}) == 60
    receipts = [a.receipt_number for call in found.values() for a in call.applications if a.receipt_number]
    assert len(receipts) == len(set(receipts)) == 31 + 40 + 3 + 60
    for call in found.values():  # the format the application itself gives at submission
        prefix = "MTB" if call.edition.programme.kind == "meet_the_buyer" else "ACC"
        for application in call.applications:
            if application.status == ApplicationStatus.SUBMITTED:
                assert application.receipt_number == f"{prefix}-{call.edition.year}-{application.id:06d}"
    text = demo_db
    assert "Accelerator 2026 in evaluation (40 applications" in text and "60 applicants" in text


def test_answers_are_complete_and_consistent_with_the_organisation(demo_db):
    found = calls()
    for call in (found["acc2025"], found["acc2026"], found["mtb2026"]):
        required = {q.id for q in call.questions if q.required and q.kind != QuestionKind.FILE}
        for application in call.applications:
            answered = {a.question_id: a.value for a in application.answers}
            assert required <= set(answered), application.receipt_number
            figures = {a.question.baseline_key: Decimal(str(a.value)) for a in application.answers
                       if a.question.baseline_key}
            assert figures["baseline_year"] == 2024
            assert 0 <= figures["export_turnover"] <= figures["turnover"]
            assert 0 < figures["high_skill_fte"] <= figures["employees_fte"]
            # The turnover reported is of the order of the organisation's own figure.
            assert figures["turnover"] <= application.organisation.annual_turnover * 2
    turnovers = [a.value for a in found["acc2026"].applications[0].answers if a.question.baseline_key == "turnover"]
    assert turnovers
    descriptions = {a.value for app in found["acc2026"].applications for a in app.answers
                    if a.question.label.startswith("Describe your product")}
    assert len(descriptions) == 40  # every company tells its own story


def test_the_2026_call_is_in_evaluation_with_three_evaluators_per_application(demo_db):
    call = calls()["acc2026"]
    profiles = {p.user_id for p in db.session.scalars(select(EvaluatorProfile))}
    statuses = Counter()
    conflicts = []
    for application in call.applications:
        active = [a for a in application.assignments if a.status in ACTIVE_ASSIGNMENT_STATUSES]
        assert len(active) == 3 and len({a.evaluator_id for a in active}) == 3, application.receipt_number
        members = {m.user_id for m in application.organisation.memberships}
        for assignment in application.assignments:
            assert assignment.evaluator_id in profiles
            assert assignment.evaluator_id not in members
            statuses[assignment.status] += 1
            if assignment.status == AssignmentStatus.CONFLICT:
                conflicts.append(assignment)
            if assignment.status == AssignmentStatus.SUBMITTED:
                assert assignment.declared_at <= assignment.submitted_at
                assert all(s.value is not None and s.comment for s in assignment.scores)
                assert len(assignment.scores) == 3
    assert statuses[AssignmentStatus.SUBMITTED] > 90
    assert statuses[AssignmentStatus.ACCEPTED] >= 5 and statuses[AssignmentStatus.ASSIGNED] >= 3
    assert len(conflicts) == 1 and conflicts[0].conflict_reason and conflicts[0].declared_at
    # Progress per evaluator: everyone has work, some still have some left.
    load = Counter()
    done = Counter()
    for application in call.applications:
        for assignment in application.assignments:
            if assignment.status in ACTIVE_ASSIGNMENT_STATUSES:
                load[assignment.evaluator_id] += 1
                done[assignment.evaluator_id] += assignment.status == AssignmentStatus.SUBMITTED
    assert len(load) == 6 and max(load.values()) - min(load.values()) <= 3
    assert any(done[e] < load[e] for e in load)

    rules = rules_of(call)
    results = {a.id: scoring.evaluate(scores_of(a), rules) for a in call.applications}
    divergent = [r for r in results.values() if any(c.divergent for c in r.criteria)]
    assert 4 <= len(divergent) <= 6
    moderated = [r for r in divergent if not r.needs_moderation]
    assert len(moderated) == 1
    consensus = db.session.scalars(select(Consensus).where(Consensus.application_id == moderated[0].application_id)).one()
    assert consensus.justification and consensus.decided_by_id == user(f"staff@{DOMAIN}").id
    assert any(not r.complete for r in results.values())


def test_the_2026_eligibility_is_what_the_rules_say(demo_db):
    call = calls()["acc2026"]
    reference = to_local(call.closes_at, call.timezone).date()
    context = eligibility.CallContext(reference, accounts_stage.HOME_REGION, frozenset(call.eligible_kinds),
                                      frozenset(d.code for d in call.s3_domains))
    for application in call.applications:
        org = application.organisation
        applicant = eligibility.Applicant(
            kind=org.kind, size_class=org.size_class, founding_date=org.founding_date,
            nuts2_region=org.nuts2_region, s3_codes=frozenset(d.code for d in org.s3_domains),
            relocation_commitment=application.relocation_commitment,
            product_on_market=application.product_on_market, paying_clients=application.paying_clients,
            deminimis_declared=application.deminimis_declared)
        expected = eligibility.check(applicant, context, call.eligibility_rules)
        assert application.eligibility_results == [r.as_dict() for r in expected]
        assert application.eligibility_flagged == (not eligibility.passed(expected))
    flagged = [a for a in call.applications if a.eligibility_flagged]
    assert 2 <= len(flagged) <= 3
    decided = [a for a in call.applications if a.eligibility != "pending"]
    assert len(decided) >= 3
    assert all(a.eligibility_reason and a.eligibility_decided_by_id and a.eligibility_decided_at for a in decided)
    assert any(a.eligibility == "ineligible" for a in flagged)

    # The obligation of an application (the cohorts stage adds those of companies admitted without one).
    obligation = db.session.scalars(select(Obligation).where(Obligation.application_id.is_not(None))).one()
    assert obligation.kind == "relocate_seat" and obligation.status == "open"
    assert obligation.organisation.nuts2_region != accounts_stage.HOME_REGION
    relocating = db.session.get(Application, obligation.application_id)
    assert relocating.call_id == call.id and relocating.relocation_commitment
    assert any(r["reason"] == "relocation_committed" for r in relocating.eligibility_results)


def test_decided_calls_store_what_the_ranking_rule_proposes(demo_db):
    found = calls()
    for key in ("acc2025", "mtb2026"):
        call = found[key]
        eligible = [a for a in call.applications if a.eligibility == "eligible"]
        assert all(len([s for s in a.assignments if s.status == AssignmentStatus.SUBMITTED])
                   == call.evaluators_per_application for a in eligible)
        proposal = scoring.propose([scores_of(a) for a in eligible], rules_of(call), call.places)
        assert proposal.ready, key
        stored = {a.id: a for a in call.applications}
        changed = []
        for ranked in proposal.ranked:
            application = stored[ranked.result.application_id]
            assert application.weighted_total == scoring.round_score(ranked.result.weighted_total), key
            assert application.rank == (ranked.rank or None), key
            if (application.outcome, application.reserve_position) != (ranked.outcome, ranked.reserve_position):
                changed.append((ranked, application))
            else:
                assert application.decided_at == call.decided_at
        for application in call.applications:
            if application.eligibility == "ineligible":
                assert application.outcome == "rejected" and application.rank is None
        if key == "mtb2026":
            assert changed == []
            selected = [a for a in call.applications if a.outcome == "selected"]
            assert 50 <= len(selected) <= call.places
            assert all(a.place_status == "accepted" for a in selected)
        else:
            # One selected applicant declined; the first on the reserve list took the place (offered
            # when the other declined) and the rest of the list moved up one position.
            declined = [a for a in call.applications if a.place_status == "declined"]
            assert len(declined) == 1 and declined[0].outcome == "selected"
            assert len(changed) == len(proposal.by_outcome("reserve")) >= 2
            for ranked, application in changed:
                assert ranked.outcome == "reserve"
                if ranked.reserve_position == 1:
                    assert application.outcome == "selected" and application.reserve_position is None
                    assert application.place_status == "accepted"
                    assert application.decided_at == declined[0].place_answered_at
                    assert application.place_answered_at > declined[0].place_answered_at
                else:
                    assert application.outcome == "reserve"
                    assert application.reserve_position == ranked.reserve_position - 1
            accepted = [a for a in call.applications if a.place_status == "accepted"]
            assert len(accepted) == call.places
            assert any(c.consensus is not None for r in proposal.ranked for c in r.result.criteria)


def test_the_open_call_accepts_submissions_now_and_applicant1_has_a_draft(demo_db):
    call = calls()["acc2027"]
    now = utcnow()
    assert permissions.call_accepts_submissions(call, now)
    assert timedelta(days=19) < now - call.opens_at < timedelta(days=21)
    assert timedelta(days=24) < call.closes_at - now < timedelta(days=26)
    applicant1 = user(f"applicant1@{DOMAIN}")
    company = applicant1.memberships[0].organisation
    draft = next(a for a in call.applications if a.organisation_id == company.id)
    assert draft.status == ApplicationStatus.DRAFT and draft.receipt_number is None
    assert permissions.can_edit_application(applicant1, draft, now)
    answered_pages = {a.question.page for a in draft.answers}
    assert answered_pages and max(answered_pages) < max(q.page for q in call.questions)  # half-filled
    others = user(f"applicant2@{DOMAIN}")
    assert not permissions.can_edit_application(others, draft, now)
    for application in call.applications:
        assert call.opens_at <= application.created_at <= now
        if application.status == ApplicationStatus.SUBMITTED:
            assert call.opens_at < application.submitted_at < now
            assert application.eligibility_results


def test_the_stage_context_hands_the_selected_smes_to_later_stages(app):
    with app.app_context():
        demo.wipe()
        rng = random.Random(demo.SEED)
        ctx = accounts_stage.load(rng, [])
        summary: list[str] = []
        stage = calls_stage.load(rng, ctx, summary)
        assert summary
        assert set(stage["calls"]) == {"accelerator_2025", "accelerator_2026", "accelerator_2027",
                                       "meet_the_buyer_2026"}
        assert len(stage["accelerator_2026"]) == 40
        cohort = stage["accelerator_2025_selected"]
        assert len(cohort) == stage["calls"]["accelerator_2025"].places
        assert all(a.outcome == "selected" and a.place_status == "accepted" for a in cohort)
        smes = stage["mtb_selected"]
        assert len(smes) >= 50 and all(a.outcome == "selected" for a in smes)
        assert ctx["companies"][0] in [a.organisation for a in smes]  # applicant1 meets the buyers
        assert all(isinstance(a.organisation, Organisation) for a in smes)
        db.session.rollback()


def fingerprint() -> str:
    """What stage 2 wrote, without row ids and without the open call's clock-relative times."""
    open_call = calls()["acc2027"]
    relative = {("calls", str(open_call.id))} | {("applications", str(a.id)) for a in open_call.applications}
    rows: list = []
    for p in db.session.scalars(select(Programme).order_by(Programme.kind)):
        rows.append((p.kind, p.name_en, p.name_it, p.description_en, p.description_it,
                     [(e.year, e.budget, e.starts_on, e.implementing_organisation.vat_number) for e in p.editions]))
    for profile in db.session.scalars(select(EvaluatorProfile).order_by(EvaluatorProfile.user_id)):
        rows.append((profile.user.email, profile.expertise, profile.languages, profile.max_assignments,
                     sorted(d.code for d in profile.s3_domains)))
    for call in db.session.scalars(select(Call).order_by(Call.title)):
        moving = call.id == open_call.id
        rows.append((call.title, call.summary, call.description, call.status, call.places, call.eligible_kinds,
                     call.eligibility_rules, call.blind, call.aggregation, call.divergence, call.overall_threshold,
                     sorted(d.code for d in call.s3_domains),
                     None if moving else (call.opens_at, call.closes_at, call.published_at, call.decided_at,
                                          call.evaluation_deadline),
                     [(c.position, c.name, c.description, c.weight, c.max_score, c.threshold) for c in call.criteria],
                     [(q.page, q.position, q.kind, q.label, q.required, q.max_length, q.choices, q.baseline_key)
                      for q in call.questions]))
        for a in sorted(call.applications, key=lambda a: a.organisation.vat_number):
            rows.append((
                call.title, a.organisation.vat_number, a.created_by.email, a.status,
                a.receipt_number and a.receipt_number.rsplit("-", 1)[0],  # the rest is the row id
                a.current_page, a.comparison_consent, a.relocation_commitment, a.deminimis_declared,
                a.product_on_market, a.paying_clients, a.eligibility_results, a.eligibility_flagged,
                a.eligibility, a.eligibility_reason, a.eligibility_decided_at, a.weighted_total, a.rank, a.outcome,
                a.reserve_position, a.decided_at, a.place_status, a.place_answered_at,
                None if moving else (a.created_at, a.updated_at, a.submitted_at),
                sorted((ans.question.label, repr(ans.value)) for ans in a.answers),
                sorted((s.evaluator.email, s.status, s.assigned_at, s.declared_at, s.submitted_at, s.conflict_reason,
                        [(sc.criterion.name, sc.value, sc.comment) for sc in sorted(s.scores, key=lambda x: x.criterion.position)])
                       for s in a.assignments),
            ))
    # Row ids differ between loads on PostgreSQL (sequences are not reset): order by content.
    rows.append(sorted(repr((db.session.get(Application, c.application_id).organisation.vat_number,
                             c.criterion.name, c.value, c.justification, c.decided_at))
                       for c in db.session.scalars(select(Consensus))))
    rows.append(sorted(repr((o.organisation.vat_number, o.kind, o.status, o.created_at, o.note))
                       for o in db.session.scalars(select(Obligation))))
    audit = Counter()
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.action.not_like("organisation%"))):
        moving = (entry.object_type, entry.object_id) in relative
        detail = sorted((k, v) for k, v in entry.detail.items() if not k.endswith("_id") and k != "receipt_number")
        # "criterion:<id>" names a row id, which differs between loads on PostgreSQL.
        audit[(entry.action, entry.object_type, re.sub(r"criterion:\d+", "criterion", repr(detail)),
               None if moving else entry.created_at)] += 1
    rows.append(sorted(audit.items(), key=repr))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_two_loads_write_the_same_calls(app):
    prints = []
    for _ in range(2):
        with app.app_context():
            demo.load(reset=True)
            db.session.remove()
        with app.app_context():
            prints.append(fingerprint())
            db.session.remove()
    assert prints[0] == prints[1]
