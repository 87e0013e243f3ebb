"""Every indicator, the working-day calendar and the index, end to end on a real PostgreSQL.

Hand-made raw rows → the calendar from `chinese-calendar` → one `dbt build` → the marts. Each
case is small enough to check by hand against indicators.md:

- the spec's deadline example on the real official calendar (make-up Sunday 2025-09-28 and
  Saturday 2025-10-11; National Day off): decided 2025-10-13 23:59:59 is on time, 00:00:00 the
  next day is late;
- the exact deadline second on an ordinary week, 平潭 assessed apart from 福州, 无法联系;
- the bureau's known figures: 2,797 sampled batches with 767 不合格 → 27.42%, 143 online batches
  with 72 → 50.35%;
- quarter roll-up of a rate (sum numerators and denominators, not an average of months) and of
  distinct enterprises (not a sum of months);
- the index: a unit best on every indicator has index 100, rank 1 and band [1, 1]; ties share
  the best rank; the demo's latest-quarter table.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

from cei import calendar, index_table, settings, transform

AS_OF = "2026-04-05 23:59:59"
FUZHOU, XIAMEN, PINGTAN = "350100", "350200", "350128"
FZ_REGION, XM_REGION = "350102", "350203"  # 鼓楼区 (福州市), 思明区 (厦门市); 平潭 is 350128 itself


def dbt_build(url: str, tmp_path: Path, *args: str) -> None:
    """What transform.run_dbt does — the calendar from the library, then `dbt build` with the
    settings' vars — against the database at `url`."""
    with psycopg.connect(url, autocommit=True) as conn:
        calendar.refresh_calendar(conn)
    env = transform.dbt_env(dataclasses.replace(settings.load(), database_url=url))
    project = str(settings.DBT_PROJECT_DIR)
    dbt_vars = {**transform.dbt_vars(settings.load()), "as_of": AS_OF}
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")), "build", *args,
            "--project-dir", project,
            "--profiles-dir", project,
            "--target-path", str(tmp_path / "dbt-target"),
            "--log-path", str(tmp_path / "dbt-logs"),
            "--vars", json.dumps(dbt_vars),
        ],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


class Raw:
    """Raw rows with lineage, the way ingestion writes them (one ledger file per feed)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        run_id = conn.execute(
            "insert into meta.pipeline_runs (delivery_dates, as_of) values (%s, %s) returning run_id",
            ([date(2026, 4, 5)], "2026-04-05 23:59:59+08:00"),
        ).fetchone()[0]
        self.files = {
            feed: conn.execute(
                "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status)"
                " values (%s, %s, '2026-04-05', %s, %s, 'loaded') returning file_id",
                (run_id, feed, f"{feed}.dat", f"sha-{feed}"),
            ).fetchone()[0]
            for feed in ("hotline", "odr", "returns", "inspection")
        }
        self.rows = 0

    def insert(self, table: str, feed: str, rows: list[dict]) -> None:
        for values in rows:
            self.rows += 1
            row = {"load_file_id": self.files[feed], "delivery_date": "2026-04-05", "source_row": self.rows + 1,
                   "row_hash": f"hash-{self.rows}", **values}
            self.conn.execute(
                f"insert into raw.{table} ({', '.join(row)}) values ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )

    def work_order(self, wid: str, kind: str, region: str, registered: str, *, accepted=None, closed=None,
                   outcome=None, callback=None, loss=None, tourism=False) -> None:
        self.insert("hotline_work_orders", "hotline", [dict(
            work_order_id=wid, kind=kind, channel="12315热线", region_code=region,
            registered_at=f"{registered}+08:00", accepted_at=accepted and f"{accepted}+08:00",
            closed_at=closed and f"{closed}+08:00", updated_at="2026-04-05 09:00:00+08:00",
            outcome=outcome, callback=callback, recovered_loss=loss, is_tourism=tourism,
            consumer_phone_hmac=f"hmac-{wid}",
        )])

    def dispute(self, did: str, enterprise: str, region: str, filed: str, status: str, closed=None) -> None:
        self.insert("odr_disputes", "odr", [dict(
            dispute_id=did, enterprise_uscc=enterprise, region_code=region, filed_at=f"{filed}+08:00",
            closed_at=closed and f"{closed}+08:00", status=status, updated_at="2026-04-05 09:00:00+08:00",
        )])


def load_cases(conn: psycopg.Connection) -> None:
    raw = Raw(conn)
    wo = raw.work_order
    # The spec's example on the real calendar: registered Friday 2025-09-26, N = 7 → the deadline
    # is 2025-10-13 23:59:59 (Sep 28 and Oct 11 are make-up working days, Oct 1–8 off).
    wo("S1", "投诉", FZ_REGION, "2025-09-26 10:00:00", accepted="2025-10-13 23:59:59",
       closed="2025-10-14 09:00:00", outcome="不予受理")
    wo("S2", "投诉", FZ_REGION, "2025-09-26 11:00:00", accepted="2025-10-14 00:00:00",
       closed="2025-10-14 09:00:00", outcome="不予受理")

    # 福州市, March 2026: best on every scored indicator.
    wo("F1", "投诉", FZ_REGION, "2026-03-02 09:00:00", accepted="2026-03-03 09:00:00",
       closed="2026-03-10 10:00:00", outcome="调解成功", callback="满意", loss=Decimal("1234.50"), tourism=True)
    wo("F2", "举报", FZ_REGION, "2026-03-02 09:00:00", closed="2026-03-05 10:00:00", outcome="已立案")
    raw.dispute("FD1", "91350100MA0000001X", FZ_REGION, "2026-03-02 09:00:00", "和解成功", "2026-03-04 10:00:00")
    # ODR enterprises: E1 files in January and March, E2 in February → 2 in 2026Q1, not 1 + 1 + 1.
    raw.dispute("FD2", "91350100MA0000001X", FZ_REGION, "2026-01-15 09:00:00", "处理中")
    raw.dispute("FD3", "91350100MA0000002X", FZ_REGION, "2026-02-10 09:00:00", "处理中")
    # Returns: one enterprise reporting for January and February → 1 enterprise in 2026Q1.
    raw.insert("return_reports", "returns", [
        dict(enterprise_uscc="91350100MA0000003X", region_code=FZ_REGION, report_month=month,
             return_items=items, refund_amount=refund)
        for month, items, refund in (("2026-01-01", 5, Decimal("100.50")), ("2026-02-01", 7, Decimal("70")))
    ])
    # Known figures: 2,797 batches, 767 不合格 (27.42%); of them 143 online, 72 不合格 (50.35%).
    raw.insert("inspection_samples", "inspection", [
        dict(sample_id=f"FS{n}", sampled_on=f"2026-03-{1 + n % 28:02d}", region_code=FZ_REGION,
             channel="网络平台" if n <= 143 else "实体店",
             result="不合格" if n <= 72 or 144 <= n <= 838 else "合格",
             updated_at="2026-04-01 09:00:00+08:00")
        for n in range(1, 2798)
    ])

    # 厦门市, March: worse on everything but 投诉按时办结率, where it ties 福州 at 100%.
    wo("X1", "投诉", XM_REGION, "2026-03-02 09:00:00", accepted="2026-03-20 09:00:00",
       closed="2026-03-25 10:00:00", outcome="调解终止", callback="不满意")
    wo("X2", "举报", XM_REGION, "2026-03-02 09:00:00", closed="2026-03-30 10:00:00", outcome="已答复")
    raw.dispute("XD1", "91350200MA0000001X", XM_REGION, "2026-03-02 09:00:00", "和解失败", "2026-03-31 10:00:00")
    raw.insert("inspection_samples", "inspection", [dict(
        sample_id="XS1", sampled_on="2026-03-16", region_code=XM_REGION, channel="实体店", result="不合格",
        updated_at="2026-04-01 09:00:00+08:00")])

    # 平潭 (region 350128): its own unit, not 福州市. Decided at the deadline second (7 working
    # days after Monday 2026-03-02 end 2026-03-11 23:59:59) is on time, a second later is late;
    # January: one more on time → 2026Q1 2/3, not the average of the monthly rates (1 + 1/2)/2.
    wo("P1", "投诉", PINGTAN, "2026-03-02 09:00:00", accepted="2026-03-11 23:59:59")
    wo("P2", "投诉", PINGTAN, "2026-03-02 10:00:00", accepted="2026-03-12 00:00:00")
    wo("P3", "咨询", PINGTAN, "2026-03-05 09:00:00", closed="2026-03-05 10:00:00", outcome="已答复",
       callback="无法联系")
    wo("P4", "投诉", PINGTAN, "2026-01-05 09:00:00", accepted="2026-01-06 09:00:00",
       closed="2026-01-07 09:00:00", outcome="不予受理")


def _figures(conn, sql: str, *args) -> dict:
    return {tuple(r[:-3]): r[-3:] for r in conn.execute(sql, args)}


def test_every_indicator_calendar_and_index(warehouse_url, tmp_path, lenient_index_rules):
    with psycopg.connect(warehouse_url) as conn:
        load_cases(conn)
    dbt_build(warehouse_url, tmp_path, *lenient_index_rules)  # a handful of rows: the arithmetic, not the rules

    with psycopg.connect(warehouse_url) as conn:
        # dim_date: the library's calendar, make-up working days included, then provisional years
        # up to next year.
        first, last = calendar.supported_years()
        last = max(last, date.today().year + 1)
        assert conn.execute("select min(date_day), max(date_day), count(*) from marts.dim_date").fetchone() == (
            date(first, 1, 1), date(last, 12, 31), (date(last, 12, 31) - date(first, 1, 1)).days + 1)
        assert dict(conn.execute(
            "select date_day, is_workday from marts.dim_date where date_day in"
            " ('2025-09-28', '2025-10-01', '2025-10-11', '2025-10-12')").fetchall()) == {
            date(2025, 9, 28): True, date(2025, 10, 1): False, date(2025, 10, 11): True, date(2025, 10, 12): False}

        monthly = _figures(conn, "select unit_code, to_char(month, 'YYYY-MM'), indicator_code,"
                                 " numerator, denominator, value from marts.mart_indicator_monthly")
        # Every indicator, every unit, every month from 2025-09 (the first data) to 2026-04 (as-of).
        assert len(monthly) == 17 * 10 * 8
        # The spec example: on time at 2025-10-13 23:59:59, late at 00:00:00 the next day.
        assert monthly[(FUZHOU, "2025-09", "complaint_accept_ontime_rate")] == (1, 2, Decimal("0.5"))
        # The deadline second again, in 平潭 — apart from 福州.
        assert monthly[(PINGTAN, "2026-03", "complaint_accept_ontime_rate")] == (1, 2, Decimal("0.5"))
        assert monthly[(FUZHOU, "2026-03", "complaint_accept_ontime_rate")] == (1, 1, 1)
        # 无法联系 is neither satisfied nor rated: 0/0 is a null rate, not 0.
        assert monthly[(PINGTAN, "2026-03", "satisfaction_rate")] == (0, 0, None)
        assert monthly[(FUZHOU, "2026-03", "satisfaction_rate")] == (1, 1, 1)
        # Accepted complaints still open whose 45-day deadline is after as-of are not counted yet.
        assert monthly[(PINGTAN, "2026-03", "complaint_close_ontime_rate")] == (0, 0, None)
        assert monthly[(FUZHOU, "2026-03", "report_verify_ontime_rate")] == (1, 1, 1)
        assert monthly[(XIAMEN, "2026-03", "report_verify_ontime_rate")] == (0, 1, 0)
        assert monthly[(XIAMEN, "2026-03", "odr_ontime_rate")] == (0, 1, 0)
        assert monthly[(FUZHOU, "2026-03", "odr_share")] == (1, 2, Decimal("0.5"))
        assert monthly[(FUZHOU, "2026-03", "recovered_loss_yuan")] == (Decimal("1234.50"), None, Decimal("1234.50"))
        assert monthly[(FUZHOU, "2026-03", "tourism_complaints")] == (1, None, 1)
        assert monthly[(FUZHOU, "2026-01", "return_items")] == (5, None, 5)

        period = _figures(conn, "select period, unit_code, indicator_code, numerator, denominator, value"
                                " from marts.mart_indicator_period")
        assert {p for p, *_ in period} == {
            "2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04",
            "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2025", "2026"}
        # The known figures, to 2 decimals as the bureau publishes them.
        for p in ("2026-03", "2026Q1", "2026"):
            num, den, value = period[(p, FUZHOU, "inspection_fail_rate")]
            assert (num, den, round(100 * value, 2)) == (767, 2797, Decimal("27.42"))
            num, den, value = period[(p, FUZHOU, "inspection_fail_rate_online")]
            assert (num, den, round(100 * value, 2)) == (72, 143, Decimal("50.35"))
        # Quarter of a rate: sum the numerators and denominators (2/3), never average months (0.75).
        num, den, value = period[("2026Q1", PINGTAN, "complaint_accept_ontime_rate")]
        assert (num, den, round(value, 6)) == (2, 3, Decimal("0.666667"))
        # Distinct enterprises over the period, not a sum of monthly counts.
        months = ("2026-01", "2026-02", "2026-03")
        assert [period[(p, FUZHOU, "odr_active_enterprises")][0] for p in months] == [1, 1, 1]
        assert period[("2026Q1", FUZHOU, "odr_active_enterprises")] == (2, None, 2)
        assert period[("2026Q1", FUZHOU, "return_enterprises")] == (1, None, 1)
        assert period[("2026Q1", FUZHOU, "return_refund_yuan")] == (Decimal("170.50"), None, Decimal("170.50"))

        scores = _figures(conn, "select period, unit_code, indicator_code, value, score, rank"
                                " from marts.mart_indicator_score")
        # Tie: 福州 and 厦门 both closed every accepted complaint in time → both 100, both rank 1.
        assert scores[("2026Q1", FUZHOU, "complaint_close_ontime_rate")][1:] == (100, 1)
        assert scores[("2026Q1", XIAMEN, "complaint_close_ontime_rate")][1:] == (100, 1)
        # Lower is better: 27.42% beats 100%.
        assert scores[("2026Q1", FUZHOU, "inspection_fail_rate")][1:] == (100, 1)
        assert scores[("2026Q1", XIAMEN, "inspection_fail_rate")][1:] == (0, 2)
        assert scores[("2026Q1", PINGTAN, "inspection_fail_rate")] == (None, None, None)

        cei = {(p, u, c): r for p, u, c, *r in conn.execute(
            "select period, unit_code, component_code, score, rank, rank_p05, rank_p95 from marts.mart_cei")}
        assert len(cei) == 14 * 10 * 5
        # Best on every indicator: index 100, rank 1, band [1, 1] — over all 1,000 draws.
        assert cei[("2026Q1", FUZHOU, "cei")] == [100, 1, 1, 1]
        assert cei[("2026Q1", PINGTAN, "cei")][1:] == [2, 2, 2]
        assert cei[("2026Q1", XIAMEN, "cei")][1:] == [3, 3, 3]
        assert cei[("2026Q1", "350500", "cei")] == [None, None, None, None]  # 泉州市: no data, no score
        # 平潭 has only 投诉按时受理率 in 维权效能 (2/3 between 厦门's 0 and 福州's 1): renormalised.
        assert round(cei[("2026Q1", PINGTAN, "cei_efficiency")][0], 2) == Decimal("66.67")

        shown = index_table.latest_quarter_index(conn)
        assert shown is not None
        quarter, title, text = shown
        assert quarter == "2026Q1" and "2026Q1" in title
        lines = text.splitlines()
        assert lines[2].split()[:6] == [FUZHOU, "福州市", "100.00", "1", "1", "(1–1)"]  # median (band)
        # 泉州市 has no data: no index, and the table says why
        quanzhou = next(line.split() for line in lines if line.startswith("350500"))
        assert quanzhou == ["350500", "泉州市", "insufficient_coverage"]
