"""End to end through Airflow: generated files → `cei run` → the satisfaction rate in the mart.

The expected figures are computed here independently of dbt, straight from the delivered
files (newest state per work order, Pingtan apart from Fuzhou, local-time months), and must
match the mart exactly. Re-running a night must leave every table unchanged.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cei import cli, synthetic, warehouse
from cei.feeds import FEEDS
from cei.ingest.load import delivery_files
from cei.ingest.readers import FileDefect, open_records
from cei.ingest.rows import Parsed, RowContext, parse_record
from cei.reference import valid_region_codes
from cei.settings import LOCAL_TZ, REGIONS_CSV

pytestmark = pytest.mark.slow


def _unit_of(region: str, cities: dict[str, str]) -> str:
    return "350128" if region == "350128" else cities.get(region, region)


def expected_satisfaction(landing: Path, dates: list) -> Counter:
    """(unit, 'YYYY-MM') → [satisfied, rated] from the files themselves."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        cities = {r["region_code"]: r["city_code"] for r in csv.DictReader(f)}
    feed, ctx = FEEDS["hotline"], RowContext(valid_region_codes(), b"k")
    latest: dict[str, tuple] = {}
    for order, day in enumerate(dates):
        for path in delivery_files(landing, feed, day):
            if path.suffix != ".csv" or path.name.startswith(("_", ".")):
                continue
            parsed = []
            try:
                with open_records(feed, path, 1 << 20) as opened:
                    for rec in opened.records:
                        out = None if rec.defect else parse_record(feed, rec.values, ctx)
                        if isinstance(out, Parsed):
                            parsed.append((rec.row_number, out.values))
            except FileDefect:  # a rejected file contributes nothing
                continue
            for row_number, v in parsed:
                rank = (v["updated_at"], order, path.name, row_number)
                if v["work_order_id"] not in latest or rank > latest[v["work_order_id"]][0]:
                    latest[v["work_order_id"]] = (rank, v)
    counts: Counter = Counter()
    for _, v in latest.values():
        if v["closed_at"] is None or v["callback"] not in ("满意", "基本满意", "不满意"):
            continue
        key = (_unit_of(v["region_code"], cities), v["closed_at"].astimezone(LOCAL_TZ).strftime("%Y-%m"))
        counts[(*key, "rated")] += 1
        counts[(*key, "satisfied")] += v["callback"] in ("满意", "基本满意")
    return counts


def _snapshot(conn) -> dict:
    tables = [
        "raw.hotline_work_orders",
        "quarantine.quarantined_rows",
        "marts.fct_work_orders",
        "marts.mart_indicator_monthly",
    ]
    out = {
        t: conn.execute(
            f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from {t} t"
        ).fetchone()
        for t in tables
    }
    out["ledger"] = conn.execute(
        "select count(*), md5(string_agg(concat_ws(',', file_id, status, rows_read, rows_loaded, rows_quarantined,"
        " rows_duplicate), '|' order by file_id)) from meta.load_files"
    ).fetchone()
    return out


def test_generated_feeds_to_satisfaction_rate_and_idempotent_rerun(warehouse_url, tmp_path, capsys):
    landing = tmp_path / "landing"
    truth = synthetic.generate(landing, scale=600, days=20, defect_rate=0.02)
    assert cli.main(["run", "--landing", str(landing), "--all"]) == 0, capsys.readouterr().err

    with warehouse.connect() as conn:  # the ledger agrees with what the generator injected, file by file
        ledger = {
            (feed, day.isoformat(), name): tuple(counts)
            for feed, day, name, *counts in conn.execute(
                "select feed, delivery_date, file_name, status, rows_read, rows_loaded, rows_quarantined,"
                " rows_duplicate, rows_warned from meta.load_files"
            )
        }
        quarantined = {
            (feed, day.isoformat(), name, row, code)
            for feed, day, name, row, code in conn.execute(
                "select f.feed, f.delivery_date, f.file_name, q.source_row, q.reason_code"
                " from quarantine.quarantined_rows q join meta.load_files f on f.file_id = q.load_file_id"
            )
        }
        facts = {
            feed: conn.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for feed, table in [("hotline", "fct_work_orders"), ("odr", "fct_odr_disputes"),
                                ("returns", "fct_return_reports"), ("inspection", "fct_inspection_samples")]
        }
        # newest wins: the latest state of each feed, as the generator modelled it
        kinds = dict(conn.execute("select kind, count(*) from marts.fct_work_orders group by 1").fetchall())
        outcomes = dict(conn.execute(
            "select coalesce(outcome, 'open'), count(*) from marts.fct_work_orders group by 1").fetchall())
        odr_status = dict(conn.execute("select status, count(*) from marts.fct_odr_disputes group by 1").fetchall())
        returns = conn.execute("select sum(return_items), sum(refund_amount) from marts.fct_return_reports").fetchone()
        inspection = dict(conn.execute(
            "select sales_channel || '/' || inspection_result, count(*) from marts.fct_inspection_samples group by 1"
        ).fetchall())
    latest = {feed: t.latest for feed, t in truth.feeds.items()}
    assert (kinds, outcomes) == (latest["hotline"]["kind"], latest["hotline"]["outcome"])
    assert odr_status == latest["odr"]["status"]
    assert returns == (latest["returns"]["return_items"], Decimal(latest["returns"]["refund_amount"]))
    assert inspection == latest["inspection"]["channel_result"]
    assert ledger == {
        (f.feed, f.delivery_date, f.file_name): (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined,
                                                 f.rows_duplicate, f.rows_warned)
        for f in truth.files
    }
    assert {s for s, *_ in ledger.values()} == {"loaded", "rejected", "duplicate_file", "ignored"}
    assert quarantined == {
        (f.feed, f.delivery_date, f.file_name, row, code) for f in truth.files for row, code in f.quarantined_rows
    }
    assert facts == {feed: t.latest["keys"] for feed, t in truth.feeds.items()}

    dates = sorted({p.name for p in (landing / "hotline").iterdir()})
    expected = expected_satisfaction(landing, [date.fromisoformat(d) for d in dates])
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select unit_code, to_char(month, 'YYYY-MM'), numerator, denominator, value"
            " from marts.mart_indicator_monthly where indicator_code = 'satisfaction_rate'"
        ).fetchall()
        assert {r[0] for r in rows} == {
            "350100",
            "350200",
            "350300",
            "350400",
            "350500",
            "350600",
            "350700",
            "350800",
            "350900",
            "350128",
        }
        checked = 0
        for unit, month, numerator, denominator, value in rows:
            assert numerator == expected[(unit, month, "satisfied")], (unit, month)
            assert denominator == expected[(unit, month, "rated")], (unit, month)
            assert value == (None if denominator == 0 else pytest.approx(numerator / denominator))
            checked += denominator
        assert checked == sum(n for k, n in expected.items() if k[2] == "rated") > 0

        columns = {
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts'"
            )
        }
        assert not {c for c in columns if "phone" in c or "consumer_name" in c}
        before = _snapshot(conn)

    assert cli.main(["run", "--landing", str(landing), "--date", dates[-1]]) == 0
    with warehouse.connect() as conn:
        assert _snapshot(conn) == before
