"""The tables the platform owns, and how a warehouse comes to hold them. dbt owns staging /
intermediate / marts.

The commands and the night call `ensure_schema` before they use the warehouse. Under one
advisory lock and in one transaction it creates the schemas; applies, in order of version, each
numbered migration in `migrations/` (`NNNN_<what>.sql`, plain SQL) that meta.schema_migrations
does not record yet, and records it; creates each feed's raw table from the feed's declaration
(cei.feeds), the single source of a feed's columns; and lets the analyst role read the published
marts. A schema change is a new migration file with the next number; a file once released is
never edited, since a warehouse that recorded it does not run it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.feeds import FEEDS
from cei.feeds.model import Feed

SCHEMA_LOCK = 0x0CE0  # taken by ensure_schema and by publishing: creating and renaming schemas never interleave
MIGRATION_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    version: int  # the file name's number
    name: str  # the file name's <what>
    sql: str


def migrations() -> list[Migration]:
    """This release's migrations, in order of version (the files of cei/warehouse/migrations)."""
    found = []
    for entry in resources.files("cei.warehouse").joinpath("migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = MIGRATION_FILE.fullmatch(entry.name)
        if match is None:
            raise ValueError(f"migration file {entry.name} is not named NNNN_<what>.sql")
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migration files share a version: {versions}")
    return found


def apply_migrations(conn: psycopg.Connection) -> list[Migration]:
    """Apply, in order, each migration that meta.schema_migrations does not record, recording it;
    return those applied. Runs in the caller's transaction, under SCHEMA_LOCK (ensure_schema)."""
    # The record itself is no migration: it must exist before the first one is looked up.
    conn.execute(
        "create table if not exists meta.schema_migrations ("
        " version integer primary key,"
        " name text not null,"
        " applied_at timestamptz not null default now())"
    )
    recorded = {version for (version,) in conn.execute("select version from meta.schema_migrations")}
    applied = []
    for migration in migrations():
        if migration.version in recorded:
            continue
        conn.execute(migration.sql)
        conn.execute(
            "insert into meta.schema_migrations (version, name) values (%s, %s)", (migration.version, migration.name)
        )
        applied.append(migration)
    return applied


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
    """The raw table of `feed` and its indexes, created or brought up to date (idempotent)."""
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


def ensure_schema(conn: psycopg.Connection) -> list[Migration]:
    """Bring the warehouse to this release's schema, idempotently: the schemas, the migrations not
    applied yet, the raw tables of the feeds and the analyst role. Returns the migrations applied."""
    with conn.transaction():
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS is not race-free.
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for schema in (cfg.RAW, cfg.QUARANTINE, cfg.META, cfg.MARTS):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        applied = apply_migrations(conn)
        for feed in FEEDS.values():
            conn.execute(raw_table_ddl(feed))
        ensure_analyst_role(conn)
    return applied


def ensure_analyst_role(conn: psycopg.Connection) -> None:
    """The analyst role exists (nologin) and reads every table of the published marts, present
    and future."""
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
