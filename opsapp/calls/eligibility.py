"""Eligibility rules of a call, as pure functions.

Each rule takes what the applicant declared (`Applicant`, plain data) and the rule's
parameters from the call, and answers pass or fail with a reason code and its
parameters; `describe()` turns a result into a sentence in the user's language.
A call switches rules on in `Call.eligibility_rules` ({code: params}). The rules are
checked when the application is submitted; staff confirm or override the outcome.

- `organisation_kind`: the kinds of organisation the call is for;
- `sme`: an SME under Recommendation 2003/361/EC (size class from `accounts.sme`);
- `startup_age`: founded at most `max_years` years before the call closes;
- `seat_in_region`: registered or operational seat in the region, or a signed
  commitment to move it there (the commitment becomes an obligation);
- `s3_domain`: at least one S3 domain among the call's priority domains;
- `business_readiness`: a product on the market and at least `min_clients` paying
  clients (the Accelerator's target: a viable business model already in place);
- `deminimis`: the de minimis aid declared for the last three years leaves room
  under the ceiling (EUR 300,000 over three years, Regulation (EU) 2023/2831).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l

DEMINIMIS_CEILING = Decimal("300000")


@dataclass(frozen=True)
class Applicant:
    kind: str
    size_class: str | None  # micro, small, medium, large; None when it cannot be computed
    size_missing: tuple[str, ...] = ()
    founding_date: date | None = None
    nuts2_region: str | None = None
    s3_codes: frozenset[str] = frozenset()
    relocation_commitment: bool = False
    product_on_market: bool | None = None
    paying_clients: int | None = None
    deminimis_declared: Decimal | None = None


@dataclass(frozen=True)
class CallContext:
    reference_date: date  # the call's closing date: ages are measured there
    home_region: str
    eligible_kinds: frozenset[str] = frozenset()
    s3_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    reason: str  # a reason code, see REASONS
    params: Mapping = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "passed": self.passed, "reason": self.reason,
                "params": {k: str(v) for k, v in self.params.items()}}


def _years_between(start: date, end: date) -> int:
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def organisation_kind(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    kinds = frozenset(params.get("kinds") or ctx.eligible_kinds)
    if not kinds or a.kind in kinds:
        return RuleResult("organisation_kind", True, "kind_ok", {"kind": a.kind})
    return RuleResult("organisation_kind", False, "kind_not_eligible", {"kind": a.kind})


def sme(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    if a.size_class is None:
        return RuleResult("sme", False, "size_unknown", {"missing": ", ".join(a.size_missing)})
    if a.size_class == "large":
        return RuleResult("sme", False, "not_sme", {"size_class": a.size_class})
    return RuleResult("sme", True, "is_sme", {"size_class": a.size_class})


def startup_age(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    max_years = int(params.get("max_years", 5))
    if a.founding_date is None:
        return RuleResult("startup_age", False, "founding_unknown", {"max_years": max_years})
    age = _years_between(a.founding_date, ctx.reference_date)
    if age <= max_years:
        return RuleResult("startup_age", True, "young_enough", {"age": age, "max_years": max_years})
    return RuleResult("startup_age", False, "too_old", {"age": age, "max_years": max_years})


def seat_in_region(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    if (a.nuts2_region or "").upper() == ctx.home_region.upper():
        return RuleResult("seat_in_region", True, "seat_in_region", {"region": ctx.home_region})
    if a.relocation_commitment:
        return RuleResult("seat_in_region", True, "relocation_committed", {"region": ctx.home_region})
    return RuleResult("seat_in_region", False, "seat_elsewhere",
                      {"region": ctx.home_region, "seat": a.nuts2_region or "?"})


def s3_domain(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    if not ctx.s3_codes:
        return RuleResult("s3_domain", True, "s3_open", {})
    shared = sorted(a.s3_codes & ctx.s3_codes)
    if shared:
        return RuleResult("s3_domain", True, "s3_match", {"domains": ", ".join(shared)})
    return RuleResult("s3_domain", False, "s3_no_match", {})


def business_readiness(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    min_clients = int(params.get("min_clients", 1))
    if not a.product_on_market:
        return RuleResult("business_readiness", False, "no_product", {"min_clients": min_clients})
    if (a.paying_clients or 0) < min_clients:
        return RuleResult("business_readiness", False, "too_few_clients",
                          {"clients": a.paying_clients or 0, "min_clients": min_clients})
    return RuleResult("business_readiness", True, "ready", {"clients": a.paying_clients})


def deminimis(a: Applicant, ctx: CallContext, params: Mapping) -> RuleResult:
    ceiling = Decimal(str(params.get("ceiling", DEMINIMIS_CEILING)))
    if a.deminimis_declared is None:
        return RuleResult("deminimis", False, "deminimis_missing", {"ceiling": ceiling})
    if a.deminimis_declared >= ceiling:
        return RuleResult("deminimis", False, "deminimis_exhausted",
                          {"declared": a.deminimis_declared, "ceiling": ceiling})
    return RuleResult("deminimis", True, "deminimis_room",
                      {"declared": a.deminimis_declared, "ceiling": ceiling,
                       "room": ceiling - a.deminimis_declared})


Rule = Callable[[Applicant, CallContext, Mapping], RuleResult]

RULES: dict[str, Rule] = {
    "organisation_kind": organisation_kind,
    "sme": sme,
    "startup_age": startup_age,
    "seat_in_region": seat_in_region,
    "s3_domain": s3_domain,
    "business_readiness": business_readiness,
    "deminimis": deminimis,
}

RULE_LABELS = {
    "organisation_kind": _l("Kind of organisation"),
    "sme": _l("SME (Recommendation 2003/361/EC)"),
    "startup_age": _l("Start-up age"),
    "seat_in_region": _l("Seat in the region"),
    "s3_domain": _l("S3 priority domain"),
    "business_readiness": _l("Business model ready (product on the market, paying clients)"),
    "deminimis": _l("De minimis aid declared"),
}

REASONS = {
    "kind_ok": _l("The organisation is a kind the call is for."),
    "kind_not_eligible": _l("This call is not open to this kind of organisation."),
    "is_sme": _l("The organisation is an SME (size class: %(size_class)s)."),
    "not_sme": _l("The organisation is a large enterprise, counting its partner and linked enterprises."),
    "size_unknown": _l("The size class cannot be computed: missing %(missing)s in the organisation's profile."),
    "founding_unknown": _l("The founding date is missing from the organisation's profile."),
    "young_enough": _l("Founded %(age)s years before the deadline (at most %(max_years)s)."),
    "too_old": _l("Founded %(age)s years before the deadline; the call accepts at most %(max_years)s."),
    "seat_in_region": _l("The registered or operational seat is in the region (%(region)s)."),
    "relocation_committed": _l("Committed to move the seat to the region (%(region)s); this will be followed up."),
    "seat_elsewhere": _l("The seat (%(seat)s) is outside the region (%(region)s) and there is no commitment to move it."),
    "s3_open": _l("The call is open to every S3 domain."),
    "s3_match": _l("Active in the call's priority domains: %(domains)s."),
    "s3_no_match": _l("None of the organisation's S3 domains is among the call's priority domains."),
    "no_product": _l("No product or service on the market yet."),
    "too_few_clients": _l("%(clients)s paying clients; the call asks for at least %(min_clients)s."),
    "ready": _l("A product on the market and %(clients)s paying clients."),
    "deminimis_missing": _l("The de minimis declaration (aid received in the last three years) is missing."),
    "deminimis_exhausted": _l("De minimis aid declared (EUR %(declared)s) leaves no room under the ceiling of EUR %(ceiling)s."),
    "deminimis_room": _l("De minimis aid declared: EUR %(declared)s of EUR %(ceiling)s."),
}


def check(applicant: Applicant, ctx: CallContext, rules: Mapping[str, Mapping]) -> list[RuleResult]:
    """Every rule the call switched on, in a fixed order; unknown codes are ignored."""
    return [RULES[code](applicant, ctx, rules[code] or {}) for code in RULES if code in rules]


def passed(results) -> bool:
    return all((r.passed if isinstance(r, RuleResult) else r["passed"]) for r in results)


def describe(result: RuleResult | Mapping) -> str:
    """The sentence for a result (a RuleResult, or the dict stored on the application)."""
    if isinstance(result, RuleResult):
        reason, params = result.reason, result.params
    else:
        reason, params = result["reason"], result.get("params", {})
    template = REASONS.get(reason)
    if template is None:
        return reason
    return str(template) % {k: str(v) for k, v in params.items()} if params else str(template)
