"""The duplicate check's `row_hash`, computed by the loader: md5 of the typed row's record text.

A row is an exact duplicate when a row with the same business key and the same `row_hash` was
loaded before (the unique index of raw's DDL). The hash is `md5(row(<stored columns>)::text)` in
a session whose time zone is Asia/Shanghai, written by the loader, so that a file's rows can be
COPYed straight into `raw` (an `INSERT … SELECT` that hashed each row cost several times a plain
COPY). Feeds without a newest-wins column hash the delivery date first (cei.ingest.load).

`record_field` writes one typed value as PostgreSQL's output function and `record_out` would:
NULL as nothing, booleans `t`/`f`, numerics without leading zeros and with their scale,
timestamps in Asia/Shanghai with the offset, and a value in double quotes (`"` and `\\` doubled)
when it is empty or holds `"`, `\\`, a parenthesis, a comma or ASCII white space.
tests/integration/test_ingest_columnar.py checks the loader's hash against PostgreSQL's own on
every row staged from generated deliveries and from hypothesis-generated rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cei.settings import LOCAL_TZ

# record_out quotes a value holding any of these (ASCII white space: PostgreSQL's isspace per byte)
_NEEDS_QUOTES = re.compile(r'[",\\() \t\n\r\v\f]|^$')
# Asia/Shanghai has kept +08 without daylight saving since 1992; earlier instants take zoneinfo's offset.
FIXED_OFFSET_SINCE = 1992


def quoted(text: str) -> str:
    """A text value as record_out writes it."""
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'


def numeric_text(number: Decimal) -> str:
    """numeric's output: positional, the scale kept, no negative zero."""
    return format(abs(number) if number.is_zero() else number, "f")


def plain_number(text: str) -> str:
    """A delivered `\\d+(.\\d+)?` as numeric's output writes its value: without leading zeros."""
    if text[0] != "0":
        return text
    text = text.lstrip("0")
    return text if text[:1].isdigit() else "0" + text


def timestamp_text(instant: datetime) -> str:
    """timestamptz's output in Asia/Shanghai: `2026-03-15 09:12:00+08`, fractions without trailing zeros."""
    local = instant.astimezone(LOCAL_TZ)
    text = local.isoformat(" ")[:19]
    if local.microsecond:
        text += f".{local.microsecond:06d}".rstrip("0")
    seconds = int(local.utcoffset().total_seconds())  # type: ignore[union-attr]
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    offset = f"{sign}{seconds // 3600:02d}"
    if seconds % 3600:
        offset += f":{seconds % 3600 // 60:02d}"
        if seconds % 60:
            offset += f":{seconds % 60:02d}"
    return text + offset


def local_timestamp_text(wall_clock: str, naive: datetime) -> str:
    """A delivered `YYYY-MM-DD HH:MM[:SS]` (COPY reads it as Asia/Shanghai wall-clock time), quoted."""
    if naive.year >= FIXED_OFFSET_SINCE:
        return f'"{wall_clock}{":00" if len(wall_clock) == 16 else ""}+08"'
    return quoted(timestamp_text(naive.replace(tzinfo=LOCAL_TZ)))


def record_field(value: Any) -> str:
    """One value the reference parser typed, as record_out writes it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Decimal):
        return numeric_text(value)
    if isinstance(value, datetime):
        return quoted(timestamp_text(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no record text for {type(value).__name__}")


def row_hash(fields: Iterable[str]) -> str:
    """md5 of `(f1,f2,…)`: the record text of fields already written by record_field."""
    return hashlib.md5(("(" + ",".join(fields) + ")").encode()).hexdigest()
