"""Where a gate's results go: `meta.quality_results` (one row per expectation) and
`meta.quality_gates` (one row per suite), written by a GX checkpoint action, `RecordResults`.

A checkpoint of the counts pass records every result; the samples pass (cei.quality.checkpoint)
records only the expectations it ran again, replacing their rows: same success, an observed
text that now quotes the unexpected values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import psycopg
from great_expectations.checkpoint import UpdateDataDocsAction, ValidationAction
from great_expectations.checkpoint.checkpoint import CheckpointResult
from great_expectations.compatibility.pydantic import Field

from cei.errors import WarehouseError
from cei.quality.outcomes import Outcome, SuiteResult, outcome_of

log = logging.getLogger(__name__)

URL_VARIABLE = "CEI_GX_WAREHOUSE_URL"  # the GX runtime variable holding the warehouse URL


def connect(url: str) -> psycopg.Connection:
    from cei.warehouse import describe

    scheme, sep, rest = url.partition("://")  # a SQLAlchemy URL names its driver: libpq does not
    try:
        return psycopg.connect(scheme.split("+", 1)[0] + sep + rest if sep else url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"cannot connect to the warehouse at {describe(url)}: {reason}") from None


def outcomes_of(result: CheckpointResult, labels: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Outcome]]:
    """Per validation (`<suite>.<asset>`), its Outcomes in the order the suite file lists them.
    `labels[name]`: the suite file, target, unit and index columns, and the expectations' ids in
    file order (GX returns results grouped by the metrics it computed)."""
    out: dict[str, list[Outcome]] = {}
    for validation in result.run_results.values():
        label = labels[validation.suite_name]
        position = {e: i for i, e in enumerate(label["order"])}
        ordered = sorted(validation.results, key=lambda r: position[r.expectation_config.id])
        out[validation.suite_name] = [
            outcome_of(r, label["suite"], label["target"], label["unit"], label["index"]) for r in ordered
        ]
    return out


def write(conn: psycopg.Connection, run_id: int, gate: str, results: Iterable[SuiteResult]) -> None:
    results = list(results)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into meta.quality_results"
            " (run_id, suite, target, expectation, severity, success, observed, expected)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, o.suite, o.target, o.expectation, o.severity, o.success, o.observed, o.expected)
             for r in results for o in r.outcomes],
        )
        cur.executemany(
            "insert into meta.quality_gates (run_id, gate, suite, target, status, evaluated,"
            " failed_critical, failed_warning, note) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, gate, r.suite, r.target, r.status, len(r.outcomes), len(r.failed_critical),
              len(r.failed_warning), r.note) for r in results],
        )


def _replace(conn: psycopg.Connection, run_id: int, outcomes: list[Outcome]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        for o in outcomes:
            cur.execute(
                "update meta.quality_results set observed = %s"
                " where run_id = %s and suite = %s and target = %s and expectation = %s and severity = %s",
                (o.observed, run_id, o.suite, o.target, o.expectation, o.severity),
            )


class RecordResults(ValidationAction):
    """Record a checkpoint run's results under the platform's run id. `labels` as `outcomes_of`;
    `notes` per suite file (e.g. a first night with no volume history), kept in quality_gates."""

    type: Literal["cei_record_results"] = "cei_record_results"
    run_id: int
    gate: str
    labels: dict[str, dict[str, Any]]
    notes: dict[str, str] = Field(default_factory=dict)
    samples: bool = False

    def run(self, checkpoint_result: CheckpointResult, action_context: Any = None) -> dict:
        outcomes = [o for found in outcomes_of(checkpoint_result, self.labels).values() for o in found]
        # The warehouse the checkpoint validated: from the context's runtime environment, where
        # the URL (and its password) stays out of every stored config.
        url = self._resolve_context().context.config_provider.substitute_config("${" + URL_VARIABLE + "}")
        with connect(url) as conn:
            if self.samples:
                _replace(conn, self.run_id, outcomes)
            else:
                suites: dict[str, SuiteResult] = {}
                for o in outcomes:
                    suites.setdefault(o.suite, SuiteResult(o.suite, o.target, note=self.notes.get(o.suite)))
                    suites[o.suite].outcomes.append(o)
                write(conn, self.run_id, self.gate, suites.values())
        return {"recorded": len(outcomes)}


class UpdateDataDocsQuietly(UpdateDataDocsAction):
    """GX's UpdateDataDocsAction with two differences: the site is built once for all of the
    checkpoint's validations (GX's rebuilds the site's index after each one: a gate validates a
    dozen), and a site it cannot write is logged, not raised: the results are in meta whatever
    happens to their rendering, and a gate must not fail on it."""

    type: Literal["cei_update_data_docs"] = "cei_update_data_docs"

    def run(self, checkpoint_result: CheckpointResult, action_context: Any = None) -> dict:
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        keys = list(checkpoint_result.run_results)
        suites = {ExpectationSuiteIdentifier(name=r.suite_name) for r in checkpoint_result.run_results.values()}
        try:
            return self._build_data_docs(site_names=self.site_names, resource_identifiers=[*keys, *suites])
        except Exception as exc:
            log.warning("could not update the Data Docs site: %s", exc)
            return {}
