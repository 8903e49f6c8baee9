"""Forms of granting and cancelling a voucher, the vouchers list's filters, and declaring aid.

The forms read what was typed (an amount as people write it, dates) and keep it on error; the
rules (the SME, the event outside the region, the maximum per SME, the budget, the de minimis
ceiling, dates within the scheme) are checked by the service (`grants.py`), whose messages are
put next to their fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from opsapp.vouchers import claims, grants
from opsapp.vouchers.models import VoucherStatus


def strip(value):
    return value.strip() if isinstance(value, str) else value


class Chosen:
    """Marks a choice as required (label and `required` attribute); the service says what is
    missing, together with the other fields' problems."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def _id(value) -> int:
    """A choice's id; anything else is 0 (none chosen), so the service says what is missing."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class AmountField(StringField):
    """An amount in EUR as typed ("2500", "2,500.00", "2.500,00"); `data` is a Decimal (None when
    empty); the typed text is shown again on error."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist:
            return
        try:
            self.data = claims.parse_amount(valuelist[0])
        except claims.AmountUnreadable as error:
            if error.code == "amount_ambiguous":
                raise ValueError(str(_l("Write the amount without thousands separators and with at most two "
                                        "decimals, for example 2500 or 12.50."))) from None
            raise ValueError(str(_l("Write the amount in EUR with a decimal point, for example 2500.00."))) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class DayField(DateField):
    """A date (an HTML date input); text that is not a date gets a message in the user's language."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)
        self.render_kw = {"type": "date", **(self.render_kw or {})}

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the date as day, month and year, for example 12/03/2027."))) from None


class GrantForm(FlaskForm):
    # Any organisation or event is read; the service says why one does not qualify.
    organisation_id = SelectField(_l("Company"), coerce=_id, validate_choice=False, validators=[Chosen()],
                                  description=_l("Start-ups and SMEs; those taking part in the edition's events "
                                                 "come first."))
    event_id = SelectField(_l("Event"), coerce=_id, validate_choice=False, default=0,
                           description=_l("The event the voucher pays the way to; choose none for services and "
                                          "describe them below."))
    purpose = TextAreaField(_l("Purpose"), filters=[strip], validators=[
        Optional(), Length(max=grants.PURPOSE_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("Required without an event: the services the voucher pays for (for example, pitch "
                       "coaching before the fair)."))
    amount = AmountField(_l("Amount (EUR)"),
                         validators=[InputRequired(message=_l("Enter the amount in EUR, for example 2500.00."))])
    granted_on = DayField(_l("Grant date"), validators=[InputRequired(message=_l("Enter the grant date."))],
                          description=_l("The date of the aid for de minimis, within the scheme's validity."))
    valid_until = DayField(_l("Valid until"), validators=[Optional()],
                           description=_l("The company claims by this date, or the voucher lapses. Empty: the "
                                          "scheme's end."))
    confirm = BooleanField(_l("Grant it even though little headroom is left under the de minimis ceiling"))

    def __init__(self, *args, participating=(), others=(), events=(), scheme=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices: dict = {}  # option groups
        if participating:
            choices[str(_l("Taking part in the edition's events"))] = [(o.id, _org_label(o)) for o in participating]
        if others:
            choices[str(_l("Other start-ups and SMEs"))] = [(o.id, _org_label(o)) for o in others]
        self.organisation_id.choices = {None: [(0, str(_l("Choose a company")))], **choices}
        self.event_id.choices = [(0, _l("No event: services"))] + [
            (e.id, _event_label(e, scheme)) for e in events]


def _org_label(organisation) -> str:
    return f"{organisation.legal_name} ({organisation.vat_number})"


def _event_label(event, scheme) -> str:
    if event.outside_region:
        return str(_l("%(name)s (outside the region)", name=event.name))
    if scheme is not None and scheme.outside_region_only:
        return str(_l("%(name)s (in the region: does not qualify)", name=event.name))
    return event.name


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for cancelling"), filters=[strip], validators=[
        DataRequired(message=_l("Give the reason for cancelling: the company reads it.")),
        Length(max=grants.REASON_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("The company reads it. The amount returns to the scheme's budget."))


class VoucherFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: the filters live in the URL

    q = StringField(_l("Company or VAT number"), filters=[strip], validators=[Optional(), Length(max=100)])
    scheme = SelectField(_l("Scheme"), validators=[Optional()], validate_choice=False)
    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args, schemes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme.choices = [("", _l("Any scheme"))] + [(str(s.id), s.name) for s in schemes]
        self.status.choices = [("", _l("Any status"))] + [(s.value, s.label) for s in VoucherStatus]

    def filters(self) -> grants.VoucherFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()
        scheme = self.scheme.data or ""
        status = self.status.data or ""
        return grants.VoucherFilters(
            scheme=scheme if scheme.isdigit() else "",
            status=status if status in {s.value for s in VoucherStatus} else "",
            q="" if self.q.errors else (self.q.data or "")[:100])


class AidForm(FlaskForm):
    grantor = StringField(_l("Grantor"), filters=[strip], validators=[
        DataRequired(message=_l("Enter who granted the aid, for example Regione Piemonte.")),
        Length(max=grants.GRANTOR_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("The public body that granted the aid, for example Regione Piemonte or a ministry."))
    granted_on = DayField(_l("Date granted"),
                          validators=[InputRequired(message=_l("Enter the date the aid was granted."))],
                          description=_l("The date of the grant decision, not in the future."))
    amount = AmountField(_l("Amount (EUR)"),
                         validators=[InputRequired(message=_l("Enter the amount in EUR, for example 2500.00."))],
                         description=_l("The gross grant equivalent of the aid, as in the grant decision."))
    description = TextAreaField(_l("Description"), filters=[strip], validators=[
        Optional(), Length(max=grants.DESCRIPTION_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("What the aid was for, and the legal basis if known (for example Regulation (EU) "
                       "2023/2831)."))
