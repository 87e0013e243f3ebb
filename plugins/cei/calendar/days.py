"""China's official working days, from three sources resolved per year: imported > library > provisional.

* **library**: the maintained `chinese-calendar` library (`chinesecalendar` on PyPI, import name
  `chinese_calendar`), which ships the State Council's schedules (2004–2026 in 1.11) and raises
  NotImplementedError for any other year.
* **imported**: the bureau's CSV of a year's State Council notice (`schedule.py`); it wins for its year.
* **provisional**: a later year nobody has a schedule for: weekends off, weekdays on, plus the
  statutory days of 《全国年节及纪念日放假办法》 (2024 revision, in force from 2025). No make-up working
  days and no in-lieu days: a statutory day on a weekend adds nothing. Lunar dates and the 清明 solar
  term come from `lunar-python`.

Statutory deadlines count working days on this calendar: weekends and public holidays are off,
make-up working days (调休, e.g. Sunday 2025-09-28) are on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import metadata
from typing import Literal

import chinese_calendar
from chinese_calendar.constants import Holiday
from lunar_python import Lunar

from cei import settings as cfg
from cei.calendar.schedule import Schedule
from cei.errors import CeiError

Source = Literal["library", "imported", "provisional"]

PROVISIONAL_FROM = 2025  # first year of the 2024 revision of 《全国年节及纪念日放假办法》


class OutsideCalendar(CeiError):
    """A working-day question about a day before the library's first year (never guessed)."""


@dataclass(frozen=True)
class CalendarDay:
    calendar_date: date
    is_workday: bool
    is_weekend: bool  # Saturday or Sunday
    is_public_holiday: bool  # a day off of a holiday (library: every day of chinese_calendar.holidays)
    is_makeup_workday: bool  # a weekend day worked (调休上班)
    holiday_name: str | None  # Chinese name, e.g. 春节 (imported: the CSV's note, None if empty)
    holiday_name_en: str | None  # library and provisional; None for imported
    source: Source


def source() -> str:
    """The library and its installed version, recorded with every row."""
    try:
        return f"chinesecalendar {metadata.version('chinesecalendar')}"
    except metadata.PackageNotFoundError:  # imported from a source tree
        return "chinesecalendar"


@cache
def supported_years() -> tuple[int, int]:
    """The first and last year the installed library has the State Council's schedule for."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def _year_dates(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def _chinese(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return Holiday(name).chinese
    except ValueError:
        return name


# ------------------------------------------------------------------------------------------------
# library


@cache
def _library_year(year: int) -> tuple[CalendarDay, ...]:
    first, last = supported_years()
    if not first <= year <= last:
        raise OutsideCalendar(f"the chinese-calendar library has no official calendar for {year}"
                              f" (only {first}–{last})")
    out = []
    for day in _year_dates(year):
        try:
            workday = chinese_calendar.is_workday(day)
        except NotImplementedError as exc:
            raise OutsideCalendar(f"no official working-day calendar for {day}: {exc}") from None
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
            source="library",
        ))
    return tuple(out)


def library_year(year: int) -> list[CalendarDay]:
    """Every day of `year` as the library says; OutsideCalendar if the library lacks the year."""
    return list(_library_year(year))


# ------------------------------------------------------------------------------------------------
# provisional


def _solar(lunar: Lunar) -> date:
    s = lunar.getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


@cache
def _statutory_holidays(year: int) -> tuple[tuple[date, Holiday], ...]:
    if year < PROVISIONAL_FROM:
        raise ValueError(f"the statutory holidays in force from {PROVISIONAL_FROM} do not apply to {year}")
    new_year = Lunar.fromYmd(year, 1, 1)  # 正月初一
    qingming = new_year.getJieQiTable()["清明"]  # the table of lunar year `year`, Dec of year - 1 on
    days: dict[date, Holiday] = {date(year, 1, 1): Holiday.new_years_day}
    for offset in (-1, 0, 1, 2):  # 除夕 (the day before 初一, 29th or 30th of the 12th month), 初一–初三
        days[_solar(new_year.next(offset))] = Holiday.spring_festival
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = Holiday.tomb_sweeping_day
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = Holiday.labour_day
    days[_solar(Lunar.fromYmd(year, 5, 5))] = Holiday.dragon_boat_festival
    days[_solar(Lunar.fromYmd(year, 8, 15))] = Holiday.mid_autumn_festival
    for day in (1, 2, 3):
        days[date(year, 10, day)] = Holiday.national_day  # 中秋 on Oct 1–3 is still one day off
    if any(d.year != year for d in days):
        raise ValueError(f"a statutory holiday of {year} falls outside it: {sorted(days)}")
    return tuple(sorted(days.items()))


def statutory_holidays(year: int) -> dict[date, str]:
    """Date → Chinese name of the statutory holidays of `year` (2024 revision, from 2025 on)."""
    return {day: holiday.chinese for day, holiday in _statutory_holidays(year)}


@cache
def _provisional_year(year: int) -> tuple[CalendarDay, ...]:
    statutory = dict(_statutory_holidays(year))
    out = []
    for day in _year_dates(year):
        weekend = day.weekday() >= 5
        holiday = statutory.get(day)
        out.append(CalendarDay(
            calendar_date=day,
            is_workday=not weekend and holiday is None,
            is_weekend=weekend,
            is_public_holiday=not weekend and holiday is not None,
            is_makeup_workday=False,
            holiday_name=holiday.chinese if holiday else None,
            holiday_name_en=holiday.value if holiday else None,
            source="provisional",
        ))
    return tuple(out)


def provisional_year(year: int) -> list[CalendarDay]:
    """Every day of `year`: weekends and the statutory holidays off, no make-up days."""
    return list(_provisional_year(year))


# ------------------------------------------------------------------------------------------------
# imported


@cache
def _imported_year(schedule: Schedule) -> tuple[CalendarDay, ...]:
    listed = {d.day: d for d in schedule.days}
    out = []
    for day in _year_dates(schedule.year):
        weekend = day.weekday() >= 5
        entry = listed.get(day)
        holiday = entry is not None and entry.day_type == "holiday"
        makeup = entry is not None and entry.day_type == "workday"
        out.append(CalendarDay(
            calendar_date=day,
            is_workday=makeup or not (weekend or holiday),
            is_weekend=weekend,
            is_public_holiday=holiday,
            is_makeup_workday=makeup,
            holiday_name=(entry.note or None) if entry else None,
            holiday_name_en=None,
            source="imported",
        ))
    return tuple(out)


def imported_year(schedule: Schedule) -> list[CalendarDay]:
    """Every day of `schedule.year`: the listed holidays off, the listed workdays on, else the week."""
    return list(_imported_year(schedule))


# ------------------------------------------------------------------------------------------------
# resolution


def year_source(year: int, imported_years: Collection[int] = ()) -> Source:
    """Which source decides `year`: imported > library > provisional.

    OutsideCalendar for a year before the library's first that is not imported.
    """
    if year in imported_years:
        return "imported"
    first, last = supported_years()
    if first <= year <= last:
        return "library"
    if year > last:
        return "provisional"
    raise OutsideCalendar(f"no official working-day calendar for {year}: the chinese-calendar library starts"
                          f" in {first} and no schedule of {year} is imported")


def _year(year: int, imported: Mapping[int, Schedule] | None) -> tuple[CalendarDay, ...]:
    imported = imported or {}
    kind = year_source(year, imported)
    if kind == "imported":
        schedule = imported[year]
        if schedule.year != year:
            raise ValueError(f"the schedule given for {year} is of {schedule.year}")
        return _imported_year(schedule)
    return _library_year(year) if kind == "library" else _provisional_year(year)


def year_days(year: int, imported: Mapping[int, Schedule] | None = None) -> list[CalendarDay]:
    """Every day of `year` from the source that decides it (`year_source`)."""
    return list(_year(year, imported))


def calendar_days(first_year: int | None = None, last_year: int | None = None,
                  imported: Mapping[int, Schedule] | None = None) -> list[CalendarDay]:
    """Every day from Jan 1 of `first_year` to Dec 31 of `last_year`, each year from its source.

    The years default to the library's first and last.
    """
    first, last = supported_years()
    first_year = first if first_year is None else first_year
    last_year = last if last_year is None else last_year
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} is after last_year {last_year}")
    return [d for year in range(first_year, last_year + 1) for d in _year(year, imported)]


def is_workday(day: date, imported: Mapping[int, Schedule] | None = None) -> bool:
    """Whether `day` is a working day; OutsideCalendar before the library's first year."""
    return _year(day.year, imported)[day.timetuple().tm_yday - 1].is_workday


def deadline(t: datetime, working_days: int, imported: Mapping[int, Schedule] | None = None) -> datetime:
    """End (23:59:59 local) of the `working_days`-th working day after `t`'s local date.

    The start day does not count; count from the next day on. The reference
    implementation the dbt models are tested against (they compute the same from dim_date).
    """
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    local = t.astimezone(cfg.LOCAL_TZ) if t.tzinfo else t.replace(tzinfo=cfg.LOCAL_TZ)
    day, left = local.date(), working_days
    while left:
        day += timedelta(days=1)
        left -= is_workday(day, imported)
    return datetime.combine(day, time(23, 59, 59), cfg.LOCAL_TZ)
