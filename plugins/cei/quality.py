"""The Great Expectations gates: validate what was loaded, and what is about to be published.

Reviewable suite files in `expectations/` (format: expectations/README.md), two kinds:

- `raw_<feed>.json` — a feed's freshly loaded batches, after ingestion and before dbt
  (`validate_feed_batches`). Its expectations run against one of three query assets, chosen by
  `meta.asset`: `rows` (default; the raw rows of the batches), `load_files` (the batches' ledger
  rows with quarantined and unknown-region shares) and `volume` (rows read per delivery date of
  the batches against the trailing median of earlier delivery dates).
- `marts.<table>.json` — one published mart, validated in the build schema dbt just wrote,
  before it is swapped in (`validate_marts`; write–audit–publish, see `cei.warehouse.publish_marts`).
  Expectations run against the table itself (`table`, default) or a query asset the suite
  declares in `assets` (SQL over `{schema}`, the schema being validated).

Each expectation has a severity: `critical` stops the run, `warning` is recorded and reported.
Validation runs inside PostgreSQL (GX's SQLAlchemy execution engine on table and query assets,
in read-only transactions); only metrics come back, and up to 20 unexpected values (with the
rows they are in) for each expectation that found some, fetched in a second pass. Every result
is recorded in `meta.quality_results` and every suite's outcome in `meta.quality_gates`; the
validations are rendered as GX Data Docs under `CEI_HOME/data_docs`. A failed critical
expectation then raises `GateFailed` with a one-line message for the data steward.
"""

from __future__ import annotations

import json
import logging
import operator
import re
import shutil
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from cei import settings as cfg
from cei.errors import CeiError, GateFailed, WarehouseError
from cei.feeds import FEEDS, Feed

log = logging.getLogger(__name__)
# GX logs every registration and substitution at INFO; Airflow task logs run at INFO.
if logging.getLogger("great_expectations").level == logging.NOTSET:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)

SEVERITIES = ("critical", "warning")
ASSETS = ("rows", "load_files", "volume")  # the assets of a raw suite (built here, not declared)
TABLE_ASSET = "table"  # a marts suite's default asset: the mart itself
MARTS_PREFIX = "marts."
_URL_VARIABLE = "CEI_GX_WAREHOUSE_URL"  # substituted by GX at engine creation, never stored in config
_OBSERVED_MAX = 300  # characters of observed/expected text kept in meta.quality_results
_SAMPLES = 3  # unexpected values quoted per result
_SAMPLE_ROWS = 20  # unexpected values (and rows) GX fetches per expectation that found some
_DOCS_KEEP_RUNS = 60  # runs whose validations stay in the Data Docs site
_UNITS = {"rows": "rows", "load_files": "files", "volume": "delivery dates", TABLE_ASSET: "rows"}


# ---------------------------------------------------------------------------------------------
# Suite files


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


def _gx_expectations(suite: SuiteFile, asset: str) -> list:
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


# ---------------------------------------------------------------------------------------------
# Connection URL and the queries


def sqlalchemy_url(url: str) -> str:
    """A SQLAlchemy URL (psycopg2 driver) for a libpq `postgresql://` URL, unix-socket URLs
    (`postgresql://user:@/db?host=/path/to/socket/dir`) included. A URL that already names a
    driver (`postgresql+psycopg://…`) is kept as it is."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CeiError("the warehouse URL is not a postgresql:// URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    elif not parsed.drivername.startswith("postgresql+"):
        raise CeiError(f"the warehouse URL must be a postgresql:// URL, not {parsed.drivername}://")
    return parsed.render_as_string(hide_password=False)


def _file_ids(file_ids: Iterable[int]) -> list[int]:
    ids = []
    for i in file_ids:
        if isinstance(i, bool):
            raise TypeError("file ids are integers")
        ids.append(operator.index(i))  # an int (or int-like), never text
    return sorted(set(ids))


def _in_list(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _qualified(schema: str, table: str) -> str:
    return f"{_quote(schema)}.{_quote(table)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Columns the rows asset offers besides the feed's typed columns: lineage, and a computed flag.
_LINEAGE = ("load_file_id", "delivery_date", "source_row")
_COMPUTED = {"field_warning_flag": "case when cardinality(warnings) > 0 then 1 else 0 end"}


def rows_columns(feed: Feed) -> tuple[str, ...]:
    """Every column an expectation on the `rows` asset may name."""
    return (*_LINEAGE, *(c.name for c in feed.stored_columns), *_COMPUTED)


def condition_columns(condition: Any) -> list[str]:
    """Columns a GX 1.x row condition names (`{"type": "comparison", "column": {"name": …},
    "operator": …, "parameter": …}`, `nullity`, or `and`/`or` of those)."""
    if not isinstance(condition, dict):
        return []
    if isinstance(condition.get("conditions"), list):
        return [c for sub in condition["conditions"] for c in condition_columns(sub)]
    name = (condition.get("column") or {}).get("name")
    return [name] if isinstance(name, str) else []


def condition_text(condition: Any) -> str:
    """`batch_rows_read >= 50`, for people."""
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(condition_text(c) for c in condition.get("conditions") or ())
    name = (condition.get("column") or {}).get("name")
    if kind == "nullity":
        return f"{name} is {'null' if condition.get('is_null') else 'not null'}"
    operator_ = {"==": "=", "NOT_IN": "not in"}.get(condition.get("operator"), condition.get("operator"))
    return f"{name} {operator_} {_short(condition.get('parameter'))}"


def referenced_columns(expectations: Iterable[dict]) -> list[str]:
    out: list[str] = []
    for item in expectations:
        kw = item["kwargs"]
        out += [kw[k] for k in ("column", "column_A", "column_B") if isinstance(kw.get(k), str)]
        out += [c for c in kw.get("column_list") or () if isinstance(c, str)]
        out += condition_columns(kw.get("row_condition"))
    return list(dict.fromkeys(out))


def rows_query(feed: Feed, ids: list[int], columns: Iterable[str] | None = None) -> str:
    """The raw rows of the batches: `load_file_id`, `source_row` (to point at unexpected rows)
    and `columns` (default: all of `rows_columns`). Only the columns the suite names are
    selected because GX executes a query asset's query once as it stands to learn its columns
    (the result crosses the wire), whereas every check itself runs as an aggregate in SQL."""
    wanted = list(dict.fromkeys(["load_file_id", "source_row", *(columns or rows_columns(feed))]))
    unknown = [c for c in wanted if c not in rows_columns(feed)]
    if unknown:
        raise ValueError(f"raw {feed.name} rows have no column {', '.join(unknown)}")
    select = ", ".join(f'{_COMPUTED[c]} as "{c}"' if c in _COMPUTED else f'"{c}"' for c in wanted)
    return (
        f"select {select} from {_qualified(cfg.RAW, feed.table)}"
        f" where load_file_id in ({_in_list(ids)})"
    )


# Columns of the load_files asset (see load_files_query).
LOAD_FILES_COLUMNS = (
    "file_id", "file_name", "delivery_date", "status", "rows_read", "rows_loaded", "rows_quarantined",
    "rows_duplicate", "raw_rows", "batch_rows_read", "quarantined_share", "batch_quarantined_share",
    "unknown_region_rows", "unknown_region_share", "batch_unknown_region_share",
)
# Columns of the volume asset (see volume_query).
VOLUME_COLUMNS = ("delivery_date", "rows_read", "history_nights", "trailing_median", "volume_ratio")
VOLUME_HISTORY_NIGHTS = 7  # the trailing window: this many earlier delivery dates with loads


def check_columns(suite: SuiteFile, feed: Feed) -> None:
    """Every column a raw suite names exists in its asset: a typo fails before any query runs."""
    known = {"rows": rows_columns(feed), "load_files": LOAD_FILES_COLUMNS, "volume": VOLUME_COLUMNS}
    for asset in ASSETS:
        unknown = [c for c in referenced_columns(suite.for_asset(asset)) if c not in known[asset]]
        if unknown:
            raise CeiError(f"quality suite {suite.path.name}: the {asset} asset has no column {', '.join(unknown)}")


def load_files_query(feed: Feed, ids: list[int]) -> str:
    """The ledger rows of the batches (LOAD_FILES_COLUMNS): one per file, with its quarantined
    and unknown-region shares of the rows read, the rows read and the same shares over all the
    batches (`batch_*`, the same value on every row) and the rows actually present in raw for it."""
    raw = _qualified(cfg.RAW, feed.table)
    quarantine = _qualified(cfg.QUARANTINE, "quarantined_rows")
    return (
        "with f as (select f.*,"
        f" (select count(*) from {raw} r where r.load_file_id = f.file_id) as raw_rows,"
        f" (select count(*) from {quarantine} q where q.load_file_id = f.file_id"
        "   and q.reason_code = 'unknown_region') as unknown_region_rows"
        f" from {_qualified(cfg.META, 'load_files')} f where f.file_id in ({_in_list(ids)}))"
        " select file_id, file_name, delivery_date, status, rows_read, rows_loaded, rows_quarantined,"
        " rows_duplicate, raw_rows, sum(rows_read) over () as batch_rows_read,"
        " round(rows_quarantined::numeric / nullif(rows_read, 0), 4)::float8 as quarantined_share,"
        " coalesce(round(sum(rows_quarantined) over ()::numeric"
        " / nullif(sum(rows_read) over (), 0), 4), 0)::float8 as batch_quarantined_share,"
        " unknown_region_rows,"
        " round(unknown_region_rows::numeric / nullif(rows_read, 0), 4)::float8 as unknown_region_share,"
        " coalesce(round(sum(unknown_region_rows) over ()::numeric"
        " / nullif(sum(rows_read) over (), 0), 4), 0)::float8 as batch_unknown_region_share"
        " from f"
    )


def volume_query(feed: Feed, ids: list[int]) -> str:
    """One row per delivery date of the batches (VOLUME_COLUMNS): the rows read from every loaded
    file of the feed on that date (the ledger as it stands, so a late extra file adds to its
    night), and the median of the same total over the previous VOLUME_HISTORY_NIGHTS delivery
    dates that had loads. `volume_ratio` = rows read / trailing median; null when there is no
    earlier night to compare with (the first nights) or the median is 0."""
    ledger = _qualified(cfg.META, "load_files")
    return (
        "with nights as (select delivery_date, sum(rows_read) as rows_read"
        f" from {ledger} where feed = {_literal(feed.name)} and status = 'loaded' group by delivery_date),"
        f" batch as (select distinct delivery_date from {ledger} where file_id in ({_in_list(ids)}))"
        " select n.delivery_date, n.rows_read, h.history_nights, h.trailing_median,"
        " round((n.rows_read / nullif(h.trailing_median, 0))::numeric, 4)::float8 as volume_ratio"
        " from batch b join nights n using (delivery_date)"
        " cross join lateral (select count(*) as history_nights,"
        "   percentile_cont(0.5) within group (order by p.rows_read) as trailing_median"
        "   from (select rows_read from nights p where p.delivery_date < b.delivery_date"
        f"   order by p.delivery_date desc limit {VOLUME_HISTORY_NIGHTS}) p) h"
    )


def marts_query(suite: SuiteFile, asset: str, schema: str, rebuilt: str = "true") -> str:
    """A marts suite's declared query asset, over the validated schema; `{rebuilt}` stands for
    the condition `rebuilt_rows` gives."""
    return suite.assets[asset].query.replace("{schema}", _quote(schema)).replace("{rebuilt}", rebuilt)


def rebuilt_rows(conn: psycopg.Connection, schema: str, table: str) -> str:
    """A condition on the rows of an incremental table (a fact table: dbt_project/macros/
    newest_versions.sql) that its last build wrote: a newest version loaded or delivered after
    what the build before had seen, as literals so PostgreSQL can use the table's indexes. Every
    row ("true") after a full build and for a table without a watermark. Every other row was
    validated by the build that wrote it, in this schema or in the other one publishing swaps
    with it, from the same latest states."""
    row = conn.execute(
        "select rebuilt_after_file_id, rebuilt_after_date from meta.dbt_watermarks"
        " where relation_oid = to_regclass(%s) and rebuilt_after_file_id is not null",
        (_qualified(schema, table),),
    ).fetchone()
    if row is None:
        return "true"
    return f"(load_file_id > {int(row[0])} or delivery_date > {_literal(row[1].isoformat())})"


# ---------------------------------------------------------------------------------------------
# Results as text


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | tuple):
        text = "(" + ", ".join(_short(v, limit) for v in value) + ")"
    elif isinstance(value, dict):  # one row of a multi-column check
        text = "(" + ", ".join(_short(v, limit) for v in value.values()) + ")"
    elif value is None:
        text = "null"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="minutes")
    elif isinstance(value, str) and not value.strip():
        text = repr(value)  # a blank value must stay visible
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(text: str) -> str:
    return text if len(text) <= _OBSERVED_MAX else text[: _OBSERVED_MAX - 1] + "…"


def _asset_of(conf: Any) -> str:
    return (conf.meta or {}).get("asset", "rows")


def expectation_id(conf: Any) -> str:
    """`type(columns)`, columns of a non-default asset prefixed with it (`load_files.`,
    `volume.`, `unit_coverage.`…): the name recorded and reported."""
    kw = conf.kwargs
    asset = _asset_of(conf)
    prefix = "" if asset in ("rows", TABLE_ASSET) else asset + "."
    cols = [kw[k] for k in ("column", "column_A", "column_B") if kw.get(k)]
    cols += list(kw.get("column_list") or [])
    return f"{conf.type}({', '.join(prefix + c for c in cols)})" if cols else conf.type


def expected_text(conf: Any) -> str:
    """What the expectation asks for, short, from its kwargs."""
    t, kw = conf.type, conf.kwargs
    a, b = kw.get("column_A"), kw.get("column_B")
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if "not_be_null" in t:
        text = "not null"
    elif t == "expect_column_values_to_be_null":
        text = "null"
    elif "to_be_in_set" in t:
        text = "in {" + ", ".join(map(str, kw.get("value_set") or ())) + "}"
        if "column" in kw:
            text += " or null"
    elif "match_regex" in t:
        text = f"matches {kw.get('regex')}"
    elif "pair_values_a_to_be_greater_than_b" in t:
        text = f"{a} {'>=' if kw.get('or_equal') else '>'} {b}"
    elif "pair_values_to_be_equal" in t:
        text = f"{a} = {b}"
    elif "to_be_unique" in t:
        text = "unique"
    elif t == "expect_table_row_count_to_equal":
        text = f"row count = {kw.get('value')}"
    elif lo is not None or hi is not None:
        column = kw.get("column")
        subject = "row count" if "row_count" in t else column or "value"
        for stat in ("mean", "max", "min", "median", "sum", "stdev"):
            if t.startswith(f"expect_column_{stat}_"):
                subject = f"{stat}({column})"
        if lo is not None and hi is not None:
            text = f"{subject} = {_short(lo)}" if lo == hi else f"{_short(lo)} <= {subject} <= {_short(hi)}"
        else:
            text = f"{subject} >= {_short(lo)}" if lo is not None else f"{subject} <= {_short(hi)}"
        if t.startswith("expect_column_values_"):
            text += " or null"
    else:
        text = ", ".join(f"{k}={_short(v)}" for k, v in kw.items() if k not in ("column", "batch_id"))
    if kw.get("mostly") not in (None, 1, 1.0):
        text += f" for at least {kw['mostly']:.0%} of rows"
    if kw.get("row_condition"):
        text += " where " + condition_text(kw["row_condition"])
    return _clip(text)


def observed_text(res: Any, unit: str | None = None, index: Iterable[str] = ()) -> str:
    error = _error_message(res.exception_info)
    conf = res.expectation_config
    if error is not None:
        return _clip("error: " + error)
    r = res.result or {}
    if "observed_value" in r:
        return _clip(_short(r["observed_value"], _OBSERVED_MAX))
    if "unexpected_count" in r or "element_count" in r:
        unit = unit or _UNITS.get(_asset_of(conf), "rows")
        n, bad = r.get("element_count") or 0, r.get("unexpected_count") or 0
        text = f"{bad} of {n} {unit}"
        if bad and n:
            text += f" ({bad / n:.2%})"
        samples = [_short(v) for v in (r.get("partial_unexpected_list") or []) if v is not None]
        found = r.get("partial_unexpected_index_list") or []
        if str(conf.kwargs.get("column") or "").startswith("batch_"):
            # The same value on every row (a share over all the validated files): say it once.
            if bad and samples:
                text = f"{samples[0]} over the {n} {unit} together"
        else:
            if found and isinstance(found[0], dict):
                samples = [_locate(i, tuple(index)) for i in found]
            if bad and samples:
                text += ", e.g. " + "; ".join(list(dict.fromkeys(samples))[:_SAMPLES])
        note = (conf.meta or {}).get("when_unchecked")
        if note and not n:
            text = f"nothing to check: {note}"
        elif note and r.get("missing_count"):
            text += f"; {r['missing_count']} not checked: {note}"
        return _clip(text)
    return "n/a"


def _error_message(info: Any) -> str | None:
    """The first line of the exception a check raised, or None. GX reports it either flat
    ({raised_exception, exception_message}) or per failed metric ({metric id: {...}})."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            lines = str(entry.get("exception_message") or "").strip().splitlines()
            return lines[0] if lines else "the check could not be computed"
    return None


def _locate(row: Mapping[str, Any], index: tuple[str, ...] = ()) -> str:
    """`file 12 row 37: 投拆` (raw rows), `orders.csv: 0.2` (files), `month=2026-07-01
    indicator_code=…: 2` (marts) from an unexpected-index entry."""
    index = index or tuple(k for k in ("load_file_id", "source_row", "file_name") if k in row)
    where = []
    for key in index:
        if key not in row:
            continue
        value = row[key]
        if key == "load_file_id":
            where.append(f"file {value}")
        elif key == "source_row":
            where.append(f"row {value}")
        elif key == "file_name":
            where.append(str(value))
        else:
            where.append(f"{key}={_short(value)}")
    value = ", ".join(_short(v) for k, v in row.items() if k not in index)
    if not where:
        return value
    return " ".join(where) + (": " + value if value else "")


# ---------------------------------------------------------------------------------------------
# Running suites


@dataclass(frozen=True)
class Outcome:
    expectation: str
    description: str
    severity: str
    success: bool
    observed: str
    expected: str
    suite: str = ""
    target: str = ""  # a feed, or a published mart `marts.<table>`

    def brief(self) -> dict[str, str]:
        return {
            "expectation": self.expectation,
            "description": self.description,
            "observed": self.observed,
            "expected": self.expected,
        }


@dataclass(frozen=True)
class Check:
    """One GX validation: a suite's expectations on one asset (a query, or a table)."""

    suite: SuiteFile
    asset: str
    target: str
    query: str | None = None
    table: tuple[str, str] | None = None  # (schema, table) for a table asset
    index: tuple[str, ...] = ()
    unit: str = "rows"


# Columns that locate an unexpected row or file for the steward, per raw asset.
_INDEX_COLUMNS = {
    "rows": ("load_file_id", "source_row"),
    "load_files": ("file_name",),
    "volume": ("delivery_date", "rows_read", "trailing_median"),
}


def docs_locations(s: cfg.Settings | None = None) -> tuple[Path, Path]:
    """(the static Data Docs site, GX's validation-results store) under CEI_HOME."""
    s = s or cfg.load()
    return s.home / "data_docs", s.home / "gx" / "validations"


def _quiet_context(runtime_environment: dict[str, str], docs: tuple[Path, Path] | None):
    """An ephemeral GX context, progress bars off. Suites, datasources and validation
    definitions live in memory only (the reviewable files in expectations/ are the source);
    with `docs`, validation results are kept on disk and a filesystem Data Docs site is
    declared, so every run adds its validations to one static site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    if docs is not None:
        site, results = docs
        config.stores["validation_results_store"] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results)},
        }
        config.data_docs_sites = {
            "cei": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        }
    return gx.get_context(mode="ephemeral", project_config=config, runtime_environment=runtime_environment)


def _run_checks(url: str, run_id: int, checks: list[Check], docs: tuple[Path, Path] | None) -> tuple[
    list[Outcome], str | None
]:
    """Run every check in PostgreSQL; returns the outcomes and the Data Docs index (or None)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from sqlalchemy.engine import make_url

    sa_url = sqlalchemy_url(url)
    context = _quiet_context({_URL_VARIABLE: sa_url}, docs)
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if "options" not in make_url(sa_url).query:  # the URL's own options win
        # Unexpected timestamps are quoted in the platform's zone, as everywhere else; and a
        # suite's SQL can read but never write.
        connect_args["options"] = f"-c TimeZone={cfg.LOCAL_TZ.key} -c default_transaction_read_only=on"
    # ConfigStr: pydantic's PostgresDsn rejects socket URLs (no host), and the password stays out
    # of the datasource's config and repr.
    source = context.data_sources.add_postgres(
        name="warehouse",
        connection_string="${" + _URL_VARIABLE + "}",
        kwargs={"connect_args": connect_args},
    )
    gx_run = RunIdentifier(run_name=f"run-{run_id}", run_time=datetime.now(UTC))
    outcomes: list[Outcome] = []
    views = _CheckViews(url)
    try:
        for check in checks:
            name = f"{check.suite.name}.{check.asset}"
            expectations = _gx_expectations(check.suite, check.asset)
            if not expectations:
                continue
            schema, table = check.table or views.add(run_id, check)
            asset = source.add_table_asset(name=name, schema_name=schema, table_name=table)
            batch = asset.add_batch_definition_whole_table(name="batches")

            # Counts first, with no samples: GX's sample queries then carry `LIMIT 0`, which
            # PostgreSQL answers without reading a row. Asked for 20, each of them scans every
            # validated row when (as nearly always) nothing is unexpected — most of the gate's
            # time on a long history. Only the expectations that found unexpected rows run again,
            # for their samples; their second results replace the first.
            results = _validate(context, batch, name, check, expectations, gx_run, samples=0)
            found = [i for i, res in enumerate(results) if (res.result or {}).get("unexpected_count")]
            if found:
                # fresh objects: GX adds no expectation that already belongs to a suite
                again = _gx_expectations(check.suite, check.asset)
                sampled = _validate(context, batch, f"{name}.samples", check, [again[i] for i in found], gx_run,
                                    samples=_SAMPLE_ROWS)
                for i, res in zip(found, sampled, strict=True):
                    results[i] = res
            for res in results:
                conf = res.expectation_config
                outcomes.append(
                    Outcome(
                        expectation=expectation_id(conf),
                        description=conf.description or "",
                        severity=getattr(conf.severity, "value", str(conf.severity)),
                        success=bool(res.success),
                        observed=observed_text(res, check.unit, check.index),
                        expected=expected_text(conf),
                        suite=check.suite.name,
                        target=check.target,
                    )
                )
    finally:
        _dispose(source)
        views.drop()
    return outcomes, (_build_docs(context, docs, gx_run) if docs is not None and outcomes else None)


def _validate(context: Any, batch: Any, name: str, check: Check, expectations: list, gx_run: Any, *,
              samples: int) -> list:
    """Validate `batch` with `expectations` as suite `name`, quoting up to `samples` unexpected
    values (and rows) per expectation; the results in the order of `expectations`."""
    import great_expectations as gx

    gx_suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        gx_suite.add_expectation(expectation)
    if len(gx_suite.expectations) != len(expectations):
        raise CeiError(f"quality suite {check.suite.path.name}: two {check.asset} expectations are the same")
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": samples}
    if check.index:
        result_format["unexpected_index_column_names"] = list(check.index)
    results = definition.run(result_format=result_format, run_id=gx_run).results
    position = {e.id: i for i, e in enumerate(gx_suite.expectations)}
    return sorted(results, key=lambda r: position[r.expectation_config.id])


class _CheckViews:
    """A check defined by a query is validated through a view of it in schema `quality_checks`,
    not as a GX query asset: to learn a query asset's columns GX 1.x runs the whole query and
    fetches every row into this process (1.2 GB at 3 M work orders); a view's columns come from
    the catalogue, and every metric still runs in PostgreSQL."""

    SCHEMA = cfg.QUALITY_CHECKS

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []

    def add(self, run_id: int, check: Check) -> tuple[str, str]:
        import psycopg
        from psycopg import sql

        # GX does not quote a table asset's name: plain lower-case letters, digits and _ only.
        name = re.sub(r"[^a-z0-9_]", "_", f"run{run_id}_{check.suite.name}_{check.asset}".lower())[:63]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(self.SCHEMA)))
            conn.execute(sql.SQL("create or replace view {} as {}").format(
                sql.Identifier(self.SCHEMA, name), sql.SQL(check.query or "")))
        self.names.append(name)
        return self.SCHEMA, name

    def drop(self) -> None:
        if not self.names:
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(sql.SQL("drop view if exists {}").format(sql.Identifier(self.SCHEMA, name)))


def _build_docs(context: Any, docs: tuple[Path, Path], gx_run: Any) -> str | None:
    """Render this validation's pages (suites and results) and the site's index, which lists
    every run kept (_prune_validations). Never fails the gate: the results are in meta already."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    site, results = docs
    try:
        _prune_validations(site, results, _DOCS_KEEP_RUNS)
        store = context.validation_results_store
        fresh = [k for k in store.list_keys() if k.run_id == gx_run]
        suites = [ExpectationSuiteIdentifier(name=s.name) for s in context.suites.all()]
        built = context.build_data_docs(site_names=["cei"], resource_identifiers=[*fresh, *suites])
        return built.get("cei")
    except Exception as exc:
        log.warning("could not build the Data Docs site in %s: %s", site, exc)
        return None


def _prune_validations(site: Path, results: Path, keep: int) -> None:
    """Keep the validations (stored JSON and rendered pages) of the newest `keep` runs, so the
    site's index stays quick to rebuild. GX stores them under <suite parts>/run-<id>/<time>/."""
    if not results.is_dir():
        return
    runs: dict[int, list[Path]] = {}
    for folder in results.rglob("run-*"):
        if folder.is_dir() and folder.name.removeprefix("run-").isdigit():
            runs.setdefault(int(folder.name.removeprefix("run-")), []).append(folder)
    for run in sorted(runs)[:-keep]:
        for folder in runs[run]:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(site / "validations" / folder.relative_to(results), ignore_errors=True)


def _dispose(source: Any) -> None:
    """Close the connections GX pooled: the datasource's engine and its execution engine's."""
    for get in (lambda: source.get_execution_engine().engine, source.get_engine):
        try:
            get().dispose()
        except Exception:  # best effort: never hide the validation's own outcome
            log.debug("could not dispose a GX engine", exc_info=True)


# ---------------------------------------------------------------------------------------------
# Recording and reporting


def _libpq_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest if sep else url


def _connect(url: str) -> psycopg.Connection:
    from cei.warehouse import describe

    try:
        return psycopg.connect(_libpq_url(url), connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"cannot connect to the warehouse at {describe(url)}: {reason}") from None


@dataclass
class SuiteResult:
    """One suite's outcome in a gate, as recorded in meta.quality_gates."""

    suite: str
    target: str
    outcomes: list[Outcome] = field(default_factory=list)
    note: str | None = None
    skipped: bool = False

    @property
    def failed_critical(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def failed_warning(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "failed" if self.failed_critical else "warned" if self.failed_warning else "passed"


def _record(conn: psycopg.Connection, run_id: int, gate: str, results: list[SuiteResult]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into meta.quality_results"
            " (run_id, suite, target, expectation, severity, success, observed, expected)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_id, o.suite, o.target, o.expectation, o.severity, o.success, o.observed, o.expected)
                for r in results
                for o in r.outcomes
            ],
        )
        cur.executemany(
            "insert into meta.quality_gates (run_id, gate, suite, target, status, evaluated,"
            " failed_critical, failed_warning, note) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_id, gate, r.suite, r.target, r.status, len(r.outcomes), len(r.failed_critical),
                 len(r.failed_warning), r.note)
                for r in results
            ],
        )


def gate_message(target: str, failed: list[Outcome]) -> str:
    """One line for the data steward: the feed or mart, the (first) failed critical expectation,
    what was observed and what was expected, and how many more failed. `target` is a feed name
    or a published mart (`marts.<table>`)."""
    first = failed[0]
    what = f"{first.description} [{first.expectation}]" if first.description else first.expectation
    subject = f"mart {target}" if target.startswith(MARTS_PREFIX) else f"feed {target}"
    text = f"quality gate failed for {subject}: {what}: observed {first.observed}; expected {first.expected}"
    if len(failed) > 1:
        more = [o.expectation if o.target == first.target else f"{o.target} {o.expectation}" for o in failed[1:]]
        text += f" (and {len(failed) - 1} more critical: {', '.join(more)})"
    return " ".join(text.splitlines())  # one line, whatever the data contained


def _log_outcomes(label: str, results: list[SuiteResult], seconds: float) -> None:
    for r in results:
        for o in r.failed_warning:
            log.warning("%s quality warning: %s: observed %s; expected %s", r.target, o.expectation, o.observed,
                        o.expected)
        if r.note:
            log.info("%s: %s", r.suite, r.note)
    outcomes = [o for r in results for o in r.outcomes]
    log.info(
        "%s: %d expectations in %.1fs, %d critical and %d warning failed", label, len(outcomes), seconds,
        sum(len(r.failed_critical) for r in results), sum(len(r.failed_warning) for r in results),
    )


# ---------------------------------------------------------------------------------------------
# The gates


def _check_files(conn: psycopg.Connection, feed: Feed, ids: list[int]) -> None:
    """Every id must be a ledger row of this feed: validating another feed's file, or none,
    would pass vacuously."""
    found = {
        r[0]
        for r in conn.execute(
            "select file_id from meta.load_files where file_id = any(%s) and feed = %s", (ids, feed.name)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(f"not {feed.name} files in meta.load_files: {', '.join(map(str, missing))}")


def _no_history_note(conn: psycopg.Connection, feed: Feed, ids: list[int]) -> str | None:
    """`first night(s) …` when some delivery date of the batches has no earlier one with loads."""
    first = conn.execute(
        "select array_agg(b.delivery_date order by b.delivery_date) from"
        " (select distinct delivery_date from meta.load_files where file_id = any(%s)) b"
        " where not exists (select 1 from meta.load_files p where p.feed = %s and p.status = 'loaded'"
        " and p.delivery_date < b.delivery_date)",
        (ids, feed.name),
    ).fetchone()[0]
    if not first:
        return None
    days = ", ".join(d.isoformat() for d in first)
    return f"volume not compared for {days}: no earlier delivery date with loads (first night of the feed)"


def validate_feed_batches(
    conn_url: str, run_id: int, feed: str, file_ids: list[int], *, docs: tuple[Path, Path] | bool | None = True
) -> dict:
    """Validate the raw rows of `file_ids` (batches of `feed` in meta.load_files) with the suite
    `expectations/raw_<feed>.json`, inside PostgreSQL, and record every result in
    meta.quality_results (and the suite's outcome in meta.quality_gates) under `run_id`.
    `docs`: True = the Data Docs site under CEI_HOME, a (site, store) pair, or None/False = none.

    Returns `{suite, feed, evaluated, failed_critical, failed_warning, success}` (plus `files`,
    `seconds`, `data_docs`; `note` when there was nothing to validate or nothing to compare
    with). Raises GateFailed, after recording, when a critical expectation failed."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; one of {', '.join(FEEDS)}")
    declared = FEEDS[feed]
    suite_name = f"raw_{feed}"
    ids = _file_ids(file_ids)
    summary: dict[str, Any] = {
        "suite": suite_name,
        "feed": feed,
        "files": len(ids),
        "evaluated": 0,
        "failed_critical": [],
        "failed_warning": [],
        "success": True,
    }
    if not ids:
        log.info("%s: no batches to validate; nothing recorded", feed)
        return {**summary, "note": "nothing to validate: no batches were loaded"}

    suite = load_suite(suite_path(feed))
    check_columns(suite, declared)
    where = (docs_locations() if docs is True else docs) or None
    started = time.monotonic()
    checks = [
        Check(suite, "rows", feed, query=rows_query(declared, ids, referenced_columns(suite.for_asset("rows"))),
              index=_INDEX_COLUMNS["rows"], unit="rows"),
        Check(suite, "load_files", feed, query=load_files_query(declared, ids),
              index=_INDEX_COLUMNS["load_files"], unit="files"),
        Check(suite, "volume", feed, query=volume_query(declared, ids),
              index=_INDEX_COLUMNS["volume"], unit="delivery dates"),
    ]
    with _connect(conn_url) as conn:
        _check_files(conn, declared, ids)
        note = _no_history_note(conn, declared, ids) if suite.for_asset("volume") else None
        conn.rollback()  # hold no snapshot or locks while GX queries on its own connections
        with warnings.catch_warnings():
            # GX's own notices (deprecations, datasource hints) would only clutter task logs.
            warnings.filterwarnings("ignore", module=r"great_expectations(\.|$)")
            outcomes, index_page = _run_checks(conn_url, run_id, checks, where)
        result = SuiteResult(suite.name, feed, outcomes, note=note)
        _record(conn, run_id, "feeds", [result])

    summary.update(
        evaluated=len(outcomes),
        failed_critical=[o.brief() for o in result.failed_critical],
        failed_warning=[o.brief() for o in result.failed_warning],
        success=not result.failed_critical,
        seconds=round(time.monotonic() - started, 2),
        data_docs=index_page,
    )
    if note:
        summary["note"] = note
    _log_outcomes(f"{feed} ({len(ids)} file(s))", [result], summary["seconds"])
    if result.failed_critical:
        raise GateFailed(gate_message(feed, result.failed_critical))
    return summary


def _tables_in(conn: psycopg.Connection, schema: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')",
            (schema,),
        )
    }


def validate_marts(
    conn_url: str,
    run_id: int,
    schema: str,
    *,
    directory: Path | None = None,
    docs: tuple[Path, Path] | bool | None = True,
) -> dict:
    """Validate the marts dbt built in `schema` (the build schema, before publishing) with every
    `expectations/marts.<table>.json`, inside PostgreSQL; record the results under `run_id`
    with target `marts.<table>`, the name analysts will read.

    A suite whose table is absent fails critically, unless the suite is `optional` (a mart of
    the contract that dbt does not build yet): then it is skipped and the skip recorded.
    Returns `{gate, schema, suites: {suite: {target, status, evaluated, note}}, evaluated,
    failed_critical, failed_warning, skipped, success, seconds, data_docs}`; raises GateFailed,
    after recording, when a critical expectation failed."""
    suites = [load_suite(p) for p in marts_suite_paths(directory)]
    if not suites:
        raise CeiError(f"no marts suites (marts.<table>.json) in {directory or cfg.EXPECTATIONS_DIR}")
    where = (docs_locations() if docs is True else docs) or None
    started = time.monotonic()
    results: dict[str, SuiteResult] = {}
    checks: list[Check] = []
    with _connect(conn_url) as conn:
        present = _tables_in(conn, schema)
        conn.rollback()
        for suite in suites:
            target = f"{cfg.MARTS}.{suite.target}"
            result = results[suite.name] = SuiteResult(suite.name, target)
            if suite.target not in present:
                if suite.optional:
                    result.skipped = True
                    result.note = f"not run: dbt built no {suite.target} in {schema} (optional until the model exists)"
                    continue
                result.outcomes.append(Outcome(
                    "table_exists", f"{target} is built", "critical", False,
                    f"no table {suite.target} in {schema}", "the table built by dbt", suite.name, target))
                continue
            for asset in suite.asset_names:
                if asset == TABLE_ASSET:
                    checks.append(Check(suite, asset, target, table=(schema, suite.target), index=suite.index))
                else:
                    spec = suite.assets[asset]
                    query = marts_query(suite, asset, schema, rebuilt_rows(conn, schema, suite.target))
                    checks.append(Check(suite, asset, target, query=query, index=spec.index, unit=spec.unit))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"great_expectations(\.|$)")
            outcomes, index_page = _run_checks(conn_url, run_id, checks, where)
        for o in outcomes:
            results[o.suite].outcomes.append(o)
        _record(conn, run_id, "marts", list(results.values()))

    ordered = list(results.values())
    failed_critical = [o for r in ordered for o in r.failed_critical]
    summary = {
        "gate": "marts",
        "schema": schema,
        "suites": {
            r.suite: {"target": r.target, "status": r.status, "evaluated": len(r.outcomes), "note": r.note}
            for r in ordered
        },
        "evaluated": sum(len(r.outcomes) for r in ordered),
        "failed_critical": [{"target": o.target, **o.brief()} for o in failed_critical],
        "failed_warning": [{"target": o.target, **o.brief()} for r in ordered for o in r.failed_warning],
        "skipped": [r.suite for r in ordered if r.skipped],
        "success": not failed_critical,
        "seconds": round(time.monotonic() - started, 2),
        "data_docs": index_page,
    }
    _log_outcomes(f"marts in {schema}", ordered, summary["seconds"])
    if failed_critical:
        raise GateFailed(gate_message(failed_critical[0].target, failed_critical))
    return summary
