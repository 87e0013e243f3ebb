"""趋势 (quarters and years): the headline rate and the index by unit and month."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter

from cei.export import catalogue as cat
from cei.export.figures import Figures
from cei.export.trend import Trend
from cei.export.workbook.context import Context
from cei.export.workbook.page import _axis, _Formats, _Sheet, _unit_cells
from cei.export.workbook.words import NO_DATA, _as_of_note, _percent, _title

# ---------------------------------------------------------------------------------------------
# 趋势


UNIT_COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F",
               "#BCBD22", "#17BECF")


def _trend_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_TREND, fmt, figures, ctx)
    trend = ctx.trend
    s.title(
        _title(figures, ctx, "按月趋势"),
        _as_of_note(figures, ctx) + "各月数字为该月月度口径（与该月导出文件一致）：消费维权满意率为当月分子 ÷ 分母，"
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
