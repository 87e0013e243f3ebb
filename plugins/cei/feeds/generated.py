"""Files made from the feed declarations, so that what a declaration says about a column (that
it is required, its accepted values, its kind) is written down in the declaration only:

- `dbt_project/models/staging/_raw_sources.yml` — dbt's source `raw`: the tables, their columns
  with descriptions (accepted values included) and the feeds' freshness.
- the contract expectations of `expectations/raw_<feed>.json` — the checks the declaration
  implies, marked `"meta": {"source": "feed declaration"}`. The suite's other expectations (file
  shares, volume, warnings) are the gate's own and stay as written.

`cei feeds generate` writes both; `tests/unit/test_generated_files.py` fails when a file is not
what the declarations make. The raw suites re-check the contract on what reached raw: ingestion
quarantines a row that breaks it, so a failure means that guarantee broke. dbt does not test the
same values again (one tool per check: docs/decisions.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cei import settings as cfg
from cei.feeds.model import STORED_PATTERNS, Column, Feed, Kind

SOURCES_YML = cfg.DBT_PROJECT_DIR / "models" / "staging" / "_raw_sources.yml"
GENERATED = "feed declaration"  # meta.source of a generated expectation

# The lineage columns every raw table has (cei.warehouse.schema.LINEAGE_COLUMNS), for dbt's docs.
LINEAGE_DOCS = {
    "load_file_id": "装载文件编号 — the file the row came from (meta.load_files.file_id).",
    "delivery_date": "交付日期 — the night the file arrived (landing folder date), not a business date.",
    "source_row": "源文件行号 — row number in the delivered file.",
    "row_hash": "行哈希 — md5 of the typed values; exact duplicates share it (unique).",
    "warnings": "字段警告 — field defects `<code>:<column>` for which the field was loaded as null.",
    "withdrawn": "已撤回 — the file was withdrawn by the data steward (`cei files withdraw`); staging leaves the row"
                 " out.",
}


def column_description(column: Column) -> str:
    text = f"{column.source} — {column.doc}"
    if column.choices:
        text += " — " + ", ".join(column.choices) + ("" if column.required else " or null")
    return text + "."


def sources_yml(feeds: dict[str, Feed]) -> str:
    from cei.warehouse.schema import LINEAGE_COLUMNS

    if set(LINEAGE_DOCS) != {name for name, _ in LINEAGE_COLUMNS}:
        raise ValueError("LINEAGE_DOCS must describe exactly the lineage columns of cei.warehouse.schema")
    tables = []
    for feed in feeds.values():
        warn, error = feed.freshness_days
        tables.append({
            "name": feed.table,
            "description": f"{feed.description} (docs/feeds.md).",
            "config": {"freshness": {"warn_after": {"count": warn, "period": "day"},
                                     "error_after": {"count": error, "period": "day"}}},
            "columns": [{"name": name, "description": LINEAGE_DOCS[name]} for name, _ in LINEAGE_COLUMNS]
            + [{"name": c.name, "description": column_description(c)} for c in feed.stored_columns],
        })
    source = {
        "name": cfg.RAW,
        "description": (
            "Feed rows as loaded by the platform's ingestion (plugins/cei/ingest/load.py): every distinct version"
            " of every record, with its lineage (file, delivery date, row). Row defects are in `quarantine`, never"
            " here; exact duplicates are skipped at load. Owned by the platform, not dbt (plugins/cei/warehouse/"
            "schema.py `raw_table_ddl`); the feeds gate (expectations/raw_<feed>.json) checks every loaded file"
            " against its declaration. Contract: docs/feeds.md."
        ),
        "schema": cfg.RAW,
        "config": {"loaded_at_field": "(delivery_date::timestamp at time zone 'Asia/Shanghai')"},
        "tables": tables,
    }
    header = ("# Generated from the feed declarations (plugins/cei/feeds/) by `cei feeds generate`:\n"
              "# edit the declarations, not this file.\n")
    return header + yaml.safe_dump({"sources": [source]}, allow_unicode=True, sort_keys=False, width=100)


def _expectation(kind: str, kwargs: dict[str, Any], description: str, notes: str,
                 severity: str = "critical") -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "severity": severity, "description": description,
            "notes": notes, "meta": {"source": GENERATED}}


def contract_expectations(feed: Feed) -> list[dict[str, Any]]:
    """The checks `feed`'s declaration implies, in the order of its columns, then its row checks."""
    where = f"plugins/cei/feeds/{feed.name}.py"
    out = []
    for c in feed.stored_columns:
        label = f"{c.source} ({c.name})"
        if c.required:
            out.append(_expectation(
                "expect_column_values_to_not_be_null", {"column": c.name}, f"{label} is present",
                f"Required by the declaration ({where}); GX skips nulls in the other column checks."))
            if c.kind is Kind.TEXT:
                out.append(_expectation(
                    "expect_column_values_to_match_regex", {"column": c.name, "regex": "[^[:space:]]"},
                    f"{label} is not blank", f"Required by the declaration ({where}): non-empty after trimming."))
        if c.choices:
            out.append(_expectation(
                "expect_column_values_to_be_in_set", {"column": c.name, "value_set": list(c.choices)},
                f"{label} is {'' if c.required else 'empty or '}one of {', '.join(c.choices)}",
                f"The accepted values of the declaration ({where}); an unknown value drops the row from every"
                " indicator filtering on the column."))
        if c.kind in STORED_PATTERNS:
            out.append(_expectation(
                "expect_column_values_to_match_regex", {"column": c.name, "regex": STORED_PATTERNS[c.kind]},
                f"{label} has the shape of a {c.kind.value} ({STORED_PATTERNS[c.kind]})",
                f"The stored shape of a {c.kind.value} (cei.feeds.model.STORED_PATTERNS); ingestion checks more"
                " (region membership, the check digit), this is the cheap structural re-check."))
        if c.non_negative:
            out.append(_expectation(
                "expect_column_values_to_be_between", {"column": c.name, "min_value": 0},
                f"{label} is not negative", f"A negative value is a row defect by the declaration ({where})."
                + (" No indicator reads the column: a warning." if c.gate == "warning" else ""), c.gate))
    sources = {c.name: c.source for c in feed.columns}
    for check in feed.row_checks:
        out.append(_expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": check.later, "column_B": check.earlier, "or_equal": True,
             "ignore_row_if": "either_value_is_missing"},
            f"{sources[check.later]} is not before {sources[check.earlier]}",
            f"A row check of the declaration ({where}; reason code {check.code} at ingestion)."))
    return out


def raw_suite(path: Path, feed: Feed) -> str:
    """The suite file at `path` with its contract expectations made from `feed`'s declaration."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    own = [e for e in doc.get("expectations") or () if (e.get("meta") or {}).get("source") != GENERATED]
    doc["expectations"] = contract_expectations(feed) + own
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def generated_files(feeds: dict[str, Feed] | None = None, expectations: Path | None = None) -> dict[Path, str]:
    """Every generated file and the text it must have."""
    from cei.feeds import FEEDS

    feeds = feeds or FEEDS
    expectations = expectations or cfg.EXPECTATIONS_DIR
    files = {SOURCES_YML: sources_yml(feeds)}
    for feed in feeds.values():
        path = expectations / f"raw_{feed.name}.json"
        files[path] = raw_suite(path, feed)
    return files


def stale_files() -> list[Path]:
    return [p for p, text in generated_files().items() if not p.exists() or p.read_text(encoding="utf-8") != text]


def write() -> list[Path]:
    """Write every generated file whose text changed; returns those."""
    written = stale_files()
    for path, text in generated_files().items():
        if path in written:
            path.write_text(text, encoding="utf-8")
    return written
