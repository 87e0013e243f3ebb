"""What the workbook says in words: status and period names, notes, titles."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from cei.export.catalogue import Code
from cei.export.figures import Figures, Row, Rules
from cei.export.workbook.context import Context

STATUS_NAMES = {"provisional": "暂定", "final": "正式"}
PERIOD_TYPE_NAMES = {"month": "月度", "quarter": "季度", "year": "年度"}
BETTER_NAMES = {"higher": "越高越好", "lower": "越低越好", "none": "—（仅报告，不评分）"}
NOTE_NAMES = {"insufficient_data": "数据不足", "insufficient_coverage": "覆盖不足", "too_few_units": "参评单位不足"}
FEED_NAMES = {"hotline": "12315热线工单", "odr": "ODR在线纠纷", "returns": "无理由退货报送",
              "inspection": "产品质量抽检"}
FIRST_ROW = {"single": 3, "double": 4}  # data start below title, note and header rows
NO_DATA = "无数据"


def _title(figures: Figures, ctx: Context, what: str) -> str:
    rev = f"，第{ctx.revision}次修订" if ctx.revision else ""
    return f"{figures.period.label}{what}（{STATUS_NAMES[ctx.status]}{rev}）"


def provisional_causes(figures: Figures, ctx: Context) -> list[str]:
    """Why the period is provisional whatever the date, in words (Context.status_reason: the same
    in the pipeline's words)."""
    causes = []
    if ctx.calendar_provisional:
        causes.append("部分法定时限按暂定工作日历计算")
    if missing := figures.feeds_without_data():
        causes.append(f"数据源{'、'.join(FEED_NAMES.get(f, f) for f in missing)}本期没有任何数据")
    return causes


def _as_of_note(figures: Figures, ctx: Context) -> str:
    """The note under every sheet's title: the as-of, and why a provisional period cannot be final."""
    note = f"数据截至 {ctx.as_of:%Y-%m-%d %H:%M:%S}（北京时间）。"
    causes = provisional_causes(figures, ctx) if ctx.status == "provisional" else []
    return note + (f"本期不能转为正式：{'；'.join(causes)}。" if causes else "")


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


def _percent(x: Decimal) -> str:
    return f"{(x * 100).normalize():f}%"
