"""Export periods: parsing, finality, roll-ups (cei.export.periods)."""

from __future__ import annotations

from datetime import date

import pytest

from cei.errors import CeiError
from cei.export.periods import parse_period, with_rollups


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "final_from", "label"),
    [
        ("2026-03", "month", date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 16), "2026年3月"),
        ("2026-02", "month", date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 16), "2026年2月"),
        ("2028-02", "month", date(2028, 2, 1), date(2028, 2, 29), date(2028, 3, 16), "2028年2月"),
        ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 16), "2026年12月"),
        ("2026Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 16), "2026年第一季度"),
        ("2026Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 16), "2026年第四季度"),
        ("2026", "year", date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 16), "2026年度"),
    ],
)
def test_valid_periods(text, kind, start, end, final_from, label):
    p = parse_period(text)
    assert (p.text, p.type, p.start, p.end, p.final_from, p.label) == (text, kind, start, end, final_from, label)


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026Q5", "2026Q0", "26Q1", "abc", "", "2026-3", "2026q1", "2026 Q1",
             " 2026", "2026-03-01", "0999", "２０２６", "2026Q1\n"],
)
def test_malformed_periods_are_one_line_errors(text):
    with pytest.raises(CeiError) as err:
        parse_period(text)
    message = str(err.value)
    assert message.startswith("bad period") and "\n" not in message.replace(repr(text), "")


def test_final_from_the_16th_day_after_the_end_judged_on_the_as_of_date():
    q1 = parse_period("2026Q1")
    assert q1.status_at(date(2026, 4, 15)) == "provisional"
    assert q1.status_at(date(2026, 4, 16)) == "final"
    assert q1.status_at(date(2026, 3, 31)) == "provisional"


def test_rollups_months_then_quarters_then_years():
    periods = with_rollups({date(2026, 4, 1), date(2025, 12, 1), date(2026, 3, 1)})
    assert [p.text for p in periods] == ["2025-12", "2026-03", "2026-04", "2025Q4", "2026Q1", "2026Q2", "2025", "2026"]
