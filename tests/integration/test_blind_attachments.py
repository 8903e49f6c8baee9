"""In a blind call an evaluator downloads attachments under a neutral name; staff see the original."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

from opsapp.calls.models import Answer, AssignmentStatus, CallStatus, Question
from opsapp.core import files
from opsapp.core.roles import Role
from opsapp.extensions import db
from tests.factories import login, make_organisation, make_user
from tests.factories_calls import make_application, make_assignment, make_call

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _world(app, blind: bool):
    with app.app_context():
        owner = make_user("founder@example.eu")
        org = make_organisation(owner=owner, legal_name="Secret Robotics S.r.l.")
        call = make_call(CallStatus.IN_EVALUATION, blind=blind)
        question = Question(call_id=call.id, page=1, position=9, kind="file", label="Pitch deck", required=False)
        db.session.add(question)
        db.session.flush()
        application = make_application(call, org)
        with app.test_request_context():
            stored = files.store(FileStorage(io.BytesIO(PDF), filename="secret-robotics-pitch.pdf"),
                                 purpose="application_attachment", organisation_id=org.id)
        answer = db.session.query(Answer).filter_by(application_id=application.id, question_id=question.id).one()
        answer.value, answer.file_id = None, stored.id
        evaluator = make_user("eva@example.eu", roles=[Role.EVALUATOR])
        make_assignment(application, evaluator, status=AssignmentStatus.ACCEPTED)
        make_user("staff@example.eu", roles=[Role.STAFF])
        db.session.commit()
        return f"/applications/{application.id}/files/{stored.id}"


def test_blind_call_hides_the_file_name_from_evaluators(app, client):
    url = _world(app, blind=True)
    login(client, "eva@example.eu")
    r = client.get(url)
    assert r.status_code == 200 and r.data == PDF
    disposition = r.headers["Content-Disposition"]
    assert "secret" not in disposition.lower() and disposition.endswith('.pdf')

    staff = app.test_client()
    login(staff, "staff@example.eu")
    assert "secret-robotics-pitch.pdf" in staff.get(url).headers["Content-Disposition"]


def test_open_call_keeps_the_original_name(app, client):
    url = _world(app, blind=False)
    login(client, "eva@example.eu")
    assert "secret-robotics-pitch.pdf" in client.get(url).headers["Content-Disposition"]
