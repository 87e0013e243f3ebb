"""Which periods a pipeline run could have changed the figures of (the nightly refresh)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError
from cei.export.periods import with_rollups
from cei.export.provenance import BUSINESS_DATES, business_months, summarise_new_files
from cei.feeds import FEEDS


def months_of_rows(conn: psycopg.Connection, run_id: int, withdrawn_since: datetime | None) -> set[date]:
    """First days of the months of every business date of the rows the run loaded and of the rows
    of the files withdrawn since `withdrawn_since` (None: ever) — and of every other version of
    the same business keys, since a new version (or a withdrawn one) can move a record out of the
    month it was in (a closing time corrected from March to April changes both).

    The files' own rows: the months the ledger records for them (summarise_new_files, brought up
    to date here; cei.steward records a withdrawn file's). Other versions: the rows of the same
    keys, looked up by key — only for a feed with rows from other files: a first run over a whole
    history has none, and the lookup would go through every key of it (18 s of a 34 s export at
    1.2 M work orders)."""
    with conn.transaction():
        summarise_new_files(conn)
    changed = sql.SQL(
        "select file_id from meta.load_files where (run_id = %(run)s and status = 'loaded')"
        " or (status = 'withdrawn' and withdrawn_at > coalesce(%(since)s::timestamptz, '-infinity'))"
    )
    params = {"run": run_id, "since": withdrawn_since}
    months = {
        r[0]
        for r in conn.execute(
            sql.SQL("select distinct unnest(business_months) from meta.load_files where file_id = any(array({}))")
            .format(changed), params,
        )
    }
    for name in BUSINESS_DATES:
        feed = FEEDS[name]
        table = sql.Identifier(cfg.RAW, feed.table)
        others = sql.SQL(
            "select exists (select from {t} where not withdrawn and load_file_id = any(array("
            " select file_id from meta.load_files where feed = %(feed)s and file_id <> all(array({changed})))))"
        ).format(t=table, changed=changed)
        if not conn.execute(others, {**params, "feed": name}).fetchone()[0]:
            continue
        key = sql.SQL(", ").join(sql.Identifier(k) for k in feed.business_key)
        # `= any(array(…))`, not a join or `in`: PostgreSQL then looks the files and keys up by
        # index instead of scanning all of history twice (the key's index holds the rows in force)
        query = sql.SQL(
            "select distinct business.month from {t} cross join lateral {months}"
            " where not withdrawn and ({key}) = any(array(select ({key}) from {t}"
            "   where load_file_id = any(array({changed}))))"
            " and business.month is not null"
        ).format(key=key, t=table, months=business_months(name), changed=changed)
        months.update(r[0] for r in conn.execute(query, params))
    return months


def as_of_lookback(s: cfg.Settings | None = None) -> timedelta:
    """How long before an as-of an open record can have been registered and still see its deadline
    pass at that as-of: N working days span at most about 2·N + 14 calendar days, holidays included."""
    s = s or cfg.load()
    n = max(s.deadline_complaint_accept_days, s.deadline_report_verify_days)
    return timedelta(days=2 * n + 14)


def months_of_calendar_imports(conn: psycopg.Connection, since: datetime | None,
                               s: cfg.Settings | None = None) -> set[date]:
    """The months whose figures a calendar imported since `since` (None: ever) can change: from a
    clock started early enough to count its longest deadline into the imported year, to the
    year's end."""
    s = s or cfg.load()
    longest = max(s.deadline_complaint_accept_days, s.deadline_complaint_mediation_days,
                  s.deadline_report_verify_days, s.deadline_odr_days)
    months: set[date] = set()
    for (year,) in conn.execute(
        "select distinct year from meta.calendar_imports where imported_at > coalesce(%s::timestamptz, '-infinity')",
        (since,),
    ):
        months |= _months(date(year, 1, 1) - timedelta(days=2 * longest + 14), date(year, 12, 31))
    return months


def _months(first: date, last: date) -> set[date]:
    """The first days of the months from `first`'s to `last`'s."""
    out, day = set(), first.replace(day=1)
    while day <= last:
        out.add(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def periods_touched(conn: psycopg.Connection, run_id: int) -> list[str]:
    """The month, quarter and year periods whose figures run `run_id` could have changed:

    - the months of the business dates of the rows it loaded and of the files withdrawn since the
      previous successful run began (all versions of their keys);
    - the months a calendar imported since then can change (months_of_calendar_imports);
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
        "select as_of, started_at from meta.pipeline_runs where status = 'succeeded' and run_id < %s"
        " order by run_id desc limit 1",
        (run_id,),
    ).fetchone()
    prev_as_of = prev[0].astimezone(cfg.LOCAL_TZ).date() if prev else as_of

    months = months_of_rows(conn, run_id, prev[1] if prev else None)
    months |= months_of_calendar_imports(conn, prev[1] if prev else None)
    months |= _months(min(prev_as_of, as_of) - as_of_lookback(), max(prev_as_of, as_of))
    return [p.text for p in with_rollups(months) if p.start <= as_of]
