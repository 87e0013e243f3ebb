"""The working-day calendar (library, imported schedule, provisional) and the statutory deadline rule."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cei import calendar
from cei.calendar import days, schedule
from cei.settings import LOCAL_TZ, PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "docs" / "calendar" / "2025.csv"


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def _end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=LOCAL_TZ)


def _spring_2027() -> schedule.Schedule:
    """A fictitious 2027 notice: Mon 02-08 … Fri 02-12 off, Sat 02-06 and Sun 02-14 worked."""
    rows = ["date,day_type,note", "2027-01-01,holiday,元旦", "2027-02-06,workday,春节"]
    rows += [f"2027-02-{d:02d},holiday,春节" for d in range(8, 13)]
    rows += ["2027-02-14,workday,春节"]
    return schedule.parse_schedule("\n".join(rows).encode(), "2027.csv")


# ------------------------------------------------------------------------------------------------
# deadline


def test_the_spec_example_counts_make_up_days_and_skips_the_holiday() -> None:
    # Registered Friday 2025-09-26 10:00, N = 7 → Sep 28 (make-up Sunday), 29, 30, Oct 9, 10,
    # 11 (make-up Saturday), 13 → 2025-10-13 23:59:59.
    assert calendar.deadline(_local(2025, 9, 26, 10, 0), 7) == _end_of(date(2025, 10, 13))


def test_the_start_day_never_counts() -> None:
    friday = _local(2026, 3, 6, 8, 0)
    assert calendar.deadline(friday, 1).date() == date(2026, 3, 9)
    assert calendar.deadline(friday.replace(hour=23, minute=59), 1).date() == date(2026, 3, 9)
    assert calendar.deadline(_local(2026, 3, 7, 12, 0), 1).date() == date(2026, 3, 9)


def test_the_local_date_decides_not_utc() -> None:
    # 2026-03-05 17:00 UTC is 2026-03-06 01:00 in Shanghai: the start day is Friday the 6th.
    t = datetime(2026, 3, 5, 17, 0, tzinfo=UTC)
    assert calendar.deadline(t, 1) == _end_of(date(2026, 3, 9))


def test_working_days_must_be_positive() -> None:
    with pytest.raises(ValueError):
        calendar.deadline(_local(2026, 3, 6, 8, 0), 0)


def test_a_day_before_the_library_is_refused_not_guessed() -> None:
    first, _ = calendar.supported_years()
    with pytest.raises(calendar.OutsideCalendar):
        calendar.is_workday(date(first - 1, 12, 31))
    with pytest.raises(calendar.OutsideCalendar):
        days.library_year(first - 1)
    with pytest.raises(calendar.OutsideCalendar):
        calendar.year_source(first - 1)


def test_a_deadline_beyond_the_library_runs_on_the_provisional_calendar() -> None:
    _, last = calendar.supported_years()
    assert last == 2026
    # Wed 2026-12-30: Thu 31, then 2027: Fri Jan 1 (元旦) off, Mon 4 … Fri 8, Mon 11 → 7 working days.
    assert calendar.deadline(_local(2026, 12, 30, 9, 0), 7) == _end_of(date(2027, 1, 11))
    assert calendar.is_workday(date(2027, 1, 4))
    assert not calendar.is_workday(date(2027, 2, 5))  # 除夕, a Friday


def test_an_imported_year_drives_the_deadline_make_up_days_counting() -> None:
    imported = {2027: _spring_2027()}
    thursday = _local(2027, 2, 4, 15, 0)
    # Fri 02-05 (1), Sat 02-06 make-up (2), 02-07 Sunday off, Mon 02-08 … Fri 02-12 off,
    # 02-13 Saturday off, Sun 02-14 make-up (3), Mon 02-15 (4), Tue 02-16 (5).
    expected = {1: date(2027, 2, 5), 2: date(2027, 2, 6), 3: date(2027, 2, 14), 4: date(2027, 2, 15),
                5: date(2027, 2, 16)}
    for n, day in expected.items():
        assert calendar.deadline(thursday, n, imported) == _end_of(day)
    # Without the schedule, 2027 is provisional: 除夕 02-05 and Mon 02-08 off, no make-up days.
    assert calendar.deadline(thursday, 3) == _end_of(date(2027, 2, 11))
    assert calendar.is_workday(date(2027, 2, 5), imported) and not calendar.is_workday(date(2027, 2, 5))


# ------------------------------------------------------------------------------------------------
# library


def test_calendar_days_cover_every_supported_year_exactly() -> None:
    first, last = calendar.supported_years()
    all_days = calendar.calendar_days()
    assert all_days[0].calendar_date == date(first, 1, 1)
    assert all_days[-1].calendar_date == date(last, 12, 31)
    assert len(all_days) == (date(last, 12, 31) - date(first, 1, 1)).days + 1
    assert all(b.calendar_date - a.calendar_date == timedelta(days=1) for a, b in pairwise(all_days))
    assert {d.source for d in all_days} == {"library"}


def test_calendar_days_mark_holidays_and_make_up_days() -> None:
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


def test_source_names_the_library_version() -> None:
    assert calendar.source().startswith("chinesecalendar ")


def test_library_year_returns_a_fresh_list_every_time() -> None:
    year = days.library_year(2025)
    year.clear()
    assert len(days.library_year(2025)) == 365


# ------------------------------------------------------------------------------------------------
# provisional


def test_statutory_holidays_come_from_the_lunar_calendar() -> None:
    assert days.statutory_holidays(2025) == {
        date(2025, 1, 1): "元旦",
        date(2025, 1, 28): "春节", date(2025, 1, 29): "春节", date(2025, 1, 30): "春节", date(2025, 1, 31): "春节",
        date(2025, 4, 4): "清明",
        date(2025, 5, 1): "劳动节", date(2025, 5, 2): "劳动节",
        date(2025, 5, 31): "端午",
        date(2025, 10, 1): "国庆节", date(2025, 10, 2): "国庆节", date(2025, 10, 3): "国庆节",
        date(2025, 10, 6): "中秋",
    }
    assert [d for d, name in days.statutory_holidays(2026).items() if name in ("春节", "清明", "端午", "中秋")] == [
        date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
        date(2026, 4, 5), date(2026, 6, 19), date(2026, 9, 25),
    ]
    assert [d for d, name in days.statutory_holidays(2027).items() if name == "清明"] == [date(2027, 4, 5)]


@pytest.mark.parametrize(("year", "weekday_holidays"), [(2025, 12), (2026, 10), (2027, 7)])
def test_provisional_days_off_are_the_statutory_weekdays(year: int, weekday_holidays: int) -> None:
    statutory = days.statutory_holidays(year)
    assert len(statutory) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3 days, none shared in these years
    provisional = days.provisional_year(year)
    assert len(provisional) == (date(year + 1, 1, 1) - date(year, 1, 1)).days
    off = [d for d in provisional if d.is_public_holiday]
    assert len(off) == weekday_holidays == sum(d.weekday() < 5 for d in statutory)
    assert all(d.calendar_date in statutory and not d.is_weekend and not d.is_workday for d in off)
    assert all(d.is_workday == (not d.is_weekend and not d.is_public_holiday) for d in provisional)
    assert not any(d.is_makeup_workday for d in provisional)
    assert {d.source for d in provisional} == {"provisional"}


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_provisional_day_off_is_off_in_the_library(year: int) -> None:
    # Every statutory day, weekday or weekend, is off on the official schedule too (which adds
    # bridge days and make-up weekends the provisional calendar cannot know).
    library = {d.calendar_date: d for d in days.library_year(year)}
    statutory = days.statutory_holidays(year)
    for d in days.provisional_year(year):
        official = library[d.calendar_date]
        if d.calendar_date in statutory:
            assert not official.is_workday and official.is_public_holiday, official
            assert d.holiday_name == official.holiday_name == statutory[d.calendar_date], official
        if d.is_public_holiday:
            assert d.calendar_date in statutory, d


def test_spring_festival_2027_starts_on_new_years_eve() -> None:
    by_day = {d.calendar_date: d for d in days.provisional_year(2027)}
    festival = [d for d, name in days.statutory_holidays(2027).items() if name == "春节"]
    assert festival == [date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]
    eve = by_day[date(2027, 2, 5)]
    assert eve.calendar_date.weekday() == 4
    assert eve.is_public_holiday and not eve.is_workday
    assert (eve.holiday_name, eve.holiday_name_en) == ("春节", "Spring Festival")
    assert by_day[date(2027, 2, 8)].is_public_holiday and by_day[date(2027, 2, 9)].is_workday
    # 2027-02-06/07 fall on the weekend: still named, but nothing is added in lieu.
    assert by_day[date(2027, 2, 6)].holiday_name == "春节" and not by_day[date(2027, 2, 6)].is_public_holiday


def test_the_provisional_rules_start_in_2025() -> None:
    with pytest.raises(ValueError):
        days.statutory_holidays(2024)


# ------------------------------------------------------------------------------------------------
# imported and precedence


def test_the_example_file_is_the_library_calendar_of_2025() -> None:
    example = schedule.read_schedule(EXAMPLE)
    assert (example.year, example.holidays, example.workdays) == (2025, 18, 5)
    assert len(example.sha256) == 64
    library = days.library_year(2025)
    imported = days.imported_year(example)
    assert [d.calendar_date for d in imported] == [d.calendar_date for d in library]
    for lib, imp in zip(library, imported):
        assert imp.source == "imported" and imp.holiday_name_en is None
        assert (imp.is_workday, imp.is_weekend, imp.is_makeup_workday) == (
            lib.is_workday, lib.is_weekend, lib.is_makeup_workday), lib
        # The library also marks the weekend days inside a holiday period; a schedule lists weekdays only.
        assert imp.is_public_holiday == (lib.is_public_holiday and not lib.is_weekend), lib
        if imp.is_public_holiday or imp.is_makeup_workday:
            assert imp.holiday_name == lib.holiday_name, lib
        else:
            assert imp.holiday_name is None


def test_precedence_is_imported_then_library_then_provisional() -> None:
    assert calendar.year_source(2026) == "library"
    assert calendar.year_source(2027) == "provisional"
    assert calendar.year_source(2026, [2026]) == "imported"
    assert calendar.year_source(2027, {2027}) == "imported"
    assert calendar.year_source(2025, [2027]) == "library"


def test_an_imported_2026_overrides_the_library() -> None:
    # A made-up correction: Mon 2026-03-02 off, Sat 2026-03-07 worked.
    fixed = schedule.parse_schedule(b"date,day_type,note\n2026-03-02,holiday,x\n2026-03-07,workday,x\n")
    imported = {2026: fixed}
    year = calendar.year_days(2026, imported)
    assert {d.source for d in year} == {"imported"}
    assert not calendar.is_workday(date(2026, 3, 2), imported) and calendar.is_workday(date(2026, 3, 2))
    assert calendar.is_workday(date(2026, 3, 7), imported) and not calendar.is_workday(date(2026, 3, 7))
    assert calendar.is_workday(date(2026, 2, 17), imported)  # 春节 in the library, not in this schedule
    assert not calendar.is_workday(date(2026, 2, 17))
    assert calendar.year_days(2026)[0].source == "library"
    # Fri 2026-02-27, N = 3: Mar 3, 4, 5 on the imported calendar; on the library's, Sat Feb 28
    # (春节 make-up day), Mar 2, 3.
    assert calendar.deadline(_local(2026, 2, 27, 9, 0), 3, imported) == _end_of(date(2026, 3, 5))
    assert calendar.deadline(_local(2026, 2, 27, 9, 0), 3) == _end_of(date(2026, 3, 3))


def test_calendar_days_across_library_and_provisional_years() -> None:
    span = calendar.calendar_days(2026, 2027)
    assert len(span) == 365 + 365
    assert span[0].calendar_date == date(2026, 1, 1) and span[-1].calendar_date == date(2027, 12, 31)
    assert all(b.calendar_date - a.calendar_date == timedelta(days=1) for a, b in pairwise(span))
    assert {d.source for d in span[:365]} == {"library"}
    assert {d.source for d in span[365:]} == {"provisional"}
    assert {d.source for d in calendar.calendar_days(2026, 2027, {2027: _spring_2027()})[365:]} == {"imported"}


def test_a_schedule_under_another_year_is_refused() -> None:
    with pytest.raises(ValueError):
        calendar.year_days(2028, {2028: _spring_2027()})


# ------------------------------------------------------------------------------------------------
# schedule files


def test_a_schedule_accepts_a_bom_blank_lines_spaces_quoted_notes_and_any_column_order() -> None:
    data = ("\ufeffnote , date,day_type\r\n\r\n\"春节, 第一天\",2027-02-08 , holiday\r\n   \r\n"
            " ,2027-02-06,workday\r\n").encode()
    parsed = schedule.parse_schedule(data, "2027.csv")
    assert parsed.year == 2027
    assert parsed.days == (
        schedule.ScheduleDay(date(2027, 2, 6), "workday", ""),
        schedule.ScheduleDay(date(2027, 2, 8), "holiday", "春节, 第一天"),
    )
    assert (parsed.holidays, parsed.workdays) == (1, 1)
    by_day = {d.calendar_date: d for d in days.imported_year(parsed)}
    assert by_day[date(2027, 2, 6)].holiday_name is None
    assert by_day[date(2027, 2, 8)].holiday_name == "春节, 第一天"


HEADER = "date,day_type,note\n"


@pytest.mark.parametrize(("data", "reason"), [
    (HEADER.encode() + "2027-02-08,holiday,春节".encode("gb18030"), "2027.csv, line 2: not UTF-8"),
    (b"date,type,note\n2027-02-08,holiday,x\n", "2027.csv, line 1: unknown column 'type'"),
    (b"date,day_type,note,source\n2027-02-08,holiday,x,y\n", "2027.csv, line 1: unknown column 'source'"),
    (b"date,day_type\n2027-02-08,holiday\n", "2027.csv, line 1: missing column 'note'"),
    (b"date,day_type,note,date\n", "2027.csv, line 1: column 'date' appears twice"),
    (b"\n" + HEADER.encode() + b"2027-02-08,holiday,x\n2027-02-09,holiday,a,b\n",
     "2027.csv, line 4: 4 fields, expected 3"),
    (HEADER.encode() + b"2027-02-08,holiday\n", "2027.csv, line 2: 2 fields, expected 3"),
    (HEADER.encode() + b"2027/02/08,holiday,x\n", "2027.csv, line 2: date '2027/02/08' is not YYYY-MM-DD"),
    (HEADER.encode() + "２０２７-02-08,holiday,x\n".encode(),
     "2027.csv, line 2: date '２０２７-02-08' is not YYYY-MM-DD"),
    (HEADER.encode() + b"2027-02-29,holiday,x\n", "2027.csv, line 2: date '2027-02-29' does not exist"),
    (HEADER.encode() + b"2027-02-08,day off,x\n", "2027.csv, line 2: unknown day_type 'day off'"),
    (HEADER.encode() + b"2027-02-06,holiday,x\n", "2027.csv, line 2: 2027-02-06 is a Saturday: a holiday must be"),
    (HEADER.encode() + b"2027-02-08,workday,x\n", "2027.csv, line 2: 2027-02-08 is a Monday: a workday must be"),
    (HEADER.encode() + b"2027-12-31,holiday,x\n2028-01-03,holiday,x\n",
     "2027.csv, line 3: 2028-01-03 is in 2028, earlier rows in 2027: one file holds one year"),
    (HEADER.encode() + b"2027-02-08,holiday,x\n2027-02-09,holiday,x\n2027-02-08,holiday,y\n",
     "2027.csv, line 4: 2027-02-08 appears twice (first on line 2)"),
    (HEADER.encode() + b"2027-02-08,holiday,\"x\n", "2027.csv, line 2: not valid CSV"),
    (b"", "2027.csv: empty file"),
    (b"\n \n", "2027.csv: empty file"),
    (HEADER.encode() + b"\n", "2027.csv, line 3: no days after the header"),
])
def test_a_bad_schedule_is_refused_whole_with_a_one_line_reason(data: bytes, reason: str) -> None:
    with pytest.raises(schedule.BadSchedule) as caught:
        schedule.parse_schedule(data, "2027.csv")
    message = str(caught.value)
    assert message.startswith(reason)
    assert "\n" not in message and "\r" not in message


def test_an_unreadable_schedule_is_refused_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(schedule.BadSchedule, match=r"2027\.csv: cannot read it") as caught:
        schedule.read_schedule(tmp_path / "2027.csv")
    assert "\n" not in str(caught.value)
