"""The numbered schema migrations (cei/warehouse/migrations, applied by `warehouse.ensure_schema`).

- The files are `NNNN_<what>.sql`, numbered from 0001 without gaps, and all of them are loaded.
- A warehouse records each migration applied; ensure_schema again applies nothing.
- The baseline completes a warehouse made before migrations were recorded: its missing columns
  and indexes are added, its data kept, and it ends with the schema of a new warehouse.
"""

from __future__ import annotations

from importlib import resources

import psycopg

from cei import warehouse
from cei.warehouse import schema


def _files() -> list[str]:
    folder = resources.files("cei.warehouse").joinpath("migrations")
    return sorted(entry.name for entry in folder.iterdir() if entry.is_file())


def _catalogue(conn: psycopg.Connection) -> list[tuple]:
    """The platform's tables (columns in order, types, defaults, nullability), indexes and
    constraints: what a schema change changes."""
    schemas = ["raw", "quarantine", "meta", "ingest_stage"]
    columns = conn.execute(
        "select table_schema, table_name, column_name, data_type, column_default, is_nullable"
        " from information_schema.columns where table_schema = any(%s)"
        " order by table_schema, table_name, ordinal_position", (schemas,)).fetchall()
    indexes = conn.execute(
        "select schemaname, indexname, indexdef from pg_indexes where schemaname = any(%s) order by 1, 2",
        (schemas,)).fetchall()
    constraints = conn.execute(
        "select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint"
        " where connamespace::regnamespace::text = any(%s) order by 1, 2", (schemas,)).fetchall()
    return columns + indexes + constraints


def _recorded(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("select version, name, applied_at from meta.schema_migrations order by version").fetchall()


def test_migration_files_are_numbered_without_gaps():
    files = _files()
    assert files, "no migration files in the package"
    assert all(schema.MIGRATION_FILE.fullmatch(name) for name in files), files
    assert [int(name[:4]) for name in files] == list(range(1, len(files) + 1)), files
    assert [f"{m.version:04d}_{m.name}.sql" for m in schema.migrations()] == files


def test_each_migration_is_applied_once_and_recorded(warehouse_url):
    with warehouse.connect() as conn:  # the fixture's ensure_schema applied them all
        recorded = _recorded(conn)
        assert [(v, name) for v, name, _ in recorded] == [(m.version, m.name) for m in schema.migrations()]
        before = _catalogue(conn)

        assert warehouse.ensure_schema(conn) == []
        conn.commit()
        assert _recorded(conn) == recorded
        assert _catalogue(conn) == before


def test_baseline_completes_a_warehouse_made_before_migrations_were_recorded(warehouse_url):
    with warehouse.connect() as conn:
        new_warehouse = _catalogue(conn)
        # A warehouse of an earlier release: no record of migrations, columns added since missing
        # (with the index on one of them), the staging schema of an older release still there.
        conn.execute("drop table meta.schema_migrations")
        conn.execute("alter table meta.pipeline_runs drop column landing_note")
        conn.execute("alter table meta.load_files drop column gated_run, drop column business_months,"
                     " drop column withdrawn_at, drop column withdrawn_by, drop column withdrawn_reason")
        conn.execute("create schema ingest_stage")
        conn.execute("create table ingest_stage.files (n integer)")
        run_id = conn.execute("insert into meta.pipeline_runs (delivery_dates, as_of)"
                              " values ('{2026-07-20}', now()) returning run_id").fetchone()[0]
        conn.commit()

        applied = warehouse.ensure_schema(conn)
        conn.commit()
        assert [m.version for m in applied] == [m.version for m in schema.migrations()]
        assert _catalogue(conn) == new_warehouse
        assert [v for v, _, _ in _recorded(conn)] == [m.version for m in schema.migrations()]
        assert conn.execute("select run_id, landing_note from meta.pipeline_runs").fetchall() == [(run_id, None)]
        assert warehouse.ensure_schema(conn) == []
