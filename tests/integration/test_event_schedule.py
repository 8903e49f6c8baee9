"""Running the scheduler on an event and changing its grid, through the browser's eyes: the
problem read from the database, a run that respects every rule and explains what it left
out, re-runs around locked meetings, moves, swaps and placements refused on conflict with
nothing changed, cancellations after publication that offer the slot to the waiting list,
participants cancelling only their own meetings, and a grid page that stays fast."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from benchmarks.util import count_queries
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events import conflicts, schedule, schedule_runs
from opsapp.events.models import (
    Event,
    EventPhase,
    EventSlot,
    Meeting,
    MeetingRequest,
    MeetingStatus,
    Participant,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    Side,
)
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_meeting, make_participant, make_request

# --- helpers ---------------------------------------------------------------------------------


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page, **kwargs):
    """POST like a browser: the CSRF token comes from the page the form is on."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def flashes(response) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'class="alert alert-[a-z]+">(.*?)</div>',
                                                                 page_text(response), re.S))


def live(event_id: int) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.event_id == event_id,
                                                         Meeting.status != "cancelled").order_by(Meeting.id)))


def snapshot(event_id: int) -> list[tuple]:
    return [(m.id, m.slot_id, m.table_number, m.status, m.locked) for m in db.session.scalars(
        select(Meeting).where(Meeting.event_id == event_id).order_by(Meeting.id))]


def slots_of(event_id: int) -> list[EventSlot]:
    return list(db.session.scalars(select(EventSlot).where(EventSlot.event_id == event_id)
                                   .order_by(EventSlot.starts_at)))


def check_grid(event_id: int) -> None:
    """Every rule holds on the event's live meetings (the same check the grid page uses)."""
    event = db.session.get(Event, event_id)
    state = schedule.GridState.load(event)
    assert conflicts.find(state.placed, state.rules) == []
    for m in state.meetings:
        assert m.request.status == RequestStatus.ACCEPTED.value
        assert (m.sme_id, m.buyer_id) == (m.request.sme_id, m.request.buyer_id)


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def participant(event: Event, side: Side, name: str, email: str, **fields) -> Participant:
    user = make_user(email, roles=(Role.APPLICANT,) if side is Side.SME else (Role.BUYER,), full_name=name + " Person")
    org = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", members=[user], legal_name=name)
    return make_participant(event, side, user=user, organisation=org, **fields)


@pytest.fixture
def world(app):
    """An event in the scheduling phase (one day, 9 slots from 09:00, 4 tables): SMEs Rossi,
    Bianchi and Verdi, buyers Acme and Beta, accepted requests between them, staff."""
    with app.app_context():
        staff = make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        event = make_event(phase=EventPhase.SCHEDULING, name="Meet the Buyer Torino")
        rossi = participant(event, Side.SME, "Rossi S.r.l.", "rossi@example.eu")
        bianchi = participant(event, Side.SME, "Bianchi S.r.l.", "bianchi@example.eu")
        verdi = participant(event, Side.SME, "Verdi S.r.l.", "verdi@example.eu")
        acme = participant(event, Side.BUYER, "Acme Buyer S.p.A.", "acme@example.eu")
        beta = participant(event, Side.BUYER, "Beta Procurement S.p.A.", "beta@example.eu")
        outsider = participant(make_event(phase=EventPhase.SCHEDULING), Side.SME, "Altro S.r.l.",
                               "altro@example.eu")
        requests = {
            "rossi-acme": make_request(rossi, acme, priority=5).id,
            "rossi-beta": make_request(rossi, beta, priority=3).id,
            "bianchi-acme": make_request(bianchi, acme, priority=4).id,
            "bianchi-beta": make_request(bianchi, beta, priority=1).id,
            "verdi-acme": make_request(verdi, acme, priority=2).id,
        }
        db.session.commit()
        return {"event": event.id, "staff": staff.id, "rossi": rossi.id, "bianchi": bianchi.id,
                "verdi": verdi.id, "acme": acme.id, "beta": beta.id, "outsider": outsider.id,
                "slots": [s.id for s in slots_of(event.id)], **requests}


@pytest.fixture
def staff_client(app, world):
    return client_of(app, "staff@example.eu")


def run_via_page(client, world):
    page = f"/events/{world['event']}/schedule"
    return post(client, f"{page}/run", {}, page, follow_redirects=True)


# --- the problem -------------------------------------------------------------------------------


def test_build_problem_reflects_availability_limits_locks_and_who_takes_part(app, world):
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.buyer_max_meetings, event.sme_max_meetings = 6, None
        rossi, acme, verdi = (db.session.get(Participant, world[k]) for k in ("rossi", "acme", "verdi"))
        slots = slots_of(event.id)
        rossi.unavailable_slots = [slots[0], slots[1]]
        rossi.max_meetings = 2
        verdi.status = ParticipantStatus.WITHDRAWN.value  # its request is left out
        db.session.get(MeetingRequest, world["bianchi-beta"]).status = RequestStatus.DECLINED.value
        db.session.flush()
        make_request(db.session.get(Participant, world["bianchi"]), db.session.get(Participant, world["beta"]),
                     status=RequestStatus.PENDING)  # not accepted: left out
        locked = make_meeting(db.session.get(MeetingRequest, world["rossi-acme"]), slots[4], table=3, locked=True)
        make_meeting(db.session.get(MeetingRequest, world["bianchi-acme"]), slots[5], table=1)  # unlocked
        db.session.commit()

        problem = schedule_runs.build_problem(event)
        assert [s.id for s in problem.slots] == [s.key for s in slots]
        assert {s.tables for s in problem.slots} == {4}
        people = {p.id: p for p in problem.participants}
        assert set(people) == {rossi.key, acme.key, f"p{world['bianchi']}", f"p{world['beta']}"}
        assert people[rossi.key].available == frozenset(s.key for s in slots[2:])
        assert people[rossi.key].max_meetings == 2  # its own limit
        assert people[acme.key].max_meetings == 6  # the event's limit for buyers
        assert people[f"p{world['bianchi']}"].max_meetings is None
        assert people[acme.key].side == "buyer" and people[rossi.key].side == "sme"
        requests = {r.id: r for r in problem.requests}
        assert set(requests) == {f"r{world[k]}" for k in ("rossi-acme", "rossi-beta", "bianchi-acme")}
        assert requests[f"r{world['rossi-acme']}"].priority == 5
        assert requests[f"r{world['rossi-beta']}"].sme == rossi.key
        assert [(m.request, m.slot, m.table) for m in problem.locked] == [
            (f"r{locked.request_id}", slots[4].key, 3)]


def test_a_locked_meeting_in_a_slot_marked_unavailable_later_is_kept_not_refused(app, world):
    with app.app_context():
        event = db.session.get(Event, world["event"])
        slots = slots_of(event.id)
        rossi = db.session.get(Participant, world["rossi"])
        make_meeting(db.session.get(MeetingRequest, world["rossi-acme"]), slots[0], locked=True)
        rossi.unavailable_slots = [slots[0]]
        rossi.max_meetings = 0
        db.session.commit()
        problem = schedule_runs.build_problem(event)
        spec = next(p for p in problem.participants if p.id == rossi.key)
        assert slots[0].key in spec.available and spec.max_meetings == 1
        staff = db.session.get(type(rossi.contact), world["staff"])
        run = schedule_runs.run(staff, event, time_limit=2)
        db.session.commit()
        assert run.status == "done"
        [kept] = [m for m in live(event.id) if m.locked]
        assert kept.slot_id == slots[0].id


# --- running the scheduler -----------------------------------------------------------------------


def test_a_run_places_meetings_under_every_rule_and_explains_the_rest(app, world, staff_client, outbox):
    with app.app_context():
        # Verdi can attend only the first slot, Acme every slot but the first: they cannot meet.
        slots = slots_of(world["event"])
        db.session.get(Participant, world["verdi"]).unavailable_slots = slots[1:]
        db.session.get(Participant, world["acme"]).unavailable_slots = slots[:1]
        db.session.commit()
    r = run_via_page(staff_client, world)
    assert r.status_code == 200
    text = page_text(r)
    assert "The schedule is ready" in text
    assert "4 of 5 accepted requests scheduled; objective 13, proved optimal" in text
    with app.app_context():
        check_grid(world["event"])
        meetings = live(world["event"])
        assert {m.request_id for m in meetings} == {world[k] for k in ("rossi-acme", "rossi-beta", "bianchi-acme",
                                                                       "bianchi-beta")}
        left = db.session.get(MeetingRequest, world["verdi-acme"])
        assert left.unscheduled_reason == "Verdi S.r.l. and Acme Buyer S.p.A. cannot attend any slot in common."
        assert db.session.get(MeetingRequest, world["rossi-acme"]).unscheduled_reason is None
        run = db.session.scalar(select(ScheduleRun))
        assert (run.status, run.requests, run.scheduled, run.objective, run.upper_bound, run.optimal) == (
            "done", 5, 4, 13, 13, True)
        assert run.finished_at is not None and run.seconds is not None and run.started_by_id == world["staff"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "events.schedule_run"))
        assert entry.detail["scheduled"] == 4 and entry.detail["objective"] == 13 and entry.detail["optimal"]
        assert entry.actor_id == world["staff"]
    [mail] = mails_to(outbox, "staff@example.eu")
    assert "Schedule ready for Meet the Buyer Torino" in mail["Subject"]
    assert f"/events/{world['event']}/schedule" in body(mail)
    # The grid shows the meetings and the request left out, with its reason.
    grid = page_text(staff_client.get(f"/events/{world['event']}/schedule"))
    assert grid.count('id="meeting-') == 4
    assert "cannot attend any slot in common" in grid and "No free slot for both" in grid
    assert "Table 1" in grid and "Priority 5" in grid


def test_a_rerun_keeps_locked_meetings_and_replaces_the_others(app, world, staff_client):
    run_via_page(staff_client, world)
    with app.app_context():
        first = {m.request_id: m for m in live(world["event"])}
        kept = first[world["bianchi-acme"]]
        kept_place = (kept.id, kept.slot_id, kept.table_number)
    page = f"/events/meetings/{kept_place[0]}/move"
    r = post(staff_client, f"/events/meetings/{kept_place[0]}/lock", {"locked": "1"}, page, follow_redirects=True)
    assert "The meeting is locked" in page_text(r)
    r = run_via_page(staff_client, world)
    assert "5 of 5 accepted requests scheduled" in page_text(r)
    with app.app_context():
        again = {m.request_id: m for m in live(world["event"])}
        locked = again[world["bianchi-acme"]]
        assert (locked.id, locked.slot_id, locked.table_number) == kept_place and locked.locked
        second = db.session.scalars(select(ScheduleRun).order_by(ScheduleRun.id.desc())).first()
        others = [m for m in again.values() if not m.locked]
        assert len(others) == 4 and all(m.created_at >= second.started_at for m in others)  # replaced
        check_grid(world["event"])
        assert db.session.scalar(select(func.count(ScheduleRun.id))) == 2
        assert "events.meeting_locked" in actions()


def test_the_scheduler_runs_in_the_scheduling_phase_only_and_one_run_at_a_time(app, world, staff_client):
    with app.app_context():
        db.session.get(Event, world["event"]).phase = EventPhase.AGENDAS_PUBLISHED.value
        db.session.commit()
    r = run_via_page(staff_client, world)
    assert "runs in the scheduling phase only" in page_text(r)
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.phase = EventPhase.SCHEDULING.value
        db.session.add(ScheduleRun(event_id=event.id, status="running", started_by_id=world["staff"]))
        db.session.commit()
    page = page_text(staff_client.get(f"/events/{world['event']}/schedule"))
    assert "data-schedule-status=" in page and "Refresh the page" in page
    status = staff_client.get(f"/events/{world['event']}/schedule/status").get_json()
    assert status["running"] is True
    r = run_via_page(staff_client, world)
    assert "The scheduler is running on this event" in page_text(r)
    with app.app_context():
        assert live(world["event"]) == []
        # A run lost long ago (the server restarted) no longer blocks.
        stale = db.session.scalar(select(ScheduleRun))
        stale.started_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    assert staff_client.get(f"/events/{world['event']}/schedule/status").get_json()["running"] is False
    r = run_via_page(staff_client, world)
    assert "The schedule is ready" in page_text(r)
    with app.app_context():
        assert [r.status for r in db.session.scalars(select(ScheduleRun).order_by(ScheduleRun.id))] == [
            "failed", "done"]


def test_a_background_run_solves_outside_the_request_and_tells_the_starter(app, world, outbox):
    with app.app_context():
        staff = db.session.get(type(db.session.get(Participant, world["rossi"]).contact), world["staff"])
        event = db.session.get(Event, world["event"])
        run = schedule_runs.start_run(staff, event)
        db.session.commit()
        thread = schedule_runs.run_in_background(run.id, 2.0)
        db.session.remove()
    thread.join(60)
    with app.app_context():
        run = db.session.scalar(select(ScheduleRun))
        assert run.status == "done" and run.scheduled == 5
        check_grid(world["event"])
    assert len(mails_to(outbox, "staff@example.eu")) == 1


def test_only_staff_see_the_grid(app, world):
    for email in ("rossi@example.eu", "acme@example.eu"):
        client = client_of(app, email)
        assert client.get(f"/events/{world['event']}/schedule").status_code == 403
        assert client.get(f"/events/{world['event']}/schedule/status").status_code == 403


# --- changing the grid -----------------------------------------------------------------------------


@pytest.fixture
def placed(app, world):
    """Rossi meets Acme at 09:00 table 1, Bianchi meets Beta at 09:20 table 1, Rossi meets Beta
    at 09:40 table 2; Bianchi-Acme and Verdi-Acme wait."""
    with app.app_context():
        slots = slots_of(world["event"])
        ids = {
            "m1": make_meeting(db.session.get(MeetingRequest, world["rossi-acme"]), slots[0], 1).id,
            "m2": make_meeting(db.session.get(MeetingRequest, world["bianchi-beta"]), slots[1], 1).id,
            "m3": make_meeting(db.session.get(MeetingRequest, world["rossi-beta"]), slots[2], 2).id,
        }
        db.session.commit()
        return ids


def test_a_move_into_a_conflict_is_refused_with_a_clear_message_and_nothing_changes(app, world, placed,
                                                                                       staff_client):
    slots = world["slots"]
    page = f"/events/meetings/{placed['m3']}/move"
    with app.app_context():
        before = snapshot(world["event"])
    # Rossi already meets Acme at 09:00: the select does not offer it, the server refuses it.
    assert f'<option data-tables="2 3 4" value="{slots[0]}"' not in page_text(staff_client.get(page))
    r = post(staff_client, page, {"slot": str(slots[0]), "table": "2"}, page)
    assert r.status_code == 200
    assert "Rossi S.r.l. already has a meeting at 09:00" in page_text(r)
    r = post(staff_client, page, {"slot": str(slots[1]), "table": "3"}, page)
    assert "Beta Procurement S.p.A. already has a meeting at 09:20" in page_text(r)
    with app.app_context():
        make_meeting(db.session.get(MeetingRequest, world["verdi-acme"]), db.session.get(EventSlot, slots[3]), 1)
        db.session.commit()
        before = snapshot(world["event"])
    r = post(staff_client, page, {"slot": str(slots[3]), "table": "1"}, page)
    assert "Table 1 already holds a meeting at 10:00" in page_text(r)
    r = post(staff_client, page, {"slot": str(slots[3]), "table": "9"}, page)
    assert "Choose a table between 1 and 4" in page_text(r)
    with app.app_context():
        assert snapshot(world["event"]) == before
        db.session.get(Participant, world["beta"]).unavailable_slots = [db.session.get(EventSlot, slots[5])]
        db.session.commit()
    r = post(staff_client, page, {"slot": str(slots[5]), "table": "0"}, page)
    assert "Beta Procurement S.p.A. cannot attend at 10:40" in page_text(r)
    # A free place: the meeting moves there.
    r = post(staff_client, page, {"slot": str(slots[6]), "table": "0"}, page, follow_redirects=True)
    assert "The meeting has moved to 11:00–11:20, table 1" in page_text(r)
    with app.app_context():
        moved = db.session.get(Meeting, placed["m3"])
        assert (moved.slot_id, moved.table_number) == (slots[6], 1)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "events.meeting_moved"))
        assert entry.detail["from_slot"] == slots[2] and entry.detail["to_slot"] == slots[6]
        check_grid(world["event"])


def test_a_move_over_a_maximum_or_into_a_past_slot_is_refused(app, world, placed, staff_client):
    with app.app_context():
        bianchi = make_request(db.session.get(Participant, world["verdi"]),
                               db.session.get(Participant, world["beta"]))
        bianchi_id = bianchi.id
        db.session.get(Participant, world["beta"]).max_meetings = 2
        db.session.commit()
    page = f"/events/{world['event']}/schedule"
    r = post(staff_client, f"/events/requests/{bianchi_id}/place", {"slot": str(world["slots"][4]), "table": "0"},
             page, follow_redirects=True)
    assert "Beta Procurement S.p.A. would have 3 meetings, over its maximum of 2." in flashes(r)
    with app.app_context():
        assert len(live(world["event"])) == 3
        slot = db.session.get(EventSlot, world["slots"][3])
        slot.starts_at, slot.ends_at = utcnow() - timedelta(hours=1), utcnow() - timedelta(minutes=40)
        db.session.commit()
    r = post(staff_client, f"/events/meetings/{placed['m3']}/move", {"slot": str(world["slots"][3]), "table": "3"},
             f"/events/meetings/{placed['m3']}/move")
    assert "That slot has already started" in page_text(r)


def test_swap_exchanges_slots_and_tables_or_is_refused_on_conflict(app, world, placed, staff_client):
    page = f"/events/meetings/{placed['m1']}/move"
    with app.app_context():
        before = snapshot(world["event"])
    html = page_text(staff_client.get(page))
    # Swapping Rossi-Acme (09:00) with Rossi-Beta (09:40) is fine; with Bianchi-Beta (09:20) too.
    assert f'value="{placed["m3"]}"' in html and f'value="{placed["m2"]}"' in html
    with app.app_context():
        # Acme gets another meeting at 09:20: then m1 cannot go to 09:20.
        extra = make_meeting(db.session.get(MeetingRequest, world["verdi-acme"]),
                             db.session.get(EventSlot, world["slots"][1]), 2)
        extra_id = extra.id
        db.session.commit()
        before = snapshot(world["event"])
    r = post(staff_client, f"/events/meetings/{placed['m1']}/swap", {"other": str(placed["m2"])}, page)
    assert r.status_code == 200 and "Acme Buyer S.p.A. already has a meeting at 09:20" in page_text(r)
    with app.app_context():
        assert snapshot(world["event"]) == before
    r = post(staff_client, f"/events/meetings/{placed['m1']}/swap", {"other": str(placed["m3"])}, page,
             follow_redirects=True)
    assert "exchanged their slots and tables" in page_text(r)
    with app.app_context():
        m1, m3 = db.session.get(Meeting, placed["m1"]), db.session.get(Meeting, placed["m3"])
        assert (m1.slot_id, m1.table_number) == (world["slots"][2], 2)
        assert (m3.slot_id, m3.table_number) == (world["slots"][0], 1)
        assert m1.status == m3.status == "scheduled"
        assert db.session.get(Meeting, extra_id).slot_id == world["slots"][1]
        check_grid(world["event"])
        assert "events.meetings_swapped" in actions()


def test_place_puts_a_waiting_request_on_the_grid_or_says_why_not(app, world, placed, staff_client, outbox):
    grid = f"/events/{world['event']}/schedule"
    html = page_text(staff_client.get(grid))
    assert f'action="/events/requests/{world["bianchi-acme"]}/place"' in html
    # Bianchi meets Beta at 09:20: placing Bianchi-Acme there is refused.
    r = post(staff_client, f"/events/requests/{world['bianchi-acme']}/place",
             {"slot": str(world["slots"][1]), "table": "3"}, grid, follow_redirects=True)
    assert "Bianchi S.r.l. already has a meeting at 09:20" in flashes(r)
    with app.app_context():
        assert len(live(world["event"])) == 3
    r = post(staff_client, f"/events/requests/{world['bianchi-acme']}/place",
             {"slot": str(world["slots"][3]), "table": "4"}, grid, follow_redirects=True)
    assert "is placed at 10:00–10:20, table 4" in flashes(r)
    r = post(staff_client, f"/events/requests/{world['bianchi-acme']}/place",
             {"slot": str(world["slots"][4]), "table": "0"}, grid, follow_redirects=True)
    assert "This request already has a meeting" in flashes(r)
    with app.app_context():
        [meeting] = [m for m in live(world["event"]) if m.request_id == world["bianchi-acme"]]
        assert (meeting.slot_id, meeting.table_number) == (world["slots"][3], 4)
        check_grid(world["event"])
    assert outbox() == []  # before publication nobody is told


# --- cancellations ------------------------------------------------------------------------------


def publish(event_id: int) -> None:
    event = db.session.get(Event, event_id)
    event.phase = EventPhase.AGENDAS_PUBLISHED.value
    event.agendas_published_at = utcnow()
    db.session.commit()


def test_a_cancellation_after_publication_offers_the_slot_to_the_best_waiting_request(app, world, placed,
                                                                                        staff_client, outbox):
    with app.app_context():
        # Waiting: Bianchi-Acme (priority 4) and Verdi-Acme (priority 2). Bianchi is busy at 09:20,
        # so when Bianchi-Beta (09:20) is cancelled... Bianchi frees itself: both could go; the higher wins.
        publish(world["event"])
    page = f"/events/meetings/{placed['m2']}/move"
    r = post(staff_client, f"/events/meetings/{placed['m2']}/cancel", {"reason": "Beta cannot come"}, page,
             follow_redirects=True)
    text = page_text(r)
    assert "The meeting is cancelled" in text
    assert "The freed slot went to the waiting request of Bianchi S.r.l. with Acme Buyer S.p.A." in text
    with app.app_context():
        cancelled = db.session.get(Meeting, placed["m2"])
        assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Beta cannot come"
        request = db.session.get(MeetingRequest, world["bianchi-beta"])
        assert request.status == "accepted"  # stays accepted, but gets no new meeting by itself
        [offered] = [m for m in live(world["event"]) if m.request_id == world["bianchi-acme"]]
        assert (offered.slot_id, offered.table_number) == (world["slots"][1], 1)
        assert not [m for m in live(world["event"]) if m.request_id == world["bianchi-beta"]]
        check_grid(world["event"])
        assert {"events.meeting_cancelled", "events.meeting_offered"} <= set(actions())
    cancelled_mails = [m for m in outbox() if "cancelled" in m["Subject"]]
    assert sorted(m["To"] for m in cancelled_mails) == ["beta@example.eu", "bianchi@example.eu"]
    assert "Beta cannot come" in body(cancelled_mails[0])
    added = [m for m in outbox() if m["Subject"] == "A meeting was added to your agenda"]
    assert sorted(m["To"] for m in added) == ["acme@example.eu", "bianchi@example.eu"]
    assert "waiting list" in body(added[0])
    # Cancelled again: the request of the cancelled meeting is never offered the slot back.
    with app.app_context():
        offered_id = offered.id
    r = post(staff_client, f"/events/meetings/{offered_id}/cancel", {"reason": "Acme changed plans"},
             f"/events/meetings/{offered_id}/move", follow_redirects=True)
    with app.app_context():
        # Verdi-Acme (priority 2) gets it; Bianchi-Beta and Bianchi-Acme do not come back.
        [verdi] = [m for m in live(world["event"]) if m.slot_id == world["slots"][1]]
        assert verdi.request_id == world["verdi-acme"]


def test_no_waiting_request_fits_leaves_the_slot_free(app, world, placed, staff_client, outbox):
    with app.app_context():
        for key in ("bianchi-acme", "verdi-acme"):
            db.session.get(MeetingRequest, world[key]).status = RequestStatus.WITHDRAWN.value
        publish(world["event"])
    post(staff_client, f"/events/meetings/{placed['m1']}/cancel", {"reason": "Illness"},
         f"/events/meetings/{placed['m1']}/move")
    with app.app_context():
        assert len(live(world["event"])) == 2
    assert not [m for m in outbox() if "added" in m["Subject"]]


def test_a_participant_cancels_only_their_own_meeting_after_publication_before_it_starts(app, world, placed,
                                                                                          outbox):
    url = f"/events/meetings/{placed['m1']}/cancel"
    rossi = client_of(app, "rossi@example.eu")
    # Before publication the participant does not see meetings.
    assert rossi.get(url).status_code == 404
    with app.app_context():
        publish(world["event"])
    # An outsider, and a participant of the event on neither side, get 404.
    assert client_of(app, "altro@example.eu").get(url).status_code == 404
    verdi = client_of(app, "verdi@example.eu")
    assert verdi.get(url).status_code == 404
    token = csrf_from(page_text(verdi.get("/")))
    assert verdi.post(url, data={"csrf_token": token, "reason": "Not mine"}).status_code == 404
    # The buyer's side (Acme) is also allowed; here Rossi, the SME, cancels.
    assert client_of(app, "acme@example.eu").get(url).status_code == 200
    r = post(rossi, url, {"reason": ""}, url)
    assert r.status_code == 200 and "Say why the meeting is cancelled" in page_text(r)
    r = post(rossi, url, {"reason": "Our CEO is ill"}, url)
    assert r.status_code == 302
    with app.app_context():
        meeting = db.session.get(Meeting, placed["m1"])
        assert meeting.status == "cancelled" and meeting.cancel_reason == "Our CEO is ill"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "events.meeting_cancelled"))
        assert entry.detail["by_participant"] is True
    assert [m["To"] for m in outbox() if "cancelled" in m["Subject"]].count("acme@example.eu") == 1
    # A meeting that has started can no longer be cancelled by a participant.
    with app.app_context():
        slot = db.session.get(EventSlot, world["slots"][2])
        slot.starts_at, slot.ends_at = utcnow() - timedelta(minutes=5), utcnow() + timedelta(minutes=15)
        db.session.commit()
    late = f"/events/meetings/{placed['m3']}/cancel"
    assert "can no longer be cancelled here" in page_text(rossi.get(late))
    r = post(rossi, late, {"reason": "Too late"}, late)
    assert "has already started" in page_text(r)
    with app.app_context():
        assert db.session.get(Meeting, placed["m3"]).status == "scheduled"


def test_staff_only_change_the_grid(app, world, placed):
    rossi = client_of(app, "rossi@example.eu")
    page = f"/events/meetings/{placed['m1']}/cancel"
    with app.app_context():
        publish(world["event"])
    token = csrf_from(page_text(rossi.get(page)))
    for path, data in ((f"/events/meetings/{placed['m1']}/move", {"slot": str(world["slots"][5])}),
                       (f"/events/meetings/{placed['m1']}/swap", {"other": str(placed["m2"])}),
                       (f"/events/meetings/{placed['m1']}/lock", {"locked": "1"}),
                       (f"/events/requests/{world['bianchi-acme']}/place", {"slot": str(world["slots"][5])}),
                       (f"/events/{world['event']}/schedule/run", {})):
        assert rossi.post(path, data={"csrf_token": token, **data}).status_code == 403
    with app.app_context():
        assert len(live(world["event"])) == 3 and not db.session.get(Meeting, placed["m1"]).locked


def test_changes_after_publication_tell_both_sides(app, world, placed, staff_client, outbox):
    with app.app_context():
        publish(world["event"])
    page = f"/events/meetings/{placed['m3']}/move"
    post(staff_client, page, {"slot": str(world["slots"][6]), "table": "2"}, page)
    moved = [m for m in outbox() if m["Subject"] == "A meeting of yours has moved"]
    assert sorted(m["To"] for m in moved) == ["beta@example.eu", "rossi@example.eu"]
    assert "11:00" in body(moved[0]) and "09:40" in body(moved[0])
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == 2


# --- the page and the home panel ------------------------------------------------------------------


def test_the_grid_shows_conflicts_with_a_text_marker(app, world, placed, staff_client):
    with app.app_context():
        rossi = db.session.get(Participant, world["rossi"])
        rossi.unavailable_slots = [db.session.get(EventSlot, world["slots"][0])]
        db.session.commit()
    html = page_text(staff_client.get(f"/events/{world['event']}/schedule"))
    assert "1 conflict" in html
    assert re.search(r"Rossi S.r.l. has a meeting at 09:00 CES?T but cannot attend then.", html)
    assert ">Conflict</span>" in html
    meeting = page_text(staff_client.get(f"/events/meetings/{placed['m1']}/move"))
    assert "Conflicts of this meeting" in meeting


def test_staff_home_lists_requests_to_schedule(app, world, placed, staff_client):
    html = page_text(staff_client.get("/"))
    assert "Requests to schedule" in html
    assert "Meet the Buyer Torino" in html and "2 accepted requests without a meeting" in html
    with app.app_context():
        for key in ("bianchi-acme", "verdi-acme"):
            db.session.get(MeetingRequest, world[key]).status = RequestStatus.WITHDRAWN.value
        db.session.commit()
    assert "Requests to schedule" not in page_text(staff_client.get("/"))


def test_the_grid_of_a_demo_sized_event_renders_in_few_queries(app):
    """60 SMEs, 20 buyers, 400 accepted requests over 2 days of 9 slots and 20 tables."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        event = make_event(days=2, tables=20, phase=EventPhase.SCHEDULING, day_end=time(12, 0))
        buyers = [make_participant(event, Side.BUYER) for _ in range(20)]
        smes = [make_participant(event, Side.SME) for _ in range(60)]
        pairs = set()
        n = 0
        while len(pairs) < 400:
            pairs.add((smes[n % 60].id, buyers[(n * 7 + n // 60) % 20].id))
            n += 1
        for sme_id, buyer_id in sorted(pairs):
            db.session.add(MeetingRequest(event_id=event.id, sme_id=sme_id, buyer_id=buyer_id, requested_by="sme",
                                          priority=1 + (sme_id + buyer_id) % 5, status="accepted"))
        db.session.commit()
        staff = db.session.scalar(select(type(smes[0].contact)).where(type(smes[0].contact).email
                                                                       == "staff@example.eu"))
        run = schedule_runs.run(staff, event, time_limit=5)
        db.session.commit()
        assert run.status == "done" and run.requests == 400
        event_id, scheduled = event.id, run.scheduled
        check_grid(event_id)
    client = client_of(app, "staff@example.eu")
    client.get(f"/events/{event_id}/schedule")  # warm caches (templates)
    with app.app_context():
        engine = db.engine
    with count_queries(engine) as counter:
        r = client.get(f"/events/{event_id}/schedule")
    assert r.status_code == 200
    assert page_text(r).count('id="meeting-') == scheduled
    assert counter["n"] <= 20, counter["n"]


def test_a_rerun_after_publication_keeps_the_replaced_meetings_as_cancelled_for_the_calendars(app, world,
                                                                                                staff_client):
    run_via_page(staff_client, world)
    with app.app_context():
        event = db.session.get(Event, world["event"])
        event.agendas_published_at = utcnow() - timedelta(hours=1)  # published once, then taken back
        db.session.commit()
        first = {m.id for m in live(world["event"])}
    r = run_via_page(staff_client, world)
    assert "5 of 5 accepted requests scheduled" in page_text(r)
    with app.app_context():
        replaced = db.session.scalars(select(Meeting).where(Meeting.id.in_(first))).all()
        assert replaced and all(m.status == MeetingStatus.CANCELLED.value and m.replaced_by_run_id for m in replaced)
        assert len(live(world["event"])) == 5  # every request placed again, none left out as "cancelled"
        check_grid(world["event"])


def test_only_meetings_the_participants_may_have_seen_reach_their_calendars(app, world, staff_client):
    """A meeting cancelled before the agendas were first published never shows (no CANCELLED event
    in the .ics, its cancel page 404 for its sides); one replaced by a run after the publication is
    sent as CANCELLED, so that calendars drop it."""
    from icalendar import Calendar

    run_via_page(staff_client, world)
    with app.app_context():
        early_id = db.session.scalar(select(Meeting.id).where(Meeting.request_id == world["rossi-beta"],
                                                              Meeting.status != "cancelled"))
    cancel = f"/events/meetings/{early_id}/cancel"
    r = post(staff_client, cancel, {"reason": "Beta asked before the agendas were out"},
             f"/events/meetings/{early_id}/move")
    assert r.status_code == 302
    event_page = f"/events/{world['event']}"
    post(staff_client, f"{event_page}/phase", {"phase": "agendas_published"}, page=event_page)
    post(staff_client, f"{event_page}/phase", {"phase": "scheduling"}, page=event_page)  # taken back to rework
    with app.app_context():
        verdi = db.session.get(Participant, world["verdi"])
        verdi.unavailable_slots = list(verdi.event.slots)  # Verdi can no longer come: no slot for Verdi-Acme
        db.session.commit()
        replaced_id = db.session.scalar(select(Meeting.id).where(Meeting.request_id == world["verdi-acme"],
                                                                 Meeting.status != "cancelled"))
    run_via_page(staff_client, world)
    post(staff_client, f"{event_page}/phase", {"phase": "agendas_published"}, page=event_page)
    with app.app_context():
        replaced = db.session.get(Meeting, replaced_id)
        assert replaced.status == "cancelled" and replaced.replaced_by_run_id is not None
        assert db.session.get(Event, world["event"]).phase == "agendas_published"

    def calendar(email) -> dict[str, str]:
        response = client_of(app, email).get(f"/events/{world['event']}/agenda.ics")
        assert response.status_code == 200
        return {str(v["UID"]): str(v["STATUS"]) for v in Calendar.from_ical(response.data).walk("VEVENT")}

    assert calendar("verdi@example.eu") == {f"meeting-request-{world['verdi-acme']}@opsapp": "CANCELLED"}
    rossi = calendar("rossi@example.eu")
    assert f"meeting-request-{world['rossi-beta']}@opsapp" not in rossi
    assert rossi[f"meeting-request-{world['rossi-acme']}@opsapp"] == "CONFIRMED"
    # The cancel page of a meeting its sides never saw answers 404 to them, not to staff.
    assert client_of(app, "rossi@example.eu").get(cancel).status_code == 404
    assert client_of(app, "beta@example.eu").get(cancel).status_code == 404
    assert staff_client.get(cancel).status_code == 200
    assert client_of(app, "verdi@example.eu").get(f"/events/meetings/{replaced_id}/cancel").status_code == 200


def test_a_run_lost_long_ago_is_marked_interrupted_in_words(app, world, staff_client):
    """The reasons a run failed are worded through gettext, not left as raw codes."""
    with app.app_context():
        stale = ScheduleRun(event_id=world["event"], status="running", started_at=utcnow() - timedelta(hours=2))
        db.session.add(stale)
        db.session.commit()
        stale_id = stale.id
    run_via_page(staff_client, world)
    with app.app_context():
        stale = db.session.get(ScheduleRun, stale_id)
        assert stale.status == "failed" and stale.error.startswith("Interrupted: the run did not finish")
