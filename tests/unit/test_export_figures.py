"""Figures: exact rounding, scores and ranks, one row per unit × code (cei.export.figures), and
the CSV they become (cei.export.csv_writer)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from seed_catalogue import seed_catalogue

from cei.errors import CeiError
from cei.export import csv_writer
from cei.export.catalogue import SHEET_EFFICIENCY, SHEET_INDEX, SHEET_QUALITY, catalogue_from_rows
from cei.export.figures import (
    RATE,
    FeedCoverage,
    Rules,
    Unit,
    assemble,
    quantize,
    text,
    whole,
)
from cei.export.periods import parse_period

UNITS = (Unit("350100", "福州市", 1), Unit("350200", "厦门市", 2), Unit("350300", "莆田市", 3))
P = parse_period("2026Q1")
CATALOGUE = seed_catalogue()
CODES = CATALOGUE.codes


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        (D("1234.565"), D("0.01"), "1234.57"),  # f"{1234.565:.2f}" == "1234.56"
        (D("0.1234565"), RATE, "0.123457"),
        (D("0.0000005"), RATE, "0.000001"),
        (D("0.00000049"), RATE, "0.000000"),
        (D("2.5"), D("1"), "3"),
        (D("-0.001"), D("0.01"), "0.00"),  # never -0.00
        (D("1E+3"), D("0.01"), "1000.00"),  # never exponent notation
        (D("0E-10"), RATE, "0.000000"),
    ],
)
def test_rounding_is_decimal_half_up(value, step, expected):
    assert text(quantize(value, step)) == expected


def test_a_count_must_be_whole():
    assert text(whole(D("12.000"), "x")) == "12"
    with pytest.raises(CeiError, match="not a whole number"):
        whole(D("12.5"), "numerator of x")


def _mart(values: dict[str, tuple]) -> list[tuple]:
    return [(u, code, *v) for (u, code), v in values.items()]


def test_assemble_every_unit_and_code_in_order_with_empty_gaps():
    ind = _mart({
        ("350100", "satisfaction_rate"): (D(9), D(10), D("0.9")),
        ("350200", "satisfaction_rate"): (D(0), D(0), None),
        ("350300", "satisfaction_rate"): (D(1), D(2), D("0.5")),
        ("350100", "recovered_loss_yuan"): (D("10.005"), None, D("10.005")),
        ("350100", "return_items"): (D(7), None, D(7)),
    })
    idx = [("350100", "cei", D("70.125"), D(1), D("1"), D(2), D("2.5"), "")]
    scores = [("350100", "satisfaction_rate", D(100), D(1), ""), ("350200", "satisfaction_rate", None, None,
              "insufficient_data"), ("350300", "satisfaction_rate", D(0), D(2), "")]
    f = assemble(P, UNITS, ind, idx, scores, catalogue=CATALOGUE)
    assert [(r.unit_code, r.code.code) for r in f.rows] == [(u.code, c.code) for u in UNITS for c in CODES]
    sat = {u.code: f.row(u.code, "satisfaction_rate") for u in UNITS}
    assert [sat[u].field("value") for u in ("350100", "350200", "350300")] == ["0.900000", "", "0.500000"]
    assert [sat[u].field("score") for u in ("350100", "350200", "350300")] == ["100.00", "", "0.00"]
    assert [sat[u].field("rank") for u in ("350100", "350200", "350300")] == ["1", "", "2"]
    assert [sat[u].field("note") for u in ("350100", "350200", "350300")] == ["", "insufficient_data", ""]
    loss = f.row("350100", "recovered_loss_yuan")
    assert (loss.field("numerator"), loss.field("value"), loss.field("score")) == ("10.01", "10.01", "")
    assert f.row("350200", "odr_share").field("value") == ""  # no mart row: empty, still a row
    cei = f.row("350100", "cei")
    assert [cei.field(x) for x in ("numerator", "value", "score", "rank", "rank_p05", "rank_p50", "rank_p95")] == [
        "", "70.13", "70.13", "1", "1", "2", "2.50"]
    assert "satisfaction_rate" in f.scored and "return_items" not in f.scored


def test_assemble_refuses_duplicates_and_reports_unknown_codes():
    dup = _mart({("350100", "satisfaction_rate"): (D(1), D(2), D("0.5"))}) * 2
    with pytest.raises(CeiError, match="two rows"):
        assemble(P, UNITS, dup, [], [], catalogue=CATALOGUE)
    f = assemble(P, UNITS, [("350100", "new_indicator", D(1), None, D(1)), ("999999", "return_items", 1, None, 1)],
                 [], [], catalogue=CATALOGUE)
    assert f.not_exported == ("mart_indicator_period:350100:new_indicator", "mart_indicator_period:999999:return_items")


def test_only_the_indicators_the_warehouse_scores_have_scores():
    ind = _mart({("350100", "odr_share"): (D(1), D(2), D("0.5")), ("350200", "odr_share"): (D(1), D(4), D("0.25"))})
    f = assemble(P, UNITS, ind, [], [("350100", "odr_share", D("99.995"), D(1), "")], catalogue=CATALOGUE)
    assert (f.row("350100", "odr_share").field("score"), f.row("350100", "odr_share").field("rank")) == ("100.00", "1")
    assert f.row("350200", "odr_share").field("score") == ""  # the warehouse did not score it
    assert f.row("350100", "satisfaction_rate").field("score") == ""  # nor this one
    assert f.scored == frozenset({"odr_share"}) | {c.code for c in CATALOGUE.components}


def test_an_unknown_note_is_refused():
    with pytest.raises(CeiError, match="not one the export knows"):
        assemble(P, UNITS, [], [], [("350100", "odr_share", None, None, "because")], catalogue=CATALOGUE)


def test_feeds_without_data_and_withheld_ranks():
    idx = [(u.code, "cei", D(50) if u.code != "350300" else None, None, None, None, None,
            "too_few_units" if u.code != "350300" else "insufficient_coverage") for u in UNITS]
    coverage = [FeedCoverage(feed, u.code, rows, 1 if rows else 0, 3)
                for feed, rows in (("hotline", 5), ("odr", 0)) for u in UNITS]
    f = dataclasses.replace(assemble(P, UNITS, [], idx, [], coverage, catalogue=CATALOGUE),
                            rules=Rules({"satisfaction_rate": 30}, D("0.65"), 6))
    assert f.feeds_without_data() == ("odr",)
    assert "no data at all from odr in 2026Q1" in f.no_data_reason()
    assert f.units_with_index() == 2
    assert "only 2 of 3 units have an index" in f.ranks_withheld_reason()
    assert dataclasses.replace(f, rules=Rules({}, D("0.65"), 2)).ranks_withheld_reason() is None
    assert dataclasses.replace(f, coverage=coverage[:3]).no_data_reason() is None


def test_csv_bytes():
    f = assemble(P, UNITS, _mart({("350100", "satisfaction_rate"): (D(9), D(10), D("0.9"))}), [],
                 [("350100", "satisfaction_rate", D(100), None, "too_few_units")], catalogue=CATALOGUE)
    data = csv_writer.render(f)
    assert data.startswith(b"\xef\xbb\xbf" + b"period,unit_code,unit_name,indicator_code,indicator_name,"
                                             b"numerator,denominator,value,score,rank,note\r\n")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[1] == "2026Q1,350100,福州市,satisfaction_rate,消费维权满意率,9,10,0.900000,100.00,,too_few_units"
    assert len(lines) == 1 + 3 * 22 + 1 and lines[-1] == ""
    back = csv_writer.parse(data, CATALOGUE.by_code)
    assert back["350100"]["satisfaction_rate"]["value"] == "0.900000"
    assert set(back["350100"]["cei"]) == {"unit_name", "indicator_name", "numerator", "denominator", "value",
                                          "score", "rank", "note"}


def test_catalogue_from_the_warehouse_rows():
    """Kinds from measure and unit, sheets from the family, sub-indices from their parent; rows the
    export cannot publish are refused."""
    ind = [("r", "率", "efficiency", "rate", "ratio", "higher", "分子", "分母"),
           ("m", "金额", "hotline_totals", "sum", "yuan", "higher", "金额之和", None),
           ("n", "家数", "inspection", "distinct_count", "count", "none", "企业数", None)]
    comp = [("cei", "指数", "higher", "加权平均", None), ("cei_a", "分指数", "higher", "得分", "cei")]
    cat = catalogue_from_rows(ind, comp)
    assert [(c.code, c.kind, c.better, c.sheet) for c in cat.codes] == [
        ("r", "rate", "higher", SHEET_EFFICIENCY), ("m", "money", "higher", SHEET_EFFICIENCY),
        ("n", "count", "none", SHEET_QUALITY), ("cei", "index", "higher", SHEET_INDEX),
        ("cei_a", "index", "higher", SHEET_INDEX)]
    assert (cat.by_code["r"].denominator, cat.by_code["m"].denominator, cat.by_code["cei"].numerator) == (
        "分母", "", "加权平均")
    assert [c.code for c in cat.sub_indices] == ["cei_a"]
    assert [c.code for c in cat.of_sheet(SHEET_EFFICIENCY)] == ["r", "m"]
    with pytest.raises(CeiError, match="no workbook sheet"):
        catalogue_from_rows([("x", "x", "new_family", "rate", "ratio", "higher", "", "")], comp)
    with pytest.raises(CeiError, match="cannot publish"):
        catalogue_from_rows([("x", "x", "odr", "median", "days", "higher", "", None)], comp)
    with pytest.raises(CeiError, match="no index"):
        catalogue_from_rows(ind, comp[1:])
    with pytest.raises(CeiError, match="empty"):
        catalogue_from_rows([], comp)
