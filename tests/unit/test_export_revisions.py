"""Differences between published and current figures (cei.export.revisions)."""

from __future__ import annotations

from cei.export.revisions import Difference, differences

CODE_ORDER = ("satisfaction_rate", "odr_share", "cei")  # the catalogue's order, as far as these tests go


def _row(**fields):
    base = {"unit_name": "福州市", "indicator_name": "x", "numerator": "1", "denominator": "2", "value": "0.500000",
            "score": "", "rank": "", "rank_p05": "", "rank_p95": ""}
    return base | fields


def test_no_change_no_difference():
    figures = {"350100": {"satisfaction_rate": _row()}}
    assert differences(figures, figures, code_order=CODE_ORDER) == []


def test_every_changed_field_in_unit_code_field_order():
    old = {"350200": {"cei": _row(rank="2")}, "350100": {"satisfaction_rate": _row(), "cei": _row(rank_p95="3.00")}}
    new = {"350200": {"cei": _row(rank="1")},
           "350100": {"satisfaction_rate": _row(numerator="2", value="1.000000"), "cei": _row(rank_p95="4.00")}}
    assert differences(old, new, ["350100", "350200"], code_order=CODE_ORDER) == [
        Difference("350100", "satisfaction_rate", "numerator", "1", "2"),
        Difference("350100", "satisfaction_rate", "value", "0.500000", "1.000000"),
        Difference("350100", "cei", "rank_p95", "3.00", "4.00"),
        Difference("350200", "cei", "rank", "2", "1"),
    ]


def test_rows_appearing_or_disappearing():
    old = {"350100": {"satisfaction_rate": _row()}}
    new = {"350100": {"odr_share": _row()}}
    assert differences(old, new, code_order=CODE_ORDER) == [
        Difference("350100", "satisfaction_rate", "row", "present", ""),
        Difference("350100", "odr_share", "row", "", "present"),
    ]


def test_fields_the_base_does_not_have_are_not_compared():
    old = {"350100": {"cei": {k: v for k, v in _row().items() if not k.startswith("rank_p")}}}
    new = {"350100": {"cei": _row(rank_p05="1.00")}}
    assert differences(old, new, code_order=CODE_ORDER) == []
