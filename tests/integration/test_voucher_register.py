"""The de minimis register through the browser's eyes: every voucher granted with the aid it
counts for (paid, approved or granted amount; nothing for lapsed or cancelled), beneficiary,
VAT number, size class, grant date, scheme and legal basis; filters kept in the URL; CSV
(formulas neutralised) and XLSX (real number and date cells, opened with openpyxl) exports;
staff and admin only. Real database."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from opsapp.calls.models import ProgrammeKind
from opsapp.core.roles import Role
from opsapp.extensions import db
from opsapp.vouchers.models import VoucherStatus
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_edition
from tests.factories_vouchers import make_scheme, make_voucher

D = Decimal


def page_text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def world(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        make_user("admin@example.eu", roles=[Role.ADMIN])
        make_user("authority@example.eu", roles=[Role.AUTHORITY])
        make_user("sme@example.eu", roles=[Role.APPLICANT])
        travel = make_scheme("50000.00", "5000.00", name="Travel vouchers 2030",
                             edition_id=make_edition(2030, ProgrammeKind.MEET_THE_BUYER).id,
                             valid_from=date(2029, 1, 1), valid_until=date(2031, 12, 31))
        stands = make_scheme("20000.00", "3000.00", name="Stand vouchers 2030",
                             edition_id=make_edition(2031, ProgrammeKind.MEET_THE_BUYER).id,
                             legal_basis="Regional law 12/2029, art. 4",
                             valid_from=date(2029, 1, 1), valid_until=date(2031, 12, 31))
        alpina = make_organisation(legal_name="Robotica Alpina S.r.l.", vat_number="IT01234567897",
                                   size_class="small")
        tessile = make_organisation(legal_name="Tessile Biellese S.p.A.", vat_number="IT09876543217",
                                    size_class="medium")
        formula = make_organisation(legal_name='=HYPERLINK("http://evil.example","click")',
                                    vat_number="IT11111111115", size_class=None)
        make_voucher(travel, alpina, "1500.00", VoucherStatus.GRANTED, granted_on=date(2030, 3, 10),
                     valid_until=date(2030, 9, 30))
        make_voucher(travel, tessile, "2000.00", VoucherStatus.APPROVED, approved_amount=D("1750.40"),
                     granted_on=date(2030, 4, 2), valid_until=date(2030, 10, 31))
        make_voucher(travel, alpina, "1200.00", VoucherStatus.PAID, approved_amount=D("1100.00"),
                     paid_amount=D("1099.99"), paid_on=date(2030, 2, 1), granted_on=date(2029, 11, 5),
                     valid_until=date(2030, 1, 31))
        make_voucher(stands, tessile, "900.00", VoucherStatus.LAPSED, granted_on=date(2030, 1, 15),
                     valid_until=date(2030, 3, 15))
        make_voucher(stands, formula, "300.00", VoucherStatus.CANCELLED, granted_on=date(2030, 5, 5),
                     valid_until=date(2030, 8, 5))
        make_voucher(stands, formula, "450.00", VoucherStatus.CLAIMED, granted_on=date(2030, 6, 6),
                     valid_until=date(2030, 9, 6))
        db.session.commit()
        return {"travel": travel.id, "stands": stands.id}


def client_of(app, email):
    client = app.test_client()
    login(client, email)
    return client


@pytest.fixture
def staff(app, world):
    return client_of(app, "staff@example.eu")


def test_the_register_lists_every_grant_with_the_aid_it_counts_for(staff):
    response = staff.get("/vouchers/register")
    assert response.status_code == 200
    html = page_text(response)
    assert "6 grants" in html
    assert "aid counted: EUR 4,800.39" in html  # 1500 + 1750.40 + 1099.99 + 0 + 0 + 450
    assert "kept for 10 years" in html
    for text in ("Robotica Alpina S.r.l.", "IT01234567897", "Small enterprise", "Medium-sized enterprise",
                 "Not classified", "Travel vouchers 2030", "Regional law 12/2029, art. 4",
                 "Regulation (EU) 2023/2831 (de minimis aid)", "EUR 1,099.99", "EUR 1,750.40", "Lapsed",
                 "Cancelled", "Paid", "Claimed"):
        assert text in html, text
    assert '=HYPERLINK(&#34;http://evil.example&#34;,&#34;click&#34;)' in html or "=HYPERLINK(&quot;" in html
    assert html.count("<h1") == 1
    # newest grant first
    assert html.index("Jun 6, 2030") < html.index("Mar 10, 2030") < html.index("Nov 5, 2029")


def test_filters_are_kept_in_the_url_and_narrow_the_list(staff, world):
    html = page_text(staff.get(f"/vouchers/register?scheme={world['stands']}"))
    assert "3 grants" in html and "aid counted: EUR 450.00" in html
    assert f'<option selected value="{world["stands"]}">' in html or \
        f'value="{world["stands"]}" selected' in html or f'selected value="{world["stands"]}"' in html
    assert f"export=csv&amp;scheme={world['stands']}" in html or f"scheme={world['stands']}&amp;export=csv" in html
    html = page_text(staff.get("/vouchers/register?year=2029"))
    assert "1 grant" in html and "EUR 1,099.99" in html and "Tessile" not in html
    html = page_text(staff.get("/vouchers/register?q=tessile"))
    assert "2 grants" in html and "Robotica" not in html
    html = page_text(staff.get("/vouchers/register?q=IT0123"))
    assert "2 grants" in html and "Tessile" not in html
    html = page_text(staff.get("/vouchers/register?q=100%25_"))
    assert "No grant matches these filters" in html
    html = page_text(staff.get("/vouchers/register?year=1999&scheme=abc&q="))  # ignored, not an error
    assert "6 grants" in html


def test_the_csv_export_is_the_register_with_formulas_neutralised(staff, world):
    response = staff.get(f"/vouchers/register?export=csv&scheme={world['stands']}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "de-minimis-register.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Voucher", "Beneficiary", "VAT or registration number", "Size class", "Grant date",
                       "Amount granted (EUR)", "Aid counted (EUR)", "Scheme", "Legal basis", "Status", "Paid on"]
    assert len(rows) == 4
    by_status = {row[9]: row for row in rows[1:]}
    assert by_status["Claimed"][1] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert by_status["Claimed"][4:7] == ["2030-06-06", "450.00", "450.00"]
    assert by_status["Cancelled"][6] == "0.00" and by_status["Lapsed"][6] == "0.00"
    assert by_status["Lapsed"][3] == "Medium-sized enterprise"
    assert by_status["Lapsed"][8] == "Regional law 12/2029, art. 4"


def test_the_xlsx_export_opens_with_real_numbers_and_dates(staff):
    response = staff.get("/vouchers/register?export=xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert sheet.title == "De minimis register"
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 7
    grant_date, granted, counted = (header.index("Grant date"), header.index("Amount granted (EUR)"),
                                    header.index("Aid counted (EUR)"))
    paid = next(r for r in rows[1:] if r[header.index("Status")] == "Paid")
    assert isinstance(paid[grant_date], datetime) and paid[grant_date].date() == date(2029, 11, 5)
    assert isinstance(paid[granted], (int, float)) and paid[granted] == 1200
    assert paid[counted] == pytest.approx(1099.99)
    assert isinstance(paid[header.index("Paid on")], datetime)
    total = sum(D(str(r[counted])) for r in rows[1:])
    assert total == D("4800.39")
    evil = next(r for r in rows[1:] if r[header.index("Status")] == "Claimed")
    assert evil[header.index("Beneficiary")].startswith("'=")
    assert sheet.cell(row=2, column=granted + 1).data_type == "n"


def test_admin_may_open_the_register_and_others_may_not(app, world):
    assert client_of(app, "admin@example.eu").get("/vouchers/register").status_code == 200
    for email in ("authority@example.eu", "sme@example.eu"):
        client = client_of(app, email)
        assert client.get("/vouchers/register").status_code == 403
        assert client.get("/vouchers/register?export=csv").status_code == 403


def test_an_empty_register_says_so(app):
    with app.app_context():
        make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
    html = page_text(client_of(app, "staff@example.eu").get("/vouchers/register"))
    assert "No voucher granted yet" in html and "Export CSV" not in html
