"""Faults a real night brings: a process killed in the middle of loading, a second run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cei import pipeline, warehouse
from cei.errors import RunLocked

HEADER = (
    "工单编号,诉求类型,来源渠道,登记时间,受理时间,办结时间,更新时间,行政区划代码,承办单位,被诉主体,"
    "统一社会信用代码,商品服务类别,是否涉旅,争议金额,挽回经济损失,办理结果,回访结果,消费者姓名,消费者电话"
)


def write_orders(path: Path, n: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gb18030", newline="") as f:
        f.write(HEADER + "\r\n")
        for i in range(n):
            region = "350128" if i % 7 == 0 else "350102"
            f.write(
                f"GD{i:08d},投诉,12315热线,2026-07-01 09:00,,,2026-07-01 09:{i % 60:02d},{region},局,某店,,食品,否,"
                f'"1,000.00",,,,王某,1390000{i % 10000:04d}\r\n'
            )


def _copy_progress(conn) -> int:
    row = conn.execute("select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy").fetchone()
    return row[0]


INGEST = "from cei import pipeline; pipeline.ingest(pipeline.start({landing!r}, ['2026-07-01']))"


def test_killed_during_copy_leaves_nothing_and_rerun_is_complete(warehouse_url, tmp_path):
    n = 60_000
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", n)
    child = subprocess.Popen([sys.executable, "-c", INGEST.format(landing=str(tmp_path))], env=os.environ.copy())
    try:
        with warehouse.connect(autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while _copy_progress(conn) < 2_000:
                assert child.poll() is None, "the load finished before it could be interrupted"
                assert time.monotonic() < deadline, "COPY never started"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            # the server notices the dead client and rolls its transaction back
            while conn.execute("select count(*) from pg_stat_activity where query ilike 'copy _stage%%'").fetchone()[0]:
                time.sleep(0.05)
            assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 0
            assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 0
    finally:
        if child.poll() is None:
            child.kill()

    summary = pipeline.ingest(pipeline.start(str(tmp_path), ["2026-07-01"]))
    assert summary["per_feed"]["hotline"]["rows_loaded"] == n
    with warehouse.connect() as conn:
        assert conn.execute(
            "select count(*), count(distinct work_order_id) from raw.hotline_work_orders"
        ).fetchone() == (n, n)
        assert conn.execute("select status, rows_read, rows_loaded from meta.load_files").fetchall() == [
            ("loaded", n, n)
        ]


def test_a_second_writer_is_refused_not_interleaved(warehouse_url, tmp_path):
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", 10)
    run_id = pipeline.start(str(tmp_path), ["2026-07-01"])
    with (
        warehouse.connect(autocommit=True) as holder,
        warehouse.exclusive(holder, "test holder"),
        pytest.raises(RunLocked, match="another cei run"),
    ):
        pipeline.ingest(run_id)
    with warehouse.connect() as conn:
        assert (
            conn.execute("select status from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone()[0] == "failed"
        )
        assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 0
    assert pipeline.ingest(pipeline.start(str(tmp_path), ["2026-07-01"]))["per_feed"]["hotline"]["rows_loaded"] == 10


PEAK = (
    "import resource; from cei import pipeline; pipeline.ingest(pipeline.start({landing!r}, ['2026-07-01']));"
    " print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def _peak_rss_kib(landing: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PEAK.format(landing=str(landing))], env=os.environ.copy(), capture_output=True,
        text=True, check=True,
    )
    return int(out.stdout.split()[-1])


def test_memory_stays_bounded_as_a_file_grows(warehouse_url, tmp_path):
    """Records stream from the file into COPY: a file 20x larger must not cost 20x the memory."""
    write_orders(tmp_path / "small" / "hotline" / "2026-07-01" / "orders.csv", 5_000)
    write_orders(tmp_path / "large" / "hotline" / "2026-07-01" / "orders.csv", 100_000)
    small = _peak_rss_kib(tmp_path / "small")
    large_file_kib = (tmp_path / "large" / "hotline" / "2026-07-01" / "orders.csv").stat().st_size // 1024
    large = _peak_rss_kib(tmp_path / "large")
    # the large file alone is ~17 MiB; reading it whole would add at least that much
    print(f"peak RSS {small} KiB (5k rows) vs {large} KiB (100k rows, file {large_file_kib} KiB)")
    assert large - small < large_file_kib / 4, (small, large, large_file_kib)
