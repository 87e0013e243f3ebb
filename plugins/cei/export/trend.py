"""The month-by-month course of a quarter or a year, for the workbook's 趋势 sheet: per unit and
month the headline rate 消费维权满意率 (numerator, denominator, rate) and the index `cei` score.

Read from the month rows of the marts (`marts.mart_indicator_period` and `marts.mart_cei`,
period_type 'month') and rounded exactly as figures.py rounds what it publishes (counts whole,
rates 6 decimals, scores 2), so a month in the trend shows the figures the month's own export
publishes. A month period has no trend (`read_trend` returns None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg

from cei.errors import CeiError
from cei.export.figures import RATE, SCORE, _query, quantize, whole
from cei.export.periods import Period, month

HEADLINE = "satisfaction_rate"
INDEX = "cei"


@dataclass(frozen=True)
class MonthFigures:
    """One unit's (or the sum over units') figures of one month; None where the marts hold none."""

    numerator: Decimal | None = None
    denominator: Decimal | None = None
    rate: Decimal | None = None
    cei: Decimal | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.numerator, self.denominator, self.rate, self.cei))


_NONE = MonthFigures()


@dataclass(frozen=True)
class Trend:
    """The months of a period (`2026-01` …, in order) and the figures of each unit in each."""

    months: tuple[str, ...]
    figures: Mapping[tuple[str, str], MonthFigures] = field(default_factory=dict)  # (unit_code, month)

    def at(self, unit_code: str, month_text: str) -> MonthFigures:
        return self.figures.get((unit_code, month_text), _NONE)

    def total(self, month_text: str, unit_codes: Iterable[str]) -> MonthFigures:
        """The headline rate over the given units: numerators and denominators summed, then
        divided (never an average of the units' rates); no index score (it does not add up)."""
        rows = [self.at(u, month_text) for u in unit_codes]
        nums = [r.numerator for r in rows if r.numerator is not None]
        dens = [r.denominator for r in rows if r.denominator is not None]
        if not nums and not dens:
            return _NONE
        num, den = sum(nums, Decimal(0)), sum(dens, Decimal(0))
        return MonthFigures(num, den, quantize(num / den, RATE) if den else None)

    @property
    def empty(self) -> bool:
        return all(f.empty for f in self.figures.values())


def months_of(period: Period) -> tuple[str, ...]:
    """The months of a period, in order: 2026Q1 → 2026-01, 2026-02, 2026-03."""
    first, last = period.start.month, period.end.month
    return tuple(month(period.start.year, m).text for m in range(first, last + 1))


def assemble_trend(months: Iterable[str], headline_rows: Iterable[tuple], index_rows: Iterable[tuple]) -> Trend:
    """A Trend from mart rows (pure): (unit, month, numerator, denominator, value) of the headline
    rate and (unit, month, score) of the index. Rows of other months are left out; two rows for
    one unit and month break the marts' contract (CeiError, as figures.assemble)."""
    months = tuple(months)
    wanted = set(months)
    found: dict[tuple[str, str], dict[str, Decimal | None]] = {}
    for source, rows in (("mart_indicator_period", headline_rows), ("mart_cei", index_rows)):
        seen: set[tuple[str, str]] = set()
        for unit, m, *vals in rows:
            if m not in wanted:
                continue
            if (unit, m) in seen:
                raise CeiError(f"marts.{source} has two month rows for {m} {unit}: nothing exported")
            seen.add((unit, m))
            found.setdefault((unit, m), {}).update(_published(source, unit, m, vals))
    return Trend(months, {key: MonthFigures(**vals) for key, vals in sorted(found.items())})


def _published(source: str, unit: str, m: str, vals: list) -> dict[str, Decimal | None]:
    if source == "mart_cei":
        return {"cei": quantize(vals[0], SCORE)}
    num, den, value = vals
    what = f"{HEADLINE} of {unit} in {m}"
    return {"numerator": whole(num, f"numerator of {what}"), "denominator": whole(den, f"denominator of {what}"),
            "rate": quantize(value, RATE)}


def read_trend(conn: psycopg.Connection, period: Period) -> Trend | None:
    """The trend of a quarter or a year from the marts' month rows; None for a month."""
    if period.type == "month":
        return None
    months = months_of(period)
    headline = _query(
        conn,
        "select unit_code::text, period::text, numerator::numeric, denominator::numeric, value::numeric"
        " from marts.mart_indicator_period"
        " where period_type = 'month' and period = any(%s) and indicator_code = %s",
        (list(months), HEADLINE),
    )
    index = _query(
        conn,
        "select unit_code::text, period::text, score::numeric from marts.mart_cei"
        " where period_type = 'month' and period = any(%s) and component_code = %s",
        (list(months), INDEX),
    )
    return assemble_trend(months, headline, index)
