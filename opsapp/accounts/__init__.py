"""Accounts: people, roles, sign-in, and the organisations they belong to."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from opsapp.accounts import admin_views, organisation_views, views  # noqa: E402,F401
