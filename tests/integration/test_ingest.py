"""Ingestion against a real PostgreSQL: every outcome of a file, the ledger, idempotency."""

from pathlib import Path

import builders
import pytest

from cei import pipeline, warehouse

HOTLINE = "hotline"


def row(
    wid,
    *,
    kind="投诉",
    registered="2026-07-01 09:00",
    closed="2026-07-05 10:00",
    updated="2026-07-05 10:00",
    region="350128",
    amount="1,200.00",
    uscc="",
    callback="满意",
    name="王小明",
    phone="13912345678",
):
    return builders.row(
        HOTLINE, work_order_id=wid, kind=kind, registered_at=registered, accepted_at="2026-07-02 09:00",
        closed_at=closed, updated_at=updated, region_code=region, respondent_uscc=uscc, disputed_amount=amount,
        callback=callback, consumer_name=name, consumer_phone_hmac=phone,
    )


def deliver(landing: Path, day: str, name: str, rows: list[dict], encoding="gb18030") -> Path:
    return builders.deliver(landing, HOTLINE, day, name, builders.csv_bytes(HOTLINE, rows, encoding=encoding))


def run(landing: Path, *days: str) -> tuple[int, dict]:
    run_id = pipeline.start(str(landing), list(days))
    return run_id, pipeline.ingest(run_id)


def ledger(conn):
    return conn.execute(
        "select file_name, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_warned, reason"
        " from meta.load_files order by file_id"
    ).fetchall()


def test_row_and_field_defects(warehouse_url, tmp_path):
    deliver(
        tmp_path,
        "2026-07-01",
        "orders.csv",
        [
            row("W1"),
            row("W2", kind="建议"),
            row("W3", region="110101"),
            row("W4", closed="2026-06-30 10:00"),
            row("W5", amount="-5"),
            row("", kind="投诉"),
            row("W7", registered="not a time"),
            row("W8", amount="about five", uscc="91350100MA2YQ1234X"),
            row("W1"),  # exact duplicate of the first row
        ],
    )
    _, summary = run(tmp_path, "2026-07-01")
    assert summary["per_feed"]["hotline"] == {
        "files": 1,
        "rows_read": 9,
        "rows_loaded": 2,
        "rows_quarantined": 6,
        "rows_duplicate": 1,
        "rows_warned": 1,
    }
    with warehouse.connect() as conn:
        reasons = dict(
            conn.execute(
                "select source_row, reason_code from quarantine.quarantined_rows order by source_row"
            ).fetchall()
        )
        assert reasons == {
            3: "bad_enum",
            4: "unknown_region",
            5: "closed_before_registered",
            6: "negative_value",
            7: "missing_required",
            8: "bad_timestamp",
        }
        warned = conn.execute(
            "select work_order_id, warnings from raw.hotline_work_orders where work_order_id = 'W8'"
        )
        assert warned.fetchone() == ("W8", ["bad_uscc:respondent_uscc", "bad_number:disputed_amount"])


def test_rejected_ignored_and_duplicate_files(warehouse_url, tmp_path):
    deliver(tmp_path, "2026-07-01", "a.csv", [row("W1"), row("W2")])
    bad = tmp_path / "hotline" / "2026-07-01" / "b.csv"
    bad.write_text("工单编号,诉求类型\nW9,投诉\n", encoding="utf-8")
    (tmp_path / "hotline" / "2026-07-01" / "_SUCCESS").touch()
    (tmp_path / "hotline" / "2026-07-01" / "README.txt").write_text("说明")
    same = deliver(tmp_path, "2026-07-02", "a-again.csv", [row("W1"), row("W2")])
    _, summary = run(tmp_path, "2026-07-01", "2026-07-02")
    with warehouse.connect() as conn:
        files = {r[0]: r[1:] for r in ledger(conn)}
        assert files["a.csv"][:5] == ("loaded", 2, 2, 0, 0)
        assert files["b.csv"][0] == "rejected"
        assert "b.csv" in files["b.csv"][-1] and "missing columns: 登记时间" in files["b.csv"][-1]
        assert files["_SUCCESS"][0] == files["README.txt"][0] == "ignored"
        assert files[same.name][0] == "duplicate_file" and files[same.name][1] == 0
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 2
    assert summary["rejected"] == [files["b.csv"][-1]]


def test_newer_state_is_a_new_version_not_a_duplicate(warehouse_url, tmp_path):
    deliver(tmp_path, "2026-07-01", "a.csv", [row("W1", closed="", updated="2026-07-01 09:00", callback="")])
    deliver(tmp_path, "2026-07-02", "a.csv", [row("W1"), row("W2")], encoding="utf-8")
    run(tmp_path, "2026-07-01", "2026-07-02")
    with warehouse.connect() as conn:
        versions = conn.execute(
            "select delivery_date::text, closed_at is not null from raw.hotline_work_orders"
            " where work_order_id = 'W1' order by delivery_date"
        ).fetchall()
    assert versions == [("2026-07-01", False), ("2026-07-02", True)]


def test_a_row_delivered_again_in_another_form_is_a_duplicate(warehouse_url, tmp_path):
    """The loader's row_hash is of the typed row: written `2026/7/1 9:00` and `1200.0` the next night,
    W1 is the same row, skipped and counted; the file's new row still loads (the COPY the unique
    index refused is merged row by row)."""
    deliver(tmp_path, "2026-07-01", "a.csv", [row("W1")])
    again = row("W1", registered="2026/7/1 9:00", closed="2026-07-05T10:00:00+08:00", amount="1200.00")
    deliver(tmp_path, "2026-07-02", "b.csv", [row("W2"), again], encoding="utf-8")
    run(tmp_path, "2026-07-01", "2026-07-02")
    with warehouse.connect() as conn:
        assert [r[:6] for r in ledger(conn)] == [("a.csv", "loaded", 1, 1, 0, 0), ("b.csv", "loaded", 2, 1, 0, 1)]
        assert conn.execute(
            "select work_order_id, delivery_date::text from raw.hotline_work_orders order by 1"
        ).fetchall() == [("W1", "2026-07-01"), ("W2", "2026-07-02")]


def _snapshot(conn) -> dict:
    out = {}
    for table in ("raw.hotline_work_orders", "quarantine.quarantined_rows", "meta.load_files"):
        cols = (
            "file_id, feed, delivery_date, file_name, status, rows_read, rows_loaded"
            if "load_files" in table
            else "*"
        )
        out[table] = conn.execute(
            f"select md5(string_agg(t::text, '|' order by t::text)), count(*) from (select {cols} from {table}) t"
        ).fetchone()
    return out


def test_rerunning_the_same_night_changes_nothing(warehouse_url, tmp_path):
    deliver(tmp_path, "2026-07-01", "a.csv", [row("W1"), row("W2", kind="建议"), row("W1")])
    _, first = run(tmp_path, "2026-07-01")
    with warehouse.connect() as conn:
        before = _snapshot(conn)
    _, second = run(tmp_path, "2026-07-01")
    with warehouse.connect() as conn:
        assert _snapshot(conn) == before
    assert first["files_processed"] == 1 and second["files_processed"] == 0
    assert second["files_already_processed"] == 1


def test_missing_landing_and_bad_date_are_clear_errors(warehouse_url, tmp_path):
    from cei.errors import CeiError

    with pytest.raises(CeiError, match="does not exist"):
        pipeline.start(str(tmp_path / "nowhere"), ["2026-07-01"])
    with pytest.raises(CeiError, match="bad date"):
        pipeline.start(str(tmp_path), ["2026-13-01"])


def test_all_dates_twice_with_every_defect_class_changes_nothing(warehouse_url, tmp_path):
    from cei import synthetic

    synthetic.generate(tmp_path, scale=300, days=8, defect_rate=0.05)
    dates = [d.isoformat() for d in pipeline.delivery_dates_present(tmp_path)]
    first = pipeline.ingest(pipeline.start(str(tmp_path), dates))
    with warehouse.connect() as conn:
        before = _snapshot(conn)
    second = pipeline.ingest(pipeline.start(str(tmp_path), dates))
    with warehouse.connect() as conn:
        assert _snapshot(conn) == before
    assert first["files_processed"] == second["files_already_processed"] > 0
    assert second["files_processed"] == 0
