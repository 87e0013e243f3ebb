"""Reference data the ingestion needs, read from the dbt seeds (one copy for both)."""

from __future__ import annotations

import csv
from functools import cache

from cei.settings import REGIONS_CSV


@cache
def valid_region_codes() -> frozenset[str]:
    """The 84 county-level codes of Fujian and the 9 prefecture codes (feeds.md, reference data)."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return frozenset(r["region_code"] for r in rows) | frozenset(r["city_code"] for r in rows)
