"""The event's figures on a small case computed by hand (pure: no database)."""

from __future__ import annotations

from decimal import Decimal

from opsapp.events.statistics import (
    ContractRow,
    MeetingRow,
    OutcomeRow,
    ParticipantRow,
    RequestRow,
    compute,
)

# Two SMEs (1, 2; 2 withdrew), three buyers (10 inside, 11 and 12 outside the region).
PARTICIPANTS = [ParticipantRow(1, "sme"), ParticipantRow(2, "sme", withdrawn=True),
                ParticipantRow(3, "sme"),
                ParticipantRow(10, "buyer"), ParticipantRow(11, "buyer", outside_region=True),
                ParticipantRow(12, "buyer", outside_region=True)]
REQUESTS = [RequestRow(1, "sme", "accepted"), RequestRow(2, "sme", "accepted"), RequestRow(3, "sme", "declined"),
            RequestRow(4, "buyer", "accepted"), RequestRow(5, "buyer", "expired"), RequestRow(6, "sme", "withdrawn"),
            RequestRow(7, "staff", "accepted"), RequestRow(8, "sme", "pending")]
# SME 1 met buyer 10 and buyer 11; SME 3's meeting with buyer 12 did not happen; one meeting cancelled,
# one still to come.
MEETINGS = [MeetingRow(100, 1, 10, "held"), MeetingRow(101, 1, 11, "held"), MeetingRow(102, 3, 12, "no_show"),
            MeetingRow(103, 3, 10, "cancelled"), MeetingRow(104, 3, 11, "scheduled")]
OUTCOMES = [OutcomeRow(100, 1, "after_meeting", "follow_up_agreed"),
            OutcomeRow(100, 10, "after_meeting", "follow_up_agreed"),
            OutcomeRow(101, 1, "after_meeting", "no_further_contact"),
            OutcomeRow(100, 1, "six_months", "agreement_reached")]
CONTRACTS = [ContractRow("confirmed", Decimal("12500.00")), ContractRow("confirmed", Decimal("2500.50")),
             ContractRow("recorded", Decimal("1000.00")), ContractRow("rejected", Decimal("99999.00"))]


def figures():
    return compute(PARTICIPANTS, REQUESTS, MEETINGS, OUTCOMES, CONTRACTS)


def test_requests_by_side_and_status():
    requests = figures()["requests"]
    assert requests.value("sent") == 8
    assert (requests.value("sent_by_sme"), requests.value("sent_by_buyer"), requests.value("sent_by_staff")) == (5, 2, 1)
    assert requests.value("accepted") == 4
    assert requests.value("declined") == 1
    assert requests.value("expired") == 1
    assert requests.value("withdrawn") == 1
    assert requests.value("pending") == 1


def test_meetings_count_every_live_one_as_scheduled():
    meetings = figures()["meetings"]
    assert meetings.value("scheduled") == 4  # held, held, no-show, still to come; not the cancelled one
    assert meetings.value("held") == 2
    assert meetings.value("no_show") == 1
    assert meetings.value("to_hold") == 1
    assert meetings.value("cancelled") == 1


def test_outcomes_per_rating_and_round():
    outcomes = figures()["outcomes"]
    assert outcomes.value("follow_up_agreed", 1) == 2
    assert outcomes.value("no_further_contact", 1) == 1
    assert outcomes.value("agreement_reached", 1) == 0
    assert outcomes.value("agreement_reached", 2) == 1
    assert outcomes.value("total", 1) == 3 and outcomes.value("total", 2) == 1


def test_contracts_and_the_confirmed_value():
    contracts = figures()["contracts"]
    assert contracts.value("recorded") == 4
    assert contracts.value("confirmed") == 2
    assert contracts.value("waiting") == 1
    assert contracts.value("rejected") == 1
    assert contracts.value("confirmed_value") == Decimal("15000.50")
    assert contracts.value("declared_value") == Decimal("16000.50")


def test_who_met_counts_held_meetings_only():
    who = figures()["participants"]
    assert who.value("buyers_invited") == 3
    assert who.value("buyers_met") == 2  # 10 and 11; 12's meeting did not happen
    assert who.value("outside_buyers_invited") == 2
    assert who.value("outside_buyers_met") == 1  # 11
    assert who.value("smes_invited") == 3
    assert who.value("smes_met") == 1  # only SME 1 held a meeting
    assert who.value("withdrawn") == 1


def test_an_empty_event_has_zero_everywhere():
    empty = compute([], [], [], [], [])
    assert all(v == 0 for table in empty.tables for row in table.rows for v in row[1:])
    assert [t.key for t in empty.tables] == ["requests", "meetings", "outcomes", "contracts", "participants"]
