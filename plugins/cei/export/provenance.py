"""Where an export's figures come from: the pipeline run (and so the as-of) the marts were built
by, and the load batches (`meta.load_files`) whose rows fed the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.calendar.store import year_sources
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


@dataclass(frozen=True)
class WithdrawnFile:
    """A file the data steward took out of the warehouse's truth (cei.steward)."""

    file_id: int
    feed: str
    delivery_date: date
    file_name: str
    sha256: str | None
    rows_loaded: int
    withdrawn_at: datetime
    withdrawn_by: str
    reason: str

    def as_json(self) -> dict:
        return {
            "file_id": self.file_id, "feed": self.feed, "delivery_date": self.delivery_date.isoformat(),
            "file_name": self.file_name, "sha256": self.sha256, "rows_loaded": self.rows_loaded,
            "withdrawn_at": self.withdrawn_at.astimezone(cfg.LOCAL_TZ).isoformat(timespec="seconds"),
            "withdrawn_by": self.withdrawn_by, "reason": self.reason,
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


def _month_of(column: str, kind: Kind) -> sql.Composed:
    """The first day of the local month of `column` (a timestamp by its Asia/Shanghai time)."""
    col = sql.Identifier(column)
    if kind is Kind.TIMESTAMP:
        return sql.SQL("date_trunc('month', {c} at time zone 'Asia/Shanghai')::date").format(c=col)
    return sql.SQL("date_trunc('month', {c})::date").format(c=col)


def _month_columns(feed_name: str) -> list[sql.Composed]:
    """The month of each business date of a raw row of the feed (null when the date is empty)."""
    feed = FEEDS[feed_name]
    return [_month_of(c, feed.column(c).kind) for c in BUSINESS_DATES[feed_name]]


def _spread(months: list[sql.Composable]) -> sql.Composed:
    """`(values (<month>), …) as business(month)`: one row per month, to join laterally."""
    return sql.SQL("(values {}) as business(month)").format(
        sql.SQL(", ").join(sql.SQL("({})").format(m) for m in months)
    )


def business_months(feed_name: str) -> sql.Composed:
    """The months of a raw row's business dates, one row each, to join laterally to the row."""
    return _spread(_month_columns(feed_name))


def summarise_new_files(conn: psycopg.Connection) -> None:
    """Record in meta.load_files.business_months the months of the business dates of each loaded
    (or withdrawn) file's raw rows, for the files not summarised yet (a file's rows never change once loaded).
    An export then finds a period's source files in the ledger instead of scanning history.

    One statement per feed over all the files waiting: a night's few files are read by their
    load_file_id index, a whole history's in one pass. Each file's distinct combinations of months
    are found first, and only those are spread one month a row: spreading every row cost ~2.5× as
    much at 0.1 M (with a subquery per file, the 10 M-work-order history's export took 163 s; 77 s
    since)."""
    for name, feed in FEEDS.items():
        months = _month_columns(name)
        aliases = [sql.Identifier(f"month_{i}") for i in range(len(months))]
        conn.execute(
            sql.SQL(
                "with waiting as materialized ("
                "  select file_id from meta.load_files"
                "  where feed = %s and status in ('loaded', 'withdrawn') and business_months is null),"
                " row_months as ("
                "  select distinct load_file_id, {months} from {t}"
                "  where load_file_id = any(array(select file_id from waiting))),"
                " file_months as ("
                "  select load_file_id, array_agg(distinct business.month order by business.month) as months"
                "  from row_months cross join lateral {spread}"
                "  where business.month is not null"
                "  group by load_file_id)"
                " update meta.load_files as f set business_months = coalesce(file_months.months, '{{}}')"
                " from waiting left join file_months on file_months.load_file_id = waiting.file_id"
                " where f.file_id = waiting.file_id"
            ).format(
                t=sql.Identifier(cfg.RAW, feed.table),
                months=sql.SQL(", ").join(
                    sql.SQL("{} as {}").format(m, alias) for m, alias in zip(months, aliases, strict=True)
                ),
                spread=_spread(aliases),
            ),
            (name,),
        )


def source_files(conn: psycopg.Connection, period: Period, upto_run: int) -> list[SourceFile]:
    """Loaded files (of runs up to `upto_run`, whose data the marts were built from) holding at
    least one raw row — any version — with a business date in the period (periods are whole
    months: the months summarise_new_files recorded)."""
    rows = conn.execute(
        "select file_id, run_id, feed, delivery_date, file_name, sha256, rows_loaded from meta.load_files"
        " where business_months && array(select generate_series(%s::date, %s::date, interval '1 month')::date)"
        " and status = 'loaded' and run_id <= %s"
        " order by feed, delivery_date, file_name, file_id",
        (period.start, period.end, upto_run),
    ).fetchall()
    return [SourceFile(*r) for r in rows]


def withdrawn_files(conn: psycopg.Connection, period: Period, run_id: int) -> list[WithdrawnFile]:
    """Files withdrawn before run `run_id` began (so its figures leave them out) whose rows had a
    business date in the period."""
    rows = conn.execute(
        "select file_id, feed, delivery_date, file_name, sha256, rows_loaded, withdrawn_at, withdrawn_by,"
        " withdrawn_reason from meta.load_files"
        " where business_months && array(select generate_series(%s::date, %s::date, interval '1 month')::date)"
        " and status = 'withdrawn'"
        " and withdrawn_at < (select started_at from meta.pipeline_runs where run_id = %s)"
        " order by feed, delivery_date, file_name, file_id",
        (period.start, period.end, run_id),
    ).fetchall()
    return [WithdrawnFile(*r) for r in rows]


SOURCE_NAMES = {
    "library": "chinese-calendar 库",
    "imported": "本局导入的国务院通知",
    "provisional": "暂定（未导入国务院通知）",
}


@dataclass(frozen=True)
class CalendarBasis:
    """The official calendar the period's deadlines were counted on."""

    sources: dict[int, str]  # year → library | imported | provisional: the period's years and the next
    provisional: tuple[str, ...]  # indicator codes with a figure counted over a provisional year's days

    @property
    def status(self) -> str:
        return "provisional" if self.provisional else "official"

    def reason(self) -> str | None:
        """Why the period cannot be final, or None."""
        if not self.provisional:
            return None
        years = ", ".join(str(y) for y, s in self.sources.items() if s == "provisional")
        return (f"{', '.join(self.provisional)} count deadlines over the provisional calendar of {years}:"
                " provisional until that year's official schedule is imported (cei calendar import)")

    def label(self) -> str:
        """For the workbook: 2026 年：chinese-calendar 库；2027 年：暂定（…）."""
        return "；".join(f"{y} 年：{SOURCE_NAMES.get(s, s)}" for y, s in self.sources.items())


def calendar_basis(conn: psycopg.Connection, period: Period) -> CalendarBasis:
    """The calendar sources of the period's years and the next (deadlines reach into it), and the
    indicators whose figures in the period are provisional (marts' calendar_status)."""
    if not conn.execute(
        "select exists (select from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'mart_indicator_period' and column_name = 'calendar_status')"
    ).fetchone()[0]:
        raise CeiError("the published marts have no calendar_status (built by an earlier version of the"
                       " platform): run the night again (cei run) before exporting")
    sources = year_sources(conn, period.start.year, period.end.year + 1)
    provisional = tuple(r[0] for r in conn.execute(
        "select distinct indicator_code::text from marts.mart_indicator_period"
        " where period = %s and period_type = %s and calendar_status = 'provisional' order by 1",
        (period.text, period.type),
    ))
    return CalendarBasis(sources, provisional)
