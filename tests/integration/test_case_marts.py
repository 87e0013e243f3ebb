"""The analysts' per-case marts against a real PostgreSQL, through real nights (docs/analysts.md):

- a delivered 商品服务类别 the map does not know: the work order keeps its text with an empty code,
  the marts gate warns once, counting the work orders and quoting the texts, and the night publishes;
  every text the generator writes is mapped;
- a steward's edit of the map reaches work orders built on earlier nights (fct_work_orders is
  incremental), exactly as a full rebuild;
- the complainant's key: one per phone however it is written, the same on the next night, letters
  only, never the number.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import psycopg
import pytest
from builders import NIGHT_TO_PUBLISH, csv_bytes, deliver, delivery_dates, row, run_night

from cei import synthetic, transform, warehouse
from cei.settings import LOCAL_TZ

START, DAYS = date(2026, 7, 1), 3
LAST = "2026-07-03"
UNMAPPED = "家用电器,电视机顶盒"
EXPECTATION = "expect_column_values_to_not_be_null(category_mapping.category_code)"
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def work_order(work_order_id: str, category: str, phone: str, registered: str = f"{LAST} 10:00") -> dict:
    return row("hotline", work_order_id=work_order_id, kind="投诉", category=category, consumer_phone_hmac=phone,
               registered_at=registered, accepted_at=None, closed_at=None, outcome=None, callback=None,
               updated_at=registered)


@pytest.fixture
def published(warehouse_url: str, tmp_path: Path) -> tuple[Path, int]:
    """Three generated nights and, on the last, a file of three complaints: two with a category the
    map does not know, one 医美 (unknown too), the same caller written two ways on two of them."""
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=200, start=START, days=DAYS, defect_rate=0.0)
    deliver(landing, "hotline", LAST, "extra.csv", csv_bytes("hotline", [
        work_order("WX1", UNMAPPED, "13912345678"),
        work_order("WX2", UNMAPPED, "+86 139 1234 5678"),
        work_order("WX3", "医美", "13712345678"),
    ]))
    return landing, run_night(landing, delivery_dates(landing), NIGHT_TO_PUBLISH)


def test_an_unmapped_category_is_the_gates_one_warning_and_the_night_publishes(published, warehouse_url):
    _, run_id = published
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select status from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone() == (
            "succeeded",)
        warnings = conn.execute(
            "select r.target, r.expectation, r.severity, r.observed from meta.quality_results r"
            " join meta.quality_gates g using (run_id, suite) where run_id = %s and g.gate = 'marts' and not success",
            (run_id,)).fetchall()
        total = conn.execute("select count(*) from marts.fct_work_orders where category is not null").fetchone()[0]
        published_codes = dict(conn.execute(
            "select work_order_id, category_code from marts.fct_work_orders where work_order_id like 'WX%'").fetchall())
        generated_unmapped = conn.execute(
            "select count(*) from marts.fct_work_orders where work_order_id not like 'WX%'"
            " and category is not null and category_code is null").fetchone()[0]
        levels = conn.execute(
            "select count(*) from marts.fct_work_orders f join marts.dim_category c using (category_code)"
            " where f.category_level1_code <> c.category_level1_code").fetchone()[0]
    # exactly one warning of the marts gate: this one, counting the work orders, quoting each text once
    assert [w[:3] for w in warnings] == [("marts.fct_work_orders", EXPECTATION, "warning")]
    observed = warnings[0][3]
    assert observed.startswith(f"3 of {total} work orders"), observed
    assert f"category={UNMAPPED} work_orders=2" in observed and "category=医美 work_orders=1" in observed, observed
    # published: the texts kept, no code; every text the generator writes maps
    assert published_codes == {"WX1": None, "WX2": None, "WX3": None}
    assert generated_unmapped == 0 and levels == 0


def test_a_mapped_text_reaches_the_work_orders_of_earlier_nights(published, warehouse_url):
    """The steward maps 医美; the next build (fct_work_orders incremental, no new delivery) gives
    WX3 its code, as a full rebuild does. The map is written to the warehouse here, as the seed
    would load it, so that the test leaves seeds/ref_category_map.csv alone."""
    as_of = datetime.combine(date.fromisoformat(LAST), time(23, 59, 59), LOCAL_TZ)
    build = warehouse.MARTS_BUILD

    def fct_rows() -> list[tuple]:
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute(f"select work_order_id, category, category_code, category_level1_code"
                                f" from {build}.fct_work_orders order by work_order_id").fetchall()

    keep_map = ["--exclude", "ref_category_map"]
    transform.run_dbt(["build", *keep_map], as_of=as_of, marts_schema=build)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("insert into reference.ref_category_map values ('医美', 'S0101')")
    transform.run_dbt(["build", *keep_map], as_of=as_of, marts_schema=build)
    incremental = fct_rows()
    assert ("WX3", "医美", "S0101", "S01") in incremental
    transform.run_dbt(["run", "--full-refresh", "--select", "fct_work_orders"], as_of=as_of, marts_schema=build)
    assert fct_rows() == incremental


def test_the_complainant_key_is_one_per_phone_stable_and_never_a_number(published, warehouse_url):
    landing, _ = published
    with psycopg.connect(warehouse_url) as conn:
        keys = dict(conn.execute("select work_order_id, complainant_key from intermediate.int_work_order_complainants"
                                 " where work_order_id like 'WX%'").fetchall())
        listed = conn.execute("select complainant_key, work_orders, complaints from marts.mart_repeat_complainants"
                              " where period = %s", (LAST,)).fetchall()
        phones = [h for (h,) in conn.execute("select distinct consumer_phone_hmac from raw.hotline_work_orders")]
    assert keys["WX1"] == keys["WX2"] != keys["WX3"]  # one caller written two ways is one key
    assert (keys["WX1"], 2, 2) in listed  # listed in the rolling window: two work orders
    for key in keys.values():
        assert re.fullmatch(r"K[a-hjkmnp-s]{20}", key) and not MOBILE.search(key)
        assert key not in phones and all(key[1:] not in h for h in phones)  # not the stored HMAC either

    # the next night, with nothing delivered: the same keys
    run_night(landing, ["2026-07-04"], NIGHT_TO_PUBLISH)
    with psycopg.connect(warehouse_url) as conn:
        again = dict(conn.execute("select work_order_id, complainant_key from marts.fct_work_orders f"
                                  " join intermediate.int_work_order_complainants using (work_order_id)"
                                  " where work_order_id like 'WX%'").fetchall())
    assert {k: again[k] for k in keys} == keys

    # the incremental build of the keys (two nights) is what a full rebuild gives
    def complainants() -> list[tuple]:
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("select * from intermediate.int_work_order_complainants"
                                " order by work_order_id").fetchall()

    incremental = complainants()
    as_of = datetime.combine(date(2026, 7, 4), time(23, 59, 59), LOCAL_TZ)
    transform.run_dbt(["run", "--full-refresh", "--select", "int_work_order_complainants"], as_of=as_of)
    assert complainants() == incremental
