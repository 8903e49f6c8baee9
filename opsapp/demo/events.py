"""Demo stage 3: Meet the Buyer events, one held and one being booked.

- **Meet the Buyer 2026 – Turin** (the 2026 edition, its SMEs the selected applications of the
  decided Meet the Buyer call), held about seven and a half months ago and now in follow-up:
  complete profiles, some unavailability, pitch and negotiation training with attendance,
  requests in every final status, meetings placed by the real scheduler
  (`scheduling.solve`), check-ins, meetings held and a few that did not happen, outcomes from
  both sides right after the meeting and again six months later, supply contracts (most
  confirmed by staff, one waiting).
- **Meet the Buyer 2027 – Milan**, in about six weeks, two mornings, in booking: 60 SMEs and
  20 buyers (8 from outside Piemonte) with profiles, training sessions held in the past weeks,
  favourites and 400 requests in both directions, their priorities following the fit between
  offer and needs; most accepted, some declined with a reason, some waiting for an answer
  (and not expired).

applicant1 and buyer1 take part in both: they met in Turin (and recorded a contract that
staff have yet to confirm), and in Milan both have requests waiting for their answer.

Rows are written straight through the models (the services are for people using the site).
The events must be past and future whenever the demo is loaded, so their dates are set
relative to the clock; they are whole days before or after the local date with fixed times of
day, so two loads on the same day write the same rows. Everything else comes from `rng`.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from opsapp.accounts.models import Organisation, User
from opsapp.calls.models import ProgrammeKind
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.demo.accounts import HOME_REGION
from opsapp.events import grid, scheduling
from opsapp.events.models import (
    ContractStatus,
    Event,
    EventPhase,
    EventSlot,
    Favourite,
    Meeting,
    MeetingOutcome,
    MeetingRequest,
    MeetingStatus,
    OutcomeFollowUp,
    OutcomeRating,
    OutcomeRound,
    Participant,
    ParticipantStatus,
    RequestStatus,
    ScheduleRun,
    ScheduleRunStatus,
    Side,
    SupplyContract,
    TrainingAttendance,
    TrainingKind,
    TrainingSession,
)
from opsapp.extensions import db

TZ = "Europe/Rome"
SIX_MONTHS = timedelta(days=182)
PAST_NAME = "Meet the Buyer 2026 – Turin"
UPCOMING_NAME = "Meet the Buyer 2027 – Milan"
# The held event's design and how many requests each side sent. Two mornings keep the scheduler's
# run short (the optimum and no idle gaps in well under a second), so it ends long before its time
# limit and gives the same schedule on every load and every machine.
PAST = {"days": 2, "end": time(13, 0), "breaks": [{"start": "10:40", "end": "11:00"}], "tables": 16,
        "sme_sends": (3, 6), "buyer_sends": (4, 7)}
UPCOMING_SMES = 60
UPCOMING_REQUESTS = {"sme": 296, "buyer": 100}  # and a few that staff add: about 400 in all

# --- profiles ------------------------------------------------------------------------------
# Each demo buyer's headline and a procurement opportunity added to its needs.

BUYER_PROFILES = {
    "Gruppo Ferroviario Subalpino S.p.A.": (
        "Rolling stock: predictive maintenance, lightweight interiors, passenger information",
        "Two new regional-train platforms enter design this year: we are qualifying suppliers of condition-"
        "monitoring sensors, flame-retardant interior textiles and on-board software."),
    "ASL Città di Torino": (
        "Telemonitoring, point-of-care diagnostics and shorter waiting lists",
        "A pre-commercial procurement for home telemonitoring of chronic patients opens in the autumn; we "
        "also buy rapid diagnostic tests for the emergency departments."),
    "Subalpina Automobili S.p.A.": (
        "Power electronics, recycled materials and end-of-line quality inspection",
        "The next electric platform needs inverters, battery-management electronics and interior parts with "
        "recycled content; our plants are adding machine-vision inspection stations."),
    "Aerospazio Sabaudo S.p.A.": (
        "Additive manufacturing, composites and non-destructive testing for aerostructures",
        "We are widening our approved supplier list for titanium additive parts, composite brackets and "
        "drone-based inspection; EN 9100 certification is expected within two years."),
    "ASL Langhe e Roero": (
        "Remote care, home diagnostics and hospital logistics for a rural area",
        "Our hospitals are piloting remote monitoring of heart-failure patients and automated logistics for "
        "drugs and samples between sites."),
    "Acque Metropolitane Torinesi S.p.A.": (
        "Leak detection, efficient pumping stations and sludge valorisation",
        "A framework agreement for IoT leak-detection sensors and analytics is planned; we also look for "
        "heat recovery and storage at our treatment plants."),
    "Dolciaria Langarola S.p.A.": (
        "Hazelnut traceability, compostable packaging and process automation",
        "We want full traceability of our hazelnut supply from the orchard, compostable wrappers for our "
        "pralines and robots for end-of-line packaging."),
    "Lanifici Riuniti del Biellese S.p.A.": (
        "Low-impact dyeing and finishing, recycled fibres, digital design",
        "Our mills are replacing PFAS finishes and high-temperature dyeing; we buy recycled wool, enzymes "
        "and digital pattern-making tools."),
    "Energie Pedemontane S.p.A.": (
        "Storage, green hydrogen pilots and energy-community software",
        "We are building battery storage next to our hydro plants, piloting electrolysers for industrial "
        "customers and offering software to the energy communities we supply."),
    "Novachimica Novarese S.p.A.": (
        "Bio-based intermediates, catalysis and solvent recovery",
        "Our sites look for solvent recovery units, bio-based resins and enzymes that replace fossil "
        "intermediates, with chemical recycling of plastic waste as a second line."),
    "Trasporti Metropolitani Torinesi S.p.A.": (
        "Electric-bus charging, ticketing apps and fleet analytics",
        "The fleet becomes fully electric by 2030: we procure charging management, battery storage at the "
        "depots, predictive maintenance and passenger apps."),
    "Caffè Sabaudo S.p.A.": (
        "Compostable capsules, roasting-energy savings and consumer apps",
        "We are moving to compostable capsules and packaging, recovering heat in our roasting plants and "
        "tracing our coffee from the farm to the cup."),
    "Azienda Trasporti Lombarda S.p.A.": (
        "Predictive maintenance and passenger data for public transport",
        "Tenders are planned for predictive-maintenance sensors on trains and buses, passenger-flow data "
        "platforms and cybersecurity of our operations centre."),
    "Banca Ambrosiana Digitale S.p.A.": (
        "Cybersecurity, document AI and SME credit scoring",
        "We run proofs of concept with start-ups for cybersecurity monitoring, natural-language assistants "
        "and data platforms that help us lend to small manufacturers."),
    "ASST Navigli Ospedale Metropolitano": (
        "Medical devices, diagnostics and hospital digital twins",
        "Our hospitals buy point-of-care diagnostics, personalised implants, AI for imaging and a digital "
        "twin of patient flows."),
    "Emilia Packaging Machines S.p.A.": (
        "Machine vision, servo drives and recyclable materials for packaging machines",
        "We integrate machine vision, precision actuators and collaborative robots into our lines and test "
        "compostable and recycled packaging materials with our customers."),
    "Rheinwerk Automotive GmbH": (
        "Sensors, power electronics and lightweight parts for a tier-1 supplier",
        "Our plants in Stuttgart and Turin source sensors, inverters, die-cast aluminium parts and testing "
        "services; we qualify new suppliers every quarter."),
    "Bayerische Luftfahrtsysteme AG": (
        "Composites, avionics software and test services",
        "We look for lightweight composite parts, additive titanium parts, ground-segment and avionics "
        "software, and inspection services for aircraft systems."),
    "Compagnie Alpine d'Énergie SA": (
        "Flexibility services, storage and hydrogen mobility",
        "We buy second-life battery storage, flexibility from industrial users, small electrolysers for "
        "hydrogen mobility and agrivoltaic projects."),
    "Groupe Hospitalier Côte d'Azur": (
        "Telemedicine, AI in imaging and infection control",
        "Our group procures telemonitoring platforms, AI software for radiology, rapid sepsis tests and "
        "infection-control textiles, often through innovation partnerships."),
}

# What an SME seeks at the event, by its first S3 domain.
SME_SEEKS = {
    "aerospace": "We are looking for aerospace primes and tier-1 suppliers that qualify new partners for "
                 "composites, additive parts and inspection services.",
    "automotive": "We want to meet car makers, tier-1 suppliers and public fleets planning electric "
                  "vehicles, recycled materials and testing.",
    "green_chemistry": "We are looking for chemical, packaging, textile and food groups that want to replace "
                       "fossil materials or recover solvents and waste.",
    "mechatronics": "We want to meet manufacturers, packaging-machine makers and rail or automotive groups "
                    "that automate production, inspection and maintenance.",
    "agrifood": "We are looking for food and confectionery groups that want traceability, natural "
                "ingredients and compostable packaging.",
    "textile": "We want to meet fashion, workwear, rail and healthcare buyers looking for technical fabrics, "
               "recycled fibres and PFAS-free finishes.",
    "life_sciences": "We are looking for hospitals, health authorities and pharmaceutical companies that buy "
                     "diagnostics, medical devices and remote monitoring.",
    "ict": "We want to meet banks, utilities, transport operators and manufacturers that need software, data "
           "platforms and cybersecurity.",
    "energy": "We are looking for utilities, energy producers, municipalities and transport operators "
              "investing in storage, hydrogen and energy communities.",
}

LANGUAGES = {"IT": "it", "FR": "fr", "DE": "de", "ES": "es", "SI": "sl"}
EXPORT_COUNTRIES = ["FR", "DE", "ES", "CH", "AT", "SI", "BE", "NL"]
STOPWORDS = {"about", "after", "also", "among", "their", "there", "these", "which", "while", "within", "where",
             "would", "other", "first", "years", "under", "looking", "seeking", "buying", "suppliers", "supplier",
             "group", "groups", "together", "every", "quarter", "partners", "those", "planned", "second",
             "meet", "small", "large", "buyers", "companies", "products", "services", "service", "system",
             "systems", "solutions", "search", "across", "towards", "using"}

# --- requests --------------------------------------------------------------------------------

SME_MESSAGES = [
    "We read your needs on {topic}. {sme} offers {offer}; we would like to show you our references.",
    "Good morning, {sme} here. Our work on {offer} fits what you describe; twenty minutes would be enough "
    "to see whether a pilot makes sense.",
    "We already supply similar groups with {offer} and would welcome the chance to present it to your team.",
    "Your profile mentions {topic}: we have a solution ready and would like to discuss a first trial.",
]
BUYER_MESSAGES = [
    "Your offer ({offer}) matches one of our open needs. Could we meet to discuss volumes and timing?",
    "{buyer} would like to hear more about {offer}; please bring your certifications and references.",
    "We are qualifying new suppliers this year and your profile caught our attention.",
    "We are preparing a tender on {topic} and would like to understand what your solution can do.",
]
STAFF_MESSAGE = "Added by the programme team: both sides asked us for this meeting at the training session."
DECLINED_BY_BUYER = [
    "We already have a qualified supplier for this and no tender planned this year.",
    "Outside our procurement plan for now; please contact us again next year.",
    "Our agenda is full with suppliers closer to our current needs.",
    "The volumes we buy are beyond what your company can deliver today.",
    "Interesting, but not a priority for our business units at the moment.",
]
DECLINED_BY_SME = [
    "We are focusing on buyers in our own sector at this event.",
    "Our offer does not cover this need yet; we will get back to you when it does.",
    "We already work with your group through a distributor.",
]

# --- outcomes and contracts ----------------------------------------------------------------------

RATINGS = [OutcomeRating.NO_FURTHER_CONTACT, OutcomeRating.FOLLOW_UP_AGREED, OutcomeRating.NEGOTIATION_STARTED,
           OutcomeRating.AGREEMENT_REACHED]
OUTCOME_NOTES = {
    OutcomeRating.NO_FURTHER_CONTACT: [
        "Interesting, but no need on our side this year.",
        "Their requirements do not match our production capacity.",
        "Good conversation; no concrete opportunity for now.",
    ],
    OutcomeRating.FOLLOW_UP_AGREED: [
        "Technical call planned with their engineering team.",
        "Sent our catalogue and references; they will come back after an internal review.",
        "Agreed to visit their plant next month.",
    ],
    OutcomeRating.NEGOTIATION_STARTED: [
        "Quotation requested for a pilot batch.",
        "Discussing the terms of a proof of concept.",
        "Supplier qualification questionnaire received and under way.",
    ],
    OutcomeRating.AGREEMENT_REACHED: [
        "Pilot order agreed; the contract is being signed.",
        "Supplier qualification completed and first order signed.",
        "Framework agreement signed for the next two years.",
    ],
}
CONTRACT_KINDS = [  # (description prefix, lowest value, highest value), in EUR
    ("Pilot order", 8_000, 45_000),
    ("Proof-of-concept contract", 12_000, 60_000),
    ("Supply contract, first lot", 40_000, 140_000),
    ("Framework agreement, first call-off", 80_000, 250_000),
]

# --- training --------------------------------------------------------------------------------------

VENUE_ROOM = "Sala Einaudi, Fondazione Polo Innovazione Subalpino, Via Nizza 230, Torino"
ONLINE_ROOM = "https://meet.demo.opsapp.eu/mtb-training"


HOLIDAYS = {(1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26)}


def _closed(day: date) -> bool:
    """A day no matchmaking event is held on (Italian public holidays, August, Christmas)."""
    return ((day.month, day.day) in HOLIDAYS or day.month == 8 or (day.month, day.day) >= (12, 20)
            or (day.month, day.day) <= (1, 7))


class _Stage:
    """The state of one load: the generator, the earlier stages' context and the clock's day."""

    def __init__(self, rng: random.Random, ctx: dict) -> None:
        self.rng = rng
        self.ctx = ctx
        self.staff: User = ctx["staff"]
        self.owner: dict[int, User] = {id(o): u for o, u in zip(ctx["companies"], ctx["applicants"], strict=True)}
        self.owner |= {id(o): u for o, u in zip(ctx["buyers"], ctx["buyer_users"], strict=True)}
        self.now = utcnow().replace(microsecond=0)
        self.today = to_local(self.now, TZ).date()
        self.midnight = self.at(self.today, 0)  # the first moment of today: "before now" whatever the hour
        self.fits: dict[tuple[int, int], int] = {}

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return local_to_utc(datetime.combine(day, time(hour, minute)), TZ)

    def between(self, start: datetime, end: datetime, step_minutes: int = 5) -> datetime:
        """A moment in [start, end), on a multiple of `step_minutes` after `start`, in working
        hours (08:00 to 20:00 local) when the interval has some."""
        steps = max(int((end - start).total_seconds() // (60 * step_minutes)), 1)
        for _ in range(40):
            moment = start + timedelta(minutes=step_minutes * self.rng.randrange(steps))
            if 8 <= to_local(moment, TZ).hour < 20:
                return moment
        return moment

    @staticmethod
    def first_day(around: date, days: int, forward: bool) -> date:
        """The Tuesday on or after (before) `around` from which `days` working days run, clear of
        public holidays, August and the Christmas fortnight, a week further on (back) if not."""
        shift = (1 - around.weekday()) % 7
        day = around + timedelta(days=shift) if forward else around - timedelta(days=(7 - shift) % 7)
        step = timedelta(days=7 if forward else -7)
        while any(_closed(day + timedelta(days=i)) for i in range(days)):
            day += step
        return day

    def event(self, *, edition_key, call, name: str, description: str, venue: str, outside: bool,
              days: list[date], start: time, end: time, breaks: list[dict], tables: int,
              phase: EventPhase, **fields) -> Event:
        event = Event(
            edition=self.ctx["editions"][edition_key], call=call, name=name, description=description,
            venue=venue, online=False, outside_region=outside, timezone=TZ,
            days=[d.isoformat() for d in days], day_start=start, day_end=end, slot_minutes=20, breaks=breaks,
            table_count=tables, table_names=[], phase=phase.value, created_by_id=self.staff.id, **fields)
        for slot in grid.generate(days, start, end, 20, grid.parse_breaks(breaks), TZ):
            event.slots.append(EventSlot(starts_at=slot.starts_at, ends_at=slot.ends_at))
        db.session.add(event)
        return event

    def participant(self, event: Event, org: Organisation, side: Side, *, invited: datetime,
                    registered: datetime, application=None) -> Participant:
        rng = self.rng
        language = LANGUAGES.get(org.country, "en")
        languages = [language, "en"] if language != "en" else ["en"]
        if org.country != "IT" and rng.random() < 0.4:
            languages.append("it")
        if org.country == "IT" and rng.random() < 0.2:
            languages.append(rng.choice(["fr", "de", "es"]))
        countries = sorted({org.country, "IT"} | set(rng.sample(EXPORT_COUNTRIES, rng.randint(0, 3))))
        first_sentence = (org.description or "").split(". ")[0].rstrip(".")
        if side is Side.SME:
            headline, offer, needs = first_sentence, f"{org.description} {SME_SEEKS[org.s3_domains[0].code]}", None
        else:
            headline, extra = BUYER_PROFILES[org.legal_name]
            offer, needs = None, f"{org.description} {extra}"
        participant = Participant(
            event=event, organisation=org, side=side.value, status=ParticipantStatus.REGISTERED.value,
            application_id=application.id if application is not None else None,
            contact_id=self.owner[id(org)].id, outside_region=org.nuts2_region != HOME_REGION,
            headline=headline[:200], offer=offer, needs=needs, countries=countries, languages=languages,
            invited_at=invited, registered_at=registered)
        participant.s3_domains = list(org.s3_domains)
        db.session.add(participant)
        return participant

    def unavailability(self, participants: list[Participant], slots: list[EventSlot], share: float) -> None:
        """Some participants cannot attend a few slots: they arrive late, leave early or miss a morning."""
        rng = self.rng
        days: dict[date, list[EventSlot]] = {}
        for slot in slots:
            days.setdefault(to_local(slot.starts_at, TZ).date(), []).append(slot)
        for p in participants:
            if rng.random() >= share:
                continue
            day = days[rng.choice(sorted(days))]
            how = rng.choice(["late", "early", "gone"] if len(days) > 1 else ["late", "early"])
            n = rng.randint(2, 4)
            p.unavailable_slots = day[:n] if how == "late" else day[-n:] if how == "early" else list(day)

    def training(self, event: Event, smes: list[Participant], plan: list[tuple]) -> list[TrainingSession]:
        """Sessions (kind, title, day, start hour, hours, place, trainer, which SMEs); attendance recorded."""
        rng = self.rng
        sessions = []
        for kind, title, day, hour, hours, place, trainer, invited in plan:
            starts = self.at(day, hour, 30)
            session = TrainingSession(event=event, kind=kind.value, title=title, starts_at=starts,
                                      ends_at=starts + timedelta(hours=hours), place=place, trainer=trainer)
            for p in invited:
                attended = p.contact_id == self.ctx["applicants"][0].id or rng.random() < 0.85
                session.attendance.append(TrainingAttendance(
                    participant=p, attended=attended, recorded_at=session.ends_at + timedelta(minutes=30),
                    recorded_by_id=self.staff.id))
            sessions.append(session)
        db.session.add_all(sessions)
        return sessions

    # --- matching ---------------------------------------------------------------------------------

    @staticmethod
    @functools.cache
    def words(text: str | None) -> frozenset[str]:
        found = set()
        for word in re.findall(r"[a-z]+", (text or "").lower()):
            if len(word) >= 5 and word not in STOPWORDS:
                found.add(word[:-1] if word.endswith("s") else word)
        return frozenset(found)

    def fit(self, sme: Participant, buyer: Participant) -> int:
        """Shared S3 domains count most, then shared words between the offer and the needs."""
        key = (id(sme), id(buyer))
        if key not in self.fits:
            shared = {d.code for d in sme.s3_domains} & {d.code for d in buyer.s3_domains}
            self.fits[key] = 4 * len(shared) + len(self.words(sme.offer) & self.words(buyer.needs))
        return self.fits[key]

    def priority(self, fit: int, best: int) -> int:
        """1 to 5, skewed to the fit: the sender's best matches get the highest priorities."""
        value = 1 + 4 * fit / max(best, 1) + self.rng.gauss(0, 0.7)
        return max(1, min(5, round(value)))

    def targets(self, sender: Participant, others: list[Participant], n: int, taken: set, fits: dict,
                ) -> list[Participant]:
        """`n` counterparts drawn with weights that favour the fit, skipping pairs already used."""
        rng = self.rng
        chosen = []
        pool = [o for o in others if self.pair(sender, o) not in taken]
        while pool and len(chosen) < n:
            weights = [(fits[self.pair(sender, o)] + 1) ** 2 for o in pool]
            pick = rng.choices(pool, weights=weights)[0]
            pool.remove(pick)
            chosen.append(pick)
        return chosen

    @staticmethod
    def pair(a: Participant, b: Participant) -> tuple[int, int]:
        sme, buyer = (a, b) if a.side == Side.SME.value else (b, a)
        return id(sme), id(buyer)

    def message(self, side: Side, sme: Participant, buyer: Participant) -> str:
        offer = sme.headline[0].lower() + sme.headline[1:]
        topic = buyer.headline[0].lower() + buyer.headline[1:]
        template = self.rng.choice(SME_MESSAGES if side is Side.SME else BUYER_MESSAGES)
        return template.format(topic=topic, offer=offer, sme=sme.name, buyer=buyer.name)

    def request(self, event: Event, sme: Participant, buyer: Participant, by: Side | None, priority: int,
                created: datetime, expiry_days: int) -> MeetingRequest:
        sender = sme if by is Side.SME else buyer
        request = MeetingRequest(
            event=event, sme=sme, buyer=buyer, requested_by=by.value if by else "staff",
            requester_id=sender.contact_id if by else self.staff.id,
            message=self.message(by, sme, buyer) if by else STAFF_MESSAGE, priority=priority,
            status=RequestStatus.PENDING.value, forced=by is None, created_at=created,
            expires_at=created + timedelta(days=expiry_days))
        db.session.add(request)
        return request

    def answer(self, request: MeetingRequest, status: RequestStatus, when: datetime | None) -> None:
        """Accepted or declined by the side that did not ask; withdrawn by the one that did; expired."""
        rng = self.rng
        request.status = status.value
        if status in (RequestStatus.ACCEPTED, RequestStatus.DECLINED):
            answerer = request.sme if request.requested_by == Side.BUYER.value else request.buyer
            request.answered_at = when
            request.answered_by_id = self.staff.id if request.forced else answerer.contact_id
            if status is RequestStatus.DECLINED:
                request.decline_reason = rng.choice(DECLINED_BY_SME if answerer.side == Side.SME.value
                                                    else DECLINED_BY_BUYER)

    def daytime(self, first: date, last: date) -> datetime:
        """A working-hours moment (08:00 to 19:55) on a day from `first` to `last`."""
        day = first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))
        return self.at(day, self.rng.randint(8, 19), 5 * self.rng.randrange(12))

    def book(self, event: Event, smes: list[Participant], buyers: list[Participant], counts: dict[str, list[int]],
             window: tuple[date, date], forced: list[tuple]) -> list[tuple[MeetingRequest, int, object]]:
        """Requests in both directions, `counts[side][i]` sent by the i-th participant of that side,
        created on the days of `window`. `forced` requests (sme, buyer, sender side or None for
        staff, priority, days or None, tag) come first and count in their sender's number.
        Returns (request, fit, tag) in time order; the tag is None for the drawn ones."""
        fits = {self.pair(s, b): self.fit(s, b) for s in smes for b in buyers}
        taken: set = set()
        made: list[tuple] = []  # (sme, buyer, side, priority, days, tag)
        for item in forced:
            taken.add(self.pair(item[0], item[1]))
            made.append(tuple(item))
        for side, senders, others in ((Side.SME, smes, buyers), (Side.BUYER, buyers, smes)):
            for sender, n in zip(senders, counts[side.value], strict=True):
                already = sum(1 for m in made if m[2] is side and (m[0] if side is Side.SME else m[1]) is sender)
                chosen = self.targets(sender, others, n - already, taken, fits)
                best = max(fits[self.pair(sender, o)] for o in others)
                for other in chosen:
                    taken.add(self.pair(sender, other))
                    sme, buyer = (sender, other) if side is Side.SME else (other, sender)
                    made.append((sme, buyer, side, self.priority(fits[self.pair(sme, buyer)], best), None, None))
        # Each request gets its moment; they are written in time order, as they were sent.
        stamped = sorted(((self.daytime(*(m[4] or window)), i, m) for i, m in enumerate(made)),
                         key=lambda t: (t[0], t[1]))
        requests = []
        for created, _, (sme, buyer, side, priority, _, tag) in stamped:
            request = self.request(event, sme, buyer, side, priority, created, event.request_expiry_days)
            requests.append((request, fits[self.pair(sme, buyer)], tag))
        return requests

    @staticmethod
    def spread(rng: random.Random, n: int, total: int, low: int, high: int) -> list[int]:
        """`n` whole numbers from `low` to `high` that add up to `total`."""
        counts = [rng.randint(low, high) for _ in range(n)]
        while sum(counts) != total:
            i = rng.randrange(n)
            if sum(counts) < total and counts[i] < high:
                counts[i] += 1
            elif sum(counts) > total and counts[i] > low:
                counts[i] -= 1
        return counts

    # --- the past event ------------------------------------------------------------------------------

    def past_event(self) -> dict:
        rng = self.rng
        ctx = self.ctx
        call = ctx["calls"]["meet_the_buyer_2026"]
        day = self.first_day(self.today - timedelta(days=230), PAST["days"], forward=False)
        event = self.event(
            edition_key=(ProgrammeKind.MEET_THE_BUYER, 2026), call=call, name=PAST_NAME,
            description="One-to-one meetings between the SMEs selected by the Meet the Buyer 2026 call and "
                        "corporate and public buyers from Piemonte, Lombardy, Emilia-Romagna, Germany and "
                        "France: two mornings of twenty-minute meetings at the tables of the exhibition hall, "
                        "then a follow-up of the contracts that result.",
            venue="Lingotto Conference Centre, Via Nizza 280, 10126 Torino", outside=False,
            days=[day + timedelta(days=i) for i in range(PAST["days"])], start=time(9, 0), end=PAST["end"],
            breaks=PAST["breaks"], tables=PAST["tables"],
            phase=EventPhase.FOLLOW_UP,
            registration_deadline=self.at(day - timedelta(days=35), 18),
            booking_opens_at=self.at(day - timedelta(days=28), 9),
            request_deadline=self.at(day - timedelta(days=10), 18),
            closes_at=self.at(day + timedelta(days=365), 18),
            sme_request_quota=8, buyer_request_quota=12, buyer_max_meetings=12, request_expiry_days=5,
            agendas_published_at=self.at(day - timedelta(days=6), 10),
            created_at=self.at(day - timedelta(days=80), 11))
        slots = event.slots

        applications = ctx["mtb_selected"]
        invited = self.at(day - timedelta(days=55), 10)
        smes = [self.participant(event, a.organisation, Side.SME, invited=invited, application=a,
                                 registered=self.between(invited + timedelta(days=1), event.registration_deadline))
                for a in applications]
        buyers = [self.participant(event, org, Side.BUYER, invited=invited - timedelta(days=10),
                                   registered=self.between(invited, event.registration_deadline))
                  for org in ctx["buyers"]]
        db.session.flush()
        sme1 = next(p for p in smes if p.organisation is ctx["companies"][0])
        buyer1 = buyers[0]
        self.unavailability([p for p in smes + buyers if p not in (sme1, buyer1)], slots, share=0.15)

        half = len(smes) // 2
        self.training(event, smes, [
            (TrainingKind.PITCH, "Pitching to corporate buyers (group A)", day - timedelta(days=24), 14, 3,
             VENUE_ROOM, "Giulia Operti", smes[:half]),
            (TrainingKind.PITCH, "Pitching to corporate buyers (group B, online)", day - timedelta(days=22), 9, 3,
             ONLINE_ROOM, "Giulia Operti", smes[half:]),
            (TrainingKind.NEGOTIATION, "Negotiating with large and public buyers", day - timedelta(days=15), 9, 4,
             VENUE_ROOM, "Federico Sobrero", smes),
        ])

        # Requests: every one answered, withdrawn or expired before the deadline.
        counts = {"sme": [rng.randint(*PAST["sme_sends"]) for _ in smes],
                  "buyer": [rng.randint(*PAST["buyer_sends"]) for _ in buyers]}
        window = (day - timedelta(days=27), day - timedelta(days=16))  # booking opened at 09:00 on day - 28
        booked = self.book(event, smes, buyers, counts, window,
                           forced=[(sme1, buyer1, Side.SME, 5, None, "applicant1 and buyer1")])
        requests = [r for r, _, _ in booked]
        for request, fit, tag in booked:
            if tag is not None:
                status = RequestStatus.ACCEPTED
            else:
                status = rng.choices(
                    [RequestStatus.ACCEPTED, RequestStatus.DECLINED, RequestStatus.EXPIRED, RequestStatus.WITHDRAWN],
                    weights=[78, 10, 6, 6] if fit >= 4 else [50, 30, 12, 8])[0]
            answered = self.between(request.created_at + timedelta(hours=1),
                                    request.expires_at - timedelta(hours=2))
            self.answer(request, status, answered if status != RequestStatus.EXPIRED else None)
        accepted = [r for r in requests if r.status == RequestStatus.ACCEPTED.value]

        # The scheduler places the accepted requests, as staff ran it after the deadline.
        run_at = self.at(day - timedelta(days=8), 10)
        schedule, placed = self.schedule(event, smes, buyers, accepted, run_at)

        # The day: check-in, meetings held or not, outcomes, six months later, contracts.
        absent = set(map(id, rng.sample([p for p in smes if p is not sme1], 2)))
        for p in smes + buyers:
            if id(p) not in absent:  # on the first morning they attend
                away = {id(s) for s in p.unavailable_slots}
                arrives = to_local(next(s for s in slots if id(s) not in away).starts_at, TZ).date()
                p.checked_in_at = self.between(self.at(arrives, 8, 15), self.at(arrives, 9, 5))
                p.checked_in_by_id = self.staff.id
        late_no_shows = set(map(id, rng.sample([m for m in placed if id(m.sme) not in absent
                                                and m.sme is not sme1], 3)))
        held = []
        for meeting in placed:
            if id(meeting.sme) in absent or id(meeting) in late_no_shows:
                reporter = meeting.buyer if id(meeting.sme) in absent or rng.random() < 0.6 else meeting.sme
                meeting.status = MeetingStatus.NO_SHOW.value
                meeting.no_show_reported_by_id = reporter.id
                meeting.no_show_reported_at = meeting.slot.ends_at + timedelta(minutes=rng.randint(2, 40))
            else:
                meeting.status = MeetingStatus.HELD.value
                held.append(meeting)
        outcomes, follow_ups, contracts = self.follow_up(event, held, sme1, buyer1)
        return {
            "event": event, "smes": smes, "buyers": buyers, "requests": requests, "meetings": placed,
            "held": held, "outcomes": outcomes, "follow_ups": follow_ups, "contracts": contracts,
            "schedule": schedule,
        }

    def schedule(self, event: Event, smes: list[Participant], buyers: list[Participant],
                 accepted: list[MeetingRequest], run_at: datetime) -> tuple[scheduling.Schedule, list[Meeting]]:
        """The real scheduler on this event; keys are positions (not row ids), so that every load
        poses the same problem."""
        slots = event.slots
        slot_key = {id(s): f"s{i:03d}" for i, s in enumerate(slots)}
        keyed = [(f"sme{i:03d}", p) for i, p in enumerate(smes)] + [(f"buyer{i:03d}", p) for i, p in enumerate(buyers)]
        part_key = {id(p): key for key, p in keyed}
        limits = {Side.SME.value: event.sme_max_meetings, Side.BUYER.value: event.buyer_max_meetings}
        participants = []
        for key, p in keyed:
            away = {id(s) for s in p.unavailable_slots}
            available = frozenset(slot_key[id(s)] for s in slots if id(s) not in away) if away else None
            most = p.max_meetings if p.max_meetings is not None else limits[p.side]
            participants.append(scheduling.Participant(key, p.side, available, most))
        request_key = {f"r{i:04d}": r for i, r in enumerate(accepted)}
        problem = scheduling.Problem(
            slots=tuple(scheduling.Slot(slot_key[id(s)], s.starts_at, s.ends_at, event.table_count) for s in slots),
            participants=tuple(participants),
            requests=tuple(scheduling.MeetingRequest(key, part_key[id(r.sme)], part_key[id(r.buyer)], r.priority)
                           for key, r in request_key.items()))
        result = scheduling.solve(problem, time_limit=5)
        slot_of = {slot_key[id(s)]: s for s in slots}
        created = run_at + timedelta(seconds=max(1, round(result.seconds)))
        meetings = []
        for m in result.meetings:
            request = request_key[m.request]
            meeting = Meeting(event=event, request=request, slot=slot_of[m.slot], table_number=m.table,
                              sme=request.sme, buyer=request.buyer, status=MeetingStatus.SCHEDULED.value,
                              created_at=created)
            meetings.append(meeting)
        names = {key: p.name for key, p in keyed}
        for u in result.unscheduled:
            request_key[u.request].unscheduled_reason = re.sub(
                r"\b(?:sme|buyer)\d{3}\b", lambda found: names[found.group(0)], u.reason)
        db.session.add_all(meetings)
        db.session.add(ScheduleRun(
            event_id=event.id, started_at=run_at, finished_at=created, started_by_id=self.staff.id,
            status=ScheduleRunStatus.DONE.value, requests=len(accepted), scheduled=len(meetings),
            objective=result.objective, upper_bound=result.upper_bound, optimal=result.optimal,
            seconds=round(result.seconds, 2)))
        return result, meetings

    def follow_up(self, event: Event, held: list[Meeting], sme1: Participant, buyer1: Participant):
        """Ratings right after the meeting, again six months later, and the contracts that followed."""
        rng = self.rng
        db.session.flush()  # the meetings' ids, for the follow-up rows
        day = to_local(event.slots[0].starts_at, TZ).date()
        outcomes: list[MeetingOutcome] = []
        follow_ups: list[OutcomeFollowUp] = []
        # How far each meeting went (0 to 3), better for the pairs that asked with a high priority.
        reach = {}
        for m in held:
            weights = [4, 4, 2, 1] if m.request.priority <= 2 else [2, 4, 3, 2]
            reach[id(m)] = rng.choices(range(4), weights=weights)[0]
        pair1 = next((m for m in held if m.sme is sme1 and m.buyer is buyer1), None)
        # The contracts: a few of the meetings that went furthest (applicant1 and buyer1's among them).
        ranked = sorted((m for m in held if m is not pair1), key=lambda m: (-reach[id(m)], -m.request.priority))
        with_contract = ranked[:9] + ([pair1] if pair1 is not None else [])
        for m in with_contract:
            reach[id(m)] = 3

        for m in held:
            end = m.slot.ends_at
            for p in (m.sme, m.buyer):
                if m not in with_contract and rng.random() < 0.12:
                    continue  # this side never answered
                first = max(0, min(3, reach[id(m)] - rng.choice([0, 0, 1]))) if m not in with_contract \
                    else rng.choice([1, 2])
                outcomes.append(self.outcome(m, p, OutcomeRound.AFTER_MEETING, RATINGS[first],
                                             self.between(end + timedelta(hours=2), end + timedelta(days=9))))
            # Six months on, the daily job asked both sides again (at 06:17, when it runs).
            sent = self.at(to_local(m.slot.starts_at, TZ).date() + SIX_MONTHS, 6, 17)
            if sent >= self.midnight:
                continue
            for p in (m.sme, m.buyer):
                follow_ups.append(OutcomeFollowUp(meeting_id=m.id, participant_id=p.id, sent_at=sent))
                answers = m in with_contract and (p is m.sme or rng.random() < 0.6)
                latest = min(sent + timedelta(days=20), self.midnight)
                if (answers or rng.random() < 0.55) and sent + timedelta(hours=3) < latest:
                    outcomes.append(self.outcome(m, p, OutcomeRound.SIX_MONTHS, RATINGS[reach[id(m)]],
                                                 self.between(sent + timedelta(hours=3), latest)))
        db.session.add_all(outcomes + follow_ups)

        contracts = []
        latest_signing = min(day + timedelta(days=200), self.today - timedelta(days=10))
        for m in with_contract:
            kind, low, high = rng.choice(CONTRACT_KINDS)
            signed = day + timedelta(days=rng.randint(35, max(36, (latest_signing - day).days)))
            by_sme = m is pair1 or rng.random() < 0.6
            recorder = (m.sme if by_sme else m.buyer)
            recorded = self.between(self.at(signed, 9), min(self.at(signed + timedelta(days=8), 18),
                                                              self.midnight - timedelta(hours=4)))
            headline = m.sme.headline.rstrip(".")
            contract = SupplyContract(
                event=event, sme=m.sme, buyer=m.buyer, meeting=m, signed_on=signed,
                value=Decimal(rng.randint(low // 500, high // 500) * 500).quantize(Decimal("0.01")),
                description=f"{kind}: {headline[0].lower()}{headline[1:]}.", recorded_at=recorded,
                recorded_by_id=recorder.contact_id)
            if m is pair1:
                contract.status = ContractStatus.RECORDED.value  # waiting for staff
            else:
                contract.status = ContractStatus.CONFIRMED.value
                contract.reviewed_at = self.between(recorded + timedelta(hours=3),
                                                    min(recorded + timedelta(days=6), self.midnight))
                contract.reviewed_by_id = self.staff.id
                contract.review_note = rng.choice([
                    "Copy of the signed order checked.", "Confirmed with the buyer's procurement office.",
                    "Contract and invoice schedule checked."])
            contracts.append(contract)
        if pair1 is None:  # should the scheduler ever leave them out, another contract waits instead
            waiting = contracts[-1]
            waiting.status, waiting.reviewed_at, waiting.reviewed_by_id = ContractStatus.RECORDED.value, None, None
            waiting.review_note = None
        db.session.add_all(contracts)
        return outcomes, follow_ups, contracts

    def outcome(self, meeting: Meeting, p: Participant, round_: OutcomeRound, rating: OutcomeRating,
                when: datetime) -> MeetingOutcome:
        note = self.rng.choice(OUTCOME_NOTES[rating]) if self.rng.random() < 0.45 else None
        return MeetingOutcome(meeting=meeting, participant=p, round=round_.value, rating=rating.value, note=note,
                              recorded_at=when, recorded_by_id=p.contact_id)

    # --- the upcoming event --------------------------------------------------------------------------

    def upcoming_event(self) -> dict:
        rng = self.rng
        ctx = self.ctx
        today = self.today
        first = self.first_day(today + timedelta(days=42), 2, forward=True)  # about six weeks on
        event = self.event(
            edition_key=(ProgrammeKind.MEET_THE_BUYER, 2027), call=None, name=UPCOMING_NAME,
            description="Two mornings of one-to-one meetings in Milan between innovative SMEs and corporate and "
                        "public buyers from Piemonte, Lombardy, Emilia-Romagna, Germany and France. Book your "
                        "meetings in the marketplace before the request deadline; agendas follow a week "
                        "before the event. Travel from Piemonte is covered by the programme's vouchers.",
            venue="Milano Convention Centre, Piazzale Carlo Magno 1, 20149 Milano", outside=True,
            days=[first, first + timedelta(days=1)], start=time(9, 0), end=time(13, 0),
            breaks=[{"start": "10:40", "end": "11:00"}], tables=20, phase=EventPhase.BOOKING,
            registration_deadline=self.at(today - timedelta(days=22), 18),
            booking_opens_at=self.at(today - timedelta(days=20), 9),
            request_deadline=self.at(first - timedelta(days=14), 18),
            closes_at=self.at(first + timedelta(days=365), 18),
            sme_request_quota=10, buyer_request_quota=20, buyer_max_meetings=16, request_expiry_days=5,
            created_at=self.at(today - timedelta(days=75), 11))

        sme1_org = ctx["companies"][0]
        eligible = [c for c in ctx["companies"][1:] if c.kind != "large_company"]
        companies = [sme1_org, *rng.sample(eligible, UPCOMING_SMES - 1)]
        invited = self.at(today - timedelta(days=60), 10)
        smes = [self.participant(event, org, Side.SME, invited=invited + timedelta(days=rng.randint(0, 10)),
                                 registered=self.daytime(today - timedelta(days=48), today - timedelta(days=23)))
                for org in companies]
        buyers = [self.participant(event, org, Side.BUYER, invited=invited - timedelta(days=7),
                                   registered=self.daytime(today - timedelta(days=55), today - timedelta(days=23)))
                  for org in ctx["buyers"]]
        buyers[12].max_meetings = 10  # fewer than the event's limit: one person comes instead of two
        db.session.flush()
        sme1, buyer1 = smes[0], buyers[0]
        self.unavailability([p for p in smes + buyers if p not in (sme1, buyer1)], event.slots, share=0.2)

        third = len(smes) // 3
        self.training(event, smes, [
            (TrainingKind.PITCH, "Pitching to corporate buyers (group A)", today - timedelta(days=33), 14, 3,
             VENUE_ROOM, "Giulia Operti", smes[:third] + smes[2 * third:]),
            (TrainingKind.PITCH, "Pitching to corporate buyers (group B, online)", today - timedelta(days=31), 9,
             3, ONLINE_ROOM, "Giulia Operti", smes[third:2 * third]),
            (TrainingKind.NEGOTIATION, "Negotiating with large and public buyers", today - timedelta(days=26), 9,
             4, VENUE_ROOM, "Federico Sobrero", smes),
        ])

        # applicant1 and buyer1 find requests waiting for their answer; staff added a few.
        fits = {id(b): self.fit(sme1, b) for b in buyers}
        sme1_buyer = max(buyers[1:], key=lambda b: (fits[id(b)], -buyers.index(b)))
        for_buyer1 = sorted(smes[1:], key=lambda s: -self.fit(s, buyer1))[:3]
        recent = (today - timedelta(days=3), today - timedelta(days=1))
        forced = [(sme1, buyer1, Side.BUYER, 5, recent, "pending"),
                  (sme1, sme1_buyer, Side.BUYER, 4, recent, "pending")]
        forced += [(s, buyer1, Side.SME, rng.randint(3, 5), recent, "pending") for s in for_buyer1]
        staff_pairs = []
        while len(staff_pairs) < 4:
            s, b = rng.choice(smes[1:]), rng.choice(buyers[1:])
            if self.fit(s, b) >= 4 and (s, b) not in staff_pairs and b is not sme1_buyer:
                staff_pairs.append((s, b))
        forced += [(s, b, None, 3, None, "staff") for s, b in staff_pairs]

        smes_sending = self.spread(rng, len(smes), UPCOMING_REQUESTS["sme"], 2, 8)
        buyers_sending = self.spread(rng, len(buyers), UPCOMING_REQUESTS["buyer"], 3, 8)
        window = (today - timedelta(days=19), today - timedelta(days=1))  # booking opened on today - 20
        booked = self.book(event, smes, buyers, {"sme": smes_sending, "buyer": buyers_sending}, window, forced)
        answer_by = self.midnight  # answers are all before today
        recent_from, old_until = self.at(today - timedelta(days=4), 0), self.at(today - timedelta(days=5), 0)
        for request, fit, tag in booked:
            if tag == "pending":
                continue
            if tag == "staff":
                status = RequestStatus.ACCEPTED
            elif request.created_at >= recent_from:  # not expired yet: may still be waiting
                status = rng.choices([RequestStatus.PENDING, RequestStatus.ACCEPTED, RequestStatus.DECLINED],
                                     weights=[55, 35, 10])[0]
            else:
                choices = [RequestStatus.ACCEPTED, RequestStatus.DECLINED, RequestStatus.WITHDRAWN]
                weights = [82, 12, 4] if fit >= 4 else [60, 30, 5]
                if request.created_at < old_until:  # old enough to have expired unanswered
                    choices, weights = [*choices, RequestStatus.EXPIRED], [*weights, 4]
                status = rng.choices(choices, weights=weights)[0]
            if status is RequestStatus.PENDING:
                continue
            latest = min(request.expires_at - timedelta(hours=2), answer_by)
            self.answer(request, status, self.between(request.created_at + timedelta(hours=1), latest)
                        if status != RequestStatus.EXPIRED else None)
        requests = [r for r, _, _ in booked]

        # Favourites: the profiles each participant saved in the marketplace.
        favourites = []
        for p in smes + buyers:
            others = buyers if p.side == Side.SME.value else smes
            ranked = sorted(others, key=lambda o: -(self.fit(p, o) if p.side == Side.SME.value else self.fit(o, p)))
            pool = ranked[:6] if p.side == Side.SME.value else ranked[:12]
            for target in rng.sample(pool, rng.randint(1, 4) if p.side == Side.SME.value else rng.randint(2, 6)):
                favourites.append(Favourite(participant_id=p.id, target_id=target.id,
                                            created_at=self.daytime(*window)))
        db.session.add_all(favourites)
        return {"event": event, "smes": smes, "buyers": buyers, "requests": requests, "favourites": favourites}


def load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    stage = _Stage(rng, ctx)
    past = stage.past_event()
    upcoming = stage.upcoming_event()
    db.session.flush()

    held = len(past["held"])
    no_shows = len(past["meetings"]) - held
    value = sum(c.value for c in past["contracts"])
    waiting = sum(1 for c in past["contracts"] if c.status == ContractStatus.RECORDED.value)
    summary.append(
        f"Event {PAST_NAME} held on {_days_text(past['event'])}, now in follow-up: {len(past['smes'])} SMEs of the decided "
        f"Meet the Buyer 2026 call and {len(past['buyers'])} buyers, {len(past['requests'])} requests, "
        f"{len(past['meetings'])} meetings placed by the scheduler ({held} held, {no_shows} did not happen), "
        f"{len(past['outcomes'])} outcome ratings, {len(past['contracts'])} supply contracts worth EUR "
        f"{value:,.0f} ({waiting} waiting for staff to confirm).")
    statuses = Counter(r.status for r in upcoming["requests"])
    outside = sum(1 for b in upcoming["buyers"] if b.outside_region)
    summary.append(
        f"Event {UPCOMING_NAME} on {_days_text(upcoming['event'])}, in booking: "
        f"{len(upcoming['smes'])} SMEs, {len(upcoming['buyers'])} buyers ({outside} from outside Piemonte), "
        f"{len(upcoming['requests'])} requests ({statuses['accepted']} accepted, {statuses['pending']} waiting "
        f"for an answer, {statuses['declined']} declined); applicant1 and buyer1 take part in both events "
        f"and have requests to answer.")
    return {"events": {"meet_the_buyer_2026": past["event"], "meet_the_buyer_2027": upcoming["event"]}}


def _days_text(event: Event) -> str:
    """ "7 and 8 April 2026", "31 March and 1 April 2027" """
    first, last = (date.fromisoformat(d) for d in (event.days[0], event.days[-1]))
    if first == last:
        return f"{first.day} {first:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} and {last.day} {last:%B %Y}"
    return f"{first.day} {first:%B} and {last.day} {last:%B %Y}"
