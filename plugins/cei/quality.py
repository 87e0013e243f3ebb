"""The Great Expectations gate: validate a feed's freshly loaded batches before dbt publishes.

One reviewable suite file per raw feed, `expectations/raw_<feed>.json` (format: expectations/README.md).
Each expectation has a severity: `critical` stops publishing, `warning` is recorded and reported.
An expectation runs against one of two query assets, chosen by its `meta.asset`:

- `rows` (default): the raw rows of the given batches,
  `select ... from raw.<table> where load_file_id in (<file ids>)`;
- `load_files`: the ledger rows of those batches (`meta.load_files`), with the quarantined share
  per file and over all of them, and the rows present in raw per file.

Validation runs inside PostgreSQL (GX's SQLAlchemy execution engine on a query asset); only
metrics come back. Every result is recorded in `meta.quality_results`; a failed critical
expectation then raises `GateFailed` with a one-line message for the data steward.
"""

from __future__ import annotations

import json
import logging
import operator
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
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
ASSETS = ("rows", "load_files")
_URL_VARIABLE = "CEI_GX_WAREHOUSE_URL"  # substituted by GX at engine creation, never stored in config
_OBSERVED_MAX = 300  # characters of observed/expected text kept in meta.quality_results
_SAMPLES = 3  # unexpected values quoted per result


# ---------------------------------------------------------------------------------------------
# Suite files


@dataclass(frozen=True)
class SuiteFile:
    name: str  # raw_<feed>, the file's stem
    path: Path
    expectations: tuple[dict, ...]  # as written, each with severity and meta.asset resolved

    def for_asset(self, asset: str) -> list[dict]:
        return [e for e in self.expectations if e["meta"]["asset"] == asset]


def suite_path(feed: str, directory: Path | None = None) -> Path:
    return (directory or cfg.EXPECTATIONS_DIR) / f"raw_{feed}.json"


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
    items = doc.get("expectations")
    if not isinstance(items, list) or not items:
        raise CeiError(f"quality suite {where}: `expectations` must be a non-empty list")
    checked = []
    for i, item in enumerate(items, 1):
        label = f"{where} expectation #{i}"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise CeiError(f"quality suite {label}: needs a `type`")
        label += f" ({item['type']})"
        if item.get("severity") not in SEVERITIES:
            raise CeiError(f"quality suite {label}: `severity` must be one of {', '.join(SEVERITIES)}")
        meta = dict(item.get("meta") or {})
        meta.setdefault("asset", "rows")
        if meta["asset"] not in ASSETS:
            raise CeiError(f"quality suite {label}: `meta.asset` must be one of {', '.join(ASSETS)}")
        if not isinstance(item.get("kwargs"), dict):
            raise CeiError(f"quality suite {label}: needs `kwargs`")
        checked.append({**item, "meta": meta})
    return SuiteFile(name=path.stem, path=path, expectations=tuple(checked))


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


def _qualified(schema: str, table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))


# Columns the rows asset offers besides the feed's typed columns: lineage, and a computed flag.
_LINEAGE = ("load_file_id", "delivery_date", "source_row")
_COMPUTED = {"field_warning_flag": "case when cardinality(warnings) > 0 then 1 else 0 end"}


def rows_columns(feed: Feed) -> tuple[str, ...]:
    """Every column an expectation on the `rows` asset may name."""
    return (*_LINEAGE, *(c.name for c in feed.stored_columns), *_COMPUTED)


def referenced_columns(expectations: Iterable[dict]) -> list[str]:
    out: list[str] = []
    for item in expectations:
        kw = item["kwargs"]
        out += [kw[k] for k in ("column", "column_A", "column_B") if isinstance(kw.get(k), str)]
        out += [c for c in kw.get("column_list") or () if isinstance(c, str)]
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
    "rows_duplicate", "raw_rows", "quarantined_share", "batch_quarantined_share",
)


def check_columns(suite: SuiteFile, feed: Feed) -> None:
    """Every column the suite names exists in its asset: a typo fails before any query runs."""
    for asset, known in (("rows", rows_columns(feed)), ("load_files", LOAD_FILES_COLUMNS)):
        unknown = [c for c in referenced_columns(suite.for_asset(asset)) if c not in known]
        if unknown:
            raise CeiError(f"quality suite {suite.path.name}: the {asset} asset has no column {', '.join(unknown)}")


def load_files_query(feed: Feed, ids: list[int]) -> str:
    """The ledger rows of the batches (LOAD_FILES_COLUMNS): one per file, with its quarantined
    share, the share over all the batches (same value on every row) and the rows actually
    present in raw for it."""
    raw = _qualified(cfg.RAW, feed.table)
    return (
        "select f.file_id, f.file_name, f.delivery_date, f.status, f.rows_read, f.rows_loaded,"
        " f.rows_quarantined, f.rows_duplicate,"
        f" (select count(*) from {raw} r where r.load_file_id = f.file_id) as raw_rows,"
        " round(f.rows_quarantined::numeric / nullif(f.rows_read, 0), 4)::float8 as quarantined_share,"
        " coalesce(round(sum(f.rows_quarantined) over ()::numeric"
        " / nullif(sum(f.rows_read) over (), 0), 4), 0)::float8 as batch_quarantined_share"
        f" from {_qualified(cfg.META, 'load_files')} f where f.file_id in ({_in_list(ids)})"
    )


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


def expectation_id(conf: Any) -> str:
    """`type(columns)`, with `load_files.` before ledger columns: the name recorded and reported."""
    kw = conf.kwargs
    prefix = "load_files." if conf.meta.get("asset") == "load_files" else ""
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
    elif lo is not None or hi is not None:
        column = kw.get("column")
        subject = "row count" if "row_count" in t else column or "value"
        for stat in ("mean", "max", "min", "median", "sum", "stdev"):
            if t.startswith(f"expect_column_{stat}_"):
                subject = f"{stat}({column})"
        if lo is not None and hi is not None:
            text = f"{_short(lo)} <= {subject} <= {_short(hi)}"
        else:
            text = f"{subject} >= {_short(lo)}" if lo is not None else f"{subject} <= {_short(hi)}"
        if t.startswith("expect_column_values_"):
            text += " or null"
    else:
        text = ", ".join(f"{k}={_short(v)}" for k, v in kw.items() if k not in ("column", "batch_id"))
    if kw.get("mostly") not in (None, 1, 1.0):
        text += f" for at least {kw['mostly']:.0%} of rows"
    return _clip(text)


def observed_text(res: Any) -> str:
    error = _error_message(res.exception_info)
    if error is not None:
        return _clip("error: " + error)
    r = res.result or {}
    if "observed_value" in r:
        return _clip(_short(r["observed_value"], _OBSERVED_MAX))
    if "unexpected_count" in r or "element_count" in r:
        n, bad = r.get("element_count") or 0, r.get("unexpected_count") or 0
        unit = "files" if res.expectation_config.meta.get("asset") == "load_files" else "rows"
        text = f"{bad} of {n} {unit}"
        if bad and n:
            text += f" ({bad / n:.2%})"
        samples = [_short(v) for v in (r.get("partial_unexpected_list") or []) if v is not None]
        index = r.get("partial_unexpected_index_list") or []
        if index and isinstance(index[0], dict):
            samples = [_locate(i) for i in index[:_SAMPLES]]
        if bad and samples:
            text += ", e.g. " + "; ".join(dict.fromkeys(samples[:_SAMPLES]))
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


def _locate(row: Mapping[str, Any]) -> str:
    """`file 12 row 37: 投拆` from an unexpected-index entry."""
    where = []
    if "load_file_id" in row:
        where.append(f"file {row['load_file_id']}")
    if "source_row" in row:
        where.append(f"row {row['source_row']}")
    if "file_name" in row:
        where.append(str(row["file_name"]))
    value = [_short(v) for k, v in row.items() if k not in ("load_file_id", "source_row", "file_name")]
    return " ".join(where) + (": " + ", ".join(value) if value else "")


# ---------------------------------------------------------------------------------------------
# Running the suite


@dataclass(frozen=True)
class Outcome:
    expectation: str
    description: str
    severity: str
    success: bool
    observed: str
    expected: str

    def brief(self) -> dict[str, str]:
        return {
            "expectation": self.expectation,
            "description": self.description,
            "observed": self.observed,
            "expected": self.expected,
        }


# Columns that locate an unexpected row or file for the steward, per asset.
_INDEX_COLUMNS = {"rows": ["load_file_id", "source_row"], "load_files": ["file_name"]}


def _quiet_context(runtime_environment: dict[str, str]):
    """An in-memory GX context with progress bars off and nothing written to disk."""
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
    return gx.get_context(mode="ephemeral", project_config=config, runtime_environment=runtime_environment)


def _run_gx(url: str, feed: Feed, suite: SuiteFile, ids: list[int]) -> list[Outcome]:
    import great_expectations as gx
    from sqlalchemy.engine import make_url

    sa_url = sqlalchemy_url(url)
    context = _quiet_context({_URL_VARIABLE: sa_url})
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if "options" not in make_url(sa_url).query:  # the URL's own options win
        # Unexpected timestamps are quoted in the platform's zone, as everywhere else.
        connect_args["options"] = f"-c TimeZone={cfg.LOCAL_TZ.key}"
    # ConfigStr: pydantic's PostgresDsn rejects socket URLs (no host), and the password stays out
    # of the datasource's config and repr.
    source = context.data_sources.add_postgres(
        name="warehouse",
        connection_string="${" + _URL_VARIABLE + "}",
        kwargs={"connect_args": connect_args},
    )
    queries = {
        "rows": rows_query(feed, ids, referenced_columns(suite.for_asset("rows"))),
        "load_files": load_files_query(feed, ids),
    }
    outcomes: list[Outcome] = []
    try:
        for asset_name, query in queries.items():
            expectations = _gx_expectations(suite, asset_name)
            if not expectations:
                continue
            asset = source.add_query_asset(name=f"{suite.name}.{asset_name}", query=query)
            batch = asset.add_batch_definition_whole_table(name="batches")
            gx_suite = context.suites.add(gx.ExpectationSuite(name=f"{suite.name}.{asset_name}"))
            for expectation in expectations:
                gx_suite.add_expectation(expectation)
            if len(gx_suite.expectations) != len(expectations):
                raise CeiError(f"quality suite {suite.path.name}: two {asset_name} expectations are the same")
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite.name}.{asset_name}", data=batch, suite=gx_suite)
            )
            result = definition.run(
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": _SAMPLES,
                    "unexpected_index_column_names": _INDEX_COLUMNS[asset_name],
                }
            )
            for res in result.results:
                conf = res.expectation_config
                outcomes.append(
                    Outcome(
                        expectation=expectation_id(conf),
                        description=conf.description or "",
                        severity=getattr(conf.severity, "value", str(conf.severity)),
                        success=bool(res.success),
                        observed=observed_text(res),
                        expected=expected_text(conf),
                    )
                )
    finally:
        _dispose(source)
    return outcomes


def _dispose(source: Any) -> None:
    """Close the connections GX pooled: the datasource's engine and its execution engine's."""
    for get in (lambda: source.get_execution_engine().engine, source.get_engine):
        try:
            get().dispose()
        except Exception:  # best effort: never hide the validation's own outcome
            log.debug("could not dispose a GX engine", exc_info=True)


# ---------------------------------------------------------------------------------------------
# The gate


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


def _record(conn: psycopg.Connection, run_id: int, suite: str, feed: str, outcomes: list[Outcome]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into meta.quality_results"
            " (run_id, suite, target, expectation, severity, success, observed, expected)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_id, suite, feed, o.expectation, o.severity, o.success, o.observed, o.expected)
                for o in outcomes
            ],
        )


def gate_message(feed: str, failed: list[Outcome]) -> str:
    """One line for the data steward: the feed, the (first) failed critical expectation, what
    was observed and what was expected, and how many more failed."""
    first = failed[0]
    what = f"{first.description} [{first.expectation}]" if first.description else first.expectation
    text = (
        f"quality gate failed for feed {feed}: {what}: observed {first.observed}; expected {first.expected}"
    )
    if len(failed) > 1:
        text += f" (and {len(failed) - 1} more critical: {', '.join(o.expectation for o in failed[1:])})"
    return " ".join(text.splitlines())  # one line, whatever the data contained


def validate_feed_batches(conn_url: str, run_id: int, feed: str, file_ids: list[int]) -> dict:
    """Validate the raw rows of `file_ids` (batches of `feed` in meta.load_files) with the suite
    `expectations/raw_<feed>.json`, inside PostgreSQL, and record every result in
    meta.quality_results under `run_id`.

    Returns `{suite, feed, evaluated, failed_critical, failed_warning, success}` (plus `files`,
    `seconds`; `note` when there was nothing to validate). Raises GateFailed, after recording,
    when a critical expectation failed."""
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
    started = time.monotonic()
    with _connect(conn_url) as conn:
        _check_files(conn, declared, ids)
        conn.rollback()  # hold no snapshot or locks while GX queries on its own connections
        with warnings.catch_warnings():
            # GX's own notices (deprecations, datasource hints) would only clutter task logs.
            warnings.filterwarnings("ignore", module=r"great_expectations(\.|$)")
            outcomes = _run_gx(conn_url, declared, suite, ids)
        _record(conn, run_id, suite.name, feed, outcomes)

    failed_critical = [o for o in outcomes if not o.success and o.severity == "critical"]
    failed_warning = [o for o in outcomes if not o.success and o.severity != "critical"]
    summary.update(
        evaluated=len(outcomes),
        failed_critical=[o.brief() for o in failed_critical],
        failed_warning=[o.brief() for o in failed_warning],
        success=not failed_critical,
        seconds=round(time.monotonic() - started, 2),
    )
    for o in failed_warning:
        log.warning("%s quality warning: %s: observed %s; expected %s",
                    feed, o.expectation, o.observed, o.expected)
    log.info(
        "%s: %d expectations on %d file(s) in %.1fs, %d critical and %d warning failed",
        feed, len(outcomes), len(ids), summary["seconds"], len(failed_critical), len(failed_warning),
    )
    if failed_critical:
        raise GateFailed(gate_message(feed, failed_critical))
    return summary
