"""The read-only JSON API of the indicators and its tokens, through the HTTP client.

- tokens: administrators and authority users create one (its secret shown once, only its
  hash stored), see it listed by name and first characters, revoke it; both audited; staff,
  applicants and buyers are refused, in the pages and in the service;
- the API: no token, a wrong one or a revoked one gets 401 in JSON; a valid token reads the
  programmes and the indicators: every measure of the programme and every ERDF measure, as
  numbers, for one edition or all; with two companies in scope no company is named and the
  small figures are suppressed; a parameter the API cannot use gets 400 in JSON, an unknown
  address 404 in JSON; when the token was last used is recorded at most once a minute;
  calls beyond the limit get 429 in JSON.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from opsapp.accounts.models import User
from opsapp.calls.models import ProgrammeKind
from opsapp.cohorts.models import CohortStatus
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db, limiter
from opsapp.kpi import api, catalogue
from opsapp.kpi.models import ApiToken, FollowUp, IndicatorTarget, Survey
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_edition
from tests.factories_cohorts import make_cohort, make_member

TOKENS_PAGE = "/kpi/api-tokens"
SECRET_RE = re.compile(r'id="api-token">(opsk_[A-Za-z0-9_\-]+)<')
PEOPLE = {"admin": Role.ADMIN, "authority": Role.AUTHORITY, "staff": Role.STAFF, "applicant": Role.APPLICANT,
          "buyer": Role.BUYER}


@pytest.fixture
def people(app):
    with app.app_context():
        for name, role in PEOPLE.items():
            make_user(f"{name}@example.eu", roles=(role,), full_name=f"{name.title()} Person", locale="en")
        db.session.commit()


def client_of(app, name: str):
    client = app.test_client()
    login(client, f"{name}@example.eu")
    return client


def create_token(client, name: str = "Regional data warehouse"):
    token = csrf_from(client.get(TOKENS_PAGE).get_data(as_text=True))
    return client.post(TOKENS_PAGE, data={"csrf_token": token, "name": name})


def new_secret(app, name: str = "Regional data warehouse", by: str = "authority") -> str:
    page = create_token(client_of(app, by), name).get_data(as_text=True)
    return SECRET_RE.search(page).group(1)


def stored_tokens(app) -> list[ApiToken]:
    with app.app_context():
        found = list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))
        for token in found:
            db.session.expunge(token)
        return found


def audit_actions(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        for entry in found:
            db.session.expunge(entry)
        return found


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


# --- tokens ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "authority"])
def test_admin_and_authority_create_a_token_shown_once_and_only_its_hash_is_kept(app, people, who):
    client = client_of(app, who)
    response = create_token(client, "Regional data warehouse")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "it will not be shown again" in page
    secret = SECRET_RE.search(page).group(1)
    assert secret.startswith("opsk_") and len(secret) > 40

    [token] = stored_tokens(app)
    assert token.name == "Regional data warehouse"
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12] and token.revoked_at is None and token.last_used_at is None
    # The secret itself is nowhere in the database: not in the token's row, not in the audit log.
    with app.app_context():
        for table in ("kpi_api_tokens", "audit_entries"):
            rows = db.session.execute(text(f"SELECT * FROM {table}")).all()
            assert rows and all(secret not in str(value) for row in rows for value in row), table
    [entry] = audit_actions(app, "kpi.api_token_created")
    assert entry.object_id == str(token.id) and entry.detail["prefix"] == token.prefix

    listing = client.get(TOKENS_PAGE).get_data(as_text=True)
    assert "Regional data warehouse" in listing and token.prefix in listing
    assert f"{who.title()} Person" in listing and "Never" in listing
    assert secret not in listing, "the secret is shown once only"
    assert "/api/v1/indicators" in listing and "curl" in listing  # the documentation


def test_a_token_needs_a_name_of_at_most_120_characters(app, people):
    client = client_of(app, "admin")
    response = create_token(client, "   ")
    assert response.status_code == 400
    assert "Give the token a name" in response.get_data(as_text=True)
    long_name = "Warehouse " + "x" * 115
    response = create_token(client, long_name)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at most 120 characters" in page and f'value="{long_name}"' in page  # what was typed is kept
    assert stored_tokens(app) == []


def test_revoking_a_token_is_audited_and_refuses_its_later_calls(app, people):
    secret = new_secret(app)
    assert app.test_client().get("/api/v1/programmes", headers=bearer(secret)).status_code == 200
    [token] = stored_tokens(app)
    client = client_of(app, "admin")
    page = client.get(TOKENS_PAGE).get_data(as_text=True)
    assert f"/kpi/api-tokens/{token.id}/revoke" in page
    assert client.post(f"/kpi/api-tokens/{token.id}/revoke").status_code == 400  # no CSRF token
    assert stored_tokens(app)[0].revoked_at is None

    response = client.post(f"/kpi/api-tokens/{token.id}/revoke", data={"csrf_token": csrf_from(page)},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "is revoked" in response.get_data(as_text=True) and "Revoked" in response.get_data(as_text=True)
    assert stored_tokens(app)[0].revoked_at is not None
    [entry] = audit_actions(app, "kpi.api_token_revoked")
    assert entry.object_id == str(token.id)

    answer = app.test_client().get("/api/v1/programmes", headers=bearer(secret))
    assert answer.status_code == 401 and answer.is_json

    # A second revocation changes nothing and says so.
    again = client.post(f"/kpi/api-tokens/{token.id}/revoke", data={"csrf_token": csrf_from(page)},
                        follow_redirects=True)
    assert "already revoked" in again.get_data(as_text=True)
    assert len(audit_actions(app, "kpi.api_token_revoked")) == 1
    assert client.post("/kpi/api-tokens/999999/revoke", data={"csrf_token": csrf_from(page)}).status_code == 404


@pytest.mark.parametrize("who", ["staff", "applicant", "buyer"])
def test_other_roles_cannot_manage_tokens(app, people, who):
    secret = new_secret(app)
    [token] = stored_tokens(app)
    client = client_of(app, who)
    assert client.get(TOKENS_PAGE).status_code == 403
    csrf = csrf_from(client.get("/account").get_data(as_text=True))
    assert client.post(TOKENS_PAGE, data={"csrf_token": csrf, "name": "Mine"}).status_code == 403
    assert client.post(f"/kpi/api-tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 403
    assert [t.name for t in stored_tokens(app)] == ["Regional data warehouse"]
    assert stored_tokens(app)[0].revoked_at is None
    assert app.test_client().get("/api/v1/programmes", headers=bearer(secret)).status_code == 200
    anonymous = app.test_client().get(TOKENS_PAGE)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_service_checks_who_manages_tokens(app, people):
    from werkzeug.exceptions import Forbidden

    with app.app_context():
        staff = db.session.scalar(select(User).filter_by(email="staff@example.eu"))
        authority = db.session.scalar(select(User).filter_by(email="authority@example.eu"))
        with pytest.raises(Forbidden):
            api.create(staff, "Mine")
        token, secret = api.create(authority, "Warehouse")
        with pytest.raises(Forbidden):
            api.revoke(staff, token)
        with pytest.raises(Forbidden):
            api.tokens(staff)
        assert api.authenticate(f"Bearer {secret}") is token
        assert api.authenticate(f"bearer {secret}") is token
        for wrong in (None, "", secret, f"Basic {secret}", "Bearer ", f"Bearer {secret}x", "Bearer " + "a" * 5000):
            assert api.authenticate(wrong) is None, wrong
        db.session.rollback()


# --- the API: authentication -----------------------------------------------------------------------------------------


def assert_unauthorised(response):
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/api/v1/programmes", "/api/v1/indicators?programme=accelerator"])
def test_the_api_refuses_calls_without_a_valid_token(app, people, path):
    secret = new_secret(app)
    anonymous = app.test_client()
    assert_unauthorised(anonymous.get(path))
    assert_unauthorised(anonymous.get(path, headers={"Authorization": f"Basic {secret}"}))
    assert_unauthorised(anonymous.get(path, headers=bearer("opsk_" + "A" * 43)))
    assert_unauthorised(anonymous.get(path, headers=bearer(secret[:-1])))
    # A signed-in session is no substitute for a token.
    assert_unauthorised(client_of(app, "authority").get(path))
    assert anonymous.get(path, headers=bearer(secret)).status_code == 200


def test_when_a_token_was_last_used_is_written_at_most_once_a_minute(app, people):
    secret = new_secret(app)
    client = app.test_client()
    before = utcnow()
    assert client.get("/api/v1/programmes", headers=bearer(secret)).status_code == 200
    first = stored_tokens(app)[0].last_used_at
    assert first is not None and first >= before - timedelta(seconds=1)
    assert client.get("/api/v1/programmes", headers=bearer(secret)).status_code == 200
    assert stored_tokens(app)[0].last_used_at == first
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        token.last_used_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    assert client.get("/api/v1/programmes", headers=bearer(secret)).status_code == 200
    assert stored_tokens(app)[0].last_used_at >= first
    assert "Never" not in client_of(app, "admin").get(TOKENS_PAGE).get_data(as_text=True)


def test_calls_beyond_the_limit_get_429_in_json_per_token(app, people, monkeypatch):
    monkeypatch.setitem(app.config, "KPI_API_LIMIT", "3 per minute")
    first, second = new_secret(app, "First"), new_secret(app, "Second")
    client = app.test_client()
    limiter.reset()
    answers = [client.get("/api/v1/programmes", headers=bearer(first)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].is_json and answers[-1].get_json()["error"]
    # The limit is the token's: the API as a whole counts, another token is not affected.
    assert client.get("/api/v1/indicators?programme=x", headers=bearer(first)).status_code == 429
    assert client.get("/api/v1/programmes", headers=bearer(second)).status_code == 200
    limiter.reset()


# --- the API: the figures --------------------------------------------------------------------------------------------

COMPANIES_2024 = ("Aurora Robotics S.r.l.", "Borealis Foods S.r.l.", "Cirrus Analytics S.r.l.")
COMPANIES_2025 = ("Delta Sensing S.r.l.", "Epsilon Textiles S.r.l.")  # two: below the smallest group shown


@dataclass
class World:
    secret: str
    identifiers: list[str] = field(default_factory=list)  # names and VAT numbers of the companies


def _followed_company(cohort, name: str, ended_on, grown: Decimal) -> list[str]:
    organisation = make_organisation(kind="startup", legal_name=name)
    make_member(cohort, organisation=organisation, completion="completed")
    follow_up = FollowUp(organisation_id=organisation.id, edition_id=cohort.edition_id, group="participant",
                         source="cohort", started_on=cohort.starts_on, ended_on=ended_on,
                         baseline_source="application", baseline_year=ended_on.year - 1,
                         baseline_turnover=Decimal("500000"), baseline_export_turnover=Decimal("100000"),
                         baseline_employees_fte=Decimal("10"), baseline_high_skill_fte=Decimal("3"),
                         baseline_investment_raised=Decimal("0"))
    db.session.add(follow_up)
    db.session.flush()
    db.session.add(Survey(follow_up_id=follow_up.id, wave=12, due_on=ended_on + timedelta(days=365),
                          fiscal_year=ended_on.year, status="answered", answered_at=utcnow(),
                          sales=Decimal("500000") * grown, export_sales=Decimal("150000"),
                          employees_fte=Decimal("12"), high_skill_fte=Decimal("4"),
                          funding_raised=Decimal("80000"), funding_source="private", new_markets=1,
                          corporate_partnerships=1, contracts_signed=0))
    db.session.flush()
    return [name, organisation.vat_number]


@pytest.fixture
def world(app, people) -> World:
    """The Accelerator's 2024 edition followed three companies, its 2025 edition two."""
    with app.app_context():
        today = utcnow().date()
        identifiers = []
        for year, names, ago in ((2024, COMPANIES_2024, 800), (2025, COMPANIES_2025, 450)):
            edition = make_edition(year, ProgrammeKind.ACCELERATOR)
            cohort = make_cohort(CohortStatus.COMPLETED, edition_id=edition.id, name=f"Accelerator {year} cohort",
                                 starts_on=today - timedelta(days=ago + 150), ends_on=today - timedelta(days=ago))
            for n, name in enumerate(names):
                identifiers += _followed_company(cohort, name, cohort.ends_on, Decimal("1.1") + Decimal(n) / 10)
        make_edition(2025, ProgrammeKind.MEET_THE_BUYER)
        authority = db.session.scalar(select(User).filter_by(email="authority@example.eu"))
        db.session.add(IndicatorTarget(measure="ACC-1.admitted", target=Decimal("3"), set_by_id=authority.id,
                                       edition_id=make_edition(2024, ProgrammeKind.ACCELERATOR).id))
        db.session.commit()
    return World(new_secret(app), identifiers)


def read(app, world: World, path: str, **query):
    response = app.test_client().get(path, query_string=query, headers=bearer(world.secret))
    assert response.is_json, response.get_data(as_text=True)[:300]
    return response


def by_measure(rows: list[dict]) -> dict[str, dict]:
    return {row["measure"]: row for row in rows}


def assert_aggregates_only(world: World, response) -> None:
    body = response.get_data(as_text=True)
    leaked = [identifier for identifier in world.identifiers if identifier in body]
    assert not leaked, f"company identifiers in the answer: {leaked}"


def test_the_programmes_with_their_editions(app, world):
    response = read(app, world, "/api/v1/programmes")
    assert response.status_code == 200
    assert response.get_json() == {"programmes": [
        {"code": "accelerator", "name": "Business Accelerator", "editions": [2024, 2025]},
        {"code": "meet_the_buyer", "name": "Meet the Buyer", "editions": [2025]},
    ]}
    assert response.headers["Cache-Control"] == "no-store"


def test_the_indicators_of_a_programme_every_measure_as_numbers(app, world):
    response = read(app, world, "/api/v1/indicators", programme="accelerator")
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"programme", "edition", "generated_at", "indicators", "erdf", "response"}
    assert data["programme"] == "accelerator" and data["edition"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["generated_at"])
    assert [row["measure"] for row in data["indicators"]] == [m.key for m in catalogue.measures_of("accelerator")]
    assert [row["measure"] for row in data["erdf"]] == [m.key for m in catalogue.measures_of("accelerator", True)]
    keys = {"code", "measure", "name", "measure_name", "unit", "value", "target", "companies", "expected",
            "response_rate", "partial", "suppressed", "wave"}
    for row in data["indicators"] + data["erdf"]:
        measure = catalogue.MEASURES[row["measure"]]
        assert set(row) == keys
        assert row["code"] == measure.indicator and row["unit"] == str(measure.unit)
        assert row["name"] == str(catalogue.INDICATORS[measure.indicator].name)
        assert row["measure_name"] == str(measure.name)
        for name in ("value", "target", "response_rate"):
            assert row[name] is None or (isinstance(row[name], int | float) and not isinstance(row[name], bool))
        for name in ("companies", "expected", "wave"):
            assert row[name] is None or type(row[name]) is int
        assert isinstance(row["partial"], bool) and isinstance(row["suppressed"], bool)
        if row["suppressed"]:
            assert row["value"] is None
    admitted = by_measure(data["indicators"])["ACC-1.admitted"]
    assert admitted["value"] == 5 and admitted["companies"] == 5 and not admitted["suppressed"]
    assert by_measure(data["erdf"])["RCR19.companies"]["value"] == 5  # every company sold more
    assert data["response"], "the response per wave"
    for row in data["response"]:
        assert set(row) == {"wave", "group", "due", "answered", "rate"}
    participants_12 = next(r for r in data["response"] if r["wave"] == 12 and r["group"] == "participant")
    assert participants_12["due"] == 5 and participants_12["answered"] == 5 and participants_12["rate"] == 1
    assert_aggregates_only(world, response)


def test_one_edition_and_small_groups_suppressed(app, world):
    response = read(app, world, "/api/v1/indicators", programme="accelerator", edition="2024")
    data = response.get_json()
    assert response.status_code == 200 and data["edition"] == 2024
    admitted = by_measure(data["indicators"])["ACC-1.admitted"]
    assert admitted["value"] == 3 and admitted["target"] == 3 and not admitted["suppressed"]
    assert_aggregates_only(world, response)

    # The 2025 edition followed two companies: every figure resting on them is withheld.
    response = read(app, world, "/api/v1/indicators", programme="accelerator", edition=2025)
    data = response.get_json()
    assert response.status_code == 200 and data["edition"] == 2025
    rows = by_measure(data["indicators"] + data["erdf"])
    for key in ("ACC-1.admitted", "ACC-1.completed", "ACC-2.sales", "ACC-6.jobs", "RCO01.total", "RCR19.companies"):
        assert rows[key]["suppressed"] is True and rows[key]["value"] is None, key
    for row in rows.values():
        if row["suppressed"]:  # neither the value nor the count of companies behind it
            assert row["value"] is None and row["companies"] is None, row["measure"]
        else:
            assert row["companies"] == 0 or row["companies"] >= catalogue.MIN_GROUP or row["unit"] == "events", row
    assert_aggregates_only(world, response)


def test_names_in_italian_with_lang_it(app, world):
    response = read(app, world, "/api/v1/indicators", programme="accelerator", lang="it")
    assert response.status_code == 200
    data = response.get_json()
    with app.test_request_context("/"), force_locale("it"):
        expected = {m.key: (str(catalogue.INDICATORS[m.indicator].name), str(m.name))
                    for m in catalogue.measures_of("accelerator")}
    assert {row["measure"]: (row["name"], row["measure_name"]) for row in data["indicators"]} == expected
    assert_aggregates_only(world, response)
    programmes = read(app, world, "/api/v1/programmes", lang="it")
    assert programmes.status_code == 200 and len(programmes.get_json()["programmes"]) == 2


@pytest.mark.parametrize(("path", "query", "message"), [
    ("/api/v1/indicators", {}, "programme is required"),
    ("/api/v1/indicators", {"programme": "nursery"}, "Unknown programme nursery"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "last"}, "year of an edition"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "2025.0"}, "year of an edition"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "-1"}, "year of an edition"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "２０２５"}, "year of an edition"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "99999999999999999999"}, "year of an edition"),
    ("/api/v1/indicators", {"programme": "accelerator", "edition": "2019"}, "2019 is not an edition of accelerator"),
    ("/api/v1/indicators", {"programme": "meet_the_buyer", "edition": "2024"}, "its editions are 2025"),
    ("/api/v1/indicators", {"programme": "accelerator", "lang": "fr"}, "lang must be one of"),
    ("/api/v1/indicators", {"programme": "accelerator", "year": "2025"}, "Unknown parameter: year"),
    ("/api/v1/programmes", {"lang": "de"}, "lang must be one of"),
    ("/api/v1/programmes", {"programme": "accelerator"}, "Unknown parameter: programme"),
])
def test_parameters_the_api_cannot_use_get_400_in_json(app, world, path, query, message):
    response = read(app, world, path, **query)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_unknown_addresses_and_methods_answer_in_json(app, world):
    client = app.test_client()
    missing = client.get("/api/v1/companies", headers=bearer(world.secret))
    assert missing.status_code == 404 and missing.is_json and missing.get_json()["error"]
    posted = client.post("/api/v1/indicators?programme=accelerator", headers=bearer(world.secret))
    assert 400 <= posted.status_code < 500 and posted.is_json
