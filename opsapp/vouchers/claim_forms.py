"""Forms of a voucher's claim, its review and its payment.

The forms read what was typed (an amount as people write it, a date, a file) and keep it on
error; the rules (eligible category, dates within the validity, the total within the voucher,
the receipt's content, the review's reasons, the payment's date) are checked by the service
(`claiming.py`, with `claims.py`), whose messages are put next to their fields.
"""

from __future__ import annotations

from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from opsapp.vouchers import claims
from opsapp.vouchers.claiming import message


def strip(value):
    return value.strip() if isinstance(value, str) else value


class AmountField(StringField):
    """An amount in EUR as typed ("250", "1.250,50"); `data` is a Decimal (None when empty), the
    typed text is shown again on error."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if not valuelist:
            return
        try:
            self.data = claims.parse_amount(valuelist[0])
        except claims.AmountUnreadable as error:
            raise ValueError(message(claims.Problem(self.name, error.code))) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class DayField(DateField):
    """A date (an HTML date input); a text that is not a date gets a message in the user's language."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)
        self.render_kw = {"type": "date", **(self.render_kw or {})}

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the date as day, month and year, for example 12/03/2027."))) from None


class LineForm(FlaskForm):
    # Any category is read; the service says whether it is eligible (its message, not "not a valid choice").
    category_id = SelectField(_l("Category"), coerce=int, validate_choice=False,
                              validators=[DataRequired(message=_l("Choose the category of the expense."))])
    spent_on = DayField(_l("Date of the expense"),
                        validators=[InputRequired(message=_l("Enter the date of the expense."))],
                        description=_l("The day on the receipt, within the voucher's validity."))
    description = StringField(_l("Description"), filters=[strip], validators=[
        DataRequired(message=_l("Describe the expense, for example: train Torino–Milano, 12 March.")),
        Length(max=claims.DESCRIPTION_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("What was paid for, for example: train Torino–Milano, 12 March."))
    amount = AmountField(_l("Amount (EUR)"),
                         validators=[InputRequired(message=_l("Enter the amount in EUR, for example 250.00."))],
                         description=_l("As on the receipt, VAT included, for example 250.00."))
    receipt = FileField(_l("Receipt"), validators=[FileRequired(message=_l("Attach the receipt (PDF, JPEG or PNG)."))],
                        description=_l("The invoice or receipt: PDF, JPEG or PNG, up to 10 MB."))

    def __init__(self, *args, categories=(), validity=None, **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        if validity is not None:
            self.spent_on.description = _l("The day on the receipt, from %(start)s to %(end)s, not in the future.",
                                           start=format_date(validity[0], "medium"),
                                           end=format_date(validity[1], "medium"))
        self.category_id.choices = [(0, _l("Choose a category"))] + [(c.id, c.name(locale)) for c in categories]


class SubmitForm(FlaskForm):
    declaration = BooleanField(
        _l("I declare that these expenses are real, have been paid, and are not funded twice (by another "
           "grant or aid)."),
        validators=[DataRequired(message=_l("Confirm the declaration to submit the claim."))])


DECISION_CHOICES = [(claims.APPROVED, _l("Approve fully")), (claims.PARTLY, _l("Approve partly")),
                    (claims.REJECTED, _l("Reject"))]


class DecisionForm(FlaskForm):
    """One per line, with the prefix "line-<id>" so that ids stay unique; the page's CSRF token is
    checked by the review form."""

    class Meta:
        csrf = False

    decision = RadioField(_l("Decision"), choices=DECISION_CHOICES, validators=[Optional()])
    amount = AmountField(_l("Amount approved (EUR)"), validators=[Optional()],
                         description=_l("For a partial approval: more than 0 and less than the line's amount."))
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[Optional()],
                           description=_l("Required for a partial approval or a rejection: the SME reads it."))


class ReviewForm(FlaskForm):
    """The page's CSRF token; the decisions are in the `DecisionForm`s."""


class PaymentForm(FlaskForm):
    paid_on = DayField(_l("Date of the payment"),
                       validators=[InputRequired(message=_l("Enter the date of the payment."))],
                       description=_l("Not in the future, and not before the review."))
    reference = StringField(_l("Payment reference"), filters=[strip], validators=[
        DataRequired(message=_l("Enter the reference of the payment (for example the bank transfer's CRO/TRN).")),
        Length(max=claims.REFERENCE_MAX, message=_l("Write at most %(max)d characters."))],
        description=_l("For example the bank transfer's CRO or TRN."))
    amount = AmountField(_l("Amount paid (EUR)"),
                         validators=[InputRequired(message=_l("Enter the amount in EUR, for example 250.00."))],
                         description=_l("The approved amount: partial payments are not part of the scheme."))
