"""Analysts' logins: one PostgreSQL login role per analyst, a member of the read-only analyst
group (settings.ANALYST_ROLE: `marts` only), with a SCRAM-SHA-256 password.

The password is hashed here, by libpq (PQencryptPasswordConn), so neither the server's log nor
its statistics ever see it. Each login starts in `marts` (search_path) and has timeouts that keep
a forgotten session from holding the marts when the night publishes new ones
(warehouse.publish waits PUBLISH_LOCK_TIMEOUT for analysts' queries). meta.analyst_accounts keeps
who added, re-keyed and removed which login, and when.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import CeiError

NAME = re.compile(r"[a-z][a-z0-9_]{1,62}")
MIN_PASSWORD_LENGTH = 12
# Per login (role settings are not inherited from the group): an idle open transaction (a client
# in manual-commit mode) ends after IDLE_IN_TRANSACTION, a single statement after STATEMENT_TIMEOUT.
STATEMENT_TIMEOUT = "30min"
IDLE_IN_TRANSACTION = "15min"


@dataclass(frozen=True)
class Analyst:
    name: str
    added_at: datetime | None  # None: a member of the group made outside `cei analyst add`
    added_by: str | None
    password_set_at: datetime | None
    sessions: int  # open connections now


def check_name(name: str) -> str:
    """A login name analysts type into DBeaver: lower case, no quoting needed, not a system role."""
    if not NAME.fullmatch(name) or name.startswith("pg_") or name in (cfg.ANALYST_ROLE, "postgres", "public"):
        raise CeiError(
            f"{name!r} is not a usable analyst name: 2–63 characters, a lower-case letter first, then"
            " lower-case letters, digits or _ (not pg_…, postgres or the analyst group itself)"
        )
    return name


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH or password != password.strip():
        raise CeiError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters and no surrounding spaces")
    return password


def _role(conn: psycopg.Connection, name: str) -> tuple[bool, bool] | None:
    """(can log in, is a member of the analyst group) of role `name`, or None when there is none."""
    return conn.execute(
        "select r.rolcanlogin, pg_has_role(r.oid, %s, 'member') and not r.rolsuper"
        " from pg_roles r where r.rolname = %s",
        (cfg.ANALYST_ROLE, name),
    ).fetchone()


def _password_clause(conn: psycopg.Connection, name: str, password: str) -> sql.Composable:
    verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
    return sql.SQL("password {}").format(sql.Literal(verifier))


def add(conn: psycopg.Connection, name: str, password: str, by: str) -> None:
    """Create analyst `name`'s login with `password`; refused when the role exists."""
    check_name(name)
    check_password(password)
    if _role(conn, name) is not None:
        raise CeiError(f"a role {name!r} exists already (`cei analyst password {name}` sets a new password)")
    role = sql.Identifier(name)
    with conn.transaction():
        conn.execute(sql.SQL("create role {} login in role {} {}").format(
            role, sql.Identifier(cfg.ANALYST_ROLE), _password_clause(conn, name, password)))
        for setting, value in (("search_path", cfg.MARTS), ("statement_timeout", STATEMENT_TIMEOUT),
                               ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION)):
            conn.execute(sql.SQL("alter role {} set {} = {}").format(role, sql.Identifier(setting),
                                                                      sql.Literal(value)))
        conn.execute(
            "insert into meta.analyst_accounts (analyst_name, added_by, password_set_by) values (%s, %s, %s)"
            " on conflict (analyst_name) do update set added_at = now(), added_by = excluded.added_by,"
            " password_set_at = now(), password_set_by = excluded.password_set_by, removed_at = null,"
            " removed_by = null",
            (name, by, by),
        )


def _existing_analyst(conn: psycopg.Connection, name: str) -> None:
    found = _role(conn, check_name(name))
    if found is None:
        raise CeiError(f"no analyst {name!r} (`cei analyst list` shows them)")
    if not found[1]:
        raise CeiError(f"role {name!r} is not an analyst's login: refused")


def set_password(conn: psycopg.Connection, name: str, password: str, by: str) -> None:
    """A new password for analyst `name` (a forgotten one is never shown again: it is not kept)."""
    _existing_analyst(conn, name)
    check_password(password)
    with conn.transaction():
        conn.execute(sql.SQL("alter role {} {}").format(sql.Identifier(name), _password_clause(conn, name, password)))
        conn.execute(
            "insert into meta.analyst_accounts (analyst_name, added_by, password_set_by) values (%s, %s, %s)"
            " on conflict (analyst_name) do update set password_set_at = now(),"
            " password_set_by = excluded.password_set_by",
            (name, by, by),
        )


def remove(conn: psycopg.Connection, name: str, by: str) -> int:
    """Drop analyst `name`'s login and end its open sessions; the number of sessions ended."""
    _existing_analyst(conn, name)
    oid = conn.execute("select oid from pg_roles where rolname = %s", (name,)).fetchone()[0]
    with conn.transaction():
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
        conn.execute("update meta.analyst_accounts set removed_at = now(), removed_by = %s"
                     " where analyst_name = %s and removed_at is null", (by, name))
    # After the drop, so that no new session slips in between; by oid, as the name is gone.
    return conn.execute("select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
                        " where usesysid = %s", (oid,)).fetchone()[0]


def analysts(conn: psycopg.Connection) -> list[Analyst]:
    """Every login in the analyst group, with what meta.analyst_accounts knows of it."""
    rows = conn.execute(
        "select r.rolname, a.added_at, a.added_by, a.password_set_at,"
        " (select count(*) from pg_stat_activity s where s.usename = r.rolname)"
        " from pg_roles r left join meta.analyst_accounts a on a.analyst_name = r.rolname and a.removed_at is null"
        " where r.rolcanlogin and not r.rolsuper and pg_has_role(r.oid, %s, 'member') order by r.rolname",
        (cfg.ANALYST_ROLE,),
    ).fetchall()
    return [Analyst(*row) for row in rows]


def login_url(s: cfg.Settings, name: str) -> str:
    """The URL analyst `name` connects with (no password in it): the embedded server's TCP side,
    or the configured server's address."""
    from cei.warehouse.connections import libpq_params
    from cei.warehouse.server import EMBEDDED_DB, tcp_address

    if s.embedded:
        host, port = tcp_address(s)
        database = EMBEDDED_DB
    else:
        params = libpq_params(s.database_url)
        host, port, database = params["host"], int(params["port"]), params["dbname"]
        if host.startswith("/"):
            raise CeiError("the warehouse is reached through a unix socket (CEI_DATABASE_URL): analysts need"
                           " the server's network address, which only its administrator knows")
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"postgresql://{check_name(name)}@{host}:{port}/{database}"
