"""Meet the Buyer in a real browser, as its three kinds of user live it.

(a) An SME opens its event, the marketplace and a buyer's profile, and sends a meeting
request with a message and a priority; the buyer sees it on its home page and accepts it;
staff close the requests, run the scheduler, see the meeting on the grid and publish the
agendas; the SME reads its agenda (time, table, counterpart) and downloads the `.ics`,
which parses with `icalendar` and holds the one meeting.
(b) After the event the SME rates a held meeting and records the contract that followed
(a wrong value refused on the way); staff confirm it and the statistics count it.
(c) Staff create an event (a day that ends before it starts refused on the way) and see
its slot grid.

Each page the journeys reach is scanned with axe-core (no serious or critical violation);
the scans are in the run's summary with the accessibility test's.
"""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.core.roles import Role
from opsapp.core.timeutil import format_in_zone, utcnow
from opsapp.events.models import (
    ContractStatus,
    EventPhase,
    Meeting,
    MeetingOutcome,
    MeetingRequest,
    MeetingStatus,
    RequestStatus,
    Side,
    SupplyContract,
)
from tests.e2e.conftest import open_page, path_of, sign_in, sign_out
from tests.e2e.test_call_journeys import Scans, _click, _flash
from tests.factories import make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_edition
from tests.factories_events import make_event, make_meeting, make_participant, make_request

pytestmark = pytest.mark.e2e

EVENT = "Meet the Buyer Torino 2027"


def _panel(page, title: str):
    """A panel of the home page, by its title."""
    return page.locator("main section.panel-card", has=page.get_by_role("heading", name=title))


def _people(event, domains):
    """Staff, an SME (Officina Rossi) and two buyers with complete profiles; returns the users and participants."""
    staff = make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    sara = make_user("sara.rossi@example.eu", roles=[Role.APPLICANT], full_name="Sara Rossi")
    bruno = make_user("bruno.bianchi@example.eu", roles=[Role.BUYER], full_name="Bruno Bianchi")
    sme = make_participant(event, Side.SME, user=sara,
                           organisation=make_organisation(owner=sara, legal_name="Officina Rossi S.r.l."),
                           headline="Sensors for food production lines",
                           offer="Predictive maintenance sensors for bottling and packaging lines.")
    buyer = make_participant(event, Side.BUYER, user=bruno,
                             organisation=make_organisation(kind="corporate_buyer", owner=bruno,
                                                            legal_name="Alimentari Piemonte S.p.A."),
                             headline="A food group with twelve plants",
                             needs="Sensors and analytics to cut unplanned stops on our bottling lines.")
    other = make_participant(event, Side.BUYER, organisation=make_organisation(
        kind="corporate_buyer", legal_name="Trasporti Alpini S.p.A."), headline="Logistics in the Alps",
        needs="Tracking of refrigerated trucks.", outside_region=True)
    for participant in (sme, buyer):
        participant.s3_domains = domains[:2]
    other.s3_domains = domains[2:3]
    return staff, sme, buyer


# --- (a) request, accept, schedule, publish, agenda ------------------------------------------------


def test_an_sme_books_a_meeting_and_downloads_its_agenda(page, db_session, tmp_path):
    domains = make_s3_domains()
    event = make_event(phase=EventPhase.BOOKING, name=EVENT, tables=3)
    _staff, sme, buyer = _people(event, domains)
    event_id, sme_id, buyer_id = event.id, sme.id, buyer.id
    db_session.commit()

    # The SME: its event, the marketplace, the buyer's profile, the request.
    scan = Scans(page, "applicant")
    sign_in(page, "sara.rossi@example.eu")
    assert EVENT in page.locator("main").inner_text()  # home panel "Your Meet the Buyer events"
    scan("/ (home)")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Events"))
    assert path_of(page) == "/events/"
    scan()
    _click(page, page.get_by_role("link", name=EVENT))
    assert path_of(page) == f"/events/{event_id}"
    scan()
    _click(page, page.get_by_role("link", name="Find counterparts in the marketplace"))
    assert path_of(page) == f"/events/{event_id}/marketplace"
    market = page.locator("main").inner_text()
    assert "Alimentari Piemonte S.p.A." in market and "Trasporti Alpini S.p.A." in market
    assert "Officina Rossi S.r.l." not in market.split("Marketplace", 1)[1]  # not its own side
    scan()
    _click(page, page.locator("main").get_by_role("link", name="Alimentari Piemonte S.p.A.").first)
    assert path_of(page) == f"/events/{event_id}/profiles/{buyer_id}"
    assert page.get_by_text("Sensors and analytics to cut unplanned stops").is_visible()
    assert page.get_by_text("No request yet").is_visible()
    scan()
    _click(page, page.locator("main").get_by_role("link", name="Request a meeting"))
    assert path_of(page) == f"/events/{event_id}/requests/new?to={buyer_id}"
    scan()
    page.get_by_label("Message").fill("Our sensors cut unplanned stops on bottling lines by a third. Shall we meet?")
    page.get_by_label("Priority").select_option(label="4 · Very important")
    _click(page, page.get_by_role("button", name="Send the request"))
    assert path_of(page) == f"/events/{event_id}/requests"
    assert "Your meeting request to Alimentari Piemonte S.p.A. is sent." in _flash(page)
    sent = page.locator("section[aria-labelledby=sent-title] tbody tr", has_text="Alimentari Piemonte S.p.A.")
    assert "Waiting for an answer" in sent.inner_text() and "4 · Very important" in sent.inner_text()
    scan()
    scan.assert_clean()
    sign_out(page)

    # The buyer: the request on its home page, then accepted on the requests page.
    scan = Scans(page, "buyer")
    sign_in(page, "bruno.bianchi@example.eu")
    panel = _panel(page, "Meeting requests to answer")
    assert "Officina Rossi S.r.l." in panel.inner_text()
    scan("/ (home, a request to answer)")
    _click(page, panel.get_by_role("link", name=EVENT))
    assert path_of(page) == f"/events/{event_id}/requests"
    received = page.locator("section[aria-labelledby=received-title] tbody tr", has_text="Officina Rossi S.r.l.")
    assert "Our sensors cut unplanned stops" in received.inner_text()
    assert "4 · Very important" in received.inner_text()
    scan()
    _click(page, received.get_by_role("button", name="Accept"))
    assert "You accepted the meeting with Officina Rossi S.r.l." in _flash(page)
    answered = page.locator("section[aria-labelledby=answered-title] tbody tr", has_text="Officina Rossi S.r.l.")
    assert "Accepted" in answered.inner_text()
    scan("requests (accepted)")
    scan.assert_clean()
    sign_out(page)

    # Staff: close the requests, run the scheduler, see the meeting, publish the agendas.
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    open_page(page, f"/events/{event_id}")
    assert page.get_by_text("requests accepted").is_visible()
    scan()
    page.once("dialog", lambda dialog: dialog.accept())  # "Participants will no longer be able to ..."
    _click(page, page.get_by_role("button", name="Close the requests and start scheduling"))
    assert "The event is now in the phase “Scheduling”." in _flash(page)
    scan("cockpit (scheduling)")
    _click(page, page.locator("section[aria-labelledby=pages-title]").get_by_role("link", name="Schedule"))
    assert path_of(page) == f"/events/{event_id}/schedule"
    assert page.get_by_text("The scheduler has not run on this event yet.").is_visible()
    scan()
    page.once("dialog", lambda dialog: dialog.accept())  # "Every meeting that is not locked will be replaced ..."
    _click(page, page.get_by_role("button", name="Run the scheduler"))
    assert "The schedule is ready" in _flash(page)
    cell = page.locator("section[aria-labelledby=grid-title] td[id^=meeting-]")
    assert cell.count() == 1
    assert "Officina Rossi S.r.l." in cell.inner_text() and "Alimentari Piemonte S.p.A." in cell.inner_text()
    assert "Priority 4" in cell.inner_text()
    scan("schedule (after the run)")
    meeting = db_session.scalar(select(Meeting).where(Meeting.event_id == event_id))
    assert (meeting.sme_id, meeting.buyer_id, meeting.status) == (sme_id, buyer_id, "scheduled")
    starts_at, table = meeting.slot.starts_at, meeting.table_number
    when = format_in_zone(starts_at, "Europe/Rome", "en")
    db_session.rollback()  # end the read: on SQLite it would hold the database
    _click(page, page.get_by_role("link", name="Back to the event"))
    page.once("dialog", lambda dialog: dialog.accept())  # "Every participant with meetings will be told ..."
    _click(page, page.get_by_role("button", name="Publish the agendas"))
    assert "The event is now in the phase “Agendas published”." in _flash(page)
    scan("cockpit (agendas published)")
    scan.assert_clean()
    sign_out(page)

    # The SME: the agenda (time, table, counterpart) and its calendar file.
    scan = Scans(page, "applicant")
    sign_in(page, "sara.rossi@example.eu")
    open_page(page, f"/events/{event_id}")
    _click(page, page.get_by_role("link", name="See your agenda"))
    assert path_of(page) == f"/events/{event_id}/agenda"
    entry = page.locator("section[aria-labelledby=meetings-title] li.card")
    assert entry.count() == 1
    assert entry.locator("h3").inner_text().strip() == f"{when} · table {table}"
    assert "Alimentari Piemonte S.p.A." in entry.inner_text()
    assert "Sensors and analytics to cut unplanned stops" in entry.inner_text()  # the counterpart's profile
    scan()
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".ics"
    calendar = icalendar.Calendar.from_ical(saved.read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    assert "Alimentari Piemonte S.p.A." in str(events[0].get("SUMMARY")) + str(events[0].get("DESCRIPTION"))
    assert events[0].decoded("DTSTART") == starts_at
    _click(page, page.get_by_role("link", name="Printable agenda"))
    assert "Alimentari Piemonte S.p.A." in page.locator("body").inner_text()
    scan()
    scan.assert_clean()

    request = db_session.scalar(select(MeetingRequest).where(MeetingRequest.event_id == event_id))
    assert (request.status, request.priority, request.requested_by) == (RequestStatus.ACCEPTED.value, 4, "sme")
    db_session.rollback()


# --- (b) after the event: rating, contract, confirmation, statistics ---------------------------------


def test_after_the_event_an_sme_rates_and_records_a_contract_that_staff_confirm(page, db_session):
    domains = make_s3_domains()
    first_day = (utcnow() - timedelta(days=12)).date()
    event = make_event(phase=EventPhase.FOLLOW_UP, name=EVENT, first_day=first_day,
                       registration_deadline=utcnow() - timedelta(days=40),
                       booking_opens_at=utcnow() - timedelta(days=35),
                       request_deadline=utcnow() - timedelta(days=20))
    event.agendas_published_at = utcnow() - timedelta(days=18)
    _staff, sme, buyer = _people(event, domains)
    request = make_request(sme, buyer, priority=5, message="Shall we meet about the bottling lines?")
    meeting = make_meeting(request, event.slots[1], table=2, status=MeetingStatus.HELD)
    event_id, meeting_id = event.id, meeting.id
    signed_on = first_day + timedelta(days=7)
    db_session.commit()

    scan = Scans(page, "applicant")
    sign_in(page, "sara.rossi@example.eu")
    panel = _panel(page, "Meetings to rate")
    scan("/ (home, a meeting to rate)")
    _click(page, panel.get_by_role("link", name="Your meeting with Alimentari Piemonte S.p.A."))
    assert path_of(page) == f"/events/meetings/{meeting_id}/outcome"
    scan()
    page.locator("label", has_text="Negotiation started").click()
    page.get_by_label("Note (optional)").fill("They asked for a pilot on two lines in the spring.")
    _click(page, page.get_by_role("button", name="Save the rating"))
    assert "Thank you: your rating of the meeting with Alimentari Piemonte S.p.A. is saved." in _flash(page)
    ratings = page.locator("section[aria-labelledby=ratings-title]").inner_text()
    assert "Negotiation started" in ratings and "a pilot on two lines" in ratings
    scan("outcome (rated)")

    _click(page, page.get_by_role("link", name="Record the contract"))
    assert path_of(page) == f"/events/{event_id}/contracts/new?meeting={meeting_id}"
    assert page.get_by_label("Signed with").locator("option:checked").inner_text().startswith(
        "Alimentari Piemonte S.p.A.")
    scan()
    # A value the server cannot read: refused next to its field, what was typed kept, nothing saved.
    page.get_by_label("Date of signature").fill(signed_on.isoformat())
    page.get_by_label("Value in EUR").fill("about fifty thousand")
    page.get_by_label("What the contract is for").fill("A pilot of the sensors on two bottling lines.")
    _click(page, page.get_by_role("button", name="Record the contract"))
    value = page.get_by_label("Value in EUR")
    assert value.get_attribute("aria-invalid") == "true"
    assert value.input_value() == "about fifty thousand"
    assert page.locator("#error-summary").is_visible()
    scan("new contract (a value refused)")
    value.fill("48500")
    _click(page, page.get_by_role("button", name="Record the contract"))
    assert path_of(page) == f"/events/{event_id}/contracts"
    assert "The contract is recorded; the programme staff will confirm it." in _flash(page)
    row = page.locator("tbody tr", has_text="Alimentari Piemonte S.p.A.").first
    assert "Waiting for confirmation" in row.inner_text() and "48,500" in row.inner_text()
    scan()
    scan.assert_clean()
    sign_out(page)

    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    panel = _panel(page, "Contracts to confirm")
    assert "1 contract to confirm" in panel.inner_text()
    scan("/ (home, a contract to confirm)")
    _click(page, panel.get_by_role("link", name=EVENT))
    assert path_of(page) == f"/events/{event_id}/contracts?status=recorded"
    scan()
    review = page.locator("tbody tr", has=page.get_by_role("button", name="Confirm"))
    review.get_by_label("Note to both sides").fill("Checked against the signed purchase order.")
    _click(page, review.get_by_role("button", name="Confirm"))
    assert "The contract is confirmed; both sides are told." in _flash(page)
    scan("contracts (confirmed)")
    open_page(page, f"/events/{event_id}/statistics")
    contracts = page.locator("table", has=page.locator("caption", has_text="Supply contracts"))
    figures = {row.locator("th").inner_text().strip(): row.locator("td").last.inner_text().strip()
               for row in contracts.locator("tbody tr").all()}
    assert figures["Confirmed by staff"] == "1"
    assert re.sub(r"[^\d.,]", "", figures["Value of the confirmed contracts (EUR)"]) == "48,500.00"
    scan()
    scan.assert_clean()

    contract = db_session.scalar(select(SupplyContract).where(SupplyContract.event_id == event_id))
    assert (contract.status, contract.meeting_id, contract.signed_on) == (ContractStatus.CONFIRMED.value, meeting_id,
                                                                          signed_on)
    outcome = db_session.scalar(select(MeetingOutcome).where(MeetingOutcome.meeting_id == meeting_id))
    assert (outcome.rating, outcome.participant_id) == ("negotiation_started", contract.sme_id)
    db_session.rollback()


# --- (c) staff set up an event -----------------------------------------------------------------------


def test_staff_set_up_an_event_and_see_its_slot_grid(page, db_session):
    make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    make_edition(2027, kind=ProgrammeKind.MEET_THE_BUYER)
    db_session.commit()
    day = (utcnow() + timedelta(days=60)).date()
    scan = Scans(page, "staff")

    sign_in(page, "stefania.staff@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Events"))
    scan()
    _click(page, page.get_by_role("link", name="New event").first)  # also offered by the empty list
    assert path_of(page) == "/events/new"
    scan()
    page.get_by_label(re.compile(r"^Name\b")).fill(EVENT)
    page.get_by_label("Venue").fill("Lingotto Fiere, Via Nizza 294, Turin")
    page.get_by_label(re.compile(r"^Days\b(?! before)")).fill(day.isoformat())
    # The day ends before it starts: refused next to its field, what was typed kept, nothing saved.
    page.get_by_label("Meetings start at").fill("12:00")
    page.get_by_label("Meetings end at").fill("09:00")
    page.get_by_label("Slot length (minutes)").fill("30")
    page.get_by_label("Breaks").fill("10:30-11:00")
    page.get_by_label(re.compile(r"^Tables\b")).fill("5")
    page.get_by_label("Booking opens").fill(f"{(day - timedelta(days=30)).isoformat()}T09:00")
    page.get_by_label("Deadline for meeting requests").fill(f"{(day - timedelta(days=10)).isoformat()}T18:00")
    _click(page, page.get_by_role("button", name="Create the event"))
    end = page.get_by_label("Meetings end at")
    assert end.get_attribute("aria-invalid") == "true"
    assert page.locator("#error-summary").is_visible()
    assert page.get_by_label(re.compile(r"^Name\b")).input_value() == EVENT
    scan("new event (the day ends before it starts)")
    page.get_by_label("Meetings start at").fill("09:00")
    end.fill("12:00")
    _click(page, page.get_by_role("button", name="Create the event"))
    assert re.fullmatch(r"/events/\d+", path_of(page))
    assert "The event is created with its slot grid." in _flash(page)
    assert page.get_by_role("heading", name=EVENT, level=1).is_visible()
    scan()
    _click(page, page.get_by_role("link", name="see the grid"))
    grid = page.locator("main").inner_text()
    # 09:00-12:00 in 30-minute slots with a break at 10:30: five slots, five tables each.
    for label in ("09:00-09:30", "10:00-10:30", "11:00-11:30", "11:30-12:00"):
        assert label in grid
    assert "10:30-11:00" not in grid.split("Breaks")[0]
    scan()
    scan.assert_clean()
