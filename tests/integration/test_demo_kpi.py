"""The demo's monitoring (stage 5), loaded by `flask demo`: earlier editions with decided calls,
completed cohorts and closed events; companies followed in both groups of both programmes with
the baseline of their application; surveys due at 12, 24 and 36 months, partly answered, with
figures the survey rules accept; a target for every measure in every edition; no e-mail and no
audit entry; monitoring figures, charts' series, the comparison-group estimate and the Word
report with real content; the same rows on every load.

The demo is loaded once for the whole module (it is slow and these tests only read it); the
tables are emptied after the module's last test instead of after each one.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import select

from opsapp import demo
from opsapp.accounts.models import User
from opsapp.calls.models import Application, Call, Edition, Eligibility, Outcome
from opsapp.cohorts.models import Cohort, InvestorIntroduction
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events.models import (
    ContractStatus,
    Event,
    EventPhase,
    Meeting,
    MeetingStatus,
    SupplyContract,
)
from opsapp.extensions import db
from opsapp.kpi import catalogue, validation
from opsapp.kpi.models import WAVES, FollowUp, IndicatorTarget, Survey
from tests.factories import login

DOMAIN = "demo.opsapp.eu"
PROGRAMMES = {"accelerator": (2022, 2023, 2024), "meet_the_buyer": (2023, 2024, 2025)}


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


def today() -> date:
    return to_local(utcnow(), "Europe/Rome").date()


def follow_ups(programme: str | None = None) -> list[FollowUp]:
    rows = list(db.session.scalars(select(FollowUp)))
    return [f for f in rows if programme is None or f.edition.programme.kind == programme]


def surveys(programme: str | None = None) -> list[Survey]:
    return [s for f in follow_ups(programme) for s in f.surveys]


def meetings_of(event: Event) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.event_id == event.id)))


def edition(programme: str, year: int) -> Edition:
    return next(e for e in db.session.scalars(select(Edition)) if e.programme.kind == programme and e.year == year)


def test_the_summary_describes_the_monitoring(demo_db):
    line = next(line for line in demo_db.splitlines() if line.startswith("Monitoring:"))
    assert "Business Accelerator 2022-2024" in line and "Meet the Buyer 2023-2025" in line
    assert "follow-ups of" in line and "comparison group" in line and "answered" in line
    assert "targets" in line


def test_earlier_editions_have_decided_calls_cohorts_and_events(demo_db):
    for programme, years in PROGRAMMES.items():
        for year in years:
            e = edition(programme, year)
            calls = list(db.session.scalars(select(Call).where(Call.edition_id == e.id)))
            assert len(calls) == 1 and calls[0].status == "decided", (programme, year)
            call = calls[0]
            applications = call.applications
            assert len(applications) >= 20
            for application in applications:
                figures = {a.question.baseline_key: a.value for a in application.answers if a.question.baseline_key}
                assert int(figures["baseline_year"]) == (year - 1 if programme == "accelerator" else year - 2)
            assert any(a.outcome == Outcome.SELECTED for a in applications)
            assert any(a.outcome != Outcome.SELECTED and a.eligibility == Eligibility.ELIGIBLE
                       and a.comparison_consent for a in applications)
            selected = {a.organisation_id for a in applications if a.place_status == "accepted"}
            if programme == "accelerator":
                cohort = db.session.scalar(select(Cohort).where(Cohort.call_id == call.id))
                assert cohort.status == "completed" and cohort.ends_on.year == year
                assert {m.organisation_id for m in cohort.members} == selected
                assert Counter(m.completion for m in cohort.members)["completed"] == len(selected) - 1
                assert all(m.completion_decided_at for m in cohort.members)
                invested = db.session.scalars(select(InvestorIntroduction).where(
                    InvestorIntroduction.member_id.in_([m.id for m in cohort.members]),
                    InvestorIntroduction.outcome == "investment")).all()
                assert invested and all(i.amount for i in invested)
            else:
                event = db.session.scalar(select(Event).where(Event.call_id == call.id))
                assert event.phase == EventPhase.CLOSED and date.fromisoformat(event.days[-1]).year == year
                smes = {p.organisation_id for p in event.participants if p.side == "sme"}
                assert smes == selected
                buyers = [p for p in event.participants if p.side == "buyer"]
                outside = [b for b in buyers if b.outside_region]
                met = {m.buyer_id for m in meetings_of(event) if m.status == MeetingStatus.HELD}
                assert outside and 0 < len(met & {b.id for b in outside}) < len(outside)
                contracts = db.session.scalars(select(SupplyContract).where(SupplyContract.event_id == event.id)).all()
                assert contracts and all(c.status == ContractStatus.CONFIRMED and c.meeting.status == MeetingStatus.HELD
                                         for c in contracts)


def test_companies_are_followed_in_both_groups_of_both_programmes(demo_db):
    for programme in PROGRAMMES:
        rows = follow_ups(programme)
        groups = Counter(f.group for f in rows)
        assert groups["participant"] >= 20 and groups["comparison"] >= 10, programme
        assert {f.source for f in rows if f.group == "participant"} == {
            "cohort" if programme == "accelerator" else "event"}
        for f in rows:
            # The baseline is the application's, and the programme ended before today.
            assert f.baseline_source == "application" and f.application_id, f.id
            assert f.baseline_year is not None and f.baseline_turnover is not None
            assert f.ended_on < today()
            if f.group == "comparison":
                application = db.session.get(Application, f.application_id)
                assert application.eligibility == Eligibility.ELIGIBLE and application.comparison_consent
                assert application.outcome in (Outcome.REJECTED, Outcome.RESERVE)
    # The recent editions are followed too, their first surveys still to come.
    assert any(f.edition.year == 2025 for f in follow_ups("accelerator"))
    assert any(f.edition.year == 2026 for f in follow_ups("meet_the_buyer"))


def test_surveys_of_every_wave_are_partly_answered(demo_db):
    for programme in PROGRAMMES:
        rows = surveys(programme)
        assert {s.wave for s in rows} == set(WAVES), programme
        for wave in WAVES:
            statuses = {s.status for s in rows if s.wave == wave}
            assert "answered" in statuses, (programme, wave)
        assert {s.status for s in rows} == {"open", "answered"}
        for group, (low, high) in (("participant", (0.7, 0.9)), ("comparison", (0.5, 0.7))):
            mine = [s for s in rows if s.follow_up.group == group]
            rate = sum(s.status == "answered" for s in mine) / len(mine)
            assert low <= rate <= high, (programme, group, rate)
    every = surveys()
    assert any(s.entered_by_staff for s in every) and any(s.confirmed_jumps for s in every)
    assert sum(bool(s.confirmed_jumps) for s in every) <= 4


def test_answers_follow_the_survey_rules(demo_db):
    now, day = utcnow(), today()
    by_follow_up = defaultdict(list)
    for s in surveys():
        by_follow_up[s.follow_up_id].append(s)
        assert s.due_on <= day and s.fiscal_year == s.due_on.year - 1
        assert s.invited_at is not None and 0 <= s.reminders_sent <= 6
    staff = db.session.scalar(select(User).where(User.email == f"staff@{DOMAIN}"))
    for rows in by_follow_up.values():
        follow_up = rows[0].follow_up
        previous = {k: getattr(follow_up, f"baseline_{v}") for k, v in validation.BASELINE_OF.items()}
        owners = {m.user_id for m in follow_up.organisation.memberships}
        for s in sorted(rows, key=lambda s: s.wave):
            if s.status == "open":
                assert s.answered_at is None and s.sales is None
                continue
            assert s.invited_at < s.answered_at < now
            # By one of the company's people, or entered by staff on its behalf.
            assert s.answered_by_id == staff.id if s.entered_by_staff else s.answered_by_id in owners
            raw = {k: getattr(s, k) for k in (*validation.FIGURES, "funding_source", "comment")}
            checked = validation.check_answers(raw, previous)
            assert checked.ok, (s.id, checked.errors)
            assert sorted(j.field for j in checked.jumps) == sorted(s.confirmed_jumps)
            previous = {k: getattr(s, k) for k in validation.JUMP_FIELDS}


def test_participants_grow_faster_than_the_comparison_group(demo_db):
    for programme in PROGRAMMES:
        growth = {}
        for group in ("participant", "comparison"):
            answered = [s for s in surveys(programme) if s.follow_up.group == group and s.status == "answered"]
            # The summed sales against the summed baselines, as the indicators compare them.
            growth[group] = (sum(s.sales for s in answered)
                             / sum(s.follow_up.baseline_turnover for s in answered) - 1)
        assert growth["participant"] > growth["comparison"] > 0, (programme, growth)


def test_a_target_for_every_measure_in_every_edition(demo_db):
    for programme in PROGRAMMES:
        measures = {m.key for m in catalogue.measures_of(programme) + catalogue.measures_of(programme, erdf=True)}
        editions = [e for e in db.session.scalars(select(Edition)) if e.programme.kind == programme]
        assert {e.year for e in editions} >= set(PROGRAMMES[programme]) | {2025, 2026, 2027}
        for e in editions:
            targets = {t.measure: t.target for t in db.session.scalars(
                select(IndicatorTarget).where(IndicatorTarget.edition_id == e.id))}
            assert set(targets) == measures, (programme, e.year)
            assert all(t >= 0 for t in targets.values())


def test_no_email_and_no_audit_entry_for_the_monitoring(app, demo_db):
    outbox = Path(app.config["MAIL_OUTBOX"])
    assert not outbox.exists() or not any(outbox.iterdir())
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("kpi.%"))).first()
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.object_type.in_(
        ["kpi_follow_ups", "kpi_surveys", "kpi_targets"]))).first()


def test_the_monitoring_has_real_content(demo_db):
    from opsapp.kpi import monitoring
    from opsapp.kpi.results import Scope

    for programme, years in PROGRAMMES.items():
        result = monitoring.compute(Scope(programme), for_authority=True)
        assert set(years) <= set(result.editions)
        for value in result.headline + result.erdf:
            reason = value.suppressed or (value.definition.survey_based and not (value.expected and value.companies))
            assert value.value is not None or reason, value.measure
            # Across editions a figure from surveys has no target (it pools the editions whose wave is due).
            assert (value.target is None) == value.definition.survey_based, value.measure
        assert all(v.value is not None for v in result.headline), [v.measure for v in result.headline if v.value is None]
        growth = "ACC-2.sales" if programme == "accelerator" else "MTB-5.turnover"
        assert [(v.wave, v.value is not None) for v in result.series[growth]] == [(w, True) for w in WAVES]
        for key, series in result.series.items():
            assert [v.wave for v in series] == list(WAVES), key
        for wave in WAVES:
            impact = next(i for i in result.impact if i.metric == "sales" and i.wave == wave)
            assert impact.participants_change is not None and impact.comparison_change is not None, (programme, wave)
            assert impact.participants >= catalogue.MIN_GROUP and impact.comparison >= catalogue.MIN_GROUP
            for group in ("participant", "comparison"):
                response = next(r for r in result.response if r.wave == wave and r.group == group)
                assert 0 < response.answered < response.due
        by_edition = {b.key: b for b in result.by_edition}
        assert all(str(y) in by_edition and not by_edition[str(y)].suppressed for y in years)
        assert any(not b.suppressed for b in result.by_s3) and any(not b.suppressed for b in result.by_size)


def test_the_dashboard_and_the_report_read_it(app, loaded):
    import docx

    from opsapp.kpi import monitoring, reports
    from opsapp.kpi.results import Scope

    client = app.test_client()
    login(client, f"authority@{DOMAIN}", demo.PASSWORD)
    for programme in PROGRAMMES:
        page = client.get("/kpi/", query_string={"programme": programme})
        assert page.status_code == 200
    with app.app_context(), app.test_request_context():
        document = docx.Document(io.BytesIO(reports.write_report(
            monitoring.compute(Scope("accelerator"), for_authority=True), locale="en")))
        text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
            cell.text for table in document.tables for row in table.rows for cell in row.cells)
        assert "ACC-2" in text and "RCR19" in text
        assert document.inline_shapes  # the charts
        db.session.rollback()


def fingerprint() -> str:
    """The monitoring's rows and the earlier editions' calls, cohorts and events, without row ids."""
    rows: list = []
    for f in sorted(follow_ups(), key=lambda f: (f.edition.programme.kind, f.edition.year,
                                                 f.organisation.vat_number)):
        rows.append((f.edition.programme.kind, f.edition.year, f.organisation.vat_number, f.group, f.source,
                     f.started_on, f.ended_on, f.baseline_year, f.baseline_turnover, f.baseline_export_turnover,
                     f.baseline_employees_fte, f.baseline_high_skill_fte, f.baseline_investment_raised))
        for s in f.surveys:
            rows.append((s.wave, s.due_on, s.fiscal_year, s.status, s.invited_at, s.reminders_sent,
                         s.last_reminded_at, s.answered_at, s.entered_by_staff, s.confirmed_jumps, s.comment,
                         *(getattr(s, k) for k in (*validation.FIGURES, "funding_source"))))
    rows.append(sorted(repr((t.edition.programme.kind, t.edition.year, t.measure, t.target, t.set_at))
                       for t in db.session.scalars(select(IndicatorTarget))))
    for call in db.session.scalars(select(Call).order_by(Call.title)):
        if call.edition.year < 2025 or call.title.startswith("Meet the Buyer 2025"):
            rows.append((call.title, call.decided_at, sorted(
                (a.organisation.vat_number, a.outcome, a.rank, a.weighted_total, a.comparison_consent)
                for a in call.applications)))
    for event in db.session.scalars(select(Event).order_by(Event.name)):
        rows.append((event.name, event.days, sorted((m.sme.organisation.vat_number, m.buyer.organisation.vat_number,
                                                     m.slot.starts_at, m.table_number, m.status)
                                                    for m in meetings_of(event))))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_two_loads_write_the_same_monitoring(app, loaded):
    """Run last: it loads the demo again, which writes the same rows for the tests above."""
    with app.app_context():
        first = fingerprint()
        db.session.remove()
    with app.app_context():
        demo.load(reset=True)
        db.session.remove()
    with app.app_context():
        assert fingerprint() == first
        db.session.remove()
