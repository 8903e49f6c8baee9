"""The follow-up through the browser's eyes: rating held meetings (once per side and round,
editable, private to the side), the six-month job (run twice, sends once), supply contracts
(bad dates and values refused with the reason and nothing saved, staff confirm or reject,
both sides told, each side sees only its own), the statistics page and the exports, and the
home panels."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
from sqlalchemy import func, select

from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events import outcomes
from opsapp.events.models import (
    ContractStatus,
    EventPhase,
    Meeting,
    MeetingOutcome,
    MeetingStatus,
    OutcomeFollowUp,
    RequestStatus,
    Side,
    SupplyContract,
)
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_events import make_event, make_meeting, make_participant, make_request


def _participant(event, side, email, name, **fields):
    user = make_user(email, roles=[Role.APPLICANT] if side is Side.SME else [Role.BUYER], full_name=name + " Person")
    organisation = make_organisation(kind="sme" if side is Side.SME else "corporate_buyer", owner=user,
                                     legal_name=name)
    return make_participant(event, side, user=user, organisation=organisation, **fields)


def _event(app, days_ago: int = 10, phase=EventPhase.FOLLOW_UP) -> dict:
    """An event held `days_ago` days ago: Alfa met the buyer (held) and Beta did not (no-show)."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
        first_day = (utcnow() - timedelta(days=days_ago)).date()
        event = make_event(phase=phase, first_day=first_day, agendas_published_at=utcnow() - timedelta(days=30),
                           name="Meet the Buyer 2026")
        alfa = _participant(event, Side.SME, "alfa@example.eu", "Alfa Sensori S.r.l.")
        beta = _participant(event, Side.SME, "beta@example.eu", "Beta Robotica S.r.l.")
        buyer = _participant(event, Side.BUYER, "buyer@example.eu", "Grande Acquirente S.p.A.", outside_region=True)
        other_buyer = _participant(event, Side.BUYER, "other@example.eu", "Ente Pubblico Appalti")
        held = make_meeting(make_request(alfa, buyer), event.slots[0], table=1, status=MeetingStatus.HELD)
        no_show = make_meeting(make_request(beta, buyer), event.slots[1], table=1, status=MeetingStatus.NO_SHOW)
        make_request(alfa, other_buyer, status=RequestStatus.DECLINED)
        db.session.commit()
        return {"event": event.id, "alfa": alfa.id, "beta": beta.id, "buyer": buyer.id, "other_buyer": other_buyer.id,
                "held": held.id, "no_show": no_show.id, "first_day": first_day}


def _post(client, path, data, page=None, **kwargs):
    token = csrf_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- ratings ---------------------------------------------------------------------------------------------


def test_each_side_rates_a_held_meeting_and_may_change_its_rating(app, client):
    ids = _event(app)
    login(client, "alfa@example.eu")
    home = _text(client.get("/"))
    assert "Meetings to rate" in home and "Your meeting with Grande Acquirente S.p.A." in home
    url = f"/events/meetings/{ids['held']}/outcome"
    page = _text(client.get(url))
    assert "How did the meeting go?" in page and "Agreement reached" in page

    response = _post(client, url, {"rating": "follow_up_agreed", "note": "They want a demo in May"})
    assert response.status_code == 302
    response = _post(client, url, {"rating": "negotiation_started", "note": "Demo done"})
    assert response.status_code == 302
    with app.app_context():
        (outcome,) = db.session.scalars(select(MeetingOutcome)).all()
        assert (outcome.round, outcome.rating, outcome.note) == ("after_meeting", "negotiation_started", "Demo done")
        assert outcome.participant_id == ids["alfa"]
        actions = [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        assert actions.count("meeting_outcomes.recorded") == 1 and actions.count("meeting_outcomes.changed") == 1
    assert "Meetings to rate" not in _text(client.get("/"))

    # The buyer rates separately and never sees Alfa's note.
    buyer = app.test_client()
    login(buyer, "buyer@example.eu")
    page = _text(buyer.get(url))
    assert "Demo done" not in page
    _post(buyer, url, {"rating": "no_further_contact"})
    with app.app_context():
        assert _count(MeetingOutcome) == 2
    # Staff see both ratings.
    staff = app.test_client()
    login(staff, "staff@example.eu")
    page = _text(staff.get(url))
    assert "Demo done" in page and "No further contact" in page and "Negotiation started" in page


def test_a_rating_without_a_choice_or_of_a_no_show_is_refused(app, client):
    ids = _event(app)
    login(client, "alfa@example.eu")
    url = f"/events/meetings/{ids['held']}/outcome"
    response = _post(client, url, {"rating": "", "note": "kept"})
    assert response.status_code == 200 and "Choose one of the outcomes." in _text(response)
    assert "kept" in _text(response)
    response = _post(client, url, {"rating": "excellent"})
    assert response.status_code == 200
    beta = app.test_client()
    login(beta, "beta@example.eu")
    no_show_url = f"/events/meetings/{ids['no_show']}/outcome"
    page = _text(beta.get(no_show_url))
    assert "Only a meeting that took place can be rated" in page
    _post(beta, no_show_url, {"rating": "follow_up_agreed"})
    with app.app_context():
        assert _count(MeetingOutcome) == 0


def test_someone_outside_the_meeting_gets_404_on_its_outcome(app, client):
    ids = _event(app)
    login(client, "beta@example.eu")
    url = f"/events/meetings/{ids['held']}/outcome"
    assert client.get(url).status_code == 404
    token = csrf_from(_text(client.get(f"/events/{ids['event']}/agenda")))
    assert client.post(url, data={"csrf_token": token, "rating": "agreement_reached"}).status_code == 404
    with app.app_context():
        assert _count(MeetingOutcome) == 0


def test_a_meeting_is_hidden_from_its_sides_until_agendas_are_published(app, client):
    """Review fix: the outcome page showed an unpublished meeting (time, table, counterpart)."""
    ids = _event(app, days_ago=-20, phase=EventPhase.SCHEDULING)
    with app.app_context():
        db.session.get(Meeting, ids["held"]).status = MeetingStatus.SCHEDULED.value
        db.session.commit()
    url = f"/events/meetings/{ids['held']}/outcome"
    login(client, "alfa@example.eu")
    assert client.get(url).status_code == 404
    staff = app.test_client()
    login(staff, "staff@example.eu")
    assert staff.get(url).status_code == 200


def test_members_of_a_withdrawn_participant_no_longer_act_for_it(app, client):
    """`permissions.speaks_for` ignores withdrawn participants: no no-show, rating or contract."""
    from opsapp.events import permissions
    from opsapp.events.models import Participant, ParticipantStatus

    ids = _event(app)
    with app.app_context():
        alfa = db.session.get(Participant, ids["alfa"])
        user = alfa.contact
        assert permissions.speaks_for(user, alfa)
        alfa.status = ParticipantStatus.WITHDRAWN.value
        db.session.commit()
        assert not permissions.speaks_for(user, alfa)
    login(client, "alfa@example.eu")
    token = csrf_from(_text(client.get("/")))
    outcome = f"/events/meetings/{ids['held']}/outcome"
    assert client.get(outcome).status_code == 404
    assert client.post(outcome, data={"csrf_token": token, "rating": "agreement_reached"}).status_code == 404
    no_show = f"/events/meetings/{ids['held']}/no-show"
    assert client.post(no_show, data={"csrf_token": token, "note": "They never came"}).status_code == 404
    new = f"/events/{ids['event']}/contracts/new"
    assert client.get(new).status_code == 404
    assert client.post(new, data={"csrf_token": token, **_contract_form(ids)}).status_code == 404
    with app.app_context():
        assert _count(MeetingOutcome) == 0 and _count(SupplyContract) == 0
        assert db.session.get(Meeting, ids["held"]).status == MeetingStatus.HELD.value
    # The other side still acts for itself.
    buyer = app.test_client()
    login(buyer, "buyer@example.eu")
    assert buyer.get(outcome).status_code == 200


def test_the_six_month_job_asks_each_side_once_and_opens_the_second_round(app, client, outbox):
    ids = _event(app, days_ago=200)
    with app.app_context():
        now = utcnow()
        assert outcomes.send_six_month_follow_ups(now) == 2  # both sides of the held meeting, not the no-show
        db.session.commit()
        assert outcomes.send_six_month_follow_ups(now) == 0
        db.session.commit()
        assert _count(OutcomeFollowUp) == 2
    mails = outbox()
    assert sorted(str(m["To"]) for m in mails) == ["alfa@example.eu", "buyer@example.eu"]
    body = mails[0].get_body(("plain",)).get_content()
    assert f"/events/meetings/{ids['held']}/outcome" in body
    login(client, "alfa@example.eu")
    url = f"/events/meetings/{ids['held']}/outcome"
    assert "Six months later" in _text(client.get(url))
    _post(client, url, {"rating": "agreement_reached"})
    with app.app_context():
        (outcome,) = db.session.scalars(select(MeetingOutcome)).all()
        assert outcome.round == "six_months"


def test_the_six_month_job_leaves_recent_meetings_alone(app):
    _event(app, days_ago=100)
    with app.app_context():
        assert outcomes.send_six_month_follow_ups(utcnow()) == 0
        assert _count(OutcomeFollowUp) == 0


# --- contracts ---------------------------------------------------------------------------------------------


def _contract_form(ids, **overrides):
    data = {"counterpart_id": ids["buyer"], "signed_on": utcnow().date().isoformat(), "value": "12.500,00",
            "description": "Sensors for two packaging lines", "meeting_id": ids["held"]}
    data.update(overrides)
    return data


def test_a_side_records_a_contract_and_staff_confirm_it(app, client, outbox):
    ids = _event(app)
    login(client, "alfa@example.eu")
    new = f"/events/{ids['event']}/contracts/new"
    page = _text(client.get(new))
    assert "Grande Acquirente S.p.A. (met)" in page
    response = _post(client, new, _contract_form(ids))
    assert response.status_code == 302, _text(response)
    with app.app_context():
        contract = db.session.scalars(select(SupplyContract)).one()
        assert (contract.sme_id, contract.buyer_id, contract.meeting_id) == (ids["alfa"], ids["buyer"], ids["held"])
        assert contract.value == Decimal("12500.00") and contract.status == ContractStatus.RECORDED.value
        contract_id = contract.id
    assert {str(m["To"]) for m in outbox()} == {"buyer@example.eu", "staff@example.eu"}
    listing = _text(client.get(f"/events/{ids['event']}/contracts"))
    assert "Sensors for two packaging lines" in listing and "EUR 12,500.00" in listing

    staff = app.test_client()
    login(staff, "staff@example.eu")
    assert "Contracts to confirm" in _text(staff.get("/"))
    contracts_url = f"/events/{ids['event']}/contracts"
    response = _post(staff, f"/events/contracts/{contract_id}/review", {"decision": "confirm"}, contracts_url)
    assert response.status_code == 302
    with app.app_context():
        contract = db.session.get(SupplyContract, contract_id)
        assert contract.status == ContractStatus.CONFIRMED.value and contract.reviewed_by_id is not None
        assert _count(AuditEntry, AuditEntry.action == "supply_contracts.status_changed") == 1
    confirmed_mails = [m for m in outbox() if "confirmed" in str(m["Subject"]).lower()]
    assert {str(m["To"]) for m in confirmed_mails} == {"alfa@example.eu", "buyer@example.eu"}
    assert "Contracts to confirm" not in _text(staff.get("/"))
    # A second review is refused.
    _post(staff, f"/events/contracts/{contract_id}/review", {"decision": "reject", "note": "x"}, contracts_url)
    with app.app_context():
        assert db.session.get(SupplyContract, contract_id).status == ContractStatus.CONFIRMED.value


def test_a_future_date_or_a_negative_value_is_refused_and_nothing_saved(app, client):
    ids = _event(app)
    login(client, "alfa@example.eu")
    new = f"/events/{ids['event']}/contracts/new"
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    response = _post(client, new, _contract_form(ids, signed_on=tomorrow))
    assert response.status_code == 200
    assert "The date of signature cannot be in the future." in _text(response)
    assert "Sensors for two packaging lines" in _text(response)  # what was typed is kept
    response = _post(client, new, _contract_form(ids, value="-100"))
    assert response.status_code == 200 and "The value of a contract cannot be negative." in _text(response)
    before = (ids["first_day"] - timedelta(days=1)).isoformat()
    response = _post(client, new, _contract_form(ids, signed_on=before))
    assert "on or after the event" in _text(response)
    response = _post(client, new, _contract_form(ids, value="a lot"))
    assert "Enter the value as an amount in EUR" in _text(response)
    response = _post(client, new, _contract_form(ids, counterpart_id=ids["beta"]))  # same side
    assert response.status_code == 200
    response = _post(client, new, _contract_form(ids, counterpart_id=ids["other_buyer"]))  # meeting not theirs
    assert "Choose a meeting between" in _text(response)
    with app.app_context():
        assert _count(SupplyContract) == 0
        assert _count(Notification) == 0


def test_contracts_are_recorded_only_in_follow_up(app, client):
    ids = _event(app, phase=EventPhase.EVENT_DAY)
    login(client, "alfa@example.eu")
    new = f"/events/{ids['event']}/contracts/new"
    assert "Contracts are recorded in the follow-up phase" in _text(client.get(new))
    _post(client, new, _contract_form(ids))
    with app.app_context():
        assert _count(SupplyContract) == 0


def test_each_side_sees_only_its_contracts_and_staff_filter_and_export(app, client):
    ids = _event(app)
    with app.app_context():
        db.session.add_all([
            SupplyContract(event_id=ids["event"], sme_id=ids["alfa"], buyer_id=ids["buyer"], signed_on=date.today(),
                           value=Decimal("1000.00"), description="Alfa secret deal"),
            SupplyContract(event_id=ids["event"], sme_id=ids["beta"], buyer_id=ids["buyer"], signed_on=date.today(),
                           value=Decimal("2500.50"), description="Beta secret deal", status="confirmed")])
        db.session.commit()
    login(client, "beta@example.eu")
    page = _text(client.get(f"/events/{ids['event']}/contracts"))
    assert "Beta secret deal" in page and "Alfa secret deal" not in page
    assert client.get(f"/events/{ids['event']}/contracts?export=csv").status_code == 403

    staff = app.test_client()
    login(staff, "staff@example.eu")
    page = _text(staff.get(f"/events/{ids['event']}/contracts"))
    assert "2 contracts" in page and "EUR 3,500.50 in all; 1 confirmed, worth EUR 2,500.50" in page
    filtered = _text(staff.get(f"/events/{ids['event']}/contracts?status=confirmed"))
    assert "Beta secret deal" in filtered and "Alfa secret deal" not in filtered
    csv = staff.get(f"/events/{ids['event']}/contracts?export=csv")
    assert csv.mimetype == "text/csv" and "Alfa secret deal" in csv.get_data(as_text=True)
    xlsx = staff.get(f"/events/{ids['event']}/contracts?export=xlsx&q=beta")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "Beta Robotica S.r.l." and Decimal(str(rows[1][4])) == Decimal("2500.5")
    with app.app_context():
        assert _count(AuditEntry, AuditEntry.action == "supply_contracts.exported") == 2


def test_staff_record_for_anyone_and_reject_with_a_reason(app, client, outbox):
    ids = _event(app)
    login(client, "staff@example.eu")
    new = f"/events/{ids['event']}/contracts/new"
    data = {"sme_id": ids["beta"], "buyer_id": ids["buyer"], "signed_on": utcnow().date().isoformat(),
            "value": "900", "meeting_id": 0}
    assert _post(client, new, data).status_code == 302
    with app.app_context():
        contract = db.session.scalars(select(SupplyContract)).one()
        assert contract.sme_id == ids["beta"] and contract.value == Decimal("900.00")
    contracts_url = f"/events/{ids['event']}/contracts"
    _post(client, f"/events/contracts/{contract.id}/review", {"decision": "reject"}, contracts_url)
    assert "Say why the contract is rejected" in _text(client.get(contracts_url))
    _post(client, f"/events/contracts/{contract.id}/review", {"decision": "reject", "note": "Signed before"},
          contracts_url)
    with app.app_context():
        contract = db.session.get(SupplyContract, contract.id)
        assert contract.status == "rejected" and contract.review_note == "Signed before"
    rejected = [m for m in outbox() if "rejected" in str(m["Subject"]).lower()]
    assert {str(m["To"]) for m in rejected} == {"beta@example.eu", "buyer@example.eu"}


# --- statistics ---------------------------------------------------------------------------------------------------


def test_the_statistics_page_and_its_exports(app, client):
    ids = _event(app)
    with app.app_context():
        db.session.add(SupplyContract(event_id=ids["event"], sme_id=ids["alfa"], buyer_id=ids["buyer"],
                                      signed_on=date.today(), value=Decimal("12500.00"), status="confirmed"))
        db.session.add(MeetingOutcome(meeting_id=ids["held"], participant_id=ids["alfa"], rating="follow_up_agreed"))
        db.session.commit()
    participant = app.test_client()
    login(participant, "alfa@example.eu")
    assert participant.get(f"/events/{ids['event']}/statistics").status_code == 403
    login(client, "staff@example.eu")
    page = _text(client.get(f"/events/{ids['event']}/statistics"))
    for caption in ("Meeting requests", "Meetings", "Meeting outcomes, as rated by each side", "Supply contracts",
                    "Participants"):
        assert f"<caption class=\"h5 text-body\">{caption}</caption>" in page
    assert "EUR 12,500.00" in page
    assert "Buyers from outside the region who met at least one SME" in page
    csv = client.get(f"/events/{ids['event']}/statistics?export=csv").get_data(as_text=True)
    assert "Requests sent,Requests,3" in csv
    assert "Buyers from outside the region who met at least one SME,Participants,1" in csv
    assert "Value of the confirmed contracts (EUR),Value,12500.00" in csv
    xlsx = client.get(f"/events/{ids['event']}/statistics?export=xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert workbook.sheetnames[0] == "Meeting requests" and len(workbook.sheetnames) == 5
