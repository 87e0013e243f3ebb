"""The two gates: the feeds gate on what was loaded (after ingestion, before dbt) and the marts
gate on what is about to be published (after dbt, before the build is swapped in). Each runs
one checkpoint (cei.quality.checkpoint) and raises GateFailed, after recording, when a critical
expectation failed; warnings are recorded and logged, and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import psycopg

from cei import settings as cfg
from cei.errors import CeiError, GateFailed
from cei.feeds import FEEDS, Feed
from cei.quality.assets import (
    RAW_INDEX,
    RAW_UNITS,
    Check,
    check_columns,
    file_ids_of,
    load_files_query,
    marts_query,
    referenced_columns,
    rows_query,
    volume_query,
)
from cei.quality.checkpoint import docs_locations, run_checks
from cei.quality.outcomes import Outcome, SuiteResult, gate_message
from cei.quality.record import connect, write
from cei.quality.suites import TABLE_ASSET, load_suite, marts_suite_paths, suite_path

log = logging.getLogger(__name__)

Docs = tuple[Path, Path] | bool | None  # True: the site under CEI_HOME; a (site, store) pair; None/False: none


def _where(docs: Docs) -> tuple[Path, Path] | None:
    return (docs_locations() if docs is True else docs) or None


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


def _grouped(results: dict[str, SuiteResult], outcomes: Iterable[Outcome]) -> None:
    for o in outcomes:
        results[o.suite].outcomes.append(o)


def validate_feeds(conn_url: str, run_id: int, batches: Mapping[str, Iterable[int]], *, docs: Docs = True) -> dict:
    """The feeds gate: validate the raw rows of each feed's files (`batches`: feed → file ids in
    meta.load_files) with `expectations/raw_<feed>.json`, in one checkpoint, and record every
    result under `run_id`. Returns per feed `{suite, feed, files, evaluated, failed_critical,
    failed_warning, success, seconds, data_docs}` (plus `note` when there was nothing to
    validate or nothing to compare with). Raises GateFailed, after recording, naming every feed
    with a failed critical expectation."""
    started = time.monotonic()
    summaries: dict[str, dict[str, Any]] = {}
    checks: list[Check] = []
    results: dict[str, SuiteResult] = {}
    notes: dict[str, str] = {}
    with connect(conn_url) as conn:
        for feed, file_ids in batches.items():
            if feed not in FEEDS:
                raise ValueError(f"unknown feed {feed!r}; one of {', '.join(FEEDS)}")
            declared, ids = FEEDS[feed], file_ids_of(file_ids)
            summaries[feed] = {"suite": f"raw_{feed}", "feed": feed, "files": len(ids), "evaluated": 0,
                               "failed_critical": [], "failed_warning": [], "success": True}
            if not ids:
                log.info("%s: no batches to validate; nothing recorded", feed)
                summaries[feed]["note"] = "nothing to validate: no batches were loaded"
                continue
            suite = load_suite(suite_path(feed))
            check_columns(suite, declared)
            _check_files(conn, declared, ids)
            note = _no_history_note(conn, declared, ids) if suite.for_asset("volume") else None
            if note:
                notes[suite.name] = summaries[feed]["note"] = note
            results[suite.name] = SuiteResult(suite.name, feed, note=note)
            queries = {
                "rows": rows_query(declared, ids, referenced_columns(suite.for_asset("rows"))),
                "load_files": load_files_query(declared, ids),
                "volume": volume_query(declared, ids),
            }
            checks += [Check(suite, asset, feed, query=query, index=RAW_INDEX[asset], unit=RAW_UNITS[asset])
                       for asset, query in queries.items()]
        conn.rollback()  # hold no snapshot or locks while GX queries on its own connections
    outcomes, index_page = run_checks("feeds", conn_url, run_id, checks, docs=_where(docs), notes=notes)
    _grouped(results, outcomes)

    seconds = round(time.monotonic() - started, 2)
    failures = []
    for result in results.values():
        summaries[result.target].update(
            evaluated=len(result.outcomes),
            failed_critical=[o.brief() for o in result.failed_critical],
            failed_warning=[o.brief() for o in result.failed_warning],
            success=not result.failed_critical,
            seconds=seconds,
            data_docs=index_page,
        )
        _log_outcomes(f"{result.target} ({summaries[result.target]['files']} file(s))", [result], seconds)
        if result.failed_critical:
            failures.append(gate_message(result.target, result.failed_critical))
    if failures:
        raise GateFailed("; ".join(failures))
    return summaries


def validate_feed_batches(conn_url: str, run_id: int, feed: str, file_ids: list[int], *, docs: Docs = True) -> dict:
    """The feeds gate on one feed's files: `validate_feeds` with `{feed: file_ids}`, returning
    that feed's summary."""
    return validate_feeds(conn_url, run_id, {feed: file_ids}, docs=docs)[feed]


def _tables_in(conn: psycopg.Connection, schema: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')",
            (schema,),
        )
    }


def validate_marts(conn_url: str, run_id: int, schema: str, *, directory: Path | None = None,
                   docs: Docs = True) -> dict:
    """The marts gate: validate the marts dbt built in `schema` (the build schema, before
    publishing) with every `expectations/marts.<table>.json`, inside PostgreSQL; record the
    results under `run_id` with target `marts.<table>`, the name analysts will read.

    A suite whose table is absent fails critically, unless the suite is `optional` (a mart of
    the contract that dbt does not build yet): then it is skipped and the skip recorded.
    Returns `{gate, schema, suites: {suite: {target, status, evaluated, note}}, evaluated,
    failed_critical, failed_warning, skipped, success, seconds, data_docs}`; raises GateFailed,
    after recording, when a critical expectation failed."""
    suites = [load_suite(p) for p in marts_suite_paths(directory)]
    if not suites:
        raise CeiError(f"no marts suites (marts.<table>.json) in {directory or cfg.EXPECTATIONS_DIR}")
    started = time.monotonic()
    results: dict[str, SuiteResult] = {}
    checks: list[Check] = []
    with connect(conn_url) as conn:
        present = _tables_in(conn, schema)
        for suite in suites:
            target = f"{cfg.MARTS}.{suite.target}"
            result = results[suite.name] = SuiteResult(suite.name, target)
            if suite.target not in present:
                if suite.optional:
                    result.skipped = True
                    result.note = f"not run: dbt built no {suite.target} in {schema} (optional until the model exists)"
                else:
                    result.outcomes.append(Outcome(
                        "table_exists", f"{target} is built", "critical", False,
                        f"no table {suite.target} in {schema}", "the table built by dbt", suite.name, target))
                continue
            for asset in suite.asset_names:
                if asset == TABLE_ASSET:
                    checks.append(Check(suite, asset, target, table=(schema, suite.target), index=suite.index))
                else:
                    spec = suite.assets[asset]
                    query = marts_query(suite, asset, schema)
                    checks.append(Check(suite, asset, target, query=query, index=spec.index, unit=spec.unit))
        conn.rollback()
        # What GX does not validate (a skipped suite, a missing table) is recorded here; the rest
        # by the checkpoint's action.
        write(conn, run_id, "marts", [r for r in results.values() if r.skipped or r.outcomes])
    outcomes, index_page = run_checks("marts", conn_url, run_id, checks, docs=_where(docs))
    _grouped(results, outcomes)

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
