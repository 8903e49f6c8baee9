"""What the pages of every domain share: the acting user, links to pages that may not exist,
a page's path from a job (for notifications), and putting a service's refusal next to the
field it concerns.

A domain's services raise a subclass of `Refusal(message, field=None)` when a rule refuses
an action; its views catch it and call `refuse(form, error)` (or `refuse_action(error)` for a
button), which rolls back what the service flushed, so nothing half-saved remains.
"""

from __future__ import annotations

from flask import current_app, flash, has_request_context, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from opsapp.extensions import db


class Refusal(Exception):
    """A refusal by a rule, with a message fit for the user and the field it concerns."""

    def __init__(self, message, field: str | None = None):
        self.message, self.field = message, field
        super().__init__(str(message))


def actor():
    return current_user._get_current_object()


def link_to(endpoint: str, **values) -> str | None:
    """A link to another page, or None when that page does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def path_for(endpoint: str, **values) -> str | None:
    """The path of a page for a link in a notification, in a request or in a job (no request);
    None when that page does not exist."""
    if has_request_context():
        return link_to(endpoint, **values)
    with current_app.test_request_context("/"):
        return link_to(endpoint, **values)


def refuse(form, error: Refusal) -> None:
    """Undo what the service flushed and put its message next to the field it concerns."""
    db.session.rollback()
    message = str(error.message)
    if form is not None and error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
    elif form is not None:
        form.form_errors.append(message)
    else:
        flash(message, "danger")


def refuse_action(error: Refusal) -> None:
    db.session.rollback()
    flash(str(error.message), "danger")
