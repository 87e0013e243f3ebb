"""assessment_<P>.xlsx, for people (XlsxWriter) — and for the bureau's officers, who print it.

    render(figures, Context(...)) -> bytes

Modules: context (what the workbook says besides the figures), words (names, titles, what the
notes mean), page (formats and a sheet laid out for A4), figure_sheets, trend_sheet,
audit_sheet, notes_sheets (说明 and 数据来源).

Sheets, in order: 消费维权满意率 (the headline of the provincial 营商环境 assessment), 消费环境指数
(index with its coverage, sub-indices, ranks, the Monte Carlo median rank and P5–P95 band, a
ranking and two charts), one sheet per indicator family (维权效能, 源头治理, 商品质量, 无理由退货;
消费者满意 is the headline sheet), 趋势 (quarters and years: the headline rate and the index month
by month), 指数审计 (the composite-indicator audit), 说明 (period, as-of, status and why,
definitions, data-sufficiency rules and what the notes mean, revision) and 数据来源 (feed coverage
per unit, source files with checksums).

Figures with a note (figures.NOTES) are marked: a tinted cell, a 备注 column in words (数据不足 /
覆盖不足 / 参评单位不足) and a footnote under the table with the rule's threshold.

Printing (A4 landscape): nothing is shrunk below a 9-point equivalent. A sheet whose columns fit
the page at a scale of at least 9/11 of the 11-point body font is printed at that fixed scale
(not "fit to page": Excel ignores manual page breaks under fit-to, and the breaks keep charts and
small tables whole); a wider sheet prints at 100 % across several pages, its header rows and
unit columns repeated. Every sheet has margins, a page header and a footer with the sheet name
and page numbers. Rows are given explicit heights, so the page model here matches what Excel,
WPS and LibreOffice lay out.

Every figure written is the `Decimal` the CSV publishes (XlsxWriter writes its exact decimal
text), so the workbook and the CSV cannot disagree. The workbook holds no wall-clock value: its
`created` property is the as-of, and XlsxWriter fixes the zip entries' timestamps, so the same
figures give the same bytes.
"""

from __future__ import annotations

import io
from datetime import UTC

import xlsxwriter

from cei.export import catalogue as cat
from cei.export.figures import Figures
from cei.export.workbook.audit_sheet import _audit_sheet
from cei.export.workbook.context import Context
from cei.export.workbook.figure_sheets import _family_sheet, _index_sheet, _satisfaction_sheet
from cei.export.workbook.notes_sheets import _notes_sheet, _sources_sheet
from cei.export.workbook.page import _Formats, display_width
from cei.export.workbook.trend_sheet import _trend_sheet
from cei.export.workbook.words import STATUS_NAMES

__all__ = ["Context", "display_width", "render"]


def render(figures: Figures, ctx: Context) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({
        "title": f"{figures.period.label}消费环境评价考核数据（{STATUS_NAMES[ctx.status]}）",
        "subject": f"assessment {figures.period.text} as of {ctx.as_of.isoformat()}",
        "author": "消费环境指数数据平台",
        "company": "消费环境指数数据平台",
        "comments": f"cei {ctx.version}; run {ctx.run_id}; {ctx.status}; revision {ctx.revision}",
        # XlsxWriter would stamp the wall clock here: the as-of keeps the bytes reproducible.
        "created": ctx.as_of.astimezone(UTC).replace(tzinfo=None),
    })
    fmt = _Formats(wb)
    _satisfaction_sheet(wb, fmt, figures, ctx)
    _index_sheet(wb, fmt, figures, ctx)
    for sheet in cat.FAMILY_SHEETS:
        _family_sheet(wb, fmt, figures, ctx, sheet)
    if figures.period.type != "month":
        _trend_sheet(wb, fmt, figures, ctx)
    _audit_sheet(wb, fmt, figures, ctx)
    _notes_sheet(wb, fmt, figures, ctx)
    _sources_sheet(wb, fmt, figures, ctx)
    wb.close()
    return buf.getvalue()
