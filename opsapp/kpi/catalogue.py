"""The indicator catalogue (PRODUCT.md section 5): the eleven indicators of the two programmes
and the ERDF 2021-2027 common indicators they report upwards to, as code.

An indicator can have several measures (ACC-1 counts both the companies admitted and those
completing; MTB-4 counts contracts and sums their value): a `Measure` is what carries a
value, a unit and a target per edition, and its key is `<indicator code>.<measure>`.
Every name and definition goes through gettext, so the catalogue reads in both languages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

ACCELERATOR = "accelerator"
MEET_THE_BUYER = "meet_the_buyer"
PROGRAMMES = (ACCELERATOR, MEET_THE_BUYER)
SIZE_CLASSES = ("micro", "small", "medium", "large")
MIN_GROUP = 3  # groups of fewer companies are not shown to the authority


class Unit(enum.StrEnum):
    COMPANIES = "companies"
    EVENTS = "events"
    CONTRACTS = "contracts"
    PARTNERSHIPS = "partnerships"
    EUR = "eur"
    PERCENT = "percent"  # a rate, e.g. compound annual growth, as a percentage
    FTE = "fte"


UNIT_LABELS = {
    Unit.COMPANIES: _l("companies"),
    Unit.EVENTS: _l("events"),
    Unit.CONTRACTS: _l("contracts"),
    Unit.PARTNERSHIPS: _l("partnerships"),
    Unit.EUR: _l("EUR"),
    Unit.PERCENT: _l("%"),
    Unit.FTE: _l("FTE"),
}


def unit_label(unit: Unit, count: float | None = None) -> str:
    """The unit after a number, singular for exactly one ("1 event", "3 events")."""
    n = 1 if count == 1 else 2
    if unit is Unit.COMPANIES:
        return ngettext("company", "companies", n)
    if unit is Unit.EVENTS:
        return ngettext("event", "events", n)
    if unit is Unit.CONTRACTS:
        return ngettext("contract", "contracts", n)
    if unit is Unit.PARTNERSHIPS:
        return ngettext("partnership", "partnerships", n)
    return str(UNIT_LABELS[unit])


class Source(enum.StrEnum):
    COHORTS = "cohorts"
    EVENTS = "events"
    CONTRACTS = "contracts"
    VOUCHERS = "vouchers"
    SURVEYS = "surveys"  # baseline + follow-up surveys: the figure carries a response rate


SOURCE_LABELS = {
    Source.COHORTS: _l("Cohorts"),
    Source.EVENTS: _l("Events"),
    Source.CONTRACTS: _l("Meeting outcomes and contracts"),
    Source.VOUCHERS: _l("Vouchers"),
    Source.SURVEYS: _l("Baseline and follow-up surveys"),
}


@dataclass(frozen=True)
class Indicator:
    code: str
    programme: str | None  # None: an ERDF common indicator, computed for either programme
    name: object
    definition: object
    erdf: tuple[str, ...] = ()  # the ERDF common indicators this one reports to


@dataclass(frozen=True)
class Measure:
    key: str  # "ACC-1.admitted"
    indicator: str  # "ACC-1"
    name: object
    unit: Unit
    source: Source
    aggregation: object  # how the value is formed, in words

    @property
    def survey_based(self) -> bool:
        return self.source is Source.SURVEYS


INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    Indicator("ACC-1", ACCELERATOR, _l("Start-ups and SMEs admitted to the Accelerator, and completing it"),
              _l("Distinct enterprises that joined a cohort of the edition, and those whose completion "
                 "staff confirmed."), ("RCO01", "RCO04")),
    Indicator("ACC-2", ACCELERATOR, _l("Growth of sales, investment and exports of participants"),
              _l("Compound annual growth from the baseline year to the follow-up year, of the summed figures "
                 "of the companies that answered the follow-up survey."), ("RCR19",)),
    Indicator("ACC-3", ACCELERATOR, _l("SMEs growing beyond the local and national market"),
              _l("Participants reporting at least one new market entered outside the country in a "
                 "follow-up survey."), ()),
    Indicator("ACC-4", ACCELERATOR, _l("SMEs securing additional funding, public or private"),
              _l("Participants with an investment recorded after an investor introduction or funding "
                 "reported in a follow-up survey; and the amount."), ("RCR02",)),
    Indicator("ACC-5", ACCELERATOR, _l("Partnerships and collaborations with corporates"),
              _l("Partnerships with corporates reported in follow-up surveys, plus supply contracts "
                 "signed with buyers at Meet the Buyer events."), ()),
    Indicator("ACC-6", ACCELERATOR, _l("High-skill jobs created"),
              _l("High-skill employees (FTE) in the latest follow-up year minus the baseline, summed over "
                 "the companies that answered."), ("RCR01",)),
    Indicator("MTB-1", MEET_THE_BUYER, _l("Matchmaking events organised"),
              _l("Meet the Buyer events of the edition whose last day has passed."), ()),
    Indicator("MTB-2", MEET_THE_BUYER, _l("SMEs involved"),
              _l("Distinct SMEs that took part in an event of the edition."), ("RCO01", "RCO04")),
    Indicator("MTB-3", MEET_THE_BUYER, _l("Corporates from outside the region targeted and involved"),
              _l("Distinct buyers from outside the region invited to an event, and those that held at "
                 "least one meeting."), ()),
    Indicator("MTB-4", MEET_THE_BUYER, _l("Supply contracts signed"),
              _l("Supply contracts confirmed by staff plus contracts with buyers met that companies "
                 "reported in follow-up surveys; and their value."), ()),
    Indicator("MTB-5", MEET_THE_BUYER, _l("Change in turnover and export volume of participating SMEs"),
              _l("Change from the baseline year to the follow-up year of the summed turnover and export "
                 "turnover of the SMEs that answered."), ("RCR19",)),
    Indicator("RCO01", None, _l("Enterprises supported"),
              _l("ERDF common output indicator: distinct enterprises receiving support, by size class."), ()),
    Indicator("RCO02", None, _l("Enterprises supported by grants"),
              _l("ERDF common output indicator: distinct enterprises granted a voucher."), ()),
    Indicator("RCO04", None, _l("Enterprises with non-financial support"),
              _l("ERDF common output indicator: distinct enterprises coached in a cohort or taking part "
                 "in an event."), ()),
    Indicator("RCO05", None, _l("New enterprises supported"),
              _l("ERDF common output indicator: supported enterprises founded less than three years "
                 "before the support began."), ()),
    Indicator("RCR01", None, _l("Jobs created in supported entities"),
              _l("ERDF common result indicator: employees (annual FTE) gained from the baseline to the "
                 "latest follow-up year, summed over companies that answered (losses count as zero)."), ()),
    Indicator("RCR02", None, _l("Private investments matching public support"),
              _l("ERDF common result indicator: private funding raised by supported enterprises after "
                 "the support (investments recorded and private funding reported)."), ()),
    Indicator("RCR19", None, _l("Enterprises with higher turnover"),
              _l("ERDF common result indicator: companies whose turnover in the latest follow-up year is "
                 "higher than at the baseline."), ()),
)}

_AGG_DISTINCT = _l("distinct enterprises, each counted once by VAT or registration number")
_AGG_CAGR = _l("compound annual growth of the summed figures, baseline to follow-up year, respondents only")
_AGG_CHANGE = _l("relative change of the summed figures, baseline to follow-up year, respondents only")
_AGG_SUM = _l("sum")
_AGG_SURVEY_COUNT = _l("distinct respondents meeting the condition")

MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("ACC-1.admitted", "ACC-1", _l("Admitted"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("ACC-1.completed", "ACC-1", _l("Completing"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("ACC-2.sales", "ACC-2", _l("Sales growth"), Unit.PERCENT, Source.SURVEYS, _AGG_CAGR),
    Measure("ACC-2.investment", "ACC-2", _l("Investment growth"), Unit.PERCENT, Source.SURVEYS, _AGG_CAGR),
    Measure("ACC-2.exports", "ACC-2", _l("Export growth"), Unit.PERCENT, Source.SURVEYS, _AGG_CAGR),
    Measure("ACC-3.companies", "ACC-3", _l("SMEs in new markets abroad"), Unit.COMPANIES, Source.SURVEYS,
            _AGG_SURVEY_COUNT),
    Measure("ACC-4.companies", "ACC-4", _l("SMEs with additional funding"), Unit.COMPANIES, Source.SURVEYS,
            _AGG_SURVEY_COUNT),
    Measure("ACC-4.amount", "ACC-4", _l("Funding raised"), Unit.EUR, Source.SURVEYS, _AGG_SUM),
    Measure("ACC-5.partnerships", "ACC-5", _l("Partnerships with corporates"), Unit.PARTNERSHIPS,
            Source.SURVEYS, _AGG_SUM),
    Measure("ACC-6.jobs", "ACC-6", _l("High-skill jobs created"), Unit.FTE, Source.SURVEYS, _AGG_SUM),
    Measure("MTB-1.events", "MTB-1", _l("Events organised"), Unit.EVENTS, Source.EVENTS, _l("count")),
    Measure("MTB-2.smes", "MTB-2", _l("SMEs involved"), Unit.COMPANIES, Source.EVENTS, _AGG_DISTINCT),
    Measure("MTB-3.targeted", "MTB-3", _l("Outside corporates targeted"), Unit.COMPANIES, Source.EVENTS,
            _AGG_DISTINCT),
    Measure("MTB-3.involved", "MTB-3", _l("Outside corporates involved"), Unit.COMPANIES, Source.EVENTS,
            _AGG_DISTINCT),
    Measure("MTB-4.contracts", "MTB-4", _l("Contracts signed"), Unit.CONTRACTS, Source.CONTRACTS, _AGG_SUM),
    Measure("MTB-4.value", "MTB-4", _l("Value of contracts"), Unit.EUR, Source.CONTRACTS, _AGG_SUM),
    Measure("MTB-5.turnover", "MTB-5", _l("Change in turnover"), Unit.PERCENT, Source.SURVEYS, _AGG_CHANGE),
    Measure("MTB-5.exports", "MTB-5", _l("Change in export volume"), Unit.PERCENT, Source.SURVEYS, _AGG_CHANGE),
    Measure("RCO01.total", "RCO01", _l("All sizes"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCO01.micro", "RCO01", _l("Micro enterprise"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCO01.small", "RCO01", _l("Small enterprise"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCO01.medium", "RCO01", _l("Medium-sized enterprise"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCO01.large", "RCO01", _l("Large enterprise"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCO02.companies", "RCO02", _l("Supported by grants"), Unit.COMPANIES, Source.VOUCHERS,
            _AGG_DISTINCT),
    Measure("RCO04.companies", "RCO04", _l("Non-financial support"), Unit.COMPANIES, Source.COHORTS,
            _AGG_DISTINCT),
    Measure("RCO05.companies", "RCO05", _l("New enterprises"), Unit.COMPANIES, Source.COHORTS, _AGG_DISTINCT),
    Measure("RCR01.jobs", "RCR01", _l("Jobs created"), Unit.FTE, Source.SURVEYS, _AGG_SUM),
    Measure("RCR02.private", "RCR02", _l("Private investment"), Unit.EUR, Source.SURVEYS, _AGG_SUM),
    Measure("RCR19.companies", "RCR19", _l("With higher turnover"), Unit.COMPANIES, Source.SURVEYS,
            _AGG_SURVEY_COUNT),
)}


# Measures about events and buyers rather than the programme's companies: a breakdown by the
# companies' S3 domain or size class does not apply to them.
NOT_BY_COMPANY = frozenset({"MTB-1.events", "MTB-3.targeted", "MTB-3.involved"})


def measures_of(programme: str, erdf: bool = False) -> list[Measure]:
    """The measures of a programme's own indicators (in catalogue order), or its ERDF ones."""
    return [m for m in MEASURES.values()
            if (INDICATORS[m.indicator].programme is None) == erdf
            and (erdf or INDICATORS[m.indicator].programme == programme)]
