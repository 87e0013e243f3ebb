"""The columnar path types every row exactly as the reference parser does, and the loader's
row_hash is PostgreSQL's own md5 of the typed row.

Each file is staged twice — through the columnar path and with every row through the reference
parser (`stage_file(..., columnar=False)`) — and both spools are COPYed into the real warehouse:
they must hold the same rows, value for value (typed columns, row_hash, warnings, reason codes,
masked originals), and every row's row_hash must be `md5(row(...)::text)` of what PostgreSQL
stored (cei.ingest.row_hash).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import psycopg
import pytest
from builders import csv_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from cei import settings as cfg
from cei import synthetic, warehouse
from cei.feeds import FEEDS
from cei.feeds.model import Feed
from cei.ingest.load import Staged, copy_spool, hash_prefix, stage_file
from cei.ingest.rows import RowContext
from cei.reference import valid_region_codes

CTX = RowContext(valid_region_codes(), b"test-secret")
HOTLINE = FEEDS["hotline"]
DELIVERED = date(2026, 3, 4)


def spooled(conn: psycopg.Connection, feed: Feed, staged: Staged) -> tuple[list[tuple], list[tuple]]:
    """The staged rows and quarantined rows as PostgreSQL reads them, after checking row_hash."""
    names = [c.name for c in feed.stored_columns]
    columns = sql.SQL(", ").join(map(sql.Identifier, ["source_row", "row_hash", "warnings", *names]))
    conn.execute("drop table if exists spool_rows, spool_bad")
    conn.execute(sql.SQL("create temporary table spool_rows as select {}, 0 as x from {} limit 0").format(
        columns, sql.Identifier(cfg.RAW, feed.table)))
    conn.execute("create temporary table spool_bad (source_row int, q_code text, q_detail text, original jsonb, x int)")
    copy_spool(conn, sql.SQL("copy spool_rows from stdin"), staged.rows, "0")
    copy_spool(conn, sql.SQL("copy spool_bad from stdin"), staged.quarantine, "0")
    typed_row = sql.SQL(", ").join([*map(sql.Literal, hash_prefix(feed, DELIVERED)), *map(sql.Identifier, names)])
    wrong = conn.execute(sql.SQL("select source_row, row_hash from spool_rows where row_hash <> md5(row({})::text)")
                         .format(typed_row), prepare=False).fetchall()
    assert wrong == [], "row_hash is not PostgreSQL's md5 of the typed row"
    return (conn.execute("select * from spool_rows order by source_row", prepare=False).fetchall(),
            conn.execute("select * from spool_bad order by source_row", prepare=False).fetchall())


def assert_same_both_ways(conn: psycopg.Connection, feed_name: str, path: Path, spool: Path) -> list[tuple]:
    feed = FEEDS[feed_name]
    columnar = stage_file(feed, path, DELIVERED, CTX, 1 << 16, spool)
    reference = stage_file(feed, path, DELIVERED, CTX, 1 << 16, spool, columnar=False)
    assert (columnar.defect, columnar.encoding) == (reference.defect, reference.encoding)
    if columnar.rows is None:
        return []
    (by_column, bad_by_column), (by_row, bad_by_row) = spooled(conn, feed, columnar), spooled(conn, feed, reference)
    assert len(by_column) == len(by_row)
    for a, b in zip(by_column, by_row, strict=True):
        assert a == b
    assert bad_by_column == bad_by_row
    counts = (columnar.rows_read, columnar.rows_quarantined, columnar.rows_warned)
    assert counts == (reference.rows_read, reference.rows_quarantined, reference.rows_warned)
    assert columnar.rows_read == len(by_column) + len(bad_by_column)
    return by_column


@pytest.fixture
def conn(warehouse_url: str):
    with warehouse.connect(autocommit=True) as c:
        yield c


def test_generated_deliveries_with_defects_stage_the_same_both_ways(conn, tmp_path):
    synthetic.generate(tmp_path / "landing", scale=3000, seed=7, start=date(2026, 3, 2), days=3, defect_rate=0.3)
    files = [(feed, path) for feed in FEEDS for path in sorted((tmp_path / "landing" / feed).rglob("*.*"))]
    assert {feed for feed, _ in files} == set(FEEDS)
    (tmp_path / "spool").mkdir()
    staged = 0
    for feed, path in files:
        rows = assert_same_both_ways(conn, feed, path, tmp_path / "spool")
        staged += len(rows)
    assert staged > 3000


# Values in their commonest forms, in the other forms the parsers accept, and defective.
TIMESTAMPS = st.sampled_from([
    "2026-03-15 09:12", "2026-03-15 09:12:33", "2026/03/15 09:12:33", "2026/3/5 9:05", "2026-03-15T09:12:33+08:00",
    "2026-03-15 09:12:33.5", "2026-03-14 23:59:59Z", "2026-02-30 10:00", "2026-03-15 24:00", "2026-13-01 10:00",
    "2026-03-15 9:12", " 2026-03-16 08:00 ", "2026-03-10 08:00", "", "soon", "２０２６-03-15 09:12",
    "1988-06-01 10:00", "1900-01-01 00:00:00",  # Asia/Shanghai's daylight saving time, its local mean time
    "2026/3/15 9:12", "2026/03/15 09:12:33", "2026-3-15 9:1", "2026/3/15 9:12\n2026/3/15 9:12",
])
AMOUNTS = st.sampled_from(["", "0", "12", "12.50", "0012.5", "00.50", "1,234.50", "1,2345", "12\n34", "-5", "-0.00",
                           "1e3", "999999999999999", "1000000000000000", " 7 ", "12,34", "3.14159265358979323846"])
TEXTS = st.text(alphabet=st.sampled_from(list("平潭局店\\\t\r\n\"', a　(),")), max_size=8)
USCCS = st.sampled_from(["", "91350100MA2YQ1234X", "91350102316330645C", "91350102316330645c", "bad"])
PHONES = st.sampled_from(["", "13912345678", "139 1234 5678", "+86 139-1234-5678", "008613912345678", "12345"])
# A row that loads: every value valid, in any accepted form (rows with a defect take the reference path).
EARLY = st.sampled_from(["1900-01-01 00:00:00", "1988-06-01 10:00", "2026-03-01 08:00", "2026/3/1 8:00"])
LATER = st.sampled_from(["", "1988-06-01 10:30", "2026-03-15 09:12", "2026-03-15 09:12:33", "2026-03-15T09:12:33+08:00",
                         "2026/3/15 9:12", "2026/03/15 09:12:33", "2026-3-5 10:00",
                         "2026-03-15 09:12:33.25", "2026-03-14 23:59:59Z"])
VALID_AMOUNTS = st.sampled_from(["", "0", "12", "12.50", "0012.5", "00.50", "000", "1,234.50", "0,123", " 7 ", "-0.00",
                                 "1,234,567,890,123,456.5"])
KINDS = HOTLINE.column("kind").choices  # 诉求类型's accepted values


@st.composite
def hotline_rows(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):
        return [
            draw(st.sampled_from(["GD1", "GD2", " GD3 "])), draw(st.sampled_from(KINDS)),
            draw(TEXTS), draw(EARLY), draw(LATER), draw(LATER), draw(LATER.filter(bool)),
            draw(st.sampled_from(["350128", " 350203 "])), draw(TEXTS), draw(TEXTS),
            draw(st.sampled_from(["", "91350100MA2YQ1234X", "91350102316330645c"])), draw(TEXTS),
            draw(st.sampled_from(["是", "否", ""])), draw(VALID_AMOUNTS), draw(VALID_AMOUNTS),
            draw(st.sampled_from(["调解成功", ""])), draw(st.sampled_from(["满意", ""])),
            draw(st.sampled_from(["张三", ""])), draw(PHONES),
        ]
    return [
        draw(st.sampled_from(["GD1", "GD2", " GD3 ", ""])),
        draw(st.sampled_from([*KINDS, "建议", ""])),
        draw(TEXTS),
        draw(TIMESTAMPS), draw(TIMESTAMPS), draw(TIMESTAMPS), draw(TIMESTAMPS),
        draw(st.sampled_from(["350128", "350102", "110101", " 350203 ", ""])),
        draw(TEXTS), draw(TEXTS), draw(USCCS), draw(TEXTS),
        draw(st.sampled_from(["是", "否", "", "Y"])),
        draw(AMOUNTS), draw(AMOUNTS),
        draw(st.sampled_from(["调解成功", "已答复", "", "成功"])),
        draw(st.sampled_from(["满意", "不满意", ""])),
        draw(st.sampled_from(["张三", ""])),
        draw(PHONES),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(hotline_rows(), min_size=1, max_size=30), shape=st.sampled_from([0, 1, -1]))
def test_any_hotline_rows_stage_the_same_both_ways(conn, tmp_path, rows, shape):
    if shape:  # one row with a field added or lost
        rows[0] = [*rows[0], "多余"] if shape > 0 else rows[0][:-1]
    path = tmp_path / "rows.csv"
    path.write_bytes(csv_bytes(HOTLINE, rows))
    (tmp_path / "spool").mkdir(exist_ok=True)
    assert_same_both_ways(conn, "hotline", path, tmp_path / "spool")


ODR_TIMESTAMPS = st.sampled_from([
    "2025-08-05T15:15:17+08:00", "2025-08-25T10:43:57+08:00", "2025-08-25 10:43", "1988-06-01T10:00:00+08:00",
    "2025-08-25T02:43:57Z", "2025-08-25T10:43:57.5+08:00", "2025-08-25T10:43:57+0800", "2025-02-30T10:00:00+08:00",
    "2025-08-25T10:43:57+08:00 ", "", None, 20250825, "soon",
])
# JSON values of every type where a string is expected, and strings where a number is.
JSON_VALUES = {
    "dispute_id": st.sampled_from(["ODR1", "ODR2", " ODR3 ", "", None, 4, 4.5, True, ["ODR5"]]),
    "enterprise_uscc": st.sampled_from(["91350100MA2YQ1234X", "91350102316330645c", "bad", None, 91350100]),
    "enterprise_name": st.one_of(TEXTS, st.sampled_from([None, 12, 1.5, False, {"名": "店"}])),
    "region_code": st.sampled_from([350128, "350128", " 350203 ", 350128.0, 350128.5, "110101", None, True]),
    "status": st.sampled_from(["处理中", "和解成功", "转行政调解", "成功", None, 1]),
    "amount": st.sampled_from([232.33, 100.0, 0, 12, "12.50", "1,234.50", -5, -0.0, 1e16, 1e-05, 3.14159265358979,
                               "", None, True, "nan", float("inf")]),
}


@st.composite
def odr_lines(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", "not json", "[1, 2]", '{"dispute_id": "ODR9"']))
    record = {key: draw(values) for key, values in JSON_VALUES.items()}
    record |= {key: draw(ODR_TIMESTAMPS) for key in ("filed_at", "closed_at", "updated_at")}
    if draw(st.booleans()):  # a record that loads: valid values in the forms delivered
        record |= {"dispute_id": draw(st.sampled_from(["ODR1", "ODR2"])), "enterprise_uscc": "91350100MA2YQ1234X",
                   "region_code": draw(st.sampled_from([350128, "350128"])), "status": "和解成功",
                   "filed_at": "2025-08-05T15:15:17+08:00", "updated_at": "2025-08-25T10:54:57+08:00",
                   "closed_at": draw(st.sampled_from([None, "2025-08-25T10:43:57+08:00", "2025-08-25 10:43"]))}
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=2, unique=True)):
        del record[key]  # a key left out
    if draw(st.booleans()):
        record["extra"] = "多余"
    return json.dumps(record, ensure_ascii=draw(st.booleans()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(odr_lines(), min_size=1, max_size=30))
def test_any_odr_lines_stage_the_same_both_ways(conn, tmp_path, lines):
    path = tmp_path / "odr.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "spool").mkdir(exist_ok=True)
    assert_same_both_ways(conn, "odr", path, tmp_path / "spool")
