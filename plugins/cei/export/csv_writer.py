"""assessment_<P>.csv: UTF-8 with BOM, CRLF line ends (RFC 4180, what Excel expects), one row per
unit × code in unit sort order then the catalogue's code order, columns exactly
period,unit_code,unit_name,indicator_code,indicator_name,numerator,denominator,value,score,rank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Container

from cei.export.figures import CSV_COLUMNS, FIELDS, Figures

BOM = "\ufeff"


def render(figures: Figures) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in figures.rows:
        writer.writerow(row.csv_values(figures.period.text))
    return (BOM + buf.getvalue()).encode("utf-8")


def parse(data: bytes, known: Container[str]) -> dict[str, dict[str, dict[str, str]]]:
    """A published CSV back into the canonical figures (CSV fields only: no rank band), for the
    codes in `known` (the catalogue's)."""
    text = data.decode("utf-8-sig")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for rec in csv.DictReader(io.StringIO(text, newline="")):
        if rec["indicator_code"] not in known:
            continue
        out.setdefault(rec["unit_code"], {})[rec["indicator_code"]] = {f: rec[f] for f in FIELDS if f in rec}
    return out
