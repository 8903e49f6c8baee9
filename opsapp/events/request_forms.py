"""Forms of the marketplace and of meeting requests: the marketplace's filters (GET, in the URL),
a meeting request (message and priority), the answer to one (accept, or decline with an
optional reason), the staff's request on both sides' behalf, and the staff's list filters.

The service (`requests.py`) checks everything again (quotas, phase, the pair); the forms give
the message next to the field and keep what was typed.
"""

from __future__ import annotations

import re

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from opsapp.events.forms_common import strip
from opsapp.events.marketplace import MarketFilters
from opsapp.events.models import RequestStatus, Side
from opsapp.events.requests import (
    MESSAGE_MAX,
    PRIORITIES,
    REASON_MAX,
    REQUESTED_BY_LABELS,
    RequestFilters,
)

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _priority_choices():
    return [(n, label) for n, label in PRIORITIES.items()]


class MarketFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: filters live in the URL

    q = StringField(_l("Words in the headline, offer or needs"), filters=[strip],
                    validators=[Optional(), Length(max=100)])
    s3_domain = SelectField(_l("S3 domain"), validators=[Optional()])
    country = SelectField(_l("Country of interest"), validators=[Optional()])
    side = SelectField(_l("Side"), validators=[Optional()], choices=[
        ("", _l("SMEs and buyers")), (Side.SME.value, _l("SMEs")), (Side.BUYER.value, _l("Buyers"))])
    outside = BooleanField(_l("Only from outside the region"))
    favourites = BooleanField(_l("Only my favourites"))

    def __init__(self, *args, s3_domains=(), countries=(), country_name=lambda c: c, **kwargs):
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "en")
        self.s3_domain.choices = [("", _l("Any domain"))] + [(str(d.id), d.name(locale)) for d in s3_domains]
        self.country.choices = [("", _l("Any country"))] + sorted(
            ((c, country_name(c)) for c in countries), key=lambda pair: str(pair[1]).casefold())

    def filters(self) -> MarketFilters:
        """The valid filters; a value that is not one of the choices is ignored, not an error page."""
        self.validate()

        def value(name):
            return "" if self[name].errors else (self[name].data or "")

        country = value("country")
        side = value("side")
        return MarketFilters(
            side=side if side in (Side.SME.value, Side.BUYER.value) else "",
            s3_domain=value("s3_domain") if str(value("s3_domain")).isdigit() else "",
            country=country if _COUNTRY.match(country) else "",
            q=value("q")[:100],
            outside=bool(self.outside.data), favourites=bool(self.favourites.data))


class RequestForm(FlaskForm):
    message = TextAreaField(
        _l("Message"), validators=[Optional(), Length(max=MESSAGE_MAX, message=_l(
            "Write at most %(max)d characters."))],
        description=_l("Why you would like to meet, in a few lines (at most %(num)d characters).", num=MESSAGE_MAX))
    priority = SelectField(_l("Priority"), coerce=int, default=3, validators=[DataRequired(
        _l("Choose a priority from 1 (nice to have) to 5 (top priority)."))],
        description=_l("How much this meeting matters to you. The scheduler places higher priorities first."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.priority.choices = _priority_choices()


class AnswerForm(FlaskForm):
    decision = SelectField(_l("Answer"), choices=[("accept", _l("Accept")), ("decline", _l("Decline"))],
                           validators=[DataRequired(_l("Choose to accept or to decline."))])
    reason = TextAreaField(_l("Reason (optional)"), filters=[strip], validators=[
        Optional(), Length(max=REASON_MAX, message=_l("Write at most %(max)d characters."))])


class StaffRequestForm(FlaskForm):
    sme_id = SelectField(_l("SME"), coerce=int, validators=[DataRequired(_l("Choose the SME."))])
    buyer_id = SelectField(_l("Buyer"), coerce=int, validators=[DataRequired(_l("Choose the buyer."))])
    priority = SelectField(_l("Priority"), coerce=int, default=3,
                           validators=[DataRequired(_l("Choose a priority from 1 (nice to have) to 5 (top priority)."))])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=MESSAGE_MAX, message=_l(
        "Write at most %(max)d characters."))], description=_l("Shown to both sides."))
    force = BooleanField(_l("Accept on both sides' behalf"),
                         description=_l("The request is accepted at once and goes to the scheduler; both sides "
                                        "are told. Otherwise either side may accept or decline it."))

    def __init__(self, *args, smes=(), buyers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sme_id.choices = [(0, _l("Choose an SME"))] + [(p.id, p.name) for p in smes]
        self.buyer_id.choices = [(0, _l("Choose a buyer"))] + [(p.id, p.name) for p in buyers]
        self.priority.choices = _priority_choices()


class RequestFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Participant"), filters=[strip], validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()])
    requested_by = SelectField(_l("Asked by"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [("", _l("Any status"))] + [(s.value, s.label) for s in RequestStatus]
        self.requested_by.choices = [("", _l("Anyone"))] + [(k, v) for k, v in REQUESTED_BY_LABELS.items()]

    def filters(self) -> RequestFilters:
        self.validate()
        values = {name: ("" if self[name].errors else (self[name].data or ""))
                  for name in ("q", "status", "requested_by")}
        values["q"] = values["q"][:100]
        return RequestFilters(**values)
