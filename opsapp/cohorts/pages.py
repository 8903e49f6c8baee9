"""What every cohorts page shares: the refusal of the cohorts' rules, rendering; and, from
`core.pages`, the acting user, links, and refusals shown next to their field."""

from __future__ import annotations

from flask import render_template
from flask_babel import format_decimal
from flask_login import current_user

from opsapp.core.pages import Refusal, actor, link_to, path_for, refuse, refuse_action  # noqa: F401
from opsapp.core.roles import Role


class CohortError(Refusal):
    """A refusal by a rule of the cohorts domain, with a message fit for the user."""


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def number(value) -> str:
    """Hours with at most two decimals, in the user's language (6, 7.5, 12.25; 7,5 in Italian)."""
    return format_decimal(value, format="#,##0.##")


def render(template: str, **context):
    context.setdefault("number", number)
    return render_template("cohorts/" + template, link_to=link_to, is_staff=is_staff(current_user), **context)
