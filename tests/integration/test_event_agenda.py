"""Agendas through the browser's eyes: the page, the iCalendar file (stable UIDs across a move
and a new build, Europe/Rome times with their VTIMEZONE, cancelled meetings), the printable
page, who may see what and when, the staff's table plan and Word documents (opened again
with python-docx, and the table plan converted to PDF by LibreOffice where it is installed).
"""

from __future__ import annotations

import io
import re
import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import docx
import pytest
from icalendar import Calendar
from sqlalchemy import event as sa_event

from opsapp.core import audit
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import Event, EventPhase, Meeting, MeetingStatus, Side, TrainingSession
from opsapp.extensions import db
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_meeting, make_participant, make_request
from tests.integration.test_documents_pdf import _check_pdf, _convert, lo_profile, soffice  # noqa: F401

DAY = date(2027, 3, 10)  # a Wednesday in winter time: 09:00 in Rome is 08:00 UTC
ROME = ZoneInfo("Europe/Rome")


def _participant(event, side, email, name, **fields):
    user = make_user(email, roles=[Role.APPLICANT] if side is Side.SME else [Role.BUYER], full_name=name + " Person")
    organisation = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", owner=user,
                                     legal_name=name)
    return make_participant(event, side, user=user, organisation=organisation, **fields)


def _world(app, phase=EventPhase.AGENDAS_PUBLISHED, published=True) -> dict:
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        event = make_event(phase=phase, first_day=DAY, name="Meet the Buyer Torino 2027",
                           agendas_published_at=utcnow() - timedelta(days=1) if published else None,
                           table_names=["Mole", "Po"])
        alfa = _participant(event, Side.SME, "alfa@example.eu", "Alfa Sensori S.r.l.",
                            headline="Sensors for packaging lines")
        beta = _participant(event, Side.SME, "beta@example.eu", "Beta Robotica S.r.l.",
                            headline="Collaborative robots")
        fiat = _participant(event, Side.BUYER, "fiat@example.eu", "Grande Acquirente S.p.A.",
                            headline="We buy predictive maintenance", outside_region=True)
        ente = _participant(event, Side.BUYER, "ente@example.eu", "Ente Pubblico Appalti",
                            headline="Public procurement of smart sensors")
        slots = event.slots
        m1 = make_meeting(make_request(alfa, fiat), slots[0], table=1)  # 09:00, table "Mole"
        m2 = make_meeting(make_request(alfa, ente), slots[3], table=3)  # 10:00, table 3
        m3 = make_meeting(make_request(beta, fiat), slots[1], table=2)  # Beta's own
        cancelled_request = make_request(alfa, make_participant(event, Side.BUYER, headline="Gone buyer"))
        make_meeting(cancelled_request, slots[5], table=1, status=MeetingStatus.CANCELLED, cancelled_at=utcnow())
        db.session.add(TrainingSession(event_id=event.id, kind="pitch", title="Pitch in five minutes",
                                       starts_at=datetime(2027, 3, 1, 14, tzinfo=UTC),
                                       ends_at=datetime(2027, 3, 1, 16, tzinfo=UTC), place="Room A"))
        db.session.commit()
        return {"event": event.id, "alfa": alfa.id, "beta": beta.id, "fiat": fiat.id, "m1": m1.id, "m2": m2.id,
                "m3": m3.id, "r3": m3.request_id, "r1": m1.request_id, "r2": m2.request_id, "cancelled_request": cancelled_request.id}


def _calendar(client, url) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert re.search(r'attachment; filename="agenda-[a-z0-9-]+\.ics"', response.headers["Content-Disposition"])
    return Calendar.from_ical(response.data)


def _events(calendar: Calendar) -> dict[str, object]:
    return {str(v["UID"]): v for v in calendar.walk("VEVENT")}


# --- the page ----------------------------------------------------------------------------------------


def test_a_participant_sees_their_meetings_in_order_with_the_counterparts_profile(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    page = client.get(f"/events/{ids['event']}/agenda").get_data(as_text=True)
    assert "Your agenda" in page
    assert "2 meetings" in page
    first, second = page.index("Grande Acquirente S.p.A."), page.index("Ente Pubblico Appalti")
    assert first < second  # 09:00 before 10:00
    assert "Wed 10 March 2027, 09:00 CET" in page and "Wed 10 March 2027, 10:00 CET" in page
    assert "table Mole" in page and "table 3" in page
    assert "We buy predictive maintenance" in page and "from outside the region" in page
    # The counterpart's facts as the marketplace shows them.
    assert "Countries of interest" in page and "Italy" in page and "Italian" in page
    assert "Beta Robotica" not in page  # not Beta's meetings
    assert "Gone buyer" not in page  # a cancelled meeting is not on the agenda
    assert "Pitch in five minutes" in page  # the SME's training sessions
    assert "Lingotto Fiere, Turin" in page  # practical information


def test_the_agenda_loads_in_a_fixed_number_of_queries(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        started = clock.perf_counter()
        assert client.get(f"/events/{ids['event']}/agenda").status_code == 200
        took = clock.perf_counter() - started
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 20, statements
    print(f"\nagenda page: {len(statements)} queries, {took * 1000:.0f} ms")


def test_another_participant_gets_404_for_someone_elses_agenda_and_calendar(app, client):
    ids = _world(app)
    login(client, "beta@example.eu")
    event = ids["event"]
    for url in (f"/events/{event}/agenda?participant={ids['alfa']}",
                f"/events/{event}/agenda.ics?participant={ids['alfa']}",
                f"/events/{event}/agenda/print?participant={ids['alfa']}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Alfa Sensori" not in response.get_data(as_text=True)
    # Their own agenda shows only their meeting.
    own = _events(_calendar(client, f"/events/{event}/agenda.ics"))
    assert list(own) == [f"meeting-request-{ids['r3']}@opsapp"]


def test_someone_outside_the_event_gets_404(app, client):
    ids = _world(app)
    with app.app_context():
        make_user("outsider@example.eu", roles=[Role.BUYER])
        db.session.commit()
    login(client, "outsider@example.eu")
    assert client.get(f"/events/{ids['event']}/agenda").status_code == 404
    assert client.get(f"/events/{ids['event']}/agenda.ics").status_code == 404


def test_before_publication_the_participant_sees_when_not_what(app, client):
    ids = _world(app, phase=EventPhase.SCHEDULING, published=False)
    login(client, "alfa@example.eu")
    page = client.get(f"/events/{ids['event']}/agenda").get_data(as_text=True)
    assert "Your agenda is not published yet" in page
    assert "Wednesday 10 March 2027" in page  # before the event's first day
    assert "Grande Acquirente" not in page and "Ente Pubblico" not in page
    assert client.get(f"/events/{ids['event']}/agenda.ics").status_code == 404
    printable = client.get(f"/events/{ids['event']}/agenda/print").get_data(as_text=True)
    assert "Grande Acquirente" not in printable


def test_agendas_taken_back_are_hidden_in_any_earlier_phase(app, client):
    """Review fix: once staff take the agendas back (to scheduling, then even to booking), the
    time of the last publication no longer makes them visible, nor is it shown as a future date."""
    ids = _world(app, phase=EventPhase.BOOKING, published=True)  # published a day ago, taken back twice
    login(client, "alfa@example.eu")
    page = client.get(f"/events/{ids['event']}/agenda").get_data(as_text=True)
    assert "Your agenda is not published yet" in page and "reworking the schedule" in page
    assert "Grande Acquirente" not in page and "It will be published on" not in page
    assert client.get(f"/events/{ids['event']}/agenda.ics").status_code == 404
    assert "Grande Acquirente" not in client.get("/").get_data(as_text=True)  # no "next meetings" panel


def test_staff_open_any_agenda_even_before_publication(app, client):
    ids = _world(app, phase=EventPhase.SCHEDULING, published=False)
    login(client, "staff@example.eu")
    chooser = client.get(f"/events/{ids['event']}/agenda").get_data(as_text=True)
    assert "Alfa Sensori S.r.l." in chooser and "Beta Robotica S.r.l." in chooser
    page = client.get(f"/events/{ids['event']}/agenda?participant={ids['alfa']}").get_data(as_text=True)
    assert "Agenda of Alfa Sensori S.r.l." in page
    assert "the participant does not see this agenda" in page
    assert "Grande Acquirente S.p.A." in page
    calendar = _calendar(client, f"/events/{ids['event']}/agenda.ics?participant={ids['alfa']}")
    assert len([e for e in calendar.walk("VEVENT") if e["STATUS"] == "CONFIRMED"]) == 2
    assert client.get(f"/events/{ids['event']}/agenda?participant=999999").status_code == 404


# --- iCalendar ------------------------------------------------------------------------------------------


def test_the_calendar_has_one_confirmed_event_per_meeting_in_rome_time(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    calendar = _calendar(client, f"/events/{ids['event']}/agenda.ics")
    assert str(calendar["VERSION"]) == "2.0"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]
    events = _events(calendar)
    confirmed = {uid: e for uid, e in events.items() if e["STATUS"] == "CONFIRMED"}
    assert set(confirmed) == {f"meeting-request-{ids['r1']}@opsapp", f"meeting-request-{ids['r2']}@opsapp"}
    first = confirmed[f"meeting-request-{ids['r1']}@opsapp"]
    start, end = first.decoded("DTSTART"), first.decoded("DTEND")
    assert start == datetime(2027, 3, 10, 9, 0, tzinfo=ROME) and start.utcoffset() == timedelta(hours=1)
    assert end == datetime(2027, 3, 10, 9, 20, tzinfo=ROME)
    assert first["DTSTART"].params["TZID"] == "Europe/Rome"
    assert str(first["SUMMARY"]) == "Meeting: Grande Acquirente S.p.A."
    assert str(first["LOCATION"]) == "Lingotto Fiere, Turin, table Mole"
    assert "We buy predictive maintenance" in str(first["DESCRIPTION"])
    assert "DTSTAMP" in first and int(first["SEQUENCE"]) >= 0
    # The request whose meeting was cancelled is sent as cancelled, so calendars remove it.
    gone = events[f"meeting-request-{ids['cancelled_request']}@opsapp"]
    assert gone["STATUS"] == "CANCELLED"


def test_uids_stay_and_the_sequence_grows_when_a_meeting_moves_or_is_rebuilt(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    url = f"/events/{ids['event']}/agenda.ics"
    with app.app_context():  # the meetings were made an hour ago
        for meeting in Meeting.query.all():
            meeting.created_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    before = _events(_calendar(client, url))
    again = _events(_calendar(client, url))
    assert {u: int(e["SEQUENCE"]) for u, e in before.items()} == {u: int(e["SEQUENCE"]) for u, e in again.items()}

    with app.app_context():
        event = db.session.get(Event, ids["event"])
        # Staff move the first meeting to 11:00 (in place, audited) ...
        moved = db.session.get(Meeting, ids["m1"])
        moved.slot_id, moved.table_number = event.slots[6].id, 2
        audit.record("meetings.moved", moved, actor=None)
        # ... and a new scheduler run replaces the second meeting by a new row for the same request.
        old = db.session.get(Meeting, ids["m2"])
        old.status, old.cancelled_at = MeetingStatus.CANCELLED.value, utcnow()
        db.session.flush()
        db.session.add(Meeting(event_id=event.id, request_id=old.request_id, slot_id=event.slots[7].id,
                               table_number=1, sme_id=old.sme_id, buyer_id=old.buyer_id))
        db.session.commit()
    after = _events(_calendar(client, url))
    assert set(after) == set(before)  # same UIDs: a re-import updates, it does not duplicate
    for request in ("r1", "r2"):
        uid = f"meeting-request-{ids[request]}@opsapp"
        assert after[uid]["STATUS"] == "CONFIRMED"
        assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert after[f"meeting-request-{ids['r1']}@opsapp"].decoded("DTSTART") == datetime(2027, 3, 10, 11, 0,
                                                                                        tzinfo=ROME)
    assert after[f"meeting-request-{ids['r2']}@opsapp"].decoded("DTSTART") == datetime(2027, 3, 10, 11, 20,
                                                                                        tzinfo=ROME)
    assert len([e for e in after.values() if e["STATUS"] == "CONFIRMED"]) == 2


def test_summer_time_is_right_too(app, client):
    with app.app_context():
        event = make_event(phase=EventPhase.EVENT_DAY, first_day=date(2027, 6, 15))
        sme = _participant(event, Side.SME, "sme@example.eu", "Estate S.r.l.")
        buyer = _participant(event, Side.BUYER, "buyer@example.eu", "Compratore S.p.A.")
        make_meeting(make_request(sme, buyer), event.slots[0])
        db.session.commit()
        event_id = event.id
    login(client, "sme@example.eu")
    (vevent,) = _calendar(client, f"/events/{event_id}/agenda.ics").walk("VEVENT")
    start = vevent.decoded("DTSTART")
    assert start == datetime(2027, 6, 15, 9, 0, tzinfo=ROME) and start.utcoffset() == timedelta(hours=2)
    assert start.astimezone(UTC).hour == 7


# --- printable page and staff documents ------------------------------------------------------------------


def test_the_printable_agenda_is_a_page_without_navigation(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    page = client.get(f"/events/{ids['event']}/agenda/print").get_data(as_text=True)
    assert "css/print.css" in page
    assert "main-navigation" not in page
    assert "Grande Acquirente S.p.A." in page and "Ente Pubblico Appalti" in page
    assert page.count("<h1") == 1


def test_the_table_plan_lists_every_meeting_by_day_and_slot(app, client):
    ids = _world(app)
    participant = app.test_client()
    login(participant, "alfa@example.eu")
    assert participant.get(f"/events/{ids['event']}/table-plan").status_code == 403
    login(client, "staff@example.eu")
    page = client.get(f"/events/{ids['event']}/table-plan").get_data(as_text=True)
    assert "Wednesday 10 March 2027" in page
    assert "09:00–09:20" in page and "09:20–09:40" in page
    for name in ("Alfa Sensori S.r.l.", "Beta Robotica S.r.l.", "Grande Acquirente S.p.A.", "Ente Pubblico Appalti"):
        assert name in page
    assert "Gone buyer" not in page


def _docx(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return docx.Document(io.BytesIO(response.data)), response


def test_the_word_table_plan_has_every_meeting_with_a_repeated_header(app, client):
    ids = _world(app)
    login(client, "staff@example.eu")
    document, response = _docx(client, f"/events/{ids['event']}/table-plan.docx")
    assert "table-plan-meet-the-buyer-torino-2027.docx" in response.headers["Content-Disposition"]
    (table,) = document.tables
    assert table.style.name == "Table Grid"
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["Time", "Table", "SME", "Buyer"]
    assert rows[1:] == [["09:00–09:20", "Mole", "Alfa Sensori S.r.l.", "Grande Acquirente S.p.A."],
                        ["09:20–09:40", "Po", "Beta Robotica S.r.l.", "Grande Acquirente S.p.A."],
                        ["10:00–10:20", "3", "Alfa Sensori S.r.l.", "Ente Pubblico Appalti"]]
    assert table.rows[0]._tr.trPr.xml.count("tblHeader") == 1
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Wednesday 10 March 2027" in headings
    assert "3 meetings, times in Europe/Rome." in [p.text for p in document.paragraphs]


def test_the_word_agendas_have_one_page_per_participant(app, client):
    ids = _world(app)
    login(client, "staff@example.eu")
    document, _ = _docx(client, f"/events/{ids['event']}/agendas.docx")
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[:2] == ["Alfa Sensori S.r.l.", "Beta Robotica S.r.l."]
    assert {"Grande Acquirente S.p.A.", "Ente Pubblico Appalti"} <= set(headings)
    breaks = sum(1 for p in document.paragraphs for r in p.runs if 'w:type="page"' in r._r.xml)
    assert breaks == len(headings) - 1
    cells = {c.text for t in document.tables for row in t.rows for c in row.cells}
    assert {"Alfa Sensori S.r.l.", "Beta Robotica S.r.l.", "Grande Acquirente S.p.A.", "Ente Pubblico Appalti",
            "We buy predictive maintenance", "Mole", "Po", "3"} <= cells
    meeting_rows = sum(len(t.rows) - 1 for t in document.tables)
    assert meeting_rows == 6  # three meetings, each on both agendas


def test_participants_cannot_download_the_staff_documents(app, client):
    ids = _world(app)
    login(client, "alfa@example.eu")
    for url in ("table-plan.docx", "agendas.docx", "check-in"):
        assert client.get(f"/events/{ids['event']}/{url}").status_code == 403


def test_the_word_table_plan_converts_to_a_readable_pdf(app, client, tmp_path, soffice, lo_profile):  # noqa: F811
    ids = _world(app)
    login(client, "staff@example.eu")
    response = client.get(f"/events/{ids['event']}/table-plan.docx")
    path = tmp_path / "table-plan.docx"
    path.write_bytes(response.data)
    pdf, took = _convert(soffice, lo_profile, path)
    facts = _check_pdf(pdf, ["Table plan", "Alfa Sensori S.r.l.", "Grande Acquirente S.p.A.", "Time", "Buyer"])
    print(f"\ntable plan: converted in {took:.1f} s, {facts}")


@pytest.mark.parametrize("meetings_per_slot", [112])
def test_a_large_table_plan_is_complete(app, client, meetings_per_slot):
    """2,016 meetings over two days: every one in the Word file (the time is printed, not asserted)."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        event = make_event(days=2, phase=EventPhase.AGENDAS_PUBLISHED, tables=meetings_per_slot)
        n = 120
        smes = [make_participant(event, Side.SME) for _ in range(n)]
        buyers = [make_participant(event, Side.BUYER) for _ in range(n)]
        from opsapp.events.models import MeetingRequest

        pairs = []
        for s, slot in enumerate(event.slots):
            for t in range(meetings_per_slot):
                pairs.append((slot, t + 1, smes[t], buyers[(t + s) % n]))
        requests = [MeetingRequest(event_id=event.id, sme_id=sme.id, buyer_id=buyer.id, requested_by="sme",
                                   status="accepted") for _, _, sme, buyer in pairs]
        db.session.add_all(requests)
        db.session.flush()
        db.session.add_all([Meeting(event_id=event.id, request_id=r.id, slot_id=slot.id, table_number=table,
                                    sme_id=r.sme_id, buyer_id=r.buyer_id)
                            for r, (slot, table, _, _) in zip(requests, pairs, strict=True)])
        db.session.commit()
        event_id, total = event.id, len(pairs)
    assert total == 2016
    login(client, "staff@example.eu")
    started = clock.perf_counter()
    document, _ = _docx(client, f"/events/{event_id}/table-plan.docx")
    took = clock.perf_counter() - started
    assert len(document.tables) == 2
    assert sum(len(t.rows) - 1 for t in document.tables) == total
    print(f"\ntable plan of {total} meetings written in {took:.2f} s")


def test_the_home_page_shows_the_next_meetings_once_published(app, client):
    ids = _world(app, phase=EventPhase.SCHEDULING, published=False)
    login(client, "fiat@example.eu")
    assert "Your next meetings" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        event = db.session.get(Event, ids["event"])
        event.phase, event.agendas_published_at = EventPhase.AGENDAS_PUBLISHED.value, utcnow()
        db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "Your next meetings" in home
    assert "Alfa Sensori S.r.l. at table Mole" in home and "Beta Robotica S.r.l. at table Po" in home
    assert home.index("Alfa Sensori S.r.l. at table Mole") < home.index("Beta Robotica S.r.l. at table Po")
    assert f"/events/{ids['event']}/agenda" in home
