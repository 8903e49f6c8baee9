"""The events blueprint and its pages (kept out of the package's `__init__`, see there)."""

from flask import Blueprint

bp = Blueprint("events", __name__, template_folder="templates", url_prefix="/events")

from opsapp.events import (  # noqa: E402,F401
    agenda_views,
    design_views,
    followup_views,
    participant_views,
    request_views,
    schedule_views,
)
