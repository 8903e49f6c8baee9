"""The life of a call: opening and closing on time by the scheduler (once, whatever reruns),
deadline reminders to organisations with drafts (once per kind), the steps staff take on
the cockpit (close now, start the evaluation, archive), the cockpit's figures, and the
public pages (open calls for anyone, drafts hidden, the Apply button for applicants).
Real database and job runner, CSRF on, no mocks."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from opsapp import jobs
from opsapp.calls import states
from opsapp.calls.models import (
    ApplicationStatus,
    Call,
    CallReminder,
    CallStatus,
    Consensus,
    Eligibility,
)
from opsapp.core.models import AuditEntry, JobRun, Notification
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_application, make_assignment, make_call

NOW = datetime(2027, 3, 3, 9, 2, tzinfo=UTC)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def post(client, path, data, page=None, **kwargs):
    token = csrf_from(text(client.get(page or path)))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def status_changes(call_id: int) -> list[tuple[str, str, int | None]]:
    rows = db.session.execute(select(AuditEntry.detail, AuditEntry.actor_id).where(
        AuditEntry.object_type == "calls", AuditEntry.object_id == str(call_id),
        AuditEntry.action == "calls.status_changed").order_by(AuditEntry.id)).all()
    return [(d["old"], d["new"], actor) for d, actor in rows]


def scheduled_call(opens_at: datetime, closes_at: datetime, **fields) -> Call:
    """A call published and waiting for its opening time."""
    call = make_call(CallStatus.DRAFT, **fields)
    call.opens_at, call.closes_at, call.published_at = opens_at, closes_at, opens_at - timedelta(days=5)
    db.session.flush()
    return call


@pytest.fixture
def people(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        make_user("admin@example.eu", roles=[Role.ADMIN])
        make_user("evaluator@example.eu", roles=[Role.EVALUATOR])
        make_user("buyer@example.eu", roles=[Role.BUYER])
        applicant = make_user("applicant@example.eu", roles=[Role.APPLICANT])
        make_organisation(owner=applicant, legal_name="Alfa Robotica S.r.l.")
        make_user("lonely@example.eu", roles=[Role.APPLICANT])
        db.session.commit()


# --- opening and closing on time -------------------------------------------------------


def test_the_job_opens_and_closes_on_time_and_each_transition_happens_once(app, ctx, people, outbox):
    draft = make_call(CallStatus.DRAFT, title="Never published")
    draft.opens_at, draft.closes_at = NOW - timedelta(days=1), NOW + timedelta(days=10)
    call = scheduled_call(NOW - timedelta(minutes=1), NOW + timedelta(days=10), title="Accelerator 2027")
    later = scheduled_call(NOW + timedelta(hours=2), NOW + timedelta(days=20), title="Later call")
    db.session.commit()
    call_id, later_id, draft_id = call.id, later.id, draft.id

    assert jobs.run_job("calls_open_and_close", NOW) == "calls_open_and_close 2027-03-03T09:00: 1 opened, 0 closed"
    # The same period again is a no-op of the runner; the next period finds nothing to do.
    assert jobs.run_job("calls_open_and_close", NOW + timedelta(minutes=2)).endswith("already done")
    assert jobs.run_job("calls_open_and_close", NOW + timedelta(minutes=5)).endswith("0 opened, 0 closed")
    db.session.expire_all()
    assert db.session.get(Call, call_id).status == CallStatus.OPEN
    assert db.session.get(Call, later_id).status == CallStatus.DRAFT  # not yet
    assert db.session.get(Call, draft_id).status == CallStatus.DRAFT  # never published: never opens
    assert status_changes(call_id) == [("draft", "open", None)]  # no actor: the scheduler
    opened = [m for m in outbox() if m["Subject"] == "Call open: Accelerator 2027"]
    assert [m["To"] for m in opened] == ["staff@example.eu"]

    closing = NOW + timedelta(days=10, minutes=3)
    assert jobs.run_job("calls_open_and_close", closing).endswith("1 opened, 1 closed")  # the later call opened
    assert jobs.run_job("calls_open_and_close", closing + timedelta(minutes=5)).endswith("0 opened, 0 closed")
    db.session.expire_all()
    assert db.session.get(Call, call_id).status == CallStatus.CLOSED
    assert status_changes(call_id) == [("draft", "open", None), ("open", "closed", None)]
    closed = [m for m in outbox() if m["Subject"] == "Call closed: Accelerator 2027"]
    assert len(closed) == 1 and "0 applications were submitted" in closed[0].get_body(("plain",)).get_content()
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 4


def test_running_the_job_function_twice_changes_nothing_the_second_time(app, ctx, people):
    from opsapp.calls.jobs import calls_open_and_close

    call = scheduled_call(NOW - timedelta(days=20), NOW - timedelta(minutes=1))  # missed both while down
    db.session.commit()
    assert calls_open_and_close(NOW) == "1 opened, 1 closed"
    assert calls_open_and_close(NOW) == "0 opened, 0 closed"
    db.session.commit()
    assert db.session.get(Call, call.id).status == CallStatus.CLOSED
    assert [c[:2] for c in status_changes(call.id)] == [("draft", "open"), ("open", "closed")]


# --- reminders -------------------------------------------------------------------------


@pytest.fixture
def applicants(app, people):
    """A call closing in 6 days; Alfa (two members) has a draft, Beta has submitted, Gamma has not applied."""
    with app.app_context():
        call = make_call(CallStatus.OPEN, title="Accelerator 2027")
        call.opens_at, call.closes_at = NOW - timedelta(days=20), NOW + timedelta(days=6, hours=3)
        alfa_owner = make_user("alfa.owner@example.eu", roles=[Role.APPLICANT])
        alfa_member = make_user("alfa.member@example.eu", roles=[Role.APPLICANT], locale="it")
        beta_owner = make_user("beta.owner@example.eu", roles=[Role.APPLICANT])
        gamma_owner = make_user("gamma.owner@example.eu", roles=[Role.APPLICANT])
        alfa = make_organisation(owner=alfa_owner, members=[alfa_member], legal_name="Alfa S.r.l.")
        beta = make_organisation(owner=beta_owner, legal_name="Beta S.r.l.")
        make_organisation(owner=gamma_owner, legal_name="Gamma S.r.l.")
        draft = make_application(call, alfa, submitted=False)
        make_application(call, beta, submitted=True)
        db.session.commit()
        return {"call": call.id, "draft": draft.id}


def test_reminders_go_once_per_kind_and_only_to_organisations_with_drafts(app, ctx, applicants, outbox):
    first = NOW + timedelta(minutes=5)
    assert jobs.run_job("calls_deadline_reminders", first).endswith("2 reminders")
    assert jobs.run_job("calls_deadline_reminders", first + timedelta(hours=1)).endswith("0 reminders")
    messages = outbox()
    assert sorted(m["To"] for m in messages) == ["alfa.member@example.eu", "alfa.owner@example.eu"]
    owner_mail = next(m for m in messages if m["To"] == "alfa.owner@example.eu")
    assert owner_mail["Subject"] == "Reminder: “Accelerator 2027” closes in 6 days"
    body = owner_mail.get_body(("plain",)).get_content()
    assert "Alfa S.r.l." in body and "Tue 9 March 2027, 13:02 CET" in body
    assert f"/applications/{applicants['draft']}" in body
    assert "Beta" not in " ".join(m.get_body(("plain",)).get_content() for m in messages)

    # A day before the deadline, the second reminder, once.
    last_day = NOW + timedelta(days=5, hours=12)
    assert jobs.run_job("calls_deadline_reminders", last_day).endswith("2 reminders")
    assert jobs.run_job("calls_deadline_reminders", last_day + timedelta(hours=1)).endswith("0 reminders")
    assert len(outbox()) == 4
    reminders = db.session.execute(select(CallReminder.kind, CallReminder.recipients)
                                   .order_by(CallReminder.id)).all()
    assert reminders == [("deadline_7d", 2), ("deadline_1d", 2)]
    notices = db.session.scalar(select(func.count()).select_from(Notification))
    assert notices == 4


def test_a_late_start_sends_only_the_nearest_reminder(app, ctx, applicants, outbox):
    call = db.session.get(Call, applicants["call"])
    call.closes_at = NOW + timedelta(hours=20)
    db.session.commit()
    assert jobs.run_job("calls_deadline_reminders", NOW).endswith("2 reminders")
    # Each in the recipient's language (one of them reads Italian).
    assert {m["Subject"] for m in outbox()} == {"Reminder: “Accelerator 2027” closes in less than a day",
                                                "Promemoria: “Accelerator 2027” chiude tra meno di un giorno"}
    assert db.session.execute(select(CallReminder.kind, CallReminder.recipients).order_by(CallReminder.kind)).all() \
        == [("deadline_1d", 2), ("deadline_7d", 0)]


def test_no_reminder_for_drafts_once_nobody_has_one(app, ctx, applicants, outbox):
    from opsapp.calls.jobs import calls_deadline_reminders
    from opsapp.calls.models import Application

    draft = db.session.get(Application, applicants["draft"])
    draft.live_key = None  # withdrawn: no longer live
    states.transition(draft, ApplicationStatus.WITHDRAWN)
    db.session.commit()
    assert calls_deadline_reminders(NOW) == "0 reminders"
    db.session.commit()
    assert outbox() == []


# --- the steps staff take ---------------------------------------------------------------


def test_staff_close_early_start_the_evaluation_and_archive(app, client, people, outbox):
    with app.app_context():
        call_id = make_call(CallStatus.OPEN, title="Accelerator 2027").id
        db.session.commit()
    login(client, "staff@example.eu")
    cockpit = f"/staff/calls/{call_id}"

    def step(action):
        return post(client, f"{cockpit}/status", {"action": action}, page=cockpit, follow_redirects=True)

    r = step("archive")  # not decided yet
    assert "not possible in the call's current phase (Open)" in text(r)
    assert "no more applications are accepted" in text(step("close"))
    r = step("close")  # twice: refused, nothing changes
    assert "not possible in the call's current phase (Closed)" in text(r)
    assert "Assign the evaluators next" in text(step("start_evaluation"))
    with app.app_context():
        call = db.session.get(Call, call_id)
        assert call.status == CallStatus.IN_EVALUATION
        changes = status_changes(call_id)
        assert [c[:2] for c in changes] == [("open", "closed"), ("closed", "in_evaluation")]
        assert all(actor is not None for *_, actor in changes)
        # The decision is developer S's service; here the state machine stands in for it.
        states.transition(call, CallStatus.DECIDED)
        db.session.commit()
    assert "The call is archived." in text(step("archive"))
    page = text(client.get(cockpit))
    assert "Archived" in page and "before the deadline" in page and "Evaluation started" in page
    assert "Copy into the next edition" in page and "Close now" not in page
    with app.app_context():
        assert db.session.get(Call, call_id).status == CallStatus.ARCHIVED


def test_an_unknown_step_changes_nothing(app, client, people):
    with app.app_context():
        call_id = make_call(CallStatus.OPEN).id
        db.session.commit()
    login(client, "staff@example.eu")
    r = post(client, f"/staff/calls/{call_id}/status", {"action": "reopen"}, page=f"/staff/calls/{call_id}",
             follow_redirects=True)
    assert "This step does not exist." in text(r)
    r = post(client, f"/staff/calls/{call_id}/status", {}, page=f"/staff/calls/{call_id}", follow_redirects=True)
    assert "reload the page" in text(r)
    with app.app_context():
        assert db.session.get(Call, call_id).status == CallStatus.OPEN


def test_the_cockpit_counts_applications_evaluations_and_divergences(app, client, people):
    with app.app_context():
        call = make_call(CallStatus.IN_EVALUATION, evaluators_per_application=2)
        orgs = [make_organisation(legal_name=f"Org {i}") for i in range(5)]
        a = make_application(call, orgs[0], eligibility=Eligibility.ELIGIBLE)
        b = make_application(call, orgs[1], eligibility=Eligibility.INELIGIBLE)
        c = make_application(call, orgs[2])
        make_application(call, orgs[3], submitted=False)
        withdrawn = make_application(call, orgs[4], submitted=False)
        withdrawn.status, withdrawn.live_key = ApplicationStatus.WITHDRAWN.value, None
        e1, e2 = make_user(roles=[Role.EVALUATOR]), make_user(roles=[Role.EVALUATOR])
        make_assignment(a, e1, scores=[4, 4, 4])
        make_assignment(a, e2, scores=[1.5, 4, 4])  # Excellence spread 2.5: divergent
        make_assignment(b, e1, scores=[3, 3, 3])
        make_assignment(b, e2, scores=[5, 3, 3])  # spread 2, moderated below
        make_assignment(c, e1)  # not submitted
        db.session.add(Consensus(application_id=b.id, criterion_id=call.criteria[0].id, value=4,
                                 justification="Agreed in the panel."))
        db.session.commit()
        call_id = call.id
    login(client, "staff@example.eu")
    page = text(client.get(f"/staff/calls/{call_id}"))
    figures = dict((label.strip(), int(n)) for n, label in re.findall(
        r'<div class="stat-figure">(\d+)</div><div>([^<]+)</div>', page))
    assert figures == {"submitted": 3, "drafts": 1, "withdrawn": 1, "with divergent scores": 1}
    assert "1 eligible, 1 ineligible, 1 to confirm" in page
    assert "4 of 6 submitted" in page


def test_the_cockpit_queries_do_not_grow_with_applications(app, client, people):
    from sqlalchemy import event

    with app.app_context():
        call = make_call(CallStatus.CLOSED)
        db.session.commit()
        call_id = call.id

    def queries_for_cockpit():
        seen = []

        def count_query(*args, **kwargs):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count_query)
        try:
            assert client.get(f"/staff/calls/{call_id}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count_query)
        return len(seen)

    login(client, "staff@example.eu")
    with app.app_context():
        call = db.session.get(Call, call_id)
        for i in range(3):
            make_application(call, make_organisation(legal_name=f"Few {i}"))
        db.session.commit()
    few = queries_for_cockpit()
    with app.app_context():
        call = db.session.get(Call, call_id)
        for i in range(30):
            make_application(call, make_organisation(legal_name=f"Many {i}"))
        db.session.commit()
    assert queries_for_cockpit() == few


# --- public pages ----------------------------------------------------------------------


@pytest.fixture
def public_calls(app, people):
    with app.app_context():
        domains = make_s3_domains()
        open_call = make_call(CallStatus.OPEN, title="Accelerator open now", closes_in=timedelta(days=5, minutes=30),
                              eligibility_rules={"organisation_kind": {}, "startup_age": {"max_years": 4},
                                                 "business_readiness": {"min_clients": 2}})
        open_call.s3_domains = [d for d in domains if d.code in ("ict", "energy")]
        draft = make_call(CallStatus.DRAFT, title="Secret draft")
        scheduled = make_call(CallStatus.DRAFT, title="Accelerator opening soon", opens_in=timedelta(days=3))
        scheduled.published_at = scheduled.opens_at - timedelta(days=7)
        closed = make_call(CallStatus.CLOSED, title="Accelerator just closed", opens_in=timedelta(days=-40),
                           closes_in=timedelta(days=-2))
        db.session.commit()
        return {"open": open_call.id, "draft": draft.id, "scheduled": scheduled.id, "closed": closed.id}


def test_the_public_list_shows_open_calls_and_hides_drafts(client, public_calls):
    page = text(client.get("/calls"))
    open_part = page.split("Opening soon")[0]
    assert "1 call open" in open_part and "Accelerator open now" in open_part
    assert "closes in 5 days" in open_part and "ICT" in open_part and "3 places" in open_part
    assert "Accelerator just closed" not in open_part
    assert "Accelerator opening soon" in page and "Recently closed" in page
    assert "Secret draft" not in page


def test_the_public_page_of_a_draft_is_404(client, public_calls):
    assert client.get(f"/calls/{public_calls['draft']}").status_code == 404
    assert client.get("/calls/99999").status_code == 404
    assert client.get(f"/calls/{public_calls['scheduled']}").status_code == 200


def test_the_public_page_states_the_rules_in_plain_words(client, public_calls):
    page = text(client.get(f"/calls/{public_calls['open']}"))
    for words in ("Open to: Start-up, SME.", "Founded at most 4 years before the deadline.",
                  "at least 2 paying clients", "Impact", "1.5", "at least 10 of 15 points",
                  "The first 3 are selected"):
        assert words in page, words
    assert "Sign in to apply" in page and f'href="/login?next=/calls/{public_calls["open"]}"' in page
    assert "/apply" not in page


def test_signed_in_applicants_get_the_apply_button_while_the_call_is_open(client, public_calls):
    login(client, "applicant@example.eu")
    page = text(client.get(f"/calls/{public_calls['open']}"))
    assert f'action="/calls/{public_calls["open"]}/apply"' in page and ">Apply<" in page
    closed = text(client.get(f"/calls/{public_calls['closed']}"))
    assert "/apply" not in closed and "The call is closed" in closed
    assert "The call opens" in text(client.get(f"/calls/{public_calls['scheduled']}"))


def test_an_applicant_without_organisation_is_asked_to_register_one(client, public_calls):
    login(client, "lonely@example.eu")
    page = text(client.get(f"/calls/{public_calls['open']}"))
    assert "Register your organisation" in page and "/apply" not in page


def test_buyers_see_the_rules_but_no_apply_button(client, public_calls):
    login(client, "buyer@example.eu")
    page = text(client.get(f"/calls/{public_calls['open']}"))
    assert "Founded at most 4 years" in page and "/apply" not in page


def test_the_public_page_shows_the_deadline_in_the_call_s_zone(app, client, people):
    with app.app_context():
        call = make_call(CallStatus.OPEN, title="Zoned call")
        call.closes_at = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)
        db.session.commit()
        call_id = call.id
    page = text(client.get(f"/calls/{call_id}"))
    assert "Wed 10 March 2027, 12:00 CET" in page


def test_the_applicant_home_lists_open_calls_or_says_there_are_none(app, client, public_calls):
    login(client, "applicant@example.eu")
    page = text(client.get("/"))
    assert "Open calls" in page and "Accelerator open now" in page and "closes in 5 days" in page
    with app.app_context():
        states.transition(db.session.get(Call, public_calls["open"]), CallStatus.CLOSED)
        db.session.commit()
    assert "No call is open right now" in text(client.get("/"))
