"""The targets of an edition (`kpi.targets`), through the HTTP client: staff choose a programme
and an edition and see one field per measure of the programme and of its ERDF indicators with
its unit and current target; saving sets the changed ones (audited), an empty field removes a
target; a negative, a text or a too large value is refused next to its field, what was typed
stays and nothing is saved; the authority and the other roles are refused.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from opsapp.calls.models import ProgrammeKind
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.kpi import catalogue
from opsapp.kpi.models import IndicatorTarget
from opsapp.kpi.target_forms import field_name
from tests.conftest import csrf_from
from tests.factories import login, make_user
from tests.factories_calls import make_edition

TARGETS = "/kpi/targets"
PEOPLE = {"staff": Role.STAFF, "admin": Role.ADMIN, "authority": Role.AUTHORITY, "applicant": Role.APPLICANT,
          "buyer": Role.BUYER, "evaluator": Role.EVALUATOR, "mentor": Role.MENTOR}


@pytest.fixture
def editions(app) -> dict[str, int]:
    with app.app_context():
        for name, role in PEOPLE.items():
            make_user(f"{name}@example.eu", roles=(role,), full_name=f"{name.title()} Person", locale="en")
        found = {"acc2025": make_edition(2025, ProgrammeKind.ACCELERATOR).id,
                 "acc2026": make_edition(2026, ProgrammeKind.ACCELERATOR).id,
                 "mtb2025": make_edition(2025, ProgrammeKind.MEET_THE_BUYER).id}
        db.session.add(IndicatorTarget(measure="ACC-1.admitted", edition_id=found["acc2025"], target=Decimal("20")))
        db.session.add(IndicatorTarget(measure="ACC-4.amount", edition_id=found["acc2025"],
                                       target=Decimal("250000")))
        db.session.commit()
        return found


def client_of(app, who: str):
    client = app.test_client()
    login(client, f"{who}@example.eu")
    return client


def targets_of(app, edition_id: int) -> dict[str, Decimal]:
    with app.app_context():
        return {t.measure: t.target for t in db.session.scalars(
            select(IndicatorTarget).where(IndicatorTarget.edition_id == edition_id))}


def form_values(html: str) -> dict[str, str]:
    """The target fields of the page and what they hold."""
    return {name: unescape(value) for name, value in
            re.findall(r'<input[^>]*name="(target_[^"]+)"[^>]*value="([^"]*)"', html)}


def post(client, path: str, values: dict[str, str]):
    page = client.get(path).get_data(as_text=True)
    data = form_values(page)
    data.update(values)
    data["csrf_token"] = csrf_from(page)
    return client.post(path, data=data)


def error_of(html: str, measure: str) -> str:
    match = re.search(rf'id="{field_name(measure)}-error">(.*?)</div>', html, re.S)
    return unescape(match.group(1)).strip() if match else ""


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_every_measure_with_its_unit_and_current_target(app, editions, who):
    response = client_of(app, who).get(f"{TARGETS}?programme=accelerator&edition=2025")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    values = form_values(html)
    measures = catalogue.measures_of(catalogue.ACCELERATOR) + catalogue.measures_of(catalogue.ACCELERATOR, erdf=True)
    assert set(values) == {field_name(m.key) for m in measures}
    for measure in measures:
        assert f">{measure.key} {measure.name}" in unescape(html), measure.key
    assert values[field_name("ACC-1.admitted")] == "20"
    assert values[field_name("ACC-4.amount")] == "250000"
    assert values[field_name("ACC-2.sales")] == ""
    text = unescape(html)
    assert "Unit: companies." in text and "Unit: EUR." in text and "Unit: %." in text
    assert "Now: EUR 250,000.00." in text and "Now: no target yet." in text
    assert not any("MTB-" in name for name in values)
    assert '<option value="2025" selected>' in html and '<option value="2026">' in html


def test_the_latest_edition_is_chosen_by_default_and_unknown_choices_are_ignored(app, editions):
    client = client_of(app, "staff")
    assert "Targets of the 2026 edition" in client.get(TARGETS).get_data(as_text=True)
    page = client.get(f"{TARGETS}?programme=meet_the_buyer").get_data(as_text=True)
    assert "Targets of the 2025 edition" in page and field_name("MTB-1.events") in page
    for query in ("edition=1990", "edition=abc", "programme=bogus", "programme=meet_the_buyer&edition=2026"):
        response = client.get(f"{TARGETS}?{query}")
        assert response.status_code == 200 and "There is no" in unescape(response.get_data(as_text=True))


def test_saving_sets_the_changed_targets_audited_and_empty_clears_one(app, editions):
    client = client_of(app, "staff")
    path = f"{TARGETS}?programme=accelerator&edition=2025"
    response = post(client, path, {field_name("ACC-1.admitted"): "24", field_name("ACC-2.sales"): "12.5",
                                   field_name("ACC-4.amount"): "", field_name("RCR01.jobs"): "7.5"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/kpi/targets?programme=accelerator&edition=2025")
    assert targets_of(app, editions["acc2025"]) == {"ACC-1.admitted": Decimal("24.00"),
                                                    "ACC-2.sales": Decimal("12.50"),
                                                    "RCR01.jobs": Decimal("7.50")}
    assert targets_of(app, editions["acc2026"]) == {}
    page = client.get(path).get_data(as_text=True)
    assert "4 targets of the 2025 edition saved." in page
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "kpi.target_set")).all()
        assert {e.detail["measure"]: e.detail["target"] for e in entries} == {
            "ACC-1.admitted": "24.00", "ACC-2.sales": "12.50", "ACC-4.amount": None, "RCR01.jobs": "7.50"}
    # Sending the same figures again changes nothing and records nothing.
    assert post(client, path, {}).status_code == 302
    assert "Nothing changed" in client.get(path).get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "kpi.target_set")).all()) == 4


def test_the_dashboard_shows_the_new_target(app, editions):
    client = client_of(app, "staff")
    path = f"{TARGETS}?programme=accelerator&edition=2025"
    post(client, path, {field_name("ACC-1.completed"): "15"})
    html = client.get("/kpi/?edition=2025").get_data(as_text=True)
    card = re.search(r'id="kpi-acc-1-completed".*?</article>', html, re.S).group(0)
    assert "Target: 15" in card


def test_italian_readers_type_numbers_their_way(app, editions):
    with app.app_context():
        make_user("staff.it@example.eu", roles=(Role.STAFF,), locale="it")
        db.session.commit()
    client = client_of(app, "staff.it")
    path = f"{TARGETS}?programme=accelerator&edition=2026"
    assert post(client, path, {field_name("ACC-2.sales"): "12,5",
                               field_name("ACC-4.amount"): "1.250.000"}).status_code == 302
    assert targets_of(app, editions["acc2026"]) == {"ACC-2.sales": Decimal("12.50"),
                                                    "ACC-4.amount": Decimal("1250000.00")}
    assert form_values(client.get(path).get_data(as_text=True))[field_name("ACC-2.sales")] == "12,5"


@pytest.mark.parametrize(("measure", "typed", "message"), [
    ("ACC-1.admitted", "-3", "A target cannot be negative."),
    ("ACC-2.sales", "twelve", "Enter a number"),
    ("ACC-4.amount", "99999999999999999", "This target is too large"),
    ("ACC-1.admitted", "2.5", "Enter a whole number of companies."),
    ("ACC-6.jobs", "1.255", "Enter at most two decimals."),
    ("ACC-2.sales", "NaN", "Enter a number"),
])
def test_bad_input_is_refused_next_to_its_field_keeping_what_was_typed(app, editions, measure, typed, message):
    client = client_of(app, "staff")
    path = f"{TARGETS}?programme=accelerator&edition=2025"
    response = post(client, path, {field_name(measure): typed, field_name("ACC-1.completed"): "10"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in error_of(html, measure)
    assert form_values(html)[field_name(measure)] == typed
    assert form_values(html)[field_name("ACC-1.completed")] == "10"
    assert 'id="error-summary"' in html and f'href="#{field_name(measure)}"' in html
    assert targets_of(app, editions["acc2025"]) == {"ACC-1.admitted": Decimal("20.00"),
                                                    "ACC-4.amount": Decimal("250000.00")}
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "kpi.target_set")) is None


def test_a_form_without_its_token_saves_nothing(app, editions):
    client = client_of(app, "staff")
    response = client.post(f"{TARGETS}?programme=accelerator&edition=2025",
                           data={field_name("ACC-1.admitted"): "99"})
    assert response.status_code == 400
    assert targets_of(app, editions["acc2025"])["ACC-1.admitted"] == Decimal("20.00")


@pytest.mark.parametrize("who", ["authority", "applicant", "buyer", "evaluator", "mentor"])
def test_roles_without_access_are_refused(app, editions, who):
    client = client_of(app, who)
    assert client.get(TARGETS).status_code == 403
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(f"{TARGETS}?programme=accelerator&edition=2025",
                           data={"csrf_token": token, field_name("ACC-1.admitted"): "99"})
    assert response.status_code == 403
    assert targets_of(app, editions["acc2025"])["ACC-1.admitted"] == Decimal("20.00")


def test_a_programme_without_editions_says_what_to_do(app):
    with app.app_context():
        make_user("staff@example.eu", roles=(Role.STAFF,), locale="en")
        db.session.commit()
    html = client_of(app, "staff").get(TARGETS).get_data(as_text=True)
    assert "This programme has no edition yet" in html
