"""China's official working-day calendar, from the maintained `chinese-calendar` library.

Statutory deadlines count working days on the State Council's schedule: weekends and public
holidays are off, make-up working days (调休, e.g. Sunday 2025-09-28) are on (indicators.md).
The library (`chinesecalendar` on PyPI, import name `chinese_calendar`) ships those schedules for
the years it supports (2004–2026 in 1.11) and raises NotImplementedError for any other year.

`refresh_calendar(conn)` (re)writes every day of every supported year into
`reference.calendar_days`, which dbt reads as the source of `dim_date` and of every deadline.
`transform.run_dbt` calls it before each dbt invocation, so the warehouse's calendar is always the
installed library's; `python -m cei.calendar` does the same for an ad-hoc dbt run. A day outside
the library's years is never guessed: it is simply not in the table, and dbt flags (or fails on)
what would need it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import metadata

import chinese_calendar
import psycopg
from chinese_calendar.constants import Holiday

from cei import settings as cfg
from cei.errors import CeiError

log = logging.getLogger(__name__)

SCHEMA, TABLE = "reference", "calendar_days"
_LOCK = 0x0CE2  # serialises concurrent refreshes (each is one transaction anyway)

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.{TABLE} (
    calendar_date       date primary key,
    is_workday          boolean not null,  -- a working day on the official calendar
    is_weekend          boolean not null,  -- Saturday or Sunday
    is_public_holiday   boolean not null,  -- a day off of a statutory holiday period (incl. in-lieu days)
    is_makeup_workday   boolean not null,  -- a Saturday/Sunday worked in exchange (调休上班)
    holiday_name        text,              -- Chinese name of the holiday the day belongs to (off or make-up)
    holiday_name_en     text,
    source              text not null,     -- library and version, e.g. 'chinesecalendar 1.11.0'
    refreshed_at        timestamptz not null default now()
)
"""


class OutsideCalendar(CeiError):
    """A working-day question needs a year the calendar library does not cover."""


@dataclass(frozen=True)
class CalendarDay:
    calendar_date: date
    is_workday: bool
    is_weekend: bool
    is_public_holiday: bool
    is_makeup_workday: bool
    holiday_name: str | None
    holiday_name_en: str | None


def source() -> str:
    """The library and its installed version, recorded with every row."""
    try:
        return f"chinesecalendar {metadata.version('chinesecalendar')}"
    except metadata.PackageNotFoundError:  # imported from a source tree
        return "chinesecalendar"


def supported_years() -> tuple[int, int]:
    """The first and last year the installed library has the State Council's schedule for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def _chinese(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return Holiday(name).chinese
    except ValueError:
        return name


def calendar_days() -> list[CalendarDay]:
    """Every day of every year the library supports, as the library says."""
    first, last = supported_years()
    day, end = date(first, 1, 1), date(last, 12, 31)
    out = []
    while day <= end:
        workday = chinese_calendar.is_workday(day)
        weekend = day.weekday() >= 5
        name = chinese_calendar.holidays.get(day) or chinese_calendar.workdays.get(day)
        out.append(CalendarDay(
            calendar_date=day,
            is_workday=workday,
            is_weekend=weekend,
            is_public_holiday=day in chinese_calendar.holidays,
            is_makeup_workday=weekend and workday,
            holiday_name=_chinese(name),
            holiday_name_en=name,
        ))
        day += timedelta(days=1)
    return out


def refresh_calendar(conn: psycopg.Connection) -> dict:
    """(Re)write `reference.calendar_days` from the installed library, in one transaction.

    Idempotent; readers see the old or the new calendar, never a mix. Returns what was written.
    """
    days = calendar_days()
    origin = source()
    with conn.transaction():
        conn.execute(f"select pg_advisory_xact_lock({_LOCK})")
        conn.execute(DDL)
        conn.execute(f"delete from {SCHEMA}.{TABLE}")
        with conn.cursor().copy(
            f"copy {SCHEMA}.{TABLE} (calendar_date, is_workday, is_weekend, is_public_holiday,"
            " is_makeup_workday, holiday_name, holiday_name_en, source) from stdin"
        ) as copy:
            for d in days:
                copy.write_row((d.calendar_date, d.is_workday, d.is_weekend, d.is_public_holiday,
                                d.is_makeup_workday, d.holiday_name, d.holiday_name_en, origin))
    written = {
        "first_day": days[0].calendar_date.isoformat(),
        "last_day": days[-1].calendar_date.isoformat(),
        "days": len(days),
        "source": origin,
    }
    log.info("working-day calendar refreshed: %s", written)
    return written


def is_workday(day: date) -> bool:
    """The library's answer; OutsideCalendar for a year it does not cover (never a guess)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError as exc:
        raise OutsideCalendar(f"no official working-day calendar for {day}: {exc}") from None


def deadline(t: datetime, working_days: int) -> datetime:
    """End (23:59:59 local) of the `working_days`-th working day after `t`'s local date.

    indicators.md: the start day does not count; count from the next day on. The reference
    implementation the dbt models are tested against (they compute the same from dim_date).
    """
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    local = t.astimezone(cfg.LOCAL_TZ) if t.tzinfo else t.replace(tzinfo=cfg.LOCAL_TZ)
    day, left = local.date(), working_days
    while left:
        day += timedelta(days=1)
        left -= is_workday(day)
    return datetime.combine(day, time(23, 59, 59), cfg.LOCAL_TZ)


def main() -> int:
    """`python -m cei.calendar`: refresh the configured warehouse's calendar (ad-hoc dbt runs)."""
    from cei import warehouse

    with warehouse.connect(autocommit=True) as conn:
        written = refresh_calendar(conn)
    print(f"{SCHEMA}.{TABLE}: {written['days']} days {written['first_day']} … {written['last_day']}"
          f" from {written['source']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
