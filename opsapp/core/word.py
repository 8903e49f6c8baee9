"""Word documents built the same way everywhere: python-docx on Word's own styles (Title,
Heading 1-2, Table Grid with a repeated header row), A4, the region's header, "page N of M"
in the footer, so that they open, print and convert to PDF in Word and LibreOffice alike.

Tables are filled row by row: one row is formatted through python-docx, then its XML is
copied for each further row, which keeps a 2,000-row table plan well under a second (never
`table.cell(i, j)` in a loop, which is quadratic).
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterable, Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from flask_babel import get_locale
from flask_babel import gettext as _

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text) -> str:
    """Text typed by people may hold control characters that a Word file cannot."""
    return _NOT_IN_XML.sub("", str(text)) if text is not None else ""


def add_field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that the word processor fills in."""
    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._r.append(element)

    char("begin")
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    char("separate")
    paragraph.add_run("1")
    char("end")


def new_document(title: str, header_lines: Sequence[str]):
    document = Document()
    document.core_properties.title = title
    document.core_properties.author = _("Regione Piemonte · innovation programmes")
    document.core_properties.language = str(get_locale() or "en")
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)  # A4
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2)
    header = section.header.paragraphs[0]
    header.style = document.styles["Header"]
    for i, line in enumerate(header_lines):
        run = header.add_run(clean(line))
        if i == 0:
            run.bold = True
        if i < len(header_lines) - 1:
            run.add_break()
    footer = section.footer.paragraphs[0]
    footer.style = document.styles["Footer"]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(_("Page") + " ")
    add_field(footer, "PAGE")
    footer.add_run(" " + _("of") + " ")
    add_field(footer, "NUMPAGES")
    return document


def repeat_as_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def table(document, header: Sequence[str], rows: Iterable[Sequence[str]], *, font_size: int = 10,
           numeric: Iterable[int] = (), widths: Sequence[float] | None = None):
    """A table with a bold header row repeated on every page; `numeric` columns aligned right,
    `widths` in centimetres (the grid for LibreOffice, each cell's width for Word)."""
    right = set(numeric)
    table = document.add_table(rows=1, cols=len(header))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    sizes = [Cm(w) for w in widths] if widths else None
    if sizes:
        table.autofit = False
        for column, size in zip(table.columns, sizes, strict=True):
            column.width = size

    def fill(cells, values, bold=False):
        for i, (cell, text) in enumerate(zip(cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run(clean(text))
            run.bold = bold
            run.font.size = Pt(font_size)
            if i in right:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if sizes:
                cell.width = sizes[i]

    head = table.rows[0]
    repeat_as_header(head)
    fill(head.cells, header, bold=True)
    # One row formatted through python-docx, then copied for each row (lxml): linear and fast.
    model = table.add_row()
    fill(model.cells, [" "] * len(header))
    body, template = table._tbl, model._tr
    for values in rows:
        row = copy.deepcopy(template)
        for text_element, text in zip(row.iter(qn("w:t")), values, strict=True):
            text_element.text = clean(text)
            text_element.set(qn("xml:space"), "preserve")
        body.append(row)
    body.remove(template)
    document.add_paragraph()
    return table


def facts(document, pairs: Sequence[tuple[str, str]]):
    """A two-column table of label and value."""
    table = document.add_table(rows=0, cols=2)
    table.style = document.styles["Table Grid"]
    table.autofit = False
    sizes = (Cm(7.0), Cm(9.6))
    for column, size in zip(table.columns, sizes, strict=True):
        column.width = size
    for label, value in pairs:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(clean(label)).bold = True
        cells[1].paragraphs[0].add_run(clean(value))
        cells[0].width, cells[1].width = sizes
    document.add_paragraph()
    return table


def save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "document"


def page_break(document) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
