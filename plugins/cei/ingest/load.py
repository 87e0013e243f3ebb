"""The one load mechanism every feed goes through: ledger, COPY, quarantine, exact duplicates.

For each file of a delivery:

1. A file already in the ledger (same feed, delivery date, name and bytes) was processed by an
   earlier run: it is skipped, so re-running a night changes nothing.
2. Bytes identical to a file already loaded under another delivery: recorded `duplicate_file`,
   nothing read (the same file delivered twice is counted once).
3. Otherwise the file is **staged**: every record streamed through the parser and COPYed into a
   fresh unlogged table of schema `ingest_stage` — typed row, or quarantine reason and masked
   original. A CSV file's rows are typed a batch at a time (cei.ingest.columnar), the rows not
   in their commonest forms by the reference parser (cei.ingest.rows). Parsing is Python and the
   slowest part of a load, so worker processes stage files in parallel (`CEI_INGEST_WORKERS`), a
   few files ahead of the merge.
4. Then, in file order and in ONE transaction per file, the **merge**: a ledger row, valid rows
   inserted into `raw.<table>` (a row whose typed values were loaded before — same business key
   and `row_hash` — is an exact duplicate, skipped and counted), bad rows into `quarantine.quarantined_rows`, the
   counts, and the stage table dropped. Merging in order keeps every count deterministic; a
   process killed mid-file leaves at most a stage table, which the next ingest clears before it
   starts, and the re-run loads the file afresh.
5. A file defect found while staging records the file `rejected` with the reason.

Newest-wins across deliveries is not decided here: `raw` keeps every distinct version with its
lineage, and dbt's intermediate models pick the latest state per business key.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import secrets
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from cei import processes, warehouse
from cei import settings as cfg
from cei.errors import CeiError
from cei.feeds import FEEDS
from cei.feeds.model import Feed
from cei.ingest.columnar import ColumnarParser
from cei.ingest.readers import FileDefect, SourceRecord, csv_record, open_records
from cei.ingest.rows import Parsed, RowContext, masked_original, row_parser

log = logging.getLogger(__name__)

# Markers and editor droppings that sit beside deliveries; ignored and logged, never read.
_IGNORED_PREFIXES = (".", "~$", "_")
# Files staged ahead of the merge, per worker: a night is one large hotline file and a few small
# ones, and with too short a queue the workers sat idle while a large file was merged
# (1.2 M bench, 40 nights: 2 per worker 23.5 s, 4 → 17.6 s, 8 → 16.3 s).
_AHEAD = 8
_BATCH_ROWS = 4096  # rows per columnar batch (cei.ingest.columnar)


@dataclass(frozen=True)
class FileResult:
    file_id: int
    feed: str
    delivery_date: date
    file_name: str
    status: str  # loaded | rejected | duplicate_file | ignored
    reason: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_warned: int
    already_processed: bool  # True when an earlier run had processed this very file


_LEDGER_COLUMNS = (
    "file_id, feed, delivery_date, file_name, status, reason, rows_read, rows_loaded,"
    " rows_quarantined, rows_duplicate, rows_warned"
)


def _result(row: tuple, already: bool) -> FileResult:
    return FileResult(*row, already_processed=already)


def delivery_files(landing: Path, feed: Feed, delivery_date: date) -> list[Path]:
    folder = landing / feed.name / delivery_date.isoformat()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _ignore_reason(feed: Feed, path: Path) -> str | None:
    if path.is_symlink():
        return "symbolic link: not followed"
    if path.name.startswith(_IGNORED_PREFIXES):
        return "marker or temporary file"
    if path.suffix.lower() != feed.extension:
        return f"not a {feed.extension} file"
    return None


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class _Plan:
    """One file of the run, as the ledger sees it before anything is read."""

    feed: Feed
    delivery_date: date
    path: Path
    name: str
    ignore: str | None
    sha: str | None
    size: int | None
    earlier: tuple | None  # the ledger row when an earlier run processed this very file

    @property
    def needs_staging(self) -> bool:
        return self.ignore is None and self.earlier is None


@dataclass(frozen=True)
class Staged:
    table: str | None  # in schema ingest_stage; None when the file was rejected
    encoding: str | None
    defect: str | None  # why the file is rejected


def _plan(conn: psycopg.Connection, feed: Feed, landing: Path, delivery_date: date, path: Path) -> _Plan:
    name = path.relative_to(landing / feed.name / delivery_date.isoformat()).as_posix()
    ignore = _ignore_reason(feed, path)
    sha, size = (None, None) if ignore else _sha256(path)
    earlier = conn.execute(
        f"select {_LEDGER_COLUMNS} from meta.load_files"
        " where feed = %s and delivery_date = %s and file_name = %s and coalesce(sha256, '') = %s",
        (feed.name, delivery_date, name, sha or ""),
    ).fetchone()
    return _Plan(feed, delivery_date, path, name, ignore, sha, size, earlier)


def ingest_files(
    conn: psycopg.Connection,
    run_id: int,
    landing: Path,
    files: Sequence[tuple[Feed, date, Path]],
    ctx: RowContext,
    s: cfg.Settings,
) -> list[FileResult]:
    """Every (feed, delivery date, path) in the order given; the caller holds the ingest lock."""
    reset_stage(conn)
    plans = [_plan(conn, feed, landing, day, path) for feed, day, path in files]
    to_stage = iter([p for p in plans if p.needs_staging])
    results: list[FileResult] = []
    with _stagers(ctx, s) as pool:
        ahead: deque[tuple[_Plan, Future[Staged]]] = deque()
        for plan in plans:
            if plan.earlier:
                results.append(_result(plan.earlier, already=True))
            elif plan.ignore:
                results.append(_record(conn, run_id, plan, "ignored", plan.ignore))
            else:
                while len(ahead) < _AHEAD * s.ingest_workers and (nxt := next(to_stage, None)):
                    ahead.append((nxt, pool.submit(_stage_in_worker, nxt.feed.name, str(nxt.path))))
                staged_plan, future = ahead.popleft()
                assert staged_plan is plan  # staged in the same order
                try:
                    staged = future.result()
                except BrokenProcessPool:
                    raise CeiError(
                        "an ingest worker process died (killed, or out of memory); a script that calls the"
                        " pipeline must do so under `if __name__ == '__main__':` (workers re-import it)"
                    ) from None
                results.append(_merge_or_record(conn, run_id, plan, staged))
    return results


def reset_stage(conn: psycopg.Connection) -> None:
    """Stage tables left by a killed run are dropped before anything is staged again."""
    conn.execute(sql.SQL("drop schema if exists {0} cascade; create schema {0}").format(
        sql.Identifier(cfg.INGEST_STAGE)))


def _record(conn: psycopg.Connection, run_id: int, plan: _Plan, status: str, reason: str | None,
            duplicate_of: int | None = None) -> FileResult:
    with conn.transaction():
        row = conn.execute(
            "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256,"
            " size_bytes, status, reason, duplicate_of) values (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            f" returning {_LEDGER_COLUMNS}",
            (run_id, plan.feed.name, plan.delivery_date, plan.name, plan.sha, plan.size, status, reason,
             duplicate_of),
        ).fetchone()
    log.info("%s %s/%s: %s %s", plan.feed.name, plan.delivery_date, plan.name, status, reason or "")
    return _result(row, already=False)


def _drop_stage(conn: psycopg.Connection, table: str) -> None:
    conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(cfg.INGEST_STAGE, table)))


def _merge_or_record(conn: psycopg.Connection, run_id: int, plan: _Plan, staged: Staged) -> FileResult:
    where = f"{plan.feed.name}/{plan.delivery_date}/{plan.name}"
    if staged.defect:
        return _record(conn, run_id, plan, "rejected", f"{where}: {staged.defect}")
    same_bytes = conn.execute(
        "select file_id, delivery_date, file_name from meta.load_files"
        " where feed = %s and sha256 = %s and status = 'loaded' order by file_id limit 1",
        (plan.feed.name, plan.sha),
    ).fetchone()
    if same_bytes:  # checked at merge time: the first copy may have been merged in this very run
        _drop_stage(conn, staged.table)
        return _record(conn, run_id, plan, "duplicate_file",
                       f"same bytes as {same_bytes[1]}/{same_bytes[2]}", same_bytes[0])
    with conn.transaction():
        return _merge(conn, run_id, plan, staged)


# ------------------------------------------------------------------------------------------------
# Staging: parse and COPY, in worker processes


def stage_file(conn: psycopg.Connection, feed: Feed, path: Path, ctx: RowContext, sample_bytes: int,
               columnar: bool = True) -> Staged:
    """Parse one file into a fresh committed stage table; touches neither the ledger nor raw.
    A CSV file's rows go through the columnar path (cei.ingest.columnar), which hands the rows
    not in their commonest forms to the reference parser; `columnar=False` sends every row there."""
    table = f"{feed.name}_{secrets.token_hex(8)}"
    columns = [c.name for c in feed.stored_columns]
    stage_cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in feed.stored_columns]
    empty_values = (None,) * len(columns)
    parse = row_parser(feed, ctx)
    try:
        with conn.transaction():
            # Timestamps without an offset reach COPY as wall-clock text (rows.Parsed.copy_values).
            conn.execute(sql.SQL("set local time zone {}").format(sql.Literal(cfg.LOCAL_TZ.key)))
            conn.execute(sql.SQL(
                "create unlogged table {} (source_row integer, warnings text[], q_code text, q_detail text,"
                " original jsonb, {})"
            ).format(sql.Identifier(cfg.INGEST_STAGE, table), sql.SQL(", ").join(stage_cols)))
            copy_sql = sql.SQL("copy {} (source_row, warnings, q_code, q_detail, original, {}) from stdin").format(
                sql.Identifier(cfg.INGEST_STAGE, table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with open_records(feed, path, sample_bytes) as opened, conn.cursor().copy(copy_sql) as copy:

                def write(rec: SourceRecord) -> None:
                    outcome = None if rec.defect else parse(rec.values)
                    if isinstance(outcome, Parsed):  # text[] written as its literal: cheaper than a list
                        copy.write_row((rec.row_number, "{" + ",".join(outcome.warnings) + "}", None, None, None,
                                        *outcome.copy_values))
                    else:
                        code, detail = (rec.defect, None) if outcome is None else (outcome.reason_code, outcome.detail)
                        original = Jsonb(masked_original(feed, rec.values, ctx))
                        copy.write_row((rec.row_number, [], code, detail, original, *empty_values))

                by_column = (ColumnarParser.for_file(feed, ctx, opened.header)
                             if columnar and opened.header is not None and opened.rows is not None else None)
                if by_column and opened.rows is not None:
                    while batch := list(islice(opened.rows, _BATCH_ROWS)):
                        copy_text, others = by_column.parse(batch)
                        copy.write(copy_text)
                        for number, fields in others:
                            write(csv_record(opened.header, number, fields))
                else:
                    for rec in opened.records:
                        write(rec)
        return Staged(table, opened.encoding, None)
    except FileDefect as defect:
        return Staged(None, None, str(defect))
    except psycopg.DataError as exc:  # a value the parsers let through but PostgreSQL refused
        return Staged(None, None, f"database refused a value: {str(exc).strip().splitlines()[0]}")


_worker: dict = {}  # per worker process: its connection, row context and sample size


def _init_worker(parent: int, ctx: RowContext, sample_bytes: int) -> None:
    processes.exit_with(parent)  # a killed run must not leave workers COPYing on
    _worker.update(conn=warehouse.connect(autocommit=True), ctx=ctx, sample_bytes=sample_bytes)


def _stage_in_worker(feed_name: str, path: str) -> Staged:
    try:
        return stage_file(_worker["conn"], FEEDS[feed_name], Path(path), _worker["ctx"], _worker["sample_bytes"])
    except psycopg.OperationalError as exc:  # psycopg's errors do not cross processes; a one-liner does
        raise warehouse.lost_connection(exc) from None


@contextmanager
def _stagers(ctx: RowContext, s: cfg.Settings) -> Iterator[ProcessPoolExecutor]:
    # spawn: a forked child would share the parent's open warehouse connection.
    pool = ProcessPoolExecutor(s.ingest_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(), ctx, s.encoding_sample_bytes))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------------
# Merging: one transaction per file, in order


def _merge(conn: psycopg.Connection, run_id: int, plan: _Plan, staged: Staged) -> FileResult:
    feed = plan.feed
    stage = sql.Identifier(cfg.INGEST_STAGE, staged.table)
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, size_bytes, status)"
        " values (%s,%s,%s,%s,%s,%s,'loaded') returning file_id",
        (run_id, feed.name, plan.delivery_date, plan.name, plan.sha, plan.size),
    ).fetchone()[0]
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in feed.stored_columns)
    # Without a newest-wins column, delivery order decides the latest state, so a report delivered
    # again on a later night (say A, then B, then A once more) is a new version, not a duplicate.
    hashed = cols if feed.newest_wins else sql.SQL("{}, {}").format(sql.Literal(plan.delivery_date), cols)
    loaded, warned = conn.execute(
        sql.SQL(
            "with loaded as (insert into {table} (load_file_id, delivery_date, source_row, row_hash, warnings, {cols})"
            " select %s, %s, source_row, md5(row({hashed})::text), warnings, {cols}"
            " from {stage} where q_code is null order by source_row"
            " on conflict ({keys}, row_hash) do nothing returning warnings)"
            " select count(*), count(*) filter (where cardinality(warnings) > 0) from loaded"
        ).format(table=sql.Identifier(cfg.RAW, feed.table), cols=cols, hashed=hashed, stage=stage,
                 keys=sql.SQL(", ").join(map(sql.Identifier, feed.business_key))),
        (file_id, plan.delivery_date),
    ).fetchone()
    quarantined = conn.execute(
        sql.SQL(
            "insert into quarantine.quarantined_rows"
            " (load_file_id, feed, source_row, reason_code, reason_detail, original)"
            " select %s, %s, source_row, q_code, q_detail, original from {} where q_code is not null"
        ).format(stage),
        (file_id, feed.name),
    ).rowcount
    read = conn.execute(sql.SQL("select count(*) from {}").format(stage)).fetchone()[0]
    conn.execute(sql.SQL("drop table {}").format(stage))
    row = conn.execute(
        "update meta.load_files set encoding = %s, rows_read = %s, rows_loaded = %s,"
        " rows_quarantined = %s, rows_duplicate = %s, rows_warned = %s"
        f" where file_id = %s returning {_LEDGER_COLUMNS}",
        (staged.encoding, read, loaded, quarantined, read - quarantined - loaded, warned, file_id),
    ).fetchone()
    log.info("%s %s/%s: read %s, loaded %s, quarantined %s, duplicates %s",
             feed.name, plan.delivery_date, plan.name, read, loaded, quarantined, read - quarantined - loaded)
    return _result(row, already=False)
