"""Forms of accounts: sign-in, registration, passwords, second factor, profile, users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from opsapp.accounts.passwords import MAX_LENGTH, password_problems
from opsapp.core.roles import ROLE_LABELS, Role

LANGUAGE_CHOICES = [("en", "English"), ("it", "Italiano")]
TIMEZONE_CHOICES = [(tz, tz) for tz in (
    "Europe/Rome", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
    "Europe/Brussels", "Europe/Vienna", "Europe/Warsaw", "Europe/Helsinki", "Europe/Lisbon", "UTC",
)]


class StrongPassword:
    """Checks the password rules of passwords.py against the e-mail and name typed in the same form."""

    def __call__(self, form, field):
        email = getattr(form, "email", None)
        name = getattr(form, "full_name", None)
        problems = password_problems(field.data or "", email.data if email else "", name.data if name else "")
        if problems:
            raise ValidationError(" ".join(problems))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    next = HiddenField()


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=20)],
                       description=_l("Six digits, or one of your recovery codes."))


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), StrongPassword()],
                             description=_l("At least 12 characters. A short sentence is easy to remember."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])
    account_type = SelectField(_l("I am"), choices=[
        ("applicant", _l("a start-up or SME applying to the programmes")),
        ("buyer", _l("a buyer from a corporate or public body")),
    ], validators=[DataRequired()])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en")
    accept_privacy = BooleanField(_l("I have read the privacy notice"),
                                  validators=[DataRequired(message=_l("You must read and accept the privacy notice."))])


class EmailOnlyForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description=_l("At least 12 characters."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description=_l("At least 12 characters. Other sign-ins will end."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    timezone = SelectField(_l("Time zone"), choices=TIMEZONE_CHOICES)


class TotpEnableForm(FlaskForm):
    code = StringField(_l("Code shown by the app"), validators=[DataRequired(), Length(min=6, max=7)],
                       description=_l("Six digits."))


class PasswordConfirmForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


USER_STATUS_CHOICES = [
    ("active", _l("Active")),
    ("unconfirmed", _l("Not confirmed yet")),
    ("disabled", _l("Disabled")),
    ("erased", _l("Erased")),
]
USER_SORT_CHOICES = [
    ("name", _l("Name (A to Z)")),
    ("-name", _l("Name (Z to A)")),
    ("-created", _l("Newest first")),
    ("created", _l("Oldest first")),
    ("-last_login", _l("Last sign-in, most recent first")),
    ("last_login", _l("Last sign-in, least recent first")),
]


class UserSearchForm(FlaskForm):
    """The filters of the user list, read from the query string (a GET form, so no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or e-mail"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[("", _l("Any role"))] + [(r.value, ROLE_LABELS[r]) for r in Role],
                       validators=[Optional()])
    status = SelectField(_l("Status"), choices=[("", _l("Any status"))] + USER_STATUS_CHOICES,
                         validators=[Optional()])
    sort = SelectField(_l("Sort by"), choices=USER_SORT_CHOICES, default="name", validators=[Optional()])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _role_checkboxes(description=None) -> SelectMultipleField:
    return SelectMultipleField(
        _l("Roles"), choices=[(r.value, ROLE_LABELS[r]) for r in Role],
        validators=[DataRequired(message=_l("Choose at least one role."))],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        description=description,
    )


class UserForm(FlaskForm):
    """An administrator creates an account; the person chooses the password from the invitation."""

    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)], filters=[_strip])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip],
                       description=_l("The invitation to choose a password is sent here."))
    roles = _role_checkboxes(_l("Choose at least one. A person may hold several roles."))
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en",
                         description=_l("The language of the invitation and of the pages."))


class UserRolesForm(FlaskForm):
    roles = _role_checkboxes(_l("The change takes effect at the person's next page."))
