"""The columnar path types every row exactly as the reference parser does.

Each file is staged twice into the real warehouse — through the columnar path and with every row
through the reference parser (`stage_file(..., columnar=False)`) — and the two stage tables must
hold the same rows, value for value: typed columns, warnings, reason codes, masked originals.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from cei import settings as cfg
from cei import synthetic, warehouse
from cei.feeds import FEEDS
from cei.ingest.load import Staged, reset_stage, stage_file
from cei.ingest.rows import RowContext
from cei.reference import valid_region_codes

CTX = RowContext(valid_region_codes(), b"test-secret")
HOTLINE = FEEDS["hotline"]


def staged_rows(conn: psycopg.Connection, staged: Staged) -> list[tuple]:
    table = sql.Identifier(cfg.INGEST_STAGE, staged.table)
    rows = conn.execute(sql.SQL("select * from {} order by source_row").format(table)).fetchall()
    conn.execute(sql.SQL("drop table {}").format(table))
    return rows


def assert_same_both_ways(conn: psycopg.Connection, feed_name: str, path: Path) -> list[tuple]:
    feed = FEEDS[feed_name]
    columnar = stage_file(conn, feed, path, CTX, 1 << 16)
    reference = stage_file(conn, feed, path, CTX, 1 << 16, columnar=False)
    assert (columnar.defect, columnar.encoding) == (reference.defect, reference.encoding)
    if columnar.table is None:
        return []
    by_column, by_row = staged_rows(conn, columnar), staged_rows(conn, reference)
    assert len(by_column) == len(by_row)
    for a, b in zip(by_column, by_row, strict=True):
        assert a == b
    return by_column


@pytest.fixture
def conn(warehouse_url: str):
    with warehouse.connect(autocommit=True) as c:
        reset_stage(c)
        yield c


def test_generated_deliveries_with_defects_stage_the_same_both_ways(conn, tmp_path):
    synthetic.generate(tmp_path, scale=3000, seed=7, start=date(2026, 3, 2), days=3, defect_rate=0.3)
    files = sorted((tmp_path / "hotline").rglob("*.csv")) + sorted((tmp_path / "inspection").rglob("*.csv"))
    assert len(files) >= 4
    staged = 0
    for path in files:
        rows = assert_same_both_ways(conn, path.parent.parent.name, path)
        staged += len(rows)
    assert staged > 3000


# Values in their commonest forms, in the other forms the parsers accept, and defective.
TIMESTAMPS = st.sampled_from([
    "2026-03-15 09:12", "2026-03-15 09:12:33", "2026/03/15 09:12:33", "2026/3/5 9:05", "2026-03-15T09:12:33+08:00",
    "2026-03-15 09:12:33.5", "2026-03-14 23:59:59Z", "2026-02-30 10:00", "2026-03-15 24:00", "2026-13-01 10:00",
    "2026-03-15 9:12", " 2026-03-16 08:00 ", "2026-03-10 08:00", "", "soon", "２０２６-03-15 09:12",
])
AMOUNTS = st.sampled_from(["", "0", "12", "12.50", "0012.5", "1,234.50", "-5", "1e3", "999999999999999",
                           "1000000000000000", " 7 ", "12,34", "3.14159265358979323846"])
TEXTS = st.text(alphabet=st.sampled_from(list("平潭局店\\\t\r\n\"', a　")), max_size=8)
USCCS = st.sampled_from(["", "91350100MA2YQ1234X", "91350102316330645C", "91350102316330645c", "bad"])
PHONES = st.sampled_from(["", "13912345678", "139 1234 5678", "+86 139-1234-5678", "008613912345678", "12345"])


@st.composite
def hotline_rows(draw: st.DrawFn) -> list[str]:
    return [
        draw(st.sampled_from(["GD1", "GD2", " GD3 ", ""])),
        draw(st.sampled_from(["投诉", "咨询", "举报", "建议", ""])),
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
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(c.source for c in HOTLINE.columns)
    writer.writerows(rows)
    path = tmp_path / "rows.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    assert_same_both_ways(conn, "hotline", path)
