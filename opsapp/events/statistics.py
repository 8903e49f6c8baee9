"""An event's figures, computed from plain rows: requests, meetings, outcomes, contracts and
who took part.

Pure: the caller (the statistics page, the exports, the KPI module later) loads the rows
once as the small dataclasses below and gets back `EventFigures`, a list of tables, each
with a caption, a header and rows of (label, value...), ready for an HTML table, a CSV
or a spreadsheet. Labels are lazy strings, translated when shown.

What the figures mean:

- requests by the side that sent them (staff-created ones apart), and by their status
  now (a request accepted and then withdrawn counts as withdrawn);
- meetings scheduled are those placed in the agendas and not cancelled (scheduled,
  held or no-show); held, no-shows and cancelled are their statuses;
- outcomes per rating and round, one per side that rated;
- contracts recorded (every declaration), confirmed, rejected and waiting, and the
  value of the confirmed ones;
- participants: buyers and SMEs invited (every participant added, including those who
  withdrew later), buyers from outside the region, and those who met: at least one
  held meeting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l

SME, BUYER, STAFF = "sme", "buyer", "staff"
HELD, NO_SHOW, CANCELLED, SCHEDULED = "held", "no_show", "cancelled", "scheduled"
RATINGS = ("no_further_contact", "follow_up_agreed", "negotiation_started", "agreement_reached")
ROUNDS = ("after_meeting", "six_months")
REQUEST_STATUSES = ("pending", "accepted", "declined", "withdrawn", "expired")


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    side: str
    outside_region: bool = False
    withdrawn: bool = False


@dataclass(frozen=True)
class RequestRow:
    id: int
    requested_by: str  # "sme", "buyer" or "staff"
    status: str


@dataclass(frozen=True)
class MeetingRow:
    id: int
    sme_id: int
    buyer_id: int
    status: str


@dataclass(frozen=True)
class OutcomeRow:
    meeting_id: int
    participant_id: int
    round: str
    rating: str


@dataclass(frozen=True)
class ContractRow:
    status: str
    value: Decimal


@dataclass
class FigureTable:
    key: str  # a stable name for exports ("requests", "meetings", ...)
    caption: object
    header: list
    rows: list[list] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # one stable name per row

    def value(self, label_key: str, column: int = 1):
        """The value of the row whose key is `label_key` (for tests and callers)."""
        for row_key, row in zip(self.keys, self.rows, strict=True):
            if row_key == label_key:
                return row[column]
        raise KeyError(label_key)

    def add(self, key: str, *values) -> None:
        self.keys.append(key)
        self.rows.append(list(values))


@dataclass
class EventFigures:
    tables: list[FigureTable]

    def __getitem__(self, key: str) -> FigureTable:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def _labels() -> dict[str, object]:
    return {
        "no_further_contact": _l("No further contact"),
        "follow_up_agreed": _l("Follow-up agreed"),
        "negotiation_started": _l("Negotiation started"),
        "agreement_reached": _l("Agreement reached"),
    }


def compute(participants: Iterable[ParticipantRow], requests: Iterable[RequestRow],
            meetings: Iterable[MeetingRow], outcomes: Iterable[OutcomeRow],
            contracts: Iterable[ContractRow]) -> EventFigures:
    participants, requests, meetings = list(participants), list(requests), list(meetings)
    outcomes, contracts = list(outcomes), list(contracts)

    # Requests
    by_side = Counter(r.requested_by for r in requests)
    by_status = Counter(r.status for r in requests)
    req = FigureTable("requests", _l("Meeting requests"), [_l("Figure"), _l("Requests")])
    req.add("sent", _l("Requests sent"), len(requests))
    req.add("sent_by_sme", _l("sent by SMEs"), by_side[SME])
    req.add("sent_by_buyer", _l("sent by buyers"), by_side[BUYER])
    req.add("sent_by_staff", _l("created by staff"), by_side[STAFF])
    req.add("accepted", _l("Accepted"), by_status["accepted"])
    req.add("declined", _l("Declined"), by_status["declined"])
    req.add("expired", _l("Expired without an answer"), by_status["expired"])
    req.add("withdrawn", _l("Withdrawn"), by_status["withdrawn"])
    req.add("pending", _l("Still waiting for an answer"), by_status["pending"])

    # Meetings
    statuses = Counter(m.status for m in meetings)
    live = [m for m in meetings if m.status != CANCELLED]
    meet = FigureTable("meetings", _l("Meetings"), [_l("Figure"), _l("Meetings")])
    meet.add("scheduled", _l("Scheduled (placed in the agendas)"), len(live))
    meet.add("held", _l("Held"), statuses[HELD])
    meet.add("no_show", _l("Did not happen (no-show)"), statuses[NO_SHOW])
    meet.add("to_hold", _l("Not held yet"), statuses[SCHEDULED])
    meet.add("cancelled", _l("Cancelled"), statuses[CANCELLED])

    # Outcomes: rating x round
    counted = Counter((o.rating, o.round) for o in outcomes)
    labels = _labels()
    out = FigureTable("outcomes", _l("Meeting outcomes, as rated by each side"),
                      [_l("Rating"), _l("After the meeting"), _l("Six months later")])
    for rating in RATINGS:
        out.add(rating, labels[rating], *(counted[(rating, r)] for r in ROUNDS))
    out.add("total", _l("Ratings given"), *(sum(counted[(k, r)] for k in RATINGS) for r in ROUNDS))

    # Contracts
    contract_status = Counter(c.status for c in contracts)
    confirmed_value = sum((Decimal(c.value) for c in contracts if c.status == "confirmed"), Decimal("0.00"))
    recorded_value = sum((Decimal(c.value) for c in contracts if c.status != "rejected"), Decimal("0.00"))
    con = FigureTable("contracts", _l("Supply contracts"), [_l("Figure"), _l("Value")])
    con.add("recorded", _l("Contracts recorded"), len(contracts))
    con.add("confirmed", _l("Confirmed by staff"), contract_status["confirmed"])
    con.add("waiting", _l("Waiting for confirmation"), contract_status["recorded"])
    con.add("rejected", _l("Rejected"), contract_status["rejected"])
    con.add("confirmed_value", _l("Value of the confirmed contracts (EUR)"), confirmed_value)
    con.add("declared_value", _l("Value declared, rejected ones aside (EUR)"), recorded_value)

    # Participants
    held_by: set[int] = set()
    for m in meetings:
        if m.status == HELD:
            held_by.update((m.sme_id, m.buyer_id))
    buyers = [p for p in participants if p.side == BUYER]
    smes = [p for p in participants if p.side == SME]
    outside = [p for p in buyers if p.outside_region]
    who = FigureTable("participants", _l("Participants"), [_l("Figure"), _l("Participants")])
    who.add("buyers_invited", _l("Buyers invited"), len(buyers))
    who.add("buyers_met", _l("Buyers who met at least one SME"), sum(1 for p in buyers if p.id in held_by))
    who.add("outside_buyers_invited", _l("Buyers from outside the region invited"), len(outside))
    who.add("outside_buyers_met", _l("Buyers from outside the region who met at least one SME"),
            sum(1 for p in outside if p.id in held_by))
    who.add("smes_invited", _l("SMEs invited"), len(smes))
    who.add("smes_met", _l("SMEs who met at least one buyer"), sum(1 for p in smes if p.id in held_by))
    who.add("withdrawn", _l("Participants who withdrew"), sum(1 for p in participants if p.withdrawn))

    return EventFigures([req, meet, out, con, who])
