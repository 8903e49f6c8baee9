"""Notifications: an in-app notice and an e-mail that leaves only after the commit, escaped
HTML, the unread count in the header, and a person's notices kept to that person."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from opsapp.core.models import Notification
from opsapp.core.notifications import notify, unread_count
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_user


@pytest.fixture
def rctx(app):
    """A request context: notify() renders the e-mail with the page layout's context."""
    with app.test_request_context():
        yield
        db.session.remove()


def _notices(user_id: int) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)))


def test_notify_adds_a_notice_and_an_email_sent_only_after_commit(app, rctx, outbox):
    user = make_user("eva@example.eu", full_name="Eva Gialli")
    notice = notify(user, "Your application was received", "generic", message="We will be in touch.",
                    link="/applications/7")
    assert notice is not None and notice.user_id == user.id and notice.read_at is None
    assert "We will be in touch." in notice.body
    assert outbox() == []  # queued, not sent: the transaction could still fail
    db.session.commit()
    [message] = outbox()
    assert message["To"] == "eva@example.eu"
    assert message["Subject"] == "Your application was received"
    text = message.get_body(("plain",)).get_content()
    assert "Hello Eva Gialli," in text and "We will be in touch." in text
    assert "http://localhost/applications/7" in text
    assert [n.subject for n in _notices(user.id)] == ["Your application was received"]


def test_nothing_is_sent_after_a_rollback(app, rctx, outbox):
    user = make_user("rollback@example.eu")
    db.session.commit()
    notify(user, "Never sent", "generic", message="This request failed.")
    db.session.rollback()
    db.session.commit()  # a later commit must not send what the rolled-back work queued
    assert outbox() == []
    assert _notices(user.id) == []


def test_in_app_only_or_email_only(app, rctx, outbox):
    user = make_user("choice@example.eu")
    notify(user, "Only an e-mail", "generic", message="x", in_app=False)
    notify(user, "Only a notice", "generic", message="y", email=False)
    db.session.commit()
    assert [m["Subject"] for m in outbox()] == ["Only an e-mail"]
    assert [n.subject for n in _notices(user.id)] == ["Only a notice"]


def test_an_erased_person_is_not_notified(app, rctx, outbox):
    from opsapp.core.timeutil import utcnow

    user = make_user("gone@example.eu", erased_at=utcnow())
    assert notify(user, "Hello?", "generic", message="x") is None
    db.session.commit()
    assert outbox() == [] and _notices(user.id) == []


def test_user_text_is_escaped_in_the_html_part(app, rctx, outbox):
    user = make_user("html@example.eu", full_name="<b>Bold</b> Name")
    notify(user, "Subject", "generic", message="<script>x</script>")
    db.session.commit()
    [message] = outbox()
    html = message.get_body(("html",)).get_content()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html
    # The plain-text part shows the text as typed.
    assert "<script>x</script>" in message.get_body(("plain",)).get_content()


def test_the_email_is_in_the_recipients_language(app, rctx, outbox):
    user = make_user("it@example.eu", full_name="Ida", locale="it")
    notify(user, "Oggetto", "generic", message="Testo")
    db.session.commit()
    [message] = outbox()
    assert message.get_body(("html",)).get_content().startswith("<!doctype html>\n<html lang=\"it\">")


# --- the pages -----------------------------------------------------------------------------


@pytest.fixture
def two_inboxes(app):
    """Two people with two unread notices each; returns their notices' ids."""
    with app.test_request_context():
        me = make_user("me@example.eu")
        other = make_user("other@example.eu")
        mine = [notify(me, f"Mine {i}", "generic", message="m", email=False).id for i in (1, 2)]
        theirs = [notify(other, f"Theirs {i}", "generic", message="t", email=False,
                         link="/elsewhere").id for i in (1, 2)]
        db.session.commit()
        return {"me": me.id, "other": other.id, "mine": mine, "theirs": theirs}


def _unread_badge(html: str) -> str | None:
    match = re.search(r'Notifications <span class="badge[^"]*">(\d+)<span class="visually-hidden"> unread', html)
    return match.group(1) if match else None


def test_the_unread_count_shows_in_the_header(app, client, two_inboxes):
    login(client, "me@example.eu")
    assert _unread_badge(client.get("/").get_data(as_text=True)) == "2"


def test_the_list_shows_only_ones_own(app, client, two_inboxes):
    login(client, "me@example.eu")
    html = client.get("/notifications").get_data(as_text=True)
    assert "Mine 1" in html and "Mine 2" in html
    assert "Theirs" not in html
    assert "2 notifications" in html


def test_opening_marks_ones_own_as_read(app, client, two_inboxes):
    login(client, "me@example.eu")
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    first = two_inboxes["mine"][0]
    response = client.post(f"/notifications/{first}/open", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert [n.read_at is not None for n in _notices(two_inboxes["me"])] == [True, False]
    assert _unread_badge(client.get("/").get_data(as_text=True)) == "1"


def test_opening_someone_elses_notification_does_nothing_to_it(app, client, two_inboxes):
    login(client, "me@example.eu")
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    theirs = two_inboxes["theirs"][0]
    response = client.post(f"/notifications/{theirs}/open", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications"  # not to the link of their notice
    with app.app_context():
        assert all(n.read_at is None for n in _notices(two_inboxes["other"]))
        assert unread_count(two_inboxes["me"]) == 2


def test_mark_all_read_marks_only_ones_own(app, client, two_inboxes):
    login(client, "me@example.eu")
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    response = client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=True)
    assert "All notifications are marked as read." in response.get_data(as_text=True)
    with app.app_context():
        assert unread_count(two_inboxes["me"]) == 0
        assert unread_count(two_inboxes["other"]) == 2
    assert _unread_badge(client.get("/").get_data(as_text=True)) is None


def test_the_posts_need_a_csrf_token(app, client, two_inboxes):
    login(client, "me@example.eu")
    first = two_inboxes["mine"][0]
    assert client.post(f"/notifications/{first}/open").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    with app.app_context():
        assert unread_count(two_inboxes["me"]) == 2


def test_the_list_needs_a_signed_in_person(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
