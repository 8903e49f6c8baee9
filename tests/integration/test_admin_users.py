"""User administration through the real pages: the list with its search, filters, sorting,
pagination and CSV export; creating a person and the invitation that lets them in; roles,
disabling, second-factor reset and sign-ins on a person's page; the rules that keep an
administrator from locking the system out; the administrator's home panels."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from opsapp.accounts import admin
from opsapp.accounts.models import Membership, RecoveryCode, User, UserRole, UserSession
from opsapp.core.models import AuditEntry, Notification
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db
from tests.conftest import csrf_from
from tests.factories import login, make_organisation, make_user

NEW_PASSWORD = "a much longer passphrase 2027"
ADMIN_EMAIL = "admin@example.eu"


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(app, client):
    """A client signed in as an administrator (the only one, unless a test adds more)."""
    with app.app_context():
        make_user(ADMIN_EMAIL, roles=[Role.ADMIN], full_name="Ada Admin")
        db.session.commit()
    assert login(client, ADMIN_EMAIL).status_code == 302
    return client


def _token(client, page="/admin/users") -> str:
    return csrf_from(client.get(page).get_data(as_text=True))


def _post(client, url, data=None, page="/admin/users"):
    return client.post(url, data={**(data or {}), "csrf_token": _token(client, page)})


def _make(app, *args, **kwargs) -> int:
    with app.app_context():
        user = make_user(*args, **kwargs)
        db.session.commit()
        return user.id


def _user(app, user_id) -> User:
    """A fresh copy of the user, detached, for assertions."""
    with app.app_context():
        user = db.session.get(User, user_id)
        user.roles  # noqa: B018  (load the roles before the session ends)
        db.session.expunge(user)
        return user


def _listed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/admin/users/(\d+)">', html)]


def _audit(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _signed_in_client(app, email):
    other = app.test_client()
    assert login(other, email).status_code == 302
    return other


def _link(message, path_prefix):
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://localhost(" + re.escape(path_prefix) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


# --- access ------------------------------------------------------------------------------

GET_PAGES = ["/admin/users", "/admin/users/new", "/admin/users/export.csv", "/admin/users/{id}"]
POST_ACTIONS = [
    ("/admin/users/new", {"full_name": "X", "email": "x@example.eu", "roles": "staff", "locale": "en"}),
    ("/admin/users/{id}/roles", {"roles": ["admin"]}),
    ("/admin/users/{id}/disable", {}),
    ("/admin/users/{id}/enable", {}),
    ("/admin/users/{id}/invitation", {}),
    ("/admin/users/{id}/second-factor/reset", {}),
    ("/admin/users/{id}/sessions/revoke", {}),
    ("/admin/users/{id}/sessions/1/revoke", {}),
]


@pytest.mark.parametrize("role", [Role.STAFF, Role.APPLICANT, Role.AUTHORITY, Role.EVALUATOR])
def test_people_without_the_admin_role_are_refused_everywhere(app, client, role):
    me = _make(app, "someone@example.eu", roles=[role])
    assert login(client, "someone@example.eu").status_code == 302
    for page in GET_PAGES:
        assert client.get(page.format(id=me)).status_code == 403, page
    token = csrf_from(client.get("/account").get_data(as_text=True))
    for url, data in POST_ACTIONS:
        r = client.post(url.format(id=me), data={**data, "csrf_token": token})
        assert r.status_code == 403, url
    assert _user(app, me).roles == {role}
    assert _count(app, User) == 1
    assert "/admin/users" not in client.get("/").get_data(as_text=True)  # no "Users" entry


def test_anonymous_visitors_are_sent_to_sign_in(client):
    r = client.get("/admin/users?role=staff")
    assert r.status_code == 302
    assert "/login?next=" in r.headers["Location"]


def test_the_admin_sees_the_users_entry_in_the_navigation(admin_client):
    html = admin_client.get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in html and ">Users<" in html


def test_every_post_needs_the_csrf_token(app, admin_client, outbox):
    person = _make(app, "person@example.eu", roles=[Role.STAFF], totp_secret="JBSWY3DPEHPK3PXP",
                   totp_enabled_at=utcnow())
    users_before = _count(app, User)
    for url, data in POST_ACTIONS:
        r = admin_client.post(url.format(id=person), data=data)
        assert r.status_code == 400, url
    after = _user(app, person)
    assert after.roles == {Role.STAFF}
    assert after.disabled_at is None and after.totp_enabled
    assert _count(app, User) == users_before
    assert outbox() == []


def test_an_unknown_user_is_not_found(admin_client):
    assert admin_client.get("/admin/users/999999").status_code == 404
    assert _post(admin_client, "/admin/users/999999/disable").status_code == 404


# --- the list ----------------------------------------------------------------------------


def test_the_list_shows_everyone_with_roles_status_and_a_count(app, admin_client):
    _make(app, "mario.rossi@example.eu", roles=[Role.STAFF, Role.EVALUATOR], full_name="Mario Rossi")
    _make(app, "late@example.eu", roles=[Role.APPLICANT], full_name="Laura Late", confirmed=False)
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "3 users" in html
    assert "Mario Rossi" in html and "mario.rossi@example.eu" in html
    assert "Evaluator, Programme staff" in html
    assert "Not confirmed yet" in html
    assert "Never" in html  # Mario never signed in


def test_search_matches_name_or_email_without_wildcards(app, admin_client):
    rossi = _make(app, "m.rossi@comune.example.it", roles=[Role.STAFF], full_name="Mario Rossi")
    bianchi = _make(app, "lucia@startup.example.eu", roles=[Role.APPLICANT], full_name="Lucia Bianchi")
    percent = _make(app, "odd@example.eu", roles=[Role.APPLICANT], full_name="Discount 100% Srl")

    assert _listed_ids(admin_client.get("/admin/users?q=ROSSI").get_data(as_text=True)) == [rossi]
    assert _listed_ids(admin_client.get("/admin/users?q=startup.example").get_data(as_text=True)) == [bianchi]
    # "%" and "_" are searched for, not used as wildcards.
    assert _listed_ids(admin_client.get("/admin/users?q=100%25").get_data(as_text=True)) == [percent]
    assert _listed_ids(admin_client.get("/admin/users?q=%25").get_data(as_text=True)) == [percent]
    assert _listed_ids(admin_client.get("/admin/users?q=_").get_data(as_text=True)) == []
    html = admin_client.get("/admin/users?q=nobody-like-this").get_data(as_text=True)
    assert "No user matches these filters" in html
    assert "0 users match" in html and "of 4 users in total" in html


def test_role_and_status_filters(app, admin_client):
    staff = _make(app, "staff@example.eu", roles=[Role.STAFF])
    disabled = _make(app, "gone@example.eu", roles=[Role.STAFF], disabled_at=utcnow())
    unconfirmed = _make(app, "new@example.eu", roles=[Role.APPLICANT], confirmed=False)
    erased = _make(app, "erased-7@invalid", roles=[Role.APPLICANT], erased_at=utcnow(), disabled_at=utcnow())
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))

    def ids(query):
        return set(_listed_ids(admin_client.get("/admin/users?" + query).get_data(as_text=True)))

    assert ids("role=staff") == {staff, disabled}
    assert ids("status=active") == {staff, admin_id}
    assert ids("status=disabled") == {disabled}  # erased wins over disabled
    assert ids("status=unconfirmed") == {unconfirmed}
    assert ids("status=erased") == {erased}
    assert ids("role=staff&status=active") == {staff}
    # An unknown value is ignored, with a message next to the filter, never a 500.
    r = admin_client.get("/admin/users?role=wizard&status=sleeping")
    assert r.status_code == 200
    assert set(_listed_ids(r.get_data(as_text=True))) == {staff, disabled, unconfirmed, erased, admin_id}
    assert "This filter was ignored" in r.get_data(as_text=True)


def test_sorting_by_name_created_and_last_sign_in(app, admin_client):
    now = utcnow()
    a = _make(app, "a@example.eu", full_name="Anna Alpha", created_at=now - timedelta(days=3),
              last_login_at=now - timedelta(days=1))
    b = _make(app, "b@example.eu", full_name="Bruno Beta", created_at=now - timedelta(days=1))
    c = _make(app, "c@example.eu", full_name="Carla Gamma", created_at=now - timedelta(days=2),
              last_login_at=now - timedelta(days=5))

    def order(sort):
        ids = _listed_ids(admin_client.get(f"/admin/users?role=applicant&sort={sort}").get_data(as_text=True))
        return ids

    assert order("name") == [a, b, c]
    assert order("-name") == [c, b, a]
    assert order("-created") == [b, c, a]
    assert order("created") == [a, c, b]
    assert order("-last_login") == [a, c, b]  # never signed in: last
    html = admin_client.get("/admin/users?role=applicant&sort=name").get_data(as_text=True)
    # The header links keep the filters and reverse the current order.
    assert 'href="/admin/users?role=applicant&amp;sort=-name"' in html
    assert 'aria-sort="ascending"' in html


def test_pagination_keeps_the_filters(app, admin_client):
    with app.app_context():
        for n in range(30):
            make_user(f"staff{n:02d}@example.eu", roles=[Role.STAFF], full_name=f"Staff {n:02d}")
        db.session.commit()
    first = admin_client.get("/admin/users?role=staff&sort=name").get_data(as_text=True)
    assert "30 users match" in first
    assert len(_listed_ids(first)) == 25
    assert "Page 1 of 2" in first
    next_link = re.search(r'<a class="page-link" href="([^"]+)">Next', first).group(1).replace("&amp;", "&")
    assert "role=staff" in next_link and "sort=name" in next_link and "page=2" in next_link
    second = admin_client.get(next_link).get_data(as_text=True)
    assert len(_listed_ids(second)) == 5
    assert set(_listed_ids(first)).isdisjoint(_listed_ids(second))


def test_the_list_does_not_query_once_per_row(app, admin_client):
    def statements_for_list():
        seen = []

        def count(*args):
            seen.append(args[2])

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert admin_client.get("/admin/users").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    with app.app_context():
        for _ in range(3):
            make_user(roles=[Role.STAFF, Role.MENTOR])
        db.session.commit()
    few = statements_for_list()
    with app.app_context():
        for _ in range(20):
            make_user(roles=[Role.APPLICANT, Role.BUYER])
        db.session.commit()
    many = statements_for_list()
    assert many == few


def test_csv_export_follows_the_filters_is_audited_and_safe_for_spreadsheets(app, admin_client):
    _make(app, "evil@example.eu", roles=[Role.APPLICANT], full_name="=HYPERLINK(\"http://x\")")
    _make(app, "staff@example.eu", roles=[Role.STAFF], full_name="Giovanna Staff")
    r = admin_client.get("/admin/users/export.csv?role=applicant")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert [row["email"] for row in rows] == ["evil@example.eu"]
    assert rows[0]["full_name"].startswith("'=")  # not a formula
    assert rows[0]["roles"] == "applicant" and rows[0]["status"] == "active"
    entries = _audit(app, "users.exported")
    assert len(entries) == 1
    assert entries[0].detail["rows"] == 1 and entries[0].detail["filters"]["role"] == "applicant"
    # The list's export button carries the same filters.
    html = admin_client.get("/admin/users?role=staff&q=giov").get_data(as_text=True)
    assert "/admin/users/export.csv?q=giov&amp;role=staff" in html


# --- creating a person -------------------------------------------------------------------

GOOD = {"full_name": "Paola Nuova", "email": "paola@region.example.it", "roles": ["staff", "evaluator"],
        "locale": "it"}


@pytest.mark.parametrize("change, field_error", [
    ({"full_name": ""}, "This field is required."),
    ({"email": "not-an-email"}, "Invalid email address."),
    ({"email": ""}, "This field is required."),
    ({"roles": []}, "Choose at least one role."),
    ({"roles": ["wizard"]}, "is not a valid choice"),
    ({"full_name": "x" * 121}, "Field cannot be longer than 120 characters."),
])
def test_bad_input_keeps_what_was_typed_and_saves_nothing(app, admin_client, outbox, change, field_error):
    data = {**GOOD, **change}
    r = _post(admin_client, "/admin/users/new", data, page="/admin/users/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert field_error in html
    assert 'id="error-summary"' in html
    if data["full_name"]:
        assert f'value="{data["full_name"]}"' in html
    if data["email"]:
        assert f'value="{data["email"]}"' in html
    if "staff" in data["roles"]:
        assert re.search(r'<input checked id="roles-\d" name="roles" type="checkbox" value="staff">', html)
    assert _count(app, User) == 1
    assert _audit(app, "user.created") == []
    assert outbox() == []


def test_a_duplicate_email_is_refused_next_to_the_field(app, admin_client, outbox):
    _make(app, "paola@region.example.it", roles=[Role.APPLICANT])
    r = _post(admin_client, "/admin/users/new", {**GOOD, "email": "  Paola@Region.Example.IT "},
              page="/admin/users/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Another account already uses this e-mail address." in html
    assert 'value="Paola Nuova"' in html
    assert _count(app, User) == 2
    assert outbox() == []


def test_a_new_person_is_invited_and_the_link_lets_them_in(app, admin_client, outbox):
    r = _post(admin_client, "/admin/users/new", GOOD, page="/admin/users/new")
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "paola@region.example.it"))
        assert user.roles == {Role.STAFF, Role.EVALUATOR}
        assert user.locale == "it" and user.password_hash is None and user.email_confirmed_at is None
        user_id = user.id
    assert r.headers["Location"].endswith(f"/admin/users/{user_id}")
    page = admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "we sent an invitation to paola@region.example.it" in page
    assert "Not confirmed yet" in page and "Send the invitation again" in page
    created = _audit(app, "user.created")
    assert len(created) == 1 and created[0].detail["roles"] == ["evaluator", "staff"]
    assert len(_audit(app, "user.invited")) == 1

    messages = outbox()
    assert len(messages) == 1 and messages[0]["To"] == "paola@region.example.it"
    link = _link(messages[0], "/password/reset/")

    # Until the person chooses a password, no password opens the account.
    person = app.test_client()
    r = login(person, "paola@region.example.it", NEW_PASSWORD)
    assert r.status_code == 200 and "not correct" in r.get_data(as_text=True)

    token = csrf_from(person.get(link).get_data(as_text=True))
    r = person.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert login(person, "paola@region.example.it", NEW_PASSWORD).status_code == 302
    assert _user(app, user_id).email_confirmed_at is not None

    # The link worked once.
    other = app.test_client()
    token = csrf_from(other.get(link).get_data(as_text=True))
    r = other.post(link, data={"password": "yet another passphrase 99", "confirm": "yet another passphrase 99",
                               "csrf_token": token})
    assert "invalid, already used or expired" in r.get_data(as_text=True)


def test_the_invitation_can_be_sent_again_until_accepted(app, admin_client, outbox):
    _post(admin_client, "/admin/users/new", GOOD, page="/admin/users/new")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == GOOD["email"]))
    r = _post(admin_client, f"/admin/users/{user_id}/invitation")
    assert r.status_code == 302
    assert "A new invitation is on its way" in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(outbox()) == 2
    assert len(_audit(app, "user.invitation_resent")) == 1

    link = _link(outbox()[-1], "/password/reset/")
    person = app.test_client()
    token = csrf_from(person.get(link).get_data(as_text=True))
    person.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})

    page = admin_client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Send the invitation again" not in page
    r = _post(admin_client, f"/admin/users/{user_id}/invitation")
    assert "already accepted the invitation" in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(_audit(app, "user.invitation_resent")) == 1


# --- roles -------------------------------------------------------------------------------


def test_a_role_change_is_audited_notified_and_effective_at_the_next_request(app, admin_client, outbox):
    person = _make(app, "person@example.eu", roles=[Role.APPLICANT])
    their_client = _signed_in_client(app, "person@example.eu")
    assert their_client.get("/admin/users").status_code == 403

    r = _post(admin_client, f"/admin/users/{person}/roles", {"roles": ["applicant", "admin"]})
    assert r.status_code == 302
    assert "are saved" in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert their_client.get("/admin/users").status_code == 200  # same sign-in, new role

    entries = _audit(app, "user.roles_changed")
    assert len(entries) == 1
    assert entries[0].detail == {"before": ["applicant"], "after": ["admin", "applicant"]}
    assert entries[0].object_id == str(person)
    with app.app_context():
        notice = db.session.scalar(select(Notification).where(Notification.user_id == person))
        assert notice is not None and "Administrator, Applicant" in notice.body
    assert outbox()[-1]["To"] == "person@example.eu"

    _post(admin_client, f"/admin/users/{person}/roles", {"roles": ["applicant"]})
    assert their_client.get("/admin/users").status_code == 403
    # The person's page tells the story, with role names, not codes.
    page = admin_client.get(f"/admin/users/{person}").get_data(as_text=True)
    assert "Roles changed" in page and "Administrator, Applicant → Applicant" in page


def test_saving_the_same_roles_changes_nothing(app, admin_client):
    person = _make(app, "person@example.eu", roles=[Role.MENTOR])
    r = _post(admin_client, f"/admin/users/{person}/roles", {"roles": ["mentor"]})
    assert "nothing changed" in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert _audit(app, "user.roles_changed") == []


def test_roles_cannot_be_emptied(app, admin_client):
    person = _make(app, "person@example.eu", roles=[Role.MENTOR])
    r = _post(admin_client, f"/admin/users/{person}/roles", {})
    assert r.status_code == 200
    assert "Choose at least one role." in r.get_data(as_text=True)
    assert _user(app, person).roles == {Role.MENTOR}


def test_an_admin_cannot_remove_their_own_admin_role(app, admin_client):
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))
    _make(app, "second-admin@example.eu", roles=[Role.ADMIN])  # not the last one: still refused
    r = _post(admin_client, f"/admin/users/{me}/roles", {"roles": ["staff"]})
    assert r.status_code == 200
    assert "You cannot remove your own administrator role" in r.get_data(as_text=True)
    assert _user(app, me).roles == {Role.ADMIN}
    # Adding roles to oneself is fine.
    _post(admin_client, f"/admin/users/{me}/roles", {"roles": ["admin", "staff"]})
    assert _user(app, me).roles == {Role.ADMIN, Role.STAFF}


def test_the_last_active_admin_keeps_the_role(app):
    # Through the pages an administrator can only meet this rule in a race: someone removed
    # their own administrator role a moment ago, while their request still holds the old
    # roles. The database, not the request's memory, decides.
    with app.test_request_context():
        stale = make_user("stale@example.eu", roles=[Role.ADMIN])
        last = make_user("last@example.eu", roles=[Role.ADMIN])
        db.session.commit()
        stale.roles  # noqa: B018  (this request read its roles before the other one committed)
        db.session.execute(UserRole.__table__.delete().where(UserRole.user_id == stale.id))
        assert stale.has_role(Role.ADMIN)
        with pytest.raises(admin.AdminError, match="last active administrator"):
            admin.change_roles(stale, last, [Role.STAFF])
        with pytest.raises(admin.AdminError, match="last active administrator"):
            admin.disable_user(stale, last)
        assert last.has_role(Role.ADMIN) and last.disabled_at is None
        # With another active administrator the role can go.
        make_user("new@example.eu", roles=[Role.ADMIN])
        admin.change_roles(stale, last, [Role.STAFF])
        assert not last.has_role(Role.ADMIN)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app):
    with app.app_context():
        a = make_user("a@example.eu", roles=[Role.ADMIN]).id
        b = make_user("b@example.eu", roles=[Role.ADMIN]).id
        db.session.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(actor_id, target_id):
        with app.test_request_context():  # a request of its own, as two browsers would send
            barrier.wait()
            try:
                actor = db.session.get(User, actor_id)
                target = db.session.get(User, target_id)
                admin.change_roles(actor, target, [Role.STAFF])
                db.session.commit()
                outcomes.append("changed")
            except Exception as error:  # AdminError, or 403 once the actor lost the role
                db.session.rollback()
                outcomes.append(type(error).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote, args=(a, b)), threading.Thread(target=demote, args=(b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("changed") == 1, outcomes
    with app.app_context():
        assert len(admin._active_admin_ids()) == 1


# --- status ------------------------------------------------------------------------------


def test_disabling_ends_the_persons_sign_ins_and_enabling_lets_them_back(app, admin_client, outbox):
    person = _make(app, "person@example.eu", roles=[Role.STAFF])
    their_client = _signed_in_client(app, "person@example.eu")
    assert their_client.get("/account").status_code == 200

    r = _post(admin_client, f"/admin/users/{person}/disable")
    assert r.status_code == 302
    assert "is disabled and every sign-in has ended" in admin_client.get(r.headers["Location"]).get_data(as_text=True)

    r = their_client.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    with app.app_context():
        live = db.session.scalar(select(func.count(UserSession.id)).where(
            UserSession.user_id == person, UserSession.revoked_at.is_(None)))
        assert live == 0
    assert len(_audit(app, "user.disabled")) == 1
    assert outbox()[-1]["To"] == "person@example.eu"
    assert "disabled" in login(app.test_client(), "person@example.eu").get_data(as_text=True)

    r = _post(admin_client, f"/admin/users/{person}/disable")
    assert "already disabled" in admin_client.get(r.headers["Location"]).get_data(as_text=True)

    r = _post(admin_client, f"/admin/users/{person}/enable")
    assert r.status_code == 302
    assert len(_audit(app, "user.enabled")) == 1
    assert login(app.test_client(), "person@example.eu").status_code == 302


def test_an_admin_cannot_disable_themselves(app, admin_client):
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))
    page = admin_client.get(f"/admin/users/{me}").get_data(as_text=True)
    assert "Disable the account" not in page
    r = _post(admin_client, f"/admin/users/{me}/disable")
    assert "You cannot disable your own account." in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert _user(app, me).disabled_at is None
    assert admin_client.get("/admin/users").status_code == 200


def test_an_erased_account_cannot_be_changed(app, admin_client):
    person = _make(app, "erased-9@invalid", roles=[Role.APPLICANT], erased_at=utcnow())
    page = admin_client.get(f"/admin/users/{person}").get_data(as_text=True)
    assert "Erased" in page and "Save the roles" not in page
    r = _post(admin_client, f"/admin/users/{person}/roles", {"roles": ["staff"]})
    assert "was erased" in r.get_data(as_text=True)
    assert _user(app, person).roles == {Role.APPLICANT}


# --- second factor and sign-ins ------------------------------------------------------------


def test_resetting_the_second_factor_clears_it_and_tells_the_person(app, admin_client, outbox):
    with app.app_context():
        user = make_user("person@example.eu", roles=[Role.STAFF], totp_secret="JBSWY3DPEHPK3PXP",
                         totp_enabled_at=utcnow(), totp_last_step=123)
        db.session.add_all([RecoveryCode(user_id=user.id, code_hash="x") for _ in range(3)])
        db.session.commit()
        person = user.id
    r = _post(admin_client, f"/admin/users/{person}/second-factor/reset")
    assert r.status_code == 302
    after = _user(app, person)
    assert after.totp_secret is None and after.totp_enabled_at is None and after.totp_last_step is None
    assert _count(app, RecoveryCode) == 0
    assert len(_audit(app, "user.second_factor_reset")) == 1
    assert outbox()[-1]["To"] == "person@example.eu"
    assert "two-step sign-in was reset" in outbox()[-1]["Subject"].lower()
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == person)) == 1
    # Nothing left to reset.
    r = _post(admin_client, f"/admin/users/{person}/second-factor/reset")
    assert "no two-step sign-in to reset" in admin_client.get(r.headers["Location"]).get_data(as_text=True)


def test_an_admin_resets_their_own_second_factor_from_their_profile_only(app, admin_client):
    with app.app_context():
        me = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        me.totp_secret, me.totp_enabled_at = "JBSWY3DPEHPK3PXP", utcnow()
        db.session.commit()
        me_id = me.id
    r = _post(admin_client, f"/admin/users/{me_id}/second-factor/reset")
    assert "from your account page" in admin_client.get(r.headers["Location"]).get_data(as_text=True)
    assert _user(app, me_id).totp_enabled


def test_sign_ins_are_listed_and_can_be_ended_one_by_one_or_all(app, admin_client):
    person = _make(app, "person@example.eu", roles=[Role.MENTOR])
    laptop = _signed_in_client(app, "person@example.eu")
    phone = _signed_in_client(app, "person@example.eu")
    page = admin_client.get(f"/admin/users/{person}").get_data(as_text=True)
    session_ids = [int(n) for n in re.findall(rf"/admin/users/{person}/sessions/(\d+)/revoke", page)]
    assert len(session_ids) == 2

    _post(admin_client, f"/admin/users/{person}/sessions/{max(session_ids)}/revoke")
    assert phone.get("/account").status_code == 302  # the newest sign-in ended
    assert laptop.get("/account").status_code == 200
    assert len(_audit(app, "user.session_revoked")) == 1

    _post(admin_client, f"/admin/users/{person}/sessions/revoke")
    assert laptop.get("/account").status_code == 302
    assert len(_audit(app, "user.sessions_revoked")) == 1
    assert "No active sign-in." in admin_client.get(f"/admin/users/{person}").get_data(as_text=True)


def test_a_sign_in_of_someone_else_cannot_be_ended_through_another_persons_page(app, admin_client):
    victim = _make(app, "victim@example.eu", roles=[Role.MENTOR])
    bystander = _make(app, "bystander@example.eu", roles=[Role.MENTOR])
    victim_client = _signed_in_client(app, "victim@example.eu")
    with app.app_context():
        session_id = db.session.scalar(select(UserSession.id).where(UserSession.user_id == victim))
    r = _post(admin_client, f"/admin/users/{bystander}/sessions/{session_id}/revoke")
    assert r.status_code == 403
    assert victim_client.get("/account").status_code == 200


# --- the person's page -----------------------------------------------------------------


def test_the_persons_page_shows_organisations_and_what_happened(app, admin_client):
    with app.app_context():
        person = make_user("founder@example.eu", roles=[Role.APPLICANT], full_name="Franca Founder")
        make_organisation(owner=person, legal_name="Robotica Alpina S.r.l.")
        db.session.commit()
        person_id = person.id
    _signed_in_client(app, "founder@example.eu")
    _post(admin_client, f"/admin/users/{person_id}/roles", {"roles": ["applicant", "buyer"]})
    page = admin_client.get(f"/admin/users/{person_id}").get_data(as_text=True)
    assert "Franca Founder" in page and "founder@example.eu" in page
    assert "Robotica Alpina S.r.l." in page and "owner" in page
    with app.app_context():
        organisation_id = db.session.scalar(select(Membership.organisation_id).where(Membership.user_id == person_id))
    assert f'href="/organisations/{organisation_id}"' in page
    assert f'href="/audit?object_type=users&amp;object_id={person_id}"' in page
    assert "Signed in" in page  # done by the person
    assert "Roles changed" in page and "by Ada Admin" in page
    assert "login.succeeded" not in page  # words, not codes


# --- home panels -------------------------------------------------------------------------


def test_the_admin_home_shows_people_activity_and_health(app, admin_client):
    from opsapp.jobs import run_job

    _make(app, "s1@example.eu", roles=[Role.STAFF, Role.EVALUATOR])
    _make(app, "s2@example.eu", roles=[Role.STAFF], disabled_at=utcnow())
    _make(app, "a1@example.eu", roles=[Role.APPLICANT], confirmed=False)
    with app.app_context():
        run_job("purge_expired_tokens")
    html = admin_client.get("/").get_data(as_text=True)
    assert "People" in html and "Latest activity" in html and "System health" in html
    # Staff: one active, one disabled; everyone: 2 active (admin and s1), 1 unconfirmed, 1 disabled.
    assert 'href="/admin/users?role=staff&amp;status=active">1<' in html
    assert 'href="/admin/users?role=staff&amp;status=disabled">1<' in html
    assert 'href="/admin/users?status=active">2<' in html
    assert 'href="/admin/users?status=unconfirmed">1<' in html
    assert "Signed in" in html  # the admin's own sign-in is the latest entry
    assert 'href="/audit"' in html
    assert "answers" in html and "1 live sign-in" in html
    assert "purge_expired_tokens" in html and "tokens" in html and "sessions purged" in html


def test_the_grouped_counts_count_each_person_once_in_the_total(ctx):
    actor = make_user(roles=[Role.ADMIN])
    make_user(roles=[Role.STAFF, Role.EVALUATOR, Role.MENTOR])
    counts = admin.role_status_counts(actor)
    assert counts["*"]["active"] == 2
    assert counts["staff"]["active"] == counts["evaluator"]["active"] == counts["admin"]["active"] == 1


def test_other_roles_do_not_get_the_admin_panels(app, client):
    _make(app, "staff@example.eu", roles=[Role.STAFF])
    login(client, "staff@example.eu")
    html = client.get("/").get_data(as_text=True)
    assert "System health" not in html and "Latest activity" not in html


def test_services_refuse_non_admins(ctx):
    from werkzeug.exceptions import Forbidden

    staff = make_user(roles=[Role.STAFF])
    other = make_user(roles=[Role.APPLICANT])
    with pytest.raises(Forbidden):
        admin.change_roles(staff, other, [Role.ADMIN])
    with pytest.raises(Forbidden):
        admin.create_user(staff, full_name="X", email="x@example.eu", roles=[Role.ADMIN])
    with pytest.raises(Forbidden):
        admin.role_status_counts(staff)
    assert other.roles == {Role.APPLICANT}


def test_the_password_of_a_new_account_is_never_set_by_the_admin(app, admin_client):
    # The form has no password field: only the person chooses it through the invitation.
    html = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert 'type="password"' not in html
