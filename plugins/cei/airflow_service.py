"""Airflow as the service that runs the nights: `cei airflow start | status | stop`.

`start` runs Airflow 3's components — the API server (REST API and UI), the scheduler, the DAG
processor and the triggerer — each as its own background process with the LocalExecutor, or with
`CEI_AIRFLOW_EXECUTOR=celery` the CeleryExecutor on `CEI_CELERY_BROKER_URL` (Redis), whose
workers `cei airflow worker` starts (as many as wanted, here or on other machines sharing the
landing folder and `CEI_HOME`). Their Airflow home is
`CEI_HOME/airflow-service` (`cei run` keeps its own SQLite home for one-off runs through
`dag.test()`); their metadata live in PostgreSQL: a database `airflow` on the embedded server, or
`CEI_AIRFLOW_DATABASE_URL`. Every component inherits the caller's environment (the platform's
settings, `CEI_HOME`) plus the Airflow settings below, so tasks see what `cei run` sees.

The process ids and start times are kept in `service.json`: `stop` signals only those processes
(and their children, the process groups they lead), never anything found by name. The UI's
admin password is generated on first start, kept in `simple_auth_manager_passwords.json`
(mode 0600, the Simple auth manager's own file) and printed once; the API's signing secrets are
generated likewise and never leave `CEI_HOME`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psutil

from cei import settings as cfg
from cei import warehouse
from cei.airflow_run import DAG_ID, airflow_env
from cei.errors import CeiError

USERNAME = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor",  # core's alias; the provider's executor by its path
             "celery": "airflow.providers.celery.executors.celery_executor.CeleryExecutor"}
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Paths:
    home: Path  # AIRFLOW_HOME of the service

    @property
    def state(self) -> Path:
        return self.home / "service.json"

    @property
    def passwords(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets.json"

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def api_url(s: cfg.Settings) -> str:
    return f"http://{s.airflow_host}:{s.airflow_port}"


def sqlalchemy_url(libpq_url: str) -> str:
    """A postgresql:// URL as SQLAlchemy's psycopg (3) dialect takes it (unix sockets included)."""
    p = urlparse(libpq_url)
    if p.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise CeiError(f"Airflow's metadata database must be PostgreSQL (postgresql://…), not {p.scheme}://")
    return urlunparse(p._replace(scheme="postgresql+psycopg"))


def metadata_url(s: cfg.Settings) -> str:
    """Where the service keeps Airflow's metadata: CEI_AIRFLOW_DATABASE_URL, else a database
    `airflow` on the embedded server. With a server warehouse the database must be named."""
    if s.airflow_database_url:
        return sqlalchemy_url(s.airflow_database_url)
    if s.database_url:
        raise CeiError("the warehouse is a server (CEI_DATABASE_URL): set CEI_AIRFLOW_DATABASE_URL to the"
                       " PostgreSQL database Airflow keeps its metadata in")
    return sqlalchemy_url(warehouse.embedded_database(s, "airflow"))


def _private_json(path: Path, make: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The JSON in `path`, or `make` written there first with mode 0600; (content, created)."""
    if path.exists():
        return json.loads(path.read_text()), False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(make, f)
    return make, True


def service_env(s: cfg.Settings, paths: Paths) -> dict[str, str]:
    """The environment of every component: the caller's, the DAG folder, and the service's
    Airflow settings."""
    if s.airflow_executor not in EXECUTORS:
        raise CeiError(f"CEI_AIRFLOW_EXECUTOR={s.airflow_executor!r}: expected one of {', '.join(EXECUTORS)}")
    keys, _ = _private_json(paths.secrets, {"jwt_secret": secrets.token_urlsafe(48),
                                            "secret_key": secrets.token_urlsafe(48)})
    db = metadata_url(s)
    env = {
        **airflow_env(s),
        "AIRFLOW_HOME": str(paths.home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db,  # psycopg 3 is async too: no asyncpg
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[s.airflow_executor],
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(paths.passwords),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url(s)}/execution/",
        "AIRFLOW__API__HOST": s.airflow_host,
        "AIRFLOW__API__PORT": str(s.airflow_port),
        "AIRFLOW__API__BASE_URL": api_url(s),
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(paths.logs / "tasks"),
        # a task instance names the worker that ran it (`cei airflow worker --name`)
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "cei.airflow_service.hostname",
    }
    if s.airflow_executor == "celery":
        if not s.celery_broker_url:
            raise CeiError("CEI_AIRFLOW_EXECUTOR=celery needs CEI_CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0")
        _check_broker(s.celery_broker_url)
        env["AIRFLOW__CELERY__BROKER_URL"] = s.celery_broker_url
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + db
        # solo, not prefork: a prefork child is a daemon, and a task forked from one may not start
        # processes of its own (ingest parses files in worker processes); not threads either: the
        # task supervisor needs signals, which only the main thread has. One task at a time per
        # worker: start as many workers as tasks should run side by side.
        env["AIRFLOW__CELERY__POOL"] = "solo"
    return env


def _check_broker(url: str) -> None:
    """The broker answers on its address, else one line saying which (before anything starts)."""
    p = urlparse(url)
    try:
        socket.create_connection((p.hostname or "127.0.0.1", p.port or 6379), timeout=5).close()
    except OSError as exc:
        raise CeiError(f"the Celery broker at {p.hostname}:{p.port or 6379} does not answer ({exc.strerror or exc});"
                       " start Redis or set CEI_CELERY_BROKER_URL") from None


def hostname() -> str:
    """Airflow's hostname_callable: the machine, and the worker's name when a worker runs the task."""
    name = os.environ.get("CEI_AIRFLOW_WORKER")
    return f"{socket.getfqdn()}/{name}" if name else socket.getfqdn()


def _airflow(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


def _command(name: str, s: cfg.Settings) -> list[str]:
    # The log servers of the scheduler and triggerer listen on every interface; the API server
    # reads task logs from the shared folder instead (one machine).
    return {
        "api-server": _airflow("api-server", "--host", s.airflow_host, "--port", str(s.airflow_port)),
        "scheduler": _airflow("scheduler", "--skip-serve-logs"),
        "dag-processor": _airflow("dag-processor"),
        "triggerer": _airflow("triggerer", "--skip-serve-logs"),
    }.get(name) or _airflow("celery", "worker", "--skip-serve-logs", "--celery-hostname", f"{name}@%h")


# ------------------------------------------------------------------------------------------------
# The processes this command started


@dataclass(frozen=True)
class Component:
    name: str
    pid: int
    started: float  # psutil create_time: a reused pid is not ours

    @property
    def running(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.started) < 1 and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def _read_state(paths: Paths) -> list[Component]:
    if not paths.state.exists():
        return []
    data = json.loads(paths.state.read_text())
    return [Component(c["name"], c["pid"], c["started"]) for c in data["components"]]


def _write_state(paths: Paths, components: list[Component]) -> None:
    tmp = paths.state.with_suffix(".tmp")
    tmp.write_text(json.dumps({"components": [c.__dict__ for c in components]}, indent=2))
    tmp.replace(paths.state)


def _spawn(name: str, s: cfg.Settings, env: dict[str, str], paths: Paths) -> Component:
    paths.logs.mkdir(parents=True, exist_ok=True)
    if name not in COMPONENTS:  # a Celery worker
        env = {**env, "CEI_AIRFLOW_WORKER": name}
    with (paths.logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(_command(name, s), env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Component(name, proc.pid, psutil.Process(proc.pid).create_time())


def _signal(c: Component, sig: int) -> None:
    try:  # the group it leads: its own children (the API server's workers, task processes)
        os.killpg(c.pid, sig)
    except ProcessLookupError:
        pass


def _stop(components: list[Component], timeout: float = STOP_TIMEOUT_S) -> None:
    alive = [c for c in components if c.running]
    for c in alive:
        _signal(c, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while (alive := [c for c in alive if c.running]) and time.monotonic() < deadline:
        time.sleep(0.5)
    for c in alive:
        _signal(c, signal.SIGKILL)
    for c in components:  # reap the children of this process, if it started them
        try:
            os.waitpid(c.pid, os.WNOHANG)
        except ChildProcessError:
            pass


# ------------------------------------------------------------------------------------------------
# The REST API


def _request(s: cfg.Settings, method: str, path: str, body: dict | None = None, token: str | None = None,
             timeout: float = 10) -> dict:
    req = urllib.request.Request(
        api_url(s) + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


def password(s: cfg.Settings) -> str:
    return json.loads(Paths(s.airflow_service_home).passwords.read_text())[USERNAME]


def token(s: cfg.Settings) -> str:
    """A bearer token for the REST API, as the admin."""
    return _request(s, "POST", "/auth/token", {"username": USERNAME, "password": password(s)})["access_token"]


def api(s: cfg.Settings, method: str, path: str, body: dict | None = None) -> dict:
    """One authenticated call of Airflow's REST API (`/api/v2/…`)."""
    return _request(s, method, path, body, token(s))


def _healthy(s: cfg.Settings) -> bool:
    try:
        health = _request(s, "GET", "/api/v2/monitor/health", timeout=3)
    except (OSError, urllib.error.URLError, ValueError):
        return False
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(p) or {}).get("status") == "healthy" for p in parts)


def _wait_for_dag(s: cfg.Settings, deadline: float) -> dict:
    """The DAG as the API shows it, once the DAG processor has parsed it; unpaused."""
    while True:
        try:
            dag = api(s, "GET", f"/api/v2/dags/{DAG_ID}")
            if dag.get("is_paused"):
                dag = api(s, "PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
            return dag
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise CeiError(f"Airflow's API refused {DAG_ID}: HTTP {exc.code}") from None
        time.sleep(1)


# ------------------------------------------------------------------------------------------------
# The commands


@dataclass(frozen=True)
class Started:
    components: list[Component]
    password: str | None  # generated now: printed once, never again
    password_file: Path
    next_run: str | None


def start(s: cfg.Settings | None = None) -> Started:
    """Start the service's components; refused when they run already. Waits until every
    component is healthy and the DAG is parsed and unpaused; stops what it started otherwise."""
    s = s or cfg.load()
    paths = Paths(s.airflow_service_home)
    running = [c for c in _read_state(paths) if c.running]
    if running:
        raise CeiError(f"Airflow is already running ({', '.join(f'{c.name} {c.pid}' for c in running)});"
                       " cei airflow stop first")
    env = service_env(s, paths)
    pw, created = _private_json(paths.passwords, {USERNAME: secrets.token_urlsafe(18)})
    migrate = subprocess.run(_airflow("db", "migrate"), env=env, capture_output=True, text=True, check=False)
    if migrate.returncode != 0:
        last = (migrate.stderr.strip().splitlines() or migrate.stdout.strip().splitlines() or ["no output"])[-1]
        raise CeiError(f"cannot prepare Airflow's metadata database: {last}")
    components: list[Component] = []
    try:
        for name in COMPONENTS:
            components.append(_spawn(name, s, env, paths))
            _write_state(paths, components)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(s):
            dead = [c.name for c in components if not c.running]
            if dead or time.monotonic() > deadline:
                why = f"{', '.join(dead)} exited" if dead else f"not healthy after {START_TIMEOUT_S} s"
                raise CeiError(f"Airflow did not start: {why}; see {paths.logs}")
            time.sleep(1)
        dag = _wait_for_dag(s, deadline)
    except BaseException:
        _stop(components)
        paths.state.unlink(missing_ok=True)
        raise
    return Started(components, pw[USERNAME] if created else None, paths.passwords, _next_run(dag))


def worker(name: str, s: cfg.Settings | None = None) -> Component:
    """Start a Celery worker called `name` (recorded with the service's components, so `stop`
    stops it); refused unless the service runs with the CeleryExecutor."""
    s = s or cfg.load()
    paths = Paths(s.airflow_service_home)
    if s.airflow_executor != "celery":
        raise CeiError("workers are for CEI_AIRFLOW_EXECUTOR=celery; the LocalExecutor runs tasks itself")
    components = [c for c in _read_state(paths) if c.running]
    if not components:
        raise CeiError("Airflow is not running: cei airflow start first")
    if any(c.name == name for c in components):
        raise CeiError(f"a worker called {name} is already running")
    started = _spawn(name, s, service_env(s, paths), paths)
    _write_state(paths, [*components, started])
    return started


def _next_run(dag: dict) -> str | None:
    when = dag.get("next_dagrun_run_after")
    if not when:
        return None
    return datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(cfg.LOCAL_TZ).isoformat()


def status(s: cfg.Settings | None = None) -> dict:
    """What `cei airflow status --json` prints."""
    s = s or cfg.load()
    paths = Paths(s.airflow_service_home)
    components = _read_state(paths)
    next_run = None
    if components and _healthy(s):
        try:
            next_run = _next_run(api(s, "GET", f"/api/v2/dags/{DAG_ID}"))
        except (OSError, urllib.error.URLError):
            next_run = None
    return {
        "components": {c.name: {"pid": c.pid, "state": "running" if c.running else "stopped"} for c in components},
        "executor": EXECUTORS.get(s.airflow_executor, s.airflow_executor).rsplit(".", 1)[-1],
        "api_url": api_url(s),
        "username": USERNAME,
        "password_file": str(paths.passwords),
        "next_run": next_run,
    }


def stop(s: cfg.Settings | None = None) -> list[Component]:
    """Stop the components `start` recorded (SIGTERM, then SIGKILL after STOP_TIMEOUT_S); the
    ones that were running."""
    s = s or cfg.load()
    paths = Paths(s.airflow_service_home)
    components = _read_state(paths)
    running = [c for c in components if c.running]
    _stop(components)
    paths.state.unlink(missing_ok=True)
    return running
