"""What a feed declaration is made of.

A feed is data, not code: its format, its columns (source name → warehouse name and kind),
its business key and the column whose newest value wins. The one ingestion mechanism in
`cei.ingest` reads these declarations; nothing in it knows a particular feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal


class Kind(Enum):
    """How a source value is parsed (values must stay distinct: equal values would alias)."""

    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    MONTH = "month"  # stored as the first day of the reporting month
    DECIMAL = "decimal"
    INTEGER = "integer"
    ENUM = "enum"
    FLAG = "flag"  # 是 / 否 / empty (= 否)
    REGION = "region"  # a valid Fujian region code (feeds.md, reference data)
    USCC = "uscc"  # unified social credit code, check digit verified
    PHONE = "phone"  # personal: stored only as a keyed HMAC
    NAME = "name"  # personal: dropped on reading, never stored


_SQL_TYPES = {
    Kind.TIMESTAMP: "timestamptz",
    Kind.DATE: "date",
    Kind.MONTH: "date",
    Kind.DECIMAL: "numeric",  # exact, as delivered: no silent rounding
    Kind.INTEGER: "bigint",
    Kind.FLAG: "boolean",
}

PERSONAL_KINDS = frozenset({Kind.PHONE, Kind.NAME})

# The shape every stored value of a kind has (ingestion checks more: region membership, the USCC
# check digit); the raw suites re-check it on what reached raw (cei.feeds.generated).
STORED_PATTERNS = {
    Kind.REGION: "^35[0-9]{4}$",  # a Fujian code
    Kind.USCC: "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",  # GB 32100-2015: no I, O, S, V, Z
}


@dataclass(frozen=True)
class Column:
    source: str  # header text (CSV/XLSX) or key (JSON Lines)
    name: str  # warehouse column name
    kind: Kind = Kind.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()  # for Kind.ENUM
    non_negative: bool = False  # a negative value is a row defect (feeds.md)
    doc: str = ""  # what the column holds, for dbt's docs (the value list is added from `choices`)
    # How the feeds gate treats a row that breaks this column's contract in raw: a column no
    # indicator reads only warns (cei.feeds.generated).
    gate: Literal["critical", "warning"] = "critical"

    @property
    def stored(self) -> bool:
        return self.kind is not Kind.NAME

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES.get(self.kind, "text")


@dataclass(frozen=True)
class NotBefore:
    """A row check: reason `code` when timestamp `later` is set and earlier than `earlier`.
    Declared as data so that the columnar path (cei.ingest.columnar) can apply it to a batch."""

    later: str
    earlier: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.later}_not_before_{self.earlier}"

    def __call__(self, row: Mapping[str, Any]) -> str | None:
        a, b = row.get(self.later), row.get(self.earlier)
        return self.code if a is not None and b is not None and a < b else None


@dataclass(frozen=True)
class Feed:
    name: str  # landing folder name
    format: Literal["csv", "jsonl", "xlsx"]
    table: str  # raw.<table>
    columns: tuple[Column, ...]
    business_key: tuple[str, ...]
    # Column ordering versions of one business key; ties (and None) fall back to delivery order.
    newest_wins: str | None
    row_checks: tuple[NotBefore, ...] = field(default=())
    header_marker: str | None = None  # XLSX: the header row is the first row containing this
    description: str = ""  # what one raw row is, for dbt's docs
    # Days without a delivery after which dbt's source freshness warns / errors. Nightly feeds:
    # the 02:00 run processes the night before, so the newest delivery is ~26 hours old right
    # after a good night; one missed night warns, three error.
    freshness_days: tuple[int, int] = (2, 4)

    @property
    def extension(self) -> str:
        return "." + self.format

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.stored)

    @property
    def required_sources(self) -> tuple[str, ...]:
        """Columns a file must have in its header, or the file is rejected. An optional column
        missing from the header is read as empty in every row."""
        return tuple(c.source for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def not_before(later: str, earlier: str, code: str) -> NotBefore:
    return NotBefore(later, earlier, code)
