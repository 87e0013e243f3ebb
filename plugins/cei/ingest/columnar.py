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

Kept rows leave as COPY text for the stage table. A value in its commonest form is sent as
delivered: PostgreSQL reads a timestamp without an offset as Asia/Shanghai wall-clock time
(rows.Parsed.copy_values), and a plain number or ISO date as the value the reference parser
would have typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cei.feeds.model import Column, Feed, Kind
from cei.ingest import values as v
from cei.ingest.rows import RowContext, value_parser
from cei.settings import LOCAL_TZ

NULL = "\\N"  # COPY text format's null
# A kept row's lineage columns in the stage table, between its number and its values.
_CLEAN = "\t{}\t\\N\t\\N\t\\N\t"  # no warnings; not quarantined

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


def _column_pattern(one: str) -> re.Pattern[str]:
    """A whole column of values in the form (or empty), joined by newlines."""
    return re.compile(f"(?:{one})?(?:\n(?:{one})?)*", re.ASCII)


_COLUMN_FORMS = {kind: _column_pattern(one) for kind, (one, _) in _FORMS.items()}
_ONE_FORMS = {kind: re.compile(f"(?:{one})?", re.ASCII) for kind, (one, _) in _FORMS.items()}  # or empty


def _copy_text(value: Any) -> str:
    """A value the reference parser typed, as COPY text (timestamps arrive as their COPY text)."""
    if value is None:
        return NULL
    return _escape(value if isinstance(value, str) else str(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _naive_local(dt: datetime) -> datetime:
    """An instant as Asia/Shanghai wall-clock time, comparable with the commonest form's values."""
    return dt.astimezone(LOCAL_TZ).replace(tzinfo=None)


class ColumnarParser:
    """Built once per file from its header; `parse` takes batches of (row number, fields)."""

    @classmethod
    def for_file(cls, feed: Feed, ctx: RowContext, header: Sequence[str]) -> ColumnarParser | None:
        """None when the feed has a kind or a row check this path does not type (the reference
        parser then reads the whole file)."""
        typed = {c.name for c in feed.stored_columns if c.kind is Kind.TIMESTAMP}
        if any(c.kind not in _HANDLED for c in feed.stored_columns) or any(
            not {check.later, check.earlier} <= typed for check in feed.row_checks
        ):
            return None
        return cls(feed, ctx, header)

    def __init__(self, feed: Feed, ctx: RowContext, header: Sequence[str]) -> None:
        position = {h: i for i, h in enumerate(header)}
        self._width = len(header)
        self._columns = [(c, position.get(c.source), value_parser(c, ctx)) for c in feed.stored_columns]
        self._checks = feed.row_checks
        self._ctx = ctx

    def parse(self, batch: Sequence[tuple[int, list[str]]]) -> tuple[str, list[tuple[int, list[str]]]]:
        """The COPY text of the batch's rows that have no defect, and the other rows."""
        n = len(batch)
        if not n:
            return "", []
        bad = {i for i, (_, fields) in enumerate(batch) if len(fields) != self._width}  # bad_row_shape
        blank = [""] * self._width
        by_position = list(zip(*(blank if i in bad else fields for i, (_, fields) in enumerate(batch))))
        out: list[list[str]] = []
        instants: dict[str, list[datetime | None]] = {}
        for col, at, reference in self._columns:
            vals = [""] * n if at is None else list(map(str.strip, by_position[at]))
            texts, typed = self._column(col, vals, reference, bad)
            if col.required and "" in vals:
                bad.update(i for i, s in enumerate(vals) if not s)
            out.append(texts)
            if typed is not None:
                instants[col.name] = typed
        for check in self._checks:
            pairs = zip(instants[check.later], instants[check.earlier])
            bad.update(i for i, (a, b) in enumerate(pairs) if a is not None and b is not None and a < b)
        keep = [i for i in range(n) if i not in bad] if bad else range(n)
        if bad:
            out = [[texts[i] for i in keep] for texts in out]
        lines = [f"{batch[i][0]}{_CLEAN}{values}" for i, values in zip(keep, map("\t".join, zip(*out)))]
        return ("\n".join(lines) + "\n" if lines else ""), [batch[i] for i in sorted(bad)]

    def _column(self, col: Column, vals: list[str], reference: Callable[[str], Any],
                bad: set[int]) -> tuple[list[str], list[Any] | None]:
        """One column's COPY texts, and its values as naive local datetimes for a timestamp;
        marks the rows whose value has a defect."""
        kind = col.kind
        if kind is Kind.TEXT:
            joined = "\x00".join(vals)
            if joined.count("\x00") != len(vals) - 1:  # PostgreSQL text cannot hold NUL: the reference
                bad.update(i for i, s in enumerate(vals) if "\x00" in s)  # path rejects the file
                return [_escape(s) if s else NULL for s in vals], None
            return [s or NULL for s in _escape(joined).split("\x00")], None
        if kind is Kind.PHONE:
            secret = self._ctx.pii_secret
            return [v.keyed_phone_hash(s, secret) if s else NULL for s in vals], None
        if kind is Kind.USCC:
            codes = [v.valid_uscc(s) if s else NULL for s in vals]
            bad.update(i for i, code in enumerate(codes) if code is None)
            return [code or NULL for code in codes], None
        if kind in _SETS:
            allowed = {"", *(_FLAGS if kind is Kind.FLAG else
                             self._ctx.valid_regions if kind is Kind.REGION else col.choices)}
            odd = [] if allowed.issuperset(vals) else [i for i, s in enumerate(vals) if s not in allowed]
            texts = [_FLAGS.get(s, s) for s in vals] if kind is Kind.FLAG else [s or NULL for s in vals]
        else:
            odd = [] if _COLUMN_FORMS[kind].fullmatch("\n".join(vals)) else [
                i for i, match in enumerate(map(_ONE_FORMS[kind].fullmatch, vals)) if match is None]
            texts = [s or NULL for s in vals]
        convert = _FORMS[kind][1] if kind in _FORMS else None
        typed: list[Any] | None = None
        if convert is not None:
            odd_set = set(odd)
            in_form = [("" if i in odd_set else s) for i, s in enumerate(vals)] if odd else vals
            try:
                typed = [convert(s) if s else None for s in in_form]
            except ValueError:  # in form but not a date (2026-02-30): the reference parser says
                typed = [None] * len(vals)
                for i, s in enumerate(in_form):
                    try:
                        typed[i] = convert(s) if s else None
                    except ValueError:
                        odd.append(i)
        for i in sorted(set(odd)):  # not in the commonest form: the reference parser, one value
            try:
                value = reference(vals[i])
            except v.Defect:
                bad.add(i)
                continue
            if kind is Kind.TIMESTAMP and value is not None:
                instant, texts[i] = value
                typed[i] = _naive_local(instant)  # type: ignore[index]
            else:
                if col.non_negative and isinstance(value, Decimal | int) and value < 0:
                    bad.add(i)
                texts[i] = _copy_text(value)
                if typed is not None:
                    typed[i] = value
        return texts, (typed if kind is Kind.TIMESTAMP else None)
