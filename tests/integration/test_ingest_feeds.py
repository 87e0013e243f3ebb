"""Every row-defect class of the ODR, returns and inspection feeds, loaded into a real PostgreSQL.

Each feed gets one delivery whose rows are a valid base record and that record with exactly one
defect each; the quarantine must hold each defect under its reason code, the valid rows load,
and field defects load nulled with a warning. (Hotline: tests/integration/test_ingest.py.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from builders import csv_bytes, deliver, fields, header, jsonl_bytes, row, xlsx_bytes
from stdnum.cn import uscc

from cei import pipeline, warehouse

DAY = "2026-07-01"
USCC = "91350100MA2Y" + "Q1234"
USCC += uscc.calc_check_digit(USCC)
BAD_USCC = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")


def _quarantine_and_warnings(table: str) -> tuple[dict[int, str], list[list[str]]]:
    with warehouse.connect() as conn:
        q = dict(conn.execute("select source_row, reason_code from quarantine.quarantined_rows").fetchall())
        w = [r[0] for r in conn.execute(f"select warnings from raw.{table} where cardinality(warnings) > 0")]
    return q, w


def test_odr_defects(warehouse_url, tmp_path: Path):
    base = dict(
        dispute_id="D1",
        enterprise_uscc=USCC,
        region_code="350203",
        filed_at="2026-06-20T09:12:33+08:00",
        closed_at="2026-06-25T10:00:00+08:00",
        status="和解成功",
        amount=120.5,
        updated_at="2026-06-25T10:00:00+08:00",
    )
    cases = [
        ("missing_required", {"dispute_id": None}),
        ("bad_uscc", {"enterprise_uscc": BAD_USCC}),  # required here: a row defect
        ("unknown_region", {"region_code": "440300"}),
        ("bad_timestamp", {"filed_at": "20 June"}),
        ("bad_enum", {"status": "已撤销"}),
        ("negative_value", {"amount": -1}),
        ("closed_before_filed", {"closed_at": "2026-06-19T10:00:00+08:00"}),
    ]

    def dispute(**change: object) -> dict:  # each with a key no column declares: ignored
        return row("odr", **{**base, **change}) | {"extra_key": "ignored"}

    lines = [dispute(), ""]
    for i, (_, change) in enumerate(cases):
        lines.append(dispute(**{"dispute_id": f"D{i + 2}", **change}))
    lines += ["{broken", dispute(dispute_id="D99", amount="lots")]
    deliver(tmp_path, "odr", DAY, "disputes.jsonl", jsonl_bytes(lines))

    summary = pipeline.ingest(pipeline.start(str(tmp_path), [DAY]))["per_feed"]["odr"]
    quarantined, warnings = _quarantine_and_warnings("odr_disputes")
    expected = {3 + i: code for i, (code, _) in enumerate(cases)} | {10: "bad_json"}
    assert quarantined == expected
    assert warnings == [["bad_number:amount"]]
    assert summary == {
        "files": 1,
        "rows_read": 10,
        "rows_loaded": 2,
        "rows_quarantined": 8,
        "rows_duplicate": 0,
        "rows_warned": 1,
    }


def test_returns_defects_and_layout(warehouse_url, tmp_path: Path):
    base = dict(enterprise_uscc=USCC, region_code="350102", report_month="2026年6月", committed_on="2025-01-01",
                return_items=12, refund_amount="1,234.50")
    cases = [
        ("missing_required", {"enterprise_uscc": ""}),
        ("bad_uscc", {"enterprise_uscc": BAD_USCC}),
        ("unknown_region", {"region_code": "350199"}),
        ("bad_month", {"report_month": "六月"}),
        ("negative_value", {"return_items": -3}),
        ("bad_integer", {"return_items": "2.5"}),
        ("bad_number", {"refund_amount": "许多"}),  # required amount: a row defect
    ]
    # a numbering column (序号) first, then the declared columns
    sheet = [[], ["序号", *header("returns")], [1, *fields("returns", row("returns", **base))]]
    for i, (_, change) in enumerate(cases):
        sheet.append([1, *fields("returns", row("returns", **{**base, **change, "enterprise_name": f"企业{i}"}))])
    other = "91350100MA2YQ1235" + uscc.calc_check_digit("91350100MA2YQ1235")
    sheet.append(["", *fields("returns", row("returns", enterprise_name="另一企业", enterprise_uscc=other,
                                               region_code=350203, report_month=datetime(2026, 6, 30),
                                               committed_on="", return_items="3", refund_amount=10))])
    sheet.append(["合计", "", "", "", "", "", 15, 1244.5])
    workbook = xlsx_bytes(sheet, title="2026年6月线下无理由退货情况统计表")
    deliver(tmp_path, "returns", DAY, "福州市_2026年6月.xlsx", workbook)

    summary = pipeline.ingest(pipeline.start(str(tmp_path), [DAY]))["per_feed"]["returns"]
    quarantined, _ = _quarantine_and_warnings("return_reports")
    assert quarantined == {5 + i: code for i, (code, _) in enumerate(cases)}
    assert summary["rows_read"] == 9 and summary["rows_loaded"] == 2  # the 合计 row is not a record
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select region_code, report_month::text, return_items, refund_amount from raw.return_reports"
            " order by source_row"
        ).fetchall()
    assert [r[:3] for r in rows] == [("350102", "2026-06-01", 12), ("350203", "2026-06-01", 3)]


def test_inspection_defects(warehouse_url, tmp_path: Path):
    base = dict(sample_id="S1", sampled_on="2026/6/15", region_code="350503", channel="网络平台",
                enterprise_uscc=USCC, result="不合格", updated_at="2026-06-20 10:00:00")
    cases = [
        ("missing_required", {"sample_id": ""}),
        ("bad_date", {"sampled_on": "2026-06-31"}),
        ("unknown_region", {"region_code": "999999"}),
        ("bad_enum", {"channel": "电视购物"}),
        ("bad_enum", {"result": "基本合格"}),
        ("bad_timestamp", {"updated_at": "later"}),
    ]
    rows = [row("inspection", **base)]
    for i, (_, change) in enumerate(cases):
        rows.append(row("inspection", **{**base, "sample_id": f"S{i + 2}", **change}))
    # optional USCC: field defect
    rows.append(row("inspection", **{**base, "sample_id": "S99", "enterprise_uscc": BAD_USCC}))
    deliver(tmp_path, "inspection", DAY, "抽检.csv", csv_bytes("inspection", rows, encoding="utf-8-sig"))

    summary = pipeline.ingest(pipeline.start(str(tmp_path), [DAY]))["per_feed"]["inspection"]
    quarantined, warnings = _quarantine_and_warnings("inspection_samples")
    assert quarantined == {3 + i: code for i, (code, _) in enumerate(cases)}
    assert warnings == [["bad_uscc:enterprise_uscc"]]
    assert summary["rows_loaded"] == 2 and summary["rows_quarantined"] == len(cases)
