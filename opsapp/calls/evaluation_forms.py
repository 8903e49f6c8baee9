"""Forms of the evaluation pages: the evaluator pool's filters, the invitation of an evaluator,
an evaluator's profile, the conflict-of-interest declaration, and the scoring form built
from a call's criteria.

Scores are typed as text and read exactly by `evaluation.parse_score` (never through
float), so "3,5" and "3.5" are the same and "3.3" gets a clear message; the service
decides what a draft keeps and what a submission needs.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from opsapp.calls.evaluation import LANGUAGES, POOL_STATUSES, REASON_MAX, EvaluatorFilters


def _domain_choices(domains) -> list[tuple[int, str]]:
    locale = str(get_locale() or "en")
    return [(d.id, d.name(locale)) for d in domains]


def _language_choices() -> list[tuple[str, str]]:
    return [(code, label) for code, label in LANGUAGES.items()]


class EvaluatorFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    q = StringField(_l("Name, e-mail or expertise"), validators=[Optional(), Length(max=100)])
    s3_domain = SelectField(_l("S3 domain"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()], choices=[
        ("", _l("Active and inactive")), ("active", _l("Active")), ("inactive", _l("Inactive")),
    ])

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.s3_domain.choices = [("", _l("Any domain"))] + [(str(i), n) for i, n in _domain_choices(s3_domains)]

    def filters(self) -> EvaluatorFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()
        values = {name: (self[name].data or "") for name in ("q", "s3_domain", "status") if not self[name].errors}
        if values.get("status") not in POOL_STATUSES:
            values["status"] = ""
        return EvaluatorFilters(**values)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class InviteEvaluatorForm(FlaskForm):
    full_name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(_l("Enter the evaluator's name.")), Length(max=120)])
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[DataRequired(_l("Enter the evaluator's e-mail address.")),
                                                 Email(_l("Enter an e-mail address like name@example.eu.")),
                                                 Length(max=254)])
    s3_domain_ids = SelectMultipleField(_l("S3 domains of expertise"), coerce=int, validators=[Optional()],
                                        description=_l("The proposal prefers evaluators whose domains match the "
                                                       "applicant's. Hold Ctrl or Cmd to choose several."))
    locale = SelectField(_l("Language of the e-mails"), choices=[("en", "English"), ("it", "Italiano")],
                         validators=[Optional()])

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.s3_domain_ids.choices = _domain_choices(s3_domains)


class EvaluatorProfileForm(FlaskForm):
    expertise = TextAreaField(_l("Expertise"), validators=[Optional(), Length(max=2000)],
                              description=_l("Fields, sectors and experience, in a few lines. Staff read it when "
                                             "they adjust an assignment."))
    s3_domain_ids = SelectMultipleField(_l("S3 domains of expertise"), coerce=int, validators=[Optional()],
                                        description=_l("Hold Ctrl or Cmd to choose several."))
    languages = SelectMultipleField(_l("Languages the evaluator reads"),
                                    validators=[DataRequired(_l("Choose at least one language the evaluator reads."))])
    max_assignments = IntegerField(
        _l("Most applications in one call"),
        validators=[Optional(), NumberRange(min=1, max=500, message=_l("Enter a number from 1 to 500."))],
        description=_l("Leave it empty for no limit. The proposal never goes beyond it."))
    active = BooleanField(_l("Active: may be proposed for new assignments"))

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.s3_domain_ids.choices = _domain_choices(s3_domains)
        self.languages.choices = _language_choices()


class DeclarationForm(FlaskForm):
    declaration = RadioField(_l("Your declaration"), choices=[
        ("none", _l("I have no conflict of interest with this applicant")),
        ("conflict", _l("I have a conflict of interest with this applicant")),
    ], validators=[DataRequired(_l("Choose one of the two declarations."))])
    reason = TextAreaField(_l("What the conflict of interest is"), validators=[Optional(), Length(max=REASON_MAX)],
                           description=_l("Needed only if you declare a conflict: staff read it to replace you."))

    def validate_reason(self, field):
        if self.declaration.data == "conflict" and not (field.data or "").strip():
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Say briefly what the conflict of interest is, so that staff can judge it."))


class ScoringForm(FlaskForm):
    """The fields `score_<criterion id>` and `comment_<criterion id>` are added per call by `scoring_form`."""


def scoring_form(criteria, scores=None, formdata=None) -> ScoringForm:
    """A form with a score and a comment per criterion, in the call's order, filled from the stored scores."""

    class Form(ScoringForm):
        pass

    data = {}
    for criterion in criteria:
        maximum = format(criterion.max_score.normalize(), "f")
        setattr(Form, f"score_{criterion.id}", StringField(
            _l("Score for %(name)s", name=criterion.name), validators=[Optional()],
            description=_l("From 0 to %(max)s, in half points (for example 3.5).", max=maximum)))
        setattr(Form, f"comment_{criterion.id}", TextAreaField(
            _l("Comment on %(name)s", name=criterion.name), validators=[Optional()],
            description=_l("Required to submit: what the score rests on, in a few sentences.")))
        stored = (scores or {}).get(criterion.id)
        if stored is not None:
            data[f"score_{criterion.id}"] = (format(stored.value.normalize(), "f")
                                             if stored.value is not None else "")
            data[f"comment_{criterion.id}"] = stored.comment or ""
    if formdata is not None:
        return Form(formdata=formdata)
    return Form(data=data)
