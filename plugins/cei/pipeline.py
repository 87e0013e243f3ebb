"""The nightly pipeline's steps. The DAG's tasks and the `cei` command both call these.

start → ingest → gate_feeds (Great Expectations on the batches just loaded) → build (dbt, into
the build schema `marts__build`) → gate_marts (Great Expectations on the built marts) → publish
(swap the audited build in as `marts`, one transaction) → finish. This is write–audit–publish:
analysts and exports read `marts`, which only a run whose gates passed replaces; a run that
fails anywhere before publish leaves the previous night's marts published and readable.

Each step takes the run id and reads what it needs from `meta.pipeline_runs`, so the steps
pass nothing but small summaries between them. A step that fails marks the run failed with
its one-line message (`<step>: <reason>`, what `cei run` prints) before re-raising.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from time import monotonic, sleep

import psycopg

from cei import pii, reference, warehouse
from cei import settings as cfg
from cei.errors import CeiError, WarehouseError
from cei.feeds import FEEDS
from cei.ingest.load import FileResult, delivery_files, ingest_files
from cei.ingest.rows import RowContext

log = logging.getLogger(__name__)

RECORD_RETRY_S = 30  # how long a step that lost the warehouse keeps trying to record its failure


def as_of(delivery_date: date) -> datetime:
    """indicators.md: a run for delivery date D is as of D 23:59:59 local time."""
    return datetime.combine(delivery_date, time(23, 59, 59), cfg.LOCAL_TZ)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CeiError(f"bad date {text!r}: expected YYYY-MM-DD") from None


def delivery_dates_present(landing: Path) -> list[date]:
    """Every <landing>/<feed>/<YYYY-MM-DD> folder's date, in order (`cei run --all`)."""
    found = set()
    for feed in FEEDS:
        for folder in (landing / feed).glob("*"):
            try:
                found.add(date.fromisoformat(folder.name))
            except ValueError:
                log.warning("ignored folder %s: not a YYYY-MM-DD delivery date", folder)
    return sorted(found)


@contextmanager
def _step(run_id: int, name: str) -> Iterator[None]:
    # A retried step resumes its run: the failure its earlier try recorded no longer stands (a
    # failure of another step, say another feed's gate, does).
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("update meta.pipeline_runs set status = 'running', finished_at = null, message = null"
                     " where run_id = %s and status = 'failed' and starts_with(message, %s)", (run_id, f"{name}: "))
    try:
        yield
    except Exception as exc:
        error = exc
        if isinstance(exc, psycopg.OperationalError):
            # Whatever the step committed before is whole; a re-run completes it.
            error = warehouse.lost_connection(exc)
        message = str(error) if isinstance(error, CeiError) else f"{type(error).__name__}: {error}"
        message = " ".join(message.split())
        # A lost or refused connection is often a restarting server: give it a moment to come back.
        deadline = monotonic() + (RECORD_RETRY_S if isinstance(error, WarehouseError) else 0)
        while True:
            try:
                with warehouse.connect(autocommit=True) as conn:
                    conn.execute(
                        "update meta.pipeline_runs set status = 'failed', finished_at = now(), message = %s"
                        " where run_id = %s",
                        (f"{name}: {message}", run_id),
                    )
                break
            except (CeiError, psycopg.Error) as recording:
                if monotonic() >= deadline:
                    log.warning("run %s: could not record the failure of %s (%s)", run_id, name, recording)
                    break
                sleep(1)
        if error is exc:
            raise
        raise error from exc


def start(landing: str, delivery_dates: list[str], airflow_run_id: str | None = None,
          landing_note: str | None = None) -> int:
    """Open a run; `landing_note`: what the landing sensor found missing or unfinished."""
    root = Path(landing)
    if not root.is_dir():
        raise CeiError(f"landing folder {landing} does not exist")
    dates = sorted({parse_date(d) for d in delivery_dates})
    if not dates:
        raise CeiError(f"no delivery dates to run in {landing}")
    with warehouse.connect(autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        return conn.execute(
            "insert into meta.pipeline_runs (landing, delivery_dates, as_of, airflow_run_id, landing_note)"
            " values (%s, %s, %s, %s, %s) returning run_id",
            (str(root.resolve()), dates, as_of(dates[-1]), airflow_run_id, landing_note),
        ).fetchone()[0]


def _run(conn, run_id: int) -> tuple[Path, list[date], datetime]:
    landing, dates, run_as_of = conn.execute(
        "select landing, delivery_dates, as_of from meta.pipeline_runs where run_id = %s", (run_id,)
    ).fetchone()
    return Path(landing), dates, run_as_of


def ingest(run_id: int, feed: str | None = None) -> dict:
    """Every file of every feed (or of `feed` only: the nightly DAG loads the feeds side by side,
    each with its own spool folder) for the run's delivery dates, in date order."""
    s = cfg.load()
    feeds = [FEEDS[feed]] if feed else list(FEEDS.values())
    name = f"ingest {feed}" if feed else "ingest"
    with _step(run_id, name), warehouse.connect(s, autocommit=True) as conn:
        landing, dates, _ = _run(conn, run_id)
        ctx = RowContext(reference.valid_region_codes(), pii.resolve_secret(s))
        files = [(f, day, path) for day in dates for f in feeds for path in delivery_files(landing, f, day)]
        with warehouse.exclusive(conn, name, feed=feed):
            results = ingest_files(conn, run_id, landing, files, ctx, s,
                                   spool=s.spool_dir / feed if feed else None)
        return summarise_files(results)


def summarise_files(results: list[FileResult]) -> dict:
    fresh = [r for r in results if not r.already_processed]
    per_feed: dict[str, dict[str, int]] = {}
    for r in fresh:
        t = per_feed.setdefault(r.feed, dict.fromkeys(
            ("files", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_warned"), 0))
        t["files"] += 1
        for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_warned"):
            t[k] += getattr(r, k)
    return {
        "files_processed": len(fresh),
        "files_already_processed": len(results) - len(fresh),
        "per_feed": per_feed,
        "rejected": [r.reason for r in fresh if r.status == "rejected"],
    }


def gate_feeds(run_id: int, feed: str | None = None) -> dict:
    """Great Expectations on every loaded batch (of every feed, or of `feed`) no gate has passed
    yet: this run's, and any an earlier run loaded but failed to gate. Any critical failure stops
    the run."""
    from cei import quality  # GX is heavy: imported only when the gate runs

    s = cfg.load()
    with _step(run_id, f"gate_feeds {feed}" if feed else "gate_feeds"):
        url = warehouse.database_url(s)
        with warehouse.connect(s) as conn:
            loaded = conn.execute(
                "select feed, array_agg(file_id order by file_id) from meta.load_files"
                " where status = 'loaded' and gated_run is null and (%s::text is null or feed = %s) group by feed",
                (feed, feed),
            ).fetchall()
        for feed, _ in loaded:
            suite = cfg.EXPECTATIONS_DIR / f"raw_{feed}.json"
            if not suite.exists():  # an ungated feed must never reach the marts
                raise CeiError(f"no quality suite for feed {feed}: expected {suite}")
        summaries = quality.validate_feeds(url, run_id, dict(loaded)) if loaded else {}
        with warehouse.connect(s) as conn:
            conn.execute("update meta.load_files set gated_run = %s where file_id = any(%s)",
                         (run_id, [i for _, ids in loaded for i in ids]))
            conn.commit()
        return summaries


def build(run_id: int) -> dict:
    """`dbt build` (seeds, models, tests) with the marts written into the build schema
    (warehouse.MARTS_BUILD: readied first, keeping the fact tables dbt brings up to date
    incrementally, and stamped with the run after), then the index's audit beside them
    (mart_cei_audit: statistics dbt cannot compute): nothing analysts read changes here. dbt's
    macro generate_schema_name reads CEI_MARTS_SCHEMA."""
    from cei import transform
    from cei.index_audit.mart import write_audit

    s = cfg.load()
    with _step(run_id, "build"), warehouse.connect(s, autocommit=True) as conn:
        _, _, run_as_of = _run(conn, run_id)
        with warehouse.exclusive(conn, "dbt build"):
            started = warehouse.prepare_build(conn)
            summary = transform.run_dbt(["build"], as_of=run_as_of, marts_schema=warehouse.MARTS_BUILD, s=s)
            audit_rows = write_audit(conn, warehouse.MARTS_BUILD)
            warehouse.mark_build(conn, run_id, started)
        return {**summary, "schema": warehouse.MARTS_BUILD, "audit_rows": audit_rows}


def gate_marts(run_id: int) -> dict:
    """Great Expectations on the marts this run built (`expectations/marts.*.json`), in the
    build schema; any critical failure stops the run before publish."""
    from cei import quality

    s = cfg.load()
    with _step(run_id, "gate_marts"):
        with warehouse.connect(s) as conn:
            warehouse.check_build(conn, run_id)
        return quality.validate_marts(warehouse.database_url(s), run_id, warehouse.MARTS_BUILD)


def publish(run_id: int) -> dict:
    """Swap the audited build in as `marts` (warehouse.publish_marts: one transaction)."""
    s = cfg.load()
    with _step(run_id, "publish"), warehouse.connect(s, autocommit=True) as conn:
        _, _, run_as_of = _run(conn, run_id)
        with warehouse.exclusive(conn, "publish"):
            published = warehouse.publish_marts(conn, run_id, run_as_of)
        log.info("published %d marts of run %s (as of %s)", len(published["published"]), run_id, run_as_of)
        return published


def export(run_id: int) -> dict:
    """Refresh the assessment export of every period this run's data touched (indicators.md);
    a final period is never overwritten: a changed figure writes a revision."""
    from cei.export import refresh_exports

    s = cfg.load()
    with _step(run_id, "export"):
        results = refresh_exports(run_id, s.export_dir)
        return {
            "out_dir": str(s.export_dir),
            "periods": {r.period: f"{r.status} {r.action}" for r in results},
        }


def report(run_id: int) -> dict:
    """The monthly 12315 report of each month this run closes or turns final (cei.report); a
    missing PDF printer is a warning in the result, not a failure."""
    from cei import report as monthly

    out_dir = cfg.load().report_dir
    with _step(run_id, "report"), warehouse.connect(autocommit=True) as conn:
        written = [monthly.write_report(conn, p.text, out_dir, run_id=run_id)
                   for p in monthly.months_due(conn, run_id)]
    return {"out_dir": str(out_dir), "reports": {r.period: r.pdf_problem or "html and pdf" for r in written}}


def finish(run_id: int) -> dict:
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update meta.pipeline_runs set status = 'succeeded', finished_at = now() where run_id = %s",
            (run_id,),
        )
    return {"run_id": run_id, "status": "succeeded"}
