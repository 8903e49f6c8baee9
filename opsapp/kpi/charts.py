"""The charts of the Word monitoring report, drawn with matplotlib's object API (a `Figure`
and the Agg canvas, never `pyplot`, whose global state is not safe in a web process) into
PNG bytes that `reports.py` places in the document.

The functions take plain data already in the document's language (category labels, series
names, the axis label and a function writing a number the way the document does), so that
they know nothing of indicators and can be tested on their own. A missing value (None) is a
gap in a line and an absent bar, never a zero.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WIDTH_CM = 16.0
DPI = 150
# Colours told apart by people with the common colour-vision deficiencies (Okabe and Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TEXT = "#1a1a1a"
GRID = "#d0d0d0"

Series = Sequence[tuple[str, Sequence[float | None]]]


def _figure(height_cm: float) -> Figure:
    figure = Figure(figsize=(WIDTH_CM / 2.54, height_cm / 2.54), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _style(axes, value_axis: str) -> None:
    axes.tick_params(colors=TEXT, labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis=value_axis, color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _legend(axes, count: int) -> None:
    if count > 1:
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def line_chart(categories: Sequence[str], series: Series, *, axis_label: str,
               fmt: Callable[[float], str] = str, height_cm: float = 7.5) -> bytes:
    """One line per series over the categories (e.g. 12, 24 and 36 months), each point labelled."""
    figure = _figure(height_cm)
    axes = figure.add_subplot()
    x = list(range(len(categories)))
    for i, (name, values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        y = [_number(v) for v in values]
        axes.plot(x, y, marker="o", color=colour, linewidth=2, label=name)
        for xi, v in zip(x, values, strict=True):
            if v is not None:
                axes.annotate(fmt(v), (xi, v), textcoords="offset points", xytext=(0, 6), ha="center",
                              fontsize=7, color=TEXT)
    axes.set_xticks(x, categories)
    axes.set_xlim(-0.4, len(categories) - 0.6)
    axes.axhline(0, color="#808080", linewidth=0.8)
    axes.set_ylabel(axis_label, fontsize=8, color=TEXT)
    _style(axes, "y")
    _legend(axes, len(series))
    return _png(figure)


def bar_chart(categories: Sequence[str], series: Series, *, axis_label: str,
              fmt: Callable[[float], str] = str, horizontal: bool = False, height_cm: float | None = None) -> bytes:
    """Grouped bars: one group per category, one bar per series, each bar labelled with its value."""
    count = max(len(series), 1)
    if height_cm is None:
        height_cm = max(6.0, min(20.0, 1.6 + 0.55 * len(categories) * count)) if horizontal else 7.5
    figure = _figure(height_cm)
    axes = figure.add_subplot()
    positions = list(range(len(categories)))
    thickness = 0.8 / count
    for i, (name, values) in enumerate(series):
        offset = (i - (count - 1) / 2) * thickness
        where = [p + offset for p in positions]
        heights = [_number(v) for v in values]
        colour = PALETTE[i % len(PALETTE)]
        if horizontal:
            bars = axes.barh(where, heights, height=thickness, color=colour, label=name)
        else:
            bars = axes.bar(where, heights, width=thickness, color=colour, label=name)
        axes.bar_label(bars, labels=["" if v is None else fmt(v) for v in values], fontsize=7, padding=2,
                       color=TEXT)
    if horizontal:
        axes.set_yticks(positions, categories)
        axes.invert_yaxis()  # the first category on top, as in the table
        axes.set_xlabel(axis_label, fontsize=8, color=TEXT)
        axes.axvline(0, color="#808080", linewidth=0.8)
        axes.margins(x=0.15)
        _style(axes, "x")
    else:
        axes.set_xticks(positions, categories)
        axes.set_ylabel(axis_label, fontsize=8, color=TEXT)
        axes.axhline(0, color="#808080", linewidth=0.8)
        axes.margins(y=0.15)
        _style(axes, "y")
    _legend(axes, len(series))
    return _png(figure)
