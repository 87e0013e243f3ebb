"""Write–audit–publish of the marts.

dbt builds the marts into MARTS_BUILD (the `marts_schema` var read by
dbt_project/macros/overrides/generate_schema_name.sql), the marts gate (cei.quality.validate_marts)
audits them there, and publish_marts swaps them in, in one transaction. Analysts and exports
read `marts`, which therefore changes only when a whole build passed its gate: a failing night
leaves the previous night's marts in place and readable.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError
from cei.warehouse.schema import SCHEMA_LOCK, ensure_analyst_role

MARTS_BUILD = f"{cfg.MARTS}__build"
MARTS_PREVIOUS = f"{cfg.MARTS}__previous"
PUBLISH_LOCK_TIMEOUT = "60s"  # how long publishing waits for analysts' queries on the old marts


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
            # ensure_schema's lock: it never creates `marts` between the renames below
            conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
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
            ensure_analyst_role(conn)
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
