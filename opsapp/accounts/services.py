"""Use cases of accounts: register, confirm, sign in and out, reset and change passwords,
manage users. Each changes state, audits and notifies; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass

from flask import session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import func, select

from opsapp.accounts import second_factor, sessions, tokens
from opsapp.accounts.models import Membership, TokenPurpose, User
from opsapp.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from opsapp.core import audit
from opsapp.core.notifications import notify
from opsapp.core.roles import Role
from opsapp.core.timeutil import utcnow
from opsapp.extensions import db


class AccountError(Exception):
    """A refusal with a message for the user."""


class WrongPassword(AccountError):
    """The current password given to confirm a change is not the user's."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).scalar_one_or_none()


# --- registration ------------------------------------------------------------------


def register(email: str, full_name: str, password: str, locale: str = "en",
             roles=(Role.APPLICANT,)) -> User:
    email = normalise_email(email)
    problems = password_problems(password, email, full_name)
    if problems:
        raise AccountError(" ".join(problems))
    if find_by_email(email):
        # Say nothing that confirms the address exists: the owner gets an e-mail instead.
        existing = find_by_email(email)
        notify(existing, _l("Someone tried to register with your e-mail"), "register_existing",
               in_app=False, link=url_for("accounts.reset_request"))
        audit.record("account.register_existing", existing, actor=existing)
        return existing
    user = User(email=email, full_name=full_name.strip(), password_hash=hash_password(password),
                locale=locale, password_changed_at=utcnow())
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    send_confirmation(user)
    audit.record("account.registered", user, actor=user, roles=sorted(str(r) for r in roles))
    return user


def send_confirmation(user: User) -> None:
    token = tokens.issue(user, TokenPurpose.CONFIRM_EMAIL)
    notify(user, _l("Confirm your e-mail address"), "confirm_email", in_app=False,
           link=url_for("accounts.confirm_email", token=token))


def confirm_email(token: str) -> User:
    try:
        user = tokens.consume(token, TokenPurpose.CONFIRM_EMAIL)
    except tokens.TokenInvalid:
        raise AccountError(_l("This confirmation link is invalid, already used or expired.")) from None
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record("account.email_confirmed", user, actor=user)
    return user


# --- signing in ---------------------------------------------------------------------


@dataclass
class SignInResult:
    user: User | None
    needs_second_factor: bool = False


def check_password(email: str, password: str) -> User:
    """The user whose credentials these are; every attempt, good or bad, is audited."""
    user = find_by_email(email)
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None:
        audit.record("login.failed", actor=user, object_type="users",
                     object_id=user.id if user else None, email=normalise_email(email)[:254])
        raise AccountError(_l("The e-mail or password is not correct."))
    if not user.is_active:
        audit.record("login.refused_inactive", user, actor=user)
        raise AccountError(_l("This account is disabled. Contact the programme staff."))
    if user.email_confirmed_at is None:
        audit.record("login.refused_unconfirmed", user, actor=user)
        raise AccountError(_l("Confirm your e-mail address first: we sent you a link. You can ask for a new one below."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def begin_sign_in(email: str, password: str) -> SignInResult:
    user = check_password(email, password)
    if user.totp_enabled:
        session.clear()
        session["pending_user_id"] = user.id
        session["pending_at"] = utcnow().timestamp()
        audit.record("login.password_ok", user, actor=user)
        return SignInResult(user, needs_second_factor=True)
    complete_sign_in(user, second_factor_used=False)
    return SignInResult(user)


PENDING_SECONDS = 300


def pending_user() -> User | None:
    uid = session.get("pending_user_id")
    started = session.get("pending_at", 0)
    if not uid or utcnow().timestamp() - started > PENDING_SECONDS:
        return None
    user = db.session.get(User, uid)
    return user if user and user.is_active else None


def finish_second_factor(code: str, recovery: bool = False) -> User:
    user = pending_user()
    if user is None:
        raise AccountError(_l("Your sign-in took too long. Start again."))
    ok = second_factor.use_recovery_code(user, code) if recovery else second_factor.verify_code(user, code)
    if not ok:
        audit.record("login.second_factor_failed", user, actor=user)
        raise AccountError(_l("That code is not correct. Try the current code from your app."))
    if recovery:
        audit.record("login.recovery_code_used", user, actor=user,
                     remaining=second_factor.remaining_recovery_codes(user))
    complete_sign_in(user, second_factor_used=True)
    return user


def complete_sign_in(user: User, second_factor_used: bool) -> None:
    locale = session.get("locale")
    session.clear()  # a new session: nothing from before the sign-in survives
    if locale:
        session["locale"] = locale
    sessions.start(user, second_factor=second_factor_used)
    login_user(user)
    user.last_login_at = utcnow()
    audit.record("login.succeeded", user, actor=user, second_factor=second_factor_used)


def sign_out(user: User) -> None:
    sessions.revoke(user.get_id())
    audit.record("logout", user, actor=user)
    logout_user()
    session.clear()


# --- passwords ---------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Send a reset link if the account exists; the answer to the user is the same either way."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        audit.record("password.reset_requested_unknown", email=normalise_email(email)[:254])
        return
    token = tokens.issue(user, TokenPurpose.RESET_PASSWORD)
    notify(user, _l("Reset your password"), "reset_password", in_app=False,
           link=url_for("accounts.reset_password", token=token))
    audit.record("password.reset_requested", user, actor=user)


def _password_token_purpose(token: str) -> TokenPurpose:
    """A reset link or an invitation: both let the person choose a password."""
    for purpose in (TokenPurpose.RESET_PASSWORD, TokenPurpose.INVITATION):
        try:
            tokens.peek(token, purpose)
        except tokens.TokenInvalid:
            continue
        return purpose
    raise AccountError(_l("This reset link is invalid, already used or expired. Ask for a new one."))


def reset_password(token: str, new_password: str) -> User:
    purpose = _password_token_purpose(token)
    user = tokens.peek(token, purpose)
    problems = password_problems(new_password, user.email, user.full_name)
    if problems:
        raise AccountError(" ".join(problems))
    tokens.consume(token, purpose)
    _set_password(user, new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the link proved the address
    sessions.revoke_all(user)
    audit.record("password.reset", user, actor=user)
    notify(user, _l("Your password was changed"), "password_changed", in_app=True)
    return user


def change_password(user: User, current: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current):
        raise WrongPassword(_l("Your current password is not correct."))
    problems = password_problems(new_password, user.email, user.full_name)
    if problems:
        raise AccountError(" ".join(problems))
    _set_password(user, new_password)
    # Every other sign-in ends; this one is replaced by a fresh session.
    sessions.revoke_all(user)
    complete_sign_in(user, second_factor_used=user.totp_enabled)
    audit.record("password.changed", user, actor=user)
    notify(user, _l("Your password was changed"), "password_changed", in_app=True)


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


# --- second factor -----------------------------------------------------------------


def enable_second_factor(user: User, secret: str, code: str) -> list[str]:
    if not second_factor.verify_code(user, code, secret=secret):
        raise AccountError(_l("That code is not correct. Check the time on your phone and try the current code."))
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    codes = second_factor.new_recovery_codes(user)
    row = sessions.current_row(user)
    if row is not None:
        row.second_factor_at = utcnow()
    audit.record("second_factor.enabled", user, actor=user)
    notify(user, _l("Two-step sign-in is on"), "second_factor_enabled")
    return codes


def disable_second_factor(user: User, password: str) -> None:
    if second_factor.requires_second_factor(user):
        raise AccountError(_l("Your role requires two-step sign-in; it cannot be turned off."))
    if not verify_password(user.password_hash, password):
        raise AccountError(_l("Your password is not correct."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    second_factor.drop_recovery_codes(user)
    audit.record("second_factor.disabled", user, actor=user)
    notify(user, _l("Two-step sign-in is off"), "second_factor_disabled")


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    if not verify_password(user.password_hash, password):
        raise AccountError(_l("Your password is not correct."))
    codes = second_factor.new_recovery_codes(user)
    audit.record("second_factor.recovery_codes_renewed", user, actor=user)
    return codes


# --- profile ---------------------------------------------------------------------


def update_profile(user: User, full_name: str, locale: str, timezone: str) -> None:
    user.full_name = full_name.strip()
    user.locale = locale
    user.timezone = timezone
    audit.record("account.profile_updated", user, locale=locale, timezone=timezone)


def organisations_of(user: User) -> list:
    return [m.organisation for m in sorted(user.memberships, key=lambda m: m.id)]


def membership(user: User, organisation_id: int) -> Membership | None:
    return next((m for m in user.memberships if m.organisation_id == organisation_id), None)
