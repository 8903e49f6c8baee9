"""Demo stage 3: the Accelerator cohorts, one completed and one running.

- The coaching themes (entrepreneurial finance, international marketing, human resources and
  talent scouting) and the mentor profiles of mentor1-4 (themes, S3 domains, languages,
  capacity, availability, an employer, one declared conflict of interest).
- **Business Accelerator 2025 cohort**, completed: formed from the accepted places of the
  decided 2025 Accelerator call (the reserve-list replacement included), July to December
  2025. Needs, confirmed mentorships (ended with the cohort), six group coaching sessions and
  four one-to-one sessions per company with attendance and the mentors' notes, milestones,
  investor introductions (two investments with amounts), and completions decided by staff:
  all but one completed with a Seal of Excellence (flagged loan-eligible), one not completed
  with the reason; one seal revoked since.
- **Business Accelerator 2026 cohort**, running: the demo's 2026 Accelerator call is still in
  evaluation (stage 2 keeps it there to show the evaluation screens), so when no decided 2026
  call is in `ctx` the running cohort of the 2026 edition is formed without a call (the
  model's `call_id` is optional): six companies that applied to no Accelerator call of the
  demo (so no application contradicts their place), one of them seated outside Piemonte and
  admitted on its commitment to move its seat (an open obligation, reminded last month).
  When a later version of stage 2 decides the 2026 call, its accepted places form the cohort
  instead (and the call's relocation obligation is the one followed). applicant1's company
  has a draft in the open 2027 call and no decided place, so it is in no cohort. Confirmed
  mentorships (mentor1 mentors two companies), sessions past and upcoming with attendance and
  notes (mentor1 has notes still to write), milestones in every status (some overdue), and
  investor introductions.

Rows are written straight through the models (the services are for people using the site).
The 2025 cohort has fixed dates; the running cohort is dated from the local date, like the
events stage, so two loads on the same day write the same rows. The random draws come from a
generator derived from the loader's `rng` without advancing it, so the stages after this one
draw exactly what they drew before it existed. Seal codes are drawn from it too (the site
itself uses `secrets`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from opsapp.accounts.models import Organisation, OrganisationKind, User
from opsapp.calls.models import Application, CallStatus, Obligation, PlaceStatus, ProgrammeKind
from opsapp.cohorts import seals as seal_rules
from opsapp.cohorts.models import (
    Attendance,
    CoachingSession,
    CoachingTheme,
    Cohort,
    CohortMember,
    CohortStatus,
    CompletionStatus,
    IntroductionOutcome,
    InvestmentType,
    InvestorIntroduction,
    MentorConflict,
    MentorProfile,
    Mentorship,
    Milestone,
    MilestoneStatus,
    Need,
    ObligationReminder,
    Seal,
    SessionKind,
    SessionNote,
)
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.demo.accounts import HOME_REGION
from opsapp.extensions import db

TZ = "Europe/Rome"
FINANCE, MARKETING, HR = "entrepreneurial_finance", "international_marketing", "human_resources"
THEMES = [
    (FINANCE, "Entrepreneurial finance", "Finanza d'impresa"),
    (MARKETING, "International marketing", "Marketing internazionale"),
    (HR, "Human resources and talent scouting", "Risorse umane e ricerca di talenti"),
]

# mentor1-4: (themes, S3 domains, languages, capacity, employer (investor index or None), bio, availability)
MENTORS = [
    ([FINANCE, MARKETING], ["ict", "mechatronics", "energy"], ["en", "it"], 3, 0,
     "Partner at a venture-capital fund; previously co-founded and sold an industrial-IoT start-up. Coaches "
     "founders on fundraising, valuation and term sheets.",
     "Tuesday and Thursday afternoons; online or in Torino."),
    ([HR, MARKETING], ["agrifood", "textile", "green_chemistry"], ["it", "en"], 3, None,
     "Former HR director of a food group, now an independent coach on hiring, incentives and building a "
     "first management team.",
     "Mornings, in Torino, Alba or Cuneo."),
    ([FINANCE], ["automotive", "aerospace", "mechatronics"], ["en", "it"], 3, 2,
     "Investment manager at a regional fund; twenty years as CFO of automotive suppliers.",
     "Monday to Wednesday; online preferred."),
    ([MARKETING], ["life_sciences", "ict", "energy"], ["en", "fr"], 2, None,
     "Serial entrepreneur in digital health; helps Italian start-ups enter the French and Swiss markets.",
     "Online, any weekday; in Torino once a month."),
]

GOALS = [
    "Close a seed round of EUR {amount} k and hire two engineers.",
    "Enter the German and French markets through two distributors.",
    "Turn three pilot projects into recurring contracts and reach break-even.",
    "Set up a sales team and a partner programme for foreign markets.",
    "Obtain the certification large buyers ask for and sign a first framework agreement.",
    "Prepare a Series A: a clean data room, a board and a five-year plan.",
]

MILESTONES = {
    FINANCE: ["Financial plan for the next three years", "Data room ready for investors",
              "Term sheet negotiated with a lead investor", "Bank credit line for working capital"],
    MARKETING: ["Go-to-market plan for two foreign countries", "First order from a foreign client",
                "Distributor agreement signed", "Trade-fair participation with a qualified lead list"],
    HR: ["Hiring plan and job descriptions", "Head of sales recruited", "Employee stock-option plan adopted",
         "Onboarding process for new staff"],
}

GROUP_TITLES = {
    FINANCE: ["Raising a seed round: investors, instruments, valuation", "Unit economics and cash-flow planning"],
    MARKETING: ["Choosing the first foreign markets", "Pricing and channels abroad"],
    HR: ["Hiring the first managers", "Incentives, stock options and company culture"],
}

NOTES = {
    FINANCE: [
        "Reviewed the financial plan: the revenue ramp is credible, the hiring costs are underestimated by about "
        "a quarter. Next: a monthly cash-flow table and two scenarios.",
        "Went through the investor list: five funds fit the ticket size. Agreed to rewrite the teaser around "
        "recurring revenue before the first calls.",
        "Discussed convertible notes versus a priced round; the founders lean towards a convertible with a cap. "
        "Homework: model the dilution in both cases.",
    ],
    MARKETING: [
        "Compared Germany and France on market size, competition and certification needs; Germany first, with a "
        "distributor rather than a branch.",
        "Worked on the value proposition for foreign buyers: shorter, with figures from the two pilots. Next: "
        "prepare the trade-fair pitch.",
        "Checked the price list against foreign competitors: room for a 10% premium on service contracts.",
    ],
    HR: [
        "Drafted the profile of the head of sales and the interview plan; the founders will use two recruiters.",
        "Talked about a stock-option plan for the first ten employees; next step is a call with the accountant.",
        "Mapped the skills missing in the team: finance and international sales. Agreed a hiring timeline.",
    ],
}

PLACE = "Fondazione Polo Innovazione Subalpino, Via Nizza 262, Torino"
RUNNING_SIZE = 6  # companies in the running cohort when it is formed without a call
COACHES = {FINANCE: "Giulia Ferraris (finance coach)", MARKETING: "Marc Lefèvre (export coach)",
           HR: "Paola Barbero (HR coach)"}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_to_utc(datetime.combine(day, time(hour, minute)), TZ)


class _Stage:
    def __init__(self, rng: random.Random, ctx: dict) -> None:
        self.rng, self.ctx = rng, ctx
        self.staff: User = ctx["staff"]
        self.audit: list[tuple] = []  # (when, actor, action, object, detail), written once ids exist
        self.codes: set[str] = set()

    # --- themes and mentors -----------------------------------------------------------------

    def themes(self) -> dict[str, CoachingTheme]:
        existing = {t.code: t for t in db.session.scalars(db.select(CoachingTheme))}
        for code, en, it in THEMES:
            if code not in existing:
                existing[code] = CoachingTheme(code=code, name_en=en, name_it=it, active=True)
                db.session.add(existing[code])
        return existing

    def mentors(self, themes: dict[str, CoachingTheme]) -> list[MentorProfile]:
        users: list[User] = sorted(self.ctx["mentors"], key=lambda u: u.email)
        investors: list[Organisation] = self.ctx["investors"]
        s3 = self.ctx["s3"]
        profiles = []
        for user, (codes, domains, languages, capacity, employer, bio, availability) in zip(users, MENTORS,
                                                                                            strict=False):
            profile = MentorProfile(user=user, bio=bio, languages=languages, capacity=capacity,
                                    availability=availability, active=True,
                                    organisation=investors[employer] if employer is not None else None)
            profile.themes = [themes[c] for c in codes]
            profile.s3_domains = [s3[d] for d in domains]
            db.session.add(profile)
            profiles.append(profile)
        return profiles

    # --- rows ----------------------------------------------------------------------------------

    def cohort(self, **fields) -> Cohort:
        cohort = Cohort(created_by_id=self.staff.id, timezone=TZ, **fields)
        db.session.add(cohort)
        return cohort

    def member(self, cohort: Cohort, organisation: Organisation, application: Application | None,
               joined: datetime, themes: dict[str, CoachingTheme]) -> CohortMember:
        goal = self.rng.choice(GOALS).format(amount=self.rng.choice([300, 500, 800, 1200]))
        member = CohortMember(cohort=cohort, organisation=organisation, application=application, goals=goal,
                              needs_assessed_at=joined + timedelta(days=self.rng.randint(3, 9), hours=3),
                              joined_at=joined)
        levels = self.rng.sample([3, 2, self.rng.choice([0, 1, 2])], 3)
        member.needs = [Need(theme=themes[code], level=level) for (code, _, _), level in zip(THEMES, levels, strict=True)]
        db.session.add(member)
        return member

    @staticmethod
    def top_theme(member: CohortMember) -> CoachingTheme:
        return max(member.needs, key=lambda n: (n.level, n.theme.code)).theme

    def session(self, cohort: Cohort, kind: SessionKind, theme: CoachingTheme, title: str, starts_at: datetime,
                minutes: int, invitees: list[CohortMember], mentor: MentorProfile | None = None,
                coach: str | None = None, online: bool = False) -> CoachingSession:
        session = CoachingSession(
            cohort=cohort, kind=kind.value, theme=theme, title=title, starts_at=starts_at, duration_minutes=minutes,
            place=None if online else PLACE, online_url=f"https://meet.demo.opsapp.eu/{cohort.edition.year}-"
                                                        f"{starts_at:%m%d%H%M}" if online else None,
            mentor=mentor, coach_name=coach, created_by_id=self.staff.id)
        session.invitees = list(invitees)
        db.session.add(session)
        return session

    def attend(self, session: CoachingSession, member: CohortMember, attended: bool, by: User) -> None:
        session.attendance.append(Attendance(member=member, attended=attended, recorded_by_id=by.id,
                                             recorded_at=session.starts_at + timedelta(minutes=session.duration_minutes
                                                                                       + 20)))

    def note(self, session: CoachingSession, member: CohortMember, author: User) -> None:
        body = self.rng.choice(NOTES[session.theme.code])
        session.notes.append(SessionNote(member=member, body=body, author_id=author.id,
                                         written_at=session.starts_at + timedelta(hours=self.rng.randint(3, 30))))

    def milestone(self, member: CohortMember, theme: CoachingTheme, title: str, due: date, status: MilestoneStatus,
                  confirmer: User | None = None) -> Milestone:
        milestone = Milestone(member=member, theme=theme, title=title, due_on=due, status=status.value)
        if status in (MilestoneStatus.REPORTED, MilestoneStatus.CONFIRMED):
            milestone.reported_at = _at(due - timedelta(days=self.rng.randint(1, 6)), 17)
            milestone.evidence = "Documents shared with the mentor: " + title.lower() + "."
        if status is MilestoneStatus.CONFIRMED:
            milestone.confirmed_at = milestone.reported_at + timedelta(days=self.rng.randint(1, 4))
            milestone.confirmed_by_id = (confirmer or self.staff).id
        db.session.add(milestone)
        return milestone

    def introduce(self, member: CohortMember, investor: Organisation, day: date, outcome: IntroductionOutcome,
                  amount: Decimal | None = None, kind: InvestmentType | None = None, note: str | None = None):
        db.session.add(InvestorIntroduction(
            member=member, investor=investor, introduced_on=day, outcome=outcome.value, amount=amount,
            investment_type=kind.value if kind else None, note=note, recorded_at=_at(day, 18),
            recorded_by_id=self.staff.id))

    def code(self) -> str:
        while True:
            raw = "".join(self.rng.choice(seal_rules.ALPHABET) for _ in range(seal_rules.CODE_LENGTH))
            code = f"{seal_rules.PREFIX}-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def write_audit(self) -> None:
        db.session.add_all([
            AuditEntry(created_at=when, actor_id=getattr(actor, "id", None), action=action,
                       object_type=obj.__tablename__, object_id=str(obj.id), detail=detail)
            for when, actor, action, obj, detail in sorted(self.audit, key=lambda e: e[0])])


# --- the completed 2025 cohort ------------------------------------------------------------------------------


def _completed_2025(stage: _Stage, themes: dict[str, CoachingTheme], mentors: list[MentorProfile]) -> dict:
    rng, ctx, staff = stage.rng, stage.ctx, stage.staff
    call = ctx["calls"]["accelerator_2025"]
    places: list[Application] = sorted(ctx["accelerator_2025_selected"], key=lambda a: (a.rank or 99, a.id))
    starts, ends = date(2025, 7, 1), date(2025, 12, 19)
    cohort = stage.cohort(edition=call.edition, call=call, name="Business Accelerator 2025 cohort", starts_on=starts,
                          ends_on=ends, incubation_months=0, min_hours=Decimal("20"), min_sessions=6,
                          min_milestones=2, status=CohortStatus.COMPLETED.value,
                          created_at=_at(date(2025, 6, 27), 10))
    cohort.themes = [themes[c] for c, _, _ in THEMES]
    members = [stage.member(cohort, app.organisation, app, _at(date(2025, 6, 30), 9), themes) for app in places]
    dropout = members[rng.randrange(len(members))]  # attended little: not completed
    mentor_of = {}
    for i, member in enumerate(members):
        mentor = mentors[i % len(mentors)]
        mentor_of[id(member)] = mentor
        db.session.add(Mentorship(member=member, mentor=mentor, fit=Decimal(rng.randint(55, 95)),
                                  confirmed_at=_at(date(2025, 7, 8), 11), confirmed_by_id=staff.id,
                                  ended_at=_at(ends, 18)))

    # Six group sessions of three hours, two per theme; coached by a mentor or an outside coach.
    group_days = [date(2025, 7, 15), date(2025, 9, 9), date(2025, 9, 30), date(2025, 10, 21), date(2025, 11, 11),
                  date(2025, 12, 2)]
    codes = [FINANCE, MARKETING, HR, FINANCE, MARKETING, HR]
    sessions = {"group": 0, "one": 0}
    attended_minutes = 0
    # Each session one company is missing, never the same twice (so all but the dropout meet the criteria).
    skippers = rng.sample([m for m in members if m is not dropout], min(len(group_days), len(members) - 1))
    for n, (day, code) in enumerate(zip(group_days, codes, strict=True)):
        lead = next((m for m in mentors if themes[code] in m.themes), None) if n % 2 == 0 else None
        session = stage.session(cohort, SessionKind.GROUP, themes[code], GROUP_TITLES[code][n // 3], _at(day, 14),
                                180, members, mentor=lead, coach=None if lead else COACHES[code])
        sessions["group"] += 1
        skipper = skippers[n] if n < len(skippers) else None
        for member in members:
            attended = (n in (0, 1)) if member is dropout else member is not skipper
            stage.attend(session, member, attended, staff)
            attended_minutes += 180 if attended else 0
    # Four one-to-one sessions per company with its mentor, on its most needed theme.
    for member in members:
        mentor = mentor_of[id(member)]
        theme = stage.top_theme(member)
        for k, month in enumerate((7, 9, 10, 11)):
            day = date(2025, month, rng.randint(16, 27))
            session = stage.session(cohort, SessionKind.ONE_TO_ONE, theme, f"Mentoring: {theme.name_en.lower()}",
                                    _at(day, rng.choice([10, 16])), 90, [member], mentor=mentor,
                                    online=rng.random() < 0.4)
            sessions["one"] += 1
            attended = k == 0 if member is dropout else True
            stage.attend(session, member, attended, mentor.user)
            attended_minutes += 90 if attended else 0
            if attended:
                stage.note(session, member, mentor.user)

    # Milestones: three each; those who complete achieved at least two.
    milestone_days = [date(2025, 9, 30), date(2025, 11, 14), date(2025, 12, 12)]
    for member in members:
        picks = [(code, rng.choice(MILESTONES[code])) for code in rng.sample([FINANCE, MARKETING, HR], 3)]
        if member is dropout:
            statuses = [MilestoneStatus.CONFIRMED, MilestoneStatus.MISSED, MilestoneStatus.MISSED]
        else:
            statuses = [MilestoneStatus.CONFIRMED, MilestoneStatus.CONFIRMED,
                        rng.choice([MilestoneStatus.CONFIRMED, MilestoneStatus.CONFIRMED, MilestoneStatus.MISSED])]
        for (code, title), day, status in zip(picks, milestone_days, statuses, strict=True):
            stage.milestone(member, themes[code], title, day, status, mentor_of[id(member)].user)

    # Investor introductions: two investments, a term sheet, a meeting, one with no follow-up.
    investors: list[Organisation] = ctx["investors"]
    introduced = rng.sample([m for m in members if m is not dropout], 5)
    outcomes = [
        (IntroductionOutcome.INVESTMENT, Decimal("350000.00"), InvestmentType.EQUITY,
         "Seed round led by the fund, with two business angels."),
        (IntroductionOutcome.INVESTMENT, Decimal("150000.00"), InvestmentType.CONVERTIBLE,
         "Convertible note with a valuation cap; conversion at the next round."),
        (IntroductionOutcome.TERM_SHEET, None, None, "Term sheet received in December; due diligence under way."),
        (IntroductionOutcome.MEETING_HELD, None, None, "Two meetings; the investor wants to see the 2026 figures."),
        (IntroductionOutcome.NONE, None, None, "Too early for the fund's ticket size."),
    ]
    invested = Decimal(0)
    for member, (outcome, amount, kind, note), day in zip(
            introduced, outcomes, (date(2025, 10, 8), date(2025, 10, 22), date(2025, 11, 5), date(2025, 11, 19),
                                   date(2025, 12, 3)), strict=True):
        stage.introduce(member, rng.choice(investors), day, outcome, amount, kind, note)
        invested += amount or 0

    # Completions, decided by staff after the end; the seals issued the same day.
    decided = _at(date(2025, 12, 22), 10)
    issued = []
    for member in members:
        member.completion_decided_at = decided
        member.completion_decided_by_id = staff.id
        if member is dropout:
            member.completion = CompletionStatus.NOT_COMPLETED.value
            member.completion_note = ("Attended two of the six group sessions and one of the four mentoring "
                                      "sessions; two milestones missed. The company may apply again.")
            member.loan_eligible = False
            continue
        member.completion = CompletionStatus.COMPLETED.value
        member.loan_eligible = True
        seal = Seal(member=member, code=stage.code(), issued_on=decided.date(), issued_at=decided,
                    issued_by_id=staff.id)
        db.session.add(seal)
        issued.append(seal)
    # One seal revoked since: the company moved its seat out of the region.
    revoked = issued[rng.randrange(len(issued))]
    revoked.revoked_at = min(_at(date(2026, 3, 10), 15), utcnow().replace(microsecond=0) - timedelta(days=1))
    revoked.revoked_by_id = staff.id
    revoked.revoke_reason = ("The company moved its registered seat and its operations out of Piemonte in "
                             "February 2026, which the Seal of Excellence requires.")
    revoked.member.loan_eligible = False
    return {"cohort": cohort, "members": members, "dropout": dropout, "seals": issued, "revoked": revoked,
            "sessions": sessions, "hours": Decimal(attended_minutes) / 60, "invested": invested, "decided": decided}


# --- the running 2026 cohort ---------------------------------------------------------------------------------


def _running_members(stage: _Stage) -> tuple[object, list[tuple[Organisation, Application | None]], Obligation | None]:
    """(the call, the companies with their applications, the relocation obligation) of the running cohort."""
    ctx = stage.ctx
    call = ctx["calls"].get("accelerator_2026")
    if call is not None and call.status == CallStatus.DECIDED:
        accepted = sorted((a for a in ctx["accelerator_2026"] if a.place_status == PlaceStatus.ACCEPTED),
                          key=lambda a: (a.rank or 99, a.id))
        obligation = ctx.get("relocation_obligation")
        if obligation is not None and obligation.organisation not in [a.organisation for a in accepted]:
            obligation = None
        return call, [(a.organisation, a) for a in accepted], obligation
    # No decided 2026 call: Italian companies that applied to no Accelerator call of the demo, those of
    # Piemonte first, the others admitted on their commitment to move their seat to the region.
    applied = {id(a.organisation) for key in ("accelerator_2025", "accelerator_2026", "accelerator_2027")
               for a in ctx.get(key, [])}
    companies: list[Organisation] = ctx["companies"]
    free = [c for c in companies[1:] if id(c) not in applied and c.kind != OrganisationKind.LARGE_COMPANY
            and c.country == "IT"]
    local = [c for c in free if c.nuts2_region == HOME_REGION]
    outside = [c for c in free if c.nuts2_region != HOME_REGION]
    chosen = local[:4] + stage.rng.sample(outside, RUNNING_SIZE - len(local[:4]))
    return None, [(c, None) for c in chosen], None


def _running_2026(stage: _Stage, themes: dict[str, CoachingTheme], mentors: list[MentorProfile]) -> dict:
    rng, ctx, staff = stage.rng, stage.ctx, stage.staff
    now = utcnow().replace(microsecond=0)
    today = to_local(now, TZ).date()
    call, companies, obligation = _running_members(stage)
    edition = call.edition if call is not None else ctx["editions"][(ProgrammeKind.ACCELERATOR, 2026)]
    starts, ends = today - timedelta(days=60), today + timedelta(days=120)
    cohort = stage.cohort(edition=edition, call=call, name="Business Accelerator 2026 cohort", starts_on=starts,
                          ends_on=ends, incubation_months=12, min_hours=Decimal("18"), min_sessions=6,
                          min_milestones=2, status=CohortStatus.RUNNING.value,
                          created_at=_at(starts - timedelta(days=12), 10))
    cohort.themes = [themes[c] for c, _, _ in THEMES]
    joined = _at(starts - timedelta(days=2), 9)
    members = [stage.member(cohort, org, app, joined, themes) for org, app in companies]
    # mentor1 takes the first two companies, mentor2 the next two, then one each (within capacity).
    plan = [0, 0, 1, 1, 2, 3]
    mentor_of = {}
    for i, member in enumerate(members):
        mentor = mentors[plan[i % len(plan)]]
        mentor_of[id(member)] = mentor
        db.session.add(Mentorship(member=member, mentor=mentor, fit=Decimal(rng.randint(60, 95)),
                                  confirmed_at=_at(starts + timedelta(days=3), 11), confirmed_by_id=staff.id))
    # A conflict declared by mentor2 with a company it does not mentor.
    others = [m for m in members if mentor_of[id(m)] is not mentors[1]]
    conflicted = others[-1]
    db.session.flush()  # the mentors' ids
    db.session.add(MentorConflict(mentor_id=mentors[1].id, organisation_id=conflicted.organisation.id,
                                  reason="Sits on the advisory board of this company.",
                                  declared_at=_at(starts, 12)))

    # Group sessions: four held, two to come.
    group = [(-50, FINANCE), (-36, MARKETING), (-22, HR), (-8, FINANCE), (6, MARKETING), (20, HR)]
    past_sessions = upcoming = 0
    for n, (offset, code) in enumerate(group):
        day = starts + timedelta(days=60 + offset)
        lead = next((m for m in mentors if themes[code] in m.themes), None) if n % 2 == 0 else None
        session = stage.session(cohort, SessionKind.GROUP, themes[code], GROUP_TITLES[code][n // 3], _at(day, 14),
                                180, members, mentor=lead, coach=None if lead else COACHES[code],
                                online=n == 3)
        if offset < 0:
            past_sessions += 1
            for member in members:
                stage.attend(session, member, rng.random() < 0.85, staff)
        else:
            upcoming += 1
    # One-to-one: two held, one to come, per company. mentor1's latest ones still need their notes.
    to_write = 0
    for member in members:
        mentor = mentor_of[id(member)]
        theme = stage.top_theme(member)
        for offset in (-40, -4, 9):
            day = today + timedelta(days=offset + rng.randint(-2, 2))
            session = stage.session(cohort, SessionKind.ONE_TO_ONE, theme, f"Mentoring: {theme.name_en.lower()}",
                                    _at(day, rng.choice([10, 16])), 90, [member], mentor=mentor,
                                    online=rng.random() < 0.5)
            if offset > 0:
                upcoming += 1
                continue
            past_sessions += 1
            stage.attend(session, member, True, mentor.user)
            if offset == -4 and mentor is mentors[0]:
                to_write += 1  # the note is still to write
            else:
                stage.note(session, member, mentor.user)

    # Milestones in every status, some overdue (planned or reported past their due date).
    patterns = [
        [MilestoneStatus.CONFIRMED, MilestoneStatus.REPORTED, MilestoneStatus.PLANNED],
        [MilestoneStatus.CONFIRMED, "overdue", MilestoneStatus.PLANNED],
        [MilestoneStatus.MISSED, MilestoneStatus.PLANNED, MilestoneStatus.PLANNED],
        [MilestoneStatus.CONFIRMED, MilestoneStatus.CONFIRMED, MilestoneStatus.PLANNED],
        ["overdue", MilestoneStatus.REPORTED, MilestoneStatus.PLANNED],
        [MilestoneStatus.CONFIRMED, MilestoneStatus.PLANNED, MilestoneStatus.PLANNED],
    ]
    overdue = 0
    for i, member in enumerate(members):
        picks = [(code, rng.choice(MILESTONES[code])) for code in rng.sample([FINANCE, MARKETING, HR], 3)]
        for k, ((code, title), status) in enumerate(zip(picks, patterns[i % len(patterns)], strict=True)):
            if status == "overdue":
                due, status = today - timedelta(days=rng.randint(5, 15)), MilestoneStatus.PLANNED
                overdue += 1
            elif status in (MilestoneStatus.CONFIRMED, MilestoneStatus.MISSED):
                due = today - timedelta(days=30 - 8 * k)
            elif status is MilestoneStatus.REPORTED:
                due = today + timedelta(days=rng.randint(2, 10))
            else:
                due = today + timedelta(days=30 + 25 * k)
            stage.milestone(member, themes[code], title, due, status, mentor_of[id(member)].user)

    # Investor introductions: waiting, a meeting held, a term sheet.
    investors: list[Organisation] = ctx["investors"]
    for member, (offset, outcome, note) in zip(rng.sample(members, 3), [
            (-30, IntroductionOutcome.TERM_SHEET, "Term sheet for a EUR 400 k seed round under discussion."),
            (-18, IntroductionOutcome.MEETING_HELD, "First meeting held; the investor asked for the pipeline."),
            (-5, IntroductionOutcome.PENDING, None)], strict=True):
        stage.introduce(member, rng.choice(investors), today + timedelta(days=offset), outcome, note=note)

    # Companies admitted on their commitment to move their seat: open obligations, reminded last month.
    obligations = [obligation] if obligation is not None else []
    if call is None:
        for member in members:
            if member.organisation.nuts2_region != HOME_REGION:
                moving = Obligation(organisation=member.organisation, application_id=None, kind="relocate_seat",
                                    status="open", created_at=joined,
                                    note="Committed on admission to the cohort to open its registered seat in "
                                         "Piemonte within six months.")
                db.session.add(moving)
                obligations.append(moving)
    db.session.flush()
    last_month = today.replace(day=1) - timedelta(days=1)
    reminded = _at(last_month.replace(day=1), 8, 3)
    for open_obligation in obligations:
        db.session.add(ObligationReminder(obligation_id=open_obligation.id, month=f"{last_month:%Y-%m}",
                                          sent_at=reminded))
        open_obligation.last_reminded_at = reminded
    return {"cohort": cohort, "members": members, "mentor_of": mentor_of, "past": past_sessions,
            "upcoming": upcoming, "to_write": to_write, "overdue": overdue, "obligations": obligations,
            "reminded": reminded, "from_call": call is not None}


# --- the stage ----------------------------------------------------------------------------------------------------


def load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    # A generator of our own, derived from the loader's without advancing it.
    stage = _Stage(random.Random(repr(rng.getstate())), ctx)
    with db.session.no_autoflush:
        themes = stage.themes()
        mentors = stage.mentors(themes)
        done = _completed_2025(stage, themes, mentors)
        running = _running_2026(stage, themes, mentors)
    db.session.flush()
    _audit(stage, done)
    stage.write_audit()
    db.session.flush()

    cohort_25, cohort_26 = done["cohort"], running["cohort"]
    mentor1 = mentors[0]
    mentored = [m.organisation.legal_name for m in running["members"] if running["mentor_of"][id(m)] is mentor1]
    summary.append(
        f"Cohorts: {cohort_25.name} completed ({len(done['members'])} companies from the decided 2025 call, the "
        f"reserve replacement included; {done['sessions']['group']} group and {done['sessions']['one']} one-to-one "
        f"sessions, {done['hours']:.0f} hours attended in all; {len(done['seals'])} completed with a Seal of "
        f"Excellence, one revoked since ({done['revoked'].code}), 1 not completed; investments of EUR "
        f"{done['invested']:,.0f}); {cohort_26.name} running until {cohort_26.ends_on:%d %B %Y} "
        f"({len(running['members'])} companies"
        + ("" if running["from_call"] else ", formed without a call since the 2026 call is still in evaluation")
        + f"; {running['past']} sessions held and {running['upcoming']} to come, {running['overdue']} milestones "
          f"overdue, {len(running['obligations'])} open obligations to move the seat to Piemonte, reminded "
          f"last month).")
    valid = next(seal for seal in done["seals"] if seal is not done["revoked"])
    summary.append(
        f"Mentor profiles for mentor1-4; mentor1 mentors {' and '.join(mentored)} in the running cohort "
        f"({running['to_write']} session notes to write). A valid seal verifies at /verify/{valid.code}.")
    return {"cohorts": {"accelerator_2025": cohort_25, "accelerator_2026": cohort_26},
            "mentor_profiles": mentors, "seals": done["seals"], "revoked_seal": done["revoked"]}


def _audit(stage: _Stage, done: dict) -> None:
    staff = stage.staff
    for member in done["members"]:
        stage.audit.append((done["decided"], staff, "cohort_members.completion_changed", member, {
            "old": CompletionStatus.IN_PROGRESS.value, "new": member.completion,
            "reason": member.completion_note, "criteria_met": member is not done["dropout"]}))
    for seal in done["seals"]:
        stage.audit.append((seal.issued_at, staff, "seals.issued", seal, {"code": seal.code,
                                                                          "issued_on": seal.issued_on.isoformat()}))
    revoked = done["revoked"]
    stage.audit.append((revoked.revoked_at, staff, "seals.revoked", revoked,
                        {"code": revoked.code, "reason": revoked.revoke_reason, "loan_eligible": False}))
