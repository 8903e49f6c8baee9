"""Forms of the application pages: the form built from a call's questions, the declarations,
the choice of organisation, the staff filters and the eligibility decision.

The answer to each question is read by one pure function, `parse_answer(question, raw)`,
which gives the value as it is stored in `Answer.value` (text, a decimal or an ISO date as
a string, a list for multiple choice, a bool for yes/no) or refuses it with a message for
the applicant. The dynamic form runs it as each field's validator, and the service runs it
again before saving, so what the page says and what is stored never disagree. A required
answer is not enforced here: a draft may be incomplete; the submission checks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from opsapp.calls.models import (
    APPLICATION_STATUS_LABELS,
    ApplicationStatus,
    Eligibility,
    QuestionKind,
)
from opsapp.core import files
from opsapp.core.money import MoneyError, to_money

# Limits when the call sets none: long enough for any honest answer, short enough to keep
# the row small.
DEFAULT_TEXT_MAX = 500
DEFAULT_LONG_TEXT_MAX = 20000
NUMBER_LIMIT = Decimal("1e15")
MONEY_LIMIT = Decimal("999999999999.99")
NUMBER_DECIMALS = 4
MAX_CLIENTS = 1_000_000
RADIO_UP_TO = 6  # more choices than this are a drop-down list

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

YES, NO = "yes", "no"


class AnswerProblem(ValueError):
    """An answer that cannot be stored; the message is for the applicant."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- pure reading of answers -----------------------------------------------------------


def choice_pairs(question) -> list[tuple[str, str]]:
    """The choices of a question as (value, label): plain strings, {"value", "label"} or pairs."""
    pairs = []
    for choice in question.choices or ():
        if isinstance(choice, Mapping):
            value = str(choice.get("value", choice.get("label", "")))
            pairs.append((value, str(choice.get("label", value))))
        elif isinstance(choice, (list, tuple)) and len(choice) == 2:
            pairs.append((str(choice[0]), str(choice[1])))
        else:
            pairs.append((str(choice), str(choice)))
    return pairs


def text_limit(question) -> int:
    if question.max_length:
        return int(question.max_length)
    return DEFAULT_LONG_TEXT_MAX if question.kind == QuestionKind.LONG_TEXT else DEFAULT_TEXT_MAX


def _blank(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, (list, tuple)):
        return not [r for r in raw if str(r).strip()]
    return False


def _read_decimal(raw: str, message) -> Decimal:
    """A number typed by a person: spaces and a EUR sign ignored, a single comma read as the point."""
    text = str(raw).replace("\u00a0", "").replace(" ", "").strip()
    for sign in ("EUR", "€"):
        text = text.removeprefix(sign).removesuffix(sign).strip()
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise AnswerProblem(message)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise AnswerProblem(message) from None


def _within(question, value: Decimal, show) -> None:
    if question.min_value is not None and value < Decimal(question.min_value):
        raise AnswerProblem(_l("Enter at least %(min)s.", min=show(Decimal(question.min_value))))
    if question.max_value is not None and value > Decimal(question.max_value):
        raise AnswerProblem(_l("Enter at most %(max)s.", max=show(Decimal(question.max_value))))


def _plain_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _parse_text(question, raw) -> str:
    # Browsers send line breaks of a text area as CRLF: counted as one character, as typed.
    text = str(raw).replace("\r\n", "\n").strip()
    limit = text_limit(question)
    if len(text) > limit:
        raise AnswerProblem(_l("Write at most %(max)d characters (you wrote %(count)d).",
                               max=limit, count=len(text)))
    return text


def _parse_number(question, raw) -> str:
    value = _read_decimal(raw, _l("Write a number, for example 12 or 12.5, without thousands separators."))
    if abs(value) >= NUMBER_LIMIT:
        raise AnswerProblem(_l("This number is too large."))
    if value.as_tuple().exponent < -NUMBER_DECIMALS:
        raise AnswerProblem(_l("Use at most %(n)d decimals.", n=NUMBER_DECIMALS))
    _within(question, value, _plain_number)
    return _plain_number(value)


def _parse_money(question, raw) -> str:
    value = _read_decimal(raw, _l("Write the amount in euro without thousands separators, "
                                  "for example 1500000 or 1500000.50."))
    if value.as_tuple().exponent < -2:
        raise AnswerProblem(_l("Use at most two decimals for an amount in euro."))
    if abs(value) > MONEY_LIMIT:
        raise AnswerProblem(_l("This amount is too large."))
    try:
        amount = to_money(value)
    except MoneyError:
        raise AnswerProblem(_l("Write the amount in euro, for example 1500000.50.")) from None
    _within(question, amount, lambda v: f"EUR {to_money(v)}")
    return str(amount)


def _parse_date(question, raw) -> str:
    text = str(raw).strip()
    iso, dmy = _ISO_DATE.fullmatch(text), _DMY_DATE.fullmatch(text)
    try:
        if iso:
            day = date(int(iso[1]), int(iso[2]), int(iso[3]))
        elif dmy:
            day = date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        else:
            raise ValueError(text)
    except ValueError:
        raise AnswerProblem(_l("Write the date as year-month-day, for example 2026-03-31.")) from None
    if not 1900 <= day.year <= 2100:
        raise AnswerProblem(_l("Write a date between 1900 and 2100."))
    return day.isoformat()


def _parse_single(question, raw) -> str:
    value = str(raw[0] if isinstance(raw, (list, tuple)) else raw).strip()
    if value not in {v for v, _label in choice_pairs(question)}:
        raise AnswerProblem(_l("Choose one of the options in the list."))
    return value


def _parse_multiple(question, raw) -> list[str]:
    chosen = [str(r).strip() for r in (raw if isinstance(raw, (list, tuple)) else [raw]) if str(r).strip()]
    known = [v for v, _label in choice_pairs(question)]
    if any(c not in known for c in chosen):
        raise AnswerProblem(_l("Choose only options from the list."))
    return [v for v in known if v in chosen]  # the call's order, each once


def _parse_yes_no(question, raw) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value not in (YES, NO):
        raise AnswerProblem(_l("Choose yes or no."))
    return value == YES


_PARSERS = {
    QuestionKind.TEXT: _parse_text,
    QuestionKind.LONG_TEXT: _parse_text,
    QuestionKind.NUMBER: _parse_number,
    QuestionKind.MONEY: _parse_money,
    QuestionKind.DATE: _parse_date,
    QuestionKind.SINGLE_CHOICE: _parse_single,
    QuestionKind.MULTIPLE_CHOICE: _parse_multiple,
    QuestionKind.YES_NO: _parse_yes_no,
}


def parse_answer(question, raw):
    """The value to store for what the applicant sent, or None for no answer; raises AnswerProblem.

    `question` is anything with the attributes of `Question` (kind, max_length, min_value,
    max_value, choices). File questions are not read here: the file service checks uploads.
    """
    if _blank(raw):
        return None
    parser = _PARSERS.get(QuestionKind(question.kind))
    if parser is None:
        raise AnswerProblem(_l("This question takes a file."))
    return parser(question, raw)


def is_answered(question, value, file_id=None) -> bool:
    if question.kind == QuestionKind.FILE:
        return file_id is not None
    return value is not None and value != "" and value != []


# --- declarations ----------------------------------------------------------------------


def parse_paying_clients(raw) -> int | None:
    if _blank(raw):
        return None
    text = str(raw).strip().replace(" ", "")
    if not text.isdigit():
        raise AnswerProblem(_l("Write a whole number, for example 3."))
    value = int(text)
    if value > MAX_CLIENTS:
        raise AnswerProblem(_l("This number is too large."))
    return value


def parse_deminimis(raw) -> Decimal | None:
    if _blank(raw):
        return None
    value = _read_decimal(raw, _l("Write the amount in euro without thousands separators, for example 25000 "
                                  "(0 if you received none)."))
    if value < 0:
        raise AnswerProblem(_l("The amount cannot be negative; write 0 if you received none."))
    if value.as_tuple().exponent < -2:
        raise AnswerProblem(_l("Use at most two decimals for an amount in euro."))
    if value > MONEY_LIMIT:
        raise AnswerProblem(_l("This amount is too large."))
    return to_money(value)


def parse_yes_no(raw) -> bool | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value not in (YES, NO):
        raise AnswerProblem(_l("Choose yes or no."))
    return value == YES


DECLARATION_PARSERS = {
    "product_on_market": parse_yes_no,
    "paying_clients": parse_paying_clients,
    "deminimis_declared": parse_deminimis,
    "relocation_commitment": bool,
    "comparison_consent": bool,
}


def parse_declaration(name: str, raw):
    return DECLARATION_PARSERS[name](raw)


# --- the form of one step -------------------------------------------------------------


def field_name(question) -> str:
    return f"q{question.id}"


class _Answer:
    """Validator of one answer: runs `parse_answer`; marks the field required (shown, not enforced)."""

    def __init__(self, question):
        self.question = question
        self.field_flags = {"required": True} if question.required else {}

    def __call__(self, form, field):
        try:
            parse_answer(self.question, field.data)
        except AnswerProblem as problem:
            raise ValidationError(str(problem)) from None


class _Upload:
    """Validator of a file question: the core file service's checks, on the kinds and size the call allows."""

    def __init__(self, question, max_bytes: int | None):
        self.question = question
        self.max_bytes = max_bytes
        self.field_flags = {"required": True} if question.required else {}

    def __call__(self, form, field):
        upload = field.data
        if not isinstance(upload, FileStorage) or not upload.filename:
            return  # nothing chosen: the file already uploaded stays
        try:
            files.check(upload, allowed_kinds(self.question), self.max_bytes)
        except files.FileRejected as error:
            raise ValidationError(str(error)) from None
        finally:
            upload.stream.seek(0)  # the service reads it again to store it


def allowed_kinds(question) -> tuple[str, ...]:
    kinds = tuple(k for k in (question.file_kinds or ()) if k in files.KINDS)
    return kinds or files.DOCUMENTS


def max_bytes_for(question, upload_limit: int) -> int:
    if question.max_file_mb:
        return min(int(question.max_file_mb) * 1024 * 1024, upload_limit)
    return upload_limit


def file_hint(question, upload_limit: int):
    names = ", ".join(sorted({e.upper() for k in allowed_kinds(question) for e in files.KINDS[k].extensions}))
    mb = max_bytes_for(question, upload_limit) / 1024 / 1024
    return _l("%(types)s, up to %(mb)s MB.", types=names, mb=f"{mb:g}")


def _hint(question, extra=None) -> str | None:
    parts = [str(p) for p in (question.help_text, extra) if p]
    return " ".join(parts) or None


def _unbound_field(question, upload_limit: int):
    kind = QuestionKind(question.kind)
    label = question.label
    check = [_Answer(question)]
    if kind == QuestionKind.TEXT:
        return StringField(label, check, description=_hint(question, _l("At most %(max)d characters.",
                                                                         max=text_limit(question))))
    if kind == QuestionKind.LONG_TEXT:
        return TextAreaField(label, check, description=_hint(question, _l("At most %(max)d characters.",
                                                                           max=text_limit(question))))
    if kind in (QuestionKind.NUMBER, QuestionKind.MONEY):
        extra = None
        if question.min_value is not None and question.max_value is not None:
            extra = _l("From %(min)s to %(max)s.", min=_plain_number(Decimal(question.min_value)),
                       max=_plain_number(Decimal(question.max_value)))
        elif kind == QuestionKind.MONEY:
            extra = _l("In euro, for example 150000 or 150000.50.")
        return StringField(label, check, description=_hint(question, extra), render_kw={"inputmode": "decimal"})
    if kind == QuestionKind.DATE:
        return StringField(label, check, description=_hint(question), render_kw={"type": "date"})
    if kind == QuestionKind.SINGLE_CHOICE:
        pairs = choice_pairs(question)
        if len(pairs) <= RADIO_UP_TO:
            return RadioField(label, check, choices=pairs, validate_choice=False, description=_hint(question))
        return SelectField(label, check, choices=[("", _l("Choose..."))] + pairs, validate_choice=False,
                           description=_hint(question))
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return SelectMultipleField(label, check, choices=choice_pairs(question), validate_choice=False,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                   description=_hint(question, _l("Choose all that apply.")))
    if kind == QuestionKind.YES_NO:
        return RadioField(label, check, choices=[(YES, _l("Yes")), (NO, _l("No"))], validate_choice=False,
                          description=_hint(question))
    max_bytes = max_bytes_for(question, upload_limit)
    return FileField(label, [_Upload(question, max_bytes)],
                     description=_hint(question, file_hint(question, upload_limit)))


def form_value(question, value):
    """A stored value as the field shows it."""
    if value is None:
        return None
    if question.kind == QuestionKind.YES_NO:
        return YES if value else NO
    if question.kind == QuestionKind.MULTIPLE_CHOICE:
        return list(value) if isinstance(value, (list, tuple)) else [value]
    return str(value)


def answer_form(questions: Iterable, upload_limit: int, *, stored: Mapping[int, object] | None = None,
                formdata=None) -> FlaskForm:
    """The form of one step: field `q<id>` per question. With `stored` (GET) the fields show
    the saved answers; with `formdata` (POST) they hold what was sent, also when it is wrong."""

    class AnswerForm(FlaskForm):
        pass

    questions = list(questions)
    for question in questions:
        setattr(AnswerForm, field_name(question), _unbound_field(question, upload_limit))
    if formdata is not None:
        form = AnswerForm(formdata=formdata)
    else:
        data = {field_name(q): form_value(q, (stored or {}).get(q.id)) for q in questions}
        form = AnswerForm(formdata=None, data=data)
    form.questions = {field_name(q): q for q in questions}
    return form


# --- the declarations step ------------------------------------------------------------


def _declaration_check(name: str):
    def validator(form, field):
        try:
            parse_declaration(name, field.data)
        except AnswerProblem as problem:
            raise ValidationError(str(problem)) from None

    return validator


class DeclarationsForm(FlaskForm):
    """The fixed last step; fields that do not apply to the call or organisation are removed."""

    product_on_market = RadioField(
        _l("Is your product or service already on the market?"),
        [_declaration_check("product_on_market")], choices=[(YES, _l("Yes")), (NO, _l("No"))],
        validate_choice=False)
    paying_clients = StringField(
        _l("Number of paying clients"), [_declaration_check("paying_clients")],
        description=_l("Clients who paid for your product or service in the last 12 months."),
        render_kw={"inputmode": "numeric"})
    relocation_commitment = BooleanField(
        _l("We commit to move our registered or operational seat to the region"),
        description=_l("Your seat is outside the region. The commitment is followed up during the programme."))
    deminimis_declared = StringField(
        _l("De minimis aid received in the last three years (EUR)"), [_declaration_check("deminimis_declared")],
        description=_l("The total of the aid your undertaking received under the de minimis rules in this and "
                       "the two previous years, from any source. Write 0 if none."),
        render_kw={"inputmode": "decimal"})
    comparison_consent = BooleanField(
        _l("You may contact us for short follow-up surveys if we are not selected"),
        description=_l("Your answers let the region compare the growth of participants with that of similar "
                       "companies, to see what the programme really changes."))

    def __init__(self, *args, readiness: bool = True, relocation: bool = True, deminimis_required: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if not readiness:
            del self.product_on_market
            del self.paying_clients
        else:
            self.product_on_market.flags.required = True
            self.paying_clients.flags.required = True
        if not relocation:
            del self.relocation_commitment
        if deminimis_required:
            self.deminimis_declared.flags.required = True

    def present(self) -> list[str]:
        return [name for name in DECLARATION_PARSERS if name in self]


def declarations_data(application) -> dict:
    return {
        "product_on_market": None if application.product_on_market is None else (
            YES if application.product_on_market else NO),
        "paying_clients": None if application.paying_clients is None else str(application.paying_clients),
        "relocation_commitment": bool(application.relocation_commitment),
        "deminimis_declared": None if application.deminimis_declared is None else str(application.deminimis_declared),
        "comparison_consent": bool(application.comparison_consent),
    }


# --- choosing the organisation, staff filters, eligibility decision ---------------------


class ChooseOrganisationForm(FlaskForm):
    organisation_id = RadioField(_l("Apply for"), coerce=int,
                                 validators=[InputRequired(message=_l("Choose the organisation you apply for."))])


STATUS_FILTER_CHOICES = [("", _l("Current versions"))] + [
    (s.value, APPLICATION_STATUS_LABELS[s]) for s in ApplicationStatus]
ELIGIBILITY_LABELS = {
    Eligibility.PENDING: _l("To confirm"),
    Eligibility.ELIGIBLE: _l("Eligible"),
    Eligibility.INELIGIBLE: _l("Ineligible"),
}


class ApplicationFilterForm(FlaskForm):
    """The staff list's filters, read from the query string (nothing changes: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Organisation name contains"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], choices=STATUS_FILTER_CHOICES)
    eligibility = SelectField(_l("Eligibility"), validators=[Optional()], choices=[
        ("", _l("Any")), *((e.value, label) for e, label in ELIGIBILITY_LABELS.items())])
    flagged = SelectField(_l("Automatic check"), validators=[Optional()], choices=[
        ("", _l("Any")), ("yes", _l("Flagged: a rule failed")), ("no", _l("Every rule passed"))])
    s3_domain = SelectField(_l("S3 domain"), validators=[Optional()])
    size_class = SelectField(_l("Size class"), validators=[Optional()])

    def __init__(self, *args, s3_domains=(), size_classes=(), locale="en", **kwargs):
        super().__init__(*args, **kwargs)
        self.s3_domain.choices = [("", _l("Any domain"))] + [(str(d.id), d.name(locale)) for d in s3_domains]
        self.size_class.choices = [("", _l("Any size"))] + list(size_classes) + [("none", _l("Not classified"))]

    def values(self) -> dict:
        """The valid filters; a value that is not one of the choices is ignored rather than an error page."""
        self.validate()
        names = ("q", "status", "eligibility", "flagged", "s3_domain", "size_class")
        return {name: (self[name].data or "").strip() for name in names if not self[name].errors}


class EligibilityDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[
        (Eligibility.ELIGIBLE.value, _l("Eligible")),
        (Eligibility.INELIGIBLE.value, _l("Not eligible")),
    ], validators=[InputRequired(message=_l("Choose eligible or not eligible."))])
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Write the reason: it is kept with the decision.")), Length(max=2000)],
        description=_l("Required. Say what you checked, especially when you confirm an application that failed "
                       "a rule or exclude one that passed them all."))
