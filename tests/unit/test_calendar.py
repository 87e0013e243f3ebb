"""The working-day calendar from `chinese-calendar` and the deadline rule of indicators.md."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from cei import calendar
from cei.settings import LOCAL_TZ


def test_the_spec_example_counts_make_up_days_and_skips_the_holiday():
    # Registered Friday 2025-09-26 10:00, N = 7 → Sep 28 (make-up Sunday), 29, 30, Oct 9, 10,
    # 11 (make-up Saturday), 13 → 2025-10-13 23:59:59.
    assert calendar.deadline(datetime(2025, 9, 26, 10, 0, tzinfo=LOCAL_TZ), 7) == datetime(
        2025, 10, 13, 23, 59, 59, tzinfo=LOCAL_TZ
    )


def test_the_start_day_never_counts():
    friday = datetime(2026, 3, 6, 8, 0, tzinfo=LOCAL_TZ)
    assert calendar.deadline(friday, 1).date() == date(2026, 3, 9)
    assert calendar.deadline(friday.replace(hour=23, minute=59), 1).date() == date(2026, 3, 9)
    assert calendar.deadline(datetime(2026, 3, 7, 12, 0, tzinfo=LOCAL_TZ), 1).date() == date(2026, 3, 9)


def test_the_local_date_decides_not_utc():
    # 2026-03-05 17:00 UTC is 2026-03-06 01:00 in Shanghai: the start day is Friday the 6th.
    t = datetime(2026, 3, 5, 17, 0, tzinfo=UTC)
    assert calendar.deadline(t, 1) == datetime(2026, 3, 9, 23, 59, 59, tzinfo=LOCAL_TZ)


def test_a_deadline_beyond_the_library_is_refused_not_guessed():
    first, last = calendar.supported_years()
    with pytest.raises(calendar.OutsideCalendar):
        calendar.deadline(datetime(last, 12, 30, 9, 0, tzinfo=LOCAL_TZ), 10)
    with pytest.raises(calendar.OutsideCalendar):
        calendar.is_workday(date(first - 1, 12, 31))


def test_calendar_days_cover_every_supported_year_exactly():
    first, last = calendar.supported_years()
    days = calendar.calendar_days()
    assert days[0].calendar_date == date(first, 1, 1)
    assert days[-1].calendar_date == date(last, 12, 31)
    assert len(days) == (date(last, 12, 31) - date(first, 1, 1)).days + 1
    assert all(b.calendar_date - a.calendar_date == timedelta(days=1) for a, b in pairwise(days))


def test_calendar_days_mark_holidays_and_make_up_days():
    by_day = {d.calendar_date: d for d in calendar.calendar_days()}
    sunday_worked = by_day[date(2025, 9, 28)]
    assert sunday_worked.is_workday and sunday_worked.is_weekend and sunday_worked.is_makeup_workday
    assert sunday_worked.holiday_name == "国庆节"
    national_day = by_day[date(2025, 10, 1)]
    assert not national_day.is_workday and national_day.is_public_holiday and not national_day.is_weekend
    mid_autumn = by_day[date(2025, 10, 6)]
    assert (mid_autumn.holiday_name, mid_autumn.holiday_name_en) == ("中秋", "Mid-autumn Festival")
    ordinary_saturday = by_day[date(2025, 10, 12)]
    assert not ordinary_saturday.is_workday and not ordinary_saturday.is_makeup_workday
    assert ordinary_saturday.holiday_name is None
    assert all(d.is_workday == ((not d.is_weekend and not d.is_public_holiday) or d.is_makeup_workday)
               for d in by_day.values())


def test_source_names_the_library_version():
    assert calendar.source().startswith("chinesecalendar ")
