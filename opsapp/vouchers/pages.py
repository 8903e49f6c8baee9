"""What every vouchers page shares: the refusal of the vouchers' rules, staff or not, rendering;
and, from `core.pages`, the acting user, links, and refusals shown next to their field."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from opsapp.core.pages import Refusal, actor, link_to, path_for, refuse, refuse_action  # noqa: F401
from opsapp.core.roles import Role


class VoucherError(Refusal):
    """A refusal by a rule of the vouchers domain, with a message fit for the user."""


def is_staff(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.STAFF, Role.ADMIN))


def render(template: str, **context):
    return render_template("vouchers/" + template, link_to=link_to, is_staff=is_staff(current_user), **context)
