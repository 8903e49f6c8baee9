"""Cross-cutting services and pages: health, home, language, notifications, audit, files, privacy."""

from flask import Blueprint

bp = Blueprint("core", __name__, template_folder="templates")

from opsapp.core import audit_views, privacy_views, views  # noqa: E402,F401
