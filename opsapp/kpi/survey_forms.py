"""Forms of the follow-up surveys: the answers of a survey (with the confirmation of big
changes), a correction of the baseline, and the filters of the staff list (GET).

Figures are text fields: what was typed is kept as typed, and `validation.py` (through the
service) reads it and puts a message next to the field when it cannot.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from opsapp.calls.models import ProgrammeKind
from opsapp.kpi import validation
from opsapp.kpi.followups import STATES, FollowUpFilters
from opsapp.kpi.models import FollowUpGroup, FundingSource


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _amount(label) -> StringField:
    return StringField(label, filters=[strip], validators=[Optional(), Length(max=40)],
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})


def _whole(label) -> StringField:
    return StringField(label, filters=[strip], validators=[Optional(), Length(max=20)],
                       render_kw={"inputmode": "numeric", "autocomplete": "off"})


class SurveyForm(FlaskForm):
    sales = _amount(_l("Sales (EUR)"))
    export_sales = _amount(_l("Export sales (EUR)"))
    employees_fte = _amount(_l("Employees (full-time equivalent)"))
    high_skill_fte = _amount(_l("High-skill employees (full-time equivalent)"))
    funding_raised = _amount(_l("Funding raised (EUR)"))
    funding_source = RadioField(_l("Where the funding came from"), validate_choice=False,
                                choices=[(s.value, s.label) for s in FundingSource])
    new_markets = _whole(_l("New markets entered outside the country"))
    corporate_partnerships = _whole(_l("Partnerships with corporates"))
    contracts_signed = _whole(_l("Contracts signed with buyers met at Meet the Buyer events"))
    contracts_value = _amount(_l("Value of those contracts (EUR)"))
    comment = TextAreaField(_l("Comment (optional)"), filters=[strip],
                            validators=[Optional(), Length(max=validation.COMMENT_MAX)],
                            description=_l("Anything that explains the figures, for example a merger or a change "
                                           "of the financial year."))
    confirm_jumps = BooleanField(_l("These figures are correct"))

    def __init__(self, *args, fiscal_year: int, **kwargs):
        super().__init__(*args, **kwargs)
        for name in validation.FIGURES:  # every figure is needed; the service says so next to the field
            self[name].flags.required = True
        year = fiscal_year
        self.sales.label.text = _l("Sales in %(year)s (EUR)", year=year)
        self.sales.description = _l("Revenue from the sale of goods and services in the financial year %(year)s, "
                                    "without VAT, as in the annual accounts. In euros, like 1250000.", year=year)
        self.export_sales.label.text = _l("Export sales in %(year)s (EUR)", year=year)
        self.export_sales.description = _l("The part of the sales above made with customers outside the country; "
                                           "0 if none.")
        self.employees_fte.label.text = _l("Employees in %(year)s (full-time equivalent)", year=year)
        self.employees_fte.description = _l("The average over the year: someone full time all year counts 1, half "
                                            "time 0.5. Up to two decimals, like 12.5.")
        self.high_skill_fte.description = _l("The part of the employees above with a university degree or in a "
                                             "highly qualified role (researchers, engineers, specialists), in "
                                             "full-time equivalent.")
        self.funding_raised.label.text = _l("Funding raised in %(year)s (EUR)", year=year)
        self.funding_raised.description = _l("Equity, loans and grants received in the year, together; 0 if none.")
        self.funding_source.description = _l("Needed when funding was raised. Public: grants or loans from public "
                                             "bodies; private: investors, banks, companies.")
        self.new_markets.description = _l("Countries other than your own where you started selling in %(year)s; "
                                          "0 if none.", year=year)
        self.corporate_partnerships.description = _l("Collaborations, pilots or joint projects agreed with large "
                                                     "companies in %(year)s; 0 if none.", year=year)
        self.contracts_signed.description = _l("Contracts signed in %(year)s with buyers you met at a Meet the Buyer "
                                               "event that are not already recorded in this application; 0 if "
                                               "none.", year=year)
        self.contracts_value.description = _l("The total value of those contracts; 0 when no contract was signed.")

    def figures(self) -> dict:
        return {name: self[name].data for name in (*validation.FIGURES, "funding_source", "comment")}


class BaselineForm(FlaskForm):
    baseline_year = StringField(_l("Baseline year"), filters=[strip], validators=[Optional(), Length(max=10)],
                                render_kw={"inputmode": "numeric", "autocomplete": "off"},
                                description=_l("The last financial year closed before the programme, like 2026."))
    turnover = _amount(_l("Turnover (EUR)"))
    export_turnover = _amount(_l("Export turnover (EUR)"))
    employees_fte = _amount(_l("Employees (full-time equivalent)"))
    high_skill_fte = _amount(_l("High-skill employees (full-time equivalent)"))
    investment_raised = _amount(_l("Investment raised (EUR)"))
    reason = TextAreaField(_l("Reason for the correction"), filters=[strip],
                           validators=[DataRequired(_l("Give the reason for the correction, for example “figures "
                                                       "from the filed annual accounts”: it is kept in the audit "
                                                       "log.")),
                                       Length(max=validation.REASON_MAX)],
                           description=_l("Where the corrected figures come from; kept in the audit log."))

    def figures(self) -> dict:
        return {name: self[name].data for name in validation.BASELINE_FIELDS}


PROGRAMME_CHOICES = [(ProgrammeKind.ACCELERATOR.value, ProgrammeKind.ACCELERATOR.label),
                     (ProgrammeKind.MEET_THE_BUYER.value, ProgrammeKind.MEET_THE_BUYER.label)]
STATE_LABELS = {
    "open": _l("With a survey to answer"),
    "answered": _l("Every survey answered"),
    "none": _l("No survey yet"),
}


class FollowUpFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    programme = SelectField(_l("Programme"), validators=[Optional()])
    edition = SelectField(_l("Edition"), validators=[Optional()])
    group = SelectField(_l("Group"), validators=[Optional()])
    state = SelectField(_l("Surveys"), validators=[Optional()])

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.programme.choices = [("", _l("Both programmes"))] + [
            (value, label) for value, label in PROGRAMME_CHOICES]
        self.edition.choices = [("", _l("Every edition"))] + [(str(y), str(y)) for y in years]
        self.group.choices = [("", _l("Participants and comparison group"))] + [
            (g.value, g.label) for g in FollowUpGroup]
        self.state.choices = [("", _l("Any"))] + [(s, STATE_LABELS[s]) for s in STATES]

    def filters(self) -> FollowUpFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()

        def chosen(field) -> str | None:
            value = field.data or ""
            return value if value and value in {str(k) for k, _ in field.choices} else None

        edition = chosen(self.edition)
        return FollowUpFilters(programme=chosen(self.programme), edition=int(edition) if edition else None,
                               group=chosen(self.group), state=chosen(self.state))
