"""China's official working-day calendar and the statutory deadline rule (N working days after a moment).

`days`: the working days from three sources resolved per year (an imported schedule, else the
`chinese-calendar` library, else the provisional statutory holidays), and `deadline`. `schedule`:
the bureau's CSV of a year's State Council schedule. `store`: `reference.calendar_days` in the
warehouse, which dbt reads as `dim_date`.
"""

from cei.calendar.days import (
    CalendarDay,
    OutsideCalendar,
    Source,
    calendar_days,
    deadline,
    imported_year,
    is_workday,
    library_year,
    provisional_year,
    source,
    statutory_holidays,
    supported_years,
    year_days,
    year_source,
)
from cei.calendar.schedule import BadSchedule, Schedule, ScheduleDay, parse_schedule, read_schedule
from cei.calendar.store import DDL, SCHEMA, TABLE, main, refresh_calendar

__all__ = [
    "DDL",
    "SCHEMA",
    "TABLE",
    "BadSchedule",
    "CalendarDay",
    "OutsideCalendar",
    "Schedule",
    "ScheduleDay",
    "Source",
    "calendar_days",
    "deadline",
    "imported_year",
    "is_workday",
    "library_year",
    "main",
    "parse_schedule",
    "provisional_year",
    "read_schedule",
    "refresh_calendar",
    "source",
    "statutory_holidays",
    "supported_years",
    "year_days",
    "year_source",
]
