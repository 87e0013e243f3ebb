"""Bytes → source records: encoding detection and the CSV, JSON Lines and Excel formats.

A reader checks what makes a file readable as its feed (encoding, header, required columns)
before it yields a single record, and raises `FileDefect` when it is not: the whole file is then
rejected. Records stream one at a time, so a large file is never held in memory.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from cei.feeds.model import Feed

# Guards against hostile input; generous for any real delivery.
MAX_FIELD_CHARS = 1 << 20  # one CSV field (csv module's own limit is 128 KiB)
MAX_COLUMNS = 200
MAX_XLSX_UNCOMPRESSED = 256 << 20  # a zip bomb disguised as .xlsx is rejected before opening
MAX_JSON_LINE_BYTES = 1 << 20

csv.field_size_limit(MAX_FIELD_CHARS)


class FileDefect(Exception):
    """The file cannot be read as its feed; the message is the rejection reason."""


@dataclass(frozen=True)
class SourceRecord:
    row_number: int  # CSV/JSONL: the physical line the record starts on; XLSX: the sheet row
    values: dict[str, Any]  # source column → raw value
    defect: str | None = None  # bad_json / bad_row_shape: unreadable as a record at all


# A batch for the columnar path: its rows as (row number, fields in the header's order), and the
# SourceRecord of the row at a position (the rows that path hands to the reference parser).
Batch = tuple[list[tuple[int, list[str]]], Callable[[int], SourceRecord]]


@dataclass
class OpenedFile:
    encoding: str | None
    records: Iterator[SourceRecord]
    # CSV and JSON Lines: the header and `batches(size)`, the same records in batches for the
    # columnar path (cei.ingest.columnar); a file is read through `records` or `batches`, not both.
    header: list[str] | None = None
    batches: Callable[[int], Iterator[Batch]] | None = None


def csv_record(header: list[str], row_number: int, fields: list[str]) -> SourceRecord:
    values: dict[str, Any] = dict(zip(header, fields))
    defect = None
    if len(fields) > len(header):
        defect = "bad_row_shape"
        values["_extra_fields"] = fields[len(header):]
    elif len(fields) < len(header):
        defect = "bad_row_shape"
        values["_missing_fields"] = len(header) - len(fields)
    return SourceRecord(row_number, values, defect)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, decided by charset-normalizer — never assumed."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    best = from_bytes(sample, cp_isolation=["utf_8", "gb18030"]).best()
    if best is None:
        raise FileDefect("undecodable bytes: neither UTF-8 nor GB18030")
    return "utf-8" if best.encoding == "utf_8" else "gb18030"


def _check_header(feed: Feed, header: list[str]) -> list[str]:
    header = [h.strip().lstrip("\ufeff").strip() for h in header]
    if len(header) > MAX_COLUMNS:
        raise FileDefect(f"too many columns: {len(header)} (at most {MAX_COLUMNS})")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise FileDefect(f"duplicate columns: {', '.join(dupes)}")
    missing = [c for c in feed.required_sources if c not in header]
    if missing:
        raise FileDefect(f"missing columns: {', '.join(missing)}")
    return header


@contextmanager
def _csv_records(feed: Feed, path: Path, sample_bytes: int) -> Iterator[OpenedFile]:
    with path.open("rb") as raw:
        sample = raw.read(sample_bytes)
        if not sample.strip():
            raise FileDefect("empty file: no header")
        if len(sample) == sample_bytes and b"\n" in sample:
            # A full sample may end inside a multi-byte character: detect on whole lines only.
            sample = sample[: sample.rindex(b"\n") + 1]
        encoding = detect_encoding(sample)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text)
        try:
            header = _check_header(feed, next(reader))
        except StopIteration:
            raise FileDefect("empty file: no header") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FileDefect(f"not a readable CSV: {exc}") from None

        def rows() -> Iterator[tuple[int, list[str]]]:
            start = reader.line_num + 1
            try:
                for fields in reader:
                    # An empty line is not a record; a row of empty fields is (it is quarantined).
                    if fields:
                        yield start, fields
                    start = reader.line_num + 1
            except UnicodeDecodeError as exc:
                raise FileDefect(f"undecodable bytes as {encoding} near line {start}: {exc.reason}") from None
            except csv.Error as exc:
                raise FileDefect(f"not a readable CSV near line {start}: {exc}") from None

        numbered = rows()

        def batches(size: int) -> Iterator[Batch]:
            while batch := list(islice(numbered, size)):
                yield batch, lambda i, batch=batch: csv_record(header, *batch[i])

        yield OpenedFile(encoding, (csv_record(header, n, fields) for n, fields in numbered), header, batches)


@contextmanager
def _jsonl_records(feed: Feed, path: Path) -> Iterator[OpenedFile]:
    if path.stat().st_size == 0:
        raise FileDefect("empty file")
    with path.open("rb") as raw:

        def records() -> Iterator[SourceRecord]:
            for number, line in enumerate(raw, start=1):
                if len(line) > MAX_JSON_LINE_BYTES:
                    yield SourceRecord(number, {"_line": line[:200].decode("utf-8", "replace")}, "bad_json")
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise FileDefect(f"undecodable bytes (not UTF-8) on line {number}: {exc.reason}") from None
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except (ValueError, RecursionError):
                    obj = None
                if not isinstance(obj, dict):
                    yield SourceRecord(number, {"_line": text.strip()[:2000]}, "bad_json")
                    continue
                yield SourceRecord(number, obj)

        lines = records()
        header = [c.source for c in feed.columns]

        def batches(size: int) -> Iterator[Batch]:
            while batch := list(islice(lines, size)):
                # Each value as the text every value parser first makes of it (values.clean_text);
                # an unreadable line has no fields, so the columnar path hands it back.
                rows = [(r.row_number, [] if r.defect else [_as_text(r.values.get(h)) for h in header])
                        for r in batch]
                yield rows, batch.__getitem__

        yield OpenedFile("utf-8", lines, header, batches)


def _as_text(value: Any) -> str:
    return "" if value is None else value if type(value) is str else str(value)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise FileDefect("not an XLSX workbook (not a zip archive)") from None
    if total > MAX_XLSX_UNCOMPRESSED:
        raise FileDefect(f"workbook expands to {total} bytes (limit {MAX_XLSX_UNCOMPRESSED}): refused")


def _is_total_row(cells: list[Any]) -> bool:
    first = next((c for c in cells if c not in (None, "")), None)
    return isinstance(first, str) and first.strip().replace(" ", "") in ("合计", "总计")


@contextmanager
def _xlsx_records(feed: Feed, path: Path) -> Iterator[OpenedFile]:
    from python_calamine import CalamineWorkbook

    _check_zip(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several error types for a broken workbook
        raise FileDefect(f"not a readable XLSX workbook: {exc}") from None
    marker = feed.header_marker
    header_at = next(
        (i for i, r in enumerate(rows) if any(isinstance(c, str) and c.strip() == marker for c in r)),
        None,
    )
    if header_at is None:
        raise FileDefect(f"missing columns: no header row containing {marker}")
    header = _check_header(feed, [c if isinstance(c, str) else str(c or "") for c in rows[header_at]])

    def records() -> Iterator[SourceRecord]:
        for index in range(header_at + 1, len(rows)):
            cells = rows[index]
            if all(c in (None, "") for c in cells) or _is_total_row(cells):
                continue
            yield SourceRecord(index + 1, {h: c for h, c in zip(header, cells) if h})

    yield OpenedFile(None, records())


def open_records(feed: Feed, path: Path, sample_bytes: int) -> AbstractContextManager[OpenedFile]:
    """Open `path` as `feed`; raises FileDefect (on opening or while iterating) when it cannot be."""
    if feed.format == "csv":
        return _csv_records(feed, path, sample_bytes)
    if feed.format == "jsonl":
        return _jsonl_records(feed, path)
    return _xlsx_records(feed, path)
