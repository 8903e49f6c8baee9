"""Event design and phases through the browser's eyes: creating and editing an event (bad input
shown next to its field, typed values kept, nothing saved), the slot grid and its
regeneration (refused once meetings exist; unavailability kept on slots that stay), the
cockpit and the participant's page, phase moves by staff (allowed, refused, audited,
notified) and on time by the job (one step per run, a rerun changes nothing), home panels.
Real database, real e-mails in the outbox, CSRF on."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import Membership
from opsapp.calls.models import ProgrammeKind
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import to_local, utcnow
from opsapp.events import design
from opsapp.events.models import (
    Event,
    EventPhase,
    EventSlot,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    ScheduleRunStatus,
    Side,
)
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_user
from tests.factories_calls import make_edition
from tests.factories_events import make_event, make_meeting, make_participant, make_request


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_error(response, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', page_text(response))
    return match.group(1).strip() if match else ""


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def world(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        edition = make_edition(2030, kind=ProgrammeKind.MEET_THE_BUYER)
        db.session.commit()
        return {"edition": edition.id}


@pytest.fixture
def staff_client(app, world):
    client = app.test_client()
    login(client, "staff@example.eu")
    return client


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def event_form(edition_id: int, **changes) -> dict:
    data = {
        "name": "Meet the Buyer Torino 2030", "description": "SMEs meet buyers.", "edition_id": str(edition_id),
        "call_id": "", "venue": "Lingotto Fiere, Turin", "online_url": "", "timezone": "Europe/Rome",
        "days": "2030-06-11, 2030-06-12", "day_start": "09:00", "day_end": "11:00", "slot_minutes": "20",
        "breaks": "10:00-10:20", "table_count": "6", "table_names": "Sala A\nSala B",
        "registration_deadline": "2030-05-20T18:00", "booking_opens_at": "2030-05-21T09:00",
        "request_deadline": "2030-06-05T18:00", "closes_at": "2030-07-31T18:00", "sme_request_quota": "8",
        "buyer_request_quota": "", "sme_max_meetings": "", "buyer_max_meetings": "12", "request_expiry_days": "4",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def edit_form_of(event: Event, **changes) -> dict:
    """The edit form as the page fills it for `event`, with some fields changed."""
    values = design.form_values(event)

    def stamp(value):
        return value.strftime("%Y-%m-%dT%H:%M") if value else ""

    data = {
        "name": values["name"], "description": values["description"], "edition_id": str(values["edition_id"]),
        "call_id": values["call_id"], "venue": values["venue"], "online_url": values["online_url"],
        "timezone": values["timezone"], "days": values["days"], "day_start": values["day_start"].strftime("%H:%M"),
        "day_end": values["day_end"].strftime("%H:%M"), "slot_minutes": str(values["slot_minutes"]),
        "breaks": values["breaks"], "table_count": str(values["table_count"]), "table_names": values["table_names"],
        "registration_deadline": stamp(values["registration_deadline"]),
        "booking_opens_at": stamp(values["booking_opens_at"]), "request_deadline": stamp(values["request_deadline"]),
        "closes_at": stamp(values["closes_at"]), "sme_request_quota": str(values["sme_request_quota"]),
        "buyer_request_quota": "", "sme_max_meetings": "", "buyer_max_meetings": str(values["buyer_max_meetings"]),
        "request_expiry_days": str(values["request_expiry_days"]),
    }
    data.update(changes)
    return data


# --- creating and editing -------------------------------------------------------------------


def test_staff_create_an_event_and_see_its_grid(app, world, staff_client):
    assert staff_client.get("/events/new").status_code == 200
    r = post(staff_client, "/events/new", event_form(world["edition"]))
    assert r.status_code == 302, page_text(r)
    with app.app_context():
        event = db.session.scalar(select(Event))
        assert event.name == "Meet the Buyer Torino 2030" and event.phase == "preparation"
        assert event.days == ["2030-06-11", "2030-06-12"]
        assert event.breaks == [{"start": "10:00", "end": "10:20"}]
        assert event.table_names == ["Sala A", "Sala B"] and event.table_name(3) == "3"
        # 09:00-11:00 in 20 minutes, minus the 10:00-10:20 break: 5 slots a day, two days.
        local = [to_local(s.starts_at, "Europe/Rome").strftime("%m-%d %H:%M") for s in event.slots]
        assert local == ["06-11 09:00", "06-11 09:20", "06-11 09:40", "06-11 10:20", "06-11 10:40",
                         "06-12 09:00", "06-12 09:20", "06-12 09:40", "06-12 10:20", "06-12 10:40"]
        assert to_local(event.request_deadline, "Europe/Rome").strftime("%Y-%m-%d %H:%M") == "2030-06-05 18:00"
        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "events")))
        assert "events.created" in actions and "events.slots_generated" in actions
        event_id = event.id
    grid = page_text(staff_client.get(f"/events/{event_id}/slots"))
    assert "09:40-10:00" in grid and "10:20-10:40" in grid and "10:00–10:20" in grid  # the break is listed
    assert "Sala A" in grid and "room for 60 meetings" in grid
    cockpit = page_text(staff_client.get(f"/events/{event_id}"))
    assert "Open booking" in cockpit and "Event created" in cockpit and 'aria-current="step"' in cockpit


@pytest.mark.parametrize("changes, field, words", [
    ({"day_end": "08:00"}, "day_end", "end after it starts"),
    ({"breaks": "12:00-12:20"}, "breaks", "not inside the day"),
    ({"breaks": "ten to eleven"}, "breaks", "10:30-10:50"),
    ({"days": "2030-06-11, next tuesday"}, "days", "is not a date"),
    ({"request_deadline": "2030-06-11T10:00"}, "request_deadline", "before the first meeting slot"),
    ({"booking_opens_at": "2030-06-06T09:00"}, "booking_opens_at", "before the deadline"),
    ({"registration_deadline": "2030-06-06T09:00"}, "registration_deadline", "before the deadline"),
    ({"slot_minutes": "240", "breaks": ""}, "slot_minutes", "No meeting slot fits"),
    ({"slot_minutes": "many"}, "slot_minutes", ""),
    ({"table_count": "1", "table_names": "A\nB"}, "table_names", "more names than tables"),
    ({"venue": ""}, "venue", "online"),
    ({"closes_at": "2030-06-12T10:00"}, "closes_at", "last meeting slot"),
])
def test_bad_design_is_shown_next_to_its_field_typed_values_kept_nothing_saved(app, world, staff_client, changes,
                                                                              field, words):
    data = event_form(world["edition"], name="Typed name kept", **changes)
    r = post(staff_client, "/events/new", data)
    assert r.status_code == 200
    html = page_text(r)
    message = field_error(r, field)
    assert message, f"no message next to {field}"
    assert words in message
    assert 'value="Typed name kept"' in html
    for value in changes.values():
        if value and "\n" not in value:
            assert value in html
    with app.app_context():
        assert count(Event) == 0 and count(EventSlot) == 0


def test_edit_regenerates_the_grid_and_keeps_unavailability_of_slots_that_stay(app, world, staff_client):
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, edition_id=world["edition"])
        sme = make_participant(event, Side.SME)
        kept = event.slots[1]  # 09:20
        dropped = event.slots[-1]  # 11:40, gone once the day ends at 11:00
        sme.unavailable_slots = [kept, dropped]
        db.session.commit()
        event_id, kept_id, kept_start, sme_id = event.id, kept.id, kept.starts_at, sme.id
        data = edit_form_of(event, day_end="11:00", name="Renamed")
    assert staff_client.get(f"/events/{event_id}/edit").status_code == 200
    r = post(staff_client, f"/events/{event_id}/edit", data)
    assert r.status_code == 302, page_text(r)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.name == "Renamed" and len(event.slots) == 6
        assert db.session.get(EventSlot, kept_id).starts_at == kept_start
        from opsapp.events.models import Participant

        assert [s.id for s in db.session.get(Participant, sme_id).unavailable_slots] == [kept_id]
        updated = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "events.updated"))
        assert set(updated.detail["changes"]) >= {"name", "day_end"}
    # The cockpit's timeline names what changed as the form does, not by its field names.
    cockpit = page_text(staff_client.get(f"/events/{event_id}"))
    assert "Design changed" in cockpit and "Meetings end at" in cockpit and "Name" in cockpit
    assert "day_end" not in cockpit


def test_the_grid_cannot_change_once_a_meeting_exists(app, world, staff_client):
    with app.app_context():
        event = make_event(phase=EventPhase.SCHEDULING, edition_id=world["edition"])
        sme, buyer = make_participant(event, Side.SME), make_participant(event, Side.BUYER)
        make_meeting(make_request(sme, buyer), event.slots[0], table=3)
        db.session.commit()
        event_id, before = event.id, [(s.id, s.starts_at) for s in event.slots]
        grid_change = edit_form_of(event, slot_minutes="30", name="Should not stick")
        too_few_tables = edit_form_of(event, table_count="2")
        rename = edit_form_of(event, name="A better name")
    r = post(staff_client, f"/events/{event_id}/edit", grid_change)
    assert r.status_code == 200
    assert "cannot change" in field_error(r, "days") and 'value="30"' in page_text(r)
    r = post(staff_client, f"/events/{event_id}/edit", too_few_tables)
    assert r.status_code == 200 and "table 3" in field_error(r, "table_count")
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert [(s.id, s.starts_at) for s in event.slots] == before and event.slot_minutes == 20
        assert event.name != "Should not stick"
    assert post(staff_client, f"/events/{event_id}/edit", rename).status_code == 302
    with app.app_context():
        assert db.session.get(Event, event_id).name == "A better name"


def test_only_staff_design_events(app, world):
    with app.app_context():
        make_user("sme@example.eu", roles=[Role.APPLICANT])
        event = make_event(edition_id=world["edition"])
        db.session.commit()
        event_id = event.id
    client = client_of(app, "sme@example.eu")
    assert client.get("/events/new").status_code == 403
    assert client.get(f"/events/{event_id}/edit").status_code == 403
    assert client.get(f"/events/{event_id}").status_code == 404  # not taking part


# --- phases by staff ----------------------------------------------------------------------------


def test_opening_booking_is_audited_and_tells_registered_participants(app, world, staff_client, outbox):
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, edition_id=world["edition"])
        registered = make_participant(event, Side.SME)
        colleague = make_user("colleague@example.eu", roles=[Role.APPLICANT])
        db.session.add(Membership(user_id=colleague.id, organisation_id=registered.organisation_id, role="member"))
        invited = make_participant(event, Side.BUYER, status=ParticipantStatus.INVITED.value)
        db.session.commit()
        event_id = event.id
        registered_email, invited_email = registered.contact.email, invited.contact.email
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "booking"}, page=f"/events/{event_id}",
             follow_redirects=True)
    assert "now in the phase" in page_text(r)
    with app.app_context():
        assert db.session.get(Event, event_id).phase == "booking"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "events.phase_changed"))
        assert entry.detail["old"] == "preparation" and entry.detail["new"] == "booking"
        assert entry.actor_id is not None
    assert len(mails_to(outbox, registered_email)) == 1
    assert "marketplace" in mails_to(outbox, registered_email)[0]["Subject"]
    # Every active member of the participant hears, not only its contact person.
    assert [m["Subject"] for m in mails_to(outbox, "colleague@example.eu")] == [
        mails_to(outbox, registered_email)[0]["Subject"]]
    assert mails_to(outbox, invited_email) == []
    cockpit = page_text(staff_client.get(f"/events/{event_id}"))
    assert "Phase: Booking" in cockpit


def test_a_move_the_lifecycle_does_not_allow_is_refused(app, world, staff_client):
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, edition_id=world["edition"])
        db.session.commit()
        event_id = event.id
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "scheduling"}, page=f"/events/{event_id}",
             follow_redirects=True)
    assert "cannot move" in page_text(r)
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "nonsense"}, page=f"/events/{event_id}",
             follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        assert db.session.get(Event, event_id).phase == "preparation"
        assert count(AuditEntry, AuditEntry.action == "events.phase_changed") == 0


def test_publishing_needs_meetings_and_no_running_scheduler_then_tells_those_with_meetings(app, world, staff_client,
                                                                                         outbox):
    with app.app_context():
        event = make_event(phase=EventPhase.SCHEDULING, edition_id=world["edition"])
        sme, buyer = make_participant(event, Side.SME), make_participant(event, Side.BUYER)
        idle = make_participant(event, Side.SME)
        db.session.commit()
        event_id, emails = event.id, (sme.contact.email, buyer.contact.email)
        idle_email = idle.contact.email
    page = f"/events/{event_id}"
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "agendas_published"}, page=page,
             follow_redirects=True)
    assert "no meetings to publish" in page_text(r)
    with app.app_context():
        event = db.session.get(Event, event_id)
        sme, buyer = (p for p in event.participants if p.contact.email in emails)
        make_meeting(make_request(sme, buyer), event.slots[0])
        run = ScheduleRun(event_id=event_id, status=ScheduleRunStatus.RUNNING.value)
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "agendas_published"}, page=page,
             follow_redirects=True)
    assert "still running" in page_text(r)
    with app.app_context():
        db.session.get(ScheduleRun, run_id).status = ScheduleRunStatus.DONE.value
        db.session.commit()
    post(staff_client, f"/events/{event_id}/phase", {"phase": "agendas_published"}, page=page)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.phase == "agendas_published" and event.agendas_published_at is not None
    for email in emails:
        assert [m["Subject"] for m in mails_to(outbox, email)] == [
            "Your agenda for Meet the Buyer test event {} is ready".format(
                re.search(r"test event (\d+)", mails_to(outbox, email)[0]["Subject"]).group(1))]
    assert mails_to(outbox, idle_email) == []
    # Taking the agendas back is allowed; the publication time stays (the agendas were seen, so a
    # new run of the scheduler keeps what it replaces as cancelled meetings for the calendars), and
    # those with meetings are told that their meetings may still change.
    with app.app_context():
        first_publication = db.session.get(Event, event_id).agendas_published_at
    post(staff_client, f"/events/{event_id}/phase", {"phase": "scheduling"}, page=page)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.phase == "scheduling" and event.agendas_published_at == first_publication
    for email in emails:
        reworked = mails_to(outbox, email)[-1]
        assert "is being reworked" in reworked["Subject"] and "may still change" in body(reworked)
    assert mails_to(outbox, idle_email) == []
    # Published again: the first publication is the one kept.
    post(staff_client, f"/events/{event_id}/phase", {"phase": "agendas_published"}, page=page)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.phase == "agendas_published" and event.agendas_published_at == first_publication


def test_a_run_lost_long_ago_does_not_block_publishing(app, world, staff_client):
    """Review fix: the cockpit and the publication count a running run as the schedule page does
    (a run still "running" after `schedule.RUN_STALE_AFTER` was lost and no longer blocks)."""
    with app.app_context():
        event = make_event(phase=EventPhase.SCHEDULING, edition_id=world["edition"])
        make_meeting(make_request(make_participant(event, Side.SME), make_participant(event, Side.BUYER)),
                     event.slots[0])
        db.session.add(ScheduleRun(event_id=event.id, status=ScheduleRunStatus.RUNNING.value,
                                   started_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
        event_id = event.id
    page = f"/events/{event_id}"
    assert "The scheduler is running on this event" not in page_text(staff_client.get(page))
    r = post(staff_client, f"/events/{event_id}/phase", {"phase": "agendas_published"}, page=page,
             follow_redirects=True)
    assert "still running" not in page_text(r)
    with app.app_context():
        assert db.session.get(Event, event_id).phase == "agendas_published"


def test_participants_cannot_move_phases(app, world):
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, edition_id=world["edition"])
        sme = make_participant(event, Side.SME)
        db.session.commit()
        event_id, email = event.id, sme.contact.email
    client = client_of(app, email)
    r = post(client, f"/events/{event_id}/phase", {"phase": "booking"}, page=f"/events/{event_id}")
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Event, event_id).phase == "preparation"


# --- phases on time ----------------------------------------------------------------------------


def test_advance_due_phases_moves_each_event_one_step_and_a_rerun_changes_nothing(app, world, outbox):
    now = utcnow()
    with app.app_context():
        opening = make_event(phase=EventPhase.PREPARATION, booking_opens_at=now - timedelta(hours=1))
        registered = make_participant(opening, Side.SME)
        waiting = make_event(phase=EventPhase.PREPARATION, booking_opens_at=now + timedelta(days=1))
        closing_requests = make_event(phase=EventPhase.BOOKING, request_deadline=now - timedelta(minutes=1))
        day = make_event(phase=EventPhase.AGENDAS_PUBLISHED, first_day=(now - timedelta(days=1)).date(), days=3,
                         booking_opens_at=now - timedelta(days=20), request_deadline=now - timedelta(days=10))
        published_future = make_event(phase=EventPhase.AGENDAS_PUBLISHED)
        over = make_event(phase=EventPhase.EVENT_DAY, first_day=(now - timedelta(days=3)).date(),
                          booking_opens_at=now - timedelta(days=20), request_deadline=now - timedelta(days=10))
        sme, buyer = make_participant(over, Side.SME), make_participant(over, Side.BUYER)
        make_meeting(make_request(sme, buyer), over.slots[0])
        closing = make_event(phase=EventPhase.FOLLOW_UP, first_day=(now - timedelta(days=30)).date(),
                             closes_at=now - timedelta(minutes=1), booking_opens_at=now - timedelta(days=60),
                             request_deadline=now - timedelta(days=40))
        db.session.commit()
        ids = {name: e.id for name, e in (("opening", opening), ("waiting", waiting),
                                           ("closing_requests", closing_requests), ("day", day),
                                           ("published_future", published_future), ("over", over),
                                           ("closing", closing))}
        registered_email, sme_email = registered.contact.email, sme.contact.email

        assert design.advance_due_phases(now) == 5
        db.session.commit()
        phases = {name: db.session.get(Event, i).phase for name, i in ids.items()}
        assert phases == {"opening": "booking", "waiting": "preparation", "closing_requests": "scheduling",
                          "day": "event_day", "published_future": "agendas_published", "over": "follow_up",
                          "closing": "closed"}
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "events.phase_changed")))
        assert len(entries) == 5 and all(e.actor_id is None for e in entries)

        assert design.advance_due_phases(now) == 0
        db.session.commit()
        assert count(AuditEntry, AuditEntry.action == "events.phase_changed") == 5
    assert len(mails_to(outbox, registered_email)) == 1  # booking opened
    assert len(mails_to(outbox, sme_email)) == 1  # asked to rate the meeting


def test_advance_due_phases_goes_one_step_per_run(app, world):
    now = utcnow()
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, booking_opens_at=now - timedelta(hours=2),
                           request_deadline=now - timedelta(hours=1),
                           first_day=(now + timedelta(days=3)).date())
        db.session.commit()
        event_id = event.id
        assert design.advance_due_phases(now) == 1
        assert db.session.get(Event, event_id).phase == "booking"
        assert design.advance_due_phases(now) == 1
        assert db.session.get(Event, event_id).phase == "scheduling"
        assert design.advance_due_phases(now) == 0  # scheduling ends by staff publishing the agendas


# --- pages ---------------------------------------------------------------------------------------


def test_the_participant_sees_their_event_and_what_to_do(app, world):
    with app.app_context():
        event = make_event(phase=EventPhase.PREPARATION, edition_id=world["edition"], first_day=date(2030, 6, 11),
                           day_start=time(9, 0), registration_deadline=utcnow() + timedelta(days=3))
        sme = make_participant(event, Side.SME, status=ParticipantStatus.INVITED.value, headline=None, offer=None)
        other = make_event(phase=EventPhase.BOOKING, name="Somebody else's event")
        make_participant(other, Side.SME)
        db.session.commit()
        event_id, other_id, email = event.id, other.id, sme.contact.email
    client = client_of(app, email)
    html = page_text(client.get(f"/events/{event_id}"))
    assert "Complete your profile" in html and f"/events/{event_id}/profile" in html
    assert "Lingotto Fiere" in html and "Invited" in html
    assert client.get(f"/events/{other_id}").status_code == 404
    listing = page_text(client.get("/events/"))
    assert "Meet the Buyer test event" in listing
    assert "Somebody else" not in listing
    home = page_text(client.get("/"))
    assert "Your Meet the Buyer events" in home and "Complete your profile" in home


def test_staff_list_filters_by_phase_and_home_panel_shows_what_waits(app, world, staff_client):
    with app.app_context():
        booking = make_event(phase=EventPhase.BOOKING, name="Booking event")
        make_event(phase=EventPhase.CLOSED, name="Closed event")
        sme = make_participant(booking, Side.SME)
        buyer = make_participant(booking, Side.BUYER, status=ParticipantStatus.INVITED.value)
        make_request(sme, buyer, status=RequestStatus.PENDING)
        db.session.commit()
    everything = page_text(staff_client.get("/events/"))
    assert "Booking event" in everything and "Closed event" in everything
    only = page_text(staff_client.get("/events/?phase=closed"))
    assert "Closed event" in only and "Booking event" not in only
    assert staff_client.get("/events/?phase=bogus").status_code == 200
    home = page_text(staff_client.get("/"))
    assert "Meet the Buyer events" in home and "Booking event" in home and "Closed event" not in home
    assert "1 profile to complete" in home and "1 request waiting for an answer" in home
    with app.app_context():
        assert count(Notification) == 0
