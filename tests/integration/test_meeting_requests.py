"""Meeting requests through the browser's eyes: send, accept, decline, withdraw, with in-app
notices and e-mails; quotas, duplicates and phases refused with a message and nothing saved;
the wrong side cannot answer; a participant sees only its own requests (staff see all);
staff create and force requests; unanswered requests expire once. Real database, CSRF on."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import Membership
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events import requests as request_service
from opsapp.events.models import (
    Event,
    EventPhase,
    MeetingRequest,
    Participant,
    RequestStatus,
    Side,
)
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_meeting, make_participant, make_request

# --- helpers ---------------------------------------------------------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page, **kwargs):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_errors(response) -> list[str]:
    return [e.strip() for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', text(response))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def notices_to(email) -> list[Notification]:
    from opsapp.accounts.models import User

    user = db.session.scalar(select(User).where(User.email == email))
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def mails_to(outbox, email):
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def the_request(request_id) -> MeetingRequest:
    db.session.expire_all()
    return db.session.get(MeetingRequest, request_id)


@pytest.fixture
def world(app):
    """An event in booking (SMEs may send 2 live requests, buyers 1); SMEs Alfa and Beta, buyers
    Gamma (with a colleague) and Delta; staff; another event with its own SME."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        event = make_event(name="Meet the Buyer Torino", sme_request_quota=2, buyer_request_quota=1,
                           request_expiry_days=5)
        people = {}
        for tag, side in (("alfa", Side.SME), ("beta", Side.SME), ("gamma", Side.BUYER), ("delta", Side.BUYER),
                          ("eta", Side.SME)):
            user = make_user(f"{tag}@example.eu", roles=[Role.APPLICANT if side is Side.SME else Role.BUYER],
                             full_name=f"{tag.title()} Person")
            org = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", owner=user,
                                    legal_name=f"{tag.title()} S.p.A.")
            people[tag] = make_participant(event, side, user=user, organisation=org).id
        colleague = make_user("gamma2@example.eu", roles=[Role.BUYER], full_name="Gamma Colleague")
        gamma_org = db.session.get(Participant, people["gamma"]).organisation_id
        db.session.add(Membership(user_id=colleague.id, organisation_id=gamma_org, role="member"))
        other = make_event(name="Another event")
        outsider = make_user("omega@example.eu", roles=[Role.APPLICANT], full_name="Omega Person")
        people["omega"] = make_participant(other, Side.SME, user=outsider,
                                           organisation=make_organisation(owner=outsider,
                                                                          legal_name="Omega S.r.l.")).id
        db.session.commit()
        return {"event": event.id, "other_event": other.id, **people}


def new_url(world, to):
    return f"/events/{world['event']}/requests/new?to={world[to]}"


def send(app, email, world, to, message="Shall we meet about sensors?", priority="4"):
    client = client_of(app, email)
    return client, post(client, new_url(world, to), {"message": message, "priority": priority},
                        page=new_url(world, to), follow_redirects=True)


def answer(client, world, request_id, decision, reason=""):
    return post(client, f"/events/requests/{request_id}/answer", {"decision": decision, "reason": reason},
                page=f"/events/{world['event']}/requests", follow_redirects=True)


# --- sending ---------------------------------------------------------------------------------------


def test_an_sme_sends_a_request_and_every_member_of_the_buyer_is_told(app, world, outbox):
    client, r = send(app, "alfa@example.eu", world, "gamma")
    assert r.status_code == 200 and "Your meeting request to Gamma S.p.A. is sent" in text(r), field_errors(r)
    assert "1 of 2 requests left" in text(r)
    with app.app_context():
        req = db.session.scalar(select(MeetingRequest))
        assert req.sme_id == world["alfa"] and req.buyer_id == world["gamma"] and req.requested_by == "sme"
        assert req.priority == 4 and req.status == "pending" and req.message == "Shall we meet about sensors?"
        assert timedelta(days=4, hours=23) < req.expires_at - utcnow() <= timedelta(days=5)
        for email in ("gamma@example.eu", "gamma2@example.eu"):
            [notice] = notices_to(email)
            assert "Alfa S.p.A." in notice.subject and notice.link == f"/events/{world['event']}/requests"
        assert notices_to("alfa@example.eu") == []
        assert count(AuditEntry, AuditEntry.action == "meeting_request.sent") == 1
    [mail] = mails_to(outbox, "gamma@example.eu")
    assert "Shall we meet about sensors?" in body(mail) and "5 · Top priority" not in body(mail)
    assert "4 · Very important" in body(mail)
    assert len(mails_to(outbox, "gamma2@example.eu")) == 1


def test_the_form_shows_the_profile_and_the_quota_and_bad_input_keeps_the_text(app, world):
    client = client_of(app, "alfa@example.eu")
    page = text(client.get(new_url(world, "gamma")))
    assert "Gamma S.p.A." in page and "2 of 2 requests left" in page and "Sensors and analytics" in page
    long = "x" * 501
    r = post(client, new_url(world, "gamma"), {"message": long, "priority": "3"}, page=new_url(world, "gamma"))
    assert r.status_code == 200 and any("at most 500" in e for e in field_errors(r))
    assert long in text(r)
    r = post(client, new_url(world, "gamma"), {"message": "Hello", "priority": "9"}, page=new_url(world, "gamma"))
    assert r.status_code == 200 and field_errors(r) and "Hello" in text(r)
    with app.app_context():
        assert count(MeetingRequest) == 0


def test_the_quota_is_enforced_on_the_server(app, world, outbox):
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.sme_request_quota = 1
        db.session.commit()
    client, r = send(app, "alfa@example.eu", world, "gamma")
    assert "is sent" in text(r)
    r = post(client, new_url(world, "delta"), {"message": "Also you?", "priority": "2"}, page=new_url(world, "delta"))
    assert r.status_code == 200 and "used all your 1 meeting requests" in text(r)
    assert "Also you?" in text(r)
    with app.app_context():
        assert count(MeetingRequest) == 1
        assert notices_to("delta@example.eu") == []
    # A declined request gives one back.
    with app.app_context():
        req_id = db.session.scalar(select(MeetingRequest.id))
    answer(client_of(app, "gamma@example.eu"), world, req_id, "decline", "Not our field")
    r = post(client, new_url(world, "delta"), {"message": "Also you?", "priority": "2"}, page=new_url(world, "delta"),
             follow_redirects=True)
    assert "is sent" in text(r)


def test_the_buyer_quota_applies_to_buyers(app, world):
    client, r = send(app, "gamma@example.eu", world, "alfa")
    assert "is sent" in text(r)
    r = post(client, new_url(world, "beta"), {"message": "", "priority": "1"}, page=new_url(world, "beta"))
    assert "used all your 1 meeting requests" in text(r)
    with app.app_context():
        [req] = db.session.scalars(select(MeetingRequest)).all()
        assert req.requested_by == "buyer" and req.sme_id == world["alfa"]


def test_one_live_request_per_pair_either_way(app, world):
    send(app, "alfa@example.eu", world, "gamma")
    client = client_of(app, "gamma@example.eu")
    r = post(client, new_url(world, "alfa"), {"message": "We too", "priority": "2"}, page=new_url(world, "alfa"))
    assert r.status_code == 200 and "already have a meeting request waiting for an answer" in text(r)
    with app.app_context():
        assert count(MeetingRequest) == 1


def test_the_unique_index_is_turned_into_a_message(app, world):
    """Two requests for one pair at once: the second insert meets the partial unique index
    `uq_live_meeting_request` and becomes a message, and the first request stays."""
    from opsapp.events.pages import EventError

    with app.app_context():
        alfa, gamma = db.session.get(Participant, world["alfa"]), db.session.get(Participant, world["gamma"])
        first = make_request(alfa, gamma, status=RequestStatus.PENDING)
        racing = MeetingRequest(event_id=alfa.event_id, sme_id=alfa.id, buyer_id=gamma.id, requested_by="buyer",
                                priority=2, status=RequestStatus.ACCEPTED.value)
        with pytest.raises(EventError) as refused:
            request_service._insert(racing)
        assert "already have a live meeting request" in str(refused.value.message)
        assert db.session.get(MeetingRequest, first.id).status == "pending"
        assert count(MeetingRequest) == 1
        # A closed request does not block a new one.
        first.status = RequestStatus.DECLINED.value
        request_service._insert(racing)
        assert count(MeetingRequest) == 2
        db.session.rollback()


def test_no_request_outside_the_booking_phase_or_after_the_deadline(app, world):
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.phase = EventPhase.SCHEDULING.value
        db.session.commit()
    client = client_of(app, "alfa@example.eu")
    r = post(client, new_url(world, "gamma"), {"message": "Late", "priority": "3"}, page=new_url(world, "gamma"))
    assert r.status_code == 200 and "only while the event is in booking" in text(r)
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.phase = EventPhase.BOOKING.value
        event.request_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    r = post(client, new_url(world, "gamma"), {"message": "Late", "priority": "3"}, page=new_url(world, "gamma"))
    assert "deadline for meeting requests has passed" in text(r)
    with app.app_context():
        assert count(MeetingRequest) == 0


def test_no_request_to_the_same_side_another_event_or_a_withdrawn_participant(app, world):
    client = client_of(app, "alfa@example.eu")
    assert client.get(new_url(world, "beta")).status_code == 404  # same side
    assert client.get(new_url(world, "omega")).status_code == 404  # another event
    assert client.get(f"/events/{world['event']}/requests/new").status_code == 404
    with app.app_context():
        delta = db.session.get(Participant, world["delta"])
        delta.status = "withdrawn"
        db.session.commit()
    assert client.get(new_url(world, "delta")).status_code == 404
    assert client_of(app, "omega@example.eu").get(new_url(world, "gamma")).status_code == 404


def test_only_registered_participants_send_and_receive_requests(app, world):
    """Review fix: the marketplace lists registered profiles only; the server holds to it."""
    client = client_of(app, "alfa@example.eu")
    page = text(client.get(new_url(world, "gamma")))
    with app.app_context():
        db.session.get(Participant, world["gamma"]).status = "invited"
        db.session.commit()
    assert client.get(new_url(world, "gamma")).status_code == 404  # not in the marketplace: no form
    with app.app_context():
        alfa, gamma = db.session.get(Participant, world["alfa"]), db.session.get(Participant, world["gamma"])
        with pytest.raises(request_service.EventError):
            request_service.send(alfa.organisation.memberships[0].user, db.session.get(Event, world["event"]),
                                 alfa, gamma, "Hello", 3)
        db.session.rollback()
        gamma = db.session.get(Participant, world["gamma"])
        gamma.status = "registered"
        db.session.get(Participant, world["alfa"]).status = "invited"
        db.session.commit()
    r = client.post(new_url(world, "gamma"), data={"csrf_token": csrf_from(page), "message": "Hi", "priority": "3"})
    assert r.status_code == 404  # an SME that has not registered has no marketplace yet
    with app.app_context():
        assert count(MeetingRequest) == 0


# --- answering ---------------------------------------------------------------------------------------


def _pending(app, world, sme="alfa", buyer="gamma", by=Side.SME, **fields) -> int:
    with app.app_context():
        P = Participant
        req = make_request(db.session.get(P, world[sme]), db.session.get(P, world[buyer]),
                           status=RequestStatus.PENDING, requested_by=by, priority=3, **fields)
        db.session.commit()
        return req.id


def test_the_buyer_accepts_and_the_sme_is_told(app, world, outbox):
    request_id = _pending(app, world)
    client = client_of(app, "gamma@example.eu")
    page = text(client.get(f"/events/{world['event']}/requests"))
    assert "Alfa S.p.A." in page and "Shall we meet?" in page and "3 · Important" in page
    assert "0 of 1 requests left" not in page and "1 of 1 requests left" in page
    r = answer(client, world, request_id, "accept")
    assert "You accepted the meeting with Alfa S.p.A." in text(r)
    with app.app_context():
        req = the_request(request_id)
        assert req.status == "accepted" and req.answered_at is not None
        [notice] = notices_to("alfa@example.eu")
        assert "Gamma S.p.A. accepted" in notice.subject
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting_requests.status_changed"))
        assert entry.detail["new"] == "accepted" and entry.detail["side"] == "buyer"
    [mail] = mails_to(outbox, "alfa@example.eu")
    assert "accepted the meeting" in body(mail)


def test_the_buyer_declines_with_a_reason(app, world, outbox):
    request_id = _pending(app, world)
    r = answer(client_of(app, "gamma@example.eu"), world, request_id, "decline", "Not our field this year")
    assert "You declined" in text(r)
    with app.app_context():
        req = the_request(request_id)
        assert req.status == "declined" and req.decline_reason == "Not our field this year"
    [mail] = mails_to(outbox, "alfa@example.eu")
    assert "Not our field this year" in body(mail)
    sent_page = text(client_of(app, "alfa@example.eu").get(f"/events/{world['event']}/requests"))
    assert "Not our field this year" in sent_page and "Declined" in sent_page


def test_the_sender_staff_and_others_cannot_answer(app, world):
    request_id = _pending(app, world)
    path = f"/events/requests/{request_id}/answer"
    alfa = client_of(app, "alfa@example.eu")
    r = post(alfa, path, {"decision": "accept"}, page=f"/events/{world['event']}/requests")
    assert r.status_code == 403
    staff = client_of(app, "staff@example.eu")
    r = post(staff, path, {"decision": "accept"}, page=f"/events/{world['event']}/requests")
    assert r.status_code == 403
    for email in ("beta@example.eu", "delta@example.eu", "omega@example.eu"):
        c = client_of(app, email)
        assert post(c, path, {"decision": "accept"}, page="/").status_code == 404
        assert post(c, f"/events/requests/{request_id}/withdraw", {}, page="/").status_code == 404
    with app.app_context():
        assert the_request(request_id).status == "pending"


def test_an_expired_or_answered_request_cannot_be_answered(app, world):
    request_id = _pending(app, world, expires_at=utcnow() - timedelta(minutes=1))
    client = client_of(app, "gamma@example.eu")
    r = answer(client, world, request_id, "accept")
    assert "expired" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "pending"
    second = _pending(app, world, sme="beta")
    answer(client, world, second, "decline")
    r = answer(client, world, second, "accept")
    assert "already been answered" in text(r)
    with app.app_context():
        assert the_request(second).status == "declined"


def _set_phase(app, world, phase: EventPhase) -> None:
    with app.app_context():
        db.session.get(Event, world["event"]).phase = phase.value
        db.session.commit()


def test_in_scheduling_a_pending_request_can_be_declined_but_not_accepted(app, world):
    """One rule for answering: accept while booking is open, decline in booking or scheduling."""
    first, second = _pending(app, world), _pending(app, world, sme="beta")
    _set_phase(app, world, EventPhase.SCHEDULING)
    client = client_of(app, "gamma@example.eu")
    page = text(client.get(f"/events/{world['event']}/requests"))
    assert 'value="decline"' in page
    assert 'value="accept"' not in page  # only declining is offered now
    r = answer(client, world, first, "accept")
    assert "can be accepted only while the event is in booking" in text(r)
    r = answer(client, world, second, "decline", "Too late for us")
    assert "You declined" in text(r)
    with app.app_context():
        assert the_request(first).status == "pending" and the_request(second).status == "declined"


def test_once_agendas_are_published_a_pending_request_is_no_longer_answered(app, world):
    request_id = _pending(app, world)
    _set_phase(app, world, EventPhase.AGENDAS_PUBLISHED)
    client = client_of(app, "gamma@example.eu")
    assert 'value="decline"' not in text(client.get(f"/events/{world['event']}/requests"))
    r = answer(client, world, request_id, "decline")
    assert "can be declined only while the event is in booking or scheduling" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "pending"
        gamma = db.session.get(Participant, world["gamma"]).contact
        assert request_service.to_answer(gamma) == []  # nor listed on the home page


# --- withdrawing ----------------------------------------------------------------------------------------


def test_the_sender_withdraws_and_the_other_side_is_told(app, world, outbox):
    request_id = _pending(app, world)
    client = client_of(app, "alfa@example.eu")
    r = post(client, f"/events/requests/{request_id}/withdraw", {}, page=f"/events/{world['event']}/requests",
             follow_redirects=True)
    assert "is withdrawn" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "withdrawn"
        assert any("withdrew" in n.subject for n in notices_to("gamma@example.eu"))
    assert len(mails_to(outbox, "gamma@example.eu")) == 1


def test_the_receiver_cannot_withdraw_and_a_scheduled_one_goes_through_staff(app, world):
    request_id = _pending(app, world)
    gamma = client_of(app, "gamma@example.eu")
    r = post(gamma, f"/events/requests/{request_id}/withdraw", {}, page=f"/events/{world['event']}/requests")
    assert r.status_code == 403
    with app.app_context():
        req = the_request(request_id)
        req.status = "accepted"
        make_meeting(req, db.session.get(Event, world["event"]).slots[0])
        db.session.commit()
    alfa = client_of(app, "alfa@example.eu")
    page = text(alfa.get(f"/events/{world['event']}/requests"))
    assert f"/events/requests/{request_id}/withdraw" not in page and "To cancel it, ask the event staff." in page
    r = post(alfa, f"/events/requests/{request_id}/withdraw", {}, page=f"/events/{world['event']}/requests",
             follow_redirects=True)
    assert "ask the event staff" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "accepted"
        req = the_request(request_id)
        from opsapp.accounts.models import User

        staff = db.session.scalar(select(User).where(User.email == "staff@example.eu"))
        assert not request_service.can_withdraw(req.sme.contact, req)  # a live meeting holds it
        assert not request_service.can_withdraw(staff, req)


def test_staff_withdraw_a_request_and_both_sides_are_told(app, world, outbox):
    request_id = _pending(app, world)
    staff = client_of(app, "staff@example.eu")
    r = post(staff, f"/events/requests/{request_id}/withdraw", {}, page=f"/events/{world['event']}/requests",
             follow_redirects=True)
    assert "is withdrawn" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "withdrawn"
    for email in ("alfa@example.eu", "gamma@example.eu"):
        [mail] = mails_to(outbox, email)
        assert "withdrawn by the event staff" in body(mail)


def test_no_withdrawal_once_agendas_are_published(app, world):
    request_id = _pending(app, world)
    with app.app_context():
        db.session.get(Event, world["event"]).phase = EventPhase.AGENDAS_PUBLISHED.value
        db.session.commit()
    r = post(client_of(app, "alfa@example.eu"), f"/events/requests/{request_id}/withdraw", {},
             page=f"/events/{world['event']}/requests", follow_redirects=True)
    assert "can no longer be withdrawn" in text(r)
    with app.app_context():
        assert the_request(request_id).status == "pending"


# --- who sees what ------------------------------------------------------------------------------------


def test_a_participant_sees_only_its_own_requests_and_staff_see_all(app, world):
    _pending(app, world, message="Alfa to Gamma secret")
    _pending(app, world, sme="beta", buyer="delta", message="Beta to Delta secret")
    alfa = text(client_of(app, "alfa@example.eu").get(f"/events/{world['event']}/requests"))
    assert "Alfa to Gamma secret" in alfa and "Beta to Delta secret" not in alfa
    delta = text(client_of(app, "delta@example.eu").get(f"/events/{world['event']}/requests"))
    assert "Beta to Delta secret" in delta and "Alfa to Gamma secret" not in delta
    assert client_of(app, "omega@example.eu").get(f"/events/{world['event']}/requests").status_code == 404
    staff = client_of(app, "staff@example.eu")
    page = text(staff.get(f"/events/{world['event']}/requests"))
    assert "Alfa to Gamma secret" in page and "Beta to Delta secret" in page
    assert "Waiting for an answer: 2" in page
    filtered = text(staff.get(f"/events/{world['event']}/requests?q=delta"))
    assert "Beta to Delta secret" in filtered and "Alfa to Gamma secret" not in filtered
    assert "Alfa to Gamma secret" not in text(staff.get(f"/events/{world['event']}/requests?status=accepted"))


def test_staff_export_the_requests(app, world):
    _pending(app, world, message="=HYPERLINK(1)")
    staff = client_of(app, "staff@example.eu")
    r = staff.get(f"/events/{world['event']}/requests?export=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Request", "SME", "Buyer"] and rows[1][1] == "Alfa S.p.A."
    assert rows[1][10] == "'=HYPERLINK(1)"
    x = staff.get(f"/events/{world['event']}/requests?export=xlsx")
    assert x.status_code == 200 and x.data[:2] == b"PK"
    # A participant's page has no export.
    alfa = client_of(app, "alfa@example.eu").get(f"/events/{world['event']}/requests?export=csv")
    assert alfa.mimetype == "text/html"


# --- staff requests ------------------------------------------------------------------------------------


STAFF_NEW = "/events/{}/requests/staff-new"


def test_staff_force_a_request_accepted_for_both_sides(app, world, outbox):
    staff = client_of(app, "staff@example.eu")
    url = STAFF_NEW.format(world["event"])
    r = post(staff, url, {"sme_id": str(world["beta"]), "buyer_id": str(world["gamma"]), "priority": "5",
                          "message": "Staff think you should meet", "force": "y"}, page=url, follow_redirects=True)
    assert "accepted on both sides" in text(r), field_errors(r)
    with app.app_context():
        req = db.session.scalar(select(MeetingRequest))
        assert req.requested_by == "staff" and req.forced and req.status == "accepted" and req.priority == 5
        assert req.answered_by_id is not None
        assert notices_to("beta@example.eu") and notices_to("gamma@example.eu")
    assert "accepted on both sides' behalf" in body(mails_to(outbox, "beta@example.eu")[0])


def test_staff_are_not_held_to_quotas_and_either_side_answers_their_request(app, world):
    with app.app_context():
        db.session.get(Event, world["event"]).sme_request_quota = 0
        db.session.commit()
    staff = client_of(app, "staff@example.eu")
    url = STAFF_NEW.format(world["event"])
    r = post(staff, url, {"sme_id": str(world["alfa"]), "buyer_id": str(world["delta"]), "priority": "2",
                          "message": ""}, page=url, follow_redirects=True)
    assert "either may answer" in text(r), field_errors(r)
    with app.app_context():
        req = db.session.scalar(select(MeetingRequest))
        assert req.status == "pending" and not req.forced
    r = answer(client_of(app, "alfa@example.eu"), world, req.id, "accept")
    with app.app_context():
        assert the_request(req.id).status == "accepted"


def test_staff_add_an_unforced_request_only_while_it_can_be_answered(app, world):
    """Review fix: outside booking a pending request could only expire (`accept` needs booking)."""
    with app.app_context():
        db.session.get(Event, world["event"]).phase = EventPhase.SCHEDULING.value  # deadline still ahead
        db.session.commit()
    staff = client_of(app, "staff@example.eu")
    url = STAFF_NEW.format(world["event"])
    data = {"sme_id": str(world["alfa"]), "buyer_id": str(world["delta"]), "priority": "2", "message": ""}
    r = post(staff, url, data, page=url)
    assert r.status_code == 200 and any("only while the event is in booking" in e for e in field_errors(r))
    with app.app_context():
        assert count(MeetingRequest) == 0
    r = post(staff, url, {**data, "force": "y"}, page=url, follow_redirects=True)
    assert "accepted on both sides" in text(r), field_errors(r)


def test_staff_form_refuses_a_duplicate_and_keeps_the_choice(app, world):
    _pending(app, world)
    staff = client_of(app, "staff@example.eu")
    url = STAFF_NEW.format(world["event"])
    r = post(staff, url, {"sme_id": str(world["alfa"]), "buyer_id": str(world["gamma"]), "priority": "3",
                          "message": "Again"}, page=url)
    assert r.status_code == 200 and "already have a meeting request" in text(r) and "Again" in text(r)
    r = post(staff, url, {"sme_id": "0", "buyer_id": "", "priority": "3"}, page=url)
    assert r.status_code == 200 and len(field_errors(r)) >= 2
    with app.app_context():
        assert count(MeetingRequest) == 1
    assert client_of(app, "alfa@example.eu").get(url).status_code == 403


# --- expiry --------------------------------------------------------------------------------------------


def test_expiry_runs_once_and_both_sides_are_told(app, world, outbox):
    past = _pending(app, world, expires_at=utcnow() - timedelta(hours=1))
    future = _pending(app, world, sme="beta", expires_at=utcnow() + timedelta(days=2))
    with app.app_context():
        assert request_service.expire_due(utcnow()) == 1
        db.session.commit()
        assert the_request(past).status == "expired" and the_request(future).status == "pending"
        assert request_service.expire_due(utcnow()) == 0
        db.session.commit()
        assert any("expired" in n.subject for n in notices_to("alfa@example.eu"))
        assert any("expired" in n.subject for n in notices_to("gamma@example.eu"))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meeting_requests.status_changed"))
        assert entry.actor_id is None and entry.detail["new"] == "expired"
    assert len(mails_to(outbox, "alfa@example.eu")) == 1


def test_the_request_deadline_expires_every_pending_request_through_the_job(app, world):
    first = _pending(app, world)
    second = _pending(app, world, sme="beta", buyer="delta")
    with app.app_context():
        db.session.get(Event, world["event"]).request_deadline = utcnow() - timedelta(minutes=5)
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "events_request_expiry"])
    assert result.exit_code == 0 and "2 requests expired" in result.output, result.output
    with app.app_context():
        assert the_request(first).status == "expired" and the_request(second).status == "expired"
        assert request_service.expire_due(utcnow()) == 0


# --- home panel -----------------------------------------------------------------------------------------


def test_the_home_panel_lists_the_requests_to_answer(app, world):
    """The panel for SMEs and buyers (rendered on its own: the home page holds other teams' panels)."""
    from flask import render_template

    from opsapp.accounts.models import User
    from opsapp.core import home

    _pending(app, world)
    with app.test_request_context("/"):
        gamma = db.session.scalar(select(User).where(User.email == "gamma@example.eu"))
        [panel] = [p for p in home.panels_for(gamma) if str(p.title) == "Meeting requests to answer"]
        html = render_template(panel.template, panel=panel)
        assert "Alfa S.p.A." in html and "1 meeting request waits for your answer" in html
        assert f"/events/{world['event']}/requests" in html
        alfa = db.session.scalar(select(User).where(User.email == "alfa@example.eu"))
        assert not [p for p in home.panels_for(alfa) if str(p.title) == "Meeting requests to answer"]


# --- the pages themselves -----------------------------------------------------------------------------


def _well_formed(html: str) -> None:
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert html.count("<h1") == 1
    assert ">None<" not in html and "style=" not in html and "<script>" not in html


def test_every_page_has_unique_ids_and_one_title(app, world):
    _pending(app, world)
    _pending(app, world, sme="beta", buyer="gamma", by=Side.BUYER)
    event = world["event"]
    pages = {
        "alfa@example.eu": [f"/events/{event}/requests", f"/events/{event}/marketplace", new_url(world, "delta"),
                            f"/events/{event}/profiles/{world['gamma']}"],
        "gamma@example.eu": [f"/events/{event}/requests", f"/events/{event}/marketplace"],
        "staff@example.eu": [f"/events/{event}/requests", f"/events/{event}/marketplace",
                             STAFF_NEW.format(event), f"/events/{event}/profiles/{world['alfa']}"],
    }
    for email, paths in pages.items():
        client = client_of(app, email)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (email, path)
            _well_formed(text(r))


def test_staff_opening_the_participant_form_go_to_their_own(app, world):
    staff = client_of(app, "staff@example.eu")
    r = staff.get(new_url(world, "gamma"))
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/events/{world['event']}/requests/staff-new?buyer={world['gamma']}")
    page = text(staff.get(r.headers["Location"]))
    assert re.search(rf'<option selected value="{world["gamma"]}">|<option value="{world["gamma"]}" selected>', page)
