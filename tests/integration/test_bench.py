"""`cei bench` at a tiny scale: the report's correctness, not its timings."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import sql

from cei import bench


@pytest.fixture
def bench_report(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CEI_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(bench, "CHUNK_ORDERS", 200)  # two windows, whose files share nights
    report = bench.run_bench(400, days=3, increment=40, out=tmp_path / "reports")
    yield report
    name = urlparse(warehouse_url).path.lstrip("/") + "_bench"
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_bench_report_accounts_for_every_row_and_stage(bench_report, tmp_path):
    r = bench_report
    saved = json.loads((tmp_path / "reports" / "bench-400.json").read_text())
    assert saved == {k: v for k, v in r.items() if k != "report_file"}

    for part in ("history", "increment"):
        stages = r[part]["stages"]
        assert [st["stage"] for st in stages] == list(bench.STAGES)
        for st in stages:
            assert st["seconds"] > 0 and st["peak_rss_mib"] > 0 and st["cpu_seconds"] > 0
            assert st["rows_per_s"] == round(st["rows"] / st["seconds"], 1)
        by = {st["stage"]: st for st in stages}
        # the test warehouse runs on this machine: the server's share of the work is measured
        assert by["ingest"]["server_cpu_seconds"] is not None and by["build"]["server_cpu_seconds"] > 0
        # clean generated data: every row read is loaded and gated
        assert by["ingest"]["rows"] == r[part]["rows_generated"] == by["gate_feeds"]["rows"]
        assert by["gate_marts"]["rows"] == by["publish"]["rows"] > 0 and by["export"]["rows"] > 0
        assert r[part]["seconds"] == pytest.approx(sum(st["seconds"] for st in stages), abs=0.001)

    # the warm-up reruns the last history night: it loads nothing new and publishes again
    warm_up = {st["stage"]: st for st in r["warm_up"]["stages"]}
    assert list(warm_up) == list(bench.STAGES) and warm_up["ingest"]["rows"] == 0
    assert warm_up["publish"]["rows"] > 0

    # the first window's work orders are delivered again on the second window's nights
    landing = next((tmp_path / "home" / "bench").glob("data-*")) / "landing"
    last_night = sorted((landing / "hotline").iterdir())[-2]  # before the increment's
    assert {p.name.rpartition("_")[2] for p in last_night.glob("*.csv")} == {"w000.csv", "w001.csv"}

    history_ingest = r["history"]["stages"][0]["rows"]
    assert r["baseline"]["rows"] == history_ingest  # the floor copies exactly the rows loaded
    assert r["baseline"]["seconds"] > 0
    assert r["ingest_vs_copy"] == round(r["history"]["stages"][0]["seconds"] / r["baseline"]["seconds"], 2)
    # the build after the increment reads history and increment
    assert r["increment"]["stages"][2]["rows"] == history_ingest + r["increment"]["rows_generated"]
    assert r["machine"]["cpus"] >= 1 and r["machine"]["postgresql"]
