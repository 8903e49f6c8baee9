"""The Word monitoring report of a programme, written from a `results.Monitoring` computed for
the regional authority (aggregates only, small groups suppressed), so that it can be forwarded
as it is.

It holds a cover, a table of contents (a TOC field the word processor fills in when the file
is opened), a summary in plain words, the indicators against their targets with the companies
each figure rests on, the charts (each with a numbered caption and its data as a table beside
it, for readers who cannot see it), the comparison of editions, the ERDF common indicators,
the comparison-group estimate, the completeness of the data and the methodology. It is built
with python-docx on Word's own styles (Title, Heading 1-2, Caption, a table style, List
Bullet) through `core.word`, so that it opens, prints and converts alike in Word and
LibreOffice, in the language asked for.

Nothing here reads the database: `report_runs.py` computes the monitoring and passes it in.
The charts are drawn once each and the tables filled by `core.word.table`, which keeps a large
programme well within a few seconds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from flask_babel import (
    force_locale,
    format_date,
    format_decimal,
    format_percent,
    get_locale,
    ngettext,
)
from flask_babel import gettext as _

from opsapp.calls.models import ProgrammeKind
from opsapp.core import word
from opsapp.kpi import charts
from opsapp.kpi.catalogue import (
    INDICATORS,
    MEASURES,
    MIN_GROUP,
    SOURCE_LABELS,
    UNIT_LABELS,
    Measure,
    Unit,
    measures_of,
)
from opsapp.kpi.models import WAVES, FollowUpGroup
from opsapp.kpi.results import Breakdown, Monitoring, Value

TABLE_STYLE = "Light Grid Accent 1"
TEXT_WIDTH_CM = 16.6  # A4 less core.word's margins
CHART_WIDTH_CM = 16.0
UPDATE_FIELDS_BEFORE = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr",
                        "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                        "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
                        "smartTagType", "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol",
                        "listSeparator")


def write_report(monitoring: Monitoring, *, locale: str = "en", today: date | None = None,
                 missing_baselines: int | None = None) -> bytes:
    """The report as the bytes of a .docx file, in `locale` ("en" or "it").

    `missing_baselines` is the number of companies followed whose baseline is still missing
    (None when not known), shown with the completeness of the data."""
    with force_locale(locale):
        return word.save(_Report(monitoring, locale, today or date.today(), missing_baselines).build())


def file_name(programme: str, edition: int | None, today: date | None = None) -> str:
    """"monitoring-report-meet-the-buyer-2026-2027-05-01.docx": programme, edition, date; safe in a header."""
    day = (today or date.today()).isoformat()
    period = str(edition) if edition else "all-editions"
    return f"monitoring-report-{word.safe_name(programme.replace('_', '-'))}-{period}-{day}.docx"


def programme_name(programme: str) -> str:
    try:
        return ProgrammeKind(programme).label
    except ValueError:
        return programme


# --- numbers in words ---------------------------------------------------------------------------------


def _decimal(value: float, places: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(round(float(value), places), format=pattern)


def number(value: float | None, unit: Unit) -> str:
    """A value with its unit, in the document's language: "12.4 %", "EUR 1,250,000.00", "3.5 FTE"."""
    if value is None:
        return "–"
    if unit is Unit.PERCENT:
        return f"{_decimal(value, 1)} %"
    if unit is Unit.EUR:  # whole euros: cents mean nothing in a programme's totals
        return _euros(value)
    if unit is Unit.FTE:
        return f"{_decimal(value, 1)} {UNIT_LABELS[Unit.FTE]}"
    return _decimal(value)


def _locale() -> str:
    return str(get_locale() or "en")


def _euros(value: float) -> str:
    """Whole euros with the currency where core.money puts it in each language."""
    amount = _decimal(value)
    return f"{amount} EUR" if _locale().startswith("it") else f"EUR {amount}"


def rate(share: float | None) -> str:
    return "–" if share is None else format_percent(share, format="#,##0%")


def not_shown() -> str:
    return _("not shown: fewer than %(n)d companies", n=MIN_GROUP)


def value_text(value: Value | None) -> str:
    """The value, or why there is none: suppressed, no survey due yet, no answer yet, no data."""
    if value is None:
        return _("no data")
    if value.suppressed:
        return not_shown()
    measure = value.definition
    if value.value is None:
        if measure.survey_based and not value.expected:
            return _("no survey due yet")
        if measure.survey_based and not value.companies:
            return _("no answer yet")
        return _("no data")
    return number(value.value, measure.unit)


def coverage_text(value: Value | None) -> str:
    """"12 of 20" for a figure from surveys (answered of due), else the companies it counts."""
    if value is None:
        return "–"
    if value.expected is not None:
        return _("%(answered)s of %(expected)s", answered=_decimal(value.companies),
                 expected=_decimal(value.expected))
    return _decimal(value.companies)


def measure_label(measure: Measure, value: Value | None = None) -> str:
    """The measure's name, with the survey wave its figure comes from."""
    name = str(measure.name)
    if value is not None and value.wave:
        return _("%(measure)s (at %(months)d months)", measure=name, months=value.wave)
    return name


def wave_label(wave: int) -> str:
    return _("%(months)d months", months=wave)


def metric_label(metric: str) -> str:
    labels = {"sales": _("Sales"), "exports": _("Exports"), "jobs": _("Jobs"), "turnover": _("Turnover"),
              "investment": _("Investment")}
    return labels.get(metric, metric)


def group_label(group: str) -> str:
    try:
        return FollowUpGroup(group).label
    except ValueError:
        return group


def _points(value: float | None) -> str:
    if value is None:
        return "–"
    sign = "+" if value > 0 else ""
    return _("%(sign)s%(points)s points", sign=sign, points=_decimal(value, 1))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{_decimal(value, 1)} %"


# --- the document ---------------------------------------------------------------------------------------


class _Report:
    def __init__(self, monitoring: Monitoring, locale: str, today: date, missing_baselines: int | None):
        self.m = monitoring
        self.locale = locale
        self.today = today
        self.missing_baselines = missing_baselines
        self.programme = monitoring.scope.programme
        self.measures = measures_of(self.programme)
        self.erdf_measures = measures_of(self.programme, erdf=True)
        self.figures = 0
        self.tables = 0
        self.doc = None
        self.toc_anchor = None
        self.headings: list[tuple[int, str]] = []

    # --- building blocks ---

    def build(self):
        name = programme_name(self.programme)
        title = _("Monitoring report: %(programme)s, %(period)s", programme=name, period=self.period())
        self.doc = word.new_document(title, [_("Regione Piemonte · innovation programmes"),
                                             f"{name} · {self.period()}", _("Monitoring report")])
        self.doc.core_properties.subject = _("Monitoring report")
        self._update_fields_on_open()
        self.cover(name)
        self.contents()
        self.summary()
        self.kpi_table()
        self.charts()
        self.editions_table()
        self.erdf_table()
        self.comparison_group()
        self.completeness()
        self.methodology()
        self.fill_contents()
        return self.doc

    def period(self) -> str:
        edition = self.m.scope.edition
        return _("edition %(year)s", year=edition) if edition else _("all editions")

    def heading(self, text: str, level: int = 1):
        self.headings.append((level, text))
        return self.doc.add_heading(word.clean(text), level=level)

    def paragraph(self, text: str = "", style: str | None = None, bold: bool = False):
        paragraph = self.doc.add_paragraph(style=style)
        if text:
            paragraph.add_run(word.clean(text)).bold = bold
        return paragraph

    def bullets(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.paragraph(line, style="List Bullet")

    def _update_fields_on_open(self) -> None:
        """Ask the word processor to refresh the fields (the table of contents) when opening the file."""
        settings = self.doc.settings.element
        element = OxmlElement("w:updateFields")
        element.set(qn("w:val"), "true")
        later = next((child for child in settings if child.tag.split("}")[-1] in UPDATE_FIELDS_BEFORE), None)
        if later is None:
            settings.append(element)
        else:
            later.addprevious(element)

    @staticmethod
    def _field_char(paragraph, kind: str, dirty: bool = False) -> None:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        if dirty:  # to be updated by the word processor on opening
            element.set(qn("w:dirty"), "true")
        paragraph.add_run()._r.append(element)

    def _field_start(self, paragraph, instruction: str, dirty: bool = False) -> None:
        self._field_char(paragraph, "begin", dirty)
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = f" {instruction} "
        paragraph.add_run()._r.append(instr)
        self._field_char(paragraph, "separate")

    def field(self, paragraph, instruction: str, result: str) -> None:
        """A Word field with its current result shown until the word processor updates it."""
        self._field_start(paragraph, instruction)
        paragraph.add_run(word.clean(result))
        self._field_char(paragraph, "end")

    def caption(self, kind: str, text: str) -> str:
        """A numbered caption ("Figure 3: ...", "Table 2: ...") with a SEQ field; returns its label."""
        if kind == "Figure":
            self.figures += 1
            label, count = _("Figure"), self.figures
        else:
            self.tables += 1
            label, count = _("Table"), self.tables
        paragraph = self.doc.add_paragraph(style="Caption")
        paragraph.add_run(f"{label} ")
        self.field(paragraph, f"SEQ {kind} \\* ARABIC", str(count))
        paragraph.add_run(": " + word.clean(text))
        paragraph.paragraph_format.keep_with_next = kind == "Table"
        return f"{label} {count}"

    def table(self, title: str, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
              numeric: Sequence[int] = (), font_size: int = 9):
        self.caption("Table", title)
        if not rows:
            rows = [[_("No figures yet.")] + [""] * (len(header) - 1)]
        table = word.table(self.doc, header, rows, font_size=font_size, numeric=numeric, widths=widths)
        table.style = self.doc.styles[TABLE_STYLE]
        return table

    def picture(self, png: bytes, title: str, description: str) -> str:
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = True
        shape = paragraph.add_run().add_picture(io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
        doc_pr = shape._inline.docPr
        doc_pr.set("descr", word.clean(description))
        doc_pr.set("title", word.clean(title))
        return self.caption("Figure", title)

    # --- 1. cover ---

    def cover(self, name: str) -> None:
        for _i in range(4):
            self.paragraph()
        self.paragraph(_("Regione Piemonte · innovation programmes"), style="Subtitle")
        self.doc.add_paragraph(_("Monitoring report"), style="Title")
        subtitle = self.paragraph(f"{name} · {self.period()}", style="Subtitle")
        subtitle.runs[0].font.size = Pt(16)
        self.paragraph()
        editions = ", ".join(str(e) for e in self.m.editions) or "–"
        for line in (
            _("Editions covered: %(editions)s", editions=editions),
            _("Written on %(date)s", date=format_date(self.today, format="long")),
            _("Aggregated figures for the regional authority: groups of fewer than %(n)d companies are not shown.",
              n=MIN_GROUP),
        ):
            self.paragraph(line)
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # --- 2. contents ---

    def contents(self) -> None:
        """Where the table of contents goes; `fill_contents` writes it once every heading is known."""
        self.doc.add_paragraph(_("Contents"), style="TOC Heading")
        self.toc_anchor = self.doc.add_paragraph()
        note = self.paragraph(_("The page numbers are filled in when the document is opened: accept updating the "
                                "fields if asked (in LibreOffice: Tools, Update, Update All)."))
        note.runs[0].italic = True
        note.runs[0].font.size = Pt(9)
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def fill_contents(self) -> None:
        """A TOC field over headings 1-3, its result the headings already written (without page numbers), so
        that the contents read right even before the word processor updates the field."""
        entries = self.headings or [(1, _("Contents"))]
        paragraphs = [self.toc_anchor]
        for _entry in entries[1:]:
            paragraph = OxmlElement("w:p")
            paragraphs[-1]._p.addnext(paragraph)
            paragraphs.append(Paragraph(paragraph, self.toc_anchor._parent))
        for i, (paragraph, (level, text)) in enumerate(zip(paragraphs, entries, strict=True)):
            paragraph.paragraph_format.left_indent = Cm(0.6 * (level - 1))
            paragraph.paragraph_format.space_after = Pt(2)
            if i == 0:
                self._field_start(paragraph, 'TOC \\o "1-3" \\h \\z \\u', dirty=True)
            paragraph.add_run(word.clean(text)).bold = level == 1
            if i == len(paragraphs) - 1:
                self._field_char(paragraph, "end")

    # --- 3. summary ---

    def _available(self, key: str) -> Value | None:
        value = self.m.value(key)
        return value if value is not None and value.value is not None and not value.suppressed else None

    def _with_coverage(self, value: Value) -> str:
        if value.expected is None:
            return value_text(value)
        return _("%(value)s (%(answered)s of %(expected)s companies answered, %(rate)s)", value=value_text(value),
                 answered=_decimal(value.companies), expected=_decimal(value.expected),
                 rate=rate(value.response_rate))

    def summary(self) -> None:
        self.heading(_("Summary"))
        sentences = self._programme_sentences()
        jobs = self._available("RCR01.jobs")
        if jobs is not None:
            sentences.append(_("Jobs created in the supported companies (ERDF RCR01): %(value)s.",
                               value=self._with_coverage(jobs)))
        for sentence in sentences:
            self.paragraph(sentence)
        values = self.m.headline + self.m.erdf
        partial = [v for v in values if v.partial and not v.suppressed and v.value is not None]
        hidden = [v for v in values if v.suppressed]
        waiting = [v for v in values if v.value is None and not v.suppressed]
        if partial:
            self.paragraph(ngettext(
                "%(num)d figure rests on part of the companies it concerns, because some follow-up surveys are "
                "still unanswered; it is marked \"partial\" in the tables.",
                "%(num)d figures rest on part of the companies they concern, because some follow-up surveys are "
                "still unanswered; they are marked \"partial\" in the tables.", len(partial)))
        else:
            self.paragraph(_("No figure rests on partial data: every figure counts all the companies it concerns."))
        if hidden:
            self.paragraph(ngettext(
                "%(num)d figure rests on fewer than %(n)d companies and is not shown.",
                "%(num)d figures rest on fewer than %(n)d companies and are not shown.", len(hidden), n=MIN_GROUP))
        if waiting:
            self.paragraph(ngettext("%(num)d figure has no value yet (no survey due or answered yet).",
                                    "%(num)d figures have no value yet (no survey due or answered yet).",
                                    len(waiting)))

    def _programme_sentences(self) -> list[str]:
        out = []
        get = self._available
        if self.programme == ProgrammeKind.ACCELERATOR.value:
            admitted, completed = get("ACC-1.admitted"), get("ACC-1.completed")
            if admitted is not None:
                out.append(_("%(admitted)s companies were admitted to the Accelerator; %(completed)s completed it.",
                             admitted=value_text(admitted), completed=value_text(completed)
                             if completed is not None else "–"))
            for key, text in (
                ("ACC-2.sales", _("Compound annual growth of the participants' sales: %(value)s.")),
                ("ACC-2.exports", _("Compound annual growth of their exports: %(value)s.")),
                ("ACC-2.investment", _("Compound annual growth of the investment they raised: %(value)s.")),
                ("ACC-6.jobs", _("High-skill jobs created: %(value)s.")),
                ("ACC-4.companies", _("Companies that secured additional funding: %(value)s.")),
                ("ACC-5.partnerships", _("Partnerships with corporates: %(value)s.")),
            ):
                value = get(key)
                if value is not None:
                    out.append(text % {"value": self._with_coverage(value)})
        else:
            events, smes = get("MTB-1.events"), get("MTB-2.smes")
            if events is not None or smes is not None:
                out.append(_("%(events)s matchmaking events were held, with %(smes)s SMEs taking part.",
                             events=value_text(self.m.value("MTB-1.events")),
                             smes=value_text(self.m.value("MTB-2.smes"))))
            involved = get("MTB-3.involved")
            if involved is not None:
                out.append(_("Corporates from outside the region that met SMEs: %(value)s.",
                             value=value_text(involved)))
            contracts = get("MTB-4.contracts")
            if contracts is not None:
                out.append(_("Supply contracts signed: %(count)s, worth %(value)s.", count=value_text(contracts),
                             value=value_text(self.m.value("MTB-4.value"))))
            for key, text in (
                ("MTB-5.turnover", _("Change in the turnover of the participating SMEs: %(value)s.")),
                ("MTB-5.exports", _("Change in their export volume: %(value)s.")),
            ):
                value = get(key)
                if value is not None:
                    out.append(text % {"value": self._with_coverage(value)})
        if not out:
            out.append(_("No indicator of this programme has a value yet."))
        return out

    # --- 4. indicators against targets ---

    def _value_row(self, measure: Measure, value: Value | None, erdf: bool = False) -> list[str]:
        target = progress = "–"
        if value is not None and value.target is not None:
            target = number(value.target, measure.unit)
            progress = rate(value.progress) if value.progress is not None else "–"
        coverage = coverage_text(value)
        if value is not None and value.expected is not None:
            coverage = f"{coverage} ({rate(value.response_rate)})"
        partial = _("partial") if value is not None and value.partial and not value.suppressed else ""
        code = measure.indicator
        if erdf:
            return [code, f"{INDICATORS[code].name}: {measure_label(measure, value)}", value_text(value), coverage,
                    partial]
        return [code, measure_label(measure, value), value_text(value), target, progress, coverage, partial]

    def kpi_table(self) -> None:
        self.heading(_("Indicators against targets"))
        self.paragraph(_("Each figure comes with the companies it rests on. For a figure from the follow-up "
                         "surveys, the companies column reads \"answered of due\" with the response rate; a figure "
                         "resting on part of the companies is marked \"partial\"."))
        rows = [self._value_row(m, self.m.value(m.key)) for m in self.measures]
        header = [_("Code"), _("Measure"), _("Value"), _("Target"), _("Progress"), _("Companies (response rate)"),
                  _("Partial")]
        self.table(_("Indicators of %(programme)s against their targets", programme=programme_name(self.programme)),
                   header, rows, widths=(1.6, 3.8, 2.6, 2.3, 1.9, 2.8, 1.6), numeric=(2, 3, 4, 5), font_size=8)
        for code in dict.fromkeys(m.indicator for m in self.measures):
            indicator = INDICATORS[code]
            self.paragraph(f"{code}: {indicator.name}", style="List Bullet")

    # --- 5. charts ---

    def charts(self) -> None:
        self.heading(_("Charts"))
        self.paragraph(_("Each chart is followed by a table with the figures it draws."))
        self.series_chart()
        self.editions_chart()
        self.breakdown_chart(self.m.by_s3, _("By S3 domain"), _("S3 domain"),
                             _("Companies followed by S3 domain"))
        self.breakdown_chart(self.m.by_size, _("By company size"), _("Size class"),
                             _("Companies followed by size class"))
        self.impact_chart()

    def _no_chart(self) -> None:
        self.paragraph(_("No figures to draw yet."))

    def series_chart(self) -> None:
        self.heading(_("Growth over the three follow-up years"), 2)
        keys = [m.key for m in self.measures if m.unit is Unit.PERCENT and m.key in self.m.series]
        by_wave = {key: {v.wave: v for v in self.m.series[key]} for key in keys}
        lines = []
        for key in keys:
            points = [by_wave[key].get(w) for w in WAVES]
            values = [None if v is None or v.suppressed else v.value for v in points]
            if any(v is not None for v in values):
                lines.append((str(MEASURES[key].name), values))
        title = _("Growth and change measures at 12, 24 and 36 months after the programme")
        if lines:
            description = _("Line chart: %(measures)s, in percent, at 12, 24 and 36 months; the figures are in "
                            "the table below.", measures=", ".join(name for name, _v in lines))
            self.picture(charts.line_chart([wave_label(w) for w in WAVES], lines, axis_label="%",
                                           fmt=lambda v: _decimal(v, 1)), title, description)
        else:
            self._no_chart()
        rows = []
        for key in keys:
            cells = [str(MEASURES[key].name)]
            for wave in WAVES:
                value = by_wave[key].get(wave)
                text = value_text(value) if value is not None else _("no survey due yet")
                if value is not None and value.expected:
                    text = f"{text} ({coverage_text(value)})"
                cells.append(text)
            rows.append(cells)
        self.table(_("Data of the growth chart (companies answered of due in brackets)"),
                   [_("Measure")] + [wave_label(w) for w in WAVES], rows, widths=(4.0, 4.2, 4.2, 4.2),
                   numeric=(1, 2, 3))

    def _count_measures(self) -> list[Measure]:
        return [m for m in self.measures if not m.survey_based and m.unit is not Unit.EUR]

    def editions_chart(self) -> None:
        self.heading(_("Outputs by edition"), 2)
        measures = self._count_measures()
        editions = self.m.by_edition
        series = []
        for measure in measures:
            values = [self._breakdown_value(b, measure.key) for b in editions]
            series.append((str(measure.name), [None if v is None or v.suppressed else v.value for v in values]))
        drawn = [s for s in series if any(v is not None for v in s[1])]
        title = _("Outputs by edition")
        if drawn and editions:
            description = _("Bar chart of %(measures)s for each edition (%(editions)s); the figures are in the "
                            "table below.", measures=", ".join(name for name, _v in drawn),
                            editions=", ".join(b.label for b in editions))
            self.picture(charts.bar_chart([b.label for b in editions], drawn, axis_label=_("Number"),
                                          fmt=lambda v: _decimal(v)), title, description)
        else:
            self._no_chart()
        rows = [[str(m.name)] + [value_text(self._breakdown_value(b, m.key)) if not b.suppressed else not_shown()
                                 for b in editions] for m in measures]
        self.table(_("Data of the chart of outputs by edition"), [_("Measure")] + [b.label for b in editions],
                   rows, widths=self._widths(4.6, len(editions)), numeric=range(1, len(editions) + 1))

    @staticmethod
    def _breakdown_value(breakdown: Breakdown, key: str) -> Value | None:
        return next((v for v in breakdown.values if v.measure == key), None)

    @staticmethod
    def _widths(first: float, columns: int) -> tuple[float, ...]:
        if columns == 0:
            return (TEXT_WIDTH_CM,)
        return (first,) + tuple([round((TEXT_WIDTH_CM - first) / columns, 2)] * columns)

    def _main_growth(self) -> Measure | None:
        return next((m for m in self.measures if m.unit is Unit.PERCENT), None)

    def breakdown_chart(self, groups: list[Breakdown], heading: str, column: str, title: str) -> None:
        self.heading(heading, 2)
        shown = [g for g in groups if not g.suppressed]
        if shown:
            description = _("Horizontal bar chart of the companies followed in each group: %(groups)s; the "
                            "figures are in the table below.",
                            groups=", ".join(f"{g.label} {g.companies}" for g in shown))
            self.picture(charts.bar_chart([g.label for g in shown], [(_("Companies"), [g.companies for g in shown])],
                                          axis_label=_("Companies"), fmt=lambda v: _decimal(v), horizontal=True),
                         title, description)
        else:
            self._no_chart()
        growth = self._main_growth()
        header = [column, _("Companies")]
        if growth is not None:
            header.append(str(growth.name))
        rows = []
        for g in groups:
            row = [g.label, not_shown() if g.suppressed else _decimal(g.companies)]
            if growth is not None:
                value = self._breakdown_value(g, growth.key)
                row.append(not_shown() if g.suppressed else value_text(value))
            rows.append(row)
        widths = (7.6, 3.5, 5.5) if growth is not None else (9.6, 7.0)
        self.table(_("Data of the chart: %(title)s", title=title), header, rows, widths=widths, numeric=(1, 2))

    def impact_chart(self) -> None:
        self.heading(_("Participants and comparison group"), 2)
        shown = [i for i in self.m.impact if not i.suppressed
                 and (i.participants_change is not None or i.comparison_change is not None)]
        title = _("Change from the baseline: participants and comparison group")
        if shown:
            categories = [f"{metric_label(i.metric)}, {wave_label(i.wave)}" for i in shown]
            description = _("Bar chart of the change from the baseline, in percent, of participants and of the "
                            "comparison group for %(groups)s; the figures are in the table below.",
                            groups="; ".join(categories))
            self.picture(charts.bar_chart(categories, [
                (_("Participants"), [i.participants_change for i in shown]),
                (_("Comparison group"), [i.comparison_change for i in shown]),
            ], axis_label="%", fmt=lambda v: _decimal(v, 1), horizontal=True), title, description)
        else:
            self._no_chart()
        rows = [[metric_label(i.metric), wave_label(i.wave),
                 not_shown() if i.suppressed else _percent(i.participants_change),
                 not_shown() if i.suppressed else _percent(i.comparison_change)] for i in self.m.impact]
        self.table(_("Data of the chart of participants and comparison group"),
                   [_("Metric"), _("Wave"), _("Participants"), _("Comparison group")], rows,
                   widths=(4.1, 3.5, 4.5, 4.5), numeric=(2, 3))

    # --- 6. editions ---

    def editions_table(self) -> None:
        self.heading(_("Comparison of editions"))
        editions = self.m.by_edition
        if not editions:
            self.paragraph(_("No edition has figures yet."))
            return
        self.paragraph(_("Each column is one edition; figures from surveys are at the latest wave with surveys due "
                         "in that edition."))
        rows = [[m.indicator, measure_label(m)] + [not_shown() if b.suppressed else
                                                  value_text(self._breakdown_value(b, m.key)) for b in editions]
                for m in self.measures]
        rows.append(["", _("Companies followed")] + [not_shown() if b.suppressed else _decimal(b.companies)
                                                     for b in editions])
        first = (1.5, 3.5)
        rest = round((TEXT_WIDTH_CM - sum(first)) / len(editions), 2)
        self.table(_("Indicators by edition"), [_("Code"), _("Measure")] + [b.label for b in editions], rows,
                   widths=first + (rest,) * len(editions), numeric=range(2, len(editions) + 2), font_size=8)

    # --- 7. ERDF ---

    def erdf_table(self) -> None:
        self.heading(_("ERDF common indicators"))
        self.paragraph(_("The programme's figures as the ERDF 2021-2027 common indicators the authority reports "
                         "upwards: outputs (RCO) and results (RCR)."))
        rows = [self._value_row(m, self.m.value(m.key), erdf=True) for m in self.erdf_measures]
        self.table(_("ERDF common indicators"), [_("Code"), _("Indicator"), _("Value"),
                                                 _("Companies (response rate)"), _("Partial")],
                   rows, widths=(1.5, 7.1, 3.0, 3.4, 1.6), numeric=(2, 3), font_size=8)

    # --- 8. comparison group ---

    def comparison_group(self) -> None:
        self.heading(_("Comparison group"))
        self.paragraph(_("Eligible applicants that were not selected, and agreed when applying to be contacted, "
                         "receive the same follow-up surveys as the participants. The change of each figure from "
                         "the baseline in the comparison group estimates what would have happened to the "
                         "participants without the programme; the difference between the two changes (difference "
                         "in differences, in percentage points) estimates what the programme caused."))
        rows = []
        for i in self.m.impact:
            hidden = i.suppressed
            rows.append([
                metric_label(i.metric), wave_label(i.wave),
                not_shown() if hidden else _percent(i.participants_change),
                not_shown() if hidden else _percent(i.comparison_change),
                not_shown() if hidden else _points(i.difference),
                self._answered(i.participants, i.participants_expected),
                self._answered(i.comparison, i.comparison_expected),
            ])
        self.table(_("Difference in differences by metric and wave"),
                   [_("Metric"), _("Wave"), _("Participants"), _("Comparison group"), _("Difference"),
                    _("Participants answered"), _("Comparison answered")],
                   rows, widths=(2.0, 1.9, 2.4, 2.4, 2.3, 2.8, 2.8), numeric=(2, 3, 4, 5, 6), font_size=8)
        self.paragraph(_("Read these estimates with care. The comparison group is small and was not chosen at "
                         "random: companies not selected may differ from those selected (the evaluation scores "
                         "that separated them may also predict growth), and only some of them answer the "
                         "surveys. A difference resting on few answers can come from chance alone. The estimate "
                         "is a sign of what the programme caused, not a proof."))

    @staticmethod
    def _answered(answered: int, expected: int) -> str:
        share = answered / expected if expected else None
        return _("%(answered)s of %(expected)s (%(rate)s)", answered=_decimal(answered),
                 expected=_decimal(expected), rate=rate(share))

    # --- 9. completeness ---

    def completeness(self) -> None:
        self.heading(_("Completeness of the data"))
        rows = [[wave_label(r.wave), group_label(r.group), _decimal(r.due), _decimal(r.answered), rate(r.rate)]
                for r in sorted(self.m.response, key=lambda r: (r.wave, r.group != FollowUpGroup.PARTICIPANT.value))]
        self.table(_("Follow-up surveys due and answered by wave and group"),
                   [_("Wave"), _("Group"), _("Due"), _("Answered"), _("Response rate")], rows,
                   widths=(3.0, 5.0, 2.8, 2.8, 3.0), numeric=(2, 3, 4))
        if self.missing_baselines is not None:
            if self.missing_baselines:
                self.paragraph(ngettext(
                    "%(num)d company followed has no baseline yet: its growth cannot be computed until staff "
                    "enter it.",
                    "%(num)d companies followed have no baseline yet: their growth cannot be computed until "
                    "staff enter it.", self.missing_baselines))
            else:
                self.paragraph(_("Every company followed has its baseline."))
        partial = [(m, self.m.value(m.key)) for m in self.measures + self.erdf_measures]
        partial = [(m, v) for m, v in partial if v is not None and v.partial and not v.suppressed]
        if partial:
            self.paragraph(_("Figures resting on part of the companies:"))
            self.bullets([_("%(code)s %(measure)s: %(answered)s companies answered (%(rate)s)", code=m.indicator,
                            measure=measure_label(m, v), answered=coverage_text(v), rate=rate(v.response_rate))
                          for m, v in partial])
        else:
            self.paragraph(_("No figure rests on part of the companies."))

    # --- 10. methodology ---

    def methodology(self) -> None:
        self.heading(_("Methodology"))
        self.heading(_("Indicators and how they are formed"), 2)
        for measures in (self.measures, self.erdf_measures):
            for code in dict.fromkeys(m.indicator for m in measures):
                indicator = INDICATORS[code]
                paragraph = self.doc.add_paragraph()
                paragraph.add_run(f"{code} {indicator.name}. ").bold = True
                paragraph.add_run(word.clean(str(indicator.definition)))
                self.bullets([_("%(measure)s (%(unit)s, from %(source)s): %(rule)s.", measure=m.name,
                                unit=UNIT_LABELS[m.unit], source=str(SOURCE_LABELS[m.source]).lower(),
                                rule=m.aggregation) for m in measures if m.indicator == code])
        self.heading(_("Compound annual growth"), 2)
        self.paragraph(_("Growth of sales, exports and investment is the compound annual growth of the figures "
                         "summed over the companies that answered, from the baseline year to the follow-up year:"))
        formula = self.paragraph(_("growth = (sum in the follow-up year / sum in the baseline year) ^ (1 / years) "
                                   "− 1"))
        formula.alignment = WD_ALIGN_PARAGRAPH.CENTER
        formula.runs[0].italic = True
        self.paragraph(_("where years is the number of years between the baseline year and the follow-up year. A "
                         "change (Meet the Buyer) is the relative change of the sums over the same companies, "
                         "without dividing by the years."))
        self.heading(_("Counting enterprises"), 2)
        self.paragraph(_("An enterprise is counted once per indicator however many times it was supported, "
                         "recognised by its VAT or registration number."))
        self.heading(_("Small groups"), 2)
        self.paragraph(_("A figure resting on fewer than %(n)d companies, and a group (an edition, an S3 domain, "
                         "a size class) of fewer than %(n)d companies, is not shown, so that no company's own "
                         "figures can be read from the report.", n=MIN_GROUP))
        self.heading(_("Survey waves"), 2)
        self.paragraph(_("Each company is surveyed 12, 24 and 36 months after the end of its cohort or event, on "
                         "the figures of its last closed financial year; the baseline is the last closed financial "
                         "year before the programme, from the application (corrected by staff where needed). A "
                         "figure from surveys counts only the companies that answered and have the baseline it "
                         "needs; the response rate is shown next to it and a figure resting on part of the "
                         "companies is marked partial. A company's own figures are never estimated."))
        self.heading(_("The comparison-group approach"), 2)
        self.paragraph(_("Participants' change from the baseline is compared with that of eligible applicants "
                         "that were not selected and agreed to be contacted (difference in differences), the "
                         "counterfactual approach of regional evaluations: the comparison group stands for what "
                         "would have happened without the programme."))
