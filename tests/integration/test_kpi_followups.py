"""Follow-ups after the programmes, against the real database: who is enrolled (cohort members,
SMEs that took part in an event, the comparison group of eligible applicants not selected who
agreed to it), the baseline copied from the application and corrected by staff with a reason
(audited), the survey waves opened once each (also when the job runs twice), invitations sent
once, reminders every 14 days and at most 6, and the answers: by the company once, never by
another company, by staff on its behalf (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from opsapp.accounts.models import User
from opsapp.calls.models import (
    Answer,
    BaselineKey,
    CallStatus,
    Eligibility,
    Outcome,
    PlaceStatus,
    ProgrammeKind,
    Question,
    QuestionKind,
)
from opsapp.cohorts.models import CohortStatus
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events.models import EventPhase, MeetingStatus, Side
from opsapp.extensions import db
from opsapp.kpi import followups
from opsapp.kpi.models import BaselineSource, FollowUp, Survey, SurveyStatus
from tests.factories import make_organisation, make_user
from tests.factories_calls import make_application, make_call, make_edition
from tests.factories_cohorts import make_cohort, make_member
from tests.factories_events import make_event, make_meeting, make_participant, make_request

COHORT_ENDED_DAYS_AGO = 400
EVENT_DAY_DAYS_AGO = 380


@dataclass
class World:
    organisations: dict[str, int]  # name -> organisation id
    cohort_id: int
    event_id: int


def today():
    return to_local(utcnow()).date()


def _set_baseline(application, **figures) -> None:
    """Answer the application's baseline questions with these values (None: no answer)."""
    for question in application.call.questions:
        if not question.baseline_key:
            continue
        answer = db.session.scalar(select(Answer).where(Answer.application_id == application.id,
                                                        Answer.question_id == question.id))
        value = figures.get(question.baseline_key)
        if value is None:
            if answer is not None:
                db.session.delete(answer)
        elif answer is None:
            db.session.add(Answer(application_id=application.id, question_id=question.id, value=value))
        else:
            answer.value = value
    db.session.flush()


def _company(name: str, kind: str = "startup"):
    owner = make_user(f"{name.lower()}@example.eu", roles=[Role.APPLICANT], full_name=f"{name} Owner")
    return make_organisation(owner=owner, legal_name=f"{name} S.r.l.", kind=kind)


def _decided(call, organisation, outcome: Outcome, *, eligible: bool = True, consent: bool = True,
             place: PlaceStatus | None = None, **baseline):
    application = make_application(call, organisation, comparison_consent=consent)
    application.eligibility = (Eligibility.ELIGIBLE if eligible else Eligibility.INELIGIBLE).value
    application.outcome = outcome.value
    application.place_status = place.value if place else None
    if baseline:
        _set_baseline(application, **baseline)
    db.session.flush()
    return application


def build_world(app) -> World:
    """An Accelerator 2025 cohort formed from a decided call, ended 400 days ago; a Meet the Buyer
    2025 event held 380 days ago with the SMEs of a decided call; their applicants."""
    with app.app_context():
        now = utcnow()
        day = today()
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        orgs = {name: _company(name) for name in ("Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta",
                                                    "Iota", "Kappa", "Lambda", "Nu", "Omicron")}
        # The Accelerator: a decided call with the baseline questions, and its cohort.
        edition = make_edition(2025, ProgrammeKind.ACCELERATOR)
        call = make_call(CallStatus.DECIDED, edition=edition, opens_in=timedelta(days=-700),
                         closes_in=timedelta(days=-650))
        for position, (key, kind) in enumerate(((BaselineKey.YEAR, QuestionKind.NUMBER),
                                                (BaselineKey.EXPORT_TURNOVER, QuestionKind.MONEY),
                                                (BaselineKey.HIGH_SKILL_FTE, QuestionKind.NUMBER),
                                                (BaselineKey.INVESTMENT_RAISED, QuestionKind.MONEY)), start=10):
            db.session.add(Question(call_id=call.id, page=2, position=position, kind=kind.value, label=str(key),
                                    required=False, baseline_key=key.value))
        db.session.flush()
        db.session.refresh(call)
        alfa = _decided(call, orgs["Alfa"], Outcome.SELECTED, place=PlaceStatus.ACCEPTED, baseline_year="2024",
                        turnover="400000.00", export_turnover="50000.00", employees_fte="5.5", high_skill_fte="2",
                        investment_raised="0.00")
        _decided(call, orgs["Gamma"], Outcome.REJECTED, turnover="700000.00", employees_fte="9")
        _decided(call, orgs["Delta"], Outcome.RESERVE)
        _decided(call, orgs["Epsilon"], Outcome.REJECTED, consent=False)
        _decided(call, orgs["Zeta"], Outcome.REJECTED, eligible=False)
        _decided(call, orgs["Eta"], Outcome.SELECTED, place=PlaceStatus.DECLINED)
        cohort = make_cohort(CohortStatus.COMPLETED, edition_id=edition.id, call_id=call.id,
                             name="Business Accelerator 2025 cohort",
                             starts_on=day - timedelta(days=COHORT_ENDED_DAYS_AGO + 150),
                             ends_on=day - timedelta(days=COHORT_ENDED_DAYS_AGO))
        make_member(cohort, organisation=orgs["Alfa"], application_id=alfa.id)
        make_member(cohort, organisation=orgs["Beta"])  # joined without an application: no baseline
        # A cohort still running: nobody followed yet.
        running = make_cohort(CohortStatus.RUNNING, edition_id=make_edition(2027, ProgrammeKind.ACCELERATOR).id)
        make_member(running, organisation=orgs["Omicron"])

        # Meet the Buyer: a decided call, its event held 380 days ago.
        mtb = make_edition(2025, ProgrammeKind.MEET_THE_BUYER)
        mtb_call = make_call(CallStatus.DECIDED, edition=mtb, opens_in=timedelta(days=-500),
                             closes_in=timedelta(days=-450), title="Meet the Buyer 2025 call")
        _decided(mtb_call, orgs["Nu"], Outcome.REJECTED, turnover="300000.00", employees_fte="4")
        event = make_event(days=1, phase=EventPhase.CLOSED, first_day=day - timedelta(days=EVENT_DAY_DAYS_AGO),
                           edition_id=mtb.id, call_id=mtb_call.id, name="Meet the Buyer Torino 2025",
                           registration_deadline=now - timedelta(days=400),
                           booking_opens_at=now - timedelta(days=420), request_deadline=now - timedelta(days=390))
        iota = make_participant(event, Side.SME, user=db.session.scalar(select(User).filter_by(email="iota@example.eu")),
                                organisation=orgs["Iota"], checked_in_at=now - timedelta(days=EVENT_DAY_DAYS_AGO))
        kappa = make_participant(event, Side.SME, user=db.session.scalar(select(User).filter_by(
            email="kappa@example.eu")), organisation=orgs["Kappa"])
        lambda_ = make_participant(event, Side.SME, user=db.session.scalar(select(User).filter_by(
            email="lambda@example.eu")), organisation=orgs["Lambda"])
        buyer = make_participant(event, Side.BUYER, checked_in_at=now - timedelta(days=EVENT_DAY_DAYS_AGO))
        slots = event.slots
        make_meeting(make_request(kappa, buyer), slots[0], status=MeetingStatus.HELD)
        make_meeting(make_request(lambda_, buyer), slots[1], status=MeetingStatus.CANCELLED)
        make_meeting(make_request(iota, buyer), slots[2], table=2, status=MeetingStatus.HELD)
        db.session.commit()
        return World({name: org.id for name, org in orgs.items()}, cohort.id, event.id)


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def followed(app) -> dict[str, FollowUp]:
    with app.app_context():
        rows = db.session.scalars(select(FollowUp).options(db.joinedload(FollowUp.organisation)))
        found = {f.organisation.legal_name.split()[0]: f for f in rows}
        db.session.expunge_all()
        return found


def run_enrol(app, on=None) -> int:
    with app.app_context():
        created = followups.enrol(on or today())
        db.session.commit()
        return created


def run_surveys(app, on=None) -> int:
    with app.app_context():
        created = len(followups.create_due_surveys(on or today()))
        db.session.commit()
        return created


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- enrolment -----------------------------------------------------------------------------------


def test_cohort_members_event_smes_and_the_comparison_group_are_enrolled(app, world):
    assert run_enrol(app) == 7
    rows = followed(app)
    assert sorted(rows) == ["Alfa", "Beta", "Delta", "Gamma", "Iota", "Kappa", "Nu"]
    # Not: consent refused (Epsilon), ineligible (Zeta), selected but declined (Eta), only a cancelled
    # meeting (Lambda), a cohort still running (Omicron).
    with app.app_context():
        day = today()
        alfa, iota, gamma, nu = rows["Alfa"], rows["Iota"], rows["Gamma"], rows["Nu"]
        assert (alfa.group, alfa.source) == ("participant", "cohort")
        assert alfa.ended_on == day - timedelta(days=COHORT_ENDED_DAYS_AGO)
        assert alfa.started_on == day - timedelta(days=COHORT_ENDED_DAYS_AGO + 150)
        assert alfa.application_id is not None
        assert (iota.group, iota.source) == ("participant", "event")
        assert iota.started_on == iota.ended_on == day - timedelta(days=EVENT_DAY_DAYS_AGO)
        assert rows["Kappa"].source == "event"  # no check-in, but a meeting held
        assert (gamma.group, gamma.source, gamma.source_id) == ("comparison", "comparison", gamma.application_id)
        assert gamma.ended_on == alfa.ended_on and gamma.edition_id == alfa.edition_id
        assert rows["Delta"].group == "comparison"  # left on the reserve list
        assert (nu.group, nu.ended_on, nu.edition_id) == ("comparison", iota.ended_on, iota.edition_id)


def test_enrolment_is_idempotent_and_unique(app, world):
    assert run_enrol(app) == 7
    assert run_enrol(app) == 0
    assert count(app, FollowUp) == 7
    assert count(app, AuditEntry, AuditEntry.action == "kpi.follow_up_created") == 7
    with app.app_context():
        alfa = db.session.scalar(select(FollowUp).where(FollowUp.organisation_id == world.organisations["Alfa"]))
        db.session.add(FollowUp(organisation_id=alfa.organisation_id, edition_id=alfa.edition_id, group="comparison",
                                source="comparison", ended_on=alfa.ended_on))
        with pytest.raises(Exception):  # noqa: B017 - the database refuses a second one, whatever the driver says
            db.session.flush()
        db.session.rollback()


def test_nobody_is_enrolled_before_the_programme_ends(app, world):
    before = today() - timedelta(days=COHORT_ENDED_DAYS_AGO + 1)
    with app.app_context():
        from opsapp.cohorts.models import Cohort

        db.session.get(Cohort, world.cohort_id).status = CohortStatus.RUNNING.value
        db.session.commit()
    assert run_enrol(app, before) == 0
    # The day after the cohort's end, its members and the comparison group of its call; the event
    # is still to come then.
    assert run_enrol(app, before + timedelta(days=2)) == 4
    assert sorted(followed(app)) == ["Alfa", "Beta", "Delta", "Gamma"]


def test_a_selected_company_is_never_in_the_comparison_group(app, world):
    run_enrol(app)
    with app.app_context():
        groups = dict(db.session.execute(select(FollowUp.organisation_id, FollowUp.group)).all())
    assert groups[world.organisations["Alfa"]] == "participant"
    assert world.organisations["Eta"] not in groups


def test_the_baseline_is_copied_from_the_application(app, world):
    run_enrol(app)
    rows = followed(app)
    alfa = rows["Alfa"]
    assert alfa.baseline_source == BaselineSource.APPLICATION.value
    assert (alfa.baseline_year, alfa.baseline_turnover, alfa.baseline_export_turnover) == (
        2024, Decimal("400000.00"), Decimal("50000.00"))
    assert (alfa.baseline_employees_fte, alfa.baseline_high_skill_fte, alfa.baseline_investment_raised) == (
        Decimal("5.50"), Decimal("2.00"), Decimal("0.00"))
    gamma = rows["Gamma"]  # the comparison group too, from its own application
    assert (gamma.baseline_turnover, gamma.baseline_employees_fte) == (Decimal("700000.00"), Decimal("9.00"))
    assert gamma.baseline_year is None
    for name in ("Beta", "Iota"):  # no application: nothing to copy
        assert rows[name].baseline_source == BaselineSource.MISSING.value and rows[name].baseline_turnover is None


# --- baseline corrections ------------------------------------------------------------------------


def test_a_baseline_correction_needs_staff_and_a_reason_and_is_audited(app, world):
    run_enrol(app)
    with app.app_context():
        staff = db.session.scalar(select(User).filter_by(email="staff@example.eu"))
        alfa_owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.organisation_id == world.organisations["Alfa"]))
        figures = {"baseline_year": "2024", "turnover": "420000", "export_turnover": "50000", "employees_fte": "5.5",
                   "high_skill_fte": "2", "investment_raised": "0"}
        with pytest.raises(NotFound):
            followups.correct_baseline(alfa_owner, follow_up, figures, "Our accountant found a mistake")
        with pytest.raises(followups.FollowUpError) as refused:
            followups.correct_baseline(staff, follow_up, figures, "   ")
        assert refused.value.field == "reason" and "reason" in str(refused.value.message)
        with pytest.raises(followups.AnswerProblems) as wrong:
            followups.correct_baseline(staff, follow_up, {**figures, "high_skill_fte": "9"}, "Filed accounts")
        assert set(wrong.value.errors) == {"high_skill_fte"}
        db.session.rollback()
        followups.correct_baseline(staff, follow_up, figures, "Filed annual accounts 2024")
        db.session.commit()
        follow_up = db.session.get(FollowUp, follow_up.id)
        assert follow_up.baseline_turnover == Decimal("420000.00")
        assert follow_up.baseline_source == BaselineSource.STAFF.value
        assert follow_up.baseline_corrected_by_id == staff.id and follow_up.baseline_corrected_at is not None
        assert follow_up.baseline_correction_reason == "Filed annual accounts 2024"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "kpi.baseline_corrected"))
        assert entry.actor_id == staff.id and entry.object_id == str(follow_up.id)
        assert entry.detail["before"]["turnover"] == "400000.00" and entry.detail["after"]["turnover"] == "420000.00"
        assert entry.detail["reason"] == "Filed annual accounts 2024"


# --- survey waves, the job, invitations, reminders -----------------------------------------------


def test_the_job_run_twice_opens_each_survey_once_and_invites_once(app, world, outbox):
    from opsapp import jobs

    with app.app_context():
        now = utcnow().replace(hour=10, minute=0)  # mid-morning: the second run stays in the same day
        first = jobs.run_job("kpi_follow_up_surveys", now)
        second = jobs.run_job("kpi_follow_up_surveys", now + timedelta(minutes=5))
    assert first.endswith("7 follow-ups enrolled, 7 surveys opened, 7 surveys invited, 0 reminders")
    assert second.endswith("already done")
    # The work itself is safe to repeat too (run by hand, or by the demo).
    with app.app_context():
        again = jobs.JOBS["kpi_follow_up_surveys"].func(now)
        db.session.commit()
    assert again == "0 follow-ups enrolled, 0 surveys opened, 0 surveys invited, 0 reminders"
    assert count(app, Survey) == 7 and count(app, Survey, Survey.wave == 12) == 7
    mails = outbox()
    assert len(mails) == 7
    assert sorted(m["To"] for m in mails) == sorted(f"{n.lower()}@example.eu" for n in (
        "Alfa", "Beta", "Gamma", "Delta", "Iota", "Kappa", "Nu"))
    alfa = next(m for m in mails if m["To"] == "alfa@example.eu")
    body = alfa.get_body(("plain",)).get_content()
    assert "Follow-up survey" in alfa["Subject"] and "Alfa S.r.l." in alfa["Subject"]
    with app.app_context():
        survey = db.session.scalar(select(Survey).join(FollowUp).where(
            FollowUp.organisation_id == world.organisations["Alfa"]))
        assert f"/kpi/surveys/{survey.id}" in body
        assert survey.invited_at is not None
        assert survey.fiscal_year == survey.due_on.year - 1
        assert survey.due_on == followups.add_months(survey.follow_up.ended_on, 12)


def test_a_company_enrolled_late_gets_every_wave_already_due(app, world):
    run_enrol(app)
    with app.app_context():
        alfa = db.session.scalar(select(FollowUp).where(FollowUp.organisation_id == world.organisations["Alfa"]))
        alfa.ended_on = alfa.ended_on - timedelta(days=3 * 366)
        db.session.commit()
    assert run_surveys(app) == 9  # Alfa's three waves, one for each of the six others
    assert run_surveys(app) == 0
    with app.app_context():
        alfa = db.session.scalar(select(FollowUp).where(FollowUp.organisation_id == world.organisations["Alfa"]))
        assert [(s.wave, s.fiscal_year) for s in alfa.surveys] == [
            (w, followups.add_months(alfa.ended_on, w).year - 1) for w in (12, 24, 36)]


def test_reminders_every_14_days_and_at_most_six(app, world, outbox):
    run_enrol(app)
    with app.app_context():
        # Only Alfa's survey, to count its e-mails.
        followups.create_due_surveys(today())
        for survey in db.session.scalars(select(Survey)):
            if survey.follow_up.organisation_id != world.organisations["Alfa"]:
                db.session.delete(survey)
        db.session.commit()
        start = utcnow()
        assert followups.invite_pending(start) == 1
        db.session.commit()

        def remind(days: int) -> int:
            sent = followups.remind_due(start + timedelta(days=days))
            db.session.commit()
            return sent

        assert remind(0) == 0 and remind(13) == 0
        assert remind(14) == 1 and remind(14) == 0 and remind(27) == 0
        for n in range(2, 7):
            assert remind(14 * n) == 1
        assert remind(14 * 7) == 0 and remind(14 * 20) == 0  # six reminders at most
        survey = db.session.scalar(select(Survey))
        assert survey.reminders_sent == 6 and survey.last_reminded_at == start + timedelta(days=84)
    assert len(outbox()) == 7  # the invitation and six reminders
    assert "Reminder" in outbox()[-1]["Subject"]
    assert count(app, AuditEntry, AuditEntry.action == "kpi.survey_reminded") == 6


def test_an_answered_survey_is_not_reminded(app, world):
    run_enrol(app)
    run_surveys(app)
    with app.app_context():
        start = utcnow()
        followups.invite_pending(start)
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        survey = db.session.scalar(select(Survey).join(FollowUp).where(
            FollowUp.organisation_id == world.organisations["Alfa"]))
        followups.answer(owner, survey, GOOD, confirm_jumps=True)
        db.session.commit()
        assert followups.remind_due(start + timedelta(days=14)) == 6  # the six others


# --- answers -------------------------------------------------------------------------------------

GOOD = {"sales": "600000", "export_sales": "80000", "employees_fte": "7", "high_skill_fte": "3",
        "funding_raised": "150000", "funding_source": "private", "new_markets": "1", "corporate_partnerships": "1",
        "contracts_signed": "0", "contracts_value": "0", "comment": ""}


def _alfa_survey(app, world):
    run_enrol(app)
    run_surveys(app)
    with app.app_context():
        return db.session.scalar(select(Survey.id).join(FollowUp).where(
            FollowUp.organisation_id == world.organisations["Alfa"]))


def test_a_company_answers_its_survey_once(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        survey = db.session.get(Survey, survey_id)
        outcome = followups.answer(owner, survey, GOOD)
        db.session.commit()
        assert outcome.saved and outcome.jumps == []
        survey = db.session.get(Survey, survey_id)
        assert survey.status == SurveyStatus.ANSWERED.value and survey.answered_by_id == owner.id
        assert survey.sales == Decimal("600000.00") and survey.funding_source == "private"
        assert not survey.entered_by_staff and survey.confirmed_jumps == []
        with pytest.raises(followups.FollowUpError):
            followups.answer(owner, survey, {**GOOD, "sales": "650000"})
        db.session.rollback()
        assert db.session.get(Survey, survey_id).sales == Decimal("600000.00")
        db.session.rollback()
    assert count(app, AuditEntry, AuditEntry.action == "kpi.survey_answered") == 1


def test_another_company_cannot_answer_or_read(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        stranger = db.session.scalar(select(User).filter_by(email="beta@example.eu"))
        survey = db.session.get(Survey, survey_id)
        with pytest.raises(NotFound):
            followups.answer(stranger, survey, GOOD)
        with pytest.raises(NotFound):
            followups.answer(stranger, survey, GOOD, on_behalf=True)
        with pytest.raises(NotFound):
            followups.survey_for(stranger, survey_id)
        db.session.rollback()
        assert db.session.get(Survey, survey_id).status == SurveyStatus.OPEN.value


def test_a_big_change_is_saved_only_once_confirmed(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        survey = db.session.get(Survey, survey_id)
        big = {**GOOD, "sales": "4000000"}  # ten times the baseline turnover of EUR 400,000
        outcome = followups.answer(owner, survey, big)
        assert not outcome.saved and [j.field for j in outcome.jumps] == ["sales"]
        assert outcome.jumps[0].previous == Decimal("400000.00")
        db.session.rollback()
        assert db.session.get(Survey, survey_id).status == SurveyStatus.OPEN.value
        outcome = followups.answer(owner, db.session.get(Survey, survey_id), big, confirm_jumps=True)
        db.session.commit()
        survey = db.session.get(Survey, survey_id)
        assert outcome.saved and survey.confirmed_jumps == ["sales"] and survey.sales == Decimal("4000000.00")


def test_the_next_wave_is_compared_with_the_last_answer(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        first = db.session.get(Survey, survey_id)
        followups.answer(owner, first, {**GOOD, "sales": "4000000"}, confirm_jumps=True)
        second = Survey(follow_up_id=first.follow_up_id, wave=24, due_on=first.due_on, fiscal_year=first.fiscal_year + 1)
        db.session.add(second)
        db.session.flush()
        previous = followups.previous_figures(second)
        assert previous.wave == 12 and previous.values["sales"] == Decimal("4000000.00")
        outcome = followups.answer(owner, second, {**GOOD, "sales": "4500000"})  # near the last answer
        assert outcome.saved and outcome.jumps == []


def test_staff_enter_and_correct_answers_on_behalf(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        staff = db.session.scalar(select(User).filter_by(email="staff@example.eu"))
        survey = db.session.get(Survey, survey_id)
        with pytest.raises(NotFound):
            followups.answer(staff, survey, GOOD)  # staff are not the company's people
        followups.answer(staff, survey, GOOD, on_behalf=True)
        db.session.commit()
        followups.answer(staff, db.session.get(Survey, survey_id), {**GOOD, "sales": "610000"}, on_behalf=True)
        db.session.commit()
        survey = db.session.get(Survey, survey_id)
        assert survey.entered_by_staff and survey.answered_by_id == staff.id and survey.sales == Decimal("610000.00")
        entries = list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "kpi.survey_answered_on_behalf").order_by(AuditEntry.id)))
        assert len(entries) == 2 and all(e.actor_id == staff.id for e in entries)
        assert entries[0].detail["before"] is None
        assert entries[1].detail["before"]["sales"] == "600000.00" and entries[1].detail["after"]["sales"] == "610000.00"


def test_response_rates_per_wave_and_group(app, world):
    survey_id = _alfa_survey(app, world)
    with app.app_context():
        owner = db.session.scalar(select(User).filter_by(email="alfa@example.eu"))
        followups.answer(owner, db.session.get(Survey, survey_id), GOOD)
        db.session.commit()
        rates = followups.response_rates()
        assert [(r.wave, r.group, r.due, r.answered) for r in rates] == [
            (12, "participant", 4, 1), (12, "comparison", 3, 0)]
        assert rates[0].rate == 0.25
        accelerator = followups.response_rates(programme="accelerator", edition=2025)
        assert [(r.group, r.due, r.answered) for r in accelerator] == [("participant", 2, 1), ("comparison", 2, 0)]
        assert followups.response_rates(programme="meet_the_buyer", edition=2031) == []
