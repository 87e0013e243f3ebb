"""Differences between the published figures of a final export and the figures of today (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from cei.export.figures import FIELDS

Canonical = Mapping[str, Mapping[str, Mapping[str, str]]]  # unit_code → code → field → text

FIELD_NAMES = {
    "row": "行",
    "unit_name": "单位名称",
    "indicator_name": "指标名称",
    "numerator": "分子",
    "denominator": "分母",
    "value": "数值",
    "score": "得分",
    "rank": "排名",
    "rank_p05": "排名区间下限（P5）",
    "rank_p95": "排名区间上限（P95）",
}


@dataclass(frozen=True)
class Difference:
    unit: str  # unit_code
    code: str  # indicator or index code
    field: str  # a published field, or "row" when the row itself appeared / disappeared
    old: str
    new: str

    def as_json(self) -> dict:
        return asdict(self)


def differences(old: Canonical, new: Canonical, unit_order: list[str] | None = None, *,
                code_order: Sequence[str]) -> list[Difference]:
    """Every published field that differs, in unit order then code order (the catalogue's; codes
    outside it after, by code) then field order.

    Fields missing from `old` (a base read back from a CSV has no rank band) are not compared."""
    code_rank = {c: i for i, c in enumerate(code_order)}
    units = list(unit_order or [])
    units += sorted((set(old) | set(new)) - set(units))
    out: list[Difference] = []
    for unit in units:
        o_unit, n_unit = old.get(unit, {}), new.get(unit, {})
        for code in sorted(set(o_unit) | set(n_unit), key=lambda c: (code_rank.get(c, len(code_rank)), c)):
            o, n = o_unit.get(code), n_unit.get(code)
            if o is None or n is None:
                old_row, new_row = ("" if o is None else "present"), ("" if n is None else "present")
                out.append(Difference(unit, code, "row", old_row, new_row))
                continue
            out.extend(Difference(unit, code, f, o[f], n.get(f, "")) for f in FIELDS if f in o and o[f] != n.get(f, ""))
    return out
