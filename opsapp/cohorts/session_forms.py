"""Forms of coaching sessions: the session itself (staff see every field; a mentor the fields of a
one-to-one session with one of their companies), cancelling one, the attendance marks, the
mentor's note, and the calendar's filters (GET, in the URL).

The service (`sessions.py`) checks everything again (the cohort's themes and companies, the
mentor's companies, the day within the cohort); the forms put the message next to the field and
keep what was typed.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)
from wtforms.widgets import CheckboxInput, ListWidget

from opsapp.cohorts import sessions
from opsapp.cohorts.models import SessionKind


def strip(value):
    return value.strip() if isinstance(value, str) else value


def optional_int(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class DayField(DateField):
    """A day typed like 2027-03-10, with a message people understand; what was typed is kept."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the day like 2027-03-10."))) from None


class TimeOfDayField(TimeField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the time like 09:30."))) from None


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter a whole number."))) from None

    def pre_validate(self, form):
        if self.process_errors:  # one message is enough: not the range too
            raise StopValidation()


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (a fieldset in the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        # Unknown values are refused by the service with a message next to the field.
        pass


class SessionForm(FlaskForm):
    kind = SelectField(_l("Kind of session"), choices=[(k.value, k.label) for k in SessionKind],
                       default=SessionKind.GROUP.value)
    title = StringField(_l("Title"), filters=[strip],
                        validators=[DataRequired(_l("Give the session a title.")), Length(max=sessions.TITLE_MAX)])
    theme_id = SelectField(_l("Coaching theme"), coerce=optional_int, validators=[Optional()])
    day = DayField(_l("Day"), validators=[InputRequired(_l("Enter the day of the session, like 2027-03-10."))],
                    description=_l("In the cohort's time zone."))
    start_time = TimeOfDayField(_l("Starts at"), validators=[InputRequired(_l("Enter the time, like 09:30."))])
    duration_minutes = WholeNumberField(
        _l("Duration in minutes"), default=90,
        validators=[InputRequired(_l("Give the duration in minutes, from 15 to 600.")),
                    NumberRange(min=15, max=600, message=_l("Give the duration in minutes, from 15 to 600."))])
    place = StringField(_l("Place"), filters=[strip], validators=[Optional(), Length(max=sessions.PLACE_MAX)],
                        description=_l("The address or room. Give the place, the online link, or both."))
    online_url = StringField(_l("Online link"), filters=[strip],
                             validators=[Optional(), Length(max=sessions.PLACE_MAX)],
                             description=_l("For example https://meet.example.eu/accelerator."))
    mentor_id = SelectField(_l("Mentor"), coerce=optional_int, validators=[Optional()],
                            description=_l("The mentor of the pool who leads the session (required for one-to-one "
                                           "mentoring)."))
    coach_name = StringField(_l("Or an outside coach"), filters=[strip],
                             validators=[Optional(), Length(max=sessions.COACH_MAX)],
                             description=_l("The name of a coach without an account, for group coaching."))
    member_ids = CheckboxesField(_l("Companies invited"), coerce=int)
    all_members = BooleanField(_l("Invite every company of the cohort"),
                               description=_l("Group coaching only; companies that join later are not added."))

    def __init__(self, *args, staff: bool, themes=(), mentors=(), members=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.staff = staff
        self.theme_id.choices = [(None, _l("No particular theme"))] + [(t.id, t.name(locale)) for t in themes]
        self.mentor_id.choices = [(None, _l("No mentor (an outside coach)"))] + [
            (m.id, m.user.display_name) for m in mentors]
        self.member_ids.choices = [(m.id, m.organisation.legal_name) for m in members]
        if not staff:
            # A mentor: one-to-one sessions they lead, with one of their companies.
            for name in ("kind", "mentor_id", "coach_name", "all_members"):
                delattr(self, name)

    def data_for_service(self) -> sessions.SessionData:
        get = lambda name: self[name].data if name in self else None  # noqa: E731
        return sessions.SessionData(
            kind=get("kind") or SessionKind.ONE_TO_ONE.value, title=self.title.data or "",
            theme_id=self.theme_id.data, day=self.day.data, start_time=self.start_time.data,
            duration_minutes=self.duration_minutes.data, place=self.place.data, online_url=self.online_url.data,
            mentor_id=get("mentor_id"), coach_name=get("coach_name"), member_ids=list(self.member_ids.data or []),
            all_members=bool(get("all_members")))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (told to the companies)"), filters=[strip],
                           validators=[Optional(), Length(max=sessions.REASON_MAX)])


class AttendanceForm(FlaskForm):
    present = CheckboxesField(_l("Companies that attended"), coerce=int)


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), filters=[strip],
                         validators=[DataRequired(_l("Write the note.")), Length(max=sessions.NOTE_MAX)],
                         description=_l("Private: only this company and the programme staff can read it."))


class CalendarFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    theme = SelectField(_l("Theme"), validators=[Optional()])
    kind = SelectField(_l("Kind"), validators=[Optional()])

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.theme.choices = [("", _l("Any theme"))] + [(str(t.id), t.name(locale)) for t in themes]
        self.kind.choices = [("", _l("Any kind"))] + [(k.value, k.label) for k in SessionKind]

    def filters(self) -> sessions.CalendarFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()

        def chosen(field) -> str | None:
            value = field.data or ""
            return value if value and value in {str(k) for k, _ in field.choices} else None

        theme = chosen(self.theme)
        return sessions.CalendarFilters(theme=int(theme) if theme else None, kind=chosen(self.kind))
