"""The monitoring service the dashboard, the Word report, the exports and the JSON API call:
the figures of a scope (`compute`), the programmes, editions and S3 domains to choose from,
and the targets staff set per edition (`targets`, `set_target`, audited).

It reads the database through `sources.py` and leaves every rule to `indicators.py`; it
only flushes, the calling view commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from opsapp.accounts.models import S3Domain
from opsapp.accounts.organisations import SIZE_CLASS_LABELS
from opsapp.calls.models import Edition, Programme, ProgrammeKind
from opsapp.core import audit
from opsapp.core.pages import Refusal
from opsapp.core.roles import PROGRAMME_STAFF
from opsapp.core.timeutil import DEFAULT_TZ
from opsapp.extensions import db
from opsapp.kpi import indicators, sources
from opsapp.kpi.catalogue import INDICATORS, MEASURES, PROGRAMMES, SIZE_CLASSES
from opsapp.kpi.models import IndicatorTarget
from opsapp.kpi.results import Monitoring, Scope

TARGET_MAX = Decimal("99999999999999.99")  # what a Numeric(16, 2) holds
CENT = Decimal("0.01")

SIZE_LABELS = {**{str(size): label for size, label in SIZE_CLASS_LABELS.items()},
               indicators.UNKNOWN_SIZE: _l("Size not known")}


class KpiError(Refusal):
    """A monitoring rule refused an action (an unknown measure, a negative target, ...)."""


def _locale() -> str:
    try:
        return str(get_locale() or "en")
    except (RuntimeError, AttributeError):  # outside a request: the source language
        return "en"


def today_in_rome() -> date:
    return datetime.now(DEFAULT_TZ).date()


def compute(scope: Scope, *, for_authority: bool, today: date | None = None) -> Monitoring:
    """Every figure of a scope (programme, and optionally edition, S3 domain, size class).

    For the authority (`for_authority=True`) the figures and groups resting on fewer than
    `catalogue.MIN_GROUP` companies are suppressed; staff see them all.
    """
    if scope.programme not in PROGRAMMES:
        raise KpiError(_l("Unknown programme."), field="programme")
    frames = sources.load(scope.programme, today or today_in_rome())
    return indicators.compute(
        frames, scope, for_authority=for_authority,
        targets=sources.targets_by_edition(scope.programme),
        s3_names=sources.s3_names(_locale()),
        size_labels={size: str(label) for size, label in SIZE_LABELS.items()},
    )


def programmes() -> list[tuple[str, str]]:
    """The two programmes: (catalogue value, name in the current language)."""
    return [(p, ProgrammeKind(p).label) for p in PROGRAMMES]


def editions(programme: str) -> list[int]:
    """The edition years of a programme that exist, oldest first."""
    return list(db.session.scalars(select(Edition.year).join(Programme, Programme.id == Edition.programme_id)
                                   .where(Programme.kind == programme).order_by(Edition.year)))


def s3_domains() -> list[tuple[str, str]]:
    """The active S3 domains: (code, name in the current language), by name."""
    locale = _locale()
    rows = db.session.scalars(select(S3Domain).where(S3Domain.active.is_(True)).order_by(S3Domain.code)).all()
    return sorted(((d.code, d.name(locale)) for d in rows), key=lambda pair: pair[1].lower())


def size_classes() -> list[tuple[str, str]]:
    """The size classes to filter by: (value, label in the current language)."""
    return [(size, str(SIZE_LABELS[size])) for size in SIZE_CLASSES]


def programme_of_edition(edition_id: int) -> str:
    kind = db.session.scalar(select(Programme.kind).join(Edition, Edition.programme_id == Programme.id)
                             .where(Edition.id == edition_id))
    if kind is None:
        raise KpiError(_l("This edition does not exist."), field="edition")
    return kind


def edition_id(programme: str, year: int) -> int | None:
    """The id of a programme's edition of a year, or None."""
    return db.session.scalar(select(Edition.id).join(Programme, Programme.id == Edition.programme_id)
                             .where(Programme.kind == programme, Edition.year == year))


def targets(programme: str, edition: int) -> dict[str, Decimal]:
    """The targets set for a programme's edition (by year)."""
    query = (select(IndicatorTarget.measure, IndicatorTarget.target)
             .join(Edition, Edition.id == IndicatorTarget.edition_id)
             .join(Programme, Programme.id == Edition.programme_id)
             .where(Programme.kind == programme, Edition.year == edition))
    return {measure: Decimal(target) for measure, target in db.session.execute(query)}


def set_target(actor, measure: str, edition_id: int, value: Decimal | None) -> None:
    """Set (or with None remove) the target of a measure in an edition; audited, flushed."""
    if actor is None or not actor.has_role(*PROGRAMME_STAFF):
        raise KpiError(_l("Only programme staff can set targets."))
    if measure not in MEASURES:
        raise KpiError(_l("This indicator measure does not exist."), field="measure")
    edition = db.session.get(Edition, edition_id)
    if edition is None:
        raise KpiError(_l("This edition does not exist."), field="edition")
    programme = INDICATORS[MEASURES[measure].indicator].programme
    if programme is not None and programme != edition.programme.kind:
        raise KpiError(_l("This measure belongs to the other programme."), field="measure")
    if value is not None:
        try:
            value = Decimal(value).quantize(CENT)
        except ArithmeticError:
            raise KpiError(_l("Enter a number."), field="target") from None
        if not value.is_finite():
            raise KpiError(_l("Enter a number."), field="target")
        if value < 0:
            raise KpiError(_l("A target cannot be negative."), field="target")
        if value > TARGET_MAX:
            raise KpiError(_l("This target is too large."), field="target")
    row = db.session.scalar(select(IndicatorTarget).where(IndicatorTarget.measure == measure,
                                                          IndicatorTarget.edition_id == edition_id))
    previous = None if row is None else row.target
    if value is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(IndicatorTarget(measure=measure, edition_id=edition_id, target=value,
                                       set_by_id=actor.id))
    else:
        row.target, row.set_by_id = value, actor.id
    db.session.flush()
    audit.record("kpi.target_set", edition, actor=actor, measure=measure,
                 target=None if value is None else str(value),
                 previous=None if previous is None else str(previous))
