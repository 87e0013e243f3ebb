"""inspection — product-quality sampling inspections (流通领域商品质量抽检) (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind

FEED = Feed(
    name="inspection",
    format="csv",
    table="inspection_samples",
    columns=(
        Column("抽样单编号", "sample_id", required=True, doc="business key"),
        Column("抽样日期", "sampled_on", Kind.DATE, required=True, doc="sampled on (local date)"),
        Column("行政区划代码", "region_code", Kind.REGION, required=True, doc="region"),
        Column("商品类别", "product_category", doc="product category"),
        Column("销售渠道", "channel", Kind.ENUM, required=True, choices=("实体店", "网络平台"),
               doc="sales channel: a store (offline) or an online platform"),
        Column("平台名称", "platform_name", doc="platform for online samples"),
        Column("被抽样单位", "enterprise_name", doc="sampled enterprise name"),
        Column("统一社会信用代码", "enterprise_uscc", Kind.USCC, doc="sampled enterprise USCC"),
        Column("检验结论", "result", Kind.ENUM, required=True, choices=("合格", "不合格"), doc="inspection conclusion"),
        Column("不合格项目", "failed_items", doc="failed test items, `;`-separated"),
        Column("更新时间", "updated_at", Kind.TIMESTAMP, required=True,
               doc="newest wins (a re-test may overturn a result)"),
    ),
    business_key=("sample_id",),
    newest_wins="updated_at",
    description="流通领域商品质量抽检, one row per loaded version of a sampled batch",
    freshness_days=(14, 45),  # sampling campaigns deliver in batches, not every night
)
