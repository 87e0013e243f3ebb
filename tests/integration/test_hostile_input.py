"""Hostile input: every case gets a clear rejection (or loads safely), and nothing else breaks.

No SQL is ever built from input text: file names, headers and values travel as parameters or
COPY data, so a name or header written as SQL is just text.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from cei import pipeline, warehouse

DAY = "2026-07-01"
HEADER = (
    "工单编号,诉求类型,来源渠道,登记时间,受理时间,办结时间,更新时间,行政区划代码,承办单位,被诉主体,"
    "统一社会信用代码,商品服务类别,是否涉旅,争议金额,挽回经济损失,办理结果,回访结果,消费者姓名,消费者电话"
)
ROW = "W1,投诉,12315热线,2026-07-01 09:00,,,2026-07-01 09:00,350102,局,某店,,食品,否,,,,,王某,13900000000"


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
    folder = tmp_path / "hotline" / DAY
    folder.mkdir(parents=True)
    (folder / name).write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    assert _ingest(tmp_path)["per_feed"]["hotline"]["rows_loaded"] == 1
    with warehouse.connect() as conn:
        assert _files(conn) == {name: ("loaded", None)}
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 1


def test_files_outside_the_delivery_folder_are_never_read(warehouse_url, tmp_path):
    (tmp_path / "hotline" / DAY).mkdir(parents=True)
    outside = tmp_path / "secret.csv"
    outside.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
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
    folder = landing / feed / DAY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    _ingest(landing)
    with warehouse.connect() as conn:
        status, reason = _files(conn)[name]
    assert status == "rejected", reason
    assert reason.startswith(f"{feed}/{DAY}/{name}: ") and "\n" not in reason
    return reason


def test_header_written_as_sql_is_only_text(warehouse_url, tmp_path):
    header = HEADER + ',"x"" text); drop table meta.load_files; --"'
    folder = tmp_path / "hotline" / DAY
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(f"{header}\n{ROW},y\n", encoding="utf-8")
    assert _ingest(tmp_path)["per_feed"]["hotline"]["rows_loaded"] == 1  # an unknown extra column is ignored
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 1


def test_ten_thousand_columns(warehouse_url, tmp_path):
    header = HEADER + "," + ",".join(f"c{i}" for i in range(10_000))
    reason = _rejected(tmp_path, "hotline", "wide.csv", (header + "\n").encode())
    assert "too many columns: 10019" in reason


def test_one_fifty_megabyte_line(warehouse_url, tmp_path):
    line = ROW.replace("某店", "某" * ((50 << 20) // 3))
    reason = _rejected(tmp_path, "hotline", "long.csv", f"{HEADER}\n{line}\n".encode())
    assert "not a readable CSV" in reason and "field larger than field limit" in reason


def test_zip_bomb_disguised_as_xlsx(warehouse_url, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 << 20))
    assert bomb.stat().st_size < 1 << 20
    reason = _rejected(tmp_path, "returns", "report.xlsx", bomb.read_bytes())
    assert "expands to" in reason and "refused" in reason


def test_deeply_nested_json_is_a_bad_row_not_a_crash(warehouse_url, tmp_path):
    folder = tmp_path / "odr" / DAY
    folder.mkdir(parents=True)
    good = {
        "dispute_id": "D1",
        "enterprise_uscc": "91350100MA2YQ1234X",
        "region_code": "350102",
        "filed_at": "2026-07-01T09:00:00+08:00",
        "status": "处理中",
        "updated_at": "2026-07-01T09:00:00+08:00",
    }
    nested = '{"a": ' * 200_000 + "1" + "}" * 200_000
    (folder / "d.jsonl").write_text(nested + "\n" + json.dumps(good) + "\n", encoding="utf-8")
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
    folder = tmp_path / "hotline" / DAY
    folder.mkdir(parents=True)
    (folder / "a_bad.csv").write_bytes(b"\x00\x01\x02" * 1000)
    (folder / "b_good.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    summary = _ingest(tmp_path)
    assert summary["per_feed"]["hotline"]["rows_loaded"] == 1 and len(summary["rejected"]) == 1
