"""Forms of completion and seals: the staff's completion decision, revoking a seal, the public
verification (GET, no CSRF: a code in the URL), and the loan-scheme list's filters (GET).

The service (`seals.py`) checks everything again (the reason required, the cohort's status,
the transition); the forms put the message next to the field and keep what was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from opsapp.accounts.sme import SizeClass
from opsapp.cohorts.seals import DECISIONS, REASON_MAX


def strip(value):
    return value.strip() if isinstance(value, str) else value


class CompletionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=list(DECISIONS.items()),
                          validators=[DataRequired(_l("Choose completed, not completed or withdrawn."))])
    reason = TextAreaField(
        _l("Reason"), filters=[strip], validators=[Optional(), Length(max=REASON_MAX)],
        description=_l("Required when the company is not completed or withdrawn, and when it is completed "
                       "without meeting the completion criteria. The company is told."))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revoking the seal"), filters=[strip],
                           validators=[DataRequired(_l("Give the reason for revoking the seal.")),
                                       Length(max=REASON_MAX)])


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: the code lives in the URL

    code = StringField(_l("Verification code"), filters=[strip], validators=[Optional(), Length(max=60)],
                       description=_l("As printed on the certificate, for example SOE-7K3M-Q9TX-2BHD. Capitals, "
                                      "spaces and dashes do not matter."))


class LoanFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Company name or VAT number"), filters=[strip], validators=[Optional(), Length(max=100)])
    year = SelectField(_l("Edition"), validators=[Optional()])
    cohort = SelectField(_l("Cohort"), validators=[Optional()])
    size_class = SelectField(_l("Size class"), validators=[Optional()])

    def __init__(self, *args, years=(), cohorts=(), size_label=lambda s: s, **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = [("", _l("Any edition"))] + [(str(y), str(y)) for y in years]
        self.cohort.choices = [("", _l("Any cohort"))] + [(str(c.id), c.name) for c in cohorts]
        self.size_class.choices = [("", _l("Any size"))] + [(s.value, size_label(s.value)) for s in SizeClass]

    def values(self) -> dict:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()

        def chosen(field) -> str | None:
            value = field.data or ""
            return value if value and value in {str(k) for k, _ in field.choices} else None

        year, cohort = chosen(self.year), chosen(self.cohort)
        return {"year": int(year) if year else None, "cohort_id": int(cohort) if cohort else None,
                "size_class": chosen(self.size_class),
                "q": (self.q.data or "")[:100] if not self.q.errors else ""}
