"""Hostile input: every case gets a clear rejection (or loads safely), and nothing else breaks.

No SQL is ever built from input text: file names, headers and values travel as parameters or
COPY data, so a name or header written as SQL is just text.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from builders import csv_bytes, deliver, header, jsonl_bytes, row

from cei import pipeline, warehouse

DAY = "2026-07-01"
GOOD = csv_bytes("hotline", [row("hotline")])  # one valid work order


def _ingest(landing: Path) -> dict:
    return pipeline.ingest(pipeline.start(str(landing), [DAY]))


def _files(conn) -> dict[str, tuple[str, str | None]]:
    return {r[0]: (r[1], r[2]) for r in conn.execute("select file_name, status, reason from meta.load_files")}


@pytest.mark.parametrize(
    "name",
    [
        "with space.csv",
        "工单 导出（最终版）.csv",
        "a;rm -rf $HOME`x`.csv",
        "x'); drop table raw.hotline_work_orders;--.csv",
        "a..b.csv",
        "$(reboot).csv",
    ],
)
def test_strange_file_names_are_just_names(warehouse_url, tmp_path, name):
    deliver(tmp_path, "hotline", DAY, name, GOOD)
    assert _ingest(tmp_path)["per_feed"]["hotline"]["rows_loaded"] == 1
    with warehouse.connect() as conn:
        assert _files(conn) == {name: ("loaded", None)}
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 1


def test_files_outside_the_delivery_folder_are_never_read(warehouse_url, tmp_path):
    (tmp_path / "hotline" / DAY).mkdir(parents=True)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(GOOD)
    (tmp_path / "hotline" / DAY / "link.csv").symlink_to(outside)
    (tmp_path / "hotline" / DAY / "up").symlink_to(tmp_path, target_is_directory=True)
    _ingest(tmp_path)
    with warehouse.connect() as conn:
        assert _files(conn) == {
            "link.csv": ("ignored", "symbolic link: not followed"),
            "up": ("ignored", "symbolic link: not followed"),
        }
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 0


def _rejected(landing: Path, feed: str, name: str, content: bytes) -> str:
    deliver(landing, feed, DAY, name, content)
    _ingest(landing)
    with warehouse.connect() as conn:
        status, reason = _files(conn)[name]
    assert status == "rejected", reason
    assert reason.startswith(f"{feed}/{DAY}/{name}: ") and "\n" not in reason
    return reason


def test_header_written_as_sql_is_only_text(warehouse_url, tmp_path):
    sql_header = 'x" text); drop table meta.load_files; --'  # in the file: "x"" text); drop …; --"
    content = csv_bytes("hotline", [row("hotline") | {sql_header: "y"}], columns=[*header("hotline"), sql_header])
    deliver(tmp_path, "hotline", DAY, "a.csv", content)
    assert _ingest(tmp_path)["per_feed"]["hotline"]["rows_loaded"] == 1  # an unknown extra column is ignored
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 1


def test_ten_thousand_columns(warehouse_url, tmp_path):
    columns = [*header("hotline"), *(f"c{i}" for i in range(10_000))]
    reason = _rejected(tmp_path, "hotline", "wide.csv", csv_bytes("hotline", [], columns=columns))
    assert "too many columns: 10019" in reason


def test_one_fifty_megabyte_line(warehouse_url, tmp_path):
    line = row("hotline", respondent_name="某" * ((50 << 20) // 3))
    reason = _rejected(tmp_path, "hotline", "long.csv", csv_bytes("hotline", [line]))
    assert "not a readable CSV" in reason and "field larger than field limit" in reason


def test_zip_bomb_disguised_as_xlsx(warehouse_url, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 << 20))
    assert bomb.stat().st_size < 1 << 20
    reason = _rejected(tmp_path, "returns", "report.xlsx", bomb.read_bytes())
    assert "expands to" in reason and "refused" in reason


def test_deeply_nested_json_is_a_bad_row_not_a_crash(warehouse_url, tmp_path):
    nested = '{"a": ' * 200_000 + "1" + "}" * 200_000
    deliver(tmp_path, "odr", DAY, "d.jsonl", jsonl_bytes([nested, row("odr")]))
    summary = _ingest(tmp_path)["per_feed"]["odr"]
    assert summary["rows_read"] == 2 and summary["rows_quarantined"] >= 1
    with warehouse.connect() as conn:
        code, original = conn.execute(
            "select reason_code, original from quarantine.quarantined_rows where source_row = 1"
        ).fetchone()
    assert code == "bad_json" and len(json.dumps(original)) < 5000


def test_non_utf8_bytes_in_jsonl(warehouse_url, tmp_path):
    reason = _rejected(tmp_path, "odr", "d.jsonl", '{"dispute_id": "争议"}\n'.encode("gb18030"))
    assert "not UTF-8" in reason


def test_a_rejected_file_does_not_stop_the_others(warehouse_url, tmp_path):
    deliver(tmp_path, "hotline", DAY, "a_bad.csv", b"\x00\x01\x02" * 1000)
    deliver(tmp_path, "hotline", DAY, "b_good.csv", GOOD)
    summary = _ingest(tmp_path)
    assert summary["per_feed"]["hotline"]["rows_loaded"] == 1 and len(summary["rejected"]) == 1
