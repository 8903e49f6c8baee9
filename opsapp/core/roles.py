"""The roles a person can hold. A person may hold several (a mentor can also evaluate)."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    AUTHORITY = "authority"
    EVALUATOR = "evaluator"
    MENTOR = "mentor"
    APPLICANT = "applicant"
    BUYER = "buyer"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.STAFF: _l("Programme staff"),
    Role.AUTHORITY: _l("Regional authority"),
    Role.EVALUATOR: _l("Evaluator"),
    Role.MENTOR: _l("Mentor"),
    Role.APPLICANT: _l("Applicant"),
    Role.BUYER: _l("Buyer"),
}

# Staff-like roles that run the programmes.
PROGRAMME_STAFF = (Role.STAFF, Role.ADMIN)
