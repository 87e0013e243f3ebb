"""The marts' checks and write–audit–publish, against a real PostgreSQL.

- The marts' invariants are dbt's data tests (`dbt_project/models/marts/_marts.yml`,
  `dbt_project/tests/`): in a build schema dbt built from generated nights, each class of defect
  the issue names, planted there, makes `dbt test` fail naming the test that catches it, with its
  severity (duplicate business keys, a unit missing from a month, a rate outside [0, 1] or not
  numerator / denominator, an index outside [0, 100] or left empty without a note; an empty fact
  table is a warning).
- The marts gate (`expectations/marts.*.json`) on marts written by SQL into a build schema: clean
  marts pass; satisfaction jumping month over month is its review warning. Its mechanics, with
  suites written for the test: a critical failure stops it with the steward's one-line message,
  optional marts that dbt does not build are skipped, visibly, and a missing required one fails.
- `warehouse.publish_marts`: the swap itself, its grants, and what it refuses.
- One real night whose build fails a marts test, through dbt and Airflow: `cei run` exits 1 with
  the steward's message, and yesterday's published marts are unchanged and readable by analysts.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from builders import write_lenient_index_rules
from psycopg import sql

from cei import cli, pipeline, quality, settings, synthetic, transform, warehouse
from cei.errors import CeiError, GateFailed
from cei.settings import ANALYST_ROLE, EXPECTATIONS_DIR, LOCAL_TZ

BUILD = warehouse.MARTS_BUILD
UNITS = [
    ("350100", "福州市"), ("350200", "厦门市"), ("350300", "莆田市"), ("350400", "三明市"), ("350500", "泉州市"),
    ("350600", "漳州市"), ("350700", "南平市"), ("350800", "龙岩市"), ("350900", "宁德市"),
    ("350128", "平潭综合实验区"),
]
MONTHS = [date(2026, 6, 1), date(2026, 7, 1)]


def new_run(conn) -> int:
    return conn.execute(
        "insert into meta.pipeline_runs (delivery_dates, as_of) values ('{2026-07-20}', %s) returning run_id",
        (datetime(2026, 7, 20, 23, 59, 59, tzinfo=LOCAL_TZ),),
    ).fetchone()[0]


def write_marts(conn, schema: str = BUILD, *, optional: bool = True) -> None:
    """Clean marts, as small as the gate's tests allow, in `schema` (dropped first)."""
    s = sql.Identifier(schema)

    def run(statement: str, *args) -> None:
        conn.execute(sql.SQL(statement).format(s=s), args)

    run("drop schema if exists {s} cascade")
    run("create schema {s}")
    run("create table {s}.dim_unit (unit_code text, unit_name text, sort_order int)")
    for i, (code, name) in enumerate(UNITS, 1):
        run("insert into {s}.dim_unit values (%s, %s, %s)", code, name, i)
    # category / category_code: what marts.fct_work_orders.json's unmapped-category warning reads
    run("create table {s}.fct_work_orders (work_order_id text, kind text, unit_code text,"
        " registered_at timestamptz, closed_at timestamptz, category text, category_code text)")
    run("insert into {s}.fct_work_orders select 'WO' || n, '投诉', '350100', '2026-07-01 09:00+08',"
        " '2026-07-03 09:00+08', '食品', 'G02' from generate_series(1, 3) n")
    run("create table {s}.fct_odr_disputes (dispute_id text, unit_code text, status text, enterprise_uscc text,"
        " filed_at timestamptz, closed_at timestamptz)")
    run("insert into {s}.fct_odr_disputes values ('D1', '350200', '和解成功', '91350100M000100000',"
        " '2026-07-01 09:00+08', '2026-07-02 09:00+08')")
    run("create table {s}.fct_return_reports (enterprise_uscc text, report_month date, unit_code text,"
        " return_items int, refund_amount numeric)")
    run("insert into {s}.fct_return_reports values ('91350100M000100000', '2026-06-01', '350500', 3, 120)")
    run("create table {s}.fct_inspection_samples (sample_id text, unit_code text, inspection_result text,"
        " sales_channel text)")
    run("insert into {s}.fct_inspection_samples values ('CJ1', '350128', '不合格', '网络平台')")
    run("create table {s}.mart_indicator_monthly (unit_code text, unit_name text, month date,"
        " indicator_code text, numerator numeric, denominator numeric, value numeric)")
    for month in MONTHS:
        for code, name in UNITS:  # 90 % satisfied of 200 rated, every unit, both months
            run("insert into {s}.mart_indicator_monthly values (%s, %s, %s, 'satisfaction_rate', 180, 200, 0.9),"
                " (%s, %s, %s, 'recovered_loss_yuan', 1000, null, 1000)", code, name, month, code, name, month)
    if optional:
        run("create table {s}.mart_indicator_period as select to_char(month, 'YYYY-MM') as period,"
            " 'month'::text as period_type, unit_code, unit_name, indicator_code, numerator, denominator, value"
            " from {s}.mart_indicator_monthly")
        run("create table {s}.mart_cei (period text, period_type text, unit_code text, unit_name text,"
            " component_code text, score numeric, rank int, rank_p05 int, rank_p50 int, rank_p95 int,"
            " coverage numeric, note text)")
        for i, (code, name) in enumerate(UNITS, 1):
            run("insert into {s}.mart_cei values ('2026-07', 'month', %s, %s, 'cei', %s, %s, %s, %s, %s, 1, null)",
                code, name, 100 - 10 * (i - 1), i, max(1, i - 1), i, min(10, i + 1))


@pytest.fixture
def db(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


def gate(url: str, run_id: int, directory: Path | None = None) -> dict:
    """The marts gate on the build schema: the suites of expectations/, or those in `directory`."""
    return quality.validate_marts(url, run_id, BUILD, directory=directory, docs=None)


def write_suite(directory: Path, table: str, expectations: list[dict], **meta) -> None:
    """A marts suite written for a test of the gate's mechanics: `directory/marts.<table>.json`."""
    assets = meta.pop("assets", {})
    doc = {"name": f"marts.{table}", "meta": {"table": f"marts.{table}", **meta}, "assets": assets,
           "expectations": [{"description": "written for the test", "notes": "a test of the gate", **e}
                            for e in expectations]}
    (directory / f"marts.{table}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


NOT_EMPTY = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "critical"}


def gates_of(conn, run_id: int) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select suite, target, status, failed_critical, failed_warning, note from meta.quality_gates"
            " where run_id = %s and gate = 'marts'", (run_id,),
        )
    }


def severities_recorded(conn, run_id: int, expectation: str) -> list[tuple]:
    return conn.execute(
        "select severity from meta.quality_results where run_id = %s and expectation = %s and not success",
        (run_id, expectation),
    ).fetchall()


# ---------------------------------------------------------------------------------------------
# The marts gate


def test_clean_marts_pass_every_suite_and_are_recorded_under_their_published_names(warehouse_url, db):
    run_id = new_run(db)
    write_marts(db)

    summary = gate(warehouse_url, run_id)

    assert summary["success"] is True and summary["failed_critical"] == []
    assert summary["failed_warning"] == [] and summary["skipped"] == []
    suites = {p.stem for p in quality.marts_suite_paths()}
    assert set(summary["suites"]) == suites
    assert {s["status"] for s in summary["suites"].values()} == {"passed"}
    json.dumps(summary)  # an Airflow XCom
    recorded = db.execute(
        "select distinct suite, target from meta.quality_results where run_id = %s", (run_id,)
    ).fetchall()
    assert {t for _, t in recorded} == {"marts." + s.removeprefix("marts.") for s in suites}
    assert db.execute(
        "select count(*) from meta.quality_results where run_id = %s", (run_id,)
    ).fetchone()[0] == summary["evaluated"]


def test_satisfaction_jumping_month_over_month_is_the_gates_review_warning(warehouse_url, db):
    run_id = new_run(db)
    write_marts(db)
    clean = gate(warehouse_url, run_id)
    assert clean["success"] is True and clean["failed_warning"] == [], "quiet on clean marts"

    db.execute(sql.SQL("update {s}.mart_indicator_monthly set numerator = 150, value = 0.75 where unit_code = '350500'"
                       " and month = '2026-07-01' and indicator_code = 'satisfaction_rate'").format(
                           s=sql.Identifier(BUILD)))
    summary = gate(warehouse_url, run_id)

    expectation = "expect_column_values_to_be_between(satisfaction_change.change_points)"
    assert summary["success"] is True, "a warning: the run goes on to publish"
    assert [(w["target"], w["expectation"]) for w in summary["failed_warning"]] == [
        ("marts.mart_indicator_monthly", expectation)]
    assert "unit_code=350500 month=2026-07-01 previous_points=90 rate_points=75: 15" in (
        summary["failed_warning"][0]["observed"])
    assert gates_of(db, run_id)["marts.mart_indicator_monthly"][1:4] == ("warned", 0, 1)
    assert severities_recorded(db, run_id, expectation) == [("warning",)]


def test_a_failed_critical_expectation_stops_the_gate_with_one_line_for_the_steward(warehouse_url, db, tmp_path):
    run_id = new_run(db)
    write_marts(db)
    # a query asset over the validated schema
    write_suite(tmp_path, "fct_work_orders", [{
        "type": "expect_column_values_to_be_unique", "kwargs": {"column": "work_order_id"}, "severity": "critical",
        "meta": {"asset": "orders"}}], index=["work_order_id"],
        assets={"orders": {"query": ["select * from {schema}.fct_work_orders"], "index": ["work_order_id"]}})
    assert gate(warehouse_url, run_id, tmp_path)["success"] is True

    db.execute(sql.SQL("insert into {s}.fct_work_orders select * from {s}.fct_work_orders where work_order_id = 'WO2'")
               .format(s=sql.Identifier(BUILD)))
    with pytest.raises(GateFailed) as failed:
        gate(warehouse_url, run_id, tmp_path)

    expectation = "expect_column_values_to_be_unique(orders.work_order_id)"
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("quality gate failed for mart marts.fct_work_orders: ")
    assert f"[{expectation}]: observed " in message and "2 of 4 rows (50.00%), e.g. work_order_id=WO2" in message
    assert gates_of(db, run_id)["marts.fct_work_orders"][1:3] == ("failed", 1)
    assert severities_recorded(db, run_id, expectation) == [("critical",)]


def test_a_mart_dbt_does_not_build_yet_is_skipped_visibly_and_a_required_one_fails(warehouse_url, db, tmp_path):
    run_id = new_run(db)
    write_marts(db, optional=False)
    shutil.copy(EXPECTATIONS_DIR / "marts.mart_indicator_monthly.json", tmp_path)
    for table in ("mart_cei", "mart_indicator_period"):
        write_suite(tmp_path, table, [NOT_EMPTY], optional=True)
    write_suite(tmp_path, "fct_odr_disputes", [NOT_EMPTY])

    summary = gate(warehouse_url, run_id, tmp_path)

    assert summary["success"] is True
    assert summary["skipped"] == ["marts.mart_cei", "marts.mart_indicator_period"]
    assert summary["suites"]["marts.fct_odr_disputes"]["status"] == "passed"
    skipped = gates_of(db, run_id)["marts.mart_cei"]
    assert skipped[:4] == ("marts.mart_cei", "skipped", 0, 0)
    assert skipped[4] == f"not run: dbt built no mart_cei in {BUILD} (optional until the model exists)"

    db.execute(sql.SQL("drop table {}.fct_odr_disputes").format(sql.Identifier(BUILD)))
    with pytest.raises(GateFailed) as failed:
        gate(warehouse_url, run_id, tmp_path)
    assert str(failed.value) == (
        "quality gate failed for mart marts.fct_odr_disputes: marts.fct_odr_disputes is built [table_exists]:"
        f" observed no table fct_odr_disputes in {BUILD}; expected the table built by dbt"
    )


def test_the_gate_needs_a_marts_suite(warehouse_url, db, tmp_path):
    with pytest.raises(CeiError, match="no marts suites"):
        gate(warehouse_url, new_run(db), tmp_path)


# ---------------------------------------------------------------------------------------------
# The marts' invariants: dbt's data tests on a build schema dbt built

_copies = itertools.count()


def _database_url(server_url: str, name: str) -> str:
    return urlunparse(urlparse(server_url)._replace(path="/" + name))


@pytest.fixture(scope="module")
def dbt_template(server_url, tmp_path_factory) -> Iterator[tuple[str, datetime]]:
    """A warehouse whose build schema dbt built (transform.run_dbt, as the pipeline's build does)
    from four generated nights, every data test passing: the template each case copies (CREATE
    DATABASE … TEMPLATE) rather than building again. The index's rules are the lenient ones of
    conftest's lenient_index_rules, so that mart_cei has scores and ranks on so little data.
    Yields the database's name and the build's as-of."""
    name = f"cei_test_{os.getpid()}_dbt_template"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _database_url(server_url, name)
    landing = tmp_path_factory.mktemp("dbt_template") / "landing"
    synthetic.generate(landing, scale=300, days=4)
    days = pipeline.delivery_dates_present(landing)
    as_of = pipeline.as_of(days[-1])
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("CEI_DATABASE_URL", url)
            env.setenv("CEI_PII_SECRET", "test-secret-not-for-production")
            pipeline.ingest(pipeline.start(str(landing), [d.isoformat() for d in days]))
            excluded = write_lenient_index_rules(url)
            built = transform.run_dbt(["build", *excluded], as_of=as_of, marts_schema=BUILD)
        assert built["failed"] == [] and "warn" not in built["counts"], "quiet on clean marts"
        yield name, as_of
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def dbt_built(dbt_template, server_url, monkeypatch) -> Iterator[tuple[str, datetime]]:
    """A copy of the dbt-built template for one test, the platform pointed at it: its url and as-of."""
    template, as_of = dbt_template
    name = f"{template}_copy_{next(_copies)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    url = _database_url(server_url, name)
    monkeypatch.setenv("CEI_DATABASE_URL", url)
    yield url, as_of
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def dbt_failures() -> dict[str, tuple[str, str]]:
    """The last dbt invocation's tests that did not pass: test name → (status, dbt's message)."""
    results = json.loads((settings.load().dbt_target_dir / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: (r["status"], " ".join((r.get("message") or "").split()))
            for r in results if r["status"] != "pass"}


# The one rate a case spoils: a unit's satisfaction in a month with something to count.
ONE_RATE = (" where (unit_code, month, indicator_code) = (select unit_code, month, indicator_code"
            " from {s}.mart_indicator_monthly where indicator_code = 'satisfaction_rate' and numerator > 0"
            " order by month desc, unit_code limit 1)")
# The index of a unit that has one, and its rank (lenient rules: every score is ranked).
ONE_INDEX = (" where (period, unit_code, component_code) = (select period, unit_code, component_code"
             " from {s}.mart_cei where component_code = 'cei' and rank is not null order by period, unit_code limit 1)")

# Each case: the model the defect is planted in (`dbt test --select` it runs the tests on it and on
# what reads it), the SQL that plants the defect in the dbt-built build schema, the dbt test that
# must catch it, its severity — error (the build fails, nothing is published) or warn (reported,
# the build goes on) — and what dbt observes.
MARTS_CASES = {
    "duplicate business key in a fact table": (
        "fct_work_orders",
        # the key is unique by index, so a duplicate fails the build itself; a table without that
        # index (built before such indexes) is caught by the test
        "drop index {s}.fct_work_orders_work_order_id_idx;"
        " insert into {s}.fct_work_orders select * from {s}.fct_work_orders"
        " where work_order_id = (select min(work_order_id) from {s}.fct_work_orders)",
        "unique_fct_work_orders_work_order_id", "error", "Got 1 result, configured to fail if != 0",
    ),
    "a unit missing from a month": (
        "mart_indicator_monthly",
        "delete from {s}.mart_indicator_monthly where unit_code = '350128'"
        " and month = (select max(month) from {s}.mart_indicator_monthly)",
        "every_unit_each_month_mart_indicator_monthly_", "error", "Got 17 results, configured to fail if != 0",
    ),
    "a rate outside [0, 1]": (
        "mart_indicator_monthly",
        "update {s}.mart_indicator_monthly set numerator = 1.2 * denominator, value = 1.2" + ONE_RATE,
        "expression_is_true_mart_indicator_monthly_value_between_0_and_1", "error",
        "Got 1 result, configured to fail if != 0",
    ),
    "a rate that is not numerator / denominator": (
        "mart_indicator_monthly",
        "update {s}.mart_indicator_monthly set value = 0" + ONE_RATE,
        "expression_is_true_mart_indicator_monthly_denominator_is_null_or_case_when_denominator_0_then_value_is_null"
        "_else_abs_value_numerator_denominator_0_000001_end", "error", "Got 1 result, configured to fail if != 0",
    ),
    "an index outside [0, 100]": (
        "mart_cei",
        "update {s}.mart_cei set score = 104.5" + ONE_INDEX,
        "expression_is_true_mart_cei_score_between_0_and_100", "error", "Got 1 result, configured to fail if != 0",
    ),
    "an index left empty without saying why": (
        "mart_cei",
        "update {s}.mart_cei set score = null, rank = null, rank_p05 = null, rank_p50 = null, rank_p95 = null"
        + ONE_INDEX,
        "expression_is_true_mart_cei__score_is_null_coalesce_note_in_insufficient_coverage_insufficient_data_",
        "error", "Got 1 result, configured to fail if != 0",
    ),
    "a fact table left empty": (
        "fct_inspection_samples",
        "delete from {s}.fct_inspection_samples",
        "assert_fact_tables_not_empty", "warn", "Got 1 result, configured to warn if != 0",
    ),
}


@pytest.mark.parametrize(("model", "plant", "test", "severity", "observed"), MARTS_CASES.values(), ids=MARTS_CASES)
def test_each_defect_class_is_caught_with_its_severity(dbt_built, model, plant, test, severity, observed):
    url, as_of = dbt_built
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL(plant).format(s=sql.Identifier(BUILD)))

    command = ["test", "--select", model]
    if severity == "error":
        with pytest.raises(CeiError) as failed:
            transform.run_dbt(command, as_of=as_of, marts_schema=BUILD)
        message = str(failed.value)
        assert "\n" not in message and message.startswith("dbt test failed (")
    else:
        summary = transform.run_dbt(command, as_of=as_of, marts_schema=BUILD)
        assert summary["failed"] == [] and summary["counts"]["warn"] == 1
    status, message = dbt_failures()[test]
    assert status == {"error": "fail", "warn": "warn"}[severity]
    assert message == observed


# ---------------------------------------------------------------------------------------------
# Publishing: the swap, its grants, and what it refuses


def snapshot(conn, schema: str = "marts") -> dict[str, tuple]:
    """Every table of `schema`: row count and a hash of its rows."""
    return {
        t: conn.execute(
            sql.SQL("select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t").format(
                sql.Identifier(schema, t)
            )
        ).fetchone()
        for (t,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,)
        )
    }


def audited_build(conn, url: str) -> int:
    run_id = new_run(conn)
    write_marts(conn)
    warehouse.mark_build(conn, run_id)
    quality.validate_marts(url, run_id, BUILD, docs=None)
    return run_id


def analyst_reads(conn, schema: str, table: str) -> bool:
    return conn.execute(
        "select has_schema_privilege(%s, %s, 'usage') and has_table_privilege(%s, %s, 'select')",
        (ANALYST_ROLE, schema, ANALYST_ROLE, f'"{schema}"."{table}"'),
    ).fetchone()[0]


def test_publish_swaps_the_audited_build_in_and_grants_the_analysts(warehouse_url, db):
    db.execute("create table marts.stale (x int)")  # yesterday's marts, with a table dbt dropped since
    run_id = audited_build(db, warehouse_url)
    built = snapshot(db, BUILD)

    published = warehouse.publish_marts(db, run_id, "2026-07-20 23:59:59+08")

    assert published["dropped"] == ["stale"] and set(published["published"]) == set(built)
    assert snapshot(db) == built
    schemas = {r[0]: r[1] for r in db.execute(
        "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace where nspname like 'marts%%'")}
    # the replaced marts are the next build's schema (its fact tables are incremental), closed
    # to analysts; the next build drops what dbt does not bring up to date (prepare_build)
    assert set(schemas) == {"marts", BUILD}, "the previous schema is recycled as the build schema"
    assert schemas["marts"].startswith(f"cei run {run_id}: published")
    assert all(analyst_reads(db, "marts", t) for t in built)
    assert [t for (t,) in db.execute("select tablename from pg_tables where schemaname = %s", (BUILD,))] == ["stale"]
    assert not db.execute("select has_schema_privilege(%s, %s, 'usage') or has_table_privilege(%s, %s, 'select')",
                          (ANALYST_ROLE, BUILD, ANALYST_ROLE, f"{BUILD}.stale")).fetchone()[0]
    # ... but keeps an incremental table (it has a watermark) for dbt to bring up to date, and
    # drops it after a build that did not (its model was removed from the project)
    db.execute(sql.SQL("create table {}.fct_kept (x int)").format(sql.Identifier(BUILD)))
    db.execute("insert into meta.dbt_watermarks (relation_oid, relation_name, through_file_id, as_of_date,"
               " inputs_hash, saved_at) values (to_regclass(%s), 'fct_kept', 0, '2026-07-19', 'h',"
               " now() - interval '1 day')", (f"{BUILD}.fct_kept",))

    def build_tables() -> list[str]:
        return [t for (t,) in db.execute("select tablename from pg_tables where schemaname = %s", (BUILD,))]

    started = warehouse.prepare_build(db)
    assert build_tables() == ["fct_kept"]
    warehouse.mark_build(db, new_run(db), started)
    assert build_tables() == []
    assert db.execute("select run_id, tables from meta.marts_publications").fetchall() == [
        (run_id, sorted(built))
    ]


@pytest.mark.parametrize("problem", ["not audited", "gate failed", "another run's build", "view reads outside"])
def test_publish_refuses_and_changes_nothing(warehouse_url, db, tmp_path, problem):
    first = audited_build(db, warehouse_url)
    warehouse.publish_marts(db, first, "2026-07-19 23:59:59+08")
    before = snapshot(db)
    run_id = new_run(db)
    write_marts(db)
    db.execute(sql.SQL("update {}.dim_unit set unit_name = unit_name || '!'").format(sql.Identifier(BUILD)))
    warehouse.mark_build(db, run_id)
    expected = {
        "not audited": "the marts gate has not audited",
        "gate failed": "the marts gate failed 1 suite(s)",
        "another run's build": f"holds another build (cei run {run_id + 1}), not run {run_id}'s",
        "view reads outside": "marts.v_units reads staging.units outside the marts",
    }[problem]
    if problem == "gate failed":  # a critical suite written for the test (expectations/ holds a warning)
        write_suite(tmp_path, "fct_inspection_samples", [{
            "type": "expect_column_values_to_be_unique", "kwargs": {"column": "sample_id"}, "severity": "critical"}])
        db.execute(sql.SQL("insert into {0}.fct_inspection_samples select * from {0}.fct_inspection_samples")
                   .format(sql.Identifier(BUILD)))
        with pytest.raises(GateFailed):
            gate(warehouse_url, run_id, tmp_path)
    elif problem != "not audited":
        quality.validate_marts(warehouse_url, run_id, BUILD, docs=None)
    if problem == "another run's build":
        warehouse.mark_build(db, run_id + 1)
    if problem == "view reads outside":
        db.execute("create schema if not exists staging")
        db.execute("create table staging.units as select 1 as n")
        db.execute(sql.SQL("create view {}.v_units as select * from staging.units").format(sql.Identifier(BUILD)))

    with pytest.raises(CeiError, match=re.escape(expected)):
        warehouse.publish_marts(db, run_id, "2026-07-20 23:59:59+08")

    assert snapshot(db) == before
    assert db.execute("select count(*) from meta.marts_publications").fetchone()[0] == 1
    assert all(analyst_reads(db, "marts", t) for t in before)


# ---------------------------------------------------------------------------------------------
# One real night whose build fails a marts test: dbt, then Airflow and `cei run`


def marts_as_analyst(conn) -> dict[str, tuple]:
    """What the analysts' role reads in marts (as that role when we may switch to it)."""
    if not conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]:
        assert all(analyst_reads(conn, "marts", t) for t in snapshot(conn))
        return snapshot(conn)
    with conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(ANALYST_ROLE)))
        seen = snapshot(conn)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("select count(*) from raw.hotline_work_orders")
    return seen


@pytest.mark.slow
def test_a_night_failing_its_marts_tests_leaves_yesterdays_marts_published(warehouse_url, db, tmp_path, capsys):
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=300, days=4)
    days = [d.isoformat() for d in pipeline.delivery_dates_present(landing)]

    # Night 1 (the pipeline's own steps, in this process): audited and published.
    first = pipeline.start(str(landing), days[:3])
    pipeline.ingest(first)
    pipeline.gate_feeds(first)
    pipeline.build(first)
    pipeline.gate_marts(first)
    pipeline.publish(first)
    pipeline.finish(first)
    published = marts_as_analyst(db)
    assert published["mart_indicator_monthly"][0] > 0 and published["fct_work_orders"][0] > 0

    # A work order closed before it was registered reaches raw outside ingestion (so the feed gate
    # never sees it); dbt builds it into fct_work_orders, and only the marts' tests can stop it.
    file_id = db.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, status, rows_read, rows_loaded,"
        " gated_run) values (%s, 'hotline', %s, 'hand-edit.csv', 'loaded', 1, 1, %s) returning file_id",
        (first, days[3], first),
    ).fetchone()[0]
    db.execute(
        "insert into raw.hotline_work_orders (load_file_id, delivery_date, source_row, row_hash, work_order_id,"
        " kind, registered_at, closed_at, updated_at, region_code)"
        " values (%s, %s, 2, 'hand-edit', 'WO-HAND-1', '投诉', %s, %s, %s, '350100')",
        (file_id, days[3], f"{days[3]} 10:00+08", f"{days[3]} 08:00+08", f"{days[3]} 10:00+08"),
    )

    # Night 2, through Airflow as operators run it.
    assert cli.main(["run", "--landing", str(landing), "--date", days[3]]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cei: error: build: dbt build failed (1 node(s)); first: ")
    assert "test.cei.expression_is_true_fct_work_orders_closed_at_is_null_or_closed_at_registered_at." in err
    assert err.rstrip().endswith(": Got 1 result, configured to fail if != 0")

    second, status, message = db.execute(
        "select run_id, status, message from meta.pipeline_runs order by run_id desc limit 1"
    ).fetchone()
    assert status == "failed" and message == err.removeprefix("cei: error: ").strip()
    # the marts gate, publish and finish never ran: yesterday's marts are what analysts still read,
    # unchanged.
    assert db.execute("select run_id from meta.marts_publications").fetchall() == [(first,)]
    assert marts_as_analyst(db) == published
    # The failed build stays for the steward to inspect, out of the analysts' reach.
    assert db.execute(
        sql.SQL("select count(*) from {}.fct_work_orders where work_order_id = 'WO-HAND-1'").format(
            sql.Identifier(BUILD))
    ).fetchone() == (1,)
    assert not db.execute("select has_schema_privilege(%s, %s, 'usage')", (ANALYST_ROLE, BUILD)).fetchone()[0]
    gates = {g: s for g, s in db.execute(
        "select gate, string_agg(distinct status, ',') from meta.quality_gates where run_id = %s group by gate",
        (second,))}
    assert "marts" not in gates, "the build failed before the marts gate"
    # Publishing the failed build by hand is refused too.
    with pytest.raises(CeiError, match=r"holds another build \(being built\), not run \d+'s; nothing was published"):
        pipeline.publish(second)
    assert marts_as_analyst(db) == published


def test_a_batch_that_failed_its_feed_gate_is_gated_again_by_the_rerun(warehouse_url, db, tmp_path):
    """The re-run of a night whose feeds gate failed loads nothing new (the files are in the
    ledger), yet must not publish the failed batch unchecked: the gate takes every ungated batch."""
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=200, days=2)
    days = [d.isoformat() for d in pipeline.delivery_dates_present(landing)]
    first = pipeline.start(str(landing), days)
    pipeline.ingest(first)
    # a loaded work order closed before it was registered: the ingestion guarantee broke
    db.execute(
        "update raw.hotline_work_orders set closed_at = registered_at - interval '1 hour'"
        " where ctid = (select ctid from raw.hotline_work_orders order by load_file_id, source_row limit 1)"
    )
    with pytest.raises(GateFailed, match=r"closed_at, registered_at"):
        pipeline.gate_feeds(first)

    second = pipeline.start(str(landing), days)
    assert pipeline.ingest(second)["files_processed"] == 0
    with pytest.raises(GateFailed, match=r"closed_at, registered_at"):
        pipeline.gate_feeds(second)
    assert db.execute("select count(*) from meta.load_files where gated_run is not null").fetchone() == (0,)

    # the steward corrects the row: the next run's gate passes and marks every batch gated, once
    db.execute("update raw.hotline_work_orders set closed_at = null where closed_at < registered_at")
    third = pipeline.start(str(landing), days)
    pipeline.ingest(third)
    assert "hotline" in pipeline.gate_feeds(third)
    assert db.execute(
        "select count(*) from meta.load_files where status = 'loaded' and gated_run is distinct from %s", (third,)
    ).fetchone() == (0,)
    fourth = pipeline.start(str(landing), days)
    pipeline.ingest(fourth)
    assert pipeline.gate_feeds(fourth) == {}
