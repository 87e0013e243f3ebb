"""hotline — 12315 / 12345 work orders (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind, not_before

OUTCOMES = ("调解成功", "调解终止", "撤回投诉", "不予受理", "已立案", "不予立案", "已答复")
CALLBACKS = ("满意", "基本满意", "不满意", "无法联系")

FEED = Feed(
    name="hotline",
    format="csv",
    table="hotline_work_orders",
    columns=(
        Column("工单编号", "work_order_id", required=True),
        Column("诉求类型", "kind", Kind.ENUM, required=True, choices=("咨询", "投诉", "举报")),
        Column("来源渠道", "channel"),
        Column("登记时间", "registered_at", Kind.TIMESTAMP, required=True),
        Column("受理时间", "accepted_at", Kind.TIMESTAMP),
        Column("办结时间", "closed_at", Kind.TIMESTAMP),
        Column("更新时间", "updated_at", Kind.TIMESTAMP, required=True),
        Column("行政区划代码", "region_code", Kind.REGION, required=True),
        Column("承办单位", "handling_unit"),
        Column("被诉主体", "respondent_name"),
        Column("统一社会信用代码", "respondent_uscc", Kind.USCC),
        Column("商品服务类别", "category"),
        Column("是否涉旅", "is_tourism", Kind.FLAG),
        Column("争议金额", "disputed_amount", Kind.DECIMAL, non_negative=True),
        Column("挽回经济损失", "recovered_loss", Kind.DECIMAL, non_negative=True),
        Column("办理结果", "outcome", Kind.ENUM, choices=OUTCOMES),
        Column("回访结果", "callback", Kind.ENUM, choices=CALLBACKS),
        Column("消费者姓名", "consumer_name", Kind.NAME),
        Column("消费者电话", "consumer_phone_hmac", Kind.PHONE),
    ),
    business_key=("work_order_id",),
    newest_wins="updated_at",
    row_checks=(
        not_before("closed_at", "registered_at", "closed_before_registered"),
        not_before("accepted_at", "registered_at", "accepted_before_registered"),
    ),
)
