"""The workbook without a warehouse: sheets, formats, frozen headers, charts, print settings, the
marks of figures with a note, 无数据, the trend and the audit, and the same bytes for the same
figures (cei.export.workbook, cei.export.trend)."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal as D

import openpyxl
import pytest
from seed_catalogue import seed_catalogue

from cei import settings
from cei.errors import CeiError
from cei.export import workbook
from cei.export.figures import RATE, AuditRow, FeedCoverage, Rules, Unit, assemble
from cei.export.periods import parse_period
from cei.export.provenance import SourceFile
from cei.export.revisions import Difference
from cei.export.trend import Trend, assemble_trend, months_of, read_trend

UNITS = tuple(
    Unit(code, name, i)
    for i, (code, name) in enumerate(
        [("350100", "福州市"), ("350200", "厦门市"), ("350300", "莆田市"), ("350400", "三明市"), ("350500", "泉州市"),
         ("350600", "漳州市"), ("350700", "南平市"), ("350800", "龙岩市"), ("350900", "宁德市"),
         ("350128", "平潭综合实验区")],
        start=1,
    )
)
AS_OF = datetime.combine(date(2026, 4, 20), time(23, 59, 59), settings.LOCAL_TZ)
SCORED = ("satisfaction_rate", "complaint_accept_ontime_rate", "complaint_close_ontime_rate",
          "mediation_success_rate", "report_verify_ontime_rate", "odr_share", "odr_settle_rate", "odr_ontime_rate",
          "inspection_fail_rate")
PARENT = {"satisfaction_rate": "cei_satisfaction", "odr_share": "cei_source", "odr_settle_rate": "cei_source",
          "odr_ontime_rate": "cei_source", "inspection_fail_rate": "cei_quality"}
RULES = Rules({code: 10 if code == "inspection_fail_rate" else 30 for code in SCORED}, D("0.65"), 6)
THIN = "350128"  # 平潭: too few satisfaction visits (数据不足) and too little of the index's weight (覆盖不足)
CATALOGUE = seed_catalogue()


def base_figures(period: str = "2026Q1"):
    """Figures as the marts give them: every case of a note in one period."""
    ind, idx, scores = [], [], []
    for i, u in enumerate(UNITS, start=1):
        for c in CATALOGUE.codes:
            if c.kind == "rate":
                den = D(12) if (u.code, c.code) == (THIN, "satisfaction_rate") else D(20 + 10 * i)
                ind.append((u.code, c.code, den - i, den, (den - i) / den))
            elif c.kind in ("money", "count"):
                ind.append((u.code, c.code, D(i * 100), None, D(i * 100)))
            elif u.code == THIN:
                idx.append((u.code, c.code, None, None, None, None, None, "insufficient_coverage"))
            else:
                idx.append((u.code, c.code, D(100 - 5 * i), D(i), D(max(1, i - 1)), D(i), D(min(9, i + 1)), None))
        for code in SCORED:
            if (u.code, code) == (THIN, "satisfaction_rate"):
                scores.append((u.code, code, None, None, "insufficient_data"))
            elif code == "inspection_fail_rate":  # scored by too few units to be ranked
                scores.append((u.code, code, D(10 * i), None, "too_few_units"))
            else:
                scores.append((u.code, code, D(100 - 10 * (i - 1)), D(i), None))
    coverage = [FeedCoverage(feed, u.code, 0 if feed == "odr" else 50 * i, 0 if feed == "odr" else 3, 3)
                for feed in ("hotline", "odr", "returns", "inspection") for i, u in enumerate(UNITS, start=1)]
    return assemble(parse_period(period), UNITS, ind, idx, scores, coverage, catalogue=CATALOGUE)


def audit_rows() -> tuple[AuditRow, ...]:
    rows = []
    for k, code in enumerate(SCORED):
        skew_flag = "skew_kurtosis" if code == "odr_share" else None
        rows += [AuditRow("indicator", code, None, "n", D(9), None),
                 AuditRow("indicator", code, None, "missing_share", D("0.1"), None),
                 AuditRow("indicator", code, None, "min", D("0.51"), None),
                 AuditRow("indicator", code, None, "max", D("0.97"), None),
                 AuditRow("indicator", code, None, "mean", D("0.8125"), None),
                 AuditRow("indicator", code, None, "skewness", D("2.4") if skew_flag else D("0.3"), skew_flag),
                 AuditRow("indicator", code, None, "kurtosis", D("5.1") if skew_flag else D("-0.7"), skew_flag)]
        for other in SCORED[k + 1:]:
            same = PARENT.get(code, "cei_efficiency") == PARENT.get(other, "cei_efficiency")
            r = D("-0.21") if (code, other) == ("odr_share", "odr_settle_rate") else D("0.55")
            flag = ("negative" if r < 0 else None) if same else None
            rows.append(AuditRow("correlation", code, other, "pearson_r", r, flag))
    for code in SCORED:
        parent = PARENT.get(code, "cei_efficiency")
        weak = code == "mediation_success_rate"
        rows.append(AuditRow("correlation", code, parent, "pearson_r", D("0.12") if weak else D("0.8"),
                             "weak" if weak else None))
        rows.append(AuditRow("correlation", code, "cei", "pearson_r", D("0.6"), None))
    for sub in CATALOGUE.sub_indices:
        rows.append(AuditRow("correlation", sub.code, "cei", "pearson_r", D("0.7"), None))
    for sub in CATALOGUE.sub_indices:
        single = sub.code in ("cei_satisfaction", "cei_quality")
        rows += [AuditRow("reliability", sub.code, None, "cronbach_alpha", D("NaN") if single else D("0.64"),
                          "single_indicator" if single else None),
                 AuditRow("reliability", sub.code, None, "n", D(9), None)]
    for sub, w in zip(CATALOGUE.sub_indices, ("0.35", "0.3", "0.2", "0.15")):
        rows += [AuditRow("effective_weight", sub.code, None, "nominal_weight", D(w), None),
                 AuditRow("effective_weight", sub.code, None, "effective_weight", D(w) + D("0.05"), None)]
    for i, u in enumerate(UNITS[:-1], start=1):
        rows += [AuditRow("sensitivity", u.code, None, "rank_official", D(i), None),
                 AuditRow("sensitivity", u.code, None, "rank_zscore", D(i), None),
                 AuditRow("sensitivity", u.code, None, "rank_geometric", D(min(9, i + 2)), None),
                 AuditRow("sensitivity", u.code, None, "max_shift", D(min(9, i + 2) - i), None)]
    rows.append(AuditRow("sensitivity", "cei", None, "max_shift", D(2), None))
    return tuple(rows)


def figures(period: str = "2026Q1"):
    f = base_figures(period)
    coverage = {u.code: D("0.4") if u.code == THIN else D(1) for u in UNITS}
    return dataclasses.replace(f, index_coverage=coverage, rules=RULES, audit=audit_rows())


def trend(period: str = "2026Q1") -> Trend:
    months = months_of(parse_period(period))
    headline, index = [], []
    for i, u in enumerate(UNITS, start=1):
        for k, m in enumerate(months[:2]):  # the last month is not in yet
            headline.append((u.code, m, D(80 + i + k), D(100), D(80 + i + k) / D(100)))
            index.append((u.code, m, D(60) + D(i) + D("0.125") * k))
    return assemble_trend(months, headline, index)


def context(**kw):
    base = dict(status="final", revision=0, as_of=AS_OF, run_id=7, version="0.1.0", file_stem="assessment_2026Q1",
                sources=(SourceFile(1, 7, "hotline", date(2026, 3, 2), "a.csv", "ab" * 32, 10),), trend=trend())
    return workbook.Context(**(base | kw))


def load(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def cells(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def fill(cell) -> str:
    return (cell.fill.fgColor.rgb or "")[-6:] if cell.fill and cell.fill.fill_type else ""


SHEETS = ["消费维权满意率", "消费环境指数", "维权效能", "源头治理", "商品质量", "无理由退货"]


def test_same_figures_same_bytes():
    f = figures()
    assert workbook.render(f, context()) == workbook.render(f, context())


def test_sheets_trend_only_for_quarters_and_years():
    wb = load(workbook.render(figures(), context()))
    assert wb.sheetnames == [*SHEETS, "趋势", "指数审计", "说明", "数据来源"]
    assert wb.properties.created == datetime(2026, 4, 20, 15, 59, 59)
    month = load(workbook.render(figures("2026-03"), context(file_stem="assessment_2026-03", trend=None)))
    assert month.sheetnames == [*SHEETS, "指数审计", "说明", "数据来源"]
    year = load(workbook.render(figures("2026"), context(file_stem="assessment_2026", trend=trend("2026"))))
    assert "趋势" in year.sheetnames


def test_layout_and_formats():
    wb = load(workbook.render(figures(), context()))
    head = wb["消费维权满意率"]
    assert head["A1"].value == "2026年第一季度消费维权满意率（正式）"
    assert [c.value for c in head[3]][:8] == ["单位代码", "单位名称", "满意及基本满意（件）", "参评回访（件）",
                                              "消费维权满意率", "得分", "排名", "备注"]
    assert head.freeze_panes == "C4" and head["E4"].number_format == "0.00%" and head["E4"].value == 0.966667
    assert [head.cell(row=r, column=7).value for r in range(4, 13)] == list(range(1, 10))
    index = wb["消费环境指数"]
    assert index.freeze_panes == "C5" and index["C5"].value == 95
    assert [index.cell(row=4, column=c).value for c in range(3, 9)] == [
        "得分", "排名", "模拟排名中位数", "排名区间 P5", "排名区间 P95", "指标覆盖率"]
    assert (index["E5"].value, index["F5"].value, index["G5"].value) == (1, 1, 2)  # median, P5, P95
    assert index["H5"].value == 1 and index["H5"].number_format == "0.0%"
    assert wb["商品质量"]["E5"].number_format == "0.00%"
    assert wb["无理由退货"]["D5"].number_format == "#,##0"  # 退货件数
    assert wb["无理由退货"]["E5"].number_format == "#,##0.00"  # 退款金额
    assert all(wb[s].column_dimensions["B"].width >= 8 for s in SHEETS)


def test_print_settings():
    """A4 landscape at a fixed scale never below 9/11 of the body font, never fitted to one page;
    footer with the sheet name and page numbers."""
    wb = load(workbook.render(figures(), context()))
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9), ws.title
        assert not (ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage), ws.title
        assert 82 <= int(setup.scale or 100) <= 100, ws.title
        footer = ws.oddFooter
        assert "&P" in footer.center.text and "&N" in footer.center.text and "&A" in footer.left.text, ws.title
        assert ws.page_margins.left == 0.5 and ws.page_margins.top == 0.75
    assert int(wb["消费环境指数"].page_setup.scale) < 100  # 17 columns fit the page at ≥ 82 %
    assert wb["消费维权满意率"].print_title_cols is None and not wb["消费维权满意率"].print_area


def test_a_wide_table_runs_over_pages_across_with_the_unit_columns_repeated():
    ws = load(workbook.render(figures(), context()))["维权效能"]  # 25 columns: not shrunk below 82 %
    assert int(ws.page_setup.scale or 100) == 100 and ws.print_title_cols == "$A:$B"
    # page 1: titles, notes and the first indicators; then the rest of the table beside 单位代码/单位名称
    first, *rest = ws.print_area.split(",")
    assert first.endswith("$A$1:$L$14") and rest == ["'维权效能'!$M$3:$Y$14"]


def test_a_table_taller_than_a_page_repeats_its_header_rows():
    many = tuple(Unit(f"9{i:05d}", f"单位{i}", i) for i in range(40))
    wb = load(workbook.render(assemble(parse_period("2026Q1"), many, [], [], [], catalogue=CATALOGUE),
                              context(trend=None)))
    assert wb["消费维权满意率"].print_title_rows == "$3:$3"
    assert wb["消费环境指数"].print_title_rows == "$3:$4"
    files = tuple(SourceFile(i, 7, "hotline", date(2026, 1, 2), f"h{i}.csv", f"{i:064x}", 1) for i in range(60))
    sources = load(workbook.render(figures(), context(sources=files)))["数据来源"]
    header = next(r for r in range(1, sources.max_row + 1) if sources.cell(row=r, column=1).value == "批次号")
    assert sources.print_title_rows == f"${header}:${header}"
    assert load(workbook.render(figures(), context()))["消费维权满意率"].print_title_rows is None  # fits a page


def test_marks_remarks_and_footnotes():
    wb = load(workbook.render(figures(), context()))
    head = wb["消费维权满意率"]
    thin = next(r for r in range(4, 14) if head.cell(row=r, column=1).value == THIN)
    assert head.cell(row=thin, column=8).value == "数据不足"
    assert head.cell(row=thin, column=5).value == 0.166667  # the value is published …
    assert head.cell(row=thin, column=6).value is None  # … not its score
    assert fill(head.cell(row=thin, column=5)) == "FFE699" and fill(head.cell(row=4, column=5)) == ""
    text = "\n".join(cells(head))
    assert "数据不足：" in text and "消费维权满意率 30 件" in text

    index = wb["消费环境指数"]
    assert index.cell(row=4 + 10, column=17).value == "指数：覆盖不足"
    assert index.cell(row=4 + 10, column=8).value == 0.4 and fill(index.cell(row=4 + 10, column=3)) == "FFE699"
    text = "\n".join(cells(index))
    assert "低于指数总权重的 65%" in text and "指标覆盖率" in text

    quality = wb["商品质量"]
    remarks = [quality.cell(row=r, column=14).value for r in range(5, 15)]
    assert remarks == ["抽检不合格率：参评单位不足"] * 10
    assert "少于 6 个" in "\n".join(cells(quality))


def test_no_data_says_so():
    empty = assemble(parse_period("2026-03"), UNITS, [], [], [], catalogue=CATALOGUE)
    data = workbook.render(empty, context(file_stem="assessment_2026-03", trend=None))
    wb = load(data)
    for name in ("消费维权满意率", "消费环境指数", "维权效能", "指数审计"):
        assert any(v.startswith("无数据") or v == "无审计数据" for v in cells(wb[name])), name
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not [n for n in z.namelist() if n.startswith("xl/charts/chart")]  # no empty chart
    quarter = load(workbook.render(figures(), context(trend=None)))
    assert any(v.startswith("无数据") for v in cells(quarter["趋势"]))


def test_trend_sheet():
    wb = load(workbook.render(figures(), context()))
    ws = wb["趋势"]
    values = cells(ws)
    assert "一、消费维权满意率（按月）" in values and "二、消费环境指数（按月）" in values
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "单位代码")
    assert [ws.cell(row=header, column=c).value for c in range(1, 6)] == ["单位代码", "单位名称", "1月", "2月", "3月"]
    assert ws.cell(row=header + 1, column=3).value == 0.81 and ws.cell(row=header + 1, column=5).value is None
    total = ws.cell(row=header + 11, column=3)
    assert ws.cell(row=header + 11, column=2).value == "合计" and total.value == pytest.approx(0.855)


def test_trend_is_rounded_like_the_figures():
    t = assemble_trend(["2026-01", "2026-02"], [("350100", "2026-01", D("2.000"), D(3), D(2) / D(3))],
                       [("350100", "2026-02", D("70.125")), ("350100", "2025-12", D(1))])
    assert t.at("350100", "2026-01").rate == D("0.666667") and t.at("350100", "2026-01").numerator == D(2)
    assert t.at("350100", "2026-02").cei == D("70.13")  # ROUND_HALF_UP, as figures.SCORE
    assert ("350100", "2025-12") not in t.figures
    assert t.total("2026-01", ["350100", "350200"]).rate == (D(2) / D(3)).quantize(RATE)
    assert t.total("2026-02", ["350100"]).rate is None
    assert months_of(parse_period("2026")) == tuple(f"2026-{m:02d}" for m in range(1, 13))
    assert read_trend(None, parse_period("2026-03")) is None  # a month has no trend
    with pytest.raises(CeiError, match="two month rows"):
        assemble_trend(["2026-01"], [], [("350100", "2026-01", D(1)), ("350100", "2026-01", D(2))])


def test_audit_sheet():
    wb = load(workbook.render(figures(), context()))
    ws = wb["指数审计"]
    text = "\n".join(cells(ws))
    for heading in ("一、指标数据检查", "二、相关性检查", "三、分指数内部一致性（Cronbach's α）",
                    "四、名义权重与有效权重", "五、排名稳健性（敏感性分析）"):
        assert heading in text
    assert "偏度绝对值大于 2 且峰度大于 3.5" in text and "0 ≤ r < 0.3" in text
    assert "偏度、峰度超限" in text and "负相关" in text and "弱相关" in text and "仅 1 个指标，不适用" in text
    flagged = {fill(c) for row in ws.iter_rows() for c in row if c.value in (-0.21, 2.4, 0.12)}
    assert flagged <= {"FFE699", "F4B183"} and "F4B183" in flagged
    assert "全部单位的最大位移：2 位。" in text
    empty = load(workbook.render(dataclasses.replace(figures(), audit=()), context()))
    assert "无审计数据" in cells(empty["指数审计"])


def test_notes_and_sources():
    reason = "odr delivered no data for the period"
    wb = load(workbook.render(figures(), context(status="provisional", status_reason=reason)))
    # said under the title of every sheet, first of all the headline's
    assert "。本期不能转为正式：数据源ODR在线纠纷本期没有任何数据。" in wb["消费维权满意率"]["A2"].value
    notes = "\n".join(cells(wb["说明"]))
    assert f"暂定（provisional）：仍为暂定，因为数据源ODR在线纠纷本期没有任何数据（{reason}）" in notes
    assert "最低指标覆盖率" in notes and "65%" in notes and "最少参评单位" in notes
    assert "ODR在线纠纷：本期没有任何数据" in notes
    assert "ab" * 32 not in notes  # the checksums have their own sheet
    sources = wb["数据来源"]
    text = "\n".join(cells(sources))
    assert "ab" * 32 in text and "a.csv" in text
    assert "数据源「ODR在线纠纷」（odr）本期各单位均无数据：本期不能转为正式。" in text
    assert "月数：本期 3 个月中有数据的月份数" in text
    without_rules = "\n".join(cells(load(workbook.render(dataclasses.replace(figures(), rules=None),
                                                         context()))["说明"]))
    assert "最低指标覆盖率" not in without_rules and "覆盖不足" in without_rules


def test_revision_lists_its_differences():
    ctx = context(revision=1, revises="assessment_2026Q1.csv", file_stem="assessment_2026Q1.rev1",
                  differences=(Difference("350101", "satisfaction_rate", "value", "0.050000", "0.100000"),))
    wb = load(workbook.render(figures(), ctx))
    assert wb["消费维权满意率"]["A1"].value.endswith("（正式，第1次修订）")
    values = cells(wb["说明"])
    assert "修订内容（相对 assessment_2026Q1.csv）" in values and "0.100000" in values


def test_charts():
    with zipfile.ZipFile(io.BytesIO(workbook.render(figures(), context()))) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = {n: z.read(n).decode() for n in charts}
    assert len(charts) == 5  # rate, index, rank band, trend rate, trend index
    assert sum("hiLowLines" in x for x in xml.values()) == 1
    assert any("纵轴自 0 起" in x for x in xml.values())


def test_workbook_of_every_case_renders_in_libreoffice(tmp_path, libreoffice):
    xlsx = tmp_path / "workbook_cases_2026Q1.xlsx"
    ctx = context(status="provisional", status_reason="no data at all from odr in 2026Q1")
    xlsx.write_bytes(workbook.render(figures(), ctx))
    texts = libreoffice.render(xlsx, tmp_path)
    q1 = "2026年第一季度"
    titles = {"消费维权满意率": f"{q1}消费维权满意率（暂定）", "维权效能": f"{q1}维权效能（暂定）",
              "趋势": f"{q1}按月趋势（暂定）", "数据来源": f"{q1}数据来源（暂定）"}
    libreoffice.check_pages(texts, xlsx, titles, ["数据不足", "覆盖不足", "参评单位不足", "负相关", "弱相关",
                                       "本期不能转为正式", "ab" * 32, *(u.name for u in UNITS)])

    empty = tmp_path / "workbook_cases_2026-03.xlsx"
    month = assemble(parse_period("2026-03"), UNITS, [], [], [], catalogue=CATALOGUE)
    empty.write_bytes(workbook.render(month, context(file_stem="assessment_2026-03", trend=None)))
    texts = libreoffice.render(empty, tmp_path)
    libreoffice.check_pages(texts, empty, {"消费维权满意率": "2026年3月消费维权满意率（正式）"},
                 ["无数据：本期各单位均无消费维权满意率", "无审计数据"])  # and no 趋势: a month
