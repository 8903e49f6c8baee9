"""opsapp: operations of regional innovation programmes.

`create_app()` builds the application: configuration from the environment,
extensions, one blueprint per domain, the command line, error pages and the
security headers every response carries.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, g, has_request_context, render_template, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from config import config_class, instance_secret_key
from opsapp.extensions import babel, csrf, db, limiter, login_manager, migrate

BLUEPRINTS = (
    "opsapp.core:bp",
    "opsapp.accounts:bp",
    "opsapp.calls:bp",
    "opsapp.cohorts:bp",
    "opsapp.events.blueprint:bp",
    "opsapp.vouchers:bp",
    "opsapp.kpi:bp",
)


def create_app(config: str | type | None = None, **overrides) -> Flask:
    cfg = config if isinstance(config, type) else config_class(config)
    instance = overrides.get("INSTANCE_PATH", cfg.INSTANCE_PATH)
    app = Flask(__name__, instance_path=str(Path(instance).resolve()))
    app.config.from_object(cfg)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production")
        app.config["SECRET_KEY"] = instance_secret_key()
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_error_pages(app)
    _register_template_helpers(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    import opsapp.core.database  # noqa: F401  (SQLite pragmas)
    import opsapp.core.mail  # noqa: F401  (e-mail after commit)
    from opsapp import models  # noqa: F401  (every table, for Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session record does this job

    from opsapp.accounts import sessions

    login_manager.user_loader(sessions.load)


def _select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # jobs and the CLI: force_locale() decides
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _select_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return "Europe/Rome"


def _register_blueprints(app: Flask) -> None:
    from importlib import import_module

    for spec in BLUEPRINTS:
        module, attr = spec.split(":")
        app.register_blueprint(getattr(import_module(module), attr))


def _register_request_hooks(app: Flask) -> None:
    from opsapp.core import audit
    from opsapp.core.permissions import check_access

    @app.before_request
    def _deny_by_default():
        if request.endpoint is None:
            return None  # 404 follows
        if request.endpoint == "static":
            return None
        view = app.view_functions.get(request.endpoint)

        def on_denied():
            audit.record("access.denied", object_type="route", object_id=request.endpoint,
                         method=request.method, path=request.path[:300])
            db.session.commit()

        check_access(view, on_denied)
        from opsapp.accounts.second_factor import enforce_second_factor

        return enforce_second_factor()

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user and current_user.is_authenticated:
            h.setdefault("Cache-Control", "no-store")
        return response


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: (_l("Bad request"), _l("The request could not be understood. Go back, check what you typed and try again.")),
        403: (_l("Access denied"), _l("You do not have permission to see this page. If you think you should, ask the programme staff.")),
        404: (_l("Page not found"), _l("The page you asked for does not exist or has been moved.")),
        405: (_l("Not allowed"), _l("This page cannot be used that way.")),
        413: (_l("File too large"), _l("The file or form you sent is larger than allowed. Choose a smaller file.")),
        429: (_l("Too many attempts"), _l("Too many attempts in a short time. Wait a few minutes and try again.")),
        500: (_l("Something went wrong"), _l("An unexpected error happened and nothing was saved. Try again; if it happens again, tell the programme staff.")),
    }

    def render(code: int, detail: str | None = None):
        db.session.rollback()
        title, text = messages.get(code, messages[500])
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
            return {"error": str(title), "detail": detail or str(text)}, code
        return render_template("error.html", code=code, title=title, text=detail or text), code

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render(400, str(_l("The form had expired or was not sent by this site. Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code in messages:
            return render(error.code)
        return error

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return render(500)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    from flask_babel import format_date, format_datetime

    from opsapp.core import navigation
    from opsapp.core.money import format_money
    from opsapp.core.notifications import unread_count

    @app.template_filter("money")
    def _money(amount):
        return format_money(amount, str(get_locale() or "en"))

    @app.template_filter("datetime")
    def _datetime(value, fmt="medium"):
        return format_datetime(value, fmt) if value else ""

    @app.template_filter("in_zone")
    def _in_zone(value, tz=None):
        """A UTC moment in a zone (an event's or a call's): "Tue 10 March 2027, 09:20 CET"."""
        from opsapp.core.timeutil import format_in_zone

        return format_in_zone(value, tz, str(get_locale() or "en")) if value else ""

    @app.template_filter("date")
    def _date(value, fmt="medium"):
        return format_date(value, fmt) if value else ""

    @app.context_processor
    def _layout_context():
        if not has_request_context():  # e-mails rendered by jobs and the CLI
            return {"nav_entries": [], "unread_notifications": 0, "current_locale": str(get_locale() or "en")}
        unread = 0
        if current_user.is_authenticated:
            if "unread" not in g:
                g.unread = unread_count(current_user.id)
            unread = g.unread
        return {
            "nav_entries": navigation.entries_for(current_user),
            "unread_notifications": unread,
            "current_locale": str(get_locale() or "en"),
        }


def _register_cli(app: Flask) -> None:
    from opsapp.cli import register

    register(app)
