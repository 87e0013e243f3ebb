"""The export's catalogue without a database: the rows marts.dim_indicator and
marts.dim_cei_component hold, taken from the dbt seeds they are built from (ref_indicators,
ref_cei_components, and each sub-index's parent in cei_weights), in publication order, through
the export's own constructor."""

from __future__ import annotations

import csv
from pathlib import Path

from cei import settings
from cei.export.catalogue import Catalogue, ComponentRow, IndicatorRow, catalogue_from_rows

SEEDS = settings.DBT_PROJECT_DIR / "seeds"


def _rows(path: Path) -> list[dict[str, str | None]]:
    """A seed's rows, an empty field as null (as dbt loads it)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: v or None for k, v in r.items()} for r in csv.DictReader(fh)]


def seed_catalogue(seeds: Path = SEEDS) -> Catalogue:
    indicators = sorted(_rows(seeds / "ref_indicators.csv"), key=lambda r: int(r["sort_order"] or 0))
    components = sorted(_rows(seeds / "ref_cei_components.csv"), key=lambda r: int(r["sort_order"] or 0))
    parents = {w["component_code"]: w["parent_code"] for w in _rows(seeds / "cei_weights.csv")}
    ind_rows: list[IndicatorRow] = [
        (r["indicator_code"], r["indicator_name"], r["family"], r["measure"], r["value_unit"], r["direction"],
         r["numerator_definition"], r["denominator_definition"])
        for r in indicators
    ]
    comp_rows: list[ComponentRow] = [
        (r["component_code"], r["component_name"], r["direction"], r["definition"], parents.get(r["component_code"]))
        for r in components
    ]
    return catalogue_from_rows(ind_rows, comp_rows)
