"""odr — online consumer dispute resolution (在线消费纠纷解决) disputes (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind, not_before

FEED = Feed(
    name="odr",
    format="jsonl",
    table="odr_disputes",
    columns=(
        Column("dispute_id", "dispute_id", required=True, doc="business key"),
        Column("enterprise_uscc", "enterprise_uscc", Kind.USCC, required=True, doc="the ODR enterprise"),
        Column("enterprise_name", "enterprise_name", doc="enterprise name"),
        Column("region_code", "region_code", Kind.REGION, required=True, doc="enterprise region"),
        Column("filed_at", "filed_at", Kind.TIMESTAMP, required=True, doc="filed by the consumer at (timestamptz)"),
        Column("closed_at", "closed_at", Kind.TIMESTAMP, doc="closed at (timestamptz), null while open"),
        Column("status", "status", Kind.ENUM, required=True,
               choices=("处理中", "和解成功", "和解失败", "转行政调解"), doc="dispute status"),
        Column("amount", "amount", Kind.DECIMAL, non_negative=True, gate="warning", doc="disputed amount, yuan"),
        Column("updated_at", "updated_at", Kind.TIMESTAMP, required=True, doc="newest wins across deliveries"),
    ),
    business_key=("dispute_id",),
    description="ODR 在线消费纠纷, one row per loaded version of a dispute",
    newest_wins="updated_at",
    row_checks=(not_before("closed_at", "filed_at", "closed_before_filed"),),
)
