"""The workbook without a warehouse: sheets, formats, frozen headers, charts, and the same bytes
for the same figures (cei.export.workbook)."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal as D

import openpyxl

from cei import settings
from cei.export import workbook
from cei.export.catalogue import CODES
from cei.export.figures import Unit, assemble
from cei.export.periods import parse_period
from cei.export.provenance import SourceFile
from cei.export.revisions import Difference

UNITS = tuple(Unit(f"3501{i:02d}", f"单位{i}", i) for i in range(1, 11))
AS_OF = datetime.combine(date(2026, 4, 20), time(23, 59, 59), settings.LOCAL_TZ)


def figures():
    ind, idx = [], []
    for i, u in enumerate(UNITS, start=1):
        for c in CODES:
            if c.kind == "rate":
                ind.append((u.code, c.code, D(i), D(20), D(i) / D(20)))
            elif c.kind in ("money", "count"):
                ind.append((u.code, c.code, D(i * 100), None, D(i * 100)))
            else:
                idx.append((u.code, c.code, D(100 - 5 * i), D(i), D(max(1, i - 1)), D(min(10, i + 1))))
    return assemble(parse_period("2026Q1"), UNITS, ind, idx)


def context(**kw):
    base = dict(status="final", revision=0, as_of=AS_OF, run_id=7, version="0.1.0", file_stem="assessment_2026Q1",
                sources=(SourceFile(1, 7, "hotline", date(2026, 3, 2), "a.csv", "ab" * 32, 10),))
    return workbook.Context(**(base | kw))


def test_same_figures_same_bytes():
    f = figures()
    assert workbook.render(f, context()) == workbook.render(f, context())


def test_layout_and_formats():
    wb = openpyxl.load_workbook(io.BytesIO(workbook.render(figures(), context())))
    assert wb.sheetnames == ["消费维权满意率", "消费环境指数", "维权效能", "源头治理", "商品质量", "无理由退货", "说明"]
    assert wb.properties.created == datetime(2026, 4, 20, 15, 59, 59)
    head = wb["消费维权满意率"]
    assert head["A1"].value == "2026年第一季度消费维权满意率（正式）"
    assert head.freeze_panes == "C4" and head["E4"].number_format == "0.00%" and head["E4"].value == 0.05
    assert [head.cell(row=r, column=7).value for r in range(4, 14)] == list(range(10, 0, -1))
    assert wb["消费环境指数"].freeze_panes == "C5" and wb["消费环境指数"]["C5"].value == 95
    assert wb["商品质量"]["E5"].number_format == "0.00%"
    assert wb["无理由退货"]["D5"].number_format == "#,##0"  # 退货件数
    assert wb["无理由退货"]["E5"].number_format == "#,##0.00"  # 退款金额
    assert all(wb[s].column_dimensions["B"].width >= 8 for s in wb.sheetnames[:-1])


def test_revision_lists_its_differences():
    ctx = context(revision=1, revises="assessment_2026Q1.csv", file_stem="assessment_2026Q1.rev1",
                  differences=(Difference("350101", "satisfaction_rate", "value", "0.050000", "0.100000"),))
    wb = openpyxl.load_workbook(io.BytesIO(workbook.render(figures(), ctx)))
    assert wb["消费维权满意率"]["A1"].value.endswith("（正式，第1次修订）")
    cells = [c.value for row in wb["说明"].iter_rows() for c in row if c.value is not None]
    assert "修订内容（相对 assessment_2026Q1.csv）" in cells and "0.100000" in cells


def test_charts():
    with zipfile.ZipFile(io.BytesIO(workbook.render(figures(), context()))) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 3
        assert "hiLowLines" in z.read(charts[-1]).decode()
