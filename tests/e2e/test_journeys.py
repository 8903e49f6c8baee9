"""The main journeys in a real browser: sign in and out, a wrong password, two-step sign-in, language."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from opsapp.accounts.models import User
from opsapp.core.roles import Role
from tests.e2e.conftest import open_page, path_of, sign_in, sign_out, switch_language
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def _user(db_session, email: str, roles=(Role.APPLICANT,), **fields) -> None:
    make_user(email, roles=roles, full_name=fields.pop("full_name", "Giulia Rossi"), **fields)
    db_session.commit()


def test_sign_in_lands_on_the_home_page_and_sign_out_ends_the_session(page, db_session):
    _user(db_session, "giulia@example.eu")

    sign_in(page, "giulia@example.eu")
    assert path_of(page) == "/"
    assert page.locator("h1").inner_text() == "Hello, Giulia Rossi"
    assert page.locator("header").get_by_text("Giulia Rossi").is_visible()
    assert "Welcome back" in page.locator(".flash-messages").inner_text()

    sign_out(page)
    assert path_of(page).startswith("/login")
    assert "You are signed out." in page.locator(".flash-messages").inner_text()
    # The session is over: a signed-in page sends the visitor back to the sign-in form.
    open_page(page, "/account")
    assert path_of(page).startswith("/login")
    assert page.locator("input[name=email]").is_visible()


def test_a_wrong_password_shows_the_error_next_to_the_field(page, db_session):
    _user(db_session, "marco@example.eu")

    open_page(page, "/login")
    page.fill("input[name=email]", "marco@example.eu")
    page.fill("input[name=password]", "not the password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert path_of(page).startswith("/login")
    password = page.locator("input[name=password]")
    assert password.get_attribute("aria-invalid") == "true"
    error = page.locator("#" + password.get_attribute("aria-describedby").split()[-1])
    assert error.is_visible()
    assert error.inner_text() == "The e-mail or password is not correct."
    # The summary at the top links to the field, and the e-mail typed is kept.
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert summary.locator("a").get_attribute("href") == "#" + password.get_attribute("id")
    assert page.input_value("input[name=email]") == "marco@example.eu"
    assert page.locator("h1").inner_text() == "Sign in"


def test_two_step_sign_in_enrolment_then_code_then_recovery_code(page, db_session):
    _user(db_session, "anna@example.eu", full_name="Anna Bianchi")
    sign_in(page, "anna@example.eu")

    open_page(page, "/account/two-step")
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    page.get_by_label("Code shown by the app").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("h1").inner_text() == "Your recovery codes"
    codes = page.locator("ul.recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{6}-[0-9a-f]{6}", c) for c in codes)
    user = db_session.scalar(select(User).where(User.email == "anna@example.eu"))
    assert user.totp_enabled
    db_session.rollback()

    # Signing in again asks for the second step after the password.
    sign_out(page)
    sign_in(page, "anna@example.eu")
    assert path_of(page) == "/login/verify"
    assert page.locator("h1").inner_text() == "Two-step sign-in"
    # The current step's code was spent on enrolment and is accepted only once; the
    # server tolerates a phone clock one step ahead, so the next step's code is valid now.
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).at(time.time() + 30))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert path_of(page) == "/"
    assert page.locator("h1").inner_text() == "Hello, Anna Bianchi"

    # Lost phone: a recovery code works once, in place of the app's code.
    sign_out(page)
    sign_in(page, "anna@example.eu")
    assert path_of(page) == "/login/verify"
    page.get_by_label("Code from your authenticator app").fill(codes[0])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert path_of(page) == "/"
    assert "You used a recovery code" in page.locator(".flash-messages").inner_text()

    sign_out(page)
    sign_in(page, "anna@example.eu")
    page.get_by_label("Code from your authenticator app").fill(codes[0])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert path_of(page) == "/login/verify"
    assert page.locator("input[name=code]").get_attribute("aria-invalid") == "true"


def test_the_language_buttons_switch_the_page_to_italian_and_back(page, db_session, context):
    open_page(page, "/login")
    assert page.locator("html").get_attribute("lang") == "en"
    switch_language(page, "it")
    assert path_of(page).startswith("/login")  # the same page, now in Italian
    assert page.locator("header button[lang=it]").get_attribute("aria-current") == "true"
    switch_language(page, "en")

    # Signed in, the choice is saved on the person's profile and follows them to a new sign-in.
    _user(db_session, "luca@example.eu")
    sign_in(page, "luca@example.eu")
    open_page(page, "/account")
    switch_language(page, "it")
    assert path_of(page) == "/account"
    sign_out(page)
    context.clear_cookies()
    sign_in(page, "luca@example.eu")
    assert page.locator("html").get_attribute("lang") == "it"
    switch_language(page, "en")
    assert path_of(page) == "/"
