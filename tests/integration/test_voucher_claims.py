"""A voucher's claim through the browser's eyes: expense lines with PDF/PNG receipts, the running
total, the summary with the declaration and the submission that freezes the claim; each refusal
(receipt of the wrong type, negative amount, date outside the validity, category not eligible,
total over the voucher) shows its message next to the field, keeps what was typed and saves
nothing (no line, no file); another SME cannot reach the claim (404); receipts download only for
the SME's members and staff; the home panels. Real database, CSRF on."""

from __future__ import annotations

import html
import io
import re
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsapp.accounts.models import User
from opsapp.core.models import AuditEntry, Notification, StoredFile
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers import claiming
from opsapp.vouchers.models import CostCategory, ExpenseLine, Voucher, VoucherScheme, VoucherStatus
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user
from tests.factories_vouchers import make_scheme, make_voucher

# --- files -------------------------------------------------------------------------------------------------

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def png() -> bytes:
    """A real one-pixel PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) \
        + chunk(b"IEND", b"")


# --- helpers -----------------------------------------------------------------------------------------------


def text(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response) -> dict[str, str]:
    """The message next to each field, by the field's id."""
    found = re.findall(r'class="field-error" id="([^"]+)-error">([^<]*)<', text(response))
    return {field: html.unescape(message) for field, message in found}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def stored_files_on_disk(app) -> int:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return len(list(folder.iterdir())) if folder.exists() else 0


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


def notices_to(email) -> list[Notification]:
    user = db.session.scalar(select(User).where(User.email == email))
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def mails_to(outbox, email):
    return [m for m in outbox() if m["To"] == email]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def the_voucher(voucher_id) -> Voucher:
    db.session.expire_all()
    return db.session.get(Voucher, voucher_id)


def claim_url(voucher_id) -> str:
    return f"/vouchers/{voucher_id}/claim"


def add_line(client, voucher_id, category, spent_on, amount, description="Train Torino–Milano",
             receipt=("ticket.pdf", PDF)):
    token = csrf_from(text(client.get(claim_url(voucher_id))))
    data = {"csrf_token": token, "category_id": str(category), "spent_on": spent_on.isoformat(),
            "description": description, "amount": amount}
    if receipt is not None:
        data["receipt"] = (io.BytesIO(receipt[1]), receipt[0])
    return client.post(claim_url(voucher_id), data=data, content_type="multipart/form-data",
                       follow_redirects=True)


def submit(client, voucher_id, declaration=True):
    page = client.get(f"{claim_url(voucher_id)}/submit")
    token = csrf_from(text(page)) if 'name="csrf_token"' in text(page) else csrf_from(text(client.get("/")))
    data = {"csrf_token": token}
    if declaration:
        data["declaration"] = "y"
    return client.post(f"{claim_url(voucher_id)}/submit", data=data, follow_redirects=True)


def post_with_token(client, path, data=None, page="/"):
    token = csrf_from(text(client.get(page)))
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


@pytest.fixture
def world(app):
    return build_world(app)


def build_world(app) -> dict:
    """Staff; SME Alfa (owner Alfa, colleague Alfa Two) with a voucher of EUR 1,500.00 granted 30
    days ago and valid for 60 more days; SME Beta (owner Beta) with its own voucher; a cost category
    that the scheme does not cover."""
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF], full_name="Stella Staff")
        alfa = make_user("alfa@example.eu", roles=[Role.APPLICANT], full_name="Alfa Owner")
        alfa2 = make_user("alfa2@example.eu", roles=[Role.APPLICANT], full_name="Alfa Two")
        beta = make_user("beta@example.eu", roles=[Role.APPLICANT], full_name="Beta Owner")
        make_user("gamma@example.eu", roles=[Role.APPLICANT], full_name="Gamma Nobody")
        org_a = make_organisation(owner=alfa, members=[alfa2], legal_name="Alfa Meccanica S.r.l.")
        org_b = make_organisation(owner=beta, legal_name="Beta Sensori S.p.A.")
        scheme = make_scheme()
        today = claiming.today()
        voucher = make_voucher(scheme, org_a, amount="1500.00", granted_on=today - timedelta(days=30),
                               valid_until=today + timedelta(days=60))
        other = make_voucher(scheme, org_b, amount="1000.00", granted_on=today - timedelta(days=10),
                             valid_until=today + timedelta(days=60))
        catering = CostCategory(code="catering", name_en="Catering", name_it="Ristorazione")
        db.session.add(catering)
        db.session.commit()
        categories = {c.code: c.id for c in scheme.cost_categories}
        return {"voucher": voucher.id, "other": other.id, "scheme": scheme.id, "today": today,
                "categories": categories, "catering": catering.id, "org_a": org_a.id, "org_b": org_b.id}


def travel(world):
    return world["categories"]["travel"]


# --- the full claim -------------------------------------------------------------------------------------


def test_a_full_claim_with_pdf_and_png_receipts_is_submitted_and_frozen(app, world, outbox):
    client = client_of(app, "alfa@example.eu")
    today = world["today"]
    page = client.get(claim_url(world["voucher"]))
    assert page.status_code == 200
    assert "No expenses yet" in text(page)

    first = add_line(client, world["voucher"], travel(world), today - timedelta(days=3), "250,50",
                     description="Train Torino–Milano", receipt=("ticket.pdf", PDF))
    assert first.status_code == 200
    assert "is added to the claim" in text(first)
    second = add_line(client, world["voucher"], world["categories"]["accommodation"], today - timedelta(days=2),
                      "1,049.50", description="Hotel in Milano, two nights", receipt=("hotel.png", png()))
    page = text(second)
    assert "Hotel in Milano, two nights" in page and "ticket.pdf" in page and "hotel.png" in page
    assert "EUR 1,300.00 claimed of EUR 1,500.00" in page
    assert "EUR 200.00 can still be claimed" in page
    with app.app_context():
        lines = list(db.session.scalars(select(ExpenseLine).where(ExpenseLine.voucher_id == world["voucher"])
                                        .order_by(ExpenseLine.id)))
        assert [str(line.amount) for line in lines] == ["250.50", "1049.50"]
        kinds = [db.session.get(StoredFile, line.receipt_id) for line in lines]
        assert [(f.purpose, f.content_type, f.organisation_id) for f in kinds] == [
            ("voucher_receipt", "application/pdf", world["org_a"]), ("voucher_receipt", "image/png", world["org_a"])]
    assert stored_files_on_disk(app) == 2

    summary = client.get(f"{claim_url(world['voucher'])}/submit")
    assert summary.status_code == 200
    assert "not funded twice" in text(summary)
    assert "EUR 1,300.00" in text(summary)

    refused = submit(client, world["voucher"], declaration=False)
    assert "Confirm the declaration" in text(refused)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.GRANTED.value

    done = submit(client, world["voucher"])
    assert "Your claim of EUR 1,300.00 is submitted" in text(done)
    assert "waits for the staff" in text(done)
    assert "Add an expense" not in text(done)  # frozen: no form any more
    with app.app_context():
        voucher = the_voucher(world["voucher"])
        alfa = db.session.scalar(select(User).where(User.email == "alfa@example.eu"))
        assert voucher.status == VoucherStatus.CLAIMED.value
        assert voucher.claimed_by_id == alfa.id and voucher.claimed_at is not None
        actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(voucher.id))))
        assert {"voucher.claim_line_added", "voucher.claim_submitted", "vouchers.status_changed"} <= actions
        submitted = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "voucher.claim_submitted"))
        assert submitted.detail["total"] == "1300.00" and submitted.detail["declaration"] is True
        assert len(submitted.detail["lines"]) == 2
        # staff hear of the claim to review; both of Alfa's people get the receipt; Beta nothing
        assert [n.subject for n in notices_to("staff@example.eu")] == ["Claim to review: Alfa Meccanica S.r.l."]
        assert len(notices_to("alfa@example.eu")) == 1 and len(notices_to("alfa2@example.eu")) == 1
        assert notices_to("beta@example.eu") == []
    staff_mail = mails_to(outbox, "staff@example.eu")
    assert len(staff_mail) == 1 and "EUR 1,300.00" in body(staff_mail[0])
    assert f"/vouchers/{world['voucher']}/review" in body(staff_mail[0])
    assert "was submitted" in body(mails_to(outbox, "alfa2@example.eu")[0])


def test_a_line_is_deleted_with_its_receipt_while_the_claim_is_open(app, world):
    client = client_of(app, "alfa@example.eu")
    add_line(client, world["voucher"], travel(world), world["today"], "100.00")
    with app.app_context():
        line_id = db.session.scalar(select(ExpenseLine.id))
    assert stored_files_on_disk(app) == 1
    response = post_with_token(client, f"{claim_url(world['voucher'])}/lines/{line_id}/delete",
                               page=claim_url(world["voucher"]))
    assert response.status_code == 302
    with app.app_context():
        assert count(ExpenseLine) == 0 and count(StoredFile) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "voucher.claim_line_deleted")) == 1
    assert stored_files_on_disk(app) == 0


# --- refusals: a message next to the field, what was typed kept, nothing saved ------------------------------


REFUSALS = {
    "wrong type (a program named .pdf)": ({"receipt": ("invoice.pdf", ELF)}, "receipt",
                                           "content does not match its name"),
    "wrong type (a text file)": ({"receipt": ("invoice.txt", b"just text")}, "receipt",
                                 "This type of file is not accepted"),
    "negative amount": ({"amount": "-50.00"}, "amount", "The amount must be more than zero."),
    "three decimals": ({"amount": "12.3456"}, "amount", "Use at most two decimals"),
    "unreadable amount": ({"amount": "fifty"}, "amount", "Write the amount in EUR"),
    "date before the grant": ({"days": -31}, "spent_on", "within the voucher's validity"),
    "date in the future": ({"days": 1}, "spent_on", "cannot be in the future"),
    "category not eligible": ({"category": "catering"}, "category_id", "not eligible"),
    "total over the voucher": ({"amount": "1400.01"}, "amount", "more than the voucher's EUR 1,500.00"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_shows_its_message_keeps_the_input_and_saves_nothing(app, world, case):
    changes, field, expected = REFUSALS[case]
    client = client_of(app, "alfa@example.eu")
    if case == "total over the voucher":
        add_line(client, world["voucher"], travel(world), world["today"], "100.00", description="First")
    with app.app_context():
        lines_before, files_before = count(ExpenseLine), count(StoredFile)
    disk_before = stored_files_on_disk(app)
    category = world["catering"] if changes.get("category") == "catering" else travel(world)
    response = add_line(client, world["voucher"], category, world["today"] + timedelta(days=changes.get("days", 0)),
                        changes.get("amount", "120.00"), description="Taxi to the fair",
                        receipt=changes.get("receipt", ("ticket.pdf", PDF)))
    assert response.status_code == 200
    errors = field_errors(response)
    assert expected in errors.get(field, ""), errors
    page = text(response)
    assert 'value="Taxi to the fair"' in page  # what was typed is kept
    assert f'value="{changes.get("amount", "120.00")}"' in page
    assert "There is" in page or "There are" in page  # the summary at the top
    with app.app_context():
        assert count(ExpenseLine) == lines_before
        assert count(StoredFile) == files_before
    assert stored_files_on_disk(app) == disk_before


def test_several_problems_are_shown_together_and_a_missing_receipt_too(app, world):
    client = client_of(app, "alfa@example.eu")
    response = add_line(client, world["voucher"], world["catering"], world["today"] + timedelta(days=5), "-1",
                        receipt=None)
    errors = field_errors(response)
    assert "Attach the receipt" in errors["receipt"]
    with app.app_context():
        assert count(ExpenseLine) == 0 and count(StoredFile) == 0
    response = add_line(client, world["voucher"], world["catering"], world["today"] + timedelta(days=5), "-1",
                        receipt=("bad.pdf", ELF))
    errors = field_errors(response)
    assert set(errors) >= {"category_id", "spent_on", "amount", "receipt"}
    with app.app_context():
        assert count(ExpenseLine) == 0 and count(StoredFile) == 0
    assert stored_files_on_disk(app) == 0


def test_the_submission_checks_every_rule_again_on_the_server(app, world):
    client = client_of(app, "alfa@example.eu")
    add_line(client, world["voucher"], travel(world), world["today"], "300.00")
    with app.app_context():  # the scheme stops covering travel after the line was added
        scheme = db.session.get(VoucherScheme, world["scheme"])
        scheme.cost_categories = [c for c in scheme.cost_categories if c.code != "travel"]
        db.session.commit()
    response = submit(client, world["voucher"])
    assert "Line 1: This category is not eligible" in text(response)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.GRANTED.value
        assert count(Notification) == 0


def test_an_empty_claim_cannot_be_submitted(app, world):
    client = client_of(app, "alfa@example.eu")
    response = submit(client, world["voucher"])
    assert "Add at least one expense" in text(response)
    with app.app_context():
        assert the_voucher(world["voucher"]).status == VoucherStatus.GRANTED.value


# --- frozen after submission; closed after the claim-by date ---------------------------------------------


def test_the_lines_cannot_change_after_the_submission(app, world):
    client = client_of(app, "alfa@example.eu")
    add_line(client, world["voucher"], travel(world), world["today"], "300.00")
    submit(client, world["voucher"])
    with app.app_context():
        line_id = db.session.scalar(select(ExpenseLine.id))
    # the page offers nothing to change, and the server refuses what is posted anyway
    page = text(client.get(claim_url(world["voucher"])))
    assert "Add an expense" not in page and "/delete" not in page
    response = add_line(client, world["voucher"], travel(world), world["today"], "10.00", description="Late")
    assert "can no longer be changed" in text(response)
    response = post_with_token(client, f"{claim_url(world['voucher'])}/lines/{line_id}/delete")
    assert response.status_code == 302
    again = submit(client, world["voucher"])
    assert "can no longer be" in text(again)
    with app.app_context():
        assert count(ExpenseLine) == 1 and count(StoredFile) == 1
        assert the_voucher(world["voucher"]).status == VoucherStatus.CLAIMED.value
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "voucher.claim_submitted")) == 1
    assert stored_files_on_disk(app) == 1


def test_a_voucher_past_its_claim_by_date_cannot_be_claimed(app, world):
    with app.app_context():
        voucher = db.session.get(Voucher, world["voucher"])
        voucher.valid_until = world["today"] - timedelta(days=1)
        db.session.commit()
    client = client_of(app, "alfa@example.eu")
    page = client.get(claim_url(world["voucher"]))
    assert "The claim period ended" in text(page) and "Add an expense" not in text(page)
    response = add_line(client, world["voucher"], travel(world), world["today"] - timedelta(days=2), "10.00")
    assert "can no longer be changed" in text(response)
    with app.app_context():
        assert count(ExpenseLine) == 0 and count(StoredFile) == 0


# --- who reaches what ------------------------------------------------------------------------------------------


def test_another_sme_cannot_see_claim_or_submit_the_voucher(app, world):
    owner = client_of(app, "alfa@example.eu")
    add_line(owner, world["voucher"], travel(world), world["today"], "300.00")
    with app.app_context():
        line_id = db.session.scalar(select(ExpenseLine.id))
    base = claim_url(world["voucher"])
    for email in ("beta@example.eu", "gamma@example.eu", "staff@example.eu"):
        client = client_of(app, email)
        assert client.get(base).status_code == 404, email
        assert client.get(f"{base}/submit").status_code == 404, email
        token = csrf_from(text(client.get("/")))
        posted = client.post(base, data={"csrf_token": token, "category_id": str(travel(world)),
                                         "spent_on": world["today"].isoformat(), "description": "Mine now",
                                         "amount": "10.00", "receipt": (io.BytesIO(PDF), "x.pdf")},
                             content_type="multipart/form-data")
        assert posted.status_code == 404, email
        assert client.post(f"{base}/submit", data={"csrf_token": token, "declaration": "y"}).status_code == 404
        assert client.post(f"{base}/lines/{line_id}/delete", data={"csrf_token": token}).status_code == 404
    # Beta reaches its own voucher, but not Alfa's line through it
    beta = client_of(app, "beta@example.eu")
    assert beta.get(claim_url(world["other"])).status_code == 200
    token = csrf_from(text(beta.get("/")))
    assert beta.post(f"/vouchers/{world['other']}/claim/lines/{line_id}/delete",
                     data={"csrf_token": token}).status_code == 404
    assert beta.get(f"/vouchers/{world['other']}/lines/{line_id}/receipt").status_code == 404
    with app.app_context():
        assert count(ExpenseLine) == 1
        assert the_voucher(world["voucher"]).status == VoucherStatus.GRANTED.value
    anonymous = app.test_client()
    assert anonymous.get(base).status_code == 302
    assert app.test_client().get("/vouchers/999999/claim").status_code == 302
    assert owner.get("/vouchers/999999/claim").status_code == 404


def test_receipts_download_for_the_smes_members_and_staff_only(app, world):
    owner = client_of(app, "alfa@example.eu")
    add_line(owner, world["voucher"], travel(world), world["today"], "300.00", receipt=("ticket.pdf", PDF))
    with app.app_context():
        line_id = db.session.scalar(select(ExpenseLine.id))
    url = f"/vouchers/{world['voucher']}/lines/{line_id}/receipt"
    for email in ("alfa@example.eu", "alfa2@example.eu", "staff@example.eu"):
        response = client_of(app, email).get(url)
        assert response.status_code == 200, email
        assert response.data == PDF
        assert response.mimetype == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
    for email in ("beta@example.eu", "gamma@example.eu"):
        assert client_of(app, email).get(url).status_code == 404, email
    assert app.test_client().get(url).status_code == 302  # to the sign-in page
    assert owner.get(f"/vouchers/{world['voucher']}/lines/{line_id + 1}/receipt").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "voucher.receipt_downloaded")) == 3


# --- home panels -----------------------------------------------------------------------------------------------


def test_the_applicant_home_lists_the_vouchers_to_claim(app, world):
    page = text(client_of(app, "alfa@example.eu").get("/"))
    assert "Vouchers to claim" in page
    assert "EUR 1,500.00" in page and f"/vouchers/{world['voucher']}/claim" in page
    assert f"/vouchers/{world['other']}/claim" not in page
    assert "Vouchers to claim" not in text(client_of(app, "gamma@example.eu").get("/"))
    # once submitted, it is no longer to claim
    client = client_of(app, "alfa@example.eu")
    add_line(client, world["voucher"], travel(world), world["today"], "300.00")
    submit(client, world["voucher"])
    assert "Vouchers to claim" not in text(client.get("/"))


def test_the_staff_home_lists_the_claims_to_review_oldest_first(app, world):
    staff = client_of(app, "staff@example.eu")
    assert "Claims to review" not in text(staff.get("/"))
    beta = client_of(app, "beta@example.eu")
    add_line(beta, world["other"], travel(world), world["today"], "80.00")
    submit(beta, world["other"])
    alfa = client_of(app, "alfa@example.eu")
    add_line(alfa, world["voucher"], travel(world), world["today"], "300.00")
    submit(alfa, world["voucher"])
    page = text(staff.get("/"))
    assert "Claims to review" in page
    assert page.index("Beta Sensori S.p.A.") < page.index("Alfa Meccanica S.r.l.")
    assert f"/vouchers/{world['voucher']}/review" in page
