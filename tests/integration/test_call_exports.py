"""Exports of a call: each kind in XLSX (re-opened with openpyxl: header row, frozen panes,
numbers as numbers) and in CSV (UTF-8 with BOM, parsed by the csv module), text that looks
like a formula kept as text, every export audited, and only staff may export."""

from __future__ import annotations

import csv
import io

import openpyxl
from sqlalchemy import select

from opsapp.accounts.models import Organisation
from opsapp.calls.models import Score
from opsapp.core.models import AuditEntry
from opsapp.extensions import db
from tests.factories import login
from tests.integration.test_decisions import build_call, logout

EVIL = '=HYPERLINK("http://evil.example","click")'


def prepared(app) -> dict:
    ids = build_call(app)
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.legal_name == "Golf Robotics S.r.l."))
        org.legal_name = EVIL
        score = db.session.scalars(select(Score).order_by(Score.id)).first()
        score.comment = "+SUM(A1:A9)"
        db.session.scalars(select(Score).order_by(Score.id.desc())).first().comment = "bell\x07 rings"
        db.session.commit()
    return ids


def xlsx(client, call_id, kind):
    response = client.get(f"/staff/calls/{call_id}/export.xlsx?kind={kind}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"call-{call_id}-{kind}.xlsx" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    return sheet, [list(r) for r in sheet.iter_rows(values_only=True)]


def csv_rows(client, call_id, kind):
    response = client.get(f"/staff/calls/{call_id}/export.csv?kind={kind}")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_every_kind_as_xlsx(app, client):
    ids = prepared(app)
    login(client, ids["staff"])
    call = ids["call"]

    sheet, rows = xlsx(client, call, "applications")
    header = rows[0]
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["D"].width > 8
    assert header[:4] == ["Receipt number", "Version", "Status", "Organisation"]
    assert "Describe your product and its market" in header and "turnover" in header
    assert len(rows) == 1 + 9
    alpha = next(r for r in rows if r[3] == "Alpha Robotics S.r.l.")
    assert alpha[header.index("turnover")] == 850000 and isinstance(alpha[1], int)
    evil = next(r for r in rows if r[3] == EVIL)  # text, not a formula
    assert evil is not None
    cell = next(c for c in sheet["D"] if c.value == EVIL)
    assert cell.data_type == "s"

    _sheet, rows = xlsx(client, call, "scores")
    assert rows[0][:6] == ["Receipt number", "Organisation", "Evaluation", "Evaluator", "Criterion", "Score"]
    assert len(rows) == 1 + 8 * 3 * 3  # one row per evaluator and criterion
    assert all(isinstance(r[5], (int, float)) for r in rows[1:])
    assert {r[3] for r in rows[1:]} == set(ids["evaluator_names"])
    assert "bell rings" in [r[7] for r in rows]  # a control character XLSX cannot hold is left out

    _sheet, rows = xlsx(client, call, "ranking")
    header = rows[0]
    assert header[:6] == ["Rank", "Outcome", "Reserve position", "Place", "Receipt number", "Organisation"]
    assert rows[1][0] == 1 and rows[1][5] == "Alpha Robotics S.r.l."
    assert rows[1][header.index("Weighted total")] == 17.5
    assert rows[-1][1] == "Not eligible" and rows[-1][5] == "India Heavy Industries S.p.A."
    assert len(rows) == 1 + 9

    _sheet, rows = xlsx(client, call, "eligibility")
    india = next(r for r in rows if r[1] == "India Heavy Industries S.p.A.")
    assert india[3] == "SME (Recommendation 2003/361/EC)" and india[4] == "No"
    assert len(rows) == 1 + 9

    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "call.exported")
                                     .order_by(AuditEntry.id)).all()
        assert [(e.detail["kind"], e.detail["format"]) for e in entries] == [
            ("applications", "xlsx"), ("scores", "xlsx"), ("ranking", "xlsx"), ("eligibility", "xlsx")]
        assert entries[1].detail["rows"] == 72 and entries[0].object_id == str(call)


def test_csv_is_utf8_and_guards_against_formulas(app, client):
    ids = prepared(app)
    login(client, ids["staff"])
    rows = csv_rows(client, ids["call"], "ranking")
    assert rows[0][0] == "Rank" and len(rows) == 1 + 9
    assert rows[1][5] == "Alpha Robotics S.r.l." and rows[1][rows[0].index("Weighted total")] == "17.50"
    assert "'" + EVIL in [r[5] for r in rows]
    rows = csv_rows(client, ids["call"], "scores")
    assert "'+SUM(A1:A9)" in [r[7] for r in rows]
    assert len(rows) == 1 + 72
    rows = csv_rows(client, ids["call"], "applications")
    assert len(rows) == 1 + 9


def test_only_staff_export(app, client):
    ids = prepared(app)
    for email in (ids["evaluators"][0], ids["owners"]["Alpha"], ids["authority"]):
        login(client, email)
        for kind in ("applications", "scores", "ranking", "eligibility"):
            assert client.get(f"/staff/calls/{ids['call']}/export.csv?kind={kind}").status_code == 403
        assert client.get(f"/staff/calls/{ids['call']}/export.xlsx?kind=scores").status_code == 403
        logout(client)
    login(client, ids["staff"])
    assert client.get(f"/staff/calls/{ids['call']}/export.csv?kind=passwords").status_code == 404
    assert client.get(f"/staff/calls/{ids['call']}/export.pdf?kind=scores").status_code == 404
    assert client.get("/staff/calls/99999/export.csv?kind=scores").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.exported")) is None
