"""A `Monitoring` as the dashboard shows it: the headline cards grouped by indicator, every
table (each cell both as text in the reader's language and as the value an export writes)
and the data of every chart with its text alternative.

The page, the CSV and XLSX exports and the Word report read the same tables from here, so
what a reader downloads is what they saw. Nothing here reads the database: it only words
and formats what `monitoring.compute` returned. Figures hidden from the authority (groups
of fewer than `catalogue.MIN_GROUP` companies) read "Fewer than 3 companies: not shown" on
the page and are empty cells with that note in an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opsapp.calls.models import ProgrammeKind
from opsapp.kpi import catalogue
from opsapp.kpi.catalogue import (
    ACCELERATOR,
    INDICATORS,
    MEASURES,
    MEET_THE_BUYER,
    NOT_BY_COMPANY,
    SOURCE_LABELS,
    UNIT_LABELS,
    Unit,
    unit_label,
)
from opsapp.kpi.results import Breakdown, Impact, Monitoring, Value, WaveResponse

COUNT_UNITS = (Unit.COMPANIES, Unit.EVENTS, Unit.CONTRACTS, Unit.PARTNERSHIPS)
# Colours with at least 3:1 contrast on white, told apart with the common colour-vision
# deficiencies; lines also differ by point style and dashes, and every chart has its table.
PALETTE = ("#0072B2", "#B35806", "#1A7F5A", "#8E4585", "#1A1A1A", "#5E3C99")

IMPACT_METRICS = {
    "sales": _l("Sales"),
    "exports": _l("Exports"),
    "jobs": _l("Jobs (FTE)"),
}
IMPACT_CAVEAT = _l(
    "This compares the participants with eligible applicants who were not selected and agreed to answer the "
    "same surveys: the difference estimates what the programme changed, from the baseline year to the follow-up "
    "year. It is not a controlled experiment: the companies were not chosen at random, they chose to answer, and "
    "small groups make the estimate uncertain. Read it with the group sizes and response rates beside it.")
TABLE_TITLES = {
    "indicators": _l("Indicators against targets"),
    "erdf": _l("ERDF common indicators"),
    "series": _l("Growth over the three follow-up years"),
    "editions": _l("Comparison of editions"),
    "s3": _l("Breakdown by S3 domain"),
    "size": _l("Breakdown by size class"),
    "impact": _l("Participants against the comparison group"),
    "response": _l("Survey response by wave and group"),
}
TABLE_KEYS = tuple(TABLE_TITLES)
CHART_KEYS = ("series", "editions", "s3", "size", "impact")


def suppressed_text() -> str:
    return _("Fewer than %(num)d companies: not shown", num=catalogue.MIN_GROUP)


# --- numbers in the reader's language -----------------------------------------------------------------------------


def _locale() -> str:
    return str(get_locale() or "en")


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number_text(value: float | None, unit: Unit | str) -> str:
    """A figure as the reader writes it: money as EUR, a percentage with one decimal, FTE with
    at most two; empty when there is none."""
    if value is None:
        return ""
    unit = Unit(unit)
    if unit is Unit.EUR:
        from opsapp.core.money import format_money

        return format_money(_decimal(value, 2), _locale())
    if unit is Unit.PERCENT:
        return _("%(number)s %%", number=format_decimal(_decimal(value, 1), format="#,##0.0"))
    if unit is Unit.FTE:
        return _("%(number)s FTE", number=format_decimal(_decimal(value, 2), format="#,##0.##"))
    return format_decimal(_decimal(value, 2), format="#,##0.##")


def export_number(value: float | None, unit: Unit | str):
    """A figure as an export writes it: a number rounded as the page shows it, or None."""
    if value is None:
        return None
    unit = Unit(unit)
    if unit is Unit.EUR or unit is Unit.FTE:
        return _decimal(value, 2)
    if unit is Unit.PERCENT:
        return _decimal(value, 1)
    rounded = _decimal(value, 2)
    return int(rounded) if rounded == rounded.to_integral_value() else rounded


def percent_text(share: float | None) -> str:
    """A share (0.85) as a percentage with one decimal ("85.0 %")."""
    return "" if share is None else number_text(share * 100, Unit.PERCENT)


def points_text(value: float | None) -> str:
    if value is None:
        return ""
    return _("%(number)s percentage points", number=format_decimal(_decimal(value, 1), format="+#,##0.0;-#,##0.0"))


def stored_text(value: Value | None) -> str:
    """A headline value in a form that does not depend on the reader's language, to remember
    what an authority user saw: "15", "11.5", "1250.00"; "suppressed"; "" for no figure."""
    if value is None or (value.value is None and not value.suppressed):
        return ""
    if value.suppressed:
        return "suppressed"
    return str(export_number(value.value, value.definition.unit))


def stored_as_text(stored: str | None, measure: str) -> str:
    """What `stored_text` kept, written for the reader."""
    if not stored:
        return _("no figure")
    if stored == "suppressed":
        return suppressed_text()
    try:
        return number_text(float(stored), MEASURES[measure].unit)
    except ValueError:
        return stored


# --- words about one value ------------------------------------------------------------------------------------------


def measure_label(measure: str) -> str:
    """"ACC-1 Admitted": the indicator code and the measure's name."""
    return f"{MEASURES[measure].indicator} {MEASURES[measure].name}"


def no_survey_due(value: Value) -> bool:
    return value.definition.survey_based and not value.expected


def value_text(value: Value | None) -> str:
    if value is None:
        return _("No data")
    if value.suppressed:
        return suppressed_text()
    if no_survey_due(value):
        return _("No survey due yet")
    if value.value is None:
        return _("No data yet")
    return number_text(value.value, value.definition.unit)


def coverage_text(value: Value) -> str:
    """"from 34 of 40 companies" for a figure from surveys, "from 24 companies" for a count."""
    if value.definition.unit is Unit.EVENTS:
        return _("counted from the records of the events")
    if value.expected == 0:
        return _("no survey due yet")
    if value.expected is not None:
        return ngettext("from %(answered)d of %(num)d company", "from %(answered)d of %(num)d companies",
                        value.expected, answered=value.companies)
    return ngettext("from %(num)d company", "from %(num)d companies", value.companies)


def response_text(value: Value) -> str:
    if value.response_rate is None or not value.expected:
        return ""
    return _("response rate %(rate)s", rate=percent_text(value.response_rate))


def wave_text(wave: int | None) -> str:
    return "" if wave is None else _("%(months)d months after the programme", months=wave)


def partial_text(value: Value) -> str:
    if not value.partial:
        return ""
    return _("This figure rests on the %(answered)d of %(due)d companies that answered the survey %(months)d "
             "months after the programme; the others have not answered yet.",
             answered=value.companies, due=value.expected, months=value.wave or 0)


def note_text(value: Value | None) -> str:
    """What an export writes beside a value that is not a plain figure."""
    if value is None:
        return ""
    if value.suppressed:
        return suppressed_text()
    if no_survey_due(value):
        return _("No survey due yet")
    if value.partial:
        return _("Partial data: %(answered)d of %(due)d companies answered", answered=value.companies,
                 due=value.expected)
    return ""


def target_text(value: Value, all_editions: bool = False) -> str:
    if value.target is None and all_editions and value.definition.survey_based:
        return _("Targets are set per edition: choose one to compare")
    if value.target is None:
        return _("No target set")
    return _("Target: %(target)s", target=number_text(value.target, value.definition.unit))


def progress_text(value: Value) -> str:
    if value.progress is None:
        return ""
    return _("%(percent)s of the target", percent=percent_text(value.progress))


# --- the headline cards ---------------------------------------------------------------------------------------------


@dataclass
class Card:
    """One measure of the headline, worded for the reader."""

    value: Value
    name: str
    unit: str
    figure: str
    target: str
    progress: float | None  # 0..1 for the bar (capped); None without a target
    progress_text: str
    coverage: str
    response: str
    wave: str
    partial: str  # why the figure is partial; empty when it is not
    no_survey_due: bool
    suppressed: bool

    @property
    def key(self) -> str:
        return self.value.measure

    @property
    def dom_id(self) -> str:
        return "kpi-" + self.key.replace(".", "-").lower()


@dataclass
class IndicatorGroup:
    code: str
    name: str
    definition: str
    cards: list[Card] = field(default_factory=list)


def card(value: Value, all_editions: bool = False) -> Card:
    unit = value.definition.unit
    return Card(
        value=value,
        name=str(value.definition.name),
        unit="" if unit in (Unit.EUR, Unit.PERCENT, Unit.FTE) else unit_label(unit, value.value),
        figure=value_text(value),
        target=target_text(value, all_editions),
        progress=None if value.progress is None else max(0.0, min(1.0, value.progress)),
        progress_text=progress_text(value),
        coverage=coverage_text(value),
        response=response_text(value),
        wave=wave_text(value.wave) if value.definition.survey_based and value.expected else "",
        partial=partial_text(value) if not value.suppressed else "",
        no_survey_due=no_survey_due(value),
        suppressed=value.suppressed,
    )


def indicator_groups(values: list[Value], all_editions: bool = False) -> list[IndicatorGroup]:
    """The values grouped by indicator, in catalogue order."""
    groups: dict[str, IndicatorGroup] = {}
    for value in values:
        code = value.definition.indicator
        if code not in groups:
            indicator = INDICATORS[code]
            groups[code] = IndicatorGroup(code, str(indicator.name), str(indicator.definition))
        groups[code].cards.append(card(value, all_editions))
    return list(groups.values())


# --- tables ---------------------------------------------------------------------------------------------------------


@dataclass
class Cell:
    text: str  # as the page shows it
    value: object = None  # as an export writes it
    numeric: bool = False


@dataclass
class Column:
    label: str
    numeric: bool = False


@dataclass
class Table:
    key: str  # in the export's address: /kpi/export/<key>.csv
    title: str
    columns: list[Column]
    rows: list[list[Cell]]  # the first cell of a row names it (a row header)
    notes: list[str] = field(default_factory=list)  # printed under the table and in no export cell

    @property
    def header(self) -> list[str]:
        return [c.label for c in self.columns]

    def export_rows(self) -> list[list]:
        return [[cell.value for cell in row] for row in self.rows]


def _text(text: str) -> Cell:
    return Cell(text, text)


def _count(number: int | None) -> Cell:
    if number is None:
        return Cell("", None, True)
    return Cell(format_decimal(number, format="#,##0"), number, True)


def _rate(share: float | None) -> Cell:
    if share is None:
        return Cell("", None, True)
    return Cell(percent_text(share), _decimal(share * 100, 1), True)


def _figure(value: Value | None) -> Cell:
    """A value: its figure, or the reason there is none (the export leaves the cell empty)."""
    if value is None or value.suppressed or value.value is None or no_survey_due(value):
        return Cell(value_text(value), None, True)
    return Cell(number_text(value.value, value.definition.unit), export_number(value.value, value.definition.unit),
                True)


def _unit(value: Value) -> Cell:
    return _text(str(UNIT_LABELS[value.definition.unit]))


def indicators_table(monitoring: Monitoring) -> Table:
    columns = [Column(_("Measure")), Column(_("Indicator")), Column(_("Code")), Column(_("Value"), True),
               Column(_("Unit")), Column(_("Target"), True), Column(_("Progress"), True),
               Column(_("Companies"), True), Column(_("Surveys due"), True), Column(_("Response rate"), True),
               Column(_("Months after the programme"), True), Column(_("Note"))]
    rows = []
    for v in monitoring.headline:
        target = (Cell(number_text(v.target, v.definition.unit), export_number(v.target, v.definition.unit), True)
                  if v.target is not None else Cell(_("No target set"), None, True))
        progress = _rate(v.progress)
        rows.append([_text(measure_label(v.measure)), _text(str(INDICATORS[v.definition.indicator].name)),
                     _text(v.measure), _figure(v), _unit(v), target, progress, _count(v.companies),
                     _count(v.expected), _rate(v.response_rate if v.expected else None),
                     _count(v.wave if v.expected else None), _text(note_text(v))])
    return Table("indicators", str(TABLE_TITLES["indicators"]), columns, rows)


def erdf_table(monitoring: Monitoring) -> Table:
    columns = [Column(_("Measure")), Column(_("Indicator")), Column(_("Code")), Column(_("Value"), True),
               Column(_("Unit")), Column(_("Companies"), True), Column(_("Coverage")), Column(_("Note"))]
    rows = []
    for v in monitoring.erdf:
        rows.append([_text(measure_label(v.measure)), _text(str(INDICATORS[v.definition.indicator].name)),
                     _text(v.measure), _figure(v), _unit(v), _count(v.companies),
                     _text(" · ".join(t for t in (coverage_text(v), response_text(v)) if t)), _text(note_text(v))])
    return Table("erdf", str(TABLE_TITLES["erdf"]), columns, rows)


def series_table(monitoring: Monitoring) -> Table:
    columns = [Column(_("Measure")), Column(_("Months after the programme"), True), Column(_("Value"), True),
               Column(_("Companies that answered"), True), Column(_("Surveys due"), True),
               Column(_("Response rate"), True), Column(_("Note"))]
    rows = []
    for key in series_measures(monitoring):
        for v in monitoring.series[key]:
            rows.append([_text(measure_label(key)), _count(v.wave), _figure(v), _count(v.companies),
                         _count(v.expected), _rate(v.response_rate if v.expected else None), _text(note_text(v))])
    return Table("series", str(TABLE_TITLES["series"]), columns, rows)


def series_measures(monitoring: Monitoring) -> list[str]:
    """The growth and change measures (percentages) of the series, in catalogue order."""
    return [key for key in MEASURES if key in monitoring.series and MEASURES[key].unit is Unit.PERCENT]


def breakdown_measures(monitoring: Monitoring, by_company: bool = False) -> list[str]:
    """The headline counts compared across editions, or (`by_company`) across the companies'
    S3 domains and size classes, where counts of events and buyers do not apply."""
    return [v.measure for v in monitoring.headline if v.definition.unit in COUNT_UNITS
            and not (by_company and v.measure in NOT_BY_COMPANY)]


def _breakdown_table(key: str, first: str, groups: list[Breakdown], measures: list[str]) -> Table:
    columns = [Column(first), Column(_("Companies followed"), True)]
    columns += [Column(measure_label(m), True) for m in measures]
    columns.append(Column(_("Note")))
    rows = []
    for group in groups:
        by_key = {v.measure: v for v in group.values}
        row = [_text(str(group.label)), _count(group.companies)]
        if group.suppressed:
            row += [Cell(suppressed_text(), None, True) for _m in measures]
            row.append(_text(suppressed_text()))
        else:
            row += [_figure(by_key.get(m)) for m in measures]
            hidden = any(by_key.get(m) is not None and by_key[m].suppressed for m in measures)
            partial = any(by_key.get(m) is not None and by_key[m].partial for m in measures)
            notes = [suppressed_text()] if hidden else []
            if partial:
                notes.append(_("Some figures rest on part of the companies (surveys not all answered)."))
            row.append(_text(" ".join(notes)))
        rows.append(row)
    return Table(key, str(TABLE_TITLES[key]), columns, rows)


def editions_table(monitoring: Monitoring) -> Table:
    return _breakdown_table("editions", _("Edition"), monitoring.by_edition, breakdown_measures(monitoring))


def s3_table(monitoring: Monitoring) -> Table:
    return _breakdown_table("s3", _("S3 domain"), monitoring.by_s3, breakdown_measures(monitoring, True))


def size_table(monitoring: Monitoring) -> Table:
    return _breakdown_table("size", _("Size class"), monitoring.by_size, breakdown_measures(monitoring, True))


def impact_label(impact: Impact) -> str:
    return _("%(metric)s, %(months)d months", metric=IMPACT_METRICS.get(impact.metric, impact.metric),
             months=impact.wave)


def _change(value: float | None, suppressed: bool) -> Cell:
    if suppressed:
        return Cell(suppressed_text(), None, True)
    if value is None:
        return Cell(_("No data yet"), None, True)
    return Cell(number_text(value, Unit.PERCENT), export_number(value, Unit.PERCENT), True)


def impact_table(monitoring: Monitoring) -> Table:
    columns = [Column(_("Figure")), Column(_("Participants: change"), True),
               Column(_("Comparison group: change"), True), Column(_("Difference (percentage points)"), True),
               Column(_("Participants that answered"), True), Column(_("Participants due"), True),
               Column(_("Participants' response rate"), True), Column(_("Comparison companies that answered"), True),
               Column(_("Comparison companies due"), True), Column(_("Comparison group's response rate"), True),
               Column(_("Note"))]
    rows = []
    for imp in monitoring.impact:
        if imp.suppressed or imp.difference is None:
            difference = (Cell(suppressed_text(), None, True) if imp.suppressed
                          else Cell(_("No data yet"), None, True))
        else:
            difference = Cell(points_text(imp.difference), _decimal(imp.difference, 1), True)
        rate_p = imp.participants / imp.participants_expected if imp.participants_expected else None
        rate_c = imp.comparison / imp.comparison_expected if imp.comparison_expected else None
        rows.append([_text(impact_label(imp)), _change(imp.participants_change, imp.suppressed),
                     _change(imp.comparison_change, imp.suppressed), difference, _count(imp.participants),
                     _count(imp.participants_expected), _rate(rate_p), _count(imp.comparison),
                     _count(imp.comparison_expected), _rate(rate_c),
                     _text(suppressed_text() if imp.suppressed else "")])
    return Table("impact", str(TABLE_TITLES["impact"]), columns, rows, notes=[str(IMPACT_CAVEAT)])


def group_label(group: str) -> str:
    from opsapp.kpi.models import FollowUpGroup

    try:
        return str(FollowUpGroup(group).label)
    except ValueError:
        return group


def response_table(monitoring: Monitoring) -> Table:
    columns = [Column(_("Survey")), Column(_("Group")), Column(_("Due"), True), Column(_("Answered"), True),
               Column(_("Response rate"), True)]
    rows = [[_text(wave_text(r.wave)), _text(group_label(r.group)), _count(r.due), _count(r.answered),
             _rate(r.rate) if r.due else Cell(_("No survey due yet"), None, True)]
            for r in _sorted_response(monitoring.response)]
    return Table("response", str(TABLE_TITLES["response"]), columns, rows)


def _sorted_response(rows: list[WaveResponse]) -> list[WaveResponse]:
    order = {"participant": 0, "comparison": 1}
    return sorted(rows, key=lambda r: (r.wave, order.get(r.group, 2)))


BUILDERS = {
    "indicators": indicators_table,
    "erdf": erdf_table,
    "series": series_table,
    "editions": editions_table,
    "s3": s3_table,
    "size": size_table,
    "impact": impact_table,
    "response": response_table,
}


def table(monitoring: Monitoring, key: str) -> Table:
    return BUILDERS[key](monitoring)


def tables(monitoring: Monitoring) -> dict[str, Table]:
    return {key: build(monitoring) for key, build in BUILDERS.items()}


# --- charts ---------------------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    label: str
    data: list[float | None]
    texts: list[str]  # each point as the table writes it (tooltips and the text alternative)


@dataclass
class Chart:
    key: str  # its table's key
    kind: str  # "line" or "bar"
    title: str
    caption: str
    x_label: str
    y_label: str
    labels: list[str]
    datasets: list[Dataset]

    @property
    def empty(self) -> bool:
        return not self.labels or all(v is None for d in self.datasets for v in d.data)

    @property
    def summary(self) -> str:
        """The text alternative: what the chart shows, point by point."""
        parts = [self.title + "."]
        for dataset in self.datasets:
            points = ", ".join(f"{label}: {text}" for label, text in zip(self.labels, dataset.texts, strict=False))
            parts.append(f"{dataset.label} — {points}.")
        parts.append(_("The table below the chart holds the same figures."))
        return " ".join(parts)

    def data(self) -> dict:
        """What `dashboard.js` draws, as JSON."""
        return {
            "type": self.kind,
            "labels": self.labels,
            "x": self.x_label,
            "y": self.y_label,
            "datasets": [{"label": d.label, "data": d.data, "texts": d.texts,
                          "color": PALETTE[i % len(PALETTE)]} for i, d in enumerate(self.datasets)],
        }


def _point(value: Value | None) -> tuple[float | None, str]:
    cell = _figure(value)
    if cell.value is None:
        return None, cell.text
    return float(cell.value), cell.text


def series_chart(monitoring: Monitoring) -> Chart:
    from opsapp.kpi.models import WAVES

    datasets = []
    for key in series_measures(monitoring):
        by_wave = {v.wave: v for v in monitoring.series[key]}
        points = [_point(by_wave.get(wave)) for wave in WAVES]
        datasets.append(Dataset(measure_label(key), [p[0] for p in points], [p[1] for p in points]))
    return Chart("series", "line", str(TABLE_TITLES["series"]),
                 _("Growth and change from the baseline year, for the companies that answered each follow-up survey."),
                 _("Months after the programme"), _("Percent"), [wave_text(w) for w in WAVES], datasets)


def _breakdown_chart(key: str, groups: list[Breakdown], monitoring: Monitoring, caption: str, x_label: str) -> Chart:
    datasets = []
    for measure in breakdown_measures(monitoring, by_company=key != "editions"):
        points = []
        for group in groups:
            by_key = {v.measure: v for v in group.values}
            if group.suppressed:
                points.append((None, suppressed_text()))
            else:
                points.append(_point(by_key.get(measure)))
        datasets.append(Dataset(measure_label(measure), [p[0] for p in points], [p[1] for p in points]))
    return Chart(key, "bar", str(TABLE_TITLES[key]), caption, x_label, _("Number"),
                 [str(g.label) for g in groups], datasets)


def editions_chart(monitoring: Monitoring) -> Chart:
    return _breakdown_chart("editions", monitoring.by_edition, monitoring,
                            _("The headline counts of each edition side by side."), _("Edition"))


def s3_chart(monitoring: Monitoring) -> Chart:
    return _breakdown_chart("s3", monitoring.by_s3, monitoring,
                            _("The headline counts for the companies of each S3 domain (a company working in "
                              "several domains counts in each)."), _("S3 domain"))


def size_chart(monitoring: Monitoring) -> Chart:
    return _breakdown_chart("size", monitoring.by_size, monitoring,
                            _("The headline counts for the companies of each size class."), _("Size class"))


def impact_chart(monitoring: Monitoring) -> Chart:
    participants, comparison = [], []
    for imp in monitoring.impact:
        participants.append(_change_point(imp.participants_change, imp.suppressed))
        comparison.append(_change_point(imp.comparison_change, imp.suppressed))
    datasets = [Dataset(_("Participants"), [p[0] for p in participants], [p[1] for p in participants]),
                Dataset(_("Comparison group"), [p[0] for p in comparison], [p[1] for p in comparison])]
    return Chart("impact", "bar", str(TABLE_TITLES["impact"]),
                 _("Change from the baseline year in each group; the difference between the two estimates what "
                   "the programme changed."), _("Figure"), _("Percent"),
                 [impact_label(i) for i in monitoring.impact], datasets)


def _change_point(value: float | None, suppressed: bool) -> tuple[float | None, str]:
    cell = _change(value, suppressed)
    return (None if cell.value is None else float(cell.value)), cell.text


CHARTS = {
    "series": series_chart,
    "editions": editions_chart,
    "s3": s3_chart,
    "size": size_chart,
    "impact": impact_chart,
}


def charts(monitoring: Monitoring) -> dict[str, Chart]:
    return {key: build(monitoring) for key, build in CHARTS.items()}


# --- everything the page shows --------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    monitoring: Monitoring
    groups: list[IndicatorGroup]
    erdf_groups: list[IndicatorGroup]
    tables: dict[str, Table]
    charts: dict[str, Chart]


def dashboard(monitoring: Monitoring) -> Dashboard:
    every = monitoring.scope.edition is None
    return Dashboard(monitoring, indicator_groups(monitoring.headline, every), indicator_groups(monitoring.erdf, every),
                     tables(monitoring), charts(monitoring))


# --- the catalogue ------------------------------------------------------------------------------------------------------


@dataclass
class CatalogueEntry:
    code: str
    name: str
    definition: str
    erdf: list[str]
    measures: list[tuple[str, str, str, str]]  # (name, unit, source, aggregation)


def catalogue_sections() -> list[tuple[str, list[CatalogueEntry]]]:
    """The catalogue as the page shows it: each programme's indicators, then the ERDF ones."""
    def entry(code: str) -> CatalogueEntry:
        indicator = INDICATORS[code]
        measures = [(str(m.name), str(UNIT_LABELS[m.unit]), str(SOURCE_LABELS[m.source]), str(m.aggregation))
                    for m in MEASURES.values() if m.indicator == code]
        return CatalogueEntry(code, str(indicator.name), str(indicator.definition), list(indicator.erdf), measures)

    sections = []
    for programme in (ACCELERATOR, MEET_THE_BUYER):
        codes = [c for c, i in INDICATORS.items() if i.programme == programme]
        sections.append((ProgrammeKind(programme).label, [entry(c) for c in codes]))
    sections.append((_("ERDF 2021-2027 common indicators"), [entry(c) for c, i in INDICATORS.items()
                                                              if i.programme is None]))
    return sections
