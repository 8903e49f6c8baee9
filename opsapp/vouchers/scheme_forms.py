"""Forms of voucher schemes: the scheme (edition, texts, budget, categories, validity, de minimis
settings), the cost categories (add one; rename, deactivate or delete one), and the register's
filters (GET, kept in the URL).

Amounts are read exactly with `to_money` (through `MoneyText`); the service (`schemes.py`)
checks the rules again (positive amounts, the maximum within the budget, the period, the
budget not below what is committed) and gives the message next to the field.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from opsapp.accounts.organisation_forms import MoneyText
from opsapp.calls.design_forms import CheckboxesField
from opsapp.vouchers import schemes
from opsapp.vouchers.models import DEMINIMIS_CEILING, DEMINIMIS_LEGAL_BASIS, DEMINIMIS_YEARS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DayField(DateField):
    """A date typed like 2027-03-10, with a message people understand; what was typed is kept."""

    def __init__(self, label=None, validators=None, example="2027-03-10", **kwargs):
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)
        self.example = example

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the date like %(example)s.", example=self.example))) from None


class WholeNumber(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter a whole number."))) from None

    def pre_validate(self, form):
        if self.process_errors:  # one message is enough: not the range too
            raise StopValidation()


class CategoryBoxes(CheckboxesField):
    """The eligible categories, with a message people understand for a choice not offered."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = [-1]  # not a number: refused below like any category not offered

    def pre_validate(self, form):
        offered = {value for value, _label in self.choices}
        if any(value not in offered for value in self.data or []):
            raise StopValidation(str(_l("Choose among the active cost categories offered.")))


class ChoiceField(SelectField):
    """A drop-down whose refusal of a value not offered says what to do."""

    def __init__(self, label=None, validators=None, not_offered=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.not_offered = not_offered

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None  # not a number: refused below like any value not offered

    def pre_validate(self, form):
        offered = {value for value, _label in self.choices}
        if self.data not in offered:
            raise StopValidation(str(self.not_offered or _l("Choose one of the values offered.")))


class SchemeForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the name of the scheme.")), Length(max=200, message=_l(
            "Write at most %(max)d characters."))],
        description=_l("For example “Meet the Buyer travel vouchers 2027”. SMEs see it on their voucher."))
    edition_id = ChoiceField(_l("Programme edition"), coerce=int, validators=[
        InputRequired(_l("Choose the programme edition the scheme belongs to."))],
        not_offered=_l("Choose the programme edition the scheme belongs to."),
        description=_l("Usually a Meet the Buyer edition."))
    description = TextAreaField(_l("Description"), filters=[_strip], validators=[Optional(), Length(max=5000)],
                                description=_l("What the vouchers pay for and on which conditions."))
    legal_basis = StringField(_l("Legal basis"), filters=[_strip], default=DEMINIMIS_LEGAL_BASIS,
                              validators=[Optional(), Length(max=300, message=_l("Write at most %(max)d characters."))],
                              description=_l("Shown in the register of aid granted."))
    budget = MoneyText(_l("Total budget (EUR)"), validators=[InputRequired(_l("Enter the total budget in EUR."))],
                       description=_l("For example 150000 or 150000.50."))
    max_per_sme = MoneyText(_l("Maximum per SME (EUR)"),
                            validators=[InputRequired(_l("Enter the maximum amount per SME in EUR."))],
                            description=_l("The most one voucher may be worth. Not above the total budget."))
    category_ids = CategoryBoxes(_l("Eligible cost categories"), coerce=int, validators=[
        DataRequired(_l("Choose at least one eligible cost category."))],
        description=_l("Claims may only include expenses in these categories."))
    valid_from = DayField(_l("Valid from"), example="2027-01-01",
                          validators=[InputRequired(_l("Enter the first day of validity, like 2027-01-01."))])
    valid_until = DayField(_l("Valid until"), example="2027-12-31",
                           validators=[InputRequired(_l("Enter the last day of validity, like 2027-12-31."))],
                           description=_l("After the start. Vouchers are granted and claimed within this period."))
    outside_region_only = BooleanField(_l("Only for events outside the region"), default=True)
    deminimis_ceiling = MoneyText(_l("De minimis ceiling (EUR)"), default=DEMINIMIS_CEILING, validators=[
        InputRequired(_l("Enter the de minimis ceiling in EUR, more than zero (usually 300000)."))],
        description=_l("The most aid a single undertaking may receive over the period: EUR 300,000 under "
                       "Regulation (EU) 2023/2831."))
    deminimis_years = WholeNumber(_l("De minimis period (years)"), default=DEMINIMIS_YEARS, validators=[
        InputRequired(_l("Enter a number of years from 1 to 10 (usually 3).")),
        NumberRange(1, 10, message=_l("Enter a number of years from 1 to 10 (usually 3)."))],
        description=_l("The rolling period over which aid is added up (3 years under the regulation)."))
    warning_percent = WholeNumber(_l("Warn when the headroom falls below (percent)"), default=10, validators=[
        InputRequired(_l("Enter a percentage from 0 to 100.")),
        NumberRange(0, 100, message=_l("Enter a percentage from 0 to 100."))],
        description=_l("A grant that leaves a company less than this share of the ceiling is warned about."))

    def __init__(self, *args, editions=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.edition_id.choices = [(e.id, f"{e.programme.name(locale)} {e.year}") for e in editions]
        self.category_ids.choices = [(c.id, c.name(locale) if c.active else
                                      f"{c.name(locale)} ({_l('inactive')})") for c in categories]

    def scheme_data(self) -> schemes.SchemeData:
        return schemes.SchemeData(
            edition_id=self.edition_id.data, name=self.name.data or "", description=self.description.data,
            legal_basis=self.legal_basis.data, budget=self.budget.data, max_per_sme=self.max_per_sme.data,
            category_ids=list(self.category_ids.data or []), valid_from=self.valid_from.data,
            valid_until=self.valid_until.data, outside_region_only=bool(self.outside_region_only.data),
            deminimis_ceiling=self.deminimis_ceiling.data, deminimis_years=self.deminimis_years.data,
            warning_percent=self.warning_percent.data)


class CategoryForm(FlaskForm):
    """Add a cost category (fields prefixed "new-")."""

    code = StringField(_l("Code"), filters=[_strip], validators=[
        DataRequired(_l("Enter a code, for example trade_fair.")), Length(max=40)],
        description=_l("Lower-case letters, digits and underscores; it never changes."))
    name_en = StringField(_l("English name"), filters=[_strip],
                          validators=[DataRequired(_l("Enter the English name.")), Length(max=120)])
    name_it = StringField(_l("Italian name"), filters=[_strip],
                          validators=[DataRequired(_l("Enter the Italian name.")), Length(max=120)])


class CategoryEditForm(FlaskForm):
    """Rename, deactivate or delete one category: one form per row, its fields prefixed "c<id>-";
    the row's id and the button pressed come in `category` and `action`."""

    name_en = StringField(_l("English name"), filters=[_strip],
                          validators=[DataRequired(_l("Enter the English name.")), Length(max=120)])
    name_it = StringField(_l("Italian name"), filters=[_strip],
                          validators=[DataRequired(_l("Enter the Italian name.")), Length(max=120)])
    active = BooleanField(_l("Active"))


class RegisterFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    scheme = SelectField(_l("Scheme"), validators=[Optional()])
    year = SelectField(_l("Year of grant"), validators=[Optional()])
    q = StringField(_l("Beneficiary or VAT number"), filters=[_strip], validators=[Optional(), Length(max=100)])

    def __init__(self, *args, scheme_choices=(), years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme.choices = [("", _l("Every scheme"))] + [(str(s.id), s.name) for s in scheme_choices]
        self.year.choices = [("", _l("Every year"))] + [(str(y), str(y)) for y in years]

    def filters(self) -> schemes.RegisterFilters:
        """The valid filters; a value that is not among the choices is ignored, not an error page."""
        self.validate()
        values = {name: ("" if self[name].errors else str(self[name].data or ""))
                  for name in ("scheme", "year", "q")}
        values["q"] = values["q"][:100]
        return schemes.RegisterFilters(**values)
