"""hotline — 12315 / 12345 work orders (docs/feeds.md)."""

from cei.feeds.model import Column, Feed, Kind, not_before

OUTCOMES = ("调解成功", "调解终止", "撤回投诉", "不予受理", "已立案", "不予立案", "已答复")
CALLBACKS = ("满意", "基本满意", "不满意", "无法联系")

FEED = Feed(
    name="hotline",
    format="csv",
    table="hotline_work_orders",
    columns=(
        Column("工单编号", "work_order_id", required=True, doc="business key"),
        Column("诉求类型", "kind", Kind.ENUM, required=True, choices=("咨询", "投诉", "举报"),
               doc="what the consumer came for"),
        Column("来源渠道", "channel", doc="intake channel (free text)"),
        Column("登记时间", "registered_at", Kind.TIMESTAMP, required=True, doc="registered at (timestamptz)"),
        Column("受理时间", "accepted_at", Kind.TIMESTAMP,
               doc="acceptance decision (受理 or 不予受理) at (timestamptz)"),
        Column("办结时间", "closed_at", Kind.TIMESTAMP, doc="closed at (timestamptz)"),
        Column("更新时间", "updated_at", Kind.TIMESTAMP, required=True,
               doc="record last updated at; newest wins across deliveries"),
        Column("行政区划代码", "region_code", Kind.REGION, required=True,
               doc="handling region (county or prefecture code)"),
        Column("承办单位", "handling_unit", doc="handling unit (free text)"),
        Column("被诉主体", "respondent_name", doc="respondent (a business) name"),
        Column("统一社会信用代码", "respondent_uscc", Kind.USCC, doc="respondent USCC, null when missing or invalid"),
        Column("商品服务类别", "category", doc="goods/service category"),
        Column("是否涉旅", "is_tourism", Kind.FLAG, doc="tourism-related (empty = 否 = false)"),
        Column("争议金额", "disputed_amount", Kind.DECIMAL, non_negative=True, gate="warning",
               doc="disputed amount, yuan"),
        Column("挽回经济损失", "recovered_loss", Kind.DECIMAL, non_negative=True, doc="recovered loss, yuan"),
        Column("办理结果", "outcome", Kind.ENUM, choices=OUTCOMES, doc="outcome; null while open"),
        Column("回访结果", "callback", Kind.ENUM, choices=CALLBACKS,
               doc="satisfaction callback; null when there was none"),
        Column("消费者姓名", "consumer_name", Kind.NAME),
        Column("消费者电话", "consumer_phone_hmac", Kind.PHONE,
               doc="personal data, keyed HMAC only; must never reach marts"),
    ),
    business_key=("work_order_id",),
    description="12315 / 12345 热线工单, one row per loaded version of a work order",
    newest_wins="updated_at",
    row_checks=(
        not_before("closed_at", "registered_at", "closed_before_registered"),
        not_before("accepted_at", "registered_at", "accepted_before_registered"),
    ),
)
