"""Row classification: quarantine codes, field warnings, personal data masking."""

import json

from builders import csv_bytes, row

from cei.feeds import FEEDS
from cei.ingest.rows import Parsed, Quarantined, RowContext, masked_original, parse_record
from cei.reference import valid_region_codes

CTX = RowContext(valid_region_codes(), b"secret")
HOTLINE = FEEDS["hotline"]


# What the assertions below look for; every other column is the builder's valid default.
CLEAN = dict(work_order_id="GD1", registered_at="2026-03-01 09:00", region_code="350128", consumer_name="张三",
             consumer_phone_hmac="13800138000")


def hotline(**values):
    """A valid work order (keyed by header text); `values` by warehouse column name."""
    return row(HOTLINE, **{**CLEAN, **values})


def test_clean_row_parses_without_personal_data():
    out = parse_record(HOTLINE, hotline(), CTX)
    assert isinstance(out, Parsed) and out.warnings == []
    assert "consumer_name" not in out.values
    assert out.values["consumer_phone_hmac"] != "13800138000"
    assert out.values["region_code"] == "350128"


def test_row_defects_get_reason_codes():
    cases = {
        "missing_required": hotline(work_order_id="  "),
        "bad_enum": hotline(kind="建议"),
        "unknown_region": hotline(region_code="110101"),
        "bad_timestamp": hotline(closed_at="2026-13-01 10:00"),
        "negative_value": hotline(recovered_loss="-5"),
        "closed_before_registered": hotline(closed_at="2026-02-28 10:00"),
    }
    for code, record in cases.items():
        out = parse_record(HOTLINE, record, CTX)
        assert isinstance(out, Quarantined) and out.reason_code == code, (code, out)


def test_field_defects_null_the_field_and_warn():
    out = parse_record(HOTLINE, hotline(respondent_uscc="91350100MA2YQ1234X", disputed_amount="about 5"), CTX)
    assert isinstance(out, Parsed)
    assert out.values["respondent_uscc"] is None and out.values["disputed_amount"] is None
    assert sorted(out.warnings) == ["bad_number:disputed_amount", "bad_uscc:respondent_uscc"]


def test_optional_column_absent_from_header_reads_as_empty():
    record = hotline()
    del record[HOTLINE.column("is_tourism").source]
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

    good = list(hotline().values())
    added = [*good[:10], "多出的一列", *good[10:]]  # phone ends among the extra fields
    lost = good[:10] + good[11:]  # name under 回访结果, phone under 消费者姓名
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(HOTLINE, [added, lost]))
    with open_records(HOTLINE, path, 1 << 20) as opened:
        records = list(opened.records)
    assert [r.defect for r in records] == ["bad_row_shape", "bad_row_shape"]
    for rec in records:
        original = masked_original(HOTLINE, rec.values, CTX)
        assert "张三" not in str(original) and "13800138000" not in str(original), original
        assert original["工单编号"] == "GD1"


def test_copy_values_follow_the_stored_columns():
    record = hotline(registered_at="2026-03-01 09:00:00", accepted_at="2026/3/2 9:00", respondent_uscc="bad")
    out = parse_record(HOTLINE, record, CTX)
    assert isinstance(out, Parsed)
    names = [c.name for c in HOTLINE.stored_columns]
    copied = dict(zip(names, out.copy_values, strict=True))
    assert copied["registered_at"] == "2026-03-01 09:00:00" and copied["accepted_at"] == "2026-03-02T09:00:00+08:00"
    assert {k: val for k, val in copied.items() if not k.endswith("_at")} == {
        k: val for k, val in out.values.items() if not k.endswith("_at")}
