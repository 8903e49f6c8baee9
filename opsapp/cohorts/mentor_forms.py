"""Forms of the mentor pages: the pool's filters (GET), the invitation, the profile, a declared
conflict of interest, and the matching (one choice of mentor per company without one).

The services (`mentors.py`) check everything again (capacity 0-50, the employer and conflicts by
VAT number, conflicts and places left in the matching); the forms keep what was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from opsapp.cohorts.mentors import LANGUAGES, MAX_CAPACITY, REASON_MAX, TEXT_MAX, PoolFilters


def strip(value):
    return value.strip() if isinstance(value, str) else value


def _language_choices():
    return [(code, label) for code, label in LANGUAGES.items()]


class MentorFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    theme = SelectField(_l("Theme"), validators=[Optional()])
    s3_domain = SelectField(_l("S3 domain"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()])
    room = SelectField(_l("Load"), validators=[Optional()], choices=[
        ("", _l("Any load")), ("room", _l("With a place left")), ("full", _l("Full"))])

    def __init__(self, *args, themes=(), s3_domains=(), locale: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.theme.choices = [("", _l("Any theme"))] + [(str(t.id), t.name(locale)) for t in themes]
        self.s3_domain.choices = [("", _l("Any domain"))] + [(str(d.id), d.name(locale)) for d in s3_domains]
        self.language.choices = [("", _l("Any language"))] + _language_choices()

    def filters(self) -> PoolFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()
        values = {name: (self[name].data or "") for name in ("theme", "s3_domain", "language", "room")
                  if not self[name].errors}
        return PoolFilters(**values)


class ProfileFields(FlaskForm):
    theme_ids = SelectMultipleField(_l("Coaching themes"), coerce=int, validators=[Optional()],
                                    description=_l("The themes the mentor coaches. Hold Ctrl or Cmd to choose "
                                                   "several."))
    s3_domain_ids = SelectMultipleField(_l("S3 domains of expertise"), coerce=int, validators=[Optional()],
                                        description=_l("Hold Ctrl or Cmd to choose several."))
    languages = SelectMultipleField(_l("Languages"), choices=_language_choices(),
                                    validators=[DataRequired(_l("Choose at least one language."))],
                                    description=_l("The languages the mentor works in. A company gets a mentor "
                                                   "who speaks its language."))
    capacity = IntegerField(_l("Companies at a time, at most"), default=3,
                            validators=[InputRequired(_l("Enter a number of companies.")),
                                        NumberRange(min=0, max=MAX_CAPACITY,
                                                    message=_l("Enter a number from 0 to %(max)s."))],
                            description=_l("0 takes the mentor out of new matches without removing them."))
    availability = TextAreaField(_l("Availability"), filters=[strip], validators=[Optional(), Length(max=TEXT_MAX)],
                                 description=_l("When the mentor can meet, for example: Tuesday and Thursday "
                                                "afternoons; not in August."))
    bio = TextAreaField(_l("Experience"), filters=[strip], validators=[Optional(), Length(max=TEXT_MAX)],
                        description=_l("A few lines the companies and staff read."))
    employer_vat = StringField(_l("Employer's VAT number"), filters=[strip], validators=[Optional(), Length(max=32)],
                               description=_l("Optional. The mentor is never matched with their employer or an "
                                              "organisation linked to it."))

    def __init__(self, *args, themes=(), s3_domains=(), locale: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self.theme_ids.choices = [(t.id, t.name(locale)) for t in themes]
        self.s3_domain_ids.choices = [(d.id, d.name(locale)) for d in s3_domains]


class InviteMentorForm(ProfileFields):
    full_name = StringField(_l("Name"), filters=[strip],
                            validators=[DataRequired(_l("Enter the mentor's name.")), Length(max=120)])
    email = EmailField(_l("E-mail"), filters=[strip],
                       validators=[DataRequired(_l("Enter the mentor's e-mail address.")),
                                   Email(_l("Enter an e-mail address like name@example.eu.")), Length(max=254)])
    locale = SelectField(_l("Language of the e-mails"), choices=[("en", "English"), ("it", "Italiano")],
                         validators=[Optional()])


class MentorProfileForm(ProfileFields):
    active = BooleanField(_l("Active: may be proposed for new matches"), default=True)


class ConflictForm(FlaskForm):
    vat = StringField(_l("VAT number of the organisation"), filters=[strip],
                      validators=[DataRequired(_l("Enter the organisation's VAT number.")), Length(max=32)])
    reason = TextAreaField(_l("Reason"), filters=[strip],
                           validators=[DataRequired(_l("Say briefly why there is a conflict of interest.")),
                                       Length(max=REASON_MAX)],
                           description=_l("For example: I hold shares in it; a relative manages it."))


class MatchingFormBase(FlaskForm):
    choice_fields: list[tuple[int, str]]

    def choices_made(self) -> dict[int, int | None]:
        made = {}
        for member_id, name in self.choice_fields:
            # A company missing from the request gets no mentor, never the default shown on the page.
            value = str(self[name].data or "") if self[name].raw_data else ""
            made[member_id] = int(value) if value.isdigit() else None
        return made


def matching_form(choices, labels, **kwargs) -> MatchingFormBase:
    """A form with one choice of mentor per company: `choices` are workspace Choices, `labels`
    a function(option) -> text."""

    class MatchingForm(MatchingFormBase):
        pass

    fields = []
    for choice in choices:
        name = f"mentor_{choice.member.id}"
        options = [("", _l("No mentor for now"))] + [(str(profile.id), labels(profile, option))
                                                     for profile, option in choice.options]
        if choice.mentor is not None and all(str(choice.mentor.id) != value for value, _label in options):
            options.append((str(choice.mentor.id), choice.mentor.user.display_name))
        # The service refuses an unknown, conflicted or full mentor with a message in words.
        setattr(MatchingForm, name, SelectField(_l("Mentor for %(company)s", company=choice.member.name),
                                                choices=options, validate_choice=False,
                                                default=str(choice.mentor.id) if choice.mentor else ""))
        fields.append((choice.member.id, name))
    form = MatchingForm(**kwargs)
    form.choice_fields = fields
    return form
