"""Every row-defect class of the ODR, returns and inspection feeds, loaded into a real PostgreSQL.

Each feed gets one delivery whose rows are a valid base record and that record with exactly one
defect each; the quarantine must hold each defect under its reason code, the valid rows load,
and field defects load nulled with a warning. (Hotline: tests/integration/test_ingest.py.)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import xlsxwriter
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
    base = {
        "dispute_id": "D1",
        "enterprise_uscc": USCC,
        "enterprise_name": "某电商",
        "region_code": "350203",
        "filed_at": "2026-06-20T09:12:33+08:00",
        "closed_at": "2026-06-25T10:00:00+08:00",
        "status": "和解成功",
        "amount": 120.5,
        "updated_at": "2026-06-25T10:00:00+08:00",
        "extra_key": "ignored",
    }
    cases = [
        ("missing_required", {"dispute_id": None}),
        ("bad_uscc", {"enterprise_uscc": BAD_USCC}),  # required here: a row defect
        ("unknown_region", {"region_code": "440300"}),
        ("bad_timestamp", {"filed_at": "20 June"}),
        ("bad_enum", {"status": "已撤销"}),
        ("negative_value", {"amount": -1}),
        ("closed_before_filed", {"closed_at": "2026-06-19T10:00:00+08:00"}),
    ]
    lines = [json.dumps(base, ensure_ascii=False), ""]
    for i, (_, change) in enumerate(cases):
        lines.append(json.dumps({**base, "dispute_id": f"D{i + 2}", **change}, ensure_ascii=False))
    lines += ["{broken", json.dumps({**base, "dispute_id": "D99", "amount": "lots"}, ensure_ascii=False)]
    folder = tmp_path / "odr" / DAY
    folder.mkdir(parents=True)
    (folder / "disputes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

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


RETURNS_HEADER = [
    "序号",
    "企业名称",
    "统一社会信用代码",
    "行政区划代码",
    "报送月份",
    "承诺日期",
    "退货件数",
    "退款金额（元）",
]


def test_returns_defects_and_layout(warehouse_url, tmp_path: Path):
    base = [1, "某超市", USCC, "350102", "2026年6月", "2025-01-01", 12, "1,234.50"]
    cases = [
        ("missing_required", {2: ""}),
        ("bad_uscc", {2: BAD_USCC}),
        ("unknown_region", {3: "350199"}),
        ("bad_month", {4: "六月"}),
        ("negative_value", {6: -3}),
        ("bad_integer", {6: "2.5"}),
        ("bad_number", {7: "许多"}),  # required amount: a row defect
    ]
    folder = tmp_path / "returns" / DAY
    folder.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(folder / "福州市_2026年6月.xlsx"))
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 0, 7, "2026年6月线下无理由退货情况统计表")
    ws.write_row(2, 0, RETURNS_HEADER)
    ws.write_row(3, 0, base)
    for i, (_, change) in enumerate(cases):
        row = list(base)
        for col, value in change.items():
            row[col] = value
        row[1] = f"企业{i}"
        ws.write_row(4 + i, 0, row)
    ws.write_row(
        4 + len(cases),
        0,
        ["", "另一企业", "91350100MA2YQ1235" + uscc.calc_check_digit("91350100MA2YQ1235"), 350203, "", "", "3", 10],
    )
    ws.write_datetime(4 + len(cases), 4, datetime(2026, 6, 30), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(5 + len(cases), 0, ["合计", "", "", "", "", "", 15, 1244.5])
    wb.close()

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


INSPECTION_HEADER = (
    "抽样单编号,抽样日期,行政区划代码,商品类别,销售渠道,平台名称,被抽样单位,统一社会信用代码,检验结论,"
    "不合格项目,更新时间"
)


def test_inspection_defects(warehouse_url, tmp_path: Path):
    base = [
        "S1",
        "2026/6/15",
        "350503",
        "儿童玩具",
        "网络平台",
        "某平台",
        "某店",
        USCC,
        "不合格",
        "标识;小零件",
        "2026-06-20 10:00:00",
    ]
    cases = [
        ("missing_required", {0: ""}),
        ("bad_date", {1: "2026-06-31"}),
        ("unknown_region", {2: "999999"}),
        ("bad_enum", {4: "电视购物"}),
        ("bad_enum", {8: "基本合格"}),
        ("bad_timestamp", {10: "later"}),
    ]
    rows = [base]
    for i, (_, change) in enumerate(cases):
        row = [f"S{i + 2}", *base[1:]]
        for col, value in change.items():
            row[col] = value
        rows.append(row)
    rows.append(["S99", *base[1:7], BAD_USCC, *base[8:]])  # optional USCC: field defect
    folder = tmp_path / "inspection" / DAY
    folder.mkdir(parents=True)
    text = "\r\n".join([INSPECTION_HEADER, *(",".join(r) for r in rows)]) + "\r\n"
    (folder / "抽检.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    summary = pipeline.ingest(pipeline.start(str(tmp_path), [DAY]))["per_feed"]["inspection"]
    quarantined, warnings = _quarantine_and_warnings("inspection_samples")
    assert quarantined == {3 + i: code for i, (code, _) in enumerate(cases)}
    assert warnings == [["bad_uscc:enterprise_uscc"]]
    assert summary["rows_loaded"] == 2 and summary["rows_quarantined"] == len(cases)
