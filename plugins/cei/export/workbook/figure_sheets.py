"""The sheets of the figures: 消费维权满意率, 消费环境指数 and one per indicator family."""

from __future__ import annotations

import xlsxwriter
from xlsxwriter.chart import Chart

from cei.export import catalogue as cat
from cei.export.catalogue import Code
from cei.export.figures import Figures
from cei.export.workbook.context import Context
from cei.export.workbook.page import _axis, _footnotes, _Formats, _Sheet, _unit_cells
from cei.export.workbook.words import FIRST_ROW, NO_DATA, _as_of_note, _mark, _remark, _title


def _column_chart(s: _Sheet, name: str, rows_col: tuple[int, int, int], label_format: str, title: str,
                  y_axis: dict) -> Chart:
    """A column chart of one column of the sheet's table by unit name (column 1), rows first–last."""
    first, last, col = rows_col
    chart = s.wb.add_chart({"type": "column"})
    chart.add_series({
        "name": name,
        "categories": [s.name, first, 1, last, 1],
        "values": [s.name, first, col, last, col],
        "fill": {"color": "#2E75B6"},
        "data_labels": {"value": True, "num_format": label_format, "font": {"size": 10}},
    })
    chart.set_title({"name": title, "name_font": {"size": 12}})
    chart.set_y_axis(_axis(y_axis))
    chart.set_x_axis({"num_font": {"size": 11}})
    chart.set_legend({"none": True})
    return chart


def _satisfaction_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_SATISFACTION, fmt, figures, ctx)
    code = figures.catalogue.by_code["satisfaction_rate"]
    s.title(
        _title(figures, ctx, "消费维权满意率"),
        _as_of_note(figures, ctx) + "满意率 =（满意 + 基本满意）÷（满意 + 基本满意 + 不满意），无法联系及未回访不计；"
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
        chart = _column_chart(s, "消费维权满意率", (first, last, 4), "0.0%",
                              f"{figures.period.label}消费维权满意率（纵轴自 0 起）",
                              {"num_format": "0%", "min": 0, "max": 1, "major_unit": 0.2})
        s.chart(chart, 330)
    s.finish(freeze=(first, 2), table=(2, 2, last))


INDEX_COLUMNS = (  # 消费环境指数 group: header, Row attribute (None: the coverage), style
    ("得分", "score", "score"), ("排名", "rank", "rank"), ("模拟排名中位数", "rank_p50", "band"),
    ("排名区间 P5", "rank_p05", "band"), ("排名区间 P95", "rank_p95", "band"),
    ("指标覆盖率", None, "share"),
)


def _index_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_INDEX, fmt, figures, ctx)
    subs = figures.catalogue.sub_indices
    sub0 = 2 + len(INDEX_COLUMNS)  # first sub-index column
    remark_col = sub0 + 2 * len(subs)
    s.title(
        _title(figures, ctx, "消费环境指数"),
        _as_of_note(figures, ctx) + "指数与分指数为 0–100 分（2 位小数），排名 1 为最高，"
        "得分相同（2 位小数）并列取最优名次；各级权重在 ±25% 内随机扰动 1000 次，"
        "模拟排名中位数及排名区间（第 5 至第 95 百分位）表示名次的不确定性。",
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
    _footnotes(s, notes, figures.catalogue.indicators, ["指标覆盖率：该单位有得分的指标所占指数总权重的比例。"])
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

    scores = _column_chart(s, "消费环境指数", (first, last, 2), "0.0",
                           f"{figures.period.label}消费环境指数（有得分的单位，纵轴 0–100）",
                           {"min": 0, "max": 100, "major_unit": 20})
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
    codes = figures.catalogue.of_sheet(sheet)
    layout = [(c, _columns_of(c, figures.scored)) for c in codes]
    remark_col = 2 + sum(len(cols) for _, cols in layout)
    s = _Sheet(wb, sheet, fmt, figures, ctx)
    s.title(
        _title(figures, ctx, sheet),
        _as_of_note(figures, ctx) + "比率以百分比显示（CSV 中为 6 位小数）；得分为各单位间 min–max 标准化（0–100），"
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
