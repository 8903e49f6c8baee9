"""Forms of moderation and decisions: a consensus score with its justification, the
confirmation of the decision, and the answer to a place offered.

A score is typed as text so that "3,5" works as well as "3.5"; the range and the half
points are checked by the service too (a crafted POST gets the same answer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, ValidationError

from opsapp.calls.decisions import JUSTIFICATION_MAX, parse_score


class ConsensusForm(FlaskForm):
    """One divergent criterion's consensus; the page holds one per criterion, told apart by a prefix."""

    value = StringField(_l("Consensus score"), validators=[InputRequired(_l("Give the score the panel agreed on."))],
                        description=_l("From 0 to the criterion's maximum, in half points (for example 3.5)."))
    justification = TextAreaField(
        _l("Justification"),
        validators=[DataRequired(_l("Say why the panel agreed on this score.")),
                    Length(max=JUSTIFICATION_MAX)],
        description=_l("The applicant reads it in the decision letter, beside the evaluators' comments."))

    def validate_value(self, field):
        if parse_score(field.data) is None:
            raise ValidationError(_l("Type a number, for example 3.5."))


class DecideForm(FlaskForm):
    """The decision's two steps: review (no `confirmed`), then confirm the proposal seen (`digest`)."""

    digest = HiddenField(validators=[DataRequired()])
    confirmed = HiddenField()


class PlaceForm(FlaskForm):
    answer = HiddenField(validators=[AnyOf(("accept", "decline"))])
    confirmed = HiddenField()


class RankingFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter: it changes nothing

    show = SelectField(_l("Show"), choices=[
        ("all", _l("Every application")), ("moderation", _l("Needs moderation")),
        ("divergent", _l("Divergent scores (moderated or not)")), ("incomplete", _l("Evaluations missing"))],
        default="all", validate_choice=False)
    sort = SelectField(_l("Sort by"), choices=[
        ("rank", _l("Rank")), ("total", _l("Weighted total")), ("name", _l("Organisation"))],
        default="rank", validate_choice=False)
