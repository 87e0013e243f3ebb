"""The columnar path on its own: what it keeps, what it types through the reference parser, what
it hands back. That kept rows equal the reference parser's is tests/integration/test_ingest_columnar.py."""

from builders import header, row

from cei.feeds import FEEDS
from cei.ingest.columnar import ColumnarParser
from cei.ingest.rows import RowContext
from cei.reference import valid_region_codes

CTX = RowContext(valid_region_codes(), b"secret")
HOTLINE = FEEDS["hotline"]
HEADER = header(HOTLINE)
# A valid work order in the commonest forms: what the assertions below look for, the builder's
# defaults for every other column.
CLEAN = dict(work_order_id="GD1", registered_at="2026-03-01 09:00", accepted_at="2026-03-02 09:00:00", closed_at="",
             respondent_name="某店\\分店", is_tourism="否", disputed_amount="1000.00", consumer_name="张三",
             consumer_phone_hmac="13800138000")
PARSER = ColumnarParser.for_file(HOTLINE, CTX, HEADER)


def fields(**changes: str) -> list[str]:
    """The clean row's fields in header order; `changes` by warehouse column name."""
    return list(row(HOTLINE, **{**CLEAN, **changes}).values())


def stored(line: str) -> dict[str, str]:
    names = [c.name for c in HOTLINE.stored_columns]
    stage = ["source_row", "row_hash", "warnings", *names]
    return dict(zip(stage, line.split("\t"), strict=True))


def test_rows_in_their_commonest_forms_are_kept_as_delivered():
    text, others = PARSER.parse([(2, fields()), (3, fields(work_order_id="GD2"))])
    assert others == []
    first, second = (stored(line) for line in text.splitlines())
    assert (first["source_row"], second["work_order_id"]) == ("2", "GD2")
    assert first["warnings"] == "{}" and first["closed_at"] == "\\N"
    assert len(first["row_hash"]) == 32 and first["row_hash"] != second["row_hash"]
    assert first["registered_at"] == "2026-03-01 09:00" and first["disputed_amount"] == "1000.00"
    assert first["respondent_name"] == "某店\\\\分店"  # COPY's escape for a backslash
    assert first["is_tourism"] == "f" and first["consumer_phone_hmac"] not in ("13800138000", "\\N")
    assert "张三" not in text


def test_slashes_unpadded_digits_and_thousands_separators_are_brought_to_the_commonest_form():
    loose = fields(registered_at="2026/3/1 9:00", accepted_at="2026/03/02 09:00:05", disputed_amount="1,000.50")
    text, others = PARSER.parse([(2, loose), (3, fields(registered_at="2026-3-1 9:0"))])  # minutes need two digits
    assert others == [1]
    row = stored(text.strip())
    assert (row["registered_at"], row["accepted_at"]) == ("2026-03-01 09:00", "2026-03-02 09:00:05")
    assert row["disputed_amount"] == "1000.50"


def test_iso_timestamps_at_plus_eight_are_wall_clock_time_from_1992_on():
    iso = fields(updated_at="1988-06-01T10:00:00+08:00", accepted_at="2026-03-02T09:00:00+08:00")
    text, others = PARSER.parse([(2, iso), (3, fields())])
    assert others == []
    row, plain = (stored(line) for line in text.splitlines())
    assert row["accepted_at"] == "2026-03-02 09:00:00" == plain["accepted_at"]
    # Daylight saving time in 1988: +08:00 was not the wall clock, so the reference parser types it.
    assert row["updated_at"] == "1988-06-01T10:00:00+08:00"
    same_instant = stored(PARSER.parse([(2, fields(accepted_at="2026-03-02T09:00:00+08:00"))])[0].strip())
    assert same_instant["row_hash"] == plain["row_hash"]


def test_other_accepted_forms_are_typed_by_the_reference_parser():
    odd = fields(registered_at="2026-03-01T09:00+08:00", disputed_amount="1,000.50",
                 consumer_phone_hmac="+86 138-0013-8000")
    text, others = PARSER.parse([(2, odd)])
    assert others == []
    row = stored(text.strip())
    assert row["registered_at"] == "2026-03-01T09:00:00+08:00" and row["disputed_amount"] == "1000.50"
    plain = stored(PARSER.parse([(2, fields())])[0].strip())
    assert row["consumer_phone_hmac"] == plain["consumer_phone_hmac"]
    same_instant = stored(PARSER.parse([(2, fields(registered_at="2026-03-01T09:00+08:00"))])[0].strip())
    assert same_instant["registered_at"] != plain["registered_at"] and same_instant["row_hash"] == plain["row_hash"]


def test_rows_with_any_defect_are_handed_back_whole():
    batch = [
        (2, fields()),
        (3, fields(kind="建议")),  # bad_enum
        (4, fields(work_order_id=" ")),  # missing_required
        (5, fields(disputed_amount="about 5")),  # a field warning: the reference parser decides it
        (6, fields(closed_at="2026-02-28 10:00")),  # closed before registered
        (7, fields(accepted_at="2026-02-30 09:00")),  # in form, not a date
        (8, fields(registered_at="1988-09-11 01:30", accepted_at="1988-09-11 01:45")),  # wall clock went back an hour
        (9, fields()[:-1]),  # bad_row_shape
    ]
    text, others = PARSER.parse(batch)
    assert [line.split("\t")[0] for line in text.splitlines()] == ["2"]
    assert others == [1, 2, 3, 4, 5, 6, 7]


def test_feeds_with_kinds_it_does_not_type_are_left_to_the_reference_parser():
    returns = FEEDS["returns"]  # a reporting month
    assert ColumnarParser.for_file(returns, CTX, header(returns)) is None
    assert ColumnarParser.for_file(FEEDS["inspection"], CTX, header("inspection"))
