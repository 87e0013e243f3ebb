"""The assessment export against a real PostgreSQL, from hand-made marts built to the contract of
indicators.md (so these tests do not wait for dbt): figures exact in the CSV, the same figures in
the workbook, reproducible bytes, the provisional → final → revision cycle, bad periods, the
nightly refresh."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import zipfile
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest

from cei import calendar, cli, settings, warehouse
from cei.errors import CeiError
from cei.export import export_period, periods_touched, refresh_exports
from cei.export.periods import parse_period
from cei.export.provenance import source_files, summarise_new_files

TZ = settings.LOCAL_TZ
UNITS = [
    (r["unit_code"], r["unit_name"], int(r["sort_order"]))
    for r in csv.DictReader(settings.UNITS_CSV.open(encoding="utf-8"))
]
UNITS.sort(key=lambda u: u[2])

# indicators.md, in its order: code, Chinese name, kind (the oracle, independent of cei.export).
SPEC_INDICATORS = [
    ("satisfaction_rate", "消费维权满意率", "rate"),
    ("complaint_accept_ontime_rate", "投诉按时受理率", "rate"),
    ("complaint_close_ontime_rate", "投诉按时办结率", "rate"),
    ("mediation_success_rate", "调解成功率", "rate"),
    ("report_verify_ontime_rate", "举报按时核查率", "rate"),
    ("recovered_loss_yuan", "挽回经济损失（元）", "money"),
    ("tourism_complaints", "旅游投诉件数", "count"),
    ("odr_share", "ODR源头化解占比", "rate"),
    ("odr_settle_rate", "ODR和解成功率", "rate"),
    ("odr_ontime_rate", "ODR按时处理率", "rate"),
    ("odr_active_enterprises", "ODR活跃企业数", "count"),
    ("return_enterprises", "无理由退货企业数", "count"),
    ("return_items", "无理由退货件数", "count"),
    ("return_refund_yuan", "无理由退货退款金额（元）", "money"),
    ("inspection_fail_rate", "抽检不合格率", "rate"),
    ("inspection_fail_rate_online", "网络抽检不合格率", "rate"),
    ("inspection_fail_rate_offline", "实体店抽检不合格率", "rate"),
]
SPEC_INDEX = [("cei", "消费环境指数"), ("cei_efficiency", "维权效能"), ("cei_satisfaction", "消费者满意"),
              ("cei_source", "源头治理"), ("cei_quality", "商品质量")]
INDEXED = {"complaint_accept_ontime_rate", "complaint_close_ontime_rate", "report_verify_ontime_rate",
           "mediation_success_rate", "satisfaction_rate", "odr_share", "odr_settle_rate", "odr_ontime_rate",
           "inspection_fail_rate"}
LOWER_IS_BETTER = {"inspection_fail_rate"}
HEADER = "period,unit_code,unit_name,indicator_code,indicator_name,numerator,denominator,value,score,rank,note"

MART_DDL = """
create schema if not exists marts;
create table marts.dim_unit (unit_code text, unit_name text, sort_order integer, county_count integer);
create table marts.mart_indicator_period (period text, period_type text, unit_code text, unit_name text,
    indicator_code text, numerator numeric, denominator numeric, value numeric,
    calendar_status text not null default 'official');
create table marts.mart_cei (period text, period_type text, unit_code text, unit_name text, component_code text,
    score numeric, rank integer, rank_p05 numeric, rank_p50 numeric, rank_p95 numeric, coverage numeric, note text);
create table marts.mart_indicator_score (period text, period_type text, unit_code text, unit_name text,
    indicator_code text, component_code text, value numeric, score numeric, rank integer, note text);
create table marts.mart_feed_coverage (period text, period_type text, feed text, unit_code text, unit_name text,
    rows bigint, months_present integer, months integer);
create table marts.dim_cei_rule (rule_code text, indicator_code text, indicator_name text, threshold numeric,
    description text);
insert into marts.dim_cei_rule (rule_code, indicator_code, threshold) values
    ('min_denominator', 'satisfaction_rate', 30), ('min_coverage', null, 0.65), ('min_ranked_units', null, 6);
create table marts.mart_cei_audit (period text, period_type text, audit_order integer, section text, subject text,
    related text, measure text, value numeric, flag text);
create table marts.dim_indicator (indicator_code text, indicator_name text, family text, measure text,
    value_unit text, direction text, sort_order integer, component_code text, weight_in_component numeric,
    numerator_definition text, denominator_definition text);
create table marts.dim_cei_component (component_code text, component_name text, direction text, definition text,
    sort_order integer, parent_code text, weight_in_index numeric);
"""
FEEDS = ("hotline", "odr", "returns", "inspection")
PERIODS = {"2026-03": "month", "2026Q1": "quarter", "2026": "year"}


# ---------------------------------------------------------------------------------------------
# Hand-made marts and ledger


def q(x: Decimal | int | None, places: str) -> str:
    return "" if x is None else format(Decimal(x).quantize(Decimal(places), rounding=ROUND_HALF_UP), "f")


def hand_made(period: str) -> tuple[list[tuple], list[tuple]]:
    """(unit, code, numerator, denominator, value) and (unit, component, score, rank, p05, p95),
    with the awkward cases: a zero denominator, halves to round, an index tie at 2 decimals."""
    rng = random.Random(f"cei-export-{period}")
    ind, idx = [], []
    for unit, _, _ in UNITS:
        for code, _, kind in SPEC_INDICATORS:
            if kind == "rate":
                den = rng.randint(40, 400)
                num = rng.randint(0, den)
                value = Decimal(num) / Decimal(den)
            elif kind == "money":
                num, den = Decimal(rng.randint(0, 10**8)) / 1000, None
                value = num
            else:
                num, den = rng.randint(0, 500), None
                value = num
            if (unit, code) == ("350128", "satisfaction_rate"):
                num, den, value = 0, 0, None  # a rate whose denominator is 0 is null
            if (unit, code) == ("350100", "recovered_loss_yuan"):
                num = value = Decimal("1234.565")  # float formatting would give 1234.56
            if (unit, code) == ("350200", "mediation_success_rate"):
                num, den, value = 1234565, 10000000, Decimal("0.1234565")  # → 0.123457
            ind.append((unit, code, num, den, value))
    for component, _ in SPEC_INDEX:
        scores = {unit: Decimal(rng.randint(0, 1_000_000)) / 10000 for unit, _, _ in UNITS}
        if component == "cei":
            scores["350300"], scores["350400"] = Decimal("80.001"), Decimal("79.996")  # both 80.00
        shown = {u: s.quantize(Decimal("0.01"), ROUND_HALF_UP) for u, s in scores.items()}
        for unit, s in scores.items():
            rank = 1 + sum(1 for v in shown.values() if v > shown[unit])
            idx.append((unit, component, s, rank, Decimal(max(1, rank - 1)), Decimal(min(10, rank)) + Decimal("0.5")))
    return ind, idx


def oracle_scores(period: str) -> dict[tuple[str, str], tuple[Decimal, int]]:
    """(unit, indicator) → (score to 2 decimals, rank): indicators.md step 1 computed here, for the
    hand-made mart_indicator_score (every unit has enough data)."""
    ind, _ = hand_made(period)
    ind_by = {(u, c): v for u, c, _, _, v in ind}
    scores = {}
    for code, _, _ in SPEC_INDICATORS:
        if code not in INDEXED:
            continue
        values = {u: ind_by[(u, code)] for u, _, _ in UNITS}
        present = [v for v in values.values() if v is not None]
        lo, hi = min(present), max(present)
        shown = {}
        for u, v in values.items():
            if v is None:
                continue
            s = Decimal(100) if hi == lo else (
                100 * (hi - v) / (hi - lo) if code in LOWER_IS_BETTER else 100 * (v - lo) / (hi - lo))
            shown[u] = s.quantize(Decimal("0.01"), ROUND_HALF_UP)
        for u in shown:
            scores[(u, code)] = (shown[u], 1 + sum(1 for w in shown.values() if w > shown[u]))
    return scores


def seed(name: str) -> list[dict]:
    """A dbt seed's rows, an empty field as null (as dbt loads it)."""
    with (settings.DBT_PROJECT_DIR / "seeds" / name).open(encoding="utf-8", newline="") as fh:
        return [{k: v or None for k, v in r.items()} for r in csv.DictReader(fh)]


def build_catalogue(conn) -> None:
    """marts.dim_indicator and marts.dim_cei_component as dbt builds them from the seeds: the
    catalogue the export publishes."""
    weights = {w["component_code"]: (w["parent_code"], w["weight"]) for w in seed("cei_weights.csv")}
    with conn.cursor() as cur:
        cur.executemany(
            "insert into marts.dim_indicator values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(r["indicator_code"], r["indicator_name"], r["family"], r["measure"], r["value_unit"], r["direction"],
              int(r["sort_order"]), *weights.get(r["indicator_code"], (None, None)), r["numerator_definition"],
              r["denominator_definition"]) for r in seed("ref_indicators.csv")],
        )
        cur.executemany(
            "insert into marts.dim_cei_component values (%s, %s, %s, %s, %s, %s, %s)",
            [(r["component_code"], r["component_name"], r["direction"], r["definition"], int(r["sort_order"]),
              *weights.get(r["component_code"], (None, None))) for r in seed("ref_cei_components.csv")],
        )


def build_marts(conn) -> None:
    calendar.refresh_calendar(conn)  # the library's years, then provisional ones
    conn.execute(MART_DDL)
    build_catalogue(conn)
    names = {u: n for u, n, _ in UNITS}
    with conn.cursor() as cur:
        cur.executemany("insert into marts.dim_unit values (%s, %s, %s, 1)", UNITS)
        for period, ptype in PERIODS.items():
            ind, idx = hand_made(period)
            cur.executemany(
                "insert into marts.mart_indicator_period values (%s, %s, %s, %s, %s, %s, %s, %s, 'official')",
                [(period, ptype, u, names[u], c, n, d, v) for u, c, n, d, v in ind],
            )
            cur.executemany(
                "insert into marts.mart_cei values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, null)",
                [(period, ptype, u, names[u], c, s, r, p5, r, p95) for u, c, s, r, p5, p95 in idx],
            )
            scores = oracle_scores(period)
            cur.executemany(
                "insert into marts.mart_indicator_score values (%s, %s, %s, %s, %s, null, null, %s, %s, null)",
                [(period, ptype, u, names[u], c, *scores.get((u, c), (None, None)))
                 for u, _, _ in UNITS for c in INDEXED],
            )
            cur.executemany(
                "insert into marts.mart_feed_coverage values (%s, %s, %s, %s, %s, 100, 1, 1)",
                [(period, ptype, feed, u, names[u]) for feed in FEEDS for u, _, _ in UNITS],
            )


def add_run(conn, delivery: date, status: str = "succeeded") -> int:
    as_of = datetime.combine(delivery, time(23, 59, 59), TZ)
    return conn.execute(
        "insert into meta.pipeline_runs (status, landing, delivery_dates, as_of, finished_at)"
        " values (%s, '/landing', %s, %s, clock_timestamp()) returning run_id",
        (status, [delivery], as_of),
    ).fetchone()[0]


def add_hotline_file(conn, run_id: int, delivery: date, name: str, rows: list[tuple]) -> int:
    """A loaded hotline file with rows (work_order_id, registered_at, closed_at)."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, size_bytes, status,"
        " rows_read, rows_loaded) values (%s, 'hotline', %s, %s, %s, 100, 'loaded', %s, %s) returning file_id",
        (run_id, delivery, name, sha, len(rows), len(rows)),
    ).fetchone()[0]
    for i, (wo, registered, closed) in enumerate(rows, start=2):
        conn.execute(
            "insert into raw.hotline_work_orders (load_file_id, delivery_date, source_row, row_hash, work_order_id,"
            " kind, registered_at, closed_at, updated_at) values (%s, %s, %s, %s, %s, '投诉', %s, %s, %s)",
            (file_id, delivery, i, f"{name}-{i}", wo, registered, closed, closed or registered),
        )
    return file_id


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), TZ)


@pytest.fixture
def conn(warehouse_url):
    with warehouse.connect() as c:
        build_marts(c)
        c.commit()
        yield c


@pytest.fixture
def loaded(conn):
    """One successful run as of 2026-04-10 (2026Q1 provisional) that loaded one March file."""
    run = add_run(conn, date(2026, 4, 10))
    add_hotline_file(conn, run, date(2026, 3, 20), "hotline_20260320.csv",
                     [("WO1", at("2026-03-19"), at("2026-03-20")), ("WO2", at("2026-03-20"), None)])
    add_hotline_file(conn, run, date(2026, 4, 2), "hotline_20260402.csv", [("WO3", at("2026-04-01"), None)])
    conn.commit()
    return run


def read_csv(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


# ---------------------------------------------------------------------------------------------
# The CSV: exactly the marts' figures


def expected_rows(period: str) -> list[dict]:
    """The CSV rows indicators.md asks for, computed here independently from the hand-made marts."""
    ind, idx = hand_made(period)
    ind_by = {(u, c): (n, d, v) for u, c, n, d, v in ind}
    idx_by = {(u, c): (s, r) for u, c, s, r, _, _ in idx}
    scores = {key: (format(score, "f"), str(rank)) for key, (score, rank) in oracle_scores(period).items()}
    rows = []
    for unit, name, _ in UNITS:
        for code, cname, kind in SPEC_INDICATORS:
            n, d, v = ind_by[(unit, code)]
            places = {"rate": "0.000001", "money": "0.01", "count": "1"}[kind]
            num_places = "0.01" if kind == "money" else "1"
            score, rank = scores.get((unit, code), ("", ""))
            rows.append({
                "period": period, "unit_code": unit, "unit_name": name, "indicator_code": code,
                "indicator_name": cname, "numerator": q(None if n is None else Decimal(n), num_places),
                "denominator": q(None if d is None else Decimal(d), "1"), "value": q(v, places),
                "score": score, "rank": rank, "note": "",
            })
        for code, cname in SPEC_INDEX:
            s, r = idx_by[(unit, code)]
            rows.append({
                "period": period, "unit_code": unit, "unit_name": name, "indicator_code": code,
                "indicator_name": cname, "numerator": "", "denominator": "", "value": q(s, "0.01"),
                "score": q(s, "0.01"), "rank": str(r), "note": "",
            })
    return rows


@pytest.mark.parametrize("period", list(PERIODS))
def test_csv_is_exactly_the_marts(conn, loaded, tmp_path, period):
    result = export_period(conn, period, tmp_path)
    assert result.status == "provisional" and result.action == "written"  # as of 2026-04-10
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"assessment_{period}.csv", f"assessment_{period}.json", f"assessment_{period}.xlsx"
    ]
    raw = (tmp_path / f"assessment_{period}.csv").read_bytes()
    assert raw.decode("utf-8-sig").split("\r\n")[0] == HEADER
    rows = read_csv(tmp_path / f"assessment_{period}.csv")
    assert len(rows) == 10 * 22
    assert rows == expected_rows(period)  # every figure, in unit then code order
    by = {(r["unit_code"], r["indicator_code"]): r for r in rows}
    # the awkward cases, spelled out
    assert by[("350100", "recovered_loss_yuan")]["value"] == "1234.57"
    assert by[("350200", "mediation_success_rate")]["value"] == "0.123457"
    assert by[("350128", "satisfaction_rate")]["value"] == ""
    assert by[("350128", "satisfaction_rate")]["score"] == "" and by[("350128", "satisfaction_rate")]["rank"] == ""
    assert by[("350128", "satisfaction_rate")]["denominator"] == "0"
    assert by[("350100", "tourism_complaints")]["score"] == ""  # reported, not scored
    assert by[("350100", "recovered_loss_yuan")]["score"] == ""  # not in the index: not scored
    assert by[("350300", "cei")]["value"] == by[("350400", "cei")]["value"] == "80.00"
    assert by[("350300", "cei")]["rank"] == by[("350400", "cei")]["rank"]


def test_manifest(conn, loaded, tmp_path):
    export_period(conn, "2026Q1", tmp_path)
    m = json.loads((tmp_path / "assessment_2026Q1.json").read_text(encoding="utf-8"))
    assert m["period"] == "2026Q1" and m["period_type"] == "quarter" and m["status"] == "provisional"
    assert m["as_of"] == "2026-04-10T23:59:59+08:00" and m["as_of_run_id"] == loaded
    assert m["final_from"] == "2026-04-16" and m["revision"] == 0 and m["differences"] == []
    datetime.fromisoformat(m["generated_at"])
    for kind in ("csv", "xlsx"):
        data = (tmp_path / m["files"][kind]["name"]).read_bytes()
        assert m["files"][kind]["sha256"] == hashlib.sha256(data).hexdigest()
        assert m["files"][kind]["bytes"] == len(data)
    assert m["files"]["csv"]["rows"] == m["row_counts"]["csv_rows"] == 220
    # only the batch whose rows fall in the quarter (not the April one)
    assert [b["file_name"] for b in m["load_batches"]] == ["hotline_20260320.csv"]
    assert m["load_batches"][0]["sha256"] == hashlib.sha256(b"hotline_20260320.csv").hexdigest()
    with warehouse.connect() as other:  # committed, not only visible to the exporting session
        registered = other.execute("select status, revision, csv_sha256, export_id from meta.exports").fetchall()
    assert registered == [("provisional", 0, m["files"]["csv"]["sha256"], m["export_id"])]
    assert (m["calendar_status"], m["status_reason"], m["withdrawn_files"]) == ("official", None, [])
    assert m["calendar_sources"] == {"2026": "library", "2027": calendar.year_source(2027)}


def test_a_figure_on_a_provisional_calendar_keeps_its_period_provisional(conn, loaded, tmp_path):
    add_run(conn, date(2026, 4, 20))  # 2026-03 is final from 2026-04-16 by the date
    conn.execute("update marts.mart_indicator_period set calendar_status = 'provisional'"
                 " where period = '2026-03' and indicator_code = 'complaint_close_ontime_rate'")
    conn.commit()
    assert export_period(conn, "2026-03", tmp_path).status == "provisional"
    m = json.loads((tmp_path / "assessment_2026-03.json").read_text(encoding="utf-8"))
    assert (m["status"], m["calendar_status"]) == ("provisional", "provisional")
    assert "complaint_close_ontime_rate" in m["status_reason"]
    sheet = openpyxl.load_workbook(tmp_path / "assessment_2026-03.xlsx")["说明"]
    assert any("暂定工作日历" in str(c.value) for row in sheet.iter_rows() for c in row)

    conn.execute("update marts.mart_indicator_period set calendar_status = 'official'")
    conn.commit()
    assert export_period(conn, "2026-03", tmp_path).status == "final"


def test_source_files_by_the_months_each_file_holds(conn, loaded, tmp_path):
    export_period(conn, "2026-03", tmp_path)
    recorded = conn.execute("select file_name, business_months from meta.load_files order by file_id").fetchall()
    assert recorded == [("hotline_20260320.csv", [date(2026, 3, 1)]), ("hotline_20260402.csv", [date(2026, 4, 1)])]
    # loaded after that export: registered in March, closed in April by local time (March in UTC)
    add_hotline_file(conn, loaded, date(2026, 4, 3), "hotline_20260403.csv",
                     [("WO4", at("2026-03-31", 23), at("2026-04-01", 1))])
    conn.execute("update meta.load_files set business_months = '{2020-01-01}' where file_name = 'hotline_20260320.csv'")
    conn.commit()
    summarise_new_files(conn)  # only files not summarised yet: the March file keeps what it has

    def names(period: str) -> list[str]:
        return [f.file_name for f in source_files(conn, parse_period(period), loaded)]

    assert names("2026-03") == ["hotline_20260403.csv"]
    assert names("2026-04") == ["hotline_20260402.csv", "hotline_20260403.csv"]
    assert names("2026Q1") == ["hotline_20260403.csv"]
    assert names("2020") == ["hotline_20260320.csv"]
    assert names("2026-05") == []


# ---------------------------------------------------------------------------------------------
# The workbook: the same figures, for people


def _table(ws, header_rows: int) -> tuple[list[str], list[list]]:
    """Headers (group / sub-header joined) and data rows of a sheet (title, note, headers, data)."""
    first = 2 + header_rows
    headers = []
    group = ""
    for col in range(1, ws.max_column + 1):
        top = ws.cell(row=3, column=col).value
        group = top if top is not None else group
        sub = ws.cell(row=3 + header_rows - 1, column=col).value if header_rows == 2 else None
        headers.append(f"{group}/{sub}" if sub and sub != group else (top or group))
    rows = []
    for r in range(first + 1, first + 11):
        rows.append([ws.cell(row=r, column=c).value for c in range(1, ws.max_column + 1)])
    return headers, rows


def _num(text: str):
    return None if text == "" else float(Decimal(text))


def test_workbook_holds_the_csv_figures(conn, loaded, tmp_path):
    export_period(conn, "2026Q1", tmp_path)
    rows = read_csv(tmp_path / "assessment_2026Q1.csv")
    by = {(r["unit_code"], r["indicator_code"]): r for r in rows}
    names = {c: n for c, n, _ in SPEC_INDICATORS} | dict(SPEC_INDEX)
    wb = openpyxl.load_workbook(tmp_path / "assessment_2026Q1.xlsx")
    assert wb.sheetnames == ["消费维权满意率", "消费环境指数", "维权效能", "源头治理", "商品质量", "无理由退货", "趋势",
                             "指数审计", "说明", "数据来源"]
    assert wb.properties.created == datetime(2026, 4, 10, 15, 59, 59)  # the as-of (UTC), not the wall clock
    compared = 0

    ws = wb["消费维权满意率"]
    assert ws.freeze_panes == "C4"
    headers, data = _table(ws, 1)
    assert headers[:8] == ["单位代码", "单位名称", "满意及基本满意（件）", "参评回访（件）", "消费维权满意率", "得分",
                           "排名", "备注"]
    for (unit, name, _), row in zip(UNITS, data):
        csv_row = by[(unit, "satisfaction_rate")]
        assert row[:2] == [unit, name]
        for col, field in zip(row[2:], ("numerator", "denominator", "value", "score", "rank")):
            assert col == _num(csv_row[field]), (unit, field)
            compared += 1
    assert ws.cell(row=4, column=5).number_format == "0.00%"

    ws = wb["消费环境指数"]
    assert ws.freeze_panes == "C5"
    headers, data = _table(ws, 2)
    assert headers[2:8] == ["消费环境指数/得分", "消费环境指数/排名", "消费环境指数/模拟排名中位数",
                            "消费环境指数/排名区间 P5", "消费环境指数/排名区间 P95", "消费环境指数/指标覆盖率"]
    _, idx = hand_made("2026Q1")
    band = {u: (p5, p95) for u, c, _, _, p5, p95 in idx if c == "cei"}
    for (unit, _, _), row in zip(UNITS, data):
        assert row[2] == _num(by[(unit, "cei")]["score"]) and row[3] == _num(by[(unit, "cei")]["rank"])
        assert (row[5], row[6]) == (float(band[unit][0]), float(band[unit][1]))
        for j, (code, cname) in enumerate(SPEC_INDEX[1:]):
            assert headers[8 + 2 * j] == f"{cname}/得分"
            assert row[8 + 2 * j] == _num(by[(unit, code)]["score"])
            assert row[9 + 2 * j] == _num(by[(unit, code)]["rank"])
            compared += 2
        compared += 2

    fields = {"分子": "numerator", "分母": "denominator", "比率": "value", "数值": "value", "得分": "score",
              "排名": "rank"}
    seen_codes = {"satisfaction_rate"}
    for sheet in ("维权效能", "源头治理", "商品质量", "无理由退货"):
        ws = wb[sheet]
        assert ws.freeze_panes == "C5"
        headers, data = _table(ws, 2)
        by_name = {n: c for c, n in names.items()}
        for col, header in enumerate(headers[2:], start=2):
            if header == "备注":  # the notes in words, and the columns titles and notes run over
                continue
            group, sub = header.split("/")
            code = by_name[group.removesuffix("（仅报告）")]
            seen_codes.add(code)
            for (unit, _, _), row in zip(UNITS, data):
                assert row[col] == _num(by[(unit, code)][fields[sub]]), (sheet, unit, code, sub)
                compared += 1
            if sub == "比率":
                assert ws.cell(row=5, column=col + 1).number_format == "0.00%"
    assert seen_codes == {c for c, _, _ in SPEC_INDICATORS}  # every indicator has its place
    assert compared > 400

    notes = [" ".join(str(c.value) for c in row if c.value is not None) for row in wb["说明"].iter_rows()]
    text = "\n".join(notes)
    assert "2026-04-10 23:59:59" in text and "暂定" in text and "cei 0.1.0" in text
    assert all(c in text for c, _, _ in SPEC_INDICATORS)
    sources = "\n".join(str(c.value) for row in wb["数据来源"].iter_rows() for c in row if c.value is not None)
    assert hashlib.sha256(b"hotline_20260320.csv").hexdigest() in sources
    with zipfile.ZipFile(tmp_path / "assessment_2026Q1.xlsx") as z:  # openpyxl drops charts on reading
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 5  # satisfaction, index, ranks; the trend of the rate and of the index
        assert any("hiLowLines" in z.read(n).decode() for n in charts)  # the rank band


def test_same_warehouse_same_bytes(conn, loaded, tmp_path):
    export_period(conn, "2026Q1", tmp_path / "a")
    export_period(conn, "2026Q1", tmp_path / "b")
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    for name in ("assessment_2026Q1.csv", "assessment_2026Q1.xlsx"):
        assert a[name] == b[name], f"{name} differs between two exports of the same warehouse"
    ma, mb = (json.loads(x["assessment_2026Q1.json"]) for x in (a, b))
    for m in (ma, mb):
        m.pop("generated_at"), m.pop("export_id")
    assert ma == mb


# ---------------------------------------------------------------------------------------------
# Provisional → final → revision


def test_final_then_revisions_never_overwrite(conn, loaded, tmp_path):
    out = tmp_path / "exports"
    first = export_period(conn, "2026Q1", out)
    assert first.status == "provisional"
    again = export_period(conn, "2026Q1", out)  # provisional: regenerated freely
    assert again.action == "written"

    add_run(conn, date(2026, 4, 16))  # the 16th day after 2026Q1 ends: final
    conn.commit()
    final = export_period(conn, "2026Q1", out)
    assert (final.status, final.action, final.revision) == ("final", "written", 0)
    published = snapshot(out)
    assert json.loads(published["assessment_2026Q1.json"])["status"] == "final"

    # Same figures later: nothing new, said so.
    add_run(conn, date(2026, 4, 20))
    conn.commit()
    same = export_period(conn, "2026Q1", out)
    assert same.action == "unchanged" and same.files == () and "nothing written" in same.summary
    assert snapshot(out) == published

    # A late correction changes one unit's satisfaction figures: rev1 lists exactly what changed.
    conn.execute(
        "update marts.mart_indicator_period set numerator = numerator + 1, value = (numerator + 1) / denominator"
        " where period = '2026Q1' and unit_code = '350500' and indicator_code = 'satisfaction_rate'"
    )
    conn.commit()
    rev1 = export_period(conn, "2026Q1", out)
    assert (rev1.status, rev1.action, rev1.revision) == ("final", "revised", 1)
    after = snapshot(out)
    assert {k: after[k] for k in published} == published  # the published files are untouched
    assert set(after) - set(published) == {"assessment_2026Q1.rev1.csv", "assessment_2026Q1.rev1.xlsx",
                                           "assessment_2026Q1.rev1.json"}
    m1 = json.loads(after["assessment_2026Q1.rev1.json"])
    assert m1["status"] == "final" and m1["revision"] == 1 and m1["revises"] == "assessment_2026Q1.csv"
    changed = {(d["unit"], d["code"], d["field"]) for d in m1["differences"]}
    assert ("350500", "satisfaction_rate", "numerator") in changed
    assert ("350500", "satisfaction_rate", "value") in changed
    assert {c for _, c, _ in changed} == {"satisfaction_rate"}  # its score/rank may move with it, nothing else
    old_rows = {(r["unit_code"], r["indicator_code"]): r for r in read_csv(out / "assessment_2026Q1.csv")}
    new_rows = {(r["unit_code"], r["indicator_code"]): r for r in read_csv(out / "assessment_2026Q1.rev1.csv")}
    for d in m1["differences"]:
        assert old_rows[(d["unit"], d["code"])][d["field"]] == d["old"]
        assert new_rows[(d["unit"], d["code"])][d["field"]] == d["new"]
    assert sum(old_rows[k] != new_rows[k] for k in old_rows) == len({(u, c) for u, c, _ in changed})
    notes = "\n".join(
        " ".join(str(c.value) for c in row if c.value is not None)
        for row in openpyxl.load_workbook(out / "assessment_2026Q1.rev1.xlsx")["说明"].iter_rows()
    )
    assert "第 1 次修订" in notes and "修订内容" in notes

    # Nothing changed since rev1: no rev2.
    before = snapshot(out)
    assert export_period(conn, "2026Q1", out).action == "unchanged"
    assert snapshot(out) == before

    # A figure published only in the workbook (the rank band) is a figure too.
    conn.execute("update marts.mart_cei set rank_p95 = rank_p95 + 1 where period = '2026Q1'"
                 " and unit_code = '350100' and component_code = 'cei'")
    conn.commit()
    rev2 = export_period(conn, "2026Q1", out)
    assert rev2.revision == 2
    assert [(d.unit, d.code, d.field) for d in rev2.differences] == [("350100", "cei", "rank_p95")]
    assert json.loads((out / "assessment_2026Q1.rev2.json").read_text())["revises"] == "assessment_2026Q1.rev1.csv"
    registry = conn.execute("select status, revision from meta.exports order by export_id").fetchall()
    assert registry == [("provisional", 0), ("provisional", 0), ("final", 0), ("final", 1), ("final", 2)]


def test_a_changed_or_missing_publication_stops_the_export(conn, loaded, tmp_path):
    add_run(conn, date(2026, 4, 30))
    conn.commit()
    export_period(conn, "2026-03", tmp_path)
    conn.execute("update marts.mart_indicator_period set value = 0.5 where period = '2026-03'"
                 " and unit_code = '350100' and indicator_code = 'odr_share'")
    conn.commit()
    published = tmp_path / "assessment_2026-03.csv"
    original = published.read_bytes()
    published.write_bytes(original.replace(b"\r\n", b"\n"))  # someone re-saved it
    before = snapshot(tmp_path)
    with pytest.raises(CeiError, match="not the file that was published"):
        export_period(conn, "2026-03", tmp_path)
    assert snapshot(tmp_path) == before
    published.unlink()
    with pytest.raises(CeiError, match="missing"):
        export_period(conn, "2026-03", tmp_path)
    published.write_bytes(original)  # restored: the revision goes ahead
    assert export_period(conn, "2026-03", tmp_path).revision == 1


def test_a_publication_unknown_to_the_registry_is_compared_by_its_csv(conn, loaded, tmp_path):
    """A folder published from another (or a rebuilt) warehouse: its CSV is the record."""
    add_run(conn, date(2026, 4, 30))
    conn.commit()
    export_period(conn, "2026-03", tmp_path)
    conn.execute("delete from meta.exports")
    conn.execute("update marts.mart_indicator_period set value = 0.5 where period = '2026-03'"
                 " and unit_code = '350100' and indicator_code = 'inspection_fail_rate_online'")
    conn.commit()
    rev = export_period(conn, "2026-03", tmp_path)
    assert rev.revision == 1
    assert [(d.unit, d.code, d.field, d.new) for d in rev.differences] == [
        ("350100", "inspection_fail_rate_online", "value", "0.500000")]


def test_notes_withheld_ranks_and_a_feed_without_data(conn, loaded, tmp_path):
    add_run(conn, date(2026, 4, 20))  # 2026-03 is final from 2026-04-16 by the date
    conn.execute("update marts.mart_indicator_score set score = null, rank = null, note = 'insufficient_data'"
                 " where period = '2026-03' and unit_code = '350100' and indicator_code = 'satisfaction_rate'")
    # four units with an index: the index keeps its scores, ranks and bands go
    conn.execute("update marts.mart_cei set rank = null, rank_p05 = null, rank_p50 = null, rank_p95 = null,"
                 " note = 'too_few_units' where period = '2026-03'")
    conn.execute("update marts.mart_cei set score = null, coverage = 0.3, note = 'insufficient_coverage'"
                 " where period = '2026-03' and unit_code not in ('350100', '350200', '350300', '350400')")
    conn.execute("update marts.mart_feed_coverage set rows = 0, months_present = 0"
                 " where period = '2026-03' and feed = 'odr'")
    conn.commit()
    result = export_period(conn, "2026-03", tmp_path)
    assert result.status == "provisional"  # past its final date, but the ODR feed delivered nothing
    by = {(r["unit_code"], r["indicator_code"]): r for r in read_csv(tmp_path / "assessment_2026-03.csv")}
    sat = by[("350100", "satisfaction_rate")]
    assert (sat["score"], sat["rank"], sat["note"]) == ("", "", "insufficient_data") and sat["value"] != ""
    assert (by[("350100", "cei")]["rank"], by[("350100", "cei")]["note"]) == ("", "too_few_units")
    assert by[("350100", "cei")]["score"] != ""
    assert (by[("350500", "cei")]["score"], by[("350500", "cei")]["note"]) == ("", "insufficient_coverage")
    m = json.loads((tmp_path / "assessment_2026-03.json").read_text(encoding="utf-8"))
    assert "no data at all from odr in 2026-03" in m["status_reason"]
    assert m["coverage"]["feeds_without_data"] == ["odr"] and len(m["coverage"]["by_feed"]) == 40
    suff = m["data_sufficiency"]
    assert suff["units_with_index"] == 4 and "only 4 of 10 units have an index" in suff["ranks_withheld_reason"]
    assert suff["rules"] == {"min_denominator": {"satisfaction_rate": 30}, "min_coverage": "0.65",
                             "min_ranked_units": 6}
    assert suff["notes"] == {"insufficient_coverage": 30, "insufficient_data": 1, "too_few_units": 20}

    conn.execute("update marts.mart_feed_coverage set rows = 1, months_present = 1")
    conn.commit()
    assert export_period(conn, "2026-03", tmp_path).status == "final"


# ---------------------------------------------------------------------------------------------
# Bad periods, no as-of: one line, nothing written


@pytest.mark.parametrize("period", ["2026-13", "2026Q5", "26Q1", "abc", "2026-3", "2026q1", "", "2026-00"])
def test_bad_period_one_line_nothing_written(conn, loaded, tmp_path, capsys, period):
    out = tmp_path / "out"
    assert cli.main(["export", "--period", period, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cei: error: bad period") and err.count("\n") == 1
    assert not out.exists()
    assert conn.execute("select count(*) from meta.exports").fetchone()[0] == 0


@pytest.mark.parametrize("period", ["2026Q3", "2026-05", "2027"])
def test_future_period_refused(conn, loaded, tmp_path, capsys, period):
    out = tmp_path / "out"
    assert cli.main(["export", "--period", period, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "after the as-of 2026-04-10 23:59:59" in err and err.count("\n") == 1
    assert not out.exists()


def test_no_successful_run_is_a_clear_error(conn, tmp_path):
    add_run(conn, date(2026, 4, 10), status="failed")
    conn.commit()
    with pytest.raises(CeiError, match="no successful pipeline run"):
        export_period(conn, "2026Q1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_as_of_is_that_of_the_marts_last_published(conn, loaded, tmp_path):
    """With write–audit–publish (meta.marts_publications) the marts' as-of is the publishing run's,
    even when a later run succeeded without publishing (or failed after publishing)."""
    if not conn.execute("select to_regclass('meta.marts_publications') is not null").fetchone()[0]:
        pytest.skip("this warehouse does not record marts publications")
    later = add_run(conn, date(2026, 4, 20))
    conn.execute("insert into meta.marts_publications (run_id, as_of, tables) values (%s, %s, %s)",
                 (loaded, datetime.combine(date(2026, 4, 10), time(23, 59, 59), TZ), ["mart_cei"]))
    conn.commit()
    result = export_period(conn, "2026Q1", tmp_path)
    assert result.as_of == datetime(2026, 4, 10, 23, 59, 59, tzinfo=TZ) and result.status == "provisional"
    with pytest.raises(CeiError, match=f"last published by run {loaded}, not run {later}"):
        refresh_exports(later, tmp_path / "other")


def test_period_without_figures(conn, loaded, tmp_path):
    with pytest.raises(CeiError, match="no figures for period 2025Q4"):
        export_period(conn, "2025Q4", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_export(conn, loaded, tmp_path, capsys):
    assert cli.main(["export", "--period", "2026-03", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2026-03 (provisional, as of 2026-04-10 23:59:59): wrote assessment_2026-03.csv" in out


# ---------------------------------------------------------------------------------------------
# The nightly refresh


def test_periods_touched_by_a_run(conn):
    run1 = add_run(conn, date(2026, 6, 9))
    add_hotline_file(conn, run1, date(2025, 12, 1), "h1.csv", [("WO-A", at("2025-11-20"), at("2025-12-01"))])
    add_hotline_file(conn, run1, date(2025, 9, 1), "h0.csv", [("WO-B", at("2025-08-20"), None)])
    conn.commit()
    # the only run: its months come from the ledger, with no lookup of earlier versions
    assert periods_touched(conn, run1) == ["2025-08", "2025-11", "2025-12", "2026-04", "2026-05", "2026-06",
                                           "2025Q3", "2025Q4", "2026Q2", "2025", "2026"]
    run2 = add_run(conn, date(2026, 6, 10))
    # a new version of WO-A: closed in January instead of December — December changes too
    add_hotline_file(conn, run2, date(2026, 1, 5), "h2.csv", [("WO-A", at("2025-11-20"), at("2026-01-05"))])
    conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, status, rows_read,"
        " rows_loaded) values (%s, 'inspection', '2026-06-10', 'i.csv', 'x', 'loaded', 1, 1)",
        (run2,),
    )
    conn.execute(
        "insert into raw.inspection_samples (load_file_id, delivery_date, source_row, row_hash, sample_id,"
        " sampled_on) values (currval('meta.load_files_file_id_seq'), '2026-06-10', 2, 'i', 'S1', '2027-01-05')"
    )
    conn.commit()
    touched = periods_touched(conn, run2)
    # rows: 2025-11, 2025-12 (the old version), 2026-01; the as-of's move: 2026-04 … 2026-06
    # (6-09 − 44 days); the 2027 sample is after the as-of; WO-B (run 1 only) is not this run's.
    assert touched == ["2025-11", "2025-12", "2026-01", "2026-04", "2026-05", "2026-06",
                       "2025Q4", "2026Q1", "2026Q2", "2025", "2026"]


def test_refresh_exports(conn, loaded, tmp_path):
    results = refresh_exports(loaded, tmp_path)
    # touched: the March file and the as-of window; the marts hold figures for 2026-03, 2026Q1, 2026
    assert [(r.period, r.action) for r in results] == [("2026-03", "written"), ("2026Q1", "written"),
                                                         ("2026", "written")]
    assert len(list(tmp_path.glob("assessment_*.json"))) == 3
    conn.execute("update meta.pipeline_runs set status = 'failed' where run_id = %s", (loaded,))
    conn.commit()
    with pytest.raises(CeiError, match="failed"):
        refresh_exports(loaded, tmp_path)


# ---------------------------------------------------------------------------------------------
# Rendering for people: the workbook as the bureau's officers print it (LibreOffice → PDF, read
# back with poppler). The PDF and a PNG of its first pages are kept in tests/artifacts/.


def test_workbook_renders_in_libreoffice(conn, loaded, tmp_path, libreoffice):
    export_period(conn, "2026Q1", tmp_path)
    xlsx = tmp_path / "assessment_2026Q1.xlsx"
    texts = libreoffice.render(xlsx, tmp_path)
    q1 = "2026年第一季度"
    titles = {"消费维权满意率": f"{q1}消费维权满意率（暂定）", "消费环境指数": f"{q1}消费环境指数（暂定）",
              "维权效能": f"{q1}维权效能（暂定）", "趋势": f"{q1}按月趋势（暂定）",
              "指数审计": f"{q1}消费环境指数统计审计（暂定）", "说明": f"{q1}消费环境评价考核数据（暂定）说明",
              "数据来源": f"{q1}数据来源（暂定）"}
    libreoffice.check_pages(texts, xlsx, titles, ["数据来源", "指数审计", "趋势", *(name for _, name, _ in UNITS),
                                       hashlib.sha256(b"hotline_20260320.csv").hexdigest()])
