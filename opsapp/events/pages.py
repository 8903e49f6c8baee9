"""What every events page shares: loading the event or 404, whose event it is, rendering
(with the names of countries and languages), and file downloads (iCalendar, Word, CSV,
XLSX). The helpers every domain shares (`opsapp.core.pages`: the acting user, links to pages
that may not exist, `path_for` also from a job, putting a refusal next to its field) are
re-exported here, so that events code imports them from one place.

Services raise `EventError(message, field=None)` (a `core.pages.Refusal`) when a rule refuses
an action; views catch it and call `refuse(form, error)` or `refuse_action(error)`, which
roll back what was flushed and show the message (next to the field when one is named).
"""

from __future__ import annotations

from babel import Locale
from flask import Response, abort, render_template
from flask_babel import get_locale
from flask_login import current_user

from opsapp.core import exports
from opsapp.core.pages import Refusal, actor, link_to, path_for, refuse, refuse_action
from opsapp.core.word import DOCX_MIMETYPE
from opsapp.events import permissions
from opsapp.events.models import Event, Participant
from opsapp.extensions import db

__all__ = ["ICS_MIMETYPE", "EventError", "actor", "country_name", "download", "event_or_404", "language_name",
           "link_to", "path_for", "refuse", "refuse_action", "render", "viewable_event"]

ICS_MIMETYPE = "text/calendar; charset=utf-8"
_MIMETYPES = {"ics": ICS_MIMETYPE, "docx": DOCX_MIMETYPE, "xlsx": exports.XLSX_MIME, "csv": "text/csv; charset=utf-8"}


class EventError(Refusal):
    """A refusal by a rule of the events domain, with a message fit for the user."""


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


def country_name(code: str) -> str:
    """An ISO 3166 country code as the country's name in the reader's language ("IT" -> "Italy")."""
    try:
        return Locale.parse(str(get_locale() or "en")).territories.get(code, code)
    except (ValueError, TypeError):
        return code


def language_name(code: str) -> str:
    """An ISO 639-1 code as the language's name in the reader's language ("it" -> "Italian")."""
    try:
        return Locale.parse(str(get_locale() or "en")).languages.get(code, code)
    except (ValueError, TypeError):
        return code


def render(template: str, **context):
    """An events template, with `link_to`, `is_staff` and the names of countries and languages
    (for the profile facts of `marketplace/_macros.html`)."""
    context.setdefault("country_name", country_name)
    context.setdefault("language_name", language_name)
    return render_template("events/" + template, link_to=link_to, is_staff=permissions.is_staff(current_user),
                           **context)


def download(filename: str, content: str | bytes, mimetype: str | None = None) -> Response:
    """A file to save (iCalendar, Word, CSV, XLSX: the type follows the filename's ending), never
    cached: it holds someone's data."""
    mimetype = mimetype or _MIMETYPES.get(filename.rsplit(".", 1)[-1], "application/octet-stream")
    return Response(content, content_type=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
