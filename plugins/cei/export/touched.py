"""Which periods a pipeline run could have changed the figures of (the nightly refresh)."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError
from cei.export.periods import with_rollups
from cei.export.provenance import BUSINESS_DATES, business_months, summarise_new_files
from cei.feeds import FEEDS


def months_of_rows(conn: psycopg.Connection, run_id: int) -> set[date]:
    """First days of the months of every business date of the rows the run loaded — and of every
    earlier version of the same business keys, since a new version can move a record out of the
    month it was in (a closing time corrected from March to April changes both).

    The run's own rows: the months the ledger records for its files (summarise_new_files, brought
    up to date here). Earlier versions: the rows of the same keys, looked up by key — only for a
    feed with rows from other runs: a first run over a whole history has none, and the lookup
    would go through every key of it (18 s of a 34 s export at 1.2 M work orders)."""
    with conn.transaction():
        summarise_new_files(conn)
    months = {
        r[0]
        for r in conn.execute(
            "select distinct unnest(business_months) from meta.load_files where run_id = %s and status = 'loaded'",
            (run_id,),
        )
    }
    for name in BUSINESS_DATES:
        feed = FEEDS[name]
        table = sql.Identifier(cfg.RAW, feed.table)
        others = sql.SQL(
            "select exists (select from {t} where load_file_id = any(array("
            " select file_id from meta.load_files where feed = %s and run_id <> %s)))"
        ).format(t=table)
        if not conn.execute(others, (name, run_id)).fetchone()[0]:
            continue
        key = sql.SQL(", ").join(sql.Identifier(k) for k in feed.business_key)
        # `= any(array(…))`, not a join or `in`: PostgreSQL then looks the night's files and keys
        # up by index instead of scanning all of history twice
        query = sql.SQL(
            "select distinct business.month from {t} cross join lateral {months}"
            " where ({key}) = any(array(select ({key}) from {t} where load_file_id = any(array("
            "   select file_id from meta.load_files where run_id = %s and status = 'loaded'))))"
            " and business.month is not null"
        ).format(key=key, t=table, months=business_months(name))
        months.update(r[0] for r in conn.execute(query, (run_id,)))
    return months


def as_of_lookback(s: cfg.Settings | None = None) -> timedelta:
    """How long before an as-of an open record can have been registered and still see its deadline
    pass at that as-of: N working days span at most about 2·N + 14 calendar days, holidays included."""
    s = s or cfg.load()
    n = max(s.deadline_complaint_accept_days, s.deadline_report_verify_days)
    return timedelta(days=2 * n + 14)


def periods_touched(conn: psycopg.Connection, run_id: int) -> list[str]:
    """The month, quarter and year periods whose figures run `run_id` could have changed:

    - the months of the business dates of the rows it loaded (all versions of their keys);
    - the months around the as-of's move since the previous successful run: figures depend on
      the as-of (an open complaint enters a denominator when its deadline passes), so every month
      from (previous as-of − lookback) to this as-of;

    plus their quarters and years; periods starting after the run's as-of are left out.
    Months first, then quarters, then years, each in time order.
    """
    row = conn.execute("select as_of from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone()
    if row is None:
        raise CeiError(f"no pipeline run {run_id} in meta.pipeline_runs")
    as_of = row[0].astimezone(cfg.LOCAL_TZ).date()
    prev = conn.execute(
        "select as_of from meta.pipeline_runs where status = 'succeeded' and run_id < %s"
        " order by run_id desc limit 1",
        (run_id,),
    ).fetchone()
    prev_as_of = prev[0].astimezone(cfg.LOCAL_TZ).date() if prev else as_of

    months = months_of_rows(conn, run_id)
    day, last = min(prev_as_of, as_of) - as_of_lookback(), max(prev_as_of, as_of)
    day = day.replace(day=1)
    while day <= last:
        months.add(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return [p.text for p in with_rollups(months) if p.start <= as_of]
