"""Vouchers in a real browser, as staff and an SME live them, and a scan of every vouchers page.

(a) The journey of a voucher from grant to payment: staff open the budget view of a scheme and
grant a voucher to an SME for an event outside the region (an amount over the maximum per SME
and over the budget left refused with its figures on the way; the company's de minimis
position shown), and see the budget committed; the SME finds the voucher on its home page and
in "My vouchers", claims two expenses with their receipts (a text file named `.pdf` refused on
the way) and submits after the summary; staff find the claim on their home page, approve one
expense fully and the other partly with a reason, and record the payment; the SME sees the
voucher paid. Staff download the de minimis register as XLSX, which opens in openpyxl.
(b) Every vouchers page of staff and of an SME, on seeded data with vouchers in every state,
scanned in English and in Italian.

Each page is scanned with axe-core (no serious or critical violation); the scans are in the
run's summary with the other browser tests'.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from opsapp.accounts.models import OwnershipLink
from opsapp.calls.models import ProgrammeKind
from opsapp.core import files
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.events.models import EventPhase, Side
from opsapp.vouchers.claiming import RECEIPT_PURPOSE
from opsapp.vouchers.models import ExpenseLine, LineDecision, Voucher, VoucherStatus
from tests.e2e.conftest import axe_scan, open_page, path_of, sign_in, sign_out, switch_language
from tests.e2e.test_call_journeys import Scans, _click, _flash
from tests.factories import make_organisation, make_user
from tests.factories_calls import make_edition
from tests.factories_events import make_event, make_participant
from tests.factories_vouchers import (
    make_cost_categories,
    make_declared_aid,
    make_scheme,
    make_voucher,
)

pytestmark = pytest.mark.e2e

SCHEME = "Meet the Buyer travel vouchers 2027"
EVENT = "Meet the Buyer Lyon 2027"


def _pdf(text: str = "Receipt") -> bytes:
    """A small, well-formed one-page PDF (with its cross-reference table)."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _panel(page, title: str):
    """A panel of the home page, by its title."""
    return page.locator("main section.panel-card", has=page.get_by_role("heading", name=title))


def _tick(scope, box) -> None:
    """Tick a checkbox or a radio button by its label, as a person does (Bootstrap Italia draws the
    box over the input: the label is what takes the click)."""
    scope.locator(f"label[for='{box.get_attribute('id')}']").click()
    assert box.is_checked()


def _amount(text: str) -> str:
    """The figures of an amount as shown ("EUR 1,500.00" -> "1,500.00")."""
    return re.sub(r"[^\d.,]", "", text)


# --- (a) grant, claim, review, payment ------------------------------------------------------------------


def test_a_voucher_goes_from_grant_to_payment_with_receipts(page, db_session, tmp_path):
    make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    sara = make_user("sara.rossi@example.eu", roles=[Role.APPLICANT], full_name="Sara Rossi")
    officina = make_organisation(owner=sara, legal_name="Officina Rossi S.r.l.", size_class="small")
    edition = make_edition(2027, ProgrammeKind.MEET_THE_BUYER)
    event = make_event(name=EVENT, edition_id=edition.id, outside_region=True, venue="Eurexpo, Lyon")
    make_participant(event, Side.SME, user=sara, organisation=officina)
    scheme = make_scheme(budget="5000.00", max_per_sme="2500.00", name=SCHEME, edition_id=edition.id)
    # Another company already holds 3,200.00: 1,800.00 of the budget is left.
    make_voucher(scheme, make_organisation(legal_name="Tessuti Biella S.r.l."), amount="3200.00",
                 purpose="Stand at a fair in Munich")
    # Aid from another grantor: the de minimis position of Officina Rossi is 120,000.00 of 300,000.00.
    make_declared_aid(officina, "120000.00", grantor="Regione Piemonte", granted_on=utcnow().date() - timedelta(days=400))
    scheme_id, officina_id, vat = scheme.id, officina.id, officina.vat_number
    today = utcnow().date()
    db_session.commit()

    # Staff: the budget view, then the grant (refused first, with the figures).
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="Vouchers"))
    assert path_of(page) == "/vouchers/schemes"
    scan()
    _click(page, page.get_by_role("link", name=SCHEME))
    assert path_of(page) == f"/vouchers/schemes/{scheme_id}"
    budget = page.locator("section[aria-labelledby=budget-title]")
    assert "EUR 3,200.00 committed of EUR 5,000.00" in budget.inner_text()
    assert "EUR 1,800.00 available" in budget.inner_text()
    scan()
    _click(page, page.get_by_role("link", name="Grant a voucher"))
    assert path_of(page) == f"/vouchers/schemes/{scheme_id}/grant"
    scan()
    page.get_by_label("Company").select_option(label=f"Officina Rossi S.r.l. ({vat})")
    page.get_by_label("Event").select_option(label=f"{EVENT} (outside the region)")
    page.get_by_label("Purpose").fill("Train to Lyon and a stand at the fair")
    amount = page.get_by_label("Amount (EUR)")
    amount.fill("2600")
    _click(page, page.get_by_role("button", name="Grant the voucher"))
    assert path_of(page) == f"/vouchers/schemes/{scheme_id}/grant"
    assert amount.get_attribute("aria-invalid") == "true"
    assert amount.input_value() == "2600"
    error = page.locator(f"#{amount.get_attribute('id')}-error").inner_text()
    assert "more than the maximum of EUR 2,500.00 per SME" in error
    assert "The scheme has EUR 1,800.00 left of its budget of EUR 5,000.00" in error
    assert page.locator("#error-summary").is_visible()
    position = page.locator("section[aria-labelledby=position-title]").inner_text()
    assert "Officina Rossi S.r.l." in position
    assert "EUR 120,000.00 of aid" in position and "EUR 180,000.00 left under the ceiling of EUR 300,000.00" in position
    scan("grant (over the maximum and the budget)")
    amount.fill("2000")
    _click(page, page.get_by_role("button", name="Grant the voucher"))
    error = page.locator(f"#{amount.get_attribute('id')}-error").inner_text()
    assert "The scheme has EUR 1,800.00 left" in error and "does not fit" in error
    assert "maximum" not in error
    scan("grant (over the budget left)")
    assert db_session.scalar(select(Voucher).where(Voucher.organisation_id == officina_id)) is None  # nothing saved
    db_session.rollback()
    amount.fill("1500.00")
    _click(page, page.get_by_role("button", name="Grant the voucher"))
    assert re.fullmatch(r"/vouchers/\d+", path_of(page))
    voucher_id = int(path_of(page).rsplit("/", 1)[1])
    assert (f"Voucher {voucher_id} of EUR 1,500.00 is granted to Officina Rossi S.r.l.; its members are told."
            in _flash(page))
    assert page.locator("main .badge", has_text="Granted").is_visible()
    scan("voucher (granted)")
    _click(page, page.get_by_role("link", name=SCHEME))
    budget = page.locator("section[aria-labelledby=budget-title]")
    assert "EUR 4,700.00 committed of EUR 5,000.00" in budget.inner_text()
    assert "EUR 300.00 available" in budget.inner_text()
    committed = budget.locator("tbody tr", has=page.get_by_role("link", name="Committed", exact=True))
    assert _amount(committed.locator("td").first.inner_text()) == "4,700.00"
    scan("budget (after the grant)")
    _click(page, committed.get_by_role("link", name="Committed", exact=True))
    assert path_of(page) == f"/vouchers/schemes/{scheme_id}/budget/committed"
    assert page.locator("tbody tr", has_text="Officina Rossi S.r.l.").count() == 1
    scan()
    scan.assert_clean()
    sign_out(page)

    # The SME: the voucher on its home page and in "My vouchers"; the claim with its receipts.
    scan = Scans(page, "applicant")
    sign_in(page, "sara.rossi@example.eu")
    panel = _panel(page, "Vouchers to claim")
    assert "EUR 1,500.00" in panel.inner_text()
    scan("/ (home, a voucher to claim)")
    _click(page, page.locator("#main-navigation").get_by_role("link", name="My vouchers"))
    assert path_of(page) == "/vouchers"
    row = page.locator("tbody tr", has_text=f"Voucher {voucher_id}")
    assert "Officina Rossi S.r.l." in row.inner_text() and "Granted" in row.inner_text()
    scan()
    _click(page, row.get_by_role("link", name=f"Voucher {voucher_id}"))
    assert path_of(page) == f"/vouchers/{voucher_id}"
    conditions = page.locator("section[aria-labelledby=conditions-title]").inner_text()
    assert "Travel" in conditions and "EUR 1,500.00" in conditions
    scan("voucher (granted, the SME)")
    _click(page, page.get_by_role("link", name="Claim the expenses"))
    assert path_of(page) == f"/vouchers/{voucher_id}/claim"
    scan()

    # A text file named .pdf: refused next to the receipt, the rest kept, nothing saved.
    page.get_by_label("Category").select_option(label="Travel")
    page.get_by_label("Date of the expense").fill(today.isoformat())
    page.get_by_label("Description").fill("Train Torino–Lyon and back")
    page.get_by_label("Amount (EUR)").fill("420.00")
    receipt = page.get_by_label("Receipt")
    receipt.set_input_files({"name": "train-ticket.pdf", "mimeType": "application/pdf",
                             "buffer": b"Train Torino-Lyon, 420.00 EUR, paid by card.\n"})
    _click(page, page.get_by_role("button", name="Add the expense"))
    assert path_of(page) == f"/vouchers/{voucher_id}/claim"
    receipt = page.get_by_label("Receipt")
    assert receipt.get_attribute("aria-invalid") == "true"
    assert "The file's content does not match its name (.pdf)" in page.locator(
        f"#{receipt.get_attribute('id')}-error").inner_text()
    assert page.locator("#error-summary").is_visible()
    assert page.get_by_label("Description").input_value() == "Train Torino–Lyon and back"
    assert page.get_by_label("Amount (EUR)").input_value() == "420.00"
    assert page.get_by_text("No expenses yet.").is_visible()
    scan("claim (a receipt refused)")
    assert db_session.scalar(select(ExpenseLine)) is None
    db_session.rollback()
    receipt.set_input_files({"name": "train-ticket.pdf", "mimeType": "application/pdf", "buffer": _pdf("Train")})
    _click(page, page.get_by_role("button", name="Add the expense"))
    assert "The expense “Train Torino–Lyon and back” is added to the claim." in _flash(page)
    page.get_by_label("Category").select_option(label="Accommodation")
    page.get_by_label("Date of the expense").fill(today.isoformat())
    page.get_by_label("Description").fill("Hotel in Lyon, two nights")
    page.get_by_label("Amount (EUR)").fill("380.00")
    page.get_by_label("Receipt").set_input_files({"name": "hotel.pdf", "mimeType": "application/pdf",
                                                  "buffer": _pdf("Hotel")})
    _click(page, page.get_by_role("button", name="Add the expense"))
    assert "The expense “Hotel in Lyon, two nights” is added to the claim." in _flash(page)
    lines = page.locator("section[aria-labelledby=lines-title] tbody tr")
    assert lines.count() == 2
    assert "train-ticket.pdf" in lines.nth(0).inner_text() and "hotel.pdf" in lines.nth(1).inner_text()
    assert "EUR 800.00 claimed of EUR 1,500.00." in page.locator("section[aria-labelledby=lines-title]").inner_text()
    scan("claim (two expenses)")
    _click(page, page.get_by_role("link", name="Check and submit the claim"))
    assert path_of(page) == f"/vouchers/{voucher_id}/claim/submit"
    assert "Total claimed: EUR 800.00 of the voucher's EUR 1,500.00." in page.locator("main").inner_text()
    scan()
    _tick(page, page.get_by_label(re.compile("^I declare that these expenses are real")))
    _click(page, page.get_by_role("button", name="Submit the claim"))
    assert path_of(page) == f"/vouchers/{voucher_id}/claim"
    assert "Your claim of EUR 800.00 is submitted." in _flash(page)
    assert page.get_by_text("It can no longer be changed.").is_visible()
    assert page.get_by_role("button", name="Add the expense").count() == 0
    scan("claim (submitted)")
    scan.assert_clean()
    sign_out(page)

    # Staff: the claim on their home page, the review line by line, the payment.
    scan = Scans(page, "staff")
    sign_in(page, "stefania.staff@example.eu")
    panel = _panel(page, "Claims to review")
    assert "1 claim waits for your review." in panel.inner_text()
    scan("/ (home, a claim to review)")
    _click(page, panel.get_by_role("link", name="Officina Rossi S.r.l."))
    assert path_of(page) == f"/vouchers/{voucher_id}/review"
    scan()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("^train-ticket.pdf")).click()
    assert download.value.suggested_filename == "train-ticket.pdf"
    saved = tmp_path / "train-ticket.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == _pdf("Train")
    first = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("^Line 1: Travel")))
    second = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("^Line 2: Accommodation")))
    _tick(first, first.get_by_label("Approve fully"))
    _tick(second, second.get_by_label("Approve partly"))
    second.get_by_label("Amount approved on line 2 (EUR)").fill("300.00")
    # A partial approval without its reason: refused next to the line, nothing recorded.
    _click(page, page.get_by_role("button", name="Confirm the review"))
    reason = second.get_by_label("Reason for line 2")
    assert reason.get_attribute("aria-invalid") == "true"
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    # The summary links the problem to its field.
    assert summary.locator(f"a[href='#{reason.get_attribute('id')}']").inner_text().startswith("Reason for line 2:")
    assert second.get_by_label("Amount approved on line 2 (EUR)").input_value() == "300.00"
    scan("review (a reason missing)")
    reason.fill("The hotel is paid up to EUR 150.00 a night under the scheme.")
    _click(page, page.get_by_role("button", name="Compute the approved total"))
    assert page.get_by_text("Approved so far: EUR 720.00").is_visible()
    _click(page, page.get_by_role("button", name="Confirm the review"))
    assert "The review is recorded: EUR 720.00 approved. The SME is told." in _flash(page)
    decided = page.locator("main table tbody tr")
    assert "Approved" in decided.nth(0).inner_text()
    assert "Partly approved" in decided.nth(1).inner_text() and "EUR 150.00 a night" in decided.nth(1).inner_text()
    scan("review (recorded)")
    _click(page, page.get_by_role("link", name="Record the payment"))
    assert path_of(page) == f"/vouchers/{voucher_id}/payment"
    assert page.get_by_label("Amount paid (EUR)").input_value() in ("720.00", "720")
    assert page.get_by_label("Date of the payment").input_value() == today.isoformat()
    scan()
    page.get_by_label("Payment reference").fill("CRO 0306 0000 1234 5678")
    _click(page, page.get_by_role("button", name="Record the payment"))
    assert "The payment is recorded. The SME is told." in _flash(page)
    assert "CRO 0306 0000 1234 5678" in page.locator("main").inner_text()
    scan("payment (recorded)")

    # The register: the grant is there, and its XLSX opens in a spreadsheet library.
    _click(page, page.get_by_role("link", name=f"Voucher {voucher_id}"))
    _click(page, page.get_by_role("link", name=SCHEME))
    _click(page, page.get_by_role("link", name="Register of aid granted"))
    assert path_of(page) == f"/vouchers/register?scheme={scheme_id}"
    row = page.locator("tbody tr", has_text="Officina Rossi S.r.l.")
    assert vat in row.inner_text() and "Paid" in row.inner_text()
    scan()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export XLSX").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(saved).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:3] == ["Voucher", "Beneficiary", "VAT or registration number"]
    ours = {r[1]: dict(zip(header, r, strict=False)) for r in rows[1:]}
    assert set(ours) == {"Officina Rossi S.r.l.", "Tessuti Biella S.r.l."}
    entry = ours["Officina Rossi S.r.l."]
    assert entry["Voucher"] == voucher_id and entry["VAT or registration number"] == vat
    assert Decimal(str(entry["Amount granted (EUR)"])) == Decimal("1500")
    assert Decimal(str(entry["Aid counted (EUR)"])) == Decimal("720")
    assert entry["Status"] == "Paid" and entry["Scheme"] == SCHEME
    assert "2023/2831" in entry["Legal basis"]
    scan.assert_clean()
    sign_out(page)

    # The SME: the voucher is paid.
    scan = Scans(page, "applicant")
    sign_in(page, "sara.rossi@example.eu")
    assert _panel(page, "Vouchers to claim").count() == 0
    _click(page, page.locator("#main-navigation").get_by_role("link", name="My vouchers"))
    row = page.locator("tbody tr", has_text=f"Voucher {voucher_id}")
    assert "Paid" in row.inner_text() and "paid EUR 720.00" in row.inner_text()
    _click(page, row.get_by_role("link", name=f"Voucher {voucher_id}"))
    facts = page.locator("section[aria-labelledby=facts-title]").inner_text()
    assert "EUR 720.00 on" in facts and "reference CRO 0306 0000 1234 5678" in facts
    assert page.locator("main .badge", has_text="Paid").is_visible()
    scan("voucher (paid, the SME)")
    scan.assert_clean()

    voucher = db_session.get(Voucher, voucher_id)
    assert (voucher.status, voucher.amount, voucher.approved_amount, voucher.paid_amount, voucher.paid_on) == (
        VoucherStatus.PAID.value, Decimal("1500.00"), Decimal("720.00"), Decimal("720.00"), today)
    assert [(line.decision, line.approved_amount) for line in voucher.lines] == [
        (LineDecision.APPROVED.value, Decimal("420.00")), (LineDecision.PARTLY.value, Decimal("300.00"))]
    db_session.rollback()


# --- (b) every vouchers page, per role, in English and in Italian ------------------------------------------

# The pages each role scans (ids by name, see `_seed_vouchers`), each with a text of the seeded content it must
# show in English: the page is scanned full, not as an empty state.
VOUCHER_PAGES = {
    "staff": {
        "/": "Claims to review",
        "/vouchers/schemes": "Meet the Buyer travel vouchers 2027",
        "/vouchers/schemes/new": "Maximum per SME",
        "/vouchers/schemes/{scheme}": "Where the budget of EUR 20,000.00 stands",
        "/vouchers/schemes/{scheme}/budget/committed": "Officina Rossi S.r.l.",
        "/vouchers/schemes/{scheme}/budget/lapsed": "Officina Rossi S.r.l.",
        "/vouchers/schemes/{scheme}/budget/paid": "paid on",
        "/vouchers/schemes/{scheme}/edit": "cannot be lowered below that",
        "/vouchers/cost-categories": "Coaching per il pitch",
        "/vouchers/cost-categories?edit={category}": "Edit the category travel",
        "/vouchers/register": "Tessuti Biella S.r.l.",
        "/vouchers/register?scheme={scheme}&q=Rossi": "match the filters",
        "/vouchers/schemes/{scheme}/grant": "Choose a company",
        "/vouchers/schemes/{scheme}/grant?organisation={officina}&event={event}": "De minimis position today",
        "/vouchers/{granted}": "Cancel the voucher",
        "/vouchers/{claimed}": "Review the claim",
        "/vouchers/{approved}": "Record the payment",
        "/vouchers/{paid}": "reference CRO 0306 0000 9876 5432",
        "/vouchers/{lapsed}": "The voucher lapsed",
        "/vouchers/{cancelled}": "The company gave up the trip",
        "/vouchers/{services}": "Pitch coaching before the fair",
        "/vouchers": "Vouchers by status",
        "/vouchers?status=claimed": "match the filters",
        "/vouchers/{claimed}/review": "Confirm the review",
        "/vouchers/{approved}/review": "The expenses and the decisions",
        "/vouchers/{approved}/payment": "Record the bank transfer",
        "/vouchers/{paid}/payment": "Paid: EUR 900.00",
        "/organisations/{officina}/aid": "Rossi Logistica S.r.l.",
        "/organisations/{officina}/aid/declare": "Grantor",
    },
    "applicant": {
        "/": "Vouchers to claim",
        "/vouchers": "Meet the Buyer Lyon 2027",
        "/vouchers/{granted}": "Claim the expenses",
        "/vouchers/{claimed}": "waits for the staff's review",
        "/vouchers/{approved}": "Partly approved",
        "/vouchers/{paid}": "reference CRO 0306 0000 9876 5432",
        "/vouchers/{lapsed}": "The voucher lapsed",
        "/vouchers/{cancelled}": "The company gave up the trip",
        "/vouchers/{granted}/claim": "Add an expense",
        "/vouchers/{granted}/claim/submit": "I declare that these expenses are real",
        "/vouchers/{approved}/claim": "The hotel is paid up to EUR 150.00 a night",
        "/organisations/{officina}/aid": "Regione Piemonte",
        "/organisations/{officina}/aid/declare": "Date granted",
    },
}

# Forms sent empty or incomplete (nothing is saved): the page with its error summary and the messages next to
# the fields is scanned too. (path, the submit button)
FORMS_WITH_ERRORS = {
    "staff": [
        ("/vouchers/schemes/new", "main form button[type=submit]"),
        ("/vouchers/schemes/{scheme}/grant", "main form[action$='/grant'] button[type=submit]"),
        ("/vouchers/{granted}", "main form[action$='/cancel'] button[type=submit]"),
        ("/vouchers/{claimed}/review", "main form button[value=confirm]"),
        ("/vouchers/{approved}/payment", "main form[action$='/payment'] button[type=submit]"),
        ("/organisations/{officina}/aid/declare", "main form button[type=submit]"),
    ],
    "applicant": [
        ("/vouchers/{granted}/claim", "main form[enctype] button[type=submit]"),
        ("/vouchers/{granted}/claim/submit", "main form[action$='/submit'] button[type=submit]"),
        ("/organisations/{officina}/aid/declare", "main form button[type=submit]"),
    ],
}


def _receipt(name: str, by, organisation):
    return files.store(FileStorage(stream=io.BytesIO(_pdf(name)), filename=name), purpose=RECEIPT_PURPOSE,
                       uploaded_by=by, organisation_id=organisation.id, allowed=files.RECEIPTS)


def _line(voucher, category, spent_on, description, amount, by, decision=None, approved=None, reason=None):
    line = ExpenseLine(voucher_id=voucher.id, category_id=category.id, spent_on=spent_on, description=description,
                       amount=Decimal(amount), receipt_id=_receipt(f"{category.code}-{voucher.id}.pdf", by,
                                                                    voucher.organisation).id,
                       decision=decision, approved_amount=Decimal(approved) if approved else None,
                       decision_reason=reason)
    voucher.lines.append(line)
    return line


def _seed_vouchers(staff, sara) -> dict[str, int]:
    """A scheme with a voucher of Officina Rossi (Sara's company) in every state, one of another company
    for services, declared aid and linked enterprises; returns the ids the pages are written with."""
    today = utcnow().date()
    now = utcnow()
    officina = make_organisation(owner=sara, legal_name="Officina Rossi S.r.l.", size_class="small")
    logistica = make_organisation(legal_name="Rossi Logistica S.r.l.", size_class="micro")
    officina.ownership_links.append(OwnershipLink(enterprise_name="Rossi Logistica S.r.l.", direction="held",
                                                  enterprise_vat=logistica.vat_number, share_percent=Decimal("75")))
    officina.ownership_links.append(OwnershipLink(enterprise_name="Rossi Holding S.p.A.", direction="holds",
                                                  enterprise_vat="IT09876543210", share_percent=Decimal("60")))
    tessuti = make_organisation(legal_name="Tessuti Biella S.r.l.", size_class="medium")
    edition = make_edition(2027, ProgrammeKind.MEET_THE_BUYER)
    event = make_event(name=EVENT, edition_id=edition.id, outside_region=True, venue="Eurexpo, Lyon",
                       phase=EventPhase.BOOKING)
    make_event(name="Meet the Buyer Torino 2027", edition_id=edition.id)  # in the region: does not qualify
    make_participant(event, Side.SME, user=sara, organisation=officina)
    scheme = make_scheme(budget="20000.00", max_per_sme="2500.00", name=SCHEME, edition_id=edition.id,
                         valid_from=today - timedelta(days=200), valid_until=today + timedelta(days=300))
    travel, accommodation, fee, *_ = make_cost_categories()

    def voucher(status, amount, days_ago, **fields):
        return make_voucher(scheme, fields.pop("organisation", officina), amount=amount, status=status,
                            event_id=fields.pop("event_id", event.id), granted_on=today - timedelta(days=days_ago),
                            valid_until=fields.pop("valid_until", today + timedelta(days=60)),
                            granted_by_id=staff.id, purpose=fields.pop("purpose", None), **fields)

    granted = voucher(VoucherStatus.GRANTED, "1500.00", 5)
    _line(granted, travel, today - timedelta(days=2), "Train Torino–Lyon and back", "420.00", sara)
    claimed = voucher(VoucherStatus.CLAIMED, "1200.00", 40, claimed_at=now - timedelta(days=3),
                      claimed_by_id=sara.id)
    _line(claimed, travel, today - timedelta(days=30), "Flight Torino–Paris", "310.00", sara)
    _line(claimed, fee, today - timedelta(days=28), "Registration at the fair", "450.00", sara)
    approved = voucher(VoucherStatus.APPROVED, "1000.00", 60, claimed_at=now - timedelta(days=20),
                       claimed_by_id=sara.id, approved_amount=Decimal("720.00"),
                       reviewed_at=now - timedelta(days=10), reviewed_by_id=staff.id)
    _line(approved, travel, today - timedelta(days=50), "Train Torino–Lyon and back", "420.00", sara,
          decision=LineDecision.APPROVED.value, approved="420.00")
    _line(approved, accommodation, today - timedelta(days=49), "Hotel in Lyon, two nights", "380.00", sara,
          decision=LineDecision.PARTLY.value, approved="300.00",
          reason="The hotel is paid up to EUR 150.00 a night under the scheme.")
    paid = voucher(VoucherStatus.PAID, "1000.00", 120, claimed_at=now - timedelta(days=90), claimed_by_id=sara.id,
                   approved_amount=Decimal("900.00"), reviewed_at=now - timedelta(days=80),
                   reviewed_by_id=staff.id, paid_amount=Decimal("900.00"), paid_on=today - timedelta(days=70),
                   payment_reference="CRO 0306 0000 9876 5432")
    _line(paid, fee, today - timedelta(days=110), "Stand at the Lyon fair", "900.00", sara,
          decision=LineDecision.APPROVED.value, approved="900.00")
    lapsed = voucher(VoucherStatus.LAPSED, "800.00", 150, valid_until=today - timedelta(days=20),
                     closed_at=now - timedelta(days=19), close_reason="Not claimed by its expiry.")
    cancelled = voucher(VoucherStatus.CANCELLED, "600.00", 30, closed_at=now - timedelta(days=25),
                        close_reason="The company gave up the trip.")
    services = voucher(VoucherStatus.GRANTED, "500.00", 3, organisation=tessuti, event_id=None,
                       purpose="Pitch coaching before the fair")
    make_declared_aid(officina, "120000.00", grantor="Regione Piemonte", granted_on=today - timedelta(days=400),
                      description="Innovation grant")
    make_declared_aid(logistica, "40000.00", grantor="Ministero delle Imprese", granted_on=today - timedelta(days=90))
    return {"scheme": scheme.id, "category": travel.id, "officina": officina.id, "event": event.id,
            "granted": granted.id, "claimed": claimed.id, "approved": approved.id, "paid": paid.id,
            "lapsed": lapsed.id, "cancelled": cancelled.id, "services": services.id}


def _local_links(page) -> list[str]:
    """The links inside `main` to pages of this site (not files, exports or fragments)."""
    found = []
    for href in page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))"):
        if not href.startswith("/") or "export=" in href or href.endswith("/receipt"):
            continue
        if href not in found:
            found.append(href)
    return found


def _scan_pages(page, role: str, lang: str, content: dict[str, str], forms: list[tuple[str, str]]) -> list[str]:
    """Scan each page (and, in English, check its seeded content and that its links lead to a page); then
    send each form incomplete and scan it with its errors."""
    problems: list[str] = []
    checked: set[str] = set()
    for path, expected in content.items():
        response = open_page(page, path)
        status = response.status if response else 0
        if status != 200 or path_of(page).startswith("/login"):
            problems.append(f"{lang} {role} {path}: answered {status}, ended at {path_of(page)}")
            continue
        assert page.locator("html").get_attribute("lang") == lang
        if lang == "en" and expected not in page.locator("main").inner_text():
            problems.append(f"{lang} {role} {path}: the seeded content ({expected!r}) is not shown")
        problems += axe_scan(page, role, lang, path)
        for link in _local_links(page) if lang == "en" else ():
            if link not in checked:
                checked.add(link)
                answer = page.request.get(link, max_redirects=0)
                if answer.status != 200:
                    problems.append(f"{lang} {role} {path}: its link to {link} answers {answer.status}")
    for path, button in forms:
        open_page(page, path)
        with page.expect_navigation():
            page.locator(button).click()
        if not page.locator("#error-summary").is_visible():
            problems.append(f"{lang} {role} {path}: the form sent incomplete shows no error summary")
        targets = page.eval_on_selector_all("#error-summary a[href^='#']", "els => els.map(e => e.getAttribute('href'))")
        if not targets:
            problems.append(f"{lang} {role} {path}: the error summary links to no field")
        for target in targets:
            if page.locator(f"[id='{target[1:]}']").count() != 1:
                problems.append(f"{lang} {role} {path}: the error summary links to {target}, not one field of the page")
        problems += axe_scan(page, role, lang, f"{path} (form with errors)")
    assert checked or lang != "en", "no link was checked"
    return problems


@pytest.mark.parametrize("role", ["staff", "applicant"])
def test_every_vouchers_page_has_no_serious_or_critical_accessibility_violation(page, db_session, role):
    staff = make_user("stefania.staff@example.eu", roles=[Role.STAFF], full_name="Stefania Staff")
    sara = make_user("sara.rossi@example.eu", roles=[Role.APPLICANT], full_name="Sara Rossi")
    ids = _seed_vouchers(staff, sara)
    email = staff.email if role == "staff" else sara.email
    # Nothing is read after the commit: on SQLite a read would open a transaction that blocks the server.
    db_session.commit()
    content = {path.format(**ids): text for path, text in VOUCHER_PAGES[role].items()}
    forms = [(path.format(**ids), button) for path, button in FORMS_WITH_ERRORS[role]]
    sign_in(page, email)
    assert path_of(page) == "/"
    page.on("dialog", lambda dialog: dialog.accept())  # forms asking for a confirmation (cancel a voucher)

    problems = _scan_pages(page, role, "en", content, forms)
    open_page(page, "/")
    switch_language(page, "it")
    problems += _scan_pages(page, role, "it", content, forms)
    assert not problems, f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)
