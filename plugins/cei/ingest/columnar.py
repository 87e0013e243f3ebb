"""The columnar path for CSV and JSON Lines files: a batch of rows typed one column at a time.

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
value the reference parser would have typed. A JSON value reaches this path as the text every
value parser first makes of it (readers._as_text): `350527` and `"350527"` alike.
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
# admit other scripts' digits). Months, hours and minutes are checked here; whether a day exists in
# its month (2026-02-30) by _real_day, for the few values that might not.
_DAY = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_FORMS: dict[Kind, str] = {
    Kind.TIMESTAMP: _DAY + r" (?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?",  # as values.py reads it
    Kind.DATE: _DAY,
    Kind.DECIMAL: r"\d{1,15}(?:\.\d{1,20})?",  # below values.MAX_ABS_NUMBER, never negative
    Kind.INTEGER: r"\d{1,15}",
}
_DATED = (Kind.TIMESTAMP, Kind.DATE)
_SINCE = str(FIXED_OFFSET_SINCE)  # wall-clock texts from then on compare as their instants
_SETS = (Kind.ENUM, Kind.REGION, Kind.FLAG)
_HANDLED = frozenset({*_FORMS, *_SETS, Kind.TEXT, Kind.USCC, Kind.PHONE})
_FLAGS = {"是": "t", "否": "f", "": "f"}
_QUOTED_CHARS = re.compile(r'[",\\() \t\n\r\v\f]')  # somewhere in a column: record texts need quotes
_LEADING_ZERO = re.compile(r"(?:^|\n)0\d")  # somewhere in a column: numbers need their zeros dropped
_MAYBE_UNREAL = re.compile(r"-(?:02-(?:29|3[01])|(?:0[469]|11)-31)")  # somewhere in a column of days


def _column_pattern(one: str) -> re.Pattern[str]:
    """A whole column of values in the form (or empty), joined by newlines."""
    return re.compile(f"(?:{one})?(?:\n(?:{one})?)*", re.ASCII)


def _one_pattern(one: str) -> re.Pattern[str]:
    """One value in the form, or empty."""
    return re.compile(f"(?:{one})?", re.ASCII)


def _dashed(column: str) -> str:
    return column.replace("/", "-")


def _padded(column: str) -> str:
    return _LONE_DIGIT.sub("0", column).replace("/", "-")


def _wall_clock(dashed: Callable[[str], str]) -> Callable[[str], str]:
    return lambda column: dashed(column).replace("T", " ").replace("+08:00", "")


def _no_separators(column: str) -> str:
    return column.replace(",", "")


# Before a digit that stands alone: a zero-width match replaced by a plain "0" (a replacement
# with a group reference costs a Python call per match).
_LONE_DIGIT = re.compile(r"(?<!\d)(?=\d(?!\d))", re.ASCII)
# ISO 8601 at +08:00, which is Asia/Shanghai's wall-clock time from 1992 on (FIXED_OFFSET_SINCE:
# no daylight saving time since 1991), as ODR delivers its timestamps.
_AT_LOCAL_OFFSET = r"(?:199[2-9]|[2-9]\d{3})-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00"
# Other forms the reference parser reads with the same meaning (values.py), brought to the
# commonest form a whole column at a time: `2025/03/01 08:30:00` and `2025-08-05T15:15:17+08:00`
# by replacing characters, `2025/3/1 8:30` → `2025-03-01 08:30` by padding digits too,
# `1,963.73` → `1963.73`. Tried in order, the cheapest first; the last reads every such form.
_LOOSE: dict[Kind, tuple[tuple[str, Callable[[str], str]], ...]] = {
    Kind.TIMESTAMP: (
        (r"\d{4}[-/]\d\d[-/]\d\d \d\d:\d\d(?::\d\d)?|" + _AT_LOCAL_OFFSET, _wall_clock(_dashed)),
        (r"\d{4}[-/]\d{1,2}[-/]\d{1,2} \d{1,2}:\d\d(?::\d\d)?|" + _AT_LOCAL_OFFSET, _wall_clock(_padded)),
    ),
    Kind.DATE: ((r"\d{4}[-/]\d\d[-/]\d\d", _dashed), (r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", _padded)),
    Kind.DECIMAL: ((r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?", _no_separators),),
    Kind.INTEGER: ((r"\d+|\d{1,3}(?:,\d{3})+", _no_separators),),
}
_COLUMN_FORMS = {kind: _column_pattern(one) for kind, one in _FORMS.items()}
_ONE_FORMS = {kind: _one_pattern(one) for kind, one in _FORMS.items()}
_LOOSE_COLUMNS = {kind: [(_column_pattern(one), normal) for one, normal in forms] for kind, forms in _LOOSE.items()}
_LOOSE_ONE = {kind: _one_pattern(forms[-1][0]) for kind, forms in _LOOSE.items()}


def _odd(pattern: re.Pattern[str], vals: list[str]) -> list[int]:
    return [i for i, match in enumerate(map(pattern.fullmatch, vals)) if match is None]


def _in_form(kind: Kind, vals: list[str]) -> tuple[list[str], list[int]]:
    """The column's values in the commonest form (empty where they are in no form this path
    reads), and the rows whose value is in no such form (the reference parser's)."""
    joined = "\n".join(vals)
    if joined.count("\n") != len(vals) - 1:  # a value with a line break: no column-wide checks
        odd = _odd(_ONE_FORMS[kind], vals)
        in_form = [("" if i in odd else s) for i, s in enumerate(vals)]
    elif _COLUMN_FORMS[kind].fullmatch(joined):
        in_form, odd = vals, []
    else:
        in_form, odd = _normalised(kind, vals, joined)
    if kind in _DATED and _MAYBE_UNREAL.search(joined := "\n".join(in_form)):
        unreal = [i for i, s in enumerate(in_form) if s and not _real_day(s[:10])]
        if unreal:
            in_form = [("" if i in unreal else s) for i, s in enumerate(in_form)]
            odd += unreal
    return in_form, odd


def _normalised(kind: Kind, vals: list[str], joined: str) -> tuple[list[str], list[int]]:
    odd: list[int] = []
    normal = next((normal for pattern, normal in _LOOSE_COLUMNS[kind] if pattern.fullmatch(joined)), None)
    if normal is None:  # some values in no form this path reads: the others by the last form's rule
        odd = _odd(_LOOSE_ONE[kind], vals)
        skip = set(odd)
        joined = "\n".join("" if i in skip else s for i, s in enumerate(vals))
        normal = _LOOSE_COLUMNS[kind][-1][1]
    joined = normal(joined)
    in_form = joined.split("\n")
    if not _COLUMN_FORMS[kind].fullmatch(joined):  # 20 digits and more, or a month 13, say
        more = _odd(_ONE_FORMS[kind], in_form)
        for i in more:
            in_form[i] = ""
        odd += more
    return in_form, odd


def _real_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def copy_text(value: Any) -> str:
    """A value the reference parser typed, as COPY text (timestamps arrive as their COPY text)."""
    if value is None:
        return NULL
    return escape(value if isinstance(value, str) else str(value))


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _wall_clock_text(instant: datetime) -> str:
    """An instant as Asia/Shanghai wall-clock text, `YYYY-MM-DD HH:MM:SS[.ffffff]`: the commonest
    form's values and these compare as texts in the order of their instants, except that one
    instant written with and without its zero seconds compares as two (a row check then flags a
    row it need not, and the reference parser decides it: never the other way round)."""
    return instant.astimezone(LOCAL_TZ).replace(tzinfo=None).isoformat(" ")


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

    def parse(self, batch: Sequence[tuple[int, list[str]]]) -> tuple[str, list[int]]:
        """The COPY text of the batch's rows that have no defect (source_row, row_hash, warnings,
        stored columns), and the positions in `batch` of the other rows."""
        n = len(batch)
        if not n:
            return "", []
        bad = {i for i, (_, fields) in enumerate(batch) if len(fields) != self._width}  # bad_row_shape
        blank = [""] * self._width
        by_position = list(zip(*(blank if i in bad else fields for i, (_, fields) in enumerate(batch))))
        out: list[list[str]] = []
        records: list[list[str]] = []
        clocks: dict[str, list[str]] = {}
        for col, at, reference in self._columns:
            vals = [""] * n if at is None else list(map(str.strip, by_position[at]))
            texts, record, clock = self._column(col, vals, reference, bad)
            if col.required and "" in vals:
                bad.update(i for i, s in enumerate(vals) if not s)
            out.append(texts)
            records.append(record)
            if clock is not None:
                clocks[col.name] = clock
        for check in self._checks:  # before 1992 the wall clock went back an hour each autumn
            pairs = zip(clocks[check.later], clocks[check.earlier])
            bad.update(i for i, (a, b) in enumerate(pairs) if a and b and (a < b or a < _SINCE or b < _SINCE))
        # Every row is written, then the bad ones dropped: cheaper than dropping them from each column.
        start, md5 = self._record_start, hashlib.md5
        hashes = [md5(f"{start}{r})".encode()).hexdigest() for r in map(",".join, zip(*records))]
        numbers = [str(number) for number, _ in batch]
        lines = list(map("\t".join, zip(numbers, hashes, ["{}"] * n, *out)))  # no warnings
        if bad:
            lines = [line for i, line in enumerate(lines) if i not in bad]
        return ("\n".join(lines) + "\n" if lines else ""), sorted(bad)

    def _column(self, col: Column, vals: list[str], reference: Callable[[str], Any],
                bad: set[int]) -> tuple[list[str], list[str], list[str] | None]:
        """One column's COPY texts and record texts (cei.ingest.row_hash), and for a timestamp its
        values as wall-clock texts (_wall_clock_text); marks the rows whose value has a defect."""
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
        clock = None
        if kind is Kind.TIMESTAMP:
            record, clock = _timestamp_records(in_form), list(in_form)
        if odd and (record is vals or record is texts):  # written below, value by value
            record = list(record)
        for i in sorted(odd):  # not in the commonest form: the reference parser, one value
            try:
                value = reference(vals[i])
            except v.Defect:
                bad.add(i)
                continue
            if kind is Kind.TIMESTAMP and value is not None:
                instant, texts[i] = value
                clock[i] = _wall_clock_text(instant)  # type: ignore[index]
                record[i] = record_field(instant)
            else:
                if col.non_negative and isinstance(value, Decimal | int) and value < 0:
                    bad.add(i)
                texts[i] = copy_text(value)
                record[i] = record_field(value)
        return texts, record, clock


def _records(vals: list[str], joined: str) -> list[str]:
    """Text values as record texts: most columns need no quotes at all."""
    if _QUOTED_CHARS.search(joined) is None:
        return vals
    return [quoted(s) if s else "" for s in vals]


def _timestamp_records(in_form: list[str]) -> list[str]:
    """`YYYY-MM-DD HH:MM[:SS]` wall-clock texts as timestamptz's record text in Asia/Shanghai."""
    earliest = min(filter(None, in_form), default="")
    if not earliest or earliest >= _SINCE:
        return [("" if not s else f'"{s}:00+08"' if len(s) == 16 else f'"{s}+08"') for s in in_form]
    return [record_field(datetime.fromisoformat(s).replace(tzinfo=LOCAL_TZ)) if s else "" for s in in_form]
