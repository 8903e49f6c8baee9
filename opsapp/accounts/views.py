"""Sign-in, registration, passwords, the second factor and one's own profile."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from opsapp.accounts import bp, second_factor, services
from opsapp.accounts.forms import (
    ChangePasswordForm,
    EmailOnlyForm,
    EmptyForm,
    LoginForm,
    PasswordConfirmForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    SecondFactorForm,
    TotpEnableForm,
)
from opsapp.core import home
from opsapp.core.permissions import public, signed_in
from opsapp.core.redirects import safe_next
from opsapp.extensions import db, limiter


def _failed(response) -> bool:
    """Only failed attempts count towards the sign-in limits."""
    return response.status_code != 302


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _flash_sign_in_notices(user) -> None:
    """What other parts of the application ask the user to do, at every sign-in (a survey to answer)."""
    for message in home.sign_in_notices(user):
        flash(message, "info")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed, scope="login-address")
@limiter.limit(_account_limit, methods=["POST"], deduct_when=_failed, key_func=_account_key, scope="login-account")
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("core.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            result = services.begin_sign_in(form.email.data, form.password.data)
        except services.AccountError as error:
            db.session.commit()  # keep the audit entry of the failed attempt
            form.password.errors.append(str(error))
            return render_template("accounts/login.html", form=form), 200
        target = safe_next(form.next.data)
        if result.needs_second_factor:
            session["pending_next"] = target
            db.session.commit()
            return redirect(url_for("accounts.login_second_factor"))
        db.session.commit()
        flash(_("Welcome back, %(name)s.", name=result.user.display_name), "success")
        _flash_sign_in_notices(result.user)
        return redirect(target or url_for("core.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed, scope="login-address")
@public
def login_second_factor():
    if services.pending_user() is None:
        flash(_("Sign in with your e-mail and password first."), "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        code = form.code.data.strip()
        recovery = not code.replace(" ", "").isdigit()
        target = session.get("pending_next")
        try:
            user = services.finish_second_factor(code, recovery=recovery)
        except services.AccountError as error:
            db.session.commit()
            form.code.errors.append(str(error))
            return render_template("accounts/login_verify.html", form=form), 200
        db.session.commit()
        if recovery:
            flash(_("You used a recovery code. Make new ones if few are left."), "warning")
        _flash_sign_in_notices(user)
        return redirect(target or url_for("core.home"))
    return render_template("accounts/login_verify.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    form = EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        services.sign_out(current_user._get_current_object())
        db.session.commit()
        flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = RegisterForm(locale=session.get("locale", "en"))
    if form.validate_on_submit():
        try:
            services.register(form.email.data, form.full_name.data, form.password.data,
                              locale=form.locale.data, roles=(form.account_type.data,))
        except services.AccountError as error:
            form.password.errors.append(str(error))
            return render_template("accounts/register.html", form=form)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


@bp.route("/confirm/<token>")
@public
def confirm_email(token: str):
    try:
        services.confirm_email(token)
    except services.AccountError as error:
        flash(str(error), "danger")
        return redirect(url_for("accounts.resend_confirmation"))
    db.session.commit()
    flash(_("Your e-mail is confirmed. You can sign in now."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
@public
def resend_confirmation():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data)
        if user and user.email_confirmed_at is None and user.is_active:
            services.send_confirmation(user)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/resend_confirmation.html", form=form)


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
@public
def reset_request():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as error:
            form.password.errors.append(str(error))
            return render_template("accounts/reset_password.html", form=form)
        db.session.commit()
        flash(_("Your password is changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        services.update_profile(user, form.full_name.data, form.locale.data, form.timezone.data)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html", form=form, user=user,
        organisations=services.organisations_of(user),
        recovery_left=second_factor.remaining_recovery_codes(user) if user.totp_enabled else 0,
        must_have_second_factor=second_factor.requires_second_factor(user),
        empty_form=EmptyForm(),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user._get_current_object(), form.current.data, form.password.data)
        except services.WrongPassword as error:
            form.current.errors.append(str(error))
            return render_template("accounts/change_password.html", form=form)
        except services.AccountError as error:
            form.password.errors.append(str(error))
            return render_template("accounts/change_password.html", form=form)
        db.session.commit()
        flash(_("Your password is changed. Other sign-ins have ended."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account/two-step", methods=["GET", "POST"])
@signed_in
def totp_setup():
    user = current_user._get_current_object()
    if user.totp_enabled:
        return redirect(url_for("accounts.profile"))
    secret = session.get("totp_pending_secret")
    if not secret:
        secret = session["totp_pending_secret"] = second_factor.new_secret()
    form = TotpEnableForm()
    if form.validate_on_submit():
        try:
            codes = services.enable_second_factor(user, secret, form.code.data)
        except services.AccountError as error:
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            session.pop("totp_pending_secret", None)
            return render_template("accounts/recovery_codes.html", codes=codes)
    uri = second_factor.provisioning_uri(user, secret)
    return render_template(
        "accounts/totp_setup.html", form=form, secret=secret, qr=second_factor.qr_data_uri(uri),
        required=second_factor.requires_second_factor(user),
    )


@bp.route("/account/two-step/disable", methods=["GET", "POST"])
@signed_in
def totp_disable():
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            services.disable_second_factor(current_user._get_current_object(), form.password.data)
        except services.AccountError as error:
            form.password.errors.append(str(error))
            return render_template("accounts/totp_disable.html", form=form)
        db.session.commit()
        flash(_("Two-step sign-in is off."), "info")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/totp_disable.html", form=form)


@bp.route("/account/two-step/recovery-codes", methods=["GET", "POST"])
@signed_in
def recovery_codes():
    if not current_user.totp_enabled:
        return redirect(url_for("accounts.totp_setup"))
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(current_user._get_current_object(), form.password.data)
        except services.AccountError as error:
            form.password.errors.append(str(error))
            return render_template("accounts/recovery_codes_new.html", form=form)
        db.session.commit()
        return render_template("accounts/recovery_codes.html", codes=codes)
    return render_template("accounts/recovery_codes_new.html", form=form)
