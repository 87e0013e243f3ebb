"""One source record → a typed row ready to load, or the reason it goes to quarantine.

Pure: no I/O. The rules are feeds.md's three levels — a bad required field (or any bad enum or
region, a negative amount, an impossible order of timestamps) quarantines the row; a bad optional
field is nulled and a warning code is kept with the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from math import isfinite
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
    # The stored columns in order as COPY takes them: timestamps as text, read by PostgreSQL as
    # Asia/Shanghai time when they carry no offset (see cei.ingest.load.stage_file).
    copy_values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RowContext:
    valid_regions: frozenset[str]
    pii_secret: bytes


def value_parser(col: Column, ctx: RowContext) -> Callable[[Any], Any]:
    """raw cell → typed value (None when empty), or raises v.Defect."""
    if col.kind is Kind.ENUM:
        return partial(v.parse_enum, choices=frozenset(col.choices))
    if col.kind is Kind.REGION:
        return partial(v.parse_region, valid_codes=ctx.valid_regions)
    if col.kind is Kind.PHONE:
        return partial(v.keyed_phone_hash, secret=ctx.pii_secret)
    return {
        Kind.TEXT: v.clean_text,
        Kind.TIMESTAMP: v.timestamp_for_copy,  # (instant, COPY text)
        Kind.DATE: v.parse_date,
        Kind.MONTH: v.parse_month,
        Kind.DECIMAL: v.parse_decimal,
        Kind.INTEGER: v.parse_integer,
        Kind.FLAG: v.parse_flag,
        Kind.USCC: v.parse_uscc,
    }[col.kind]


# Defects that quarantine the row even when the column is optional: the row cannot be
# counted reliably (feeds.md "row defect"). Optional timestamps are here too — nulling a bad
# 办结时间 would turn a closed work order into an open one.
_ALWAYS_ROW_DEFECTS = frozenset({"bad_enum", "unknown_region", "bad_timestamp", "bad_date", "bad_month"})

RowParser = Callable[[Mapping[str, Any]], "Parsed | Quarantined"]


def row_parser(feed: Feed, ctx: RowContext) -> RowParser:
    """A parser for the feed's records: columns and their parsers are worked out once, here,
    not once per row (a file has millions of rows, so the loop below is kept lean)."""
    steps = tuple(
        (c.source, c.name, value_parser(c, ctx), c.required, c.non_negative, c.kind is Kind.TEXT,
         c.kind is Kind.TIMESTAMP)
        for c in feed.stored_columns
    )
    checks = feed.row_checks

    def parse(record: Mapping[str, Any]) -> Parsed | Quarantined:
        out: dict[str, Any] = {}
        copy: list[Any] = []
        warnings: list[str] = []
        for source, name, parse_value, required, non_negative, is_text, is_timestamp in steps:
            raw = record.get(source)
            copied = None
            if is_text and type(raw) is str:
                value = raw.strip() or None  # v.clean_text, inlined for the commonest column
            else:
                try:
                    value = parse_value(raw)
                except v.Defect as d:
                    if required or d.code in _ALWAYS_ROW_DEFECTS:
                        return Quarantined(d.code, f"{name}: {d.detail}")
                    warnings.append(f"{d.code}:{name}")
                    value = None
                if is_timestamp and value is not None:
                    value, copied = value
            if value is None and required:
                return Quarantined("missing_required", name)
            if non_negative and value is not None and value < 0:
                return Quarantined("negative_value", f"{name}: {raw}")
            out[name] = value
            copy.append(copied if is_timestamp else value)
        for check in checks:
            code = check(out)
            if code:
                return Quarantined(code, check.name)
        return Parsed(out, warnings, tuple(copy))

    return parse


def parse_record(feed: Feed, record: Mapping[str, Any], ctx: RowContext) -> Parsed | Quarantined:
    """One record (tests and one-off checks; loading a file uses `row_parser` once per file)."""
    return row_parser(feed, ctx)(record)


def masked_original(feed: Feed, record: Mapping[str, Any], ctx: RowContext) -> dict[str, Any]:
    """The record as delivered, for quarantine — minus personal data: the name is dropped and the
    phone replaced by its keyed hash, exactly as in the loaded tables."""
    out: dict[str, Any] = {}
    personal = {c.source: c for c in feed.columns if c.kind in (Kind.NAME, Kind.PHONE)}
    # A CSV row with fields added or missing (bad_row_shape): a value may sit up to `shift` columns
    # away from its header, so the name or phone may be under a neighbouring column or among the
    # extra fields. Those are hashed like a phone: never stored as delivered.
    shift = len(record.get("_extra_fields") or ()) + int(record.get("_missing_fields") or 0)
    suspect: set[str] = set()
    if shift and personal:
        keys = [k for k in record if not k.startswith("_")]
        for i, key in enumerate(keys):
            if key in personal:
                suspect.update(keys[max(0, i - shift): i + shift + 1])
    for key, raw in record.items():
        col = personal.get(key)
        if key == "_extra_fields" and shift and personal:
            out[key + "#hmac"] = [v.keyed_phone_hash(x, ctx.pii_secret) for x in raw]
        elif col is None and key in suspect:
            out[key + "#hmac"] = v.keyed_phone_hash(raw, ctx.pii_secret)
        elif col is None:  # JSON's NaN and Infinity have no place in jsonb: kept as text
            plain = raw is None or isinstance(raw, (str, int, bool)) or (isinstance(raw, float) and isfinite(raw))
            out[key] = raw if plain else str(raw)
        elif col.kind is Kind.PHONE:
            out[key + "#hmac"] = v.keyed_phone_hash(raw, ctx.pii_secret)
    return out
