"""The demo programme: the accounts CONTRACTS.md promises, realistic organisations, the same
data on every load, and the `flask demo` command's guards."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from stdnum.eu import vat as eu_vat
from stdnum.it import iva

from opsapp import demo
from opsapp.accounts import organisations, sme
from opsapp.accounts.models import Membership, Organisation, OwnershipLink, S3Domain, User
from opsapp.demo import accounts as demo_accounts
from opsapp.extensions import db
from tests.factories import login

DOMAIN = "demo.opsapp.eu"
COMPANY_KINDS = ("startup", "sme", "large_company")
BUYER_KINDS = ("corporate_buyer", "public_buyer")
HUB_KINDS = ("innovation_hub", "incubator", "technology_park")


def contract_accounts() -> dict[str, str]:
    """The e-mail and role of every account in CONTRACTS.md's table."""
    accounts = {f"admin@{DOMAIN}": "admin", f"staff@{DOMAIN}": "staff", f"authority@{DOMAIN}": "authority"}
    accounts |= {f"evaluator{n}@{DOMAIN}": "evaluator" for n in range(1, 7)}
    accounts |= {f"mentor{n}@{DOMAIN}": "mentor" for n in range(1, 5)}
    accounts |= {f"applicant{n}@{DOMAIN}": "applicant" for n in range(1, 81)}
    accounts |= {f"buyer{n}@{DOMAIN}": "buyer" for n in range(1, 21)}
    return accounts


def orgs(*kinds: str) -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind.in_(kinds)).order_by(Organisation.id)))


def digest() -> str:
    """A fingerprint of what stage 1 wrote, without row ids, timestamps or password salts."""
    rows: list = [sorted((d.code, d.name_en, d.name_it) for d in db.session.scalars(select(S3Domain)))]
    for o in db.session.scalars(select(Organisation).order_by(Organisation.vat_number)):
        rows.append((
            o.kind, o.legal_name, o.vat_number, o.country, o.nuts2_region, o.address, o.city, o.postcode,
            o.website, o.founding_date, o.nace_code, o.description, o.staff_headcount, o.annual_turnover,
            o.balance_sheet_total, o.public_control, o.size_class, sorted(d.code for d in o.s3_domains),
            [(link.enterprise_name, link.enterprise_vat, link.direction, link.share_percent, link.staff_headcount,
              link.annual_turnover, link.balance_sheet_total) for link in o.ownership_links],
        ))
    for u in db.session.scalars(select(User).order_by(User.email)):
        rows.append((
            u.email, u.full_name, u.locale, u.timezone, sorted(u.roles), u.email_confirmed_at is not None,
            sorted((m.organisation.vat_number, m.role, m.position or "") for m in u.memberships),
        ))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


SHARED_DEMO = True  # the tests read one load of the demo (tests/conftest.py)


def test_summary_says_what_was_loaded(demo_db):
    text = demo_db
    assert "80 companies" in text
    assert "20 buyers" in text
    assert f"admin@{DOMAIN}" in text
    assert demo.PASSWORD in text


def test_counts_of_organisations(demo_db):
    assert db.session.scalar(select(func.count(S3Domain.id))) == 9
    assert {d.code for d in db.session.scalars(select(S3Domain))} == {
        "aerospace", "automotive", "green_chemistry", "mechatronics", "agrifood", "textile",
        "life_sciences", "ict", "energy"}
    companies = orgs(*COMPANY_KINDS)
    buyers = orgs(*BUYER_KINDS)
    assert len(companies) == 80
    assert len(buyers) == 20
    assert len(orgs(*HUB_KINDS)) == 3
    assert len(orgs("investor")) == 5
    assert len(orgs("university")) == 2

    kinds = Counter(c.kind for c in companies)
    assert kinds["startup"] >= 20 and kinds["sme"] >= 30 and 1 <= kinds["large_company"] <= 6
    regions = Counter(c.nuts2_region for c in companies)
    assert regions["ITC1"] > 40  # most in Piemonte
    assert {"ITC4", "ITC3", "ITH5"} <= set(regions)
    assert {c.country for c in companies} >= {"IT", "FR", "DE", "ES", "SI"}
    assert sum(1 for b in buyers if b.nuts2_region != "ITC1") == 8
    assert {b.kind for b in buyers} == set(BUYER_KINDS)


def test_companies_are_plausible(demo_db):
    companies = orgs(*COMPANY_KINDS)
    as_of = demo_accounts.AS_OF
    for c in companies:
        assert 1 <= len(c.s3_domains) <= 2, c.legal_name
        assert c.nace_code and c.description and c.address and c.postcode and c.city
        assert c.staff_headcount is not None and c.annual_turnover is not None and c.balance_sheet_total is not None
        age = as_of - c.founding_date
        if c.kind == "startup":
            assert timedelta(days=365) <= age < timedelta(days=5 * 365), c.legal_name
        else:
            assert age > timedelta(days=5 * 365), c.legal_name
    assert len({c.legal_name for c in companies}) == len(companies)
    assert {c.size_class for c in companies} == {"micro", "small", "medium", "large"}


def test_size_class_follows_the_sme_rule_with_related_enterprises(demo_db):
    links = list(db.session.scalars(select(OwnershipLink)))
    shares = [link.share_percent for link in links]
    assert any(25 <= s <= 50 for s in shares) and any(s > 50 for s in shares)
    for c in orgs(*COMPANY_KINDS):
        own = sme.Figures(c.staff_headcount, c.annual_turnover, c.balance_sheet_total)
        related = [sme.RelatedEnterprise(link.enterprise_name, link.share_percent,
                                         sme.Figures(link.staff_headcount, link.annual_turnover,
                                                     link.balance_sheet_total))
                   for link in c.ownership_links]
        assert c.size_class == sme.classify(own, related).size_class.value, c.legal_name
    # A linked enterprise changes at least one company's class from what its own figures say.
    changed = [c for c in orgs(*COMPANY_KINDS) if c.ownership_links and c.size_class != sme.classify(
        sme.Figures(c.staff_headcount, c.annual_turnover, c.balance_sheet_total)).size_class.value]
    assert changed


def test_every_vat_number_is_valid_for_its_country(demo_db):
    numbers = [(o.country, o.vat_number) for o in db.session.scalars(select(Organisation))]
    numbers += [("IT", link.enterprise_vat) for link in db.session.scalars(select(OwnershipLink))]
    assert len(numbers) == len({n for _, n in numbers})
    for country, number in numbers:
        assert number.startswith(country), number
        assert eu_vat.is_valid(number), number
        if country == "IT":
            assert iva.is_valid(number[2:]), number
        # Stored in the form the organisation forms store, so a duplicate registration is caught.
        assert organisations.registration_number(country, number) == number


def test_every_contract_account_exists_with_its_role(demo_db):
    expected = contract_accounts()
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert set(expected) <= set(users)
    for email, role in expected.items():
        user = users[email]
        assert {str(r) for r in user.roles} == {role}, email
        assert user.email_confirmed_at is not None and user.is_active
        assert user.full_name and "@" not in user.full_name
    assert any(u.locale == "it" for u in users.values())


def test_memberships(demo_db):
    companies = orgs(*COMPANY_KINDS)
    buyers = orgs(*BUYER_KINDS)

    def owned(email: str) -> list[Organisation]:
        user = db.session.scalar(select(User).where(User.email == email))
        return [m.organisation for m in user.memberships if m.role == "owner"]

    for n, company in enumerate(companies, start=1):
        assert owned(f"applicant{n}@{DOMAIN}") == [company]
    for n, buyer in enumerate(buyers, start=1):
        assert owned(f"buyer{n}@{DOMAIN}") == [buyer]

    def member_kinds(email: str) -> set[str]:
        user = db.session.scalar(select(User).where(User.email == email))
        return {m.organisation.kind for m in user.memberships}

    assert member_kinds(f"staff@{DOMAIN}") == {"innovation_hub"}
    evaluators_at_universities = [n for n in range(1, 7) if "university" in member_kinds(f"evaluator{n}@{DOMAIN}")]
    assert len(evaluators_at_universities) >= 2
    assert any("investor" in member_kinds(f"mentor{n}@{DOMAIN}") for n in range(1, 5))
    owners = Counter(m.organisation_id for m in db.session.scalars(select(Membership).where(Membership.role == "owner")))
    assert all(count == 1 for count in owners.values())


def test_every_contract_account_signs_in_with_the_demo_password(app, loaded):
    homes_seen: set[str] = set()
    for email, role in contract_accounts().items():
        client = app.test_client()
        response = login(client, email, demo.PASSWORD)
        assert response.status_code == 302, email
        assert "/login" not in response.headers["Location"], email
        if role not in homes_seen:  # one home page per role is enough to show the sign-in holds
            homes_seen.add(role)
            assert client.get("/").status_code == 200, email
    wrong = login(app.test_client(), f"admin@{DOMAIN}", "not-the-demo-password")
    assert wrong.status_code == 200


def test_two_loads_write_the_same_data(app):
    with app.app_context():
        demo.load(reset=True)
        first = digest()
        db.session.remove()
    with app.app_context():
        demo.load(reset=True)
        second = digest()
        assert db.session.scalar(select(func.count(Organisation.id))) == 110
        db.session.remove()
    assert first == second


def test_demo_command_loads_refuses_and_skips(app, empty_database):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "80 companies" in result.output
    with app.app_context():
        before = digest()
        users = db.session.scalar(select(func.count(User.id)))

    refused = runner.invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "already has data" in refused.output and "--reset" in refused.output

    skipped = runner.invoke(args=["demo", "--if-empty"])
    assert skipped.exit_code == 0
    assert "not loaded" in skipped.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users

    reset = runner.invoke(args=["demo", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert demo.PASSWORD in reset.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users
        assert digest() == before
