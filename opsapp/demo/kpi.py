"""Demo stage 5: the monitoring of results, with three years of follow-up behind it.

The surveys of a company are due 12, 24 and 36 months after its cohort or event ended, so
the 2025 cohort and the Turin event of the earlier stages have follow-ups but no survey due
yet. To give every chart and the Word report real content, this stage first adds the
programme's earlier editions, in a compact form but with the domain's real structures:

- **Business Accelerator 2022, 2023 and 2024**: each a decided call (applications with the
  baseline block and the consent to be contacted, three evaluators each, the ranking of
  `scoring.propose`) and a completed cohort formed from the accepted places (July to
  December): needs, six group sessions with attendance, two milestones each, investor
  introductions (some investments), completions decided by staff (one company each not
  completed) and Seals of Excellence.
- **Meet the Buyer 2023, 2024 and 2025** (2025's edition exists already, without a call):
  each a decided call (two evaluators each) and a one-morning event in spring, closed now:
  the selected SMEs and a dozen buyers (some from outside the region), requests answered,
  meetings placed table by table, held or missed, and supply contracts confirmed by staff.

Then the follow-up service enrols every company the monitoring follows (cohort members,
event SMEs, and the eligible applicants not selected who agreed to be contacted) and opens
the surveys due today; this stage answers about four in five of the participants' surveys
and three in five of the comparison group's, a few entered by staff on a company's behalf,
with figures that grow from each company's baseline (participants faster than the
comparison group), two big jumps confirmed by the company, and leaves the others open. It
sets a target for every measure of both programmes in every edition.

Rows are written straight through the models like the other stages (the services are for
people using the site), except enrolling and opening the surveys: the follow-up service's
rules decide who is followed and which survey is due, as its daily job does. Its trail in the
audit log would be dated today rather than when each step happened, so it is left out: this
stage leaves no audit entry, and sends no e-mail (invitations and reminders are recorded on
the surveys as the job would have sent them). The earlier editions have fixed dates; which
surveys are due, and so answered, depends on the day the demo is loaded, like the events.
The draws come from a generator derived from the loader's `rng` without advancing it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from opsapp.accounts.models import Organisation, OrganisationKind, User
from opsapp.calls.models import (
    Application,
    BaselineKey,
    Call,
    CallStatus,
    Edition,
    Eligibility,
    Outcome,
    PlaceStatus,
    ProgrammeKind,
)
from opsapp.cohorts.models import (
    CohortStatus,
    CompletionStatus,
    IntroductionOutcome,
    InvestmentType,
    MilestoneStatus,
    Seal,
    SessionKind,
)
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.demo import calls as calls_stage
from opsapp.demo import cohorts as cohorts_stage
from opsapp.demo import events as events_stage
from opsapp.demo.accounts import HOME_REGION
from opsapp.events.models import (
    ContractStatus,
    EventPhase,
    Meeting,
    MeetingStatus,
    RequestStatus,
    Side,
    SupplyContract,
)
from opsapp.extensions import db
from opsapp.kpi import catalogue, validation
from opsapp.kpi.models import FollowUp, FollowUpGroup, IndicatorTarget, Survey, SurveyStatus

TZ = "Europe/Rome"
ACC, MTB = ProgrammeKind.ACCELERATOR, ProgrammeKind.MEET_THE_BUYER
CENT = Decimal("0.01")

# The earlier editions: (year, budget, applications, places).
ACCELERATOR_EDITIONS = [(2022, Decimal("380000.00"), 22, 8), (2023, Decimal("400000.00"), 24, 9),
                        (2024, Decimal("420000.00"), 26, 10)]
MTB_EDITIONS = [(2023, Decimal("220000.00"), 40, 28), (2024, Decimal("240000.00"), 38, 30),
                (2025, None, 40, 32)]  # 2025's edition comes from the calls stage
# Each spring event: the city, the venue, the month it is held in.
MTB_EVENTS = {
    2023: ("Turin", "Lingotto Conference Centre, Via Nizza 280, 10126 Torino", 4),
    2024: ("Alba", "Palazzo Mostre e Congressi, Piazza Medford 3, 12051 Alba", 5),
    2025: ("Novara", "Novara Fiere, Via Maestri del Lavoro 1, 28100 Novara", 4),
}
EVENT_BUYERS = 13  # buyers at each earlier event, those from outside the region among them
EVENT_TABLES = 14

# How the companies answer: the share of surveys answered per group, the share entered by staff.
ANSWERED = {FollowUpGroup.PARTICIPANT.value: 0.80, FollowUpGroup.COMPARISON.value: 0.60}
BY_STAFF = 0.07
JUMPS = 2  # answers with a big change the company confirmed

STAFF_COMMENTS = [
    "Figures given on the phone to the programme officer, from the approved accounts.",
    "Entered by staff from the figures the company sent by e-mail.",
]
COMMENTS = [
    "A good year: two new distributors abroad.",
    "We hired our first sales manager for foreign markets.",
    "Margins were squeezed by energy costs, volumes grew.",
    "The pilot with a large buyer became a framework agreement.",
    "Growth slowed while we certified the new product line.",
    "We moved to a larger plant in the second half of the year.",
]
JUMP_COMMENT = ("Yes, the figure is right: the framework agreement signed last year went into full production "
                "and tripled our sales.")


def _rome(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return local_to_utc(datetime(year, month, day, hour, minute), TZ)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(datetime.combine(day, time(hour, minute)), TZ)


def _money(value: float | Decimal) -> Decimal:
    """Whole euros, written with two decimals as every amount is."""
    return Decimal(str(round(float(value)))).quantize(CENT)


def _fte(value: float | Decimal) -> Decimal:
    """Full-time equivalents to the half."""
    return (Decimal(str(round(float(value) * 2))) / 2).quantize(CENT)


@dataclass
class _Trajectory:
    """How one followed company's figures move each year after its baseline."""

    sales: float  # yearly growth
    exports: float
    employees: float
    high_skill: float  # FTE added per year
    # The chance of raising money in a year (equity, or loans for growth: the baseline counts both), for a
    # company that raised some in its baseline year; those coached for investors raise every year.
    funding: float
    first_funding: float  # the same for one that had raised nothing
    rounds: float  # the yearly growth of its rounds against the baseline's
    markets: float  # the chance of entering a new market abroad in a year
    partnerships: tuple[int, ...]  # weights of 0, 1, 2, 3 partnerships in a year
    contracts: tuple[int, ...]  # weights of 0, 1, 2 contracts with buyers met in a year
    new_exporter: bool


class _Stage:
    """The state of one load: the generator, the earlier stages' context, the clock's day."""

    def __init__(self, rng: random.Random, ctx: dict) -> None:
        self.rng, self.ctx = rng, ctx
        self.staff: User = ctx["staff"]
        self.now = utcnow().replace(microsecond=0)
        self.today = to_local(self.now, TZ).date()
        self.owner: dict[int, User] = {o.id: u for o, u in zip(ctx["companies"], ctx["applicants"], strict=True)}
        self.editions: dict = dict(ctx["editions"])
        # The other stages' helpers, on this stage's generator: their rows, their rules. The calls
        # helper collects audit entries for its own stage to write; this stage never writes them.
        self.calls = calls_stage._Stage(rng, ctx)
        self.cohorts = cohorts_stage._Stage(rng, ctx)
        self.cohorts.codes |= {s.code for s in db.session.scalars(select(Seal))}
        self.events = events_stage._Stage(rng, {**ctx, "editions": self.editions})

    # --- editions ---------------------------------------------------------------------------------------

    def edition(self, kind: ProgrammeKind, year: int, budget: Decimal | None) -> Edition:
        if (kind, year) not in self.editions:
            self.editions[(kind, year)] = Edition(
                programme=self.ctx["programmes"][kind], year=year, implementing_organisation=self.ctx["hubs"][0],
                budget=budget, starts_on=datetime(year, 1, 1, tzinfo=UTC),
                ends_on=datetime(year, 12, 31, 23, tzinfo=UTC))
            db.session.add(self.editions[(kind, year)])
        return self.editions[(kind, year)]

    # --- calls ------------------------------------------------------------------------------------------

    def decided_call(self, edition: Edition, *, title: str, summary: str, description: str, opens: datetime,
                     closes: datetime, evaluation: tuple[datetime, datetime], decided: datetime, places: int,
                     accelerator: bool, companies: list[Organisation], baseline_year: int,
                     weak: set[int]) -> tuple[Call, list[Application]]:
        """A call decided by the ranking rule, every place accepted; `weak` companies score below
        the thresholds."""
        rng, helper = self.rng, self.calls
        criteria = calls_stage.ACCELERATOR_CRITERIA if accelerator else calls_stage.MTB_CRITERIA
        call = helper.call(
            edition, title=title, summary=summary, description=description, status=CallStatus.DECIDED,
            opens_at=opens, closes_at=closes, places=places, criteria=criteria,
            thresholds=Decimal("3") if accelerator else Decimal("2.5"),
            overall=Decimal("10.00") if accelerator else Decimal("9.00"),
            rules=calls_stage.ACCELERATOR_RULES if accelerator else calls_stage.MTB_RULES,
            s3_codes=calls_stage.ALL_DOMAINS if accelerator else [], evaluators=3 if accelerator else 2,
            evaluation_deadline=evaluation[1],
            questions=helper.accelerator_questions(with_incubation=False) if accelerator else helper.mtb_questions(),
            decided_at=decided)
        applications = []
        for org, when in zip(companies, helper.submission_times(opens, closes, len(companies)), strict=True):
            app = helper.application(call, org, year=baseline_year, submitted_at=when,
                                     created_at=when - timedelta(days=rng.randint(1, 15), hours=rng.randint(0, 8)))
            helper.check_eligibility(call, app)
            if app.eligibility_flagged:
                helper.confirm_eligibility(app, Eligibility.INELIGIBLE, "Not eligible under the call's rules.",
                                           closes + timedelta(days=1))
            else:
                helper.confirm_eligibility(app, Eligibility.ELIGIBLE, "Declarations checked.",
                                           closes + timedelta(days=1, hours=rng.randint(0, 30)))
            applications.append(app)
        evaluated = [a for a in applications if a.eligibility == Eligibility.ELIGIBLE]
        panels = helper.assign(evaluated, call.evaluators_per_application, self.ctx["evaluator_profiles"])
        for app in evaluated:
            if id(app.organisation) in weak:
                quality = rng.uniform(1.6, 2.3)
            else:
                quality = min(max(rng.gauss(3.9, 0.4), 3.5), 4.8)  # above every threshold, or nearly
            table = helper.draw_scores(quality, call.evaluators_per_application, len(criteria))
            helper.evaluate_fully(app, panels[id(app)], call.criteria, table, *evaluation)
        db.session.add_all(applications)
        db.session.flush()  # the ranking breaks ties by id
        helper.stamp_receipts(applications)
        helper.decide(call, applications, {}, decided)
        for app in applications:
            if app.outcome == Outcome.SELECTED:
                helper.answer_place(app, PlaceStatus.ACCEPTED, decided + timedelta(days=rng.randint(1, 10),
                                                                                   hours=rng.randint(0, 6)))
        return call, applications

    # --- Accelerator cohorts -----------------------------------------------------------------------------

    def accelerator(self, year: int, budget: Decimal, n: int, places: int, pool: list[Organisation],
                    themes: dict, not_yet: set[int]) -> dict:
        """A decided call and its completed cohort; the `not_yet` companies (admitted to a later
        cohort) are not selected this time."""
        rng = self.rng
        edition = self.edition(ACC, year, budget)
        companies = rng.sample(pool, n)
        weak = {id(c) for c in rng.sample(companies, 3)} | {id(c) for c in companies if c.id in not_yet}
        # The call is for companies getting ready for investors: more of them than the calls stage
        # draws have raised some money in their baseline year (the application reports it).
        for org in companies:
            figures = self.calls.baseline(org, year - 1)
            startup = org.kind == OrganisationKind.STARTUP
            if Decimal(figures[BaselineKey.INVESTMENT_RAISED]) == 0 and rng.random() < (0.5 if startup else 0.25):
                figures[BaselineKey.INVESTMENT_RAISED] = str(_money(rng.randint(5, 40) * 10000))
        call, applications = self.decided_call(
            edition, title=f"Business Accelerator {year}: call for start-ups and SMEs",
            summary=f"Six months of coaching, peer mentoring and investor introductions for {places} high-growth "
                    f"start-ups and SMEs with a product on the market.",
            description=calls_stage.ACCELERATOR_DESCRIPTION, opens=_rome(year, 2, 1, 9),
            closes=_rome(year, 3, 31, 12), evaluation=(_rome(year, 4, 4, 10), _rome(year, 5, 13, 18)),
            decided=_rome(year, 6, 10, 11), places=places, accelerator=True, companies=companies,
            baseline_year=year - 1, weak=weak)
        accepted = sorted((a for a in applications if a.place_status == PlaceStatus.ACCEPTED),
                          key=lambda a: (a.rank or 99, a.id))
        cohort = self.cohort(year, edition, call, accepted, themes)
        return {"call": call, "applications": applications, **cohort}

    def cohort(self, year: int, edition: Edition, call, accepted: list[Application], themes: dict) -> dict:
        rng, helper, staff = self.rng, self.cohorts, self.staff
        starts, ends = date(year, 7, 4), date(year, 12, 16)
        cohort = helper.cohort(edition=edition, call=call, name=f"Business Accelerator {year} cohort",
                               starts_on=starts, ends_on=ends, incubation_months=0, min_hours=Decimal("15"),
                               min_sessions=5, min_milestones=2, status=CohortStatus.COMPLETED.value,
                               created_at=_at(starts - timedelta(days=5), 10))
        cohort.themes = [themes[code] for code, _, _ in cohorts_stage.THEMES]
        members = [helper.member(cohort, app.organisation, app, _at(starts - timedelta(days=1), 9), themes)
                   for app in accepted]
        dropout = members[rng.randrange(len(members))]
        codes = [cohorts_stage.FINANCE, cohorts_stage.MARKETING, cohorts_stage.HR] * 2
        days = [starts + timedelta(days=d) for d in (8, 64, 85, 106, 127, 148)]
        for n, (day, code) in enumerate(zip(days, codes, strict=True)):
            session = helper.session(cohort, SessionKind.GROUP, themes[code],
                                     cohorts_stage.GROUP_TITLES[code][n // 3], _at(day, 14), 180, members,
                                     coach=cohorts_stage.COACHES[code])
            skipper = rng.choice(members)
            for member in members:
                helper.attend(session, member, n < 2 if member is dropout else member is not skipper, staff)
        for member in members:
            picks = rng.sample([cohorts_stage.FINANCE, cohorts_stage.MARKETING, cohorts_stage.HR], 2)
            statuses = ([MilestoneStatus.CONFIRMED, MilestoneStatus.MISSED] if member is dropout
                        else [MilestoneStatus.CONFIRMED] * 2)
            for k, (code, status) in enumerate(zip(picks, statuses, strict=True)):
                helper.milestone(member, themes[code], rng.choice(cohorts_stage.MILESTONES[code]),
                                 date(year, 10 + k, rng.randint(10, 28)), status)
        investors: list[Organisation] = self.ctx["investors"]
        invested = Decimal(0)
        plan = [(IntroductionOutcome.INVESTMENT, InvestmentType.EQUITY, "Seed round led by the fund."),
                (IntroductionOutcome.INVESTMENT, InvestmentType.CONVERTIBLE, "Convertible note with a valuation cap."),
                (IntroductionOutcome.MEETING_HELD, None, "The investor wants to see next year's figures."),
                (IntroductionOutcome.NONE, None, "Too early for the fund's ticket size.")]
        for member, (outcome, kind, note) in zip(rng.sample([m for m in members if m is not dropout], 4), plan,
                                                 strict=True):
            amount = Decimal(rng.randint(6, 40) * 10_000).quantize(CENT) if kind else None
            helper.introduce(member, rng.choice(investors), date(year, rng.choice([10, 11]), rng.randint(3, 27)),
                             outcome, amount, kind, note)
            invested += amount or 0
        decided = _at(date(year, 12, 20), 10)
        for member in members:
            member.completion_decided_at, member.completion_decided_by_id = decided, staff.id
            if member is dropout:
                member.completion = CompletionStatus.NOT_COMPLETED.value
                member.completion_note = "Attended two of the six group sessions; a milestone missed."
                member.loan_eligible = False
                continue
            member.completion = CompletionStatus.COMPLETED.value
            member.loan_eligible = True
            db.session.add(Seal(member=member, code=helper.code(), issued_on=decided.date(), issued_at=decided,
                                issued_by_id=staff.id))
        return {"cohort": cohort, "members": members, "invested": invested}

    # --- Meet the Buyer events ---------------------------------------------------------------------------

    def meet_the_buyer(self, year: int, budget: Decimal | None, n: int, places: int,
                       pool: list[Organisation]) -> dict:
        rng = self.rng
        edition = self.edition(MTB, year, budget)
        companies = rng.sample(pool, n)
        weak = {id(c) for c in rng.sample(companies, 5)}
        call, applications = self.decided_call(
            edition, title=f"Meet the Buyer {year}: call for innovative SMEs",
            summary="SMEs prepared to pitch and negotiate, then matched with corporate and public buyers in "
                    "one-to-one meetings.",
            description=calls_stage.MTB_DESCRIPTION, opens=_rome(year - 1, 9, 12, 9),
            closes=_rome(year - 1, 10, 28, 12), evaluation=(_rome(year - 1, 11, 2, 10), _rome(year - 1, 11, 25, 18)),
            decided=_rome(year - 1, 12, 9, 11), places=places, accelerator=False, companies=companies,
            baseline_year=year - 2, weak=weak)
        selected = [a for a in applications if a.place_status == PlaceStatus.ACCEPTED]
        return {"call": call, "applications": applications, **self.event(year, edition, call, selected)}

    def event(self, year: int, edition: Edition, call, selected: list[Application]) -> dict:
        rng, helper, staff = self.rng, self.events, self.staff
        city, venue, month = MTB_EVENTS[year]
        day = helper.first_day(date(year, month, 3), 1, forward=True)
        event = helper.event(
            edition_key=(MTB, year), call=call, name=f"Meet the Buyer {year} – {city}",
            description=f"A morning of one-to-one meetings in {city} between the SMEs selected by the Meet the "
                        f"Buyer {year} call and corporate and public buyers, some from outside the region.",
            venue=venue, outside=False, days=[day], start=time(9, 0), end=time(13, 0),
            breaks=[{"start": "10:40", "end": "11:00"}], tables=EVENT_TABLES, phase=EventPhase.CLOSED,
            registration_deadline=helper.at(day - timedelta(days=35), 18),
            booking_opens_at=helper.at(day - timedelta(days=28), 9),
            request_deadline=helper.at(day - timedelta(days=10), 18), closes_at=helper.at(day + timedelta(days=365), 18),
            sme_request_quota=6, buyer_request_quota=10, buyer_max_meetings=10, request_expiry_days=5,
            agendas_published_at=helper.at(day - timedelta(days=6), 10), created_at=helper.at(day - timedelta(days=80), 11))
        buyers_all: list[Organisation] = self.ctx["buyers"]
        outside = [b for b in buyers_all if b.nuts2_region != HOME_REGION]
        inside = [b for b in buyers_all if b.nuts2_region == HOME_REGION]
        n_out = rng.randint(4, 6)
        buyer_orgs = rng.sample(outside, n_out) + rng.sample(inside, EVENT_BUYERS - n_out)
        invited = helper.at(day - timedelta(days=55), 10)
        smes = [helper.participant(event, a.organisation, Side.SME, invited=invited, application=a,
                                   registered=helper.between(invited + timedelta(days=1), event.registration_deadline))
                for a in selected]
        buyers = [helper.participant(event, org, Side.BUYER, invited=invited - timedelta(days=10),
                                     registered=helper.between(invited, event.registration_deadline))
                  for org in buyer_orgs]
        db.session.flush()
        # One buyer from outside the region registered but then took no meeting: invited, not involved.
        absent = rng.choice([b for b in buyers if b.outside_region])

        # Requests, each SME to three to five buyers it fits best; answered before the deadline.
        requests = []
        window = (day - timedelta(days=27), day - timedelta(days=12))
        for sme in smes:
            ranked = sorted(buyers, key=lambda b: (-helper.fit(sme, b), rng.random()))
            for k, buyer in enumerate(ranked[:rng.randint(3, 5)]):
                by = Side.SME if rng.random() < 0.7 or buyer is absent else Side.BUYER
                request = helper.request(event, sme, buyer, by, max(1, 5 - k), helper.daytime(*window),
                                         event.request_expiry_days)
                accepted = rng.random() < 0.82 and buyer is not absent
                status = RequestStatus.ACCEPTED if accepted else RequestStatus.DECLINED
                helper.answer(request, status, helper.between(request.created_at + timedelta(hours=1),
                                                              request.expires_at - timedelta(hours=2)))
                requests.append(request)

        # Meetings placed table by table, best priorities first, in the first slot both sides have free,
        # within the buyers' limit of meetings.
        slots = event.slots
        busy: dict[int, set[int]] = {}
        tables: Counter = Counter()
        meetings = []
        for request in sorted((r for r in requests if r.status == RequestStatus.ACCEPTED.value),
                              key=lambda r: (-r.priority, r.created_at)):
            sme_busy = busy.setdefault(id(request.sme), set())
            buyer_busy = busy.setdefault(id(request.buyer), set())
            if len(buyer_busy) >= event.buyer_max_meetings:
                request.unscheduled_reason = f"{request.buyer.name} has no meeting left to give."
                continue
            free = next((i for i in range(len(slots)) if tables[i] < EVENT_TABLES and i not in sme_busy
                         and i not in buyer_busy), None)
            if free is None:
                request.unscheduled_reason = "No slot left in which both sides were free."
                continue
            sme_busy.add(free)
            buyer_busy.add(free)
            tables[free] += 1
            meetings.append(Meeting(event=event, request=request, slot=slots[free], table_number=tables[free],
                                    sme=request.sme, buyer=request.buyer, status=MeetingStatus.HELD.value,
                                    created_at=helper.at(day - timedelta(days=8), 10, 5)))
        for meeting in rng.sample(meetings, 3):
            meeting.status = MeetingStatus.NO_SHOW.value
            meeting.no_show_reported_by_id = meeting.buyer.id
            meeting.no_show_reported_at = meeting.slot.ends_at + timedelta(minutes=rng.randint(2, 30))
        db.session.add_all(meetings)
        held = [m for m in meetings if m.status == MeetingStatus.HELD.value]
        present = {id(m.sme): m.sme for m in held} | {id(b): b for b in buyers if b is not absent}
        for p in present.values():
            p.checked_in_at = helper.between(helper.at(day, 8, 15), helper.at(day, 9, 5))
            p.checked_in_by_id = staff.id

        # Supply contracts that followed, confirmed by staff.
        contracts = []
        for meeting in rng.sample(held, rng.randint(6, 9)):
            kind, low, high = rng.choice(events_stage.CONTRACT_KINDS)
            signed = day + timedelta(days=rng.randint(35, 240))
            recorded = helper.at(signed + timedelta(days=rng.randint(1, 8)), rng.randint(9, 17))
            headline = meeting.sme.headline.rstrip(".")
            contracts.append(SupplyContract(
                event=event, sme=meeting.sme, buyer=meeting.buyer, meeting=meeting, signed_on=signed,
                value=Decimal(rng.randint(low // 500, high // 500) * 500).quantize(CENT),
                description=f"{kind}: {headline[0].lower()}{headline[1:]}.", status=ContractStatus.CONFIRMED.value,
                recorded_at=recorded, recorded_by_id=meeting.sme.contact_id,
                reviewed_at=recorded + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 5)),
                reviewed_by_id=staff.id, review_note="Copy of the signed order checked."))
        db.session.add_all(contracts)
        return {"event": event, "smes": smes, "buyers": buyers, "requests": requests, "meetings": meetings,
                "held": held, "contracts": contracts}

    # --- follow-ups and surveys ---------------------------------------------------------------------------

    def follow(self) -> tuple[int, int]:
        """Enrol and open the surveys due today with the follow-up service, as its daily job does.
        Its trail in the audit log would be dated today, not when each step would have happened,
        so it is left out (this stage writes no audit entry)."""
        from opsapp.kpi import followups

        enrolled = followups.enrol(self.today)
        opened = followups.create_due_surveys(self.today)
        db.session.execute(delete(AuditEntry).where(AuditEntry.action.in_(("kpi.follow_up_created",
                                                                             "kpi.survey_opened"))))
        db.session.flush()
        return enrolled, len(opened)

    def trajectory(self, follow_up: FollowUp) -> _Trajectory:
        """Participants grow faster than the comparison group, with exceptions either way."""
        rng = self.rng
        accelerator = follow_up.edition.programme.kind == ACC.value
        # Those that stumble are small companies (a large one would sway a whole edition's sums).
        small = (follow_up.baseline_turnover or 0) < 2_000_000
        stumbles = rng.random() < (0.15 if small else 0)
        if follow_up.group == FollowUpGroup.PARTICIPANT.value:
            # The Accelerator aims at growth; Meet the Buyer at contracts, growth follows more slowly.
            fast = rng.uniform(0.10, 0.20) if accelerator else rng.uniform(0.07, 0.14)
            sales = rng.uniform(-0.03, 0.02) if stumbles else fast
            return _Trajectory(
                sales=sales, exports=sales + rng.uniform(0.0, 0.08), employees=rng.uniform(0.04, 0.12),
                high_skill=rng.uniform(0.3, 1.5) if accelerator else rng.uniform(0.1, 0.8),
                funding=1.0 if accelerator else 0.7, first_funding=0.35 if accelerator else 0.12,
                rounds=0.2 if accelerator else 0.05,
                markets=0.3 if accelerator else 0.2,
                partnerships=(45, 35, 15, 5) if accelerator else (60, 30, 10, 0),
                contracts=(1, 0, 0) if accelerator else (60, 28, 12), new_exporter=rng.random() < 0.5)
        sales = rng.uniform(-0.02, 0.02) if stumbles else rng.uniform(0.03, 0.08)
        return _Trajectory(
            sales=sales, exports=sales + rng.uniform(-0.02, 0.03), employees=rng.uniform(-0.01, 0.04),
            high_skill=rng.uniform(-0.1, 0.4), funding=0.5, first_funding=0.08, rounds=0.02, markets=0.08,
            partnerships=(80, 17, 3, 0),
            contracts=(1, 0, 0), new_exporter=rng.random() < 0.15)

    def figures(self, follow_up: FollowUp, path: _Trajectory, fiscal_year: int,
                previous: dict[str, Decimal | None]) -> dict[str, object]:
        """The figures of one financial year on the company's path from its baseline, kept within a
        plausible step of the previous known ones."""
        rng = self.rng
        org = follow_up.organisation
        years = max(1, fiscal_year - (follow_up.baseline_year or fiscal_year - 1))
        turnover = float(follow_up.baseline_turnover or (org.annual_turnover or 0) * Decimal("0.8"))
        sales = turnover * (1 + path.sales) ** years * rng.uniform(0.97, 1.03)
        exported = float(follow_up.baseline_export_turnover or 0)
        if exported:
            exports = exported * (1 + path.exports) ** years * rng.uniform(0.95, 1.05)
        elif path.new_exporter:
            exports = min(sales * rng.uniform(0.03, 0.08), 40000) * 1.7 ** (years - 1)
        else:
            exports = 0.0
        heads = float(follow_up.baseline_employees_fte or org.staff_headcount or 1)
        employees = max(1.0, heads * (1 + path.employees) ** years)
        skilled = min(max(0.0, float(follow_up.baseline_high_skill_fte or 0) + path.high_skill * years), employees)
        figures: dict[str, object] = {"sales": _money(sales), "export_sales": _money(min(exports, sales * 0.8)),
                                      "employees_fte": _fte(employees), "high_skill_fte": _fte(skilled)}
        # No figure more than three times (or a third of) the previous known one: those are typos
        # the survey asks to confirm, and the two confirmed ones are chosen below.
        for key in validation.JUMP_FIELDS:
            before, now = previous.get(key), figures[key]
            fte = key in validation.FTE_FIELDS
            limit = validation.JUMP_MIN_FTE if fte else validation.JUMP_MIN_MONEY
            if before is not None and validation.is_jump(before, now, limit):
                step = before * Decimal("2.5") if now > before else before / Decimal("2.5")
                if before == 0:
                    step = limit
                figures[key] = _fte(step) if fte else _money(step)
        figures["export_sales"] = min(figures["export_sales"], figures["sales"])
        figures["high_skill_fte"] = min(figures["high_skill_fte"], figures["employees_fte"])
        startup = org.kind == OrganisationKind.STARTUP
        raised = float(follow_up.baseline_investment_raised or 0)
        if rng.random() < (path.funding if raised else path.first_funding):
            size = raised * (1 + path.rounds) ** years * rng.uniform(0.7, 1.5) if raised else \
                (rng.randint(5, 40) if startup else rng.randint(5, 20)) * 10000
            figures["funding_raised"] = _money(round(size, -4) or 10000)
            figures["funding_source"] = rng.choices(["private", "public", "both"],
                                                    weights=[60, 25, 15] if startup else [30, 50, 20])[0]
        else:
            figures["funding_raised"], figures["funding_source"] = Decimal(0), "none"
        figures["new_markets"] = rng.choice([1, 1, 2]) if rng.random() < path.markets else 0
        figures["corporate_partnerships"] = rng.choices(range(4), weights=path.partnerships)[0]
        signed = rng.choices(range(3), weights=path.contracts)[0]
        figures["contracts_signed"] = signed
        figures["contracts_value"] = Decimal(sum(rng.randint(15, 180) * 1000 for _ in range(signed)))
        return figures

    def answer_surveys(self) -> dict:
        """About four in five of the participants' surveys answered and three in five of the
        comparison group's, the keenest companies first; the others stay open, reminded every
        fortnight by the daily job."""
        rng, staff = self.rng, self.staff
        surveys = list(db.session.scalars(select(Survey).options(
            joinedload(Survey.follow_up).joinedload(FollowUp.organisation),
            joinedload(Survey.follow_up).joinedload(FollowUp.edition).joinedload(Edition.programme))))
        surveys.sort(key=lambda s: (s.follow_up.edition.programme.kind, s.follow_up.edition.year,
                                    s.follow_up.organisation.vat_number, s.wave))
        follow_ups = list({s.follow_up_id: s.follow_up for s in surveys}.values())
        keen = {f.id: rng.random() for f in follow_ups}
        paths = {f.id: self.trajectory(f) for f in follow_ups}
        groups: dict[tuple, list[Survey]] = {}
        for s in surveys:
            groups.setdefault((s.follow_up.edition.programme.kind, s.follow_up.group, s.wave), []).append(s)
        answering: set[int] = set()
        for (_, group, _), items in groups.items():
            share = ANSWERED[group] + rng.uniform(-0.04, 0.04)
            ranked = sorted(items, key=lambda s: keen[s.follow_up_id] * 0.6 + rng.random() * 0.4, reverse=True)
            answering |= {id(s) for s in ranked[:round(len(items) * share)]}
        # The two big changes a company confirmed: its last answered survey, two or three years on.
        last = {}
        for s in surveys:
            if id(s) in answering:
                last[s.follow_up_id] = s
        candidates = [s for s in last.values() if s.wave >= 24 and s.follow_up.group == FollowUpGroup.PARTICIPANT.value
                      and 100000 <= (s.follow_up.baseline_turnover or 0) <= 800000]
        jumping = {id(s) for s in rng.sample(candidates, min(JUMPS, len(candidates)))}

        answered = by_staff = confirmed = 0
        known: dict[int, dict[str, Decimal | None]] = {}
        for s in surveys:
            follow_up = s.follow_up
            due = _at(s.due_on, 6, 20)  # the daily job invites on the day the survey is due
            s.invited_at = min(due, self.now)
            if follow_up.id not in known:
                known[follow_up.id] = {key: getattr(follow_up, f"baseline_{name}")
                                       for key, name in validation.BASELINE_OF.items()}
            delay = timedelta(days=min(80, 1 + int(rng.expovariate(1 / 16))), hours=rng.randint(1, 10))
            when = min(s.invited_at + delay, self.now - timedelta(minutes=30))
            if id(s) not in answering or when <= s.invited_at:
                self.remind(s, self.now)
                continue
            raw = self.figures(follow_up, paths[follow_up.id], s.fiscal_year, known[follow_up.id])
            comment = rng.choice(COMMENTS) if rng.random() < 0.15 else None
            if id(s) in jumping:
                raw["sales"] = _money(known[follow_up.id]["sales"] * Decimal("3.4"))
                comment = JUMP_COMMENT
            on_behalf = rng.random() < BY_STAFF
            if on_behalf:
                comment = rng.choice(STAFF_COMMENTS)
            checked = validation.check_answers({**raw, "comment": comment}, known[follow_up.id])
            if not checked.ok:
                raise RuntimeError(f"demo survey answers refused: {checked.errors}")
            for key, value in checked.answers.as_dict().items():
                setattr(s, key, value)
            s.confirmed_jumps = [j.field for j in checked.jumps]
            s.status = SurveyStatus.ANSWERED.value
            s.answered_at = when
            s.answered_by_id = staff.id if on_behalf else self.owner[follow_up.organisation_id].id
            s.entered_by_staff = on_behalf
            self.remind(s, when)
            known[follow_up.id] = {key: getattr(s, key) for key in validation.JUMP_FIELDS}
            answered += 1
            by_staff += on_behalf
            confirmed += bool(s.confirmed_jumps)
        db.session.flush()
        rates = {}
        for group in (FollowUpGroup.PARTICIPANT.value, FollowUpGroup.COMPARISON.value):
            mine = [s for s in surveys if s.follow_up.group == group]
            rates[group] = sum(1 for s in mine if s.status == SurveyStatus.ANSWERED.value) / len(mine) if mine else 0
        return {"surveys": surveys, "answered": answered, "by_staff": by_staff, "confirmed": confirmed,
                "rates": rates}

    @staticmethod
    def remind(survey: Survey, until: datetime) -> None:
        """The reminders the daily job sent every 14 days until `until` (at most 6)."""
        fortnights = min(6, (until - survey.invited_at).days // 14)
        survey.reminders_sent = fortnights
        survey.last_reminded_at = survey.invited_at + timedelta(days=14 * fortnights) if fortnights else None

    # --- targets ----------------------------------------------------------------------------------------

    def targets(self, planned: dict[tuple, int]) -> int:
        """A target for every measure of both programmes (and their ERDF ones) in every edition, set by
        staff before the edition, around what was planned: some met, some not."""
        rng = self.rng
        rows = 0
        for (kind, year), edition in sorted(self.editions.items(), key=lambda e: (e[0][0].value, e[0][1])):
            programme = catalogue.ACCELERATOR if kind == ACC else catalogue.MEET_THE_BUYER
            companies = planned.get((kind, year), 10 if kind == ACC else 60)
            set_at = min(_at(date(year - 1, 11, 15), 10), self.now - timedelta(days=2))
            for measure in catalogue.measures_of(programme) + catalogue.measures_of(programme, erdf=True):
                db.session.add(IndicatorTarget(measure=measure.key, edition=edition, set_at=set_at,
                                               set_by_id=self.staff.id,
                                               target=_target(rng, measure, kind, year, companies)))
                rows += 1
        return rows


# What staff aim at per company planned (Accelerator, Meet the Buyer), for the measures that scale
# with the edition's size; most are drawn around it, so that some are met and some are not.
PER_COMPANY = {
    "ACC-1.admitted": 1, "ACC-1.completed": 0.9, "ACC-3.companies": 0.35, "ACC-4.companies": 0.45,
    "ACC-4.amount": 400000, "ACC-5.partnerships": 1.2, "ACC-6.jobs": 1.5, "MTB-2.smes": 1, "MTB-4.contracts": 1,
    "MTB-4.value": 100000, "RCO01.total": 1, "RCO01.micro": 0.4, "RCO01.small": 0.35, "RCO01.medium": 0.25,
    "RCO01.large": 0, "RCO04.companies": 1, "RCO05.companies": (0.3, 0.1), "RCR01.jobs": (2, 7),
    "RCR02.private": (350000, 150000), "RCR19.companies": 0.6,
}
# Set exactly: the places of the call, and the completions expected from them.
EXACT = ("ACC-1.admitted", "ACC-1.completed", "MTB-2.smes", "RCO01.total", "RCO04.companies", "RCO05.companies")
PERCENT = {"ACC-2.sales": (10, 12, 15), "ACC-2.investment": (15, 20, 25), "ACC-2.exports": (12, 15, 18),
           "MTB-5.turnover": (25, 30, 35), "MTB-5.exports": (30, 35, 40)}  # MTB-5: the change over the years


def _target(rng: random.Random, measure: catalogue.Measure, kind: ProgrammeKind, year: int,
            companies: int) -> Decimal:
    key, accelerator = measure.key, kind == ACC
    if key in PERCENT:
        return Decimal(rng.choice(PERCENT[key])).quantize(CENT)
    recent = year >= 2026  # the editions with vouchers and the larger events
    fixed = {"MTB-1.events": 1, "MTB-3.targeted": 8 if recent else 6, "MTB-3.involved": 7 if recent else 5,
             "RCO02.companies": 25 if recent and not accelerator else 0}
    if key in fixed:
        return Decimal(fixed[key]).quantize(CENT)
    per = PER_COMPANY[key]
    if isinstance(per, tuple):
        per = per[0] if accelerator else per[1]
    value = companies * per * (1 if key in EXACT else rng.uniform(0.85, 1.2))
    if measure.unit is catalogue.Unit.EUR:
        return Decimal(round(value, -4)).quantize(CENT)
    if measure.unit is catalogue.Unit.FTE:
        return _fte(value)
    return Decimal(round(value)).quantize(CENT)


# --- the stage ---------------------------------------------------------------------------------------------


def load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    # A generator of our own, derived from the loader's without advancing it.
    stage = _Stage(random.Random(repr(rng.getstate())), ctx)
    companies: list[Organisation] = ctx["companies"]
    applicant_company = companies[0]  # applicant1's story is the 2027 call and both recent events
    running = {m.organisation_id for m in ctx["cohorts"]["accelerator_2026"].members}
    near = ctx.get("near_ceiling")
    cohort_2025 = {m.organisation_id for m in ctx["cohorts"]["accelerator_2025"].members}
    smes = [c for c in companies if c.kind != OrganisationKind.LARGE_COMPANY and c is not applicant_company]
    accelerators, meetings = [], []
    with db.session.no_autoflush:
        themes = stage.cohorts.themes()
        admitted: set[int] = set()
        for year, budget, n, places in ACCELERATOR_EDITIONS:
            # Companies of Piemonte, a year old when they apply; one admitted before does not apply
            # again, and the running cohort's companies never applied to an Accelerator call.
            pool = [c for c in smes if c.nuts2_region == HOME_REGION and c.id not in running
                    and c.id not in admitted and c.founding_date < date(year - 1, 3, 1)]
            done = stage.accelerator(year, budget, min(n, len(pool)), places, pool, themes,
                                     not_yet=cohort_2025)
            admitted |= {m.organisation_id for m in done["members"]}
            accelerators.append((year, done))
        for year, budget, n, places in MTB_EDITIONS:
            pool = [c for c in smes if c is not near and c.founding_date < date(year - 2, 7, 1)]
            meetings.append((year, stage.meet_the_buyer(year, budget, min(n, len(pool)), places, pool)))
    db.session.flush()
    enrolled, opened = stage.follow()
    answers = stage.answer_surveys()
    planned = {(ACC, y): len(d["members"]) for y, d in accelerators}
    planned |= {(MTB, y): len(d["smes"]) for y, d in meetings}
    planned |= {(ACC, 2025): len(cohort_2025), (ACC, 2026): len(running), (MTB, 2026): len(ctx["mtb_selected"])}
    targets = stage.targets(planned)
    db.session.flush()

    follow_ups = list(db.session.scalars(select(FollowUp)))
    groups = Counter(f.group for f in follow_ups)
    waves = Counter(s.wave for s in answers["surveys"])
    rates = answers["rates"]
    held = sum(len(d["held"]) for _, d in meetings)
    contracts = sum(len(d["contracts"]) for _, d in meetings)
    summary.append(
        f"Monitoring: earlier editions with their decided calls, Business Accelerator "
        f"{accelerators[0][0]}-{accelerators[-1][0]} (completed cohorts of "
        f"{', '.join(str(len(d['members'])) for _, d in accelerators)} companies) and Meet the Buyer "
        f"{meetings[0][0]}-{meetings[-1][0]} (events in {', '.join(MTB_EVENTS[y][0] for y, _ in meetings)}: "
        f"{held} meetings held, {contracts} contracts); {len(follow_ups)} follow-ups of "
        f"{len({f.organisation_id for f in follow_ups})} companies ({groups[FollowUpGroup.PARTICIPANT.value]} of "
        f"participants, {groups[FollowUpGroup.COMPARISON.value]} of the comparison group), {len(answers['surveys'])} follow-up surveys due "
        f"({waves[12]} at 12 months, {waves[24]} at 24, {waves[36]} at 36), {answers['answered']} answered "
        f"({rates[FollowUpGroup.PARTICIPANT.value]:.0%} of the participants', "
        f"{rates[FollowUpGroup.COMPARISON.value]:.0%} of the comparison group's; {answers['by_staff']} entered by "
        f"staff, {answers['confirmed']} big changes confirmed); {targets} targets for "
        f"{len(stage.editions)} editions.")
    return {"editions": stage.editions, "monitoring": {"enrolled": enrolled, "opened": opened, **answers}}
