"""Calls and selection: programmes, editions, calls, applications, eligibility, evaluation,
ranking and decisions (PRODUCT.md section 1)."""

from flask import Blueprint

bp = Blueprint("calls", __name__, template_folder="templates")

from opsapp.calls import (  # noqa: E402,F401
    application_views,
    decision_views,
    design_views,
    evaluation_views,
)
