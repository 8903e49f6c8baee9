"""Forms of the event day and the follow-up: the check-in filters and mark, the no-show
report, the outcome of a meeting, a supply contract, its review by staff, and the
contract filters.

The value of a contract is typed as text and read exactly by `outcomes.parse_value`
(never through float); the service decides what the dates and the pair allow.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from opsapp.events.forms_common import strip
from opsapp.events.models import ContractStatus, OutcomeRating


class CheckinFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    q = StringField(_l("Name of the organisation or the person"), filters=[strip],
                    validators=[Optional(), Length(max=100)])
    side = SelectField(_l("Side"), validators=[Optional()], choices=[
        ("", _l("SMEs and buyers")), ("sme", _l("SMEs")), ("buyer", _l("Buyers"))])
    arrived = SelectField(_l("Arrived"), validators=[Optional()], choices=[
        ("", _l("Everyone")), ("yes", _l("Arrived")), ("no", _l("Not arrived yet"))])

    def values(self) -> dict:
        self.validate()
        values = {name: (self[name].data or "") for name in ("q", "side", "arrived") if not self[name].errors}
        if values.get("side") not in ("", "sme", "buyer"):
            values["side"] = ""
        if values.get("arrived") not in ("", "yes", "no"):
            values["arrived"] = ""
        return values


class CheckinMarkForm(FlaskForm):
    participant_id = HiddenField(validators=[DataRequired()])
    arrived = HiddenField(validators=[DataRequired()])  # "yes" or "no"


class NoShowForm(FlaskForm):
    note = TextAreaField(_l("What happened (optional)"), filters=[strip], validators=[Optional(), Length(max=2000)],
                         description=_l("The other side and the programme staff read it."))


class OutcomeForm(FlaskForm):
    rating = RadioField(_l("Outcome of the meeting"), validators=[InputRequired(_l("Choose one of the outcomes."))],
                        choices=[(r.value, r.label) for r in OutcomeRating])
    note = TextAreaField(_l("Note (optional)"), filters=[strip], validators=[Optional(), Length(max=2000)],
                         description=_l("Only you and the programme staff read it, not the other side."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rating.choices = [(r.value, r.label) for r in OutcomeRating]


class ContractForm(FlaskForm):
    counterpart_id = SelectField(_l("Signed with"), coerce=int, validators=[Optional()])
    sme_id = SelectField(_l("SME"), coerce=int, validators=[Optional()])
    buyer_id = SelectField(_l("Buyer"), coerce=int, validators=[Optional()])
    signed_on = DateField(_l("Date of signature"), validators=[InputRequired(_l("Enter the date the contract was "
                                                                                "signed."))],
                          description=_l("Not in the future, and not before the event."))
    value = StringField(_l("Value in EUR"), filters=[strip],
                        validators=[DataRequired(_l("Enter the value of the contract in EUR.")), Length(max=30)],
                        description=_l("For example 12500.00"))
    description = TextAreaField(_l("What the contract is for"), filters=[strip],
                                validators=[Optional(), Length(max=2000)])
    meeting_id = SelectField(_l("The meeting it came from (optional)"), coerce=int, validators=[Optional()])

    def __init__(self, *args, choices=None, meeting_labels=(), **kwargs):
        super().__init__(*args, **kwargs)
        none = [(0, _l("Choose…"))]
        if choices is None:
            return
        self.counterpart_id.choices = none + [
            (p.id, _l("%(name)s (met)", name=p.name) if met else p.name) for p, met in choices.counterparts]
        self.sme_id.choices = none + [(p.id, p.name) for p in choices.smes]
        self.buyer_id.choices = none + [(p.id, p.name) for p in choices.buyers]
        self.meeting_id.choices = [(0, _l("None"))] + list(meeting_labels)


class ContractReviewForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])  # "confirm" or "reject"
    note = TextAreaField(_l("Note to both sides"), filters=[strip], validators=[Optional(), Length(max=2000)],
                         description=_l("Required to reject: say why."))


class ContractFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Organisation or description"), filters=[strip], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=[("", _l("Every status"))] + [(s.value, s.label) for s in ContractStatus])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [("", _l("Every status"))] + [(s.value, s.label) for s in ContractStatus]

    def values(self) -> dict:
        self.validate()
        values = {name: (self[name].data or "") for name in ("q", "status") if not self[name].errors}
        if values.get("status") not in {s.value for s in ContractStatus}:
            values["status"] = ""
        return values
