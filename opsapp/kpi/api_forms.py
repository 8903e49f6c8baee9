"""Forms of the API tokens page: naming a new token, and revoking one (a button, CSRF only).

The service (`api.py`) checks the name again; the form puts the message next to the field
and keeps what was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from opsapp.kpi.api import NAME_MAX


def strip(value):
    return value.strip() if isinstance(value, str) else value


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[strip],
        validators=[DataRequired(_l("Give the token a name, for example the system that will use it.")),
                    Length(max=NAME_MAX, message=_l("The name can be at most %(max)d characters long."))],
        description=_l("Which system will use the token, so that you recognise it in the list, for example "
                       "\"Regional data warehouse\"."))


class RevokeTokenForm(FlaskForm):
    """Revoking a token: a button, with nothing to fill in."""
