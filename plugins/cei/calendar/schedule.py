"""The bureau's own copy of a year's official schedule, as a CSV, parsed and validated.

When the State Council publishes 国务院办公厅关于XXXX年部分节假日安排的通知, the bureau writes that year as
`date,day_type,note` rows: each weekday off as `holiday`, each weekend make-up working day (调休上班)
as `workday`; every other day follows the week (example: docs/calendar/2025.csv). A file is taken
whole or refused whole, with a one-line reason naming the file and the line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, cast

from cei.errors import CeiError

DayType = Literal["holiday", "workday"]
COLUMNS = ("date", "day_type", "note")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class BadSchedule(CeiError):
    """A calendar file that cannot be taken: one line naming the file, the line and the problem."""


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    day_type: DayType  # holiday: a weekday off; workday: a weekend day worked
    note: str  # free text, usually the holiday's name


@dataclass(frozen=True)
class Schedule:
    year: int
    days: tuple[ScheduleDay, ...]  # sorted by day
    sha256: str  # of the file's bytes

    @property
    def holidays(self) -> int:
        return sum(d.day_type == "holiday" for d in self.days)

    @property
    def workdays(self) -> int:
        return sum(d.day_type == "workday" for d in self.days)


def _bad(name: str, line: int | None, reason: str) -> BadSchedule:
    where = f"{name}, line {line}" if line is not None else name
    return BadSchedule(re.sub(r"\s*[\r\n]+\s*", " ", f"{where}: {reason}"))


def _header(fields: list[str], name: str, line: int) -> dict[str, int]:
    """Column name → position; refuses an unknown, repeated or missing column."""
    positions: dict[str, int] = {}
    for i, raw in enumerate(fields):
        column = raw.strip()
        if column not in COLUMNS:
            raise _bad(name, line, f"unknown column {column!r} (the columns are date,day_type,note)")
        if column in positions:
            raise _bad(name, line, f"column {column!r} appears twice")
        positions[column] = i
    for column in COLUMNS:
        if column not in positions:
            raise _bad(name, line, f"missing column {column!r} (the columns are date,day_type,note)")
    return positions


def _day(value: str, name: str, line: int) -> date:
    if not _DATE.fullmatch(value):
        raise _bad(name, line, f"date {value!r} is not YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(name, line, f"date {value!r} does not exist") from None


def parse_schedule(data: bytes, name: str = "calendar file") -> Schedule:
    """The schedule in `data` (a CSV's bytes); BadSchedule on the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _bad(name, line, f"not UTF-8 (byte 0x{data[exc.start]:02x})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    positions: dict[str, int] | None = None
    rows: list[ScheduleDay] = []
    seen: dict[date, int] = {}
    year: int | None = None
    line = 0
    while True:
        line = reader.line_num + 1  # where the next record starts
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _bad(name, line, f"not valid CSV ({exc})") from None
        if all(not f.strip() for f in fields) and len(fields) <= 1:
            continue  # a blank line
        if positions is None:
            positions = _header(fields, name, line)
            continue
        if len(fields) != len(COLUMNS):
            raise _bad(name, line, f"{len(fields)} fields, expected {len(COLUMNS)}"
                                   " (a comma inside a note needs the note in double quotes)")
        day = _day(fields[positions["date"]].strip(), name, line)
        day_type = fields[positions["day_type"]].strip()
        if day_type not in ("holiday", "workday"):
            raise _bad(name, line, f"unknown day_type {day_type!r} (holiday or workday)")
        if day_type == "holiday" and day.weekday() >= 5:
            raise _bad(name, line, f"{day} is a {_WEEKDAYS[day.weekday()]}: a holiday must be a Monday–Friday"
                                   " (weekends are off anyway)")
        if day_type == "workday" and day.weekday() < 5:
            raise _bad(name, line, f"{day} is a {_WEEKDAYS[day.weekday()]}: a workday must be a Saturday or"
                                   " Sunday (a make-up working day)")
        if year is None:
            year = day.year
        elif day.year != year:
            raise _bad(name, line, f"{day} is in {day.year}, earlier rows in {year}: one file holds one year")
        if day in seen:
            raise _bad(name, line, f"{day} appears twice (first on line {seen[day]})")
        seen[day] = line
        rows.append(ScheduleDay(day=day, day_type=cast(DayType, day_type), note=fields[positions["note"]].strip()))
    if positions is None:
        raise _bad(name, None, "empty file (expected the header date,day_type,note and the year's days)")
    if year is None:
        raise _bad(name, line, "no days after the header (every year has holidays)")
    return Schedule(year=year, days=tuple(sorted(rows, key=lambda d: d.day)),
                    sha256=hashlib.sha256(data).hexdigest())


def read_schedule(path: Path) -> Schedule:
    """The schedule in the file at `path`; BadSchedule if it cannot be read or taken."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _bad(str(path), None, f"cannot read it ({exc.strerror or exc})") from None
    return parse_schedule(data, str(path))
