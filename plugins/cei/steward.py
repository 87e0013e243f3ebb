"""The data steward's commands: the ledger file by file, withdrawing a loaded file, and a
delivery's quarantined rows as a CSV to send back upstream.

Withdrawing changes the ledger and marks the file's raw rows; nothing is deleted. From the next
run the rows count nowhere: staging leaves them out (`where not withdrawn`), every incremental
model recomputes every key once (the withdrawn files are among its inputs:
dbt_project/macros/incremental/newest_versions.sql), the feeds gate no longer takes the file, and the nightly
export refreshes the periods it held rows of, whose manifests list it. A replacement loads like
any new file, even when it repeats rows of the withdrawn one (raw's duplicate check covers the
rows in force only).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from cei import settings as cfg
from cei import warehouse
from cei.errors import CeiError
from cei.feeds import FEEDS

# A file's state for the steward, derived from the ledger and the feeds gate's outcomes.
STATES = ("loaded", "quarantined", "awaiting-gate", "gate-failed", "rejected", "duplicate_file", "ignored",
          "withdrawn")

_STATE = """
case
    when f.status <> 'loaded' then f.status
    when f.gated_run is null and exists (
        select from meta.quality_gates g
        where g.gate = 'feeds' and g.target = f.feed and g.status = 'failed' and g.run_id >= f.run_id
    ) then 'gate-failed'
    when f.gated_run is null then 'awaiting-gate'
    when f.rows_quarantined > 0 then 'quarantined'
    else 'loaded'
end
"""


@dataclass(frozen=True)
class LedgerFile:
    file_id: int
    feed: str
    delivery_date: date
    file_name: str
    state: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    note: str | None  # why: the rejection, or who withdrew it, when and why

    HEADERS = ("id", "feed", "delivery", "file", "state", "read", "loaded", "quarantined", "duplicates", "note")


def _check_feed(feed: str | None) -> None:
    if feed is not None and feed not in FEEDS:
        raise CeiError(f"unknown feed {feed!r}: one of {', '.join(FEEDS)}")


def list_files(conn: psycopg.Connection, *, feed: str | None = None, delivery_date: date | None = None,
               state: str | None = None, file_id: int | None = None) -> list[LedgerFile]:
    """The ledger, a file a row, in file order; filtered by feed, delivery date, state and id."""
    _check_feed(feed)
    if state is not None and state not in STATES:
        raise CeiError(f"unknown state {state!r}: one of {', '.join(STATES)}")
    rows = conn.execute(
        sql.SQL(
            "select * from (select f.file_id, f.feed, f.delivery_date, f.file_name, {state}, f.rows_read,"
            " f.rows_loaded, f.rows_quarantined, f.rows_duplicate,"
            " case when f.status = 'withdrawn' then 'withdrawn ' || to_char(f.withdrawn_at, 'YYYY-MM-DD HH24:MI')"
            "      || ' by ' || f.withdrawn_by || ': ' || f.withdrawn_reason else f.reason end"
            " from meta.load_files f"
            " where (%(feed)s::text is null or f.feed = %(feed)s)"
            " and (%(day)s::date is null or f.delivery_date = %(day)s)"
            " and (%(id)s::bigint is null or f.file_id = %(id)s)) as files (file_id, feed, delivery_date,"
            " file_name, state, rows_read, rows_loaded, rows_quarantined, rows_duplicate, note)"
            " where %(state)s::text is null or state = %(state)s order by file_id"
        ).format(state=sql.SQL(_STATE)),
        {"feed": feed, "day": delivery_date, "state": state, "id": file_id},
    ).fetchall()
    return [LedgerFile(*r) for r in rows]


def current_user() -> str:
    """Who the ledger records for a withdrawal or a calendar import: CEI_USER, else the OS account."""
    return os.environ.get("CEI_USER") or getpass.getuser()


def withdraw(conn: psycopg.Connection, file_id: int, reason: str, by: str | None = None) -> LedgerFile:
    """Take loaded file `file_id` out of the warehouse's truth (see the module's docstring).
    `conn` is autocommit. A one-line CeiError for an unknown file, one not loaded, one already
    withdrawn, or an empty reason; nothing changes then."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise CeiError("a withdrawal needs a reason (--reason TEXT): it goes into the ledger and the export manifest")
    by = by or current_user()
    with warehouse.exclusive(conn, f"withdrawal of file {file_id}"), conn.transaction():
        row = conn.execute(
            "select feed, status, withdrawn_at, withdrawn_by, withdrawn_reason from meta.load_files"
            " where file_id = %s for update",
            (file_id,),
        ).fetchone()
        if row is None:
            raise CeiError(f"no file {file_id} in the ledger (cei files list shows them)")
        feed, status, at, who, why = row
        if status == "withdrawn":
            raise CeiError(f"file {file_id} was already withdrawn on {at.astimezone(cfg.LOCAL_TZ):%Y-%m-%d %H:%M}"
                           f" by {who}: {why}")
        if status != "loaded":
            raise CeiError(f"file {file_id} was not loaded (status {status}): it has no rows to withdraw")
        conn.execute(
            "update meta.load_files set status = 'withdrawn', withdrawn_at = now(), withdrawn_by = %s,"
            " withdrawn_reason = %s where file_id = %s",
            (by, reason, file_id),
        )
        conn.execute(
            sql.SQL("update {} set withdrawn = true where load_file_id = %s").format(
                sql.Identifier(cfg.RAW, FEEDS[feed].table)),
            (file_id,),
        )
    return list_files(conn, file_id=file_id)[0]


QUARANTINE_HEADERS = ("file_id", "feed", "delivery_date", "file_name", "source_row", "reason_code", "reason_detail",
                      "original")


def quarantine_csv(conn: psycopg.Connection, delivery_date: date, feed: str | None = None) -> tuple[bytes, int]:
    """The quarantined rows of a delivery date, with their reason codes, as CSV (UTF-8 with a BOM,
    so that Excel opens it as such) and the row count. `original` is the row as delivered, as
    JSON, without personal data: the name is never stored, and the phone's keyed hash is left
    out too (upstream finds the row by file and row number)."""
    _check_feed(feed)
    rows = conn.execute(
        "select f.file_id, f.feed, f.delivery_date, f.file_name, q.source_row, q.reason_code, q.reason_detail,"
        " q.original from quarantine.quarantined_rows q join meta.load_files f on f.file_id = q.load_file_id"
        " where f.delivery_date = %s and (%s::text is null or f.feed = %s)"
        " order by f.feed, f.file_name, f.file_id, q.source_row",
        (delivery_date, feed, feed),
    ).fetchall()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(QUARANTINE_HEADERS)
    for *ledger, original in rows:
        shown = {k: v for k, v in original.items() if not k.endswith("#hmac")}
        writer.writerow([*ledger, json.dumps(shown, ensure_ascii=False)])
    return ("\ufeff" + out.getvalue()).encode("utf-8"), len(rows)


def write_quarantine(conn: psycopg.Connection, delivery_date: date, out: Path, feed: str | None = None) -> int:
    """quarantine_csv written to `out` (atomically); the rows written."""
    data, count = quarantine_csv(conn, delivery_date, feed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return count


def describe(f: LedgerFile) -> tuple:
    return (f.file_id, f.feed, f.delivery_date, f.file_name, f.state, f.rows_read, f.rows_loaded,
            f.rows_quarantined, f.rows_duplicate, (f.note or "")[:100])
