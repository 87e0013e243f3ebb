"""One source record → a typed row ready to load, or the reason it goes to quarantine.

Pure: no I/O. The rules are feeds.md's three levels — a bad required field (or any bad enum or
region, a negative amount, an impossible order of timestamps) quarantines the row; a bad optional
field is nulled and a warning code is kept with the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cei.feeds.model import Column, Feed, Kind
from cei.ingest import values as v


@dataclass(frozen=True)
class Quarantined:
    reason_code: str
    detail: str  # the warehouse column and the offending text


@dataclass(frozen=True)
class Parsed:
    values: dict[str, Any]  # warehouse column → typed value, stored columns only
    warnings: list[str]  # `<code>:<column>` for every nulled optional field


@dataclass(frozen=True)
class RowContext:
    valid_regions: frozenset[str]
    pii_secret: bytes


def _parse_value(col: Column, raw: Any, ctx: RowContext) -> Any:
    kind = col.kind
    if kind is Kind.TEXT:
        return v.clean_text(raw)
    if kind is Kind.TIMESTAMP:
        return v.parse_timestamp(raw)
    if kind is Kind.DATE:
        return v.parse_date(raw)
    if kind is Kind.MONTH:
        return v.parse_month(raw)
    if kind is Kind.DECIMAL:
        return v.parse_decimal(raw)
    if kind is Kind.INTEGER:
        return v.parse_integer(raw)
    if kind is Kind.ENUM:
        return v.parse_enum(raw, col.choices)
    if kind is Kind.FLAG:
        return v.parse_flag(raw)
    if kind is Kind.REGION:
        return v.parse_region(raw, ctx.valid_regions)
    if kind is Kind.USCC:
        return v.parse_uscc(raw)
    if kind is Kind.PHONE:
        return v.keyed_phone_hash(raw, ctx.pii_secret)
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover


# Defects that quarantine the row even when the column is optional: the row cannot be
# counted reliably (feeds.md "row defect"). Optional timestamps are here too — nulling a bad
# 办结时间 would turn a closed work order into an open one.
_ALWAYS_ROW_DEFECTS = frozenset({"bad_enum", "unknown_region", "bad_timestamp", "bad_date", "bad_month"})


def parse_record(feed: Feed, record: Mapping[str, Any], ctx: RowContext) -> Parsed | Quarantined:
    out: dict[str, Any] = {}
    warnings: list[str] = []
    for col in feed.columns:
        if not col.stored:
            continue
        raw = record.get(col.source)
        try:
            value = _parse_value(col, raw, ctx)
        except v.Defect as d:
            if col.required or d.code in _ALWAYS_ROW_DEFECTS:
                return Quarantined(d.code, f"{col.name}: {d.detail}")
            warnings.append(f"{d.code}:{col.name}")
            value = None
        if value is None and col.required:
            return Quarantined("missing_required", col.name)
        if col.non_negative and value is not None and value < 0:
            return Quarantined("negative_value", f"{col.name}: {raw}")
        out[col.name] = value
    for check in feed.row_checks:
        code = check(out)
        if code:
            return Quarantined(code, check.__name__)
    return Parsed(out, warnings)


def masked_original(feed: Feed, record: Mapping[str, Any], ctx: RowContext) -> dict[str, Any]:
    """The record as delivered, for quarantine — minus personal data: the name is dropped and the
    phone replaced by its keyed hash, exactly as in the loaded tables."""
    out: dict[str, Any] = {}
    personal = {c.source: c for c in feed.columns if c.kind in (Kind.NAME, Kind.PHONE)}
    for key, raw in record.items():
        col = personal.get(key)
        if col is None:
            out[key] = raw if raw is None or isinstance(raw, (str, int, float, bool)) else str(raw)
        elif col.kind is Kind.PHONE:
            out[key + "#hmac"] = v.keyed_phone_hash(raw, ctx.pii_secret)
    return out
