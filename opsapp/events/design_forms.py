"""Forms of event design: the event's settings (texts, place, days and slot grid, deadlines,
quotas), the list's phase filter, and the phase move.

Days, breaks and table names are typed as text and read by `design.parse_*` in the
service, which gives the messages; dates and times are wall-clock times in the event's
zone. `event_data()` turns the form into the service's dataclass.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from opsapp.calls.design_forms import LocalDateTimeField, timezone_choices
from opsapp.events import cockpit, design
from opsapp.events.models import EventPhase


class LocalTimeField(TimeField):
    """A time of the day ("09:00"), with a message people understand."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the time like 09:00."))) from None


def _whole(label, low, high, *, required=True, description=None, default=None):
    message = _l("Enter a number from %(low)d to %(high)d.", low=low, high=high)
    validators = [InputRequired(message=_l("Enter a number.")) if required else Optional(),
                  NumberRange(low, high, message=message)]
    return IntegerField(label, validators=validators, description=description, default=default)


class EventForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the name of the event.")),
                                               Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)],
                                description=_l("What the event is for and who meets whom; participants read it."))
    edition_id = SelectField(_l("Meet the Buyer edition"), coerce=int,
                             validators=[InputRequired(message=_l("Choose a Meet the Buyer edition."))])
    call_id = SelectField(_l("Call whose selected SMEs take part"), validators=[Optional()],
                          description=_l("A decided Meet the Buyer call. Its selected SMEs can then be added to the "
                                         "participants in one step."))
    online = BooleanField(_l("Held online"))
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=300)],
                        description=_l("The place and address, for example Lingotto Fiere, Via Nizza 294, Turin."))
    online_url = StringField(_l("Link of the online event"), validators=[Optional(), Length(max=300)],
                             description=_l("Needed when the event is held online. Starts with https://"))
    outside_region = BooleanField(_l("Held outside the region"))
    timezone = SelectField(_l("Time zone"), default=design.DEFAULT_TIMEZONE,
                           validators=[InputRequired(message=_l("Choose a time zone."))],
                           description=_l("Every date and time of the event is typed and shown in this zone."))
    days = StringField(_l("Days"), validators=[DataRequired(message=_l("Enter at least one day, like 2027-03-10."))],
                       description=_l("The dates of the meeting days, separated by commas, for example "
                                      "2027-03-10, 2027-03-11; or a range like 2027-03-10..2027-03-12."))
    day_start = LocalTimeField(_l("Meetings start at"), format="%H:%M",
                               validators=[InputRequired(message=_l("Enter the time like 09:00."))])
    day_end = LocalTimeField(_l("Meetings end at"), format="%H:%M",
                             validators=[InputRequired(message=_l("Enter the time like 13:00."))])
    slot_minutes = _whole(_l("Slot length (minutes)"), 5, 240, default=20,
                          description=_l("How long one meeting lasts, for example 20."))
    breaks = TextAreaField(_l("Breaks"), validators=[Optional(), Length(max=2000)],
                           description=_l("One break a line, like 10:30-10:50. No meeting is placed in a break."))
    table_count = _whole(_l("Tables"), 1, 1000, default=10,
                         description=_l("How many meetings can be held at the same time."))
    table_names = TextAreaField(_l("Table names"), validators=[Optional(), Length(max=10000)],
                                description=_l("Optional, one a line, in the order of the tables (for example "
                                               "“Room A - 1”). Tables without a name are shown by number."))
    registration_deadline = LocalDateTimeField(
        _l("Registration deadline"), validators=[Optional()],
        description=_l("After it, participants can no longer change their profile (staff still can)."))
    booking_opens_at = LocalDateTimeField(
        _l("Booking opens"), validators=[InputRequired(message=_l("Enter when booking opens."))],
        description=_l("The marketplace opens and meeting requests can be sent, at this time."))
    request_deadline = LocalDateTimeField(
        _l("Deadline for meeting requests"),
        validators=[InputRequired(message=_l("Enter the deadline for meeting requests."))],
        description=_l("Requests close and scheduling starts. It must come before the first meeting slot."))
    closes_at = LocalDateTimeField(
        _l("Closing"), validators=[Optional()],
        description=_l("The event closes at this time, after the follow-up. Leave it empty to close it by hand."))
    sme_request_quota = _whole(_l("Requests an SME may send"), 0, 500, default=10)
    buyer_request_quota = _whole(_l("Requests a buyer may send"), 0, 500, required=False,
                                 description=_l("Leave it empty for no limit."))
    sme_max_meetings = _whole(_l("Most meetings of an SME"), 0, 500, required=False,
                              description=_l("Leave it empty for no limit."))
    buyer_max_meetings = _whole(_l("Most meetings of a buyer"), 0, 500, default=12)
    request_expiry_days = _whole(_l("Days before an unanswered request expires"), 1, 60, default=5)

    def __init__(self, *args, editions=(), calls=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.edition_id.choices = [(e.id, f"{e.programme.name(locale)} {e.year}") for e in editions]
        self.call_id.choices = [("", _l("None"))] + [(str(c.id), c.title) for c in calls]
        self.timezone.choices = timezone_choices()

    def event_data(self) -> design.EventData:
        return design.EventData(
            name=self.name.data or "", description=self.description.data, edition_id=self.edition_id.data,
            call_id=int(self.call_id.data) if (self.call_id.data or "").isdigit() else None,
            venue=self.venue.data, online=bool(self.online.data), online_url=self.online_url.data,
            outside_region=bool(self.outside_region.data), timezone=self.timezone.data or "",
            days=self.days.data or "", day_start=self.day_start.data, day_end=self.day_end.data,
            slot_minutes=self.slot_minutes.data, breaks=self.breaks.data or "", table_count=self.table_count.data,
            table_names=self.table_names.data or "", registration_deadline=self.registration_deadline.data,
            booking_opens_at=self.booking_opens_at.data, request_deadline=self.request_deadline.data,
            closes_at=self.closes_at.data, sme_request_quota=self.sme_request_quota.data,
            buyer_request_quota=self.buyer_request_quota.data, sme_max_meetings=self.sme_max_meetings.data,
            buyer_max_meetings=self.buyer_max_meetings.data, request_expiry_days=self.request_expiry_days.data)


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    phase = SelectField(_l("Phase"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.phase.choices = [("", _l("Every phase"))] + [(p.value, p.label) for p in EventPhase]

    def filters(self) -> cockpit.EventFilters:
        self.validate()
        phase = self.phase.data or ""
        return cockpit.EventFilters(phase=phase if not self.phase.errors and phase in {p.value for p in EventPhase}
                                   else "")


class PhaseForm(FlaskForm):
    phase = HiddenField(validators=[DataRequired()])
