"""Demo stage 4: the vouchers of the Meet the Buyer 2026 edition.

- The five cost categories (travel, accommodation, registration fee, stand, pitch coaching),
  through `schemes.ensure_default_categories()`.
- **Meet the Buyer 2026 travel vouchers**: EUR 60,000, at most EUR 2,500 per SME, every
  category, valid from 1 January 2026 to 31 March 2027, for events outside the region only,
  under the de minimis regulation (EUR 300,000 over three years).
- Vouchers in every state for the Piemonte SMEs of the Meet the Buyer events. The Turin event
  is inside the region, so no voucher pays for it: the vouchers of the months after it paid
  trips to the buyers from outside Piemonte the SME met there (a follow-up meeting, a
  presentation with pitch coaching, a buyer's suppliers' day with a stand); they are paid,
  approved (waiting for payment), claimed (waiting for review), lapsed or cancelled. The
  vouchers granted in the last weeks pay the trip to the upcoming Milan event (outside the
  region) and are waiting for their claim (one has a claim started); one was cancelled. No
  voucher is linked to an event (`event_id`): the grant rule accepts only events of the
  scheme's edition, and Milan belongs to the 2027 edition; the purpose names the trip. Claims have expense lines in eligible
  categories, dated within the voucher's validity, within its amount, each with a PDF receipt
  stored like an upload (`files.store`, purpose `voucher_receipt`); reviews approve lines
  fully, partly or reject them, with reasons.
- applicant1's company has a paid voucher (its trip to a buyer in Nice) and a granted one for
  Milan, to claim.
- Aid some companies declared from other grantors, and one company close to the de minimis
  ceiling: EUR 298,000 declared in the last three years (and older aid outside the period), so
  that a grant above EUR 2,000 is refused and any grant warns.

Rows are written straight through the models (the services are for people using the site); no
audit entries. Like the events, the vouchers are dated from the clock (whole days before or
after today, with times of day from `rng`), so two loads on the same day write the same rows;
the scheme's validity is fixed, widened only if the demo is loaded so far from 2026 that the
events fall outside it.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import Organisation, OwnershipLink, User
from opsapp.calls.models import ProgrammeKind
from opsapp.core import files
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.demo.accounts import HOME_REGION
from opsapp.events.models import Event, Meeting, MeetingStatus, Side
from opsapp.extensions import db
from opsapp.vouchers import budget, deminimis
from opsapp.vouchers.models import (
    DEMINIMIS_CEILING,
    DEMINIMIS_LEGAL_BASIS,
    DEMINIMIS_YEARS,
    CostCategory,
    DeclaredAid,
    ExpenseLine,
    LineDecision,
    Voucher,
    VoucherScheme,
    VoucherStatus,
)

TZ = "Europe/Rome"
SCHEME_NAME = "Meet the Buyer 2026 travel vouchers"
BUDGET = Decimal("60000.00")
MAX_PER_SME = Decimal("2500.00")
VALID_FROM, VALID_UNTIL = date(2026, 1, 1), date(2027, 3, 31)
RECEIPT_PURPOSE = "voucher_receipt"  # as opsapp/vouchers/claiming.py stores receipts
CATEGORIES = (  # as opsapp/vouchers/schemes.py's DEFAULT_CATEGORIES, should they be missing
    ("travel", "Travel", "Viaggio"),
    ("accommodation", "Accommodation", "Alloggio"),
    ("registration_fee", "Registration fee", "Quota di iscrizione"),
    ("stand", "Stand", "Stand espositivo"),
    ("pitch_coaching", "Pitch coaching", "Coaching per il pitch"),
)
# How many vouchers of each state (applicant1's paid and granted ones included).
COUNTS = {VoucherStatus.GRANTED: 6, VoucherStatus.CLAIMED: 4, VoucherStatus.APPROVED: 3, VoucherStatus.PAID: 7,
          VoucherStatus.LAPSED: 3, VoucherStatus.CANCELLED: 2}
CENT = Decimal("0.01")
HOTEL_CAP = Decimal("120.00")  # a night, under the scheme's rules (partial approvals quote it)

# --- the trips --------------------------------------------------------------------------------------
# By the city of the buyer visited: how to get there from Piemonte, the fare's range, the nights.


@dataclass(frozen=True)
class Route:
    mode: str  # "train" or "flight"
    destination: str  # the station or the airport city
    place: str  # the city, as a hotel's address says
    carrier: str
    fare: tuple[int, int]
    nights: tuple[int, ...]
    hotel: tuple[int, int]


ROUTES = {
    "Milano": Route("train", "Milano Centrale", "Milano", "Trenitalia S.p.A.", (38, 95), (0, 0, 1), (125, 185)),
    "Bologna": Route("train", "Bologna Centrale", "Bologna", "Trenitalia S.p.A.", (70, 150), (0, 1, 1), (100, 160)),
    "Stuttgart": Route("flight", "Stuttgart", "Stuttgart", "Eurowings GmbH", (190, 460), (1, 2), (110, 170)),
    "Ottobrunn": Route("flight", "Munich", "Munich", "Deutsche Lufthansa AG", (180, 440), (1, 2), (115, 175)),
    "Lyon": Route("train", "Lyon Part-Dieu", "Lyon", "SNCF Voyageurs", (85, 210), (1, 1, 2), (95, 150)),
    "Nice": Route("train", "Nice-Ville", "Nice", "Trenitalia S.p.A.", (55, 140), (1, 2), (105, 165)),
}
HOTELS = ("Hotel Europa", "Hotel Centrale", "Hotel Bellevue", "Hotel du Parc", "Hotel Stazione", "Hotel Meridiana")
STAND_SUPPLIER = "Allestimenti Fieristici Subalpini S.r.l."
COACH = "Studio Operti, pitch and presentation coaching"

# What each kind of trip was for, and the lines its claim has.
TRIPS = {
    "visit": ("Follow-up meeting with {buyer} in {city}, after the meetings at Meet the Buyer 2026 – Turin",
              ("travel", "accommodation")),
    "pitch": ("Presentation to the innovation team of {buyer} in {city}, prepared with pitch coaching",
              ("pitch_coaching", "travel", "accommodation")),
    "suppliers_day": ("Suppliers' day of {buyer} in {city}: registration, a table-top stand and travel",
                      ("registration_fee", "stand", "travel", "accommodation")),
}
MILAN_PURPOSE = ("Travel and accommodation to meet buyers at {event}, outside Piemonte, and pitch coaching to "
                 "prepare the meetings")

PARTLY = {
    "accommodation": "Hotels are paid up to EUR 120 a night under the scheme: {nights} approved at EUR 120.",
    "travel": "A flexible business fare: the scheme pays the standard fare of the same journey, EUR {amount}.",
    "stand": "Only the stand space is eligible: the furniture hired on the same invoice is not.",
    "registration_fee": "The invoice includes VAT, which your company recovers: the net amount is approved.",
    "pitch_coaching": "The invoice includes VAT, which your company recovers: the net amount is approved.",
}
REJECTED = [
    "The receipt is a booking confirmation, not an invoice or a proof of payment.",
    "The invoice is made out to another company: ask the supplier for one in your company's name.",
    "The receipt covers dinner with the buyer, which is hospitality and not an eligible cost.",
]
CANCEL_REASONS = [
    "The buyer postponed the follow-up meeting to next year; the company will ask again when a date is set.",
    "A partner pays the company's trip to Milan: it asked to cancel the voucher so that the amount can go to "
    "another SME.",
]

# --- declared aid -----------------------------------------------------------------------------------
# (grantor, description, amount, days before today)
NEAR_CEILING_AID = [
    ("Regione Piemonte", "PR FESR 2021-2027: grant for an industrial research and development project",
     Decimal("145000.00"), 700),
    ("Mediocredito Centrale S.p.A. (Fondo di garanzia per le PMI)",
     "Guarantee on a bank loan for new production lines (gross grant equivalent)", Decimal("62500.00"), 520),
    ("Finpiemonte S.p.A.", "Soft loan for energy efficiency: interest subsidy (gross grant equivalent)",
     Decimal("48000.00"), 400),
    ("Simest S.p.A.", "Fund for the internationalisation of SMEs: non-repayable share", Decimal("30000.00"), 250),
    ("Camera di commercio di Torino", "Digitalisation voucher (Impresa 4.0)", Decimal("12500.00"), 150),
]
NEAR_CEILING_OLD = ("Regione Piemonte", "Internationalisation call: grant for a trade mission to North America",
                    Decimal("90000.00"), 1300)  # more than three years ago: no longer counted
OTHER_AID = [
    ("Camera di commercio di Torino", "Digitalisation voucher (Impresa 4.0)", (3000, 10000)),
    ("Regione Piemonte", "Voucher for innovation consultancy", (10000, 40000)),
    ("Finpiemonte S.p.A.", "Soft loan for investments: interest subsidy (gross grant equivalent)", (8000, 35000)),
    ("Unioncamere Piemonte", "Contribution to the participation in an international trade fair", (2000, 8000)),
    ("Mediocredito Centrale S.p.A. (Fondo di garanzia per le PMI)",
     "Guarantee on a working-capital loan (gross grant equivalent)", (5000, 25000)),
]


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def _round_up(value: Decimal, step: int) -> Decimal:
    return _money((value / step).to_integral_value(rounding=ROUND_CEILING) * step)


def _eur(value: Decimal) -> str:
    return f"EUR {value:,.2f}"


# --- receipts -----------------------------------------------------------------------------------------


def receipt_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines of text (Helvetica, WinAnsi): small, valid, and the same
    bytes for the same lines."""
    commands = ["BT", "/F1 11 Tf", "16 TL", "56 780 Td"]
    for n, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        if n == 0:
            commands.append("/F1 16 Tf")
        commands.append(f"({escaped}) Tj T*")
        if n == 0:
            commands += ["/F1 11 Tf", "T*"]
    commands.append("ET")
    stream = "\n".join(commands).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- the stage ------------------------------------------------------------------------------------------


@dataclass
class Trip:
    """A past trip to a buyer from outside the region, met at the Turin event."""

    kind: str
    buyer: Organisation
    route: Route


class _Stage:
    def __init__(self, rng: random.Random, ctx: dict) -> None:
        self.rng = rng
        self.ctx = ctx
        self.staff: User = ctx["staff"]
        self.owner: dict[int, User] = {o.id: u for o, u in zip(ctx["companies"], ctx["applicants"], strict=True)}
        self.now = utcnow().replace(microsecond=0)
        self.today = to_local(self.now, TZ).date()
        self.past: Event = ctx["events"]["meet_the_buyer_2026"]
        self.upcoming: Event = ctx["events"]["meet_the_buyer_2027"]
        self.turin_day = date.fromisoformat(self.past.days[0])
        self.milan_last = date.fromisoformat(self.upcoming.days[-1])
        self.plans: dict[int, dict] = {}  # what each expense line was written from

    # --- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return local_to_utc(datetime.combine(day, time(hour, minute)), TZ)

    def daytime(self, day: date, first_hour: int = 9, last_hour: int = 17) -> datetime:
        """A working-hours moment on `day`; never after now."""
        moment = self.at(day, self.rng.randint(first_hour, last_hour), 5 * self.rng.randrange(12))
        return min(moment, self.now - timedelta(minutes=5))

    def day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def amount(self, low: int, high: int) -> Decimal:
        """An amount with cents, from `low` to `high` EUR."""
        return _money(Decimal(self.rng.randint(low * 100, high * 100)) / 100)

    # --- the scheme ---------------------------------------------------------------------------------------

    def categories(self) -> dict[str, CostCategory]:
        from opsapp.vouchers import schemes  # the categories as the scheme pages create them

        schemes.ensure_default_categories()
        found = {c.code: c for c in db.session.scalars(select(CostCategory))}
        for code, name_en, name_it in CATEGORIES:
            if code not in found:
                found[code] = CostCategory(code=code, name_en=name_en, name_it=name_it, active=True)
                db.session.add(found[code])
            found[code].active = True
        db.session.flush()
        return {code: found[code] for code, _, _ in CATEGORIES}

    def scheme(self, categories: dict[str, CostCategory]) -> VoucherScheme:
        # Fixed dates; widened only if the demo is loaded so far from 2026 that its trips fall outside.
        valid_from = min(VALID_FROM, self.turin_day)
        valid_until = max(VALID_UNTIL, self.milan_last + timedelta(days=75))
        scheme = VoucherScheme(
            edition=self.ctx["editions"][(ProgrammeKind.MEET_THE_BUYER, 2026)], name=SCHEME_NAME,
            description="Vouchers for the SMEs of the Meet the Buyer 2026 programme: travel, accommodation, "
                        "registration fees, stands and pitch coaching to meet buyers at events and suppliers' "
                        "days outside Piemonte. Claim with the receipts by the date on your voucher.",
            legal_basis=DEMINIMIS_LEGAL_BASIS, budget=BUDGET, max_per_sme=MAX_PER_SME,
            valid_from=valid_from, valid_until=valid_until, outside_region_only=True,
            deminimis_ceiling=DEMINIMIS_CEILING, deminimis_years=DEMINIMIS_YEARS, warning_percent=10,
            created_at=self.at(valid_from - timedelta(days=17), 10, 40), created_by_id=self.staff.id)
        scheme.cost_categories = list(categories.values())
        db.session.add(scheme)
        return scheme

    # --- who gets what ----------------------------------------------------------------------------------

    def candidates(self) -> tuple[list[Organisation], dict[int, list[Organisation]], set[int]]:
        """The Piemonte SMEs of the Turin event (in its order), the buyers from outside the region
        each of them met there, and the organisations also taking part in Milan."""
        smes = [p.organisation for p in self.past.participants
                if p.side == Side.SME.value and p.organisation.nuts2_region == HOME_REGION
                and p.organisation.kind in ("startup", "sme") and p.organisation.size_class != "large"]
        met: dict[int, list[Organisation]] = {o.id: [] for o in smes}
        for m in db.session.scalars(select(Meeting).where(Meeting.event_id == self.past.id,
                                                          Meeting.status == MeetingStatus.HELD.value)
                                    .order_by(Meeting.id)):
            org = m.sme.organisation
            if org.id in met and m.buyer.outside_region and m.buyer.organisation.city in ROUTES:
                met[org.id].append(m.buyer.organisation)
        in_milan = {p.organisation_id for p in self.upcoming.participants if p.side == Side.SME.value}
        return smes, met, in_milan

    def near_ceiling_company(self, smes: list[Organisation], in_milan: set[int], exclude: set[int]) -> Organisation:
        """A company of both events with no linked enterprise (its position is its own), the
        larger the better: it has the aid history to show."""
        linked_vats = {link.enterprise_vat for link in db.session.scalars(select(OwnershipLink))}
        pool = [o for o in smes if o.id in in_milan and o.id not in exclude and not o.ownership_links
                and o.vat_number not in linked_vats]
        for size in ("medium", "small", "micro"):
            sized = [o for o in pool if o.size_class == size]
            if sized:
                return self.rng.choice(sized)
        return self.rng.choice(pool)

    # --- vouchers ----------------------------------------------------------------------------------------

    def voucher(self, scheme: VoucherScheme, org: Organisation, amount: Decimal, granted_on: date,
                valid_until: date, purpose: str) -> Voucher:
        voucher = Voucher(
            scheme=scheme, organisation=org, event=None, purpose=purpose, amount=_money(amount),
            granted_on=granted_on, valid_until=valid_until, status=VoucherStatus.GRANTED.value,
            granted_at=self.daytime(granted_on), granted_by_id=self.staff.id)
        db.session.add(voucher)
        return voucher

    def trip_for(self, org: Organisation, buyers: list[Organisation], kind: str | None = None) -> Trip:
        buyer = self.rng.choice(buyers)
        return Trip(kind or self.rng.choice(list(TRIPS)), buyer, ROUTES[buyer.city])

    def plan_lines(self, org: Organisation, trip: Trip, granted_on: date, travel_day: date) -> list[dict]:
        """The expenses of a trip, dated from the grant to the journey home."""
        rng = self.rng
        route, buyer = trip.route, trip.buyer.legal_name
        nights = rng.choice(route.nights)
        lines = []
        for code in TRIPS[trip.kind][1]:
            if code == "travel":
                if route.mode == "flight":
                    text = f"Return flight Torino – {route.destination}, economy"
                else:
                    text = f"Return train ticket {org.city} – {route.destination}"
                lines.append({"code": code, "spent_on": self.day(granted_on + timedelta(days=1), travel_day),
                              "description": text, "amount": self.amount(*route.fare), "supplier": route.carrier})
            elif code == "accommodation":
                if nights == 0:
                    continue
                per_night = self.amount(*route.hotel)
                lines.append({"code": code, "spent_on": travel_day + timedelta(days=nights),
                              "description": f"Hotel in {route.place}, {nights} night{'s' if nights > 1 else ''}",
                              "amount": _money(per_night * nights), "nights": nights,
                              "supplier": f"{rng.choice(HOTELS)}, {route.place}"})
            elif code == "registration_fee":
                lines.append({"code": code, "spent_on": self.day(granted_on + timedelta(days=1), travel_day),
                              "description": f"Registration fee, suppliers' day of {buyer}",
                              "amount": self.amount(150, 420), "supplier": buyer})
            elif code == "stand":
                lines.append({"code": code, "spent_on": self.day(granted_on + timedelta(days=2), travel_day),
                              "description": f"Table-top stand at the suppliers' day of {buyer}",
                              "amount": self.amount(480, 950), "supplier": STAND_SUPPLIER})
            elif code == "pitch_coaching":
                lines.append({"code": code, "spent_on": self.day(granted_on + timedelta(days=1),
                                                                 travel_day - timedelta(days=2)),
                              "description": f"Pitch coaching to prepare the presentation to {buyer}",
                              "amount": self.amount(300, 650), "supplier": COACH})
        return lines

    def write_lines(self, voucher: Voucher, org: Organisation, planned: list[dict],
                    categories: dict[str, CostCategory], claimed_at: datetime) -> list[ExpenseLine]:
        """The lines with their receipts, uploaded by the SME's owner before the claim."""
        owner = self.owner[org.id]
        rows = []
        for n, item in enumerate(sorted(planned, key=lambda i: i["spent_on"])):
            number = f"{item['spent_on']:%Y}-{self.rng.randint(10000, 99999)}"
            content = receipt_pdf([
                "RECEIPT", item["supplier"], f"Receipt no. {number}", f"Date: {item['spent_on']:%d %B %Y}",
                f"Customer: {org.legal_name}, VAT {org.vat_number}", f"Description: {item['description']}",
                f"Amount paid: {_eur(item['amount'])} (VAT included)",
                self.rng.choice(["Paid by card.", "Paid by bank transfer.", "Paid online."])])
            upload = FileStorage(stream=io.BytesIO(content), filename=f"receipt-{item['code'].replace('_', '-')}-"
                                 f"{item['spent_on']:%Y%m%d}.pdf", content_type="application/pdf")
            stored = files.store(upload, purpose=RECEIPT_PURPOSE, uploaded_by=owner, organisation_id=org.id,
                                 allowed=files.RECEIPTS, description=item["description"][:255])
            earliest = max(self.at(item["spent_on"], 18), claimed_at - timedelta(days=3))
            stored.created_at = min(earliest + timedelta(minutes=7 * (n + 1)), claimed_at - timedelta(minutes=5))
            line = ExpenseLine(category_id=categories[item["code"]].id, spent_on=item["spent_on"],
                               description=item["description"], amount=item["amount"], receipt_id=stored.id)
            self.plans[id(line)] = item  # for the review
            voucher.lines.append(line)
            rows.append(line)
        return rows

    def review(self, voucher: Voucher, lines: list[ExpenseLine], reviewed_at: datetime, *, partly: bool,
               rejected: bool) -> None:
        """Decide every line; `partly`/`rejected`: at least one line so decided (when the lines allow it)."""
        rng = self.rng
        decided = set()
        if rejected and len(lines) > 1:
            line = rng.choice(lines)
            line.decision, line.approved_amount = LineDecision.REJECTED.value, _money(0)
            line.decision_reason = rng.choice(REJECTED)
            decided.add(id(line))
        if partly:
            for line in rng.sample(lines, len(lines)):
                if id(line) not in decided and self.partly(line):
                    decided.add(id(line))
                    break
        for line in lines:
            if id(line) not in decided:
                line.decision, line.approved_amount, line.decision_reason = LineDecision.APPROVED.value, line.amount, None
        voucher.approved_amount = min(_money(sum((line.approved_amount for line in lines), Decimal(0))), voucher.amount)
        voucher.reviewed_at = reviewed_at
        voucher.reviewed_by_id = self.staff.id
        voucher.status = VoucherStatus.APPROVED.value

    def partly(self, line: ExpenseLine) -> bool:
        """Approve part of the line, with the scheme's reason; False when the reason does not apply."""
        item = self.plans[id(line)]
        code = item["code"]
        if code == "accommodation":
            cap = HOTEL_CAP * item["nights"]
            if line.amount <= cap:
                return False
            approved = _money(cap)
            nights = f"{item['nights']} night{'s' if item['nights'] > 1 else ''}"
            reason = PARTLY[code].format(nights=nights)
        elif code == "travel":
            approved = _money(line.amount * Decimal("0.7"))
            reason = PARTLY[code].format(amount=f"{approved:,.2f}")
        elif code == "stand":
            approved = _money(line.amount * Decimal("0.75"))
            reason = PARTLY[code]
        else:
            approved = _money(line.amount / Decimal("1.22"))
            reason = PARTLY[code]
        if not Decimal(0) < approved < line.amount:
            return False
        line.decision, line.approved_amount, line.decision_reason = LineDecision.PARTLY.value, approved, reason
        return True

    def past_trip(self, scheme: VoucherScheme, org: Organisation, trip: Trip, categories, status: VoucherStatus,
                  granted: tuple[date, date], *, partly: bool = False, rejected: bool = False,
                  amount: Decimal | None = None) -> Voucher:
        """A voucher for a trip after the Turin event, taken as far as `status`."""
        rng = self.rng
        today = self.today
        granted_on = self.day(*granted)
        purpose = TRIPS[trip.kind][0].format(buyer=trip.buyer.legal_name, city=trip.route.place)
        travel_day = min(granted_on + timedelta(days=rng.randint(14, 35)), today - timedelta(days=5))
        planned = self.plan_lines(org, trip, granted_on, travel_day)
        total = _money(sum((i["amount"] for i in planned), Decimal(0)))
        if amount is None:
            amount = min(MAX_PER_SME, _round_up(total + rng.choice([0, 60, 150, 300]), 250))
        while total > amount:  # a voucher smaller than the trip: the SME claims what it covers
            planned.remove(max(planned, key=lambda i: i["amount"]))
            total = _money(sum((i["amount"] for i in planned), Decimal(0)))
        if status is VoucherStatus.LAPSED:
            valid_until = granted_on + timedelta(days=rng.randint(75, 100))
        else:
            valid_until = granted_on + timedelta(days=120)
        voucher = self.voucher(scheme, org, amount, granted_on, valid_until, purpose)
        if status is VoucherStatus.LAPSED:
            voucher.status = status.value
            voucher.closed_at = self.at(valid_until + timedelta(days=1), 2, 23)  # by the daily job, as grants.lapse_due
            return voucher
        if status is VoucherStatus.CANCELLED:
            voucher.status = status.value
            voucher.closed_at = self.daytime(min(granted_on + timedelta(days=rng.randint(10, 40)), today))
            voucher.close_reason = CANCEL_REASONS[0]
            return voucher

        last_spent = max(i["spent_on"] for i in planned)
        if status is VoucherStatus.CLAIMED:
            claim_day = self.day(max(last_spent + timedelta(days=2), today - timedelta(days=20)),
                                 min(today - timedelta(days=1), valid_until))
        else:
            claim_day = self.day(last_spent + timedelta(days=2),
                                 min(last_spent + timedelta(days=14), valid_until, today - timedelta(days=5)))
        voucher.claimed_at = self.daytime(claim_day)
        voucher.claimed_by_id = self.owner[org.id].id
        voucher.status = VoucherStatus.CLAIMED.value
        lines = self.write_lines(voucher, org, planned, categories, voucher.claimed_at)
        if status is VoucherStatus.CLAIMED:
            return voucher

        review_day = min(claim_day + timedelta(days=rng.randint(4, 8 if status is VoucherStatus.APPROVED else 14)),
                         today - timedelta(days=1))
        reviewed_at = max(self.daytime(review_day), voucher.claimed_at + timedelta(hours=1))
        self.review(voucher, lines, reviewed_at, partly=partly, rejected=rejected)
        if status is VoucherStatus.APPROVED:
            return voucher

        paid_on = min(review_day + timedelta(days=rng.randint(5, 18)), today - timedelta(days=1))
        voucher.paid_amount = voucher.approved_amount
        voucher.paid_on = paid_on
        voucher.payment_reference = f"SEPA TRN {rng.randint(10 ** 15, 10 ** 16 - 1)}"
        voucher.status = VoucherStatus.PAID.value
        return voucher

    def milan_voucher(self, scheme: VoucherScheme, org: Organisation, amount: Decimal, granted: tuple[date, date],
                      ) -> Voucher:
        granted_on = self.day(*granted)
        valid_until = min(scheme.valid_until, self.milan_last + timedelta(days=45))
        # Described in the purpose, not linked: a voucher's event must belong to the scheme's edition,
        # and Milan is the 2027 edition's event (the 2026 one, Turin, is inside the region).
        return self.voucher(scheme, org, amount, granted_on, valid_until, MILAN_PURPOSE.format(event=self.upcoming.name))

    # --- declared aid ---------------------------------------------------------------------------------------

    def declared(self, org: Organisation, grantor: str, description: str, amount: Decimal, granted_on: date,
                 declared_at: datetime, application_id: int | None = None) -> DeclaredAid:
        aid = DeclaredAid(organisation_id=org.id, grantor=grantor, description=description, amount=_money(amount),
                          granted_on=granted_on, declared_at=declared_at, declared_by_id=self.owner[org.id].id,
                          application_id=application_id)
        db.session.add(aid)
        return aid

    def declared_aid(self, near: Organisation, others: list[Organisation], applicant_org: Organisation) -> list:
        rng = self.rng
        today = self.today
        rows = []
        declared_on = today - timedelta(days=rng.randint(8, 30))
        for grantor, description, amount, days_ago in [*NEAR_CEILING_AID, NEAR_CEILING_OLD]:
            rows.append(self.declared(near, grantor, description, amount, today - timedelta(days=days_ago),
                                      self.daytime(declared_on)))
        # Declared in the Meet the Buyer 2026 application (aid received before it), or on the organisation page.
        applications = {p.organisation_id: p.application for p in self.past.participants if p.application}
        for org in [applicant_org, *others]:
            grantor, description, (low, high) = OTHER_AID[0] if org is applicant_org else rng.choice(OTHER_AID[1:])
            amount = _money(Decimal(rng.randint(low // 250, high // 250) * 250))
            application = applications.get(org.id)
            if application is not None and application.submitted_at is not None and (
                    org is applicant_org or rng.random() < 0.5):
                submitted = to_local(application.submitted_at, TZ).date()
                rows.append(self.declared(org, grantor, description, amount,
                                          submitted - timedelta(days=rng.randint(120, 700)), application.submitted_at,
                                          application_id=application.id))
            else:
                granted_on = today - timedelta(days=rng.randint(90, 900))
                rows.append(self.declared(org, grantor, description, amount, granted_on,
                                          self.daytime(self.day(granted_on + timedelta(days=20), today - timedelta(days=2)))))
        return rows


def load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    stage = _Stage(rng, ctx)
    today, turin = stage.today, stage.turin_day
    categories = stage.categories()
    scheme = stage.scheme(categories)
    db.session.flush()

    smes, met, in_milan = stage.candidates()
    applicant_org = ctx["companies"][0]
    near = stage.near_ceiling_company(smes, in_milan, {applicant_org.id})
    taken = {applicant_org.id, near.id}
    # Milan's vouchers go to companies of both events that met no buyer from outside (they had no trip to pay).
    both = [o for o in smes if o.id in in_milan and o.id not in taken]
    rng.shuffle(both)
    both.sort(key=lambda o: len(met[o.id]) > 0)
    milan_orgs = both[:COUNTS[VoucherStatus.GRANTED]]  # 5 granted (applicant1 is the sixth) and 1 cancelled
    taken |= {o.id for o in milan_orgs}
    travellers = [o for o in smes if o.id not in taken and met[o.id]]
    rng.shuffle(travellers)

    vouchers: list[Voucher] = []
    # applicant1: a paid voucher for its trip to a buyer in Nice (or another it met), and one for Milan.
    buyers1 = met.get(applicant_org.id) or [b for b in ctx["buyers"] if b.city in ROUTES]
    nice = [b for b in buyers1 if b.city == "Nice"] or buyers1
    paid1 = stage.past_trip(scheme, applicant_org, stage.trip_for(applicant_org, nice, "visit"), categories,
                            VoucherStatus.PAID, (turin + timedelta(days=8), turin + timedelta(days=20)),
                            partly=True)
    vouchers.append(paid1)
    vouchers.append(stage.milan_voucher(scheme, applicant_org, min(Decimal("1500.00"), MAX_PER_SME - paid1.amount),
                                        (today - timedelta(days=18), today - timedelta(days=6))))

    plan = ([(VoucherStatus.PAID, (turin + timedelta(days=7), turin + timedelta(days=70)))] * (COUNTS[VoucherStatus.PAID] - 1)
            + [(VoucherStatus.APPROVED, (today - timedelta(days=80), today - timedelta(days=60)))] * COUNTS[VoucherStatus.APPROVED]
            + [(VoucherStatus.CLAIMED, (today - timedelta(days=75), today - timedelta(days=50)))] * COUNTS[VoucherStatus.CLAIMED]
            + [(VoucherStatus.LAPSED, (turin + timedelta(days=5), turin + timedelta(days=60)))] * COUNTS[VoucherStatus.LAPSED]
            + [(VoucherStatus.CANCELLED, (turin + timedelta(days=5), turin + timedelta(days=40)))])
    if len(travellers) < len(plan):
        raise RuntimeError(f"the demo needs {len(plan)} SMEs that met buyers from outside the region, not {len(travellers)}")
    for n, ((status, window), org) in enumerate(zip(plan, travellers[:len(plan)], strict=True)):
        # Reviews: most lines approved in full; a partial approval and a rejection among them.
        vouchers.append(stage.past_trip(scheme, org, stage.trip_for(org, met[org.id]), categories, status, window,
                                        partly=n % 3 == 1, rejected=n % 4 == 2))

    granted_window = (today - timedelta(days=25), today - timedelta(days=2))
    for org in milan_orgs[:-1]:
        vouchers.append(stage.milan_voucher(scheme, org, Decimal(rng.choice([1000, 1250, 1500, 2000])),
                                            granted_window))
    cancelled = stage.milan_voucher(scheme, milan_orgs[-1], Decimal("1500.00"),
                                    (today - timedelta(days=32), today - timedelta(days=22)))
    cancelled.status = VoucherStatus.CANCELLED.value
    cancelled.closed_at = stage.daytime(stage.day(today - timedelta(days=12), today - timedelta(days=3)))
    cancelled.close_reason = CANCEL_REASONS[1]
    vouchers.append(cancelled)
    db.session.flush()

    # One Milan voucher has a claim started: the train ticket, bought in advance.
    started = next(v for v in vouchers if v.status == VoucherStatus.GRANTED.value and v.organisation_id != applicant_org.id)
    if started.granted_on < today:
        org = started.organisation
        spent = stage.day(started.granted_on, today - timedelta(days=1)) if started.granted_on < today - timedelta(days=1) \
            else started.granted_on
        stage.write_lines(started, org, [{
            "code": "travel", "spent_on": spent, "description": f"Return train ticket {org.city} – Milano Centrale",
            "amount": stage.amount(38, 95), "supplier": "Trenitalia S.p.A."}], categories,
            min(stage.at(spent, 21), stage.now - timedelta(minutes=30)))

    aid_holders = rng.sample([v.organisation for v in vouchers if v.organisation_id != applicant_org.id], 4)
    aid = stage.declared_aid(near, list(dict.fromkeys(aid_holders)), applicant_org)
    db.session.flush()

    figures = budget.summarise(scheme.budget, [(v.status, v.amount, v.approved_amount, v.paid_amount) for v in vouchers])
    statuses = Counter(v.status for v in vouchers)
    lines = sum(len(v.lines) for v in vouchers)
    first_day, _ = deminimis.window(today, scheme.deminimis_years)
    near_total = sum((a.amount for a in aid if a.organisation_id == near.id and a.granted_on >= first_day), Decimal(0))
    summary.append(
        f"Vouchers: scheme {SCHEME_NAME} (Meet the Buyer 2026 edition, {_eur(BUDGET)}, at most {_eur(MAX_PER_SME)} "
        f"per SME, events outside the region, valid {scheme.valid_from.day} {scheme.valid_from:%B %Y} to "
        f"{scheme.valid_until.day} {scheme.valid_until:%B %Y}): {len(vouchers)} vouchers ("
        + ", ".join(f"{statuses[s.value]} {s.value}" for s in VoucherStatus)
        + f"), {_eur(figures.committed)} committed, {_eur(figures.available)} available, {lines} expense lines "
        f"with receipts; applicant1 has a voucher to claim for Milan and a paid one.")
    number = ctx["companies"].index(near) + 1
    summary.append(
        f"Declared de minimis aid: {len({a.organisation_id for a in aid})} companies; {near.legal_name} "
        f"(applicant{number}) is close to the ceiling with {_eur(near_total)} in the last three years: "
        f"a grant above {_eur(DEMINIMIS_CEILING - near_total)} is refused and any grant warns.")
    return {"voucher_scheme": scheme, "vouchers": vouchers, "near_ceiling": near}
