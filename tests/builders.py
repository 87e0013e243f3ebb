"""Builders of delivered rows and delivery files, read from the feed declarations (cei.feeds),
and of the index's lenient data-sufficiency rules, read from the weights seed.

A test states only the values its case is about; the headers, the column order and a valid value
for every other column come from the declarations, so no test re-types a feed's headers or code
lists. Importable from every test as `builders`: pytest puts tests/ (where conftest.py is) on
sys.path.

Convention: a row is what a file delivers — a dict keyed by source name (header text or JSON key),
in declaration order — and a builder takes the values it changes by warehouse column name (always
a valid Python name: `row(HOTLINE, work_order_id="W1")`). A value a test gives is delivered as
given (a string, a number, None, a date for an Excel date cell); a deliberately wrong header or
value is written by the test itself.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
import xlsxwriter
from psycopg import sql
from stdnum.cn import uscc

from cei.feeds import FEEDS, Feed, Kind
from cei.settings import DBT_PROJECT_DIR, REGIONS_CSV

FeedRef = Feed | str  # a declaration, or its name in FEEDS


def _feed(feed: FeedRef) -> Feed:
    return FEEDS[feed] if isinstance(feed, str) else feed


def _first_region() -> str:
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return next(csv.DictReader(f))["region_code"]


@cache
def _kind_defaults() -> dict[Kind, str]:
    region = _first_region()
    body = f"91{region}MA2YQ1234"
    return {
        Kind.TEXT: "1",
        Kind.TIMESTAMP: "2026-03-01 09:00",
        Kind.DATE: "2026-03-01",
        Kind.MONTH: "2026-03",
        Kind.DECIMAL: "1000.00",
        Kind.INTEGER: "1",
        Kind.FLAG: "否",
        Kind.REGION: region,  # the reference data's first region (350102, 鼓楼区)
        Kind.USCC: body + uscc.calc_check_digit(body),  # registered in that region, check digit right
        Kind.PHONE: "13800138000",
        Kind.NAME: "张三",
    }


@cache
def _defaults(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """A valid value for every column of the declared feed `name`, by source name; and warehouse
    name → source name. (Cached by name: hashing a Feed hashes all its columns.)"""
    feed, kinds = FEEDS[name], _kind_defaults()
    values = {c.source: c.choices[0] if c.kind is Kind.ENUM else kinds[c.kind] for c in feed.columns}
    return values, {c.name: c.source for c in feed.columns}


def header(feed: FeedRef) -> list[str]:
    """The feed's source names (header texts, JSON keys), in declaration order."""
    return [c.source for c in _feed(feed).columns]


def row(feed: FeedRef, **values: Any) -> dict[str, Any]:
    """A valid delivered row of the feed, keyed by source name in declaration order, with `values`
    (by warehouse column name) in place of the defaults. Every column has a value that passes
    ingestion: text `1`, timestamps `2026-03-01 09:00` (so no timestamp is before another), dates
    `2026-03-01`, month `2026-03`, amounts `1000.00`, counts `1`, flags 否, an enum's first accepted
    value, the reference data's first region code, a USCC with its check digit, a mobile number,
    a name."""
    f = _feed(feed)
    defaults, sources = _defaults(f.name)
    if not values.keys() <= sources.keys():
        unknown = ", ".join(sorted(values.keys() - sources.keys()))
        raise TypeError(f"{f.name} has no column {unknown} (warehouse names: {', '.join(sources)})")
    out = dict(defaults)
    for name, value in values.items():
        out[sources[name]] = value
    return out


def fields(feed: FeedRef, record: Mapping[str, Any], columns: Sequence[str] | None = None) -> list[Any]:
    """The record's values (keyed by source name) in the order of `columns` (the feed's header by
    default), empty where the record has none: a CSV line's or a sheet row's cells."""
    return [record.get(c, "") for c in (header(feed) if columns is None else columns)]


def csv_bytes(
    feed: FeedRef,
    rows: Iterable[Mapping[str, Any] | Sequence[Any]],
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """A CSV delivery: the header line (`columns`, by default the feed's header), then a line a
    row; a row given as a mapping is laid out under the header, one given as a sequence is written
    as it is (a misshaped line). Minimal quoting, CRLF line ends, in `encoding` (`utf-8-sig` writes
    a BOM)."""
    columns = header(feed) if columns is None else list(columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(fields(feed, r, columns) if isinstance(r, Mapping) else r for r in rows)
    return out.getvalue().encode(encoding)


def jsonl_bytes(lines: Iterable[Mapping[str, Any] | str]) -> bytes:
    """A JSON Lines delivery in UTF-8: a mapping becomes one JSON object (characters as they are,
    not escaped), a string is written as it is (a blank or broken line); every line ends in LF."""
    text = [json.dumps(x, ensure_ascii=False) if isinstance(x, Mapping) else x for x in lines]
    return ("\n".join(text) + "\n").encode("utf-8")


def xlsx_bytes(sheet: Sequence[Sequence[Any]], *, title: str | None = None) -> bytes:
    """An XLSX workbook of one sheet laid out as a reporting unit's report: `title`, where given,
    in the first row merged across the sheet's width; then the rows of `sheet`, one a sheet row
    (an empty list an empty row), each cell as its value's type (text, number, a date as a
    yyyy-mm-dd date cell)."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet()
    first = 0
    if title is not None:
        ws.merge_range(0, 0, 0, max(len(r) for r in sheet) - 1, title)
        first = 1
    for i, cells in enumerate(sheet):
        ws.write_row(first + i, 0, cells)
    wb.close()
    return out.getvalue()


def deliver(landing: Path, feed: FeedRef, day: str, name: str, content: bytes) -> Path:
    """`content` written as file `name` of the feed's delivery of `day` under the landing folder
    (landing/<feed>/<day>/<name>, folders made as needed); its path."""
    folder = landing / _feed(feed).name / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def write_lenient_index_rules(url: str) -> tuple[str, ...]:
    """The index's data-sufficiency rules at their most lenient — a denominator of 1 scores, any
    scored indicator earns an index, a ranking of one unit is published — for tests of the index's
    arithmetic on a handful of rows: written to reference.cei_rules of the warehouse at `url`;
    returns the dbt args that keep seeds/cei_rules.csv from replacing them."""
    with (DBT_PROJECT_DIR / "seeds" / "cei_weights.csv").open(encoding="utf-8") as fh:
        scored = [r["component_code"] for r in csv.DictReader(fh) if r["parent_code"] != "cei"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists reference")
        conn.execute("create table reference.cei_rules (rule_code text, indicator_code text, threshold numeric,"
                     " description text)")
        conn.execute("insert into reference.cei_rules select 'min_denominator', code, 1, 'lenient (tests)'"
                     " from unnest(%s::text[]) as scored (code)", (scored,))
        conn.execute("insert into reference.cei_rules values ('min_coverage', null, 0.01, 'lenient (tests)'),"
                     " ('min_ranked_units', null, 1, 'lenient (tests)')")
    return ("--exclude", "cei_rules")


# ---------------------------------------------------------------------------------------------
# Whole nights on a database of their own

PII_SECRET = "test-secret-not-for-production"
NIGHT = ("ingest", "gate_feeds", "build", "gate_marts", "publish", "export", "report", "finish")
NIGHT_TO_PUBLISH = ("ingest", "gate_feeds", "build", "gate_marts", "publish", "finish")  # no files written


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """The URL of a fresh database on the test server, dropped after: a module's shared
    warehouse, where conftest's `warehouse_url` serves a single test."""
    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield urlunparse(urlparse(server_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextmanager
def platform_on(url: str, **env: str) -> Iterator[str]:
    """The platform pointed at `url` (CEI_DATABASE_URL, the PII key, and `env`) inside the block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CEI_DATABASE_URL", url)
        mp.setenv("CEI_PII_SECRET", PII_SECRET)
        for variable, value in env.items():
            mp.setenv(variable, value)
        yield url


@contextmanager
def platform_database(server_url: str, prefix: str, **env: str) -> Iterator[str]:
    """scratch_database with the platform on it for the whole block."""
    with scratch_database(server_url, prefix) as url, platform_on(url, **env):
        yield url


def delivery_dates(landing: Path) -> list[str]:
    """Every delivery date of a generated landing folder, in order."""
    return sorted(p.name for p in (landing / "hotline").iterdir())


def run_night(landing: Path, dates: Sequence[str], steps: Sequence[str] = NIGHT) -> int:
    """The night's steps for `dates`, in the DAG's order (pipeline's functions, no Airflow)."""
    from cei import pipeline

    run_id = pipeline.start(str(landing), list(dates))
    for step in steps:
        getattr(pipeline, step)(run_id)
    return run_id
