"""Exports of tables as CSV and XLSX: one way for every list page.

CSV is UTF-8 with a byte-order mark (so spreadsheet programs read accents) and every
text cell that a spreadsheet would run as a formula is neutralised (CSV injection).
XLSX keeps numbers, money and dates as real cells, with a bold header, frozen first
row and sensible column widths.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value) -> str:
    """A CSV cell as text that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal, float)):
        return str(value)  # numbers may start with "-": that is a number, not a formula
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def _xlsx_value(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones: the caller passes local or UTC time
    if isinstance(value, (int, float, Decimal, date)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return None if value is None else safe_cell(value)


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """A workbook with one sheet per (title, header, rows)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title[:31])
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        widths = [len(str(h)) for h in header]
        for row in rows:
            values = [_xlsx_value(v) for v in row]
            sheet.append(values)
            for i, v in enumerate(values):
                if i < len(widths):
                    widths[i] = max(widths[i], min(60, len(str(v)) if v is not None else 0))
        sheet.freeze_panes = "A2"
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width + 2
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(content: str | bytes, filename: str) -> Response:
    """A file download (CSV or XLSX by the filename's ending)."""
    mimetype = XLSX_MIME if filename.endswith(".xlsx") else "text/csv; charset=utf-8"
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})
