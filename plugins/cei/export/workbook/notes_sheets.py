"""说明 (status, rules, definitions, revision) and 数据来源 (feed coverage, source files)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import xlsxwriter

from cei.export import catalogue as cat
from cei.export.figures import Figures
from cei.export.revisions import FIELD_NAMES
from cei.export.workbook.context import Context
from cei.export.workbook.page import NUMBER_FORMATS, _Formats, _Sheet, _table_block, _unit_cells
from cei.export.workbook.words import (
    BETTER_NAMES,
    FEED_NAMES,
    NOTE_NAMES,
    PERIOD_TYPE_NAMES,
    STATUS_NAMES,
    _as_of_note,
    _percent,
    _title,
    note_meaning,
    provisional_causes,
)

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
                for c in figures.catalogue.indicators if c.code in rules.min_denominator]
        table(["指标代码", "指标名称", "最低分母", "说明"], mins, ["text", "wrap", "count", "wrap"])
    s.paragraph("备注的含义（各工作表中底色标出的单元格及「备注」列）：")
    table(["备注", "代码", "含义"], [[name, note, note_meaning(note, rules, figures.catalogue.indicators)]
                                     for note, name in NOTE_NAMES.items()], ["key", "text", "wrap"])

    s.section("指标定义")
    defs = [
        [c.code, c.name, c.sheet, c.numerator, c.denominator or "—", BETTER_NAMES[c.better],
         "是" if c.code in figures.scored else "否"]
        for c in figures.catalogue.codes
    ]
    table(["代码", "名称", "所在工作表", "分子 / 定义", "分母", "方向", "评分"], defs,
          ["text", "wrap", "text", "wrap", "wrap", "wrap", "text"])

    if ctx.revision:
        s.section(f"修订内容（相对 {ctx.revises}）")
        units = {u.code: u.name for u in figures.units}
        by_code = figures.catalogue.by_code
        diffs = [
            [d.unit, units.get(d.unit, ""), d.code, by_code[d.code].name if d.code in by_code else "",
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
    causes = provisional_causes(figures, ctx)
    because = f"，因为{'；'.join(causes)}" if causes else ""
    return f"{status}：仍为暂定{because}（{ctx.status_reason}）"


SOURCES_WIDTHS = (10, 16) + (11,) * 11  # a grid both tables fit: merged cells span it


def _sources_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, figures: Figures, ctx: Context) -> None:
    s = _Sheet(wb, cat.SHEET_SOURCES, fmt, figures, ctx)
    for col, width in enumerate(SOURCES_WIDTHS):
        s.width(col, width)
    s.title(_title(figures, ctx, "数据来源"),
            _as_of_note(figures, ctx) + "本期数字所依据的数据：各数据源对各单位的覆盖情况，"
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
