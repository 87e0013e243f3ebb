"""The one load mechanism every feed goes through: ledger, COPY, quarantine, exact duplicates.

For each file of a delivery:

1. A file already in the ledger (same feed, delivery date, name and bytes) was processed by an
   earlier run: it is skipped, so re-running a night changes nothing.
2. Bytes identical to a file already loaded under another delivery: recorded `duplicate_file`,
   nothing read (the same file delivered twice is counted once).
3. Otherwise the file is **staged**: every record streamed through the parser into two spool
   files of COPY text (under `CEI_HOME/ingest_spool`) — typed rows with their `row_hash`
   (cei.ingest.row_hash), and quarantined rows with their reason and masked original. A CSV or
   JSON Lines file's rows are typed a batch at a time (cei.ingest.columnar), the rows not in their
   commonest forms by the reference parser (cei.ingest.rows). Parsing is Python and the slowest
   part of a load, so worker processes stage files in parallel (`CEI_INGEST_WORKERS`), a few
   files ahead of the merge.
4. Then, in file order and in ONE transaction per file, the **merge**: a ledger row, the rows
   COPYed straight into `raw.<table>`, the quarantined rows into `quarantine.quarantined_rows`,
   the counts. A row whose typed values were loaded before (same business key and `row_hash`,
   in a file not withdrawn: cei.steward) is an exact duplicate: the unique index refuses the
   COPY, and that file's rows go in through a temporary table, each inserted unless already
   there, the rest skipped and counted. Merging
   in order keeps every count deterministic; a process killed mid-file leaves at most spool
   files, which the next ingest clears before it starts, and the re-run loads the file afresh.
5. A file defect found while staging, or a value PostgreSQL refuses while merging, records the
   file `rejected` with the reason.

Newest-wins across deliveries is not decided here: `raw` keeps every distinct version with its
lineage, and dbt's intermediate models pick the latest state per business key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import secrets
import shutil
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from cei import processes
from cei import settings as cfg
from cei.errors import CeiError
from cei.feeds import FEEDS
from cei.feeds.model import Feed
from cei.ingest.columnar import ColumnarParser, copy_text, escape
from cei.ingest.readers import FileDefect, SourceRecord, open_records
from cei.ingest.row_hash import record_field, row_hash
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
    """A file parsed into two spool files of COPY text: its rows for `raw` (source_row, row_hash,
    warnings, stored columns) and its quarantined rows (source_row, reason code and detail,
    masked original). The merge adds the lineage the ledger gives (cei.ingest.load._merge)."""

    rows: Path | None  # None when the file was rejected
    quarantine: Path | None
    encoding: str | None
    defect: str | None  # why the file is rejected
    rows_read: int = 0
    rows_quarantined: int = 0
    rows_warned: int = 0

    def remove(self) -> None:
        for spool in (self.rows, self.quarantine):
            if spool is not None:
                spool.unlink(missing_ok=True)


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
    spool: Path | None = None,
) -> list[FileResult]:
    """Every (feed, delivery date, path) in the order given; the caller holds the ingest lock.
    `spool`: this ingest's own spool folder (default `s.spool_dir`; one per feed when feeds load
    side by side)."""
    spool = spool or s.spool_dir
    reset_spool(spool)
    plans = [_plan(conn, feed, landing, day, path) for feed, day, path in files]
    to_stage = iter([p for p in plans if p.needs_staging])
    results: list[FileResult] = []
    with _stagers(ctx, s, spool) as pool:
        ahead: deque[tuple[_Plan, Future[Staged]]] = deque()
        for plan in plans:
            if plan.earlier:
                results.append(_result(plan.earlier, already=True))
            elif plan.ignore:
                results.append(_record(conn, run_id, plan, "ignored", plan.ignore))
            else:
                while len(ahead) < _AHEAD * s.ingest_workers and (nxt := next(to_stage, None)):
                    ahead.append((nxt, pool.submit(_stage_in_worker, nxt.feed.name, str(nxt.path),
                                                   nxt.delivery_date)))
                staged_plan, future = ahead.popleft()
                assert staged_plan is plan  # staged in the same order
                try:
                    staged = future.result()
                except BrokenProcessPool:
                    raise CeiError("an ingest worker process died (killed, or out of memory)") from None
                try:
                    results.append(_merge_or_record(conn, run_id, plan, staged))
                finally:
                    staged.remove()
    return results


def reset_spool(spool: Path) -> None:
    """Spool files left by a killed run are removed before anything is staged again."""
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir(parents=True)


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
        return _record(conn, run_id, plan, "duplicate_file",
                       f"same bytes as {same_bytes[1]}/{same_bytes[2]}", same_bytes[0])
    try:
        with conn.transaction():
            return _merge(conn, run_id, plan, staged)
    except psycopg.DataError as exc:  # a value the parsers let through but PostgreSQL refused
        return _record(conn, run_id, plan, "rejected",
                       f"{where}: database refused a value: {str(exc).strip().splitlines()[0]}")


# ------------------------------------------------------------------------------------------------
# Staging: parse into spool files, in worker processes


def hash_prefix(feed: Feed, delivery_date: date) -> tuple[str, ...]:
    """What `row_hash` hashes before the row's values. Without a newest-wins column, delivery order
    decides the latest state, so a report delivered again on a later night (say A, then B, then A
    once more) is a new version, not a duplicate: its delivery date is hashed too."""
    return () if feed.newest_wins else (delivery_date.isoformat(),)


def stage_file(feed: Feed, path: Path, delivery_date: date, ctx: RowContext, sample_bytes: int, spool: Path,
               columnar: bool = True) -> Staged:
    """Parse one file into two spool files under `spool`; touches neither the warehouse nor the
    ledger. A CSV or JSON Lines file's rows go through the columnar path (cei.ingest.columnar), which hands the
    rows not in their commonest forms to the reference parser; `columnar=False` sends every row there."""
    token = f"{feed.name}_{secrets.token_hex(8)}"
    staged = Staged(spool / f"{token}.rows", spool / f"{token}.quarantine", None, None)
    prefix = hash_prefix(feed, delivery_date)
    parse = row_parser(feed, ctx)
    read = quarantined = warned = 0
    try:
        with (open_records(feed, path, sample_bytes) as opened,
              staged.rows.open("w", encoding="utf-8", newline="") as rows,  # type: ignore[union-attr]
              staged.quarantine.open("w", encoding="utf-8", newline="") as bad):  # type: ignore[union-attr]

            def write(rec: SourceRecord) -> None:
                nonlocal quarantined, warned
                outcome = None if rec.defect else parse(rec.values)
                if isinstance(outcome, Parsed):
                    hashed = row_hash([*prefix, *map(record_field, outcome.values.values())])
                    values = "\t".join(map(copy_text, outcome.copy_values))
                    rows.write(f"{rec.row_number}\t{hashed}\t{{{','.join(outcome.warnings)}}}\t{values}\n")
                    warned += bool(outcome.warnings)
                else:
                    code, detail = (rec.defect, None) if outcome is None else (outcome.reason_code, outcome.detail)
                    original = json.dumps(masked_original(feed, rec.values, ctx), ensure_ascii=False)
                    bad.write(f"{rec.row_number}\t{code}\t{copy_text(detail)}\t{escape(original)}\n")
                    quarantined += 1

            by_column = (ColumnarParser.for_file(feed, ctx, opened.header, prefix)
                         if columnar and opened.header is not None and opened.batches is not None else None)
            if by_column and opened.batches is not None:
                for batch, record in opened.batches(_BATCH_ROWS):
                    copy, others = by_column.parse(batch)
                    rows.write(copy)
                    read += len(batch)
                    for i in others:
                        write(record(i))
            else:
                for rec in opened.records:
                    write(rec)
                    read += 1
        return replace(staged, encoding=opened.encoding, rows_read=read, rows_quarantined=quarantined,
                       rows_warned=warned)
    except FileDefect as defect:
        staged.remove()
        return Staged(None, None, None, str(defect))


_worker: dict = {}  # per worker process: its row context, sample size and spool folder


def _init_worker(parent: int, ctx: RowContext, sample_bytes: int, spool: Path) -> None:
    processes.exit_with(parent)  # a killed run must not leave workers parsing on
    _worker.update(ctx=ctx, sample_bytes=sample_bytes, spool=spool)


def _stage_in_worker(feed_name: str, path: str, delivery_date: date) -> Staged:
    return stage_file(FEEDS[feed_name], Path(path), delivery_date, _worker["ctx"], _worker["sample_bytes"],
                      _worker["spool"])


@contextmanager
def _stagers(ctx: RowContext, s: cfg.Settings, spool: Path) -> Iterator[ProcessPoolExecutor]:
    # spawn: a forked child would inherit the parent's open warehouse connection.
    pool = ProcessPoolExecutor(s.ingest_workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker,
                               initargs=(os.getpid(), ctx, s.encoding_sample_bytes, spool))
    try:
        with _main_not_reimported():
            yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _main_not_reimported() -> Iterator[None]:
    """While the pool spawns its workers, the caller's __main__ shows no file or module to import.

    A spawned worker re-imports the parent's main script unless it has none. The workers need
    nothing from it (they run this module's functions), and importing it goes wrong: a script
    without an `if __name__ == '__main__':` guard would start a second ingest, and in an Airflow
    task the main is Airflow's CLI, whose settings refuse the metadata URL the task runner leaves
    tasks (`airflow-db-not-allowed:///`)."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None  # multiprocessing reads it unconditionally
    try:
        yield
    finally:
        main.__dict__.update(saved)


# ------------------------------------------------------------------------------------------------
# Merging: one transaction per file, in order


def copy_spool(conn: psycopg.Connection, statement: sql.Composable, spool: Path, lineage: str) -> int:
    """COPY a spool file, `lineage` (tab-separated) appended to every line; the rows copied."""
    end = f"\t{lineage}\n".encode()
    with conn.cursor() as cur:
        with spool.open("rb") as f, cur.copy(statement) as copy:
            rest = b""
            while block := f.read(1 << 20):
                block, _, cut = (rest + block).rpartition(b"\n")  # escaped in COPY text: a line ends here
                rest = cut
                if block:
                    copy.write(block.replace(b"\n", end) + end)
            assert not rest, f"{spool.name}: a line without its end"
        return cur.rowcount


def _merge(conn: psycopg.Connection, run_id: int, plan: _Plan, staged: Staged) -> FileResult:
    feed = plan.feed
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, size_bytes, status)"
        " values (%s,%s,%s,%s,%s,%s,'loaded') returning file_id",
        (run_id, feed.name, plan.delivery_date, plan.name, plan.sha, plan.size),
    ).fetchone()[0]
    raw = sql.Identifier(cfg.RAW, feed.table)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in (
        "source_row", "row_hash", "warnings", *(c.name for c in feed.stored_columns), "load_file_id", "delivery_date"))
    lineage = f"{file_id}\t{plan.delivery_date}"
    try:  # straight into raw: the unique index on (business key, row_hash) is the duplicate check
        with conn.transaction():
            loaded = copy_spool(conn, sql.SQL("copy {} ({}) from stdin").format(raw, columns), staged.rows, lineage)
        warned = staged.rows_warned
    except psycopg.errors.UniqueViolation:  # a row loaded before: the file is merged row by row
        loaded, warned = _merge_with_duplicates(conn, feed, staged.rows, columns, lineage)
    quarantined = copy_spool(conn, sql.SQL(
        "copy quarantine.quarantined_rows (source_row, reason_code, reason_detail, original, load_file_id, feed)"
        " from stdin"), staged.quarantine, f"{file_id}\t{feed.name}")
    read = staged.rows_read
    row = conn.execute(
        "update meta.load_files set encoding = %s, rows_read = %s, rows_loaded = %s,"
        " rows_quarantined = %s, rows_duplicate = %s, rows_warned = %s"
        f" where file_id = %s returning {_LEDGER_COLUMNS}",
        (staged.encoding, read, loaded, quarantined, read - quarantined - loaded, warned, file_id),
    ).fetchone()
    log.info("%s %s/%s: read %s, loaded %s, quarantined %s, duplicates %s",
             feed.name, plan.delivery_date, plan.name, read, loaded, quarantined, read - quarantined - loaded)
    return _result(row, already=False)


def _merge_with_duplicates(conn: psycopg.Connection, feed: Feed, spool: Path, columns: sql.Composable,
                           lineage: str) -> tuple[int, int]:
    """A file with exact duplicates — of rows loaded before or of its own rows: through a temporary
    table, each row inserted unless its business key and row_hash are in raw; the loaded and the
    warned rows."""
    raw, spooled = sql.Identifier(cfg.RAW, feed.table), sql.Identifier("spooled_rows")
    conn.execute(sql.SQL("create temporary table {} (like {} including defaults) on commit drop").format(spooled, raw))
    copy_spool(conn, sql.SQL("copy {} ({}) from stdin").format(spooled, columns), spool, lineage)
    return conn.execute(sql.SQL(
        "with loaded as (insert into {raw} ({columns}) select {columns} from {spooled} order by source_row"
        " on conflict ({keys}, row_hash) where not withdrawn do nothing returning warnings)"
        " select count(*), count(*) filter (where cardinality(warnings) > 0) from loaded"
    ).format(raw=raw, columns=columns, spooled=spooled,
             keys=sql.SQL(", ").join(map(sql.Identifier, feed.business_key)))).fetchone()
