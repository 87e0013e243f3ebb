"""Value parsers: every accepted form, every defect code, and properties over generated input."""

import hmac
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from cei.ingest import values as v
from cei.settings import LOCAL_TZ

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    "text",
    ["2026-03-05 09:05:33", "2026/03/05 09:05:33", "2026-03-05 09:05:33 ", " 2026/3/5 9:05:33"],
)
def test_timestamp_forms_with_seconds(text):
    assert v.parse_timestamp(text) == datetime(2026, 3, 5, 9, 5, 33, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", ["2026-03-05 09:05", "2026/3/5 9:05", "2026/03/05 09:05"])
def test_timestamp_forms_without_seconds(text):
    assert v.parse_timestamp(text) == datetime(2026, 3, 5, 9, 5, tzinfo=SHANGHAI)


def test_iso_timestamp_with_offset_keeps_the_instant():
    assert v.parse_timestamp("2026-03-15T01:12:33Z") == datetime(2026, 3, 15, 9, 12, 33, tzinfo=SHANGHAI)
    assert v.parse_timestamp("2026-03-15T09:12:33+08:00").utcoffset() == timedelta(hours=8)


def test_naive_timestamps_are_shanghai_local_time():
    assert v.parse_timestamp("2026-03-31 23:30").tzinfo == LOCAL_TZ


@pytest.mark.parametrize(
    "text", ["2026-02-30 10:00", "2026-03-05", "yesterday", "2026-03-05 25:00", "05/03/2026 10:00"]
)
def test_bad_timestamps(text):
    with pytest.raises(v.Defect) as e:
        v.parse_timestamp(text)
    assert e.value.code == "bad_timestamp"


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    )
)
def test_timestamp_round_trips_through_every_written_form(d):
    expected = d.replace(tzinfo=LOCAL_TZ)
    assert v.parse_timestamp(d.strftime("%Y-%m-%d %H:%M:%S")) == expected
    assert v.parse_timestamp(d.strftime("%Y/%m/%d %H:%M:%S")) == expected
    assert v.parse_timestamp(f"{d.year}/{d.month}/{d.day} {d.hour}:{d:%M}:{d:%S}") == expected
    assert v.parse_timestamp(d.strftime("%Y-%m-%d %H:%M")) == expected.replace(second=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        (" 12 ", Decimal(12)),
        ("-3.5", Decimal("-3.5")),
        (7, Decimal(7)),
        (2.5, Decimal("2.5")),
        ("1,234,567", Decimal(1234567)),
    ],
)
def test_decimal_forms(text, expected):
    assert v.parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["1,23.4", "12a", "１２", "1.2.3", ",5", float("nan")])
def test_bad_decimals(text):
    with pytest.raises(v.Defect):
        v.parse_decimal(text)


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_decimal_with_thousands_separators_round_trips(x):
    assert v.parse_decimal(f"{x:,}") == x
    assert v.parse_decimal(f"  {x}  ") == x


@given(st.text())
def test_decimal_parser_never_fails_other_than_by_defect(text):
    try:
        v.parse_decimal(text)
    except v.Defect:
        pass


@given(st.text())
def test_timestamp_parser_never_fails_other_than_by_defect(text):
    try:
        v.parse_timestamp(text)
    except v.Defect:
        pass


def test_integer_rejects_fractions():
    assert v.parse_integer("1,200") == 1200
    with pytest.raises(v.Defect):
        v.parse_integer("1.5")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03", date(2026, 3, 1)),
        ("2026年3月", date(2026, 3, 1)),
        ("2026年12月", date(2026, 12, 1)),
        (datetime(2026, 3, 17), date(2026, 3, 1)),
        (date(2026, 3, 17), date(2026, 3, 1)),
        ("2026/3/17", date(2026, 3, 1)),
    ],
)
def test_month_forms(raw, expected):
    assert v.parse_month(raw) == expected


@pytest.mark.parametrize("raw", ["2026-13", "2026年13月", "March", "2026-3-40"])
def test_bad_months(raw):
    with pytest.raises(v.Defect) as e:
        v.parse_month(raw)
    assert e.value.code == "bad_month"


def test_dates():
    assert v.parse_date("2026/3/15") == v.parse_date("2026-03-15") == date(2026, 3, 15)
    with pytest.raises(v.Defect):
        v.parse_date("2026-02-29")


def test_text_is_trimmed_and_full_width_kept():
    assert v.clean_text("  ＡＢＣ公司（福州） ") == "ＡＢＣ公司（福州）"
    assert v.clean_text("   ") is None


def test_enum_and_flag():
    assert v.parse_enum(" 投诉 ", ("投诉", "举报")) == "投诉"
    with pytest.raises(v.Defect):
        v.parse_enum("建议", ("投诉", "举报"))
    assert v.parse_flag("") is False and v.parse_flag("否") is False and v.parse_flag("是") is True
    with pytest.raises(v.Defect):
        v.parse_flag("Y")


def test_region():
    valid = frozenset({"350128", "350100"})
    assert v.parse_region("350128", valid) == "350128"
    assert v.parse_region(350128.0, valid) == "350128"
    with pytest.raises(v.Defect) as e:
        v.parse_region("110101", valid)
    assert e.value.code == "unknown_region"


@given(
    st.builds(
        str.__add__,
        st.text(alphabet="0123456789", min_size=8, max_size=8),
        st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
    )
)
def test_uscc_accepts_exactly_the_valid_check_digit(body):
    good = body + uscc.calc_check_digit(body)
    assert v.parse_uscc(good) == good
    assert v.parse_uscc(good.lower()) == good
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[-1])
    with pytest.raises(v.Defect):
        v.parse_uscc(body + wrong)


def test_phone_hash_is_keyed_and_format_insensitive():
    a = v.keyed_phone_hash("138 0013 8000", b"k1")
    assert a == v.keyed_phone_hash("+86 13800138000", b"k1") == v.keyed_phone_hash("13800138000", b"k1")
    assert a != v.keyed_phone_hash("13800138000", b"k2")
    assert a == hmac.new(b"k1", b"13800138000", "sha256").hexdigest()  # plain HMAC-SHA256 of the digits
    assert "13800138000" not in a and len(a) == 64


def test_absurd_numbers_are_defects_not_overflows():
    with pytest.raises(v.Defect):
        v.parse_decimal(1e300)
    with pytest.raises(v.Defect):
        v.parse_decimal("123456789012345678901")
    assert v.parse_decimal("999,999,999,999.99") == Decimal("999999999999.99")


def test_timestamp_copy_text_names_the_same_instant():
    """COPY reads an offset-less text as Asia/Shanghai wall-clock time; any other form is sent as
    ISO 8601 with its offset (cei.ingest.load sets the session's zone)."""
    assert v.timestamp_for_copy("2026-03-05 09:05:33") == (
        datetime(2026, 3, 5, 9, 5, 33, tzinfo=LOCAL_TZ), "2026-03-05 09:05:33")
    assert v.timestamp_for_copy("2026-03-05 09:05") == (datetime(2026, 3, 5, 9, 5, tzinfo=LOCAL_TZ), "2026-03-05 09:05")
    dt, text = v.timestamp_for_copy("2026/3/5 9:05")
    assert datetime.fromisoformat(text) == dt == datetime(2026, 3, 5, 9, 5, tzinfo=SHANGHAI)
    dt, text = v.timestamp_for_copy("2026-03-15T01:12:33Z")
    assert datetime.fromisoformat(text) == dt and dt.utcoffset() == timedelta(0)
    assert v.timestamp_for_copy(datetime(2026, 3, 5, 9, 5))[1] == "2026-03-05T09:05:00+08:00"
    assert v.timestamp_for_copy("  ") is None
