"""Running a gate in Great Expectations: one checkpoint over the gate's validation definitions,
whose actions render the Data Docs and record the results (cei.quality.record).

The context is ephemeral and built from the suite files at run time (they are the source);
validation results are kept on disk and a static Data Docs site declared, so every run adds its
validations to one site. Every metric runs inside PostgreSQL in read-only transactions.

Two passes, because of what GX's unexpected-value samples cost: asked for on every
expectation, each sample query scans every validated row when, as nearly always, nothing is
unexpected (most of a gate's time on a long history). The first checkpoint asks for counts only
(its sample queries carry `LIMIT 0`); only if some expectations found unexpected rows does a
second checkpoint, `<gate>.samples`, run those again to quote up to 20 of them. What stays ours
is what GX has no notion of: the views a query asset is validated through (`CheckViews`) and
how many runs the Data Docs site keeps (`prune_validations`).
"""

from __future__ import annotations

import logging
import re
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cei import settings as cfg
from cei.errors import CeiError
from cei.quality.assets import Check
from cei.quality.outcomes import Outcome
from cei.quality.record import URL_VARIABLE, RecordResults, UpdateDataDocsQuietly, outcomes_of
from cei.quality.suites import gx_expectations

log = logging.getLogger(__name__)
# GX logs every registration and substitution at INFO; Airflow task logs run at INFO.
if logging.getLogger("great_expectations").level == logging.NOTSET:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)

SITE = "cei"  # the Data Docs site's name
SAMPLE_ROWS = 20  # unexpected values (and rows) GX fetches per expectation that found some
DOCS_KEEP_RUNS = 60  # runs whose validations stay in the Data Docs site


def docs_locations(s: cfg.Settings | None = None) -> tuple[Path, Path]:
    """(the static Data Docs site, GX's validation-results store) under CEI_HOME."""
    s = s or cfg.load()
    return s.data_docs_dir, s.gx_results_dir


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


def _context(sa_url: str, docs: tuple[Path, Path] | None) -> Any:
    """An ephemeral GX context, progress bars and analytics off."""
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
        # a site that renders with no network: GX's pages with local styles and scripts
        from cei.quality.data_docs import site_config

        config.data_docs_sites = {SITE: site_config(site)}
    return gx.get_context(mode="ephemeral", project_config=config, runtime_environment={URL_VARIABLE: sa_url})


def _warehouse(context: Any, sa_url: str) -> Any:
    from sqlalchemy.engine import make_url

    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if "options" not in make_url(sa_url).query:  # the URL's own options win
        # Unexpected timestamps are quoted in the platform's zone, as everywhere else; and a
        # suite's SQL can read but never write.
        connect_args["options"] = f"-c TimeZone={cfg.LOCAL_TZ.key} -c default_transaction_read_only=on"
    # ConfigStr: pydantic's PostgresDsn rejects socket URLs (no host), and the password stays out
    # of the datasource's config and repr.
    return context.data_sources.add_postgres(
        name="warehouse", connection_string="${" + URL_VARIABLE + "}", kwargs={"connect_args": connect_args},
    )


def run_checks(gate: str, url: str, run_id: int, checks: list[Check], *, docs: tuple[Path, Path] | None,
               notes: dict[str, str] | None = None) -> tuple[list[Outcome], str | None]:
    """Validate every check in one checkpoint named `gate` and record the results under `run_id`
    (meta.quality_results / quality_gates, with `notes` per suite file). Returns the outcomes, in
    the order of `checks` and of each suite file, and the Data Docs index (or None)."""
    from great_expectations.core.run_identifier import RunIdentifier

    sa_url = sqlalchemy_url(url)
    with warnings.catch_warnings():
        # GX's own notices (deprecations, datasource hints) would only clutter task logs.
        warnings.filterwarnings("ignore", module=r"great_expectations(\.|$)")
        context = _context(sa_url, docs)
        source = _warehouse(context, sa_url)
        views = CheckViews(url)
        try:
            batches, labels = {}, {}
            for check in checks:
                if not check.suite.for_asset(check.asset):
                    continue
                schema, table = check.table or views.add(run_id, check)
                asset = source.add_table_asset(name=check.name, schema_name=schema, table_name=table)
                batches[check.name] = (check, asset.add_batch_definition_whole_table(name="batches"))
            if not batches:
                return [], None
            if docs is not None:
                from cei.quality.data_docs import copy_assets

                prune_validations(*docs, keep=DOCS_KEEP_RUNS)
                copy_assets(docs[0])
            gx_run = RunIdentifier(run_name=f"run-{run_id}", run_time=datetime.now(UTC))
            definitions = []
            for name, (check, batch) in batches.items():
                definition = _definition(context, name, check, batch, gx_expectations(check.suite, check.asset))
                definitions.append(definition)
                labels[name] = _label(check, definition)
            record = RecordResults(name="record", run_id=run_id, gate=gate, labels=labels, notes=notes or {})
            counts = _checkpoint(context, gate, definitions, record, docs,
                                 {"result_format": "SUMMARY", "partial_unexpected_count": 0}).run(run_id=gx_run)
            outcomes = outcomes_of(counts, labels)
            for validation in counts.run_results.values():
                name = validation.suite_name
                found = [i for i, e in enumerate(labels[name]["order"]) if _unexpected(validation, e)]
                if not found:
                    continue
                # The expectations that found unexpected rows run again, in a checkpoint of their
                # own (the columns that locate a row differ per asset), quoting the values.
                check, batch = batches[name]
                fresh = gx_expectations(check.suite, check.asset)  # GX adds an expectation to one suite only
                definition = _definition(context, f"{name}.samples", check, batch, [fresh[i] for i in found])
                labels[definition.name] = _label(check, definition)
                record = RecordResults(name="record", run_id=run_id, gate=gate, labels=labels, samples=True)
                result_format = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS}
                if check.index:
                    result_format["unexpected_index_column_names"] = list(check.index)
                sampled = _checkpoint(context, definition.name, [definition], record, docs,
                                      result_format).run(run_id=gx_run)
                for i, again in zip(found, outcomes_of(sampled, labels)[definition.name], strict=True):
                    outcomes[name][i] = again
        finally:
            _dispose(source)
            views.drop()
    index = context.get_docs_sites_urls(site_names=[SITE])[0]["site_url"] if docs is not None else None
    return [o for name in batches for o in outcomes.get(name, [])], index


def _definition(context: Any, name: str, check: Check, batch: Any, expectations: list) -> Any:
    import great_expectations as gx

    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    if len(suite.expectations) != len(expectations):
        raise CeiError(f"quality suite {check.suite.path.name}: two {check.asset} expectations are the same")
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def _label(check: Check, definition: Any) -> dict[str, Any]:
    return {"suite": check.suite.name, "target": check.target, "unit": check.unit, "index": list(check.index),
            "order": [e.id for e in definition.suite.expectations]}


def _unexpected(validation: Any, expectation_id: str) -> bool:
    """Did the expectation with this (GX) id find unexpected rows?"""
    return any((r.result or {}).get("unexpected_count") for r in validation.results
               if r.expectation_config.id == expectation_id)


def _checkpoint(context: Any, name: str, definitions: list, record: RecordResults,
                docs: tuple[Path, Path] | None, result_format: dict[str, Any]) -> Any:
    import great_expectations as gx

    actions: list = [record] if docs is None else [UpdateDataDocsQuietly(name="data_docs", site_names=[SITE]), record]
    return context.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=definitions, actions=actions,
                                                 result_format=result_format))


class CheckViews:
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


def prune_validations(site: Path, results: Path, keep: int) -> None:
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
