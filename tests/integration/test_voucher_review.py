"""Staff review a submitted claim line by line (approve fully, partly with a reason, reject with a
reason), the approved total is computed and recorded, the SME is told with the reasons; a claim
rejected in full is approved at EUR 0 and cannot be paid; staff record the payment of the approved
amount (date, reference), and the SME is told. Only staff reach these pages. Real database, CSRF on."""

from __future__ import annotations

import html
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from opsapp.core.models import AuditEntry
from opsapp.extensions import db
from opsapp.vouchers.models import ExpenseLine, Voucher, VoucherStatus
from tests.conftest import csrf_from
from tests.integration.test_voucher_claims import (
    add_line,
    body,
    build_world,
    client_of,
    field_errors,
    mails_to,
    notices_to,
    png,
    submit,
    text,
    the_voucher,
    travel,
)


@pytest.fixture
def world(app):
    """As in the claim tests: staff, SME Alfa with a voucher of EUR 1,500.00, SME Beta with its own."""
    return build_world(app)


def review_url(world) -> str:
    return f"/vouchers/{world['voucher']}/review"


def payment_url(world) -> str:
    return f"/vouchers/{world['voucher']}/payment"


@pytest.fixture
def claimed(app, world):
    """Alfa's claim submitted with three lines: travel 300.00, accommodation 900.00, stand 200.00."""
    client = client_of(app, "alfa@example.eu")
    today = world["today"]
    add_line(client, world["voucher"], travel(world), today - timedelta(days=5), "300.00",
             description="Flight Torino–Lyon")
    add_line(client, world["voucher"], world["categories"]["accommodation"], today - timedelta(days=4), "900.00",
             description="Hotel in Lyon", receipt=("hotel.png", png()))
    add_line(client, world["voucher"], world["categories"]["stand"], today - timedelta(days=3), "200.00",
             description="Stand furniture")
    submit(client, world["voucher"])
    with app.app_context():
        ids = list(db.session.scalars(select(ExpenseLine.id).order_by(ExpenseLine.id)))
        assert the_voucher(world["voucher"]).status == VoucherStatus.CLAIMED.value
    return ids


def decisions(lines, *choices) -> dict:
    """Form data: each choice is (decision, amount, reason) for the line in the same place."""
    data = {}
    for line_id, (decision, amount, reason) in zip(lines, choices, strict=True):
        data[f"line-{line_id}-decision"] = decision
        data[f"line-{line_id}-amount"] = amount
        data[f"line-{line_id}-reason"] = reason
    return data


def post_review(client, world, data, action="confirm"):
    token = csrf_from(text(client.get(review_url(world))))
    return client.post(review_url(world), data={"csrf_token": token, "action": action, **data},
                       follow_redirects=True)


def post_payment(client, world, **data):
    token = csrf_from(text(client.get(payment_url(world))))
    return client.post(payment_url(world), data={"csrf_token": token, **data}, follow_redirects=True)


def errors_by_line(response) -> dict[str, str]:
    return field_errors(response)


# --- the review ---------------------------------------------------------------------------------------------


def test_staff_review_each_line_and_the_sme_is_told_the_amount_and_the_reasons(app, world, claimed, outbox):
    staff = client_of(app, "staff@example.eu")
    page = staff.get(review_url(world))
    assert page.status_code == 200
    assert "Flight Torino–Lyon" in text(page) and "hotel.png" in text(page)
    assert f"/vouchers/{world['voucher']}/lines/{claimed[1]}/receipt" in text(page)

    data = decisions(claimed, ("approved", "", ""), ("partly", "650,00", "Two nights only, not three"),
                     ("rejected", "", "The stand is paid by the organiser"))
    checked = post_review(staff, world, data, action="check")
    assert "Approved so far: EUR 950.00" in text(checked)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.CLAIMED.value  # only computed

    done = post_review(staff, world, data)
    assert "The review is recorded: EUR 950.00 approved" in text(done)
    with app.app_context():
        voucher = the_voucher(world["voucher"])
        assert voucher.status == VoucherStatus.APPROVED.value
        assert voucher.approved_amount == Decimal("950.00")
        assert voucher.reviewed_at is not None and voucher.reviewed_by_id is not None
        lines = {line.id: line for line in voucher.lines}
        assert [(lines[i].decision, lines[i].approved_amount, lines[i].decision_reason) for i in claimed] == [
            ("approved", Decimal("300.00"), None), ("partly", Decimal("650.00"), "Two nights only, not three"),
            ("rejected", Decimal("0.00"), "The stand is paid by the organiser")]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "voucher.claim_reviewed"))
        assert entry.detail["approved_amount"] == "950.00"
        assert [line["decision"] for line in entry.detail["lines"]] == ["approved", "partly", "rejected"]
        assert entry.detail["lines"][1]["reason"] == "Two nights only, not three"
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "vouchers.status_changed", AuditEntry.object_id == str(voucher.id))) == 2
        assert [n.subject for n in notices_to("alfa2@example.eu")][-1] == "Your voucher claim was reviewed"
    message = body(mails_to(outbox, "alfa@example.eu")[-1])
    assert "EUR 950.00 approved" in message
    assert "Two nights only, not three" in message and "The stand is paid by the organiser" in message
    # the SME sees the decisions on its claim page; the review page is read-only now
    sme_page = text(client_of(app, "alfa@example.eu").get(f"/vouchers/{world['voucher']}/claim"))
    assert "EUR 950.00 approved" in sme_page and "The stand is paid by the organiser" in html.unescape(sme_page)
    after = text(staff.get(review_url(world)))
    assert "Confirm the review" not in after and "Record the payment" in after


@pytest.mark.parametrize(("choice", "field", "expected"), [
    (("partly", "650.00", ""), "reason", "Give the reason"),
    (("rejected", "", " "), "reason", "Give the reason"),
    (("partly", "900.00", "Too much"), "amount", "less than the line's EUR 900.00"),
    (("partly", "0", "Nothing"), "amount", "more than 0"),
    (("partly", "", "No amount"), "amount", "Enter the amount approved"),
    (("partly", "lots", "Unreadable"), "amount", "Write the amount in EUR"),
    (("", "", ""), "decision", "Choose a decision"),
])
def test_a_review_with_a_problem_shows_it_next_to_the_line_and_changes_nothing(app, world, claimed, choice, field,
                                                                               expected):
    staff = client_of(app, "staff@example.eu")
    data = decisions(claimed, ("approved", "", ""), choice, ("approved", "", ""))
    response = post_review(staff, world, data)
    assert response.status_code == 200
    errors = errors_by_line(response)
    assert expected in errors.get(f"line-{claimed[1]}-{field}", ""), errors
    assert "Some decisions need attention" in text(response)
    page = text(response)
    if choice[2].strip():
        assert choice[2] in page  # what was typed is kept
    with app.app_context():
        voucher = the_voucher(world["voucher"])
        assert voucher.status == VoucherStatus.CLAIMED.value and voucher.approved_amount is None
        assert all(line.decision is None for line in voucher.lines)
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "voucher.claim_reviewed")) == 0


def test_a_claim_rejected_in_full_is_approved_at_zero_and_cannot_be_paid(app, world, claimed):
    staff = client_of(app, "staff@example.eu")
    data = decisions(claimed, *[("rejected", "", "Not an eligible event")] * 3)
    checked = post_review(staff, world, data, action="check")
    assert "Approving nothing closes the voucher at EUR 0" in text(checked)
    done = post_review(staff, world, data)
    assert "EUR 0.00 approved" in text(done)
    with app.app_context():
        voucher = the_voucher(world["voucher"])
        assert voucher.status == VoucherStatus.APPROVED.value and voucher.approved_amount == Decimal("0.00")
    page = text(staff.get(payment_url(world)))
    assert "approved at EUR 0" in page and "Record the payment" not in page
    refused = post_payment(staff, world, paid_on=world["today"].isoformat(), reference="TRN1", amount="0")
    assert "cannot be paid" in text(refused)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.APPROVED.value
    sme_page = text(client_of(app, "alfa@example.eu").get(f"/vouchers/{world['voucher']}/claim"))
    assert "nothing will be paid" in sme_page


def test_only_a_claimed_voucher_is_reviewed_and_only_once(app, world, claimed):
    staff = client_of(app, "staff@example.eu")
    # Beta's voucher is not claimed yet: nothing to review, a post is refused
    other = f"/vouchers/{world['other']}/review"
    assert "has not submitted its claim yet" in text(staff.get(other))
    token = csrf_from(text(staff.get(other)))
    response = staff.post(other, data={"csrf_token": token, "action": "confirm"}, follow_redirects=True)
    assert "not waiting for a review" in text(response)
    data = decisions(claimed, *[("approved", "", "")] * 3)
    post_review(staff, world, data)
    again = post_review(staff, world, decisions(claimed, *[("rejected", "", "Changed my mind")] * 3))
    assert "not waiting for a review" in text(again)
    with app.app_context():
        assert the_voucher(world["voucher"]).approved_amount == Decimal("1400.00")


def test_only_staff_reach_the_review_and_the_payment(app, world, claimed):
    for email in ("alfa@example.eu", "beta@example.eu"):
        client = client_of(app, email)
        assert client.get(review_url(world)).status_code == 403
        assert client.get(payment_url(world)).status_code == 403
    assert client_of(app, "staff@example.eu").get("/vouchers/999999/review").status_code == 404
    assert client_of(app, "staff@example.eu").get("/vouchers/999999/payment").status_code == 404


# --- the payment ----------------------------------------------------------------------------------------------


@pytest.fixture
def approved(app, world, claimed):
    staff = client_of(app, "staff@example.eu")
    post_review(staff, world, decisions(claimed, ("approved", "", ""), ("partly", "650.00", "Two nights only"),
                                        ("approved", "", "")))
    with app.app_context():
        assert the_voucher(world["voucher"]).approved_amount == Decimal("1150.00")
    return staff


@pytest.mark.parametrize(("changes", "field", "expected"), [
    ({"paid_on": 1}, "paid_on", "cannot be in the future"),
    ({"paid_on": -1}, "paid_on", "cannot be dated before the review"),
    ({"paid_on": None}, "paid_on", "Enter the date of the payment"),
    ({"reference": ""}, "reference", "Enter the reference"),
    ({"amount": "1000.00"}, "amount", "must be the approved amount, EUR 1,150.00"),
    ({"amount": "-1"}, "amount", "must be the approved amount"),
])
def test_a_payment_with_a_problem_is_refused_next_to_the_field(app, world, approved, changes, field, expected):
    data = {"paid_on": world["today"].isoformat(), "reference": "TRN 2027-0042", "amount": "1150.00"}
    if "paid_on" in changes:
        days = changes["paid_on"]
        data["paid_on"] = "" if days is None else (world["today"] + timedelta(days=days)).isoformat()
    for key in ("reference", "amount"):
        if key in changes:
            data[key] = changes[key]
    response = post_payment(approved, world, **data)
    assert response.status_code == 200
    assert expected in field_errors(response).get(field, ""), field_errors(response)
    with app.app_context():
        voucher = the_voucher(world["voucher"])
        assert voucher.status == VoucherStatus.APPROVED.value
        assert voucher.paid_on is None and voucher.paid_amount is None


def test_staff_record_the_payment_and_the_sme_is_told(app, world, approved, outbox):
    page = text(approved.get(payment_url(world)))
    assert 'value="1150.00"' in page  # the amount defaults to the approved amount
    done = post_payment(approved, world, paid_on=world["today"].isoformat(), reference="TRN 2027-0042",
                        amount="1,150.00")
    assert "The payment is recorded" in text(done)
    with app.app_context():
        voucher = db.session.get(Voucher, world["voucher"])
        assert voucher.status == VoucherStatus.PAID.value
        assert (voucher.paid_amount, voucher.paid_on, voucher.payment_reference) == (
            Decimal("1150.00"), world["today"], "TRN 2027-0042")
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "voucher.paid"))
        assert entry.detail["reference"] == "TRN 2027-0042" and entry.detail["paid_amount"] == "1150.00"
        assert [n.subject for n in notices_to("alfa@example.eu")][-1] == "Your voucher was paid"
    message = body(mails_to(outbox, "alfa2@example.eu")[-1])
    assert "EUR 1,150.00" in message and "TRN 2027-0042" in message
    # paid once: the page says so and a second payment is refused
    assert "Paid: EUR 1,150.00" in text(approved.get(payment_url(world)))
    again = post_payment(approved, world, paid_on=world["today"].isoformat(), reference="TRN again",
                         amount="1150.00")
    assert "cannot be paid" in text(again)
    with app.app_context():
        assert db.session.get(Voucher, world["voucher"]).payment_reference == "TRN 2027-0042"
    sme_page = text(client_of(app, "alfa@example.eu").get(f"/vouchers/{world['voucher']}/claim"))
    assert "The voucher was paid: EUR 1,150.00" in sme_page


def test_a_claimed_voucher_cannot_be_paid_before_its_review(app, world, claimed):
    staff = client_of(app, "staff@example.eu")
    assert "only an approved voucher can be paid" in text(staff.get(payment_url(world)))
    response = post_payment(staff, world, paid_on=world["today"].isoformat(), reference="TRN", amount="1400.00")
    assert "cannot be paid" in text(response)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.CLAIMED.value


# --- the pages' structure ----------------------------------------------------------------------------------------


def _check_structure(page: str) -> None:
    """One h1, unique ids, and a label for every visible input."""
    import re

    assert page.count("<h1") == 1
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', page))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        if 'type="hidden"' in tag:
            continue
        input_id = re.search(r'\sid="([^"]+)"', tag)
        assert input_id and input_id.group(1) in labelled, tag
    assert "style=" not in page.split("<main", 1)[-1] and "onclick" not in page


def test_the_pages_have_one_heading_unique_ids_and_labelled_inputs(app, world, claimed):
    beta = client_of(app, "beta@example.eu")
    add_line(beta, world["other"], travel(world), world["today"], "80.00")
    with_errors = add_line(beta, world["other"], world["catering"], world["today"], "-3")
    assert field_errors(with_errors)
    _check_structure(text(with_errors))
    _check_structure(text(beta.get(f"/vouchers/{world['other']}/claim/submit")))
    _check_structure(text(client_of(app, "alfa@example.eu").get(f"/vouchers/{world['voucher']}/claim")))
    staff = client_of(app, "staff@example.eu")
    _check_structure(text(staff.get(review_url(world))))
    problems = post_review(staff, world, decisions(claimed, ("partly", "", ""), ("", "", ""), ("rejected", "", "")))
    assert len(field_errors(problems)) == 4
    _check_structure(text(problems))
    post_review(staff, world, decisions(claimed, *[("approved", "", "")] * 3))
    _check_structure(text(staff.get(review_url(world))))
    refused = post_payment(staff, world, paid_on="", reference="", amount="")
    assert len(field_errors(refused)) == 3
    _check_structure(text(refused))
    _check_structure(text(staff.get("/")))
