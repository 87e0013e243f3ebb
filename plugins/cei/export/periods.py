"""Export periods: `2026-03` (month), `2026Q1` (quarter), `2026` (year). Pure functions.

A period is **final** from the 16th day after it ends (2026Q1: from 2026-04-16) and
**provisional** before. Finality is judged against the as-of date of the figures (the last
delivery date the warehouse has been built for), never against the wall clock, so that the same
warehouse exports the same status whenever it is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cei.errors import CeiError

PeriodType = Literal["month", "quarter", "year"]
FINAL_AFTER_DAYS = 16  # indicators.md: final from the 16th day after the period ends

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only: \d would accept full-width ones
_QUARTER = re.compile(r"([0-9]{4})Q([0-9])")
_YEAR = re.compile(r"([0-9]{4})")
_TYPE_ORDER = {"month": 0, "quarter": 1, "year": 2}
_QUARTER_NAMES = "一二三四"


class BadPeriod(CeiError):
    """Not a period the export knows."""


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first day
    end: date  # last day
    type: PeriodType
    text: str  # canonical: 2026-03 | 2026Q1 | 2026

    def __str__(self) -> str:
        return self.text

    @property
    def final_from(self) -> date:
        return self.end + timedelta(days=FINAL_AFTER_DAYS)

    def status_at(self, as_of_date: date) -> Literal["provisional", "final"]:
        return "final" if as_of_date >= self.final_from else "provisional"

    @property
    def label(self) -> str:
        """Chinese label for people: 2026年3月, 2026年第一季度, 2026年度."""
        if self.type == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.type == "quarter":
            return f"{self.start.year}年第{_QUARTER_NAMES[(self.start.month - 1) // 3]}季度"
        return f"{self.start.year}年度"

    @property
    def sort_key(self) -> tuple[int, date]:
        return (_TYPE_ORDER[self.type], self.start)


def _bad(text: str) -> BadPeriod:
    return BadPeriod(
        f"bad period {text!r}: expected YYYY-MM (month 01–12), YYYYQn (quarter 1–4) or YYYY, e.g. 2026-03, 2026Q1, 2026"
    )


def month(year: int, m: int) -> Period:
    start = date(year, m, 1)
    end = (date(year + 1, 1, 1) if m == 12 else date(year, m + 1, 1)) - timedelta(days=1)
    return Period(start, end, "month", f"{year:04d}-{m:02d}")


def quarter(year: int, q: int) -> Period:
    start = date(year, 3 * q - 2, 1)
    end = month(year, 3 * q).end
    return Period(start, end, "quarter", f"{year:04d}Q{q}")


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), "year", f"{y:04d}")


def parse_period(text: str) -> Period:
    """The period `text` names, or BadPeriod with a one-line reason."""
    text = text if isinstance(text, str) else str(text)
    if m := _MONTH.fullmatch(text):
        y, mo = int(m[1]), int(m[2])
        if 1 <= mo <= 12 and y >= 1900:
            return month(y, mo)
    elif m := _QUARTER.fullmatch(text):
        y, q = int(m[1]), int(m[2])
        if 1 <= q <= 4 and y >= 1900:
            return quarter(y, q)
    elif (m := _YEAR.fullmatch(text)) and int(m[1]) >= 1900:
        return year(int(m[1]))
    raise _bad(text)


def containing(day: date) -> tuple[Period, Period, Period]:
    """The month, quarter and year that contain `day`."""
    return month(day.year, day.month), quarter(day.year, (day.month - 1) // 3 + 1), year(day.year)


def with_rollups(months: set[date] | list[date]) -> list[Period]:
    """The months of the given days plus their quarters and years; months first, then quarters,
    then years, each in time order."""
    found: set[Period] = set()
    for day in months:
        found.update(containing(day))
    return sorted(found, key=lambda p: p.sort_key)
