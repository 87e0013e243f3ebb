"""The calendar in the warehouse: the bureau's imported schedules, and `reference.calendar_days`,
which dbt reads as `dim_date` and for every deadline.

- `import_schedule` takes a year's CSV (schedule.py) into `reference.calendar_schedules`,
  replacing that year's earlier import in one transaction, and records who imported which file
  (sha256) and when in `meta.calendar_imports` (cei.warehouse's ledger tables).
- `refresh_calendar` (re)writes every day from the library's first year to the horizon (the next
  year of today and of the as-of, at least), each year from its source (days.py: imported >
  library > provisional) with that source in `year_source`. `transform.run_dbt` calls it before
  each dbt invocation; `python -m cei.calendar` does the same for an ad-hoc dbt run.
- `year_summaries` / `warnings`: what `cei calendar status`, `cei status` and the nightly log say.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata

import psycopg

from cei import settings as cfg
from cei.calendar.days import Source, calendar_days, source, supported_years
from cei.calendar.schedule import Schedule, ScheduleDay

log = logging.getLogger(__name__)

SCHEMA, TABLE = "reference", "calendar_days"
_LOCK = 0x0CE2  # serialises refreshes and imports (each is one transaction anyway)

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.{TABLE} (
    calendar_date       date primary key,
    is_workday          boolean not null,  -- a working day on the official calendar
    is_weekend          boolean not null,  -- Saturday or Sunday
    is_public_holiday   boolean not null,  -- a day off of a statutory holiday period
    is_makeup_workday   boolean not null,  -- a Saturday/Sunday worked in exchange (调休上班)
    holiday_name        text,              -- Chinese name of the holiday the day belongs to (off or make-up)
    holiday_name_en     text,
    source              text not null,     -- for people: the library and version, the imported file, …
    refreshed_at        timestamptz not null default now()
);
-- which source decided the day's year: library | imported | provisional (cei.calendar.days)
alter table {SCHEMA}.{TABLE} add column if not exists year_source text not null default 'library';
-- the bureau's imports (cei calendar import): the schedule in force for each imported year
create table if not exists {SCHEMA}.calendar_schedules (
    calendar_date  date primary key,
    year           integer not null,
    day_type       text not null check (day_type in ('holiday', 'workday')),
    note           text not null default ''
);
"""


def _ensure(conn: psycopg.Connection) -> None:
    conn.execute(f"select pg_advisory_xact_lock({_LOCK})")
    conn.execute(DDL)


@dataclass(frozen=True)
class Import:
    """A row of meta.calendar_imports: who imported which file of a year, and when."""

    file_name: str
    sha256: str
    imported_by: str
    imported_at: datetime


def imports_in_force(conn: psycopg.Connection) -> dict[int, Import]:
    """The newest import of each imported year."""
    return {
        year: Import(*rest)
        for year, *rest in conn.execute(
            "select distinct on (year) year, file_name, sha256, imported_by, imported_at from meta.calendar_imports"
            " order by year, import_id desc"
        )
    }


def imported_schedules(conn: psycopg.Connection, imports: dict[int, Import]) -> dict[int, Schedule]:
    """The schedules in force, by year, with the sha256 of the file each came from."""
    days: dict[int, list[ScheduleDay]] = {}
    for day, year, day_type, note in conn.execute(
        f"select calendar_date, year, day_type, note from {SCHEMA}.calendar_schedules order by calendar_date"
    ):
        days.setdefault(year, []).append(ScheduleDay(day, day_type, note))
    return {year: Schedule(year, tuple(listed), imports[year].sha256 if year in imports else "")
            for year, listed in days.items()}


def _horizon(as_of: datetime | date | None) -> int:
    """The last year written: next year (of today and of the as-of), or a later imported year."""
    years = [date.today().year + 1, supported_years()[1]]
    if as_of is not None:
        years.append(as_of.year + 1)
    return max(years)


def _lunar_version() -> str:
    try:
        return metadata.version("lunar-python")
    except metadata.PackageNotFoundError:
        return "?"


def refresh_calendar(conn: psycopg.Connection, as_of: datetime | date | None = None) -> dict:
    """(Re)write `reference.calendar_days` in one transaction: readers see the old or the new
    calendar, never a mix. Idempotent; returns what was written."""
    with conn.transaction():
        _ensure(conn)
        imports = imports_in_force(conn)
        schedules = imported_schedules(conn, imports)
        last = max([_horizon(as_of), *schedules])
        days = calendar_days(supported_years()[0], last, schedules)
        described = {
            "library": source(),
            "provisional": f"provisional: weekends and statutory holidays (lunar-python {_lunar_version()})",
        }
        conn.execute(f"delete from {SCHEMA}.{TABLE}")
        with conn.cursor().copy(
            f"copy {SCHEMA}.{TABLE} (calendar_date, is_workday, is_weekend, is_public_holiday,"
            " is_makeup_workday, holiday_name, holiday_name_en, source, year_source) from stdin"
        ) as copy:
            for d in days:
                year = d.calendar_date.year
                origin = (f"imported: {imports[year].file_name} (sha256 {schedules[year].sha256[:12]})"
                          if d.source == "imported" else described[d.source])
                copy.write_row((d.calendar_date, d.is_workday, d.is_weekend, d.is_public_holiday,
                                d.is_makeup_workday, d.holiday_name, d.holiday_name_en, origin, d.source))
    written = {
        "first_day": days[0].calendar_date.isoformat(),
        "last_day": days[-1].calendar_date.isoformat(),
        "days": len(days),
        "sources": year_sources(conn),
    }
    log.info("working-day calendar refreshed: %s", written)
    for line in warnings(conn):
        log.warning("%s", line)
    return written


def import_schedule(conn: psycopg.Connection, schedule: Schedule, file_name: str, by: str) -> None:
    """Take a year's official schedule (schedule.read_schedule: the bureau's CSV, checked whole),
    replacing that year's earlier import, and rewrite the calendar. `conn` is autocommit."""
    with conn.transaction():
        _ensure(conn)
        conn.execute(f"delete from {SCHEMA}.calendar_schedules where year = %s", (schedule.year,))
        with conn.cursor().copy(
            f"copy {SCHEMA}.calendar_schedules (calendar_date, year, day_type, note) from stdin"
        ) as copy:
            for d in schedule.days:
                copy.write_row((d.day, schedule.year, d.day_type, d.note))
        conn.execute(
            "insert into meta.calendar_imports (year, file_name, sha256, holidays, workdays, imported_by)"
            " values (%s, %s, %s, %s, %s, %s)",
            (schedule.year, file_name, schedule.sha256, schedule.holidays, schedule.workdays, by),
        )
    refresh_calendar(conn)


def year_sources(conn: psycopg.Connection, first: int = 1, last: int = 9999) -> dict[int, Source]:
    """Year → the source that decided it, as the warehouse's calendar holds it now (years
    `first` to `last`)."""
    return dict(conn.execute(
        f"select extract(year from calendar_date)::int, min(year_source) from {SCHEMA}.{TABLE}"
        " where calendar_date between %s and %s group by 1 order by 1",
        (date(first, 1, 1), date(last, 12, 31)),
    ).fetchall())


@dataclass(frozen=True)
class YearSummary:
    year: int
    source: Source | None  # None: not in the warehouse's calendar (never refreshed so far)
    holidays: int  # weekdays off
    makeup_workdays: int  # weekend days worked
    imported: str | None  # the import in force: file, sha256, who and when

    HEADERS = ("year", "source", "weekdays off", "make-up days", "import")


def year_summaries(conn: psycopg.Connection, first: int, last: int) -> list[YearSummary]:
    """Each year from `first` to `last`, from the warehouse's calendar."""
    _refresh_if_missing(conn)
    counts = {
        year: (src, off, makeup)
        for year, src, off, makeup in conn.execute(
            f"select extract(year from calendar_date)::int, min(year_source),"
            " count(*) filter (where not is_workday and not is_weekend), count(*) filter (where is_makeup_workday)"
            f" from {SCHEMA}.{TABLE} where calendar_date between %s and %s group by 1",
            (date(first, 1, 1), date(last, 12, 31)),
        )
    }
    imports = imports_in_force(conn)
    out = []
    for year in range(first, last + 1):
        src, off, makeup = counts.get(year, (None, 0, 0))
        i = imports.get(year) if src == "imported" else None
        described = (f"{i.file_name} sha256 {i.sha256[:12]} by {i.imported_by}"
                     f" {i.imported_at.astimezone(cfg.LOCAL_TZ):%Y-%m-%d %H:%M}") if i else None
        out.append(YearSummary(year, src, off, makeup, described))
    return out


def _refresh_if_missing(conn: psycopg.Connection) -> None:
    if not conn.execute(f"select to_regclass('{SCHEMA}.{TABLE}') is not null").fetchone()[0] or not conn.execute(
        "select exists (select from information_schema.columns where table_schema = %s and table_name = %s"
        " and column_name = 'year_source')", (SCHEMA, TABLE)
    ).fetchone()[0]:
        refresh_calendar(conn)


def status_years(conn: psycopg.Connection, today: date | None = None) -> tuple[int, int]:
    """From the year of the first delivery (else this year) to next year."""
    today = today or date.today()
    first = conn.execute("select min(delivery_date) from meta.load_files").fetchone()[0]
    return (first.year if first else today.year), today.year + 1


def warnings(conn: psycopg.Connection, today: date | None = None) -> list[str]:
    """A line for this year and next year when their calendar is provisional."""
    today = today or date.today()
    by_year = {s.year: s for s in year_summaries(conn, today.year, today.year + 1)}
    return [
        f"warning: the official calendar of {year} is provisional (no State Council schedule imported, none in"
        f" {source()}): figures whose deadlines reach it are marked provisional and their periods are not"
        f" final; when the notice is out, write its CSV and run `cei calendar import FILE`"
        for year, s in by_year.items() if s.source == "provisional"
    ]


def main() -> int:
    """`python -m cei.calendar`: refresh the configured warehouse's calendar (ad-hoc dbt runs)."""
    from cei import warehouse

    with warehouse.connect(autocommit=True) as conn:
        written = refresh_calendar(conn)
    print(f"{SCHEMA}.{TABLE}: {written['days']} days {written['first_day']} … {written['last_day']}")
    return 0
