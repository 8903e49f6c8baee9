"""The form of the targets of one edition: one field per measure of the programme and of its
ERDF common indicators, built for the measures asked for.

A target is typed as the reader writes numbers ("12,5" in Italian, "1,250.5" in English);
empty means no target. A target cannot be negative, a count of companies, events, contracts
or partnerships is a whole number, and each unit has a ceiling that catches a slipped key.
What was typed stays in the field when it is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, parse_decimal
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from opsapp.kpi.catalogue import MEASURES, UNIT_LABELS, Measure, Unit

COUNT_UNITS = (Unit.COMPANIES, Unit.EVENTS, Unit.CONTRACTS, Unit.PARTNERSHIPS)
CEILINGS = {
    Unit.EUR: Decimal("10000000000"),  # ten billion euros
    Unit.PERCENT: Decimal("1000"),
    Unit.FTE: Decimal("100000"),
    Unit.COMPANIES: Decimal("100000"),
    Unit.EVENTS: Decimal("10000"),
    Unit.CONTRACTS: Decimal("1000000"),
    Unit.PARTNERSHIPS: Decimal("1000000"),
}
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def field_name(measure: str) -> str:
    """"ACC-1.admitted" -> "target_ACC_1__admitted" (a field name and an HTML id)."""
    return "target_" + measure.replace("-", "_").replace(".", "__")


def _locale() -> str:
    return str(get_locale() or "en")


def parse_target(text: str) -> Decimal:
    """A number as the reader typed it; a plain "12.5" is accepted in every language."""
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    try:
        return Decimal(parse_decimal(text, locale=_locale(), strict=True))
    except (NumberFormatError, InvalidOperation, ValueError):
        if PLAIN_NUMBER.match(text):
            return Decimal(text)
        raise ValueError(text) from None


def shown_target(value: Decimal | None) -> str:
    """A stored target as the reader types it (no grouping, at most two decimals)."""
    return "" if value is None else format_decimal(value, format="0.##")


class TargetField(StringField):
    """A target: its parsed value is `target` (None when empty) once validated."""

    def __init__(self, label, measure: Measure, **kwargs):
        super().__init__(label, **kwargs)
        self.measure = measure
        self.target: Decimal | None = None

    def pre_validate(self, form):
        self.target = None
        text = (self.data or "").strip()
        if not text:
            return
        try:
            value = parse_target(text)
        except ValueError:
            raise ValidationError(_l("Enter a number, for example 12 or 12.5.")) from None
        if not value.is_finite():
            raise ValidationError(_l("Enter a number, for example 12 or 12.5."))
        unit = self.measure.unit
        if value < 0:
            raise ValidationError(_l("A target cannot be negative."))
        if unit in COUNT_UNITS and value != value.to_integral_value():
            raise ValidationError(_l("Enter a whole number of %(unit)s.", unit=UNIT_LABELS[unit]))
        if value > CEILINGS[unit]:
            raise ValidationError(_l("This target is too large: at most %(max)s.",
                                     max=format_decimal(CEILINGS[unit], format="#,##0")))
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError(_l("Enter at most two decimals."))
        self.target = value.quantize(Decimal("0.01"))


class TargetsForm(FlaskForm):
    """The fields are added per measure by `targets_form`."""

    def target_fields(self, measures: list[Measure]) -> list[TargetField]:
        return [self[field_name(m.key)] for m in measures]


def targets_form(measures: list[Measure], current: dict[str, Decimal], formdata=None) -> TargetsForm:
    """A form with one field per measure, filled with the current targets unless posted."""

    class Form(TargetsForm):
        pass

    for measure in measures:
        unit = UNIT_LABELS[measure.unit]
        setattr(Form, field_name(measure.key),
                TargetField(f"{measure.key} {measure.name}", measure,
                            description=_l("Unit: %(unit)s. Leave empty for no target.", unit=unit)))
    data = {field_name(key): shown_target(value) for key, value in current.items() if key in MEASURES}
    if formdata is None:
        return Form(formdata=None, data=data)
    return Form(formdata=formdata)
