"""Forms of the schedule pages: run the scheduler, move or place a meeting (slot and table),
swap two meetings, cancel one with a reason, lock or unlock one.

The selects offer only free and compatible places; the choices are not enforced by the form
(the grid may have changed since the page was drawn): the service re-checks every change and
says what is wrong.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from opsapp.events.schedule_grid import FIRST_FREE, REASON_MAX


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RunForm(FlaskForm):
    """Only the CSRF token: the button that runs the scheduler."""


class PlaceForm(FlaskForm):
    """A slot and a table for a meeting: where to place a request, or where to move a meeting."""

    slot = SelectField(_l("Slot"), coerce=_int, validate_choice=False, validators=[DataRequired()])
    table = SelectField(_l("Table"), coerce=_int, validate_choice=False,
                        description=_l("The first free table, unless you choose one."))

    def __init__(self, *args, event=None, options=(), slot_label=None, **kwargs):
        """`options`: [(slot, [free tables])] as the service computes them."""
        super().__init__(*args, **kwargs)
        self.slot.choices = [(s.id, slot_label(event, s) if slot_label else str(s.id),
                              {"data-tables": " ".join(str(t) for t in free)}) for s, free in options]
        self.slot.render_kw = {"data-table-select": self.table.id}
        tables = sorted({t for _, free in options for t in free})
        self.table.choices = [(FIRST_FREE, _l("First free table"))] + [
            (t, event.table_name(t) if event is not None else str(t)) for t in tables]


class SwapForm(FlaskForm):
    other = SelectField(_l("Swap with"), coerce=_int, validate_choice=False, validators=[DataRequired()],
                        description=_l("The two meetings exchange their slots and tables."))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why is the meeting cancelled?"),
                           validators=[DataRequired(message=_l("Say why the meeting is cancelled.")),
                                       Length(max=REASON_MAX)],
                           description=_l("Both sides read it."))


class LockForm(FlaskForm):
    locked = HiddenField(validators=[DataRequired()])

    @property
    def wanted(self) -> bool:
        return self.locked.data == "1"
