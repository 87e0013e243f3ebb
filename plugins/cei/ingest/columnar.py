"""The columnar path for CSV files: a batch of rows typed one column at a time.

Parsing record by record (cei.ingest.rows) costs tens of microseconds a hotline row, nearly all
of it Python calls per field. But almost every delivered value is in its commonest form —
`2026-03-15 09:12[:33]`, plain digits, a listed code — and that can be checked for a whole
column at once: one regular expression over the column, a set comparison, builtins mapped in C.
A value not in its commonest form goes through the reference value parser (rows.value_parser),
one at a time. A row with a defect in any value, or that a row check flags, is handed back whole
to the reference row parser, which alone decides reason codes and warnings: this path never
quarantines a row nor warns, and types every row it keeps exactly as the reference parser would
(tests/integration/test_ingest_columnar.py stages files both ways and compares the tables).

Kept rows leave as COPY text for `raw`, with their `row_hash` (cei.ingest.row_hash). A value in
its commonest form is sent as delivered: PostgreSQL reads a timestamp without an offset as
Asia/Shanghai wall-clock time (rows.Parsed.copy_values), and a plain number or ISO date as the
value the reference parser would have typed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cei.feeds.model import Column, Feed, Kind
from cei.ingest import values as v
from cei.ingest.row_hash import FIXED_OFFSET_SINCE, plain_number, quoted, record_field
from cei.ingest.rows import RowContext, value_parser
from cei.settings import LOCAL_TZ

NULL = "\\N"  # COPY text format's null

# The commonest form of a kind, as a regular expression for one value (re.ASCII: \d alone would
# admit other scripts' digits), and what types a value in that form.
_FORMS: dict[Kind, tuple[str, Callable[[str], Any] | None]] = {
    Kind.TIMESTAMP: (r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?", datetime.fromisoformat),  # as values.py does
    Kind.DATE: (r"\d{4}-\d\d-\d\d", date.fromisoformat),
    Kind.DECIMAL: (r"\d{1,15}(?:\.\d{1,20})?", None),  # below values.MAX_ABS_NUMBER, never negative
    Kind.INTEGER: (r"\d{1,15}", None),
}
_SETS = (Kind.ENUM, Kind.REGION, Kind.FLAG)
_HANDLED = frozenset({*_FORMS, *_SETS, Kind.TEXT, Kind.USCC, Kind.PHONE})
_FLAGS = {"是": "t", "否": "f", "": "f"}
_QUOTED_CHARS = re.compile(r'[",\\() \t\n\r\v\f]')  # somewhere in a column: record texts need quotes
_LEADING_ZERO = re.compile(r"(?:^|\n)0\d")  # somewhere in a column: numbers need their zeros dropped


def _column_pattern(one: str) -> re.Pattern[str]:
    """A whole column of values in the form (or empty), joined by newlines."""
    return re.compile(f"(?:{one})?(?:\n(?:{one})?)*", re.ASCII)


def _one_pattern(one: str) -> re.Pattern[str]:
    """One value in the form, or empty."""
    return re.compile(f"(?:{one})?", re.ASCII)


def _dashed(column: str) -> str:
    return _LONE_DIGIT.sub(r"0\1", column).replace("/", "-")


_LONE_DIGIT = re.compile(r"(?<!\d)(\d)(?!\d)", re.ASCII)
_DATE_LIKE = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"
# Other forms the reference parser reads with the same meaning (values.py), brought to the
# commonest form a whole column at a time: `2025/3/1 8:30` → `2025-03-01 08:30`, `1,963.73` → `1963.73`.
_LOOSE: dict[Kind, tuple[str, Callable[[str], str]]] = {
    Kind.TIMESTAMP: (_DATE_LIKE + r" \d{1,2}:\d\d(?::\d\d)?", _dashed),
    Kind.DATE: (_DATE_LIKE, _dashed),
    Kind.DECIMAL: (r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?", lambda column: column.replace(",", "")),
    Kind.INTEGER: (r"\d+|\d{1,3}(?:,\d{3})+", lambda column: column.replace(",", "")),
}
_COLUMN_FORMS = {kind: _column_pattern(one) for kind, (one, _) in _FORMS.items()}
_ONE_FORMS = {kind: _one_pattern(one) for kind, (one, _) in _FORMS.items()}
_LOOSE_COLUMNS = {kind: (_column_pattern(one), _one_pattern(one), normal) for kind, (one, normal) in _LOOSE.items()}


def _odd(pattern: re.Pattern[str], vals: list[str]) -> list[int]:
    return [i for i, match in enumerate(map(pattern.fullmatch, vals)) if match is None]


def _in_form(kind: Kind, vals: list[str]) -> tuple[list[str], list[int]]:
    """The column's values in the commonest form (empty where they are in no form this path
    reads), and the rows whose value is in no such form (the reference parser's)."""
    joined = "\n".join(vals)
    if joined.count("\n") != len(vals) - 1:  # a value with a line break: no column-wide checks
        odd = _odd(_ONE_FORMS[kind], vals)
        return [("" if i in odd else s) for i, s in enumerate(vals)], odd
    if _COLUMN_FORMS[kind].fullmatch(joined):
        return vals, []
    loose_column, loose_one, normal = _LOOSE_COLUMNS[kind]
    odd = [] if loose_column.fullmatch(joined) else _odd(loose_one, vals)
    if odd:
        skip = set(odd)
        joined = "\n".join("" if i in skip else s for i, s in enumerate(vals))
    joined = normal(joined)
    in_form = joined.split("\n")
    if not _COLUMN_FORMS[kind].fullmatch(joined):  # 20 digits and more, say
        more = _odd(_ONE_FORMS[kind], in_form)
        for i in more:
            in_form[i] = ""
        odd += more
    return in_form, odd


def copy_text(value: Any) -> str:
    """A value the reference parser typed, as COPY text (timestamps arrive as their COPY text)."""
    if value is None:
        return NULL
    return escape(value if isinstance(value, str) else str(value))


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _naive_local(dt: datetime) -> datetime:
    """An instant as Asia/Shanghai wall-clock time, comparable with the commonest form's values."""
    return dt.astimezone(LOCAL_TZ).replace(tzinfo=None)


class ColumnarParser:
    """Built once per file from its header; `parse` takes batches of (row number, fields)."""

    @classmethod
    def for_file(cls, feed: Feed, ctx: RowContext, header: Sequence[str],
                 hash_prefix: Sequence[str] = ()) -> ColumnarParser | None:
        """None when the feed has a kind or a row check this path does not type (the reference
        parser then reads the whole file). `hash_prefix`: record texts hashed before the row's."""
        typed = {c.name for c in feed.stored_columns if c.kind is Kind.TIMESTAMP}
        if any(c.kind not in _HANDLED for c in feed.stored_columns) or any(
            not {check.later, check.earlier} <= typed for check in feed.row_checks
        ):
            return None
        return cls(feed, ctx, header, hash_prefix)

    def __init__(self, feed: Feed, ctx: RowContext, header: Sequence[str], hash_prefix: Sequence[str]) -> None:
        position = {h: i for i, h in enumerate(header)}
        self._width = len(header)
        self._columns = [(c, position.get(c.source), value_parser(c, ctx)) for c in feed.stored_columns]
        self._checks = feed.row_checks
        self._ctx = ctx
        self._record_start = "(" + "".join(f"{p}," for p in hash_prefix)

    def parse(self, batch: Sequence[tuple[int, list[str]]]) -> tuple[str, list[tuple[int, list[str]]]]:
        """The COPY text of the batch's rows that have no defect (source_row, row_hash, warnings,
        stored columns), and the other rows."""
        n = len(batch)
        if not n:
            return "", []
        bad = {i for i, (_, fields) in enumerate(batch) if len(fields) != self._width}  # bad_row_shape
        blank = [""] * self._width
        by_position = list(zip(*(blank if i in bad else fields for i, (_, fields) in enumerate(batch))))
        out: list[list[str]] = []
        records: list[list[str]] = []
        instants: dict[str, list[datetime | None]] = {}
        for col, at, reference in self._columns:
            vals = [""] * n if at is None else list(map(str.strip, by_position[at]))
            texts, record, typed = self._column(col, vals, reference, bad)
            if col.required and "" in vals:
                bad.update(i for i, s in enumerate(vals) if not s)
            out.append(texts)
            records.append(record)
            if typed is not None:
                instants[col.name] = typed
        for check in self._checks:
            pairs = zip(instants[check.later], instants[check.earlier])
            bad.update(i for i, (a, b) in enumerate(pairs) if a is not None and b is not None and a < b)
        # Every row is written, then the bad ones dropped: cheaper than dropping them from each column.
        start, md5 = self._record_start, hashlib.md5
        hashes = [md5(f"{start}{r})".encode()).hexdigest() for r in map(",".join, zip(*records))]
        numbers = [str(number) for number, _ in batch]
        lines = list(map("\t".join, zip(numbers, hashes, ["{}"] * n, *out)))  # no warnings
        if bad:
            lines = [line for i, line in enumerate(lines) if i not in bad]
        return ("\n".join(lines) + "\n" if lines else ""), [batch[i] for i in sorted(bad)]

    def _column(self, col: Column, vals: list[str], reference: Callable[[str], Any],
                bad: set[int]) -> tuple[list[str], list[str], list[Any] | None]:
        """One column's COPY texts and record texts (cei.ingest.row_hash), and its values as naive
        local datetimes for a timestamp; marks the rows whose value has a defect."""
        kind = col.kind
        if kind is Kind.TEXT:
            joined = "\x00".join(vals)
            if joined.count("\x00") != len(vals) - 1:  # PostgreSQL text cannot hold NUL: the reference
                bad.update(i for i, s in enumerate(vals) if "\x00" in s)  # path rejects the file
                return [escape(s) if s else NULL for s in vals], _records(vals, joined), None
            return [s or NULL for s in escape(joined).split("\x00")], _records(vals, joined), None
        if kind is Kind.PHONE:
            secret = self._ctx.pii_secret
            codes = [v.keyed_phone_hash(s, secret) if s else "" for s in vals]
            return [code or NULL for code in codes], codes, None
        if kind is Kind.USCC:
            codes = [v.valid_uscc(s) if s else "" for s in vals]
            bad.update(i for i, code in enumerate(codes) if code is None)
            return [code or NULL for code in codes], [code or "" for code in codes], None
        record = vals
        if kind in _SETS:
            allowed = {"", *(_FLAGS if kind is Kind.FLAG else
                             self._ctx.valid_regions if kind is Kind.REGION else col.choices)}
            odd = [] if allowed.issuperset(vals) else [i for i, s in enumerate(vals) if s not in allowed]
            if kind is Kind.FLAG:
                texts = record = [_FLAGS.get(s, s) for s in vals]
            else:
                texts, record = [s or NULL for s in vals], _records(vals, "\x00".join(vals))
        else:
            in_form, odd = _in_form(kind, vals)
            texts, record = [s or NULL for s in in_form], in_form
            if kind in (Kind.DECIMAL, Kind.INTEGER) and _LEADING_ZERO.search("\n".join(in_form)):
                record = [plain_number(s) if s else s for s in in_form]
        convert = _FORMS[kind][1] if kind in _FORMS else None
        typed: list[Any] | None = None
        if convert is not None:
            try:
                typed = [convert(s) if s else None for s in in_form]
            except ValueError:  # in form but not a date (2026-02-30): the reference parser says
                typed = [None] * len(vals)
                for i, s in enumerate(in_form):
                    try:
                        typed[i] = convert(s) if s else None
                    except ValueError:
                        odd.append(i)
            if kind is Kind.TIMESTAMP:
                record = _timestamp_records(in_form, typed)
        if odd and (record is vals or record is texts):  # written below, value by value
            record = list(record)
        for i in sorted(set(odd)):  # not in the commonest form: the reference parser, one value
            try:
                value = reference(vals[i])
            except v.Defect:
                bad.add(i)
                continue
            if kind is Kind.TIMESTAMP and value is not None:
                instant, texts[i] = value
                typed[i] = _naive_local(instant)  # type: ignore[index]
                record[i] = record_field(instant)
            else:
                if col.non_negative and isinstance(value, Decimal | int) and value < 0:
                    bad.add(i)
                texts[i] = copy_text(value)
                record[i] = record_field(value)
                if typed is not None:
                    typed[i] = value
        return texts, record, (typed if kind is Kind.TIMESTAMP else None)


def _records(vals: list[str], joined: str) -> list[str]:
    """Text values as record texts: most columns need no quotes at all."""
    if _QUOTED_CHARS.search(joined) is None:
        return vals
    return [quoted(s) if s else "" for s in vals]


def _timestamp_records(in_form: list[str], typed: list[datetime | None]) -> list[str]:
    """`YYYY-MM-DD HH:MM[:SS]` wall-clock texts as timestamptz's record text in Asia/Shanghai."""
    earliest = min(filter(None, typed), default=None)
    if earliest is None or earliest.year >= FIXED_OFFSET_SINCE:
        return [("" if not s else f'"{s}:00+08"' if len(s) == 16 else f'"{s}+08"') for s in in_form]
    return [record_field(t.replace(tzinfo=LOCAL_TZ)) if t else "" for t in typed]
