"""Forms of a company's progress: agreeing a milestone, updating one (report, confirm, send back,
mark missed, reopen), an investor introduction and the list's filters (GET), and recording an
obligation fulfilled or waived.

The services (`progress.py`, `followup.py`) check everything again; the forms put the message
next to the field and keep what was typed (an amount is kept as typed text, never a float).
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from opsapp.accounts.organisation_forms import country_choices
from opsapp.cohorts import followup, progress
from opsapp.cohorts.models import IntroductionOutcome, InvestmentType
from opsapp.cohorts.session_forms import DayField


def strip(value):
    return value.strip() if isinstance(value, str) else value


def optional_int(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class MilestoneForm(FlaskForm):
    title = StringField(_l("Milestone"), filters=[strip],
                        validators=[DataRequired(_l("Give the milestone a title.")), Length(max=progress.TITLE_MAX)],
                        description=_l("What the company will have achieved, for example “First export order "
                                       "signed”."))
    theme_id = SelectField(_l("Coaching theme"), coerce=optional_int, validators=[Optional()])
    due_on = DayField(_l("Due date"), validators=[InputRequired(_l("Enter the due date, like 2027-05-31."))])
    evidence = TextAreaField(_l("Evidence expected"), filters=[strip],
                             validators=[Optional(), Length(max=progress.EVIDENCE_MAX)],
                             description=_l("What will show it is achieved; the company completes it when "
                                            "reporting."))

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.theme_id.choices = [(None, _l("No particular theme"))] + [(t.id, t.name(locale)) for t in themes]

    def data_for_service(self) -> progress.MilestoneData:
        return progress.MilestoneData(title=self.title.data or "", theme_id=self.theme_id.data,
                                      due_on=self.due_on.data, evidence=self.evidence.data)


class MilestoneUpdateForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    evidence = TextAreaField(_l("Evidence"), filters=[strip],
                             validators=[Optional(), Length(max=progress.EVIDENCE_MAX)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Optional(), Length(max=progress.NOTE_MAX)])


class IntroductionForm(FlaskForm):
    member_id = SelectField(_l("Company"), coerce=optional_int,
                            validators=[DataRequired(_l("Choose a company of the cohort."))])
    investor_id = SelectField(_l("Investor"), coerce=optional_int, validators=[Optional()],
                              description=_l("An investor already registered; or leave this empty and enter a new "
                                             "one below."))
    new_investor_name = StringField(_l("Name of a new investor"), filters=[strip],
                                    validators=[Optional(), Length(max=followup.NAME_MAX)])
    new_investor_country = SelectField(_l("Country of the new investor"), validators=[Optional()])
    new_investor_vat = StringField(_l("VAT or registration number of the new investor"), filters=[strip],
                                   validators=[Optional(), Length(max=40)],
                                   description=_l("Optional; it avoids registering the same investor twice."))
    introduced_on = DayField(_l("Date of the introduction"),
                              validators=[InputRequired(_l("Enter the date of the introduction, like 2027-03-10."))])
    outcome = SelectField(_l("Outcome"), choices=[(o.value, o.label) for o in IntroductionOutcome],
                          default=IntroductionOutcome.PENDING.value)
    amount = StringField(_l("Amount invested (EUR)"), filters=[strip], validators=[Optional(), Length(max=30)],
                         description=_l("For an investment only, for example 150000 or 150000.50."))
    investment_type = SelectField(_l("Type of investment"), validators=[Optional()],
                                  choices=[("", _l("Choose..."))] + [(t.value, t.label) for t in InvestmentType])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Optional(), Length(max=followup.NOTE_MAX)])

    def __init__(self, *args, members=(), investors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.member_id.choices = [(None, _l("Choose..."))] + [(m.id, m.organisation.legal_name) for m in members]
        self.investor_id.choices = [(None, _l("A new investor (below)"))] + [
            (o.id, f"{o.legal_name} ({o.country})") for o in investors]
        self.new_investor_country.choices = [("", _l("Choose..."))] + country_choices()

    def data_for_service(self) -> followup.IntroductionData:
        return followup.IntroductionData(
            member_id=self.member_id.data, investor_id=self.investor_id.data,
            new_investor_name=self.new_investor_name.data, new_investor_country=self.new_investor_country.data,
            new_investor_vat=self.new_investor_vat.data, introduced_on=self.introduced_on.data,
            outcome=self.outcome.data or "", amount=self.amount.data, investment_type=self.investment_type.data,
            note=self.note.data)


class IntroductionFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    company = SelectField(_l("Company"), validators=[Optional()])
    result = SelectField(_l("Outcome"), validators=[Optional()])  # not "outcome": the id is the new form's

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.company.choices = [("", _l("Every company"))] + [(str(m.id), m.organisation.legal_name) for m in members]
        self.result.choices = [("", _l("Any outcome"))] + [(o.value, o.label) for o in IntroductionOutcome]

    def filters(self) -> followup.IntroductionFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()

        def chosen(field) -> str | None:
            value = field.data or ""
            return value if value and value in {str(k) for k, _ in field.choices} else None

        company = chosen(self.company)
        return followup.IntroductionFilters(member_id=int(company) if company else None,
                                            outcome=chosen(self.result))


class ObligationForm(FlaskForm):
    outcome = RadioField(_l("Record the obligation as"), choices=[
        ("fulfilled", _l("Fulfilled")), ("waived", _l("Waived"))],
        validators=[DataRequired(_l("Choose fulfilled or waived."))])
    on = DayField(_l("Fulfilled on"), validators=[Optional()])
    note = TextAreaField(_l("Note, or the reason for waiving it"), filters=[strip],
                         validators=[Optional(), Length(max=followup.NOTE_MAX)],
                         description=_l("The company reads it. A reason is required to waive the obligation."))
    next = HiddenField()
