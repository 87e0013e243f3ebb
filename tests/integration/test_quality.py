"""The Great Expectations gate on raw hotline batches, against a real PostgreSQL.

Batches are written straight into meta.load_files and raw.hotline_work_orders by SQL, so each
test states exactly the defect it plants. GX itself is slow to import (seconds, once per
session); a validation then takes well under a second.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from cei import quality
from cei.errors import GateFailed
from cei.settings import LOCAL_TZ

SUITE = json.loads(quality.suite_path("hotline").read_text(encoding="utf-8"))
N_EXPECTATIONS = len(SUITE["expectations"])
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=LOCAL_TZ)
_ids = itertools.count(1)


def order(**overrides) -> dict:
    """A clean raw hotline row; keyword arguments plant a defect."""
    n = next(_ids)
    row = {
        "work_order_id": f"WO{n:06d}",
        "kind": "投诉",
        "channel": "12315热线",
        "registered_at": T0,
        "accepted_at": T0 + timedelta(days=1),
        "closed_at": T0 + timedelta(days=4),
        "updated_at": T0 + timedelta(days=4),
        "region_code": "350128",
        "handling_unit": "平潭综合实验区市场监督管理局",
        "respondent_name": "某商贸有限公司",
        "category": "食品",
        "is_tourism": False,
        "disputed_amount": 1200,
        "recovered_loss": 100,
        "outcome": "调解成功",
        "callback": "满意",
        "warnings": [],
    }
    row.update(overrides)
    return row


def new_run(conn) -> int:
    return conn.execute(
        "insert into meta.pipeline_runs (delivery_dates, as_of) values ('{2026-07-05}', %s) returning run_id",
        (datetime(2026, 7, 5, 23, 59, 59, tzinfo=LOCAL_TZ),),
    ).fetchone()[0]


def load_file(conn, run_id: int, rows: list[dict], *, quarantined: int = 0, duplicate: int = 0, feed="hotline"):
    """A ledger row as ingestion would leave it, and its rows in raw. Returns the file id."""
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status,"
        " rows_read, rows_loaded, rows_quarantined, rows_duplicate)"
        " values (%s, %s, '2026-07-05', %s, %s, 'loaded', %s, %s, %s, %s) returning file_id",
        (run_id, feed, f"orders-{uuid.uuid4().hex[:8]}.csv", uuid.uuid4().hex,
         len(rows) + quarantined + duplicate, len(rows), quarantined, duplicate),
    ).fetchone()[0]
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        cols = list(row)
        conn.execute(
            "insert into raw.hotline_work_orders (load_file_id, delivery_date, source_row, row_hash,"
            f" {', '.join(cols)}) values (%s, '2026-07-05', %s, %s, {', '.join(['%s'] * len(cols))})",
            (file_id, i, uuid.uuid4().hex, *row.values()),
        )
    return file_id


@pytest.fixture
def db(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


def results(conn, run_id: int) -> list[tuple]:
    return conn.execute(
        "select suite, target, expectation, severity, success, observed, expected"
        " from meta.quality_results where run_id = %s order by expectation",
        (run_id,),
    ).fetchall()


def test_clean_batches_pass_and_every_result_is_recorded(warehouse_url, db):
    run_id = new_run(db)
    files = [load_file(db, run_id, [order() for _ in range(5)]),
             load_file(db, run_id, [order(kind="咨询", closed_at=None, outcome=None, callback=None),
                                    order(kind="举报", region_code="350100", recovered_loss=None)])]

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", files)

    assert summary["success"] is True
    assert summary["failed_critical"] == [] and summary["failed_warning"] == []
    assert (summary["suite"], summary["feed"], summary["evaluated"]) == ("raw_hotline", "hotline", N_EXPECTATIONS)
    json.dumps(summary)  # small and serialisable (an Airflow XCom), no DataFrames
    recorded = results(db, run_id)
    assert len(recorded) == N_EXPECTATIONS
    assert {(r[0], r[1]) for r in recorded} == {("raw_hotline", "hotline")}
    assert all(r[4] for r in recorded)
    assert {r[3] for r in recorded} == {"critical", "warning"}
    assert all(r[5] and r[6] for r in recorded), "observed and expected are always filled in"
    row_count = next(r for r in recorded if r[2] == "expect_table_row_count_to_be_between")
    assert row_count[5:] == ("7", "row count >= 1")


CRITICAL_CASES = {
    "bad kind": (
        {"rows": [order(), order(kind="投拆")]},
        "expect_column_values_to_be_in_set(kind)",
        ["1 of 2 rows", "投拆"],
        "in {咨询, 投诉, 举报}",
    ),
    "region outside Fujian": (
        {"rows": [order(region_code="360102"), order()]},
        "expect_column_values_to_match_regex(region_code)",
        ["1 of 2 rows", "360102"],
        "matches ^35[0-9]{4}$",
    ),
    "missing work-order id": (
        {"rows": [order(), order(), order(work_order_id=None)]},
        "expect_column_values_to_not_be_null(work_order_id)",
        ["1 of 3 rows", "row 4"],
        "not null",
    ),
    "blank work-order id": (
        {"rows": [order(work_order_id="   "), order()]},
        "expect_column_values_to_match_regex(work_order_id)",
        ["1 of 2 rows", "row 2: '   '"],
        "matches [^[:space:]]",
    ),
    "closed before registered": (
        {"rows": [order(closed_at=T0 - timedelta(days=2)), order()]},
        "expect_column_pair_values_a_to_be_greater_than_b(closed_at, registered_at)",
        ["1 of 2 rows", "2026-06-29 09:00"],
        "closed_at >= registered_at",
    ),
    "too many rows quarantined": (
        {"rows": [order() for _ in range(8)], "quarantined": 2},
        "expect_column_max_to_be_between(load_files.batch_quarantined_share)",
        ["0.2"],
        "max(batch_quarantined_share) <= 0.05",
    ),
}


@pytest.mark.parametrize(("case", "expectation", "observed", "expected"), CRITICAL_CASES.values(), ids=CRITICAL_CASES)
def test_a_critical_failure_stops_the_gate_with_a_message_for_the_steward(
    warehouse_url, db, case, expectation, observed, expected
):
    run_id = new_run(db)
    file_id = load_file(db, run_id, case["rows"], quarantined=case.get("quarantined", 0))

    with pytest.raises(GateFailed) as failed:
        quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id])

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("quality gate failed for feed hotline: ")
    assert expectation in message
    assert "observed " in message and all(o in message for o in observed)
    assert f"expected {expected}" in message
    # Recorded before raising: every expectation, the failed one as a critical failure.
    recorded = {r[2]: r for r in results(db, run_id)}
    assert len(recorded) == N_EXPECTATIONS
    _, _, _, severity, success, obs, exp = recorded[expectation]
    assert (severity, success) == ("critical", False)
    assert all(o in obs for o in observed) and exp.startswith(expected)


def test_warnings_are_recorded_but_do_not_stop_the_gate(warehouse_url, db):
    run_id = new_run(db)
    twin = order()
    file_id = load_file(db, run_id, [
        order(disputed_amount=-5),  # not used by any indicator: a warning
        twin, {**twin, "channel": "12345转办"},  # two versions with the same 更新时间: a tie
        order(respondent_uscc=None, warnings=["bad_uscc:respondent_uscc"]),  # 1 in 5 > 10 %
        order(),
    ])

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id])

    assert summary["success"] is True and summary["failed_critical"] == []
    failed = {f["expectation"]: f for f in summary["failed_warning"]}
    assert set(failed) == {
        "expect_column_values_to_be_between(disputed_amount)",
        "expect_compound_columns_to_be_unique(work_order_id, updated_at)",
        "expect_column_values_to_be_in_set(field_warning_flag)",
    }
    assert failed["expect_column_values_to_be_in_set(field_warning_flag)"]["observed"].startswith("1 of 5 rows")
    assert "-5" in failed["expect_column_values_to_be_between(disputed_amount)"]["observed"]
    recorded = [r for r in results(db, run_id) if not r[4]]
    assert {(r[2], r[3]) for r in recorded} == {(e, "warning") for e in failed}


def test_a_night_that_loaded_no_rows_is_only_a_warning(warehouse_url, db):
    run_id = new_run(db)
    file_id = load_file(db, run_id, [], duplicate=3)  # every row an exact duplicate of earlier nights

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id])

    assert [f["expectation"] for f in summary["failed_warning"]] == ["expect_table_row_count_to_be_between"]
    assert summary["failed_warning"][0]["observed"] == "0"
    assert summary["success"] is True


def test_no_batches_means_nothing_to_validate_and_nothing_recorded(warehouse_url, db):
    run_id = new_run(db)
    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [])
    assert summary["evaluated"] == 0 and summary["success"] is True
    assert "nothing to validate" in summary["note"]
    assert results(db, run_id) == []


def test_only_this_feeds_files_can_be_validated(warehouse_url, db):
    run_id = new_run(db)
    odr_file = load_file(db, run_id, [], feed="odr")
    with pytest.raises(ValueError, match=f"not hotline files in meta.load_files: {odr_file}"):
        quality.validate_feed_batches(warehouse_url, run_id, "hotline", [odr_file])
    assert results(db, run_id) == []


def _is_socket_url(url: str) -> bool:
    p = urlparse(url)
    return not p.hostname and parse_qs(p.query).get("host", [""])[0].startswith("/")


@pytest.fixture
def socket_url(warehouse_url, tmp_path_factory, monkeypatch):
    """A unix-socket URL to a database with the schema: the fixture's own when it already is
    one (the embedded default), else a private embedded server."""
    if _is_socket_url(warehouse_url):
        yield warehouse_url
        return
    from cei import settings, warehouse

    monkeypatch.setenv("CEI_HOME", str(tmp_path_factory.mktemp("gx_socket")))
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    s = settings.load()
    try:
        url = warehouse.database_url(s)
        with warehouse.connect(s) as conn:
            warehouse.ensure_schema(conn)
            conn.commit()
        yield url
    finally:
        warehouse.stop_embedded(s)


def test_the_gate_works_over_a_unix_socket_url(socket_url):
    assert _is_socket_url(socket_url)  # e.g. postgresql://postgres:@/cei?host=/…/pgdata
    with psycopg.connect(socket_url, autocommit=True) as conn:
        run_id = new_run(conn)
        clean = load_file(conn, run_id, [order(), order()])
        assert quality.validate_feed_batches(socket_url, run_id, "hotline", [clean])["success"] is True
        bad = load_file(conn, run_id, [order(kind="其他")])
        with pytest.raises(GateFailed, match=r"expect_column_values_to_be_in_set\(kind\).*其他"):
            quality.validate_feed_batches(socket_url, run_id, "hotline", [bad])
        assert conn.execute(
            "select count(*), count(*) filter (where not success) from meta.quality_results where run_id = %s",
            (run_id,),
        ).fetchone() == (2 * N_EXPECTATIONS, 1)
