"""Moderation, ranking and the decision through the browser's eyes: staff see the ranking
with its divergences, moderate (bad input refused, nothing saved), cannot decide before
everything is in, then decide; the outcomes are those of `scoring.propose`, every
applicant is told, a decline promotes the reserve list in order, and a crafted POST (twice,
too early, by someone else) changes nothing. Real database, CSRF on, no mocks."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

from flask import g, render_template
from sqlalchemy import event, func, select

from opsapp.accounts.models import User
from opsapp.calls import decisions, scoring
from opsapp.calls.models import (
    Application,
    Call,
    CallStatus,
    Consensus,
    Criterion,
    EvaluatorProfile,
)
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import (
    make_application,
    make_assignment,
    make_call,
    make_evaluator_profile,
)

# Per organisation, each evaluator's scores for Excellence, Impact (weight 1.5), Implementation.
SCORES = {
    "Alpha": [[5, 5, 5]] * 3,  # weighted 17.5
    "Bravo": [[4.5, 4.5, 4.5]] * 3,  # 15.75
    "Charlie": [[4, 4, 4]] * 3,  # 14
    "Delta": [[4, 4, 3.5]] * 3,  # 13.5
    "Echo": [[3.5, 4, 3.5]] * 3,  # 13
    "Foxtrot": [[3, 3, 3]] * 3,  # total 9: below the overall threshold of 10
    "Golf": [[4, 2, 4]] * 3,  # Impact below its threshold of 3
    "Hotel": [[2, 4.5, 4], [4.5, 4.5, 4], [4, 4.5, 4]],  # Excellence diverges (2 to 4.5)
}


# --- builders and helpers ------------------------------------------------------------------


def build_call(app, scores=SCORES, *, places: int = 3, ineligible: bool = True, tag: str = "") -> dict:
    """A call in evaluation with one application per entry of `scores`, 3 evaluators each, all
    submitted; plus an ineligible application. Returns ids and e-mails by name."""
    with app.app_context():
        make_s3_domains()
        staff = _user(f"staff{tag}@example.eu", Role.STAFF, "Stefania Staff")
        authority = _user(f"authority{tag}@example.eu", Role.AUTHORITY, "Aldo Authority")
        evaluators = [_user(f"evaluator{n}{tag}@example.eu", Role.EVALUATOR, f"Expert Person{n}{tag}")
                      for n in (1, 2, 3)]
        for evaluator in evaluators:
            if evaluator.id not in _profiles():
                make_evaluator_profile(evaluator)
        call = make_call(CallStatus.IN_EVALUATION, places=places, opens_in=timedelta(days=-40),
                         closes_in=timedelta(days=-5), evaluators_per_application=3,
                         title=f"Accelerator 2027{tag}")
        criteria = {c.name: c.id for c in call.criteria}
        t0 = utcnow() - timedelta(days=6)
        apps, owners = {}, {}
        for i, (name, per_evaluator) in enumerate(scores.items()):
            owner = make_user(f"{name.lower()}{tag}@example.eu", roles=(Role.APPLICANT,),
                              full_name=f"{name} Owner")
            org = make_organisation(owner=owner, legal_name=f"{name} Robotics S.r.l.")
            application = make_application(call, org, by=owner, submitted_at=t0 + timedelta(minutes=i),
                                           eligibility="eligible")
            for n, (evaluator, values) in enumerate(zip(evaluators, per_evaluator, strict=False), start=1):
                assignment = make_assignment(application, evaluator, scores=values)
                for score in assignment.scores:
                    score.comment = f"{name} comment {n} on criterion {score.criterion_id}."
            apps[name], owners[name] = application.id, owner.email
        if ineligible:
            owner = make_user(f"india{tag}@example.eu", roles=(Role.APPLICANT,), full_name="India Owner")
            org = make_organisation(owner=owner, legal_name="India Heavy Industries S.p.A.")
            application = make_application(
                call, org, by=owner, eligibility="ineligible", eligibility_flagged=True,
                eligibility_reason="A large enterprise with its linked companies.",
                eligibility_results=[{"code": "sme", "passed": False, "reason": "not_sme",
                                      "params": {"size_class": "large"}}])
            apps["India"], owners["India"] = application.id, owner.email
        db.session.commit()
        return {"call": call.id, "apps": apps, "owners": owners, "criteria": criteria, "staff": staff.email,
                "authority": authority.email, "evaluators": [e.email for e in evaluators],
                "evaluator_names": [e.full_name for e in evaluators]}


def _profiles() -> set[int]:
    return set(db.session.scalars(select(EvaluatorProfile.user_id)))


def _user(email: str, role: Role, name: str):
    existing = db.session.scalar(select(User).where(User.email == email))
    return existing or make_user(email, roles=(role,), full_name=name)


def post(client, path, data, page="/notifications"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/notifications").get_data(as_text=True))})


def errors(response) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True))


def digest_of(html: str) -> str:
    match = re.search(r'name="digest"[^>]*value="([^"]+)"', html)
    assert match, "no decision form on the page"
    return match.group(1)


def decide(client, call_id: int):
    """Review then confirm the decision, as staff would."""
    ranking = client.get(f"/staff/calls/{call_id}/ranking").get_data(as_text=True)
    review = post(client, f"/staff/calls/{call_id}/decide", {"digest": digest_of(ranking)},
                  page=f"/staff/calls/{call_id}/ranking")
    assert review.status_code == 200, review.status_code
    html = review.get_data(as_text=True)
    return client.post(f"/staff/calls/{call_id}/decide", data={
        "csrf_token": csrf_from(html), "digest": digest_of(html), "confirmed": "1"})


def moderate(client, application_id: int, criterion_id: int, value: str, justification: str):
    path = f"/staff/applications/{application_id}/consensus"
    return post(client, path, {"which": str(criterion_id), f"c{criterion_id}-value": value,
                               f"c{criterion_id}-justification": justification}, page=path)


def state(app, ids) -> dict:
    with app.app_context():
        rows = db.session.execute(select(Application.id, Application.outcome, Application.rank,
                                         Application.reserve_position, Application.place_status)).all()
        call = db.session.get(Call, ids["call"])
        return {"call": call.status, "apps": {r[0]: tuple(r[1:]) for r in rows}}


def actions(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                          .order_by(AuditEntry.id)))
        db.session.expunge_all()
        return entries


def subjects(outbox) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in outbox():
        found.setdefault(message["To"], []).append(message["Subject"])
    return found


# --- the journey ---------------------------------------------------------------------------


def test_staff_moderate_rank_and_decide(app, client, outbox):
    ids = build_call(app)
    apps, criteria = ids["apps"], ids["criteria"]
    excellence, impact = criteria["Excellence"], criteria["Impact"]
    login(client, ids["staff"])

    # The ranking shows the divergence and what blocks the decision; no decision button yet.
    page = client.get(f"/staff/calls/{ids['call']}/ranking")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "divergent" in html and "What stops the decision" in html
    assert f"/staff/applications/{apps['Hotel']}/consensus" in html
    assert "Review the decision" not in html
    assert "Alpha Robotics S.r.l." in html and "India Heavy Industries S.p.A." in html
    assert "not met: overall threshold" in html and "not met: Impact" in html
    only = client.get(f"/staff/calls/{ids['call']}/ranking?show=moderation").get_data(as_text=True)
    assert "Hotel Robotics S.r.l." in only and "Alpha Robotics S.r.l." not in only

    # A crafted decision before moderation changes nothing.
    before = state(app, ids)
    response = post(client, f"/staff/calls/{ids['call']}/decide", {"digest": "x", "confirmed": "1"})
    assert response.status_code == 302
    assert state(app, ids) == before and before["call"] == CallStatus.IN_EVALUATION
    assert "cannot be confirmed yet" in client.get(f"/staff/calls/{ids['call']}/ranking").get_data(as_text=True)

    # Bad input on the consensus form: refused with a reason next to the field, nothing saved.
    response = moderate(client, apps["Hotel"], excellence, "5.5", "The panel met on 3 March.")
    assert response.status_code == 422
    assert any("half points" in e for e in errors(response))
    assert "5.5" in response.get_data(as_text=True)  # what was typed is kept
    response = moderate(client, apps["Hotel"], excellence, "3.3", "The panel met.")
    assert response.status_code == 422 and errors(response)
    response = moderate(client, apps["Hotel"], excellence, "3", "   ")
    assert response.status_code == 422
    assert any("why" in e for e in errors(response))
    response = moderate(client, apps["Hotel"], excellence, "abc", "Because.")
    assert response.status_code == 422 and any("number" in e for e in errors(response))
    # A criterion on which the evaluators agree cannot be moderated, even by a crafted POST.
    response = moderate(client, apps["Hotel"], impact, "1", "Crafted.")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Consensus.id))) == 0

    # A valid consensus, then a replacement: kept beside the scores, audited with old and new.
    response = moderate(client, apps["Hotel"], excellence, "3,5", "The panel agreed the market study is thin.")
    assert response.status_code == 302
    page = client.get(f"/staff/applications/{apps['Hotel']}/consensus").get_data(as_text=True)
    assert "The panel agreed the market study is thin." in page and "Expert Person1" in page
    response = moderate(client, apps["Hotel"], excellence, "3", "The market study is thin and dated.")
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(Consensus)).all()
        assert len(rows) == 1 and rows[0].value == Decimal("3")
    entries = actions(app, "consensus.recorded")
    assert len(entries) == 2
    assert entries[1].detail["old"]["value"] == "3.5" and entries[1].detail["new"]["value"] == "3.0"
    assert entries[1].detail["scores"] == ["2.0", "4.5", "4.0"]

    # Ready: the outcomes the decision will write are those of the pure rule.
    with app.app_context():
        call = db.session.get(Call, ids["call"])
        rules, sheets = decisions.load_scores(call)
        expected = scoring.propose(sheets, rules, call.places)
        assert expected.ready and {s.application_id for s in sheets} == set(apps.values()) - {apps["India"]}
        expected = {r.result.application_id: (r.outcome, r.rank or None, r.reserve_position)
                    for r in expected.ranked}
    html = client.get(f"/staff/calls/{ids['call']}/ranking").get_data(as_text=True)
    assert "Review the decision" in html
    assert "3 selected, 3 on the reserve list, 2 not selected" in html

    review = post(client, f"/staff/calls/{ids['call']}/decide", {"digest": digest_of(html)},
                  page=f"/staff/calls/{ids['call']}/ranking")
    text = review.get_data(as_text=True)
    assert review.status_code == 200 and "cannot be undone" in text and "Alpha Robotics S.r.l." in text
    assert state(app, ids)["call"] == CallStatus.IN_EVALUATION  # reviewing changes nothing

    response = decide(client, ids["call"])
    assert response.status_code == 302
    after = state(app, ids)
    assert after["call"] == CallStatus.DECIDED
    for app_id, (outcome, rank, reserve) in expected.items():
        assert after["apps"][app_id][:3] == (outcome, rank, reserve)
    assert after["apps"][apps["Alpha"]] == ("selected", 1, None, "offered")
    assert after["apps"][apps["Hotel"]] == ("reserve", 4, 1, None)  # 13.75 after the consensus of 3
    assert after["apps"][apps["Delta"]] == ("reserve", 5, 2, None)
    assert after["apps"][apps["Golf"]] == ("rejected", None, None, None)
    assert after["apps"][apps["India"]] == ("rejected", None, None, None)
    with app.app_context():
        alpha = db.session.get(Application, apps["Alpha"])
        assert alpha.weighted_total == Decimal("17.50") and alpha.decided_at is not None
        assert db.session.get(Call, ids["call"]).decided_at is not None
    assert len(actions(app, "application.decided")) == 9
    assert any(e.detail.get("new") == "decided" for e in actions(app, "calls.status_changed"))

    # Everyone is told, each in words that fit the outcome.
    mail = subjects(outbox)
    assert "you are selected" in mail[ids["owners"]["Alpha"]][0]
    assert "reserve list" in mail[ids["owners"]["Hotel"]][0]
    assert "outcome of your application" in mail[ids["owners"]["Golf"]][0]
    assert "outcome of your application" in mail[ids["owners"]["India"]][0]
    assert len(mail) == 9
    body = next(m for m in outbox() if m["To"] == ids["owners"]["Alpha"]).get_body(("plain",)).get_content()
    assert f"/applications/{apps['Alpha']}" in body
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == 9

    # Deciding twice changes nothing and tells no one again.
    before = state(app, ids)
    html = client.get(f"/staff/calls/{ids['call']}/ranking").get_data(as_text=True)
    assert "Review the decision" not in html and "Decided on" in html
    response = post(client, f"/staff/calls/{ids['call']}/decide", {"digest": "anything", "confirmed": "1"})
    assert response.status_code == 302
    assert state(app, ids) == before and len(actions(app, "application.decided")) == 9
    assert len(outbox()) == 9
    # Consensus is frozen once decided.
    response = moderate(client, apps["Hotel"], excellence, "5", "Too late.")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Consensus.value)) == Decimal("3")


def test_declines_promote_the_reserve_list_in_order(app, client, outbox):
    ids = build_call(app)
    apps = ids["apps"]
    with app.app_context():
        criterion = db.session.scalar(select(Criterion.id).where(Criterion.name == "Excellence"))
    login(client, ids["staff"])
    moderate(client, apps["Hotel"], criterion, "3", "The panel agreed.")
    assert decide(client, ids["call"]).status_code == 302
    sent = len(outbox())
    logout(client)

    # Alpha declines: asked to confirm first, then Hotel (reserve 1) gets the place.
    login(client, ids["owners"]["Alpha"])
    page = post(client, f"/applications/{apps['Alpha']}/place", {"answer": "decline"})
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    assert state(app, ids)["apps"][apps["Alpha"]][3] == "offered"
    response = post(client, f"/applications/{apps['Alpha']}/place", {"answer": "decline", "confirmed": "1"})
    assert response.status_code == 302
    after = state(app, ids)["apps"]
    assert after[apps["Alpha"]] == ("selected", 1, None, "declined")
    assert after[apps["Hotel"]] == ("selected", 4, None, "offered")
    assert after[apps["Delta"]] == ("reserve", 5, 1, None)
    assert after[apps["Echo"]] == ("reserve", 6, 2, None)
    new_mail = outbox()[sent:]
    assert any(m["To"] == ids["owners"]["Hotel"] and "a place is offered" in m["Subject"] for m in new_mail)
    assert any(m["To"] == ids["staff"] and "declined its place" in m["Subject"] for m in new_mail)

    # Declining again, or accepting after declining, changes nothing.
    for answer in ("decline", "accept"):
        response = post(client, f"/applications/{apps['Alpha']}/place", {"answer": answer, "confirmed": "1"})
        assert response.status_code == 302
    assert state(app, ids)["apps"] == after
    # Someone else's place cannot be answered.
    response = post(client, f"/applications/{apps['Bravo']}/place", {"answer": "decline", "confirmed": "1"})
    assert response.status_code == 403
    assert state(app, ids)["apps"] == after
    logout(client)

    # Bravo declines too: the next on the list (Delta) is promoted, Echo moves up to first.
    login(client, ids["owners"]["Bravo"])
    assert post(client, f"/applications/{apps['Bravo']}/place",
                {"answer": "decline", "confirmed": "1"}).status_code == 302
    after = state(app, ids)["apps"]
    assert after[apps["Delta"]] == ("selected", 5, None, "offered")
    assert after[apps["Echo"]] == ("reserve", 6, 1, None)
    logout(client)

    # Charlie accepts, once.
    login(client, ids["owners"]["Charlie"])
    assert post(client, f"/applications/{apps['Charlie']}/place",
                {"answer": "accept", "confirmed": "1"}).status_code == 302
    assert state(app, ids)["apps"][apps["Charlie"]][3] == "accepted"
    assert post(client, f"/applications/{apps['Charlie']}/place",
                {"answer": "decline", "confirmed": "1"}).status_code == 302
    assert state(app, ids)["apps"][apps["Charlie"]][3] == "accepted"
    # A reserve cannot answer a place it was not offered.
    logout(client)
    login(client, ids["owners"]["Echo"])
    before = state(app, ids)
    assert post(client, f"/applications/{apps['Echo']}/place",
                {"answer": "accept", "confirmed": "1"}).status_code == 302
    assert state(app, ids) == before
    assert [e.detail["from_reserve_position"] for e in actions(app, "application.promoted")] == [1, 1]
    assert len(actions(app, "application.place_declined")) == 2
    assert len(actions(app, "application.place_accepted")) == 1


def test_only_staff_moderate_and_decide(app, client):
    ids = build_call(app)
    for email in (ids["owners"]["Alpha"], ids["evaluators"][0], ids["authority"]):
        login(client, email)
        assert client.get(f"/staff/calls/{ids['call']}/ranking").status_code == 403
        assert client.get(f"/staff/applications/{ids['apps']['Hotel']}/consensus").status_code == 403
        assert post(client, f"/staff/calls/{ids['call']}/decide", {"digest": "x"}).status_code == 403
        logout(client)
    assert state(app, ids)["call"] == CallStatus.IN_EVALUATION


def test_home_panels_show_what_waits_for_staff(app, client):
    ids = build_call(app)
    login(client, ids["staff"])
    home = client.get("/").get_data(as_text=True)
    assert "Divergent scores to moderate" in home and "1 application to moderate" in home
    assert "Calls ready to decide" not in home
    with app.app_context():
        criterion = db.session.scalar(select(Criterion.id).where(Criterion.name == "Excellence"))
    moderate(client, ids["apps"]["Hotel"], criterion, "4", "Agreed.")
    home = client.get("/").get_data(as_text=True)
    assert "Divergent scores to moderate" not in home and "Calls ready to decide" in home


def test_pending_evaluations_block_the_decision(app, client):
    ids = build_call(app, {"Alpha": [[5, 5, 5]] * 2, "Bravo": [[4, 4, 4]] * 3}, ineligible=False)
    login(client, ids["staff"])
    html = client.get(f"/staff/calls/{ids['call']}/ranking?show=incomplete").get_data(as_text=True)
    assert "2 of 3 evaluations" in html and "Review the decision" not in html
    assert post(client, f"/staff/calls/{ids['call']}/decide", {"digest": "x"}).status_code == 302
    assert state(app, ids)["call"] == CallStatus.IN_EVALUATION


# --- queries do not grow with the applications ---------------------------------------------


def _generic_scores(n: int) -> dict:
    values = [5, 4.5, 4, 3.5, 3, 2.5]
    return {f"Firm{i:03d}": [[values[i % 6], values[(i + 1) % 6], values[(i + 2) % 6]]] * 3 for i in range(n)}


def _queries(app, client, path) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_ranking_queries_do_not_grow_with_applications(app, client):
    small = build_call(app, _generic_scores(8), tag="s")
    large = build_call(app, _generic_scores(24), tag="l")
    login(client, small["staff"])
    client.get(f"/staff/calls/{small['call']}/ranking")  # warm up
    few = _queries(app, client, f"/staff/calls/{small['call']}/ranking")
    many = _queries(app, client, f"/staff/calls/{large['call']}/ranking")
    assert few == many, (few, many)
    assert many < 30


def test_two_declines_at_once_promote_two_different_reserves(app, client):
    """Two selected applicants decline at the same moment: the call row is locked (PostgreSQL) or the
    write transaction taken at once (SQLite), so each decline promotes a different reserve."""
    ids = build_call(app)
    apps = ids["apps"]
    login(client, ids["staff"])
    moderate(client, apps["Hotel"], ids["criteria"]["Excellence"], "3", "The panel agreed.")
    assert decide(client, ids["call"]).status_code == 302
    barrier = threading.Barrier(2, timeout=30)
    failures = []

    def decline(name):
        try:
            with app.test_request_context():
                user = db.session.scalar(select(User).where(User.email == ids["owners"][name]))
                _ = user.memberships
                db.session.commit()  # no transaction open while waiting for the other thread
                barrier.wait()
                decisions.answer_place(user, apps[name], "decline")
                db.session.commit()
        except Exception as error:  # reported below, in the test's own thread
            failures.append(error)

    threads = [threading.Thread(target=decline, args=(name,)) for name in ("Alpha", "Bravo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    after = state(app, ids)["apps"]
    assert after[apps["Alpha"]][3] == after[apps["Bravo"]][3] == "declined"
    assert after[apps["Hotel"]] == ("selected", 4, None, "offered")
    assert after[apps["Delta"]] == ("selected", 5, None, "offered")
    assert after[apps["Echo"]] == ("reserve", 6, 1, None)


def test_the_application_page_shows_the_decision(app, client):
    """`calls/decisions/_decision.html`, included by the application page, as each person sees it."""
    ids = build_call(app)
    apps = ids["apps"]
    login(client, ids["staff"])
    moderate(client, apps["Hotel"], ids["criteria"]["Excellence"], "3", "The panel agreed.")

    def shown(email, name):
        with app.test_request_context():
            g._login_user = db.session.scalar(select(User).where(User.email == email))
            return render_template("calls/decisions/_decision.html",
                                   application=db.session.get(Application, apps[name]))

    assert "Decision" not in shown(ids["owners"]["Alpha"], "Alpha")  # nothing before the decision
    assert decide(client, ids["call"]).status_code == 302
    alpha = shown(ids["owners"]["Alpha"], "Alpha")
    assert "Accept the place" in alpha and "Decline the place" in alpha
    assert f"/applications/{apps['Alpha']}/letter.docx" in alpha
    assert "number 1 on the reserve list" in shown(ids["owners"]["Hotel"], "Hotel")
    assert "did not reach every threshold" in shown(ids["owners"]["Golf"], "Golf")
    assert "eligibility rules" in shown(ids["owners"]["India"], "India")
    assert shown(ids["owners"]["Bravo"], "Alpha").strip() == ""  # not someone else's
    staff_view = shown(ids["staff"], "Alpha")
    assert "letter.docx" in staff_view and "Accept the place" not in staff_view
