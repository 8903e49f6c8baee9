"""The decision letters and the evaluation summary report: real Word files, re-opened with
python-docx, checked for what their readers need (the organisation, the outcome in plain
words, each criterion's score, the evaluators' comments without their names, the consensus
justification) and for who may download them, and when."""

from __future__ import annotations

from io import BytesIO

import docx
from sqlalchemy import select

from opsapp.accounts.models import User
from opsapp.calls.models import Assignment, Score
from opsapp.extensions import db
from tests.factories import login
from tests.integration.test_decisions import build_call, decide, logout, moderate

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def decided_call(app, client) -> dict:
    ids = build_call(app)
    login(client, ids["staff"])
    moderate(client, ids["apps"]["Hotel"], ids["criteria"]["Excellence"], "3",
             "The panel agreed that the market study is thin.")
    assert decide(client, ids["call"]).status_code == 302
    logout(client)
    return ids


def text_of(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def letter(client, application_id):
    response = client.get(f"/applications/{application_id}/letter.docx")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == DOCX
    return response, docx.Document(BytesIO(response.data))


def test_each_applicant_gets_its_letter(app, client):
    ids = decided_call(app, client)
    apps, criteria = ids["apps"], ids["criteria"]

    login(client, ids["owners"]["Hotel"])
    response, document = letter(client, apps["Hotel"])
    assert response.headers["Content-Disposition"].startswith('attachment; filename="decision-letter-T-')
    text = text_of(document)
    assert "Hotel Robotics S.r.l." in text
    assert "is on the reserve list, in position 1" in text
    for name, criterion_id in criteria.items():
        assert name in text
        for n in (1, 2, 3):
            assert f"Evaluator {n}: Hotel comment {n} on criterion {criterion_id}." in text
    assert "Final score 3 of 5 (threshold 3)." in text  # the consensus on Excellence
    assert "Final score 4.5 of 5 (threshold 3)." in text
    assert "The panel agreed that the market study is thin." in text
    assert "Total: 11.5 of 15 (overall threshold 10)." in text and "13.75" in text
    for evaluator in ids["evaluator_names"]:
        assert evaluator not in text  # comments are anonymised
    # Real Word structure: Title and headings, a scores table with its header row, page numbers.
    styles = {p.style.name for p in document.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "List Bullet"} <= styles
    scores = document.tables[0]
    assert [c.text for c in scores.rows[0].cells][:3] == ["Criterion", "Weight", "Final score"]
    assert [c.text for c in scores.rows[1].cells][:3] == ["Excellence", "1", "3 / 5"]
    footer = document.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    assert "Regione Piemonte" in document.sections[0].header.paragraphs[0].text

    # Not another organisation's letter.
    assert client.get(f"/applications/{apps['Alpha']}/letter.docx").status_code == 403
    logout(client)

    login(client, ids["owners"]["Alpha"])
    text = text_of(letter(client, apps["Alpha"])[1])
    assert "Alpha Robotics S.r.l. is selected for Accelerator 2027 (rank 1" in text
    assert "Accept or decline your place in opsapp by" in text
    logout(client)

    login(client, ids["owners"]["Golf"])
    text = text_of(letter(client, apps["Golf"])[1])
    assert "is not selected for Accelerator 2027: the application did not reach every threshold" in text
    assert "Thresholds not met: Impact." in text and "Impact | 1.5 | 2 / 5 | 3 | not met" in text
    logout(client)

    login(client, ids["owners"]["India"])
    text = text_of(letter(client, apps["India"])[1])
    assert "does not meet the call's eligibility rules" in text
    assert "The organisation is a large enterprise" in text
    logout(client)

    # Evaluators never get letters; staff get any.
    login(client, ids["evaluators"][0])
    assert client.get(f"/applications/{apps['Hotel']}/letter.docx").status_code == 403
    logout(client)
    login(client, ids["staff"])
    assert "Golf Robotics S.r.l." in text_of(letter(client, apps["Golf"])[1])


def test_the_letter_is_in_the_recipients_language(app, client):
    ids = decided_call(app, client)
    with app.app_context():
        db.session.scalar(select(User).where(User.email == ids["owners"]["Bravo"])).locale = "it"
        db.session.commit()
    login(client, ids["owners"]["Bravo"])
    document = letter(client, ids["apps"]["Bravo"])[1]
    assert document.core_properties.language == "it"
    logout(client)
    login(client, ids["staff"])  # staff download it as the applicant reads it
    assert letter(client, ids["apps"]["Bravo"])[1].core_properties.language == "it"


def test_text_a_word_file_cannot_hold_is_left_out(app, client):
    ids = build_call(app)
    with app.app_context():
        score = db.session.scalars(select(Score).join(Assignment).where(
            Assignment.application_id == ids["apps"]["Golf"]).order_by(Score.id)).first()
        score.comment = "Strong team\x0b and a clear\x07 plan."
        db.session.commit()
    login(client, ids["staff"])
    moderate(client, ids["apps"]["Hotel"], ids["criteria"]["Excellence"], "3", "Agreed.")
    assert decide(client, ids["call"]).status_code == 302
    text = text_of(letter(client, ids["apps"]["Golf"])[1])
    assert "Evaluator 1: Strong team and a clear plan." in text


def test_no_letter_before_the_decision(app, client):
    ids = build_call(app)
    login(client, ids["owners"]["Alpha"])
    assert client.get(f"/applications/{ids['apps']['Alpha']}/letter.docx").status_code == 404
    assert client.get(f"/applications/{ids['apps']['Bravo']}/letter.docx").status_code == 403
    logout(client)
    login(client, ids["staff"])
    assert client.get(f"/applications/{ids['apps']['Alpha']}/letter.docx").status_code == 404
    assert client.get("/applications/999999/letter.docx").status_code == 404


def test_evaluation_summary_report(app, client):
    ids = build_call(app)
    # Before the decision: staff see a provisional report, the authority nothing yet.
    login(client, ids["authority"])
    assert client.get(f"/staff/calls/{ids['call']}/summary.docx").status_code == 404
    logout(client)
    login(client, ids["staff"])
    response = client.get(f"/staff/calls/{ids['call']}/summary.docx")
    assert response.status_code == 200 and "Provisional" in text_of(docx.Document(BytesIO(response.data)))
    logout(client)

    decided_ids = decided_call_again(app, client, ids)
    login(client, ids["authority"])
    response = client.get(f"/staff/calls/{decided_ids['call']}/summary.docx")
    assert response.status_code == 200 and response.mimetype == DOCX
    document = docx.Document(BytesIO(response.data))
    text = text_of(document)
    assert "Provisional" not in text
    for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"):
        assert f"{name} Robotics S.r.l." in text
    assert "India Heavy Industries S.p.A." in text
    assert "3 selected, 3 on the reserve list, 2 not selected, 1 not eligible." in text
    assert "Applications received | 9" in text and "Consensus scores recorded (moderation) | 1" in text
    assert "Evaluations submitted | 24" in text
    for person in ids["evaluator_names"] + ["Alpha Owner", "Stefania Staff"]:
        assert person not in text  # no people's names
    ranking = next(t for t in document.tables if t.rows[0].cells[0].text == "Rank")
    assert [c.text for c in ranking.rows[1].cells][:2] == ["1", "Alpha Robotics S.r.l."]
    assert len(ranking.rows) == 1 + 8
    logout(client)

    for email in (ids["owners"]["Alpha"], ids["evaluators"][0]):
        login(client, email)
        assert client.get(f"/staff/calls/{ids['call']}/summary.docx").status_code == 403
        logout(client)


def decided_call_again(app, client, ids) -> dict:
    login(client, ids["staff"])
    moderate(client, ids["apps"]["Hotel"], ids["criteria"]["Excellence"], "3", "Agreed.")
    assert decide(client, ids["call"]).status_code == 302
    logout(client)
    return ids
