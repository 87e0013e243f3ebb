"""The warehouse: where it is, how to connect, the tables the platform (not dbt) owns, and the
publication of the marts dbt builds.

- server: the embedded PostgreSQL, used while `CEI_DATABASE_URL` is unset (the platform's
  unix socket; analysts' password logins over TCP).
- connections: the warehouse's URL, connections, and the run lock of the steps that write.
- schema: the platform's schemas and tables (numbered migrations in migrations/, the feeds' raw
  tables from their declarations) and the analyst role.
- publish: write–audit–publish of the marts.
- analysts: analysts' logins (read the published marts only).

The names other modules use are importable from here (`warehouse.connect(...)`).
"""

from cei.warehouse.connections import connect, database_url, describe, exclusive, libpq_params, lost_connection
from cei.warehouse.publish import (
    MARTS_BUILD,
    MARTS_PREVIOUS,
    PUBLISH_LOCK_TIMEOUT,
    check_audited,
    check_build,
    mark_build,
    prepare_build,
    publish_marts,
    publish_problems,
)
from cei.warehouse.schema import LINEAGE_COLUMNS, ensure_schema, raw_table_ddl
from cei.warehouse.server import EMBEDDED_DB, embedded_database, stop_embedded

__all__ = [
    "EMBEDDED_DB",
    "LINEAGE_COLUMNS",
    "MARTS_BUILD",
    "MARTS_PREVIOUS",
    "PUBLISH_LOCK_TIMEOUT",
    "check_audited",
    "check_build",
    "connect",
    "database_url",
    "describe",
    "embedded_database",
    "ensure_schema",
    "exclusive",
    "libpq_params",
    "lost_connection",
    "mark_build",
    "prepare_build",
    "publish_marts",
    "publish_problems",
    "raw_table_ddl",
    "stop_embedded",
]
