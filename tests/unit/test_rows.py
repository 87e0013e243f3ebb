"""Row classification: quarantine codes, field warnings, personal data masking."""

import json

from cei.feeds import FEEDS
from cei.ingest.rows import Parsed, Quarantined, RowContext, masked_original, parse_record
from cei.reference import valid_region_codes

CTX = RowContext(valid_region_codes(), b"secret")
HOTLINE = FEEDS["hotline"]


def hotline(**overrides):
    row = {
        "工单编号": "GD1",
        "诉求类型": "投诉",
        "来源渠道": "12315热线",
        "登记时间": "2026-03-01 09:00",
        "受理时间": "2026-03-02 09:00",
        "办结时间": "2026-03-10 09:00",
        "更新时间": "2026-03-10 09:00",
        "行政区划代码": "350128",
        "承办单位": "平潭局",
        "被诉主体": "某店",
        "统一社会信用代码": "",
        "商品服务类别": "食品",
        "是否涉旅": "否",
        "争议金额": "1,000.00",
        "挽回经济损失": "800",
        "办理结果": "调解成功",
        "回访结果": "满意",
        "消费者姓名": "张三",
        "消费者电话": "13800138000",
    }
    row.update(overrides)
    return row


def test_clean_row_parses_without_personal_data():
    out = parse_record(HOTLINE, hotline(), CTX)
    assert isinstance(out, Parsed) and out.warnings == []
    assert "consumer_name" not in out.values
    assert out.values["consumer_phone_hmac"] != "13800138000"
    assert out.values["region_code"] == "350128"


def test_row_defects_get_reason_codes():
    cases = {
        "missing_required": hotline(工单编号="  "),
        "bad_enum": hotline(诉求类型="建议"),
        "unknown_region": hotline(行政区划代码="110101"),
        "bad_timestamp": hotline(办结时间="2026-13-01 10:00"),
        "negative_value": hotline(挽回经济损失="-5"),
        "closed_before_registered": hotline(办结时间="2026-02-28 10:00"),
    }
    for code, record in cases.items():
        out = parse_record(HOTLINE, record, CTX)
        assert isinstance(out, Quarantined) and out.reason_code == code, (code, out)


def test_field_defects_null_the_field_and_warn():
    out = parse_record(HOTLINE, hotline(统一社会信用代码="91350100MA2YQ1234X", 争议金额="about 5"), CTX)
    assert isinstance(out, Parsed)
    assert out.values["respondent_uscc"] is None and out.values["disputed_amount"] is None
    assert sorted(out.warnings) == ["bad_number:disputed_amount", "bad_uscc:respondent_uscc"]


def test_optional_column_absent_from_header_reads_as_empty():
    record = hotline()
    del record["是否涉旅"]
    out = parse_record(HOTLINE, record, CTX)
    assert isinstance(out, Parsed) and out.values["is_tourism"] is False


def test_quarantine_original_masks_personal_data():
    original = masked_original(HOTLINE, hotline(), CTX)
    assert "消费者姓名" not in original and "消费者电话" not in original
    assert "张三" not in str(original) and "13800138000" not in str(original)
    assert original["工单编号"] == "GD1"


def test_quarantine_original_keeps_json_nan_and_infinity_as_text():
    """jsonb has no NaN or Infinity: as numbers they made PostgreSQL refuse the whole file."""
    record = json.loads('{"dispute_id": "ODR1", "amount": Infinity, "closed_at": NaN, "region_code": 350128.0}')
    original = masked_original(FEEDS["odr"], record, CTX)
    assert original == {"dispute_id": "ODR1", "amount": "inf", "closed_at": "nan", "region_code": 350128.0}
    json.dumps(original, allow_nan=False)


def test_quarantine_original_of_a_misshaped_row_masks_shifted_personal_data(tmp_path):
    """A field added or lost earlier in a CSV row moves the name and phone under other headers
    (or among the extra fields): they are still never kept as delivered."""
    from cei.ingest.readers import open_records

    header = ",".join(hotline())
    good = list(hotline(争议金额="1000").values())  # no comma inside a field: the rows are joined by hand
    added = [*good[:10], "多出的一列", *good[10:]]  # phone ends among the extra fields
    lost = good[:10] + good[11:]  # name under 回访结果, phone under 消费者姓名
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([header, ",".join(added), ",".join(lost)]) + "\n", encoding="utf-8")
    with open_records(HOTLINE, path, 1 << 20) as opened:
        records = list(opened.records)
    assert [r.defect for r in records] == ["bad_row_shape", "bad_row_shape"]
    for rec in records:
        original = masked_original(HOTLINE, rec.values, CTX)
        assert "张三" not in str(original) and "13800138000" not in str(original), original
        assert original["工单编号"] == "GD1"


def test_copy_values_follow_the_stored_columns():
    record = hotline(登记时间="2026-03-01 09:00:00", 受理时间="2026/3/2 9:00", 统一社会信用代码="bad")
    out = parse_record(HOTLINE, record, CTX)
    assert isinstance(out, Parsed)
    names = [c.name for c in HOTLINE.stored_columns]
    copied = dict(zip(names, out.copy_values, strict=True))
    assert copied["registered_at"] == "2026-03-01 09:00:00" and copied["accepted_at"] == "2026-03-02T09:00:00+08:00"
    assert {k: val for k, val in copied.items() if not k.endswith("_at")} == {
        k: val for k, val in out.values.items() if not k.endswith("_at")}
