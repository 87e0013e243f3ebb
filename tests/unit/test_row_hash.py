"""Record texts as PostgreSQL writes them. That the loader's hash equals PostgreSQL's own on loaded
rows is tests/integration/test_ingest_columnar.py; these pin the forms no delivery there reaches."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from cei.ingest.row_hash import plain_number, quoted, record_field, row_hash, timestamp_text


def test_numbers_as_numeric_writes_them():
    assert [record_field(Decimal(x)) for x in ("1E+3", "1E-7", "-0.00", "12.50", "-3")] == [
        "1000", "0.0000001", "0.00", "12.50", "-3"]
    assert [plain_number(x) for x in ("0012.5", "00.50", "000", "7", "0")] == ["12.5", "0.50", "0", "7", "0"]
    assert record_field(7) == "7" and record_field(True) == "t" and record_field(False) == "f"


def test_timestamps_in_shanghai_with_their_offset():
    utc = datetime(2026, 3, 14, 23, 59, 59, 250000, tzinfo=UTC)
    assert timestamp_text(utc) == "2026-03-15 07:59:59.25+08"
    assert timestamp_text(datetime(1988, 6, 1, 2, 0, tzinfo=UTC)) == "1988-06-01 11:00:00+09"  # DST
    assert timestamp_text(datetime(1900, 1, 1, tzinfo=timezone(timedelta(hours=8)))) == "1900-01-01 00:05:43+08:05:43"
    assert record_field(utc) == '"2026-03-15 07:59:59.25+08"' and record_field(date(2026, 3, 1)) == "2026-03-01"


def test_texts_quoted_only_when_record_out_would():
    assert quoted("平潭局") == "平潭局" and quoted("") == '""'
    assert quoted('a "b" (c), \\d') == '"a ""b"" (c), \\\\d"'
    assert record_field(None) == "" and row_hash(["a", ""]) == row_hash(["a", ""]) != row_hash(["a", '""'])
