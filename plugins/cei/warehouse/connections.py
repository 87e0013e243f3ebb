"""Reaching the warehouse: its URL, connections, and the run lock every writing step holds.

The URL is `CEI_DATABASE_URL` when set, else the embedded server's (cei.warehouse.server).
Connection failures become one-line WarehouseErrors that name the server but never the password,
and every connection works in one fixed time zone. Steps that write take the advisory run lock
(`exclusive`), so two runs never interleave their writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlparse

import psycopg

from cei import settings as cfg
from cei.errors import RunLocked, WarehouseError
from cei.feeds import FEEDS
from cei.warehouse.server import EMBEDDED_DB, embedded_database


def database_url(s: cfg.Settings | None = None) -> str:
    """The libpq URL of the warehouse, starting the embedded server when none is configured."""
    s = s or cfg.load()
    if s.database_url:
        return s.database_url
    return embedded_database(s, EMBEDDED_DB)


def lost_connection(exc: psycopg.OperationalError) -> WarehouseError:
    """The server restarted or ended the session mid-step: one line saying so, not libpq's paragraph."""
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
    return WarehouseError(f"lost the connection to the warehouse: {first}")


def describe(url: str) -> str:
    """host:port/dbname of a URL, never its password: safe for messages."""
    p = urlparse(url)
    query = parse_qs(p.query)
    host = p.hostname or query.get("host", ["local socket"])[0]
    return f"{host}:{p.port or query.get('port', [5432])[0]}/{(p.path or '/').lstrip('/')}"


def connect(s: cfg.Settings | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    """A connection to the warehouse, its session in the platform's time zone."""
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
        "port": str(p.port or query.get("port", [5432])[0]),
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
