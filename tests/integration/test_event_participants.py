"""An event's participants through the browser's eyes: the staff list with filters and
export, adding the selected SMEs of a decided call (twice adds nothing), inviting a new
buyer (account, organisation, membership, invitation e-mail) and an existing user,
withdrawing, the profile (completing it registers; deadline; bad codes), availability
(saved; refused when nothing is left), isolation between organisations, and training
sessions with attendance. Real database, real e-mails in the outbox, CSRF on."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import AccountToken, Membership, Organisation, User
from opsapp.calls.models import CallStatus, ProgrammeKind
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import (
    EventPhase,
    MeetingRequest,
    Participant,
    ParticipantStatus,
    RequestStatus,
    Side,
    TrainingAttendance,
    TrainingSession,
)
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import italian_vat, login, make_organisation, make_s3_domains, make_user
from tests.factories_calls import make_application, make_call, make_edition
from tests.factories_events import make_event, make_meeting, make_participant, make_request


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def field_error(response, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', page_text(response))
    return match.group(1).strip() if match else ""


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


@pytest.fixture
def world(app):
    """An event in preparation with a registered SME (Alfa) and a registered buyer (Beta), another
    SME (Gamma) only invited, and staff."""
    with app.app_context():
        make_s3_domains()
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        event = make_event(phase=EventPhase.PREPARATION, registration_deadline=utcnow() + timedelta(days=5))
        alfa_user = make_user("alfa@example.eu", roles=[Role.APPLICANT], full_name="Alfa Owner")
        alfa = make_participant(event, Side.SME, user=alfa_user,
                                organisation=make_organisation(owner=alfa_user, legal_name="Alfa Sensori S.r.l."))
        beta_user = make_user("beta@example.eu", roles=[Role.BUYER], full_name="Beta Buyer")
        beta = make_participant(event, Side.BUYER, user=beta_user, outside_region=True,
                                organisation=make_organisation(kind="corporate_buyer", owner=beta_user,
                                                               legal_name="Beta Acquisti S.p.A."))
        gamma_user = make_user("gamma@example.eu", roles=[Role.APPLICANT], full_name="Gamma Owner")
        gamma = make_participant(event, Side.SME, user=gamma_user, status=ParticipantStatus.INVITED.value,
                                 headline=None, offer=None, countries=[], languages=[],
                                 organisation=make_organisation(owner=gamma_user, legal_name="Gamma Tessile S.r.l."))
        gamma.registered_at = None
        db.session.commit()
        return {"event": event.id, "alfa": alfa.id, "beta": beta.id, "gamma": gamma.id,
                "slots": [s.id for s in event.slots]}


@pytest.fixture
def staff_client(app, world):
    return client_of(app, "staff@example.eu")


# --- the list ------------------------------------------------------------------------------------


def test_staff_list_filters_in_the_url_and_export(app, world, staff_client):
    url = f"/events/{world['event']}/participants"
    html = page_text(staff_client.get(url))
    assert "3 participants" in html
    for name in ("Alfa Sensori", "Beta Acquisti", "Gamma Tessile"):
        assert name in html
    assert "Outside the region" in html and "Incomplete" in html
    buyers = page_text(staff_client.get(url + "?side=buyer"))
    assert "1 participant" in buyers and "Alfa Sensori" not in buyers
    outside = page_text(staff_client.get(url + "?outside=yes&status=registered"))
    assert "Beta Acquisti" in outside and "Gamma" not in outside
    assert staff_client.get(url + "?side=bogus").status_code == 200
    r = staff_client.get(url + "?export=csv&side=sme")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Participant", "Side", "Organisation"]  # translated headers, as every export
    assert sorted(row[2] for row in rows[1:]) == ["Alfa Sensori S.r.l.", "Gamma Tessile S.r.l."]
    r = staff_client.get(url + "?export=xlsx")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    with app.app_context():
        assert count(AuditEntry, AuditEntry.action == "events.participants_exported") == 2


def test_the_export_gives_times_in_the_events_zone(app, world, staff_client):
    """Review fix: registration and check-in times were exported in UTC, unlike every page."""
    from datetime import UTC, datetime

    with app.app_context():
        alfa = db.session.get(Participant, world["alfa"])
        alfa.registered_at = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)  # 09:30 in Rome (CET)
        alfa.checked_in_at = datetime(2027, 7, 1, 6, 45, tzinfo=UTC)  # 08:45 in Rome (CEST)
        db.session.commit()
    r = staff_client.get(f"/events/{world['event']}/participants?export=csv&side=sme")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    [row] = [row for row in rows if row["Organisation"] == "Alfa Sensori S.r.l."]
    assert row["Registered"] == "2027-01-15 09:30:00" and row["Checked in"] == "2027-07-01 08:45:00"


def test_participants_cannot_open_the_staff_list(app, world):
    client = client_of(app, "alfa@example.eu")
    url = f"/events/{world['event']}/participants"
    assert client.get(url).status_code == 403
    # Nor use its actions, each its own endpoint.
    token = csrf_from(page_text(client.get("/")))
    for action, data in (("/add-selected", {}), ("/invite", invitation()),
                         (f"/{world['beta']}/withdraw", {"reason": "Not theirs to say"})):
        assert client.post(url + action, data={"csrf_token": token, **data}).status_code == 403
    with app.app_context():
        assert db.session.get(Participant, world["beta"]).status == "registered"


def test_withdrawing_a_participant_of_another_event_answers_404(app, world, staff_client):
    with app.app_context():
        other = make_participant(make_event(phase=EventPhase.PREPARATION), Side.SME)
        db.session.commit()
        other_id = other.id
    url = f"/events/{world['event']}/participants"
    r = post(staff_client, f"{url}/{other_id}/withdraw", {"reason": "Wrong event"}, page=url)
    assert r.status_code == 404
    with app.app_context():
        assert db.session.get(Participant, other_id).status == "registered"


# --- from the call --------------------------------------------------------------------------------


def test_adding_the_selected_smes_of_a_decided_call_twice_adds_them_once(app, world, staff_client, outbox):
    with app.app_context():
        edition = make_edition(2030, kind=ProgrammeKind.MEET_THE_BUYER)
        call = make_call(CallStatus.DECIDED, edition=edition, opens_in=timedelta(days=-60),
                         closes_in=timedelta(days=-30), title="Meet the Buyer call 2030")
        cases = {"accepted": ("selected", "accepted"), "no_offer": ("selected", None),
                 "offered": ("selected", "offered"), "declined": ("selected", "declined"),
                 "rejected": ("rejected", None)}
        emails = {}
        for tag, (outcome, place) in cases.items():
            owner = make_user(f"{tag}@example.eu", roles=[Role.APPLICANT])
            org = make_organisation(owner=owner, legal_name=f"{tag.title()} S.r.l.")
            make_application(call, org, by=owner, outcome=outcome, place_status=place)
            emails[tag] = owner.email
        from opsapp.events.models import Event

        event = db.session.get(Event, world["event"])
        event.call_id, event.edition_id = call.id, edition.id
        # One of the selected is already in the event (invited by hand): it is skipped.
        already = make_user("already@example.eu", roles=[Role.APPLICANT])
        org = make_organisation(owner=already, legal_name="Already S.r.l.")
        make_application(call, org, by=already, outcome="selected", place_status="accepted")
        make_participant(event, Side.SME, user=already, organisation=org)
        db.session.commit()
    url = f"/events/{world['event']}/participants"
    r = post(staff_client, url + "/add-selected", {}, page=url, follow_redirects=True)
    assert "2 selected SMEs are added" in page_text(r)
    r = post(staff_client, url + "/add-selected", {}, page=url, follow_redirects=True)
    assert "nobody was added" in page_text(r)
    with app.app_context():
        added = list(db.session.scalars(select(Participant).where(Participant.application_id.is_not(None),
                                                                  Participant.event_id == world["event"])))
        names = sorted(p.organisation.legal_name for p in added)
        assert names == ["Accepted S.r.l.", "No_Offer S.r.l."]
        assert all(p.status == "invited" and p.side == "sme" and p.contact is not None for p in added)
        assert count(AuditEntry, AuditEntry.action == "events.participants_from_call") == 1
    assert len(mails_to(outbox, emails["accepted"])) == 1 and len(mails_to(outbox, emails["no_offer"])) == 1
    for tag in ("offered", "declined", "rejected"):
        assert mails_to(outbox, emails[tag]) == []
    assert "selected through the call" in body(mails_to(outbox, emails["accepted"])[0])


# --- invitations ------------------------------------------------------------------------------------


def invitation(**changes) -> dict:
    """The invitation form's fields (prefixed "invite-" in the page) with some changed."""
    data = {"side": "buyer", "full_name": "Marta Compratrice", "email": "marta@buyer.example",
            "legal_name": "Compratori Lombardi S.p.A.", "country": "IT", "vat_number": italian_vat(),
            "nuts2_region": "ITC4", "kind": "corporate_buyer", "outside_region": "auto", "locale": "it"}
    data.update(changes)
    return {f"invite-{k}": v for k, v in data.items()}


def invite(client, world, data, **kwargs):
    url = f"/events/{world['event']}/participants"
    return post(client, url + "/invite", data, page=url, **kwargs)


def test_inviting_a_new_buyer_creates_the_account_organisation_membership_and_sends_the_invitation(
        app, world, staff_client, outbox):
    data = invitation()
    vat_number = data["invite-vat_number"]
    r = invite(staff_client, world, data, follow_redirects=True)
    assert "received an e-mail to choose their password" in page_text(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "marta@buyer.example"))
        assert user.roles == {Role.BUYER} and user.password_hash is None and user.locale == "it"
        org = db.session.scalar(select(Organisation).where(Organisation.vat_number == vat_number))
        assert org.kind == "corporate_buyer" and org.nuts2_region == "ITC4"
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert membership.organisation_id == org.id and membership.role == "owner"
        participant = db.session.scalar(select(Participant).where(Participant.organisation_id == org.id))
        assert participant.side == "buyer" and participant.status == "invited" and participant.contact_id == user.id
        assert participant.outside_region is True  # Lombardia is not Piemonte
        assert count(AccountToken, AccountToken.user_id == user.id, AccountToken.purpose == "invitation") == 1
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"user.created", "user.invited", "organisation.created", "organisation.member_added",
                "event_participants.invited", "events.participant_invited"} <= actions
    [mail] = mails_to(outbox, "marta@buyer.example")
    text = body(mail)
    assert "/reset-password/" in text or "reset" in text.lower()
    assert "Compratori Lombardi" in text


def test_inviting_an_existing_user_links_the_account_adds_the_role_and_notifies(app, world, staff_client, outbox):
    with app.app_context():
        person = make_user("paolo@example.eu", roles=[Role.APPLICANT], full_name="Paolo Esistente")
        org = make_organisation(owner=person, legal_name="Esistente S.r.l.")
        vat = org.vat_number
        db.session.commit()
    r = invite(staff_client, world, invitation(full_name="Paolo", email="Paolo@Example.eu", vat_number=vat,
                                               legal_name="", nuts2_region="", kind="corporate_buyer"),
               follow_redirects=True)
    assert "already had an account" in page_text(r)
    with app.app_context():
        person = db.session.scalar(select(User).where(User.email == "paolo@example.eu"))
        assert person.roles == {Role.APPLICANT, Role.BUYER}
        assert count(Membership, Membership.user_id == person.id) == 1  # already a member
        participant = db.session.scalar(select(Participant).join(Organisation)
                                        .where(Organisation.vat_number == vat))
        assert participant.side == "buyer" and participant.outside_region is False  # ITC1, like the region
        assert count(User) == 5  # staff, the three participants and Paolo: nobody new
        assert count(Notification, Notification.user_id == person.id) == 1
        assert count(AuditEntry, AuditEntry.action == "user.roles_changed") == 1
    [mail] = mails_to(outbox, "paolo@example.eu")
    assert "invited" in mail["Subject"]
    # Inviting the same organisation again is refused next to its VAT number.
    r = invite(staff_client, world, invitation(email="paolo@example.eu", vat_number=vat))
    assert r.status_code == 200 and "already takes part" in field_error(r, "invite-vat_number")


@pytest.mark.parametrize("changes, field, words", [
    ({"vat_number": "IT12345678901"}, "vat_number", "VAT number"),
    ({"nuts2_region": "", "country": "IT"}, "outside_region", "not known"),
    ({"kind": "sme"}, "kind", "fits the side"),
    ({"email": "not-an-address"}, "email", "e-mail address"),
    ({"legal_name": ""}, "legal_name", "legal name"),
    ({"nuts2_region": "FR10"}, "nuts2_region", "NUTS-2"),
])
def test_a_bad_invitation_is_shown_next_to_its_field_and_saves_nothing(app, world, staff_client, outbox, changes,
                                                                       field, words):
    with app.app_context():
        users, organisations = count(User), count(Organisation)
    r = invite(staff_client, world, invitation(**changes))
    assert r.status_code == 200
    assert words in field_error(r, f"invite-{field}")
    assert 'value="Marta Compratrice"' in page_text(r)
    with app.app_context():
        assert count(User) == users and count(Organisation) == organisations
        assert count(Participant) == 3
    assert mails_to(outbox, "marta@buyer.example") == []


def test_a_buyer_outside_the_country_is_outside_the_region_without_nuts(app, world, staff_client):
    r = invite(staff_client, world,
               invitation(country="CH", vat_number="CHE123456789", nuts2_region="", email="hans@example.ch"))
    assert r.status_code == 302, page_text(r)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "hans@example.ch"))
        participant = db.session.scalar(select(Participant).where(Participant.contact_id == user.id))
        assert participant.outside_region is True


def test_staff_withdraw_a_participant_with_a_reason_and_its_requests_go(app, world, staff_client, outbox):
    with app.app_context():
        alfa, beta = db.session.get(Participant, world["alfa"]), db.session.get(Participant, world["beta"])
        request = make_request(alfa, beta, status=RequestStatus.PENDING)
        db.session.commit()
        request_id = request.id
    url = f"/events/{world['event']}/participants"
    withdraw = f"{url}/{world['beta']}/withdraw"
    r = post(staff_client, withdraw, {"reason": ""}, page=url, follow_redirects=True)
    assert "Say why" in page_text(r)
    r = post(staff_client, withdraw + "?side=buyer", {"reason": "The buyer cancelled its trip."}, page=url)
    assert r.headers["Location"].endswith(f"{url}?side=buyer")  # back to the list as it was filtered
    r = staff_client.get(r.headers["Location"])
    assert "is withdrawn" in page_text(r)
    with app.app_context():
        assert db.session.get(Participant, world["beta"]).status == "withdrawn"
        assert db.session.get(MeetingRequest, request_id).status == "withdrawn"
    assert "The buyer cancelled its trip." in body(mails_to(outbox, "beta@example.eu")[0])
    assert len(mails_to(outbox, "alfa@example.eu")) == 1  # the counterpart of the dropped request
    # The withdrawn buyer no longer sees the event.
    assert client_of(app, "beta@example.eu").get(f"/events/{world['event']}").status_code == 404


def test_a_participant_with_meetings_placed_cannot_be_withdrawn(app, world, staff_client):
    with app.app_context():
        alfa, beta = db.session.get(Participant, world["alfa"]), db.session.get(Participant, world["beta"])
        make_meeting(make_request(alfa, beta), alfa.event.slots[0])
        db.session.commit()
    url = f"/events/{world['event']}/participants"
    r = post(staff_client, f"{url}/{world['alfa']}/withdraw", {"reason": "No longer interested."}, page=url,
             follow_redirects=True)
    assert "cancel it in the schedule first" in page_text(r)
    with app.app_context():
        assert db.session.get(Participant, world["alfa"]).status == "registered"


# --- the profile ----------------------------------------------------------------------------------


def domain_ids() -> list[int]:
    from opsapp.accounts.models import S3Domain

    return list(db.session.scalars(select(S3Domain.id).order_by(S3Domain.id)))


def test_completing_the_profile_registers_the_participant(app, world, outbox):
    with app.app_context():
        domains = domain_ids()
    client = client_of(app, "gamma@example.eu")
    url = f"/events/{world['event']}/profile"
    assert client.get(url).status_code == 200
    r = post(client, url, {"headline": "Smart textiles", "offer": "", "s3_domain_ids": [str(domains[0])],
                           "countries": "it", "languages": "it"})
    assert r.status_code == 302
    with app.app_context():
        gamma = db.session.get(Participant, world["gamma"])
        assert gamma.status == "invited" and gamma.headline == "Smart textiles"  # saved, not complete yet
    r = post(client, url, {"headline": "Smart textiles", "offer": "Fabrics that sense heat and strain.",
                           "s3_domain_ids": [str(domains[0]), str(domains[1])], "countries": "it, FR de",
                           "languages": "IT, en"}, follow_redirects=True)
    assert "is registered for the event" in page_text(r)
    with app.app_context():
        gamma = db.session.get(Participant, world["gamma"])
        assert gamma.status == "registered" and gamma.registered_at is not None
        assert gamma.countries == ["IT", "FR", "DE"] and gamma.languages == ["it", "en"]
        assert len(gamma.s3_domains) == 2
        assert count(AuditEntry, AuditEntry.action == "event_participants.registered") == 1
    # A registered profile cannot lose its required parts.
    r = post(client, url, {"headline": "", "offer": "x", "s3_domain_ids": [str(domains[0])], "countries": "",
                           "languages": ""})
    assert r.status_code == 200 and field_error(r, "headline")
    assert outbox() == []  # their own changes: no e-mail


def test_bad_codes_are_refused_and_the_typed_text_kept(app, world):
    client = client_of(app, "alfa@example.eu")
    url = f"/events/{world['event']}/profile"
    r = post(client, url, {"headline": "Alfa", "offer": "Sensors", "countries": "IT, XX", "languages": "en"})
    assert r.status_code == 200
    assert "XX" in field_error(r, "countries") and 'value="IT, XX"' in page_text(r)
    r = post(client, url, {"headline": "Alfa", "offer": "Sensors", "countries": "IT", "languages": "english"})
    assert r.status_code == 200 and "language code" in field_error(r, "languages")
    with app.app_context():
        assert db.session.get(Participant, world["alfa"]).countries == ["IT"]


def test_after_the_registration_deadline_only_staff_change_the_profile(app, world, staff_client, outbox):
    with app.app_context():
        from opsapp.events.models import Event

        db.session.get(Event, world["event"]).registration_deadline = utcnow() - timedelta(minutes=1)
        domains = domain_ids()
        db.session.commit()
    client = client_of(app, "gamma@example.eu")
    url = f"/events/{world['event']}/profile"
    assert "only the programme staff" in page_text(client.get(url))
    data = {"headline": "Late", "offer": "Late offer", "s3_domain_ids": [str(domains[0])], "countries": "",
            "languages": ""}
    r = post(client, url, data)
    assert r.status_code == 200 and "registration deadline has passed" in page_text(r)
    with app.app_context():
        assert db.session.get(Participant, world["gamma"]).headline is None
    staff_url = f"{url}?participant={world['gamma']}"
    r = post(staff_client, staff_url, {**data, "max_meetings": "4"})
    assert r.status_code == 302
    with app.app_context():
        gamma = db.session.get(Participant, world["gamma"])
        assert gamma.status == "registered" and gamma.max_meetings == 4
    assert "updated the profile" in body(mails_to(outbox, "gamma@example.eu")[0])


def test_max_meetings_is_for_staff_only(app, world):
    client = client_of(app, "alfa@example.eu")
    url = f"/events/{world['event']}/profile"
    assert "max_meetings" not in page_text(client.get(url))
    with app.app_context():
        domains = domain_ids()
    post(client, url, {"headline": "Alfa", "offer": "Sensors", "s3_domain_ids": [str(domains[0])],
                       "max_meetings": "99", "countries": "", "languages": ""})
    with app.app_context():
        assert db.session.get(Participant, world["alfa"]).max_meetings is None


# --- availability --------------------------------------------------------------------------------------


def test_availability_is_saved_and_refused_when_nothing_is_left(app, world, outbox):
    client = client_of(app, "alfa@example.eu")
    url = f"/events/{world['event']}/availability"
    html = page_text(client.get(url))
    assert html.count('name="available"') == len(world["slots"]) and html.count("checked") == len(world["slots"])
    keep = world["slots"][2:]
    r = post(client, url, {"available": [str(i) for i in keep]}, follow_redirects=True)
    assert f"{len(keep)} slots can hold meetings" in page_text(r)
    with app.app_context():
        assert sorted(s.id for s in db.session.get(Participant, world["alfa"]).unavailable_slots) == world["slots"][:2]
    r = post(client, url, {})
    assert r.status_code == 200 and "Keep at least one slot" in page_text(r)
    assert 'checked' not in page_text(r).split('name="available"', 1)[1].split(">", 1)[0]
    with app.app_context():
        assert len(db.session.get(Participant, world["alfa"]).unavailable_slots) == 2
        assert count(AuditEntry, AuditEntry.action == "event_participants.availability_saved") == 1


def test_availability_closes_for_participants_once_scheduling_starts(app, world, staff_client):
    with app.app_context():
        from opsapp.events.models import Event

        db.session.get(Event, world["event"]).phase = EventPhase.SCHEDULING.value
        db.session.commit()
    client = client_of(app, "alfa@example.eu")
    url = f"/events/{world['event']}/availability"
    r = post(client, url, {"available": [str(world["slots"][0])]})
    assert r.status_code == 200 and "Booking is over" in page_text(r)
    r = post(staff_client, f"{url}?participant={world['alfa']}", {"available": [str(world["slots"][0])]})
    assert r.status_code == 302
    with app.app_context():
        assert len(db.session.get(Participant, world["alfa"]).unavailable_slots) == len(world["slots"]) - 1


def test_a_participant_cannot_open_another_organisations_profile_or_availability(app, world):
    client = client_of(app, "alfa@example.eu")
    event = world["event"]
    for page in ("profile", "availability"):
        assert client.get(f"/events/{event}/{page}?participant={world['beta']}").status_code == 404
        assert client.get(f"/events/{event}/{page}?participant=abc").status_code == 404
        assert client.get(f"/events/{event}/{page}?participant={world['alfa']}").status_code == 200
        token = csrf_from(page_text(client.get(f"/events/{event}/{page}")))
        r = client.post(f"/events/{event}/{page}?participant={world['beta']}",
                        data={"csrf_token": token, "headline": "Hijacked", "available": [str(world["slots"][0])]})
        assert r.status_code == 404
    with app.app_context():
        beta = db.session.get(Participant, world["beta"])
        assert beta.headline != "Hijacked" and beta.unavailable_slots == []
        make_user("outsider@example.eu", roles=[Role.APPLICANT])
        db.session.commit()
    outsider = client_of(app, "outsider@example.eu")
    assert outsider.get(f"/events/{event}/profile").status_code == 404
    assert outsider.get(f"/events/{event}/availability").status_code == 404


# --- training ---------------------------------------------------------------------------------------------


def test_staff_plan_training_smes_see_it_and_staff_take_attendance(app, world, staff_client, outbox):
    url = f"/events/{world['event']}/training"
    r = post(staff_client, url, {"kind": "pitch", "title": "Pitch in five minutes", "starts_at": "2030-05-02T10:00",
                                 "ends_at": "2030-05-02T09:00", "place": "Room 4", "trainer": "Anna"})
    assert r.status_code == 200 and "end after it starts" in field_error(r, "ends_at")
    assert 'value="Pitch in five minutes"' in page_text(r)
    r = post(staff_client, url, {"kind": "pitch", "title": "Pitch in five minutes", "starts_at": "2030-05-02T10:00",
                                 "ends_at": "2030-05-02T12:00", "place": "Room 4", "trainer": "Anna"})
    assert r.status_code == 302
    with app.app_context():
        session = db.session.scalar(select(TrainingSession))
        session_id = session.id
        assert session.starts_at.hour == 8  # 10:00 in Rome, summer time
    assert len(mails_to(outbox, "alfa@example.eu")) == 1 and len(mails_to(outbox, "gamma@example.eu")) == 1
    assert mails_to(outbox, "beta@example.eu") == []  # training is for SMEs
    sme = client_of(app, "alfa@example.eu")
    assert "Pitch in five minutes" in page_text(sme.get(url))
    assert "Pitch in five minutes" in page_text(sme.get(f"/events/{world['event']}"))
    assert post(sme, url, {"kind": "pitch", "title": "Mine", "starts_at": "2030-05-02T10:00",
                           "ends_at": "2030-05-02T12:00"}).status_code == 403
    assert client_of(app, "beta@example.eu").get(url).status_code == 404
    assert sme.get(f"{url}/{session_id}").status_code == 403

    attendance_url = f"{url}/{session_id}"
    html = page_text(staff_client.get(attendance_url))
    assert "Alfa Sensori" in html and "Gamma Tessile" in html and "Beta Acquisti" not in html
    r = post(staff_client, attendance_url, {"present": [str(world["alfa"])]}, follow_redirects=True)
    assert "1 SME attended" in page_text(r)
    with app.app_context():
        rows = {a.participant_id: a for a in db.session.scalars(select(TrainingAttendance))}
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff@example.eu"))
        assert rows[world["alfa"]].attended is True and rows[world["gamma"]].attended is False
        assert all(a.recorded_by_id == staff_id for a in rows.values())
        assert count(AuditEntry, AuditEntry.action == "event_training_sessions.attendance_recorded") == 1
    assert "attended" in page_text(sme.get(url))
    assert staff_client.get(f"{url}/999999").status_code == 404


def test_training_is_planned_only_in_preparation_and_booking(app, world, staff_client):
    with app.app_context():
        from opsapp.events.models import Event

        db.session.get(Event, world["event"]).phase = EventPhase.SCHEDULING.value
        db.session.commit()
    r = post(staff_client, f"/events/{world['event']}/training",
             {"kind": "negotiation", "title": "Late", "starts_at": "2030-05-02T10:00", "ends_at": "2030-05-02T12:00"})
    assert r.status_code == 200
    with app.app_context():
        assert count(TrainingSession) == 0
