"""The dbt project against a real PostgreSQL: hand-made raw rows → `dbt build` → the marts.

Every case is written out here so the expected figures can be checked by hand:
newest-wins across deliveries, versions delivered after the as-of, 平潭 apart from 福州,
local-time month boundaries, and which callbacks count for 消费维权满意率.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest

from cei import calendar, settings, transform

AS_OF = "2026-04-05 23:59:59"  # delivery date 2026-04-05 (indicators.md: D 23:59:59 local)
UNITS = {"350100", "350200", "350300", "350400", "350500", "350600", "350700", "350800", "350900", "350128"}


def dbt_build(url: str, tmp_path: Path, as_of: str = AS_OF, *args: str, command: str = "build",
              succeeds: bool = True) -> str:
    """`dbt build` (or `command`, with `args`) on the database at `url`; returns dbt's output,
    fails the test on error (or, with `succeeds=False`, when dbt does not fail). Like
    transform.run_dbt, the working-day calendar is written from the library first."""
    with psycopg.connect(url, autocommit=True) as conn:
        calendar.refresh_calendar(conn)
    env = transform.dbt_env(dataclasses.replace(settings.load(), database_url=url))
    project = str(settings.DBT_PROJECT_DIR)
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")), command, *args,
            "--project-dir", project,
            "--profiles-dir", project,
            "--target-path", str(tmp_path / "dbt-target"),
            "--log-path", str(tmp_path / "dbt-logs"),
            "--vars", json.dumps({"as_of": as_of}),
        ],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert (proc.returncode == 0) == succeeds, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


class Raw:
    """Writes raw rows the way ingestion does: a run, ledger rows, then rows with lineage."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.run_id = conn.execute(
            "insert into meta.pipeline_runs (delivery_dates, as_of) values (%s, %s) returning run_id",
            ([date(2026, 4, 5)], "2026-04-05 23:59:59+08:00"),
        ).fetchone()[0]
        self.files: dict[tuple[str, str], int] = {}
        self.rows = 0

    def file(self, feed: str, delivered: str) -> int:
        if (feed, delivered) not in self.files:
            self.files[(feed, delivered)] = self.conn.execute(
                "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status)"
                " values (%s, %s, %s, %s, %s, 'loaded') returning file_id",
                (self.run_id, feed, delivered, f"{feed}-{delivered}.dat", f"sha-{feed}-{delivered}"),
            ).fetchone()[0]
        return self.files[(feed, delivered)]

    def insert(self, table: str, feed: str, delivered: str, **values) -> None:
        self.rows += 1
        row = {
            "load_file_id": self.file(feed, delivered),
            "delivery_date": delivered,
            "source_row": self.rows + 1,
            "row_hash": f"hash-{self.rows}",
            **values,
        }
        columns = ", ".join(row)
        marks = ", ".join(["%s"] * len(row))
        self.conn.execute(f"insert into raw.{table} ({columns}) values ({marks})", list(row.values()))

    def work_order(self, wid, delivered, *, region, closed=None, callback=None,
                   updated="2026-03-01 09:00:00+08:00", registered="2026-02-20 09:00:00+08:00",
                   accepted="2026-02-21 09:00:00+08:00") -> None:
        self.insert(
            "hotline_work_orders", "hotline", delivered,
            work_order_id=wid, kind="投诉", channel="12315热线",
            registered_at=registered, accepted_at=accepted,
            closed_at=closed, updated_at=updated, region_code=region, respondent_name="某商店",
            is_tourism=False, recovered_loss=100, outcome="调解成功" if closed else None,
            callback=callback, consumer_phone_hmac=f"hmac-of-a-phone-{wid}",
        )


def load_cases(conn: psycopg.Connection) -> None:
    raw = Raw(conn)
    wo = raw.work_order
    # 福州市 (350100), March: 满意 and 基本满意 satisfied, 不满意 rated; 无法联系, no callback and
    # an open order are in neither.
    wo("W01", "2026-03-31", region="350102", closed="2026-03-10 10:00:00+08:00", callback="满意")
    wo("W02", "2026-03-31", region="350102", closed="2026-03-11 10:00:00+08:00", callback="基本满意")
    wo("W03", "2026-03-31", region="350121", closed="2026-03-12 10:00:00+08:00", callback="不满意")
    wo("W04", "2026-03-31", region="350102", closed="2026-03-13 10:00:00+08:00", callback="无法联系")
    wo("W05", "2026-03-31", region="350102", closed="2026-03-14 10:00:00+08:00", callback=None)
    wo("W06", "2026-03-31", region="350102")
    # 平潭 (region 350128) is unit 350128, not 福州市. Closed 2026-03-31 23:30 local → March.
    wo("W07", "2026-03-31", region="350128", closed="2026-03-15 10:00:00+08:00", callback="满意")
    wo("W08", "2026-04-01", region="350128", closed="2026-03-31 23:30:00+08:00", callback="不满意")
    # Closed 2026-04-01 00:30 local (still March in UTC) → 福州市, April. Region = prefecture code.
    wo("W09", "2026-04-01", region="350100", closed="2026-03-31 16:30:00+00:00", callback="满意")
    # 厦门市 (350200), newest-wins. W10: the later 更新时间 wins although delivered earlier.
    wo("W10", "2026-04-02", region="350203", closed="2026-03-20 10:00:00+08:00", callback="不满意",
       updated="2026-03-20 10:00:00+08:00")
    wo("W10", "2026-04-01", region="350203", closed="2026-03-20 10:00:00+08:00", callback="满意",
       updated="2026-03-21 10:00:00+08:00")
    # W11: equal 更新时间 → the later delivery wins (不满意).
    wo("W11", "2026-04-01", region="350203", closed="2026-03-22 10:00:00+08:00", callback="满意",
       updated="2026-03-22 10:00:00+08:00")
    wo("W11", "2026-04-02", region="350203", closed="2026-03-22 10:00:00+08:00", callback="不满意",
       updated="2026-03-22 10:00:00+08:00")
    # W12: the newer version was delivered after the as-of date: not seen yet (满意 stands).
    wo("W12", "2026-03-31", region="350203", closed="2026-03-25 10:00:00+08:00", callback="满意",
       updated="2026-03-25 10:00:00+08:00")
    wo("W12", "2026-04-10", region="350203", closed="2026-03-25 10:00:00+08:00", callback="不满意",
       updated="2026-04-09 10:00:00+08:00")
    # 泉州市 (350500): the first closed order, February → the grid starts in February.
    wo("W13", "2026-03-31", region="350583", closed="2026-02-27 10:00:00+08:00", callback="满意")

    # One key per other feed, each with two versions.
    for delivered, status, updated in (("2026-04-01", "处理中", "2026-03-30 10:00:00+08:00"),
                                       ("2026-04-02", "和解成功", "2026-04-01 10:00:00+08:00")):
        raw.insert("odr_disputes", "odr", delivered, dispute_id="D1", enterprise_uscc="91350100M000100000",
                   region_code="350128", filed_at="2026-03-29 10:00:00+08:00", status=status,
                   closed_at=None if status == "处理中" else "2026-04-01 10:00:00+08:00", updated_at=updated)
    for delivered, items in (("2026-04-01", 5), ("2026-04-03", 7)):
        raw.insert("return_reports", "returns", delivered, enterprise_uscc="91350100M000100000",
                   region_code="350702", report_month="2026-03-01", return_items=items, refund_amount=100)
    for delivered, result, updated in (("2026-04-01", "不合格", "2026-03-30 10:00:00+08:00"),
                                       ("2026-04-02", "合格", "2026-04-01 10:00:00+08:00")):
        raw.insert("inspection_samples", "inspection", delivered, sample_id="S1", sampled_on="2026-03-15",
                   region_code="350102", channel="网络平台", result=result, updated_at=updated)


def test_build_on_an_empty_warehouse(warehouse_url, tmp_path):
    dbt_build(warehouse_url, tmp_path)
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from marts.mart_indicator_monthly").fetchone() == (0,)
        assert conn.execute("select count(*) from marts.fct_work_orders").fetchone() == (0,)
        assert conn.execute("select count(*) from marts.dim_unit").fetchone() == (10,)
        for mart in ("mart_indicator_period", "mart_indicator_score", "mart_cei"):
            assert conn.execute(f"select count(*) from marts.{mart}").fetchone() == (0,), mart
        assert conn.execute("select count(*) from marts.dim_indicator").fetchone() == (17,)
        # the library's years, then provisional ones up to next year (no import here)
        first, last = calendar.supported_years()
        horizon = max(last, date.today().year + 1)
        assert conn.execute("select min(date_day), max(date_day) from marts.dim_date").fetchone() == (
            date(first, 1, 1), date(horizon, 12, 31))
        assert dict(conn.execute("select year_source, max(year) from marts.dim_date group by 1").fetchall()) == (
            {"library": last} | ({"provisional": horizon} if horizon > last else {}))


def test_satisfaction_rate_and_latest_state(warehouse_url, tmp_path):
    with psycopg.connect(warehouse_url) as conn:
        load_cases(conn)
    dbt_build(warehouse_url, tmp_path)

    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute(
            "select unit_code, to_char(month, 'YYYY-MM'), numerator, denominator, value"
            " from marts.mart_indicator_monthly where indicator_code = 'satisfaction_rate'"
        ).fetchall()
        # Every unit × every month from the first closed order (Feb) to the as-of month (Apr).
        assert len(rows) == 30
        assert {(r[0], r[1]) for r in rows} == {(u, m) for u in UNITS for m in ("2026-02", "2026-03", "2026-04")}
        figures = {(unit, month): (num, den, None if value is None else float(value))
                   for unit, month, num, den, value in rows}
        assert figures[("350100", "2026-03")] == (2, 3, pytest.approx(2 / 3))
        assert figures[("350128", "2026-03")] == (1, 2, 0.5)
        assert figures[("350200", "2026-03")] == (2, 3, pytest.approx(2 / 3))
        assert figures[("350100", "2026-04")] == (1, 1, 1)
        assert figures[("350500", "2026-02")] == (1, 1, 1)
        nonzero = {k for k, (_, den, _) in figures.items() if den}
        assert nonzero == {("350100", "2026-03"), ("350128", "2026-03"), ("350200", "2026-03"),
                           ("350100", "2026-04"), ("350500", "2026-02")}
        assert all(num == den == 0 and value is None for k, (num, den, value) in figures.items() if k not in nonzero)
        assert conn.execute(
            "select distinct unit_name from marts.mart_indicator_monthly where unit_code = '350128'"
        ).fetchall() == [("平潭综合实验区",)]

        # One row per work order, in its latest state as of the run.
        work_orders = conn.execute(
            "select work_order_id, unit_code, callback, delivery_date::text, version_count"
            " from marts.fct_work_orders order by work_order_id"
        ).fetchall()
        assert [w[0] for w in work_orders] == [f"W{n:02d}" for n in range(1, 14)]
        latest = {w[0]: w[1:] for w in work_orders}
        assert latest["W07"][0] == latest["W08"][0] == "350128"
        assert latest["W03"][0] == latest["W09"][0] == "350100"
        assert latest["W10"] == ("350200", "满意", "2026-04-01", 2)
        assert latest["W11"] == ("350200", "不满意", "2026-04-02", 2)
        assert latest["W12"] == ("350200", "满意", "2026-03-31", 1)

        assert conn.execute("select dispute_id, status, unit_code from marts.fct_odr_disputes").fetchall() == [
            ("D1", "和解成功", "350128")]
        assert conn.execute("select return_items, unit_code from marts.fct_return_reports").fetchall() == [
            (7, "350700")]
        assert conn.execute("select sample_id, inspection_result, unit_code from marts.fct_inspection_samples"
                            ).fetchall() == [("S1", "合格", "350100")]

        # No personal data in the analysts' schema; analysts read marts and nothing else.
        columns = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'marts'")}
        assert not {c for c in columns if "phone" in c or "hmac" in c or "consumer" in c}
        assert conn.execute(
            "select has_table_privilege('cei_analyst', 'marts.mart_indicator_monthly', 'select'),"
            " has_schema_privilege('cei_analyst', 'staging', 'usage')"
        ).fetchone() == (True, False)


ON_TIME = {  # the on-time indicators and the fact tables' flags they add up from
    "complaint_accept_ontime_rate": ("fct_work_orders", "accepted_on_time"),
    "complaint_close_ontime_rate": ("fct_work_orders", "closed_on_time"),
    "report_verify_ontime_rate": ("fct_work_orders", "verified_on_time"),
    "odr_ontime_rate": ("fct_odr_disputes", "handled_on_time"),
}


def test_fact_flags_add_up_to_the_indicators(warehouse_url, tmp_path):
    """The per-case flags of fct_work_orders and fct_odr_disputes add up to the on-time
    indicators: tests/assert_fact_flags_match_indicators.sql, run by every build, compares
    figures here, and fails, row by row, when a flag is wrong or when nothing was compared."""
    with psycopg.connect(warehouse_url) as conn:
        load_cases(conn)
    dbt_build(warehouse_url, tmp_path)  # the singular test passes within the build

    with psycopg.connect(warehouse_url) as conn:
        compared = conn.execute(
            "select indicator_code, unit_code, to_char(month, 'YYYY-MM'), numerator, denominator"
            " from marts.mart_indicator_monthly where indicator_code = any(%s) and denominator > 0",
            (list(ON_TIME),)).fetchall()
        # W01–W13: complaints registered 2026-02-20, accepted the next day; D1 closed in April
        assert ("complaint_accept_ontime_rate", "350100", "2026-02", 7, 7) in compared
        assert ("odr_ontime_rate", "350128", "2026-04", 1, 1) in compared
        assert {row[0] for row in compared} >= {"complaint_accept_ontime_rate", "complaint_close_ontime_rate",
                                               "odr_ontime_rate"}
        on_time = sum(conn.execute(f"select count(*) filter (where {flag}) from marts.{table}").fetchone()[0]
                      for table, flag in ON_TIME.values())
        assert on_time == sum(row[3] for row in compared)

    def check(*, succeeds: bool) -> str:
        return dbt_build(warehouse_url, tmp_path, AS_OF, "--select", "assert_fact_flags_match_indicators",
                         "--store-failures", command="test", succeeds=succeeds)

    def failures() -> list[tuple]:
        with psycopg.connect(warehouse_url) as conn:
            schema = conn.execute("select table_schema from information_schema.tables"
                                  " where table_name = 'assert_fact_flags_match_indicators'").fetchone()[0]
            return conn.execute(f"select problem, indicator_code, unit_code, to_char(month, 'YYYY-MM'),"
                                f" indicator_numerator, flags_numerator"
                                f" from {schema}.assert_fact_flags_match_indicators").fetchall()

    # one flag broken: the test names the figure it breaks
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("update marts.fct_work_orders set accepted_on_time = false where work_order_id = 'W01'")
    check(succeeds=False)
    assert failures() == [("the flags add up to another figure", "complaint_accept_ontime_rate", "350100",
                           "2026-02", 7, 6)]
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("update marts.fct_work_orders set accepted_on_time = true where work_order_id = 'W01'")
    check(succeeds=True)

    # every flag left null and every figure zero: equal, but nothing was compared
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("update marts.fct_work_orders"
                     " set accepted_on_time = null, closed_on_time = null, verified_on_time = null")
        conn.execute("update marts.fct_odr_disputes set handled_on_time = null")
        conn.execute("update marts.mart_indicator_monthly set numerator = 0, denominator = 0"
                     " where indicator_code = any(%s)", (list(ON_TIME),))
    check(succeeds=False)
    assert [row[0] for row in failures()] == ["nothing compared although the fact tables hold decided cases"]


INCREMENTAL = {  # the incremental models (macros/incremental/newest_versions.sql) and their keys
    "intermediate.int_work_orders_latest": "work_order_id",
    "intermediate.int_odr_disputes_latest": "dispute_id",
    "intermediate.int_return_reports_latest": "enterprise_uscc, report_month",
    "intermediate.int_inspection_samples_latest": "sample_id",
    "intermediate.int_sla_clocks": "clock_code, item_id",
    "intermediate.int_work_order_complainants": "work_order_id",
    "marts.fct_work_orders": "work_order_id",
    "marts.fct_odr_disputes": "dispute_id",
    "marts.fct_return_reports": "enterprise_uscc, report_month",
    "marts.fct_inspection_samples": "sample_id",
    **{f"intermediate.int_indicators_monthly__{family}": "unit_code, month, indicator_code"
       for family in ("satisfaction", "efficiency", "hotline_totals", "odr", "inspection", "returns")},
    "intermediate.int_indicator_distinct_members": "indicator_code, unit_code, month, member_id",
}
# for dbt --select: with the month grid the indicator families read beside the incremental models
MODELS = [name.split(".")[1] for name in INCREMENTAL] + ["int_unit_months"]


BUILD_LINEAGE = "built_through_file_id"  # which build wrote a row: differs from a full rebuild's by design


def latest_states(url: str, by_name: bool = False) -> dict[str, list[tuple]]:
    """Every row of the incremental models, by key; each row's columns in the table's order, or
    `by_name` (a column added to an existing table comes last)."""
    with psycopg.connect(url) as conn:
        states = {}
        for model, keys in INCREMENTAL.items():
            schema, table = model.split(".")
            columns = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
                f" and column_name <> %s order by {'column_name' if by_name else 'ordinal_position'}",
                (schema, table, BUILD_LINEAGE))]
            states[model] = conn.execute(f"select {', '.join(columns)} from {model} order by {keys}").fetchall()
        return states


def rebuilt_clocks(url: str) -> set[tuple[str, str]]:
    """The clocks the last build of int_sla_clocks wrote, as its tests read them (__rebuilt_rows__)."""
    with psycopg.connect(url) as conn:
        return set(conn.execute(
            f"select item_id, clock_code from intermediate.int_sla_clocks where {BUILD_LINEAGE} ="
            " (select through_file_id from meta.dbt_watermarks"
            "  where relation_oid = to_regclass('intermediate.int_sla_clocks'))").fetchall())


def test_incremental_latest_states_equal_a_full_rebuild(warehouse_url, tmp_path):
    """The incremental models (int_*_latest, int_sla_clocks, fct_*) recompute only the keys a night
    touched and the clocks the as-of turns (macros/incremental/newest_versions.sql), the indicator families
    the months those reach (macros/incremental/indicator_months.sql): forward nights, a version
    loaded late for an earlier delivery date, and a rewind to an earlier as-of each give exactly
    what a full rebuild gives."""
    def full_rebuild(as_of: str) -> dict[str, list[tuple]]:
        dbt_build(warehouse_url, tmp_path, as_of, "--full-refresh", "--select", *MODELS, command="run")
        return latest_states(warehouse_url)

    def w97_acceptance() -> str:
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("select sla_status from intermediate.int_sla_clocks"
                                " where item_id = 'W97' and clock_code = 'complaint_accept'").fetchone()[0]

    def case_flags(key: str, on_time: str = "accepted_on_time") -> tuple:
        """(is_open, is_overdue, the on-time flag) of a case in its fact table, as the last build left it."""
        table, column = (("fct_odr_disputes", "dispute_id") if key.startswith("D")
                         else ("fct_work_orders", "work_order_id"))
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute(f"select is_open, is_overdue, {on_time} from marts.{table}"
                                f" where {column} = %s", (key,)).fetchone()

    with psycopg.connect(warehouse_url) as conn:
        load_cases(conn)
        # W97: a complaint never decided, its acceptance deadline 2026-04-03 23:59:59 (7 working
        # days): pending until an as-of passes it, with no version delivered after its first.
        raw = Raw(conn)
        raw.rows = 900
        raw.work_order("W97", "2026-03-26", region="350102", registered="2026-03-25 10:00:00+08:00",
                       accepted=None)
        # W98: a report (举报) never closed, registered 2026-03-27, its verification deadline 15
        # working days later, 2026-04-17 or so.
        raw.insert("hotline_work_orders", "hotline", "2026-03-27", work_order_id="W98", kind="举报",
                   registered_at="2026-03-27 10:00:00+08:00", updated_at="2026-03-27 10:00:00+08:00",
                   region_code="350102")
        # W96: a complaint accepted 2026-02-10 and never closed, its closing deadline 45 working
        # days later, 2026-04-21 23:59:59: overdue from then on, it counts in April.
        raw.work_order("W96", "2026-03-27", region="350102", registered="2026-02-09 10:00:00+08:00",
                       accepted="2026-02-10 10:00:00+08:00")
        # D2: a dispute never closed, filed 2026-03-20, its handling deadline 10 working days
        # later, 2026-04-03 23:59:59: open and pending, then overdue, with no new version.
        raw.insert("odr_disputes", "odr", "2026-03-21", dispute_id="D2", enterprise_uscc="91350100M000200000",
                   region_code="350102", filed_at="2026-03-20 10:00:00+08:00", status="处理中",
                   updated_at="2026-03-20 10:00:00+08:00")
    dbt_build(warehouse_url, tmp_path, "2026-04-01 23:59:59")  # the first build is a full one

    dbt_build(warehouse_url, tmp_path, "2026-04-02 23:59:59", "--select", *MODELS, command="run")  # a forward night
    assert case_flags("W97") == case_flags("D2", "handled_on_time") == (True, False, None)  # open, pending
    assert latest_states(warehouse_url) == full_rebuild("2026-04-02 23:59:59")

    # The next night brings a new key, W95, and passes W97's acceptance deadline.
    with psycopg.connect(warehouse_url) as conn:
        raw = Raw(conn)
        raw.rows = 950
        raw.work_order("W95", "2026-04-04", region="350102")
    dbt_build(warehouse_url, tmp_path, "2026-04-05 23:59:59", "--select", *MODELS, command="run")
    incremental = latest_states(warehouse_url)
    # the as-of alone turned W97's and D2's clocks: the fact tables rewrote their rows, now overdue
    assert case_flags("W97") == case_flags("D2", "handled_on_time") == (True, True, False)
    # It rewrote the clocks of the key it touched and the clock its as-of turned, and no other;
    # the tests of int_sla_clocks read those, by the build's mark.
    rewritten = rebuilt_clocks(warehouse_url)
    assert {("W95", "complaint_accept"), ("W97", "complaint_accept")} <= rewritten
    assert ("W02", "complaint_accept") not in rewritten
    dbt_build(warehouse_url, tmp_path, "2026-04-05 23:59:59", "--select", "int_sla_clocks", command="test")
    narrowed = [sql for p in (tmp_path / "dbt-target" / "compiled").rglob("*int_sla_clocks*.sql")
                if "dbt_subquery" in (sql := p.read_text())]
    assert narrowed and all(f"{BUILD_LINEAGE} = " in sql for sql in narrowed)
    assert incremental == full_rebuild("2026-04-05 23:59:59")
    assert w97_acceptance() == "missed"

    # A version for an earlier delivery date, loaded after the last build (a late file), and a
    # brand-new key: both are touched although their delivery date is behind the as-of.
    with psycopg.connect(warehouse_url) as conn:
        raw = Raw(conn)
        raw.rows = 1000
        raw.work_order("W01", "2026-03-30", region="350102", closed="2026-03-10 10:00:00+08:00",
                       callback="不满意", updated="2026-04-03 10:00:00+08:00")
        raw.work_order("W99", "2026-04-03", region="350203")
    dbt_build(warehouse_url, tmp_path, "2026-04-05 23:59:59", "--select", *MODELS, command="run")
    late = latest_states(warehouse_url)
    assert late == full_rebuild("2026-04-05 23:59:59")
    w01 = next(r for r in late["intermediate.int_work_orders_latest"] if r[0] == "W01")
    assert "不满意" in w01 and 2 in w01  # the late version won and is counted

    # Untouched keys are not recomputed (a row changed behind dbt's back stays changed) until an
    # input changes: the model's SQL or the region → unit mapping, hashed in the watermark.
    def build_and_read(sql: str) -> str:
        with psycopg.connect(warehouse_url) as conn:
            conn.execute(sql)
        dbt_build(warehouse_url, tmp_path, "2026-04-05 23:59:59", "--select", *MODELS, command="run")
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("select channel from intermediate.int_work_orders_latest"
                                " where work_order_id = 'W02'").fetchone()[0]

    tamper = "update intermediate.int_work_orders_latest set channel = 'tampered' where work_order_id = 'W02'"
    assert build_and_read(tamper) == "tampered"
    assert build_and_read("update meta.dbt_watermarks set inputs_hash = 'changed'"
                          " where relation_name like '%int_work_orders_latest%'") != "tampered"
    assert latest_states(warehouse_url) == late

    # Nights with nothing delivered: W98's deadline passes between the two as-ofs, and March's
    # report_verify_ontime_rate gains it in its denominator although no version touched March.
    # W96's closing deadline passes too: it counts in April, its deadline month, so February is
    # not recomputed (a figure changed behind dbt's back there stays changed).
    dbt_build(warehouse_url, tmp_path, "2026-04-15 23:59:59", "--select", *MODELS, command="run")
    efficiency = "intermediate.int_indicators_monthly__efficiency"
    with psycopg.connect(warehouse_url) as conn:
        february = conn.execute(f"update {efficiency} set numerator = numerator + 1000"
                                " where month = '2026-02-01'").rowcount
    assert february > 0
    dbt_build(warehouse_url, tmp_path, "2026-04-25 23:59:59", "--select", *MODELS, command="run")
    assert case_flags("W96", "closed_on_time") == case_flags("W98", "verified_on_time") == (True, True, False)
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute(f"update {efficiency} set numerator = numerator - 1000"
                            " where month = '2026-02-01' and numerator >= 1000").rowcount == february
        assert conn.execute("select sla_status, deadline_month from intermediate.int_sla_clocks"
                            " where item_id = 'W96' and clock_code = 'complaint_close'"
                            ).fetchone() == ("missed", date(2026, 4, 1))
    assert latest_states(warehouse_url) == full_rebuild("2026-04-25 23:59:59")
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select sla_status, start_month from intermediate.int_sla_clocks"
                            " where item_id = 'W98'").fetchone() == ("missed", date(2026, 3, 1))
        # D1's filing corrected from March to April: March loses its active enterprise, which only
        # the old version's month says
        Raw(conn).insert("odr_disputes", "odr", "2026-04-26", dispute_id="D1", enterprise_uscc="91350100M000100000",
                         region_code="350128", filed_at="2026-04-02 10:00:00+08:00", status="和解成功",
                         closed_at="2026-04-03 10:00:00+08:00", updated_at="2026-04-26 10:00:00+08:00")
    dbt_build(warehouse_url, tmp_path, "2026-04-26 23:59:59", "--select", *MODELS, command="run")
    assert latest_states(warehouse_url) == full_rebuild("2026-04-26 23:59:59")

    # A rewind: the rerun of an earlier night sees only what was delivered by then.
    dbt_build(warehouse_url, tmp_path, "2026-04-01 23:59:59", "--select", *MODELS, command="run")
    rewound = latest_states(warehouse_url)
    rewound_by_name = latest_states(warehouse_url, by_name=True)
    assert w97_acceptance() == "pending"
    assert case_flags("W97") == case_flags("D2", "handled_on_time") == (True, False, None)
    assert rewound == full_rebuild("2026-04-01 23:59:59")
    assert "W99" not in {r[0] for r in rewound["intermediate.int_work_orders_latest"]}

    # a full rebuild leaves every table with its key's unique index (a duplicate fails the build)
    with psycopg.connect(warehouse_url) as conn:
        for model in INCREMENTAL:
            assert conn.execute("select count(*) from pg_index where indisunique and indrelid = to_regclass(%s)",
                                (model,)).fetchone()[0] == 1, model

    # An int_sla_clocks written before it had build lineage, fact tables before their deadline
    # flags (an earlier release): the next build adds the columns and, the models' SQL having
    # changed since, recomputes every row and fills them.
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(f"alter table intermediate.int_sla_clocks drop column {BUILD_LINEAGE}")
        conn.execute("alter table marts.fct_work_orders drop column is_overdue, drop column accepted_on_time")
        conn.execute("alter table marts.fct_odr_disputes drop column is_overdue, drop column handled_on_time")
        conn.execute("update meta.dbt_watermarks set inputs_hash = 'an earlier release'"
                     " where relation_oid = any(array[to_regclass('intermediate.int_sla_clocks'),"
                     " to_regclass('marts.fct_work_orders'), to_regclass('marts.fct_odr_disputes')])")
    dbt_build(warehouse_url, tmp_path, "2026-04-01 23:59:59", "--select", *MODELS, command="run")
    with psycopg.connect(warehouse_url) as conn:
        unfilled, clocks = conn.execute(f"select count(*) - count({BUILD_LINEAGE}), count(*)"
                                        " from intermediate.int_sla_clocks").fetchone()
        assert conn.execute("select count(*) - count(is_overdue) from marts.fct_work_orders").fetchone() == (0,)
        # the partial index analysts' `where is_overdue` uses, back with its column
        assert conn.execute("select count(*) from pg_indexes where schemaname = 'marts'"
                            " and indexdef like '%WHERE is_overdue'").fetchone() == (2,)
    assert clocks and not unfilled
    assert latest_states(warehouse_url, by_name=True) == rewound_by_name


def test_cei_scores_recompute_only_the_periods_whose_inputs_changed(warehouse_url, tmp_path, lenient_index_rules):
    """int_cei_scores (the Monte Carlo rank bands) is incremental by period: a build recomputes the
    periods whose fingerprint (their indicator scores, the draws' weights, the rules, the model's
    SQL) changed, keeps the others, and ends equal to a full rebuild."""
    def scores() -> dict[str, list[tuple]]:
        with psycopg.connect(warehouse_url) as conn:
            rows = conn.execute("select period, unit_code, component_code, score, rank, rank_p05, rank_p50,"
                                " rank_p95, inputs_md5 from intermediate.int_cei_scores"
                                " order by period, unit_code, component_code").fetchall()
        by_period: dict[str, list[tuple]] = {}
        for row in rows:
            by_period.setdefault(row[0], []).append(row)
        return by_period

    with psycopg.connect(warehouse_url) as conn:
        load_cases(conn)
    dbt_build(warehouse_url, tmp_path, AS_OF, *lenient_index_rules)
    before = scores()
    assert {"2026-02", "2026-03", "2026Q1", "2026"} <= set(before)

    with psycopg.connect(warehouse_url) as conn:
        # a kept period's rows are not recomputed: tampered scores stay as they are
        conn.execute("update intermediate.int_cei_scores set score = score / 2 where period = '2026-02'")
        conn.commit()
    tampered = scores()["2026-02"]
    assert tampered != before["2026-02"]
    with psycopg.connect(warehouse_url) as conn:
        # W03's callback corrected from 不满意 to 满意: March's satisfaction scores change
        raw = Raw(conn)
        raw.rows = 2000
        raw.work_order("W03", "2026-03-30", region="350121", closed="2026-03-12 10:00:00+08:00", callback="满意",
                       updated="2026-03-30 10:00:00+08:00")
    dbt_build(warehouse_url, tmp_path, AS_OF, *lenient_index_rules)
    after = scores()
    assert after["2026-02"] == tampered  # kept
    # the periods holding March were recomputed from their new inputs
    assert all(a[-1] != b[-1] for p in ("2026-03", "2026Q1", "2026") for a, b in zip(after[p], before[p]))

    dbt_build(warehouse_url, tmp_path, AS_OF, "--full-refresh", "--select", "int_cei_scores", command="run")
    rebuilt = scores()
    assert rebuilt == {**after, "2026-02": before["2026-02"]}  # all else as the incremental build left it

    with psycopg.connect(warehouse_url) as conn:  # a changed rule is a new input of every period
        conn.execute("update reference.cei_rules set threshold = 2 where rule_code = 'min_ranked_units'")
    dbt_build(warehouse_url, tmp_path, AS_OF, *lenient_index_rules)
    stricter = scores()
    assert set(stricter) == set(rebuilt)
    assert all(a[-1] != b[-1] for p in stricter for a, b in zip(stricter[p], rebuilt[p]))
