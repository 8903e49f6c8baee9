"""Forms of the participant pages: the staff list's filters, the invitation of an SME or a
buyer, withdrawing a participant, the profile, and a training session.

Availability and attendance are checkbox tables read straight from the request (one
value per checked slot or SME) with the CSRF token of an empty form.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from opsapp.accounts.models import ORGANISATION_KIND_LABELS, OrganisationKind
from opsapp.accounts.organisation_forms import country_choices
from opsapp.calls.design_forms import CheckboxesField, LocalDateTimeField
from opsapp.events import participants
from opsapp.events.forms_common import strip
from opsapp.events.models import ParticipantStatus, Side, TrainingKind


class ParticipantFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    side = SelectField(_l("Side"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    outside = SelectField(_l("Region"), validators=[Optional()], choices=[
        ("", _l("Inside and outside the region")), ("yes", _l("Outside the region")),
        ("no", _l("Inside the region"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.side.choices = [("", _l("SMEs and buyers"))] + [(s.value, s.label) for s in Side]
        self.status.choices = [("", _l("Every status"))] + [(s.value, s.label) for s in ParticipantStatus]

    def filters(self) -> participants.ParticipantFilters:
        self.validate()
        values = {name: (self[name].data or "") for name in ("side", "status", "outside") if not self[name].errors}
        return participants.ParticipantFilters(**values)


INVITE_KINDS = (OrganisationKind.SME, OrganisationKind.STARTUP, OrganisationKind.CORPORATE_BUYER,
                OrganisationKind.PUBLIC_BUYER)


class InviteForm(FlaskForm):
    side = RadioField(_l("Invite"), choices=[(Side.SME.value, _l("an SME")), (Side.BUYER.value, _l("a buyer"))],
                      default=Side.BUYER.value,
                      validators=[InputRequired(message=_l("Choose whether you invite an SME or a buyer."))])
    full_name = StringField(_l("Name of the person"), filters=[strip],
                            validators=[DataRequired(message=_l("Enter the name of the person to invite.")),
                                        Length(max=120)])
    email = EmailField(_l("E-mail"), filters=[strip],
                       validators=[DataRequired(message=_l("Enter the e-mail address of the person to invite.")),
                                   Email(message=_l("Enter an e-mail address like name@example.eu.")),
                                   Length(max=254)],
                       description=_l("If the address already has an account, it is linked; otherwise an account is "
                                      "created and the person chooses a password from the e-mail."))
    legal_name = StringField(_l("Legal name of the organisation"), filters=[strip],
                             validators=[Optional(), Length(max=200)],
                             description=_l("Not needed when the organisation is already registered: it is found by "
                                            "its VAT number."))
    country = SelectField(_l("Country"), default="IT",
                          validators=[DataRequired(message=_l("Choose the country."))])
    vat_number = StringField(_l("VAT or registration number"), filters=[strip],
                             validators=[DataRequired(message=_l("Enter the VAT or registration number.")),
                                         Length(max=40)],
                             description=_l("In the EU the VAT number, with or without the country prefix. "
                                            "Elsewhere the company registration number."))
    nuts2_region = StringField(_l("NUTS-2 region"), filters=[strip], validators=[Optional(), Length(max=4)],
                               description=_l("Optional: ITC1 for Piemonte. It tells whether the organisation is "
                                              "inside the region."))
    kind = SelectField(_l("Kind of organisation"),
                       choices=[(k.value, ORGANISATION_KIND_LABELS[k]) for k in INVITE_KINDS],
                       default=OrganisationKind.CORPORATE_BUYER.value,
                       validators=[DataRequired(message=_l("Choose a kind of organisation."))])
    outside_region = SelectField(_l("Inside or outside the region"), default="auto", choices=[
        ("auto", _l("Tell from the organisation's region and country")),
        ("no", _l("Inside the region")), ("yes", _l("Outside the region"))])
    locale = SelectField(_l("Language of the e-mails (new accounts)"),
                         choices=[("en", "English"), ("it", "Italiano")], validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose..."))] + country_choices()

    def invitation_data(self) -> participants.InvitationData:
        outside = {"yes": True, "no": False}.get(self.outside_region.data)
        return participants.InvitationData(
            side=self.side.data or "", full_name=self.full_name.data or "", email=self.email.data or "",
            legal_name=self.legal_name.data or "", country=self.country.data or "",
            vat_number=self.vat_number.data or "", kind=self.kind.data or "", nuts2_region=self.nuts2_region.data,
            outside_region=outside, locale=self.locale.data or str(get_locale() or "en"))


class WithdrawForm(FlaskForm):
    """Why a participant is withdrawn (the participant is in the form's address)."""

    reason = TextAreaField(_l("Why"), validators=[DataRequired(message=_l("Say why the participant is withdrawn: "
                                                                          "they will read it.")),
                                                  Length(max=2000)])


class ProfileForm(FlaskForm):
    headline = StringField(_l("Headline"), filters=[strip], validators=[Optional(), Length(max=200)],
                           description=_l("One line that says who you are and what you bring, shown in the "
                                          "marketplace."))
    offer = TextAreaField(_l("What you offer"), validators=[Optional(), Length(max=5000)],
                          description=_l("Your products or services, for which buyers, with what results. Buyers "
                                         "search these words."))
    needs = TextAreaField(_l("What you need"), validators=[Optional(), Length(max=5000)],
                          description=_l("Your procurement opportunities or the challenges you want solved. SMEs "
                                         "search these words."))
    s3_domain_ids = CheckboxesField(_l("S3 domains"), coerce=int, validators=[Optional()],
                                    description=_l("Choose at least one: matches are suggested on shared domains."))
    countries = StringField(_l("Countries of interest"), filters=[strip], validators=[Optional(), Length(max=400)],
                            description=_l("Two-letter codes separated by commas, for example IT, FR, DE."))
    languages = StringField(_l("Languages spoken"), filters=[strip], validators=[Optional(), Length(max=400)],
                            description=_l("Two-letter codes separated by commas, for example it, en."))
    max_meetings = IntegerField(_l("Most meetings (this participant only)"),
                                validators=[Optional(), NumberRange(0, 500, message=_l("Enter a number from 0 to "
                                                                                       "500."))],
                                description=_l("Leave it empty to use the event's limit for this side."))

    def __init__(self, *args, s3_domains=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.s3_domain_ids.choices = [(d.id, d.name(locale)) for d in s3_domains]

    def profile_data(self, side: Side, staff: bool) -> participants.ProfileData:
        text = self.offer.data if side is Side.SME else self.needs.data
        return participants.ProfileData(
            headline=self.headline.data, text=text, s3_domain_ids=self.s3_domain_ids.data or [],
            countries=self.countries.data or "", languages=self.languages.data or "",
            max_meetings=self.max_meetings.data, set_max_meetings=staff)


class TrainingForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k.value, k.label) for k in TrainingKind],
                       validators=[DataRequired(message=_l("Choose pitch or negotiation training."))])
    title = StringField(_l("Title"), filters=[strip],
                        validators=[DataRequired(message=_l("Enter the title of the session.")), Length(max=200)])
    starts_at = LocalDateTimeField(_l("Starts"), validators=[InputRequired(message=_l("Enter when the session "
                                                                                      "starts."))],
                                   description=_l("In the event's time zone, for example 2027-02-20 10:00."))
    ends_at = LocalDateTimeField(_l("Ends"), validators=[InputRequired(message=_l("Enter when the session ends."))])
    place = StringField(_l("Place or link"), filters=[strip], validators=[Optional(), Length(max=300)])
    trainer = StringField(_l("Trainer"), filters=[strip], validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, k.label) for k in TrainingKind]

    def training_data(self) -> participants.TrainingData:
        return participants.TrainingData(kind=self.kind.data or "", title=self.title.data or "",
                                         starts_at=self.starts_at.data, ends_at=self.ends_at.data,
                                         place=self.place.data, trainer=self.trainer.data)
