"""The completion criteria of a cohort, as a pure rule: does a company meet them now?

A cohort sets three minimums (`Cohort.min_hours`, `min_sessions`, `min_milestones`): hours of
coaching and mentoring attended, sessions attended, milestones achieved (confirmed). A company
meets the criteria when each figure reaches its target; a target of 0 asks for nothing and is
always met. `assess()` answers for one company, with each criterion's figure, target and
whether it is met, so the progress board and the completion page can say why.

No database, no request: the caller hands in the figures and the criteria.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

HOURS = "hours"
SESSIONS = "sessions"
MILESTONES = "milestones"
KEYS = (HOURS, SESSIONS, MILESTONES)


@dataclass(frozen=True)
class Criteria:
    min_hours: Decimal = Decimal(0)
    min_sessions: int = 0
    min_milestones: int = 0

    @classmethod
    def of(cls, cohort) -> Criteria:
        """The criteria of a cohort (anything with the three attributes)."""
        return cls(Decimal(cohort.min_hours or 0), int(cohort.min_sessions or 0), int(cohort.min_milestones or 0))


@dataclass(frozen=True)
class Check:
    """One criterion: the company's figure, the target, and whether the figure reaches it."""

    key: str
    figure: Decimal | int
    target: Decimal | int

    @property
    def met(self) -> bool:
        return self.figure >= self.target

    @property
    def required(self) -> bool:
        return self.target > 0

    @property
    def missing(self) -> Decimal | int:
        """How much is still missing (0 when met)."""
        return max(self.target - self.figure, 0)


@dataclass(frozen=True)
class Assessment:
    checks: tuple[Check, ...]

    @property
    def met(self) -> bool:
        return all(check.met for check in self.checks)

    @property
    def unmet(self) -> list[Check]:
        return [check for check in self.checks if not check.met]

    def __getitem__(self, key: str) -> Check:
        return next(check for check in self.checks if check.key == key)


def assess(hours: Decimal | int | float | None, sessions: int | None, milestones: int | None,
           criteria: Criteria) -> Assessment:
    """Whether a company with these figures meets the criteria now, criterion by criterion."""
    hours_figure = Decimal(str(hours or 0)).quantize(Decimal("0.01"))
    return Assessment((
        Check(HOURS, hours_figure, Decimal(criteria.min_hours)),
        Check(SESSIONS, int(sessions or 0), int(criteria.min_sessions)),
        Check(MILESTONES, int(milestones or 0), int(criteria.min_milestones)),
    ))
