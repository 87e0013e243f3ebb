"""The report's charts: matplotlib figures written as SVG, inlined into the HTML.

Text stays text in the SVG (svg.fonttype 'none'): the browser draws it with the page's CJK font,
where matplotlib's own fonts have no Chinese glyphs, and the words remain searchable and
checkable in the document.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from datetime import date

from matplotlib import rc_context
from matplotlib.figure import Figure

from cei.report.figures import TourismDay

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "font not found", per glyph

# The bureau's palette: one hue per kind, a muted grey for context
COLOURS = {"咨询": "#8c9bab", "投诉": "#c0392b", "举报": "#2c6fbb"}
ACCENT, MUTED, HOLIDAY = "#c0392b", "#8c9bab", "#f6d7a7"
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "cei-report",  # ids stable from one run to the next
    # for layout only (the page draws the text): a CJK font's widths where installed
    "font.family": "sans-serif",
    "font.sans-serif": ["Noto Sans CJK SC", "DejaVu Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float) -> Figure:
    # Figure, not pyplot: no global state and no GUI backend, as matplotlib advises for servers
    return Figure(figsize=(width, height))


def _svg(fig: Figure, title: str) -> str:
    """The figure as an inline <svg> element (no XML prologue, no fixed pixel size)."""
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Title": title, "Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg"):]
    # let the page size it: width 100%, height from its aspect ratio
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart" role="img"', svg, count=1)
    return svg


def trend(months: Sequence[date], series: dict[str, list[int]], title: str) -> str:
    """Work orders per month of each kind, the last 12 months."""
    with rc_context(STYLE):
        fig = _figure(7.2, 2.6)
        ax = fig.subplots()
        labels = [f"{m.year % 100:02d}年{m.month}月" for m in months]
        for kind, values in series.items():
            ax.plot(labels, values, marker="o", markersize=3, linewidth=1.6, color=COLOURS.get(kind), label=kind)
        ax.set_ylabel("件")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, ncols=len(series), loc="upper left")
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(title, loc="left", fontsize=10)
        return _svg(fig, title)


def bars(labels: Sequence[str], current: Sequence[int], previous: Sequence[int | None], title: str,
         current_label: str, previous_label: str) -> str:
    """Horizontal bars: this month beside last month, largest first from the top."""
    with rc_context(STYLE):
        height = 0.9 + 0.32 * len(labels)
        fig = _figure(7.2, height)
        ax = fig.subplots()
        rows = range(len(labels))[::-1]
        ax.barh([r + 0.2 for r in rows], current, height=0.4, color=ACCENT, label=current_label)
        ax.barh([r - 0.2 for r in rows], [p or 0 for p in previous], height=0.4, color=MUTED, label=previous_label)
        for r, value in zip(rows, current):
            ax.text(value, r + 0.2, f" {value}", va="center", fontsize=8)
        ax.set_yticks(list(rows), labels)
        ax.set_xlabel("件")
        ax.legend(frameon=False, loc="lower right")
        ax.set_title(title, loc="left", fontsize=10)
        return _svg(fig, title)


def tourism_days(days: Sequence[TourismDay], title: str) -> str:
    """Tourism complaints per day, statutory holidays shaded and named."""
    with rc_context(STYLE):
        fig = _figure(7.2, 2.4)
        ax = fig.subplots()
        xs = [d.day.day for d in days]
        for d in days:
            if d.holiday:
                ax.axvspan(d.day.day - 0.5, d.day.day + 0.5, color=HOLIDAY, zorder=0)
        ax.bar(xs, [d.complaints for d in days], color=[ACCENT if d.holiday else MUTED for d in days], zorder=2)
        named: dict[str, int] = {}
        for d in days:
            if d.holiday and d.holiday not in named:
                named[d.holiday] = d.day.day
        top = max([d.complaints for d in days] + [1])
        for name, first in named.items():
            ax.text(first - 0.4, top * 1.05, name, fontsize=8, color="#8a5a00")
        ax.set_ylim(0, top * 1.2)
        ax.set_xlim(0.4, len(days) + 0.6)
        ax.set_xlabel("日")
        ax.set_ylabel("件")
        ax.set_title(title, loc="left", fontsize=10)
        return _svg(fig, title)
