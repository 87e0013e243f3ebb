"""The bytes of a delivered file — CSV, JSON Lines or XLSX — and the source row of each record in it.

The ground truth names rows as the reader will (physical lines for CSV and JSON Lines, sheet rows for
XLSX), so the writers count them as they write. Same file, same bytes: nothing depends on the clock.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time
from typing import Any

import xlsxwriter

from cei.synthetic.world import Artifact, File, Row, Style, World

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # how the reader (newline="") counts physical lines


def write_file(w: World, f: File) -> Artifact:
    if f.feed == "odr":
        data, numbers = _jsonl_bytes(w, f)
    elif f.feed == "returns":
        data, numbers = _xlsx_bytes(f)
    else:
        data, numbers = csv_bytes(f.header, f.rows, f.style)
    return Artifact(f.feed, f.day, f.name, data, list(f.rows), numbers)


def _csv_fields(header: tuple[str, ...], row: Row) -> list[str]:
    fields = [row.values.get(c, "") for c in header]
    if row.shape > 0:  # an unquoted comma inside a name split it in two
        fields.insert(len(fields) // 2, "分店")
    elif row.shape < 0:  # the export lost the last field
        fields.pop()
    return fields


def csv_bytes(header: tuple[str, ...], rows: list[Row], style: Style) -> tuple[bytes, list[int]]:
    out, one = io.StringIO(), io.StringIO()
    writer = csv.writer(one, lineterminator=style.newline,
                        quoting=csv.QUOTE_ALL if style.quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    out.write(one.getvalue())
    line, numbers = 2, []
    for row in rows:
        one.seek(0)
        one.truncate()
        writer.writerow(_csv_fields(header, row))
        text = one.getvalue()
        out.write(text)
        numbers.append(line)
        line += len(_LINE_BREAK.findall(text))  # quoted fields may hold line breaks
    return out.getvalue().encode(style.encoding), numbers


def _jsonl_bytes(w: World, f: File) -> tuple[bytes, list[int]]:
    lines: list[str] = []
    numbers = []
    for row in f.rows:
        if w.look.random() < 0.01:
            lines.append(w.look.choice(("", "  ")))  # blank lines are allowed and skipped
        text = json.dumps(row.values, ensure_ascii=f.style.ascii_json) if row.line is None else row.line
        lines.append(text)
        numbers.append(len(lines))
    return "".join(line + f.style.newline for line in lines).encode("utf-8"), numbers


def _xlsx_bytes(f: File) -> tuple[bytes, list[int]]:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    # Fixed metadata (xlsxwriter would stamp the wall clock): the same arguments give the same bytes.
    book.set_properties({"title": f.title, "author": "统计员", "created": datetime.combine(f.day, time(9))})
    sheet = book.add_worksheet("Sheet1")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    header = (("序号",) if f.style.index_col else ()) + f.header
    sheet.merge_range(0, 0, 0, len(header) - 1, f.title, book.add_format({"bold": True, "align": "center"}))
    r = 2
    if f.style.filler_row:
        sheet.write_string(1, 0, f.note)
        r = 3
    sheet.write_row(r, 0, header)  # one blank row above it
    numbers = []
    for i, row in enumerate(f.rows, start=1):
        r += 1
        cells = ([i] if f.style.index_col else []) + [row.values.get(c, "") for c in f.header]
        for c, value in enumerate(cells):
            _write_cell(sheet, r, c, value, date_format)
        numbers.append(r + 1)
    r += 1
    sheet.write_string(r, 0, "合计")
    sheet.write_number(r, header.index("退货件数"), sum(row.model["退货件数"] for row in f.rows))
    refunds = sum(row.model["退款金额（元）"] for row in f.rows)
    sheet.write_number(r, header.index("退款金额（元）"), float(refunds))
    book.close()
    return out.getvalue(), numbers


def _write_cell(sheet: Any, r: int, c: int, value: Any, date_format: Any) -> None:
    if isinstance(value, str):
        if value:
            sheet.write_string(r, c, value)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime.combine(value, time()), date_format)
    elif value is not None:
        sheet.write_number(r, c, value)
