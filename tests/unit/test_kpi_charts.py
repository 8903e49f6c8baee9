"""The monitoring report's charts and document, from figures made by hand (no database).

The charts are PNG images of the expected size drawn without pyplot; a missing value is a
gap, not a zero. The document written from a hand-made `Monitoring` holds every indicator
code of the programme with its value (or why there is none), the suppression wording, the
real Word structure (headings, captions with SEQ fields, the TOC field refreshed on opening,
the PAGE field in the footer), one picture per chart with a text alternative, and is
written in Italian when asked.
"""

from __future__ import annotations

import io
import struct
import sys
from datetime import date

import pytest
from docx import Document
from docx.oxml.ns import qn

from opsapp.kpi import charts, reports
from opsapp.kpi.catalogue import MIN_GROUP, measures_of
from opsapp.kpi.results import Breakdown, Impact, Monitoring, Scope, Value, WaveResponse


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_charts_are_png_images_16_cm_wide_at_150_dpi():
    line = charts.line_chart(["12 months", "24 months", "36 months"],
                             [("Sales growth", [4.0, 7.5, None]), ("Export growth", [None, 2.0, 3.0])],
                             axis_label="%")
    bars = charts.bar_chart(["2025", "2026"], [("Admitted", [12, 15]), ("Completing", [10, None])],
                            axis_label="Companies")
    side = charts.bar_chart(["ICT", "Health"], [("Companies", [30, 12])], axis_label="Companies", horizontal=True)
    for png in (line, bars, side):
        width, height = _png_size(png)
        assert abs(width - round(charts.WIDTH_CM / 2.54 * charts.DPI)) <= 2
        assert 200 < height < 1300


def test_charts_never_load_pyplot():
    charts.bar_chart(["a"], [("x", [1])], axis_label="n")
    assert "matplotlib.pyplot" not in sys.modules


# --- the document from a hand-made monitoring ---------------------------------------------------------------------


def _value(key: str, value, companies=10, expected=None, target=None, wave=None, suppressed=False) -> Value:
    return Value(key, value, companies, expected, target, wave, suppressed)


def _monitoring(programme: str = "accelerator") -> Monitoring:
    headline = []
    for n, measure in enumerate(measures_of(programme)):
        if measure.key == "ACC-5.partnerships":
            headline.append(_value(measure.key, None, 2, 12, wave=24, suppressed=True))
        elif measure.key == "ACC-6.jobs":
            headline.append(_value(measure.key, None, 0, 0, wave=None))  # no survey due yet
        elif measure.survey_based:
            headline.append(_value(measure.key, 10.0 + n, 8, 12, target=15.0, wave=24))
        else:
            headline.append(_value(measure.key, 20 + n, 20 + n, target=30))
    erdf = [_value(m.key, 5 + n, 5 + n, 12 if m.survey_based else None, wave=24 if m.survey_based else None)
            for n, m in enumerate(measures_of(programme, erdf=True))]
    series = {v.measure: [_value(v.measure, 4.5, 9, 12, wave=12), _value(v.measure, 6.5, 8, 12, wave=24),
                          _value(v.measure, None, 0, 0, wave=36)]
              for v in headline if v.definition.survey_based}
    by_edition = [Breakdown(str(y), str(y), headline, 30) for y in (2025, 2026)]
    by_s3 = [Breakdown("ict", "ICT and digital", headline, 25),
             Breakdown("agri", "Agrifood", [], 2, suppressed=True)]
    by_size = [Breakdown("micro", "Micro", headline, 20), Breakdown("small", "Small", headline, 10)]
    impact = [Impact("sales", 24, 12.0, 4.0, 8.0, 8, 12, 5, 9),
              Impact("jobs", 24, None, None, None, 1, 12, 1, 9, suppressed=True)]
    response = [WaveResponse(12, "participant", 12, 9), WaveResponse(12, "comparison", 9, 5),
                WaveResponse(24, "participant", 12, 8)]
    return Monitoring(Scope(programme), True, headline, erdf, series, by_edition, by_s3, by_size, impact,
                      response, [2025, 2026])


@pytest.fixture
def request_ctx(app):
    with app.test_request_context():
        yield


def _text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_the_report_holds_every_indicator_with_its_value_and_word_structure(request_ctx):
    monitoring = _monitoring()
    content = reports.write_report(monitoring, locale="en", today=date(2027, 5, 1), missing_baselines=2)
    document = Document(io.BytesIO(content))
    text = _text(document)
    kpi = document.tables[0]
    rows = {(row.cells[0].text, row.cells[1].text): row.cells[2].text for row in kpi.rows[1:]}
    for measure in measures_of("accelerator"):
        assert any(code == measure.indicator for code, _name in rows), measure.key
    assert rows[("ACC-1", "Admitted")] == "20"
    assert rows[("ACC-2", "Sales growth (at 24 months)")] == "12.0 %"
    assert rows[("ACC-5", "Partnerships with corporates (at 24 months)")] == \
        f"not shown: fewer than {MIN_GROUP} companies"
    assert rows[("ACC-6", "High-skill jobs created")] == "no survey due yet"
    for code in ("RCO01", "RCO02", "RCO04", "RCO05", "RCR01", "RCR02", "RCR19"):
        assert code in text
    assert "8 of 12 (67%)" in text and "partial" in text
    assert "2 companies followed have no baseline yet" in text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for heading in ("Summary", "Indicators against targets", "Charts", "Comparison of editions",
                    "ERDF common indicators", "Comparison group", "Completeness of the data", "Methodology"):
        assert heading in headings
    assert document.paragraphs[0].style.name != "Title"  # the cover starts lower on the page
    assert any(p.style.name == "Title" and p.text == "Monitoring report" for p in document.paragraphs)
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert "Figure 1: Growth and change measures at 12, 24 and 36 months after the programme" in captions
    assert any(c.startswith("Table 1: Indicators of Business Accelerator") for c in captions)
    body = document.element.body.xml
    assert 'TOC \\o "1-3"' in body and "SEQ Figure" in body and "SEQ Table" in body
    assert "PAGE" in document.sections[0].footer._element.xml
    assert document.settings.element.find(qn("w:updateFields")).get(qn("w:val")) == "true"
    assert len(document.inline_shapes) == 5  # series, editions, S3, size, impact
    descriptions = [s._inline.docPr.get("descr") for s in document.inline_shapes]
    assert all(d and "table below" in d for d in descriptions)


def test_the_report_in_italian_keeps_its_structure(request_ctx):
    english = Document(io.BytesIO(reports.write_report(_monitoring(), locale="en")))
    italian = Document(io.BytesIO(reports.write_report(_monitoring(), locale="it")))
    assert len(italian.tables) == len(english.tables)
    assert len(italian.inline_shapes) == len(english.inline_shapes)

    def headings(d):
        return [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]

    assert len(headings(italian)) == len(headings(english))
    assert "Riepilogo" in headings(italian)  # "Summary", already translated elsewhere in the application
    assert italian.tables[0].rows[0].cells[0].text == "Codice"


def test_a_meet_the_buyer_report_with_no_figures_yet_still_writes(request_ctx):
    empty = Monitoring(Scope("meet_the_buyer", 2027), True, [], [], {}, [], [], [], [], [], [])
    document = Document(io.BytesIO(reports.write_report(empty, locale="en")))
    text = _text(document)
    for measure in measures_of("meet_the_buyer") + measures_of("meet_the_buyer", erdf=True):
        assert measure.indicator in text
    assert "edition 2027" in text
    assert len(document.inline_shapes) == 0 and "No figures to draw yet." in text


def test_file_names_are_safe_and_say_programme_edition_and_date():
    assert reports.file_name("meet_the_buyer", 2026, date(2027, 5, 1)) == \
        "monitoring-report-meet-the-buyer-2026-2027-05-01.docx"
    assert reports.file_name("accelerator", None, date(2027, 5, 1)) == \
        "monitoring-report-accelerator-all-editions-2027-05-01.docx"
