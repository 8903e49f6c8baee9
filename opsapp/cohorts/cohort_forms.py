"""Forms of the cohort pages: a coaching theme, the cohort (formation and changes), and the
needs assessment (one level and note per theme the cohort offers, and the goals).

The services (`cohorts.py`) check everything again (dates 3 to 6 months apart, themes from the
list, the ranges); the forms put the message next to the field and keep what was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from opsapp.cohorts.cohorts import (
    GOALS_MAX,
    MAX_MILESTONES,
    MAX_SESSIONS,
    NAME_MAX,
    NEED_LABELS,
    NOTE_MAX,
)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class ThemeForm(FlaskForm):
    theme_id = StringField(validators=[Optional()])  # empty: a new theme
    code = StringField(_l("Code"), filters=[strip], validators=[DataRequired(_l("Enter a code.")), Length(max=40)],
                       description=_l("Lower-case letters, digits and underscores, for example investor_readiness."))
    name_en = StringField(_l("Name in English"), filters=[strip],
                          validators=[DataRequired(_l("Enter the English name.")), Length(max=120)])
    name_it = StringField(_l("Name in Italian"), filters=[strip],
                          validators=[DataRequired(_l("Enter the Italian name.")), Length(max=120)])
    active = BooleanField(_l("Active: offered to new cohorts and mentors"), default=True)


class CohortForm(FlaskForm):
    name = StringField(_l("Name of the cohort"), filters=[strip],
                       validators=[DataRequired(_l("Enter the name of the cohort.")), Length(max=NAME_MAX)])
    starts_on = DateField(_l("Start date"), validators=[InputRequired(_l("Enter the start date, like 2027-03-01."))],
                          description=_l("The cohort starts running on this day."))
    ends_on = DateField(_l("End date"), validators=[InputRequired(_l("Enter the end date, like 2027-08-31."))],
                        description=_l("3 to 6 months after the start."))
    incubation = BooleanField(_l("With incubation: 12 more months of incubation after the programme"))
    theme_ids = SelectMultipleField(_l("Coaching themes offered"), coerce=int,
                                    validators=[DataRequired(_l("Choose at least one coaching theme."))],
                                    description=_l("Hold Ctrl or Cmd to choose several."))
    min_hours = DecimalField(_l("Hours attended, at least"), places=2,
                             validators=[InputRequired(_l("Enter a number of hours.")),
                                         NumberRange(min=0, max=999, message=_l("Enter a number from 0 to 999."))],
                             description=_l("Completion criterion: coaching and mentoring hours attended."))
    min_sessions = IntegerField(_l("Sessions attended, at least"),
                                validators=[InputRequired(_l("Enter a number of sessions.")),
                                            NumberRange(min=0, max=MAX_SESSIONS,
                                                        message=_l("Enter a number from 0 to %(max)s."))])
    min_milestones = IntegerField(_l("Milestones achieved, at least"),
                                  validators=[InputRequired(_l("Enter a number of milestones.")),
                                              NumberRange(min=0, max=MAX_MILESTONES,
                                                          message=_l("Enter a number from 0 to %(max)s."))],
                                  description=_l("Milestones confirmed by the mentor or staff."))

    def __init__(self, *args, themes=(), locale: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.theme_ids.choices = [(t.id, t.name(locale) if t.active else f"{t.name(locale)} ({_l('inactive')})")
                                  for t in themes]
        # Dates typed in a wrong shape get a message in words, not the library's.
        for f in (self.starts_on, self.ends_on):
            f.render_kw = {"placeholder": "2027-03-01"}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for f in (self.starts_on, self.ends_on):
            if f.errors and f.raw_data and f.raw_data[0]:
                f.errors[:] = [str(_l("Enter a date like 2027-03-01."))]
        return ok


LEVEL_CHOICES = [(str(level), label) for level, label in NEED_LABELS.items()]


class NeedsFormBase(FlaskForm):
    goals = TextAreaField(_l("The company's goals for the programme"), filters=[strip],
                          validators=[Optional(), Length(max=GOALS_MAX)],
                          description=_l("What the company wants to have achieved at the end: a few lines."))

    theme_fields: list[tuple[object, str, str]]

    def levels(self) -> dict[int, tuple[int, str | None]]:
        return {theme.id: (int(self[level].data), self[note].data) for theme, level, note in self.theme_fields}


def needs_form(themes, locale: str, **kwargs) -> NeedsFormBase:
    """A form with a level and a note per theme offered by the cohort."""

    class NeedsForm(NeedsFormBase):
        pass

    fields = []
    for theme in themes:
        level, note = f"level_{theme.id}", f"note_{theme.id}"
        setattr(NeedsForm, level, SelectField(
            _l("Need for %(theme)s", theme=theme.name(locale)), choices=LEVEL_CHOICES, default="0",
            validators=[DataRequired(_l("Choose none, low, medium or high."))]))
        setattr(NeedsForm, note, TextAreaField(
            _l("Note on %(theme)s", theme=theme.name(locale)), filters=[strip],
            validators=[Optional(), Length(max=NOTE_MAX)]))
        fields.append((theme, level, note))
    form = NeedsForm(**kwargs)
    form.theme_fields = fields
    return form
