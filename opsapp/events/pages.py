"""What every events page shares: loading the event or 404, the acting user, links to pages
that may not exist, rendering, and putting a service's refusal next to its field.

Services raise `EventError(message, field=None)` when a rule refuses an action; views catch
it, roll back what was flushed and show the message (next to the field when one is named).
"""

from __future__ import annotations

from flask import abort, flash, render_template, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from opsapp.events import permissions
from opsapp.events.models import Event, Participant
from opsapp.extensions import db


class EventError(Exception):
    """A refusal by a rule of the events domain, with a message fit for the user."""

    def __init__(self, message, field: str | None = None):
        self.message, self.field = message, field
        super().__init__(str(message))


def actor():
    return current_user._get_current_object()


def event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def viewable_event(event_id: int) -> tuple[Event, Participant | None]:
    """The event and the user's participant in it; 404 unless staff or taking part."""
    event = event_or_404(event_id)
    participant = permissions.participant_of(current_user, event)
    if participant is None and not permissions.is_staff(current_user):
        abort(404)
    return event, participant


def link_to(endpoint: str, **values) -> str | None:
    """A link to another page, or None when that page does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def render(template: str, **context):
    return render_template("events/" + template, link_to=link_to, is_staff=permissions.is_staff(current_user),
                           **context)


def refuse(form, error: EventError) -> None:
    """Undo what the service flushed and put its message next to the field it concerns."""
    db.session.rollback()
    message = str(error.message)
    if form is not None and error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
    elif form is not None:
        form.form_errors.append(message)
    else:
        flash(message, "danger")


def refuse_action(error: EventError) -> None:
    db.session.rollback()
    flash(str(error.message), "danger")
