"""The read-only JSON API of the indicators, for the regional authority's own systems, and the
page where administrators and authority users manage the tokens it asks for.

- `kpi.api_tokens` (admin, authority): the tokens, a form to create one (its secret shown
  once, on the page that answers the form), revoke buttons, and how to call the API;
  `kpi.api_token_revoke` (POST).
- `kpi.api_programmes` `GET /api/v1/programmes`: the programmes and their editions;
- `kpi.api_indicators` `GET /api/v1/indicators?programme=...[&edition=...][&lang=it]`: the
  indicators of a programme, its ERDF common indicators and the survey response per wave.

The API has no session and no signed-in user: its routes are public for the page access
check and each one checks the bearer token itself, answering 401 in JSON without one. The
figures are always those computed for the authority (aggregates only, small groups
suppressed), so no company can appear in an answer. Calls are limited per token (per
address without a valid token); every answer, errors included, is JSON.
"""

from __future__ import annotations

import json
import math

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.core import navigation
from opsapp.core.pages import actor, refuse, refuse_action
from opsapp.core.permissions import public, roles_required
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import client_address, db, limiter
from opsapp.kpi import api, bp, catalogue, monitoring
from opsapp.kpi.api_forms import RevokeTokenForm, TokenForm
from opsapp.kpi.models import ApiToken
from opsapp.kpi.results import Monitoring, Scope, Value, WaveResponse

navigation.register(_l("API tokens"), "kpi.api_tokens", list(api.MANAGERS), order=92)

API_LANGUAGES = ("en", "it")
API_PARAMETERS = {"programme", "edition", "lang"}
COUNTED = (catalogue.Unit.COMPANIES, catalogue.Unit.EVENTS, catalogue.Unit.CONTRACTS, catalogue.Unit.PARTNERSHIPS)


# --- the tokens page ------------------------------------------------------------------------------------------------


def _tokens_page(form: TokenForm, status: int = 200):
    return render_template("kpi/api_tokens.html", form=form, tokens=api.tokens(actor()), example=_example()), status


@bp.route("/kpi/api-tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.AUTHORITY)
def api_tokens():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, secret = api.create(actor(), form.name.data)
        except api.ApiTokenError as error:
            refuse(form, error)
        else:
            db.session.commit()
            # The secret is shown on this answer only: it is stored nowhere, not even in the session.
            page = render_template("kpi/api_token_created.html", token=token, secret=secret, example=_example())
            return page, 200, {"Cache-Control": "no-store"}
    return _tokens_page(form, 400 if form.errors else 200)


@bp.route("/kpi/api-tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN, Role.AUTHORITY)
def api_token_revoke(token_id: int):
    token = api.token_of(actor(), token_id)
    form = RevokeTokenForm()
    if form.validate_on_submit():
        try:
            api.revoke(actor(), token)
        except api.ApiTokenError as error:
            refuse_action(error)
        else:
            db.session.commit()
            flash(_("The token %(name)s is revoked: the systems using it can no longer read the API.",
                    name=token.name), "success")
    else:
        flash(_("The form had expired. Send it again."), "danger")
    return redirect(url_for("kpi.api_tokens"))


def _example() -> dict:
    """What the documentation on the tokens page shows: the addresses and a sample answer."""
    sample = {
        "programme": catalogue.ACCELERATOR,
        "edition": 2025,
        "generated_at": "2026-03-02T09:30:00Z",
        "indicators": [_value_json(Value("ACC-1.admitted", 24.0, 24, target=30.0)),
                       _value_json(Value("ACC-2.sales", 11.5, 14, expected=20, target=8.0, wave=12))],
        "erdf": [_value_json(Value("RCR01.jobs", None, 2, expected=20, wave=12, suppressed=True))],
        "response": [_response_json(WaveResponse(12, "participant", 20, 14))],
    }
    return {
        "indicators_url": url_for("kpi.api_indicators", programme=catalogue.ACCELERATOR, edition=2025,
                                  _external=True),
        "sample": json.dumps(sample, indent=2, ensure_ascii=False),
        "limit": _api_limit(),
    }


# --- the API: authentication, limits, errors ------------------------------------------------------------------------


def _api_limit() -> str:
    return current_app.config.get("KPI_API_LIMIT", "120 per minute")


def _caller() -> ApiToken | None:
    """The token of this call, looked up once (the rate limit's key needs it before the view)."""
    if "kpi_api_token" not in g:
        g.kpi_api_token = api.authenticate(request.headers.get("Authorization"))
    return g.kpi_api_token


def _limit_key() -> str:
    token = _caller()
    return f"token:{token.id}" if token is not None else f"address:{client_address()}"


def _answer(body: dict, status: int = 200, **headers):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Authorization"
    response.headers.update(headers)
    return response


def _error(status: int, message, **headers):
    return _answer({"error": str(message)}, status, **headers)


def _unauthorised():
    return _error(401, _("Send a valid API token in the header \"Authorization: Bearer <token>\". Tokens are "
                         "created and revoked on the API tokens page of opsapp."),
                  **{"WWW-Authenticate": 'Bearer realm="opsapp"'})


class BadParameter(Exception):
    """A query parameter the API cannot use; the message says which and why."""


def _language() -> str:
    lang = request.args.get("lang", "en").strip().lower() or "en"
    if lang not in API_LANGUAGES:
        raise BadParameter(_("The parameter lang must be one of: %(languages)s.",
                             languages=", ".join(API_LANGUAGES)))
    return lang


def _known_parameters(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise BadParameter(_("Unknown parameter: %(names)s. The parameters are %(known)s.",
                             names=", ".join(n[:40] for n in unknown), known=", ".join(sorted(allowed))))


def _programme() -> str:
    programme = request.args.get("programme", "").strip()
    if not programme:
        raise BadParameter(_("The parameter programme is required: one of %(codes)s.",
                             codes=", ".join(_programme_codes())))
    if programme not in _programme_codes():
        raise BadParameter(_("Unknown programme %(code)s: the programmes are %(codes)s.",
                             code=programme[:40], codes=", ".join(_programme_codes())))
    return programme


def _edition(programme: str) -> int | None:
    typed = request.args.get("edition", "").strip()
    if not typed:
        return None
    if not (typed.isascii() and typed.isdigit() and len(typed) <= 4):
        raise BadParameter(_("The parameter edition must be the year of an edition, for example 2025."))
    year = int(typed)
    editions = _editions(programme)
    if year not in editions:
        known = ", ".join(str(e) for e in editions) or _("none yet")
        raise BadParameter(_("%(year)s is not an edition of %(code)s: its editions are %(years)s.",
                             year=year, code=programme, years=known))
    return year


# --- the API: reading the monitoring --------------------------------------------------------------------------------


def _programme_codes() -> list[str]:
    return [code for code, _name in monitoring.programmes()]


def _editions(programme: str) -> list[int]:
    return [int(year) for year in monitoring.editions(programme)]


def _number(value) -> float | None:
    """A figure as a JSON number: never a string, never NaN."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value) -> int | None:
    return None if value is None else int(value)


def _figure(value, unit: catalogue.Unit) -> float | int | None:
    """A value or target in its unit: whole numbers for what is counted (companies, events, ...)."""
    number = _number(value)
    if number is not None and unit in COUNTED and number.is_integer():
        return int(number)
    return number


def _value_json(value: Value) -> dict:
    measure = catalogue.MEASURES[value.measure]
    indicator = catalogue.INDICATORS[measure.indicator]
    return {
        "code": indicator.code,
        "measure": value.measure,
        "name": str(indicator.name),
        "measure_name": str(measure.name),
        "unit": str(measure.unit),
        "value": None if value.suppressed else _figure(value.value, measure.unit),
        "target": _figure(value.target, measure.unit),
        "companies": None if value.suppressed else _count(value.companies),
        "expected": _count(value.expected),
        "response_rate": _number(value.response_rate),
        "partial": bool(value.partial),
        "suppressed": bool(value.suppressed),
        "wave": _count(value.wave),
    }


def _response_json(row: WaveResponse) -> dict:
    return {"wave": _count(row.wave), "group": str(row.group), "due": _count(row.due),
            "answered": _count(row.answered), "rate": _number(row.rate)}


def _indicators_json(result: Monitoring, programme: str, edition: int | None) -> dict:
    return {
        "programme": programme,
        "edition": edition,
        "generated_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "indicators": [_value_json(v) for v in result.headline],
        "erdf": [_value_json(v) for v in result.erdf],
        "response": [_response_json(r) for r in result.response],
    }


# --- the API routes -------------------------------------------------------------------------------------------------


@bp.route("/api/v1/programmes")
@public
@limiter.shared_limit(_api_limit, scope="kpi-api", key_func=_limit_key)
def api_programmes():
    if _caller() is None:
        return _unauthorised()
    try:
        lang = _language()
        with force_locale(lang):
            _known_parameters({"lang"})
    except BadParameter as error:
        return _error(400, error)
    with force_locale(lang):
        body = {"programmes": [{"code": code, "name": str(name), "editions": _editions(code)}
                               for code, name in monitoring.programmes()]}
    db.session.commit()  # when the token was last used
    return _answer(body)


@bp.route("/api/v1/indicators")
@public
@limiter.shared_limit(_api_limit, scope="kpi-api", key_func=_limit_key)
def api_indicators():
    if _caller() is None:
        return _unauthorised()
    try:
        lang = _language()
        with force_locale(lang):
            _known_parameters(API_PARAMETERS)
            programme = _programme()
            edition = _edition(programme)
    except BadParameter as error:
        return _error(400, error)
    result = monitoring.compute(Scope(programme=programme, edition=edition), for_authority=True)
    with force_locale(lang):
        body = _indicators_json(result, programme, edition)
    db.session.commit()  # when the token was last used
    return _answer(body)
