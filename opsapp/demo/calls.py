"""Demo stage 2: the call cycle, with every phase a newcomer should see populated.

Two programmes (Business Accelerator, Meet the Buyer) with editions 2025 to 2027,
profiles for the six demo evaluators, and four calls: a decided 2025 Accelerator call
(a consensus, a declined place taken by the first on the reserve list), the 2026
Accelerator call in evaluation (40 applications with 3 evaluators each, evaluations
at every stage, a declared conflict, divergent scores, eligibility flags and a
relocation obligation), an open 2027 Accelerator call with drafts (applicant1 among
them) and a decided Meet the Buyer call with 60 applicants whose selected SMEs the
events stage takes over.

The rows are written straight through the models (the services are for people using
the site: they check permissions and notify). Everything comes from the loader's
`rng` and from fixed dates around stage 1's `AS_OF`, except the open 2027 call: it
must be open whenever someone runs the demo, so its dates (and its applications'
times) are set relative to the real clock. Rankings are computed with the call
cycle's own rule (`scoring.propose`) and eligibility with `eligibility.check`, so
what the demo stores is what the application would have decided.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from opsapp.accounts.models import Organisation, OrganisationKind, S3Domain, User
from opsapp.calls import eligibility, scoring
from opsapp.calls.models import (
    Answer,
    Application,
    ApplicationStatus,
    Assignment,
    AssignmentStatus,
    BaselineKey,
    Call,
    CallStatus,
    Consensus,
    Criterion,
    Edition,
    Eligibility,
    EvaluatorProfile,
    Obligation,
    Outcome,
    PlaceStatus,
    Programme,
    ProgrammeKind,
    Question,
    QuestionKind,
    Score,
)
from opsapp.core.models import AuditEntry
from opsapp.core.timeutil import local_to_utc, to_local, utcnow
from opsapp.demo.accounts import HOME_REGION
from opsapp.extensions import db

TZ = "Europe/Rome"
RECEIPT_PREFIX = {ProgrammeKind.ACCELERATOR: "ACC", ProgrammeKind.MEET_THE_BUYER: "MTB"}  # as applying.py writes
HALF = Decimal("0.5")
CENT = Decimal("0.01")

# --- programmes --------------------------------------------------------------------------

PROGRAMMES = {
    ProgrammeKind.ACCELERATOR: (
        "Business Accelerator", "Acceleratore d'impresa",
        "A competitive call selects high-growth start-ups and SMEs that already have a viable business "
        "model, a product on the market and a few clients. The selected cohort gets 3 to 6 months (12 with "
        "incubation) of peer mentoring and intensive coaching on entrepreneurial finance, international "
        "marketing, human resources and talent scouting, introductions to investors and, on completion, a "
        "Seal of Excellence that opens the regional loan schemes.",
        "Un bando competitivo seleziona start-up e PMI ad alto potenziale di crescita che hanno già un "
        "modello di business sostenibile, un prodotto sul mercato e i primi clienti. La coorte selezionata "
        "riceve da 3 a 6 mesi (12 con l'incubazione) di mentoring tra pari e coaching intensivo su finanza "
        "d'impresa, marketing internazionale, risorse umane e ricerca di talenti, presentazioni agli "
        "investitori e, al termine, un Sigillo di eccellenza che dà accesso ai finanziamenti regionali.",
    ),
    ProgrammeKind.MEET_THE_BUYER: (
        "Meet the Buyer", "Meet the Buyer: PMI e grandi committenti",
        "Connecting SMEs with large buyers: selected innovative SMEs are prepared with pitching and "
        "negotiation support, then meet corporate and public buyers, many from outside the region, in "
        "one-to-one meetings at matchmaking events. Vouchers pay for attending events outside the region; "
        "a follow-up phase tracks the contracts that result.",
        "Mettere in contatto le PMI con i grandi committenti: le PMI innovative selezionate si preparano "
        "con un supporto su pitch e negoziazione, poi incontrano committenti privati e pubblici, molti da "
        "fuori regione, in incontri individuali durante eventi di matchmaking. I voucher coprono la "
        "partecipazione agli eventi fuori regione; una fase di follow-up segue i contratti che ne nascono.",
    ),
}

BUDGETS = {
    (ProgrammeKind.ACCELERATOR, 2025): Decimal("450000.00"),
    (ProgrammeKind.ACCELERATOR, 2026): Decimal("480000.00"),
    (ProgrammeKind.ACCELERATOR, 2027): Decimal("520000.00"),
    (ProgrammeKind.MEET_THE_BUYER, 2025): Decimal("280000.00"),
    (ProgrammeKind.MEET_THE_BUYER, 2026): Decimal("320000.00"),
    (ProgrammeKind.MEET_THE_BUYER, 2027): Decimal("350000.00"),
}

# --- evaluators ---------------------------------------------------------------------------
# (S3 domains, languages, expertise, maximum assignments per call), evaluator1 to evaluator6

EVALUATOR_PROFILES = [
    (["mechatronics", "automotive", "aerospace"], ["en", "it"],
     "Associate professor of mechanical engineering; fifteen years of industrial research projects with "
     "automotive and aerospace suppliers; evaluator for Horizon Europe Cluster 4.", 30),
    (["life_sciences", "green_chemistry", "agrifood"], ["it", "en"],
     "Head of a university technology transfer office: patents, licensing and spin-off creation in "
     "pharmaceutical, chemical and food sciences.", 25),
    (["ict", "energy"], ["en", "it"],
     "Former CTO of a software scale-up, now an independent adviser on digital products and energy "
     "software; EIC Accelerator evaluator since 2021.", 30),
    (["agrifood", "textile", "green_chemistry"], ["en", "it"],
     "Operations and supply-chain consultant for food and textile manufacturers; twenty years in "
     "industrial procurement.", 30),
    (["automotive", "energy", "mechatronics"], ["en", "de"],
     "Venture partner at a German industrial-technology fund; previously head of business development "
     "at a tier-1 automotive supplier.", 25),
    (["ict", "life_sciences", "textile"], ["it", "en", "fr"],
     "Business angel and marketing strategist; has taken a dozen Italian start-ups to French and Swiss "
     "markets.", 30),
]

# --- the application forms ------------------------------------------------------------------

STAGES = ["Product on the market, first clients", "Growing recurring revenue", "Expanding to foreign markets"]
THEMES = ["Entrepreneurial finance", "International marketing", "Human resources and talent scouting"]
BUYER_GROUPS = ["Corporate buyers in Piemonte", "Corporate buyers from outside Piemonte", "Public buyers"]
CERTIFICATIONS = ["ISO 9001", "ISO 14001", "ISO/IEC 27001", "IATF 16949", "EN 9100", "None yet"]

# The baseline block the KPI module follows for three years (PRODUCT.md section 5).
BASELINE_QUESTIONS = [
    (BaselineKey.YEAR, QuestionKind.NUMBER, "Last closed financial year",
     "The year of the figures below (the last year with approved accounts).", Decimal("2000"), Decimal("2100")),
    (BaselineKey.TURNOVER, QuestionKind.MONEY, "Turnover in that year (EUR)", None, Decimal("0"), None),
    (BaselineKey.EXPORT_TURNOVER, QuestionKind.MONEY, "Of which export turnover (EUR)",
     "Sales to clients outside Italy (outside your country for foreign companies).", Decimal("0"), None),
    (BaselineKey.EMPLOYEES_FTE, QuestionKind.NUMBER, "Employees (full-time equivalents)",
     "Average over the year; part-time staff count as fractions.", Decimal("0"), None),
    (BaselineKey.HIGH_SKILL_FTE, QuestionKind.NUMBER, "Of which high-skill employees (FTE)",
     "Graduates in science, engineering, design or management, and researchers.", Decimal("0"), None),
    (BaselineKey.INVESTMENT_RAISED, QuestionKind.MONEY, "Investment raised in that year (EUR)",
     "Equity, convertible notes and loans from investors or banks for growth.", Decimal("0"), None),
]

ACCELERATOR_CRITERIA = [
    ("Excellence",
     "Clarity and pertinence of the objectives, soundness of the business model, and how new the product "
     "or service is compared with what the market already offers.", Decimal("1")),
    ("Impact",
     "Growth potential in sales, exports and high-skill jobs over the next three years, credibility of the "
     "pathway to scale, contribution to the region's S3 priorities.", Decimal("1.5")),
    ("Implementation",
     "Quality and commitment of the team, realism of the work plan, the resources and the milestones.",
     Decimal("1")),
]

MTB_CRITERIA = [
    ("Innovation of the offer",
     "What is new in the product or service and the advantage it gives a large buyer.", Decimal("1")),
    ("Readiness for large buyers",
     "Capacity, quality system, certifications and references to serve corporate and public buyers.",
     Decimal("1")),
    ("Fit with the buyers' needs",
     "How well the offer answers the needs and challenges published by the invited buyers.", Decimal("1.5")),
]

# Short evaluator comments by criterion and score band (below 3, 3 to 3.5, 4 and above).
COMMENTS = {
    "Excellence": {
        "high": [
            "Clear and credible value proposition; the technology is a real step beyond what competitors offer.",
            "Well-defined product already validated by paying clients; the innovation is convincing and protected.",
            "Strong technical differentiation and a business model that has already shown it generates revenue.",
            "Precise objectives and a mature product; a very solid application on this criterion.",
        ],
        "mid": [
            "The product is sound but the innovation over existing solutions is only partly demonstrated.",
            "Plausible business model; the competitive analysis is thin and leaves out obvious rivals.",
            "Good description of the offer; the evidence of client validation could be stronger.",
            "Incremental rather than disruptive innovation, but clearly explained and coherent.",
        ],
        "low": [
            "The value proposition is vague and the difference from competitors is not explained.",
            "Little evidence that the product works outside a pilot; the business model is unclear.",
            "The application describes the technology at length but not why clients would pay for it.",
        ],
    },
    "Impact": {
        "high": [
            "Credible path to new foreign markets with figures to back it; strong potential for high-skill jobs.",
            "Ambitious growth targets supported by the sales pipeline; clear fit with the regional S3 priorities.",
            "Convincing scale-up plan: the export strategy names target countries, channels and partners.",
        ],
        "mid": [
            "Reasonable growth projections, though the export plan stays generic.",
            "Plausible effect on jobs, but not quantified; the market-size estimate is optimistic.",
            "Some potential to grow beyond the regional market; the route to get there needs more detail.",
        ],
        "low": [
            "Growth projections are not supported by the current figures; the impact remains speculative.",
            "The plan targets the local market only, with little room for the growth the programme seeks.",
            "No clear indicators of impact; the revenue forecast jumps without explanation.",
        ],
    },
    "Implementation": {
        "high": [
            "Experienced, complementary team with a realistic work plan and clear milestones.",
            "Resources and timeline are well matched; the team has already delivered similar projects.",
            "Strong and committed management; risks are identified with sensible mitigation.",
        ],
        "mid": [
            "Capable team, but the commercial profile is missing and the plan relies on one key person.",
            "Acceptable work plan; milestones are listed without measurable targets.",
            "Adequate resources overall; how much time the founders can give the programme is unclear.",
        ],
        "low": [
            "The team lacks sales and finance skills and the plan does not say how this will be addressed.",
            "Timeline unrealistic for the resources described; no risk analysis.",
            "The work plan is a list of activities without milestones or responsibilities.",
        ],
    },
    "Innovation of the offer": {
        "high": [
            "A distinctive offer with technical advantages that large buyers rarely find locally.",
            "Innovative solution backed by references and certifications; it stands out in its segment.",
            "Novel product with measurable benefits for the buyer in cost, quality and sustainability.",
        ],
        "mid": [
            "Solid, moderately innovative offer; the advantage over incumbent suppliers needs sharper figures.",
            "Good product, but similar solutions are already on the buyers' approved supplier lists.",
            "The innovation lies in service and delivery rather than in the product itself.",
        ],
        "low": [
            "A standard offer with little that would make a large buyer switch supplier.",
            "Innovation is claimed but not demonstrated; no performance data.",
        ],
    },
    "Readiness for large buyers": {
        "high": [
            "Already supplies large customers; capacity, certifications and contracts are in place.",
            "Production capacity and quality system are ready for volume orders.",
            "Well prepared: references from industrial clients and a dedicated key-account manager.",
        ],
        "mid": [
            "Capacity is enough for pilots; volume orders would need investment.",
            "Quality certification under way; references with mid-sized clients only so far.",
            "Able to serve large buyers, though their payment terms could strain the cash flow.",
        ],
        "low": [
            "Not yet able to meet the volumes or the supplier qualification of large buyers.",
            "No quality system and no references beyond small local clients.",
        ],
    },
    "Fit with the buyers' needs": {
        "high": [
            "Matches the needs published by several of the invited buyers.",
            "A direct answer to a challenge announced by one of the buyers; strong meeting potential.",
            "Good fit with both corporate and public buyers in the event's domains.",
        ],
        "mid": [
            "Relevant to one or two buyers; the fit with the others is limited.",
            "Partial fit: the offer addresses a need in a neighbouring segment.",
            "Plausible fit, but the application does not refer to the buyers' published needs.",
        ],
        "low": [
            "Little overlap with the needs published by the invited buyers.",
            "The offer targets consumers rather than the corporate and public buyers attending.",
        ],
    },
}

NOVELTY = [
    "Compared with the incumbents, our solution cut the client's operating costs by {p}% in the pilots we ran.",
    "Two patent applications protect the core of the technology.",
    "The product was developed with a university laboratory and validated in an industrial environment.",
    "We sell it as a subscription, which gives us recurring revenue and a close relationship with clients.",
    "It is one of the few solutions of its kind certified for the EU market.",
    "Our clients report a payback period of under {m} months.",
]
SEGMENTS = {
    "aerospace": "aerostructure suppliers and satellite operators",
    "automotive": "tier-1 and tier-2 automotive suppliers",
    "green_chemistry": "packaging converters and chemical plants",
    "mechatronics": "machine builders and manufacturing SMEs",
    "agrifood": "food processors, wineries and farm cooperatives",
    "textile": "fashion brands and wool mills",
    "life_sciences": "hospitals, clinics and pharmaceutical companies",
    "ict": "manufacturing companies and public bodies",
    "energy": "utilities, energy communities and industrial sites",
}
CHANNELS = [
    "we sell directly through our own technical sales team",
    "we sell directly and through two distributors",
    "most clients come from trade fairs and referrals",
    "we work with system integrators who resell our product",
    "we reach clients through an online shop and a network of agents",
]
COUNTRIES = ["France", "Germany", "Spain", "Switzerland", "Austria", "the Netherlands", "Poland", "the Nordics",
             "the United States"]
GROWTH_PLANS = [
    "Enter {c1} and {c2} through distributors, hire {h} engineers and raise EUR {amt} to expand production.",
    "Open a sales office in {c1}, double the recurring revenue and reach {h} new high-skill hires by year three.",
    "Certify the product for {c1}, sign two framework agreements with large buyers and grow the team by {h}.",
    "Move from pilots to volume sales in Italy and {c1}, automate assembly and raise EUR {amt} in equity.",
    "Build a partner network in {c1} and {c2}, launch the second product line and hire {h} specialists.",
]
MTB_OFFER = [
    "We are looking for large buyers who want to shorten qualification times for new suppliers.",
    "Our references include two Italian industrial groups; we now want to serve buyers abroad.",
    "We can run a paid pilot within three months at the buyer's site.",
    "We can adapt the product to the buyer's specifications with our in-house engineering team.",
]

CONFLICT_REASON = "I advised this company on its business plan in 2024 and was paid for that work."


def _rome(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return local_to_utc(datetime(year, month, day, hour, minute), TZ)


def _money(value: Decimal | float) -> Decimal:
    """Whole euros, written with two decimals as every amount is."""
    return Decimal(str(value)).quantize(Decimal("1")).quantize(CENT)


def _half(value: Decimal | float, low: Decimal = Decimal(0), high: Decimal = Decimal(5)) -> Decimal:
    """Rounded to the nearest half point, kept within the scale."""
    rounded = (Decimal(str(value)) * 2).to_integral_value() / 2
    return min(max(rounded, low), high).quantize(Decimal("0.1"))


def _band(value: Decimal) -> str:
    return "low" if value < 3 else ("mid" if value < 4 else "high")


class _Stage:
    """The state of one load: the generator, stage 1's context and what this stage builds."""

    def __init__(self, rng: random.Random, ctx: dict) -> None:
        self.rng = rng
        self.ctx = ctx
        self.s3: dict[str, S3Domain] = ctx["s3"]
        self.staff: User = ctx["staff"]
        self.owner = {id(org): user for org, user in zip(ctx["companies"], ctx["applicants"], strict=True)}
        self.baselines: dict[tuple[int, int], dict] = {}
        self.audit: list[tuple] = []  # (when, actor, action, object, detail): written after the ids exist

    # --- programmes, editions, evaluators -----------------------------------------------

    def programmes(self) -> tuple[dict, dict]:
        programmes, editions = {}, {}
        hub = self.ctx["hubs"][0]
        for kind, (name_en, name_it, text_en, text_it) in PROGRAMMES.items():
            programme = Programme(kind=str(kind), name_en=name_en, name_it=name_it,
                                  description_en=text_en, description_it=text_it)
            programmes[kind] = programme
            for year in (2025, 2026, 2027):
                editions[(kind, year)] = Edition(
                    programme=programme, year=year, implementing_organisation=hub, budget=BUDGETS[(kind, year)],
                    starts_on=datetime(year, 1, 1, tzinfo=UTC), ends_on=datetime(year, 12, 31, 23, tzinfo=UTC))
        db.session.add_all(programmes.values())
        return programmes, editions

    def evaluator_profiles(self) -> list[EvaluatorProfile]:
        profiles = []
        for user, (codes, languages, expertise, most) in zip(self.ctx["evaluators"], EVALUATOR_PROFILES, strict=True):
            profile = EvaluatorProfile(user=user, expertise=expertise, languages=languages, max_assignments=most,
                                       active=True)
            profile.s3_domains = [self.s3[c] for c in codes]
            profiles.append(profile)
        db.session.add_all(profiles)
        return profiles

    # --- calls -----------------------------------------------------------------------------

    def call(self, edition: Edition, *, title: str, summary: str, description: str, status: CallStatus,
             opens_at: datetime, closes_at: datetime, places: int, criteria, thresholds: Decimal,
             overall: Decimal, rules: dict, s3_codes, evaluators: int, evaluation_deadline: datetime,
             questions: list[Question], blind: bool = False, decided_at: datetime | None = None) -> Call:
        call = Call(
            edition=edition, title=title, summary=summary, description=description, status=str(status),
            opens_at=opens_at, closes_at=closes_at, timezone=TZ, places=places,
            eligible_kinds=[str(OrganisationKind.STARTUP), str(OrganisationKind.SME)], eligibility_rules=rules,
            evaluators_per_application=evaluators, evaluation_deadline=evaluation_deadline, blind=blind,
            aggregation="mean", divergence=Decimal("2.00"), overall_threshold=overall,
            created_at=opens_at - timedelta(days=21), created_by_id=self.staff.id,
            published_at=opens_at - timedelta(days=7), decided_at=decided_at,
        )
        call.s3_domains = [self.s3[c] for c in s3_codes]
        call.criteria = [
            Criterion(position=i, name=name, description=text, weight=weight, max_score=Decimal("5"),
                      threshold=thresholds)
            for i, (name, text, weight) in enumerate(criteria)
        ]
        call.questions = questions
        db.session.add(call)
        # The call's lifecycle as the state machine would have recorded it: staff publish, the
        # scheduled jobs open and close it on time, staff start the evaluation and decide.
        self.audit.append((call.published_at, self.staff, "calls.published", call,
                           {"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}))
        steps = [(opens_at, None, "draft", "open")]
        if status != CallStatus.OPEN:
            steps.append((closes_at, None, "open", "closed"))
        if status in (CallStatus.IN_EVALUATION, CallStatus.DECIDED):
            steps.append((closes_at + timedelta(days=2), self.staff, "closed", "in_evaluation"))
        if status == CallStatus.DECIDED:
            steps.append((decided_at, self.staff, "in_evaluation", "decided"))
        for when, actor, old, new in steps:
            self.audit.append((when, actor, "calls.status_changed", call, {"old": old, "new": new}))
        return call

    @staticmethod
    def accelerator_questions(with_incubation: bool = True) -> list[Question]:
        questions = [
            Question(page=1, position=1, kind=str(QuestionKind.LONG_TEXT), required=True, max_length=2000,
                     label="Describe your product or service and what is new about it",
                     help_text="What it does, for whom, and why it is better than what clients use today."),
            Question(page=1, position=2, kind=str(QuestionKind.LONG_TEXT), required=True, max_length=1500,
                     label="Who are your clients and how do you reach them?"),
            Question(page=1, position=3, kind=str(QuestionKind.SINGLE_CHOICE), required=True,
                     label="Where is your business today?", choices=list(STAGES)),
            Question(page=1, position=4, kind=str(QuestionKind.MULTIPLE_CHOICE), required=True,
                     label="Which coaching themes do you need most?", choices=list(THEMES)),
        ]
        if with_incubation:
            questions.append(Question(page=1, position=5, kind=str(QuestionKind.YES_NO), required=True,
                                      label="Do you want the 12-month incubation option?"))
        for position, (key, kind, label, help_text, low, high) in enumerate(BASELINE_QUESTIONS, start=1):
            questions.append(Question(page=2, position=position, kind=str(kind), label=label, help_text=help_text,
                                      required=True, min_value=low, max_value=high, baseline_key=str(key)))
        questions += [
            Question(page=3, position=1, kind=str(QuestionKind.LONG_TEXT), required=True, max_length=2000,
                     label="Your growth plan for the next three years",
                     help_text="Markets, hires, investment: what you will do and what the programme changes."),
            Question(page=3, position=2, kind=str(QuestionKind.DATE), required=False,
                     label="Expected date of your next funding round"),
            Question(page=3, position=3, kind=str(QuestionKind.FILE), required=False, label="Pitch deck",
                     help_text="PDF, at most 10 MB.", file_kinds=["pdf"], max_file_mb=10),
        ]
        return questions

    @staticmethod
    def mtb_questions() -> list[Question]:
        questions = [
            Question(page=1, position=1, kind=str(QuestionKind.LONG_TEXT), required=True, max_length=1500,
                     label="Your offer to large buyers",
                     help_text="The product or service you want to sell and to which kind of buyer."),
            Question(page=1, position=2, kind=str(QuestionKind.MULTIPLE_CHOICE), required=True,
                     label="Which buyers would you like to meet?", choices=list(BUYER_GROUPS)),
            Question(page=1, position=3, kind=str(QuestionKind.YES_NO), required=True,
                     label="Have you already supplied a large company or a public body?"),
            Question(page=1, position=4, kind=str(QuestionKind.MULTIPLE_CHOICE), required=False,
                     label="Quality certifications", choices=list(CERTIFICATIONS)),
        ]
        for position, (key, kind, label, help_text, low, high) in enumerate(BASELINE_QUESTIONS, start=1):
            questions.append(Question(page=2, position=position, kind=str(kind), label=label, help_text=help_text,
                                      required=True, min_value=low, max_value=high, baseline_key=str(key)))
        return questions

    # --- applications ----------------------------------------------------------------------

    def baseline(self, org: Organisation, year: int) -> dict:
        """The company's figures for a closed year: 2025 is stage 1's (AS_OF's last closed year), earlier
        years are drawn back from it; one company reports the same year alike to every call."""
        key = (id(org), year)
        if key in self.baselines:
            return self.baselines[key]
        rng = self.rng
        startup = org.kind == OrganisationKind.STARTUP
        turnover, heads = Decimal(org.annual_turnover), Decimal(org.staff_headcount)
        for _ in range(2025 - year):
            turnover /= Decimal(str(rng.uniform(1.05, 1.45) if startup else rng.uniform(0.96, 1.12)))
            heads /= Decimal(str(rng.uniform(1.0, 1.3) if startup else rng.uniform(0.97, 1.08)))
        stated = re.search(r"Exports about (\d+)%", org.description or "")
        if stated:
            share = int(stated.group(1)) / 100
        elif org.country != "IT":
            share = rng.uniform(0.25, 0.6)
        else:
            share = rng.uniform(0.0, 0.3) if startup else rng.uniform(0.05, 0.45)
        codes = {d.code for d in org.s3_domains}
        skilled = rng.uniform(0.5, 0.85) if codes & {"ict", "life_sciences", "aerospace"} else rng.uniform(0.15, 0.45)
        fte = max(_half(heads, high=Decimal(10_000)), Decimal("1.0"))
        if startup:
            raised = rng.choice([0, 0, rng.randint(500, 4000) * 100, rng.randint(4000, 15000) * 100])
        else:
            raised = rng.randint(1000, 20000) * 100 if rng.random() < 0.3 else 0
        figures = {
            BaselineKey.YEAR: str(year),
            BaselineKey.TURNOVER: str(_money(turnover)),
            BaselineKey.EXPORT_TURNOVER: str(_money(turnover * Decimal(str(share)))),
            BaselineKey.EMPLOYEES_FTE: str(fte),
            BaselineKey.HIGH_SKILL_FTE: str(_half(fte * Decimal(str(skilled)), high=fte)),
            BaselineKey.INVESTMENT_RAISED: str(_money(raised)),
        }
        self.baselines[key] = figures
        return figures

    def answer_value(self, question: Question, org: Organisation, year: int, clients: int):
        rng = self.rng
        primary = org.s3_domains[0].code
        if question.baseline_key:
            return self.baseline(org, year)[BaselineKey(question.baseline_key)]
        label = question.label
        if label.startswith("Describe your product"):
            return f"{org.description} {rng.choice(NOVELTY).format(p=rng.randint(12, 40), m=rng.randint(8, 24))}"
        if label.startswith("Who are your clients"):
            return (f"{clients} paying clients today, mostly {SEGMENTS[primary]}; {rng.choice(CHANNELS)}. "
                    f"About {rng.randint(40, 85)}% of our revenue comes from repeat orders.")
        if label.startswith("Where is your business"):
            exported = Decimal(self.baseline(org, year)[BaselineKey.EXPORT_TURNOVER])
            turnover = Decimal(self.baseline(org, year)[BaselineKey.TURNOVER]) or Decimal(1)
            return STAGES[2] if exported / turnover > Decimal("0.3") else STAGES[1 if clients > 10 else 0]
        if label.startswith("Which coaching themes"):
            return sorted(rng.sample(THEMES, rng.randint(1, 3)), key=THEMES.index)
        if label.startswith("Do you want the 12-month"):
            return rng.random() < (0.6 if org.kind == OrganisationKind.STARTUP else 0.15)
        if label.startswith("Your growth plan"):
            c1, c2 = rng.sample(COUNTRIES, 2)
            return rng.choice(GROWTH_PLANS).format(c1=c1, c2=c2, h=rng.randint(2, 12),
                                                   amt=f"{rng.randint(3, 30) * 100_000:,}")
        if label.startswith("Expected date of your next funding round"):
            if org.kind != OrganisationKind.STARTUP:
                return None
            return date(year + 1, rng.randint(1, 12), 1).isoformat()
        if label.startswith("Your offer to large buyers"):
            return f"{org.description} {rng.choice(MTB_OFFER)}"
        if label.startswith("Which buyers would you like"):
            return sorted(rng.sample(BUYER_GROUPS, rng.randint(1, 3)), key=BUYER_GROUPS.index)
        if label.startswith("Have you already supplied"):
            return org.kind != OrganisationKind.STARTUP or rng.random() < 0.3
        if label.startswith("Quality certifications"):
            if org.kind == OrganisationKind.STARTUP and rng.random() < 0.6:
                return ["None yet"]
            return sorted(rng.sample(CERTIFICATIONS[:-1], rng.randint(1, 2)), key=CERTIFICATIONS.index)
        return None  # file questions: the demo attaches no files

    def application(self, call: Call, org: Organisation, *, year: int,
                    submitted_at: datetime | None, created_at: datetime, pages: int | None = None,
                    relocation: bool = False, product_on_market: bool = True) -> Application:
        """An application answered up to `pages` (all when None); submitted when `submitted_at` is given."""
        rng = self.rng
        startup = org.kind == OrganisationKind.STARTUP
        stated = re.search(r"Serves (\d+) clients", org.description or "")
        clients = int(stated.group(1)) if stated else (rng.randint(1, 25) if startup else rng.randint(12, 250))
        if not product_on_market:
            clients = 0
        if rng.random() < 0.7:
            deminimis = Decimal("0.00")
        else:
            deminimis = _money(rng.randint(50, 1600) * 100)
        submitted = submitted_at is not None
        application = Application(
            call=call, organisation=org, created_by=self.owner[id(org)],
            status=str(ApplicationStatus.SUBMITTED if submitted else ApplicationStatus.DRAFT),
            # The receipt number and the submission's update come once the id exists (stamp_receipts).
            version=1, live_key=org.id, created_at=created_at, updated_at=created_at,
            submitted_at=submitted_at, current_page=pages or max(q.page for q in call.questions),
            comparison_consent=rng.random() < 0.8, relocation_commitment=relocation,
            deminimis_declared=deminimis, product_on_market=product_on_market, paying_clients=clients,
        )
        answers = []
        for question in call.questions:
            if pages is not None and (question.page > pages or (question.page == pages and rng.random() < 0.5)):
                continue
            value = self.answer_value(question, org, year, clients)
            if value is not None:
                answers.append(Answer(question=question, value=value))
        application.answers = answers
        if submitted:
            self.audit.append((submitted_at, self.owner[id(org)], "applications.status_changed", application,
                               lambda: {"old": "draft", "new": "submitted",
                                        "receipt_number": application.receipt_number}))
        return application

    def check_eligibility(self, call: Call, application: Application) -> list[eligibility.RuleResult]:
        org = application.organisation
        applicant = eligibility.Applicant(
            kind=org.kind, size_class=org.size_class, founding_date=org.founding_date,
            nuts2_region=org.nuts2_region, s3_codes=frozenset(d.code for d in org.s3_domains),
            relocation_commitment=application.relocation_commitment,
            product_on_market=application.product_on_market, paying_clients=application.paying_clients,
            deminimis_declared=application.deminimis_declared,
        )
        context = eligibility.CallContext(
            reference_date=to_local(call.closes_at, call.timezone).date(), home_region=HOME_REGION,
            eligible_kinds=frozenset(call.eligible_kinds), s3_codes=frozenset(d.code for d in call.s3_domains))
        results = eligibility.check(applicant, context, call.eligibility_rules)
        application.eligibility_results = [r.as_dict() for r in results]
        application.eligibility_flagged = not eligibility.passed(results)
        return results

    @staticmethod
    def stamp_receipts(applications: list[Application]) -> None:
        """Receipt numbers in the application's own format (programme, edition, application number)."""
        for application in applications:
            if application.status == ApplicationStatus.SUBMITTED:
                call = application.call
                prefix = RECEIPT_PREFIX[ProgrammeKind(call.edition.programme.kind)]
                application.receipt_number = f"{prefix}-{call.edition.year}-{application.id:06d}"
                # Set explicitly: a changed column otherwise gets today's date from its onupdate.
                application.updated_at = application.submitted_at

    def confirm_eligibility(self, application: Application, verdict: Eligibility, reason: str, when: datetime):
        application.eligibility = str(verdict)
        application.eligibility_reason = reason
        application.eligibility_decided_by_id = self.staff.id
        application.eligibility_decided_at = when
        flagged = bool(application.eligibility_flagged)
        self.audit.append((when, self.staff, "applications.eligibility_decided", application,
                           {"before": "pending", "decision": str(verdict), "reason": reason, "flagged": flagged,
                            "overrides_check": (verdict == Eligibility.ELIGIBLE) == flagged}))

    def submission_times(self, opens_at: datetime, closes_at: datetime, n: int) -> list[datetime]:
        """Submissions bunch up before the deadline, as they do."""
        window = (closes_at - opens_at).total_seconds()
        times = set()
        while len(times) < n:
            before = window * (self.rng.random() ** 2.5) * 0.95 + self.rng.randint(300, 7200)
            times.add((closes_at - timedelta(seconds=int(min(before, window - 3600)))).replace(microsecond=0))
        return sorted(times)

    # --- evaluation --------------------------------------------------------------------------

    def assign(self, applications: list[Application], per_application: int, profiles: list[EvaluatorProfile],
               load: Counter | None = None) -> dict[int, list[User]]:
        """Each application gets its evaluators: least loaded first, matching expertise preferred,
        never a member of the applicant organisation."""
        load = load if load is not None else Counter()
        chosen: dict[int, list[User]] = {}
        for application in applications:
            codes = {d.code for d in application.organisation.s3_domains}
            candidates = [p for p in profiles
                          if not any(m.organisation_id == application.organisation.id for m in p.user.memberships)]
            order = {id(p): self.rng.random() for p in candidates}
            candidates.sort(key=lambda p: (load[p.user.id], not (codes & {d.code for d in p.s3_domains}), order[id(p)]))
            picked = [p.user for p in candidates[:per_application]]
            for user in picked:
                load[user.id] += 1
            chosen[id(application)] = picked
        return chosen

    def draw_scores(self, quality: float, n_evaluators: int, n_criteria: int,
                    divergent_criterion: int | None = None) -> list[list[Decimal]]:
        """Scores per evaluator and criterion around a quality; spread under 2 unless told to diverge."""
        rng = self.rng
        bases = [_half(quality + rng.choice([-0.5, 0, 0, 0.5]), Decimal("0.5")) for _ in range(n_criteria)]
        table = [[_half(b + Decimal(str(rng.choice([-0.5, 0, 0, 0.5])))) for b in bases] for _ in range(n_evaluators)]
        if divergent_criterion is not None:
            base = min(max(bases[divergent_criterion], Decimal("1.5")), Decimal("3.5"))
            outlier = rng.randrange(n_evaluators)
            for e in range(n_evaluators):
                table[e][divergent_criterion] = base
            # The outlier is two points apart: up when there is room, down otherwise.
            table[outlier][divergent_criterion] = base + 2 if base + 2 <= 5 else base - 2
        return table

    def evaluation(self, application: Application, evaluator: User, criteria: list[Criterion],
                   values: list[Decimal] | None, status: AssignmentStatus, assigned_at: datetime,
                   declared_at: datetime | None = None, submitted_at: datetime | None = None,
                   draft_upto: int | None = None, conflict_reason: str | None = None) -> Assignment:
        assignment = Assignment(
            application=application, evaluator=evaluator, status=str(status), assigned_at=assigned_at,
            assigned_by_id=self.staff.id, declared_at=declared_at, submitted_at=submitted_at,
            conflict_reason=conflict_reason,
        )
        if values is not None:
            scores = []
            for i, (criterion, value) in enumerate(zip(criteria, values, strict=True)):
                if draft_upto is not None and i >= draft_upto:
                    scores.append(Score(criterion=criterion, value=None, comment=None))
                else:
                    scores.append(Score(criterion=criterion, value=value,
                                        comment=self.rng.choice(COMMENTS[criterion.name][_band(value)])))
            assignment.scores = scores
        self.audit.append((assigned_at, self.staff, "assignment.created", assignment,
                           lambda: {"application_id": application.id, "evaluator_id": evaluator.id,
                                    "call_id": application.call.id}))
        if declared_at is not None:
            new = "conflict" if status == AssignmentStatus.CONFLICT else "accepted"
            self.audit.append((declared_at, evaluator, "assignments.status_changed", assignment,
                               {"old": "assigned", "new": new}))
        if submitted_at is not None:
            self.audit.append((submitted_at, evaluator, "assignments.status_changed", assignment,
                               {"old": "accepted", "new": "submitted"}))
        return assignment

    def evaluate_fully(self, application: Application, evaluators: list[User], criteria: list[Criterion],
                       table: list[list[Decimal]], start: datetime, end: datetime) -> list[Assignment]:
        """Every evaluator declared and submitted, at times within the evaluation window."""
        done = []
        span = int((end - start).total_seconds())
        for evaluator, values in zip(evaluators, table, strict=True):
            declared = start + timedelta(seconds=self.rng.randint(3600, max(span // 4, 7200)))
            submitted = declared + timedelta(seconds=self.rng.randint(3600, max(span // 2, 7200)))
            done.append(self.evaluation(application, evaluator, criteria, values, AssignmentStatus.SUBMITTED,
                                        start, declared, min(submitted, end)))
        return done

    # --- decisions ------------------------------------------------------------------------------

    @staticmethod
    def rules(call: Call) -> scoring.CallRules:
        return scoring.CallRules(
            criteria=tuple(scoring.CriterionRule(c.id, c.weight, c.max_score, c.threshold, c.position)
                           for c in call.criteria),
            aggregation=call.aggregation, divergence=call.divergence, overall_threshold=call.overall_threshold,
            evaluators_required=call.evaluators_per_application)

    @staticmethod
    def scores_of(application: Application, consensus: dict[int, Decimal]) -> scoring.ApplicationScores:
        submitted = [a for a in application.assignments if a.status == AssignmentStatus.SUBMITTED]
        by_criterion: dict[int, list[Decimal]] = {}
        for assignment in submitted:
            for score in assignment.scores:
                by_criterion.setdefault(score.criterion.id, []).append(score.value)
        return scoring.ApplicationScores(application.id, application.submitted_at, by_criterion,
                                         consensus, evaluations=len(submitted))

    def decide(self, call: Call, applications: list[Application], consensus: dict[int, dict[int, Decimal]],
               decided_at: datetime) -> scoring.Proposal:
        """Store the proposal of `scoring.propose` as the confirmed decision (ids must exist: flushed)."""
        eligible = [a for a in applications if a.eligibility == Eligibility.ELIGIBLE]
        proposal = scoring.propose([self.scores_of(a, consensus.get(id(a), {})) for a in eligible],
                                   self.rules(call), call.places)
        if not proposal.ready:
            raise RuntimeError(f"demo call {call.title!r}: evaluations missing or divergences not moderated")
        by_id = {a.id: a for a in applications}
        for ranked in proposal.ranked:
            application = by_id[ranked.result.application_id]
            application.weighted_total = scoring.round_score(ranked.result.weighted_total)
            application.rank = ranked.rank or None
            application.outcome = ranked.outcome
            application.reserve_position = ranked.reserve_position
            application.decided_at = decided_at
            application.updated_at = decided_at  # set explicitly, or the column's onupdate stamps today's date
            if ranked.outcome == Outcome.SELECTED:
                application.place_status = str(PlaceStatus.OFFERED)
            self.audit.append((decided_at, self.staff, "application.decided", application, {
                "outcome": ranked.outcome, "rank": application.rank, "reserve_position": ranked.reserve_position,
                "weighted_total": str(application.weighted_total), "total": str(ranked.result.total),
                "failed": list(ranked.result.failed)}))
        for application in applications:
            if application.eligibility == Eligibility.INELIGIBLE:
                application.outcome = str(Outcome.REJECTED)
                application.decided_at = application.updated_at = decided_at
                self.audit.append((decided_at, self.staff, "application.decided", application,
                                   {"outcome": str(Outcome.REJECTED), "ineligible": True}))
        return proposal

    def answer_place(self, application: Application, status: PlaceStatus, when: datetime) -> None:
        application.place_status = str(status)
        application.place_answered_at = application.updated_at = when
        action = "application.place_accepted" if status == PlaceStatus.ACCEPTED else "application.place_declined"
        self.audit.append((when, self.owner[id(application.organisation)], action, application,
                           {"rank": application.rank}))

    def promote_first_reserve(self, applications: list[Application], when: datetime) -> Application:
        """A declined place goes to the first on the reserve list; the others move up one position."""
        reserve = sorted((a for a in applications if a.outcome == Outcome.RESERVE),
                         key=lambda a: (a.reserve_position, a.rank, a.id))
        first, rest = reserve[0], reserve[1:]
        self.audit.append((when, self.staff, "application.promoted", first,
                           {"from_reserve_position": first.reserve_position, "rank": first.rank}))
        first.outcome = str(Outcome.SELECTED)
        first.place_status = str(PlaceStatus.OFFERED)
        first.reserve_position = None
        first.decided_at = first.updated_at = when  # the offer to this applicant is made now
        for position, application in enumerate(rest, start=1):
            if application.reserve_position != position:
                self.audit.append((when, self.staff, "application.reserve_moved", application,
                                   {"old": application.reserve_position, "new": position}))
                application.reserve_position = position
                application.updated_at = when
        return first

    def write_audit(self) -> None:
        # Details that name ids are functions, called now that the ids exist.
        db.session.add_all([
            AuditEntry(created_at=when, actor_id=getattr(actor, "id", None), action=action,
                       object_type=obj.__tablename__, object_id=str(obj.id),
                       detail=detail() if callable(detail) else detail)
            for when, actor, action, obj, detail in sorted(self.audit, key=lambda e: e[0])
        ])


# --- the stage -----------------------------------------------------------------------------------

ACCELERATOR_RULES = {
    "sme": {},
    "seat_in_region": {},
    "s3_domain": {},
    "business_readiness": {"min_clients": 1},
    "deminimis": {"ceiling": "300000"},
}
MTB_RULES = {"sme": {}, "s3_domain": {}, "deminimis": {"ceiling": "300000"}}
ALL_DOMAINS = ["aerospace", "automotive", "green_chemistry", "mechatronics", "agrifood", "textile",
               "life_sciences", "ict", "energy"]
DOMAINS_2027 = ["aerospace", "automotive", "green_chemistry", "mechatronics", "life_sciences", "ict", "energy"]

ACCELERATOR_DESCRIPTION = (
    "The Business Accelerator selects high-growth start-ups and SMEs that already have a viable business "
    "model, a product on the market and at least one paying client.\n\n"
    "The selected companies join a cohort for six months (twelve with the incubation option): peer mentoring, "
    "intensive coaching on entrepreneurial finance, international marketing, human resources and talent "
    "scouting, and introductions to investors. Companies that complete the programme receive the Seal of "
    "Excellence, which makes them eligible for the regional loan schemes.\n\n"
    "Who may apply: start-ups and SMEs (Recommendation 2003/361/EC) with their registered or operational seat "
    "in Piemonte, or committed to move it there, active in one of the call's S3 priority domains. The "
    "application asks for the figures of the last closed financial year, which the region follows for three "
    "years to measure the programme's results.\n\n"
    "Applications are scored by three independent evaluators on Excellence, Impact (weight 1.5) and "
    "Implementation, 0 to 5 each; an application must reach 3 on every criterion and 10 overall."
)
MTB_DESCRIPTION = (
    "Meet the Buyer prepares innovative SMEs to sell to large corporate and public buyers, then brings them "
    "together in one-to-one meetings at matchmaking events, many with buyers from outside the region.\n\n"
    "Selected SMEs get pitching and negotiation training, a profile that buyers read before the event, and "
    "vouchers for attending events outside the region. A follow-up phase records the contracts signed.\n\n"
    "Who may apply: start-ups and SMEs (Recommendation 2003/361/EC) with room under the de minimis ceiling. "
    "Two evaluators score each application on the innovation of the offer, the readiness for large buyers and "
    "the fit with the buyers' needs (weight 1.5)."
)


def load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    # Lazy loads (an evaluator's memberships) must not flush half-built applications.
    with db.session.no_autoflush:
        return _load(rng, ctx, summary)


def _load(rng: random.Random, ctx: dict, summary: list[str]) -> dict:
    stage = _Stage(rng, ctx)
    companies: list[Organisation] = ctx["companies"]
    staff: User = ctx["staff"]
    programmes, editions = stage.programmes()
    profiles = stage.evaluator_profiles()
    acc, mtb = ProgrammeKind.ACCELERATOR, ProgrammeKind.MEET_THE_BUYER
    smes = [c for c in companies if c.kind != OrganisationKind.LARGE_COMPANY]
    large = [c for c in companies if c.kind == OrganisationKind.LARGE_COMPANY]
    piemonte = [c for c in smes if c.nuts2_region == HOME_REGION]
    applicant_company = companies[0]  # applicant1's: a draft in the open call, a place at Meet the Buyer
    consensus: list[tuple] = []  # (application, criterion, value, when, justification), written with ids

    def founded_before(org: Organisation, day: date) -> bool:
        return org.founding_date is None or org.founding_date < day

    def moderate() -> list[Consensus]:
        rows = [Consensus(application_id=app.id, criterion=criterion, value=value, justification=text,
                          decided_by_id=staff.id, decided_at=when)
                for app, criterion, value, when, text in consensus]
        for app, criterion, value, when, text in consensus:
            stage.audit.append((when, staff, "consensus.recorded", app, {
                "criterion_id": criterion.id, "criterion": criterion.name, "old": None,
                "new": {"value": str(value), "justification": text},
                "scores": [str(s.value) for a in app.assignments if a.status == AssignmentStatus.SUBMITTED
                           for s in a.scores if s.criterion is criterion]}))
        consensus.clear()
        db.session.add_all(rows)
        return rows

    # --- 2025 Accelerator: decided --------------------------------------------------------------
    opens, closes = _rome(2025, 2, 3, 9), _rome(2025, 3, 31, 12)
    eval_start, eval_end, decided_25 = _rome(2025, 4, 3, 10), _rome(2025, 5, 16, 18), _rome(2025, 6, 13, 11)
    call_25 = stage.call(
        editions[(acc, 2025)], title="Business Accelerator 2025: call for start-ups and SMEs",
        summary="Six months of coaching, peer mentoring and investor introductions for eight high-growth "
                "start-ups and SMEs with a product on the market.",
        description=ACCELERATOR_DESCRIPTION, status=CallStatus.DECIDED, opens_at=opens, closes_at=closes,
        places=8, criteria=ACCELERATOR_CRITERIA, thresholds=Decimal("3"), overall=Decimal("10.00"),
        rules=ACCELERATOR_RULES, s3_codes=ALL_DOMAINS, evaluators=3, evaluation_deadline=eval_end,
        questions=stage.accelerator_questions(), decided_at=decided_25)
    pool = [c for c in piemonte if c is not applicant_company and founded_before(c, date(2024, 1, 1))]
    orgs_25 = rng.sample(pool, 30) + [rng.choice(large)]  # the large company is confirmed ineligible
    apps_25 = []
    for org, when in zip(orgs_25, stage.submission_times(opens, closes, len(orgs_25)), strict=True):
        app = stage.application(call_25, org, year=2024, submitted_at=when,
                                created_at=when - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8)))
        stage.check_eligibility(call_25, app)
        if app.eligibility_flagged:
            stage.confirm_eligibility(app, Eligibility.INELIGIBLE,
                                      "Large enterprise once its linked enterprises are counted: not eligible "
                                      "under Recommendation 2003/361/EC.", closes + timedelta(days=1))
        else:
            stage.confirm_eligibility(app, Eligibility.ELIGIBLE,
                                      "Chamber of commerce certificate and de minimis declaration checked.",
                                      closes + timedelta(days=1, hours=rng.randint(0, 30)))
        apps_25.append(app)
    evaluated_25 = [a for a in apps_25 if a.eligibility == Eligibility.ELIGIBLE]
    panels_25 = stage.assign(evaluated_25, 3, profiles)
    moderated_25 = rng.choice(evaluated_25)
    for app in evaluated_25:
        divergent = 1 if app is moderated_25 else None
        quality = 3.7 if app is moderated_25 else min(max(rng.gauss(3.6, 0.7), 1.5), 4.8)
        table = stage.draw_scores(quality, 3, 3, divergent)
        stage.evaluate_fully(app, panels_25[id(app)], call_25.criteria, table, eval_start, eval_end)
    impact_25 = call_25.criteria[1]
    consensus.append((moderated_25, impact_25, Decimal("3.5"), _rome(2025, 5, 22, 15),
                      "Moderation meeting of 22 May 2025: the lowest Impact score relied on the first-quarter "
                      "export figures instead of the full year's. The panel agreed on 3.5."))
    db.session.add_all(apps_25)
    db.session.flush()  # the ranking breaks ties by id
    stage.stamp_receipts(apps_25)
    moderate()
    proposal_25 = stage.decide(call_25, apps_25, {id(moderated_25): {impact_25.id: Decimal("3.5")}}, decided_25)
    # Everyone selected accepts within a fortnight, except one who declines; the first on the
    # reserve list takes the place.
    chosen_25 = [a for a in apps_25 if a.outcome == Outcome.SELECTED]
    decliner = rng.choice(chosen_25)
    for app in chosen_25:
        when = decided_25 + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
        stage.answer_place(app, PlaceStatus.DECLINED if app is decliner else PlaceStatus.ACCEPTED, when)
    promoted = stage.promote_first_reserve(apps_25, decliner.place_answered_at)
    stage.answer_place(promoted, PlaceStatus.ACCEPTED, decliner.place_answered_at + timedelta(days=4))
    selected_25 = [a for a in apps_25 if a.place_status == PlaceStatus.ACCEPTED]
    cohort_25 = {id(a.organisation) for a in selected_25}

    # --- 2026 Accelerator: in evaluation ----------------------------------------------------------
    opens, closes = _rome(2025, 10, 1, 9), _rome(2025, 11, 28, 12)
    eval_start, eval_deadline, as_of = _rome(2025, 12, 2, 10), _rome(2026, 1, 30, 18), _rome(2025, 12, 31, 18)
    call_26 = stage.call(
        editions[(acc, 2026)], title="Business Accelerator 2026: call for start-ups and SMEs",
        summary="Coaching, peer mentoring and investor introductions for ten high-growth start-ups and SMEs; "
                "incubation option of twelve months.",
        description=ACCELERATOR_DESCRIPTION, status=CallStatus.IN_EVALUATION, opens_at=opens, closes_at=closes,
        places=10, criteria=ACCELERATOR_CRITERIA, thresholds=Decimal("3"), overall=Decimal("10.00"),
        rules=ACCELERATOR_RULES, s3_codes=ALL_DOMAINS, evaluators=3, evaluation_deadline=eval_deadline,
        questions=stage.accelerator_questions())
    # The 2025 cohort does not apply again; those not selected in 2025 may try once more.
    elsewhere = [c for c in smes if c.nuts2_region != HOME_REGION and c.country == "IT"
                 and founded_before(c, date(2024, 7, 1))]
    abroad = [c for c in smes if c.country != "IT" and founded_before(c, date(2024, 7, 1))]
    relocating, foreign = rng.choice(elsewhere), rng.choice(abroad)
    unready = rng.choice([c for c in piemonte if c.kind == OrganisationKind.STARTUP and id(c) not in cohort_25
                          and c is not applicant_company and founded_before(c, date(2024, 7, 1))])
    pool = [c for c in piemonte if c is not applicant_company and c is not unready and id(c) not in cohort_25
            and founded_before(c, date(2024, 7, 1))]
    orgs_26 = rng.sample(pool, 36) + [relocating, foreign, unready, rng.choice(large)]
    rng.shuffle(orgs_26)
    apps_26 = []
    for org, when in zip(orgs_26, stage.submission_times(opens, closes, len(orgs_26)), strict=True):
        app = stage.application(call_26, org, year=2024, submitted_at=when,
                                created_at=when - timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 8)),
                                relocation=org is relocating, product_on_market=org is not unready)
        stage.check_eligibility(call_26, app)
        apps_26.append(app)
    flagged_26 = [a for a in apps_26 if a.eligibility_flagged]
    for app in flagged_26:
        if app.organisation.kind == OrganisationKind.LARGE_COMPANY:
            stage.confirm_eligibility(app, Eligibility.INELIGIBLE,
                                      "Large enterprise (over 250 staff): not eligible under Recommendation "
                                      "2003/361/EC.", closes + timedelta(days=3))
    for app in rng.sample([a for a in apps_26 if not a.eligibility_flagged], 6):
        stage.confirm_eligibility(app, Eligibility.ELIGIBLE,
                                  "Chamber of commerce certificate and de minimis declaration checked.",
                                  closes + timedelta(days=rng.randint(2, 5)))
    relocation_app = next(a for a in apps_26 if a.organisation is relocating)
    load_26: Counter = Counter()
    panels_26 = stage.assign(apps_26, 3, profiles, load_26)
    # The divergent applications are fully evaluated; one of them is already moderated.
    divergent_26 = rng.sample(apps_26, 5)
    moderated_26 = divergent_26[0]
    others = [a for a in apps_26 if a not in divergent_26]
    conflicted = rng.choice(others)
    pending = rng.sample([a for a in others if a is not conflicted], 15)
    drafts = set(map(id, pending[:10]))  # accepted, scores half-written
    waiting = set(map(id, pending[10:]))  # assigned, no declaration yet
    assignments_26 = 0
    for app in apps_26:
        criterion = rng.randrange(3) if app in divergent_26 else None
        quality = min(max(rng.gauss(3.4, 0.75), 1.5), 4.8)
        table = stage.draw_scores(quality, 3, 3, criterion)
        panel = panels_26[id(app)]
        assignments_26 += 3
        if app is conflicted:
            # The first evaluator declared a conflict; staff assigned the least-loaded free evaluator.
            stage.evaluation(app, panel[0], call_26.criteria, None, AssignmentStatus.CONFLICT, eval_start,
                             declared_at=eval_start + timedelta(days=1, hours=3), conflict_reason=CONFLICT_REASON)
            spare = min((p.user for p in profiles if p.user.id not in {u.id for u in panel}),
                        key=lambda u: (load_26[u.id], u.email))
            load_26[spare.id] += 1
            replaced = eval_start + timedelta(days=3)
            stage.evaluation(app, spare, call_26.criteria, table[0], AssignmentStatus.SUBMITTED, replaced,
                             declared_at=replaced + timedelta(hours=5), submitted_at=replaced + timedelta(days=6))
            stage.evaluate_fully(app, panel[1:], call_26.criteria, table[1:], eval_start, as_of)
        elif id(app) in drafts or id(app) in waiting:
            late = rng.randrange(3)  # the evaluator who is behind
            done = [i for i in range(3) if i != late]
            stage.evaluate_fully(app, [panel[i] for i in done], call_26.criteria, [table[i] for i in done],
                                 eval_start, as_of)
            if id(app) in drafts:
                declared = eval_start + timedelta(days=rng.randint(1, 10))
                stage.evaluation(app, panel[late], call_26.criteria, table[late], AssignmentStatus.ACCEPTED,
                                 eval_start, declared_at=declared, draft_upto=rng.randint(0, 2))
            else:
                stage.evaluation(app, panel[late], call_26.criteria, None, AssignmentStatus.ASSIGNED, eval_start)
        else:
            stage.evaluate_fully(app, panel, call_26.criteria, table, eval_start, as_of)
        if app is moderated_26:
            consensus.append((app, call_26.criteria[criterion], _half(sum(row[criterion] for row in table) / 3),
                              _rome(2025, 12, 22, 16),
                              "Moderation call of 22 December 2025 with the three evaluators: the outlying score "
                              "weighed a pilot that has since become a paying contract. Consensus on the panel's "
                              "mean, rounded to the half point."))

    # --- 2027 Accelerator: open now -----------------------------------------------------------------
    now = utcnow().replace(microsecond=0)
    today = to_local(now, TZ).date()
    opens = local_to_utc(datetime.combine(today - timedelta(days=20), time(9)), TZ)
    closes = local_to_utc(datetime.combine(today + timedelta(days=25), time(12)), TZ)
    call_27 = stage.call(
        editions[(acc, 2027)], title="Business Accelerator 2027: call for start-ups and SMEs",
        summary="Coaching, peer mentoring and investor introductions for ten high-growth start-ups and SMEs "
                "in the region's S3 priority domains.",
        description=ACCELERATOR_DESCRIPTION, status=CallStatus.OPEN, opens_at=opens, closes_at=closes,
        places=10, criteria=ACCELERATOR_CRITERIA, thresholds=Decimal("3"), overall=Decimal("10.00"),
        rules=ACCELERATOR_RULES, s3_codes=DOMAINS_2027, evaluators=3,
        evaluation_deadline=closes + timedelta(days=45), questions=stage.accelerator_questions(), blind=True)
    busy = {id(c) for c in orgs_26} | cohort_25 | {id(applicant_company)}
    fitting = [c for c in smes if id(c) not in busy and {d.code for d in c.s3_domains} & set(DOMAINS_2027)]
    # The submitted ones are seated in Piemonte (no relocation to follow yet); drafts come from anywhere.
    submitters = rng.sample([c for c in fitting if c.nuts2_region == HOME_REGION], 3)
    drafters = rng.sample([c for c in fitting if c not in submitters], 5)
    apps_27 = []
    for org in [applicant_company, *drafters, *submitters]:
        started = opens + timedelta(days=rng.randint(0, 15), hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
        if org in submitters:
            submitted = min(started + timedelta(days=rng.randint(1, 4)), now - timedelta(hours=rng.randint(2, 30)))
            app = stage.application(call_27, org, year=2025, submitted_at=submitted,
                                    created_at=min(started, submitted - timedelta(hours=3)))
            stage.check_eligibility(call_27, app)
        else:
            pages = 2 if org is applicant_company else rng.choice([1, 1, 2, 3])
            app = stage.application(call_27, org, year=2025, submitted_at=None,
                                    created_at=started, pages=pages)
            app.updated_at = min(started + timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 9)), now)
        apps_27.append(app)

    # --- 2026 Meet the Buyer: decided -----------------------------------------------------------------
    opens, closes = _rome(2025, 9, 15, 9), _rome(2025, 10, 31, 12)
    eval_start, eval_end, decided_mtb = _rome(2025, 11, 3, 10), _rome(2025, 11, 28, 18), _rome(2025, 12, 12, 11)
    call_mtb = stage.call(
        editions[(mtb, 2026)], title="Meet the Buyer 2026: call for innovative SMEs",
        summary="Sixty SMEs prepared to pitch and negotiate, then matched with corporate and public buyers "
                "in one-to-one meetings.",
        description=MTB_DESCRIPTION, status=CallStatus.DECIDED, opens_at=opens, closes_at=closes, places=60,
        criteria=MTB_CRITERIA, thresholds=Decimal("2.5"), overall=Decimal("9.00"), rules=MTB_RULES, s3_codes=[],
        evaluators=2, evaluation_deadline=eval_end, questions=stage.mtb_questions(), decided_at=decided_mtb)
    orgs_mtb = [applicant_company] + rng.sample([c for c in smes if c is not applicant_company
                                                 and founded_before(c, date(2024, 7, 1))], 59)
    rng.shuffle(orgs_mtb)
    weak = set(map(id, rng.sample([c for c in orgs_mtb if c is not applicant_company], rng.randint(4, 7))))
    apps_mtb = []
    for org, when in zip(orgs_mtb, stage.submission_times(opens, closes, len(orgs_mtb)), strict=True):
        app = stage.application(call_mtb, org, year=2024, submitted_at=when,
                                created_at=when - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8)))
        stage.check_eligibility(call_mtb, app)
        stage.confirm_eligibility(app, Eligibility.ELIGIBLE, "Declarations checked.",
                                  closes + timedelta(days=1, hours=rng.randint(0, 40)))
        apps_mtb.append(app)
    panels_mtb = stage.assign(apps_mtb, 2, profiles)
    for app in apps_mtb:
        if app.organisation is applicant_company:
            quality = 4.2  # every criterion at 3 or more whatever the draws: applicant1 meets the buyers
        else:
            quality = rng.uniform(1.6, 2.3) if id(app.organisation) in weak else rng.uniform(3.3, 4.6)
        table = stage.draw_scores(quality, 2, 3)
        stage.evaluate_fully(app, panels_mtb[id(app)], call_mtb.criteria, table, eval_start, eval_end)

    # --- ids exist from here: decisions, consensus, obligations, audit ---------------------------------
    db.session.add_all([*apps_26, *apps_27, *apps_mtb])
    db.session.flush()
    stage.stamp_receipts([*apps_26, *apps_27, *apps_mtb])
    moderate()
    obligation = Obligation(
        organisation=relocating, application_id=relocation_app.id, kind="relocate_seat", status="open",
        created_at=relocation_app.submitted_at,
        note="Committed to open its registered seat in Piemonte within six months of admission.")
    db.session.add(obligation)
    db.session.flush()
    stage.audit.append((obligation.created_at, stage.owner[id(relocating)], "obligations.created", obligation,
                        {"kind": "relocate_seat", "application_id": relocation_app.id,
                         "organisation_id": relocating.id}))
    stage.decide(call_mtb, apps_mtb, {}, decided_mtb)
    mtb_selected = [a for a in apps_mtb if a.outcome == Outcome.SELECTED]
    for app in mtb_selected:
        stage.answer_place(app, PlaceStatus.ACCEPTED, decided_mtb + timedelta(days=rng.randint(1, 10)))
    stage.write_audit()
    db.session.flush()

    submitted_26 = sum(1 for a in apps_26 for s in a.assignments if s.status == AssignmentStatus.SUBMITTED)
    flagged_names = ", ".join(sorted({r["code"] for a in flagged_26 for r in a.eligibility_results
                                      if not r["passed"]}))
    drafts_27 = sum(1 for a in apps_27 if a.status == ApplicationStatus.DRAFT)
    summary.append(f"Programmes {PROGRAMMES[acc][0]} and {PROGRAMMES[mtb][0]}, editions 2025-2027 run by "
                   f"{ctx['hubs'][0].legal_name}; evaluator profiles for evaluator1-6.")
    summary.append(
        f"Calls: Accelerator 2025 decided ({len(apps_25)} applications, {call_25.places} places, "
        f"{len(proposal_25.by_outcome('reserve'))} on the reserve list, one place declined and taken from it); "
        f"Accelerator 2026 in evaluation ({len(apps_26)} applications, 3 evaluators each, "
        f"{submitted_26} of {assignments_26} evaluations submitted, {len(divergent_26)} divergent "
        f"(1 moderated), 1 conflict declared, {len(flagged_26)} flagged ineligible: {flagged_names}); "
        f"Accelerator 2027 open until {to_local(call_27.closes_at, TZ):%d %B %Y} ({drafts_27} drafts, "
        f"{len(apps_27) - drafts_27} submitted; applicant1 has a draft); Meet the Buyer 2026 decided "
        f"({len(apps_mtb)} applicants, {len(mtb_selected)} selected)."
    )
    return {
        "programmes": programmes,
        "editions": editions,
        "evaluator_profiles": profiles,
        "calls": {"accelerator_2025": call_25, "accelerator_2026": call_26, "accelerator_2027": call_27,
                  "meet_the_buyer_2026": call_mtb},
        "accelerator_2025": apps_25,
        # The 2025 cohort: the applications whose place was accepted (the promoted reserve included).
        "accelerator_2025_selected": selected_25,
        "accelerator_2026": apps_26,
        "accelerator_2027": apps_27,
        "meet_the_buyer_2026": apps_mtb,
        # The SMEs of the Meet the Buyer event: the selected applications (each with its `.organisation`).
        "mtb_selected": mtb_selected,
        "relocation_obligation": obligation,
    }
