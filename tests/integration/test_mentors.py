"""Mentors through the browser's eyes: the pool and its filters, the invitation (a new account with
the mentor role and the e-mail in the outbox; an existing account gets the role), the mentor's own
profile (capacity, employer, conflicts of interest added and removed), and the matching page
(proposals within capacity and never across a conflict, staff's adjustments refused when
conflicted or full, confirmation telling both sides, confirming again replacing only proposals,
ending a mentorship), and the mentor's home panel. Real database, real e-mails, CSRF on."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import AccountToken, Organisation, OwnershipLink, User
from opsapp.cohorts.models import (
    CohortStatus,
    MentorConflict,
    MentorProfile,
    Mentorship,
    Need,
)
from opsapp.core.models import AuditEntry
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_s3_domains, make_user
from tests.factories_cohorts import make_cohort, make_member, make_mentor, make_themes

# --- helpers -------------------------------------------------------------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_errors(response) -> list[str]:
    return [e.strip() for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', text(response))]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def mails_to(outbox, email: str) -> list:
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def selected_mentors(html: str) -> dict[int, int | None]:
    """The mentor selected for each company in the matching form (member id -> profile id)."""
    chosen = {}
    for member_id, inner in re.findall(r'<select[^>]*name="mentor_(\d+)"[^>]*>(.*?)</select>', html, re.S):
        match = re.search(r'<option selected value="(\d*)"|<option value="(\d*)" selected', inner)
        value = (match.group(1) or match.group(2)) if match else ""
        chosen[int(member_id)] = int(value) if value else None
    return chosen


def options_of(html: str, member_id: int) -> set[int]:
    inner = re.search(rf'<select[^>]*name="mentor_{member_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return {int(v) for v in re.findall(r'value="(\d+)"', inner)}


@dataclass
class World:
    cohort_id: int
    members: dict[str, int]
    mentors: dict[str, int]  # profile ids
    orgs: dict[str, int]


@pytest.fixture
def world(app) -> World:
    """A running cohort of three companies with their needs, and four mentors:

    - Anna (finance, capacity 1) works for Alfa: conflicted with Alfa;
    - Bruno (finance and marketing, capacity 1) declared a conflict with Beta's holding, which holds
      Beta (an ownership link): conflicted with Beta;
    - Carla (marketing, capacity 2), Dario (HR, capacity 1, speaks German only).
    """
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        finance, marketing, hr = make_themes()
        cohort = make_cohort(CohortStatus.RUNNING, name="Accelerator 2027 cohort")
        members, orgs = {}, {}
        for name, needs in (("Alfa", {finance: 3, marketing: 1}), ("Beta", {finance: 2, marketing: 3}),
                            ("Gamma", {finance: 1, hr: 3})):
            owner = make_user(f"{name.lower()}@example.eu", roles=[Role.APPLICANT], full_name=f"{name} Owner",
                              locale="it")
            org = make_organisation(kind="startup", owner=owner, legal_name=f"{name} S.r.l.")
            member = make_member(cohort, user=owner, organisation=org)
            for theme, level in needs.items():
                db.session.add(Need(member_id=member.id, theme_id=theme.id, level=level))
            members[name], orgs[name] = member.id, org.id
        holding = make_organisation(kind="investor", legal_name="Beta Holding S.p.A.")
        db.session.add(OwnershipLink(organisation_id=orgs["Beta"], enterprise_name=holding.legal_name,
                                     enterprise_vat=holding.vat_number, share_percent=60, direction="holds"))
        mentors = {}
        spec = {"Anna": ([finance], 1, ["it", "en"]), "Bruno": ([finance, marketing], 1, ["it"]),
                "Carla": ([marketing], 2, ["it", "en"]), "Dario": ([hr], 1, ["de"])}
        for name, (themes, capacity, languages) in spec.items():
            user = make_user(f"{name.lower()}@example.eu", roles=[Role.MENTOR], full_name=f"{name} Mentore")
            mentors[name] = make_mentor(user, themes=themes, capacity=capacity, languages=languages).id
        db.session.get(MentorProfile, mentors["Anna"]).organisation_id = orgs["Alfa"]
        db.session.add(MentorConflict(mentor_id=mentors["Bruno"], organisation_id=holding.id, reason="Shareholder"))
        db.session.commit()
        return World(cohort.id, members, mentors, orgs)


@pytest.fixture
def staff(app, world):
    return client_of(app, "staff@example.eu")


# --- the pool and the invitation ---------------------------------------------------------------------------


def test_the_pool_with_load_and_filters(app, world, staff):
    page = text(staff.get("/mentors"))
    assert "4 mentors" in page and "Anna Mentore" in page and "Alfa S.r.l." in page  # Anna's employer
    with app.app_context():
        marketing = make_themes()[1].id
    filtered = text(staff.get(f"/mentors?theme={marketing}"))
    assert "2 mentors" in filtered and "Carla Mentore" in filtered and "Anna Mentore" not in filtered
    assert "1 mentor" in text(staff.get("/mentors?language=de"))
    assert "4 mentors" in text(staff.get("/mentors?theme=nonsense&room=bogus"))
    assert client_of(app, "anna@example.eu").get("/mentors").status_code == 403


def test_staff_invite_a_new_mentor_who_gets_an_account_and_the_email(app, world, staff, outbox):
    with app.app_context():
        ict = next(d.id for d in make_s3_domains() if d.code == "ict")
        finance = make_themes()[0].id
        db.session.commit()
    r = post(staff, "/mentors/new", {"full_name": "Elena Esperta", "email": " Elena@Example.EU ", "locale": "it",
                                     "theme_ids": [str(finance)], "s3_domain_ids": [str(ict)],
                                     "languages": ["it", "en"], "capacity": "4"}, follow_redirects=True)
    assert "Elena Esperta is invited" in text(r), field_errors(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "elena@example.eu"))
        assert user.roles == {Role.MENTOR} and user.password_hash is None and user.locale == "it"
        profile = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))
        assert profile.capacity == 4 and [t.id for t in profile.themes] == [finance]
        assert [d.code for d in profile.s3_domains] == ["ict"] and profile.languages == ["en", "it"]
        assert count(AccountToken, AccountToken.user_id == user.id, AccountToken.purpose == "invitation") == 1
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"user.created", "user.invited", "mentor_profiles.added"} <= actions
    [mail] = mails_to(outbox, "elena@example.eu")
    assert "/password/reset/" in body(mail)


def test_inviting_an_existing_account_adds_the_role_and_twice_is_refused(app, world, staff, outbox):
    r = post(staff, "/mentors/new", {"full_name": "Alfa Owner", "email": "alfa@example.eu", "languages": ["it"],
                                     "capacity": "2"}, follow_redirects=True)
    assert "they are now a mentor" in text(r), field_errors(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "alfa@example.eu"))
        assert user.roles == {Role.APPLICANT, Role.MENTOR} and user.password_hash is not None
    [mail] = mails_to(outbox, "alfa@example.eu")
    assert "/mentor/profile" in body(mail)
    r = post(staff, "/mentors/new", {"full_name": "Anna", "email": "anna@example.eu", "languages": ["it"],
                                     "capacity": "2"})
    assert r.status_code == 200 and any("already in the pool of mentors" in e for e in field_errors(r))
    r = post(staff, "/mentors/new", {"full_name": "Nobody", "email": "nobody@example.eu", "languages": ["it"],
                                     "capacity": "51"})
    assert r.status_code == 200 and field_errors(r) and 'value="nobody@example.eu"' in text(r)
    with app.app_context():
        assert count(User, User.email == "nobody@example.eu") == 0


# --- the mentor's own profile -------------------------------------------------------------------------------


def test_the_mentor_keeps_their_profile_and_declares_conflicts(app, world):
    client = client_of(app, "carla@example.eu")
    assert "My mentor profile" in text(client.get("/"))
    path = "/mentor/profile"
    page = text(client.get(path))
    assert "Conflicts of interest" in page and "None declared." in page
    with app.app_context():
        themes = [str(t.id) for t in make_themes()]
        gamma_vat = db.session.get(Organisation, world.orgs["Gamma"]).vat_number
    r = post(client, path, {"action": "profile", "theme_ids": themes, "languages": ["it"], "capacity": "60"})
    assert r.status_code == 200 and "Enter a number from 0 to 50." in field_errors(r)
    r = post(client, path, {"action": "profile", "theme_ids": themes, "languages": ["it"], "capacity": "5",
                            "employer_vat": "IT99999999999"})
    assert r.status_code == 200 and any("No organisation with this VAT number" in e for e in field_errors(r))
    r = post(client, path, {"action": "profile", "theme_ids": themes, "languages": ["it", "fr"], "capacity": "5",
                            "availability": "Tuesday afternoons"}, follow_redirects=True)
    assert "The mentor profile is saved." in text(r)
    with app.app_context():
        profile = db.session.get(MentorProfile, world.mentors["Carla"])
        assert profile.capacity == 5 and profile.languages == ["it", "fr"] and len(profile.themes) == 3
        assert profile.availability == "Tuesday afternoons" and profile.active

    r = post(client, path, {"action": "conflict_add", "vat": gamma_vat, "reason": ""})
    assert r.status_code == 200 and "Say briefly why there is a conflict of interest." in field_errors(r)
    r = post(client, path, {"action": "conflict_add", "vat": gamma_vat.replace("IT", "IT "),
                            "reason": "My brother runs it"}, follow_redirects=True)
    assert "The conflict of interest with Gamma S.r.l. is declared" in text(r)
    with app.app_context():
        assert count(MentorConflict, MentorConflict.mentor_id == world.mentors["Carla"]) == 1
    r = post(client, path, {"action": "conflict_add", "vat": gamma_vat, "reason": "Again"})
    assert any("declared already" in e for e in field_errors(r))
    r = post(client, path, {"action": "conflict_remove", "organisation_id": str(world.orgs["Gamma"])},
             follow_redirects=True)
    assert "The conflict of interest is removed." in text(r)
    with app.app_context():
        assert count(MentorConflict, MentorConflict.mentor_id == world.mentors["Carla"]) == 0
    # Staff edit any profile; an applicant has no mentor profile page.
    assert client_of(app, "alfa@example.eu").get(path).status_code == 403
    assert client.get(f"/mentors/{world.mentors['Anna']}/edit").status_code == 403


def test_staff_edit_a_mentor_and_take_them_out_of_the_pool(app, world, staff, outbox):
    path = f"/mentors/{world.mentors['Dario']}/edit"
    assert "Dario Mentore" in text(staff.get(path))
    r = post(staff, path, {"action": "profile", "languages": ["de", "en"], "capacity": "2"}, follow_redirects=True)
    assert "The mentor profile is saved." in text(r)
    with app.app_context():
        profile = db.session.get(MentorProfile, world.mentors["Dario"])
        assert profile.active is False and profile.capacity == 2  # the box was not ticked
    assert [m for m in mails_to(outbox, "dario@example.eu") if "profile was updated" in m["Subject"]]
    assert staff.get("/mentors/999/edit").status_code == 404


# --- matching ------------------------------------------------------------------------------------------------------


def _expected_world_proposal(world: World) -> dict[int, int | None]:
    # Alfa: Anna is conflicted (employer); Bruno (finance 3 + marketing 1 + language) fits best.
    # Beta: Bruno is conflicted (declared with Beta's holding); Carla (marketing 3) fits.
    # Gamma: Dario covers HR but speaks only German (fit 0); Anna, free of Alfa, covers finance.
    return {world.members["Alfa"]: world.mentors["Bruno"], world.members["Beta"]: world.mentors["Carla"],
            world.members["Gamma"]: world.mentors["Anna"]}


def test_the_proposal_respects_capacity_and_conflicts(app, world, staff):
    page = text(staff.get(f"/cohorts/{world.cohort_id}/matching"))
    assert selected_mentors(page) == _expected_world_proposal(world)
    assert world.mentors["Anna"] not in options_of(page, world.members["Alfa"])
    assert world.mentors["Bruno"] not in options_of(page, world.members["Beta"])
    assert "No mentorship confirmed yet." in page and "Fit" in page


def test_confirming_notifies_both_sides_and_confirming_again_replaces_only_proposals(app, world, staff, outbox):
    path = f"/cohorts/{world.cohort_id}/matching"
    alfa, beta, gamma = (world.members[n] for n in ("Alfa", "Beta", "Gamma"))
    # A conflicted choice is refused, nothing is saved, what was chosen stays.
    r = post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Anna"]),
                           f"mentor_{beta}": str(world.mentors["Carla"]), f"mentor_{gamma}": ""})
    assert r.status_code == 200 and any("conflict of interest" in e for e in field_errors(r))
    with app.app_context():
        assert count(Mentorship) == 0
    # Beyond a mentor's capacity: refused.
    r = post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Bruno"]),
                           f"mentor_{beta}": str(world.mentors["Carla"]), f"mentor_{gamma}": str(world.mentors["Bruno"])})
    assert r.status_code == 200 and any("no place left" in e for e in field_errors(r))
    with app.app_context():
        assert count(Mentorship) == 0

    # Save a proposal without telling anyone, then confirm only two of the three.
    r = post(staff, path, {"action": "save", f"mentor_{alfa}": str(world.mentors["Bruno"]),
                           f"mentor_{beta}": str(world.mentors["Carla"]), f"mentor_{gamma}": str(world.mentors["Carla"])},
             follow_redirects=True)
    assert "3 proposals are saved" in text(r)
    assert not mails_to(outbox, "bruno@example.eu")
    r = post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Bruno"]),
                           f"mentor_{beta}": str(world.mentors["Carla"]), f"mentor_{gamma}": ""},
             follow_redirects=True)
    assert "2 mentorships are confirmed" in text(r)
    with app.app_context():
        rows = {(m.member_id, m.mentor_id): m for m in db.session.scalars(select(Mentorship))}
        assert set(rows) == {(alfa, world.mentors["Bruno"]), (beta, world.mentors["Carla"])}
        assert all(m.confirmed_at is not None and m.confirmed_by_id is not None for m in rows.values())
        assert "cohorts.mentors_confirmed" in set(db.session.scalars(select(AuditEntry.action)))
    [to_bruno] = mails_to(outbox, "bruno@example.eu")
    assert "Alfa S.r.l." in body(to_bruno)
    [to_alfa] = [m for m in mails_to(outbox, "alfa@example.eu") if "mentor" in m["Subject"].lower()]
    assert "Bruno Mentore" in body(to_alfa) and "bruno@example.eu" in body(to_alfa)
    assert [m for m in mails_to(outbox, "beta@example.eu") if "Carla Mentore" in body(m)]

    # Gamma is still without a mentor; confirming it now leaves the confirmed ones alone.
    page = text(staff.get(path))
    assert set(selected_mentors(page)) == {gamma}
    assert "Confirmed mentorships" in page and "Bruno Mentore" in page
    r = post(staff, path, {"action": "confirm", f"mentor_{gamma}": str(world.mentors["Carla"])},
             follow_redirects=True)
    assert "1 mentorship is confirmed" in text(r)
    with app.app_context():
        assert count(Mentorship, Mentorship.confirmed_at.is_not(None), Mentorship.ended_at.is_(None)) == 3
    # Carla is now full (2 of 2): the pool says so.
    assert "2 of 2" in text(staff.get("/mentors"))


def test_ending_a_mentorship_tells_both_and_frees_the_place(app, world, staff, outbox):
    path = f"/cohorts/{world.cohort_id}/matching"
    alfa = world.members["Alfa"]
    r = post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Bruno"])}, follow_redirects=True)
    assert "1 mentorship is confirmed" in text(r)
    with app.app_context():
        mentorship_id = db.session.scalar(select(Mentorship.id))
    r = post(staff, path, {"action": "end", "mentorship_id": str(mentorship_id)}, follow_redirects=True)
    assert "is ended; both were told" in text(r)
    with app.app_context():
        assert db.session.get(Mentorship, mentorship_id).ended_at is not None
    assert [m for m in mails_to(outbox, "bruno@example.eu") if "ended" in m["Subject"]]
    # Alfa's people read Italian: the notice comes in their language.
    assert [m for m in mails_to(outbox, "alfa@example.eu") if "Mentoring concluso" in m["Subject"]]
    page = text(staff.get(path))
    assert alfa in selected_mentors(page)
    # The same pair can be confirmed again (the row is reused).
    r = post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Bruno"])}, follow_redirects=True)
    assert "1 mentorship is confirmed" in text(r)
    with app.app_context():
        assert db.session.get(Mentorship, mentorship_id).ended_at is None


def test_a_declared_conflict_drops_a_saved_proposal(app, world, staff):
    path = f"/cohorts/{world.cohort_id}/matching"
    gamma = world.members["Gamma"]
    post(staff, path, {"action": "save", f"mentor_{gamma}": str(world.mentors["Carla"])})
    with app.app_context():
        assert count(Mentorship) == 1
        vat = db.session.get(Organisation, world.orgs["Gamma"]).vat_number
    carla = client_of(app, "carla@example.eu")
    r = post(carla, "/mentor/profile", {"action": "conflict_add", "vat": vat, "reason": "Former employer"},
             follow_redirects=True)
    assert "is declared" in text(r)
    with app.app_context():
        assert count(Mentorship) == 0
    page = text(staff.get(path))
    assert world.mentors["Carla"] not in options_of(page, gamma)


def test_the_mentor_sees_their_companies_and_nothing_else(app, world, staff):
    path = f"/cohorts/{world.cohort_id}/matching"
    alfa, beta = world.members["Alfa"], world.members["Beta"]
    post(staff, path, {"action": "confirm", f"mentor_{alfa}": str(world.mentors["Bruno"])})
    bruno = client_of(app, "bruno@example.eu")
    home = text(bruno.get("/"))
    assert "Your companies" in home and "Alfa S.r.l." in home and "Entrepreneurial finance (high)" in home
    assert bruno.get(f"/cohorts/{world.cohort_id}/members/{alfa}").status_code == 200
    assert bruno.get(f"/cohorts/{world.cohort_id}/members/{beta}").status_code == 404
    page = text(bruno.get(f"/cohorts/{world.cohort_id}"))
    assert "Alfa S.r.l." in page and "Beta S.r.l." not in page
    assert bruno.get(path).status_code == 403
    assert "Your companies" not in text(client_of(app, "carla@example.eu").get("/"))
    # The company sees its mentor and how to reach them.
    member_page = text(client_of(app, "alfa@example.eu").get(f"/cohorts/{world.cohort_id}/members/{alfa}"))
    assert "Bruno Mentore" in member_page and "bruno@example.eu" in member_page


def test_a_mentor_without_a_profile_creates_it_on_their_page(app, world):
    with app.app_context():
        make_user("fresh@example.eu", roles=[Role.MENTOR], full_name="Fresh Mentore")
        db.session.commit()
    client = client_of(app, "fresh@example.eu")
    page = text(client.get("/mentor/profile"))
    assert "Tell the programme staff what you coach" in page
    r = post(client, "/mentor/profile", {"action": "conflict_add", "vat": "IT00000000000", "reason": "Shares"})
    assert r.status_code == 200 and "Save your profile first" in text(r)
    r = post(client, "/mentor/profile", {"action": "profile", "languages": ["en"], "capacity": "2"},
             follow_redirects=True)
    assert "The mentor profile is saved." in text(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "fresh@example.eu"))
        profile = db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))
        assert profile.capacity == 2 and profile.active and profile.languages == ["en"]
