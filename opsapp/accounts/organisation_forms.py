"""Forms of the organisation pages: profile, size data, related enterprises, members,
documents, S3 domains, and the filters of the staff list.

Numbers are typed as text and read exactly (never through float): "1500000", "1500000.50"
or "1500000,50" are the same amount. The VAT number, NUTS-2 code and NACE code are
checked here with the same functions the services use, so the user sees every problem
of the form at once.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from opsapp.accounts import organisations
from opsapp.accounts.models import ORGANISATION_KIND_LABELS, MembershipRole
from opsapp.accounts.sme import SizeClass
from opsapp.core.money import MoneyError, to_money

_NUMBER = re.compile(r"\d+(\.\d+)?")
# Codes Babel knows that are not countries (the EU, the UN, unknown, outlying Oceania...).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"}


def country_choices() -> list[tuple[str, str]]:
    """Every country, named in the user's language, sorted by that name."""
    names = Locale.parse(str(get_locale() or "en")).territories
    countries = [(code, name) for code, name in names.items()
                 if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES]
    return sorted(countries, key=lambda c: c[1])


def country_name(code: str | None) -> str:
    names = Locale.parse(str(get_locale() or "en")).territories
    return names.get((code or "").upper(), code or "")


def read_number(raw: str | None) -> Decimal | None:
    """A number typed by a person, exactly: spaces ignored, a single comma read as the decimal point."""
    text = (raw or "").replace("\u00a0", "").replace(" ", "").strip()
    for sign in ("EUR", "€"):
        text = text.removeprefix(sign).removesuffix(sign)
    if not text:
        return None
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


class _NumberProblem(ValueError):
    """A number that reads but breaks a rule; its message is for the user."""


class DecimalText(StringField):
    """A non-negative number with at most two decimals, up to `maximum`; None when left empty."""

    message = _l("Write a number without thousands separators, for example 12.5.")

    def __init__(self, label=None, validators=None, maximum: Decimal = Decimal("99999999.99"), **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)
        self.maximum = maximum

    def process_formdata(self, valuelist):
        try:
            self.data = self.parse(valuelist[0] if valuelist else "")
        except _NumberProblem as problem:
            self.data = None
            raise ValueError(str(problem.args[0])) from None
        except (ValueError, InvalidOperation):
            self.data = None
            raise ValueError(str(self.message)) from None

    def parse(self, raw: str) -> Decimal | None:
        value = read_number(raw)
        if value is None:
            return None
        if value.as_tuple().exponent < -2:
            raise _NumberProblem(_l("Use at most two decimals."))
        if value > self.maximum:
            raise _NumberProblem(_l("This number is too large."))
        return value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]  # what was typed, even when wrong
        return "" if self.data is None else str(self.data)


class MoneyText(DecimalText):
    """An amount in EUR, read with `to_money`."""

    message = _l("Write the amount in euro without thousands separators, for example 1500000 or 1500000.50.")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, maximum=Decimal("999999999999.99"), **kwargs)

    def parse(self, raw: str) -> Decimal | None:
        value = super().parse(raw)
        if value is None:
            return None
        try:
            return to_money(value)
        except MoneyError:
            raise ValueError(self.message) from None


def _checked_by(check):
    """A WTForms validator running one of the services' checks on the field."""

    def validator(form, field):
        try:
            check(form, field.data)
        except organisations.OrganisationError as error:
            raise ValidationError(str(error.message)) from None

    return validator


# --- profile -----------------------------------------------------------------------


class OrganisationForm(FlaskForm):
    kind = SelectField(_l("Kind of organisation"), validators=[DataRequired(message=_l("Choose a kind of organisation."))],
                       choices=[("", _l("Choose..."))] + [(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()])
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(message=_l("Enter the legal name.")), Length(max=200)],
                             description=_l("As in the business register, for example Rossi Meccanica S.r.l."))
    country = SelectField(_l("Country of the registered seat"), validators=[DataRequired(message=_l("Choose the country."))],
                          default="IT")
    vat_number = StringField(
        _l("VAT number or registration number"),
        validators=[DataRequired(message=_l("Enter the VAT or registration number.")), Length(max=40),
                    _checked_by(lambda form, value: organisations.registration_number(form.country.data, value))],
        description=_l("In the EU the VAT number, with or without the country prefix (IT01234567890). "
                       "Elsewhere the company registration number."))
    nuts2_region = StringField(
        _l("NUTS-2 region"), validators=[Length(max=4),
                                         _checked_by(lambda form, value: organisations.nuts2_region(form.country.data, value))],
        description=_l("The statistical region of the registered seat: ITC1 for Piemonte, ITC4 for Lombardia. "
                       "Required in the EU."))
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=16)])
    website = URLField(_l("Website"), validators=[Optional(), URL(message=_l("Write the full address, starting with https://")),
                                                   Length(max=200)])
    founding_date = DateField(_l("Founding date"), validators=[Optional()],
                              description=_l("The date of registration in the business register."))
    nace_code = StringField(_l("NACE code"), validators=[Length(max=10), _checked_by(lambda form, value: organisations.nace_code(value))],
                            description=_l("The main activity, for example 62.01 (computer programming)."))
    s3_domain_ids = SelectMultipleField(_l("S3 domains"), coerce=int, validators=[Optional()],
                                        description=_l("The smart-specialisation domains you work in. Hold Ctrl or Cmd to choose several."))
    description = TextAreaField(_l("What the organisation does"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose..."))] + country_choices()
        locale = str(get_locale() or "en")
        self.s3_domain_ids.choices = [(d.id, d.name(locale)) for d in s3_domains]


# --- size data and related enterprises ---------------------------------------------


class SizeDataForm(FlaskForm):
    staff_headcount = DecimalText(_l("Staff headcount (annual work units)"), validators=[Optional()],
                                  maximum=Decimal("10000000"),
                                  description=_l("Full-time staff of the last closed financial year; part-time and "
                                                 "seasonal work as fractions (a half-time employee is 0.5)."))
    annual_turnover = MoneyText(_l("Annual turnover (EUR)"), validators=[Optional()],
                                description=_l("Of the last closed financial year, without VAT."))
    balance_sheet_total = MoneyText(_l("Balance-sheet total (EUR)"), validators=[Optional()],
                                    description=_l("Total assets of the last closed financial year."))
    public_control = BooleanField(_l("Public bodies control 25% or more of the capital or voting rights"),
                                  description=_l("Then the organisation is not an SME, whatever its figures."))


class OwnershipLinkForm(FlaskForm):
    enterprise_name = StringField(_l("Name of the enterprise"),
                                  validators=[DataRequired(message=_l("Enter the name of the enterprise.")), Length(max=200)])
    enterprise_vat = StringField(_l("Its VAT or registration number"), validators=[Optional(), Length(max=32)])
    direction = RadioField(_l("Who holds the share"), choices=[
        ("holds", _l("This enterprise holds a share of ours")),
        ("held", _l("We hold a share of this enterprise")),
    ], validators=[InputRequired(message=_l("Choose who holds the share."))])
    share_percent = DecimalText(_l("Share of capital or voting rights (%)"),
                                validators=[InputRequired(message=_l("Enter the share."))], maximum=Decimal(100),
                                description=_l("The larger of the two. 25 to 50 makes a partner enterprise (counted "
                                               "pro rata), over 50 a linked one (counted in full); under 25 is not counted."))
    staff_headcount = DecimalText(_l("Its staff headcount (annual work units)"),
                                  validators=[InputRequired(message=_l("Enter its staff headcount."))],
                                  maximum=Decimal("10000000"))
    annual_turnover = MoneyText(_l("Its annual turnover (EUR)"),
                                validators=[InputRequired(message=_l("Enter its annual turnover."))])
    balance_sheet_total = MoneyText(_l("Its balance-sheet total (EUR)"),
                                    validators=[InputRequired(message=_l("Enter its balance-sheet total."))])

    def validate_share_percent(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("The share is a percentage above 0 and at most 100."))


# --- members and documents ---------------------------------------------------------

MEMBER_ROLE_CHOICES = [(MembershipRole.MEMBER.value, _l("Member")),
                       (MembershipRole.OWNER.value, _l("Owner (manages the profile and the members)"))]


class MemberForm(FlaskForm):
    email = EmailField(_l("E-mail of the person"), validators=[DataRequired(message=_l("Enter an e-mail address.")),
                                                               Email(), Length(max=254)],
                       description=_l("They must already have an account."))
    role = SelectField(_l("Role in the organisation"), choices=MEMBER_ROLE_CHOICES, default=MembershipRole.MEMBER.value)
    position = StringField(_l("Position"), validators=[Optional(), Length(max=120)],
                           description=_l("For example CEO or innovation manager."))


class MemberRoleForm(FlaskForm):
    """One per member row, with a prefix so that ids stay unique on the page. The token is the
    page's plain `csrf_token`, checked by the app-wide CSRF protection before the view runs."""

    class Meta:
        csrf = False

    role = SelectField(_l("Role"), choices=MEMBER_ROLE_CHOICES)


class DocumentForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to upload."))],
                     description=_l("PDF, Word, OpenDocument, Excel, PNG or JPEG, up to 10 MB."))
    description = StringField(_l("What it is"), validators=[Optional(), Length(max=255)],
                              description=_l("For example: chamber of commerce certificate, 2026 balance sheet."))


# --- S3 domains and the staff list -------------------------------------------------


class S3DomainForm(FlaskForm):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(message=_l("Enter the English name.")), Length(max=120)])
    name_it = StringField(_l("Name in Italian"), validators=[DataRequired(message=_l("Enter the Italian name.")), Length(max=120)])


class S3DomainRenameForm(S3DomainForm):
    """One per domain row, prefixed like `MemberRoleForm` and protected the same way."""

    class Meta:
        csrf = False


class OrganisationFilterForm(FlaskForm):
    """The filters of the staff list, read from the query string (no CSRF: nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or VAT number"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), validators=[Optional()],
                       choices=[("", _l("Any kind"))] + [(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()])
    country = SelectField(_l("Country"), validators=[Optional()])
    size_class = SelectField(_l("Size class"), validators=[Optional()], choices=[
        ("", _l("Any size")),
        *((c.value, organisations.SIZE_CLASS_LABELS[c]) for c in SizeClass),
        ("none", _l("Not classified")),
    ])
    s3_domain = SelectField(_l("S3 domain"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()], choices=[
        ("", _l("In or out of the region")), ("in", _l("In the region")), ("out", _l("Outside the region")),
    ])
    sort = SelectField(_l("Sort by"), validators=[Optional()], choices=[
        ("name", _l("Name")), ("newest", _l("Newest first")),
    ])

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Any country"))] + country_choices()
        locale = str(get_locale() or "en")
        self.s3_domain.choices = [("", _l("Any domain"))] + [(str(d.id), d.name(locale)) for d in s3_domains]

    def filters(self) -> organisations.OrganisationFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()
        names = ("q", "kind", "country", "size_class", "s3_domain", "region", "sort")
        values = {name: (self[name].data or "") for name in names if not self[name].errors}
        return organisations.OrganisationFilters(**{k: v for k, v in values.items() if v})
