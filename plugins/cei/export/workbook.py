"""assessment_<P>.xlsx, for people (XlsxWriter).

Sheets, in order: 消费维权满意率 (the headline of the provincial 营商环境 assessment), 消费环境指数
(index, sub-indices, ranks, rank band, charts), one sheet per indicator family (维权效能, 源头治理,
商品质量, 无理由退货; 消费者满意 is the headline sheet), and 说明 (period, as-of, status,
definitions, revision, source files with checksums, platform version).

Every number written is the `Decimal` the CSV publishes (XlsxWriter writes its exact decimal
text), so the workbook and the CSV cannot disagree. The workbook holds no wall-clock value: its
`created` property is the as-of, and XlsxWriter fixes the zip entries' timestamps, so the same
figures give the same bytes.
"""

from __future__ import annotations

import io
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from cei.export import catalogue as cat
from cei.export.catalogue import Code
from cei.export.figures import Figures, Unit
from cei.export.provenance import SourceFile
from cei.export.revisions import FIELD_NAMES, Difference

STATUS_NAMES = {"provisional": "暂定", "final": "正式"}
PERIOD_TYPE_NAMES = {"month": "月度", "quarter": "季度", "year": "年度"}
BETTER_NAMES = {"higher": "越高越好", "lower": "越低越好", "none": "—（仅报告，不评分）"}
FIRST_ROW = {"single": 3, "double": 4}  # data start below title, note and header rows


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


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        cell = {"border": 1, "border_color": "#BFBFBF", "valign": "vcenter"}
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.note = wb.add_format({"font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.header = wb.add_format({**cell, "bold": True, "bg_color": "#DDEBF7", "align": "center",
                                     "text_wrap": True})
        self.section = wb.add_format({"bold": True, "font_size": 12, "bottom": 1})
        self.key = wb.add_format({**cell, "bold": True, "bg_color": "#F2F2F2"})
        self.text = wb.add_format(cell)
        self.wrap = wb.add_format({**cell, "text_wrap": True})
        self.mono = wb.add_format({**cell, "font_name": "Consolas", "font_size": 9})
        self.number = {
            "count": wb.add_format({**cell, "num_format": "#,##0"}),
            "money": wb.add_format({**cell, "num_format": "#,##0.00"}),
            "rate": wb.add_format({**cell, "num_format": "0.00%"}),
            "score": wb.add_format({**cell, "num_format": "0.00"}),
            "rank": wb.add_format({**cell, "num_format": "0", "align": "center"}),
            "band": wb.add_format({**cell, "num_format": "General", "align": "center"}),
        }


def _shown(value: Decimal, style: str) -> str:
    """Roughly what a cell shows, for column widths."""
    if style == "rate":
        return f"{value * 100:.2f}%"
    if style in ("money", "score"):
        return f"{value:,.2f}"
    return f"{value:,}"


class _Sheet:
    """A worksheet that remembers how wide its columns need to be."""

    def __init__(self, wb: xlsxwriter.Workbook, name: str, fmt: _Formats):
        self.ws: Worksheet = wb.add_worksheet(name)
        self.fmt = fmt
        self.widths: dict[int, int] = defaultdict(lambda: 6)

    def fit(self, col: int, text: str, cap: int = 60) -> None:
        self.widths[col] = max(self.widths[col], min(display_width(text), cap))

    def text(self, row: int, col: int, value: str, f=None, fit: bool = True) -> None:
        self.ws.write_string(row, col, value, f or self.fmt.text)
        if fit:
            self.fit(col, value)

    def number(self, row: int, col: int, value: Decimal | None, style: str) -> None:
        f = self.fmt.number[style]
        if value is None:
            self.ws.write_blank(row, col, None, f)
        else:
            self.ws.write_number(row, col, value, f)
            self.fit(col, _shown(value, style))

    def header(self, row: int, col: int, value: str, last_row: int | None = None, last_col: int | None = None):
        if (last_row is not None and last_row != row) or (last_col is not None and last_col != col):
            self.ws.merge_range(row, col, last_row or row, last_col or col, value, self.fmt.header)
        else:
            self.ws.write_string(row, col, value, self.fmt.header)
            self.fit(col, value, cap=14)  # longer headers wrap

    def title(self, text: str, note: str, last_col: int) -> None:
        self.ws.merge_range(0, 0, 0, last_col, text, self.fmt.title)
        self.ws.merge_range(1, 0, 1, last_col, note, self.fmt.note)
        self.ws.set_row(0, 24)
        self.ws.set_row(1, 32)

    def finish(self, header_rows: int, first_data_row: int) -> None:
        for col, w in sorted(self.widths.items()):
            self.ws.set_column(col, col, w + 2)
        for r in range(2, 2 + header_rows):
            self.ws.set_row(r, 30)
        self.ws.freeze_panes(first_data_row, 2)
        self.ws.set_landscape()
        self.ws.set_paper(9)  # A4
        self.ws.fit_to_pages(1, 1)  # a table of 10 units and its chart: one page each
        self.ws.repeat_rows(2, first_data_row - 1)


def _title(figures: Figures, ctx: Context, what: str) -> str:
    rev = f"，第{ctx.revision}次修订" if ctx.revision else ""
    return f"{figures.period.label}{what}（{STATUS_NAMES[ctx.status]}{rev}）"


def _as_of_note(ctx: Context) -> str:
    return f"数据截至 {ctx.as_of:%Y-%m-%d %H:%M:%S}（北京时间）。"


def _unit_cells(sheet: _Sheet, row: int, unit: Unit) -> None:
    sheet.text(row, 0, unit.code)
    sheet.text(row, 1, unit.name)


# ---------------------------------------------------------------------------------------------


def _satisfaction_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_SATISFACTION, fmt)
    headers = ["单位代码", "单位名称", "满意及基本满意（件）", "参评回访（件）", "消费维权满意率", "得分", "排名"]
    s.title(
        _title(figures, ctx, "消费维权满意率"),
        _as_of_note(ctx) + "满意率 =（满意 + 基本满意）÷（满意 + 基本满意 + 不满意），无法联系及未回访不计；"
        "得分为各单位间 min–max 标准化（0–100），排名 1 为最高。",
        len(headers) - 1,
    )
    for c, h in enumerate(headers):
        s.header(2, c, h)
    first = FIRST_ROW["single"]
    for i, u in enumerate(figures.units):
        r = figures.row(u.code, "satisfaction_rate")
        _unit_cells(s, first + i, u)
        s.number(first + i, 2, r.numerator, "count")
        s.number(first + i, 3, r.denominator, "count")
        s.number(first + i, 4, r.value, "rate")
        s.number(first + i, 5, r.score, "score")
        s.number(first + i, 6, r.rank, "rank")
    last = first + len(figures.units) - 1

    chart = wb.add_chart({"type": "column"})
    chart.add_series({
        "name": "消费维权满意率",
        "categories": [s.ws.name, first, 1, last, 1],
        "values": [s.ws.name, first, 4, last, 4],
        "fill": {"color": "#2E75B6"},
        "data_labels": {"value": True, "num_format": "0.0%", "font": {"size": 8}},
    })
    chart.set_title({"name": f"{figures.period.label}消费维权满意率", "name_font": {"size": 12}})
    chart.set_y_axis({"num_format": "0%", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"none": True})
    chart.set_size({"width": 640, "height": 340})
    s.ws.insert_chart(last + 2, 0, chart)
    s.finish(1, first)


def _index_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_INDEX, fmt)
    subs = cat.INDEX_CODES[1:]
    last_col = 5 + 2 * len(subs)
    s.title(
        _title(figures, ctx, "消费环境指数"),
        _as_of_note(ctx) + "指数与分指数为 0–100 分（2 位小数），排名 1 为最高，得分相同（2 位小数）并列取最优名次；"
        "排名区间为各级权重在 ±25% 内随机扰动 1000 次所得名次的第 5 至第 95 百分位。",
        last_col,
    )
    s.header(2, 0, "单位代码", 3)
    s.header(2, 1, "单位名称", 3)
    s.header(2, 2, "消费环境指数", last_col=5)
    for c, h in enumerate(["得分", "排名", "排名区间下限（P5）", "排名区间上限（P95）"], start=2):
        s.header(3, c, h)
    for i, sub in enumerate(subs):
        col = 6 + 2 * i
        s.header(2, col, sub.name, last_col=col + 1)
        s.header(3, col, "得分")
        s.header(3, col + 1, "排名")
    first = FIRST_ROW["double"]
    for i, u in enumerate(figures.units):
        row = first + i
        cei = figures.row(u.code, "cei")
        _unit_cells(s, row, u)
        s.number(row, 2, cei.score, "score")
        s.number(row, 3, cei.rank, "rank")
        s.number(row, 4, cei.rank_p05, "band")
        s.number(row, 5, cei.rank_p95, "band")
        for j, sub in enumerate(subs):
            r = figures.row(u.code, sub.code)
            s.number(row, 6 + 2 * j, r.score, "score")
            s.number(row, 7 + 2 * j, r.rank, "rank")
    last = first + len(figures.units) - 1

    scores = wb.add_chart({"type": "column"})
    scores.add_series({
        "name": "消费环境指数",
        "categories": [s.ws.name, first, 1, last, 1],
        "values": [s.ws.name, first, 2, last, 2],
        "fill": {"color": "#2E75B6"},
        "data_labels": {"value": True, "num_format": "0.0", "font": {"size": 8}},
    })
    scores.set_title({"name": f"{figures.period.label}消费环境指数", "name_font": {"size": 12}})
    scores.set_y_axis({"min": 0, "max": 100, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    scores.set_x_axis({"num_font": {"size": 8}})
    scores.set_legend({"none": True})
    scores.set_size({"width": 560, "height": 340})
    s.ws.insert_chart(last + 2, 0, scores)

    # Rank with its uncertainty band: a high–low chart of the visible P95 / P5 / rank columns
    # (custom error bars with literal values are not drawn by LibreOffice).
    ranks = wb.add_chart({"type": "stock"})
    for name, col, marker in (("排名区间上限（P95）", 5, {"type": "dash", "size": 9}),
                              ("排名区间下限（P5）", 4, {"type": "dash", "size": 9}),
                              ("排名", 3, {"type": "diamond", "size": 9})):
        ranks.add_series({
            "name": name,
            "categories": [s.ws.name, first, 1, last, 1],
            "values": [s.ws.name, first, col, last, col],
            "line": {"none": True},
            "marker": {**marker, "fill": {"color": "#C00000" if col == 3 else "#7F7F7F"},
                       "border": {"color": "#C00000" if col == 3 else "#7F7F7F"}},
        })
    ranks.set_high_low_lines({"line": {"color": "#7F7F7F", "width": 1.5}})
    ranks.set_title({"name": "排名及不确定区间（P5–P95）", "name_font": {"size": 12}})
    n = max(len(figures.units), 1)
    ranks.set_y_axis({"reverse": True, "min": 1, "max": n, "major_unit": 1, "crossing": "max",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    ranks.set_x_axis({"num_font": {"size": 8}})
    ranks.set_legend({"none": True})
    ranks.set_size({"width": 560, "height": 340})
    s.ws.insert_chart(last + 2, 7, ranks)
    s.finish(2, first)


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
    last_col = 1 + sum(len(cols) for _, cols in layout)
    s = _Sheet(wb, sheet, fmt)
    s.title(
        _title(figures, ctx, sheet),
        _as_of_note(ctx) + "比率以百分比显示（CSV 中为 6 位小数）；得分为各单位间 min–max 标准化（0–100），"
        "排名 1 为最优（越低越好的指标以低者为优）；不计入指数的指标仅报告，不评分、不排名。分母为 0 的比率为空。",
        last_col,
    )
    s.header(2, 0, "单位代码", 3)
    s.header(2, 1, "单位名称", 3)
    col = 2
    for code, cols in layout:
        name = code.name if code.code in figures.scored else f"{code.name}（仅报告）"
        s.header(2, col, name, last_col=col + len(cols) - 1)
        for j, (h, _, _) in enumerate(cols):
            s.header(3, col + j, h)
        col += len(cols)
    first = FIRST_ROW["double"]
    for i, u in enumerate(figures.units):
        row = first + i
        _unit_cells(s, row, u)
        col = 2
        for code, cols in layout:
            r = figures.row(u.code, code.code)
            for j, (_, attr, style) in enumerate(cols):
                s.number(row, col + j, getattr(r, attr), style)
            col += len(cols)
    s.finish(2, first)


def _notes_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_NOTES, fmt)
    ws = s.ws
    p = figures.period
    widths = (30, 26, 16, 48, 66, 20, 8)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)

    def fit_height(r: int, cells: list[tuple[str, int]]) -> None:
        """Wrapped text does not grow its row by itself everywhere (LibreOffice, merged cells)."""
        lines = max((-(-display_width(t) // max(w - 2, 1)) for t, w in cells if t), default=1)
        if lines > 1:
            ws.set_row(r, 15 * lines)

    ws.write_string(0, 0, f"{p.label}消费环境评价考核数据（{STATUS_NAMES[ctx.status]}）说明", fmt.title)
    ws.set_row(0, 24)
    row = 2

    def section(title: str) -> None:
        nonlocal row
        ws.write_string(row, 0, title, fmt.section)
        row += 1

    def pairs(items: list[tuple[str, str]]) -> None:
        nonlocal row
        for k, v in items:
            ws.write_string(row, 0, k, fmt.key)
            ws.merge_range(row, 1, row, 4, v, fmt.wrap)
            fit_height(row, [(v, sum(widths[1:5]))])
            row += 1
        row += 1

    def table(headers: list[str], rows: list[list], styles: list[str] | None = None) -> None:
        nonlocal row
        for c, h in enumerate(headers):
            ws.write_string(row, c, h, fmt.header)
        row += 1
        for values in rows:
            for c, v in enumerate(values):
                style = styles[c] if styles else "text"
                if isinstance(v, Decimal | int) and not isinstance(v, bool):
                    ws.write_number(row, c, v, fmt.number[style if style in fmt.number else "count"])
                else:
                    ws.write_string(row, c, "" if v is None else str(v), getattr(fmt, style))
            fit_height(row, [(str(v), widths[c]) for c, v in enumerate(values) if styles and styles[c] == "wrap"])
            row += 1
        row += 1

    revision = "无（首次发布）" if not ctx.revision else f"第 {ctx.revision} 次修订，替代 {ctx.revises}"
    section("基本信息")
    pairs([
        ("期间", f"{p.text}（{p.label}）"),
        ("期间类型", PERIOD_TYPE_NAMES[p.type]),
        ("起止日期", f"{p.start.isoformat()} 至 {p.end.isoformat()}"),
        ("数据截至（as-of）", f"{ctx.as_of:%Y-%m-%d %H:%M:%S}（北京时间），流水线运行 {ctx.run_id}"),
        ("状态", f"{STATUS_NAMES[ctx.status]}（{ctx.status}）"
                 + (f"：部分法定时限按暂定工作日历计算（{ctx.status_reason}）" if ctx.status_reason else "")),
        ("工作日历", ctx.calendar or "—"),
        ("转为正式之日", f"{p.final_from.isoformat()}：期间结束后第 16 天起为正式，以数据截至日判断，不以生成时间判断；"
                       "正式数据发布后如有变化，另行发布修订版（.rev<N>），原文件不覆盖"),
        ("修订", revision),
        ("文件", f"{ctx.file_stem}.csv / .xlsx / .json（清单含各文件 SHA-256 与生成时间）"),
        ("平台版本", f"cei {ctx.version}"),
    ])

    section("口径")
    pairs([
        ("统计单位", "10 个考核单位：9 个设区市及平潭综合实验区（平潭不计入福州市）"),
        ("期间汇总", "季度、年度由月度分子、分母分别加总后再计算比率，不对月度比率求平均；企业数按整个期间去重"),
        ("比率", "分子 ÷ 分母，6 位小数（本表以百分比显示）；分母为 0 时为空，不为 0"),
        ("金额 / 件数", "金额 2 位小数（元），件数、企业数为整数；数值一律四舍五入（ROUND_HALF_UP）"),
        ("指标得分", "计入指数的指标在 10 个单位间 min–max 标准化至 0–100（越低越好的指标反向），"
                     "即指数计算所用得分；各单位相同则均为 100；无数值者无得分；其他指标仅报告，不评分"),
        ("指标排名", "按指标得分排名，1 为最优，得分（2 位小数）相同并列取最优名次（1, 2, 2, 4）"),
        ("指数排名", "消费环境指数及分指数的得分、排名、排名区间取自数据仓库 marts.mart_cei"),
    ])

    section("指标定义")
    defs = [
        [c.code, c.name, c.sheet, c.numerator, c.denominator or "—", BETTER_NAMES[c.better],
         "是" if c.code in figures.scored else "否"]
        for c in cat.CODES
    ]
    table(["代码", "名称", "所在工作表", "分子 / 定义", "分母", "方向", "评分"], defs,
          ["text", "text", "text", "wrap", "wrap", "text", "text"])

    if ctx.revision:
        section(f"修订内容（相对 {ctx.revises}）")
        units = {u.code: u.name for u in figures.units}
        diffs = [
            [d.unit, units.get(d.unit, ""), d.code, cat.BY_CODE[d.code].name if d.code in cat.BY_CODE else "",
             FIELD_NAMES.get(d.field, d.field), d.old, d.new]
            for d in ctx.differences
        ]
        table(["单位代码", "单位名称", "指标代码", "指标名称", "项目", "原值", "新值"], diffs)

    section("数据来源文件（meta.load_files 中行业务日期落在本期间的入库批次）")
    files = [
        [f.file_id, f.feed, f.delivery_date.isoformat(), f.file_name, f.sha256 or "", f.rows_loaded, f.run_id]
        for f in ctx.sources
    ]
    table(["批次号", "数据源", "交付日期", "文件名", "SHA-256", "入库行数", "运行"], files,
          ["count", "text", "text", "wrap", "mono", "count", "count"])

    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


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
    _notes_sheet(wb, fmt, figures, ctx)
    wb.close()
    return buf.getvalue()
