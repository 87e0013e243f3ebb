"""assessment_<P>.xlsx, for people (XlsxWriter) — and for the bureau's officers, who print it.

Sheets, in order: 消费维权满意率 (the headline of the provincial 营商环境 assessment), 消费环境指数
(index with its coverage, sub-indices, ranks, the Monte Carlo median rank and P5–P95 band, a
ranking and two charts), one sheet per indicator family (维权效能, 源头治理, 商品质量, 无理由退货;
消费者满意 is the headline sheet), 趋势 (quarters and years: the headline rate and the index month
by month), 指数审计 (the composite-indicator audit), 说明 (period, as-of, status and why,
definitions, data-sufficiency rules and what the notes mean, revision) and 数据来源 (feed coverage
per unit, source files with checksums).

Figures with a note (figures.NOTES) are marked: a tinted cell, a 备注 column in words (数据不足 /
覆盖不足 / 参评单位不足) and a footnote under the table with the rule's threshold.

Printing (A4 landscape): nothing is shrunk below a 9-point equivalent. A sheet whose columns fit
the page at a scale of at least 9/11 of the 11-point body font is printed at that fixed scale
(not "fit to page": Excel ignores manual page breaks under fit-to, and the breaks keep charts and
small tables whole); a wider sheet prints at 100 % across several pages, its header rows and
unit columns repeated. Every sheet has margins, a page header and a footer with the sheet name
and page numbers. Rows are given explicit heights, so the page model here matches what Excel,
WPS and LibreOffice lay out.

Every figure written is the `Decimal` the CSV publishes (XlsxWriter writes its exact decimal
text), so the workbook and the CSV cannot disagree. The workbook holds no wall-clock value: its
`created` property is the as-of, and XlsxWriter fixes the zip entries' timestamps, so the same
figures give the same bytes.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import xlsxwriter
from xlsxwriter.chart import Chart
from xlsxwriter.format import Format
from xlsxwriter.utility import quote_sheetname, xl_range_abs
from xlsxwriter.worksheet import Worksheet

from cei.export import catalogue as cat
from cei.export.catalogue import Code
from cei.export.figures import AuditRow, Figures, Row, Rules, Unit
from cei.export.provenance import SourceFile
from cei.export.revisions import FIELD_NAMES, Difference
from cei.export.trend import Trend
from cei.index_audit import KURTOSIS_LIMIT, SKEW_LIMIT, WEAK_CORRELATION

STATUS_NAMES = {"provisional": "暂定", "final": "正式"}
PERIOD_TYPE_NAMES = {"month": "月度", "quarter": "季度", "year": "年度"}
BETTER_NAMES = {"higher": "越高越好", "lower": "越低越好", "none": "—（仅报告，不评分）"}
NOTE_NAMES = {"insufficient_data": "数据不足", "insufficient_coverage": "覆盖不足", "too_few_units": "参评单位不足"}
FEED_NAMES = {"hotline": "12315热线工单", "odr": "ODR在线纠纷", "returns": "无理由退货报送",
              "inspection": "产品质量抽检"}
FIRST_ROW = {"single": 3, "double": 4}  # data start below title, note and header rows
NO_DATA = "无数据"

# The audit's thresholds (cei.index_audit, after the JRC/COINr audits) are stated in its sheet.
GOOD_ALPHA = "0.7"  # Nunnally's rule of thumb, as the handbook cites it

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


@dataclass(frozen=True)
class Context:
    """What the workbook says besides the figures."""

    status: str  # provisional | final
    revision: int  # 0: assessment_<P>.*; N: assessment_<P>.rev<N>.*
    as_of: datetime
    run_id: int
    sources: tuple[SourceFile, ...]
    version: str  # platform version
    file_stem: str  # assessment_<P> or assessment_<P>.rev<N>
    revises: str | None = None  # the CSV this revision replaces
    differences: tuple[Difference, ...] = ()
    calendar: str = ""  # the official calendar's source per year (provenance.CalendarBasis.label)
    status_reason: str | None = None  # why a period past its final date is still provisional
    trend: Trend | None = None  # quarters and years: the months (trend.read_trend)


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


def _percent(x: Decimal) -> str:
    return f"{(x * 100).normalize():f}%"


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


def _title(figures: Figures, ctx: Context, what: str) -> str:
    rev = f"，第{ctx.revision}次修订" if ctx.revision else ""
    return f"{figures.period.label}{what}（{STATUS_NAMES[ctx.status]}{rev}）"


def _as_of_note(ctx: Context) -> str:
    return f"数据截至 {ctx.as_of:%Y-%m-%d %H:%M:%S}（北京时间）。"


def _unit_cells(sheet: _Sheet, row: int, unit: Unit, mark: str | None = None) -> None:
    sheet.text(row, 0, unit.code, sheet.fmt.marked("text", mark))
    sheet.text(row, 1, unit.name, sheet.fmt.marked("text", mark))


# ---------------------------------------------------------------------------------------------
# Notes: marks, 备注 and footnotes


def _mark(row: Row) -> str | None:
    return "note" if row.note else None


def _remark(parts: Iterable[tuple[str, str]]) -> str:
    """备注 text of a unit: 'name：数据不足；…' (or just the wording when there is one unnamed part)."""
    return "；".join(f"{name}：{NOTE_NAMES[note]}" if name else NOTE_NAMES[note] for name, note in parts if note)


def _min_denominators(rules: Rules, codes: Iterable[Code]) -> str:
    items = [f"{c.name} {rules.min_denominator[c.code]} {'批次' if c.code.startswith('inspection') else '件'}"
             for c in codes if c.code in rules.min_denominator]
    return "；".join(items)


def note_meaning(note: str, rules: Rules | None, codes: Iterable[Code] = ()) -> str:
    """What a note means, with the rule's threshold when the figures carry the rules."""
    if note == "insufficient_data":
        limits = _min_denominators(rules, codes) if rules else ""
        return ("数据不足：该单位本期该指标的分母低于最低样本量"
                + (f"（{limits}）" if limits else "") + "，数值照常公布，但不计得分、不参与排名。")
    if note == "insufficient_coverage":
        limit = f"{_percent(rules.min_coverage)}" if rules else "规定比例"
        return (f"覆盖不足：该单位有得分的指标所占权重合计（指标覆盖率）低于指数总权重的 {limit}，"
                "不计消费环境指数及分指数，不参与排名。")
    if note == "too_few_units":
        limit = f" {rules.min_ranked_units} 个" if rules else "规定数目"
        return f"参评单位不足：本期有得分的单位少于{limit}，得分照常公布，但不公布排名及排名区间。"
    return note


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


def _satisfaction_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_SATISFACTION, fmt, figures, ctx)
    code = cat.BY_CODE["satisfaction_rate"]
    s.title(
        _title(figures, ctx, "消费维权满意率"),
        _as_of_note(ctx) + "满意率 =（满意 + 基本满意）÷（满意 + 基本满意 + 不满意），无法联系及未回访不计；"
        "得分为各单位间 min–max 标准化（0–100），排名 1 为最高。",
    )
    s.headers(2, ["单位代码", "单位名称", "满意及基本满意（件）", "参评回访（件）", "消费维权满意率", "得分", "排名",
                  "备注"], cap=14)
    s.width(2, 15)  # 满意及基本满意 / （件）
    first = FIRST_ROW["single"]
    notes: set[str] = set()
    for i, u in enumerate(figures.units):
        row, r = first + i, figures.row(u.code, code.code)
        mark = _mark(r)
        _unit_cells(s, row, u)
        for col, attr, style in ((2, "numerator", "count"), (3, "denominator", "count"), (4, "value", "rate"),
                                 (5, "score", "score"), (6, "rank", "rank")):
            s.number(row, col, getattr(r, attr), style, mark)
        s.text(row, 7, _remark([("", r.note)]), fmt.marked("wrap", mark), wrap=True)
        notes.add(r.note)
    last = first + len(figures.units) - 1
    s.keep_together(0, last)  # the title with its table
    s.row = last + 2
    _footnotes(s, notes, [code])

    if all(figures.row(u.code, code.code).value is None for u in figures.units):
        s.no_data(f"{NO_DATA}：本期各单位均无消费维权满意率")
    else:
        chart = wb.add_chart({"type": "column"})
        chart.add_series({
            "name": "消费维权满意率",
            "categories": [s.name, first, 1, last, 1],
            "values": [s.name, first, 4, last, 4],
            "fill": {"color": "#2E75B6"},
            "data_labels": {"value": True, "num_format": "0.0%", "font": {"size": 10}},
        })
        chart.set_title({"name": f"{figures.period.label}消费维权满意率（纵轴自 0 起）", "name_font": {"size": 12}})
        chart.set_y_axis(_axis({"num_format": "0%", "min": 0, "max": 1, "major_unit": 0.2}))
        chart.set_x_axis({"num_font": {"size": 11}})
        chart.set_legend({"none": True})
        s.chart(chart, 330)
    s.finish(freeze=(first, 2), table=(2, 2, last))


INDEX_COLUMNS = (  # 消费环境指数 group: header, Row attribute (None: the coverage), style
    ("得分", "score", "score"), ("排名", "rank", "rank"), ("模拟排名中位数", "rank_p50", "band"),
    ("排名区间 P5", "rank_p05", "band"), ("排名区间 P95", "rank_p95", "band"),
    ("指标覆盖率", None, "share"),
)


def _index_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_INDEX, fmt, figures, ctx)
    subs = cat.INDEX_CODES[1:]
    sub0 = 2 + len(INDEX_COLUMNS)  # first sub-index column
    remark_col = sub0 + 2 * len(subs)
    s.title(
        _title(figures, ctx, "消费环境指数"),
        _as_of_note(ctx) + "指数与分指数为 0–100 分（2 位小数），排名 1 为最高，得分相同（2 位小数）并列取最优名次；"
        "各级权重在 ±25% 内随机扰动 1000 次，模拟排名中位数及排名区间（第 5 至第 95 百分位）表示名次的不确定性。",
    )
    s.header(2, 0, "单位代码", 3)
    s.header(2, 1, "单位名称", 3)
    s.header(2, 2, "消费环境指数", last_col=sub0 - 1)
    s.headers(3, [h for h, _, _ in INDEX_COLUMNS], col=2, cap=8)
    for col in (4, 5, 6):  # four CJK characters a line: 模拟排名 / 中位数, 排名区间 / P5
        s.width(col, 9)
    for i, sub in enumerate(subs):
        col = sub0 + 2 * i
        s.header(2, col, sub.name, last_col=col + 1)
        s.headers(3, ["得分", "排名"], col=col)
    s.header(2, remark_col, "备注", 3)
    first = FIRST_ROW["double"]
    notes: set[str] = set()
    for i, u in enumerate(figures.units):
        row, cei = first + i, figures.row(u.code, "cei")
        mark = _mark(cei)
        _unit_cells(s, row, u)
        for j, (_, attr, style) in enumerate(INDEX_COLUMNS):
            value = getattr(cei, attr) if attr else figures.index_coverage.get(u.code)
            s.number(row, 2 + j, value, style, mark)
        parts = [("指数", cei.note)]
        for j, sub in enumerate(subs):
            r = figures.row(u.code, sub.code)
            s.number(row, sub0 + 2 * j, r.score, "score", _mark(r))
            s.number(row, sub0 + 2 * j + 1, r.rank, "rank", _mark(r))
            if r.note and r.note != cei.note:  # the index's note already says it for all
                parts.append((sub.name, r.note))
            notes.add(r.note)
        notes.add(cei.note)
        s.text(row, remark_col, _remark(parts), fmt.marked("wrap", mark if cei.note else None), wrap=True)
    last = first + len(figures.units) - 1
    s.keep_together(0, last)  # the title with its table
    s.row = last + 2
    _footnotes(s, notes, cat.INDICATORS, ["指标覆盖率：该单位有得分的指标所占指数总权重的比例。"])
    _ranking(s, figures)
    s.finish(freeze=(first, 2), table=(2, 3, last), groups=[2, *range(sub0, remark_col + 1, 2)])


def _ranking(s: _Sheet, figures: Figures) -> None:
    """The units with an index score, best first, and the charts drawn from them."""
    scored = [(u, figures.row(u.code, "cei")) for u in figures.units if figures.row(u.code, "cei").score is not None]
    scored.sort(key=lambda ur: (ur[1].rank is None, ur[1].rank or 0, -ur[1].score, ur[0].sort_order))
    s.section("消费环境指数排名（仅列有指数得分的单位，按排名）")
    if not scored:
        s.no_data(f"{NO_DATA}：本期没有单位有消费环境指数得分")
        return
    top = s.row
    s.headers(top, ["单位代码", "单位名称", *(h for h, _, _ in INDEX_COLUMNS[:5])], cap=8)
    for i, (u, r) in enumerate(scored, start=1):
        _unit_cells(s, top + i, u, _mark(r))
        for j, (_, attr, style) in enumerate(INDEX_COLUMNS[:5]):
            s.number(top + i, 2 + j, getattr(r, attr), style, _mark(r))
    first, last = top + 1, top + len(scored)
    s.keep_together(top, last)
    s.row = last + 2

    scores = s.wb.add_chart({"type": "column"})
    scores.add_series({
        "name": "消费环境指数",
        "categories": [s.name, first, 1, last, 1],
        "values": [s.name, first, 2, last, 2],
        "fill": {"color": "#2E75B6"},
        "data_labels": {"value": True, "num_format": "0.0", "font": {"size": 10}},
    })
    scores.set_title({"name": f"{figures.period.label}消费环境指数（有得分的单位，纵轴 0–100）",
                      "name_font": {"size": 12}})
    scores.set_y_axis(_axis({"min": 0, "max": 100, "major_unit": 20}))
    scores.set_x_axis({"num_font": {"size": 11}})
    scores.set_legend({"none": True})
    s.chart(scores, 330)

    if all(r.rank_p50 is None and r.rank_p05 is None for _, r in scored):
        s.no_data(f"{NO_DATA}：本期不公布排名及排名区间")
        return
    # Median rank with its P5–P95 band, as COINr shows it: a high–low chart of the visible
    # P95 / P5 / median columns (custom error bars with literal values are not drawn by LibreOffice).
    ranks = s.wb.add_chart({"type": "stock"})
    for name, col, marker, color in (("排名区间 P95", 6, "dash", "#7F7F7F"),
                                     ("排名区间 P5", 5, "dash", "#7F7F7F"),
                                     ("模拟排名中位数", 4, "diamond", "#C00000")):
        ranks.add_series({
            "name": name,
            "categories": [s.name, first, 1, last, 1],
            "values": [s.name, first, col, last, col],
            "line": {"none": True},
            "marker": {"type": marker, "size": 9, "fill": {"color": color}, "border": {"color": color}},
        })
    ranks.set_high_low_lines({"line": {"color": "#7F7F7F", "width": 1.5}})
    ranks.set_title({"name": "排名的不确定性：竖线为排名区间（P5–P95），标记为模拟排名中位数",
                     "name_font": {"size": 12}})
    n = max(len(scored), 2)
    ranks.set_y_axis(_axis({"reverse": True, "min": 1, "max": n, "major_unit": 1, "crossing": "max",
                            "name": "名次（1 为最高）", "name_font": {"size": 10}}))
    ranks.set_x_axis({"num_font": {"size": 11}})
    ranks.set_legend({"none": True})
    s.chart(ranks, 330)


def _columns_of(code: Code, scored: frozenset[str]) -> list[tuple[str, str, str]]:
    """(header, Row attribute, number style) of an indicator's columns in its family sheet."""
    if code.kind == "rate":
        cols = [("分子", "numerator", "count"), ("分母", "denominator", "count"), ("比率", "value", "rate")]
    else:
        cols = [("数值", "value", code.kind)]
    if code.code in scored:
        cols += [("得分", "score", "score"), ("排名", "rank", "rank")]
    return cols


def _family_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context, sheet: str) -> None:
    codes = cat.codes_of_sheet(sheet)
    layout = [(c, _columns_of(c, figures.scored)) for c in codes]
    remark_col = 2 + sum(len(cols) for _, cols in layout)
    s = _Sheet(wb, sheet, fmt, figures, ctx)
    s.title(
        _title(figures, ctx, sheet),
        _as_of_note(ctx) + "比率以百分比显示（CSV 中为 6 位小数）；得分为各单位间 min–max 标准化（0–100），"
        "排名 1 为最优（越低越好的指标以低者为优）；不计入指数的指标仅报告，不评分、不排名。分母为 0 的比率为空。",
    )
    s.header(2, 0, "单位代码", 3)
    s.header(2, 1, "单位名称", 3)
    col, starts = 2, [remark_col]
    for code, cols in layout:
        starts.append(col)
        name = code.name if code.code in figures.scored else f"{code.name}（仅报告）"
        s.header(2, col, name, last_col=col + len(cols) - 1)
        s.headers(3, [h for h, _, _ in cols], col=col)
        col += len(cols)
    s.header(2, remark_col, "备注", 3)
    first = FIRST_ROW["double"]
    notes: set[str] = set()
    for i, u in enumerate(figures.units):
        row = first + i
        _unit_cells(s, row, u)
        col, parts = 2, []
        for code, cols in layout:
            r = figures.row(u.code, code.code)
            for j, (_, attr, style) in enumerate(cols):
                s.number(row, col + j, getattr(r, attr), style, _mark(r))
            parts.append((code.name, r.note))
            notes.add(r.note)
            col += len(cols)
        remark = _remark(parts)
        s.text(row, remark_col, remark, fmt.marked("wrap", "note" if remark else None), fit=False, wrap=True)
        s.fit(remark_col, remark, cap=26)
    last = first + len(figures.units) - 1
    s.keep_together(0, last)  # the title with its table
    s.row = last + 2
    if all(figures.row(u.code, c.code).value is None for u in figures.units for c in codes):
        s.no_data(f"{NO_DATA}：本期各单位本表各项均无数值")
    _footnotes(s, notes, codes)
    s.finish(freeze=(first, 2), table=(2, 3, last), groups=starts)


# ---------------------------------------------------------------------------------------------
# 趋势


UNIT_COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F",
               "#BCBD22", "#17BECF")


def _trend_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_TREND, fmt, figures, ctx)
    trend = ctx.trend
    s.title(
        _title(figures, ctx, "按月趋势"),
        _as_of_note(ctx) + "各月数字为该月月度口径（与该月导出文件一致）：消费维权满意率为当月分子 ÷ 分母，"
        "消费环境指数为当月指数得分；空白表示该月无数据。",
    )
    s.width(0, 10)
    s.width(1, 16)
    if trend is None or trend.empty:
        s.row += 1
        s.no_data(f"{NO_DATA}：本期各月均无消费维权满意率和消费环境指数数据")
        s.finish()
        return
    units = [u.code for u in figures.units]
    s.section("一、消费维权满意率（按月）")
    rates = _trend_table(s, trend, lambda u, m: trend.at(u, m).rate, "rate",
                         total=lambda m: trend.total(m, units).rate)
    s.paragraph("合计：各单位当月分子、分母分别加总后相除，不对各单位比率求平均。")
    _trend_chart(s, rates, "消费维权满意率", "rate")
    s.section("二、消费环境指数（按月）")
    scores = _trend_table(s, trend, lambda u, m: trend.at(u, m).cei, "score")
    _trend_chart(s, scores, "消费环境指数", "score")
    s.section("附：消费维权满意率的分子与分母（件）")
    s.paragraph("满意及基本满意（件）")
    _trend_table(s, trend, lambda u, m: trend.at(u, m).numerator, "count",
                 total=lambda m: trend.total(m, units).numerator)
    s.paragraph("参评回访（件）")
    _trend_table(s, trend, lambda u, m: trend.at(u, m).denominator, "count",
                 total=lambda m: trend.total(m, units).denominator)
    s.finish()


@dataclass(frozen=True)
class _Table:
    header: int  # row of the headers
    first: int  # first unit row
    last: int  # last unit row
    columns: int  # value columns (from column 2)
    values: tuple[Decimal, ...]  # every value shown, units and total


def _trend_table(s: _Sheet, trend: Trend, value: Callable[[str, str], Decimal | None], style: str,
                 total: Callable[[str], Decimal | None] | None = None) -> _Table:
    months = trend.months
    top = s.row
    s.headers(top, ["单位代码", "单位名称", *(f"{int(m[5:])}月" for m in months)])
    shown: list[Decimal] = []
    for i, u in enumerate(s.figures.units, start=1):
        _unit_cells(s, top + i, u)
        for j, m in enumerate(months):
            v = value(u.code, m)
            s.number(top + i, 2 + j, v, style)
            shown += [v] if v is not None else []
    last = top + len(s.figures.units)
    s.row = last + 1
    if total is not None:
        bold = s.fmt.marked("key", "total")
        s.text(s.row, 0, "", bold)
        s.text(s.row, 1, "合计", bold)
        for j, m in enumerate(months):
            s.number(s.row, 2 + j, total(m), style, "total")
        s.row += 1
    s.keep_together(top, s.row - 1)
    return _Table(top, top + 1, last, len(months), tuple(shown))


def _trend_chart(s: _Sheet, table: _Table, what: str, style: str) -> None:
    if not table.values:
        s.no_data(f"{NO_DATA}：本期各月均无{what}")
        return
    chart = s.wb.add_chart({"type": "line"})
    for i, row in enumerate(range(table.first, table.last + 1)):
        color = UNIT_COLORS[i % len(UNIT_COLORS)]
        chart.add_series({
            "name": [s.name, row, 1],
            "categories": [s.name, table.header, 2, table.header, 1 + table.columns],
            "values": [s.name, row, 2, row, 1 + table.columns],
            "line": {"color": color, "width": 1.75},
            "marker": {"type": "circle", "size": 5, "fill": {"color": color}, "border": {"color": color}},
        })
    if style == "rate":
        floor = Decimal(math.floor(min(table.values) * 10)) / 10  # the 10 % step below the lowest rate
        axis = {"num_format": "0%", "min": floor, "max": 1}
        note = "纵轴自 0 起" if floor == 0 else f"纵轴自 {_percent(floor)} 起，未从 0 开始"
    else:
        axis, note = {"min": 0, "max": 100, "major_unit": 20}, "纵轴 0–100"
    chart.set_title({"name": f"{what}按月趋势（{note}）", "name_font": {"size": 12}})
    chart.set_y_axis(_axis(axis))
    chart.set_x_axis({"num_font": {"size": 11}})
    chart.set_legend({"position": "right", "font": {"size": 11}})
    s.chart(chart, 340)


# ---------------------------------------------------------------------------------------------
# 指数审计


def _name(code: str, units: dict[str, str] | None = None) -> str:
    if code in cat.BY_CODE:
        return cat.BY_CODE[code].name
    return (units or {}).get(code, code)


class _Audit:
    """The audit rows by section, subject and measure."""

    def __init__(self, rows: Iterable[AuditRow]):
        self.rows = tuple(rows)
        self.by: dict[tuple[str, str, str | None, str], AuditRow] = {}
        self.subjects: dict[str, list[str]] = defaultdict(list)
        for r in self.rows:
            self.by[(r.section, r.subject, r.related, r.measure)] = r
            if r.subject not in self.subjects[r.section]:
                self.subjects[r.section].append(r.subject)

    def get(self, section: str, subject: str, measure: str, related: str | None = None) -> AuditRow | None:
        return self.by.get((section, subject, related, measure))

    def value(self, section: str, subject: str, measure: str, related: str | None = None) -> Decimal | None:
        r = self.get(section, subject, measure, related)
        return _finite(r.value) if r else None

    def correlation(self, a: str, b: str) -> AuditRow | None:
        return self.get("correlation", a, "pearson_r", b) or self.get("correlation", b, "pearson_r", a)

    def indicators(self) -> list[str]:
        """Scored indicators, in the seed's order (the indicator section's), then any others correlated."""
        codes = list(self.subjects["indicator"])
        for r in self.rows:
            if r.section == "correlation":
                for c in (r.subject, r.related):
                    if c and c not in codes and cat.BY_CODE.get(c, None) and cat.BY_CODE[c].kind != "index":
                        codes.append(c)
        return codes

    def parent(self, indicator: str) -> str | None:
        """The indicator's sub-index: the one it is correlated with (cei.index_audit does so for its own)."""
        subs = {c.code for c in cat.INDEX_CODES[1:]}
        for r in self.rows:
            if r.section == "correlation" and r.subject == indicator and r.related in subs:
                return r.related
        return None


FLAG_NAMES = {"skew_kurtosis": "偏度、峰度超限", "negative": "负相关", "weak": "弱相关",
              "single_indicator": "仅 1 个指标", "too_few_units": "参评单位不足"}


def _flag_mark(flag: str | None) -> str | None:
    return None if not flag else "bad" if flag == "negative" else "warn"


def _audit_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_AUDIT, fmt, figures, ctx)
    s.title(
        _title(figures, ctx, "消费环境指数统计审计"),
        _as_of_note(ctx) + "按欧盟联合研究中心（JRC）与经合组织《综合指数编制手册》及 COINr 的统计审计方法，"
        "检查指标分布、指标间的一致性、分指数的实际权重及排名对方法选择的稳健性。审计结果供解读参考，不改变正式得分和排名。",
    )
    s.width(0, 20)
    for col in range(1, 10):
        s.width(col, 11)
    if not figures.audit:
        s.row += 1
        s.no_data("无审计数据")
        s.finish()
        return
    audit = _Audit(figures.audit)
    _audit_indicators(s, audit)
    _audit_correlations(s, audit)
    _audit_reliability(s, audit)
    _audit_weights(s, audit)
    _audit_sensitivity(s, audit)
    s.finish()


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


def _audit_indicators(s: _Sheet, audit: _Audit) -> None:
    s.section("一、指标数据检查")
    s.paragraph(f"各指标原始数值在有得分单位间的分布。偏度绝对值大于 {SKEW_LIMIT:g} 且峰度大于"
                f" {KURTOSIS_LIMIT:g} 时标记（JRC/COINr 规则）：少数极端值会主导 min–max 标准化，"
                "宜考虑缩尾或对数变换。")

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            style = "rate" if cat.BY_CODE.get(code) and cat.BY_CODE[code].kind == "rate" else "value"
            flags = {a.flag for m in ("skewness", "kurtosis") if (a := audit.get("indicator", code, m)) and a.flag}
            s.text(r, 0, _name(code), wrap=True, fit=False)
            s.text(r, 1, _name(audit.parent(code) or ""), fit=False)
            s.number(r, 2, audit.value("indicator", code, "n"), "count")
            s.number(r, 3, audit.value("indicator", code, "missing_share"), "share")
            for col, m in ((4, "min"), (5, "max"), (6, "mean")):
                s.number(r, col, audit.value("indicator", code, m), style)
            for col, m in ((7, "skewness"), (8, "kurtosis")):
                a = audit.get("indicator", code, m)
                s.number(r, col, audit.value("indicator", code, m), "stat", _flag_mark(a.flag if a else None))
            remark = "、".join(FLAG_NAMES.get(f, f) for f in sorted(flags))
            s.text(r, 9, remark, s.fmt.marked("wrap", "warn" if remark else None), wrap=True, fit=False)
        return row

    _table_block(s, ["指标", "所属分指数", "有得分单位数", "缺失比例", "最小值", "最大值", "平均值", "偏度", "峰度",
                     "标记"], [write(c) for c in audit.subjects["indicator"]])


def _audit_correlations(s: _Sheet, audit: _Audit) -> None:
    s.section("二、相关性检查")
    s.paragraph("指标得分间的皮尔逊相关系数 r（得分已按方向调整，越高越好）。"
                "同一分指数内的指标之间、指标与所属分指数之间：r < 0 标为负相关（该指标与同组指标方向相反），"
                f"0 ≤ r < {WEAK_CORRELATION:g} 标为弱相关（对分指数贡献有限）；跨分指数及与消费环境指数的相关不作标记。"
                "有数据的单位少于 3 个或一方各单位相同时不计算（空白）。")
    codes = audit.indicators()
    if codes:
        s.paragraph("指标得分相关矩阵")

        def matrix_row(a: str) -> Callable[[int], None]:
            def row(r: int) -> None:
                s.text(r, 0, _name(a), s.fmt.key, wrap=True, fit=False)
                for j, b in enumerate(codes, start=1):
                    if a == b:
                        s.text(r, j, "—", s.fmt.number("band"), fit=False)
                        continue
                    c = audit.correlation(a, b)
                    s.number(r, j, _finite(c.value) if c else None, "stat", _flag_mark(c.flag if c else None))
            return row

        _table_block(s, ["指标", *(_name(c) for c in codes)], [matrix_row(c) for c in codes])

    def link_row(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            parent = audit.parent(code)
            own = audit.get("correlation", code, "pearson_r", parent) if parent else None
            s.text(r, 0, _name(code), wrap=True, fit=False)
            s.text(r, 1, _name(parent) if parent else "—", fit=False)
            s.number(r, 2, _finite(own.value) if own else None, "stat", _flag_mark(own.flag if own else None))
            s.number(r, 3, audit.value("correlation", code, "pearson_r", "cei"), "stat")
            flag = FLAG_NAMES.get(own.flag, own.flag) if own and own.flag else ""
            s.text(r, 4, flag, s.fmt.marked("text", _flag_mark(own.flag if own else None)), fit=False)
        return row

    subs = [c.code for c in cat.INDEX_CODES[1:] if audit.get("correlation", c.code, "pearson_r", "cei")]

    def sub_row(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            s.text(r, 0, _name(code), s.fmt.key, fit=False)
            s.text(r, 1, "（分指数）", fit=False)
            s.number(r, 2, None, "stat")
            s.number(r, 3, audit.value("correlation", code, "pearson_r", "cei"), "stat")
            s.text(r, 4, "", fit=False)
        return row

    s.paragraph("指标、分指数与上一级的相关")
    _table_block(s, ["指标 / 分指数", "所属分指数", "与所属分指数 r", "与消费环境指数 r", "标记"],
                 [link_row(c) for c in codes] + [sub_row(c) for c in subs])


def _audit_reliability(s: _Sheet, audit: _Audit) -> None:
    s.section("三、分指数内部一致性（Cronbach's α）")
    s.paragraph(f"分指数内各指标得分的内部一致性，α ≥ {GOOD_ALPHA} 通常视为一致；仅含 1 个指标的分指数不适用，"
                "有全部指标得分的单位少于 3 个时不计算。")
    members = defaultdict(int)
    for code in audit.indicators():
        members[audit.parent(code)] += 1

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            a = audit.get("reliability", code, "cronbach_alpha")
            alpha = _finite(a.value) if a else None
            if a and a.flag:
                remark, mark = FLAG_NAMES.get(a.flag, a.flag) + "，不适用", None
            elif alpha is None:
                remark, mark = "单位不足，未计算", None
            elif alpha >= Decimal(GOOD_ALPHA):
                remark, mark = f"一致（≥ {GOOD_ALPHA}）", None
            else:
                remark, mark = f"一致性偏低（< {GOOD_ALPHA}）", "warn"
            s.text(r, 0, _name(code), s.fmt.key, fit=False)
            s.number(r, 1, members.get(code) or None, "count")
            s.number(r, 2, alpha, "stat", mark)
            s.number(r, 3, audit.value("reliability", code, "n"), "count")
            s.text(r, 4, remark, s.fmt.marked("text", mark), fit=False, last_col=6)
        return row

    _table_block(s, ["分指数", "指标数", "Cronbach's α", "计算单位数", "说明"],
                 [write(c) for c in audit.subjects["reliability"]], span_to=6)


def _audit_weights(s: _Sheet, audit: _Audit) -> None:
    s.section("四、名义权重与有效权重")
    s.paragraph("名义权重为各分指数的规定权重占比；有效权重为该分指数对消费环境指数方差的贡献份额 "
                "w·cov(分指数, 指数) ÷ var(指数)，反映它实际对排名的影响（只计有全部分指数的单位）。")

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            s.text(r, 0, _name(code), s.fmt.key, fit=False)
            s.number(r, 1, audit.value("effective_weight", code, "nominal_weight"), "share")
            s.number(r, 2, audit.value("effective_weight", code, "effective_weight"), "share")
        return row

    _table_block(s, ["分指数", "名义权重", "有效权重"], [write(c) for c in audit.subjects["effective_weight"]])


def _audit_sensitivity(s: _Sheet, audit: _Audit) -> None:
    s.section("五、排名稳健性（敏感性分析）")
    s.paragraph("以另一种合理方法重算指数并排名：z-score 标准化（代替 min–max），加权几何平均（代替算术平均）。"
                "最大位移为两种方法下名次与正式名次之差的最大绝对值。模拟排名中位数及排名区间（P5–P95）"
                "来自各级权重 ±25% 随机扰动 1000 次。")
    units = {u.code: u for u in s.figures.units}
    subjects = [c for c in audit.subjects["sensitivity"] if c != "cei"]
    if any((a := audit.get("sensitivity", c, "max_shift")) and a.flag == "too_few_units" for c in [*subjects, "cei"]):
        limit = f"少于 {s.figures.rules.min_ranked_units} 个" if s.figures.rules else "过少"
        s.no_data(f"参评单位不足：本期有指数得分的单位{limit}，不做敏感性分析")
        return
    if not subjects:
        s.no_data(f"{NO_DATA}：本期没有单位有消费环境指数得分")
        return

    def write(code: str) -> Callable[[int], None]:
        def row(r: int) -> None:
            u = units.get(code)
            cei = s.figures.row(code, "cei") if u else None
            s.text(r, 0, f"{u.name}（{code}）" if u else code, fit=False)
            s.number(r, 1, audit.value("sensitivity", code, "rank_official"), "rank")
            for col, attr in ((2, "rank_p50"), (3, "rank_p05"), (4, "rank_p95")):
                s.number(r, col, getattr(cei, attr) if cei else None, "band")
            s.number(r, 5, audit.value("sensitivity", code, "rank_zscore"), "rank")
            s.number(r, 6, audit.value("sensitivity", code, "rank_geometric"), "rank")
            s.number(r, 7, audit.value("sensitivity", code, "max_shift"), "rank")
        return row

    _table_block(s, ["单位", "正式排名", "模拟排名中位数", "排名区间 P5", "排名区间 P95",
                     "z-score 标准化排名", "几何平均排名", "最大位移"], [write(c) for c in subjects])
    shift = audit.value("sensitivity", "cei", "max_shift")
    if shift is not None:
        s.paragraph(f"全部单位的最大位移：{shift.normalize():f} 位。")


# ---------------------------------------------------------------------------------------------
# 说明 and 数据来源


NOTES_WIDTHS = (28, 18, 15, 34, 30, 12, 6)


def _notes_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_NOTES, fmt, figures, ctx)
    p = figures.period
    for col, width in enumerate(NOTES_WIDTHS):
        s.width(col, width)
    s.row = 0
    s.paragraph(f"{p.label}消费环境评价考核数据（{STATUS_NAMES[ctx.status]}）说明", fmt.title, min_height=26, gap=1)
    last = len(NOTES_WIDTHS) - 1

    def pairs(items: list[tuple[str, str]]) -> None:
        top = s.row
        for i, (k, v) in enumerate(items):
            s.text(top + i, 0, k, fmt.key, fit=False)
            s.text(top + i, 1, v, fmt.wrap, last_col=last, wrap=True)
        s.keep_together(top, top + len(items) - 1)
        s.row = top + len(items)

    def table(headers: list[str], rows: list[list], styles: list[str]) -> None:
        """The last column runs to the sheet's last column (a long text there has room)."""
        def writer(values: list) -> Callable[[int], None]:
            def row(r: int) -> None:
                for c, v in enumerate(values):
                    end = last if c == len(values) - 1 else None
                    if isinstance(v, Decimal | int) and not isinstance(v, bool):
                        s.number(r, c, v, styles[c] if styles[c] in NUMBER_FORMATS else "count")
                    else:
                        s.text(r, c, "" if v is None else str(v), getattr(fmt, styles[c]), fit=False,
                               wrap=styles[c] in ("wrap", "key"), last_col=end)
            return row
        _table_block(s, headers, [writer(v) for v in rows], span_to=last)

    missing = figures.feeds_without_data()
    revision = "无（首次发布）" if not ctx.revision else f"第 {ctx.revision} 次修订，替代 {ctx.revises}"
    s.section("基本信息")
    info = [
        ("期间", f"{p.text}（{p.label}）"),
        ("期间类型", PERIOD_TYPE_NAMES[p.type]),
        ("起止日期", f"{p.start.isoformat()} 至 {p.end.isoformat()}"),
        ("数据截至（as-of）", f"{ctx.as_of:%Y-%m-%d %H:%M:%S}（北京时间），流水线运行 {ctx.run_id}"),
        ("状态", _status(figures, ctx)),
    ]
    if missing:
        info.append(("无数据的数据源", "、".join(FEED_NAMES.get(f, f) for f in missing)
                     + "：本期没有任何数据，本期不能转为正式（见「数据来源」工作表）"))
    info += [
        ("工作日历", ctx.calendar or "—"),
        ("转为正式之日", f"{p.final_from.isoformat()}：期间结束后第 16 天起为正式，以数据截至日判断，不以生成时间判断；"
                       "正式数据发布后如有变化，另行发布修订版（.rev<N>），原文件不覆盖"),
        ("修订", revision),
        ("文件", f"{ctx.file_stem}.csv / .xlsx / .json（清单含各文件 SHA-256 与生成时间）"),
        ("数据来源", f"入库批次及其 SHA-256、各数据源对各单位的覆盖情况见「{cat.SHEET_SOURCES}」工作表"),
        ("平台版本", f"cei {ctx.version}"),
    ]
    pairs(info)

    s.section("口径")
    pairs([
        ("统计单位", "10 个考核单位：9 个设区市及平潭综合实验区（平潭不计入福州市）"),
        ("期间汇总", "季度、年度由月度分子、分母分别加总后再计算比率，不对月度比率求平均；企业数按整个期间去重"),
        ("比率", "分子 ÷ 分母，6 位小数（本表以百分比显示）；分母为 0 时为空，不为 0"),
        ("金额 / 件数", "金额 2 位小数（元），件数、企业数为整数；数值一律四舍五入（ROUND_HALF_UP）"),
        ("指标得分", "计入指数的指标在数据充分的单位间 min–max 标准化至 0–100（越低越好的指标反向），"
                     "即指数计算所用得分；各单位相同则均为 100；无数值或数据不足者无得分；其他指标仅报告，不评分"),
        ("指标排名", "按指标得分排名，1 为最优，得分（2 位小数）相同并列取最优名次（1, 2, 2, 4）"),
        ("指数排名", "消费环境指数及分指数的得分、排名、模拟排名中位数及排名区间取自数据仓库 marts.mart_cei；"
                     "排名区间为各级权重在 ±25% 内随机扰动 1000 次所得名次的第 5 至第 95 百分位"),
        ("指标覆盖率", "单位有得分的指标所占指数总权重的比例"),
    ])

    s.section("数据充分性规则")
    rules = figures.rules
    if rules is not None:
        pairs([
            ("最低指标覆盖率", f"{_percent(rules.min_coverage)}：指标覆盖率低于此的单位不计消费环境指数和分指数，"
                               "不参与排名（备注：覆盖不足）"),
            ("最少参评单位", f"{rules.min_ranked_units} 个：某项有得分的单位少于此数时，不公布该项排名及排名区间"
                             "（备注：参评单位不足）"),
        ])
        s.row += 1
        mins = [[c.code, c.name, Decimal(rules.min_denominator[c.code]),
                 f"分母低于 {rules.min_denominator[c.code]} {'批次' if c.code.startswith('inspection') else '件'}"
                 "的单位：数值照常公布，不计得分、不参与排名（备注：数据不足）"]
                for c in cat.INDICATORS if c.code in rules.min_denominator]
        table(["指标代码", "指标名称", "最低分母", "说明"], mins, ["text", "wrap", "count", "wrap"])
    s.paragraph("备注的含义（各工作表中底色标出的单元格及「备注」列）：")
    table(["备注", "代码", "含义"], [[name, note, note_meaning(note, rules, cat.INDICATORS)]
                                     for note, name in NOTE_NAMES.items()], ["key", "text", "wrap"])

    s.section("指标定义")
    defs = [
        [c.code, c.name, c.sheet, c.numerator, c.denominator or "—", BETTER_NAMES[c.better],
         "是" if c.code in figures.scored else "否"]
        for c in cat.CODES
    ]
    table(["代码", "名称", "所在工作表", "分子 / 定义", "分母", "方向", "评分"], defs,
          ["text", "wrap", "text", "wrap", "wrap", "wrap", "text"])

    if ctx.revision:
        s.section(f"修订内容（相对 {ctx.revises}）")
        units = {u.code: u.name for u in figures.units}
        diffs = [
            [d.unit, units.get(d.unit, ""), d.code, cat.BY_CODE[d.code].name if d.code in cat.BY_CODE else "",
             FIELD_NAMES.get(d.field, d.field), d.old, d.new]
            for d in ctx.differences
        ]
        table(["单位代码", "单位名称", "指标代码", "指标名称", "项目", "原值", "新值"], diffs,
              ["text", "text", "text", "wrap", "text", "text", "text"])
    s.finish()


def _status(figures: Figures, ctx: Context) -> str:
    """The status, and in words why a period is still provisional (the reason itself, in the
    pipeline's words, follows in brackets)."""
    status = f"{STATUS_NAMES[ctx.status]}（{ctx.status}）"
    if not ctx.status_reason:
        return status
    causes = []
    if "calendar" in ctx.status_reason:  # provenance.CalendarBasis.reason
        causes.append("部分法定时限按暂定工作日历计算")
    if missing := figures.feeds_without_data():
        causes.append(f"数据源{'、'.join(FEED_NAMES.get(f, f) for f in missing)}本期没有任何数据")
    because = f"，因为{'；'.join(causes)}" if causes else ""
    return f"{status}：仍为暂定{because}（{ctx.status_reason}）"


SOURCES_WIDTHS = (10, 16) + (11,) * 11  # a grid both tables fit: merged cells span it


def _sources_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_SOURCES, fmt, figures, ctx)
    for col, width in enumerate(SOURCES_WIDTHS):
        s.width(col, width)
    s.title(_title(figures, ctx, "数据来源"), _as_of_note(ctx) + "本期数字所依据的数据：各数据源对各单位的覆盖情况，"
            "及业务日期落在本期间的全部入库批次（文件名与 SHA-256 校验值）。")
    _coverage(s)
    s.section("数据来源文件（meta.load_files 中行业务日期落在本期间的入库批次）")
    table = None
    if not ctx.sources:
        s.no_data("无来源文件：本期没有业务日期落在期间内的入库批次")
    else:
        top = s.row
        s.headers(top, ["批次号", "数据源", "交付日期", "入库行数", "运行"])
        s.header(top, 5, "文件名", last_col=6)
        s.header(top, 7, "SHA-256", last_col=12)
        for i, f in enumerate(ctx.sources, start=1):
            r = top + i
            s.number(r, 0, f.file_id, "count")
            s.text(r, 1, FEED_NAMES.get(f.feed, f.feed), fit=False)
            s.text(r, 2, f.delivery_date.isoformat(), fit=False)
            s.number(r, 3, f.rows_loaded, "count")
            s.number(r, 4, f.run_id, "count")
            s.text(r, 5, f.file_name, wrap=True, last_col=6)
            # wrapped: in case the 64 hex digits are wider than the merged cells in some font
            s.text(r, 7, f.sha256 or "", last_col=12, wrap=True)
        s.keep_together(top, top + min(len(ctx.sources), 12))  # the header with its first rows
        s.row = top + len(ctx.sources) + 1
        table = (top, top, top + len(ctx.sources))  # a year's files run over pages: header repeated
    s.finish(table=table)


def _coverage(s: _Sheet) -> None:
    figures = s.figures
    s.section("数据源覆盖（各单位本期数据行数及有数据的月份数）")
    if not figures.coverage:
        s.paragraph("（无数据源覆盖记录）")
        return
    feeds = list(dict.fromkeys(c.feed for c in figures.coverage))
    by = {(c.feed, c.unit_code): c for c in figures.coverage}
    months = max(c.months for c in figures.coverage)
    for feed in figures.feeds_without_data():
        s.paragraph(f"数据源「{FEED_NAMES.get(feed, feed)}」（{feed}）本期各单位均无数据：本期不能转为正式。",
                    s.fmt.alert)
    top = s.row
    s.header(top, 0, "单位代码", top + 1)
    s.header(top, 1, "单位名称", top + 1)
    for i, feed in enumerate(feeds):
        s.header(top, 2 + 2 * i, FEED_NAMES.get(feed, feed), last_col=3 + 2 * i)
        s.headers(top + 1, ["行数", "月数"], col=2 + 2 * i)
    for j, u in enumerate(figures.units, start=2):
        _unit_cells(s, top + j, u)
        for i, feed in enumerate(feeds):
            c = by.get((feed, u.code))
            gap = "warn" if c is None or c.rows == 0 or c.months_present < c.months else None
            s.number(top + j, 2 + 2 * i, c.rows if c else None, "count", gap)
            s.number(top + j, 3 + 2 * i, c.months_present if c else None, "count", gap)
    last = top + 1 + len(figures.units)
    s.keep_together(top, last)
    s.row = last + 1
    s.paragraph(f"行数：业务日期落在本期间的记录数（按业务主键去重）；月数：本期 {months} 个月中有数据的月份数。"
                "底色标出：该单位该数据源本期无数据，或有月份无数据。")


# ---------------------------------------------------------------------------------------------


def render(figures: Figures, ctx: Context) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({
        "title": f"{figures.period.label}消费环境评价考核数据（{STATUS_NAMES[ctx.status]}）",
        "subject": f"assessment {figures.period.text} as of {ctx.as_of.isoformat()}",
        "author": "消费环境指数数据平台",
        "company": "消费环境指数数据平台",
        "comments": f"cei {ctx.version}; run {ctx.run_id}; {ctx.status}; revision {ctx.revision}",
        # XlsxWriter would stamp the wall clock here: the as-of keeps the bytes reproducible.
        "created": ctx.as_of.astimezone(UTC).replace(tzinfo=None),
    })
    fmt = _Formats(wb)
    _satisfaction_sheet(wb, fmt, figures, ctx)
    _index_sheet(wb, fmt, figures, ctx)
    for sheet in cat.FAMILY_SHEETS:
        _family_sheet(wb, fmt, figures, ctx, sheet)
    if figures.period.type != "month":
        _trend_sheet(wb, fmt, figures, ctx)
    _audit_sheet(wb, fmt, figures, ctx)
    _notes_sheet(wb, fmt, figures, ctx)
    _sources_sheet(wb, fmt, figures, ctx)
    wb.close()
    return buf.getvalue()
