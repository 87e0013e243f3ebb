"""odr — online consumer dispute resolution (在线消费纠纷解决) disputes (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind, not_before

FEED = Feed(
    name="odr",
    format="jsonl",
    table="odr_disputes",
    columns=(
        Column("dispute_id", "dispute_id", required=True),
        Column("enterprise_uscc", "enterprise_uscc", Kind.USCC, required=True),
        Column("enterprise_name", "enterprise_name"),
        Column("region_code", "region_code", Kind.REGION, required=True),
        Column("filed_at", "filed_at", Kind.TIMESTAMP, required=True),
        Column("closed_at", "closed_at", Kind.TIMESTAMP),
        Column("status", "status", Kind.ENUM, required=True,
               choices=("处理中", "和解成功", "和解失败", "转行政调解")),
        Column("amount", "amount", Kind.DECIMAL, non_negative=True),
        Column("updated_at", "updated_at", Kind.TIMESTAMP, required=True),
    ),
    business_key=("dispute_id",),
    newest_wins="updated_at",
    row_checks=(not_before("closed_at", "filed_at", "closed_before_filed"),),
)
