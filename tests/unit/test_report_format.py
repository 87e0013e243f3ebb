"""The monthly report's wording of figures, as the division writes them."""

from decimal import Decimal

import pytest

from cei.report import change_text, num, pct, rate, yuan
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
