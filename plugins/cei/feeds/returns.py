"""returns — offline no-reason-return (线下无理由退货) monthly reports (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind

FEED = Feed(
    name="returns",
    format="xlsx",
    table="return_reports",
    columns=(
        Column("企业名称", "enterprise_name", doc="enterprise name"),
        Column("统一社会信用代码", "enterprise_uscc", Kind.USCC, required=True,
               doc="enterprise; business key with report_month"),
        Column("行政区划代码", "region_code", Kind.REGION, required=True, doc="region"),
        Column("报送月份", "report_month", Kind.MONTH, required=True,
               doc="reporting month, stored as its first day; business key with enterprise_uscc"),
        Column("承诺日期", "committed_on", Kind.DATE, doc="date the enterprise committed to no-reason returns"),
        Column("退货件数", "return_items", Kind.INTEGER, required=True, non_negative=True, doc="returns in the month"),
        Column("退款金额（元）", "refund_amount", Kind.DECIMAL, required=True, non_negative=True,
               doc="refunds in the month, yuan"),
    ),
    business_key=("enterprise_uscc", "report_month"),
    # A later report for the same enterprise and month replaces the earlier one: delivery order
    # decides, as a report carries no update timestamp of its own.
    newest_wins=None,
    header_marker="统一社会信用代码",
    description="线下无理由退货月报, one row per loaded version of an enterprise-month report",
    freshness_days=(40, 62),  # one workbook per reporting unit per month, after the month ends
)
