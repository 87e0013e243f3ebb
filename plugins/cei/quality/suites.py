"""The suite files in `expectations/` (format: expectations/README.md), read and checked.

A file is a Great Expectations 1.x expectation suite in JSON, with two conventions of ours that
GX itself does not enforce: every expectation names its severity, and `meta.asset` says which
of the suite's assets (the raw rows, the ledger rows, the volume; a mart, or a query over the
marts) it looks at. Everything here is pure: reading a file never touches the warehouse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cei import settings as cfg
from cei.errors import CeiError

SEVERITIES = ("critical", "warning")
ASSETS = ("rows", "load_files", "volume")  # the assets of a raw suite (built by cei.quality.assets)
TABLE_ASSET = "table"  # a marts suite's default asset: the mart itself
MARTS_PREFIX = "marts."


@dataclass(frozen=True)
class QueryAsset:
    """A marts suite's own query asset: SQL over `{schema}` (the schema being validated)."""

    name: str
    query: str
    index: tuple[str, ...] = ()  # columns that locate an unexpected row for the steward
    unit: str = "rows"  # what one row is, in observed text ("3 of 120 unit-months")


@dataclass(frozen=True)
class SuiteFile:
    name: str  # raw_<feed> or marts.<table>, the file's stem
    path: Path
    expectations: tuple[dict, ...]  # as written, each with severity and meta.asset resolved
    kind: str = "raw"  # raw | marts
    target: str = ""  # the feed (raw) or the mart's table name (marts)
    assets: Mapping[str, QueryAsset] = field(default_factory=dict)  # marts only
    optional: bool = False  # marts only: skipped, not failed, while dbt does not build the table
    index: tuple[str, ...] = ()  # marts only: columns locating an unexpected row of the table

    @property
    def asset_names(self) -> tuple[str, ...]:
        return ASSETS if self.kind == "raw" else (TABLE_ASSET, *self.assets)

    @property
    def default_asset(self) -> str:
        return "rows" if self.kind == "raw" else TABLE_ASSET

    def for_asset(self, asset: str) -> list[dict]:
        return [e for e in self.expectations if e["meta"]["asset"] == asset]


def suite_path(feed: str, directory: Path | None = None) -> Path:
    return (directory or cfg.EXPECTATIONS_DIR) / f"raw_{feed}.json"


def marts_suite_paths(directory: Path | None = None) -> list[Path]:
    """Every `marts.<table>.json`, in name order."""
    return sorted((directory or cfg.EXPECTATIONS_DIR).glob(f"{MARTS_PREFIX}*.json"))


def _query_assets(where: str, doc: dict) -> dict[str, QueryAsset]:
    declared = doc.get("assets") or {}
    if not isinstance(declared, dict):
        raise CeiError(f"quality suite {where}: `assets` must be an object of name → asset")
    out = {}
    for name, spec in declared.items():
        label = f"quality suite {where} asset {name!r}"
        if name in (TABLE_ASSET, *ASSETS) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise CeiError(f"{label}: a lower_snake_case name other than {TABLE_ASSET!r}")
        query = spec.get("query") if isinstance(spec, dict) else None
        if isinstance(query, list) and all(isinstance(q, str) for q in query):
            query = "\n".join(query)
        if not isinstance(query, str) or "{schema}" not in query:
            raise CeiError(f"{label}: `query` must be SQL (a string or a list of lines) over {{schema}}")
        if ";" in query or not re.match(r"\s*(select|with)\b", query, re.IGNORECASE):
            raise CeiError(f"{label}: `query` must be one select statement")
        index = spec.get("index") or []
        if not isinstance(index, list) or not all(isinstance(c, str) for c in index):
            raise CeiError(f"{label}: `index` must be a list of column names")
        out[name] = QueryAsset(name, query, tuple(index), str(spec.get("unit") or "rows"))
    return out


def load_suite(path: Path) -> SuiteFile:
    """Read and check a suite file: a GX 1.x expectation suite in JSON where every expectation
    names its severity. Raises CeiError naming the file and the expectation at fault."""
    where = path.name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CeiError(f"quality suite {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CeiError(f"quality suite {where} is not readable JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("name") != path.stem:
        raise CeiError(f"quality suite {where}: `name` must be {path.stem!r}")
    if path.stem.startswith(MARTS_PREFIX):
        kind, target = "marts", path.stem.removeprefix(MARTS_PREFIX)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", target):
            raise CeiError(f"quality suite {where}: `marts.<table>` with a lower_snake_case table name")
        assets = _query_assets(where, doc)
    elif path.stem.startswith("raw_"):
        kind, target, assets = "raw", path.stem.removeprefix("raw_"), {}
    else:
        raise CeiError(f"quality suite {where}: the name must be raw_<feed> or marts.<table>")
    suite_meta = doc.get("meta") or {}
    items = doc.get("expectations")
    if not isinstance(items, list) or not items:
        raise CeiError(f"quality suite {where}: `expectations` must be a non-empty list")
    known_assets = ASSETS if kind == "raw" else (TABLE_ASSET, *assets)
    checked = []
    for i, item in enumerate(items, 1):
        label = f"{where} expectation #{i}"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise CeiError(f"quality suite {label}: needs a `type`")
        label += f" ({item['type']})"
        if item.get("severity") not in SEVERITIES:
            raise CeiError(f"quality suite {label}: `severity` must be one of {', '.join(SEVERITIES)}")
        meta = dict(item.get("meta") or {})
        meta.setdefault("asset", known_assets[0])
        if meta["asset"] not in known_assets:
            raise CeiError(f"quality suite {label}: `meta.asset` must be one of {', '.join(known_assets)}")
        if not isinstance(item.get("kwargs"), dict):
            raise CeiError(f"quality suite {label}: needs `kwargs`")
        checked.append({**item, "meta": meta})
    return SuiteFile(
        name=path.stem,
        path=path,
        expectations=tuple(checked),
        kind=kind,
        target=target,
        assets=assets,
        optional=bool(suite_meta.get("optional", False)),
        index=tuple(suite_meta.get("index") or ()),
    )


def gx_expectations(suite: SuiteFile, asset: str) -> list:
    """GX Expectation objects, built one by one so that a bad one fails loudly (GX's
    ExpectationSuite constructor logs and drops an invalid expectation)."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    out = []
    for item in suite.for_asset(asset):
        try:
            conf = ExpectationConfiguration(
                type=item["type"],
                kwargs=item["kwargs"],
                meta=item["meta"],
                notes=item.get("notes"),
                description=item.get("description"),
                severity=item["severity"],
            )
            out.append(conf.to_domain_obj())
        except Exception as exc:  # GX raises pydantic, marshmallow and its own errors here
            first = str(exc).strip().splitlines()
            raise CeiError(
                f"quality suite {suite.path.name}: {item['type']} is not a valid expectation:"
                f" {' '.join(first[:3]) or type(exc).__name__}"
            ) from None
    return out
