"""inspection — product-quality sampling inspections (流通领域商品质量抽检) (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind

FEED = Feed(
    name="inspection",
    format="csv",
    table="inspection_samples",
    columns=(
        Column("抽样单编号", "sample_id", required=True),
        Column("抽样日期", "sampled_on", Kind.DATE, required=True),
        Column("行政区划代码", "region_code", Kind.REGION, required=True),
        Column("商品类别", "product_category"),
        Column("销售渠道", "channel", Kind.ENUM, required=True, choices=("实体店", "网络平台")),
        Column("平台名称", "platform_name"),
        Column("被抽样单位", "enterprise_name"),
        Column("统一社会信用代码", "enterprise_uscc", Kind.USCC),
        Column("检验结论", "result", Kind.ENUM, required=True, choices=("合格", "不合格")),
        Column("不合格项目", "failed_items"),
        Column("更新时间", "updated_at", Kind.TIMESTAMP, required=True),
    ),
    business_key=("sample_id",),
    newest_wins="updated_at",
)
