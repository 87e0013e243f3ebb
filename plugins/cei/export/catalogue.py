"""What the export publishes, in the order it publishes it: the 17 indicators of indicators.md
(code, Chinese name, kind, direction, definitions, workbook sheet), then the index `cei` and its
four sub-indices.

This is presentation data of the export, taken from the spec's tables. The index weights are not
here: the index is computed by dbt (`marts.mart_cei`) and the export only publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["rate", "money", "count", "index"]
Better = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class Code:
    code: str
    name: str  # Chinese name as in indicators.md (CSV `indicator_name`, workbook headers)
    kind: Kind  # rate: 6 decimals; money: 2 decimals; count: integer; index: score, 2 decimals
    better: Better  # which way is better (indicators.md); none: reported, not scored
    sheet: str  # the workbook sheet (indicator family) showing it
    numerator: str = ""  # definitions, for the workbook's 说明 sheet
    denominator: str = ""


# Workbook sheets, one per indicator family. 消费者满意 is the headline sheet 消费维权满意率.
SHEET_SATISFACTION = "消费维权满意率"
SHEET_INDEX = "消费环境指数"
SHEET_EFFICIENCY = "维权效能"
SHEET_SOURCE = "源头治理"
SHEET_QUALITY = "商品质量"
SHEET_RETURNS = "无理由退货"
SHEET_TREND = "趋势"  # quarters and years: the headline rate and the index by month
SHEET_AUDIT = "指数审计"
SHEET_NOTES = "说明"
SHEET_SOURCES = "数据来源"

WO = "工单（最新状态）"

INDICATORS: tuple[Code, ...] = (
    Code("satisfaction_rate", "消费维权满意率", "rate", "higher", SHEET_SATISFACTION,
         f"P内办结、回访结果为满意或基本满意的{WO}",
         f"P内办结、回访结果为满意、基本满意或不满意的{WO}（无法联系及未回访不计）"),
    Code("complaint_accept_ontime_rate", "投诉按时受理率", "rate", "higher", SHEET_EFFICIENCY,
         "P内登记、在7个工作日时限内作出受理决定的投诉",
         "P内登记的投诉，不含截至统计时点尚未决定且时限未到的"),
    Code("complaint_close_ontime_rate", "投诉按时办结率", "rate", "higher", SHEET_EFFICIENCY,
         "已受理投诉中P内办结且自受理时间起45个工作日内办结的",
         "已受理投诉中P内办结的，加上截至统计时点仍未办结且45个工作日时限落在P内的"),
    Code("mediation_success_rate", "调解成功率", "rate", "higher", SHEET_EFFICIENCY,
         "P内办结、办理结果为调解成功的投诉",
         "P内办结、办理结果为调解成功或调解终止的投诉"),
    Code("report_verify_ontime_rate", "举报按时核查率", "rate", "higher", SHEET_EFFICIENCY,
         "P内登记、自登记时间起15个工作日内办结为已立案或不予立案的举报",
         "P内登记的举报，不含截至统计时点仍未办结且时限未到的"),
    Code("recovered_loss_yuan", "挽回经济损失（元）", "money", "higher", SHEET_EFFICIENCY,
         f"P内办结{WO}的挽回经济损失之和"),
    Code("tourism_complaints", "旅游投诉件数", "count", "none", SHEET_EFFICIENCY,
         "P内登记、是否涉旅为是的投诉件数"),
    Code("odr_share", "ODR源头化解占比", "rate", "higher", SHEET_SOURCE,
         "P内结案、状态为和解成功的ODR纠纷",
         "上述分子加上P内办结的投诉"),
    Code("odr_settle_rate", "ODR和解成功率", "rate", "higher", SHEET_SOURCE,
         "P内结案、状态为和解成功的ODR纠纷",
         "P内结案的ODR纠纷（和解成功、和解失败、转行政调解）"),
    Code("odr_ontime_rate", "ODR按时处理率", "rate", "higher", SHEET_SOURCE,
         "P内结案、自提交时间起10个工作日内结案的ODR纠纷",
         "P内结案的ODR纠纷"),
    Code("odr_active_enterprises", "ODR活跃企业数", "count", "none", SHEET_SOURCE,
         "P内有纠纷提交的不同企业数（按整个期间去重）"),
    Code("return_enterprises", "无理由退货企业数", "count", "none", SHEET_RETURNS,
         "报送月份在P内的不同企业数（按整个期间去重）"),
    Code("return_items", "无理由退货件数", "count", "none", SHEET_RETURNS,
         "报送月份在P内的退货件数之和"),
    Code("return_refund_yuan", "无理由退货退款金额（元）", "money", "none", SHEET_RETURNS,
         "报送月份在P内的退款金额之和"),
    Code("inspection_fail_rate", "抽检不合格率", "rate", "lower", SHEET_QUALITY,
         "P内抽样、检验结论为不合格的批次", "P内抽样的批次"),
    Code("inspection_fail_rate_online", "网络抽检不合格率", "rate", "lower", SHEET_QUALITY,
         "P内抽样、销售渠道为网络平台、检验结论为不合格的批次", "P内抽样、销售渠道为网络平台的批次"),
    Code("inspection_fail_rate_offline", "实体店抽检不合格率", "rate", "lower", SHEET_QUALITY,
         "P内抽样、销售渠道为实体店、检验结论为不合格的批次", "P内抽样、销售渠道为实体店的批次"),
)

INDEX_CODES: tuple[Code, ...] = (
    Code("cei", "消费环境指数", "index", "higher", SHEET_INDEX,
         "四个分指数按权重的加权平均，权重在该单位已有的分指数上重新归一（权重为局方维护的配置数据）"),
    Code("cei_efficiency", "维权效能", "index", "higher", SHEET_INDEX,
         "投诉按时受理率、投诉按时办结率、举报按时核查率、调解成功率得分的加权平均"),
    Code("cei_satisfaction", "消费者满意", "index", "higher", SHEET_INDEX, "消费维权满意率得分"),
    Code("cei_source", "源头治理", "index", "higher", SHEET_INDEX,
         "ODR源头化解占比、ODR和解成功率、ODR按时处理率得分的加权平均"),
    Code("cei_quality", "商品质量", "index", "higher", SHEET_INDEX, "抽检不合格率得分（越低越好）"),
)

CODES: tuple[Code, ...] = INDICATORS + INDEX_CODES
BY_CODE: dict[str, Code] = {c.code: c for c in CODES}

# Family sheets after the headline and the index, in workbook order.
FAMILY_SHEETS: tuple[str, ...] = (SHEET_EFFICIENCY, SHEET_SOURCE, SHEET_QUALITY, SHEET_RETURNS)


def codes_of_sheet(sheet: str) -> tuple[Code, ...]:
    return tuple(c for c in CODES if c.sheet == sheet)
