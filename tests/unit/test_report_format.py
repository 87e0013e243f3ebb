"""The monthly report's wording of figures, as the division writes them, and which months a night reports."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cei.report import change_text, due_months, num, pct, rate, yuan
from cei.report.figures import Change


@pytest.mark.parametrize(("x", "text"), [(None, "—"), (0, "0.0%"), (Decimal("0.9254"), "92.5%"), (1, "100.0%")])
def test_pct(x, text):
    assert pct(x) == text


@pytest.mark.parametrize(("x", "text"), [(None, "—"), (0.0, "持平"), (0.0004, "持平"), (0.123, "↑12.3%"),
                                         (-0.04, "↓4.0%")])
def test_rate(x, text):
    assert rate(x) == text


def test_counts_and_money():
    assert (num(None), num(0), num(12)) == ("无数据", "0", "12")
    assert (yuan(None), yuan(Decimal("1234.5"))) == ("—", "1,234.50")


def test_month_on_month_and_year_on_year():
    grown = Change("合计", 110, 100, None)
    assert (grown.month_on_month, grown.year_on_year) == (pytest.approx(0.1), None)
    assert change_text(grown) == "较上月（100件）增长10.0%，上年同月无数据"
    assert change_text(Change("合计", 90, 100, 90)) == "较上月（100件）下降10.0%，与上年同月（90件）持平"
    # a month with nothing before: no division by zero, no invented rate
    assert Change("合计", 5, 0, None).month_on_month is None
    assert change_text(Change("合计", 5, 0, None)) == "上月为0件，上年同月无数据"


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


@pytest.mark.parametrize(("dates", "reported", "due"), [
    (days("2026-09-30", "2026-09-30"), set(), ["2026-09"]),  # the night closing September: provisional
    (days("2026-10-16", "2026-10-16"), {"2026-09"}, ["2026-09"]),  # 16 days on, September turns final
    (days("2026-10-16", "2026-10-16"), set(), []),  # a month the platform never closed stays on request
    (days("2026-10-15", "2026-10-15"), {"2026-09"}, []),
    (days("2026-03-01", "2026-03-31"), {"2026-02"}, ["2026-02", "2026-03"]),  # February ends 02-28: final 03-16
    (days("2026-07-01", "2026-10-03"), set(), ["2026-07", "2026-08", "2026-09"]),  # a backlog closes each
    (days("2026-12-31", "2027-01-16"), set(), ["2026-12"]),  # across the year: closed, then final
])
def test_the_months_a_night_reports(dates, reported, due):
    assert due_months(dates, reported) == due
