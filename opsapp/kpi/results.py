"""What the monitoring computes, as plain data: the scope asked for, each value with the
companies it rests on and its target, the series over the three follow-up years, the
breakdowns, the comparison-group estimate and the response per wave.

`indicators.py` produces a `Monitoring` from the frames of `sources.py`; the dashboard,
the Word report, the exports and the JSON API only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsapp.kpi.catalogue import MEASURES, Measure


@dataclass(frozen=True)
class Scope:
    """What to compute: a programme, and optionally one edition, S3 domain or size class."""

    programme: str  # catalogue.ACCELERATOR or catalogue.MEET_THE_BUYER
    edition: int | None = None  # the edition's year; None: every edition
    s3_domain: str | None = None  # an S3Domain code
    size_class: str | None = None  # micro, small, medium, large


@dataclass(frozen=True)
class Value:
    """One measure's value in a scope.

    `companies` is the number of companies the figure rests on (for a figure from surveys,
    those that answered and have the baseline figure it needs); `expected` is, for a figure
    from surveys, the number whose survey was due (None for counts from records). A figure
    from fewer than `catalogue.MIN_GROUP` companies is `suppressed` (its value None) when
    computed for the authority.
    """

    measure: str  # catalogue key, e.g. "ACC-2.sales"
    value: float | None
    companies: int
    expected: int | None = None
    target: float | None = None
    wave: int | None = None  # months after the programme for a figure from surveys
    suppressed: bool = False

    @property
    def definition(self) -> Measure:
        return MEASURES[self.measure]

    @property
    def response_rate(self) -> float | None:
        if self.expected is None:
            return None
        return self.companies / self.expected if self.expected else 0.0

    @property
    def partial(self) -> bool:
        """The figure rests on part of the companies it should (some surveys unanswered)."""
        return self.expected is not None and self.companies < self.expected

    @property
    def progress(self) -> float | None:
        """The value as a share of the target, when both exist and the target is not zero."""
        if self.value is None or not self.target:
            return None
        return self.value / self.target


@dataclass(frozen=True)
class Breakdown:
    """The headline values of one group of a breakdown (an edition, an S3 domain, a size class)."""

    key: str  # "2025", an S3 code, "micro"
    label: str
    values: list[Value]
    companies: int  # companies in the group (participants followed)
    suppressed: bool = False  # the whole group hidden from the authority


@dataclass(frozen=True)
class Impact:
    """Participants against the comparison group for one metric and wave: the change of the
    summed figure from the baseline in each group, and their difference (percentage points)."""

    metric: str  # "sales", "exports", "jobs"
    wave: int
    participants_change: float | None  # percent
    comparison_change: float | None  # percent
    difference: float | None  # percentage points: participants minus comparison
    participants: int  # respondents with both figures
    participants_expected: int
    comparison: int
    comparison_expected: int
    suppressed: bool = False


@dataclass(frozen=True)
class WaveResponse:
    """How many follow-up surveys of a wave were due and answered, per group."""

    wave: int
    group: str  # models.FollowUpGroup value
    due: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.due if self.due else None


@dataclass
class Monitoring:
    scope: Scope
    for_authority: bool
    headline: list[Value]  # the programme's measures, survey ones at the latest wave with surveys due
    erdf: list[Value]  # the ERDF common indicators' measures
    series: dict[str, list[Value]]  # survey measure key -> its values at 12, 24, 36 months
    by_edition: list[Breakdown]
    by_s3: list[Breakdown]
    by_size: list[Breakdown]
    impact: list[Impact]
    response: list[WaveResponse]
    editions: list[int] = field(default_factory=list)  # the editions with data, oldest first

    def value(self, measure: str) -> Value | None:
        return next((v for v in self.headline + self.erdf if v.measure == measure), None)
