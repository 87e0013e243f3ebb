"""The one load mechanism every feed goes through: ledger, COPY, quarantine, exact duplicates.

For each file of a delivery:

1. A file already in the ledger (same feed, delivery date, name and bytes) was processed by an
   earlier run: it is skipped, so re-running a night changes nothing.
2. Bytes identical to a file already loaded under another delivery: recorded `duplicate_file`,
   nothing read (the same file delivered twice is counted once).
3. Otherwise, in ONE transaction: a ledger row, every record streamed through the parser into a
   temporary table with PostgreSQL COPY, valid rows inserted into `raw.<table>` (a row whose
   typed values were loaded before — same `row_hash` — is an exact duplicate, skipped and
   counted), bad rows into `quarantine.quarantined_rows`, and the counts. A process killed
   mid-file leaves nothing behind; the re-run loads the file afresh.
4. A file defect rolls that transaction back and records the file `rejected` with the reason.

Newest-wins across deliveries is not decided here: `raw` keeps every distinct version with its
lineage, and dbt's intermediate models pick the latest state per business key.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from cei import settings as cfg
from cei.feeds.model import Feed
from cei.ingest.readers import FileDefect, open_records
from cei.ingest.rows import Parsed, RowContext, masked_original, row_parser

log = logging.getLogger(__name__)

# Markers and editor droppings that sit beside deliveries; ignored and logged, never read.
_IGNORED_PREFIXES = (".", "~$", "_")


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


def ingest_file(
    conn: psycopg.Connection,
    run_id: int,
    feed: Feed,
    landing: Path,
    delivery_date: date,
    path: Path,
    ctx: RowContext,
    sample_bytes: int,
) -> FileResult:
    name = path.relative_to(landing / feed.name / delivery_date.isoformat()).as_posix()
    ignore = _ignore_reason(feed, path)
    sha, size = (None, None) if ignore else _sha256(path)

    earlier = conn.execute(
        f"select {_LEDGER_COLUMNS} from meta.load_files"
        " where feed = %s and delivery_date = %s and file_name = %s and coalesce(sha256, '') = %s",
        (feed.name, delivery_date, name, sha or ""),
    ).fetchone()
    if earlier:
        return _result(earlier, already=True)

    def record(status: str, reason: str | None, duplicate_of: int | None = None) -> FileResult:
        with conn.transaction():
            row = conn.execute(
                "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256,"
                " size_bytes, status, reason, duplicate_of) values (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                f" returning {_LEDGER_COLUMNS}",
                (run_id, feed.name, delivery_date, name, sha, size, status, reason, duplicate_of),
            ).fetchone()
        log.info("%s %s/%s: %s %s", feed.name, delivery_date, name, status, reason or "")
        return _result(row, already=False)

    if ignore:
        return record("ignored", ignore)
    same_bytes = conn.execute(
        "select file_id, delivery_date, file_name from meta.load_files"
        " where feed = %s and sha256 = %s and status = 'loaded' order by file_id limit 1",
        (feed.name, sha),
    ).fetchone()
    if same_bytes:
        return record("duplicate_file", f"same bytes as {same_bytes[1]}/{same_bytes[2]}", same_bytes[0])
    try:
        with conn.transaction():
            return _load(conn, run_id, feed, delivery_date, path, name, sha, size, ctx, sample_bytes)
    except FileDefect as defect:
        return record("rejected", f"{feed.name}/{delivery_date}/{name}: {defect}")
    except psycopg.DataError as exc:  # a value the parsers let through but PostgreSQL refused
        reason = str(exc).strip().splitlines()[0]
        return record("rejected", f"{feed.name}/{delivery_date}/{name}: database refused a value: {reason}")


def _load(
    conn: psycopg.Connection,
    run_id: int,
    feed: Feed,
    delivery_date: date,
    path: Path,
    name: str,
    sha: str,
    size: int,
    ctx: RowContext,
    sample_bytes: int,
) -> FileResult:
    columns = [c.name for c in feed.stored_columns]
    file_id = conn.execute(
        "insert into meta.load_files (run_id, feed, delivery_date, file_name, sha256, size_bytes, status)"
        " values (%s,%s,%s,%s,%s,%s,'loaded') returning file_id",
        (run_id, feed.name, delivery_date, name, sha, size),
    ).fetchone()[0]

    stage_cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in feed.stored_columns]
    conn.execute(
        sql.SQL(
            "create temp table _stage (source_row integer, warnings text[], q_code text, q_detail text,"
            " original jsonb, {}) on commit drop"
        ).format(sql.SQL(", ").join(stage_cols))
    )
    copy_sql = sql.SQL("copy _stage (source_row, warnings, q_code, q_detail, original, {}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    empty_values = (None,) * len(columns)
    parse = row_parser(feed, ctx)
    with open_records(feed, path, sample_bytes) as opened, conn.cursor().copy(copy_sql) as copy:
        for rec in opened.records:
            outcome = None if rec.defect else parse(rec.values)
            if isinstance(outcome, Parsed):
                copy.write_row((rec.row_number, outcome.warnings, None, None, None,
                                *(outcome.values[c] for c in columns)))
            else:
                code, detail = (rec.defect, None) if outcome is None else (outcome.reason_code, outcome.detail)
                original = Jsonb(masked_original(feed, rec.values, ctx))
                copy.write_row((rec.row_number, [], code, detail, original, *empty_values))

    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    # Without a newest-wins column, delivery order decides the latest state, so a report delivered
    # again on a later night (say A, then B, then A once more) is a new version, not a duplicate.
    hashed = cols if feed.newest_wins else sql.SQL("{}, {}").format(sql.Literal(delivery_date), cols)
    loaded = conn.execute(
        sql.SQL(
            "insert into {table} (load_file_id, delivery_date, source_row, row_hash, warnings, {cols})"
            " select %s, %s, source_row, md5(row({hashed})::text), warnings, {cols}"
            " from _stage where q_code is null order by source_row"
            " on conflict (row_hash) do nothing"
        ).format(table=sql.Identifier(cfg.RAW, feed.table), cols=cols, hashed=hashed),
        (file_id, delivery_date),
    ).rowcount
    conn.execute(
        "insert into quarantine.quarantined_rows"
        " (load_file_id, feed, source_row, reason_code, reason_detail, original)"
        " select %s, %s, source_row, q_code, q_detail, original from _stage where q_code is not null",
        (file_id, feed.name),
    )
    read, quarantined = conn.execute("select count(*), count(q_code) from _stage").fetchone()
    warned = conn.execute(
        sql.SQL("select count(*) from {} where load_file_id = %s and cardinality(warnings) > 0").format(
            sql.Identifier(cfg.RAW, feed.table)
        ),
        (file_id,),
    ).fetchone()[0]
    row = conn.execute(
        "update meta.load_files set encoding = %s, rows_read = %s, rows_loaded = %s,"
        " rows_quarantined = %s, rows_duplicate = %s, rows_warned = %s"
        f" where file_id = %s returning {_LEDGER_COLUMNS}",
        (opened.encoding, read, loaded, quarantined, read - quarantined - loaded, warned, file_id),
    ).fetchone()
    log.info("%s %s/%s: read %s, loaded %s, quarantined %s, duplicates %s",
             feed.name, delivery_date, name, read, loaded, quarantined, read - quarantined - loaded)
    return _result(row, already=False)
