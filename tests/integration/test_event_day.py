"""The event day through the browser's eyes: the check-in list (search, filters, counts, mark
and undo, audited, open only in its phases), the job that marks meetings held, and no-shows
(refused before the slot, reported by a side or staff, told to the other side and staff,
404 for anyone outside the meeting)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events import day
from opsapp.events.models import EventPhase, Meeting, MeetingStatus, Participant, Side
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_meeting, make_participant, make_request


def _participant(event, side, email, name, **fields):
    user = make_user(email, roles=[Role.APPLICANT] if side is Side.SME else [Role.BUYER], full_name=name + " Person")
    organisation = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", owner=user,
                                     legal_name=name)
    return make_participant(event, side, user=user, organisation=organisation, **fields)


def _event(app, phase=EventPhase.EVENT_DAY, first_day: date | None = None) -> dict:
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        event = make_event(phase=phase, first_day=first_day, agendas_published_at=utcnow() - timedelta(days=3))
        alfa = _participant(event, Side.SME, "alfa@example.eu", "Alfa Sensori S.r.l.")
        beta = _participant(event, Side.SME, "beta@example.eu", "Beta Robotica S.r.l.")
        gamma = _participant(event, Side.SME, "gamma@example.eu", "Gamma Tessile S.r.l.")
        buyer = _participant(event, Side.BUYER, "buyer@example.eu", "Grande Acquirente S.p.A.")
        m1 = make_meeting(make_request(alfa, buyer), event.slots[0], table=1)
        m2 = make_meeting(make_request(beta, buyer), event.slots[1], table=1)
        db.session.commit()
        return {"event": event.id, "alfa": alfa.id, "beta": beta.id, "gamma": gamma.id, "buyer": buyer.id,
                "m1": m1.id, "m2": m2.id}


def _post(client, path, data, page):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- check-in -------------------------------------------------------------------------------------------


def test_checkin_lists_counts_searches_and_marks(app, client):
    ids = _event(app)
    login(client, "staff@example.eu")
    page_url = f"/events/{ids['event']}/check-in"
    page = client.get(page_url).get_data(as_text=True)
    assert "0 of 4 arrived" in page
    assert all(n in page for n in ("Alfa Sensori", "Beta Robotica", "Gamma Tessile", "Grande Acquirente"))

    response = _post(client, f"/events/{ids['event']}/check-in/mark",
                     {"participant_id": ids["alfa"], "arrived": "yes", "keep_q": "alfa"}, page_url)
    assert response.status_code == 302 and "q=alfa" in response.headers["Location"]
    page = client.get(page_url).get_data(as_text=True)
    assert "1 of 4 arrived" in page and "Alfa Sensori S.r.l. is marked as arrived." in page
    with app.app_context():
        alfa = db.session.get(Participant, ids["alfa"])
        assert alfa.checked_in_at is not None and alfa.checked_in_by_id is not None
        assert _count(AuditEntry, AuditEntry.action == "event_participants.checked_in") == 1

    searched = client.get(page_url + "?q=robot").get_data(as_text=True)
    assert "Beta Robotica" in searched and "Alfa Sensori" not in searched
    arrived = client.get(page_url + "?arrived=yes").get_data(as_text=True)
    assert "Alfa Sensori" in arrived and "Beta Robotica" not in arrived
    waiting = client.get(page_url + "?arrived=no&side=buyer").get_data(as_text=True)
    assert "Grande Acquirente" in waiting and "Gamma Tessile" not in waiting
    assert client.get(page_url + "?side=nonsense&arrived=maybe").status_code == 200

    _post(client, f"/events/{ids['event']}/check-in/mark", {"participant_id": ids["alfa"], "arrived": "no"}, page_url)
    assert "0 of 4 arrived" in client.get(page_url).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Participant, ids["alfa"]).checked_in_at is None
        assert _count(AuditEntry, AuditEntry.action == "event_participants.check_in_undone") == 1


def test_checkin_is_refused_outside_its_phases(app, client):
    ids = _event(app, phase=EventPhase.BOOKING)
    login(client, "staff@example.eu")
    page_url = f"/events/{ids['event']}/check-in"
    assert "Check-in is open once the agendas are published" in client.get(page_url).get_data(as_text=True)
    response = _post(client, f"/events/{ids['event']}/check-in/mark",
                     {"participant_id": ids["alfa"], "arrived": "yes"}, page_url)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Participant, ids["alfa"]).checked_in_at is None


def test_checkin_is_for_staff_and_other_events_participants_are_404(app, client):
    ids = _event(app)
    with app.app_context():
        other = make_event(phase=EventPhase.EVENT_DAY)
        stranger = make_participant(other, Side.SME)
        db.session.commit()
        stranger_id = stranger.id
    participant = app.test_client()
    login(participant, "alfa@example.eu")
    assert participant.get(f"/events/{ids['event']}/check-in").status_code == 403
    login(client, "staff@example.eu")
    response = _post(client, f"/events/{ids['event']}/check-in/mark",
                     {"participant_id": stranger_id, "arrived": "yes"}, f"/events/{ids['event']}/check-in")
    assert response.status_code == 404


# --- meetings held ---------------------------------------------------------------------------------------


def test_mark_held_turns_ended_meetings_held_once(app):
    ids = _event(app, first_day=(utcnow() - timedelta(days=1)).date())
    with app.app_context():
        future = make_event(phase=EventPhase.EVENT_DAY)  # slots not ended yet
        a, b = make_participant(future, Side.SME), make_participant(future, Side.BUYER)
        later = make_meeting(make_request(a, b), future.slots[0])
        booking = make_event(phase=EventPhase.AGENDAS_PUBLISHED, first_day=(utcnow() - timedelta(days=1)).date())
        c, d = make_participant(booking, Side.SME), make_participant(booking, Side.BUYER)
        other_phase = make_meeting(make_request(c, d), booking.slots[0])
        db.session.commit()
        assert day.mark_held(utcnow()) == 2
        db.session.commit()
        assert day.mark_held(utcnow()) == 0
        assert db.session.get(Meeting, ids["m1"]).status == MeetingStatus.HELD.value
        assert db.session.get(Meeting, later.id).status == MeetingStatus.SCHEDULED.value
        assert db.session.get(Meeting, other_phase.id).status == MeetingStatus.SCHEDULED.value
        assert _count(AuditEntry, AuditEntry.action == "meetings.status_changed") == 2


# --- no-shows --------------------------------------------------------------------------------------------------


def test_a_no_show_before_the_slot_starts_is_refused(app, client):
    ids = _event(app, phase=EventPhase.AGENDAS_PUBLISHED)  # the event is in a month
    login(client, "alfa@example.eu")
    agenda = f"/events/{ids['event']}/agenda"
    response = _post(client, f"/events/meetings/{ids['m1']}/no-show", {"note": "They never came"}, agenda)
    assert response.status_code == 302
    page = client.get(agenda).get_data(as_text=True)
    assert "only once its slot has started" in page
    with app.app_context():
        meeting = db.session.get(Meeting, ids["m1"])
        assert meeting.status == MeetingStatus.SCHEDULED.value and meeting.no_show_reported_at is None
        assert _count(Notification) == 0


def test_a_side_reports_a_no_show_and_the_other_side_and_staff_are_told(app, client, outbox):
    ids = _event(app, first_day=(utcnow() - timedelta(days=1)).date())
    login(client, "alfa@example.eu")
    agenda = f"/events/{ids['event']}/agenda"
    assert "It did not happen" in client.get(agenda).get_data(as_text=True)
    response = _post(client, f"/events/meetings/{ids['m1']}/no-show", {"note": "Nobody at the table"}, agenda)
    assert response.status_code == 302
    assert "recorded as not having happened" in client.get(agenda).get_data(as_text=True)
    with app.app_context():
        meeting = db.session.get(Meeting, ids["m1"])
        assert meeting.status == MeetingStatus.NO_SHOW.value
        assert meeting.no_show_reported_by_id == ids["alfa"] and meeting.no_show_reported_at is not None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.status_changed"))
        assert entry.detail["new"] == "no_show" and entry.detail["note"] == "Nobody at the table"
        assert _count(Notification) == 2  # the buyer's member and the staff member, in the app too
    emails = _recipients(outbox())
    assert emails == {"buyer@example.eu", "staff@example.eu"}
    buyer_mail = next(m for m in outbox() if m["To"] == "buyer@example.eu")
    assert "Alfa Sensori S.r.l. said that your meeting" in buyer_mail.get_body(("plain",)).get_content()
    assert "Nobody at the table" in buyer_mail.get_body(("plain",)).get_content()
    # A second report is refused; the meeting stays as it is.
    _post(client, f"/events/meetings/{ids['m1']}/no-show", {}, agenda)
    assert "already recorded" in client.get(agenda).get_data(as_text=True)


def _recipients(messages) -> set[str]:
    return {str(message["To"]) for message in messages}


def test_staff_may_report_a_held_meeting_as_a_no_show(app, client, outbox):
    ids = _event(app, first_day=(utcnow() - timedelta(days=1)).date())
    with app.app_context():
        day.mark_held(utcnow())
        db.session.commit()
    login(client, "staff@example.eu")
    agenda = f"/events/{ids['event']}/agenda?participant={ids['beta']}"
    _post(client, f"/events/meetings/{ids['m2']}/no-show", {"note": "Checked with both"}, agenda)
    with app.app_context():
        meeting = db.session.get(Meeting, ids["m2"])
        assert meeting.status == MeetingStatus.NO_SHOW.value and meeting.no_show_reported_by_id is None
    emails = _recipients(outbox())
    assert {"beta@example.eu", "buyer@example.eu"} <= emails and "staff@example.eu" not in emails


def test_no_show_is_refused_once_the_event_is_closed(app, client):
    """Review fix: a closed event "can no longer be changed"; a held meeting stayed open to a no-show."""
    ids = _event(app, phase=EventPhase.CLOSED, first_day=(utcnow() - timedelta(days=30)).date())
    with app.app_context():
        db.session.get(Meeting, ids["m1"]).status = MeetingStatus.HELD.value
        db.session.commit()
    login(client, "alfa@example.eu")
    agenda = f"/events/{ids['event']}/agenda"
    assert "Record that it did not happen" not in client.get(agenda).get_data(as_text=True)
    _post(client, f"/events/meetings/{ids['m1']}/no-show", {"note": "Late idea"}, agenda)
    assert "The event is closed" in client.get(agenda).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Meeting, ids["m1"]).status == MeetingStatus.HELD.value
        assert _count(Notification) == 0


def test_someone_outside_the_meeting_gets_404(app, client):
    ids = _event(app, first_day=(utcnow() - timedelta(days=1)).date())
    login(client, "gamma@example.eu")
    response = _post(client, f"/events/meetings/{ids['m1']}/no-show", {}, f"/events/{ids['event']}/agenda")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Meeting, ids["m1"]).status == MeetingStatus.SCHEDULED.value
