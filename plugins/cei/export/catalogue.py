"""What the export publishes, in the order it publishes it: the indicators of `marts.dim_indicator`
(code, Chinese name, direction, definitions; seeds/ref_indicators.csv), then the index `cei` and
its sub-indices of `marts.dim_cei_component` (seeds/ref_cei_components.csv).

The names, definitions, directions and order are the warehouse's: `catalogue_from_rows` builds the
catalogue from the rows of those two tables, read with the figures (figures.read_catalogue). What is
the export's own is presentation: the workbook's sheets, which sheet shows which indicator family,
and the kind of number (rate, money, count, index score) that sets rounding and number formats,
derived from the indicator's measure and unit. The index weights are not here: the index is
computed by dbt (`marts.mart_cei`) and the export only publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, cast

from cei.errors import CeiError

Kind = Literal["rate", "money", "count", "index"]
Better = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class Code:
    code: str
    name: str  # Chinese name (CSV `indicator_name`, workbook headers)
    kind: Kind  # rate: 6 decimals; money: 2 decimals; count: integer; index: score, 2 decimals
    better: Better  # which way is better; none: reported, not scored
    sheet: str  # the workbook sheet showing it
    numerator: str = ""  # definitions, for the workbook's 说明 sheet
    denominator: str = ""


# Workbook sheets. 消费者满意 is the headline sheet 消费维权满意率.
SHEET_SATISFACTION = "消费维权满意率"
SHEET_INDEX = "消费环境指数"
SHEET_EFFICIENCY = "维权效能"
SHEET_SOURCE = "源头治理"
SHEET_QUALITY = "商品质量"
SHEET_RETURNS = "无理由退货"
SHEET_TREND = "趋势"  # quarters and years: the headline rate and the index by month
SHEET_AUDIT = "指数审计"
SHEET_NOTES = "说明"
SHEET_SOURCES = "数据来源"

# The sheet showing each indicator family (dim_indicator.family); the hotline's totals go with
# the hotline's rates.
FAMILY_SHEET: dict[str, str] = {
    "satisfaction": SHEET_SATISFACTION,
    "efficiency": SHEET_EFFICIENCY,
    "hotline_totals": SHEET_EFFICIENCY,
    "odr": SHEET_SOURCE,
    "inspection": SHEET_QUALITY,
    "returns": SHEET_RETURNS,
}

# Family sheets after the headline and the index, in workbook order.
FAMILY_SHEETS: tuple[str, ...] = (SHEET_EFFICIENCY, SHEET_SOURCE, SHEET_QUALITY, SHEET_RETURNS)

# (code, name, family, measure, value_unit, direction, numerator_definition, denominator_definition)
IndicatorRow = tuple[str, str, str, str, str, str, str | None, str | None]
# (code, name, direction, definition, parent_code): parent None for the index itself
ComponentRow = tuple[str, str, str, str | None, str | None]

INDICATOR_COLUMNS = ("indicator_code", "indicator_name", "family", "measure", "value_unit", "direction",
                     "numerator_definition", "denominator_definition")
COMPONENT_COLUMNS = ("component_code", "component_name", "direction", "definition", "parent_code")


def kind_of(code: str, measure: str, value_unit: str) -> Kind:
    """How an indicator's figures are rounded and formatted, from its measure and unit."""
    if measure == "rate":
        return "rate"
    if value_unit == "yuan":
        return "money"
    if value_unit == "count":
        return "count"
    raise CeiError(f"indicator {code} has measure {measure!r} and unit {value_unit!r}, which the export"
                   " cannot publish: nothing exported")


def _better(code: str, direction: str) -> Better:
    if direction not in ("higher", "lower", "none"):
        raise CeiError(f"{code} has direction {direction!r}, which the export does not know: nothing exported")
    return cast(Better, direction)


@dataclass(frozen=True)
class Catalogue:
    """The codes an export publishes: indicators in their order, then the index and its sub-indices."""

    indicators: tuple[Code, ...]
    components: tuple[Code, ...]  # the index `cei` and its sub-indices
    sub_indices: tuple[Code, ...]  # the components weighted in the index, in order

    @cached_property
    def codes(self) -> tuple[Code, ...]:
        return self.indicators + self.components

    @cached_property
    def by_code(self) -> dict[str, Code]:
        return {c.code: c for c in self.codes}

    def of_sheet(self, sheet: str) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.sheet == sheet)


def catalogue_from_rows(indicators: Iterable[IndicatorRow], components: Iterable[ComponentRow]) -> Catalogue:
    """The catalogue from rows of marts.dim_indicator (INDICATOR_COLUMNS) and marts.dim_cei_component
    (COMPONENT_COLUMNS), each in publication order (sort_order)."""
    inds: list[Code] = []
    for code, name, family, measure, unit, direction, numerator, denominator in indicators:
        if family not in FAMILY_SHEET:
            raise CeiError(f"indicator {code} is of family {family!r}, which no workbook sheet shows"
                           " (catalogue.FAMILY_SHEET): nothing exported")
        inds.append(Code(code, name, kind_of(code, measure, unit), _better(code, direction), FAMILY_SHEET[family],
                         numerator or "", denominator or ""))
    comps: list[Code] = []
    subs: list[Code] = []
    for code, name, direction, definition, parent in components:
        comps.append(Code(code, name, "index", _better(code, direction), SHEET_INDEX, definition or ""))
        if parent is not None:
            subs.append(comps[-1])
    if not inds:
        raise CeiError("marts.dim_indicator is empty: run the pipeline first")
    if "cei" not in {c.code for c in comps}:
        raise CeiError("marts.dim_cei_component has no index `cei`: run the pipeline first")
    codes = [c.code for c in inds + comps]
    if len(set(codes)) != len(codes):
        raise CeiError("marts.dim_indicator and marts.dim_cei_component repeat a code: nothing exported")
    return Catalogue(tuple(inds), tuple(comps), tuple(subs))
