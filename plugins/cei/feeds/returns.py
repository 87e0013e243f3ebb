"""returns — offline no-reason-return (线下无理由退货) monthly reports (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind

FEED = Feed(
    name="returns",
    format="xlsx",
    table="return_reports",
    columns=(
        Column("企业名称", "enterprise_name"),
        Column("统一社会信用代码", "enterprise_uscc", Kind.USCC, required=True),
        Column("行政区划代码", "region_code", Kind.REGION, required=True),
        Column("报送月份", "report_month", Kind.MONTH, required=True),
        Column("承诺日期", "committed_on", Kind.DATE),
        Column("退货件数", "return_items", Kind.INTEGER, required=True, non_negative=True),
        Column("退款金额（元）", "refund_amount", Kind.DECIMAL, required=True, non_negative=True),
    ),
    business_key=("enterprise_uscc", "report_month"),
    # A later report for the same enterprise and month replaces the earlier one: delivery order
    # decides, as a report carries no update timestamp of its own.
    newest_wins=None,
    header_marker="统一社会信用代码",
)
