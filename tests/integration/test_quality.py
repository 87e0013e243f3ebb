"""The Great Expectations gates on raw feed batches, against a real PostgreSQL.

Batches are written straight into meta.load_files, raw.<feed table> and
quarantine.quarantined_rows by SQL, so each test states exactly the defect it plants. GX itself
is slow to import (seconds, once per session); a validation then takes about a second.
The marts gate and write–audit–publish are in test_publish.py.
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
from cei.feeds import FEEDS
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


def dispute(**overrides) -> dict:
    """A clean raw ODR row."""
    n = next(_ids)
    return {
        "dispute_id": f"ODR{n:06d}",
        "enterprise_uscc": "91350100M000100000",
        "enterprise_name": "某电商有限公司",
        "region_code": "350200",
        "filed_at": T0,
        "closed_at": T0 + timedelta(days=3),
        "status": "和解成功",
        "amount": 300,
        "updated_at": T0 + timedelta(days=3),
        "warnings": [],
        **overrides,
    }


def report(**overrides) -> dict:
    """A clean raw returns row (one enterprise's month)."""
    n = next(_ids)
    return {
        "enterprise_name": "某商场",
        "enterprise_uscc": f"91350100M{n:09d}",
        "region_code": "350500",
        "report_month": datetime(2026, 6, 1).date(),
        "committed_on": None,
        "return_items": 12,
        "refund_amount": 860,
        "warnings": [],
        **overrides,
    }


def sample(**overrides) -> dict:
    """A clean raw inspection row (one sampled batch)."""
    n = next(_ids)
    return {
        "sample_id": f"CJ{n:06d}",
        "sampled_on": datetime(2026, 6, 20).date(),
        "region_code": "350100",
        "product_category": "儿童玩具",
        "channel": "网络平台",
        "platform_name": "某平台",
        "enterprise_name": "某玩具店",
        "result": "合格",
        "failed_items": None,
        "updated_at": T0,
        "warnings": [],
        **overrides,
    }


def new_run(conn) -> int:
    return conn.execute(
        "insert into meta.pipeline_runs (delivery_dates, as_of) values ('{2026-07-05}', %s) returning run_id",
        (datetime(2026, 7, 5, 23, 59, 59, tzinfo=LOCAL_TZ),),
    ).fetchone()[0]


def load_file(conn, run_id: int, rows: list[dict], *, quarantined: int = 0, duplicate: int = 0, feed="hotline",
              day: str = "2026-07-05", unknown_region: int = 0):
    """A ledger row as ingestion would leave it, its rows in raw and its quarantined rows
    (`unknown_region` of them with that reason, the rest `bad_enum`). Returns the file id."""
    quarantined += unknown_region
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status,"
        " rows_read, rows_loaded, rows_quarantined, rows_duplicate)"
        " values (%s, %s, %s, %s, %s, 'loaded', %s, %s, %s, %s) returning file_id",
        (run_id, feed, day, f"{feed}-{uuid.uuid4().hex[:8]}.csv", uuid.uuid4().hex,
         len(rows) + quarantined + duplicate, len(rows), quarantined, duplicate),
    ).fetchone()[0]
    for i, row in enumerate(rows, start=2):  # row 1 is the header
        cols = list(row)
        conn.execute(
            f"insert into raw.{FEEDS[feed].table} (load_file_id, delivery_date, source_row, row_hash,"
            f" {', '.join(cols)}) values (%s, %s, %s, %s, {', '.join(['%s'] * len(cols))})",
            (file_id, day, i, uuid.uuid4().hex, *row.values()),
        )
    for j in range(quarantined):
        conn.execute(
            "insert into quarantine.quarantined_rows (load_file_id, feed, source_row, reason_code, original)"
            " values (%s, %s, %s, %s, '{}')",
            (file_id, feed, len(rows) + 2 + j, "unknown_region" if j < unknown_region else "bad_enum"),
        )
    return file_id


def earlier_nights(conn, run_id: int, rows_read: dict[str, int], feed: str = "hotline") -> None:
    """Ledger rows of earlier delivery dates (the volume history); their rows are not needed."""
    for day, n in rows_read.items():
        conn.execute(
            "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status, rows_read,"
            " rows_loaded) values (%s, %s, %s, %s, %s, 'loaded', %s, %s)",
            (run_id, feed, day, f"{feed}-{day}.csv", uuid.uuid4().hex, n, n),
        )


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
        {"rows": [order() for _ in range(45)], "quarantined": 5},
        "expect_column_values_to_be_between(load_files.batch_quarantined_share)",
        ["0.1 over the 1 files together"],
        "batch_quarantined_share <= 0.05 or null where batch_rows_read >= 50",
    ),
    "a county's rows quarantined for an unknown region": (
        {"rows": [order() for _ in range(58)], "unknown_region": 2},
        "expect_column_values_to_be_between(load_files.batch_unknown_region_share)",
        ["0.0333 over the 1 files together"],
        "batch_unknown_region_share <= 0.02 or null where batch_rows_read >= 50",
    ),
}


@pytest.mark.parametrize(("case", "expectation", "observed", "expected"), CRITICAL_CASES.values(), ids=CRITICAL_CASES)
def test_a_critical_failure_stops_the_gate_with_a_message_for_the_steward(
    warehouse_url, db, case, expectation, observed, expected
):
    run_id = new_run(db)
    file_id = load_file(db, run_id, case["rows"], quarantined=case.get("quarantined", 0),
                        unknown_region=case.get("unknown_region", 0))

    with pytest.raises(GateFailed) as failed:
        quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id])

    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("quality gate failed for feed hotline: ")
    assert expectation in message
    assert "observed " in message and all(o in message for o in observed)
    assert f"expected {expected}" in message
    # Recorded before raising: every expectation, the failed one as a critical failure.
    rows = results(db, run_id)
    assert len(rows) == N_EXPECTATIONS
    assert [r[2] for r in rows if not r[4] and r[3] == "critical"] == [expectation]
    _, _, _, severity, success, obs, exp = next(r for r in rows if r[2] == expectation and r[3] == "critical")
    assert (severity, success) == ("critical", False)
    assert all(o in obs for o in observed) and exp.startswith(expected)


def test_each_expectation_quotes_its_own_unexpected_rows(warehouse_url, db):
    # Samples are fetched in a second pass, only for the expectations that found unexpected rows
    # (cei.quality.checkpoint): each must get its own, the others none.
    run_id = new_run(db)
    rows = [order(kind="投拆"), order(region_code="360102"), order(), order(work_order_id=None)]
    file_id = load_file(db, run_id, rows)

    with pytest.raises(GateFailed, match=r"and 2 more critical"):
        quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id])

    observed = {r[2]: r[5] for r in results(db, run_id)}
    assert observed["expect_column_values_to_be_in_set(kind)"].endswith(f"e.g. file {file_id} row 2: 投拆")
    assert observed["expect_column_values_to_match_regex(region_code)"].endswith(f"file {file_id} row 3: 360102")
    assert observed["expect_column_values_to_not_be_null(work_order_id)"].endswith(f"file {file_id} row 5: null")
    assert observed["expect_column_values_to_not_be_null(kind)"] == "0 of 4 rows"
    assert observed["expect_column_values_to_be_in_set(outcome)"] == "0 of 4 rows"


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


# ---------------------------------------------------------------------------------------------
# Volume against the trailing 7-night median (the `volume` asset)

WEEK = {f"2026-07-{d:02d}": 100 for d in range(1, 8)}  # the week before: 100 rows read a night
VOLUME = "expect_column_values_to_be_between(volume.volume_ratio)"


def volume_results(conn, run_id: int) -> dict[str, tuple]:
    """severity → (success, observed, expected) of the two volume expectations."""
    return {r[3]: (r[4], r[5], r[6]) for r in results(conn, run_id) if r[2] == VOLUME}


def test_a_collapsed_night_stops_the_gate(warehouse_url, db):
    run_id = new_run(db)
    earlier_nights(db, run_id, WEEK)
    tonight = load_file(db, run_id, [order() for _ in range(3)], day="2026-07-08")  # 3 % of the median

    with pytest.raises(GateFailed) as failed:
        quality.validate_feed_batches(warehouse_url, run_id, "hotline", [tonight], docs=None)

    message = str(failed.value)
    assert VOLUME in message and "trailing 7-night median" in message
    assert "delivery_date=2026-07-08 rows_read=3 trailing_median=100: 0.03" in message
    assert "expected volume_ratio >= 0.05 or null where trailing_median >= 20" in message
    assert volume_results(db, run_id)["critical"][0] is False


@pytest.mark.parametrize(("rows", "critical", "warning"), [(8, True, False), (60, True, True)], ids=["quiet", "normal"])
def test_a_quiet_night_only_warns_and_a_normal_night_passes(warehouse_url, db, rows, critical, warning):
    run_id = new_run(db)
    earlier_nights(db, run_id, WEEK)
    tonight = load_file(db, run_id, [order() for _ in range(rows)], day="2026-07-08")

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [tonight], docs=None)

    assert summary["success"] is True
    got = volume_results(db, run_id)
    assert (got["critical"][0], got["warning"][0]) == (critical, warning)
    assert [f["expectation"] for f in summary["failed_warning"]] == ([] if warning else [VOLUME])


def test_the_first_night_has_no_history_and_passes_with_a_note(warehouse_url, db):
    run_id = new_run(db)
    first = load_file(db, run_id, [order() for _ in range(3)], day="2026-07-01")

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [first], docs=None)

    assert summary["success"] is True and summary["failed_warning"] == []
    assert summary["note"] == (
        "volume not compared for 2026-07-01: no earlier delivery date with loads (first night of the feed)"
    )
    success, observed, _ = volume_results(db, run_id)["critical"]
    assert success is True and observed.startswith("nothing to check: no earlier delivery date with loads")
    assert db.execute(
        "select status, note from meta.quality_gates where run_id = %s", (run_id,)
    ).fetchone() == ("passed", summary["note"])


def test_a_tiny_trailing_median_is_not_compared(warehouse_url, db):
    run_id = new_run(db)
    earlier_nights(db, run_id, {day: 10 for day in WEEK})  # median 10 rows: a ratio would be noise
    tonight = load_file(db, run_id, [order()], day="2026-07-08")

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [tonight], docs=None)

    assert summary["success"] is True and "note" not in summary
    assert volume_results(db, run_id)["critical"][:2] == (
        True, "nothing to check: no earlier delivery date with loads to compare with (the feed's first nights),"
        " or a trailing median under 20 rows",
    )


# ---------------------------------------------------------------------------------------------
# Shares of the rows read: quiet under the thresholds, and not judged on tiny nights


def test_shares_under_the_thresholds_pass(warehouse_url, db):
    run_id = new_run(db)
    file_id = load_file(db, run_id, [order() for _ in range(57)], quarantined=2, unknown_region=1)  # 5 %, 1.7 %

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id], docs=None)

    assert summary["success"] is True and summary["failed_warning"] == []


def test_shares_of_a_tiny_night_only_warn_per_file(warehouse_url, db):
    run_id = new_run(db)
    file_id = load_file(db, run_id, [order() for _ in range(8)], unknown_region=2)  # 20 % of 10 rows

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id], docs=None)

    assert summary["success"] is True
    assert [f["expectation"] for f in summary["failed_warning"]] == [
        "expect_column_values_to_be_between(load_files.quarantined_share)"
    ]
    observed = {r[2]: r[5] for r in results(db, run_id) if r[3] == "critical"}
    assert observed["expect_column_values_to_be_between(load_files.batch_unknown_region_share)"].startswith(
        "nothing to check: the night's files read fewer than 50 rows"
    )


# ---------------------------------------------------------------------------------------------
# The other three feeds: each suite passes clean batches and stops on a broken one

OTHER_FEEDS = {
    "odr": (
        dispute, {"status": "已关闭"},
        "expect_column_values_to_be_in_set(status)", "in {处理中, 和解成功, 和解失败, 转行政调解}",
    ),
    "returns": (
        report, {"return_items": -3},
        "expect_column_values_to_be_between(return_items)", "return_items >= 0",
    ),
    "inspection": (
        sample, {"result": "待定"},
        "expect_column_values_to_be_in_set(result)", "in {合格, 不合格}",
    ),
}


@pytest.mark.parametrize(("feed", "case"), OTHER_FEEDS.items(), ids=OTHER_FEEDS)
def test_every_feed_suite_passes_clean_batches_and_stops_a_broken_one(warehouse_url, db, feed, case):
    make, defect, expectation, expected = case
    suite_size = len(json.loads(quality.suite_path(feed).read_text(encoding="utf-8"))["expectations"])
    run_id = new_run(db)
    clean = load_file(db, run_id, [make(), make(), make()], feed=feed)

    summary = quality.validate_feed_batches(warehouse_url, run_id, feed, [clean], docs=None)

    assert summary["success"] is True and summary["failed_critical"] == [] and summary["failed_warning"] == []
    assert summary["evaluated"] == suite_size

    broken = load_file(db, run_id, [make(), make(**defect)], feed=feed)
    with pytest.raises(GateFailed) as failed:
        quality.validate_feed_batches(warehouse_url, run_id, feed, [broken], docs=None)
    message = str(failed.value)
    assert message.startswith(f"quality gate failed for feed {feed}: ") and expectation in message
    assert f"expected {expected}" in message and "1 of 2 rows" in message
    assert db.execute(
        "select status, failed_critical from meta.quality_gates where run_id = %s and suite = %s"
        " order by checked_at", (run_id, f"raw_{feed}"),
    ).fetchall() == [("passed", 0), ("failed", 1)]


def test_validation_is_rendered_as_data_docs(warehouse_url, db, tmp_path):
    run_id = new_run(db)
    file_id = load_file(db, run_id, [order(), order()])
    site, store = tmp_path / "data_docs", tmp_path / "gx" / "validations"

    summary = quality.validate_feed_batches(warehouse_url, run_id, "hotline", [file_id], docs=(site, store))

    assert summary["data_docs"] == (site / "index.html").as_uri()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "raw_hotline.rows" in index and "raw_hotline.load_files" in index
    pages = sorted(p.relative_to(site).parts[:4] for p in (site / "validations").rglob("*.html"))
    assets = ("load_files", "rows", "volume")
    assert pages == [("validations", "raw_hotline", asset, f"run-{run_id}") for asset in assets]
