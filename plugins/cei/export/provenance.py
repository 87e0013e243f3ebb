"""Where an export's figures come from: the pipeline run (and so the as-of) the marts were built
by, and the load batches (`meta.load_files`) whose rows fed the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError
from cei.export.periods import Period
from cei.feeds import FEEDS, Kind

# The business dates of each feed that place a row in a month (indicators.md: registered /
# accepted / closed in P, filed / closed in P, report month in P, sampled in P).
BUSINESS_DATES: dict[str, tuple[str, ...]] = {
    "hotline": ("registered_at", "accepted_at", "closed_at"),
    "odr": ("filed_at", "closed_at"),
    "returns": ("report_month",),
    "inspection": ("sampled_on",),
}


@dataclass(frozen=True)
class AsOf:
    run_id: int
    as_of: datetime  # local time (Asia/Shanghai)

    @property
    def date(self) -> date:
        return self.as_of.date()


@dataclass(frozen=True)
class SourceFile:
    file_id: int
    run_id: int
    feed: str
    delivery_date: date
    file_name: str
    sha256: str | None
    rows_loaded: int

    def as_json(self) -> dict:
        return {
            "file_id": self.file_id, "run_id": self.run_id, "feed": self.feed,
            "delivery_date": self.delivery_date.isoformat(), "file_name": self.file_name,
            "sha256": self.sha256, "rows_loaded": self.rows_loaded,
        }


def _last_publication(conn: psycopg.Connection) -> tuple[int, datetime] | None:
    """The run and as-of of the marts analysts read now, when the pipeline records publications
    (meta.marts_publications, write–audit–publish); None when it does not."""
    if not conn.execute("select to_regclass('meta.marts_publications') is not null").fetchone()[0]:
        return None
    return conn.execute(
        "select run_id, as_of from meta.marts_publications order by published_at desc, run_id desc limit 1"
    ).fetchone()


def as_of_run(conn: psycopg.Connection, run_id: int | None = None) -> AsOf:
    """The pipeline run the marts were built by, and its as-of.

    Without `run_id` (`cei export`): the run that last published the marts when the warehouse
    records publications, else the last successful run (by finish time). With `run_id` (the
    nightly refresh, which may run before its run is marked succeeded): that run — refused if it
    failed, or if the marts were last published by another run.
    """
    published = _last_publication(conn)
    if run_id is not None:
        row = conn.execute("select status, as_of from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone()
        if row is None:
            raise CeiError(f"no pipeline run {run_id} in meta.pipeline_runs")
        if row[0] == "failed":
            raise CeiError(f"pipeline run {run_id} failed: its figures are not exported")
        if published is not None and published[0] != run_id:
            raise CeiError(f"the marts were last published by run {published[0]}, not run {run_id}: nothing exported")
        return AsOf(run_id, row[1].astimezone(cfg.LOCAL_TZ))
    if published is not None:
        return AsOf(published[0], published[1].astimezone(cfg.LOCAL_TZ))
    row = conn.execute(
        "select run_id, as_of from meta.pipeline_runs where status = 'succeeded'"
        " order by finished_at desc nulls last, run_id desc limit 1"
    ).fetchone()
    if row is None:
        raise CeiError("no successful pipeline run yet, so no as-of to export at: run `cei run` first")
    return AsOf(row[0], row[1].astimezone(cfg.LOCAL_TZ))


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(0), cfg.LOCAL_TZ)


def _in_range(column: str, kind: Kind) -> sql.Composed:
    """`column` falls in [start, end] (local days): a timestamp by its local time, a date as is."""
    col = sql.Identifier(column)
    if kind is Kind.TIMESTAMP:
        return sql.SQL("({c} >= %(start_ts)s and {c} < %(end_ts)s)").format(c=col)
    return sql.SQL("({c} between %(start)s and %(end)s)").format(c=col)


def source_files(conn: psycopg.Connection, period: Period, upto_run: int) -> list[SourceFile]:
    """Loaded files (of runs up to `upto_run`, whose data the marts were built from) holding at
    least one raw row — any version — with a business date in the period."""
    args = {
        "start": period.start, "end": period.end,
        "start_ts": _local_start(period.start), "end_ts": _local_start(period.end + timedelta(days=1)),
    }
    ids: set[int] = set()
    for name, columns in BUSINESS_DATES.items():
        feed = FEEDS[name]
        where = sql.SQL(" or ").join(_in_range(c, feed.column(c).kind) for c in columns)
        ids.update(
            r[0] for r in conn.execute(
                sql.SQL("select distinct load_file_id from {t} where {w}").format(
                    t=sql.Identifier(cfg.RAW, feed.table), w=where
                ),
                args,
            )
        )
    if not ids:
        return []
    rows = conn.execute(
        "select file_id, run_id, feed, delivery_date, file_name, sha256, rows_loaded from meta.load_files"
        " where file_id = any(%s) and status = 'loaded' and run_id <= %s"
        " order by feed, delivery_date, file_name, file_id",
        (sorted(ids), upto_run),
    ).fetchall()
    return [SourceFile(*r) for r in rows]
