"""The two warehouse paths (embedded default, configured server) and their clear errors."""

from __future__ import annotations

import os

import psycopg
import pytest

from cei import cli, pii, settings, warehouse
from cei.errors import CeiError, WarehouseError


def test_embedded_default_starts_and_is_reused(cei_home, server_url, monkeypatch):
    if os.environ.get("CEI_DATABASE_URL") and server_url == os.environ["CEI_DATABASE_URL"]:
        pytest.skip("the session runs against a configured server")
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    first = warehouse.database_url()
    assert "host=" in first and first.split("?")[0].endswith("/cei")
    with warehouse.connect() as conn:
        pid = conn.execute("select pg_postmaster_start_time()").fetchone()[0]
        assert conn.execute("show server_version").fetchone()[0].startswith("18")
    assert warehouse.database_url() == first
    with warehouse.connect() as conn:  # the same server, not a second one
        assert conn.execute("select pg_postmaster_start_time()").fetchone()[0] == pid
    assert (cei_home / "pgdata" / "PG_VERSION").exists()


def _local_server() -> str | None:
    url = os.environ.get("CEI_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.OperationalError:
        return None


def test_configured_server_path(monkeypatch, tmp_path):
    """With CEI_DATABASE_URL set the platform uses that server (skipped where none runs)."""
    admin_url = _local_server()
    if admin_url is None:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432 (set CEI_TEST_SERVER_URL to use another)")
    name = f"cei_server_path_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}"')
        admin.execute(f'create database "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + "/" + name
        monkeypatch.setenv("CEI_DATABASE_URL", url)
        assert warehouse.database_url() == url
        with warehouse.connect() as conn:
            warehouse.ensure_schema(conn)
            conn.commit()
            assert conn.execute("select current_database()").fetchone()[0] == name
            assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 0
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def test_unreachable_warehouse_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("CEI_DATABASE_URL", "postgresql://cei:secret-pw@127.0.0.1:1/cei")
    with pytest.raises(WarehouseError) as e:
        warehouse.connect()
    assert "127.0.0.1:1/cei" in str(e.value) and "secret-pw" not in str(e.value)
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cei: error: cannot connect to the warehouse")


def test_configured_server_without_pii_secret_refuses(monkeypatch):
    monkeypatch.setenv("CEI_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    monkeypatch.delenv("CEI_PII_SECRET", raising=False)
    with pytest.raises(CeiError, match="CEI_PII_SECRET is not set"):
        pii.resolve_secret(settings.load())


def test_embedded_pii_secret_is_created_once_outside_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    monkeypatch.delenv("CEI_PII_SECRET", raising=False)
    monkeypatch.setenv("CEI_HOME", str(tmp_path))
    s = settings.load()
    first = pii.resolve_secret(s)
    assert len(first) == 64 and pii.resolve_secret(s) == first
    assert (tmp_path / "pii_secret").stat().st_mode & 0o077 == 0
