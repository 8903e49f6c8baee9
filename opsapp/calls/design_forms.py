"""Forms of call design: editions, a call's settings, questions, criteria, the staff list's
filters, and the read-only preview of the application form.

Numbers and amounts are read the way people type them (see `accounts.organisation_forms`:
"1500000,50" is an amount). Dates and times are typed as wall-clock times in the call's
time zone; the service turns them into UTC. Each form turns its data into the service's
dataclass, so the views stay thin.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import available_timezones

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from opsapp.accounts.models import ORGANISATION_KIND_LABELS, OrganisationKind
from opsapp.accounts.organisation_forms import DecimalText, MoneyText
from opsapp.calls import design
from opsapp.calls.eligibility import DEMINIMIS_CEILING, RULE_LABELS, RULES
from opsapp.calls.models import Aggregation, CallAudience, CallStatus, ProgrammeKind, QuestionKind
from opsapp.core import files


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes (rendered by the `checkboxes` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LocalDateTimeField(DateTimeLocalField):
    """A date and time typed in the call's zone, with a message people understand."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the date and time like 2027-03-10 12:00."))) from None

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%Y-%m-%dT%H:%M") if self.data else ""


def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in available_timezones() if z.startswith("Europe/"))
    return [(z, z.replace("_", " ")) for z in zones] + [("UTC", "UTC")]


def _positive(message):
    def check(form, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(message)

    return check


# --- editions ------------------------------------------------------------------------


class EditionForm(FlaskForm):
    edition_id = HiddenField()
    programme_id = SelectField(_l("Programme"), coerce=int,
                               validators=[InputRequired(message=_l("Choose a programme."))])
    year = IntegerField(_l("Year"), validators=[InputRequired(message=_l("Enter the year of the edition.")),
                                                NumberRange(2000, 2100, message=_l("Enter a year between 2000 and 2100."))],
                        description=_l("One edition per programme and year."))
    implementing_organisation_id = SelectField(
        _l("Implementing organisation"), validators=[Optional()],
        description=_l("The innovation hub, incubator or technology park that delivers the edition. "
                       "It can be chosen later, after the call that selects it."))
    budget = MoneyText(_l("Budget (EUR)"), validators=[Optional()],
                       description=_l("The money the edition has for its services, in euro."))

    def __init__(self, *args, programmes=(), organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.programme_id.choices = [(p.id, p.name(locale)) for p in programmes]
        self.implementing_organisation_id.choices = [("", _l("Not chosen yet"))] + [
            (str(o.id), f"{o.legal_name} ({o.kind_enum.label})") for o in organisations]

    def edition_data(self) -> design.EditionData:
        org = self.implementing_organisation_id.data
        return design.EditionData(programme_id=self.programme_id.data, year=self.year.data,
                                  implementing_organisation_id=int(org) if org else None, budget=self.budget.data)


# --- the call ------------------------------------------------------------------------


class CallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Enter the title of the call.")),
                                                 Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=500)],
                            description=_l("Two or three sentences shown in the list of calls."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)],
                                description=_l("What the programme offers, for whom, and what the selected receive."))
    edition_id = SelectField(_l("Programme and edition"), coerce=int,
                             validators=[InputRequired(message=_l("Choose the edition."))])
    audience = RadioField(_l("Who applies"), choices=list(design.AUDIENCE_LABELS.items()),
                          default=CallAudience.COMPANIES.value,
                          validators=[InputRequired(message=_l("Choose who the call is for."))])
    timezone = SelectField(_l("Time zone of the dates"), default=design.DEFAULT_TIMEZONE,
                           validators=[InputRequired(message=_l("Choose a time zone."))])
    opens_at = LocalDateTimeField(_l("Opens on"), validators=[Optional()],
                                  description=_l("Date and time in the call's time zone, for example 2027-02-01 09:00."))
    closes_at = LocalDateTimeField(_l("Deadline"), validators=[Optional()],
                                   description=_l("Applications are refused from this minute on."))
    places = IntegerField(_l("Places"), default=10,
                          validators=[InputRequired(message=_l("Enter the number of places.")),
                                      NumberRange(1, 10000, message=_l("A call offers at least 1 place."))],
                          description=_l("How many applicants can be selected; the next ones form the reserve list."))
    s3_domain_ids = CheckboxesField(_l("Priority S3 domains"), coerce=int, validators=[Optional()],
                                    description=_l("Leave all unticked for a call open to every domain."))
    eligible_kinds = CheckboxesField(_l("Kinds of organisation that may apply"),
                                     choices=[(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()],
                                     validators=[Optional()])

    rule_organisation_kind = BooleanField(RULE_LABELS["organisation_kind"],
                                          description=_l("Only the kinds of organisation ticked above may apply."))
    rule_sme = BooleanField(RULE_LABELS["sme"], description=_l("The size class is worked out from the profile."))
    rule_startup_age = BooleanField(RULE_LABELS["startup_age"])
    startup_age_max_years = IntegerField(_l("At most this many years since founding"), default=5,
                                         validators=[Optional(), NumberRange(1, 100, message=_l("Between 1 and 100 years."))])
    rule_seat_in_region = BooleanField(RULE_LABELS["seat_in_region"],
                                       description=_l("Or a signed commitment to move the seat to the region."))
    rule_s3_domain = BooleanField(RULE_LABELS["s3_domain"],
                                  description=_l("At least one of the organisation's domains among the priority ones."))
    rule_business_readiness = BooleanField(RULE_LABELS["business_readiness"])
    business_readiness_min_clients = IntegerField(_l("At least this many paying clients"), default=1,
                                                  validators=[Optional(), NumberRange(0, 100000, message=_l("0 or more clients."))])
    rule_deminimis = BooleanField(RULE_LABELS["deminimis"])
    deminimis_ceiling = MoneyText(_l("De minimis ceiling over three years (EUR)"), default=DEMINIMIS_CEILING,
                                  validators=[Optional()])

    evaluators_per_application = IntegerField(
        _l("Evaluators per application"), default=3,
        validators=[InputRequired(message=_l("Enter how many evaluators score each application.")),
                    NumberRange(1, 10, message=_l("Between 1 and 10 evaluators per application."))])
    evaluation_deadline = LocalDateTimeField(_l("Evaluation deadline"), validators=[Optional()],
                                             description=_l("When evaluators must have submitted their scores."))
    blind = BooleanField(_l("Blind evaluation: evaluators do not see who applied"))
    aggregation = RadioField(_l("Scores of several evaluators are combined by"),
                             choices=list(design.AGGREGATION_LABELS.items()), default=Aggregation.MEAN.value,
                             validators=[InputRequired(message=_l("Choose mean or median."))])
    divergence = DecimalText(_l("Divergence that asks for moderation (points)"), default=Decimal("2"),
                             maximum=Decimal("100"),
                             validators=[InputRequired(message=_l("Enter the divergence.")),
                                         _positive(_l("The divergence must be above 0."))],
                             description=_l("When evaluators' scores on a criterion differ by this much or more, "
                                            "staff record a consensus."))
    overall_threshold = DecimalText(_l("Overall threshold (points)"), maximum=Decimal("10000"), validators=[Optional()],
                                    description=_l("The total an application must reach. Leave empty for two thirds "
                                                   "of the maximum (10 of 15 for three criteria scored to 5)."))

    RULE_FIELDS = {code: f"rule_{code}" for code in RULES}

    def __init__(self, *args, editions=(), s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.edition_id.choices = [(e.id, f"{e.programme.name(locale)} {e.year}") for e in editions]
        self.timezone.choices = timezone_choices()
        self.s3_domain_ids.choices = [(d.id, d.name(locale)) for d in s3_domains]

    # A rule's parameter is required only while the rule is on; `Optional()` would stop an
    # inline validator on an empty field, so the check runs after the others.
    PARAMETER_MESSAGES = {
        "startup_age": _l("Enter the maximum age, or switch the rule off."),
        "business_readiness": _l("Enter the number of clients, or switch the rule off."),
        "deminimis": _l("Enter the ceiling in euro, or switch the rule off."),
    }

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for code, message in self.PARAMETER_MESSAGES.items():
            param = self[f"{code}_{design.RULE_PARAMETERS[code][0]}"]
            if self[f"rule_{code}"].data and not param.errors and (param.data is None or param.data <= 0 and code == "deminimis"):
                param.errors = [*param.errors, str(message)]
                valid = False
        return valid

    def validate_closes_at(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The deadline must come after the opening."))

    def validate_evaluation_deadline(self, field):
        if field.data and self.closes_at.data and field.data <= self.closes_at.data:
            raise ValidationError(_l("The evaluation deadline must come after the call's deadline."))

    @classmethod
    def initial(cls, call=None, edition_id=None) -> dict:
        """What the form shows first: the call's settings, or the defaults of a new call."""
        if call is None:
            rules = design.DEFAULT_RULES
            data = {"edition_id": edition_id, "eligible_kinds": list(design.DEFAULT_ELIGIBLE_KINDS),
                    "timezone": design.DEFAULT_TIMEZONE}
        else:
            rules = call.eligibility_rules or {}
            tz = call.timezone
            data = {name: getattr(call, name) for name in (
                "title", "summary", "description", "edition_id", "audience", "timezone", "places",
                "evaluators_per_application", "blind", "aggregation", "divergence", "overall_threshold")}
            data.update(eligible_kinds=list(call.eligible_kinds or ()), s3_domain_ids=[d.id for d in call.s3_domains],
                        opens_at=design.local_input(call.opens_at, tz), closes_at=design.local_input(call.closes_at, tz),
                        evaluation_deadline=design.local_input(call.evaluation_deadline, tz))
        for code in RULES:
            data[f"rule_{code}"] = code in rules
        for code, (param, default) in design.RULE_PARAMETERS.items():
            value = (rules.get(code) or {}).get(param, default)
            data[f"{code}_{param}"] = Decimal(str(value)) if code == "deminimis" else int(value)
        return data

    def call_data(self) -> design.CallData:
        rules = {}
        for code in RULES:
            if self[f"rule_{code}"].data:
                params = {}
                if code in design.RULE_PARAMETERS:
                    param = design.RULE_PARAMETERS[code][0]
                    value = self[f"{code}_{param}"].data
                    params[param] = str(value) if code == "deminimis" else value
                rules[code] = params
        return design.CallData(
            title=self.title.data, edition_id=self.edition_id.data, summary=self.summary.data,
            description=self.description.data, audience=self.audience.data, timezone=self.timezone.data,
            opens_at=self.opens_at.data, closes_at=self.closes_at.data, places=self.places.data,
            s3_domain_ids=list(self.s3_domain_ids.data or ()), eligible_kinds=list(self.eligible_kinds.data or ()),
            eligibility_rules=rules, evaluators_per_application=self.evaluators_per_application.data,
            evaluation_deadline=self.evaluation_deadline.data, blind=self.blind.data,
            aggregation=self.aggregation.data, divergence=self.divergence.data,
            overall_threshold=self.overall_threshold.data)


# --- questions and criteria ----------------------------------------------------------


class QuestionForm(FlaskForm):
    question_id = HiddenField()
    kind = SelectField(_l("Kind of answer"), choices=[(k.value, label) for k, label in design.QUESTION_KIND_LABELS.items()],
                       validators=[InputRequired(message=_l("Choose the kind of answer."))])
    label = StringField(_l("Question"), validators=[DataRequired(message=_l("Write the question.")), Length(max=300)])
    help_text = StringField(_l("Help under the question"), validators=[Optional(), Length(max=500)])
    required = BooleanField(_l("An answer is required"), default=True)
    page = IntegerField(_l("Page (step) of the form"), default=1,
                        validators=[InputRequired(message=_l("Enter the page number.")),
                                    NumberRange(1, 50, message=_l("Pages are numbered from 1 to 50."))],
                        description=_l("Long forms are filled in steps; the applicant saves a draft at each."))
    max_length = IntegerField(_l("Length limit (characters)"), validators=[Optional(), NumberRange(1, 100000, message=_l("At least 1 character."))],
                              description=_l("For short and long text only. Empty: no limit."))
    min_value = DecimalText(_l("Lowest value allowed"), maximum=Decimal("99999999999999.99"), validators=[Optional()],
                            description=_l("For numbers and amounts only."))
    max_value = DecimalText(_l("Highest value allowed"), maximum=Decimal("99999999999999.99"), validators=[Optional()],
                            description=_l("For numbers and amounts only."))
    # No Optional() on these two: it would skip their checks (validate_*) when left empty.
    choices = TextAreaField(_l("Choices, one per line"), validators=[Length(max=5000)],
                            description=_l("For one or several choices from a list: at least two."))
    file_kinds = CheckboxesField(_l("Kinds of file accepted"), validators=[],
                                 choices=[(k, "/".join(e.upper() for e in files.KINDS[k].extensions)) for k in files.KINDS],
                                 description=_l("For file uploads only."))
    max_file_mb = IntegerField(_l("Largest file (MB)"), validators=[Optional(), NumberRange(1, 1000, message=_l("At least 1 MB."))],
                               description=_l("For file uploads only. Empty: the site's limit."))

    def validate_choices(self, field):
        if self.kind.data in design.CHOICE_KINDS and len(self.choice_list()) < 2:
            raise ValidationError(_l("Give at least two choices, one per line."))

    def validate_max_value(self, field):
        if field.data is not None and self.min_value.data is not None and field.data < self.min_value.data:
            raise ValidationError(_l("The maximum must not be below the minimum."))

    def validate_file_kinds(self, field):
        if self.kind.data == QuestionKind.FILE and not field.data:
            raise ValidationError(_l("Choose at least one kind of file."))

    def choice_list(self) -> list[str]:
        seen = []
        for line in (self.choices.data or "").splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
        return seen

    def question_data(self) -> design.QuestionData:
        return design.QuestionData(
            kind=self.kind.data, label=self.label.data, help_text=self.help_text.data, required=self.required.data,
            page=self.page.data, max_length=self.max_length.data, min_value=self.min_value.data,
            max_value=self.max_value.data, choices=self.choice_list(), file_kinds=list(self.file_kinds.data or ()),
            max_file_mb=self.max_file_mb.data)

    @staticmethod
    def initial(question) -> dict:
        return {"question_id": question.id, "kind": question.kind, "label": question.label,
                "help_text": question.help_text, "required": question.required, "page": question.page,
                "max_length": question.max_length, "min_value": question.min_value, "max_value": question.max_value,
                "choices": "\n".join(question.choices or ()), "file_kinds": list(question.file_kinds or ()),
                "max_file_mb": question.max_file_mb}


class CriterionForm(FlaskForm):
    criterion_id = HiddenField()
    name = StringField(_l("Criterion"), validators=[DataRequired(message=_l("Name the criterion.")), Length(max=120)])
    description = TextAreaField(_l("What evaluators look at"), validators=[Optional(), Length(max=5000)])
    weight = DecimalText(_l("Weight"), default=Decimal("1"), maximum=Decimal("100"),
                         validators=[InputRequired(message=_l("Enter the weight.")),
                                     _positive(_l("The weight must be above 0."))],
                         description=_l("1 for most criteria; Horizon Europe weighs Impact 1.5. Weights count for the ranking."))
    max_score = DecimalText(_l("Maximum score"), default=Decimal("5"), maximum=Decimal("100"),
                            validators=[InputRequired(message=_l("Enter the maximum score.")),
                                        _positive(_l("The maximum score must be above 0."))],
                            description=_l("Scored in half points from 0 to this maximum (5 by default)."))
    threshold = DecimalText(_l("Threshold"), default=Decimal("3"), maximum=Decimal("100"), validators=[Optional()],
                            description=_l("The score an application needs on this criterion. Empty: no threshold."))

    def validate_threshold(self, field):
        if field.data is not None and self.max_score.data is not None and field.data > self.max_score.data:
            raise ValidationError(_l("The threshold cannot be above the maximum score."))

    def criterion_data(self) -> design.CriterionData:
        return design.CriterionData(name=self.name.data, description=self.description.data, weight=self.weight.data,
                                    max_score=self.max_score.data, threshold=self.threshold.data)

    @staticmethod
    def initial(criterion) -> dict:
        return {"criterion_id": criterion.id, "name": criterion.name, "description": criterion.description,
                "weight": criterion.weight, "max_score": criterion.max_score, "threshold": criterion.threshold}


class ItemActionForm(FlaskForm):
    """The small buttons of the question and criterion lists: delete, up, down, add a block."""

    action = HiddenField(validators=[DataRequired()])
    item_id = HiddenField()

    def item(self) -> int | None:
        try:
            return int(self.item_id.data)
        except (TypeError, ValueError):
            return None


class PhaseForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])


# --- the staff list ------------------------------------------------------------------


STATUS_FILTER_CHOICES = [("", _l("Any phase"))] + [
    (code, design.PHASE_LABELS[code]) for code in
    ("draft", "scheduled", CallStatus.OPEN.value, CallStatus.CLOSED.value, CallStatus.IN_EVALUATION.value,
     CallStatus.DECIDED.value, CallStatus.ARCHIVED.value)]


class CallFilterForm(FlaskForm):
    """The filters of the staff list, from the query string (nothing changes: no CSRF)."""

    class Meta:
        csrf = False

    programme = SelectField(_l("Programme"), validators=[Optional()],
                            choices=[("", _l("Any programme"))] + [(k.value, k.label) for k in ProgrammeKind])
    year = SelectField(_l("Edition"), validators=[Optional()])
    status = SelectField(_l("Phase"), validators=[Optional()], choices=STATUS_FILTER_CHOICES)

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = [("", _l("Any year"))] + [(str(y), str(y)) for y in years]

    def filters(self) -> design.StaffCallFilters:
        self.validate()
        value = {name: (self[name].data or "") for name in ("programme", "year", "status") if not self[name].errors}
        year = value.get("year", "")
        return design.StaffCallFilters(programme=value.get("programme", ""),
                                       year=int(year) if str(year).isdigit() else None, status=value.get("status", ""))


def kind_label(kind: str) -> str:
    try:
        return str(design.QUESTION_KIND_LABELS[QuestionKind(kind)])
    except ValueError:
        return kind


def organisation_kind_label(kind: str) -> str:
    try:
        return OrganisationKind(kind).label
    except ValueError:
        return kind
