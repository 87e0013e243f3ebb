"""The figures of one period, read from the marts and rounded once, exactly, for publication.

Every number is a `Decimal` taken from PostgreSQL `numeric` and quantised with ROUND_HALF_UP to
its published precision — rates 6 decimals, money 2, counts integers, scores 2 — never through
float formatting. The CSV, the workbook, the registry and the revision diff all use these same
rounded values, so what is compared is exactly what is published. The codes published, their
names and order are the catalogue's (catalogue.py), read from `marts.dim_indicator` and
`marts.dim_cei_component` in the same snapshot as the figures.

Scores and ranks (docs/export.md):

- `cei` and its sub-indices: `score`, `rank` and the rank band are `marts.mart_cei`'s.
- `cei` and its sub-indices also carry the median of the Monte Carlo ranks (`rank_p50`, shown in
  the workbook with the 5th–95th band, as COINr does) and `note` (why a score or rank is empty).
- indicators the index scores: the normalised score (min–max over the units with enough data,
  0–100), the rank on it and `note`, from `marts.mart_indicator_score`.
- every other indicator (counts, sums, and rates outside the index): all three empty.

Notes (`note`, the CSV's last column; docs/index.md): `insufficient_data` — the unit's
denominator is below the indicator's minimum, so the value is published but not scored;
`insufficient_coverage` — the unit's scored indicators carry less than the minimum share of the
index's weight, so it has no index, sub-index or rank; `too_few_units` — fewer units than the
minimum have a score, so nobody is ranked on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

import psycopg

from cei.errors import CeiError
from cei.export.catalogue import COMPONENT_COLUMNS, INDICATOR_COLUMNS, Catalogue, Code, catalogue_from_rows
from cei.export.periods import Period
from cei.feeds import FEEDS

RATE = Decimal("0.000001")
MONEY = Decimal("0.01")
SCORE = Decimal("0.01")
WHOLE = Decimal("1")

CSV_COLUMNS = (
    "period", "unit_code", "unit_name", "indicator_code", "indicator_name",
    "numerator", "denominator", "value", "score", "rank", "note",
)
# Every published field of a row, in diff order: the CSV's, then the index's rank band
# (published in the workbook only).
FIELDS = (
    "unit_name", "indicator_name", "numerator", "denominator", "value", "score", "rank", "note",
    "rank_p05", "rank_p50", "rank_p95",
)
NOTES = ("insufficient_data", "insufficient_coverage", "too_few_units")


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
    rank_p50: Decimal | None = None
    rank_p95: Decimal | None = None
    note: str = ""

    def field(self, name: str) -> str:
        if name == "indicator_name":
            return self.code.name
        if name == "indicator_code":
            return self.code.code
        return text(getattr(self, name))

    def csv_values(self, period: str) -> list[str]:
        return [period if c == "period" else self.field(c) for c in CSV_COLUMNS]


@dataclass(frozen=True)
class FeedCoverage:
    """What one feed delivered for one unit in the period (marts.mart_feed_coverage)."""

    feed: str
    unit_code: str
    rows: int  # business keys whose date falls in the period
    months_present: int  # months of the period with at least one
    months: int  # months in the period

    def as_json(self) -> dict:
        return {"feed": self.feed, "unit_code": self.unit_code, "rows": self.rows,
                "months_present": self.months_present, "months": self.months}


@dataclass(frozen=True)
class Rules:
    """The data-sufficiency rules the figures were computed under (marts.dim_cei_rule, from the
    seed the bureau edits)."""

    min_denominator: dict[str, int]  # scored indicator → smallest denominator that gets a score
    min_coverage: Decimal  # smallest share of the index's weight a unit needs for an index
    min_ranked_units: int  # fewest units a ranking needs


@dataclass(frozen=True)
class AuditRow:
    """One row of marts.mart_cei_audit (cei.index_audit): section, subject, related, measure,
    value, flag."""

    section: str
    subject: str
    related: str | None
    measure: str
    value: Decimal | None
    flag: str | None


@dataclass(frozen=True)
class Figures:
    period: Period
    units: tuple[Unit, ...]
    rows: tuple[Row, ...]  # unit sort_order, then the catalogue's code order
    catalogue: Catalogue  # the codes published, as the marts define them
    not_exported: tuple[str, ...] = ()  # what the marts hold that the export does not know
    scored: frozenset[str] = frozenset()  # codes with a score and rank (the others: empty)
    coverage: tuple[FeedCoverage, ...] = ()  # feed × unit, feeds in FEEDS order
    index_coverage: Mapping[str, Decimal | None] = dataclasses.field(default_factory=dict)  # unit → share of weight
    rules: Rules | None = None
    audit: tuple[AuditRow, ...] = ()

    def feeds_without_data(self) -> tuple[str, ...]:
        """Feeds that delivered nothing at all for the period: it can never be final."""
        totals: dict[str, int] = {}
        for c in self.coverage:
            totals[c.feed] = totals.get(c.feed, 0) + c.rows
        return tuple(feed for feed, rows in totals.items() if rows == 0)

    def no_data_reason(self) -> str | None:
        """Why the period cannot be final for want of data, or None."""
        missing = self.feeds_without_data()
        if not missing:
            return None
        return (f"no data at all from {', '.join(missing)} in {self.period}: provisional whatever the date,"
                " until the feed delivers rows for the period")

    def units_with_index(self) -> int:
        return sum(1 for u in self.units if self.row(u.code, "cei").score is not None)

    def ranks_withheld_reason(self) -> str | None:
        """Why the index is published without ranks, or None."""
        if self.rules is None or self.units_with_index() >= self.rules.min_ranked_units:
            return None
        return (f"only {self.units_with_index()} of {len(self.units)} units have an index (coverage of at least"
                f" {self.rules.min_coverage} of its weight); a ranking needs {self.rules.min_ranked_units}:"
                " no ranks or rank bands published")

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


def read_catalogue(conn: psycopg.Connection) -> Catalogue:
    """The codes to publish, from `marts.dim_indicator` and `marts.dim_cei_component`."""
    indicators = _query(
        conn, f"select {', '.join(f'{c}::text' for c in INDICATOR_COLUMNS)} from marts.dim_indicator"
        " order by sort_order, indicator_code", ()
    )
    components = _query(
        conn, f"select {', '.join(f'{c}::text' for c in COMPONENT_COLUMNS)} from marts.dim_cei_component"
        " order by sort_order, component_code", ()
    )
    return catalogue_from_rows(indicators, components)


def read_figures(conn: psycopg.Connection, period: Period) -> Figures:
    """Every unit of `marts.dim_unit` × every code of the catalogue (read_catalogue), for `period`."""
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
        "select unit_code::text, component_code::text, score::numeric, rank::numeric, rank_p05::numeric,"
        " rank_p50::numeric, rank_p95::numeric, coalesce(note, ''), coverage::numeric"
        " from marts.mart_cei where period = %s and period_type = %s",
        args,
    )
    if not ind and not idx:
        raise NoFigures(f"the marts hold no figures for period {period} ({period.type}): nothing to export")
    catalogue = read_catalogue(conn)
    scores = _query(
        conn,
        "select unit_code::text, indicator_code::text, score::numeric, rank::numeric, coalesce(note, '')"
        " from marts.mart_indicator_score where period = %s and period_type = %s",
        args,
    )
    feed_order = {feed: i for i, feed in enumerate(FEEDS)}
    unit_order = {u.code: u.sort_order for u in units}
    coverage = tuple(sorted(
        (FeedCoverage(*row) for row in _query(
            conn,
            "select feed::text, unit_code::text, rows::integer, months_present::integer, months::integer"
            " from marts.mart_feed_coverage where period = %s and period_type = %s",
            args,
        )),
        key=lambda c: (feed_order.get(c.feed, len(feed_order)), unit_order.get(c.unit_code, 0), c.feed),
    ))
    figures = assemble(period, units, ind, [row[:-1] for row in idx], scores, coverage, catalogue=catalogue)
    index_coverage = {unit: share for unit, code, *_, share in idx if code == "cei"}
    rules = _query(conn, "select rule_code::text, indicator_code::text, threshold::numeric from marts.dim_cei_rule", ())
    audit = tuple(
        AuditRow(*row)
        for row in _query(
            conn,
            "select section::text, subject::text, related::text, measure::text, value::numeric, flag::text"
            " from marts.mart_cei_audit where period = %s and period_type = %s order by audit_order",
            args,
        )
    )
    return dataclasses.replace(figures, index_coverage=index_coverage, rules=read_rules(rules), audit=audit)


def read_rules(rows: Iterable[tuple[str, str | None, Decimal]]) -> Rules:
    """Rules from (rule_code, indicator_code, threshold) rows of marts.dim_cei_rule."""
    min_denominator: dict[str, int] = {}
    single: dict[str, Decimal] = {}
    for rule, code, threshold in rows:
        if rule == "min_denominator":
            min_denominator[code] = int(threshold)
        else:
            single[rule] = threshold
    try:
        return Rules(min_denominator, single["min_coverage"], int(single["min_ranked_units"]))
    except KeyError as exc:
        raise CeiError(f"marts.dim_cei_rule has no {exc.args[0]} rule: nothing exported") from None


def assemble(period: Period, units: Iterable[Unit], indicator_rows: Iterable[tuple],
             index_rows: Iterable[tuple], score_rows: Iterable[tuple],
             coverage: Iterable[FeedCoverage] = (), *, catalogue: Catalogue) -> Figures:
    """Figures from mart rows (pure): (unit, code, numerator, denominator, value),
    (unit, component, score, rank, rank_p05, rank_p50, rank_p95, note) and the indicator scores
    (unit, code, score, rank, note), for the codes of `catalogue`."""
    units = tuple(units)
    codes, by_code = catalogue.codes, catalogue.by_code
    known_units = {u.code for u in units}
    raw: dict[str, dict[tuple[str, str], tuple]] = {}
    not_exported: set[str] = set()
    sources = [("mart_indicator_period", indicator_rows), ("mart_cei", index_rows),
               ("mart_indicator_score", score_rows)]
    for source, rows in sources:
        seen = raw.setdefault(source, {})
        for unit, code, *vals in rows:
            if unit not in known_units or code not in by_code:
                not_exported.add(f"{source}:{unit}:{code}")
                continue
            if (unit, code) in seen:
                raise CeiError(f"marts.{source} has two rows for {period} {unit} {code}: nothing exported")
            seen[(unit, code)] = tuple(vals)

    published: dict[tuple[str, str], dict] = {}
    for u in units:
        for c in codes:
            what = f"{c.code} of {u.code} in {period}"
            if c.kind == "index":
                vals = raw["mart_cei"].get((u.code, c.code))
                score, rank, p05, p50, p95, note = vals if vals else (None,) * 5 + ("",)
                score = quantize(score, SCORE)
                published[(u.code, c.code)] = dict(
                    value=score, score=score, rank=whole(rank, f"rank of {what}"),
                    rank_p05=band(p05), rank_p50=band(p50), rank_p95=band(p95), note=_note(note, what),
                )
            else:
                vals = raw["mart_indicator_period"].get((u.code, c.code))
                num, den, value = vals if vals else (None, None, None)
                count_like = c.kind in ("rate", "count")
                published[(u.code, c.code)] = dict(
                    numerator=whole(num, f"numerator of {what}") if count_like else quantize(num, MONEY),
                    denominator=whole(den, f"denominator of {what}") if count_like else quantize(den, MONEY),
                    value=_published_value(c, value, what),
                )

    # the warehouse's indicator scores: exactly the indicators the index scores
    scored = {code for _, code in raw["mart_indicator_score"]}
    for (unit, code), (score, rank, note) in raw["mart_indicator_score"].items():
        what = f"{code} of {unit} in {period}"
        if by_code[code].kind == "index":
            continue
        published[(unit, code)].update(
            score=quantize(score, SCORE), rank=whole(rank, f"rank of {what}"), note=_note(note, what)
        )

    rows = tuple(
        Row(unit_code=u.code, unit_name=u.name, code=c, **published[(u.code, c.code)]) for u in units for c in codes
    )
    return Figures(period, units, rows, catalogue, tuple(sorted(not_exported)),
                   frozenset(scored) | {c.code for c in codes if c.kind == "index"}, tuple(coverage))


def _note(note: str | None, what: str) -> str:
    if note and note not in NOTES:
        raise CeiError(f"note {note!r} of {what} is not one the export knows ({', '.join(NOTES)}): nothing exported")
    return note or ""
