"""A worksheet laid out for print on A4: formats, widths, heights, page breaks, print areas."""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter
from xlsxwriter.chart import Chart
from xlsxwriter.format import Format
from xlsxwriter.utility import quote_sheetname, xl_range_abs
from xlsxwriter.worksheet import Worksheet

from cei.export.catalogue import Code
from cei.export.figures import Figures, Unit
from cei.export.workbook.context import Context
from cei.export.workbook.words import NO_DATA, NOTE_NAMES, STATUS_NAMES, note_meaning

# --- page geometry (A4 landscape, inches → Excel's 96 px and 72 pt per inch) --------------------
PAPER_A4 = 9
MARGINS_IN = {"left": 0.5, "right": 0.5, "top": 0.75, "bottom": 0.75}
HEADER_FOOTER_IN = 0.3
PRINTABLE_PX = (11.69 - MARGINS_IN["left"] - MARGINS_IN["right"]) * 96
PRINTABLE_PT = (8.27 - MARGINS_IN["top"] - MARGINS_IN["bottom"]) * 72
# Applications measure text and columns a little differently from this model (LibreOffice with
# Calibri's metric twin Carlito lays columns out ≈ 6 % wider than Excel's rule): keep a margin.
SAFETY = 0.92
BODY_PT = 11  # XlsxWriter's default font, Calibri 11
MIN_PRINT_PT = 9  # officers read print: never below this
MIN_SCALE = math.ceil(100 * MIN_PRINT_PT / BODY_PT)  # 82 %
ROW_PT = 18.0  # one line of 11-point text (CJK glyphs are taller than Calibri's 15-point row)
LINE_PT = 15.0  # each further line of wrapped text
CHART_ROW_PT = 15.0  # rows under a chart: empty, any fixed height does
CJK_PER_UNIT = 1.05  # an 11-point CJK glyph is ≈ 2.1 digit widths; display_width counts it 2


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_px(width: float) -> int:
    """Pixels of a column `width` characters wide (Excel's rule for Calibri 11, as XlsxWriter)."""
    return int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)


def text_lines(text: str, width: float) -> int:
    """Lines `text` wraps to in a cell `width` characters wide."""
    usable = max(width - 1.5, 1)
    return sum(max(1, math.ceil(display_width(part) * CJK_PER_UNIT / usable)) for part in text.split("\n"))


def _finite(x: Decimal | None) -> Decimal | None:
    """The audit may hold numeric NaN (a statistic that cannot be computed): shown empty."""
    return None if x is None or not x.is_finite() else x


# ---------------------------------------------------------------------------------------------
# Formats


NUMBER_FORMATS = {
    "count": {"num_format": "#,##0"},
    "money": {"num_format": "#,##0.00"},
    "rate": {"num_format": "0.00%"},
    "score": {"num_format": "0.00"},
    "rank": {"num_format": "0", "align": "center"},
    "band": {"num_format": "General", "align": "center"},
    "share": {"num_format": "0.0%"},
    "stat": {"num_format": "0.00"},
    "value": {"num_format": "#,##0.00"},
}
MARKS = {
    "note": {"bg_color": "#FFE699", "italic": True, "font_color": "#7F6000"},  # a figure with a note
    "warn": {"bg_color": "#FFE699"},  # an audit finding: weak, skewed, below 0.7
    "bad": {"bg_color": "#F4B183", "bold": True},  # an audit finding: negative correlation
    "total": {"bold": True, "top": 2},
}


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        self._wb = wb
        self._cache: dict[tuple[str, str | None], Format] = {}
        self.cell = {"border": 1, "border_color": "#BFBFBF", "valign": "vcenter"}
        self.title = wb.add_format({"bold": True, "font_size": 14, "valign": "vcenter"})
        self.note = wb.add_format({"font_color": "#404040", "text_wrap": True, "valign": "top"})
        self.alert = wb.add_format({"font_color": "#C00000", "bold": True, "text_wrap": True, "valign": "top"})
        self.no_data = wb.add_format({"font_size": 14, "bold": True, "font_color": "#7F7F7F", "align": "center",
                                      "valign": "vcenter", "border": 1, "border_color": "#BFBFBF",
                                      "bg_color": "#F2F2F2", "text_wrap": True})
        self.header = wb.add_format({**self.cell, "bold": True, "bg_color": "#DDEBF7", "align": "center",
                                     "text_wrap": True})
        self.section = wb.add_format({"bold": True, "font_size": 12, "bottom": 1, "valign": "bottom"})
        self.key = wb.add_format({**self.cell, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True})
        self.text = wb.add_format(self.cell)
        self.wrap = wb.add_format({**self.cell, "text_wrap": True})

    def number(self, style: str, mark: str | None = None) -> Format:
        return self._get(style, mark, NUMBER_FORMATS[style])

    def marked(self, base: str, mark: str | None) -> Format:
        """A text format (text | wrap | key) with a mark."""
        if mark is None:
            return getattr(self, base)
        props = {"text_wrap": True} if base in ("wrap", "key") else {}
        return self._get(base, mark, {**props, **({"bold": True} if base == "key" else {})})

    def _get(self, style: str, mark: str | None, props: dict) -> Format:
        key = (style, mark)
        if key not in self._cache:
            self._cache[key] = self._wb.add_format({**self.cell, **props, **(MARKS[mark] if mark else {})})
        return self._cache[key]


def _shown(value: Decimal, style: str) -> str:
    """Roughly what a cell shows, for column widths."""
    if style == "rate":
        return f"{value * 100:.2f}%"
    if style == "share":
        return f"{value * 100:.1f}%"
    if style in ("money", "score", "stat", "value"):
        return f"{value:,.2f}"
    return f"{value:,}"


# ---------------------------------------------------------------------------------------------
# A sheet laid out for print


@dataclass(frozen=True)
class _Print:
    """How a sheet prints: a fixed scale (%) and the column bands printed on pages across. The
    first band holds everything (titles, notes, tables, charts) and, for titles and charts, runs
    on over empty columns to the page's width (`last_col`, `px`); the others continue the main
    table only, beside the repeated unit columns."""

    scale: int
    bands: tuple[tuple[int, int], ...]
    last_col: int
    px: int

    @property
    def wide(self) -> bool:
        return len(self.bands) > 1


class _Sheet:
    """A worksheet written top to bottom (`row` is the next free row) that remembers what it needs
    for print: column widths, row heights, wrapped text, blocks to keep on one page, charts."""

    def __init__(self, wb: xlsxwriter.Workbook, name: str, fmt: _Formats, figures: Figures, ctx: Context):
        self.wb = wb
        self.ws: Worksheet = wb.add_worksheet(name)
        self.name = name
        self.fmt = fmt
        self.figures = figures
        self.ctx = ctx
        self.row = 0
        self.fitted: dict[int, float] = defaultdict(lambda: 4)
        self.fixed: dict[int, float] = {}
        self.last_col = 1  # of the tables (the unit columns at least)
        self.heights: dict[int, float] = {}
        self.used_rows: set[int] = set()
        self.wrapped: list[tuple[int, int, int, str]] = []  # row, first col, last col, text
        self.paragraphs: list[tuple[int, str, Format, float]] = []  # merged over the band at finish
        self.charts: list[tuple[int, Chart, int]] = []  # row, chart, height px (width: the band)
        self.keep: list[tuple[int, int]] = []  # row ranges printed on one page where they fit
        self._keep_from: int | None = None  # a heading waiting to be kept with what follows

    # --- cells ---

    def _use(self, row: int, col: int) -> None:
        self.used_rows.add(row)
        self.last_col = max(self.last_col, col)

    def fit(self, col: int, text: str, cap: int = 60) -> None:
        self.fitted[col] = max(self.fitted[col], min(display_width(text), cap))

    def width(self, col: int, width: float) -> None:
        """A fixed width (characters), whatever the content."""
        self.fixed[col] = width

    def text(self, row: int, col: int, value: str, f: Format | None = None, *, fit: bool = True,
             last_col: int | None = None, wrap: bool = False) -> None:
        f = f or (self.fmt.wrap if wrap else self.fmt.text)
        if last_col is not None and last_col != col:
            self.ws.merge_range(row, col, row, last_col, value, f)
        else:
            self.ws.write_string(row, col, value, f)
            if fit:
                self.fit(col, value, cap=14 if wrap else 60)
        if wrap:
            self.wrapped.append((row, col, last_col if last_col is not None else col, value))
        self._use(row, col if last_col is None else last_col)

    def number(self, row: int, col: int, value: Decimal | int | None, style: str, mark: str | None = None) -> None:
        f = self.fmt.number(style, mark)
        value = _finite(Decimal(value)) if isinstance(value, int) else _finite(value)
        if value is None:
            self.ws.write_blank(row, col, None, f)
        else:
            self.ws.write_number(row, col, value, f)
            self.fit(col, _shown(value, style))
        self._use(row, col)

    def header(self, row: int, col: int, value: str, last_row: int | None = None, last_col: int | None = None,
               cap: int = 10) -> None:
        """A header cell; text wider than `cap` wraps (the row grows to hold it)."""
        last_row = row if last_row is None else last_row
        last_col = col if last_col is None else last_col
        if (last_row, last_col) != (row, col):
            self.ws.merge_range(row, col, last_row, last_col, value, self.fmt.header)
        else:
            self.ws.write_string(row, col, value, self.fmt.header)
        if last_col == col:
            self.fit(col, value, cap=cap)
        if last_row == row:  # a header merged down has the height of its rows
            self.wrapped.append((row, col, last_col, value))
        for r in range(row, last_row + 1):
            self._use(r, last_col)

    def headers(self, row: int, names: Sequence[str], col: int = 0, cap: int = 10) -> None:
        for i, name in enumerate(names):
            self.header(row, col + i, name, cap=cap)

    # --- blocks of the page ---

    def paragraph(self, text: str, f: Format | None = None, *, min_height: float = ROW_PT, gap: int = 0,
                  keep_next: bool = False) -> int:
        """A line of text across the first page's width (merged at finish), wrapped; `keep_next`:
        printed on the page of what follows (a heading, a table's caption)."""
        row = self.row
        self.paragraphs.append((row, text, f or self.fmt.note, min_height))
        self.used_rows.add(row)
        if keep_next and self._keep_from is None:
            self._keep_from = row
        self.row += 1 + gap
        return row

    def section(self, text: str) -> None:
        if self.row > 3:
            self.row += 1
        self.paragraph(text, self.fmt.section, min_height=24, keep_next=True)

    def title(self, text: str, note: str) -> None:
        self.row = 0
        self.paragraph(text, self.fmt.title, min_height=26)
        self.paragraph(note, self.fmt.note)

    def no_data(self, text: str = NO_DATA) -> None:
        """Instead of an empty table or chart: say so."""
        row = self.paragraph(text, self.fmt.no_data, min_height=40, gap=1)
        self.keep_together(row, row)

    def chart(self, chart: Chart, height_px: int = 340) -> None:
        rows = math.ceil(height_px * 0.75 / CHART_ROW_PT) + 1
        for r in range(self.row, self.row + rows):
            self.heights[r] = CHART_ROW_PT
        self.charts.append((self.row, chart, height_px))
        self.keep_together(self.row, self.row + rows - 1)
        self.row += rows + 1

    def keep_together(self, first: int, last: int) -> None:
        if self._keep_from is not None:
            first, self._keep_from = min(first, self._keep_from), None
        self.keep.append((first, last))

    # --- print ---

    def _widths(self) -> dict[int, float]:
        return {col: self.fixed.get(col, self.fitted[col] + 2) for col in range(self.last_col + 1)}

    def _print(self, widths: dict[int, float], groups: Sequence[int]) -> _Print:
        px = [column_px(widths[c]) for c in range(self.last_col + 1)]
        usable = PRINTABLE_PX * SAFETY
        fits = math.floor(100 * usable / sum(px))
        if fits >= MIN_SCALE:
            scale = min(100, fits)
            room = usable * 100 / scale
            last, total = self.last_col, sum(px)
            while total + column_px(8.43) <= room:  # titles and charts may use the rest of the page
                last, total = last + 1, total + column_px(8.43)
            return _Print(scale, ((0, self.last_col),), last, total)
        bands = _bands(px, groups, usable)
        return _Print(100, bands, bands[0][1], sum(px[: bands[0][1] + 1]))

    def finish(self, *, freeze: tuple[int, int] | None = None, table: tuple[int, int, int] | None = None,
               groups: Sequence[int] = ()) -> None:
        """Widths, heights, merged paragraphs, charts and print setup. `table`: the main table's
        first and last header row and its last row (repeated / continued when it runs over
        pages); `groups`: its columns where a page across may begin (a header group's first)."""
        widths = self._widths()
        for col, w in widths.items():
            self.ws.set_column(col, col, w)
        p = self._print(widths, groups)
        band_chars = (p.px - 5 * (p.last_col + 1)) / 7
        for row, text, f, min_height in self.paragraphs:
            self.ws.merge_range(row, 0, row, p.last_col, text, f)
            lines = text_lines(text, band_chars) if f.text_wrap else 1
            self.heights[row] = max(min_height, ROW_PT + (lines - 1) * LINE_PT)
        for row, c1, c2, text in self.wrapped:
            chars = sum(widths.get(c, 8.43) for c in range(c1, c2 + 1)) + 0.7 * (c2 - c1)
            self.heights[row] = max(self.heights.get(row, ROW_PT), ROW_PT + (text_lines(text, chars) - 1) * LINE_PT)
        for row in self.used_rows:
            self.heights.setdefault(row, ROW_PT)
        for row, h in sorted(self.heights.items()):
            self.ws.set_row(row, h)
        for row, chart, height in self.charts:
            chart.set_size({"width": min(p.px - 12, 900), "height": height})
            self.ws.insert_chart(row, 0, chart, {"x_offset": 4, "y_offset": 4})
        page = PRINTABLE_PT * SAFETY * 100 / p.scale
        repeat = None
        if table and sum(self.heights.get(r, ROW_PT) for r in range(table[0], table[2] + 1)) > page:
            repeat = (table[0], table[1])  # a table taller than a page: its headers on every page
        self._page_setup(p, repeat, table)
        self.ws.set_h_pagebreaks(self._breaks(page, repeat))
        if freeze:
            self.ws.freeze_panes(*freeze)

    def _page_setup(self, p: _Print, repeat: tuple[int, int] | None, table: tuple[int, int, int] | None) -> None:
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(PAPER_A4)
        ws.set_margins(**MARGINS_IN)
        ws.set_print_scale(p.scale)
        if repeat:
            ws.repeat_rows(*repeat)
        if p.wide and table:
            # Page 1: the first columns with the titles, notes and charts; then the rest of the
            # table, page by page across, beside the repeated unit columns (one print area each,
            # so no title or note is cut at a page's edge).
            ws.repeat_columns(0, 1)
            last_row = max(self.heights)
            areas = [xl_range_abs(0, 0, last_row, p.bands[0][1])]
            areas += [xl_range_abs(table[0], first, table[2], last) for first, last in p.bands[1:]]
            sheet = quote_sheetname(self.name)
            self.wb.define_name(f"{sheet}!_xlnm.Print_Area", "=" + ",".join(f"{sheet}!{a}" for a in areas))
        label = f"{self.figures.period.label}消费环境评价考核数据（{STATUS_NAMES[self.ctx.status]}）"
        ws.set_header(f"&L{_escape(label)}&R数据截至 {self.ctx.as_of:%Y-%m-%d}", {"margin": HEADER_FOOTER_IN})
        ws.set_footer(f"&L&A&C第 &P 页，共 &N 页&R{_escape(self.ctx.file_stem)}.xlsx", {"margin": HEADER_FOOTER_IN})

    def _breaks(self, page: float, repeat: tuple[int, int] | None) -> list[int]:
        """Manual page breaks before a block (a chart, a small table) that would straddle a page."""
        repeated = sum(self.heights.get(r, ROW_PT) for r in range(repeat[0], repeat[1] + 1)) if repeat else 0
        blocks = {first: last for first, last in sorted(self.keep)}
        last_row = max([*self.heights, 0])
        breaks: list[int] = []
        pos, row = 0.0, 0
        while row <= last_row:
            end = blocks.get(row, row)
            height = sum(self.heights.get(r, 15.0) for r in range(row, end + 1))
            if height > page - repeated:  # larger than a page: it flows, row by row
                end, height = row, self.heights.get(row, 15.0)
            if pos + height > page and pos > repeated:
                if row in blocks:
                    breaks.append(row)
                pos = repeated  # a natural break (or ours): the next page starts under the repeated rows
            pos += height
            row = end + 1
        return breaks


def _bands(px: Sequence[int], groups: Sequence[int], room: float) -> tuple[tuple[int, int], ...]:
    """Columns of a table too wide for a page, cut into pages across at group boundaries: the
    first page from column 0, the next ones beside the repeated unit columns (0 and 1)."""
    last = len(px) - 1
    bounds = sorted({g for g in groups if g > 2} | {last + 1})
    bands: list[tuple[int, int]] = []
    start = 0
    while start <= last:
        used = 0 if start == 0 else px[0] + px[1]
        end = start - 1
        for b in (b for b in bounds if b > start):
            if used + sum(px[start:b]) > room:
                break
            end = b - 1
        if end < start:  # one group wider than a page: cut it where the page ends
            end = start
            while end < last and used + sum(px[start:end + 2]) <= room:
                end += 1
        bands.append((start, end))
        start = end + 1
    return tuple(bands)


def _escape(text: str) -> str:
    return text.replace("&", "&&")


def _unit_cells(sheet: _Sheet, row: int, unit: Unit, mark: str | None = None) -> None:
    sheet.text(row, 0, unit.code, sheet.fmt.marked("text", mark))
    sheet.text(row, 1, unit.name, sheet.fmt.marked("text", mark))


def _footnotes(s: _Sheet, notes: set[str], codes: Iterable[Code], extra: Sequence[str] = ()) -> None:
    """Under a table: what the marked cells and the 备注 column mean, with the thresholds."""
    lines = list(extra)
    present = [n for n in NOTE_NAMES if n in notes]
    if present:
        lines.insert(0, "注：底色标出的单元格带有备注（见「备注」列）。")
        lines += [note_meaning(n, s.figures.rules, codes) for n in present]
    if lines:
        s.paragraph("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# Sheets of the figures


def _axis(extra: dict | None = None) -> dict:
    return {"num_font": {"size": 11}, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}},
            **(extra or {})}


def _table_block(s: _Sheet, headers: Sequence[str], rows: Iterable[Callable[[int], None]],
                 span_to: int | None = None) -> None:
    """A small table: headers at the cursor (the last one spanning to column `span_to`), then one
    writer per row; kept on one page."""
    top = s.row
    s.headers(top, headers[:-1])
    s.header(top, len(headers) - 1, headers[-1], last_col=span_to)
    n = 0
    for n, write in enumerate(rows, start=1):
        write(top + n)
    s.keep_together(top, top + n)
    s.row = top + n + 1
