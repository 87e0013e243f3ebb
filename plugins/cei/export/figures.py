"""The figures of one period, read from the marts and rounded once, exactly, for publication.

Every number is a `Decimal` taken from PostgreSQL `numeric` and quantised with ROUND_HALF_UP to
its published precision — rates 6 decimals, money 2, counts integers, scores 2 — never through
float formatting. The CSV, the workbook, the registry and the revision diff all use these same
rounded values, so what is compared is exactly what is published.

Scores and ranks (docs/export.md):

- `cei` and its sub-indices: `score`, `rank` and the rank band are `marts.mart_cei`'s.
- indicators: the normalised score of indicators.md step 1 (min–max over the units, 0–100) and
  the rank on it (1 = best; equal scores to 2 decimals share the best rank), for the indicators
  the index normalises. When the warehouse publishes them (`marts.mart_indicator_score`, beyond
  the contract) the export takes them from there, for exactly the indicators it scores; otherwise
  it computes them the same way for the indicators of the spec's sub-index table.
- every other indicator (counts, sums, and rates outside the index): both empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

import psycopg

from cei.errors import CeiError
from cei.export.catalogue import BY_CODE, CODES, INDICATORS, Code
from cei.export.periods import Period

RATE = Decimal("0.000001")
MONEY = Decimal("0.01")
SCORE = Decimal("0.01")
WHOLE = Decimal("1")
HUNDRED = Decimal(100)

CSV_COLUMNS = (
    "period", "unit_code", "unit_name", "indicator_code", "indicator_name",
    "numerator", "denominator", "value", "score", "rank",
)
# Every published field of a row, in diff order: the CSV's, then the index's rank band
# (published in the workbook only).
FIELDS = (
    "unit_name", "indicator_name", "numerator", "denominator", "value", "score", "rank", "rank_p05", "rank_p95",
)


class NoFigures(CeiError):
    """The marts hold nothing for the period."""


def quantize(x: Decimal | None, step: Decimal) -> Decimal | None:
    if x is None:
        return None
    q = x.quantize(step, rounding=ROUND_HALF_UP)
    return q.copy_abs() if q.is_zero() else q  # never publish -0.00


def band(x: Decimal | None) -> Decimal | None:
    """A percentile rank: an integer as such (percentile_disc), else 2 decimals."""
    q = quantize(x, SCORE)
    return q if q is None or q != q.to_integral_value() else quantize(q, WHOLE)


def whole(x: Decimal | None, what: str) -> Decimal | None:
    """A count: must be integral in the mart; published without decimals."""
    if x is None:
        return None
    if x != x.to_integral_value():
        raise CeiError(f"{what} is {x}, not a whole number: the mart breaks its contract, nothing exported")
    return quantize(x, WHOLE)


def text(x: Decimal | int | str | None) -> str:
    """Published text of a value: fixed-point, never exponent notation; empty for null."""
    if x is None:
        return ""
    if isinstance(x, Decimal):
        return format(x, "f")
    return str(x)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    sort_order: int


@dataclass(frozen=True)
class Row:
    unit_code: str
    unit_name: str
    code: Code
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    score: Decimal | None = None
    rank: Decimal | None = None
    rank_p05: Decimal | None = None
    rank_p95: Decimal | None = None

    def field(self, name: str) -> str:
        if name == "indicator_name":
            return self.code.name
        if name == "indicator_code":
            return self.code.code
        return text(getattr(self, name))

    def csv_values(self, period: str) -> list[str]:
        return [period if c == "period" else self.field(c) for c in CSV_COLUMNS]


@dataclass(frozen=True)
class Figures:
    period: Period
    units: tuple[Unit, ...]
    rows: tuple[Row, ...]  # unit sort_order, then the code order of indicators.md
    not_exported: tuple[str, ...] = ()  # what the marts hold that the export does not know
    scored: frozenset[str] = frozenset()  # codes with a score and rank (the others: empty)

    def row(self, unit_code: str, code: str) -> Row:
        return self._index[(unit_code, code)]

    @cached_property
    def _index(self) -> dict[tuple[str, str], Row]:
        return {(r.unit_code, r.code.code): r for r in self.rows}

    def canonical(self) -> dict[str, dict[str, dict[str, str]]]:
        """unit_code → code → field → published text: what the registry keeps and diffs compare."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for r in self.rows:
            out.setdefault(r.unit_code, {})[r.code.code] = {f: r.field(f) for f in FIELDS}
        return out

    def fingerprint(self) -> str:
        return fingerprint(self.canonical())


def fingerprint(canonical: Mapping) -> str:
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Scores and ranks of plain indicators (pure)


def minmax_scores(values: Mapping[str, Decimal | None], better: str) -> dict[str, Decimal | None]:
    """indicators.md step 1, unrounded: 0–100 across the units; max = min → 100; null → no score."""
    present = {u: v for u, v in values.items() if v is not None}
    out: dict[str, Decimal | None] = dict.fromkeys(values)
    if not present:
        return out
    lo, hi = min(present.values()), max(present.values())
    for u, v in present.items():
        if hi == lo:
            out[u] = HUNDRED
        elif better == "lower":
            out[u] = HUNDRED * (hi - v) / (hi - lo)
        else:
            out[u] = HUNDRED * (v - lo) / (hi - lo)
    return out


def competition_ranks(scores: Mapping[str, Decimal | None]) -> dict[str, Decimal | None]:
    """1 = highest score; scores equal to 2 decimals share the best rank (1, 2, 2, 4); none → none."""
    shown = {u: quantize(v, SCORE) for u, v in scores.items()}
    present = [v for v in shown.values() if v is not None]
    return {u: None if v is None else Decimal(1 + sum(1 for w in present if w > v)) for u, v in shown.items()}


# ---------------------------------------------------------------------------------------------
# Reading the marts


def _published_value(code: Code, x: Decimal | None, what: str) -> Decimal | None:
    if code.kind == "rate":
        return quantize(x, RATE)
    if code.kind in ("money", "index"):
        return quantize(x, MONEY)
    return whole(x, what)


def _query(conn: psycopg.Connection, query: str, args: tuple) -> list[tuple]:
    try:
        return conn.execute(query, args).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CeiError(f"the marts are not built to their contract ({first}): run the pipeline first") from None


def read_figures(conn: psycopg.Connection, period: Period) -> Figures:
    """Every unit of `marts.dim_unit` × every code of the catalogue, for `period`."""
    units = tuple(
        Unit(code, name, order)
        for code, name, order in _query(
            conn, "select unit_code::text, unit_name::text, sort_order from marts.dim_unit"
            " order by sort_order, unit_code", ()
        )
    )
    if not units:
        raise CeiError("marts.dim_unit is empty: run the pipeline first")
    args = (period.text, period.type)
    ind = _query(
        conn,
        "select unit_code::text, indicator_code::text, numerator::numeric, denominator::numeric, value::numeric"
        " from marts.mart_indicator_period where period = %s and period_type = %s",
        args,
    )
    idx = _query(
        conn,
        "select unit_code::text, component_code::text, score::numeric, rank::numeric,"
        " rank_p05::numeric, rank_p95::numeric"
        " from marts.mart_cei where period = %s and period_type = %s",
        args,
    )
    if not ind and not idx:
        raise NoFigures(f"the marts hold no figures for period {period} ({period.type}): nothing to export")
    scores = None
    if conn.execute("select to_regclass('marts.mart_indicator_score') is not null").fetchone()[0]:
        scores = _query(
            conn,
            "select unit_code::text, indicator_code::text, score::numeric, rank::numeric"
            " from marts.mart_indicator_score where period = %s and period_type = %s",
            args,
        )
    return assemble(period, units, ind, idx, scores)


def assemble(period: Period, units: Iterable[Unit], indicator_rows: Iterable[tuple],
             index_rows: Iterable[tuple], score_rows: Iterable[tuple] | None = None) -> Figures:
    """Figures from mart rows (pure): (unit, code, numerator, denominator, value),
    (unit, component, score, rank, rank_p05, rank_p95) and, when the warehouse publishes indicator
    scores, (unit, code, score, rank) — None: compute them (indicators.md step 1)."""
    units = tuple(units)
    known_units = {u.code for u in units}
    raw: dict[str, dict[tuple[str, str], tuple]] = {}
    not_exported: set[str] = set()
    sources = [("mart_indicator_period", indicator_rows), ("mart_cei", index_rows)]
    if score_rows is not None:
        sources.append(("mart_indicator_score", score_rows))
    for source, rows in sources:
        seen = raw.setdefault(source, {})
        for unit, code, *vals in rows:
            if unit not in known_units or code not in BY_CODE:
                not_exported.add(f"{source}:{unit}:{code}")
                continue
            if (unit, code) in seen:
                raise CeiError(f"marts.{source} has two rows for {period} {unit} {code}: nothing exported")
            seen[(unit, code)] = tuple(vals)

    published: dict[tuple[str, str], dict[str, Decimal | None]] = {}
    for u in units:
        for c in CODES:
            what = f"{c.code} of {u.code} in {period}"
            if c.kind == "index":
                vals = raw["mart_cei"].get((u.code, c.code))
                score, rank, p05, p95 = vals if vals else (None, None, None, None)
                score = quantize(score, SCORE)
                published[(u.code, c.code)] = dict(
                    value=score, score=score, rank=whole(rank, f"rank of {what}"),
                    rank_p05=band(p05), rank_p95=band(p95),
                )
            else:
                vals = raw["mart_indicator_period"].get((u.code, c.code))
                num, den, value = vals if vals else (None, None, None)
                count_like = c.kind in ("rate", "count")
                published[(u.code, c.code)] = dict(
                    numerator=whole(num, f"numerator of {what}") if count_like else quantize(num, MONEY),
                    denominator=whole(den, f"denominator of {what}") if count_like else quantize(den, MONEY),
                    value=_published_value(c, value, what), score=None, rank=None,
                )

    if score_rows is not None:  # the warehouse's indicator scores: exactly the indicators it scores
        scored = {code for _, code in raw["mart_indicator_score"]}
        for (unit, code), (score, rank) in raw["mart_indicator_score"].items():
            if BY_CODE[code].kind == "index":
                continue
            published[(unit, code)].update(
                score=quantize(score, SCORE), rank=whole(rank, f"rank of {code} of {unit} in {period}")
            )
    else:  # computed as indicators.md step 1, from the marts' unrounded values
        scored = {c.code for c in INDICATORS if c.in_index}
        for c in INDICATORS:
            if c.code not in scored:
                continue
            values = {u.code: (raw["mart_indicator_period"].get((u.code, c.code)) or (None,) * 3)[2] for u in units}
            scores = minmax_scores(values, c.better)
            ranks = competition_ranks(scores)
            for u in units:
                published[(u.code, c.code)].update(score=quantize(scores[u.code], SCORE), rank=ranks[u.code])

    rows = tuple(
        Row(unit_code=u.code, unit_name=u.name, code=c, **published[(u.code, c.code)]) for u in units for c in CODES
    )
    return Figures(period, units, rows, tuple(sorted(not_exported)),
                   frozenset(scored) | {c.code for c in CODES if c.kind == "index"})
