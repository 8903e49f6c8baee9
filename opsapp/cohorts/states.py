"""The lifecycles of cohorts, completions and milestones, in one place (through
`core.lifecycle.transition`: refused when not allowed here, audited).

A cohort is planned, then running (from its start, by staff or the job), then completed
(staff, once every member's completion is decided). A member's completion is in progress
until staff confirm it completed (a seal is issued) or not completed, or the company
withdraws. A milestone is planned, reported achieved by the company, then confirmed by the
mentor or staff (or sent back to planned); a planned one can be marked missed.
"""

from __future__ import annotations

from opsapp.cohorts.models import CohortStatus, CompletionStatus, MilestoneStatus
from opsapp.core import lifecycle

COHORT_TRANSITIONS = {
    CohortStatus.PLANNED: {CohortStatus.RUNNING},
    CohortStatus.RUNNING: {CohortStatus.COMPLETED},
    CohortStatus.COMPLETED: set(),
}

C = CompletionStatus
COMPLETION_TRANSITIONS = {
    C.IN_PROGRESS: {C.COMPLETED, C.NOT_COMPLETED, C.WITHDRAWN},
    C.COMPLETED: set(),
    C.NOT_COMPLETED: {C.COMPLETED},  # staff may reconsider
    C.WITHDRAWN: set(),
}

M = MilestoneStatus
MILESTONE_TRANSITIONS = {
    M.PLANNED: {M.REPORTED, M.CONFIRMED, M.MISSED},
    M.REPORTED: {M.CONFIRMED, M.PLANNED},
    M.CONFIRMED: set(),
    M.MISSED: {M.PLANNED},
}

lifecycle.register(CohortStatus, COHORT_TRANSITIONS)
lifecycle.register(CompletionStatus, COMPLETION_TRANSITIONS, field="completion")
lifecycle.register(MilestoneStatus, MILESTONE_TRANSITIONS)

TransitionRefused = lifecycle.TransitionRefused
allowed = lifecycle.allowed
transition = lifecycle.transition
